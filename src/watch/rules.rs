//! What the watcher skips: build and dependency directories, editors' temporary files, and
//! what `.gitignore` (plus `.git/info/exclude` and the global excludes file) ignores.

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Directory names never watched: version-control internals, build output, dependencies and
/// caches. Watching them costs inotify watches and reports writes no person made.
pub const ALWAYS_IGNORED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".jj",
    "target",
    "node_modules",
    "build",
    "dist",
    "out",
    "_build",
    ".build",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".gradle",
    ".idea",
    ".vscode-test",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".cache",
    ".direnv",
    ".terraform",
    "zig-cache",
    ".zig-cache",
    "zig-out",
    "bazel-out",
    ".stack-work",
    "dist-newstyle",
    "elm-stuff",
    "Pods",
    "DerivedData",
];

/// Whether a directory name is skipped (built-in names or the user's `watch.exclude`).
pub fn ignored_dir_name(name: &OsStr, extra: &[String]) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    ALWAYS_IGNORED_DIRS.contains(&name) || extra.iter().any(|e| e == name)
}

/// Editors' swap, backup and atomic-save files: writing them is not editing a file of the
/// project (the real file's own write follows).
pub fn is_temporary_file(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    let name = name.as_ref();
    name.ends_with('~')                                   // vim/emacs backups
        || name.starts_with(".#")                         // emacs lock files
        || (name.starts_with('#') && name.ends_with('#')) // emacs auto-save
        || name.contains("___jb_tmp___")                  // JetBrains safe write
        || name.contains("___jb_old___")
        || name.starts_with(".goutputstream-")            // GTK atomic save
        || name.starts_with(".sb-")                       // various atomic savers
        || name == ".DS_Store"
        // vim probes a writable directory with files named 4913, 5036, … (4913 + k·123)
        || (!name.is_empty() && name.len() <= 6 && name.bytes().all(|b| b.is_ascii_digit()))
        || [".swp", ".swo", ".swx", ".swpx", ".tmp", ".temp", ".bak", ".orig", ".kate-swp", ".crswap", ".part", ".lock"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// `.gitignore` matchers by directory, loaded lazily and kept until the file changes.
#[derive(Default)]
pub struct IgnoreCache {
    by_dir: HashMap<PathBuf, Option<Arc<Gitignore>>>,
    /// `.git/info/exclude` plus the global excludes file, per repository root.
    by_repo: HashMap<PathBuf, Arc<Gitignore>>,
}

impl IgnoreCache {
    /// Drops what is known about `dir`'s `.gitignore` (it changed).
    pub fn forget(&mut self, dir: &Path) {
        self.by_dir.remove(dir);
    }

    /// Drops everything under `root` (a repository or watched tree went away).
    pub fn forget_tree(&mut self, root: &Path) {
        self.by_dir.retain(|d, _| !d.starts_with(root));
        self.by_repo.retain(|d, _| !d.starts_with(root));
    }

    fn dir_matcher(&mut self, dir: &Path) -> Option<Arc<Gitignore>> {
        if let Some(m) = self.by_dir.get(dir) {
            return m.clone();
        }
        let file = dir.join(".gitignore");
        let m = if file.is_file() {
            let mut b = GitignoreBuilder::new(dir);
            // A broken line only loses that line, as in git.
            let _ = b.add(&file);
            b.build().ok().filter(|g| !g.is_empty()).map(Arc::new)
        } else {
            None
        };
        self.by_dir.insert(dir.to_path_buf(), m.clone());
        m
    }

    fn repo_matcher(&mut self, repo_root: &Path, git_dir: &Path) -> Arc<Gitignore> {
        if let Some(m) = self.by_repo.get(repo_root) {
            return m.clone();
        }
        let mut b = GitignoreBuilder::new(repo_root);
        let exclude = git_dir.join("info").join("exclude");
        if exclude.is_file() {
            let _ = b.add(exclude);
        }
        if let Some(global) = global_excludes_file() {
            let _ = b.add(global);
        }
        let m = Arc::new(b.build().unwrap_or_else(|_| Gitignore::empty()));
        self.by_repo.insert(repo_root.to_path_buf(), m.clone());
        m
    }

    /// Whether git would ignore `path` (a file, or a directory when `is_dir`) inside the
    /// repository at `repo_root`. Deeper `.gitignore` files win, as in git.
    pub fn is_ignored(
        &mut self,
        repo_root: &Path,
        git_dir: &Path,
        path: &Path,
        is_dir: bool,
    ) -> bool {
        let Ok(rel) = path.strip_prefix(repo_root) else {
            return false;
        };
        // Directories from the file's own up to the root, deepest first.
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut dir = repo_root.join(rel.parent().unwrap_or(Path::new("")));
        loop {
            dirs.push(dir.clone());
            if dir == repo_root || !dir.pop() {
                break;
            }
        }
        for d in &dirs {
            if let Some(m) = self.dir_matcher(d) {
                match m.matched_path_or_any_parents(path, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
        }
        self.repo_matcher(repo_root, git_dir)
            .matched_path_or_any_parents(path, is_dir)
            .is_ignore()
    }
}

/// git's `core.excludesFile`, or its default `$XDG_CONFIG_HOME/git/ignore`.
fn global_excludes_file() -> Option<PathBuf> {
    if let Ok(cfg) = git2::Config::open_default()
        && let Ok(p) = cfg.get_path("core.excludesfile")
    {
        return Some(p);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("git").join("ignore")).filter(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files() {
        for name in [
            "main.rs.swp",
            ".main.rs.swp",
            "main.rs~",
            "4913",
            "5036",
            ".#main.rs",
            "#main.rs#",
            "main.rs___jb_tmp___",
            "main.rs___jb_old___",
            ".goutputstream-ABC123",
            "x.tmp",
        ] {
            assert!(is_temporary_file(OsStr::new(name)), "{name}");
        }
        for name in [
            "main.rs",
            "Makefile",
            "v2.rs",
            "2024-notes.md",
            "1234567.txt",
            ".gitignore",
        ] {
            assert!(!is_temporary_file(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn nested_gitignores_and_exclude() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = root.join(".git");
        std::fs::create_dir_all(git.join("info")).unwrap();
        std::fs::write(git.join("info/exclude"), "secret.txt\n").unwrap();
        std::fs::write(root.join(".gitignore"), "*.log\nlogs/\n").unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/.gitignore"), "!keep.log\ngen/\n").unwrap();
        let mut c = IgnoreCache::default();
        let mut ignored = |p: &str, d: bool| c.is_ignored(root, &git, &root.join(p), d);
        assert!(ignored("a.log", false));
        assert!(ignored("logs", true));
        assert!(ignored("logs/x.rs", false));
        assert!(ignored("secret.txt", false));
        assert!(ignored("sub/gen", true));
        assert!(!ignored("sub/keep.log", false));
        assert!(ignored("sub/other.log", false));
        assert!(!ignored("src/main.rs", false));
    }
}
