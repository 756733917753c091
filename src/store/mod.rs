//! Storage: the boundary between the data (heartbeats, intervals, rollup rows, git records,
//! users and keys) and the pure duration engine in [`crate::report`]. Two backends implement it
//! side by side: [`sqlite`] (the local daemon, and a small server) and [`postgres`].
//!
//! Reads go through a [`Snapshot`] (one read transaction, so a report sees one state); writes
//! through a [`Store`], owned by one writer thread that batches them. Heartbeats are ordered by
//! (time, id) in every backend, so both give identical reports.

#[cfg(test)]
pub(crate) mod contract;
pub mod postgres;
pub mod sqlite;

use crate::calendar::{Calendar, DayNum};
use crate::focus::{FocusPlan, FocusSession};
use crate::git::GitEvent;
use crate::model::{Heartbeat, Interval};
use crate::timeline::{Beat, Rules, Span};
use serde::{Deserialize, Serialize};

/// A user's id in the `users` table.
pub type UserId = i64;

/// SHA-256 of an API key; keys themselves are never stored.
pub type KeyHash = crate::apikey::KeyHash;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} is not a TimeForged database or is corrupt ({reason}); move it away and start again, or restore a backup"
    )]
    Corrupt { path: String, reason: String },
    #[error(
        "{path} is a database of another program (it has a table {table:?} and no TimeForged schema); refusing to add TimeForged's tables to it: use a new, empty database"
    )]
    NotOurs { path: String, table: String },
    #[error("{path} is read-only ({reason}); make the file and its directory writable")]
    ReadOnly { path: String, reason: String },
    #[error("{path} is a directory, not a database file; set storage.database to a file path")]
    IsDirectory { path: String },
    #[error(
        "{path} has schema version {found}, newer than this TimeForged understands ({known}); upgrade TimeForged"
    )]
    TooNew {
        path: String,
        found: i64,
        known: usize,
    },
    #[error(
        "disk full: cannot write to {path}; nothing was stored — free some space (TimeForged retries by itself)"
    )]
    DiskFull { path: String },
    #[error("database {path} is unavailable: {reason}")]
    Unavailable { path: String, reason: String },
    #[error("database {path}: {reason}")]
    Backend { path: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
}

impl StoreError {
    /// The database cannot be reached now (a server answers 503 and retries later).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. } | StoreError::DiskFull { .. }
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What a heartbeat or report row is attributed to, as interned ids (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Dims {
    pub project: u32,
    pub language: u32,
    pub branch: u32,
    pub entity: u32,
    pub editor: u32,
    pub machine: u32,
    pub os: u32,
    pub category: u8,
    pub source: u8,
    /// The agent that did the work (0 = the human).
    pub actor: u32,
}

/// WakaTime's AI counts of one heartbeat that has any, with what filters and lanes need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AiCounts {
    pub time_ms: i64,
    /// Project, branch, language and actor (the rest 0).
    pub dims: Dims,
    pub ai_line_changes: i64,
    pub human_line_changes: i64,
    pub ai_input_tokens: i64,
    pub ai_output_tokens: i64,
    /// Interned id of the agent's session (0 = none).
    pub session: u32,
}

/// Outcome of storing one heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

/// Whose data a write or query is about, with the rules their rollups follow.
#[derive(Debug, Clone)]
pub struct Scope {
    pub user: UserId,
    pub calendar: Calendar,
    pub rules: Rules,
}

/// Which rollup table: credited time per day and dimension, or per day and file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    /// Every dimension but the entity.
    Daily,
    /// The entity, with project, branch and language (so filters apply).
    Entities,
}

/// A day whose rollups must be recomputed; `mark` changes each time it is marked again, so a
/// refresh that raced with a new mark leaves it dirty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirtyDay {
    pub user: UserId,
    pub day: DayNum,
    pub mark: i64,
}

/// A day's recomputed rollups: rows for [`Rollup::Daily`] (entity 0) and
/// [`Rollup::Entities`] (only entity, project, branch and language set).
#[derive(Debug, Clone, Default)]
pub struct DayRollup {
    pub daily: Vec<(Dims, i64)>,
    pub entities: Vec<(Dims, i64)>,
}

/// A user of the store: the local daemon has one, a server many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub created_ms: i64,
    pub settings: UserSettings,
}

