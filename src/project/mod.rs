//! Path → project, branch and language: which repository (or `.wakatime-project`) a file belongs
//! to, the branch checked out there, and the file's language. Called per heartbeat, so it only
//! reads a few small files and never scans the work tree.

pub mod language;
pub use language::language_for_path;

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use git2::{ErrorCode, Repository, RepositoryOpenFlags};
use tracing::debug;

/// WakaTime's per-project override file: first line the project name, optional second line the
/// branch.
const PROJECT_FILE: &str = ".wakatime-project";

/// Enough for two lines; the file is user-written and could be anything.
const PROJECT_FILE_MAX_BYTES: u64 = 4096;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectInfo {
    /// Project name: the git repository's name (the main repository's directory name, also for
    /// linked worktrees); from a `.wakatime-project` file when present (first line = project
    /// name, optional second line = branch, WakaTime's convention) — nearest one wins over git if
    /// it is closer or equally close; None outside any repository.
    pub project: Option<String>,
    /// Branch: current branch short name; a detached HEAD gives `detached:<7-char short sha>`; an
    /// unborn branch (repo with no commits) gives the branch name HEAD points to; None when
    /// unknown or outside a repo.
    pub branch: Option<String>,
    /// The repository root / project root directory (worktree root for linked worktrees).
    pub root: Option<PathBuf>,
}

/// Never fails: an unreadable, missing or corrupt repository gives what it can (e.g. project name
/// without branch) and logs at debug level.
pub fn detect(path: &Path) -> ProjectInfo {
    let Some(start) = nearest_existing_dir(path) else {
        debug!(path = %path.display(), "no existing ancestor directory");
        return ProjectInfo::default();
    };
    let git = find_git(&start);
    // A project file beyond the repository root is farther than git, so the search stops there.
    let project_file = find_project_file(&start, git.as_ref().map(|g| g.root.as_path()));

    match (project_file, git) {
        (Some(file), git) => ProjectInfo {
            project: Some(file.project),
            branch: file.branch.or(git.and_then(|g| g.branch)),
            root: Some(file.dir),
        },
        (None, Some(git)) => ProjectInfo {
            project: git.project,
            branch: git.branch,
            root: Some(git.root),
        },
        (None, None) => ProjectInfo::default(),
    }
}

/// The directory to search from: `path` itself if it is a directory, else the directory holding
/// the nearest existing ancestor (heartbeats can name files that were just deleted).
fn nearest_existing_dir(path: &Path) -> Option<PathBuf> {
    // Resolved against the current directory and cleaned lexically, without following symlinks,
    // so the project is named as the user sees it (as wakatime-cli does).
    let absolute = clean(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let mut candidate = absolute.as_path();
    loop {
        match fs::metadata(candidate) {
            Ok(meta) if meta.is_dir() => return Some(candidate.to_path_buf()),
            Ok(_) => return candidate.parent().map(Path::to_path_buf),
            Err(_) => candidate = candidate.parent()?,
        }
    }
}

/// [`clean`] for other modules: paths compared as map keys must be spelled one way.
pub fn clean_path(path: &Path) -> PathBuf {
    clean(path)
}

/// Drops `.` and resolves `..` by popping, so walking up with `Path::parent` means what it says.
fn clean(path: &Path) -> PathBuf {
    let mut cleaned = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `..` at the root stays at the root.
                if !cleaned.pop() {
                    cleaned.push(component);
                }
            }
            other => cleaned.push(other),
        }
    }
    cleaned
}

struct GitInfo {
    root: PathBuf,
    project: Option<String>,
    branch: Option<String>,
}

