//! The daemon's side of sync: one thread that pushes this machine's records to each target and
//! pulls the other machines' records from the TimeForged server — on a timer, soon after new
//! data, and when `tf sync now` asks — with backoff, its progress kept in the database, and a
//! status for `tf sync status`. It can hold up nothing else: it has its own thread, reads
//! through snapshots and writes through the writer's queue.

use super::account::Account;
use super::writer::WriterHandle;
use crate::calendar::now_ms;
use crate::config::{Config, TargetConfig, TargetKind};
use crate::model::{Heartbeat, ms_to_seconds};
use crate::protocol::{Moved, SyncTarget};
use crate::store::{Database, Provenance, Record};
use crate::sync::client::{Endpoint, Failure};
use crate::sync::privacy::Privacy;
use crate::sync::wire::{Machine, Outcome, PushRequest, SCHEMA};
use crate::sync::{BACKOFF_CAP, Backoff};
use serde::{Deserialize, Serialize};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Records per push (and per pull page asked for): the most a server takes, since every
/// round trip also costs a cursor save here.
const PAGE: usize = crate::sync::wire::MAX_PAGE;
/// WakaTime's bulk endpoint takes at most this many heartbeats.
const WAKATIME_CHUNK: usize = 25;
/// New data is sent this long after it arrives, so a burst goes in one round.
const SOON: Duration = Duration::from_secs(2);
/// Without new data, the server is asked for other machines' records this often.
const TIMER: Duration = Duration::from_secs(60);
/// A server clock this far from ours is reported.
const SKEW_LIMIT_SECONDS: i64 = 300;

enum Nudge {
    /// Records were stored here.
    NewData,
    /// `tf sync now`: every target at once, the outcome sent back.
    Now(tokio::sync::oneshot::Sender<Vec<SyncTarget>>),
    Stop,
}

/// The running sync thread: nudge it, ask it, read its status.
#[derive(Clone)]
pub(crate) struct SyncHandle {
    nudge: mpsc::Sender<Nudge>,
    status: Arc<Mutex<Vec<SyncTarget>>>,
    /// The thread, for [`SyncHandle::stop_and_wait`].
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl SyncHandle {
    /// Something new was stored here: send it soon.
    pub fn new_data(&self) {
        let _ = self.nudge.send(Nudge::NewData);
    }

    /// Syncs every target now and returns what moved (or the status when the thread is gone).
    pub async fn now(&self) -> Vec<SyncTarget> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        if self.nudge.send(Nudge::Now(reply)).is_err() {
            return self.status();
        }
        rx.await.unwrap_or_else(|_| self.status())
    }

    pub fn status(&self) -> Vec<SyncTarget> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn stop(&self) {
        let _ = self.nudge.send(Nudge::Stop);
    }

