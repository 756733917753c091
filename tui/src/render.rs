//! Drawing: [`render`] turns an [`App`] into a frame, and [`pane_areas`] says where the scrollable
//! lists are (the same layout, shared with `update` for mouse hits and page sizes).
//!
//! Every line is built to exactly the width it is drawn in (names truncated by display width with
//! "…"), so nothing relies on the widget clipping half a wide character.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear};

use crate::app::{App, Connection, Mode, Pane};
use crate::model::{Bar, Data, DayTotal, Group, PeriodData, ProjectData, TodayData, View};
use crate::text::{self, fit, fit_right, truncate, truncate_start, width};
use crate::theme::{Theme, heat_char, project_mark};

/// Below this the full layout does not fit; a compact summary is drawn instead.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// Where one scrollable list is: `outer` with its border, `inner` = the rows of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneArea {
    pub pane: Pane,
    pub outer: Rect,
    pub inner: Rect,
}

/// Draws the whole dashboard.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let Some(chrome) = chrome(area) else {
        render_compact(app, frame, area);
        return;
    };
    render_header(app, frame, chrome.header);
    render_period(app, frame, chrome.period);
    match (app.view, app.current_data()) {
        (View::Today, Some(Data::Today(data))) => render_today(app, data, frame, chrome.body),
        (View::Week | View::Month, Some(Data::Period(data))) => {
            render_period_view(app, data, frame, chrome.body)
        }
        (View::Project, Some(Data::Project(data))) => render_project(app, data, frame, chrome.body),
        _ => render_placeholder(app, frame, chrome.body),
    }
    render_footer(app, frame, chrome.footer);
    if app.mode == Mode::Help {
        render_help(app, frame, area);
    }
}

/// The scrollable lists of the current view at terminal size `area`.
pub fn pane_areas(app: &App, area: Rect) -> Vec<PaneArea> {
    let Some(chrome) = chrome(area) else {
        return Vec::new();
    };
    let body = chrome.body;
    let pane = |pane, outer: Rect| PaneArea {
        pane,
        outer,
        inner: Block::bordered().inner(outer),
    };
    match (app.view, app.current_data()) {
        (View::Today, Some(Data::Today(data))) => {
            let l = today_layout(body, data.lanes.is_some());
            vec![pane(Pane::Bars, l.bars), pane(Pane::Sessions, l.sessions)]
        }
        (View::Week | View::Month, Some(Data::Period(data))) => {
            let l = period_layout(app, data, body);
            vec![pane(Pane::Bars, l.bars)]
        }
        (View::Project, Some(Data::Project(_))) => {
            let l = project_layout(body);
            vec![
                pane(Pane::Projects, l.projects),
                pane(Pane::Branches, l.branches),
                pane(Pane::Files, l.files),
                pane(Pane::Commits, l.commits),
            ]
        }
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Layout

struct Chrome {
    header: Rect,
    period: Rect,
    body: Rect,
    footer: Rect,
}

fn chrome(area: Rect) -> Option<Chrome> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let (header, rest) = split_rows(area, 1);
    let (period, rest) = split_rows(rest, 1);
    let (body, footer) = split_rows(rest, rest.height - 1);
    Some(Chrome {
        header,
        period,
        body,
        footer,
    })
}

/// The top `rows` rows of `area` and the rest.
fn split_rows(area: Rect, rows: u16) -> (Rect, Rect) {
    let rows = rows.min(area.height);
    (
        Rect::new(area.x, area.y, area.width, rows),
        Rect::new(area.x, area.y + rows, area.width, area.height - rows),
    )
}

/// The left `cols` columns of `area` and the rest.
fn split_cols(area: Rect, cols: u16) -> (Rect, Rect) {
    let cols = cols.min(area.width);
    (
        Rect::new(area.x, area.y, cols, area.height),
        Rect::new(area.x + cols, area.y, area.width - cols, area.height),
    )
}

/// Side by side when there is room for two readable columns.
const SIDE_BY_SIDE: u16 = 70;

struct TodayLayout {
    now: Rect,
    now_bordered: bool,
    timeline: Option<Rect>,
    bars: Rect,
    sessions: Rect,
}

fn today_layout(body: Rect, lanes: bool) -> TodayLayout {
    // The lanes take one more line in the timeline pane, when there is room.
    let extra = u16::from(lanes && body.height >= 18);
    let (now_rows, now_bordered, timeline_rows) = match body.height {
        h if h >= 16 => (3, true, 5 + extra),
        h if h >= 10 => (1, false, 5),
        _ => (1, false, 0),
    };
    let (now, rest) = split_rows(body, now_rows);
    let (timeline, lists) = split_rows(rest, timeline_rows);
    let (bars, sessions) = if lists.width >= SIDE_BY_SIDE {
        split_cols(lists, lists.width * 11 / 20)
    } else {
        split_rows(lists, lists.height / 2)
    };
    TodayLayout {
        now,
        now_bordered,
        timeline: (timeline_rows > 0).then_some(timeline),
        bars,
        sessions,
    }
}

struct PeriodLayout {
    summary: Rect,
    chart: Rect,
    bars: Rect,
    others: Vec<Rect>,
}

/// Week rows of a month calendar whose first day falls on `first_weekday`.
fn calendar_weeks(days: &[DayTotal]) -> usize {
    let first = days.first().map_or(0, |d| usize::from(d.weekday.min(6)));
    (first + days.len()).div_ceil(7)
}

fn period_layout(app: &App, data: &PeriodData, body: Rect) -> PeriodLayout {
    let (summary, rest) = split_rows(body, 1);
    let wanted = match app.view {
        View::Month => calendar_weeks(&data.days) + 3,
        _ => data.days.len().max(1) + 2,
    };
    let wanted = u16::try_from(wanted).unwrap_or(u16::MAX);
    // Keep at least 5 rows for the lists below when the chart has to give way.
    let chart_rows = wanted
        .min(rest.height.saturating_sub(5))
        .max(rest.height.min(3));
    let (chart, lists) = split_rows(rest, chart_rows);
    let others_count = match (lists.width, app.group) {
        (w, _) if w < 60 => 0,
        (w, Group::Branch) if w >= 120 => 2,
        _ => 1,
    };
    let column = lists.width / (others_count + 1);
    let (bars, mut rest) = split_cols(lists, lists.width - column * others_count);
    let mut others = Vec::new();
    for _ in 0..others_count {
        let (one, r) = split_cols(rest, column);
        others.push(one);
        rest = r;
    }
    PeriodLayout {
        summary,
        chart,
        bars,
        others,
    }
}

struct ProjectLayout {
    projects: Rect,
    heading: Rect,
    branches: Rect,
    files: Rect,
    commits: Rect,
}

fn project_layout(body: Rect) -> ProjectLayout {
    let (projects, right) = if body.width >= SIDE_BY_SIDE {
        split_cols(body, (body.width / 3).clamp(24, 40))
    } else {
        split_rows(body, (body.height * 3 / 10).max(3))
    };
    let (heading, rest) = split_rows(right, 1);
    let (top, commits) = split_rows(rest, rest.height / 2);
    let (branches, files) = split_cols(top, top.width * 2 / 5);
    ProjectLayout {
        projects,
        heading,
        branches,
        files,
        commits,
    }
}

// ---------------------------------------------------------------------------------------------
// Line building

type Spans = Vec<Span<'static>>;

fn span(text: impl Into<String>, style: Style) -> Span<'static> {
    Span::styled(text.into(), style)
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}

