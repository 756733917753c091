//! `tf git install|uninstall|status` print what `git::hooks` did or found; `tf git hook` is what
//! the installed hooks run: record one event, print nothing, always succeed.

use super::args::GitAction;
use crate::git::global;
use crate::git::hooks::{self, Change, HookStatus, HooksDir, Outcome, State};
use crate::protocol::{Request, to_line};
use anyhow::{Context as _, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How long a hook waits for the daemon (write, then answer): git waits for the hook.
const HOOK_SEND_TIMEOUT: Duration = Duration::from_millis(500);

pub fn run(action: GitAction, out: &mut impl Write) -> Result<ExitCode> {
    match action {
        GitAction::Hook { name, args } => Ok(hook(&name, &args)),
        GitAction::Install { global: true, .. } => {
            let tf = std::env::current_exe().context("cannot find the path of tf itself")?;
            let done = global::install(&global_dir()?, &tf)?;
            writeln!(
                out,
                "hooks directory {} (global core.hooksPath)",
                done.dir.display()
            )?;
            let chained = match &done.previous {
                Some(p) => format!("each runs the hook of the same name in {p} after it"),
                None => "each runs the repository's own hook of the same name after it".into(),
            };
            let config = match (done.config_changed, &done.previous) {
                (false, _) => "already points here".to_string(),
                (true, Some(p)) => {
                    format!("set (was {p}; `tf git uninstall --global` puts it back)")
                }
                (true, None) => "set (was unset; `tf git uninstall --global` unsets it)".into(),
            };
            writeln!(out, "{:<14} {config}", "core.hooksPath")?;
            writeln!(
                out,
                "{:<14} {} installed; {} record, and {chained}",
                "hooks",
                global::NAMES.len(),
                hooks::HOOKS.join(", ")
            )?;
            Ok(ExitCode::SUCCESS)
        }
        GitAction::Uninstall { global: true, .. } => {
            let dir = global_dir()?;
            let done = global::uninstall(&dir)?;
            let config = match &done.config {
                global::ConfigAfter::Restored(p) => format!("restored to {p}"),
                global::ConfigAfter::Unset => "unset, as it was before".to_string(),
                global::ConfigAfter::LeftAlone(now) => {
                    let now = now.as_deref().unwrap_or("unset");
                    eprintln!(
                        "tf: warning: the global core.hooksPath is {now}, not {}: left as it is",
                        dir.display()
                    );
                    format!("left as it is ({now})")
                }
            };
            writeln!(out, "{:<14} {config}", "core.hooksPath")?;
            writeln!(
                out,
                "{:<14} {} removed from {}",
                "hooks",
                done.removed,
                dir.display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        GitAction::Status { global: true, .. } => {
            let dir = global_dir()?;
            let s = global::status(&dir)?;
            writeln!(out, "hooks directory {}", dir.display())?;
            let config = match (&s.configured, s.in_force) {
                (_, true) => "points here: the global hooks are in force".to_string(),
                (Some(other), false) => format!("{other} (not TimeForged's)"),
                (None, false) => "unset".to_string(),
            };
            writeln!(out, "{:<14} {config}", "core.hooksPath")?;
            if let Some(p) = &s.previous {
                writeln!(
                    out,
                    "{:<14} {p} (run after ours, restored on uninstall)",
                    "previous"
                )?;
            }
            writeln!(
                out,
                "{:<14} {} of {} installed",
                "hooks",
                s.installed,
                global::NAMES.len()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        GitAction::Install { repo, .. } => {
            let dir = locate(repo)?;
            print_dir(&dir, out)?;
            if is_global(&dir)? {
                writeln!(
                    out,
                    "the global hooks (`tf git install --global`) already record this repository: \
                     nothing to do"
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            let tf = std::env::current_exe().context("cannot find the path of tf itself")?;
            let changes = hooks::install(&dir, &tf)?;
            print_changes(&changes, Verb::Install, out)?;
            Ok(ExitCode::SUCCESS)
        }
        GitAction::Uninstall { repo, .. } => {
            let dir = locate(repo)?;
            print_dir(&dir, out)?;
            if is_global(&dir)? {
                anyhow::bail!(
                    "this repository runs the global hooks: remove them for every repository \
                     with `tf git uninstall --global`"
                );
            }
            let changes = hooks::uninstall(&dir)?;
            print_changes(&changes, Verb::Uninstall, out)?;
            Ok(ExitCode::SUCCESS)
        }
        GitAction::Status { repo, .. } => {
            let dir = locate(repo)?;
            print_dir(&dir, out)?;
            if is_global(&dir)? {
                writeln!(
                    out,
                    "the global hooks (`tf git install --global`) record this repository"
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            for s in hooks::status(&dir)? {
                writeln!(out, "{:<14} {}", s.name, describe(&s))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn hook(name: &str, args: &[String]) -> ExitCode {
    let now = crate::calendar::now_seconds();
    if let Some(event) = hooks::event(name, args, std::io::stdin().lock(), now) {
        super::hook::deliver(&to_line(&Request::Git(event)), HOOK_SEND_TIMEOUT);
    }
    ExitCode::SUCCESS
}

/// Where `tf git install --global` puts its hooks: `git-hooks/` next to the config file.
pub fn global_dir() -> Result<PathBuf> {
    let paths = crate::paths::Paths::from_env()?;
    let config_dir = paths
        .config_file
        .parent()
        .context("the config file has no directory")?;
    Ok(config_dir.join("git-hooks"))
}

/// Whether a repository's hooks directory is the global one of ours.
fn is_global(dir: &HooksDir) -> Result<bool> {
    if dir.hooks_path.is_none() {
        return Ok(false);
    }
    Ok(global::names_dir(
        &dir.path.to_string_lossy(),
        &global_dir()?,
    ))
}

fn locate(repo: Option<PathBuf>) -> Result<HooksDir> {
    Ok(hooks::locate(&repo.unwrap_or_else(|| PathBuf::from(".")))?)
}

fn print_dir(dir: &HooksDir, out: &mut impl Write) -> Result<()> {
    write!(out, "hooks directory {}", dir.path.display())?;
    if let Some(configured) = &dir.hooks_path {
        write!(out, " (core.hooksPath = {})", configured.display())?;
    }
    writeln!(out)?;
    if dir.bare {
        writeln!(
            out,
            "{} is a bare repository: the hooks run in its linked worktrees",
            dir.repo.display()
        )?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Install,
    Uninstall,
}

fn print_changes(changes: &[Change], verb: Verb, out: &mut impl Write) -> Result<()> {
    for c in changes {
        let chained = c.chained.as_deref().map(file_name).unwrap_or_default();
        let line = match c.outcome {
            Outcome::Installed | Outcome::Updated | Outcome::Unchanged => {
                let done = match c.outcome {
                    Outcome::Installed => "installed",
                    Outcome::Updated => "updated",
                    _ => "up to date",
                };
                match &c.chained {
                    Some(_) => format!("{done}; then runs {chained}"),
                    None => done.to_string(),
                }
            }
            Outcome::Chained => {
                format!("installed; the hook that was here is now {chained}, run after ours")
            }
            Outcome::LeftEdited => {
                let next = match verb {
                    Verb::Install => "delete it and run `tf git install` again to replace it",
                    Verb::Uninstall => "delete it yourself to remove it",
                };
                eprintln!(
                    "tf: warning: {} was edited since it was installed; left alone ({next})",
                    c.path.display()
                );
                "left alone: edited since it was installed".to_string()
            }
            Outcome::Removed => "removed".to_string(),
            Outcome::Restored => "removed; the hook it ran is back".to_string(),
            Outcome::NotOurs => {
                if let Some(kept) = &c.chained {
                    eprintln!(
                        "tf: warning: {} is not TimeForged's hook, so {} stays too",
                        c.path.display(),
                        kept.display()
                    );
                }
                "not installed: another hook is there".to_string()
            }
            Outcome::NotInstalled => "not installed".to_string(),
        };
        writeln!(out, "{:<14} {line}", c.name)?;
    }
    Ok(())
}

fn describe(s: &HookStatus) -> String {
    let chained = s
        .chained
        .as_deref()
        .map(|p| format!("; then runs {}", file_name(p)))
        .unwrap_or_default();
    match &s.state {
        State::Absent => "not installed".to_string(),
        State::Foreign => "not installed: another hook is there".to_string(),
        State::Edited => format!("installed, edited since{chained}"),
        State::Ours { .. } if !s.executable => {
            format!("installed but not executable: git skips it (run `tf git install`){chained}")
        }
        State::Ours { tf } if !is_executable_file(tf) => format!(
            "installed, but {} is gone: it records nothing (run `tf git install`){chained}",
            tf.display()
        ),
        State::Ours { tf } => format!("installed, runs {}{chained}", tf.display()),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_executable_file(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
