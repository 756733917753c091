//! Commits without the git hooks: git appends a line to each repository's HEAD reflog
//! (`<git dir>/logs/HEAD`) for every commit, amend and merge, so following that file's new lines
//! records commits in every watched repository. With the hooks installed too, both report the
//! same commits and the store keeps each once (by id); rebases still need `post-rewrite` to map
//! old commits to new ones, which the reflog does not tell.

use super::{Batch, Watch};
use crate::git::{GitEvent, GitEventKind, RewriteKind, SUMMARY_MAX_BYTES, is_sha};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Reflog bytes read at most per change (a `git gc` rewrite is skipped, not read).
const MAX_READ: u64 = 1 << 20;

impl Watch {
    /// Follows the reflog of the repository at `root` from its current end (or from its start
    /// when `fresh`: the log was just created, by the repository's first commit).
    pub(super) fn follow_reflog(&mut self, root: &Path, fresh: bool) {
        let Some(repo) = self.repos.get_mut(root) else {
            return;
        };
        let logs = repo.git_dir.join("logs");
        repo.reflog_branch = repo.branch.clone();
        repo.reflog_offset = match fresh {
            true => 0,
            false => std::fs::metadata(logs.join("HEAD")).map_or(0, |m| m.len()),
        };
        if logs.is_dir() {
            self.watch(&logs);
            self.reflogs.insert(logs, root.to_path_buf());
        }
    }

    /// Reads the lines appended to the reflog of `root` since last time.
    pub(super) fn reflog_changed(&mut self, root: &Path, batch: &mut Batch) {
        let Some(repo) = self.repos.get_mut(root) else {
            return;
        };
        let path = repo.git_dir.join("logs").join("HEAD");
        let Ok(mut file) = std::fs::File::open(&path) else {
            return;
        };
        let len = file.metadata().map_or(0, |m| m.len());
        if len < repo.reflog_offset || len - repo.reflog_offset > MAX_READ {
            // Rewritten (reflog expiry) or a jump we will not replay: go on from its end.
            repo.reflog_offset = len;
            return;
        }
        let mut text = Vec::new();
        if file.seek(SeekFrom::Start(repo.reflog_offset)).is_err()
            || file.read_to_end(&mut text).is_err()
        {
            return;
        }
        // Only whole lines; a line being written is read next time.
        let Some(end) = text.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        repo.reflog_offset += end as u64 + 1;
        // The branch of each commit is the one the reflog itself says was checked out then
        // (HEAD may have moved on by the time the lines are read).
        let mut branch = repo.reflog_branch.take();
        for line in String::from_utf8_lossy(&text[..end]).lines() {
            if let Some(to) = switched_to(line) {
                branch = Some(to);
            } else if let Some(mut event) = parse(line, root, now_seconds()) {
                event.branch = branch.clone();
                batch.git.push(event);
            }
        }
        repo.reflog_branch = branch;
    }
}

fn now_seconds() -> f64 {
    crate::calendar::now_seconds()
}

/// The branch a reflog line says HEAD moved to (`checkout: moving from A to B`, the end of a
/// rebase); a commit id means a detached HEAD.
fn switched_to(line: &str) -> Option<String> {
    let (_, message) = line.split_once('\t')?;
    let to = match message.split_once(": ")? {
        ("checkout", what) => what.rsplit_once(" to ")?.1,
        (action, what) if action.starts_with("rebase") => what.strip_prefix("returning to ")?,
        _ => return None,
    };
    let to = to.strip_prefix("refs/heads/").unwrap_or(to);
    Some(match to.len() {
        40 | 64 if is_sha(to) => format!("detached:{}", &to[..7]),
        _ => to.to_string(),
    })
}

/// The commit a reflog line records, if it records one:
/// `<old> <new> <name> <<email>> <time> <zone>\t<action>: <message>`.
fn parse(line: &str, root: &Path, time: f64) -> Option<GitEvent> {
    let (head, message) = line.split_once('\t')?;
    let mut words = head.split(' ');
    let (old, new) = (words.next()?, words.next()?);
    if !is_sha(old) || !is_sha(new) {
        return None;
    }
    let (action, summary) = message.split_once(": ")?;
    let (kind, rewrite) = match action {
        "commit" | "commit (initial)" | "cherry-pick" | "revert" => (GitEventKind::Commit, None),
        "commit (merge)" => (GitEventKind::Merge, None),
        "commit (amend)" => (GitEventKind::Rewrite, Some(RewriteKind::Amend)),
        // `merge BRANCH: Merge made by …`; a fast-forward makes no commit of ours.
        a if a.starts_with("merge ") && !summary.starts_with("Fast-forward") => {
            (GitEventKind::Merge, None)
        }
        _ => return None,
    };
    let mut cut = summary.len().min(SUMMARY_MAX_BYTES);
    while !summary.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(GitEvent {
        kind,
        time,
        repo: root.display().to_string(),
        head: Some(new.to_string()),
        branch: None,
        summary: Some(summary[..cut].to_string()).filter(|s| !s.is_empty()),
        rewrite,
        rewritten: match rewrite {
            Some(_) => vec![(old.to_string(), new.to_string())],
            None => Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn line(action: &str) -> String {
        format!("{A} {B} Ann Example <ann@example.com> 1795600000 +0100\t{action}")
    }

    #[test]
    fn reflog_lines() {
        let root = Path::new("/r");
        let kind = |action: &str| parse(&line(action), root, 1.0).map(|e| (e.kind, e.rewrite));
        assert_eq!(kind("commit: add cart"), Some((GitEventKind::Commit, None)));
        assert_eq!(
            kind("commit (initial): init"),
            Some((GitEventKind::Commit, None))
        );
        assert_eq!(
            kind("commit (merge): Merge branch 'x'"),
            Some((GitEventKind::Merge, None))
        );
        assert_eq!(
            kind("commit (amend): add cart, fixed"),
            Some((GitEventKind::Rewrite, Some(RewriteKind::Amend)))
        );
        assert_eq!(
            kind("merge topic: Merge made by the 'ort' strategy."),
            Some((GitEventKind::Merge, None))
        );
        assert_eq!(kind("merge topic: Fast-forward"), None);
        assert_eq!(kind("checkout: moving from main to topic"), None);
        assert_eq!(kind("rebase (pick): add cart"), None);
        assert_eq!(kind("reset: moving to HEAD~1"), None);

        let e = parse(&line("commit (amend): add cart, fixed"), root, 1.0).unwrap();
        assert_eq!(e.head.as_deref(), Some(B));
        assert_eq!(e.rewritten, vec![(A.to_string(), B.to_string())]);
        assert_eq!(e.summary.as_deref(), Some("add cart, fixed"));
        assert_eq!(e.repo, "/r");
        assert!(parse("garbage", root, 1.0).is_none());

        assert_eq!(
            switched_to(&line("checkout: moving from main to feature/x")).as_deref(),
            Some("feature/x")
        );
        assert_eq!(
            switched_to(&line(&format!("checkout: moving from main to {B}"))).as_deref(),
            Some("detached:2222222")
        );
        assert_eq!(
            switched_to(&line("rebase (finish): returning to refs/heads/topic")).as_deref(),
            Some("topic")
        );
        assert_eq!(switched_to(&line("commit: x")), None);
        assert!(parse(&format!("{A} nothex x\tcommit: x"), root, 1.0).is_none());
    }
}
