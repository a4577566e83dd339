//! `backstop doctor` against real shells started with the sandbox's own start-up
//! files: a block that loads is found active, one that a profile returns before is
//! found broken with its fix, and so are a moved binary, a broken policy, an edited
//! audit log and a destination that is gone.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{self, Sandbox};

/// The sandbox's environment, with nu on PATH (it is not installed system-wide).
fn env(sb: &Sandbox) -> Vec<(String, std::ffi::OsString)> {
    let mut env: Vec<(String, std::ffi::OsString)> = sb
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    if let Some(nu) = crate::nu::nu() {
        let dir = sb.home.path().join("nu-bin");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let link = dir.join("nu");
        if !link.exists() {
            std::os::unix::fs::symlink(nu, &link).expect("link nu");
        }
        for (k, v) in &mut env {
            if k == "PATH" {
                let mut paths = vec![dir.clone()];
                paths.extend(std::env::split_paths(v));
                *v = std::env::join_paths(paths).expect("PATH");
            }
        }
    }
    env
}

/// `bin ARGS` in the sandbox; must succeed.
fn run(sb: &Sandbox, bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env(sb))
        .current_dir(sb.home.path())
        .output()
        .expect("run backstop");
    assert!(
        out.status.success(),
        "backstop {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `backstop doctor --json`: its exit code and findings.
fn doctor(sb: &Sandbox) -> (i32, Value) {
    let out = Command::new(harness::backstop_bin())
        .args(["doctor", "--json"])
        .env_clear()
        .envs(env(sb))
        .current_dir(sb.home.path())
        .output()
        .expect("run doctor");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn find<'a>(v: &'a Value, area: &str, name: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["area"] == area && c["name"] == name))
        .unwrap_or_else(|| panic!("no {area} check named {name}: {v:#}"))
}

fn status<'a>(v: &'a Value, area: &str, name: &str) -> &'a str {
    find(v, area, name)["status"].as_str().unwrap_or_default()
}

/// Profiles as a person's would be before `backstop install` adds to them.
fn profiles(sb: &Sandbox, bashrc: &str, zshrc: &str) -> PathBuf {
    let home = sb.home.path();
    std::fs::write(home.join(".bashrc"), bashrc).expect(".bashrc");
    std::fs::write(home.join(".zshrc"), zshrc).expect(".zshrc");
    let config = home.join(".config");
    std::fs::create_dir_all(config.join("fish")).expect("fish dir");
    std::fs::create_dir_all(config.join("nushell")).expect("nu dir");
    std::fs::write(
        config.join("nushell/config.nu"),
        "$env.config.show_banner = false\n",
    )
    .expect("config.nu");
    std::fs::write(config.join("nushell/env.nu"), "").expect("env.nu");
    config
}

#[test]
fn doctor_finds_each_installed_shell_and_agent_active() {
    let sb = Sandbox::new();
    if ["bash", "zsh", "fish"]
        .iter()
        .any(|s| harness::shell(s).is_none())
        || crate::nu::nu().is_none()
    {
        return;
    }
    profiles(&sb, "PS1='$ '\n", "PS1='%% '\n");
    let bin = harness::backstop_bin();
    for shell in ["bash", "zsh", "fish", "nu", "powershell", "claude"] {
        run(&sb, &bin, &["install", shell]);
    }
    sb.configure_destinations(None);
    sb.back_up();
    let (code, v) = doctor(&sb);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["ok"], true);
    for shell in ["bash", "zsh", "fish", "nu"] {
        assert_eq!(
            status(&v, "shell", shell),
            "ok",
            "{:#}",
            find(&v, "shell", shell)
        );
    }
    if harness::on_path("pwsh").is_none() {
        let ps = find(&v, "shell", "powershell");
        assert_eq!(ps["status"], "skip");
        assert!(
            ps["summary"]
                .as_str()
                .is_some_and(|s| s.contains("not checked, PowerShell is not installed")),
            "{ps:#}"
        );
    }
    assert_eq!(status(&v, "agent", "claude"), "ok", "{v:#}");
    let codex = find(&v, "agent", "codex");
    assert_eq!(codex["status"], "skip");
    assert_eq!(codex["fix"], "backstop install codex");
    for (area, name) in [
        ("policies", "policies"),
        ("policies", "settings"),
        ("data", "data"),
        ("audit", "chain"),
        ("destination", "redundancy"),
    ] {
        assert_eq!(status(&v, area, name), "ok", "{:#}", find(&v, area, name));
    }
    // The backup just made waits for its restore test; once tested, for a cleanup.
    let waiting = find(&v, "backups", "restore test");
    assert_eq!(waiting["status"], "warn");
    let fix = waiting["fix"].as_str().expect("a fix");
    let id = fix
        .strip_prefix("backstop restore-test ")
        .expect("names the command");
    run(&sb, &bin, &["restore-test", id]);
    let (code, v) = doctor(&sb);
    assert_eq!(code, 0, "{v:#}");
    let cleanup = find(&v, "backups", "cleanup");
    assert!(
        cleanup["summary"].as_str().is_some_and(|s| s.contains(id)),
        "{cleanup:#}"
    );
}

