//! The one grammar for every time and range argument (`tf report 2026-12-01`, `--from 09:30`,
//! `tf add --to now`, `tf heartbeat --time "90m ago"`), and its resolution to instants.
//!
//! Text is checked where it is typed (the CLI, with no time zone), and resolved in one zone:
//! the daemon's. Ranges travel as text in a [`RangeSpec`] and the daemon resolves them; `tf add`
//! and `tf heartbeat` resolve theirs with the zone the daemon reports, so `TZ=… tf` never
//! disagrees with the reports.

use crate::calendar::Calendar;
use crate::config::WeekStart;
use jiff::ToSpan;
use jiff::civil::{Date, DateTime, Time, Weekday};
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

/// The range names, for completions and help.
pub const RANGE_NAMES: [&str; 10] = [
    "today",
    "yesterday",
    "week",
    "last-week",
    "month",
    "last-month",
    "year",
    "7d",
    "30d",
    "all",
];

/// Every form a RANGE argument takes, as printed in errors, help and man pages.
pub const RANGE_GRAMMAR: &str = "today, yesterday, week, last-week, month, last-month, year, \
all, Nd (the last N days including today: 7d, 30d), YYYY-MM-DD (that day) or YYYY-MM (that month)";

/// Every form a TIME argument takes, as printed in errors, help and man pages.
pub const TIME_GRAMMAR: &str = "now, today, yesterday, HH:MM[:SS] (today), YYYY-MM-DD, \
YYYY-MM-DD HH:MM[:SS], YYYY-MM-DDTHH:MM[:SS], RFC 3339 (2026-12-01T09:30:00+01:00), \
unix seconds (1764581400) or back from now (-2h, 90m ago, 1h30m ago, 3 days ago)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("unknown range {0:?}: expected {RANGE_GRAMMAR}; or --from/--to TIME")]
    UnknownName(String),
    #[error("{}", bad_bound(flag, value))]
    BadBound { flag: &'static str, value: String },
    #[error("give either a range or --from/--to, not both")]
    Conflict,
    #[error("the range is empty: --from {from} is not before --to {to}")]
    Empty { from: String, to: String },
}

fn bad_bound(flag: &str, value: &str) -> String {
    match TimeSpec::parse(value) {
        Err(e) => format!("--{flag} {e}"),
        // Parsed but not resolvable (a year past 9999 after `-20000y`): still name the flag.
        Ok(_) => format!("--{flag} {value:?}: out of range"),
    }
}

/// A bad TIME argument: what was written, what is wrong, and the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?}: {problem}; a TIME is {TIME_GRAMMAR}")]
pub struct TimeError {
    pub value: String,
    pub problem: String,
}

impl TimeError {
    fn new(value: &str, problem: impl Into<String>) -> TimeError {
        TimeError {
            value: value.to_string(),
            problem: problem.into(),
        }
    }
}

/// Which end of a span a time stands for: a whole day (`2026-12-01`, `yesterday`) as an end
/// means the end of that day, so `--from D --to D` is day D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

/// A TIME as written, checked but not yet resolved (that needs a zone and a clock).
#[derive(Debug, Clone)]
pub enum TimeSpec {
    Now,
    /// An instant written with its offset (RFC 3339) or as unix seconds, in unix ms.
    Exact(i64),
    /// A whole day: a date, or `today` / `yesterday` as days back from today.
    Date(Date),
    DaysBack(i64),
    /// A wall-clock time on a date, in the daemon's zone.
    Local(DateTime),
    /// `HH:MM[:SS]`: that time today.
    Clock(Time),
    /// Back from now (a negative span: `-2h`, `90m ago`).
    Ago(jiff::Span),
}

/// Unix seconds below this are refused: `2026` is far more likely a mistyped date than
/// 00:33:46 on 1970-01-01. 100,000,000 is 1973-03-03.
const MIN_UNIX_SECONDS: f64 = 1e8;

