//! `backstop agent-hook AGENT` fed each agent's documented hook input (the recorded
//! samples in agent_samples/), and `backstop install|uninstall AGENT` on settings
//! files that already hold other hooks and settings.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

const AGENTS: [&str; 5] = ["claude", "codex", "gemini", "cursor", "copilot"];

fn sample(agent: &str) -> Value {
    let text = match agent {
        "claude" => include_str!("agent_samples/claude.json"),
        "codex" => include_str!("agent_samples/codex.json"),
        "gemini" => include_str!("agent_samples/gemini.json"),
        "cursor" => include_str!("agent_samples/cursor.json"),
        "copilot" => include_str!("agent_samples/copilot.json"),
        other => panic!("no sample for {other}"),
    };
    serde_json::from_str(text).expect("sample is JSON")
}

/// The sample with this command (and working directory) in the agent's own fields.
fn input(agent: &str, command: &str, cwd: &Path) -> Vec<u8> {
    let mut v = sample(agent);
    match agent {
        "cursor" => v["command"] = json!(command),
        "copilot" => {
            v["toolArgs"] = json!(json!({"command": command, "description": "d"}).to_string())
        }
        _ => v["tool_input"]["command"] = json!(command),
    }
    v["cwd"] = json!(cwd.display().to_string());
    serde_json::to_vec(&v).expect("json")
}

fn session(agent: &str) -> String {
    let v = sample(agent);
    ["session_id", "conversation_id", "sessionId"]
        .iter()
        .find_map(|k| v[*k].as_str())
        .expect("the sample names its session")
        .to_string()
}

#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// The answer: exactly one JSON object on one line, nothing else on stdout.
    fn answer(&self) -> Value {
        assert!(
            self.stdout.ends_with('\n') && self.stdout.trim_end().lines().count() == 1,
            "one line of JSON expected: {:?}",
            self.stdout
        );
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

fn run(home: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Ran {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backstop"));
    cmd.args(args)
        .env("BACKSTOP_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn backstop");
    let mut pipe = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    // backstop stops reading oversized input: a failed write is expected then.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn hook(home: &Path, agent: &str, stdin: &[u8]) -> Ran {
    run(home, &["agent-hook", agent], stdin, &[])
}

/// A directory worth keeping, outside /tmp and target/ (which the rules except).
fn victim() -> tempfile::TempDir {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let d = tempfile::tempdir_in(home).expect("tmp");
    std::fs::write(d.path().join("sentinel"), b"keep me").expect("write");
    d
}

/// Each agent's words for a refusal with this reason.
fn denial(agent: &str, reason: &str) -> Value {
    match agent {
        "claude" | "codex" => json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }}),
        "gemini" => json!({"decision": "deny", "reason": reason}),
        "cursor" => json!({
            "permission": "deny",
            "user_message": reason.split_inclusive(". ").next().expect("a sentence").trim_end(),
            "agent_message": reason,
        }),
        "copilot" => json!({"permissionDecision": "deny", "permissionDecisionReason": reason}),
        other => panic!("{other}"),
    }
}

fn has_dialog(agent: &str) -> bool {
    matches!(agent, "claude" | "cursor")
}

#[test]
fn a_benign_command_meets_no_objection_in_every_agent() {
    let home = tempfile::tempdir().expect("tmp");
    for agent in AGENTS {
        let r = hook(home.path(), agent, &input(agent, "ls -la", Path::new("/")));
        assert_eq!((r.code, r.stdout.as_str()), (0, "{}\n"), "{agent}: {r:?}");
        // The recorded sample itself (npm test) as well.
        let raw = serde_json::to_vec(&sample(agent)).expect("json");
        let r = hook(home.path(), agent, &raw);
        assert_eq!((r.code, r.stdout.as_str()), (0, "{}\n"), "{agent}: {r:?}");
    }
    // Nothing was refused, so nothing was logged.
    assert!(!home.path().join("data/audit.jsonl").exists());
}

