//! Issue 4's second figure: shell events per second the daemon absorbs from 50 shells at once.
//! Each simulated shell behaves like the zsh hook: for every command it opens the spool file in
//! append mode, writes one `start` line, closes; then the same for the `end` line. The daemon
//! consumes the spool as it grows. Baseline in the same run: the same events sent over one
//! socket connection, each answered.
//!
//! Run with `cargo bench --bench shell_events` (needs `cargo build --release`).

mod common;

use common::{Home, Row, Table, bins, fail, per_second, thousands};
use std::io::Write;
use std::time::{Duration, Instant};

const SHELLS: usize = 50;
const COMMANDS_PER_SHELL: usize = 40;

fn event(kind: &str, pid: usize, n: usize, cwd: &str, now: f64) -> String {
    let t = now - 3600.0 + (pid * COMMANDS_PER_SHELL + n) as f64 * 0.01;
    let end = if kind == "end" {
        format!(r#","start":{t},"status":0"#)
    } else {
        String::new()
    };
    format!(
        r#"{{"v":1,"type":"shell","event":"{kind}","shell":"zsh","pid":{pid},"tty":"/dev/pts/{pid}","cwd":"{cwd}","command":"cargo test -p crate{n}","time":{}{end}}}"#,
        if kind == "end" { t + 0.005 } else { t },
    ) + "\n"
}

/// Heartbeats stored, from `tf status --json`.
fn stored(home: &Home) -> u64 {
    let out = common::run(&mut home.tf(&["status", "--json"]));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| fail(format!("status: {e}")));
    v["heartbeats"].as_u64().unwrap_or(0)
}

/// Waits until the daemon has stored `want` heartbeats (the hooks do not wait for answers).
fn wait_for(home: &Home, want: u64) -> Duration {
    let start = Instant::now();
    while stored(home) < want {
        if start.elapsed() > Duration::from_secs(60) {
            fail(format!(
                "only {} of {want} heartbeats stored after 60 s",
                stored(home)
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    start.elapsed()
}

fn main() {
    let bins = bins();
    let home = Home::new(&bins);
    let daemon = home.start_daemon();
    let spool = home.path().join("spool.jsonl");
    let cwd = home.path().display().to_string();
    let now = jiff_now();
    let events = SHELLS * COMMANDS_PER_SHELL * 2;
    // Each finished command is two heartbeats (its start and its end, 5 ms apart).
    let want = (SHELLS * COMMANDS_PER_SHELL * 2) as u64;

    let started = Instant::now();
    let threads: Vec<_> = (0..SHELLS)
        .map(|pid| {
            let (spool, cwd) = (spool.clone(), cwd.clone());
            std::thread::spawn(move || {
                for n in 0..COMMANDS_PER_SHELL {
                    for kind in ["start", "end"] {
                        let mut f = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&spool)
                            .unwrap_or_else(|e| fail(format!("open the spool: {e}")));
                        f.write_all(event(kind, pid, n, &cwd, now).as_bytes())
                            .unwrap_or_else(|e| fail(format!("append: {e}")));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let sent = started.elapsed();
    let settled = wait_for(&home, want);
    let total = started.elapsed();

    // Baseline: the same number of events over one connection, each answered.
    let home2 = Home::new(&bins);
    let daemon2 = home2.start_daemon();
    let mut conn = daemon2.connect();
    let cwd2 = home2.path().display().to_string();
    let t0 = Instant::now();
    for pid in 0..SHELLS {
        for n in 0..COMMANDS_PER_SHELL {
            for kind in ["start", "end"] {
                let answer = conn.request(event(kind, pid, n, &cwd2, now).trim_end());
                if !answer.contains("\"ok\"") {
                    fail(format!("unexpected answer: {answer}"));
                }
            }
        }
    }
    let sequential = t0.elapsed();

    let mut table = Table::new(format!(
        "shell events from {SHELLS} concurrent shells ({} events: start + end of {} commands each; release build)",
        thousands(events as u64),
        COMMANDS_PER_SHELL
    ));
    let concurrent_rate = per_second(events, total);
    let sequential_rate = per_second(events, sequential);
    table.push(
        Row::new(
            "events absorbed, 50 shells appending to the spool",
            format!("{} events/s", thousands(concurrent_rate.round() as u64)),
        )
        .baseline(
            format!(
                "one connection, answered: {} events/s",
                thousands(sequential_rate.round() as u64)
            ),
            format!("{:.2}x", concurrent_rate / sequential_rate),
        ),
    );
    table.push(Row::detail(
        "all events written after",
        format!("{:.0} ms", sent.as_secs_f64() * 1000.0),
    ));
    table.push(Row::detail(
        "all heartbeats stored after",
        format!("{:.0} ms", total.as_secs_f64() * 1000.0),
    ));
    table.push(Row::detail(
        "backlog drained in",
        format!("{:.0} ms", settled.as_secs_f64() * 1000.0),
    ));
    table.push(Row::detail("heartbeats stored", thousands(stored(&home))));
    table.print();
    daemon.stop();
    daemon2.stop();
}

fn jiff_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
