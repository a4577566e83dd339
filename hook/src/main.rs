//! `backstop`: refuses destructive commands unless a verified, redundant backup of
//! their target exists and a person approves. The work is in the library (`lib.rs`);
//! this only parses the command line and maps the outcome to an exit code.

use std::process::ExitCode;

use backstop::{cli, cmd, EXIT_ERROR};
use clap::Parser;

fn main() -> ExitCode {
    // The hot path skips building every other subcommand's parser.
    let first = std::env::args_os().nth(1);
    let parsed = if first.as_ref().is_some_and(|a| a == "check") {
        cli::CheckOnly::try_parse_from(std::env::args_os().skip(1)).map(|c| cli::Cmd::Check(c.args))
    } else if first.as_ref().is_some_and(|a| a == "hook") {
        cli::HookOnly::try_parse_from(std::env::args_os().skip(1)).map(|c| cli::Cmd::Hook(c.args))
    } else if first.as_ref().is_some_and(|a| a == "agent-hook") {
        match cli::AgentHookOnly::try_parse_from(std::env::args_os().skip(1)) {
            Ok(c) => return cmd::agent::run(&c.args),
            // Most agents run the command on any exit but 2: a broken hook line blocks.
            Err(e) if e.use_stderr() => {
                let _ = e.print();
                return ExitCode::from(cmd::agent::EXIT_BLOCK);
            }
            Err(e) => Err(e),
        }
    } else {
        cli::Cli::try_parse().map(|c| c.command)
    };
    let command = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; a usage error is bad input (3), never
            // clap's default 2, which `check` uses for "deny".
            return if e.use_stderr() {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cmd::run(command) {
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
