//! Reports: the one place that aggregates credited time. Whole days come from the daily rollups,
//! partial days and entity-level questions from the raw timeline; both use the same rules.

pub mod git;
pub mod range;

use crate::calendar::{Calendar, day_num};
use crate::git::ticket::ticket as git_ticket;
use crate::model::{Category, Source};
use crate::store::{DailyFilter, Dims, Reader, Result};
use crate::timeline::{self, Rules, Span};
pub use range::{RangeError, RangeSpec};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dim {
    Project,
    Language,
    Branch,
    /// The ticket key in the branch name (`feature/ABC-123-login` → `ABC-123`).
    Ticket,
    Category,
    Entity,
    Editor,
    Machine,
    Os,
    Source,
    Day,
}

impl Dim {
    pub const ALL: [Dim; 11] = [
        Dim::Project,
        Dim::Language,
        Dim::Branch,
        Dim::Ticket,
        Dim::Category,
        Dim::Entity,
        Dim::Editor,
        Dim::Machine,
        Dim::Os,
        Dim::Source,
        Dim::Day,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Project => "project",
            Dim::Language => "language",
            Dim::Branch => "branch",
            Dim::Ticket => "ticket",
            Dim::Category => "category",
            Dim::Entity => "entity",
            Dim::Editor => "editor",
            Dim::Machine => "machine",
            Dim::Os => "os",
            Dim::Source => "source",
            Dim::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<Dim> {
        Dim::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
    }
}

/// Shown for a dimension with no value (a heartbeat without project, say).
pub const NONE_NAME: &str = "(none)";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.project.is_none() && self.branch.is_none() && self.language.is_none()
    }
}

/// A filter resolved to interned ids; `None` inside means "no such name was ever stored".
struct IdFilter {
    project: Option<Option<u32>>,
    branch: Option<Option<u32>>,
    language: Option<Option<u32>>,
}

impl IdFilter {
    fn resolve(reader: &Reader, f: &Filters) -> Result<IdFilter> {
        let id = |v: &Option<String>| -> Result<Option<Option<u32>>> {
            v.as_deref().map(|name| reader.string_id(name)).transpose()
        };
        Ok(IdFilter {
            project: id(&f.project)?,
            branch: id(&f.branch)?,
            language: id(&f.language)?,
        })
    }

    fn matches_nothing(&self) -> bool {
        [self.project, self.branch, self.language]
            .iter()
            .any(|f| matches!(f, Some(None)))
    }

    fn matches(&self, d: &Dims) -> bool {
        let ok = |f: Option<Option<u32>>, v: u32| f.is_none_or(|id| id == Some(v));
        ok(self.project, d.project) && ok(self.branch, d.branch) && ok(self.language, d.language)
    }

