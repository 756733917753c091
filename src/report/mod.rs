//! Reports: the one place that aggregates credited time. Clean whole days come from the rollups,
//! everything else from the raw timeline ([`credit`]); both use the same rules, and one report
//! reads one snapshot.

pub mod ai;
pub mod credit;
pub mod git;
pub mod range;
pub mod rollup;

use crate::calendar::{Calendar, DayNum, date_of_num, day_num};
use crate::git::ticket::ticket as git_ticket;
use crate::model::{Category, Source};
use crate::store::{Dims, Result, Rollup, Snapshot, UserId};
use crate::timeline::{self, Rules, Span};
pub use range::{RangeError, RangeSpec};
use serde::{Deserialize, Serialize};

/// Maps keyed by interned ids and days. Small integer keys hash with foldhash in a few
/// nanoseconds; SipHash cost more than the rest of the work on a rollup row.
type Map<K, V> = foldhash::HashMap<K, V>;

crate::named::named_enum! {
    /// A dimension to group by.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Dim {
        Project = "project",
        Language = "language",
        Branch = "branch",
        /// The ticket key in the branch name (`feature/ABC-123-login` → `ABC-123`).
        Ticket = "ticket",
        Category = "category",
        Entity = "entity",
        Editor = "editor",
        Machine = "machine",
        Os = "os",
        Source = "source",
        Day = "day",
        /// Who did the work: `human`, or the agent (`claude-code`, `codex`, …).
        Actor = "actor",
    }
}

impl Dim {
    /// Its values are interned strings (named through the snapshot).
    fn interned(self) -> bool {
        !matches!(self, Dim::Category | Dim::Source | Dim::Day)
    }
}

/// Shown for a dimension with no value (a heartbeat without project, say).
pub const NONE_NAME: &str = "(none)";

/// Which heartbeats a report counts: each field lists the names accepted (any of them); an
/// empty list accepts all. Filters apply after the timeline is built, so they never create
/// false gaps. On the wire a single name may be a plain string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub project: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub branch: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub language: Vec<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.project.is_empty() && self.branch.is_empty() && self.language.is_empty()
    }

    pub fn project(name: impl Into<String>) -> Filters {
        Filters {
            project: vec![name.into()],
            ..Filters::default()
        }
    }
}

/// A string or a list of strings.
mod one_or_many {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        match v {
            [one] => s.serialize_str(one),
            many => s.collect_seq(many),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
            Null(()),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
            OneOrMany::Null(()) => Vec::new(),
        })
    }
}

/// A filter resolved to interned ids. `Some(ids)` accepts those ids; names never stored have
/// no id, so a field whose names are all unknown matches nothing.
struct IdFilter {
    project: Option<Vec<u32>>,
    branch: Option<Vec<u32>>,
    language: Option<Vec<u32>>,
}

impl IdFilter {
    fn resolve(snap: &dyn Snapshot, f: &Filters) -> Result<IdFilter> {
        let ids = |names: &[String]| -> Result<Option<Vec<u32>>> {
            if names.is_empty() {
                return Ok(None);
            }
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                if let Some(id) = snap.string_id(name)? {
                    out.push(id);
                }
            }
            Ok(Some(out))
        };
        Ok(IdFilter {
            project: ids(&f.project)?,
            branch: ids(&f.branch)?,
            language: ids(&f.language)?,
        })
    }

    fn matches_nothing(&self) -> bool {
        [&self.project, &self.branch, &self.language]
            .iter()
            .any(|f| f.as_ref().is_some_and(Vec::is_empty))
    }

    fn matches(&self, d: &Dims) -> bool {
        let ok = |f: &Option<Vec<u32>>, v: u32| f.as_ref().is_none_or(|ids| ids.contains(&v));
        ok(&self.project, d.project) && ok(&self.branch, d.branch) && ok(&self.language, d.language)
    }
}

