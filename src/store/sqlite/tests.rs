//! SQLite-specific tests, and the storage contract run against SQLite.

use super::*;
use crate::store::contract;
use std::sync::Arc;

fn fresh() -> (tempfile::TempDir, Arc<dyn crate::store::Database>) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDatabase::open(&dir.path().join("t.db")).unwrap();
    (dir, Arc::new(db))
}

/// A database at `path` as an older version left it: the first `version` migrations, then
/// `data` (SQL in that version's schema).
fn database_at_version(path: &Path, version: usize, data: &str) {
    let mut conn = Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    for sql in &schema::MIGRATIONS[..version] {
        tx.execute_batch(sql).unwrap();
    }
    tx.pragma_update(None, "user_version", version as i64)
        .unwrap();
    tx.execute_batch(data).unwrap();
    tx.commit().unwrap();
}

#[test]
fn storage_contract() {
    let dirs = std::cell::RefCell::new(Vec::new());
    contract::all(&|| {
        let (dir, db) = fresh();
        dirs.borrow_mut().push(dir);
        db
    });
}

#[test]
fn corrupt_file_is_reported_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let junk = vec![0x5au8; 8192];
    std::fs::write(&path, &junk).unwrap();
    let err = SqliteDatabase::open(&path)
        .err()
        .expect("corrupt database must not open");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("t.db"), "{err}");
    assert!(
        std::fs::read(&path).unwrap() == junk,
        "the file was changed"
    );
}

/// Another program's SQLite file is refused, not given TimeForged's tables.
#[test]
fn foreign_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for table in ["invoices", "heartbeats"] {
        let path = dir.path().join(format!("{table}.db"));
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "CREATE TABLE {table} (id INTEGER PRIMARY KEY, x TEXT);"
            ))
            .unwrap();
        }
        let digest = |p: &Path| crate::apikey::hash(&format!("{:?}", std::fs::read(p).unwrap()));
        let before = digest(&path);
        let err = SqliteDatabase::open(&path).err().expect("must refuse");
        assert!(matches!(err, StoreError::NotOurs { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(table) && msg.contains("another program"),
            "{msg}"
        );
        assert!(digest(&path) == before, "{table}.db was changed");
    }
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(SqliteDatabase::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteDatabase::open(&path).err().expect("must refuse");
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("upgrade TimeForged"), "{err}");
}

#[test]
fn a_directory_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteDatabase::open(dir.path()).err().expect("must refuse");
    assert!(matches!(err, StoreError::IsDirectory { .. }), "{err}");
    assert!(err.to_string().contains("is a directory"), "{err}");
}

/// A version-2 database (hashes with the user id in them, one API key table, no users) is
/// migrated: ids recomputed, its key kept as the key file's, and its data reported the same.
#[test]
fn version_2_databases_are_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    database_at_version(
        &path,
        2,
        "INSERT INTO strings (id, value) VALUES (1, '/src/a.rs'), (2, 'a');
         INSERT INTO heartbeats (user_id, time_ms, hash, entity, type, category, source, is_write, project)
             VALUES (1, 1000, 12345, 1, 0, 0, 0, 0, 2), (1, 61000, 678, 1, 0, 0, 0, 0, 2);
         INSERT INTO api_keys (hash, user_id, created_ms) VALUES (x'00', 1, 5);",
    );
    let db: Arc<dyn crate::store::Database> = Arc::new(SqliteDatabase::open(&path).unwrap());
    let ids = crate::store::read(&*db, |snap| {
        let mut ids = Vec::new();
        snap.heartbeats(1, 0, i64::MAX, &mut |h| {
            ids.push(h.id());
            true
        })?;
        Ok(ids)
    })
    .unwrap();
    let stored: Vec<i64> = Connection::open(&path)
        .unwrap()
        .prepare("SELECT hash FROM heartbeats ORDER BY time_ms")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(ids, stored);
    let keys = crate::store::read(&*db, |s| s.keys(1)).unwrap();
    assert_eq!(keys[0].label.as_deref(), Some(crate::store::KEY_FILE_LABEL));
    let mut w = db.writer().unwrap();
    let scope = contract::utc_scope(1);
    assert!(crate::report::rollup::ensure_rules(&mut *w, &scope).unwrap());
}

/// `-wal`/`-shm` left read-only (by opening a 0400 database) are made writable again once the
/// database is.
#[test]
fn unwritable_side_files_of_a_writable_database_are_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(SqliteDatabase::open(&path).unwrap());
    for suffix in ["-wal", "-shm"] {
        let side = dir.path().join(format!("t.db{suffix}"));
        std::fs::write(&side, b"").unwrap();
        std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    SqliteDatabase::open(&path).unwrap();
    for suffix in ["-wal", "-shm"] {
        let side = dir.path().join(format!("t.db{suffix}"));
        if let Ok(m) = std::fs::metadata(&side) {
            assert_ne!(m.permissions().mode() & 0o200, 0, "{suffix}");
        }
    }
}

