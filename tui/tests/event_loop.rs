//! The loop over a channel, with a fake `Source` (the crate's own boundary) and `TestBackend`.

mod common;

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use common::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use timeforged_tui::{Data, Group, Input, Load, Options, Source, View, run_with};

/// Answers from a script (then repeats Today), and reports every load on a channel so the test
/// can wait for it instead of sleeping.
struct FakeSource {
    script: VecDeque<Result<Data, String>>,
    loads: Vec<Load>,
    seen: Sender<Load>,
}

impl Source for FakeSource {
    fn load(&mut self, load: &Load) -> Result<Data, String> {
        self.loads.push(load.clone());
        let _ = self.seen.send(load.clone());
        self.script.pop_front().unwrap_or_else(|| match load.view {
            View::Today => Ok(Data::Today(today())),
            View::Week | View::Month => Ok(Data::Period(week())),
            View::Project => Ok(Data::Project(project())),
        })
    }
}

type Outcome = (std::io::Result<()>, FakeSource, Terminal<TestBackend>);

/// Starts the loop on its own thread; returns the input sender, the load notifications and the
/// handle that yields the result, the source and the terminal.
fn start(
    script: Vec<Result<Data, String>>,
    queued: Vec<Input>,
) -> (Sender<Input>, Receiver<Load>, thread::JoinHandle<Outcome>) {
    let (tx, rx) = mpsc::channel();
    let (seen_tx, seen_rx) = mpsc::channel();
    for input in queued {
        tx.send(input).expect("queue");
    }
    let handle = thread::spawn(move || {
        let mut source = FakeSource {
            script: script.into(),
            loads: Vec::new(),
            seen: seen_tx,
        };
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        let result = run_with(&mut terminal, &mut source, rx, Options { color: false });
        (result, source, terminal)
    });
    (tx, seen_rx, handle)
}

fn next_load(seen: &Receiver<Load>) -> Load {
    seen.recv_timeout(Duration::from_secs(10))
        .expect("the loop should have loaded")
}

#[test]
fn loads_at_start_coalesces_queued_changes_and_quits_on_q() {
    // Three change signals queued before the loop runs: one reload, not three.
    let queued = vec![Input::Changed, Input::Changed, Input::Changed];
    let (tx, seen, handle) = start(Vec::new(), queued);
    assert_eq!(next_load(&seen).view, View::Today);
    next_load(&seen);
    tx.send(key('q')).expect("send");
    let (result, source, terminal) = handle.join().expect("loop thread");
    result.expect("loop result");
    assert_eq!(source.loads.len(), 2, "{:?}", source.loads);
    assert!(screen(&terminal).contains("total 4h 40m"));
}

#[test]
fn view_group_and_period_changes_load_what_they_say() {
    let (tx, seen, handle) = start(Vec::new(), Vec::new());
    next_load(&seen);
    tx.send(key('2')).expect("send");
    let load = next_load(&seen);
    assert_eq!((load.view, load.offset), (View::Week, 0));
    tx.send(arrow(KeyCode::Left)).expect("send");
    assert_eq!(next_load(&seen).offset, -1);
    tx.send(key('l')).expect("send");
    assert_eq!(next_load(&seen).group, Group::Language);
    tx.send(key('/')).expect("send");
    for c in "rus".chars() {
        tx.send(key(c)).expect("send");
    }
    tx.send(arrow(KeyCode::Enter)).expect("send");
    assert_eq!(next_load(&seen).filter.as_deref(), Some("rus"));
    tx.send(Input::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('c'),
        crossterm::event::KeyModifiers::CONTROL,
    )))
    .expect("send");
    let (result, source, _) = handle.join().expect("loop thread");
    result.expect("loop result");
    assert_eq!(source.loads.len(), 5);
}

#[test]
fn a_failed_load_shows_the_banner_until_connected() {
    let script = vec![Ok(Data::Today(today())), Err("connection refused".into())];
    let (tx, seen, handle) = start(script, vec![Input::Changed]);
    next_load(&seen);
    next_load(&seen); // fails
    // Connected reloads, and the good load clears the banner.
    tx.send(Input::Connected).expect("send");
    next_load(&seen);
    tx.send(key('q')).expect("send");
    let (result, source, terminal) = handle.join().expect("loop thread");
    result.expect("loop result");
    assert_eq!(source.loads.len(), 3);
    let text = screen(&terminal);
    assert!(!text.contains("daemon unreachable"), "{text}");
    assert!(text.contains("● live"), "{text}");
}

#[test]
fn the_banner_is_drawn_while_the_daemon_is_away() {
    let script = vec![Ok(Data::Today(today())), Err("connection refused".into())];
    // The loop finishes a reload (load, apply, draw) before it reads the next input, so the
    // key sent after the failed load is seen only once the banner is drawn.
    let (tx, seen, handle) = start(script, vec![Input::Changed]);
    next_load(&seen);
    next_load(&seen);
    // Esc with no filter quits, after the failed load was drawn.
    tx.send(arrow(KeyCode::Esc)).expect("send");
    let (result, _, terminal) = handle.join().expect("loop thread");
    result.expect("loop result");
    let text = screen(&terminal);
    assert!(
        text.contains("daemon unreachable: connection refused — reconnecting"),
        "{text}"
    );
    // The last good data stays on screen.
    assert!(text.contains("total 4h 40m"), "{text}");
}

#[test]
fn ticks_and_redraws_do_not_load() {
    let (tx, seen, handle) = start(Vec::new(), Vec::new());
    next_load(&seen);
    for _ in 0..3 {
        tx.send(Input::Tick).expect("send");
    }
    tx.send(Input::Resize(100, 30)).expect("send");
    tx.send(key('?')).expect("send");
    tx.send(key('q')).expect("send");
    let (result, source, _) = handle.join().expect("loop thread");
    result.expect("loop result");
    assert_eq!(source.loads.len(), 1);
}

#[test]
fn the_loop_ends_when_every_sender_is_gone() {
    let (tx, seen, handle) = start(Vec::new(), Vec::new());
    next_load(&seen);
    drop(tx);
    let (result, source, _) = handle.join().expect("loop thread");
    result.expect("loop result");
    assert_eq!(source.loads.len(), 1);
}

#[test]
fn quit_in_a_batch_skips_the_pending_reload() {
    // Everything queued at once is one batch: the quit wins, no second load.
    let queued = vec![Input::Changed, key('2'), key('q')];
    let (_tx, seen, handle) = start(Vec::new(), queued);
    next_load(&seen);
    let (result, source, _) = handle.join().expect("loop thread");
    result.expect("loop result");
    assert_eq!(source.loads.len(), 1);
}
