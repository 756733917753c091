//! Corrections on PostgreSQL: editing and removing manual intervals, forgetting heartbeats
//! (see the SQLite backend's `edit` module: the same rules, in one transaction each).

use super::{JournalRows, Statements, intern, interned, mark_dirty, span_days, touched_days};
use crate::model::{Category, Interval, ms_to_seconds};
use crate::store::{
    Forget, Forgotten, IntervalEdit, IntervalKey, IntervalRef, Provenance, Record, Scope,
    journal_data, journal_kind,
};
use postgres::{Row, Transaction};
use std::collections::HashMap;

type PgResult<T> = Result<T, postgres::Error>;

const INTERVAL_COLUMNS: &str =
    "SELECT i.id, i.start_ms, i.end_ms, p.value, b.value, i.category, i.note
     FROM intervals i JOIN strings p ON p.id = i.project LEFT JOIN strings b ON b.id = i.branch";

fn to_interval(r: &Row) -> (i64, Interval) {
    (
        r.get(0),
        Interval {
            start: ms_to_seconds(r.get(1)),
            end: ms_to_seconds(r.get(2)),
            project: r.get(3),
            branch: r.get(4),
            category: Category::from_code(i64::from(r.get::<_, i16>(5))).unwrap_or_default(),
            note: r.get(6),
        },
    )
}

pub(super) fn edit_interval(
    tx: &mut Transaction,
    st: &mut Statements,
    ids: &mut HashMap<String, i32>,
    scope: &Scope,
    which: IntervalRef<'_>,
    new: Option<&Interval>,
    from: &Provenance,
) -> PgResult<IntervalEdit> {
    let user = scope.user;
    let found = match which {
        IntervalRef::Id(id) => tx.query_opt(
            &format!("{INTERVAL_COLUMNS} WHERE i.user_id = $1 AND i.id = $2"),
            &[&user, &id],
        )?,
        IntervalRef::Key(k) => tx.query_opt(
            &format!(
                "{INTERVAL_COLUMNS} WHERE i.user_id = $1 AND i.start_ms = $2 AND i.end_ms = $3 AND p.value = $4"
            ),
            &[&user, &k.start_ms, &k.end_ms, &k.project],
        )?,
    };
    let Some((id, old)) = found.as_ref().map(to_interval) else {
        return Ok(IntervalEdit::Missing);
    };
    intern(
        tx,
        st,
        ids,
        new.iter()
            .flat_map(|iv| std::iter::once(iv.project.clone()).chain(iv.branch.clone()))
            .chain(from.origin.clone()),
    )?;
    let origin = interned(ids, from.origin.as_deref());
    let old_key = IntervalKey::of(&old);
    let mut days = span_days(scope, old_key.start_ms, old_key.end_ms);
    match new {
        None => {
            tx.execute("DELETE FROM intervals WHERE id = $1", &[&id])?;
        }
        Some(iv) => {
            let key = IntervalKey::of(iv);
            let project = interned(ids, Some(&iv.project)).unwrap_or_default();
            let clash = tx.query_opt(
                "SELECT id FROM intervals
                 WHERE user_id = $1 AND start_ms = $2 AND end_ms = $3 AND project = $4 AND id <> $5",
                &[&user, &key.start_ms, &key.end_ms, &project, &id],
            )?;
            if let Some(other) = clash {
                return Ok(IntervalEdit::Clash { id: other.get(0) });
            }
            tx.execute(
                "UPDATE intervals SET start_ms = $2, end_ms = $3, project = $4, branch = $5,
                     category = $6, note = $7, origin = $8
                 WHERE id = $1",
                &[
                    &id,
                    &key.start_ms,
                    &key.end_ms,
                    &project,
                    &interned(ids, iv.branch.as_deref()),
                    &(iv.category.code() as i16),
                    &iv.note,
                    &origin,
                ],
            )?;
            days.extend(span_days(scope, key.start_ms, key.end_ms));
        }
    }
    mark_dirty(tx, st, user, &days)?;
    if from.journal {
        let mut log = JournalRows::default();
        let removed = journal_data(&Record::IntervalRemoved(old_key.clone()));
        log.push(
            user,
            journal_kind::INTERVAL_REMOVED,
            old_key.start_ms,
            id,
            Some(&removed),
            origin,
        );
        if let Some(iv) = new {
            let start = crate::model::seconds_to_ms(iv.start);
            log.push(user, journal_kind::INTERVAL, start, id, None, origin);
        }
        log.write(tx, st)?;
    }
    Ok(IntervalEdit::Done { id, old })
}