#[test]
fn an_uncovered_destructive_command_is_denied_with_the_backup_command() {
    let home = tempfile::tempdir().expect("tmp");
    let dir = victim();
    let d = dir.path().display().to_string();
    let line = format!("rm -rf {d}");
    for agent in AGENTS {
        let r = hook(home.path(), agent, &input(agent, &line, Path::new("/")));
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        let tail = if has_dialog(agent) {
            format!("You may run that backup yourself; then run your command again, and {agent} will ask a person to approve it.")
        } else {
            format!("You may run that backup yourself, but approving is for a person and {agent} cannot ask one: once the target is covered, a person must run the command in a terminal where backstop's shell hook asks them.")
        };
        let reason = format!(
            "backstop refused this command. `{line}` matches fs.rm-recursive (rm -r deletes a whole directory tree) on path {d} (backup missing); it needs a verified, redundant backup and a person's approval. To go ahead: backstop backup {d} --to DIR1 --to DIR2 (two directories on different disks, or restic:REPO / rclone:REMOTE:PATH; `backstop setup` configures them once). {tail}"
        );
        assert_eq!(r.answer(), denial(agent, &reason), "{agent}");
    }
    assert!(dir.path().join("sentinel").exists());

    // Each refusal is in the shells' audit log, with the agent and its session.
    let log = run(home.path(), &["audit", "--json"], b"", &[]);
    let records: Vec<Value> = log
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    let seen: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap_or_default().to_string(),
                r["session"].as_str().unwrap_or_default().to_string(),
                r["event"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = AGENTS
        .iter()
        .map(|a| (a.to_string(), session(a), "deny".to_string()))
        .collect();
    assert_eq!(seen, want);
    assert!(records.iter().all(|r| r["line"] == line.as_str()));
    assert_eq!(run(home.path(), &["audit", "verify"], b"", &[]).code, 0);
}

#[test]
fn a_covered_command_goes_to_the_agents_dialog_or_is_refused_without_one() {
    let home = tempfile::tempdir().expect("tmp");
    crate::count_tmpfs(home.path());
    let dir = victim();
    let d = dir.path().display().to_string();
    let (a, b) = (
        tempfile::tempdir_in(dir.path().parent().expect("parent")).expect("tmp"),
        tempfile::tempdir_in("/dev/shm").expect("shm"),
    );
    let made = run(
        home.path(),
        &[
            "backup",
            &d,
            "--to",
            &a.path().display().to_string(),
            "--to",
            &b.path().display().to_string(),
        ],
        b"",
        &[],
    );
    assert_eq!(made.code, 0, "{made:?}");
    let line = format!("rm -rf {d}");
    let why = format!(
        "`{line}` matches fs.rm-recursive (rm -r deletes a whole directory tree) on path {d} (backup covered); it needs a verified, redundant backup and a person's approval."
    );
    for agent in AGENTS {
        let r = hook(home.path(), agent, &input(agent, &line, Path::new("/")));
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        let got = r.answer();
        if !has_dialog(agent) {
            let reason = format!(
                "backstop refused this command. {why} That approval is for a person, and {agent} cannot ask one: a person must run the command in a terminal where backstop's shell hook asks them."
            );
            assert_eq!(got, denial(agent, &reason), "{agent}");
            continue;
        }
        let reason = match agent {
            "claude" => {
                assert_eq!(
                    got["hookSpecificOutput"]["permissionDecision"], "ask",
                    "{got}"
                );
                assert_eq!(
                    got["hookSpecificOutput"].as_object().map(|o| o.len()),
                    Some(3)
                );
                got["hookSpecificOutput"]["permissionDecisionReason"].clone()
            }
            _ => {
                assert_eq!(got["permission"], "ask", "{got}");
                assert_eq!(got["user_message"], got["agent_message"]);
                assert_eq!(got.as_object().map(|o| o.len()), Some(3));
                got["user_message"].clone()
            }
        };
        let reason = reason.as_str().expect("reason").to_string();
        // The person sees the evidence: which backup, where its copies are.
        assert!(
            reason.starts_with(&format!("backstop: {why} Backup bk-")),
            "{reason}"
        );
        assert!(reason.contains(&format!("covers {d}: made ")), "{reason}");
        assert!(
            reason.contains("in separate failure domains, restore test: not-run"),
            "{reason}"
        );
        assert!(reason.contains(&a.path().display().to_string()), "{reason}");
        assert!(
            reason.ends_with(
                "Approve only if you mean it; the backup stays until `backstop cleanup`."
            ),
            "{reason}"
        );
    }
    let log = run(home.path(), &["audit", "--json"], b"", &[]);
    let events: Vec<String> = log
        .stdout
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).expect("record");
            format!(
                "{} {}",
                r["source"].as_str().unwrap_or("?"),
                r["event"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            "claude ask",
            "codex deny",
            "gemini deny",
            "cursor ask",
            "copilot deny"
        ]
    );
    assert!(dir.path().join("sentinel").exists());

    // A decision that cannot finish in time is a deny: verifying this backup takes
    // longer than the (shortened) bound.
    let r = run(
        home.path(),
        &["agent-hook", "claude"],
        &input("claude", &line, Path::new("/")),
        &[("BACKSTOP_DECIDE_WITHIN_MS", "0")],
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        r.answer(),
        denial("claude", "backstop refused this command because it could not check it: deciding took longer than 0 ms (verifying a backup, perhaps). backstop refuses whatever it cannot check for an agent; the error is in its audit log (`backstop audit`).")
    );
    assert_eq!(run(home.path(), &["audit", "verify"], b"", &[]).code, 0);
}

