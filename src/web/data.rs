//! What each page shows, read from one snapshot with the report functions `tf report`, `tf
//! sessions`, `tf branches` and `tf commits` use — so the numbers on a page are theirs.

use super::params::{OVERVIEW_DIMS, View};
use crate::daemon::account::Account;
use crate::report::ai::{LaneSpans, Lanes};
use crate::report::git::{BranchRow, CommitRow};
use crate::report::{self, Dim, Filters, Query, Reading, Report, Segment, Session};
use crate::store::{Result, Snapshot};
use jiff::civil::Date;
use serde::Serialize;

fn query<'a>(account: &Account, view: &View, by: &'a [Dim], filters: &'a Filters) -> Query<'a> {
    Query {
        start_ms: view.start,
        end_ms: view.end,
        by,
        filters,
        rules: view.rules,
        rollups_usable: view.rules == account.rules(),
        user_id: account.id(),
    }
}

fn reading<'a>(snap: &'a dyn Snapshot, account: &'a Account, view: &View) -> Reading<'a> {
    Reading {
        snap,
        cal: account.calendar(),
        rules: view.rules,
        user: account.id(),
    }
}

/// `range=all` starts at the first heartbeat's day, not in 1970.
pub fn clamp_all(snap: &dyn Snapshot, account: &Account, view: &mut View) -> Result<()> {
    if view.spec.name.as_deref() == Some("all") {
        let cal = account.calendar();
        let first = snap.first_time(account.id())?.unwrap_or(view.end - 1);
        view.start = view.start.max(cal.start_of(cal.date_of(first)));
    }
    Ok(())
}

pub struct Overview {
    /// Exactly `tf report --json` with the same range, `--by` and filters.
    pub report: Report,
    /// Per local day, by project (the stacked bars).
    pub days: Vec<Report>,
    /// The timeline, when the range is one day.
    pub segments: Option<Vec<Segment>>,
    /// Human and agent time side by side: `tf report --ai --json`'s `ai` with the same range
    /// and filters; the stretches of each lane when the range is one day.
    pub lanes: Lanes,
    pub lane_spans: Option<LaneSpans>,
}

/// `tf report --ai`'s lanes for the view's range and filters, and their stretches.
fn lanes(snap: &dyn Snapshot, account: &Account, view: &View) -> Result<(Lanes, LaneSpans)> {
    crate::report::ai::lanes_with_spans(
        snap,
        account.calendar(),
        view.rules,
        account.id(),
        view.start,
        view.end,
        &view.filters,
    )
}

pub fn overview(snap: &dyn Snapshot, account: &Account, view: &View) -> Result<Overview> {
    let cal = account.calendar();
    let by: Vec<Dim> = if view.by.is_empty() {
        OVERVIEW_DIMS.to_vec()
    } else {
        view.by.clone()
    };
    let report = report::report(snap, cal, &query(account, view, &by, &view.filters))?;
    let days = report::per_day(
        snap,
        cal,
        &query(account, view, &[Dim::Project], &view.filters),
    )?;
    let one_day = view.days(account) == 1;
    let segments = if one_day {
        Some(filter_segments(
            report::segments(&reading(snap, account, view), view.start, view.end)?,
            &view.filters,
        ))
    } else {
        None
    };
    // The lanes need every heartbeat of the range (each lane is its own timeline); the rollups
    // say at once whether any agent worked in it, and most ranges of most users have none.
    let by_actor = report::report(
        snap,
        cal,
        &query(account, view, &[Dim::Actor], &view.filters),
    )?;
    let agents = by_actor
        .by
        .iter()
        .flat_map(|(_, rows)| rows)
        .any(|r| r.name != crate::agent::HUMAN && r.seconds > 0.0);
    let (lanes, spans) = match agents {
        true => lanes(snap, account, view)?,
        false => Default::default(),
    };
    Ok(Overview {
        report,
        days,
        segments,
        lanes,
        lane_spans: one_day.then_some(spans),
    })
}

/// One dimension, every row: `tf report --by DIM --json`.
pub fn dimension(snap: &dyn Snapshot, account: &Account, view: &View, dim: Dim) -> Result<Report> {
    report::report(
        snap,
        account.calendar(),
        &query(account, view, &[dim], &view.filters),
    )
}

/// Segments only know their project: the project filter is all that applies to them.
fn filter_segments(segments: Vec<Segment>, filters: &Filters) -> Vec<Segment> {
    if filters.project.is_empty() {
        return segments;
    }
    segments
        .into_iter()
        .filter(|s| filters.project.contains(&s.project))
        .collect()
}

/// Sessions are named after their main project and branch; filters apply to those.
fn filter_sessions(sessions: Vec<Session>, filters: &Filters) -> Vec<Session> {
    sessions
        .into_iter()
        .filter(|s| {
            (filters.project.is_empty() || filters.project.contains(&s.project))
                && (filters.branch.is_empty() || filters.branch.contains(&s.branch))
        })
        .collect()
}

