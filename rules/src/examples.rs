//! Running a rule's own examples: every `match` line must trigger the rule and no
//! `no_match` line may. Used by `cargo test` and `backstop policy test`.

use crate::engine::{Context, Engine};
use crate::policy::{Example, Policy};
use crate::{Dialect, Result};

/// The home and working directory examples are evaluated in, so `~` is predictable.
pub const EXAMPLE_HOME: &str = "/home/user";
pub const EXAMPLE_CWD: &str = "/home/user/project";

#[derive(Debug, Clone)]
pub struct ExampleFailure {
    pub rule: String,
    pub line: String,
    pub shell: Dialect,
    /// The example was listed under `match`.
    pub expected_match: bool,
    /// Every rule the line did match, for the message.
    pub matched: Vec<String>,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.expected_match {
            write!(
                f,
                "rule `{}` should match ({}) `{}`, but ",
                self.rule, self.shell, self.line
            )?;
        } else {
            write!(
                f,
                "rule `{}` should not match ({}) `{}`, but it does; ",
                self.rule, self.shell, self.line
            )?;
        }
        if self.matched.is_empty() {
            write!(f, "no rule matched")
        } else {
            write!(f, "matched: {}", self.matched.join(", "))
        }
    }
}

/// What running a policy's examples found.
#[derive(Debug, Default)]
pub struct ExampleReport {
    pub rules: usize,
    pub examples: usize,
    pub failures: Vec<ExampleFailure>,
    /// Rules that carry no `match` example.
    pub without_examples: Vec<String>,
}

impl Engine {
    pub fn run_examples(&self, policy: &Policy) -> Result<ExampleReport> {
        let mut report = ExampleReport::default();
        for rule in &policy.rules {
            report.rules += 1;
            if rule.spec.examples.matching.is_empty() {
                report.without_examples.push(rule.id().to_string());
            }
            let cases = rule.spec.examples.matching.iter().map(|e| (e, true));
            let cases = cases.chain(rule.spec.examples.no_match.iter().map(|e| (e, false)));
            for (example, expected) in cases {
                report.examples += 1;
                let (shell, matched) = self.example_matches(example)?;
                if matched.iter().any(|m| m == rule.id()) != expected {
                    report.failures.push(ExampleFailure {
                        rule: rule.id().to_string(),
                        line: example.line().to_string(),
                        shell,
                        expected_match: expected,
                        matched,
                    });
                }
            }
        }
        Ok(report)
    }

    fn example_matches(&self, example: &Example) -> Result<(Dialect, Vec<String>)> {
        let shell: Dialect = example
            .shell()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default();
        let ctx = Context {
            dialect: shell,
            cwd: Some(example.cwd().unwrap_or(EXAMPLE_CWD)),
            home: Some(EXAMPLE_HOME),
            ..Context::default()
        };
        let eval = self.evaluate(example.line(), &ctx)?;
        Ok((shell, eval.findings.into_iter().map(|f| f.id).collect()))
    }
}
