//! `backstop install AGENT` / `uninstall AGENT`: backstop's hook entry in the agent's
//! own settings file. The entry is spliced into the text ([`super::jsonc`]), so the
//! rest of the file keeps its bytes, and uninstall takes out exactly what install put
//! in; each write is atomic and keeps the replaced file as `NAME.backstop-bak`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};

use super::jsonc::{self, Kind, Node, Style, J};
use super::Agent;
use crate::cli::InstallArgs;

/// How long an agent waits for the hook, in seconds. backstop decides well within it
/// (see `cmd/agent.rs`), so the agent's own timeout, which lets a command through in
/// most agents, is never what ends a decision.
pub const AGENT_TIMEOUT_SECS: u64 = 60;

/// Where an agent keeps its hooks and what backstop's entries there look like.
struct Spec {
    /// Each hook backstop registers, in the order install adds them.
    hooks: Vec<Hook>,
    /// Keys a file backstop creates starts with (`"version": 1`).
    preamble: Vec<(&'static str, J)>,
}

/// One hook entry and where it goes.
struct Hook {
    /// Keys from the top of the file down to the array of hook entries.
    path: &'static [&'static str],
    entry: J,
}

/// The tools each agent's hook is registered for: its shell, and its own file tools
/// (which could otherwise rewrite backstop's policies or the hook settings).
pub const CLAUDE_TOOLS: &str = "Bash|Write|Edit|MultiEdit|NotebookEdit";
pub const CODEX_TOOLS: &str = "Bash|apply_patch";
pub const GEMINI_TOOLS: &str = "run_shell_command|write_file|replace";
/// Cursor decides shell commands in `beforeShellExecution`; these in `preToolUse`.
pub const CURSOR_FILE_TOOLS: &str = "Write|Edit|StrReplace|MultiEdit|Delete";

fn spec(agent: Agent, command: &str) -> Spec {
    let cmd = || J::Str(command.to_string());
    let group = |matcher: &str, hook: Vec<(&'static str, J)>| {
        J::Obj(vec![
            ("matcher", J::Str(matcher.into())),
            ("hooks", J::Arr(vec![J::Obj(hook)])),
        ])
    };
    let one = |path, entry| Spec {
        hooks: vec![Hook { path, entry }],
        preamble: Vec::new(),
    };
    match agent {
        Agent::Claude => one(
            &["hooks", "PreToolUse"],
            group(
                CLAUDE_TOOLS,
                vec![
                    ("type", J::Str("command".into())),
                    ("command", cmd()),
                    ("timeout", J::Num(AGENT_TIMEOUT_SECS)),
                    // A hook that cannot start or times out blocks instead of allowing.
                    ("onFailure", J::Str("block".into())),
                ],
            ),
        ),
        Agent::Codex => one(
            &["hooks", "PreToolUse"],
            group(
                CODEX_TOOLS,
                vec![
                    ("type", J::Str("command".into())),
                    ("command", cmd()),
                    ("timeout", J::Num(AGENT_TIMEOUT_SECS)),
                ],
            ),
        ),
        Agent::Gemini => one(
            &["hooks", "BeforeTool"],
            group(
                GEMINI_TOOLS,
                vec![
                    ("name", J::Str("backstop".into())),
                    ("type", J::Str("command".into())),
                    ("command", cmd()),
                    ("timeout", J::Num(AGENT_TIMEOUT_SECS * 1000)),
                ],
            ),
        ),
        Agent::Cursor => Spec {
            hooks: vec![
                Hook {
                    path: &["hooks", "beforeShellExecution"],
                    entry: J::Obj(vec![
                        ("command", cmd()),
                        ("timeout", J::Num(AGENT_TIMEOUT_SECS)),
                        ("failClosed", J::Bool(true)),
                    ]),
                },
                Hook {
                    path: &["hooks", "preToolUse"],
                    entry: J::Obj(vec![
                        ("command", cmd()),
                        ("matcher", J::Str(CURSOR_FILE_TOOLS.into())),
                        ("timeout", J::Num(AGENT_TIMEOUT_SECS)),
                        ("failClosed", J::Bool(true)),
                    ]),
                },
            ],
            preamble: vec![("version", J::Num(1))],
        },
        // preToolUse runs for every tool: shell commands and file edits alike.
        Agent::Copilot => Spec {
            hooks: vec![Hook {
                path: &["hooks", "preToolUse"],
                entry: J::Obj(vec![
                    ("type", J::Str("command".into())),
                    ("bash", cmd()),
                    ("timeoutSec", J::Num(AGENT_TIMEOUT_SECS)),
                ]),
            }],
            preamble: vec![("version", J::Num(1))],
        },
    }
}

