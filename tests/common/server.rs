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
        let mut cmd = admin_cmd(env, db);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
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
