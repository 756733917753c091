//! The pages: a shared layout (navigation, range picker, filters, downloads), then one
//! handler per page that reads its data in one snapshot and renders it, or hands it to
//! [`super::export`] when the URL asks for `format=json|csv`. A request with `X-TF-Partial`
//! gets only the page's `<main>`, which the live script swaps in.

use super::assets;
use super::auth::{self, Viewer};
use super::charts::{self, Cell, Column, Palette};
use super::data;
use super::export;
use super::params::{self, Format, PICKER, View};
use crate::calendar::now_ms;
use crate::cli::format::duration;
use crate::daemon::account::Account;
use crate::daemon::http::{Api, Shared};
use crate::daemon::query;
use crate::daemon::writer::WriteError;
use crate::report::ai::{LaneSpans, Lanes};
use crate::report::{Dim, NONE_NAME, Report, Row};
use crate::store::StoreError;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::{Date, Weekday};
use maud::{DOCTYPE, Markup, html};
use std::time::Instant;

/// Bars an overview chart shows before "all N".
const TOP: usize = 10;

/// Which navigation entry a page is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nav {
    Overview,
    Day,
    Calendar,
    Sessions,
    Projects,
    Account,
    None,
}

struct Page {
    title: String,
    nav: Nav,
    body: Markup,
}

/// What a page handler starts with: the viewer, the parsed query, and when it began.
struct Ask {
    viewer: Viewer,
    view: View,
    partial: bool,
    started: Instant,
}

fn ask(viewer: Viewer, q: Option<String>, headers: &HeaderMap) -> Result<Ask, Response> {
    let started = Instant::now();
    let partial = headers.contains_key("x-tf-partial");
    match View::parse(q.as_deref(), &viewer.account) {
        Ok(view) => Ok(Ask {
            viewer,
            view,
            partial,
            started,
        }),
        Err(errors) => Err(bad_request(&viewer, &errors)),
    }
}

fn dim_title(dim: &str) -> &'static str {
    match dim {
        "project" => "Projects",
        "language" => "Languages",
        "branch" => "Branches",
        "ticket" => "Tickets",
        "category" => "Categories",
        "entity" => "Files",
        "editor" => "Editors",
        "machine" => "Machines",
        "os" => "Operating systems",
        "source" => "Sources",
        "day" => "Days",
        _ => "Rows",
    }
}

fn project_url(name: &str, view: &View) -> String {
    format!(
        "/project/{}?{}",
        encode_segment(name),
        view.query_without(None, &[])
    )
}

/// A path segment: everything but unreserved characters percent-encoded (`/` too).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a bar of `dim` named `name` leads from `path`: a project to its page; a branch or
/// language to the same page filtered by it; other dimensions cannot be filtered.
fn bar_link(dim: Dim, name: &str, path: &str, view: &View) -> Option<String> {
    if name == NONE_NAME {
        return None;
    }
    match dim {
        Dim::Project => Some(project_url(name, view)),
        Dim::Branch | Dim::Language => {
            Some(format!("{path}?{}", view.with_filter(dim.as_str(), name)))
        }
        Dim::Day => Some(format!("/day?{}", view.query(&[("date", name)]))),
        _ => None,
    }
}

fn clock(account: &Account, ms: i64) -> String {
    account.calendar().zoned(ms).strftime("%H:%M").to_string()
}

fn date_time(account: &Account, ms: i64) -> String {
    account
        .calendar()
        .zoned(ms)
        .strftime("%a %-d %b %Y %H:%M")
        .to_string()
}

fn long_date(d: Date) -> String {
    d.strftime("%a %-d %b %Y").to_string()
}

/// "Mon 17 Nov 2025 – Sun 23 Nov 2025", or one date.
fn range_label(account: &Account, view: &View) -> String {
    let cal = account.calendar();
    let (a, b) = (cal.date_of(view.start), cal.date_of(view.end - 1));
    let whole = cal.start_of(a) == view.start && cal.bounds(b).1 == view.end;
    if !whole {
        return format!(
            "{} – {}",
            date_time(account, view.start),
            date_time(account, view.end)
        );
    }
    if a == b {
        long_date(a)
    } else {
        format!("{} – {}", long_date(a), long_date(b))
    }
}

// ---------------------------------------------------------------------------------------------
// Layout

fn layout(viewer: Option<&Viewer>, page: Page, live: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (page.title) " · TimeForged" }
                link rel="stylesheet" href=(assets::url("style.css"));
                link rel="icon" href=(assets::url("favicon.svg")) type="image/svg+xml";
                @if live { script src=(assets::url("live.js")) defer {} }
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/" { "TimeForged" }
                    @if let Some(v) = viewer {
                        nav aria-label="Pages" {
                            ul {
                                @for (nav, href, label) in [
                                    (Nav::Overview, "/", "Overview"),
                                    (Nav::Day, "/day", "Day"),
                                    (Nav::Calendar, "/calendar", "Calendar"),
                                    (Nav::Sessions, "/sessions", "Sessions"),
                                    (Nav::Projects, "/by/project", "Projects"),
                                    (Nav::Account, "/account", "Account"),
                                ] {
                                    li { a href=(href) aria-current=[(page.nav == nav).then_some("page")] { (label) } }
                                }
                            }
                        }
                        form.signout method="post" action="/sign-out" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            button type="submit" { "Sign out " span.who { (v.account.name) } }
                        }
                    }
                }
                main #main tabindex="-1" { (page.body) }
                footer {
                    @if live { p #live role="status" aria-live="polite" { "Live: updates as you work." } }
                    p { "TimeForged " (env!("CARGO_PKG_VERSION")) }
                }
            }
        }
    }
}

