//! The one writer: a thread that owns the store's write side, takes every write request from a
//! queue, and commits whatever is waiting in one transaction before acknowledging each request.
//! It resolves WakaTime's `<<LAST_…>>` placeholders (one rule, for every path), keeps rollups
//! fresh a few days at a time, and does the store's housekeeping when idle.

use super::account::{Account, Defaults};
use crate::calendar::DayNum;
use crate::model::{Heartbeat, Interval};
use crate::report::rollup;
use crate::store::{Batch, Provenance, Scope, Store, StoreError, Stored, UserId};
use crate::wakatime::LastValues;
use crate::wakatime::ingest::resolve_placeholders;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Why a write was not done.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the daemon is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Heartbeats stored: whether each was new, and, when the request asked for them, each as it
/// was stored (placeholders resolved). Otherwise they are freed on the writer thread: freed on
/// a runtime thread, the last of them stayed in that thread's cache of freed blocks (glibc's),
/// pinning pages all over the heap an import had grown, while the writer sheds its cache
/// whenever it goes idle.
#[derive(Debug, Default)]
pub struct Written {
    /// Whether each heartbeat was new, in request order.
    pub stored: Vec<Stored>,
    /// The newest time among the new ones.
    pub latest_new: Option<f64>,
    /// Each heartbeat as stored, in request order; empty unless asked for.
    pub beats: Vec<Heartbeat>,
}

impl Written {
    /// How many heartbeats were new.
    pub fn new_count(&self) -> usize {
        self.stored.iter().filter(|s| **s == Stored::New).count()
    }
}

pub enum WriteCmd {
    Heartbeats {
        scope: Scope,
        items: Vec<Heartbeat>,
        from: Provenance,
        /// Send the stored heartbeats back ([`Written::beats`]).
        echo: bool,
        reply: oneshot::Sender<Result<Written, WriteError>>,
    },
    Interval {
        scope: Scope,
        interval: Interval,
        now_ms: i64,
        from: Provenance,
        reply: oneshot::Sender<Result<(i64, bool), WriteError>>,
    },
    /// Bring the rollups of one user's `[from, to]` up to date now.
    Refresh {
        user: UserId,
        days: (DayNum, DayNum),
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
    /// Any other write, run on the writer thread in queue order (it answers by itself).
    Run(Job),
    /// Finish everything queued before this, then exit.
    Stop,
}

/// Work run on the writer thread with the store.
pub type Job = Box<dyn FnOnce(&mut dyn Store) + Send>;

/// Cheap to clone; sends to the writer thread.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteCmd>,
    /// Whether records made here are journaled: a daemon with sync targets (its outbox), or a
    /// server (the log machines pull).
    journal: Arc<AtomicBool>,
}