    /// Stops the thread and waits until it has finished its round (blocking), so that a new
    /// sync thread never works on the same targets beside it.
    pub fn stop_and_wait(&self) {
        self.stop();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// What a target has done so far, kept in the database so a restart resumes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    /// The journal's last entry sent.
    cursor: i64,
    /// The server journal's last entry received (TimeForged targets).
    #[serde(default)]
    pull_cursor: i64,
    /// Sending what was recorded before the target was added: the last (time, id) sent, until
    /// done.
    #[serde(default)]
    backfill: Option<(i64, i64)>,
}

struct Target {
    /// `sync`, or `forward N` (1-based) — also the key of its saved progress, with its URL.
    name: String,
    /// Syncs by itself (else only on `tf sync now`).
    auto: bool,
    kind: TargetKind,
    url: String,
    endpoint: Endpoint,
    privacy: Privacy,
    progress: Progress,
    backoff: Backoff,
    next_try: Instant,
    status: SyncTarget,
}

impl Target {
    fn key(&self) -> String {
        format!("{} {}", self.name, self.url)
    }
}

/// Starts the sync thread when the config has targets.
pub(crate) fn start(
    config: &Config,
    db: Arc<dyn Database>,
    writer: WriterHandle,
    local: Account,
    machine_id: String,
) -> std::io::Result<Option<SyncHandle>> {
    let mut targets = Vec::new();
    if let Some(t) = &config.sync {
        targets.push(target("sync".into(), t, TargetKind::Timeforged));
    }
    for (i, t) in config.forward.iter().enumerate() {
        targets.push(target(
            format!("forward {}", i + 1),
            t,
            TargetKind::Wakatime,
        ));
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let (nudge, rx) = mpsc::channel();
    let status = Arc::new(Mutex::new(
        targets.iter().map(|t| t.status.clone()).collect(),
    ));
    let mut engine = Engine {
        db,
        writer,
        local,
        machine: Machine {
            id: machine_id,
            name: crate::model::hostname(),
        },
        targets,
        status: status.clone(),
    };
    // Here rather than on the thread: a new target's starting point is the journal's end as
    // the daemon starts (or reloads), before anything is recorded that it must send.
    let fresh = match engine.load() {
        Ok(fresh) => fresh,
        Err(e) => {
            tracing::warn!("sync: cannot read its saved progress: {e}");
            Vec::new()
        }
    };
    let thread = std::thread::Builder::new()
        .name("timeforged-sync".into())
        .spawn(move || engine.run(rx, fresh))?;
    Ok(Some(SyncHandle {
        nudge,
        status,
        thread: Arc::new(Mutex::new(Some(thread))),
    }))
}

fn target(name: String, t: &TargetConfig, default: TargetKind) -> Target {
    let kind = t.kind.unwrap_or(default);
    let status = SyncTarget {
        name: name.clone(),
        kind: match kind {
            TargetKind::Timeforged => "timeforged",
            TargetKind::Wakatime => "wakatime",
        }
        .into(),
        url: t.url.clone(),
        ..SyncTarget::default()
    };
    Target {
        name,
        auto: t.auto,
        kind,
        url: t.url.clone(),
        endpoint: Endpoint::new(&t.url, &t.api_key),
        privacy: Privacy::of(t),
        progress: Progress::default(),
        backoff: Backoff::default(),
        next_try: Instant::now(),
        status,
    }
}

struct Engine {
    db: Arc<dyn Database>,
    writer: WriterHandle,
    local: Account,
    machine: Machine,
    targets: Vec<Target>,
    status: Arc<Mutex<Vec<SyncTarget>>>,
}

/// Why a round stopped.
enum Stop {
    /// The target failed; try again later.
    Target(Failure),
    /// Our own database failed (disk full, shutting down): try again later.
    Local(String),
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Target(f)
    }
}

impl Engine {
    fn run(&mut self, rx: mpsc::Receiver<Nudge>, fresh: Vec<usize>) {
        // Kept, so that a restart before the first send does not move the start past what
        // was recorded in between.
        for i in fresh {
            if self.save(i).is_err() {
                tracing::warn!(target = %self.targets[i].name, "sync: cannot save its starting point");
            }
        }
        // A first round right away: catch up after the daemon was down.
        let mut due: Option<Instant> = Some(Instant::now());
        let mut next_round = Instant::now() + TIMER;
        loop {
            // Woken by new data (soon), the timer, or a failed target's retry; nothing else,
            // so an idle daemon spends no CPU here.
            let retry = self
                .targets
                .iter()
                .filter(|t| t.auto && t.backoff.failures > 0)
                .map(|t| t.next_try)
                .min();
            let wake = [due, Some(next_round), retry]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(next_round);
            match rx.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Ok(Nudge::NewData) => {
                    due.get_or_insert(Instant::now() + SOON);
                }
                Ok(Nudge::Now(reply)) => {
                    let moved = self.round(true);
                    let mut out = self.snapshot_status();
                    for (s, m) in out.iter_mut().zip(moved) {
                        s.moved = Some(m);
                    }
                    let _ = reply.send(out);
                    due = None;
                    next_round = Instant::now() + TIMER;
                }
                Ok(Nudge::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {
                    self.round(false);
                    due = None;
                    next_round = Instant::now() + TIMER;
                }
            }
        }
    }

