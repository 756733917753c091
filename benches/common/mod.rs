//! Shared by the benches: a real daemon in a temp `TIMEFORGED_DIR`, a protocol connection,
//! /proc readings and the printed table. The data and the baseline have their own modules.

// Each bench is its own crate and uses only part of this module.
#![allow(dead_code)]

pub mod aw_server;
pub mod baseline;
pub mod data;
pub mod store;
pub mod web;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Binaries and a daemon in a temp directory

/// The release binaries the benches drive.
#[derive(Debug, Clone)]
pub struct Bins {
    pub daemon: PathBuf,
    pub tf: PathBuf,
}

/// Finds `target/release/{timeforged,tf}` next to this bench (`target/release/deps/NAME-HASH`).
pub fn bins() -> Bins {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("current_exe: {e}")));
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| fail(format!("cannot find target dir from {}", exe.display())));
    let bins = Bins {
        daemon: dir.join("timeforged"),
        tf: dir.join("tf"),
    };
    for bin in [&bins.daemon, &bins.tf] {
        if !bin.is_file() {
            fail(format!(
                "{} is missing: run `cargo build --release` first (the benches drive the real \
                 release binaries)",
                bin.display()
            ));
        }
    }
    bins
}

/// Prints a clear message and exits; benches have no test harness to report a panic nicely.
pub fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("bench: {msg}");
    std::process::exit(2)
}

/// One TimeForged home: a temp `TIMEFORGED_DIR` holding config, database, socket and log.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub bins: Bins,
}

