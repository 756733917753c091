//! The local socket protocol: one JSON object per line, each carrying the protocol version `v`
//! and a `type`. Every request and response type is defined here.

use crate::model::{Heartbeat, Interval, MAX_MESSAGE_BYTES};
use crate::report::{Dim, Filters, RangeSpec, Report, Session};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Bumped on any incompatible change; a daemon refuses other versions with a clear error.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest accepted line, newline excluded.
pub const MAX_LINE_BYTES: usize = MAX_MESSAGE_BYTES;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Handshake: the daemon answers with its version and protocol.
    Hello {
        #[serde(default)]
        client: Option<String>,
    },
    Status,
    /// Heartbeats to store. Items stay raw JSON so that each is accepted or rejected on its own.
    /// (Parsed by [`parse_request`], which does not go through this derive.)
    Heartbeats {
        heartbeats: Vec<Box<RawValue>>,
        /// The source of items that do not name one (`manual` when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<crate::model::Source>,
    },
    AddInterval {
        interval: Interval,
    },
    /// Manual intervals in a range (answered with `intervals`).
    Intervals {
        #[serde(default)]
        range: RangeSpec,
    },
    /// Changes a manual interval (answered with `interval_edited`).
    EditInterval {
        id: i64,
        change: IntervalChange,
    },
    /// Deletes the heartbeats of a project and/or whose entity matches a pattern, in a range,
    /// or with `apply` false only counts them (answered with `forgotten`).
    Forget {
        #[serde(default)]
        project: Option<String>,
        #[serde(default)]
        entity: Option<String>,
        #[serde(default)]
        range: RangeSpec,
        #[serde(default)]
        apply: bool,
    },
    Report {
        #[serde(default)]
        range: RangeSpec,
        #[serde(default)]
        by: Vec<Dim>,
        #[serde(default)]
        filters: Filters,
        #[serde(default)]
        timeout_minutes: Option<u32>,
    },
    Sessions {
        #[serde(default)]
        range: RangeSpec,
    },
    /// Credited time as stretches of one project (the dashboard's timeline).
    Timeline {
        #[serde(default)]
        range: RangeSpec,
    },
    /// Streams `log_chunk` responses, then `end`.
    Log {
        #[serde(default)]
        range: RangeSpec,
        /// Include manual intervals (the export format carries heartbeats only).
        #[serde(default = "yes")]
        intervals: bool,
    },
    /// A shell hook's "command started" / "command finished" (answered with `ok`).
    Shell(crate::shell::ShellEvent),
    /// A git hook's event (answered with `ok`).
    Git(crate::git::GitEvent),
    /// Time per project and branch, with first/last activity and commits made.
    Branches {
        #[serde(default)]
        range: RangeSpec,
        #[serde(default)]
        project: Option<String>,
    },
    /// Commits with the time spent on their branch since the previous commit.
    Commits {
        #[serde(default)]
        range: RangeSpec,
        #[serde(default)]
        project: Option<String>,
        #[serde(default)]
        branch: Option<String>,
    },
    /// Add, remove or list watched roots (answered with `watch_roots`).
    Watch(WatchAction),
    /// Keeps the connection open and pushes `event` responses.
    Subscribe,
    Shutdown,
    /// Sync with every target now; answered with `sync` when done.
    SyncNow,
    /// Each sync target's state (answered with `sync`).
    SyncStatus,
    /// The settings the daemon runs with (answered with `config`); `reload` re-reads the config
    /// file first, as SIGHUP does.
    Config {
        #[serde(default)]
        reload: bool,
    },
    /// A one-time sign-in link to the web dashboard (answered with `web_login`).
    WebLogin,
    /// A coding agent's hook event (answered with `ok`); hooks spool it.
    Agent(crate::agent::AgentEvent),
    /// Human and agent time side by side (answered with `lanes`).
    Lanes {
        #[serde(default)]
        range: RangeSpec,
        #[serde(default)]
        filters: Filters,
        #[serde(default)]
        timeout_minutes: Option<u32>,
    },
    /// Start, stop or look at the focus timer (answered with `focus` or `focus_log`).
    Focus(FocusAction),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FocusAction {
    Start(crate::focus::FocusPlan),
    /// Stop the running timer early.
    Stop,
    Status,
    /// Focus sessions of a range, each with its real activity.
    Log {
        #[serde(default)]
        range: RangeSpec,
    },
}

fn yes() -> bool {
    true
}