/// `spans` cut to `cells` (the last span that does not fit gets "…") and padded to exactly `cells`.
fn fit_spans(spans: Spans, cells: usize) -> Spans {
    let mut out = Vec::with_capacity(spans.len() + 1);
    let mut used = 0;
    for s in spans {
        let w = width(&s.content);
        if used + w <= cells {
            used += w;
            out.push(s);
        } else {
            let cut = truncate(&s.content, cells - used);
            used += width(&cut);
            out.push(Span::styled(cut, s.style));
            break;
        }
    }
    if used < cells {
        out.push(Span::raw(" ".repeat(cells - used)));
    }
    out
}

/// `left` then `right` flush right, in exactly `cells`; `right` is dropped when both do not fit.
fn left_right(left: Spans, right: Spans, cells: usize) -> Spans {
    let (lw, rw) = (spans_width(&left), spans_width(&right));
    if lw + rw < cells {
        let mut out = left;
        out.push(Span::raw(" ".repeat(cells - lw - rw)));
        out.extend(right);
        out
    } else {
        fit_spans(left, cells)
    }
}

/// Draws prepared lines top-down, clipped to `area`. Straight into the buffer rather than through
/// `Paragraph`: the lines are already cut to width, and this is the frame's hot path.
fn draw_lines(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    let buffer = frame.buffer_mut();
    let area = area.intersection(buffer.area);
    for (line, y) in lines.iter().zip(area.top()..area.bottom()) {
        buffer.set_line(area.x, y, line, area.width);
    }
}

fn one_line(frame: &mut Frame, area: Rect, spans: Spans) {
    let cells = usize::from(area.width);
    draw_lines(frame, area, vec![Line::from(fit_spans(spans, cells))]);
}

/// A bordered pane with `title` (and `note` bottom right, e.g. "+38 more"); returns its inside.
fn pane(
    frame: &mut Frame,
    theme: &Theme,
    area: Rect,
    title: &str,
    note: Option<String>,
    focused: bool,
) -> Rect {
    let room = usize::from(area.width.saturating_sub(4));
    let mut block = Block::bordered().border_style(if focused {
        theme.border_focused()
    } else {
        theme.border()
    });
    if room > 0 {
        block = block.title(Line::from(span(
            format!(" {} ", truncate(title, room.saturating_sub(2))),
            theme.title(),
        )));
        if let Some(note) = note {
            let note = truncate(&note, room.saturating_sub(2));
            block = block
                .title_bottom(Line::from(span(format!(" {note} "), theme.dim())).right_aligned());
        }
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The part of a list that fits its pane, after the pane is drawn.
struct Visible<'a, T> {
    inner: Rect,
    cells: usize,
    first: usize,
    rows: &'a [T],
}

/// Draws a bordered list pane titled `title (n)`, with "+N more" when it scrolls (and a focus
/// border when `scroll` is the focused one of several panes), and gives the rows that fit; None
/// when there is no room, or nothing to list ("no `what`" is shown).
fn list_pane<'a, T>(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    items: &'a [T],
    scroll: Option<Pane>,
    what: &str,
) -> Option<Visible<'a, T>> {
    let focused = scroll.is_some_and(|p| app.focus == p && app.panes().len() > 1);
    let rows = usize::from(area.height.saturating_sub(2));
    let first = scroll.map_or(0, |p| app.scroll(p).min(items.len().saturating_sub(rows)));
    let shown = rows.min(items.len() - first);
    let inner = pane(
        frame,
        &app.theme,
        area,
        &format!("{title} ({})", items.len()),
        more_note(first, shown, items.len()),
        focused,
    );
    let cells = usize::from(inner.width);
    if cells == 0 || inner.height == 0 {
        return None;
    }
    if items.is_empty() {
        draw_lines(frame, inner, vec![empty_line(app, what, cells)]);
        return None;
    }
    Some(Visible {
        inner,
        cells,
        first,
        rows: &items[first..first + shown],
    })
}

