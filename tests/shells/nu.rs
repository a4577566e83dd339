//! nushell with backstop loaded the way a person's would be (`backstop install nu`
//! into config.nu), typed into in a pseudo-terminal; and `nu_plugin_backstop`
//! registered in a real nu.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{self, Pty, Sandbox};

const BIN: &str = env!("CARGO_BIN_EXE_backstop");

/// nu from BACKSTOP_NU (scripts/test.sh installs it there) or PATH. When it is missing
/// the test is skipped with a message, unless BACKSTOP_REQUIRE_SHELLS=1 makes it fail.
pub(crate) fn nu() -> Option<PathBuf> {
    let given = std::env::var_os("BACKSTOP_NU")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    if let Some(nu) = given {
        assert!(nu.is_file(), "BACKSTOP_NU={} is not a file", nu.display());
        return Some(nu);
    }
    if harness::on_path("nu").is_none() {
        eprintln!("SKIPPED nu shell tests: neither BACKSTOP_NU nor PATH has nu (scripts/test.sh installs it)");
    }
    harness::shell("nu")
}

/// The prompt the sessions use, to wait for before typing after a hook ran.
const PROMPT: &str = "nu-ready> ";

/// Waits for the next prompt. nushell's line editor drops what was typed while the
/// Enter key's command (the hook) ran, so after a line that ran the hook a test types
/// only once the prompt is back; the marker command still says the line is done.
fn ready(sh: &mut Pty) {
    sh.expect(PROMPT);
}

/// The harness's marker is `echo SY''NC<n>`, which nu prints with its quotes.
fn sync(sh: &mut Pty, n: &mut u32) -> String {
    *n += 1;
    sh.line(&format!("print (\"SY\" + \"NC{n}\")"));
    let text = sh.expect(&format!("SYNC{n}"));
    ready(sh);
    text[..text.len() - format!("SYNC{n}").len()].to_string()
}

/// An interactive nu whose config.nu `backstop install` (run by `bin`) added itself
/// to, with its own plugin registry, ready for input.
fn start_with(sb: &Sandbox, bin: &Path) -> Option<(Pty, u32)> {
    let nu = nu()?;
    let dir = sb.home.path().join(".config/nushell");
    std::fs::create_dir_all(&dir).expect("config dir");
    let config = dir.join("config.nu");
    std::fs::write(
        &config,
        format!(
            "$env.config.show_banner = false\n$env.PROMPT_COMMAND = {{|| '{PROMPT}' }}\n\
             $env.PROMPT_COMMAND_RIGHT = {{|| '' }}\n$env.PROMPT_INDICATOR = {{|| '' }}\n"
        ),
    )
    .expect("config.nu");
    std::fs::write(dir.join("env.nu"), "").expect("env.nu");
    sb.install(bin, "nu", &config);
    let mut cmd = Command::new(&nu);
    cmd.arg("--config")
        .arg(&config)
        .arg("--env-config")
        .arg(dir.join("env.nu"))
        .arg("--plugin-config")
        .arg(dir.join("plugins.msgpackz"))
        .envs(sb.env())
        .env("XDG_CONFIG_HOME", sb.home.path().join(".config"))
        .env("XDG_DATA_HOME", sb.home.path().join(".local/share"))
        .current_dir(sb.home.path());
    let mut sh = Pty::spawn_clean(cmd);
    let mut n = 0;
    sync(&mut sh, &mut n);
    Some((sh, n))
}

fn rm_line(sb: &Sandbox) -> String {
    format!("rm -rf {}", sb.dir.display())
}

/// Types `text`; it must be refused and leave the directory alone.
fn refused(sh: &mut Pty, n: &mut u32, sb: &Sandbox, text: &str) {
    sh.line(text);
    sh.expect("backstop: refused");
    ready(sh);
    sync(sh, n);
    assert!(sb.intact(), "{text:?} ran");
}

#[test]
fn nu_script_loads_silently() {
    let sb = Sandbox::new();
    let Some(nu) = nu() else { return };
    let script = sb.home.path().join("backstop.nu");
    std::fs::write(&script, sb.init("nu")).expect("write the script");
    let run = Command::new(nu)
        .args(["--no-config-file", "--no-history", "-c"])
        .arg(format!(
            "source r#'{}'#; print -n ($env.config.keybindings | where name =~ backstop | length)",
            script.display()
        ))
        .env_clear()
        .envs(sb.env())
        .output()
        .expect("nu runs");
    assert!(run.status.success(), "{run:?}");
    // Nothing but what the probe printed: its two keybindings, and no output of its own.
    assert_eq!(
        (
            String::from_utf8_lossy(&run.stdout).as_ref(),
            String::from_utf8_lossy(&run.stderr).as_ref()
        ),
        ("2", "")
    );
}

