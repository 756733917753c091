//! Human and agent time side by side, and the focus timer (issue 15), end to end with the real
//! daemon: a day of editor heartbeats and Claude Code hook events with overlaps, its lanes and
//! `--by actor` rows computed by hand; the hooks snippet run as Claude Code runs it, on Claude
//! Code's payloads, with the daemon down and with bad input; `tf setup claude-code`; WakaTime's
//! AI fields through HTTP and export/import; the focus timer across a daemon restart, rung by
//! notify-send or by the shells' bell; and the bad input of each.

mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/shell.rs"]
mod shell;

use common::{
    TF, TestEnv, hb, local_midnight, now_secs, rfc3339, row_seconds, show, total, wait_for,
};
use http::{Api, created, rejected};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

const MIN: f64 = 60.0;

const SNIPPET: &str = include_str!("../hooks/claude-code.json");

/// The command the snippet registers, with `tf` this build's: every event runs the same one.
fn hook_command() -> String {
    let snippet: Value = serde_json::from_str(SNIPPET).expect("the snippet is JSON");
    let mut commands: Vec<&str> = Vec::new();
    for event in [
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
        "SessionEnd",
    ] {
        let c = snippet["hooks"][event][0]["hooks"][0]["command"]
            .as_str()
            .unwrap_or_else(|| panic!("the snippet has a {event} hook"));
        commands.push(c);
    }
    assert!(commands.iter().all(|c| *c == commands[0]), "{commands:?}");
    let command = commands[0];
    assert!(command.starts_with("tf "), "{command}");
    command.replacen("tf", &format!("'{TF}'"), 1)
}

/// Runs `command` as Claude Code runs a hook: through the shell, the payload on stdin.
fn run_hook(env: &TestEnv, command: &str, payload: &str) -> Output {
    let mut child = env
        .command("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the hook");
    // The hook may be done before it read it all (a broken pipe is its business).
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(payload.as_bytes());
    child.wait_with_output().expect("wait for the hook")
}

/// A hook that did its job as an agent needs: exit 0, nothing on stdout (Claude Code would
/// add it to the model's context) or stderr.
fn assert_silent_success(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", show(out));
    assert!(out.stdout.is_empty(), "{what} printed: {}", show(out));
    assert!(out.stderr.is_empty(), "{what} printed: {}", show(out));
}

/// A Claude Code hook payload, as documented: the common fields, plus the tool's.
fn claude(event: &str, cwd: &Path, tool: Option<(&str, Value)>) -> String {
    let mut p = json!({
        "session_id": "3f1c2a9e-sess-1",
        "transcript_path": "/home/me/.claude/projects/app/3f1c2a9e.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": event,
    });
    match event {
        "UserPromptSubmit" => p["prompt"] = json!("add the missing test"),
        "Stop" => p["stop_hook_active"] = json!(false),
        "SessionEnd" => p["reason"] = json!("exit"),
        _ => {}
    }
    if let Some((name, input)) = tool {
        p["tool_name"] = json!(name);
        p["tool_input"] = input;
        p["tool_use_id"] = json!("toolu_01ABC");
        if event == "PostToolUse" {
            p["tool_response"] = json!({"filePath": p["tool_input"]["file_path"], "success": true});
        }
    }
    p.to_string()
}

/// A project directory named `app` on branch `main` (WakaTime's `.wakatime-project`).
fn project(env: &TestEnv) -> PathBuf {
    let dir = env.scratch().join("work").join("app");
    std::fs::create_dir_all(dir.join("src")).expect("create the project");
    std::fs::write(dir.join(".wakatime-project"), "app\nmain\n").expect("write .wakatime-project");
    dir
}

