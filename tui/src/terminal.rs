//! The real terminal: raw mode, alternate screen and mouse capture around [`run_with`], undone on
//! every way out (return, error, panic), plus the thread that feeds it terminal events.

use std::io::{self, Write};
use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::app::Input;
use crate::event_loop::run_with;
use crate::model::Source;
use crate::theme::Options;

/// How often the input thread looks up from `poll` to see whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(50);

/// Spawns a thread that forwards crossterm events (key, mouse, resize) into `tx`. It ends when the
/// receiver is gone (noticed at the next event) or reading the terminal fails.
pub fn spawn_terminal_input(tx: Sender<Input>) -> JoinHandle<()> {
    spawn_terminal_input_until(tx, Arc::new(AtomicBool::new(false)))
}

/// Like [`spawn_terminal_input`], and also ends within [`INPUT_POLL`] of `stop` being set, so no
/// key typed after the dashboard closes is swallowed by a stray reader.
fn spawn_terminal_input_until(tx: Sender<Input>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    thread::Builder::new()
        .name("tf-dash-input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(INPUT_POLL) {
                    Ok(false) => continue,
                    Ok(true) => {}
                    Err(_) => break,
                }
                let input = match event::read() {
                    Ok(Event::Key(key)) => Input::Key(key),
                    Ok(Event::Mouse(mouse)) => Input::Mouse(mouse),
                    Ok(Event::Resize(w, h)) => Input::Resize(w, h),
                    Ok(_) => continue,
                    Err(_) => break,
                };
                if tx.send(input).is_err() {
                    break;
                }
            }
        })
        .unwrap_or_else(|e| {
            // Without an input thread the dashboard cannot be quit by key; say so and go on with
            // a thread that does nothing rather than panic.
            eprintln!("tf: cannot start the terminal input thread: {e}");
            thread::spawn(|| {})
        })
}

/// Sets up the real terminal (raw mode, alternate screen, mouse capture), installs a panic hook
/// that restores it, runs the dashboard on stdout and restores the terminal on every exit path.
///
/// It starts its own terminal-input thread (from a clone of `tx`, stopped and joined on return);
/// the caller forwards daemon signals (`Changed`, `Connected`, `Disconnected`) and a 1 s
/// [`Input::Tick`] into `tx`. Colours follow `NO_COLOR`.
pub fn run_in_terminal(
    source: &mut impl Source,
    tx: Sender<Input>,
    rx: Receiver<Input>,
) -> io::Result<()> {
    run_in_terminal_with(source, tx, rx, Options::from_env())
}

/// [`run_in_terminal`] with explicit [`Options`].
pub fn run_in_terminal_with(
    source: &mut impl Source,
    tx: Sender<Input>,
    rx: Receiver<Input>,
    options: Options,
) -> io::Result<()> {
    let guard = TerminalGuard::enter()?;
    // No `terminal.clear()`: it asks the terminal for the cursor position, which hangs until a
    // timeout where nothing answers; the alternate screen was cleared on entry instead.
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;

    let stop_input = Arc::new(AtomicBool::new(false));
    let helpers = Helpers {
        input: Some(spawn_terminal_input_until(tx, Arc::clone(&stop_input))),
        stop_input,
    };

    let result = run_with(&mut terminal, source, rx, options);

    drop(helpers);
    drop(terminal);
    let restored = guard.leave();
    result.and(restored)
}

/// The input thread; dropping this (also while unwinding) stops and joins it, so nothing keeps
/// reading the terminal after the dashboard is gone.
struct Helpers {
    input: Option<JoinHandle<()>>,
    stop_input: Arc<AtomicBool>,
}

impl Drop for Helpers {
    fn drop(&mut self) {
        self.stop_input.store(true, Ordering::Relaxed);
        if thread::panicking() {
            // The panic hook has already put the terminal back in cooked mode, where the input
            // thread's read can block until Enter; joining it would hang the panicking program.
            return;
        }
        // It ends within one poll interval; if it panicked there is nothing left to clean up.
        if let Some(handle) = self.input.take() {
            let _ = handle.join();
        }
    }
}

/// Puts the terminal back to how the shell expects it. Idempotent through `active`.
fn restore(active: &AtomicBool) -> io::Result<()> {
    if !active.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    // Try every step even if one fails: a half-restored terminal is the worst outcome.
    let raw = disable_raw_mode();
    let mut out = io::stdout();
    let screen = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let flush = out.flush();
    raw.and(screen).and(flush)
}

type PanicHook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Owns the terminal's raw/alternate state and the panic hook; dropping it (also while unwinding)
/// restores both.
struct TerminalGuard {
    active: Arc<AtomicBool>,
    /// The hook that was installed before ours, put back on leave.
    previous_hook: Arc<Mutex<Option<PanicHook>>>,
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        let active = Arc::new(AtomicBool::new(false));
        let previous_hook: Arc<Mutex<Option<PanicHook>>> =
            Arc::new(Mutex::new(Some(panic::take_hook())));
        {
            let active = Arc::clone(&active);
            let previous = Arc::clone(&previous_hook);
            panic::set_hook(Box::new(move |info| {
                // Restore first so the panic message lands on the normal screen, readable.
                let _ = restore(&active);
                if let Ok(previous) = previous.lock()
                    && let Some(hook) = previous.as_ref()
                {
                    hook(info);
                }
            }));
        }
        let guard = TerminalGuard {
            active,
            previous_hook,
        };
        // From here on, any failure leaves through Drop, which undoes what was done.
        guard.active.store(true, Ordering::SeqCst);
        enable_raw_mode()?;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            Clear(ClearType::All),
            EnableMouseCapture
        )?;
        Ok(guard)
    }

    fn leave(self) -> io::Result<()> {
        let result = restore(&self.active);
        drop(self);
        result
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore(&self.active);
        // Setting a hook while panicking is not allowed; the process is going down anyway.
        if !thread::panicking() {
            let previous = self.previous_hook.lock().ok().and_then(|mut p| p.take());
            if let Some(previous) = previous {
                let _ = panic::take_hook();
                panic::set_hook(previous);
            }
        }
    }
}
