//! The SQLite backend: one file (WAL), one [`Writer`] connection that owns every write and
//! batches them into transactions, and reader connections whose snapshots are read
//! transactions. Strings are interned; heartbeats are clustered by (user, time, id).

mod edit;
mod git;
mod schema;

use super::{
    AiCounts, ApiKey, Batch, DayRollup, Dims, DirtyDay, JournalPage, KeyHash, KeySelector, Logged,
    Provenance, Record, Result, Rollup, Scope, Snapshot, Store, StoreError, Stored, User, UserId,
    UserSettings, WebToken, WebTokenKind, journal_kind,
};
use crate::calendar::DayNum;
use crate::focus::{FocusPlan, FocusSession};
use crate::model::{Category, EntityType, Heartbeat, Interval, Source, ms_to_seconds};
use crate::timeline::{Beat, Span};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection> {
    if path.is_dir() {
        return Err(StoreError::IsDirectory {
            path: path.display().to_string(),
        });
    }
    // Each connection is used by one thread at a time, so SQLite's own mutexes are not needed.
    let flags = flags | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| classify(path, e))?;
    // Plans that never depend on bound values. Without this, SQLite (3.54) marks a join's
    // parameters as plan-relevant and re-prepares the statement at every execution after a
    // bind (~30–70 µs each: the API key lookup of every HTTP request, `latest`, the log and
    // export queries). The schema has no LIKE, partial index or statistics that could use them.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// Stops every connection opened later from reserving page cache at open: by default each one
/// takes a block for 20 pages (~90 KB) that it keeps until closed, used or not, while pages
/// allocated one by one are given back by `shrink_memory`. Takes effect only before SQLite's
/// first use in the process (then it changes nothing), so the daemon calls it first thing.
pub fn no_page_cache_up_front() {
    // SAFETY: SQLITE_CONFIG_PAGECACHE takes (void *buffer, int slot size, int slots); a null
    // buffer with 0 slots means none. Before sqlite3_initialize, as here, sqlite3_config is
    // safe to call while no other thread uses SQLite; after it, it returns SQLITE_MISUSE.
    unsafe {
        rusqlite::ffi::sqlite3_config(
            rusqlite::ffi::SQLITE_CONFIG_PAGECACHE,
            std::ptr::null_mut::<std::ffi::c_void>(),
            0 as std::ffi::c_int,
            0 as std::ffi::c_int,
        );
    }
}

/// Turns SQLite's error codes into errors that say what to do.
fn classify(path: &Path, source: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    let shown = path.display().to_string();
    let reason = source.to_string();
    match source.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => StoreError::Corrupt {
            path: shown,
            reason,
        },
        Some(DiskFull) => StoreError::DiskFull { path: shown },
        Some(ReadOnly | CannotOpen) if path.is_dir() => StoreError::IsDirectory { path: shown },
        Some(ReadOnly | CannotOpen) if !writable(path) => StoreError::ReadOnly {
            path: shown,
            reason,
        },
        _ => StoreError::Backend {
            path: shown,
            reason,
        },
    }
}

fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().append(true).open(path).is_ok()
}

/// Runs one statement without parameters, prepared once per connection: transactions begin and
/// commit on every request, and parsing their SQL each time was a visible part of the cost.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Bound on the in-memory string caches, so a flood of unique paths cannot grow memory forever.
const STRING_CACHE_MAX: usize = 50_000;

/// An SQLite database: snapshots from a small pool of read connections, and the writer.
pub struct SqliteDatabase {
    path: PathBuf,
    readers: Mutex<Vec<Reader>>,
    /// The writer opened (and the schema migrated) by [`SqliteDatabase::open`], handed out once.
    first_writer: Mutex<Option<Writer>>,
    /// [`Database::accounts_version`], shared with every writer handed out.
    accounts: Arc<AtomicU64>,
}

