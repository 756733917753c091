//! Bad input, each with a clear error naming the problem and the stored data left intact:
//! junk on the socket, oversize lines, wrong versions, invalid heartbeats in mixed batches,
//! non-UTF-8 paths, bulk imports with bad rows, corrupt and read-only databases, a second
//! user on the socket.

mod common;
#[path = "common/http.rs"]
mod http;

use common::{Conn, TestEnv, hb, is_root, now_secs, recent_hour, show, skip, stderr};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Command;

/// The daemon's line limit (4 MiB, newline excluded).
const MAX_LINE: usize = 4 * 1024 * 1024;

/// A daemon with `n` heartbeats stored, and a connection to it.
fn seeded(n: u32) -> (TestEnv, Conn) {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut c = env.connect();
    let t0 = recent_hour();
    let items: Vec<_> = (0..n)
        .map(|i| hb(t0 + f64::from(i) * 30.0, "/w/seed.rs", "seed", "Rust"))
        .collect();
    let r = c.heartbeats(&items);
    assert_eq!(r["accepted"], n, "{r}");
    (env, c)
}

fn assert_error(r: &Value, code: &str, needle: &str) {
    assert_eq!(r["type"], "error", "expected an error: {r}");
    assert_eq!(r["code"], code, "{r}");
    let message = r["message"].as_str().expect("error.message is a string");
    assert!(
        message.contains(needle),
        "message should mention {needle:?}: {r}"
    );
}

#[test]
fn malformed_json_line_gets_an_error_and_the_connection_stays_usable() {
    let (env, mut c) = seeded(10);
    let mut other = env.connect();

    c.send_raw(br#"{"v":1,"type":"status""#);
    let r = c.recv();
    assert_error(&r, "bad_request", "not a JSON object");

    c.send_raw(b"hello daemon");
    assert_error(&c.recv(), "bad_request", "not a JSON object");

    // Same connection, next request: answered normally.
    assert_eq!(c.count(), 10);
    // Another client was not disturbed.
    assert_eq!(other.count(), 10);
}

#[test]
fn missing_version_unknown_type_and_wrong_version_are_refused_by_name() {
    let (_env, mut c) = seeded(3);
    let r = c.request(json!({"type": "status"}));
    assert_error(&r, "bad_request", "\"v\"");

    let r = c.request(json!({"v": 1, "type": "explode"}));
    assert_error(&r, "bad_request", "unknown request type \"explode\"");

    let r = c.request(json!({"v": 1}));
    assert_error(&r, "bad_request", "\"type\"");

    let r = c.request(json!({"v": 2, "type": "status"}));
    assert_error(&r, "version", "protocol version 2 is not supported");
    let message = r["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("version 1"),
        "says which version it speaks: {r}"
    );

    // A version-2 heartbeat batch must not be stored either.
    let r = c.request(json!({"v": 2, "type": "heartbeats",
        "heartbeats": [hb(recent_hour() + 5000.0, "/w/x.rs", "x", "Rust")]}));
    assert_eq!(r["code"], "version", "{r}");

    let r = c.request(json!({"v": 1, "type": "heartbeats", "heartbeats": 5}));
    assert_error(&r, "bad_request", "invalid heartbeats request");

    assert_eq!(c.count(), 3, "nothing was stored by refused requests");
}

#[test]
fn non_utf8_line_gets_an_error_and_the_connection_stays_usable() {
    let (_env, mut c) = seeded(2);
    c.send_raw(b"{\"v\":1,\"type\":\"status\",\"x\":\"\xff\xfe\"}");
    assert_error(&c.recv(), "bad_request", "UTF-8");
    assert_eq!(c.count(), 2);
}

#[test]
fn invalid_report_parameters_are_refused_by_name() {
    let (_env, mut c) = seeded(2);
    let r = c.request(json!({"v": 1, "type": "report", "range": {"name": "fortnight"}}));
    assert_error(&r, "invalid", "fortnight");
    let r = c.request(json!({"v": 1, "type": "report", "range": {"from": "yesterday-ish"}}));
    assert_error(&r, "invalid", "yesterday-ish");
    let r = c.request(json!({"v": 1, "type": "report",
        "range": {"from": "2026-01-02", "to": "2026-01-01"}}));
    assert_error(&r, "invalid", "empty");
    for bad in [0, 241] {
        let r = c.request(json!({"v": 1, "type": "report", "range": {"name": "all"},
            "timeout_minutes": bad}));
        assert_error(&r, "invalid", &format!("timeout {bad}"));
    }
    let r = c.request(json!({"v": 1, "type": "report", "by": ["mood"]}));
    assert_error(&r, "bad_request", "invalid report request");
    let r = c.request(json!({"v": 1, "type": "add_interval",
        "interval": {"start": 100.0, "end": 50.0, "project": "p"}}));
    assert_error(&r, "invalid", "to");
    assert_eq!(c.count(), 2);
}

/// A `status` request padded with spaces to exactly `len` bytes.
fn padded_status_line(len: usize) -> Vec<u8> {
    let head = br#"{"v":1,"type":"status""#;
    let mut line = head.to_vec();
    line.resize(len - 1, b' ');
    line.push(b'}');
    assert_eq!(line.len(), len);
    line
}

#[test]
fn a_line_of_exactly_4_mib_is_accepted() {
    let (_env, mut c) = seeded(1);
    c.send_raw(&padded_status_line(MAX_LINE));
    let r = c.recv();
    assert_eq!(r["type"], "status", "a line at the limit is served: {r}");
}

#[test]
fn a_line_over_4_mib_gets_an_error_and_a_clean_close_and_others_are_served() {
    let (env, mut c) = seeded(5);
    let mut other = env.connect();
    // A heartbeat batch one byte over the limit: must be refused as a whole, not stored.
    let item = hb(recent_hour() + 7000.0, "/w/big.rs", "big", "Rust");
    let head = format!(r#"{{"v":1,"type":"heartbeats","heartbeats":[{item}]"#);
    let mut line = head.into_bytes();
    line.resize(MAX_LINE, b' ');
    line.push(b'}');
    assert_eq!(line.len(), MAX_LINE + 1);

    // The daemon stops reading at the limit, so write from another thread and ignore a
    // broken pipe there; what matters is what this side reads.
    let mut writer = c.writer.try_clone().expect("clone the socket");
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&line);
        let _ = writer.write_all(b"\n");
    });
    let r = c.recv();
    assert_error(&r, "too_large", &MAX_LINE.to_string());
    assert!(
        c.try_recv().is_none(),
        "the connection is closed after a too-long line"
    );
    sender.join().expect("the writer thread");

    assert_eq!(other.count(), 5, "other clients are served, nothing stored");
    assert_eq!(env.connect().count(), 5, "new clients are served");
}

