//! `backstop doctor`: what a person runs when in doubt. For each shell and agent,
//! whether backstop is installed there and whether it really loads (the shell is
//! started with its own start-up files and asked whether backstop's hook is set; the
//! agent's hook command is run on a harmless input); then the policies, the
//! settings, the data directory, the audit log and its forwarding, the destinations
//! and the backups that wait for a restore test or a cleanup.
//!
//! Every probe has a time limit and the probes run side by side; nothing touches the
//! network unless a destination or the syslog collector is remote. Each problem
//! names its fix; exit 1 when something is broken.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use backstop_backup::dest::Dest;
use backstop_backup::manifest::Manifest;
use serde::Serialize;

use super::init::Shell;
use crate::agent::Agent;
use crate::cli::{DoctorArgs, InstallArgs};
use crate::config::Dirs;
use crate::settings::Settings;
use crate::style::{paint, ASK, DIM, HEADER, HINT, OK, REFUSED};

/// How long a shell may take to start with the person's own start-up files.
const SHELL_LIMIT: Duration = Duration::from_secs(5);
/// How long an agent's hook command may take to answer.
const AGENT_LIMIT: Duration = Duration::from_secs(10);
/// How long a local destination may take to answer (a hung network mount).
const LOCAL_LIMIT: Duration = Duration::from_secs(5);
/// How long restic or rclone may take to reach a remote.
const REMOTE_LIMIT: Duration = Duration::from_secs(20);

const SHELLS: [Shell; 5] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Nu, Shell::Pwsh];

/// Marks the probe's answer among whatever the person's start-up files print.
const MARK: &str = "BACKSTOP-DOCTOR:";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    /// Works.
    Ok,
    /// Works, but something deserves attention.
    Warn,
    /// Broken: doctor exits 1.
    Fail,
    /// Not installed there, or not checked.
    Skip,
}

