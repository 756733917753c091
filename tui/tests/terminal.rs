//! The real terminal is restored on every way out. The test re-runs itself (this test binary,
//! `--exact` its own name) under `script` (a real pseudo-terminal), where the same test, seeing
//! the child variable, drives `run_in_terminal` to a normal quit and to a panic inside the
//! source; the parent checks the escape sequences and the raw mode after.

use std::process::Command;
use std::sync::mpsc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use timeforged_tui::{Data, Input, Load, Options, Source, TodayData, run_in_terminal_with};

const CHILD: &str = "TIMEFORGED_TUI_TERMINAL_CHILD";

struct Script {
    panic: bool,
}

impl Source for Script {
    fn load(&mut self, _: &Load) -> Result<Data, String> {
        if self.panic {
            panic!("boom from the source");
        }
        Ok(Data::Today(TodayData {
            label: "Wed 25 Nov 2026".into(),
            total_seconds: 3600.0,
            ..TodayData::default()
        }))
    }
}

/// The child's side, inside the pseudo-terminal: runs the dashboard to a quit (or a panic in
/// the source) and prints what the parent checks.
fn child_runs_the_dashboard(mode: &str) {
    let (tx, rx) = mpsc::channel();
    let mut source = Script {
        panic: mode == "panic",
    };
    tx.send(Input::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )))
    .expect("queue q");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_in_terminal_with(&mut source, tx, rx, Options { color: false })
    }));
    if let Ok(Err(e)) = &outcome {
        println!("CHILD-ERROR {e}");
    }
    let raw = crossterm::terminal::is_raw_mode_enabled().unwrap_or(true);
    println!(
        "CHILD-DONE mode={mode} panicked={} ok={} raw={raw}",
        outcome.is_err(),
        matches!(outcome, Ok(Ok(()))),
    );
}

fn run_child(mode: &str) -> Option<String> {
    let exe = std::env::current_exe().expect("test binary path");
    let command = format!(
        "{} --exact terminal_is_restored_on_quit_and_on_panic --nocapture --test-threads 1",
        exe.display()
    );
    // `timeout` so that a regression (a thread blocked on the terminal) fails instead of hanging.
    let output = Command::new("timeout")
        .args([
            "--kill-after=5",
            "60",
            "script",
            "-qec",
            &command,
            "/dev/null",
        ])
        .env(CHILD, mode)
        .env("TERM", "xterm-256color")
        .output();
    // 127: `timeout` could not find `script`.
    let output = match output {
        Ok(o) if o.status.code() == Some(127) => Err(std::io::Error::other("script not found")),
        other => other,
    };
    match output {
        Ok(o) => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        Err(e) => {
            if std::env::var_os("TIMEFORGED_REQUIRE_ALL").is_some() {
                panic!("`timeout` and `script` (util-linux) are required: {e}");
            }
            eprintln!(
                "SKIPPED: terminal restore test needs `timeout` and `script` (util-linux): {e}"
            );
            None
        }
    }
}

#[test]
fn terminal_is_restored_on_quit_and_on_panic() {
    // Re-run of this very test under `script` (below): play the child and stop there.
    if let Ok(mode) = std::env::var(CHILD) {
        child_runs_the_dashboard(&mode);
        return;
    }
    for mode in ["quit", "panic"] {
        let Some(out) = run_child(mode) else {
            return;
        };
        let enter_alt = out.find("\x1b[?1049h");
        let leave_alt = out.rfind("\x1b[?1049l");
        assert!(
            enter_alt.is_some(),
            "{mode}: never entered the alternate screen:\n{out:?}"
        );
        assert!(
            leave_alt > enter_alt,
            "{mode}: alternate screen not left:\n{out:?}"
        );
        assert!(
            out.contains("\x1b[?1000h"),
            "{mode}: mouse capture never enabled:\n{out:?}"
        );
        assert!(
            out.contains("\x1b[?1000l"),
            "{mode}: mouse capture not disabled:\n{out:?}"
        );
        assert!(
            out.contains("\x1b[?25h"),
            "{mode}: cursor not shown again:\n{out:?}"
        );
        let done = out
            .lines()
            .find(|l| l.contains("CHILD-DONE"))
            .unwrap_or_else(|| panic!("{mode}: child did not finish:\n{out:?}"));
        assert!(
            done.contains("raw=false"),
            "{mode}: raw mode left on: {done}"
        );
        if mode == "panic" {
            assert!(done.contains("panicked=true"), "{done}");
            // The message is printed after the screen is restored, so it stays readable.
            let message = out
                .find("boom from the source")
                .expect("panic message shown");
            assert!(
                message > leave_alt.unwrap_or(0),
                "panic message drawn on the alternate screen"
            );
        } else {
            assert!(done.contains("ok=true"), "{done}");
        }
    }
}