    fn to_daily(&self) -> DailyFilter {
        DailyFilter {
            project: self.project.flatten(),
            branch: self.branch.flatten(),
            language: self.language.flatten(),
        }
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
    /// True when the daily rollups were computed under `rules` and are fresh for this range.
    pub rollups_usable: bool,
    pub user_id: i64,
}

/// Credited time as (dims, day, ms) pieces — the common input of every grouping.
struct Pieces {
    items: Vec<(Dims, i32, i64)>,
}

fn collect(reader: &Reader, cal: &Calendar, q: &Query, filter: &IdFilter) -> Result<Pieces> {
    let mut items = Vec::new();
    if filter.matches_nothing() {
        return Ok(Pieces { items });
    }
    let needs_entity = q.by.contains(&Dim::Entity);
    // Whole local days inside the range can come from the rollups.
    let (mut whole_from, mut whole_to) = (None, None);
    if q.rollups_usable && !needs_entity {
        let mut date = cal.date_of(q.start_ms);
        if cal.start_of(date) < q.start_ms {
            date = date.tomorrow().unwrap_or(date);
        }
        let first = date;
        // The day holding the range's last instant is whole only if the range ends with it.
        let mut last = cal.date_of(q.end_ms - 1);
        if cal.bounds(last).1 != q.end_ms {
            last = last.yesterday().unwrap_or(last);
        }
        if first <= last && cal.start_of(first) >= q.start_ms {
            whole_from = Some((first, cal.start_of(first)));
            whole_to = Some((last, cal.bounds(last).1));
        }
    }
    match (whole_from, whole_to) {
        (Some((first, a)), Some((last, b))) => {
            for (day, dims, ms) in
                reader.daily(q.user_id, day_num(first), day_num(last), &filter.to_daily())?
            {
                items.push((dims, day, ms));
            }
            live(reader, cal, q, filter, q.start_ms, a, &mut items)?;
            live(reader, cal, q, filter, b, q.end_ms, &mut items)?;
        }
        _ => live(reader, cal, q, filter, q.start_ms, q.end_ms, &mut items)?,
    }
    Ok(Pieces { items })
}

/// Credited time in `[start, end)` computed from raw heartbeats.
fn live(
    reader: &Reader,
    cal: &Calendar,
    q: &Query,
    filter: &IdFilter,
    start: i64,
    end: i64,
    out: &mut Vec<(Dims, i32, i64)>,
) -> Result<()> {
    if start >= end {
        return Ok(());
    }
    let spans = reader.credited_spans(cal, q.rules, q.user_id, start, end)?;
    for s in timeline::clip(&spans, start, end) {
        if filter.matches(&s.key) {
            // Spans are split at midnight, so the start's day is the span's day.
            out.push((s.key, cal.day_of(s.start_ms), s.ms()));
        }
    }
    Ok(())
}

/// Computes a report. The caller refreshes dirty rollups in the range first.
pub fn report(reader: &Reader, cal: &Calendar, q: &Query) -> Result<Report> {
    let filter = IdFilter::resolve(reader, q.filters)?;
    let pieces = collect(reader, cal, q, &filter)?;
    let total_ms: i64 = pieces.items.iter().map(|p| p.2).sum();
    let mut by = Vec::with_capacity(q.by.len());
    for &dim in q.by {
        let mut groups: HashMap<u64, i64> = HashMap::new();
        for (dims, day, ms) in &pieces.items {
            *groups.entry(group_key(dim, dims, *day)).or_default() += ms;
        }
        // Keyed by name: several branches can carry one ticket.
        let mut named: HashMap<String, i64> = HashMap::with_capacity(groups.len());
        for (key, ms) in groups {
            *named.entry(name_of(reader, dim, key)?).or_default() += ms;
        }
        let mut rows: Vec<(String, i64)> = named.into_iter().collect();
        if dim == Dim::Day {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
        } else {
            rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        let rows = rows
            .into_iter()
            .map(|(name, ms)| Row {
                name,
                seconds: ms as f64 / 1000.0,
                percent: percent(ms, total_ms),
            })
            .collect();
        by.push((dim.as_str().to_string(), rows));
    }
    Ok(Report {
        start: cal.rfc3339(q.start_ms),
        end: cal.rfc3339(q.end_ms),
        total_seconds: total_ms as f64 / 1000.0,
        by,
    })
}

fn percent(ms: i64, total: i64) -> f64 {
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
    })
}