/// A request with its version, as written on the wire.
#[derive(Debug, Serialize)]
pub struct Envelope<'a, T> {
    pub v: u32,
    #[serde(flatten)]
    pub body: &'a T,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line is not JSON, or not a known request.
    BadRequest,
    /// The client speaks another protocol version.
    Version,
    /// The line is longer than [`MAX_LINE_BYTES`]; the connection is closed after this.
    TooLarge,
    /// The request was understood but its content is invalid (range, interval …).
    Invalid,
    /// Storage failed; nothing was stored.
    Storage,
    /// The daemon is shutting down.
    ShuttingDown,
    /// The peer is another user.
    Permission,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Hello {
        version: String,
        protocol: u32,
        pid: u32,
        /// The daemon's time zone ([`crate::calendar::Calendar::tz_name`]): clients read
        /// wall-clock times in it.
        #[serde(default)]
        timezone: String,
    },
    Status(Box<StatusInfo>),
    /// The outcome of a `heartbeats` request, sent after the batch is committed.
    Stored {
        accepted: usize,
        duplicates: usize,
        rejected: usize,
        /// One entry per rejected item, by index in the request.
        errors: Vec<ItemError>,
    },
    IntervalAdded {
        id: i64,
        /// An identical interval was already there (nothing was added).
        #[serde(default)]
        existed: bool,
    },
    Intervals {
        intervals: Vec<LoggedInterval>,
    },
    IntervalEdited(Box<IntervalEdited>),
    Forgotten(crate::store::Forgotten),
    Report(Box<Report>),
    Sessions {
        sessions: Vec<Session>,
    },
    Timeline {
        segments: Vec<crate::report::Segment>,
    },
    Branches {
        branches: Vec<crate::report::git::BranchRow>,
    },
    Commits {
        commits: Vec<crate::report::git::CommitRow>,
    },
    WatchRoots {
        roots: Vec<WatchRoot>,
    },
    Sync {
        targets: Vec<SyncTarget>,
    },
    Config(Box<ConfigState>),
    /// The dashboard's address with a one-time sign-in token (`tf web`).
    WebLogin {
        url: String,
    },
    Lanes(Box<crate::report::ai::Lanes>),
    Focus(Box<FocusReply>),
    FocusLog {
        sessions: Vec<FocusEntry>,
    },
    LogChunk {
        #[serde(default)]
        heartbeats: Vec<Heartbeat>,
        #[serde(default)]
        intervals: Vec<LoggedInterval>,
    },
    End,
    Event(Event),
    Ok,
    Error {
        code: ErrorCode,
        message: String,
    },
}

