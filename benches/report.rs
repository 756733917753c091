//! Figure 3, report latency on a year of 1,000,000 heartbeats: `tf report year` end to end
//! (spawning `tf`), by project and language, by entity and with a custom `--timeout` (which
//! cannot use the rollups), WakaTime's `summaries` over the year through the daemon's HTTP
//! API (filtered and not), and `tf status` — cold (stale rollups, restarted daemon) and warm —
//! next to a full ordered scan of the heartbeats table with rusqlite.
//!
//! Run with `cargo bench --bench report` (needs `cargo build --release` for the binaries).

mod common;

use common::data::{DAYS, YEAR_HEARTBEATS, data_start_ms, utc_date, write_year};
use common::store::wait_for_fresh_rollups;
use common::web::{Client, SUMMARIES_PATH, reset_peak_rss};
use common::{
    Conn, Daemon, Home, Row, Table, bins, clock_ticks_per_second, fail, median, mib, ms,
    percentile, proc_status_kib, run, thousands, time_run,
};
use std::time::{Duration, Instant};

/// Timed runs after one warm-up.
const RUNS: usize = 20;
/// The figure's command. `year` is the calendar year to date: it holds most of the data,
/// which covers the 365 days before today.
const REPORT: [&str; 7] = [
    "report", "year", "--by", "project", "--by", "language", "--json",
];
/// The same over all 365 days of data.
const REPORT_365D: [&str; 7] = [
    "report", "365d", "--by", "project", "--by", "language", "--json",
];
/// By file: the entity rollup.
const REPORT_ENTITY: [&str; 5] = ["report", "year", "--by", "entity", "--json"];
/// Another timeout than the rollups were computed with: every heartbeat is read.
const REPORT_TIMEOUT: [&str; 9] = [
    "report",
    "year",
    "--by",
    "project",
    "--by",
    "language",
    "--timeout",
    "10",
    "--json",
];