/// Per-user settings (a server's users each have their own); `None` = the server's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<crate::config::Preset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub week_start: Option<crate::config::WeekStart>,
}

/// An API key's record (the key itself is only shown once, when it is made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: i64,
    pub user: UserId,
    pub label: Option<String>,
    pub read_only: bool,
    pub created_ms: i64,
}

/// Why [`Store::start_focus`] refused: one runs already.
pub const FOCUS_RUNNING: &str = "a focus timer is already running";

/// Label of the key kept in the local daemon's key file; replacing the file replaces it.
pub const KEY_FILE_LABEL: &str = "api_key file";

/// A commit as stored, its project and branch resolved to names.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRecord {
    pub project: String,
    pub branch: Option<String>,
    pub sha: String,
    pub time_ms: i64,
    pub summary: Option<String>,
    pub merge: bool,
}

/// What recording a git event changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GitRecorded {
    /// A branch switch was stored (the branch differs from the last one known).
    pub switched: bool,
    /// Commits added or rewritten.
    pub commits: usize,
}

/// A consistent, read-only view of the database: everything read through one snapshot comes
/// from the same committed state.
pub trait Snapshot {
    // What the duration engine reads.

    /// Heartbeats of `user` in `[start, end)` reduced to beats, ordered by (time, id).
    fn beats(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(Beat<Dims>),
    ) -> Result<()>;
    /// The time of the first heartbeat at or after `at`.
    fn next_beat_time(&self, user: UserId, at: i64) -> Result<Option<i64>>;
    /// Manual intervals overlapping `[start, end)` as spans, ordered by (start, id).
    fn interval_spans(&self, user: UserId, start: i64, end: i64) -> Result<Vec<Span<Dims>>>;
    /// Rollup rows of the days `[from, to]`.
    fn rollups(
        &self,
        user: UserId,
        table: Rollup,
        from: DayNum,
        to: DayNum,
        each: &mut dyn FnMut(DayNum, Dims, i64),
    ) -> Result<()>;
    /// Days in `[from, to]` whose rollups are stale.
    fn dirty_days(&self, user: UserId, from: DayNum, to: DayNum) -> Result<Vec<DayNum>>;
    /// The interned string with this id ("" for 0 or unknown).
    fn name(&self, id: u32) -> Result<String>;
    /// Looks up the names of `ids` at once, so that [`Snapshot::name`] finds them cached: one
    /// round trip to a database server instead of one per id. A local file needs none.
    fn prefetch_names(&self, ids: &[u32]) -> Result<()> {
        let _ = ids;
        Ok(())
    }
    /// The id of an interned string, if it was ever stored.
    fn string_id(&self, value: &str) -> Result<Option<u32>>;

    // Records.

    /// Full heartbeats in `[start, end)`, ordered by (time, id), until `each` returns false.
    fn heartbeats(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(Heartbeat) -> bool,
    ) -> Result<()>;
    /// Manual intervals overlapping `[start, end)` with their ids, oldest first.
    fn intervals(&self, user: UserId, start: i64, end: i64) -> Result<Vec<(i64, Interval)>>;
    /// The newest heartbeat at or before `at`.
    fn latest(&self, user: UserId, at: i64) -> Result<Option<Heartbeat>>;
    /// The oldest heartbeat's time.
    fn first_time(&self, user: UserId) -> Result<Option<i64>>;
    /// Each heartbeat in `[start, end)` that lists dependencies, in time order: its time, its
    /// entity and the list. Indexed on just those heartbeats, so it costs nothing without any.
    fn dependencies(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(i64, &str, Vec<String>),
    ) -> Result<()>;
    /// Every project with time (from the rollups), with its first and last local day.
    fn projects(&self, user: UserId) -> Result<Vec<(String, DayNum, DayNum)>>;
    /// First and last heartbeat time of a project within `[start, end)`.
    fn project_bounds_in(
        &self,
        user: UserId,
        project: &str,
        start: i64,
        end: i64,
    ) -> Result<(Option<i64>, Option<i64>)>;
    /// Heartbeats stored, of every user.
    fn heartbeat_count(&self) -> Result<i64>;
    /// The AI counts of heartbeats in `[start, end)` that carry any of WakaTime's AI fields
    /// (line changes, tokens, session), ordered by time.
    fn ai_counts(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(AiCounts),
    ) -> Result<()>;

