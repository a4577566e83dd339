//! bash with backstop loaded the way a person's would be (`backstop install bash` into
//! its rc file), typed into in a pseudo-terminal.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{self, Pty, Sandbox};

/// An interactive bash whose rc file `backstop install` (run by `bin`) added itself to,
/// ready for input. `rc` is what the file holds before the install.
fn start_with(sb: &Sandbox, bin: &Path, rc: &str) -> Option<Pty> {
    let bash = harness::shell("bash")?;
    let rc_file = sb.home.path().join(".bashrc");
    // Ubuntu's default: lines with a leading space and repeated lines stay out of history.
    std::fs::write(&rc_file, format!("PS1='$ '\nHISTCONTROL=ignoreboth\n{rc}"))
        .expect("write .bashrc");
    sb.install(bin, "bash", &rc_file);
    let rc_arg = rc_file.to_str().expect("utf-8 path");
    let mut cmd = Command::new(bash);
    cmd.args(["--noprofile", "--rcfile", rc_arg, "-i"])
        .envs(sb.env())
        .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    Some(sh)
}

fn start(sb: &Sandbox) -> Option<Pty> {
    start_with(sb, &harness::backstop_bin(), "")
}

/// [`start`], with more variables in the shell's environment.
fn start_env(sb: &Sandbox, env: &[(&str, &str)]) -> Option<Pty> {
    let bash = harness::shell("bash")?;
    let rc_file = sb.home.path().join(".bashrc");
    std::fs::write(&rc_file, "PS1='$ '\n").expect("write .bashrc");
    sb.install(&harness::backstop_bin(), "bash", &rc_file);
    let mut cmd = Command::new(bash);
    cmd.args([
        "--noprofile",
        "--rcfile",
        rc_file.to_str().expect("utf-8"),
        "-i",
    ])
    .envs(sb.env())
    .envs(env.iter().copied())
    .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    Some(sh)
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
fn rm_without_a_backup_is_refused() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    sh.line(&rm_line(&sb));
    let out = sh.sync();
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(
        out.contains("backstop backup"),
        "the remedy is shown:\n{out}"
    );
    assert!(sb.intact());
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
        "the prompt hook reports the approved line's status:\n{out}"
    );
}

#[test]
fn every_way_of_hiding_rm_in_a_line_is_refused() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    let rm = rm_line(&sb);
    let cases = [
        ("after ;", format!("true; {rm}")),
        (
            "the same line again, which history leaves out",
            format!("true; {rm}"),
        ),
        ("after &&", format!("true && {rm}")),
        ("in a pipe", format!("echo x | {rm}")),
        ("in a subshell", format!("({rm})")),
        (
            "in a subshell, with more after it",
            format!("({rm}); echo SUB''SHELL-RAN"),
        ),
        ("in $(…)", format!("$({rm})")),
        ("in `…`", format!("echo `{rm}`")),
        (
            "with a leading space, which history leaves out",
            format!(" true; {rm}"),
        ),
        ("in a function", format!("f() {{ {rm}; }}; f")),
    ];
    for (name, line) in &cases {
        sh.line(line);
        let out = sh.sync();
        assert!(out.contains("backstop: refused"), "{name}: {line}\n{out}");
        assert_eq!(
            out.matches("backstop: refused").count(),
            1,
            "{name}: refused once\n{out}"
        );
        assert!(
            !out.contains("SUBSHELL-RAN"),
            "{name}: the rest of a refused line is skipped\n{out}"
        );
        assert!(sb.intact(), "{name}: {line}\n{out}");
    }

    // A terminal sends a paste as one block; bash runs its lines one by one.
    sh.paste(&format!("echo PAS''TED\r{rm}\r"));
    sh.send("\r");
    let out = sh.sync();
    assert!(
        out.contains("PASTED"),
        "the paste's first line runs:\n{out}"
    );
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(sb.intact(), "a pasted two-line block\n{out}");
}