impl SqliteDatabase {
    /// Opens (creating if needed) and migrates the database, so a bad file is reported at once.
    pub fn open(path: &Path) -> Result<SqliteDatabase> {
        let writer = Writer::open(path)?;
        Ok(SqliteDatabase {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            accounts: writer.accounts.clone(),
            first_writer: Mutex::new(Some(writer)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl super::Database for SqliteDatabase {
    fn read_with(&self, f: &mut dyn FnMut(&dyn Snapshot) -> Result<()>) -> Result<()> {
        let pooled = self.readers.lock().ok().and_then(|mut p| p.pop());
        let reader = match pooled {
            Some(r) => r,
            None => Reader::open(&self.path)?,
        };
        let out = reader.snapshot(f);
        if let Ok(mut pool) = self.readers.lock() {
            pool.push(reader);
        }
        out
    }

    fn writer(&self) -> Result<Box<dyn Store>> {
        if let Some(w) = self.first_writer.lock().ok().and_then(|mut w| w.take()) {
            return Ok(Box::new(w));
        }
        let mut writer = Writer::open(&self.path)?;
        writer.accounts = self.accounts.clone();
        Ok(Box::new(writer))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn size_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            total += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        }
        Ok(total)
    }

    /// A local file in WAL mode: a reader never waits for the writer.
    fn quick_lookups(&self) -> bool {
        true
    }

    fn release_memory(&self) {
        if let Ok(pool) = self.readers.lock() {
            for r in pool.iter() {
                let _ = r.conn.execute_batch("PRAGMA shrink_memory");
            }
        }
    }

    fn accounts_version(&self) -> Option<u64> {
        Some(self.accounts.load(Ordering::Acquire))
    }

    fn release_idle(&self) {
        // Every reader goes, with its schema, statements and lookaside: kept, the one opened
        // for a burst of reports pinned its pages all over the heap that burst had grown.
        // Reopening one costs the next request about 0.1 ms.
        let closed = match self.readers.lock() {
            Ok(mut pool) => std::mem::take(&mut *pool),
            Err(_) => Vec::new(),
        };
        drop(closed);
    }
}

/// The single writer: owns the connection that writes and the string cache.
pub struct Writer {
    conn: Connection,
    path: PathBuf,
    strings: Interner,
    names: RefCell<HashMap<u32, String>>,
    wal: WalKeeper,
    /// [`Database::accounts_version`]: moved on after each commit that changes users or keys.
    accounts: Arc<AtomicU64>,
}

/// Keeps the WAL small. SQLite's own checkpoints (off here) would run on a client's commit;
/// instead a thread of ours copies the WAL back every few hundred commits without holding up
/// the writer. When that cannot keep up (continuous load, readers holding old pages), the
/// writer itself checkpoints and empties the WAL once it passes [`WAL_LIMIT`]; when idle the
/// WAL is emptied too. So the WAL stays bounded however long the daemon runs.
struct WalKeeper {
    /// Wakes the checkpoint thread (a full channel means one is already pending).
    nudge: Option<std::sync::mpsc::SyncSender<()>>,
    commits: u64,
    file: PathBuf,
}

/// Commits between two background checkpoints.
const CHECKPOINT_EVERY: u64 = 200;
/// Commits between two looks at the WAL's size.
const WAL_CHECK_EVERY: u64 = 64;
/// A WAL larger than this is emptied by the writer itself, and the size SQLite truncates it
/// to after a checkpoint.
const WAL_LIMIT: u64 = 16 * 1024 * 1024;
/// How long the checkpointer keeps its connection after the last nudge.
const CHECKPOINTER_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

impl WalKeeper {
    fn new(db: &Path) -> WalKeeper {
        let mut file = db.as_os_str().to_owned();
        file.push("-wal");
        WalKeeper {
            nudge: spawn_checkpointer(db),
            commits: 0,
            file: PathBuf::from(file),
        }
    }

    /// After each commit; true when the WAL is over its limit and must be emptied now.
    fn committed(&mut self) -> bool {
        self.commits += 1;
        if self.commits.is_multiple_of(CHECKPOINT_EVERY)
            && let Some(n) = &self.nudge
        {
            let _ = n.try_send(());
        }
        self.commits.is_multiple_of(WAL_CHECK_EVERY)
            && std::fs::metadata(&self.file).is_ok_and(|m| m.len() > WAL_LIMIT)
    }
}

/// A thread with a connection of its own that runs a passive checkpoint each time it is
/// nudged (the fsyncs happen there, not while a client waits for its acknowledgement). Its
/// connection is closed once the nudges stop for [`CHECKPOINTER_IDLE`] (an idle daemon keeps
/// no schema or caches for it) and opened again by the next. It exits when the writer is gone.
fn spawn_checkpointer(db: &Path) -> Option<std::sync::mpsc::SyncSender<()>> {
    use std::sync::mpsc::RecvTimeoutError;
    let (nudge, nudged) = std::sync::mpsc::sync_channel::<()>(1);
    let path = db.to_path_buf();
    std::thread::Builder::new()
        .name("timeforged-checkpoint".into())
        .spawn(move || {
            let mut conn = None;
            loop {
                // Without a connection there is nothing to close: wait without waking.
                let nudge = match conn {
                    Some(_) => nudged.recv_timeout(CHECKPOINTER_IDLE),
                    None => nudged.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match nudge {
                    Ok(()) => {}
                    Err(RecvTimeoutError::Timeout) => {
                        conn = None;
                        crate::heap::trim();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                if conn.is_none() {
                    conn = open_connection(&path, OpenFlags::SQLITE_OPEN_READ_WRITE).ok();
                }
                if let Some(c) = &conn
                    && let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!("checkpoint: {e}");
                }
            }
        })
        .ok()
        .map(|_| nudge)
}

/// Interned strings: the writer's cache of `strings` ids (hit for almost every field).
#[derive(Default)]
struct Interner {
    ids: HashMap<Box<str>, u32, xxhash_rust::xxh3::Xxh3Builder>,
}

impl Interner {
    /// The id of `value` (≥ 1), inserting it when new.
    fn id(&mut self, conn: &Connection, value: &str) -> rusqlite::Result<u32> {
        if let Some(&id) = self.ids.get(value) {
            return Ok(id);
        }
        if self.ids.len() >= STRING_CACHE_MAX {
            self.ids.clear();
        }
        conn.prepare_cached("INSERT OR IGNORE INTO strings (value) VALUES (?1)")?
            .execute([value])?;
        let id: u32 = conn
            .prepare_cached("SELECT id FROM strings WHERE value = ?1")?
            .query_row([value], |r| r.get(0))?;
        self.ids.insert(value.into(), id);
        Ok(id)
    }

    fn opt(&mut self, conn: &Connection, value: Option<&str>) -> rusqlite::Result<Option<u32>> {
        value.map(|v| self.id(conn, v)).transpose()
    }

    /// Forgets every id, and gives the memory back.
    fn clear(&mut self) {
        self.ids.clear();
        self.ids.shrink_to_fit();
    }
}

impl Writer {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Writer> {
        prepare_files(path)?;
        let conn = open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        schema::check(&conn, path)?;
        let mut w = Writer {
            conn,
            path: path.to_path_buf(),
            strings: Interner::default(),
            names: RefCell::default(),
            wal: WalKeeper::new(path),
            accounts: Arc::default(),
        };
        w.conn
            // Checkpoints are ours (see `WalKeeper`), never on a client's commit.
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                 PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_LIMIT};"
            ))
            .map_err(|e| w.err(e))?;
        schema::migrate(&mut w.conn, path)?;
        w.conn
            .execute(
                "INSERT OR IGNORE INTO meta (key, value) SELECT 'heartbeat_count', count(*) FROM heartbeats",
                [],
            )
            .map_err(|e| w.err(e))?;
        Ok(w)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    /// [`Writer::transaction`] for a change to users or keys: moves the accounts version on
    /// once it is committed (or rolled back; a needless move only costs a cache a lookup).
    fn accounts_transaction<T>(
        &mut self,
        f: impl FnOnce(&Connection, &mut Interner) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let result = self.transaction(f);
        self.accounts.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// Runs `f` in an immediate transaction; on error rolls back and forgets cached ids that
    /// may not exist.
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Connection, &mut Interner) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        run(&self.conn, "BEGIN IMMEDIATE").map_err(|e| classify(&path, e))?;
        let out =
            f(&self.conn, &mut self.strings).and_then(|v| run(&self.conn, "COMMIT").map(|()| v));
        match out {
            Ok(v) => {
                self.committed();
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.strings.clear();
                Err(classify(&path, e))
            }
        }
    }

    /// Counts a commit; restarts the WAL here when the background checkpoints fall behind
    /// (under continuous load a passive checkpoint never catches up with the writer, so the
    /// WAL would never start over). Restarted, not truncated: the next commits then overwrite
    /// the file's pages instead of growing it page by page again (which cost the writer more
    /// than the writing itself); it is truncated once idle. A reader in the middle of a long
    /// snapshot (an export) keeps the WAL alive: then this gives up quickly rather than hold
    /// up the writer, and tries again later.
    fn committed(&mut self) {
        if !self.wal.committed() {
            return;
        }
        let _ = self
            .conn
            .busy_timeout(std::time::Duration::from_millis(100));
        if let Err(e) = self.run_checkpoint("RESTART") {
            tracing::debug!("restarting the WAL: {e}");
        }
        let _ = self.conn.busy_timeout(std::time::Duration::from_secs(10));
    }

    /// Copies the WAL into the database file. `truncate` also empties the WAL file (it waits
    /// for readers, so it is done when idle).
    pub fn checkpoint(&self, truncate: bool) -> Result<()> {
        self.run_checkpoint(if truncate { "TRUNCATE" } else { "PASSIVE" })
    }

    fn run_checkpoint(&self, mode: &str) -> Result<()> {
        self.conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    fn snapshot_view(&self) -> SqliteSnapshot<'_> {
        SqliteSnapshot {
            conn: &self.conn,
            path: &self.path,
            names: &self.names,
        }
    }
}

/// Makes a database whose `-wal`/`-shm` were left unwritable (created while the database was
/// read-only) usable once the database itself is writable again.
fn prepare_files(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if path.is_dir() {
        return Err(StoreError::IsDirectory {
            path: path.display().to_string(),
        });
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.permissions().readonly() {
        return Ok(());
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        if let Ok(m) = std::fs::metadata(&side)
            && m.permissions().mode() & 0o200 == 0
        {
            let _ = std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o600));
        }
    }
    Ok(())
}

/// Collects the local days whose rollups a heartbeat at `t` affects: its own day, and the days
/// of `t ± timeout` (its span and its predecessor's may cross midnight).
struct DayMarker<'a> {
    scope: &'a Scope,
    days: std::collections::BTreeSet<DayNum>,
    /// The last day looked up, as `[start, end)`, to skip time zone math for most heartbeats.
    cached: Option<(i64, i64, DayNum)>,
}

impl<'a> DayMarker<'a> {
    fn new(scope: &'a Scope) -> Self {
        DayMarker {
            scope,
            days: Default::default(),
            cached: None,
        }
    }

    fn mark(&mut self, t: i64) {
        let timeout = self.scope.rules.timeout_ms;
        for at in [t - timeout, t, t + timeout] {
            let day = match self.cached {
                Some((a, b, day)) if a <= at && at < b => day,
                _ => {
                    let cal = &self.scope.calendar;
                    let date = cal.date_of(at);
                    let (a, b) = cal.bounds(date);
                    let day = crate::calendar::day_num(date);
                    self.cached = Some((a, b, day));
                    day
                }
            };
            self.days.insert(day);
        }
    }