impl Home {
    pub fn new(bins: &Bins) -> Home {
        let mut dir = tempfile::Builder::new()
            .prefix("tf-bench-")
            .tempdir()
            .unwrap_or_else(|e| fail(format!("creating a temp dir: {e}")));
        // `TIMEFORGED_BENCH_KEEP=1` leaves the directory (database, data, log) for profiling.
        if std::env::var_os("TIMEFORGED_BENCH_KEEP").is_some() {
            dir.disable_cleanup(true);
            eprintln!("  .. keeping {}", dir.path().display());
        }
        Home {
            dir,
            bins: bins.clone(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn database(&self) -> PathBuf {
        self.path().join("timeforged.db")
    }

    pub fn socket(&self) -> PathBuf {
        self.path().join("tf.sock")
    }

    pub fn log(&self) -> PathBuf {
        self.path().join("timeforged.log")
    }

    /// `program` with this home's environment: our `TIMEFORGED_DIR`, no autostart (a bench
    /// must never measure a daemon it did not start), and none of the user's `TIMEFORGED_*`.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TIMEFORGED_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("TIMEFORGED_DIR", self.path())
            .env("TIMEFORGED_DAEMON__AUTOSTART", "false")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    pub fn tf(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(&self.bins.tf);
        cmd.args(args);
        cmd
    }

    /// Starts `timeforged run` and waits (polling the socket) until it answers `hello`.
    pub fn start_daemon(&self) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap_or_else(|e| fail(format!("opening {}: {e}", self.log().display())));
        let mut child = self
            .command(&self.bins.daemon)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| fail(format!("starting {}: {e}", self.bins.daemon.display())));
        let started = Instant::now();
        let socket = self.socket();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Ok(mut conn) = Conn::connect(&socket) {
                let hello = conn.request(r#"{"v":1,"type":"hello","client":"bench"}"#);
                if hello.contains(r#""type":"hello""#) {
                    break;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                fail(format!(
                    "the daemon exited with {status} before listening; log:\n{}",
                    std::fs::read_to_string(self.log()).unwrap_or_default()
                ));
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                fail(format!(
                    "the daemon did not listen on {} within 30 s",
                    socket.display()
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        Daemon {
            child,
            socket,
            ready_after: started.elapsed(),
        }
    }
}

/// A running daemon; killed if dropped without [`Daemon::stop`].
pub struct Daemon {
    child: Child,
    pub socket: PathBuf,
    /// From spawn to the first `hello` answered.
    pub ready_after: Duration,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn connect(&self) -> Conn {
        Conn::connect(&self.socket)
            .unwrap_or_else(|e| fail(format!("connecting to {}: {e}", self.socket.display())))
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS")
    }

    /// Peak resident memory, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM")
    }

    /// utime + stime, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        proc_cpu_ticks(self.pid())
    }

    /// Asks the daemon to stop and waits for it to exit (it checkpoints and closes the database).
    pub fn stop(mut self) -> Duration {
        let started = Instant::now();
        let mut conn = self.connect();
        let answer = conn.request(r#"{"v":1,"type":"shutdown"}"#);
        if !answer.contains(r#""type":"ok""#) {
            fail(format!("shutdown answered {answer}"));
        }
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return started.elapsed(),
                Ok(Some(status)) => fail(format!("the daemon exited with {status}")),
                Ok(None) if started.elapsed() > Duration::from_secs(60) => {
                    fail("the daemon did not exit within 60 s of shutdown")
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => fail(format!("waiting for the daemon: {e}")),
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A connection speaking the JSON-lines protocol directly.
pub struct Conn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    line: String,
}

impl Conn {
    pub fn connect(socket: &Path) -> std::io::Result<Conn> {
        let stream = UnixStream::connect(socket)?;
        Ok(Conn {
            writer: stream.try_clone()?,
            reader: BufReader::with_capacity(1 << 16, stream),
            line: String::new(),
        })
    }

    /// Sends one request line (newline added) and returns the answer line.
    pub fn request(&mut self, line: &str) -> &str {
        self.send(line);
        self.receive()
    }

    pub fn send(&mut self, line: &str) {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        self.writer
            .write_all(&buf)
            .unwrap_or_else(|e| fail(format!("writing to the daemon: {e}")));
    }

    pub fn receive(&mut self) -> &str {
        self.line.clear();
        match self.reader.read_line(&mut self.line) {
            Ok(0) => fail("the daemon closed the connection"),
            Ok(_) => self.line.trim_end(),
            Err(e) => fail(format!("reading from the daemon: {e}")),
        }
    }
}

/// A `heartbeats` request carrying `items` (JSON objects).
pub fn heartbeats_request(items: &[String], source: &str) -> String {
    let mut line = String::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 80);
    let _ = write!(
        line,
        r#"{{"v":1,"type":"heartbeats","source":"{source}","heartbeats":["#
    );
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(item);
    }
    line.push_str("]}");
    line
}

/// Checks a `stored` answer and returns how many were accepted.
pub fn accepted(answer: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(answer)
        .unwrap_or_else(|e| fail(format!("answer is not JSON ({e}): {answer}")));
    if v["type"] != "stored" || v["rejected"] != 0 {
        fail(format!("unexpected answer to heartbeats: {answer}"));
    }
    v["accepted"].as_u64().unwrap_or(0) as usize
}

/// Runs a command to completion, failing the bench (with its stderr) if it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| fail(format!("running {cmd:?}: {e}")));
    if !out.status.success() {
        fail(format!(
            "{cmd:?} exited with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    out
}

/// Wall time of one run of `cmd`, end to end (spawn to exit).
pub fn time_run(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    run(cmd);
    started.elapsed()
}

// ---------------------------------------------------------------------------------------------
// /proc

pub fn proc_status_kib(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| fail(format!("reading /proc/{pid}/status: {e}")));
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| fail(format!("no {key} in /proc/{pid}/status")))
}

/// utime + stime of a process (all its threads), in clock ticks.
pub fn proc_cpu_ticks(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| fail(format!("reading /proc/{pid}/stat: {e}")));
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')').map_or(0, |i| i + 1)..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    tick(11) + tick(12)
}

/// CPU ticks per thread name of a process. Threads that already exited (the blocking pool's,
/// say) are counted under `(exited threads)`.
pub fn thread_ticks(pid: u32) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut sum = 0;
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for entry in dir.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else {
                continue;
            };
            let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
            let tick = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let ticks = tick(11) + tick(12);
            *out.entry(text[open + 1..close].to_string()).or_default() += ticks;
            sum += ticks;
        }
    }
    out.insert(
        "(exited threads)".to_string(),
        proc_cpu_ticks(pid).saturating_sub(sum),
    );
    out
}

/// CPU used per thread name between two [`thread_ticks`] readings, busiest first, as text.
pub fn thread_cpu_between(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> Vec<(String, Duration)> {
    let tick = clock_ticks_per_second() as f64;
    let mut out: Vec<(String, Duration)> = after
        .iter()
        .map(|(name, t)| {
            let used = t.saturating_sub(before.get(name).copied().unwrap_or(0));
            (name.clone(), Duration::from_secs_f64(used as f64 / tick))
        })
        .filter(|(_, d)| !d.is_zero())
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.1));
    out
}

/// User + system CPU of this process's finished (waited-for) children.
pub fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if n > 0 { n as u64 } else { 100 }
}

