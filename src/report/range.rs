//! Named ranges (`today`, `week`, `7d`, …) and `--from`/`--to` bounds, resolved to instants in
//! the daemon's time zone.

use crate::calendar::Calendar;
use crate::config::WeekStart;
use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

/// A range as the user wrote it; the daemon resolves it so one time zone decides what "today" is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl RangeSpec {
    pub fn named(name: &str) -> RangeSpec {
        RangeSpec {
            name: Some(name.to_string()),
            ..Default::default()
        }
    }
}

pub const RANGE_NAMES: &str =
    "today, yesterday, week, last-week, month, last-month, year, 7d, 30d (any Nd), all";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("unknown range {0:?} (expected one of: {RANGE_NAMES})")]
    UnknownName(String),
    #[error(
        "--{flag} {value:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-11-25T09:30:00+01:00)"
    )]
    BadBound { flag: &'static str, value: String },
    #[error("give either a range name or --from/--to, not both")]
    Conflict,
    #[error("the range is empty: --from {from} is not before --to {to}")]
    Empty { from: String, to: String },
}

/// Resolves a range to `[start_ms, end_ms)`. Named ranges that include today end at the start
/// of tomorrow; `--to` with a date includes that whole day.
pub fn resolve(
    spec: &RangeSpec,
    cal: &Calendar,
    now_ms: i64,
    week_start: WeekStart,
) -> Result<(i64, i64), RangeError> {
    let today = cal.date_of(now_ms);
    let day = |d: Date| cal.start_of(d);
    let tomorrow = day(today.tomorrow().unwrap_or(today));
    if spec.name.is_some() && (spec.from.is_some() || spec.to.is_some()) {
        return Err(RangeError::Conflict);
    }
    if spec.name.is_none() && (spec.from.is_some() || spec.to.is_some()) {
        let start = match &spec.from {
            Some(v) => parse_bound(v, cal, false).ok_or_else(|| RangeError::BadBound {
                flag: "from",
                value: v.clone(),
            })?,
            None => 0,
        };
        let end = match &spec.to {
            Some(v) => parse_bound(v, cal, true).ok_or_else(|| RangeError::BadBound {
                flag: "to",
                value: v.clone(),
            })?,
            None => tomorrow,
        };
        if start >= end {
            return Err(RangeError::Empty {
                from: spec.from.clone().unwrap_or_else(|| "(beginning)".into()),
                to: spec.to.clone().unwrap_or_else(|| "(today)".into()),
            });
        }
        return Ok((start, end));
    }
    let name = spec.name.as_deref().unwrap_or("today").to_ascii_lowercase();
    let week_first = match week_start {
        WeekStart::Monday => Weekday::Monday,
        WeekStart::Sunday => Weekday::Sunday,
    };
    let this_week = today.nth_weekday_of_week_start(week_first).unwrap_or(today);
    let this_month = today.first_of_month();
    let back = |d: Date, span: jiff::Span| d.checked_sub(span).unwrap_or(d);
    let range = match name.as_str() {
        "today" => (day(today), tomorrow),
        "yesterday" => (day(back(today, 1.day())), day(today)),
        "week" => (day(this_week), tomorrow),
        "last-week" => (day(back(this_week, 1.week())), day(this_week)),
        "month" => (day(this_month), tomorrow),
        "last-month" => (day(back(this_month, 1.month())), day(this_month)),
        "year" => (day(today.first_of_year()), tomorrow),
        "all" => (0, tomorrow),
        n => match n.strip_suffix('d').and_then(|d| d.parse::<i64>().ok()) {
            Some(days @ 1..=36_600) => (day(back(today, (days - 1).days())), tomorrow),
            _ => return Err(RangeError::UnknownName(n.to_string())),
        },
    };
    Ok(range)
}

/// A date means the start of that day (or, for `--to`, the end of it); otherwise RFC 3339.
fn parse_bound(value: &str, cal: &Calendar, end_of_day: bool) -> Option<i64> {
    // An instant first: jiff's date parser would also accept a datetime and drop its time.
    if let Ok(t) = value.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    let date = value
        .parse::<Date>()
        .ok()
        .filter(|_| value.trim().len() == 10)?;
    let date = if end_of_day {
        date.tomorrow().ok()?
    } else {
        date
    };
    Some(cal.start_of(date))
}

