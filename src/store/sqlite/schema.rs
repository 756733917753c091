//! The SQLite schema as an append-only list of migrations, versioned with `PRAGMA user_version`,
//! and [`migrate`], which refuses files that are not ours or are newer than this build.

use crate::store::{Result, StoreError};
use rusqlite::{Connection, params};
use std::path::Path;

/// Refuses a file that is not a TimeForged database or is newer than this build, before
/// anything (even the journal mode) is written to it.
pub fn check(conn: &Connection, path: &Path) -> Result<()> {
    let err = |e| super::classify(path, e);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let known = MIGRATIONS.len();
    if version > known as i64 {
        return Err(StoreError::TooNew {
            path: path.display().to_string(),
            found: version,
            known,
        });
    }
    if version == 0 {
        // Version 0 with tables is another program's database: every TimeForged schema sets
        // user_version in the transaction that creates its tables.
        let foreign: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 1",
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(err)?;
        if let Some(table) = foreign {
            return Err(StoreError::NotOurs {
                path: path.display().to_string(),
                table,
            });
        }
    }
    Ok(())
}

/// Brings the schema up to date, one transaction per migration.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    check(conn, path)?;
    let err = |e| super::classify(path, e);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        if i + 1 == HEARTBEAT_IDS_VERSION {
            rehash_heartbeats(&tx).map_err(err)?;
        }
        if i + 1 == ACTORS_VERSION {
            backfill_actors(&tx).map_err(err)?;
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

/// The version whose migration gives heartbeats ids without the user in them
/// ([`crate::model::Heartbeat::id`]), the same on every store.
const HEARTBEAT_IDS_VERSION: usize = 3;

/// Recomputes every heartbeat's id (older versions hashed the user id in).
fn rehash_heartbeats(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    use crate::model::{Category, EntityType, heartbeat_id};
    let mut read = tx.prepare(
        "SELECT h.user_id, h.time_ms, h.hash, e.value, h.type, h.category, p.value, b.value,
                l.value, m.value, h.is_write
         FROM heartbeats h JOIN strings e ON e.id = h.entity
         LEFT JOIN strings p ON p.id = h.project LEFT JOIN strings b ON b.id = h.branch
         LEFT JOIN strings l ON l.id = h.language LEFT JOIN strings m ON m.id = h.machine",
    )?;
    let mut changes: Vec<(i64, i64, i64, i64)> = Vec::new();
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let entity_type = EntityType::from_code(r.get(4)?).unwrap_or(EntityType::File);
        let category = Category::from_code(r.get(5)?).unwrap_or_default();
        let id = heartbeat_id(
            r.get(1)?,
            &r.get::<_, String>(3)?,
            entity_type,
            category,
            r.get::<_, Option<String>>(6)?.as_deref(),
            r.get::<_, Option<String>>(7)?.as_deref(),
            r.get::<_, Option<String>>(8)?.as_deref(),
            r.get::<_, Option<String>>(9)?.as_deref(),
            r.get(10)?,
        );
        let old: i64 = r.get(2)?;
        if id != old {
            changes.push((r.get(0)?, r.get(1)?, old, id));
        }
    }
    drop(rows);
    drop(read);
    let mut update = tx.prepare(
        "UPDATE OR IGNORE heartbeats SET hash = ?4 WHERE user_id = ?1 AND time_ms = ?2 AND hash = ?3",
    )?;
    for (user, time, old, new) in changes {
        update.execute(params![user, time, old, new])?;
    }
    Ok(())
}

/// The version whose migration adds the actor: `ai coding` heartbeats stored before it get
/// their agent in [`backfill_actors`].
const ACTORS_VERSION: usize = 8;

