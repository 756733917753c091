//! The storage contract against a real PostgreSQL server (`TIMEFORGED_TEST_POSTGRES`, an
//! admin URL; `.ci/run` starts one), each case in a database of its own.

use super::*;
use crate::store::contract;

/// A throwaway database on the test server, dropped at the end.
pub struct TempDb {
    admin: String,
    name: String,
    pub url: String,
}

impl TempDb {
    /// None (and a loud SKIPPED) without a server; under TIMEFORGED_REQUIRE_ALL that fails.
    pub fn new(test: &str) -> Option<TempDb> {
        let Ok(admin) = std::env::var("TIMEFORGED_TEST_POSTGRES") else {
            eprintln!(
                "SKIPPED {test}: set TIMEFORGED_TEST_POSTGRES=postgres://USER:PASS@HOST/postgres"
            );
            assert!(
                std::env::var_os("TIMEFORGED_REQUIRE_ALL").is_none(),
                "{test} needs PostgreSQL (TIMEFORGED_TEST_POSTGRES) under TIMEFORGED_REQUIRE_ALL"
            );
            return None;
        };
        let name = format!("tf_test_{}", uuid::Uuid::new_v4().simple());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("test server");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("TIMEFORGED_TEST_POSTGRES must end with /DATABASE"),
        };
        Some(TempDb { admin, name, url })
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[test]
fn storage_contract() {
    let dbs = RefCell::new(Vec::new());
    if TempDb::new("storage_contract (postgres)").is_none() {
        return;
    }
    contract::all(&|| {
        let tmp = TempDb::new("storage_contract (postgres)").expect("server");
        let db = PgDatabase::open(&tmp.url).unwrap();
        dbs.borrow_mut().push(tmp);
        db
    });
}

#[test]
fn bad_urls_and_unreachable_servers_are_clear() {
    let err = PgDatabase::open("postgres://u@host:notaport/db")
        .err()
        .unwrap();
    assert!(err.to_string().contains("bad database URL"), "{err}");
    // Nothing listens on port 1 of loopback.
    let err = PgDatabase::open("postgres://u:secret@127.0.0.1:1/db")
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("127.0.0.1:1") && !msg.contains("secret"),
        "{msg}"
    );
}

#[test]
fn a_newer_or_foreign_database_is_refused() {
    let Some(tmp) = TempDb::new("a_newer_or_foreign_database_is_refused") else {
        return;
    };
    drop(PgDatabase::open(&tmp.url).unwrap());
    let mut c = postgres::Client::connect(&tmp.url, postgres::NoTls).unwrap();
    c.batch_execute("UPDATE tf_meta SET value = '99' WHERE key = 'schema_version'")
        .unwrap();
    let err = PgDatabase::open(&tmp.url).err().unwrap();
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    let Some(other) = TempDb::new("a_newer_or_foreign_database_is_refused") else {
        return;
    };
    let mut c = postgres::Client::connect(&other.url, postgres::NoTls).unwrap();
    c.batch_execute("CREATE TABLE invoices (id int)").unwrap();
    let err = PgDatabase::open(&other.url).err().unwrap();
    assert!(matches!(err, StoreError::NotOurs { .. }), "{err}");
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(
        redact("postgres://tf:s3cret@db:5432/x"),
        "postgres://tf:***@db:5432/x"
    );
    assert_eq!(redact("postgres://tf@db/x"), "postgres://tf@db/x");
    assert_eq!(redact("/var/lib/tf.db"), "/var/lib/tf.db");
}

