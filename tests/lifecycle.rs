//! The daemon's life: autostart by `tf`, socket hygiene, `tf daemon start|stop|status`,
//! SIGTERM (flush, remove the socket, exit 0), stale sockets, the lock against a second
//! daemon, and autostart switched off.

mod common;

use common::{Conn, TestEnv, hb, lock_is_held, recent_hour, show, stderr, wait_for};
use serde_json::json;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn tf_status_autostarts_the_daemon_with_a_private_socket() {
    let env = TestEnv::new();
    assert!(!env.base.exists(), "TIMEFORGED_DIR must not exist yet");

    let status = env.tf_json(["status", "--json"]);
    let pid = status["pid"].as_u64().expect("status.pid") as u32;
    assert_eq!(status["protocol"], 1, "{status}");
    assert_eq!(status["heartbeats"], 0, "{status}");
    assert_eq!(status["today_seconds"], 0.0, "{status}");
    assert!(status["current"].is_null(), "{status}");
    assert_eq!(
        status["socket"],
        env.socket().display().to_string(),
        "{status}"
    );
    assert_eq!(
        status["database"],
        env.database().display().to_string(),
        "{status}"
    );
    assert_eq!(status["timezone"], "UTC", "TZ is honoured: {status}");

    let socket = std::fs::metadata(env.socket()).expect("the socket exists");
    assert!(socket.file_type().is_socket(), "tf.sock is a socket");
    assert_eq!(mode(&env.socket()), 0o600, "socket mode");
    assert_eq!(mode(&env.base), 0o700, "socket directory mode");
    assert!(env.log().is_file(), "the log file exists");
    assert!(env.database().is_file(), "the database exists");
    assert_eq!(
        env.daemon_pid(),
        Some(pid),
        "the lock holds the daemon's pid"
    );

    // A second command reuses the running daemon.
    let again = env.tf_json(["status", "--json"]);
    assert_eq!(again["pid"].as_u64(), Some(u64::from(pid)), "{again}");
}

#[test]
fn tf_daemon_start_stop_status() {
    let env = TestEnv::new();
    let out = env.tf(["daemon", "status"]);
    assert_eq!(out.status.code(), Some(3), "not running: {}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not running"),
        "{}",
        show(&out)
    );
    assert!(!env.socket().exists(), "daemon status must not autostart");

    let started = env.tf_ok(["daemon", "start"]);
    assert!(started.starts_with("started on "), "{started}");
    let pid = env.daemon_pid().expect("a daemon holds the lock");
    let status = env.tf_ok(["daemon", "status"]);
    assert!(
        status.starts_with(&format!("running · pid {pid} · version ")),
        "{status}"
    );

    let again = env.tf_ok(["daemon", "start"]);
    assert!(again.starts_with("already running"), "{again}");
    assert_eq!(env.daemon_pid(), Some(pid), "start must not replace it");

    let stopped = env.tf_ok(["daemon", "stop"]);
    assert_eq!(stopped.trim(), "stopped");
    assert!(!env.socket().exists(), "the socket is removed on stop");
    env.wait_until_stopped();
    let out = env.tf(["daemon", "status"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));

    let twice = env.tf_ok(["daemon", "stop"]);
    assert_eq!(twice.trim(), "not running");
}

#[test]
fn sigterm_flushes_acknowledged_heartbeats_removes_the_socket_and_exits_zero() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let t0 = recent_hour();
    let first: Vec<_> = (0..500)
        .map(|i| hb(t0 + f64::from(i), "/w/a.rs", "alpha", "Rust"))
        .collect();
    let mut c = env.connect();
    let r = c.heartbeats(&first);
    assert_eq!(r["accepted"], 500, "{r}");

    // A second batch raced against SIGTERM: either it is acknowledged (then it must be on
    // disk) or it is not (then it is stored whole or not at all, never half).
    let second: Vec<_> = (0..500)
        .map(|i| hb(t0 + 1000.0 + f64::from(i), "/w/b.rs", "beta", "Rust"))
        .collect();
    c.send(&json!({"v": 1, "type": "heartbeats", "heartbeats": second}));
    let status = env.terminate_daemon();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    let second_acked =
        matches!(c.try_recv(), Some(r) if r["type"] == "stored" && r["accepted"] == 500);
    assert!(!env.socket().exists(), "the socket is removed on SIGTERM");
    assert!(!lock_is_held(&env.lock()), "the lock is released");

    env.start_daemon();
    let count = env.connect().count();
    if second_acked {
        assert_eq!(count, 1000, "both acknowledged batches survive a restart");
    } else {
        assert!(
            count == 500 || count == 1000,
            "a batch is stored whole or not at all: {count}"
        );
    }
}

