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