fn html_response(status: StatusCode, markup: Markup, started: Option<Instant>) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    if let Some(t) = started
        && let Ok(v) = HeaderValue::from_str(&format!(
            "render;dur={:.2}",
            t.elapsed().as_secs_f64() * 1000.0
        ))
    {
        r.headers_mut().insert("server-timing", v);
    }
    r
}

fn render(a: &Ask, page: Page) -> Response {
    let markup = if a.partial {
        page.body
    } else {
        layout(Some(&a.viewer), page, true)
    };
    html_response(StatusCode::OK, markup, Some(a.started))
}

/// A page with a message and no navigation (sign-in problems, refused forms).
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let page = Page {
        title: title.to_string(),
        nav: Nav::None,
        body: html! {
            h1 { (title) }
            p { (text) }
            p { a href="/" { "Go to the dashboard" } }
        },
    };
    html_response(status, layout(None, page, false), None)
}

/// Bad query parameters: what is wrong, and a way out. Never a 500.
fn bad_request(viewer: &Viewer, errors: &[String]) -> Response {
    let page = Page {
        title: "Bad request".into(),
        nav: Nav::None,
        body: html! {
            h1 { "This page cannot be shown" }
            p { "The address asks for something the dashboard does not understand:" }
            ul.errors { @for e in errors { li { (e) } } }
            p { a href="/" { "Show this week instead" } }
        },
    };
    html_response(
        StatusCode::BAD_REQUEST,
        layout(Some(viewer), page, false),
        None,
    )
}

pub fn store_error(e: StoreError) -> Response {
    let status = if e.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    tracing::warn!("web: {e}");
    message(status, "The database is not available", &e.to_string())
}

pub fn write_error(e: WriteError) -> Response {
    match e {
        WriteError::Store(e) => store_error(e),
        WriteError::ShuttingDown => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Shutting down",
            "TimeForged is stopping; try again once it is back.",
        ),
    }
}

fn not_found(viewer: &Viewer, what: &str) -> Response {
    let page = Page {
        title: "Not found".into(),
        nav: Nav::None,
        body: html! { h1 { "Not found" } p { (what) } p { a href="/" { "Go to the overview" } } },
    };
    html_response(
        StatusCode::NOT_FOUND,
        layout(Some(viewer), page, false),
        None,
    )
}

pub fn sign_in(
    status: StatusCode,
    local: bool,
    next: &str,
    pre: &str,
    note: Option<&str>,
) -> Response {
    let page = Page {
        title: "Sign in".into(),
        nav: Nav::None,
        body: html! {
            h1 { "Sign in" }
            @if let Some(n) = note { p.note role="alert" { (n) } }
            @if local {
                p { "Run " code { "tf web" } " in a terminal: it opens this dashboard signed in." }
            } @else {
                p { "Sign in with your API key, or open a sign-in link from your administrator ("
                    code { "timeforged user login-link NAME" } ")." }
            }
            form.signin method="post" action="/sign-in" {
                input type="hidden" name="pre" value=(pre);
                input type="hidden" name="next" value=(next);
                label for="key" { "API key" @if local { " (" code { "tf apikey" } ")" } }
                input #key name="key" type="password" autocomplete="current-password" required
                    spellcheck="false" placeholder="xxxxxxxx-xxxx-4xxx-xxxx-xxxxxxxxxxxx";
                button type="submit" { "Sign in" }
            }
        },
    };
    html_response(status, layout(None, page, false), None)
}

/// After a sign-in: a page that moves on to `next` by itself (see `auth::start_session`).
pub fn signed_in(next: &str) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content={ "0;url=" (next) };
                title { "Signed in · TimeForged" }
                link rel="stylesheet" href=(assets::url("style.css"));
            }
            body { main #main { p { "Signed in. " a href=(next) { "Continue to the dashboard" } } } }
        }
    };
    html_response(StatusCode::OK, markup, None)
}

// ---------------------------------------------------------------------------------------------
// Shared parts

fn range_picker(path: &str, view: &View, account: &Account) -> Markup {
    let cal = account.calendar();
    let from = cal.date_of(view.start).to_string();
    let to = cal.date_of(view.end - 1).to_string();
    let current = view.spec.name.as_deref();
    html! {
        form.picker method="get" action=(path) aria-label="Range" {
            ul.ranges {
                @for (name, label) in PICKER {
                    li { a href={ (path) "?" (View { spec: crate::report::RangeSpec::named(name), ..view.clone() }.query(&[])) }
                        aria-current=[(current == Some(name)).then_some("true")] { (label) } }
                }
            }
            span.custom {
                input type="hidden" name="range" value="custom";
                label { "From " input type="date" name="from" value=(from); }
                label { "To " input type="date" name="to" value=(to); }
                @for d in &view.by { input type="hidden" name="by" value=(d.as_str()); }
                @for (key, values) in [("project", &view.filters.project), ("branch", &view.filters.branch), ("language", &view.filters.language)] {
                    @for v in values { input type="hidden" name=(key) value=(v); }
                }
                @if let Some(t) = view.timeout { input type="hidden" name="timeout" value=(t); }
                button type="submit" { "Show" }
            }
        }
    }
}

