//! Storage: one SQLite file (WAL), one [`Writer`] that owns every write and batches them into
//! transactions, and [`Reader`]s for queries. Strings are interned; per-day rollups of
//! credited time are kept up to date lazily (days are marked dirty on write, recomputed on read).

mod git;
mod schema;

pub use git::{CommitRecord, GitRecorded};

use crate::calendar::{Calendar, DayNum, date_of_num};
use crate::model::{Category, EntityType, Heartbeat, Interval, Source, ms_to_seconds};
use crate::timeline::{self, Beat, Rules, Span};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The local user; server mode will have more.
pub const LOCAL_USER: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} is not a TimeForged database or is corrupt ({source}); move it away and start again, or restore a backup"
    )]
    Corrupt {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path} is read-only ({source}); make the file and its directory writable")]
    ReadOnly {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{path} has schema version {found}, newer than this TimeForged understands ({known}); upgrade TimeForged"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
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
}

/// Outcome of storing one heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

/// The rules rollups were computed under; a change invalidates them.
fn rollup_signature(calendar: &Calendar, rules: Rules) -> String {
    format!(
        "tz={};timeout_ms={};midnight={:?}",
        calendar.tz_name(),
        rules.timeout_ms,
        rules.midnight
    )
}

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection> {
    // Each connection is used by one thread at a time, so SQLite's own mutexes are not needed.
    let flags = flags | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// Turns SQLite's error codes into errors that say what to do.
fn classify(path: &Path, source: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    let path = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => StoreError::Corrupt { path, source },
        Some(ReadOnly | CannotOpen) if !writable(&path) => StoreError::ReadOnly { path, source },
        _ => StoreError::Sqlite { path, source },
    }
}

fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().append(true).open(path).is_ok()
}

/// The single writer. Owns the connection that writes, the string cache and the rollup rules.
pub struct Writer {
    conn: Connection,
    path: PathBuf,
    strings: Interner,
    calendar: Calendar,
    rules: Rules,
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

    fn clear(&mut self) {
        self.ids.clear();
    }
}

/// Bound on the in-memory string cache, so a flood of unique paths cannot grow memory forever.
const STRING_CACHE_MAX: usize = 50_000;

impl Writer {
    /// Opens (creating if needed) and migrates the database; invalidates rollups computed under
    /// other rules or another time zone.
    pub fn open(path: &Path, calendar: Calendar, rules: Rules) -> Result<Writer> {
        let conn = open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        let mut w = Writer {
            conn,
            path: path.to_path_buf(),
            strings: Interner::default(),
            calendar,
            rules,
        };
        w.conn
            // Checkpoints (and their fsyncs) happen off the commit path: see `Checkpointer`.
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;")
            .map_err(|e| w.err(e))?;
        w.migrate()?;
        w.check_rollup_signature()?;
        w.init_count()?;
        Ok(w)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let known = schema::MIGRATIONS.len();
        if version > known as i64 {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self
                .conn
                .transaction()
                .map_err(|e| classify(&self.path, e))?;
            tx.execute_batch(sql).map_err(|e| classify(&self.path, e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|e| classify(&self.path, e))?;
            tx.commit().map_err(|e| classify(&self.path, e))?;
        }
        Ok(())
    }

    fn check_rollup_signature(&mut self) -> Result<()> {
        let want = rollup_signature(&self.calendar, self.rules);
        let have: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'rollup'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        if have.as_deref() == Some(want.as_str()) {
            return Ok(());
        }
        tracing::info!(old = ?have, new = %want, "duration rules or time zone changed: recomputing daily rollups");
        let days = self.all_heartbeat_days()?;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| classify(&self.path, e))?;
        let run = || -> rusqlite::Result<()> {
            tx.execute("DELETE FROM daily", [])?;
            tx.execute("DELETE FROM dirty_days", [])?;
            let mut ins =
                tx.prepare("INSERT OR IGNORE INTO dirty_days (user_id, day) VALUES (?1, ?2)")?;
            for (user, day) in &days {
                ins.execute(params![user, day])?;
            }
            drop(ins);
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('rollup', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [&want],
            )?;
            Ok(())
        };
        run().map_err(|e| classify(&self.path, e))?;
        tx.commit().map_err(|e| classify(&self.path, e))
    }

