//! `update`: every key, mouse and signal, as state transitions and the action returned.

mod common;

use common::*;
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use timeforged_tui::{
    Action, App, Connection, Data, Group, Input, Mode, Options, Pane, View, update,
};

fn app() -> App {
    let mut app = app_with(Data::Today(today()), false);
    app.area = ratatui::layout::Rect::new(0, 0, 80, 24);
    app
}

fn ctrl(c: char) -> Input {
    Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn shift_tab() -> Input {
    Input::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT))
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Input {
    Input::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

#[test]
fn tab_and_shift_tab_cycle_the_views_and_reload() {
    let mut app = app();
    let order = [View::Week, View::Month, View::Project, View::Today];
    for view in order {
        assert_eq!(update(&mut app, arrow(KeyCode::Tab)), Action::Reload);
        assert_eq!(app.view, view);
        assert_eq!(app.load().view, view);
    }
    for view in [View::Project, View::Month, View::Week, View::Today] {
        assert_eq!(update(&mut app, shift_tab()), Action::Reload);
        assert_eq!(app.view, view);
    }
}

#[test]
fn number_keys_pick_a_view_and_the_same_view_does_nothing() {
    let mut app = app();
    for (c, view) in [
        ('2', View::Week),
        ('3', View::Month),
        ('4', View::Project),
        ('1', View::Today),
    ] {
        assert_eq!(update(&mut app, key(c)), Action::Reload);
        assert_eq!(app.view, view);
    }
    assert_eq!(update(&mut app, key('1')), Action::None);
}

#[test]
fn arrows_move_the_period_but_never_into_the_future() {
    let mut app = app();
    assert_eq!(update(&mut app, arrow(KeyCode::Right)), Action::None);
    assert_eq!(app.offset(), 0);
    assert_eq!(update(&mut app, arrow(KeyCode::Left)), Action::Reload);
    assert_eq!(update(&mut app, arrow(KeyCode::Left)), Action::Reload);
    assert_eq!(app.load().offset, -2);
    assert_eq!(update(&mut app, arrow(KeyCode::Right)), Action::Reload);
    assert_eq!(app.offset(), -1);
    assert_eq!(update(&mut app, arrow(KeyCode::Right)), Action::Reload);
    assert_eq!(app.offset(), 0);
    assert_eq!(update(&mut app, arrow(KeyCode::Right)), Action::None);
    assert_eq!(app.offset(), 0);
}

#[test]
fn each_view_keeps_its_own_offset_and_t_goes_back_to_now() {
    let mut app = app();
    update(&mut app, arrow(KeyCode::Left));
    update(&mut app, key('2'));
    assert_eq!(app.offset(), 0, "going back in Today does not move Week");
    update(&mut app, arrow(KeyCode::Left));
    update(&mut app, arrow(KeyCode::Left));
    update(&mut app, key('1'));
    assert_eq!(app.offset(), -1);
    assert_eq!(update(&mut app, key('t')), Action::Reload);
    assert_eq!(app.offset(), 0);
    assert_eq!(update(&mut app, key('t')), Action::None);
    update(&mut app, key('2'));
    assert_eq!(app.offset(), -2);
}

#[test]
fn p_l_b_group_by_project_language_branch() {
    let mut app = app();
    assert_eq!(
        update(&mut app, key('p')),
        Action::None,
        "already by project"
    );
    assert_eq!(update(&mut app, key('l')), Action::Reload);
    assert_eq!(app.load().group, Group::Language);
    assert_eq!(update(&mut app, key('b')), Action::Reload);
    assert_eq!(app.group, Group::Branch);
    assert_eq!(update(&mut app, key('p')), Action::Reload);
    assert_eq!(app.group, Group::Project);
}

#[test]
fn question_mark_and_h_toggle_help_and_help_swallows_other_keys() {
    for open in ['?', 'h'] {
        for close in [arrow(KeyCode::Esc), key('?'), key('h')] {
            let mut app = app();
            assert_eq!(update(&mut app, key(open)), Action::Redraw);
            assert_eq!(app.mode, Mode::Help);
            assert_eq!(update(&mut app, key('2')), Action::None);
            assert_eq!(app.view, View::Today, "keys do not leak through help");
            assert_eq!(app.mode, Mode::Help);
            assert_eq!(update(&mut app, close), Action::Redraw);
            assert_eq!(app.mode, Mode::Normal);
        }
    }
    let mut app = app();
    update(&mut app, key('?'));
    assert_eq!(update(&mut app, key('q')), Action::Quit);
}

#[test]
fn slash_edits_a_filter_that_enter_applies() {
    let mut app = app();
    assert_eq!(update(&mut app, key('/')), Action::Redraw);
    assert_eq!(app.mode, Mode::Filter(String::new()));
    for c in "webq".chars() {
        assert_eq!(
            update(&mut app, key(c)),
            Action::Redraw,
            "q types, it does not quit"
        );
    }
    assert_eq!(app.mode, Mode::Filter("webq".into()));
    assert_eq!(update(&mut app, arrow(KeyCode::Backspace)), Action::Redraw);
    assert_eq!(app.mode, Mode::Filter("web".into()));
    assert_eq!(app.filter, None, "nothing applies before Enter");
    assert_eq!(update(&mut app, arrow(KeyCode::Enter)), Action::Reload);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.load().filter.as_deref(), Some("web"));

    // Reopening starts from the applied filter; Enter without a change does not reload.
    update(&mut app, key('/'));
    assert_eq!(app.mode, Mode::Filter("web".into()));
    assert_eq!(update(&mut app, arrow(KeyCode::Enter)), Action::Redraw);

    // Esc cancels the edit and keeps the applied filter.
    update(&mut app, key('/'));
    update(&mut app, key('x'));
    assert_eq!(update(&mut app, arrow(KeyCode::Esc)), Action::Redraw);
    assert_eq!(app.filter.as_deref(), Some("web"));
    assert_eq!(app.mode, Mode::Normal);

    // Ctrl-U clears; an empty filter removes it.
    update(&mut app, key('/'));
    assert_eq!(update(&mut app, ctrl('u')), Action::Redraw);
    assert_eq!(app.mode, Mode::Filter(String::new()));
    assert_eq!(update(&mut app, arrow(KeyCode::Enter)), Action::Reload);
    assert_eq!(app.filter, None);
}

