//! Git reports: time per branch (with first/last activity and commits made) and time per commit
//! — the time credited to a commit's branch since the previous commit on it.

use super::{Dim, Filters, IdFilter, Query, collect};
use crate::calendar::Calendar;
use crate::git::ticket::ticket;
use crate::store::{CommitRecord, Result, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchRow {
    pub project: String,
    pub branch: String,
    /// The ticket key in the branch name, if any (`ABC-123`, `#42`).
    #[serde(default)]
    pub ticket: Option<String>,
    pub seconds: f64,
    /// First and last heartbeat on the branch in the range (RFC 3339, local).
    pub first: Option<String>,
    pub last: Option<String>,
    /// Commits made on the branch in the range (rewritten ones count once).
    pub commits: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitRow {
    pub project: String,
    pub branch: Option<String>,
    pub sha: String,
    pub summary: Option<String>,
    /// When the commit was made (RFC 3339, local); a rebase keeps the original commit's time.
    pub time: String,
    pub time_unix: f64,
    /// Time on the commit's branch since the previous commit on it.
    pub seconds: f64,
    #[serde(default)]
    pub merge: bool,
}

/// How far back the first commit of a branch looks for its time.
pub const FIRST_COMMIT_LOOKBACK_MS: i64 = 30 * 24 * 3600 * 1000;

/// Branches with time in the query's range, most time first. `q.by` and `q.filters.branch` are
/// ignored: rows are per (project, branch).
pub fn branches(reader: &dyn Snapshot, cal: &Calendar, q: &Query) -> Result<Vec<BranchRow>> {
    let filters = Filters {
        branch: Vec::new(),
        ..q.filters.clone()
    };
    let filter = IdFilter::resolve(reader, &filters)?;
    let by = [Dim::Project, Dim::Branch];
    let q = Query {
        by: &by,
        filters: &filters,
        ..q.clone()
    };
    let mut time: HashMap<(u32, u32), i64> = HashMap::new();
    collect(reader, cal, &q, &filter, &mut |dims, _, ms, kind| {
        if kind.main() && dims.branch != 0 {
            *time.entry((dims.project, dims.branch)).or_default() += ms;
        }
    })?;
    let activity: HashMap<(u32, u32), (i64, i64)> = reader
        .branch_activity(q.user_id, q.start_ms, q.end_ms)?
        .into_iter()
        .map(|(p, b, first, last)| ((p, b), (first, last)))
        .collect();
    let mut commits: HashMap<(String, String), usize> = HashMap::new();
    for c in commits_in(reader, &q, &filters.project, None)? {
        *commits
            .entry((c.project, c.branch.unwrap_or_default()))
            .or_default() += 1;
    }
    let mut rows = Vec::with_capacity(time.len());
    for ((p, b), ms) in time {
        let (project, branch) = (reader.name(p)?, reader.name(b)?);
        let act = activity.get(&(p, b));
        rows.push(BranchRow {
            ticket: ticket(&branch),
            seconds: ms as f64 / 1000.0,
            first: act.map(|a| cal.rfc3339(a.0)),
            last: act.map(|a| cal.rfc3339(a.1)),
            commits: commits
                .remove(&(project.clone(), branch.clone()))
                .unwrap_or(0),
            project,
            branch,
        });
    }
    // Branches with commits but no tracked time in the range still show.
    for ((project, branch), n) in commits {
        rows.push(BranchRow {
            ticket: ticket(&branch),
            project,
            branch,
            seconds: 0.0,
            first: None,
            last: None,
            commits: n,
        });
    }
    rows.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then_with(|| (&a.project, &a.branch).cmp(&(&b.project, &b.branch)))
    });
    Ok(rows)
}

/// Commits made in the query's range, oldest first, each with the time credited to its
/// project and branch between the previous commit on that branch and itself (the first commit
/// of a branch looks back [`FIRST_COMMIT_LOOKBACK_MS`]).
pub fn commits(
    reader: &dyn Snapshot,
    cal: &Calendar,
    q: &Query,
    branch: Option<&str>,
) -> Result<Vec<CommitRow>> {
    let records = commits_in(reader, q, &q.filters.project, branch)?;
    let mut previous: HashMap<(String, Option<String>), i64> = HashMap::new();
    let mut rows = Vec::with_capacity(records.len());
    for c in records {
        let key = (c.project.clone(), c.branch.clone());
        let since = match previous.get(&key) {
            Some(&t) => Some(t),
            None => reader.previous_commit_time(
                q.user_id,
                &c.project,
                c.branch.as_deref(),
                c.time_ms,
            )?,
        }
        .unwrap_or(c.time_ms - FIRST_COMMIT_LOOKBACK_MS);
        previous.insert(key, c.time_ms);
        let filters = Filters {
            project: vec![c.project.clone()],
            branch: c.branch.iter().cloned().collect(),
            language: Vec::new(),
        };
        let seconds = if since < c.time_ms && c.branch.is_some() {
            let sub = Query {
                start_ms: since,
                end_ms: c.time_ms,
                by: &[],
                filters: &filters,
                ..q.clone()
            };
            let filter = IdFilter::resolve(reader, &filters)?;
            let mut ms = 0i64;
            collect(reader, cal, &sub, &filter, &mut |_, _, piece, kind| {
                if kind.main() {
                    ms += piece;
                }
            })?;
            ms as f64 / 1000.0
        } else {
            0.0
        };
        rows.push(CommitRow {
            time: cal.rfc3339(c.time_ms),
            time_unix: c.time_ms as f64 / 1000.0,
            project: c.project,
            branch: c.branch,
            sha: c.sha,
            summary: c.summary,
            seconds,
            merge: c.merge,
        });
    }
    Ok(rows)
}

/// Commits in the query's range of any of `projects` (all when empty).
fn commits_in(
    reader: &dyn Snapshot,
    q: &Query,
    projects: &[String],
    branch: Option<&str>,
) -> Result<Vec<CommitRecord>> {
    let one = match projects {
        [p] => Some(p.as_str()),
        _ => None,
    };
    let mut list = reader.commits(q.user_id, q.start_ms, q.end_ms, one, branch)?;
    if projects.len() > 1 {
        list.retain(|c| projects.contains(&c.project));
    }
    Ok(list)
}
