//! `timeforged`: the per-user daemon (`timeforged run`, the default, serves in the foreground),
//! the team server (`timeforged serve`) and its user administration (`timeforged user …`).
//! Exit status: 0 after a clean stop, 1 on an error (printed on stderr and logged), 3 when
//! another daemon already serves this database or socket (`tf` then waits for that one).

use anyhow::Context;
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use timeforged::calendar::Calendar;
use timeforged::cli::admin;
use timeforged::cli::args::{DaemonCli, DaemonCommand};
use timeforged::client::EXIT_ANOTHER_DAEMON;
use timeforged::config::{self, Config};
use timeforged::daemon::{self, DaemonError, Options};
use timeforged::paths::Paths;

fn main() -> ExitCode {
    let args = DaemonCli::parse();
    let command = args.command.unwrap_or(DaemonCommand::Run);
    let daemon = matches!(command, DaemonCommand::Run);
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let another = daemon
                && matches!(
                    err.downcast_ref::<DaemonError>(),
                    Some(DaemonError::Locked { .. } | DaemonError::AlreadyRunning { .. })
                );
            if another {
                // Normal when several `tf` start a daemon at once: not an error to log.
                tracing::info!("not starting: {err:#}");
            } else if daemon {
                tracing::error!("{err:#}");
            }
            // stderr may be a pipe `tf` has stopped reading: a failed write is no reason to
            // panic on the way out.
            let _ = writeln!(std::io::stderr(), "timeforged: {err:#}");
            ExitCode::from(if another { EXIT_ANOTHER_DAEMON } else { 1 })
        }
    }
}

fn run(command: DaemonCommand) -> anyhow::Result<()> {
    // The database, log and socket hold the users' activity: private.
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe { libc::umask(0o077) };
    let paths = Paths::from_env()?;
    // The file in use (config.toml or config.yaml) is found again at each reload.
    let (config, _) = config::load_found(&paths.config_file, config::env_vars())?;
    let paths = paths.with_overrides(
        config.daemon.socket.as_deref(),
        config.storage.database.as_deref(),
    );
    match command {
        DaemonCommand::Run => {
            // Before anything is created or opened, so that a read-only file system or an
            // unusable database is named as such (the log may be the first thing that cannot
            // be written).
            daemon::startup::check(&paths)?;
            paths.create_dirs()?;
            init_logging(&paths, &config)?;
            daemon::run(Options {
                paths,
                config,
                calendar: Calendar::system(),
            })?;
        }
        DaemonCommand::Serve(args) => {
            init_server_logging(&config)?;
            admin::serve(args, config, &paths)?;
        }
        DaemonCommand::User(args) => {
            admin::user(args, &config, &paths, &mut std::io::stdout().lock())?;
        }
    }
    Ok(())
}

fn filter(config: &Config) -> anyhow::Result<tracing_subscriber::EnvFilter> {
    tracing_subscriber::EnvFilter::try_new(&config.daemon.log_level).with_context(|| {
        format!(
            "daemon.log_level {:?} is not a valid filter",
            config.daemon.log_level
        )
    })
}

/// The daemon logs to its log file (stdout stays empty); `log_level` is a tracing filter.
/// Panics are logged too: once `tf` has seen the daemon listen it no longer reads the
/// daemon's stderr.
fn init_logging(paths: &Paths, config: &Config) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
        .with_context(|| format!("cannot open log file {}", paths.log.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter(config)?)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .init();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("panic: {info}");
        default_hook(info);
    }));
    Ok(())
}

/// The server logs to stderr (a service manager keeps it).
fn init_server_logging(config: &Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(filter(config)?)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    Ok(())
}
