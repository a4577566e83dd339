//! Running a rule's own examples: every `match` line must trigger the rule and no
//! `no_match` line may. Used by `cargo test` and `backstop policy test`.

use crate::engine::{Context, Engine, FileFacts, FileKind, PathFact, Stat};
use crate::policy::{Example, ExampleFile, Policy};
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
        let cwd = example.cwd().unwrap_or(EXAMPLE_CWD);
        let facts = ExampleFacts::new(example, cwd);
        let ctx = Context {
            dialect: shell,
            cwd: Some(cwd),
            home: Some(EXAMPLE_HOME),
            facts: &facts,
            ..Context::default()
        };
        let eval = self.evaluate(example.line(), &ctx)?;
        Ok((shell, eval.findings.into_iter().map(|f| f.id).collect()))
    }
}

/// The filesystem an example is decided on: every path is a small regular file,
/// except those the example lists (`files = { "notes.txt" = "absent" }`), so that
/// rules about existing files have something to look at.
struct ExampleFacts(Vec<(String, ExampleFile)>);

impl ExampleFacts {
    fn new(example: &Example, cwd: &str) -> Self {
        let resolve = |p: &str| {
            let p = match p.strip_prefix("~/") {
                Some(rest) => format!("{EXAMPLE_HOME}/{rest}"),
                None if p.starts_with('/') => p.to_string(),
                None => format!("{}/{p}", cwd.trim_end_matches('/')),
            };
            crate::engine::fold_dots(&p)
        };
        ExampleFacts(example.files().map(|(p, f)| (resolve(p), f)).collect())
    }
}

impl FileFacts for ExampleFacts {
    fn stat(&self, path: &str) -> PathFact {
        if path.starts_with("/dev/") {
            // Devices: /dev/null is no file to write over.
            return PathFact::Present(Stat {
                kind: FileKind::Other,
                size: 0,
            });
        }
        let listed = self.0.iter().find(|(p, _)| p == path).map(|(_, f)| *f);
        let (kind, size) = match listed.unwrap_or(ExampleFile::File) {
            ExampleFile::Absent => return PathFact::Absent,
            ExampleFile::File => (FileKind::File, 1024),
            ExampleFile::Empty => (FileKind::File, 0),
            ExampleFile::Large => (FileKind::File, 64 << 20),
            ExampleFile::Dir => (FileKind::Dir, 4096),
        };
        PathFact::Present(Stat { kind, size })
    }
}