fn name_of(reader: &Reader, dim: Dim, key: u64) -> Result<String> {
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
        Dim::Ticket => git_ticket(&reader.name(key as u32)?).unwrap_or_default(),
        _ => reader.name(key as u32)?,
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

/// Credited time in `[start, end)` as segments: touching spans of one project are merged.
pub fn segments(
    reader: &Reader,
    cal: &Calendar,
    rules: Rules,
    user_id: i64,
    start: i64,
    end: i64,
) -> Result<Vec<Segment>> {
    let spans = reader.credited_spans(cal, rules, user_id, start, end)?;
    let mut merged: Vec<(i64, i64, u32)> = Vec::new();
    for s in timeline::clip(&spans, start, end) {
        match merged.last_mut() {
            Some(last) if last.2 == s.key.project && last.1 == s.start_ms => last.1 = s.end_ms,
            _ => merged.push((s.start_ms, s.end_ms, s.key.project)),
        }
    }
    merged
        .into_iter()
        .map(|(a, b, project)| {
            Ok(Segment {
                start_unix: a as f64 / 1000.0,
                end_unix: b as f64 / 1000.0,
                project: name_or_none(reader, project)?,
            })
        })
        .collect()
}

/// The interned name, or [`NONE_NAME`] for none.
fn name_or_none(reader: &Reader, id: u32) -> Result<String> {
    let n = reader.name(id)?;
    Ok(if n.is_empty() {
        NONE_NAME.to_string()
    } else {
        n
    })
}

/// Sessions overlapping `[start, end)`, clipped to it.
pub fn sessions(
    reader: &Reader,
    cal: &Calendar,
    rules: Rules,
    user_id: i64,
    start: i64,
    end: i64,
) -> Result<Vec<Session>> {
    let spans = reader.credited_spans(cal, rules, user_id, start, end)?;
    let clipped: Vec<Span<Dims>> = timeline::clip(&spans, start, end).collect();
    let mut out = Vec::new();
    for run in timeline::runs(&clipped) {
        let mut per_project: Vec<(u32, i64)> = Vec::new();
        for (k, ms) in &run.keys {
            match per_project.iter_mut().find(|(p, _)| *p == k.project) {
                Some((_, total)) => *total += ms,
                None => per_project.push((k.project, *ms)),
            }
        }
        let project = per_project
            .iter()
            .max_by_key(|(_, ms)| *ms)
            .map_or(0, |p| p.0);
        let mut per_branch: Vec<(u32, i64)> = Vec::new();
        for (k, ms) in run.keys.iter().filter(|(k, _)| k.project == project) {
            match per_branch.iter_mut().find(|(b, _)| *b == k.branch) {
                Some((_, total)) => *total += ms,
                None => per_branch.push((k.branch, *ms)),
            }
        }
        let branch = per_branch
            .iter()
            .max_by_key(|(_, ms)| *ms)
            .map_or(0, |b| b.0);
        let name = |id: u32| name_or_none(reader, id);
        out.push(Session {
            start: cal.rfc3339(run.start_ms),
            end: cal.rfc3339(run.end_ms),
            seconds: run.ms as f64 / 1000.0,
            project: name(project)?,
            branch: name(branch)?,
            start_ms: Some(run.start_ms),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Heartbeat;
    use crate::store::{LOCAL_USER, Writer};
    use jiff::tz::TimeZone;

    const MIN: f64 = 60.0;

    fn setup(beats: &[(f64, &str, &str)]) -> (tempfile::TempDir, Reader, Calendar) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let cal = Calendar::new(TimeZone::UTC);
        let mut w = Writer::open(&path, cal.clone(), Rules::timeforged(15 * 60_000)).unwrap();
        let hbs: Vec<Heartbeat> = beats
            .iter()
            .map(|(t, project, lang)| {
                let mut h = Heartbeat::new(*t, format!("/{project}/file.{lang}"));
                h.project = Some(project.to_string());
                h.language = Some(lang.to_string());
                h
            })
            .collect();
        w.insert(LOCAL_USER, &hbs).unwrap();
        w.refresh_dirty(LOCAL_USER, None, usize::MAX).unwrap();
        (dir, Reader::open(&path).unwrap(), cal)
    }

    fn run(
        reader: &Reader,
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
            user_id: LOCAL_USER,
        };
        report(reader, cal, &q).unwrap()
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
            project: Some("a".into()),
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
    fn unknown_filter_value_gives_an_empty_report() {
        let (_dir, r, cal) = setup(&[(0.0, "a", "rs"), (60.0, "a", "rs")]);
        let f = Filters {
            project: Some("nope".into()),
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
        let s = sessions(
            &r,
            &cal,
            Rules::timeforged(15 * 60_000),
            LOCAL_USER,
            0,
            86_400_000,
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].project.as_str(), s[0].seconds), ("b", 300.0));
        assert_eq!((s[1].project.as_str(), s[1].seconds), ("c", 60.0));
        assert_eq!(s[0].branch, NONE_NAME);
    }
}