    // Focus timers.

    /// The user's running focus timer, if one runs.
    fn running_focus(&self, user: UserId) -> Result<Option<FocusSession>>;
    /// Focus sessions overlapping `[start, end)` (a running one included), oldest first.
    fn focus_sessions(&self, user: UserId, start: i64, end: i64) -> Result<Vec<FocusSession>>;

    // Git.

    /// Commits made in `[start, end)` that were not rewritten since, oldest first.
    fn commits(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        project: Option<&str>,
        branch: Option<&str>,
    ) -> Result<Vec<CommitRecord>>;
    /// The mark of the latest live commit on `branch` of `project` before `before`.
    fn previous_commit_time(
        &self,
        user: UserId,
        project: &str,
        branch: Option<&str>,
        before: i64,
    ) -> Result<Option<i64>>;
    /// First and last heartbeat per (project id, branch id) in `[start, end)`.
    fn branch_activity(
        &self,
        user: UserId,
        start: i64,
        end: i64,
    ) -> Result<Vec<(u32, u32, i64, i64)>>;
    /// The branch last switched to in `project`, and when.
    fn last_branch(&self, user: UserId, project: &str) -> Result<Option<(String, i64)>>;

    // Users and keys.

    fn users(&self) -> Result<Vec<User>>;
    fn user_by_name(&self, name: &str) -> Result<Option<User>>;
    fn user_by_id(&self, id: UserId) -> Result<Option<User>>;
    fn keys(&self, user: UserId) -> Result<Vec<ApiKey>>;
    /// The key with this hash and its user (compared in constant time).
    fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<(ApiKey, User)>>;
    /// Roots added with `tf watch add`, oldest first (local daemon).
    fn watch_roots(&self) -> Result<Vec<String>>;

    // Sync.

    /// Journal entries after `after` (of one user, or all), oldest first, at most `limit`,
    /// without those that came from machine `not_from`.
    fn journal(
        &self,
        user: Option<UserId>,
        after: i64,
        limit: usize,
        not_from: Option<&str>,
    ) -> Result<JournalPage>;
    /// The newest journal entry's sequence number (0 when empty).
    fn journal_end(&self) -> Result<i64>;
    /// Heartbeats recorded here (not received from another machine) after the (time, id)
    /// `after`, in (time, id) order: what a new sync target is sent first.
    fn local_heartbeats(
        &self,
        user: UserId,
        after: (i64, i64),
        limit: usize,
    ) -> Result<Vec<Heartbeat>>;
    /// Intervals, commits and branch switches recorded here, for a new sync target.
    fn local_records(&self, user: UserId) -> Result<Vec<Record>>;
    /// A sync target's saved state (JSON), if any.
    fn sync_state(&self, target: &str) -> Result<Option<String>>;
    /// This install's machine id, once made.
    fn machine_id(&self) -> Result<Option<String>>;

    // The web dashboard.

    /// The sign-in link or session with this hash, unless it has expired by `now_ms` or the
    /// API key it was signed in with has been revoked since.
    fn web_token(&self, hash: &KeyHash, now_ms: i64) -> Result<Option<WebToken>>;
    /// The projects whose public badge `user` turned on, by name (`""` is their total).
    fn badges(&self, user: UserId) -> Result<Vec<String>>;
}

/// Where records come from, for sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The machine (its sync id) a record was received from; None: recorded here (or sent to
    /// this server's WakaTime API).
    pub origin: Option<String>,
    /// Write it to the journal: a syncing daemon's outbox, a server's log that machines pull.
    pub journal: bool,
}

/// Heartbeats of one user, for [`Store::insert`].
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub scope: &'a Scope,
    pub beats: &'a [Heartbeat],
    pub from: &'a Provenance,
}

/// Recorded here and not journaled (nothing syncs).
pub const UNSYNCED: Provenance = Provenance {
    origin: None,
    journal: false,
};

impl<'a> Batch<'a> {
    /// Heartbeats recorded here, not journaled.
    pub fn local(scope: &'a Scope, beats: &'a [Heartbeat]) -> Batch<'a> {
        Batch {
            scope,
            beats,
            from: &UNSYNCED,
        }
    }
}

