//! The PostgreSQL backend, for a team server with more users than one SQLite file should
//! carry. Same tables and the same (time, id) order as [`super::sqlite`], so both give the
//! same reports. Snapshots are REPEATABLE READ, read-only transactions; the writer batches
//! heartbeats into one statement per column array (`unnest`), so a batch is one round trip.

mod edit;
mod pool;
mod schema;

use super::{
    AiCounts, ApiKey, Batch, CommitRecord, CommitSync, Database, DayRollup, Dims, DirtyDay,
    GitRecorded, JournalPage, KeyHash, KeySelector, Logged, Provenance, Record, Result, Rollup,
    Scope, Snapshot, Store, StoreError, Stored, SwitchSync, User, UserId, UserSettings, WebToken,
    WebTokenKind, journal_kind,
};
use crate::calendar::DayNum;
use crate::focus::{FocusPlan, FocusSession};
use crate::git::{GitEvent, GitEventKind, RewriteKind};
use crate::model::{Category, EntityType, Heartbeat, Interval, Source, ms_to_seconds};
use crate::timeline::{Beat, Span};
use pool::{Conn, Pool};
use postgres::types::ToSql;
use postgres::{IsolationLevel, Row, Statement, Transaction};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Turns PostgreSQL's errors into ours: a lost or refused connection is "unavailable" (a
/// server answers 503 and recovers when the database is back), a full disk is "disk full".
fn classify(shown: &str, e: postgres::Error) -> StoreError {
    use postgres::error::SqlState;
    let path = shown.to_string();
    match e.code() {
        Some(c) if *c == SqlState::DISK_FULL => StoreError::DiskFull { path },
        Some(c)
            if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::TOO_MANY_CONNECTIONS =>
        {
            StoreError::Unavailable {
                path,
                reason: e.to_string(),
            }
        }
        Some(_) => StoreError::Backend {
            path,
            reason: e.as_db_error().map_or(e.to_string(), ToString::to_string),
        },
        None => StoreError::Unavailable {
            path,
            reason: e.to_string(),
        },
    }
}

/// `postgres://user:secret@host/db` without the password, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A PostgreSQL database, reached through a small pool.
pub struct PgDatabase {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Interned strings never change id, so every connection can share what it looked up.
    names: Mutex<HashMap<u32, String>>,
}

/// Connections for snapshots (the writer has its own).
const POOL_SIZE: usize = 8;
/// Rows fetched per round trip when streaming heartbeats.
const PORTAL_ROWS: i32 = 5000;
/// Bound on the in-memory string caches.
const STRING_CACHE_MAX: usize = 50_000;

impl PgDatabase {
    /// Connects and migrates, so a bad URL, an unreachable server or a database of a newer
    /// schema is reported at once.
    pub fn open(url: &str) -> Result<Arc<dyn Database>> {
        let shown = redact(url);
        let config: postgres::Config = url.parse().map_err(|e| {
            StoreError::Invalid(format!(
                "bad database URL {shown}: {e} (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
            ))
        })?;
        let pool = Pool::new(config, shown.clone(), POOL_SIZE);
        let mut conn = pool.connect()?;
        schema::migrate(&mut conn.client, &shown)?;
        Ok(Arc::new(PgDatabase {
            inner: Arc::new(Inner {
                pool,
                names: Mutex::new(HashMap::new()),
            }),
        }))
    }
}

impl Database for PgDatabase {
    fn read_with(&self, f: &mut dyn FnMut(&dyn Snapshot) -> Result<()>) -> Result<()> {
        let inner = &self.inner;
        inner.pool.with(|conn| {
            let Conn { client, statements } = conn;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(|e| inner.pool.error(e))?;
            let snap = PgSnapshot {
                tx: RefCell::new(tx),
                statements: RefCell::new(statements),
                names: &inner.names,
                shown: &inner.pool.shown,
            };
            let out = f(&snap);
            let _ = snap.tx.into_inner().commit();
            out
        })
    }

    fn writer(&self) -> Result<Box<dyn Store>> {
        Ok(Box::new(PgWriter {
            inner: self.inner.clone(),
            conn: None,
            ids: HashMap::new(),
        }))
    }

    fn describe(&self) -> String {
        self.inner.pool.shown.clone()
    }

    fn size_bytes(&self) -> Result<u64> {
        let shown = self.inner.pool.shown.clone();
        self.inner.pool.with(|conn| {
            let row = conn
                .client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .map_err(|e| classify(&shown, e))?;
            Ok(row.get::<_, i64>(0).max(0) as u64)
        })
    }

    fn release_memory(&self) {
        if let Ok(mut names) = self.inner.names.lock()
            && names.len() > STRING_CACHE_MAX
        {
            names.clear();
        }
    }

    fn release_idle(&self) {
        // Each connection keeps buffers as large as the largest batch it read (a megabyte or
        // more after a year's report); the writer's idle housekeeping does the same.
        self.inner.pool.shrink();
    }
}

/// Reads inside one transaction of a pooled connection (or the writer's own).
struct PgSnapshot<'a> {
    tx: RefCell<Transaction<'a>>,
    statements: RefCell<&'a mut HashMap<&'static str, Statement>>,
    names: &'a Mutex<HashMap<u32, String>>,
    shown: &'a str,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl PgSnapshot<'_> {
    fn err(&self, e: postgres::Error) -> StoreError {
        classify(self.shown, e)
    }

    fn statement(&self, sql: &'static str) -> Result<Statement> {
        if let Some(st) = self.statements.borrow().get(sql) {
            return Ok(st.clone());
        }
        let st = self.tx.borrow_mut().prepare(sql).map_err(|e| self.err(e))?;
        self.statements.borrow_mut().insert(sql, st.clone());
        Ok(st)
    }

    fn query(&self, sql: &'static str, params: Params) -> Result<Vec<Row>> {
        let st = self.statement(sql)?;
        self.tx
            .borrow_mut()
            .query(&st, params)
            .map_err(|e| self.err(e))
    }

    fn query_opt(&self, sql: &'static str, params: Params) -> Result<Option<Row>> {
        let st = self.statement(sql)?;
        self.tx
            .borrow_mut()
            .query_opt(&st, params)
            .map_err(|e| self.err(e))
    }

    /// Streams the rows of `sql` in batches (a portal), so a year of heartbeats never sits in
    /// memory; stops when `each` returns false.
    fn stream(
        &self,
        sql: &'static str,
        params: Params,
        each: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        let st = self.statement(sql)?;
        let portal = self
            .tx
            .borrow_mut()
            .bind(&st, params)
            .map_err(|e| self.err(e))?;
        loop {
            let rows = self
                .tx
                .borrow_mut()
                .query_portal(&portal, PORTAL_ROWS)
                .map_err(|e| self.err(e))?;
            for row in &rows {
                if !each(row)? {
                    return Ok(());
                }
            }
            if rows.len() < PORTAL_ROWS as usize {
                return Ok(());
            }
        }
    }
}

fn get<'r, T: postgres::types::FromSql<'r>>(row: &'r Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|e| StoreError::Backend {
        path: String::new(),
        reason: format!("column {i}: {e}"),
    })
}

/// An interned id (INT) as ours; NULL is 0.
fn id(row: &Row, i: usize) -> Result<u32> {
    Ok(get::<Option<i32>>(row, i)?.unwrap_or(0) as u32)
}

fn settings_from(json: &str) -> UserSettings {
    serde_json::from_str(json).unwrap_or_default()
}

fn settings_json(s: &UserSettings) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "{}".into())
}

fn row_to_user(r: &Row) -> Result<User> {
    Ok(User {
        id: get(r, 0)?,
        name: get(r, 1)?,
        created_ms: get(r, 2)?,
        settings: settings_from(&get::<String>(r, 3)?),
    })
}

fn row_to_key(r: &Row) -> Result<ApiKey> {
    Ok(ApiKey {
        id: get(r, 0)?,
        user: get(r, 1)?,
        label: get(r, 2)?,
        read_only: get(r, 3)?,
        created_ms: get(r, 4)?,
    })
}

const HEARTBEAT_SELECT: &str =
    "SELECT h.time_ms, e.value, h.type, h.category, h.source, h.is_write, p.value, b.value,
        l.value, m.value, ed.value, o.value, ua.value, h.lines, h.lineno, h.cursorpos,
        h.dependencies, h.meta, ac.value, h.ai_line_changes, h.human_line_changes, se.value,
        h.ai_input_tokens, h.ai_output_tokens, mo.value
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
 LEFT JOIN strings se ON se.id = h.ai_session
 LEFT JOIN strings mo ON mo.id = h.ai_model
 WHERE h.user_id = $1 AND h.time_ms >= $2 AND h.time_ms < $3
 ORDER BY h.time_ms, h.hash";

