//! Durability when things fail: nothing acknowledged or spooled is lost, and nothing is counted
//! twice. A full disk under the spool's consumer, a daemon that hangs up on the hooks, spool
//! lines read twice, and the real daemon killed with SIGKILL again and again while socket,
//! HTTP and shell-hook writers (real zsh and bash) keep writing.

mod common;
#[path = "common/git.rs"]
mod git_cli;
#[path = "common/shell.rs"]
mod harness;

use base64::Engine;
use common::{TF, TestEnv, now_secs, show, wait_for};
use git_cli::{git_ok, have_git};
use harness::{HangUp, have, spool_events};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `tf hook end` for `command`, as the bash and fish hooks run it.
fn hook_end(env: &TestEnv, cwd: &Path, command: &str, time: f64) {
    let out = env
        .tf_cmd(["hook", "end", "--shell=zsh", "--pid=4242", "--status=0"])
        .arg(format!("--cwd={}", cwd.display()))
        .arg(format!("--command={command}"))
        .arg(format!("--time={time}"))
        .arg(format!("--start={}", time - 1.0))
        .output()
        .expect("run tf hook");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "tf hook is silent and succeeds: {}",
        show(&out)
    );
}

/// Every heartbeat stored, by entity.
fn by_entity(env: &TestEnv) -> HashMap<String, Vec<Value>> {
    let mut map: HashMap<String, Vec<Value>> = HashMap::new();
    for h in env.connect().log_all() {
        let entity = h["entity"].as_str().unwrap_or_default().to_string();
        map.entry(entity).or_default().push(h);
    }
    map
}

fn pending_bytes(env: &TestEnv) -> u64 {
    env.connect().status()["spool"]["pending_bytes"]
        .as_u64()
        .expect("status.spool.pending_bytes")
}

/// Issue: "the spool is deleted even when its events were not stored: drained into a full disk,
/// 0 of 20 events survived". The daemon starts with 20 events spooled and no room to commit
/// them; they stay in the spool until there is room again.
#[test]
fn spooled_events_survive_a_full_disk() {
    let mut env = TestEnv::new();
    // Whole command lines as entities: 20 lines of 3 KB need more room than the disk has.
    env.set_env("TIMEFORGED_SHELL__RECORD_ARGS", "true");
    env.start_daemon();
    env.terminate_daemon();
    let words = ["word"; 600].join(" ");
    let now = now_secs();
    let commands: Vec<String> = (0..20).map(|i| format!("step-{i:02} {words}")).collect();
    for (i, command) in commands.iter().enumerate() {
        hook_end(&env, env.scratch(), command, now - 60.0 + i as f64);
    }
    assert_eq!(spool_events(&env.base.join("spool.jsonl")).len(), 20);

    // A full disk: no file the daemon writes may grow past 40,000 bytes, enough to start and
    // far from enough for the events. (SIGXFSZ ignored: a full disk fails the write, nothing
    // more.)
    let mut cmd = env.daemon_cmd();
    cmd.stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 40_000,
                rlim_max: 40_000,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut full = cmd.spawn().expect("start timeforged");
    wait_for("the daemon to listen", || {
        UnixStream::connect(env.socket()).ok()
    });
    wait_for("a commit to fail", || {
        env.log_text().contains("storing heartbeats").then_some(())
    });
    let status = env.connect().status();
    assert_eq!(status["heartbeats"], 0, "{status}");
    assert!(
        status["spool"]["pending_bytes"].as_u64().unwrap_or(0) > 60_000,
        "the events wait in the spool: {status}"
    );
    common::signal(full.id(), libc::SIGTERM);
    full.wait().expect("wait for the daemon");

    // Room again: every event is stored, once.
    env.start_daemon();
    let mut last = HashMap::new();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the 20 events", || {
            last = by_entity(&env);
            commands
                .iter()
                .all(|c| last.get(c).is_some_and(|hs| hs.len() == 2))
                .then(|| last.clone())
        })
    }));
    let stored = found.unwrap_or_else(|_| {
        panic!(
            "stored: {:?}\nlog:\n{}",
            last.iter()
                .map(|(e, hs)| (&e[..e.len().min(12)], hs.len()))
                .collect::<Vec<_>>(),
            env.log_text()
        )
    });
    assert_eq!(stored.len(), 20, "{:?}", stored.keys());
    wait_for("the spool to be consumed", || {
        (pending_bytes(&env) == 0).then_some(())
    });
}

