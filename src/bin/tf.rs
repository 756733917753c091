//! `tf`: the TimeForged command line. Parses arguments and hands over to `timeforged::cli`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match timeforged::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // An agent's hook must never fail: exit status 2 would block the agent's tool call.
        Err(e)
            if e.use_stderr()
                && timeforged::cli::agent::is_agent_event(
                    &std::env::args_os().collect::<Vec<_>>(),
                ) =>
        {
            timeforged::cli::agent::arguments_refused(&e);
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    match timeforged::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`tf log | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("tf: {err:#}");
            ExitCode::from(2)
        }
    }
}