impl WriterHandle {
    async fn ask<T>(
        &self,
        cmd: impl FnOnce(oneshot::Sender<Result<T, WriteError>>) -> WriteCmd,
    ) -> Result<T, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(cmd(reply))
            .map_err(|_| WriteError::ShuttingDown)?;
        rx.await.map_err(|_| WriteError::ShuttingDown)?
    }

    /// As the async requests, for threads outside the runtime (the sync thread): waits for
    /// the answer blocking that thread.
    fn ask_blocking<T>(
        &self,
        cmd: impl FnOnce(oneshot::Sender<Result<T, WriteError>>) -> WriteCmd,
    ) -> Result<T, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(cmd(reply))
            .map_err(|_| WriteError::ShuttingDown)?;
        rx.blocking_recv().map_err(|_| WriteError::ShuttingDown)?
    }

    pub fn heartbeats_blocking(
        &self,
        scope: Scope,
        items: Vec<Heartbeat>,
        from: Provenance,
    ) -> Result<Written, WriteError> {
        self.ask_blocking(|reply| WriteCmd::Heartbeats {
            scope,
            items,
            from,
            echo: false,
            reply,
        })
    }

    pub fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, WriteError> {
        self.ask_blocking(|reply| {
            WriteCmd::Run(Box::new(move |w: &mut dyn Store| {
                let _ = reply.send(f(w).map_err(WriteError::Store));
            }))
        })
    }

    /// Journal records made here from now on (or stop): the daemon's sync targets changed.
    pub fn set_journal(&self, on: bool) {
        self.journal.store(on, Ordering::Relaxed);
    }

    /// What records made here are: recorded here, journaled when something syncs.
    pub fn local(&self) -> Provenance {
        Provenance {
            origin: None,
            journal: self.journal.load(Ordering::Relaxed),
        }
    }

    /// Stores heartbeats of one user made here; answers after the commit.
    pub async fn heartbeats(
        &self,
        scope: Scope,
        items: Vec<Heartbeat>,
    ) -> Result<Written, WriteError> {
        let from = self.local();
        self.store(scope, items, from, false).await
    }

    /// As [`Self::heartbeats`], and sends each heartbeat back as stored.
    pub async fn heartbeats_echoed(
        &self,
        scope: Scope,
        items: Vec<Heartbeat>,
    ) -> Result<Written, WriteError> {
        let from = self.local();
        self.store(scope, items, from, true).await
    }

    /// Stores heartbeats of one user that came from `from`; answers after the commit.
    pub async fn heartbeats_from(
        &self,
        scope: Scope,
        items: Vec<Heartbeat>,
        from: Provenance,
    ) -> Result<Written, WriteError> {
        self.store(scope, items, from, false).await
    }

    async fn store(
        &self,
        scope: Scope,
        items: Vec<Heartbeat>,
        from: Provenance,
        echo: bool,
    ) -> Result<Written, WriteError> {
        self.ask(|reply| WriteCmd::Heartbeats {
            scope,
            items,
            from,
            echo,
            reply,
        })
        .await
    }

    pub async fn interval(
        &self,
        scope: Scope,
        interval: Interval,
        now_ms: i64,
        from: Provenance,
    ) -> Result<(i64, bool), WriteError> {
        self.ask(|reply| WriteCmd::Interval {
            scope,
            interval,
            now_ms,
            from,
            reply,
        })
        .await
    }

    pub async fn refresh(&self, user: UserId, days: (DayNum, DayNum)) -> Result<(), WriteError> {
        self.ask(|reply| WriteCmd::Refresh { user, days, reply })
            .await
    }

    /// Runs `f` with the store, after everything queued before it.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, WriteError> {
        self.ask(|reply| {
            WriteCmd::Run(Box::new(move |w: &mut dyn Store| {
                let _ = reply.send(f(w).map_err(WriteError::Store));
            }))
        })
        .await
    }

    pub fn stop(&self) {
        let _ = self.tx.send(WriteCmd::Stop);
    }
}

/// Most heartbeats committed in one transaction; bigger queues are split.
const MAX_BATCH: usize = 50_000;
/// How long the writer waits for more work before its idle housekeeping.
const IDLE_AFTER: Duration = Duration::from_secs(2);
/// Days refreshed per step, so a request never waits long behind background work.
const REFRESH_STEP: usize = 8;
/// Under continuous load, rollups are still refreshed one step this often …
const REFRESH_UNDER_LOAD: Duration = Duration::from_secs(1);
/// … or less often, so that those steps take at most 1/50 of the writer's time. Reports are
/// not held back by it: each refreshes the days it reads first.
const REFRESH_SHARE: u32 = 50;

/// The writer thread's own state.
struct Writer {
    store: Box<dyn Store>,
    defaults: Defaults,
    /// Each user's newest project/branch/language and its time, for the placeholders.
    last: HashMap<UserId, (f64, LastValues)>,
    /// Dropped with the writer, which ends [`WriterThread::join`].
    _done: mpsc::Sender<()>,
}

/// Starts the writer thread; it exits after [`WriteCmd::Stop`] or when every handle is gone.
pub fn spawn(
    store: Box<dyn Store>,
    defaults: Defaults,
    journal: bool,
) -> std::io::Result<(WriterHandle, WriterThread)> {
    let (tx, rx) = mpsc::channel::<WriteCmd>();
    let (done, finished) = mpsc::channel();
    let w = Writer {
        store,
        defaults,
        last: HashMap::new(),
        _done: done,
    };
    writer_thread().spawn(move || w.run(rx, None))?;
    Ok((
        WriterHandle {
            tx,
            journal: Arc::new(AtomicBool::new(journal)),
        },
        WriterThread { finished },
    ))
}

fn writer_thread() -> std::thread::Builder {
    std::thread::Builder::new().name("timeforged-writer".into())
}

/// The writer, on whichever thread it runs now (it moves to a fresh one each time it goes idle).
pub struct WriterThread {
    finished: mpsc::Receiver<()>,
}