#[test]
fn unreadable_input_is_denied_and_logged() {
    let home = tempfile::tempdir().expect("tmp");
    for agent in AGENTS {
        let r = hook(home.path(), agent, b"{\"tool_name\": \"Bash\", ");
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        let reason = format!("backstop refused this command because it could not check it: its hook input is not JSON (EOF while parsing a value at line 1 column 22); check that this agent's hook runs `backstop agent-hook {agent}`. backstop refuses whatever it cannot check for an agent; the error is in its audit log (`backstop audit`).");
        assert_eq!(r.answer(), denial(agent, &reason), "{agent}");
    }
    // The right shape with the command missing is refused too.
    let r = hook(
        home.path(),
        "claude",
        br#"{"tool_name": "Bash", "tool_input": {}}"#,
    );
    assert_eq!(
        r.answer()["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
    let log = std::fs::read_to_string(home.path().join("data/audit.jsonl")).expect("log");
    assert_eq!(log.lines().count(), AGENTS.len() + 1);
    assert!(
        log.lines().all(|l| l.contains("\"detail\":\"error: ")),
        "{log}"
    );

    // An agent name backstop does not know: exit 2, which most agents take as a block.
    let r = hook(home.path(), "claud", b"{}");
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{r:?}");
    assert!(
        r.stderr.contains("not an agent backstop speaks to"),
        "{r:?}"
    );
}

#[test]
fn empty_and_other_tools_meet_no_objection() {
    let home = tempfile::tempdir().expect("tmp");
    for agent in AGENTS {
        let r = hook(home.path(), agent, &input(agent, "  ", Path::new("/")));
        assert_eq!((r.code, r.stdout.as_str()), (0, "{}\n"), "{agent}: {r:?}");
    }
    let read =
        br#"{"session_id": "s", "tool_name": "Read", "tool_input": {"file_path": "/etc/passwd"}}"#;
    assert_eq!(hook(home.path(), "claude", read).stdout, "{}\n");
    let edit = br#"{"toolName": "edit", "toolArgs": "{\"path\": \"a\"}"}"#;
    assert_eq!(hook(home.path(), "copilot", edit).stdout, "{}\n");
}

#[test]
fn a_one_megabyte_command_is_decided_and_larger_input_refused() {
    let home = tempfile::tempdir().expect("tmp");
    let big = "a".repeat(1 << 20);
    let benign = format!("echo {big}");
    let r = hook(
        home.path(),
        "claude",
        &input("claude", &benign, Path::new("/")),
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "{}\n"), "{}", r.stderr);

    let dir = victim();
    let destructive = format!("rm -rf {} {big}", dir.path().display());
    for agent in AGENTS {
        let r = hook(
            home.path(),
            agent,
            &input(agent, &destructive, Path::new("/")),
        );
        assert_eq!(r.code, 0, "{agent}: {}", r.stderr);
        let got = r.answer();
        let text = got.to_string();
        assert!(text.contains("deny"), "{agent}: {}", &text[..200]);
        assert!(text.contains("fs.rm-recursive"), "{agent}");
        // The reason quotes the command in part: it stays readable.
        assert!(text.len() < 20_000, "{agent}: {} bytes", text.len());
    }
    // The audit log keeps the whole line.
    let log = std::fs::read_to_string(home.path().join("data/audit.jsonl")).expect("log");
    assert!(log.lines().all(|l| l.len() > 1 << 20));

    let huge = format!("echo {}", "a".repeat(5 << 20));
    let r = hook(
        home.path(),
        "gemini",
        &input("gemini", &huge, Path::new("/")),
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        r.answer(),
        json!({"decision": "deny", "reason": "backstop refused this command because it could not check it: its hook input is larger than 4 MiB, more than any command backstop checks. backstop refuses whatever it cannot check for an agent; the error is in its audit log (`backstop audit`)."})
    );
}

#[test]
fn attempts_to_weaken_backstop_are_refused_outright_even_with_a_dialog() {
    let home = tempfile::tempdir().expect("tmp");
    let lines = [
        ("backstop uninstall claude", "backstop.uninstall"),
        (
            "sed -i '/agent-hook/d' ~/.claude/settings.json",
            "backstop.edit-protected-files",
        ),
        (
            "echo '{}' > .cursor/hooks.json",
            "backstop.write-protected-files",
        ),
        (
            "rm -f ~/.local/share/backstop/audit.jsonl",
            "backstop.change-protected-files",
        ),
        ("trap - DEBUG", "backstop.bash-debug-trap"),
    ];
    for (line, rule) in lines {
        for agent in ["claude", "cursor"] {
            let r = hook(home.path(), agent, &input(agent, line, Path::new("/")));
            let got = r.answer().to_string();
            assert!(got.contains("\"deny\""), "{agent} {line}: {got}");
            assert!(
                got.contains(&format!("it would weaken backstop itself: {rule} (")),
                "{agent} {line}: {got}"
            );
        }
    }
    // At a shell's prompt the same line asks the person (exit 1 from check).
    let r = run(
        home.path(),
        &["check", "--", "backstop uninstall bash"],
        b"",
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
}

// ---------------------------------------------------------------- install / uninstall

struct Setup {
    home: tempfile::TempDir,
    backstop: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            home: tempfile::tempdir().expect("tmp"),
            backstop: tempfile::tempdir().expect("tmp"),
        }
    }

    fn run(&self, args: &[&str], cwd: Option<&Path>) -> Ran {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_backstop"));
        cmd.args(args)
            .env("BACKSTOP_HOME", self.backstop.path())
            .env("HOME", self.home.path())
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CODEX_HOME")
            .env_remove("COPILOT_HOME")
            .stdin(Stdio::null());
        if let Some(c) = cwd {
            cmd.current_dir(c);
        }
        let out = cmd.output().expect("run");
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn file(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.home.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }
}

const CLAUDE_SETTINGS: &str = r#"{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(npm test:*)"],
    "deny": ["Read(./.env)"]
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Edit|Write",
        "hooks": [
          { "type": "command", "command": "$CLAUDE_PROJECT_DIR/.claude/hooks/check-style.sh" }
        ]
      }
    ],
    "PostToolUse": [
      {
        "matcher": "Write",
        "hooks": [{ "type": "command", "command": "prettier --write" }]
      }
    ]
  },
  "env": { "DISABLE_TELEMETRY": "1" }
}
"#;

