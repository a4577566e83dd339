//! `backstop check`: the decision, for programs (exit code, optional JSON).

use std::process::ExitCode;

use anyhow::Result;
use backstop_rules::Decision;

use crate::cli::CheckArgs;
use crate::cmd::LineInput;
use crate::report;

pub fn run(a: &CheckArgs) -> Result<ExitCode> {
    let input = LineInput::from_args(&a.line)?;
    let eval = input.evaluate()?;
    if a.json {
        println!("{}", serde_json::to_string(&report::json(&input, &eval))?);
    } else if eval.decision != Decision::Allow {
        println!("{}: {}", eval.decision.name(), report::reason(&eval));
        if let Some(r) = report::remedy(&eval) {
            println!("remedy: {r}");
        }
    } else {
        // A line a backup let through says where its targets come back from.
        for r in report::restorable(&eval) {
            println!("allow: {r}");
        }
    }
    Ok(ExitCode::from(match eval.decision {
        Decision::Allow => 0,
        Decision::Ask => 1,
        Decision::Deny => 2,
    }))
}
