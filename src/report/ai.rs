//! Human and agent time side by side (`tf report --ai`): each lane is its own timeline under
//! the same rules (timeout, midnight), so a human editing while an agent works counts in both;
//! their overlap, and the line changes and tokens of each. `--by actor` is the other view: one
//! timeline, every moment credited to one actor, rows adding up to the total.

use super::{Filters, IdFilter};
use crate::calendar::Calendar;
use crate::store::{Dims, Result, Snapshot, UserId};
use crate::timeline::{Beat, Crediter, Rules, Span, clip_one};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// The lane view of a range, in the JSON shape of `tf report --json --ai` (its `ai` object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lanes {
    pub human: HumanLane,
    pub agent: AgentLane,
    /// Time both lanes were active.
    pub overlap_seconds: f64,
    /// Time at least one was: human + agent − overlap.
    pub either_seconds: f64,
    /// Each agent on its own timeline, most time first.
    pub agents: Vec<AgentRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HumanLane {
    pub seconds: f64,
    /// Net lines the human changed (WakaTime's `human_line_changes`).
    pub line_changes: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentLane {
    pub seconds: f64,
    /// Net lines the AI changed (WakaTime's `ai_line_changes`, the hooks' edits).
    pub line_changes: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Agent sessions seen.
    pub sessions: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentRow {
    pub name: String,
    pub seconds: f64,
    pub line_changes: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub sessions: usize,
}

/// Where each lane was active: `[start, end)` unix milliseconds, sorted, touching stretches
/// joined (the web dashboard draws them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaneSpans {
    pub human: Vec<(i64, i64)>,
    pub agent: Vec<(i64, i64)>,
}

/// The lanes of `[start, end)` for `user`. Filters apply after each lane's timeline is built,
/// as in every report, so they never create false gaps. Manual intervals are the human's.
pub fn lanes(
    snap: &dyn Snapshot,
    cal: &Calendar,
    rules: Rules,
    user: UserId,
    start: i64,
    end: i64,
    filters: &Filters,
) -> Result<Lanes> {
    lanes_with_spans(snap, cal, rules, user, start, end, filters).map(|(lanes, _)| lanes)
}

/// [`lanes`], and the stretches of each lane.
pub fn lanes_with_spans(
    snap: &dyn Snapshot,
    cal: &Calendar,
    rules: Rules,
    user: UserId,
    start: i64,
    end: i64,
    filters: &Filters,
) -> Result<(Lanes, LaneSpans)> {
    let filter = IdFilter::resolve(snap, filters)?;
    if filter.matches_nothing() || start >= end {
        return Ok(Default::default());
    }
    let intervals = snap.interval_spans(user, start, end)?;
    let mut human = Crediter::new(rules, cal.day_ends(), &intervals);
    let mut agent = Crediter::new(rules, cal.day_ends(), &[]);
    let mut each_agent: BTreeMap<u32, (Crediter<Dims, _>, i64)> = BTreeMap::new();
    let (mut human_spans, mut agent_spans) = (Vec::new(), Vec::new());
    let keep = |s: Span<Dims>| clip_one(s, start, end).filter(|s| filter.matches(&s.key));
    // A beat further than the timeout outside the range cannot reach into it.
    snap.beats(
        user,
        start.saturating_sub(rules.timeout_ms),
        end.saturating_add(rules.timeout_ms),
        &mut |b: Beat<Dims>| {
            if b.key.actor == 0 {
                human.push(b, &mut |s| human_spans.extend(keep(s).map(bounds)));
                return;
            }
            agent.push(b, &mut |s| agent_spans.extend(keep(s).map(bounds)));
            let (own, ms) = each_agent
                .entry(b.key.actor)
                .or_insert_with(|| (Crediter::new(rules, cal.day_ends(), &[]), 0));
            own.push(b, &mut |s| *ms += keep(s).map_or(0, |s| s.ms()));
        },
    )?;
    human.finish(&mut |s| human_spans.extend(keep(s).map(bounds)));
    agent.finish(&mut |s| agent_spans.extend(keep(s).map(bounds)));
    let mut rows: BTreeMap<u32, AgentRow> = BTreeMap::new();
    for (actor, (own, mut ms)) in each_agent {
        own.finish(&mut |s| ms += keep(s).map_or(0, |s| s.ms()));
        rows.entry(actor).or_default().seconds = seconds(ms);
    }

    let mut out = Lanes::default();
    let mut sessions: HashSet<u32> = HashSet::new();
    let mut agent_sessions: BTreeMap<u32, HashSet<u32>> = BTreeMap::new();
    snap.ai_counts(user, start, end, &mut |c| {
        if !filter.matches(&c.dims) {
            return;
        }
        out.human.line_changes += c.human_line_changes;
        out.agent.line_changes += c.ai_line_changes;
        out.agent.input_tokens += c.ai_input_tokens;
        out.agent.output_tokens += c.ai_output_tokens;
        if c.session != 0 {
            sessions.insert(c.session);
        }
        if c.dims.actor != 0 {
            let row = rows.entry(c.dims.actor).or_default();
            row.line_changes += c.ai_line_changes;
            row.input_tokens += c.ai_input_tokens;
            row.output_tokens += c.ai_output_tokens;
            if c.session != 0 {
                agent_sessions
                    .entry(c.dims.actor)
                    .or_default()
                    .insert(c.session);
            }
        }
    })?;

    let (human_ms, agent_ms) = (total(&human_spans), total(&agent_spans));
    let overlap_ms = overlap(&mut human_spans, &mut agent_spans);
    out.human.seconds = seconds(human_ms);
    out.agent.seconds = seconds(agent_ms);
    out.agent.sessions = sessions.len();
    out.overlap_seconds = seconds(overlap_ms);
    out.either_seconds = seconds(human_ms + agent_ms - overlap_ms);
    for (actor, mut row) in rows {
        row.name = snap.name(actor)?;
        row.sessions = agent_sessions.get(&actor).map_or(0, HashSet::len);
        out.agents.push(row);
    }
    out.agents.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then_with(|| a.name.cmp(&b.name))
    });
    let spans = LaneSpans {
        human: joined(human_spans),
        agent: joined(agent_spans),
    };
    Ok((out, spans))
}