const CODEX_HOOKS: &str = r#"{
  "hooks": {
    "SessionStart": [
      {
        "matcher": "startup|resume",
        "hooks": [{ "type": "command", "command": "~/.codex/hooks/context.sh", "statusMessage": "Loading context" }]
      }
    ]
  }
}
"#;

const GEMINI_SETTINGS: &str = r#"{
    // Set by hand; Gemini CLI reads comments in settings.json.
    "theme": "GitHub",
    "hooksConfig": { "enabled": true },
    "hooks": {
        "BeforeTool": [
            {
                "matcher": "write_file|replace",
                "hooks": [
                    { "name": "secret-scan", "type": "command", "command": "~/.gemini/hooks/scan.sh", "timeout": 5000 }
                ]
            }
        ]
    }
}"#;

const CURSOR_HOOKS: &str =
    r#"{"version": 1, "hooks": {"afterFileEdit": [{"command": "./hooks/format.sh"}]}}"#;

/// The value at the hook array after install: backstop's entry is last and the ones
/// that were there before are unchanged.
fn entries(text: &str, path: &[&str]) -> Vec<Value> {
    let clean: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut v: Value = serde_json::from_str(&clean).unwrap_or_else(|e| panic!("{e}: {text}"));
    for k in path {
        v = v[*k].take();
    }
    v.as_array().cloned().unwrap_or_default()
}

