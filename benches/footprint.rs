//! Figures 2 and 4: `tf import` of 1,000,000 heartbeats (JSON lines) into an empty instance,
//! bytes per heartbeat on disk (all files, with the daemon idle, and after it stopped), the
//! daemon's resident memory after start, after the import and reports and after a year of
//! WakaTime `summaries`, and its CPU use while idle — next to a raw rusqlite insert of the same
//! rows.
//!
//! Run with `cargo bench --bench footprint` (needs `cargo build --release` for the binaries).

mod common;

use common::baseline::{self, Commit};
use common::data::{DAYS, data_start_ms, utc_date, write_year};
use common::store::wait_for_fresh_rollups;
use common::web::{SUMMARIES_PATH, rss_by_mapping};
use common::{
    Home, Row, Table, bins, children_cpu, clock_ticks_per_second, database_bytes, fail, mib, ms,
    proc_status_kib, run, thousands, thread_cpu_between, thread_ticks, time_run,
};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the daemon must sit idle without using the CPU.
const IDLE: Duration = Duration::from_secs(30);
/// Time given to the daemon to wind down after the last request, before IDLE starts.
const SETTLE: Duration = Duration::from_secs(15);
/// The goals' MB are decimal; RSS is read in KiB.
const MB: f64 = 1e6;
const RSS_GOAL_MB: f64 = 10.0;
/// Bytes per heartbeat on disk, every file of the database, once the daemon is idle.
const DISK_GOAL: f64 = 70.0;

