//! The `backstop` binary's modules, as a library so that fuzz targets, benches and
//! tests can reach its internals (as `just` keeps `src/lib.rs` beside `main.rs`).
//! It is not a stable API: the command line is.

pub mod agent;
pub mod audit;
pub mod backups;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod files;
pub mod progress;
pub mod recipes;
pub mod report;
pub mod settings;
pub mod tty;
pub mod wrap;

/// Exit code for bad input or configuration (check's 0, 1, 2 are decisions).
pub const EXIT_ERROR: u8 = 3;
