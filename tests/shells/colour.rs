//! Colour on a real terminal: `explain` and a refusal in bash's pseudo-terminal are
//! coloured, and are not with NO_COLOR.

use std::process::Command;

use crate::harness::{self, Pty, Sandbox};

fn explain_in_a_terminal(sb: &Sandbox, extra: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(harness::backstop_bin());
    cmd.args(["explain", &format!("rm -rf {}", sb.dir.display())])
        .envs(sb.env())
        .envs(extra.iter().copied())
        .current_dir(sb.home.path());
    let mut pty = Pty::spawn_clean(cmd);
    pty.expect("Decision:");
    assert_eq!(pty.wait(), 0, "{}", pty.screen());
    pty.raw()
}

#[test]
fn explain_is_coloured_on_a_terminal_unless_no_color_is_set() {
    let sb = Sandbox::new();
    let raw = explain_in_a_terminal(&sb, &[]);
    assert!(raw.contains("\x1b[1m\x1b[31mDENY\x1b[0m"), "{raw:?}");
    let raw = explain_in_a_terminal(&sb, &[("NO_COLOR", "1")]);
    assert!(raw.contains("DENY") && !raw.contains("\x1b[31m"), "{raw:?}");
}

#[test]
fn a_refusal_in_bash_is_coloured() {
    let sb = Sandbox::new();
    let Some(bash) = harness::shell("bash") else {
        return;
    };
    let rc = sb.home.path().join(".bashrc");
    std::fs::write(&rc, "PS1='$ '\n").expect("write .bashrc");
    sb.install(&harness::backstop_bin(), "bash", &rc);
    let mut cmd = Command::new(bash);
    cmd.args(["--noprofile", "--rcfile", rc.to_str().expect("utf-8"), "-i"])
        .envs(sb.env())
        .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    sh.line(&format!("rm -rf {}", sb.dir.display()));
    sh.sync();
    assert!(sb.intact());
    let raw = sh.raw();
    assert!(
        raw.contains("backstop: \x1b[1m\x1b[31mrefused\x1b[0m"),
        "{raw:?}"
    );
}
