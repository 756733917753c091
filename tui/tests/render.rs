//! Rendering into ratatui's `TestBackend`: full screens compared line by line for one view per
//! size class, and every view × size × data set checked for overflow, split characters and panics.

mod common;

use common::*;
use ratatui::style::Color;
use timeforged_tui::{
    App, Connection, Data, Mode, Options, PeriodData, ProjectData, TodayData, View,
};

fn assert_screen(app: &mut App, width: u16, height: u16, expected: &[&str]) {
    let terminal = draw(app, width, height);
    let got = lines(terminal.backend().buffer());
    if got != expected {
        panic!(
            "screen differs.\n--- got ---\n{}\n--- expected ---\n{}",
            got.join("\n"),
            expected.join("\n")
        );
    }
}

#[test]
fn today_at_80x24() {
    assert_screen(
        &mut app_with(Data::Today(today()), false),
        80,
        24,
        TODAY_80X24,
    );
}

/// Issue 15: the human and agent lanes under the timeline, the focus timer on the Now line.
#[test]
fn today_shows_the_lanes_and_the_focus_timer() {
    let mut day = today();
    day.lanes = Some(Box::new(timeforged_tui::Lanes {
        human_seconds: 3.0 * 3600.0,
        agent_seconds: 5400.0,
        overlap_seconds: 1200.0,
        agents: vec![
            timeforged_tui::Bar::new("claude-code", 4200.0),
            timeforged_tui::Bar::new("codex", 1200.0),
        ],
    }));
    day.focus = Some(Box::new(timeforged_tui::Focus {
        due_unix: at(14, 35) + 12.0 * 60.0,
        planned_seconds: 1500.0,
        active_seconds: 600.0,
        project: Some("timeforged".into()),
    }));
    let mut app = app_with(Data::Today(day), false);
    let terminal = draw(&mut app, 120, 30);
    let text = screen(&terminal);
    assert!(
        text.contains("human 3h 00m  agents 1h 30m (claude-code 1h 10m, codex 20m)  both 20m"),
        "{text}"
    );
    assert!(text.contains("◷ focus 12m 00s left · 10m active"), "{text}");
    assert_clean(terminal.backend().buffer());
    // Too little room: the lanes give way, nothing overflows.
    let terminal = draw(&mut app, 60, 17);
    assert_clean(terminal.backend().buffer());
}

#[test]
fn week_at_120x40() {
    let mut app = app_with(Data::Period(week()), false);
    app.view = View::Week;
    assert_screen(&mut app, 120, 40, WEEK_120X40);
}

#[test]
fn month_at_200x50() {
    let mut app = app_with(Data::Period(month()), false);
    app.view = View::Month;
    assert_screen(&mut app, 200, 50, MONTH_200X50);
}

#[test]
fn project_at_80x24() {
    assert_screen(
        &mut app_with(Data::Project(project()), false),
        80,
        24,
        PROJECT_80X24,
    );
}

#[test]
fn tiny_terminal_shows_the_total_and_says_it_is_too_small() {
    assert_screen(
        &mut app_with(Data::Today(today()), false),
        20,
        5,
        TODAY_20X5,
    );
}

const TODAY_80X24: &[&str] = &[
    " TimeForged  1 Today  2 Week  3 Month  4 Project                         ● live ",
    " ◀ Wed 25 Nov 2026 ▶   total 4h 40m   by project                                ",
    "┌ Now ─────────────────────────────────────────────────────────────────────────┐",
    "│ ● timeforged on feature/tui  for 5m 12s  ▸ cargo test  Rust  src/render.rs   │",
    "└──────────────────────────────────────────────────────────────────────────────┘",
    "┌ Timeline ────────────────────────────────────────────────────────────────────┐",
    "│·····························AAAAAAAAABBBB·AAACC                              │",
    "│0  1  2  3   4  5  6  7   8  9  10 11  12 13 14 15  16 17 18 19  20 21 22 23  │",
    "│A timeforged 3h 05m B website 1h 10m C dotfiles 25m                           │",
    "└──────────────────────────────────────────────────────────────────────────────┘",
    "┌ By project (3) ──────────────────────────┐┌ Sessions (3) ────────────────────┐",
    "│timeforged ███████████████████ 3h 05m  66%││13:30–14:35  1h 05m timeforged fe…│",
    "│website    ███████▎            1h 10m  25%││11:45–12:55  1h 10m website       │",
    "│dotfiles   ██▋                    25m   9%││09:00–11:30  2h 30m timeforged ma…│",
    "│                                          ││                                  │",
    "│                                          ││                                  │",
    "│                                          ││                                  │",
    "│                                          ││                                  │",
    "│                                          ││                                  │",
    "│                                          ││                                  │",
    "│                                          ││                                  │",
    "│                                          ││                                  │",
    "└──────────────────────────────────────────┘└──────────────────────────────────┘",
    " ? help  Tab view  ←→ period  p/l/b group  / filter  r reload  q quit           ",
];