#[test]
fn filter_of_only_spaces_is_no_filter_and_unicode_is_kept() {
    let mut app = app();
    update(&mut app, key('/'));
    update(&mut app, key(' '));
    assert_eq!(update(&mut app, arrow(KeyCode::Enter)), Action::Redraw);
    assert_eq!(app.filter, None);
    update(&mut app, key('/'));
    for c in "日本🦀".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, arrow(KeyCode::Backspace));
    update(&mut app, arrow(KeyCode::Enter));
    assert_eq!(app.filter.as_deref(), Some("日本"));
}

#[test]
fn esc_clears_an_applied_filter_before_it_quits() {
    let mut app = app();
    app.filter = Some("web".into());
    assert_eq!(update(&mut app, arrow(KeyCode::Esc)), Action::Reload);
    assert_eq!(app.filter, None);
    assert_eq!(update(&mut app, arrow(KeyCode::Esc)), Action::Quit);
}

#[test]
fn q_quits_and_ctrl_c_quits_in_every_mode() {
    assert_eq!(update(&mut app(), key('q')), Action::Quit);
    for mode in [Mode::Normal, Mode::Help, Mode::Filter("abc".into())] {
        let mut app = app();
        app.mode = mode;
        assert_eq!(update(&mut app, ctrl('c')), Action::Quit);
    }
}

#[test]
fn r_reloads() {
    assert_eq!(update(&mut app(), key('r')), Action::Reload);
}

#[test]
fn key_releases_are_ignored() {
    let mut app = app();
    let mut release = KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert_eq!(update(&mut app, Input::Key(release)), Action::None);
    assert_eq!(app.view, View::Today);
}

#[test]
fn unknown_keys_do_nothing() {
    let mut app = app();
    for input in [key('z'), arrow(KeyCode::F(5)), arrow(KeyCode::Insert)] {
        assert_eq!(update(&mut app, input), Action::None);
    }
}

