//! Shared fixtures for the integration tests: a private `TIMEFORGED_DIR` per test, the real
//! `timeforged` and `tf` binaries, a raw JSON-lines client, polling (never sleeping) for
//! readiness, and the SKIPPED helper. Nothing here touches `$HOME` or global state.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// How long anything may take before a test gives up. Generous: CI machines are slow and
/// the cargo build lock may be held by others; a passing test never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub const TF: &str = env!("CARGO_BIN_EXE_tf");
pub const DAEMON: &str = env!("CARGO_BIN_EXE_timeforged");

/// A test that needs something this machine lacks says so loudly; under
/// `TIMEFORGED_REQUIRE_ALL=1` (CI) that is a failure instead.
pub fn skip(why: &str) {
    if std::env::var_os("TIMEFORGED_REQUIRE_ALL").is_some_and(|v| v == "1") {
        panic!("TIMEFORGED_REQUIRE_ALL=1 but this test would be skipped: {why}");
    }
    // Straight to the process's stderr, past the test harness's capture, so that a skip is
    // seen in a normal `cargo test` run.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Polls `ready` every few milliseconds until it gives `Some`, or panics after [`DEADLINE`].
pub fn wait_for<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(v) = ready() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

pub fn now_secs() -> f64 {
    jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
}

/// A fixed-offset zone in which it is currently between 12:00 and 13:00, as a POSIX `TZ`
/// value, with its offset in seconds. Tests that use named ranges (today, yesterday, 7d) run
/// in it so that no test data and no "now" is ever near a local midnight.
pub fn noon_zone() -> (String, i64) {
    let now = jiff::Timestamp::now().as_second();
    let utc_hour = now.rem_euclid(86_400) / 3600;
    let hours = 12 - utc_hour; // -11 ..= 12
    // POSIX TZ offsets have the opposite sign: `<+05>-5` is five hours east of UTC.
    let name = if hours >= 0 {
        format!("<+{hours:02}>-{hours}")
    } else {
        format!("<-{:02}>{}", -hours, -hours)
    };
    (name, hours * 3600)
}

/// The local date of unix `seconds` in a fixed offset, as `YYYY-MM-DD`.
pub fn local_date(seconds: f64, offset_seconds: i64) -> String {
    let offset = jiff::tz::Offset::from_seconds(offset_seconds as i32).expect("valid offset");
    jiff::Timestamp::from_millisecond((seconds * 1000.0) as i64)
        .expect("valid time")
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(offset))
        .date()
        .to_string()
}

/// Unix seconds of local midnight starting the day that holds `seconds`, in a fixed offset.
pub fn local_midnight(seconds: f64, offset_seconds: i64) -> f64 {
    let local = seconds as i64 + offset_seconds;
    (local.div_euclid(86_400) * 86_400 - offset_seconds) as f64
}

/// A heartbeat as JSON, with WakaTime field names.
pub fn hb(time: f64, entity: &str, project: &str, language: &str) -> Value {
    json!({
        "time": time,
        "entity": entity,
        "type": "file",
        "project": project,
        "language": language,
    })
}

/// When the daemon has a WakaTime HTTP API (`[http] listen`), every test daemon listens on a
/// port of its own choosing (port 0) instead of the fixed default, so parallel tests (and a
/// daemon the developer runs) never compete for it. Probed once, from `tf config show`.
fn http_isolation() -> Option<(&'static str, &'static str)> {
    static HAS_HTTP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let has_http = *HAS_HTTP.get_or_init(|| {
        let probe = std::env::temp_dir().join("tf-test-probe-never-created");
        Command::new(TF)
            .args(["config", "show"])
            .env_clear()
            .env("TIMEFORGED_DIR", probe)
            .output()
            .map(|o| {
                let text = String::from_utf8_lossy(&o.stdout);
                text.contains("[http]") && text.contains("listen")
            })
            .unwrap_or(false)
    });
    has_http.then_some(("TIMEFORGED_HTTP__LISTEN", "127.0.0.1:0"))
}

