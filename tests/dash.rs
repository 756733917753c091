//! `tf dash` end to end: the real daemon, the real `tf dash` in a tmux pane, heartbeats sent
//! over the socket, and the screen read back with `capture-pane` to see the numbers change.

mod common;

use common::{TestEnv, hb, noon_zone, now_secs, wait_for};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

/// A tmux server of its own running `tf dash` in one pane.
struct Dash {
    socket: PathBuf,
}

impl Dash {
    fn start(env: &TestEnv, cols: u16, rows: u16, extra_env: &[(&str, &str)]) -> Option<Dash> {
        let found = Command::new("tmux")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            common::skip("tmux is not installed");
            return None;
        }
        let socket = env.scratch().join("dash-tmux.sock");
        let conf = env.scratch().join("dash-tmux.conf");
        std::fs::write(&conf, "set -g remain-on-exit on\nset -g status off\n").unwrap();
        let mut cmd = Command::new("tmux");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", env.scratch())
            .arg("-u")
            .arg("-S")
            .arg(&socket)
            .arg("-f")
            .arg(&conf)
            .args([
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .args(["env", "-i"]);
        let mut vars: Vec<(String, String)> = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), env.scratch().display().to_string()),
            ("TERM".into(), "screen-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TZ".into(), env.tz.clone()),
            ("TIMEFORGED_DIR".into(), env.base.display().to_string()),
        ];
        vars.extend(env.env.iter().cloned());
        vars.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        for (k, v) in vars {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.arg(common::TF).arg("dash");
        let out = cmd.output().expect("start tmux");
        assert!(out.status.success(), "tmux: {}", common::show(&out));
        Some(Dash { socket })
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// The screen with its colour and style escapes.
    fn styled_screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-e", "-p", "-t", "t"]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    fn wait_for_text(&self, what: &str) -> String {
        wait_for(&format!("{what:?} on the dashboard"), || {
            let s = self.screen();
            s.contains(what).then_some(s)
        })
    }

    fn dead(&self) -> bool {
        let out = self.tmux(&["display-message", "-p", "-t", "t", "#{pane_dead}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Dash {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Heartbeats every minute for `minutes`, ending now, on `project`.
fn work(env: &TestEnv, project: &str, minutes: u32) {
    work_until(env, project, minutes, now_secs());
}

/// `minutes` of work on `project` ending at `end` (unix seconds).
fn work_until(env: &TestEnv, project: &str, minutes: u32, end: f64) {
    let beats: Vec<_> = (0..=minutes)
        .map(|m| {
            hb(
                end - 60.0 * f64::from(minutes - m),
                &format!("/src/{project}/main.rs"),
                project,
                "Rust",
            )
        })
        .collect();
    env.connect().heartbeats(&beats);
}

#[test]
fn the_dashboard_follows_heartbeats_and_daemon_restarts() {
    let (tz, _) = noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    env.start_daemon();
    work(&env, "alpha", 30);
    let Some(dash) = Dash::start(&env, 120, 40, &[]) else {
        return;
    };
    let screen = dash.wait_for_text("alpha");
    assert!(
        screen.contains("Today") && screen.contains("30m"),
        "{screen}"
    );

    // A new project shows up by itself: pushed by the daemon, no key pressed.
    let sent = Instant::now();
    work(&env, "beta-project", 10);
    dash.wait_for_text("beta-project");
    eprintln!("heartbeat → screen: {:?}", sent.elapsed());

    // The daemon goes away: the dashboard says so, and comes back with it.
    env.terminate_daemon();
    dash.wait_for_text("unreachable");
    env.start_daemon();
    dash.wait_for_text("live");
    work(&env, "gamma-after-restart", 5);
    dash.wait_for_text("gamma-after-restart");

    // Views and help by key.
    dash.keys(&["2"]);
    dash.wait_for_text("daily average");
    dash.keys(&["3"]);
    dash.wait_for_text("Calendar");
    dash.keys(&["4"]);
    dash.wait_for_text("Branches");
    dash.keys(&["?"]);
    dash.wait_for_text("help");
    dash.keys(&["Escape"]);
    dash.keys(&["q"]);
    wait_for("tf dash to exit on q", || dash.dead().then_some(()));
}

#[test]
fn no_color_tiny_terminals_and_odd_names_do_not_break_it() {
    let (tz, _) = noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    env.start_daemon();
    let long = "x".repeat(300);
    // One after the other, ten minutes apart: at the same times, all but one would get no time
    // (or a millisecond, depending on how fast the daemon answered).
    let now = now_secs();
    for (i, p) in ["🚀-rocket-😀", "עברית-פרויקט", long.as_str()]
        .into_iter()
        .enumerate()
    {
        work_until(&env, p, 3, now - 600.0 * (2 - i) as f64);
    }
    let Some(dash) = Dash::start(&env, 80, 24, &[("NO_COLOR", "1")]) else {
        return;
    };
    let screen = dash.wait_for_text("rocket");
    assert!(
        screen.contains("עברית") || screen.contains("תירבע"),
        "{screen}"
    );
    let styled = dash.styled_screen();
    // Foreground/background colour escapes: 30–37, 38;…, 40–47, 48;…, 90–97.
    let colored = regex_like_color(&styled);
    assert!(!colored, "NO_COLOR is honoured: {styled:?}");
    for (cols, rows) in [(20, 5), (200, 60), (1, 1), (80, 24)] {
        dash.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
        std::thread::sleep(std::time::Duration::from_millis(150));
        assert!(
            !dash.dead(),
            "tf dash died at {cols}x{rows}: {}",
            dash.screen()
        );
    }
    dash.wait_for_text("rocket");
    dash.keys(&["q"]);
    wait_for("tf dash to exit", || dash.dead().then_some(()));
}

fn regex_like_color(s: &str) -> bool {
    s.split("\u{1b}[").skip(1).any(|seq| {
        let params = seq.split('m').next().unwrap_or("");
        params.split(';').any(|p| {
            matches!(
                p.parse::<u32>(),
                Ok(30..=37 | 38 | 40..=47 | 48 | 90..=97 | 100..=107)
            )
        })
    })
}
