//! `tf init SHELL` prints the hook script; `tf hook` is what the bash and fish hooks run in
//! the background: append one event to the spool, which the daemon consumes (it need not be
//! running). The git hooks `deliver` theirs to the daemon and spool it unless the daemon
//! answered that it was stored. Nothing here ever prints to the user's terminal from a hook.

use super::args::{HookArgs, HookShell};
use crate::paths::Paths;
use crate::protocol::{ErrorCode, Request, Response, parse_response, to_line};
use crate::shell::{ShellEvent, ShellEventKind};
use anyhow::Result;
use std::io::{BufRead, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// The script for `shell`, with the spool and `tf` paths and the spool's size guard filled in.
pub fn init(shell: HookShell, out: &mut impl Write) -> Result<ExitCode> {
    let ctx = super::Context::load()?;
    let tf = std::env::current_exe().unwrap_or_else(|_| "tf".into());
    let script = crate::shell::script(
        match shell {
            HookShell::Zsh => crate::shell::Shell::Zsh,
            HookShell::Bash => crate::shell::Shell::Bash,
            HookShell::Fish => crate::shell::Shell::Fish,
        },
        &ctx.paths.spool,
        spool_cap(ctx.config.shell.spool_max_bytes),
        &tf,
    );
    out.write_all(script.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Appends the event to the spool. Always exits 0 and prints nothing: a hook must never
/// disturb the shell.
pub fn hook(a: HookArgs) -> ExitCode {
    let Some(event) = to_event(a) else {
        return ExitCode::SUCCESS;
    };
    if let Some((paths, max)) = spool_target() {
        let _ = append(
            &paths.spool,
            &to_line(&Request::Shell(event)),
            spool_cap(max),
        );
    }
    ExitCode::SUCCESS
}

/// Sends a request line to the daemon (never starting it), waiting at most `timeout` for each
/// of the write and the answer, and spools the line unless the daemon answered that it stored
/// it (or rejected it: it would be rejected again). A daemon that dies or hangs up before its
/// answer may have stored it already: read again from the spool, it is stored once. Silent.
pub(crate) fn deliver(line: &str, timeout: Duration) {
    let Some((paths, max)) = spool_target() else {
        return;
    };
    if send(&paths.socket, line, timeout) == Sent::Unanswered {
        let _ = append(&paths.spool, line, spool_cap(max));
    }
}

/// The paths and `shell.spool_max_bytes`. A broken config must not break the shell or git: the
/// defaults then.
pub(crate) fn spool_target() -> Option<(Paths, u64)> {
    match super::Context::load() {
        Ok(ctx) => Some((ctx.paths, ctx.config.shell.spool_max_bytes)),
        Err(_) => Paths::from_env()
            .ok()
            .map(|p| (p, crate::config::ShellConfig::default().spool_max_bytes)),
    }
}

/// Hooks stop appending when the spool file is this big: a guard for the disk while the daemon
/// is down for long. It is well above `shell.spool_max_bytes`, of which the daemon keeps the
/// newest, so that it is the oldest events that are dropped.
pub fn spool_cap(spool_max_bytes: u64) -> u64 {
    spool_max_bytes.saturating_mul(4).max(1024 * 1024)
}

fn to_event(a: HookArgs) -> Option<ShellEvent> {
    let event = match a.event.as_str() {
        "start" => ShellEventKind::Start,
        "end" => ShellEventKind::End,
        _ => return None,
    };
    let now = crate::calendar::now_seconds();
    let time = a.time.filter(|t| t.is_finite()).unwrap_or(now);
    let start = a.start.or_else(|| a.duration_ms.map(|d| time - d / 1000.0));
    Some(ShellEvent {
        event,
        shell: a.shell,
        pid: a.pid,
        tty: a.tty.map(|t| t.to_string_lossy().into_owned()),
        cwd: a.cwd.to_string_lossy().into_owned(),
        command: truncate_at_char(a.command.to_string_lossy().into_owned(), COMMAND_MAX_BYTES),
        time,
        start,
        status: a.status,
    })
}

/// Command lines are cut here, as the zsh hook does (the daemon stores at most the entity limit).
const COMMAND_MAX_BYTES: usize = 4096;

fn truncate_at_char(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[derive(Debug, PartialEq, Eq)]
enum Sent {
    /// Stored, or rejected for good.
    Answered,
    /// No answer, or one saying that nothing was stored (storage failed, shutting down).
    Unanswered,
}

fn send(socket: &Path, line: &str, timeout: Duration) -> Sent {
    let answer = || -> std::io::Result<String> {
        let mut s = UnixStream::connect(socket)?;
        s.set_write_timeout(Some(timeout))?;
        s.write_all(line.as_bytes())?;
        s.set_read_timeout(Some(timeout))?;
        let mut answer = String::new();
        std::io::BufReader::new(s).read_line(&mut answer)?;
        Ok(answer)
    };
    let Ok(answer) = answer() else {
        return Sent::Unanswered;
    };
    // A line cut short (the daemon died mid-answer) does not parse: not an answer.
    match parse_response(answer.trim_end()) {
        Ok(Response::Error {
            code: ErrorCode::Storage | ErrorCode::ShuttingDown,
            ..
        }) => Sent::Unanswered,
        Ok(_) => Sent::Answered,
        Err(_) => Sent::Unanswered,
    }
}

/// Appends one line (ending in a newline) to the spool (0600, its directory 0700), unless the
/// file is already `cap` bytes or more; returns whether it did. One `write` in append mode:
/// lines of hooks writing at once never interleave, and the daemon reading it meanwhile sees
/// whole lines or a line not finished yet.
pub fn append(path: &Path, line: &str, cap: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent()
        && !dir.is_dir()
    {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    if f.metadata()?.len().saturating_add(line.len() as u64) > cap {
        return Ok(false);
    }
    f.write_all(line.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spool_is_private_appended_and_capped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/spool.jsonl");
        for i in 0..100 {
            append(&path, &format!("{{\"n\":{i:02}}}\n"), 200).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Whole lines, oldest kept: the daemon drops the oldest, a writer only stops.
        assert_eq!(text.len(), 198, "{text}");
        assert!(text.starts_with("{\"n\":00}\n") && text.ends_with("{\"n\":21}\n"));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert!(spool_cap(10 << 20) > 10 << 20);
    }

    /// A daemon that hangs up, or dies, before answering has not said the event is stored: it
    /// is spooled (issue: "with a daemon that closes without answering, tf hook never spools").
    #[test]
    fn an_unanswered_request_is_not_taken_as_sent() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tf.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let line = "{\"v\":1,\"type\":\"status\"}\n";
        let answers: [&[u8]; 4] = [
            b"",
            b"{\"v\":1,\"ty",
            b"{\"v\":1,\"type\":\"error\",\"code\":\"storage\",\"message\":\"disk full\"}\n",
            b"{\"v\":1,\"type\":\"ok\"}\n",
        ];
        let server = std::thread::spawn(move || {
            for answer in answers {
                let (mut conn, _) = listener.accept().unwrap();
                let mut buf = [0u8; 64];
                let _ = std::io::Read::read(&mut conn, &mut buf);
                conn.write_all(answer).unwrap();
            }
        });
        let timeout = Duration::from_secs(5);
        for want in [
            Sent::Unanswered,
            Sent::Unanswered,
            Sent::Unanswered,
            Sent::Answered,
        ] {
            assert_eq!(send(&socket, line, timeout), want);
        }
        server.join().unwrap();
        // Nobody listening at all.
        let _ = std::fs::remove_file(&socket);
        assert_eq!(send(&socket, line, timeout), Sent::Unanswered);
    }
}