    /// Reads each target's saved progress; a target seen for the first time starts at the
    /// journal's end and sends what was recorded before from the start (its backfill).
    /// Returns the targets seen for the first time.
    fn load(&mut self) -> Result<Vec<usize>, String> {
        let keys: Vec<String> = self.targets.iter().map(Target::key).collect();
        let (saved, end) = crate::store::read(&*self.db, move |snap| {
            let mut saved = Vec::new();
            for k in &keys {
                saved.push(snap.sync_state(k)?);
            }
            Ok((saved, snap.journal_end()?))
        })
        .map_err(|e| e.to_string())?;
        let mut fresh = Vec::new();
        for (i, (t, state)) in self.targets.iter_mut().zip(saved).enumerate() {
            t.progress = match state.and_then(|s| serde_json::from_str(&s).ok()) {
                Some(p) => p,
                None => {
                    fresh.push(i);
                    Progress {
                        cursor: end,
                        pull_cursor: 0,
                        // A forward target starts with what comes next; the user's own server gets
                        // everything this machine has.
                        backfill: (t.kind == TargetKind::Timeforged)
                            .then_some((i64::MIN, i64::MIN)),
                    }
                }
            };
        }
        Ok(fresh)
    }

    /// Syncs every target that is due (all of them when `forced`); returns what moved each.
    fn round(&mut self, forced: bool) -> Vec<Moved> {
        let mut moved = Vec::with_capacity(self.targets.len());
        for i in 0..self.targets.len() {
            let t = &self.targets[i];
            if !forced && (!t.auto || t.next_try > Instant::now()) {
                moved.push(Moved::default());
                continue;
            }
            let mut m = Moved::default();
            let outcome = self.sync_one(i, &mut m);
            let t = &mut self.targets[i];
            t.status.pushed += m.pushed;
            t.status.pulled += m.pulled;
            t.status.rejected += m.rejected;
            match outcome {
                Ok(()) => {
                    t.backoff.succeeded();
                    t.next_try = Instant::now();
                    t.status.last_success = Some(ms_to_seconds(now_ms()));
                    t.status.last_error = None;
                    t.status.next_retry = None;
                }
                Err(stop) => {
                    t.backoff.failed();
                    let (message, wait) = match stop {
                        Stop::Target(Failure::RateLimited(after)) => (
                            "the server asks to slow down (429)".to_string(),
                            after.unwrap_or_else(|| t.backoff.delay()).min(BACKOFF_CAP),
                        ),
                        Stop::Target(f) => (f.to_string(), t.backoff.delay()),
                        Stop::Local(e) => (e, t.backoff.delay()),
                    };
                    tracing::warn!(target = %t.name, url = %t.url, "sync: {message}; retrying in {wait:?}");
                    t.next_try = Instant::now() + wait;
                    t.status.last_error = Some(message);
                    t.status.next_retry = Some(ms_to_seconds(now_ms() + wait.as_millis() as i64));
                }
            }
            moved.push(m);
        }
        self.prune();
        self.publish();
        moved
    }

    fn sync_one(&mut self, i: usize, m: &mut Moved) -> Result<(), Stop> {
        match self.targets[i].kind {
            TargetKind::Timeforged => {
                self.backfill(i, m)?;
                self.push_journal(i, m)?;
                self.pull(i, m)
            }
            TargetKind::Wakatime => self.forward(i, m),
        }
    }

    /// Sends what was recorded here before the target was added: heartbeats in (time, id)
    /// order, then intervals and git records.
    fn backfill(&mut self, i: usize, m: &mut Moved) -> Result<(), Stop> {
        let user = self.local.id();
        while let Some(after) = self.targets[i].progress.backfill {
            let beats = self.read(move |s| s.local_heartbeats(user, after, PAGE))?;
            let Some(last) = beats.last().map(|h| (h.time_ms(), h.id())) else {
                let records = self.read(move |s| s.local_records(user))?;
                for chunk in records.chunks(PAGE) {
                    self.send(i, chunk, m)?;
                }
                self.targets[i].progress.backfill = None;
                self.save(i)?;
                break;
            };
            let records: Vec<Record> = beats.into_iter().map(Record::Heartbeat).collect();
            self.send(i, &records, m)?;
            self.targets[i].progress.backfill = Some(last);
            self.save(i)?;
        }
        Ok(())
    }

    /// Sends the journal's entries after the target's cursor, page by page.
    fn push_journal(&mut self, i: usize, m: &mut Moved) -> Result<(), Stop> {
        loop {
            let after = self.targets[i].progress.cursor;
            let page = self.read(move |s| s.journal(None, after, PAGE, None))?;
            if page.examined == 0 {
                return Ok(());
            }
            let records: Vec<Record> = page.entries.into_iter().map(|e| e.record).collect();
            self.send(i, &records, m)?;
            self.targets[i].progress.cursor = page.last;
            self.save(i)?;
        }
    }

