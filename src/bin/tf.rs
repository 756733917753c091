//! `tf`: the TimeForged command line. Parses arguments and hands over to `timeforged::cli`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = timeforged::cli::Cli::parse();
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
