//! The SVG charts: bars per dimension, stacked bars per day, a day's timeline and a year's
//! calendar heatmap. Each is markup (escaped like the rest of the page, titles included), with
//! a text equivalent for screen readers (`aria-label` on each link or the figure) and the raw
//! numbers in `data-*` attributes, so tests compare them with the JSON reports.

use crate::cli::format::duration;
use crate::report::{NONE_NAME, Row, Segment};
use jiff::civil::{Date, Weekday};
use maud::{Markup, html};

/// Colours for the top projects (CSS classes `c0`…`c6`); everything else is `c7`.
pub const COLOURS: usize = 7;

/// Which colour a name gets: its rank among the top names of the range.
#[derive(Debug, Clone, Default)]
pub struct Palette {
    names: Vec<String>,
}

impl Palette {
    /// The first [`COLOURS`] of `names` (most time first) get their own colour.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Palette {
        Palette {
            names: names
                .into_iter()
                .take(COLOURS)
                .map(str::to_string)
                .collect(),
        }
    }

    pub fn index(&self, name: &str) -> usize {
        self.names.iter().position(|n| n == name).unwrap_or(COLOURS)
    }

    pub fn class(&self, name: &str) -> String {
        format!("c{}", self.index(name))
    }

    /// Legend entries: the named colours, then "other" when there is more.
    pub fn legend(&self, more: bool) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("c{i}"), n.clone()))
            .collect();
        if more {
            out.push((format!("c{COLOURS}"), "other".to_string()));
        }
        out
    }
}

/// `name` cut to `max` characters (with an ellipsis); the full name goes in titles.
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let mut s: String = name.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

fn f(x: f64) -> String {
    format!("{x:.1}")
}

/// Horizontal bars, one per row (at most `limit`), each a link (keyboard focusable) to what
/// `href` gives for its name.
pub fn bars(
    dim: &str,
    rows: &[Row],
    limit: usize,
    href: &dyn Fn(&str) -> Option<String>,
) -> Markup {
    // Narrow, so that text stays legible in a third of a desktop and on a phone alike.
    const W: f64 = 320.0;
    const ROW: f64 = 30.0;
    let shown = &rows[..rows.len().min(limit)];
    let top = shown.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let height = ROW * shown.len() as f64 + 2.0;
    html! {
        svg.bars viewBox={"0 0 " (W) " " (f(height))} role="group"
            aria-label={ "Time by " (dim) } data-chart="bars" data-dim=(dim) {
            @for (i, r) in shown.iter().enumerate() {
                @let y = i as f64 * ROW;
                @let label = format!("{}: {} ({:.1}%)", r.name, duration(r.seconds), r.percent);
                @let width = if top > 0.0 { (W * r.seconds / top).max(1.0) } else { 0.0 };
                @let class = if r.name == NONE_NAME { "bar none" } else { "bar" };
                @let body = html! {
                    title { (label) }
                    text.name x="0" y=(f(y + 12.0)) { (shorten(&r.name, 36)) }
                    text.value x=(W) y=(f(y + 12.0)) text-anchor="end" { (duration(r.seconds)) }
                    rect class=(class) x="0" y=(f(y + 16.0)) width=(f(width)) height="9" rx="2" {}
                };
                @match href(&r.name) {
                    Some(url) => a href=(url) aria-label=(label) data-name=(r.name) data-seconds=(r.seconds) { (body) }
                    None => g role="listitem" aria-label=(label) data-name=(r.name) data-seconds=(r.seconds) { (body) }
                }
            }
        }
    }
}

/// A column of the stacked chart: a day (or week, or month) and its time per name.
pub struct Column {
    /// Shown under the column.
    pub label: String,
    /// Said by screen readers and in the title ("Mon 24 Nov 2025").
    pub long_label: String,
    pub href: Option<String>,
    pub seconds: f64,
    pub parts: Vec<(String, f64)>,
}

