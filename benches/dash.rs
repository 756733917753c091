//! Figures of `tf dash` as a user runs it (release build, in a tmux pane): time from a heartbeat
//! reaching the daemon to the screen showing it (baseline in the same run: one `report` request
//! over the socket, the least any view needs), and the dashboard's CPU use while open and idle.
//! Frame render time with a year of data is measured by the tui crate's own bench
//! (`cargo bench -p timeforged-tui`).
//!
//! Run with `cargo bench --bench dash` (needs `cargo build --release` and tmux).

mod common;

use common::{
    Home, Row, Table, bins, clock_ticks_per_second, fail, ms, percentile, proc_cpu_ticks,
};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ROUNDS: usize = 30;
const IDLE: Duration = Duration::from_secs(10);

fn main() {
    let bins = bins();
    let home = Home::new(&bins);
    std::fs::write(home.path().join("config.toml"), "[http]\nenabled = false\n")
        .unwrap_or_else(|e| fail(format!("config: {e}")));
    let daemon = home.start_daemon();
    let tmux_socket = home.path().join("tmux.sock");
    let tmux = |args: &[&str]| -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&tmux_socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| fail(format!("tmux (is it installed?): {e}")));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let started = Command::new("tmux")
        .arg("-S")
        .arg(&tmux_socket)
        .args(["-u", "new-session", "-d", "-s", "b", "-x", "160", "-y", "50"])
        .arg(format!(
            "env TIMEFORGED_DIR={} TIMEFORGED_DAEMON__AUTOSTART=false TERM=screen-256color LANG=C.UTF-8 {} dash",
            home.path().display(),
            bins.tf.display()
        ))
        .status()
        .is_ok_and(|s| s.success());
    if !started {
        fail("cannot start tmux");
    }
    let screen = || tmux(&["capture-pane", "-p", "-t", "b"]);
    wait_until(|| screen().contains("Today"), "the dashboard to draw");

    let mut conn = daemon.connect();
    let mut latencies = Vec::new();
    for i in 0..ROUNDS {
        let name = format!("latency-probe-{i:03}");
        let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        let line = format!(
            r#"{{"v":1,"type":"heartbeats","heartbeats":[{{"time":{now},"entity":"/x/{name}/a.rs","project":"{name}"}}]}}"#
        );
        let sent = Instant::now();
        conn.request(&line);
        wait_until(|| screen().contains(&name), "the heartbeat on screen");
        latencies.push(sent.elapsed());
        // Keep the new project on top of the list: one more minute of work on it.
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut round_trips = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        conn.request(r#"{"v":1,"type":"report","range":{"name":"today"},"by":["project"]}"#);
        round_trips.push(t.elapsed());
    }

    let pane_pid: u32 = tmux(&["display-message", "-p", "-t", "b", "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap_or_else(|e| fail(format!("pane pid: {e}")));
    let tf_pid = find_tf(pane_pid).unwrap_or(pane_pid);
    std::thread::sleep(Duration::from_secs(1));
    let before = proc_cpu_ticks(tf_pid);
    std::thread::sleep(IDLE);
    let idle_ticks = proc_cpu_ticks(tf_pid) - before;

    let mut table = Table::new(format!(
        "tf dash in tmux (release build; CPU ticks are 1/{} s)",
        clock_ticks_per_second()
    ));
    let p50 = percentile(&mut latencies, 50.0);
    let p99 = percentile(&mut latencies, 99.0);
    let base = percentile(&mut round_trips, 50.0);
    table.push(Row {
        goal: "< 200 ms".into(),
        met: Some(p99 < Duration::from_millis(200)),
        baseline: format!("one report request {}", ms(base)),
        ratio: format!("{:.1}×", p50.as_secs_f64() / base.as_secs_f64()),
        ..Row::new(format!("heartbeat → on screen, p50 of {ROUNDS}"), ms(p50))
    });
    table.push(Row::detail(
        "",
        format!(
            "p99 {} (includes tmux capture polling, ~every 2 ms)",
            ms(p99)
        ),
    ));
    let idle_share = idle_ticks as f64 / clock_ticks_per_second() as f64 / IDLE.as_secs_f64();
    table.push(Row {
        goal: "≈ 0 %".into(),
        met: Some(idle_share < 0.01),
        ..Row::new(
            format!("CPU while open and idle ({} s)", IDLE.as_secs()),
            format!("{idle_ticks} ticks ({:.2} %)", idle_share * 100.0),
        )
    });
    tmux(&["kill-server"]);
    drop(daemon);
    table.print();
}

fn wait_until(mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        if Instant::now() > deadline {
            fail(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The `tf` process in the pane: the pane's process itself or one of its children.
fn find_tf(pid: u32) -> Option<u32> {
    let is_tf =
        |p: u32| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "tf");
    if is_tf(pid) {
        return Some(pid);
    }
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .find(|&c| is_tf(c))
        .or_else(|| Path::new("/").exists().then_some(pid))
}