fn agents(report: &Value) -> Vec<(String, f64, i64, i64)> {
    report["ai"]["agents"]
        .as_array()
        .unwrap_or_else(|| panic!("no ai.agents: {report}"))
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or_default().to_string(),
                a["seconds"].as_f64().unwrap_or(-1.0),
                a["line_changes"].as_i64().unwrap_or(i64::MIN),
                a["sessions"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// Issue 15's constructed day. Minutes after 09:00 (timeout 15 min):
///
/// ```text
/// human (editor):      0 5 10    20           60 70 80
/// claude-code (hooks):      8  12 13   25 (26 SessionEnd: no heartbeat)
/// codex (flags):                                        100 110   140
/// ```
///
/// One timeline (`--by actor`), each gap to the earlier heartbeat's actor: human 0–8, 10–12,
/// 20–25, 60–80 = 35m; claude-code 8–10, 12–20 = 10m; codex 100–110 = 10m; total 55m.
/// Lanes, each on its own timeline: human 0–20, 60–80 = 40m; agents 8–25, 100–110 = 27m
/// (claude-code 17m, codex 10m); overlap 8–20 = 12m; either 55m.
#[test]
fn a_day_of_human_and_agent_work_by_actor_and_in_lanes() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut conn = env.connect();
    let dir = project(&env);
    let file = dir.join("src/lib.rs").display().to_string();
    let t0 = local_midnight(now_secs() - 86_400.0, 0) + 9.0 * 3600.0;
    let at = |m: f64| t0 + m * MIN;

    let mut human: Vec<Value> = [0.0, 5.0, 10.0, 20.0, 60.0, 70.0, 80.0]
        .iter()
        .map(|&m| {
            let mut h = hb(at(m), &file, "app", "Rust");
            h["source"] = json!("editor");
            h["editor"] = json!("Neovim");
            h
        })
        .collect();
    human[3]["human_line_changes"] = json!(7);
    let stored = conn.heartbeats(&human);
    assert_eq!(stored["accepted"], 7, "{stored}");

    let hook = hook_command();
    let edit = json!({"file_path": file, "old_string": "fn a() {}\n", "new_string": "fn a() {}\n\nfn b() {}\n"});
    for (m, event, tool) in [
        (8.0, "UserPromptSubmit", None),
        (12.0, "PreToolUse", Some(("Edit", edit.clone()))),
        (13.0, "PostToolUse", Some(("Edit", edit.clone()))),
        (25.0, "Stop", None),
        (26.0, "SessionEnd", None),
    ] {
        let out = run_hook(
            &env,
            &format!("{hook} --time {}", at(m)),
            &claude(event, &dir, tool),
        );
        assert_silent_success(&out, event);
    }
    let cwd = dir.display().to_string();
    for (m, event, more) in [
        (100.0, "prompt", vec![]),
        (
            110.0,
            "edit",
            vec!["--file", "src/main.rs", "--line-changes", "-3"],
        ),
        (140.0, "stop", vec![]),
    ] {
        let time = at(m).to_string();
        let mut args = vec![
            "agent",
            "event",
            "--agent",
            "codex",
            "--event",
            event,
            "--cwd",
            &cwd,
            "--session",
            "cx-9",
            "--time",
            &time,
        ];
        args.extend(more);
        let out = env.tf(&args);
        assert_silent_success(&out, event);
    }
    // 7 human heartbeats, 4 of Claude Code (not its SessionEnd), 3 of Codex.
    wait_for("the spooled agent events to be stored", || {
        (conn.count() == 14).then_some(())
    });

    let from = rfc3339(at(-60.0));
    let to = rfc3339(at(180.0));
    let r = env.tf_json([
        "report", "--from", &from, "--to", &to, "--by", "actor", "--ai", "--json",
    ]);
    assert_eq!(total(&r), 55.0 * MIN, "{r}");
    assert_eq!(row_seconds(&r, "actor", "human"), 35.0 * MIN, "{r}");
    assert_eq!(row_seconds(&r, "actor", "claude-code"), 10.0 * MIN, "{r}");
    assert_eq!(row_seconds(&r, "actor", "codex"), 10.0 * MIN, "{r}");
    let sum: f64 = r["by"]["actor"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["seconds"].as_f64().expect("seconds"))
        .sum();
    assert_eq!(sum, total(&r), "the rows add up to the total");
    let ai = &r["ai"];
    assert_eq!(ai["human"]["seconds"], 40.0 * MIN, "{ai}");
    assert_eq!(ai["agent"]["seconds"], 27.0 * MIN, "{ai}");
    assert_eq!(ai["overlap_seconds"], 12.0 * MIN, "{ai}");
    assert_eq!(ai["either_seconds"], 55.0 * MIN, "{ai}");
    // Lines: the human's 7; Claude's edit added 2 lines, Codex removed 3.
    assert_eq!(ai["human"]["line_changes"], 7, "{ai}");
    assert_eq!(ai["agent"]["line_changes"], -1, "{ai}");
    assert_eq!(ai["agent"]["sessions"], 2, "{ai}");
    assert_eq!(
        agents(&r),
        vec![
            ("claude-code".into(), 17.0 * MIN, 2, 1),
            ("codex".into(), 10.0 * MIN, -3, 1)
        ]
    );

    // The whole day (from the rollups once they are fresh) says the same.
    let day = env.tf_json(["report", "yesterday", "--by", "actor", "--json"]);
    assert_eq!(day["by"]["actor"], r["by"]["actor"], "{day}");
    // A filter applies after each lane's timeline, as in every report.
    let other = env.tf_json([
        "report",
        "--from",
        &from,
        "--to",
        &to,
        "--ai",
        "--json",
        "--project",
        "elsewhere",
    ]);
    assert_eq!(other["ai"]["either_seconds"], 0.0, "{other}");

    // What the hooks recorded: the file the tool touched, else the project's root.
    let log = conn.log_all();
    let edit_beat = log
        .iter()
        .find(|h| h["meta"]["tool"] == "Edit" && h["is_write"] == true)
        .unwrap_or_else(|| panic!("the edit's heartbeat: {log:?}"));
    assert_eq!(edit_beat["entity"], file.as_str());
    assert_eq!(edit_beat["project"], "app");
    assert_eq!(edit_beat["branch"], "main");
    assert_eq!(edit_beat["language"], "Rust");
    assert_eq!(edit_beat["category"], "ai coding");
    assert_eq!(edit_beat["source"], "agent");
    assert_eq!(edit_beat["actor"], "claude-code");
    assert_eq!(edit_beat["editor"], "Claude Code");
    assert_eq!(edit_beat["ai_session"], "3f1c2a9e-sess-1");
    assert_eq!(edit_beat["ai_line_changes"], 2);
    let stop = log
        .iter()
        .find(|h| h["meta"]["event"] == "Stop")
        .expect("the stop's heartbeat");
    assert_eq!(stop["entity"], dir.display().to_string());
    assert!(
        !log.iter().any(|h| h["meta"]["event"] == "SessionEnd"),
        "a session's end is no activity"
    );

    // The text report shows the lanes.
    let text = env.tf_ok(["report", "--from", &from, "--to", &to, "--ai"]);
    assert!(text.contains("human      0h 40m      +7"), "{text}");
    assert!(
        text.contains("agent      0h 27m      -1  2 sessions"),
        "{text}"
    );
    assert!(text.contains("overlap    0h 12m"), "{text}");
    let csv = env.tf_ok(["report", "--from", &from, "--to", &to, "--ai", "--csv"]);
    assert!(csv.contains("ai,overlap,720,21.82\n"), "{csv}");
}

/// Claude Code's hook must never hold it up: with the daemon down the event is spooled and
/// stored when it starts; a payload that is not JSON, or arguments clap refuses, exit 0
/// silently (exit 2 would block the tool call) with a line in the daemon's log.
#[test]
fn the_hook_never_blocks_the_agent() {
    let mut env = TestEnv::new();
    let dir = project(&env);
    let hook = hook_command();
    let file = dir.join("src/main.rs").display().to_string();
    let write = claude(
        "PostToolUse",
        &dir,
        Some((
            "Write",
            json!({"file_path": file, "content": "fn main() {}\n"}),
        )),
    );
    let out = run_hook(&env, &hook, &write);
    assert_silent_success(&out, "the hook with no daemon");
    assert!(
        env.daemon_pid().is_none(),
        "the hook never starts the daemon"
    );
    let spool = std::fs::read_to_string(env.base.join("spool.jsonl")).expect("the spool");
    assert!(spool.contains("\"type\":\"agent\""), "{spool}");

    for (bad, why) in [
        ("this is not json", "not a JSON object"),
        ("{\"session_id\": \"x\", \"cwd\": ", "invalid JSON"),
        ("[1, 2, 3]", "not a JSON object"),
    ] {
        let out = run_hook(&env, &hook, bad);
        assert_silent_success(&out, bad);
        let log = env.log_text();
        assert!(
            log.contains("dropped an event of agent \"claude-code\"") && log.contains(why),
            "{bad}: {log}"
        );
    }
    for args in [
        vec!["agent", "event", "--agent", "claude-code", "--bogus"],
        vec!["agent", "event"],
        vec!["agent", "event", "--agent", "not/a name", "--event", "stop"],
        vec!["agent", "event", "--agent", "x", "--time", "soon"],
    ] {
        let out = env.tf(&args);
        assert_silent_success(&out, &format!("{args:?}"));
    }
    let log = env.log_text();
    assert!(log.contains("--bogus"), "{log}");
    assert!(log.contains("\"not/a name\" is not an agent name"), "{log}");

    // The daemon stores what was spooled while it was down: one heartbeat, the agent's.
    env.start_daemon();
    let mut conn = env.connect();
    wait_for("the spooled event", || (conn.count() == 1).then_some(()));
    let log = conn.log_all();
    assert_eq!(log[0]["actor"], "claude-code");
    assert_eq!(log[0]["entity"], file.as_str());
    assert_eq!(log[0]["ai_line_changes"], 1);
    // And shows the session in `tf status`.
    let prompt = claude("UserPromptSubmit", &dir, None);
    assert_silent_success(&run_hook(&env, &hook, &prompt), "prompt");
    let status = wait_for("the session in tf status", || {
        let s = env.tf_json(["status", "--json"]);
        (s["agents"][0]["working_since"].is_number()).then_some(s)
    });
    assert_eq!(status["agents"][0]["agent"], "claude-code", "{status}");
    assert_eq!(status["agents"][0]["project"], "app", "{status}");
    let text = env.tf_ok(["status"]);
    assert!(
        text.contains("agent      claude-code · working for"),
        "{text}"
    );
    // Its end removes it.
    let end = claude("SessionEnd", &dir, None);
    assert_silent_success(&run_hook(&env, &hook, &end), "end");
    wait_for("the session to end", || {
        let s = env.tf_json(["status", "--json"]);
        s.get("agents").is_none().then_some(())
    });
}

/// `tf setup claude-code` adds the snippet's hooks to ~/.claude/settings.json with this `tf`,
/// keeps everything else (and a backup), changes nothing when run again, and `--undo` takes
/// out only its own hooks. The installed command works as Claude Code will run it.
#[test]
fn setup_claude_code_edits_the_settings_in_place() {
    let mut env = TestEnv::new();
    let claude_dir = env.scratch().join(".claude");
    std::fs::create_dir_all(&claude_dir).expect("create ~/.claude");
    let settings = claude_dir.join("settings.json");
    let original = r#"{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(cargo test:*)"]
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [{ "type": "command", "command": "~/bin/guard.sh" }]
      }
    ]
  }
}
"#;
    std::fs::write(&settings, original).expect("write settings.json");

    let out = env.tf_ok(["setup", "claude-code"]);
    assert!(out.contains("settings.json"), "{out}");
    let after = std::fs::read_to_string(&settings).expect("read settings.json");
    let v: Value = serde_json::from_str(&after).expect("settings.json is JSON");
    assert_eq!(v["model"], "opus");
    assert_eq!(v["permissions"]["allow"][0], "Bash(cargo test:*)");
    let ours = format!("{TF} agent event --agent claude-code");
    let commands = |v: &Value, event: &str| -> Vec<String> {
        v["hooks"][event]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default())
            .filter_map(|h| h["command"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        commands(&v, "PreToolUse"),
        vec!["~/bin/guard.sh".to_string(), ours.clone()]
    );
    for event in ["UserPromptSubmit", "PostToolUse", "Stop", "SessionEnd"] {
        assert_eq!(commands(&v, event), vec![ours.clone()], "{event}");
    }
    assert_eq!(
        std::fs::read_to_string(claude_dir.join("settings.json.timeforged-backup"))
            .expect("the backup"),
        original
    );
    env.tf_ok(["setup", "claude-code"]);
    assert_eq!(
        std::fs::read_to_string(&settings).expect("read"),
        after,
        "setup twice changes nothing"
    );

    // The installed command, as Claude Code will run it.
    env.start_daemon();
    let mut conn = env.connect();
    let dir = project(&env);
    let out = run_hook(&env, &ours, &claude("UserPromptSubmit", &dir, None));
    assert_silent_success(&out, "the installed hook");
    wait_for("the event from the installed hook", || {
        (conn.count() == 1).then_some(())
    });

    let dry = env.tf_ok(["setup", "claude-code", "--undo", "--dry-run"]);
    assert!(dry.contains("# would write"), "{dry}");
    assert_eq!(std::fs::read_to_string(&settings).expect("read"), after);
    env.tf_ok(["setup", "claude-code", "--undo"]);
    let back: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("read")).expect("JSON");
    assert_eq!(back, serde_json::from_str::<Value>(original).expect("JSON"));
    let again = env.tf(["setup", "claude-code", "--undo"]);
    assert!(!again.status.success());
    assert!(
        common::stderr(&again).contains("nothing to undo"),
        "{}",
        show(&again)
    );

    // A broken file is refused and left as it is.
    std::fs::write(&settings, "{\"model\": ").expect("write");
    let broken = env.tf(["setup", "claude-code"]);
    assert!(!broken.status.success());
    assert!(
        common::stderr(&broken).contains("nothing was changed"),
        "{}",
        show(&broken)
    );
    assert_eq!(
        std::fs::read_to_string(&settings).expect("read"),
        "{\"model\": "
    );
}