/// Stacked columns on an hour axis.
pub fn stacked(columns: &[Column], palette: &Palette) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 200.0;
    const LEFT: f64 = 36.0;
    const BOTTOM: f64 = 20.0;
    let plot_h = H - BOTTOM - 8.0;
    let max_hours = columns.iter().map(|c| c.seconds).fold(0.0, f64::max) / 3600.0;
    let step = [
        1.0, 2.0, 3.0, 4.0, 6.0, 12.0, 24.0, 48.0, 100.0, 200.0, 500.0,
    ]
    .into_iter()
    .find(|s| max_hours / s <= 5.0)
    .unwrap_or(1000.0);
    let top = (max_hours / step).ceil().max(1.0) * step;
    let y_of = |seconds: f64| 8.0 + plot_h - plot_h * (seconds / 3600.0) / top;
    let n = columns.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let bar = (slot * 0.7).clamp(1.0, 48.0);
    // Labels that fit: every k-th column.
    let every = ((40.0 / slot).ceil() as usize).max(1);
    let ticks: Vec<f64> = (0..=((top / step) as usize))
        .map(|i| i as f64 * step)
        .collect();
    html! {
        svg.stacked viewBox={"0 0 " (W) " " (H)} role="group" aria-label="Time per day"
            data-chart="days" {
            @for t in &ticks {
                @let y = y_of(t * 3600.0);
                line.grid x1=(LEFT) x2=(W) y1=(f(y)) y2=(f(y)) {}
                text.axis x=(LEFT - 4.0) y=(f(y + 4.0)) text-anchor="end" { (t) "h" }
            }
            @for (i, c) in columns.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                @let label = format!("{}: {}", c.long_label, duration(c.seconds));
                @let stack: Vec<(&String, f64, f64, f64)> = c.parts.iter().scan(0.0, |acc, (name, s)| {
                    let (y1, y0) = (y_of(*acc + s), y_of(*acc));
                    *acc += s;
                    Some((name, *s, y1, (y0 - y1).max(0.0)))
                }).collect();
                @let body = html! {
                    title { (label) @for (name, s) in &c.parts { "\n" (name) ": " (duration(*s)) } }
                    @for (name, s, y, h) in &stack {
                        rect class=(palette.class(name)) x=(f(x)) y=(f(*y)) width=(f(bar))
                            height=(f(*h)) data-name=(name) data-seconds=(s) {}
                    }
                    @if i % every == 0 {
                        text.axis x=(f(x + bar / 2.0)) y=(H - 5.0) text-anchor="middle" { (c.label) }
                    }
                };
                @match &c.href {
                    Some(url) => a href=(url) aria-label=(label) data-label=(c.long_label) data-seconds=(c.seconds) { (body) }
                    None => g aria-label=(label) data-label=(c.long_label) data-seconds=(c.seconds) { (body) }
                }
            }
            line.axis-line x1=(LEFT) x2=(W) y1=(f(y_of(0.0))) y2=(f(y_of(0.0))) {}
        }
    }
}

/// A day's credited time as stretches of one project, on a clock axis. `start`/`end` are the
/// day's bounds in ms (23 or 25 hours on DST days); `clock` names an instant.
pub fn timeline(
    start: i64,
    end: i64,
    segments: &[Segment],
    palette: &Palette,
    clock: &dyn Fn(i64) -> String,
) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 56.0;
    let span = (end - start).max(1) as f64;
    let x_of = |ms: i64| W * (ms - start) as f64 / span;
    let hours = (end - start) / 3_600_000;
    let total: f64 = segments.iter().map(|s| s.end_unix - s.start_unix).sum();
    html! {
        svg.timeline viewBox={"0 0 " (W) " " (H)} role="img"
            aria-label={ "Timeline of the day: " (duration(total)) " in " (segments.len()) " stretches" }
            data-chart="timeline" data-seconds=(total) {
            rect.track x="0" y="4" width=(W) height="28" {}
            @for h in (0..=hours).step_by(3) {
                @let x = x_of(start + h * 3_600_000);
                @let anchor = if h == 0 { "start" } else if x > W - 20.0 { "end" } else { "middle" };
                line.grid x1=(f(x)) x2=(f(x)) y1="2" y2="36" {}
                text.axis x=(f(x)) y="50" text-anchor=(anchor) { (clock(start + h * 3_600_000)) }
            }
            @for s in segments {
                @let (a, b) = ((s.start_unix * 1000.0) as i64, (s.end_unix * 1000.0) as i64);
                @let secs = s.end_unix - s.start_unix;
                rect class=(palette.class(&s.project)) x=(f(x_of(a))) y="4"
                    width=(f((x_of(b) - x_of(a)).max(0.5))) height="28"
                    data-name=(s.project) data-seconds=(secs) {
                    title { (clock(a)) "–" (clock(b)) " " (s.project) " (" (duration(secs)) ")" }
                }
            }
        }
    }
}

