//! Downloads of what a page shows: JSON in the shapes `tf report --json`, `tf sessions
//! --json`, `tf branches --json` and `tf commits --json` print, and CSV (the overview's and a
//! dimension's are `tf report --csv`'s).

use super::data::{Day, Project, Year};
use crate::cli::format::csv_field;
use crate::report::{Report, Session};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;

/// A name safe in a file name and a header: letters, digits, `-` and `_`, at most 60.
pub fn file_name_part(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if clean.is_empty() { "_".into() } else { clean }
}

fn download(body: String, content_type: &'static str, name: &str, ext: &str) -> Response {
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    let disposition = format!(
        "attachment; filename=\"timeforged-{}.{ext}\"",
        file_name_part(name)
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

pub fn json<T: serde::Serialize>(value: &T, name: &str) -> Response {
    match serde_json::to_string_pretty(value) {
        Ok(mut s) => {
            s.push('\n');
            download(s, "application/json", name, "json")
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn csv(body: String, name: &str) -> Response {
    download(body, "text/csv; charset=utf-8", name, "csv")
}

/// `tf report --csv`: `dimension,name,seconds,percent`, the total first.
pub fn report_text(report: &Report) -> String {
    let mut out = String::from("dimension,name,seconds,percent\n");
    let _ = writeln!(out, "total,,{},100", report.total_seconds);
    for (dim, rows) in &report.by {
        for r in rows {
            let _ = writeln!(
                out,
                "{dim},{},{},{}",
                csv_field(&r.name),
                r.seconds,
                r.percent
            );
        }
    }
    out
}

pub fn report_csv(report: &Report, name: &str) -> Response {
    csv(report_text(report), name)
}

fn sessions_text(sessions: &[Session]) -> String {
    let mut out = String::from("start,end,seconds,project,branch\n");
    for s in sessions {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            s.start,
            s.end,
            s.seconds,
            csv_field(&s.project),
            csv_field(&s.branch)
        );
    }
    out
}

pub fn sessions_csv(sessions: &[Session], name: &str) -> Response {
    csv(sessions_text(sessions), name)
}

/// The day's report, then its stretches of time and its sessions, each under its own header.
pub fn day_csv(day: &Day, name: &str) -> Response {
    let mut out = report_text(&day.report);
    out.push_str("\nstart,end,seconds,project\n");
    for s in &day.segments {
        let _ = writeln!(
            out,
            "{},{},{},{}",
            s.start_unix,
            s.end_unix,
            s.end_unix - s.start_unix,
            csv_field(&s.project)
        );
    }
    out.push('\n');
    out.push_str(&sessions_text(&day.sessions));
    csv(out, name)
}

pub fn year_csv(year: &Year, name: &str) -> Response {
    let mut out = String::from("date,seconds\n");
    for d in &year.days {
        let _ = writeln!(out, "{},{}", d.date, d.seconds);
    }
    csv(out, name)
}

/// The project's report, then its branches and its commits.
pub fn project_csv(p: &Project, name: &str) -> Response {
    let mut out = report_text(&p.report);
    out.push_str("\nbranch,ticket,seconds,first,last,commits\n");
    for b in &p.branches {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            csv_field(&b.branch),
            csv_field(b.ticket.as_deref().unwrap_or("")),
            b.seconds,
            b.first.as_deref().unwrap_or(""),
            b.last.as_deref().unwrap_or(""),
            b.commits
        );
    }
    out.push_str("\ntime,branch,sha,summary,seconds,merge\n");
    for c in &p.commits {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            c.time,
            csv_field(c.branch.as_deref().unwrap_or("")),
            c.sha,
            csv_field(c.summary.as_deref().unwrap_or("")),
            c.seconds,
            c.merge
        );
    }
    csv(out, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Row;

    #[test]
    fn report_csv_is_tf_reports() {
        let r = Report {
            start: "a".into(),
            end: "b".into(),
            total_seconds: 90.0,
            by: vec![(
                "project".into(),
                vec![Row {
                    name: "x,\"y\"".into(),
                    seconds: 90.0,
                    percent: 100.0,
                }],
            )],
        };
        assert_eq!(
            report_text(&r),
            "dimension,name,seconds,percent\ntotal,,90,100\nproject,\"x,\"\"y\"\"\",90,100\n"
        );
    }

    #[test]
    fn file_names_are_plain() {
        assert_eq!(file_name_part("a/b <c>"), "a_b__c_");
        assert_eq!(file_name_part(""), "_");
        assert_eq!(file_name_part(&"é".repeat(100)).len(), 60);
    }
}
