//! TimeForged's git hooks: the four scripts in `hooks/`, installing them into the hooks directory
//! git uses (keeping and chaining any hook already there), removing them, and turning a hook's
//! arguments into the [`GitEvent`] that `tf git hook` sends.

use super::{GitEvent, GitEventKind, RewriteKind, SUMMARY_MAX_BYTES, is_sha};
use git2::{ErrorCode, Repository};
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The hooks we install, in the order they are listed.
pub const HOOKS: [&str; 4] = ["post-commit", "post-checkout", "post-merge", "post-rewrite"];

/// A hook that was in place before ours is renamed to `<name>.pre-timeforged`, in the same
/// directory (git never runs it by that name), and our hook runs it.
pub const CHAINED_SUFFIX: &str = ".pre-timeforged";

/// The second line of each of our scripts; any version of it makes a hook ours.
const MARKER_PREFIX: &[u8] = b"\n# timeforged-hook v";

/// The templates hold `tf='@TF_BIN@'`; the absolute path of `tf` goes between the quotes.
const TF_PLACEHOLDER: &str = "@TF_BIN@";

/// The scripts. A hook is recognised as ours, unedited, by comparing it with these: when a script
/// changes, keep its old text recognisable too, or installs would leave old hooks as "edited".
const TEMPLATES: [(&str, &str); 4] = [
    ("post-commit", include_str!("../../hooks/post-commit")),
    ("post-checkout", include_str!("../../hooks/post-checkout")),
    ("post-merge", include_str!("../../hooks/post-merge")),
    ("post-rewrite", include_str!("../../hooks/post-rewrite")),
];

/// Bigger files are not ours (each script is about 1 KiB plus the path of `tf`).
const OURS_MAX_BYTES: u64 = 64 * 1024;

/// `post-rewrite` input read at most (a line per rewritten commit, ~82 bytes each).
const REWRITE_INPUT_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Pairs sent at most: a rebase of more commits than this is recorded by its first ones.
pub const REWRITTEN_MAX: usize = 10_000;

/// Everything that can go wrong installing or inspecting hooks; each names the path at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: no such file or directory", .0.display())]
    NoSuchPath(PathBuf),
    #[error(
        "{}: not in a git repository (run `git init` there, or name one: `tf git install PATH`)",
        .0.display()
    )]
    NotARepository(PathBuf),
    // The causes are part of the messages (not `#[source]`), so that `tf: {err:#}` shows each
    // once, with the hint after it.
    #[error("{}: cannot open the git repository: {}", path.display(), err.message())]
    Git { path: PathBuf, err: git2::Error },
    #[error("cannot {action} {}: {err}{}", path.display(), permission_hint(action, err))]
    Io {
        action: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error(
        "{} is not TimeForged's, and {} (the hook an earlier `tf git install` kept) is there too: \
         move one of them away, then run `tf git install` again",
        hook.display(),
        chained.display()
    )]
    Conflict { hook: PathBuf, chained: PathBuf },
}

fn permission_hint(action: &str, e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem if action != "read" => {
            " (the hooks directory is not writable: fix its permissions, or run as its owner)"
        }
        _ => "",
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |err| Error::Io { action, path, err }
}

/// The hooks `name` (one of [`HOOKS`]) calling `tf`, or None for another name.
pub fn script(name: &str, tf: &Path) -> Option<Vec<u8>> {
    let (before, after) = template_parts(name)?;
    let mut out = before.as_bytes().to_vec();
    // Single quotes keep every byte but `'`, which becomes `'\''` (close, escaped, reopen).
    for &b in tf.as_os_str().as_bytes() {
        match b {
            b'\'' => out.extend_from_slice(b"'\\''"),
            _ => out.push(b),
        }
    }
    out.extend_from_slice(after.as_bytes());
    Some(out)
}

fn template_parts(name: &str) -> Option<(&'static str, &'static str)> {
    let (_, text) = TEMPLATES.iter().find(|(n, _)| *n == name)?;
    text.split_once(TF_PLACEHOLDER)
}