#[test]
fn sigint_stops_the_daemon_cleanly_too() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let r = env
        .connect()
        .heartbeats(&[hb(recent_hour(), "/w/a.rs", "alpha", "Rust")]);
    assert_eq!(r["accepted"], 1, "{r}");
    let mut child = env.daemon.take().expect("daemon child");
    common::signal(child.id(), libc::SIGINT);
    let status = wait_for("the daemon to exit after SIGINT", || {
        child.try_wait().expect("wait for the daemon")
    });
    assert_eq!(status.code(), Some(0), "exit status after SIGINT");
    assert!(!env.socket().exists(), "the socket is removed on SIGINT");
    env.start_daemon();
    assert_eq!(env.connect().count(), 1);
}

#[test]
fn shutdown_request_stops_the_daemon_with_exit_zero() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let r = env.connect().request(json!({"v": 1, "type": "shutdown"}));
    assert_eq!(r["type"], "ok", "{r}");
    let mut child = env.daemon.take().expect("daemon child");
    let status = wait_for("the daemon to exit after shutdown", || {
        child.try_wait().expect("wait for the daemon")
    });
    assert_eq!(status.code(), Some(0));
    assert!(!env.socket().exists(), "the socket is removed on shutdown");
}

#[test]
fn a_stale_socket_left_by_sigkill_is_removed_on_the_next_start() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut c = env.connect();
    let r = c.heartbeats(&[hb(recent_hour(), "/w/a.rs", "alpha", "Rust")]);
    assert_eq!(r["accepted"], 1, "{r}");
    drop(c);

    let mut child = env.daemon.take().expect("daemon child");
    child.kill().expect("SIGKILL the daemon");
    child.wait().expect("reap the daemon");
    assert!(
        env.socket().exists(),
        "SIGKILL leaves the socket file behind (the case under test)"
    );
    assert!(
        UnixStream::connect(env.socket()).is_err(),
        "nobody listens on the stale socket"
    );

    // Through autostart: `tf` finds the dead socket, starts a daemon that replaces it.
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(
        status["heartbeats"], 1,
        "committed data survives SIGKILL: {status}"
    );
    assert!(
        env.log_text().contains("stale socket"),
        "the log says the stale socket was removed:\n{}",
        env.log_text()
    );
}

#[test]
fn a_second_daemon_on_the_same_directory_is_refused_and_the_first_keeps_serving() {
    let mut env = TestEnv::new();
    let pid = env.start_daemon();
    let mut c = env.connect();
    c.heartbeats(&[hb(recent_hour(), "/w/a.rs", "alpha", "Rust")]);

    let out = env.daemon_cmd().output().expect("run a second timeforged");
    assert!(
        !out.status.success(),
        "second daemon must fail: {}",
        show(&out)
    );
    let err = stderr(&out).to_lowercase();
    assert!(
        err.contains("lock") || err.contains("already running"),
        "the error says why: {}",
        show(&out)
    );
    assert!(
        err.contains(&pid.to_string()) || err.contains(&env.socket().display().to_string()),
        "the error names the running daemon (pid or socket): {}",
        show(&out)
    );

    // The first daemon is untouched: same socket, same pid, same data, same connection.
    assert!(
        env.socket().exists(),
        "the first daemon's socket is still there"
    );
    assert_eq!(c.count(), 1);
    let hello = Conn::connect(&env.socket()).request(json!({"v": 1, "type": "hello"}));
    assert_eq!(hello["pid"], pid, "{hello}");
    assert_eq!(
        env.daemon_pid(),
        Some(pid),
        "the lock still names the first"
    );
}