    /// Pushes one page of records (what the target may see of them) and counts the outcome.
    fn send(&mut self, i: usize, records: &[Record], m: &mut Moved) -> Result<(), Stop> {
        let t = &self.targets[i];
        let visible: Vec<serde_json::Value> = records
            .iter()
            .filter_map(|r| t.privacy.apply(r))
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        if visible.is_empty() {
            return Ok(());
        }
        let answer = t.endpoint.push(&PushRequest {
            schema: SCHEMA,
            machine: self.machine.clone(),
            records: visible,
        })?;
        self.check_clock(i, answer.server_time);
        for (n, outcome) in answer.body.results.iter().enumerate() {
            match outcome {
                Outcome::Stored => m.pushed += 1,
                Outcome::Duplicate => {}
                Outcome::Rejected(why) => {
                    // Logged and skipped: one bad record never holds up the rest.
                    m.rejected += 1;
                    tracing::warn!(target = %self.targets[i].name, "sync: the server refused record {n} of a push: {why}");
                }
            }
        }
        Ok(())
    }

    /// Takes the other machines' records from the server, page by page.
    fn pull(&mut self, i: usize, m: &mut Moved) -> Result<(), Stop> {
        loop {
            let t = &self.targets[i];
            let answer = t
                .endpoint
                .pull(t.progress.pull_cursor, PAGE, &self.machine.id)?;
            self.check_clock(i, answer.server_time);
            let page = answer.body;
            let server = format!("server {}", self.targets[i].url);
            let now = ms_to_seconds(now_ms());
            let mut by_origin: Vec<(String, Vec<Heartbeat>)> = Vec::new();
            let mut others: Vec<(String, Record)> = Vec::new();
            for p in page.records {
                if p.schema != SCHEMA {
                    tracing::warn!(
                        "sync: skipping pulled record {} of schema {} (this TimeForged knows {SCHEMA}; upgrade it)",
                        p.seq,
                        p.schema
                    );
                    continue;
                }
                let record: Record = match serde_json::from_value(p.record) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!("sync: skipping pulled record {}: {e}", p.seq);
                        continue;
                    }
                };
                let origin = p.origin.unwrap_or_else(|| server.clone());
                match record {
                    Record::Heartbeat(mut h) => {
                        if let Err(e) = h.validate(now) {
                            tracing::warn!("sync: skipping pulled heartbeat {}: {e}", p.seq);
                            continue;
                        }
                        match by_origin.iter_mut().find(|(o, _)| *o == origin) {
                            Some((_, list)) => list.push(h),
                            None => by_origin.push((origin, vec![h])),
                        }
                    }
                    other => others.push((origin, other)),
                }
            }
            for (origin, beats) in by_origin {
                let from = Provenance {
                    origin: Some(origin),
                    journal: false,
                };
                let written = self
                    .writer
                    .heartbeats_blocking(self.local.scope.clone(), beats, from)
                    .map_err(|e| Stop::Local(e.to_string()))?;
                m.pulled += written.new_count() as u64;
            }
            for (origin, record) in others {
                let from = Provenance {
                    origin: Some(origin),
                    journal: false,
                };
                let scope = self.local.scope.clone();
                let new = self
                    .writer
                    .run_blocking(move |w| {
                        crate::store::apply_record(w, &scope, &record, now_ms(), &from)
                    })
                    .map_err(|e| Stop::Local(e.to_string()))?;
                m.pulled += u64::from(new);
            }
            self.targets[i].progress.pull_cursor = page.next;
            self.save(i)?;
            if !page.more {
                return Ok(());
            }
        }
    }

    /// Sends the journal's heartbeats after the cursor to a WakaTime-compatible server, 25 at
    /// a time (its limit), never those that came from another machine.
    fn forward(&mut self, i: usize, m: &mut Moved) -> Result<(), Stop> {
        loop {
            let after = self.targets[i].progress.cursor;
            let page = self.read(move |s| s.journal(None, after, WAKATIME_CHUNK, None))?;
            if page.examined == 0 {
                return Ok(());
            }
            let t = &self.targets[i];
            let items: Vec<serde_json::Value> = page
                .entries
                .iter()
                .filter(|e| e.origin.is_none())
                .filter_map(|e| match &e.record {
                    Record::Heartbeat(h) => t.privacy.heartbeat(h),
                    _ => None,
                })
                .map(|h| wakatime_item(&h))
                .collect();
            if !items.is_empty() {
                let answer = t.endpoint.wakatime_bulk(&items)?;
                self.check_clock(i, answer.server_time);
                for (n, status) in answer.body.iter().enumerate() {
                    if (200..300).contains(status) {
                        m.pushed += 1;
                    } else {
                        m.rejected += 1;
                        tracing::warn!(target = %self.targets[i].name, "forward: item {n} refused with {status}");
                    }
                }
            }
            self.targets[i].progress.cursor = page.last;
            self.save(i)?;
        }
    }

    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn crate::store::Snapshot) -> crate::store::Result<T>,
    ) -> Result<T, Stop> {
        crate::store::read(&*self.db, f).map_err(|e| Stop::Local(e.to_string()))
    }

    fn save(&mut self, i: usize) -> Result<(), Stop> {
        let key = self.targets[i].key();
        let state = serde_json::to_string(&self.targets[i].progress)
            .map_err(|e| Stop::Local(e.to_string()))?;
        self.writer
            .run_blocking(move |w| w.set_sync_state(&key, &state))
            .map_err(|e| Stop::Local(e.to_string()))
    }

    fn check_clock(&mut self, i: usize, server_time: Option<i64>) {
        let skew = server_time
            .map(|t| t - now_ms() / 1000)
            .filter(|d| d.abs() > SKEW_LIMIT_SECONDS);
        if skew.is_some() && self.targets[i].status.clock_skew_seconds.is_none() {
            tracing::warn!(target = %self.targets[i].name, "sync: the server's clock is {}s from ours", skew.unwrap_or(0));
        }
        self.targets[i].status.clock_skew_seconds = skew;
    }

    /// Drops the journal entries every target has sent.
    fn prune(&mut self) {
        let Some(upto) = self.targets.iter().map(|t| t.progress.cursor).min() else {
            return;
        };
        if upto > 0
            && let Err(e) = self.writer.run_blocking(move |w| w.prune_journal(upto))
        {
            tracing::debug!("sync: pruning the journal: {e}");
        }
    }

    fn snapshot_status(&mut self) -> Vec<SyncTarget> {
        let end = self.read(|s| s.journal_end()).unwrap_or(0);
        for t in &mut self.targets {
            t.status.pending = (end - t.progress.cursor).max(0);
            t.status.backfilling = t.progress.backfill.is_some();
        }
        self.targets.iter().map(|t| t.status.clone()).collect()
    }

    fn publish(&mut self) {
        let list = self.snapshot_status();
        if let Ok(mut s) = self.status.lock() {
            *s = list;
        }
    }
}

