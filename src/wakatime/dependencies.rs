//! Time per dependency, as WakaTime lists it: a file's time counts for every dependency its
//! heartbeats named that day (a file importing `serde` and `tokio` gives its time to both, so
//! the rows may add up to more than the total — they say where time went, not a split of it).

use crate::calendar::Calendar;
use crate::report::{Report, Row};
use jiff::civil::Date;
use std::collections::{BTreeSet, HashMap};

/// The name of the rows added to a report's `by`.
pub const FIELD: &str = "dependencies";

/// Most dependencies listed per day of a report: the longest lists are cut, never the time.
const MAX_ROWS: usize = 1000;

/// The dependencies each entity's heartbeats listed, per local day.
#[derive(Debug, Default)]
pub struct Listed {
    by_day: HashMap<Date, HashMap<String, BTreeSet<String>>>,
}

impl Listed {
    /// One heartbeat's list.
    pub fn add(&mut self, cal: &Calendar, time_ms: i64, entity: &str, deps: Vec<String>) {
        if deps.is_empty() {
            return;
        }
        let day = self.by_day.entry(cal.date_of(time_ms)).or_default();
        match day.get_mut(entity) {
            Some(set) => set.extend(deps),
            None => {
                day.insert(entity.to_string(), deps.into_iter().collect());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_day.is_empty()
    }

    /// Adds the [`FIELD`] rows to `report`, from its entity rows: of the local day `day`, or
    /// of every day when the report covers a longer range.
    pub fn add_rows(&self, report: &mut Report, day: Option<Date>) {
        let entities = report
            .by
            .iter()
            .find(|(name, _)| name == crate::report::Dim::Entity.as_str())
            .map_or(&[][..], |(_, rows)| rows.as_slice());
        let mut seconds: HashMap<&str, f64> = HashMap::new();
        let days: Vec<&HashMap<String, BTreeSet<String>>> = match day {
            Some(d) => self.by_day.get(&d).into_iter().collect(),
            None => self.by_day.values().collect(),
        };
        for row in entities {
            let mut listed: BTreeSet<&str> = BTreeSet::new();
            for d in &days {
                if let Some(set) = d.get(&row.name) {
                    listed.extend(set.iter().map(String::as_str));
                }
            }
            for dep in listed {
                *seconds.entry(dep).or_default() += row.seconds;
            }
        }
        // Report seconds are whole milliseconds.
        let ms = |s: f64| (s * 1000.0).round() as i64;
        let total = ms(report.total_seconds);
        let mut rows: Vec<Row> = seconds
            .into_iter()
            .map(|(name, s)| Row {
                name: name.to_string(),
                seconds: s,
                percent: crate::report::percent(ms(s), total),
            })
            .collect();
        rows.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(a.name.cmp(&b.name)));
        rows.truncate(MAX_ROWS);
        report.by.push((FIELD.to_string(), rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, seconds: f64) -> Row {
        Row {
            name: name.into(),
            seconds,
            percent: 0.0,
        }
    }

    #[test]
    fn a_files_time_counts_for_each_dependency_it_listed_that_day() {
        let cal = Calendar::new(jiff::tz::TimeZone::UTC);
        let day1 = 1_764_547_200_000; // 2025-12-01T00:00:00Z
        let day2 = day1 + 86_400_000;
        let mut listed = Listed::default();
        listed.add(
            &cal,
            day1 + 10,
            "/a.rs",
            vec!["serde".into(), "tokio".into()],
        );
        listed.add(&cal, day1 + 20, "/a.rs", vec!["serde".into()]);
        listed.add(&cal, day1 + 30, "/b.rs", vec!["serde".into()]);
        listed.add(&cal, day2 + 30, "/b.rs", vec!["jiff".into()]);
        listed.add(&cal, day2 + 40, "/c.rs", vec![]);
        let mut report = Report {
            start: String::new(),
            end: String::new(),
            total_seconds: 600.0,
            by: vec![(
                "entity".into(),
                vec![row("/a.rs", 400.0), row("/b.rs", 150.0), row("/c.rs", 50.0)],
            )],
        };
        let mut one_day = report.clone();
        listed.add_rows(&mut one_day, Some(cal.date_of(day1)));
        let got: Vec<(String, f64, f64)> = one_day.by[1]
            .1
            .iter()
            .map(|r| (r.name.clone(), r.seconds, r.percent))
            .collect();
        assert_eq!(one_day.by[1].0, FIELD);
        assert_eq!(
            got,
            [
                ("serde".to_string(), 550.0, 91.67),
                ("tokio".to_string(), 400.0, 66.67)
            ]
        );
        listed.add_rows(&mut report, None);
        let names: Vec<&str> = report.by[1].1.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["serde", "tokio", "jiff"]);
        assert_eq!(report.by[1].1[2].seconds, 150.0);
        let mut empty = Report {
            by: vec![("entity".into(), vec![row("/a.rs", 5.0)])],
            ..report.clone()
        };
        Listed::default().add_rows(&mut empty, None);
        assert!(empty.by[1].1.is_empty());
    }
}
