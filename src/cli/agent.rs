//! `tf agent event`: what a coding agent's hook runs (Claude Code's hooks, or any agent with
//! flags). It reads the hook's JSON payload, keeps what TimeForged needs and appends one line
//! to the spool, which the daemon consumes (it need not be running). It never talks to the
//! daemon, never prints and always exits 0: a hook that failed or printed would block the
//! agent or end up in its context. What it drops, it says in the daemon's log file.

use super::args::AgentEventArgs;
use crate::agent::AgentEvent;
use crate::paths::Paths;
use crate::protocol::{Request, to_line};
use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Largest payload read: Claude Code sends whole files for Write and Edit, but not this much.
const MAX_PAYLOAD: usize = 32 * 1024 * 1024;
/// How long stdin may stay silent before the hook stops waiting for a payload: an agent that
/// passes flags may leave stdin open without writing to it.
const STDIN_WAIT: Duration = Duration::from_millis(200);

pub fn event(a: AgentEventArgs) -> ExitCode {
    let now = a
        .time
        .filter(|t| t.is_finite())
        .unwrap_or_else(crate::calendar::now_seconds);
    let target = super::hook::spool_target();
    let agent = match crate::agent::actor_name(&a.agent) {
        Ok(Some(name)) => name,
        Ok(None) => {
            log_drop(
                target.as_ref(),
                &a.agent,
                "--agent must name an agent, not the human",
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            log_drop(target.as_ref(), &a.agent, &format!("--agent {e}"));
            return ExitCode::SUCCESS;
        }
    };
    // A payload on the command line (Codex's `notify` passes it so), else on stdin unless the
    // flags say it all.
    let payload = match a.payload {
        Some(p) => Ok(Some(p)),
        None if a.event.is_none() => read_stdin(),
        None => Ok(None),
    };
    let payload = match payload {
        Ok(p) => p,
        Err(why) => {
            log_drop(target.as_ref(), &agent, &why);
            return ExitCode::SUCCESS;
        }
    };
    let mut e = match payload.filter(|p| !p.trim().is_empty()) {
        Some(p) => match crate::agent::from_payload(&agent, &p, now) {
            Ok(e) => e,
            Err(why) => {
                log_drop(target.as_ref(), &agent, &why);
                return ExitCode::SUCCESS;
            }
        },
        None => AgentEvent {
            agent,
            event: "event".into(),
            time: now,
            cwd: None,
            file: None,
            tool: None,
            session: None,
            model: None,
            line_changes: None,
            write: false,
        },
    };
    // Flags win over the payload.
    let text = |s: Option<std::ffi::OsString>| {
        s.map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.trim().is_empty())
    };
    if let Some(event) = text(a.event) {
        e.event = event;
    }
    if let Some(cwd) = text(a.cwd) {
        e.cwd = Some(cwd);
    }
    if e.cwd.is_none() {
        e.cwd = std::env::current_dir()
            .ok()
            .map(|d| d.to_string_lossy().into_owned());
    }
    if let Some(file) = text(a.file) {
        e.file = Some(crate::agent::absolute(&file, e.cwd.as_deref()));
        e.write |= a.write;
    }
    e.session = text(a.session).or(e.session);
    e.model = text(a.model).or(e.model);
    e.tool = text(a.tool).or(e.tool);
    if a.line_changes.is_some() {
        e.line_changes = a.line_changes;
        e.write = true;
    }
    if let Some((paths, max)) = target {
        let _ = super::hook::append(
            &paths.spool,
            &to_line(&Request::Agent(e)),
            super::hook::spool_cap(max),
        );
    }
    ExitCode::SUCCESS
}

/// A command line that clap refused, from an agent's hook: logged, and exit 0 all the same (an
/// agent reads exit status 2 as "block this tool call").
pub fn arguments_refused(err: &clap::Error) {
    let first = err.to_string();
    let first = first.lines().next().unwrap_or("invalid arguments");
    log_drop(
        super::hook::spool_target().as_ref(),
        "agent",
        &format!("tf agent event: {first}"),
    );
}

/// Whether these are the arguments of `tf agent event` (so that a mistake in them never fails
/// the agent's hook).
pub fn is_agent_event(args: &[std::ffi::OsString]) -> bool {
    let mut words = args
        .iter()
        .skip(1)
        .filter(|w| !w.to_string_lossy().starts_with('-'));
    words.next().is_some_and(|w| w == "agent") && words.next().is_some_and(|w| w == "event")
}

/// Stdin's payload, unless stdin is a terminal; what came when nothing more comes within
/// [`STDIN_WAIT`] of the last byte; an error when it is too big to be a hook's.
fn read_stdin() -> Result<Option<String>, String> {
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(0) } == 1 {
        return Ok(None);
    }
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut stdin = std::io::stdin().lock();
    let mut deadline = Instant::now() + STDIN_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut fd, 1, left.as_millis() as libc::c_int) };
        if ready <= 0 {
            // Silent for too long (or poll failed): what came is all there is.
            break;
        }
        match stdin.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > MAX_PAYLOAD {
                    return Err(format!(
                        "the payload is over {} MiB",
                        MAX_PAYLOAD / (1024 * 1024)
                    ));
                }
                deadline = Instant::now() + STDIN_WAIT;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok((!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned()))
}

/// One line in the daemon's log file, in its format: the hook has no terminal to speak to.
fn log_drop(target: Option<&(Paths, u64)>, agent: &str, why: &str) {
    let Some((paths, _)) = target else {
        return;
    };
    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ");
    let why = why.replace(['\n', '\r'], " ");
    let line = format!(
        "{now}  WARN timeforged::cli::agent: dropped an event of agent {agent:?} (the agent was not held up): {why}\n"
    );
    // Appended like the spool: one write, so it never interleaves with the daemon's lines.
    let _ = super::hook::append(&paths.log, &line, u64::MAX);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_event_arguments_are_recognised() {
        let args =
            |s: &str| -> Vec<std::ffi::OsString> { s.split_whitespace().map(Into::into).collect() };
        assert!(is_agent_event(&args("tf agent event --agent x")));
        assert!(is_agent_event(&args("tf agent event --bogus")));
        assert!(!is_agent_event(&args("tf agent")));
        assert!(!is_agent_event(&args("tf report agent event")));
    }
}