impl WriterThread {
    /// Waits until the writer has stopped and closed its store.
    pub fn join(self) {
        // Nothing is ever sent: the writer's end is dropped when it is done (or has panicked).
        let _ = self.finished.recv();
    }
}

/// How long a writer moved to a fresh thread waits before trimming the heap: time for the
/// thread it left to exit.
const TRIM_AFTER_MOVE: Duration = Duration::from_millis(100);

impl Writer {
    /// Serves commands, starting with `arrived` if given, until the writer is stopped or goes
    /// idle (then it carries on on a fresh thread).
    fn run(mut self, mut rx: mpsc::Receiver<WriteCmd>, mut arrived: Option<WriteCmd>) {
        let mut last_refresh = Instant::now();
        let mut refresh_pause = REFRESH_UNDER_LOAD;
        loop {
            let first = match arrived.take() {
                Some(cmd) => cmd,
                None => match rx.recv_timeout(IDLE_AFTER) {
                    Ok(cmd) => cmd,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        arrived = self.when_idle(&rx);
                        if arrived.is_none() {
                            (self, rx) = match self.move_to_fresh_thread(rx) {
                                Ok(()) => return,
                                Err(stay) => stay,
                            };
                            match Writer::wait_for_work(&rx) {
                                Some(cmd) => arrived = Some(cmd),
                                None => return self.close(),
                            }
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => return self.close(),
                },
            };
            // Take everything already waiting, so one transaction serves many requests.
            let mut cmds = vec![first];
            let mut items = 0;
            while items < MAX_BATCH {
                match rx.try_recv() {
                    Ok(cmd) => {
                        if let WriteCmd::Heartbeats { items: hb, .. } = &cmd {
                            items += hb.len();
                        }
                        cmds.push(cmd);
                    }
                    Err(_) => break,
                }
            }
            if self.process(cmds) {
                return self.close();
            }
            if last_refresh.elapsed() >= refresh_pause {
                last_refresh = Instant::now();
                self.refresh_step(None, (DayNum::MIN, DayNum::MAX));
                // Every request waits while a step runs (a day of 200,000 heartbeats takes
                // tens of ms): steps get at most 1/REFRESH_SHARE of the writer's time.
                refresh_pause = REFRESH_UNDER_LOAD.max(last_refresh.elapsed() * REFRESH_SHARE);
            }
        }
    }

    fn close(&mut self) {
        if let Err(e) = self.store.close() {
            tracing::warn!("closing the store: {e}");
        }
    }

    /// Hands the writer to a new thread, to wait there for the next command, and lets this
    /// one exit: glibc keeps a cache of freed blocks per thread that only the thread's exit
    /// gives back, and after a burst (an import) the writer's pinned pages all over the heap
    /// that `malloc_trim` could not return. Gives the writer back when no thread can start.
    fn move_to_fresh_thread(
        self,
        rx: mpsc::Receiver<WriteCmd>,
    ) -> Result<(), (Writer, mpsc::Receiver<WriteCmd>)> {
        let (give, take) = mpsc::sync_channel::<(Writer, mpsc::Receiver<WriteCmd>)>(1);
        let spawned = writer_thread().spawn(move || {
            if let Ok((mut w, rx)) = take.recv() {
                match Writer::wait_for_work(&rx) {
                    Some(cmd) => w.run(rx, Some(cmd)),
                    None => w.close(),
                }
            }
        });
        match spawned {
            // The new thread waits on `take` until it has the writer: the send cannot fail.
            Ok(_) => give.send((self, rx)).map_err(|mpsc::SendError(stay)| stay),
            Err(e) => {
                tracing::warn!("writer: no thread to go idle on ({e}); staying on this one");
                Err((self, rx))
            }
        }
    }

    /// Idle: trims the heap once the thread left behind has exited, then sleeps until a
    /// command arrives, without waking. None when every handle is gone.
    fn wait_for_work(rx: &mpsc::Receiver<WriteCmd>) -> Option<WriteCmd> {
        match rx.recv_timeout(TRIM_AFTER_MOVE) {
            Ok(cmd) => Some(cmd),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                crate::heap::trim();
                rx.recv().ok()
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Refreshes stale rollups a few days at a time for as long as no request is waiting,
    /// then does the store's housekeeping. Returns the request that interrupted it.
    fn when_idle(&mut self, rx: &mpsc::Receiver<WriteCmd>) -> Option<WriteCmd> {
        loop {
            if self.refresh_step(None, (DayNum::MIN, DayNum::MAX)) < REFRESH_STEP {
                break;
            }
            if let Ok(cmd) = rx.try_recv() {
                return Some(cmd);
            }
        }
        if let Err(e) = self.store.idle() {
            tracing::warn!("housekeeping: {e}");
        }
        // The heap is trimmed by `wait_for_work`, after the move to a fresh thread.
        None
    }

    /// One refresh step; returns how many days it refreshed (0 on error, which is logged).
    fn refresh_step(&mut self, user: Option<UserId>, days: (DayNum, DayNum)) -> usize {
        match self.refresh(user, days, REFRESH_STEP) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("refreshing rollups: {e}");
                0
            }
        }
    }

    fn refresh(
        &mut self,
        user: Option<UserId>,
        days: (DayNum, DayNum),
        max: usize,
    ) -> Result<usize, StoreError> {
        let defaults = self.defaults.clone();
        let mut accounts: HashMap<UserId, Option<Scope>> = HashMap::new();
        let mut users = Vec::new();
        self.store.read(&mut |snap| {
            users = snap.users()?;
            Ok(())
        })?;
        let mut scope_of = |id: UserId| {
            accounts
                .entry(id)
                .or_insert_with(|| {
                    users
                        .iter()
                        .find(|u| u.id == id)
                        .map(|u| Account::resolve(u, &defaults).scope)
                })
                .clone()
        };
        rollup::refresh(&mut *self.store, &mut scope_of, user, days, max)
    }

    /// Handles a group of commands in order; returns true on Stop.
    fn process(&mut self, cmds: Vec<WriteCmd>) -> bool {
        let mut pending: Vec<PendingInsert> = Vec::new();
        let mut stop = false;
        for cmd in cmds {
            match cmd {
                WriteCmd::Heartbeats {
                    scope,
                    items,
                    from,
                    echo,
                    reply,
                } => pending.push(PendingInsert {
                    scope,
                    items,
                    from,
                    echo,
                    reply,
                }),
                other => {
                    // Keep the order: flush queued heartbeats before anything else.
                    self.flush(&mut pending);
                    match other {
                        WriteCmd::Interval {
                            scope,
                            interval,
                            now_ms,
                            from,
                            reply,
                        } => {
                            let out = self.store.add_interval(&scope, &interval, now_ms, &from);
                            let _ = reply.send(out.map_err(WriteError::Store));
                        }
                        WriteCmd::Refresh { user, days, reply } => {
                            let out = self.refresh(Some(user), days, usize::MAX);
                            let _ = reply.send(out.map(|_| ()).map_err(WriteError::Store));
                        }
                        WriteCmd::Run(job) => job(&mut *self.store),
                        WriteCmd::Stop => stop = true,
                        WriteCmd::Heartbeats { .. } => unreachable!("handled above"),
                    }
                }
            }
        }
        self.flush(&mut pending);
        stop
    }

    /// Stores every pending request's heartbeats in one transaction.
    fn flush(&mut self, pending: &mut Vec<PendingInsert>) {
        if pending.is_empty() {
            return;
        }
        for p in pending.iter_mut() {
            self.resolve_placeholders(p.scope.user, &mut p.items);
        }
        let batches: Vec<Batch<'_>> = pending
            .iter()
            .map(|p| Batch {
                scope: &p.scope,
                beats: &p.items,
                from: &p.from,
            })
            .collect();
        match self.store.insert(&batches) {
            Ok(results) => {
                for (p, stored) in pending.drain(..).zip(results) {
                    let latest_new = p
                        .items
                        .iter()
                        .zip(&stored)
                        .filter(|(_, s)| **s == Stored::New)
                        .map(|(h, _)| h.time)
                        .reduce(f64::max);
                    let beats = if p.echo { p.items } else { Vec::new() };
                    let _ = p.reply.send(Ok(Written {
                        stored,
                        latest_new,
                        beats,
                    }));
                }
            }
            Err(e) => {
                tracing::error!("storing heartbeats: {e}");
                // The placeholders' memory may be ahead of what was stored.
                self.last.clear();
                let msg = e.to_string();
                let unavailable = e.is_unavailable();
                for p in pending.drain(..) {
                    let err = if unavailable {
                        clone_unavailable(&e)
                    } else {
                        StoreError::Backend {
                            path: String::new(),
                            reason: msg.clone(),
                        }
                    };
                    let _ = p.reply.send(Err(WriteError::Store(err)));
                }
            }
        }
    }

    /// WakaTime's `<<LAST_…>>` placeholders ([`resolve_placeholders`]). Every heartbeat goes
    /// through here, so one rule holds for the HTTP API, the socket and the heartbeats the
    /// daemon makes itself; the user's newest values are read from the store once.
    fn resolve_placeholders(&mut self, user: UserId, items: &mut [Heartbeat]) {
        if !self.last.contains_key(&user) {
            if self.last.len() > 10_000 {
                self.last.clear();
            }
            let mut newest = None;
            let _ = self.store.read(&mut |snap| {
                newest = snap.latest(user, i64::MAX)?;
                Ok(())
            });
            let entry = newest
                .map(|h| (h.time, LastValues::from_heartbeat(&h)))
                .unwrap_or((f64::MIN, LastValues::default()));
            self.last.insert(user, entry);
        }
        if let Some((newest, last)) = self.last.get_mut(&user) {
            resolve_placeholders(items, newest, last);
        }
    }
}

/// A disk-full or unreachable-database error for each waiting request.
fn clone_unavailable(e: &StoreError) -> StoreError {
    match e {
        StoreError::DiskFull { path } => StoreError::DiskFull { path: path.clone() },
        StoreError::Unavailable { path, reason } => StoreError::Unavailable {
            path: path.clone(),
            reason: reason.clone(),
        },
        other => StoreError::Backend {
            path: String::new(),
            reason: other.to_string(),
        },
    }
}

/// Heartbeats of one request waiting for the next commit, with where to send the outcome.
struct PendingInsert {
    scope: Scope,
    items: Vec<Heartbeat>,
    from: Provenance,
    echo: bool,
    reply: oneshot::Sender<Result<Written, WriteError>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use crate::store::{Database, Scope, sqlite::SqliteDatabase};
    use crate::timeline::Rules;