/// One row of a grouped report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub name: String,
    pub seconds: f64,
    pub percent: f64,
}

/// A finished report, in the JSON shape `tf report --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub start: String,
    pub end: String,
    pub total_seconds: f64,
    /// One entry per requested dimension, in the order asked.
    #[serde(with = "ordered_map")]
    pub by: Vec<(String, Vec<Row>)>,
}

/// Serializes `Vec<(String, T)>` as a JSON object that keeps the order.
mod ordered_map {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde::ser::{SerializeMap, Serializer};
    use std::marker::PhantomData;

    pub fn serialize<S: Serializer, T: serde::Serialize>(
        v: &[(String, T)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(v.len()))?;
        for (k, val) in v {
            m.serialize_entry(k, val)?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<(String, T)>, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Vec<(String, T)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// Everything a report needs besides the range.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub start_ms: i64,
    pub end_ms: i64,
    pub by: &'a [Dim],
    pub filters: &'a Filters,
    pub rules: Rules,
    /// True when the rollups were computed under `rules` (clean days can come from them).
    pub rollups_usable: bool,
    pub user_id: UserId,
}

/// Where a piece of credited time came from, which decides what it may be grouped by: the
/// daily rollup has no entity, the entity rollup only entity/project/branch/language, the raw
/// timeline everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Daily,
    Entities,
    Live,
}

impl Kind {
    /// Counts toward the total and every dimension but the entity.
    fn main(self) -> bool {
        self != Kind::Entities
    }
    /// Counts toward the entity dimension.
    fn entity(self) -> bool {
        self != Kind::Daily
    }
}

/// Feeds every piece of credited time in the query's range to `sink`, as (dims, day, ms,
/// kind). Whole local days come from the rollups unless they are dirty in this snapshot;
/// dirty days, partial days and other rules come from the raw timeline. Nothing is collected.
fn collect(
    snap: &dyn Snapshot,
    cal: &Calendar,
    q: &Query,
    filter: &IdFilter,
    sink: &mut dyn FnMut(&Dims, DayNum, i64, Kind),
) -> Result<()> {
    if filter.matches_nothing() {
        return Ok(());
    }
    let needs_entity = q.by.contains(&Dim::Entity);
    // The day of the last span, as `[start, end)`: spans come in time order, so the time zone
    // arithmetic runs once a day rather than once a heartbeat.
    let mut today = (0, 0, 0);
    let mut live = |start: i64, end: i64| {
        credit::credit(snap, cal, q.rules, q.user_id, start, end, &mut |s| {
            if filter.matches(&s.key) {
                // Spans are split at midnight, so the start's day is the span's day.
                if !(today.0 <= s.start_ms && s.start_ms < today.1) {
                    let date = cal.date_of(s.start_ms);
                    let (a, b) = cal.bounds(date);
                    today = (a, b, day_num(date));
                }
                sink(&s.key, today.2, s.ms(), Kind::Live);
            }
        })
    };
    let Some((first, last)) = whole_days(cal, q).filter(|_| q.rollups_usable) else {
        return live(q.start_ms, q.end_ms);
    };
    let (first_day, last_day) = (day_num(first), day_num(last));
    let dirty = snap.dirty_days(q.user_id, first_day, last_day)?;
    live(q.start_ms, cal.start_of(first))?;
    // Dirty days from the raw timeline, consecutive ones in one pass.
    let mut i = 0;
    while i < dirty.len() {
        let mut j = i;
        while j + 1 < dirty.len() && next_day(dirty[j]) == Some(dirty[j + 1]) {
            j += 1;
        }
        if let (Some(a), Some(b)) = (date_of_num(dirty[i]), date_of_num(dirty[j])) {
            live(cal.start_of(a), cal.bounds(b).1)?;
        }
        i = j + 1;
    }
    live(cal.bounds(last).1, q.end_ms)?;
    let mut clean = |table: Rollup, kind: Kind| {
        snap.rollups(
            q.user_id,
            table,
            first_day,
            last_day,
            &mut |day, dims, ms| {
                if dirty.binary_search(&day).is_err() && filter.matches(&dims) {
                    sink(&dims, day, ms, kind);
                }
            },
        )
    };
    clean(Rollup::Daily, Kind::Daily)?;
    if needs_entity {
        clean(Rollup::Entities, Kind::Entities)?;
    }
    Ok(())
}

/// The first and last local day lying wholly inside the query's range, if any.
fn whole_days(cal: &Calendar, q: &Query) -> Option<(jiff::civil::Date, jiff::civil::Date)> {
    let mut first = cal.date_of(q.start_ms);
    if cal.start_of(first) < q.start_ms {
        first = first.tomorrow().ok()?;
    }
    // The day holding the range's last instant is whole only if the range ends with it.
    let mut last = cal.date_of(q.end_ms - 1);
    if cal.bounds(last).1 != q.end_ms {
        last = last.yesterday().ok()?;
    }
    (first <= last && cal.start_of(first) >= q.start_ms).then_some((first, last))
}

fn next_day(day: DayNum) -> Option<DayNum> {
    date_of_num(day)
        .and_then(|d| d.tomorrow().ok())
        .map(day_num)
}

/// Time per group for each requested dimension, plus the total.
struct Totals {
    total: i64,
    groups: Vec<Map<u64, i64>>,
}

impl Totals {
    fn new(dims: usize) -> Totals {
        Totals {
            total: 0,
            groups: vec![Map::default(); dims],
        }
    }