/// The "+N more" note of a list showing rows `first..first + shown` of `total`.
fn more_note(first: usize, shown: usize, total: usize) -> Option<String> {
    let below = total.saturating_sub(first + shown);
    match (first, below) {
        (0, 0) => None,
        (0, b) => Some(format!("+{b} more ↓")),
        (a, 0) => Some(format!("↑ {a} above")),
        (a, b) => Some(format!("↑ {a} · +{b} more ↓")),
    }
}

fn empty_line(app: &App, what: &str, cells: usize) -> Line<'static> {
    let text = match &app.filter {
        Some(f) => format!("no {what} matching “{f}”"),
        None => format!("no {what} yet"),
    };
    Line::from(span(fit(&text, cells), app.theme.dim()))
}

// ---------------------------------------------------------------------------------------------
// Chrome: header, period line, footer, help

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let cells = usize::from(area.width);
    let right = match &app.connection {
        Connection::Connected => vec![span("● live ", theme.live())],
        Connection::Connecting => vec![span("◌ connecting ", theme.warn())],
        Connection::Disconnected(_) => vec![span("✕ offline ", theme.warn())],
    };
    // Narrower terminals lose the title first, then the names of the other tabs.
    let tabs = |names: bool| -> Spans {
        View::ALL
            .iter()
            .enumerate()
            .map(|(i, view)| {
                if *view == app.view {
                    span(
                        format!(" {} {} ", i + 1, view.title()),
                        theme.tab_selected(),
                    )
                } else if names {
                    span(format!(" {} {} ", i + 1, view.title()), theme.base())
                } else {
                    span(format!(" {} ", i + 1), theme.base())
                }
            })
            .collect()
    };
    let mut full = vec![span(" TimeForged ", theme.title())];
    full.extend(tabs(true));
    let fits = |left: &Spans| spans_width(left) + spans_width(&right) < cells;
    let left = if fits(&full) {
        full
    } else if fits(&tabs(true)) {
        tabs(true)
    } else {
        tabs(false)
    };
    let line = left_right(left, right, cells);
    draw_lines(frame, area, vec![Line::from(line)]);
}

fn period_unit(view: View, n: i32) -> String {
    let unit = match view {
        View::Today => "day",
        View::Week => "week",
        View::Month => "month",
        View::Project => "× 30 days",
    };
    if view == View::Project || n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn render_period(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let (label, total) = match app.current_data() {
        Some(Data::Today(d)) => (d.label.as_str(), Some(d.total_seconds)),
        Some(Data::Period(d)) => (d.label.as_str(), Some(d.total_seconds)),
        Some(Data::Project(d)) => (d.label.as_str(), None),
        None => ("…", None),
    };
    let next_style = if app.offset() < 0 {
        theme.key()
    } else {
        theme.dim()
    };
    let mut left = vec![
        span(" ◀ ", theme.key()),
        span(text::clean(label).into_owned(), theme.strong()),
        span(" ▶", next_style),
    ];
    if let Some(total) = total {
        left.push(span("   total ", theme.dim()));
        left.push(span(text::duration(total), theme.strong()));
    }
    if app.view != View::Project {
        left.push(span("   by ", theme.dim()));
        left.push(span(app.group.title(), theme.base()));
    }
    if let Some(filter) = &app.filter {
        left.push(span("   filter ", theme.dim()));
        left.push(span(format!("“{}”", text::clean(filter)), theme.warn()));
    }
    let right = if app.offset() < 0 {
        vec![span(
            format!("{} back · t: now ", period_unit(app.view, -app.offset())),
            theme.dim(),
        )]
    } else {
        Vec::new()
    };
    one_line(
        frame,
        area,
        left_right(left, right, usize::from(area.width)),
    );
}

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let cells = usize::from(area.width);
    if let Mode::Filter(typed) = &app.mode {
        let prompt = format!(" filter {}: ", app.group_for_filter());
        let right = vec![span("Enter apply · Esc cancel ", theme.dim())];
        let typed_clean = text::clean(typed).into_owned();
        // Show the end of a long filter, where the cursor is.
        let room = cells.saturating_sub(width(&prompt) + 1);
        let shown = truncate_start(&typed_clean, room);
        let cursor_x = width(&prompt) + width(&shown);
        let left = vec![span(prompt, theme.key()), span(shown, theme.strong())];
        let line = if cursor_x + spans_width(&right) < cells {
            left_right(left, right, cells)
        } else {
            fit_spans(left, cells)
        };
        one_line(frame, area, line);
        let x = area.x
            + u16::try_from(cursor_x)
                .unwrap_or(u16::MAX)
                .min(area.width - 1);
        frame.set_cursor_position((x, area.y));
        return;
    }
    if let Connection::Disconnected(message) = &app.connection {
        let line = format!(
            " daemon unreachable: {} — reconnecting",
            text::clean(message)
        );
        draw_lines(
            frame,
            area,
            vec![Line::from(span(fit(&line, cells), theme.error_line()))],
        );
        return;
    }
    let mut hints = Vec::new();
    for (key, what) in [
        ("?", "help"),
        ("Tab", "view"),
        ("←→", "period"),
        ("p/l/b", "group"),
        ("/", "filter"),
        ("r", "reload"),
        ("q", "quit"),
    ] {
        hints.push(span(format!(" {key}"), theme.key()));
        hints.push(span(format!(" {what} "), theme.dim()));
    }
    one_line(frame, area, hints);
}

