//! Corrections over the socket: listing, editing and removing manual intervals, and forgetting
//! heartbeats. Edits run in the writer thread (read the interval, change it, store it: nothing
//! can slip in between); each tells subscribers that totals may have gone down.

use super::State;
use super::respond::{resolve, storage_error, write_error};
use crate::calendar::now_ms;
use crate::model::{Interval, ms_to_seconds};
use crate::protocol::{ErrorCode, Event, IntervalChange, IntervalEdited, LoggedInterval, Response};
use crate::report::RangeSpec;
use crate::store::{Forget, IntervalEdit, IntervalRef};

/// `intervals`: the manual intervals overlapping a range, oldest first.
pub(crate) async fn list(state: &State, range: RangeSpec) -> Response {
    let (start, end) = match resolve(state, &range) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let user = state.local().id();
    state
        .read(move |s| s.intervals(user, start, end))
        .await
        .map(|found| Response::Intervals {
            intervals: found
                .into_iter()
                .map(|(id, interval)| LoggedInterval { id, interval })
                .collect(),
        })
        .unwrap_or_else(storage_error)
}

/// What an edit came to, decided in the writer thread.
enum Edited {
    Missing,
    Invalid(String),
    Clash(i64),
    Done {
        old: Interval,
        new: Option<Interval>,
    },
}

/// `edit_interval`: removes interval `id`, or changes the fields given.
pub(crate) async fn edit(state: &State, id: i64, change: IntervalChange) -> Response {
    let scope = state.local().scope.clone();
    let from = state.writer.local();
    let out = state
        .writer
        .run(move |w| {
            let mut old = None;
            w.read(&mut |s| {
                old = s
                    .intervals(scope.user, i64::MIN, i64::MAX)?
                    .into_iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, iv)| iv);
                Ok(())
            })?;
            let Some(old) = old else {
                return Ok(Edited::Missing);
            };
            let new = change.apply(&old);
            if let Some(iv) = &new
                && let Err(e) = iv.validate(ms_to_seconds(now_ms()))
            {
                return Ok(Edited::Invalid(e.to_string()));
            }
            Ok(
                match w.edit_interval(&scope, IntervalRef::Id(id), new.as_ref(), &from)? {
                    IntervalEdit::Missing => Edited::Missing,
                    IntervalEdit::Clash { id } => Edited::Clash(id),
                    IntervalEdit::Done { old, .. } => Edited::Done { old, new },
                },
            )
        })
        .await;
    match out {
        Err(e) => write_error(e),
        Ok(Edited::Missing) => Response::error(
            ErrorCode::Invalid,
            format!("id: there is no interval #{id} (tf intervals lists them)"),
        ),
        Ok(Edited::Invalid(e)) => Response::error(ErrorCode::Invalid, e),
        Ok(Edited::Clash(other)) => Response::error(
            ErrorCode::Invalid,
            format!(
                "interval #{other} already has that project, start and end; remove one of them instead"
            ),
        ),
        Ok(Edited::Done { old, new }) => {
            let _ = state.events.send(Event::Corrected);
            Response::IntervalEdited(Box::new(IntervalEdited { id, old, new }))
        }
    }
}

/// `forget`: deletes (or counts) heartbeats. The range ends now at the latest, so that a
/// forget synced to other machines never reaches heartbeats recorded after it.
pub(crate) async fn forget(
    state: &State,
    project: Option<String>,
    entity: Option<String>,
    range: RangeSpec,
    apply: bool,
) -> Response {
    let (start_ms, end_ms) = match resolve(state, &range) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let what = Forget {
        project,
        entity,
        start_ms,
        end_ms: end_ms.min(now_ms() + 1),
    };
    if let Err(e) = what.validate() {
        return Response::error(ErrorCode::Invalid, e.to_string());
    }
    let scope = state.local().scope.clone();
    let from = state.writer.local();
    match state
        .writer
        .run(move |w| w.forget(&scope, &what, apply, &from))
        .await
    {
        Ok(found) => {
            if apply && found.heartbeats > 0 {
                let _ = state.events.send(Event::Corrected);
            }
            Response::Forgotten(found)
        }
        Err(e) => write_error(e),
    }
}