fn main() {
    let bins = bins();
    let home = Home::new(&bins);
    let data = home.path().join("year.jsonl");
    let n = write_year(&data);
    // The HTTP API on a free port, for `summaries`.
    std::fs::write(
        home.path().join("config.toml"),
        "[http]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap_or_else(|e| fail(format!("writing config.toml: {e}")));
    let daemon = home.start_daemon();
    let mut table = Table::new(format!(
        "reports on {} heartbeats over {DAYS} days (release build; p50 / p95 of {RUNS} runs \
         after a warm-up; end to end = spawning tf until it exits)",
        thousands(n as u64)
    ));

    let import = time_run(home.tf(&["import"]).arg(&data));
    eprintln!(
        "  .. tf import: {} (figure 2 is in the footprint bench)",
        ms(import)
    );

    // Right after the import every day's rollup is stale: the first report reads every
    // heartbeat of the range.
    let cold = time_run(&mut home.tf(&REPORT));
    table.push(Row::new(
        "tf report year, first run (stale rollups)",
        ms(cold),
    ));
    let db = home.database().display().to_string();
    let refreshed = wait_for_fresh_rollups(&db);
    table.push(Row::detail(
        "then the idle writer refreshed every day's rollups in",
        ms(refreshed),
    ));

    let (year_p50, year_p95) = runs(RUNS, || time_run(&mut home.tf(&REPORT)));
    // The goal is read on p95, so that a fast median cannot hide slow runs.
    table.push(
        Row::new(
            "tf report year --by project --by language --json",
            format!("{} / {}", ms(year_p50), ms(year_p95)),
        )
        .goal("< 20 ms", year_p95 < Duration::from_millis(20)),
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

    let (p50, p95) = runs(RUNS, || time_run(&mut home.tf(&REPORT_365D)));
    table.push(
        Row::new(
            "tf report 365d --by project --by language --json",
            format!("{} / {}", ms(p50), ms(p95)),
        )
        .goal("< 20 ms", p95 < Duration::from_millis(20)),
    );
    let (in_year, in_365d) = (report_hours(&home, "year"), report_hours(&home, "365d"));
    table.push(Row::detail(
        "credited time in year / in 365d",
        format!("{in_year:.0} h / {in_365d:.0} h"),
    ));

    let (p50, p95) = runs(RUNS, || time_run(&mut home.tf(&REPORT_ENTITY)));
    table.push(
        Row::new(
            "tf report year --by entity --json",
            format!("{} / {}", ms(p50), ms(p95)),
        )
        .baseline(
            format!("by project, language: {}", ms(year_p50)),
            format!("{:.2}x", ratio(p50, year_p50)),
        ),
    );
    let (timeout_p50, timeout_p95) = runs(5, || time_run(&mut home.tf(&REPORT_TIMEOUT)));

    // WakaTime's summaries: one report per day of the year, by every dimension and file.
    let api = home.local_api();
    let mut client = api.client();
    let first = utc_date(data_start_ms());
    let last = utc_date(data_start_ms() + (DAYS - 1) * 86_400_000);
    let year = format!("{SUMMARIES_PATH}?start={first}&end={last}");
    let body = client.get_ok(&year).len();
    let ticks = daemon.cpu_ticks();
    let (summaries_p50, summaries_p95) = runs(RUNS, || timed_get(&mut client, &year));
    let cpu = cpu_per_run(daemon.cpu_ticks() - ticks, RUNS + 1);
    table.push(
        Row::new(
            format!("summaries over {DAYS} days (HTTP, daemon)"),
            format!("{} / {}", ms(summaries_p50), ms(summaries_p95)),
        )
        .goal("< 50 ms", summaries_p95 < Duration::from_millis(50))
        .baseline(
            format!("tf report year p50 {}", ms(year_p50)),
            format!("{:.1}x", ratio(summaries_p50, year_p50)),
        ),
    );
    table.push(Row::detail(
        "response; the daemon's CPU per request (a busy machine stretches the wall time)",
        format!("{:.2} MB of JSON; {}", body as f64 / 1e6, ms(cpu)),
    ));
    let (project, branches) = top_project_and_branches(&home);
    for (label, query) in [
        (format!("project={project}"), format!("&project={project}")),
        (
            format!("branches={}", branches.join(",")),
            format!("&branches={}", branches.join(",")),
        ),
    ] {
        let path = format!("{year}{query}");
        let (p50, _) = runs(RUNS, || timed_get(&mut client, &path));
        table.push(Row::detail(
            format!("filtered by {label} (p50)"),
            format!("{} ({:.2}x unfiltered)", ms(p50), ratio(p50, summaries_p50)),
        ));
    }
    let month = format!(
        "{SUMMARIES_PATH}?start={}&end={last}",
        utc_date(data_start_ms() + (DAYS - 30) * 86_400_000)
    );
    let (month_p50, _) = runs(RUNS, || timed_get(&mut client, &month));
    table.push(Row::detail("over the last 30 days (p50)", ms(month_p50)));
    // Bounded memory: what the daemon's resident memory peaks at while answering, over a year
    // and over a month (the answer itself grows with the range; the reading must not).
    let year_peak = peak_growth(&daemon, || {
        client.get_ok(&year);
    });
    let month_peak = peak_growth(&daemon, || {
        client.get_ok(&month);
    });
    table.push(Row::detail(
        "daemon RSS growth at its peak: year / 30 days",
        format!("{} / {}", mib(year_peak), mib(month_peak)),
    ));

    table.push(
        Row::new(
            "tf report year --timeout 10 (no rollups, p50 / p95 of 5)",
            format!("{} / {}", ms(timeout_p50), ms(timeout_p95)),
        )
        .baseline(
            format!("by project, language: {}", ms(year_p50)),
            format!("{:.1}x", ratio(timeout_p50, year_p50)),
        ),
    );

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
            format!("--timeout 10 {} · year {}", ms(timeout_p50), ms(year_p50)),
            format!(
                "--timeout = {:.1}x scan · year = {:.1} % of scan",
                ratio(timeout_p50, scan),
                ratio(year_p50, scan) * 100.0
            ),
        ),
    );

    // A restarted daemon: the rollups are fresh, but nothing is in SQLite's cache.
    drop(client);
    drop(conn);
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
    let mut client = home.local_api().client();
    let first = timed_get(&mut client, &year);
    table.push(Row::new(
        format!("summaries over {DAYS} days, first after a daemon restart"),
        ms(first),
    ));
    drop(client);
    daemon.stop();
    table.print();
}

/// One warm-up, then `n` timed runs: (p50, p95).
fn runs(n: usize, mut f: impl FnMut() -> Duration) -> (Duration, Duration) {
    f();
    let mut times: Vec<Duration> = (0..n).map(|_| f()).collect();
    (median(&mut times), percentile(&mut times, 95.0))
}

/// CPU time per run from clock ticks spent over `runs` runs.
fn cpu_per_run(ticks: u64, runs: usize) -> Duration {
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second() as f64 / runs as f64)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
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

/// A GET that must answer 200, timed until its whole body is read.
fn timed_get(client: &mut Client, path: &str) -> Duration {
    let started = Instant::now();
    client.get_ok(path);
    started.elapsed()
}

/// How far above its resident memory before `f` the daemon's peak went during `f`, in KiB.
fn peak_growth(daemon: &Daemon, f: impl FnOnce()) -> u64 {
    reset_peak_rss(daemon.pid());
    let before = daemon.rss_kib();
    f();
    proc_status_kib(daemon.pid(), "VmHWM").saturating_sub(before)
}

/// The project with the most time in the year, and its two branches with the most time.
fn top_project_and_branches(home: &Home) -> (String, Vec<String>) {
    let out = run(&mut home.tf(&["report", "365d", "--by", "project", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| fail(format!("tf report --json printed no JSON: {e}")));
    let Some(project) = v["by"]["project"][0]["name"].as_str().map(str::to_string) else {
        fail(format!("no project in {v}"))
    };
    let out = run(&mut home.tf(&[
        "report",
        "365d",
        "--by",
        "branch",
        "--project",
        &project,
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| fail(format!("tf report --json printed no JSON: {e}")));
    let branches: Vec<String> = v["by"]["branch"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .take(2)
        .collect();
    if branches.len() < 2 {
        fail(format!("{project} has fewer than two branches: {v}"));
    }
    (project, branches)
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