/// The human's lane over the agents' on a day's time axis: where each was active, each on its
/// own timeline (`tf report --ai`), so stretches of the two tracks may overlap.
pub fn lanes(
    start: i64,
    end: i64,
    spans: &crate::report::ai::LaneSpans,
    clock: &dyn Fn(i64) -> String,
) -> Markup {
    const W: f64 = 720.0;
    const LEFT: f64 = 64.0;
    const H: f64 = 82.0;
    let span = (end - start).max(1) as f64;
    let x_of = |ms: i64| LEFT + (W - LEFT) * (ms - start).clamp(0, end - start) as f64 / span;
    let hours = (end - start) / 3_600_000;
    let seconds =
        |spans: &[(i64, i64)]| spans.iter().map(|(a, b)| b - a).sum::<i64>() as f64 / 1000.0;
    let tracks = [
        ("human", "You", 4.0, &spans.human),
        ("agent", "Agents", 32.0, &spans.agent),
    ];
    html! {
        svg.timeline.lanes viewBox={"0 0 " (W) " " (H)} role="img"
            aria-label={ "Lanes of the day: you " (duration(seconds(&spans.human))) ", agents " (duration(seconds(&spans.agent))) }
            data-chart="lanes" {
            @for (_, label, y, _) in tracks {
                text.name x="0" y=(f(y + 15.0)) { (label) }
                rect.track x=(LEFT) y=(f(y)) width=(W - LEFT) height="22" {}
            }
            @for h in (0..=hours).step_by(3) {
                @let x = x_of(start + h * 3_600_000);
                @let anchor = if h == 0 { "start" } else if x > W - 20.0 { "end" } else { "middle" };
                line.grid x1=(f(x)) x2=(f(x)) y1="2" y2="58" {}
                text.axis x=(f(x)) y="74" text-anchor=(anchor) { (clock(start + h * 3_600_000)) }
            }
            @for (lane, label, y, list) in tracks {
                g data-lane=(lane) data-seconds=(seconds(list)) {
                    @for (a, b) in list.iter().copied() {
                        @let secs = (b - a) as f64 / 1000.0;
                        rect class={ "lane-" (lane) } x=(f(x_of(a))) y=(f(y))
                            width=(f((x_of(b) - x_of(a)).max(0.5))) height="22" data-seconds=(secs) {
                            title { (label) ": " (clock(a)) "–" (clock(b)) " (" (duration(secs)) ")" }
                        }
                    }
                }
            }
        }
    }
}

/// One day of the heatmap.
pub struct Cell {
    pub date: Date,
    pub seconds: f64,
    pub href: Option<String>,
}

