//! Issue 3's figures, the WakaTime-compatible HTTP API under load on loopback: single-heartbeat
//! and 25-heartbeat bulk POSTs to `/api/v1/users/current/heartbeats.bulk` from 8 keep-alive
//! connections, and the latency of `statusbar/today` with a year of data. The same requests
//! (one heartbeat, and the same 25-heartbeat batches) sent over the Unix socket from 8
//! connections are the same-run baseline.
//!
//! The load generator is plain `std::net::TcpStream` with hand-written HTTP/1.1, one thread per
//! connection, each waiting for its answer before sending the next request (as editor plugins
//! do). Every answer is checked: 201 with one `201` entry per heartbeat, and at the end the
//! daemon's heartbeat count must equal what was sent (nothing deduplicated, nothing lost).
//! Under each load the details say where the CPU went in the window: the daemon per thread
//! (/proc/PID/task/*/stat), the load generator, other processes and idle (/proc/stat), since
//! the machine is small and shared.
//!
//! Run with `cargo bench --bench http` (needs `cargo build --release` for the binaries).

mod common;

use common::aw_server::{self, AwServer};
use common::data::{Generator, SEED, YEAR_HEARTBEATS, data_start_ms, write_year};
use common::web::{Client, LocalApi, count};
use common::{
    Conn, Daemon, Home, Row, Table, accepted, bins, clock_ticks_per_second, fail, mib, ms,
    per_second, percent, percentile, proc_cpu_ticks, rate, run, thousands, thread_cpu_between,
    thread_ticks, time_run,
};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Concurrent keep-alive connections (one client thread each).
const CONNECTIONS: usize = 8;
/// Load before the measured window (connections set up, caches warm).
const WARM_UP: Duration = Duration::from_secs(1);
/// The measured window of each load.
const WINDOW: Duration = Duration::from_secs(5);
/// Heartbeats per bulk request.
const BULK: usize = 25;
/// Sequential `statusbar/today` requests timed, after this many untimed.
const STATUSBAR_RUNS: usize = 2_000;
const STATUSBAR_WARM_UP: usize = 200;
/// Distinct heartbeats (entity, project, branch, …) cycled through by the loads; each sent
/// heartbeat also gets its own millisecond, so none is a duplicate of another.
const POOL: usize = 20_000;
/// Sent heartbeats start this long ago (well inside the 365-day limit, never in the future).
const BACK: Duration = Duration::from_secs(2 * 86_400);
/// Today's heartbeats on top of the year: one every this many ms over the day so far.
const TODAY_GAP_MS: i64 = 7_000;
const TODAY_MAX: usize = 4_000;

/// The side-by-side with aw-server-rust: rounds (each runs both, in alternating order) and the
/// window of each load, as the issue measured them (8 connections, 8 s, two rounds).
const ROUNDS: usize = 2;
const SIDE_BY_SIDE_WINDOW: Duration = Duration::from_secs(8);
/// How long a server sits idle after the load before its last RSS reading.
const IDLE_AFTER_LOAD: Duration = Duration::from_secs(10);
const AW_HEARTBEAT_PATH: &str = aw_server::HEARTBEAT_PATH;

const STATUSBAR_PATH: &str = "/api/v1/users/current/statusbar/today";

