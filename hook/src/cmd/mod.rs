//! One file per subcommand; `run` dispatches.

pub mod agent;
mod audit;
pub(crate) mod backup;
mod check;
mod completions;
mod doctor;
mod explain;
pub(crate) mod hook;
pub mod init;
mod policy;
mod restore;
mod scan;
mod setup;
pub mod words;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use backstop_rules::{Context, Dialect, Evaluation};

use crate::config::{self, Dirs};

use crate::cli::{Cmd, LineArgs};

pub fn run(cmd: Cmd) -> Result<ExitCode> {
    match cmd {
        Cmd::Check(a) => check::run(&a),
        Cmd::Explain(a) => explain::run(&a),
        Cmd::Scan(a) => scan::run(&a),
        Cmd::Policy(p) => policy::run(p),
        Cmd::Backup(a) => backup::run(&a),
        Cmd::Manifests(a) => backup::list(&a),
        Cmd::Verify(a) => backup::verify(&a),
        Cmd::RestoreTest(a) => backup::restore_test(&a),
        Cmd::Cleanup(a) => backup::cleanup(&a),
        Cmd::Restore(a) => restore::run(&a),
        Cmd::Undo(a) => restore::undo(&a),
        Cmd::Setup(a) => setup::run(&a),
        Cmd::Hook(a) => hook::run(&a),
        Cmd::Audit(a) => audit::run(&a),
        Cmd::Init(a) => init::init(&a),
        Cmd::Install(a) => init::install(&a),
        Cmd::Uninstall(a) => init::uninstall(&a),
        Cmd::AgentHook(a) => Ok(agent::run(&a)),
        Cmd::Wrap(a) => crate::wrap::run(&a),
        Cmd::Doctor(a) => doctor::run(&a),
        Cmd::Completions(a) => completions::completions(&a),
        Cmd::Man(a) => completions::man(&a),
    }
}

/// The pieces every line-taking command needs.
#[derive(Debug)]
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

    /// Evaluate the line with every policy layer in force where it runs.
    pub fn evaluate(&self) -> Result<Evaluation> {
        self.evaluate_assuming(false)
    }

    /// [`LineInput::evaluate`]; with `assume_exists`, every path the line deletes
    /// counts as existing (`check --assume-exists`).
    pub fn evaluate_assuming(&self, assume_exists: bool) -> Result<Evaluation> {
        let dirs = Dirs::discover()?;
        let oracle = crate::backups::ManifestOracle::new(dirs.clone());
        self.decide(&dirs, &oracle, assume_exists)
    }

    /// Evaluate with this oracle, which the caller can ask afterwards what happened.
    pub fn evaluate_with(
        &self,
        dirs: &Dirs,
        oracle: &crate::backups::ManifestOracle,
    ) -> Result<Evaluation> {
        self.decide(dirs, oracle, false)
    }

    fn decide(
        &self,
        dirs: &Dirs,
        oracle: &crate::backups::ManifestOracle,
        assume_exists: bool,
    ) -> Result<Evaluation> {
        let engine = config::engine(dirs, self.cwd.as_deref())?;
        let cwd = self.cwd.as_ref().map(|p| p.display().to_string());
        let local = crate::files::LocalFiles;
        let assumed = crate::files::AssumeExists(&local);
        let ctx = Context {
            dialect: self.dialect,
            cwd: cwd.as_deref(),
            home: self.home.as_deref(),
            backups: oracle,
            files: &local,
            facts: if assume_exists { &assumed } else { &local },
        };
        let mut eval = engine.evaluate(&self.line, &ctx)?;
        self.guard_own_places(&engine, &ctx, dirs, &mut eval)?;
        Ok(eval)
    }

    /// The self-protection rules know backstop's usual places by name; a custom
    /// `BACKSTOP_HOME` (or an agent's moved configuration directory, or a path
    /// relative to a `cd` into one) they cannot. A command that names one is read
    /// again with the place renamed to one they know, and what they find is kept.
    fn guard_own_places(
        &self,
        engine: &backstop_rules::Engine,
        ctx: &Context,
        dirs: &Dirs,
        eval: &mut Evaluation,
    ) -> Result<()> {
        let places = crate::protect::OwnPlaces::new(dirs, self.home.as_deref());
        for hit in places.hits(&eval.commands, self.cwd.as_deref()) {
            let Some(cmd) = eval.commands.get(hit.command) else {
                continue;
            };
            let (shown, via) = (cmd.to_string(), cmd.via.clone());
            let known = engine.evaluate(&hit.as_known, ctx)?;
            for mut f in known.findings {
                if !f.id.starts_with("backstop.")
                    || eval
                        .findings
                        .iter()
                        .any(|e| e.id == f.id && e.command == shown)
                {
                    continue;
                }
                f.command = shown.clone();
                f.via = via.clone();
                f.why.push(format!("`{}` is {}", hit.word, hit.what));
                eval.decision = eval.decision.max(f.decision);
                eval.findings.push(f);
            }
        }
        Ok(())
    }
}

pub fn parse_dialect(shell: &str) -> Result<Dialect> {
    shell
        .parse::<Dialect>()
        .context("choose the shell with --shell")
}
