//! Rollups: credited time per local day, kept by the store so that long ranges need not walk
//! every heartbeat. This is their arithmetic over the storage traits: one day's rows, the
//! refresh of dirty days, and starting over when a user's rules or time zone change.

use super::credit;
use crate::calendar::{DayNum, date_of_num, day_num};
use crate::store::{DayRollup, Dims, Result, Scope, Snapshot, Store, UserId, rollup_signature};
use std::collections::{BTreeSet, HashMap};

/// One day's rollup rows, computed from the raw timeline.
pub fn compute_day(snap: &dyn Snapshot, scope: &Scope, day: DayNum) -> Result<DayRollup> {
    let Some(date) = date_of_num(day) else {
        return Ok(DayRollup::default());
    };
    let (start, end) = scope.calendar.bounds(date);
    let mut daily: HashMap<Dims, i64> = HashMap::new();
    let mut entities: HashMap<Dims, i64> = HashMap::new();
    credit::credit(
        snap,
        &scope.calendar,
        scope.rules,
        scope.user,
        start,
        end,
        &mut |s| {
            *daily.entry(Dims { entity: 0, ..s.key }).or_default() += s.ms();
            let by_entity = Dims {
                entity: s.key.entity,
                project: s.key.project,
                branch: s.key.branch,
                language: s.key.language,
                ..Dims::default()
            };
            *entities.entry(by_entity).or_default() += s.ms();
        },
    )?;
    let sorted = |m: HashMap<Dims, i64>| {
        let mut v: Vec<(Dims, i64)> = m.into_iter().collect();
        v.sort_unstable();
        v
    };
    Ok(DayRollup {
        daily: sorted(daily),
        entities: sorted(entities),
    })
}

/// Recomputes up to `max` dirty days in `[from, to]` (of `user`, or of everyone), each in its
/// own transaction so writers are never held up for long. `scope_of` gives a user's rules.
/// Returns how many days were refreshed.
pub fn refresh(
    store: &mut dyn Store,
    scope_of: &mut dyn FnMut(UserId) -> Option<Scope>,
    user: Option<UserId>,
    (from, to): (DayNum, DayNum),
    max: usize,
) -> Result<usize> {
    let dirty = store.dirty(user, from, to, max)?;
    for d in &dirty {
        let Some(scope) = scope_of(d.user) else {
            continue;
        };
        store.refresh_day(*d, &mut |snap| compute_day(snap, &scope, d.day))?;
    }
    Ok(dirty.len())
}

/// Makes sure `scope.user`'s rollups were computed under `scope`'s rules and time zone; if not,
/// drops them and marks every day with data dirty (the idle writer then recomputes them).
/// Returns true when they had to be reset.
pub fn ensure_rules(store: &mut dyn Store, scope: &Scope) -> Result<bool> {
    let want = rollup_signature(&scope.calendar, scope.rules);
    let have = store.rollup_rules(scope.user)?;
    if have.as_deref() == Some(want.as_str()) {
        return Ok(false);
    }
    tracing::info!(user = scope.user, old = ?have, new = %want, "duration rules or time zone changed: recomputing daily rollups");
    let mut days = Vec::new();
    store.read(&mut |snap| {
        days = days_with_data(snap, scope)?;
        Ok(())
    })?;
    store.reset_rollups(scope.user, &want, &days)?;
    Ok(true)
}

/// Every local day that has heartbeats or manual intervals of the user (and the day after each
/// day's last heartbeat, which its span may reach), found by skipping through the time index
/// one day at a time rather than reading every heartbeat.
pub fn days_with_data(snap: &dyn Snapshot, scope: &Scope) -> Result<Vec<DayNum>> {
    let cal = &scope.calendar;
    let mut out = BTreeSet::new();
    let mut from = i64::MIN;
    while let Some(t) = snap.next_beat_time(scope.user, from)? {
        let date = cal.date_of(t);
        let end = cal.bounds(date).1;
        out.insert(day_num(date));
        out.insert(cal.day_of(end));
        from = end;
    }
    for span in snap.interval_spans(scope.user, i64::MIN, i64::MAX)? {
        let mut t = span.start_ms;
        while t < span.end_ms {
            let date = cal.date_of(t);
            out.insert(day_num(date));
            t = cal.bounds(date).1;
        }
    }
    Ok(out.into_iter().collect())
}
