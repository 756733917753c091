//! HTTP for the benches that read through the WakaTime API: a keep-alive HTTP/1.1 client with
//! hand-written requests (nothing between the bench and the socket but `std`), and
//! `timeforged serve` started on a free port of loopback with its users and keys.

use super::{Home, fail};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BULK_PATH: &str = "/api/v1/users/current/heartbeats.bulk";
pub const SUMMARIES_PATH: &str = "/api/v1/users/current/summaries";
const USER_AGENT: &str = "wakatime/v1.102.1 (linux-6.8.0-49-generic-x86_64) go1.22.5 \
                          vscode/1.95.3 vscode-wakatime/24.6.2";

/// `Basic base64(key)`, the header WakaTime clients send.
pub fn basic_auth(key: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key.trim())
    )
}

/// A keep-alive connection; answers must carry a Content-Length (axum's and Rocket's do).
pub struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    host: String,
    /// The Authorization header, if any.
    auth: Option<String>,
    /// More header lines, each ending in CRLF.
    headers: String,
    request: Vec<u8>,
    line: String,
    pub body: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr, auth: &str) -> Client {
        Client::to(addr, Some(auth))
    }

    /// A connection that sends `auth` as its Authorization header, or none.
    pub fn to(addr: SocketAddr, auth: Option<&str>) -> Client {
        let stream =
            TcpStream::connect(addr).unwrap_or_else(|e| fail(format!("connecting to {addr}: {e}")));
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
        Client {
            writer: stream
                .try_clone()
                .unwrap_or_else(|e| fail(format!("cloning a socket: {e}"))),
            reader: BufReader::with_capacity(1 << 16, stream),
            // A loopback address, as the local daemon requires in Host.
            host: addr.to_string(),
            auth: auth.map(str::to_string),
            headers: String::new(),
            request: Vec::with_capacity(1 << 16),
            line: String::new(),
            body: Vec::with_capacity(1 << 16),
        }
    }

    /// Sends `name: value` with every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Client {
        let _ = write!(self.headers, "{name}: {value}\r\n");
        self
    }

    /// Sends one request and reads its answer: (status, body).
    pub fn exchange(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> (u16, &[u8]) {
        self.request.clear();
        let _ = write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n",
            self.host
        );
        if let Some(auth) = &self.auth {
            let _ = write!(self.request, "Authorization: {auth}\r\n");
        }
        let _ = write!(
            self.request,
            "User-Agent: {USER_AGENT}\r\n{}Accept: */*\r\n",
            self.headers
        );
        match body {
            Some(body) => {
                let _ = write!(
                    self.request,
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                self.request.extend_from_slice(body);
            }
            None => self.request.extend_from_slice(b"\r\n"),
        }
        self.writer
            .write_all(&self.request)
            .unwrap_or_else(|e| fail(format!("{method} {path}: writing: {e}")));
        let status = self.receive(method, path);
        (status, &self.body)
    }

    /// A GET that must answer 200; returns the body.
    pub fn get_ok(&mut self, path: &str) -> &[u8] {
        let (status, body) = self.exchange("GET", path, None);
        if status != 200 {
            fail(format!(
                "GET {path} answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(2000)])
            ));
        }
        &self.body
    }

    /// POSTs a bulk body of `n` heartbeats; fails unless all `n` were created (201 each).
    pub fn post_bulk(&mut self, body: &[u8], n: usize) {
        let (status, answer) = self.exchange("POST", BULK_PATH, Some(body));
        let created = count(answer, b",201]");
        if status != 201 || created != n {
            fail(format!(
                "POST {BULK_PATH} of {n} heartbeat(s) answered {status} with {created} created: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(2000)])
            ));
        }
    }

    fn receive(&mut self, method: &str, path: &str) -> u16 {
        let what = |e: &dyn std::fmt::Display| -> ! { fail(format!("{method} {path}: {e}")) };
        self.read_line().unwrap_or_else(|e| what(&e));
        let status = self
            .line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or_else(|| what(&format!("bad status line {:?}", self.line)));
        let mut length = None;
        loop {
            self.read_line().unwrap_or_else(|e| what(&e));
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                what(&format!("bad header {header:?}"))
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse::<usize>()
                        .unwrap_or_else(|_| what(&format!("bad Content-Length {value:?}"))),
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                what(&format!(
                    "Transfer-Encoding {value:?}: expected a Content-Length body"
                ));
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                what(&"the server closed the keep-alive connection (Connection: close)");
            }
        }
        let Some(length) = length else {
            what(&"answer without Content-Length")
        };
        self.body.resize(length, 0);
        self.reader
            .read_exact(&mut self.body)
            .unwrap_or_else(|e| what(&format!("reading the body: {e}")));
        status
    }

    fn read_line(&mut self) -> Result<(), String> {
        self.line.clear();
        match self.reader.read_line(&mut self.line) {
            Ok(0) => Err("the server closed the connection".to_string()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("reading: {e}")),
        }
    }
}

