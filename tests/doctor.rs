//! `tf doctor` against the real daemon: each thing it checks is broken on purpose and must be
//! reported as a problem (exit 1) with its fix; a healthy setup exits 0.

mod common;
#[path = "common/git.rs"]
mod git_cli;

use common::{TestEnv, show, wait_for};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

/// Runs `tf doctor --json` (with `more` environment) and returns its exit code and report.
fn doctor_in(env: &TestEnv, more: &[(&str, &str)], dir: Option<&std::path::Path>) -> (i32, Value) {
    let mut cmd = env.tf_cmd(["doctor", "--json"]);
    for (k, v) in more {
        cmd.env(k, v);
    }
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd.output().expect("run tf doctor");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json is not JSON: {e}\n{}", show(&out)));
    let code = out.status.code().expect("an exit code");
    assert_eq!(report["ok"], code == 0, "{report}");
    (code, report)
}

fn doctor(env: &TestEnv) -> (i32, Value) {
    doctor_in(env, &[], None)
}

/// The checks named `name`.
fn checks<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["name"] == name)
        .collect()
}

/// The one problem named `name`, whose message contains `what`; it has a fix.
fn assert_problem(report: &Value, name: &str, what: &str) -> String {
    let found = checks(report, name)
        .into_iter()
        .find(|c| c["status"] == "problem" && c["message"].as_str().unwrap_or("").contains(what))
        .unwrap_or_else(|| panic!("no {name} problem with {what:?} in {report:#}"));
    found["fix"]
        .as_str()
        .unwrap_or_else(|| panic!("the {name} problem has no fix: {found}"))
        .to_string()
}

fn write_config(env: &TestEnv, text: &str) {
    std::fs::create_dir_all(&env.base).expect("mkdir");
    std::fs::write(env.config_file(), text).expect("write the config");
}

#[test]
fn a_healthy_setup_has_no_problem_and_the_text_output_reads_well() {
    let env = TestEnv::new();
    env.tf_ok(["status"]);
    let (code, report) = doctor(&env);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["problems"], 0);
    for name in ["config", "socket", "daemon", "settings", "http", "sync"] {
        assert!(
            checks(&report, name).iter().all(|c| c["status"] == "ok"),
            "{name}: {report:#}"
        );
    }
    // Warnings for what is merely not set up, each with its fix.
    let service = checks(&report, "service");
    assert_eq!(service[0]["status"], "warn", "{report:#}");
    assert_eq!(service[0]["fix"], "tf daemon install");
    let out = env.tf(["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ok      daemon     running"), "{text}");
    assert!(text.contains("fix: tf daemon install"), "{text}");
    assert!(text.contains("\n0 problems, "), "{text}");
}

#[test]
fn a_daemon_that_is_not_running_or_left_a_dead_socket() {
    let mut env = TestEnv::new();
    let (code, report) = doctor(&env);
    assert_eq!(code, 1);
    let fix = assert_problem(&report, "daemon", "not running");
    assert!(fix.starts_with("tf daemon start"), "{fix}");
    assert!(!env.socket().exists(), "doctor must not start the daemon");
    // Killed: the socket stays, nobody answers.
    env.start_daemon();
    let mut child = env.daemon.take().expect("daemon");
    child.kill().expect("kill");
    child.wait().expect("reap");
    let (_, report) = doctor(&env);
    assert_problem(&report, "daemon", "nobody answers");
}