/// With no ~/.claude at all, setup makes the file and `--undo` removes it again.
#[test]
fn setup_claude_code_from_nothing_and_back() {
    let env = TestEnv::new();
    let settings = env.scratch().join(".claude/settings.json");
    env.tf_ok(["setup", "claude-code"]);
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("made")).expect("JSON");
    assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["type"], "command");
    env.tf_ok(["setup", "claude-code", "--undo"]);
    assert!(!settings.exists(), "there was none before");
}

/// WakaTime's AI fields (2026): accepted over HTTP (the model read from the User-Agent),
/// served back by the heartbeat list, kept through `tf export` and `tf import`; negative or
/// absurd counts rejected item by item, naming the field.
#[test]
fn wakatime_ai_fields_round_trip_through_http_and_export_import() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let api = Api::of(&env);
    let t = (now_secs() - 3600.0).floor();
    let ua = "wakatime/v1.0 (linux-6.6.0-x86_64) go1.21 opus/4.1-medium claude-code/2.1.45";
    let items = vec![
        json!({"time": t, "entity": "/src/app/lib.rs", "type": "file", "category": "ai coding",
               "project": "app", "language": "Rust", "user_agent": ua, "ai_line_changes": 12,
               "ai_session": "s-1", "ai_input_tokens": 1000, "ai_output_tokens": "200"}),
        json!({"time": t + 60.0, "entity": "/src/app/lib.rs", "type": "file", "project": "app",
               "human_line_changes": "5",
               "user_agent": "wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2"}),
        json!({"time": t + 90.0, "entity": "/x", "ai_input_tokens": -1}),
        json!({"time": t + 91.0, "entity": "/x", "ai_line_changes": 5_000_000}),
        json!({"time": t + 92.0, "entity": "/x", "ai_output_tokens": "lots"}),
        json!({"time": t + 93.0, "entity": "/x", "human_line_changes": -2_000_000}),
        json!({"time": t + 94.0, "entity": "/x", "ai_output_tokens": 200_000_000}),
    ];
    let responses = api.post_bulk("/api/v1/users/current/heartbeats.bulk", &items);
    let data = created(&responses[0]);
    assert_eq!(data["ai_line_changes"], 12, "{data}");
    assert_eq!(data["ai_output_tokens"], 200, "{data}");
    assert_eq!(data["ai_session"], "s-1", "{data}");
    assert_eq!(created(&responses[1])["human_line_changes"], 5);
    for (i, field) in [
        (2, "ai_input_tokens"),
        (3, "ai_line_changes"),
        (4, "ai_output_tokens"),
        (5, "human_line_changes"),
        (6, "ai_output_tokens"),
    ] {
        let error = rejected(&responses[i]);
        assert!(error.starts_with(field), "item {i}: {error}");
    }

    let date = common::local_date(t, 0);
    let listed = api.get_json(&format!("/api/v1/users/current/heartbeats?date={date}"));
    let served = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|h| h["ai_session"] == "s-1")
        .unwrap_or_else(|| panic!("the AI heartbeat is served back: {listed}"))
        .clone();
    assert_eq!(
        (
            &served["ai_line_changes"],
            &served["ai_input_tokens"],
            &served["ai_output_tokens"]
        ),
        (&json!(12), &json!(1000), &json!(200))
    );

    let file = env.scratch().join("export.jsonl");
    env.tf_ok(["export", "all", "-o", file.to_str().expect("UTF-8 path")]);
    let exported = std::fs::read_to_string(&file).expect("the export");
    let first: Value =
        serde_json::from_str(exported.lines().next().expect("a line")).expect("JSON");
    assert_eq!(first["actor"], "claude-code", "{first}");
    assert_eq!(first["ai_model"], "opus-4.1-medium", "{first}");
    assert_eq!(first["ai_input_tokens"], 1000, "{first}");
    let csv = env.tf_ok(["export", "all", "--format", "csv"]);
    assert!(
        csv.lines().next().expect("header").ends_with(
            ",actor,ai_line_changes,human_line_changes,ai_session,ai_input_tokens,ai_output_tokens,ai_model"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(",claude-code,12,,s-1,1000,200,opus-4.1-medium"),
        "{csv}"
    );

    let mut other = TestEnv::new();
    other.start_daemon();
    let out = other.tf(["import", file.to_str().expect("UTF-8 path")]);
    let said = common::stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("imported 2 heartbeats"), "{said}");
    let file2 = other.scratch().join("export.jsonl");
    other.tf_ok(["export", "all", "-o", file2.to_str().expect("UTF-8 path")]);
    let exported2 = std::fs::read_to_string(&file2).expect("the second export");
    let lines = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).expect("JSON");
                // Imported heartbeats say so; everything else is the same.
                v.as_object_mut().expect("object").remove("source");
                v
            })
            .collect()
    };
    assert_eq!(lines(&exported2), lines(&exported));
    let report = other.tf_json(["report", "all", "--ai", "--json"]);
    let ai = &report["ai"];
    assert_eq!(ai["agent"]["line_changes"], 12, "{ai}");
    assert_eq!(ai["agent"]["input_tokens"], 1000, "{ai}");
    assert_eq!(ai["agent"]["output_tokens"], 200, "{ai}");
    assert_eq!(ai["agent"]["sessions"], 1, "{ai}");
    assert_eq!(ai["human"]["line_changes"], 5, "{ai}");
    assert_eq!(agents(&report)[0].0, "claude-code");
}

