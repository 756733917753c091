//! Agent events in the daemon: the hooks spool them (`tf agent event`), the spool consumer or
//! the socket hands them here; each becomes an agent heartbeat (project and branch from the
//! file's directory, else the session's), and sessions are remembered for `tf status`.

use super::State;
use crate::agent::{AgentEvent, Phase};
use crate::calendar::now_ms;
use crate::model::{Heartbeat, ms_to_seconds, seconds_to_ms};
use crate::project::ProjectInfo;
use crate::protocol::{AgentSeen, ErrorCode, Response};
use std::collections::HashMap;

/// Agent sessions are listed in `tf status` for this long after their last event.
const SEEN_FOR_MS: i64 = 3600 * 1000;

/// An event sent on the socket rather than spooled.
pub(crate) async fn handle(state: &State, e: AgentEvent) -> Response {
    let mut dirs = HashMap::new();
    let Some(h) = heartbeat_for(state, &e, &mut dirs).await else {
        return Response::Ok;
    };
    match state.store(vec![h]).await {
        Ok(_) => Response::Ok,
        Err(e) => Response::error(ErrorCode::Storage, e),
    }
}

/// The heartbeat `e` stands for, if it is activity and valid; remembers the session either way.
/// Deterministic for an event (its time is in it), so an event read twice is stored once.
/// `dirs` caches the repository lookups of one batch.
pub(crate) async fn heartbeat_for(
    state: &State,
    e: &AgentEvent,
    dirs: &mut HashMap<String, ProjectInfo>,
) -> Option<Heartbeat> {
    let dir = e
        .file
        .as_deref()
        .and_then(|f| std::path::Path::new(f).parent())
        .map(|d| d.to_string_lossy().into_owned())
        .or_else(|| e.cwd.clone());
    let info = match dir {
        Some(dir) => match dirs.get(&dir) {
            Some(info) => info.clone(),
            None => {
                // Repository lookup touches the disk: off the runtime thread.
                let d = dir.clone();
                let info = tokio::task::spawn_blocking(move || {
                    crate::project::detect(std::path::Path::new(&d))
                })
                .await
                .unwrap_or_default();
                dirs.insert(dir, info.clone());
                info
            }
        },
        None => ProjectInfo::default(),
    };
    remember(state, e, info.project.clone());
    let mut h = crate::agent::heartbeat(
        e,
        info.project,
        info.branch,
        info.root.map(|r| r.to_string_lossy().into_owned()),
        state.machine.clone(),
    )?;
    match h.validate(ms_to_seconds(now_ms())) {
        Ok(()) => Some(h),
        Err(err) => {
            tracing::warn!(agent = %e.agent, event = %e.event, "agent event dropped: {err}");
            None
        }
    }
}

/// Keeps the session for `tf status`: working from a prompt or tool until a stop, gone at its
/// end; sessions silent for an hour are forgotten.
fn remember(state: &State, e: &AgentEvent, project: Option<String>) {
    let Ok(mut seen) = state.agents.lock() else {
        return;
    };
    let now = now_ms();
    seen.retain(|_, s| now - seconds_to_ms(s.last_seen) < SEEN_FOR_MS);
    let key = (e.agent.clone(), e.session.clone().unwrap_or_default());
    let phase = Phase::of(&e.event);
    if phase == Phase::SessionEnd {
        seen.remove(&key);
        return;
    }
    let s = seen.entry(key).or_insert_with(|| AgentSeen {
        agent: e.agent.clone(),
        session: e.session.clone(),
        project: None,
        last_seen: e.time,
        working_since: None,
    });
    // Replayed spool lines arrive late: an older event changes nothing.
    if e.time < s.last_seen {
        return;
    }
    s.last_seen = e.time;
    if project.is_some() {
        s.project = project;
    }
    s.working_since = match phase {
        Phase::Working => s.working_since.or(Some(e.time)),
        _ => None,
    };
}

/// Agent sessions seen in the last hour, most recent first.
pub(crate) fn seen(state: &State) -> Vec<AgentSeen> {
    let now = now_ms();
    let mut list: Vec<AgentSeen> = state
        .agents
        .lock()
        .map(|s| {
            s.values()
                .filter(|s| now - seconds_to_ms(s.last_seen) < SEEN_FOR_MS)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    list.sort_by(|a, b| b.last_seen.total_cmp(&a.last_seen));
    list
}
