//! Figure for issue 15: what `tf agent event` costs the agent that runs it as a hook (goal:
//! under 5 ms p99). Each call is timed end to end — spawn, the payload written to its stdin
//! and stdin closed as Claude Code does, exit — on a real Claude Code `PostToolUse` payload (an
//! Edit), with the daemon up (it consumes the spool as the hooks append to it) and with the
//! daemon down (the event is only spooled); beside them the flags form other agents use, the
//! hook through `sh -c` as Claude Code runs its command, and `/bin/true` fed the same payload
//! (the floor: what any hook process costs). The cases take turns, so all see the same machine.
//!
//! Run with `cargo bench --bench agent_hook` (needs `cargo build --release` for the binaries).

mod common;

use common::{Home, Row, Table, bins, fail, ms, percentile};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Timed calls per case, after WARMUP untimed ones.
const N: usize = 400;
const WARMUP: usize = 20;
/// The issue's goal for one hook call, p99.
const GOAL: Duration = Duration::from_millis(5);

/// A `PostToolUse` payload for an Edit, as Claude Code sends it (a small edit: the common case).
fn payload(dir: &Path) -> String {
    let file = dir.join("src/lib.rs");
    serde_json::json!({
        "session_id": "3f1c2a9e-0b7d-4c55-9a43-bench",
        "transcript_path": "/home/me/.claude/projects/app/3f1c2a9e.jsonl",
        "cwd": dir,
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Edit",
        "tool_input": {
            "file_path": file,
            "old_string": "fn parse(input: &str) -> Result<Ast> {\n    todo!()\n}\n",
            "new_string": "fn parse(input: &str) -> Result<Ast> {\n    let tokens = lex(input)?;\n    Parser::new(tokens).parse()\n}\n",
        },
        "tool_response": {
            "filePath": file,
            "structuredPatch": [{"oldStart": 10, "oldLines": 3, "newStart": 10, "newLines": 4,
                "lines": [" fn parse(input: &str) -> Result<Ast> {", "-    todo!()",
                          "+    let tokens = lex(input)?;", "+    Parser::new(tokens).parse()", " }"]}],
            "userModified": false,
        },
        "tool_use_id": "toolu_01ABCDEF",
    })
    .to_string()
}

/// One call: spawn, write `stdin` (if any) and close it, wait for the exit.
fn call(cmd: &mut Command, stdin: Option<&[u8]>) -> Duration {
    let started = Instant::now();
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| fail(format!("spawning {cmd:?}: {e}")));
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap_or_else(|| fail("no stdin pipe"));
        // A process that exits without reading (true) breaks the pipe: its business.
        let _ = pipe.write_all(bytes);
        drop(pipe);
    }
    let status = child
        .wait()
        .unwrap_or_else(|e| fail(format!("waiting for {cmd:?}: {e}")));
    let took = started.elapsed();
    if !status.success() {
        fail(format!("{cmd:?} exited with {status}"));
    }
    took
}

fn project(home: &Home) -> std::path::PathBuf {
    let dir = home.path().join("work").join("app");
    std::fs::create_dir_all(dir.join("src"))
        .unwrap_or_else(|e| fail(format!("creating the project: {e}")));
    std::fs::write(dir.join(".wakatime-project"), "app\nmain\n")
        .unwrap_or_else(|e| fail(format!("naming the project: {e}")));
    dir
}