    /// Every day `[start, end)` touches.
    fn mark_span(&mut self, start: i64, end: i64) {
        let cal = &self.scope.calendar;
        let mut t = start;
        while t < end {
            let date = cal.date_of(t);
            self.days.insert(crate::calendar::day_num(date));
            t = cal.bounds(date).1;
        }
    }

    fn write(self, conn: &Connection, user: UserId) -> rusqlite::Result<()> {
        let mut st = conn.prepare_cached(
            "INSERT INTO dirty_days (user_id, day) VALUES (?1, ?2)
             ON CONFLICT (user_id, day) DO UPDATE SET mark = mark + 1",
        )?;
        for day in self.days {
            st.execute(params![user, day])?;
        }
        Ok(())
    }
}

impl Store for Writer {
    fn insert(&mut self, batches: &[Batch<'_>]) -> Result<Vec<Vec<Stored>>> {
        self.transaction(|conn, strings| {
            let mut all = Vec::with_capacity(batches.len());
            let mut new = 0i64;
            for batch in batches {
                let out = insert_heartbeats(conn, strings, batch)?;
                new += out.iter().filter(|s| **s == Stored::New).count() as i64;
                all.push(out);
            }
            // Only when it changes: an UPDATE writes its page (one more WAL frame) even then.
            if new > 0 {
                conn.prepare_cached(
                    "UPDATE meta SET value = CAST(value AS INTEGER) + ?1 WHERE key = 'heartbeat_count'",
                )?
                .execute([new])?;
            }
            Ok(all)
        })
    }

    fn add_interval(
        &mut self,
        scope: &Scope,
        iv: &Interval,
        now_ms: i64,
        from: &Provenance,
    ) -> Result<(i64, bool)> {
        self.transaction(|conn, strings| {
            let project = strings.id(conn, &iv.project)?;
            let branch = strings.opt(conn, iv.branch.as_deref())?;
            let origin = strings.opt(conn, from.origin.as_deref())?;
            let (start, end) = (
                crate::model::seconds_to_ms(iv.start),
                crate::model::seconds_to_ms(iv.end),
            );
            let added = conn.execute(
                "INSERT OR IGNORE INTO intervals (user_id, start_ms, end_ms, project, branch, category, note, created_ms, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![scope.user, start, end, project, branch, iv.category.code(), iv.note, now_ms, origin],
            )? == 1;
            let id: i64 = conn.query_row(
                "SELECT id FROM intervals WHERE user_id = ?1 AND start_ms = ?2 AND end_ms = ?3 AND project = ?4",
                params![scope.user, start, end, project],
                |r| r.get(0),
            )?;
            if added {
                let mut days = DayMarker::new(scope);
                days.mark_span(start, end);
                days.write(conn, scope.user)?;
                if from.journal {
                    journal(conn, scope.user, journal_kind::INTERVAL, start, id, None, origin)?;
                }
            }
            Ok((id, added))
        })
    }

    fn edit_interval(
        &mut self,
        scope: &Scope,
        which: super::IntervalRef<'_>,
        new: Option<&Interval>,
        from: &Provenance,
    ) -> Result<super::IntervalEdit> {
        self.transaction(|conn, strings| {
            edit::edit_interval(conn, strings, scope, which, new, from)
        })
    }

    fn forget(
        &mut self,
        scope: &Scope,
        what: &super::Forget,
        apply: bool,
        from: &Provenance,
    ) -> Result<super::Forgotten> {
        self.transaction(|conn, strings| edit::forget(conn, strings, scope, what, apply, from))
    }

    fn record_git(
        &mut self,
        user: UserId,
        project: &str,
        e: &crate::git::GitEvent,
        time_ms: i64,
        from: &Provenance,
    ) -> Result<super::GitRecorded> {
        self.transaction(|conn, strings| {
            git::record(conn, strings, user, project, e, time_ms, from.journal)
        })
    }

    fn apply_git(&mut self, user: UserId, records: &[Record], from: &Provenance) -> Result<usize> {
        self.transaction(|conn, strings| git::apply(conn, strings, user, records, from))
    }

    fn dirty(
        &mut self,
        user: Option<UserId>,
        from: DayNum,
        to: DayNum,
        max: usize,
    ) -> Result<Vec<DirtyDay>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT user_id, day, mark FROM dirty_days
                 WHERE (?1 IS NULL OR user_id = ?1) AND day BETWEEN ?2 AND ?3
                 ORDER BY day, user_id LIMIT ?4",
            )
            .map_err(|e| classify(&self.path, e))?;
        st.query_map(
            params![user, from, to, max.min(i64::MAX as usize) as i64],
            |r| {
                Ok(DirtyDay {
                    user: r.get(0)?,
                    day: r.get(1)?,
                    mark: r.get(2)?,
                })
            },
        )
        .and_then(|rows| rows.collect())
        .map_err(|e| classify(&self.path, e))
    }

