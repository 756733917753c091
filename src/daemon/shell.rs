//! Shell events in the daemon: the hooks append every event to the spool file, which the daemon
//! consumes as it grows (inotify on Linux, a slow poll everywhere as well) and once at start;
//! each event becomes heartbeats (project and branch from the command's directory), and shells
//! are remembered for `tf status`. Lines count as consumed only once their heartbeats are
//! committed: a crash or a full disk never loses them, and a line read twice is stored once
//! (heartbeats are deduplicated by hash, git events by sha and time).

mod spool;

use super::State;
use crate::calendar::now_ms;
use crate::model::{Heartbeat, ms_to_seconds};
use crate::paths::Paths;
use crate::project::ProjectInfo;
use crate::protocol::{ErrorCode, Request, Response, ShellSeen, parse_request};
use crate::shell::{self, ShellEvent, ShellEventKind};
use spool::Spool;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Shells are listed in `tf status` for this long after their last event.
const SEEN_FOR_MS: i64 = 3600 * 1000;
/// How often the spool is looked at without a change notice: the only way where inotify is
/// missing, a safety net where it is there (a watch lost with its directory).
const POLL: Duration = Duration::from_secs(1);
const POLL_WITH_INOTIFY: Duration = Duration::from_secs(10);
/// After a failed commit (a full disk …) the next try waits this long, doubling up to the cap.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// An event sent on the socket (`{"type": "shell"}`), as the hooks did before they spooled.
pub(crate) async fn handle(state: &State, e: ShellEvent) -> Response {
    remember(state, &e);
    let beats = heartbeats_for(state, &e, &mut HashMap::new()).await;
    if beats.is_empty() {
        return Response::Ok;
    }
    match state.store(beats).await {
        Ok(_) => Response::Ok,
        Err(e) => Response::error(ErrorCode::Storage, e),
    }
}

/// The heartbeats `e` stands for; none if it is excluded or invalid. Deterministic for a given
/// event (times come from the event), so a replayed event dedups. `dirs` caches the repository
/// lookups of one batch.
async fn heartbeats_for(
    state: &State,
    e: &ShellEvent,
    dirs: &mut HashMap<String, ProjectInfo>,
) -> Vec<Heartbeat> {
    let live = state.live();
    if live.shell_rules.excluded(e) {
        return Vec::new();
    }
    let info = match dirs.get(&e.cwd) {
        Some(info) => info.clone(),
        None => {
            // Repository lookup touches the disk: off the runtime thread.
            let cwd = e.cwd.clone();
            let info = tokio::task::spawn_blocking(move || {
                crate::project::detect(std::path::Path::new(&cwd))
            })
            .await
            .unwrap_or_default();
            dirs.insert(e.cwd.clone(), info.clone());
            info
        }
    };
    let mut beats = shell::heartbeats(
        e,
        &live.shell_rules,
        live.local.rules().timeout_ms,
        info.project,
        info.branch,
        state.machine.clone(),
    );
    let now = ms_to_seconds(now_ms());
    beats.retain_mut(|h| h.validate(now).is_ok());
    beats
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
        // after its own end (and a replayed start after a later end); it must not mark the
        // shell as running again.
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

/// Bytes of events in the spool not yet consumed, for `tf status`.
pub(crate) fn spool_pending(paths: &Paths) -> u64 {
    spool::pending_bytes(&paths.spool)
}

/// Consumes the spool for as long as the daemon runs: at once, then whenever a hook appends
/// (or every few seconds). A failed commit leaves the lines in place and is tried again later.
pub(crate) async fn drain_spool(state: State) {
    let path = state.options.paths.spool.clone();
    let mut spool = Spool::open(&path, state.options.config.shell.spool_max_bytes);
    let mut wake = wake::Wake::new(&path);
    let mut stopping = state.shutdown.subscribe();
    let mut retry: Option<Duration> = None;
    loop {
        if *stopping.borrow() {
            return;
        }
        match consume(&state, &mut spool).await {
            Ok(()) => {
                if retry.take().is_some() {
                    tracing::info!("the spooled events are stored again");
                }
            }
            Err(e) => {
                let wait = retry.map_or(RETRY_FIRST, |d| (d * 2).min(RETRY_MAX));
                tracing::warn!(
                    "spooled events not stored ({e}); they stay in {} and are tried again in {wait:?}",
                    path.display()
                );
                retry = Some(wait);
            }
        }
        if let Err(e) = spool.compact(Instant::now()) {
            tracing::warn!("compacting the spool {}: {e}", path.display());
        }
        let mut pause = retry.unwrap_or(match wake {
            Some(_) => POLL_WITH_INOTIFY,
            None => POLL,
        });
        if let Some(at) = spool.grace_ends() {
            pause = pause.min(at.saturating_duration_since(Instant::now()) + POLL / 10);
        }
        tokio::select! {
            // While a commit keeps failing, new lines do not help: wait for the retry.
            _ = async {
                match wake.as_mut() {
                    Some(w) => w.changed().await,
                    None => std::future::pending().await,
                }
            }, if retry.is_none() => {}
            _ = tokio::time::sleep(pause) => {}
            _ = stopping.changed() => {}
        }
    }
}

/// Reads and stores every complete line waiting, committing the cursor after each batch.
async fn consume(state: &State, spool: &mut Spool) -> Result<(), String> {
    let shown = |e: std::io::Error| format!("reading the spool: {e}");
    let dropped = spool.enforce_bound().map_err(shown)?;
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "the spool was over shell.spool_max_bytes: its oldest events were dropped"
        );
        state.spool_dropped.fetch_add(dropped, Ordering::Relaxed);
    }
    let mut dirs = HashMap::new();
    let (mut events, mut unreadable) = (0usize, 0u64);
    while let Some(batch) = spool.next_batch().map_err(shown)? {
        let (stored, bad) = store_lines(state, &batch.lines, &mut dirs).await?;
        spool.commit(&batch);
        events += stored;
        unreadable += bad + batch.oversized;
    }
    if unreadable > 0 {
        tracing::warn!(unreadable, "spool lines that are no event were skipped");
    }
    if events > 0 {
        tracing::debug!(events, "consumed spooled events");
    }
    Ok(())
}

