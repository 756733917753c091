//! Looking into a bench's database from outside the server: how many days' rollups are still
//! stale (SQLite file or PostgreSQL), so a bench can wait for the idle refresh to finish
//! before it times warm reports.

use super::fail;
use std::path::Path;
use std::time::{Duration, Instant};

/// Stale days in a SQLite database (any user).
pub fn sqlite_dirty_days(db: &Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| fail(format!("opening {}: {e}", db.display())));
    conn.query_row("SELECT count(*) FROM dirty_days", [], |r| r.get(0))
        .unwrap_or_else(|e| fail(format!("counting dirty days: {e}")))
}

/// Stale days in a PostgreSQL database (any user).
pub fn postgres_dirty_days(url: &str) -> i64 {
    let mut c = postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| fail(format!("connecting to PostgreSQL: {e}")));
    c.query_one("SELECT count(*) FROM dirty_days", &[])
        .map(|r| r.get(0))
        .unwrap_or_else(|e| fail(format!("counting dirty days: {e}")))
}

/// Stale days in the database a server URL (a path or postgres://…) names.
pub fn dirty_days(url: &str) -> i64 {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres_dirty_days(url)
    } else {
        sqlite_dirty_days(Path::new(url.strip_prefix("sqlite://").unwrap_or(url)))
    }
}

/// Waits until no day is stale (the writer refreshes them when idle); returns how long it took.
pub fn wait_for_fresh_rollups(url: &str) -> Duration {
    let started = Instant::now();
    loop {
        let dirty = dirty_days(url);
        if dirty == 0 {
            return started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(600) {
            fail(format!("{dirty} days still stale after 600 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