fn main() {
    let bins = bins();
    let pool = Pool::new();
    // `cargo bench --bench http -- aw single` runs only those sections (cargo adds `--bench`).
    let sections: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| sections.is_empty() || sections.iter().any(|s| s == name);
    let mut table = Table::new(format!(
        "WakaTime HTTP API on loopback (release build; {CONNECTIONS} keep-alive connections, \
         {:.0} s measured after {:.0} s of warm-up; {} CPUs)",
        WINDOW.as_secs_f64(),
        WARM_UP.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));

    // (0) Side by side with aw-server-rust, when a binary of it is given.
    match std::env::var_os("AW_SERVER") {
        Some(aw) if wanted("aw") => side_by_side(&bins, &pool, Path::new(&aw), &mut table),
        Some(_) => {}
        None => eprintln!(
            "  .. AW_SERVER is not set: no side-by-side with aw-server-rust \
             (AW_SERVER=/path/to/aw-server cargo bench --bench http)"
        ),
    }

    // (1) One heartbeat per POST, and the same requests over the socket.
    if wanted("single") {
        let single = ingest(&bins, &pool, Sender::Http, 1);
        let single_socket = ingest(&bins, &pool, Sender::Socket, 1);
        let (single_rate, single_socket_rate) = (
            per_second(single.heartbeats, single.elapsed),
            per_second(single_socket.heartbeats, single_socket.elapsed),
        );
        table.push(
            Row::new(
                "single-heartbeat POSTs",
                rate(single.heartbeats, single.elapsed),
            )
            .goal("> 12,000 hb/s", single_rate > 12_000.0)
            .baseline(
                format!(
                    "socket, same requests: {}",
                    rate(single_socket.heartbeats, single_socket.elapsed)
                ),
                format!("HTTP = {}", percent(single_rate / single_socket_rate)),
            ),
        );
        table.push(single.latency_row("latency per request p50 / p99"));
        single.details(&mut table);
        table.push(single_socket.latency_row("socket, single: latency p50 / p99"));
        single_socket.details(&mut table);
    }

    // (2) 25 heartbeats per POST, and the same batches over the socket.
    if wanted("bulk") {
        let bulk = ingest(&bins, &pool, Sender::Http, BULK);
        let socket = ingest(&bins, &pool, Sender::Socket, BULK);
        let (bulk_rate, socket_rate) = (
            per_second(bulk.heartbeats, bulk.elapsed),
            per_second(socket.heartbeats, socket.elapsed),
        );
        table.push(
            Row::new(
                format!("{BULK}-heartbeat bulk POSTs"),
                rate(bulk.heartbeats, bulk.elapsed),
            )
            .goal("> 80,000 hb/s", bulk_rate > 80_000.0)
            .baseline(
                format!(
                    "socket, same batches: {}",
                    rate(socket.heartbeats, socket.elapsed)
                ),
                format!("HTTP = {}", percent(bulk_rate / socket_rate)),
            ),
        );
        table.push(bulk.latency_row("latency per request p50 / p99"));
        bulk.details(&mut table);
        table.push(socket.latency_row("socket, bulk: latency p50 / p99"));
        socket.details(&mut table);
    }

    // (3) statusbar/today on a year of data.
    if wanted("statusbar") {
        statusbar(&bins, &pool, &mut table);
    }
    table.print();
}

// ---------------------------------------------------------------------------------------------
// Heartbeats

/// Heartbeat bodies from the bench data, without their time: each is what follows
/// `{"time":…` in a generated line (`,"entity":…}`).
struct Pool {
    tails: Vec<String>,
    /// The same heartbeats as the `data` of an ActivityWatch editor event
    /// (`{"file":…,"project":…,"language":…}`, what aw-watcher-vim sends).
    aw_data: Vec<String>,
    /// Unix ms of the first sent heartbeat.
    base_ms: i64,
}

