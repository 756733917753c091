//! WakaTime's read-side JSON — `statusbar/today`, `summaries`, `stats/{range}`,
//! `all_time_since_today`, `projects`, `users/current` and `heartbeats?date=` — built from
//! [`Report`]s, so the numbers are the daemon's one timeline's.
//!
//! Field names and JSON types follow what clients decode: wakatime-cli's `pkg/summary` structs
//! for `--today` (`Summary`, `Data`, `GrandTotal`, `Category`, `Machine`, `Range`: integers for
//! `hours`/`minutes`/`seconds`, strings for `decimal`/`digital`/`text`), Wakapi's
//! `models/compat/wakatime/v1` view models for the rest, and responses of wakatime.com itself
//! for the text formats:
//! - `text`: "2 hrs 17 mins", "1 hr", "1 min", "49 mins", "7 secs", "0 secs" — hours and minutes,
//!   seconds only under a minute, each truncated, singular for 1, no days ("150 hrs 8 mins");
//! - `decimal`: hours plus whole minutes / 60 to two places ("2.28" for 2:17:36);
//! - `digital`: `H:MM:SS` for items, `H:MM` for grand totals;
//! - instants: UTC, whole seconds, ranges ending on the day's last second
//!   (`2023-01-29T03:00:00Z` .. `2023-01-30T02:59:59Z`).
//!
//! Reports are grouped by [`Dim`]s; a list whose dimension the report lacks is empty.

use super::ingest::HeartbeatData;
use super::range::WakaRange;
use super::{url_encode, utc_ms, utc_seconds};
use crate::calendar::Calendar;
use crate::model::seconds_to_ms;
use crate::report::{Dim, NONE_NAME, Report, Row};
use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// English month names, January first.
pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Whole seconds, robust to float noise (`59.9999999` from ms arithmetic stays 59).
fn whole_seconds(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        seconds_to_ms(seconds).max(0) as u64 / 1000
    } else {
        0
    }
}

fn hms(seconds: f64) -> (u64, u64, u64) {
    let s = whole_seconds(seconds);
    (s / 3600, s % 3600 / 60, s % 60)
}

// The formats below are written by hand rather than with `format!`, and without a `String`
// of their own when serialized (see [`summaries_json`]): a year of `summaries` formats four strings
// for each of tens of thousands of items, and the formatting machinery and allocations cost
// more than the report itself.

/// Writes `n` in decimal.
fn write_number(out: &mut dyn fmt::Write, n: u64) -> fmt::Result {
    out.write_str(itoa::Buffer::new().format(n))
}

/// Writes `n` as two digits (it is below 100).
fn write_two_digits(out: &mut dyn fmt::Write, n: u64) -> fmt::Result {
    out.write_char(char::from(b'0' + (n / 10 % 10) as u8))?;
    out.write_char(char::from(b'0' + (n % 10) as u8))
}

/// WakaTime's human-readable duration: "2 hrs 17 mins", "1 hr", "1 min", "7 secs", "0 secs".
fn write_text(out: &mut dyn fmt::Write, seconds: f64) -> fmt::Result {
    let (h, m, s) = hms(seconds);
    let unit = |out: &mut dyn fmt::Write, n: u64, name: &str| {
        write_number(out, n)?;
        out.write_char(' ')?;
        out.write_str(name)?;
        if n != 1 {
            out.write_char('s')?;
        }
        Ok(())
    };
    match (h, m) {
        (0, 0) => unit(out, s, "sec"),
        (0, m) => unit(out, m, "min"),
        (h, 0) => unit(out, h, "hr"),
        (h, m) => {
            unit(out, h, "hr")?;
            out.write_char(' ')?;
            unit(out, m, "min")
        }
    }
}

/// Hours with two decimals, from whole hours and minutes ("2.28" for 2:17:36), as WakaTime
/// computes it: `h + m / 60` rounded to hundredths. `m / 60` in hundredths is `5m / 3`, whose
/// fraction is a third or two thirds, never a half, so rounding it as an integer gives what
/// rounding the float gives.
fn write_decimal(out: &mut dyn fmt::Write, seconds: f64) -> fmt::Result {
    let (h, m, _) = hms(seconds);
    write_number(out, h)?;
    out.write_char('.')?;
    write_two_digits(out, (10 * m + 3) / 6)
}

/// `H:MM`.
fn write_digital(out: &mut dyn fmt::Write, seconds: f64) -> fmt::Result {
    let (h, m, _) = hms(seconds);
    write_number(out, h)?;
    out.write_char(':')?;
    write_two_digits(out, m)
}

/// `H:MM:SS`.
fn write_digital_hms(out: &mut dyn fmt::Write, seconds: f64) -> fmt::Result {
    write_digital(out, seconds)?;
    out.write_char(':')?;
    write_two_digits(out, hms(seconds).2)
}

/// One of the ways above of writing a duration.
type Writer = fn(&mut dyn fmt::Write, f64) -> fmt::Result;

fn shown(write: Writer, seconds: f64, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    let _ = write(&mut out, seconds);
    out
}

/// WakaTime's human-readable duration: "2 hrs 17 mins", "1 hr", "1 min", "7 secs", "0 secs".
pub fn duration_text(seconds: f64) -> String {
    shown(write_text, seconds, 16)
}

/// Hours with two decimals, from whole hours and minutes ("2.28" for 2:17:36).
pub fn decimal(seconds: f64) -> String {
    shown(write_decimal, seconds, 8)
}

/// `H:MM`.
pub fn digital(seconds: f64) -> String {
    shown(write_digital, seconds, 8)
}

fn digital_hms(seconds: f64) -> String {
    shown(write_digital_hms, seconds, 12)
}

/// A total: wakatime-cli's `summary.GrandTotal`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrandTotal {
    pub decimal: String,
    pub digital: String,
    pub hours: u64,
    pub minutes: u64,
    pub text: String,
    pub total_seconds: f64,
}

/// The grand total of `seconds`.
pub fn grand_total(seconds: f64) -> GrandTotal {
    let (hours, minutes, _) = hms(seconds);
    GrandTotal {
        decimal: decimal(seconds),
        digital: digital(seconds),
        hours,
        minutes,
        text: duration_text(seconds),
        total_seconds: seconds,
    }
}

/// One row of a list (project, language …): wakatime-cli's `summary.Category` and friends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryItem {
    pub name: String,
    pub total_seconds: f64,
    pub percent: f64,
    pub digital: String,
    pub decimal: String,
    pub text: String,
    pub hours: u64,
    pub minutes: u64,
    pub seconds: u64,
    /// Only in `machines` (wakatime-cli's `summary.Machine`); the machine's name serves as id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_name_id: Option<String>,
}

/// An item of `seconds` that is `percent` of its list.
pub fn summary_item(name: &str, seconds: f64, percent: f64) -> SummaryItem {
    named_item(name.to_string(), seconds, percent)
}

