//! The dashboard's state and its one transition function, [`update`]: an [`Input`] in, an
//! [`Action`] out, no I/O — so every key is unit-tested without a terminal.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use crate::model::{Data, Group, Load, View};
use crate::render;
use crate::theme::{Options, Theme};

/// Pushed into the dashboard from outside: the terminal-input thread, the root's daemon
/// subscription and a 1 s ticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The daemon says data changed.
    Changed,
    /// The daemon is reachable (again).
    Connected,
    /// The daemon went away; the message is shown in the status line.
    Disconnected(String),
    /// 1 s clock, for the "running for 5m 12s" counters.
    Tick,
}

/// What the event loop should do after an [`update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    None,
    Redraw,
    /// Load the current view from the source, then redraw.
    Reload,
    Quit,
}

impl Action {
    /// The stronger of two actions, for coalescing a batch of inputs into one step.
    pub fn merge(self, other: Action) -> Action {
        self.max(other)
    }
}

/// Whether the daemon answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Nothing loaded yet.
    Connecting,
    Connected,
    Disconnected(String),
}

/// What keys currently do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// The help overlay is open.
    Help,
    /// Typing a filter after `/`; the text typed so far.
    Filter(String),
}

/// The scrollable lists. Each view has its own, in focus order ([`App::panes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Bars,
    Sessions,
    Projects,
    Branches,
    Files,
    Commits,
}

impl Pane {
    const COUNT: usize = 6;

    fn index(self) -> usize {
        self as usize
    }
}

/// Retry a failed load this often (in ticks) even without a `Connected` signal, so a dashboard
/// whose source came back on its own recovers.
const RETRY_TICKS: u32 = 5;

/// Everything the dashboard shows and remembers.
#[derive(Debug, Clone)]
pub struct App {
    pub view: View,
    /// Period offset per view (so going back in Week does not move Today).
    offsets: [i32; 4],
    pub group: Group,
    /// The applied filter.
    pub filter: Option<String>,
    /// The drilled-into project; `None` = the source's pick.
    pub project: Option<String>,
    /// The last good data (kept when a load fails); may belong to another view until the next
    /// successful load.
    pub data: Option<Data>,
    pub connection: Connection,
    pub mode: Mode,
    pub focus: Pane,
    /// First visible row per pane.
    scroll: [usize; Pane::COUNT],
    /// Highlighted row of the Project view's project list.
    pub selected: usize,
    /// The clock for "for 5m 12s": the source's `now_unix`, advanced by the loop on ticks.
    pub now_unix: f64,
    clock_base: Option<f64>,
    /// Projects of the Today data by time, descending: their colours and timeline letters.
    pub legend: Vec<(String, f64)>,
    /// The terminal's area, for mouse hit-testing and page sizes.
    pub area: Rect,
    pub theme: Theme,
    ticks_since_failure: u32,
}

impl App {
    pub fn new(options: Options) -> App {
        App {
            view: View::Today,
            offsets: [0; 4],
            group: Group::Project,
            filter: None,
            project: None,
            data: None,
            connection: Connection::Connecting,
            mode: Mode::Normal,
            focus: Pane::Bars,
            scroll: [0; Pane::COUNT],
            selected: 0,
            now_unix: 0.0,
            clock_base: None,
            legend: Vec::new(),
            area: Rect::new(0, 0, 80, 24),
            theme: Theme::new(options),
            ticks_since_failure: 0,
        }
    }

    /// The current view's period offset (0 = now, negative = back).
    pub fn offset(&self) -> i32 {
        self.offsets[self.view.index()]
    }

    fn set_offset(&mut self, offset: i32) {
        self.offsets[self.view.index()] = offset.min(0);
    }

    /// What to ask the source for now.
    pub fn load(&self) -> Load {
        Load {
            view: self.view,
            offset: self.offset(),
            group: self.group,
            filter: self.filter.clone(),
            project: self.project.clone(),
        }
    }

    /// The current data if it belongs to the current view.
    pub fn current_data(&self) -> Option<&Data> {
        self.data.as_ref().filter(|d| d.fits(self.view))
    }