fn main() {
    let bins = bins();
    let mut table = Table::new(format!(
        "import, disk and memory footprint (release build; CPU ticks are 1/{} s)",
        clock_ticks_per_second()
    ));

    // A daemon on an empty database sits idle while the rest of the bench runs.
    let empty_home = Home::new(&bins);
    let empty = empty_home.start_daemon();
    let empty_rss = empty.rss_kib();
    let (empty_ticks, empty_since) = (empty.cpu_ticks(), Instant::now());

    let scratch = tempfile::tempdir().unwrap_or_else(|e| fail(format!("temp dir: {e}")));
    let data = scratch.path().join("year.jsonl");
    let n = write_year(&data);
    let home = Home::new(&bins);
    // The HTTP API on a free port, for `summaries`.
    std::fs::write(
        home.path().join("config.toml"),
        "[http]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap_or_else(|e| fail(format!("writing config.toml: {e}")));
    let daemon = home.start_daemon();
    let started_rss = daemon.rss_kib();

    // Figure 2: the import, with where its CPU goes.
    let (threads_before, tf_before) = (thread_ticks(daemon.pid()), children_cpu());
    let import = time_run(home.tf(&["import"]).arg(&data));
    let mut import_cpu = thread_cpu_between(&threads_before, &thread_ticks(daemon.pid()));
    import_cpu.insert(0, ("tf".to_string(), children_cpu() - tf_before));
    let imported_rss = daemon.rss_kib();

    // Reports over everything, as a user would run them after an import.
    for args in [
        &["report", "year", "--by", "project", "--by", "language"][..],
        &[
            "report", "all", "--by", "project", "--by", "branch", "--by", "day",
        ],
        &["report", "week", "--by", "entity"],
        &["sessions", "30d"],
        &["status"],
    ] {
        run(&mut home.tf(args));
    }
    let reported_rss = daemon.rss_kib();
    wait_for_fresh_rollups(&home.database().display().to_string());

    // Figure 4. After the last request the daemon winds down once (the writer checks for stale
    // rollups after 2 s, tokio's idle blocking threads exit after 10 s); that is counted on
    // its own. Then, idle for IDLE without a request, it must not wake up at all.
    let ticks = daemon.cpu_ticks();
    std::thread::sleep(SETTLE);
    let settle_ticks = daemon.cpu_ticks() - ticks;
    let ticks = daemon.cpu_ticks();
    std::thread::sleep(IDLE);
    let idle_ticks = daemon.cpu_ticks() - ticks;
    let idle_rss = daemon.rss_kib();
    let peak_rss = daemon.peak_rss_kib();
    let status = |key| proc_status_kib(daemon.pid(), key);
    let (anon, file) = (status("RssAnon"), status("RssFile"));
    let by_mapping = rss_by_mapping(daemon.pid(), &bins.daemon);
    let threads = threads(daemon.pid());
    // Disk with the daemon running and idle: what a user's disk holds day to day.
    let (idle_db, idle_wal, idle_shm) = database_bytes(&home.database());

    // WakaTime's summaries over the year (an editor's dashboard), then idle again.
    let summaries = year_summaries(&home);
    std::thread::sleep(SETTLE);
    let summaries_rss = daemon.rss_kib();
    let empty_idle_ticks = empty.cpu_ticks() - empty_ticks;
    let (empty_idle, empty_idle_rss) = (empty_since.elapsed(), empty.rss_kib());
    empty.stop();

    let stop = daemon.stop();
    let (db, wal, shm) = database_bytes(&home.database());
    checkpoint(&home.database());
    let (db_checkpointed, wal_checkpointed, _) = database_bytes(&home.database());
    let space = space_by_table(&home.database());

    // The baseline: the same rows inserted with plain rusqlite in one transaction.
    let lines: Vec<String> = std::fs::read_to_string(&data)
        .unwrap_or_else(|e| fail(format!("reading {}: {e}", data.display())))
        .lines()
        .map(str::to_string)
        .collect();
    let rows = baseline::prepare(&lines);
    drop(lines);
    let raw_path = scratch.path().join("raw.db");
    let raw_time = baseline::insert(&raw_path, &rows, Commit::Once);
    let (raw_db, raw_wal, _) = database_bytes(&raw_path);
    let raw_bytes = (raw_db + raw_wal) as f64;

    table.push(
        Row::new(
            format!(
                "tf import of {} heartbeats (JSON lines)",
                thousands(n as u64)
            ),
            ms(import),
        )
        .goal("< 5 s", import < Duration::from_secs(5))
        .baseline(
            format!("raw insert, one transaction: {}", ms(raw_time)),
            format!("{:.1}x raw", import.as_secs_f64() / raw_time.as_secs_f64()),
        ),
    );
    let cpu_sum: Duration = import_cpu.iter().map(|c| c.1).sum();
    table.push(Row::detail(
        "CPU by process/thread",
        format!(
            "{} (sum {:.2} s of {:.2} s wall)",
            import_cpu
                .iter()
                .map(|(name, cpu)| format!("{name} {:.2} s", cpu.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" · "),
            cpu_sum.as_secs_f64(),
            import.as_secs_f64()
        ),
    ));

    let idle_bytes = (idle_db + idle_wal + idle_shm) as f64;
    table.push(
        Row::new(
            "bytes per heartbeat on disk, all files, daemon idle",
            format!("{:.1} B", idle_bytes / n as f64),
        )
        .goal(
            format!("< {DISK_GOAL:.0} B"),
            idle_bytes / (n as f64) < DISK_GOAL,
        )
        .baseline(
            format!("raw table: {:.1} B", raw_bytes / n as f64),
            format!("{:.2}x raw", idle_bytes / raw_bytes),
        ),
    );
    table.push(Row::detail(
        "files, daemon idle",
        format!(
            "db {:.1} MB · -wal {:.1} MB · -shm {:.3} MB",
            idle_db as f64 / MB,
            idle_wal as f64 / MB,
            idle_shm as f64 / MB
        ),
    ));
    let per_heartbeat = (db + wal + shm) as f64 / n as f64;
    table.push(
        Row::new(
            "bytes per heartbeat on disk, after the daemon stopped",
            format!("{per_heartbeat:.1} B"),
        )
        .goal("< 100 B", per_heartbeat < 100.0),
    );
    table.push(Row::detail(
        "files after the daemon stopped",
        format!(
            "db {:.1} MB · -wal {:.1} MB · -shm {:.3} MB",
            db as f64 / MB,
            wal as f64 / MB,
            shm as f64 / MB
        ),
    ));
    table.push(Row::detail(
        "after a checkpoint by rusqlite",
        format!(
            "{:.1} B per heartbeat (-wal {:.1} MB)",
            (db_checkpointed + wal_checkpointed) as f64 / n as f64,
            wal_checkpointed as f64 / MB
        ),
    ));
    table.push(Row::detail(
        "by table and index (dbstat)",
        space
            .iter()
            .map(|(name, bytes)| format!("{name} {:.1} B", *bytes as f64 / n as f64))
            .collect::<Vec<_>>()
            .join(" · "),
    ));
    table.push(Row::detail("daemon stop (shutdown to exit)", ms(stop)));

    let under_goal = |kib: u64| (kib * 1024) as f64 / MB < RSS_GOAL_MB;
    table.push(
        Row::new("daemon RSS after start", mib(started_rss))
            .goal("< 10 MB", under_goal(started_rss)),
    );
    table.push(
        Row::new("daemon RSS idle, after import + reports", mib(idle_rss))
            .goal("< 10 MB", under_goal(idle_rss)),
    );
    table.push(Row::detail(
        "RSS right after the import / after the reports / peak",
        format!(
            "{} / {} / {}",
            mib(imported_rss),
            mib(reported_rss),
            mib(peak_rss)
        ),
    ));
    table.push(Row::detail(
        "idle RSS: anonymous / file-backed, threads",
        format!("{} / {}, {threads} threads", mib(anon), mib(file)),
    ));
    table.push(Row::detail(
        "idle RSS by mapping",
        by_mapping
            .iter()
            .map(|(what, kib)| format!("{what} {}", mib(*kib)))
            .collect::<Vec<_>>()
            .join(" · "),
    ));
    table.push(Row::detail(
        "hot code laid out first (src/bin/timeforged.order)",
        link_order_coverage(&bins.daemon),
    ));
    table.push(
        Row::new(
            format!("daemon RSS idle, after summaries over {DAYS} days"),
            mib(summaries_rss),
        )
        .goal("< 10 MB", under_goal(summaries_rss)),
    );
    table.push(Row::detail(
        "the summaries (HTTP, end to end)",
        format!(
            "{} for {:.2} MB of JSON",
            ms(summaries.0),
            summaries.1 as f64 / MB
        ),
    ));
    table.push(
        Row::new(
            format!("idle CPU over {} s, after import + reports", IDLE.as_secs()),
            format!("{idle_ticks} ticks"),
        )
        .goal("0 ticks", idle_ticks == 0),
    );
    table.push(Row::detail(
        format!(
            "winding down in the {} s before (not idle yet)",
            SETTLE.as_secs()
        ),
        format!("{settle_ticks} ticks"),
    ));
    table.push(
        Row::new(
            format!(
                "idle CPU over {} s, empty database from start",
                empty_idle.as_secs()
            ),
            format!("{empty_idle_ticks} ticks"),
        )
        .goal("0 ticks", empty_idle_ticks == 0),
    );
    table.push(Row::detail(
        "RSS of that daemon after start / idle",
        format!("{} / {}", mib(empty_rss), mib(empty_idle_rss)),
    ));
    table.print();
}

/// How many of the functions the link order lists the binary still has: the list names symbols,
/// and a dependency or compiler update renames many (then `benches/link_order.sh` remakes it).
fn link_order_coverage(exe: &Path) -> String {
    let listed = include_str!("../src/bin/timeforged.order");
    let symbols = match std::process::Command::new("nm")
        .args(["--defined-only", "--format=just-symbols"])
        .arg(exe)
        .output()
    {
        Ok(out) if out.status.success() => out.stdout,
        _ => return "unknown (needs nm)".into(),
    };
    let present: std::collections::HashSet<&[u8]> = symbols.split(|&b| b == b'\n').collect();
    let total = listed.lines().count();
    let found = listed
        .lines()
        .filter(|name| present.contains(name.as_bytes()))
        .count();
    format!("{found} of {total} listed functions found")
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

/// Checkpoints the WAL into the database with a read-write connection (the daemon is stopped).
fn checkpoint(db: &Path) {
    let conn = rusqlite::Connection::open(db)
        .unwrap_or_else(|e| fail(format!("opening {}: {e}", db.display())));
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap_or_else(|e| fail(format!("checkpointing {}: {e}", db.display())));
}

/// Bytes per table and index (SQLite's dbstat), largest first; small ones are summed.
fn space_by_table(db: &Path) -> Vec<(String, u64)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| fail(format!("opening {}: {e}", db.display())));
    let query = || -> rusqlite::Result<Vec<(String, u64)>> {
        let mut st = conn.prepare(
            "SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out: Vec<(String, u64)> = rows
            .map(|r| r.map(|(name, bytes)| (name, bytes as u64)))
            .collect::<rusqlite::Result<_>>()?;
        if out.len() > 3 {
            let rest: u64 = out[3..].iter().map(|r| r.1).sum();
            out.truncate(3);
            out.push(("the rest".into(), rest));
        }
        let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        out.push(("free pages".into(), (free * page) as u64));
        Ok(out)
    };
    query().unwrap_or_else(|e| fail(format!("dbstat: {e}")))
}

/// One `summaries` request over the year of data through the daemon's HTTP API: (time, bytes).
fn year_summaries(home: &Home) -> (Duration, usize) {
    let mut client = home.local_api().client();
    let path = format!(
        "{SUMMARIES_PATH}?start={}&end={}",
        utc_date(data_start_ms()),
        utc_date(data_start_ms() + (DAYS - 1) * 86_400_000)
    );
    let started = Instant::now();
    let bytes = client.get_ok(&path).len();
    (started.elapsed(), bytes)
}
