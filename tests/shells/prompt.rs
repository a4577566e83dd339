//! The approval prompt itself, in a pseudo-terminal: the phrase a critical rule asks
//! for, type-ahead that must not answer, and the keys that refuse.

use std::process::Command;

use crate::harness::{backstop_bin, Pty, Sandbox};

/// `backstop hook` on `rm -rf DIR` (backed up, so it asks) in a pseudo-terminal.
fn hook(s: &Sandbox) -> Pty {
    let mut cmd = Command::new(backstop_bin());
    cmd.args(["hook", "--shell", "bash", "--"])
        .arg(format!("rm -rf {}", s.dir.display()))
        .env_clear()
        .envs(s.env());
    Pty::spawn_clean(cmd)
}

/// A user override makes the rule critical: the phrase is then the target's name.
fn critical(s: &Sandbox) {
    let dir = s.backstop_home.path().join("policies");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("strict.toml"),
        "[[override]]\nrule = \"fs.rm-recursive\"\nseverity = \"critical\"\n",
    )
    .expect("write policy");
}

#[test]
fn a_critical_rule_asks_for_the_targets_name_not_proceed() {
    let s = Sandbox::new();
    s.back_up();
    critical(&s);
    let mut p = hook(&s);
    p.expect("type precious to run it");
    p.send("PROCEED\r");
    assert_eq!(p.wait(), 1, "{}", p.screen());
    assert!(s.intact());

    let mut p = hook(&s);
    p.expect("type precious to run it");
    p.send("precious\r");
    assert_eq!(p.wait(), 0, "{}", p.screen());
}

#[test]
fn keys_typed_before_the_question_do_not_answer_it() {
    let s = Sandbox::new();
    s.back_up();
    let mut p = hook(&s);
    // Typed at once, before backstop has even started: discarded when it asks.
    p.send("PROCEED\r");
    p.expect("type PROCEED to run it");
    p.send("\x04");
    assert_eq!(p.wait(), 1, "type-ahead approved the line:\n{}", p.screen());
    assert!(
        p.screen().contains("cancelled with Ctrl-D"),
        "{}",
        p.screen()
    );
}

#[test]
fn ctrl_c_escape_and_a_wrong_phrase_refuse() {
    let s = Sandbox::new();
    s.back_up();
    for (keys, says) in [
        ("\x03", "cancelled with Ctrl-C"),
        ("PRO\x1b", "cancelled with Escape"),
        ("PROCEEDS\r", "not the one asked for"),
        ("\r", "nothing was typed"),
    ] {
        let mut p = hook(&s);
        p.expect("type PROCEED to run it");
        p.send(keys);
        assert_eq!(p.wait(), 1, "{keys:?}:\n{}", p.screen());
        assert!(p.screen().contains(says), "{keys:?}:\n{}", p.screen());
    }
    // Backspace corrects a typo.
    let mut p = hook(&s);
    p.expect("type PROCEED to run it");
    p.send("PROCEEX\x7fD\r");
    assert_eq!(p.wait(), 0, "{}", p.screen());
}