impl TimeSpec {
    /// Checks `text` against the grammar; no zone needed.
    pub fn parse(text: &str) -> Result<TimeSpec, TimeError> {
        let s = text.trim();
        let err = |problem: &str| Err(TimeError::new(text, problem));
        if s.is_empty() {
            return err("empty");
        }
        match s.to_ascii_lowercase().as_str() {
            "now" => return Ok(TimeSpec::Now),
            "today" => return Ok(TimeSpec::DaysBack(0)),
            "yesterday" => return Ok(TimeSpec::DaysBack(1)),
            _ => {}
        }
        // Numbers are unix seconds; those that cannot be are said plainly (`-5` is not "5
        // units ago", `2026` not a year).
        if let Ok(secs) = s.parse::<f64>() {
            return match secs {
                _ if !secs.is_finite() => err("not a finite number"),
                _ if secs < 0.0 => err("before 1970: unix seconds cannot be negative"),
                _ if secs < MIN_UNIX_SECONDS => {
                    err("too small for unix seconds (1764581400 is 2025-12-01 09:30 UTC)")
                }
                _ => Ok(TimeSpec::Exact((secs * 1000.0).round() as i64)),
            };
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return err("not a number");
        }
        if let Ok(t) = s.parse::<jiff::Timestamp>() {
            return Ok(TimeSpec::Exact(t.as_millisecond()));
        }
        if s.starts_with('-') || s.to_ascii_lowercase().ends_with("ago") {
            return match s.parse::<jiff::Span>() {
                Ok(span) if span.is_negative() => Ok(TimeSpec::Ago(span)),
                Ok(_) => err("a relative time counts back from now and must not be zero"),
                Err(_) => err("not a relative time (units: s, m, h, d, w)"),
            };
        }
        // The shape decides, not jiff's leniency: its date parser also takes a datetime and
        // drops the time, and its time parser takes `0930`.
        let b = s.as_bytes();
        let date_like = b.len() >= 10 && b[4] == b'-' && b[7] == b'-';
        if date_like && b.len() == 10 {
            return match s.parse::<Date>() {
                Ok(d) => Ok(TimeSpec::Date(d)),
                Err(_) => err("not a valid date"),
            };
        }
        if date_like && matches!(b[10], b' ' | b'T' | b't') {
            if s[11..].contains(['+', 'Z', 'z']) || s[11..].contains('-') {
                return err("not a valid RFC 3339 time");
            }
            return match s.parse::<DateTime>() {
                Ok(dt) => Ok(TimeSpec::Local(dt)),
                Err(_) => err("not a valid date and time"),
            };
        }
        if b.len() >= 4 && b.len() <= 8 && b.contains(&b':') && b[0].is_ascii_digit() {
            // jiff wants two digits for the hour; people write 9:05.
            let padded = if b[1] == b':' {
                format!("0{s}")
            } else {
                s.to_string()
            };
            return match padded.parse::<Time>() {
                Ok(t) => Ok(TimeSpec::Clock(t)),
                Err(_) => err("not a valid time of day"),
            };
        }
        if s.parse::<jiff::Span>().is_ok() {
            return err("a relative time needs a minus or `ago` (-2h, 2h ago)");
        }
        err("not a time")
    }

    /// Whether resolving needs the time zone (wall-clock times and calendar days do; instants,
    /// `now` and spans of hours or less do not).
    pub fn needs_zone(&self) -> bool {
        match self {
            TimeSpec::Now | TimeSpec::Exact(_) => false,
            TimeSpec::Ago(span) => {
                span.get_years() != 0
                    || span.get_months() != 0
                    || span.get_weeks() != 0
                    || span.get_days() != 0
            }
            _ => true,
        }
    }

    /// The instant, in unix ms, in `cal`'s zone at `now_ms`. `None` only out of jiff's range.
    pub fn resolve(&self, cal: &Calendar, now_ms: i64, edge: Edge) -> Option<i64> {
        let day = |d: Date| match edge {
            Edge::Start => Some(cal.start_of(d)),
            Edge::End => d.tomorrow().ok().map(|t| cal.start_of(t)),
        };
        let wall = |dt: DateTime| {
            dt.to_zoned_datetime(cal.tz().clone())
                .ok()
                .map(|z| z.timestamp().as_millisecond())
        };
        match self {
            TimeSpec::Now => Some(now_ms),
            TimeSpec::Exact(ms) => Some(*ms),
            TimeSpec::Date(d) => day(*d),
            TimeSpec::DaysBack(n) => day(cal.date_of(now_ms).checked_sub(n.days()).ok()?),
            TimeSpec::Local(dt) => wall(*dt),
            TimeSpec::Clock(t) => wall(cal.date_of(now_ms).to_datetime(*t)),
            TimeSpec::Ago(span) => cal
                .zoned(now_ms)
                .checked_add(*span)
                .ok()
                .map(|z| z.timestamp().as_millisecond()),
        }
    }
}

