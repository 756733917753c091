//! Git records in the store: commits (marks on a branch that survive rewrites), branch switches,
//! and the watch roots added with `tf watch add`.

use super::{Reader, Result, Writer};
use crate::git::{GitEvent, GitEventKind, RewriteKind};
use rusqlite::{OptionalExtension, params};

/// A commit as stored, its project and branch resolved to names.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRecord {
    pub project: String,
    pub branch: Option<String>,
    pub sha: String,
    pub time_ms: i64,
    pub summary: Option<String>,
    pub merge: bool,
}

/// What recording a git event changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GitRecorded {
    /// A branch switch was stored (the branch differs from the last one known).
    pub switched: bool,
    /// Commits added or rewritten.
    pub commits: usize,
}

impl Writer {
    /// Stores one git event of `project` at `time_ms`, in one transaction.
    pub fn record_git(
        &mut self,
        user_id: i64,
        project: &str,
        e: &GitEvent,
        time_ms: i64,
    ) -> Result<GitRecorded> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| super::classify(&self.path, e))?;
        let mut out = GitRecorded::default();
        let mut run = |out: &mut GitRecorded| -> rusqlite::Result<()> {
            let project = self.strings.id(&tx, project)?;
            let branch = self.strings.opt(&tx, e.branch.as_deref())?;
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
                }
            }
            match e.kind {
                GitEventKind::Checkout => {}
                GitEventKind::Commit | GitEventKind::Merge => {
                    if let Some(sha) = &e.head {
                        out.commits += tx.execute(
                            "INSERT OR IGNORE INTO commits (user_id, project, sha, branch, time_ms, summary, merge)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            params![user_id, project, sha, branch, time_ms, e.summary, e.kind == GitEventKind::Merge],
                        )?;
                    }
                }
                GitEventKind::Rewrite => {
                    for (old, new) in &e.rewritten {
                        out.commits +=
                            rewrite(&tx, user_id, project, old, new, e, branch, time_ms)?;
                    }
                }
            }
            Ok(())
        };
        let done = run(&mut out).and_then(|()| tx.commit());
        if done.is_err() {
            // Ids cached during the failed transaction may not exist.
            self.strings.clear();
        }
        done.map_err(|e| super::classify(&self.path, e))?;
        Ok(out)
    }

    /// Remembers a root added with `tf watch add`; false if it was already there.
    pub fn add_watch_root(&mut self, path: &str, now_ms: i64) -> Result<bool> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO watch_roots (path, added_ms) VALUES (?1, ?2)",
                params![path, now_ms],
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Forgets a root added with `tf watch add`; false if it was not there.
    pub fn remove_watch_root(&mut self, path: &str) -> Result<bool> {
        self.conn
            .execute("DELETE FROM watch_roots WHERE path = ?1", [path])
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Roots added with `tf watch add`, oldest first.
    pub fn watch_roots(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT path FROM watch_roots ORDER BY added_ms, path")
            .map_err(|e| self.err(e))?;
        st.query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }
}

/// Maps `old` to `new`. A rebased commit keeps the mark (time, branch) of the commit it
/// replaces, so time spent before it is not lost; an amend happens now, so the new commit
/// marks now. Several old commits squashed into one give it the latest of their marks.
#[allow(clippy::too_many_arguments)]
fn rewrite(
    tx: &rusqlite::Transaction,
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

impl Reader {
    /// Commits made in `[start, end)` that were not rewritten since, oldest first.
    pub fn commits(
        &self,
        user_id: i64,
        start: i64,
        end: i64,
        project: Option<&str>,
        branch: Option<&str>,
    ) -> Result<Vec<CommitRecord>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT p.value, b.value, c.sha, c.time_ms, c.summary, c.merge
                 FROM commits c JOIN strings p ON p.id = c.project LEFT JOIN strings b ON b.id = c.branch
                 WHERE c.user_id = ?1 AND c.time_ms >= ?2 AND c.time_ms < ?3 AND c.replaced_by IS NULL
                   AND (?4 IS NULL OR p.value = ?4) AND (?5 IS NULL OR b.value = ?5)
                 ORDER BY c.time_ms, c.sha",
            )
            .map_err(|e| self.err(e))?;
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
        .map_err(|e| self.err(e))
    }

    /// The mark of the latest live commit on `branch` of `project` before `before_ms`.
    pub fn previous_commit_time(
        &self,
        user_id: i64,
        project: &str,
        branch: Option<&str>,
        before_ms: i64,
    ) -> Result<Option<i64>> {
        self.conn
            .prepare_cached(
                "SELECT max(c.time_ms) FROM commits c JOIN strings p ON p.id = c.project
                 LEFT JOIN strings b ON b.id = c.branch
                 WHERE c.user_id = ?1 AND p.value = ?2 AND b.value IS ?3 AND c.time_ms < ?4
                   AND c.replaced_by IS NULL",
            )
            .and_then(|mut st| {
                st.query_row(params![user_id, project, branch, before_ms], |r| r.get(0))
            })
            .map_err(|e| self.err(e))
    }

    /// First and last heartbeat per (project id, branch id) in `[start, end)`.
    pub fn branch_activity(
        &self,
        user_id: i64,
        start: i64,
        end: i64,
    ) -> Result<Vec<(u32, u32, i64, i64)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT coalesce(project, 0), coalesce(branch, 0), min(time_ms), max(time_ms) FROM heartbeats
                 WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3 GROUP BY 1, 2",
            )
            .map_err(|e| self.err(e))?;
        st.query_map(params![user_id, start, end], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// The branch last switched to in `project`, and when.
    pub fn last_branch(&self, user_id: i64, project: &str) -> Result<Option<(String, i64)>> {
        self.conn
            .prepare_cached(
                "SELECT b.value, s.time_ms FROM branch_switches s
                 JOIN strings p ON p.id = s.project JOIN strings b ON b.id = s.branch
                 WHERE s.user_id = ?1 AND p.value = ?2 ORDER BY s.time_ms DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(params![user_id, project], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.err(e))
    }
}
