//! The dashboard's view model: what it asks its [`Source`] for ([`Load`]) and the plain data it gets
//! back ([`Data`]). The root package converts its reports into these; nothing here does I/O.
//!
//! # How a source fills a [`Load`]
//!
//! * Times are unix seconds (`f64`). The dashboard has no time-zone database, so every payload that
//!   carries instants also carries `utc_offset_seconds`: the local offset from UTC (east positive, e.g.
//!   `3600` for CET) that the source used to cut its days. The dashboard adds it to an instant before
//!   showing a clock time or a date, so it shows exactly the wall clock the source computed with.
//! * `offset` counts whole periods back from now, never forward: `0` is the current period, `-1` the
//!   previous one, and so on. The period depends on the view:
//!   * [`View::Today`]: the local calendar day `offset` days from today.
//!   * [`View::Week`]: the week `offset` weeks from this one; the source picks its first day (the
//!     root uses `report.week_start`) and lists its seven days in order.
//!   * [`View::Month`]: the calendar month `offset` months from this one.
//!   * [`View::Project`]: a rolling 30-day window ending now, shifted by `offset × 30` days
//!     (`0` = the last 30 days, `-1` = the 30 days before those).
//! * `group` says which dimension `bars` is grouped by; `filter` is a case-insensitive substring that
//!   the source applies to the names of that dimension (in the Project view: to project names).
//! * Labels (`label` fields, `DayTotal::label`) are preformatted by the source, so the source owns the
//!   locale and the calendar.

/// What the dashboard asks its source for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    pub view: View,
    /// Periods back from now: `0` = current day/week/month/30 days, `-1` = previous… Never positive.
    pub offset: i32,
    /// The dimension `bars` is grouped by.
    pub group: Group,
    /// Substring typed with `/`, matched case-insensitively by the source against the names of the
    /// grouped dimension (the project names in the Project view).
    pub filter: Option<String>,
    /// The project drilled into in the Project view; `None` lets the source pick the period's top
    /// project.
    pub project: Option<String>,
}

/// The dashboard's views, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum View {
    #[default]
    Today,
    Week,
    Month,
    /// One project's branches, files and commits over a rolling 30-day window.
    Project,
}

impl View {
    pub const ALL: [View; 4] = [View::Today, View::Week, View::Month, View::Project];

    pub fn title(self) -> &'static str {
        match self {
            View::Today => "Today",
            View::Week => "Week",
            View::Month => "Month",
            View::Project => "Project",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            View::Today => 0,
            View::Week => 1,
            View::Month => 2,
            View::Project => 3,
        }
    }
}

/// The dimension that bar charts are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Group {
    #[default]
    Project,
    Language,
    Branch,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Project => "project",
            Group::Language => "language",
            Group::Branch => "branch",
        }
    }
}

/// Where the dashboard's data comes from (the daemon, in the root package).
pub trait Source {
    /// Loads one view. `Err` carries a short, human message (e.g. "connection refused"); the
    /// dashboard keeps showing its last good data with that message in a status line.
    fn load(&mut self, load: &Load) -> Result<Data, String>;
}

/// One loaded view; the variant matches [`Load::view`] (`Period` for Week and Month).
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Today(TodayData),
    Period(PeriodData),
    Project(ProjectData),
}

impl Data {
    /// Whether this payload can be shown by `view`.
    pub fn fits(&self, view: View) -> bool {
        matches!(
            (self, view),
            (Data::Today(_), View::Today)
                | (Data::Period(_), View::Week | View::Month)
                | (Data::Project(_), View::Project)
        )
    }
}

