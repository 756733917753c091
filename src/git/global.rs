//! `tf git install --global`: TimeForged's hooks for every repository at once, in a directory
//! of its own that the global `core.hooksPath` points to. Each hook there runs the hook git
//! would have run without it (the previous global hooks directory, else the repository's own),
//! so installing it changes nothing else; uninstalling puts `core.hooksPath` back as it was.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The hooks the directory holds: every hook git runs from a hooks directory, so that each
/// repository's own keep running, except those whose mere presence changes what git does
/// (`push-to-checkout` replaces updateInstead's own checks, `proc-receive` is a protocol) or
/// that run on every ref or index update (`reference-transaction`, `post-index-change`: a
/// shell and a `git` started each time).
pub const NAMES: [&str; 22] = [
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-receive",
    "update",
    "post-receive",
    "post-update",
    "pre-auto-gc",
    "post-rewrite",
    "sendemail-validate",
    "p4-changelist",
    "p4-prepare-changelist",
    "p4-post-changelist",
];

const TEMPLATE: &str = include_str!("../../hooks/global");
/// The second line of the script; a file with it is ours.
const MARKER: &[u8] = b"\n# timeforged-global-hook v";
/// Holds the global `core.hooksPath` from before the install, when there was one.
const PREVIOUS_FILE: &str = "previous-core-hookspath";

/// Everything that can go wrong; each names the command or path at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot run git: {0} (install git, or put it on PATH)")]
    NoGit(io::Error),
    #[error("`git config --global {args}` failed: {stderr}")]
    Config { args: String, stderr: String },
    #[error("cannot {action} {}: {err}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error(
        "{} is not TimeForged's: the directory for the global hooks holds files of someone else \
         (move them away, then run `tf git install --global` again)",
        .0.display()
    )]
    Foreign(PathBuf),
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |err| Error::Io { action, path, err }
}

/// `value` in single quotes for sh: `'` becomes `'\''`.
fn sh_single_quoted_body(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        match b {
            b'\'' => out.extend_from_slice(b"'\\''"),
            _ => out.push(b),
        }
    }
    out
}

/// The hook script calling `tf` and chaining to `previous` (else the repository's own hooks).
pub fn script(tf: &Path, previous: Option<&str>) -> Vec<u8> {
    let tf = sh_single_quoted_body(tf.as_os_str().as_bytes());
    let previous = sh_single_quoted_body(previous.unwrap_or("").as_bytes());
    let mut out = Vec::with_capacity(TEMPLATE.len() + tf.len() + previous.len());
    let (head, rest) = TEMPLATE.split_once("@TF_BIN@").unwrap_or((TEMPLATE, ""));
    let (middle, tail) = rest.split_once("@TF_PREVIOUS@").unwrap_or((rest, ""));
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&tf);
    out.extend_from_slice(middle.as_bytes());
    out.extend_from_slice(&previous);
    out.extend_from_slice(tail.as_bytes());
    out
}

/// `git config --global ARGS`; Ok(None) when git says the key is not set.
fn git_config(args: &[&str]) -> Result<Option<String>, Error> {
    let out = Command::new("git")
        .args(["config", "--global"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(Error::NoGit)?;
    match out.status.code() {
        Some(0) => {
            let text = String::from_utf8_lossy(&out.stdout);
            Ok(Some(text.strip_suffix('\n').unwrap_or(&text).to_string()))
        }
        // 1: `--get` of a key that is not set; 5: `--unset` of one.
        Some(1 | 5) if out.stderr.is_empty() => Ok(None),
        _ => Err(Error::Config {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }),
    }
}

/// The global `core.hooksPath`, if set.
pub fn configured() -> Result<Option<String>, Error> {
    git_config(&["--get", "core.hooksPath"])
}

/// Whether a `core.hooksPath` value names `dir` (`~/` as git expands it).
pub fn names_dir(value: &str, dir: &Path) -> bool {
    let expanded = match (value.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(value),
    };
    let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canonical(&expanded) == canonical(dir)
}

fn read_previous(dir: &Path) -> Result<Option<String>, Error> {
    let path = dir.join(PREVIOUS_FILE);
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", &path)(e)),
    }
}

fn is_ours(path: &Path) -> Result<bool, Error> {
    match fs::read(path) {
        Ok(text) => Ok(text.windows(MARKER.len()).any(|w| w == MARKER)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("read", path)(e)),
    }
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub dir: PathBuf,
    /// The global `core.hooksPath` before the first install, whose hooks ours run.
    pub previous: Option<String>,
    /// Whether `core.hooksPath` was changed now (false: it pointed here already).
    pub config_changed: bool,
}

/// Writes the hooks into `dir` and points the global `core.hooksPath` at it. Idempotent: a
/// second install rewrites the scripts (say, for a new `tf` path) and keeps the hooks path
/// that was there before the first. Checks before changing anything, so a failure leaves the
/// directory and git's configuration as they were.
pub fn install(dir: &Path, tf: &Path) -> Result<Installed, Error> {
    let current = configured()?;
    let already = current.as_deref().is_some_and(|c| names_dir(c, dir));
    let previous = if already {
        read_previous(dir)?
    } else {
        current.clone()
    };
    for name in NAMES {
        let path = dir.join(name);
        if fs::symlink_metadata(&path).is_ok() && !is_ours(&path)? {
            return Err(Error::Foreign(path));
        }
    }
    fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    let script = script(tf, previous.as_deref());
    for name in NAMES {
        super::hooks::write_hook(&dir.join(name), &script, None).map_err(|e| match e {
            super::hooks::Error::Io { action, path, err } => Error::Io { action, path, err },
            other => Error::Io {
                action: "write",
                path: dir.join(name),
                err: io::Error::other(other.to_string()),
            },
        })?;
    }
    let previous_file = dir.join(PREVIOUS_FILE);
    if !already {
        match &previous {
            Some(p) => fs::write(&previous_file, p).map_err(io_error("write", &previous_file))?,
            None => match fs::remove_file(&previous_file) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error("remove", &previous_file)(e));
                }
                _ => {}
            },
        }
        let value = dir.to_string_lossy();
        git_config(&["core.hooksPath", &value])?;
    }
    Ok(Installed {
        dir: dir.to_path_buf(),
        previous,
        config_changed: !already,
    })
}