#[test]
fn an_existing_debug_trap_and_prompt_command_keep_working() {
    let sb = Sandbox::new();
    let count = sb.home.path().join("count");
    let rc = format!(
        "trap 'echo x >>{}' DEBUG\nPROMPT_COMMAND='echo PROMPT''-RAN'\n",
        count.display()
    );
    let Some(mut sh) = start_with(&sb, &harness::backstop_bin(), &rc) else {
        return;
    };
    let before = std::fs::read_to_string(&count).unwrap_or_default().len();
    sh.line("echo one");
    let out = sh.sync();
    assert!(
        out.contains("PROMPT-RAN"),
        "the existing PROMPT_COMMAND still runs:\n{out}"
    );
    let after = std::fs::read_to_string(&count).unwrap_or_default().len();
    assert!(after > before, "the existing DEBUG trap still runs");
    sh.line(&format!("true; {}", rm_line(&sb)));
    let out = sh.sync();
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(sb.intact());
}

#[test]
fn a_missing_binary_warns_once_and_the_line_runs() {
    let sb = Sandbox::new();
    let copy = sb.doomed_copy();
    let Some(mut sh) = start_with(&sb, &copy, "") else {
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

fn bash_c(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Option<std::process::Output> {
    let bash = harness::shell("bash")?;
    let out = Command::new(bash)
        .args(args)
        .env_clear()
        .envs(sb.env())
        .envs(env.iter().copied())
        .current_dir(sb.home.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bash");
    Some(out)
}

fn script_file(sb: &Sandbox) -> PathBuf {
    let path = sb.home.path().join("backstop.bash");
    std::fs::write(&path, sb.init("bash")).expect("write the rendered script");
    path
}

#[test]
fn the_rendered_script_loads_silently_under_strict_flags() {
    let sb = Sandbox::new();
    let script = script_file(&sb);
    assert!(
        !sb.init("bash").contains("@BACKSTOP_"),
        "every placeholder is replaced"
    );
    let load = format!(
        r#"set -euo pipefail; eval "$(<{0})"; eval "$(<{0})"; set +e; echo LOAD''ED"#,
        script.display()
    );

    // Interactive, in a terminal, with no rc file: loading prints nothing.
    let Some(bash) = harness::shell("bash") else {
        return;
    };
    let mut cmd = Command::new(&bash);
    cmd.args(["--norc", "--noprofile", "-i"])
        .envs(sb.env())
        .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    sh.sync();
    sh.line(&load);
    let out = sh.expect("LOADED");
    let printed = out.rsplit_once("LOAD''ED").map_or("", |(_, after)| after);
    assert_eq!(printed, "\nLOADED", "loading printed something:\n{out}");
    // Under set -u, lines still run and are still checked (set -e would end the shell
    // at a refused command, as at any failing one).
    sh.line("echo hel''lo");
    sh.line(&format!("true; {}", rm_line(&sb)));
    let out = sh.sync();
    assert!(out.contains("hello"), "{out}");
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(sb.intact());

    // Non-interactive, as BASH_ENV loads it.
    let out = bash_c(
        &sb,
        &[("BACKSTOP_NONINTERACTIVE", "1")],
        &["--norc", "--noprofile", "-c", &load],
    )
    .expect("bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "LOADED\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "prints nothing");
    assert!(out.status.success());
}

#[test]
fn the_rendered_script_passes_shellcheck() {
    let Some(shellcheck) = harness::on_path("shellcheck") else {
        assert!(
            std::env::var_os("BACKSTOP_REQUIRE_SHELLS").is_none_or(|v| v.is_empty() || v == "0"),
            "shellcheck is required (BACKSTOP_REQUIRE_SHELLS is set) but is not on PATH"
        );
        eprintln!("SKIPPED shellcheck of the bash integration: shellcheck is not on PATH");
        return;
    };
    let sb = Sandbox::new();
    let script = script_file(&sb);
    let out = Command::new(shellcheck)
        .args(["--shell=bash", "--severity=style"])
        .arg(&script)
        .output()
        .expect("run shellcheck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn scripts_are_checked_only_when_opted_in_through_bash_env() {
    let sb = Sandbox::new();
    let script = script_file(&sb);
    let script = script.to_str().expect("utf-8 path");
    let line = format!("echo before; {}; echo after", rm_line(&sb));
    let opted_in = [("BASH_ENV", script), ("BACKSTOP_NONINTERACTIVE", "1")];

    let Some(out) = bash_c(&sb, &opted_in, &["-c", "for i in 1 2 3; do echo $i; done"]) else {
        return;
    };
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n2\n3\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "a benign script prints nothing more"
    );

    let out = bash_c(&sb, &opted_in, &["-c", &line]).expect("bash");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "before\n",
        "a refused command ends the script"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("backstop: refused"));
    assert_eq!(out.status.code(), Some(2), "the hook's status: denied");
    assert!(sb.intact());

    // Without the opt-in variable the same file does nothing (it may be sourced anywhere).
    let out = bash_c(&sb, &[("BASH_ENV", script)], &["-c", &line]).expect("bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "before\nafter\n");
    assert!(!sb.dir.exists());
}

/// A profile may load the integration twice; its own DEBUG traps must then not be
/// taken for an attempt to remove backstop's (the rule `backstop.bash-debug-trap`).
#[test]
fn the_integrations_own_traps_are_not_refused() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh"] {
        let script = sb.init(shell);
        let traps: Vec<&str> = script
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("trap ") && l.ends_with(" DEBUG"))
            .collect();
        assert!(!traps.is_empty(), "{shell} sets a DEBUG trap");
        for line in traps {
            let out = Command::new(harness::backstop_bin())
                .args(["check", "--shell", shell, "--", line])
                .env_clear()
                .envs(sb.env())
                .output()
                .expect("run backstop check");
            assert!(
                out.status.success(),
                "{shell}: `{line}` is refused:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let out = Command::new(harness::backstop_bin())
            .args(["check", "--shell", shell, "--", "trap - DEBUG"])
            .env_clear()
            .envs(sb.env())
            .output()
            .expect("run backstop check");
        assert!(!out.status.success(), "trap - DEBUG is let through");
    }
}

/// The moment after: an approved `rm -rf` is put back by `backstop undo`, typed at
/// the same prompt, from the backup that let it run.
#[test]
fn undo_brings_back_what_an_approved_rm_rf_removed() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    sb.back_up();
    let before = std::fs::read_to_string(sb.dir.join("sentinel")).expect("sentinel");
    sh.line(&rm_line(&sb));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("PROCEED");
    sh.sync();
    assert!(!sb.dir.exists(), "the approved line ran");

    let bin = harness::backstop_bin();
    sh.line(&format!("{} undo --list", bin.display()));
    let out = sh.sync();
    assert!(
        out.contains(&rm_line(&sb)) && out.contains("(ran: exit status 0)"),
        "{out}"
    );
    assert!(out.contains("the place is free: `backstop undo "), "{out}");

    sh.line(&format!("{} undo", bin.display()));
    let out = sh.sync();
    assert!(
        out.contains(&format!("restored {} from ", sb.dir.display())),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(sb.dir.join("sentinel")).expect("restored"),
        before
    );
    // Undone once: the list says so, and a second undo does not run it again.
    sh.line(&format!("{} undo --list", bin.display()));
    let out = sh.sync();
    assert!(out.contains("[undone by #"), "{out}");
    sh.line(&format!("{} undo; echo status=$?", bin.display()));
    let out = sh.sync();
    assert!(
        out.contains("was undone already") && out.contains("status=3"),
        "{out}"
    );
}

/// `DELETE FROM t` leaves its database in place: undo refuses until --force, which
/// backs up the database as it is now, then restores it.
#[test]
fn undo_of_a_delete_needs_force_and_backs_up_first() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    let db = sb.dir.join("shop.db");
    let sqlite = |sql: &str| {
        let out = Command::new("sqlite3")
            .arg(&db)
            .arg(sql)
            .output()
            .expect("sqlite3 (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    sqlite("CREATE TABLE orders(id INTEGER PRIMARY KEY, total INT); INSERT INTO orders(total) VALUES (10),(20),(30);");
    sb.back_up_target(&format!("sqlite:{}", db.display()));
    sh.line(&format!("sqlite3 {} 'DELETE FROM orders'", db.display()));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("PROCEED");
    sh.sync();
    assert_eq!(sqlite("SELECT count(*) FROM orders"), "0");

    let bin = harness::backstop_bin();
    sh.line(&format!("{} undo; echo status=$?", bin.display()));
    let out = sh.sync();
    assert!(
        out.contains("is not empty") && out.contains("--force") && out.contains("status=3"),
        "{out}"
    );
    sh.line(&format!("{} undo --force", bin.display()));
    let out = sh.sync();
    assert!(out.contains("backed up as bk-"), "{out}");
    assert!(out.contains(&format!("restored {}", db.display())), "{out}");
    assert_eq!(sqlite("SELECT sum(total) FROM orders"), "60");
}

#[test]
fn a_refused_line_offers_the_backup_then_asks_as_usual() {
    let sb = Sandbox::new();
    sb.configure_destinations(None);
    let Some(mut sh) = start(&sb) else { return };
    // A wrong answer makes no backup.
    sh.line(&rm_line(&sb));
    sh.expect("type BACKUP to back up precious (8 B) to ");
    sh.expect(": ");
    sh.line("nope");
    let out = sh.sync();
    assert!(out.contains("no backup made"), "{out}");
    assert!(sb.intact() && sb.backup_files().is_empty(), "{out}");

    sh.line(&rm_line(&sb));
    sh.expect("type BACKUP");
    sh.expect(": ");
    sh.line("BACKUP");
    sh.expect("every copy re-read and verified");
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("PROCEED");
    let out = sh.sync();
    assert!(!sb.dir.exists(), "the approved line ran:\n{out}");
    assert_eq!(sb.backup_files().len(), 2, "{:?}", sb.backup_files());
}

#[test]
fn ctrl_c_during_the_offered_backup_refuses_and_leaves_no_copy() {
    let sb = Sandbox::new();
    // More data than backstop buffers (8 MiB), into an rclone remote that takes 1 MiB/s:
    // the backup is still running, its progress bar showing, when Ctrl-C comes.
    let data: Vec<u8> = (0..(24u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(sb.dir.join("big.bin"), data).expect("write");
    let remote = sb.beside("remote");
    let rclone_config = sb.beside("rclone").join("rclone.conf");
    std::fs::write(&rclone_config, "").expect("rclone.conf");
    let dest = format!("rclone:slow:{}", remote.display());
    sb.configure_destinations(Some(&dest));
    let env = [
        ("RCLONE_CONFIG_SLOW_TYPE", "local"),
        ("RCLONE_BWLIMIT", "1M"),
        ("RCLONE_CONFIG", rclone_config.to_str().expect("utf-8")),
    ];
    if harness::on_path("rclone").is_none() {
        assert!(
            std::env::var_os("BACKSTOP_REQUIRE_SHELLS").is_none(),
            "rclone is required; scripts/test.sh installs it"
        );
        eprintln!("SKIPPED: no rclone");
        return;
    }
    let Some(mut sh) = start_env(&sb, &env) else {
        return;
    };
    sh.line(&rm_line(&sb));
    sh.expect("type BACKUP to back up precious (24.0 MiB)");
    sh.expect(": ");
    sh.line("BACKUP");
    sh.expect("backing up");
    sh.send("\x03");
    sh.expect("the backup was not made");
    let out = sh.sync();
    assert!(out.contains("the line did not run"), "{out}");
    assert!(sb.intact(), "{out}");
    assert!(sb.backup_files().is_empty(), "{:?}", sb.backup_files());
    let left: Vec<_> = std::fs::read_dir(&remote)
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "{left:?}");
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

/// A line a backup let through without asking (git held the file) is undone too:
/// `git restore --source` brings the file back from the pushed commit.
#[test]
fn undo_brings_back_a_file_git_held() {
    let sb = Sandbox::new();
    let Some(mut sh) = start(&sb) else { return };
    let big = sb.pushed_repo();
    let before = std::fs::read(&big).expect("read");
    sh.line(&format!("rm {}", big.display()));
    let out = sh.sync();
    assert!(out.contains("can be restored from git commit"), "{out}");
    assert!(!big.exists(), "the line ran:\n{out}");
    let bin = harness::backstop_bin();
    sh.line(&format!("{} undo --list", bin.display()));
    let out = sh.sync();
    assert!(
        out.contains("(let through: a backup covered it)")
            && out.contains(&format!("{} from git commit", big.display()))
            && out.contains("the place is free"),
        "{out}"
    );
    sh.line(&format!("{} undo", bin.display()));
    let out = sh.sync();
    assert!(
        out.contains(&format!("restored {} from git commit", big.display())),
        "{out}"
    );
    assert_eq!(std::fs::read(&big).expect("restored"), before);
    // The file is back: undoing the same line again finds it there and changes nothing.
    let n: String = out
        .split("undoing #")
        .nth(1)
        .expect("undo names the line")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    sh.line(&format!(
        "{} undo {n} --force; echo status=$?",
        bin.display()
    ));
    let out = sh.sync();
    assert!(
        out.contains("is there again") && out.contains("status=3"),
        "{out}"
    );
    assert_eq!(std::fs::read(&big).expect("still there"), before);
}

/// A project whose script and Makefile delete the protected directory, beside twins
/// that only write a file: real bash and real make, typed at the prompt.
fn project(sb: &Sandbox) -> PathBuf {
    let root = sb
        .dir
        .parent()
        .expect("the sandbox's outside directory")
        .to_path_buf();
    let write = |name: &str, text: &str| {
        std::fs::write(root.join(name), text).expect("write a project file");
    };
    write("cleanup.sh", "#!/bin/sh\necho cleaning\nrm -rf precious\n");
    write("tidy.sh", "#!/bin/sh\necho tidied > tidy.out\n");
    write(
        "Makefile",
        "clean:\n\trm -rf precious\n\ntidy:\n\techo made > make.out\n",
    );
    for script in ["cleanup.sh", "tidy.sh"] {
        let status = Command::new("/bin/chmod")
            .args(["+x", root.join(script).to_str().expect("utf-8")])
            .status()
            .expect("chmod");
        assert!(status.success());
    }
    root
}

#[test]
fn scripts_and_makefiles_that_delete_are_refused_and_their_twins_run() {
    let sb = Sandbox::new();
    if harness::shell("make").is_none() {
        return;
    }
    let Some(mut sh) = start(&sb) else { return };
    let root = project(&sb);
    sh.line(&format!("cd {}", root.display()));
    sh.sync();
    for line in [
        "./cleanup.sh",
        "bash cleanup.sh",
        "make clean",
        "cat cleanup.sh | sh",
    ] {
        sh.line(line);
        let out = sh.sync();
        assert!(out.contains("backstop: refused"), "{line}:\n{out}");
        assert!(
            out.contains("cleanup.sh line 3") || out.contains("Makefile line 2"),
            "{line}: the file and line are named:\n{out}"
        );
        assert!(sb.intact(), "{line} ran");
    }
    sh.line("./tidy.sh && make tidy");
    let out = sh.sync();
    assert!(!out.contains("backstop"), "{out}");
    assert_eq!(
        std::fs::read_to_string(root.join("tidy.out"))
            .ok()
            .as_deref(),
        Some("tidied\n"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("make.out"))
            .ok()
            .as_deref(),
        Some("made\n"),
        "{out}"
    );
    assert!(sb.intact());
}