#[test]
fn install_and_uninstall_keep_every_other_byte() {
    let s = Setup::new();
    let cases = [
        (
            "claude",
            ".claude/settings.json",
            CLAUDE_SETTINGS,
            &["hooks", "PreToolUse"][..],
            1,
        ),
        (
            "codex",
            ".codex/hooks.json",
            CODEX_HOOKS,
            &["hooks", "PreToolUse"][..],
            0,
        ),
        (
            "gemini",
            ".gemini/settings.json",
            GEMINI_SETTINGS,
            &["hooks", "BeforeTool"][..],
            1,
        ),
        (
            "cursor",
            ".cursor/hooks.json",
            CURSOR_HOOKS,
            &["hooks", "beforeShellExecution"][..],
            0,
        ),
    ];
    let bin = std::fs::canonicalize(env!("CARGO_BIN_EXE_backstop")).expect("bin");
    let command = format!("'{}' agent-hook", bin.display());
    for (agent, rel, original, path, before) in cases {
        let file = s.file(rel, original);
        let r = s.run(&["install", agent], None);
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        let installed = std::fs::read_to_string(&file).expect("read");
        assert_ne!(installed, original, "{agent}");
        let list = entries(&installed, path);
        assert_eq!(list.len(), before + 1, "{agent}: {installed}");
        assert!(
            entries(original, path)
                .iter()
                .zip(&list)
                .all(|(a, b)| a == b),
            "{agent}"
        );
        let ours = list.last().expect("entry").to_string();
        assert!(
            ours.contains(&format!("{command} {agent}")),
            "{agent}: {ours}"
        );
        // The same entry registers the agent's own file tools.
        let tools = match agent {
            "claude" => "Bash|Write|Edit|MultiEdit|NotebookEdit",
            "codex" => "Bash|apply_patch",
            "gemini" => "run_shell_command|write_file|replace",
            _ => "",
        };
        if agent == "cursor" {
            let file_hook = entries(&installed, &["hooks", "preToolUse"]);
            assert_eq!(file_hook.len(), 1, "{installed}");
            assert_eq!(
                file_hook[0]["matcher"],
                "Write|Edit|StrReplace|MultiEdit|Delete"
            );
            assert_eq!(file_hook[0]["failClosed"], true);
            assert!(file_hook[0]["command"]
                .as_str()
                .is_some_and(|c| c.ends_with("agent-hook cursor")));
        } else {
            assert_eq!(list.last().expect("entry")["matcher"], tools, "{agent}");
        }
        // The replaced file is kept.
        let bak = file.with_file_name(format!(
            "{}.backstop-bak",
            file.file_name().expect("name").to_string_lossy()
        ));
        assert_eq!(
            std::fs::read_to_string(&bak).expect("backup"),
            original,
            "{agent}"
        );

        let again = s.run(&["install", agent], None);
        assert_eq!(again.code, 0, "{agent}: {again:?}");
        assert!(again.stdout.contains("already"), "{agent}: {again:?}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            installed,
            "{agent}"
        );

        let r = s.run(&["uninstall", agent], None);
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            original,
            "{agent}"
        );
        let r = s.run(&["uninstall", agent], None);
        assert!(r.stdout.contains("not"), "{agent}: {r:?}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            original,
            "{agent}"
        );
    }
    // The other agents' files are where they were, untouched.
    assert_eq!(
        std::fs::read_to_string(s.home.path().join(".claude/settings.json")).expect("read"),
        CLAUDE_SETTINGS
    );
}

#[test]
fn a_settings_file_install_creates_is_removed_again() {
    let s = Setup::new();
    // Copilot reads every hooks/*.json: backstop's is a file of its own.
    let other = s.file(
        ".copilot/hooks/audit.json",
        "{\"version\": 1, \"hooks\": {}}\n",
    );
    let r = s.run(&["install", "copilot"], None);
    assert_eq!(r.code, 0, "{r:?}");
    let ours = s.home.path().join(".copilot/hooks/backstop.json");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&ours).expect("read")).expect("json");
    assert_eq!(v["version"], 1);
    assert_eq!(v["hooks"]["preToolUse"][0]["type"], "command");
    assert!(v["hooks"]["preToolUse"][0]["bash"]
        .as_str()
        .is_some_and(|c| c.ends_with("agent-hook copilot")));
    assert_eq!(v["hooks"]["preToolUse"][0]["timeoutSec"], 60);
    let r = s.run(&["uninstall", "copilot"], None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!ours.exists());
    assert_eq!(
        std::fs::read_to_string(&other).expect("read"),
        "{\"version\": 1, \"hooks\": {}}\n"
    );

    // --project: the project's own settings, in the current directory.
    let project = tempfile::tempdir().expect("tmp");
    for (agent, rel) in [
        ("claude", ".claude/settings.json"),
        ("gemini", ".gemini/settings.json"),
        ("codex", ".codex/hooks.json"),
        ("cursor", ".cursor/hooks.json"),
        ("copilot", ".github/hooks/backstop.json"),
    ] {
        let r = s.run(&["install", agent, "--project"], Some(project.path()));
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        let file = project.path().join(rel);
        let text = std::fs::read_to_string(&file).expect("created");
        assert!(
            text.contains(&format!("agent-hook {agent}\"")),
            "{agent}: {text}"
        );
        let r = s.run(&["uninstall", agent, "--project"], Some(project.path()));
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        assert!(!file.exists(), "{agent}");
    }
    assert!(!s.home.path().join(".claude").exists());
}