/// The nearest repository at or above `start`.
///
/// We look for the nearest `.git` ourselves instead of letting libgit2 search, because its search
/// skips a `.git` it cannot open and would attribute a corrupt nested repository to an enclosing
/// one, and because it reports the root with symlinks resolved. libgit2's own search is only the
/// fallback, for bare repositories (no `.git` entry).
fn find_git(start: &Path) -> Option<GitInfo> {
    let no_ceilings: [&Path; 0] = [];
    let Some(root) = start.ancestors().find(|dir| dir.join(".git").exists()) else {
        return match Repository::open_ext(start, RepositoryOpenFlags::CROSS_FS, no_ceilings) {
            Ok(repo) => Some(GitInfo {
                root: clean(repo.path()),
                project: repo_dir_name(repo.path()),
                branch: branch(&repo),
            }),
            Err(err) => {
                if err.code() != ErrorCode::NotFound {
                    debug!(start = %start.display(), %err, "cannot open git repository");
                }
                None
            }
        };
    };
    let (project, branch) = match Repository::open_ext(
        root,
        RepositoryOpenFlags::NO_SEARCH,
        no_ceilings,
    ) {
        Ok(repo) => {
            let project = if repo.is_worktree() {
                // commondir is the main repository's git directory: `<main>/.git`, or
                // `<name>.git` when the main repository is bare.
                repo_dir_name(repo.commondir())
            } else {
                None
            };
            (project.or_else(|| dir_name(root)), branch(&repo))
        }
        Err(err) => {
            // Corrupt, foreign-owned or half-written: the directory still names the project.
            debug!(root = %root.display(), %err, "cannot open git repository; naming it by its directory");
            (dir_name(root), None)
        }
    };
    Some(GitInfo {
        root: root.to_path_buf(),
        project,
        branch,
    })
}

/// Project name from a git directory: `/x/proj/.git` → `proj`, `/x/proj.git` → `proj`.
fn repo_dir_name(git_dir: &Path) -> Option<String> {
    let name = dir_name(git_dir)?;
    if name == ".git" {
        return git_dir.parent().and_then(dir_name);
    }
    match name.strip_suffix(".git") {
        Some(stem) if !stem.is_empty() => Some(stem.to_owned()),
        _ => Some(name),
    }
}

fn dir_name(dir: &Path) -> Option<String> {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
}

/// What HEAD points to, and where the git directory is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// As [`ProjectInfo::branch`]: short name, `detached:<sha7>`, or an unborn branch's name.
    pub branch: Option<String>,
    /// The commit HEAD resolves to (full hex), if any.
    pub sha: Option<String>,
    /// The repository's git directory (`.git`, or `.git/worktrees/<name>` for a linked worktree).
    pub git_dir: Option<PathBuf>,
}

/// HEAD of the repository whose work tree is exactly `root` (no search upwards). A missing or
/// corrupt repository gives what could be read.
pub fn head(root: &Path) -> Head {
    let no_ceilings: [&Path; 0] = [];
    match Repository::open_ext(root, RepositoryOpenFlags::NO_SEARCH, no_ceilings) {
        Ok(repo) => head_of(&repo),
        Err(err) => {
            debug!(root = %root.display(), %err, "cannot open git repository");
            Head::default()
        }
    }
}

pub fn head_of(repo: &Repository) -> Head {
    Head {
        branch: branch(repo),
        sha: repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .map(|oid| oid.to_string()),
        git_dir: Some(repo.path().to_path_buf()),
    }
}

fn branch(repo: &Repository) -> Option<String> {
    match repo.head() {
        // A detached HEAD resolves to the direct reference named "HEAD" itself.
        Ok(head) if head.name_bytes() == b"HEAD" => head.target().map(|oid| {
            let sha = oid.to_string();
            format!("detached:{}", &sha[..sha.len().min(7)])
        }),
        Ok(head) => Some(String::from_utf8_lossy(head.shorthand_bytes()).into_owned()),
        Err(err) if err.code() == ErrorCode::UnbornBranch => unborn_branch(repo),
        Err(err) => {
            debug!(repo = %repo.path().display(), %err, "cannot read HEAD");
            None
        }
    }
}

/// A repository without commits: HEAD names a branch that does not exist yet.
fn unborn_branch(repo: &Repository) -> Option<String> {
    let head = repo
        .find_reference("HEAD")
        .map_err(|err| debug!(repo = %repo.path().display(), %err, "cannot read HEAD"))
        .ok()?;
    let target = head.symbolic_target_bytes()?;
    let short = target.strip_prefix(b"refs/heads/").unwrap_or(target);
    Some(String::from_utf8_lossy(short).into_owned())
}

