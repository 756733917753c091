//! `tf branches`, `tf commits` and `tf watch`: the git and file-watching side of the CLI.

use super::args::{RangeArgs, WatchCommand};
use super::format::{self, Style};
use super::{Context, print_json, range_spec};
use crate::protocol::{Request, Response, WatchAction, WatchRoot};
use crate::report::git::{BranchRow, CommitRow};
use anyhow::{Result, bail};
use std::io::Write;
use std::process::ExitCode;

/// Without a range, branches cover the week and commits the last 30 days.
fn range_or(r: RangeArgs, default: &str) -> RangeArgs {
    if r.range.is_none() && r.from.is_none() && r.to.is_none() {
        RangeArgs {
            range: Some(default.to_string()),
            ..r
        }
    } else {
        r
    }
}

pub fn branches(
    ctx: &Context,
    range: RangeArgs,
    project: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let range = range_spec(&range_or(range, "week"));
    let Response::Branches { branches } = ctx
        .client()?
        .request(&Request::Branches { range, project })?
    else {
        bail!("unexpected answer to branches")
    };
    if json {
        return print_json(out, &branches);
    }
    print_branches(&branches, Style::detect(), out)?;
    Ok(ExitCode::SUCCESS)
}

fn print_branches(rows: &[BranchRow], style: Style, out: &mut impl Write) -> Result<()> {
    if rows.is_empty() {
        writeln!(out, "{}", style.dim("no branch activity in this range"))?;
        return Ok(());
    }
    let pw = column(rows.iter().map(|r| r.project.as_str()), "project", 24);
    let bw = column(rows.iter().map(|r| r.branch.as_str()), "branch", 40);
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{}  {}  {:>8}  {:<11}  {:<11}  {:>7}  ticket",
            format::pad_right("project", pw),
            format::pad_right("branch", bw),
            "time",
            "first",
            "last",
            "commits"
        ))
    )?;
    for r in rows {
        writeln!(
            out,
            "{}  {}  {:>8}  {:<11}  {:<11}  {:>7}  {}",
            format::pad_right(&format::truncate(&r.project, pw), pw),
            style.accent(&format::pad_right(&format::truncate(&r.branch, bw), bw)),
            format::duration(r.seconds),
            short_time(r.first.as_deref()),
            short_time(r.last.as_deref()),
            r.commits,
            r.ticket.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

pub fn commits(
    ctx: &Context,
    range: RangeArgs,
    project: Option<String>,
    branch: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let range = range_spec(&range_or(range, "30d"));
    let Response::Commits { commits } = ctx.client()?.request(&Request::Commits {
        range,
        project,
        branch,
    })?
    else {
        bail!("unexpected answer to commits")
    };
    if json {
        return print_json(out, &commits);
    }
    print_commits(&commits, Style::detect(), out)?;
    Ok(ExitCode::SUCCESS)
}

fn print_commits(rows: &[CommitRow], style: Style, out: &mut impl Write) -> Result<()> {
    if rows.is_empty() {
        writeln!(
            out,
            "{}",
            style.dim("no commits recorded in this range (tf watch add DIR follows commits there; tf git install records them in one repository)")
        )?;
        return Ok(());
    }
    let pw = column(rows.iter().map(|r| r.project.as_str()), "project", 20);
    let bw = column(
        rows.iter().map(|r| r.branch.as_deref().unwrap_or("")),
        "branch",
        30,
    );
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{:<11}  {:<8}  {:>8}  {}  {}  summary",
            "when",
            "commit",
            "time",
            format::pad_right("project", pw),
            format::pad_right("branch", bw)
        ))
    )?;
    for r in rows {
        let summary = r.summary.as_deref().unwrap_or("");
        writeln!(
            out,
            "{:<11}  {:<8}  {:>8}  {}  {}  {}{}",
            short_time(Some(&r.time)),
            style.accent(r.sha.get(..8).unwrap_or(&r.sha)),
            format::duration(r.seconds),
            format::pad_right(&format::truncate(&r.project, pw), pw),
            format::pad_right(&format::truncate(r.branch.as_deref().unwrap_or(""), bw), bw),
            if r.merge { "(merge) " } else { "" },
            format::truncate(summary, 72)
        )?;
    }
    Ok(())
}

pub fn watch(ctx: &Context, action: WatchCommand, out: &mut impl Write) -> Result<ExitCode> {
    let absolute = |p: std::path::PathBuf| -> Result<String> {
        let abs = std::path::absolute(&p)?;
        match abs.to_str() {
            Some(s) => Ok(s.to_string()),
            None => bail!("path: {} is not valid UTF-8", abs.display()),
        }
    };
    let (action, json) = match action {
        WatchCommand::Add { path } => (
            WatchAction::Add {
                path: absolute(path)?,
            },
            false,
        ),
        WatchCommand::Remove { path } => (
            WatchAction::Remove {
                path: absolute(path)?,
            },
            false,
        ),
        WatchCommand::List { json } => (WatchAction::List, json),
    };
    match ctx.client()?.request(&Request::Watch(action))? {
        Response::WatchRoots { roots } if json => print_json(out, &roots),
        Response::WatchRoots { roots } => {
            print_roots(&roots, Style::detect(), out)?;
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { message, .. } => bail!("{message}"),
        _ => bail!("unexpected answer to watch"),
    }
}

pub fn print_roots(roots: &[WatchRoot], style: Style, out: &mut impl Write) -> Result<()> {
    if roots.is_empty() {
        writeln!(
            out,
            "{}",
            style.dim(
                "no watched directories (tf watch add ~/code, or [watch] roots in the config)"
            )
        )?;
        return Ok(());
    }
    for r in roots {
        writeln!(
            out,
            "{}  {}  {}",
            style.bold(&r.path),
            style.dim(&r.origin),
            root_summary(r)
        )?;
    }
    Ok(())
}

/// `3 repositories · 120 directories (4 polled: watch limit)`, or why the root is not watched.
pub fn root_summary(r: &WatchRoot) -> String {
    if let Some(e) = &r.error {
        return format!("error: {e}");
    }
    let repositories = match r.repositories {
        1 => "1 repository".to_string(),
        n => format!("{n} repositories"),
    };
    let polled = match r.polled_dirs {
        0 => String::new(),
        n => format!(" ({n} polled: watch limit)"),
    };
    format!(
        "{repositories} · {} directories{polled}",
        r.watched_dirs + r.polled_dirs
    )
}

/// Width of a column: its widest value, between its title and `max`.
fn column<'a>(values: impl Iterator<Item = &'a str>, title: &str, max: usize) -> usize {
    values
        .map(format::width)
        .max()
        .unwrap_or(0)
        .clamp(title.len(), max)
}

/// `2026-11-25T14:03:00+01:00` → `11-25 14:03`.
fn short_time(t: Option<&str>) -> String {
    t.and_then(|t| t.get(5..16))
        .map(|s| s.replace('T', " "))
        .unwrap_or_default()
}
