//! Git records in SQLite: commits (marks on a branch that survive rewrites) and branch
//! switches.

use super::{Interner, SqliteSnapshot, journal};
use crate::git::{GitEvent, GitEventKind, RewriteKind};
use crate::store::{
    CommitRecord, CommitSync, GitRecorded, Provenance, Record, Result, SwitchSync, UserId,
    journal_kind,
};
use rusqlite::{Connection, OptionalExtension, params};

/// Stores one git event of `project` at `time_ms` (inside the writer's transaction); what
/// it adds or rewrites is journaled when `log` (a syncing daemon).
pub(super) fn record(
    tx: &Connection,
    strings: &mut Interner,
    user_id: UserId,
    project: &str,
    e: &GitEvent,
    time_ms: i64,
    log: bool,
) -> rusqlite::Result<GitRecorded> {
    let mut out = GitRecorded::default();
    let project = strings.id(tx, project)?;
    let branch = strings.opt(tx, e.branch.as_deref())?;
    // Every event tells which branch is checked out; only a change is a switch.
    if let Some(b) = branch {
        let last: Option<u32> = tx
            .prepare_cached(
                "SELECT branch FROM branch_switches WHERE user_id = ?1 AND project = ?2
                 ORDER BY time_ms DESC LIMIT 1",
            )?
            .query_row(params![user_id, project], |r| r.get(0))
            .optional()?;
        if last != Some(b) {
            out.switched = tx.execute(
                "INSERT OR IGNORE INTO branch_switches (user_id, project, time_ms, branch, head)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user_id, project, time_ms, b, e.head],
            )? > 0;
            if out.switched && log {
                journal(
                    tx,
                    user_id,
                    journal_kind::SWITCH,
                    time_ms,
                    project.into(),
                    None,
                    None,
                )?;
            }
        }
    }
    match e.kind {
        GitEventKind::Checkout => {}
        GitEventKind::Commit | GitEventKind::Merge => {
            if let Some(sha) = &e.head {
                let added = tx.execute(
                    "INSERT OR IGNORE INTO commits (user_id, project, sha, branch, time_ms, summary, merge)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![user_id, project, sha, branch, time_ms, e.summary, e.kind == GitEventKind::Merge],
                )?;
                if added > 0 && log {
                    journal(
                        tx,
                        user_id,
                        journal_kind::COMMIT,
                        time_ms,
                        project.into(),
                        Some(sha),
                        None,
                    )?;
                }
                out.commits += added;
            }
        }
        GitEventKind::Rewrite => {
            for (old, new) in &e.rewritten {
                let changed = rewrite(tx, user_id, project, old, new, e, branch, time_ms)?;
                if changed > 0 && log {
                    // The old commit now points at the new one: both travel.
                    for sha in [old, new] {
                        journal(
                            tx,
                            user_id,
                            journal_kind::COMMIT,
                            time_ms,
                            project.into(),
                            Some(sha),
                            None,
                        )?;
                    }
                }
                out.commits += changed;
            }
        }
    }
    Ok(out)
}

/// Stores commits and branch switches received from another machine, each once; a commit
/// already known takes the later mark and what replaced it.
pub(super) fn apply(
    tx: &Connection,
    strings: &mut Interner,
    user_id: UserId,
    records: &[Record],
    from: &Provenance,
) -> rusqlite::Result<usize> {
    let origin = strings.opt(tx, from.origin.as_deref())?;
    let mut changed = 0;
    for r in records {
        match r {
            Record::Commit(c) => {
                let project = strings.id(tx, &c.project)?;
                let branch = strings.opt(tx, c.branch.as_deref())?;
                let n = tx.execute(
                    "INSERT INTO commits (user_id, project, sha, branch, time_ms, summary, merge, replaced_by, origin)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (user_id, project, sha) DO UPDATE SET
                         time_ms = max(time_ms, excluded.time_ms),
                         replaced_by = coalesce(excluded.replaced_by, replaced_by)
                     WHERE excluded.time_ms > time_ms OR excluded.replaced_by IS NOT replaced_by",
                    params![user_id, project, c.sha, branch, c.time_ms, c.summary, c.merge, c.replaced_by, origin],
                )?;
                if n > 0 && from.journal {
                    journal(
                        tx,
                        user_id,
                        journal_kind::COMMIT,
                        c.time_ms,
                        project.into(),
                        Some(&c.sha),
                        origin,
                    )?;
                }
                changed += n;
            }
            Record::Switch(w) => {
                let project = strings.id(tx, &w.project)?;
                let branch = strings.id(tx, &w.branch)?;
                let n = tx.execute(
                    "INSERT OR IGNORE INTO branch_switches (user_id, project, time_ms, branch, head, origin)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![user_id, project, w.time_ms, branch, w.head, origin],
                )?;
                if n > 0 && from.journal {
                    journal(
                        tx,
                        user_id,
                        journal_kind::SWITCH,
                        w.time_ms,
                        project.into(),
                        None,
                        origin,
                    )?;
                }
                changed += n;
            }
            // Not git: stored through their own methods.
            _ => {}
        }
    }
    Ok(changed)
}

