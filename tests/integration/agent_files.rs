//! The agents' own file tools (Claude's Write and Edit, Codex's apply_patch, Gemini's
//! write_file, Cursor's Write, Copilot's edit) fed through `backstop agent-hook` in
//! each agent's recorded shape: what keeps backstop working is refused, every other
//! edit meets no objection.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

const AGENTS: [&str; 5] = ["claude", "codex", "gemini", "cursor", "copilot"];

fn sample(agent: &str) -> Value {
    let text = match agent {
        "claude" => include_str!("agent_samples/claude_edit.json"),
        "codex" => include_str!("agent_samples/codex_edit.json"),
        "gemini" => include_str!("agent_samples/gemini_edit.json"),
        "cursor" => include_str!("agent_samples/cursor_edit.json"),
        "copilot" => include_str!("agent_samples/copilot_edit.json"),
        other => panic!("no sample for {other}"),
    };
    serde_json::from_str(text).expect("sample is JSON")
}

/// The agent's file tool writing `path` (as the agent names it), from `cwd`.
fn edit(agent: &str, path: &str, cwd: &Path) -> Vec<u8> {
    let mut v = sample(agent);
    match agent {
        "codex" => {
            v["tool_input"]["command"] = json!(format!(
                "*** Begin Patch\n*** Update File: {path}\n@@\n-a\n+b\n*** End Patch\n"
            ))
        }
        "copilot" => {
            v["toolArgs"] = json!(json!({"path": path, "old_str": "a", "new_str": "b"}).to_string())
        }
        _ => v["tool_input"]["file_path"] = json!(path),
    }
    let cwd = cwd.display().to_string();
    if agent == "cursor" {
        v["workspace_roots"] = json!([cwd]);
    } else {
        v["cwd"] = json!(cwd);
    }
    serde_json::to_vec(&v).expect("json")
}

/// A person's machine in miniature: a home with a project in it, and backstop's
/// directories where `directories` puts them for that home (no BACKSTOP_HOME).
struct Machine {
    root: tempfile::TempDir,
    backstop_home: Option<PathBuf>,
}

impl Machine {
    fn new() -> Machine {
        let root = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(root.path().join("home/proj/src")).expect("mkdir");
        Machine {
            root,
            backstop_home: None,
        }
    }

    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn project(&self) -> PathBuf {
        self.home().join("proj")
    }

    fn hook(&self, agent: &str, stdin: &[u8]) -> (i32, Value) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_backstop"));
        cmd.args(["agent-hook", agent])
            .env("HOME", self.home())
            .env_remove("BACKSTOP_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CODEX_HOME")
            .env_remove("COPILOT_HOME")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(h) = &self.backstop_home {
            cmd.env("BACKSTOP_HOME", h);
        }
        let mut child = cmd.spawn().expect("spawn backstop");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write");
        let out = child.wait_with_output().expect("wait");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), v)
    }

    /// The reason `agent` was given for refusing to write `path`, or `None` for `{}`.
    fn refused(&self, agent: &str, path: &str) -> Option<String> {
        let (code, v) = self.hook(agent, &edit(agent, path, &self.project()));
        assert_eq!(code, 0, "{agent}: {v}");
        if v == json!({}) {
            return None;
        }
        let reason = match agent {
            "claude" | "codex" => {
                assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny", "{v}");
                v["hookSpecificOutput"]["permissionDecisionReason"].clone()
            }
            "gemini" => {
                assert_eq!(v["decision"], "deny", "{v}");
                v["reason"].clone()
            }
            "cursor" => {
                assert_eq!(v["permission"], "deny", "{v}");
                v["agent_message"].clone()
            }
            _ => {
                assert_eq!(v["permissionDecision"], "deny", "{v}");
                v["permissionDecisionReason"].clone()
            }
        };
        Some(reason.as_str().expect("a reason").to_string())
    }

    /// Every agent refuses `path`, saying it is `what`.
    fn all_refuse(&self, path: &str, what: &str) {
        for agent in AGENTS {
            let reason = self
                .refused(agent, path)
                .unwrap_or_else(|| panic!("{agent} let {path} be written"));
            assert!(
                reason.starts_with("backstop refused this edit: ") && reason.contains(what),
                "{agent} {path}: {reason}"
            );
        }
    }

    fn all_allow(&self, path: &str) {
        for agent in AGENTS {
            assert_eq!(self.refused(agent, path), None, "{agent} {path}");
        }
    }
}

