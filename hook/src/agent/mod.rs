//! AI coding agents: each one's hook protocol (what its `PreToolUse`-like hook sends
//! on stdin and what it reads back), and where its hook settings live
//! ([`settings`]). The decision itself is `cmd/agent.rs`.
//!
//! Each agent's fields, exit codes and files are described, with sources, in
//! docs/agents.md.

pub mod jsonc;
pub mod settings;

use serde_json::{json, Value};

/// The agents backstop speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// Claude Code: `PreToolUse` on `Bash` and its file tools.
    Claude,
    /// OpenAI Codex CLI: `PreToolUse` on `Bash` and `apply_patch`; no `ask`, unknown
    /// output fields are errors.
    Codex,
    /// Gemini CLI: `BeforeTool` on `run_shell_command`, `write_file` and `replace`.
    Gemini,
    /// Cursor: `beforeShellExecution`, and `preToolUse` on its file tools.
    Cursor,
    /// GitHub Copilot CLI: `preToolUse` on every tool (`bash`, `powershell`, …).
    Copilot,
}

/// What backstop answers, before it is put in an agent's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// No objection: the agent's own permission rules decide, as if backstop were
    /// not there. Never the agent's "allow", which would skip its own prompts.
    NoObjection,
    /// The agent's own confirmation dialog asks the person (`reason` is shown there).
    Ask { reason: String },
    /// Refused; `reason` is written for the agent to act on.
    Deny { reason: String },
}

/// The shell command an agent is about to run, from its hook input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub command: String,
    /// `bash` or `powershell` (Copilot on Windows).
    pub shell: &'static str,
    pub cwd: Option<String>,
}

/// The files an agent's own file tool (Write, Edit, apply_patch …) is about to write,
/// edit, create, delete or move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    /// The tool, as the agent names it.
    pub tool: String,
    /// Each file as the tool's input names it (relative ones from `cwd`).
    pub paths: Vec<String>,
    pub cwd: Option<String>,
}

/// What the hook input holds: a shell command, a file edit, or a tool backstop does
/// not judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Shell(Request),
    Files(FileEdit),
    OtherTool(String),
}

impl Agent {
    pub const ALL: [Agent; 5] = [
        Agent::Claude,
        Agent::Codex,
        Agent::Gemini,
        Agent::Cursor,
        Agent::Copilot,
    ];