/// A commit as it syncs, by project id and sha.
pub(super) fn commit_record(
    snap: &SqliteSnapshot,
    user_id: UserId,
    project: i64,
    sha: &str,
) -> Result<Option<Record>> {
    snap.one(
        "SELECT p.value, c.sha, b.value, c.time_ms, c.summary, c.merge, c.replaced_by
         FROM commits c JOIN strings p ON p.id = c.project LEFT JOIN strings b ON b.id = c.branch
         WHERE c.user_id = ?1 AND c.project = ?2 AND c.sha = ?3",
        params![user_id, project, sha],
        |r| {
            Ok(Record::Commit(CommitSync {
                project: r.get(0)?,
                sha: r.get(1)?,
                branch: r.get(2)?,
                time_ms: r.get(3)?,
                summary: r.get(4)?,
                merge: r.get(5)?,
                replaced_by: r.get(6)?,
            }))
        },
    )
}

/// A branch switch as it syncs, by project id and time.
pub(super) fn switch_record(
    snap: &SqliteSnapshot,
    user_id: UserId,
    project: i64,
    time_ms: i64,
) -> Result<Option<Record>> {
    snap.one(
        "SELECT p.value, s.time_ms, b.value, s.head FROM branch_switches s
         JOIN strings p ON p.id = s.project JOIN strings b ON b.id = s.branch
         WHERE s.user_id = ?1 AND s.project = ?2 AND s.time_ms = ?3",
        params![user_id, project, time_ms],
        |r| {
            Ok(Record::Switch(SwitchSync {
                project: r.get(0)?,
                time_ms: r.get(1)?,
                branch: r.get(2)?,
                head: r.get(3)?,
            }))
        },
    )
}

