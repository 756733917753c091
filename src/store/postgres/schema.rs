//! The PostgreSQL schema as an append-only list of migrations; the version is kept in
//! `tf_meta`, and an advisory lock keeps two servers starting at once from migrating twice.

use crate::store::{Result, StoreError};
use postgres::Client;

/// Migration `i` brings the schema from version `i` to `i + 1`. Append, never edit.
/// Version 1 matches SQLite's version 3 (the first with users), table for table.
pub const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE strings (
        id    SERIAL PRIMARY KEY,
        value TEXT NOT NULL UNIQUE
    );
    CREATE TABLE users (
        id           BIGSERIAL PRIMARY KEY,
        name         TEXT NOT NULL UNIQUE,
        created_ms   BIGINT NOT NULL,
        settings     TEXT NOT NULL DEFAULT '{}',
        rollup_rules TEXT
    );
    CREATE TABLE heartbeats (
        user_id      BIGINT NOT NULL,
        time_ms      BIGINT NOT NULL,
        hash         BIGINT NOT NULL,
        entity       INT NOT NULL,
        type         SMALLINT NOT NULL,
        category     SMALLINT NOT NULL,
        source       SMALLINT NOT NULL,
        is_write     BOOLEAN NOT NULL,
        project      INT,
        branch       INT,
        language     INT,
        machine      INT,
        editor       INT,
        os           INT,
        user_agent   INT,
        lines        BIGINT,
        lineno       BIGINT,
        cursorpos    BIGINT,
        dependencies TEXT,
        meta         TEXT,
        PRIMARY KEY (user_id, time_ms, hash)
    );
    CREATE TABLE intervals (
        id         BIGSERIAL PRIMARY KEY,
        user_id    BIGINT NOT NULL,
        start_ms   BIGINT NOT NULL,
        end_ms     BIGINT NOT NULL,
        project    INT NOT NULL,
        branch     INT,
        category   SMALLINT NOT NULL,
        note       TEXT,
        created_ms BIGINT NOT NULL,
        UNIQUE (user_id, start_ms, end_ms, project)
    );
    CREATE INDEX intervals_by_time ON intervals (user_id, start_ms);
    CREATE TABLE daily (
        user_id  BIGINT NOT NULL,
        day      INT NOT NULL,
        project  INT NOT NULL,
        language INT NOT NULL,
        branch   INT NOT NULL,
        category SMALLINT NOT NULL,
        editor   INT NOT NULL,
        machine  INT NOT NULL,
        os       INT NOT NULL,
        source   SMALLINT NOT NULL,
        ms       BIGINT NOT NULL,
        PRIMARY KEY (user_id, day, project, language, branch, category, editor, machine, os, source)
    );
    CREATE TABLE daily_entities (
        user_id  BIGINT NOT NULL,
        day      INT NOT NULL,
        entity   INT NOT NULL,
        project  INT NOT NULL,
        branch   INT NOT NULL,
        language INT NOT NULL,
        ms       BIGINT NOT NULL,
        PRIMARY KEY (user_id, day, entity, project, branch, language)
    );
    -- A day whose rollups are stale; `mark` moves each time it is marked again, so a refresh
    -- that raced with a new mark (READ COMMITTED) clears nothing.
    CREATE TABLE dirty_days (
        user_id BIGINT NOT NULL,
        day     INT NOT NULL,
        mark    BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, day)
    );
    CREATE TABLE api_keys (
        id         BIGSERIAL PRIMARY KEY,
        user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        hash       BYTEA NOT NULL UNIQUE,
        label      TEXT,
        read_only  BOOLEAN NOT NULL DEFAULT FALSE,
        created_ms BIGINT NOT NULL
    );
    CREATE INDEX api_keys_by_user ON api_keys (user_id);
    CREATE TABLE commits (
        user_id     BIGINT NOT NULL,
        project     INT NOT NULL,
        sha         TEXT NOT NULL,
        branch      INT,
        time_ms     BIGINT NOT NULL,
        summary     TEXT,
        merge       BOOLEAN NOT NULL DEFAULT FALSE,
        replaced_by TEXT,
        PRIMARY KEY (user_id, project, sha)
    );
    CREATE INDEX commits_by_time ON commits (user_id, time_ms);
    CREATE TABLE branch_switches (
        user_id BIGINT NOT NULL,
        project INT NOT NULL,
        time_ms BIGINT NOT NULL,
        branch  INT NOT NULL,
        head    TEXT,
        PRIMARY KEY (user_id, project, time_ms)
    );
    CREATE TABLE watch_roots (
        path     TEXT PRIMARY KEY,
        added_ms BIGINT NOT NULL
    );
    CREATE TABLE counters (
        key   TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );
    INSERT INTO counters (key, value) VALUES ('heartbeats', 0);