    fn add(&mut self, by: &[Dim], dims: &Dims, day: DayNum, ms: i64, kind: Kind) {
        if kind.main() {
            self.total += ms;
        }
        for (&dim, groups) in by.iter().zip(self.groups.iter_mut()) {
            let counts = if dim == Dim::Entity {
                kind.entity()
            } else {
                kind.main()
            };
            if counts {
                *groups.entry(group_key(dim, dims, day)).or_default() += ms;
            }
        }
    }

    /// The interned ids its rows will be named from.
    fn name_ids(&self, by: &[Dim], out: &mut Vec<u32>) {
        for (&dim, groups) in by.iter().zip(&self.groups) {
            if dim.interned() {
                out.extend(groups.keys().map(|&k| k as u32));
            }
        }
    }

    fn finish(self, snap: &dyn Snapshot, by: &[Dim], start: String, end: String) -> Result<Report> {
        let mut out = Vec::with_capacity(by.len());
        for (&dim, groups) in by.iter().zip(self.groups) {
            let mut rows: Vec<(String, i64)> = Vec::with_capacity(groups.len());
            for (key, ms) in groups {
                rows.push((name_of(snap, dim, key)?, ms));
            }
            merge_same_names(dim, &mut rows);
            if dim == Dim::Day {
                rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            } else {
                // Names are unique now, so the order is fully determined.
                rows.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            }
            let rows = rows
                .into_iter()
                .map(|(name, ms)| Row {
                    name,
                    seconds: ms as f64 / 1000.0,
                    percent: percent(ms, self.total),
                })
                .collect();
            out.push((dim.as_str().to_string(), rows));
        }
        Ok(Report {
            start,
            end,
            total_seconds: self.total as f64 / 1000.0,
            by: out,
        })
    }
}

/// Adds up rows that carry one name: the branches of one ticket, and whatever is named
/// [`NONE_NAME`] (no value, an empty one, or that very string). Other names are unique: each
/// interned string has one id, each code one name.
fn merge_same_names(dim: Dim, rows: &mut Vec<(String, i64)>) {
    if dim == Dim::Ticket {
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 += later.1;
            }
            same
        });
        return;
    }
    let mut none = rows.iter().enumerate().filter(|(_, r)| r.0 == NONE_NAME);
    let Some((first, _)) = none.next() else {
        return;
    };
    if none.next().is_none() {
        return;
    }
    let ms: i64 = rows.iter().filter(|r| r.0 == NONE_NAME).map(|r| r.1).sum();
    rows[first].1 = ms;
    let mut i = 0;
    rows.retain(|r| {
        i += 1;
        i - 1 == first || r.0 != NONE_NAME
    });
}