    /// Takes the result of a load: new data replaces the old, an error keeps the old data and
    /// marks the daemon unreachable.
    pub fn apply(&mut self, result: Result<Data, String>) {
        match result {
            Ok(mut data) => {
                self.connection = Connection::Connected;
                self.ticks_since_failure = 0;
                self.legend.clear();
                match &mut data {
                    Data::Today(today) => {
                        // Latest first, once here rather than on every frame.
                        today
                            .sessions
                            .sort_by(|a, b| b.start_unix.total_cmp(&a.start_unix));
                        self.legend = legend(&today.timeline, &today.bars, self.group);
                        self.now_unix = today.now_unix;
                        self.clock_base = Some(today.now_unix);
                    }
                    Data::Project(project) => {
                        self.selected = project
                            .project
                            .as_ref()
                            .and_then(|p| project.projects.iter().position(|b| &b.name == p))
                            .unwrap_or(self.selected);
                    }
                    Data::Period(_) => {}
                }
                self.data = Some(data);
                self.clamp();
            }
            Err(message) => {
                self.connection = Connection::Disconnected(message);
                self.ticks_since_failure = 0;
            }
        }
    }

    /// Advances the clock to `seconds` after the last successful load (called by the loop on
    /// ticks, which owns the real clock).
    pub fn set_elapsed_since_load(&mut self, seconds: f64) {
        if let Some(base) = self.clock_base {
            self.now_unix = base + seconds.max(0.0);
        }
    }

    /// The current view's panes in focus order.
    pub fn panes(&self) -> &'static [Pane] {
        match self.view {
            View::Today => &[Pane::Bars, Pane::Sessions],
            View::Week | View::Month => &[Pane::Bars],
            View::Project => &[Pane::Projects, Pane::Branches, Pane::Files, Pane::Commits],
        }
    }

    /// First visible row of `pane`.
    pub fn scroll(&self, pane: Pane) -> usize {
        self.scroll[pane.index()]
    }

    /// Number of rows in `pane` for the current data.
    pub fn len(&self, pane: Pane) -> usize {
        match (self.current_data(), pane) {
            (Some(Data::Today(d)), Pane::Bars) => d.bars.len(),
            (Some(Data::Today(d)), Pane::Sessions) => d.sessions.len(),
            (Some(Data::Period(d)), Pane::Bars) => d.bars.len(),
            (Some(Data::Project(d)), Pane::Projects) => d.projects.len(),
            (Some(Data::Project(d)), Pane::Branches) => d.branches.len(),
            (Some(Data::Project(d)), Pane::Files) => d.files.len(),
            (Some(Data::Project(d)), Pane::Commits) => d.commits.len(),
            _ => 0,
        }
    }

    /// Rows of `pane` visible in the current layout.
    fn visible(&self, pane: Pane) -> usize {
        render::pane_areas(self, self.area)
            .into_iter()
            .find(|p| p.pane == pane)
            .map_or(0, |p| usize::from(p.inner.height))
    }

    fn max_scroll(&self, pane: Pane) -> usize {
        self.len(pane).saturating_sub(self.visible(pane))
    }

    /// Keeps every scroll position and the selection inside the data and the screen.
    fn clamp(&mut self) {
        for &pane in self.panes() {
            let max = self.max_scroll(pane);
            let s = &mut self.scroll[pane.index()];
            *s = (*s).min(max);
        }
        let n = self.len(Pane::Projects);
        if self.view == View::Project {
            self.selected = self.selected.min(n.saturating_sub(1));
            self.reveal_selected();
        }
        if !self.panes().contains(&self.focus) {
            self.focus = self.panes()[0];
        }
    }

    /// Scrolls the project list so the selected row is visible.
    fn reveal_selected(&mut self) {
        let visible = self.visible(Pane::Projects).max(1);
        let s = &mut self.scroll[Pane::Projects.index()];
        if self.selected < *s {
            *s = self.selected;
        } else if self.selected >= *s + visible {
            *s = self.selected + 1 - visible;
        }
    }

    /// Scrolls (or, in the project list, moves the selection) by `delta` rows.
    fn scroll_by(&mut self, pane: Pane, delta: isize) -> Action {
        if pane == Pane::Projects {
            let n = self.len(pane);
            if n == 0 {
                return Action::None;
            }
            let before = (self.selected, self.scroll(pane));
            self.selected = self.selected.saturating_add_signed(delta).min(n - 1);
            self.reveal_selected();
            return if (self.selected, self.scroll(pane)) == before {
                Action::None
            } else {
                Action::Redraw
            };
        }
        let max = self.max_scroll(pane);
        let s = &mut self.scroll[pane.index()];
        let new = s.saturating_add_signed(delta).min(max);
        if new == *s {
            Action::None
        } else {
            *s = new;
            Action::Redraw
        }
    }

    fn switch_view(&mut self, view: View) -> Action {
        if view == self.view {
            return Action::None;
        }
        self.view = view;
        self.focus = self.panes()[0];
        Action::Reload
    }

    fn set_group(&mut self, group: Group) -> Action {
        if group == self.group {
            return Action::None;
        }
        self.group = group;
        self.scroll[Pane::Bars.index()] = 0;
        Action::Reload
    }

    /// Whether anything on screen changes with the clock alone.
    pub fn shows_clock(&self) -> bool {
        matches!(self.current_data(), Some(Data::Today(d)) if d.current.is_some())
    }
}