#[test]
fn doctor_names_what_is_broken_and_its_fix() {
    let sb = Sandbox::new();
    if ["bash", "zsh"].iter().any(|s| harness::shell(s).is_none()) {
        return;
    }
    // Profiles that return before backstop's block, as an early `return` does.
    profiles(&sb, "PS1='$ '\nreturn 0\n", "PS1='%% '\nreturn 0\n");
    let bin = harness::backstop_bin();
    run(&sb, &bin, &["install", "bash"]);
    run(&sb, &bin, &["install", "zsh"]);
    // An agent's entry that names a binary since deleted.
    let copy = sb.doomed_copy();
    run(&sb, &copy, &["install", "codex"]);
    std::fs::remove_file(&copy).expect("remove the copy");
    // A policy file that does not load, a destination that is gone.
    let bs = sb.backstop_home.path();
    std::fs::create_dir_all(bs.join("policies")).expect("policies dir");
    std::fs::write(
        bs.join("policies/broken.toml"),
        "[[rule]]\nid = \"mine.x\"\ndescription = \"x\"\nprograms = [\"x\"]\nargs_regex = \"(\"\n",
    )
    .expect("write policy");
    sb.configure_destinations(Some("/nonexistent/backstop-doctor-test"));
    let (code, v) = doctor(&sb);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["ok"], false);
    for shell in ["bash", "zsh"] {
        let c = find(&v, "shell", shell);
        assert_eq!(c["status"], "fail", "{c:#}");
        assert!(
            c["fix"]
                .as_str()
                .is_some_and(|f| f.contains("returns or fails first")),
            "{c:#}"
        );
    }
    let codex = find(&v, "agent", "codex");
    assert_eq!(codex["status"], "fail", "{codex:#}");
    // Run in the home directory, the project's settings are the user's: one check.
    assert!(
        v["checks"]
            .as_array()
            .is_some_and(|c| !c.iter().any(|c| c["name"] == "codex (project)")),
        "{v:#}"
    );
    assert!(
        codex["fix"]
            .as_str()
            .is_some_and(|f| f.starts_with("backstop install codex")),
        "{codex:#}"
    );
    let policies = find(&v, "policies", "policies");
    assert_eq!(policies["status"], "fail", "{policies:#}");
    assert!(
        policies["summary"]
            .as_str()
            .is_some_and(|s| s.contains("broken.toml")),
        "{policies:#}"
    );
    let gone = find(&v, "destination", "/nonexistent/backstop-doctor-test");
    assert_eq!(gone["status"], "fail", "{gone:#}");

    // The person reads the same in words, each problem with its fix.
    let out = Command::new(harness::backstop_bin())
        .arg("doctor")
        .env_clear()
        .envs(env(&sb))
        .current_dir(sb.home.path())
        .output()
        .expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!text.contains('\x1b'), "no colour in a pipe: {text:?}");
    assert!(
        text.contains("FAIL  bash") && text.contains("fix: "),
        "{text}"
    );
    assert!(
        text.contains("problems found") && text.contains("; each names its fix."),
        "{text}"
    );
}

#[test]
fn doctor_finds_an_edited_audit_log_and_an_install_nowhere() {
    let sb = Sandbox::new();
    let bin = harness::backstop_bin();
    let line = format!("rm -rf {}", sb.dir.display());
    for _ in 0..2 {
        let out = Command::new(&bin)
            .args(["hook", "--", &line])
            .env_clear()
            .envs(env(&sb))
            .output()
            .expect("hook");
        assert_eq!(out.status.code(), Some(2));
    }
    let (code, v) = doctor(&sb);
    assert_eq!(code, 1, "installed nowhere is broken: {v:#}");
    assert_eq!(status(&v, "install", "backstop"), "fail");
    assert_eq!(status(&v, "audit", "chain"), "ok");
    let log = sb.backstop_home.path().join("data/audit.jsonl");
    let text = std::fs::read_to_string(&log).expect("audit log");
    std::fs::write(&log, text.replacen("\"deny\"", "\"allowed\"", 1)).expect("edit");
    let (_, v) = doctor(&sb);
    let chain = find(&v, "audit", "chain");
    assert_eq!(chain["status"], "fail", "{chain:#}");
    assert!(
        chain["fix"]
            .as_str()
            .is_some_and(|f| f.contains("backstop audit verify")),
        "{chain:#}"
    );
}
