//! Whether backstop runs under an AI coding agent, so that it never asks for a
//! person's approval where a program owns the terminal: an agent can open a
//! pseudo-terminal (`script`, Python's `pty`, `expect`) and type the phrase itself.
//!
//! Two signs, either enough: a variable an agent sets for the commands it runs
//! ([`MARKERS`]), or an ancestor process that is an agent's program ([`PROGRAMS`]),
//! found by walking up the parents (Linux: `/proc/PID/stat`; Windows and macOS: the
//! system's process table, through `sysinfo`). It runs only when a line needs a
//! person's answer, never on the way of a line that is allowed or denied.
//!
//! What it cannot tell: an agent that scrubs these variables and starts the shell
//! where no ancestor is its own (a service, a double fork to init, `ssh` back into
//! the machine); an agent not in these tables. And it refuses a person too, when they
//! type into a shell an agent started (Claude Code's `!` commands, a terminal tab
//! inside an agent's session): they are told to use their own terminal.

use std::ffi::OsString;

/// Variables coding agents set in the environment of the commands they run, and the
/// agent each names. Sources are in docs/agents.md.
pub const MARKERS: &[(&str, &str)] = &[
    ("CLAUDECODE", "Claude Code"),
    ("CLAUDE_CODE_ENTRYPOINT", "Claude Code"),
    ("CODEX_THREAD_ID", "Codex"),
    ("CODEX_SANDBOX", "Codex"),
    ("CODEX_SANDBOX_NETWORK_DISABLED", "Codex"),
    ("CODEX_CI", "Codex"),
    ("GEMINI_CLI", "Gemini CLI"),
    ("CURSOR_AGENT", "Cursor's agent"),
    ("COPILOT_CLI", "GitHub Copilot CLI"),
    ("COPILOT_AGENT_SESSION_ID", "GitHub Copilot CLI"),
    ("CLINE_ACTIVE", "Cline"),
    ("OPENCODE", "OpenCode"),
    ("OPENCODE_CLIENT", "OpenCode"),
    ("AUGMENT_AGENT", "Augment"),
    ("ANTIGRAVITY_AGENT", "Antigravity"),
    ("GOOSE_TERMINAL", "Goose"),
    ("AI_AGENT", "an AI agent"),
    ("AGENT", "an AI agent"),
];

/// Agents' programs, as a process is named (without `.exe`, lower-cased).
pub const PROGRAMS: &[(&str, &str)] = &[
    ("claude", "Claude Code"),
    ("codex", "Codex"),
    ("gemini", "Gemini CLI"),
    ("cursor-agent", "Cursor's agent"),
    ("copilot", "GitHub Copilot CLI"),
    ("aider", "Aider"),
    ("opencode", "OpenCode"),
    ("goose", "Goose"),
    ("amp", "Amp"),
    ("cline", "Cline"),
    ("qwen", "Qwen Code"),
    ("crush", "Crush"),
    ("auggie", "Augment"),
    ("droid", "Factory Droid"),
];

/// Agents installed as scripts run by an interpreter (`node …/cli.js`): the package
/// in the script's path names them.
const PACKAGES: &[(&str, &str)] = &[
    ("@anthropic-ai/claude-code", "Claude Code"),
    ("@openai/codex", "Codex"),
    ("@google/gemini-cli", "Gemini CLI"),
    ("@github/copilot", "GitHub Copilot CLI"),
];

/// Programs that run a script named by their first argument.
const INTERPRETERS: &[&str] = &[
    "node", "nodejs", "bun", "deno", "python", "python3", "ruby", "perl",
];

/// How far up the process tree to look: a real tree is a few dozen deep at most.
const MAX_DEPTH: usize = 128;

/// What gave the agent away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// `name` is set in the environment.
    Variable {
        name: &'static str,
        agent: &'static str,
    },
    /// An ancestor process is the agent's program.
    Ancestor {
        pid: u32,
        program: String,
        agent: &'static str,
    },
}

impl Evidence {
    pub fn agent(&self) -> &'static str {
        match self {
            Evidence::Variable { agent, .. } | Evidence::Ancestor { agent, .. } => agent,
        }
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::Variable { name, agent } => {
                write!(
                    f,
                    "{name} is set, which {agent} sets for the commands it runs"
                )
            }
            Evidence::Ancestor {
                pid,
                program,
                agent,
            } => write!(
                f,
                "it runs under `{program}` (process {pid}), which is {agent}"
            ),
        }
    }
}

