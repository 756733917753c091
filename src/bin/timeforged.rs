//! `timeforged`: the per-user daemon (`timeforged run`, the default, serves in the foreground),
//! the team server (`timeforged serve`) and its user administration (`timeforged user …`).

use anyhow::Context;
use clap::Parser;
use std::process::ExitCode;
use timeforged::calendar::Calendar;
use timeforged::cli::admin;
use timeforged::cli::args::{DaemonCli, DaemonCommand};
use timeforged::config::{self, Config};
use timeforged::daemon::{self, Options};
use timeforged::paths::Paths;

fn main() -> ExitCode {
    let args = DaemonCli::parse();
    let command = args.command.unwrap_or(DaemonCommand::Run);
    let daemon = matches!(command, DaemonCommand::Run);
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if daemon {
                tracing::error!("{err:#}");
            }
            eprintln!("timeforged: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: DaemonCommand) -> anyhow::Result<()> {
    // The database, log and socket hold the users' activity: private.
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe { libc::umask(0o077) };
    let paths = Paths::from_env()?;
    let config = Config::load(&paths.config_file, config::env_vars())?;
    let paths = paths.with_overrides(
        config.daemon.socket.as_deref(),
        config.storage.database.as_deref(),
    );
    match command {
        DaemonCommand::Run => {
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