fn row_to_heartbeat(r: &Row) -> Result<Heartbeat> {
    let deps: Option<String> = get(r, 16)?;
    let meta: Option<String> = get(r, 17)?;
    Ok(Heartbeat {
        time: ms_to_seconds(get(r, 0)?),
        entity: get(r, 1)?,
        entity_type: EntityType::from_code(get::<i16>(r, 2)?.into()).unwrap_or(EntityType::File),
        category: Category::from_code(get::<i16>(r, 3)?.into()).unwrap_or_default(),
        source: Some(Source::from_code(get::<i16>(r, 4)?.into()).unwrap_or_default()),
        is_write: get(r, 5)?,
        project: get(r, 6)?,
        branch: get(r, 7)?,
        language: get(r, 8)?,
        machine: get(r, 9)?,
        editor: get(r, 10)?,
        os: get(r, 11)?,
        user_agent: get(r, 12)?,
        lines: get(r, 13)?,
        lineno: get(r, 14)?,
        cursorpos: get(r, 15)?,
        dependencies: deps
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default(),
        meta: meta.and_then(|m| serde_json::from_str(&m).ok()),
        actor: get(r, 18)?,
        ai_line_changes: get(r, 19)?,
        human_line_changes: get(r, 20)?,
        ai_session: get(r, 21)?,
        ai_input_tokens: get(r, 22)?,
        ai_output_tokens: get(r, 23)?,
        ai_model: get(r, 24)?,
    })
}

fn row_to_focus(r: &Row) -> Result<FocusSession> {
    Ok(FocusSession {
        id: get(r, 0)?,
        start_ms: get(r, 1)?,
        planned_ms: get(r, 2)?,
        end_ms: get(r, 3)?,
        completed: get(r, 4)?,
        project: get(r, 5)?,
        note: get(r, 6)?,
    })
}

