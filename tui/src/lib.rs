//! The TimeForged dashboard (`tf dash`): a live full-screen view of today, the week, the month and
//! one project, fed by a [`Source`] and by [`Input`]s pushed from outside.
//!
//! The crate does not know the daemon. The caller implements [`Source`] (the dashboard asks it for
//! a [`Load`] and gets [`Data`] back), forwards daemon signals (`Changed`, `Connected`,
//! `Disconnected`) into a channel and calls [`run_in_terminal`]; tests and other front ends call
//! [`run`] with any ratatui backend.
//!
//! Parts, each usable on its own:
//! - [`model`]: the view model and the period/offset/UTC-offset conventions a source follows;
//! - [`app`]: the state and the pure [`update`] function;
//! - [`render()`]: the pure drawing function;
//! - [`event_loop`]: the loop over a channel of inputs; [`terminal`]: the real terminal around it.

pub mod app;
pub mod event_loop;
pub mod model;
pub mod render;
pub mod terminal;
pub mod text;
pub mod theme;

pub use app::{Action, App, Connection, Input, Mode, Pane, update};
pub use event_loop::{run, run_with};
pub use model::{
    Bar, CommitRow, Current, Data, DayTotal, Focus, Group, Lanes, Load, PeriodData, ProjectData,
    Segment, SessionRow, Source, TodayData, View,
};
pub use render::render;
pub use terminal::{run_in_terminal, run_in_terminal_with, spawn_terminal_input};
pub use theme::{Options, Theme};