#[test]
fn up_down_j_k_page_home_end_scroll_the_focused_list() {
    let mut app = app_with(Data::Today(busy_day(50)), false);
    app.area = ratatui::layout::Rect::new(0, 0, 80, 24);
    assert_eq!(app.focus, Pane::Bars);
    assert_eq!(
        update(&mut app, arrow(KeyCode::Up)),
        Action::None,
        "already at the top"
    );
    assert_eq!(update(&mut app, key('j')), Action::Redraw);
    assert_eq!(update(&mut app, arrow(KeyCode::Down)), Action::Redraw);
    assert_eq!(app.scroll(Pane::Bars), 2);
    assert_eq!(update(&mut app, key('k')), Action::Redraw);
    assert_eq!(app.scroll(Pane::Bars), 1);
    // 11 rows visible at 80×24.
    assert_eq!(update(&mut app, arrow(KeyCode::PageDown)), Action::Redraw);
    assert_eq!(app.scroll(Pane::Bars), 12);
    assert_eq!(update(&mut app, arrow(KeyCode::PageUp)), Action::Redraw);
    assert_eq!(app.scroll(Pane::Bars), 1);
    assert_eq!(update(&mut app, key('G')), Action::Redraw);
    assert_eq!(
        app.scroll(Pane::Bars),
        39,
        "the last page is full, not one row"
    );
    assert_eq!(update(&mut app, arrow(KeyCode::End)), Action::None);
    assert_eq!(update(&mut app, arrow(KeyCode::Home)), Action::Redraw);
    assert_eq!(app.scroll(Pane::Bars), 0);
    update(&mut app, key('G'));
    assert_eq!(update(&mut app, key('g')), Action::Redraw);
    assert_eq!(app.scroll(Pane::Sessions), 0, "only the focused list moved");
}

#[test]
fn f_moves_focus_between_the_lists_of_the_view() {
    let mut app = app_with(Data::Today(busy_day(50)), false);
    assert_eq!(update(&mut app, key('f')), Action::Redraw);
    assert_eq!(app.focus, Pane::Sessions);
    update(&mut app, key('j'));
    assert_eq!(app.scroll(Pane::Sessions), 1);
    assert_eq!(app.scroll(Pane::Bars), 0);
    assert_eq!(update(&mut app, key('f')), Action::Redraw);
    assert_eq!(app.focus, Pane::Bars);

    let mut app = app_with(Data::Period(week()), false);
    assert_eq!(update(&mut app, key('f')), Action::None, "one list only");

    let mut app = app_with(Data::Project(project()), false);
    let mut seen = vec![app.focus];
    for _ in 0..3 {
        update(&mut app, key('f'));
        seen.push(app.focus);
    }
    assert_eq!(
        seen,
        [Pane::Projects, Pane::Branches, Pane::Files, Pane::Commits]
    );
}

#[test]
fn project_view_selects_with_arrows_and_drills_in_with_enter() {
    let mut app = app_with(Data::Project(project()), false);
    app.area = ratatui::layout::Rect::new(0, 0, 80, 24);
    assert_eq!(app.selected, 0, "the source's pick is selected");
    assert_eq!(app.load().project, None);
    assert_eq!(update(&mut app, arrow(KeyCode::Enter)), Action::Reload);
    assert_eq!(app.project.as_deref(), Some("timeforged"));
    assert_eq!(update(&mut app, key('j')), Action::Redraw);
    assert_eq!(update(&mut app, arrow(KeyCode::Down)), Action::Redraw);
    assert_eq!(
        update(&mut app, arrow(KeyCode::Down)),
        Action::None,
        "last one"
    );
    assert_eq!(app.selected, 2);
    assert_eq!(update(&mut app, arrow(KeyCode::Enter)), Action::Reload);
    assert_eq!(app.load().project.as_deref(), Some("dotfiles"));
    // The drill-down survives view and period changes.
    update(&mut app, key('1'));
    update(&mut app, key('4'));
    update(&mut app, arrow(KeyCode::Left));
    assert_eq!(app.load().project.as_deref(), Some("dotfiles"));
    assert_eq!(app.load().offset, -1);
}

#[test]
fn enter_elsewhere_does_nothing() {
    assert_eq!(update(&mut app(), arrow(KeyCode::Enter)), Action::None);
}

#[test]
fn a_loaded_project_becomes_the_selection() {
    let mut app = app_with(Data::Project(project()), false);
    let mut data = project();
    data.project = Some("website".into());
    app.apply(Ok(Data::Project(data)));
    assert_eq!(app.selected, 1);
}

#[test]
fn mouse_wheel_scrolls_the_list_under_the_pointer() {
    let mut app = app_with(Data::Today(busy_day(50)), false);
    app.area = ratatui::layout::Rect::new(0, 0, 80, 24);
    // Sessions are the right-hand list at 80×24 (x ≥ 44, rows 11–22).
    assert_eq!(
        update(&mut app, mouse(MouseEventKind::ScrollDown, 60, 15)),
        Action::Redraw
    );
    assert_eq!(app.focus, Pane::Sessions);
    assert_eq!(app.scroll(Pane::Sessions), 3);
    assert_eq!(app.scroll(Pane::Bars), 0);
    update(&mut app, mouse(MouseEventKind::ScrollDown, 10, 15));
    assert_eq!(app.focus, Pane::Bars);
    assert_eq!(app.scroll(Pane::Bars), 3);
    update(&mut app, mouse(MouseEventKind::ScrollUp, 10, 15));
    assert_eq!(app.scroll(Pane::Bars), 0);
    // Over the header: nothing to scroll.
    assert_eq!(
        update(&mut app, mouse(MouseEventKind::ScrollDown, 10, 0)),
        Action::None
    );
}