impl Snapshot for PgSnapshot<'_> {
    fn beats(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(Beat<Dims>),
    ) -> Result<()> {
        self.stream(
            "SELECT time_ms, project, language, branch, entity, editor, machine, category, source, os, actor
             FROM heartbeats WHERE user_id = $1 AND time_ms >= $2 AND time_ms < $3
             ORDER BY time_ms, hash",
            &[&user, &start, &end],
            &mut |r| {
                each(Beat {
                    time_ms: get(r, 0)?,
                    key: Dims {
                        project: id(r, 1)?,
                        language: id(r, 2)?,
                        branch: id(r, 3)?,
                        entity: id(r, 4)?,
                        editor: id(r, 5)?,
                        machine: id(r, 6)?,
                        os: id(r, 9)?,
                        category: get::<i16>(r, 7)? as u8,
                        source: get::<i16>(r, 8)? as u8,
                        actor: id(r, 10)?,
                    },
                });
                Ok(true)
            },
        )
    }

    fn next_beat_time(&self, user: UserId, at: i64) -> Result<Option<i64>> {
        self.query_opt(
            "SELECT time_ms FROM heartbeats WHERE user_id = $1 AND time_ms >= $2
             ORDER BY time_ms LIMIT 1",
            &[&user, &at],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn interval_spans(&self, user: UserId, start: i64, end: i64) -> Result<Vec<Span<Dims>>> {
        self.query(
            "SELECT start_ms, end_ms, project, branch, category FROM intervals
             WHERE user_id = $1 AND start_ms < $3 AND end_ms > $2 ORDER BY start_ms, id",
            &[&user, &start, &end],
        )?
        .iter()
        .map(|r| {
            Ok(Span {
                start_ms: get(r, 0)?,
                end_ms: get(r, 1)?,
                key: Dims {
                    project: id(r, 2)?,
                    branch: id(r, 3)?,
                    category: get::<i16>(r, 4)? as u8,
                    source: Source::Manual.code() as u8,
                    ..Dims::default()
                },
            })
        })
        .collect()
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
                 FROM daily WHERE user_id = $1 AND day BETWEEN $2 AND $3"
            }
            Rollup::Entities => {
                "SELECT day, ms, project, language, branch, entity
                 FROM daily_entities WHERE user_id = $1 AND day BETWEEN $2 AND $3"
            }
        };
        self.stream(sql, &[&user, &from, &to], &mut |r| {
            let id = |i| Ok::<_, StoreError>(get::<i32>(r, i)? as u32);
            let dims = match table {
                Rollup::Daily => Dims {
                    project: id(2)?,
                    language: id(3)?,
                    branch: id(4)?,
                    category: get::<i16>(r, 5)? as u8,
                    editor: id(6)?,
                    machine: id(7)?,
                    source: get::<i16>(r, 8)? as u8,
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
            each(get(r, 0)?, dims, get(r, 1)?);
            Ok(true)
        })
    }

    fn dirty_days(&self, user: UserId, from: DayNum, to: DayNum) -> Result<Vec<DayNum>> {
        self.query(
            "SELECT day FROM dirty_days WHERE user_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
            &[&user, &from, &to],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }

    fn name(&self, id: u32) -> Result<String> {
        if id == 0 {
            return Ok(String::new());
        }
        if let Some(n) = self.names.lock().ok().and_then(|n| n.get(&id).cloned()) {
            return Ok(n);
        }
        let name: String = self
            .query_opt("SELECT value FROM strings WHERE id = $1", &[&(id as i32)])?
            .map(|r| get(&r, 0))
            .transpose()?
            .unwrap_or_default();
        if let Ok(mut names) = self.names.lock() {
            names.insert(id, name.clone());
        }
        Ok(name)
    }

    fn prefetch_names(&self, ids: &[u32]) -> Result<()> {
        let missing: Vec<i32> = match self.names.lock() {
            Ok(names) => ids
                .iter()
                .filter(|&&id| id != 0 && !names.contains_key(&id))
                .map(|&id| id as i32)
                .collect(),
            Err(_) => return Ok(()),
        };
        if missing.is_empty() {
            return Ok(());
        }
        let rows = self.query(
            "SELECT id, value FROM strings WHERE id = ANY($1)",
            &[&missing],
        )?;
        if let Ok(mut names) = self.names.lock() {
            for r in &rows {
                names.insert(get::<i32>(r, 0)? as u32, get(r, 1)?);
            }
        }
        Ok(())
    }

    fn string_id(&self, value: &str) -> Result<Option<u32>> {
        self.query_opt("SELECT id FROM strings WHERE value = $1", &[&value])?
            .map(|r| Ok(get::<i32>(&r, 0)? as u32))
            .transpose()
    }

    fn heartbeats(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(Heartbeat) -> bool,
    ) -> Result<()> {
        self.stream(HEARTBEAT_SELECT, &[&user, &start, &end], &mut |r| {
            Ok(each(row_to_heartbeat(r)?))
        })
    }

    fn ai_counts(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(AiCounts),
    ) -> Result<()> {
        let n = |r: &Row, i| Ok::<_, StoreError>(get::<Option<i64>>(r, i)?.unwrap_or(0));
        self.stream(
            "SELECT time_ms, project, branch, language, actor, ai_line_changes, human_line_changes,
                    ai_input_tokens, ai_output_tokens, ai_session
             FROM heartbeats WHERE user_id = $1 AND time_ms >= $2 AND time_ms < $3
               AND (ai_line_changes IS NOT NULL OR human_line_changes IS NOT NULL
                    OR ai_input_tokens IS NOT NULL OR ai_output_tokens IS NOT NULL
                    OR ai_session IS NOT NULL)
             ORDER BY time_ms, hash",
            &[&user, &start, &end],
            &mut |r| {
                each(AiCounts {
                    time_ms: get(r, 0)?,
                    dims: Dims {
                        project: id(r, 1)?,
                        branch: id(r, 2)?,
                        language: id(r, 3)?,
                        actor: id(r, 4)?,
                        ..Dims::default()
                    },
                    ai_line_changes: n(r, 5)?,
                    human_line_changes: n(r, 6)?,
                    ai_input_tokens: n(r, 7)?,
                    ai_output_tokens: n(r, 8)?,
                    session: id(r, 9)?,
                });
                Ok(true)
            },
        )
    }

    fn running_focus(&self, user: UserId) -> Result<Option<FocusSession>> {
        self.query_opt(
            "SELECT id, start_ms, planned_ms, end_ms, completed, project, note
             FROM focus_sessions WHERE user_id = $1 AND end_ms IS NULL",
            &[&user],
        )?
        .map(|r| row_to_focus(&r))
        .transpose()
    }

    fn focus_sessions(&self, user: UserId, start: i64, end: i64) -> Result<Vec<FocusSession>> {
        self.query(
            "SELECT id, start_ms, planned_ms, end_ms, completed, project, note
             FROM focus_sessions
             WHERE user_id = $1 AND start_ms < $3 AND (end_ms IS NULL OR end_ms > $2)
             ORDER BY start_ms, id",
            &[&user, &start, &end],
        )?
        .iter()
        .map(row_to_focus)
        .collect()
    }

    fn intervals(&self, user: UserId, start: i64, end: i64) -> Result<Vec<(i64, Interval)>> {
        self.query(
            "SELECT i.id, i.start_ms, i.end_ms, p.value, b.value, i.category, i.note FROM intervals i
             JOIN strings p ON p.id = i.project LEFT JOIN strings b ON b.id = i.branch
             WHERE i.user_id = $1 AND i.start_ms < $3 AND i.end_ms > $2 ORDER BY i.start_ms, i.id",
            &[&user, &start, &end],
        )?
        .iter()
        .map(|r| {
            Ok((
                get(r, 0)?,
                Interval {
                    start: ms_to_seconds(get(r, 1)?),
                    end: ms_to_seconds(get(r, 2)?),
                    project: get(r, 3)?,
                    branch: get(r, 4)?,
                    category: Category::from_code(get::<i16>(r, 5)?.into()).unwrap_or_default(),
                    note: get(r, 6)?,
                },
            ))
        })
        .collect()
    }

    fn latest(&self, user: UserId, at: i64) -> Result<Option<Heartbeat>> {
        let t: Option<i64> = self
            .query_opt(
                "SELECT max(time_ms) FROM heartbeats WHERE user_id = $1 AND time_ms <= $2",
                &[&user, &at],
            )?
            .map(|r| get(&r, 0))
            .transpose()?
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
            .query_opt(
                "SELECT min(time_ms) FROM heartbeats WHERE user_id = $1",
                &[&user],
            )?
            .map(|r| get(&r, 0))
            .transpose()?
            .flatten())
    }

    fn dependencies(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        each: &mut dyn FnMut(i64, &str, Vec<String>),
    ) -> Result<()> {
        self.stream(
            "SELECT h.time_ms, e.value, h.dependencies FROM heartbeats h
             JOIN strings e ON e.id = h.entity
             WHERE h.user_id = $1 AND h.time_ms >= $2 AND h.time_ms < $3
               AND h.dependencies IS NOT NULL
             ORDER BY h.time_ms",
            &[&user, &start, &end],
            &mut |r| {
                let entity: String = get(r, 1)?;
                let deps: String = get(r, 2)?;
                each(
                    get(r, 0)?,
                    &entity,
                    serde_json::from_str(&deps).unwrap_or_default(),
                );
                Ok(true)
            },
        )
    }

    fn projects(&self, user: UserId) -> Result<Vec<(String, DayNum, DayNum)>> {
        self.query(
            "SELECT s.value, min(d.day), max(d.day) FROM daily d JOIN strings s ON s.id = d.project
             WHERE d.user_id = $1 GROUP BY s.value ORDER BY max(d.day) DESC, s.value",
            &[&user],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
        .collect()
    }

    fn project_bounds_in(
        &self,
        user: UserId,
        project: &str,
        start: i64,
        end: i64,
    ) -> Result<(Option<i64>, Option<i64>)> {
        let Some(pid) = self.string_id(project)? else {
            return Ok((None, None));
        };
        match self.query_opt(
            "SELECT min(time_ms), max(time_ms) FROM heartbeats
             WHERE user_id = $1 AND time_ms >= $2 AND time_ms < $3 AND project = $4",
            &[&user, &start, &end, &(pid as i32)],
        )? {
            Some(r) => Ok((get(&r, 0)?, get(&r, 1)?)),
            None => Ok((None, None)),
        }
    }

    fn heartbeat_count(&self) -> Result<i64> {
        Ok(self
            .query_opt("SELECT value FROM counters WHERE key = 'heartbeats'", &[])?
            .map(|r| get(&r, 0))
            .transpose()?
            .unwrap_or(0))
    }

    fn commits(
        &self,
        user: UserId,
        start: i64,
        end: i64,
        project: Option<&str>,
        branch: Option<&str>,
    ) -> Result<Vec<CommitRecord>> {
        self.query(
            "SELECT p.value, b.value, c.sha, c.time_ms, c.summary, c.merge
             FROM commits c JOIN strings p ON p.id = c.project LEFT JOIN strings b ON b.id = c.branch
             WHERE c.user_id = $1 AND c.time_ms >= $2 AND c.time_ms < $3 AND c.replaced_by IS NULL
               AND ($4::text IS NULL OR p.value = $4) AND ($5::text IS NULL OR b.value = $5)
             ORDER BY c.time_ms, c.sha",
            &[&user, &start, &end, &project, &branch],
        )?
        .iter()
        .map(|r| {
            Ok(CommitRecord {
                project: get(r, 0)?,
                branch: get(r, 1)?,
                sha: get(r, 2)?,
                time_ms: get(r, 3)?,
                summary: get(r, 4)?,
                merge: get(r, 5)?,
            })
        })
        .collect()
    }

    fn previous_commit_time(
        &self,
        user: UserId,
        project: &str,
        branch: Option<&str>,
        before: i64,
    ) -> Result<Option<i64>> {
        Ok(self
            .query_opt(
                "SELECT max(c.time_ms) FROM commits c JOIN strings p ON p.id = c.project
                 LEFT JOIN strings b ON b.id = c.branch
                 WHERE c.user_id = $1 AND p.value = $2 AND b.value IS NOT DISTINCT FROM $3::text
                   AND c.time_ms < $4 AND c.replaced_by IS NULL",
                &[&user, &project, &branch, &before],
            )?
            .map(|r| get(&r, 0))
            .transpose()?
            .flatten())
    }

    fn branch_activity(
        &self,
        user: UserId,
        start: i64,
        end: i64,
    ) -> Result<Vec<(u32, u32, i64, i64)>> {
        self.query(
            "SELECT coalesce(project, 0), coalesce(branch, 0), min(time_ms), max(time_ms)
             FROM heartbeats WHERE user_id = $1 AND time_ms >= $2 AND time_ms < $3 GROUP BY 1, 2",
            &[&user, &start, &end],
        )?
        .iter()
        .map(|r| Ok((id(r, 0)?, id(r, 1)?, get(r, 2)?, get(r, 3)?)))
        .collect()
    }

    fn last_branch(&self, user: UserId, project: &str) -> Result<Option<(String, i64)>> {
        self.query_opt(
            "SELECT b.value, s.time_ms FROM branch_switches s
             JOIN strings p ON p.id = s.project JOIN strings b ON b.id = s.branch
             WHERE s.user_id = $1 AND p.value = $2 ORDER BY s.time_ms DESC LIMIT 1",
            &[&user, &project],
        )?
        .map(|r| Ok((get(&r, 0)?, get(&r, 1)?)))
        .transpose()
    }

    fn users(&self) -> Result<Vec<User>> {
        self.query(
            "SELECT id, name, created_ms, settings FROM users ORDER BY name",
            &[],
        )?
        .iter()
        .map(row_to_user)
        .collect()
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        self.query_opt(
            "SELECT id, name, created_ms, settings FROM users WHERE name = $1",
            &[&name],
        )?
        .map(|r| row_to_user(&r))
        .transpose()
    }

    fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        self.query_opt(
            "SELECT id, name, created_ms, settings FROM users WHERE id = $1",
            &[&id],
        )?
        .map(|r| row_to_user(&r))
        .transpose()
    }

    fn keys(&self, user: UserId) -> Result<Vec<ApiKey>> {
        self.query(
            "SELECT id, user_id, label, read_only, created_ms FROM api_keys
             WHERE user_id = $1 ORDER BY id",
            &[&user],
        )?
        .iter()
        .map(row_to_key)
        .collect()
    }

    fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<(ApiKey, User)>> {
        let Some(r) = self.query_opt(
            "SELECT k.id, k.user_id, k.label, k.read_only, k.created_ms, k.hash,
                    u.id, u.name, u.created_ms, u.settings
             FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = $1",
            &[&&hash[..]],
        )?
        else {
            return Ok(None);
        };
        let stored: Vec<u8> = get(&r, 5)?;
        let Ok(stored) = <KeyHash>::try_from(stored.as_slice()) else {
            return Ok(None);
        };
        if !super::same_hash(&stored, hash) {
            return Ok(None);
        }
        let user = User {
            id: get(&r, 6)?,
            name: get(&r, 7)?,
            created_ms: get(&r, 8)?,
            settings: settings_from(&get::<String>(&r, 9)?),
        };
        Ok(Some((row_to_key(&r)?, user)))
    }

    fn watch_roots(&self) -> Result<Vec<String>> {
        self.query("SELECT path FROM watch_roots ORDER BY added_ms, path", &[])?
            .iter()
            .map(|r| get(r, 0))
            .collect()
    }
    fn journal(
        &self,
        user: Option<UserId>,
        after: i64,
        limit: usize,
        not_from: Option<&str>,
    ) -> Result<JournalPage> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let rows = self.query(
            "SELECT j.seq, j.user_id, j.kind, j.time_ms, j.ref, j.data, o.value
             FROM journal j LEFT JOIN strings o ON o.id = j.origin
             WHERE ($1::bigint IS NULL OR j.user_id = $1) AND j.seq > $2
               AND ($3::text IS NULL OR o.value IS NULL OR o.value <> $3)
             ORDER BY j.seq LIMIT $4",
            &[&user, &after, &not_from, &limit],
        )?;
        let last = match rows.last() {
            Some(r) => get(r, 0)?,
            None => after,
        };
        let examined = rows.len();
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let (seq, user, kind, time_ms, reference): (i64, i64, i16, i64, i64) =
                (get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?, get(r, 4)?);
            let data: Option<String> = get(r, 5)?;
            let origin: Option<String> = get(r, 6)?;
            let record = match i64::from(kind) {
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
                    Some(sha) => self.commit_record(user, reference as i32, sha)?,
                    None => None,
                },
                journal_kind::FORGET | journal_kind::INTERVAL_REMOVED => {
                    super::journaled_record(data.as_deref())
                }
                journal_kind::SWITCH => self.switch_record(user, reference as i32, time_ms)?,
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
            .query_opt("SELECT max(seq) FROM journal", &[])?
            .map(|r| get::<Option<i64>>(&r, 0))
            .transpose()?
            .flatten()
            .unwrap_or(0))
    }

    fn local_heartbeats(
        &self,
        user: UserId,
        after: (i64, i64),
        limit: usize,
    ) -> Result<Vec<Heartbeat>> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let keys: Vec<(i64, i64)> = self
            .query(
                "SELECT time_ms, hash FROM heartbeats
                 WHERE user_id = $1 AND (time_ms, hash) > ($2, $3) AND origin IS NULL
                 ORDER BY time_ms, hash LIMIT $4",
                &[&user, &after.0, &after.1, &limit],
            )?
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect::<Result<_>>()?;
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return Ok(Vec::new());
        };
        let wanted: HashSet<(i64, i64)> = keys.iter().copied().collect();
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
        let ids: HashSet<i64> = self
            .query(
                "SELECT id FROM intervals WHERE user_id = $1 AND origin IS NULL",
                &[&user],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect::<Result<_>>()?;
        let mut out: Vec<Record> = self
            .intervals(user, i64::MIN, i64::MAX)?
            .into_iter()
            .filter(|(id, _)| ids.contains(id))
            .map(|(_, iv)| Record::Interval(iv))
            .collect();
        for r in self.query(
            "SELECT project, sha FROM commits WHERE user_id = $1 AND origin IS NULL ORDER BY time_ms, sha",
            &[&user],
        )? {
            out.extend(self.commit_record(user, get(&r, 0)?, &get::<String>(&r, 1)?)?);
        }
        for r in self.query(
            "SELECT project, time_ms FROM branch_switches WHERE user_id = $1 AND origin IS NULL ORDER BY time_ms",
            &[&user],
        )? {
            out.extend(self.switch_record(user, get(&r, 0)?, get(&r, 1)?)?);
        }
        Ok(out)
    }

    fn sync_state(&self, target: &str) -> Result<Option<String>> {
        self.query_opt("SELECT state FROM sync_state WHERE target = $1", &[&target])?
            .map(|r| get(&r, 0))
            .transpose()
    }

    fn machine_id(&self) -> Result<Option<String>> {
        self.query_opt("SELECT value FROM tf_meta WHERE key = 'machine_id'", &[])?
            .map(|r| get(&r, 0))
            .transpose()
    }

    fn web_token(&self, hash: &KeyHash, now_ms: i64) -> Result<Option<WebToken>> {
        let found = self.query_opt(
            "SELECT t.hash, t.user_id, t.kind, t.key_id, t.created_ms, t.expires_ms
             FROM web_tokens t
             WHERE t.hash = $1 AND t.expires_ms > $2
               AND (t.key_id IS NULL
                    OR EXISTS (SELECT 1 FROM api_keys k
                               WHERE k.id = t.key_id AND k.user_id = t.user_id))",
            &[&&hash[..], &now_ms],
        )?;
        Ok(found
            .map(|r| row_to_web_token(&r))
            .transpose()?
            .flatten()
            .filter(|t| super::same_hash(&t.hash, hash)))
    }

    fn badges(&self, user: UserId) -> Result<Vec<String>> {
        self.query(
            "SELECT project FROM web_badges WHERE user_id = $1 ORDER BY project",
            &[&user],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }
}