/// Computes a report from one snapshot.
pub fn report(snap: &dyn Snapshot, cal: &Calendar, q: &Query) -> Result<Report> {
    let filter = IdFilter::resolve(snap, q.filters)?;
    let mut totals = Totals::new(q.by.len());
    collect(snap, cal, q, &filter, &mut |dims, day, ms, kind| {
        totals.add(q.by, dims, day, ms, kind)
    })?;
    let mut ids = Vec::new();
    totals.name_ids(q.by, &mut ids);
    prefetch_names(snap, ids)?;
    totals.finish(snap, q.by, cal.rfc3339(q.start_ms), cal.rfc3339(q.end_ms))
}

/// One report per local day of the query's range (first and last clipped to it), from one
/// pass over the range: WakaTime's `summaries`.
pub fn per_day(snap: &dyn Snapshot, cal: &Calendar, q: &Query) -> Result<Vec<Report>> {
    let filter = IdFilter::resolve(snap, q.filters)?;
    let mut index: Map<DayNum, usize> = Map::default();
    let mut days: Vec<Totals> = Vec::new();
    // Rows come day by day (rollups are ordered by day, spans by time): remember the last.
    let mut last: Option<(DayNum, usize)> = None;
    collect(snap, cal, q, &filter, &mut |dims, day, ms, kind| {
        let i = match last {
            Some((d, i)) if d == day => i,
            _ => {
                let i = *index.entry(day).or_insert_with(|| {
                    days.push(Totals::new(q.by.len()));
                    days.len() - 1
                });
                last = Some((day, i));
                i
            }
        };
        days[i].add(q.by, dims, day, ms, kind)
    })?;
    let mut ids = Vec::new();
    for totals in &days {
        totals.name_ids(q.by, &mut ids);
    }
    prefetch_names(snap, ids)?;
    let mut days: Vec<Option<Totals>> = days.into_iter().map(Some).collect();
    let mut out = Vec::new();
    let mut date = cal.date_of(q.start_ms);
    while cal.start_of(date) < q.end_ms {
        let (a, b) = cal.bounds(date);
        let totals = index
            .get(&day_num(date))
            .and_then(|&i| days[i].take())
            .unwrap_or_else(|| Totals::new(q.by.len()));
        out.push(totals.finish(
            snap,
            q.by,
            cal.rfc3339(a.max(q.start_ms)),
            cal.rfc3339(b.min(q.end_ms)),
        )?);
        match date.tomorrow() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    Ok(out)
}

/// Names `ids` in one go (a database server answers each lookup with a round trip).
fn prefetch_names(snap: &dyn Snapshot, mut ids: Vec<u32>) -> Result<()> {
    ids.sort_unstable();
    ids.dedup();
    snap.prefetch_names(&ids)
}

/// `ms` of `total` in percent, to two decimals.
pub(crate) fn percent(ms: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (ms as f64 * 10_000.0 / total as f64).round() / 100.0
    }
}

fn group_key(dim: Dim, d: &Dims, day: i32) -> u64 {
    u64::from(match dim {
        Dim::Project => d.project,
        Dim::Language => d.language,
        Dim::Branch | Dim::Ticket => d.branch,
        Dim::Category => u32::from(d.category),
        Dim::Entity => d.entity,
        Dim::Editor => d.editor,
        Dim::Machine => d.machine,
        Dim::Os => d.os,
        Dim::Source => u32::from(d.source),
        Dim::Day => day as u32,
        Dim::Actor => d.actor,
    })
}