/// Issue: "with a daemon that closes without answering, `tf hook` never spools". An event
/// that was not answered lands in the spool: `tf hook` (bash, fish) spools every event first,
/// and a git hook whose daemon hangs up spools its event; both are stored once a real daemon
/// runs.
#[test]
fn events_the_daemon_did_not_answer_are_spooled() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let repo = env.scratch().join("app");
    std::fs::create_dir_all(&repo).expect("create the repo dir");
    git_ok(&env, &repo, &["init", "-q", "-b", "main"]);
    git_ok(
        &env,
        &repo,
        &["commit", "-q", "--allow-empty", "-m", "start"],
    );
    let sha = git_ok(&env, &repo, &["rev-parse", "HEAD"]);

    let hang_up = HangUp::listen(&env);
    hook_end(&env, &repo, "make unanswered", now_secs());
    let out = env
        .tf_cmd(["git", "hook", "post-commit"])
        .current_dir(&repo)
        .output()
        .expect("run tf git hook");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        show(&out)
    );
    assert!(
        hang_up.accepted() > 0,
        "the git hook tried the daemon first"
    );
    let spooled = spool_events(&env.base.join("spool.jsonl"));
    assert!(
        spooled
            .iter()
            .any(|e| e["type"] == "shell" && e["command"] == "make unanswered"),
        "{spooled:#?}"
    );
    assert!(
        spooled
            .iter()
            .any(|e| e["type"] == "git" && e["head"] == sha.as_str()),
        "{spooled:#?}"
    );

    drop(hang_up);
    env.start_daemon();
    wait_for("the spooled commit", || {
        let commits = env.tf_json(["commits", "--json"]);
        commits
            .as_array()
            .is_some_and(|l| l.iter().any(|c| c["sha"] == sha.as_str()))
            .then_some(())
    });
    wait_for("the spooled command", || {
        by_entity(&env).contains_key("make").then_some(())
    });
}

/// A crash between a commit and the cursor's save, or a lost cursor, makes the daemon read
/// spool lines again: shell events are heartbeats with the event's own times (deduplicated by
/// hash) and commits are keyed by sha, so nothing counts twice.
#[test]
fn spool_lines_read_twice_are_stored_once() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let repo = env.scratch().join("app");
    std::fs::create_dir_all(&repo).expect("create the repo dir");
    git_ok(&env, &repo, &["init", "-q", "-b", "main"]);
    git_ok(
        &env,
        &repo,
        &["commit", "-q", "--allow-empty", "-m", "start"],
    );
    let now = now_secs();
    for i in 0..10 {
        hook_end(
            &env,
            &repo,
            &format!("cargo test -p c{i}"),
            now - 600.0 + i as f64 * 30.0,
        );
    }
    git_ok(
        &env,
        &repo,
        &["commit", "-q", "--allow-empty", "-m", "second"],
    );
    let sha = git_ok(&env, &repo, &["rev-parse", "HEAD"]);
    let out = env
        .tf_cmd(["git", "hook", "post-commit"])
        .current_dir(&repo)
        .output()
        .expect("run tf git hook");
    assert!(out.status.success(), "{}", show(&out));
    let spool = env.base.join("spool.jsonl");
    let original = std::fs::read(&spool).expect("read the spool");
    assert_eq!(spool_events(&spool).len(), 11);

    env.start_daemon();
    let settled = |env: &TestEnv| {
        wait_for("the spool to be consumed", || {
            (pending_bytes(env) == 0).then_some(())
        });
        let commits = env.tf_json(["commits", "--json"]);
        (env.connect().status(), commits)
    };
    let (status, commits) = settled(&env);
    let count = status["heartbeats"].as_i64().expect("a count");
    // Two per command (its start and its end), plus the commit's `git` heartbeat.
    assert_eq!(count, 21, "{status}");
    assert!(
        commits
            .as_array()
            .is_some_and(|l| l.iter().any(|c| c["sha"] == sha.as_str())),
        "{commits}"
    );
    let report = env.tf_json(["report", "all", "--json"]);

    // The same lines again, as after a crash before the cursor was saved.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&spool)
        .expect("open the spool");
    f.write_all(&original).expect("append the lines again");
    drop(f);
    let (again, commits_again) = settled(&env);
    assert_eq!(again["heartbeats"], count, "{again}");
    assert_eq!(commits_again, commits);

    // And with the cursor lost, everything from the start.
    env.terminate_daemon();
    std::fs::remove_file(env.base.join("spool.offset")).expect("remove the cursor");
    env.start_daemon();
    let (third, commits_third) = settled(&env);
    assert_eq!(third["heartbeats"], count, "{third}");
    assert_eq!(commits_third, commits);
    assert_eq!(env.tf_json(["report", "all", "--json"]), report);
}