/// A record that syncs between stores, in the sync protocol's JSON shape.
// Heartbeats are nearly all records; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Heartbeat(Heartbeat),
    Interval(Interval),
    Commit(CommitSync),
    Switch(SwitchSync),
    /// Heartbeats deleted with `tf forget`.
    Forget(Forget),
    /// A manual interval deleted (or, followed by its new version, edited).
    IntervalRemoved(IntervalKey),
}

/// Heartbeats to delete (`tf forget`): one user's, in `[start_ms, end_ms)`, of a project and/or
/// whose entity matches a glob (at least one of the two).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `*` any run of characters, `?` one; a pattern without `/` matches the file name, one
    /// with `/` the whole entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Forget {
    pub fn validate(&self) -> std::result::Result<(), crate::model::ValidationError> {
        use crate::model::{MAX_STRING_BYTES, ValidationError};
        if self.project.is_none() && self.entity.is_none() {
            return Err(ValidationError::new(
                "project",
                "give a project or an entity pattern (forgetting everything is `timeforged user remove`)",
            ));
        }
        for (field, v) in [("project", &self.project), ("entity", &self.entity)] {
            if let Some(v) = v
                && (v.trim().is_empty() || v.len() > MAX_STRING_BYTES)
            {
                return Err(ValidationError::new(field, "must be 1 to 512 bytes"));
            }
        }
        if self.start_ms >= self.end_ms {
            return Err(ValidationError::new("to", "must be after from"));
        }
        Ok(())
    }

    /// Whether `entity` is one this forgets (the project and time are the store's to check).
    pub fn matches_entity(&self, entity: &str) -> bool {
        match &self.entity {
            None => true,
            Some(p) if p.contains('/') => crate::shell::classify::glob_match(p, entity),
            Some(p) => {
                let name = entity.rsplit(['/', '\\']).next().unwrap_or(entity);
                crate::shell::classify::glob_match(p, name)
            }
        }
    }
}

/// What [`Store::forget`] found (and deleted, unless only counting).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgotten {
    pub heartbeats: u64,
    /// The times of the first and last of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ms: Option<i64>,
}

impl Forgotten {
    fn add(&mut self, t: i64) {
        self.heartbeats += 1;
        self.first_ms = Some(self.first_ms.map_or(t, |f| f.min(t)));
        self.last_ms = Some(self.last_ms.map_or(t, |l| l.max(t)));
    }
}

/// A manual interval's identity across machines (ids are per database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalKey {
    pub start_ms: i64,
    pub end_ms: i64,
    pub project: String,
}

impl IntervalKey {
    pub fn of(iv: &Interval) -> IntervalKey {
        IntervalKey {
            start_ms: crate::model::seconds_to_ms(iv.start),
            end_ms: crate::model::seconds_to_ms(iv.end),
            project: iv.project.clone(),
        }
    }
}

/// Which interval [`Store::edit_interval`] changes.
#[derive(Debug, Clone, Copy)]
pub enum IntervalRef<'a> {
    /// By this database's id (`tf intervals rm ID`).
    Id(i64),
    /// By its identity (a removal pulled from another machine).
    Key(&'a IntervalKey),
}

/// What [`Store::edit_interval`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum IntervalEdit {
    /// No such interval of this user.
    Missing,
    /// Another interval already has the new version's start, end and project.
    Clash { id: i64 },
    /// Done; the interval as it was.
    Done { id: i64, old: Interval },
}

/// A commit as it syncs (with what replaced it, if a rewrite did).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitSync {
    pub project: String,
    pub sha: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub time_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default)]
    pub merge: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
}

/// A branch switch as it syncs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchSync {
    pub project: String,
    pub time_ms: i64,
    pub branch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

/// A page of the journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalPage {
    pub entries: Vec<Logged>,
    /// The last sequence number looked at (the `after` asked for when none): the next page
    /// starts after it.
    pub last: i64,
    /// Entries looked at, a record deleted since it was journaled included: a page of `limit`
    /// means there may be more.
    pub examined: usize,
}

/// A journal entry: its sequence number, the record as it is now, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub seq: i64,
    pub user: UserId,
    pub record: Record,
    pub origin: Option<String>,
}

