//! ActivityWatch's aw-server-rust as a same-run peer: a binary the user built (never fetched
//! or built here), started on a free loopback port with everything it writes (database,
//! config, logs) in a temp directory.

use super::{fail, proc_status_kib};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket the benches send heartbeats to (an editor watcher's kind).
pub const BUCKET: &str = "aw-watcher-bench_timeforged";
/// Where an editor watcher posts its heartbeats to [`BUCKET`]: heartbeats with the same data
/// within `pulsetime` seconds of the bucket's last event are merged into it.
pub const HEARTBEAT_PATH: &str =
    "/api/0/buckets/aw-watcher-bench_timeforged/heartbeat?pulsetime=120";

/// A running aw-server-rust; killed when dropped.
pub struct AwServer {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl AwServer {
    /// Starts `binary` and waits until `/api/0/info` answers, then creates [`BUCKET`].
    pub fn start(binary: &Path) -> AwServer {
        let dir = tempfile::Builder::new()
            .prefix("aw-bench-")
            .tempdir()
            .unwrap_or_else(|e| fail(format!("creating a temp dir: {e}")));
        let port = free_port();
        let home = dir.path().join("home");
        let log = std::fs::File::create(dir.path().join("aw-server.log"))
            .unwrap_or_else(|e| fail(format!("creating the aw-server log: {e}")));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| fail(format!("cloning a file handle: {e}")));
        // Its config, data and log directories come from HOME/XDG: all under the temp dir.
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--dbpath")
            .arg(dir.path().join("aw.sqlite"))
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .arg("--no-legacy-import")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env_remove("LOG_LEVEL")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| fail(format!("starting {}: {e}", binary.display())));
        let mut server = AwServer {
            child,
            dir,
            addr: format!("127.0.0.1:{port}"),
        };
        server.wait_ready();
        let bucket = format!(
            r#"{{"client":"timeforged-bench","type":"app.editor.activity","hostname":"{}"}}"#,
            "bench-host"
        );
        let (status, body) = request(
            &server.addr,
            "POST",
            &format!("/api/0/buckets/{BUCKET}"),
            Some(&bucket),
        );
        if status != 200 {
            fail(format!(
                "aw-server: creating bucket {BUCKET} answered {status}: {body}"
            ));
        }
        server
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = try_request(&self.addr, "GET", "/api/0/info", None) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                fail(format!(
                    "aw-server exited with {status} before listening; log:\n{}",
                    std::fs::read_to_string(self.log()).unwrap_or_default()
                ));
            }
            if started.elapsed() > Duration::from_secs(30) {
                fail(format!(
                    "aw-server did not answer on {} within 30 s",
                    self.addr
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("aw-server.log")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS")
    }

    /// Events stored in [`BUCKET`] (heartbeats with the same data as the one before are merged
    /// into it, so fewer than sent).
    pub fn event_count(&self) -> u64 {
        let (status, body) = request(
            &self.addr,
            "GET",
            &format!("/api/0/buckets/{BUCKET}/events/count"),
            None,
        );
        if status != 200 {
            fail(format!("aw-server: events/count answered {status}: {body}"));
        }
        body.trim().parse().unwrap_or(0)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it.
    pub fn stop(mut self) {
        // SAFETY: kill only sends a signal to our own child.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AwServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A loopback port free right now (the server binds it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| fail(format!("finding a free port: {e}")))
}

/// One request on its own connection (`Connection: close`): (status, body).
pub fn request(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    try_request(addr, method, path, body)
        .unwrap_or_else(|e| fail(format!("{method} http://{addr}{path}: {e}")))
}

fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad answer {answer:?}")))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}