/// Bad input on the socket: an actor that is no name, counts beyond reason.
#[test]
fn bad_actor_and_counts_are_refused_by_name() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut conn = env.connect();
    let t = now_secs() - 60.0;
    let mut items = Vec::new();
    for (field, value) in [
        ("actor", json!("rm -rf /")),
        ("ai_input_tokens", json!(-5)),
        ("ai_line_changes", json!(1e12)),
        ("human_line_changes", json!("many")),
    ] {
        let mut h = hb(t, "/a.rs", "p", "Rust");
        h[field] = value;
        items.push(h);
    }
    let mut good = hb(t + 1.0, "/a.rs", "p", "Rust");
    good["actor"] = json!("Codex");
    items.push(good);
    let r = conn.heartbeats(&items);
    assert_eq!(
        (r["accepted"].clone(), r["rejected"].clone()),
        (json!(1), json!(4)),
        "{r}"
    );
    let errors = r["errors"].as_array().expect("errors");
    for (i, field) in [
        "actor",
        "ai_input_tokens",
        "ai_line_changes",
        "human_line_changes",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(errors[i]["index"], i, "{r}");
        let e = errors[i]["error"].as_str().expect("error");
        assert!(e.starts_with(field), "{e}");
    }
    assert_eq!(conn.log_all()[0]["actor"], "codex", "names are normalized");
}

