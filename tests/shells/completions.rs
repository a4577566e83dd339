//! `backstop completions SHELL`: each script is loaded by the real shell without a
//! word on stderr, and the shell then completes `backstop ch` to `backstop check`;
//! `backstop install SHELL` loads them from the profile block it writes.
//! PowerShell cannot run here: its script is parsed with the PowerShell grammar.

use std::path::Path;
use std::process::{Command, Output};

use crate::harness::{self, Pty, Sandbox};

fn completions(sb: &Sandbox, shell: &str) -> String {
    let out = sb.run(&harness::backstop_bin(), &["completions", shell]);
    String::from_utf8(out.stdout).expect("utf-8 completions")
}

/// Runs `program args` in the sandbox's environment; it must succeed and print
/// nothing on stderr. Its stdout.
fn quietly(sb: &Sandbox, program: &Path, args: &[&str], extra: &[(&str, &Path)]) -> String {
    let out: Output = Command::new(program)
        .args(args)
        .env_clear()
        .envs(sb.env())
        .envs(extra.iter().map(|(k, v)| (*k, *v)))
        .current_dir(sb.home.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{} {args:?}: {}\nstderr: {}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_loads_the_script_and_completes_a_subcommand() {
    let sb = Sandbox::new();
    let Some(bash) = harness::shell("bash") else {
        return;
    };
    let file = sb.home.path().join("backstop.bash");
    std::fs::write(&file, completions(&sb, "bash")).expect("write");
    // As bash-completion calls it: the words, the index of the one being completed.
    let probe = format!(
        "set -u; source {}; complete -p backstop; COMP_WORDS=(backstop ch); COMP_CWORD=1; \
         COMP_LINE='backstop ch'; COMP_POINT=11; _backstop backstop ch backstop; \
         printf 'reply:%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = quietly(&sb, &bash, &["--norc", "--noprofile", "-c", &probe], &[]);
    assert!(out.contains("-F _backstop"), "{out}");
    assert!(out.contains("reply:check\n"), "{out}");
}

#[test]
fn bash_installed_with_completions_completes_at_the_prompt() {
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
    let start = sh.sync();
    assert!(!start.contains("backstop"), "{start}");
    // Tab completes the only subcommand starting with `ch`; Ctrl-U drops the line.
    // The first Tab loads the script (lazily); the second uses it as loaded.
    sh.send("backstop ch\t");
    sh.expect("backstop check ");
    sh.send("\x15");
    sh.sync();
    sh.send("backstop policy li\t");
    sh.expect("backstop policy list ");
    sh.send("\x15");
    sh.sync();
}

#[test]
fn zsh_completes_a_subcommand_where_compinit_runs() {
    let sb = Sandbox::new();
    let Some(zsh) = harness::shell("zsh") else {
        return;
    };
    let start = |rc: &str| {
        let zshrc = sb.home.path().join(".zshrc");
        std::fs::write(&zshrc, rc).expect("write .zshrc");
        sb.install(&harness::backstop_bin(), "zsh", &zshrc);
        let mut cmd = Command::new(&zsh);
        cmd.arg("-i")
            .envs(sb.env())
            .env("ZDOTDIR", sb.home.path())
            .current_dir(sb.home.path());
        let mut sh = Pty::spawn_clean(cmd);
        let out = sh.sync();
        assert!(
            !out.contains("compdef") && !out.contains("not found"),
            "{out}"
        );
        sh
    };
    let mut sh = start("PS1='%% '\nautoload -Uz compinit && compinit -u\n");
    sh.send("backstop ch\t");
    sh.expect("backstop check ");
    sh.send("\x15");
    sh.sync();
    sh.send("backstop policy li\t");
    sh.expect("backstop policy list ");
    sh.send("\x15");
    sh.sync();
    drop(sh);
    // Without compinit zsh completes nothing anyway, and the block must not complain.
    let mut sh = start("PS1='%% '\n");
    sh.sync();
}

#[test]
fn fish_completes_a_subcommand_from_the_installed_profile() {
    let sb = Sandbox::new();
    let Some(fish) = harness::shell("fish") else {
        return;
    };
    let file = sb.home.path().join("backstop.fish");
    std::fs::write(&file, completions(&sb, "fish")).expect("write");
    let probe = format!(
        "source {}; complete -C 'backstop ch'; complete -C 'backstop policy list --pr'",
        file.display()
    );
    let out = quietly(&sb, &fish, &["--no-config", "-c", &probe], &[]);
    assert!(out.lines().any(|l| l.starts_with("check\t")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("--program\t")), "{out}");

    // config.fish is read by every fish, interactive or not.
    let config_home = sb.home.path().join(".config");
    let config = config_home.join("fish/config.fish");
    std::fs::create_dir_all(config.parent().expect("parent")).expect("mkdir");
    sb.install(&harness::backstop_bin(), "fish", &config);
    let out = quietly(
        &sb,
        &fish,
        &["-c", "complete -C 'backstop ch'"],
        &[("XDG_CONFIG_HOME", &config_home)],
    );
    assert!(out.lines().any(|l| l.starts_with("check\t")), "{out}");
}

#[test]
fn nu_completes_a_subcommand_from_the_installed_file() {
    let sb = Sandbox::new();
    let Some(nu) = crate::nu::nu() else { return };
    let config = sb.home.path().join(".config/nushell/config.nu");
    std::fs::create_dir_all(config.parent().expect("parent")).expect("mkdir");
    std::fs::write(&config, "$env.config.show_banner = false\n").expect("config.nu");
    sb.install(&harness::backstop_bin(), "nu", &config);
    let text = std::fs::read_to_string(&config).expect("read config.nu");
    let source = text
        .lines()
        .find(|l| l.contains("backstop-completions.nu"))
        .unwrap_or_else(|| panic!("install wrote no completions line:\n{text}"));
    // The installed config loads the completions with the integration, silently.
    let config_arg = config.to_str().expect("utf-8");
    let out = quietly(
        &sb,
        &nu,
        &[
            "--config",
            config_arg,
            "-c",
            "scope commands | where name == 'backstop check' | length",
        ],
        &[],
    );
    assert_eq!(out.trim(), "1", "{out}");
    // nu's own completion engine, asked at the end of `backstop ch`.
    let probe = sb.home.path().join("probe.nu");
    for (line, want) in [
        ("backstop ch", "backstop check"),
        ("backstop policy list --pr", "--program"),
    ] {
        let text = format!("{source}\n{line}");
        std::fs::write(&probe, &text).expect("write probe");
        let at = text.len().to_string();
        let out = quietly(
            &sb,
            &nu,
            &[
                "--no-config-file",
                "--ide-complete",
                &at,
                probe.to_str().expect("utf-8"),
            ],
            &[],
        );
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("nu answers JSON");
        assert_eq!(v["completions"], serde_json::json!([want]), "{out}");
    }
}

#[test]
fn powershell_completions_parse() {
    let sb = Sandbox::new();
    let script = completions(&sb, "powershell");
    assert!(
        script.contains("Register-ArgumentCompleter") && script.contains("'backstop;check'"),
        "{script}"
    );
    // `$x.Where{ … }` (a method called with a script block and no parentheses, which
    // PowerShell 4 and later take) is the one construct the grammar lacks: it is read
    // in its equivalent form `$x.Where({ … })`.
    let call = "$completions.Where{ $_.CompletionText -like \"$wordToComplete*\" }";
    assert_eq!(script.matches(call).count(), 1, "{script}");
    let equivalent = script.replace(
        call,
        "$completions.Where({ $_.CompletionText -like \"$wordToComplete*\" })",
    );
    assert_eq!(
        crate::powershell::problems(&equivalent),
        Vec::<String>::new()
    );
}