fn named_item(name: String, seconds: f64, percent: f64) -> SummaryItem {
    let (hours, minutes, secs) = hms(seconds);
    SummaryItem {
        name,
        total_seconds: seconds,
        percent,
        digital: digital_hms(seconds),
        decimal: decimal(seconds),
        text: duration_text(seconds),
        hours,
        minutes,
        seconds: secs,
        machine_name_id: None,
    }
}

/// The rows of one dimension of a report, empty when the report was not grouped by it.
fn rows(report: &Report, dim: Dim) -> &[Row] {
    named_rows(report, dim.as_str())
}

fn named_rows<'r>(report: &'r Report, field: &str) -> &'r [Row] {
    report
        .by
        .iter()
        .find(|(name, _)| name == field)
        .map_or(&[][..], |(_, rows)| rows.as_slice())
}

/// The time per dependency added by [`super::dependencies::Listed::add_rows`], if any.
fn dependency_items(report: &Report) -> Vec<SummaryItem> {
    named_rows(report, super::dependencies::FIELD)
        .iter()
        .map(|row| {
            let name = display_name(Dim::Entity, &row.name).into_owned();
            named_item(name, row.seconds, row.percent)
        })
        .collect()
}

/// A report's list for one dimension, with WakaTime's names: categories capitalized
/// ("Coding", "Running Tests", "AI Coding"), no language is "Other", any other missing value
/// "Unknown".
pub fn items(report: &Report, dim: Dim) -> Vec<SummaryItem> {
    rows(report, dim)
        .iter()
        .map(|row| {
            let mut item = named_item(
                display_name(dim, &row.name).into_owned(),
                row.seconds,
                row.percent,
            );
            if dim == Dim::Machine {
                item.machine_name_id = Some(item.name.clone());
            }
            item
        })
        .collect()
}

fn display_name(dim: Dim, name: &str) -> Cow<'_, str> {
    Cow::Owned(match dim {
        Dim::Category => name
            .split(' ')
            .map(|w| match w {
                "ai" => "AI".to_string(),
                w => {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect())
                        .unwrap_or_default()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ if name != NONE_NAME => return Cow::Borrowed(name),
        Dim::Language => "Other".to_string(),
        _ => "Unknown".to_string(),
    })
}

/// Seconds in "Other" (unknown) language; WakaTime leaves them out of `total_seconds` in stats
/// and daily averages and reports them in the `…_including_other_language` twins.
fn other_language_seconds(report: &Report) -> f64 {
    rows(report, Dim::Language)
        .iter()
        .filter(|r| r.name == NONE_NAME)
        .map(|r| r.seconds)
        .sum()
}

pub(crate) fn report_bounds(report: &Report) -> (i64, i64) {
    let ms = |s: &str| {
        s.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(0)
    };
    (ms(&report.start), ms(&report.end))
}

/// The last second of a range ending (exclusive) at `end_ms`.
fn utc_end(end_ms: i64) -> String {
    utc_ms(end_ms - 1000)
}

/// "Sun Jan 29th 2023", as in WakaTime's `range.text`.
pub fn date_text(date: Date) -> String {
    let weekday = match date.weekday() {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    };
    let day = date.day();
    let suffix = match (day % 10, day) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    let month = &MONTHS[usize::from(date.month().unsigned_abs() - 1) % 12][..3];
    format!("{weekday} {month} {day}{suffix} {}", date.year())
}

/// A day's range: wakatime-cli's `summary.Range`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRange {
    pub date: String,
    pub start: String,
    pub end: String,
    pub text: String,
    pub timezone: String,
}

/// One day: wakatime-cli's `summary.Data` plus Wakapi's `branches` and `entities`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryDay {
    pub grand_total: GrandTotal,
    pub categories: Vec<SummaryItem>,
    pub projects: Vec<SummaryItem>,
    pub languages: Vec<SummaryItem>,
    pub editors: Vec<SummaryItem>,
    pub operating_systems: Vec<SummaryItem>,
    pub machines: Vec<SummaryItem>,
    pub branches: Vec<SummaryItem>,
    pub entities: Vec<SummaryItem>,
    /// Time per dependency: a file's time counts for each it listed that day.
    pub dependencies: Vec<SummaryItem>,
    pub range: SummaryRange,
}

/// How `range.text` names a day.
#[derive(Clone, Copy)]
enum DayText {
    /// Always the date ("Sun Jan 29th 2023"), as `statusbar/today` does.
    Date,
    /// "Today" and "Yesterday" relative to this date, as `summaries` does.
    RelativeTo(Date),
}

fn day(report: &Report, cal: &Calendar, text: DayText) -> SummaryDay {
    SummaryDay {
        grand_total: grand_total(report.total_seconds),
        categories: items(report, Dim::Category),
        projects: items(report, Dim::Project),
        languages: items(report, Dim::Language),
        editors: items(report, Dim::Editor),
        operating_systems: items(report, Dim::Os),
        machines: items(report, Dim::Machine),
        branches: items(report, Dim::Branch),
        entities: items(report, Dim::Entity),
        dependencies: dependency_items(report),
        range: day_range(report, cal, text),
    }
}

fn day_range(report: &Report, cal: &Calendar, text: DayText) -> SummaryRange {
    let (start_ms, end_ms) = report_bounds(report);
    let date = cal.date_of(start_ms);
    let text = match text {
        DayText::RelativeTo(today) if date == today => "Today".to_string(),
        DayText::RelativeTo(today) if today.yesterday().ok() == Some(date) => {
            "Yesterday".to_string()
        }
        _ => date_text(date),
    };
    SummaryRange {
        date: date.to_string(),
        start: utc_ms(start_ms),
        end: utc_end(end_ms),
        text,
        timezone: cal.tz_name(),
    }
}

/// One day of `summaries`, from a report of that local day.
pub fn summary_day(report: &Report, cal: &Calendar, now_ms: i64) -> SummaryDay {
    day(report, cal, DayText::RelativeTo(cal.date_of(now_ms)))
}

/// `GET /users/current/statusbar/today`: wakatime-cli's `summary.Summary`, which `--today`
/// prints as `data.grand_total.text`, or `"{text} {name}, …"` of `data.categories` when there
/// are two or more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBar {
    pub cached_at: String,
    pub data: SummaryDay,
    pub has_team_features: bool,
}

/// The status bar body for `today`, a report of today grouped by (some of) category, project,
/// language, editor, os, machine.
pub fn statusbar_today(today: &Report, cal: &Calendar, now_ms: i64) -> StatusBar {
    StatusBar {
        cached_at: utc_ms(now_ms),
        data: day(today, cal, DayText::Date),
        has_team_features: false,
    }
}

/// `summaries.cumulative_total`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CumulativeTotal {
    pub decimal: String,
    pub digital: String,
    pub seconds: f64,
    pub text: String,
}