#[derive(Debug, Serialize)]
struct Check {
    area: &'static str,
    name: String,
    status: Status,
    summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl Check {
    fn new(area: &'static str, name: impl Into<String>, status: Status, summary: String) -> Check {
        Check {
            area,
            name: name.into(),
            status,
            summary,
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

pub fn run(a: &DoctorArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let bin = super::init::own_path()?;
    let bin = bin.as_str();
    let settings = Settings::load(&dirs);
    let mut checks = std::thread::scope(|s| {
        let shells: Vec<_> = SHELLS
            .iter()
            .map(|&sh| s.spawn(move || shell_check(sh, bin)))
            .collect();
        let agents: Vec<_> = Agent::ALL
            .iter()
            .map(|&ag| s.spawn(move || agent_checks(ag)))
            .collect();
        let dests = s.spawn(|| destination_checks(settings.as_ref().ok()));
        let mut out = Vec::new();
        out.extend(policy_checks(&dirs, settings.as_ref()));
        out.push(data_check(&dirs));
        out.extend(audit_checks(&dirs, settings.as_ref().ok()));
        out.extend(backup_checks(&dirs));
        let mut probed: Vec<Check> = shells.into_iter().map(|h| joined(h, "shell")).collect();
        for h in agents {
            match h.join() {
                Ok(list) => probed.extend(list),
                Err(_) => probed.push(Check::new(
                    "agent",
                    "?",
                    Status::Fail,
                    "the check failed".into(),
                )),
            }
        }
        match dests.join() {
            Ok(list) => probed.extend(list),
            Err(_) => probed.push(Check::new(
                "destination",
                "?",
                Status::Fail,
                "the check failed".into(),
            )),
        }
        probed.extend(out);
        probed
    });
    let installed_somewhere = checks
        .iter()
        .any(|c| matches!(c.area, "shell" | "agent") && c.status != Status::Skip);
    if !installed_somewhere {
        checks.push(
            Check::new(
                "install",
                "backstop",
                Status::Fail,
                "backstop is in no shell and no agent: no command is checked".into(),
            )
            .fix("backstop install bash (or zsh, fish, nu, powershell; or an agent: claude, codex, gemini, cursor, copilot)"),
        );
    }
    let broken = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warnings = checks.iter().filter(|c| c.status == Status::Warn).count();
    if a.json {
        let v = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "binary": super::init::own_path()?,
            "ok": broken == 0,
            "problems": broken,
            "warnings": warnings,
            "checks": checks,
        });
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        print_text(&checks, broken, warnings)?;
    }
    Ok(if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn joined(h: std::thread::ScopedJoinHandle<'_, Check>, area: &'static str) -> Check {
    h.join()
        .unwrap_or_else(|_| Check::new(area, "?", Status::Fail, "the check failed".into()))
}

fn print_text(checks: &[Check], broken: usize, warnings: usize) -> Result<()> {
    let mut out = anstream::AutoStream::auto(std::io::stdout().lock());
    writeln!(
        out,
        "backstop {} at {}",
        env!("CARGO_PKG_VERSION"),
        super::init::own_path()?
    )?;
    let areas = [
        ("shell", "Shells"),
        ("agent", "Agents"),
        ("install", "Installed"),
        ("policies", "Policies and settings"),
        ("data", "Data directory"),
        ("audit", "Audit log"),
        ("destination", "Destinations"),
        ("backups", "Backups"),
    ];
    for (area, title) in areas {
        let here: Vec<&Check> = checks.iter().filter(|c| c.area == area).collect();
        if here.is_empty() {
            continue;
        }
        let width = here
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0);
        writeln!(out, "\n{}", paint(HEADER, title))?;
        for c in here {
            let mark = match c.status {
                Status::Ok => paint(OK, "ok  "),
                Status::Warn => paint(ASK, "warn"),
                Status::Fail => paint(REFUSED, "FAIL"),
                Status::Skip => paint(DIM, "--  "),
            };
            let pad = width - c.name.chars().count();
            match (&c.fix, c.status) {
                // Not installed there: how to add it, on the same line.
                (Some(fix), Status::Skip) => writeln!(
                    out,
                    "  {mark}  {}{}  {}; {}",
                    c.name,
                    " ".repeat(pad),
                    c.summary,
                    paint(DIM, format!("to add it: {fix}"))
                )?,
                (fix, _) => {
                    writeln!(
                        out,
                        "  {mark}  {}{}  {}",
                        c.name,
                        " ".repeat(pad),
                        c.summary
                    )?;
                    if let Some(fix) = fix {
                        writeln!(
                            out,
                            "        {}  {} {fix}",
                            " ".repeat(width),
                            paint(HINT, "fix:")
                        )?;
                    }
                }
            }
        }
    }
    writeln!(out)?;
    let verdict = match (broken, warnings) {
        (0, 0) => paint(OK, "Nothing is broken."),
        (0, w) => paint(OK, format!("Nothing is broken ({w} warning{}).", plural(w))),
        (b, w) => paint(
            REFUSED,
            format!(
                "{b} problem{} found{}; each names its fix.",
                plural(b),
                if w > 0 {
                    format!(" and {w} warning{}", plural(w))
                } else {
                    String::new()
                }
            ),
        ),
    };
    writeln!(out, "{verdict}")?;
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `~/…` for a path under the home directory, for shorter lines.
fn shown(path: &Path) -> String {
    let text = path.display().to_string();
    match crate::config::home_dir() {
        Some(home) if !home.is_empty() && text.starts_with(&format!("{home}/")) => {
            format!("~{}", &text[home.len()..])
        }
        _ => text,
    }
}

/// What a program printed, when it ended, and how.
#[derive(Debug)]
struct Ran {
    /// `None`: it did not end within the limit, and was killed.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with `input` on stdin for at most `limit`, then kills it (and, on
/// unix, everything it started in its process group). Output a start-up file left a
/// background process holding is not waited for.
fn run_bounded(mut cmd: Command, input: Option<&[u8]>, limit: Duration) -> std::io::Result<Ran> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn()?;
    if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let collect = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(Mutex::new(false));
        if let Some(mut pipe) = pipe {
            let (b, d) = (Arc::clone(&buf), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    b.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&chunk[..n]);
                }
                *d.lock().unwrap_or_else(|p| p.into_inner()) = true;
            });
        } else {
            *done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        }
        (buf, done)
    };
    let out = collect(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let err = collect(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() >= deadline {
            #[cfg(unix)]
            if let Some(pid) =
                rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
            {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // The pipes end with the program, unless something it started still holds them.
    let grace = Instant::now() + Duration::from_millis(200);
    let finished = |d: &Arc<Mutex<bool>>| *d.lock().unwrap_or_else(|p| p.into_inner());
    while !(finished(&out.1) && finished(&err.1)) && Instant::now() < grace {
        std::thread::sleep(Duration::from_millis(5));
    }
    let text = |b: &Arc<Mutex<Vec<u8>>>| {
        String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    };
    Ok(Ran {
        status,
        stdout: text(&out.0),
        stderr: text(&err.0),
    })
}

/// The last few lines of what a program said, for a summary.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        // What every `bash -i` without a terminal says, and extdebug under `-c`.
        .filter(|l| {
            !l.contains("cannot set terminal process group")
                && !l.contains("no job control in this shell")
                && !l.contains("bashdb")
                && !l.contains("cannot start debugger")
        })
        .collect();
    let from = lines.len().saturating_sub(3);
    lines[from..].join(" / ")
}

/// backstop's block in a profile: its lines, when there is one.
fn block_of(text: &str) -> Option<&str> {
    let start = text.find(super::init::BEGIN)?;
    let end = text[start..].find(super::init::END)? + start;
    Some(&text[start..end])
}

/// The program a shell is started as.
fn shell_program(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
        Shell::Nu => "nu",
        Shell::Pwsh => "pwsh",
    }
}

fn shell_check(shell: Shell, bin: &str) -> Check {
    let name = shell.name();
    let check = |status, summary: String| Check::new("shell", name, status, summary);
    let profile = match shell.default_profile() {
        Ok(p) => p,
        Err(e) => return check(Status::Fail, format!("{e:#}")),
    };
    let text = match std::fs::read_to_string(&profile) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return check(
                Status::Fail,
                format!("cannot read {}: {e}", shown(&profile)),
            )
            .fix(format!("make {} readable by you", profile.display()))
        }
    };
    let Some(block) = block_of(&text) else {
        return check(Status::Skip, format!("not installed ({})", shown(&profile)))
            .fix(format!("backstop install {name}"));
    };
    let place = shown(&profile);
    // The binary the block runs (nu: the script install rendered, which names it).
    let loaded = if shell == Shell::Nu {
        block
            .lines()
            .find_map(|l| l.trim().strip_prefix("source "))
            .map(|w| {
                w.trim()
                    .trim_start_matches('r')
                    .trim_matches('#')
                    .trim_matches('\'')
                    .to_string()
            })
            .and_then(|script| std::fs::read_to_string(script).ok())
            .unwrap_or_default()
    } else {
        block.to_string()
    };
    let runs_this = loaded.contains(&shell.quote(bin));
    let program = match backstop_backup::recipe::resolve_program(shell_program(shell)) {
        Ok(p) => p,
        Err(_) if shell == Shell::Pwsh => {
            return check(
                Status::Skip,
                format!(
                "installed in {place}; not checked, PowerShell is not installed (no pwsh on PATH)"
            ),
            )
        }
        Err(_) => {
            return check(
                Status::Skip,
                format!("installed in {place}; not checked, {name} is not installed (not on PATH)"),
            )
        }
    };
    let mut cmd = command_at(&program);
    let active = |out: &str| -> bool {
        let answer: String = out
            .lines()
            .filter_map(|l| l.split_once(MARK).map(|(_, a)| a))
            .collect();
        match shell {
            Shell::Bash => answer.contains("__backstop_debug"),
            Shell::Zsh => answer.contains("__backstop-accept-line"),
            Shell::Fish => answer.contains("__backstop_accept"),
            Shell::Nu => answer.trim().parse::<u32>().is_ok_and(|n| n > 0),
            Shell::Pwsh => answer.trim() == "active",
        }
    };
    let how = match shell {
        // Interactive, as the block loads only there: the DEBUG trap decides each line.
        Shell::Bash => {
            cmd.args([
                "-i",
                "-c",
                &format!("builtin printf '{MARK}%s\\n' \"$(builtin trap -p DEBUG)\""),
            ]);
            "its DEBUG trap is set"
        }
        Shell::Zsh => {
            cmd.args([
                "-i",
                "-c",
                &format!("print -r -- \"{MARK}${{widgets[accept-line]}}\""),
            ]);
            "Enter runs its accept-line widget"
        }
        Shell::Fish => {
            cmd.args(["-i", "-c", &format!("printf '{MARK}%s\\n' (bind \\r)")]);
            "Enter is bound to it"
        }
        Shell::Nu => {
            cmd.arg("--config").arg(&profile);
            let env = profile.with_file_name("env.nu");
            if env.is_file() {
                cmd.arg("--env-config").arg(env);
            }
            cmd.args([
                "-c",
                &format!(
                    "print $\"{MARK}($env.config.keybindings | where name =~ backstop | length)\""
                ),
            ]);
            "its keybindings are set"
        }
        Shell::Pwsh => {
            cmd.args([
                "-NoLogo",
                "-NonInteractive",
                "-Command",
                &format!("if (Get-Variable -Name __backstop -Scope Global -ErrorAction Ignore) {{ '{MARK}active' }} else {{ '{MARK}inactive' }}"),
            ]);
            "its line reader is wrapped"
        }
    };
    let ran = match run_bounded(cmd, None, SHELL_LIMIT) {
        Ok(r) => r,
        Err(e) => {
            return check(
                Status::Fail,
                format!(
                    "installed in {place}, but {} could not start: {e}",
                    program.display()
                ),
            )
        }
    };
    if ran.status.is_none() {
        return check(
            Status::Warn,
            format!(
                "installed in {place}, but a new {name} did not finish starting within {} s",
                SHELL_LIMIT.as_secs()
            ),
        )
        .fix(format!("find what in {place} waits or is slow (a prompt, a network call), then run `backstop doctor` again"));
    }
    if active(&ran.stdout) {
        let mut c = check(Status::Ok, format!("installed in {place}; {how}"));
        if !runs_this {
            c.status = Status::Warn;
            c.summary
                .push_str(", but through another backstop binary than this one");
            c = c.fix(format!(
                "backstop install {name} (points the block at this binary)"
            ));
        } else if shell == Shell::Bash {
            if let Some(note) = bash_login_gap(&profile) {
                c.status = Status::Warn;
                c.summary.push_str(&format!("; {note}"));
                c = c.fix("add `[ -f ~/.bashrc ] && . ~/.bashrc` to ~/.bash_profile");
            }
        }
        return c;
    }
    let said = tail(&ran.stderr);
    let why = if said.is_empty() {
        String::new()
    } else {
        format!(" (it said: {said})")
    };
    let fix = if runs_this {
        format!("something before the block in {place} returns or fails first; run `{} -i` and read its errors, or move the block to the end", shell_program(shell))
    } else {
        format!("backstop install {name} (points the block at this binary: the one it names may be gone)")
    };
    check(
        Status::Fail,
        format!("installed in {place}, but a new {name} did not load it{why}"),
    )
    .fix(fix)
}