/// A stand-in for `notify-send` on PATH: logs its arguments, and fails when asked to (no
/// desktop session), as the real one does without a bus.
fn fake_notify_send(env: &mut TestEnv, works: bool) -> PathBuf {
    let bin = env.scratch().join("bin");
    std::fs::create_dir_all(&bin).expect("create bin");
    let log = env.scratch().join("notify-send.log");
    let script = bin.join("notify-send");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s|' \"$@\" >> '{}'\necho >> '{}'\nexit {}\n",
            log.display(),
            log.display(),
            if works { 0 } else { 1 }
        ),
    )
    .expect("write notify-send");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.set_env("PATH", &path);
    log
}

fn focus_status(env: &TestEnv) -> Value {
    env.tf_json(["focus", "status", "--json"])
}

/// The timer lives in the daemon's database: it survives a restart, rings when it is due (a
/// desktop notification), and the log says how much of it was the human's own activity, on
/// which projects (an agent working meanwhile does not count).
#[test]
fn the_focus_timer_survives_a_restart_and_rings() {
    let mut env = TestEnv::new();
    let notified = fake_notify_send(&mut env, true);
    env.start_daemon();
    let out = env.tf_ok([
        "focus",
        "start",
        "10s",
        "--project",
        "app",
        "--note",
        "write the tests",
    ]);
    assert!(out.starts_with("focus until"), "{out}");
    let running = focus_status(&env)["running"].clone();
    let start = running["start_ms"].as_f64().expect("start_ms") / 1000.0;
    assert_eq!(running["planned_ms"], 10_000, "{running}");

    let mut conn = env.connect();
    let mut agent = hb(start + 1.0, "/src/app/lib.rs", "app", "Rust");
    agent["category"] = json!("ai coding");
    agent["editor"] = json!("Claude Code");
    conn.heartbeats(&[
        hb(start + 0.5, "/src/app/lib.rs", "app", "Rust"),
        agent,
        hb(start + 2.0, "/src/app/lib.rs", "app", "Rust"),
    ]);

    // Two at once: refused, saying what runs.
    let twice = env.tf(["focus", "start", "10m"]);
    assert!(!twice.status.success());
    let msg = common::stderr(&twice);
    assert!(
        msg.contains("a focus timer is already running") && msg.contains("project app"),
        "{msg}"
    );

    env.terminate_daemon();
    env.start_daemon();
    let after = focus_status(&env)["running"].clone();
    assert_eq!(after["id"], running["id"], "the same timer after a restart");
    let status = env.tf_ok(["status"]);
    assert!(status.contains("focus      "), "{status}");
    let prompt = env.tf_ok(["status", "--format", "[{focus}]"]);
    assert!(
        prompt.trim() == "[1m left]" || prompt.trim() == "[]",
        "{prompt}"
    );

    wait_for("the timer to ring", || {
        let s = focus_status(&env);
        s["running"].is_null().then_some(())
    });
    let log = env.tf_json(["focus", "log", "--json"]);
    let session = &log[0];
    assert_eq!(session["completed"], true, "{log}");
    assert_eq!(
        session["end_ms"].as_f64(),
        Some(start * 1000.0 + 10_000.0),
        "{log}"
    );
    assert_eq!(session["active_seconds"], 1.5, "{log}");
    assert_eq!(session["projects"][0]["name"], "app", "{log}");
    assert_eq!(session["note"], "write the tests", "{log}");
    let text = env.tf_ok(["focus", "log"]);
    assert!(text.contains("done"), "{text}");
    assert!(text.contains("app 2s") || text.contains("app 1s"), "{text}");
    let calls = wait_for("notify-send to be run", || {
        std::fs::read_to_string(&notified)
            .ok()
            .filter(|s| !s.is_empty())
    });
    assert!(
        calls.contains("--app-name=TimeForged|Focus time is up|10s done, 2s of it active · app · write the tests|"),
        "{calls}"
    );
    assert!(
        !env.base.join("focus.bell").exists(),
        "a desktop notification, so no bell"
    );
    // Stopping with nothing running says so.
    let stop = env.tf(["focus", "stop"]);
    assert!(!stop.status.success());
    assert!(common::stderr(&stop).contains("no focus timer is running"));
}