/// Kinds of journal entries, as stored. Append, never reorder.
pub(crate) mod journal_kind {
    pub const HEARTBEAT: i64 = 0;
    pub const INTERVAL: i64 = 1;
    pub const COMMIT: i64 = 2;
    pub const SWITCH: i64 = 3;
    /// The record is in the entry's `body` (JSON): nothing is left to point at.
    pub const FORGET: i64 = 4;
    pub const INTERVAL_REMOVED: i64 = 5;
}

/// Stores one record that came through sync (heartbeats, batched, go through
/// [`Store::insert`]); whether it changed anything.
pub fn apply_record(
    store: &mut dyn Store,
    scope: &Scope,
    record: &Record,
    now_ms: i64,
    from: &Provenance,
) -> Result<bool> {
    Ok(match record {
        Record::Heartbeat(h) => {
            let batch = Batch {
                scope,
                beats: std::slice::from_ref(h),
                from,
            };
            store.insert(&[batch])?.concat().first() == Some(&Stored::New)
        }
        Record::Interval(iv) => store.add_interval(scope, iv, now_ms, from)?.1,
        Record::Commit(_) | Record::Switch(_) => {
            store.apply_git(scope.user, std::slice::from_ref(record), from)? > 0
        }
        // Idempotent: a forget applied again finds nothing, and is journaled again for the
        // machines that pull it.
        Record::Forget(f) => {
            store.forget(scope, f, true, from)?;
            true
        }
        Record::IntervalRemoved(key) => matches!(
            store.edit_interval(scope, IntervalRef::Key(key), None, from)?,
            IntervalEdit::Done { .. }
        ),
    })
}

/// A forget or removed interval as a journal entry keeps it (the entry's `data`).
pub(crate) fn journal_data(record: &Record) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

/// The record a forget or removed-interval entry keeps; None for a damaged one (skipped).
pub(crate) fn journaled_record(data: Option<&str>) -> Option<Record> {
    serde_json::from_str(data?).ok()
}

