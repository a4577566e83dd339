//! Colour in refusals and `explain`: on a terminal (or with CLICOLOR_FORCE), never
//! in a pipe, and never with NO_COLOR. (A real terminal is in tests/shells/colour.rs.)

use crate::Test;

const ESC: &str = "\x1b[";

/// A line refused for want of a backup: its target is under a home outside /tmp.
const LINE: &str = "rm -rf /home/tester/data";

#[test]
fn explain_is_coloured_only_when_forced_and_not_told_otherwise() {
    let piped = Test::new().args(["explain", LINE]).code(0);
    assert!(!piped.stdout.contains(ESC), "{:?}", piped.stdout);
    assert!(piped.stdout.contains("Decision: DENY"), "{}", piped.stdout);

    let forced = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .args(["explain", LINE])
        .code(0);
    // The decision in bold red, the rule in bold, the target in cyan.
    assert!(
        forced.stdout.contains("\x1b[1m\x1b[31mDENY\x1b[0m"),
        "{:?}",
        forced.stdout
    );
    assert!(
        forced.stdout.contains("\x1b[1mfs.rm-recursive\x1b[0m"),
        "{:?}",
        forced.stdout
    );
    assert!(
        forced.stdout.contains("\x1b[36m/home/tester/data\x1b[0m"),
        "{:?}",
        forced.stdout
    );

    let no_color = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .args(["explain", LINE])
        .code(0);
    assert!(!no_color.stdout.contains(ESC), "{:?}", no_color.stdout);
    assert_eq!(no_color.stdout, piped.stdout);
}

#[test]
fn a_refusal_is_coloured_only_when_forced() {
    let t = Test::new().env("CLICOLOR_FORCE", "1");
    let forced = t.args(["hook", "--", LINE]).code(2);
    assert!(
        forced
            .stderr
            .contains("backstop: \x1b[1m\x1b[31mrefused\x1b[0m"),
        "{:?}",
        forced.stderr
    );
    let piped = Test::new().args(["hook", "--", LINE]).code(2);
    assert!(!piped.stderr.contains(ESC), "{:?}", piped.stderr);
    assert!(
        piped
            .stderr
            .starts_with(&format!("backstop: refused `{LINE}`")),
        "{}",
        piped.stderr
    );
    let no_color = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "")
        .args(["hook", "--", LINE])
        .code(2);
    // NO_COLOR counts only when it is set to something (no-color.org).
    assert!(no_color.stderr.contains(ESC), "{:?}", no_color.stderr);
    let no_color = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .args(["hook", "--", LINE])
        .code(2);
    assert!(!no_color.stderr.contains(ESC), "{:?}", no_color.stderr);
}

#[test]
fn json_never_carries_colour() {
    let r = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .args(["check", "--json", LINE])
        .code(2);
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
    let r = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .args(["policy", "list", "--json"])
        .code(0);
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
}
