//! HTTP fixtures for the WakaTime-compatible API tests: a raw HTTP/1.1 client over
//! `TcpStream` (so tests control every byte: Host, Content-Type, half-sent requests), the
//! daemon's bound address and API key, and the real legacy WakaTime client (Python, 13.1.0)
//! run from a private home directory.

// Each test uses a different subset of these helpers.
#![allow(dead_code)]

use crate::common::{DEADLINE, TestEnv, skip};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// One HTTP response, read until the server closed the connection.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; fails the test (showing the body) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} body is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// Asserts a WakaTime error body `{"error": "…"}` with `status`, and returns the message.
    pub fn expect_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "an error is JSON, got Content-Type {ct:?}: {}",
            self.text()
        );
        let body = self.json();
        let message = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("error body has a string `error`: {body}"));
        assert!(!message.is_empty(), "{body}");
        message.to_string()
    }
}

/// Connects with read and write timeouts, so a server that never answers fails the test.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(DEADLINE))
        .expect("set a read timeout");
    stream
        .set_write_timeout(Some(DEADLINE))
        .expect("set a write timeout");
    stream
}

/// Sends a large `request` from another thread while reading the response, for servers that
/// answer (413) and close before reading it all: a broken pipe on the way is expected.
pub fn send_large(addr: SocketAddr, request: Vec<u8>) -> Reply {
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().expect("clone the stream");
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    let reply = read_reply(&mut stream);
    let _ = sender.join();
    reply
}

/// Sends `request` as is and reads the response until the server closes the connection.
pub fn send_raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(request).expect("write the request");
    read_reply(&mut stream)
}

/// Reads one response to the end of the stream (requests are sent with `Connection: close`).
pub fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw) {
        // A reset after a complete response is still a response.
        if raw.is_empty() {
            panic!("reading the response: {e}");
        }
    }
    parse_reply(&raw)
}

pub fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("response headers are UTF-8");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&data[..eol]).unwrap_or("0");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        let end = (start + size).min(data.len());
        out.extend_from_slice(&data[start..end]);
        data = data.get(end + 2..).unwrap_or_default();
    }
}

/// A request with `Host: {addr}` (unless `headers` gives one), `Connection: close`, and a
/// `Content-Length` when there is a body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n");
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    send_raw(addr, &bytes)
}

/// The daemon's WakaTime API: its bound address and the local API key.
#[derive(Debug, Clone)]
pub struct Api {
    pub addr: SocketAddr,
    pub key: String,
}

impl Api {
    /// The API of `env`'s daemon (started by `tf status` if it is not running).
    pub fn of(env: &TestEnv) -> Api {
        let addr = http_addr(env);
        let key = env.tf_ok(["apikey"]).trim().to_string();
        assert_eq!(key.len(), 36, "tf apikey prints a UUID: {key:?}");
        Api { addr, key }
    }

    /// `Authorization: Basic base64(key)`, what the WakaTime clients send.
    pub fn basic(&self) -> String {
        format!("Basic {}", BASE64.encode(&self.key))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str) -> Reply {
        let auth = self.basic();
        request(self.addr, "GET", path, &[("Authorization", &auth)], None)
    }

    /// GET with the key, asserting 200 and a JSON body.
    pub fn get_json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// POST `body` as `application/json` with the key and extra headers.
    pub fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let auth = self.basic();
        let mut all = vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        all.extend_from_slice(headers);
        request(self.addr, "POST", path, &all, Some(body))
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_with(path, &[], body.to_string().as_bytes())
    }

    /// POSTs a bulk body and returns its `responses`, asserting 201 and one entry per item.
    pub fn post_bulk(&self, path: &str, items: &[Value]) -> Vec<Value> {
        self.post_bulk_with(path, &[], items)
    }

    pub fn post_bulk_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        items: &[Value],
    ) -> Vec<Value> {
        let body = Value::Array(items.to_vec()).to_string();
        let r = self.post_with(path, headers, body.as_bytes());
        assert_eq!(r.status, 201, "POST {path}: {}", r.text());
        let v = r.json();
        let responses = v["responses"]
            .as_array()
            .unwrap_or_else(|| panic!("bulk reply has `responses`: {v}"))
            .clone();
        assert_eq!(responses.len(), items.len(), "one response per item: {v}");
        responses
    }
}

/// The address the daemon's HTTP API is bound to, from `tf status --json` (field `http`).
pub fn http_addr(env: &TestEnv) -> SocketAddr {
    let status = env.tf_json(["status", "--json"]);
    let addr = status["http"]
        .as_str()
        .unwrap_or_else(|| panic!("tf status --json has no `http` address: {status}"));
    addr.parse()
        .unwrap_or_else(|e| panic!("status.http {addr:?} is not an address: {e}"))
}

/// Asserts a bulk entry is `[{"data": {…}}, 201]` and returns the data.
pub fn created(entry: &Value) -> &Value {
    assert_eq!(entry[1], 201, "expected a created item: {entry}");
    assert!(entry[0]["data"].is_object(), "{entry}");
    &entry[0]["data"]
}