/// A `web_tokens` row (hash, user_id, kind, key_id, created_ms, expires_ms); None for a kind
/// this build does not know.
fn row_to_web_token(r: &Row) -> Result<Option<WebToken>> {
    let hash: Vec<u8> = get(r, 0)?;
    let kind: i16 = get(r, 2)?;
    let (Ok(hash), Some(kind)) = (
        <KeyHash>::try_from(hash.as_slice()),
        WebTokenKind::from_code(i64::from(kind)),
    ) else {
        return Ok(None);
    };
    Ok(Some(WebToken {
        hash,
        user: get(r, 1)?,
        kind,
        key_id: get(r, 3)?,
        created_ms: get(r, 4)?,
        expires_ms: get(r, 5)?,
    }))
}

impl PgSnapshot<'_> {
    fn commit_record(&self, user: UserId, project: i32, sha: &str) -> Result<Option<Record>> {
        self.query_opt(
            "SELECT p.value, c.sha, b.value, c.time_ms, c.summary, c.merge, c.replaced_by
             FROM commits c JOIN strings p ON p.id = c.project LEFT JOIN strings b ON b.id = c.branch
             WHERE c.user_id = $1 AND c.project = $2 AND c.sha = $3",
            &[&user, &project, &sha],
        )?
        .map(|r| {
            Ok(Record::Commit(CommitSync {
                project: get(&r, 0)?,
                sha: get(&r, 1)?,
                branch: get(&r, 2)?,
                time_ms: get(&r, 3)?,
                summary: get(&r, 4)?,
                merge: get(&r, 5)?,
                replaced_by: get(&r, 6)?,
            }))
        })
        .transpose()
    }

    fn switch_record(&self, user: UserId, project: i32, time_ms: i64) -> Result<Option<Record>> {
        self.query_opt(
            "SELECT p.value, s.time_ms, b.value, s.head FROM branch_switches s
             JOIN strings p ON p.id = s.project JOIN strings b ON b.id = s.branch
             WHERE s.user_id = $1 AND s.project = $2 AND s.time_ms = $3",
            &[&user, &project, &time_ms],
        )?
        .map(|r| {
            Ok(Record::Switch(SwitchSync {
                project: get(&r, 0)?,
                time_ms: get(&r, 1)?,
                branch: get(&r, 2)?,
                head: get(&r, 3)?,
            }))
        })
        .transpose()
    }
}

/// The write side: its own connection (reopened when lost) and a cache of string ids.
pub struct PgWriter {
    inner: Arc<Inner>,
    conn: Option<Conn>,
    ids: HashMap<String, i32>,
}

impl PgWriter {
    fn conn(&mut self) -> Result<&mut Conn> {
        if self.conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.conn = Some(self.inner.pool.connect()?);
        }
        self.conn.as_mut().ok_or_else(|| StoreError::Unavailable {
            path: self.inner.pool.shown.clone(),
            reason: "no connection".into(),
        })
    }

    /// Runs `f` in one READ COMMITTED transaction and commits it.
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Transaction, &mut Statements, &mut HashMap<String, i32>) -> Result<T>,
    ) -> Result<T> {
        let shown = self.inner.pool.shown.clone();
        let mut ids = std::mem::take(&mut self.ids);
        let out = (|| {
            let Conn { client, statements } = self.conn()?;
            let mut tx = client.transaction().map_err(|e| classify(&shown, e))?;
            let mut st = Statements { map: statements };
            let v = f(&mut tx, &mut st, &mut ids)?;
            tx.commit().map_err(|e| classify(&shown, e))?;
            Ok(v)
        })();
        // Ids made in a transaction that rolled back may not exist.
        if out.is_ok() {
            self.ids = ids;
        }
        if self.ids.len() > STRING_CACHE_MAX {
            self.ids.clear();
        }
        out
    }
}

/// A connection's prepared statements, usable inside its transaction.
struct Statements<'a> {
    map: &'a mut HashMap<&'static str, Statement>,
}

impl Statements<'_> {
    fn get(
        &mut self,
        tx: &mut Transaction,
        sql: &'static str,
    ) -> Result<Statement, postgres::Error> {
        if let Some(st) = self.map.get(sql) {
            return Ok(st.clone());
        }
        let st = tx.prepare(sql)?;
        self.map.insert(sql, st.clone());
        Ok(st)
    }
}

/// Ids of `values`, inserting the new ones (one round trip for the misses).
fn intern(
    tx: &mut Transaction,
    st: &mut Statements,
    ids: &mut HashMap<String, i32>,
    values: impl IntoIterator<Item = String>,
) -> Result<(), postgres::Error> {
    let missing: Vec<String> = values
        .into_iter()
        .filter(|v| !ids.contains_key(v))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let insert = st.get(
        tx,
        "INSERT INTO strings (value) SELECT v FROM unnest($1::text[]) AS v ORDER BY v
         ON CONFLICT (value) DO NOTHING",
    )?;
    tx.execute(&insert, &[&missing])?;
    let select = st.get(tx, "SELECT id, value FROM strings WHERE value = ANY($1)")?;
    for r in tx.query(&select, &[&missing])? {
        ids.insert(r.get(1), r.get(0));
    }
    Ok(())
}