fn name_of(snap: &dyn Snapshot, dim: Dim, key: u64) -> Result<String> {
    let name = match dim {
        Dim::Category => Category::from_code(key as i64)
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        Dim::Source => Source::from_code(key as i64)
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        Dim::Day => {
            let d = key as i32;
            format!("{:04}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100)
        }
        Dim::Ticket => git_ticket(&snap.name(key as u32)?).unwrap_or_default(),
        Dim::Actor if key == 0 => crate::agent::HUMAN.to_string(),
        _ => snap.name(key as u32)?,
    };
    Ok(if name.is_empty() {
        NONE_NAME.to_string()
    } else {
        name
    })
}

/// A run of activity, for `tf sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub start: String,
    pub end: String,
    pub seconds: f64,
    pub project: String,
    pub branch: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub start_ms: Option<i64>,
}

/// A stretch of credited time on one project, for the dashboard's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_unix: f64,
    pub end_unix: f64,
    pub project: String,
}

/// What a report over `[start, end)` of one user reads with.
pub struct Reading<'a> {
    pub snap: &'a dyn Snapshot,
    pub cal: &'a Calendar,
    pub rules: Rules,
    pub user: UserId,
}

/// Credited time in `[start, end)` as segments: touching spans of one project are merged.
pub fn segments(r: &Reading, start: i64, end: i64) -> Result<Vec<Segment>> {
    let mut merged: Vec<(i64, i64, u32)> = Vec::new();
    credit::credit(
        r.snap,
        r.cal,
        r.rules,
        r.user,
        start,
        end,
        &mut |s| match merged.last_mut() {
            Some(last) if last.2 == s.key.project && last.1 == s.start_ms => last.1 = s.end_ms,
            _ => merged.push((s.start_ms, s.end_ms, s.key.project)),
        },
    )?;
    prefetch_names(r.snap, merged.iter().map(|m| m.2).collect())?;
    merged
        .into_iter()
        .map(|(a, b, project)| {
            Ok(Segment {
                start_unix: a as f64 / 1000.0,
                end_unix: b as f64 / 1000.0,
                project: name_or_none(r.snap, project)?,
            })
        })
        .collect()
}

/// The interned name, or [`NONE_NAME`] for none.
fn name_or_none(snap: &dyn Snapshot, id: u32) -> Result<String> {
    let n = snap.name(id)?;
    Ok(if n.is_empty() {
        NONE_NAME.to_string()
    } else {
        n
    })
}

/// Sessions overlapping `[start, end)`, clipped to it; each names the project with the most
/// time in it, and that project's branch with the most time.
pub fn sessions(r: &Reading, start: i64, end: i64) -> Result<Vec<Session>> {
    let mut runs = Vec::new();
    let mut builder = timeline::Runs::default();
    credit::credit(r.snap, r.cal, r.rules, r.user, start, end, &mut |s| {
        let key = (s.key.project, s.key.branch);
        builder.push(
            Span {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                key,
            },
            &mut |run| runs.push(run),
        );
    })?;
    builder.finish(&mut |run| runs.push(run));
    prefetch_names(
        r.snap,
        runs.iter()
            .flat_map(|run| run.keys.iter().flat_map(|((p, b), _)| [*p, *b]))
            .collect(),
    )?;
    let mut out = Vec::with_capacity(runs.len());
    for run in runs {
        let mut per_project: Vec<(u32, i64)> = Vec::new();
        for ((project, _), ms) in &run.keys {
            match per_project.iter_mut().find(|(p, _)| p == project) {
                Some((_, total)) => *total += ms,
                None => per_project.push((*project, *ms)),
            }
        }
        let project = most(&per_project);
        let per_branch: Vec<(u32, i64)> = run
            .keys
            .iter()
            .filter(|((p, _), _)| *p == project)
            .map(|((_, b), ms)| (*b, *ms))
            .collect();
        let branch = most(&per_branch);
        out.push(Session {
            start: r.cal.rfc3339(run.start_ms),
            end: r.cal.rfc3339(run.end_ms),
            seconds: run.ms as f64 / 1000.0,
            project: name_or_none(r.snap, project)?,
            branch: name_or_none(r.snap, branch)?,
            start_ms: Some(run.start_ms),
        });
    }
    Ok(out)
}

