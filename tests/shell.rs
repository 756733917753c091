//! Shell integration with real shells: zsh, bash and fish run interactively under tmux with
//! the hook printed by `tf init`, and the events they record are checked in the spool (where
//! every event goes first) and as heartbeats in a real daemon.
//!
//! Each test runs once per shell (`events_describe_each_command::zsh` …); a missing shell or
//! tmux is SKIPPED, or fails the run under TIMEFORGED_REQUIRE_ALL=1.

mod common;
#[path = "common/shell.rs"]
mod harness;

use common::{TF, TestEnv, now_secs, wait_for};
use harness::{
    HangUp, Rc, Session, Shell, Spooled, events_of, find, git_repo, have, have_shell, mode,
    session_processes, spool_events, stat_field,
};
use serde_json::Value;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

/// One test per shell for each behaviour below.
macro_rules! per_shell {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn zsh() {
                super::$name(super::Shell::Zsh)
            }
            #[test]
            fn bash() {
                super::$name(super::Shell::Bash)
            }
            #[test]
            fn fish() {
                super::$name(super::Shell::Fish)
            }
        }
    )*};
}

per_shell!(
    events_describe_each_command,
    sourcing_twice_sends_each_event_once,
    users_prompt_hooks_still_see_status_and_last_argument,
    hooks_print_nothing,
    hooks_print_nothing_when_the_daemon_hangs_up,
    daemon_down_spools_privately_and_the_daemon_drains_it,
    strange_commands_and_directories_give_valid_json,
    huge_command_lines_are_cut_and_the_shell_goes_on,
    an_unwritable_spool_is_silently_skipped,
    the_daemon_records_project_branch_category_and_status,
    disabled_by_environment,
    strict_shell_options_do_not_break_the_hooks,
    tf_status_shows_what_a_shell_runs_at_once,
);

fn sq(path: &Path) -> String {
    format!("'{}'", path.display())
}

/// The fields every event carries, checked against the session.
fn assert_envelope(e: &Value, s: &Session) {
    assert_eq!(e["v"], 1, "{e}");
    assert_eq!(e["type"], "shell", "{e}");
    assert_eq!(e["shell"], s.shell.name(), "{e}");
    assert_eq!(e["pid"], s.pid, "{e}");
    assert_eq!(e["tty"], s.tty.as_str(), "{e}");
    let time = e["time"].as_f64().expect("time is a number");
    assert!((time - now_secs()).abs() < 120.0, "time is now: {e}");
}