/// The agent's configuration directory: its own environment variable, else `~/.NAME`.
fn config_dir(agent: Agent) -> Result<PathBuf> {
    let var = match agent {
        Agent::Claude => Some("CLAUDE_CONFIG_DIR"),
        Agent::Codex => Some("CODEX_HOME"),
        Agent::Copilot => Some("COPILOT_HOME"),
        Agent::Gemini | Agent::Cursor => None,
    };
    if let Some(dir) = var.and_then(std::env::var_os).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let base = directories::BaseDirs::new()
        .context("cannot find your home directory; give the settings file with --profile FILE")?;
    Ok(base.home_dir().join(format!(".{}", agent.name())))
}

/// The file `install` edits: `--profile`, the project's (`--project`), or the user's.
pub fn settings_file(agent: Agent, a: &InstallArgs) -> Result<PathBuf> {
    if let Some(p) = &a.profile {
        return Ok(p.clone());
    }
    let (user, project) = match agent {
        Agent::Claude => ("settings.json", ".claude/settings.json"),
        Agent::Codex => ("hooks.json", ".codex/hooks.json"),
        Agent::Gemini => ("settings.json", ".gemini/settings.json"),
        Agent::Cursor => ("hooks.json", ".cursor/hooks.json"),
        // Copilot reads every *.json in its hooks directories: backstop has its own.
        Agent::Copilot => ("hooks/backstop.json", ".github/hooks/backstop.json"),
    };
    if a.project {
        let cwd = std::env::current_dir().context("cannot tell the current directory")?;
        return Ok(cwd.join(project));
    }
    Ok(config_dir(agent)?.join(user))
}

/// The command line the agent runs, with this binary's path quoted for `sh`.
fn hook_command(agent: Agent) -> Result<String> {
    let bin = crate::cmd::init::own_path()?;
    Ok(format!(
        "{} agent-hook {}",
        crate::cmd::init::Shell::Bash.quote(&bin),
        agent.name()
    ))
}