/// What is at a hook's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Absent,
    /// Our script, exactly as installed, calling this `tf`.
    Ours {
        tf: PathBuf,
    },
    /// Our marker, but the script was changed since it was installed.
    Edited,
    /// Someone else's hook.
    Foreign,
}

/// Reads the hook at `path` (named `name`) and tells whose it is.
pub fn inspect(name: &str, path: &Path) -> Result<State, Error> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::Absent),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    if meta.is_dir() || meta.len() > OURS_MAX_BYTES {
        return Ok(State::Foreign);
    }
    let text = match fs::read(path) {
        Ok(t) => t,
        // A dangling symlink: someone's, to keep as it is.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::Foreign),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    if !text
        .windows(MARKER_PREFIX.len())
        .any(|w| w == MARKER_PREFIX)
    {
        return Ok(State::Foreign);
    }
    Ok(match installed_tf(name, &text) {
        Some(tf) => State::Ours { tf },
        None => State::Edited,
    })
}

/// The `tf` a hook calls if `text` is exactly our script for some `tf`, else None.
fn installed_tf(name: &str, text: &[u8]) -> Option<PathBuf> {
    let (before, after) = template_parts(name)?;
    let quoted = text
        .strip_prefix(before.as_bytes())?
        .strip_suffix(after.as_bytes())?;
    // Undo the quoting of `script`; any other `'` means the line was edited.
    let mut tf = Vec::with_capacity(quoted.len());
    let mut rest = quoted;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\'' {
            rest = tail.strip_prefix(b"\\''".as_slice())?;
            tf.push(b'\'');
        } else {
            tf.push(b);
            rest = tail;
        }
    }
    Some(PathBuf::from(OsStr::from_bytes(&tf)))
}

/// The hooks directory of one repository, as git resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HooksDir {
    pub path: PathBuf,
    /// `core.hooksPath` as configured, when it chose `path`.
    pub hooks_path: Option<PathBuf>,
    /// The repository: its work tree, or its git directory when bare.
    pub repo: PathBuf,
    /// A bare repository's hooks only run in its linked worktrees.
    pub bare: bool,
}

/// The hooks directory of the repository containing `start`: `core.hooksPath` when set (a
/// relative one is taken from the work tree root, where git runs hooks), else `hooks` in the
/// common git directory, which linked worktrees share with their main repository.
pub fn locate(start: &Path) -> Result<HooksDir, Error> {
    let start = std::path::absolute(start).map_err(io_error("resolve", start))?;
    if !start.exists() {
        return Err(Error::NoSuchPath(start));
    }
    let repo = Repository::discover(&start).map_err(|source| match source.code() {
        ErrorCode::NotFound => Error::NotARepository(start.clone()),
        _ => Error::Git {
            path: start.clone(),
            err: source,
        },
    })?;
    let git_error = |err| Error::Git {
        path: repo.path().to_path_buf(),
        err,
    };
    let bare = repo.is_bare();
    let root = repo.workdir().unwrap_or(repo.path()).to_path_buf();
    let configured = match repo.config().and_then(|c| c.get_path("core.hooksPath")) {
        Ok(p) if !p.as_os_str().is_empty() => Some(p),
        Ok(_) => None,
        Err(e) if e.code() == ErrorCode::NotFound => None,
        Err(e) => return Err(git_error(e)),
    };
    let path = match &configured {
        Some(p) => root.join(p),
        None => repo.commondir().join("hooks"),
    };
    Ok(HooksDir {
        path: clean(&path),
        hooks_path: configured,
        repo: clean(&root),
        bare,
    })
}

/// Drops `.` components and a trailing `/` (libgit2 ends directories with one), so paths print
/// the way git shows them.
fn clean(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// What happened to one hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ours written where there was none.
    Installed,
    /// Ours written; the hook that was there is kept as `<name>.pre-timeforged` and run by ours.
    Chained,
    /// Ours rewritten (another `tf` path, or it was not executable).
    Updated,
    /// Ours already, as it should be.
    Unchanged,
    /// Ours, but edited since: left alone.
    LeftEdited,
    /// Ours removed.
    Removed,
    /// Ours removed and the hook it chained put back.
    Restored,
    /// Someone else's hook: left alone.
    NotOurs,
    /// Nothing of ours was there.
    NotInstalled,
}