// ---------------------------------------------------------------------------------------------
// The crash test

/// Daemon kills in the crash test; each comes 0.2–0.8 s after the daemon is back.
const KILLS: usize = 20;

/// What a writer sent, and which of it the daemon acknowledged.
#[derive(Default)]
struct Sent {
    acked: Vec<String>,
    unacked: Vec<String>,
}

/// The daemon's HTTP address (it changes at every start: port 0) and API key.
type HttpTarget = Arc<Mutex<Option<(SocketAddr, String)>>>;

/// Sends batches of heartbeats over the socket until `stop`, reconnecting after each kill.
fn socket_writer(socket: PathBuf, stop: Arc<AtomicBool>) -> Sent {
    let mut sent = Sent::default();
    let base = now_secs() - 7200.0;
    let mut conn: Option<(BufReader<UnixStream>, UnixStream)> = None;
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some((reader, writer)) = conn.as_mut() else {
            match UnixStream::connect(&socket) {
                Ok(s) => {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let w = s.try_clone().expect("clone the socket");
                    conn = Some((BufReader::new(s), w));
                }
                // Killed: wait for the restart.
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
            continue;
        };
        let entities: Vec<String> = (0..5).map(|k| format!("sock-{n:05}-{k}")).collect();
        let beats: Vec<Value> = entities
            .iter()
            .enumerate()
            .map(|(k, e)| common::hb(base + n as f64 * 0.5 + k as f64 * 0.01, e, "crash", "Rust"))
            .collect();
        n += 1;
        let line = json!({"v": 1, "type": "heartbeats", "heartbeats": beats}).to_string() + "\n";
        let mut answer = String::new();
        let ok = writer.write_all(line.as_bytes()).is_ok()
            && reader.read_line(&mut answer).is_ok_and(|len| len > 0);
        let stored = ok
            && serde_json::from_str::<Value>(&answer).is_ok_and(|a| {
                a["type"] == "stored" && a["errors"].as_array().is_none_or(Vec::is_empty)
            });
        if stored {
            sent.acked.extend(entities);
        } else {
            sent.unacked.extend(entities);
            conn = None;
        }
    }
    sent
}