/// Stores the events of `lines` in order: shell events' heartbeats in one commit, each git
/// event on its own. Returns (events, lines that are no event); an error when a commit failed
/// (the whole batch is then read again later: what was committed is stored once all the same).
async fn store_lines(
    state: &State,
    lines: &[String],
    dirs: &mut HashMap<String, ProjectInfo>,
) -> Result<(usize, u64), String> {
    let mut beats = Vec::new();
    let (mut events, mut unreadable) = (0usize, 0u64);
    for line in lines {
        let request = parse_request(line).or_else(|e| match spool::salvage(line) {
            Some(rest) => parse_request(rest),
            None => Err(e),
        });
        match request {
            Ok(Request::Shell(e)) => {
                remember(state, &e);
                beats.extend(heartbeats_for(state, &e, dirs).await);
                events += 1;
            }
            Ok(Request::Agent(e)) => {
                beats.extend(super::agent::heartbeat_for(state, &e, dirs).await);
                events += 1;
            }
            Ok(Request::Git(e)) => {
                store(state, std::mem::take(&mut beats)).await?;
                if let Response::Error {
                    code: ErrorCode::Storage | ErrorCode::ShuttingDown,
                    message,
                } = super::git::record(state, e, true).await
                {
                    return Err(message);
                }
                events += 1;
            }
            _ => unreadable += 1,
        }
    }
    store(state, beats).await?;
    Ok((events, unreadable))
}

async fn store(state: &State, beats: Vec<Heartbeat>) -> Result<(), String> {
    if beats.is_empty() {
        return Ok(());
    }
    state.store(beats).await.map(|_| ())
}

/// What wakes the consumer when a hook appends: inotify on the two spool files themselves
/// (the database lives in the same directory, and a watch on the directory for changes woke
/// the consumer on every commit), and on the directory only for a spool file appearing, to
/// watch the new one. None where it cannot be had: polling does it then.
#[cfg(target_os = "linux")]
mod wake {
    use inotify::{EventMask, Inotify, WatchMask};
    use std::ffi::OsString;
    use std::path::{Path, PathBuf};
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    pub(super) struct Wake {
        fd: AsyncFd<Inotify>,
        files: [PathBuf; 2],
        names: [OsString; 2],
        buffer: Vec<u8>,
    }

    impl Wake {
        pub(super) fn new(spool: &Path) -> Option<Wake> {
            let dir = spool.parent()?;
            let files = [spool.to_path_buf(), spool.with_extension("draining")];
            let names = [
                files[0].file_name()?.to_os_string(),
                files[1].file_name()?.to_os_string(),
            ];
            let started = Inotify::init().and_then(|inotify| {
                inotify
                    .watches()
                    .add(dir, WatchMask::CREATE | WatchMask::MOVED_TO)?;
                // SAFETY: the Inotify owns its descriptor, closes it only when dropped (with
                // the AsyncFd that owns it), and never swaps it for another.
                unsafe { AsyncFd::register_with_interest(inotify, Interest::READABLE) }
                    .map_err(|e| e.into_parts().1)
            });
            match started {
                Ok(fd) => {
                    let mut wake = Wake {
                        fd,
                        files,
                        names,
                        buffer: vec![0; 4096],
                    };
                    wake.watch_files();
                    Some(wake)
                }
                Err(e) => {
                    tracing::warn!(
                        "cannot watch {} for spooled events ({e}); looking every second instead",
                        dir.display()
                    );
                    None
                }
            }
        }

        /// Watches the spool files there are now (a file created or renamed into place is a
        /// new inode; the watch of a removed one goes with it).
        fn watch_files(&mut self) {
            for file in &self.files {
                // Missing until a hook first appends: the directory's watch says when.
                let _ = self.fd.get_mut().watches().add(file, WatchMask::MODIFY);
            }
        }

        /// Returns once a spool file has changed (or the kernel dropped events).
        pub(super) async fn changed(&mut self) {
            loop {
                let Ok(mut ready) = self.fd.readable_mut().await else {
                    return std::future::pending().await;
                };
                let (mut written, mut appeared) = (false, false);
                match ready.get_inner_mut().read_events(&mut self.buffer) {
                    Ok(events) => {
                        for e in events {
                            let ours = e.name.is_some_and(|n| self.names.iter().any(|m| m == n));
                            written |= e.mask.contains(EventMask::Q_OVERFLOW)
                                || (e.name.is_none() && e.mask.contains(EventMask::MODIFY));
                            appeared |= ours;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ready.clear_ready(),
                    Err(e) => {
                        tracing::warn!("reading inotify events for the spool: {e}");
                        return std::future::pending().await;
                    }
                }
                if appeared {
                    self.watch_files();
                }
                if written || appeared {
                    return;
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod wake {
    /// No change notices here: the consumer polls.
    pub(super) enum Wake {}

    impl Wake {
        pub(super) fn new(_spool: &std::path::Path) -> Option<Wake> {
            None
        }

        pub(super) async fn changed(&mut self) {
            match *self {}
        }
    }
}