impl App {
    /// What the filter applies to, for the prompt.
    fn group_for_filter(&self) -> &'static str {
        if self.view == View::Project {
            "projects"
        } else {
            match self.group {
                Group::Project => "projects",
                Group::Language => "languages",
                Group::Branch => "branches",
            }
        }
    }
}

const HELP: &[(&str, &str)] = &[
    ("Tab  Shift-Tab", "next / previous view"),
    ("1 2 3 4", "Today, Week, Month, Project"),
    ("← →", "previous / next period"),
    ("t", "back to the current period"),
    ("p l b", "group by project / language / branch"),
    ("/", "filter (Enter applies, Esc cancels)"),
    ("↑ ↓  j k", "scroll, or select a project"),
    ("PgUp PgDn g G", "page, top, bottom"),
    ("f", "focus the next list"),
    ("Enter  click", "open the selected project"),
    ("mouse wheel", "scroll the list under the pointer"),
    ("r", "reload"),
    ("? h", "this help"),
    ("Esc", "close help / clear the filter / quit"),
    ("q  Ctrl-C", "quit"),
];

fn render_help(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let w = area.width.saturating_sub(4).min(60);
    let h = area
        .height
        .saturating_sub(2)
        .min(u16::try_from(HELP.len() + 2).unwrap_or(u16::MAX));
    if w < 10 || h < 3 {
        return;
    }
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    let inner = pane(frame, theme, rect, "Keys", Some("Esc closes".into()), true);
    let cells = usize::from(inner.width);
    let key_cells = 16.min(cells / 2);
    let lines = HELP
        .iter()
        .map(|(key, what)| {
            Line::from(fit_spans(
                vec![
                    span(
                        format!(" {}", fit(key, key_cells.saturating_sub(1))),
                        theme.key(),
                    ),
                    span(format!(" {what}"), theme.base()),
                ],
                cells,
            ))
        })
        .collect();
    draw_lines(frame, inner, lines);
}

fn render_placeholder(app: &App, frame: &mut Frame, area: Rect) {
    let message = match &app.connection {
        Connection::Disconnected(_) => "no data: the daemon is unreachable",
        _ => "loading…",
    };
    let cells = usize::from(area.width);
    let mut lines = vec![Line::raw(""); usize::from(area.height / 2)];
    let text = truncate(message, cells);
    let pad = (cells - width(&text)) / 2;
    lines.push(Line::from(fit_spans(
        vec![
            span(" ".repeat(pad), app.theme.base()),
            span(text, app.theme.dim()),
        ],
        cells,
    )));
    draw_lines(frame, area, lines);
}

/// Below [`MIN_WIDTH`]×[`MIN_HEIGHT`]: the essentials, one per line, as many as fit.
fn render_compact(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let cells = usize::from(area.width);
    let (label, total) = match app.current_data() {
        Some(Data::Today(d)) => (d.label.as_str(), Some(d.total_seconds)),
        Some(Data::Period(d)) => (d.label.as_str(), Some(d.total_seconds)),
        Some(Data::Project(d)) => (d.label.as_str(), Some(d.total_seconds)),
        None => ("", None),
    };
    let mut lines: Vec<Spans> = Vec::new();
    let total_text = total.map_or_else(|| "…".to_owned(), text::duration);
    lines.push(vec![
        span(total_text, theme.strong()),
        span(format!(" {}", app.view.title()), theme.title()),
    ]);
    if let Some(Data::Today(d)) = app.current_data()
        && let Some(c) = &d.current
    {
        lines.push(vec![
            span("▶ ", theme.live()),
            span(c.project.clone().unwrap_or_default(), theme.strong()),
            span(
                format!(" {}", text::elapsed(app.now_unix - c.since_unix)),
                theme.base(),
            ),
        ]);
    }
    if !label.is_empty() {
        lines.push(vec![span(label.to_owned(), theme.dim())]);
    }
    match &app.connection {
        Connection::Disconnected(m) => lines.push(vec![span(
            format!("daemon unreachable: {m}"),
            theme.error_line(),
        )]),
        _ => lines.push(vec![span("terminal too small", theme.dim())]),
    }
    let lines = lines
        .into_iter()
        .take(usize::from(area.height))
        .map(|s| Line::from(fit_spans(s, cells)))
        .collect();
    draw_lines(frame, area, lines);
}

// ---------------------------------------------------------------------------------------------
// Today

fn render_today(app: &App, data: &TodayData, frame: &mut Frame, body: Rect) {
    let layout = today_layout(body, data.lanes.is_some());
    let colors: HashMap<&str, usize> = app
        .legend
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.as_str(), i))
        .collect();
    render_now(app, data, &colors, frame, layout.now, layout.now_bordered);
    if let Some(timeline) = layout.timeline {
        render_timeline(app, data, &colors, frame, timeline);
    }
    let title = format!("By {}", app.group.title());
    render_bars(
        app,
        frame,
        layout.bars,
        &title,
        &data.bars,
        data.total_seconds,
        (app.group == Group::Project).then_some(&colors),
    );
    render_sessions(app, data, &colors, frame, layout.sessions);
}

