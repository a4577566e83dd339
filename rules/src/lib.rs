//! backstop's rule engine: read a command line the way the shell will run it, and
//! match what runs against TOML policies.
//!
//! A line goes through three stages:
//! 1. a dialect's reader ([`Dialect::parse`]) finds every simple command it runs —
//!    through lists, pipelines, groups, substitutions and heredocs — with its words
//!    after quote removal;
//! 2. [`unwrap::peel`] removes wrappers (`sudo`, `env`, `xargs`, `find -exec`,
//!    `bash -c` …) to reach the program that really runs;
//! 3. the [`Engine`] matches each command against the rules of the packs that name
//!    its program, extracts targets, and decides.
//!
//! ```
//! use backstop_rules::{Context, Decision, Dialect, Engine};
//!
//! let engine = Engine::builtin();
//! let ctx = Context { dialect: Dialect::Bash, home: Some("/home/ada"), ..Context::default() };
//!
//! let eval = engine.evaluate("sudo env X=1 'r''m' -rf ~/data", &ctx).unwrap();
//! assert_eq!(eval.decision, Decision::Deny); // no verified backup of /home/ada/data
//! assert_eq!(eval.findings[0].targets[0].value, "/home/ada/data");
//!
//! assert_eq!(engine.evaluate("ls -la", &ctx).unwrap().decision, Decision::Allow);
//! ```
//!
//! The engine does no I/O of its own: policy files are handed to it as text, and
//! whether a backup covers a target is asked of a [`BackupOracle`], what a target is
//! (exists, a file, how large) of [`FileFacts`].

// Errors carry file, line, column and rule for the message; they are rare and on
// cold paths, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod args;
mod cmd;
pub mod command;
pub mod dialect;
mod dynamic;
pub mod engine;
pub mod error;
pub mod examples;
mod indirect;
mod made;
pub mod net;
mod nu;
pub mod policy;
mod posix;
mod powershell;
pub mod prefilter;
mod registry;
mod runners;
pub mod scripts;
mod sieve;
mod simple;
pub mod sql;
mod text;
pub mod unwrap;

pub use command::{Command, Container, FileLine, Origin, Script, Stdin, Word, WorkDir};
pub use dialect::Dialect;
pub use engine::{
    Backup, BackupOracle, BackupStatus, Context, Decision, Engine, Evaluation, FileFacts, FileKind,
    FileReader, FileText, Finding, GitSource, Need, NoBackups, NoFacts, NoFiles, PathFact, Source,
    Stat, Target, TargetFinding, FEW_FILES, LARGE_FILE, MAX_SQL_FILE, SQL_READ_BUDGET,
};
pub use error::{Error, Result};
pub use policy::{Exists, Layer, Policy, Requires, Rule, Severity};
pub use prefilter::ProgramWords;
#[doc(hidden)]
pub use sieve::read_every_piece as sieve_read_every_piece;
pub use sieve::FileSieve;