#[test]
fn clicking_a_project_opens_it() {
    let mut app = app_with(Data::Project(project()), false);
    app.area = ratatui::layout::Rect::new(0, 0, 80, 24);
    // Projects list inner rows start at y = 3; the second project is on row 4.
    assert_eq!(
        update(
            &mut app,
            mouse(MouseEventKind::Down(MouseButton::Left), 5, 4)
        ),
        Action::Reload
    );
    assert_eq!(app.selected, 1);
    assert_eq!(app.project.as_deref(), Some("website"));
    // A click on a commit focuses the commits.
    assert_eq!(
        update(
            &mut app,
            mouse(MouseEventKind::Down(MouseButton::Left), 40, 16)
        ),
        Action::Redraw
    );
    assert_eq!(app.focus, Pane::Commits);
}

#[test]
fn resize_redraws_and_keeps_scrolling_in_range() {
    let mut app = app_with(Data::Today(busy_day(50)), false);
    app.area = ratatui::layout::Rect::new(0, 0, 80, 24);
    update(&mut app, key('G'));
    assert_eq!(app.scroll(Pane::Bars), 39);
    assert_eq!(update(&mut app, Input::Resize(200, 80)), Action::Redraw);
    assert_eq!(app.area.width, 200);
    assert!(
        app.scroll(Pane::Bars) < 39,
        "a taller list needs less scrolling"
    );
    assert_eq!(update(&mut app, Input::Resize(0, 0)), Action::Redraw);
}

#[test]
fn daemon_signals() {
    let mut app = app();
    assert_eq!(update(&mut app, Input::Changed), Action::Reload);
    assert_eq!(
        update(&mut app, Input::Disconnected("gone".into())),
        Action::Redraw
    );
    assert_eq!(app.connection, Connection::Disconnected("gone".into()));
    assert_eq!(update(&mut app, Input::Connected), Action::Reload);
}

#[test]
fn tick_redraws_only_when_a_running_clock_is_shown() {
    let mut app = app();
    assert_eq!(update(&mut app, Input::Tick), Action::Redraw);
    let mut day = today();
    day.current = None;
    app.apply(Ok(Data::Today(day)));
    assert_eq!(update(&mut app, Input::Tick), Action::None);
    let mut app = app_with(Data::Period(week()), false);
    assert_eq!(update(&mut app, Input::Tick), Action::None);
}

#[test]
fn ticks_retry_a_failed_load_every_five_seconds() {
    let mut app = app_with(Data::Period(week()), false);
    app.apply(Err("refused".into()));
    for _ in 0..4 {
        assert_eq!(update(&mut app, Input::Tick), Action::None);
    }
    assert_eq!(update(&mut app, Input::Tick), Action::Reload);
    assert_eq!(update(&mut app, Input::Tick), Action::None);
}

#[test]
fn a_failed_load_keeps_the_last_data_and_a_good_one_reconnects() {
    let mut app = app();
    app.apply(Err("refused".into()));
    assert!(matches!(app.data, Some(Data::Today(_))));
    assert_eq!(app.connection, Connection::Disconnected("refused".into()));
    app.apply(Ok(Data::Today(today())));
    assert_eq!(app.connection, Connection::Connected);
}

#[test]
fn sessions_are_shown_latest_first() {
    let app = app();
    let Some(Data::Today(day)) = &app.data else {
        panic!("no data")
    };
    let starts: Vec<f64> = day.sessions.iter().map(|s| s.start_unix).collect();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(starts, sorted);
}

#[test]
fn a_fresh_app_asks_for_today_by_project() {
    let app = App::new(Options { color: true });
    let load = app.load();
    assert_eq!(load.view, View::Today);
    assert_eq!(load.offset, 0);
    assert_eq!(load.group, Group::Project);
    assert_eq!(load.filter, None);
    assert_eq!(load.project, None);
    assert_eq!(app.connection, Connection::Connecting);
}