impl Response {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Response {
        Response::Error {
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    pub index: usize,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedInterval {
    pub id: i64,
    #[serde(flatten)]
    pub interval: Interval,
}

/// An interval as it was, and as it is now (None: removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalEdited {
    pub id: i64,
    pub old: Interval,
    #[serde(default)]
    pub new: Option<Interval>,
}

/// What `tf intervals rm|edit` does to an interval: remove it, or replace the fields given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum IntervalChange {
    Remove,
    Edit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        /// Unix seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<crate::model::Category>,
        /// An empty note removes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl IntervalChange {
    /// `old` with the change applied (None: removed).
    pub fn apply(&self, old: &Interval) -> Option<Interval> {
        let IntervalChange::Edit {
            project,
            start,
            end,
            branch,
            category,
            note,
        } = self
        else {
            return None;
        };
        let mut iv = old.clone();
        if let Some(p) = project {
            iv.project = p.clone();
        }
        if let Some(t) = start {
            iv.start = *t;
        }
        if let Some(t) = end {
            iv.end = *t;
        }
        if let Some(b) = branch {
            iv.branch = (!b.is_empty()).then(|| b.clone());
        }
        if let Some(c) = category {
            iv.category = *c;
        }
        if let Some(n) = note {
            iv.note = (!n.is_empty()).then(|| n.clone());
        }
        Some(iv)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum WatchAction {
    /// Start watching a directory (kept across restarts).
    Add {
        path: String,
    },
    /// Stop watching a root added with `add` (roots from the config file stay).
    Remove {
        path: String,
    },
    List,
}

/// A watched root and how it is watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchRoot {
    pub path: String,
    /// `config` (listed in `[watch] roots`) or `added` (`tf watch add`).
    pub origin: String,
    /// Directories watched with inotify.
    pub watched_dirs: usize,
    /// Directories polled because the kernel's watch limit was reached.
    pub polled_dirs: usize,
    /// Git repositories found under the root.
    pub repositories: usize,
    /// Why the root is not (fully) watched, if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Pushed to subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// New heartbeats were committed.
    Heartbeats {
        count: usize,
        latest_time: f64,
    },
    IntervalAdded {
        id: i64,
    },
    /// Intervals were edited or removed, or heartbeats forgotten: totals may have gone down.
    Corrected,
    /// A branch switch or commits were recorded.
    Git {
        project: String,
        branch: Option<String>,
        kind: crate::git::GitEventKind,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusInfo {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    pub uptime_seconds: f64,
    pub socket: String,
    pub database: String,
    pub timezone: String,
    pub timeout_minutes: f64,
    /// The WakaTime-compatible HTTP API's address, when it is enabled.
    #[serde(default)]
    pub http: Option<String>,
    /// Why the HTTP API is enabled but not listening (e.g. the port is taken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_error: Option<String>,
    pub heartbeats: i64,
    pub today_seconds: f64,
    /// The latest heartbeat, if there is one.
    pub current: Option<Current>,
    /// Shells whose hooks reported in the last hour.
    #[serde(default)]
    pub shells: Vec<ShellSeen>,
    /// Events queued by hooks while the daemon was down.
    #[serde(default)]
    pub spool: SpoolInfo,
    /// Watched roots (file-system tracking).
    #[serde(default)]
    pub watch: Vec<WatchRoot>,
    /// Set when the kernel's inotify watch limit was reached: what happened and the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_limit: Option<String>,
    /// This install's id for sync, and its host name.
    #[serde(default)]
    pub machine_id: Option<String>,
    #[serde(default)]
    pub machine: Option<String>,
    /// Sync targets, when any is configured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync: Vec<SyncTarget>,
    /// The running focus timer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<FocusEntry>,
    /// Agent sessions whose hooks reported in the last hour.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<AgentSeen>,
    /// The settings in force, where they came from, and what of the file is not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigState>,
    /// How long the daemon was not running before this start, when that was a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_before_start: Option<Downtime>,
    /// Who started the daemon when not `tf`: `systemd` (socket activation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

/// The running focus timer (none when none runs), and the session a `stop` ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FocusReply {
    #[serde(default)]
    pub running: Option<FocusEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<FocusEntry>,
}

/// A focus session with what happened in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FocusEntry {
    #[serde(flatten)]
    pub session: crate::focus::FocusSession,
    /// Seconds of the human's own activity in it (the human lane: agents working meanwhile do
    /// not count), up to its end or now.
    pub active_seconds: f64,
    /// Seconds from its start to its end (or now, while it runs).
    pub elapsed_seconds: f64,
    /// For a running timer: seconds until it rings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_seconds: Option<f64>,
    /// Active time per project, most first.
    #[serde(default)]
    pub projects: Vec<crate::report::Row>,
}

/// An agent session seen by its hooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSeen {
    pub agent: String,
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    /// Unix seconds of the last event.
    pub last_seen: f64,
    /// Unix seconds since when it has been working (a prompt or a tool without a stop since).
    #[serde(default)]
    pub working_since: Option<f64>,
}

/// The daemon's settings: what `tf` compares its own with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigState {
    /// The config file read (it may not exist: then defaults).
    pub file: String,
    /// Unix seconds when the settings in force were loaded.
    pub loaded_at: f64,
    /// A hash of the settings in force (see `Config::fingerprint`).
    pub fingerprint: String,
    /// A hash of the file's text as last read (`None`: there was no file).
    #[serde(default)]
    pub file_fingerprint: Option<String>,
    /// Why the file as last read is not in force (the previous settings are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Keys the file changes that apply only after a restart (socket, database, HTTP …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_needed: Vec<String>,
    /// The settings in force, as JSON (API keys hidden).
    #[serde(default)]
    pub settings: serde_json::Value,
}

/// A stretch of time the daemon was not running (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Downtime {
    /// Its last sign of life before (within a minute of when it stopped).
    pub from: f64,
    /// When it started again.
    pub to: f64,
}