/// Projects by time on the timeline (falling back to the bars when grouped by project), so the
/// biggest project gets the first colour and the letter A.
fn legend(
    timeline: &[crate::model::Segment],
    bars: &[crate::model::Bar],
    group: Group,
) -> Vec<(String, f64)> {
    let mut totals: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
    for s in timeline {
        *totals.entry(s.project.as_str()).or_default() += (s.end_unix - s.start_unix).max(0.0);
    }
    if totals.is_empty() && group == Group::Project {
        for b in bars {
            *totals.entry(b.name.as_str()).or_default() += b.seconds;
        }
    }
    let mut legend: Vec<(String, f64)> = totals
        .into_iter()
        .map(|(name, seconds)| (name.to_owned(), seconds))
        .collect();
    legend.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    legend
}

/// The dashboard's one transition: applies `input` to `app` and says what the loop must do next.
pub fn update(app: &mut App, input: Input) -> Action {
    match input {
        Input::Key(key) => on_key(app, key),
        Input::Mouse(mouse) => on_mouse(app, mouse),
        Input::Resize(width, height) => {
            app.area = Rect::new(0, 0, width, height);
            app.clamp();
            Action::Redraw
        }
        Input::Changed => Action::Reload,
        Input::Connected => {
            // Whatever we show may be stale after an outage.
            Action::Reload
        }
        Input::Disconnected(message) => {
            app.connection = Connection::Disconnected(message);
            app.ticks_since_failure = 0;
            Action::Redraw
        }
        Input::Tick => {
            if matches!(app.connection, Connection::Disconnected(_)) {
                app.ticks_since_failure += 1;
                if app.ticks_since_failure >= RETRY_TICKS {
                    app.ticks_since_failure = 0;
                    return Action::Reload;
                }
            }
            if app.shows_clock() {
                Action::Redraw
            } else {
                Action::None
            }
        }
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Action {
    // Terminals that report releases (Windows, kitty protocol) would otherwise act twice.
    if key.kind == KeyEventKind::Release {
        return Action::None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
        return Action::Quit;
    }
    match std::mem::replace(&mut app.mode, Mode::Normal) {
        Mode::Help => match key.code {
            KeyCode::Esc | KeyCode::Char('?' | 'h') => Action::Redraw,
            KeyCode::Char('q') => Action::Quit,
            _ => {
                app.mode = Mode::Help;
                Action::None
            }
        },
        Mode::Filter(mut text) => match key.code {
            KeyCode::Esc => Action::Redraw,
            KeyCode::Enter => {
                let text = text.trim();
                let filter = (!text.is_empty()).then(|| text.to_owned());
                if filter == app.filter {
                    Action::Redraw
                } else {
                    app.filter = filter;
                    app.scroll = [0; Pane::COUNT];
                    app.selected = 0;
                    Action::Reload
                }
            }
            KeyCode::Backspace => {
                text.pop();
                app.mode = Mode::Filter(text);
                Action::Redraw
            }
            KeyCode::Char('u') if ctrl => {
                app.mode = Mode::Filter(String::new());
                Action::Redraw
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                // The source gets at most a name's worth of text.
                if text.chars().count() < 256 {
                    text.push(c);
                }
                app.mode = Mode::Filter(text);
                Action::Redraw
            }
            _ => {
                app.mode = Mode::Filter(text);
                Action::None
            }
        },
        Mode::Normal => on_normal_key(app, key),
    }
}

fn on_normal_key(app: &mut App, key: KeyEvent) -> Action {
    let page = |app: &App| app.visible(app.focus).max(1) as isize;
    match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => {
            if app.filter.take().is_some() {
                app.scroll = [0; Pane::COUNT];
                Action::Reload
            } else {
                Action::Quit
            }
        }
        KeyCode::Tab => {
            let next = View::ALL[(app.view.index() + 1) % View::ALL.len()];
            app.switch_view(next)
        }
        KeyCode::BackTab => {
            let prev = View::ALL[(app.view.index() + View::ALL.len() - 1) % View::ALL.len()];
            app.switch_view(prev)
        }
        KeyCode::Char('1') => app.switch_view(View::Today),
        KeyCode::Char('2') => app.switch_view(View::Week),
        KeyCode::Char('3') => app.switch_view(View::Month),
        KeyCode::Char('4') => app.switch_view(View::Project),
        KeyCode::Left => {
            app.set_offset(app.offset().saturating_sub(1));
            Action::Reload
        }
        KeyCode::Right => {
            if app.offset() < 0 {
                app.set_offset(app.offset() + 1);
                Action::Reload
            } else {
                Action::None
            }
        }
        KeyCode::Char('t') => {
            if app.offset() < 0 {
                app.set_offset(0);
                Action::Reload
            } else {
                Action::None
            }
        }
        KeyCode::Char('p') => app.set_group(Group::Project),
        KeyCode::Char('l') => app.set_group(Group::Language),
        KeyCode::Char('b') => app.set_group(Group::Branch),
        KeyCode::Char('?' | 'h') => {
            app.mode = Mode::Help;
            Action::Redraw
        }
        KeyCode::Char('/') => {
            app.mode = Mode::Filter(app.filter.clone().unwrap_or_default());
            Action::Redraw
        }
        KeyCode::Char('r') => Action::Reload,
        KeyCode::Char('f') => {
            let panes = app.panes();
            let i = panes.iter().position(|&p| p == app.focus).unwrap_or(0);
            let next = panes[(i + 1) % panes.len()];
            if next == app.focus {
                Action::None
            } else {
                app.focus = next;
                Action::Redraw
            }
        }
        KeyCode::Up | KeyCode::Char('k') => app.scroll_by(app.focus, -1),
        KeyCode::Down | KeyCode::Char('j') => app.scroll_by(app.focus, 1),
        KeyCode::PageUp => app.scroll_by(app.focus, -page(app)),
        KeyCode::PageDown => app.scroll_by(app.focus, page(app)),
        KeyCode::Home | KeyCode::Char('g') => app.scroll_by(app.focus, isize::MIN / 2),
        KeyCode::End | KeyCode::Char('G') => app.scroll_by(app.focus, isize::MAX / 2),
        KeyCode::Enter => open_selected(app),
        _ => Action::None,
    }
}

/// Drills into the highlighted project of the Project view.
fn open_selected(app: &mut App) -> Action {
    if app.view != View::Project {
        return Action::None;
    }
    let Some(Data::Project(data)) = app.current_data() else {
        return Action::None;
    };
    let Some(bar) = data.projects.get(app.selected) else {
        return Action::None;
    };
    if data.project.as_ref() == Some(&bar.name) && app.project.as_ref() == Some(&bar.name) {
        return Action::None;
    }
    app.project = Some(bar.name.clone());
    for pane in [Pane::Branches, Pane::Files, Pane::Commits] {
        app.scroll[pane.index()] = 0;
    }
    Action::Reload
}

/// Rows one wheel notch scrolls.
const WHEEL_ROWS: isize = 3;

fn on_mouse(app: &mut App, mouse: MouseEvent) -> Action {
    let at = Position::new(mouse.column, mouse.row);
    let hit = render::pane_areas(app, app.area)
        .into_iter()
        .find(|p| p.outer.contains(at));
    let Some(hit) = hit else {
        return Action::None;
    };
    if app.mode != Mode::Normal {
        return Action::None;
    }
    match mouse.kind {
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let delta = if mouse.kind == MouseEventKind::ScrollDown {
                WHEEL_ROWS
            } else {
                -WHEEL_ROWS
            };
            let focus_changed = app.focus != hit.pane;
            app.focus = hit.pane;
            if hit.pane == Pane::Projects {
                // The wheel scrolls the project list's view; the selection follows into view.
                let max = app.max_scroll(Pane::Projects);
                let s = &mut app.scroll[Pane::Projects.index()];
                *s = s.saturating_add_signed(delta).min(max);
                let visible = usize::from(hit.inner.height).max(1);
                let first = *s;
                app.selected = app.selected.clamp(first, first + visible - 1);
                app.selected = app.selected.min(app.len(Pane::Projects).saturating_sub(1));
                return Action::Redraw;
            }
            match app.scroll_by(hit.pane, delta) {
                Action::None if focus_changed => Action::Redraw,
                other => other,
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            app.focus = hit.pane;
            if hit.pane == Pane::Projects && hit.inner.contains(at) {
                let row = usize::from(at.y - hit.inner.y) + app.scroll(Pane::Projects);
                if row < app.len(Pane::Projects) {
                    app.selected = row;
                    return match open_selected(app) {
                        Action::None => Action::Redraw,
                        other => other,
                    };
                }
            }
            Action::Redraw
        }
        _ => Action::None,
    }
}
