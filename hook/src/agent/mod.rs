//! AI coding agents: each one's hook protocol (what its `PreToolUse`-like hook sends
//! on stdin and what it reads back), and where its hook settings live
//! ([`settings`]). The decision itself is `cmd/agent.rs`.
//!
//! Each agent's fields, exit codes and files are described, with sources, in the
//! README's "AI coding agents" section.

pub mod jsonc;
pub mod settings;

use serde_json::{json, Value};

/// The agents backstop speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// Claude Code: `PreToolUse` on the `Bash` tool.
    Claude,
    /// OpenAI Codex CLI: `PreToolUse` on `Bash`; no `ask`, unknown output fields are errors.
    Codex,
    /// Gemini CLI: `BeforeTool` on `run_shell_command`.
    Gemini,
    /// Cursor: `beforeShellExecution`.
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

/// What the hook input holds: a shell command, or a tool backstop does not judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Shell(Request),
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

    /// The shell command in the agent's hook input, or why there is none.
    pub fn request(self, input: &Value) -> Result<Input, String> {
        if !input.is_object() {
            return Err("the hook input is not a JSON object".into());
        }
        let cwd = str_field(input, "cwd").filter(|c| !c.is_empty());
        match self {
            Agent::Claude | Agent::Codex => {
                let tool = str_field(input, "tool_name")
                    .ok_or("the hook input has no `tool_name`; is this a PreToolUse hook?")?;
                if !tool.eq_ignore_ascii_case("bash") {
                    return Ok(Input::OtherTool(tool));
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
                    return Ok(Input::OtherTool(tool));
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
                if !event.is_empty() && event != "beforeShellExecution" {
                    return Err(format!(
                        "backstop answers Cursor's beforeShellExecution, not `{event}`; fix the event in hooks.json"
                    ));
                }
                let cwd = cwd.or_else(|| {
                    input
                        .get("workspace_roots")
                        .and_then(|r| r.get(0))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
                Ok(Input::Shell(Request {
                    command: command_of(Some(input))?,
                    shell: "bash",
                    cwd,
                }))
            }
            Agent::Copilot => {
                // camelCase for `preToolUse`; the VS Code form (`PreToolUse`) is snake_case.
                let tool = str_field(input, "toolName")
                    .or_else(|| str_field(input, "tool_name"))
                    .ok_or("the hook input has no `toolName`; is this a preToolUse hook?")?;
                let shell = match tool.to_ascii_lowercase().as_str() {
                    "bash" | "shell" => "bash",
                    "powershell" => "powershell",
                    _ => return Ok(Input::OtherTool(tool)),
                };
                let args = input.get("toolArgs").or_else(|| input.get("tool_input"));
                // Older releases send the arguments as a JSON string.
                let parsed;
                let args = match args {
                    Some(Value::String(s)) => {
                        parsed = serde_json::from_str::<Value>(s)
                            .map_err(|e| format!("`toolArgs` is a string but not JSON ({e})"))?;
                        Some(&parsed)
                    }
                    other => other,
                };
                Ok(Input::Shell(Request {
                    command: command_of(args)?,
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