fn time(e: &Value, field: &str) -> f64 {
    e[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is a number: {e}"))
}

// ---------------------------------------------------------------------------------------------

fn events_describe_each_command(shell: Shell) {
    if !have_shell(shell, "events_describe_each_command") {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let repo = env.scratch().join("work/myproj");
    git_repo(&repo, "feature/shell");
    let s = Session::start(&env, shell, &Rc::default());
    let home = s.home.display().to_string();

    let cd = format!("cd {}", sq(&repo));
    s.run(&cd);
    let commands = [
        ("true", 0),
        ("false", 1),
        ("sh -c 'exit 3'", 3),
        ("sleep 0.3", 0),
    ];
    for (command, status) in commands {
        let seen = s.run(command);
        assert!(seen.starts_with(&status.to_string()), "{command}: {seen}");
    }
    // Empty lines send nothing: a sentinel after them shows that nothing came before it.
    s.enter();
    s.enter();
    s.run("echo sentinel");
    let mut all: Vec<&str> = commands.iter().map(|(c, _)| *c).collect();
    all.extend([cd.as_str(), "echo sentinel"]);
    let events = rec.wait_commands(&all);

    for (command, status) in commands {
        let start = find(&events, "start", command).unwrap_or_else(|| panic!("start {command}"));
        let end = find(&events, "end", command).unwrap_or_else(|| panic!("end {command}"));
        for e in [start, end] {
            assert_envelope(e, &s);
            assert_eq!(e["cwd"], repo.display().to_string(), "{e}");
        }
        for field in ["start", "status"] {
            assert!(start.get(field).is_none_or(Value::is_null), "{start}");
        }
        assert_eq!(end["status"], status, "{end}");
        let (started, t0, t1) = (time(start, "time"), time(end, "start"), time(end, "time"));
        assert!(t0 <= t1, "start <= time: {end}");
        match shell {
            // Both events carry the same $EPOCHREALTIME reading.
            Shell::Zsh | Shell::Bash => assert_eq!(t0, started, "{start}\n{end}"),
            // fish has no clock: `tf hook` reads it, and derives the start from $CMD_DURATION.
            Shell::Fish => assert!((t0 - started).abs() < 2.0, "{start}\n{end}"),
        }
    }
    let sleep = find(&events, "end", "sleep 0.3").unwrap();
    let ran = time(sleep, "time") - time(sleep, "start");
    assert!(
        (0.29..10.0).contains(&ran),
        "sleep 0.3 ran {ran} s: {sleep}"
    );

    // A `cd` is described where it started, not where it left the shell.
    let cd_end = find(&events, "end", &cd).expect("the cd's end");
    assert_eq!(cd_end["cwd"], home, "{cd_end}");

    // Two events per command, none for the empty lines.
    assert_eq!(events.len(), 2 * (commands.len() + 2), "{events:#?}");
}

fn sourcing_twice_sends_each_event_once(shell: Shell) {
    if !have_shell(shell, "sourcing_twice_sends_each_event_once") {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let rc = Rc {
        loads: 2,
        ..Rc::default()
    };
    let s = Session::start(&env, shell, &rc);
    s.run("true");
    s.run("false");
    // Loading it a third time at the prompt, as a user reloading the rc would.
    let reload = match shell {
        Shell::Zsh => "eval \"$(\"$TF\" init zsh)\"",
        Shell::Bash => "eval \"$(\"$TF\" init bash)\"",
        Shell::Fish => "command $TF init fish | source",
    };
    s.run(reload);
    s.run("echo sentinel");
    let events = rec.wait_commands(&["true", "false", reload, "echo sentinel"]);
    for command in ["true", "false", reload, "echo sentinel"] {
        let mine = events_of(&events, command);
        assert_eq!(mine.len(), 2, "{command}: {mine:#?}");
        assert!(find(&events, "start", command).is_some(), "{command}");
    }
    assert_eq!(events.len(), 8, "{events:#?}");
}

fn users_prompt_hooks_still_see_status_and_last_argument(shell: Shell) {
    if !have_shell(
        shell,
        "users_prompt_hooks_still_see_status_and_last_argument",
    ) {
        return;
    }
    let env = TestEnv::new();
    let s = Session::start(&env, shell, &Rc::default());
    let last = |kind: &str| -> String {
        s.prompt_log()
            .iter()
            .rev()
            .find(|l| l.starts_with(kind))
            .map(|l| l[kind.len() + 1..].to_string())
            .unwrap_or_default()
    };
    // The user's hooks, added before and after the hook, see the command's status and its
    // pipeline's.
    for (command, want) in [
        ("false", "1 1"),
        ("true", "0 0"),
        ("sh -c 'exit 7'", "7 7"),
        ("false | true", "0 1 0"),
        ("true | false", "1 0 1"),
    ] {
        let after = s.run(command);
        assert_eq!(last("before"), want, "before-hook for {command}");
        // In bash the after-hook is a PROMPT_COMMAND entry after the hook's: like any entry
        // after another, it sees that one's status, which the hook passes on, as a pipeline
        // of one.
        let status = want.split(' ').next().unwrap();
        let want_after = match shell {
            Shell::Bash => format!("{status} {status}"),
            _ => want.to_string(),
        };
        assert_eq!(after, want_after, "after-hook for {command}");
    }
    // $? and $_ at the next command line are the previous line's.
    let last_arg = match shell {
        Shell::Fish => None, // fish has no $_ (it is the running command's name)
        _ => Some("echo \"last=$_\""),
    };
    s.run("sh -c 'exit 5'");
    let status_check = match shell {
        Shell::Fish => "echo \"status=$status\"",
        _ => "echo \"status=$?\"",
    };
    s.run(status_check);
    if let Some(check) = last_arg {
        s.run("echo one two");
        s.run(check);
    }
    // $! (fish: $last_pid) and the job table are the user's: the hook's own children are not
    // jobs.
    let job = match shell {
        Shell::Zsh => "echo \"bg=$! jobs=${#jobstates}:${${jobstates[1]#*:*:}%%=*}\"",
        Shell::Bash => "j=($(jobs -p)); echo \"bg=$! jobs=${#j[@]}:${j[*]}\"",
        Shell::Fish => "set j (jobs -p); echo \"bg=$last_pid jobs=\"(count $j)\":$j\"",
    };
    s.run("sleep 30 &");
    s.run(job);
    s.run("kill %1");
    let screen = s.screen();
    assert!(screen.contains("status=5"), "{screen}");
    if last_arg.is_some() {
        assert!(screen.contains("last=two"), "{screen}");
    }
    let bg = screen
        .lines()
        .find(|l| l.starts_with("bg="))
        .unwrap_or_else(|| panic!("no bg= line: {screen}"));
    let (pid, jobs) = bg["bg=".len()..]
        .split_once(" jobs=")
        .expect("bg= and jobs=");
    assert!(!pid.is_empty(), "{bg}");
    assert_eq!(jobs, format!("1:{pid}"), "$! is the user's only job: {bg}");
}

/// The screen after a few commands shows the prompts, the commands and their own output only,
/// with the daemon consuming the events and without it.
fn hooks_print_nothing(shell: Shell) {
    if !have_shell(shell, "hooks_print_nothing") {
        return;
    }
    for daemon in [true, false] {
        let mut env = TestEnv::new();
        if daemon {
            env.start_daemon();
        }
        let s = Session::start(&env, shell, &Rc::default());
        s.run("true");
        s.run("false");
        s.enter();
        s.run("echo out");
        s.run("ls /nonexistent-dir-for-a-test 2>&1 | wc -l");
        s.run("cd /");
        s.run("echo sentinel");
        if daemon {
            wait_for_heartbeats(&env, shell, |all| all.iter().any(|h| h["entity"] == "echo"));
        } else {
            Spooled::of(&env).wait_commands(&[
                "true",
                "false",
                "echo out",
                "cd /",
                "echo sentinel",
            ]);
        }
        let want = "$ true\n$ false\n$\n$ echo out\nout\n\
                    $ ls /nonexistent-dir-for-a-test 2>&1 | wc -l\n1\n\
                    $ cd /\n$ echo sentinel\nsentinel\n$";
        assert_eq!(s.screen(), want, "daemon up: {daemon}");
    }
}

/// A daemon that accepts and closes at once (or dies mid-send) costs no event: the hooks do not
/// talk to it, they append to the spool, and the shell goes on, silent.
fn hooks_print_nothing_when_the_daemon_hangs_up(shell: Shell) {
    if !have_shell(shell, "hooks_print_nothing_when_the_daemon_hangs_up") {
        return;
    }
    let env = TestEnv::new();
    let hang_up = HangUp::listen(&env);
    let s = Session::start(&env, shell, &Rc::default());
    for _ in 0..3 {
        s.run("true");
    }
    s.run("echo still here");
    assert!(s.alive(), "the shell died");
    let events = Spooled::of(&env).wait("every event in the spool", |evs| {
        events_of(evs, "true").len() == 6 && events_of(evs, "echo still here").len() == 2
    });
    assert_eq!(events.len(), 8, "{events:#?}");
    let want = "$ true\n$ true\n$ true\n$ echo still here\nstill here\n$";
    assert_eq!(s.screen(), want);
    assert_eq!(hang_up.accepted(), 0, "a hook connected to the socket");
}

fn daemon_down_spools_privately_and_the_daemon_drains_it(shell: Shell) {
    if !have_shell(
        shell,
        "daemon_down_spools_privately_and_the_daemon_drains_it",
    ) {
        return;
    }
    let mut env = TestEnv::new();
    let repo = env.scratch().join("work/offline");
    git_repo(&repo, "fix/offline");
    let spool = env.base.join("spool.jsonl");
    // No daemon and no TIMEFORGED_DIR yet: the hook creates the directory (0700) itself.
    assert!(!env.base.exists());
    let s = Session::start(&env, shell, &Rc::default());
    s.run(&format!("cd {}", sq(&repo)));
    let started = std::time::Instant::now();
    s.run("make all");
    s.run("git status --short");
    s.run("echo sentinel");
    // Each command came back at once, without waiting for a daemon.
    assert!(started.elapsed().as_secs_f64() < 10.0);
    let commands = ["make all", "git status --short", "echo sentinel"];
    let spooled = wait_for("the spooled events", || {
        let evs = spool_events(&spool);
        commands
            .iter()
            .all(|c| find(&evs, "start", c).is_some() && find(&evs, "end", c).is_some())
            .then_some(evs)
    });
    for command in commands {
        for kind in ["start", "end"] {
            let e = find(&spooled, kind, command).unwrap_or_else(|| panic!("{kind} {command}"));
            assert_envelope(e, &s);
            assert_eq!(e["cwd"], repo.display().to_string());
        }
    }
    assert_eq!(mode(&spool), 0o600, "the spool is private");
    assert_eq!(mode(&env.base), 0o700, "its directory too");

    // The daemon consumes it at start: the commands become heartbeats, and nothing waits.
    env.start_daemon();
    let beats = wait_for_heartbeats(&env, shell, |all| {
        ["make", "git"]
            .iter()
            .all(|p| all.iter().any(|h| h["entity"] == *p))
    });
    let make = beats.iter().find(|h| h["entity"] == "make").unwrap();
    assert_eq!(make["project"], "offline", "{make}");
    assert_eq!(make["branch"], "fix/offline", "{make}");
    assert_eq!(make["category"], "building", "{make}");
    wait_for("the spool to be consumed", || {
        (env.connect().status()["spool"]["pending_bytes"] == 0).then_some(())
    });
    drop(s);
}

/// Quotes, backslashes, newlines, tabs, control bytes, non-ASCII and invalid UTF-8 in commands
/// and directories: every line sent is JSON, and says what was typed.
fn strange_commands_and_directories_give_valid_json(shell: Shell) {
    if !have_shell(shell, "strange_commands_and_directories_give_valid_json") {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let s = Session::start(&env, shell, &Rc::default());
    let scratch = env.scratch().join("dirs");
    std::fs::create_dir_all(&scratch).unwrap();

    // Typed as is.
    let mut typed = vec![
        r#"echo "dq \" sq ' bs \\ end""#.to_string(),
        "echo 'héllo wörld ✓ 日本 😀'".to_string(),
        "echo 'two\nlines'".to_string(),
    ];
    if shell == Shell::Fish {
        typed.push(r"echo 'back\\slash'".to_string());
    }
    for line in &typed {
        s.run(line);
    }

    // A tab and a control byte, typed with quoted-insert (fish has none by default).
    let mut expected: Vec<String> = typed.clone();
    if shell != Shell::Fish {
        let n = s.prompts();
        s.type_text("echo 'a");
        s.keys(&["C-v", "Tab"]);
        s.type_text("b");
        s.keys(&["C-v", "C-a"]);
        s.type_text("c'");
        s.keys(&["Enter"]);
        s.wait_prompts(n + 1, true);
        expected.push("echo 'a\tb\u{1}c'".to_string());
    }

    // Invalid UTF-8 in the line itself, put in the editor by the shell.
    if shell != Shell::Fish {
        let push = match shell {
            Shell::Zsh => r"print -z $'echo \xff-\xe2\x82-ok'",
            _ => r"history -s $'echo \xff-\xe2\x82-ok'",
        };
        let n = s.prompts();
        s.type_text(&format!("{push}\n"));
        s.wait_prompts(n + 1, shell == Shell::Bash);
        if shell == Shell::Bash {
            s.keys(&["Up"]);
        }
        s.keys(&["Enter"]);
        s.wait_prompts(n + 2, true);
        expected.push(String::from_utf8_lossy(b"echo \xff-\xe2\x82-ok").into_owned());
    }

    // A directory that is not UTF-8, and one deleted while the shell sits in it.
    let bad_dir = scratch.join(std::ffi::OsStr::from_bytes(b"bad-\xff-dir"));
    std::fs::create_dir(&bad_dir).unwrap();
    s.run(&format!("cd {}/bad-*", sq(&scratch)));
    s.run("echo in-bad-dir");
    let gone = scratch.join("gone");
    std::fs::create_dir(&gone).unwrap();
    s.run(&format!("cd {}", sq(&gone)));
    std::fs::remove_dir(&gone).unwrap();
    s.run("echo in-gone-dir");
    s.run("echo sentinel");
    let mut all: Vec<&str> = expected.iter().map(String::as_str).collect();
    all.extend(["echo in-bad-dir", "echo in-gone-dir", "echo sentinel"]);
    let events = rec.wait_commands(&all);

    for command in &expected {
        for kind in ["start", "end"] {
            let e = find(&events, kind, command)
                .unwrap_or_else(|| panic!("{kind} of {command:?} in {events:#?}"));
            assert_envelope(e, &s);
        }
    }
    let in_bad = find(&events, "end", "echo in-bad-dir").expect("echo in-bad-dir");
    assert_eq!(
        in_bad["cwd"],
        String::from_utf8_lossy(bad_dir.as_os_str().as_bytes()).as_ref(),
        "{in_bad}"
    );
    let in_gone = find(&events, "end", "echo in-gone-dir").expect("echo in-gone-dir");
    assert_eq!(in_gone["cwd"], gone.display().to_string(), "{in_gone}");
    assert!(s.screen().ends_with("sentinel\n$"), "{}", s.screen());
}

fn huge_command_lines_are_cut_and_the_shell_goes_on(shell: Shell) {
    if !have_shell(shell, "huge_command_lines_are_cut_and_the_shell_goes_on") {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let s = Session::start(&env, shell, &Rc::default());
    // 1 MiB of `x` after `: `, built in the shell and put in its line editor.
    let n = s.prompts();
    match shell {
        Shell::Zsh => {
            // The next prompt comes with the line already in the editor.
            s.type_text("x=x; repeat 20 x=$x$x; print -z -- \": $x\"\n");
            s.wait_prompts(n + 1, false);
            s.keys(&["Enter"]);
        }
        Shell::Bash => {
            s.run("x=x; for i in {1..20}; do x=$x$x; done");
            s.run("bind -x '\"\\C-x\": READLINE_LINE=\": $x\"'");
            s.keys(&["C-x", "Enter"]);
        }
        Shell::Fish => {
            s.run("bind \\cx 'commandline -r \": \"(string repeat -n 1048576 x)'");
            s.keys(&["C-x", "Enter"]);
        }
    }
    s.wait_prompts(n + 2, true);
    // An expansion of 1 MiB: the line is short, the command's arguments are not.
    s.run(": \"$x\"");
    s.run("echo sentinel");
    let is_huge = |e: &Value| {
        e["command"]
            .as_str()
            .is_some_and(|c| c.starts_with(": xxx"))
    };
    rec.wait("the huge line's events", |evs| {
        evs.iter().filter(|e| is_huge(e)).count() == 2
    });
    // Lines only accumulate: this holds the huge line's too.
    let events = rec.wait_commands(&[": \"$x\"", "echo sentinel"]);
    let huge: Vec<&Value> = events.iter().filter(|e| is_huge(e)).collect();
    let short = |e: &&Value| {
        let c = e["command"].as_str().unwrap_or("");
        format!(
            "{} {}… ({} bytes)",
            e["event"],
            &c[..c.len().min(40)],
            c.len()
        )
    };
    assert_eq!(
        huge.len(),
        2,
        "start and end of the huge line: {:#?}",
        events.iter().map(|e| short(&e)).collect::<Vec<_>>()
    );
    for e in huge {
        let c = e["command"].as_str().unwrap();
        assert!(
            c.len() <= 4096 && c.len() >= 4000,
            "cut to 4 KiB: {}",
            c.len()
        );
        assert!(c[2..].bytes().all(|b| b == b'x'));
    }
    assert_eq!(events_of(&events, ": \"$x\"").len(), 2);
    assert!(s.screen().ends_with("sentinel\n$"), "{}", s.screen());
}

/// The spool cannot be written: a read-only directory (for root, immutable or not a directory
/// at all), or a full disk. The shell goes on, silent.
fn an_unwritable_spool_is_silently_skipped(shell: Shell) {
    if !have_shell(shell, "an_unwritable_spool_is_silently_skipped") {
        return;
    }
    for case in ["read-only", "full"] {
        let mut env = TestEnv::new();
        std::fs::create_dir_all(&env.base).unwrap();
        let spool = env.base.join("spool.jsonl");
        match case {
            "read-only" if !common::is_root() => {
                std::fs::set_permissions(
                    &env.base,
                    std::os::unix::fs::PermissionsExt::from_mode(0o500),
                )
                .unwrap();
            }
            "read-only" => {
                // chattr needs a file system that has it; else a directory in the spool's
                // place, which no one can append to.
                let base = env.base.clone();
                if !env.make_immutable(&base) {
                    std::fs::create_dir(&spool).unwrap();
                }
            }
            _ => std::os::unix::fs::symlink("/dev/full", &spool).unwrap(),
        }
        let s = Session::start(&env, shell, &Rc::default());
        s.run("true");
        s.run("echo works");
        // The background `tf hook` of bash and fish must not print late either: wait until
        // its attempts are over (no process left in the shell's session) before reading the
        // screen.
        wait_for("the hooks' children to finish", || {
            session_processes(s.pid).is_empty().then_some(())
        });
        assert!(s.alive());
        assert_eq!(s.screen(), "$ true\n$ echo works\nworks\n$", "{case}");
        if case == "read-only" {
            assert!(
                !spool.is_file(),
                "a spool was written in a read-only directory"
            );
        }
    }
}

/// Waits until the heartbeats `shell` left in the daemon satisfy `ready`; on timeout, shows
/// them, the spool and the daemon's log.
fn wait_for_heartbeats(
    env: &TestEnv,
    shell: Shell,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the commands as heartbeats", || {
            last = env
                .connect()
                .log_all()
                .into_iter()
                .filter(|h| h["editor"] == shell.name())
                .collect();
            ready(&last).then(|| last.clone())
        })
    }));
    found.unwrap_or_else(|_| {
        panic!(
            "timed out waiting for heartbeats; stored: {last:#?}\nspool: {:?}\nlog:\n{}",
            std::fs::read_to_string(env.base.join("spool.jsonl")),
            env.log_text()
        )
    })
}