/// The id with the most time; on a tie the one seen first.
fn most(items: &[(u32, i64)]) -> u32 {
    let mut best: Option<(u32, i64)> = None;
    for &(id, ms) in items {
        if best.is_none_or(|(_, m)| ms > m) {
            best = Some((id, ms));
        }
    }
    best.map_or(0, |b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Heartbeat;
    use crate::store::contract::utc_scope;
    use crate::store::{Database, sqlite::SqliteDatabase};
    use jiff::tz::TimeZone;
    use std::sync::Arc;

    const MIN: f64 = 60.0;
    const USER: UserId = 1;

    fn setup(beats: &[(f64, &str, &str)]) -> (tempfile::TempDir, Arc<dyn Database>, Calendar) {
        let dir = tempfile::tempdir().unwrap();
        let db: Arc<dyn Database> =
            Arc::new(SqliteDatabase::open(&dir.path().join("r.db")).unwrap());
        let cal = Calendar::new(TimeZone::UTC);
        let mut w = db.writer().unwrap();
        let hbs: Vec<Heartbeat> = beats
            .iter()
            .map(|(t, project, lang)| {
                let mut h = Heartbeat::new(*t, format!("/{project}/file.{lang}"));
                h.project = Some(project.to_string());
                h.language = Some(lang.to_string());
                h
            })
            .collect();
        let scope = utc_scope(USER);
        w.insert(&[crate::store::Batch::local(&scope, &hbs)])
            .unwrap();
        rollup::refresh(
            &mut *w,
            &mut |_| Some(scope.clone()),
            None,
            (DayNum::MIN, DayNum::MAX),
            usize::MAX,
        )
        .unwrap();
        (dir, db, cal)
    }

    fn run(
        db: &Arc<dyn Database>,
        cal: &Calendar,
        start: f64,
        end: f64,
        by: &[Dim],
        filters: &Filters,
        rollups: bool,
    ) -> Report {
        let q = Query {
            start_ms: (start * 1000.0) as i64,
            end_ms: (end * 1000.0) as i64,
            by,
            filters,
            rules: Rules::timeforged(15 * 60_000),
            rollups_usable: rollups,
            user_id: USER,
        };
        crate::store::read(&**db, |snap| report(snap, cal, &q)).unwrap()
    }

    #[test]
    fn rollups_and_raw_timeline_agree_on_any_range() {
        let day = 86_400.0;
        let mut beats = Vec::new();
        for i in 0..(3 * 24 * 6) {
            // Every 10 minutes for three days, alternating projects, with an hour's pause daily.
            let t = i as f64 * 10.0 * MIN;
            if (t / 3600.0) as i64 % 24 == 12 {
                continue;
            }
            beats.push((
                t,
                if i % 3 == 0 { "a" } else { "b" },
                if i % 2 == 0 { "rs" } else { "py" },
            ));
        }
        let (_dir, r, cal) = setup(&beats);
        let all = Dim::ALL
            .iter()
            .copied()
            .filter(|d| *d != Dim::Entity)
            .collect::<Vec<_>>();
        for (start, end) in [
            (0.0, 3.0 * day),
            (0.5 * day, 2.25 * day),
            (day, 2.0 * day),
            (100.0, 200.0),
        ] {
            let fast = run(&r, &cal, start, end, &all, &Filters::default(), true);
            let slow = run(&r, &cal, start, end, &all, &Filters::default(), false);
            assert_eq!(fast, slow, "{start}..{end}");
        }
        let f = Filters {
            project: vec!["a".into()],
            ..Default::default()
        };
        assert_eq!(
            run(&r, &cal, 0.3 * day, 3.0 * day, &all, &f, true),
            run(&r, &cal, 0.3 * day, 3.0 * day, &all, &f, false)
        );
    }

    #[test]
    fn grouping_percent_and_day_rows() {
        let (_dir, r, cal) = setup(&[
            (0.0, "a", "rs"),
            (3.0 * MIN, "b", "rs"),
            (4.0 * MIN, "a", "py"),
        ]);
        let rep = run(
            &r,
            &cal,
            0.0,
            86_400.0,
            &[Dim::Project, Dim::Day],
            &Filters::default(),
            true,
        );
        assert_eq!(rep.total_seconds, 240.0);
        assert_eq!(rep.by[0].0, "project");
        assert_eq!(
            rep.by[0].1[0],
            Row {
                name: "a".into(),
                seconds: 180.0,
                percent: 75.0
            }
        );
        assert_eq!(
            rep.by[0].1[1],
            Row {
                name: "b".into(),
                seconds: 60.0,
                percent: 25.0
            }
        );
        assert_eq!(
            rep.by[1].1,
            vec![Row {
                name: "1970-01-01".into(),
                seconds: 240.0,
                percent: 100.0
            }]
        );
        let json = serde_json::to_value(&rep).unwrap();
        assert_eq!(json["by"]["project"][0]["name"], "a");
        assert_eq!(json["start"], "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn rows_of_one_name_are_added_up() {
        let rows = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
            v.iter().map(|(n, ms)| (n.to_string(), *ms)).collect()
        };
        let mut r = rows(&[("#1", 1), ("ABC-2", 2), ("#1", 4), (NONE_NAME, 8)]);
        merge_same_names(Dim::Ticket, &mut r);
        assert_eq!(r, rows(&[("#1", 5), (NONE_NAME, 8), ("ABC-2", 2)]));
        let mut r = rows(&[
            (NONE_NAME, 1),
            ("a", 2),
            (NONE_NAME, 4),
            ("b", 8),
            (NONE_NAME, 16),
        ]);
        merge_same_names(Dim::Project, &mut r);
        assert_eq!(r, rows(&[(NONE_NAME, 21), ("a", 2), ("b", 8)]));
        let mut r = rows(&[("a", 2), (NONE_NAME, 4)]);
        merge_same_names(Dim::Project, &mut r);
        assert_eq!(r, rows(&[("a", 2), (NONE_NAME, 4)]));
    }

    #[test]
    fn unknown_filter_value_gives_an_empty_report() {
        let (_dir, r, cal) = setup(&[(0.0, "a", "rs"), (60.0, "a", "rs")]);
        let f = Filters {
            project: vec!["nope".into()],
            ..Default::default()
        };
        let rep = run(&r, &cal, 0.0, 86_400.0, &[Dim::Project], &f, true);
        assert_eq!(rep.total_seconds, 0.0);
        assert!(rep.by[0].1.is_empty());
    }

    #[test]
    fn sessions_pick_the_main_project() {
        let (_dir, r, cal) = setup(&[
            (0.0, "a", "rs"),
            (MIN, "b", "rs"),
            (2.0 * MIN, "b", "rs"),
            (5.0 * MIN, "b", "rs"),
            (60.0 * MIN, "c", "rs"),
            (61.0 * MIN, "c", "rs"),
        ]);
        let s = crate::store::read(&*r, |snap| {
            let reading = Reading {
                snap,
                cal: &cal,
                rules: Rules::timeforged(15 * 60_000),
                user: USER,
            };
            sessions(&reading, 0, 86_400_000)
        })
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].project.as_str(), s[0].seconds), ("b", 300.0));
        assert_eq!((s[1].project.as_str(), s[1].seconds), ("c", 60.0));
        assert_eq!(s[0].branch, NONE_NAME);
    }
}