trait WeekStartExt {
    fn nth_weekday_of_week_start(self, first: Weekday) -> Option<Date>;
}

impl WeekStartExt for Date {
    /// The first day of the week containing `self`.
    fn nth_weekday_of_week_start(self, first: Weekday) -> Option<Date> {
        let back =
            (self.weekday().to_monday_zero_offset() - first.to_monday_zero_offset()).rem_euclid(7);
        self.checked_sub(i64::from(back).days()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn cal() -> Calendar {
        Calendar::new(TimeZone::get("Europe/Berlin").unwrap())
    }

    /// Wednesday 2026-11-25 15:00 in Berlin.
    fn now() -> i64 {
        "2026-11-25T14:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond()
    }

    fn at(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn named_ranges() {
        let cases = [
            ("today", "2026-11-24T23:00:00Z", "2026-11-25T23:00:00Z"),
            ("yesterday", "2026-11-23T23:00:00Z", "2026-11-24T23:00:00Z"),
            ("week", "2026-11-22T23:00:00Z", "2026-11-25T23:00:00Z"),
            ("last-week", "2026-11-15T23:00:00Z", "2026-11-22T23:00:00Z"),
            ("month", "2026-10-31T23:00:00Z", "2026-11-25T23:00:00Z"),
            ("last-month", "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"),
            ("year", "2025-12-31T23:00:00Z", "2026-11-25T23:00:00Z"),
            ("7d", "2026-11-18T23:00:00Z", "2026-11-25T23:00:00Z"),
            ("30d", "2026-10-26T23:00:00Z", "2026-11-25T23:00:00Z"),
        ];
        for (name, start, end) in cases {
            let got = resolve(&RangeSpec::named(name), &cal(), now(), WeekStart::Monday).unwrap();
            assert_eq!(got, (at(start), at(end)), "{name}");
        }
        let all = resolve(&RangeSpec::named("all"), &cal(), now(), WeekStart::Monday).unwrap();
        assert_eq!(all.0, 0);
    }

    #[test]
    fn week_can_start_on_sunday() {
        let got = resolve(&RangeSpec::named("week"), &cal(), now(), WeekStart::Sunday).unwrap();
        assert_eq!(got.0, at("2026-11-21T23:00:00Z"));
    }

    #[test]
    fn from_to_dates_are_inclusive_whole_days_and_instants_are_exact() {
        let spec = RangeSpec {
            name: None,
            from: Some("2026-11-01".into()),
            to: Some("2026-11-02".into()),
        };
        let got = resolve(&spec, &cal(), now(), WeekStart::Monday).unwrap();
        assert_eq!(
            got,
            (at("2026-10-31T23:00:00Z"), at("2026-11-02T23:00:00Z"))
        );
        let spec = RangeSpec {
            name: None,
            from: Some("2026-11-01T10:00:00+01:00".into()),
            to: Some("2026-11-01T12:30:00Z".into()),
        };
        let got = resolve(&spec, &cal(), now(), WeekStart::Monday).unwrap();
        assert_eq!(
            got,
            (at("2026-11-01T09:00:00Z"), at("2026-11-01T12:30:00Z"))
        );
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        let bad = |spec: RangeSpec| {
            resolve(&spec, &cal(), now(), WeekStart::Monday)
                .unwrap_err()
                .to_string()
        };
        assert!(bad(RangeSpec::named("fortnight")).contains("unknown range \"fortnight\""));
        assert!(bad(RangeSpec::named("0d")).contains("unknown range"));
        let e = bad(RangeSpec {
            name: None,
            from: Some("yesterday-ish".into()),
            to: None,
        });
        assert!(e.contains("--from") && e.contains("YYYY-MM-DD"), "{e}");
        let e = bad(RangeSpec {
            name: None,
            from: Some("2026-11-05".into()),
            to: Some("2026-11-01".into()),
        });
        assert!(e.contains("not before"), "{e}");
        let e = bad(RangeSpec {
            name: Some("today".into()),
            from: Some("2026-11-05".into()),
            to: None,
        });
        assert!(e.contains("not both"), "{e}");
    }
}
