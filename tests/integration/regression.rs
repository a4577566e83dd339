//! One test per bug found by fuzzing (scripts/fuzz.sh), named after what it
//! reproduces; the fuzz target that found it is named above it.

use std::path::Path;

use crate::Test;

/// `backstop install|uninstall WHAT --profile FILE`, requiring success.
fn run(verb: &str, what: &str, file: &Path) {
    Test::new()
        .args([verb, what, "--profile", &file.display().to_string()])
        .code(0);
}

/// fuzz target agent_settings: a settings file that already held the (empty) hook
/// array lost it on uninstall, with a comment before it, and a Cursor file holding
/// only `"version": 1` was deleted; install had made them the same text as files
/// without them, so uninstall could not tell.
#[test]
fn uninstall_gives_back_settings_that_held_an_empty_hook_array() {
    let originals = [
        ("claude", "{\n  \"model\": \"x\",\n  // comment\n  \"hooks\": {\n    \"PreToolUse\": [\n   \n    ]\n  }\n}\n"),
        ("claude", "{\n  \"hooks\": {\n    \"PreToolUse\": [\n    ]\n  }\n}\n"),
        ("codex", "{\n  \"hooks\": {\n  }\n}\n"),
        ("gemini", "{\"hooks\": {\"BeforeTool\": []}}"),
        ("claude", "{\n}\n"),
        ("cursor", "{\n  \"version\": 1\n}\n"),
        ("copilot", "{\n  \"version\": 1,\n  \"hooks\": {}\n}\n"),
    ];
    let dir = tempfile::tempdir().expect("tmp");
    for (i, (agent, original)) in originals.into_iter().enumerate() {
        let file = dir.path().join(format!("settings-{i}.json"));
        std::fs::write(&file, original).expect("write");
        run("install", agent, &file);
        let installed = std::fs::read_to_string(&file).expect("read");
        assert!(
            installed.contains(&format!("agent-hook {agent}")),
            "{installed}"
        );
        run("uninstall", agent, &file);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{agent} {original:?}: {e}")),
            original,
            "{agent}, installed as:\n{installed}"
        );
    }
}

/// fuzz target agent_settings: a second install rewrote backstop's entry when the
/// first had changed how the file reads as indented (its first indented line was now
/// the entry's, six spaces deep, not the file's own two).
#[test]
fn install_twice_leaves_settings_alone_when_their_indentation_shifts() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("settings.json");
    let original =
        "{\"hooks\": {\"PreToolUse\": [{\"matcher\": \"Read\"}]},\n  \"model\": \"x\"}\n";
    for text in [original, "{\n}  \n \n"] {
        std::fs::write(&file, text).expect("write");
        run("install", "claude", &file);
        let once = std::fs::read_to_string(&file).expect("read");
        run("install", "claude", &file);
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            once,
            "{text:?}"
        );
        run("uninstall", "claude", &file);
        assert_eq!(std::fs::read_to_string(&file).expect("read"), text);
    }
}

/// fuzz target shell_profile: with two backstop blocks in a profile (copied from
/// another machine, say), uninstall removed one and left the other loading backstop,
/// and each install moved one.
#[test]
fn uninstall_removes_every_backstop_block_of_a_profile() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bashrc");
    let block = "# >>> backstop >>>\neval \"$(/old/backstop init bash)\"\n# <<< backstop <<<\n";
    let mine = "alias ll='ls -l'\r\nexport A=1";
    std::fs::write(&file, format!("{block}{mine}\n{block}")).expect("write");
    run("install", "bash", &file);
    let once = std::fs::read_to_string(&file).expect("read");
    assert_eq!(once.matches("# >>> backstop >>>").count(), 1, "{once}");
    run("install", "bash", &file);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), once);
    run("uninstall", "bash", &file);
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        format!("{mine}\n")
    );
}

/// fuzz target audit_log (from a seed at the bounds): a record numbered 2^64 - 1 made
/// `audit verify` and the next append overflow (a panic in a debug build; in a
/// release build the next record was numbered 0).
#[test]
fn an_audit_record_with_the_last_number_neither_panics_nor_wraps() {
    let last = format!(
        "{{\"seq\":{},\"time\":1,\"event\":\"deny\",\"source\":\"bash\",\"line\":\"x\",\"line_sha256\":\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\",\"prev\":\"{}\"}}\n",
        u64::MAX,
        "0".repeat(64)
    );
    let verify = Test::new()
        .file("data/audit.jsonl", &last)
        .args(["audit", "verify"])
        .run();
    assert_eq!(verify.code, 1, "{verify:?}");
    assert!(
        verify
            .stdout
            .contains("holds record 18446744073709551615 where record 1 belongs"),
        "{verify:?}"
    );
    let r = Test::new()
        .file("data/audit.jsonl", &last)
        .args([
            "hook",
            "--shell",
            "bash",
            "--",
            // Refused on any machine (a path that does not exist destroys nothing).
            "mkfs.ext4",
            "/dev/sdz",
        ])
        .run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("last number a record can have"), "{r:?}");
}

/// fuzz target shell_profile: taking out a block that sat inside a line joined the
/// text around it into a new `# >>> backstop >>>` line, so a second install moved
/// it; and the newline install added before its block was taken out even when lines
/// had been written after the block since, joining two lines of the profile.
#[test]
fn only_whole_marker_lines_make_a_block_and_lines_after_it_stay_apart() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("profile");
    let odd = "# <<< backstop-<<<\n# >>> backstop >># >>> backstop >>>\nebackstop # <<< backstop <<<\n>\n#sal \"$(b >>> backstot >>>\nebacbackstop *<<\n";
    std::fs::write(&file, odd).expect("write");
    run("install", "bash", &file);
    let once = std::fs::read_to_string(&file).expect("read");
    run("install", "bash", &file);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), once);
    run("uninstall", "bash", &file);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), odd);

    std::fs::write(&file, "alias ll='ls -l'").expect("write");
    run("install", "bash", &file);
    let mut text = std::fs::read_to_string(&file).expect("read");
    text.push_str("export AFTER=1\n");
    std::fs::write(&file, text).expect("write");
    run("uninstall", "bash", &file);
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "alias ll='ls -l'\nexport AFTER=1\n"
    );
}

/// fuzz target agent_settings: with a trailing comma after backstop's entry, the only
/// one in its array, uninstall left `[,]` and then refused the file it had made.
#[test]
fn uninstall_takes_a_trailing_comma_with_the_only_entry() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("hooks.json");
    let text = "{\n  \"version\": 1,\n  \"hooks\": {\n    \"beforeShellExecution\": [\n      {\"command\": \"'/old/backstop' agent-hook cursor\", \"timeout\": 60}\n ,    ],\n    \"afterFileEdit\": [{\"command\": \"fmt\"}]\n  }\n}\n";
    std::fs::write(&file, text).expect("write");
    run("uninstall", "cursor", &file);
    let left = std::fs::read_to_string(&file).expect("read");
    assert_eq!(
        left,
        "{\n  \"version\": 1,\n  \"hooks\": {\n    \"afterFileEdit\": [{\"command\": \"fmt\"}]\n  }\n}\n"
    );
}
