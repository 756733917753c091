//! SQLite-specific tests, and the storage contract run against SQLite.

use super::*;
use crate::store::contract;
use std::sync::Arc;

fn fresh() -> (tempfile::TempDir, Arc<dyn crate::store::Database>) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDatabase::open(&dir.path().join("t.db")).unwrap();
    (dir, Arc::new(db))
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
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &schema::MIGRATIONS[..2] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 2).unwrap();
        tx.execute_batch(
            "INSERT INTO strings (id, value) VALUES (1, '/src/a.rs'), (2, 'a');
             INSERT INTO heartbeats (user_id, time_ms, hash, entity, type, category, source, is_write, project)
                 VALUES (1, 1000, 12345, 1, 0, 0, 0, 0, 2), (1, 61000, 678, 1, 0, 0, 0, 0, 2);
             INSERT INTO api_keys (hash, user_id, created_ms) VALUES (x'00', 1, 5);",
        )
        .unwrap();
        tx.commit().unwrap();
    }
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
    {
        let mut conn = Connection::open(&path).unwrap();
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().take(7) {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .unwrap();
            tx.commit().unwrap();
        }
        conn.execute_batch(
            "INSERT INTO users (id, name, created_ms, rollup_rules) VALUES (1, 'me', 0, 'old');
             INSERT INTO strings (id, value) VALUES (1, 'claude'), (2, '/src/a.rs'), (3, 'zsh'),
                 (4, 'Codex');
             -- The shell running claude (a command, ai coding), an editor in Codex, and an
             -- ordinary heartbeat.
             INSERT INTO heartbeats (user_id, time_ms, hash, entity, type, category, source, is_write, editor)
                 VALUES (1, 1000, 11, 1, 4, 18, 1, 0, 3), (1, 2000, 12, 2, 0, 18, 0, 0, 4),
                        (1, 3000, 13, 2, 0, 0, 0, 0, NULL);",
        )
        .unwrap();
    }
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
