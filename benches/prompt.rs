//! Figure 1, the shell hook's cost at the prompt: the time from pressing Enter to the next
//! prompt in zsh and bash (and fish when installed) under a pty, with and without the hook
//! from `tf init`, on an empty line (the hook records nothing) and on `true` (it appends a start
//! and an end event to the spool, which a running daemon consumes). The shells run side by
//! side, one Enter each in turn, so that all see the same machine.
//!
//! Run with `cargo bench --bench prompt` (needs `cargo build --release` for the binaries).

mod common;

use common::{Home, Row, Table, bins, fail, ms, percentile};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Timed Enters per shell, case and variant, after WARMUP untimed ones.
const N: usize = 500;
const WARMUP: usize = 20;
/// The prompt, found in the pty's output to know that the shell is back.
const PROMPT: &[u8] = b"@TFP@";
/// Longest wait for anything a shell should do at once.
const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shell {
    Zsh,
    Bash,
    Fish,
}

impl Shell {
    fn name(self) -> &'static str {
        match self {
            Shell::Zsh => "zsh",
            Shell::Bash => "bash",
            Shell::Fish => "fish",
        }
    }

    /// The goal for the hook's added p99 on an empty line, from the issue.
    fn goal(self) -> Option<Duration> {
        match self {
            Shell::Zsh => Some(Duration::from_millis(1)),
            Shell::Bash => Some(Duration::from_millis(3)),
            Shell::Fish => None,
        }
    }
}

fn main() {
    let bins = bins();
    let home = Home::new(&bins);
    let _daemon = home.start_daemon();
    // A second home with no daemon: the spool only grows. What the hook costs the shell by
    // itself, apart from the daemon's work competing for the CPU.
    let quiet = Home::new(&bins);
    let mut table = Table::new(format!(
        "prompt latency, Enter to the next prompt under a pty (release build; p50 / p99 of \
         {N} Enters after {WARMUP}, with and without the hook in the same run; the hook appends \
         to the spool, which a running daemon consumes)"
    ));
    for shell in [Shell::Zsh, Shell::Bash, Shell::Fish] {
        if Command::new(shell.name())
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!("  .. {} is not installed: skipped", shell.name());
            continue;
        }
        let mut plain = Pty::shell(&home, shell, false);
        let mut hooked = Pty::shell(&home, shell, true);
        let mut hooked_quiet = Pty::shell(&quiet, shell, true);
        // One command first, as in a session: until then bash's $_ is the whole hook script
        // (the last argument of the rc's `eval`), which its DEBUG trap copies on every prompt.
        for pty in [&mut plain, &mut hooked, &mut hooked_quiet] {
            pty.enter(":");
        }
        for (case, typed) in [("empty line", ""), ("`true`", "true")] {
            let mut without = Vec::with_capacity(N);
            let mut with = Vec::with_capacity(N);
            let mut with_quiet = Vec::with_capacity(N);
            for i in 0..WARMUP + N {
                let a = plain.enter(typed);
                let b = hooked.enter(typed);
                let c = hooked_quiet.enter(typed);
                if i >= WARMUP {
                    without.push(a);
                    with.push(b);
                    with_quiet.push(c);
                }
            }
            let (p50_without, p99_without) = (
                percentile(&mut without, 50.0),
                percentile(&mut without, 99.0),
            );
            let (p50_with, p99_with) = (percentile(&mut with, 50.0), percentile(&mut with, 99.0));
            let added = p99_with.saturating_sub(p99_without);
            let mut row = Row::new(
                format!("{} {case}, p50 / p99", shell.name()),
                format!("{} / {}", ms(p50_with), ms(p99_with)),
            )
            .baseline(
                format!("{} / {} without", ms(p50_without), ms(p99_without)),
                format!(
                    "{:.2}x / {:.2}x",
                    ratio(p50_with, p50_without),
                    ratio(p99_with, p99_without)
                ),
            );
            if let (Some(goal), "") = (shell.goal(), typed) {
                row = row.goal(format!("p99 adds < {}", ms(goal)), added < goal);
            }
            table.push(row);
            table.push(Row::detail(
                "added by the hook",
                format!(
                    "{} at p50, {} at p99",
                    signed_ms(p50_with, p50_without),
                    signed_ms(p99_with, p99_without)
                ),
            ));
            let (p50_quiet, p99_quiet) = (
                percentile(&mut with_quiet, 50.0),
                percentile(&mut with_quiet, 99.0),
            );
            table.push(Row::detail(
                "with the daemon down",
                format!(
                    "{} at p50, {} at p99",
                    signed_ms(p50_quiet, p50_without),
                    signed_ms(p99_quiet, p99_without)
                ),
            ));
        }
    }
    table.print();
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn signed_ms(a: Duration, b: Duration) -> String {
    let d = (a.as_secs_f64() - b.as_secs_f64()) * 1000.0;
    format!("{d:+.3} ms")
}

/// A shell on a pty, read and written by the bench.
struct Pty {
    master: File,
    child: Child,
    /// Output read but not yet looked at.
    pending: Vec<u8>,
    _rc: tempfile::TempDir,
}