/// Is this entry backstop's (for this agent), whatever binary path it names?
fn is_ours(agent: Agent, entry_text: &str) -> bool {
    let marker = format!("agent-hook {}", agent.name());
    entry_text.match_indices(&marker).any(|(i, _)| {
        !entry_text[i + marker.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The whole file as backstop writes it when there is none: the first hook rendered
/// whole, the others spliced in as install splices them into any file. The hooks come
/// before the preamble: `install` adds a member to an existing file after its last
/// one, so no file holding only the preamble is made into this text, which uninstall
/// removes.
fn fresh(agent: Agent, spec: &Spec) -> Result<String> {
    let style = Style {
        unit: "  ".into(),
        compact: false,
    };
    let Some((first, rest)) = spec.hooks.split_first() else {
        return Ok(format!(
            "{}\n",
            J::Obj(spec.preamble.clone()).render(&style, 0)
        ));
    };
    let mut top = vec![(first.path[0], nest(&first.path[1..], &first.entry))];
    top.extend(spec.preamble.iter().cloned());
    let mut text = format!("{}\n", J::Obj(top).render(&style, 0));
    for hook in rest {
        text = with_entry(agent, hook, &text, Path::new("(new file)"))?;
    }
    Ok(text)
}

/// `{"b": {"c": [entry]}}` for the keys below the one being added.
fn nest(rest: &'static [&'static str], entry: &J) -> J {
    match rest.split_first() {
        None => J::Arr(vec![entry.clone()]),
        Some((key, below)) => J::Obj(vec![(key, nest(below, entry))]),
    }
}

fn parse(text: &str, file: &Path) -> Result<Node> {
    let root = jsonc::parse(text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not valid JSON ({e}); fix it, then run this again",
            file.display()
        )
    })?;
    if !matches!(root.kind, Kind::Object(_)) {
        bail!(
            "{} holds {}, not a JSON object; fix it, then run this again",
            file.display(),
            root.type_name()
        );
    }
    Ok(root)
}

/// Walk `spec.path` down from the top: the nodes on it (the top first, so a node's
/// index is its nesting depth), and whether every key was there.
fn walk<'a>(root: &'a Node, spec: &Hook, file: &Path) -> Result<(Vec<&'a Node>, bool)> {
    let mut nodes = vec![root];
    for (i, key) in spec.path.iter().enumerate() {
        let here = nodes[nodes.len() - 1];
        let Some(m) = here.member(key) else {
            return Ok((nodes, false));
        };
        let last = i + 1 == spec.path.len();
        let fits = matches!(
            (&m.value.kind, last),
            (Kind::Array(_), true) | (Kind::Object(_), false)
        );
        if !fits {
            bail!(
                "`{}` in {} is {}, not {}; fix it by hand, then run this again",
                spec.path[..=i].join("."),
                file.display(),
                m.value.type_name(),
                if last { "an array" } else { "an object" }
            );
        }
        nodes.push(&m.value);
    }
    Ok((nodes, true))
}

/// The file's text with backstop's entry for `spec` in it (unchanged when it is
/// already there).
fn with_entry(agent: Agent, spec: &Hook, text: &str, file: &Path) -> Result<String> {
    let root = parse(text, file)?;
    let style = Style::of(text);
    let (nodes, complete) = walk(&root, spec, file)?;
    let depth = nodes.len() - 1;
    let here = nodes[depth];
    if !complete {
        let key = spec.path[depth];
        let value = nest(&spec.path[depth + 1..], &spec.entry);
        let member = format!(
            "{}: {}",
            serde_json::Value::String(key.into()),
            value.render(&style, depth + 1)
        );
        return Ok(jsonc::append(text, here, depth, &member, &style));
    }
    let rendered = spec.entry.render(&style, depth + 1);
    if let Kind::Array(items) = &here.kind {
        if let Some(item) = items.iter().find(|n| is_ours(agent, &text[n.start..n.end])) {
            if spec.entry.same_as(text, item) {
                return Ok(text.to_string());
            }
            // A moved binary updates the entry in place.
            return Ok(jsonc::replace(text, item, &rendered));
        }
    }
    Ok(jsonc::append(text, here, depth, &rendered, &style))
}

/// The text `install` made into `text` by splicing in `spec`'s entry, if it did: `text` without the entry, or
/// without a container on its path that install added for it. Each candidate is
/// installed again, and the one that gives back `text` is it (install puts an entry
/// in no two files the same way, so there is at most one).
fn before_install(agent: Agent, spec: &Hook, text: &str, file: &Path) -> Option<String> {
    let root = jsonc::parse(text).ok()?;
    let (nodes, complete) = walk(&root, spec, file).ok()?;
    let array = nodes.last().filter(|_| complete)?;
    let Kind::Array(items) = &array.kind else {
        return None;
    };
    let i = items
        .iter()
        .position(|n| is_ours(agent, &text[n.start..n.end]))?;
    let mut candidates = vec![jsonc::remove(text, array, i)];
    for level in (1..=spec.path.len()).rev() {
        let parent = nodes[level - 1];
        if let Kind::Object(members) = &parent.kind {
            if let Some(m) = members.iter().rposition(|m| m.key == spec.path[level - 1]) {
                candidates.push(jsonc::remove(text, parent, m));
            }
        }
    }
    candidates
        .into_iter()
        .find(|c| with_entry(agent, spec, c, file).is_ok_and(|t| t == text))
}

