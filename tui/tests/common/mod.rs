//! Fixtures shared by the dashboard's tests: realistic view models and buffer helpers.
#![allow(dead_code)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use timeforged_tui::{
    App, Bar, CommitRow, Current, Data, DayTotal, Options, PeriodData, ProjectData, Segment,
    SessionRow, TodayData,
};
use unicode_width::UnicodeWidthStr;

/// Wed 25 Nov 2026, local midnight in CET (UTC+1).
pub const OFFSET: i32 = 3600;
pub const DAY_START: f64 = 1_795_564_800.0 - 3600.0;

pub fn at(h: u32, m: u32) -> f64 {
    DAY_START + f64::from(h * 3600 + m * 60)
}

pub fn today() -> TodayData {
    TodayData {
        label: "Wed 25 Nov 2026".into(),
        total_seconds: 16_800.0,
        current: Some(Current {
            project: Some("timeforged".into()),
            branch: Some("feature/tui".into()),
            language: Some("Rust".into()),
            entity: "src/render.rs".into(),
            running: Some("cargo test".into()),
            since_unix: at(14, 35) - 312.0,
            last_unix: at(14, 34),
            active: true,
        }),
        bars: vec![
            Bar::new("timeforged", 11_100.0),
            Bar::new("website", 4_200.0),
            Bar::new("dotfiles", 1_500.0),
        ],
        timeline: vec![
            seg(at(9, 0), at(11, 30), "timeforged"),
            seg(at(11, 45), at(12, 55), "website"),
            seg(at(13, 30), at(14, 5), "timeforged"),
            seg(at(14, 5), at(14, 30), "dotfiles"),
        ],
        sessions: vec![
            session(at(9, 0), at(11, 30), "timeforged", Some("main")),
            session(at(11, 45), at(12, 55), "website", None),
            session(at(13, 30), at(14, 35), "timeforged", Some("feature/tui")),
        ],
        day_start_unix: DAY_START,
        day_end_unix: DAY_START + 86_400.0,
        now_unix: at(14, 35),
        utc_offset_seconds: OFFSET,
        lanes: None,
        focus: None,
    }
}

pub fn seg(start: f64, end: f64, project: &str) -> Segment {
    Segment {
        start_unix: start,
        end_unix: end,
        project: project.into(),
    }
}

pub fn session(start: f64, end: f64, project: &str, branch: Option<&str>) -> SessionRow {
    SessionRow {
        start_unix: start,
        end_unix: end,
        seconds: end - start,
        project: project.into(),
        branch: branch.map(Into::into),
    }
}

/// A day with `n` projects, each with a session and a segment.
pub fn busy_day(n: usize) -> TodayData {
    let mut day = today();
    day.bars = (0..n)
        .map(|i| Bar::new(format!("project-{i:02}"), (n - i) as f64 * 120.0))
        .collect();
    day.timeline = (0..n)
        .map(|i| {
            let start = at(8, 0) + i as f64 * 600.0;
            seg(start, start + 500.0, &format!("project-{i:02}"))
        })
        .collect();
    day.sessions = (0..n)
        .map(|i| {
            let start = at(8, 0) + i as f64 * 600.0;
            session(
                start,
                start + 500.0,
                &format!("project-{i:02}"),
                Some("main"),
            )
        })
        .collect();
    day.total_seconds = day.bars.iter().map(|b| b.seconds).sum();
    day
}

/// Names that break naive width arithmetic.
pub fn hostile_names() -> Vec<String> {
    vec![
        "🦀 rust 🚀 rocket 👨‍👩‍👧 family".into(),
        "مشروع عربي طويل جداً".into(),
        "e\u{301}le\u{300}ve\u{302} combining".into(),
        "x".repeat(500),
        "日本語のプロジェクト名前".into(),
        "tab\tnew\nline\u{1b}[31mesc".into(),
    ]
}