/// One process, as the walk sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Process {
    pub parent: u32,
    /// The name the system keeps for it (Linux's `comm`, Windows' image name).
    pub name: String,
    /// Its command line, as far as it can be read.
    pub argv: Vec<String>,
}

/// Whether this process runs under a coding agent: the environment first (no I/O),
/// then its ancestors.
pub fn detect() -> Option<Evidence> {
    marker(|name| std::env::var_os(name)).or_else(|| walk(std::process::id(), process))
}

/// The first agent variable that `var` finds set and not empty.
pub fn marker(var: impl Fn(&str) -> Option<OsString>) -> Option<Evidence> {
    MARKERS.iter().find_map(|&(name, agent)| {
        var(name)
            .filter(|v| !v.is_empty())
            .map(|_| Evidence::Variable { name, agent })
    })
}

/// The first ancestor of `pid` (itself excluded) that is an agent's program, reading
/// each process with `lookup`.
pub fn walk(pid: u32, mut lookup: impl FnMut(u32) -> Option<Process>) -> Option<Evidence> {
    let mut here = lookup(pid)?;
    let mut seen = vec![pid];
    for _ in 0..MAX_DEPTH {
        let parent = here.parent;
        // 0 is above the first process; a cycle means the table changed under us.
        if parent == 0 || seen.contains(&parent) {
            return None;
        }
        seen.push(parent);
        here = lookup(parent)?;
        if let Some(agent) = agent_program(&here.name, &here.argv) {
            let program = here
                .argv
                .first()
                .filter(|a| !a.is_empty())
                .cloned()
                .unwrap_or_else(|| here.name.clone());
            return Some(Evidence::Ancestor {
                pid: parent,
                program,
                agent,
            });
        }
    }
    None
}

/// The file name of a path or a command word, without `.exe`, lower-cased.
fn base(word: &str) -> String {
    let name = word
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(word)
        .to_lowercase();
    name.strip_suffix(".exe")
        .map(str::to_string)
        .unwrap_or(name)
}

/// The agent a process with this name and command line is, if it is one.
pub fn agent_program(name: &str, argv: &[String]) -> Option<&'static str> {
    let mut names = vec![base(name)];
    if let Some(first) = argv.first() {
        names.push(base(first));
    }
    let interpreted = names.iter().any(|n| {
        INTERPRETERS
            .iter()
            .any(|i| n == i || n.strip_prefix(i).is_some_and(|v| v.starts_with(['.', '-'])))
    });
    if interpreted {
        if let Some(script) = argv.get(1) {
            names.push(base(script));
        }
    }
    let by_name = names
        .iter()
        .find_map(|n| PROGRAMS.iter().find(|(p, _)| p == n).map(|(_, a)| *a));
    by_name.or_else(|| {
        let words = if interpreted {
            &argv[..argv.len().min(2)]
        } else {
            &argv[..argv.len().min(1)]
        };
        words.iter().find_map(|w| {
            let w = w.replace('\\', "/");
            PACKAGES
                .iter()
                .find(|(p, _)| w.contains(&format!("/{p}/")))
                .map(|(_, a)| *a)
        })
    })
}

/// `/proc/PID/stat`'s parent and name, and `/proc/PID/cmdline`.
#[cfg(target_os = "linux")]
fn process(pid: u32) -> Option<Process> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (name, parent) = parse_stat(&stat)?;
    let argv = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .take(2)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    Some(Process { parent, name, argv })
}

/// `PID (NAME) STATE PPID …`: the name may hold spaces and parentheses, so it ends at
/// the last `)`.
#[cfg(any(target_os = "linux", test))]
fn parse_stat(stat: &str) -> Option<(String, u32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let _state = rest.next()?;
    let parent = rest.next()?.parse().ok()?;
    Some((name, parent))
}

