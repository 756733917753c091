//! A page's URL query: the range and filters of `tf report` (`range`, `from`, `to`, `by`,
//! `project`, `branch`, `language`, `timeout`), plus what some pages add (`date`, `year`,
//! `limit`, `format`). Every problem is collected and named, for a page that says what is
//! wrong instead of a 500.

use crate::calendar::now_ms;
use crate::daemon::account::Account;
use crate::report::{Dim, Filters, RangeSpec, range};
use crate::timeline::Rules;
use jiff::civil::Date;

/// Longest range a page shows: ten years (`tf report` has no limit).
pub const MAX_DAYS: i64 = 3660;
/// Rows a list shows unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;
/// The overview's bar charts, in the order.
pub const OVERVIEW_DIMS: [Dim; 7] = [
    Dim::Project,
    Dim::Language,
    Dim::Branch,
    Dim::Ticket,
    Dim::Category,
    Dim::Editor,
    Dim::Machine,
];
/// Ranges the picker offers by name (any of `tf report`'s names works in the URL).
pub const PICKER: [(&str, &str); 6] = [
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("week", "Week"),
    ("month", "Month"),
    ("year", "Year"),
    ("30d", "30 days"),
];
/// The range when the URL names none.
pub const DEFAULT_RANGE: &str = "week";

const KNOWN: [&str; 13] = [
    "range", "from", "to", "by", "project", "branch", "language", "timeout", "format", "date",
    "year", "limit", "next",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
    Csv,
}

/// A parsed query: everything a page needs to compute and to link to itself.
#[derive(Debug, Clone)]
pub struct View {
    /// The range as given (for links and the picker); `name` is None for a custom range.
    pub spec: RangeSpec,
    pub start: i64,
    pub end: i64,
    pub by: Vec<Dim>,
    pub filters: Filters,
    pub timeout: Option<u32>,
    pub rules: Rules,
    pub format: Format,
    pub date: Option<Date>,
    pub year: Option<i16>,
    pub limit: usize,
}