const WEEK_120X40: &[&str] = &[
    " TimeForged  1 Today  2 Week  3 Month  4 Project                                                                 ● live ",
    " ◀ Week 48, 23–29 Nov 2026 ▶   total 20h 18m   by project                                                               ",
    " daily average 2h 54m · 5 of 7 days active · best Tue 24 (6h 06m)                                                       ",
    "┌ Days ────────────────────────────────────────────────────────────────────────────────────────────────────────────────┐",
    "│Mon 23 ███████████████████████████████████████████████████████████████████████████████████████▊                 5h 12m│",
    "│Tue 24 ███████████████████████████████████████████████████████████████████████████████████████████████████████  6h 06m│",
    "│Wed 25 ███████████████████████████████████████████████████████████████████████████████▍                         4h 42m│",
    "│Thu 26                                                                                                              0m│",
    "│Fri 27 ███████████████████████████████████████████████████████▊                                                 3h 18m│",
    "│Sat 28 ████████████████▉                                                                                        1h 00m│",
    "│Sun 29                                                                                                              0m│",
    "└──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘",
    "┌ By project (3) ──────────────────────────────────────────┐┌ Languages (3) ───────────────────────────────────────────┐",
    "│timeforged ██████████████████████████████████ 13h 53m  68%││Rust       ██████████████████████████████████ 13h 20m  66%│",
    "│website    █████████▌                          3h 53m  19%││TypeScript ██████████▋                         4h 10m  21%│",
    "│dotfiles   █████▌                              2h 13m  11%││Shell      ██████▍                             2h 30m  12%│",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "│                                                          ││                                                          │",
    "└──────────────────────────────────────────────────────────┘└──────────────────────────────────────────────────────────┘",
    " ? help  Tab view  ←→ period  p/l/b group  / filter  r reload  q quit                                                   ",
];

const MONTH_200X50: &[&str] = &[
    " TimeForged  1 Today  2 Week  3 Month  4 Project                                                                                                                                                 ● live ",
    " ◀ November 2026 ▶   total 86h 00m   by project                                                                                                                                                         ",
    " daily average 2h 52m · 19 of 30 days active · best Tue 24 (8h 00m)                                                                                                                                     ",
    "┌ Calendar ────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┐",
    "│Mon                          Tue                          Wed                         Thu                         Fri                         Sat                         Sun                         │",
    "│                                                                                                                                                                           1 ···················      │",
    "│ 2 ████████████████████ 7.0h  3 ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ 5.0h  4 ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒ 3.0h  5 ░░░░░░░░░░░░░░░░░░░ 1.0h  6 ███████████████████ 8.0h  7 ···················       8 ···················      │",
    "│ 9 ░░░░░░░░░░░░░░░░░░░░ 2.0h 10 ····················      11 ███████████████████ 7.0h 12 ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ 5.0h 13 ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒ 3.0h 14 ···················      15 ···················      │",
    "│16 ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ 6.0h 17 ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒ 4.0h 18 ░░░░░░░░░░░░░░░░░░░ 2.0h 19 ···················      20 ███████████████████ 7.0h 21 ···················      22 ···················      │",
    "│23 ░░░░░░░░░░░░░░░░░░░░ 1.0h 24 ████████████████████ 8.0h 25 ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ 6.0h 26 ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒ 4.0h 27 ░░░░░░░░░░░░░░░░░░░ 2.0h 28 ···················      29 ···················      │",
    "│30 ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ 5.0h                                                                                                                                                                          │",
    "└──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────── · ░ ▒ ▓ █ max 8h 00m ┘",
    "┌ By project (3) ──────────────────────────────────────────────────────────────────────────────────┐┌ Languages (3) ───────────────────────────────────────────────────────────────────────────────────┐",
    "│timeforged ██████████████████████████████████████████████████████████████████████████ 13h 53m  16%││Rust       ██████████████████████████████████████████████████████████████████████████ 13h 20m  16%│",
    "│website    ████████████████████▊                                                       3h 53m   5%││TypeScript ███████████████████████▏                                                    4h 10m   5%│",
    "│dotfiles   ███████████▉                                                                2h 13m   3%││Shell      █████████████▉                                                              2h 30m   3%│",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "│                                                                                                  ││                                                                                                  │",
    "└──────────────────────────────────────────────────────────────────────────────────────────────────┘└──────────────────────────────────────────────────────────────────────────────────────────────────┘",
    " ? help  Tab view  ←→ period  p/l/b group  / filter  r reload  q quit                                                                                                                                   ",
];