/// One private TimeForged instance: its own directory, time zone, and (once started) daemon.
/// Dropping it stops the daemon (SIGTERM, then waits until the lock is released) before the
/// directory is removed, so no test leaks a process.
pub struct TestEnv {
    /// Removed last (fields drop in declaration order, and `Drop::drop` runs before them).
    tmp: tempfile::TempDir,
    /// `TIMEFORGED_DIR`: a directory the daemon creates itself.
    pub base: PathBuf,
    pub tz: String,
    /// A daemon started by [`TestEnv::start_daemon`] (autostarted ones are found by their lock).
    pub daemon: Option<Child>,
    /// Extra environment for every `tf` and `timeforged` started.
    pub env: Vec<(String, String)>,
    /// Files made immutable (`chattr +i`), made mutable again before the directory is removed.
    immutable: Vec<PathBuf>,
    /// Use the XDG layout (`XDG_*` variables pointing into the temp dir) instead of
    /// `TIMEFORGED_DIR`.
    xdg: bool,
}

impl TestEnv {
    /// A fresh instance in UTC.
    pub fn new() -> TestEnv {
        TestEnv::with_tz("UTC")
    }

    pub fn with_tz(tz: &str) -> TestEnv {
        let tmp = tempfile::Builder::new()
            .prefix("tf-test-")
            .tempdir()
            .expect("create a temp dir");
        let base = tmp.path().join("tf");
        TestEnv {
            tmp,
            base,
            tz: tz.to_string(),
            daemon: None,
            env: Vec::new(),
            immutable: Vec::new(),
            xdg: false,
        }
    }

    /// A fresh instance in the XDG layout: no `TIMEFORGED_DIR`; config, data, state and
    /// runtime directories are `XDG_*` variables pointing into the temp dir (never the real
    /// home or `/tmp/timeforged-$UID`).
    pub fn xdg() -> TestEnv {
        let mut env = TestEnv::new();
        env.xdg = true;
        env
    }

    fn xdg_dir(&self, kind: &str) -> PathBuf {
        self.tmp.path().join("xdg").join(kind)
    }

    /// A scratch directory beside `TIMEFORGED_DIR` for test files (repos, import files …).
    pub fn scratch(&self) -> &Path {
        self.tmp.path()
    }

    pub fn socket(&self) -> PathBuf {
        match self.xdg {
            true => self.xdg_dir("run").join("timeforged/tf.sock"),
            false => self.base.join("tf.sock"),
        }
    }

    pub fn database(&self) -> PathBuf {
        match self.xdg {
            true => self.xdg_dir("data").join("timeforged/timeforged.db"),
            false => self.base.join("timeforged.db"),
        }
    }

    pub fn lock(&self) -> PathBuf {
        self.database().with_extension("lock")
    }

