//! The team server's figures, `timeforged serve` on SQLite and on PostgreSQL side by side, over
//! real HTTP on loopback: ingest from 20 concurrent clients, each with its own user and key
//! (25-heartbeat bulk POSTs, as wakatime-cli sends them); WakaTime's `summaries` over a year of
//! 1,000,000 heartbeats of one user — right after the load (stale rollups), after a restart
//! (cold caches) and warm, unfiltered and filtered by `project` and by `branches`; and the
//! server's resident memory, idle (PostgreSQL's own processes aside).
//!
//! PostgreSQL comes from `TIMEFORGED_TEST_POSTGRES` (a role that may create databases, as for
//! the tests); the bench makes the database `tf_bench_server` and drops it at the end.
//!
//! Run with `cargo bench --bench server` (needs `cargo build --release` for the binaries).

mod common;

use common::data::{DAYS, Generator, SEED, YEAR_HEARTBEATS, data_start_ms, utc_date};
use common::store::{dirty_days, wait_for_fresh_rollups};
use common::web::{Client, SUMMARIES_PATH, Server, rss_by_mapping};
use common::{
    Home, Row, Table, bins, clock_ticks_per_second, fail, median, mib, ms, per_second, percentile,
    proc_cpu_ticks, rate, thousands,
};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Concurrent clients of the ingest load, each with its own user and keep-alive connection.
const CLIENTS: usize = 20;
/// Heartbeats per POST in the ingest load (wakatime-cli sends at most 25).
const BULK: usize = 25;
/// Load before the measured window, and the window.
const WARM_UP: Duration = Duration::from_secs(1);
const WINDOW: Duration = Duration::from_secs(5);
/// Heartbeats per POST while loading the year (bodies stay under the 4 MiB limit).
const LOAD_BULK: usize = 8_000;
/// Connections loading the year at once.
const LOADERS: usize = 3;
/// Timed `summaries` requests after one warm-up.
const RUNS: usize = 20;
/// After the last request: the writer idles after 2 s, tokio's idle blocking threads exit after
/// 10 s.
const SETTLE: Duration = Duration::from_secs(15);
/// Distinct heartbeat bodies the ingest load cycles through (each sent with its own time).
const POOL: usize = 20_000;
const MB: f64 = 1e6;
const PG_DATABASE: &str = "tf_bench_server";

/// Every server runs with the data's time zone, and accepts the year's oldest heartbeats
/// (the data starts 365 days before the last midnight).
const SETTINGS: [(&str, &str); 2] = [
    ("TIMEFORGED_SERVER__TIME_ZONE", "UTC"),
    ("TIMEFORGED_HTTP__MAX_HEARTBEAT_AGE_DAYS", "400"),
];

