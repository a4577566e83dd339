//! Hash files with backstop's own code, for timing against `openssl dgst -sha256`
//! (scripts/bench-backup.sh).
//!
//! `sha256sum FILE…` runs `copy::digest_file`, as `backstop verify` does (the whole
//! SHA-256 and the 4 MiB block ones); `sha256sum --sha256-only FILE…` runs
//! `copy::sha256_file`, as `backstop backup` re-reads its copies. Prints
//! `HEX  FILE` lines like sha256sum(1).

use std::path::PathBuf;
use std::process::ExitCode;

use backstop_backup::copy::{digest_file, hex, sha256_file};

fn main() -> ExitCode {
    let mut sha256_only = false;
    let mut files = Vec::new();
    for arg in std::env::args_os().skip(1) {
        if arg == "--sha256-only" {
            sha256_only = true;
        } else {
            files.push(PathBuf::from(arg));
        }
    }
    if files.is_empty() {
        eprintln!("usage: sha256sum [--sha256-only] FILE...");
        return ExitCode::from(2);
    }
    for f in &files {
        let sum = if sha256_only {
            sha256_file(f).map(|(_, sha256)| hex(&sha256))
        } else {
            digest_file(f).map(|d| d.hex())
        };
        match sum {
            Ok(sum) => println!("{sum}  {}", f.display()),
            Err(e) => {
                eprintln!("sha256sum: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