/// One sync target as `tf sync status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncTarget {
    /// `sync` or `forward N`.
    pub name: String,
    /// `timeforged` or `wakatime`.
    pub kind: String,
    pub url: String,
    /// Unix seconds of the last round without a failure.
    #[serde(default)]
    pub last_success: Option<f64>,
    /// What went wrong last, while it is still wrong.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Unix seconds of the next try after a failure.
    #[serde(default)]
    pub next_retry: Option<f64>,
    /// Records made here waiting to be sent.
    pub pending: i64,
    /// Still sending what was recorded before this target was added.
    #[serde(default)]
    pub backfilling: bool,
    /// Records sent, received, and refused by the target, since the daemon started.
    pub pushed: u64,
    pub pulled: u64,
    pub rejected: u64,
    /// The server's clock minus ours, when more than 5 minutes apart.
    #[serde(default)]
    pub clock_skew_seconds: Option<i64>,
    /// What the round asked for by `tf sync now` moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<Moved>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub pushed: u64,
    pub pulled: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShellSeen {
    pub shell: String,
    pub pid: u32,
    pub tty: Option<String>,
    /// Unix seconds of the last event.
    pub last_seen: f64,
    /// The command running now (the program), if a start was seen without its end.
    pub running: Option<String>,
    /// Unix seconds when `running` started.
    pub running_since: Option<f64>,
    /// Unix seconds of the last finished command.
    #[serde(default)]
    pub last_end: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpoolInfo {
    /// Bytes waiting in the spool file (the daemon drains it when it starts).
    pub pending_bytes: u64,
    /// Events dropped because the spool outgrew `shell.spool_max_bytes`.
    pub dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Current {
    pub project: Option<String>,
    pub branch: Option<String>,
    pub language: Option<String>,
    pub entity: String,
    pub time: f64,
    /// True when the latest heartbeat is younger than the timeout.
    pub active: bool,
}

/// Why a line could not be turned into a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("not a JSON object with \"v\" and \"type\": {0}")]
    Malformed(String),
    #[error(
        "protocol version {got} is not supported: this daemon speaks version {PROTOCOL_VERSION}; restart it after upgrading (tf daemon stop)"
    )]
    Version { got: u32 },
    #[error("unknown request type {0:?}")]
    UnknownType(String),
    #[error("invalid {kind} request: {message}")]
    Invalid { kind: String, message: String },
}

impl ProtocolError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::Version { .. } => ErrorCode::Version,
            _ => ErrorCode::BadRequest,
        }
    }
}

const REQUEST_TYPES: [&str; 25] = [
    "hello",
    "status",
    "heartbeats",
    "add_interval",
    "intervals",
    "edit_interval",
    "forget",
    "report",
    "sessions",
    "timeline",
    "log",
    "shell",
    "git",
    "branches",
    "commits",
    "watch",
    "subscribe",
    "shutdown",
    "sync_now",
    "sync_status",
    "config",
    "web_login",
    "agent",
    "lanes",
    "focus",
];

/// A parsed line; heartbeat items borrow from the line, so a large batch is read only once.
#[derive(Debug)]
pub enum Parsed<'a> {
    Heartbeats {
        items: Vec<&'a RawValue>,
        source: Option<crate::model::Source>,
    },
    Other(Request),
}

/// Parses one request line. The common large case, a `heartbeats` batch, is read in a single
/// pass without copying its items; anything else (and any error) goes through
/// [`parse_request`], which gives the precise message.
pub fn parse_line(line: &str) -> Result<Parsed<'_>, ProtocolError> {
    #[derive(Deserialize)]
    struct Batch<'a> {
        v: Option<u32>,
        #[serde(rename = "type", borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        heartbeats: Option<Vec<&'a RawValue>>,
        #[serde(default)]
        source: Option<crate::model::Source>,
    }
    if let Ok(Batch {
        v: Some(PROTOCOL_VERSION),
        kind: Some(kind),
        heartbeats: Some(items),
        source,
    }) = serde_json::from_str::<Batch>(line)
        && kind == "heartbeats"
    {
        return Ok(Parsed::Heartbeats { items, source });
    }
    parse_request(line).map(Parsed::Other)
}