fn interned(ids: &HashMap<String, i32>, v: Option<&str>) -> Option<i32> {
    v.and_then(|v| ids.get(v).copied())
}

/// Marks days dirty, moving the mark of days already dirty (sorted, so concurrent writers
/// take the row locks in one order).
fn mark_dirty(
    tx: &mut Transaction,
    st: &mut Statements,
    user: UserId,
    days: &BTreeSet<DayNum>,
) -> Result<(), postgres::Error> {
    if days.is_empty() {
        return Ok(());
    }
    let days: Vec<i32> = days.iter().copied().collect();
    let sql = st.get(
        tx,
        "INSERT INTO dirty_days (user_id, day) SELECT $1, d FROM unnest($2::int[]) AS d
         ON CONFLICT (user_id, day) DO UPDATE SET mark = dirty_days.mark + 1",
    )?;
    tx.execute(&sql, &[&user, &days])?;
    Ok(())
}

/// Every day `[start, end)` touches (a manual interval's).
fn span_days(scope: &Scope, start: i64, end: i64) -> BTreeSet<DayNum> {
    let cal = &scope.calendar;
    let mut days = BTreeSet::new();
    let mut t = start;
    while t < end {
        let date = cal.date_of(t);
        days.insert(crate::calendar::day_num(date));
        t = cal.bounds(date).1;
    }
    days
}

/// The days a heartbeat at `t` touches (see the SQLite backend's `DayMarker`).
fn touched_days(scope: &Scope, times: impl Iterator<Item = i64>) -> BTreeSet<DayNum> {
    let cal = &scope.calendar;
    let timeout = scope.rules.timeout_ms;
    let mut days = BTreeSet::new();
    let mut cached: Option<(i64, i64, DayNum)> = None;
    for t in times {
        for at in [t - timeout, t, t + timeout] {
            let day = match cached {
                Some((a, b, d)) if a <= at && at < b => d,
                _ => {
                    let date = cal.date_of(at);
                    let (a, b) = cal.bounds(date);
                    let d = crate::calendar::day_num(date);
                    cached = Some((a, b, d));
                    d
                }
            };
            days.insert(day);
        }
    }
    days
}

/// The columns of a batch of heartbeats, for one `INSERT … SELECT FROM unnest(…)`.
#[derive(Default)]
struct Columns {
    user: Vec<i64>,
    time: Vec<i64>,
    hash: Vec<i64>,
    entity: Vec<i32>,
    kind: Vec<i16>,
    category: Vec<i16>,
    source: Vec<i16>,
    is_write: Vec<bool>,
    project: Vec<Option<i32>>,
    branch: Vec<Option<i32>>,
    language: Vec<Option<i32>>,
    machine: Vec<Option<i32>>,
    editor: Vec<Option<i32>>,
    os: Vec<Option<i32>>,
    user_agent: Vec<Option<i32>>,
    lines: Vec<Option<i64>>,
    lineno: Vec<Option<i64>>,
    cursorpos: Vec<Option<i64>>,
    dependencies: Vec<Option<String>>,
    meta: Vec<Option<String>>,
    origin: Vec<Option<i32>>,
    actor: Vec<Option<i32>>,
    ai_line_changes: Vec<Option<i64>>,
    human_line_changes: Vec<Option<i64>>,
    ai_session: Vec<Option<i32>>,
    ai_input_tokens: Vec<Option<i64>>,
    ai_output_tokens: Vec<Option<i64>>,
    ai_model: Vec<Option<i32>>,
}

impl Columns {
    fn push(
        &mut self,
        user: UserId,
        h: &Heartbeat,
        ids: &HashMap<String, i32>,
        origin: Option<i32>,
    ) {
        self.origin.push(origin);
        self.user.push(user);
        self.time.push(h.time_ms());
        self.hash.push(h.id());
        self.entity
            .push(interned(ids, Some(&h.entity)).unwrap_or_default());
        self.kind.push(h.entity_type.code() as i16);
        self.category.push(h.category.code() as i16);
        self.source.push(h.source.unwrap_or_default().code() as i16);
        self.is_write.push(h.is_write);
        self.project.push(interned(ids, h.project.as_deref()));
        self.branch.push(interned(ids, h.branch.as_deref()));
        self.language.push(interned(ids, h.language.as_deref()));
        self.machine.push(interned(ids, h.machine.as_deref()));
        self.editor.push(interned(ids, h.editor.as_deref()));
        self.os.push(interned(ids, h.os.as_deref()));
        self.user_agent.push(interned(ids, h.user_agent.as_deref()));
        self.lines.push(h.lines);
        self.lineno.push(h.lineno);
        self.cursorpos.push(h.cursorpos);
        self.dependencies.push(
            (!h.dependencies.is_empty())
                .then(|| serde_json::to_string(&h.dependencies).unwrap_or_default()),
        );
        self.meta.push(
            h.meta
                .as_ref()
                .map(|m| serde_json::to_string(m).unwrap_or_default()),
        );
        self.actor.push(interned(ids, h.actor.as_deref()));
        self.ai_line_changes.push(h.ai_line_changes);
        self.human_line_changes.push(h.human_line_changes);
        self.ai_session.push(interned(ids, h.ai_session.as_deref()));
        self.ai_input_tokens.push(h.ai_input_tokens);
        self.ai_output_tokens.push(h.ai_output_tokens);
        self.ai_model.push(interned(ids, h.ai_model.as_deref()));
    }
}

/// Journal entries of one transaction, written in one statement.
#[derive(Default)]
struct JournalRows {
    user: Vec<i64>,
    kind: Vec<i16>,
    time: Vec<i64>,
    reference: Vec<i64>,
    /// A commit's sha, or a whole record (see `store::journal_data`).
    data: Vec<Option<String>>,
    origin: Vec<Option<i32>>,
}

impl JournalRows {
    fn push(
        &mut self,
        user: UserId,
        kind: i64,
        time_ms: i64,
        reference: i64,
        data: Option<&str>,
        origin: Option<i32>,
    ) {
        self.user.push(user);
        self.kind.push(kind as i16);
        self.time.push(time_ms);
        self.reference.push(reference);
        self.data.push(data.map(str::to_string));
        self.origin.push(origin);
    }

    fn write(self, tx: &mut Transaction, st: &mut Statements) -> Result<(), postgres::Error> {
        if self.user.is_empty() {
            return Ok(());
        }
        // WITH ORDINALITY keeps the entries' order in their sequence numbers.
        let sql = st.get(
            tx,
            "INSERT INTO journal (user_id, kind, time_ms, ref, data, origin)
             SELECT u, k, tm, r, s, o FROM unnest($1::bigint[], $2::smallint[], $3::bigint[],
                $4::bigint[], $5::text[], $6::int[]) WITH ORDINALITY AS t(u, k, tm, r, s, o, n)
             ORDER BY n",
        )?;
        tx.execute(
            &sql,
            &[
                &self.user,
                &self.kind,
                &self.time,
                &self.reference,
                &self.data,
                &self.origin,
            ],
        )?;
        Ok(())
    }
}