    /// Keeps the heartbeat count in `meta` so `tf status` need not count a million rows.
    fn init_count(&mut self) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO meta (key, value) SELECT 'heartbeat_count', count(*) FROM heartbeats",
                [],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Every (user, day) that has heartbeats or intervals, found by skipping through the time
    /// index one day at a time rather than reading every row.
    fn all_heartbeat_days(&self) -> Result<BTreeSet<(i64, DayNum)>> {
        let mut out = BTreeSet::new();
        let users: Vec<i64> = {
            let mut st = self
                .conn
                .prepare("SELECT DISTINCT user_id FROM heartbeats UNION SELECT DISTINCT user_id FROM intervals")
                .map_err(|e| self.err(e))?;
            st.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
                .map_err(|e| self.err(e))?
        };
        let mut next = self
            .conn
            .prepare("SELECT min(time_ms) FROM heartbeats WHERE user_id = ?1 AND time_ms >= ?2")
            .map_err(|e| self.err(e))?;
        for user in users {
            let mut from = i64::MIN;
            while let Some(t) = next
                .query_row(params![user, from], |r| r.get::<_, Option<i64>>(0))
                .map_err(|e| classify(&self.path, e))?
            {
                let date = self.calendar.date_of(t);
                out.insert((user, crate::calendar::day_num(date)));
                // The span of the day's last heartbeat may reach into the next day.
                out.insert((user, self.calendar.day_of(self.calendar.bounds(date).1)));
                from = self.calendar.bounds(date).1;
            }
            let mut ivs = self
                .conn
                .prepare("SELECT start_ms, end_ms FROM intervals WHERE user_id = ?1")
                .map_err(|e| self.err(e))?;
            let spans: Vec<(i64, i64)> = ivs
                .query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
                .map_err(|e| classify(&self.path, e))?;
            for (a, b) in spans {
                for m in self.calendar.midnights(a, b - 1) {
                    if m < b {
                        out.insert((user, self.calendar.day_of(m.max(a))));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Stores validated heartbeats in one transaction; each is new or a duplicate.
    pub fn insert(&mut self, user_id: i64, heartbeats: &[Heartbeat]) -> Result<Vec<Stored>> {
        let path = self.path.clone();
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| classify(&path, e))?;
        // A failed COMMIT (a full disk) rolls back like a failed insert.
        match self
            .insert_in_tx(user_id, heartbeats)
            .and_then(|out| self.conn.execute_batch("COMMIT").map(|()| out))
        {
            Ok(out) => Ok(out),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                // Ids cached during the failed transaction may not exist.
                self.strings.clear();
                Err(classify(&path, e))
            }
        }
    }

    fn insert_in_tx(
        &mut self,
        user_id: i64,
        heartbeats: &[Heartbeat],
    ) -> rusqlite::Result<Vec<Stored>> {
        let mut out = Vec::with_capacity(heartbeats.len());
        let calendar = self.calendar.clone();
        let mut days = DayMarker::new(&calendar, self.rules.timeout_ms);
        let (conn, strings) = (&self.conn, &mut self.strings);
        // Prepared once per transaction: this loop runs per heartbeat.
        let mut st = conn.prepare_cached(
            "INSERT OR IGNORE INTO heartbeats (user_id, time_ms, hash, entity, type, category, source,
                is_write, project, branch, language, machine, editor, os, user_agent, lines, lineno,
                cursorpos, dependencies, meta)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        )?;
        for h in heartbeats {
            let dependencies = (!h.dependencies.is_empty())
                .then(|| serde_json::to_string(&h.dependencies).unwrap_or_default());
            let meta = h
                .meta
                .as_ref()
                .map(|m| serde_json::to_string(m).unwrap_or_default());
            let time_ms = h.time_ms();
            let changed = st.execute(params![
                user_id,
                time_ms,
                h.dedup_hash(user_id),
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
            ])?;
            if changed == 1 {
                days.mark(time_ms);
                out.push(Stored::New);
            } else {
                out.push(Stored::Duplicate);
            }
        }
        drop(st);
        let mut dirty = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO dirty_days (user_id, day) VALUES (?1, ?2)")?;
        for day in days.days {
            dirty.execute(params![user_id, day])?;
        }
        let new = out.iter().filter(|s| **s == Stored::New).count() as i64;
        self.conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + ?1 WHERE key = 'heartbeat_count'",
            [new],
        )?;
        Ok(out)
    }

    /// Stores a manual interval and returns its id.
    pub fn add_interval(&mut self, user_id: i64, iv: &Interval, now_ms: i64) -> Result<i64> {
        let path = self.path.clone();
        let run = |w: &mut Writer| -> rusqlite::Result<i64> {
            w.conn.execute_batch("BEGIN IMMEDIATE")?;
            let project = w.strings.id(&w.conn, &iv.project)?;
            let branch = w.strings.opt(&w.conn, iv.branch.as_deref())?;
            let (start, end) = (
                crate::model::seconds_to_ms(iv.start),
                crate::model::seconds_to_ms(iv.end),
            );
            w.conn.execute(
                "INSERT OR IGNORE INTO intervals (user_id, start_ms, end_ms, project, branch, category, note, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![user_id, start, end, project, branch, iv.category.code(), iv.note, now_ms],
            )?;
            let id: i64 = w.conn.query_row(
                "SELECT id FROM intervals WHERE user_id = ?1 AND start_ms = ?2 AND end_ms = ?3 AND project = ?4",
                params![user_id, start, end, project],
                |r| r.get(0),
            )?;
            let mut dirty = w.conn.prepare_cached(
                "INSERT OR IGNORE INTO dirty_days (user_id, day) VALUES (?1, ?2)",
            )?;
            for m in w.calendar.midnights(start, end) {
                if m < end {
                    dirty.execute(params![user_id, w.calendar.day_of(m.max(start))])?;
                }
            }
            drop(dirty);
            w.conn.execute_batch("COMMIT")?;
            Ok(id)
        };
        run(self).map_err(|e| {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.strings.clear();
            classify(&path, e)
        })
    }

    /// Recomputes the rollups of dirty days (all of them, or those in `[from, to]`), each day in
    /// its own transaction so that writers are never held up for long. Returns how many.
    pub fn refresh_dirty(
        &mut self,
        user_id: i64,
        days: Option<(DayNum, DayNum)>,
        max: usize,
    ) -> Result<usize> {
        let (from, to) = days.unwrap_or((DayNum::MIN, DayNum::MAX));
        let dirty: Vec<DayNum> = {
            let mut st = self
                .conn
                .prepare_cached("SELECT day FROM dirty_days WHERE user_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day LIMIT ?4")
                .map_err(|e| self.err(e))?;
            st.query_map(params![user_id, from, to, max as i64], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
                .map_err(|e| classify(&self.path, e))?
        };
        for &day in &dirty {
            self.refresh_day(user_id, day)?;
        }
        Ok(dirty.len())
    }

    fn refresh_day(&mut self, user_id: i64, day: DayNum) -> Result<()> {
        let path = self.path.clone();
        let Some(date) = date_of_num(day) else {
            self.conn
                .execute(
                    "DELETE FROM dirty_days WHERE user_id = ?1 AND day = ?2",
                    params![user_id, day],
                )
                .map_err(|e| classify(&path, e))?;
            return Ok(());
        };
        let (start, end) = self.calendar.bounds(date);
        let run = |w: &mut Writer| -> rusqlite::Result<()> {
            w.conn.execute_batch("BEGIN IMMEDIATE")?;
            let spans = credited_spans(&w.conn, &w.calendar, w.rules, user_id, start, end)?;
            let mut totals: HashMap<Dims, i64> = HashMap::new();
            for s in timeline::clip(&spans, start, end) {
                *totals.entry(Dims { entity: 0, ..s.key }).or_default() += s.ms();
            }
            w.conn.execute(
                "DELETE FROM daily WHERE user_id = ?1 AND day = ?2",
                params![user_id, day],
            )?;
            let mut ins = w.conn.prepare_cached(
                "INSERT INTO daily (user_id, day, project, language, branch, category, editor, machine, os, source, ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for (d, ms) in totals {
                ins.execute(params![
                    user_id, day, d.project, d.language, d.branch, d.category, d.editor, d.machine,
                    d.os, d.source, ms
                ])?;
            }
            drop(ins);
            w.conn.execute(
                "DELETE FROM dirty_days WHERE user_id = ?1 AND day = ?2",
                params![user_id, day],
            )?;
            w.conn.execute_batch("COMMIT")
        };
        run(self).map_err(|e| {
            let _ = self.conn.execute_batch("ROLLBACK");
            classify(&path, e)
        })
    }

    /// Registers an API key hash for a user (idempotent) and returns all of that user's hashes.
    pub fn register_api_key(
        &mut self,
        user_id: i64,
        hash: &[u8; 32],
        now_ms: i64,
    ) -> Result<Vec<[u8; 32]>> {
        let path = self.path.clone();
        let run = |conn: &Connection| -> rusqlite::Result<Vec<[u8; 32]>> {
            conn.execute(
                "INSERT OR IGNORE INTO api_keys (hash, user_id, created_ms) VALUES (?1, ?2, ?3)",
                params![&hash[..], user_id, now_ms],
            )?;
            let mut st = conn.prepare("SELECT hash FROM api_keys WHERE user_id = ?1")?;
            let rows = st.query_map([user_id], |r| r.get::<_, Vec<u8>>(0))?;
            let mut out = Vec::new();
            for h in rows {
                if let Ok(h) = <[u8; 32]>::try_from(h?.as_slice()) {
                    out.push(h);
                }
            }
            Ok(out)
        };
        run(&self.conn).map_err(|e| classify(&path, e))
    }

    /// Moves everything from the WAL into the database file and truncates the WAL, so the
    /// database file alone is a complete copy (done at shutdown).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(|e| self.err(e))
    }

    /// Gives SQLite's page cache back (done when idle, to keep the daemon small).
    pub fn shrink_memory(&self) {
        let _ = self.conn.execute_batch("PRAGMA shrink_memory");
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    pub fn rules(&self) -> Rules {
        self.rules
    }
}

/// Collects the local days whose rollups a heartbeat at `t` affects: its own day, and the days
/// of `t ± timeout` (its span and its predecessor's may cross midnight).
struct DayMarker<'a> {
    calendar: &'a Calendar,
    timeout_ms: i64,
    days: BTreeSet<DayNum>,
    /// The last day looked up, as `[start, end)`, to skip time zone math for most heartbeats.
    cached: Option<(i64, i64, DayNum)>,
}

impl<'a> DayMarker<'a> {
    fn new(calendar: &'a Calendar, timeout_ms: i64) -> Self {
        DayMarker {
            calendar,
            timeout_ms,
            days: BTreeSet::new(),
            cached: None,
        }
    }