/// Sorted spans with touching or overlapping ones merged.
fn joined(mut spans: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The human's own time in `[start, end)` per project, most first: their lane (heartbeats of
/// agents are not theirs; manual intervals are), for what a focus session really held.
pub fn human_by_project(
    snap: &dyn Snapshot,
    cal: &Calendar,
    rules: Rules,
    user: UserId,
    start: i64,
    end: i64,
) -> Result<Vec<super::Row>> {
    if start >= end {
        return Ok(Vec::new());
    }
    let intervals = snap.interval_spans(user, start, end)?;
    let mut human = Crediter::new(rules, cal.day_ends(), &intervals);
    let mut per: BTreeMap<u32, i64> = BTreeMap::new();
    let mut add = |s: Span<Dims>| {
        if let Some(s) = clip_one(s, start, end) {
            *per.entry(s.key.project).or_default() += s.ms();
        }
    };
    snap.beats(
        user,
        start.saturating_sub(rules.timeout_ms),
        end.saturating_add(rules.timeout_ms),
        &mut |b: Beat<Dims>| {
            if b.key.actor == 0 {
                human.push(b, &mut add);
            }
        },
    )?;
    human.finish(&mut add);
    let total: i64 = per.values().sum();
    let mut rows = Vec::with_capacity(per.len());
    for (project, ms) in per {
        rows.push(super::Row {
            name: super::name_or_none(snap, project)?,
            seconds: seconds(ms),
            percent: super::percent(ms, total),
        });
    }
    rows.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(rows)
}

fn bounds(s: Span<Dims>) -> (i64, i64) {
    (s.start_ms, s.end_ms)
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn total(spans: &[(i64, i64)]) -> i64 {
    spans.iter().map(|(a, b)| b - a).sum()
}

/// Time covered by both lists. Spans of one lane never overlap each other (one timeline); they
/// are sorted here because manual intervals and heartbeats interleave.
fn overlap(a: &mut [(i64, i64)], b: &mut [(i64, i64)]) -> i64 {
    a.sort_unstable();
    b.sort_unstable();
    let (mut i, mut j, mut ms) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (s, e) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if s < e {
            ms += e - s;
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_of_two_lanes() {
        let mut a = vec![(30, 40), (0, 10)];
        let mut b = vec![(5, 35)];
        assert_eq!(overlap(&mut a, &mut b), 5 + 5);
        assert_eq!(overlap(&mut [], &mut [(0, 9)]), 0);
        assert_eq!(overlap(&mut [(0, 10)], &mut [(0, 10)]), 10);
        assert_eq!(overlap(&mut [(0, 10)], &mut [(10, 20)]), 0);
    }

    #[test]
    fn touching_spans_are_joined() {
        assert_eq!(
            joined(vec![(20, 30), (0, 10), (10, 15), (25, 40), (50, 60)]),
            vec![(0, 15), (20, 40), (50, 60)]
        );
        assert_eq!(joined(Vec::new()), Vec::new());
    }
}
