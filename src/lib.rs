//! TimeForged: a local-first tracker of developer time. The daemon (`timeforged`) and the CLI
//! (`tf`) are thin binaries over this library; `daemon::run` starts a real daemon in-process.

pub mod agent;
pub mod apikey;
pub mod calendar;
pub mod cli;
pub mod client;
pub mod config;
pub mod daemon;
pub mod focus;
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod heap;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod libm;
pub mod model;
mod named;
pub mod paths;
pub mod project;
pub mod protocol;
pub mod report;
pub mod shell;
pub mod store;
pub mod sync;
pub mod timeline;
pub mod wakatime;
pub mod watch;
mod web;