/// POSTs bulk heartbeats to the WakaTime API until `stop`; acknowledged = 201 for every item.
fn http_writer(target: HttpTarget, stop: Arc<AtomicBool>) -> Sent {
    let mut sent = Sent::default();
    let base = now_secs() - 5400.0;
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some((addr, key)) = target.lock().expect("http target").clone() else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let entities: Vec<String> = (0..5).map(|k| format!("/src/http-{n:05}-{k}.rs")).collect();
        let beats: Vec<Value> = entities
            .iter()
            .enumerate()
            .map(|(k, e)| common::hb(base + n as f64 * 0.5 + k as f64 * 0.01, e, "crash", "Rust"))
            .collect();
        n += 1;
        let body = Value::Array(beats).to_string();
        let auth = base64::engine::general_purpose::STANDARD.encode(&key);
        let request = format!(
            "POST /api/v1/users/current/heartbeats.bulk HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Basic {auth}\r\nContent-Type: application/json\r\n\
             Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            // Killed, or not yet at its new address: nothing was sent.
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let reply = (|| -> std::io::Result<Vec<u8>> {
            conn.set_read_timeout(Some(Duration::from_secs(5)))?;
            conn.write_all(request.as_bytes())?;
            let mut raw = Vec::new();
            conn.read_to_end(&mut raw)?;
            Ok(raw)
        })();
        let acked = reply.is_ok_and(|raw| {
            let text = String::from_utf8_lossy(&raw);
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                return false;
            };
            head.starts_with("HTTP/1.1 201")
                && serde_json::from_str::<Value>(body).is_ok_and(|v| {
                    v["responses"].as_array().is_some_and(|r| {
                        r.len() == entities.len() && r.iter().all(|item| item[1] == 201)
                    })
                })
        });
        if acked {
            sent.acked.extend(entities);
        } else {
            sent.unacked.extend(entities);
        }
    }
    sent
}

/// A real interactive shell with the hook, reading command lines from a pipe.
struct HookedShell {
    /// Names this shell's commands: `true NAME-00042`.
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    commands: Vec<String>,
}

impl HookedShell {
    fn start(env: &TestEnv, shell: &'static str, name: &'static str) -> HookedShell {
        let home = env.scratch().join(format!("home-{name}"));
        std::fs::create_dir_all(&home).expect("create HOME");
        let load = format!("PS1='$ '\neval \"$(\"$TF\" init {shell})\"\n");
        let rc = home.join(if shell == "zsh" { ".zshrc" } else { ".bashrc" });
        std::fs::write(&rc, load).expect("write the rc file");
        let mut cmd = Command::new(shell);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("ZDOTDIR", &home)
            .env("TF", TF)
            .env("TIMEFORGED_DIR", &env.base)
            .current_dir(&home)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match shell {
            "zsh" => cmd.args(["-d", "-i"]),
            _ => cmd.args(["--noprofile", "--rcfile"]).arg(&rc).arg("-i"),
        };
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {shell}: {e}"));
        let stdin = child.stdin.take().expect("the shell's stdin");
        HookedShell {
            name,
            child,
            stdin,
            commands: Vec::new(),
        }
    }

    /// Types one more command line.
    fn run_next(&mut self) {
        let command = format!("true {}-{:05}", self.name, self.commands.len());
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .expect("write to the shell");
        self.commands.push(command);
    }

    /// Ends the shell and waits for it: every command it read has run, and its hook events
    /// are appended (bash's by a `tf hook` that may still be finishing).
    fn finish(mut self) -> Vec<String> {
        let _ = self.stdin.write_all(b"exit\n");
        drop(self.stdin);
        let status = wait_for(&format!("{} to exit", self.name), || {
            self.child.try_wait().expect("wait for the shell")
        });
        assert!(status.success(), "{} exited with {status}", self.name);
        self.commands
    }
}