/// Size of the database and its -wal and -shm files, in bytes (missing files count 0).
pub fn database_bytes(db: &Path) -> (u64, u64, u64) {
    let size = |suffix: &str| {
        let mut p = db.as_os_str().to_os_string();
        p.push(suffix);
        std::fs::metadata(PathBuf::from(p)).map_or(0, |m| m.len())
    };
    (size(""), size("-wal"), size("-shm"))
}

// ---------------------------------------------------------------------------------------------
// Numbers and the printed table

pub fn median(xs: &mut [Duration]) -> Duration {
    percentile(xs, 50.0)
}

/// Nearest-rank percentile.
pub fn percentile(xs: &mut [Duration], p: f64) -> Duration {
    if xs.is_empty() {
        return Duration::ZERO;
    }
    xs.sort();
    let rank = ((p / 100.0) * xs.len() as f64).ceil() as usize;
    xs[rank.clamp(1, xs.len()) - 1]
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// An integer with thousands separators.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

pub fn rate(n: usize, d: Duration) -> String {
    format!("{} hb/s", thousands(per_second(n, d).round() as u64))
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub fn percent(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// One line of a bench's table.
pub struct Row {
    pub figure: String,
    pub value: String,
    pub goal: String,
    /// Whether the goal is met; `None` for figures without a goal.
    pub met: Option<bool>,
    pub baseline: String,
    pub ratio: String,
    /// A detail under the figure above it: free text, printed after the figure column.
    pub detail: bool,
}

impl Row {
    pub fn new(figure: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            figure: figure.into(),
            value: value.into(),
            goal: String::new(),
            met: None,
            baseline: String::new(),
            ratio: String::new(),
            detail: false,
        }
    }

    /// An indented line explaining the figure above it.
    pub fn detail(label: impl Into<String>, text: impl Into<String>) -> Row {
        Row {
            figure: format!("  {}", label.into()),
            detail: true,
            ..Row::new("", text)
        }
    }

    pub fn goal(mut self, goal: impl Into<String>, met: bool) -> Row {
        self.goal = goal.into();
        self.met = Some(met);
        self
    }

    pub fn baseline(mut self, baseline: impl Into<String>, ratio: impl Into<String>) -> Row {
        self.baseline = baseline.into();
        self.ratio = ratio.into();
        self
    }
}

pub struct Table {
    title: String,
    rows: Vec<Row>,
}

impl Table {
    pub fn new(title: impl Into<String>) -> Table {
        Table {
            title: title.into(),
            rows: Vec::new(),
        }
    }

    /// Adds a row and echoes it at once to stderr, so a long bench shows progress.
    pub fn push(&mut self, row: Row) {
        eprintln!("  .. {}: {}", row.figure.trim(), row.value);
        self.rows.push(row);
    }

    pub fn print(&self) {
        const HEAD: [&str; 6] = [
            "figure",
            "value",
            "goal",
            "met",
            "baseline (same run)",
            "ratio",
        ];
        let cells = |r: &Row| -> [String; 6] {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "MISS",
                None => "",
            };
            [
                r.figure.clone(),
                r.value.clone(),
                r.goal.clone(),
                met.to_string(),
                r.baseline.clone(),
                r.ratio.clone(),
            ]
        };
        let mut widths = HEAD.map(|h| h.chars().count());
        for row in &self.rows {
            let cols = cells(row);
            // A detail's text runs on past the columns; only its label is aligned.
            let used = if row.detail { 1 } else { cols.len() };
            for (w, c) in widths.iter_mut().zip(&cols).take(used) {
                *w = (*w).max(c.chars().count());
            }
        }
        let pad = |s: &str, w: usize, right: bool| {
            let fill = " ".repeat(w.saturating_sub(s.chars().count()));
            if right {
                format!("{fill}{s}")
            } else {
                format!("{s}{fill}")
            }
        };
        let line = |cols: &[String; 6]| {
            // Names read best left-aligned, numbers right-aligned.
            let parts: Vec<String> = cols
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (c, w))| pad(c, w, i != 0 && i != 4))
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        println!();
        println!("{}", self.title);
        println!("{}", line(&HEAD.map(String::from)));
        println!("{}", "-".repeat(widths.iter().sum::<usize>() + 2 * 5));
        for row in &self.rows {
            if row.detail {
                println!("{}  {}", pad(&row.figure, widths[0], false), row.value);
            } else {
                println!("{}", line(&cells(row)));
            }
        }
        println!();
    }
}
