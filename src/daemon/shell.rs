//! Shell events in the daemon: each hook event becomes heartbeats (project and branch from the
//! command's directory), shells are remembered for `tf status`, and the spool left by hooks
//! while the daemon was down is drained at start, in order, once.

use super::State;
use super::handlers::now_ms;
use crate::model::ms_to_seconds;
use crate::protocol::{ErrorCode, Request, Response, ShellSeen, parse_request};
use crate::shell::{self, ShellEvent, ShellEventKind};
use std::io::BufRead;

/// Shells are listed in `tf status` for this long after their last event.
const SEEN_FOR_MS: i64 = 3600 * 1000;

pub(crate) async fn handle(state: &State, e: ShellEvent) -> Response {
    remember(state, &e);
    if state.shell_rules.excluded(&e) {
        return Response::Ok;
    }
    // Repository lookup touches the disk: off the runtime thread.
    let cwd = e.cwd.clone();
    let info =
        tokio::task::spawn_blocking(move || crate::project::detect(std::path::Path::new(&cwd)))
            .await
            .unwrap_or_default();
    let mut beats = shell::heartbeats(
        &e,
        &state.shell_rules,
        state.rules.timeout_ms,
        info.project,
        info.branch,
        state.machine.clone(),
    );
    let now = ms_to_seconds(now_ms());
    beats.retain_mut(|h| h.validate(now).is_ok());
    if beats.is_empty() {
        return Response::Ok;
    }
    match state.store(beats).await {
        Ok(_) => Response::Ok,
        Err(e) => Response::error(ErrorCode::Storage, e),
    }
}

/// Keeps the shell (and what it runs) for `tf status`, forgetting shells silent for an hour.
fn remember(state: &State, e: &ShellEvent) {
    let Ok(mut shells) = state.shells.lock() else {
        return;
    };
    let now = now_ms();
    shells.retain(|_, s| now - crate::model::seconds_to_ms(s.last_seen) < SEEN_FOR_MS);
    let program = shell::entity(&e.command, false);
    let seen = shells.entry(e.pid).or_insert_with(|| ShellSeen {
        shell: e.shell.clone(),
        pid: e.pid,
        tty: e.tty.clone(),
        last_seen: e.time,
        running: None,
        running_since: None,
        last_end: None,
    });
    seen.shell = e.shell.clone();
    seen.last_seen = seen.last_seen.max(e.time);
    match e.event {
        // bash and fish send start and end from separate processes, so a start can arrive
        // after its own end; it must not mark the shell as running again.
        ShellEventKind::Start if seen.last_end.is_some_and(|end| e.time <= end) => {}
        ShellEventKind::Start => {
            seen.running = Some(program);
            seen.running_since = Some(e.time);
        }
        ShellEventKind::End => {
            seen.running = None;
            seen.running_since = None;
            seen.last_end = Some(seen.last_end.unwrap_or(e.time).max(e.time));
        }
    }
}

/// Shells seen in the last hour, most recent first.
pub(crate) fn seen(state: &State) -> Vec<ShellSeen> {
    let now = now_ms();
    let mut list: Vec<ShellSeen> = state
        .shells
        .lock()
        .map(|s| {
            s.values()
                .filter(|s| now - crate::model::seconds_to_ms(s.last_seen) < SEEN_FOR_MS)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    list.sort_by(|a, b| b.last_seen.total_cmp(&a.last_seen));
    list
}

/// Processes the spool once: it is renamed first, so events a hook appends meanwhile go to a
/// new file, and a crash mid-drain re-reads the renamed file next time (duplicates are
/// dropped by the store's dedup). Past `spool_max_bytes` the oldest events are dropped.
pub(crate) async fn drain_spool(state: State) {
    let spool = state.options.paths.spool.clone();
    let draining = spool.with_extension("draining");
    if !draining.exists() && std::fs::rename(&spool, &draining).is_err() {
        return; // nothing spooled
    }
    let max = state.options.config.shell.spool_max_bytes;
    let lines = match read_newest(&draining, max) {
        Ok((lines, dropped)) => {
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "spool was over shell.spool_max_bytes: dropped its oldest events"
                );
                state
                    .spool_dropped
                    .fetch_add(dropped, std::sync::atomic::Ordering::Relaxed);
            }
            lines
        }
        Err(e) => {
            tracing::warn!("cannot read spool {}: {e}", draining.display());
            return;
        }
    };
    let (mut ok, mut bad) = (0usize, 0usize);
    for line in lines {
        match parse_request(&line) {
            Ok(Request::Shell(e)) => {
                handle(&state, e).await;
                ok += 1;
            }
            Ok(Request::Git(e)) => {
                super::git::record(&state, e, true).await;
                ok += 1;
            }
            _ => bad += 1,
        }
    }
    tracing::info!(events = ok, unreadable = bad, "drained the shell spool");
    if let Err(e) = std::fs::remove_file(&draining) {
        tracing::warn!("cannot remove {}: {e}", draining.display());
    }
}

/// The lines of the file, keeping only the newest that fit in `max` bytes; and how many were
/// dropped. A line that is not UTF-8 is skipped, not fatal.
fn read_newest(path: &std::path::Path, max: u64) -> std::io::Result<(Vec<String>, u64)> {
    let reader = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut lines: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let (mut bytes, mut dropped) = (0u64, 0u64);
    for line in reader.split(b'\n') {
        let Ok(line) = String::from_utf8(line?) else {
            continue;
        };
        bytes += line.len() as u64 + 1;
        lines.push_back(line);
        while bytes > max {
            match lines.pop_front() {
                Some(old) => {
                    bytes -= old.len() as u64 + 1;
                    dropped += 1;
                }
                None => break,
            }
        }
    }
    Ok((lines.into(), dropped))
}
