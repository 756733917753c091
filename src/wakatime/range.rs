//! WakaTime's range names — `stats/{range}`, `summaries?range=`, and `start=today` from the
//! legacy client's `--today` — turned into a [`RangeSpec`] the daemon resolves with its own
//! calendar and week start, so HTTP ranges and `tf report` ranges mean the same days.
//!
//! Accepted (case-insensitive; spaces, `-` and `_` are interchangeable, so WakaTime's display
//! forms like "Last 7 Days" work too): `today`, `yesterday`, `this_week`/`week`, `last_week`,
//! `this_month`/`month`, `last_month`, `this_year`/`year`, `last_N_days`/`N_days` (`last_7_days`,
//! `last_14_days`, `last_30_days` …), `last_N_days_from_yesterday`, `last_6_months`/`6_months`,
//! `last_year`/`last_12_months`/`12_months`, `all_time`/`all`/`any`, `YYYY` and `YYYY-MM`.
//! Ranges of the last N days, months or a year include today (WakaTime's cached stats end
//! yesterday; a local tracker has today's numbers).

use crate::report::RangeSpec;
use jiff::ToSpan;
use jiff::civil::Date;

/// A WakaTime range, before it is resolved to instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakaRange {
    Today,
    Yesterday,
    ThisWeek,
    LastWeek,
    ThisMonth,
    LastMonth,
    ThisYear,
    /// The last N days, today included (1 ..= 36600).
    LastDays(u16),
    /// The N days before today.
    LastDaysFromYesterday(u16),
    /// The last N months, today included (`last_6_months`; 12 is `last_year`).
    LastMonths(u8),
    AllTime,
    /// A calendar year, up to today.
    Year(i16),
    /// A calendar month (year, 1 ..= 12), up to today.
    Month(i16, i8),
}

/// Parses a WakaTime range name; `None` for anything else.
pub fn parse_range_name(name: &str) -> Option<WakaRange> {
    let name = name.trim();
    if let Some(r) = parse_calendar(name) {
        return Some(r);
    }
    let key: String = name
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let days = |s: &str| s.parse::<u16>().ok().filter(|n| (1..=36_600).contains(n));
    Some(match key.as_str() {
        "today" => WakaRange::Today,
        "yesterday" | "day" => WakaRange::Yesterday,
        "this_week" | "week" => WakaRange::ThisWeek,
        "last_week" => WakaRange::LastWeek,
        "this_month" | "month" => WakaRange::ThisMonth,
        "last_month" => WakaRange::LastMonth,
        "this_year" | "year" => WakaRange::ThisYear,
        "last_year" | "last_12_months" | "12_months" => WakaRange::LastMonths(12),
        "all_time" | "all" | "any" => WakaRange::AllTime,
        k => {
            let k = k.strip_prefix("last_").unwrap_or(k);
            if let Some(n) = k.strip_suffix("_days_from_yesterday").and_then(days) {
                WakaRange::LastDaysFromYesterday(n)
            } else if let Some(n) = k.strip_suffix("_days").and_then(days) {
                WakaRange::LastDays(n)
            } else if let Some(n) = k
                .strip_suffix("_months")
                .and_then(|m| m.parse::<u8>().ok())
                .filter(|n| (1..=120).contains(n))
            {
                WakaRange::LastMonths(n)
            } else {
                return None;
            }
        }
    })
}

/// `2024` or `2024-05`.
fn parse_calendar(name: &str) -> Option<WakaRange> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match name.split_once('-') {
        None if name.len() == 4 && digits(name) => {
            let y = name.parse::<i16>().ok()?;
            Date::new(y, 1, 1).ok()?;
            Some(WakaRange::Year(y))
        }
        Some((y, m)) if y.len() == 4 && m.len() == 2 && digits(y) && digits(m) => {
            let (y, m) = (y.parse::<i16>().ok()?, m.parse::<i8>().ok()?);
            Date::new(y, m, 1).ok()?;
            Some(WakaRange::Month(y, m))
        }
        _ => None,
    }
}