#[test]
fn backstops_own_files_are_refused_to_every_agents_file_tool() {
    let m = Machine::new();
    let home = m.home().display().to_string();
    m.all_refuse(
        &format!("{home}/.config/backstop/policies/x.toml"),
        "backstop's configuration",
    );
    m.all_refuse(
        &format!("{home}/.local/share/backstop/manifests/m.json"),
        "backstop's data",
    );
    m.all_refuse(".backstop/x.toml", "a repository's backstop policies");
    m.all_refuse(
        &format!("{home}/.claude/settings.json"),
        "Claude Code's hook settings",
    );
    m.all_refuse(".gemini/settings.json", "Gemini CLI's hook settings");
    m.all_refuse(".codex/hooks.json", "Codex's hook settings");
    m.all_refuse(".cursor/hooks.json", "Cursor's hook settings");
    m.all_refuse(".github/hooks/off.json", "Copilot hook settings");
    m.all_refuse(
        "/etc/backstop/policies.d/x.toml",
        "backstop's system policies",
    );
    // `..` and a case the filesystem may fold.
    m.all_refuse(
        "src/../../.CONFIG/backstop/policies/x.toml",
        "backstop's configuration",
    );
    m.all_refuse(
        "src/../.backstop/x.toml",
        "a repository's backstop policies",
    );
    // backstop's own executable.
    m.all_refuse(
        &std::fs::canonicalize(env!("CARGO_BIN_EXE_backstop"))
            .expect("bin")
            .display()
            .to_string(),
        "backstop's executable",
    );

    // Every other edit meets no objection, and is not logged.
    m.all_allow("src/main.rs");
    m.all_allow(".claude/agents/reviewer.md");
    m.all_allow(&format!("{home}/.config/nvim/init.lua"));
    m.all_allow(".github/workflows/ci.yml");

    // Each refusal is in the audit log, as the agent's, with the file.
    let log = std::fs::read_to_string(m.home().join(".local/share/backstop/audit.jsonl"))
        .expect("audit log");
    let records: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    assert_eq!(records.len(), 12 * AGENTS.len(), "{log}");
    assert!(records
        .iter()
        .all(|r| r["event"] == "deny" && r["rules"] == json!(["backstop.agent-file-edit"])));
    assert_eq!(records[0]["source"], "claude");
    assert_eq!(
        records[0]["line"],
        format!("Edit {home}/.config/backstop/policies/x.toml")
    );
    assert_eq!(records[1]["source"], "codex");
    assert_eq!(
        records[1]["session"],
        "019a1b2c-3d4e-7f60-8a9b-0c1d2e3f4a5b"
    );
}

#[test]
fn a_custom_backstop_home_is_protected_where_it_is() {
    let mut m = Machine::new();
    let custom = m.root.path().join("srv/state-of-backstop");
    std::fs::create_dir_all(custom.join("policies")).expect("mkdir");
    m.backstop_home = Some(custom.clone());
    let c = custom.display().to_string();
    // Nothing in these names says backstop: only where BACKSTOP_HOME points does.
    m.all_refuse(
        &format!("{c}/policies/off.toml"),
        "backstop's configuration",
    );
    m.all_refuse(&format!("{c}/data/audit.jsonl"), "backstop's configuration");
    m.all_refuse(&format!("{c}/system/x.toml"), "backstop's configuration");
    m.all_refuse(&format!("{c}/new-file"), "backstop's configuration");
    // Through a symbolic link to one of its directories, and through `..`.
    std::os::unix::fs::symlink(custom.join("policies"), m.project().join("pol")).expect("symlink");
    m.all_refuse("pol/off.toml", "backstop's configuration");
    m.all_refuse("pol/../data/audit.jsonl", "backstop's configuration");
    m.all_refuse(
        "src/../../../srv/state-of-backstop/x",
        "backstop's configuration",
    );
    // A link named like nothing, pointing at the agents' settings directory.
    std::fs::create_dir_all(m.home().join(".claude")).expect("mkdir");
    std::os::unix::fs::symlink(m.home().join(".claude"), m.project().join("cfg")).expect("symlink");
    m.all_refuse("cfg/settings.json", "Claude Code's hook settings");
    // With BACKSTOP_HOME set, the default places are ordinary files.
    m.all_allow(&format!(
        "{}/.config/backstop/policies/x.toml",
        m.home().display()
    ));
    m.all_allow(&format!(
        "{}/policiesx/a.toml",
        m.root.path().join("srv").display()
    ));
}