/// Names the agent of every `ai coding` heartbeat that has none, by the rule new ones follow
/// ([`crate::agent::actor_for`]): the shell's `claude` is `claude-code`, and so on.
fn backfill_actors(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    use crate::model::{Category, EntityType, Heartbeat};
    let mut read = tx.prepare(
        "SELECT h.user_id, h.time_ms, h.hash, e.value, h.type, ed.value
         FROM heartbeats h JOIN strings e ON e.id = h.entity
         LEFT JOIN strings ed ON ed.id = h.editor
         WHERE h.category = ?1 AND h.actor IS NULL",
    )?;
    let mut found: Vec<(i64, i64, i64, String)> = Vec::new();
    let mut rows = read.query([Category::AI_CODING.code()])?;
    while let Some(r) = rows.next()? {
        let mut h = Heartbeat::new(0.0, r.get::<_, String>(3)?);
        h.entity_type = EntityType::from_code(r.get(4)?).unwrap_or(EntityType::File);
        h.editor = r.get(5)?;
        found.push((r.get(0)?, r.get(1)?, r.get(2)?, crate::agent::actor_for(&h)));
    }
    drop(rows);
    drop(read);
    let mut intern = tx.prepare("INSERT OR IGNORE INTO strings (value) VALUES (?1)")?;
    let mut id = tx.prepare("SELECT id FROM strings WHERE value = ?1")?;
    let mut update = tx.prepare(
        "UPDATE heartbeats SET actor = ?4 WHERE user_id = ?1 AND time_ms = ?2 AND hash = ?3",
    )?;
    for (user, time, hash, actor) in found {
        intern.execute([&actor])?;
        let actor_id: i64 = id.query_row([&actor], |r| r.get(0))?;
        update.execute(params![user, time, hash, actor_id])?;
    }
    Ok(())
}