fn filters(path: &str, view: &View) -> Markup {
    let active: Vec<(&str, &String)> = [
        ("project", &view.filters.project),
        ("branch", &view.filters.branch),
        ("language", &view.filters.language),
    ]
    .into_iter()
    .flat_map(|(k, vs)| vs.iter().map(move |v| (k, v)))
    .collect();
    html! {
        @if !active.is_empty() || view.timeout.is_some() {
            ul.filters aria-label="Filters" {
                @for (k, v) in &active {
                    li { (k) " = " strong { (v) } " "
                        a href={ (path) "?" (view.query_without(Some((k, v.as_str())), &[])) }
                            aria-label={ "Remove the filter " (k) " = " (v) } { "×" } }
                }
                @if let Some(t) = view.timeout { li { "timeout " (t) " min" } }
            }
        }
    }
}

fn downloads(path: &str, view: &View, extra: &[(&str, &str)]) -> Markup {
    let with = |format: &'static str| {
        let mut e = extra.to_vec();
        e.push(("format", format));
        format!("{path}?{}", view.query(&e))
    };
    html! {
        p.downloads { "Download what is shown: "
            a href=(with("csv")) download { "CSV" } " · "
            a href=(with("json")) download { "JSON" } }
    }
}

/// The big numbers. `total` carries its seconds for tests and the browser check.
fn totals(items: &[(&str, String, Option<f64>)]) -> Markup {
    html! {
        dl.totals {
            @for (label, value, seconds) in items {
                div { dt { (label) } dd data-seconds=[seconds] { (value) } }
            }
        }
    }
}

fn legend(palette: &Palette, more: bool) -> Markup {
    html! {
        ul.legend aria-label="Colours" {
            @for (class, name) in palette.legend(more) {
                li { svg.swatch viewBox="0 0 10 10" aria-hidden="true" { rect class=(class) width="10" height="10" rx="2" {} } (charts::shorten(&name, 40)) }
            }
        }
    }
}

/// A bar chart panel for one dimension of a report.
fn panel(dim: &str, rows: &[Row], path: &str, view: &View) -> Markup {
    let d = Dim::parse(dim);
    html! {
        section.panel aria-labelledby={ "h-" (dim) } {
            h2 #{ "h-" (dim) } { (dim_title(dim)) }
            @if rows.is_empty() {
                p.empty { "No time in this range." }
            } @else {
                (charts::bars(dim, rows, TOP, &|name| d.and_then(|d| bar_link(d, name, path, view))))
                @if rows.len() > TOP {
                    p.more { a href={ "/by/" (dim) "?" (view.query(&[])) } { "All " (rows.len()) " " (dim_title(dim).to_lowercase()) } }
                } @else {
                    p.more { a href={ "/by/" (dim) "?" (view.query(&[])) } { "As a table" } }
                }
            }
        }
    }
}

/// Columns for the stacked chart: days when the range is short, else weeks, else months.
fn columns(days: &[Report], palette: &Palette, account: &Account, view: &View) -> Vec<Column> {
    let week_start = match account.week_start {
        crate::config::WeekStart::Monday => Weekday::Monday,
        crate::config::WeekStart::Sunday => Weekday::Sunday,
    };
    let date_of = |r: &Report| r.start.get(..10).and_then(|d| d.parse::<Date>().ok());
    let mode = match days.len() {
        0..=62 => 0,
        63..=400 => 1,
        _ => 2,
    };
    let mut out: Vec<(Date, Date, Column)> = Vec::new();
    for r in days {
        let Some(date) = date_of(r) else { continue };
        let key = match mode {
            0 => date,
            1 => {
                let back = (date.weekday().to_monday_zero_offset()
                    - week_start.to_monday_zero_offset())
                .rem_euclid(7);
                date.checked_sub(jiff::Span::new().days(i64::from(back)))
                    .unwrap_or(date)
            }
            _ => date.first_of_month(),
        };
        if out.last().is_none_or(|(k, _, _)| *k != key) {
            let (label, long) = match mode {
                0 => (date.strftime("%a %-d").to_string(), long_date(date)),
                1 => (
                    key.strftime("%-d %b").to_string(),
                    format!("Week of {}", long_date(key)),
                ),
                _ => (
                    key.strftime("%b %y").to_string(),
                    key.strftime("%B %Y").to_string(),
                ),
            };
            out.push((
                key,
                date,
                Column {
                    label,
                    long_label: long,
                    href: None,
                    seconds: 0.0,
                    parts: Vec::new(),
                },
            ));
        }
        if let Some((_, last, c)) = out.last_mut() {
            *last = date;
            c.seconds += r.total_seconds;
            for row in
                r.by.first()
                    .map(|(_, rows)| rows.as_slice())
                    .unwrap_or_default()
            {
                let name = if palette.index(&row.name) < charts::COLOURS {
                    row.name.clone()
                } else {
                    "other".to_string()
                };
                match c.parts.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, s)) => *s += row.seconds,
                    None => c.parts.push((name, row.seconds)),
                }
            }
        }
    }
    out.into_iter()
        .map(|(first, last, mut c)| {
            c.parts.sort_by_key(|(n, _)| palette.index(n));
            c.href = Some(if first == last {
                format!("/day?{}", view.query(&[("date", &first.to_string())]))
            } else {
                let q = View {
                    spec: crate::report::RangeSpec {
                        name: None,
                        from: Some(first.to_string()),
                        to: Some(last.to_string()),
                    },
                    ..view.clone()
                };
                format!("/?{}", q.query(&[]))
            });
            c
        })
        .collect()
}

