//! The SQLite schema as an append-only list of migrations, versioned with `PRAGMA user_version`.

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
];
