//! The reader agrees with the real shells: for each line, the words backstop reads
//! are the argv that bash, zsh and fish actually pass to the program.
//!
//! The shells are run with no rc files. A missing shell is skipped with a message;
//! `BACKSTOP_REQUIRE_SHELLS=1` (set by scripts/test.sh, which installs them) turns
//! a skip into a failure.

// These tests run real programs on purpose (the shells, the built binary).
#![allow(clippy::disallowed_methods)]

use std::process::Command;

use backstop_rules::Dialect;

/// Lines of quoting and escaping that expand to fixed words (no variables or globs).
const COMMON: &[&str] = &[
    "plain words here",
    "'single quoted' \"double quoted\"",
    "r''m -r\"f\" x",
    "a\\ b c\\\\d",
    "\"a\\\"b\" 'c\"d'",
    "mixed'single'\"double\"bare",
    "\"\\$HOME stays\" '$HOME too'",
    "one\\\ntwo",
    "\"back\\\\slash\" \"keep\\q\"",
    "'' \"\" end",
];

const POSIX_ONLY: &[&str] = &[
    "'it'\\''s'",
    "$'tab\\there' $'\\x72\\x6d' $'\\101\\102'",
    "$'\\u00e9t\\u00e9' $'quote\\'s'",
    "\"a b\"c'd e'",
];

const FISH_ONLY: &[&str] = &["'it\\'s' 'back\\\\slash' 'keep\\q'", "\"dollar\\$sign\""];

fn shell_argv(shell: &str, line: &str) -> Option<Vec<String>> {
    let script = match shell {
        "fish" => format!("function argv; printf '%s\\0' $argv; end; argv {line}"),
        _ => format!("argv() {{ printf '%s\\0' \"$@\"; }}; argv {line}"),
    };
    let mut cmd = Command::new(shell);
    match shell {
        "bash" => cmd.args(["--norc", "--noprofile", "-c", &script]),
        "zsh" => cmd.args(["-f", "-c", &script]),
        _ => cmd.args(["--no-config", "-c", &script]),
    };
    let out = cmd.output().ok()?;
    assert!(
        out.status.success(),
        "{shell} failed on {line:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 argv");
    Some(text.split_terminator('\0').map(str::to_string).collect())
}

fn ours(dialect: Dialect, line: &str) -> Vec<String> {
    let script = dialect.parse(&format!("argv {line}"));
    assert!(!script.incomplete, "{dialect} reader gave up on {line:?}");
    assert_eq!(
        script.commands.len(),
        1,
        "{line:?} read as {:?}",
        script.commands
    );
    script.commands[0].words[1..]
        .iter()
        .map(|w| w.text.clone())
        .collect()
}

fn agree(shell: &str, dialect: Dialect, lines: &[&str]) {
    if Command::new(shell).arg("-c").arg("true").output().is_err() {
        assert!(
            std::env::var_os("BACKSTOP_REQUIRE_SHELLS").is_none(),
            "{shell} is required but not installed"
        );
        eprintln!("SKIPPED real-shell agreement for {shell}: {shell} is not installed (scripts/test.sh installs it)");
        return;
    }
    for line in lines {
        let Some(real) = shell_argv(shell, line) else {
            continue;
        };
        assert_eq!(
            ours(dialect, line),
            real,
            "{shell} reads {line:?} differently"
        );
    }
}

#[test]
fn bash_agrees() {
    agree("bash", Dialect::Bash, COMMON);
    agree("bash", Dialect::Bash, POSIX_ONLY);
}

#[test]
fn zsh_agrees() {
    agree("zsh", Dialect::Zsh, COMMON);
    agree("zsh", Dialect::Zsh, POSIX_ONLY);
}

#[test]
fn fish_agrees() {
    agree("fish", Dialect::Fish, COMMON);
    agree("fish", Dialect::Fish, FISH_ONLY);
}