    fn mark(&mut self, t: i64) {
        for at in [t - self.timeout_ms, t, t + self.timeout_ms] {
            let day = match self.cached {
                Some((a, b, day)) if a <= at && at < b => day,
                _ => {
                    let date = self.calendar.date_of(at);
                    let (a, b) = self.calendar.bounds(date);
                    let day = crate::calendar::day_num(date);
                    self.cached = Some((a, b, day));
                    day
                }
            };
            self.days.insert(day);
        }
    }
}

/// Credited spans (heartbeats, then manual intervals winning) for everything that can touch
/// `[start, end)`: heartbeats from `start - timeout`, and the first one after `end` (it closes
/// the last gap).
pub fn credited_spans(
    conn: &Connection,
    calendar: &Calendar,
    rules: Rules,
    user_id: i64,
    start: i64,
    end: i64,
) -> rusqlite::Result<Vec<Span<Dims>>> {
    let mut beats = Vec::new();
    let mut st = conn.prepare_cached(
        "SELECT time_ms, project, language, branch, entity, editor, machine, category, source, os
         FROM heartbeats WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3 ORDER BY time_ms",
    )?;
    let mut rows = st.query(params![
        user_id,
        start.saturating_sub(rules.timeout_ms),
        end
    ])?;
    while let Some(r) = rows.next()? {
        beats.push(Beat {
            time_ms: r.get(0)?,
            key: Dims {
                project: r.get::<_, Option<u32>>(1)?.unwrap_or(0),
                language: r.get::<_, Option<u32>>(2)?.unwrap_or(0),
                branch: r.get::<_, Option<u32>>(3)?.unwrap_or(0),
                entity: r.get(4)?,
                editor: r.get::<_, Option<u32>>(5)?.unwrap_or(0),
                machine: r.get::<_, Option<u32>>(6)?.unwrap_or(0),
                os: r.get::<_, Option<u32>>(9)?.unwrap_or(0),
                category: r.get(7)?,
                source: r.get(8)?,
            },
        });
    }
    let mut next = conn.prepare_cached(
        "SELECT time_ms FROM heartbeats WHERE user_id = ?1 AND time_ms >= ?2 ORDER BY time_ms LIMIT 1",
    )?;
    if let Some(t) = next
        .query_row(params![user_id, end], |r| r.get::<_, i64>(0))
        .optional()?
    {
        beats.push(Beat {
            time_ms: t,
            key: Dims::default(),
        });
    }
    let first = beats.first().map_or(start, |b| b.time_ms.min(start));
    let last = beats.last().map_or(end, |b| b.time_ms.max(end));
    let midnights = calendar.midnights(first, last);
    let spans = timeline::spans(&beats, rules, &midnights);

    let mut ivs = conn.prepare_cached(
        "SELECT start_ms, end_ms, project, branch, category FROM intervals
         WHERE user_id = ?1 AND start_ms < ?3 AND end_ms > ?2 ORDER BY start_ms, id",
    )?;
    let intervals: Vec<Span<Dims>> = ivs
        .query_map(params![user_id, start, end], |r| {
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
        })?
        .collect::<rusqlite::Result<_>>()?;
    let iv_first = intervals.iter().map(|s| s.start_ms).min().unwrap_or(first);
    let iv_last = intervals.iter().map(|s| s.end_ms).max().unwrap_or(last);
    let midnights = if iv_first < first || iv_last > last {
        calendar.midnights(iv_first.min(first), iv_last.max(last))
    } else {
        midnights
    };
    Ok(timeline::with_intervals(spans, &intervals, &midnights))
}

/// A connection of its own that copies the WAL back into the database file, so the writer
/// never waits for those fsyncs while a client waits for its acknowledgement.
pub struct Checkpointer {
    conn: Connection,
    path: PathBuf,
}

impl Checkpointer {
    pub fn open(path: &Path) -> Result<Checkpointer> {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        Ok(Checkpointer {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Checkpoints what no reader still needs; never blocks the writer.
    pub fn passive(&self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
            .map_err(|e| classify(&self.path, e))
    }
}

/// A read-only connection for queries; several can run beside the writer (WAL).
pub struct Reader {
    conn: Connection,
    path: PathBuf,
    names: std::cell::RefCell<HashMap<u32, String>>,
}

/// Rows of the daily rollup, filtered in SQL.
#[derive(Debug, Clone, Default)]
pub struct DailyFilter {
    pub project: Option<u32>,
    pub branch: Option<u32>,
    pub language: Option<u32>,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader> {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok(Reader {
            conn,
            path: path.to_path_buf(),
            names: Default::default(),
        })
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    pub fn credited_spans(
        &self,
        calendar: &Calendar,
        rules: Rules,
        user_id: i64,
        start: i64,
        end: i64,
    ) -> Result<Vec<Span<Dims>>> {
        credited_spans(&self.conn, calendar, rules, user_id, start, end).map_err(|e| self.err(e))
    }

    /// Rollup rows for whole days `[from, to]`, as (day, dims without entity, ms).
    pub fn daily(
        &self,
        user_id: i64,
        from: DayNum,
        to: DayNum,
        f: &DailyFilter,
    ) -> Result<Vec<(DayNum, Dims, i64)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT day, project, language, branch, category, editor, machine, source, ms, os FROM daily
                 WHERE user_id = ?1 AND day BETWEEN ?2 AND ?3
                   AND (?4 IS NULL OR project = ?4) AND (?5 IS NULL OR branch = ?5) AND (?6 IS NULL OR language = ?6)",
            )
            .map_err(|e| self.err(e))?;
        st.query_map(
            params![user_id, from, to, f.project, f.branch, f.language],
            |r| {
                Ok((
                    r.get(0)?,
                    Dims {
                        project: r.get(1)?,
                        language: r.get(2)?,
                        branch: r.get(3)?,
                        category: r.get(4)?,
                        editor: r.get(5)?,
                        machine: r.get(6)?,
                        os: r.get(9)?,
                        source: r.get(7)?,
                        entity: 0,
                    },
                    r.get(8)?,
                ))
            },
        )
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Gives SQLite's page cache back (after a query, to keep the daemon small).
    pub fn shrink_memory(&self) {
        let _ = self.conn.execute_batch("PRAGMA shrink_memory");
    }

    /// Dirty days in `[from, to]` (their rollups must be refreshed before they are read).
    pub fn dirty_days(&self, user_id: i64, from: DayNum, to: DayNum) -> Result<usize> {
        self.conn
            .query_row(
                "SELECT count(*) FROM dirty_days WHERE user_id = ?1 AND day BETWEEN ?2 AND ?3",
                params![user_id, from, to],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }

    /// The interned string with this id ("" for 0 or unknown).
    pub fn name(&self, id: u32) -> Result<String> {
        if id == 0 {
            return Ok(String::new());
        }
        if let Some(n) = self.names.borrow().get(&id) {
            return Ok(n.clone());
        }
        let mut st = self
            .conn
            .prepare_cached("SELECT value FROM strings WHERE id = ?1")
            .map_err(|e| self.err(e))?;
        let name: String = st
            .query_row([id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
            .unwrap_or_default();
        let mut names = self.names.borrow_mut();
        if names.len() > STRING_CACHE_MAX {
            names.clear();
        }
        names.insert(id, name.clone());
        Ok(name)
    }

    /// The id of an interned string, if it was ever stored.
    pub fn string_id(&self, value: &str) -> Result<Option<u32>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM strings WHERE value = ?1")
            .map_err(|e| self.err(e))?;
        st.query_row([value], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Full heartbeats in `[start, end)`, oldest first, calling `each` for every one (streamed,
    /// so exporting a year does not hold it in memory).
    pub fn for_each_heartbeat(
        &self,
        user_id: i64,
        start: i64,
        end: i64,
        mut each: impl FnMut(Heartbeat) -> bool,
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT h.time_ms, e.value, h.type, h.category, h.source, h.is_write, p.value, b.value, l.value,
                        m.value, ed.value, o.value, ua.value, h.lines, h.lineno, h.cursorpos, h.dependencies, h.meta
                 FROM heartbeats h
                 JOIN strings e ON e.id = h.entity
                 LEFT JOIN strings p ON p.id = h.project
                 LEFT JOIN strings b ON b.id = h.branch
                 LEFT JOIN strings l ON l.id = h.language
                 LEFT JOIN strings m ON m.id = h.machine
                 LEFT JOIN strings ed ON ed.id = h.editor
                 LEFT JOIN strings o ON o.id = h.os
                 LEFT JOIN strings ua ON ua.id = h.user_agent
                 WHERE h.user_id = ?1 AND h.time_ms >= ?2 AND h.time_ms < ?3
                 ORDER BY h.time_ms, h.hash",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st
            .query(params![user_id, start, end])
            .map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| classify(&self.path, e))? {
            let h = row_to_heartbeat(r).map_err(|e| classify(&self.path, e))?;
            if !each(h) {
                break;
            }
        }
        Ok(())
    }

    /// Manual intervals overlapping `[start, end)`, oldest first.
    pub fn intervals(&self, user_id: i64, start: i64, end: i64) -> Result<Vec<(i64, Interval)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT i.id, i.start_ms, i.end_ms, p.value, b.value, i.category, i.note FROM intervals i
                 JOIN strings p ON p.id = i.project LEFT JOIN strings b ON b.id = i.branch
                 WHERE i.user_id = ?1 AND i.start_ms < ?3 AND i.end_ms > ?2 ORDER BY i.start_ms, i.id",
            )
            .map_err(|e| self.err(e))?;
        st.query_map(params![user_id, start, end], |r| {
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
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// The newest heartbeat at or before `at`.
    pub fn latest(&self, user_id: i64, at: i64) -> Result<Option<Heartbeat>> {
        let t: Option<i64> = self
            .conn
            .query_row(
                "SELECT max(time_ms) FROM heartbeats WHERE user_id = ?1 AND time_ms <= ?2",
                params![user_id, at],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let Some(t) = t else { return Ok(None) };
        let mut found = None;
        self.for_each_heartbeat(user_id, t, t + 1, |h| {
            found = Some(h);
            true
        })?;
        Ok(found)
    }

    /// The oldest heartbeat's time, if any.
    pub fn first_time(&self, user_id: i64) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT min(time_ms) FROM heartbeats WHERE user_id = ?1",
                [user_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Every project with time, with its first and last local day (from the rollups).
    pub fn projects(&self, user_id: i64) -> Result<Vec<(String, DayNum, DayNum)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT s.value, min(d.day), max(d.day) FROM daily d JOIN strings s ON s.id = d.project
                 WHERE d.user_id = ?1 GROUP BY d.project ORDER BY max(d.day) DESC, s.value",
            )
            .map_err(|e| self.err(e))?;
        st.query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// The first and last heartbeat time of a project within `[start, end)` (one day, so the
    /// time index keeps this cheap).
    pub fn project_bounds_in(
        &self,
        user_id: i64,
        project: &str,
        start: i64,
        end: i64,
    ) -> Result<(Option<i64>, Option<i64>)> {
        let Some(id) = self.string_id(project)? else {
            return Ok((None, None));
        };
        self.conn
            .query_row(
                "SELECT min(time_ms), max(time_ms) FROM heartbeats
                 WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3 AND project = ?4",
                params![user_id, start, end, id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))
    }

    /// Number of heartbeats stored (all users), from the counter the writer keeps.
    pub fn count(&self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'heartbeat_count'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(|e| self.err(e))
    }
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn open(dir: &Path) -> (Writer, Reader) {
        let path = dir.join("t.db");
        let w = Writer::open(
            &path,
            Calendar::new(TimeZone::UTC),
            Rules::timeforged(15 * 60_000),
        )
        .unwrap();
        let r = Reader::open(&path).unwrap();
        (w, r)
    }

    fn hb(t: f64, project: &str) -> Heartbeat {
        let mut h = Heartbeat::new(t, format!("/src/{project}/main.rs"));
        h.project = Some(project.into());
        h.language = Some("Rust".into());
        h
    }

    #[test]
    fn duplicates_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, r) = open(dir.path());
        let batch = vec![hb(100.0, "a"), hb(100.0, "a"), hb(160.0, "a")];
        let res = w.insert(LOCAL_USER, &batch).unwrap();
        assert_eq!(res, vec![Stored::New, Stored::Duplicate, Stored::New]);
        let res = w.insert(LOCAL_USER, &batch).unwrap();
        assert_eq!(res, vec![Stored::Duplicate; 3]);
        assert_eq!(r.count().unwrap(), 2);
    }

    #[test]
    fn heartbeats_round_trip_with_all_fields() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, r) = open(dir.path());
        let mut h = hb(1_700_000_000.123, "p");
        h.branch = Some("main".into());
        h.is_write = true;
        h.lines = Some(10);
        h.lineno = Some(3);
        h.cursorpos = Some(44);
        h.dependencies = vec!["serde".into()];
        h.machine = Some("box".into());
        h.editor = Some("vim".into());
        h.os = Some("Linux".into());
        h.user_agent = Some("ua".into());
        h.source = Some(Source::Editor);
        h.category = Category::parse("debugging").unwrap();
        h.meta = Some(
            serde_json::json!({"ticket": "ABC-1"})
                .as_object()
                .unwrap()
                .clone(),
        );
        w.insert(LOCAL_USER, std::slice::from_ref(&h)).unwrap();
        let mut got = vec![];
        r.for_each_heartbeat(LOCAL_USER, 0, i64::MAX, |h| {
            got.push(h);
            true
        })
        .unwrap();
        assert_eq!(got, vec![h]);
    }

    #[test]
    fn rollups_follow_inserts_and_intervals() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, r) = open(dir.path());
        let day = 86_400.0;
        // 10 minutes on day 1 ending 5 minutes past midnight.
        w.insert(LOCAL_USER, &[hb(day - 300.0, "a"), hb(day + 300.0, "a")])
            .unwrap();
        assert!(r.dirty_days(LOCAL_USER, 0, i32::MAX).unwrap() > 0);
        w.refresh_dirty(LOCAL_USER, None, usize::MAX).unwrap();
        assert_eq!(r.dirty_days(LOCAL_USER, 0, i32::MAX).unwrap(), 0);
        let rows = r
            .daily(LOCAL_USER, 0, i32::MAX, &DailyFilter::default())
            .unwrap();
        let per_day: Vec<(DayNum, i64)> = rows.iter().map(|(d, _, ms)| (*d, *ms)).collect();
        assert_eq!(per_day, vec![(19700101, 300_000), (19700102, 300_000)]);
        // A later insert re-dirties the day, and the rollup follows.
        w.insert(LOCAL_USER, &[hb(day + 360.0, "a")]).unwrap();
        w.refresh_dirty(LOCAL_USER, None, usize::MAX).unwrap();
        let total: i64 = r
            .daily(LOCAL_USER, 0, i32::MAX, &DailyFilter::default())
            .unwrap()
            .iter()
            .map(|x| x.2)
            .sum();
        assert_eq!(total, 660_000);
        // A manual interval wins over the heartbeat time it covers.
        let iv = Interval {
            start: day,
            end: day + 3600.0,
            project: "meeting".into(),
            branch: None,
            category: Category::default(),
            note: None,
        };
        w.add_interval(LOCAL_USER, &iv, 0).unwrap();
        w.refresh_dirty(LOCAL_USER, None, usize::MAX).unwrap();
        let total: i64 = r
            .daily(LOCAL_USER, 0, i32::MAX, &DailyFilter::default())
            .unwrap()
            .iter()
            .map(|x| x.2)
            .sum();
        assert_eq!(total, 300_000 + 3_600_000);
    }

    #[test]
    fn changed_rules_recompute_the_rollups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let mut w = Writer::open(
                &path,
                Calendar::new(TimeZone::UTC),
                Rules::timeforged(15 * 60_000),
            )
            .unwrap();
            w.insert(LOCAL_USER, &[hb(1000.0, "a"), hb(1000.0 + 300.0, "a")])
                .unwrap();
            w.refresh_dirty(LOCAL_USER, None, usize::MAX).unwrap();
        }
        let mut w = Writer::open(
            &path,
            Calendar::new(TimeZone::UTC),
            Rules::timeforged(60_000),
        )
        .unwrap();
        w.refresh_dirty(LOCAL_USER, None, usize::MAX).unwrap();
        let r = Reader::open(&path).unwrap();
        let total: i64 = r
            .daily(LOCAL_USER, 0, i32::MAX, &DailyFilter::default())
            .unwrap()
            .iter()
            .map(|x| x.2)
            .sum();
        assert_eq!(total, 0);
    }

    #[test]
    fn corrupt_file_is_reported_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let junk = vec![0x5au8; 8192];
        std::fs::write(&path, &junk).unwrap();
        let err = Writer::open(
            &path,
            Calendar::new(TimeZone::UTC),
            Rules::timeforged(900_000),
        )
        .err()
        .expect("corrupt database must not open");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("t.db"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);
    }
}