fn main() {
    let bins = bins();
    let pool = Pool::new();
    let mut table = Table::new(format!(
        "team server (timeforged serve, release build, HTTP on loopback; {} CPUs; p50 / p95 of \
         {RUNS} runs after a warm-up)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));

    let home = Home::new(&bins);
    let sqlite_db = home.path().join("server.db").display().to_string();
    let sqlite = measure(&home, "SQLite", &sqlite_db, &pool);
    let postgres = Postgres::create().map(|pg| {
        let m = measure(&home, "PostgreSQL", &pg.url, &pool);
        (pg, m)
    });
    let pg = postgres.as_ref().map(|(_, m)| m);

    // Ingest.
    for m in std::iter::once(&sqlite).chain(pg) {
        let mut row = Row::new(
            format!(
                "{}: ingest, {CLIENTS} clients × {BULK}-heartbeat POSTs",
                m.backend
            ),
            rate(m.ingest.heartbeats, m.ingest.elapsed),
        );
        if m.backend != sqlite.backend {
            row = row.baseline(
                format!(
                    "SQLite {}",
                    rate(sqlite.ingest.heartbeats, sqlite.ingest.elapsed)
                ),
                format!("{:.2}x", m.ingest.per_second() / sqlite.ingest.per_second()),
            );
        }
        table.push(row);
        let mut lat = m.ingest.latencies.clone();
        table.push(Row::detail(
            "latency per POST p50 / p99",
            format!(
                "{} / {}",
                ms(percentile(&mut lat, 50.0)),
                ms(percentile(&mut lat, 99.0))
            ),
        ));
    }
    // The year.
    for m in std::iter::once(&sqlite).chain(pg) {
        table.push(Row::detail(
            format!(
                "{}: loading {} heartbeats of one user",
                m.backend,
                thousands(m.year_heartbeats as u64)
            ),
            format!(
                "{} ({}, {LOAD_BULK} per POST, {LOADERS} connections); rollups fresh {} later",
                ms(m.load),
                rate(m.year_heartbeats, m.load),
                ms(m.refresh)
            ),
        ));
    }
    for m in std::iter::once(&sqlite).chain(pg) {
        let s = &m.summaries.latency;
        let mut row = Row::new(
            format!("{}: summaries over {DAYS} days (1M heartbeats)", m.backend),
            format!("{} / {}", ms(s.p50), ms(s.p95)),
        )
        .goal("< 100 ms", s.p95 < Duration::from_millis(100));
        if m.backend != sqlite.backend {
            row = row.baseline(
                format!("SQLite {}", ms(sqlite.summaries.latency.p50)),
                format!("{:.2}x", ratio(s.p50, sqlite.summaries.latency.p50)),
            );
        }
        table.push(row);
        table.push(Row::detail(
            "first right after the load (stale rollups) / first after a restart",
            format!("{} / {}", ms(m.stale_first), ms(m.restart_first)),
        ));
        for (label, p50) in &m.filtered {
            table.push(Row::detail(
                format!("filtered by {label} (p50)"),
                format!("{} ({:.2}x unfiltered)", ms(*p50), ratio(*p50, s.p50)),
            ));
        }
        table.push(Row::detail(
            "response; the server's CPU per request",
            format!(
                "{:.2} MB of JSON, {:.0} h in all; {}",
                m.body_bytes as f64 / MB,
                m.hours,
                ms(m.summaries.cpu)
            ),
        ));
    }
    if let Some(pg) = pg {
        let same = pg.per_day == sqlite.per_day;
        table.push(Row::detail(
            "SQLite and PostgreSQL give the same per-day totals",
            if same { "yes" } else { "NO" },
        ));
        if !same {
            fail("SQLite and PostgreSQL summaries differ");
        }
    }
    // Memory.
    for m in std::iter::once(&sqlite).chain(pg) {
        table.push(
            Row::new(
                format!(
                    "{}: server RSS idle, after the loads and reports",
                    m.backend
                ),
                mib(m.idle_rss),
            )
            .goal("< 15 MB", (m.idle_rss * 1024) as f64 / MB < 15.0),
        );
        table.push(Row::detail(
            "after start (empty database) / after a restart, idle",
            format!("{} / {}", mib(m.started_rss), mib(m.restart_idle_rss)),
        ));
        table.push(Row::detail(
            "idle, by mapping",
            m.idle_by_mapping
                .iter()
                .map(|(what, kib)| format!("{what} {}", mib(*kib)))
                .collect::<Vec<_>>()
                .join(" · "),
        ));
    }
    table.print();
    drop(postgres);
}

// ---------------------------------------------------------------------------------------------
// One backend

struct Measured {
    backend: &'static str,
    started_rss: u64,
    ingest: Ingest,
    year_heartbeats: usize,
    load: Duration,
    stale_first: Duration,
    refresh: Duration,
    summaries: Summaries,
    filtered: Vec<(String, Duration)>,
    body_bytes: usize,
    hours: f64,
    /// (date, seconds) of every day, to compare the backends.
    per_day: Vec<(String, u64)>,
    idle_rss: u64,
    idle_by_mapping: Vec<(&'static str, u64)>,
    restart_first: Duration,
    restart_idle_rss: u64,
}

struct Latency {
    p50: Duration,
    p95: Duration,
}

/// What a `summaries` over the year cost.
struct Summaries {
    latency: Latency,
    /// The server's CPU per request (the machine is shared: wall time stretches, CPU less).
    cpu: Duration,
}

fn measure(home: &Home, backend: &'static str, db: &str, pool: &Pool) -> Measured {
    eprintln!("  .. {backend}");
    let keys: Vec<String> = (0..CLIENTS)
        .map(|i| home.add_user(db, &format!("dev{i:02}")))
        .collect();
    let year_key = home.add_user(db, "year");
    let server = home.start_server(db, &SETTINGS);
    let started_rss = server.rss_kib();

    let ingest = ingest(&server, &keys, pool);
    eprintln!(
        "  .. {backend}: ingest {}",
        rate(ingest.heartbeats, ingest.elapsed)
    );
    let (year_heartbeats, load) = load_year(&server, &year_key);
    eprintln!("  .. {backend}: year loaded in {}", ms(load));

    let mut client = server.client(&year_key);
    let first = utc_date(data_start_ms());
    let last = utc_date(data_start_ms() + (DAYS - 1) * 86_400_000);
    let year = format!("{SUMMARIES_PATH}?start={first}&end={last}");
    // Right after the load the days are stale (unless the writer refreshed some under load).
    let stale_days = dirty_days(db);
    let stale_first = timed_get(&mut client, &year);
    eprintln!(
        "  .. {backend}: first summaries, {stale_days} days stale: {}",
        ms(stale_first)
    );
    let refresh = wait_for_fresh_rollups(db) + stale_first;

    let body = client.get_ok(&year).to_vec();
    let (hours, per_day) = totals(&body);
    let ticks = proc_cpu_ticks(server.pid());
    let summaries = latency(RUNS, || timed_get(&mut client, &year));
    let cpu = Duration::from_secs_f64(
        (proc_cpu_ticks(server.pid()) - ticks) as f64
            / clock_ticks_per_second() as f64
            / (RUNS + 1) as f64,
    );
    eprintln!(
        "  .. {backend}: summaries {} / {}",
        ms(summaries.p50),
        ms(summaries.p95)
    );
    let (project, branches) = top_project_and_branches(&body);
    let mut filtered = Vec::new();
    for (label, query) in [
        (format!("project={project}"), format!("&project={project}")),
        (
            format!("branches={}", branches.join(",")),
            format!("&branches={}", branches.join(",")),
        ),
    ] {
        let path = format!("{year}{query}");
        let got = totals(client.get_ok(&path)).0;
        if got <= 0.0 || got >= hours {
            fail(format!(
                "{backend}: summaries filtered by {label} gave {got} h of {hours} h"
            ));
        }
        filtered.push((label, latency(RUNS, || timed_get(&mut client, &path)).p50));
    }
    drop(client);

    std::thread::sleep(SETTLE);
    let idle_rss = server.rss_kib();
    let idle_by_mapping = rss_by_mapping(server.pid(), &home.bins.daemon);
    server.stop();

    let server = home.start_server(db, &SETTINGS);
    let restart_first = timed_get(&mut server.client(&year_key), &year);
    std::thread::sleep(SETTLE);
    let restart_idle_rss = server.rss_kib();
    server.stop();

    Measured {
        backend,
        started_rss,
        ingest,
        year_heartbeats,
        load,
        stale_first,
        refresh,
        summaries: Summaries {
            latency: summaries,
            cpu,
        },
        filtered,
        body_bytes: body.len(),
        hours,
        per_day,
        idle_rss,
        idle_by_mapping,
        restart_first,
        restart_idle_rss,
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// One warm-up, then `n` timed runs.
fn latency(n: usize, mut f: impl FnMut() -> Duration) -> Latency {
    f();
    let mut times: Vec<Duration> = (0..n).map(|_| f()).collect();
    Latency {
        p50: median(&mut times),
        p95: percentile(&mut times, 95.0),
    }
}

/// A GET that must answer 200, timed until its whole body is read.
fn timed_get(client: &mut Client, path: &str) -> Duration {
    let started = Instant::now();
    client.get_ok(path);
    started.elapsed()
}

/// Hours in all, and each day's (date, whole seconds), from a `summaries` body.
fn totals(body: &[u8]) -> (f64, Vec<(String, u64)>) {
    let v: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| fail(format!("summaries is not JSON: {e}")));
    let days = v["data"]
        .as_array()
        .unwrap_or_else(|| fail(format!("summaries without data: {v}")))
        .iter()
        .map(|d| {
            (
                d["range"]["date"].as_str().unwrap_or_default().to_string(),
                d["grand_total"]["total_seconds"].as_f64().unwrap_or(0.0) as u64,
            )
        })
        .collect();
    let hours = v["cumulative_total"]["seconds"].as_f64().unwrap_or(0.0) / 3600.0;
    (hours, days)
}

/// The project with the most time in a `summaries` body, and its two branches with the most
/// time (summed over the days).
fn top_project_and_branches(body: &[u8]) -> (String, Vec<String>) {
    let v: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| fail(format!("summaries is not JSON: {e}")));
    let sum = |list: &str| {
        let mut by: std::collections::HashMap<String, f64> = Default::default();
        for day in v["data"].as_array().into_iter().flatten() {
            for item in day[list].as_array().into_iter().flatten() {
                if let Some(name) = item["name"].as_str() {
                    *by.entry(name.to_string()).or_default() +=
                        item["total_seconds"].as_f64().unwrap_or(0.0);
                }
            }
        }
        let mut by: Vec<(String, f64)> = by.into_iter().collect();
        by.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        by.into_iter().map(|(name, _)| name).collect::<Vec<_>>()
    };
    let project = sum("projects")
        .into_iter()
        .next()
        .unwrap_or_else(|| fail("no project in summaries"));
    let branches: Vec<String> = sum("branches").into_iter().take(2).collect();
    if branches.len() < 2 {
        fail("fewer than two branches in summaries");
    }
    (project, branches)
}

// ---------------------------------------------------------------------------------------------
// Loads

/// Heartbeat bodies from the bench data, without their time: what follows `{"time":…` in a
/// generated line.
struct Pool {
    tails: Vec<String>,
    /// Unix ms of the first heartbeat sent by the ingest load (two days ago: well inside the
    /// accepted age, never in the future).
    base_ms: i64,
}

impl Pool {
    fn new() -> Pool {
        let lines = Generator::new(SEED, YEAR_HEARTBEATS, data_start_ms()).take_lines(POOL);
        let tails = lines
            .into_iter()
            .map(|l| match l.find(',') {
                Some(i) if l.starts_with(r#"{"time":"#) => l[i..].to_string(),
                _ => fail(format!("unexpected generated line: {l}")),
            })
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Pool {
            tails,
            base_ms: now - 2 * 86_400_000,
        }
    }

    /// Heartbeats `first..first + n` (heartbeat `k` at `base + k` ms) as a JSON array.
    fn body(&self, out: &mut Vec<u8>, first: u64, n: usize) {
        let mut s = String::with_capacity(n * 420);
        s.push('[');
        for i in 0..n as u64 {
            if i > 0 {
                s.push(',');
            }
            let k = first + i;
            let t = self.base_ms + k as i64;
            let _ = write!(
                s,
                r#"{{"time":{}.{:03}{}"#,
                t / 1000,
                t % 1000,
                self.tails[k as usize % self.tails.len()]
            );
        }
        s.push(']');
        out.clear();
        out.extend_from_slice(s.as_bytes());
    }
}

/// What the ingest load measured in its window.
struct Ingest {
    heartbeats: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Ingest {
    fn per_second(&self) -> f64 {
        per_second(self.heartbeats, self.elapsed)
    }
}

/// Each client POSTs 25-heartbeat bodies as its own user as fast as answers come back;
/// heartbeats answered inside the window are counted.
fn ingest(server: &Server, keys: &[String], pool: &Pool) -> Ingest {
    let stop = AtomicBool::new(false);
    let start = Instant::now() + WARM_UP;
    let end = start + WINDOW;
    let mut out = Ingest {
        heartbeats: 0,
        elapsed: WINDOW,
        latencies: Vec::new(),
    };
    std::thread::scope(|scope| {
        let threads: Vec<_> = keys
            .iter()
            .map(|key| {
                let mut client = server.client(key);
                let stop = &stop;
                scope.spawn(move || {
                    let (mut n, mut k, mut latencies) = (0usize, 0u64, Vec::new());
                    let mut body = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        pool.body(&mut body, k, BULK);
                        k += BULK as u64;
                        let sent = Instant::now();
                        client.post_bulk(&body, BULK);
                        let done = Instant::now();
                        if sent >= start && done <= end {
                            n += BULK;
                            latencies.push(done - sent);
                        }
                        if done > end {
                            break;
                        }
                    }
                    (n, latencies)
                })
            })
            .collect();
        std::thread::sleep(end.saturating_duration_since(Instant::now()));
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            let (n, lat) = t
                .join()
                .unwrap_or_else(|_| fail("an ingest client panicked"));
            out.heartbeats += n;
            out.latencies.extend(lat);
        }
    });
    out
}

/// Sends the year of data as the `year` user: one thread generates bodies, `LOADERS`
/// connections POST them. Returns (heartbeats, time).
fn load_year(server: &Server, key: &str) -> (usize, Duration) {
    let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(LOADERS * 2);
    let rx = Arc::new(Mutex::new(rx));
    let started = Instant::now();
    let senders: Vec<_> = (0..LOADERS)
        .map(|_| {
            let mut client = server.client(key);
            let rx = rx.clone();
            std::thread::spawn(move || {
                loop {
                    let next = rx.lock().ok().and_then(|r| r.recv().ok());
                    let Some((body, n)) = next else { return };
                    client.post_bulk(&body, n);
                }
            })
        })
        .collect();
    let mut generator = Generator::new(SEED, YEAR_HEARTBEATS, data_start_ms());
    let mut total = 0;
    let mut line = String::with_capacity(512);
    loop {
        let mut body = Vec::with_capacity(LOAD_BULK * 420);
        let mut n = 0;
        while n < LOAD_BULK {
            line.clear();
            if !generator.next_into(&mut line) {
                break;
            }
            body.push(if n == 0 { b'[' } else { b',' });
            body.extend_from_slice(line.as_bytes());
            n += 1;
        }
        if n == 0 {
            break;
        }
        body.push(b']');
        total += n;
        if tx.send((body, n)).is_err() {
            fail("the loaders stopped");
        }
    }
    drop(tx);
    for s in senders {
        s.join().unwrap_or_else(|_| fail("a loader panicked"));
    }
    (total, started.elapsed())
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The bench's own database on the server `TIMEFORGED_TEST_POSTGRES` names; dropped at the end
/// (and at the start, should an earlier run have died).
struct Postgres {
    admin: String,
    url: String,
}

impl Postgres {
    fn create() -> Option<Postgres> {
        let Ok(admin) = std::env::var("TIMEFORGED_TEST_POSTGRES") else {
            let msg = "PostgreSQL SKIPPED: set TIMEFORGED_TEST_POSTGRES=postgres://USER:PASS@127.0.0.1/postgres \
                       (a role that may create databases)";
            if std::env::var("TIMEFORGED_REQUIRE_ALL").is_ok_and(|v| v == "1") {
                fail(msg);
            }
            eprintln!("  !! {msg}");
            return None;
        };
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| fail(format!("TIMEFORGED_TEST_POSTGRES: {e}")));
        // Two statements: CREATE DATABASE cannot run in the transaction a batch would be.
        for sql in [
            format!("DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"),
            format!("CREATE DATABASE {PG_DATABASE}"),
        ] {
            c.batch_execute(&sql).unwrap_or_else(|e| {
                fail(format!(
                    "{sql}: {}",
                    e.as_db_error().map_or(e.to_string(), ToString::to_string)
                ))
            });
        }
        let Some((base, _)) = admin.rsplit_once('/') else {
            fail("TIMEFORGED_TEST_POSTGRES must end with /DATABASE")
        };
        Some(Postgres {
            url: format!("{base}/{PG_DATABASE}"),
            admin,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"
            ));
        }
    }
}
