//! Real shells for the shell-integration tests: zsh, bash or fish run interactively in a
//! private tmux server, with an rc file that loads the hook from `tf init`; the events their
//! hooks append to the spool, read back; and a listener that hangs up on whoever connects to the
//! daemon's socket.

// tests/shell.rs includes this file by path; not every test uses every helper.
#![allow(dead_code)]

use super::common::{DEADLINE, TF, TestEnv, skip, wait_for};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Zsh,
    Bash,
    Fish,
}

impl Shell {
    pub const ALL: [Shell; 3] = [Shell::Zsh, Shell::Bash, Shell::Fish];

    pub fn name(self) -> &'static str {
        match self {
            Shell::Zsh => "zsh",
            Shell::Bash => "bash",
            Shell::Fish => "fish",
        }
    }
}

/// Whether `program` runs here; says SKIPPED (or fails under TIMEFORGED_REQUIRE_ALL=1) if not.
pub fn have(program: &str, test: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        skip(&format!("{test}: `{program}` is not installed"));
    }
    found
}

/// tmux and the shell: the tools a real-shell test needs.
pub fn have_shell(shell: Shell, test: &str) -> bool {
    have("tmux", test) && have(shell.name(), test)
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        super::common::show(&out)
    );
    out
}

/// The hook script as `tf init SHELL` prints it for `env`.
pub fn init_script(env: &TestEnv, shell: Shell) -> String {
    String::from_utf8(run_ok(&mut env.tf_cmd(["init", shell.name()])).stdout)
        .expect("tf init prints UTF-8")
}

// ---------------------------------------------------------------------------------------------
// The spool, and a daemon that hangs up

/// The events the hooks appended to the spool (with no daemon to consume them, they stay).
pub struct Spooled {
    path: PathBuf,
}

impl Spooled {
    pub fn of(env: &TestEnv) -> Spooled {
        Spooled {
            path: env.base.join("spool.jsonl"),
        }
    }

    /// Every event in the spool, parsed: a line that is not JSON fails the test.
    pub fn events(&self) -> Vec<Value> {
        spool_events(&self.path)
    }

    /// Waits until `ready` holds for the events spooled so far, and returns them.
    pub fn wait(&self, what: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let mut last = Vec::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for(what, || {
                last = self.events();
                ready(&last).then(|| last.clone())
            })
        }));
        found.unwrap_or_else(|_| panic!("timed out waiting for {what}; spooled: {last:#?}"))
    }

    /// Waits for the start and end events of every command in `commands` (bash and fish
    /// append them from separate processes, so they may come in any order), and returns every
    /// event spooled so far.
    pub fn wait_commands(&self, commands: &[&str]) -> Vec<Value> {
        self.wait(&format!("start and end of {commands:?}"), |evs| {
            commands
                .iter()
                .all(|c| find(evs, "start", c).is_some() && find(evs, "end", c).is_some())
        })
    }
}

/// A listener at the daemon's socket path that reads each request, then closes the connection
/// without answering, as a daemon dying mid-request does. Stops on drop.
pub struct HangUp {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    /// Connections taken so far.
    accepted: Arc<AtomicUsize>,
}

