//! The prefilter as each shell runs it: bash, zsh and fish must rule out exactly the
//! lines `backstop_rules::ProgramWords::may_match` rules out (the reference the rules
//! crate holds to the engine), and load the words again when a policy changes.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use backstop_rules::{Engine, ProgramWords};

use crate::harness::{self, Sandbox};

/// Reads NUL-separated lines from the file `$1` and prints `0` (ruled out) or `1`
/// (checked) for each, with the integration's functions loaded as scripts load them
/// but without its DEBUG trap, which would decide the driver's own commands.
fn driver(shell: &str) -> &'static str {
    match shell {
        "bash" => {
            r#"BACKSTOP_NONINTERACTIVE=1; eval "$(backstop init bash | grep -v '^ *trap .* DEBUG$')"
while IFS= read -r -d '' l; do if __backstop_benign "$l"; then printf 0; else printf 1; fi; done <"$1""#
        }
        "zsh" => {
            r#"BACKSTOP_NONINTERACTIVE=1; eval "$(backstop init zsh | grep -v '^ *trap .* DEBUG$')"
while IFS= read -r -d '' l; do if __backstop_benign "$l"; then printf 0; else printf 1; fi; done <"$1""#
        }
        _ => {
            r#"backstop init fish | source
while read -lz l; if __backstop_benign $l; printf 0; else; printf 1; end; end <$argv[1]"#
        }
    }
}

/// `lines`, NUL-separated, in a file that lives as long as the value.
fn lines_file(lines: &[String]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("lines file");
    for l in lines {
        file.write_all(l.as_bytes()).expect("write");
        file.write_all(b"\0").expect("write");
    }
    file
}

/// The PATH the shells run with: the backstop under test first.
fn test_path() -> std::ffi::OsString {
    let bin_dir = harness::backstop_bin()
        .parent()
        .expect("bin dir")
        .to_path_buf();
    std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH")
}

/// The reference's words, with the scripts on the shells' PATH that `backstop init`
/// adds to them.
fn reference_words() -> ProgramWords {
    let mut words = Engine::builtin().program_words();
    let (scripts, _) = backstop::cmd::words::scripts_on_path(&test_path());
    words.add_scripts(scripts.iter().map(String::as_str));
    words
}

/// Runs `script` in the shell `name` without its rc files, with the lines file as
/// its argument and the backstop under test first on PATH.
fn run_script(
    sb: &Sandbox,
    shell: &Path,
    name: &str,
    script: &str,
    file: &Path,
    cwd: &Path,
) -> Output {
    let path = test_path();
    let file = file.to_str().expect("utf-8");
    let mut cmd = Command::new(shell);
    match name {
        "fish" => cmd.args(["--no-config", "-c", script, file]),
        "zsh" => cmd.args(["-f", "-c", script, name, file]),
        _ => cmd.args(["-c", script, name, file]),
    };
    cmd.env_clear()
        .envs(sb.env())
        .env("PATH", path)
        .current_dir(cwd)
        .output()
        .expect("run the shell")
}