/// End to end with the real daemon: what the issue promises a user sees.
fn the_daemon_records_project_branch_category_and_status(shell: Shell) {
    if !have_shell(
        shell,
        "the_daemon_records_project_branch_category_and_status",
    ) {
        return;
    }
    let mut env = TestEnv::new();
    env.start_daemon();
    let repo = env.scratch().join("work/webapp");
    git_repo(&repo, "feature/login");
    // Stand-ins: `cargo` takes a known time, `pytest` fails. Each runs for more than a
    // millisecond: a command that starts and ends within the same millisecond loses its exit
    // status to the store's dedup (its end heartbeat has the time of its start's).
    let stand_in = match shell {
        Shell::Fish => {
            "function cargo; sleep 1.2; end\n\
             function pytest; sleep 0.05; return 1; end"
        }
        _ => "cargo() { sleep 1.2; }\npytest() { sleep 0.05; return 1; }",
    };
    let s = Session::start(&env, shell, &Rc::after(stand_in));
    s.run(&format!("cd {}", sq(&repo)));
    s.run("cargo build --release");
    s.run("pytest -x tests/");
    s.run("git log --oneline");
    let beats = wait_for_heartbeats(&env, shell, |all| {
        ["cargo", "pytest", "git"].iter().all(|p| {
            all.iter()
                .any(|h| h["entity"] == *p && h["meta"].get("exit_status").is_some())
        })
    });
    let of =
        |entity: &str| -> Vec<&Value> { beats.iter().filter(|h| h["entity"] == entity).collect() };
    for (entity, category, status) in [
        ("cargo", "building", 0),
        ("pytest", "running tests", 1),
        ("git", "coding", 0),
    ] {
        let hs = of(entity);
        for h in &hs {
            assert_eq!(h["project"], "webapp", "{h}");
            assert_eq!(h["branch"], "feature/login", "{h}");
            assert_eq!(h["category"], category, "{h}");
            assert_eq!(h["source"], "shell", "{h}");
            assert_eq!(h["type"], "command", "{h}");
            assert_eq!(h["meta"]["cwd"], repo.display().to_string(), "{h}");
            assert_eq!(h["meta"]["shell_pid"], s.pid, "{h}");
        }
        let last = hs
            .iter()
            .find(|h| h["meta"].get("exit_status").is_some())
            .unwrap();
        assert_eq!(last["meta"]["exit_status"], status, "{entity}: {last}");
    }
    // The build ran 1.2 s: its heartbeats span it.
    let times: Vec<f64> = of("cargo")
        .iter()
        .map(|h| h["time"].as_f64().unwrap())
        .collect();
    let span = times.iter().cloned().fold(f64::MIN, f64::max)
        - times.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        (1.1..10.0).contains(&span),
        "cargo's heartbeats span {span} s"
    );
    // tf status lists the shell.
    let status = env.connect().status();
    let shells = status["shells"].as_array().expect("status.shells");
    assert!(
        shells
            .iter()
            .any(|x| x["pid"] == s.pid && x["shell"] == shell.name()),
        "{status}"
    );
}

