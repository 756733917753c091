//! The server side of sync (`timeforged serve`, and any daemon's HTTP API): push stores a
//! machine's records for the key's user, each once and each answered on its own; pull pages
//! through the user's journal from a cursor, leaving out what the asking machine sent itself.

use super::account::Account;
use super::http::Api;
use super::query;
use crate::calendar::now_ms;
use crate::model::ms_to_seconds;
use crate::store::{Provenance, Record, StoreError, Stored};
use crate::sync::wire::{
    MAX_PAGE, Outcome, PullResponse, Pulled, PushRequest, PushResponse, SCHEMA,
};
use std::collections::HashMap;

pub(crate) enum SyncError {
    BadRequest(String),
    Forbidden(String),
    Store(StoreError),
    ShuttingDown,
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(e)
    }
}

impl From<super::writer::WriteError> for SyncError {
    fn from(e: super::writer::WriteError) -> Self {
        match e {
            super::writer::WriteError::ShuttingDown => SyncError::ShuttingDown,
            super::writer::WriteError::Store(e) => SyncError::Store(e),
        }
    }
}

/// Longest machine id accepted (a UUID is 36).
const MAX_MACHINE_ID: usize = 64;

/// `POST /api/v1/sync/push`.
pub(crate) async fn push(
    api: &Api,
    account: &Account,
    body: &[u8],
) -> Result<PushResponse, SyncError> {
    if account.read_only {
        return Err(SyncError::Forbidden(
            "this API key is read-only: it cannot push".into(),
        ));
    }
    let req: PushRequest = serde_json::from_slice(body)
        .map_err(|e| SyncError::BadRequest(format!("not a sync push body: {e}")))?;
    if req.schema != SCHEMA {
        return Err(SyncError::BadRequest(format!(
            "schema {} is not supported (this server speaks {SCHEMA}); upgrade TimeForged",
            req.schema
        )));
    }
    let id = req.machine.id.trim();
    if id.is_empty() || id.len() > MAX_MACHINE_ID || id.contains(char::is_control) {
        return Err(SyncError::BadRequest(format!(
            "machine.id {:?} is not a machine id (expected up to {MAX_MACHINE_ID} characters)",
            req.machine.id
        )));
    }
    if req.records.len() > MAX_PAGE {
        return Err(SyncError::BadRequest(format!(
            "{} records in one push (at most {MAX_PAGE})",
            req.records.len()
        )));
    }
    let from = Provenance {
        origin: Some(id.to_string()),
        journal: true,
    };
    let now = ms_to_seconds(now_ms());
    let mut results: Vec<Option<Outcome>> = vec![None; req.records.len()];
    let mut beats = Vec::new();
    let mut beat_index = Vec::new();
    let mut others: Vec<(usize, Record)> = Vec::new();
    for (i, raw) in req.records.iter().enumerate() {
        match parse(raw, now) {
            Ok(Record::Heartbeat(h)) => {
                beat_index.push(i);
                beats.push(h);
            }
            Ok(other) => others.push((i, other)),
            Err(e) => results[i] = Some(Outcome::Rejected(e)),
        }
    }
    if !beats.is_empty() {
        let written = api
            .writer
            .heartbeats_from(account.scope.clone(), beats, from.clone())
            .await?;
        super::announce(&api.events, &written);
        if let Some(m) = &api.metrics {
            m.heartbeats_ingested(written.new_count());
        }
        for (i, stored) in beat_index.into_iter().zip(written.stored) {
            results[i] = Some(match stored {
                Stored::New => Outcome::Stored,
                Stored::Duplicate => Outcome::Duplicate,
            });
        }
    }
    for (i, record) in others {
        let (scope, from) = (account.scope.clone(), from.clone());
        let changed = api
            .writer
            .run(move |w| crate::store::apply_record(w, &scope, &record, now_ms(), &from))
            .await?;
        results[i] = Some(if changed {
            Outcome::Stored
        } else {
            Outcome::Duplicate
        });
    }
    Ok(PushResponse {
        schema: SCHEMA,
        results: results
            .into_iter()
            .map(|r| r.unwrap_or(Outcome::Rejected("not processed".into())))
            .collect(),
    })
}

/// One pushed record, checked as if it were sent to the daemon.
fn parse(raw: &serde_json::Value, now: f64) -> Result<Record, String> {
    let record: Record = serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })?;
    match record {
        Record::Heartbeat(mut h) => {
            h.validate(now).map_err(|e| e.to_string())?;
            h.source.get_or_insert(crate::model::Source::Sync);
            Ok(Record::Heartbeat(h))
        }
        Record::Interval(iv) => {
            iv.validate(now).map_err(|e| e.to_string())?;
            Ok(Record::Interval(iv))
        }
        Record::Commit(c) => {
            if !crate::git::is_sha(&c.sha) {
                return Err(format!("sha: {:?} is not a commit id", c.sha));
            }
            if c.project.trim().is_empty() || c.project.len() > crate::model::MAX_STRING_BYTES {
                return Err("project: must be 1 to 512 bytes".into());
            }
            if c.replaced_by
                .as_deref()
                .is_some_and(|s| !crate::git::is_sha(s))
            {
                return Err("replaced_by: not a commit id".into());
            }
            Ok(Record::Commit(c))
        }
        Record::Switch(w) => {
            if w.project.trim().is_empty() || w.branch.trim().is_empty() {
                return Err("project and branch must not be empty".into());
            }
            Ok(Record::Switch(w))
        }
        Record::Forget(f) => {
            f.validate().map_err(|e| e.to_string())?;
            Ok(Record::Forget(f))
        }
        Record::IntervalRemoved(k) => {
            if k.project.trim().is_empty() || k.project.len() > crate::model::MAX_STRING_BYTES {
                return Err("project: must be 1 to 512 bytes".into());
            }
            Ok(Record::IntervalRemoved(k))
        }
    }
}

/// `GET /api/v1/sync/pull?after=SEQ&limit=N&machine=ID`.
pub(crate) async fn pull(
    api: &Api,
    account: &Account,
    q: &HashMap<String, String>,
) -> Result<PullResponse, SyncError> {
    let after: i64 = match q.get("after") {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|_| SyncError::BadRequest(format!("after {v:?} is not a sequence number")))?,
    };
    let limit: usize = match q.get("limit") {
        None => 500,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                SyncError::BadRequest(format!("limit {v:?} is not a number from 1 to {MAX_PAGE}"))
            })?,
    };
    let machine = q.get("machine").cloned();
    let user = account.id();
    let (page, end) = query::read(&api.db, move |snap| {
        let page = snap.journal(Some(user), after, limit, machine.as_deref())?;
        Ok((page, snap.journal_end()?))
    })
    .await?;
    let full = page.examined == limit;
    let last = page.last;
    let records = page
        .entries
        .into_iter()
        .filter_map(|e| {
            Some(Pulled {
                seq: e.seq,
                origin: e.origin,
                schema: SCHEMA,
                record: serde_json::to_value(&e.record).ok()?,
            })
        })
        .collect();
    Ok(PullResponse {
        schema: SCHEMA,
        records,
        // A short page has looked at everything up to the journal's end.
        next: if full { last } else { last.max(end) },
        more: full,
    })
}
