//! `backstop check`: the decision, for programs (exit code, optional JSON).

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use backstop_rules::Decision;

use crate::cli::CheckArgs;
use crate::cmd::LineInput;
use crate::report;
use crate::style;

pub fn run(a: &CheckArgs) -> Result<ExitCode> {
    let input = LineInput::from_args(&a.line)?;
    let eval = input.evaluate()?;
    if a.json {
        crate::outln!("{}", serde_json::to_string(&report::json(&input, &eval))?)?;
    } else if eval.decision != Decision::Allow {
        let look = if eval.decision == Decision::Deny {
            style::REFUSED
        } else {
            style::ASK
        };
        // anstream strips the colour when stdout is not a terminal; writeln! rather than
        // its println!, which panics on a closed pipe.
        let mut out = anstream::stdout().lock();
        writeln!(
            out,
            "{}: {}",
            style::paint(look, eval.decision.name()),
            report::reason(&eval)
        )?;
        if let Some(r) = report::remedy(&eval) {
            writeln!(out, "remedy: {}", style::paint(style::HINT, r))?;
        }
    } else {
        // A line a backup let through says where its targets come back from.
        for r in report::restorable(&eval) {
            crate::outln!("allow: {r}")?;
        }
    }
    Ok(ExitCode::from(match eval.decision {
        Decision::Allow => 0,
        Decision::Ask => 1,
        Decision::Deny => 2,
    }))
}