/// The names of a per-day report's first dimension, most time first.
fn ranked(days: &[Report]) -> Vec<String> {
    let mut sum: Vec<(String, f64)> = Vec::new();
    for r in days {
        for row in
            r.by.first()
                .map(|(_, rows)| rows.as_slice())
                .unwrap_or_default()
        {
            match sum.iter_mut().find(|(n, _)| *n == row.name) {
                Some((_, s)) => *s += row.seconds,
                None => sum.push((row.name.clone(), row.seconds)),
            }
        }
    }
    sum.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sum.into_iter().map(|(n, _)| n).collect()
}

fn rows_of<'a>(report: &'a Report, dim: &str) -> &'a [Row] {
    report
        .by
        .iter()
        .find(|(d, _)| d == dim)
        .map(|(_, r)| r.as_slice())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// Reads with the viewer's account in one snapshot (the view's `range=all` clamped first).
async fn read<T: Send + 'static>(
    api: &Api,
    a: &Ask,
    f: impl FnOnce(&dyn crate::store::Snapshot, &Account, &View) -> crate::store::Result<T>
    + Send
    + 'static,
) -> Result<(T, View), Response> {
    let account = a.viewer.account.clone();
    let mut view = a.view.clone();
    query::read(&api.db, move |snap| {
        data::clamp_all(snap, &account, &mut view)?;
        Ok((f(snap, &account, &view)?, view))
    })
    .await
    .map_err(store_error)
}