fn render_now(
    app: &App,
    data: &TodayData,
    colors: &HashMap<&str, usize>,
    frame: &mut Frame,
    area: Rect,
    bordered: bool,
) {
    let theme = &app.theme;
    let inner = if bordered {
        pane(frame, theme, area, "Now", None, false)
    } else {
        area
    };
    let mut spans = Vec::new();
    match &data.current {
        Some(c) if c.active => {
            spans.push(span(" ● ", theme.live()));
            let project = c.project.as_deref().unwrap_or("no project");
            let style = c
                .project
                .as_deref()
                .and_then(|p| colors.get(p))
                .map_or(theme.strong(), |&i| theme.project(i).patch(theme.strong()));
            spans.push(span(text::clean(project).into_owned(), style));
            if let Some(branch) = &c.branch {
                spans.push(span(" on ", theme.dim()));
                spans.push(span(text::clean(branch).into_owned(), theme.base()));
            }
            spans.push(span("  for ", theme.dim()));
            spans.push(span(
                text::elapsed(app.now_unix - c.since_unix),
                theme.strong(),
            ));
            if let Some(running) = &c.running {
                spans.push(span("  ▸ ", theme.warn()));
                spans.push(span(text::clean(running).into_owned(), theme.warn()));
            }
            if let Some(language) = &c.language {
                spans.push(span(format!("  {}", text::clean(language)), theme.dim()));
            }
            if !c.entity.is_empty() {
                spans.push(span(format!("  {}", text::clean(&c.entity)), theme.dim()));
            }
        }
        Some(c) => {
            spans.push(span(" ○ idle", theme.dim()));
            spans.push(span(
                format!(
                    " since {}",
                    text::clock(c.last_unix, data.utc_offset_seconds)
                ),
                theme.dim(),
            ));
            if let Some(project) = &c.project {
                spans.push(span("  last: ", theme.dim()));
                spans.push(span(text::clean(project).into_owned(), theme.base()));
            }
        }
        None => spans.push(span(" ○ nothing running", theme.dim())),
    }
    if let Some(f) = &data.focus {
        let left = (f.due_unix - app.now_unix).max(0.0);
        spans.push(span("  ◷ focus ", theme.warn()));
        spans.push(span(
            format!("{} left", text::elapsed(left)),
            theme.strong(),
        ));
        spans.push(span(
            format!(" · {} active", text::duration(f.active_seconds)),
            theme.dim(),
        ));
    }
    if inner.height > 0 {
        one_line(frame, Rect { height: 1, ..inner }, spans);
    }
}

/// Hour-label step so labels ("12") keep a cell of space between them.
fn hour_step(cells: usize) -> usize {
    [1, 2, 3, 4, 6, 12]
        .into_iter()
        .find(|step| cells * step >= 24 * 3)
        .unwrap_or(24)
}

fn render_timeline(
    app: &App,
    data: &TodayData,
    colors: &HashMap<&str, usize>,
    frame: &mut Frame,
    area: Rect,
) {
    let theme = &app.theme;
    let inner = pane(frame, theme, area, "Timeline", None, false);
    let cells = usize::from(inner.width);
    if cells == 0 || inner.height == 0 {
        return;
    }
    let start = data.day_start_unix;
    // 23 or 25 hours on the days clocks change.
    let day_secs = match data.day_end_unix - start {
        d if d > 0.0 && d.is_finite() => d.round() as usize,
        _ => 86_400,
    };
    let day = day_secs as f64;
    let cell_secs = day / cells as f64;
    // Per cell, the seconds of each project in it; the cell shows the biggest.
    let mut per_cell: Vec<Vec<(usize, f64)>> = vec![Vec::new(); cells];
    for seg in &data.timeline {
        let s = seg.start_unix.max(start);
        let e = seg.end_unix.min(start + day);
        // Also skips NaN bounds.
        if e.partial_cmp(&s) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let project = colors
            .get(seg.project.as_str())
            .copied()
            .unwrap_or(usize::MAX);
        let c0 = (((s - start) / cell_secs).floor() as usize).min(cells - 1);
        let c1 = (((e - start) / cell_secs).ceil() as usize).clamp(c0 + 1, cells);
        for (c, slot) in per_cell.iter_mut().enumerate().take(c1).skip(c0) {
            let cs = start + c as f64 * cell_secs;
            let overlap = e.min(cs + cell_secs) - s.max(cs);
            if overlap > 0.0 {
                match slot.iter_mut().find(|(p, _)| *p == project) {
                    Some((_, t)) => *t += overlap,
                    None => slot.push((project, overlap)),
                }
            }
        }
    }
    let future_from = if data.now_unix > start && data.now_unix < start + day {
        ((data.now_unix - start) / cell_secs).ceil() as usize
    } else {
        cells
    };
    // Runs of equal glyph+style become one span.
    let mut track: Spans = Vec::new();
    let mut run = String::new();
    let mut run_style = theme.base();
    for (c, slot) in per_cell.iter().enumerate() {
        let best = slot
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|&(p, _)| p);
        let (glyph, style) = match best {
            Some(p) if theme.color => ('█', theme.project(p)),
            Some(p) => (project_mark(p), theme.strong()),
            None if c >= future_from => (' ', theme.base()),
            None => ('·', theme.dim()),
        };
        if style != run_style && !run.is_empty() {
            track.push(span(std::mem::take(&mut run), run_style));
        }
        run_style = style;
        run.push(glyph);
    }
    track.push(span(run, run_style));

    let mut axis = vec![' '; cells];
    let step = hour_step(cells);
    // Elapsed hours from midnight: after a clock change the labels are off by one hour.
    for hour in (0..day_secs / 3600).step_by(step) {
        let at = hour * 3600 * cells / day_secs;
        let label = hour.to_string();
        if at + label.len() <= cells {
            for (i, ch) in label.chars().enumerate() {
                axis[at + i] = ch;
            }
        }
    }
    let axis: String = axis.into_iter().collect();

    let mut legend: Spans = Vec::new();
    let mut used = 0;
    for (i, (name, seconds)) in app.legend.iter().enumerate() {
        let (glyph, style) = if theme.color {
            ("█".to_owned(), theme.project(i))
        } else {
            (project_mark(i).to_string(), theme.strong())
        };
        let item = format!(" {} {}", truncate(name, 24), text::duration(*seconds));
        let item_w = 1 + width(&item) + 1;
        let left = app.legend.len() - i;
        // Leave room for "+N" unless this is the last item.
        let reserve = if left > 1 { 6 } else { 0 };
        if used + item_w + reserve > cells {
            legend.push(span(format!("+{left}"), theme.dim()));
            break;
        }
        legend.push(span(glyph, style));
        legend.push(span(item, theme.base()));
        legend.push(span(" ", theme.base()));
        used += item_w;
    }
    let mut lines = vec![
        Line::from(fit_spans(track, cells)),
        Line::from(span(fit(&axis, cells), theme.dim())),
        Line::from(fit_spans(legend, cells)),
    ];
    let lines: Vec<Line> = match inner.height {
        1 => vec![lines[0].clone()],
        2 => vec![lines[0].clone(), lines[2].clone()],
        3 => lines,
        _ => {
            if let Some(l) = &data.lanes {
                lines.push(Line::from(fit_spans(lane_spans(app, l), cells)));
            }
            lines
        }
    };
    draw_lines(frame, inner, lines);
}