/// `tf focus stop` ends a timer early; the log says so.
#[test]
fn a_focus_timer_stopped_early() {
    let mut env = TestEnv::new();
    env.start_daemon();
    env.tf_ok(["focus", "start"]);
    let s = focus_status(&env);
    assert_eq!(s["running"]["planned_ms"], 25 * 60_000, "{s}");
    let out = env.tf_ok(["focus", "stop"]);
    assert!(out.starts_with("stopped after"), "{out}");
    let log = env.tf_json(["focus", "log", "--json"]);
    assert_eq!(log[0]["completed"], false, "{log}");
    assert!(log[0]["end_ms"].is_number(), "{log}");
    // No activity in it: 0, not the -0.0 an empty f64 sum gives (the table showed "-0").
    assert_eq!(log[0]["active_seconds"].to_string(), "0.0", "{log}");
    let text = env.tf_ok(["focus", "log"]);
    assert!(text.contains("      0  stopped"), "{text}");
    assert!(focus_status(&env)["running"].is_null());
}

/// Durations of 0 or 100 hours, and nonsense, are refused naming the duration; nothing starts.
#[test]
fn bad_focus_durations_are_refused() {
    let mut env = TestEnv::new();
    env.start_daemon();
    for (arg, want) in [
        ("0", "duration: 0s is too short"),
        ("100h", "duration: 100h00m is too long"),
        ("soon", "duration: \"soon\" is not a duration"),
    ] {
        let out = env.tf(["focus", "start", arg]);
        assert!(!out.status.success(), "{arg}");
        let err = common::stderr(&out);
        assert!(err.contains(want), "{arg}: {err}");
    }
    // The daemon checks too (another client could skip tf's check).
    let mut conn = env.connect();
    let r = conn.request(json!({"v": 1, "type": "focus", "action": "start", "duration_ms": 0}));
    assert_eq!(r["type"], "error", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("duration:"),
        "{r}"
    );
    assert!(focus_status(&env)["running"].is_null());
}