/// A daily average over the days of a range. WakaTime calls days without activity "holidays"
/// and averages over the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyAverage {
    pub days_including_holidays: u64,
    pub days_minus_holidays: u64,
    pub holidays: u64,
    /// Whole seconds per active day, without "Other" language.
    pub seconds: u64,
    pub seconds_including_other_language: u64,
    pub text: String,
    pub text_including_other_language: String,
}

fn daily_average(days: u64, active: u64, known_seconds: f64, all_seconds: f64) -> DailyAverage {
    let per_day = |s: f64| whole_seconds(s).checked_div(active).unwrap_or(0);
    let (seconds, including) = (per_day(known_seconds), per_day(all_seconds));
    DailyAverage {
        days_including_holidays: days,
        days_minus_holidays: active,
        holidays: days.saturating_sub(active),
        seconds,
        seconds_including_other_language: including,
        text: duration_text(seconds as f64),
        text_including_other_language: duration_text(including as f64),
    }
}

/// `GET /users/current/summaries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summaries {
    pub data: Vec<SummaryDay>,
    pub cumulative_total: CumulativeTotal,
    pub daily_average: DailyAverage,
    pub start: String,
    pub end: String,
}

/// The summaries of consecutive days, one report per local day, oldest first (the legacy
/// client's `--today` reads `data[0]`).
pub fn summaries(days: &[Report], cal: &Calendar, now_ms: i64) -> Summaries {
    let today = cal.date_of(now_ms);
    let mut out = summaries_without_days(days);
    out.data = days
        .iter()
        .map(|r| day(r, cal, DayText::RelativeTo(today)))
        .collect();
    out
}

/// Everything of [`summaries`] but its days.
fn summaries_without_days(days: &[Report]) -> Summaries {
    let total: f64 = days.iter().map(|r| r.total_seconds).sum();
    let other: f64 = days.iter().map(other_language_seconds).sum();
    let active = days.iter().filter(|r| r.total_seconds > 0.0).count() as u64;
    let start = days.first().map(|r| utc_ms(report_bounds(r).0));
    let end = days.last().map(|r| utc_end(report_bounds(r).1));
    Summaries {
        data: Vec::new(),
        cumulative_total: CumulativeTotal {
            decimal: decimal(total),
            digital: digital(total),
            seconds: total,
            text: duration_text(total),
        },
        daily_average: daily_average(days.len() as u64, active, total - other, total),
        start: start.unwrap_or_default(),
        end: end.unwrap_or_default(),
    }
}

/// [`summaries`] as JSON, byte for byte what serializing it gives (compact), written straight
/// from the reports: the items of a year (tens of thousands) are never built, so none is
/// allocated or freed, and their constant keys and ASCII durations are copied rather than
/// escaped a byte at a time — that escaping and the per-item formatting cost more than the
/// report itself. Days, totals and names still go through serde_json.
pub fn summaries_json(days: &[Report], cal: &Calendar, now_ms: i64) -> serde_json::Result<Vec<u8>> {
    let rest = summaries_without_days(days);
    let text = DayText::RelativeTo(cal.date_of(now_ms));
    let rows: usize = days
        .iter()
        .map(|r| r.by.iter().map(|(_, rows)| rows.len()).sum::<usize>())
        .sum();
    // About what an item and a day take, so the answer is not copied as it grows.
    let mut out = Vec::with_capacity(rows * 220 + days.len() * 800 + 1024);
    out.extend_from_slice(b"{\"data\":[");
    for (i, report) in days.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_day(&mut out, report, cal, text)?;
    }
    out.extend_from_slice(b"],\"cumulative_total\":");
    serde_json::to_writer(&mut out, &rest.cumulative_total)?;
    out.extend_from_slice(b",\"daily_average\":");
    serde_json::to_writer(&mut out, &rest.daily_average)?;
    out.extend_from_slice(b",\"start\":");
    serde_json::to_writer(&mut out, &rest.start)?;
    out.extend_from_slice(b",\"end\":");
    serde_json::to_writer(&mut out, &rest.end)?;
    out.push(b'}');
    Ok(out)
}

/// A [`SummaryDay`] as serialized.
fn write_day(
    out: &mut Vec<u8>,
    r: &Report,
    cal: &Calendar,
    text: DayText,
) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"grand_total\":");
    serde_json::to_writer(&mut *out, &grand_total(r.total_seconds))?;
    for (field, dim) in [
        (&b",\"categories\":["[..], Dim::Category),
        (b",\"projects\":[", Dim::Project),
        (b",\"languages\":[", Dim::Language),
        (b",\"editors\":[", Dim::Editor),
        (b",\"operating_systems\":[", Dim::Os),
        (b",\"machines\":[", Dim::Machine),
        (b",\"branches\":[", Dim::Branch),
        (b",\"entities\":[", Dim::Entity),
    ] {
        out.extend_from_slice(field);
        for (i, row) in rows(r, dim).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_item(out, row, dim)?;
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"dependencies\":[");
    for (i, row) in named_rows(r, super::dependencies::FIELD).iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Named as they were listed: no dimension renames them.
        write_item(out, row, Dim::Entity)?;
    }
    out.extend_from_slice(b"],\"range\":");
    serde_json::to_writer(&mut *out, &day_range(r, cal, text))?;
    out.push(b'}');
    Ok(())
}

/// A [`SummaryItem`] of `row` as serialized (same fields, same order). The durations are
/// ASCII digits, letters, spaces, ':' and '.', which JSON never escapes.
fn write_item(out: &mut Vec<u8>, row: &Row, dim: Dim) -> serde_json::Result<()> {
    let name = display_name(dim, &row.name);
    let (hours, minutes, seconds) = hms(row.seconds);
    let mut text = String::with_capacity(16);
    out.extend_from_slice(b"{\"name\":");
    serde_json::to_writer(&mut *out, &*name)?;
    out.extend_from_slice(b",\"total_seconds\":");
    serde_json::to_writer(&mut *out, &row.seconds)?;
    out.extend_from_slice(b",\"percent\":");
    serde_json::to_writer(&mut *out, &row.percent)?;
    for (key, write) in [
        (&b",\"digital\":\""[..], write_digital_hms as Writer),
        (b"\",\"decimal\":\"", write_decimal),
        (b"\",\"text\":\"", write_text),
    ] {
        out.extend_from_slice(key);
        text.clear();
        let _ = write(&mut text, row.seconds);
        out.extend_from_slice(text.as_bytes());
    }
    for (key, n) in [
        (&b"\",\"hours\":"[..], hours),
        (b",\"minutes\":", minutes),
        (b",\"seconds\":", seconds),
    ] {
        out.extend_from_slice(key);
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
    if dim == Dim::Machine {
        out.extend_from_slice(b",\"machine_name_id\":");
        serde_json::to_writer(&mut *out, &*name)?;
    }
    out.push(b'}');
    Ok(())
}

/// `stats.best_day`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestDay {
    pub date: String,
    pub text: String,
    pub total_seconds: f64,
}