/// The acceptance test: about 20 SIGKILLs of the real daemon under concurrent socket, HTTP and
/// shell-hook writers. Afterwards every acknowledged heartbeat and every hook event is stored
/// exactly once, and SQLite finds the database intact.
#[test]
fn sigkill_under_load_loses_nothing_and_counts_nothing_twice() {
    if !have("zsh", "sigkill_under_load") || !have("bash", "sigkill_under_load") {
        return;
    }
    let started = Instant::now();
    let mut env = TestEnv::new();
    // Whole command lines as entities, so each command is told apart; a small spool, so that
    // it is compacted (renamed and removed) many times during the run.
    env.set_env("TIMEFORGED_SHELL__RECORD_ARGS", "true");
    env.set_env("TIMEFORGED_SHELL__SPOOL_MAX_BYTES", "131072");
    env.start_daemon();
    let key = std::fs::read_to_string(env.base.join("api_key"))
        .expect("the API key")
        .trim()
        .to_string();
    let http_target: HttpTarget = Arc::new(Mutex::new(None));
    let publish_http = |env: &TestEnv| {
        let status = env.connect().status();
        let addr: SocketAddr = status["http"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("status has an HTTP address: {status}"));
        *http_target.lock().expect("http target") = Some((addr, key.clone()));
    };
    publish_http(&env);

    let stop = Arc::new(AtomicBool::new(false));
    let socket_thread = {
        let (socket, stop) = (env.socket(), stop.clone());
        std::thread::spawn(move || socket_writer(socket, stop))
    };
    let http_thread = {
        let (target, stop) = (http_target.clone(), stop.clone());
        std::thread::spawn(move || http_writer(target, stop))
    };
    let shells_thread = {
        let shells = vec![
            HookedShell::start(&env, "zsh", "zsh1"),
            HookedShell::start(&env, "zsh", "zsh2"),
            HookedShell::start(&env, "bash", "bash1"),
        ];
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut shells = shells;
            // Paced like a quick typist, so that the commands span every kill.
            while !stop.load(Ordering::Relaxed) {
                for s in &mut shells {
                    s.run_next();
                }
                std::thread::sleep(Duration::from_millis(15));
            }
            shells
                .into_iter()
                .flat_map(HookedShell::finish)
                .collect::<Vec<String>>()
        })
    };

    // Kill, restart, repeat. A fixed seed: the pauses differ between kills, not between runs.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(200 + seed % 600));
        let mut daemon = env.daemon.take().expect("the running daemon");
        common::signal(daemon.id(), libc::SIGKILL);
        daemon.wait().expect("reap the killed daemon");
        env.start_daemon();
        publish_http(&env);
    }
    stop.store(true, Ordering::Relaxed);
    let socket = socket_thread.join().expect("the socket writer");
    let http = http_thread.join().expect("the HTTP writer");
    let commands = shells_thread.join().expect("the shells");

    // Everything the writers were told was stored, and every command the shells ran.
    wait_for("every acknowledged heartbeat and hook event", || {
        let map = by_entity(&env);
        let all_there = socket
            .acked
            .iter()
            .chain(&http.acked)
            .all(|e| map.contains_key(e))
            && commands
                .iter()
                .all(|c| map.get(c).is_some_and(|hs| hs.len() >= 2));
        all_there.then_some(())
    });
    wait_for("the spool to be consumed", || {
        (pending_bytes(&env) == 0).then_some(())
    });
    let stored = by_entity(&env);
    for e in socket.acked.iter().chain(&http.acked) {
        assert_eq!(stored[e].len(), 1, "{e} stored once: {:#?}", stored[e]);
    }
    for e in socket.unacked.iter().chain(&http.unacked) {
        let n = stored.get(e).map_or(0, Vec::len);
        assert!(n <= 1, "{e} (unacknowledged) stored {n} times");
    }
    for c in &commands {
        // Its start and its end, each once; the end carries the exit status.
        let hs = &stored[c];
        assert_eq!(hs.len(), 2, "{c}: {hs:#?}");
        assert!(
            hs.iter().any(|h| h["meta"]["exit_status"] == 0),
            "{c}: {hs:#?}"
        );
    }
    let total: usize = stored.values().map(Vec::len).sum();
    assert_eq!(
        env.connect().count(),
        total as i64,
        "the stored count agrees with the heartbeats listed"
    );
    eprintln!(
        "crash test: {KILLS} kills in {:.1} s; socket {} acknowledged / {} not, HTTP {} / {}, \
         {} shell commands ({} hook events); {total} heartbeats stored",
        started.elapsed().as_secs_f64(),
        socket.acked.len(),
        socket.unacked.len(),
        http.acked.len(),
        http.unacked.len(),
        commands.len(),
        2 * commands.len(),
    );

    // SQLite's own check, on the database at rest.
    env.terminate_daemon();
    let db = rusqlite::Connection::open(env.database()).expect("open the database");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("run integrity_check");
    assert_eq!(check, "ok");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}