/// Without desktop notifications the daemon leaves the bell to the shell hooks: each shell
/// rings the terminal bell once for the timer, at its next prompt; a shell started later does
/// not ring for a timer that rang before it.
#[test]
fn without_notify_send_the_shells_ring_the_bell() {
    let mut env = TestEnv::new();
    fake_notify_send(&mut env, false);
    env.start_daemon();
    let bell = env.base.join("focus.bell");
    let bells = |raw: &[u8]| bells_outside_titles(raw);
    // Prompts written after the recording started: everything before the last is there.
    let prompts = |raw: &[u8]| raw.windows(2).filter(|w| w == b"$ ").count();
    for s in shell::Shell::ALL {
        if !shell::have_shell(s, "without_notify_send_the_shells_ring_the_bell") {
            continue;
        }
        // One session at a time: they share the test's tmux socket.
        let session = shell::Session::start(&env, s, &shell::Rc::default());
        let out = env.scratch().join(format!("terminal-{}.raw", s.name()));
        session.record_output(&out);
        env.tf_ok(["focus", "start", "1s"]);
        let id = focus_status(&env)["running"]["id"].to_string();
        wait_for("the bell file", || {
            std::fs::read_to_string(&bell)
                .ok()
                .filter(|b| b.trim() == id)
        });
        session.run("true");
        session.run("true");
        let raw = wait_for("the two prompts in the recording", || {
            let raw = std::fs::read(&out).unwrap_or_default();
            (prompts(&raw) >= 2).then_some(raw)
        });
        assert_eq!(bells(&raw), 1, "{}: {raw:?}", s.name());
        drop(session);

        // A shell started now does not ring for the timer that rang.
        let late = shell::Session::start(&env, s, &shell::Rc::default());
        let out = env.scratch().join(format!("late-{}.raw", s.name()));
        late.record_output(&out);
        late.run("true");
        let raw = wait_for("a prompt in the recording", || {
            let raw = std::fs::read(&out).unwrap_or_default();
            (prompts(&raw) >= 1).then_some(raw)
        });
        assert_eq!(bells(&raw), 0, "late {}: {raw:?}", s.name());
    }
    assert!(focus_status(&env)["running"].is_null(), "every timer rang");
}

/// BEL bytes a terminal rings: not those that end an OSC sequence (`ESC ] … BEL`), which fish
/// writes to set the window title at every prompt.
fn bells_outside_titles(raw: &[u8]) -> usize {
    let mut count = 0;
    let mut in_osc = false;
    let mut prev = 0u8;
    for &b in raw {
        match b {
            b']' if prev == 0x1b => in_osc = true,
            0x07 if in_osc => in_osc = false,
            0x07 => count += 1,
            // ST (`ESC \`) also ends an OSC sequence.
            b'\\' if prev == 0x1b => in_osc = false,
            _ => {}
        }
        prev = b;
    }
    count
}