/// The lanes in one line: the human's time, the agents' (each), and both at once.
fn lane_spans(app: &App, l: &crate::model::Lanes) -> Spans {
    let theme = &app.theme;
    let mut spans = vec![
        span("human ", theme.dim()),
        span(text::duration(l.human_seconds), theme.strong()),
        span("  agents ", theme.dim()),
        span(text::duration(l.agent_seconds), theme.strong()),
    ];
    if !l.agents.is_empty() {
        let each: Vec<String> = l
            .agents
            .iter()
            .map(|a| format!("{} {}", text::clean(&a.name), text::duration(a.seconds)))
            .collect();
        spans.push(span(format!(" ({})", each.join(", ")), theme.dim()));
    }
    spans.push(span("  both ", theme.dim()));
    spans.push(span(text::duration(l.overlap_seconds), theme.strong()));
    spans
}

/// A horizontal bar chart pane: name, bar, duration, share of `total`.
fn render_bars(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    bars: &[Bar],
    total: f64,
    colors: Option<&HashMap<&str, usize>>,
) {
    render_bar_list(
        app,
        frame,
        area,
        title,
        bars,
        total,
        colors,
        Some(Pane::Bars),
    );
}

#[allow(clippy::too_many_arguments)]
fn render_bar_list(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    bars: &[Bar],
    total: f64,
    colors: Option<&HashMap<&str, usize>>,
    scrollable: Option<Pane>,
) {
    let theme = &app.theme;
    let Some(Visible {
        inner,
        cells,
        rows: visible,
        ..
    }) = list_pane(app, frame, area, title, bars, scrollable, "time")
    else {
        return;
    };
    let max = bars.iter().map(|b| b.seconds).fold(0.0_f64, f64::max);
    let total = if total > 0.0 {
        total
    } else {
        bars.iter().map(|b| b.seconds).sum()
    };
    let durations: Vec<String> = visible.iter().map(|b| text::duration(b.seconds)).collect();
    let dw = durations.iter().map(|d| width(d)).max().unwrap_or(2);
    let pw = 4;
    let show_pct = cells >= dw + pw + 14;
    let rest = cells.saturating_sub(dw + 1 + if show_pct { pw + 1 } else { 0 });
    let longest = visible.iter().map(|b| width(&b.name)).max().unwrap_or(0);
    let (nw, bw) = if rest >= 16 {
        let nw = longest.min(rest * 45 / 100).max(longest.min(8)).max(1);
        (nw, rest - nw - 1)
    } else {
        (rest, 0)
    };
    let lines = visible
        .iter()
        .zip(durations)
        .map(|(b, d)| {
            if cells <= dw + 1 {
                return Line::from(span(fit(&b.name, cells), theme.base()));
            }
            let style = colors
                .and_then(|c| c.get(b.name.as_str()))
                .map_or(theme.bar(), |&i| theme.project(i));
            let mut s = vec![span(fit(&b.name, nw), theme.base())];
            if bw > 0 {
                s.push(span(" ", theme.base()));
                let fraction = if max > 0.0 { b.seconds / max } else { 0.0 };
                s.push(span(text::bar(fraction, bw), style));
            }
            s.push(span(format!(" {}", fit_right(&d, dw)), theme.strong()));
            if show_pct {
                s.push(span(
                    format!(" {}", fit_right(&text::percent(b.seconds, total), pw)),
                    theme.dim(),
                ));
            }
            Line::from(fit_spans(s, cells))
        })
        .collect();
    draw_lines(frame, inner, lines);
}