const PROJECT_80X24: &[&str] = &[
    " TimeForged  1 Today  2 Week  3 Month  4 Project                         ● live ",
    " ◀ 27 Oct – 25 Nov 2026 ▶                                                       ",
    "┌ Projects (3) ──────────┐ timeforged · 33h 20m · 2 branches · 3 files · 2 comm…",
    "│▶ timeforged     33h 20m│┌ Branches (2) ─────┐┌ Files (3) ────────────────────┐",
    "│  website         8h 20m││main        19h 26m││src/daemon/server.rs     8h 20m│",
    "│  dotfiles        2h 30m││feature/tui 13h 53m││tui/src/render.rs        5h 33m│",
    "│                        ││                   ││Cargo.toml                  10m│",
    "│                        ││                   ││                               │",
    "│                        ││                   ││                               │",
    "│                        ││                   ││                               │",
    "│                        ││                   ││                               │",
    "│                        ││                   ││                               │",
    "│                        │└───────────────────┘└───────────────────────────────┘",
    "│                        │┌ Commits (2) ───────────────────────────────────────┐",
    "│                        ││a1b2c3d 25 Nov 14:05  1h 02m Dashboard: timeline an…│",
    "│                        ││9f8e7d6 24 Nov 11:20  1h 30m Daemon: coalesce chang…│",
    "│                        ││                                                    │",
    "│                        ││                                                    │",
    "│                        ││                                                    │",
    "│                        ││                                                    │",
    "│                        ││                                                    │",
    "│                        ││                                                    │",
    "└────────────────────────┘└────────────────────────────────────────────────────┘",
    " ? help  Tab view  ←→ period  p/l/b group  / filter  r reload  q quit           ",
];

const TODAY_20X5: &[&str] = &[
    "4h 40m Today        ",
    "▶ timeforged 5m 12s ",
    "Wed 25 Nov 2026     ",
    "terminal too small  ",
    "                    ",
];

const SIZES: &[(u16, u16)] = &[
    (80, 24),
    (120, 40),
    (200, 50),
    (200, 60),
    (40, 10),
    (39, 10),
    (40, 9),
    (45, 12),
    (60, 16),
    (69, 30),
    (20, 5),
    (3, 2),
    (1, 1),
    (1, 40),
    (300, 1),
];

