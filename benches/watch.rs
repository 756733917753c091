//! Figures of the file watcher: time to start watching a tree of 5,000 directories / 50,000
//! files and the daemon's memory then (baselines in the same run: a plain directory walk of the
//! same tree, and a daemon watching nothing); a burst of 10,000 file writes (a checkout): CPU
//! spent, heartbeats produced, lag after the last write; and a home-like root of 200,000 files.
//!
//! Run with `cargo bench --bench watch` (needs `cargo build --release` for the binaries).

mod common;

use common::{Daemon, Home, Row, Table, bins, clock_ticks_per_second, fail, mib, ms, thousands};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MB: f64 = 1e6;

fn main() {
    let bins = bins();
    let mut table = Table::new(format!(
        "file watcher (release build; CPU ticks are 1/{} s)",
        clock_ticks_per_second()
    ));
    let scratch = tempfile::tempdir().unwrap_or_else(|e| fail(format!("temp dir: {e}")));

    // The tree: 10 repositories × 500 directories × 10 files.
    let code = scratch.path().join("code");
    let made = Instant::now();
    let (dirs, files) = make_tree(&code, 10, 50, 10, 10);
    eprintln!(
        "  .. made {dirs} directories, {files} files in {}",
        ms(made.elapsed())
    );

    let walk = Instant::now();
    let walked = count_dirs(&code);
    let walk = walk.elapsed();

    let idle_home = Home::new(&bins);
    let idle = idle_home.start_daemon();
    let idle_rss = idle.rss_kib();

    let home = Home::new(&bins);
    write_config(&home, &code);
    let started = Instant::now();
    let daemon = home.start_daemon();
    let watched = wait_watched(&daemon, count_watchable(&code));
    let start_time = started.elapsed();
    let rss = daemon.rss_kib();
    table.push(Row {
        goal: "< 2 s".into(),
        met: Some(start_time < Duration::from_secs(2)),
        baseline: format!("plain walk of {walked} dirs {}", ms(walk)),
        ratio: format!("{:.1}×", start_time.as_secs_f64() / walk.as_secs_f64()),
        ..Row::new(
            format!(
                "start watching {dirs} dirs / {} files",
                thousands(files as u64)
            ),
            ms(start_time),
        )
    });
    table.push(Row::detail(
        "",
        format!("{watched} directories watched (incl. git dirs), from daemon start to all watched"),
    ));
    table.push(Row {
        goal: "< 40 MB".into(),
        met: Some((rss as f64 * 1024.0) < 40.0 * MB),
        baseline: format!("idle daemon {}", mib(idle_rss)),
        ratio: format!("+{}", mib(rss.saturating_sub(idle_rss))),
        ..Row::new("daemon RSS while watching", mib(rss))
    });

    // A burst: 10,000 files rewritten at once, spread over the repositories.
    let targets: Vec<PathBuf> = (0..10_000)
        .map(|i| {
            code.join(format!("repo{}", i % 10))
                .join(format!("d{}", (i / 10) % 50))
                .join(format!("s{}", (i / 500) % 10))
                .join(format!("f{}.rs", (i / 5000) % 10))
        })
        .collect();
    let beats_before = heartbeat_count(&daemon);
    let ticks_before = daemon.cpu_ticks();
    let burst = Instant::now();
    for p in &targets {
        std::fs::write(p, "changed\n").unwrap_or_else(|e| fail(format!("{}: {e}", p.display())));
    }
    let written = burst.elapsed();
    // Done when the count stops moving for a second.
    let (mut last, mut last_change) = (heartbeat_count(&daemon), Instant::now());
    while last_change.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(20));
        let n = heartbeat_count(&daemon);
        if n != last {
            (last, last_change) = (n, Instant::now());
        }
    }
    let settled = last_change.duration_since(burst).saturating_sub(written);
    let cpu = ticks_to_duration(daemon.cpu_ticks() - ticks_before);
    table.push(Row {
        goal: "debounced, no backlog".into(),
        baseline: format!("writing them {}", ms(written)),
        ratio: format!("{:.2}×", cpu.as_secs_f64() / written.as_secs_f64()),
        ..Row::new("10,000-write burst: daemon CPU", ms(cpu))
    });
    table.push(Row::detail(
        "",
        format!(
            "{} heartbeats stored (≤ {} per repository per 100 ms batch); last one {} after the last write",
            last - beats_before,
            10,
            ms(settled)
        ),
    ));
    // Reading is not writing: a build or a `grep` over the tree must cost the daemon nothing.
    let ticks_before = daemon.cpu_ticks();
    let read = Instant::now();
    for p in &targets {
        let _ = std::fs::read(p).unwrap_or_else(|e| fail(format!("{}: {e}", p.display())));
    }
    let read = read.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    table.push(Row {
        goal: "≈ 0".into(),
        baseline: format!("reading them {}", ms(read)),
        ..Row::new(
            "reading the same 10,000 files: daemon CPU",
            ms(ticks_to_duration(daemon.cpu_ticks() - ticks_before)),
        )
    });
    let quiet_ticks = daemon.cpu_ticks();
    std::thread::sleep(Duration::from_secs(5));
    table.push(Row::new(
        "CPU while idle after the burst (5 s)",
        format!("{} ticks", daemon.cpu_ticks() - quiet_ticks),
    ));
    drop(daemon);

    // A home directory as a root: repositories plus caches and downloads (hidden and
    // non-repository trees are walked only as far as needed).
    let home_root = scratch.path().join("home");
    let (mut hdirs, mut hfiles) = make_tree(&home_root.join("src"), 5, 40, 5, 10);
    for (name, top, sub) in [
        (".cache", 100, 10),
        ("Downloads", 50, 10),
        (".local", 50, 10),
    ] {
        let (d, f) = make_plain(&home_root.join(name), top, sub, 100);
        hdirs += d;
        hfiles += f;
    }
    let home_walk = Instant::now();
    let home_walked = count_dirs(&home_root);
    let home_walk = home_walk.elapsed();
    let h = Home::new(&bins);
    write_config(&h, &home_root);
    let started = Instant::now();
    let daemon = h.start_daemon();
    let expected = count_watchable(&home_root);
    let watched = wait_watched(&daemon, expected);
    let home_time = started.elapsed();
    let home_rss = daemon.rss_kib();
    table.push(Row {
        goal: "< 2 s".into(),
        met: Some(home_time < Duration::from_secs(2)),
        baseline: format!("plain walk of all {home_walked} dirs {}", ms(home_walk)),
        ratio: format!("{:.1}×", home_time.as_secs_f64() / home_walk.as_secs_f64()),
        ..Row::new(
            format!(
                "home root: {hdirs} dirs / {} files",
                thousands(hfiles as u64)
            ),
            ms(home_time),
        )
    });
    table.push(Row::detail(
        "",
        format!("{watched} directories watched; hidden trees outside repositories are skipped"),
    ));
    table.push(Row {
        goal: "< 40 MB".into(),
        met: Some((home_rss as f64 * 1024.0) < 40.0 * MB),
        ..Row::new("daemon RSS, home root", mib(home_rss))
    });
    drop(daemon);
    drop(idle);
    table.print();
}

