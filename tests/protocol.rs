//! The JSON-lines protocol spoken raw over the Unix socket: handshake, heartbeats with dedup,
//! reports with the reference durations, streamed logs, pipelined requests, and subscriptions.

mod common;

use common::{TestEnv, hb, recent_hour, rfc3339, row_seconds, total};
use serde_json::{Value, json};

#[test]
fn hello_answers_with_version_protocol_and_pid() {
    let mut env = TestEnv::new();
    let pid = env.start_daemon();
    let r = env
        .connect()
        .request(json!({"v": 1, "type": "hello", "client": "test"}));
    assert_eq!(r["type"], "hello", "{r}");
    assert_eq!(r["protocol"], 1, "{r}");
    assert_eq!(r["pid"], pid, "{r}");
    assert!(r["version"].as_str().is_some_and(|v| !v.is_empty()), "{r}");
}

#[test]
fn the_design_reference_case_over_the_socket() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut c = env.connect();
    let t0 = recent_hour();
    let items: Vec<Value> = [0.0, 10.0, 190.0, 200.0]
        .iter()
        .map(|dt| hb(t0 + dt, "/w/ref.rs", "ref", "Rust"))
        .collect();
    let r = c.heartbeats(&items);
    assert_eq!(r["accepted"], 4, "{r}");
    let (from, to) = (rfc3339(t0 - 3600.0), rfc3339(t0 + 3600.0));
    assert_eq!(total(&c.report(&from, &to, &["project"], Some(10))), 200.0);
    assert_eq!(total(&c.report(&from, &to, &["project"], Some(2))), 20.0);
    // The gap must be strictly shorter than the timeout: 180 s with a 3-minute timeout is out.
    assert_eq!(total(&c.report(&from, &to, &[], Some(3))), 20.0);
    assert_eq!(total(&c.report(&from, &to, &[], Some(4))), 200.0);
    let r = c.report(&from, &to, &["project", "entity"], None);
    assert_eq!(row_seconds(&r, "project", "ref"), 200.0, "{r}");
    assert_eq!(row_seconds(&r, "entity", "/w/ref.rs"), 200.0, "{r}");
}

#[test]
fn heartbeats_are_deduplicated_within_and_across_batches() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut c = env.connect();
    let t0 = recent_hour();
    let a = hb(t0, "/w/a.rs", "p", "Rust");
    let b = hb(t0 + 30.0, "/w/a.rs", "p", "Rust");
    // The same instant at sub-millisecond difference is the same heartbeat (ms precision).
    let a_again = hb(t0 + 0.0001, "/w/a.rs", "p", "Rust");
    let r = c.heartbeats(&[a.clone(), b.clone(), a_again]);
    assert_eq!(
        (r["accepted"].as_u64(), r["duplicates"].as_u64()),
        (Some(2), Some(1)),
        "{r}"
    );
    let r = c.heartbeats(&[a.clone(), b]);
    assert_eq!(
        (r["accepted"].as_u64(), r["duplicates"].as_u64()),
        (Some(0), Some(2)),
        "{r}"
    );
    // A different field in the dedup key makes it a different heartbeat.
    let mut other = a;
    other["is_write"] = json!(true);
    let r = c.heartbeats(&[other]);
    assert_eq!(r["accepted"], 1, "{r}");
    assert_eq!(c.count(), 3);
    // An empty batch is fine.
    let r = c.heartbeats(&[]);
    assert_eq!(r["accepted"], 0, "{r}");
}

