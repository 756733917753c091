//! `tf init SHELL` prints the hook script; `tf hook` is what the bash and fish hooks run in
//! the background: send one event to the daemon, or append it to the spool when the daemon is
//! down. Neither ever prints to the user's terminal from a hook.

use super::args::{HookArgs, HookShell};
use crate::paths::Paths;
use crate::protocol::{Request, to_line};
use crate::shell::{ShellEvent, ShellEventKind};
use anyhow::Result;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// The script for `shell`, with the socket, spool and `tf` paths filled in.
pub fn init(shell: HookShell, out: &mut impl Write) -> Result<ExitCode> {
    let ctx = super::Context::load()?;
    let tf = std::env::current_exe().unwrap_or_else(|_| "tf".into());
    let script = crate::shell::script(
        match shell {
            HookShell::Zsh => crate::shell::Shell::Zsh,
            HookShell::Bash => crate::shell::Shell::Bash,
            HookShell::Fish => crate::shell::Shell::Fish,
        },
        &ctx.paths.socket,
        &ctx.paths.spool,
        &tf,
    );
    out.write_all(script.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Sends the event; on any failure spools it. Always exits 0 and prints nothing: a hook must
/// never disturb the shell.
pub fn hook(a: HookArgs) -> ExitCode {
    let Some(event) = to_event(a) else {
        return ExitCode::SUCCESS;
    };
    deliver(&to_line(&Request::Shell(event)), Duration::from_secs(2));
    ExitCode::SUCCESS
}

/// Sends a request line to the daemon (never starting it), waiting at most `timeout` for each
/// of the write and the answer; spools the line when the daemon cannot be reached. Silent.
pub(crate) fn deliver(line: &str, timeout: Duration) {
    // A broken config must not break the shell: fall back to the default paths.
    let paths = match super::Context::load() {
        Ok(ctx) => Some((ctx.paths, ctx.config.shell.spool_max_bytes)),
        Err(_) => Paths::from_env()
            .ok()
            .map(|p| (p, crate::config::ShellConfig::default().spool_max_bytes)),
    };
    let Some((paths, spool_max)) = paths else {
        return;
    };
    if send(&paths.socket, line, timeout).is_err() {
        let _ = spool(&paths.spool, line, spool_max);
    }
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

fn send(socket: &Path, line: &str, timeout: Duration) -> std::io::Result<()> {
    let mut s = UnixStream::connect(socket)?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(line.as_bytes())?;
    // Wait for the answer so the event is stored before the next one is sent (keeps order).
    s.set_read_timeout(Some(timeout))?;
    let mut buf = [0u8; 256];
    let _ = std::io::Read::read(&mut s, &mut buf);
    Ok(())
}

/// Appends a line to the spool (0600). Past `max` bytes the oldest half is dropped first.
pub fn spool(path: &Path, line: &str, max: u64) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len + line.len() as u64 > max {
        let text = std::fs::read(path).unwrap_or_default();
        let keep_from = text.len().saturating_sub((max / 2) as usize);
        let start = text[keep_from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| keep_from + i + 1);
        std::fs::write(path, &text[start..])?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_is_private_and_bounded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/spool.jsonl");
        for i in 0..100 {
            spool(&path, &format!("{{\"n\":{i}}}\n"), 200).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.len() <= 200, "{}", text.len());
        assert!(text.ends_with("{\"n\":99}\n"));
        assert!(
            text.lines().all(|l| l.starts_with("{\"n\":")),
            "whole lines only: {text}"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