/// A year as weeks (columns) of days (rows, from `week_start`), shaded by time.
pub fn heatmap(cells: &[Cell], week_start: Weekday) -> Markup {
    const CELL: f64 = 11.0;
    const STEP: f64 = 13.0;
    const LEFT: f64 = 28.0;
    const TOP: f64 = 16.0;
    let max = cells.iter().map(|c| c.seconds).fold(0.0, f64::max);
    let level = |s: f64| -> usize {
        if s <= 0.0 || max <= 0.0 {
            0
        } else {
            (1 + (3.0 * s / max).floor() as usize).min(4)
        }
    };
    let row_of = |d: Date| {
        (d.weekday().to_monday_zero_offset() - week_start.to_monday_zero_offset()).rem_euclid(7)
            as usize
    };
    let first_row = cells.first().map_or(0, |c| row_of(c.date));
    let pos = |i: usize| -> (usize, usize) {
        let k = i + first_row;
        (k / 7, k % 7)
    };
    let weeks = pos(cells.len().saturating_sub(1)).0 + 1;
    let width = LEFT + STEP * weeks as f64 + 2.0;
    let height = TOP + STEP * 7.0 + 2.0;
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let start_offset = week_start.to_monday_zero_offset() as usize;
    html! {
        svg.heatmap viewBox={"0 0 " (f(width)) " " (f(height))} role="group"
            aria-label="Time per day of the year" data-chart="calendar" {
            @for r in [0usize, 2, 4] {
                text.axis x="0" y=(f(TOP + STEP * r as f64 + 9.0)) { (names[(r + start_offset) % 7]) }
            }
            @for (i, c) in cells.iter().enumerate() {
                @let (col, row) = pos(i);
                @let (x, y) = (LEFT + STEP * col as f64, TOP + STEP * row as f64);
                @if c.date.day() == 1 {
                    text.axis x=(f(x)) y="10" { (c.date.strftime("%b")) }
                }
                @let label = format!("{}: {}", c.date.strftime("%a %-d %b %Y"), duration(c.seconds));
                @let cell = html! {
                    rect class={ "l" (level(c.seconds)) } x=(f(x)) y=(f(y)) width=(CELL) height=(CELL) rx="2"
                        data-date=(c.date) data-seconds=(c.seconds) { title { (label) } }
                };
                @match &c.href {
                    Some(url) if c.seconds > 0.0 => a href=(url) aria-label=(label) { (cell) }
                    _ => (cell)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, seconds: f64) -> Row {
        Row {
            name: name.into(),
            seconds,
            percent: 50.0,
        }
    }

    #[test]
    fn names_are_escaped_in_text_titles_and_attributes() {
        let evil = "<script>alert(1)</script>\"'&";
        let svg = bars("project", &[row(evil, 60.0)], 10, &|n| {
            Some(format!("/x?p={n}"))
        })
        .into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(!svg.contains("\"'&\""), "{svg}");
        let seg = Segment {
            start_unix: 0.0,
            end_unix: 60.0,
            project: evil.into(),
        };
        let t = timeline(0, 86_400_000, &[seg], &Palette::new([evil]), &|_| {
            "00:00".into()
        })
        .into_string();
        assert!(
            !t.contains("<script>") && t.contains("&lt;script&gt;"),
            "{t}"
        );
    }

    #[test]
    fn bars_scale_to_the_largest_and_stop_at_the_limit() {
        let rows = [row("a", 100.0), row("b", 50.0), row("c", 0.0)];
        let svg = bars("project", &rows, 2, &|_| None).into_string();
        assert!(svg.contains("width=\"320.0\""), "{svg}");
        assert!(svg.contains("width=\"160.0\""), "{svg}");
        assert!(!svg.contains("data-name=\"c\""), "{svg}");
    }

    #[test]
    fn long_names_are_shortened_on_screen_only() {
        let long = "x".repeat(300);
        assert_eq!(shorten(&long, 10).chars().count(), 10);
        let svg = bars("file", &[row(&long, 1.0)], 1, &|_| None).into_string();
        assert!(svg.contains(&long), "the full name stays in the title");
        assert!(svg.contains('…'));
    }

    #[test]
    fn heatmap_levels_and_layout() {
        let start = Date::new(2025, 1, 1).unwrap();
        let cells: Vec<Cell> = (0..365)
            .map(|i| Cell {
                date: start.checked_add(jiff::Span::new().days(i)).unwrap(),
                seconds: if i == 10 { 3600.0 } else { 0.0 },
                href: Some("/day".into()),
            })
            .collect();
        let svg = heatmap(&cells, Weekday::Monday).into_string();
        assert_eq!(svg.matches("<rect").count(), 365);
        assert_eq!(svg.matches("class=\"l4\"").count(), 1);
        // Only days with time are links.
        assert_eq!(svg.matches("<a ").count(), 1);
    }
}