struct ProjectFile {
    dir: PathBuf,
    project: String,
    branch: Option<String>,
}

/// The nearest readable `.wakatime-project` from `start` up to `limit` (inclusive), or up to the
/// file-system root without a limit.
fn find_project_file(start: &Path, limit: Option<&Path>) -> Option<ProjectFile> {
    for dir in start.ancestors() {
        let file = dir.join(PROJECT_FILE);
        if file.is_file() {
            match read_project_file(&file, dir) {
                Ok(found) => return Some(found),
                Err(err) => debug!(file = %file.display(), %err, "cannot read project file"),
            }
        }
        if Some(dir) == limit {
            break;
        }
    }
    None
}

fn read_project_file(file: &Path, dir: &Path) -> std::io::Result<ProjectFile> {
    let mut bytes = Vec::new();
    fs::File::open(file)?
        .take(PROJECT_FILE_MAX_BYTES)
        .read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines().map(str::trim);
    let project = match lines.next() {
        Some(name) if !name.is_empty() => name.to_owned(),
        // wakatime-cli names an empty file's project after its directory.
        _ => dir_name(dir).unwrap_or_default(),
    };
    let branch = lines
        .next()
        .filter(|branch| !branch.is_empty())
        .map(str::to_owned);
    Ok(ProjectFile {
        dir: dir.to_path_buf(),
        project,
        branch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use git2::{Oid, RepositoryInitOptions, Signature, Time, WorktreeAddOptions};
    use tempfile::TempDir;

    /// A repository whose first branch is `branch`, set explicitly so the user's
    /// `init.defaultBranch` cannot change the outcome.
    fn init_repo(dir: &Path, branch: &str) -> Repository {
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head(branch);
        Repository::init_opts(dir, &opts).expect("init repository")
    }

    /// Commits one file with a fixed identity, independent of any git config.
    fn commit(repo: &Repository, file: &str) -> Oid {
        let workdir = repo.workdir().expect("non-bare repository");
        fs::write(workdir.join(file), "content\n").expect("write file");
        let mut index = repo.index().expect("index");
        index.add_path(Path::new(file)).expect("add file");
        index.write().expect("write index");
        let tree = repo
            .find_tree(index.write_tree().expect("write tree"))
            .expect("find tree");
        let sig = Signature::new("Test", "test@example.com", &Time::new(1_700_000_000, 0))
            .expect("signature");
        let parents: Vec<_> = repo
            .head()
            .ok()
            .and_then(|head| head.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<_> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "commit", &tree, &parents)
            .expect("commit")
    }

    fn temp_dir() -> TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    #[test]
    fn normal_branch() {
        let tmp = temp_dir();
        let root = tmp.path().join("myproj");
        let repo = init_repo(&root, "main");
        commit(&repo, "README.md");

        let info = detect(&root.join("README.md"));
        assert_eq!(info.project.as_deref(), Some("myproj"));
        assert_eq!(info.branch.as_deref(), Some("main"));
        assert_eq!(info.root.as_deref(), Some(root.as_path()));

        // The root directory itself works too.
        assert_eq!(detect(&root), info);
    }

    #[test]
    fn file_in_nested_subdirectory() {
        let tmp = temp_dir();
        let root = tmp.path().join("nested");
        let repo = init_repo(&root, "dev");
        commit(&repo, "a.txt");
        let deep = root.join("src").join("a").join("b");
        fs::create_dir_all(&deep).expect("mkdir");
        fs::write(deep.join("lib.rs"), "").expect("write");

        let info = detect(&deep.join("lib.rs"));
        assert_eq!(info.project.as_deref(), Some("nested"));
        assert_eq!(info.branch.as_deref(), Some("dev"));
        assert_eq!(info.root.as_deref(), Some(root.as_path()));
    }

    #[test]
    fn missing_file_inside_repo() {
        let tmp = temp_dir();
        let root = tmp.path().join("gone");
        let repo = init_repo(&root, "main");
        commit(&repo, "a.txt");

        let info = detect(&root.join("deleted").join("dir").join("file.rs"));
        assert_eq!(info.project.as_deref(), Some("gone"));
        assert_eq!(info.branch.as_deref(), Some("main"));
        assert_eq!(info.root.as_deref(), Some(root.as_path()));
    }

    #[test]
    fn detached_head() {
        let tmp = temp_dir();
        let root = tmp.path().join("det");
        let repo = init_repo(&root, "main");
        let first = commit(&repo, "a.txt");
        commit(&repo, "b.txt");
        repo.set_head_detached(first).expect("detach");

        let info = detect(&root.join("a.txt"));
        assert_eq!(info.project.as_deref(), Some("det"));
        let sha7 = &first.to_string()[..7];
        assert_eq!(info.branch, Some(format!("detached:{sha7}")));
    }

    #[test]
    fn unborn_branch_names_the_branch_head_points_to() {
        let tmp = temp_dir();
        let root = tmp.path().join("fresh");
        init_repo(&root, "trunk");

        let info = detect(&root.join("new.rs"));
        assert_eq!(info.project.as_deref(), Some("fresh"));
        assert_eq!(info.branch.as_deref(), Some("trunk"));
        assert_eq!(info.root.as_deref(), Some(root.as_path()));
    }

    #[test]
    fn linked_worktree_is_the_main_repository_project() {
        let tmp = temp_dir();
        let root = tmp.path().join("mainrepo");
        let repo = init_repo(&root, "main");
        let oid = commit(&repo, "a.txt");
        let target = repo.find_commit(oid).expect("commit");
        let feature = repo.branch("feature", &target, false).expect("branch");

        let wt_path = tmp.path().join("elsewhere-wt");
        let mut opts = WorktreeAddOptions::new();
        opts.reference(Some(feature.get()));
        repo.worktree("wt", &wt_path, Some(&opts))
            .expect("add worktree");

        let info = detect(&wt_path.join("a.txt"));
        assert_eq!(info.project.as_deref(), Some("mainrepo"));
        assert_eq!(info.branch.as_deref(), Some("feature"));
        assert_eq!(info.root.as_deref(), Some(wt_path.as_path()));

        // The main checkout is unaffected.
        assert_eq!(detect(&root.join("a.txt")).branch.as_deref(), Some("main"));
    }

    #[test]
    fn bare_repository_is_named_without_git_suffix() {
        let tmp = temp_dir();
        let bare = tmp.path().join("server.git");
        let mut opts = RepositoryInitOptions::new();
        opts.bare(true).initial_head("main");
        Repository::init_opts(&bare, &opts).expect("init bare");

        let info = detect(&bare.join("hooks"));
        assert_eq!(info.project.as_deref(), Some("server"));
        assert_eq!(info.branch.as_deref(), Some("main"));
    }

    #[test]
    fn corrupt_head_keeps_the_project_without_branch() {
        let tmp = temp_dir();
        let root = tmp.path().join("broken");
        let repo = init_repo(&root, "main");
        commit(&repo, "a.txt");
        drop(repo);
        fs::write(root.join(".git").join("HEAD"), "garbage \0\u{1}\n").expect("corrupt HEAD");

        let info = detect(&root.join("a.txt"));
        assert_eq!(info.project.as_deref(), Some("broken"));
        assert_eq!(info.branch, None);
        assert_eq!(info.root.as_deref(), Some(root.as_path()));
    }

    #[test]
    fn unopenable_git_dir_is_not_attributed_to_an_enclosing_repository() {
        let tmp = temp_dir();
        let outer = tmp.path().join("outer");
        let repo = init_repo(&outer, "main");
        commit(&repo, "a.txt");
        // An empty `.git` directory: libgit2 cannot open it, and its own search would skip it
        // and report `outer`.
        let inner = outer.join("inner");
        fs::create_dir_all(inner.join(".git")).expect("mkdir");

        let info = detect(&inner.join("x.rs"));
        assert_eq!(info.project.as_deref(), Some("inner"));
        assert_eq!(info.branch, None);
        assert_eq!(info.root.as_deref(), Some(inner.as_path()));
    }

    #[test]
    fn project_file_overrides_git() {
        let tmp = temp_dir();
        let root = tmp.path().join("gitname");
        let repo = init_repo(&root, "main");
        commit(&repo, "a.txt");

        // At the repository root (equally close): name from the file, branch from git.
        fs::write(root.join(PROJECT_FILE), "Custom Name\n").expect("write");
        let info = detect(&root.join("a.txt"));
        assert_eq!(info.project.as_deref(), Some("Custom Name"));
        assert_eq!(info.branch.as_deref(), Some("main"));
        assert_eq!(info.root.as_deref(), Some(root.as_path()));

        // Closer than the repository root, with a branch line.
        let sub = root.join("packages").join("web");
        fs::create_dir_all(&sub).expect("mkdir");
        fs::write(sub.join(PROJECT_FILE), "  web-app  \nrelease\n").expect("write");
        let info = detect(&sub.join("index.ts"));
        assert_eq!(info.project.as_deref(), Some("web-app"));
        assert_eq!(info.branch.as_deref(), Some("release"));
        assert_eq!(info.root.as_deref(), Some(sub.as_path()));

        // An empty file names the project after its directory.
        fs::write(sub.join(PROJECT_FILE), "").expect("write");
        assert_eq!(
            detect(&sub.join("index.ts")).project.as_deref(),
            Some("web")
        );
    }

    #[test]
    fn project_file_above_the_repository_loses_to_git() {
        let tmp = temp_dir();
        fs::write(tmp.path().join(PROJECT_FILE), "outer\n").expect("write");
        let root = tmp.path().join("inner");
        let repo = init_repo(&root, "main");
        commit(&repo, "a.txt");

        let info = detect(&root.join("a.txt"));
        assert_eq!(info.project.as_deref(), Some("inner"));

        // Outside the repository the file applies.
        let other = tmp.path().join("plain");
        fs::create_dir(&other).expect("mkdir");
        let info = detect(&other.join("x.py"));
        assert_eq!(info.project.as_deref(), Some("outer"));
        assert_eq!(info.branch, None);
        assert_eq!(info.root.as_deref(), Some(tmp.path()));
    }

    #[test]
    fn nested_repository_wins_over_enclosing_one() {
        let tmp = temp_dir();
        let outer = tmp.path().join("outer");
        let outer_repo = init_repo(&outer, "main");
        commit(&outer_repo, "a.txt");
        let inner = outer.join("vendor").join("inner");
        let inner_repo = init_repo(&inner, "dev");
        commit(&inner_repo, "b.txt");

        let info = detect(&inner.join("b.txt"));
        assert_eq!(info.project.as_deref(), Some("inner"));
        assert_eq!(info.branch.as_deref(), Some("dev"));
    }

    #[test]
    fn outside_any_repository() {
        // /tmp itself is not a repository, so a fresh temp dir is outside any.
        let tmp = temp_dir();
        let file = tmp.path().join("loose.txt");
        fs::write(&file, "").expect("write");

        for path in [file.clone(), tmp.path().join("missing").join("x.rs")] {
            let info = detect(&path);
            assert_eq!(info.project, None, "{path:?}");
            assert_eq!(info.branch, None, "{path:?}");
        }
    }

    #[test]
    fn relative_path_resolves_against_current_dir() {
        // The crate itself is checked out in git, but it need not be: only assert consistency.
        let relative = detect(Path::new("src/lib.rs"));
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(relative, detect(&cwd.join("src/lib.rs")));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_directory_names_are_lossy() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;

        let tmp = temp_dir();
        let root = tmp.path().join(OsStr::from_bytes(b"caf\xe9"));
        let repo = init_repo(&root, "main");
        commit(&repo, "a.txt");

        let info = detect(&root.join("a.txt"));
        assert_eq!(info.project.as_deref(), Some("caf\u{fffd}"));
        assert_eq!(info.branch.as_deref(), Some("main"));
    }
}