#[test]
fn autostart_disabled_gives_a_clear_error() {
    let mut env = TestEnv::new();
    env.set_env("TIMEFORGED_DAEMON__AUTOSTART", "false");
    let out = env.tf(["status"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("not running") && err.contains("autostart is off"),
        "{}",
        show(&out)
    );
    assert!(
        err.contains("tf daemon start"),
        "says what to do: {}",
        show(&out)
    );
    assert!(out.stdout.is_empty(), "errors go to stderr: {}", show(&out));
    assert!(!env.socket().exists(), "nothing was started");

    // `tf daemon start` still works when autostart is off, and then commands connect.
    env.tf_ok(["daemon", "start"]);
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(status["heartbeats"], 0, "{status}");
}

/// `tf` with the common user umask 022, as from a login shell, whatever the test runner's is.
fn with_umask_022(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: umask is async-signal-safe and touches nothing but the child's mask.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        })
    }
}

#[test]
fn autostart_in_the_xdg_layout_puts_files_where_config_path_says() {
    let env = TestEnv::xdg();
    let out = with_umask_022(&mut env.tf_cmd(["status", "--json"]))
        .output()
        .expect("run tf status");
    assert!(out.status.success(), "{}", show(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        status["socket"],
        env.socket().display().to_string(),
        "{status}"
    );
    assert_eq!(
        status["database"],
        env.database().display().to_string(),
        "{status}"
    );

    let paths = env.tf_ok(["config", "path"]);
    for (label, path) in [
        ("config", env.config_file()),
        ("database", env.database()),
        ("socket", env.socket()),
        ("log", env.log()),
    ] {
        let line = format!("{label:<9} {}", path.display());
        assert!(paths.lines().any(|l| l == line), "{line:?} in:\n{paths}");
    }
    assert_eq!(mode(&env.socket()), 0o600, "socket");
    let socket_dir = env.socket().parent().expect("socket dir").to_path_buf();
    assert_eq!(mode(&socket_dir), 0o700, "socket dir");
    let data_dir = env.database().parent().expect("data dir").to_path_buf();
    assert_eq!(mode(&data_dir), 0o700, "data dir");
    assert_eq!(mode(&env.database()) & 0o077, 0, "database private");
    assert!(env.log().is_file(), "log file");
}

#[test]
fn autostart_in_the_xdg_layout_keeps_the_log_private() {
    let env = TestEnv::xdg();
    let out = with_umask_022(&mut env.tf_cmd(["status"]))
        .output()
        .expect("run tf status");
    assert!(out.status.success(), "{}", show(&out));
    let log_dir = env.log().parent().expect("log dir").to_path_buf();
    assert_eq!(
        mode(&log_dir) & 0o077,
        0,
        "{} is open to others: {:o}",
        log_dir.display(),
        mode(&log_dir)
    );
    assert_eq!(
        mode(&env.log()) & 0o077,
        0,
        "{} is readable by others: {:o}",
        env.log().display(),
        mode(&env.log())
    );
}

#[test]
fn tf_daemon_stop_returns_only_after_the_daemon_exited_so_start_right_after_never_fails() {
    // The issue: `tf daemon stop; tf daemon start` failed 7 of 20 times, because stop returned
    // when the socket was gone, while the old daemon still held the lock for its final commit.
    let env = TestEnv::new();
    env.tf_ok(["daemon", "start"]);
    let t0 = recent_hour();
    let items: Vec<_> = (0..5000)
        .map(|i| hb(t0 + f64::from(i) * 0.5, "/w/a.rs", "alpha", "Rust"))
        .collect();
    assert_eq!(env.connect().heartbeats(&items)["accepted"], 5000);
    for round in 0..20 {
        // Some work for the final checkpoint to do, so that stopping takes measurable time.
        let more: Vec<_> = (0..500)
            .map(|i| {
                let t = t0 + 2600.0 + f64::from(round * 500 + i) * 0.1;
                hb(t, "/w/b.rs", "beta", "Rust")
            })
            .collect();
        assert_eq!(env.connect().heartbeats(&more)["accepted"], 500);
        env.tf_ok(["report", "all", "--by", "language"]);
        let pid = env.daemon_pid().expect("a daemon holds the lock");

        let stopped = env.tf_ok(["daemon", "stop"]);
        assert_eq!(stopped.trim(), "stopped", "round {round}");
        // No polling here: when stop has returned, the old daemon must be gone.
        assert!(
            !lock_is_held(&env.lock()),
            "round {round}: `tf daemon stop` returned while pid {pid} still held the lock"
        );

        let out = env.tf(["daemon", "start"]);
        assert!(out.status.success(), "round {round}: {}", show(&out));
        let new_pid = env.daemon_pid().expect("the new daemon holds the lock");
        assert_ne!(new_pid, pid, "round {round}: a new daemon");
    }
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(status["heartbeats"], 5000 + 20 * 500, "{status}");
}

#[test]
fn tf_daemon_stop_also_waits_for_a_daemon_that_is_already_stopping() {
    let mut env = TestEnv::new();
    let pid = env.start_daemon();
    // A second stop while the first is under way (its socket already gone) must not say
    // "not running" while the process lives on.
    let r = env.connect().request(json!({"v": 1, "type": "shutdown"}));
    assert_eq!(r["type"], "ok", "{r}");
    let out = env.tf_ok(["daemon", "stop"]);
    assert!(
        out.trim() == "stopped" || out.trim() == "not running",
        "{out}"
    );
    assert!(
        !lock_is_held(&env.lock()),
        "stop returned while pid {pid} still held the lock"
    );
    let mut child = env.daemon.take().expect("daemon child");
    let status = wait_for("the daemon to exit", || {
        child.try_wait().expect("wait for the daemon")
    });
    assert_eq!(status.code(), Some(0));
}

/// The `timeforged` processes running for this test's directory.
fn daemons_of(env: &TestEnv) -> Vec<u32> {
    let want = format!("TIMEFORGED_DIR={}", env.base.display());
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let is_daemon = exe.is_some_and(|e| e == std::path::Path::new(common::DAEMON));
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            // A zombie has no exe and no environment: it is not running.
            is_daemon && environ.split(|&b| b == 0).any(|v| v == want.as_bytes())
        })
        .collect()
}