impl Store for PgWriter {
    fn insert(&mut self, batches: &[Batch<'_>]) -> Result<Vec<Vec<Stored>>> {
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, st, ids| {
            let origins = batches.iter().filter_map(|b| b.from.origin.clone());
            let strings = batches
                .iter()
                .flat_map(|b| b.beats.iter())
                .flat_map(|h| {
                    [
                        Some(h.entity.clone()),
                        h.project.clone(),
                        h.branch.clone(),
                        h.language.clone(),
                        h.machine.clone(),
                        h.editor.clone(),
                        h.os.clone(),
                        h.user_agent.clone(),
                        h.actor.clone(),
                        h.ai_session.clone(),
                        h.ai_model.clone(),
                    ]
                    .into_iter()
                    .flatten()
                })
                .chain(origins);
            intern(tx, st, ids, strings).map_err(err.clone())?;
            let mut cols = Columns::default();
            for b in batches {
                let origin = interned(ids, b.from.origin.as_deref());
                for h in b.beats {
                    cols.push(b.scope.user, h, ids, origin);
                }
            }
            let sql = st
                .get(
                    tx,
                    "INSERT INTO heartbeats (user_id, time_ms, hash, entity, type, category, source,
                        is_write, project, branch, language, machine, editor, os, user_agent, lines,
                        lineno, cursorpos, dependencies, meta, origin, actor, ai_line_changes,
                        human_line_changes, ai_session, ai_input_tokens, ai_output_tokens, ai_model)
                     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[],
                        $5::smallint[], $6::smallint[], $7::smallint[], $8::bool[], $9::int[],
                        $10::int[], $11::int[], $12::int[], $13::int[], $14::int[], $15::int[],
                        $16::bigint[], $17::bigint[], $18::bigint[], $19::text[], $20::text[],
                        $21::int[], $22::int[], $23::bigint[], $24::bigint[], $25::int[],
                        $26::bigint[], $27::bigint[], $28::int[])
                     ON CONFLICT DO NOTHING
                     RETURNING user_id, time_ms, hash",
                )
                .map_err(err.clone())?;
            let rows = tx
                .query(
                    &sql,
                    &[
                        &cols.user,
                        &cols.time,
                        &cols.hash,
                        &cols.entity,
                        &cols.kind,
                        &cols.category,
                        &cols.source,
                        &cols.is_write,
                        &cols.project,
                        &cols.branch,
                        &cols.language,
                        &cols.machine,
                        &cols.editor,
                        &cols.os,
                        &cols.user_agent,
                        &cols.lines,
                        &cols.lineno,
                        &cols.cursorpos,
                        &cols.dependencies,
                        &cols.meta,
                        &cols.origin,
                        &cols.actor,
                        &cols.ai_line_changes,
                        &cols.human_line_changes,
                        &cols.ai_session,
                        &cols.ai_input_tokens,
                        &cols.ai_output_tokens,
                        &cols.ai_model,
                    ],
                )
                .map_err(err.clone())?;
            let mut inserted: HashSet<(i64, i64, i64)> = rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            let new_count = inserted.len() as i64;
            let mut out = Vec::with_capacity(batches.len());
            let mut dirty: HashMap<UserId, (Scope, Vec<i64>)> = HashMap::new();
            let mut log = JournalRows::default();
            for b in batches {
                let (scope, origin) = (b.scope, interned(ids, b.from.origin.as_deref()));
                let mut stored = Vec::with_capacity(b.beats.len());
                for h in b.beats {
                    // The first of identical items is the new one, the rest duplicates.
                    if inserted.remove(&(scope.user, h.time_ms(), h.id())) {
                        stored.push(Stored::New);
                        dirty
                            .entry(scope.user)
                            .or_insert_with(|| (scope.clone(), Vec::new()))
                            .1
                            .push(h.time_ms());
                        if b.from.journal {
                            log.push(
                                scope.user,
                                journal_kind::HEARTBEAT,
                                h.time_ms(),
                                h.id(),
                                None,
                                origin,
                            );
                        }
                    } else {
                        stored.push(Stored::Duplicate);
                    }
                }
                out.push(stored);
            }
            log.write(tx, st).map_err(err.clone())?;
            let mut users: Vec<_> = dirty.into_iter().collect();
            users.sort_by_key(|(u, _)| *u);
            for (user, (scope, times)) in users {
                let days = touched_days(&scope, times.into_iter());
                mark_dirty(tx, st, user, &days).map_err(err.clone())?;
            }
            if new_count > 0 {
                let sql = st
                    .get(
                        tx,
                        "UPDATE counters SET value = value + $1 WHERE key = 'heartbeats'",
                    )
                    .map_err(err.clone())?;
                tx.execute(&sql, &[&new_count]).map_err(err)?;
            }
            Ok(out)
        })
    }

    fn add_interval(
        &mut self,
        scope: &Scope,
        iv: &Interval,
        now_ms: i64,
        from: &Provenance,
    ) -> Result<(i64, bool)> {
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, st, ids| {
            intern(
                tx,
                st,
                ids,
                std::iter::once(iv.project.clone())
                    .chain(iv.branch.clone())
                    .chain(from.origin.clone()),
            )
            .map_err(err.clone())?;
            let project = interned(ids, Some(&iv.project)).unwrap_or_default();
            let branch = interned(ids, iv.branch.as_deref());
            let origin = interned(ids, from.origin.as_deref());
            let (start, end) = (
                crate::model::seconds_to_ms(iv.start),
                crate::model::seconds_to_ms(iv.end),
            );
            let added = tx
                .execute(
                    "INSERT INTO intervals (user_id, start_ms, end_ms, project, branch, category, note, created_ms, origin)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                    &[
                        &scope.user,
                        &start,
                        &end,
                        &project,
                        &branch,
                        &(iv.category.code() as i16),
                        &iv.note,
                        &now_ms,
                        &origin,
                    ],
                )
                .map_err(err.clone())?
                == 1;
            let id: i64 = tx
                .query_one(
                    "SELECT id FROM intervals WHERE user_id = $1 AND start_ms = $2 AND end_ms = $3 AND project = $4",
                    &[&scope.user, &start, &end, &project],
                )
                .map_err(err.clone())?
                .get(0);
            if !added {
                return Ok((id, false));
            }
            let days = span_days(scope, start, end);
            mark_dirty(tx, st, scope.user, &days).map_err(err.clone())?;
            if from.journal {
                let mut log = JournalRows::default();
                log.push(scope.user, journal_kind::INTERVAL, start, id, None, origin);
                log.write(tx, st).map_err(err)?;
            }
            Ok((id, true))
        })
    }

    fn edit_interval(
        &mut self,
        scope: &Scope,
        which: super::IntervalRef<'_>,
        new: Option<&Interval>,
        from: &Provenance,
    ) -> Result<super::IntervalEdit> {
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, st, ids| {
            edit::edit_interval(tx, st, ids, scope, which, new, from)
                .map_err(|e| classify(&shown, e))
        })
    }

    fn forget(
        &mut self,
        scope: &Scope,
        what: &super::Forget,
        apply: bool,
        from: &Provenance,
    ) -> Result<super::Forgotten> {
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, st, ids| {
            edit::forget(tx, st, ids, scope, what, apply, from).map_err(|e| classify(&shown, e))
        })
    }

    fn record_git(
        &mut self,
        user: UserId,
        project: &str,
        e: &GitEvent,
        time_ms: i64,
        from: &Provenance,
    ) -> Result<GitRecorded> {
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, st, ids| {
            intern(
                tx,
                st,
                ids,
                std::iter::once(project.to_string()).chain(e.branch.clone()),
            )
            .map_err(err.clone())?;
            let project = interned(ids, Some(project)).unwrap_or_default();
            let branch = interned(ids, e.branch.as_deref());
            let mut log = JournalRows::default();
            let out =
                record_git(tx, user, project, branch, e, time_ms, &mut log).map_err(err.clone())?;
            if from.journal {
                log.write(tx, st).map_err(err)?;
            }
            Ok(out)
        })
    }

    fn apply_git(&mut self, user: UserId, records: &[Record], from: &Provenance) -> Result<usize> {
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, st, ids| {
            let names = records.iter().flat_map(|r| match r {
                Record::Commit(c) => vec![Some(c.project.clone()), c.branch.clone()],
                Record::Switch(w) => vec![Some(w.project.clone()), Some(w.branch.clone())],
                _ => Vec::new(),
            });
            intern(tx, st, ids, names.flatten().chain(from.origin.clone())).map_err(err.clone())?;
            let origin = interned(ids, from.origin.as_deref());
            let mut log = JournalRows::default();
            let mut changed = 0;
            for r in records {
                match r {
                    Record::Commit(c) => {
                        let project = interned(ids, Some(&c.project)).unwrap_or_default();
                        let branch = interned(ids, c.branch.as_deref());
                        let n = tx
                            .execute(
                                "INSERT INTO commits (user_id, project, sha, branch, time_ms, summary, merge, replaced_by, origin)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                                 ON CONFLICT (user_id, project, sha) DO UPDATE SET
                                     time_ms = greatest(commits.time_ms, excluded.time_ms),
                                     replaced_by = coalesce(excluded.replaced_by, commits.replaced_by)
                                 WHERE excluded.time_ms > commits.time_ms
                                    OR excluded.replaced_by IS DISTINCT FROM commits.replaced_by",
                                &[&user, &project, &c.sha, &branch, &c.time_ms, &c.summary, &c.merge, &c.replaced_by, &origin],
                            )
                            .map_err(err.clone())?;
                        if n > 0 {
                            log.push(user, journal_kind::COMMIT, c.time_ms, project.into(), Some(&c.sha), origin);
                        }
                        changed += n as usize;
                    }
                    Record::Switch(w) => {
                        let project = interned(ids, Some(&w.project)).unwrap_or_default();
                        let branch = interned(ids, Some(&w.branch)).unwrap_or_default();
                        let n = tx
                            .execute(
                                "INSERT INTO branch_switches (user_id, project, time_ms, branch, head, origin)
                                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                                &[&user, &project, &w.time_ms, &branch, &w.head, &origin],
                            )
                            .map_err(err.clone())?;
                        if n > 0 {
                            log.push(user, journal_kind::SWITCH, w.time_ms, project.into(), None, origin);
                        }
                        changed += n as usize;
                    }
                    // Not git: stored through their own methods.
                    _ => {}
                }
            }
            if from.journal {
                log.write(tx, st).map_err(err)?;
            }
            Ok(changed)
        })
    }

    fn dirty(
        &mut self,
        user: Option<UserId>,
        from: DayNum,
        to: DayNum,
        max: usize,
    ) -> Result<Vec<DirtyDay>> {
        let max = max.min(i64::MAX as usize) as i64;
        let shown = self.inner.pool.shown.clone();
        let conn = self.conn()?;
        let rows = conn
            .client
            .query(
                "SELECT user_id, day, mark FROM dirty_days
                 WHERE ($1::bigint IS NULL OR user_id = $1) AND day BETWEEN $2 AND $3
                 ORDER BY day, user_id LIMIT $4",
                &[&user, &from, &to, &max],
            )
            .map_err(|e| classify(&shown, e))?;
        rows.iter()
            .map(|r| {
                Ok(DirtyDay {
                    user: get(r, 0)?,
                    day: get(r, 1)?,
                    mark: get(r, 2)?,
                })
            })
            .collect()
    }

    fn refresh_day(
        &mut self,
        d: DirtyDay,
        compute: &mut dyn FnMut(&dyn Snapshot) -> Result<DayRollup>,
    ) -> Result<()> {
        let inner = self.inner.clone();
        let shown = inner.pool.shown.clone();
        let err = |e| classify(&shown, e);
        let Conn { client, statements } = self.conn()?;
        let mut tx = client.transaction().map_err(err)?;
        // One refresher per day at a time (two servers, or a CLI beside a server).
        tx.execute(
            "SELECT pg_advisory_xact_lock($1::int, $2)",
            &[&(d.user as i32), &d.day],
        )
        .map_err(err)?;
        let snap = PgSnapshot {
            tx: RefCell::new(tx),
            statements: RefCell::new(statements),
            names: &inner.names,
            shown: &shown,
        };
        let rows = compute(&snap)?;
        let mut tx = snap.tx.into_inner();
        tx.execute(
            "DELETE FROM daily WHERE user_id = $1 AND day = $2",
            &[&d.user, &d.day],
        )
        .map_err(err)?;
        tx.execute(
            "DELETE FROM daily_entities WHERE user_id = $1 AND day = $2",
            &[&d.user, &d.day],
        )
        .map_err(err)?;
        let col = |f: &dyn Fn(&Dims) -> i32, rows: &[(Dims, i64)]| -> Vec<i32> {
            rows.iter().map(|(k, _)| f(k)).collect()
        };
        let ms = |rows: &[(Dims, i64)]| -> Vec<i64> { rows.iter().map(|(_, ms)| *ms).collect() };
        let small = |f: &dyn Fn(&Dims) -> u8, rows: &[(Dims, i64)]| -> Vec<i16> {
            rows.iter().map(|(k, _)| i16::from(f(k))).collect()
        };
        let r = &rows.daily;
        if !r.is_empty() {
            tx.execute(
                "INSERT INTO daily (user_id, day, project, language, branch, category, editor, machine, os, source, actor, ms)
                 SELECT $1, $2, * FROM unnest($3::int[], $4::int[], $5::int[], $6::smallint[],
                    $7::int[], $8::int[], $9::int[], $10::smallint[], $11::int[], $12::bigint[])",
                &[
                    &d.user,
                    &d.day,
                    &col(&|k| k.project as i32, r),
                    &col(&|k| k.language as i32, r),
                    &col(&|k| k.branch as i32, r),
                    &small(&|k| k.category, r),
                    &col(&|k| k.editor as i32, r),
                    &col(&|k| k.machine as i32, r),
                    &col(&|k| k.os as i32, r),
                    &small(&|k| k.source, r),
                    &col(&|k| k.actor as i32, r),
                    &ms(r),
                ],
            )
            .map_err(err)?;
        }
        let r = &rows.entities;
        if !r.is_empty() {
            tx.execute(
                "INSERT INTO daily_entities (user_id, day, entity, project, branch, language, ms)
                 SELECT $1, $2, * FROM unnest($3::int[], $4::int[], $5::int[], $6::int[], $7::bigint[])",
                &[
                    &d.user,
                    &d.day,
                    &col(&|k| k.entity as i32, r),
                    &col(&|k| k.project as i32, r),
                    &col(&|k| k.branch as i32, r),
                    &col(&|k| k.language as i32, r),
                    &ms(r),
                ],
            )
            .map_err(err)?;
        }
        tx.execute(
            "DELETE FROM dirty_days WHERE user_id = $1 AND day = $2 AND mark = $3",
            &[&d.user, &d.day, &d.mark],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    fn rollup_rules(&mut self, user: UserId) -> Result<Option<String>> {
        let shown = self.inner.pool.shown.clone();
        let conn = self.conn()?;
        Ok(conn
            .client
            .query_opt("SELECT rollup_rules FROM users WHERE id = $1", &[&user])
            .map_err(|e| classify(&shown, e))?
            .and_then(|r| r.get::<_, Option<String>>(0)))
    }

    fn reset_rollups(&mut self, user: UserId, rules: &str, days: &[DayNum]) -> Result<()> {
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, _, _| {
            for table in ["daily", "daily_entities", "dirty_days"] {
                tx.execute(&format!("DELETE FROM {table} WHERE user_id = $1"), &[&user])
                    .map_err(err.clone())?;
            }
            tx.execute(
                "INSERT INTO dirty_days (user_id, day) SELECT $1, d FROM unnest($2::int[]) AS d
                 ON CONFLICT DO NOTHING",
                &[&user, &days],
            )
            .map_err(err.clone())?;
            tx.execute(
                "UPDATE users SET rollup_rules = $2 WHERE id = $1",
                &[&user, &rules],
            )
            .map_err(err)?;
            Ok(())
        })
    }

    fn read(&mut self, f: &mut dyn FnMut(&dyn Snapshot) -> Result<()>) -> Result<()> {
        let inner = self.inner.clone();
        let shown = inner.pool.shown.clone();
        let Conn { client, statements } = self.conn()?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .start()
            .map_err(|e| classify(&shown, e))?;
        let snap = PgSnapshot {
            tx: RefCell::new(tx),
            statements: RefCell::new(statements),
            names: &inner.names,
            shown: &shown,
        };
        let out = f(&snap);
        let _ = snap.tx.into_inner().commit();
        out
    }

    fn add_user(&mut self, name: &str, settings: &UserSettings, now_ms: i64) -> Result<User> {
        super::check_user_name(name)?;
        let json = settings_json(settings);
        let shown = self.inner.pool.shown.clone();
        let row = self.transaction(|tx, _, _| {
            tx.query_opt(
                "INSERT INTO users (name, created_ms, settings) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING RETURNING id, name, created_ms, settings",
                &[&name, &now_ms, &json],
            )
            .map_err(|e| classify(&shown, e))
        })?;
        match row {
            Some(r) => row_to_user(&r),
            None => Err(StoreError::Invalid(format!(
                "a user named {name:?} already exists"
            ))),
        }
    }

    fn remove_user(&mut self, user: UserId) -> Result<()> {
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, _, _| {
            let removed: i64 = tx
                .query_one(
                    "WITH gone AS (DELETE FROM heartbeats WHERE user_id = $1 RETURNING 1)
                     SELECT count(*) FROM gone",
                    &[&user],
                )
                .map_err(err.clone())?
                .get(0);
            for table in [
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
                tx.execute(&format!("DELETE FROM {table} WHERE user_id = $1"), &[&user])
                    .map_err(err.clone())?;
            }
            tx.execute("DELETE FROM users WHERE id = $1", &[&user])
                .map_err(err.clone())?;
            tx.execute(
                "UPDATE counters SET value = value - $1 WHERE key = 'heartbeats'",
                &[&removed],
            )
            .map_err(err)?;
            Ok(())
        })
    }

    fn rename_user(&mut self, user: UserId, name: &str) -> Result<()> {
        super::check_user_name(name)?;
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, _, _| {
            tx.execute("UPDATE users SET name = $2 WHERE id = $1", &[&user, &name])
                .map_err(|e| classify(&shown, e))
        })
        .map(|_| ())
    }

    fn set_settings(&mut self, user: UserId, settings: &UserSettings) -> Result<()> {
        let json = settings_json(settings);
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, _, _| {
            tx.execute(
                "UPDATE users SET settings = $2 WHERE id = $1",
                &[&user, &json],
            )
            .map_err(|e| classify(&shown, e))
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
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        let id: i64 = self.transaction(|tx, _, _| {
            tx.execute(
                "INSERT INTO api_keys (user_id, hash, label, read_only, created_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING",
                &[&user, &&hash[..], &label, &read_only, &now_ms],
            )
            .map_err(err.clone())?;
            Ok(tx
                .query_one("SELECT id FROM api_keys WHERE hash = $1", &[&&hash[..]])
                .map_err(err)?
                .get(0))
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
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, _, _| {
            let n = match which {
                KeySelector::Id(id) => tx.execute("DELETE FROM api_keys WHERE id = $1", &[&id]),
                KeySelector::OfUser { user, label } => tx.execute(
                    "DELETE FROM api_keys WHERE user_id = $1 AND ($2::text IS NULL OR label = $2)",
                    &[&user, &label],
                ),
            }
            .map_err(err)?;
            Ok(n as usize)
        })
    }

    fn start_focus(
        &mut self,
        user: UserId,
        start_ms: i64,
        plan: &FocusPlan,
    ) -> Result<FocusSession> {
        let shown = self.inner.pool.shown.clone();
        let id = self.transaction(|tx, _, _| {
            // The partial unique index refuses a second running timer, also from another server.
            tx.query_opt(
                "INSERT INTO focus_sessions (user_id, start_ms, planned_ms, project, note)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
                &[
                    &user,
                    &start_ms,
                    &plan.duration_ms,
                    &plan.project,
                    &plan.note,
                ],
            )
            .map_err(|e| classify(&shown, e))
            .map(|r| r.map(|r| r.get::<_, i64>(0)))
        })?;
        let Some(id) = id else {
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
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, _, _| {
            // GREATEST: never before it started (a clock set back).
            let row = tx
                .query_opt(
                    "UPDATE focus_sessions SET end_ms = GREATEST($2, start_ms), completed = $3
                     WHERE user_id = $1 AND end_ms IS NULL
                     RETURNING id, start_ms, planned_ms, end_ms, completed, project, note",
                    &[&user, &end_ms, &completed],
                )
                .map_err(err)?;
            row.map(|r| row_to_focus(&r)).transpose()
        })
    }

    fn add_watch_root(&mut self, path: &str, now_ms: i64) -> Result<bool> {
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, _, _| {
            tx.execute(
                "INSERT INTO watch_roots (path, added_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&path, &now_ms],
            )
            .map_err(|e| classify(&shown, e))
        })
        .map(|n| n > 0)
    }

    fn remove_watch_root(&mut self, path: &str) -> Result<bool> {
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, _, _| {
            tx.execute("DELETE FROM watch_roots WHERE path = $1", &[&path])
                .map_err(|e| classify(&shown, e))
        })
        .map(|n| n > 0)
    }

    fn set_sync_state(&mut self, target: &str, state: &str) -> Result<()> {
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, _, _| {
            tx.execute(
                "INSERT INTO sync_state (target, state) VALUES ($1, $2)
                 ON CONFLICT (target) DO UPDATE SET state = excluded.state",
                &[&target, &state],
            )
            .map_err(|e| classify(&shown, e))
        })
        .map(|_| ())
    }

    fn prune_journal(&mut self, upto: i64) -> Result<()> {
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, _, _| {
            tx.execute("DELETE FROM journal WHERE seq <= $1", &[&upto])
                .map_err(|e| classify(&shown, e))
        })
        .map(|_| ())
    }

    fn ensure_machine_id(&mut self) -> Result<String> {
        let shown = self.inner.pool.shown.clone();
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        self.transaction(|tx, _, _| {
            tx.execute(
                "INSERT INTO tf_meta (key, value) VALUES ('machine_id', $1) ON CONFLICT DO NOTHING",
                &[&id],
            )
            .map_err(|e| classify(&shown, e))?;
            Ok(tx
                .query_one("SELECT value FROM tf_meta WHERE key = 'machine_id'", &[])
                .map_err(|e| classify(&shown, e))?
                .get(0))
        })
    }

    fn idle(&mut self) -> Result<()> {
        self.inner.pool.shrink();
        if let Ok(mut names) = self.inner.names.lock() {
            names.clear();
        }
        self.ids.clear();
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        self.conn = None;
        Ok(())
    }

    fn add_web_token(&mut self, t: &WebToken) -> Result<()> {
        let shown = self.inner.pool.shown.clone();
        let err = move |e| classify(&shown, e);
        self.transaction(|tx, _, _| {
            tx.execute(
                "DELETE FROM web_tokens WHERE expires_ms <= $1",
                &[&t.created_ms],
            )
            .map_err(err.clone())?;
            tx.execute(
                "INSERT INTO web_tokens (hash, user_id, kind, key_id, created_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id,
                     kind = excluded.kind, key_id = excluded.key_id,
                     created_ms = excluded.created_ms, expires_ms = excluded.expires_ms",
                &[
                    &&t.hash[..],
                    &t.user,
                    &(t.kind as i16),
                    &t.key_id,
                    &t.created_ms,
                    &t.expires_ms,
                ],
            )
            .map_err(err)?;
            Ok(())
        })
    }

    fn take_web_token(&mut self, hash: &KeyHash) -> Result<Option<WebToken>> {
        let shown = self.inner.pool.shown.clone();
        let row = self.transaction(|tx, _, _| {
            tx.query_opt(
                "DELETE FROM web_tokens WHERE hash = $1
                 RETURNING hash, user_id, kind, key_id, created_ms, expires_ms",
                &[&&hash[..]],
            )
            .map_err(|e| classify(&shown, e))
        })?;
        Ok(row.map(|r| row_to_web_token(&r)).transpose()?.flatten())
    }

    fn set_badge(&mut self, user: UserId, project: &str, on: bool, now_ms: i64) -> Result<()> {
        let shown = self.inner.pool.shown.clone();
        self.transaction(|tx, _, _| {
            if on {
                tx.execute(
                    "INSERT INTO web_badges (user_id, project, created_ms) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&user, &project, &now_ms],
                )
            } else {
                tx.execute(
                    "DELETE FROM web_badges WHERE user_id = $1 AND project = $2",
                    &[&user, &project],
                )
            }
            .map_err(|e| classify(&shown, e))
        })
        .map(|_| ())
    }
}

