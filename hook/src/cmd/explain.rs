//! `backstop explain`: for a person, how the line is read and what follows.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use backstop_rules::{Decision, Origin};

use crate::cli::LineArgs;
use crate::cmd::LineInput;
use crate::report;
use crate::style::{paint, ASK, HEADER, HINT, OK, REFUSED, RULE, TARGET};

/// `cleanup.sh line 3`, or the file alone when the line is not known.
fn where_in(f: &backstop_rules::FileLine) -> String {
    if f.line == 0 {
        f.path.clone()
    } else {
        format!("{} line {}", f.path, f.line)
    }
}

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
    writeln!(out, "\n{}", paint(HEADER, "Runs:"))?;
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
            // Already said by "via", which ends with what ran the file.
            Origin::File(s) if c.via.last() == Some(s) => {}
            Origin::File(s) => notes.push(format!("run by {s}")),
            Origin::Argument(s) => notes.push(format!("in an argument of {s}")),
        }
        if let Some(f) = &c.file {
            notes.push(format!("from {}", where_in(f)));
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
    writeln!(out, "\n{}", paint(HEADER, "Matched:"))?;
    if eval.findings.is_empty() {
        writeln!(out, "  no rule")?;
    }
    for f in &eval.findings {
        writeln!(
            out,
            "  {} [{:?}, {}] {}",
            paint(RULE, &f.id),
            f.severity,
            f.layer.name(),
            f.description
        )?;
        writeln!(out, "    command: {}", f.command)?;
        if let Some(from) = &f.from {
            writeln!(out, "    from: {}", where_in(from))?;
        }
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
                paint(TARGET, &t.value),
                paint(
                    if t.backup.status == backstop_rules::BackupStatus::Covered {
                        OK
                    } else {
                        ASK
                    },
                    t.backup.status.name()
                )
            )?;
        }
        writeln!(out, "    requires: {}", f.requires.name())?;
    }
    let look = match eval.decision {
        Decision::Allow => OK,
        Decision::Ask => ASK,
        Decision::Deny => REFUSED,
    };
    writeln!(
        out,
        "\n{} {}",
        paint(HEADER, "Decision:"),
        paint(look, eval.decision.name().to_uppercase())
    )?;
    for r in report::restorable(&eval) {
        writeln!(out, "Restore: {}", paint(OK, r))?;
    }
    if let Some(r) = report::remedy(&eval) {
        writeln!(out, "To go ahead: {}", paint(HINT, r))?;
    }
    // Not anstream::print!, which panics on a closed pipe (`explain … | head`).
    std::io::Write::write_all(&mut anstream::stdout().lock(), out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