    /// After 2 s without work the writer moves to a fresh thread: it must serve on there,
    /// and `join` must wait for the thread it ends on, after its store is closed.
    #[test]
    fn the_writer_serves_on_after_going_idle_and_join_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDatabase::open(&dir.path().join("t.db")).unwrap();
        let mut store = db.writer().unwrap();
        let user = store
            .add_user("me", &Default::default(), 0)
            .expect("a user")
            .id;
        let defaults = Defaults {
            calendar: Calendar::new(jiff::tz::TimeZone::UTC),
            timeout_minutes: None,
            preset: Default::default(),
            week_start: Default::default(),
        };
        let (writer, thread) = spawn(store, defaults, false).unwrap();
        let scope = Scope {
            user,
            calendar: Calendar::new(jiff::tz::TimeZone::UTC),
            rules: Rules::timeforged(15 * 60_000),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store_one = |time: f64| {
            let beats = vec![Heartbeat::new(time, format!("/src/{time}.rs"))];
            let written = runtime
                .block_on(writer.heartbeats(scope.clone(), beats))
                .unwrap();
            assert_eq!(written.stored, vec![Stored::New]);
            assert_eq!(written.latest_new, Some(time));
            assert!(written.beats.is_empty(), "not asked for");
        };
        store_one(1_700_000_000.0);
        // Idle (IDLE_AFTER), then moved and trimmed (TRIM_AFTER_MOVE).
        std::thread::sleep(IDLE_AFTER + TRIM_AFTER_MOVE + Duration::from_millis(500));
        store_one(1_700_000_060.0);
        let echoed = runtime
            .block_on(writer.heartbeats_echoed(
                scope.clone(),
                vec![Heartbeat::new(1_700_000_060.0, "/src/1700000060.rs")],
            ))
            .unwrap();
        assert_eq!(echoed.stored, vec![Stored::Duplicate]);
        assert_eq!(echoed.latest_new, None);
        assert_eq!(
            echoed.beats.len(),
            1,
            "the HTTP API's answer shows each heartbeat"
        );

        writer.stop();
        thread.join();
        // Joined: the store is closed and both heartbeats are there for a new reader.
        let count = crate::store::read(&db, |r| {
            let mut n = 0;
            r.heartbeats(user, 0, i64::MAX, &mut |_| {
                n += 1;
                true
            })?;
            Ok(n)
        })
        .unwrap();
        assert_eq!(count, 2);
    }
}
