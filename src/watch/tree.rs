//! Walking a tree to watch: every directory that is not ignored, without following symlinks
//! (so loops cannot trap the walk), registering the repositories found on the way.

use super::Watch;
use std::path::{Path, PathBuf};

impl Watch {
    /// Watches `top` and every directory below it that is not ignored; returns the
    /// directories it went through.
    pub(super) fn walk(&mut self, top: &Path) -> Vec<PathBuf> {
        let mut stack = vec![top.to_path_buf()];
        let mut seen = Vec::new();
        while let Some(dir) = stack.pop() {
            seen.push(dir.clone());
            // Watched before `.git` is looked for: one made in between (a clone starting) is
            // then seen as created.
            self.watch(&dir);
            if dir.join(".git").exists() {
                self.add_repo(&dir);
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                // Unreadable or gone since: nothing below it to watch.
                continue;
            };
            let repo = self
                .repo_of(&dir.join("_"))
                .map(|(root, repo)| (root.clone(), repo.git_dir.clone()));
            for entry in entries.flatten() {
                // The entry's own type: a symlink to a directory is not followed.
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let path = entry.path();
                if self.dirs.contains_key(&path) || self.skip_dir(&path, repo.is_some()) {
                    continue;
                }
                // A nested repository is its own, even where the outer one ignores it.
                if let Some((root, git_dir)) = &repo
                    && !path.join(".git").exists()
                    && self.ignores.is_ignored(root, git_dir, &path, true)
                {
                    continue;
                }
                stack.push(path);
            }
        }
        seen
    }
}

/// The git directory of a work tree: `.git` itself, or where a `.git` file (linked worktree,
/// submodule) points.
pub(super) fn git_dir_of(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
    Some(root.join(target))
}
