//! Policy layers: user and system files, repository `.backstop/`, locks, broken files.

use crate::Test;

const DISABLE_GIT_RESET: &str = r#"
[[override]]
rule = "git.reset-hard"
enabled = false
"#;

#[test]
fn user_layer_can_relax_a_builtin_rule() {
    Test::new().args(["check", "git reset --hard"]).code(2);
    Test::new()
        .file("policies/relax.toml", DISABLE_GIT_RESET)
        .args(["check", "git reset --hard"])
        .code(0);
}

#[test]
fn user_layer_can_add_exceptions() {
    let t = Test::new().file(
        "policies/scratch.toml",
        "[[override]]\nrule = \"fs.rm-recursive\"\nexcept_targets = [\"/scratch/**\"]\n",
    );
    t.args(["check", "--assume-exists", "rm -rf /scratch/run1"])
        .code(0);
    Test::new()
        .args(["check", "--assume-exists", "rm -rf /scratch/run1"])
        .code(2);
}

#[test]
fn system_lock_beats_user_override() {
    let r = Test::new()
        .file(
            "system/lock.toml",
            "[[override]]\nrule = \"git.reset-hard\"\nlocked = true\n",
        )
        .file("policies/relax.toml", DISABLE_GIT_RESET)
        .args(["check", "git reset --hard"])
        .code(3);
    assert!(
        r.stderr
            .contains("relax.toml:3:8: override of `git.reset-hard`: the rule is locked by"),
        "{}",
        r.stderr
    );
}

#[test]
fn only_the_system_layer_locks() {
    let r = Test::new()
        .file(
            "policies/lock.toml",
            "[[override]]\nrule = \"git.reset-hard\"\nlocked = true\n",
        )
        .args(["check", "ls"])
        .code(3);
    assert!(r.stderr.contains("only the system layer"), "{}", r.stderr);
}

#[test]
fn repository_policy_adds_restrictions() {
    let repo = tempfile::tempdir().expect("tmp");
    let sub = repo.path().join("src/deep");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::create_dir_all(repo.path().join(".backstop")).expect("mkdir");
    std::fs::write(
        repo.path().join(".backstop/team.toml"),
        r#"
[[rule]]
id = "team.no-make-clean"
description = "make clean also deletes our hand-made fixtures"
programs = ["make"]
subcommand = ["clean"]
requires = "deny"
[rule.examples]
match = ["make clean"]
no_match = ["make test"]

[[override]]
rule = "git.reset-hard"
requires = "deny"
"#,
    )
    .expect("write");
    let r = Test::new()
        .cwd(&sub)
        .args(["check", "--json", "make clean"])
        .code(2);
    assert_eq!(r.json()["rules"][0]["id"], "team.no-make-clean");
    assert_eq!(r.json()["rules"][0]["layer"], "repository");
    let r = Test::new()
        .cwd(&sub)
        .args(["check", "--json", "git reset --hard"])
        .code(2);
    assert_eq!(r.json()["rules"][0]["requires"], "deny");
    // Outside the repository the rule does not apply.
    Test::new()
        .cwd(std::env::temp_dir())
        .args(["check", "make clean"])
        .code(0);
}

#[test]
fn repository_policy_cannot_relax() {
    let repo = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(repo.path().join(".backstop")).expect("mkdir");
    std::fs::write(repo.path().join(".backstop/sneaky.toml"), DISABLE_GIT_RESET).expect("write");
    let r = Test::new()
        .cwd(repo.path())
        .args(["check", "git reset --hard"])
        .code(3);
    assert!(
        r.stderr.contains("may only add restrictions"),
        "{}",
        r.stderr
    );
    std::fs::write(
        repo.path().join(".backstop/sneaky.toml"),
        "[[override]]\nrule = \"fs.rm-recursive\"\nexcept_targets = [\"**\"]\n",
    )
    .expect("write");
    let r = Test::new()
        .cwd(repo.path())
        .args(["check", "rm -rf /srv"])
        .code(3);
    assert!(r.stderr.contains("adds exceptions"), "{}", r.stderr);
}

#[test]
fn broken_policy_names_file_line_column_and_suggests() {
    let r = Test::new()
        .file(
            "policies/typo.toml",
            "[[rule]]\nid = \"mine.x\"\ndescription = \"x\"\nprograms = [\"x\"]\nrequries = \"deny\"\n",
        )
        .args(["check", "ls"])
        .code(3);
    assert!(
        r.stderr.contains("typo.toml:5:1: unknown field `requries`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("did you mean `requires`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn override_of_unknown_rule_suggests() {
    let r = Test::new()
        .file(
            "policies/o.toml",
            "[[override]]\nrule = \"git.reset-hrad\"\nenabled = false\n",
        )
        .args(["check", "ls"])
        .code(3);
    assert!(
        r.stderr
            .contains("no rule has this id (did you mean `git.reset-hard`?)"),
        "{}",
        r.stderr
    );
}

#[test]
fn duplicate_rule_id_is_refused() {
    let r = Test::new()
        .file(
            "policies/dup.toml",
            "[[rule]]\nid = \"git.reset-hard\"\ndescription = \"x\"\nprograms = [\"x\"]\n[rule.examples]\nmatch = [\"x\"]\n",
        )
        .args(["check", "ls"])
        .code(3);
    assert!(
        r.stderr.contains("already exists in a lower layer"),
        "{}",
        r.stderr
    );
}