#[test]
fn nu_runs_a_benign_line_and_backstop_says_nothing() {
    let sb = Sandbox::new();
    let Some((mut sh, mut n)) = start_with(&sb, Path::new(BIN)) else {
        return;
    };
    sh.line("print (\"hel\" + \"lo\"); [wor ld] | str join");
    let out = sh.expect("world");
    ready(&mut sh);
    assert!(out.contains("hello"), "{out}");
    assert!(!out.contains("backstop"), "{out}");
    sync(&mut sh, &mut n);
}

#[test]
fn nu_refuses_rm_without_a_backup() {
    let sb = Sandbox::new();
    let Some((mut sh, mut n)) = start_with(&sb, Path::new(BIN)) else {
        return;
    };
    sh.line(&rm_line(&sb));
    let out = sh.expect("to go ahead: backstop backup");
    ready(&mut sh);
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(out.contains("backup missing"), "{out}");
    sync(&mut sh, &mut n);
    assert!(sb.intact());
}

/// `^rm` runs the external rm. Not caught today: backstop's nushell reader is the
/// placeholder splitter, which keeps the `^` as part of the program's name.
#[test]
fn nu_refuses_the_external_rm() {
    let sb = Sandbox::new();
    let Some((mut sh, mut n)) = start_with(&sb, Path::new(BIN)) else {
        return;
    };
    refused(&mut sh, &mut n, &sb, &format!("^{}", rm_line(&sb)));
    refused(&mut sh, &mut n, &sb, &format!("print x; ^{}", rm_line(&sb)));
}

#[test]
fn nu_asks_once_backed_up_and_only_the_phrase_runs_the_line() {
    let sb = Sandbox::new();
    let Some((mut sh, mut n)) = start_with(&sb, Path::new(BIN)) else {
        return;
    };
    sb.back_up();

    sh.line(&rm_line(&sb));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("proceed");
    sh.expect("not approved");
    ready(&mut sh);
    sync(&mut sh, &mut n);
    assert!(sb.intact(), "a wrong phrase refuses");

    sh.line(&rm_line(&sb));
    sh.expect("type PROCEED");
    sh.expect(": ");
    sh.line("PROCEED");
    let out = sh.expect("exited with status 0");
    // nu runs pre_prompt between the Enter key's command and the line: the report
    // must wait for the line itself.
    assert!(!sb.dir.exists(), "reported before the line ran:\n{out}");
    ready(&mut sh);
    sync(&mut sh, &mut n);
}

#[test]
fn nu_refuses_rm_hidden_anywhere_in_a_line() {
    let sb = Sandbox::new();
    let Some((mut sh, mut n)) = start_with(&sb, Path::new(BIN)) else {
        return;
    };
    let rm = rm_line(&sb);
    for text in [
        format!("print x; {rm}"),
        format!("ls | {rm}"),
        format!("({rm})"),
        format!("print ({rm})"),
        format!("do {{ {rm} }}"),
        format!("if true {{ {rm} }}"),
    ] {
        refused(&mut sh, &mut n, &sb, &text);
    }
    // An unclosed block gets a newline, and the whole is checked once it is complete.
    sh.line("if true {");
    ready(&mut sh);
    refused(&mut sh, &mut n, &sb, &format!("{rm} }}"));
    // A paste arrives bracketed: both lines are in the buffer when Enter comes.
    sh.paste(&format!("print pasted\r{rm}"));
    refused(&mut sh, &mut n, &sb, "");
}

#[test]
fn nu_runs_lines_with_one_warning_when_the_binary_is_gone() {
    let sb = Sandbox::new();
    let bin = sb.doomed_copy();
    let Some((mut sh, mut n)) = start_with(&sb, &bin) else {
        return;
    };
    std::fs::remove_file(&bin).expect("remove the binary");
    sh.line("print (\"st\" + \"ill-runs\")");
    let out = sh.expect("still-runs");
    assert_eq!(
        out.matches("backstop:").count(),
        1,
        "one warning line:\n{out}"
    );
    assert!(out.contains("running the line unchecked"), "{out}");
    ready(&mut sh);
    sync(&mut sh, &mut n);
}

/// The plugin binary, built beside the backstop binary this test was built with
/// (`cargo test --test shells` builds only this package's targets).
fn plugin() -> PathBuf {
    let dir = Path::new(BIN).parent().expect("the binary's directory");
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--bin", "nu_plugin_backstop", "--manifest-path"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/shell-integrations/nu-plugin/Cargo.toml"
        ));
    if dir.ends_with("release") {
        build.arg("--release");
    }
    let out = build.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "building nu_plugin_backstop failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plugin = dir.join("nu_plugin_backstop");
    assert!(plugin.is_file(), "{} was not built", plugin.display());
    plugin
}