/// The write side. One writer thread owns it and batches requests into transactions.
pub trait Store: Send {
    /// Stores validated heartbeats (of one or more users) in one transaction, marking the days
    /// they touch dirty and journaling the new ones as each batch asks; each is new or a
    /// duplicate.
    fn insert(&mut self, batches: &[Batch<'_>]) -> Result<Vec<Vec<Stored>>>;
    /// Stores a manual interval; its id, and whether it is new (an identical one may exist).
    fn add_interval(
        &mut self,
        scope: &Scope,
        iv: &Interval,
        now_ms: i64,
        from: &Provenance,
    ) -> Result<(i64, bool)>;
    /// Removes a manual interval (`new` None) or replaces it with `new` (keeping its id), marks
    /// the days both touch dirty, and journals the removal (then the new version) as `from`
    /// asks, in one transaction.
    fn edit_interval(
        &mut self,
        scope: &Scope,
        which: IntervalRef<'_>,
        new: Option<&Interval>,
        from: &Provenance,
    ) -> Result<IntervalEdit>;
    /// Deletes the heartbeats `what` names (or only counts them, `apply` false), marks the days
    /// they touched dirty and journals the forget as `from` asks, in one transaction.
    fn forget(
        &mut self,
        scope: &Scope,
        what: &Forget,
        apply: bool,
        from: &Provenance,
    ) -> Result<Forgotten>;
    /// Stores one git event of `project` at `time_ms`, in one transaction.
    fn record_git(
        &mut self,
        user: UserId,
        project: &str,
        e: &GitEvent,
        time_ms: i64,
        from: &Provenance,
    ) -> Result<GitRecorded>;
    /// Stores commits and branch switches received from another machine (or sent by one, on a
    /// server), each once.
    fn apply_git(&mut self, user: UserId, records: &[Record], from: &Provenance) -> Result<usize>;

    /// Dirty days of `user` (or of everyone) in `[from, to]`, oldest first, at most `max`.
    fn dirty(
        &mut self,
        user: Option<UserId>,
        from: DayNum,
        to: DayNum,
        max: usize,
    ) -> Result<Vec<DirtyDay>>;
    /// Replaces the rollups of one dirty day with what `compute` finds in a snapshot taken in
    /// the same transaction, and clears its mark unless it was marked again meanwhile.
    fn refresh_day(
        &mut self,
        day: DirtyDay,
        compute: &mut dyn FnMut(&dyn Snapshot) -> Result<DayRollup>,
    ) -> Result<()>;
    /// The rules `user`'s rollups were computed under.
    fn rollup_rules(&mut self, user: UserId) -> Result<Option<String>>;
    /// Drops every rollup of `user`, marks `days` dirty and records the new rules, in one
    /// transaction.
    fn reset_rollups(&mut self, user: UserId, rules: &str, days: &[DayNum]) -> Result<()>;
    /// Runs `f` on a snapshot of the write connection (for work the writer itself reads).
    fn read(&mut self, f: &mut dyn FnMut(&dyn Snapshot) -> Result<()>) -> Result<()>;

    fn add_user(&mut self, name: &str, settings: &UserSettings, now_ms: i64) -> Result<User>;
    /// Deletes the user and everything they recorded.
    fn remove_user(&mut self, user: UserId) -> Result<()>;
    fn rename_user(&mut self, user: UserId, name: &str) -> Result<()>;
    fn set_settings(&mut self, user: UserId, settings: &UserSettings) -> Result<()>;
    fn add_key(
        &mut self,
        user: UserId,
        hash: &KeyHash,
        label: Option<&str>,
        read_only: bool,
        now_ms: i64,
    ) -> Result<ApiKey>;
    /// Deletes keys: one by id, or every key of a user with the given label (or all of the
    /// user's keys when `label` is None). Returns how many.
    fn revoke_keys(&mut self, which: KeySelector<'_>) -> Result<usize>;

    /// Starts a focus timer at `start_ms`; refused ([`StoreError::Invalid`]) while one runs.
    fn start_focus(
        &mut self,
        user: UserId,
        start_ms: i64,
        plan: &FocusPlan,
    ) -> Result<FocusSession>;
    /// Ends the user's running focus timer at `end_ms` (`completed`: it ran its whole length);
    /// None when none runs.
    fn end_focus(
        &mut self,
        user: UserId,
        end_ms: i64,
        completed: bool,
    ) -> Result<Option<FocusSession>>;

    fn add_watch_root(&mut self, path: &str, now_ms: i64) -> Result<bool>;
    fn remove_watch_root(&mut self, path: &str) -> Result<bool>;

    /// Saves a sync target's state (JSON).
    fn set_sync_state(&mut self, target: &str, state: &str) -> Result<()>;
    /// Drops journal entries up to `seq` (every target has sent them).
    fn prune_journal(&mut self, upto: i64) -> Result<()>;
    /// This install's machine id, made (a UUID) on first use.
    fn ensure_machine_id(&mut self) -> Result<String>;

    /// Housekeeping when idle: checkpoint and truncate logs, give memory back.
    fn idle(&mut self) -> Result<()>;
    /// Last work before the process exits.
    fn close(&mut self) -> Result<()>;

    /// Stores a web sign-in link or session (by its hash), and drops the expired ones.
    fn add_web_token(&mut self, token: &WebToken) -> Result<()>;
    /// Deletes the token with this hash and returns it as it was: in one statement, so a
    /// one-time link signs in once even with several servers on one database.
    fn take_web_token(&mut self, hash: &KeyHash) -> Result<Option<WebToken>>;
    /// Turns the public badge of `project` (`""`: the user's total) on or off.
    fn set_badge(&mut self, user: UserId, project: &str, on: bool, now_ms: i64) -> Result<()>;
}

/// Which keys [`Store::revoke_keys`] deletes.
#[derive(Debug, Clone, Copy)]
pub enum KeySelector<'a> {
    Id(i64),
    OfUser {
        user: UserId,
        label: Option<&'a str>,
    },
}

/// A database: snapshots for readers, and the one write side.
pub trait Database: Send + Sync {
    /// Runs `f` in one read-only snapshot.
    fn read_with(&self, f: &mut dyn FnMut(&dyn Snapshot) -> Result<()>) -> Result<()>;
    /// Opens the write side (the writer thread owns it).
    fn writer(&self) -> Result<Box<dyn Store>>;
    /// Where the data lives, for messages (`/path/to/db`, `postgres://host/db`, no password).
    fn describe(&self) -> String;
    /// Bytes on disk (database, logs).
    fn size_bytes(&self) -> Result<u64>;
    /// Gives cached memory back (after a large query).
    fn release_memory(&self) {}
    /// Whether a lookup by key (an API key on every HTTP request) answers in microseconds
    /// without network I/O, so it may run on the async thread instead of a blocking one.
    fn quick_lookups(&self) -> bool {
        false
    }
    /// Reads have stopped for a while: closes what is kept open between them (pooled
    /// connections, with their buffers and caches), to be reopened on demand.
    fn release_idle(&self) {}
    /// A counter that moves on after every committed change to users or API keys made through
    /// this handle's writers, for a cache of keys in a process that is the database's only
    /// writer. Changes by other processes are not counted. `None` when the backend keeps none.
    fn accounts_version(&self) -> Option<u64> {
        None
    }
}

/// A token of the web dashboard, kept only as its SHA-256: a one-time sign-in link, or the
/// session a browser holds in its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebToken {
    pub hash: KeyHash,
    pub user: UserId,
    pub kind: WebTokenKind,
    /// The API key a session was signed in with: revoking the key ends the session.
    pub key_id: Option<i64>,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// What a [`WebToken`] is, as stored. Append, never reorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebTokenKind {
    /// A one-time sign-in link (`tf web`, `timeforged user login-link`).
    Link = 0,
    /// A signed-in browser.
    Session = 1,
}

impl WebTokenKind {
    pub fn from_code(code: i64) -> Option<WebTokenKind> {
        match code {
            0 => Some(WebTokenKind::Link),
            1 => Some(WebTokenKind::Session),
            _ => None,
        }
    }
}

/// Runs `f` in one snapshot of `db` and returns its result.
pub fn read<T>(db: &dyn Database, f: impl FnOnce(&dyn Snapshot) -> Result<T>) -> Result<T> {
    let mut f = Some(f);
    let mut out = None;
    db.read_with(&mut |snap| {
        if let Some(f) = f.take() {
            out = Some(f(snap)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| StoreError::Invalid("snapshot did not run".into()))
}

/// Opens the database a URL or path names: `postgres://…` / `postgresql://…`, `sqlite://PATH`,
/// or a plain file path (SQLite).
pub fn open(url: &str) -> Result<std::sync::Arc<dyn Database>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::PgDatabase::open(url)
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Invalid(
                "empty database URL (expected a file path, sqlite://PATH or postgres://…)".into(),
            ));
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(StoreError::Invalid(format!(
                "unknown database URL scheme {scheme:?} (expected a file path, sqlite://PATH or postgres://USER@HOST/DB)"
            )));
        }
        Ok(std::sync::Arc::new(sqlite::SqliteDatabase::open(
            std::path::Path::new(path),
        )?))
    }
}