    pub fn log(&self) -> PathBuf {
        match self.xdg {
            true => self.xdg_dir("state").join("timeforged/timeforged.log"),
            false => self.base.join("timeforged.log"),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        match self.xdg {
            true => self.xdg_dir("config").join("timeforged/config.toml"),
            false => self.base.join("config.toml"),
        }
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_string(), value.to_string()));
    }

    /// A clean environment: only what the binaries need, so the user's own `TIMEFORGED_*`,
    /// `NO_COLOR` or `XDG_*` variables cannot leak into a test.
    fn prepare(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.tmp.path())
            .env("TZ", &self.tz)
            .stdin(Stdio::null());
        if self.xdg {
            for (var, kind) in [
                ("XDG_CONFIG_HOME", "config"),
                ("XDG_DATA_HOME", "data"),
                ("XDG_STATE_HOME", "state"),
                ("XDG_RUNTIME_DIR", "run"),
            ] {
                cmd.env(var, self.xdg_dir(kind));
            }
        } else {
            cmd.env("TIMEFORGED_DIR", &self.base);
        }
        if let Some((k, v)) = http_isolation() {
            cmd.env(k, v);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    /// `tf` with this instance's environment.
    pub fn tf_cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(TF);
        self.prepare(&mut cmd);
        cmd.args(args);
        cmd
    }

    pub fn tf<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.tf_cmd(args).output().expect("run tf")
    }

    /// Runs `tf` and returns stdout, failing the test with both streams if it did not succeed.
    pub fn tf_ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr> + std::fmt::Debug,
    {
        let args: Vec<S> = args.into_iter().collect();
        let description = format!("tf {args:?}");
        let out = self.tf(args);
        assert!(out.status.success(), "{description} failed: {}", show(&out));
        String::from_utf8(out.stdout).expect("tf prints UTF-8")
    }

    /// Runs `tf ... --json` and parses its output.
    pub fn tf_json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr> + std::fmt::Debug,
    {
        let text = self.tf_ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("tf output is not JSON: {e}\n{text}"))
    }

    /// Any program with this instance's environment (a hook's command line run through `sh`).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.prepare(&mut cmd);
        cmd
    }

    /// `timeforged run` with this instance's environment; stderr goes to `stderr_file`.
    pub fn daemon_cmd(&self) -> Command {
        let mut cmd = self.timeforged_cmd();
        cmd.arg("run").stdout(Stdio::null());
        cmd
    }

    /// `timeforged` (no subcommand yet) with this instance's environment.
    pub fn timeforged_cmd(&self) -> Command {
        let mut cmd = Command::new(DAEMON);
        self.prepare(&mut cmd);
        cmd
    }

    /// Starts `timeforged run` in the foreground (as a child of the test) and waits until it
    /// answers on its socket.
    pub fn start_daemon(&mut self) -> u32 {
        assert!(self.daemon.is_none(), "daemon already started by this test");
        let stderr = std::fs::File::create(self.tmp.path().join("daemon-stderr.txt"))
            .expect("create the daemon's stderr file");
        let mut child = self
            .daemon_cmd()
            .stderr(stderr)
            .spawn()
            .expect("spawn timeforged");
        let socket = self.socket();
        let stderr_path = self.tmp.path().join("daemon-stderr.txt");
        wait_for("the daemon to listen", || {
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("timeforged exited with {status} before listening: {err}");
            }
            UnixStream::connect(&socket).ok()
        });
        let pid = child.id();
        self.daemon = Some(child);
        pid
    }

    /// Sends SIGTERM to the daemon this test started and returns its exit status.
    pub fn terminate_daemon(&mut self) -> ExitStatus {
        let mut child = self.daemon.take().expect("a daemon started by the test");
        signal(child.id(), libc::SIGTERM);
        wait_for("the daemon to exit after SIGTERM", || {
            child.try_wait().expect("wait for the daemon")
        })
    }

    /// The pid of the running daemon (whoever started it), from its lock file.
    pub fn daemon_pid(&self) -> Option<u32> {
        if !lock_is_held(&self.lock()) {
            return None;
        }
        std::fs::read_to_string(self.lock())
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Waits until no daemon holds the lock (it has exited and closed its files).
    pub fn wait_until_stopped(&self) {
        let lock = self.lock();
        wait_for("the daemon to release its lock", || {
            (!lock_is_held(&lock)).then_some(())
        });
    }

    pub fn connect(&self) -> Conn {
        Conn::connect(&self.socket())
    }

    /// Marks `path` immutable with `chattr +i` (so that even root cannot write it); undone on
    /// drop. False when `chattr` is missing or not supported here.
    pub fn make_immutable(&mut self, path: &Path) -> bool {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            self.immutable.push(path.to_path_buf());
        }
        ok
    }

    pub fn make_mutable(&mut self, path: &Path) {
        let status = Command::new("chattr")
            .arg("-i")
            .arg(path)
            .status()
            .expect("run chattr -i");
        assert!(status.success(), "chattr -i {} failed", path.display());
        self.immutable.retain(|p| p != path);
    }

    /// The daemon's log, for assertion messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        for path in std::mem::take(&mut self.immutable) {
            let _ = Command::new("chattr").arg("-i").arg(&path).status();
        }
        if let Some(mut child) = self.daemon.take() {
            signal(child.id(), libc::SIGTERM);
            let _ = child.wait();
        }
        // A daemon autostarted by `tf` is not our child: find it by its lock.
        if let Some(pid) = self.daemon_pid() {
            signal(pid, libc::SIGTERM);
            let deadline = Instant::now() + DEADLINE;
            while lock_is_held(&self.lock()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if lock_is_held(&self.lock()) {
                signal(pid, libc::SIGKILL);
            }
        }
    }
}

pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Whether some process holds the flock on `lock` (the daemon does while it runs).
pub fn lock_is_held(lock: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().read(true).open(lock) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

/// Both output streams and the exit status, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A raw protocol client: JSON lines over a Unix socket.
pub struct Conn {
    reader: BufReader<UnixStream>,
    pub writer: UnixStream,
}

impl Conn {
    pub fn connect(socket: &Path) -> Conn {
        let stream = UnixStream::connect(socket)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", socket.display()));
        // A daemon that never answers fails the test instead of hanging it.
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("set a read timeout");
        let writer = stream.try_clone().expect("clone the socket");
        Conn {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// Writes raw bytes followed by a newline.
    pub fn send_raw(&mut self, line: &[u8]) {
        self.writer.write_all(line).expect("write a request line");
        self.writer.write_all(b"\n").expect("write a newline");
    }

    pub fn send(&mut self, request: &Value) {
        let line = serde_json::to_vec(request).expect("serialize a request");
        self.send_raw(&line);
    }

    /// Reads one response line; `None` at end of stream (or a reset connection).
    pub fn try_recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("response is not JSON: {e}: {line:?}")),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
            Err(e) => panic!("reading a response: {e}"),
        }
    }

    pub fn recv(&mut self) -> Value {
        let v = self
            .try_recv()
            .expect("a response line, but the daemon closed the connection");
        assert_eq!(
            v["v"], 1,
            "every response carries the protocol version: {v}"
        );
        v
    }

    pub fn request(&mut self, request: Value) -> Value {
        self.send(&request);
        self.recv()
    }

    pub fn status(&mut self) -> Value {
        let r = self.request(json!({"v": 1, "type": "status"}));
        assert_eq!(r["type"], "status", "{r}");
        r
    }

    /// The number of stored heartbeats.
    pub fn count(&mut self) -> i64 {
        self.status()["heartbeats"]
            .as_i64()
            .expect("status.heartbeats is a number")
    }

    /// Sends heartbeats and returns the `stored` answer.
    pub fn heartbeats(&mut self, items: &[Value]) -> Value {
        let r = self.request(json!({"v": 1, "type": "heartbeats", "heartbeats": items}));
        assert_eq!(r["type"], "stored", "{r}");
        r
    }

    /// A report over `[from, to]` (RFC 3339 or dates) grouped by `by`.
    pub fn report(&mut self, from: &str, to: &str, by: &[&str], timeout: Option<u32>) -> Value {
        let mut req = json!({
            "v": 1, "type": "report",
            "range": {"from": from, "to": to},
            "by": by,
        });
        if let Some(t) = timeout {
            req["timeout_minutes"] = json!(t);
        }
        let r = self.request(req);
        assert_eq!(r["type"], "report", "{r}");
        r
    }

    /// Every heartbeat stored, oldest first, via the streamed `log` request.
    pub fn log_all(&mut self) -> Vec<Value> {
        self.send(&json!({"v": 1, "type": "log", "range": {"name": "all"}, "intervals": false}));
        let mut out = Vec::new();
        loop {
            let r = self.recv();
            match r["type"].as_str() {
                Some("log_chunk") => out.extend(
                    r["heartbeats"]
                        .as_array()
                        .expect("log_chunk.heartbeats is an array")
                        .iter()
                        .cloned(),
                ),
                Some("end") => return out,
                _ => panic!("unexpected answer to log: {r}"),
            }
        }
    }
}

/// RFC 3339 in UTC for unix seconds.
pub fn rfc3339(seconds: f64) -> String {
    jiff::Timestamp::from_millisecond((seconds * 1000.0).round() as i64)
        .expect("valid time")
        .to_string()
}

/// The `seconds` of the row named `name` under `by.{dim}` of a report, or 0.
pub fn row_seconds(report: &Value, dim: &str, name: &str) -> f64 {
    report["by"][dim]
        .as_array()
        .unwrap_or_else(|| panic!("report has no by.{dim}: {report}"))
        .iter()
        .find(|r| r["name"] == name)
        .map_or(0.0, |r| r["seconds"].as_f64().expect("seconds is a number"))
}

pub fn total(report: &Value) -> f64 {
    report["total_seconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("report has no total_seconds: {report}"))
}

/// Start of the hour four to five hours ago: in the past, yet recent.
pub fn recent_hour() -> f64 {
    ((now_secs() as i64 - 4 * 3600) / 3600 * 3600) as f64
}