    fn refresh_day(
        &mut self,
        d: DirtyDay,
        compute: &mut dyn FnMut(&dyn Snapshot) -> Result<DayRollup>,
    ) -> Result<()> {
        let path = self.path.clone();
        run(&self.conn, "BEGIN IMMEDIATE").map_err(|e| classify(&path, e))?;
        let rows = compute(&self.snapshot_view());
        let written = rows.map_err(Some).and_then(|rows| {
            replace_day(&self.conn, d, &rows)
                .and_then(|()| run(&self.conn, "COMMIT"))
                .map_err(|e| Some(classify(&path, e)))
        });
        match written {
            Ok(()) => {
                self.committed();
                Ok(())
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e.unwrap_or_else(|| StoreError::Invalid("refresh failed".into())))
            }
        }
    }

    fn rollup_rules(&mut self, user: UserId) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT rollup_rules FROM users WHERE id = ?1",
                [user],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    fn reset_rollups(&mut self, user: UserId, rules: &str, days: &[DayNum]) -> Result<()> {
        self.transaction(|conn, _| {
            conn.execute("DELETE FROM daily WHERE user_id = ?1", [user])?;
            conn.execute("DELETE FROM daily_entities WHERE user_id = ?1", [user])?;
            conn.execute("DELETE FROM dirty_days WHERE user_id = ?1", [user])?;
            let mut ins = conn.prepare_cached(
                "INSERT OR IGNORE INTO dirty_days (user_id, day) VALUES (?1, ?2)",
            )?;
            for day in days {
                ins.execute(params![user, day])?;
            }
            conn.execute(
                "UPDATE users SET rollup_rules = ?2 WHERE id = ?1",
                params![user, rules],
            )?;
            Ok(())
        })
    }

    fn read(&mut self, f: &mut dyn FnMut(&dyn Snapshot) -> Result<()>) -> Result<()> {
        f(&self.snapshot_view())
    }

    fn add_user(&mut self, name: &str, settings: &UserSettings, now_ms: i64) -> Result<User> {
        super::check_user_name(name)?;
        let json = settings_json(settings);
        let added = self.accounts_transaction(|conn, _| {
            conn.execute(
                "INSERT OR IGNORE INTO users (name, created_ms, settings) VALUES (?1, ?2, ?3)",
                params![name, now_ms, json],
            )
        })?;
        if added == 0 {
            return Err(StoreError::Invalid(format!(
                "a user named {name:?} already exists"
            )));
        }
        self.snapshot_view()
            .user_by_name(name)?
            .ok_or_else(|| StoreError::NotFound(format!("user {name:?} vanished")))
    }

    fn remove_user(&mut self, user: UserId) -> Result<()> {
        self.accounts_transaction(|conn, _| {
            for table in [
                "heartbeats",
                "intervals",
                "daily",
                "daily_entities",
                "dirty_days",
                "api_keys",
                "commits",
                "branch_switches",
                "journal",
                "focus_sessions",
            ] {
                conn.execute(&format!("DELETE FROM {table} WHERE user_id = ?1"), [user])?;
            }
            conn.execute("DELETE FROM users WHERE id = ?1", [user])?;
            conn.execute(
                "UPDATE meta SET value = (SELECT count(*) FROM heartbeats) WHERE key = 'heartbeat_count'",
                [],
            )?;
            Ok(())
        })
    }

    fn rename_user(&mut self, user: UserId, name: &str) -> Result<()> {
        super::check_user_name(name)?;
        self.accounts_transaction(|conn, _| {
            conn.execute(
                "UPDATE users SET name = ?2 WHERE id = ?1",
                params![user, name],
            )
        })
        .map(|_| ())
    }

    fn set_settings(&mut self, user: UserId, settings: &UserSettings) -> Result<()> {
        let json = settings_json(settings);
        self.accounts_transaction(|conn, _| {
            conn.execute(
                "UPDATE users SET settings = ?2 WHERE id = ?1",
                params![user, json],
            )
        })
        .map(|_| ())
    }

    fn add_key(
        &mut self,
        user: UserId,
        hash: &KeyHash,
        label: Option<&str>,
        read_only: bool,
        now_ms: i64,
    ) -> Result<ApiKey> {
        let id = self.accounts_transaction(|conn, _| {
            conn.execute(
                "INSERT OR IGNORE INTO api_keys (user_id, hash, label, read_only, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user, &hash[..], label, read_only, now_ms],
            )?;
            conn.query_row(
                "SELECT id FROM api_keys WHERE hash = ?1",
                [&hash[..]],
                |r| r.get::<_, i64>(0),
            )
        })?;
        Ok(ApiKey {
            id,
            user,
            label: label.map(str::to_string),
            read_only,
            created_ms: now_ms,
        })
    }

    fn revoke_keys(&mut self, which: KeySelector<'_>) -> Result<usize> {
        self.accounts_transaction(|conn, _| match which {
            KeySelector::Id(id) => conn.execute("DELETE FROM api_keys WHERE id = ?1", [id]),
            KeySelector::OfUser { user, label } => conn.execute(
                "DELETE FROM api_keys WHERE user_id = ?1 AND (?2 IS NULL OR label = ?2)",
                params![user, label],
            ),
        })
    }

    fn start_focus(
        &mut self,
        user: UserId,
        start_ms: i64,
        plan: &FocusPlan,
    ) -> Result<FocusSession> {
        let started = self.transaction(|conn, _| {
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO focus_sessions (user_id, start_ms, planned_ms, project, note)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user, start_ms, plan.duration_ms, plan.project, plan.note],
            )?;
            Ok((inserted == 1).then(|| conn.last_insert_rowid()))
        })?;
        let Some(id) = started else {
            return Err(StoreError::Invalid(crate::store::FOCUS_RUNNING.into()));
        };
        Ok(plan.started(id, start_ms))
    }

    fn end_focus(
        &mut self,
        user: UserId,
        end_ms: i64,
        completed: bool,
    ) -> Result<Option<FocusSession>> {
        self.transaction(|conn, _| {
            let running = conn
                .prepare_cached(&format!(
                    "SELECT {FOCUS_COLUMNS} FROM focus_sessions WHERE user_id = ?1 AND end_ms IS NULL"
                ))?
                .query_row([user], row_to_focus)
                .optional()?;
            let Some(mut f) = running else {
                return Ok(None);
            };
            // Never before it started: a clock set back must not give a negative session.
            let end_ms = end_ms.max(f.start_ms);
            conn.execute(
                "UPDATE focus_sessions SET end_ms = ?2, completed = ?3 WHERE id = ?1",
                params![f.id, end_ms, completed],
            )?;
            f.end_ms = Some(end_ms);
            f.completed = completed;
            Ok(Some(f))
        })
    }

    fn add_watch_root(&mut self, path: &str, now_ms: i64) -> Result<bool> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO watch_roots (path, added_ms) VALUES (?1, ?2)",
                params![path, now_ms],
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    fn remove_watch_root(&mut self, path: &str) -> Result<bool> {
        self.conn
            .execute("DELETE FROM watch_roots WHERE path = ?1", [path])
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    fn set_sync_state(&mut self, target: &str, state: &str) -> Result<()> {
        self.transaction(|conn, _| {
            conn.execute(
                "INSERT INTO sync_state (target, state) VALUES (?1, ?2)
                 ON CONFLICT (target) DO UPDATE SET state = excluded.state",
                params![target, state],
            )
        })
        .map(|_| ())
    }

    fn prune_journal(&mut self, upto: i64) -> Result<()> {
        self.transaction(|conn, _| conn.execute("DELETE FROM journal WHERE seq <= ?1", [upto]))
            .map(|_| ())
    }

    fn ensure_machine_id(&mut self) -> Result<String> {
        if let Some(id) = self.snapshot_view().machine_id()? {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        self.transaction(|conn, _| {
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('machine_id', ?1)",
                [&id],
            )
        })?;
        self.snapshot_view()
            .machine_id()?
            .ok_or_else(|| StoreError::NotFound("machine id".into()))
    }

    fn idle(&mut self) -> Result<()> {
        // Empty the WAL (readers are between snapshots when the daemon is idle), then give
        // SQLite's page cache back.
        let out = self.checkpoint(true);
        let _ = self.conn.execute_batch("PRAGMA shrink_memory");
        self.names.borrow_mut().clear();
        // Caches that an import fills (every string it met, every statement it ran) are
        // rebuilt on demand by the next write, for a few lookups.
        self.strings.clear();
        self.conn.flush_prepared_statement_cache();
        out
    }

    fn close(&mut self) -> Result<()> {
        self.checkpoint(true)
    }

    fn add_web_token(&mut self, t: &WebToken) -> Result<()> {
        self.transaction(|conn, _| {
            conn.execute(
                "DELETE FROM web_tokens WHERE expires_ms <= ?1",
                [t.created_ms],
            )?;
            conn.execute(
                "INSERT OR REPLACE INTO web_tokens
                     (hash, user_id, kind, key_id, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    &t.hash[..],
                    t.user,
                    t.kind as i64,
                    t.key_id,
                    t.created_ms,
                    t.expires_ms
                ],
            )
        })
        .map(|_| ())
    }

    fn take_web_token(&mut self, hash: &KeyHash) -> Result<Option<WebToken>> {
        let taken = self.transaction(|conn, _| {
            conn.query_row(
                "DELETE FROM web_tokens WHERE hash = ?1
                 RETURNING hash, user_id, kind, key_id, created_ms, expires_ms",
                [&hash[..]],
                row_to_web_token,
            )
            .optional()
        })?;
        Ok(taken.flatten())
    }

    fn set_badge(&mut self, user: UserId, project: &str, on: bool, now_ms: i64) -> Result<()> {
        self.transaction(|conn, _| {
            if on {
                conn.execute(
                    "INSERT OR IGNORE INTO web_badges (user_id, project, created_ms)
                     VALUES (?1, ?2, ?3)",
                    params![user, project, now_ms],
                )
            } else {
                conn.execute(
                    "DELETE FROM web_badges WHERE user_id = ?1 AND project = ?2",
                    params![user, project],
                )
            }
        })
        .map(|_| ())
    }
}