fn disabled_by_environment(shell: Shell) {
    if !have_shell(shell, "disabled_by_environment") {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let s = Session::start_in(
        &env,
        shell,
        &Rc::default(),
        &[("TIMEFORGED_SHELL_DISABLED", "1")],
    );
    s.run("echo quiet");
    // Turned back on in the session.
    let on = match shell {
        Shell::Fish => "set -e TIMEFORGED_SHELL_DISABLED",
        _ => "unset TIMEFORGED_SHELL_DISABLED",
    };
    s.run(on);
    s.run("echo sentinel");
    let events = rec.wait_commands(&["echo sentinel"]);
    assert!(events_of(&events, "echo quiet").is_empty(), "{events:#?}");
    assert_eq!(events.len(), 2, "only the sentinel: {events:#?}");
}

/// The hook under the strictest options a user might set: unset variables are errors, and in
/// zsh, options that change how scripts parse.
fn strict_shell_options_do_not_break_the_hooks(shell: Shell) {
    if !have_shell(shell, "strict_shell_options_do_not_break_the_hooks") {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let strict = match shell {
        Shell::Zsh => {
            "setopt nounset pipefail ksh_arrays sh_word_split no_clobber warn_create_global \
             warn_nested_var no_multibyte extended_glob glob_subst rc_quotes err_return"
        }
        Shell::Bash => "set -u -o pipefail\nshopt -s extdebug failglob nullglob",
        // fish has no such options; a function that fails on every prompt event stands in.
        Shell::Fish => "function _noise --on-event fish_preexec; false; end",
    };
    let rc = Rc {
        before: strict.to_string(),
        loads: 2,
        after: strict.to_string(),
    };
    let s = Session::start(&env, shell, &rc);
    s.run("false");
    s.run("echo after-false");
    s.enter();
    s.run("echo sentinel");
    let events = rec.wait_commands(&["false", "echo after-false", "echo sentinel"]);
    assert_eq!(events.len(), 6, "{events:#?}");
    assert_eq!(find(&events, "end", "false").unwrap()["status"], 1);
    assert_eq!(
        s.screen(),
        "$ false\n$ echo after-false\nafter-false\n$\n$ echo sentinel\nsentinel\n$"
    );
}

/// `tf status` lists the shell and the command it is running while it runs, and forgets the
/// command when it ends: the daemon consumes the spool as the hooks append to it.
fn tf_status_shows_what_a_shell_runs_at_once(shell: Shell) {
    if !have_shell(shell, "tf_status_shows_what_a_shell_runs_at_once") {
        return;
    }
    let mut env = TestEnv::new();
    env.start_daemon();
    let s = Session::start(&env, shell, &Rc::default());
    let running = |env: &TestEnv| -> Option<Value> {
        let status = env.connect().status();
        let shells = status["shells"].as_array().cloned().unwrap_or_default();
        shells.into_iter().find(|x| x["pid"] == s.pid)
    };
    let n = s.prompts();
    s.type_text("sleep 30\n");
    let typed = std::time::Instant::now();
    let seen = wait_for("the daemon to see sleep running", || {
        running(&env).filter(|x| x["running"] == "sleep")
    });
    let took = typed.elapsed();
    eprintln!(
        "{}: `sleep` shown as running {took:?} after Enter",
        shell.name()
    );
    assert!(took.as_secs_f64() < 5.0, "{took:?}: {seen}");
    assert_eq!(seen["shell"], shell.name(), "{seen}");
    // Interrupted once it runs: a ^C before that would go to the shell, not to sleep.
    wait_for("sleep to run", || {
        session_processes(s.pid)
            .into_iter()
            .any(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
            })
            .then_some(())
    });
    s.keys(&["C-c"]);
    s.wait_prompts(n + 1, true);
    wait_for("the daemon to see sleep end", || {
        running(&env).filter(|x| x["running"].is_null()).map(|_| ())
    });
}

// ---------------------------------------------------------------------------------------------
// Shell-specific

/// bash-preexec, when the user loads it first, calls the hook (no DEBUG trap of its own), with
/// the line as typed. Release 0.7.0, vendored in tests/fixtures (MIT); another copy can be
/// tried with TIMEFORGED_BASH_PREEXEC=/path/to/bash-preexec.sh.
#[test]
fn bash_with_bash_preexec() {
    let preexec = std::env::var_os("TIMEFORGED_BASH_PREEXEC")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/bash-preexec/bash-preexec.sh")
        });
    assert!(
        preexec.is_file(),
        "no bash-preexec.sh at {}",
        preexec.display()
    );
    if !have_shell(Shell::Bash, "bash_with_bash_preexec") {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let rc = Rc::before(&format!(
        "source {}\n_user_bp() {{ echo \"bp $?\" >> ~/prompts.log; }}\nprecmd_functions+=(_user_bp)",
        sq(&preexec)
    ));
    let s = Session::start(&env, Shell::Bash, &rc);
    // bash-preexec installs itself during the first prompt, and misses the first command
    // (its own preexec functions too).
    s.run("true");
    s.run("false | true");
    s.run("sh -c 'exit 4'");
    s.run("echo sentinel");
    let n = s.prompts();
    s.run("echo \"$(trap -p DEBUG)\" \"${preexec_functions[*]}\" > ~/state.txt");
    s.wait_prompts(n + 1, true);
    let events = rec.wait_commands(&["false | true", "sh -c 'exit 4'", "echo sentinel"]);
    assert_eq!(find(&events, "end", "sh -c 'exit 4'").unwrap()["status"], 4);
    assert!(
        s.prompt_log().iter().any(|l| l == "bp 4"),
        "{:?}",
        s.prompt_log()
    );
    let state = std::fs::read_to_string(s.home.join("state.txt")).unwrap();
    assert!(
        state.contains("__bp_preexec_invoke_exec") && !state.contains("__tf_debug"),
        "bash-preexec's DEBUG trap, not the hook's: {state}"
    );
    assert!(state.contains("__tf_bp_preexec"), "{state}");
}