impl WakaRange {
    /// WakaTime's id for the range, as in `stats.range`: `last_7_days`, `2024-05` …
    pub fn key(self) -> String {
        match self {
            WakaRange::Today => "today".into(),
            WakaRange::Yesterday => "yesterday".into(),
            WakaRange::ThisWeek => "this_week".into(),
            WakaRange::LastWeek => "last_week".into(),
            WakaRange::ThisMonth => "this_month".into(),
            WakaRange::LastMonth => "last_month".into(),
            WakaRange::ThisYear => "this_year".into(),
            WakaRange::LastDays(n) => format!("last_{n}_days"),
            WakaRange::LastDaysFromYesterday(n) => format!("last_{n}_days_from_yesterday"),
            WakaRange::LastMonths(12) => "last_year".into(),
            WakaRange::LastMonths(n) => format!("last_{n}_months"),
            WakaRange::AllTime => "all_time".into(),
            WakaRange::Year(y) => format!("{y:04}"),
            WakaRange::Month(y, m) => format!("{y:04}-{m:02}"),
        }
    }

    /// WakaTime's `human_readable_range`: the key with spaces (`last 6 months`, as
    /// wakatime.com writes it), a year as itself, a month as `May 2024`.
    pub fn human(self) -> String {
        match self {
            WakaRange::Year(y) => format!("{y}"),
            WakaRange::Month(y, m) => {
                format!(
                    "{} {y}",
                    super::summary::MONTHS[usize::from(m.unsigned_abs().saturating_sub(1)) % 12]
                )
            }
            r => r.key().replace('_', " "),
        }
    }