/// Login shells (ssh, macOS Terminal) read ~/.bash_profile or ~/.bash_login, not
/// ~/.bashrc: say so when one exists and does not load ~/.bashrc.
fn bash_login_gap(profile: &Path) -> Option<String> {
    let home = profile.parent()?;
    if profile.file_name()? != ".bashrc" {
        return None;
    }
    for name in [".bash_profile", ".bash_login"] {
        let file = home.join(name);
        if let Ok(text) = std::fs::read_to_string(&file) {
            if !text.contains("bashrc") && block_of(&text).is_none() {
                return Some(format!(
                    "login shells read ~/{name}, which does not load ~/.bashrc"
                ));
            }
            return None;
        }
    }
    None
}

/// What each agent sends for a harmless command, in its own protocol.
fn harmless_input(agent: Agent) -> serde_json::Value {
    use serde_json::json;
    match agent {
        Agent::Claude | Agent::Codex => json!({
            "hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": {"command": "true"}, "cwd": "/"
        }),
        Agent::Gemini => json!({
            "hook_event_name": "BeforeTool", "tool_name": "run_shell_command",
            "tool_input": {"command": "true"}, "cwd": "/"
        }),
        Agent::Cursor => json!({
            "hook_event_name": "beforeShellExecution", "command": "true", "cwd": "/"
        }),
        Agent::Copilot => json!({
            "toolName": "bash", "toolArgs": "{\"command\":\"true\"}", "cwd": "/"
        }),
    }
}

