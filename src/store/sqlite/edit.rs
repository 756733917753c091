//! Corrections on SQLite: editing and removing manual intervals, forgetting heartbeats. Each
//! runs in the writer's transaction, marks the days it changes dirty (so reports and rollups
//! follow at once) and journals itself for sync.

use super::{DayMarker, Interner, journal};
use crate::model::{Category, Interval, ms_to_seconds, seconds_to_ms};
use crate::store::{
    Forget, Forgotten, IntervalEdit, IntervalKey, IntervalRef, Provenance, Record, Scope,
    journal_data, journal_kind,
};
use rusqlite::{Connection, OptionalExtension, params};

const INTERVAL_COLUMNS: &str =
    "SELECT i.id, i.start_ms, i.end_ms, p.value, b.value, i.category, i.note
     FROM intervals i JOIN strings p ON p.id = i.project LEFT JOIN strings b ON b.id = i.branch";

pub(super) fn edit_interval(
    conn: &Connection,
    strings: &mut Interner,
    scope: &Scope,
    which: IntervalRef<'_>,
    new: Option<&Interval>,
    from: &Provenance,
) -> rusqlite::Result<IntervalEdit> {
    let user = scope.user;
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, Interval)> {
        Ok((
            r.get(0)?,
            Interval {
                start: ms_to_seconds(r.get(1)?),
                end: ms_to_seconds(r.get(2)?),
                project: r.get(3)?,
                branch: r.get(4)?,
                category: Category::from_code(r.get(5)?).unwrap_or_default(),
                note: r.get(6)?,
            },
        ))
    };
    let found = match which {
        IntervalRef::Id(id) => conn
            .prepare_cached(&format!(
                "{INTERVAL_COLUMNS} WHERE i.user_id = ?1 AND i.id = ?2"
            ))?
            .query_row(params![user, id], row)
            .optional()?,
        IntervalRef::Key(k) => conn
            .prepare_cached(&format!(
                "{INTERVAL_COLUMNS} WHERE i.user_id = ?1 AND i.start_ms = ?2 AND i.end_ms = ?3 AND p.value = ?4"
            ))?
            .query_row(params![user, k.start_ms, k.end_ms, k.project], row)
            .optional()?,
    };
    let Some((id, old)) = found else {
        return Ok(IntervalEdit::Missing);
    };
    let origin = strings.opt(conn, from.origin.as_deref())?;
    let old_key = IntervalKey::of(&old);
    let mut days = DayMarker::new(scope);
    days.mark_span(old_key.start_ms, old_key.end_ms);
    match new {
        None => {
            conn.execute("DELETE FROM intervals WHERE id = ?1", [id])?;
        }
        Some(iv) => {
            let key = IntervalKey::of(iv);
            let project = strings.id(conn, &iv.project)?;
            let clash: Option<i64> = conn
                .query_row(
                    "SELECT id FROM intervals
                     WHERE user_id = ?1 AND start_ms = ?2 AND end_ms = ?3 AND project = ?4 AND id <> ?5",
                    params![user, key.start_ms, key.end_ms, project, id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(other) = clash {
                return Ok(IntervalEdit::Clash { id: other });
            }
            let branch = strings.opt(conn, iv.branch.as_deref())?;
            conn.execute(
                "UPDATE intervals SET start_ms = ?2, end_ms = ?3, project = ?4, branch = ?5,
                     category = ?6, note = ?7, origin = ?8
                 WHERE id = ?1",
                params![
                    id,
                    key.start_ms,
                    key.end_ms,
                    project,
                    branch,
                    iv.category.code(),
                    iv.note,
                    origin
                ],
            )?;
            days.mark_span(key.start_ms, key.end_ms);
        }
    }
    days.write(conn, user)?;
    if from.journal {
        let removed = journal_data(&Record::IntervalRemoved(old_key.clone()));
        journal(
            conn,
            user,
            journal_kind::INTERVAL_REMOVED,
            old_key.start_ms,
            id,
            Some(&removed),
            origin,
        )?;
        if let Some(iv) = new {
            let start = seconds_to_ms(iv.start);
            journal(conn, user, journal_kind::INTERVAL, start, id, None, origin)?;
        }
    }
    Ok(IntervalEdit::Done { id, old })
}

pub(super) fn forget(
    conn: &Connection,
    strings: &mut Interner,
    scope: &Scope,
    what: &Forget,
    apply: bool,
    from: &Provenance,
) -> rusqlite::Result<Forgotten> {
    let user = scope.user;
    let lookup = |value: &str| -> rusqlite::Result<Option<u32>> {
        conn.prepare_cached("SELECT id FROM strings WHERE value = ?1")?
            .query_row([value], |r| r.get(0))
            .optional()
    };
    // A project never seen has no heartbeats here; the forget still syncs (others may).
    let project = match &what.project {
        Some(p) => match lookup(p)? {
            Some(id) => Some(id),
            None => {
                return finish(
                    conn,
                    strings,
                    scope,
                    what,
                    apply,
                    from,
                    Forgotten::default(),
                );
            }
        },
        None => None,
    };
    // The entities the glob matches, among those of this user's heartbeats in the range.
    let entities: Vec<Option<u32>> = match &what.entity {
        None => vec![None],
        Some(_) => {
            let mut st = conn.prepare_cached(
                "SELECT DISTINCT h.entity, s.value FROM heartbeats h JOIN strings s ON s.id = h.entity
                 WHERE h.user_id = ?1 AND h.time_ms >= ?2 AND h.time_ms < ?3
                   AND (?4 IS NULL OR h.project = ?4)",
            )?;
            let rows = st.query_map(params![user, what.start_ms, what.end_ms, project], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut ids = Vec::new();
            for r in rows {
                let (id, name) = r?;
                if what.matches_entity(&name) {
                    ids.push(Some(id));
                }
            }
            ids
        }
    };
    let sql = if apply {
        "DELETE FROM heartbeats
         WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3
           AND (?4 IS NULL OR project = ?4) AND (?5 IS NULL OR entity = ?5)
         RETURNING time_ms"
    } else {
        "SELECT time_ms FROM heartbeats
         WHERE user_id = ?1 AND time_ms >= ?2 AND time_ms < ?3
           AND (?4 IS NULL OR project = ?4) AND (?5 IS NULL OR entity = ?5)"
    };
    let mut found = Forgotten::default();
    let mut days = DayMarker::new(scope);
    let mut st = conn.prepare_cached(sql)?;
    for entity in entities {
        let mut rows = st.query(params![user, what.start_ms, what.end_ms, project, entity])?;
        while let Some(r) = rows.next()? {
            let t: i64 = r.get(0)?;
            found.add(t);
            days.mark(t);
        }
    }
    drop(st);
    if apply && found.heartbeats > 0 {
        days.write(conn, user)?;
        conn.prepare_cached(
            "UPDATE meta SET value = CAST(value AS INTEGER) - ?1 WHERE key = 'heartbeat_count'",
        )?
        .execute([found.heartbeats as i64])?;
    }
    finish(conn, strings, scope, what, apply, from, found)
}

/// Journals an applied forget as `from` asks.
fn finish(
    conn: &Connection,
    strings: &mut Interner,
    scope: &Scope,
    what: &Forget,
    apply: bool,
    from: &Provenance,
    found: Forgotten,
) -> rusqlite::Result<Forgotten> {
    if apply && from.journal {
        let origin = strings.opt(conn, from.origin.as_deref())?;
        let data = journal_data(&Record::Forget(what.clone()));
        journal(
            conn,
            scope.user,
            journal_kind::FORGET,
            what.start_ms,
            0,
            Some(&data),
            origin,
        )?;
    }
    Ok(found)
}