impl HangUp {
    pub fn listen(env: &TestEnv) -> HangUp {
        let path = env.socket();
        let dir = path.parent().expect("the socket has a directory");
        std::fs::create_dir_all(dir).expect("create the socket directory");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .expect("make the socket directory private");
        let listener = UnixListener::bind(&path)
            .unwrap_or_else(|e| panic!("listen on {}: {e}", path.display()));
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (stopping, count) = (stop.clone(), accepted.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(conn) = conn else { continue };
                // The request line (or whatever comes within a moment), then hang up.
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_millis(500)));
                let mut line = Vec::new();
                let _ = std::io::BufRead::read_until(
                    &mut std::io::BufReader::new(&conn),
                    b'\n',
                    &mut line,
                );
            }
        });
        HangUp {
            path,
            stop,
            accepted,
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for HangUp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stop`.
        let _ = UnixStream::connect(&self.path);
    }
}

/// Parses JSON lines, failing the test on any line that is not a JSON object.
pub fn parse_lines(lines: &[Vec<u8>]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_slice(l).unwrap_or_else(|e| {
                panic!(
                    "a hook wrote a line that is not JSON ({e}): {:?}",
                    String::from_utf8_lossy(&l[..l.len().min(300)])
                )
            });
            assert!(v.is_object(), "not a JSON object: {v}");
            v
        })
        .collect()
}

/// The whole lines of a spool file, parsed (none if it does not exist). A hook may be
/// appending while this reads: a last line without its newline is not written yet, and is
/// left for the next read (as the daemon does).
pub fn spool_events(path: &Path) -> Vec<Value> {
    let mut bytes = std::fs::read(path).unwrap_or_default();
    bytes.truncate(bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1));
    let lines: Vec<Vec<u8>> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    parse_lines(&lines)
}

/// The event `kind` (start or end) of `command`, if received.
pub fn find<'a>(events: &'a [Value], kind: &str, command: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["event"] == kind && e["command"] == command)
}

pub fn events_of<'a>(events: &'a [Value], command: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["command"] == command).collect()
}

// ---------------------------------------------------------------------------------------------
// A shell in tmux

/// What goes into the rc file besides the prompt, the user's own prompt hooks and the hook.
#[derive(Debug, Clone)]
pub struct Rc {
    /// Lines before the hook is loaded.
    pub before: String,
    /// How many times the rc loads the hook (`eval "$(tf init …)"`).
    pub loads: usize,
    /// Lines after it.
    pub after: String,
}

impl Default for Rc {
    fn default() -> Rc {
        Rc {
            before: String::new(),
            loads: 1,
            after: String::new(),
        }
    }
}

impl Rc {
    pub fn before(text: &str) -> Rc {
        Rc {
            before: text.to_string(),
            ..Rc::default()
        }
    }

    pub fn after(text: &str) -> Rc {
        Rc {
            after: text.to_string(),
            ..Rc::default()
        }
    }

    /// The rc text. Each shell gets a plain `$ ` prompt and two prompt hooks of the user's, one
    /// added before the hook is loaded and one after, which log the status they see
    /// (`before …`/`after …` lines in ~/prompts.log); the `after` lines count the prompts.
    fn render(&self, shell: Shell) -> String {
        let load = match shell {
            Shell::Zsh => "eval \"$(\"$TF\" init zsh)\"\n",
            Shell::Bash => "eval \"$(\"$TF\" init bash)\"\n",
            Shell::Fish => "command $TF init fish | source\n",
        }
        .repeat(self.loads);
        let (head, tail) = match shell {
            Shell::Zsh => (
                "PS1='$ '\n\
                 HISTFILE=~/.zsh_history HISTSIZE=1000 SAVEHIST=1000\n\
                 _user_before() { print -r -- \"before $? ${pipestatus[*]}\" >>| ~/prompts.log }\n\
                 precmd_functions+=(_user_before)\n",
                "_user_after() { print -r -- \"after $? ${pipestatus[*]}\" >>| ~/prompts.log }\n\
                 precmd_functions+=(_user_after)\n",
            ),
            Shell::Bash => (
                "PS1='$ '\n\
                 HISTFILE=~/.bash_history\n\
                 _user_before() { local s=$? p=\"${PIPESTATUS[*]}\"; echo \"before $s $p\" >> ~/prompts.log; return $s; }\n\
                 PROMPT_COMMAND=_user_before\n",
                "_user_after() { echo \"after $? ${PIPESTATUS[*]}\" >> ~/prompts.log; }\n\
                 PROMPT_COMMAND+=$'\\n'_user_after\n",
            ),
            Shell::Fish => (
                "set -g fish_greeting\n\
                 set -g fish_autosuggestion_enabled 0\n\
                 function fish_prompt; printf '$ '; end\n\
                 function _user_before --on-event fish_postexec\n\
                 echo \"before $status $pipestatus\" >> ~/prompts.log\n\
                 end\n",
                "function _user_after --on-event fish_prompt\n\
                 echo \"after $status $pipestatus\" >> ~/prompts.log\n\
                 end\n",
            ),
        };
        format!("{head}{}\n{load}{tail}{}\n", self.before, self.after)
    }
}

/// An interactive shell in its own tmux server (socket in the test's temp dir), with HOME in
/// the temp dir and the environment cleared but for what it needs. Killed on drop.
pub struct Session {
    pub shell: Shell,
    tmux_socket: PathBuf,
    pub home: PathBuf,
    /// The shell's pid and terminal, as the hook should report them.
    pub pid: u32,
    pub tty: String,
}

impl Session {
    pub fn start(env: &TestEnv, shell: Shell, rc: &Rc) -> Session {
        Session::start_in(env, shell, rc, &[])
    }

    /// With extra environment variables for the shell.
    pub fn start_in(env: &TestEnv, shell: Shell, rc: &Rc, vars: &[(&str, &str)]) -> Session {
        let home = env.scratch().join("home");
        std::fs::create_dir_all(&home).expect("create HOME");
        let rc_text = rc.render(shell);
        let rc_file = home.join(match shell {
            Shell::Zsh => ".zshrc",
            Shell::Bash => ".bashrc",
            Shell::Fish => "rc.fish",
        });
        std::fs::write(&rc_file, rc_text).expect("write the rc file");
        let tmux_socket = env.scratch().join("tmux.sock");
        let conf = env.scratch().join("tmux.conf");
        // The pane stays after the shell exits, so that a dead shell shows its last screen.
        std::fs::write(&conf, "set -g remain-on-exit on\nset -g status off\n")
            .expect("write tmux.conf");

        let mut cmd = Command::new("tmux");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("LANG", "C.UTF-8")
            .arg("-u")
            .arg("-S")
            .arg(&tmux_socket)
            .arg("-f")
            .arg(&conf)
            .args([
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "200",
                "-y",
                "50",
                "-c",
            ])
            .arg(&home)
            .arg("env")
            .arg("-i");
        let mut shell_env: Vec<(String, String)> = vec![
            ("PATH".into(), path_var()),
            ("HOME".into(), home.display().to_string()),
            ("TERM".into(), "screen".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TZ".into(), env.tz.clone()),
            ("TIMEFORGED_DIR".into(), env.base.display().to_string()),
            ("TF".into(), TF.into()),
        ];
        shell_env.extend(env.env.iter().cloned());
        if shell == Shell::Zsh {
            shell_env.push(("ZDOTDIR".into(), home.display().to_string()));
        }
        for (k, v) in vars {
            shell_env.push((k.to_string(), v.to_string()));
        }
        for (k, v) in &shell_env {
            cmd.arg(format!("{k}={v}"));
        }
        match shell {
            // -d: not the system's rc files, which differ between machines.
            Shell::Zsh => cmd.args(["zsh", "-d", "-i"]),
            Shell::Bash => cmd
                .args(["bash", "--noprofile", "--rcfile"])
                .arg(&rc_file)
                .arg("-i"),
            Shell::Fish => cmd
                .args(["fish", "--no-config", "-i", "-C"])
                .arg(format!("source '{}'", rc_file.display())),
        };
        run_ok(&mut cmd);
        let mut session = Session {
            shell,
            tmux_socket,
            home,
            pid: 0,
            tty: String::new(),
        };
        session.pid = session
            .display("#{pane_pid}")
            .parse()
            .expect("tmux gives the pane's pid");
        session.tty = session.display("#{pane_tty}");
        wait_for_prompt(&session, 1, true);
        session
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .arg("-u")
            .arg("-S")
            .arg(&self.tmux_socket);
        cmd
    }

    fn display(&self, format: &str) -> String {
        let out = run_ok(
            self.tmux()
                .args(["display-message", "-p", "-t", "t", format]),
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Types `text` (literally: a newline in it is Enter).
    pub fn type_text(&self, text: &str) {
        // A text starting with `-` would be taken for an option by send-keys.
        run_ok(self.tmux().args(["send-keys", "-t", "t", "-l", "--", text]));
    }

    /// Presses keys by tmux name: `Enter`, `C-v`, `Up` …
    pub fn keys(&self, keys: &[&str]) {
        run_ok(self.tmux().args(["send-keys", "-t", "t"]).args(keys));
    }

    /// The lines of ~/prompts.log (`before|after STATUS [PIPESTATUS]`).
    pub fn prompt_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.home.join("prompts.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Prompts shown so far.
    pub fn prompts(&self) -> usize {
        self.prompt_log()
            .iter()
            .filter(|l| l.starts_with("after"))
            .count()
    }

    /// Types `line`, presses Enter and waits for the next prompt. Returns what the user's
    /// prompt hook added after the hook saw: `STATUS [PIPESTATUS…]`.
    pub fn run(&self, line: &str) -> String {
        let n = self.prompts();
        self.type_text(line);
        self.keys(&["Enter"]);
        wait_for_prompt(self, n + 1, true);
        let log = self.prompt_log();
        let last = log
            .iter()
            .rev()
            .find(|l| l.starts_with("after"))
            .expect("a prompt was logged");
        last["after ".len()..].to_string()
    }

    /// Waits until `n` prompts have been shown; with `on_screen`, until the last is drawn with
    /// an empty line after it.
    pub fn wait_prompts(&self, n: usize, on_screen: bool) {
        wait_for_prompt(self, n, on_screen);
    }

    /// Presses Enter on an empty line and waits for the next prompt.
    pub fn enter(&self) {
        self.run("");
    }

    /// The visible screen, trailing blank lines dropped.
    pub fn screen(&self) -> String {
        let out = run_ok(self.tmux().args(["capture-pane", "-p", "-t", "t"]));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        let keep = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        lines[..keep].join("\n")
    }

    /// Appends everything the shell writes to its terminal, raw (a bell included), to `file`.
    pub fn record_output(&self, file: &Path) {
        run_ok(
            self.tmux()
                .args(["pipe-pane", "-t", "t", "-o"])
                .arg(format!("cat >> '{}'", file.display())),
        );
    }

    pub fn alive(&self) -> bool {
        self.display("#{pane_dead}") == "0"
    }
}

impl Drop for Session {
    /// Kills the tmux server, then waits until the shell and the hook's background children
    /// are gone: a shell writes its history as it exits, and a `tf hook` may still spool, both
    /// into the temp dir that is removed next.
    fn drop(&mut self) {
        let _ = self
            .tmux()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let gone = || {
            let shell_gone = stat_field(self.pid, 3).is_none_or(|state| state == "Z");
            (shell_gone && session_processes(self.pid).is_empty()).then_some(())
        };
        // Not wait_for: a panic in drop during a failing test would abort the run.
        let deadline = std::time::Instant::now() + DEADLINE;
        while gone().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Field `n` (1-based, as in proc(5)) of /proc/PID/stat.
pub fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(n - 3).map(str::to_string)
}

/// The live processes in the session whose leader is `sid` (a shell), but the leader itself
/// (a zombie has finished; it only waits for init to reap it).
pub fn session_processes(sid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&pid| {
                    pid != sid
                        && stat_field(pid, 6) == Some(sid.to_string())
                        && stat_field(pid, 3).is_some_and(|state| state != "Z")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the user's prompt hook has run `n` times and the prompt is on the screen: keys
/// typed before the line editor is back would be echoed by the terminal, not the shell.
fn wait_for_prompt(s: &Session, n: usize, on_screen: bool) {
    let mut screen = String::new();
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(&format!("prompt {n} of {}", s.shell.name()), || {
            if s.prompts() < n {
                return None;
            }
            if !on_screen {
                return Some(());
            }
            screen = s.screen();
            (screen.lines().last() == Some("$")).then_some(())
        })
    }));
    if ok.is_err() {
        panic!(
            "{} did not show prompt {n} within {DEADLINE:?}; alive: {}; screen:\n{screen}\n\
             prompt log: {:?}",
            s.shell.name(),
            s.alive(),
            s.prompt_log()
        );
    }
}

/// The test's PATH, so the shells find git, tmux and each other.
fn path_var() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())
}

// ---------------------------------------------------------------------------------------------
// Git

/// A git repository at `dir` on branch `branch`, with one commit.
pub fn git_repo(dir: &Path, branch: &str) {
    std::fs::create_dir_all(dir).expect("create the repo dir");
    let git = |args: &[&str]| {
        run_ok(
            Command::new("git")
                .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
                .args([
                    "-c",
                    "init.defaultBranch=main",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .current_dir(dir)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", dir),
        );
    };
    git(&["init", "-q", "-b", branch]);
    git(&["commit", "-q", "--allow-empty", "-m", "start"]);
}

/// Mode bits of a file.
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}