fn data_sets() -> Vec<(&'static str, Data, View)> {
    vec![
        ("today", Data::Today(today()), View::Today),
        (
            "empty today",
            Data::Today(TodayData::default()),
            View::Today,
        ),
        ("50 projects", Data::Today(busy_day(50)), View::Today),
        ("hostile today", Data::Today(hostile_day()), View::Today),
        ("week", Data::Period(week()), View::Week),
        (
            "empty week",
            Data::Period(PeriodData::default()),
            View::Week,
        ),
        ("hostile week", Data::Period(hostile_period()), View::Week),
        ("month", Data::Period(month()), View::Month),
        (
            "empty month",
            Data::Period(PeriodData::default()),
            View::Month,
        ),
        ("50 in a month", Data::Period(busy_period(50)), View::Month),
        ("hostile month", Data::Period(hostile_period()), View::Month),
        ("project", Data::Project(project()), View::Project),
        (
            "empty project",
            Data::Project(ProjectData::default()),
            View::Project,
        ),
        (
            "50 projects",
            Data::Project(busy_project(50)),
            View::Project,
        ),
        (
            "hostile project",
            Data::Project(hostile_project()),
            View::Project,
        ),
    ]
}

#[test]
fn every_view_at_every_size_fits_exactly_and_never_splits_a_character() {
    for (name, data, view) in data_sets() {
        for &(w, h) in SIZES {
            for color in [false, true] {
                for mode in [Mode::Normal, Mode::Help, Mode::Filter("🦀 x".into())] {
                    let mut app = app_with(data.clone(), color);
                    app.view = view;
                    app.mode = mode.clone();
                    let terminal = draw(&mut app, w, h);
                    let buffer = terminal.backend().buffer();
                    std::panic::catch_unwind(|| assert_clean(buffer)).unwrap_or_else(|_| {
                        panic!(
                            "{name} at {w}x{h} (color {color}, {mode:?}):\n{}",
                            screen(&terminal)
                        )
                    });
                }
            }
        }
    }
}

#[test]
fn zero_sized_terminal_draws_nothing_and_does_not_panic() {
    let mut app = app_with(Data::Today(today()), true);
    draw(&mut app, 0, 0);
    draw(&mut app, 0, 10);
    draw(&mut app, 10, 0);
}

#[test]
fn one_cell_terminal_shows_one_clean_cell() {
    let mut app = app_with(Data::Today(today()), false);
    let terminal = draw(&mut app, 1, 1);
    assert_eq!(lines(terminal.backend().buffer()), ["…"]);
}

#[test]
fn fifty_projects_scroll_and_say_how_many_more() {
    let mut app = app_with(Data::Today(busy_day(50)), false);
    let text = screen(&draw(&mut app, 80, 24));
    assert!(text.contains("By project (50)"), "{text}");
    assert!(text.contains("+39 more ↓"), "{text}");
    assert!(text.contains("project-00"), "{text}");
    // The 50 projects share 52 letters; the legend says how many it leaves out.
    assert!(text.contains("+46"), "{text}");

    for _ in 0..3 {
        timeforged_tui::update(&mut app, key('j'));
    }
    let text = screen(&draw(&mut app, 80, 24));
    assert!(text.contains("↑ 3 · +36 more ↓"), "{text}");
    assert!(!text.contains("project-00 █"), "{text}");
    assert!(text.contains("project-03 █"), "{text}");

    timeforged_tui::update(&mut app, key('G'));
    let text = screen(&draw(&mut app, 80, 24));
    assert!(text.contains("↑ 39 above"), "{text}");
    assert!(text.contains("project-49"), "{text}");
}

