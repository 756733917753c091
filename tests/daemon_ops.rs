//! Running the daemon day to day, with the real daemon on a temp `TIMEFORGED_DIR`: config
//! reloads (file change, SIGHUP, a bad file, restart-only keys, YAML), `tf` saying where its
//! settings differ from the daemon's, socket activation the way systemd does it, the downtime
//! before a start, `tf daemon install|uninstall|logs`.

mod common;
#[path = "common/http.rs"]
mod http;

use common::{Conn, TestEnv, hb, show, skip, stderr, wait_for};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Writes the config file (creating the private directory the daemon would).
fn write_config(env: &TestEnv, text: &str) {
    let dir = env
        .config_file()
        .parent()
        .expect("config dir")
        .to_path_buf();
    std::fs::create_dir_all(&dir).expect("create the config dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // Written whole then renamed, as editors do: the daemon never reads half a file.
    let tmp = dir.join(".config.tmp");
    std::fs::write(&tmp, text).expect("write the config");
    std::fs::rename(&tmp, env.config_file()).expect("rename the config");
}

/// The daemon's `config` state, asked on the socket (no `tf`, so no reload is asked for).
fn daemon_config(env: &TestEnv) -> Value {
    let r = env
        .connect()
        .request(json!({"v": 1, "type": "config", "reload": false}));
    assert_eq!(r["type"], "config", "{r}");
    r
}

fn report_total(conn: &mut Conn, from: f64, to: f64) -> f64 {
    let r = conn.report(&common::rfc3339(from), &common::rfc3339(to), &[], None);
    common::total(&r)
}

/// The issue: heartbeats 0, 10 s, 3 min 10 s, 3 min 20 s count 3 min 20 s with a 10-minute
/// timeout; a new timeout in the file applies to the running daemon (rollups recomputed), and
/// the week starts on Sunday once the file says so — found by the file watcher alone.
#[test]
fn a_changed_config_file_is_applied_by_the_running_daemon() {
    let mut env = TestEnv::new();
    write_config(&env, "[durations]\ntimeout_minutes = 10\n");
    env.start_daemon();
    let t0 = common::recent_hour();
    let mut c = env.connect();
    let beats: Vec<Value> = [0.0, 10.0, 190.0, 200.0]
        .iter()
        .map(|s| hb(t0 + s, "/w/a.rs", "alpha", "Rust"))
        .collect();
    assert_eq!(c.heartbeats(&beats)["accepted"], 4);
    assert_eq!(report_total(&mut c, t0 - 60.0, t0 + 3600.0), 200.0);

    write_config(
        &env,
        "[durations]\ntimeout_minutes = 2\n[report]\nweek_start = \"sunday\"\n",
    );
    wait_for("the daemon to apply the new timeout", || {
        (daemon_config(&env)["settings"]["durations"]["timeout_minutes"] == 2).then_some(())
    });
    assert_eq!(report_total(&mut c, t0 - 60.0, t0 + 3600.0), 20.0);
    let status = c.status();
    assert_eq!(status["timeout_minutes"], 2.0, "{status}");
    let week = c.request(json!({"v": 1, "type": "report", "range": {"name": "week"}}));
    let start: jiff::Timestamp = week["start"]
        .as_str()
        .expect("start")
        .parse()
        .expect("RFC 3339");
    let weekday = start
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .weekday()
        .to_sunday_zero_offset();
    assert_eq!(weekday, 0, "the week starts on Sunday: {week}");
    // The daemon's log says what changed.
    assert!(
        env.log_text().contains("config reloaded"),
        "{}",
        env.log_text()
    );
}

#[test]
fn sighup_reloads_the_config() {
    let mut env = TestEnv::new();
    let pid = env.start_daemon();
    // The file watcher would see it too; SIGHUP must do it by itself, so check the log for
    // the reason.
    write_config(&env, "[durations]\ntimeout_minutes = 7\n");
    common::signal(pid, libc::SIGHUP);
    wait_for("the reload", || {
        (daemon_config(&env)["settings"]["durations"]["timeout_minutes"] == 7).then_some(())
    });
    wait_for("a reload logged for SIGHUP or the file watcher", || {
        env.log_text().contains("config reloaded").then_some(())
    });
}

/// The HTTP API keeps the accounts of the keys it has seen (a single-heartbeat POST then skips
/// a database read); a reload that changes the user's timeout must still reach it at once.
#[test]
fn a_reloaded_timeout_reaches_the_http_api_at_once() {
    let (tz, _) = common::noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    write_config(&env, "[durations]\ntimeout_minutes = 15\n");
    let pid = env.start_daemon();
    let api = http::Api::of(&env);
    // Two heartbeats ten minutes apart, in the last hour (so today, in the noon zone).
    let now = common::now_secs().floor();
    let beats: Vec<Value> = [now - 1200.0, now - 600.0]
        .iter()
        .map(|&t| hb(t, "/src/a.rs", "forge", "Rust"))
        .collect();
    for b in &beats {
        let r = api.post("/api/v1/users/current/heartbeats", b);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let today = || {
        api.get_json("/api/v1/users/current/statusbar/today")["data"]["grand_total"]
            ["total_seconds"]
            .as_f64()
            .unwrap_or(-1.0)
    };
    assert_eq!(
        today(),
        600.0,
        "a 10-minute gap counts under a 15-minute timeout"
    );

    write_config(&env, "[durations]\ntimeout_minutes = 5\n");
    common::signal(pid, libc::SIGHUP);
    wait_for("the reload", || {
        (daemon_config(&env)["settings"]["durations"]["timeout_minutes"] == 5).then_some(())
    });
    assert!(
        today() < 600.0,
        "the same key, after the reload, counts under the 5-minute timeout"
    );
}

/// A bad file keeps the settings in force, `tf status` says why (and still works), and fixing
/// the file clears it.
#[test]
fn a_bad_config_file_keeps_the_old_settings_and_status_says_why() {
    let mut env = TestEnv::new();
    write_config(&env, "[durations]\ntimeout_minutes = 5\n");
    env.start_daemon();
    write_config(&env, "[durations]\ntimeout_minutes = 0\n");
    let state = wait_for("the daemon to reject the file", || {
        let s = daemon_config(&env);
        s["error"].is_string().then_some(s)
    });
    let error = state["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("config.toml:2:19") && error.contains("out of range"),
        "{state}"
    );
    assert_eq!(state["settings"]["durations"]["timeout_minutes"], 5);
    assert_eq!(env.connect().status()["timeout_minutes"], 5.0);

    let out = env.tf(["status"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the daemon keeps the settings it loaded at"),
        "{}",
        show(&out)
    );
    assert!(stderr(&out).contains("out of range"), "{}", show(&out));
    // Other commands refuse the bad file, naming it.
    let out = env.tf(["report"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("config.toml:2:19"), "{}", show(&out));

    write_config(&env, "[durations]\ntimeout_minutes = 6\n");
    wait_for("the fixed file to be applied", || {
        let s = daemon_config(&env);
        (s["error"].is_null() && s["settings"]["durations"]["timeout_minutes"] == 6).then_some(())
    });
}

/// The issue: `TIMEFORGED_DURATIONS__TIMEOUT_MINUTES=1 tf report` changed nothing, silently.
#[test]
fn tf_says_when_its_environment_differs_from_the_daemons() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let out = env
        .tf_cmd(["report"])
        .env("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES", "1")
        .output()
        .expect("run tf");
    assert!(out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES=1 is set here, but the daemon runs with durations.timeout_minutes = 15")
            && err.contains("tf report --timeout 1"),
        "{}",
        show(&out)
    );
    // Settings only `tf` uses are no difference.
    let out = env
        .tf_cmd(["report"])
        .env("TIMEFORGED_DAEMON__AUTOSTART", "false")
        .output()
        .expect("run tf");
    assert!(stderr(&out).is_empty(), "{}", show(&out));
}

/// `tf` finds the file changed before the daemon's watcher does, and asks it to reload: the
/// issue's `printf … > config.toml; tf report week` gives the new week at once.
#[test]
fn tf_asks_the_daemon_to_reload_a_file_it_has_not_read_yet() {
    let mut env = TestEnv::new();
    env.start_daemon();
    // Written in place of the watched directory's file without any notice the watcher can
    // see in time: `tf` runs right after the write.
    std::fs::write(env.config_file(), "[report]\nweek_start = \"sunday\"\n").expect("write");
    let out = env.tf(["report", "week", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(stderr(&out).is_empty(), "{}", show(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let start: jiff::Timestamp = report["start"]
        .as_str()
        .expect("start")
        .parse()
        .expect("RFC 3339");
    assert_eq!(
        start
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .weekday()
            .to_sunday_zero_offset(),
        0,
        "{report}"
    );
}

#[test]
fn keys_that_need_a_restart_are_listed_as_such() {
    let mut env = TestEnv::new();
    env.start_daemon();
    write_config(&env, "[http]\nmax_heartbeat_age_days = 30\n");
    let state = wait_for("the reload", || {
        let s = daemon_config(&env);
        (!s["restart_needed"].is_null()).then_some(s)
    });
    assert_eq!(
        state["restart_needed"],
        json!(["http.max_heartbeat_age_days"])
    );
    assert_eq!(state["settings"]["http"]["max_heartbeat_age_days"], 365);
    let out = env.tf(["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("http.max_heartbeat_age_days changed: restart the daemon to apply it"),
        "{}",
        show(&out)
    );
    assert!(
        stderr(&out).contains("which the daemon applies only when it starts"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_yaml_config_is_read_and_reloaded_and_two_files_are_an_error() {
    let mut env = TestEnv::new();
    std::fs::create_dir_all(&env.base).expect("mkdir");
    let yaml = env.base.join("config.yaml");
    std::fs::write(&yaml, "durations:\n  timeout_minutes: 9\n").expect("write");
    env.start_daemon();
    assert_eq!(env.connect().status()["timeout_minutes"], 9.0);
    std::fs::write(&yaml, "durations:\n  timeout_minutes: 11\n").expect("write");
    wait_for("the YAML reload", || {
        (daemon_config(&env)["settings"]["durations"]["timeout_minutes"] == 11).then_some(())
    });
    assert_eq!(
        daemon_config(&env)["file"],
        yaml.display().to_string(),
        "the file in use"
    );
    let path = env.tf_ok(["config", "path"]);
    assert!(path.contains("config.yaml"), "{path}");

    std::fs::write(&yaml, "durations:\n  timeout_minutes: [1\n").expect("write");
    let s = wait_for("the bad YAML to be refused", || {
        let s = daemon_config(&env);
        s["error"].is_string().then_some(s)
    });
    assert!(
        s["error"]
            .as_str()
            .unwrap_or_default()
            .contains("config.yaml:"),
        "{s}"
    );
    std::fs::write(&yaml, "durations:\n  timeout_minutes: 12\n").expect("write");
    std::fs::write(env.base.join("config.toml"), "").expect("write");
    let out = env.tf(["report"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("config.toml") && stderr(&out).contains("config.yaml"),
        "{}",
        show(&out)
    );
    let s = wait_for("the daemon to refuse two files", || {
        let s = daemon_config(&env);
        s["error"]
            .as_str()
            .is_some_and(|e| e.contains("both exist"))
            .then_some(s)
    });
    assert_eq!(s["settings"]["durations"]["timeout_minutes"], 11, "{s}");
}

/// `[watch]` and `[sync]` changes restart the watcher and the sync thread.
#[test]
fn watch_roots_and_sync_targets_follow_the_file() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let code = env.scratch().join("code");
    std::fs::create_dir_all(code.join("repo")).expect("mkdir");
    write_config(
        &env,
        &format!(
            "[watch]\nroots = [\"{}\"]\n[sync]\nurl = \"http://127.0.0.1:9\"\napi_key = \"k\"\n",
            code.display()
        ),
    );
    let status = wait_for("the watcher and sync to restart", || {
        let s = env.connect().status();
        (s["watch"].as_array().is_some_and(|w| w.len() == 1)
            && s["sync"].as_array().is_some_and(|t| t.len() == 1))
        .then_some(s)
    });
    assert_eq!(status["watch"][0]["path"], code.display().to_string());
    assert_eq!(status["watch"][0]["origin"], "config");
    write_config(&env, "");
    wait_for("both to be gone", || {
        let s = env.connect().status();
        (s["watch"].as_array().is_some_and(|w| w.is_empty()) && s["sync"].is_null()).then_some(())
    });
    let out = env.tf(["sync", "status"]);
    assert!(!out.status.success(), "{}", show(&out));
}

/// Starts `timeforged run` the way systemd does with socket activation: the listening socket
/// as descriptor 3, `LISTEN_FDS=1`, `LISTEN_PID` = the daemon's own pid (`exec` keeps the
/// shell's pid, so `$$` is it).
fn start_activated(
    env: &TestEnv,
    listener: &std::os::unix::net::UnixListener,
) -> std::process::Child {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fd = listener.as_raw_fd();
    let mut cmd = env.timeforged_cmd();
    cmd.env_remove("TIMEFORGED_DIR");
    // `prepare` already set TIMEFORGED_DIR; keep it (env_remove then re-add to be explicit).
    cmd.env("TIMEFORGED_DIR", &env.base);
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" run")
        .arg(common::DAEMON)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    // SAFETY: dup2 and fcntl are async-signal-safe; the child only moves the listener to
    // descriptor 3 (without close-on-exec) before exec.
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
    sh.spawn().expect("start timeforged as systemd would")
}

/// The daemon serves the socket systemd passes: a connection made before it started is
/// answered, it says who started it, and stopping leaves the socket file to systemd.
#[test]
fn socket_activation_serves_the_socket_systemd_passes() {
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.base).expect("mkdir");
    std::fs::set_permissions(&env.base, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let listener = std::os::unix::net::UnixListener::bind(env.socket()).expect("bind like systemd");
    // The first `tf status` after login connects before the daemon runs.
    let mut early = Conn::connect(&env.socket());
    early.send(&json!({"v": 1, "type": "status"}));
    let mut child = start_activated(&env, &listener);
    let status = early.recv();
    assert_eq!(status["type"], "status", "{status}");
    assert_eq!(status["started_by"], "systemd", "{status}");
    assert_eq!(status["pid"], child.id(), "{status}");
    let out = env.tf_ok(["status"]);
    assert!(
        out.contains("started by systemd (socket activation)"),
        "{out}"
    );

    env.tf_ok(["daemon", "stop"]);
    let exit = wait_for("the daemon to exit", || child.try_wait().expect("wait"));
    assert_eq!(exit.code(), Some(0));
    assert!(
        env.socket().exists(),
        "the socket belongs to systemd: it stays for the next start"
    );
    // The next connection starts it again, on the same socket.
    let mut again = Conn::connect(&env.socket());
    again.send(&json!({"v": 1, "type": "hello"}));
    let mut child = start_activated(&env, &listener);
    assert_eq!(again.recv()["type"], "hello");
    common::signal(child.id(), libc::SIGTERM);
    let _ = child.wait();
}

#[test]
fn socket_activation_refuses_what_is_not_a_listening_socket() {
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.base).expect("mkdir");
    let file = std::fs::File::create(env.scratch().join("not-a-socket")).expect("file");
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fd = file.as_raw_fd();
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" run")
        .arg(common::DAEMON)
        .env("TIMEFORGED_DIR", &env.base)
        .env("HOME", env.scratch())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    // SAFETY: as in `start_activated`.
    unsafe {
        sh.pre_exec(move || {
            libc::dup2(fd, 3);
            Ok(())
        });
    }
    let out = sh.output().expect("run timeforged");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("socket activation") && stderr(&out).contains("not a socket"),
        "{}",
        show(&out)
    );
}

/// The issue: after a reboot nothing said that file saves were lost. The daemon's last sign of
/// life is kept; the next start measures the gap and `tf status` shows it.
#[test]
fn status_says_how_long_the_daemon_was_not_running() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let status = env.connect().status();
    assert!(
        status["down_before_start"].is_null(),
        "first start: {status}"
    );
    env.terminate_daemon();
    // As if it had stopped two hours ago (a reboot, a crash nobody restarted).
    let alive = env.base.join("timeforged.alive");
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&alive)
        .expect("the alive file exists after a run")
        .set_modified(two_hours_ago)
        .expect("set its time");
    env.start_daemon();
    let status = env.connect().status();
    let down = &status["down_before_start"];
    let gap = down["to"].as_f64().expect("to") - down["from"].as_f64().expect("from");
    assert!((7190.0..7300.0).contains(&gap), "{status}");
    let out = env.tf_ok(["status"]);
    assert!(
        out.contains("was not running for 2h 00m before this start")
            && out.contains("tf daemon install"),
        "{out}"
    );
    // A quick restart is not worth a line.
    env.terminate_daemon();
    env.start_daemon();
    assert!(env.connect().status()["down_before_start"].is_null());
}

fn units_dir(env: &TestEnv) -> std::path::PathBuf {
    env.scratch().join(".config/systemd/user")
}

#[test]
fn daemon_install_writes_socket_activated_units_that_systemd_accepts() {
    let env = TestEnv::new();
    let out = env.tf_ok(["daemon", "install", "--no-enable"]);
    let dir = units_dir(&env);
    let (service, socket) = (
        dir.join("timeforged.service"),
        dir.join("timeforged.socket"),
    );
    assert!(out.contains(&service.display().to_string()), "{out}");
    assert!(out.contains("systemctl --user daemon-reload && systemctl --user enable --now timeforged.socket timeforged.service"), "{out}");
    let service_text = std::fs::read_to_string(&service).expect("the service unit");
    let socket_text = std::fs::read_to_string(&socket).expect("the socket unit");
    let daemon = std::fs::canonicalize(common::DAEMON).expect("daemon path");
    assert!(
        service_text.contains(&format!("ExecStart={} run", daemon.display()))
            || service_text.contains(&format!("ExecStart={} run", common::DAEMON)),
        "{service_text}"
    );
    assert!(
        service_text.contains(&format!(
            "Environment=TIMEFORGED_DIR={}",
            env.base.display()
        )),
        "{service_text}"
    );
    assert!(
        service_text.contains("WantedBy=default.target"),
        "{service_text}"
    );
    assert!(
        socket_text.contains(&format!("ListenStream={}", env.socket().display())),
        "{socket_text}"
    );
    // systemd's own checker, offline.
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(o) if o.status.success() => {
            let out = Command::new("systemd-analyze")
                .args(["verify", "--man=no"])
                .arg(&socket)
                .arg(&service)
                .env("SYSTEMD_LOG_LEVEL", "warning")
                .output()
                .expect("run systemd-analyze");
            let said = String::from_utf8_lossy(&out.stderr).to_string();
            // Offline it may miss the user manager; anything about our units is an error.
            let ours: Vec<&str> = said.lines().filter(|l| l.contains("timeforged.")).collect();
            assert!(ours.is_empty(), "systemd-analyze verify:\n{said}");
        }
        _ => skip("systemd-analyze is not installed (apt-get install systemd)"),
    }
    // On demand: the service has no [Install]; enable only the socket.
    let out = env.tf_ok(["daemon", "install", "--no-enable", "--on-demand"]);
    assert!(out.contains("enable --now timeforged.socket\n"), "{out}");
    assert!(
        !std::fs::read_to_string(&service)
            .expect("unit")
            .contains("[Install]")
    );

    // Without a systemd user instance (as here in tests) the files are written and the command
    // says what to run once there is one.
    let out = env
        .tf_cmd(["daemon", "install"])
        .env("XDG_RUNTIME_DIR", env.scratch().join("no-runtime"))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .expect("run tf");
    if out.status.code() == Some(1) {
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("not reachable here"),
            "{}",
            show(&out)
        );
    }

    let out = env.tf_ok(["daemon", "uninstall"]);
    assert!(out.contains("removed"), "{out}");
    assert!(!service.exists() && !socket.exists());
    assert!(env.tf_ok(["daemon", "uninstall"]).contains("not installed"));
}

#[test]
fn daemon_logs_prints_the_end_of_the_log() {
    let env = TestEnv::new();
    let out = env.tf_ok(["daemon", "logs"]);
    assert!(out.contains("no log yet"), "{out}");
    env.tf_ok(["status"]);
    let out = env.tf_ok(["daemon", "logs", "-n", "1"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let out = env.tf_ok(["daemon", "logs"]);
    assert!(out.contains("listening"), "{out}");
}

/// `tf daemon start` with a socket nobody answers on (systemd's, before the daemon runs)
/// must not say "already running".
#[test]
fn daemon_start_wants_an_answer_not_just_a_socket() {
    let env = TestEnv::new();
    env.tf_ok(["daemon", "start"]);
    let out = env.tf_ok(["daemon", "start"]);
    assert!(out.starts_with("already running"), "{out}");
    assert!(Path::new(&env.socket()).exists());
}