/// Without bash-preexec the line comes from history; a line kept out of it
/// (HISTCONTROL=ignorespace) is named by its first command, never by an older line.
#[test]
fn bash_lines_left_out_of_history_are_still_named() {
    if !have_shell(
        Shell::Bash,
        "bash_lines_left_out_of_history_are_still_named",
    ) {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let s = Session::start(&env, Shell::Bash, &Rc::before("HISTCONTROL=ignoreboth"));
    s.run("echo first; echo second");
    s.run(" echo secret | cat");
    s.run("echo first; echo second");
    s.run("set +o history");
    s.run("echo unsaved && true");
    s.run("echo sentinel");
    let events = rec.wait_commands(&[
        "echo first; echo second",
        "echo secret",
        "echo unsaved",
        "echo sentinel",
    ]);
    // The whole line when history has it (or its duplicate); else the first simple command.
    assert_eq!(events_of(&events, "echo first; echo second").len(), 4);
    assert_eq!(events_of(&events, "echo secret").len(), 2, "{events:#?}");
    assert_eq!(events_of(&events, "echo unsaved").len(), 2, "{events:#?}");
}

/// bash: the user's own DEBUG trap keeps running, and the hook's, once.
#[test]
fn bash_keeps_the_users_debug_trap() {
    if !have_shell(Shell::Bash, "bash_keeps_the_users_debug_trap") {
        return;
    }
    let env = TestEnv::new();
    let rec = Spooled::of(&env);
    let rc = Rc::before(
        "trap '_user_trap \"$?\" \"$_\"' DEBUG\n\
         _user_trap() { [[ $BASH_COMMAND == echo* ]] && echo \"trap $1 [$2]\" >> ~/traps.log; return 0; }",
    );
    let rc = Rc { loads: 2, ..rc };
    let s = Session::start(&env, Shell::Bash, &rc);
    s.run("false");
    s.run("echo a b");
    s.run("echo c");
    let events = rec.wait_commands(&["false", "echo a b", "echo c"]);
    assert_eq!(events.len(), 6, "{events:#?}");
    let traps = std::fs::read_to_string(s.home.join("traps.log")).unwrap_or_default();
    // The user's trap saw the previous command's status and last argument.
    assert_eq!(traps, "trap 1 [false]\ntrap 0 [b]\n", "{traps}");
}

/// zsh: no process is started for an event, daemon up or down.
#[test]
fn zsh_sends_without_forking() {
    if !have_shell(Shell::Zsh, "zsh_sends_without_forking") {
        return;
    }
    for daemon in [true, false] {
        let mut env = TestEnv::new();
        if daemon {
            env.start_daemon();
        }
        let s = Session::start(&env, Shell::Zsh, &Rc::default());
        let before = reaped_children_faults(s.pid);
        for _ in 0..5 {
            s.run(":");
        }
        // Consumed or not, the lines stay in the file until it is compacted.
        let events = Spooled::of(&env).wait("ten events", |e| e.len() >= 10);
        assert_eq!(events.len(), 10, "{events:#?}");
        if daemon {
            wait_for("the daemon to see the shell", || {
                let status = env.connect().status();
                let shells = status["shells"].as_array().cloned().unwrap_or_default();
                shells.iter().any(|x| x["pid"] == s.pid).then_some(())
            });
        }
        assert_eq!(
            reaped_children_faults(s.pid),
            before,
            "zsh started a process for its hook (daemon up: {daemon})"
        );
    }
}

/// The minor page faults of the children `pid` has waited for (`cminflt` in /proc/PID/stat):
/// every child, even one that only forks and exits, adds to it, and Linux keeps no count of
/// forks. `:` is a builtin, so only a hook could move it.
fn reaped_children_faults(pid: u32) -> u64 {
    stat_field(pid, 11)
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| panic!("no cminflt for {pid}"))
}