/// `nu -c SCRIPT` with the plugin in use, from the registry in the sandbox's HOME;
/// its output as JSON.
fn nu_json(nu: &Path, sb: &Sandbox, script: &str) -> Value {
    let registry = sb.home.path().join("plugins.msgpackz");
    let out = Command::new(nu)
        .args(["--no-config-file", "--no-history", "--plugin-config"])
        .arg(&registry)
        .arg("-c")
        .arg(format!(
            "plugin use --plugin-config r#'{}'# backstop; {script} | to json --raw",
            registry.display()
        ))
        .env_clear()
        .envs(sb.env())
        .current_dir(sb.home.path())
        .output()
        .expect("nu runs");
    assert!(
        out.status.success(),
        "nu -c {script:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "nu -c {script:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn nu_plugin_returns_the_decision_as_a_record() {
    let sb = Sandbox::new();
    let Some(nu) = nu() else { return };
    let plugin = plugin();
    let registry = sb.home.path().join("plugins.msgpackz");
    let add = Command::new(&nu)
        .args(["--no-config-file", "--no-history", "-c"])
        .arg(format!(
            "plugin add --plugin-config r#'{}'# r#'{}'#",
            registry.display(),
            plugin.display()
        ))
        .env_clear()
        .envs(sb.env())
        .output()
        .expect("nu runs");
    assert!(add.status.success(), "plugin add: {add:?}");

    let benign = nu_json(&nu, &sb, "backstop check 'ls -la'");
    assert_eq!(benign["decision"], "allow", "{benign}");
    assert_eq!(benign["rules"], Value::Array(vec![]), "{benign}");
    assert_eq!(benign["remedy"], Value::Null, "{benign}");

    let path = sb.dir.display().to_string();
    let rm = nu_json(&nu, &sb, &format!("'rm -rf {path}' | backstop check"));
    assert_eq!(rm["decision"], "deny", "{rm}");
    assert_eq!(rm["shell"], "nu", "{rm}");
    assert_eq!(rm["rules"][0]["id"], "fs.rm-recursive", "{rm}");
    assert_eq!(rm["targets"][0]["kind"], "path", "{rm}");
    assert_eq!(rm["targets"][0]["value"], path.as_str(), "{rm}");
    assert_eq!(rm["targets"][0]["backup"]["status"], "missing", "{rm}");
    assert!(
        rm["remedy"]
            .as_str()
            .is_some_and(|r| r.starts_with(&format!("backstop backup {path} "))),
        "{rm}"
    );
    assert!(
        rm["reason"]
            .as_str()
            .is_some_and(|r| r.contains("fs.rm-recursive")),
        "{rm}"
    );

    // Another dialect, and a relative target read against nu's current directory.
    let parent = sb.dir.parent().expect("parent").display().to_string();
    let bash = nu_json(
        &nu,
        &sb,
        &format!("cd r#'{parent}'#; backstop check --shell bash 'sudo rm -rf precious'"),
    );
    assert_eq!(bash["shell"], "bash", "{bash}");
    assert_eq!(bash["targets"][0]["value"], path.as_str(), "{bash}");

    // Backed up, the same line asks.
    sb.back_up();
    let ask = nu_json(&nu, &sb, &format!("backstop check 'rm -rf {path}'"));
    assert_eq!(ask["decision"], "ask", "{ask}");
    assert_eq!(ask["targets"][0]["backup"]["status"], "covered", "{ask}");
    // nu's own environment, not the plugin process's, says which backstop home is
    // asked: one with no backup recorded denies again.
    let empty = tempfile::tempdir().expect("tempdir");
    let elsewhere = nu_json(
        &nu,
        &sb,
        &format!(
            "$env.BACKSTOP_HOME = r#'{}'#; backstop check 'rm -rf {path}'",
            empty.path().display()
        ),
    );
    assert_eq!(elsewhere["decision"], "deny", "{elsewhere}");

    // No line is an error, not a decision.
    let none = Command::new(&nu)
        .args(["--no-config-file", "--no-history", "--plugin-config"])
        .arg(&registry)
        .arg("-c")
        .arg(format!(
            "plugin use --plugin-config r#'{}'# backstop; backstop check",
            registry.display()
        ))
        .env_clear()
        .envs(sb.env())
        .output()
        .expect("nu runs");
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("no line to check"),
        "{none:?}"
    );
    assert!(sb.intact());
}