#[test]
fn an_open_socket_or_socket_directory() {
    let env = TestEnv::new();
    env.tf_ok(["status"]);
    std::fs::set_permissions(&env.base, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (code, report) = doctor(&env);
    assert_eq!(code, 1);
    let fix = assert_problem(&report, "socket", "open to others (mode 755)");
    assert_eq!(fix, format!("chmod 700 {}", env.base.display()));
    std::fs::set_permissions(&env.base, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::set_permissions(env.socket(), std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let (_, report) = doctor(&env);
    let fix = assert_problem(&report, "socket", "mode 666");
    assert_eq!(fix, format!("chmod 600 {}", env.socket().display()));
}

#[test]
fn a_bad_config_file_and_settings_that_differ_from_the_daemons() {
    let env = TestEnv::new();
    env.tf_ok(["status"]);
    let (_, report) = doctor_in(&env, &[("TIMEFORGED_REPORT__WEEK_START", "sunday")], None);
    let fix = assert_problem(
        &report,
        "settings",
        "TIMEFORGED_REPORT__WEEK_START=sunday is set here, but the daemon runs with report.week_start = \"monday\"",
    );
    assert!(!fix.is_empty());
    write_config(&env, "[report]\nweek_start = \"fri\"\n");
    let (code, report) = doctor(&env);
    assert_eq!(code, 1);
    assert_problem(&report, "config", "config.toml:2:14: report.week_start");
    // The daemon was asked by nobody to reload, but its watcher saw the file.
    let report = wait_for("the daemon to refuse the file", || {
        let (_, r) = doctor(&env);
        checks(&r, "settings")
            .iter()
            .any(|c| c["status"] == "problem")
            .then_some(r)
    });
    assert_problem(&report, "settings", "the daemon could not load its config");
}

#[test]
fn a_shell_without_the_hook() {
    let env = TestEnv::new();
    env.tf_ok(["status"]);
    let home = env.scratch();
    let (code, report) = doctor_in(&env, &[("SHELL", "/bin/zsh")], None);
    assert_eq!(code, 1);
    let fix = assert_problem(&report, "shell", "does not load the zsh hook");
    assert!(
        fix.contains(&format!(
            "echo 'eval \"$(tf init zsh)\"' >> {}/.zshrc",
            home.display()
        )),
        "{fix}"
    );
    std::fs::write(home.join(".zshrc"), "eval \"$(tf init zsh)\"\n").expect("write .zshrc");
    let (_, report) = doctor_in(&env, &[("SHELL", "/bin/zsh")], None);
    let shell = checks(&report, "shell");
    assert_eq!(
        shell[0]["status"], "warn",
        "loaded, but no shell seen: {report:#}"
    );
}

#[test]
fn a_missing_watch_root_and_a_full_inotify_table() {
    let env = TestEnv::new();
    let code_dir = env.scratch().join("code");
    for d in ["a/x", "b/y", "c/z"] {
        std::fs::create_dir_all(code_dir.join(d)).expect("mkdir");
    }
    let missing = env.scratch().join("gone");
    write_config(
        &env,
        &format!(
            "[watch]\nroots = [\"{}\", \"{}\"]\nmax_watches = 2\n",
            code_dir.display(),
            missing.display()
        ),
    );
    env.tf_ok(["status"]);
    let report = wait_for("the watcher to hit its limit", || {
        let (_, r) = doctor(&env);
        checks(&r, "inotify")
            .iter()
            .any(|c| c["status"] == "problem")
            .then_some(r)
    });
    let fix = assert_problem(&report, "watch", "No such file or directory");
    assert!(fix.contains("[watch] roots"), "{fix}");
    let fix = assert_problem(&report, "inotify", "");
    assert!(fix.contains("fs.inotify.max_user_watches"), "{fix}");
}

#[test]
fn git_hooks_that_git_cannot_run() {
    if !git_cli::have_git() {
        return;
    }
    let env = TestEnv::new();
    env.tf_ok(["status"]);
    let repo = env.scratch().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git_cli::git_ok(&env, &repo, &["init", "-q"]);
    let (_, report) = doctor_in(&env, &[], Some(&repo));
    assert_eq!(checks(&report, "git")[0]["status"], "warn", "{report:#}");
    let out = env
        .tf_cmd(["git", "install"])
        .current_dir(&repo)
        .output()
        .expect("tf git install");
    assert!(out.status.success(), "{}", show(&out));
    let (_, report) = doctor_in(&env, &[], Some(&repo));
    assert_eq!(checks(&report, "git")[0]["status"], "ok", "{report:#}");
    let hook = repo.join(".git/hooks/post-commit");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, report) = doctor_in(&env, &[], Some(&repo));
    assert_eq!(code, 1);
    let fix = assert_problem(&report, "git", "is not executable");
    assert_eq!(fix, "tf git install");
}

#[test]
fn a_wakatime_config_with_the_wrong_key_or_port() {
    let env = TestEnv::new();
    let status = env.tf_json(["status", "--json"]);
    let addr = status["http"].as_str().expect("http address").to_string();
    let cfg = env.scratch().join(".wakatime.cfg");
    std::fs::write(
        &cfg,
        format!("[settings]\napi_url = http://{addr}/api/v1\napi_key = 00000000-0000-4000-8000-000000000000\n"),
    )
    .expect("write");
    let (code, report) = doctor(&env);
    assert_eq!(code, 1);
    let fix = assert_problem(&report, "wakatime", "another api_key");
    assert_eq!(fix, "tf setup wakatime");
    env.tf_ok(["setup", "wakatime"]);
    let (_, report) = doctor(&env);
    assert_eq!(checks(&report, "wakatime")[0]["status"], "ok", "{report:#}");
    std::fs::write(
        &cfg,
        "[settings]\napi_url = http://127.0.0.1:1/api/v1\napi_key = x\n",
    )
    .expect("write");
    let (_, report) = doctor(&env);
    assert_problem(&report, "wakatime", "but the daemon listens on");
}

#[test]
fn an_http_port_taken_by_another_program() {
    let mut env = TestEnv::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    env.set_env("TIMEFORGED_HTTP__LISTEN", &addr);
    env.tf_ok(["status"]);
    let (code, report) = doctor(&env);
    assert_eq!(code, 1);
    let fix = assert_problem(
        &report,
        "http",
        &format!("cannot listen for HTTP on {addr}"),
    );
    assert!(fix.contains("http.listen"), "{fix}");
}

#[test]
fn a_sync_server_that_cannot_be_reached() {
    let env = TestEnv::new();
    // Port 1 on loopback: refused at once.
    write_config(
        &env,
        "[sync]\nurl = \"http://127.0.0.1:1\"\napi_key = \"k\"\n",
    );
    env.tf_ok(["status"]);
    wait_for("sync to fail", || {
        let s = env.tf_json(["status", "--json"]);
        s["sync"][0]["last_error"].is_string().then_some(())
    });
    let (code, report) = doctor(&env);
    assert_eq!(code, 1);
    let fix = assert_problem(&report, "sync", "http://127.0.0.1:1");
    assert!(fix.contains("reachable"), "{fix}");
}

#[test]
fn a_service_whose_daemon_binary_is_gone() {
    let env = TestEnv::new();
    env.tf_ok(["daemon", "install", "--no-enable"]);
    env.tf_ok(["status"]);
    let (_, report) = doctor(&env);
    assert_eq!(checks(&report, "service")[0]["status"], "ok", "{report:#}");
    let unit = env
        .scratch()
        .join(".config/systemd/user/timeforged.service");
    let text = std::fs::read_to_string(&unit).expect("unit");
    let moved: String = text
        .lines()
        .map(|l| match l.starts_with("ExecStart=") {
            true => "ExecStart=/nonexistent/timeforged run".to_string(),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&unit, moved).expect("write");
    let (code, report) = doctor(&env);
    assert_eq!(code, 1);
    let fix = assert_problem(&report, "service", "/nonexistent/timeforged");
    assert!(fix.starts_with("tf daemon install"), "{fix}");
}