/// What `uninstall` did to `core.hooksPath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigAfter {
    /// Put back to the value it had before the install.
    Restored(String),
    /// Unset, as it was before the install.
    Unset,
    /// It names another directory now (changed since the install): left alone.
    LeftAlone(Option<String>),
}

/// What `uninstall` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uninstalled {
    pub config: ConfigAfter,
    /// Our hooks removed.
    pub removed: usize,
}

/// Puts `core.hooksPath` back as it was before the install (when it still points to `dir`) and
/// removes our hooks from `dir` (and `dir`, when nothing else is left in it).
pub fn uninstall(dir: &Path) -> Result<Uninstalled, Error> {
    let current = configured()?;
    let previous = read_previous(dir)?;
    let config = if current.as_deref().is_some_and(|c| names_dir(c, dir)) {
        match previous {
            Some(p) => {
                git_config(&["core.hooksPath", &p])?;
                ConfigAfter::Restored(p)
            }
            None => {
                git_config(&["--unset", "core.hooksPath"])?;
                ConfigAfter::Unset
            }
        }
    } else {
        ConfigAfter::LeftAlone(current)
    };
    let mut removed = 0;
    for name in NAMES {
        let path = dir.join(name);
        if is_ours(&path)? {
            fs::remove_file(&path).map_err(io_error("remove", &path))?;
            removed += 1;
        }
    }
    let previous_file = dir.join(PREVIOUS_FILE);
    match fs::remove_file(&previous_file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(io_error("remove", &previous_file)(e));
        }
        _ => {}
    }
    // Only when empty: anything the user put there stays.
    let _ = fs::remove_dir(dir);
    Ok(Uninstalled { config, removed })
}

/// The global hooks as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalStatus {
    pub configured: Option<String>,
    /// Whether `core.hooksPath` names the directory.
    pub in_force: bool,
    pub previous: Option<String>,
    /// Our hooks present (of [`NAMES`]).
    pub installed: usize,
}

pub fn status(dir: &Path) -> Result<GlobalStatus, Error> {
    let configured = configured()?;
    let mut installed = 0;
    for name in NAMES {
        if is_ours(&dir.join(name))? {
            installed += 1;
        }
    }
    Ok(GlobalStatus {
        in_force: configured.as_deref().is_some_and(|c| names_dir(c, dir)),
        configured,
        previous: read_previous(dir)?,
        installed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_its_placeholders_and_marker() {
        assert_eq!(TEMPLATE.matches("@TF_BIN@").count(), 1);
        assert_eq!(TEMPLATE.matches("@TF_PREVIOUS@").count(), 1);
        assert!(
            TEMPLATE
                .as_bytes()
                .windows(MARKER.len())
                .any(|w| w == MARKER)
        );
        // Not taken for a per-repository hook of ours.
        assert!(!TEMPLATE.contains("\n# timeforged-hook v"));
        let s = script(Path::new("/a'b/tf"), Some("~/it's"));
        let s = String::from_utf8(s).unwrap();
        assert!(s.contains("tf='/a'\\''b/tf'"), "{s}");
        assert!(s.contains("previous='~/it'\\''s'"), "{s}");
        assert!(!s.contains("@TF_"), "{s}");
    }

    #[test]
    fn names_are_hooks_of_ours_and_unique() {
        for hook in super::super::hooks::HOOKS {
            assert!(NAMES.contains(&hook), "{hook}");
        }
        let mut sorted = NAMES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), NAMES.len());
        assert!(!NAMES.contains(&PREVIOUS_FILE));
    }
}
