//! Frame time of the dashboard on a year's worth of data: 200 projects, 10,000 files, 365 days,
//! 1,000 sessions, 500 commits. Prints mean and p99 per frame for each view at 80×24 and 200×60
//! (goal: under 5 ms). Figures only; nothing is asserted.
//!
//! `cargo bench -p timeforged-tui --bench render`

use std::hint::black_box;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use timeforged_tui::{
    App, Bar, CommitRow, Current, Data, DayTotal, Options, PeriodData, ProjectData, Segment,
    SessionRow, TodayData, View, render,
};

const DAY_START: f64 = 1_795_561_200.0;
const FRAMES: usize = 300;

fn projects() -> Vec<Bar> {
    (0..200)
        .map(|i| {
            Bar::new(
                format!("project-{i:03}-with-a-longish-name"),
                200_000.0 / (i + 1) as f64,
            )
        })
        .collect()
}

fn today() -> TodayData {
    // 1,000 sessions in one day is absurd for a person, but it is what a year's `sessions`
    // list could hand the widget; the timeline gets one segment per session.
    let sessions: Vec<SessionRow> = (0..1000)
        .map(|i| {
            let start = DAY_START + i as f64 * 86.0;
            SessionRow {
                start_unix: start,
                end_unix: start + 60.0,
                seconds: 60.0,
                project: format!("project-{:03}-with-a-longish-name", i % 200),
                branch: Some(format!("feature/branch-{}", i % 17)),
            }
        })
        .collect();
    let timeline = sessions
        .iter()
        .map(|s| Segment {
            start_unix: s.start_unix,
            end_unix: s.end_unix,
            project: s.project.clone(),
        })
        .collect();
    TodayData {
        label: "Wed 25 Nov 2026".into(),
        total_seconds: 60_000.0,
        current: Some(Current {
            project: Some("project-000-with-a-longish-name".into()),
            branch: Some("main".into()),
            language: Some("Rust".into()),
            entity: "src/some/deep/path/to/a/file.rs".into(),
            running: Some("cargo".into()),
            since_unix: DAY_START + 50_000.0,
            last_unix: DAY_START + 50_300.0,
            active: true,
        }),
        bars: projects(),
        timeline,
        sessions,
        day_start_unix: DAY_START,
        day_end_unix: DAY_START + 86_400.0,
        now_unix: DAY_START + 50_312.0,
        utc_offset_seconds: 3600,
        lanes: None,
        focus: None,
    }
}

fn year() -> PeriodData {
    let days: Vec<DayTotal> = (0..365)
        .map(|i| DayTotal {
            label: format!("Day {i}"),
            date: format!("2026-{:02}-{:02}", i / 31 + 1, i % 31 + 1),
            weekday: (i % 7) as u8,
            seconds: ((i * 37) % 29_000) as f64,
        })
        .collect();
    PeriodData {
        label: "2026".into(),
        total_seconds: days.iter().map(|d| d.seconds).sum(),
        daily_average_seconds: 5_000.0,
        days,
        projects: projects(),
        languages: (0..60)
            .map(|i| Bar::new(format!("Lang{i}"), 1e5 / (i + 1) as f64))
            .collect(),
        bars: projects(),
    }
}

fn project() -> ProjectData {
    ProjectData {
        label: "27 Oct – 25 Nov 2026".into(),
        project: Some("project-000-with-a-longish-name".into()),
        projects: projects(),
        total_seconds: 200_000.0,
        branches: (0..300)
            .map(|i| Bar::new(format!("feature/branch-{i}"), 50_000.0 / (i + 1) as f64))
            .collect(),
        files: (0..10_000)
            .map(|i| {
                Bar::new(
                    format!("src/module_{}/submodule_{}/file_{i}.rs", i % 50, i % 7),
                    20_000.0 / (i + 1) as f64,
                )
            })
            .collect(),
        commits: (0..500)
            .map(|i| CommitRow {
                sha: format!("{:07x}", i * 7919),
                summary: format!("Commit number {i}: a summary of reasonable length for a change"),
                branch: Some("main".into()),
                time_unix: DAY_START - i as f64 * 3_000.0,
                seconds: 1_800.0,
            })
            .collect(),
        utc_offset_seconds: 3600,
    }
}

/// Mean and p99 of `FRAMES` draws (after 20 warm-up frames).
fn measure(name: &str, data: Option<&Data>, view: View, width: u16, height: u16, color: bool) {
    let mut app = App::new(Options { color });
    if let Some(data) = data {
        app.apply(Ok(data.clone()));
    }
    app.view = view;
    app.area = ratatui::layout::Rect::new(0, 0, width, height);
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(e) => match e {},
    };
    let mut times = Vec::with_capacity(FRAMES);
    for frame in 0..FRAMES + 20 {
        // Advance the clock so every frame differs, like the 1 s ticks do.
        app.set_elapsed_since_load(frame as f64);
        let start = Instant::now();
        let drawn = if data.is_some() {
            terminal.draw(|f| render(black_box(&app), f))
        } else {
            // Baseline: what TestBackend and the buffer diff cost with nothing rendered.
            terminal.draw(|f| {
                black_box(f.area());
            })
        };
        let elapsed = start.elapsed();
        black_box(drawn.is_ok());
        if frame >= 20 {
            times.push(elapsed);
        }
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let p99 = times[times.len() * 99 / 100 - 1];
    println!(
        "{name:<10} {width:>3}×{height:<3} {:<9}  mean {:>7.3} ms   p99 {:>7.3} ms",
        if color { "colour" } else { "no-colour" },
        mean.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
    );
}

fn main() {
    let today = Data::Today(today());
    let year = Data::Period(year());
    let project = Data::Project(project());
    println!("render: {FRAMES} frames each into TestBackend (draw = render + buffer diff);");
    println!("baseline = the same draw with nothing rendered");
    for &(w, h) in &[(80, 24), (200, 60)] {
        measure("baseline", None, View::Today, w, h, false);
        for color in [true, false] {
            measure("today", Some(&today), View::Today, w, h, color);
            measure("week", Some(&year), View::Week, w, h, color);
            measure("month", Some(&year), View::Month, w, h, color);
            measure("project", Some(&project), View::Project, w, h, color);
        }
    }
}
