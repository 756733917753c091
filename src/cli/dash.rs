//! `tf dash`: feeds the dashboard (`timeforged-tui`) from the daemon. Views are loaded with
//! ordinary socket requests; a subscription pushes "something changed" so the screen follows
//! new heartbeats without polling, and reconnects by itself when the daemon restarts.

use super::Context;
use crate::client::Client;
use crate::config::WeekStart;
use crate::protocol::{Request, Response, StatusInfo};
use crate::report::{Dim, Filters, RangeSpec, Report, Row, Segment, Session, git::CommitRow};
use anyhow::{Result, bail};
use jiff::civil::Date;
use jiff::{Span, Timestamp};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::Sender;
use std::time::Duration;
use timeforged_tui as tui;

pub fn dash(ctx: &Context) -> Result<ExitCode> {
    // Checked before anything is drawn or started: off a terminal the dashboard could only
    // print escape codes and fail on the terminal's input (`os error 6`).
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        bail!(
            "tf dash needs a terminal (stdout is not one); for text output use tf status, \
             tf report or tf log"
        );
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin())
        && std::fs::File::open("/dev/tty").is_err()
    {
        bail!(
            "tf dash needs a terminal to read keys from (stdin is not one and there is no \
             /dev/tty); for text output use tf status, tf report or tf log"
        );
    }
    // Start the daemon if needed (and fail early with the usual message if it cannot be).
    let client = ctx.client()?;
    let socket = ctx.paths.socket.clone();
    let mut source = DaemonSource {
        socket: socket.clone(),
        week_start: ctx.config.report.week_start,
        client: Some(client),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    follow_daemon(socket, tx.clone());
    tick(tx.clone());
    tui::run_in_terminal(&mut source, tx, rx)?;
    Ok(ExitCode::SUCCESS)
}