    /// The range for the daemon's resolver: a named range where TimeForged has one, else
    /// inclusive `from`/`to` dates (`YYYY-MM-DD`) computed from `today`.
    pub fn range_spec(self, today: Date) -> RangeSpec {
        let named = RangeSpec::named;
        let dates = |from: Date, to: Date| RangeSpec {
            name: None,
            from: Some(from.to_string()),
            to: Some(to.to_string()),
        };
        let back = |span: jiff::Span| today.checked_sub(span).unwrap_or(today);
        match self {
            WakaRange::Today => named("today"),
            WakaRange::Yesterday => named("yesterday"),
            WakaRange::ThisWeek => named("week"),
            WakaRange::LastWeek => named("last-week"),
            WakaRange::ThisMonth => named("month"),
            WakaRange::LastMonth => named("last-month"),
            WakaRange::ThisYear => named("year"),
            WakaRange::LastDays(n) => named(&format!("{n}d")),
            WakaRange::AllTime => named("all"),
            WakaRange::LastDaysFromYesterday(n) => dates(back(i64::from(n).days()), back(1.day())),
            WakaRange::LastMonths(n) => {
                let start = back(i64::from(n).months());
                dates(start.tomorrow().unwrap_or(start), today)
            }
            WakaRange::Year(y) => {
                let first = Date::new(y, 1, 1).unwrap_or(today);
                dates(first, first.last_of_year().min(today))
            }
            WakaRange::Month(y, m) => {
                let first = Date::new(y, m, 1).unwrap_or(today);
                dates(first, first.last_of_month().min(today))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        let cases = [
            ("today", Some(WakaRange::Today)),
            ("Today", Some(WakaRange::Today)),
            ("yesterday", Some(WakaRange::Yesterday)),
            ("this_week", Some(WakaRange::ThisWeek)),
            ("This Week", Some(WakaRange::ThisWeek)),
            ("last_week", Some(WakaRange::LastWeek)),
            ("this_month", Some(WakaRange::ThisMonth)),
            ("last_month", Some(WakaRange::LastMonth)),
            ("this_year", Some(WakaRange::ThisYear)),
            ("last_7_days", Some(WakaRange::LastDays(7))),
            ("Last 7 Days", Some(WakaRange::LastDays(7))),
            ("7_days", Some(WakaRange::LastDays(7))),
            ("last_14_days", Some(WakaRange::LastDays(14))),
            ("last_30_days", Some(WakaRange::LastDays(30))),
            (
                "Last 7 Days from Yesterday",
                Some(WakaRange::LastDaysFromYesterday(7)),
            ),
            ("last_6_months", Some(WakaRange::LastMonths(6))),
            ("6_months", Some(WakaRange::LastMonths(6))),
            ("last_year", Some(WakaRange::LastMonths(12))),
            ("last_12_months", Some(WakaRange::LastMonths(12))),
            ("all_time", Some(WakaRange::AllTime)),
            ("any", Some(WakaRange::AllTime)),
            ("2024", Some(WakaRange::Year(2024))),
            ("2024-05", Some(WakaRange::Month(2024, 5))),
            ("2024-13", None),
            ("last_0_days", None),
            ("last_99999_days", None),
            ("fortnight", None),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(parse_range_name(name), want, "{name}");
        }
    }

    #[test]
    fn keys_round_trip_and_read_like_wakatime() {
        for r in [
            WakaRange::Today,
            WakaRange::LastWeek,
            WakaRange::LastDays(7),
            WakaRange::LastDaysFromYesterday(7),
            WakaRange::LastMonths(6),
            WakaRange::LastMonths(12),
            WakaRange::AllTime,
            WakaRange::Year(2023),
            WakaRange::Month(2024, 2),
        ] {
            assert_eq!(parse_range_name(&r.key()), Some(r), "{r:?}");
        }
        assert_eq!(WakaRange::LastMonths(6).human(), "last 6 months");
        assert_eq!(WakaRange::LastMonths(12).key(), "last_year");
        assert_eq!(WakaRange::Month(2024, 5).human(), "May 2024");
        assert_eq!(WakaRange::AllTime.human(), "all time");
    }

    #[test]
    fn specs_resolve_from_today() {
        let today: Date = "2026-11-25".parse().unwrap();
        let d = |from: &str, to: &str| RangeSpec {
            name: None,
            from: Some(from.into()),
            to: Some(to.into()),
        };
        let cases = [
            (WakaRange::Today, RangeSpec::named("today")),
            (WakaRange::LastWeek, RangeSpec::named("last-week")),
            (WakaRange::LastDays(7), RangeSpec::named("7d")),
            (WakaRange::AllTime, RangeSpec::named("all")),
            (
                WakaRange::LastDaysFromYesterday(7),
                d("2026-11-18", "2026-11-24"),
            ),
            (WakaRange::LastMonths(6), d("2026-05-26", "2026-11-25")),
            (WakaRange::LastMonths(12), d("2025-11-26", "2026-11-25")),
            (WakaRange::Year(2025), d("2025-01-01", "2025-12-31")),
            (WakaRange::Year(2026), d("2026-01-01", "2026-11-25")),
            (WakaRange::Month(2024, 2), d("2024-02-01", "2024-02-29")),
        ];
        for (range, want) in cases {
            assert_eq!(range.range_spec(today), want, "{range:?}");
        }
    }

    /// Every spec is accepted by the daemon's resolver and covers whole local days.
    #[test]
    fn specs_resolve_with_the_daemon_resolver() {
        use crate::calendar::Calendar;
        use crate::config::WeekStart;
        use crate::report::range::resolve;
        let cal = Calendar::new(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
        let now = "2026-11-25T14:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        let today = cal.date_of(now);
        let day = |d: &str| cal.start_of(d.parse().unwrap());
        let cases = [
            (WakaRange::Today, "2026-11-25", "2026-11-26"),
            (WakaRange::Yesterday, "2026-11-24", "2026-11-25"),
            (WakaRange::ThisWeek, "2026-11-23", "2026-11-26"),
            (WakaRange::LastDays(7), "2026-11-19", "2026-11-26"),
            (
                WakaRange::LastDaysFromYesterday(7),
                "2026-11-18",
                "2026-11-25",
            ),
            (WakaRange::LastMonths(6), "2026-05-26", "2026-11-26"),
            (WakaRange::Month(2026, 2), "2026-02-01", "2026-03-01"),
            (WakaRange::Year(2026), "2026-01-01", "2026-11-26"),
        ];
        for (range, from, to) in cases {
            let got = resolve(&range.range_spec(today), &cal, now, WeekStart::Monday)
                .unwrap_or_else(|e| panic!("{range:?}: {e}"));
            assert_eq!(got, (day(from), day(to)), "{range:?}");
        }
        let all = resolve(
            &WakaRange::AllTime.range_spec(today),
            &cal,
            now,
            WeekStart::Monday,
        );
        assert_eq!(all.unwrap().0, 0);
    }
}
