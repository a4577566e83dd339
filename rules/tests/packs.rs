//! Every built-in rule carries examples, and they all hold.

use backstop_rules::policy::{Layer, Policy};
use backstop_rules::Engine;

#[test]
fn every_builtin_pack_parses_and_compiles() {
    for pack in backstop_policies::PACKS {
        let origin = format!("built-in pack {}", pack.name);
        let policy = Policy::parse(&origin, Layer::Builtin, pack.source, true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !policy.rules.is_empty() || !policy.programs.is_empty(),
            "{origin} is empty"
        );
        let meta = policy
            .meta
            .as_ref()
            .unwrap_or_else(|| panic!("{origin} lacks [pack]"));
        assert_eq!(
            meta.id, pack.name,
            "{origin}: [pack] id must be the file stem"
        );
    }
}

#[test]
fn every_builtin_rule_has_examples_and_they_hold() {
    let engine = Engine::builtin();
    let mut problems = Vec::new();
    let mut examples = 0;
    for policy in engine.all_policies().expect("built-in packs load") {
        let report = engine.run_examples(policy).expect("examples evaluate");
        examples += report.examples;
        for id in report.without_examples {
            problems.push(format!("rule `{id}` has no `match` example"));
        }
        problems.extend(report.failures.iter().map(|f| f.to_string()));
    }
    assert!(examples > 100, "only {examples} examples ran");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn rule_ids_are_unique_across_packs() {
    let mut seen = std::collections::HashSet::new();
    for pack in backstop_policies::PACKS {
        for id in pack.rule_ids {
            assert!(
                seen.insert(*id),
                "rule id `{id}` is defined twice (second in {})",
                pack.name
            );
        }
    }
}

#[test]
fn backup_rules_name_a_kind_that_can_be_backed_up() {
    use backstop_rules::policy::LOCAL_BACKUP_KINDS;
    let engine = Engine::builtin();
    let mut bad = Vec::new();
    for policy in engine.all_policies().expect("built-in packs load") {
        for rule in &policy.rules {
            let kinds: Vec<&str> = rule.spec.targets.iter().map(|t| t.kind.as_str()).collect();
            if rule.spec.requires.needs_backup()
                && !kinds.is_empty()
                && !kinds.iter().any(|k| LOCAL_BACKUP_KINDS.contains(k))
            {
                bad.push(format!("{} ({})", rule.id(), kinds.join(", ")));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "rules requiring a backup of something backstop cannot back up: {bad:?}"
    );
}

#[test]
fn packs_agree_on_how_each_program_reads_options() {
    // `[[program]]` specs for one program merge across packs; two packs disagreeing on
    // the option style would change each other's matching without either knowing.
    use std::collections::HashMap;
    let engine = Engine::builtin();
    let mut styles: HashMap<String, (String, String)> = HashMap::new();
    for policy in engine.all_policies().expect("built-in packs load") {
        for spec in &policy.programs {
            let Some(style) = spec.option_style else {
                continue;
            };
            for name in &spec.names {
                let style = format!("{style:?}");
                if let Some((other, origin)) = styles.get(&name.to_ascii_lowercase()) {
                    assert_eq!(
                        other, &style,
                        "{name}: {} says {style}, {origin} says {other}",
                        policy.origin
                    );
                }
                styles.insert(name.to_ascii_lowercase(), (style, policy.origin.clone()));
            }
        }
    }
}

#[test]
fn rules_with_a_subcommand_name_what_they_destroy() {
    // Regression: `zfs destroy tank/x` named no dataset. `skip` counts positionals
    // after the subcommand's words; rules written as if it counted from the first
    // positional skipped the very thing they destroy. Every such rule must name a
    // target in one of its `match` examples.
    use backstop_rules::examples::{EXAMPLE_CWD, EXAMPLE_HOME};
    use backstop_rules::policy::TargetFrom;
    use backstop_rules::{Context, Dialect};
    // homectl names a user, whose home it cannot name as a path (it needs a recipe).
    let names_no_path = ["system.homectl-remove"];
    let engine = Engine::builtin();
    let mut bad = Vec::new();
    for policy in engine.all_policies().expect("built-in packs load") {
        for rule in &policy.rules {
            let positional = rule
                .spec
                .targets
                .iter()
                .any(|t| t.from == TargetFrom::Positionals);
            if rule.spec.subcommand.is_empty() || !positional || names_no_path.contains(&rule.id())
            {
                continue;
            }
            let named = rule.spec.examples.matching.iter().any(|example| {
                let shell: Dialect = example
                    .shell()
                    .map(|s| s.parse().expect("a known shell"))
                    .unwrap_or_default();
                let ctx = Context {
                    dialect: shell,
                    cwd: Some(example.cwd().unwrap_or(EXAMPLE_CWD)),
                    home: Some(EXAMPLE_HOME),
                    ..Context::default()
                };
                let eval = engine.evaluate(example.line(), &ctx).expect("evaluates");
                eval.findings
                    .iter()
                    .any(|f| f.id == rule.id() && !f.targets.is_empty())
            });
            if !named {
                bad.push(rule.id().to_string());
            }
        }
    }
    assert!(
        bad.is_empty(),
        "rules whose examples name no target: {bad:?}"
    );
}

#[test]
fn windows_keeps_the_filesystem_packs_places() {
    // Regression: `rd /s node_modules`, `Remove-Item .\build` were refused while
    // `rm -rf node_modules` was not: the windows pack kept a shorter list of its own.
    // Sets are per file, so the windows pack repeats the filesystem pack's.
    let set = |pack: &str, name: &str| -> Vec<String> {
        let source = backstop_policies::PACKS
            .iter()
            .find(|p| p.name == pack)
            .expect("pack exists")
            .source;
        let file: toml::Table = toml::from_str(source).expect("pack parses");
        file["sets"][name]
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| v.as_str().expect("a glob").to_string())
            .collect()
    };
    for name in ["regenerable", "temporary", "precious"] {
        let windows = set("windows", name);
        let missing: Vec<String> = set("filesystem", name)
            .into_iter()
            .filter(|g| !windows.contains(g))
            .collect();
        assert!(missing.is_empty(), "windows' @{name} lacks {missing:?}");
    }
}