fn render_sessions(
    app: &App,
    data: &TodayData,
    colors: &HashMap<&str, usize>,
    frame: &mut Frame,
    area: Rect,
) {
    let theme = &app.theme;
    let Some(Visible {
        inner, cells, rows, ..
    }) = list_pane(
        app,
        frame,
        area,
        "Sessions",
        &data.sessions,
        Some(Pane::Sessions),
        "sessions",
    )
    else {
        return;
    };
    let lines = rows
        .iter()
        .map(|s| {
            let style = colors
                .get(s.project.as_str())
                .map_or(theme.base(), |&i| theme.project(i));
            let mut spans = vec![
                span(
                    format!(
                        "{}–{} ",
                        text::clock(s.start_unix, data.utc_offset_seconds),
                        text::clock(s.end_unix, data.utc_offset_seconds)
                    ),
                    theme.dim(),
                ),
                span(fit_right(&text::duration(s.seconds), 7), theme.strong()),
                span(" ", theme.base()),
                span(text::clean(&s.project).into_owned(), style),
            ];
            if let Some(branch) = &s.branch {
                spans.push(span(format!(" {}", text::clean(branch)), theme.dim()));
            }
            Line::from(fit_spans(spans, cells))
        })
        .collect();
    draw_lines(frame, inner, lines);
}

// ---------------------------------------------------------------------------------------------
// Week and Month

fn render_period_view(app: &App, data: &PeriodData, frame: &mut Frame, body: Rect) {
    let theme = &app.theme;
    let layout = period_layout(app, data, body);
    let active_days = data.days.iter().filter(|d| d.seconds > 0.0).count();
    let mut summary = vec![
        span(" daily average ", theme.dim()),
        span(text::duration(data.daily_average_seconds), theme.strong()),
        span(
            format!(" · {active_days} of {} days active", data.days.len()),
            theme.dim(),
        ),
    ];
    if let Some(best) = data
        .days
        .iter()
        .filter(|d| d.seconds > 0.0)
        .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
    {
        summary.push(span(" · best ", theme.dim()));
        summary.push(span(
            format!(
                "{} ({})",
                text::clean(&best.label),
                text::duration(best.seconds)
            ),
            theme.base(),
        ));
    }
    one_line(frame, layout.summary, summary);
    match app.view {
        View::Month => render_calendar(app, data, frame, layout.chart),
        _ => render_days(app, data, frame, layout.chart),
    }
    render_bars(
        app,
        frame,
        layout.bars,
        &format!("By {}", app.group.title()),
        &data.bars,
        data.total_seconds,
        None,
    );
    let others: Vec<(&str, &[Bar])> = match app.group {
        Group::Project => vec![("Languages", &data.languages)],
        Group::Language => vec![("Projects", &data.projects)],
        Group::Branch => vec![("Projects", &data.projects), ("Languages", &data.languages)],
    };
    for (area, (title, bars)) in layout.others.iter().zip(others) {
        render_bar_list(
            app,
            frame,
            *area,
            title,
            bars,
            data.total_seconds,
            None,
            None,
        );
    }
}

fn render_days(app: &App, data: &PeriodData, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let inner = pane(frame, theme, area, "Days", None, false);
    let cells = usize::from(inner.width);
    if cells == 0 || inner.height == 0 {
        return;
    }
    let max = data.days.iter().map(|d| d.seconds).fold(0.0_f64, f64::max);
    let label_w = data
        .days
        .iter()
        .map(|d| width(&d.label))
        .max()
        .unwrap_or(0)
        .min(12);
    let dw = 7;
    let bw = cells.saturating_sub(label_w + dw + 2);
    let lines = data
        .days
        .iter()
        .take(usize::from(inner.height))
        .map(|d| {
            let mut s = vec![span(fit(&d.label, label_w), theme.base())];
            if bw > 0 {
                let fraction = if max > 0.0 { d.seconds / max } else { 0.0 };
                s.push(span(" ", theme.base()));
                s.push(span(text::bar(fraction, bw), theme.bar()));
            }
            let dur_style = if d.seconds > 0.0 {
                theme.strong()
            } else {
                theme.dim()
            };
            s.push(span(
                format!(" {}", fit_right(&text::duration(d.seconds), dw)),
                dur_style,
            ));
            Line::from(fit_spans(s, cells))
        })
        .collect();
    draw_lines(frame, inner, lines);
}

/// Heat level 0–4 of `seconds` against the period's busiest day.
fn heat_level(seconds: f64, max: f64) -> usize {
    if seconds <= 0.0 || max <= 0.0 {
        0
    } else {
        ((seconds / max * 4.0).ceil() as usize).clamp(1, 4)
    }
}

/// Day of the month from "YYYY-MM-DD" (falls back to the label's digits).
fn day_of_month(day: &DayTotal) -> String {
    let from_date = day
        .date
        .rsplit('-')
        .next()
        .and_then(|d| d.parse::<u32>().ok());
    match from_date {
        Some(n) => n.to_string(),
        None => day
            .label
            .chars()
            .filter(char::is_ascii_digit)
            .take(2)
            .collect(),
    }
}

fn render_calendar(app: &App, data: &PeriodData, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let max = data.days.iter().map(|d| d.seconds).fold(0.0_f64, f64::max);
    let mut key = String::from("·");
    for level in 1..=4 {
        key.push(' ');
        key.push(heat_char(level));
    }
    let note = (max > 0.0).then(|| format!("{key} max {}", text::duration(max)));
    let inner = pane(frame, theme, area, "Calendar", note, false);
    let cells = usize::from(inner.width);
    if cells < 7 || inner.height == 0 {
        return;
    }
    // Columns as even as possible; the first ones take the remainder.
    let widths: Vec<usize> = (0..7)
        .map(|i| cells / 7 + usize::from(i < cells % 7))
        .collect();
    let mut lines = Vec::new();
    let header: Spans = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .zip(&widths)
        .map(|(name, &w)| span(fit(name, w), theme.dim()))
        .collect();
    lines.push(Line::from(fit_spans(header, cells)));
    let first = data
        .days
        .first()
        .map_or(0, |d| usize::from(d.weekday.min(6)));
    let weeks = calendar_weeks(&data.days);
    for week in 0..weeks.min(usize::from(inner.height) - 1) {
        let mut row = Vec::new();
        for (col, &w) in widths.iter().enumerate() {
            let index = (week * 7 + col).checked_sub(first);
            match index.and_then(|i| data.days.get(i)) {
                Some(day) => row.extend(calendar_cell(theme, day, max, w)),
                None => row.push(span(" ".repeat(w), theme.base())),
            }
        }
        lines.push(Line::from(fit_spans(row, cells)));
    }
    draw_lines(frame, inner, lines);
}