",
    "
    -- 2 (SQLite's 4): sync — each record's origin (strings.id of the machine's sync id; NULL =
    -- recorded here), the journal machines pull from, each target's state.
    ALTER TABLE heartbeats ADD COLUMN origin INT;
    ALTER TABLE intervals ADD COLUMN origin INT;
    ALTER TABLE commits ADD COLUMN origin INT;
    ALTER TABLE branch_switches ADD COLUMN origin INT;
    CREATE TABLE journal (
        seq     BIGSERIAL PRIMARY KEY,
        user_id BIGINT NOT NULL,
        kind    SMALLINT NOT NULL,
        time_ms BIGINT NOT NULL,
        ref     BIGINT NOT NULL,
        sha     TEXT,
        origin  INT
    );
    CREATE INDEX journal_by_user ON journal (user_id, seq);
    CREATE TABLE sync_state (
        target TEXT PRIMARY KEY,
        state  TEXT NOT NULL
    );
",
    "
    -- 3 (SQLite's 5): corrections — a journal entry's text is the commit's sha, or the whole
    -- record (JSON) for a forget or a removed interval.
    ALTER TABLE journal RENAME COLUMN sha TO data;
",
    "
    -- 4 (SQLite's 6): the web dashboard's sign-in links and sessions (SHA-256 of the token),
    -- and the public badges users turned on.
    CREATE TABLE web_tokens (
        hash       BYTEA PRIMARY KEY,
        user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        kind       SMALLINT NOT NULL,
        key_id     BIGINT,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL
    );
    CREATE INDEX web_tokens_by_expiry ON web_tokens (expires_ms);
    CREATE TABLE web_badges (
        user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        project    TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (user_id, project)
    );
",
    "
    -- 5 (SQLite's 7): time per dependency reads only the heartbeats that list some.
    CREATE INDEX heartbeats_with_dependencies ON heartbeats (user_id, time_ms)
        WHERE dependencies IS NOT NULL;
",
    "
    -- 6 (SQLite's 8): agents — who did the work (strings.id of the agent; NULL = the human),
    -- WakaTime's AI fields; the daily rollup keyed by the actor too, every user's rollups
    -- recomputed. `ai coding` heartbeats already stored get their agent in `backfill_actors`.
    ALTER TABLE heartbeats ADD COLUMN actor INT;
    ALTER TABLE heartbeats ADD COLUMN ai_line_changes BIGINT;
    ALTER TABLE heartbeats ADD COLUMN human_line_changes BIGINT;
    ALTER TABLE heartbeats ADD COLUMN ai_session INT;
    ALTER TABLE heartbeats ADD COLUMN ai_input_tokens BIGINT;
    ALTER TABLE heartbeats ADD COLUMN ai_output_tokens BIGINT;
    ALTER TABLE heartbeats ADD COLUMN ai_model INT;
    DROP TABLE daily;
    CREATE TABLE daily (
        user_id  BIGINT NOT NULL,
        day      INT NOT NULL,
        project  INT NOT NULL,
        language INT NOT NULL,
        branch   INT NOT NULL,
        category SMALLINT NOT NULL,
        editor   INT NOT NULL,
        machine  INT NOT NULL,
        os       INT NOT NULL,
        source   SMALLINT NOT NULL,
        actor    INT NOT NULL,
        ms       BIGINT NOT NULL,
        PRIMARY KEY (user_id, day, project, language, branch, category, editor, machine, os, source, actor)
    );
    DELETE FROM daily_entities;
    UPDATE users SET rollup_rules = NULL;
",
    "
    -- 7 (SQLite's 9): focus timers; `end_ms` NULL while one runs, at most one per user.
    CREATE TABLE focus_sessions (
        id         BIGSERIAL PRIMARY KEY,
        user_id    BIGINT NOT NULL,
        start_ms   BIGINT NOT NULL,
        planned_ms BIGINT NOT NULL,
        end_ms     BIGINT,
        completed  BOOLEAN NOT NULL DEFAULT FALSE,
        project    TEXT,
        note       TEXT
    );
    CREATE INDEX focus_by_time ON focus_sessions (user_id, start_ms);
    CREATE UNIQUE INDEX focus_running ON focus_sessions (user_id) WHERE end_ms IS NULL;
",
];

/// The version whose migration adds the actor (see [`backfill_actors`]).
const ACTORS_VERSION: usize = 6;

/// Names the agent of every `ai coding` heartbeat that has none, by the rule new ones follow
/// ([`crate::agent::actor_for`]), as SQLite's migration does.
fn backfill_actors(tx: &mut postgres::Transaction) -> Result<(), postgres::Error> {
    use crate::model::{Category, EntityType, Heartbeat};
    let rows = tx.query(
        "SELECT h.user_id, h.time_ms, h.hash, e.value, h.type, ed.value
         FROM heartbeats h JOIN strings e ON e.id = h.entity
         LEFT JOIN strings ed ON ed.id = h.editor
         WHERE h.category = $1 AND h.actor IS NULL",
        &[&(Category::AI_CODING.code() as i16)],
    )?;
    for r in rows {
        let mut h = Heartbeat::new(0.0, r.get::<_, String>(3));
        h.entity_type =
            EntityType::from_code(i64::from(r.get::<_, i16>(4))).unwrap_or(EntityType::File);
        h.editor = r.get(5);
        let actor = crate::agent::actor_for(&h);
        tx.execute(
            "INSERT INTO strings (value) VALUES ($1) ON CONFLICT (value) DO NOTHING",
            &[&actor],
        )?;
        tx.execute(
            "UPDATE heartbeats SET actor = (SELECT id FROM strings WHERE value = $4)
             WHERE user_id = $1 AND time_ms = $2 AND hash = $3",
            &[
                &r.get::<_, i64>(0),
                &r.get::<_, i64>(1),
                &r.get::<_, i64>(2),
                &actor,
            ],
        )?;
    }
    Ok(())
}

/// Key of the advisory lock held while migrating ("tfmg").
const MIGRATION_LOCK: i64 = 0x7466_6d67;

/// Brings the schema up to date; refuses a database of a newer schema.
pub fn migrate(client: &mut Client, shown: &str) -> Result<()> {
    let err = |e| super::classify(shown, e);
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS tf_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )
        .map_err(err)?;
    let mut tx = client.transaction().map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(err)?;
    let version: i64 = tx
        .query_opt(
            "SELECT value FROM tf_meta WHERE key = 'schema_version'",
            &[],
        )
        .map_err(err)?
        .map(|r| r.get::<_, String>(0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version == 0
        && let Some(table) = tx
            .query_opt(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name <> 'tf_meta'
                 ORDER BY 1 LIMIT 1",
                &[],
            )
            .map_err(err)?
    {
        // Tables but no TimeForged version: another program's database.
        return Err(StoreError::NotOurs {
            path: shown.to_string(),
            table: table.get(0),
        });
    }
    let known = MIGRATIONS.len();
    if version > known as i64 {
        return Err(StoreError::TooNew {
            path: shown.to_string(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql).map_err(err)?;
        if i + 1 == ACTORS_VERSION {
            backfill_actors(&mut tx).map_err(err)?;
        }
        tx.execute(
            "INSERT INTO tf_meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&(i as i64 + 1).to_string()],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)
}