/// The file's text without backstop's entries, and the containers on its path that
/// they leave empty; `None` when there is no entry of backstop's. For a file changed
/// since install (or installed with another binary path), where [`before_install`]
/// finds nothing.
fn without_entry(agent: Agent, spec: &Hook, text: &str, file: &Path) -> Result<Option<String>> {
    let mut text = text.to_string();
    let mut removed = false;
    loop {
        let root = parse(&text, file)?;
        let (nodes, complete) = walk(&root, spec, file)?;
        if !complete {
            break;
        }
        let array = nodes[nodes.len() - 1];
        let Kind::Array(items) = &array.kind else {
            break;
        };
        let Some(i) = items
            .iter()
            .position(|n| is_ours(agent, &text[n.start..n.end]))
        else {
            break;
        };
        text = jsonc::remove(&text, array, i);
        removed = true;
    }
    if !removed {
        return Ok(None);
    }
    // Take out the containers install had to add: deepest first, never the top.
    for level in (1..=spec.path.len()).rev() {
        let root = parse(&text, file)?;
        let (nodes, _) = walk(&root, spec, file)?;
        let Some(node) = nodes.get(level) else {
            continue;
        };
        let empty = match &node.kind {
            Kind::Array(items) => items.is_empty(),
            Kind::Object(members) => members.is_empty(),
            _ => false,
        };
        if !empty {
            break;
        }
        let parent = nodes[level - 1];
        if let Kind::Object(members) = &parent.kind {
            if let Some(i) = members.iter().rposition(|m| m.key == spec.path[level - 1]) {
                text = jsonc::remove(&text, parent, i);
            }
        }
    }
    Ok(Some(text))
}

/// The settings text with backstop's hook entries for `agent` (running `command`) in
/// it: what `install` writes over `old`, the file's text ("" when there is none).
/// `file` only names it in errors.
pub fn with_hook(agent: Agent, command: &str, old: &str, file: &Path) -> Result<String> {
    let spec = spec(agent, command);
    if old.trim().is_empty() {
        return fresh(agent, &spec);
    }
    let mut text = old.to_string();
    for hook in &spec.hooks {
        text = with_entry(agent, hook, &text, file)?;
    }
    Ok(text)
}

/// What `uninstall` does to a settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uninstalled {
    /// backstop created the file and nothing else is in it: the file goes.
    Remove,
    /// The file's new text, without backstop's entries.
    Write(String),
    /// No entry of backstop's is in the file.
    NotThere,
}

/// What `uninstall` does to a settings file holding `old`; `file` only names it in errors.
pub fn without_hook(agent: Agent, command: &str, old: &str, file: &Path) -> Result<Uninstalled> {
    let spec = spec(agent, command);
    // A file install created holds nothing else: it goes, as it was not there before.
    if old == fresh(agent, &spec)? || old.trim().is_empty() {
        return Ok(Uninstalled::Remove);
    }
    // Taken out in the reverse order of install's, so each splice undoes its own:
    // exactly, when the file is as install left it.
    let mut text = old.to_string();
    let mut removed = false;
    for hook in spec.hooks.iter().rev() {
        if let Some(before) = before_install(agent, hook, &text, file) {
            text = before;
            removed = true;
        } else if let Some(without) = without_entry(agent, hook, &text, file)? {
            text = without;
            removed = true;
        }
    }
    Ok(if removed {
        Uninstalled::Write(text)
    } else {
        Uninstalled::NotThere
    })
}