/// Stores one git event (ids already interned), as the SQLite backend does.
fn record_git(
    tx: &mut Transaction,
    user: UserId,
    project: i32,
    branch: Option<i32>,
    e: &GitEvent,
    time_ms: i64,
    log: &mut JournalRows,
) -> Result<GitRecorded, postgres::Error> {
    let mut out = GitRecorded::default();
    if let Some(b) = branch {
        let last: Option<i32> = tx
            .query_opt(
                "SELECT branch FROM branch_switches WHERE user_id = $1 AND project = $2
                 ORDER BY time_ms DESC LIMIT 1",
                &[&user, &project],
            )?
            .map(|r| r.get(0));
        if last != Some(b) {
            out.switched = tx.execute(
                "INSERT INTO branch_switches (user_id, project, time_ms, branch, head)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&user, &project, &time_ms, &b, &e.head],
            )? > 0;
            if out.switched {
                log.push(
                    user,
                    journal_kind::SWITCH,
                    time_ms,
                    project.into(),
                    None,
                    None,
                );
            }
        }
    }
    match e.kind {
        GitEventKind::Checkout => {}
        GitEventKind::Commit | GitEventKind::Merge => {
            if let Some(sha) = &e.head {
                let added = tx.execute(
                    "INSERT INTO commits (user_id, project, sha, branch, time_ms, summary, merge)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[
                        &user,
                        &project,
                        sha,
                        &branch,
                        &time_ms,
                        &e.summary,
                        &(e.kind == GitEventKind::Merge),
                    ],
                )? as usize;
                if added > 0 {
                    log.push(
                        user,
                        journal_kind::COMMIT,
                        time_ms,
                        project.into(),
                        Some(sha),
                        None,
                    );
                }
                out.commits += added;
            }
        }
        GitEventKind::Rewrite => {
            for (old, new) in &e.rewritten {
                let changed = rewrite(tx, user, project, old, new, e, branch, time_ms)?;
                if changed > 0 {
                    for sha in [old, new] {
                        log.push(
                            user,
                            journal_kind::COMMIT,
                            time_ms,
                            project.into(),
                            Some(sha),
                            None,
                        );
                    }
                }
                out.commits += changed;
            }
        }
    }
    Ok(out)
}