/// One calendar cell `w` wide: "23 ▓▓▓ 5.2h " (day, shade, hours, gap), less when narrow.
fn calendar_cell(theme: &Theme, day: &DayTotal, max: f64, w: usize) -> Spans {
    let level = heat_level(day.seconds, max);
    let shade = heat_char(level);
    let dd = fit_right(&day_of_month(day), 2);
    let dd_style = if level > 0 {
        theme.strong()
    } else {
        theme.dim()
    };
    if w >= 10 {
        let k = w - 9;
        vec![
            span(dd, dd_style),
            span(" ", theme.base()),
            span(shade.to_string().repeat(k), theme.heat(level)),
            span(
                format!(" {} ", fit_right(&text::hours_compact(day.seconds), 4)),
                theme.base(),
            ),
        ]
    } else if w >= 5 {
        vec![
            span(dd, dd_style),
            span(" ", theme.base()),
            span(shade.to_string().repeat(w - 4), theme.heat(level)),
            span(" ", theme.base()),
        ]
    } else {
        vec![span(shade.to_string().repeat(w), theme.heat(level))]
    }
}

// ---------------------------------------------------------------------------------------------
// Project

fn render_project(app: &App, data: &ProjectData, frame: &mut Frame, body: Rect) {
    let theme = &app.theme;
    let layout = project_layout(body);
    render_project_list(app, data, frame, layout.projects);

    let heading = match &data.project {
        Some(p) => vec![
            span(" ", theme.base()),
            span(text::clean(p).into_owned(), theme.title()),
            span(" · ", theme.dim()),
            span(text::duration(data.total_seconds), theme.strong()),
            span(
                format!(
                    " · {} branches · {} files · {} commits",
                    data.branches.len(),
                    data.files.len(),
                    data.commits.len()
                ),
                theme.dim(),
            ),
        ],
        None => vec![span(" no project in this period", theme.dim())],
    };
    one_line(frame, layout.heading, heading);
    render_bar_list(
        app,
        frame,
        layout.branches,
        "Branches",
        &data.branches,
        data.total_seconds,
        None,
        Some(Pane::Branches),
    );
    render_files(app, data, frame, layout.files);
    render_commits(app, data, frame, layout.commits);
}

fn render_project_list(app: &App, data: &ProjectData, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let Some(Visible {
        inner,
        cells,
        first,
        rows,
    }) = list_pane(
        app,
        frame,
        area,
        "Projects",
        &data.projects,
        Some(Pane::Projects),
        "projects",
    )
    else {
        return;
    };
    let lines = rows
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let index = first + i;
            let open = data.project.as_ref() == Some(&b.name);
            let marker = if open { "▶ " } else { "  " };
            let dur = text::duration(b.seconds);
            let name_w = cells.saturating_sub(2 + 1 + width(&dur));
            let mut line = Line::from(fit_spans(
                vec![
                    span(marker, theme.key()),
                    span(
                        fit(&b.name, name_w),
                        if open { theme.strong() } else { theme.base() },
                    ),
                    span(format!(" {dur}"), theme.dim()),
                ],
                cells,
            ));
            if index == app.selected {
                line = line.style(theme.selected());
            }
            line
        })
        .collect();
    draw_lines(frame, inner, lines);
}

fn render_files(app: &App, data: &ProjectData, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let Some(Visible {
        inner, cells, rows, ..
    }) = list_pane(
        app,
        frame,
        area,
        "Files",
        &data.files,
        Some(Pane::Files),
        "files",
    )
    else {
        return;
    };
    let lines = rows
        .iter()
        .map(|f| {
            let dur = fit_right(&text::duration(f.seconds), 7);
            let name_w = cells.saturating_sub(8);
            // Paths keep their end (the file name) when cut.
            let name = truncate_start(&f.name, name_w);
            Line::from(fit_spans(
                vec![
                    span(fit(&name, name_w), theme.base()),
                    span(format!(" {dur}"), theme.strong()),
                ],
                cells,
            ))
        })
        .collect();
    draw_lines(frame, inner, lines);
}

fn render_commits(app: &App, data: &ProjectData, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let Some(Visible {
        inner, cells, rows, ..
    }) = list_pane(
        app,
        frame,
        area,
        "Commits",
        &data.commits,
        Some(Pane::Commits),
        "commits",
    )
    else {
        return;
    };
    let lines = rows
        .iter()
        .map(|c| {
            let mut spans = vec![
                span(format!("{} ", fit(&c.sha, 7)), theme.key()),
                span(
                    format!("{} ", text::date_time(c.time_unix, data.utc_offset_seconds)),
                    theme.dim(),
                ),
                span(fit_right(&text::duration(c.seconds), 7), theme.strong()),
                span(format!(" {}", text::clean(&c.summary)), theme.base()),
            ];
            if let Some(branch) = &c.branch {
                spans.push(span(format!(" ({})", text::clean(branch)), theme.dim()));
            }
            Line::from(fit_spans(spans, cells))
        })
        .collect();
    draw_lines(frame, inner, lines);
}