fn read(file: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(file) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

pub fn install(agent: Agent, a: &InstallArgs) -> Result<ExitCode> {
    let file = settings_file(agent, a)?;
    let command = hook_command(agent)?;
    let old = read(&file)?;
    let new = with_hook(agent, &command, old.as_deref().unwrap_or_default(), &file)?;
    if old.as_deref() == Some(new.as_str()) {
        crate::outln!(
            "backstop is already {}'s hook in {}",
            agent.name(),
            file.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    backstop_backup::atomic::write_atomic(&file, new.as_bytes())?;
    crate::outln!(
        "backstop now decides {}'s shell commands and file edits, from its next session ({}{})",
        agent.name(),
        file.display(),
        if old.is_some() {
            format!(
                "; the previous version is kept as {}",
                backstop_backup::atomic::backup_path(&file).display()
            )
        } else {
            String::new()
        }
    )?;
    if let Some(note) = note(agent, &new) {
        crate::outln!("{note}")?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn uninstall(agent: Agent, a: &InstallArgs) -> Result<ExitCode> {
    let file = settings_file(agent, a)?;
    let command = hook_command(agent)?;
    let not_there = || {
        crate::outln!(
            "backstop is not {}'s hook in {}",
            agent.name(),
            file.display()
        )?;
        Ok(ExitCode::SUCCESS)
    };
    let Some(old) = read(&file)? else {
        return not_there();
    };
    let new = match without_hook(agent, &command, &old, &file)? {
        Uninstalled::NotThere => return not_there(),
        Uninstalled::Write(new) => new,
        Uninstalled::Remove => {
            let keep = backstop_backup::atomic::backup_path(&file);
            std::fs::copy(&file, &keep).with_context(|| {
                format!(
                    "cannot keep a copy of {} as {}",
                    file.display(),
                    keep.display()
                )
            })?;
            std::fs::remove_file(&file)
                .with_context(|| format!("cannot remove {}", file.display()))?;
            crate::outln!(
                "removed {} (backstop had created it; a copy is kept as {})",
                file.display(),
                keep.display()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    backstop_backup::atomic::write_atomic(&file, new.as_bytes())?;
    crate::outln!(
        "removed backstop from {}; {} no longer asks backstop from its next session",
        file.display(),
        agent.name()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// What else the person must know for the hook to run.
fn note(agent: Agent, text: &str) -> Option<String> {
    match agent {
        Agent::Claude => Some("Claude Code 2.1.295 or later blocks the command when the hook cannot run (`onFailure`); older ones let it through.".into()),
        Agent::Codex => Some("Codex runs hooks by default from 0.124; older releases need `[features] codex_hooks = true` in config.toml, and a project's .codex/ only counts once the project is trusted.".into()),
        Agent::Gemini => {
            let off = jsonc::parse(text).ok().is_some_and(|root| {
                let flag = |a: &str, b: &str| {
                    root.member(a)
                        .and_then(|m| m.value.member(b))
                        .is_some_and(|m| &text[m.value.start..m.value.end] == "false")
                };
                flag("hooksConfig", "enabled") || flag("tools", "enableHooks")
            });
            off.then(|| "warning: this file turns Gemini CLI's hooks off (`hooksConfig.enabled` or `tools.enableHooks` is false); backstop's hook will not run until they are on.".into())
        }
        Agent::Cursor => Some("Cursor reloads hooks.json when it changes; if backstop does not show in its Hooks settings, restart it.".into()),
        Agent::Copilot => None,
    }
}

/// The command line of backstop's entry in `file` (what the agent runs), or `None`
/// when the file or the entry is not there: for `backstop doctor`.
pub fn installed_command(agent: Agent, file: &Path) -> Result<Option<String>> {
    let Some(text) = read(file)? else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let spec = spec(agent, "");
    // The first hook is the shell command's; its entry is what doctor runs.
    let Some(shell_hook) = spec.hooks.first() else {
        return Ok(None);
    };
    let root = parse(&text, file)?;
    let (nodes, complete) = walk(&root, shell_hook, file)?;
    let Kind::Array(items) = &nodes[nodes.len() - 1].kind else {
        return Ok(None);
    };
    if !complete {
        return Ok(None);
    }
    let Some(entry) = items.iter().find(|n| is_ours(agent, &text[n.start..n.end])) else {
        return Ok(None);
    };
    // The string inside the entry that runs `agent-hook NAME`.
    let mut stack = vec![entry];
    while let Some(node) = stack.pop() {
        match &node.kind {
            Kind::String => {
                let value: Option<String> = serde_json::from_str(&text[node.start..node.end]).ok();
                if let Some(v) = value.filter(|v| is_ours(agent, v)) {
                    return Ok(Some(v));
                }
            }
            Kind::Object(members) => stack.extend(members.iter().map(|m| &m.value)),
            Kind::Array(items) => stack.extend(items.iter()),
            Kind::Other => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "'/opt/bin/backstop' agent-hook claude";

    #[test]
    fn a_fresh_file_is_the_entry_alone_and_goes_back_to_nothing() {
        let s = spec(Agent::Claude, CMD);
        let text = with_hook(Agent::Claude, CMD, "", Path::new("f")).unwrap();
        assert_eq!(text, fresh(Agent::Claude, &s).unwrap());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["hooks"]["PreToolUse"][0]["hooks"][0]["command"], CMD);
        assert_eq!(v["hooks"]["PreToolUse"][0]["matcher"], CLAUDE_TOOLS);
        assert_eq!(
            without_hook(Agent::Claude, CMD, &text, Path::new("f")).unwrap(),
            Uninstalled::Remove
        );
        // Changed since: the entry goes, and the containers it leaves empty.
        let changed = text.replace("\n}\n", "\n}\n\n");
        assert_eq!(
            without_hook(Agent::Claude, CMD, &changed, Path::new("f")).unwrap(),
            Uninstalled::Write("{\n}\n\n".into())
        );
    }

    #[test]
    fn every_hook_comes_out_as_it_went_in() {
        let cmd = "'/b' agent-hook cursor";
        for old in [
            "{\"version\": 1}\n",
            "{\n  // mine\n  \"hooks\": {}\n}",
            "{\"hooks\": {\"stop\": []}}",
        ] {
            let new = with_hook(Agent::Cursor, cmd, old, Path::new("f")).unwrap();
            assert_eq!(
                with_hook(Agent::Cursor, cmd, &new, Path::new("f")).unwrap(),
                new
            );
            let v: serde_json::Value = serde_json::from_str(&jsonc_free(&new)).unwrap();
            assert_eq!(v["hooks"]["beforeShellExecution"][0]["command"], cmd);
            assert_eq!(v["hooks"]["preToolUse"][0]["command"], cmd);
            assert_eq!(
                without_hook(Agent::Cursor, cmd, &new, Path::new("f")).unwrap(),
                Uninstalled::Write(old.into())
            );
        }
    }

    /// The text without its `//` comment lines, for serde_json.
    fn jsonc_free(text: &str) -> String {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn cursor_gets_a_shell_hook_and_a_file_tool_hook() {
        let s = spec(Agent::Cursor, "'/b' agent-hook cursor");
        let text = fresh(Agent::Cursor, &s).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["hooks"]["beforeShellExecution"][0]["failClosed"], true);
        assert_eq!(v["hooks"]["preToolUse"][0]["matcher"], CURSOR_FILE_TOOLS);
        assert_eq!(v["hooks"]["preToolUse"][0]["failClosed"], true);
        let mut back = text.clone();
        for hook in s.hooks.iter().rev() {
            back = without_entry(Agent::Cursor, hook, &back, Path::new("f"))
                .unwrap()
                .unwrap();
        }
        assert_eq!(back, "{\n  \"version\": 1\n}\n");
    }

    #[test]
    fn other_agents_entries_are_not_ours() {
        assert!(is_ours(Agent::Claude, CMD));
        assert!(!is_ours(Agent::Claude, "'/b' agent-hook claude-x"));
        assert!(!is_ours(Agent::Codex, CMD));
    }
}