/// Subscribes to the daemon's events; each becomes `Changed`. When the daemon goes away it says
/// so once, then tries again every second until it is back.
fn follow_daemon(socket: PathBuf, tx: Sender<tui::Input>) {
    std::thread::spawn(move || {
        let mut connected = true;
        loop {
            let subscribed = Client::connect(&socket)
                .map_err(|e| e.to_string())
                .and_then(|mut c| match c.request(&Request::Subscribe) {
                    Ok(_) => Ok(c),
                    Err(e) => Err(e.to_string()),
                });
            match subscribed {
                Ok(mut c) => {
                    if !connected && tx.send(tui::Input::Connected).is_err() {
                        return;
                    }
                    // The daemon may have changed while we were away.
                    if tx.send(tui::Input::Changed).is_err() {
                        return;
                    }
                    while let Ok(Response::Event(_)) = c.receive() {
                        if tx.send(tui::Input::Changed).is_err() {
                            return;
                        }
                    }
                    connected = false;
                    if tx
                        .send(tui::Input::Disconnected("the daemon stopped".into()))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) if connected => {
                    connected = false;
                    if tx.send(tui::Input::Disconnected(e)).is_err() {
                        return;
                    }
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
}

/// A clock tick per second, for "running for 5m" counters (the dashboard redraws only if one
/// is shown).
fn tick(tx: Sender<tui::Input>) {
    std::thread::spawn(move || {
        while tx.send(tui::Input::Tick).is_ok() {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
}

/// Loads views with requests on one connection, reconnecting when it broke.
struct DaemonSource {
    socket: PathBuf,
    week_start: WeekStart,
    client: Option<Client>,
}

impl DaemonSource {
    fn request(&mut self, request: &Request) -> Result<Response, String> {
        // A connection kept from before a daemon restart is dead: one retry on a new one.
        for attempt in 0..2 {
            let client = match self.client.as_mut() {
                Some(c) => c,
                None => self
                    .client
                    .insert(Client::connect(&self.socket).map_err(|e| e.to_string())?),
            };
            match client.request(request) {
                Ok(r) => return Ok(r),
                Err(crate::client::ClientError::Io(e)) => {
                    self.client = None;
                    if attempt == 1 {
                        return Err(e.to_string());
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("not connected".into())
    }

    fn report(
        &mut self,
        from: Date,
        to: Date,
        by: &[Dim],
        project: Option<&str>,
    ) -> Result<Report, String> {
        match self.request(&Request::Report {
            range: days(from, to),
            by: by.to_vec(),
            filters: Filters {
                project: project.into_iter().map(str::to_string).collect(),
                ..Filters::default()
            },
            timeout_minutes: None,
        })? {
            Response::Report(r) => Ok(*r),
            other => Err(format!("unexpected answer: {other:?}")),
        }
    }

    fn today(&mut self, load: &tui::Load) -> Result<tui::Data, String> {
        let today = local_today();
        let day = shift_days(today, i64::from(load.offset));
        let report = self.report(day, day, &[group_dim(load.group)], None)?;
        let (day_start, utc_offset) = instant(&report.start);
        let Response::Timeline { segments } = self.request(&Request::Timeline {
            range: days(day, day),
        })?
        else {
            return Err("unexpected answer to timeline".into());
        };
        let Response::Sessions { sessions } = self.request(&Request::Sessions {
            range: days(day, day),
        })?
        else {
            return Err("unexpected answer to sessions".into());
        };
        let (current, focus) = if load.offset == 0 {
            match self.request(&Request::Status)? {
                Response::Status(status) => (
                    current(&status, &sessions),
                    status.focus.as_ref().map(focus),
                ),
                _ => (None, None),
            }
        } else {
            (None, None)
        };
        let lanes = match self.request(&Request::Lanes {
            range: days(day, day),
            filters: Filters::default(),
            timeout_minutes: None,
        })? {
            Response::Lanes(l) => lanes(&l),
            _ => None,
        };
        Ok(tui::Data::Today(tui::TodayData {
            label: day.strftime("%a %-d %b %Y").to_string(),
            total_seconds: report.total_seconds,
            current,
            bars: bars(&report, group_dim(load.group), load.filter.as_deref()),
            timeline: segments.into_iter().map(segment).collect(),
            sessions: sessions.iter().map(session).collect(),
            day_start_unix: day_start,
            day_end_unix: instant(&report.end).0,
            now_unix: crate::calendar::now_seconds(),
            utc_offset_seconds: utc_offset,
            lanes,
            focus,
        }))
    }

    fn period(&mut self, load: &tui::Load) -> Result<tui::Data, String> {
        let today = local_today();
        let (from, to, label) = if load.view == tui::View::Week {
            // Weeks start as `tf report week` has them (report.week_start).
            let into_week = match self.week_start {
                WeekStart::Monday => today.weekday().to_monday_zero_offset(),
                WeekStart::Sunday => today.weekday().to_sunday_zero_offset(),
            };
            let first = shift_days(today, -i64::from(into_week));
            let from = shift_days(first, 7 * i64::from(load.offset));
            let to = shift_days(from, 6);
            let label = format!(
                "Week {}, {} – {}",
                from.iso_week_date().week(),
                from.strftime("%-d %b"),
                to.strftime("%-d %b %Y")
            );
            (from, to, label)
        } else {
            let first = today
                .first_of_month()
                .checked_add(Span::new().months(load.offset))
                .unwrap_or(today);
            (
                first,
                first.last_of_month(),
                first.strftime("%B %Y").to_string(),
            )
        };
        let group = group_dim(load.group);
        let mut by = vec![Dim::Day, Dim::Project, Dim::Language];
        if !by.contains(&group) {
            by.push(group);
        }
        let report = self.report(from, to, &by, None)?;
        let per_day = rows(&report, Dim::Day);
        let mut days = Vec::new();
        let mut d = from;
        while d <= to {
            let date = d.to_string();
            days.push(tui::DayTotal {
                label: d.strftime("%a %-d").to_string(),
                seconds: per_day
                    .iter()
                    .find(|r| r.name == date)
                    .map_or(0.0, |r| r.seconds),
                date,
                weekday: d.weekday().to_monday_zero_offset() as u8,
            });
            d = shift_days(d, 1);
        }
        // The average is over the days that have happened.
        let elapsed = days
            .iter()
            .filter(|day| day.date.as_str() <= today.to_string().as_str())
            .count();
        Ok(tui::Data::Period(tui::PeriodData {
            label,
            total_seconds: report.total_seconds,
            daily_average_seconds: report.total_seconds / elapsed.max(1) as f64,
            days,
            projects: bars(&report, Dim::Project, None),
            languages: bars(&report, Dim::Language, None),
            bars: bars(&report, group, load.filter.as_deref()),
        }))
    }

    fn project(&mut self, load: &tui::Load) -> Result<tui::Data, String> {
        let today = local_today();
        let to = shift_days(today, 30 * i64::from(load.offset));
        let from = shift_days(to, -29);
        let all = self.report(from, to, &[Dim::Project], None)?;
        let projects = bars(&all, Dim::Project, load.filter.as_deref());
        let chosen = load
            .project
            .clone()
            .or_else(|| projects.first().map(|b| b.name.clone()));
        let label = format!("{} – {}", from.strftime("%-d %b"), to.strftime("%-d %b %Y"));
        let (_, utc_offset) = instant(&all.start);
        let Some(project) = chosen else {
            return Ok(tui::Data::Project(tui::ProjectData {
                label,
                projects,
                utc_offset_seconds: utc_offset,
                ..Default::default()
            }));
        };
        let detail = self.report(from, to, &[Dim::Branch, Dim::Entity], Some(&project))?;
        let files = rows(&detail, Dim::Entity)
            .iter()
            .filter(|r| r.name.contains('/'))
            .map(|r| tui::Bar::new(short_path(&r.name, &project), r.seconds))
            .collect();
        let Response::Commits { commits } = self.request(&Request::Commits {
            range: days(from, to),
            project: Some(project.clone()),
            branch: None,
        })?
        else {
            return Err("unexpected answer to commits".into());
        };
        Ok(tui::Data::Project(tui::ProjectData {
            label,
            total_seconds: detail.total_seconds,
            branches: bars(&detail, Dim::Branch, None),
            files,
            commits: commits.iter().rev().map(commit).collect(),
            project: Some(project),
            projects,
            utc_offset_seconds: utc_offset,
        }))
    }
}

impl tui::Source for DaemonSource {
    fn load(&mut self, load: &tui::Load) -> Result<tui::Data, String> {
        match load.view {
            tui::View::Today => self.today(load),
            tui::View::Week | tui::View::Month => self.period(load),
            tui::View::Project => self.project(load),
        }
    }
}

fn local_today() -> Date {
    crate::calendar::Calendar::system().date_of(crate::calendar::now_ms())
}

fn days(from: Date, to: Date) -> RangeSpec {
    RangeSpec {
        name: None,
        from: Some(from.to_string()),
        to: Some(to.to_string()),
    }
}

fn shift_days(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().days(n)).unwrap_or(d)
}

fn group_dim(g: tui::Group) -> Dim {
    match g {
        tui::Group::Project => Dim::Project,
        tui::Group::Language => Dim::Language,
        tui::Group::Branch => Dim::Branch,
    }
}

fn rows(report: &Report, dim: Dim) -> &[Row] {
    report
        .by
        .iter()
        .find(|(d, _)| d == dim.as_str())
        .map_or(&[], |(_, rows)| rows.as_slice())
}

/// A dimension's rows as bars, keeping those whose name contains `filter` (any case).
fn bars(report: &Report, dim: Dim, filter: Option<&str>) -> Vec<tui::Bar> {
    let filter = filter.map(str::to_lowercase);
    rows(report, dim)
        .iter()
        .filter(|r| {
            filter
                .as_deref()
                .is_none_or(|f| r.name.to_lowercase().contains(f))
        })
        .map(|r| tui::Bar::new(r.name.clone(), r.seconds))
        .collect()
}

/// Unix seconds and the UTC offset of an RFC 3339 time such as `2026-11-25T00:00:00+01:00`.
fn instant(rfc3339: &str) -> (f64, i32) {
    let unix = rfc3339
        .parse::<Timestamp>()
        .map_or(0.0, |t| t.as_millisecond() as f64 / 1000.0);
    let offset = rfc3339
        .get(19..)
        .map(|tail| tail.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()))
        .and_then(|tz| {
            let sign = match tz.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return Some(0), // `Z`
            };
            let h: i32 = tz.get(1..3)?.parse().ok()?;
            let m: i32 = tz.get(4..6)?.parse().ok()?;
            Some(sign * (h * 3600 + m * 60))
        })
        .unwrap_or(0);
    (unix, offset)
}

fn segment(s: Segment) -> tui::Segment {
    tui::Segment {
        start_unix: s.start_unix,
        end_unix: s.end_unix,
        project: s.project,
    }
}

fn session(s: &Session) -> tui::SessionRow {
    tui::SessionRow {
        start_unix: instant(&s.start).0,
        end_unix: instant(&s.end).0,
        seconds: s.seconds,
        project: s.project.clone(),
        branch: Some(s.branch.clone()).filter(|b| b != crate::report::NONE_NAME),
    }
}

fn commit(c: &CommitRow) -> tui::CommitRow {
    tui::CommitRow {
        sha: c.sha.chars().take(8).collect(),
        summary: c.summary.clone().unwrap_or_default(),
        branch: c.branch.clone(),
        time_unix: c.time_unix,
        seconds: c.seconds,
    }
}

/// What is going on now: the latest heartbeat, the command a shell is running, and since when
/// the current session runs.
fn current(status: &StatusInfo, sessions: &[Session]) -> Option<tui::Current> {
    let c = status.current.as_ref()?;
    let running = status.shells.iter().find_map(|s| s.running.clone());
    // The current run started with the latest session, if the latest heartbeat belongs to it
    // (a heartbeat after a long gap starts a run of its own, not yet a session).
    let timeout = status.timeout_minutes * 60.0;
    let since = sessions
        .last()
        .map(|s| (instant(&s.start).0, instant(&s.end).0))
        .filter(|(_, end)| c.time - end < timeout)
        .map_or(c.time, |(start, _)| start.min(c.time));
    Some(tui::Current {
        project: c.project.clone(),
        branch: c.branch.clone(),
        language: c.language.clone(),
        entity: c.entity.clone(),
        running,
        since_unix: since,
        last_unix: c.time,
        active: c.active,
    })
}

/// A file path as seen from its project: `/home/me/code/api/src/main.rs` → `src/main.rs`.
fn short_path(path: &str, project: &str) -> String {
    let marker = format!("/{project}/");
    match path.rfind(&marker) {
        Some(i) => path[i + marker.len()..].to_string(),
        None => path.to_string(),
    }
}

/// The day's lanes for the dashboard; none on a day without agent time (nothing to compare).
fn lanes(l: &crate::report::ai::Lanes) -> Option<Box<tui::Lanes>> {
    (l.agent.seconds > 0.0).then(|| {
        Box::new(tui::Lanes {
            human_seconds: l.human.seconds,
            agent_seconds: l.agent.seconds,
            overlap_seconds: l.overlap_seconds,
            agents: l
                .agents
                .iter()
                .map(|a| tui::Bar::new(a.name.clone(), a.seconds))
                .collect(),
        })
    })
}

fn focus(f: &crate::protocol::FocusEntry) -> Box<tui::Focus> {
    Box::new(tui::Focus {
        due_unix: f.session.due_ms() as f64 / 1000.0,
        planned_seconds: f.session.planned_ms as f64 / 1000.0,
        active_seconds: f.active_seconds,
        project: f.session.project.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_offsets() {
        assert_eq!(instant("2026-11-25T00:00:00+01:00"), (1795561200.0, 3600));
        assert_eq!(instant("2026-11-25T00:00:00-05:30"), (1795584600.0, -19800));
        assert_eq!(instant("2026-11-25T00:00:00Z").1, 0);
        assert_eq!(instant("2026-11-25T00:00:00.250+02:00").1, 7200);
        assert_eq!(instant("garbage"), (0.0, 0));
    }

    #[test]
    fn paths_are_shown_from_their_project() {
        assert_eq!(
            short_path("/home/me/code/api/src/main.rs", "api"),
            "src/main.rs"
        );
        assert_eq!(short_path("/elsewhere/x.rs", "api"), "/elsewhere/x.rs");
    }
}
