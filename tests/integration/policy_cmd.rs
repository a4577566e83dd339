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