pub fn hostile_day() -> TodayData {
    let mut day = today();
    let names = hostile_names();
    day.bars = names
        .iter()
        .enumerate()
        .map(|(i, n)| Bar::new(n.clone(), 3600.0 - i as f64 * 300.0))
        .collect();
    day.timeline = names
        .iter()
        .enumerate()
        .map(|(i, n)| seg(at(8 + i as u32, 0), at(8 + i as u32, 50), n))
        .collect();
    day.sessions = names
        .iter()
        .enumerate()
        .map(|(i, n)| session(at(8 + i as u32, 0), at(8 + i as u32, 50), n, Some(n)))
        .collect();
    if let Some(c) = &mut day.current {
        c.project = Some(names[0].clone());
        c.branch = Some(names[3].clone());
        c.entity = names[1].clone();
    }
    day
}

pub fn week() -> PeriodData {
    let hours = [5.2, 6.1, 4.7, 0.0, 3.3, 1.0, 0.0];
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let days = (0..7)
        .map(|i| DayTotal {
            label: format!("{} {}", names[i], 23 + i),
            date: format!("2026-11-{}", 23 + i),
            weekday: i as u8,
            seconds: hours[i] * 3600.0,
        })
        .collect::<Vec<_>>();
    let total: f64 = days.iter().map(|d| d.seconds).sum();
    PeriodData {
        label: "Week 48, 23–29 Nov 2026".into(),
        total_seconds: total,
        daily_average_seconds: total / 7.0,
        days,
        projects: vec![
            Bar::new("timeforged", 50_000.0),
            Bar::new("website", 14_000.0),
            Bar::new("dotfiles", 8_000.0),
        ],
        languages: vec![
            Bar::new("Rust", 48_000.0),
            Bar::new("TypeScript", 15_000.0),
            Bar::new("Shell", 9_000.0),
        ],
        bars: vec![
            Bar::new("timeforged", 50_000.0),
            Bar::new("website", 14_000.0),
            Bar::new("dotfiles", 8_000.0),
        ],
    }
}

/// November 2026: the 1st is a Sunday.
pub fn month() -> PeriodData {
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let days = (0..30)
        .map(|i| {
            let weekday = (6 + i) % 7;
            let hours = if weekday >= 5 {
                0.0
            } else {
                f64::from((i * 7 % 9) as u32)
            };
            DayTotal {
                label: format!("{} {}", names[weekday], i + 1),
                date: format!("2026-11-{:02}", i + 1),
                weekday: weekday as u8,
                seconds: hours * 3600.0,
            }
        })
        .collect::<Vec<_>>();
    let total: f64 = days.iter().map(|d| d.seconds).sum();
    PeriodData {
        label: "November 2026".into(),
        total_seconds: total,
        daily_average_seconds: total / 30.0,
        days,
        ..week()
    }
}

pub fn project() -> ProjectData {
    ProjectData {
        label: "27 Oct – 25 Nov 2026".into(),
        project: Some("timeforged".into()),
        projects: vec![
            Bar::new("timeforged", 120_000.0),
            Bar::new("website", 30_000.0),
            Bar::new("dotfiles", 9_000.0),
        ],
        total_seconds: 120_000.0,
        branches: vec![
            Bar::new("main", 70_000.0),
            Bar::new("feature/tui", 50_000.0),
        ],
        files: vec![
            Bar::new("src/daemon/server.rs", 30_000.0),
            Bar::new("tui/src/render.rs", 20_000.0),
            Bar::new("Cargo.toml", 600.0),
        ],
        commits: vec![
            CommitRow {
                sha: "a1b2c3d".into(),
                summary: "Dashboard: timeline and legend".into(),
                branch: Some("feature/tui".into()),
                time_unix: at(14, 5),
                seconds: 3_720.0,
            },
            CommitRow {
                sha: "9f8e7d6".into(),
                summary: "Daemon: coalesce change events".into(),
                branch: Some("main".into()),
                time_unix: at(11, 20) - 86_400.0,
                seconds: 5_400.0,
            },
        ],
        utc_offset_seconds: OFFSET,
    }
}

pub fn app_with(data: Data, color: bool) -> App {
    let mut app = App::new(Options { color });
    app.view = match &data {
        Data::Today(_) => timeforged_tui::View::Today,
        Data::Period(_) => timeforged_tui::View::Week,
        Data::Project(_) => timeforged_tui::View::Project,
    };
    app.apply(Ok(data));
    app
}