#[test]
fn a_broken_settings_file_is_left_alone_with_a_clear_error() {
    let s = Setup::new();
    let broken = "{\n  \"hooks\": {\"PreToolUse\": [}\n}\n";
    let file = s.file(".claude/settings.json", broken);
    let r = s.run(&["install", "claude"], None);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("is not valid JSON (line 2, column 28"),
        "{r:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), broken);
    let wrong = s.file(".codex/hooks.json", "{\"hooks\": []}");
    let r = s.run(&["install", "codex"], None);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("`hooks` in"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(&wrong).expect("read"),
        "{\"hooks\": []}"
    );
}

#[test]
fn an_older_install_is_brought_up_to_date_in_place_and_still_uninstalls() {
    let s = Setup::new();
    let bin = std::fs::canonicalize(env!("CARGO_BIN_EXE_backstop")).expect("bin");
    let cmd = format!("'{}' agent-hook", bin.display());
    // What an install before the file tools were registered left.
    let older = |agent: &str| {
        match agent {
        "claude" => format!(
            "{{\n  \"model\": \"opus\",\n  \"hooks\": {{\n    \"PreToolUse\": [\n      {{\n        \"matcher\": \"Bash\",\n        \"hooks\": [\n          {{\n            \"type\": \"command\",\n            \"command\": \"{} claude\",\n            \"timeout\": 60,\n            \"onFailure\": \"block\"\n          }}\n        ]\n      }}\n    ]\n  }}\n}}\n",
            cmd.replace('"', "\\\"")
        ),
        _ => format!(
            "{{\n  \"version\": 1,\n  \"hooks\": {{\n    \"afterFileEdit\": [\n      {{\n        \"command\": \"./format.sh\"\n      }}\n    ],\n    \"beforeShellExecution\": [\n      {{\n        \"command\": \"{} cursor\",\n        \"timeout\": 60,\n        \"failClosed\": true\n      }}\n    ]\n  }}\n}}\n",
            cmd.replace('"', "\\\"")
        ),
    }
    };
    for (agent, rel) in [
        ("claude", ".claude/settings.json"),
        ("cursor", ".cursor/hooks.json"),
    ] {
        let file = s.file(rel, &older(agent));
        let r = s.run(&["install", agent], None);
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        let text = std::fs::read_to_string(&file).expect("read");
        let v: Value = serde_json::from_str(&text).expect("json");
        if agent == "claude" {
            let list = v["hooks"]["PreToolUse"].as_array().expect("array");
            assert_eq!(list.len(), 1, "updated in place, not added again: {text}");
            assert_eq!(list[0]["matcher"], "Bash|Write|Edit|MultiEdit|NotebookEdit");
        } else {
            assert_eq!(
                v["hooks"]["beforeShellExecution"].as_array().map(Vec::len),
                Some(1)
            );
            assert_eq!(v["hooks"]["preToolUse"].as_array().map(Vec::len), Some(1));
            assert_eq!(v["hooks"]["afterFileEdit"][0]["command"], "./format.sh");
        }
        let again = s.run(&["install", agent], None);
        assert!(again.stdout.contains("already"), "{agent}: {again:?}");
        let r = s.run(&["uninstall", agent], None);
        assert_eq!(r.code, 0, "{agent}: {r:?}");
        let left: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        assert!(!left.to_string().contains("agent-hook"), "{agent}: {left}");
        if agent == "cursor" {
            assert_eq!(left["hooks"]["afterFileEdit"][0]["command"], "./format.sh");
        } else {
            assert_eq!(left["model"], "opus");
        }
    }
}