/// `GET /users/current/stats/{range}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub data: StatsData,
}

/// The fields of a wakatime.com stats response (status `ok`, never "pending": ours are live).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsData {
    pub best_day: Option<BestDay>,
    pub branches: Vec<SummaryItem>,
    pub categories: Vec<SummaryItem>,
    pub daily_average: u64,
    pub daily_average_including_other_language: u64,
    pub days_including_holidays: u64,
    pub days_minus_holidays: u64,
    pub dependencies: Vec<SummaryItem>,
    pub editors: Vec<SummaryItem>,
    pub end: String,
    pub holidays: u64,
    pub human_readable_daily_average: String,
    pub human_readable_daily_average_including_other_language: String,
    pub human_readable_range: String,
    pub human_readable_total: String,
    pub human_readable_total_including_other_language: String,
    pub is_already_updating: bool,
    pub is_coding_activity_visible: bool,
    pub is_including_today: bool,
    pub is_other_usage_visible: bool,
    pub is_stuck: bool,
    pub is_up_to_date: bool,
    pub is_up_to_date_pending_future: bool,
    pub languages: Vec<SummaryItem>,
    pub machines: Vec<SummaryItem>,
    pub operating_systems: Vec<SummaryItem>,
    pub percent_calculated: u8,
    pub projects: Vec<SummaryItem>,
    pub range: String,
    pub start: String,
    pub status: String,
    /// Minutes of the keystroke timeout the durations were computed with.
    pub timeout: u32,
    pub timezone: String,
    /// Without "Other" language, as WakaTime counts it.
    pub total_seconds: f64,
    pub total_seconds_including_other_language: f64,
    pub user_id: String,
    pub username: String,
    pub writes_only: bool,
}

/// What [`stats`] needs.
#[derive(Debug, Clone, Copy)]
pub struct StatsInput<'a> {
    pub range: WakaRange,
    /// The whole range, grouped by the dimensions to list, plus [`Dim::Day`] for the holidays
    /// and the best day. For `all_time`, days before the first active day are not counted.
    pub report: &'a Report,
    pub cal: &'a Calendar,
    pub now_ms: i64,
    pub username: &'a str,
    pub timeout_minutes: u32,
}

/// The stats body for one range.
pub fn stats(input: &StatsInput) -> Stats {
    let report = input.report;
    let (start_ms, end_ms) = report_bounds(report);
    let today = input.cal.date_of(input.now_ms);
    let day_rows = rows(report, Dim::Day);
    let mut first = input.cal.date_of(start_ms);
    let last = input.cal.date_of(end_ms - 1);
    if input.range == WakaRange::AllTime
        && let Some(d) = day_rows
            .iter()
            .filter(|r| r.seconds > 0.0)
            .filter_map(|r| r.name.parse::<Date>().ok())
            .min()
    {
        first = first.max(d);
    }
    let days = if last >= first {
        // Civil days differ by whole days, whatever the DST rules.
        (last.duration_since(first).as_secs() / 86_400 + 1) as u64
    } else {
        0
    };
    // Without a day dimension every day counts as active; with one, only days with time do.
    let has_days = report.by.iter().any(|(dim, _)| dim == Dim::Day.as_str());
    let active = if !has_days {
        days
    } else {
        day_rows.iter().filter(|r| r.seconds > 0.0).count() as u64
    };
    let best_day = day_rows
        .iter()
        .filter(|r| r.seconds > 0.0)
        .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
        .map(|r| BestDay {
            date: r.name.clone(),
            text: duration_text(r.seconds),
            total_seconds: r.seconds,
        });
    let total = report.total_seconds;
    let known = total - other_language_seconds(report);
    let average = daily_average(days, active, known, total);
    Stats {
        data: StatsData {
            best_day,
            branches: items(report, Dim::Branch),
            categories: items(report, Dim::Category),
            daily_average: average.seconds,
            daily_average_including_other_language: average.seconds_including_other_language,
            days_including_holidays: average.days_including_holidays,
            days_minus_holidays: average.days_minus_holidays,
            dependencies: dependency_items(report),
            editors: items(report, Dim::Editor),
            end: utc_end(end_ms),
            holidays: average.holidays,
            human_readable_daily_average: average.text,
            human_readable_daily_average_including_other_language: average
                .text_including_other_language,
            human_readable_range: input.range.human(),
            human_readable_total: duration_text(known),
            human_readable_total_including_other_language: duration_text(total),
            is_already_updating: false,
            is_coding_activity_visible: true,
            is_including_today: first <= today && today <= last,
            is_other_usage_visible: true,
            is_stuck: false,
            is_up_to_date: true,
            is_up_to_date_pending_future: false,
            languages: items(report, Dim::Language),
            machines: items(report, Dim::Machine),
            operating_systems: items(report, Dim::Os),
            percent_calculated: 100,
            projects: items(report, Dim::Project),
            range: input.range.key(),
            start: utc_ms(start_ms),
            status: "ok".to_string(),
            timeout: input.timeout_minutes,
            timezone: input.cal.tz_name(),
            total_seconds: known,
            total_seconds_including_other_language: total,
            user_id: input.username.to_string(),
            username: input.username.to_string(),
            writes_only: false,
        },
    }
}

/// `GET /users/current/all_time_since_today`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllTime {
    pub data: AllTimeData,
}

/// WakaTime's `all_time_since_today` data (Wakapi's `AllTimeData` plus wakatime.com's
/// `decimal`, `digital`, `daily_average` and `percent_calculated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllTimeData {
    pub total_seconds: f64,
    pub text: String,
    pub decimal: String,
    pub digital: String,
    /// Seconds per calendar day of the range.
    pub daily_average: f64,
    pub is_up_to_date: bool,
    pub percent_calculated: u8,
    pub range: AllTimeRange,
}

/// The span `all_time_since_today` covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllTimeRange {
    pub start: String,
    pub start_date: String,
    pub start_text: String,
    pub end: String,
    pub end_date: String,
    pub end_text: String,
    pub timezone: String,
}

/// Total time from `start_ms` (the first heartbeat's day) to `end_ms` (exclusive, normally the
/// start of tomorrow).
pub fn all_time_since_today(
    total_seconds: f64,
    start_ms: i64,
    end_ms: i64,
    cal: &Calendar,
) -> AllTime {
    let first = cal.date_of(start_ms);
    let last = cal.date_of((end_ms - 1).max(start_ms));
    let days = (last.duration_since(first).as_secs() / 86_400 + 1).max(1);
    AllTime {
        data: AllTimeData {
            total_seconds,
            text: duration_text(total_seconds),
            decimal: decimal(total_seconds),
            digital: digital(total_seconds),
            daily_average: (total_seconds / days as f64 * 100.0).round() / 100.0,
            is_up_to_date: true,
            percent_calculated: 100,
            range: AllTimeRange {
                start: utc_ms(start_ms),
                start_date: first.to_string(),
                start_text: date_text(first),
                end: utc_end(end_ms),
                end_date: last.to_string(),
                end_text: date_text(last),
                timezone: cal.tz_name(),
            },
        },
    }
}