#[derive(Serialize)]
pub struct Day {
    pub date: String,
    /// `tf report --from DATE --to DATE --by project --by language --json`.
    pub report: Report,
    pub segments: Vec<Segment>,
    pub sessions: Vec<Session>,
    /// `tf report --from DATE --to DATE --ai --json`'s `ai`.
    pub ai: Lanes,
    #[serde(skip)]
    pub lane_spans: LaneSpans,
}

pub fn day(snap: &dyn Snapshot, account: &Account, view: &View, date: Date) -> Result<Day> {
    let (start, end) = account.calendar().bounds(date);
    let view = View {
        start,
        end,
        ..view.clone()
    };
    let by = [Dim::Project, Dim::Language, Dim::Branch];
    let report = report::report(
        snap,
        account.calendar(),
        &query(account, &view, &by, &view.filters),
    )?;
    let r = reading(snap, account, &view);
    let (ai, lane_spans) = lanes(snap, account, &view)?;
    Ok(Day {
        date: date.to_string(),
        ai,
        lane_spans,
        report,
        segments: filter_segments(report::segments(&r, start, end)?, &view.filters),
        sessions: without_ms(filter_sessions(
            report::sessions(&r, start, end)?,
            &view.filters,
        )),
    })
}

/// Sessions as `tf sessions --json` prints them.
fn without_ms(sessions: Vec<Session>) -> Vec<Session> {
    sessions
        .into_iter()
        .map(|s| Session {
            start_ms: None,
            ..s
        })
        .collect()
}

#[derive(Serialize)]
pub struct Year {
    pub year: i16,
    pub total_seconds: f64,
    pub days: Vec<DayTotal>,
}

#[derive(Serialize)]
pub struct DayTotal {
    pub date: String,
    pub seconds: f64,
}

pub fn year(snap: &dyn Snapshot, account: &Account, view: &View, year: i16) -> Result<Year> {
    let cal = account.calendar();
    let first = Date::new(year, 1, 1).unwrap_or_default();
    let next = Date::new(year + 1, 1, 1).unwrap_or_default();
    let view = View {
        start: cal.start_of(first),
        end: cal.start_of(next),
        ..view.clone()
    };
    let days = report::per_day(snap, cal, &query(account, &view, &[], &view.filters))?;
    let total = report::report(snap, cal, &query(account, &view, &[], &view.filters))?;
    Ok(Year {
        year,
        total_seconds: total.total_seconds,
        days: days
            .into_iter()
            .map(|d| DayTotal {
                date: d.start.get(..10).unwrap_or_default().to_string(),
                seconds: d.total_seconds,
            })
            .collect(),
    })
}

/// `tf sessions --json` for the view's range (filtered by main project and branch).
pub fn sessions(snap: &dyn Snapshot, account: &Account, view: &View) -> Result<Vec<Session>> {
    let r = reading(snap, account, view);
    Ok(without_ms(filter_sessions(
        report::sessions(&r, view.start, view.end)?,
        &view.filters,
    )))
}

#[derive(Serialize)]
pub struct Project {
    pub project: String,
    /// `tf report --project P --by branch --by language --by category --by entity --json`.
    pub report: Report,
    #[serde(skip)]
    pub days: Vec<Report>,
    /// `tf branches --project P --json`.
    pub branches: Vec<BranchRow>,
    /// `tf commits --project P --json`.
    pub commits: Vec<CommitRow>,
}

pub fn project(snap: &dyn Snapshot, account: &Account, view: &View, name: &str) -> Result<Project> {
    let cal = account.calendar();
    let filters = Filters {
        project: vec![name.to_string()],
        ..view.filters.clone()
    };
    let by = [Dim::Branch, Dim::Language, Dim::Category, Dim::Entity];
    let report = report::report(snap, cal, &query(account, view, &by, &filters))?;
    let days = report::per_day(snap, cal, &query(account, view, &[Dim::Branch], &filters))?;
    // As `tf branches` and `tf commits` ask: the project alone, the account's own rules.
    let git_filters = Filters::project(name);
    let git_view = View {
        rules: account.rules(),
        ..view.clone()
    };
    let q = query(account, &git_view, &[], &git_filters);
    Ok(Project {
        project: name.to_string(),
        report,
        days,
        branches: report::git::branches(snap, cal, &q)?,
        commits: report::git::commits(snap, cal, &q, None)?,
    })
}

/// The projects a user has time on (any time), for the badge settings.
pub fn all_projects(snap: &dyn Snapshot, account: &Account) -> Result<Vec<String>> {
    Ok(snap
        .projects(account.id())?
        .into_iter()
        .map(|(name, _, _)| name)
        .collect())
}