/// Asserts a bulk entry is `[{"error": "…"}, 400]` and returns the message.
pub fn rejected(entry: &Value) -> &str {
    assert_eq!(entry[1], 400, "expected a rejected item: {entry}");
    entry[0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("a rejected item has a string `error`: {entry}"))
}

/// The legacy WakaTime client needs `collections.Mapping` & co., gone since Python 3.10.
const LAUNCHER: &str = r#"import collections, collections.abc, sys
for name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable"):
    if not hasattr(collections, name):
        setattr(collections, name, getattr(collections.abc, name))
from wakatime.main import execute
sys.exit(execute(sys.argv[1:]))
"#;

/// How to get the client, for the SKIPPED message. 13.1.0's vendored `six` fails to import on
/// Python 3.12 and later, so the venv needs Python 3.10 or 3.11.
const INSTALL_HINT: &str = "set TIMEFORGED_WAKATIME_PYTHON to the python of a Python 3.10/3.11 \
    venv with wakatime 13.1.0 (python3.11 -m venv /tmp/wvenv && /tmp/wvenv/bin/pip install \
    wakatime==13.1.0 && export TIMEFORGED_WAKATIME_PYTHON=/tmp/wvenv/bin/python)";

/// The real legacy WakaTime client (PyPI `wakatime==13.1.0`), run with `HOME` and
/// `WAKATIME_HOME` set to a private directory (its config, log, offline queue and session
/// cache all live there).
pub struct WakaClient {
    python: PathBuf,
    launcher: PathBuf,
    pub home: PathBuf,
    tz: String,
}

impl WakaClient {
    /// The client from `TIMEFORGED_WAKATIME_PYTHON`, or `None` after saying SKIPPED (a panic
    /// under `TIMEFORGED_REQUIRE_ALL=1`). A variable that is set but points at a broken
    /// install fails the test: that is a setup error, not a missing tool.
    pub fn find(env: &TestEnv) -> Option<WakaClient> {
        let Some(python) = std::env::var_os("TIMEFORGED_WAKATIME_PYTHON").filter(|p| !p.is_empty())
        else {
            skip(&format!(
                "the WakaTime client is not installed: {INSTALL_HINT}"
            ));
            return None;
        };
        let python = PathBuf::from(python);
        let home = env.scratch().to_path_buf();
        let launcher = home.join("wakatime_launcher.py");
        std::fs::write(&launcher, LAUNCHER).expect("write the WakaTime launcher");
        let client = WakaClient {
            python,
            launcher,
            home,
            tz: env.tz.clone(),
        };
        let out = client
            .command()
            .arg("--version")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "TIMEFORGED_WAKATIME_PYTHON={} cannot run: {e}",
                    client.python.display()
                )
            });
        let version = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            version.trim() == "13.1.0",
            "TIMEFORGED_WAKATIME_PYTHON={} must be a Python 3.10/3.11 venv with wakatime \
             13.1.0, `--version` said {version:?}",
            client.python.display()
        );
        Some(client)
    }

    /// `python launcher.py` in a clean environment with the private home.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("WAKATIME_HOME", &self.home)
            .env("TZ", &self.tz)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(&self.home)
            .arg(&self.launcher)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the client with `args`, feeding `stdin` (for `--extra-heartbeats`) if given.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.command();
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("start the WakaTime client");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("the client's stdin");
            pipe.write_all(text.as_bytes())
                .expect("write to the client's stdin");
        }
        child
            .wait_with_output()
            .expect("wait for the WakaTime client")
    }

    /// Runs the client and asserts it exited with `code` (0 sent, 102 API error/queued).
    pub fn run_expect(&self, args: &[&str], stdin: Option<&str>, code: i32) {
        let out = self.run(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(code),
            "wakatime {args:?}: {}\n--- ~/.wakatime.log (tail) ---\n{}",
            crate::common::show(&out),
            self.log_tail()
        );
    }

    /// The end of `~/.wakatime.log`, for assertion messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.home.join(".wakatime.log")).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    /// Heartbeats waiting in the client's offline queue (`~/.wakatime.db`, table
    /// `heartbeat_2` in 13.1.0).
    pub fn queued(&self) -> i64 {
        let db = self.home.join(".wakatime.db");
        if !db.exists() {
            return 0;
        }
        let conn = rusqlite::Connection::open(&db)
            .unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
        let has_table: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'heartbeat_2'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .expect("read sqlite_master");
        if !has_table {
            return 0;
        }
        conn.query_row("SELECT count(*) FROM heartbeat_2", [], |r| r.get(0))
            .expect("count queued heartbeats")
    }
}

/// A source file the client will accept (it ignores heartbeats for files that do not exist),
/// returned with symlinks resolved, as the client reports it.
pub fn source_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create the source directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a source file");
    std::fs::canonicalize(&path).expect("canonicalize the source file")
}
