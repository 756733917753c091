//! Figure 3, report latency on a year of 1,000,000 heartbeats: `tf report year --by project
//! --by language` and `tf status` end to end (spawning `tf`), cold and warm, next to a full
//! ordered scan of the heartbeats table with rusqlite.
//!
//! Run with `cargo bench --bench report` (needs `cargo build --release` for the binaries).

mod common;

use common::data::{YEAR_HEARTBEATS, write_year};
use common::{
    Conn, Home, Row, Table, bins, fail, median, ms, percentile, run, thousands, time_run,
};
use std::time::{Duration, Instant};

/// Timed runs after one warm-up.
const RUNS: usize = 20;
/// The figure's command. `year` is the calendar year to date: it holds most of the data,
/// which covers the 365 days before today.
const REPORT: [&str; 6] = ["report", "year", "--by", "project", "--by", "language"];
/// The same over all 365 days of data.
const REPORT_365D: [&str; 6] = ["report", "365d", "--by", "project", "--by", "language"];

fn main() {
    let bins = bins();
    let home = Home::new(&bins);
    let data = home.path().join("year.jsonl");
    let n = write_year(&data);
    let daemon = home.start_daemon();
    let mut table = Table::new(format!(
        "reports on {} heartbeats over 365 days (release build; p50 / p95 of {RUNS} runs \
         after a warm-up; end to end = spawning tf until it exits)",
        thousands(n as u64)
    ));

    let import = time_run(home.tf(&["import"]).arg(&data));
    eprintln!(
        "  .. tf import: {} (figure 2 is in the footprint bench)",
        ms(import)
    );

    // Right after the import every day's rollup is stale: the first report refreshes them.
    let cold = time_run(&mut home.tf(&REPORT));
    table.push(Row::new(
        "tf report year, first run (stale rollups)",
        ms(cold),
    ));
    let (year_p50, year_p95) = runs(RUNS, || time_run(&mut home.tf(&REPORT)));
    // The goal is read on p95, so that a fast median cannot hide slow runs.
    table.push(
        Row::new(
            "tf report year --by project --by language",
            format!("{} / {}", ms(year_p50), ms(year_p95)),
        )
        .goal("< 150 ms", year_p95 < Duration::from_millis(150)),
    );
    let mut conn = daemon.connect();
    let (socket_p50, _) = runs(RUNS, || {
        on_socket(
            &mut conn,
            r#"{"v":1,"type":"report","range":{"name":"year"},"by":["project","language"]}"#,
            "report",
        )
    });
    table.push(Row::detail(
        "of which the daemon (same request on a socket)",
        ms(socket_p50),
    ));
    let (spawn_p50, _) = runs(RUNS, || time_run(&mut home.tf(&["--version"])));
    table.push(Row::detail(
        "of which starting tf (tf --version)",
        ms(spawn_p50),
    ));

    // The days before 1 January are still stale: the first 365d report refreshes them.
    let cold = time_run(&mut home.tf(&REPORT_365D));
    table.push(Row::new("tf report 365d, first run (rest stale)", ms(cold)));
    let (p50, p95) = runs(RUNS, || time_run(&mut home.tf(&REPORT_365D)));
    table.push(
        Row::new(
            "tf report 365d --by project --by language",
            format!("{} / {}", ms(p50), ms(p95)),
        )
        .goal("< 150 ms", p95 < Duration::from_millis(150)),
    );
    let (in_year, in_365d) = (report_hours(&home, "year"), report_hours(&home, "365d"));
    table.push(Row::detail(
        "credited time in year / in 365d",
        format!("{in_year:.0} h / {in_365d:.0} h"),
    ));

    let (p50, p95) = runs(RUNS, || time_run(&mut home.tf(&["status"])));
    table.push(
        Row::new("tf status", format!("{} / {}", ms(p50), ms(p95)))
            .goal("< 10 ms", p95 < Duration::from_millis(10)),
    );
    let (socket_p50, _) = runs(RUNS, || {
        on_socket(&mut conn, r#"{"v":1,"type":"status"}"#, "status")
    });
    table.push(Row::detail(
        "of which the daemon (same request on a socket)",
        ms(socket_p50),
    ));

    // The baseline: every heartbeat's time, in order, read with plain rusqlite.
    let (scan, _) = runs(5, || full_scan(&home));
    table.push(
        Row::new("full ordered scan with rusqlite (p50 of 5)", ms(scan)).baseline(
            format!("tf report year p50 {}", ms(year_p50)),
            format!(
                "report = {:.1} % of scan",
                year_p50.as_secs_f64() / scan.as_secs_f64() * 100.0
            ),
        ),
    );

    // A restarted daemon: the rollups are fresh, but nothing is in SQLite's cache.
    daemon.stop();
    let daemon = home.start_daemon();
    let first = time_run(&mut home.tf(&REPORT));
    table.push(Row::new(
        "tf report year, first after a daemon restart",
        ms(first),
    ));
    let first = time_run(&mut home.tf(&["status"]));
    table.push(Row::new(
        "tf status, first after a daemon restart",
        ms(first),
    ));
    daemon.stop();
    table.print();
}

/// One warm-up, then `n` timed runs: (p50, p95).
fn runs(n: usize, mut f: impl FnMut() -> Duration) -> (Duration, Duration) {
    f();
    let mut times: Vec<Duration> = (0..n).map(|_| f()).collect();
    (median(&mut times), percentile(&mut times, 95.0))
}

/// One request on an open connection, timed until its answer (of type `kind`) is read.
fn on_socket(conn: &mut Conn, request: &str, kind: &str) -> Duration {
    let started = Instant::now();
    let answer = conn.request(request);
    if !answer.contains(&format!(r#""type":"{kind}""#)) {
        fail(format!("unexpected answer to {kind}: {answer}"));
    }
    started.elapsed()
}

/// Total hours of a range, from `tf report RANGE --json`.
fn report_hours(home: &Home, range: &str) -> f64 {
    let out = run(&mut home.tf(&["report", range, "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| fail(format!("tf report --json printed no JSON: {e}")));
    let hours = v["total_seconds"].as_f64().unwrap_or(0.0) / 3600.0;
    if hours <= 0.0 {
        fail(format!(
            "the {range} report is empty: the data is not where it should be"
        ));
    }
    hours
}

/// Reads every heartbeat's time in order, on its own read-only connection (opened outside the
/// timing, like the daemon's pooled readers).
fn full_scan(home: &Home) -> Duration {
    let conn = rusqlite::Connection::open_with_flags(
        home.database(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap_or_else(|e| fail(format!("opening the database: {e}")));
    let scan = |e: rusqlite::Error| -> ! { fail(format!("scan: {e}")) };
    let started = Instant::now();
    // `user_id = 1` lets SQLite walk the primary key (user_id, time_ms, hash) in order instead
    // of sorting.
    let mut st = conn
        .prepare("SELECT time_ms FROM heartbeats WHERE user_id = 1 ORDER BY time_ms")
        .unwrap_or_else(|e| scan(e));
    let mut rows = st.query([]).unwrap_or_else(|e| scan(e));
    let (mut n, mut sum) = (0usize, 0i64);
    while let Some(r) = rows.next().unwrap_or_else(|e| scan(e)) {
        sum = sum.wrapping_add(r.get::<_, i64>(0).unwrap_or_else(|e| scan(e)));
        n += 1;
    }
    let took = started.elapsed();
    if n != YEAR_HEARTBEATS {
        fail(format!("the scan read {n} rows (checksum {sum})"));
    }
    took
}
