//! `backstop scan` over real history formats.

use crate::Test;

#[test]
fn bash_history_with_timestamps() {
    let hist = "#1700000000\nls -la\n#1700000001\nrm -rf ~/photos\ngit status\ngit push --force origin main\n";
    let r = Test::new().args(["scan", "-"]).stdin(hist).code(0);
    assert!(r.stdout.contains("     4  deny"), "{}", r.stdout);
    assert!(r.stdout.contains("rm -rf ~/photos"), "{}", r.stdout);
    assert!(
        r.stdout.contains("git push --force origin main"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .trim_end()
            .ends_with("scanned 4 commands: 2 would be denied, 0 would need approval, 2 allowed"),
        "{}",
        r.stdout
    );
}

#[test]
fn zsh_extended_history_file() {
    let t = Test::new().file(
        "zhist",
        ": 1700000000:0;echo hi\n: 1700000005:2;cat <<EOF | psql shop\\\nDROP TABLE orders;\\\nEOF\n: 1700000009:0;pwd\n",
    );
    let path = t.home().join("zhist").display().to_string();
    let r = t.args(["scan", "--shell", "zsh", path.as_str()]).code(0);
    assert!(r.stdout.contains("sql.drop-table"), "{}", r.stdout);
    assert!(
        r.stdout.contains("scanned 3 commands: 1 would be denied"),
        "{}",
        r.stdout
    );
}

#[test]
fn fish_history_json() {
    let hist =
        "- cmd: ls\n  when: 1700000000\n- cmd: echo a\\nrm -rf ~/music\n  when: 1700000001\n";
    let r = Test::new()
        .args(["scan", "--shell", "fish", "--json"])
        .stdin(hist)
        .code(0);
    let first: serde_json::Value =
        serde_json::from_str(r.stdout.lines().next().expect("a line")).expect("json");
    assert_eq!(first["line"], 3);
    assert_eq!(first["decision"], "deny");
    assert_eq!(first["command"], "echo a\nrm -rf ~/music");
}

#[test]
fn missing_file_is_bad_input() {
    let r = Test::new().args(["scan", "/nonexistent/history"]).code(3);
    assert!(
        r.stderr
            .contains("cannot read history file /nonexistent/history"),
        "{}",
        r.stderr
    );
}
