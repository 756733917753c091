//! Sync's figures (issue 11), with real daemons syncing through a real `timeforged serve` on
//! loopback, each in its own `TIMEFORGED_DIR`:
//! - catch-up after 30 days offline: one machine recorded 50,000 heartbeats while it could not
//!   sync; `tf sync now` pushes them all (push throughput of one client), and a second machine
//!   of the same user pulls them all;
//! - 20 machines of 20 users syncing at once against one server, on SQLite and on PostgreSQL;
//! - the idle daemon's CPU with sync on (automatic sync, nothing to send) over 30 s.
//!
//! Run with `cargo bench --bench sync` (needs `cargo build --release` for the binaries).
//! PostgreSQL comes from `TIMEFORGED_TEST_POSTGRES`, as for the tests.

mod common;

use common::web::Postgres;
use common::{
    Daemon, Home, Row, Table, bins, clock_ticks_per_second, fail, heartbeats_request, ms,
    proc_cpu_ticks, rate, run, thousands,
};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

/// Heartbeats of the offline month.
const OFFLINE_HEARTBEATS: usize = 50_000;
const OFFLINE_DAYS: f64 = 30.0;
/// Machines syncing at once, and what each has to push.
const MACHINES: usize = 20;
const PER_MACHINE: usize = 2_500;
/// Heartbeats per socket request while recording.
const BATCH: usize = 1_000;
const IDLE: Duration = Duration::from_secs(30);
const PG_DATABASE: &str = "tf_bench_sync";