/// Commits and switches recorded here (for a new sync target), oldest first.
pub(super) fn local_records(snap: &SqliteSnapshot, user_id: UserId) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let keys: Vec<(i64, String)> = snap.rows(
        "SELECT project, sha FROM commits WHERE user_id = ?1 AND origin IS NULL ORDER BY time_ms, sha",
        [user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (project, sha) in keys {
        out.extend(commit_record(snap, user_id, project, &sha)?);
    }
    let keys: Vec<(i64, i64)> = snap.rows(
        "SELECT project, time_ms FROM branch_switches WHERE user_id = ?1 AND origin IS NULL ORDER BY time_ms",
        [user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (project, time) in keys {
        out.extend(switch_record(snap, user_id, project, time)?);
    }
    Ok(out)
}

/// Maps `old` to `new`. A rebased commit keeps the mark (time, branch) of the commit it
/// replaces, so time spent before it is not lost; an amend happens now, so the new commit
/// marks now. Several old commits squashed into one give it the latest of their marks.
#[allow(clippy::too_many_arguments)]
fn rewrite(
    tx: &Connection,
    user_id: i64,
    project: u32,
    old: &str,
    new: &str,
    e: &GitEvent,
    branch: Option<u32>,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    let before: Option<(Option<u32>, i64, Option<String>, bool)> = tx
        .prepare_cached(
            "SELECT branch, time_ms, summary, merge FROM commits
             WHERE user_id = ?1 AND project = ?2 AND sha = ?3",
        )?
        .query_row(params![user_id, project, old], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let amend = e.rewrite == Some(RewriteKind::Amend);
    let (branch, time_ms, summary, merge) = match before {
        Some((b, t, s, m)) if amend => (b.or(branch), now_ms.max(t), e.summary.clone().or(s), m),
        Some((b, t, s, m)) => (b.or(branch), t, s, m),
        // An amend of a commit made before tracking began is still a commit made now; a
        // rebased commit we never saw carries no time of ours.
        None if amend => (branch, now_ms, e.summary.clone(), false),
        None => return Ok(0),
    };
    if old == new {
        return Ok(0);
    }
    let added = tx.execute(
        "INSERT INTO commits (user_id, project, sha, branch, time_ms, summary, merge)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (user_id, project, sha) DO UPDATE SET
             time_ms = max(time_ms, excluded.time_ms), replaced_by = NULL",
        params![user_id, project, new, branch, time_ms, summary, merge],
    )?;
    tx.execute(
        "UPDATE commits SET replaced_by = ?4 WHERE user_id = ?1 AND project = ?2 AND sha = ?3",
        params![user_id, project, old, new],
    )?;
    Ok(added)
}

/// Commits made in `[start, end)` that were not rewritten since, oldest first.
pub(super) fn commits(
    snap: &SqliteSnapshot,
    user_id: UserId,
    start: i64,
    end: i64,
    project: Option<&str>,
    branch: Option<&str>,
) -> Result<Vec<CommitRecord>> {
    let mut st = snap
            .conn
            .prepare_cached(
                "SELECT p.value, b.value, c.sha, c.time_ms, c.summary, c.merge
                 FROM commits c JOIN strings p ON p.id = c.project LEFT JOIN strings b ON b.id = c.branch
                 WHERE c.user_id = ?1 AND c.time_ms >= ?2 AND c.time_ms < ?3 AND c.replaced_by IS NULL
                   AND (?4 IS NULL OR p.value = ?4) AND (?5 IS NULL OR b.value = ?5)
                 ORDER BY c.time_ms, c.sha",
            )
            .map_err(|e| snap.err(e))?;
    st.query_map(params![user_id, start, end, project, branch], |r| {
        Ok(CommitRecord {
            project: r.get(0)?,
            branch: r.get(1)?,
            sha: r.get(2)?,
            time_ms: r.get(3)?,
            summary: r.get(4)?,
            merge: r.get(5)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(|e| snap.err(e))
}

/// The mark of the latest live commit on `branch` of `project` before `before_ms`.
pub(super) fn previous_commit_time(
    snap: &SqliteSnapshot,
    user_id: UserId,
    project: &str,
    branch: Option<&str>,
    before_ms: i64,
) -> Result<Option<i64>> {
    snap.conn
        .prepare_cached(
            "SELECT max(c.time_ms) FROM commits c JOIN strings p ON p.id = c.project
                 LEFT JOIN strings b ON b.id = c.branch
                 WHERE c.user_id = ?1 AND p.value = ?2 AND b.value IS ?3 AND c.time_ms < ?4
                   AND c.replaced_by IS NULL",
        )
        .and_then(|mut st| st.query_row(params![user_id, project, branch, before_ms], |r| r.get(0)))
        .map_err(|e| snap.err(e))
}

/// First and last heartbeat per (project id, branch id) in `[start, end)`.
pub(super) fn branch_activity(
    snap: &SqliteSnapshot,
    user_id: UserId,
    start: i64,
    end: i64,
) -> Result<Vec<(u32, u32, i64, i64)>> {
    let mut st = snap
            .conn
            .prepare_cached(
                "SELECT coalesce(project, 0), coalesce(branch, 0), min(time_ms), max(time_ms) FROM heartbeats
                 WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3 GROUP BY 1, 2",
            )
            .map_err(|e| snap.err(e))?;
    st.query_map(params![user_id, start, end], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .and_then(|rows| rows.collect())
    .map_err(|e| snap.err(e))
}

/// The branch last switched to in `project`, and when.
pub(super) fn last_branch(
    snap: &SqliteSnapshot,
    user_id: UserId,
    project: &str,
) -> Result<Option<(String, i64)>> {
    snap.conn
        .prepare_cached(
            "SELECT b.value, s.time_ms FROM branch_switches s
                 JOIN strings p ON p.id = s.project JOIN strings b ON b.id = s.branch
                 WHERE s.user_id = ?1 AND p.value = ?2 ORDER BY s.time_ms DESC LIMIT 1",
        )
        .and_then(|mut st| {
            st.query_row(params![user_id, project], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(|e| snap.err(e))
}
