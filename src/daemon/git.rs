//! Git in the daemon: events from the hooks and the watcher (HEAD, reflog) are stored (branch switches,
//! commits, rewrites), a switch or commit seen live also counts as activity on its branch, and
//! the branch and commit reports are answered here.

use super::State;
use super::respond::{resolve, storage_error, write_error};
use crate::calendar::now_ms;
use crate::git::{GitEvent, GitEventKind};
use crate::model::{EntityType, Heartbeat, Source, ms_to_seconds, seconds_to_ms};
use crate::protocol::{ErrorCode, Event, Response};
use crate::report::{self, Filters, Query, RangeSpec};

/// Stores a git event. `live`: it happened just now (a hook, or HEAD seen changing), as
/// opposed to the branch a repository was found on when the watcher started.
pub(crate) async fn record(state: &State, e: GitEvent, live: bool) -> Response {
    if let Err(msg) = e.validate() {
        return Response::error(ErrorCode::Invalid, format!("invalid git event: {msg}"));
    }
    let repo = e.repo.clone();
    let info =
        tokio::task::spawn_blocking(move || crate::project::detect(std::path::Path::new(&repo)))
            .await
            .unwrap_or_default();
    let Some(project) = info.project else {
        return Response::error(
            ErrorCode::Invalid,
            format!(
                "invalid git event: repo: {} is not inside a git repository",
                e.repo
            ),
        );
    };
    let time_ms = seconds_to_ms(e.time);
    let (event, name) = (e.clone(), project.clone());
    let (user, from) = (state.local().id(), state.writer.local());
    let recorded = match state
        .writer
        .run(move |w| w.record_git(user, &name, &event, time_ms, &from))
        .await
    {
        Ok(r) => r,
        Err(e) => return write_error(e),
    };
    let changed = recorded.switched || recorded.commits > 0;
    let is_commit = matches!(e.kind, GitEventKind::Commit | GitEventKind::Merge)
        || e.rewrite == Some(crate::git::RewriteKind::Amend);
    // Once per commit, though the hook and the reflog both report it.
    if live && (recorded.switched || (is_commit && recorded.commits > 0)) {
        // Switching branches or committing is work on the branch: from here on, time goes
        // to the new branch, not the one before.
        let mut h = Heartbeat::new(e.time, "git".to_string());
        h.entity_type = EntityType::App;
        h.project = Some(project.clone());
        h.branch = e.branch.clone();
        h.machine = state.machine.clone();
        h.source = Some(Source::Git);
        if h.validate(ms_to_seconds(now_ms())).is_ok()
            && let Err(msg) = state.store(vec![h]).await
        {
            return storage_error(msg);
        }
    }
    if changed {
        let _ = state.events.send(Event::Git {
            project,
            branch: e.branch,
            kind: e.kind,
        });
    }
    Response::Ok
}

/// Answers a git report: resolves the range and runs `f` over it with a project filter, in one
/// snapshot.
async fn git_report(
    state: &State,
    range: RangeSpec,
    project: Option<String>,
    f: impl FnOnce(
        &dyn crate::store::Snapshot,
        &crate::calendar::Calendar,
        &Query,
    ) -> crate::store::Result<Response>
    + Send
    + 'static,
) -> Response {
    let (start, end) = match resolve(state, &range) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let account = state.local();
    let filters = Filters {
        project: project.into_iter().collect(),
        ..Filters::default()
    };
    state
        .read(move |r| {
            let q = Query {
                start_ms: start,
                end_ms: end,
                by: &[],
                filters: &filters,
                rules: account.rules(),
                rollups_usable: true,
                user_id: account.id(),
            };
            f(r, account.calendar(), &q)
        })
        .await
        .unwrap_or_else(storage_error)
}

pub(crate) async fn branches(state: &State, range: RangeSpec, project: Option<String>) -> Response {
    git_report(state, range, project, |r, cal, q| {
        report::git::branches(r, cal, q).map(|branches| Response::Branches { branches })
    })
    .await
}

pub(crate) async fn commits(
    state: &State,
    range: RangeSpec,
    project: Option<String>,
    branch: Option<String>,
) -> Response {
    git_report(state, range, project, move |r, cal, q| {
        report::git::commits(r, cal, q, branch.as_deref())
            .map(|commits| Response::Commits { commits })
    })
    .await
}
