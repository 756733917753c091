//! The dashboard's loop, generic over any ratatui [`Backend`]: it blocks on the input channel,
//! coalesces whatever queued up into one step, loads from the [`Source`] when asked and draws.

use std::io;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::app::{Action, App, Input, update};
use crate::model::Source;
use crate::render::render;
use crate::theme::Options;

/// Inputs handled in one step at most, so a flood (a stuck key, a chatty daemon) still lets a
/// frame through now and then.
const MAX_BATCH: usize = 256;

/// Runs the dashboard until `q`, Esc or Ctrl-C, or until every sender of `inputs` is gone.
/// Colours follow `NO_COLOR` ([`Options::from_env`]).
pub fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    source: &mut impl Source,
    inputs: Receiver<Input>,
) -> io::Result<()> {
    run_with(terminal, source, inputs, Options::from_env())
}

/// [`run`] with explicit [`Options`].
pub fn run_with<B: Backend>(
    terminal: &mut Terminal<B>,
    source: &mut impl Source,
    inputs: Receiver<Input>,
    options: Options,
) -> io::Result<()> {
    let mut app = App::new(options);
    if let Ok(size) = terminal.size() {
        app.area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    }
    let mut loaded_at = Instant::now();
    reload(&mut app, source, &mut loaded_at);
    draw(terminal, &mut app)?;
    // recv() blocks: no polling, no CPU while nothing happens.
    while let Ok(first) = inputs.recv() {
        let mut action = step(&mut app, first, loaded_at);
        for _ in 1..MAX_BATCH {
            if action == Action::Quit {
                break;
            }
            match inputs.try_recv() {
                Ok(input) => action = action.merge(step(&mut app, input, loaded_at)),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        match action {
            Action::Quit => return Ok(()),
            Action::Reload => {
                reload(&mut app, source, &mut loaded_at);
                draw(terminal, &mut app)?;
            }
            Action::Redraw => draw(terminal, &mut app)?,
            Action::None => {}
        }
    }
    Ok(())
}

fn step(app: &mut App, input: Input, loaded_at: Instant) -> Action {
    if input == Input::Tick {
        // The loop owns the real clock; `update` stays pure.
        app.set_elapsed_since_load(loaded_at.elapsed().as_secs_f64());
    }
    update(app, input)
}

fn reload(app: &mut App, source: &mut impl Source, loaded_at: &mut Instant) {
    let result = source.load(&app.load());
    if result.is_ok() {
        *loaded_at = Instant::now();
    }
    app.apply(result);
}

fn draw<B: Backend>(terminal: &mut Terminal<B>, app: &mut App) -> io::Result<()> {
    let completed = terminal
        .draw(|frame| render(app, frame))
        .map_err(|e| io::Error::other(format!("drawing the dashboard: {e}")))?;
    // The frame's size is the truth for mouse hits, whatever Resize said.
    app.area = completed.area;
    Ok(())
}