/// Four writers and two refreshers on one PostgreSQL database at once (READ COMMITTED): a
/// day marked dirty while it is being refreshed must stay dirty, so once everything is
/// refreshed the rollups equal a full recomputation, day by day.
#[test]
fn concurrent_writers_never_leave_rollups_stale() {
    use crate::calendar::Calendar;
    use crate::report::{self, Dim, Filters, Query, rollup};
    use crate::timeline::Rules;
    let Some(tmp) = TempDb::new("concurrent_writers_never_leave_rollups_stale") else {
        return;
    };
    let db = PgDatabase::open(&tmp.url).unwrap();
    let user = db
        .writer()
        .unwrap()
        .add_user("racer", &UserSettings::default(), 0)
        .unwrap();
    let scope = Scope {
        user: user.id,
        calendar: Calendar::new(jiff::tz::TimeZone::get("Europe/Berlin").unwrap()),
        rules: Rules::timeforged(15 * 60_000),
    };
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut writers = Vec::new();
        for w in 0..4u64 {
            let (db, scope) = (&db, &scope);
            writers.push(s.spawn(move || {
                let mut store = db.writer().unwrap();
                // Each writer's heartbeats land on the same five days, interleaved in time.
                let mut rng = w * 7919 + 17;
                for round in 0..40 {
                    let beats: Vec<Heartbeat> = (0..25)
                        .map(|i| {
                            rng = rng
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                            // Whole seconds plus a millisecond tag: every heartbeat distinct.
                            let tag = (w * 1000 + round as u64 * 25 + i as u64) as f64 / 10_000.0;
                            let t = 1_700_000_000.0 + ((rng >> 33) % (5 * 86_400)) as f64 + tag;
                            contract::hb(t, ["a", "b", "c"][(i + round) % 3])
                        })
                        .collect();
                    store.insert(&[Batch::local(scope, &beats)]).unwrap();
                }
            }));
        }
        for _ in 0..2 {
            let (db, scope, done) = (&db, &scope, &done);
            s.spawn(move || {
                let mut store = db.writer().unwrap();
                let sc = scope.clone();
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    rollup::refresh(
                        &mut *store,
                        &mut |_| Some(sc.clone()),
                        None,
                        (DayNum::MIN, DayNum::MAX),
                        2,
                    )
                    .unwrap();
                }
            });
        }
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let mut store = db.writer().unwrap();
    let sc = scope.clone();
    while rollup::refresh(
        &mut *store,
        &mut |_| Some(sc.clone()),
        None,
        (DayNum::MIN, DayNum::MAX),
        100,
    )
    .unwrap()
        > 0
    {}
    let report = |rollups: bool, start: i64, end: i64| {
        crate::store::read(&*db, |snap| {
            report::report(
                snap,
                &scope.calendar,
                &Query {
                    start_ms: start,
                    end_ms: end,
                    by: &[Dim::Project, Dim::Day],
                    filters: &Filters::default(),
                    rules: scope.rules,
                    rollups_usable: rollups,
                    user_id: user.id,
                },
            )
        })
        .unwrap()
    };
    let (start, end) = (1_699_900_000_000, 1_700_000_000_000 + 6 * 86_400_000);
    let live = report(false, start, end);
    assert!(live.total_seconds > 3600.0, "{live:?}");
    assert_eq!(report(true, start, end), live);
    assert!(
        crate::store::read(&*db, |s| s.dirty_days(user.id, DayNum::MIN, DayNum::MAX))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        crate::store::read(&*db, |s| s.heartbeat_count()).unwrap(),
        4000
    );
}

/// The race READ COMMITTED allows, made to happen: another connection marks the day (and
/// commits a heartbeat in it) after the refresh has read the day but before it clears the
/// mark. The mark must survive, and the day is then counted live until refreshed again.
#[test]
fn a_mark_that_lands_during_a_refresh_survives() {
    use crate::calendar::Calendar;
    use crate::report::{self, Dim, Filters, Query, rollup};
    use crate::timeline::Rules;
    let Some(tmp) = TempDb::new("a_mark_that_lands_during_a_refresh_survives") else {
        return;
    };
    let db = PgDatabase::open(&tmp.url).unwrap();
    let mut w = db.writer().unwrap();
    let mut other = db.writer().unwrap();
    let user = w.add_user("racer", &UserSettings::default(), 0).unwrap();
    let scope = Scope {
        user: user.id,
        calendar: Calendar::new(jiff::tz::TimeZone::UTC),
        rules: Rules::timeforged(15 * 60_000),
    };
    w.insert(&[crate::store::Batch::local(
        &scope,
        &[contract::hb(1000.0, "a"), contract::hb(1060.0, "a")],
    )])
    .unwrap();
    let day = w
        .dirty(Some(user.id), DayNum::MIN, DayNum::MAX, 10)
        .unwrap();
    let day = *day.iter().find(|d| d.day == 19700101).unwrap();
    w.refresh_day(day, &mut |snap| {
        let rows = rollup::compute_day(snap, &scope, day.day)?;
        // Committed on another connection while this refresh is open.
        other
            .insert(&[Batch::local(&scope, &[contract::hb(1120.0, "a")])])
            .unwrap();
        Ok(rows)
    })
    .unwrap();
    let dirty =
        crate::store::read(&*db, |s| s.dirty_days(user.id, DayNum::MIN, DayNum::MAX)).unwrap();
    assert!(
        dirty.contains(&19700101),
        "the second mark was lost: {dirty:?}"
    );
    let total = || {
        crate::store::read(&*db, |snap| {
            report::report(
                snap,
                &scope.calendar,
                &Query {
                    start_ms: 0,
                    end_ms: 86_400_000,
                    by: &[Dim::Project],
                    filters: &Filters::default(),
                    rules: scope.rules,
                    rollups_usable: true,
                    user_id: user.id,
                },
            )
        })
        .unwrap()
        .total_seconds
    };
    assert_eq!(total(), 120.0);
    let sc = scope.clone();
    rollup::refresh(
        &mut *w,
        &mut |_| Some(sc.clone()),
        None,
        (DayNum::MIN, DayNum::MAX),
        10,
    )
    .unwrap();
    assert_eq!(total(), 120.0);
}