fn main() {
    let bins = bins();
    let mut table = Table::new(format!(
        "sync (release build, daemons and timeforged serve on loopback; {} CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));

    let server_home = Home::new(&bins);
    let sqlite_db = server_home.path().join("server.db").display().to_string();
    catch_up(&server_home, &sqlite_db, &mut table);
    many_machines(&server_home, "SQLite", &sqlite_db, &mut table);
    if let Some(pg) = Postgres::create(PG_DATABASE) {
        many_machines(&server_home, "PostgreSQL", &pg.url, &mut table);
    }
    idle_cpu(&server_home, &sqlite_db, &mut table);
    table.print();
}

/// 30 days offline: 50,000 heartbeats recorded, then one `tf sync now` pushes them; a second
/// machine of the same user pulls them.
fn catch_up(server_home: &Home, db: &str, table: &mut Table) {
    let key = server_home.add_user(db, "ana");
    let server = server_home.start_server(db, &[]);
    let laptop = machine(server_home, server.addr, &key, false);
    let laptop_daemon = laptop.start_daemon();
    let now = now_secs();
    let step = OFFLINE_DAYS * 86_400.0 / OFFLINE_HEARTBEATS as f64;
    record(
        &laptop_daemon,
        OFFLINE_HEARTBEATS,
        now - OFFLINE_DAYS * 86_400.0,
        step,
        "m",
    );

    let cpu = |pid: u32| proc_cpu_ticks(pid) as f64 * 1000.0 / clock_ticks_per_second() as f64;
    let (daemon_before, server_before) = (cpu(laptop_daemon.pid()), cpu(server.pid()));
    let (took, moved) = sync_now(&laptop);
    let (daemon_ms, server_ms) = (
        cpu(laptop_daemon.pid()) - daemon_before,
        cpu(server.pid()) - server_before,
    );
    if moved.0 != OFFLINE_HEARTBEATS {
        fail(format!("pushed {} of {OFFLINE_HEARTBEATS}", moved.0));
    }
    table.push(
        Row::new(
            format!(
                "catch-up after {OFFLINE_DAYS} days offline: push {} heartbeats (tf sync now)",
                thousands(OFFLINE_HEARTBEATS as u64)
            ),
            ms(took),
        )
        .goal("< 2 s", took < Duration::from_secs(2)),
    );
    table.push(Row::new(
        "push throughput, one client",
        rate(OFFLINE_HEARTBEATS, took),
    ));
    table.push(Row::detail(
        "CPU of the push: the daemon's, the server's",
        format!("{daemon_ms:.0} ms, {server_ms:.0} ms"),
    ));

    let desktop = machine(server_home, server.addr, &key, false);
    let desktop_daemon = desktop.start_daemon();
    let (took, moved) = sync_now(&desktop);
    if moved.1 < OFFLINE_HEARTBEATS {
        fail(format!("pulled {} of {OFFLINE_HEARTBEATS}", moved.1));
    }
    table.push(
        Row::new(
            format!(
                "catch-up of another machine: pull {} heartbeats",
                thousands(moved.1 as u64)
            ),
            ms(took),
        )
        .goal("< 2 s", took < Duration::from_secs(2)),
    );
    table.push(Row::new("pull throughput, one client", rate(moved.1, took)));
    // Nothing moves the second time: what a timer tick costs when all is in sync.
    let (took, moved) = sync_now(&laptop);
    if moved != (0, 0) {
        fail(format!("a second sync moved {moved:?}"));
    }
    table.push(Row::detail(
        "a sync with nothing to move (tf sync now, end to end)",
        ms(took),
    ));
    laptop_daemon.stop();
    desktop_daemon.stop();
    server.stop();
}

/// `MACHINES` users, one machine each, all running `tf sync now` at the same moment.
fn many_machines(server_home: &Home, backend: &str, db: &str, table: &mut Table) {
    let keys: Vec<String> = (0..MACHINES)
        .map(|i| server_home.add_user(db, &format!("{}-user{i}", backend.to_lowercase())))
        .collect();
    let server = server_home.start_server(db, &[]);
    let now = now_secs();
    let machines: Vec<(Home, Daemon)> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let home = machine(server_home, server.addr, key, false);
            let daemon = home.start_daemon();
            record(&daemon, PER_MACHINE, now - 86_400.0, 30.0, &format!("u{i}"));
            (home, daemon)
        })
        .collect();
    let started = Instant::now();
    let children: Vec<_> = machines
        .iter()
        .map(|(home, _)| {
            home.tf(&["sync", "now", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| fail(format!("tf sync now: {e}")))
        })
        .collect();
    let mut pushed = 0;
    for child in children {
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| fail(format!("tf sync now: {e}")));
        if !out.status.success() {
            fail(format!(
                "tf sync now: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        pushed += moved(&out.stdout).0;
    }
    let took = started.elapsed();
    if pushed != MACHINES * PER_MACHINE {
        fail(format!(
            "{backend}: pushed {pushed} of {}",
            MACHINES * PER_MACHINE
        ));
    }
    table.push(Row::new(
        format!(
            "{backend} server: {MACHINES} machines (20 users) push {} heartbeats each at once",
            thousands(PER_MACHINE as u64)
        ),
        format!("{} ({})", ms(took), rate(pushed, took)),
    ));
    for (_, daemon) in machines {
        daemon.stop();
    }
    server.stop();
}

/// The daemon with automatic sync on and nothing to send, left alone for `IDLE`.
fn idle_cpu(server_home: &Home, db: &str, table: &mut Table) {
    let key = server_home.add_user(db, "idle");
    let server = server_home.start_server(db, &[]);
    let home = machine(server_home, server.addr, &key, true);
    let daemon = home.start_daemon();
    record(&daemon, 100, now_secs() - 3600.0, 10.0, "i");
    // Everything sent, then nothing is due until new data or the timer.
    sync_now(&home);
    std::thread::sleep(Duration::from_secs(3));
    let before = proc_cpu_ticks(daemon.pid());
    std::thread::sleep(IDLE);
    let ticks = proc_cpu_ticks(daemon.pid()) - before;
    table.push(
        Row::new(
            format!("idle daemon with sync on: CPU over {} s", IDLE.as_secs()),
            format!(
                "{ticks} ticks ({:.1} ms at {} ticks/s)",
                ticks as f64 * 1000.0 / clock_ticks_per_second() as f64,
                clock_ticks_per_second()
            ),
        )
        .goal("0 ticks", ticks == 0),
    );
    daemon.stop();
    server.stop();
}

/// A machine's home syncing with the server as the owner of `key`.
fn machine(server_home: &Home, addr: SocketAddr, key: &str, auto: bool) -> Home {
    let home = Home::new(&server_home.bins);
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[http]\nenabled = false\n[sync]\nurl = \"http://{addr}\"\napi_key = {key:?}\nauto = {auto}\n"
        ),
    )
    .unwrap_or_else(|e| fail(format!("writing config.toml: {e}")));
    home
}

/// Records `n` heartbeats `step` seconds apart from `start`, through the socket.
fn record(daemon: &Daemon, n: usize, start: f64, step: f64, tag: &str) {
    let mut conn = daemon.connect();
    let mut items = Vec::with_capacity(BATCH);
    let mut sent = 0;
    while sent < n {
        items.clear();
        for i in sent..(sent + BATCH).min(n) {
            items.push(format!(
                r#"{{"time":{:.3},"entity":"/src/{tag}/p{}/f{}.rs","type":"file","project":"p{}","language":"Rust","branch":"main","is_write":{}}}"#,
                start + i as f64 * step,
                i % 7,
                i % 50,
                i % 7,
                i % 5 == 0
            ));
        }
        let answer = conn.request(&heartbeats_request(&items, "editor"));
        if common::accepted(answer) != items.len() {
            fail(format!("recording: {answer}"));
        }
        sent += items.len();
    }
}

/// `tf sync now --json`: how long it took and (pushed, pulled).
fn sync_now(home: &Home) -> (Duration, (usize, usize)) {
    let mut cmd: Command = home.tf(&["sync", "now", "--json"]);
    let started = Instant::now();
    let out = run(&mut cmd);
    (started.elapsed(), moved(&out.stdout))
}

fn moved(stdout: &[u8]) -> (usize, usize) {
    let v: serde_json::Value =
        serde_json::from_slice(stdout).unwrap_or_else(|e| fail(format!("tf sync now --json: {e}")));
    let n = |k: &str| v[0]["moved"][k].as_u64().unwrap_or(0) as usize;
    (n("pushed"), n("pulled"))
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
