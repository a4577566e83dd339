//! The `backstop` binary's modules, as a library so that fuzz targets, benches and
//! tests can reach its internals (as `just` keeps `src/lib.rs` beside `main.rs`).
//! It is not a stable API: the command line is.

pub mod agent;
pub mod audit;
pub mod backups;
pub mod cli;
pub mod cmd;
pub mod coding_agent;
pub mod config;
pub mod files;
pub mod progress;
pub mod protect;
pub mod recipes;
pub mod report;
pub mod settings;
pub mod style;
pub mod syslog;
pub mod tty;
pub mod wrap;

/// Exit code for bad input or configuration (check's 0, 1, 2 are decisions).
pub const EXIT_ERROR: u8 = 3;

/// `println!` that hands back the write's error instead of panicking on a closed
/// pipe (`backstop audit | head`); `main` ends quietly on a broken pipe.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
