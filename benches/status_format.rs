//! `tf status --format '{today}'` end to end, the line a shell prompt or tmux runs on every
//! redraw (goal: under 3 ms), next to `tf --version` measured in the same run (the cost of
//! starting `tf` at all), on a year of 1,000,000 heartbeats plus a working day today; and with
//! no daemon running (an empty line, never a start).
//!
//! Run with `cargo bench --bench status_format` (needs `cargo build --release`).

mod common;

use common::data::write_year;
use common::{Home, Row, Table, bins, ms, thousands, time_run};
use std::time::{Duration, Instant};

/// Timed runs of each command, interleaved so that the machine's noise hits all of them alike.
const RUNS: usize = 300;
const FORMAT: [&str; 3] = ["status", "--format", "{today}"];
const PROMPT: [&str; 3] = ["status", "--format", "{project} {branch} {today} {running}"];

fn main() {
    let bins = bins();
    let home = Home::new(&bins);
    let data = home.path().join("year.jsonl");
    let n = write_year(&data);
    let daemon = home.start_daemon();
    let import = time_run(home.tf(&["import"]).arg(&data));
    eprintln!("  .. tf import: {}", ms(import));
    let today = working_day(&home);
    // The first status after an import refreshes stale rollups; not what a prompt sees.
    time_run(&mut home.tf(&FORMAT));

    let idle = Home::new(&bins);
    let mut conn = daemon.connect();
    let mut samples: [Vec<Duration>; 7] = Default::default();
    for _ in 0..RUNS {
        samples[0].push(time_run(&mut home.tf(&["--version"])));
        samples[1].push(time_run(&mut home.tf(&FORMAT)));
        samples[2].push(time_run(&mut home.tf(&PROMPT)));
        samples[3].push(time_run(&mut idle.tf(&FORMAT)));
        samples[4].push(time_run(&mut home.tf(&["status"])));
        samples[5].push(time_run(&mut home.tf(&["config", "path"])));
        let started = Instant::now();
        let answer = conn.request(r#"{"v":1,"type":"status"}"#);
        if !answer.contains(r#""type":"status""#) {
            common::fail(format!("unexpected answer to status: {answer}"));
        }
        samples[6].push(started.elapsed());
    }
    if idle.socket().exists() {
        common::fail("tf status --format started a daemon");
    }
    let [version, format, prompt, down, status, config, socket] = samples.map(|mut s| {
        s.sort();
        let at = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
        (at(0.5), at(0.99))
    });
    let pair = |(p50, p99): (Duration, Duration)| format!("{} / {}", ms(p50), ms(p99));

    let mut table = Table::new(format!(
        "tf status --format on {} heartbeats and {today} today (release build; p50 / p99 of \
         {RUNS} interleaved runs; end to end = spawning tf until it exits)",
        thousands(n as u64)
    ));
    table.push(
        Row::new("tf status --format '{today}'", pair(format))
            .goal("< 3 ms", format.0 < Duration::from_millis(3))
            .baseline(
                format!("tf --version {}", pair(version)),
                format!(
                    "+{} at p50 over starting tf",
                    ms(format.0.saturating_sub(version.0))
                ),
            ),
    );
    table.push(Row::detail(
        "of which the daemon (status on an open socket)",
        pair(socket),
    ));
    table.push(Row::detail(
        "of which starting tf and reading the config (tf config path)",
        pair(config),
    ));
    table.push(Row::new(
        "tf status --format '{project} {branch} {today} {running}'",
        pair(prompt),
    ));
    table.push(Row::new(
        "tf status --format '{today}', no daemon (empty line)",
        pair(down),
    ));
    table.push(Row::detail(
        "tf status (full, for comparison)",
        pair(status),
    ));
    table.print();
    daemon.stop();
}

/// Today from midnight (UTC) to now, a heartbeat every 30 s, the last one current: the total
/// the prompt shows is computed from these. Returns how many.
fn working_day(home: &Home) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let start = (now / 86_400.0).floor() * 86_400.0;
    let items: Vec<String> = (0..)
        .map(|i| start + f64::from(i) * 30.0)
        .take_while(|t| *t < now - 1.0)
        .map(|t| {
            format!(
                r#"{{"time":{t},"entity":"/w/prompt/src/main.rs","type":"file","project":"prompt","branch":"main","language":"Rust"}}"#
            )
        })
        .collect();
    let mut conn = common::Conn::connect(&home.socket())
        .unwrap_or_else(|e| common::fail(format!("connect: {e}")));
    for chunk in items.chunks(5000) {
        let answer = conn.request(&common::heartbeats_request(chunk, "editor"));
        if common::accepted(answer) != chunk.len() {
            common::fail(format!("today's heartbeats refused: {answer}"));
        }
    }
    format!("{} heartbeats", thousands(items.len() as u64))
}
