//! Approval is for a person: an interactive bash with backstop loaded, started in a
//! real pseudo-terminal the way a coding agent would start one (under the agent's
//! process, or with its variable), is never asked; typing the phrase there runs
//! nothing. The same shell without the agent asks, as `bash.rs` shows.

use std::path::Path;
use std::process::Command;

use crate::harness::{self, Pty, Sandbox};

/// What the refusal says; the agent and how it was told follow it.
const REFUSED: &str = "backstop does not ask for it here";

/// An rc file loading backstop into bash, written to the sandbox's home.
fn rc(sb: &Sandbox) -> String {
    let rc_file = sb.home.path().join(".bashrc");
    std::fs::write(&rc_file, "PS1='$ '\nHISTCONTROL=ignoreboth\n").expect("write .bashrc");
    sb.install(&harness::backstop_bin(), "bash", &rc_file);
    rc_file.to_str().expect("utf-8 path").to_string()
}

/// Types the line that deletes the backed-up directory, then the phrase as an agent
/// would, and checks that nothing ran and the refusal said why.
fn refused_under_an_agent(sb: &Sandbox, sh: &mut Pty, says: &str) {
    let line = format!("rm -rf {}", sb.dir.display());
    sh.line(&line);
    let out = sh.expect(REFUSED);
    assert!(!out.contains("type PROCEED"), "it asked:\n{out}");
    sh.line("PROCEED");
    let out = sh.sync();
    assert!(sb.intact(), "the line ran under an agent:\n{}", sh.screen());
    let screen = sh.screen();
    assert!(screen.contains(says), "{says:?} missing:\n{screen}");
    assert!(
        screen.contains("run the command in your own terminal"),
        "{screen}"
    );
    assert!(!out.contains("exited with status"), "{out}");
    // The audit log says the line was refused, and why.
    let log = std::fs::read_to_string(sb.backstop_home.path().join("data/audit.jsonl"))
        .expect("audit log");
    let last = log.lines().last().expect("a record");
    assert!(
        last.contains("\"event\":\"refused\"") && last.contains("under a coding agent"),
        "{last}"
    );
}

/// bash started as `PROGRAM … -c 'bash -i; exit'`, so that `PROGRAM` stays the
/// interactive shell's parent.
fn under(sb: &Sandbox, program: &Path, rc: &str, env: &[(&str, &str)]) -> Pty {
    let mut cmd = Command::new(program);
    cmd.args([
        "--noprofile",
        "--norc",
        "-c",
        &format!("bash --noprofile --rcfile '{rc}' -i; exit $?"),
    ])
    .envs(sb.env())
    .envs(env.iter().copied())
    .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    sh
}

#[test]
fn under_a_process_named_like_an_agent_no_one_is_asked() {
    let Some(bash) = harness::shell("bash") else {
        return;
    };
    let sb = Sandbox::new();
    let rc = rc(&sb);
    sb.back_up();
    // A program called `claude`: bash under another name, as an agent's binary is.
    let claude = sb.home.path().join("bin/claude");
    std::fs::create_dir_all(claude.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(&bash, &claude).expect("symlink");
    let mut sh = under(&sb, &claude, &rc, &[]);
    refused_under_an_agent(&sb, &mut sh, "it runs under `");
    assert!(
        sh.screen().contains("which is Claude Code"),
        "{}",
        sh.screen()
    );
}

#[test]
fn under_a_process_whose_argv0_names_an_agent_no_one_is_asked() {
    let Some(bash) = harness::shell("bash") else {
        return;
    };
    let sb = Sandbox::new();
    let rc = rc(&sb);
    sb.back_up();
    // `exec -a codex`: the process's name stays bash, its command line says codex.
    let mut cmd = Command::new(&bash);
    cmd.args([
        "--noprofile",
        "--norc",
        "-c",
        &format!("exec -a codex bash --noprofile --norc -c \"bash --noprofile --rcfile '{rc}' -i; exit \\$?\""),
    ])
    .envs(sb.env())
    .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    refused_under_an_agent(&sb, &mut sh, "it runs under `codex`");
    assert!(sh.screen().contains("which is Codex"), "{}", sh.screen());
}

#[test]
fn with_only_an_agents_variable_no_one_is_asked() {
    let Some(bash) = harness::shell("bash") else {
        return;
    };
    let sb = Sandbox::new();
    let rc = rc(&sb);
    sb.back_up();
    let mut sh = under(&sb, &bash, &rc, &[("CLAUDECODE", "1")]);
    refused_under_an_agent(
        &sb,
        &mut sh,
        "CLAUDECODE is set, which Claude Code sets for the commands it runs",
    );
}

#[test]
fn the_same_shell_without_an_agent_still_asks_and_approves() {
    let Some(bash) = harness::shell("bash") else {
        return;
    };
    let sb = Sandbox::new();
    let rc = rc(&sb);
    sb.back_up();
    let mut sh = under(&sb, &bash, &rc, &[]);
    sh.line(&format!("rm -rf {}", sb.dir.display()));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("PROCEED");
    let out = sh.sync();
    assert!(!sb.dir.exists(), "the approved line ran:\n{out}");
}