fn verdicts(sb: &Sandbox, shell: &Path, name: &str, lines: &[String], cwd: &Path) -> String {
    let file = lines_file(lines);
    let out = run_script(sb, shell, name, driver(name), file.path(), cwd);
    assert!(
        out.status.success(),
        "{name} driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("ascii verdicts")
}

/// Every built-in example, and variations that move quotes, case and paths around,
/// plus lines written to trip a shell's string handling.
fn lines() -> Vec<String> {
    let engine = Engine::builtin();
    let mut out: Vec<String> = [
        "ls -la",
        "r''m -rf d",
        "\"RM\" -rf d",
        "x=1;rm -rf d",
        "C:/x/rm.EXE d",
        "cat x.EXE",
        "echo a > b",
        "ls -d . >/dev/null 2>&1",
        "cat x >\"/dev/\"nvme0n1",
        "echo >/dev/sdb",
        "echo '/dev/sda' > notes",
        "echo $HOME",
        "a/ b",
        "@ *",
        "ls {a}",
        "r\\m x",
        "a $'x'",
        "echo [rm]",
        "echo *rm*",
        "tab\trm\tx",
        "multi\nline rm",
        "(rm)",
        "`rm`",
        "a|rm",
        "a&&dd",
        "!rm",
        "zsh =rm",
        "{rm,x}",
        "ünïcödé ls",
        "Ünïcödé rm",
        "echo DROP",
        "",
        "   ",
        // Files run by their path or sourced, at the start of a command or not.
        "./cleanup.sh",
        "ls ./x",
        "~/bin/nuke data",
        "cat ~/notes.txt",
        "x=1 y=2 ./x",
        "a=1 ls ./x",
        "ls; ./x",
        "ls|../x",
        "ls&&bin/x",
        "(./x)",
        "{ ./x; }",
        "`./x`",
        "echo $(./x)",
        "! ./x",
        "and ./x",
        "if true; then ./x; fi",
        "> out ./x",
        ">out ./x",
        "2> err ls ./x",
        "2>/dev/null ./x",
        "> ./out ls",
        ". ./env.sh",
        ". env.sh",
        "ls .",
        "cd ..",
        "cat x.txt",
        "ls\n./x",
        "tab\t./x",
        "ls\tx ./y",
        "make clean",
        "just",
        "npm run reset",
        "vim notes.txt",
        "source env.sh",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for policy in engine.all_policies().expect("built-in packs") {
        for rule in &policy.rules {
            let ex = &rule.spec.examples;
            for e in ex.matching.iter().chain(&ex.no_match) {
                let line = e.line();
                out.push(line.to_string());
                out.push(line.to_uppercase());
                if let Some((first, rest)) = line.split_once(' ') {
                    out.push(rest.to_string());
                    out.push(format!("ls {rest}"));
                    if first.len() > 1 && first.is_ascii() {
                        let (a, b) = first.split_at(1);
                        out.push(format!("{a}'{b}' {rest}"));
                        out.push(format!("/opt/{first}.exe {rest}"));
                    }
                }
            }
        }
    }
    // A NUL cannot be in a shell's line, and it separates the lines here.
    out.retain(|l| !l.contains('\0'));
    out
}

fn expected(words: &ProgramWords, lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| if words.may_match(l) { '1' } else { '0' })
        .collect()
}

fn agrees_with_the_reference(name: &str) {
    let Some(shell) = harness::shell(name) else {
        return;
    };
    let sb = Sandbox::new();
    let lines = lines();
    let words = reference_words();
    let want = expected(&words, &lines);
    let got = verdicts(&sb, &shell, name, &lines, sb.home.path());
    assert_eq!(got.len(), lines.len(), "{name} printed a verdict per line");
    let wrong: Vec<String> = lines
        .iter()
        .zip(got.chars().zip(want.chars()))
        .filter(|(_, (g, w))| g != w)
        .map(|(l, (g, w))| format!("{l:?}: {name} says {g}, the reference {w}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} lines differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(want.contains('0') && want.contains('1'));
}

#[test]
fn bash_rules_out_exactly_what_the_reference_does() {
    agrees_with_the_reference("bash");
}

#[test]
fn zsh_rules_out_exactly_what_the_reference_does() {
    agrees_with_the_reference("zsh");
}

#[test]
fn fish_rules_out_exactly_what_the_reference_does() {
    agrees_with_the_reference("fish");
}

/// A policy written after the shell loaded its words is in force for the next line,
/// and a repository's `.backstop/` sends every line to the hook.
fn follows_policy_changes(name: &str) {
    let Some(shell) = harness::shell(name) else {
        return;
    };
    let sb = Sandbox::new();
    let policies = sb.backstop_home.path().join("policies");
    let lines = vec!["frobnicate --all".to_string(), "ls".to_string()];
    // The driver loads the words, then a policy naming `frobnicate` appears before
    // the lines are read: the first lookup must notice and load them again.
    let script = format!(
        "{}; mkdir -p {p}; printf '%s\\n' '[[rule]]' 'id = \"me.frob\"' 'description = \"d\"' 'severity = \"high\"' 'programs = [\"frobnicate\"]' 'requires = \"deny\"' >{p}/mine.toml; {}",
        driver(name).lines().next().expect("first line"),
        driver(name).lines().nth(1).expect("second line"),
        p = policies.display()
    );
    let file = lines_file(&lines);
    let run = |cwd: &Path| {
        let out = run_script(&sb, &shell, name, &script, file.path(), cwd);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(run(sb.home.path()), "10", "{name} missed the new policy");
    // Under a directory with .backstop/, even `ls` goes to the hook.
    let repo = sb.home.path().join("repo/sub");
    std::fs::create_dir_all(&repo).expect("repo");
    std::fs::create_dir_all(sb.home.path().join("repo/.backstop")).expect(".backstop");
    assert_eq!(
        run(&repo),
        "11",
        "{name} ignored the repository's .backstop/"
    );
}

#[test]
fn bash_loads_the_words_again_when_a_policy_changes() {
    follows_policy_changes("bash");
}

#[test]
fn zsh_loads_the_words_again_when_a_policy_changes() {
    follows_policy_changes("zsh");
}

#[test]
fn fish_loads_the_words_again_when_a_policy_changes() {
    follows_policy_changes("fish");
}

/// A script in a directory put on PATH after the words were loaded is a word at the
/// next line: the shells compare PATH with the one the words were made for.
fn follows_scripts_on_path(name: &str) {
    let Some(shell) = harness::shell(name) else {
        return;
    };
    let sb = Sandbox::new();
    let bin = sb.home.path().join("mybin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let b = bin.display();
    let add_path = match name {
        "fish" => format!("set -gx PATH {b} $PATH"),
        _ => format!("PATH={b}:$PATH"),
    };
    // Loaded, then PATH changes, then a script appears in the new PATH directory.
    let script = format!(
        "{}; {add_path}; printf '#!/bin/sh\\nrm -rf data\\n' >{b}/nuke-it; chmod +x {b}/nuke-it; {}",
        driver(name).lines().next().expect("first line"),
        driver(name).lines().nth(1).expect("second line"),
    );
    let lines = vec!["nuke-it".to_string(), "ls".to_string()];
    let file = lines_file(&lines);
    let out = run_script(&sb, &shell, name, &script, file.path(), sb.home.path());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "10",
        "{name} missed the script on PATH: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bash_sees_scripts_on_path() {
    follows_scripts_on_path("bash");
}

#[test]
fn zsh_sees_scripts_on_path() {
    follows_scripts_on_path("zsh");
}

#[test]
fn fish_sees_scripts_on_path() {
    follows_scripts_on_path("fish");
}