#[test]
fn a_profile_that_loads_backstop_is_refused_and_others_are_not() {
    let m = Machine::new();
    let rc = m.home().join(".bashrc");
    std::fs::write(
        &rc,
        "alias ll='ls -l'\n# >>> backstop >>>\n# Added by `backstop install bash`; `backstop uninstall bash` removes this block.\neval \"$('/usr/bin/backstop' init bash)\"\n# <<< backstop <<<\n",
    )
    .expect("write");
    m.all_refuse(
        &rc.display().to_string(),
        "a shell profile holding the block that loads backstop",
    );
    // Through a link, as dotfiles are often kept.
    std::os::unix::fs::symlink(&rc, m.project().join("bashrc-link")).expect("symlink");
    m.all_refuse("bashrc-link", "a shell profile holding the block");
    std::fs::write(m.home().join(".zshrc"), "alias ll='ls -l'\n").expect("write");
    m.all_allow(&m.home().join(".zshrc").display().to_string());
}

#[test]
fn a_file_tool_without_a_file_is_refused() {
    let m = Machine::new();
    let bad = [
        (
            "claude",
            json!({"tool_name": "Write", "tool_input": {"content": "x"}}),
        ),
        (
            "codex",
            json!({"tool_name": "apply_patch", "tool_input": {"command": "no patch"}}),
        ),
        ("gemini", json!({"tool_name": "replace", "tool_input": {}})),
        (
            "cursor",
            json!({"hook_event_name": "preToolUse", "tool_name": "Write", "tool_input": {}}),
        ),
        (
            "copilot",
            json!({"toolName": "create", "toolArgs": "{\"file_text\": \"x\"}"}),
        ),
    ];
    for (agent, input) in bad {
        let (code, v) = m.hook(agent, &serde_json::to_vec(&input).expect("json"));
        assert_eq!(code, 0);
        let text = v.to_string();
        assert!(
            text.contains("deny") && text.contains("could not check it"),
            "{agent}: {text}"
        );
    }
    let (_, v) = m.hook("claude", b"{\"tool_name\": \"Edit\", \"tool_input\": {");
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny", "{v}");
}

/// The self-protection rules know backstop's usual places by name; a custom
/// BACKSTOP_HOME is protected from shell commands by where it is, too.
#[test]
fn a_custom_backstop_home_is_protected_from_shell_commands() {
    let t = crate::Test::new();
    let home = t.home().display().to_string();
    let ids = |line: &str| -> Vec<String> {
        let r = std::process::Command::new(env!("CARGO_BIN_EXE_backstop"))
            .args(["check", "--json", "--cwd", "/", "--", line])
            .env("BACKSTOP_HOME", &home)
            .env("HOME", "/home/tester")
            .output()
            .expect("run");
        let v: Value = serde_json::from_slice(&r.stdout).expect("json");
        v["rules"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|f| f["id"].as_str())
                    .filter(|id| id.starts_with("backstop."))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let cases = [
        (
            "rm $BACKSTOP_HOME/policies/x.toml",
            "backstop.change-protected-files",
        ),
        (
            &format!("rm -f {home}/data/audit.jsonl") as &str,
            "backstop.change-protected-files",
        ),
        (
            &format!("cd {home} && rm -f policies/a.toml"),
            "backstop.change-protected-files",
        ),
        (
            &format!("echo '[[override]]' > {home}/policies/off.toml"),
            "backstop.write-protected-files",
        ),
        (
            &format!("cp /dev/null {home}/policies/a.toml"),
            "backstop.overwrite-protected-files",
        ),
        (
            "sed -i s/deny/allow/ ${BACKSTOP_HOME}/policies/a.toml",
            "backstop.edit-protected-files",
        ),
    ];
    for (line, id) in cases {
        assert_eq!(ids(line), vec![id.to_string()], "{line}");
    }
    for line in [
        format!("cat {home}/policies/a.toml"),
        format!("cp {home}/policies/a.toml /var/tmp/copy.toml"),
        format!("ls {home}x"),
    ] {
        assert_eq!(ids(&line), Vec::<String>::new(), "{line}");
    }
}