/// Maps `old` to `new` (see the SQLite backend's `rewrite` for the rules).
#[allow(clippy::too_many_arguments)]
fn rewrite(
    tx: &mut Transaction,
    user: UserId,
    project: i32,
    old: &str,
    new: &str,
    e: &GitEvent,
    branch: Option<i32>,
    now_ms: i64,
) -> Result<usize, postgres::Error> {
    let before = tx
        .query_opt(
            "SELECT branch, time_ms, summary, merge FROM commits
             WHERE user_id = $1 AND project = $2 AND sha = $3",
            &[&user, &project, &old],
        )?
        .map(|r| {
            (
                r.get::<_, Option<i32>>(0),
                r.get::<_, i64>(1),
                r.get::<_, Option<String>>(2),
                r.get::<_, bool>(3),
            )
        });
    let amend = e.rewrite == Some(RewriteKind::Amend);
    let (branch, time_ms, summary, merge) = match before {
        Some((b, t, s, m)) if amend => (b.or(branch), now_ms.max(t), e.summary.clone().or(s), m),
        Some((b, t, s, m)) => (b.or(branch), t, s, m),
        None if amend => (branch, now_ms, e.summary.clone(), false),
        None => return Ok(0),
    };
    if old == new {
        return Ok(0);
    }
    let added = tx.execute(
        "INSERT INTO commits (user_id, project, sha, branch, time_ms, summary, merge)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (user_id, project, sha) DO UPDATE SET
             time_ms = greatest(commits.time_ms, excluded.time_ms), replaced_by = NULL",
        &[&user, &project, &new, &branch, &time_ms, &summary, &merge],
    )?;
    tx.execute(
        "UPDATE commits SET replaced_by = $4 WHERE user_id = $1 AND project = $2 AND sha = $3",
        &[&user, &project, &old, &new],
    )?;
    Ok(added as usize)
}

#[cfg(test)]
mod tests;
