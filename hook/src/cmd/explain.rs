//! `backstop explain`: for a person, how the line is read and what follows.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use backstop_rules::Origin;

use crate::cli::LineArgs;
use crate::cmd::LineInput;
use crate::report;

pub fn run(a: &LineArgs) -> Result<ExitCode> {
    let input = LineInput::from_args(a)?;
    let eval = input.evaluate()?;
    let mut out = String::new();
    writeln!(out, "Line ({}): {}", input.dialect, input.line)?;
    if eval.incomplete {
        writeln!(
            out,
            "  (part of it could not be parsed; its text was examined as well)"
        )?;
    }
    writeln!(out, "\nRuns:")?;
    if eval.commands.is_empty() {
        writeln!(out, "  nothing")?;
    }
    for c in &eval.commands {
        let mut notes = Vec::new();
        if !c.via.is_empty() {
            notes.push(format!("via {}", c.via.join(" → ")));
        }
        match &c.origin {
            Origin::Line => {}
            Origin::Substitution => notes.push("in a command substitution".into()),
            Origin::NestedShell(s) => notes.push(format!("in the string given to {s}")),
            Origin::RunBy(s) => notes.push(format!("run by {s}")),
            Origin::EmbeddedIn(s) => notes.push(format!("inside {s} code")),
            Origin::TextFallback => notes.push("recovered from unparsed text".into()),
            Origin::Unpeeled => notes
                .push("wrapped too deeply to follow; examined from each program it names".into()),
        }
        if let backstop_rules::Stdin::Text(t) = &c.stdin {
            let first = t.lines().next().unwrap_or_default();
            notes.push(format!(
                "stdin: {first}{}",
                if t.lines().count() > 1 { " …" } else { "" }
            ));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("   [{}]", notes.join("; "))
        };
        writeln!(out, "  {c}{notes}")?;
    }
    writeln!(out, "\nMatched:")?;
    if eval.findings.is_empty() {
        writeln!(out, "  no rule")?;
    }
    for f in &eval.findings {
        writeln!(
            out,
            "  {} [{:?}, {}] {}",
            f.id,
            f.severity,
            f.layer.name(),
            f.description
        )?;
        writeln!(out, "    command: {}", f.command)?;
        if !f.why.is_empty() {
            writeln!(out, "    because: {}", f.why.join("; "))?;
        }
        for t in &f.targets {
            let mut evidence = match (&t.backup.manifest, &t.backup.detail) {
                (Some(id), Some(d)) => format!("; manifest {id}: {d}"),
                (Some(id), None) => format!("; manifest {id}"),
                (None, Some(d)) => format!("; {d}"),
                (None, None) => String::new(),
            };
            if let Some(g) = t.backup.git.as_ref().filter(|g| !g.branch.is_empty()) {
                evidence.push_str(&format!("; {}", g.describe()));
            }
            writeln!(
                out,
                "    target: {} {} (backup: {}{evidence})",
                t.kind,
                t.value,
                t.backup.status.name()
            )?;
        }
        writeln!(out, "    requires: {}", f.requires.name())?;
    }
    writeln!(out, "\nDecision: {}", eval.decision.name().to_uppercase())?;
    for r in report::restorable(&eval) {
        writeln!(out, "Restore: {r}")?;
    }
    if let Some(r) = report::remedy(&eval) {
        writeln!(out, "To go ahead: {r}")?;
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
