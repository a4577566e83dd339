//! `backstop`: refuses destructive commands unless a verified, redundant backup of
//! their target exists and a person approves.

mod cli;
mod cmd;
mod config;
mod report;

use std::process::ExitCode;

use clap::Parser;

/// Exit code for bad input or configuration (check's 0, 1, 2 are decisions).
pub const EXIT_ERROR: u8 = 3;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`backstop scan | head`) is not an error worth a message.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("backstop: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