/// The user's settings file, and the project's in the current directory when it holds
/// backstop's entry.
fn agent_checks(agent: Agent) -> Vec<Check> {
    let name = agent.name();
    let args = |project| InstallArgs {
        shell: name.to_string(),
        profile: None,
        project,
        no_completions: false,
        wrap_clients: false,
    };
    let mut out = Vec::new();
    let mut user_file: Option<std::path::PathBuf> = None;
    for project in [false, true] {
        let file = match crate::agent::settings::settings_file(agent, &args(project)) {
            Ok(f) => f,
            Err(e) if !project => {
                out.push(Check::new("agent", name, Status::Fail, format!("{e:#}")));
                continue;
            }
            Err(_) => continue,
        };
        let label = if project {
            format!("{name} (project)")
        } else {
            name.to_string()
        };
        // In the home directory the project's file is the user's: said once.
        if project && user_file.as_ref().is_some_and(|u| same_file(u, &file)) {
            continue;
        }
        if !project {
            user_file = Some(file.clone());
        }
        match crate::agent::settings::installed_command(agent, &file) {
            Err(e) => out.push(
                Check::new("agent", label, Status::Fail, format!("{e:#}")).fix(format!(
                    "correct {}, then `backstop install {name}`",
                    file.display()
                )),
            ),
            Ok(None) if project => {}
            Ok(None) => out.push(
                Check::new(
                    "agent",
                    label,
                    Status::Skip,
                    format!("not installed ({})", shown(&file)),
                )
                .fix(format!("backstop install {name}")),
            ),
            Ok(Some(command)) => out.push(agent_probe(agent, label, &file, &command, project)),
        }
    }
    out
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Runs the hook command from the agent's settings, as the agent would, on a
/// harmless command: it must answer without objection.
fn agent_probe(agent: Agent, label: String, file: &Path, command: &str, project: bool) -> Check {
    let name = agent.name();
    let place = shown(file);
    let again = if project {
        format!("backstop install {name} --project")
    } else {
        format!("backstop install {name}")
    };
    let shell = if cfg!(windows) { "cmd" } else { "sh" };
    let Ok(program) = backstop_backup::recipe::resolve_program(shell) else {
        return Check::new(
            "agent",
            label,
            Status::Skip,
            format!("installed in {place}; not checked: no {shell} to run its hook command"),
        );
    };
    let mut cmd = command_at(&program);
    if cfg!(windows) {
        cmd.args(["/C", command]);
    } else {
        cmd.args(["-c", command]);
    }
    let input = harmless_input(agent).to_string();
    let ran = match run_bounded(cmd, Some(input.as_bytes()), AGENT_LIMIT) {
        Ok(r) => r,
        Err(e) => {
            return Check::new(
                "agent",
                label,
                Status::Fail,
                format!("installed in {place}, but its hook command could not start: {e}"),
            )
            .fix(again)
        }
    };
    let answered = ran.status.is_some_and(|s| s.success())
        && serde_json::from_str::<serde_json::Value>(ran.stdout.trim())
            .is_ok_and(|v| !v.to_string().contains("deny"));
    if answered {
        return Check::new(
            "agent",
            label,
            Status::Ok,
            format!("installed in {place}; its hook answers"),
        );
    }
    let said = tail(&ran.stderr);
    let what = match ran.status {
        None => format!("did not answer within {} s", AGENT_LIMIT.as_secs()),
        Some(s) if !s.success() => format!(
            "failed ({s}){}",
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        ),
        Some(_) => format!("answered {:?}", ran.stdout.trim()),
    };
    Check::new(
        "agent",
        label,
        Status::Fail,
        format!("installed in {place}, but its hook command `{command}` {what}"),
    )
    .fix(format!(
        "{again} (writes this binary's path into the entry)"
    ))
}

fn policy_checks(dirs: &Dirs, settings: Result<&Settings, &anyhow::Error>) -> Vec<Check> {
    let mut out = Vec::new();
    let cwd = std::env::current_dir().ok();
    let check = match crate::config::engine(dirs, cwd.as_deref()) {
        Err(e) => Check::new("policies", "policies", Status::Fail, format!("{e:#}"))
            .fix("correct the file named above; `backstop policy check FILE` checks one"),
        Ok(engine) => match engine.all_policies() {
            Err(e) => Check::new("policies", "policies", Status::Fail, format!("{e:#}"))
                .fix("correct the file named above; `backstop policy check FILE` checks one"),
            Ok(policies) => {
                let mut invalid = None;
                let mut rules = 0;
                for p in &policies {
                    for r in &p.rules {
                        rules += 1;
                        if let Err(e) = r.validate() {
                            invalid.get_or_insert_with(|| format!("{}:{}: {e}", p.origin, r.line));
                        }
                    }
                }
                let own = policies
                    .iter()
                    .filter(|p| p.layer != backstop_rules::Layer::Builtin)
                    .count();
                match invalid {
                    Some(e) => Check::new("policies", "policies", Status::Fail, e)
                        .fix("correct that rule; `backstop policy check` checks every layer"),
                    None => Check::new(
                        "policies",
                        "policies",
                        Status::Ok,
                        format!(
                            "{rules} rules load ({} built-in packs, {own} policy file{})",
                            policies.len() - own,
                            plural(own)
                        ),
                    ),
                }
            }
        },
    };
    out.push(check);
    if let Some(home) = std::env::var_os("BACKSTOP_HOME").filter(|h| !h.is_empty()) {
        out.push(
            Check::new(
                "policies",
                "BACKSTOP_HOME",
                Status::Warn,
                format!(
                    "is set ({}): the system layer is read from {} instead of {}",
                    Path::new(&home).display(),
                    dirs.system.display(),
                    if cfg!(windows) {
                        r"%ProgramData%\backstop"
                    } else {
                        "/etc/backstop"
                    }
                ),
            )
            .fix("unset BACKSTOP_HOME unless this is a test: it is for tests and the scorer"),
        );
    }
    out.push(match settings {
        Ok(_) => {
            let files: Vec<String> = [
                crate::settings::system_file(dirs),
                crate::settings::user_file(dirs),
            ]
            .iter()
            .filter(|f| f.is_file())
            .map(|f| shown(f))
            .collect();
            let summary = if files.is_empty() {
                "no config.toml: the defaults apply".to_string()
            } else {
                format!("{} read", files.join(" and "))
            };
            Check::new("policies", "settings", Status::Ok, summary)
        }
        Err(e) => Check::new("policies", "settings", Status::Fail, format!("{e:#}"))
            .fix("correct config.toml where the message points"),
    });
    out
}

fn data_check(dirs: &Dirs) -> Check {
    let dir = &dirs.data;
    let writable = std::fs::create_dir_all(dir)
        .and_then(|()| tempfile::NamedTempFile::new_in(dir))
        .and_then(|mut f| f.write_all(b"backstop doctor").and_then(|()| f.flush()));
    match writable {
        Ok(()) => Check::new(
            "data",
            "data",
            Status::Ok,
            format!(
                "{} is writable{}",
                shown(dir),
                backstop_backup::dest::free_space_of(dir)
                    .map(|f| format!(" ({} free)", crate::settings::human_size(f)))
                    .unwrap_or_default()
            ),
        ),
        Err(e) => Check::new(
            "data",
            "data",
            Status::Fail,
            format!(
                "cannot write in {}: {e}; manifests and the audit log live there",
                dir.display()
            ),
        )
        .fix(format!(
            "make {} writable by you (`ls -ld` it), or set BACKSTOP_HOME to a directory you own",
            dir.display()
        )),
    }
}

fn audit_checks(dirs: &Dirs, settings: Option<&Settings>) -> Vec<Check> {
    let mut out = Vec::new();
    let log = crate::audit::log_path(dirs);
    let records = crate::audit::read(dirs).map(|r| r.len()).unwrap_or(0);
    out.push(match crate::audit::verify(dirs) {
        Ok(problems) if problems.is_empty() => Check::new(
            "audit",
            "chain",
            Status::Ok,
            format!("{records} record{} in {}, the chain verifies", plural(records), shown(&log)),
        ),
        Ok(problems) => Check::new(
            "audit",
            "chain",
            Status::Fail,
            format!(
                "the chain is broken ({} problem{}): {}",
                problems.len(),
                plural(problems.len()),
                problems[0]
            ),
        )
        .fix(format!(
            "something changed the audit log: keep a copy of {} for whoever looks into it; `backstop audit verify` lists every problem",
            log.display()
        )),
        Err(e) => Check::new("audit", "chain", Status::Fail, format!("{e:#}"))
            .fix(format!("make {} readable by you", log.display())),
    });
    let Some(target) = settings.and_then(|s| s.audit.syslog.clone()) else {
        return out;
    };
    let facility = settings.map_or(4, |s| s.audit.facility);
    let probe = crate::audit::Record {
        seq: 0,
        time: crate::config::unix_now().as_secs(),
        event: "doctor".into(),
        source: "doctor".into(),
        session: String::new(),
        line: "backstop doctor: a test of audit forwarding".into(),
        line_sha256: crate::audit::sha256_hex(b"backstop doctor: a test of audit forwarding"),
        rules: Vec::new(),
        targets: Vec::new(),
        detail: String::new(),
        prev: String::new(),
    };
    let message = crate::syslog::message(&probe, "", facility);
    let (done, wait) = std::sync::mpsc::channel();
    let to = target.clone();
    std::thread::spawn(move || {
        let _ = done.send(crate::syslog::send(&to, &message, Duration::from_secs(2)));
    });
    out.push(match wait.recv_timeout(Duration::from_secs(3)) {
        Ok(Ok(())) => Check::new(
            "audit",
            "syslog",
            Status::Ok,
            format!(
                "a test message (msgid doctor) was sent to {target}{}",
                if matches!(target, crate::syslog::Target::Udp(_)) {
                    "; UDP cannot confirm it arrived"
                } else {
                    ""
                }
            ),
        ),
        Ok(Err(e)) => Check::new("audit", "syslog", Status::Fail, format!("records cannot be forwarded to {target}: {e}"))
            .fix("start the collector, or correct [audit] syslog in config.toml; the local log keeps every record meanwhile"),
        Err(_) => Check::new("audit", "syslog", Status::Fail, format!("{target} did not answer within 3 s"))
            .fix("start the collector, or correct [audit] syslog in config.toml; the local log keeps every record meanwhile"),
    });
    let note = crate::syslog::error_file(dirs);
    if let Ok(text) = std::fs::read_to_string(&note) {
        let (time, rest) = text.trim().split_once(' ').unwrap_or(("", text.trim()));
        let ago = time
            .parse::<u64>()
            .map(|t| {
                format!(
                    "{} ago: ",
                    crate::report::human_age(crate::config::unix_now().as_secs().saturating_sub(t))
                )
            })
            .unwrap_or_default();
        out.push(
            Check::new("audit", "forwarding", Status::Warn, format!("{ago}{rest}")).fix(format!(
                "that record is only in the local log; remove {} once the collector is fixed",
                note.display()
            )),
        );
    }
    out
}

/// Each destination reachable, with its free space, and the two in separate failure domains.
fn destination_checks(settings: Option<&Settings>) -> Vec<Check> {
    let Some(settings) = settings else {
        return Vec::new();
    };
    let configured = &settings.backup.to;
    if configured.is_empty() {
        return vec![Check::new(
            "destination",
            "destinations",
            Status::Warn,
            "none configured: a line refused for want of a backup cannot be backed up on the spot"
                .into(),
        )
        .fix("backstop setup")];
    }
    let min_free = settings.backup.min_free;
    let mut out: Vec<(Check, Option<backstop_backup::domain::Domain>)> = std::thread::scope(|s| {
        let handles: Vec<_> = configured
            .iter()
            .map(|c| s.spawn(move || destination_check(&c.dest, min_free)))
            .collect();
        handles
            .into_iter()
            .zip(configured)
            .map(|(h, c)| {
                h.join().unwrap_or_else(|_| {
                    (
                        Check::new(
                            "destination",
                            c.dest.to_string(),
                            Status::Fail,
                            "the check failed".into(),
                        ),
                        None,
                    )
                })
            })
            .collect()
    });
    let mut checks: Vec<Check> = Vec::new();
    let domains: Vec<backstop_backup::domain::Domain> =
        out.iter().filter_map(|(_, d)| d.clone()).collect();
    let all_reached = domains.len() == configured.len();
    checks.extend(out.drain(..).map(|(c, _)| c));
    if configured.len() < 2 {
        checks.push(
            Check::new(
                "destination",
                "redundancy",
                Status::Fail,
                "one destination: a backup needs two copies in different failure domains".into(),
            )
            .fix("backstop setup (choose two: a second disk, a NAS, restic or rclone)"),
        );
    } else if all_reached {
        if let Some(why) =
            backstop_backup::domain::not_redundant(&domains, settings.backup.volatile_counts)
        {
            checks.push(
                Check::new(
                    "destination",
                    "redundancy",
                    Status::Fail,
                    format!("the destinations are not in separate failure domains: {why}"),
                )
                .fix("backstop setup (choose destinations on different disks or machines)"),
            );
        } else {
            checks.push(Check::new(
                "destination",
                "redundancy",
                Status::Ok,
                "the destinations are in separate failure domains".into(),
            ));
        }
    }
    checks
}

fn destination_check(
    dest: &Dest,
    min_free: u64,
) -> (Check, Option<backstop_backup::domain::Domain>) {
    let name = dest.to_string();
    let unreachable = |why: String| {
        let fix = match dest {
            Dest::Local(p) => format!("create {} or mount the drive it is on, or choose another with `backstop setup`", p.display()),
            Dest::Restic(_) => "check the repository and its password (RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND in backstop's environment), or choose another with `backstop setup`".into(),
            Dest::Rclone(_) => "check the remote with `rclone lsd REMOTE:`, or choose another with `backstop setup`".into(),
        };
        (
            Check::new(
                "destination",
                name.clone(),
                Status::Fail,
                format!("unreachable: {why}"),
            )
            .fix(fix),
            None,
        )
    };
    let limit = match dest {
        Dest::Local(_) => LOCAL_LIMIT,
        _ => REMOTE_LIMIT,
    };
    // Local directories through a thread (a hung network mount), remotes through
    // their program, killed at the limit.
    let reached: Result<Option<u64>, String> = match dest {
        Dest::Local(_) => {
            let d = dest.clone();
            let (done, wait) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let r = d
                    .reachable()
                    .map(|()| d.free_space())
                    .map_err(|e| e.to_string());
                let _ = done.send(r);
            });
            wait.recv_timeout(limit).unwrap_or_else(|_| {
                Err(format!(
                    "no answer within {} s (a hung network mount?)",
                    limit.as_secs()
                ))
            })
        }
        Dest::Restic(repo) => {
            let password = [
                "RESTIC_PASSWORD",
                "RESTIC_PASSWORD_FILE",
                "RESTIC_PASSWORD_COMMAND",
            ]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
            if password {
                run_remote("restic", &["-r", repo, "--quiet", "cat", "config"], limit)
                    .map(|_| dest.free_space())
            } else {
                Err("restic needs the repository's password, and none is set (RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND or RESTIC_PASSWORD)".into())
            }
        }
        Dest::Rclone(target) => run_remote("rclone", &["mkdir", target], limit).map(|_| {
            let remote = target.rsplit_once(':').map_or(target.as_str(), |(r, _)| r);
            run_remote("rclone", &["about", "--json", &format!("{remote}:")], limit)
                .ok()
                .and_then(|out| serde_json::from_str::<serde_json::Value>(&out).ok())
                .and_then(|v| v.get("free").and_then(serde_json::Value::as_u64))
        }),
    };
    let free = match reached {
        Ok(free) => free,
        Err(why) => return unreachable(why),
    };
    let domain = dest.domain().ok();
    let space = free.map_or_else(
        || "free space unknown".to_string(),
        |f| format!("{} free", crate::settings::human_size(f)),
    );
    let check = match free {
        Some(f) if f < min_free => Check::new(
            "destination",
            name,
            Status::Fail,
            format!("reachable, but only {space}, under [backup] min_free ({}): backups there are refused", crate::settings::human_size(min_free)),
        )
        .fix("free space there, or lower [backup] min_free in config.toml"),
        _ => Check::new("destination", name, Status::Ok, format!("reachable, {space}")),
    };
    (check, domain)
}