pub async fn overview(
    State(api): State<Shared>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let a = match ask(viewer, q, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (o, view) = match read(&api, &a, data::overview).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = &a.viewer.account;
    let name = format!("overview-{}", file_range(account, &view));
    match view.format {
        Format::Json => return export::json(&o.report, &name),
        Format::Csv => return export::report_csv(&o.report, &name),
        Format::Html => {}
    }
    let project_rows = rows_of(&o.report, "project");
    let names: Vec<String> = if project_rows.is_empty() {
        ranked(&o.days)
    } else {
        project_rows.iter().map(|r| r.name.clone()).collect()
    };
    let palette = Palette::new(names.iter().map(String::as_str));
    let cols = columns(&o.days, &palette, account, &view);
    let days = view.days(account);
    let today = account.calendar().date_of(now_ms());
    let elapsed = account
        .calendar()
        .date_of(view.end - 1)
        .min(today)
        .since(account.calendar().date_of(view.start))
        .map_or(1, |s| i64::from(s.get_days()) + 1)
        .max(1);
    let active = o.days.iter().filter(|d| d.total_seconds > 0.0).count();
    let top = project_rows.first();
    let body = html! {
        h1 { "Overview" }
        p.range-label { (range_label(account, &view)) }
        (range_picker("/", &view, account))
        (filters("/", &view))
        (totals(&[
            ("Total", duration(o.report.total_seconds), Some(o.report.total_seconds)),
            ("Daily average", duration(o.report.total_seconds / elapsed as f64), None),
            ("Active days", format!("{active} of {days}"), None),
            ("Top project", top.map_or("—".to_string(), |r| charts::shorten(&r.name, 30)), None),
        ]))
        section.wide aria-labelledby="h-days" {
            h2 #h-days { "Per day" }
            @if o.report.total_seconds > 0.0 {
                div.chart { (charts::stacked(&cols, &palette)) }
                (legend(&palette, names.len() > charts::COLOURS))
            } @else { p.empty { "No time in this range." } }
        }
        @if let Some(segments) = &o.segments {
            section.wide aria-labelledby="h-timeline" {
                h2 #h-timeline { "Timeline" }
                div.chart { (charts::timeline(view.start, view.end, segments, &palette, &|ms| clock(account, ms))) }
            }
        }
        @if has_agents(&o.lanes) {
            (lanes_section(&o.lanes, o.lane_spans.as_ref().map(|s| (s, view.start, view.end)), account))
        }
        div.panels {
            @for (dim, rows) in &o.report.by { (panel(dim, rows, "/", &view)) }
        }
        (downloads("/", &view, &[]))
    };
    render(
        &a,
        Page {
            title: "Overview".into(),
            nav: Nav::Overview,
            body,
        },
    )
}

pub async fn dimension(
    State(api): State<Shared>,
    viewer: Viewer,
    Path(dim): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(d) = Dim::parse(&dim) else {
        let errors = [format!(
            "unknown dimension {dim:?} (expected one of: {})",
            Dim::ALL.map(Dim::as_str).join(", ")
        )];
        return bad_request(&viewer, &errors);
    };
    let a = match ask(viewer, q, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (report, view) = match read(&api, &a, move |s, acc, v| data::dimension(s, acc, v, d)).await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = &a.viewer.account;
    let name = format!("{}-{}", d.as_str(), file_range(account, &view));
    match view.format {
        Format::Json => return export::json(&report, &name),
        Format::Csv => return export::report_csv(&report, &name),
        Format::Html => {}
    }
    let path = format!("/by/{}", d.as_str());
    let rows = rows_of(&report, d.as_str());
    let shown = &rows[..rows.len().min(view.limit)];
    let more = rows.len() - shown.len();
    let title = dim_title(d.as_str());
    let body = html! {
        h1 { (title) }
        p.range-label { (range_label(account, &view)) }
        (range_picker(&path, &view, account))
        (filters(&path, &view))
        (totals(&[("Total", duration(report.total_seconds), Some(report.total_seconds)), (title, rows.len().to_string(), None)]))
        @if rows.is_empty() { p.empty { "No time in this range." } } @else {
            section.wide aria-labelledby="h-top" {
                h2 #h-top { "Top " (rows.len().min(20)) }
                (charts::bars(d.as_str(), rows, 20, &|n| bar_link(d, n, &path, &view)))
            }
            table.rows data-dim=(d.as_str()) {
                caption { (title) ", most time first" }
                thead { tr { th scope="col" { "Name" } th.num scope="col" { "Time" } th.num scope="col" { "%" } } }
                tbody {
                    @for r in shown {
                        tr data-name=(r.name) data-seconds=(r.seconds) {
                            th scope="row" {
                                @match bar_link(d, &r.name, &path, &view) {
                                    Some(url) => a href=(url) { (charts::shorten(&r.name, 120)) },
                                    None => span title=(r.name) { (charts::shorten(&r.name, 120)) },
                                }
                            }
                            td.num { (duration(r.seconds)) }
                            td.num { (format!("{:.1}", r.percent)) }
                        }
                    }
                }
            }
            @if more > 0 {
                p.more { (more) " more rows. "
                    a href={ (path) "?" (view.query(&[("limit", &(view.limit * 10).min(params::MAX_LIMIT).to_string())])) } { "Show more" }
                    " or download them all below." }
            }
        }
        (downloads(&path, &view, &[]))
    };
    render(
        &a,
        Page {
            title: title.into(),
            nav: if d == Dim::Project {
                Nav::Projects
            } else {
                Nav::Overview
            },
            body,
        },
    )
}

pub async fn day(
    State(api): State<Shared>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let a = match ask(viewer, q, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let account = a.viewer.account.clone();
    let date = a
        .view
        .date
        .unwrap_or_else(|| account.calendar().date_of(now_ms()));
    let (d, view) = match read(&api, &a, move |s, acc, v| data::day(s, acc, v, date)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let name = format!("day-{date}");
    match view.format {
        Format::Json => return export::json(&d, &name),
        Format::Csv => return export::day_csv(&d, &name),
        Format::Html => {}
    }
    let (start, end) = account.calendar().bounds(date);
    let projects = rows_of(&d.report, "project");
    let palette = Palette::new(projects.iter().map(|r| r.name.as_str()));
    let link = |date: Option<Date>| {
        date.map(|x| format!("/day?{}", view.query(&[("date", &x.to_string())])))
    };
    let body = html! {
        h1 { (long_date(date)) }
        nav.steps aria-label="Days" {
            @if let Some(u) = link(date.yesterday().ok()) { a href=(u) rel="prev" { "← Previous day" } }
            a href={ "/day?" (view.query(&[])) } { "Today" }
            @if let Some(u) = link(date.tomorrow().ok()) { a href=(u) rel="next" { "Next day →" } }
        }
        form.picker method="get" action="/day" aria-label="Date" {
            label { "Date " input type="date" name="date" value=(date.to_string()); }
            button type="submit" { "Show" }
        }
        (filters("/day", &view))
        (totals(&[
            ("Total", duration(d.report.total_seconds), Some(d.report.total_seconds)),
            ("Sessions", d.sessions.len().to_string(), None),
            ("First", d.segments.first().map_or("—".into(), |s| clock(&account, (s.start_unix * 1000.0) as i64)), None),
            ("Last", d.segments.last().map_or("—".into(), |s| clock(&account, (s.end_unix * 1000.0) as i64)), None),
        ]))
        section.wide aria-labelledby="h-timeline" {
            h2 #h-timeline { "Timeline" }
            @if d.segments.is_empty() { p.empty { "No time on this day." } } @else {
                div.chart { (charts::timeline(start, end, &d.segments, &palette, &|ms| clock(&account, ms))) }
                (legend(&palette, projects.len() > charts::COLOURS))
            }
        }
        @if has_agents(&d.ai) {
            (lanes_section(&d.ai, Some((&d.lane_spans, start, end)), &account))
        }
        (sessions_table(&d.sessions, &account, &view, usize::MAX))
        div.panels { @for (dim, rows) in &d.report.by { (panel(dim, rows, "/day", &view)) } }
        (downloads("/day", &view, &[("date", &date.to_string())]))
    };
    render(
        &a,
        Page {
            title: long_date(date),
            nav: Nav::Day,
            body,
        },
    )
}

/// Whether a range has anything of agents to show beside the human's time.
fn has_agents(l: &Lanes) -> bool {
    l.agent.seconds > 0.0
        || l.agent.line_changes != 0
        || l.agent.input_tokens > 0
        || l.agent.output_tokens > 0
        || !l.agents.is_empty()
}

/// `+12` / `-3` / `0`: line changes are net, either way.
fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// Human and agent time side by side (`tf report --ai`), with the day's lanes drawn when the
/// range is one day. The numbers are in `data-*` attributes for tests and the browser check.
fn lanes_section(l: &Lanes, spans: Option<(&LaneSpans, i64, i64)>, account: &Account) -> Markup {
    html! {
        section.wide aria-labelledby="h-lanes" data-section="lanes" {
            h2 #h-lanes { "You and your agents" }
            p.more { "Each lane on its own timeline: time when both were active counts in both." }
            dl.totals {
                div { dt { "You" } dd data-lane="human" data-seconds=(l.human.seconds) { (duration(l.human.seconds)) } }
                div { dt { "Agents" } dd data-lane="agent" data-seconds=(l.agent.seconds) { (duration(l.agent.seconds)) } }
                div { dt { "Both at once" } dd data-lane="overlap" data-seconds=(l.overlap_seconds) { (duration(l.overlap_seconds)) } }
                div { dt { "Either" } dd data-lane="either" data-seconds=(l.either_seconds) { (duration(l.either_seconds)) } }
            }
            @if let Some((spans, start, end)) = spans {
                div.chart { (charts::lanes(start, end, spans, &|ms| clock(account, ms))) }
            }
            table.rows.lanes {
                caption { "Time, net lines changed and tokens of each" }
                thead { tr {
                    th scope="col" { "Who" } th.num scope="col" { "Time" } th.num scope="col" { "Lines" }
                    th.num scope="col" { "Tokens in" } th.num scope="col" { "Tokens out" } th.num scope="col" { "Sessions" }
                } }
                tbody {
                    tr data-lane="human" data-line-changes=(l.human.line_changes) {
                        th scope="row" { "You" }
                        td.num { (duration(l.human.seconds)) }
                        td.num { (signed(l.human.line_changes)) }
                        td.num { "—" } td.num { "—" } td.num { "—" }
                    }
                    tr data-lane="agent" data-line-changes=(l.agent.line_changes)
                        data-input-tokens=(l.agent.input_tokens) data-output-tokens=(l.agent.output_tokens)
                        data-sessions=(l.agent.sessions) {
                        th scope="row" { "All agents" }
                        td.num { (duration(l.agent.seconds)) }
                        td.num { (signed(l.agent.line_changes)) }
                        td.num { (l.agent.input_tokens) } td.num { (l.agent.output_tokens) } td.num { (l.agent.sessions) }
                    }
                    @for a in &l.agents {
                        tr.agent data-name=(a.name) data-seconds=(a.seconds) data-line-changes=(a.line_changes)
                            data-input-tokens=(a.input_tokens) data-output-tokens=(a.output_tokens) data-sessions=(a.sessions) {
                            th scope="row" { (charts::shorten(&crate::agent::display_name(&a.name), 60)) }
                            td.num { (duration(a.seconds)) }
                            td.num { (signed(a.line_changes)) }
                            td.num { (a.input_tokens) } td.num { (a.output_tokens) } td.num { (a.sessions) }
                        }
                    }
                }
            }
        }
    }
}

fn sessions_table(
    sessions: &[crate::report::Session],
    account: &Account,
    view: &View,
    limit: usize,
) -> Markup {
    let cal = account.calendar();
    let when = |s: &str| {
        s.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .ok()
    };
    html! {
        section.wide aria-labelledby="h-sessions" {
            h2 #h-sessions { "Sessions" }
            @if sessions.is_empty() { p.empty { "No sessions." } } @else {
                table.rows.sessions {
                    caption { "Runs of activity, newest first" }
                    thead { tr { th scope="col" { "Start" } th scope="col" { "End" } th.num scope="col" { "Time" } th scope="col" { "Project" } th scope="col" { "Branch" } } }
                    tbody {
                        @for s in sessions.iter().rev().take(limit) {
                            @let (a, b) = (when(&s.start), when(&s.end));
                            tr data-seconds=(s.seconds) {
                                td { (a.map_or(s.start.clone(), |ms| date_time(account, ms))) }
                                td { (b.map_or(s.end.clone(), |ms| if a.is_some_and(|x| cal.date_of(x) == cal.date_of(ms)) { clock(account, ms) } else { date_time(account, ms) })) }
                                td.num { (duration(s.seconds)) }
                                th scope="row" { @if s.project == NONE_NAME { (s.project) } @else { a href=(project_url(&s.project, view)) { (charts::shorten(&s.project, 60)) } } }
                                td { (charts::shorten(&s.branch, 60)) }
                            }
                        }
                    }
                }
                @if sessions.len() > limit {
                    p.more { (sessions.len() - limit) " older sessions are in the downloads." }
                }
            }
        }
    }
}

pub async fn calendar(
    State(api): State<Shared>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let a = match ask(viewer, q, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let account = a.viewer.account.clone();
    let year = a
        .view
        .year
        .unwrap_or_else(|| account.calendar().date_of(now_ms()).year());
    let (y, view) = match read(&api, &a, move |s, acc, v| data::year(s, acc, v, year)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let name = format!("calendar-{year}");
    match view.format {
        Format::Json => return export::json(&y, &name),
        Format::Csv => return export::year_csv(&y, &name),
        Format::Html => {}
    }
    let week_start = match account.week_start {
        crate::config::WeekStart::Monday => Weekday::Monday,
        crate::config::WeekStart::Sunday => Weekday::Sunday,
    };
    let cells: Vec<Cell> = y
        .days
        .iter()
        .filter_map(|d| {
            let date = d.date.parse::<Date>().ok()?;
            Some(Cell {
                date,
                seconds: d.seconds,
                href: Some(format!("/day?{}", view.query(&[("date", &d.date)]))),
            })
        })
        .collect();
    let active = y.days.iter().filter(|d| d.seconds > 0.0).count();
    let best = y
        .days
        .iter()
        .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
        .filter(|d| d.seconds > 0.0);
    let link = |y: i16| format!("/calendar?{}", view.query(&[("year", &y.to_string())]));
    let body = html! {
        h1 { (year) }
        nav.steps aria-label="Years" {
            a href=(link(year - 1)) rel="prev" { "← " (year - 1) }
            a href=(link(year + 1)) rel="next" { (year + 1) " →" }
        }
        (filters("/calendar", &view))
        (totals(&[
            ("Total", duration(y.total_seconds), Some(y.total_seconds)),
            ("Active days", active.to_string(), None),
            ("Best day", best.map_or("—".into(), |d| format!("{} ({})", d.date, duration(d.seconds))), None),
        ]))
        section.wide aria-labelledby="h-year" {
            h2 #h-year { "Every day of " (year) }
            div.chart { (charts::heatmap(&cells, week_start)) }
            p.scale aria-hidden="true" { "Less "
                @for l in 0..5 { svg.swatch viewBox="0 0 10 10" { rect class={ "l" (l) } width="10" height="10" rx="2" {} } }
                " more" }
        }
        (downloads("/calendar", &view, &[("year", &year.to_string())]))
    };
    render(
        &a,
        Page {
            title: format!("Calendar {year}"),
            nav: Nav::Calendar,
            body,
        },
    )
}

pub async fn sessions(
    State(api): State<Shared>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let a = match ask(viewer, q, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (list, view) = match read(&api, &a, data::sessions).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = &a.viewer.account;
    let name = format!("sessions-{}", file_range(account, &view));
    match view.format {
        Format::Json => return export::json(&list, &name),
        Format::Csv => return export::sessions_csv(&list, &name),
        Format::Html => {}
    }
    let total: f64 = list.iter().map(|s| s.seconds).sum();
    let longest = list.iter().map(|s| s.seconds).fold(0.0, f64::max);
    let body = html! {
        h1 { "Sessions" }
        p.range-label { (range_label(account, &view)) }
        (range_picker("/sessions", &view, account))
        (filters("/sessions", &view))
        (totals(&[
            ("Sessions", list.len().to_string(), None),
            ("Time in sessions", duration(total), Some(total)),
            ("Longest", duration(longest), None),
            ("Average", duration(if list.is_empty() { 0.0 } else { total / list.len() as f64 }), None),
        ]))
        (sessions_table(&list, account, &view, view.limit))
        (downloads("/sessions", &view, &[]))
    };
    render(
        &a,
        Page {
            title: "Sessions".into(),
            nav: Nav::Sessions,
            body,
        },
    )
}

pub async fn project(
    State(api): State<Shared>,
    viewer: Viewer,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let a = match ask(viewer, q, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let n = name.clone();
    let (p, view) = match read(&api, &a, move |s, acc, v| data::project(s, acc, v, &n)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = &a.viewer.account;
    let file = format!(
        "project-{}-{}",
        export::file_name_part(&name),
        file_range(account, &view)
    );
    match view.format {
        Format::Json => return export::json(&p, &file),
        Format::Csv => return export::project_csv(&p, &file),
        Format::Html => {}
    }
    let path = format!("/project/{}", encode_segment(&name));
    let branches = rows_of(&p.report, "branch");
    let palette = Palette::new(branches.iter().map(|r| r.name.as_str()));
    let cols = columns(&p.days, &palette, account, &view);
    let files = rows_of(&p.report, "entity");
    let commit_seconds: f64 = p.commits.iter().map(|c| c.seconds).sum();
    let body = html! {
        h1 { span.kind { "Project " } (name) }
        p.range-label { (range_label(account, &view)) }
        (range_picker(&path, &view, account))
        (filters(&path, &view))
        (totals(&[
            ("Total", duration(p.report.total_seconds), Some(p.report.total_seconds)),
            ("Branches", p.branches.len().to_string(), None),
            ("Commits", p.commits.len().to_string(), None),
            ("Time before commits", duration(commit_seconds), None),
        ]))
        section.wide aria-labelledby="h-days" {
            h2 #h-days { "Per day, by branch" }
            @if p.report.total_seconds > 0.0 {
                div.chart { (charts::stacked(&cols, &palette)) }
                (legend(&palette, branches.len() > charts::COLOURS))
            } @else { p.empty { "No time in this range." } }
        }
        section.wide aria-labelledby="h-branches" {
            h2 #h-branches { "Branches" }
            @if p.branches.is_empty() { p.empty { "No branches in this range." } } @else {
                table.rows.branches {
                    caption { "Time per branch, with first and last activity and commits made" }
                    thead { tr { th scope="col" { "Branch" } th scope="col" { "Ticket" } th.num scope="col" { "Time" } th scope="col" { "First" } th scope="col" { "Last" } th.num scope="col" { "Commits" } } }
                    tbody {
                        @for b in &p.branches {
                            tr data-name=(b.branch) data-seconds=(b.seconds) {
                                th scope="row" { a href={ (path) "?" (view.with_filter("branch", &b.branch)) } { (charts::shorten(&b.branch, 60)) } }
                                td { (b.ticket.as_deref().unwrap_or("")) }
                                td.num { (duration(b.seconds)) }
                                td { (b.first.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map_or(String::new(), |t| date_time(account, t.as_millisecond()))) }
                                td { (b.last.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map_or(String::new(), |t| date_time(account, t.as_millisecond()))) }
                                td.num { (b.commits) }
                            }
                        }
                    }
                }
            }
        }
        section.wide aria-labelledby="h-commits" {
            h2 #h-commits { "Commits" }
            @if p.commits.is_empty() { p.empty { "No commits in this range (" code { "tf git install" } " records them)." } } @else {
                table.rows.commits {
                    caption { "Each commit with the time on its branch since the commit before it, newest first" }
                    thead { tr { th scope="col" { "When" } th scope="col" { "Branch" } th scope="col" { "Commit" } th.num scope="col" { "Time" } } }
                    tbody {
                        @for c in p.commits.iter().rev().take(view.limit) {
                            tr data-sha=(c.sha) data-seconds=(c.seconds) {
                                td { (date_time(account, (c.time_unix * 1000.0) as i64)) }
                                td { (charts::shorten(c.branch.as_deref().unwrap_or(NONE_NAME), 40)) }
                                th scope="row" { code { (c.sha.get(..8).unwrap_or(&c.sha)) } " " (charts::shorten(c.summary.as_deref().unwrap_or(""), 80)) @if c.merge { " (merge)" } }
                                td.num { (duration(c.seconds)) }
                            }
                        }
                    }
                }
            }
        }
        div.panels {
            @for dim in ["language", "category"] { (panel(dim, rows_of(&p.report, dim), &path, &view)) }
            section.panel aria-labelledby="h-entity" {
                h2 #h-entity { "Files" }
                @if files.is_empty() { p.empty { "No files in this range." } } @else {
                    (charts::bars("entity", files, TOP, &|_| None))
                    p.more { a href={ "/by/entity?" (view.with_filter("project", &name)) } { "All " (files.len()) " files" } }
                }
            }
        }
        (downloads(&path, &view, &[]))
    };
    render(
        &a,
        Page {
            title: name.clone(),
            nav: Nav::Projects,
            body,
        },
    )
}

pub async fn account(State(api): State<Shared>, viewer: Viewer, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let acc = viewer.account.clone();
    let local = viewer.local;
    // The project list comes from the rollups: bring them up to date first (as the
    // WakaTime `projects` endpoint does).
    if !local && let Err(e) = api.writer.refresh(acc.id(), (i32::MIN, i32::MAX)).await {
        return write_error(e);
    }
    let found = query::read(&api.db, move |snap| {
        let badges = snap.badges(acc.id())?;
        let projects = if local {
            Vec::new()
        } else {
            data::all_projects(snap, &acc)?
        };
        Ok((badges, projects))
    })
    .await;
    let (badges, projects) = match found {
        Ok(x) => x,
        Err(e) => return store_error(e),
    };
    let origin = origin(&headers);
    let user = &viewer.account.name;
    let badge_path = |project: &str| {
        if project.is_empty() {
            format!("/badge/{}", encode_segment(user))
        } else {
            format!(
                "/badge/{}/{}",
                encode_segment(user),
                encode_segment(project)
            )
        }
    };
    let mut choices: Vec<String> = vec![String::new()];
    choices.extend(projects);
    // A badge that is on stays listed (to turn it off) even without time any more.
    for b in &badges {
        if !choices.contains(b) {
            choices.push(b.clone());
        }
    }
    let body = html! {
        h1 { "Account" }
        dl.totals {
            div { dt { "Signed in as" } dd { (user) } }
            div { dt { "Session ends" } dd { (date_time(&viewer.account, viewer.expires_ms)) } }
        }
        @if !local {
            section.wide aria-labelledby="h-badges" {
                h2 #h-badges { "Public badges" }
                p { "A badge shows your time this week (\"2h 13m this week\") to anyone with its address, as an SVG image or as shields.io JSON. Badges are off until you turn one on here." }
                table.rows.badges {
                    thead { tr { th scope="col" { "Badge" } th scope="col" { "Address" } th scope="col" { "Public" } } }
                    tbody {
                        @for p in &choices {
                            @let on = badges.contains(p);
                            tr {
                                th scope="row" { @if p.is_empty() { "Your total" } @else { (charts::shorten(p, 60)) } }
                                td { @if on {
                                    a href={ (badge_path(p)) ".svg" } { (origin) (badge_path(p)) ".svg" }
                                    br;
                                    "shields.io: " code { "https://img.shields.io/endpoint?url=" (origin) (badge_path(p)) ".json" }
                                } @else { "—" } }
                                td {
                                    form method="post" action="/account/badges" {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        input type="hidden" name="project" value=(p);
                                        input type="hidden" name="on" value=(if on { "0" } else { "1" });
                                        button type="submit" aria-label={ (if on { "Turn off the badge of " } else { "Turn on the badge of " }) (if p.is_empty() { "your total" } else { p }) } { (if on { "Turn off" } else { "Turn on" }) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.signout-big method="post" action="/sign-out" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            button type="submit" { "Sign out of this browser" }
        }
    };
    let partial = headers.contains_key("x-tf-partial");
    let page = Page {
        title: "Account".into(),
        nav: Nav::Account,
        body,
    };
    let markup = if partial {
        page.body
    } else {
        layout(Some(&viewer), page, false)
    };
    html_response(StatusCode::OK, markup, Some(started))
}

/// `scheme://host` as the browser sees this site (through a TLS proxy: https).
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// `POST /account/badges`: turns one badge on or off (server only).
pub async fn set_badge(
    State(api): State<Shared>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = auth::form(&body);
    if let Err(r) = auth::check_form(&viewer, &headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    if viewer.local {
        return not_found(
            &viewer,
            "Badges are served by a team server (timeforged serve), not by the local daemon.",
        );
    }
    let project = f.get("project").cloned().unwrap_or_default();
    if project.len() > crate::model::MAX_STRING_BYTES {
        return message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "That project name is too long.",
        );
    }
    let on = f.get("on").map(String::as_str) == Some("1");
    let user = viewer.account.id();
    if let Err(e) = api
        .writer
        .run(move |w| w.set_badge(user, &project, on, now_ms()))
        .await
    {
        return write_error(e);
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/account")]).into_response()
}

/// `2025-11-17--2025-11-23` for file names.
fn file_range(account: &Account, view: &View) -> String {
    let cal = account.calendar();
    format!("{}--{}", cal.date_of(view.start), cal.date_of(view.end - 1))
}
