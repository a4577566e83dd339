//! fish with backstop loaded the way a person's would be (`backstop install fish` into
//! config.fish), typed into in a pseudo-terminal.

use std::path::Path;
use std::process::Command;

use crate::harness::{self, Pty, Sandbox};

/// An interactive fish whose config.fish `backstop install` (run by `bin`) added itself
/// to, ready for input. `config` is what the file holds before the install.
fn start_with(sb: &Sandbox, bin: &Path, config: &str) -> Option<Pty> {
    let fish = harness::shell("fish")?;
    let file = sb.home.path().join(".config/fish/config.fish");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("config dir");
    std::fs::write(&file, format!("set -g fish_greeting\n{config}\n")).expect("config.fish");
    sb.install(bin, "fish", &file);
    let mut cmd = Command::new(&fish);
    cmd.arg("-i").envs(sb.env()).current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    Some(sh)
}

fn start(sb: &Sandbox) -> Option<Pty> {
    start_with(sb, &harness::backstop_bin(), "")
}

fn rm_line(sb: &Sandbox) -> String {
    format!("rm -rf {}", sb.dir.display())
}

/// Types `line`; it must be refused and leave the directory alone.
fn refused(sh: &mut Pty, sb: &Sandbox, line: &str) {
    sh.line(line);
    let out = sh.sync();
    assert!(
        out.contains("backstop: refused"),
        "{line:?} was not refused:\n{out}"
    );
    assert!(sb.intact(), "{line:?} ran");
}

#[test]
fn fish_script_loads_silently_and_is_fish_indented() {
    let sb = Sandbox::new();
    let Some(fish) = harness::shell("fish") else {
        return;
    };
    let script = sb.home.path().join("backstop.fish");
    std::fs::write(&script, sb.init("fish")).expect("write the script");
    let run = Command::new(&fish)
        .args(["--no-config", "-i", "-c"])
        .arg(format!("source {}", script.display()))
        .env_clear()
        .envs(sb.env())
        .output()
        .expect("fish runs");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        (
            String::from_utf8_lossy(&run.stdout).as_ref(),
            String::from_utf8_lossy(&run.stderr).as_ref()
        ),
        ("", "")
    );
    // fish_indent comes with fish: the file in the repository is formatted as fish has it.
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/shell-integrations/fish/backstop.fish"
    );
    let check = Command::new(fish.with_file_name("fish_indent"))
        .arg("--check")
        .arg(src)
        .output()
        .expect("fish_indent runs");
    assert!(
        check.status.success(),
        "fish_indent --check {src}: {check:?}"
    );
}

#[test]
fn fish_runs_a_benign_line_and_backstop_says_nothing() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    sh.line("echo hel''lo; echo wor''ld | cat");
    let out = sh.sync();
    assert!(out.contains("hello\nworld"), "{out}");
    assert!(!out.contains("backstop"), "{out}");
}

#[test]
fn fish_refuses_rm_without_a_backup_and_keeps_it_in_history() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    sh.line(&rm_line(&sb));
    let out = sh.sync();
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(out.contains("backup missing"), "{out}");
    assert!(
        out.contains("backstop backup"),
        "the remedy is shown:\n{out}"
    );
    assert!(sb.intact());
    // Commented out, as fish's Alt-# does: in history to recall and fix, never run.
    sh.line("history search --max 1 -- rm");
    let out = sh.sync();
    assert!(out.contains(&format!("# {}", rm_line(&sb))), "{out}");
}

#[test]
fn fish_asks_once_backed_up_and_only_the_phrase_runs_the_line() {
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

    sh.line(&rm_line(&sb));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("PROCEED");
    let out = sh.sync();
    assert!(!sb.dir.exists(), "the approved line ran:\n{out}");
    assert!(
        out.contains("exited with status 0"),
        "fish_postexec reports the approved line's status:\n{out}"
    );
}

#[test]
fn fish_refuses_rm_hidden_anywhere_in_a_line() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    let rm = rm_line(&sb);
    for line in [
        format!("true; {rm}"),
        format!("true && {rm}"),
        format!("true; and {rm}"),
        format!("echo x | {rm}"),
        format!("begin; {rm}; end"),
        format!("echo ({rm})"),
        format!("echo $({rm})"),
        // Typed over three lines: Enter on an unfinished block only adds a line.
        format!("if true\n{rm}\nend"),
    ] {
        refused(&mut sh, &sb, &line);
    }
    // A paste arrives bracketed: both lines are in the buffer when Enter comes.
    sh.paste(&format!("echo pasted\r{rm}"));
    refused(&mut sh, &sb, "");
}

#[test]
fn fish_checks_an_abbreviation_as_it_will_expand() {
    let sb = Sandbox::new();
    let abbr = format!("abbr -a nuke '{}'", rm_line(&sb));
    let Some(mut sh) = start_with(&sb, &harness::backstop_bin(), &abbr) else {
        return;
    };
    // The first Enter shows the expansion; the second checks what will run.
    sh.line("nuke");
    sh.expect(&rm_line(&sb));
    refused(&mut sh, &sb, "");
    // One defined later, that expands outside command position, is caught too.
    sh.line(&format!(
        "abbr -a --position anywhere zap '{}'",
        rm_line(&sb)
    ));
    sh.sync();
    sh.line("sudo zap");
    sh.expect(&rm_line(&sb));
    refused(&mut sh, &sb, "");
}

#[test]
fn fish_runs_lines_with_one_warning_when_the_binary_is_gone() {
    let sb = Sandbox::new();
    let bin = sb.doomed_copy();
    let Some(mut sh) = start_with(&sb, &bin, "") else {
        return;
    };
    std::fs::remove_file(&bin).expect("remove the binary");
    // A line naming no program of any policy runs without the hook, so it is silent.
    sh.line("echo qu''iet");
    assert!(!sh.expect("quiet").contains("backstop:"));
    // `env` is a wrapper the hook looks inside: this line needs the hook.
    sh.line("env echo st''ill-runs");
    let out = sh.expect("still-runs");
    assert_eq!(
        out.matches("backstop:").count(),
        1,
        "one warning line:\n{out}"
    );
    assert!(out.contains("running the line unchecked"), "{out}");
    sh.sync();
}