/// `program args` to its end within `limit`: its stdout, or why not.
fn run_remote(program: &str, args: &[&str], limit: Duration) -> Result<String, String> {
    let path = backstop_backup::recipe::resolve_program(program).map_err(|e| e.to_string())?;
    let mut cmd = command_at(&path);
    cmd.args(args);
    let ran =
        run_bounded(cmd, None, limit).map_err(|e| format!("`{program}` could not start: {e}"))?;
    match ran.status {
        None => Err(format!(
            "`{program} {}` did not answer within {} s",
            args.join(" "),
            limit.as_secs()
        )),
        Some(s) if !s.success() => Err(format!(
            "`{program} {}` failed ({s}): {}",
            args.join(" "),
            tail(&ran.stderr)
        )),
        Some(_) => Ok(ran.stdout),
    }
}

/// Backups that wait for a restore test, failed one, or can be cleaned up.
fn backup_checks(dirs: &Dirs) -> Vec<Check> {
    let manifests = match Manifest::list(&crate::backups::manifests_dir(dirs)) {
        Ok(m) => m,
        Err(e) => {
            return vec![
                Check::new("backups", "manifests", Status::Fail, format!("{e:#}"))
                    .fix("correct or move away the manifest named above"),
            ]
        }
    };
    let live: Vec<&Manifest> = manifests
        .iter()
        .filter(|m| m.restore_test != "cleaned")
        .collect();
    if live.is_empty() {
        return vec![Check::new(
            "backups",
            "backups",
            Status::Ok,
            "no backups kept".into(),
        )];
    }
    let ids = |want: &str| -> Vec<&str> {
        live.iter()
            .filter(|m| m.restore_test == want)
            .map(|m| m.id.as_str())
            .collect()
    };
    let listed = |ids: &[&str]| {
        let mut text = ids.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        if ids.len() > 5 {
            text.push_str(&format!(" and {} more", ids.len() - 5));
        }
        text
    };
    let mut out = vec![Check::new(
        "backups",
        "backups",
        Status::Ok,
        format!("{} backup{} kept", live.len(), plural(live.len())),
    )];
    let untested = ids("not-run");
    if !untested.is_empty() {
        out.push(
            Check::new(
                "backups",
                "restore test",
                Status::Warn,
                format!(
                    "{} await{} a restore test: {}",
                    untested.len(),
                    if untested.len() == 1 { "s" } else { "" },
                    listed(&untested)
                ),
            )
            .fix(format!("backstop restore-test {}", untested[0])),
        );
    }
    let failed = ids("failed");
    if !failed.is_empty() {
        out.push(
            Check::new(
                "backups",
                "restore failed",
                Status::Warn,
                format!(
                    "{} failed {} restore test: {}",
                    failed.len(),
                    if failed.len() == 1 { "its" } else { "their" },
                    listed(&failed)
                ),
            )
            .fix(format!(
                "`backstop manifests show {}` says why; back the target up again",
                failed[0]
            )),
        );
    }
    let done = ids("passed");
    if !done.is_empty() {
        out.push(
            Check::new(
                "backups",
                "cleanup",
                Status::Warn,
                format!(
                    "{} passed {} restore test and can be cleaned up: {}",
                    done.len(),
                    if done.len() == 1 { "its" } else { "their" },
                    listed(&done)
                ),
            )
            .fix(format!(
                "backstop cleanup {} (or `backstop cleanup --older-than 30days --keep-last 2`)",
                done[0]
            )),
        );
    }
    out
}

/// A program already resolved to an absolute path (`resolve_program`).
#[allow(clippy::disallowed_methods)]
fn command_at(path: &Path) -> Command {
    Command::new(path)
}