// ---------------------------------------------------------------------------------------------
// The scripts themselves

#[test]
fn scripts_parse_and_pass_shellcheck() {
    let env = TestEnv::new();
    let dir = env.scratch();
    for shell in Shell::ALL {
        if !have(shell.name(), "scripts_parse_and_pass_shellcheck") {
            continue;
        }
        let path = dir.join(format!("hook.{}", shell.name()));
        std::fs::write(&path, harness::init_script(&env, shell)).unwrap();
        let check = match shell {
            Shell::Zsh => Command::new("zsh").arg("-n").arg(&path).output(),
            Shell::Bash => Command::new("bash").arg("-n").arg(&path).output(),
            Shell::Fish => Command::new("fish").arg("--no-execute").arg(&path).output(),
        }
        .unwrap();
        assert!(
            check.status.success(),
            "{shell:?}: {}",
            common::show(&check)
        );
    }
    if have("shellcheck", "scripts_parse_and_pass_shellcheck") {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("shell/timeforged.bash");
        let out = Command::new("shellcheck")
            .args(["-s", "bash"])
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::show(&out));
    }
}

/// Loaded by a non-interactive shell under the strictest options (as zoxide tests its own):
/// nothing happens, nothing is printed, nothing fails.
#[test]
fn scripts_do_nothing_in_non_interactive_strict_shells() {
    let env = TestEnv::new();
    for shell in Shell::ALL {
        if !have(
            shell.name(),
            "scripts_do_nothing_in_non_interactive_strict_shells",
        ) {
            continue;
        }
        let script = harness::init_script(&env, shell);
        let out = match shell {
            Shell::Zsh => Command::new("zsh")
                .args(["-f", "-e", "-u", "-o", "pipefail", "-c"])
                .arg(format!("{script}\nprint -r -- ok"))
                .output(),
            Shell::Bash => Command::new("bash")
                .args(["--norc", "--noprofile", "-e", "-u", "-o", "pipefail", "-c"])
                .arg(format!("{script}\necho ok"))
                .output(),
            Shell::Fish => Command::new("fish")
                .args(["--no-config", "-c"])
                .arg(format!("{script}\necho ok"))
                .env("HOME", env.scratch())
                .output(),
        }
        .unwrap();
        assert!(out.status.success(), "{shell:?}: {}", common::show(&out));
        assert_eq!(out.stdout, b"ok\n", "{shell:?}: {}", common::show(&out));
        assert!(out.stderr.is_empty(), "{shell:?}: {}", common::show(&out));
    }
}