/// Issue 15: a database from before agents keeps its `ai coding` heartbeats as agent time —
/// the migration names each one's agent as new ones are named (the shell's `claude` is
/// `claude-code`), and every user's rollups are recomputed (the daily rollup gained the actor).
#[test]
fn ai_coding_heartbeats_get_their_agent_in_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    database_at_version(
        &path,
        7,
        "INSERT INTO users (id, name, created_ms, rollup_rules) VALUES (1, 'me', 0, 'old');
         INSERT INTO strings (id, value) VALUES (1, 'claude'), (2, '/src/a.rs'), (3, 'zsh'),
             (4, 'Codex');
         -- The shell running claude (a command, ai coding), an editor in Codex, and an
         -- ordinary heartbeat.
         INSERT INTO heartbeats (user_id, time_ms, hash, entity, type, category, source, is_write, editor)
             VALUES (1, 1000, 11, 1, 4, 18, 1, 0, 3), (1, 2000, 12, 2, 0, 18, 0, 0, 4),
                    (1, 3000, 13, 2, 0, 0, 0, 0, NULL);",
    );
    let db = SqliteDatabase::open(&path).unwrap();
    let actors = crate::store::read(&db, |snap| {
        let mut out = Vec::new();
        snap.heartbeats(1, 0, i64::MAX, &mut |h| {
            out.push(h.actor);
            true
        })?;
        Ok(out)
    })
    .unwrap();
    assert_eq!(
        actors,
        vec![Some("claude-code".into()), Some("codex".into()), None]
    );
    let mut w = crate::store::Database::writer(&db).unwrap();
    assert_eq!(w.rollup_rules(1).unwrap(), None, "rollups are recomputed");
}

/// Migration 10 folds the six AI columns into one JSON column: what they held reads back the
/// same (session and model by name), a heartbeat without any stays NULL, and the dependency
/// index is there again.
#[test]
fn ai_fields_move_into_one_column_in_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    database_at_version(
        &path,
        9,
        "INSERT INTO users (id, name, created_ms) VALUES (1, 'me', 0);
         INSERT INTO strings (id, value) VALUES (1, '/src/a.rs'), (2, 'sess-1'), (3, 'opus-4.1'),
             (4, 'claude-code');
         INSERT INTO heartbeats (user_id, time_ms, hash, entity, type, category, source, is_write,
                 dependencies, actor, ai_line_changes, human_line_changes, ai_session,
                 ai_input_tokens, ai_output_tokens, ai_model)
             VALUES (1, 1000, 11, 1, 0, 18, 0, 0, '[\"serde\"]', 4, -3, NULL, 2, 100, 50, 3),
                    (1, 2000, 12, 1, 0, 0, 0, 0, NULL, NULL, NULL, 7, NULL, NULL, NULL, NULL),
                    (1, 3000, 13, 1, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    );
    let db = SqliteDatabase::open(&path).unwrap();
    let beats = crate::store::read(&db, |snap| {
        let mut out = Vec::new();
        snap.heartbeats(1, 0, i64::MAX, &mut |h| {
            out.push(h);
            true
        })?;
        Ok(out)
    })
    .unwrap();
    let ai = |h: &Heartbeat| {
        (
            h.ai_line_changes,
            h.human_line_changes,
            h.ai_session.clone(),
            h.ai_input_tokens,
            h.ai_output_tokens,
            h.ai_model.clone(),
        )
    };
    assert_eq!(
        ai(&beats[0]),
        (
            Some(-3),
            None,
            Some("sess-1".into()),
            Some(100),
            Some(50),
            Some("opus-4.1".into())
        )
    );
    assert_eq!(beats[0].actor.as_deref(), Some("claude-code"));
    assert_eq!(beats[0].dependencies, vec!["serde".to_string()]);
    assert_eq!(ai(&beats[1]), (None, Some(7), None, None, None, None));
    assert_eq!(ai(&beats[2]), (None, None, None, None, None, None));

    let conn = Connection::open(&path).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('heartbeats')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(columns.contains(&"ai".to_string()), "{columns:?}");
    assert!(!columns.iter().any(|c| c.starts_with("ai_")), "{columns:?}");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM heartbeats WHERE ai IS NULL"), 1);
    assert_eq!(
        count("SELECT count(*) FROM sqlite_schema WHERE name = 'heartbeats_with_dependencies'"),
        1
    );
    let sessions = crate::store::read(&db, |snap| {
        let mut out = Vec::new();
        snap.ai_counts(1, 0, i64::MAX, &mut |c| {
            out.push((c.ai_input_tokens, c.session))
        })?;
        Ok(out)
    })
    .unwrap();
    assert_eq!(sessions, vec![(100, 2), (0, 0)]);
}

/// Every change to users or keys moves the accounts version on (the local daemon's key cache
/// depends on it), through the first writer and through writers opened later; heartbeats do not.
#[test]
fn changes_to_users_and_keys_move_the_accounts_version_on() {
    let (_dir, db) = fresh();
    let version = || db.accounts_version().unwrap();
    let mut w = db.writer().unwrap();
    let before = version();
    let user = w.add_user("ann", &Default::default(), 0).unwrap();
    let added = version();
    assert!(added > before);
    let key = w
        .add_key(user.id, &crate::apikey::hash("k"), None, false, 0)
        .unwrap();
    assert!(version() > added);
    let keyed = version();
    let beat = Heartbeat::new(1_700_000_000.0, "/a.rs");
    let scope = contract::utc_scope(user.id);
    w.insert(&[crate::store::Batch::local(
        &scope,
        std::slice::from_ref(&beat),
    )])
    .unwrap();
    assert_eq!(version(), keyed, "heartbeats are not account changes");
    let mut later = db.writer().unwrap();
    later.revoke_keys(KeySelector::Id(key.id)).unwrap();
    assert!(version() > keyed, "a writer opened later counts too");
}
