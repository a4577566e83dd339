//! `backstop policy list | show | test | check`.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use backstop_rules::engine::Source;
use backstop_rules::{Engine, Layer, Policy};

use crate::cli::{PolicyCmd, PolicyListArgs};
use crate::config::{self, Dirs};

pub fn run(cmd: PolicyCmd) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let cwd = std::env::current_dir().ok();
    match cmd {
        PolicyCmd::List(a) => list(&config::engine(&dirs, cwd.as_deref())?, &a),
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
            crate::outln!(
                "{}  ({} layer, {}:{})",
                r.id(),
                r.layer.name(),
                r.origin,
                r.line
            )?;
            crate::outln!("  {}", s.description)?;
            crate::outln!(
                "  severity: {:?}   requires: {}   max_age: {}s",
                s.severity,
                s.requires.name(),
                r.max_age_secs
            )?;
            crate::outln!("  programs: {}", s.programs.join(", "))?;
            if !s.subcommand.is_empty() {
                crate::outln!("  subcommand: {}", s.subcommand.join("  or  "))?;
            }
            for g in &s.flags {
                crate::outln!("  with one of: {}", g.join(" "))?;
            }
            for g in &s.not_flags {
                crate::outln!("  unless: {}", g.join(" "))?;
            }
            for (k, v) in [
                ("args match", &s.args_regex),
                ("args do not match", &s.args_not_regex),
                ("code matches", &s.code_regex),
                ("redirect matches", &s.redirect_regex),
            ] {
                if let Some(v) = v {
                    crate::outln!("  {k}: {v}")?;
                }
            }
            if !s.sql.is_empty() {
                crate::outln!(
                    "  SQL: {}",
                    s.sql
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
            for t in &s.targets {
                crate::outln!("  target: {} from {:?}", t.kind, t.from)?;
            }
            if !r.except_globs.is_empty() {
                crate::outln!("  except targets: {}", r.except_globs.join(" "))?;
            }
            if !r.precious_globs.is_empty() {
                crate::outln!(
                    "  precious: {} (a few small files named on the line elsewhere need no backup)",
                    r.precious_globs.join(" ")
                )?;
            }
            for e in &s.examples.matching {
                crate::outln!("  matches:    {}", e.line())?;
            }
            for e in &s.examples.no_match {
                crate::outln!("  no match:   {}", e.line())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCmd::Test { file, system } => {
            let (engine, policies) = match &file {
                Some(path) => standalone(path, system)?,
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
                    crate::outln!("FAIL {}: {f}", p.origin)?;
                }
                for id in &report.without_examples {
                    failed += 1;
                    crate::outln!("FAIL {}: rule `{id}` has no `match` example", p.origin)?;
                }
            }
            crate::outln!(
                "{} passed, {} failed ({rules} rules)",
                examples - failed.min(examples),
                failed
            )?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        PolicyCmd::Check { file, system } => {
            let (engine, origin) = match &file {
                Some(path) => standalone(path, system)?,
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
            crate::outln!("ok: {n} rules")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The built-in packs in the order a person reaching for backstop looks for them:
/// what destroys files and work first, backstop's own protection last. Packs from
/// policy files (the system's, the user's, a repository's) come before all of them.
const PACK_ORDER: &[&str] = &[
    "filesystem",
    "git",
    "sql",
    "pasted-sql",
    "disks",
    "services",
    "saas",
    "system",
    "windows",
    "interpreters",
    "backups",
    "backstop",
];

/// A policy's pack: the id its `[pack]` table gives, else its file's name.
fn pack_name(p: &Policy) -> String {
    match &p.meta {
        Some(m) if !m.id.is_empty() => m.id.clone(),
        _ => Path::new(&p.origin)
            .file_stem()
            .map_or_else(|| p.origin.clone(), |s| s.to_string_lossy().into_owned()),
    }
}

/// Where a pack goes in the list: a policy file's first, then [`PACK_ORDER`], then
/// any other built-in pack before backstop's.
fn pack_rank(p: &Policy, name: &str) -> (usize, usize) {
    if p.layer != Layer::Builtin {
        return (0, 0);
    }
    match PACK_ORDER.iter().position(|n| *n == name) {
        Some(i) if name == "backstop" => (3, i),
        Some(i) => (1, i),
        None => (2, 0),
    }
}

/// One row of `policy list`.
#[derive(Debug, serde::Serialize)]
struct Row<'a> {
    id: &'a str,
    pack: String,
    severity: String,
    requires: &'static str,
    layer: &'static str,
    programs: &'a [String],
    description: &'a str,
    origin: String,
}

const REQUIREMENTS: &[&str] = &["deny", "approval", "backup", "backup-and-approval"];

fn list(engine: &Engine, a: &PolicyListArgs) -> Result<ExitCode> {
    if let Some(r) = &a.requires {
        if !REQUIREMENTS.contains(&r.as_str()) {
            let hint = backstop_rules::error::suggest(r, REQUIREMENTS)
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            bail!(
                "--requires {r}: a rule requires one of {}{hint}",
                REQUIREMENTS.join(", ")
            );
        }
    }
    let mut policies: Vec<(&Policy, String)> = engine
        .all_policies()?
        .into_iter()
        .map(|p| (p, pack_name(p)))
        .collect();
    if let Some(pack) = &a.pack {
        let names: Vec<&str> = policies.iter().map(|(_, n)| n.as_str()).collect();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(pack)) {
            let mut known = names.clone();
            known.sort_unstable();
            known.dedup();
            let hint = backstop_rules::error::suggest(pack, &known)
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            bail!(
                "--pack {pack}: no pack of that name is in force{hint}; the packs are {}",
                known.join(", ")
            );
        }
    }
    // A stable sort keeps each pack's rules in their file's order.
    policies.sort_by_key(|(p, name)| pack_rank(p, name));
    let program = a.program.as_deref().map(program_key);
    let mut rows = Vec::new();
    for (p, pack) in &policies {
        if a.pack
            .as_ref()
            .is_some_and(|want| !want.eq_ignore_ascii_case(pack))
        {
            continue;
        }
        for r in &p.rules {
            let s = &r.spec;
            if a.requires
                .as_deref()
                .is_some_and(|want| want != s.requires.name())
            {
                continue;
            }
            if program
                .as_ref()
                .is_some_and(|want| !s.programs.iter().any(|p| &program_key(p) == want))
            {
                continue;
            }
            rows.push(Row {
                id: r.id(),
                pack: pack.clone(),
                severity: format!("{:?}", s.severity).to_lowercase(),
                requires: s.requires.name(),
                layer: r.layer.name(),
                programs: &s.programs,
                description: &s.description,
                origin: format!("{}:{}", r.origin, r.line),
            });
        }
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no rule in force matches; `backstop policy list` shows them all");
        return Ok(ExitCode::from(1));
    }
    let header = [
        "RULE",
        "PACK",
        "SEVERITY",
        "REQUIRES",
        "LAYER",
        "DESCRIPTION",
    ];
    let cells = |r: &Row| -> [String; 6] {
        [
            r.id.to_string(),
            r.pack.clone(),
            r.severity.clone(),
            r.requires.to_string(),
            r.layer.to_string(),
            r.description.to_string(),
        ]
    };
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(cells(r)) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = anstream::AutoStream::auto(out);
    let line = |cells: [String; 6]| -> String {
        let mut text = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(c);
            } else {
                let pad = widths[i] - c.chars().count();
                text.push_str(&format!("{c}{}  ", " ".repeat(pad)));
            }
        }
        text
    };
    writeln!(
        out,
        "{}",
        crate::style::paint(crate::style::HEADER, line(header.map(String::from)))
    )?;
    for r in &rows {
        writeln!(out, "{}", line(cells(r)))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A program name as rules and `--program` are compared: lower case, without `.exe`.
fn program_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    lower.strip_suffix(".exe").unwrap_or(&lower).to_string()
}

fn strsim_like(a: &str, b: &str) -> bool {
    a.contains(b) || b.contains(a) || a.split('.').next_back() == b.split('.').next_back()
}

/// An engine holding `path` as a user-layer file (the system layer's with `system`)
/// on top of the built-in packs it does not redefine (testing a built-in pack's own
/// file works too).
fn standalone(path: &Path, system: bool) -> Result<(Engine, Option<String>)> {
    let layer = if system { Layer::System } else { Layer::User };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy file {}", path.display()))?;
    let origin = path.display().to_string();
    let own = Policy::parse(&origin, layer, &text, true)?;
    let ids: Vec<&str> = own.rules.iter().map(|r| r.id()).collect();
    let replaced: Vec<&str> = backstop_policies::PACKS
        .iter()
        .filter(|p| p.rule_ids.iter().any(|id| ids.contains(id)))
        .map(|p| p.name)
        .collect();
    let source = Source {
        origin: origin.clone(),
        layer,
        text,
    };
    let engine = Engine::new_excluding(vec![source], &replaced)?;
    Ok((engine, Some(origin)))
}