/// A project as the daemon knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectInfo {
    pub name: String,
    /// Unix seconds.
    pub first_heartbeat: Option<f64>,
    pub last_heartbeat: Option<f64>,
}

/// `GET /users/current/projects`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projects {
    pub data: Vec<Project>,
}

/// One project, in wakatime.com's field names (`id` is the name, as in Wakapi).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub urlencoded_name: String,
    pub badge: Option<String>,
    pub color: Option<String>,
    pub clients: Vec<String>,
    pub has_public_url: bool,
    pub repository: Option<String>,
    pub created_at: Option<String>,
    pub first_heartbeat_at: Option<String>,
    pub human_readable_first_heartbeat_at: Option<String>,
    pub last_heartbeat_at: Option<String>,
    pub human_readable_last_heartbeat_at: Option<String>,
}

/// The projects list, in the given order.
pub fn projects(list: &[ProjectInfo], now_ms: i64) -> Projects {
    let ago = |t: Option<f64>| t.map(|t| time_ago(now_ms, seconds_to_ms(t)));
    Projects {
        data: list
            .iter()
            .map(|p| Project {
                id: p.name.clone(),
                name: p.name.clone(),
                urlencoded_name: url_encode(&p.name),
                badge: None,
                color: None,
                clients: Vec::new(),
                has_public_url: false,
                repository: None,
                created_at: p.first_heartbeat.map(utc_seconds),
                first_heartbeat_at: p.first_heartbeat.map(utc_seconds),
                human_readable_first_heartbeat_at: ago(p.first_heartbeat),
                last_heartbeat_at: p.last_heartbeat.map(utc_seconds),
                human_readable_last_heartbeat_at: ago(p.last_heartbeat),
            })
            .collect(),
    }
}

/// "just now", "5 minutes ago", "1 hour ago", "3 days ago", "2 months ago", "1 year ago".
pub fn time_ago(now_ms: i64, then_ms: i64) -> String {
    let s = (now_ms - then_ms).max(0) / 1000;
    let (n, unit) = match s {
        0..60 => return "just now".to_string(),
        60..3_600 => (s / 60, "minute"),
        3_600..86_400 => (s / 3_600, "hour"),
        86_400..2_592_000 => (s / 86_400, "day"),
        2_592_000..31_536_000 => (s / 2_592_000, "month"),
        _ => (s / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// What `users/current` says about the local user.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserInfo {
    pub username: String,
    pub timeout_minutes: u32,
    /// Unix seconds of the first heartbeat (stands in for the account's creation).
    pub created_at: Option<f64>,
    pub last_heartbeat_at: Option<f64>,
    /// The newest heartbeat's User-Agent, project and editor.
    pub last_plugin: Option<String>,
    pub last_project: Option<String>,
    pub last_plugin_name: Option<String>,
}

/// `GET /users/current`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub data: UserData,
}

/// wakatime.com's user fields that mean something locally; the rest are empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserData {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub full_name: String,
    pub email: Option<String>,
    pub photo: Option<String>,
    pub website: Option<String>,
    pub location: Option<String>,
    pub timezone: String,
    pub timeout: u32,
    pub writes_only: bool,
    pub is_email_public: bool,
    pub is_email_confirmed: bool,
    pub has_premium_features: bool,
    pub plan: String,
    pub created_at: Option<String>,
    pub modified_at: Option<String>,
    pub last_heartbeat_at: Option<String>,
    pub last_plugin: Option<String>,
    pub last_plugin_name: Option<String>,
    pub last_project: Option<String>,
}

/// The `users/current` body.
pub fn current_user(user: &UserInfo, cal: &Calendar) -> CurrentUser {
    CurrentUser {
        data: UserData {
            id: user.username.clone(),
            username: user.username.clone(),
            display_name: user.username.clone(),
            full_name: user.username.clone(),
            email: None,
            photo: None,
            website: None,
            location: None,
            timezone: cal.tz_name(),
            timeout: user.timeout_minutes,
            writes_only: false,
            is_email_public: false,
            is_email_confirmed: false,
            has_premium_features: false,
            plan: "basic".to_string(),
            created_at: user.created_at.map(utc_seconds),
            modified_at: None,
            last_heartbeat_at: user.last_heartbeat_at.map(utc_seconds),
            last_plugin: user.last_plugin.clone(),
            last_plugin_name: user.last_plugin_name.clone(),
            last_project: user.last_project.clone(),
        },
    }
}

/// `GET /users/current/heartbeats?date=YYYY-MM-DD` (Wakapi's `HeartbeatsResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatList {
    pub data: Vec<HeartbeatData>,
    pub start: String,
    pub end: String,
    pub timezone: String,
}