impl Pool {
    fn new() -> Pool {
        let lines = Generator::new(SEED, YEAR_HEARTBEATS, data_start_ms()).take_lines(POOL);
        let aw_data = lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| fail(format!("generated a bad line ({e}): {l}")));
                serde_json::json!({
                    "file": v["entity"],
                    "project": v["project"],
                    "language": v["language"],
                })
                .to_string()
            })
            .collect();
        let tails = lines
            .into_iter()
            .map(|l| match l.find(',') {
                Some(i) if l.starts_with(r#"{"time":"#) => l[i..].to_string(),
                _ => fail(format!("unexpected generated line: {l}")),
            })
            .collect();
        Pool {
            tails,
            aw_data,
            base_ms: now_ms() - BACK.as_millis() as i64,
        }
    }

    /// Appends heartbeat `k` (unique time `base + k` ms) as a JSON object.
    fn write(&self, out: &mut String, k: u64) {
        let t = self.base_ms + k as i64;
        self.write_at(out, t, k as usize);
    }

    fn write_at(&self, out: &mut String, t_ms: i64, k: usize) {
        let _ = write!(
            out,
            r#"{{"time":{}.{:03}{}"#,
            t_ms / 1000,
            t_ms % 1000,
            self.tails[k % self.tails.len()]
        );
    }

    /// Heartbeats `first..first + n` as a JSON array (the HTTP body).
    fn array(&self, out: &mut String, first: u64, n: usize) {
        out.push('[');
        for i in 0..n as u64 {
            if i > 0 {
                out.push(',');
            }
            self.write(out, first + i);
        }
        out.push(']');
    }

    /// Heartbeat `k` as an ActivityWatch event (`POST /api/0/buckets/…/heartbeat`): the same
    /// time, file, project and language.
    fn aw_event(&self, out: &mut String, k: u64) {
        let t = self.base_ms + k as i64;
        let stamp =
            jiff::Timestamp::from_millisecond(t).unwrap_or_else(|e| fail(format!("time {t}: {e}")));
        let _ = write!(
            out,
            r#"{{"timestamp":"{stamp}","duration":0,"data":{}}}"#,
            self.aw_data[k as usize % self.aw_data.len()]
        );
    }

    /// The same heartbeats as one socket-protocol request line.
    fn socket_line(&self, out: &mut String, first: u64, n: usize) {
        out.push_str(r#"{"v":1,"type":"heartbeats","heartbeats":"#);
        self.array(out, first, n);
        out.push('}');
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// ---------------------------------------------------------------------------------------------
// A daemon with the HTTP API on a free port

struct Api {
    daemon: Daemon,
    http: LocalApi,
}

/// The database of a bench daemon: in a directory of its own, as in a default install (data
/// dir `~/.local/share/timeforged`, spool and log in the state dir `~/.local/state/timeforged`).
/// With everything in one `TIMEFORGED_DIR`, every database write also wakes the spool's
/// directory watch, which no user's daemon pays.
fn database(home: &Home) -> std::path::PathBuf {
    home.path().join("data").join("timeforged.db")
}

fn start_api(home: &Home) -> Api {
    // The default port (9113) may be taken; 0 picks a free one.
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[storage]\ndatabase = {:?}\n",
            database(home).display().to_string()
        ),
    )
    .unwrap_or_else(|e| fail(format!("writing config.toml: {e}")));
    let daemon = home.start_daemon();
    let http = home.local_api();
    Api { daemon, http }
}

impl Api {
    fn client(&self) -> Client {
        workstation(self.http.client())
    }
}

/// Requests name their machine, as editor plugins do.
fn workstation(client: Client) -> Client {
    client.with_header("X-Machine-Name", "workstation")
}

fn socket_addr(addr: &str) -> std::net::SocketAddr {
    addr.parse()
        .unwrap_or_else(|e| fail(format!("{addr:?} is not an address: {e}")))
}

fn status_json(home: &Home) -> serde_json::Value {
    let out = run(&mut home.tf(&["status", "--json"]));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| fail(format!("tf status --json printed no JSON: {e}")))
}