/// Renders `app` into a `width`×`height` test terminal.
pub fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    app.area = ratatui::layout::Rect::new(0, 0, width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| timeforged_tui::render(app, frame))
        .expect("draw");
    terminal
}

/// The buffer's rows as strings, wide characters once (their trailing cells skipped).
pub fn lines(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let mut row = String::new();
            let mut skip = 0;
            for x in 0..area.width {
                let symbol = buffer[(x, y)].symbol();
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                row.push_str(symbol);
                skip = symbol.width().saturating_sub(1);
            }
            row
        })
        .collect()
}

/// Every row is exactly as wide as the terminal and free of replacement characters and control
/// characters: nothing overflowed, nothing was split.
pub fn assert_clean(buffer: &Buffer) {
    let width = usize::from(buffer.area.width);
    for (y, row) in lines(buffer).iter().enumerate() {
        assert_eq!(
            row.width(),
            width,
            "row {y} is {} wide: {row:?}",
            row.width()
        );
        assert!(
            !row.contains('\u{fffd}'),
            "replacement char in row {y}: {row:?}"
        );
        assert!(
            !row.chars().any(char::is_control),
            "control char in row {y}: {row:?}"
        );
    }
}

pub fn screen(terminal: &Terminal<TestBackend>) -> String {
    lines(terminal.backend().buffer()).join("\n")
}

pub fn hostile_period() -> PeriodData {
    let names = hostile_names();
    let bars: Vec<Bar> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Bar::new(n.clone(), 9000.0 - i as f64 * 600.0))
        .collect();
    let mut period = week();
    for (day, name) in period.days.iter_mut().zip(&names) {
        day.label = name.clone();
    }
    period.label = names[3].clone();
    period.projects = bars.clone();
    period.languages = bars.clone();
    period.bars = bars;
    period
}

pub fn hostile_project() -> ProjectData {
    let names = hostile_names();
    let bars: Vec<Bar> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Bar::new(n.clone(), 9000.0 - i as f64 * 600.0))
        .collect();
    ProjectData {
        label: names[1].clone(),
        project: Some(names[0].clone()),
        projects: bars.clone(),
        total_seconds: 9000.0,
        branches: bars.clone(),
        files: bars,
        commits: names
            .iter()
            .map(|n| CommitRow {
                sha: n.clone(),
                summary: n.clone(),
                branch: Some(n.clone()),
                time_unix: at(10, 0),
                seconds: 600.0,
            })
            .collect(),
        utc_offset_seconds: OFFSET,
    }
}

/// 50 of everything in a period and a project.
pub fn busy_period(n: usize) -> PeriodData {
    let bars: Vec<Bar> = (0..n)
        .map(|i| Bar::new(format!("project-{i:02}"), (n - i) as f64 * 600.0))
        .collect();
    PeriodData {
        projects: bars.clone(),
        languages: bars.clone(),
        bars,
        ..month()
    }
}

pub fn busy_project(n: usize) -> ProjectData {
    let bars: Vec<Bar> = (0..n)
        .map(|i| Bar::new(format!("project-{i:02}"), (n - i) as f64 * 600.0))
        .collect();
    ProjectData {
        project: Some("project-00".into()),
        projects: bars.clone(),
        branches: bars.clone(),
        files: bars,
        commits: (0..n)
            .map(|i| CommitRow {
                sha: format!("{i:07x}"),
                summary: format!("commit {i}"),
                branch: Some("main".into()),
                time_unix: at(10, 0) - i as f64 * 3600.0,
                seconds: 600.0,
            })
            .collect(),
        ..project()
    }
}

pub fn key(c: char) -> timeforged_tui::Input {
    arrow(crossterm::event::KeyCode::Char(c))
}

pub fn arrow(code: crossterm::event::KeyCode) -> timeforged_tui::Input {
    timeforged_tui::Input::Key(crossterm::event::KeyEvent::new(
        code,
        crossterm::event::KeyModifiers::NONE,
    ))
}