/// Migration `i` brings the schema from version `i` to `i + 1`. Append, never edit.
pub const MIGRATIONS: &[&str] = &[
    // 1: heartbeats clustered by time (WITHOUT ROWID, so the primary key is the table and no
    // second index is needed), interned strings, manual intervals, per-day rollups.
    "
    CREATE TABLE strings (
        id    INTEGER PRIMARY KEY,
        value TEXT NOT NULL UNIQUE
    );
    CREATE TABLE heartbeats (
        user_id      INTEGER NOT NULL,
        time_ms      INTEGER NOT NULL,
        hash         INTEGER NOT NULL,   -- dedup key (model::Heartbeat::dedup_hash)
        entity       INTEGER NOT NULL,   -- strings.id
        type         INTEGER NOT NULL,   -- model::EntityType::code
        category     INTEGER NOT NULL,   -- model::Category::code
        source       INTEGER NOT NULL,   -- model::Source::code
        is_write     INTEGER NOT NULL,
        project      INTEGER,            -- strings.id, like every column below up to os
        branch       INTEGER,
        language     INTEGER,
        machine      INTEGER,
        editor       INTEGER,
        os           INTEGER,
        user_agent   INTEGER,
        lines        INTEGER,
        lineno       INTEGER,
        cursorpos    INTEGER,
        dependencies TEXT,               -- JSON array, NULL when empty
        meta         TEXT,               -- JSON object, NULL when absent
        PRIMARY KEY (user_id, time_ms, hash)
    ) WITHOUT ROWID;
    CREATE TABLE intervals (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        start_ms   INTEGER NOT NULL,
        end_ms     INTEGER NOT NULL,
        project    INTEGER NOT NULL,
        branch     INTEGER,
        category   INTEGER NOT NULL,
        note       TEXT,
        created_ms INTEGER NOT NULL,
        UNIQUE (user_id, start_ms, end_ms, project)  -- re-importing an interval adds nothing
    );
    CREATE INDEX intervals_by_time ON intervals (user_id, start_ms);
    -- Credited milliseconds per local day and dimension (0 = none), under the rules in meta.
    CREATE TABLE daily (
        user_id  INTEGER NOT NULL,
        day      INTEGER NOT NULL,      -- yyyymmdd, local
        project  INTEGER NOT NULL,
        language INTEGER NOT NULL,
        branch   INTEGER NOT NULL,
        category INTEGER NOT NULL,
        editor   INTEGER NOT NULL,
        machine  INTEGER NOT NULL,
        os       INTEGER NOT NULL,
        source   INTEGER NOT NULL,
        ms       INTEGER NOT NULL,
        PRIMARY KEY (user_id, day, project, language, branch, category, editor, machine, os, source)
    ) WITHOUT ROWID;
    -- Days whose rollup must be recomputed before it is read.
    CREATE TABLE dirty_days (
        user_id INTEGER NOT NULL,
        day     INTEGER NOT NULL,
        PRIMARY KEY (user_id, day)
    ) WITHOUT ROWID;
    -- HTTP API keys, as SHA-256 of the key; the key itself is never stored here.
    CREATE TABLE api_keys (
        hash       BLOB PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ",
    // 2: git — commits (marks on a branch; a rewrite points the old commit at its new one),
    // branch switches, and roots added with `tf watch add`.
    "
    CREATE TABLE commits (
        user_id     INTEGER NOT NULL,
        project     INTEGER NOT NULL,   -- strings.id
        sha         TEXT NOT NULL,
        branch      INTEGER,            -- strings.id
        time_ms     INTEGER NOT NULL,   -- when it was made (kept through rebases)
        summary     TEXT,
        merge       INTEGER NOT NULL DEFAULT 0,
        replaced_by TEXT,               -- the commit that replaced it (amend, rebase, squash)
        PRIMARY KEY (user_id, project, sha)
    ) WITHOUT ROWID;
    CREATE INDEX commits_by_time ON commits (user_id, time_ms);
    CREATE TABLE branch_switches (
        user_id INTEGER NOT NULL,
        project INTEGER NOT NULL,       -- strings.id
        time_ms INTEGER NOT NULL,
        branch  INTEGER NOT NULL,       -- strings.id: the branch checked out from then on
        head    TEXT,
        PRIMARY KEY (user_id, project, time_ms)
    ) WITHOUT ROWID;
    CREATE TABLE watch_roots (
        path     TEXT PRIMARY KEY,
        added_ms INTEGER NOT NULL
    );
    ",
    // 3: users with their own settings and API keys (id, label, read-only); dirty-day marks
    // that move each time a day is marked again; a rollup per day and file; heartbeat ids
    // without the user (recomputed in `rehash_heartbeats`). Rollups are recomputed under each
    // user's rules (`users.rollup_rules`).
    "
    CREATE TABLE users (
        id           INTEGER PRIMARY KEY,
        name         TEXT NOT NULL UNIQUE,
        created_ms   INTEGER NOT NULL,
        settings     TEXT NOT NULL DEFAULT '{}',   -- JSON: store::UserSettings
        rollup_rules TEXT                          -- store::rollup_signature of the rollups
    );
    -- The data recorded so far is the local user's (a new database starts with no user).
    INSERT INTO users (id, name, created_ms)
        SELECT 1, 'local', CAST(strftime('%s', 'now') AS INTEGER) * 1000
        WHERE EXISTS (SELECT 1 FROM heartbeats) OR EXISTS (SELECT 1 FROM intervals)
           OR EXISTS (SELECT 1 FROM api_keys) OR EXISTS (SELECT 1 FROM commits)
           OR EXISTS (SELECT 1 FROM branch_switches);
    CREATE TABLE api_keys_v3 (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        hash       BLOB NOT NULL UNIQUE,           -- SHA-256 of the key
        label      TEXT,
        read_only  INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL
    );
    INSERT INTO api_keys_v3 (user_id, hash, label, created_ms)
        SELECT user_id, hash, 'api_key file', created_ms FROM api_keys;
    DROP TABLE api_keys;
    ALTER TABLE api_keys_v3 RENAME TO api_keys;
    CREATE INDEX api_keys_by_user ON api_keys (user_id);
    ALTER TABLE dirty_days ADD COLUMN mark INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE daily_entities (
        user_id  INTEGER NOT NULL,
        day      INTEGER NOT NULL,
        entity   INTEGER NOT NULL,
        project  INTEGER NOT NULL,
        branch   INTEGER NOT NULL,
        language INTEGER NOT NULL,
        ms       INTEGER NOT NULL,
        PRIMARY KEY (user_id, day, entity, project, branch, language)
    ) WITHOUT ROWID;
    DELETE FROM meta WHERE key = 'rollup';
    ",
    // 4: sync — where each record came from (strings.id of the machine's sync id; NULL =
    // recorded here), the journal (a daemon's outbox, a server's log that machines pull), each
    // target's state.
    "
    ALTER TABLE heartbeats ADD COLUMN origin INTEGER;
    ALTER TABLE intervals ADD COLUMN origin INTEGER;
    ALTER TABLE commits ADD COLUMN origin INTEGER;
    ALTER TABLE branch_switches ADD COLUMN origin INTEGER;
    CREATE TABLE journal (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        kind    INTEGER NOT NULL,   -- store::journal_kind
        time_ms INTEGER NOT NULL,   -- heartbeat, switch: its time; interval: its start
        ref     INTEGER NOT NULL,   -- heartbeat: its id; interval: its id; commit, switch: project
        sha     TEXT,               -- commit
        origin  INTEGER             -- strings.id of the machine it came from; NULL = here
    );
    CREATE INDEX journal_by_user ON journal (user_id, seq);
    CREATE TABLE sync_state (
        target TEXT PRIMARY KEY,
        state  TEXT NOT NULL        -- JSON, the sync module's
    );
    ",
    // 5: corrections — a journal entry's text is the commit's sha, or the whole record (JSON)
    // for a forget or a removed interval, which leave nothing behind to point at.
    "
    ALTER TABLE journal RENAME COLUMN sha TO data;
    ",
    // 6: the web dashboard — one-time sign-in links and sessions (SHA-256 of the token, which
    // is only ever in the link or the browser's cookie), and the public badges users turned
    // on. A removed user's go with them (user ids can be reused here).
    "
    CREATE TABLE web_tokens (
        hash       BLOB PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        kind       INTEGER NOT NULL,   -- store::WebTokenKind
        key_id     INTEGER,            -- api_keys.id a session was signed in with
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX web_tokens_by_expiry ON web_tokens (expires_ms);
    CREATE TABLE web_badges (
        user_id    INTEGER NOT NULL,
        project    TEXT NOT NULL,      -- '' = the user's total
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (user_id, project)
    ) WITHOUT ROWID;
    CREATE TRIGGER web_forget_user AFTER DELETE ON users BEGIN
        DELETE FROM web_tokens WHERE user_id = old.id;
        DELETE FROM web_badges WHERE user_id = old.id;
    END;
    ",
    // 7: time per dependency (WakaTime's `dependencies`) reads only the heartbeats that list
    // some; most list none, and then the index stays empty.
    "
    CREATE INDEX heartbeats_with_dependencies ON heartbeats (user_id, time_ms)
        WHERE dependencies IS NOT NULL;
    ",
    // 8: agents — who did the work (strings.id of the agent; NULL = the human), and WakaTime's
    // AI fields (line changes of the AI and of the human, the agent's session and model as
    // strings.id, tokens). The daily rollup is keyed by the actor too: rebuilt, and every
    // user's rollups recomputed under their rules (`rollup_rules` cleared). `ai coding`
    // heartbeats already stored get their agent in `backfill_actors`.
    "
    ALTER TABLE heartbeats ADD COLUMN actor INTEGER;
    ALTER TABLE heartbeats ADD COLUMN ai_line_changes INTEGER;
    ALTER TABLE heartbeats ADD COLUMN human_line_changes INTEGER;
    ALTER TABLE heartbeats ADD COLUMN ai_session INTEGER;
    ALTER TABLE heartbeats ADD COLUMN ai_input_tokens INTEGER;
    ALTER TABLE heartbeats ADD COLUMN ai_output_tokens INTEGER;
    ALTER TABLE heartbeats ADD COLUMN ai_model INTEGER;
    DROP TABLE daily;
    CREATE TABLE daily (
        user_id  INTEGER NOT NULL,
        day      INTEGER NOT NULL,      -- yyyymmdd, local
        project  INTEGER NOT NULL,
        language INTEGER NOT NULL,
        branch   INTEGER NOT NULL,
        category INTEGER NOT NULL,
        editor   INTEGER NOT NULL,
        machine  INTEGER NOT NULL,
        os       INTEGER NOT NULL,
        source   INTEGER NOT NULL,
        actor    INTEGER NOT NULL,      -- strings.id, 0 = the human
        ms       INTEGER NOT NULL,
        PRIMARY KEY (user_id, day, project, language, branch, category, editor, machine, os, source, actor)
    ) WITHOUT ROWID;
    DELETE FROM daily_entities;
    UPDATE users SET rollup_rules = NULL;
    ",
    // 9: focus timers (`tf focus`): one row per session, `end_ms` NULL while it runs; at most
    // one runs per user.
    "
    CREATE TABLE focus_sessions (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        start_ms   INTEGER NOT NULL,
        planned_ms INTEGER NOT NULL,
        end_ms     INTEGER,
        completed  INTEGER NOT NULL DEFAULT 0,
        project    TEXT,
        note       TEXT
    );
    CREATE INDEX focus_by_time ON focus_sessions (user_id, start_ms);
    CREATE UNIQUE INDEX focus_running ON focus_sessions (user_id) WHERE end_ms IS NULL;
    ",
    // 10: WakaTime's AI fields move from six columns into one JSON object (`ai`, NULL when a
    // heartbeat has none; session and model as strings.id). Nearly every heartbeat has none,
    // and each NULL column costs every row a byte: 5 bytes of ~71 per heartbeat. SQLite cannot
    // drop columns of a primary-key table in place, so the table is rebuilt (SQLite's
    // documented procedure: new table, copy, drop, rename).
    "
    CREATE TABLE heartbeats_v10 (
        user_id      INTEGER NOT NULL,
        time_ms      INTEGER NOT NULL,
        hash         INTEGER NOT NULL,
        entity       INTEGER NOT NULL,
        type         INTEGER NOT NULL,
        category     INTEGER NOT NULL,
        source       INTEGER NOT NULL,
        is_write     INTEGER NOT NULL,
        project      INTEGER,
        branch       INTEGER,
        language     INTEGER,
        machine      INTEGER,
        editor       INTEGER,
        os           INTEGER,
        user_agent   INTEGER,
        lines        INTEGER,
        lineno       INTEGER,
        cursorpos    INTEGER,
        dependencies TEXT,
        meta         TEXT,
        origin       INTEGER,
        actor        INTEGER,
        ai           TEXT,               -- JSON object (super::AiFields), NULL when empty
        PRIMARY KEY (user_id, time_ms, hash)
    ) WITHOUT ROWID;
    INSERT INTO heartbeats_v10
        SELECT user_id, time_ms, hash, entity, type, category, source, is_write, project, branch,
               language, machine, editor, os, user_agent, lines, lineno, cursorpos, dependencies,
               meta, origin, actor,
               CASE WHEN coalesce(ai_line_changes, human_line_changes, ai_session, ai_input_tokens,
                                  ai_output_tokens, ai_model) IS NOT NULL
                    -- a merge patch drops the members that are null
                    THEN json_patch('{}', json_object(
                        'ai_line_changes', ai_line_changes,
                        'human_line_changes', human_line_changes,
                        'ai_session', ai_session,
                        'ai_input_tokens', ai_input_tokens,
                        'ai_output_tokens', ai_output_tokens,
                        'ai_model', ai_model))
               END
        FROM heartbeats;
    DROP TABLE heartbeats;
    ALTER TABLE heartbeats_v10 RENAME TO heartbeats;
    CREATE INDEX heartbeats_with_dependencies ON heartbeats (user_id, time_ms)
        WHERE dependencies IS NOT NULL;
    ",
];
