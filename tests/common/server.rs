//! Team-server fixtures: `timeforged serve` started on port 0 of loopback (its address read
//! from its log), `timeforged user …` for users and keys, a throwaway PostgreSQL database on
//! the test server (`TIMEFORGED_TEST_POSTGRES`), and a TCP proxy that can cut the server off
//! from its database.

#![allow(dead_code)]

use crate::common::{DEADLINE, TestEnv, show, skip, wait_for};
use crate::http::Api;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A running `timeforged serve`.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Everything it logged so far.
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the server on `db` with extra `TIMEFORGED_*` settings, and waits until it listens.
    pub fn start(env: &TestEnv, db: &str, settings: &[(&str, &str)]) -> Server {
        Server::start_listening(env, db, settings, "127.0.0.1:0")
    }

    /// As [`Server::start`], on a given address (a restart where clients expect it).
    pub fn start_on(
        env: &TestEnv,
        db: &str,
        settings: &[(&str, &str)],
        addr: SocketAddr,
    ) -> Server {
        Server::start_listening(env, db, settings, &addr.to_string())
    }

    fn start_listening(env: &TestEnv, db: &str, settings: &[(&str, &str)], listen: &str) -> Server {
        let mut cmd = admin_cmd(env, db);
        cmd.args(["serve", "--listen", listen]);
        for (k, v) in settings {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start timeforged serve");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("the server's stderr");
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
        let addr = match rx.recv_timeout(DEADLINE) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "timeforged serve did not listen: {}",
                    log.lock().map(|l| l.clone()).unwrap_or_default()
                );
            }
        };
        Server { child, addr, log }
    }

    /// The API as `key` sees it.
    pub fn api(&self, key: &str) -> Api {
        Api {
            addr: self.addr,
            key: key.to_string(),
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        crate::common::signal(self.child.id(), libc::SIGTERM);
        let status = self.child.wait().expect("wait for the server");
        assert!(
            status.success(),
            "server exit: {status:?}\n{}",
            self.log_text()
        );
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `timeforged` for server commands, in `env`'s directory, on `db`.
pub fn admin_cmd(env: &TestEnv, db: &str) -> Command {
    let mut cmd = env.timeforged_cmd();
    cmd.env("TIMEFORGED_STORAGE__URL", db);
    cmd.env("RUST_BACKTRACE", "0");
    cmd
}

/// `timeforged user ARGS…` on `db`.
pub fn user_cmd(env: &TestEnv, db: &str, args: &[&str]) -> Output {
    admin_cmd(env, db)
        .arg("user")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run timeforged user")
}

/// Runs `timeforged user ARGS…` and returns its stdout (asserting success).
pub fn user_ok(env: &TestEnv, db: &str, args: &[&str]) -> String {
    let out = user_cmd(env, db, args);
    assert!(
        out.status.success(),
        "timeforged user {args:?}: {}",
        show(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Adds a user and returns their first key.
pub fn add_user(env: &TestEnv, db: &str, name: &str) -> String {
    let key = user_ok(env, db, &["add", name]).trim().to_string();
    assert_eq!(key.len(), 36, "a UUID key on stdout: {key:?}");
    key
}

/// A throwaway database on the test server, dropped at the end.
pub struct PgDb {
    admin: String,
    name: String,
    pub url: String,
}

impl PgDb {
    /// None (after a loud SKIPPED; a failure under TIMEFORGED_REQUIRE_ALL) without a server.
    pub fn new() -> Option<PgDb> {
        let Ok(admin) = std::env::var("TIMEFORGED_TEST_POSTGRES") else {
            skip(
                "PostgreSQL is not available: set TIMEFORGED_TEST_POSTGRES=postgres://USER:PASS@127.0.0.1/postgres (.ci/run starts a server)",
            );
            return None;
        };
        let name = format!("tf_it_{}", uuid::Uuid::new_v4().simple());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("TIMEFORGED_TEST_POSTGRES={admin}: {e}"));
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        let (base, _) = admin
            .rsplit_once('/')
            .expect("TIMEFORGED_TEST_POSTGRES ends with /DATABASE");
        let url = format!("{base}/{name}");
        Some(PgDb { admin, name, url })
    }

    /// The URL with another host and port (through a proxy).
    pub fn via(&self, proxy: SocketAddr) -> String {
        let (scheme_auth, rest) = self.url.split_once('@').expect("URL with user@host");
        let (_, path) = rest.split_once('/').expect("URL with /db");
        format!("{scheme_auth}@{proxy}/{path}")
    }

    /// The server's own address (for the proxy to forward to).
    pub fn server_addr(&self) -> SocketAddr {
        let rest = self.url.split_once('@').expect("URL with user@host").1;
        let host = rest.split_once('/').expect("URL with /db").0;
        let host = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:5432")
        };
        host.parse().expect("a host:port the proxy can reach")
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A TCP proxy on loopback that forwards to `upstream` until it is cut: then every
/// connection through it is closed and new ones are refused, as if the database had gone.
pub struct Proxy {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let down = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (d, c) = (down.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if d.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                if let Ok(mut all) = c.lock() {
                    all.extend(client.try_clone().ok());
                    all.extend(server.try_clone().ok());
                }
                pump(client.try_clone(), server.try_clone());
                pump(server.try_clone(), client.try_clone());
            }
        });
        Proxy { addr, down, conns }
    }

    /// Cuts every connection and refuses new ones.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        if let Ok(mut all) = self.conns.lock() {
            for s in all.drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

fn pump(from: std::io::Result<TcpStream>, to: std::io::Result<TcpStream>) {
    let (Ok(mut from), Ok(mut to)) = (from, to) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

/// Polls GET `path` until it answers `status`.
pub fn wait_status(api: &Api, path: &str, status: u16) {
    wait_for(&format!("GET {path} → {status}"), || {
        (api.get(path).status == status).then_some(())
    });
}

/// What the fault proxy does to one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward it and its answer.
    Pass,
    /// Close after reading this many bytes of the request, forwarding nothing.
    CutRequest(usize),
    /// Forward the request (the server acts on it), then close without answering.
    DropAnswer,
    /// Forward the request, pass this many bytes of the answer, then close.
    CutAnswer(usize),
    /// Wait this long, then forward.
    Delay(std::time::Duration),
    /// Answer this instead of the server: status, extra headers, body.
    Answer(u16, Vec<(String, String)>, String),
}

/// Faults waiting, each for any request or for one method.
type FaultQueue = Mutex<std::collections::VecDeque<(Option<String>, Fault)>>;

/// An HTTP proxy on loopback that takes one request per connection and applies the next
/// fault of its queue to it (faults can be kept for one method: `GET` pulls, `POST` pushes).
pub struct FaultProxy {
    pub addr: SocketAddr,
    queue: Arc<FaultQueue>,
    /// Requests seen, as `METHOD path`.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let queue: Arc<FaultQueue> = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (q, s) = (queue.clone(), seen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let (q, s) = (q.clone(), s.clone());
                std::thread::spawn(move || relay(client, upstream, &q, &s));
            }
        });
        FaultProxy { addr, queue, seen }
    }

    /// Queues a fault for the next request (of `method`, if given).
    pub fn then(&self, method: Option<&str>, fault: Fault) {
        if let Ok(mut q) = self.queue.lock() {
            q.push_back((method.map(str::to_string), fault));
        }
    }

    pub fn pending(&self) -> usize {
        self.queue.lock().map(|q| q.len()).unwrap_or(0)
    }
}

fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    queue: &FaultQueue,
    seen: &Mutex<Vec<String>>,
) {
    let _ = client.set_read_timeout(Some(DEADLINE));
    // The request: head, then Content-Length bytes of body.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while raw.len() < head_end + length {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let line = head.lines().next().unwrap_or("").to_string();
    let method = line.split(' ').next().unwrap_or("").to_string();
    if let Ok(mut s) = seen.lock() {
        s.push(
            line.rsplit_once(' ')
                .map_or(line.clone(), |(a, _)| a.to_string()),
        );
    }
    let fault = queue
        .lock()
        .ok()
        .and_then(|mut q| {
            let i = q
                .iter()
                .position(|(m, _)| m.as_deref().is_none_or(|m| m == method))?;
            q.remove(i).map(|(_, f)| f)
        })
        .unwrap_or(Fault::Pass);
    // Each request on a connection of its own, so that each meets its own fault.
    let mut request = raw[..head_end - 2].to_vec();
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    request.extend_from_slice(&raw[head_end..]);
    let forward = || -> Option<Vec<u8>> {
        let mut up = TcpStream::connect(upstream).ok()?;
        up.set_read_timeout(Some(DEADLINE)).ok()?;
        up.write_all(&request).ok()?;
        let mut answer = Vec::new();
        up.read_to_end(&mut answer).ok()?;
        Some(answer)
    };
    match fault {
        Fault::Pass => {
            if let Some(a) = forward() {
                let _ = client.write_all(&a);
            }
        }
        Fault::CutRequest(_) => {}
        Fault::DropAnswer => {
            let _ = forward();
        }
        Fault::CutAnswer(n) => {
            if let Some(a) = forward() {
                let _ = client.write_all(&a[..n.min(a.len())]);
            }
        }
        Fault::Delay(d) => {
            std::thread::sleep(d);
            if let Some(a) = forward() {
                let _ = client.write_all(&a);
            }
        }
        Fault::Answer(status, headers, body) => {
            let mut out = format!(
                "HTTP/1.1 {status} Fault\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = client.write_all(out.as_bytes());
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
}
