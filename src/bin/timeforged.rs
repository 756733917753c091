//! `timeforged`: the per-user daemon. `timeforged run` (the default) serves in the foreground.

use anyhow::Context;
use clap::Parser;
use std::process::ExitCode;
use timeforged::calendar::Calendar;
use timeforged::cli::args::{DaemonCli, DaemonCommand};
use timeforged::config::{self, Config};
use timeforged::daemon::{self, Options};
use timeforged::paths::Paths;

fn main() -> ExitCode {
    let args = DaemonCli::parse();
    match args.command.unwrap_or(DaemonCommand::Run) {
        DaemonCommand::Run => match run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                tracing::error!("{err:#}");
                eprintln!("timeforged: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run() -> anyhow::Result<()> {
    // The database, log and socket hold the user's activity: private to the user.
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe { libc::umask(0o077) };
    let paths = Paths::from_env()?;
    let config = Config::load(&paths.config_file, config::env_vars())?;
    let paths = paths.with_overrides(
        config.daemon.socket.as_deref(),
        config.storage.database.as_deref(),
    );
    paths.create_dirs()?;
    init_logging(&paths, &config)?;
    daemon::run(Options {
        paths,
        config,
        calendar: Calendar::system(),
    })?;
    Ok(())
}

/// Logs go to the log file (stdout stays empty); `log_level` is a tracing filter.
fn init_logging(paths: &Paths, config: &Config) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
        .with_context(|| format!("cannot open log file {}", paths.log.display()))?;
    let filter =
        tracing_subscriber::EnvFilter::try_new(&config.daemon.log_level).with_context(|| {
            format!(
                "daemon.log_level {:?} is not a valid filter",
                config.daemon.log_level
            )
        })?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .init();
    Ok(())
}