/// The heartbeats of one local day, oldest first.
pub fn heartbeats_list(data: Vec<HeartbeatData>, date: Date, cal: &Calendar) -> HeartbeatList {
    let (start, end) = cal.bounds(date);
    HeartbeatList {
        data,
        start: utc_ms(start),
        end: utc_end(end),
        timezone: cal.tz_name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Heartbeat;
    use jiff::tz::TimeZone;
    use serde_json::json;

    fn cal(tz: &str) -> Calendar {
        Calendar::new(TimeZone::get(tz).unwrap())
    }

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn row(name: &str, seconds: f64, percent: f64) -> Row {
        Row {
            name: name.into(),
            seconds,
            percent,
        }
    }

    #[test]
    fn duration_formats_match_wakatime() {
        // (seconds, text, decimal, item digital, grand-total digital); from wakatime.com
        // responses (wakatime-cli's statusbar fixture and published summaries).
        let cases = [
            (0.0, "0 secs", "0.00", "0:00:00", "0:00"),
            (0.238, "0 secs", "0.00", "0:00:00", "0:00"),
            (1.0, "1 sec", "0.00", "0:00:01", "0:00"),
            (7.100772, "7 secs", "0.00", "0:00:07", "0:00"),
            (59.999, "59 secs", "0.00", "0:00:59", "0:00"),
            (60.529891, "1 min", "0.02", "0:01:00", "0:01"),
            (176.691, "2 mins", "0.03", "0:02:56", "0:02"),
            (2946.01205, "49 mins", "0.82", "0:49:06", "0:49"),
            (3638.269, "1 hr", "1.00", "1:00:38", "1:00"),
            (4544.055638, "1 hr 15 mins", "1.25", "1:15:44", "1:15"),
            (7447.112447, "2 hrs 4 mins", "2.07", "2:04:07", "2:04"),
            (7260.0, "2 hrs 1 min", "2.02", "2:01:00", "2:01"),
            (8256.598234, "2 hrs 17 mins", "2.28", "2:17:36", "2:17"),
            (
                540_489.013658,
                "150 hrs 8 mins",
                "150.13",
                "150:08:09",
                "150:08",
            ),
            (-5.0, "0 secs", "0.00", "0:00:00", "0:00"),
            (f64::NAN, "0 secs", "0.00", "0:00:00", "0:00"),
        ];
        for (s, text, dec, dig, gt_dig) in cases {
            assert_eq!(duration_text(s), text, "{s}");
            assert_eq!(decimal(s), dec, "{s}");
            assert_eq!(summary_item("x", s, 0.0).digital, dig, "{s}");
            assert_eq!(grand_total(s).digital, gt_dig, "{s}");
        }
        let item = summary_item("Go", 7009.317188, 86.15);
        assert_eq!((item.hours, item.minutes, item.seconds), (1, 56, 49));
    }

    #[test]
    fn hand_written_formats_equal_format_macro() {
        for h in (0u64..200).chain([999, 1_735, 12_345, 1_000_000]) {
            for m in 0..60 {
                for s in [0, 1, 9, 10, 59] {
                    let seconds = (h * 3600 + m * 60 + s) as f64 + 0.25;
                    assert_eq!(
                        decimal(seconds),
                        format!("{:.2}", h as f64 + m as f64 / 60.0)
                    );
                    assert_eq!(digital(seconds), format!("{h}:{m:02}"));
                    assert_eq!(digital_hms(seconds), format!("{h}:{m:02}:{s:02}"));
                }
            }
        }
    }

    #[test]
    fn date_texts() {
        for (date, text) in [
            ("2023-01-29", "Sun Jan 29th 2023"),
            ("2019-09-30", "Mon Sep 30th 2019"),
            ("2024-03-01", "Fri Mar 1st 2024"),
            ("2024-03-02", "Sat Mar 2nd 2024"),
            ("2024-03-03", "Sun Mar 3rd 2024"),
            ("2024-03-11", "Mon Mar 11th 2024"),
            ("2024-03-12", "Tue Mar 12th 2024"),
            ("2024-03-13", "Wed Mar 13th 2024"),
            ("2024-03-21", "Thu Mar 21st 2024"),
            ("2024-03-22", "Fri Mar 22nd 2024"),
            ("2024-03-23", "Sat Mar 23rd 2024"),
            ("2024-12-31", "Tue Dec 31st 2024"),
        ] {
            assert_eq!(date_text(date.parse().unwrap()), text);
        }
    }

    #[test]
    fn names_follow_wakatime() {
        let cases = [
            (Dim::Category, "coding", "Coding"),
            (Dim::Category, "running tests", "Running Tests"),
            (Dim::Category, "ai coding", "AI Coding"),
            (Dim::Language, NONE_NAME, "Other"),
            (Dim::Project, NONE_NAME, "Unknown"),
            (Dim::Editor, "VS Code", "VS Code"),
        ];
        for (dim, name, want) in cases {
            assert_eq!(display_name(dim, name), want);
        }
    }

    /// A day shaped like wakatime-cli's `pkg/summary/testdata/statusbar_today.json`.
    fn sao_paulo_day() -> Report {
        Report {
            start: "2023-01-29T00:00:00-03:00".into(),
            end: "2023-01-30T00:00:00-03:00".into(),
            total_seconds: 8256.598,
            by: vec![
                (
                    "category".into(),
                    vec![row("coding", 8249.498, 99.91), row("debugging", 7.1, 0.09)],
                ),
                (
                    "project".into(),
                    vec![
                        row("wakatime-cli", 7424.621, 89.92),
                        row(NONE_NAME, 831.977, 10.08),
                    ],
                ),
                (
                    "language".into(),
                    vec![row("Go", 7009.317, 84.89), row(NONE_NAME, 1247.281, 15.11)],
                ),
                ("editor".into(), vec![row("VS Code", 8256.598, 100.0)]),
                ("os".into(), vec![row("macOS", 8256.598, 100.0)]),
                ("machine".into(), vec![row("WakaMachine", 8256.598, 100.0)]),
            ],
        }
    }

    /// Mirrors of wakatime-cli's `pkg/summary` structs (`Summary`, `Data`, `GrandTotal`,
    /// `Category` — which `Editor`, `Language`, `Project`, `OperatingSystem`, `Dependency` repeat —
    /// `Machine` and `Range`), with Go's `int` as `i64`: decoding into them fails on a missing
    /// field or a wrong JSON type, as Go's `json.Unmarshal` into those fields would.
    mod go {
        use serde::Deserialize;

        #[derive(Deserialize)]
        pub struct Summary {
            #[allow(dead_code)]
            pub cached_at: String,
            pub data: Data,
            #[allow(dead_code)]
            pub has_team_features: bool,
        }
        #[derive(Deserialize)]
        pub struct Data {
            pub categories: Vec<Category>,
            pub dependencies: Vec<Category>,
            pub editors: Vec<Category>,
            pub grand_total: GrandTotal,
            pub languages: Vec<Category>,
            pub machines: Vec<Machine>,
            pub operating_systems: Vec<Category>,
            pub projects: Vec<Category>,
            pub range: Range,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        pub struct Category {
            pub decimal: String,
            pub digital: String,
            pub hours: i64,
            pub minutes: i64,
            pub name: String,
            pub percent: f64,
            pub seconds: i64,
            pub text: String,
            pub total_seconds: f64,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        pub struct Machine {
            pub decimal: String,
            pub digital: String,
            pub hours: i64,
            pub machine_name_id: String,
            pub minutes: i64,
            pub name: String,
            pub percent: f64,
            pub seconds: i64,
            pub text: String,
            pub total_seconds: f64,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        pub struct GrandTotal {
            pub decimal: String,
            pub digital: String,
            pub hours: i64,
            pub minutes: i64,
            pub text: String,
            pub total_seconds: f64,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        pub struct Range {
            pub date: String,
            pub end: String,
            pub start: String,
            pub text: String,
            pub timezone: String,
        }
    }

    #[test]
    fn statusbar_today_golden() {
        let c = cal("America/Sao_Paulo");
        let now = ms("2023-01-29T17:32:05Z");
        let body = serde_json::to_value(statusbar_today(&sao_paulo_day(), &c, now)).unwrap();
        let item = |name: &str, total: f64, pct: f64, dec: &str, dig: &str, h, m, s, text: &str| {
            json!({"name": name, "total_seconds": total, "percent": pct, "digital": dig,
                   "decimal": dec, "text": text, "hours": h, "minutes": m, "seconds": s})
        };
        let everything = |name: &str| {
            item(
                name,
                8256.598,
                100.0,
                "2.28",
                "2:17:36",
                2,
                17,
                36,
                "2 hrs 17 mins",
            )
        };
        let mut machine = everything("WakaMachine");
        machine["machine_name_id"] = json!("WakaMachine");
        let want = json!({
            "cached_at": "2023-01-29T17:32:05Z",
            "data": {
                "grand_total": {"decimal": "2.28", "digital": "2:17", "hours": 2, "minutes": 17,
                                "text": "2 hrs 17 mins", "total_seconds": 8256.598},
                "categories": [
                    item("Coding", 8249.498, 99.91, "2.28", "2:17:29", 2, 17, 29, "2 hrs 17 mins"),
                    item("Debugging", 7.1, 0.09, "0.00", "0:00:07", 0, 0, 7, "7 secs"),
                ],
                "projects": [
                    item("wakatime-cli", 7424.621, 89.92, "2.05", "2:03:44", 2, 3, 44, "2 hrs 3 mins"),
                    item("Unknown", 831.977, 10.08, "0.22", "0:13:51", 0, 13, 51, "13 mins"),
                ],
                "languages": [
                    item("Go", 7009.317, 84.89, "1.93", "1:56:49", 1, 56, 49, "1 hr 56 mins"),
                    item("Other", 1247.281, 15.11, "0.33", "0:20:47", 0, 20, 47, "20 mins"),
                ],
                "editors": [everything("VS Code")],
                "operating_systems": [everything("macOS")],
                "machines": [machine],
                "branches": [],
                "entities": [],
                "dependencies": [],
                "range": {"date": "2023-01-29", "start": "2023-01-29T03:00:00Z",
                          "end": "2023-01-30T02:59:59Z", "text": "Sun Jan 29th 2023",
                          "timezone": "America/Sao_Paulo"}
            },
            "has_team_features": false
        });
        assert_eq!(body, want);

        // Decodes into wakatime-cli's structs, and `--today` would print the categories.
        let parsed: go::Summary = serde_json::from_value(body).unwrap();
        assert_eq!(parsed.data.grand_total.text, "2 hrs 17 mins");
        let today: Vec<String> = parsed
            .data
            .categories
            .iter()
            .map(|c| format!("{} {}", c.text, c.name))
            .collect();
        assert_eq!(today.join(", "), "2 hrs 17 mins Coding, 7 secs Debugging");
        assert_eq!(parsed.data.machines[0].machine_name_id, "WakaMachine");
        assert_eq!(parsed.data.range.date, "2023-01-29");
        let _ = (
            &parsed.data.dependencies,
            &parsed.data.editors,
            &parsed.data.languages,
            &parsed.data.operating_systems,
            &parsed.data.projects,
        );
    }

    #[test]
    fn an_empty_day_still_decodes() {
        let c = cal("UTC");
        let empty = Report {
            start: "2024-06-01T00:00:00+00:00".into(),
            end: "2024-06-02T00:00:00+00:00".into(),
            total_seconds: 0.0,
            by: vec![],
        };
        let body =
            serde_json::to_value(statusbar_today(&empty, &c, ms("2024-06-01T10:00:00Z"))).unwrap();
        assert_eq!(body["data"]["grand_total"]["text"], "0 secs");
        assert_eq!(body["data"]["categories"], json!([]));
        assert_eq!(body["data"]["range"]["timezone"], "UTC");
        let _: go::Summary = serde_json::from_value(body).unwrap();
    }

    fn day_report(date: &str, seconds: f64, other_language: f64) -> Report {
        let next = date.parse::<Date>().unwrap().tomorrow().unwrap();
        let mut languages = vec![];
        if seconds > other_language {
            languages.push(row("Rust", seconds - other_language, 0.0));
        }
        if other_language > 0.0 {
            languages.push(row(NONE_NAME, other_language, 0.0));
        }
        Report {
            start: format!("{date}T00:00:00+02:00"),
            end: format!("{next}T00:00:00+02:00"),
            total_seconds: seconds,
            by: vec![("language".into(), languages), ("category".into(), vec![])],
        }
    }

    #[test]
    fn summaries_golden() {
        let c = cal("Europe/Berlin");
        let now = ms("2024-06-03T12:00:00Z");
        let days = [
            day_report("2024-06-01", 3600.0, 600.0),
            day_report("2024-06-02", 0.0, 0.0),
            day_report("2024-06-03", 1800.0, 0.0),
        ];
        let body = serde_json::to_value(summaries(&days, &c, now)).unwrap();
        assert_eq!(body["start"], "2024-05-31T22:00:00Z");
        assert_eq!(body["end"], "2024-06-03T21:59:59Z");
        assert_eq!(
            body["cumulative_total"],
            json!({"decimal": "1.50", "digital": "1:30", "seconds": 5400.0,
                   "text": "1 hr 30 mins"})
        );
        assert_eq!(
            body["daily_average"],
            json!({"days_including_holidays": 3, "days_minus_holidays": 2, "holidays": 1,
                   "seconds": 2400, "seconds_including_other_language": 2700,
                   "text": "40 mins", "text_including_other_language": "45 mins"})
        );
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 3);
        let texts: Vec<&str> = data
            .iter()
            .map(|d| d["range"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["Sat Jun 1st 2024", "Yesterday", "Today"]);
        assert_eq!(
            data[0]["range"],
            json!({"date": "2024-06-01", "start": "2024-05-31T22:00:00Z",
                   "end": "2024-06-01T21:59:59Z", "text": "Sat Jun 1st 2024",
                   "timezone": "Europe/Berlin"})
        );
        assert_eq!(data[0]["languages"][1]["name"], "Other");
        // Every day has every list WakaTime (and Wakapi) sends.
        for d in data {
            for key in [
                "grand_total",
                "categories",
                "projects",
                "languages",
                "editors",
                "operating_systems",
                "machines",
                "branches",
                "entities",
                "dependencies",
                "range",
            ] {
                assert!(d.get(key).is_some(), "{key}");
            }
        }
        // The legacy Python client's `--today`: data[0], grand_total.text when < 2 categories.
        let one = serde_json::to_value(summaries(&days[2..], &c, now)).unwrap();
        assert_eq!(one["data"][0]["grand_total"]["text"], "30 mins");
        let empty = serde_json::to_value(summaries(&[], &c, now)).unwrap();
        assert_eq!(empty["daily_average"]["seconds"], 0);
        assert_eq!(empty["start"], "");
    }

    #[test]
    fn summaries_json_is_the_serialized_summaries() {
        let c = cal("Europe/Berlin");
        let now = ms("2024-06-03T12:00:00Z");
        let mut rich = sao_paulo_day();
        rich.by.push((
            "machine".into(),
            vec![row("laptop", 600.0, 60.0), row(NONE_NAME, 400.0, 40.0)],
        ));
        rich.by.push((
            "entity".into(),
            vec![row("/src/\"quoted\"\n.rs", 1000.0, 100.0)],
        ));
        let days = [
            day_report("2024-06-01", 3600.0, 600.0),
            rich,
            day_report("2024-06-02", 0.0, 0.0),
            day_report("2024-06-03", 1800.0, 0.0),
        ];
        for n in 0..=days.len() {
            assert_eq!(
                String::from_utf8(summaries_json(&days[..n], &c, now).unwrap()).unwrap(),
                serde_json::to_string(&summaries(&days[..n], &c, now)).unwrap()
            );
        }
    }

    #[test]
    fn stats_counts_holidays_and_other_language() {
        let c = cal("America/Los_Angeles");
        let report = Report {
            start: "2024-06-01T00:00:00-07:00".into(),
            end: "2024-06-08T00:00:00-07:00".into(),
            total_seconds: 10_000.0,
            by: vec![
                (
                    "language".into(),
                    vec![row("Rust", 9_000.0, 90.0), row(NONE_NAME, 1_000.0, 10.0)],
                ),
                (
                    "day".into(),
                    vec![
                        row("2024-06-01", 4_000.0, 40.0),
                        row("2024-06-03", 5_000.0, 50.0),
                        row("2024-06-07", 1_000.0, 10.0),
                    ],
                ),
                ("project".into(), vec![row("tf", 10_000.0, 100.0)]),
            ],
        };
        let input = StatsInput {
            range: WakaRange::LastDays(7),
            report: &report,
            cal: &c,
            now_ms: ms("2024-06-07T20:00:00Z"),
            username: "me",
            timeout_minutes: 15,
        };
        let body = serde_json::to_value(stats(&input)).unwrap();
        let d = &body["data"];
        let expect = [
            ("range", json!("last_7_days")),
            ("human_readable_range", json!("last 7 days")),
            ("start", json!("2024-06-01T07:00:00Z")),
            ("end", json!("2024-06-08T06:59:59Z")),
            ("timezone", json!("America/Los_Angeles")),
            ("total_seconds", json!(9_000.0)),
            ("total_seconds_including_other_language", json!(10_000.0)),
            ("human_readable_total", json!("2 hrs 30 mins")),
            (
                "human_readable_total_including_other_language",
                json!("2 hrs 46 mins"),
            ),
            ("days_including_holidays", json!(7)),
            ("days_minus_holidays", json!(3)),
            ("holidays", json!(4)),
            ("daily_average", json!(3000)),
            ("daily_average_including_other_language", json!(3333)),
            ("human_readable_daily_average", json!("50 mins")),
            ("is_including_today", json!(true)),
            ("is_up_to_date", json!(true)),
            ("status", json!("ok")),
            ("timeout", json!(15)),
            ("username", json!("me")),
            (
                "best_day",
                json!({"date": "2024-06-03", "text": "1 hr 23 mins", "total_seconds": 5_000.0}),
            ),
        ];
        for (key, want) in expect {
            assert_eq!(d[key], want, "{key}");
        }
        assert_eq!(d["projects"][0]["name"], "tf");
        assert_eq!(d["editors"], json!([]));

        // all_time counts from the first active day, not from 1970.
        let mut all = report.clone();
        all.start = "1970-01-01T00:00:00-08:00".into();
        let input = StatsInput {
            range: WakaRange::AllTime,
            report: &all,
            ..input
        };
        let d = serde_json::to_value(stats(&input)).unwrap()["data"].clone();
        assert_eq!(d["days_including_holidays"], 7);
        assert_eq!(d["range"], "all_time");
    }

    #[test]
    fn all_time_golden() {
        let c = cal("UTC");
        let body = serde_json::to_value(all_time_since_today(
            540_489.0,
            ms("2024-01-01T00:00:00Z"),
            ms("2024-01-11T00:00:00Z"),
            &c,
        ))
        .unwrap();
        assert_eq!(
            body,
            json!({"data": {
                "total_seconds": 540_489.0, "text": "150 hrs 8 mins", "decimal": "150.13",
                "digital": "150:08", "daily_average": 54_048.9, "is_up_to_date": true,
                "percent_calculated": 100,
                "range": {"start": "2024-01-01T00:00:00Z", "start_date": "2024-01-01",
                          "start_text": "Mon Jan 1st 2024", "end": "2024-01-10T23:59:59Z",
                          "end_date": "2024-01-10", "end_text": "Wed Jan 10th 2024",
                          "timezone": "UTC"}
            }})
        );
    }

    #[test]
    fn projects_user_and_heartbeats() {
        let now = ms("2024-06-10T12:00:00Z");
        let list = [ProjectInfo {
            name: "my project".into(),
            first_heartbeat: Some(1_700_000_000.0),
            last_heartbeat: Some(now as f64 / 1000.0 - 7_200.0),
        }];
        let body = serde_json::to_value(projects(&list, now)).unwrap();
        let p = &body["data"][0];
        assert_eq!(p["id"], "my project");
        assert_eq!(p["urlencoded_name"], "my+project");
        assert_eq!(p["created_at"], "2023-11-14T22:13:20Z");
        assert_eq!(p["last_heartbeat_at"], "2024-06-10T10:00:00Z");
        assert_eq!(p["human_readable_last_heartbeat_at"], "2 hours ago");
        assert_eq!(p["color"], json!(null));

        let c = cal("Europe/Berlin");
        let user = UserInfo {
            username: "me".into(),
            timeout_minutes: 15,
            created_at: Some(1_700_000_000.0),
            last_heartbeat_at: Some(1_700_000_060.0),
            last_plugin: Some("wakatime/v1.90.0 (linux) go1.22 vim/9 vim-wakatime/11".into()),
            last_project: Some("tf".into()),
            last_plugin_name: Some("Vim".into()),
        };
        let u = serde_json::to_value(current_user(&user, &c)).unwrap();
        assert_eq!(u["data"]["username"], "me");
        assert_eq!(u["data"]["timezone"], "Europe/Berlin");
        assert_eq!(u["data"]["last_heartbeat_at"], "2023-11-14T22:14:20Z");
        assert_eq!(u["data"]["last_project"], "tf");
        assert_eq!(u["data"]["email"], json!(null));

        let h = Heartbeat::new(1_717_970_400.0, "/a.rs");
        let data = vec![HeartbeatData::new(&h, "1")];
        let list = heartbeats_list(data, "2024-06-10".parse().unwrap(), &c);
        let v = serde_json::to_value(list).unwrap();
        assert_eq!(v["start"], "2024-06-09T22:00:00Z");
        assert_eq!(v["end"], "2024-06-10T21:59:59Z");
        assert_eq!(v["timezone"], "Europe/Berlin");
        assert_eq!(v["data"][0]["entity"], "/a.rs");
        assert_eq!(v["data"][0]["type"], "file");
    }

    #[test]
    fn time_ago_reads_naturally() {
        let now = 1_000_000_000_000;
        for (secs, text) in [
            (5, "just now"),
            (60, "1 minute ago"),
            (150, "2 minutes ago"),
            (3_600, "1 hour ago"),
            (86_400 * 3, "3 days ago"),
            (86_400 * 65, "2 months ago"),
            (86_400 * 400, "1 year ago"),
            (-50, "just now"),
        ] {
            assert_eq!(time_ago(now, now - secs * 1000), text, "{secs}");
        }
    }
}