impl Pty {
    /// `shell` with a prompt the bench can find and, if `hooked`, the hook from `tf init`.
    fn shell(home: &Home, shell: Shell, hooked: bool) -> Pty {
        let rc_dir = tempfile::Builder::new()
            .prefix("tf-bench-rc-")
            .tempdir()
            .unwrap_or_else(|e| fail(format!("temp dir: {e}")));
        let tf = home.bins.tf.display().to_string();
        let (rc_name, prompt, load) = match shell {
            Shell::Zsh => (
                ".zshrc",
                "PS1='@TFP@ '\n",
                format!("eval \"$('{tf}' init zsh)\"\n"),
            ),
            Shell::Bash => (
                ".bashrc",
                "PS1='@TFP@ '\n",
                format!("eval \"$('{tf}' init bash)\"\n"),
            ),
            Shell::Fish => (
                "rc.fish",
                "set -g fish_greeting\nset -g fish_autosuggestion_enabled 0\n\
                 function fish_prompt; printf '@TFP@ '; end\n",
                format!("'{tf}' init fish | source\n"),
            ),
        };
        let rc = rc_dir.path().join(rc_name);
        let text = format!("{prompt}{}", if hooked { load.as_str() } else { "" });
        std::fs::write(&rc, text).unwrap_or_else(|e| fail(format!("write {}: {e}", rc.display())));

        let mut cmd = home.command(Path::new(shell.name()));
        cmd.env("HOME", rc_dir.path())
            .env("TERM", "xterm-256color")
            .env("LANG", "C.UTF-8")
            .env("ZDOTDIR", rc_dir.path());
        match shell {
            Shell::Zsh => cmd.args(["-d", "-i"]),
            Shell::Bash => cmd.args(["--noprofile", "--rcfile"]).arg(&rc).arg("-i"),
            Shell::Fish => cmd
                .args(["--no-config", "-i", "-C"])
                .arg(format!("source '{}'", rc.display())),
        };
        let (master, slave) = open_pty();
        let io = |f: &File| {
            Stdio::from(
                f.try_clone()
                    .unwrap_or_else(|e| fail(format!("dup the pty: {e}"))),
            )
        };
        cmd.stdin(io(&slave)).stdout(io(&slave)).stderr(io(&slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // A session of its own with the pty as its terminal, as a terminal emulator does.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| fail(format!("start {}: {e}", shell.name())));
        drop(slave);
        let mut pty = Pty {
            master,
            child,
            pending: Vec::new(),
            _rc: rc_dir,
        };
        pty.until_prompt();
        pty
    }

    /// Types `text`, then presses Enter: the time from Enter to the next prompt. Before
    /// returning, waits for whatever the hook left running in the background, so that one
    /// measurement does not pay for the last.
    fn enter(&mut self, text: &str) -> Duration {
        if !text.is_empty() {
            self.write(text.as_bytes());
            self.until(text.as_bytes());
        }
        let started = Instant::now();
        self.write(b"\r");
        self.until_prompt();
        let took = started.elapsed();
        self.settle();
        took
    }

    fn write(&mut self, bytes: &[u8]) {
        self.master
            .write_all(bytes)
            .unwrap_or_else(|e| fail(format!("write to the pty: {e}")));
    }

    fn until_prompt(&mut self) {
        self.until(PROMPT);
    }

    /// Reads until `needle` has been output, and drops what came before it.
    fn until(&mut self, needle: &[u8]) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.pending.windows(needle.len()).position(|w| w == needle) {
                self.pending.drain(..at + needle.len());
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                fail(format!(
                    "no {:?} from the shell within {PATIENCE:?}; it printed: {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.pending)
                ));
            }
            let mut fds = libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut fds, 1, left.as_millis().min(1000) as i32) };
            if n <= 0 {
                continue;
            }
            let mut buf = [0u8; 64 * 1024];
            match self.master.read(&mut buf) {
                Ok(0) | Err(_) => fail("the shell closed its terminal"),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Waits until no process but the shell is left in its session (the hooks' senders).
    fn settle(&self) {
        let sid = self.child.id();
        let deadline = Instant::now() + PATIENCE;
        while session_has_others(sid) {
            if Instant::now() > deadline {
                fail("the hook's background processes did not finish");
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn open_pty() -> (File, File) {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 50,
        ws_col: 200,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: valid out-pointers; a null name and termios are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if rc != 0 {
        fail(format!("openpty: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: openpty returned two new descriptors that nothing else owns.
    unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) }
}

/// Whether a live process other than `sid` itself is in the session `sid` leads (a zombie
/// has finished: it only waits for init to reap it).
fn session_has_others(sid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != sid)
        .any(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the parenthesised name: state ppid pgrp session …
            let fields: Vec<&str> = stat
                .rsplit_once(") ")
                .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
            fields.len() > 3 && fields[0] != "Z" && fields[3].parse::<u32>().ok() == Some(sid)
        })
}