/// One day (`View::Today` at any offset).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TodayData {
    /// E.g. "Wed 25 Nov 2026".
    pub label: String,
    pub total_seconds: f64,
    /// What is going on now; `None` when nothing was seen recently or the day is not today.
    pub current: Option<Current>,
    /// By the requested group, sorted by seconds, descending.
    pub bars: Vec<Bar>,
    /// The day's activity, one segment per run of one project.
    pub timeline: Vec<Segment>,
    /// The day's sessions, in any order (shown latest first).
    pub sessions: Vec<SessionRow>,
    /// Local midnight that starts the day.
    pub day_start_unix: f64,
    /// Local midnight that ends it: 23 or 25 hours later on the days clocks change; when not
    /// after `day_start_unix` (e.g. left at 0), the day is taken as 24 hours.
    pub day_end_unix: f64,
    /// The source's clock when it answered; the dashboard advances it with its own 1 s ticks.
    pub now_unix: f64,
    /// Local offset from UTC in seconds (east positive) used to show clock times.
    pub utc_offset_seconds: i32,
    /// The human's and the agents' time, each on its own timeline; `None` when no agent
    /// worked that day (the line is then left out).
    pub lanes: Option<Box<Lanes>>,
    /// The running focus timer (today only).
    pub focus: Option<Box<Focus>>,
}

/// Human and agent time of a day side by side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lanes {
    pub human_seconds: f64,
    pub agent_seconds: f64,
    /// Both at once.
    pub overlap_seconds: f64,
    /// Each agent's own time, most first.
    pub agents: Vec<Bar>,
}

/// A focus timer that runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Focus {
    /// When it rings; the time left follows the dashboard's clock.
    pub due_unix: f64,
    pub planned_seconds: f64,
    /// The human's own activity in it so far.
    pub active_seconds: f64,
    pub project: Option<String>,
}

/// The activity going on now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    pub project: Option<String>,
    pub branch: Option<String>,
    pub language: Option<String>,
    /// File, command or app of the latest heartbeat.
    pub entity: String,
    /// The command running in a shell now, if any.
    pub running: Option<String>,
    /// When the current run of activity started.
    pub since_unix: f64,
    /// The latest heartbeat.
    pub last_unix: f64,
    /// False once the latest heartbeat is older than the idle timeout.
    pub active: bool,
}

/// One named total.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bar {
    pub name: String,
    pub seconds: f64,
}

impl Bar {
    pub fn new(name: impl Into<String>, seconds: f64) -> Bar {
        Bar {
            name: name.into(),
            seconds,
        }
    }
}

/// A span of the day spent on one project.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Segment {
    pub start_unix: f64,
    pub end_unix: f64,
    pub project: String,
}

/// One session (a run of heartbeats without a gap as long as the timeout).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionRow {
    pub start_unix: f64,
    pub end_unix: f64,
    pub seconds: f64,
    /// The session's main project.
    pub project: String,
    pub branch: Option<String>,
}

/// A week or a month (`View::Week`, `View::Month`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeriodData {
    /// E.g. "Week 48, 23–29 Nov 2026" or "November 2026".
    pub label: String,
    pub total_seconds: f64,
    /// Every day of the period in order, including days with nothing (the Month calendar relies on
    /// the days being consecutive).
    pub days: Vec<DayTotal>,
    pub daily_average_seconds: f64,
    /// Top projects, descending.
    pub projects: Vec<Bar>,
    /// Top languages, descending.
    pub languages: Vec<Bar>,
    /// By the requested group (filtered), descending.
    pub bars: Vec<Bar>,
}

/// One day of a period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DayTotal {
    /// E.g. "Mon 23".
    pub label: String,
    /// ISO date, e.g. "2026-11-23".
    pub date: String,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    pub seconds: f64,
}

/// One project over the Project view's period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectData {
    /// The period, e.g. "27 Oct – 25 Nov 2026".
    pub label: String,
    /// The project shown; `None` when the period has no project at all.
    pub project: Option<String>,
    /// Projects of the period to choose from (filtered), descending.
    pub projects: Vec<Bar>,
    /// The chosen project's total.
    pub total_seconds: f64,
    pub branches: Vec<Bar>,
    pub files: Vec<Bar>,
    /// Newest first.
    pub commits: Vec<CommitRow>,
    /// Local offset from UTC in seconds (east positive) used to show commit times.
    pub utc_offset_seconds: i32,
}

/// A commit of the chosen project with the time spent on it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommitRow {
    /// Short sha.
    pub sha: String,
    pub summary: String,
    pub branch: Option<String>,
    pub time_unix: f64,
    pub seconds: f64,
}