/// A RANGE argument, checked but not yet resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeName {
    Today,
    Yesterday,
    Week,
    LastWeek,
    Month,
    LastMonth,
    Year,
    All,
    /// The last N days including today.
    Days(i64),
    Day(Date),
    /// A calendar month: its first day.
    MonthOf(Date),
}

impl RangeName {
    pub fn parse(text: &str) -> Result<RangeName, RangeError> {
        let s = text.trim().to_ascii_lowercase();
        let unknown = || RangeError::UnknownName(text.to_string());
        Ok(match s.as_str() {
            "today" => RangeName::Today,
            "yesterday" => RangeName::Yesterday,
            "week" => RangeName::Week,
            "last-week" => RangeName::LastWeek,
            "month" => RangeName::Month,
            "last-month" => RangeName::LastMonth,
            "year" => RangeName::Year,
            "all" => RangeName::All,
            n => {
                if let Some(days) = n.strip_suffix('d').and_then(|d| d.parse::<i64>().ok()) {
                    return match days {
                        1..=36_600 => Ok(RangeName::Days(days)),
                        _ => Err(unknown()),
                    };
                }
                let b = n.as_bytes();
                if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
                    return n.parse::<Date>().map(RangeName::Day).map_err(|_| unknown());
                }
                if b.len() == 7 && b[4] == b'-' {
                    return format!("{n}-01")
                        .parse::<Date>()
                        .map(RangeName::MonthOf)
                        .map_err(|_| unknown());
                }
                return Err(unknown());
            }
        })
    }
}

/// Checks a whole spec without resolving it: the CLI does this before it talks to the daemon.
pub fn check(spec: &RangeSpec) -> Result<(), RangeError> {
    if spec.name.is_some() && (spec.from.is_some() || spec.to.is_some()) {
        return Err(RangeError::Conflict);
    }
    if let Some(n) = &spec.name {
        RangeName::parse(n)?;
    }
    for (flag, value) in [("from", &spec.from), ("to", &spec.to)] {
        if let Some(v) = value {
            TimeSpec::parse(v).map_err(|_| RangeError::BadBound {
                flag,
                value: v.clone(),
            })?;
        }
    }
    Ok(())
}

