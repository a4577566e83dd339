//! One file per subcommand; `run` dispatches.

mod check;
mod explain;
mod policy;
mod scan;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use backstop_rules::Dialect;

use crate::cli::{Cmd, LineArgs};

pub fn run(cmd: Cmd) -> Result<ExitCode> {
    match cmd {
        Cmd::Check(a) => check::run(&a),
        Cmd::Explain(a) => explain::run(&a),
        Cmd::Scan(a) => scan::run(&a),
        Cmd::Policy(p) => policy::run(p),
    }
}

/// The pieces every line-taking command needs.
pub struct LineInput {
    pub line: String,
    pub dialect: Dialect,
    pub cwd: Option<PathBuf>,
    pub home: Option<String>,
}

impl LineInput {
    pub fn from_args(a: &LineArgs) -> Result<LineInput> {
        let dialect: Dialect = a.shell.parse()?;
        let cwd = match &a.cwd {
            Some(c) => Some(c.clone()),
            None => std::env::current_dir().ok(),
        };
        Ok(LineInput {
            line: a.line.join(" "),
            dialect,
            cwd,
            home: crate::config::home_dir(),
        })
    }

    pub fn cwd_str(&self) -> Option<String> {
        self.cwd.as_ref().map(|p| p.display().to_string())
    }
}

pub fn parse_dialect(shell: &str) -> Result<Dialect> {
    shell
        .parse::<Dialect>()
        .context("choose the shell with --shell")
}