/// Occurrences of `needle` in `haystack` (on the load generators' path: a scan for the first
/// byte, then a compare).
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    let first = needle[0];
    let mut n = 0;
    let mut i = 0;
    while let Some(at) = haystack[i..].iter().position(|&b| b == first) {
        i += at;
        if haystack[i..].starts_with(needle) {
            n += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    n
}

// ---------------------------------------------------------------------------------------------
// `timeforged serve`

/// A running team server; killed if dropped without [`Server::stop`].
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// What it logged so far (stderr).
    pub log: Arc<Mutex<String>>,
    pub ready_after: Duration,
}

/// A local daemon's WakaTime API: its address (from `tf status`) and its key (the `api_key`
/// file), as `Authorization`.
pub struct LocalApi {
    pub addr: SocketAddr,
    pub auth: String,
}

impl LocalApi {
    pub fn client(&self) -> Client {
        Client::connect(self.addr, &self.auth)
    }
}

impl Home {
    /// The HTTP API of this home's running daemon (its config must have it listen).
    pub fn local_api(&self) -> LocalApi {
        let out = super::run(&mut self.tf(&["status", "--json"]));
        let status: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| fail(format!("tf status --json printed no JSON: {e}")));
        let addr = status["http"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| fail(format!("the HTTP API is not listening: {status}")));
        let key = std::fs::read_to_string(self.path().join("api_key"))
            .unwrap_or_else(|e| fail(format!("reading api_key: {e}")));
        LocalApi {
            addr,
            auth: basic_auth(&key),
        }
    }

    /// `timeforged` on the team-server database `db` (a path or a postgres:// URL), with
    /// extra `TIMEFORGED_*` settings.
    pub fn server_command(&self, db: &str, settings: &[(&str, &str)]) -> std::process::Command {
        let mut cmd = self.command(&self.bins.daemon);
        cmd.env("TIMEFORGED_STORAGE__URL", db);
        for (k, v) in settings {
            cmd.env(k, v);
        }
        cmd
    }

    /// `timeforged user add NAME`: returns the key it prints.
    pub fn add_user(&self, db: &str, name: &str) -> String {
        let out = super::run(self.server_command(db, &[]).args(["user", "add", name]));
        let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if key.len() != 36 {
            fail(format!(
                "timeforged user add {name} printed {key:?}, not a key"
            ));
        }
        key
    }

    /// Starts `timeforged serve --listen 127.0.0.1:0` on `db` and waits for the address in its
    /// `… serving address=IP:PORT …` log line.
    pub fn start_server(&self, db: &str, settings: &[(&str, &str)]) -> Server {
        let started = Instant::now();
        let mut child = self
            .server_command(db, settings)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| fail(format!("starting timeforged serve: {e}")));
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child
            .stderr
            .take()
            .unwrap_or_else(|| fail("no stderr from timeforged serve"));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("serving")
                    && let Some(addr) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("address="))
                        .and_then(|a| a.parse::<SocketAddr>().ok())
                {
                    let _ = tx.send(addr);
                }
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let _ = child.wait();
                fail(format!(
                    "timeforged serve did not listen within 60 s: {}",
                    log.lock().map(|l| l.clone()).unwrap_or_default()
                ))
            });
        Server {
            child,
            addr,
            log,
            ready_after: started.elapsed(),
        }
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn client(&self, key: &str) -> Client {
        Client::connect(self.addr, &basic_auth(key))
    }

    pub fn rss_kib(&self) -> u64 {
        super::proc_status_kib(self.pid(), "VmRSS")
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) -> Duration {
        let started = Instant::now();
        // SAFETY: kill only sends a signal to our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        match self.child.wait() {
            Ok(status) if status.success() => started.elapsed(),
            Ok(status) => fail(format!(
                "timeforged serve exited with {status}: {}",
                self.log.lock().map(|l| l.clone()).unwrap_or_default()
            )),
            Err(e) => fail(format!("waiting for timeforged serve: {e}")),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Memory

/// Resets the peak RSS (VmHWM) of `pid` to its current RSS, so the next reading of the peak
/// covers only what follows.
pub fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// Resident KiB of `pid` by where the pages are: the executable's mappings, shared libraries,
/// the heap and other anonymous memory (thread stacks, malloc arenas, SQLite's page caches).
pub fn rss_by_mapping(pid: u32, exe: &Path) -> Vec<(&'static str, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let exe = exe.canonicalize().unwrap_or_else(|_| exe.to_path_buf());
    let exe = exe.to_string_lossy();
    let (mut binary, mut libs, mut heap, mut anon) = (0, 0, 0, 0);
    let mut kind = 3;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && first.chars().next().is_some_and(|c| c.is_ascii_hexdigit()) {
            let name = words.nth(4).unwrap_or("");
            kind = if name == exe {
                0
            } else if name.starts_with('/') {
                1
            } else if name == "[heap]" {
                2
            } else {
                3
            };
        } else if first == "Rss:" {
            let kib: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            match kind {
                0 => binary += kib,
                1 => libs += kib,
                2 => heap += kib,
                _ => anon += kib,
            }
        }
    }
    vec![
        ("binary", binary),
        ("libraries", libs),
        ("heap", heap),
        ("other anonymous", anon),
    ]
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// A bench's own database on the server `TIMEFORGED_TEST_POSTGRES` names; dropped at the end
/// (and at the start, should an earlier run have died).
pub struct Postgres {
    admin: String,
    name: &'static str,
    pub url: String,
}

impl Postgres {
    /// `None` (SKIPPED) without `TIMEFORGED_TEST_POSTGRES`, a failure under
    /// `TIMEFORGED_REQUIRE_ALL=1`.
    pub fn create(name: &'static str) -> Option<Postgres> {
        let Ok(admin) = std::env::var("TIMEFORGED_TEST_POSTGRES") else {
            let msg = "PostgreSQL SKIPPED: set TIMEFORGED_TEST_POSTGRES=postgres://USER:PASS@127.0.0.1/postgres \
                       (a role that may create databases)";
            if std::env::var("TIMEFORGED_REQUIRE_ALL").is_ok_and(|v| v == "1") {
                fail(msg);
            }
            eprintln!("  !! {msg}");
            return None;
        };
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| fail(format!("TIMEFORGED_TEST_POSTGRES: {e}")));
        // Two statements: CREATE DATABASE cannot run in the transaction a batch would be.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            c.batch_execute(&sql).unwrap_or_else(|e| {
                fail(format!(
                    "{sql}: {}",
                    e.as_db_error().map_or(e.to_string(), ToString::to_string)
                ))
            });
        }
        let Some((base, _)) = admin.rsplit_once('/') else {
            fail("TIMEFORGED_TEST_POSTGRES must end with /DATABASE")
        };
        Some(Postgres {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