/// The system's process table (Windows' process snapshot, macOS' libproc), one
/// process at a time; a parent that started after its child is a reused id.
#[cfg(any(windows, target_os = "macos"))]
fn process(pid: u32) -> Option<Process> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let mut sys = System::new();
    let kind = ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always);
    let id = Pid::from_u32(pid);
    sys.refresh_processes_specifics(ProcessesToUpdate::Some(&[id]), true, kind);
    let p = sys.process(id)?;
    let (parent, started) = (p.parent()?, p.start_time());
    let found = Process {
        parent: 0,
        name: p.name().to_string_lossy().into_owned(),
        argv: p
            .cmd()
            .iter()
            .take(2)
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    };
    sys.refresh_processes_specifics(ProcessesToUpdate::Some(&[parent]), false, kind);
    let parent = match sys.process(parent) {
        Some(pp) if pp.start_time() <= started => parent.as_u32(),
        _ => 0,
    };
    Some(Process { parent, ..found })
}

/// Other systems: no process table is read; only the environment tells.
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
fn process(_pid: u32) -> Option<Process> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn p(parent: u32, name: &str, argv: &[&str]) -> Process {
        Process {
            parent,
            name: name.into(),
            argv: argv.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn variables() {
        let env: HashMap<&str, &str> = [("CLAUDECODE", "1"), ("HOME", "/h")].into();
        let get = |k: &str| env.get(k).map(OsString::from);
        assert_eq!(
            marker(get),
            Some(Evidence::Variable {
                name: "CLAUDECODE",
                agent: "Claude Code"
            })
        );
        let empty: HashMap<&str, &str> = [("CLAUDECODE", ""), ("CURSOR_TRACE_ID", "x")].into();
        assert_eq!(marker(|k: &str| empty.get(k).map(OsString::from)), None);
    }

    #[test]
    fn names_of_agents() {
        assert_eq!(agent_program("claude", &[]), Some("Claude Code"));
        assert_eq!(
            agent_program("bash", &["claude".into()]),
            Some("Claude Code")
        );
        assert_eq!(agent_program("Codex.exe", &[]), Some("Codex"));
        assert_eq!(
            agent_program("node", &["node".into(), "/usr/local/bin/gemini".into()]),
            Some("Gemini CLI")
        );
        assert_eq!(
            agent_program(
                "node",
                &[
                    "/usr/bin/node".into(),
                    "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js".into()
                ]
            ),
            Some("Claude Code")
        );
        assert_eq!(
            agent_program(
                "node.exe",
                &[
                    r"C:\Program Files\nodejs\node.exe".into(),
                    r"C:\Users\a\AppData\Roaming\npm\node_modules\@openai\codex\bin\codex.js"
                        .into()
                ]
            ),
            Some("Codex")
        );
        assert_eq!(agent_program("bash", &["-bash".into()]), None);
        assert_eq!(
            agent_program("node", &["node".into(), "server.js".into()]),
            None
        );
        // A script argument counts only for an interpreter.
        assert_eq!(agent_program("vim", &["vim".into(), "claude".into()]), None);
        assert_eq!(
            agent_program("code", &["/usr/share/code/code".into()]),
            None
        );
    }

    #[test]
    fn the_walk_stops_at_the_first_agent_or_the_top() {
        let table: HashMap<u32, Process> = [
            (50, p(40, "bash", &["bash"])),
            (40, p(30, "script", &["script", "-qc", "bash"])),
            (30, p(20, "claude", &["claude"])),
            (20, p(1, "zsh", &["-zsh"])),
            (1, p(0, "systemd", &["/sbin/init"])),
        ]
        .into();
        let look = |pid: u32| table.get(&pid).cloned();
        assert_eq!(
            walk(50, look),
            Some(Evidence::Ancestor {
                pid: 30,
                program: "claude".into(),
                agent: "Claude Code"
            })
        );
        assert_eq!(walk(20, look), None);
        // The process itself is not its own ancestor.
        assert_eq!(walk(30, look), None);
        // A cycle or a missing parent ends the walk.
        let cycle: HashMap<u32, Process> = [(5, p(6, "a", &[])), (6, p(5, "b", &[]))].into();
        assert_eq!(walk(5, |pid: u32| cycle.get(&pid).cloned()), None);
        assert_eq!(walk(99, look), None);
    }

    #[test]
    fn stat_lines() {
        assert_eq!(
            parse_stat("1234 (claude) S 987 1234 …"),
            Some(("claude".into(), 987))
        );
        assert_eq!(
            parse_stat("77 (a) b (c)) R 5 77 …"),
            Some(("a) b (c)".into(), 5))
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read() {
        let me = process(std::process::id()).expect("own /proc entry");
        assert!(me.parent > 0);
        assert!(!me.name.is_empty());
    }
}
