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