/// A heartbeat in WakaTime's field names, for `heartbeats.bulk`.
fn wakatime_item(h: &Heartbeat) -> serde_json::Value {
    let mut v = serde_json::json!({
        "time": h.time,
        "entity": h.entity,
        "type": h.entity_type.as_str(),
        "category": h.category.as_str(),
        "is_write": h.is_write,
    });
    let set = |v: &mut serde_json::Value, k: &str, x: serde_json::Value| {
        if !x.is_null() {
            v[k] = x;
        }
    };
    set(&mut v, "project", serde_json::json!(h.project));
    set(&mut v, "branch", serde_json::json!(h.branch));
    set(&mut v, "language", serde_json::json!(h.language));
    set(&mut v, "lines", serde_json::json!(h.lines));
    set(&mut v, "lineno", serde_json::json!(h.lineno));
    set(&mut v, "cursorpos", serde_json::json!(h.cursorpos));
    set(&mut v, "machine_name", serde_json::json!(h.machine));
    set(&mut v, "user_agent", serde_json::json!(h.user_agent));
    set(
        &mut v,
        "ai_line_changes",
        serde_json::json!(h.ai_line_changes),
    );
    set(
        &mut v,
        "human_line_changes",
        serde_json::json!(h.human_line_changes),
    );
    set(&mut v, "ai_session", serde_json::json!(h.ai_session));
    set(
        &mut v,
        "ai_input_tokens",
        serde_json::json!(h.ai_input_tokens),
    );
    set(
        &mut v,
        "ai_output_tokens",
        serde_json::json!(h.ai_output_tokens),
    );
    if !h.dependencies.is_empty() {
        v["dependencies"] = serde_json::json!(h.dependencies);
    }
    v
}
