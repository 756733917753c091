//! The baseline: the same rows inserted with plain rusqlite into an equivalent table.

use super::fail;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// A heartbeat as the daemon stores it: strings interned, dedup hash computed.
pub struct Row {
    time_ms: i64,
    hash: i64,
    ints: [Option<i64>; 15],
}

/// Rows ready to insert, with the interned strings they refer to.
pub struct Rows {
    pub rows: Vec<Row>,
    strings: Vec<String>,
}

/// Parses and interns the lines up front, so the baseline times only the inserts.
pub fn prepare(lines: &[String]) -> Rows {
    use timeforged::model::Heartbeat;
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut strings = Vec::new();
    let mut intern = |s: Option<&str>| -> Option<i64> {
        let s = s?;
        if let Some(&id) = ids.get(s) {
            return Some(id);
        }
        strings.push(s.to_string());
        let id = strings.len() as i64;
        ids.insert(s.to_string(), id);
        Some(id)
    };
    let rows = lines
        .iter()
        .map(|line| {
            let h: Heartbeat = serde_json::from_str(line)
                .unwrap_or_else(|e| fail(format!("generated a bad heartbeat ({e}): {line}")));
            Row {
                time_ms: h.time_ms(),
                hash: h.id(),
                ints: [
                    intern(Some(&h.entity)),
                    Some(h.entity_type.code()),
                    Some(h.category.code()),
                    Some(h.source.unwrap_or_default().code()),
                    Some(i64::from(h.is_write)),
                    intern(h.project.as_deref()),
                    intern(h.branch.as_deref()),
                    intern(h.language.as_deref()),
                    intern(h.machine.as_deref()),
                    intern(h.editor.as_deref()),
                    intern(h.os.as_deref()),
                    intern(h.user_agent.as_deref()),
                    h.lines,
                    h.lineno,
                    h.cursorpos,
                ],
            }
        })
        .collect();
    Rows { rows, strings }
}

/// How the baseline commits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Every row in one transaction.
    Once,
    /// One transaction per row (what acknowledging each heartbeat costs at least).
    EachRow,
    /// One transaction per this many rows (what one transaction per request costs at least).
    Every(usize),
}

/// Inserts the rows with plain rusqlite into a fresh database with the daemon's pragmas (WAL,
/// synchronous=NORMAL) and an equivalent WITHOUT ROWID table; returns the insert time.
pub fn insert(path: &Path, data: &Rows, commit: Commit) -> Duration {
    let sqlite = |e: rusqlite::Error| -> ! { fail(format!("baseline {}: {e}", path.display())) };
    let conn = rusqlite::Connection::open(path).unwrap_or_else(|e| sqlite(e));
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE strings (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
         CREATE TABLE heartbeats (
             user_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, hash INTEGER NOT NULL,
             entity INTEGER NOT NULL, type INTEGER NOT NULL, category INTEGER NOT NULL,
             source INTEGER NOT NULL, is_write INTEGER NOT NULL, project INTEGER, branch INTEGER,
             language INTEGER, machine INTEGER, editor INTEGER, os INTEGER, user_agent INTEGER,
             lines INTEGER, lineno INTEGER, cursorpos INTEGER, dependencies TEXT, meta TEXT,
             PRIMARY KEY (user_id, time_ms, hash)
         ) WITHOUT ROWID;",
    )
    .unwrap_or_else(|e| sqlite(e));
    let started = Instant::now();
    let insert_all = || -> rusqlite::Result<()> {
        let per_transaction = match commit {
            Commit::Once => usize::MAX,
            Commit::EachRow => 1,
            Commit::Every(n) => n,
        };
        conn.execute_batch("BEGIN")?;
        {
            let mut st = conn.prepare("INSERT INTO strings (id, value) VALUES (?1, ?2)")?;
            for (i, s) in data.strings.iter().enumerate() {
                st.execute(rusqlite::params![i as i64 + 1, s])?;
            }
        }
        let mut st = conn.prepare(
            "INSERT OR IGNORE INTO heartbeats (user_id, time_ms, hash, entity, type, category,
                 source, is_write, project, branch, language, machine, editor, os, user_agent,
                 lines, lineno, cursorpos)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?;
        for (row, r) in data.rows.iter().enumerate() {
            if row % per_transaction == 0 && row > 0 {
                conn.execute_batch("COMMIT; BEGIN")?;
            }
            let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o] = r.ints;
            st.execute(rusqlite::params![
                r.time_ms, r.hash, a, b, c, d, e, f, g, h, i, j, k, l, m, n, o
            ])?;
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    };
    insert_all().unwrap_or_else(|e| sqlite(e));
    let took = started.elapsed();
    // Close (and so checkpoint) before anyone measures the file.
    drop(conn);
    took
}
