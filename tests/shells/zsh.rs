//! zsh with backstop loaded the way a person's would be (`backstop install zsh` into
//! its .zshrc), typed into in a pseudo-terminal.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{self, Pty, Sandbox};

/// An interactive zsh whose .zshrc `backstop install` (run by `bin`) added itself to,
/// ready for input. No system-wide rc files (`-d`): only what the test writes.
fn start_with(sb: &Sandbox, bin: &Path) -> Option<Pty> {
    let zsh = harness::shell("zsh")?;
    let rc_file = sb.home.path().join(".zshrc");
    std::fs::write(&rc_file, "PS1='%% '\nHISTSIZE=100\n").expect("write .zshrc");
    sb.install(bin, "zsh", &rc_file);
    let mut cmd = Command::new(zsh);
    cmd.args(["-d", "-i"])
        .envs(sb.env())
        .env("ZDOTDIR", sb.home.path())
        .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    Some(sh)
}

fn start(sb: &Sandbox) -> Option<Pty> {
    start_with(sb, &harness::backstop_bin())
}

fn rm_line(sb: &Sandbox) -> String {
    format!("rm -rf {}", sb.dir.display())
}

#[test]
fn a_benign_line_runs_and_backstop_says_nothing() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    sh.line("echo hel''lo; echo wor''ld | cat");
    let out = sh.sync();
    // What is typed while a command runs is echoed among its output: compare whole lines.
    assert!(out.lines().any(|l| l == "hello"), "{out}");
    assert!(out.lines().any(|l| l == "world"), "{out}");
    assert!(
        !out.contains("backstop"),
        "an allowed line prints nothing of backstop's:\n{out}"
    );
}

#[test]
fn rm_without_a_backup_is_refused_and_kept_in_history() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    sh.line(&rm_line(&sb));
    let out = sh.sync();
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(sb.intact());
    // The refused line is in history, to fix and run again.
    sh.line("fc -ln -2 -2");
    let out = sh.sync();
    assert!(out.contains(&format!("\n{}\n", rm_line(&sb))), "{out}");
}

#[test]
fn with_a_backup_it_asks_and_only_the_phrase_runs_the_line() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    sb.back_up();

    sh.line(&rm_line(&sb));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("proceed");
    let out = sh.sync();
    assert!(out.contains("not approved"), "{out}");
    assert!(sb.intact(), "a wrong phrase refuses");

    sh.line(&format!("true && {}", rm_line(&sb)));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("PROCEED");
    let out = sh.sync();
    assert!(!sb.dir.exists(), "the approved line ran:\n{out}");
    assert!(
        out.contains("exited with status 0"),
        "precmd reports the approved line's status:\n{out}"
    );
}

#[test]
fn every_way_of_hiding_rm_in_a_line_is_refused() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    let rm = rm_line(&sb);
    let cases = [
        ("after ;", format!("true; {rm}")),
        ("after &&", format!("true && {rm}")),
        ("in a pipe", format!("echo x | {rm}")),
        ("in a subshell", format!("({rm}); echo SUB''SHELL-RAN")),
        ("in $(…)", format!("$({rm})")),
        ("in a function", format!("f() {{ {rm}; }}; f")),
    ];
    for (name, line) in &cases {
        sh.line(line);
        let out = sh.sync();
        assert!(out.contains("backstop: refused"), "{name}: {line}\n{out}");
        assert!(
            !out.contains("SUBSHELL-RAN"),
            "{name}: nothing of a refused line runs\n{out}"
        );
        assert!(sb.intact(), "{name}: {line}\n{out}");
    }

    // A pasted block is one buffer in zsh: it is decided, and refused, as a whole.
    sh.paste(&format!("echo PAS''TED\r{rm}\r"));
    sh.send("\r");
    let out = sh.sync();
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(
        !out.contains("PASTED"),
        "no line of a refused paste runs:\n{out}"
    );
    assert!(sb.intact(), "a pasted two-line block\n{out}");

    // Typed over several lines: decided once the construct is complete.
    sh.line(&format!("for d in {}; do", sb.dir.display()));
    sh.line("echo LOOP''-RAN; rm -rf \"$d\"");
    sh.line("done");
    let out = sh.sync();
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(!out.contains("LOOP-RAN"), "{out}");
    assert!(sb.intact(), "a loop typed over three lines\n{out}");

    // Another accepting widget: accept-and-hold (Esc a).
    sh.send(&format!("{rm}\x1ba"));
    let out = sh.sync();
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(sb.intact(), "accept-and-hold\n{out}");
}

#[test]
fn a_missing_binary_warns_once_and_the_line_runs() {
    let sb = Sandbox::new();
    let copy = sb.doomed_copy();
    let Some(mut sh) = start_with(&sb, &copy) else {
        return;
    };
    std::fs::remove_file(&copy).expect("delete the copy");
    // A line naming no program of any policy runs without the hook, so it is silent.
    sh.line("echo qu''iet");
    assert!(!sh.expect("quiet").contains("backstop:"));
    // `env` is a wrapper the hook looks inside: this line needs the hook.
    sh.line("env echo hel''lo; echo wor''ld");
    let out = sh.expect("world");
    assert_eq!(
        out.matches("backstop: hook failed").count(),
        1,
        "one warning:\n{out}"
    );
    assert!(out.contains("status 127"), "{out}");
    assert!(out.lines().any(|l| l == "hello"), "the line ran:\n{out}");
    sh.sync();
    assert_eq!(sh.exit("exit"), 0);
}