/// The rules rollups are computed under; a change invalidates them.
pub fn rollup_signature(calendar: &Calendar, rules: Rules) -> String {
    format!(
        "tz={};timeout_ms={};midnight={:?}",
        calendar.tz_name(),
        rules.timeout_ms,
        rules.midnight
    )
}

/// Names a user may have: what fits in a URL path segment and a shell argument unquoted.
pub fn check_user_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with(['.', '-'])
        && name != "current";
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid user name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.' or '-', and not \"current\""
        )))
    }
}

/// Constant-time equality of two key hashes.
pub fn same_hash(a: &KeyHash, b: &KeyHash) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        for ok in ["alice", "bob.smith", "x_1", "A-b"] {
            assert!(check_user_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "a b",
            "a/b",
            "current",
            "é",
            &"x".repeat(65),
        ] {
            let err = check_user_name(bad).unwrap_err().to_string();
            assert!(err.contains("invalid user name"), "{bad}: {err}");
        }
    }

    #[test]
    fn hashes_compare() {
        let a = crate::apikey::hash("a");
        let b = crate::apikey::hash("b");
        assert!(same_hash(&a, &a));
        assert!(!same_hash(&a, &b));
    }

    #[test]
    fn urls() {
        for bad in ["", "mysql://x/y", "sqlite://"] {
            let err = open(bad).err().expect(bad).to_string();
            assert!(
                err.contains("database URL") || err.contains("empty"),
                "{bad}: {err}"
            );
        }
    }
}