impl View {
    /// Parses `query` for `account`; `Err` lists every problem found.
    pub fn parse(query: Option<&str>, account: &Account) -> Result<View, Vec<String>> {
        let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(query.unwrap_or("")) {
            Ok(p) => p,
            Err(e) => return Err(vec![format!("the query string is not valid: {e}")]),
        };
        let mut errors = Vec::new();
        let mut one = |key: &str| -> Option<String> {
            let values: Vec<&String> = pairs
                .iter()
                .filter(|(k, v)| k == key && !v.trim().is_empty())
                .map(|(_, v)| v)
                .collect();
            if values.len() > 1 {
                errors.push(format!(
                    "{key} is given {} times; give it once",
                    values.len()
                ));
            }
            values.first().map(|v| v.trim().to_string())
        };
        let name = one("range");
        let from = one("from");
        let to = one("to");
        let timeout = one("timeout");
        let format = one("format");
        let date = one("date");
        let year = one("year");
        let limit = one("limit");
        let many = |key: &str| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for (_, v) in pairs.iter().filter(|(k, _)| k == key) {
                for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    if !out.iter().any(|o| o == part) {
                        out.push(part.to_string());
                    }
                }
            }
            out
        };
        // Names may hold commas: filters are repeated, never split.
        let list = |key: &str| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for (_, v) in pairs.iter().filter(|(k, v)| k == key && !v.is_empty()) {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            out
        };
        for (k, _) in &pairs {
            if !KNOWN.contains(&k.as_str()) {
                errors.push(format!(
                    "unknown parameter {k:?} (known: {})",
                    KNOWN[..KNOWN.len() - 1].join(", ")
                ));
            }
        }
        let mut by = Vec::new();
        for d in many("by") {
            match Dim::parse(&d) {
                Some(dim) if !by.contains(&dim) => by.push(dim),
                Some(_) => {}
                None => errors.push(format!(
                    "by: unknown dimension {d:?} (expected one of: {})",
                    Dim::ALL.map(Dim::as_str).join(", ")
                )),
            }
        }
        let filters = Filters {
            project: list("project"),
            branch: list("branch"),
            language: list("language"),
        };
        let custom = name.as_deref() == Some("custom")
            || (name.is_none() && (from.is_some() || to.is_some()));
        let spec = if custom {
            RangeSpec {
                name: None,
                from: from.clone(),
                to: to.clone(),
            }
        } else {
            RangeSpec {
                name: Some(name.unwrap_or_else(|| DEFAULT_RANGE.to_string())),
                from: None,
                to: None,
            }
        };
        if !custom && (from.is_some() || to.is_some()) {
            errors.push("give either range or from/to (with range=custom), not both".to_string());
        }
        let week_start = account.week_start;
        let cal = account.calendar();
        let (start, end) = match range::resolve(&spec, cal, now_ms(), week_start) {
            Ok(r) => r,
            Err(e) => {
                errors.push(range_error(e));
                (0, 0)
            }
        };
        if end > start {
            let days = cal
                .date_of(end - 1)
                .since(cal.date_of(start))
                .map_or(0, |s| i64::from(s.get_days()))
                + 1;
            if days > MAX_DAYS && spec.name.as_deref() != Some("all") {
                errors.push(format!(
                    "the range is {days} days long: the dashboard shows at most {MAX_DAYS} days (ten years); \
                     `tf report` has no limit"
                ));
            }
        }
        let rules = match timeout.as_deref().map(str::parse::<u32>) {
            None => account.rules(),
            Some(Ok(m @ 1..=240)) => Rules {
                timeout_ms: i64::from(m) * 60_000,
                ..account.rules()
            },
            Some(_) => {
                errors.push(format!(
                    "timeout {:?} is not a number of minutes from 1 to 240",
                    timeout.as_deref().unwrap_or("")
                ));
                account.rules()
            }
        };
        let format = match format.as_deref() {
            None | Some("html") => Format::Html,
            Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some(other) => {
                errors.push(format!("format {other:?} is not one of html, json, csv"));
                Format::Html
            }
        };
        let date = match date.as_deref() {
            None => None,
            Some("today") => Some(cal.date_of(now_ms())),
            Some(d) => match d.parse::<Date>() {
                Ok(d) if d.to_string().len() == 10 => Some(d),
                _ => {
                    errors.push(format!("date {d:?} is not a date (YYYY-MM-DD)"));
                    None
                }
            },
        };
        let year = match year.as_deref() {
            None => None,
            Some(y) => match y.parse::<i16>() {
                Ok(y @ 1970..=9998) => Some(y),
                _ => {
                    errors.push(format!("year {y:?} is not a year from 1970 to 9998"));
                    None
                }
            },
        };
        let limit = match limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<usize>() {
                Ok(n @ 1..=MAX_LIMIT) => n,
                _ => {
                    errors.push(format!("limit {l:?} is not a number from 1 to {MAX_LIMIT}"));
                    DEFAULT_LIMIT
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let timeout = timeout.and_then(|t| t.parse().ok());
        Ok(View {
            spec,
            start,
            end,
            by,
            filters,
            timeout,
            rules,
            format,
            date,
            year,
            limit,
        })
    }

    /// Whether this view's range is one local day.
    pub fn days(&self, account: &Account) -> i64 {
        let cal = account.calendar();
        cal.date_of(self.end - 1)
            .since(cal.date_of(self.start))
            .map_or(0, |s| i64::from(s.get_days()))
            + 1
    }

    /// The query string of this view (range, by and filters) with `extra` pairs added, for
    /// links that keep what is shown.
    pub fn query(&self, extra: &[(&str, &str)]) -> String {
        self.query_without(None, extra)
    }

    /// As [`View::query`], leaving out one filter value (`("project", "x")`).
    pub fn query_without(&self, drop: Option<(&str, &str)>, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        match &self.spec.name {
            Some(n) => pairs.push(("range", n)),
            None => {
                pairs.push(("range", "custom"));
                if let Some(f) = &self.spec.from {
                    pairs.push(("from", f));
                }
                if let Some(t) = &self.spec.to {
                    pairs.push(("to", t));
                }
            }
        }
        let timeout = self.timeout.map(|t| t.to_string());
        for d in &self.by {
            pairs.push(("by", d.as_str()));
        }
        for (key, values) in [
            ("project", &self.filters.project),
            ("branch", &self.filters.branch),
            ("language", &self.filters.language),
        ] {
            for v in values {
                if drop != Some((key, v.as_str())) {
                    pairs.push((key, v));
                }
            }
        }
        if let Some(t) = &timeout {
            pairs.push(("timeout", t));
        }
        pairs.extend_from_slice(extra);
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }

    /// The view with one more filter value.
    pub fn with_filter(&self, key: &str, value: &str) -> String {
        self.query(&[(key, value)])
    }
}