/// The daemon's heartbeat count (`status`).
fn stored(conn: &mut common::Conn) -> u64 {
    let answer = conn.request(r#"{"v":1,"type":"status"}"#);
    let v: serde_json::Value = serde_json::from_str(answer)
        .unwrap_or_else(|e| fail(format!("status is not JSON ({e}): {answer}")));
    v["heartbeats"].as_u64().unwrap_or(0)
}

fn main() {
    let bins = bins();
    let up = Home::new(&bins);
    let down = Home::new(&bins);
    let daemon = up.start_daemon();
    let (dir_up, dir_down) = (project(&up), project(&down));
    let (json_up, json_down) = (payload(&dir_up), payload(&dir_down));
    let hook = |home: &Home| home.tf(&["agent", "event", "--agent", "claude-code"]);
    let file = dir_up.join("src/main.rs").display().to_string();
    let cwd = dir_up.display().to_string();
    let flags = || {
        up.tf(&[
            "agent",
            "event",
            "--agent",
            "codex",
            "--event",
            "edit",
            "--cwd",
            &cwd,
            "--file",
            &file,
            "--line-changes",
            "3",
        ])
    };
    let through_sh = || {
        let mut cmd = up.command(Path::new("sh"));
        cmd.arg("-c").arg(format!(
            "'{}' agent event --agent claude-code",
            up.bins.tf.display()
        ));
        cmd
    };

    let mut up_times = Vec::with_capacity(N);
    let mut down_times = Vec::with_capacity(N);
    let mut flag_times = Vec::with_capacity(N);
    let mut sh_times = Vec::with_capacity(N);
    let mut floor = Vec::with_capacity(N);
    for i in 0..WARMUP + N {
        let timed = [
            call(&mut hook(&up), Some(json_up.as_bytes())),
            call(&mut hook(&down), Some(json_down.as_bytes())),
            call(&mut flags(), None),
            call(&mut through_sh(), Some(json_up.as_bytes())),
            call(&mut Command::new("true"), Some(json_up.as_bytes())),
        ];
        if i >= WARMUP {
            up_times.push(timed[0]);
            down_times.push(timed[1]);
            flag_times.push(timed[2]);
            sh_times.push(timed[3]);
            floor.push(timed[4]);
        }
    }

    // Every call with the daemon up is an agent heartbeat: wait for the daemon to store them.
    let expected = (3 * (WARMUP + N)) as u64;
    let mut conn = daemon.connect();
    let last_call = Instant::now();
    let mut count = stored(&mut conn);
    while count < expected && last_call.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
        count = stored(&mut conn);
    }
    let drained = last_call.elapsed();
    let spooled = std::fs::read_to_string(down.path().join("spool.jsonl"))
        .map(|s| s.lines().count())
        .unwrap_or(0);

    let (f50, f99) = (percentile(&mut floor, 50.0), percentile(&mut floor, 99.0));
    let mut table = Table::new(format!(
        "tf agent event, one hook call end to end (release build; p50 / p99 of {N} calls after \
         {WARMUP}; the cases take turns)"
    ));
    let ratio = |d: Duration| format!("{:.1}x", d.as_secs_f64() / f50.as_secs_f64().max(1e-9));
    let mut row = |figure: &str, times: &mut Vec<Duration>, goal: bool| {
        let (p50, p99) = (percentile(times, 50.0), percentile(times, 99.0));
        let mut r = Row::new(figure, format!("{} / {}", ms(p50), ms(p99)));
        if goal {
            r = r.goal("p99 < 5 ms", p99 < GOAL);
        }
        table.push(r.baseline(format!("true fed the payload {}", ms(f50)), ratio(p50)));
    };
    row(
        "Claude Code PostToolUse payload, daemon up",
        &mut up_times,
        true,
    );
    row(
        "Claude Code PostToolUse payload, daemon down (spooled)",
        &mut down_times,
        true,
    );
    row(
        "flags (--event --cwd --file), daemon up",
        &mut flag_times,
        true,
    );
    row(
        "through sh -c, as Claude Code runs the command",
        &mut sh_times,
        false,
    );
    table.push(Row::new(
        "floor: true fed the payload",
        format!("{} / {}", ms(f50), ms(f99)),
    ));
    table.push(Row::detail(
        "daemon up",
        format!(
            "{count} of {expected} events stored as heartbeats, the last {} after the last call",
            ms(drained)
        ),
    ));
    table.push(Row::detail(
        "daemon down",
        format!("{spooled} events waiting in the spool"),
    ));
    table.print();
    if count != expected {
        fail(format!(
            "the daemon stored {count} of {expected} agent events"
        ));
    }
}
