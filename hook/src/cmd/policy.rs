//! `backstop policy list | show | test | check`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use backstop_rules::engine::Source;
use backstop_rules::{Engine, Layer, Policy};

use crate::cli::PolicyCmd;
use crate::config::{self, Dirs};

pub fn run(cmd: PolicyCmd) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let cwd = std::env::current_dir().ok();
    match cmd {
        PolicyCmd::List => {
            let engine = config::engine(&dirs, cwd.as_deref())?;
            for p in engine.all_policies()? {
                for r in &p.rules {
                    println!(
                        "{:<34} {:<9} {:<20} {:<10} {}",
                        r.id(),
                        format!("{:?}", r.spec.severity).to_lowercase(),
                        r.spec.requires.name(),
                        r.layer.name(),
                        r.spec.description
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCmd::Show { id } => {
            let engine = config::engine(&dirs, cwd.as_deref())?;
            let Some(r) = engine.find_rule(&id)? else {
                let ids: Vec<String> = engine
                    .all_policies()?
                    .iter()
                    .flat_map(|p| p.rules.iter().map(|r| r.id().to_string()))
                    .collect();
                let close: Vec<&String> =
                    ids.iter().filter(|i| strsim_like(i, &id)).take(5).collect();
                let hint = if close.is_empty() {
                    "`backstop policy list` shows every rule".to_string()
                } else {
                    format!(
                        "did you mean {}?",
                        close
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                bail!("no rule has the id `{id}`; {hint}");
            };
            let s = &r.spec;
            println!(
                "{}  ({} layer, {}:{})",
                r.id(),
                r.layer.name(),
                r.origin,
                r.line
            );
            println!("  {}", s.description);
            println!(
                "  severity: {:?}   requires: {}   max_age: {}s",
                s.severity,
                s.requires.name(),
                r.max_age_secs
            );
            println!("  programs: {}", s.programs.join(", "));
            if !s.subcommand.is_empty() {
                println!("  subcommand: {}", s.subcommand.join("  or  "));
            }
            for g in &s.flags {
                println!("  with one of: {}", g.join(" "));
            }
            for g in &s.not_flags {
                println!("  unless: {}", g.join(" "));
            }
            for (k, v) in [
                ("args match", &s.args_regex),
                ("args do not match", &s.args_not_regex),
                ("code matches", &s.code_regex),
                ("redirect matches", &s.redirect_regex),
            ] {
                if let Some(v) = v {
                    println!("  {k}: {v}");
                }
            }
            if !s.sql.is_empty() {
                println!(
                    "  SQL: {}",
                    s.sql
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            for t in &s.targets {
                println!("  target: {} from {:?}", t.kind, t.from);
            }
            if !r.except_globs.is_empty() {
                println!("  except targets: {}", r.except_globs.join(" "));
            }
            if !r.precious_globs.is_empty() {
                println!(
                    "  precious: {} (a few small files named on the line elsewhere need no backup)",
                    r.precious_globs.join(" ")
                );
            }
            for e in &s.examples.matching {
                println!("  matches:    {}", e.line());
            }
            for e in &s.examples.no_match {
                println!("  no match:   {}", e.line());
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCmd::Test { file } => {
            let (engine, policies) = match &file {
                Some(path) => standalone(path)?,
                None => (config::engine(&dirs, cwd.as_deref())?, None),
            };
            let list: Vec<&Policy> = match &policies {
                Some(origin) => engine
                    .all_policies()?
                    .into_iter()
                    .filter(|p| &p.origin == origin)
                    .collect(),
                None => engine.all_policies()?,
            };
            let (mut rules, mut examples, mut failed) = (0, 0, 0);
            for p in list {
                let report = engine.run_examples(p)?;
                rules += report.rules;
                examples += report.examples;
                for f in &report.failures {
                    failed += 1;
                    println!("FAIL {}: {f}", p.origin);
                }
                for id in &report.without_examples {
                    failed += 1;
                    println!("FAIL {}: rule `{id}` has no `match` example", p.origin);
                }
            }
            println!(
                "{} passed, {} failed ({rules} rules)",
                examples - failed.min(examples),
                failed
            );
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        PolicyCmd::Check { file } => {
            let (engine, origin) = match &file {
                Some(path) => standalone(path)?,
                None => (config::engine(&dirs, cwd.as_deref())?, None),
            };
            let mut n = 0;
            for p in engine.all_policies()? {
                if origin.as_ref().is_some_and(|o| o != &p.origin) {
                    continue;
                }
                for r in &p.rules {
                    r.validate()?;
                    n += 1;
                    if r.spec.examples.matching.is_empty() {
                        eprintln!("warning: {}:{}: rule `{}` has no `match` example; add one so `backstop policy test` can check it", p.origin, r.line, r.id());
                    }
                }
            }
            println!("ok: {n} rules");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn strsim_like(a: &str, b: &str) -> bool {
    a.contains(b) || b.contains(a) || a.split('.').next_back() == b.split('.').next_back()
}

/// An engine holding `path` as a user-layer file on top of the built-in packs it does
/// not redefine (testing a built-in pack's own file works too).
fn standalone(path: &Path) -> Result<(Engine, Option<String>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy file {}", path.display()))?;
    let origin = path.display().to_string();
    let own = Policy::parse(&origin, Layer::User, &text, true)?;
    let ids: Vec<&str> = own.rules.iter().map(|r| r.id()).collect();
    let replaced: Vec<&str> = backstop_policies::PACKS
        .iter()
        .filter(|p| p.rule_ids.iter().any(|id| ids.contains(id)))
        .map(|p| p.name)
        .collect();
    let source = Source {
        origin: origin.clone(),
        layer: Layer::User,
        text,
    };
    let engine = Engine::new_excluding(vec![source], &replaced)?;
    Ok((engine, Some(origin)))
}