impl Client {
    /// POSTs one event to aw-server-rust's heartbeat endpoint and checks for 200 and the event
    /// as stored (merged or inserted: it has an id).
    fn post_aw_heartbeat(&mut self, body: &str) {
        let (status, answer) = self.exchange("POST", AW_HEARTBEAT_PATH, Some(body.as_bytes()));
        if status != 200 || count(answer, b"\"id\":") != 1 {
            fail(format!(
                "aw-server: POST {AW_HEARTBEAT_PATH} answered {status}: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(2000)])
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loads

#[derive(Clone, Copy, PartialEq)]
enum Sender {
    Http,
    Socket,
}

/// What one load measured in its window.
struct Load {
    label: String,
    heartbeats: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// The daemon's CPU per thread name in the window.
    daemon_cpu: Vec<(String, Duration)>,
    /// This bench's CPU (the load generator) in the window.
    client_cpu: Duration,
    per_request: usize,
    /// The whole machine's CPU in the window.
    machine: MachineCpu,
}

impl Load {
    fn latency_row(&self, label: &str) -> Row {
        let mut lat = self.latencies.clone();
        Row::detail(
            label,
            format!(
                "{} / {}",
                ms(percentile(&mut lat, 50.0)),
                ms(percentile(&mut lat, 99.0))
            ),
        )
    }

    fn details(&self, table: &mut Table) {
        let secs = |d: Duration| d.as_secs_f64();
        let daemon: Duration = self.daemon_cpu.iter().map(|c| c.1).sum();
        let m = &self.machine;
        let others = m
            .busy
            .saturating_sub(daemon)
            .saturating_sub(self.client_cpu)
            .saturating_sub(m.softirq_steal);
        table.push(Row::detail(
            format!("{}: CPU in the window", self.label),
            format!(
                "daemon {:.2} s ({:.0} µs/hb) · load generator {:.2} s · other processes {:.2} s · \
                 softirq+steal {:.2} s · idle {:.2} s, of {:.2} s ({:.1} s wall × {} CPUs)",
                secs(daemon),
                secs(daemon) * 1e6 / self.heartbeats.max(1) as f64,
                secs(self.client_cpu),
                secs(others),
                secs(m.softirq_steal),
                secs(m.total.saturating_sub(m.busy)),
                secs(m.total),
                secs(self.elapsed),
                m.cpus
            ),
        ));
        let requests = (self.heartbeats / self.per_request).max(1) as f64;
        let per_request = |d: Duration| secs(d) * 1e6 / requests;
        let busiest = self.daemon_cpu.first().map_or(0.0, |c| per_request(c.1));
        table.push(Row::detail(
            format!("{}: daemon CPU by thread", self.label),
            format!(
                "{} → the busiest alone caps at {} hb/s",
                self.daemon_cpu
                    .iter()
                    .map(|(name, cpu)| format!(
                        "{name} {:.2} s ({:.0} µs/request)",
                        secs(*cpu),
                        per_request(*cpu)
                    ))
                    .collect::<Vec<_>>()
                    .join(" · "),
                thousands((1e6 / busiest.max(1e-3) * self.per_request as f64).round() as u64)
            ),
        ));
    }
}

/// Runs [`CONNECTIONS`] senders of `per_request` heartbeats each on a fresh daemon for
/// [`WARM_UP`] + [`WINDOW`]; counts the heartbeats acknowledged inside the window.
fn ingest(bins: &common::Bins, pool: &Pool, sender: Sender, per_request: usize) -> Load {
    let label = match (sender, per_request) {
        (Sender::Socket, 1) => "socket, single",
        (Sender::Socket, _) => "socket, bulk",
        (Sender::Http, 1) => "single",
        (Sender::Http, _) => "bulk",
    };
    let home = Home::new(bins);
    let api = start_api(&home);
    let (load, sent) = match sender {
        Sender::Http => drive(
            label,
            api.daemon.pid(),
            per_request,
            WINDOW,
            &|| api.client(),
            &|http: &mut Client, body: &mut String, first: u64| {
                pool.array(body, first, per_request);
                http.post_bulk(body.as_bytes(), per_request);
            },
        ),
        Sender::Socket => drive(
            label,
            api.daemon.pid(),
            per_request,
            WINDOW,
            &|| api.daemon.connect(),
            &|conn: &mut Conn, body: &mut String, first: u64| {
                pool.socket_line(body, first, per_request);
                let stored = accepted(conn.request(body));
                if stored != per_request {
                    fail(format!("{stored} of {per_request} heartbeats stored"));
                }
            },
        ),
    };
    check_stored(&home, label, sent);
    api.daemon.stop();
    load
}

/// Every heartbeat sent must be stored once: none deduplicated, none lost.
fn check_stored(home: &Home, label: &str, sent: u64) {
    let stored = status_json(home)["heartbeats"].as_u64().unwrap_or(0);
    if stored != sent {
        fail(format!(
            "{label}: sent {sent} distinct heartbeats but the daemon holds {stored}"
        ));
    }
}

/// Runs [`CONNECTIONS`] threads against the server `pid`, each with its own connection from
/// `connect`, each calling `send` (which sends one request of `per_request` heartbeats
/// numbered from `first`, and checks the answer) until stopped, for [`WARM_UP`] + `window`.
/// Returns what the window measured, and how many heartbeats were sent in all.
fn drive<C>(
    label: &str,
    pid: u32,
    per_request: usize,
    window: Duration,
    connect: &(dyn Fn() -> C + Sync),
    send: &(dyn Fn(&mut C, &mut String, u64) + Sync),
) -> (Load, u64) {
    let next = AtomicU64::new(0);
    let measuring = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let (next, measuring, stop) = (&next, &measuring, &stop);
    let (heartbeats, latencies, elapsed, window_cpu) = std::thread::scope(|s| {
        let threads: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                s.spawn(move || {
                    let mut conn = connect();
                    let mut body = String::with_capacity(per_request * 600 + 100);
                    let mut latencies = Vec::with_capacity(1 << 16);
                    let mut counted = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let first = next.fetch_add(per_request as u64, Ordering::Relaxed);
                        body.clear();
                        let started = Instant::now();
                        send(&mut conn, &mut body, first);
                        let took = started.elapsed();
                        if measuring.load(Ordering::Relaxed) {
                            counted += per_request;
                            latencies.push(took);
                        }
                    }
                    (counted, latencies)
                })
            })
            .collect();
        std::thread::sleep(WARM_UP);
        let before = Ticks::now(pid);
        let started = Instant::now();
        measuring.store(true, Ordering::Relaxed);
        std::thread::sleep(window);
        measuring.store(false, Ordering::Relaxed);
        let elapsed = started.elapsed();
        let after = Ticks::now(pid);
        stop.store(true, Ordering::Relaxed);
        let mut heartbeats = 0;
        let mut latencies = Vec::new();
        for t in threads {
            let (n, l) = t
                .join()
                .unwrap_or_else(|_| fail("a sender thread panicked"));
            heartbeats += n;
            latencies.extend(l);
        }
        (heartbeats, latencies, elapsed, (before, after))
    });
    let sent = next.load(Ordering::Relaxed);
    let (before, after) = window_cpu;
    let tick = clock_ticks_per_second() as f64;
    let secs = |t: u64| Duration::from_secs_f64(t as f64 / tick);
    let load = Load {
        label: label.to_string(),
        heartbeats,
        elapsed,
        latencies,
        daemon_cpu: thread_cpu_between(&before.daemon, &after.daemon),
        client_cpu: secs(after.client - before.client),
        per_request,
        machine: MachineCpu::between(&before.machine, &after.machine),
    };
    eprintln!(
        "  .. {label}: {} in {} ({} sent in all)",
        rate(load.heartbeats, load.elapsed),
        ms(load.elapsed),
        thousands(sent)
    );
    (load, sent)
}

/// CPU readings at one moment.
struct Ticks {
    daemon: std::collections::BTreeMap<String, u64>,
    client: u64,
    machine: MachineTicks,
}

impl Ticks {
    fn now(pid: u32) -> Ticks {
        Ticks {
            daemon: thread_ticks(pid),
            client: proc_cpu_ticks(std::process::id()),
            machine: MachineTicks::now(),
        }
    }
}

/// The `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal.
struct MachineTicks([u64; 8]);

impl MachineTicks {
    fn now() -> MachineTicks {
        let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let mut f = [0; 8];
        if let Some(cpu) = text.lines().find(|l| l.starts_with("cpu ")) {
            for (slot, v) in f.iter_mut().zip(cpu.split_whitespace().skip(1)) {
                *slot = v.parse().unwrap_or(0);
            }
        }
        MachineTicks(f)
    }
}

/// The machine's CPU between two readings, summed over all CPUs.
struct MachineCpu {
    /// Everything but idle and iowait.
    busy: Duration,
    total: Duration,
    /// Interrupt, softirq (loopback TCP is partly processed there) and hypervisor steal time,
    /// which belong to no process.
    softirq_steal: Duration,
    cpus: usize,
}

impl MachineCpu {
    fn between(before: &MachineTicks, after: &MachineTicks) -> MachineCpu {
        let d: Vec<u64> = after
            .0
            .iter()
            .zip(before.0)
            .map(|(a, b)| a.saturating_sub(b))
            .collect();
        let tick = clock_ticks_per_second() as f64;
        let secs = |t: u64| Duration::from_secs_f64(t as f64 / tick);
        let total: u64 = d.iter().sum();
        MachineCpu {
            busy: secs(total - d[3] - d[4]),
            total: secs(total),
            softirq_steal: secs(d[5] + d[6] + d[7]),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}
// ---------------------------------------------------------------------------------------------
// Side by side with aw-server-rust

/// Resident memory of a server at three moments, in KiB.
struct Memory {
    /// Started and quiet, before any load.
    idle: u64,
    /// Right after the load stopped.
    loaded: u64,
    /// After [`IDLE_AFTER_LOAD`] without requests.
    rested: u64,
}

impl Memory {
    fn text(&self) -> String {
        format!(
            "{} / {} / {}",
            mib(self.idle),
            mib(self.loaded),
            mib(self.rested)
        )
    }
}

/// One server's run in one round.
struct Run {
    load: Load,
    memory: Memory,
}

impl Run {
    fn requests_per_second(&self) -> f64 {
        per_second(
            self.load.heartbeats / self.load.per_request,
            self.load.elapsed,
        )
    }
}

/// The issue's comparison: single-heartbeat POSTs from [`CONNECTIONS`] keep-alive connections,
/// TimeForged (acknowledging after the commit) against aw-server-rust (acknowledging before
/// its batched commit), the same heartbeats in the same order, [`ROUNDS`] rounds alternating
/// which goes first; and each one's RSS before, right after and a while after the load.
fn side_by_side(bins: &common::Bins, pool: &Pool, aw: &Path, table: &mut Table) {
    if !aw.is_file() {
        fail(format!(
            "AW_SERVER={} is not a file: build aw-server-rust (cargo build --release in its \
             repository) and give the path of target/release/aw-server",
            aw.display()
        ));
    }
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let (tf, aw) = if round % 2 == 1 {
            let tf = timeforged_run(bins, pool, round);
            (tf, aw_run(aw, pool, round))
        } else {
            let aw = aw_run(aw, pool, round);
            (timeforged_run(bins, pool, round), aw)
        };
        rounds.push((tf, aw));
    }
    for (i, (tf, aw)) in rounds.iter().enumerate() {
        let ratio = tf.requests_per_second() / aw.requests_per_second().max(1e-9);
        table.push(
            Row::new(
                format!("round {}: single-heartbeat POSTs, TimeForged", i + 1),
                format!(
                    "{} req/s",
                    thousands(tf.requests_per_second().round() as u64)
                ),
            )
            .goal("≥ 1.2 × aw-server-rust", ratio >= 1.2)
            .baseline(
                format!(
                    "aw-server-rust: {} req/s",
                    thousands(aw.requests_per_second().round() as u64)
                ),
                format!("{ratio:.2} ×"),
            ),
        );
        table.push(tf.load.latency_row("TimeForged latency p50 / p99"));
        table.push(aw.load.latency_row("aw-server-rust latency p50 / p99"));
        tf.load.details(table);
        aw.load.details(table);
    }
    let idle = IDLE_AFTER_LOAD.as_secs();
    for (i, (tf, aw)) in rounds.iter().enumerate() {
        table.push(Row::detail(
            format!("round {}: RSS idle / after load / {idle} s later", i + 1),
            format!(
                "TimeForged {} · aw-server-rust {}",
                tf.memory.text(),
                aw.memory.text()
            ),
        ));
    }
}

fn timeforged_run(bins: &common::Bins, pool: &Pool, round: usize) -> Run {
    let home = Home::new(bins);
    let api = start_api(&home);
    let pid = api.daemon.pid();
    wait_for_idle(pid);
    let idle = api.daemon.rss_kib();
    let (load, sent) = drive(
        &format!("round {round}, TimeForged"),
        pid,
        1,
        SIDE_BY_SIDE_WINDOW,
        &|| api.client(),
        &|http: &mut Client, body: &mut String, first: u64| {
            pool.array(body, first, 1);
            http.post_bulk(body.as_bytes(), 1);
        },
    );
    let loaded = api.daemon.rss_kib();
    std::thread::sleep(IDLE_AFTER_LOAD);
    let rested = api.daemon.rss_kib();
    check_stored(&home, "TimeForged", sent);
    api.daemon.stop();
    Run {
        load,
        memory: Memory {
            idle,
            loaded,
            rested,
        },
    }
}

fn aw_run(binary: &Path, pool: &Pool, round: usize) -> Run {
    let server = AwServer::start(binary);
    let pid = server.pid();
    wait_for_idle(pid);
    let idle = server.rss_kib();
    let (load, sent) = drive(
        &format!("round {round}, aw-server-rust"),
        pid,
        1,
        SIDE_BY_SIDE_WINDOW,
        &|| workstation(Client::to(socket_addr(&server.addr), None)),
        &|http: &mut Client, body: &mut String, first: u64| {
            pool.aw_event(body, first);
            http.post_aw_heartbeat(body);
        },
    );
    let loaded = server.rss_kib();
    std::thread::sleep(IDLE_AFTER_LOAD);
    let rested = server.rss_kib();
    eprintln!(
        "  .. aw-server-rust holds {} events for {} heartbeats sent (it merges a heartbeat \
         into the event before when their data is the same)",
        thousands(server.event_count()),
        thousands(sent)
    );
    server.stop();
    Run {
        load,
        memory: Memory {
            idle,
            loaded,
            rested,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// statusbar/today on a year of data

fn statusbar(bins: &common::Bins, pool: &Pool, table: &mut Table) {
    let home = Home::new(bins);
    let data = home.path().join("year.jsonl");
    let n = write_year(&data);
    let api = start_api(&home);

    // The year ends at the last UTC midnight; add today so far, as an editor would have sent
    // it (one heartbeat every few seconds from the later of midnight and 8 h ago).
    let zone = status_json(&home)["timezone"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    let tz = jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let midnight = jiff::ZonedDateTime::new(jiff::Timestamp::now(), tz)
        .start_of_day()
        .map_or(0, |z| z.timestamp().as_millisecond());
    let end = now_ms() - 60_000;
    let start = midnight.max(end - 8 * 3_600_000);
    let today = usize::try_from((end - start) / TODAY_GAP_MS)
        .unwrap_or(0)
        .min(TODAY_MAX);
    let mut lines = String::new();
    for i in 0..today {
        pool.write_at(&mut lines, start + i as i64 * TODAY_GAP_MS, i);
        lines.push('\n');
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&data)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .unwrap_or_else(|e| fail(format!("appending today's heartbeats: {e}")));

    let import = time_run(home.tf(&["import"]).arg(&data));
    eprintln!(
        "  .. tf import of {} heartbeats: {}",
        thousands((n + today) as u64),
        ms(import)
    );
    let stored = status_json(&home)["heartbeats"].as_u64().unwrap_or(0);
    if stored != (n + today) as u64 {
        fail(format!(
            "imported {} heartbeats but the daemon holds {stored}",
            n + today
        ));
    }
    // A user's daemon has fresh rollups: let the background refresh finish (a report over
    // everything refreshes what is left), then wait for the daemon to go quiet.
    run(&mut home.tf(&["report", "365d"]));
    wait_for_fresh_rollups(&home);
    wait_for_idle(api.daemon.pid());

    let mut client = api.client();
    let mut get = |check: bool| {
        let started = Instant::now();
        let (status, body) = client.exchange("GET", STATUSBAR_PATH, None);
        let took = started.elapsed();
        if status != 200 || (check && count(body, b"\"grand_total\"") != 1) {
            fail(format!(
                "GET {STATUSBAR_PATH} answered {status}: {}",
                String::from_utf8_lossy(body)
            ));
        }
        if check {
            let v: serde_json::Value = serde_json::from_slice(body)
                .unwrap_or_else(|e| fail(format!("statusbar/today is not JSON: {e}")));
            let total = v["data"]["grand_total"]["total_seconds"]
                .as_f64()
                .unwrap_or(0.0);
            if today > 0 && total <= 0.0 {
                fail(format!(
                    "statusbar/today shows no time for today's {today} heartbeats"
                ));
            }
            eprintln!(
                "  .. statusbar/today: {} ({} bytes)",
                v["data"]["grand_total"]["text"],
                body.len()
            );
        }
        took
    };
    get(true);
    for _ in 0..STATUSBAR_WARM_UP {
        get(false);
    }
    let before = thread_ticks(api.daemon.pid());
    let started = Instant::now();
    let mut times: Vec<Duration> = (0..STATUSBAR_RUNS).map(|_| get(false)).collect();
    let elapsed = started.elapsed();
    let cpu = thread_cpu_between(&before, &thread_ticks(api.daemon.pid()));
    let p99 = percentile(&mut times, 99.0);
    table.push(
        Row::new(
            format!(
                "statusbar/today p99 ({} + {} today)",
                thousands(n as u64),
                thousands(today as u64)
            ),
            ms(p99),
        )
        .goal("< 5 ms", p99 < Duration::from_millis(5)),
    );
    table.push(Row::detail(
        format!(
            "p50 / p90 / max of {} sequential GETs",
            thousands(STATUSBAR_RUNS as u64)
        ),
        format!(
            "{} / {} / {}",
            ms(percentile(&mut times, 50.0)),
            ms(percentile(&mut times, 90.0)),
            ms(percentile(&mut times, 100.0))
        ),
    ));
    let daemon: Duration = cpu.iter().map(|c| c.1).sum();
    table.push(Row::detail(
        "daemon CPU by thread",
        format!(
            "{} (sum {:.2} s of {:.2} s wall, {:.0} µs per GET)",
            cpu.iter()
                .map(|(name, c)| format!("{name} {:.2} s", c.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" · "),
            daemon.as_secs_f64(),
            elapsed.as_secs_f64(),
            daemon.as_secs_f64() * 1e6 / STATUSBAR_RUNS as f64
        ),
    ));
    let mut conn: Conn = api.daemon.connect();
    let mut socket: Vec<Duration> = (0..200)
        .map(|_| {
            let started = Instant::now();
            let answer = conn.request(r#"{"v":1,"type":"status"}"#);
            if !answer.contains(r#""type":"status""#) {
                fail(format!("unexpected answer to status: {answer}"));
            }
            started.elapsed()
        })
        .collect();
    table.push(Row::detail(
        "for scale: socket `status` p50 / p99 (200 requests)",
        format!(
            "{} / {}",
            ms(percentile(&mut socket, 50.0)),
            ms(percentile(&mut socket, 99.0))
        ),
    ));
    api.daemon.stop();
}

/// Waits until no day's rollup is stale (the daemon refreshes them in the background).
fn wait_for_fresh_rollups(home: &Home) {
    let conn = rusqlite::Connection::open_with_flags(
        database(home),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap_or_else(|e| fail(format!("opening the database: {e}")));
    let started = Instant::now();
    loop {
        let dirty: i64 = conn
            .query_row("SELECT count(*) FROM dirty_days", [], |r| r.get(0))
            .unwrap_or_else(|e| fail(format!("counting dirty days: {e}")));
        if dirty == 0 {
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            fail(format!("{dirty} days still stale after 60 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the daemon uses no CPU for 300 ms (at most 20 s).
fn wait_for_idle(pid: u32) {
    let started = Instant::now();
    let mut last = proc_cpu_ticks(pid);
    while started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(300));
        let now = proc_cpu_ticks(pid);
        if now == last {
            return;
        }
        last = now;
    }
}
