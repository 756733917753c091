//! The duration engine fed by storage: a user's heartbeats and manual intervals, streamed from a
//! [`Snapshot`] through the pure [`Crediter`], clipped to the range asked. No heartbeat list is
//! ever held in memory, so a year costs what a day does.

use crate::calendar::Calendar;
use crate::store::{Dims, Result, Snapshot, UserId};
use crate::timeline::{Beat, Crediter, Rules, Span, clip_one};

/// Sends every credited span inside `[start, end)` to `sink`, in time order: heartbeats from
/// `start - timeout` (an earlier one cannot reach into the range), the first one after `end`
/// (it closes the last gap), and the manual intervals that overlap the range.
pub fn credit(
    snap: &dyn Snapshot,
    cal: &Calendar,
    rules: Rules,
    user: UserId,
    start: i64,
    end: i64,
    sink: &mut dyn FnMut(Span<Dims>),
) -> Result<()> {
    if start >= end {
        return Ok(());
    }
    let intervals = snap.interval_spans(user, start, end)?;
    let mut crediter = Crediter::new(rules, cal.day_ends(), &intervals);
    let mut emit = |s: Span<Dims>| {
        if let Some(s) = clip_one(s, start, end) {
            sink(s);
        }
    };
    snap.beats(
        user,
        start.saturating_sub(rules.timeout_ms),
        end,
        &mut |b| crediter.push(b, &mut emit),
    )?;
    if let Some(t) = snap.next_beat_time(user, end)? {
        crediter.push(
            Beat {
                time_ms: t,
                key: Dims::default(),
            },
            &mut emit,
        );
    }
    crediter.finish(&mut emit);
    Ok(())
}

/// Every credited span inside `[start, end)`, collected (for one day's rollup, which is small).
pub fn spans(
    snap: &dyn Snapshot,
    cal: &Calendar,
    rules: Rules,
    user: UserId,
    start: i64,
    end: i64,
) -> Result<Vec<Span<Dims>>> {
    let mut out = Vec::new();
    credit(snap, cal, rules, user, start, end, &mut |s| out.push(s))?;
    Ok(out)
}