pub(super) fn forget(
    tx: &mut Transaction,
    st: &mut Statements,
    ids: &mut HashMap<String, i32>,
    scope: &Scope,
    what: &Forget,
    apply: bool,
    from: &Provenance,
) -> PgResult<Forgotten> {
    let user = scope.user;
    let mut found = Forgotten::default();
    // A project never seen has no heartbeats here; the forget still syncs (others may).
    let project: Option<i32> = match &what.project {
        Some(p) => match tx.query_opt("SELECT id FROM strings WHERE value = $1", &[p])? {
            Some(r) => Some(r.get(0)),
            None => return finish(tx, st, ids, scope, what, apply, from, found),
        },
        None => None,
    };
    // The entities the glob matches, among those of this user's heartbeats in the range.
    let entities: Option<Vec<i32>> = match &what.entity {
        None => None,
        Some(_) => Some(
            tx.query(
                "SELECT DISTINCT h.entity, s.value FROM heartbeats h JOIN strings s ON s.id = h.entity
                 WHERE h.user_id = $1 AND h.time_ms >= $2 AND h.time_ms < $3
                   AND ($4::int IS NULL OR h.project = $4)",
                &[&user, &what.start_ms, &what.end_ms, &project],
            )?
            .iter()
            .filter(|r| what.matches_entity(r.get(1)))
            .map(|r| r.get(0))
            .collect(),
        ),
    };
    let sql = if apply {
        "DELETE FROM heartbeats
         WHERE user_id = $1 AND time_ms >= $2 AND time_ms < $3
           AND ($4::int IS NULL OR project = $4) AND ($5::int[] IS NULL OR entity = ANY($5))
         RETURNING time_ms"
    } else {
        "SELECT time_ms FROM heartbeats
         WHERE user_id = $1 AND time_ms >= $2 AND time_ms < $3
           AND ($4::int IS NULL OR project = $4) AND ($5::int[] IS NULL OR entity = ANY($5))"
    };
    let times: Vec<i64> = tx
        .query(
            sql,
            &[&user, &what.start_ms, &what.end_ms, &project, &entities],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for &t in &times {
        found.add(t);
    }
    if apply && !times.is_empty() {
        mark_dirty(tx, st, user, &touched_days(scope, times.iter().copied()))?;
        tx.execute(
            "UPDATE counters SET value = value - $1 WHERE key = 'heartbeats'",
            &[&(times.len() as i64)],
        )?;
    }
    finish(tx, st, ids, scope, what, apply, from, found)
}

/// Journals an applied forget as `from` asks.
#[allow(clippy::too_many_arguments)]
fn finish(
    tx: &mut Transaction,
    st: &mut Statements,
    ids: &mut HashMap<String, i32>,
    scope: &Scope,
    what: &Forget,
    apply: bool,
    from: &Provenance,
    found: Forgotten,
) -> PgResult<Forgotten> {
    if apply && from.journal {
        intern(tx, st, ids, from.origin.clone())?;
        let mut log = JournalRows::default();
        let data = journal_data(&Record::Forget(what.clone()));
        log.push(
            scope.user,
            journal_kind::FORGET,
            what.start_ms,
            0,
            Some(&data),
            interned(ids, from.origin.as_deref()),
        );
        log.write(tx, st)?;
    }
    Ok(found)
}