#[test]
fn a_mixed_batch_rejects_each_bad_item_by_field_and_stores_the_good_ones() {
    let (_env, mut c) = seeded(4);
    let now = now_secs();
    let t = recent_hour() + 3600.0;
    let at_limit_entity = format!("/w/{}", "e".repeat(4096 - 3));
    let at_limit_project = "p".repeat(512);
    let mut at_limits = hb(t + 6.0, &at_limit_entity, &at_limit_project, "Rust");
    at_limits["branch"] = json!("b".repeat(512));
    let items = vec![
        hb(t, "/w/good1.rs", "good", "Rust"),            // 0 ok
        json!({"time": "NaN", "entity": "/w/nan.rs"}),   // 1
        hb(-5.0, "/w/negative.rs", "bad", "Rust"),       // 2
        hb(now + 7200.0, "/w/future.rs", "bad", "Rust"), // 3
        hb(t + 4.0, &format!("/{}", "e".repeat(4096)), "bad", "Rust"), // 4: 4097 bytes
        hb(t + 5.0, "/w/p.rs", &"p".repeat(513), "Rust"), // 5
        at_limits,                                       // 6 ok
        json!({"time": t + 7.0, "project": "bad"}),      // 7
        json!(7),                                        // 8
        hb(t + 9.0, "/w/good2.rs", "good", "Rust"),      // 9 ok
        json!({"time": t + 10.0, "entity": "/w/c.rs", "category": "sleeping"}), // 10
        json!({"time": t + 11.0, "entity": "  "}),       // 11
    ];
    let r = c.heartbeats(&items);
    assert_eq!(r["accepted"], 3, "{r}");
    assert_eq!(r["duplicates"], 0, "{r}");
    assert_eq!(r["rejected"], 9, "{r}");
    let errors: Vec<(u64, String)> = r["errors"]
        .as_array()
        .expect("stored.errors is an array")
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().expect("error.index"),
                e["error"].as_str().expect("error.error").to_string(),
            )
        })
        .collect();
    let expected: [(u64, &[&str]); 9] = [
        (1, &["time"]),
        (2, &["time", "1970"]),
        (3, &["time", "future"]),
        (4, &["entity", "4097"]),
        (5, &["project", "513"]),
        (7, &["entity"]),
        (8, &["expected"]),
        (10, &["category", "sleeping"]),
        (11, &["entity", "empty"]),
    ];
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        expected.iter().map(|e| e.0).collect::<Vec<_>>(),
        "one error per bad item, by index: {r}"
    );
    for ((_, message), (index, needles)) in errors.iter().zip(expected) {
        for needle in needles {
            assert!(
                message.contains(needle),
                "item {index}: error {message:?} should mention {needle:?}"
            );
        }
    }

    assert_eq!(c.count(), 7, "4 seeded + 3 good");
    let log = c.log_all();
    let entities: Vec<&str> = log.iter().filter_map(|h| h["entity"].as_str()).collect();
    assert!(entities.contains(&"/w/good1.rs"), "{entities:?}");
    assert!(entities.contains(&"/w/good2.rs"), "{entities:?}");
    assert!(
        entities.contains(&at_limit_entity.as_str()),
        "limits are inclusive"
    );
    let stored = log
        .iter()
        .find(|h| h["entity"] == at_limit_entity.as_str())
        .expect("the at-limit heartbeat");
    assert_eq!(stored["project"], at_limit_project.as_str());
}