    pub fn from_name(name: &str) -> Option<Agent> {
        Some(match name.to_ascii_lowercase().as_str() {
            "claude" | "claude-code" => Agent::Claude,
            "codex" => Agent::Codex,
            "gemini" | "gemini-cli" => Agent::Gemini,
            "cursor" => Agent::Cursor,
            "copilot" | "copilot-cli" => Agent::Copilot,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
            Agent::Cursor => "cursor",
            Agent::Copilot => "copilot",
        }
    }

    /// Whether the agent has a confirmation dialog a hook can send a command to.
    /// Codex rejects `ask`; Gemini's BeforeTool has no such decision; Copilot's docs
    /// disagree on whether `ask` is processed, and an ignored `ask` would let the
    /// command run unchecked, so it is treated as having none.
    pub fn has_dialog(self) -> bool {
        matches!(self, Agent::Claude | Agent::Cursor)
    }

    /// The session the agent names in its input, for the audit log.
    pub fn session(self, input: &Value) -> String {
        let keys: &[&str] = match self {
            Agent::Cursor => &["conversation_id", "session_id"],
            Agent::Copilot => &["sessionId", "session_id"],
            _ => &["session_id"],
        };
        keys.iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect()
    }

    /// The shell command or file edit in the agent's hook input, or why there is none.
    pub fn request(self, input: &Value) -> Result<Input, String> {
        if !input.is_object() {
            return Err("the hook input is not a JSON object".into());
        }
        let cwd = str_field(input, "cwd").filter(|c| !c.is_empty());
        let files = |tool: String, args: Option<&Value>, cwd: Option<String>| {
            Ok(match file_tool(&tool, args)? {
                Some(paths) => Input::Files(FileEdit { tool, paths, cwd }),
                None => Input::OtherTool(tool),
            })
        };
        match self {
            Agent::Claude | Agent::Codex => {
                let tool = str_field(input, "tool_name")
                    .ok_or("the hook input has no `tool_name`; is this a PreToolUse hook?")?;
                if !tool.eq_ignore_ascii_case("bash") {
                    return files(tool, input.get("tool_input"), cwd);
                }
                Ok(Input::Shell(Request {
                    command: command_of(input.get("tool_input"))?,
                    shell: "bash",
                    cwd,
                }))
            }
            Agent::Gemini => {
                let tool = str_field(input, "tool_name")
                    .ok_or("the hook input has no `tool_name`; is this a BeforeTool hook?")?;
                if tool != "run_shell_command" {
                    return files(tool, input.get("tool_input"), cwd);
                }
                let args = input.get("tool_input");
                // run_shell_command may name a directory, relative to the project.
                let dir = args
                    .and_then(|a| str_field(a, "dir_path").or_else(|| str_field(a, "directory")));
                let cwd = match (cwd, dir.filter(|d| !d.is_empty())) {
                    (Some(c), Some(d)) => Some(format!("{}/{d}", c.trim_end_matches('/'))),
                    (c, d) => c.or(d),
                };
                Ok(Input::Shell(Request {
                    command: command_of(args)?,
                    shell: "bash",
                    cwd,
                }))
            }
            Agent::Cursor => {
                let event = str_field(input, "hook_event_name").unwrap_or_default();
                let cwd = cwd.or_else(|| {
                    input
                        .get("workspace_roots")
                        .and_then(|r| r.get(0))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
                match event.as_str() {
                    "" | "beforeShellExecution" => Ok(Input::Shell(Request {
                        command: command_of(Some(input))?,
                        shell: "bash",
                        cwd,
                    })),
                    "preToolUse" => {
                        let tool = str_field(input, "tool_name")
                            .ok_or("the hook input has no `tool_name`; is this a preToolUse hook?")?;
                        let args = json_args(input.get("tool_input"))?;
                        if tool == "Shell" {
                            let cwd = args
                                .as_ref()
                                .and_then(|a| str_field(a, "cwd"))
                                .filter(|c| !c.is_empty())
                                .or(cwd);
                            return Ok(Input::Shell(Request {
                                command: command_of(args.as_ref())?,
                                shell: "bash",
                                cwd,
                            }));
                        }
                        files(tool, args.as_ref(), cwd)
                    }
                    _ => Err(format!(
                        "backstop answers Cursor's beforeShellExecution and preToolUse, not `{event}`; fix the event in hooks.json"
                    )),
                }
            }
            Agent::Copilot => {
                // camelCase for `preToolUse`; the VS Code form (`PreToolUse`) is snake_case.
                let tool = str_field(input, "toolName")
                    .or_else(|| str_field(input, "tool_name"))
                    .ok_or("the hook input has no `toolName`; is this a preToolUse hook?")?;
                // Older releases send the arguments as a JSON string.
                let args = json_args(input.get("toolArgs").or_else(|| input.get("tool_input")))?;
                let shell = match tool.to_ascii_lowercase().as_str() {
                    "bash" | "shell" => "bash",
                    "powershell" => "powershell",
                    _ => return files(tool, args.as_ref(), cwd),
                };
                Ok(Input::Shell(Request {
                    command: command_of(args.as_ref())?,
                    shell,
                    cwd,
                }))
            }
        }
    }

    /// The answer in this agent's protocol: one JSON object for stdout.
    pub fn render(self, answer: &Answer) -> Value {
        let no_dialog = |reason: &str| Answer::Deny {
            reason: reason.to_string(),
        };
        // An agent without a dialog cannot ask: its answer is a refusal.
        let answer = match answer {
            Answer::Ask { reason } if !self.has_dialog() => no_dialog(reason),
            a => a.clone(),
        };
        match (self, &answer) {
            (_, Answer::NoObjection) => json!({}),
            (Agent::Claude | Agent::Codex, Answer::Ask { reason } | Answer::Deny { reason }) => {
                let decision = if matches!(answer, Answer::Ask { .. }) {
                    "ask"
                } else {
                    "deny"
                };
                json!({
                    "hookSpecificOutput": {
                        "hookEventName": "PreToolUse",
                        "permissionDecision": decision,
                        "permissionDecisionReason": reason,
                    }
                })
            }
            (Agent::Gemini, Answer::Ask { reason } | Answer::Deny { reason }) => {
                json!({ "decision": "deny", "reason": reason })
            }
            (Agent::Cursor, Answer::Ask { reason }) => json!({
                "permission": "ask",
                "user_message": reason,
                "agent_message": reason,
            }),
            (Agent::Cursor, Answer::Deny { reason }) => json!({
                "permission": "deny",
                "user_message": first_sentence(reason),
                "agent_message": reason,
            }),
            (Agent::Copilot, Answer::Ask { reason } | Answer::Deny { reason }) => json!({
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }),
        }
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A tool's arguments as an object: some agents send them as a JSON string.
fn json_args(args: Option<&Value>) -> Result<Option<Value>, String> {
    match args {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map(Some)
            .map_err(|e| format!("the tool's arguments are a string but not JSON ({e})")),
        other => Ok(other.cloned()),
    }
}

/// The agents' file tools that name their files in a field: Claude Code's Write, Edit,
/// MultiEdit and NotebookEdit, Gemini CLI's write_file and replace, Cursor's Write,
/// Edit, StrReplace and Delete, Copilot CLI's edit and create (lower-cased).
const PATH_TOOLS: &[&str] = &[
    "write",
    "edit",
    "multiedit",
    "notebookedit",
    "write_file",
    "replace",
    "strreplace",
    "str_replace",
    "str_replace_editor",
    "search_replace",
    "edit_file",
    "delete",
    "delete_file",
    "create",
];

/// The fields those tools name their file in.
const PATH_FIELDS: &[&str] = &[
    "file_path",
    "notebook_path",
    "path",
    "absolute_path",
    "filePath",
    "target_file",
    "targetFile",
];

/// The files `tool` writes, edits, creates, deletes or moves; `None` for a tool that
/// changes no file (or reads one); an error for a file tool whose input names none.
fn file_tool(tool: &str, args: Option<&Value>) -> Result<Option<Vec<String>>, String> {
    let name = tool.to_ascii_lowercase();
    let missing = || format!("the `{tool}` tool's input names no file");
    if name == "apply_patch" || name == "applypatch" {
        // Codex sends the patch as `command`; other agents' patch tools as `input` or `patch`.
        let patch = match args {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(a) => ["command", "input", "patch"]
                .iter()
                .find_map(|k| a.get(*k).and_then(Value::as_str)),
            None => None,
        }
        .ok_or_else(|| format!("the `{tool}` tool's input holds no patch"))?;
        let paths = patch_paths(patch);
        return if paths.is_empty() {
            Err(format!("the `{tool}` patch names no file"))
        } else {
            Ok(Some(paths))
        };
    }
    if !PATH_TOOLS.contains(&name.as_str()) {
        return Ok(None);
    }
    // The editor tool that also views: viewing writes nothing.
    if args.and_then(|a| a.get("command")).and_then(Value::as_str) == Some("view") {
        return Ok(None);
    }
    let paths: Vec<String> = PATH_FIELDS
        .iter()
        .filter_map(|k| args?.get(*k)?.as_str())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if paths.is_empty() {
        return Err(missing());
    }
    Ok(Some(paths))
}

/// The files a patch adds, updates, deletes or moves to: Codex's `*** Add File:`,
/// `*** Update File:`, `*** Delete File:` and `*** Move to:` lines, and a unified
/// diff's `---`/`+++` lines.
pub fn patch_paths(patch: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in patch.lines() {
        let line = line.trim_end_matches('\r');
        let named = [
            "*** Add File: ",
            "*** Update File: ",
            "*** Delete File: ",
            "*** Move to: ",
        ]
        .iter()
        .find_map(|p| line.strip_prefix(p))
        .or_else(|| {
            let diff = line
                .strip_prefix("+++ ")
                .or_else(|| line.strip_prefix("--- "))?;
            // `a/x` and `b/x` are git's; a tab starts the timestamp.
            let diff = diff.split('\t').next().unwrap_or(diff);
            (diff != "/dev/null").then(|| {
                diff.strip_prefix("a/")
                    .or_else(|| diff.strip_prefix("b/"))
                    .unwrap_or(diff)
            })
        });
        if let Some(p) = named.map(str::trim).filter(|p| !p.is_empty()) {
            if !out.iter().any(|o| o == p) {
                out.push(p.to_string());
            }
        }
    }
    out
}

/// `command` of a tool's arguments: a string, or (older Codex) an argv array.
fn command_of(args: Option<&Value>) -> Result<String, String> {
    match args.and_then(|a| a.get("command")) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(words)) => words
            .iter()
            .map(|w| {
                w.as_str()
                    .map(backstop_rules::command::display_word)
                    .ok_or_else(|| "`command` is an array with a word that is not a string".into())
            })
            .collect::<Result<Vec<String>, String>>()
            .map(|w| w.join(" ")),
        Some(_) => Err("the tool's `command` is not a string".into()),
        None => Err("the hook input has no shell `command`".into()),
    }
}

/// The reason's first sentence, for a person's short notice.
fn first_sentence(reason: &str) -> String {
    match reason.find(". ") {
        Some(i) => reason[..=i].to_string(),
        None => reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_finds_its_command() {
        let cases = [
            (
                Agent::Claude,
                json!({"tool_name": "Bash", "tool_input": {"command": "ls"}, "cwd": "/p"}),
            ),
            (
                Agent::Codex,
                json!({"tool_name": "Bash", "tool_input": {"command": ["ls"]}, "cwd": "/p"}),
            ),
            (
                Agent::Gemini,
                json!({"tool_name": "run_shell_command", "tool_input": {"command": "ls"}, "cwd": "/p"}),
            ),
            (
                Agent::Cursor,
                json!({"hook_event_name": "beforeShellExecution", "command": "ls", "cwd": "/p"}),
            ),
            (
                Agent::Copilot,
                json!({"toolName": "bash", "toolArgs": "{\"command\":\"ls\"}", "cwd": "/p"}),
            ),
        ];
        for (agent, input) in cases {
            assert_eq!(
                agent.request(&input),
                Ok(Input::Shell(Request {
                    command: "ls".into(),
                    shell: "bash",
                    cwd: Some("/p".into())
                })),
                "{agent:?}"
            );
        }
    }

    #[test]
    fn other_tools_and_missing_fields() {
        assert_eq!(
            Agent::Claude.request(&json!({"tool_name": "Read", "tool_input": {}})),
            Ok(Input::OtherTool("Read".into()))
        );
        assert!(Agent::Claude
            .request(&json!({"tool_name": "Bash", "tool_input": {}}))
            .is_err());
        assert!(Agent::Gemini.request(&json!([1, 2])).is_err());
        assert!(Agent::Copilot
            .request(&json!({"toolName": "bash", "toolArgs": "{not json"}))
            .is_err());
        let gem = Agent::Gemini.request(&json!({"tool_name": "run_shell_command",
            "tool_input": {"command": "rm -rf x", "dir_path": "sub"}, "cwd": "/p/"}));
        assert!(
            matches!(&gem, Ok(Input::Shell(r)) if r.cwd.as_deref() == Some("/p/sub")),
            "{gem:?}"
        );
    }

    /// Each agent's documented shape for its file tools.
    #[test]
    fn every_agent_names_the_files_its_tools_write() {
        let files = |agent: Agent, input: Value| match agent.request(&input) {
            Ok(Input::Files(f)) => (f.tool, f.paths, f.cwd),
            other => panic!("{agent:?}: {other:?}"),
        };
        let p = |s: &str| vec![s.to_string()];
        assert_eq!(
            files(
                Agent::Claude,
                json!({"tool_name": "Write", "cwd": "/p",
                "tool_input": {"file_path": "/p/a.rs", "content": "x"}})
            ),
            ("Write".into(), p("/p/a.rs"), Some("/p".into()))
        );
        assert_eq!(
            files(Agent::Claude, json!({"tool_name": "MultiEdit",
                "tool_input": {"file_path": "/p/a.rs", "edits": [{"old_string": "a", "new_string": "b"}]}})).1,
            p("/p/a.rs")
        );
        assert_eq!(
            files(
                Agent::Claude,
                json!({"tool_name": "NotebookEdit",
                "tool_input": {"notebook_path": "/p/n.ipynb", "new_source": "x"}})
            )
            .1,
            p("/p/n.ipynb")
        );
        let patch = "*** Begin Patch\n*** Add File: new.txt\n+hi\n*** Update File: src/a.rs\n*** Move to: src/b.rs\n@@\n-a\n+b\n*** Delete File: old.txt\n*** End Patch\n";
        assert_eq!(
            files(
                Agent::Codex,
                json!({"tool_name": "apply_patch", "cwd": "/p",
                "tool_input": {"command": patch}})
            )
            .1,
            vec!["new.txt", "src/a.rs", "src/b.rs", "old.txt"]
        );
        assert_eq!(
            files(
                Agent::Gemini,
                json!({"tool_name": "replace",
                "tool_input": {"file_path": "/p/a.rs", "old_string": "a", "new_string": "b"}})
            )
            .1,
            p("/p/a.rs")
        );
        assert_eq!(
            files(
                Agent::Cursor,
                json!({"hook_event_name": "preToolUse", "tool_name": "Write",
                "workspace_roots": ["/p"], "tool_input": {"file_path": "a.rs", "content": "x"}})
            ),
            ("Write".into(), p("a.rs"), Some("/p".into()))
        );
        assert_eq!(
            files(
                Agent::Copilot,
                json!({"toolName": "create", "cwd": "/p",
                "toolArgs": "{\"path\": \"/p/a.rs\", \"file_text\": \"x\"}"})
            )
            .1,
            p("/p/a.rs")
        );
        // Cursor's preToolUse for its shell is a shell command.
        assert!(matches!(
            Agent::Cursor.request(&json!({"hook_event_name": "preToolUse", "tool_name": "Shell",
                "tool_input": {"command": "ls", "cwd": "/q"}})),
            Ok(Input::Shell(Request { ref command, ref cwd, .. })) if command == "ls" && cwd.as_deref() == Some("/q")
        ));
        // Reading and viewing change nothing; a file tool that names no file is an error.
        assert_eq!(
            Agent::Copilot.request(&json!({"toolName": "view", "toolArgs": {"path": "/p"}})),
            Ok(Input::OtherTool("view".into()))
        );
        assert!(Agent::Claude
            .request(&json!({"tool_name": "Write", "tool_input": {"content": "x"}}))
            .is_err());
        assert!(Agent::Codex
            .request(&json!({"tool_name": "apply_patch", "tool_input": {"command": "nothing"}}))
            .is_err());
    }

    #[test]
    fn unified_diffs_name_their_files() {
        assert_eq!(
            patch_paths("--- a/x.toml\t2024\n+++ b/x.toml\n--- /dev/null\n+++ b/new\n"),
            vec!["x.toml", "new"]
        );
    }

    #[test]
    fn ask_becomes_deny_without_a_dialog() {
        let ask = Answer::Ask { reason: "r".into() };
        assert_eq!(
            Agent::Claude.render(&ask)["hookSpecificOutput"]["permissionDecision"],
            "ask"
        );
        assert_eq!(
            Agent::Codex.render(&ask)["hookSpecificOutput"]["permissionDecision"],
            "deny"
        );
        assert_eq!(Agent::Gemini.render(&ask)["decision"], "deny");
        assert_eq!(Agent::Cursor.render(&ask)["permission"], "ask");
        assert_eq!(Agent::Copilot.render(&ask)["permissionDecision"], "deny");
        for a in Agent::ALL {
            assert_eq!(a.render(&Answer::NoObjection), json!({}));
        }
    }
}