/// `tf init` fills in every placeholder.
#[test]
fn init_fills_in_the_placeholders() {
    let env = TestEnv::new();
    for shell in Shell::ALL {
        let script = harness::init_script(&env, shell);
        assert!(!script.contains("@TF_"), "{shell:?}");
        if shell == Shell::Zsh {
            assert!(script.contains(&env.base.join("spool.jsonl").display().to_string()));
            // 4 × shell.spool_max_bytes (10 MiB by default).
            assert!(script.contains("_tf_spool_limit=41943040"), "{script}");
        } else {
            assert!(script.contains(TF), "{shell:?}");
        }
    }
}

/// Issue 12, item 7: the program a line runs is what is stored, and what it is classified
/// by: not its first word (`clear;`, `|` and `nobody` were stored before). The real daemon
/// records each line typed in a real shell; stand-ins for `make`, `cargo` and `sudo` sit first
/// on PATH (`nice`, `env` and `time` are the real ones and run them).
fn the_program_of_a_line_is_recorded(shell: Shell) {
    if !have_shell(shell, "the_program_of_a_line_is_recorded") {
        return;
    }
    let mut env = TestEnv::new();
    env.start_daemon();
    let home = env.scratch().join("home");
    let bin = home.join("bin");
    std::fs::create_dir_all(home.join("sub")).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    let script = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    };
    script("make", "exit 0");
    script("cargo", "exit 0");
    // Runs the rest of its arguments after `-u USER`, as sudo would.
    script(
        "sudo",
        "while [ \"${1#-}\" != \"$1\" ]; do [ \"$1\" = -u ] && shift; shift; done\nexec \"$@\"",
    );
    std::os::unix::fs::symlink(TF, bin.join("tf")).unwrap();
    let s = Session::start(&env, shell, &Rc::before("PATH=\"$HOME/bin:$PATH\""));
    let own = shell.name();
    let lines: &[(&str, &str, &str)] = &[
        ("clear; tf report", "tf", "coding"),
        ("TOKEN=x env | head -1", "env", "coding"),
        ("sudo -u nobody make", "make", "building"),
        ("time cargo test", "cargo", "running tests"),
        ("nice -n 5 make", "make", "building"),
        ("(cd sub && make)", "make", "building"),
        ("(exec cargo build)", "cargo", "building"),
        ("command make -j2", "make", "building"),
        ("builtin echo hi", "echo", "coding"),
        ("env -i A=b $HOME/bin/cargo bench", "cargo", "running tests"),
        ("echo 'a; make' \"| b\" | cat", "echo", "coding"),
        ("x=$(make); 'cargo' \"build\"", "cargo", "building"),
        ("A=1", own, "coding"),
    ];
    let ended = |all: &[Value]| -> Vec<Value> {
        let mut v: Vec<Value> = all
            .iter()
            .filter(|h| h["meta"].get("exit_status").is_some())
            .cloned()
            .collect();
        v.sort_by(|a, b| a["time"].as_f64().partial_cmp(&b["time"].as_f64()).unwrap());
        v
    };
    let mut wrong = Vec::new();
    for (i, (line, program, category)) in lines.iter().enumerate() {
        s.run(line);
        let beats = wait_for_heartbeats(&env, shell, |all| ended(all).len() > i);
        let last = ended(&beats).pop().unwrap();
        if last["entity"] != *program || last["category"] != *category {
            wrong.push(format!(
                "{line:?}: stored {} ({}), want {program} ({category})",
                last["entity"], last["category"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

mod the_program_of_a_line_is_recorded {
    #[test]
    fn zsh() {
        super::the_program_of_a_line_is_recorded(super::Shell::Zsh)
    }
    #[test]
    fn bash() {
        super::the_program_of_a_line_is_recorded(super::Shell::Bash)
    }
}