/// `VmRSS` and `VmHWM` (peak) of a process, in bytes.
fn resident_bytes(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// How a connection sending an unfinished line ended up.
#[derive(Debug, PartialEq)]
enum Partial {
    Sending,
    /// All of it was taken: the daemon holds it.
    Held,
    /// The daemon answered (an error) or closed the connection.
    Refused(String),
}

/// Opens `n` connections that each send `len` bytes of a line and never its newline, and
/// returns them once each has been either taken whole or refused.
fn unfinished_lines(env: &TestEnv, n: usize, len: usize) -> Vec<(UnixStream, Partial)> {
    use std::io::{ErrorKind, Read};
    let mut line = br#"{"v":1,"type":"status""#.to_vec();
    line.resize(len, b' ');
    let mut conns: Vec<(UnixStream, usize, Partial)> = (0..n)
        .map(|_| {
            let s = UnixStream::connect(env.socket()).expect("connect");
            s.set_nonblocking(true).expect("non-blocking");
            (s, 0, Partial::Sending)
        })
        .collect();
    common::wait_for("every unfinished line to be taken or refused", || {
        for (s, sent, state) in conns.iter_mut().filter(|c| c.2 == Partial::Sending) {
            let mut answer = [0u8; 4096];
            match s.read(&mut answer) {
                Ok(0) => *state = Partial::Refused("closed without an answer".into()),
                Ok(k) => {
                    *state = Partial::Refused(String::from_utf8_lossy(&answer[..k]).into_owned())
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => *state = Partial::Refused(e.to_string()),
            }
            if *state != Partial::Sending {
                continue;
            }
            match s.write(&line[*sent..]) {
                Ok(k) => {
                    *sent += k;
                    if *sent == len {
                        *state = Partial::Held;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // Reset or broken pipe: refused; the answer, if any, is read next round.
                Err(_) => {}
            }
        }
        conns.iter().all(|c| c.2 != Partial::Sending).then_some(())
    });
    conns.into_iter().map(|(s, _, state)| (s, state)).collect()
}

/// The issue: 200 connections each holding an unfinished ~4 MiB line took 824 MB of the
/// daemon (500: 2 GB). Now lines being read share one bounded budget.
#[test]
fn many_connections_with_unfinished_4_mib_lines_keep_the_daemon_memory_bounded() {
    const CONNECTIONS: usize = 200;
    let mut env = TestEnv::new();
    let pid = env.start_daemon();
    let mut c = env.connect();
    assert_eq!(c.count(), 0);
    let (_, before) = resident_bytes(pid);

    let conns = unfinished_lines(&env, CONNECTIONS, MAX_LINE - 1024);
    let (now, peak) = resident_bytes(pid);
    let mib = |b: u64| b / (1024 * 1024);
    let held = conns.iter().filter(|c| c.1 == Partial::Held).count();
    eprintln!(
        "{CONNECTIONS} unfinished 4 MiB lines: {held} held, peak RSS {} MiB (from {} MiB), now {} MiB",
        mib(peak),
        mib(before),
        mib(now)
    );
    // 64 MiB of line budget, each connection's 64 KiB read buffer, and slack for the allocator.
    let bound = 64 * 1024 * 1024 + CONNECTIONS as u64 * 128 * 1024 + 48 * 1024 * 1024;
    assert!(
        peak - before < bound,
        "the daemon grew by {} MiB for {CONNECTIONS} unfinished lines (bound {} MiB)",
        mib(peak - before),
        mib(bound)
    );
    for (_, state) in &conns {
        if let Partial::Refused(answer) = state {
            assert!(
                answer.contains("too_large") && answer.contains("unfinished request lines"),
                "a refused connection is told why: {answer}"
            );
        }
    }
    // Small requests are still served while the big lines are held, on old and new connections.
    assert_eq!(c.count(), 0);
    let started = std::time::Instant::now();
    assert_eq!(env.connect().count(), 0);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "status waited {:?} behind the unfinished lines",
        started.elapsed()
    );
    drop(conns);
    let r = c.heartbeats(&[hb(recent_hour(), "/w/after.rs", "after", "Rust")]);
    assert_eq!(r["accepted"], 1, "{r}");
}

/// Items with `lines`, `lineno` and `cursorpos` beyond i64 in every form clients may use
/// (a float, a string, an integer past u64, one past i64), then a good one; as raw JSON,
/// since those numbers have no exact `serde_json::Value`.
fn out_of_range_items(t: f64) -> (String, [(&'static str, &'static str); 4]) {
    let item = |field: &str, value: &str| {
        format!(
            r#"{{"time": {t}, "entity": "/w/range.rs", "project": "range", "{field}": {value}}}"#
        )
    };
    let items = [
        item("lines", "1e30"),
        item("lineno", r#""1e30""#),
        item("cursorpos", "1000000000000000000000000000000"),
        item("lines", "9223372036854775808"),
        format!(
            r#"{{"time": {}, "entity": "/w/ok.rs", "project": "range", "lines": 120, "lineno": 7, "cursorpos": 9223372036854775807}}"#,
            t + 1.0
        ),
    ];
    let expected = [
        ("lines", "1000000000000000000000000000000"),
        ("lineno", "1000000000000000000000000000000"),
        ("cursorpos", "1000000000000000000000000000000"),
        ("lines", "9223372036854775808"),
    ];
    (format!("[{}]", items.join(",")), expected)
}

#[test]
fn lines_lineno_and_cursorpos_beyond_i64_are_rejected_by_field_not_stored_as_i64_max() {
    let (env, mut c) = seeded(1);
    let t = recent_hour() + 1800.0;
    let (items, expected) = out_of_range_items(t);
    c.send_raw(format!(r#"{{"v":1,"type":"heartbeats","heartbeats":{items}}}"#).as_bytes());
    let r = c.recv();
    assert_eq!(r["type"], "stored", "{r}");
    assert_eq!(r["accepted"], 1, "only the good item: {r}");
    assert_eq!(r["rejected"], 4, "{r}");
    let errors = r["errors"].as_array().expect("stored.errors");
    for (i, (field, value)) in expected.iter().enumerate() {
        let e = &errors[i];
        assert_eq!(e["index"], i, "{r}");
        let message = e["error"].as_str().expect("error text");
        assert!(
            message.starts_with(&format!("{field}:"))
                && message.contains("out of range")
                && message.contains(value),
            "item {i}: names {field}, the value and the problem: {message}"
        );
    }
    let log = c.log_all();
    let stored = log
        .iter()
        .find(|h| h["entity"] == "/w/ok.rs")
        .expect("the good item is stored");
    assert_eq!(stored["lines"], 120);
    assert_eq!(
        stored["cursorpos"],
        i64::MAX,
        "i64::MAX itself is a valid value"
    );
    assert!(
        log.iter().all(|h| h["lines"] != i64::MAX),
        "nothing saturated to i64::MAX: {log:?}"
    );

    // The WakaTime HTTP API shares the parser: the same items, the same per-item answers.
    let api = http::Api::of(&env);
    let t = t + 60.0;
    let (items, expected) = out_of_range_items(t);
    let reply = api.post_with(
        "/api/v1/users/current/heartbeats.bulk",
        &[],
        items.as_bytes(),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    let responses = body["responses"].as_array().expect("responses");
    for (i, (field, value)) in expected.iter().enumerate() {
        let message = http::rejected(&responses[i]);
        assert!(
            message.contains(field) && message.contains("out of range") && message.contains(value),
            "HTTP item {i}: {message}"
        );
    }
    http::created(&responses[4]);
    assert_eq!(c.count(), 3, "seed + one good item per path");
}

/// `tf heartbeat --entity` with a path that is not UTF-8 (Latin-1 `café.rs`).
fn heartbeat_with_non_utf8_entity(env: &TestEnv) -> std::process::Output {
    let path = env
        .scratch()
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.rs"));
    std::fs::write(&path, "").expect("create the file");
    env.tf([
        std::ffi::OsStr::new("heartbeat"),
        std::ffi::OsStr::new("--entity"),
        path.as_os_str(),
    ])
}

#[test]
fn tf_heartbeat_with_a_non_utf8_path_fails_cleanly_and_stores_nothing() {
    let env = TestEnv::new();
    let out = heartbeat_with_non_utf8_entity(&env);
    assert_eq!(out.status.code(), Some(2), "a usage error: {}", show(&out));
    assert!(
        stderr(&out).contains("UTF-8"),
        "names the problem: {}",
        show(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", show(&out));
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(status["heartbeats"], 0, "nothing stored: {status}");
}

#[test]
fn tf_heartbeat_with_a_non_utf8_path_names_the_flag_and_the_path() {
    let env = TestEnv::new();
    let out = heartbeat_with_non_utf8_entity(&env);
    let err = stderr(&out);
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains("--entity"),
        "the error line names the flag: {}",
        show(&out)
    );
    assert!(
        first.contains("caf"),
        "and shows the path (lossily): {}",
        show(&out)
    );
}

#[test]
fn tf_heartbeat_refuses_bad_values_naming_the_flag() {
    let env = TestEnv::new();
    let future = format!("--time={}", now_secs() + 7200.0);
    let long_project = format!("--project={}", "p".repeat(513));
    let cases: [(&[&str], &[&str]); 5] = [
        (&["--time=-5"], &["--time", "1970"]),
        (&[future.as_str()], &["--time", "future"]),
        (&["--time=NaN"], &["--time", "finite"]),
        (&[long_project.as_str()], &["--project", "513"]),
        (&["--category=sleeping"], &["--category", "sleeping"]),
    ];
    for (extra, needles) in cases {
        let mut args = vec!["heartbeat", "--entity", "/w/a.rs"];
        args.extend_from_slice(extra);
        let out = env.tf(&args);
        assert!(!out.status.success(), "{args:?}: {}", show(&out));
        let err = stderr(&out);
        for needle in needles {
            assert!(
                err.contains(needle),
                "{args:?} should mention {needle}: {}",
                show(&out)
            );
        }
    }
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(status["heartbeats"], 0, "nothing stored: {status}");
}

#[test]
fn import_with_bad_rows_stores_the_good_ones_and_reports_bad_lines() {
    let env = TestEnv::new();
    let t = recent_hour();
    let good = |i: f64| hb(t + i, "/w/imp.rs", "imp", "Rust").to_string();
    let file = env.scratch().join("mixed.jsonl");
    let lines = [
        good(0.0),                                           // 1
        r#"{"time": 1, "entity": "#.to_string(),             // 2: bad JSON
        good(60.0),                                          // 3
        r#"{"time": "soon", "entity": "/w/a"}"#.to_string(), // 4: bad field
        String::new(),                                       // 5: blank
        format!(r#"{{"time": {}}}"#, t + 90.0),              // 6: no entity
        good(120.0),                                         // 7
    ];
    std::fs::write(&file, lines.join("\n") + "\n").expect("write the import file");

    let out = env.tf([std::ffi::OsStr::new("import"), file.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some rows were bad: {}",
        show(&out)
    );
    let err = stderr(&out);
    let name = file.display().to_string();
    let reported: Vec<&str> = err.lines().filter(|l| l.starts_with(&name)).collect();
    assert_eq!(reported.len(), 3, "one line per bad row: {err}");
    assert!(reported[0].starts_with(&format!("{name}:2: ")), "{err}");
    assert!(reported[1].starts_with(&format!("{name}:4: ")), "{err}");
    assert!(reported[1].contains("time"), "names the field: {err}");
    assert!(reported[2].starts_with(&format!("{name}:6: ")), "{err}");
    assert!(reported[2].contains("entity"), "names the field: {err}");
    assert!(err.contains("imported 3 heartbeats"), "{err}");

    let log = env.tf_json(["log", "all", "--json"]);
    let times: Vec<f64> = log
        .as_array()
        .expect("log --json is an array")
        .iter()
        .map(|h| h["time"].as_f64().expect("time"))
        .collect();
    assert_eq!(times, vec![t, t + 60.0, t + 120.0]);
}

#[test]
fn import_of_a_json_array_reports_bad_items_by_their_line() {
    let env = TestEnv::new();
    let t = recent_hour();
    let file = env.scratch().join("array.json");
    let text = format!(
        "[\n  {},\n  {{\"time\": \"x\", \"entity\": \"/w/a\"}},\n  {{\"entity\": \"/w/no-time\"}},\n  {}\n]\n",
        hb(t, "/w/a.rs", "arr", "Rust"),
        hb(t + 60.0, "/w/a.rs", "arr", "Rust"),
    );
    std::fs::write(&file, &text).expect("write the import file");
    let out = env.tf([std::ffi::OsStr::new("import"), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    let name = file.display().to_string();
    assert!(err.contains(&format!("{name}:3: time")), "{text}\n{err}");
    assert!(err.contains(&format!("{name}:4: ")), "{text}\n{err}");
    assert!(err.contains("imported 2 heartbeats"), "{err}");

    // A file that is not JSON at all is refused as a whole, with its line.
    let broken = env.scratch().join("broken.json");
    std::fs::write(&broken, "[\n{\"time\": 1,\n").expect("write");
    let out = env.tf([std::ffi::OsStr::new("import"), broken.as_os_str()]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("line"), "{}", show(&out));
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(status["heartbeats"], 2, "{status}");
}

#[test]
fn import_of_a_pretty_printed_json_array() {
    let env = TestEnv::new();
    let t = recent_hour();
    let items = json!([
        hb(t, "/w/a.rs", "pretty", "Rust"),
        {"entity": "/w/no-time"},
        hb(t + 60.0, "/w/a.rs", "pretty", "Rust"),
    ]);
    // As `jq .` or `json.dump(indent=2)` would write it: each object over several lines.
    let text = serde_json::to_string_pretty(&items).expect("pretty JSON");
    let file = env.scratch().join("pretty.json");
    std::fs::write(&file, &text).expect("write the import file");
    let out = env.tf([std::ffi::OsStr::new("import"), file.as_os_str()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", show(&out));
    let name = file.display().to_string();
    // The bad item's opening brace is on the line before its only field (1-based: the
    // 0-based index of the field's line).
    let bad_line = text
        .lines()
        .position(|l| l.contains("no-time"))
        .expect("the bad item");
    assert!(
        err.contains(&format!("{name}:{bad_line}: ")),
        "{text}\n{err}"
    );
    assert!(err.contains("imported 2 heartbeats"), "{err}");
}

/// Deterministic junk that is certainly not an SQLite file.
fn junk(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_corrupt_database_is_refused_by_name_and_left_untouched() {
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.base).expect("create TIMEFORGED_DIR");
    std::fs::set_permissions(&env.base, std::fs::Permissions::from_mode(0o700))
        .expect("chmod TIMEFORGED_DIR");
    let bytes = junk(64 * 1024);
    std::fs::write(env.database(), &bytes).expect("write a corrupt database");

    let out = env.daemon_cmd().output().expect("run timeforged");
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    let db = env.database().display().to_string();
    assert!(
        err.contains(&db),
        "the error names the file: {}",
        show(&out)
    );
    assert!(
        err.contains("corrupt") || err.contains("not a TimeForged database"),
        "{}",
        show(&out)
    );
    assert!(!env.socket().exists(), "no socket is left behind");
    assert_eq!(
        std::fs::read(env.database()).expect("read the database"),
        bytes,
        "the file is untouched"
    );

    // Through autostart, `tf` relays the reason.
    let out = env.tf(["status"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains(&db), "{}", show(&out));
    assert_eq!(std::fs::read(env.database()).expect("read"), bytes);
}

#[test]
fn a_read_only_database_gives_a_clear_error_and_keeps_its_data() {
    let mut env = TestEnv::new();
    env.start_daemon();
    env.connect()
        .heartbeats(&[hb(recent_hour(), "/w/a.rs", "ro", "Rust")]);
    let status = env.terminate_daemon();
    assert!(status.success(), "{status}");
    let db = env.database();
    let before = std::fs::read(&db).expect("read the database");

    if is_root() {
        // Root ignores permission bits; an immutable file is read-only even for root.
        if !env.make_immutable(&db) {
            skip(
                "running as root and `chattr +i` is unavailable here: cannot make a read-only file",
            );
            return;
        }
    } else {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).expect("chmod 0444");
    }

    let out = env.daemon_cmd().output().expect("run timeforged");
    let name = db.display().to_string();
    if out.status.success() {
        panic!("the daemon ran on a read-only database: {}", show(&out));
    }
    let err = stderr(&out);
    assert!(
        err.contains(&name),
        "the error names the file: {}",
        show(&out)
    );
    assert!(
        err.contains("read-only"),
        "the error says read-only: {}",
        show(&out)
    );
    assert!(!env.socket().exists(), "no socket is left behind");

    if is_root() {
        env.make_mutable(&db);
    } else {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).expect("chmod 0600");
    }
    assert_eq!(std::fs::read(&db).expect("read"), before, "untouched");
    env.start_daemon();
    assert_eq!(env.connect().count(), 1, "the data is intact");
}

/// Lines that an earlier, unrelated failure left in the log: a start error must never be
/// reported with one of these.
const OLD_LOG_LINES: &str = "2020-01-01T00:00:00.000000Z ERROR timeforged: an old error that is not the reason\n\
timeforged: an old failure, not this start's\n";

fn plant_old_log_lines(env: &TestEnv) {
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.log())
        .expect("open the log");
    log.write_all(OLD_LOG_LINES.as_bytes())
        .expect("write old lines into the log");
}

fn assert_no_old_log_line(out: &std::process::Output) {
    let err = stderr(out);
    assert!(
        !err.contains("old error") && !err.contains("old failure") && !err.contains(" INFO "),
        "the reason must be this start's, not a line of the log: {}",
        show(out)
    );
}

/// A read-only bind mount of a directory onto itself, undone on drop.
struct ReadOnlyMount(std::path::PathBuf);

impl ReadOnlyMount {
    fn new(dir: &std::path::Path) -> Option<ReadOnlyMount> {
        let run = |args: &[&std::ffi::OsStr]| {
            Command::new("mount")
                .args(args)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !run(&["--bind".as_ref(), dir.as_os_str(), dir.as_os_str()]) {
            return None;
        }
        let guard = ReadOnlyMount(dir.to_path_buf());
        run(&["-o".as_ref(), "remount,ro,bind".as_ref(), dir.as_os_str()]).then_some(guard)
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn start_on_a_read_only_file_system_says_so_not_an_old_log_line() {
    if !is_root() {
        skip("a read-only file system needs a bind mount, which needs root");
        return;
    }
    let env = TestEnv::new();
    env.tf_ok(["heartbeat", "--entity", "/w/a.rs", "--project", "ro"]);
    env.tf_ok(["daemon", "stop"]);
    plant_old_log_lines(&env);
    {
        let Some(_mount) = ReadOnlyMount::new(&env.base) else {
            skip("`mount --bind` and a read-only remount are not allowed here");
            return;
        };
        let base = env.base.display().to_string();
        let out = env.tf(["status"]);
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        let err = stderr(&out);
        assert!(
            err.contains("read-only file system") && err.contains(&base),
            "names the read-only file system and the directory: {}",
            show(&out)
        );
        assert!(
            err.contains("TIMEFORGED_DIR"),
            "says what to do: {}",
            show(&out)
        );
        assert_no_old_log_line(&out);

        let out = env.daemon_cmd().output().expect("run timeforged");
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        assert!(
            stderr(&out).contains("read-only file system"),
            "{}",
            show(&out)
        );
    }
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(status["heartbeats"], 1, "the data is intact: {status}");
}

#[test]
fn a_database_path_that_is_a_directory_is_named_as_such_not_as_read_only() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.database()).expect("a directory where the database goes");
    std::fs::set_permissions(&env.base, std::fs::Permissions::from_mode(0o700))
        .expect("chmod TIMEFORGED_DIR");
    plant_old_log_lines(&env);
    let db = env.database().display().to_string();
    for out in [
        env.tf(["status"]),
        env.daemon_cmd().output().expect("run timeforged"),
    ] {
        assert!(!out.status.success(), "{}", show(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&db) && err.contains("is a directory"),
            "names the path and the problem: {}",
            show(&out)
        );
        assert!(!err.contains("read-only"), "not read-only: {}", show(&out));
        assert!(
            err.contains("storage.database"),
            "what to do: {}",
            show(&out)
        );
        assert_no_old_log_line(&out);
    }
    assert!(env.database().is_dir(), "left as it was");
    assert!(!env.socket().exists(), "no socket is left behind");
}

/// Runs `cmd` as uid/gid 65534 when the tests run as root (root ignores permission bits, so a
/// 0400 file would not be read-only for it); the instance's files are handed to that user.
fn as_file_owner<'a>(env: &TestEnv, cmd: &'a mut Command) -> &'a mut Command {
    use std::os::unix::process::CommandExt;
    if !is_root() {
        return cmd;
    }
    std::fs::create_dir_all(&env.base).expect("create TIMEFORGED_DIR");
    std::fs::set_permissions(env.scratch(), std::fs::Permissions::from_mode(0o755))
        .expect("let uid 65534 into the temp dir");
    let status = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&env.base)
        .status()
        .expect("run chown");
    assert!(status.success(), "chown -R {}", env.base.display());
    cmd.uid(65534).gid(65534)
}

fn tf_as_owner(env: &TestEnv, args: &[&str]) -> std::process::Output {
    as_file_owner(env, &mut env.tf_cmd(args))
        .output()
        .expect("run tf")
}

fn mode_of(path: &std::path::Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

fn side_file(env: &TestEnv, suffix: &str) -> std::path::PathBuf {
    let mut name = env.database().into_os_string();
    name.push(suffix);
    name.into()
}

#[test]
fn a_0400_database_is_refused_with_the_fix_and_chmod_600_is_enough() {
    let env = TestEnv::new();
    let out = tf_as_owner(
        &env,
        &["heartbeat", "--entity", "/w/a.rs", "--project", "ro"],
    );
    assert!(out.status.success(), "{}", show(&out));
    let out = tf_as_owner(&env, &["daemon", "stop"]);
    assert!(out.status.success(), "{}", show(&out));
    let db = env.database();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).expect("chmod 0400");

    let out = tf_as_owner(&env, &["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = stderr(&out);
    let name = db.display().to_string();
    assert!(
        err.contains(&name) && err.contains("read-only"),
        "names the file and says read-only: {}",
        show(&out)
    );
    assert!(
        err.contains(&format!("chmod 600 {name}")),
        "gives the fix: {}",
        show(&out)
    );
    for suffix in ["-wal", "-shm"] {
        let side = side_file(&env, suffix);
        if let Some(mode) = mode_of(&side) {
            assert_eq!(
                mode & 0o600,
                0o600,
                "{} was left read-only ({mode:o}) by the refused start",
                side.display()
            );
        }
    }

    // The advised fix, and nothing else, makes the next start work.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    let out = tf_as_owner(&env, &["status", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let status: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(status["heartbeats"], 1, "the data is intact: {status}");
}

#[test]
fn side_files_left_read_only_by_an_older_start_are_made_writable_and_their_data_kept() {
    let env = TestEnv::new();
    let t0 = recent_hour();
    let items: String = (0..50)
        .map(|i| format!("{}\n", hb(t0 + f64::from(i), "/w/wal.rs", "wal", "Rust")))
        .collect();
    let file = env.scratch().join("items.jsonl");
    std::fs::write(&file, items).expect("write the import file");
    let out = tf_as_owner(&env, &["import", &file.display().to_string()]);
    assert!(out.status.success(), "{}", show(&out));
    // SIGKILL: the heartbeats stay in the -wal file, not yet in the database file.
    let pid = env.daemon_pid().expect("the daemon runs");
    common::signal(pid, libc::SIGKILL);
    env.wait_until_stopped();
    let wal = side_file(&env, "-wal");
    assert!(
        std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0),
        "the case under test: committed data in {}",
        wal.display()
    );
    // What a start on a 0400 database used to leave behind; then the advised chmod of the
    // database alone.
    for path in [env.database(), wal.clone(), side_file(&env, "-shm")] {
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400))
                .expect("chmod 0400");
        }
    }
    std::fs::set_permissions(env.database(), std::fs::Permissions::from_mode(0o600))
        .expect("chmod 600");

    let out = tf_as_owner(&env, &["status", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let status: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(
        status["heartbeats"], 50,
        "what was in the -wal survives: {status}"
    );
    assert!(
        env.log_text().contains("writable again"),
        "the repair is logged:\n{}",
        env.log_text()
    );
}

/// Set (to the daemon's socket) when this test binary is re-run as the other user.
const PEER_SOCKET: &str = "TF_TEST_PEER_SOCKET";

/// The other user's side of [`another_user_is_refused_and_the_daemon_keeps_serving_its_own`]:
/// sends a heartbeat and prints the answer for the parent to check.
fn peer_client(socket: &std::ffi::OsStr) {
    let mut stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            println!("PEER_CONNECT_ERROR {e}");
            return;
        }
    };
    let t = std::env::var("TF_TEST_PEER_TIME").unwrap_or_default();
    let line = format!(
        r#"{{"v":1,"type":"heartbeats","heartbeats":[{{"time":{t},"entity":"/intruder.rs"}}]}}"#
    );
    let _ = stream.write_all(line.as_bytes());
    let _ = stream.write_all(b"\n");
    let mut answer = String::new();
    let _ = BufReader::new(stream).read_line(&mut answer);
    println!("PEER_ANSWER {}", answer.trim());
}

#[test]
fn another_user_is_refused_and_the_daemon_keeps_serving_its_own() {
    use std::os::unix::process::CommandExt;
    // Re-run of this very test as uid 65534 (below): play the other user and stop there.
    if let Some(socket) = std::env::var_os(PEER_SOCKET) {
        peer_client(&socket);
        return;
    }
    if !is_root() {
        skip("connecting as another user needs root (to run a child as uid 65534)");
        return;
    }
    let (env, mut c) = seeded(3);
    // Open the way on purpose, so that only the peer-uid check stands in between.
    for dir in [env.scratch(), env.base.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    }
    std::fs::set_permissions(env.socket(), std::fs::Permissions::from_mode(0o666))
        .expect("chmod socket");

    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            "another_user_is_refused_and_the_daemon_keeps_serving_its_own",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PEER_SOCKET, env.socket())
        .env("TF_TEST_PEER_TIME", (recent_hour() + 100.0).to_string())
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run the helper as uid 65534");
    let text = String::from_utf8_lossy(&out.stdout);
    let answer = text
        .lines()
        .find_map(|l| l.split_once("PEER_ANSWER ").map(|(_, answer)| answer))
        .unwrap_or_else(|| panic!("the helper got no answer: {}", show(&out)));
    let answer: Value = serde_json::from_str(answer)
        .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {}", show(&out)));
    assert_eq!(answer["type"], "error", "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.contains("permission denied"), "{answer}");

    assert_eq!(c.count(), 3, "the intruder's heartbeat was not stored");
    assert_eq!(env.connect().count(), 3, "the daemon serves its own user");
    assert!(
        env.log_text().contains("another user"),
        "the refusal is logged:\n{}",
        env.log_text()
    );
}