/// One hook after `install` or `uninstall`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: &'static str,
    pub path: PathBuf,
    pub outcome: Outcome,
    /// The chained hook, when one is there afterwards.
    pub chained: Option<PathBuf>,
}

fn chained_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{CHAINED_SUFFIX}"))
}

fn existing(path: PathBuf) -> Option<PathBuf> {
    fs::symlink_metadata(&path).is_ok().then_some(path)
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// Installs the hooks calling `tf`. Idempotent: our own hooks are updated in place, never
/// chained to themselves. Checks every hook before changing any, so a conflict leaves the
/// directory as it was.
pub fn install(dir: &HooksDir, tf: &Path) -> Result<Vec<Change>, Error> {
    fs::create_dir_all(&dir.path).map_err(io_error("create the hooks directory", &dir.path))?;
    let mut plan = Vec::with_capacity(HOOKS.len());
    for name in HOOKS {
        let path = dir.path.join(name);
        let chained = chained_path(&dir.path, name);
        let outcome = match inspect(name, &path)? {
            State::Absent => Outcome::Installed,
            State::Ours { tf: old } if old == tf && is_executable(&path) => Outcome::Unchanged,
            State::Ours { .. } => Outcome::Updated,
            State::Edited => Outcome::LeftEdited,
            State::Foreign if existing(chained.clone()).is_some() => {
                return Err(Error::Conflict {
                    hook: path,
                    chained,
                });
            }
            State::Foreign => Outcome::Chained,
        };
        plan.push((name, path, chained, outcome));
    }
    let mut changes = Vec::with_capacity(plan.len());
    for (name, path, chained, outcome) in plan {
        if matches!(
            outcome,
            Outcome::Installed | Outcome::Updated | Outcome::Chained
        ) {
            let script = script(name, tf).unwrap_or_default();
            write_hook(
                &path,
                &script,
                (outcome == Outcome::Chained).then_some(&chained),
            )?;
        }
        changes.push(Change {
            name,
            path,
            outcome,
            chained: existing(chained),
        });
    }
    Ok(changes)
}

/// Writes `script` to `path` through a temporary file and a rename, so git never runs half a
/// hook. With `keep`, the file at `path` is first renamed there.
pub(crate) fn write_hook(path: &Path, script: &[u8], keep: Option<&PathBuf>) -> Result<(), Error> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.timeforged-tmp"));
    let _ = fs::remove_file(&tmp);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(&tmp)
        .and_then(|mut f| f.write_all(script));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("write", path)(e));
    }
    // The mode given to open is cut by the umask; git needs the owner's execute bit at least.
    let _ = fs::metadata(&tmp).and_then(|m| {
        let mut p = m.permissions();
        p.set_mode(p.mode() | 0o700);
        fs::set_permissions(&tmp, p)
    });
    if let Some(keep) = keep
        && let Err(e) = fs::rename(path, keep)
    {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("rename", path)(e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        if let Some(keep) = keep {
            let _ = fs::rename(keep, path);
        }
        return Err(io_error("write", path)(e));
    }
    Ok(())
}

/// Removes our hooks and puts back the hooks they chained, as they were (a rename: same bytes,
/// same mode). A hook of ours that was edited is left alone.
pub fn uninstall(dir: &HooksDir) -> Result<Vec<Change>, Error> {
    let mut changes = Vec::with_capacity(HOOKS.len());
    for name in HOOKS {
        let path = dir.path.join(name);
        let chained = chained_path(&dir.path, name);
        let has_chained = existing(chained.clone()).is_some();
        let outcome = match inspect(name, &path)? {
            // Also when our hook was deleted by hand: the kept hook still goes back.
            State::Ours { .. } | State::Absent if has_chained => {
                fs::rename(&chained, &path).map_err(io_error("restore", &chained))?;
                Outcome::Restored
            }
            State::Ours { .. } => {
                fs::remove_file(&path).map_err(io_error("remove", &path))?;
                Outcome::Removed
            }
            State::Absent => Outcome::NotInstalled,
            State::Edited => Outcome::LeftEdited,
            State::Foreign => Outcome::NotOurs,
        };
        changes.push(Change {
            name,
            path,
            outcome,
            chained: existing(chained),
        });
    }
    Ok(changes)
}