#[test]
fn concurrent_autostart_all_succeed_and_one_daemon_runs() {
    // The issue: 4 `tf status` at once with the daemon down → some exited 2 with "another daemon
    // holds the lock (pid )" although the daemon came up. Losers must wait for the winner.
    const N: usize = 24;
    for round in 0..2 {
        let env = TestEnv::new();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(N));
        let outputs: Vec<std::process::Output> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..N)
                .map(|_| {
                    let barrier = barrier.clone();
                    let mut cmd = env.tf_cmd(["status", "--json"]);
                    s.spawn(move || {
                        barrier.wait();
                        cmd.output().expect("run tf status")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a tf thread"))
                .collect()
        });
        let mut pids = std::collections::BTreeSet::new();
        for out in &outputs {
            assert!(out.status.success(), "round {round}: {}", show(out));
            let status: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("status --json is JSON");
            pids.insert(status["pid"].as_u64().expect("status.pid"));
        }
        assert_eq!(
            pids.len(),
            1,
            "round {round}: one daemon answered all: {pids:?}"
        );
        let pid = *pids.first().expect("one pid") as u32;
        assert_eq!(env.daemon_pid(), Some(pid), "round {round}");
        // No polling: each `tf` returned only once its own daemon was the winner or had
        // exited. A loser left running would become a daemon nobody asked for after a stop.
        assert_eq!(
            daemons_of(&env),
            vec![pid],
            "round {round}: only the winner runs"
        );
        env.tf_ok(["daemon", "stop"]);
        // The lock is released just before the process ends: the winner may still be on its
        // way out, but no other daemon may have come up.
        let left = daemons_of(&env);
        assert!(
            left.iter().all(|&p| p == pid),
            "round {round}: after stop, {left:?} run (the winner was {pid})"
        );
        wait_for("the stopped daemon to be gone", || {
            daemons_of(&env).is_empty().then_some(())
        });
    }
}