fn write_config(home: &Home, root: &Path) {
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[watch]\nroots = [{:?}]\n[http]\nenabled = false\n",
            root.display().to_string()
        ),
    )
    .unwrap_or_else(|e| fail(format!("config: {e}")));
}

/// Repositories `repo0..` each with `top` × `sub` directories of `per_dir` files; returns
/// (directories, files).
fn make_tree(root: &Path, repos: usize, top: usize, sub: usize, per_dir: usize) -> (usize, usize) {
    let (mut dirs, mut files) = (0, 0);
    for r in 0..repos {
        let repo = root.join(format!("repo{r}"));
        std::fs::create_dir_all(&repo).unwrap_or_else(|e| fail(format!("{e}")));
        let ok = std::process::Command::new("git")
            .args(["init", "-q", "-b", "main"])
            .arg(&repo)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            fail("git init failed (is git installed?)");
        }
        let (d, f) = make_plain(&repo, top, sub, per_dir);
        dirs += d;
        files += f;
    }
    (dirs, files)
}

fn make_plain(root: &Path, top: usize, sub: usize, per_dir: usize) -> (usize, usize) {
    let (mut dirs, mut files) = (0, 0);
    for t in 0..top {
        for s in 0..sub {
            let dir = root.join(format!("d{t}")).join(format!("s{s}"));
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(format!("{e}")));
            dirs += 1;
            for f in 0..per_dir {
                std::fs::write(dir.join(format!("f{f}.rs")), "x\n")
                    .unwrap_or_else(|e| fail(format!("{e}")));
                files += 1;
            }
        }
        dirs += 1;
    }
    (dirs, files)
}

/// Every directory below `root` (the baseline walk: what the watcher must at least do).
fn count_dirs(root: &Path) -> usize {
    let mut stack = vec![root.to_path_buf()];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        n += 1;
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
    n
}

/// Directories the watcher is expected to watch: all but hidden trees outside repositories
/// and git internals (each repository's git directory itself is watched).
fn count_watchable(root: &Path) -> usize {
    let mut stack = vec![(root.to_path_buf(), false)];
    let mut n = 0;
    while let Some((d, in_repo)) = stack.pop() {
        n += 1;
        let in_repo = in_repo || d.join(".git").is_dir();
        if d.join(".git").is_dir() {
            n += 1;
        }
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                let name = e.file_name();
                let hidden = name.to_string_lossy().starts_with('.');
                if e.file_type().is_ok_and(|t| t.is_dir()) && name != ".git" && (in_repo || !hidden)
                {
                    stack.push((e.path(), in_repo));
                }
            }
        }
    }
    n
}

/// Polls `status` until `want` directories are watched or polled; returns how many are.
fn wait_watched(daemon: &Daemon, want: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut conn = daemon.connect();
    loop {
        let answer: serde_json::Value =
            serde_json::from_str(conn.request(r#"{"v":1,"type":"status"}"#))
                .unwrap_or_else(|e| fail(format!("status: {e}")));
        let n: u64 = answer["watch"]
            .as_array()
            .map(|roots| {
                roots
                    .iter()
                    .map(|r| {
                        r["watched_dirs"].as_u64().unwrap_or(0)
                            + r["polled_dirs"].as_u64().unwrap_or(0)
                    })
                    .sum()
            })
            .unwrap_or(0);
        if n as usize >= want {
            return n as usize;
        }
        if Instant::now() > deadline {
            fail(format!(
                "only {n} of {want} directories watched after 120 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn heartbeat_count(daemon: &Daemon) -> i64 {
    let mut conn = daemon.connect();
    let answer: serde_json::Value =
        serde_json::from_str(conn.request(r#"{"v":1,"type":"status"}"#))
            .unwrap_or_else(|e| fail(format!("status: {e}")));
    answer["heartbeats"].as_i64().unwrap_or(0)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second() as f64)
}
