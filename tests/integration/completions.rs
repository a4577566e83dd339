//! `backstop completions`, `backstop man`, and the completions line `install` adds.
//! (The shells themselves load and use the scripts in tests/shells/completions.rs.)

use crate::Test;

#[test]
fn completions_for_every_shell_and_none_for_others() {
    for (shell, marker) in [
        ("bash", "complete -F _backstop"),
        ("zsh", "#compdef backstop"),
        ("fish", "complete -c backstop"),
        ("powershell", "Register-ArgumentCompleter"),
        ("nu", "export extern \"backstop check\""),
    ] {
        let r = Test::new().args(["completions", shell]).code(0);
        assert!(r.stdout.contains(marker), "{shell}: {}", r.stdout);
        assert!(r.stdout.contains("restore-test"), "{shell}");
    }
    let r = Test::new().args(["completions", "tcsh"]).code(3);
    assert!(
        r.stderr.contains("bash, zsh, fish, nu and powershell"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_man_page_and_a_subcommands_page() {
    let r = Test::new().args(["man"]).code(0);
    assert!(r.stdout.contains(".TH backstop 1"), "{}", r.stdout);
    assert!(r.stdout.contains("backstop\\-doctor(1)"), "{}", r.stdout);
    let r = Test::new().args(["man", "check"]).code(0);
    assert!(r.stdout.contains(".TH backstop-check 1"), "{}", r.stdout);
    assert!(r.stdout.contains("\\-\\-json"), "{}", r.stdout);
    let r = Test::new().args(["man", "chek"]).code(3);
    assert!(r.stderr.contains("did you mean `check`?"), "{}", r.stderr);
}

#[test]
fn install_loads_completions_once_and_uninstall_takes_them_out() {
    let t = Test::new();
    let rc = t.home().join("bashrc");
    std::fs::write(&rc, "alias ll='ls -l'\n").expect("write");
    let profile = rc.display().to_string();
    t.clone_home()
        .args(["install", "bash", "--profile", &profile])
        .code(0);
    let text = std::fs::read_to_string(&rc).expect("read");
    assert_eq!(text.matches("completions bash)\"").count(), 1, "{text}");
    let r = t
        .clone_home()
        .args(["install", "bash", "--profile", &profile])
        .code(0);
    assert!(r.stdout.contains("already installed"), "{}", r.stdout);
    t.clone_home()
        .args(["uninstall", "bash", "--profile", &profile])
        .code(0);
    assert_eq!(
        std::fs::read_to_string(&rc).expect("read"),
        "alias ll='ls -l'\n"
    );

    t.clone_home()
        .args(["install", "bash", "--no-completions", "--profile", &profile])
        .code(0);
    let text = std::fs::read_to_string(&rc).expect("read");
    assert!(
        text.contains("init bash") && !text.contains("completions"),
        "{text}"
    );
}