#[test]
fn log_streams_chunks_then_end_and_includes_intervals_when_asked() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut c = env.connect();
    let t0 = recent_hour();
    // More than one chunk's worth, sent in one request.
    let items: Vec<Value> = (0..5000)
        .map(|i| hb(t0 + f64::from(i) * 0.5, "/w/log.rs", "log", "Rust"))
        .collect();
    let r = c.heartbeats(&items);
    assert_eq!(r["accepted"], 5000, "{r}");
    let r = c.request(json!({"v": 1, "type": "add_interval",
        "interval": {"start": t0 + 3000.0, "end": t0 + 3600.0, "project": "meet", "note": "n"}}));
    assert_eq!(r["type"], "interval_added", "{r}");
    let id = r["id"].clone();

    c.send(&json!({"v": 1, "type": "log", "range": {"name": "all"}}));
    let (mut chunks, mut beats, mut intervals) = (0, Vec::new(), Vec::new());
    loop {
        let r = c.recv();
        match r["type"].as_str() {
            Some("log_chunk") => {
                chunks += 1;
                beats.extend(r["heartbeats"].as_array().cloned().unwrap_or_default());
                intervals.extend(r["intervals"].as_array().cloned().unwrap_or_default());
            }
            Some("end") => break,
            _ => panic!("unexpected in a log stream: {r}"),
        }
    }
    assert!(chunks > 1, "5000 heartbeats come in several chunks");
    assert_eq!(beats.len(), 5000);
    let times: Vec<f64> = beats
        .iter()
        .map(|h| h["time"].as_f64().expect("time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert_eq!(intervals.len(), 1, "{intervals:?}");
    assert_eq!(intervals[0]["id"], id);
    assert_eq!(intervals[0]["project"], "meet");
    assert_eq!(intervals[0]["note"], "n");

    // Same connection, next request: the stream ended cleanly.
    assert_eq!(c.count(), 5000);
    assert_eq!(c.log_all().len(), 5000, "intervals: false leaves them out");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut c = env.connect();
    let t0 = recent_hour();
    let mut batch = String::new();
    for i in 0..20 {
        let h = hb(t0 + f64::from(i) * 60.0, "/w/p.rs", "pipe", "Rust");
        batch.push_str(&json!({"v": 1, "type": "heartbeats", "heartbeats": [h]}).to_string());
        batch.push('\n');
        batch.push_str(r#"{"v":1,"type":"status"}"#);
        batch.push('\n');
    }
    c.send_raw(batch.trim_end().as_bytes());
    for i in 0..20 {
        let stored = c.recv();
        assert_eq!(stored["type"], "stored", "{stored}");
        assert_eq!(stored["accepted"], 1, "{stored}");
        let status = c.recv();
        assert_eq!(status["type"], "status", "{status}");
        assert_eq!(
            status["heartbeats"],
            i + 1,
            "acknowledged means committed and visible: {status}"
        );
    }
}

#[test]
fn sessions_over_the_socket() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut c = env.connect();
    let t0 = recent_hour();
    let mut items: Vec<Value> = (0..=10)
        .map(|i| hb(t0 + f64::from(i) * 60.0, "/w/s.rs", "one", "Rust"))
        .collect();
    // A 20-minute pause (longer than the 15-minute timeout) starts a new session.
    items.extend((0..=5).map(|i| hb(t0 + 1800.0 + f64::from(i) * 60.0, "/w/t.rs", "two", "Rust")));
    c.heartbeats(&items);
    let r = c.request(json!({"v": 1, "type": "sessions",
        "range": {"from": rfc3339(t0 - 60.0), "to": rfc3339(t0 + 3600.0)}}));
    assert_eq!(r["type"], "sessions", "{r}");
    let sessions = r["sessions"].as_array().expect("sessions array");
    assert_eq!(sessions.len(), 2, "{r}");
    assert_eq!(sessions[0]["seconds"], 600.0, "{r}");
    assert_eq!(sessions[0]["project"], "one", "{r}");
    assert_eq!(sessions[1]["seconds"], 300.0, "{r}");
    assert_eq!(sessions[1]["project"], "two", "{r}");
}

#[test]
fn a_subscriber_receives_events_for_stored_heartbeats_and_intervals() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut sub = env.connect();
    let r = sub.request(json!({"v": 1, "type": "subscribe"}));
    assert_eq!(r["type"], "ok", "subscribed: {r}");

    let mut writer = env.connect();
    let t0 = recent_hour();
    let items: Vec<Value> = (0..3)
        .map(|i| hb(t0 + f64::from(i) * 60.0, "/w/e.rs", "ev", "Rust"))
        .collect();
    writer.heartbeats(&items);
    let e = sub.recv();
    assert_eq!(e["type"], "event", "{e}");
    assert_eq!(e["event"], "heartbeats", "{e}");
    assert_eq!(e["count"], 3, "{e}");
    assert_eq!(e["latest_time"], t0 + 120.0, "{e}");

    // Duplicates store nothing and announce nothing: the next event is the interval's.
    writer.heartbeats(&items);
    let r = writer.request(json!({"v": 1, "type": "add_interval",
        "interval": {"start": t0 + 600.0, "end": t0 + 900.0, "project": "ev"}}));
    assert_eq!(r["type"], "interval_added", "{r}");
    let e = sub.recv();
    assert_eq!(e["event"], "interval_added", "no event for duplicates: {e}");
    assert_eq!(e["id"], r["id"], "{e}");

    // `tf heartbeat` from another process reaches the subscriber too.
    env.tf_ok([
        "heartbeat",
        "--entity",
        "/w/from-tf.rs",
        "--time",
        &(t0 + 1000.0).to_string(),
    ]);
    let e = sub.recv();
    assert_eq!(
        (&e["event"], &e["count"]),
        (&json!("heartbeats"), &json!(1)),
        "{e}"
    );

    // When the daemon stops, the subscription ends with the connection.
    let status = env.terminate_daemon();
    assert!(status.success(), "{status}");
    assert!(sub.try_recv().is_none(), "the stream ends on shutdown");
}
