//! `backstop completions SHELL` and `backstop man`: made from the clap definition
//! (`cli.rs`) itself, so that they cannot drift from the command line.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::CommandFactory as _;

use super::init::Shell;
use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// The completion script for `shell`, for the command named `backstop`.
pub fn script(shell: Shell) -> Vec<u8> {
    use clap_complete::Shell as C;
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    match shell {
        Shell::Bash => clap_complete::generate(C::Bash, &mut cmd, "backstop", &mut out),
        Shell::Zsh => clap_complete::generate(C::Zsh, &mut cmd, "backstop", &mut out),
        Shell::Fish => clap_complete::generate(C::Fish, &mut cmd, "backstop", &mut out),
        Shell::Pwsh => clap_complete::generate(C::PowerShell, &mut cmd, "backstop", &mut out),
        Shell::Nu => clap_complete::generate(
            clap_complete_nushell::Nushell,
            &mut cmd,
            "backstop",
            &mut out,
        ),
    }
    out
}

pub fn completions(a: &CompletionsArgs) -> Result<ExitCode> {
    let shell = Shell::parse(&a.shell)?;
    std::io::stdout()
        .lock()
        .write_all(&script(shell))
        .context("cannot write the completions")?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(a: &ManArgs) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    cmd.build();
    let page = match &a.subcommand {
        None => cmd,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name) else {
                let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                let hint = backstop_rules::error::suggest(name, &names)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                bail!("backstop has no subcommand `{name}`{hint}; `backstop --help` lists them");
            };
            // Built, it is named backstop-SUBCOMMAND (its page's title, as git's
            // and cargo's are) and run as `backstop SUBCOMMAND`.
            sub.clone().version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .context("cannot render the man page")?;
    std::io::stdout()
        .lock()
        .write_all(&out)
        .context("cannot write the man page")?;
    Ok(ExitCode::SUCCESS)
}
