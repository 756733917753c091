//! Daemon start under socket activation: the first `tf status` after login, when systemd holds
//! the socket and starts the daemon on that first connection (goal: under 50 ms). The socket
//! is passed the way systemd does it (descriptor 3, `LISTEN_FDS=1`, `LISTEN_PID`). Beside it,
//! in the same run: `tf status` with the daemon already running, and a cold start through
//! `tf`'s own autostart.
//!
//! Run with `cargo bench --bench activation` (needs `cargo build --release` for the binaries).

mod common;

use common::{Home, Row, Table, bins, fail, ms, percentile, run, time_run};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 30;

/// `timeforged run` as systemd starts it: the listener as descriptor 3.
fn activate(home: &Home, listener: &std::os::unix::net::UnixListener) -> Child {
    let fd = listener.as_raw_fd();
    let daemon = home.command(&home.bins.daemon);
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" run")
        .arg(&home.bins.daemon)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in daemon.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    // SAFETY: dup2 and fcntl are async-signal-safe.
    unsafe {
        sh.pre_exec(move || {
            if fd != 3 && libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let flags = libc::fcntl(3, libc::F_GETFD);
            libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            Ok(())
        });
    }
    sh.spawn()
        .unwrap_or_else(|e| fail(format!("starting the daemon: {e}")))
}

fn stop(home: &Home, mut child: Child) {
    run(&mut home.tf(&["daemon", "stop"]));
    let _ = child.wait();
}

fn main() {
    let bins = bins();
    let home = Home::new(&bins);
    // A database from earlier use: created, then the daemon stopped.
    home.start_daemon().stop();
    let listener = std::os::unix::net::UnixListener::bind(home.socket())
        .unwrap_or_else(|e| fail(format!("binding the socket like systemd: {e}")));
    let mut table = Table::new(format!(
        "daemon start under socket activation (release build; p50 / p99 of {RUNS} runs)"
    ));

    let mut activated = Vec::new();
    for _ in 0..RUNS {
        // systemd starts the service when the first connection arrives; here the daemon is
        // started as `tf` connects, which is when systemd would.
        let started = Instant::now();
        let mut status = home.tf(&["status"]);
        status.stdout(Stdio::null()).stderr(Stdio::null());
        let mut tf = status
            .spawn()
            .unwrap_or_else(|e| fail(format!("tf status: {e}")));
        let daemon = activate(&home, &listener);
        let out = tf
            .wait()
            .unwrap_or_else(|e| fail(format!("tf status: {e}")));
        let took = started.elapsed();
        if !out.success() {
            fail(format!("tf status failed under activation: {out}"));
        }
        activated.push(took);
        stop(&home, daemon);
    }
    let (a50, a99) = (
        percentile(&mut activated, 50.0),
        percentile(&mut activated, 99.0),
    );

    // Baseline 1: the daemon already running.
    let daemon = activate(&home, &listener);
    run(&mut home.tf(&["status"]));
    let mut warm: Vec<Duration> = (0..RUNS)
        .map(|_| time_run(&mut home.tf(&["status"])))
        .collect();
    let (w50, w99) = (percentile(&mut warm, 50.0), percentile(&mut warm, 99.0));
    stop(&home, daemon);
    drop(listener);
    let _ = std::fs::remove_file(home.socket());

    // Baseline 2: `tf` starts the daemon itself (autostart on).
    let mut autostart = Vec::new();
    for _ in 0..RUNS {
        let mut cmd = home.tf(&["status"]);
        cmd.env("TIMEFORGED_DAEMON__AUTOSTART", "true");
        autostart.push(time_run(&mut cmd));
        run(&mut home.tf(&["daemon", "stop"]));
    }
    let (s50, s99) = (
        percentile(&mut autostart, 50.0),
        percentile(&mut autostart, 99.0),
    );

    table.push(
        Row::new(
            "first tf status, daemon socket-activated",
            format!("{} / {}", ms(a50), ms(a99)),
        )
        .goal("< 50 ms", a99 < Duration::from_millis(50))
        .baseline(
            format!("warm tf status {} / {}", ms(w50), ms(w99)),
            format!("{:.1}x", a50.as_secs_f64() / w50.as_secs_f64()),
        ),
    );
    table.push(
        Row::new(
            "first tf status, tf autostarts the daemon",
            format!("{} / {}", ms(s50), ms(s99)),
        )
        .baseline(
            format!("activated {}", ms(a50)),
            format!("{:.1}x", s50.as_secs_f64() / a50.as_secs_f64()),
        ),
    );
    table.print();
}
