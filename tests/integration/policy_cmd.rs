//! `backstop policy list | show | test | check`.

use crate::Test;

#[test]
fn list_shows_builtin_rules() {
    let r = Test::new().args(["policy", "list"]).code(0);
    for id in [
        "fs.rm-recursive",
        "git.reset-hard",
        "sql.drop-table",
        "system.crontab-remove",
    ] {
        assert!(r.stdout.contains(id), "{id} missing from list");
    }
}

#[test]
fn show_one_rule_and_suggest_for_unknown() {
    let r = Test::new()
        .args(["policy", "show", "fs.rm-recursive"])
        .code(0);
    assert!(r.stdout.contains("programs: rm"), "{}", r.stdout);
    assert!(r.stdout.contains("matches:"), "{}", r.stdout);
    let r = Test::new().args(["policy", "show", "rm-recursive"]).code(3);
    assert!(
        r.stderr.contains("did you mean `fs.rm-recursive`"),
        "{}",
        r.stderr
    );
}

#[test]
fn test_runs_builtin_examples() {
    let r = Test::new().args(["policy", "test"]).code(0);
    assert!(
        r.stdout.trim_end().ends_with("rules)") && r.stdout.contains(" 0 failed"),
        "{}",
        r.stdout
    );
}

#[test]
fn test_reports_a_failing_example() {
    let t = Test::new().file(
        "mine.toml",
        r#"
[[rule]]
id = "mine.shred"
description = "shred"
programs = ["shred"]
[rule.examples]
match = ["shred -u secrets.txt", "ls"]
no_match = ["shred --help"]
"#,
    );
    let file = t.home().join("mine.toml").display().to_string();
    let r = t.args(["policy", "test", file.as_str()]).code(1);
    assert!(
        r.stdout
            .contains("rule `mine.shred` should match (bash) `ls`"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("rule `mine.shred` should not match (bash) `shred --help`"),
        "{}",
        r.stdout
    );
}

#[test]
fn check_validates_a_file() {
    let t = Test::new().file(
        "bad.toml",
        "[[rule]]\nid = \"a\"\ndescription = \"d\"\nprograms = [\"x\"]\nargs_regex = \"(\"\n",
    );
    let file = t.home().join("bad.toml").display().to_string();
    let r = t.args(["policy", "check", file.as_str()]).code(3);
    assert!(
        r.stderr
            .contains("bad.toml:2:6: rule `a`: args_regex is not a valid regex"),
        "{}",
        r.stderr
    );
    let r = Test::new().args(["policy", "check"]).code(0);
    assert!(r.stdout.starts_with("ok: "), "{}", r.stdout);
}

#[test]
fn builtin_pack_file_tests_on_its_own() {
    let pack = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/packs/git.toml");
    let r = Test::new().args(["policy", "test", pack]).code(0);
    assert!(r.stdout.contains(" 0 failed"), "{}", r.stdout);
}

/// Regression: `backstop policy list | head` listed ten of backstop's own rules first,
/// with no header and columns out of line, and a closed pipe made it panic.
#[test]
fn list_has_a_header_aligned_columns_and_the_common_packs_first() {
    let t = Test::new().file(
        "policies/team.toml",
        r#"
[pack]
id = "team"
[[rule]]
id = "team.a-rule-with-a-much-longer-id-than-any-built-in-one"
description = "a long id"
programs = ["terraform"]
requires = "approval"
[rule.examples]
match = ["terraform destroy"]
"#,
    );
    let r = t.clone_home().args(["policy", "list"]).code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let header = lines[0];
    assert!(
        header.starts_with("RULE ") && header.contains(" PACK ") && header.ends_with("DESCRIPTION"),
        "{header}"
    );
    // Every column starts where its header does, on every row.
    let starts: Vec<usize> = ["PACK", "SEVERITY", "REQUIRES", "LAYER", "DESCRIPTION"]
        .iter()
        .map(|h| header.find(h).expect("header cell"))
        .collect();
    for line in &lines[1..] {
        for &s in &starts {
            assert!(
                line.as_bytes()[s - 1] == b' ' && line.as_bytes()[s] != b' ',
                "column at {s} out of line:\n{header}\n{line}"
            );
        }
    }
    // The team's own pack, then the packs people came for; backstop's own last.
    assert!(lines[1].starts_with("team.a-rule"), "{}", lines[1]);
    let pack_of = |l: &str| {
        l[starts[0]..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(pack_of(lines[2]), "filesystem", "{}", lines[2]);
    assert_eq!(pack_of(lines[lines.len() - 1]), "backstop");
    let first_backstop = lines
        .iter()
        .position(|l| pack_of(l) == "backstop")
        .expect("backstop rules");
    assert!(lines[first_backstop..]
        .iter()
        .all(|l| pack_of(l) == "backstop"));

    // A closed pipe ends the listing quietly.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' policy list | head -1",
            env!("CARGO_BIN_EXE_backstop")
        ))
        .env("BACKSTOP_HOME", t.home())
        .output()
        .expect("sh");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("RULE "));
}

