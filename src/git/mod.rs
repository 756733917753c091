//! Git events: what the git hooks and the daemon's HEAD watcher report (branch switches,
//! commits, merges, rewrites), and ticket keys read from branch names.

pub mod global;
pub mod hooks;
pub mod ticket;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GitEventKind {
    /// HEAD moved to another branch or commit (`post-checkout`, or the HEAD watcher).
    Checkout,
    /// A commit was made (`post-commit`).
    Commit,
    /// A merge finished (`post-merge`); HEAD is the merge commit, or the fast-forwarded one.
    Merge,
    /// Commits were rewritten (`post-rewrite`): `rewritten` maps old commits to new ones.
    Rewrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewriteKind {
    Amend,
    Rebase,
}

/// One git event, as sent by `tf git hook` or made by the daemon's HEAD watcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitEvent {
    pub kind: GitEventKind,
    /// Unix seconds.
    pub time: f64,
    /// The work tree the event happened in (absolute path).
    pub repo: String,
    /// HEAD after the event (full hex sha), if HEAD points to a commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// Branch after the event: its short name, or `detached:<7-char sha>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// First line of HEAD's commit message (commit and merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// For `rewrite`: amend or rebase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<RewriteKind>,
    /// For `rewrite`: (old sha, new sha) pairs, in git's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewritten: Vec<(String, String)>,
}

/// A commit id: 4 to 64 hex digits (abbreviated, SHA-1 or SHA-256).
pub fn is_sha(s: &str) -> bool {
    (4..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Longest commit summary kept; longer ones are cut at a character boundary.
pub const SUMMARY_MAX_BYTES: usize = 512;

impl GitEvent {
    /// HEAD of the work tree `repo` as it is now: a checkout event.
    pub fn checkout(repo: &std::path::Path, head: crate::project::Head, time: f64) -> GitEvent {
        GitEvent {
            kind: GitEventKind::Checkout,
            time,
            repo: repo.display().to_string(),
            head: head.sha,
            branch: head.branch,
            summary: None,
            rewrite: None,
            rewritten: Vec::new(),
        }
    }

    /// Checks what the daemon stores; names the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        if !self.time.is_finite() || self.time < 0.0 {
            return Err(format!("time: expected unix seconds, got {}", self.time));
        }
        if self.repo.is_empty() || !self.repo.starts_with('/') {
            return Err(format!(
                "repo: expected an absolute path, got {:?}",
                self.repo
            ));
        }
        if let Some(head) = &self.head
            && !is_sha(head)
        {
            return Err(format!("head: expected a hex commit id, got {head:?}"));
        }
        for (i, (old, new)) in self.rewritten.iter().enumerate() {
            if !is_sha(old) || !is_sha(new) {
                return Err(format!(
                    "rewritten[{i}]: expected two hex commit ids, got {old:?} {new:?}"
                ));
            }
        }
        if let Some(b) = &self.branch
            && (b.is_empty() || b.len() > crate::model::MAX_STRING_BYTES)
        {
            return Err(format!(
                "branch: expected 1 to {} bytes, got {}",
                crate::model::MAX_STRING_BYTES,
                b.len()
            ));
        }
        Ok(())
    }
}
