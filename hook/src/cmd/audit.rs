//! `backstop audit` and `backstop audit verify`.

use std::process::ExitCode;

use anyhow::Result;

use crate::audit;
use crate::cli::{AuditArgs, AuditCmd};
use crate::config::Dirs;

pub fn run(a: &AuditArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    if let Some(AuditCmd::Verify) = a.cmd {
        let problems = audit::verify(&dirs)?;
        let n = audit::read(&dirs)?.len();
        if problems.is_empty() {
            crate::outln!(
                "{}: {n} records, chain intact",
                audit::log_path(&dirs).display()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        for p in &problems {
            crate::outln!("{p}")?;
        }
        crate::outln!(
            "{}: the log was tampered with or damaged",
            audit::log_path(&dirs).display()
        )?;
        return Ok(ExitCode::from(1));
    }
    let records = audit::read(&dirs)?;
    let skip = a.last.map_or(0, |n| records.len().saturating_sub(n));
    for (text, r) in records.iter().skip(skip) {
        if a.json {
            crate::outln!("{text}")?;
            continue;
        }
        match r {
            Ok(r) => {
                let targets: Vec<String> = r
                    .targets
                    .iter()
                    .map(|t| match &t.manifest {
                        Some(m) => format!("{} {} ({}, {m})", t.kind, t.value, t.backup),
                        None => format!("{} {} ({})", t.kind, t.value, t.backup),
                    })
                    .collect();
                crate::outln!(
                    "#{} {} {:<9} {:<6} {}{}{}",
                    r.seq,
                    r.time,
                    r.event,
                    r.source,
                    r.line,
                    if targets.is_empty() {
                        String::new()
                    } else {
                        format!("  [{}]", targets.join("; "))
                    },
                    if r.detail.is_empty() {
                        String::new()
                    } else {
                        format!("  — {}", r.detail)
                    }
                )?;
            }
            Err(e) => crate::outln!("(not a record: {e})")?,
        }
    }
    if records.is_empty() {
        crate::outln!("the audit log is empty")?;
    }
    Ok(ExitCode::SUCCESS)
}