/// Resolves a range to `[start_ms, end_ms)`. Named ranges that include today end at the start
/// of tomorrow; `--to` with a date includes that whole day.
pub fn resolve(
    spec: &RangeSpec,
    cal: &Calendar,
    now_ms: i64,
    week_start: WeekStart,
) -> Result<(i64, i64), RangeError> {
    check(spec)?;
    let today = cal.date_of(now_ms);
    let day = |d: Date| cal.start_of(d);
    let tomorrow = day(today.tomorrow().unwrap_or(today));
    if spec.name.is_none() && (spec.from.is_some() || spec.to.is_some()) {
        let bound = |flag: &'static str, value: &Option<String>, edge: Edge, default: i64| {
            let Some(v) = value else { return Ok(default) };
            TimeSpec::parse(v)
                .ok()
                .and_then(|t| t.resolve(cal, now_ms, edge))
                .ok_or_else(|| RangeError::BadBound {
                    flag,
                    value: v.clone(),
                })
        };
        let start = bound("from", &spec.from, Edge::Start, 0)?;
        let end = bound("to", &spec.to, Edge::End, tomorrow)?;
        if start >= end {
            return Err(RangeError::Empty {
                from: spec.from.clone().unwrap_or_else(|| "(beginning)".into()),
                to: spec.to.clone().unwrap_or_else(|| "(today)".into()),
            });
        }
        return Ok((start, end));
    }
    let name = RangeName::parse(spec.name.as_deref().unwrap_or("today"))?;
    let week_first = match week_start {
        WeekStart::Monday => Weekday::Monday,
        WeekStart::Sunday => Weekday::Sunday,
    };
    let this_week = today.nth_weekday_of_week_start(week_first).unwrap_or(today);
    let this_month = today.first_of_month();
    let back = |d: Date, span: jiff::Span| d.checked_sub(span).unwrap_or(d);
    let next = |d: Date, span: jiff::Span| d.checked_add(span).unwrap_or(d);
    Ok(match name {
        RangeName::Today => (day(today), tomorrow),
        RangeName::Yesterday => (day(back(today, 1.day())), day(today)),
        RangeName::Week => (day(this_week), tomorrow),
        RangeName::LastWeek => (day(back(this_week, 1.week())), day(this_week)),
        RangeName::Month => (day(this_month), tomorrow),
        RangeName::LastMonth => (day(back(this_month, 1.month())), day(this_month)),
        RangeName::Year => (day(today.first_of_year()), tomorrow),
        RangeName::All => (0, tomorrow),
        RangeName::Days(days) => (day(back(today, (days - 1).days())), tomorrow),
        RangeName::Day(d) => (day(d), day(next(d, 1.day()))),
        RangeName::MonthOf(d) => (day(d), day(next(d, 1.month()))),
    })
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

    fn time(s: &str, edge: Edge) -> Result<i64, String> {
        TimeSpec::parse(s)
            .map_err(|e| e.to_string())?
            .resolve(&cal(), now(), edge)
            .ok_or_else(|| "out of range".to_string())
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
            ("Today", "2026-11-24T23:00:00Z", "2026-11-25T23:00:00Z"),
            // A date is that day; a month that month (October has 31 days and a DST change).
            ("2026-12-01", "2026-11-30T23:00:00Z", "2026-12-01T23:00:00Z"),
            ("2026-10-25", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
            ("2026-10", "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"),
        ];
        for (name, start, end) in cases {
            let got = resolve(&RangeSpec::named(name), &cal(), now(), WeekStart::Monday).unwrap();
            assert_eq!(got, (at(start), at(end)), "{name}");
        }
        let all = resolve(&RangeSpec::named("all"), &cal(), now(), WeekStart::Monday).unwrap();
        assert_eq!(all.0, 0);
        for name in RANGE_NAMES {
            assert!(RangeName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn week_can_start_on_sunday() {
        let got = resolve(&RangeSpec::named("week"), &cal(), now(), WeekStart::Sunday).unwrap();
        assert_eq!(got.0, at("2026-11-21T23:00:00Z"));
    }

    #[test]
    fn every_time_form_resolves_in_the_calendar_zone() {
        let start = Edge::Start;
        let cases = [
            ("now", "2026-11-25T14:00:00Z"),
            ("NOW", "2026-11-25T14:00:00Z"),
            ("today", "2026-11-24T23:00:00Z"),
            ("yesterday", "2026-11-23T23:00:00Z"),
            ("09:30", "2026-11-25T08:30:00Z"),
            ("09:30:15", "2026-11-25T08:30:15Z"),
            (" 9:05 ", "2026-11-25T08:05:00Z"),
            ("2026-12-01", "2026-11-30T23:00:00Z"),
            ("2026-12-01 09:30", "2026-12-01T08:30:00Z"),
            ("2026-12-01 09:30:45", "2026-12-01T08:30:45Z"),
            ("2026-12-01T09:30", "2026-12-01T08:30:00Z"),
            ("2026-12-01T09:30:00", "2026-12-01T08:30:00Z"),
            ("2026-12-01T09:30:00+01:00", "2026-12-01T08:30:00Z"),
            ("2026-12-01T09:30:00Z", "2026-12-01T09:30:00Z"),
            ("2026-12-01 09:30:00-05:00", "2026-12-01T14:30:00Z"),
            ("1764581400", "2025-12-01T09:30:00Z"),
            ("1764581400.5", "2025-12-01T09:30:00.5Z"),
            ("-2h", "2026-11-25T12:00:00Z"),
            ("90m ago", "2026-11-25T12:30:00Z"),
            ("1h30m ago", "2026-11-25T12:30:00Z"),
            ("2 hours ago", "2026-11-25T12:00:00Z"),
            ("-45s", "2026-11-25T13:59:15Z"),
            ("3 days ago", "2026-11-22T14:00:00Z"),
            ("-1w", "2026-11-18T14:00:00Z"),
        ];
        for (text, want) in cases {
            assert_eq!(time(text, start), Ok(at(want)), "{text}");
        }
        // As the end of a span, a whole day reaches to its end; a time stays exact.
        assert_eq!(
            time("2026-12-01", Edge::End),
            Ok(at("2026-12-01T23:00:00Z"))
        );
        assert_eq!(time("yesterday", Edge::End), Ok(at("2026-11-24T23:00:00Z")));
        assert_eq!(time("09:30", Edge::End), Ok(at("2026-11-25T08:30:00Z")));
        // Across the spring DST change "-1d" is the same wall-clock time the day before: 23 h.
        let summer = at("2026-03-29T11:00:00Z");
        let got = TimeSpec::parse("-1d")
            .unwrap()
            .resolve(&cal(), summer, Edge::Start);
        assert_eq!(got, Some(at("2026-03-28T12:00:00Z")));
    }

    #[test]
    fn only_calendar_forms_need_the_zone() {
        for (text, zone) in [
            ("now", false),
            ("2026-12-01T09:30:00Z", false),
            ("1764581400", false),
            ("-2h", false),
            ("90m ago", false),
            ("-1d", true),
            ("09:30", true),
            ("2026-12-01", true),
            ("2026-12-01 09:30", true),
            ("today", true),
        ] {
            assert_eq!(TimeSpec::parse(text).unwrap().needs_zone(), zone, "{text}");
        }
    }

    #[test]
    fn bad_times_say_what_is_wrong_and_show_the_grammar() {
        let cases = [
            ("", "empty"),
            ("half past nine", "not a time"),
            ("2026", "too small for unix seconds"),
            ("1.2.3", "not a number"),
            ("25:00", "not a valid time of day"),
            ("2026-02-30", "not a valid date"),
            ("2026-12-01 25:00", "not a valid date and time"),
            ("2026-12-01T09:30+99:00", "not a valid RFC 3339 time"),
            ("2h", "needs a minus or `ago`"),
            ("7d", "needs a minus or `ago`"),
            ("-0s", "must not be zero"),
            ("-soon", "not a relative time"),
            ("-5", "before 1970"),
            ("NaN", "not a finite number"),
            ("inf", "not a finite number"),
            ("week", "not a time"),
        ];
        for (text, want) in cases {
            let e = TimeSpec::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(e.contains(&format!("{text:?}")), "names the value: {e}");
            assert!(e.contains("HH:MM[:SS]") && e.contains("90m ago"), "{e}");
        }
    }

    #[test]
    fn from_to_take_every_time_form() {
        let spec = |from: &str, to: &str| RangeSpec {
            name: None,
            from: Some(from.into()),
            to: Some(to.into()),
        };
        let r = |s: RangeSpec| resolve(&s, &cal(), now(), WeekStart::Monday).unwrap();
        assert_eq!(
            r(spec("2026-11-01", "2026-11-02")),
            (at("2026-10-31T23:00:00Z"), at("2026-11-02T23:00:00Z")),
            "dates are inclusive whole days"
        );
        assert_eq!(
            r(spec("2026-11-01T10:00:00+01:00", "2026-11-01T12:30:00Z")),
            (at("2026-11-01T09:00:00Z"), at("2026-11-01T12:30:00Z"))
        );
        assert_eq!(r(spec("09:30", "now")), (at("2026-11-25T08:30:00Z"), now()));
        assert_eq!(
            r(spec("2026-12-01T09:30", "2026-12-01 10:00")),
            (at("2026-12-01T08:30:00Z"), at("2026-12-01T09:00:00Z"))
        );
        assert_eq!(
            r(spec("yesterday", "yesterday")),
            (at("2026-11-23T23:00:00Z"), at("2026-11-24T23:00:00Z"))
        );
        assert_eq!(r(spec("-2h", "now")), (at("2026-11-25T12:00:00Z"), now()));
        let only_from = RangeSpec {
            name: None,
            from: Some("1764581400".into()),
            to: None,
        };
        assert_eq!(
            r(only_from).1,
            at("2026-11-25T23:00:00Z"),
            "to the end of today"
        );
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        let bad = |spec: RangeSpec| {
            resolve(&spec, &cal(), now(), WeekStart::Monday)
                .unwrap_err()
                .to_string()
        };
        for name in ["fortnight", "0d", "2026-13", "2026-02-30", "-2h"] {
            let e = bad(RangeSpec::named(name));
            assert!(e.contains(&format!("unknown range {name:?}")), "{e}");
            assert!(
                e.contains("YYYY-MM-DD (that day)"),
                "shows the grammar: {e}"
            );
        }
        let e = bad(RangeSpec {
            name: None,
            from: Some("yesterday-ish".into()),
            to: None,
        });
        assert!(e.starts_with("--from \"yesterday-ish\""), "{e}");
        assert!(e.contains("HH:MM[:SS]"), "{e}");
        let e = bad(RangeSpec {
            name: None,
            from: None,
            to: Some("12:99".into()),
        });
        assert!(
            e.starts_with("--to \"12:99\": not a valid time of day"),
            "{e}"
        );
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