/// Parses one request line: the version is checked first, heartbeat items are kept raw.
pub fn parse_request(line: &str) -> Result<Request, ProtocolError> {
    #[derive(Deserialize)]
    struct Head {
        v: Option<u32>,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    #[derive(Deserialize)]
    struct HeartbeatsBody {
        heartbeats: Vec<Box<RawValue>>,
        #[serde(default)]
        source: Option<crate::model::Source>,
    }
    let head: Head =
        serde_json::from_str(line).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let v = head.v.ok_or_else(|| {
        ProtocolError::Malformed("missing field \"v\" (the protocol version)".into())
    })?;
    if v != PROTOCOL_VERSION {
        return Err(ProtocolError::Version { got: v });
    }
    let kind = head
        .kind
        .ok_or_else(|| ProtocolError::Malformed("missing field \"type\"".into()))?;
    if !REQUEST_TYPES.contains(&kind.as_str()) {
        return Err(ProtocolError::UnknownType(kind));
    }
    let invalid = |e: serde_json::Error| ProtocolError::Invalid {
        kind: kind.clone(),
        message: e.to_string(),
    };
    if kind == "heartbeats" {
        let body: HeartbeatsBody = serde_json::from_str(line).map_err(invalid)?;
        return Ok(Request::Heartbeats {
            heartbeats: body.heartbeats,
            source: body.source,
        });
    }
    if kind == "git" {
        // Parsed on its own (not through the tagged enum) so the error names the field.
        let mut de = serde_json::Deserializer::from_str(line);
        return serde_path_to_error::deserialize(&mut de)
            .map(Request::Git)
            .map_err(|e| ProtocolError::Invalid {
                kind: kind.clone(),
                message: match e.path().to_string().as_str() {
                    "." => e.inner().to_string(),
                    path => format!("{path}: {}", e.inner()),
                },
            });
    }
    serde_json::from_str(line).map_err(invalid)
}

/// Serializes a message as one line (with the trailing newline).
pub fn to_line<T: Serialize>(body: &T) -> String {
    let mut s = serde_json::to_string(&Envelope {
        v: PROTOCOL_VERSION,
        body,
    })
    .unwrap_or_else(|e| {
        format!(r#"{{"v":{PROTOCOL_VERSION},"type":"error","code":"invalid","message":"{e}"}}"#)
    });
    s.push('\n');
    s
}

/// Parses a response line from the daemon.
pub fn parse_response(line: &str) -> Result<Response, ProtocolError> {
    #[derive(Deserialize)]
    struct Head {
        v: Option<u32>,
    }
    let head: Head =
        serde_json::from_str(line).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    if head.v != Some(PROTOCOL_VERSION) {
        return Err(ProtocolError::Version {
            got: head.v.unwrap_or(0),
        });
    }
    serde_json::from_str(line).map_err(|e| ProtocolError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let reqs = [
            Request::Hello {
                client: Some("tf".into()),
            },
            Request::Status,
            Request::Report {
                range: RangeSpec::named("week"),
                by: vec![Dim::Project],
                filters: Filters::default(),
                timeout_minutes: Some(5),
            },
            Request::Shutdown,
        ];
        for r in reqs {
            let line = to_line(&r);
            assert!(line.starts_with(r#"{"v":1,"type":"#), "{line}");
            let back = parse_request(line.trim_end()).unwrap();
            assert_eq!(format!("{back:?}"), format!("{r:?}"));
        }
    }

    #[test]
    fn heartbeat_items_stay_raw() {
        let line = r#"{"v":1,"type":"heartbeats","heartbeats":[{"time":1,"entity":"a"},{"bogus":true},7]}"#;
        let Request::Heartbeats { heartbeats, .. } = parse_request(line).unwrap() else {
            panic!()
        };
        assert_eq!(heartbeats.len(), 3);
        assert_eq!(heartbeats[1].get(), r#"{"bogus":true}"#);
    }

    #[test]
    fn bad_lines_get_specific_errors() {
        let cases = [
            ("{not json", "not a JSON object"),
            (r#"{"type":"status"}"#, "missing field \"v\""),
            (
                r#"{"v":2,"type":"status"}"#,
                "protocol version 2 is not supported",
            ),
            (
                r#"{"v":1,"type":"explode"}"#,
                "unknown request type \"explode\"",
            ),
            (r#"{"v":1}"#, "missing field \"type\""),
            (
                r#"{"v":1,"type":"add_interval"}"#,
                "invalid add_interval request",
            ),
            (
                r#"{"v":1,"type":"heartbeats","heartbeats":5}"#,
                "invalid heartbeats request",
            ),
        ];
        for (line, want) in cases {
            let err = parse_request(line).unwrap_err().to_string();
            assert!(err.contains(want), "{line}: {err}");
        }
    }

    #[test]
    fn responses_round_trip() {
        let r = Response::Stored {
            accepted: 1,
            duplicates: 0,
            rejected: 1,
            errors: vec![ItemError {
                index: 1,
                error: "time: bad".into(),
            }],
        };
        assert_eq!(parse_response(to_line(&r).trim_end()).unwrap(), r);
        let e = Response::error(ErrorCode::Version, "x");
        assert_eq!(parse_response(to_line(&e).trim_end()).unwrap(), e);
    }
}