#[test]
fn very_long_and_wide_names_are_cut_by_display_width() {
    let mut app = app_with(Data::Today(hostile_day()), false);
    let terminal = draw(&mut app, 80, 24);
    assert_clean(terminal.backend().buffer());
    let text = screen(&terminal);
    // The 500-char name ends in an ellipsis inside its column, and the emoji survive whole.
    assert!(text.contains("xxxxxxxxxxxx… ████"), "{text}");
    assert!(text.contains("🦀 rust 🚀 r…"), "{text}");
    assert!(text.contains("مشروع عربي ط…"), "{text}");
    assert!(
        text.contains("e\u{301}le\u{300}ve\u{302} combin…"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
}

#[test]
fn help_overlay_lists_the_keys_over_the_view() {
    let mut app = app_with(Data::Today(today()), false);
    app.mode = Mode::Help;
    let text = screen(&draw(&mut app, 80, 24));
    for needle in [
        "┌ Keys ",
        "Tab  Shift-Tab  next / previous view",
        "p l b           group by project / language / branch",
        "q  Ctrl-C       quit",
        "Esc closes",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    // The view stays visible around it.
    assert!(text.contains("TimeForged"), "{text}");
}

#[test]
fn filter_prompt_shows_the_text_and_the_cursor_after_it() {
    let mut app = app_with(Data::Today(today()), false);
    app.mode = Mode::Filter("web".into());
    let mut terminal = draw(&mut app, 80, 24);
    let rows = lines(terminal.backend().buffer());
    assert_eq!(
        rows[23],
        " filter projects: web                                  Enter apply · Esc cancel "
    );
    let cursor = terminal.get_cursor_position().expect("cursor");
    assert_eq!((cursor.x, cursor.y), (21, 23), "right after “web”");
}

#[test]
fn applied_filter_is_shown_and_empty_results_say_so() {
    let mut app = app_with(Data::Today(TodayData::default()), false);
    app.filter = Some("zzz".into());
    let text = screen(&draw(&mut app, 80, 24));
    assert!(text.contains("filter “zzz”"), "{text}");
    assert!(text.contains("no time matching “zzz”"), "{text}");
}

#[test]
fn disconnected_banner_keeps_the_last_data() {
    let mut app = app_with(Data::Today(today()), false);
    app.apply(Err("connection refused (os error 111)".into()));
    let terminal = draw(&mut app, 80, 24);
    let rows = lines(terminal.backend().buffer());
    assert_eq!(
        rows[23],
        " daemon unreachable: connection refused (os error 111) — reconnecting           "
    );
    assert!(rows[0].ends_with("✕ offline "), "{}", rows[0]);
    // The last good data is still there.
    assert!(rows[1].contains("total 4h 40m"), "{}", rows[1]);
}

#[test]
fn no_data_yet_says_loading_or_unreachable() {
    let mut app = App::new(Options { color: false });
    let text = screen(&draw(&mut app, 80, 24));
    assert!(text.contains("loading…"), "{text}");
    assert!(text.contains("◌ connecting"), "{text}");
    app.apply(Err("no such file".into()));
    let text = screen(&draw(&mut app, 80, 24));
    assert!(
        text.contains("no data: the daemon is unreachable"),
        "{text}"
    );
    assert!(
        text.contains("daemon unreachable: no such file — reconnecting"),
        "{text}"
    );
}

#[test]
fn data_of_another_view_is_not_drawn_as_this_one() {
    // Switched to Week, the load failed: Today's data must not be shown as the week.
    let mut app = app_with(Data::Today(today()), false);
    app.view = View::Week;
    app.apply(Err("timeout".into()));
    let text = screen(&draw(&mut app, 80, 24));
    assert!(!text.contains("Wed 25 Nov 2026"), "{text}");
    assert!(
        text.contains("no data: the daemon is unreachable"),
        "{text}"
    );
}

#[test]
fn no_color_uses_no_colours_at_all() {
    for (name, data, view) in data_sets() {
        let mut app = app_with(data, false);
        app.view = view;
        app.apply(Err("down".into()));
        let terminal = draw(&mut app, 120, 40);
        let buffer = terminal.backend().buffer();
        for cell in &buffer.content {
            assert_eq!(cell.fg, Color::Reset, "{name}: {cell:?}");
            assert_eq!(cell.bg, Color::Reset, "{name}: {cell:?}");
        }
    }
}

#[test]
fn colour_mode_colours_projects_and_the_timeline_uses_blocks() {
    let mut app = app_with(Data::Today(today()), true);
    let terminal = draw(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    assert!(buffer.content.iter().any(|c| c.fg != Color::Reset));
    let rows = lines(buffer);
    // Without colour the timeline uses letters; with colour, coloured blocks.
    assert!(rows[6].contains("█████"), "{}", rows[6]);
    assert!(!rows[6].contains('A'), "{}", rows[6]);
    assert!(rows[8].contains("█ timeforged 3h 05m"), "{}", rows[8]);
}

#[test]
fn idle_and_nothing_running_read_naturally() {
    let mut day = today();
    if let Some(c) = &mut day.current {
        c.active = false;
    }
    let mut app = app_with(Data::Today(day), false);
    let text = screen(&draw(&mut app, 80, 24));
    assert!(
        text.contains("○ idle since 14:34  last: timeforged"),
        "{text}"
    );

    let mut day = today();
    day.current = None;
    let mut app = app_with(Data::Today(day), false);
    let text = screen(&draw(&mut app, 80, 24));
    assert!(text.contains("○ nothing running"), "{text}");
}

#[test]
fn running_time_follows_the_clock() {
    let mut app = app_with(Data::Today(today()), false);
    assert!(screen(&draw(&mut app, 80, 24)).contains("for 5m 12s"));
    app.set_elapsed_since_load(60.0);
    assert!(screen(&draw(&mut app, 80, 24)).contains("for 6m 12s"));
}

#[test]
fn going_back_in_time_says_how_far() {
    let mut app = app_with(Data::Today(today()), false);
    timeforged_tui::update(&mut app, arrow(crossterm::event::KeyCode::Left));
    timeforged_tui::update(&mut app, arrow(crossterm::event::KeyCode::Left));
    let text = screen(&draw(&mut app, 80, 24));
    assert!(text.contains("2 days back · t: now"), "{text}");
}

#[test]
fn tiny_terminal_says_when_the_daemon_is_down() {
    let mut app = app_with(Data::Today(today()), false);
    app.connection = Connection::Disconnected("refused".into());
    let text = screen(&draw(&mut app, 30, 6));
    assert!(text.contains("daemon unreachable: refused"), "{text}");
}

#[test]
fn a_year_with_ten_thousand_files_renders_cleanly_and_scrolls_to_the_end() {
    let mut data = busy_project(200);
    data.files = (0..10_000)
        .map(|i| {
            timeforged_tui::Bar::new(
                format!("src/module_{:04}/a/rather/deep/path/file_{i:05}.rs", i / 10),
                (10_000 - i) as f64 * 3.0,
            )
        })
        .collect();
    let mut app = app_with(Data::Project(data), false);
    app.view = View::Project;
    for &(w, h) in SIZES {
        let terminal = draw(&mut app, w, h);
        assert_clean(terminal.backend().buffer());
        let text = screen(&terminal);
        // Small sizes cut titles; the wide ones show the count.
        assert!(
            w < 80 || h < 24 || text.contains("Files (10000)"),
            "{w}x{h}:\n{text}"
        );
    }
    // Focus the files list and jump to its end: the last file is shown, nothing breaks.
    while app.focus != timeforged_tui::Pane::Files {
        timeforged_tui::update(&mut app, key('f'));
    }
    timeforged_tui::update(&mut app, key('G'));
    let terminal = draw(&mut app, 120, 40);
    assert_clean(terminal.backend().buffer());
    assert!(
        screen(&terminal).contains("file_09999.rs"),
        "{}",
        screen(&terminal)
    );
}

#[test]
fn a_25_hour_day_shows_its_last_hour() {
    // The day clocks go back: 25 hours from midnight to midnight.
    let mut day = today();
    day.day_end_unix = day.day_start_unix + 25.0 * 3600.0;
    day.now_unix = day.day_end_unix - 1.0;
    day.timeline = vec![seg(
        day.day_start_unix + 24.0 * 3600.0,
        day.day_end_unix,
        "timeforged",
    )];
    let mut app = app_with(Data::Today(day), false);
    let terminal = draw(&mut app, 100, 30);
    assert_clean(terminal.backend().buffer());
    let text = screen(&terminal);
    let rows: Vec<&str> = text.lines().collect();
    let at = rows
        .iter()
        .position(|l| l.contains("Timeline"))
        .expect("a timeline pane");
    let track: Vec<char> = rows[at + 1].trim_end().chars().collect();
    // The last cells before the border hold the last hour's work, not the idle dot.
    let last = track[track.len() - 2];
    assert!(last != '·' && last != ' ', "{}", rows[at + 1]);
    assert!(
        rows[at + 2].contains("24"),
        "hour 24 is labelled: {}",
        rows[at + 2]
    );
}