fn zsh_c(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Option<std::process::Output> {
    let zsh = harness::shell("zsh")?;
    let out = Command::new(zsh)
        .args(args)
        .env_clear()
        .envs(sb.env())
        .env("ZDOTDIR", sb.home.path())
        .envs(env.iter().copied())
        .current_dir(sb.home.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run zsh");
    Some(out)
}

fn script_file(sb: &Sandbox) -> PathBuf {
    let path = sb.home.path().join("backstop.zsh");
    std::fs::write(&path, sb.init("zsh")).expect("write the rendered script");
    path
}

#[test]
fn the_rendered_script_loads_silently_under_strict_flags() {
    let sb = Sandbox::new();
    let script = script_file(&sb);
    assert!(
        !sb.init("zsh").contains("@BACKSTOP_"),
        "every placeholder is replaced"
    );
    let strict = "setopt err_exit no_unset pipe_fail warn_create_global";
    let load = format!(
        r#"{strict}; eval "$(<{0})"; eval "$(<{0})"; unsetopt err_exit; echo LOAD''ED"#,
        script.display()
    );

    // Interactive, in a terminal, with no rc file: loading prints nothing.
    let Some(zsh) = harness::shell("zsh") else {
        return;
    };
    let mut cmd = Command::new(&zsh);
    cmd.args(["-f", "-i"])
        .envs(sb.env())
        .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    sh.line(&load);
    let out = sh.expect("LOADED");
    let printed = out.rsplit_once("LOAD''ED").map_or("", |(_, after)| after);
    assert_eq!(printed, "\nLOADED", "loading printed something:\n{out}");
    // Under no_unset and warn_create_global, lines still run and are still checked.
    sh.line("echo hel''lo");
    sh.line(&format!("true; {}", rm_line(&sb)));
    let out = sh.sync();
    assert!(out.contains("hello"), "{out}");
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(!out.contains("zsh:"), "no complaint from zsh:\n{out}");
    assert!(sb.intact());

    // Non-interactive, as .zshenv loads it.
    let out = zsh_c(
        &sb,
        &[("BACKSTOP_NONINTERACTIVE", "1")],
        &["-f", "-c", &load],
    )
    .expect("zsh");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "LOADED\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "prints nothing");
    assert!(out.status.success());
}

#[test]
fn scripts_are_checked_only_when_opted_in_through_zshenv() {
    let sb = Sandbox::new();
    let script = script_file(&sb);
    std::fs::write(
        sb.home.path().join(".zshenv"),
        format!("source {}\n", script.display()),
    )
    .expect("write .zshenv");
    let line = format!("echo before; {}; echo after", rm_line(&sb));
    let opted_in = [("BACKSTOP_NONINTERACTIVE", "1")];

    let Some(out) = zsh_c(&sb, &opted_in, &["-c", "for i in 1 2 3; do echo $i; done"]) else {
        return;
    };
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n2\n3\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "a benign script prints nothing more"
    );

    let out = zsh_c(&sb, &opted_in, &["-c", &line]).expect("zsh");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "before\n",
        "a refused command ends the script"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("backstop: refused"));
    assert_eq!(out.status.code(), Some(2), "the hook's status: denied");
    assert!(sb.intact());

    let out = zsh_c(&sb, &[], &["-c", &line]).expect("zsh");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "before\nafter\n");
    assert!(!sb.dir.exists());
}

/// An approved `rm -rf` put back by `backstop undo` at the same zsh prompt.
#[test]
fn undo_brings_back_what_an_approved_rm_rf_removed() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    sb.back_up();
    sh.line(&rm_line(&sb));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("PROCEED");
    sh.sync();
    assert!(!sb.dir.exists(), "the approved line ran");
    let bin = harness::backstop_bin();
    sh.line(&format!("{} undo --list", bin.display()));
    let out = sh.sync();
    assert!(out.contains(&rm_line(&sb)), "{out}");
    sh.line(&format!("{} undo", bin.display()));
    let out = sh.sync();
    assert!(
        out.contains(&format!("restored {} from ", sb.dir.display())),
        "{out}"
    );
    assert!(sb.intact());
}

#[test]
fn a_file_git_holds_is_deleted_with_one_line_saying_where_it_comes_back_from() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    let big = sb.pushed_repo();
    sh.line(&format!("rm {}", big.display()));
    let out = sh.sync();
    assert!(out.contains("can be restored from git commit"), "{out}");
    assert!(!big.exists(), "the line ran:\n{out}");
    // Nobody approved anything: no reminder about an approved line.
    sh.line("true");
    let out = sh.sync();
    assert!(!out.contains("approved line"), "{out}");
}