/// Range errors in the URL's names rather than the CLI's flags.
fn range_error(e: range::RangeError) -> String {
    match e {
        range::RangeError::UnknownName(n) => format!(
            "range: unknown range {n:?} (expected one of: {}, or custom with from and to)",
            range::RANGE_NAMES.join(", ")
        ),
        range::RangeError::BadBound { flag, value } => {
            format!("{flag}: {value:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time")
        }
        range::RangeError::Conflict => {
            "give either range or from/to (with range=custom), not both".to_string()
        }
        range::RangeError::Empty { from, to } => {
            format!("the range is empty or inverted: from {from} is not before to {to}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use crate::daemon::account::Defaults;

    fn account() -> Account {
        let user = crate::store::User {
            id: 1,
            name: "me".into(),
            created_ms: 0,
            settings: Default::default(),
        };
        Account::resolve(
            &user,
            &Defaults {
                calendar: Calendar::new(jiff::tz::TimeZone::UTC),
                timeout_minutes: None,
                preset: Default::default(),
                week_start: Default::default(),
            },
        )
    }

    fn errors(q: &str) -> String {
        View::parse(Some(q), &account()).unwrap_err().join("\n")
    }

    #[test]
    fn bad_input_is_named() {
        for (q, want) in [
            ("by=colour", "unknown dimension \"colour\""),
            ("range=decade", "unknown range \"decade\""),
            ("from=2026-03-01&to=2026-01-01", "inverted"),
            ("from=1926-01-01&to=2026-01-01", "at most 3660 days"),
            ("range=36500d", "at most 3660 days"),
            ("from=yesterdayish", "neither a date"),
            ("timeout=0", "timeout \"0\""),
            ("timeout=abc", "timeout \"abc\""),
            ("format=xml", "format \"xml\""),
            ("date=2026-02-30", "date \"2026-02-30\""),
            ("year=12", "year \"12\""),
            ("limit=0", "limit \"0\""),
            ("projet=x", "unknown parameter \"projet\""),
            ("range=week&range=month", "range is given 2 times"),
            ("range=week&from=2026-01-01", "not both"),
        ] {
            let e = errors(q);
            assert!(e.contains(want), "{q}: {e}");
        }
        // Several problems are all reported.
        let e = errors("by=colour&range=decade");
        assert!(e.contains("colour") && e.contains("decade"), "{e}");
    }

    #[test]
    fn good_input_round_trips_through_links() {
        let v = View::parse(
            Some("range=custom&from=2026-01-01&to=2026-01-31&by=project,language&project=a%26b&project=c,d&timeout=10"),
            &account(),
        )
        .unwrap();
        assert_eq!(v.by, vec![Dim::Project, Dim::Language]);
        assert_eq!(v.filters.project, vec!["a&b", "c,d"]);
        assert_eq!(v.rules.timeout_ms, 600_000);
        assert_eq!(v.days(&account()), 31);
        let again = View::parse(Some(&v.query(&[])), &account()).unwrap();
        assert_eq!((again.start, again.end), (v.start, v.end));
        assert_eq!(again.filters, v.filters);
        let dropped = View::parse(
            Some(&v.query_without(Some(("project", "a&b")), &[])),
            &account(),
        )
        .unwrap();
        assert_eq!(dropped.filters.project, vec!["c,d"]);
        let default = View::parse(None, &account()).unwrap();
        assert_eq!(default.spec.name.as_deref(), Some(DEFAULT_RANGE));
        assert_eq!(default.format, Format::Html);
    }
}