/// One hook as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookStatus {
    pub name: &'static str,
    pub path: PathBuf,
    pub state: State,
    pub executable: bool,
    pub chained: Option<PathBuf>,
}

pub fn status(dir: &HooksDir) -> Result<Vec<HookStatus>, Error> {
    HOOKS
        .iter()
        .map(|&name| {
            let path = dir.path.join(name);
            Ok(HookStatus {
                name,
                state: inspect(name, &path)?,
                executable: is_executable(&path),
                chained: existing(chained_path(&dir.path, name)),
                path,
            })
        })
        .collect()
}

/// What a hook run records, from the hook's name and arguments; None when it records nothing:
/// a file checkout (`post-checkout` flag 0), a squash merge (no commit yet: the `git commit`
/// that follows records it), or a hook we do not know.
pub fn event_kind(hook: &str, args: &[String]) -> Option<(GitEventKind, Option<RewriteKind>)> {
    let arg = |i: usize| args.get(i).map(String::as_str);
    match hook {
        "post-commit" => Some((GitEventKind::Commit, None)),
        "post-checkout" if arg(2) == Some("0") => None,
        "post-checkout" => Some((GitEventKind::Checkout, None)),
        "post-merge" if arg(0) == Some("1") => None,
        "post-merge" => Some((GitEventKind::Merge, None)),
        "post-rewrite" => Some((
            GitEventKind::Rewrite,
            match arg(0) {
                Some("amend") => Some(RewriteKind::Amend),
                Some("rebase") => Some(RewriteKind::Rebase),
                _ => None,
            },
        )),
        _ => None,
    }
}

/// The event for hook `hook` run by git with `args` (and, for `post-rewrite`, `input` on
/// stdin), in the repository git runs hooks in (`GIT_DIR` and friends, else the current
/// directory). None when there is nothing to record or no work tree.
pub fn event(hook: &str, args: &[String], input: impl Read, now: f64) -> Option<GitEvent> {
    let (kind, rewrite) = event_kind(hook, args)?;
    let repo = Repository::open_from_env().ok()?;
    let root = repo.workdir()?;
    let root = root.to_string_lossy();
    let head = crate::project::head_of(&repo);
    // A rebase detaches HEAD while it picks commits: they belong to the branch being rebased.
    let branch = match head.branch {
        Some(b) if b.starts_with("detached:") => rebasing_branch(&repo).or(Some(b)),
        other => other,
    };
    let mut event = GitEvent {
        kind,
        time: now,
        repo: root.strip_suffix('/').unwrap_or(&root).to_string(),
        head: head.sha,
        branch,
        summary: None,
        rewrite,
        rewritten: Vec::new(),
    };
    match kind {
        GitEventKind::Commit | GitEventKind::Merge => event.summary = summary(&repo),
        GitEventKind::Rewrite => {
            let mut text = Vec::new();
            let _ = input.take(REWRITE_INPUT_MAX_BYTES).read_to_end(&mut text);
            event.rewritten = rewritten(&String::from_utf8_lossy(&text));
            if event.rewritten.is_empty() {
                return None;
            }
        }
        GitEventKind::Checkout => {}
    }
    event.validate().ok()?;
    Some(event)
}

/// The branch a rebase in progress works on, from git's state files (`head-name` holds
/// `refs/heads/<branch>`, or `detached HEAD`).
fn rebasing_branch(repo: &Repository) -> Option<String> {
    ["rebase-merge/head-name", "rebase-apply/head-name"]
        .iter()
        .find_map(|f| fs::read_to_string(repo.path().join(f)).ok())
        .and_then(|name| Some(name.trim().strip_prefix("refs/heads/")?.to_string()))
        .filter(|b| !b.is_empty())
}

/// The first line of HEAD's message, cut to [`SUMMARY_MAX_BYTES`] at a character boundary.
fn summary(repo: &Repository) -> Option<String> {
    let commit = repo.head().ok()?.peel_to_commit().ok()?;
    let message = String::from_utf8_lossy(commit.message_bytes());
    let line = message.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut cut = line.len().min(SUMMARY_MAX_BYTES);
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(line[..cut].to_string())
}