#[test]
fn list_filters_by_pack_program_and_requirement() {
    let ids = |args: &[&str]| -> Vec<String> {
        let r = Test::new()
            .args(["policy", "list"])
            .args(args.iter().copied())
            .code(0);
        r.stdout
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
            .collect()
    };
    let git = ids(&["--pack", "git"]);
    assert!(git.contains(&"git.reset-hard".to_string()), "{git:?}");
    assert!(git.iter().all(|id| id.starts_with("git.")), "{git:?}");
    let rm = ids(&["--program", "rm"]);
    assert!(rm.contains(&"fs.rm-recursive".to_string()), "{rm:?}");
    assert!(!rm.contains(&"git.reset-hard".to_string()), "{rm:?}");
    let both = ids(&["--program", "rm", "--requires", "backup-and-approval"]);
    assert!(both.contains(&"fs.rm-recursive".to_string()), "{both:?}");
    assert!(!both.contains(&"fs.rm-files".to_string()), "{both:?}");

    let r = Test::new()
        .args(["policy", "list", "--pack", "gti"])
        .code(3);
    assert!(r.stderr.contains("did you mean `git`?"), "{}", r.stderr);
    let r = Test::new()
        .args(["policy", "list", "--requires", "aproval"])
        .code(3);
    assert!(
        r.stderr.contains("did you mean `approval`?"),
        "{}",
        r.stderr
    );
    let r = Test::new()
        .args(["policy", "list", "--program", "no-such-program"])
        .code(1);
    assert!(
        r.stderr.contains("no rule in force matches"),
        "{}",
        r.stderr
    );

    let v = Test::new()
        .args([
            "policy",
            "list",
            "--json",
            "--pack",
            "filesystem",
            "--program",
            "rm",
        ])
        .code(0)
        .json();
    let rows = v.as_array().expect("an array");
    let rec = rows
        .iter()
        .find(|r| r["id"] == "fs.rm-recursive")
        .expect("fs.rm-recursive");
    assert_eq!(rec["pack"], "filesystem");
    assert_eq!(rec["requires"], "backup-and-approval");
    assert_eq!(rec["layer"], "built-in");
    assert!(
        rec["programs"]
            .as_array()
            .is_some_and(|p| p.contains(&"rm".into())),
        "{rec}"
    );
}

/// A system-layer file may lock rules: `--system` checks it as that layer, so an
/// administrator can validate it before shipping it (as a user file it is refused).
#[test]
fn a_system_layer_file_is_checked_as_one() {
    let t = Test::new().file(
        "team.toml",
        r#"
[[rule]]
id = "team.tf-destroy"
description = "terraform destroy"
programs = ["terraform"]
subcommand = ["destroy"]
requires = "approval"
[rule.examples]
match = ["terraform destroy"]
no_match = ["terraform plan"]

[[override]]
rule = "git.reset-hard"
requires = "approval"
locked = true
"#,
    );
    let file = t.home().join("team.toml").display().to_string();
    let r = t
        .clone_home()
        .args(["policy", "check", file.as_str()])
        .code(3);
    assert!(r.stderr.contains("only the system layer"), "{}", r.stderr);
    let r = t
        .clone_home()
        .args(["policy", "check", "--system", file.as_str()])
        .code(0);
    assert!(r.stdout.contains("ok: 1 rules"), "{}", r.stdout);
    let r = t
        .clone_home()
        .args(["policy", "test", "--system", file.as_str()])
        .code(0);
    assert!(r.stdout.contains("2 passed, 0 failed"), "{}", r.stdout);
}