/// A `web_tokens` row (hash, user_id, kind, key_id, created_ms, expires_ms); None for a kind
/// this build does not know.
fn row_to_web_token(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<WebToken>> {
    let hash: Vec<u8> = r.get(0)?;
    let (Ok(hash), Some(kind)) = (
        <KeyHash>::try_from(hash.as_slice()),
        WebTokenKind::from_code(r.get(2)?),
    ) else {
        return Ok(None);
    };
    Ok(Some(WebToken {
        hash,
        user: r.get(1)?,
        kind,
        key_id: r.get(3)?,
        created_ms: r.get(4)?,
        expires_ms: r.get(5)?,
    }))
}

/// Inserts one user's heartbeats (inside the writer's transaction), journaling the new ones
/// when the batch asks.
fn insert_heartbeats(
    conn: &Connection,
    strings: &mut Interner,
    batch: &Batch<'_>,
) -> rusqlite::Result<Vec<Stored>> {
    let scope = batch.scope;
    let origin = strings.opt(conn, batch.from.origin.as_deref())?;
    let mut out = Vec::with_capacity(batch.beats.len());
    let mut days = DayMarker::new(scope);
    // Prepared once per transaction: this loop runs per heartbeat.
    let mut st = conn.prepare_cached(
        "INSERT OR IGNORE INTO heartbeats (user_id, time_ms, hash, entity, type, category, source,
            is_write, project, branch, language, machine, editor, os, user_agent, lines, lineno,
            cursorpos, dependencies, meta, origin, actor, ai)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                 ?21, ?22, ?23)",
    )?;
    for h in batch.beats {
        let dependencies = (!h.dependencies.is_empty())
            .then(|| serde_json::to_string(&h.dependencies).unwrap_or_default());
        let meta = h
            .meta
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_default());
        let time_ms = h.time_ms();
        let id = h.id();
        let changed = st.execute(params![
            scope.user,
            time_ms,
            id,
            strings.id(conn, &h.entity)?,
            h.entity_type.code(),
            h.category.code(),
            h.source.unwrap_or_default().code(),
            h.is_write,
            strings.opt(conn, h.project.as_deref())?,
            strings.opt(conn, h.branch.as_deref())?,
            strings.opt(conn, h.language.as_deref())?,
            strings.opt(conn, h.machine.as_deref())?,
            strings.opt(conn, h.editor.as_deref())?,
            strings.opt(conn, h.os.as_deref())?,
            strings.opt(conn, h.user_agent.as_deref())?,
            h.lines,
            h.lineno,
            h.cursorpos,
            dependencies,
            meta,
            origin,
            strings.opt(conn, h.actor.as_deref())?,
            AiFields::of(conn, strings, h)?,
        ])?;
        if changed == 1 {
            days.mark(time_ms);
            if batch.from.journal {
                journal(
                    conn,
                    scope.user,
                    journal_kind::HEARTBEAT,
                    time_ms,
                    id,
                    None,
                    origin,
                )?;
            }
            out.push(Stored::New);
        } else {
            out.push(Stored::Duplicate);
        }
    }
    drop(st);
    days.write(conn, scope.user)?;
    Ok(out)
}

/// Appends one entry to the journal; `data` is a commit's sha or a whole record (see
/// [`super::journal_data`]).
fn journal(
    conn: &Connection,
    user: UserId,
    kind: i64,
    time_ms: i64,
    reference: i64,
    data: Option<&str>,
    origin: Option<u32>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO journal (user_id, kind, time_ms, ref, data, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![user, kind, time_ms, reference, data, origin])
    .map(|_| ())
}

/// Replaces one day's rollup rows and clears its dirty mark unless it moved.
fn replace_day(conn: &Connection, d: DirtyDay, rows: &DayRollup) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM daily WHERE user_id = ?1 AND day = ?2",
        params![d.user, d.day],
    )?;
    conn.execute(
        "DELETE FROM daily_entities WHERE user_id = ?1 AND day = ?2",
        params![d.user, d.day],
    )?;
    let mut ins = conn.prepare_cached(
        "INSERT INTO daily (user_id, day, project, language, branch, category, editor, machine, os, source, actor, ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for (k, ms) in &rows.daily {
        ins.execute(params![
            d.user, d.day, k.project, k.language, k.branch, k.category, k.editor, k.machine, k.os,
            k.source, k.actor, ms
        ])?;
    }
    let mut ins = conn.prepare_cached(
        "INSERT INTO daily_entities (user_id, day, entity, project, branch, language, ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (k, ms) in &rows.entities {
        ins.execute(params![
            d.user, d.day, k.entity, k.project, k.branch, k.language, ms
        ])?;
    }
    conn.execute(
        "DELETE FROM dirty_days WHERE user_id = ?1 AND day = ?2 AND mark = ?3",
        params![d.user, d.day, d.mark],
    )?;
    Ok(())
}

fn settings_json(s: &UserSettings) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "{}".into())
}

fn settings_from(json: &str) -> UserSettings {
    serde_json::from_str(json).unwrap_or_default()
}

/// A read-only connection; several can run beside the writer (WAL).
pub struct Reader {
    conn: Connection,
    path: PathBuf,
    names: RefCell<HashMap<u32, String>>,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader> {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok(Reader {
            conn,
            path: path.to_path_buf(),
            names: RefCell::default(),
        })
    }

    /// Runs `f` inside one read transaction, so everything it reads is one state.
    fn snapshot(&self, f: &mut dyn FnMut(&dyn Snapshot) -> Result<()>) -> Result<()> {
        run(&self.conn, "BEGIN").map_err(|e| classify(&self.path, e))?;
        let out = f(&SqliteSnapshot {
            conn: &self.conn,
            path: &self.path,
            names: &self.names,
        });
        let _ = run(&self.conn, "COMMIT");
        if self.names.borrow().len() > STRING_CACHE_MAX {
            self.names.borrow_mut().clear();
        }
        out
    }
}

/// Reads through one connection (inside its read transaction, or the writer's).
struct SqliteSnapshot<'a> {
    conn: &'a Connection,
    path: &'a Path,
    names: &'a RefCell<HashMap<u32, String>>,
}

impl SqliteSnapshot<'_> {
    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(self.path, e)
    }

    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        st.query_map(params, map)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        st.query_row(params, map)
            .optional()
            .map_err(|e| self.err(e))
    }
}

const USER_COLUMNS: &str = "id, name, created_ms, settings";

fn row_to_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        created_ms: r.get(2)?,
        settings: settings_from(&r.get::<_, String>(3)?),
    })
}

fn row_to_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0)?,
        user: r.get(1)?,
        label: r.get(2)?,
        read_only: r.get(3)?,
        created_ms: r.get(4)?,
    })
}

