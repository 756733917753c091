//! Reading for a request: a snapshot of the database on a blocking thread (queries can take
//! milliseconds), and the reports every front end asks for, computed in that one snapshot.

use super::account::Account;
use crate::report::{self, Dim, Filters, Query, Report};
use crate::store::{Database, Snapshot, StoreError};
use crate::timeline::Rules;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Runs `f` on one snapshot of `db`, off the async threads.
pub(crate) async fn read<T: Send + 'static>(
    db: &Arc<dyn Database>,
    f: impl FnOnce(&dyn Snapshot) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let db = db.clone();
    let quiet = db.clone();
    let out = tokio::task::spawn_blocking(move || {
        let out = crate::store::read(&*db, f);
        db.release_memory();
        out
    })
    .await
    .map_err(|e| StoreError::Invalid(format!("query failed: {e}")))?;
    release_when_quiet(quiet);
    out
}

/// Reads since the start; a release waits until this stops moving.
static READS: AtomicU64 = AtomicU64::new(0);
/// A release is waiting for reads to go quiet.
static RELEASE_PENDING: AtomicBool = AtomicBool::new(false);
/// How long reads must have stopped before memory is given back.
const RELEASE_AFTER: Duration = Duration::from_secs(2);

/// Gives the memory of finished reads back to the system once reads have been quiet for
/// [`RELEASE_AFTER`]: pooled connections are closed and the heap is trimmed. A report and its
/// answer (megabytes for a year of `summaries`) are freed when sent, but glibc keeps freed
/// memory until trimmed, and connections keep buffers as large as the largest answer they
/// read: without this a server that answered a few large reports stayed tens of MB larger
/// while idle. The writer does the same when its own work stops; reads do not go through it.
fn release_when_quiet(db: Arc<dyn Database>) {
    READS.fetch_add(1, Ordering::AcqRel);
    if RELEASE_PENDING.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async move {
        loop {
            let seen = READS.load(Ordering::Acquire);
            tokio::time::sleep(RELEASE_AFTER).await;
            if READS.load(Ordering::Acquire) == seen {
                break;
            }
        }
        // A read landing between here and the release starts the next wait.
        RELEASE_PENDING.store(false, Ordering::Release);
        let _ = tokio::task::spawn_blocking(move || {
            db.release_idle();
            crate::heap::trim();
        })
        .await;
    });
}

/// What a report is over: a range, the dimensions, filters, and the rules to count with.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub start: i64,
    pub end: i64,
    pub by: Vec<Dim>,
    pub filters: Filters,
    pub rules: Rules,
}

impl Ask {
    /// A report of `[start, end)` under the account's own rules.
    pub fn new(account: &Account, start: i64, end: i64, by: Vec<Dim>) -> Ask {
        Ask {
            start,
            end,
            by,
            filters: Filters::default(),
            rules: account.rules(),
        }
    }

    pub fn filtered(mut self, filters: Filters) -> Ask {
        self.filters = filters;
        self
    }
}

/// A report of `account`'s data. Rollups count only when they were computed under the same
/// rules.
pub(crate) async fn report(
    db: &Arc<dyn Database>,
    account: &Account,
    ask: Ask,
) -> Result<Report, StoreError> {
    let account = account.clone();
    read(db, move |snap| {
        report::report(snap, account.calendar(), &to_query(&account, &ask))
    })
    .await
}

/// One report per local day of the range (WakaTime's `summaries`), from one pass.
pub(crate) async fn per_day(
    db: &Arc<dyn Database>,
    account: &Account,
    ask: Ask,
) -> Result<Vec<Report>, StoreError> {
    let account = account.clone();
    read(db, move |snap| {
        report::per_day(snap, account.calendar(), &to_query(&account, &ask))
    })
    .await
}

pub(crate) fn to_query<'a>(account: &Account, ask: &'a Ask) -> Query<'a> {
    Query {
        start_ms: ask.start,
        end_ms: ask.end,
        by: &ask.by,
        filters: &ask.filters,
        rules: ask.rules,
        rollups_usable: ask.rules == account.rules(),
        user_id: account.id(),
    }
}

pub(crate) use crate::calendar::now_ms;
