//! `tf focus start|stop|status|log`: the daemon keeps the timer (so it outlives the terminal);
//! this asks it and shows the answer, and how much of each session was real activity.

use super::args::FocusCommand;
use super::format::{self, Style};
use super::{Context, print_json, range_spec};
use crate::calendar::Calendar;
use crate::focus::{FocusPlan, parse_duration};
use crate::protocol::{FocusAction, FocusEntry, FocusReply, Request, Response};
use anyhow::{Result, anyhow, bail};
use std::io::Write;
use std::process::ExitCode;

pub fn run(ctx: &Context, action: FocusCommand, out: &mut impl Write) -> Result<ExitCode> {
    let (request, json) = match action {
        FocusCommand::Start {
            duration,
            project,
            note,
            json,
        } => {
            let duration_ms = match duration.as_deref() {
                Some(d) => parse_duration(d).map_err(|e| anyhow!("duration: {e}"))?,
                None => crate::focus::DEFAULT_MS,
            };
            let mut plan = FocusPlan {
                duration_ms,
                project,
                note,
            };
            // Checked here too, so a typo is explained without a daemon.
            plan.validate().map_err(|e| anyhow!("{e}"))?;
            (FocusAction::Start(plan), json)
        }
        FocusCommand::Stop { json } => (FocusAction::Stop, json),
        FocusCommand::Status { json } => (FocusAction::Status, json),
        FocusCommand::Log { range, json } => (
            FocusAction::Log {
                range: range_spec(&range),
            },
            json,
        ),
    };
    let starting = matches!(request, FocusAction::Start(_));
    let mut client = ctx.client()?;
    let answer = client.request(&Request::Focus(request))?;
    let style = Style::detect();
    let cal = Calendar::system();
    match answer {
        Response::Focus(reply) => {
            let FocusReply { running, stopped } = *reply;
            if json {
                return print_json(
                    out,
                    &serde_json::json!({ "running": running, "stopped": stopped }),
                );
            }
            if let Some(s) = &stopped {
                writeln!(
                    out,
                    "stopped after {} of {}: {} active{}",
                    format::duration(s.elapsed_seconds),
                    format::duration(s.session.planned_ms as f64 / 1000.0),
                    style.bold(&format::duration(s.active_seconds)),
                    projects(s)
                )?;
            }
            match &running {
                Some(r) if starting => writeln!(
                    out,
                    "focus until {} ({}){}",
                    clock(&cal, r.session.due_ms()),
                    format::duration(r.session.planned_ms as f64 / 1000.0),
                    label(r)
                )?,
                Some(r) => writeln!(out, "{}", line(r, &cal, style))?,
                None if stopped.is_none() => writeln!(
                    out,
                    "{}",
                    style.dim("no focus timer is running (tf focus start 25m)")
                )?,
                None => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Response::FocusLog { sessions } => {
            if json {
                return print_json(out, &sessions);
            }
            print_log(&sessions, &cal, style, out)?;
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { message, .. } => bail!("{message}"),
        other => bail!("unexpected answer to focus: {other:?}"),
    }
}

fn clock(cal: &Calendar, ms: i64) -> String {
    cal.zoned(ms).strftime("%H:%M").to_string()
}

fn label(e: &FocusEntry) -> String {
    let mut s = String::new();
    if let Some(p) = &e.session.project {
        s.push_str(&format!(" · {p}"));
    }
    if let Some(n) = &e.session.note {
        s.push_str(&format!(" · {n}"));
    }
    s
}

fn projects(e: &FocusEntry) -> String {
    if e.projects.is_empty() {
        return String::new();
    }
    let list: Vec<String> = e
        .projects
        .iter()
        .map(|p| format!("{} {}", p.name, format::duration(p.seconds)))
        .collect();
    format!(" ({})", list.join(", "))
}

/// A running timer in one line (also `tf status`'s): time left, activity so far.
pub fn line(e: &FocusEntry, cal: &Calendar, style: Style) -> String {
    format!(
        "{} left of {} (until {}) · {} active{}",
        style.bold(&format::duration(e.remaining_seconds.unwrap_or(0.0))),
        format::duration(e.session.planned_ms as f64 / 1000.0),
        clock(cal, e.session.due_ms()),
        format::duration(e.active_seconds),
        label(e)
    )
}

/// `{focus}` of `tf status --format`: `12m left`, or nothing.
pub fn prompt(e: Option<&FocusEntry>) -> String {
    match e.and_then(|e| e.remaining_seconds) {
        Some(left) => {
            let m = (left / 60.0).ceil() as i64;
            format!("{m}m left")
        }
        None => String::new(),
    }
}

fn print_log(
    sessions: &[FocusEntry],
    cal: &Calendar,
    style: Style,
    out: &mut impl Write,
) -> Result<()> {
    if sessions.is_empty() {
        writeln!(
            out,
            "{}",
            style.dim("no focus sessions in this range (tf focus start 25m)")
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        style.bold("start             length   active       %  how         projects")
    )?;
    for s in sessions {
        let start = cal
            .zoned(s.session.start_ms)
            .strftime("%Y-%m-%d %H:%M")
            .to_string();
        let how = match (s.session.end_ms, s.session.completed) {
            (None, _) => "running",
            (Some(_), true) => "done",
            (Some(_), false) => "stopped",
        };
        let share = if s.elapsed_seconds > 0.0 {
            100.0 * s.active_seconds / s.elapsed_seconds
        } else {
            0.0
        };
        writeln!(
            out,
            "{start}  {}  {}  {:>5.0}  {how:<10}  {}{}",
            format::pad_left(&format::duration(s.elapsed_seconds), 7),
            format::pad_left(&format::duration(s.active_seconds), 7),
            share,
            s.projects
                .iter()
                .map(|p| format!("{} {}", p.name, format::duration(p.seconds)))
                .collect::<Vec<_>>()
                .join(", "),
            label(s)
        )?;
    }
    let active: f64 = sessions.iter().map(|s| s.active_seconds).sum();
    let elapsed: f64 = sessions.iter().map(|s| s.elapsed_seconds).sum();
    writeln!(
        out,
        "{} session{}, {} of {} active",
        sessions.len(),
        if sessions.len() == 1 { "" } else { "s" },
        style.bold(&format::duration(active)),
        format::duration(elapsed)
    )?;
    Ok(())
}