/// `post-rewrite`'s input: `old new [extra]` per line; lines that are not two commit ids are
/// skipped.
fn rewritten(input: &str) -> Vec<(String, String)> {
    input
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some(old), Some(new)) if is_sha(old) && is_sha(new) => {
                    Some((old.to_string(), new.to_string()))
                }
                _ => None,
            }
        })
        .take(REWRITTEN_MAX)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_has_one_placeholder_and_the_marker() {
        for name in HOOKS {
            let (_, text) = TEMPLATES.iter().find(|(n, _)| *n == name).unwrap();
            assert_eq!(text.matches(TF_PLACEHOLDER).count(), 1, "{name}");
            assert!(
                text.starts_with("#!/bin/sh\n# timeforged-hook v1\n"),
                "{name}"
            );
            assert!(text.contains(&format!("git hook {name} ")), "{name}");
            assert!(text.contains(&format!("{name}{CHAINED_SUFFIX}")), "{name}");
        }
        assert!(script("pre-commit", Path::new("/tf")).is_none());
    }

    #[test]
    fn the_tf_path_round_trips_through_the_quoting() {
        for tf in [
            "/usr/bin/tf",
            "/home/o'neil/bin/tf",
            "/a b/$x/`tf`\n'\\''",
            "/'",
        ] {
            let tf = Path::new(tf);
            let text = script("post-commit", tf).unwrap();
            assert_eq!(installed_tf("post-commit", &text).as_deref(), Some(tf));
            // sh reads the quoted path back as one word, unchanged.
            let text = String::from_utf8(text).unwrap();
            let assignment = &text[..text.find("\nif [").unwrap()];
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{assignment}\nprintf %s \"$tf\""))
                .output()
                .unwrap();
            assert_eq!(out.stdout, tf.as_os_str().as_bytes());
        }
    }

    #[test]
    fn an_edited_hook_is_not_taken_for_ours() {
        let text = script("post-merge", Path::new("/bin/tf")).unwrap();
        assert!(installed_tf("post-merge", &text).is_some());
        assert!(installed_tf("post-commit", &text).is_none());
        let mut edited = text.clone();
        edited.extend_from_slice(b"echo mine\n");
        assert!(installed_tf("post-merge", &edited).is_none());
        let quoted = String::from_utf8(script("post-merge", Path::new("/x")).unwrap())
            .unwrap()
            .replace("tf='/x'", "tf='/x'; rm -rf '/y'");
        assert!(installed_tf("post-merge", quoted.as_bytes()).is_none());
    }

    #[test]
    fn hook_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        use GitEventKind::*;
        assert_eq!(event_kind("post-commit", &[]), Some((Commit, None)));
        assert_eq!(
            event_kind("post-checkout", &args(&["a", "b", "1"])),
            Some((Checkout, None))
        );
        assert_eq!(event_kind("post-checkout", &args(&["a", "b", "0"])), None);
        assert_eq!(event_kind("post-merge", &args(&["0"])), Some((Merge, None)));
        assert_eq!(event_kind("post-merge", &args(&["1"])), None);
        assert_eq!(
            event_kind("post-rewrite", &args(&["rebase"])),
            Some((Rewrite, Some(RewriteKind::Rebase)))
        );
        assert_eq!(
            event_kind("post-rewrite", &args(&["amend"])),
            Some((Rewrite, Some(RewriteKind::Amend)))
        );
        assert_eq!(event_kind("pre-commit", &[]), None);
    }

    #[test]
    fn rewritten_pairs() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let input = format!("{a} {b}\n{b} {a} extra words\nnot a line\n\n{a}\n");
        assert_eq!(
            rewritten(&input),
            vec![(a.clone(), b.clone()), (b.clone(), a.clone())]
        );
        let many = format!("{a} {b}\n").repeat(REWRITTEN_MAX + 5);
        assert_eq!(rewritten(&many).len(), REWRITTEN_MAX);
    }
}