impl Snapshot for SqliteSnapshot<'_> {
    fn beats(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(Beat<Dims>),
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT time_ms, project, language, branch, entity, editor, machine, category, source, os, actor
                 FROM heartbeats WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3
                 ORDER BY time_ms, hash",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st
            .query(params![user, start, end])
            .map_err(|e| self.err(e))?;
        // A report with its own timeout reads every heartbeat of its range: plain integers,
        // NULL as 0, without rusqlite's typed conversions.
        let id = |r: &rusqlite::Row<'_>, i| int_or_null(r, i).map(|v| v as u32);
        while let Some(r) = rows.next().map_err(|e| classify(self.path, e))? {
            let beat = (|| {
                Ok::<_, rusqlite::Error>(Beat {
                    time_ms: int(r, 0)?,
                    key: Dims {
                        project: id(r, 1)?,
                        language: id(r, 2)?,
                        branch: id(r, 3)?,
                        entity: id(r, 4)?,
                        editor: id(r, 5)?,
                        machine: id(r, 6)?,
                        os: id(r, 9)?,
                        category: int(r, 7)? as u8,
                        source: int(r, 8)? as u8,
                        actor: id(r, 10)?,
                    },
                })
            })()
            .map_err(|e| classify(self.path, e))?;
            each(beat);
        }
        Ok(())
    }

    fn next_beat_time(&self, user: UserId, at: i64) -> Result<Option<i64>> {
        self.one(
            "SELECT time_ms FROM heartbeats WHERE user_id = ?1 AND time_ms >= ?2
             ORDER BY time_ms LIMIT 1",
            params![user, at],
            |r| r.get(0),
        )
    }

    fn interval_spans(&self, user: UserId, start: i64, end: i64) -> Result<Vec<Span<Dims>>> {
        self.rows(
            "SELECT start_ms, end_ms, project, branch, category FROM intervals
             WHERE user_id = ?1 AND start_ms < ?3 AND end_ms > ?2 ORDER BY start_ms, id",
            params![user, start, end],
            |r| {
                Ok(Span {
                    start_ms: r.get(0)?,
                    end_ms: r.get(1)?,
                    key: Dims {
                        project: r.get(2)?,
                        branch: r.get::<_, Option<u32>>(3)?.unwrap_or(0),
                        category: r.get(4)?,
                        source: Source::Manual.code() as u8,
                        ..Dims::default()
                    },
                })
            },
        )
    }

    fn rollups(
        &self,
        user: UserId,
        table: Rollup,
        from: DayNum,
        to: DayNum,
        each: &mut dyn FnMut(DayNum, Dims, i64),
    ) -> Result<()> {
        let sql = match table {
            Rollup::Daily => {
                "SELECT day, ms, project, language, branch, category, editor, machine, source, os, actor
                 FROM daily WHERE user_id = ?1 AND day BETWEEN ?2 AND ?3"
            }
            Rollup::Entities => {
                "SELECT day, ms, project, language, branch, entity
                 FROM daily_entities WHERE user_id = ?1 AND day BETWEEN ?2 AND ?3"
            }
        };
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let mut rows = st.query(params![user, from, to]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| classify(self.path, e))? {
            let row = (|| {
                let id = |i| int(r, i).map(|v| v as u32);
                let dims = match table {
                    Rollup::Daily => Dims {
                        project: id(2)?,
                        language: id(3)?,
                        branch: id(4)?,
                        category: int(r, 5)? as u8,
                        editor: id(6)?,
                        machine: id(7)?,
                        source: int(r, 8)? as u8,
                        os: id(9)?,
                        entity: 0,
                        actor: id(10)?,
                    },
                    Rollup::Entities => Dims {
                        project: id(2)?,
                        language: id(3)?,
                        branch: id(4)?,
                        entity: id(5)?,
                        ..Dims::default()
                    },
                };
                Ok::<_, rusqlite::Error>((int(r, 0)? as DayNum, dims, int(r, 1)?))
            })()
            .map_err(|e| classify(self.path, e))?;
            each(row.0, row.1, row.2);
        }
        Ok(())
    }

    fn dirty_days(&self, user: UserId, from: DayNum, to: DayNum) -> Result<Vec<DayNum>> {
        self.rows(
            "SELECT day FROM dirty_days WHERE user_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day",
            params![user, from, to],
            |r| r.get(0),
        )
    }

    fn name(&self, id: u32) -> Result<String> {
        if id == 0 {
            return Ok(String::new());
        }
        if let Some(n) = self.names.borrow().get(&id) {
            return Ok(n.clone());
        }
        let name: String = self
            .one("SELECT value FROM strings WHERE id = ?1", [id], |r| {
                r.get(0)
            })?
            .unwrap_or_default();
        self.names.borrow_mut().insert(id, name.clone());
        Ok(name)
    }

    fn string_id(&self, value: &str) -> Result<Option<u32>> {
        self.one("SELECT id FROM strings WHERE value = ?1", [value], |r| {
            r.get(0)
        })
    }

    fn heartbeats(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(Heartbeat) -> bool,
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT h.time_ms, e.value, h.type, h.category, h.source, h.is_write, p.value, b.value, l.value,
                        m.value, ed.value, o.value, ua.value, h.lines, h.lineno, h.cursorpos, h.dependencies, h.meta,
                        ac.value, h.ai
                 FROM heartbeats h
                 JOIN strings e ON e.id = h.entity
                 LEFT JOIN strings p ON p.id = h.project
                 LEFT JOIN strings b ON b.id = h.branch
                 LEFT JOIN strings l ON l.id = h.language
                 LEFT JOIN strings m ON m.id = h.machine
                 LEFT JOIN strings ed ON ed.id = h.editor
                 LEFT JOIN strings o ON o.id = h.os
                 LEFT JOIN strings ua ON ua.id = h.user_agent
                 LEFT JOIN strings ac ON ac.id = h.actor
                 WHERE h.user_id = ?1 AND h.time_ms >= ?2 AND h.time_ms < ?3
                 ORDER BY h.time_ms, h.hash",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st
            .query(params![user, start, end])
            .map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| classify(self.path, e))? {
            let mut h = row_to_heartbeat(r).map_err(|e| classify(self.path, e))?;
            let ai: Option<String> = r.get(19).map_err(|e| classify(self.path, e))?;
            if let Some(ai) = ai {
                AiFields::parse(&ai).fill(&mut h, |id| self.name(id))?;
            }
            if !each(h) {
                break;
            }
        }
        Ok(())
    }

    fn ai_counts(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(AiCounts),
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT time_ms, project, branch, language, actor, ai
                 FROM heartbeats WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3
                   AND ai IS NOT NULL
                 ORDER BY time_ms, hash",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st
            .query(params![user, start, end])
            .map_err(|e| self.err(e))?;
        let id =
            |r: &rusqlite::Row<'_>, i| r.get::<_, Option<u32>>(i).map(Option::unwrap_or_default);
        while let Some(r) = rows.next().map_err(|e| classify(self.path, e))? {
            let c = (|| {
                let ai = AiFields::parse(&r.get::<_, String>(5)?);
                let n = Option::unwrap_or_default;
                Ok::<_, rusqlite::Error>(AiCounts {
                    time_ms: r.get(0)?,
                    dims: Dims {
                        project: id(r, 1)?,
                        branch: id(r, 2)?,
                        language: id(r, 3)?,
                        actor: id(r, 4)?,
                        ..Dims::default()
                    },
                    ai_line_changes: n(ai.ai_line_changes),
                    human_line_changes: n(ai.human_line_changes),
                    ai_input_tokens: n(ai.ai_input_tokens),
                    ai_output_tokens: n(ai.ai_output_tokens),
                    session: ai.ai_session.unwrap_or_default(),
                })
            })()
            .map_err(|e| classify(self.path, e))?;
            each(c);
        }
        Ok(())
    }

    fn running_focus(&self, user: UserId) -> Result<Option<FocusSession>> {
        self.one(
            &format!(
                "SELECT {FOCUS_COLUMNS} FROM focus_sessions WHERE user_id = ?1 AND end_ms IS NULL"
            ),
            [user],
            row_to_focus,
        )
    }

    fn focus_sessions(&self, user: UserId, start: i64, end: i64) -> Result<Vec<FocusSession>> {
        self.rows(
            &format!(
                "SELECT {FOCUS_COLUMNS} FROM focus_sessions
                 WHERE user_id = ?1 AND start_ms < ?3 AND (end_ms IS NULL OR end_ms > ?2)
                 ORDER BY start_ms, id"
            ),
            params![user, start, end],
            row_to_focus,
        )
    }

    fn intervals(&self, user: UserId, start: i64, end: i64) -> Result<Vec<(i64, Interval)>> {
        self.rows(
            "SELECT i.id, i.start_ms, i.end_ms, p.value, b.value, i.category, i.note FROM intervals i
             JOIN strings p ON p.id = i.project LEFT JOIN strings b ON b.id = i.branch
             WHERE i.user_id = ?1 AND i.start_ms < ?3 AND i.end_ms > ?2 ORDER BY i.start_ms, i.id",
            params![user, start, end],
            |r| {
                Ok((
                    r.get(0)?,
                    Interval {
                        start: ms_to_seconds(r.get(1)?),
                        end: ms_to_seconds(r.get(2)?),
                        project: r.get(3)?,
                        branch: r.get(4)?,
                        category: Category::from_code(r.get(5)?).unwrap_or_default(),
                        note: r.get(6)?,
                    },
                ))
            },
        )
    }

    fn latest(&self, user: UserId, at: i64) -> Result<Option<Heartbeat>> {
        let t: Option<i64> = self
            .one(
                "SELECT max(time_ms) FROM heartbeats WHERE user_id = ?1 AND time_ms <= ?2",
                params![user, at],
                |r| r.get(0),
            )?
            .flatten();
        let Some(t) = t else { return Ok(None) };
        // Of several at the same millisecond, the last in (time, id) order.
        let mut found = None;
        self.heartbeats(user, t, t + 1, &mut |h| {
            found = Some(h);
            true
        })?;
        Ok(found)
    }

    fn first_time(&self, user: UserId) -> Result<Option<i64>> {
        Ok(self
            .one(
                "SELECT min(time_ms) FROM heartbeats WHERE user_id = ?1",
                [user],
                |r| r.get(0),
            )?
            .flatten())
    }

    fn dependencies(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(i64, &str, Vec<String>),
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(
                // Named: the planner prefers the primary key, which reads every heartbeat.
                "SELECT h.time_ms, e.value, h.dependencies
                 FROM heartbeats h INDEXED BY heartbeats_with_dependencies
                 JOIN strings e ON e.id = h.entity
                 WHERE h.user_id = ?1 AND h.time_ms >= ?2 AND h.time_ms < ?3
                   AND h.dependencies IS NOT NULL
                 ORDER BY h.time_ms",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query((user, start, end)).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let deps: String = r.get(2).map_err(|e| self.err(e))?;
            each(
                r.get(0).map_err(|e| self.err(e))?,
                r.get_ref(1)
                    .and_then(|v| v.as_str().map_err(Into::into))
                    .map_err(|e| self.err(e))?,
                serde_json::from_str(&deps).unwrap_or_default(),
            );
        }
        Ok(())
    }

    fn projects(&self, user: UserId) -> Result<Vec<(String, DayNum, DayNum)>> {
        self.rows(
            "SELECT s.value, min(d.day), max(d.day) FROM daily d JOIN strings s ON s.id = d.project
             WHERE d.user_id = ?1 GROUP BY d.project ORDER BY max(d.day) DESC, s.value",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    fn project_bounds_in(
        &self,
        user: UserId,
        project: &str,
        start: i64,
        end: i64,
    ) -> Result<(Option<i64>, Option<i64>)> {
        let Some(id) = self.string_id(project)? else {
            return Ok((None, None));
        };
        Ok(self
            .one(
                "SELECT min(time_ms), max(time_ms) FROM heartbeats
                 WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3 AND project = ?4",
                params![user, start, end, id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .unwrap_or((None, None)))
    }

    fn heartbeat_count(&self) -> Result<i64> {
        Ok(self
            .one(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'heartbeat_count'",
                [],
                |r| r.get(0),
            )?
            .unwrap_or_default())
    }

    fn commits(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        project: Option<&str>,
        branch: Option<&str>,
    ) -> Result<Vec<super::CommitRecord>> {
        git::commits(self, user, start, end, project, branch)
    }

    fn previous_commit_time(
        &self,
        user: UserId,
        project: &str,
        branch: Option<&str>,
        before: i64,
    ) -> Result<Option<i64>> {
        git::previous_commit_time(self, user, project, branch, before)
    }

    fn branch_activity(
        &self,
        user: UserId,
        start: i64,
        end: i64,
    ) -> Result<Vec<(u32, u32, i64, i64)>> {
        git::branch_activity(self, user, start, end)
    }

    fn last_branch(&self, user: UserId, project: &str) -> Result<Option<(String, i64)>> {
        git::last_branch(self, user, project)
    }

    fn users(&self) -> Result<Vec<User>> {
        self.rows(
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"),
            [],
            row_to_user,
        )
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        self.one(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
            [name],
            row_to_user,
        )
    }

    fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        self.one(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            [id],
            row_to_user,
        )
    }

    fn keys(&self, user: UserId) -> Result<Vec<ApiKey>> {
        self.rows(
            "SELECT id, user_id, label, read_only, created_ms FROM api_keys
             WHERE user_id = ?1 ORDER BY id",
            [user],
            row_to_key,
        )
    }

    fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<(ApiKey, User)>> {
        let found = self.one(
            "SELECT k.id, k.user_id, k.label, k.read_only, k.created_ms, k.hash,
                    u.id, u.name, u.created_ms, u.settings
             FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = ?1",
            [&hash[..]],
            |r| {
                let key = row_to_key(r)?;
                let stored: Vec<u8> = r.get(5)?;
                let user = User {
                    id: r.get(6)?,
                    name: r.get(7)?,
                    created_ms: r.get(8)?,
                    settings: settings_from(&r.get::<_, String>(9)?),
                };
                Ok((key, user, stored))
            },
        )?;
        Ok(found.and_then(|(key, user, stored)| {
            let stored = <KeyHash>::try_from(stored.as_slice()).ok()?;
            super::same_hash(&stored, hash).then_some((key, user))
        }))
    }

    fn watch_roots(&self) -> Result<Vec<String>> {
        self.rows(
            "SELECT path FROM watch_roots ORDER BY added_ms, path",
            [],
            |r| r.get(0),
        )
    }

    fn journal(
        &self,
        user: Option<UserId>,
        after: i64,
        limit: usize,
        not_from: Option<&str>,
    ) -> Result<JournalPage> {
        let not_from = match not_from {
            Some(m) => self.string_id(m)?.map(i64::from),
            None => None,
        };
        /// seq, user, kind, time, ref, data, origin
        type Entry = (i64, UserId, i64, i64, i64, Option<String>, Option<String>);
        let entries: Vec<Entry> = self.rows(
            "SELECT j.seq, j.user_id, j.kind, j.time_ms, j.ref, j.data, o.value
             FROM journal j LEFT JOIN strings o ON o.id = j.origin
             WHERE (?1 IS NULL OR j.user_id = ?1) AND j.seq > ?2
               AND (?3 IS NULL OR j.origin IS NULL OR j.origin <> ?3)
             ORDER BY j.seq LIMIT ?4",
            params![user, after, not_from, limit.min(i64::MAX as usize) as i64],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )?;
        let (last, examined) = (entries.last().map_or(after, |e| e.0), entries.len());
        let mut out = Vec::with_capacity(entries.len());
        for (seq, user, kind, time_ms, reference, data, origin) in entries {
            // A record deleted since it was journaled (its user removed) is skipped.
            let record = match kind {
                journal_kind::HEARTBEAT => {
                    let mut found = None;
                    self.heartbeats(user, time_ms, time_ms + 1, &mut |h| {
                        if h.id() == reference {
                            found = Some(Record::Heartbeat(h));
                            false
                        } else {
                            true
                        }
                    })?;
                    found
                }
                journal_kind::INTERVAL => self
                    .intervals(user, i64::MIN, i64::MAX)?
                    .into_iter()
                    .find(|(id, _)| *id == reference)
                    .map(|(_, iv)| Record::Interval(iv)),
                journal_kind::COMMIT => match &data {
                    Some(sha) => git::commit_record(self, user, reference, sha)?,
                    None => None,
                },
                journal_kind::FORGET | journal_kind::INTERVAL_REMOVED => {
                    super::journaled_record(data.as_deref())
                }
                journal_kind::SWITCH => git::switch_record(self, user, reference, time_ms)?,
                _ => None,
            };
            if let Some(record) = record {
                out.push(Logged {
                    seq,
                    user,
                    record,
                    origin,
                });
            }
        }
        Ok(JournalPage {
            entries: out,
            last,
            examined,
        })
    }

    fn journal_end(&self) -> Result<i64> {
        Ok(self
            .one("SELECT max(seq) FROM journal", [], |r| {
                r.get::<_, Option<i64>>(0)
            })?
            .flatten()
            .unwrap_or(0))
    }

    fn local_heartbeats(
        &self,
        user: UserId,
        after: (i64, i64),
        limit: usize,
    ) -> Result<Vec<Heartbeat>> {
        let keys: Vec<(i64, i64)> = self.rows(
            "SELECT time_ms, hash FROM heartbeats
             WHERE user_id = ?1 AND (time_ms, hash) > (?2, ?3) AND origin IS NULL
             ORDER BY time_ms, hash LIMIT ?4",
            params![user, after.0, after.1, limit.min(i64::MAX as usize) as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return Ok(Vec::new());
        };
        let wanted: std::collections::HashSet<(i64, i64)> = keys.iter().copied().collect();
        let mut out = Vec::with_capacity(keys.len());
        self.heartbeats(user, first.0, last.0 + 1, &mut |h| {
            if wanted.contains(&(h.time_ms(), h.id())) {
                out.push(h);
            }
            true
        })?;
        Ok(out)
    }

    fn local_records(&self, user: UserId) -> Result<Vec<Record>> {
        let ids: Vec<i64> = self.rows(
            "SELECT id FROM intervals WHERE user_id = ?1 AND origin IS NULL ORDER BY start_ms, id",
            [user],
            |r| r.get(0),
        )?;
        let mut out: Vec<Record> = self
            .intervals(user, i64::MIN, i64::MAX)?
            .into_iter()
            .filter(|(id, _)| ids.contains(id))
            .map(|(_, iv)| Record::Interval(iv))
            .collect();
        out.extend(git::local_records(self, user)?);
        Ok(out)
    }

    fn sync_state(&self, target: &str) -> Result<Option<String>> {
        self.one(
            "SELECT state FROM sync_state WHERE target = ?1",
            [target],
            |r| r.get(0),
        )
    }

    fn machine_id(&self) -> Result<Option<String>> {
        self.one("SELECT value FROM meta WHERE key = 'machine_id'", [], |r| {
            r.get(0)
        })
    }

    fn web_token(&self, hash: &KeyHash, now_ms: i64) -> Result<Option<WebToken>> {
        let found = self.one(
            "SELECT t.hash, t.user_id, t.kind, t.key_id, t.created_ms, t.expires_ms
             FROM web_tokens t
             WHERE t.hash = ?1 AND t.expires_ms > ?2
               AND (t.key_id IS NULL
                    OR EXISTS (SELECT 1 FROM api_keys k
                               WHERE k.id = t.key_id AND k.user_id = t.user_id))",
            params![&hash[..], now_ms],
            row_to_web_token,
        )?;
        Ok(found.flatten().filter(|t| super::same_hash(&t.hash, hash)))
    }

    fn badges(&self, user: UserId) -> Result<Vec<String>> {
        self.rows(
            "SELECT project FROM web_badges WHERE user_id = ?1 ORDER BY project",
            [user],
            |r| r.get(0),
        )
    }
}

const FOCUS_COLUMNS: &str = "id, start_ms, planned_ms, end_ms, completed, project, note";

fn row_to_focus(r: &rusqlite::Row<'_>) -> rusqlite::Result<FocusSession> {
    Ok(FocusSession {
        id: r.get(0)?,
        start_ms: r.get(1)?,
        planned_ms: r.get(2)?,
        end_ms: r.get(3)?,
        completed: r.get(4)?,
        project: r.get(5)?,
        note: r.get(6)?,
    })
}

fn row_to_heartbeat(r: &rusqlite::Row<'_>) -> rusqlite::Result<Heartbeat> {
    let deps: Option<String> = r.get(16)?;
    let meta: Option<String> = r.get(17)?;
    Ok(Heartbeat {
        time: ms_to_seconds(r.get(0)?),
        entity: r.get(1)?,
        entity_type: EntityType::from_code(r.get(2)?).unwrap_or(EntityType::File),
        category: Category::from_code(r.get(3)?).unwrap_or_default(),
        source: Some(Source::from_code(r.get(4)?).unwrap_or_default()),
        is_write: r.get(5)?,
        project: r.get(6)?,
        branch: r.get(7)?,
        language: r.get(8)?,
        machine: r.get(9)?,
        editor: r.get(10)?,
        os: r.get(11)?,
        user_agent: r.get(12)?,
        lines: r.get(13)?,
        lineno: r.get(14)?,
        cursorpos: r.get(15)?,
        dependencies: deps
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default(),
        meta: meta.and_then(|m| serde_json::from_str(&m).ok()),
        actor: r.get(18)?,
        // The AI fields (column 19, `ai`) are filled in by the caller, which can name their
        // interned strings.
        ..Heartbeat::new(0.0, String::new())
    })
}

/// WakaTime's AI fields of one heartbeat, stored together as one JSON object in the `ai`
/// column (schema migration 10): nearly every heartbeat has none, and one NULL column costs
/// a row one byte where six cost six. The session and model are interned like every string.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct AiFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_line_changes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    human_line_changes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_session: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_input_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_output_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_model: Option<u32>,
}

impl AiFields {
    /// The `ai` column of `h`: NULL when it has no AI field.
    fn of(
        conn: &Connection,
        strings: &mut Interner,
        h: &Heartbeat,
    ) -> rusqlite::Result<Option<String>> {
        let fields = AiFields {
            ai_line_changes: h.ai_line_changes,
            human_line_changes: h.human_line_changes,
            ai_session: strings.opt(conn, h.ai_session.as_deref())?,
            ai_input_tokens: h.ai_input_tokens,
            ai_output_tokens: h.ai_output_tokens,
            ai_model: strings.opt(conn, h.ai_model.as_deref())?,
        };
        Ok((fields != AiFields::default())
            .then(|| serde_json::to_string(&fields).unwrap_or_default()))
    }

    /// Reads the column back; the writer wrote it, so a malformed one only comes from a hand
    /// edit, and reads as no AI fields rather than failing the whole report.
    fn parse(json: &str) -> AiFields {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// Sets `h`'s AI fields, with the interned strings named by `name`.
    fn fill(self, h: &mut Heartbeat, name: impl Fn(u32) -> Result<String>) -> Result<()> {
        h.ai_line_changes = self.ai_line_changes;
        h.human_line_changes = self.human_line_changes;
        h.ai_session = self.ai_session.map(&name).transpose()?;
        h.ai_input_tokens = self.ai_input_tokens;
        h.ai_output_tokens = self.ai_output_tokens;
        h.ai_model = self.ai_model.map(&name).transpose()?;
        Ok(())
    }
}

/// An INTEGER column as is: rollup rows are read by the tens of thousands, and rusqlite's typed
/// `get` costs more than the rest of a row's work.
fn int(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<i64> {
    integer(r, i, None)
}

/// [`int`] of a nullable column, NULL as 0.
fn int_or_null(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<i64> {
    integer(r, i, Some(0))
}

fn integer(r: &rusqlite::Row<'_>, i: usize, null: Option<i64>) -> rusqlite::Result<i64> {
    use rusqlite::types::ValueRef;
    match (r.get_ref(i)?, null) {
        (ValueRef::Integer(v), _) => Ok(v),
        (ValueRef::Null, Some(v)) => Ok(v),
        (other, _) => Err(rusqlite::Error::InvalidColumnType(
            i,
            String::new(),
            other.data_type(),
        )),
    }
}

#[cfg(test)]
mod tests;
