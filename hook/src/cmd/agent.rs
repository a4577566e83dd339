//! `backstop agent-hook AGENT`: decides an AI coding agent's shell command, or an edit
//! by its own file tools, from the agent's hook JSON on stdin, and answers on stdout
//! in that agent's protocol (docs/agents.md).
//!
//! It fails closed: several agents run the command when a hook crashes, times out or
//! exits with an unexpected code, so every failure here (unreadable or oversized
//! input, a broken policy, a panic, a decision that takes too long) is answered with
//! a deny that names the error, and logged. The exit code is 0 whenever an answer was
//! written; 2, which most agents take as a block, when not even that was possible.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use backstop_backup::manifest::Manifest;
use backstop_rules::{BackupStatus, Decision, Evaluation, Layer};
use serde_json::Value;

use crate::agent::{Agent, Answer, FileEdit, Input, Request};
use crate::audit::{self, Entry, TargetRecord};
use crate::cli::AgentHookArgs;
use crate::config::Dirs;
use crate::protect::{Protected, Refusal};
use crate::report;

/// Exit code when no answer could be written: Claude Code, Codex, Gemini CLI and
/// Cursor block on 2.
pub const EXIT_BLOCK: u8 = 2;

/// Hook input beyond this is refused unread: a command line is never that long.
const MAX_INPUT: u64 = 4 << 20;

/// How long a decision may take before it is a deny. A benign command takes about a
/// millisecond; this bounds one whose backup is slow to verify, and stays below the
/// agents' own hook timeouts (`settings::AGENT_TIMEOUT_SECS`), which let commands run.
const DECIDE_WITHIN: Duration = Duration::from_secs(20);

/// How much of a command a reason quotes, and how long a reason may grow.
const QUOTED_CHARS: usize = 300;
const SHOWN_CHARS: usize = 8000;

pub fn run(a: &AgentHookArgs) -> ExitCode {
    let Some(agent) = Agent::from_name(&a.agent) else {
        eprintln!(
            "backstop: `{}` is not an agent backstop speaks to ({}); fix the hook's command line. The command was blocked.",
            a.agent,
            Agent::ALL.map(Agent::name).join(", ")
        );
        return ExitCode::from(EXIT_BLOCK);
    };
    let (answer, entry) = decide(agent, decide_within());
    if let Some(entry) = entry {
        // The log must not decide: a failure to write it is reported, the answer stands.
        match Dirs::discover().and_then(|d| audit::append(&d, entry)) {
            Ok(_) => {}
            Err(e) => eprintln!("backstop: could not write the audit log: {e:#}"),
        }
    }
    let text = agent.render(&answer).to_string();
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
        eprintln!(
            "backstop: could not write the answer for {}; the command is blocked",
            agent.name()
        );
        return ExitCode::from(EXIT_BLOCK);
    }
    ExitCode::SUCCESS
}

/// `BACKSTOP_DECIDE_WITHIN_MS` may shorten the bound, never lengthen it.
fn decide_within() -> Duration {
    std::env::var("BACKSTOP_DECIDE_WITHIN_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_millis)
        .map_or(DECIDE_WITHIN, |d| d.min(DECIDE_WITHIN))
}

/// The answer, and the audit record to write for it (none for no objection).
fn decide(agent: Agent, within: Duration) -> (Answer, Option<Entry>) {
    let failed = |session: String, line: String, why: String| {
        let reason = format!(
            "backstop refused this command because it could not check it: {why}. backstop refuses whatever it cannot check for an agent; the error is in its audit log (`backstop audit`)."
        );
        let entry = Entry {
            event: "deny".into(),
            source: agent.name().into(),
            session,
            line,
            detail: format!("error: {why}"),
            ..Entry::default()
        };
        (Answer::Deny { reason }, Some(entry))
    };
    let bytes = match read_input() {
        Ok(b) => b,
        Err(why) => return failed(String::new(), String::new(), why),
    };
    let input: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return failed(
                String::new(),
                String::new(),
                format!("its hook input is not JSON ({e}); check that this agent's hook runs `backstop agent-hook {}`", agent.name()),
            )
        }
    };
    let session = agent.session(&input);
    let request = match agent.request(&input) {
        Ok(Input::Shell(r)) => r,
        Ok(Input::Files(edit)) => {
            let line = format!("{} {}", edit.tool, edit.paths.join(" "));
            return match refusal(edit, within) {
                Ok(None) => (Answer::NoObjection, None),
                Ok(Some(r)) => refuse_edit(agent, session, line, &r),
                Err(why) => failed(session, line, why),
            };
        }
        Ok(Input::OtherTool(_)) => return (Answer::NoObjection, None),
        Err(why) => return failed(session, String::new(), why),
    };
    if request.command.trim().is_empty() {
        return (Answer::NoObjection, None);
    }
    let line = request.command.clone();
    let shell = request.shell.to_string();
    let (eval, evidence) = match evaluate(request, within) {
        Ok(x) => x,
        Err(why) => return failed(session, line, why),
    };
    if eval.decision == Decision::Allow {
        // A line a backup let through is logged, so that `undo` can bring it back.
        let restorable = report::restorable(&eval);
        let entry = (!restorable.is_empty()).then(|| {
            entry_for(
                agent,
                "allowed",
                session,
                line,
                &eval,
                restorable.join("; "),
            )
        });
        return (Answer::NoObjection, entry);
    }
    let shown = quoting_briefly(&eval);
    let self_protection: Vec<&backstop_rules::Finding> = eval
        .findings
        .iter()
        .filter(|f| f.decision != Decision::Allow)
        .filter(|f| f.layer == Layer::Builtin && f.id.starts_with("backstop."))
        .collect();
    let (answer, event, detail) = if !self_protection.is_empty() {
        let rules: Vec<String> = self_protection
            .iter()
            .map(|f| format!("{} ({})", f.id, f.description))
            .collect();
        let reason = format!(
            "backstop refused this command: it would weaken backstop itself: {}. Turning backstop off, or changing its policies, manifests, audit log, backup copies or an agent's hook settings, is for a person to do at a terminal, where backstop asks them; do not look for another way around it.",
            rules.join("; ")
        );
        (
            Answer::Deny { reason },
            "deny",
            "self-protection: refused for agents, which cannot be asked".to_string(),
        )
    } else if eval.decision == Decision::Ask && agent.has_dialog() {
        let evidence = evidence.unwrap_or_default();
        let reason = format!(
            "backstop: {} {evidence}Approve only if you mean it{}.",
            sentence(&report::reason(&shown)),
            if evidence.is_empty() {
                ""
            } else {
                "; the backup stays until `backstop cleanup`"
            }
        );
        (
            Answer::Ask { reason },
            "ask",
            format!("asked in {}'s confirmation dialog", agent.name()),
        )
    } else if eval.decision == Decision::Ask {
        let reason = format!(
            "backstop refused this command. {} That approval is for a person, and {} cannot ask one: a person must run the command in a terminal where backstop's shell hook asks them.",
            sentence(&report::reason(&shown)),
            agent.name()
        );
        let detail = format!(
            "needs a person's approval, and {} has no dialog to ask in",
            agent.name()
        );
        (Answer::Deny { reason }, "deny", detail)
    } else {
        let mut reason = format!(
            "backstop refused this command. {}",
            sentence(&report::reason(&shown))
        );
        if let Some(remedy) = report::remedy_with(&shown, Some((&line, &shell))) {
            // Approving is the person's part, said below for this agent.
            let remedy = remedy
                .trim_end_matches(" and approve it")
                .trim_end_matches(", then run the command again");
            reason.push_str(&format!(" To go ahead: {remedy}."));
        }
        let outright = eval
            .findings
            .iter()
            .any(|f| f.decision == Decision::Deny && f.requires == backstop_rules::Requires::Deny);
        if !outright {
            reason.push_str(&if agent.has_dialog() {
                format!(" You may run that backup yourself; then run your command again, and {} will ask a person to approve it.", agent.name())
            } else {
                format!(" You may run that backup yourself, but approving is for a person and {} cannot ask one: once the target is covered, a person must run the command in a terminal where backstop's shell hook asks them.", agent.name())
            });
        }
        (Answer::Deny { reason }, "deny", String::new())
    };
    let answer = match answer {
        Answer::Ask { reason } => Answer::Ask {
            reason: shorten(&reason),
        },
        Answer::Deny { reason } => Answer::Deny {
            reason: shorten(&reason),
        },
        a => a,
    };
    (
        answer,
        Some(entry_for(agent, event, session, line, &eval, detail)),
    )
}

/// Stdin, at most [`MAX_INPUT`] bytes.
fn read_input() -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the hook input ({e})"))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(format!(
            "its hook input is larger than {} MiB, more than any command backstop checks",
            MAX_INPUT >> 20
        ));
    }
    Ok(bytes)
}

/// Why the first of an edit's files may not be written, if one may not.
fn refusal(edit: FileEdit, within: Duration) -> Result<Option<Refusal>, String> {
    on_thread(within, move || {
        let dirs = Dirs::discover()?;
        let protected = Protected::discover(&dirs);
        let cwd = edit.cwd.as_deref().map(std::path::Path::new);
        Ok(edit.paths.iter().find_map(|p| protected.check(p, cwd)))
    })
}

/// The deny for an agent's edit of something that keeps backstop working.
fn refuse_edit(
    agent: Agent,
    session: String,
    line: String,
    r: &Refusal,
) -> (Answer, Option<Entry>) {
    let leads = r
        .resolved
        .as_ref()
        .map(|to| format!(" (which leads to {})", to.display()))
        .unwrap_or_default();
    let reason = format!(
        "backstop refused this edit: {}{leads} is {}. Changing backstop's configuration, policies or data, a repository's .backstop/, an agent's hook settings or a shell profile that loads backstop would weaken backstop itself; that is for a person to do, not an agent. Do not look for another way around it.",
        r.path.display(),
        r.what
    );
    let entry = Entry {
        event: "deny".into(),
        source: agent.name().into(),
        session,
        line,
        rules: vec![EDIT_RULE.into()],
        detail: format!("self-protection: {}", r.what),
        ..Entry::default()
    };
    (
        Answer::Deny {
            reason: shorten(&reason),
        },
        Some(entry),
    )
}

/// The name an agent's refused file edit has in the audit log.
pub const EDIT_RULE: &str = "backstop.agent-file-edit";

/// Run `work` on a thread of its own, so that one that runs long, or panics, becomes
/// an error here instead of an agent's timeout or crash, which let the tool run.
fn on_thread<T: Send + 'static>(
    within: Duration,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("decide".into())
        .spawn(move || {
            let _ = tx.send(work().map_err(|e| format!("{e:#}")));
        })
        .map_err(|e| format!("cannot start deciding ({e})"))?;
    match rx.recv_timeout(within) {
        Ok(decided) => decided,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "deciding took longer than {} ms (verifying a backup, perhaps)",
            within.as_millis()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("backstop failed while deciding (see its message on stderr)".into())
        }
    }
}

/// Evaluate on a thread of its own, so that a decision that runs long, or panics,
/// becomes a deny here instead of an agent's timeout or crash, which let it run.
fn evaluate(request: Request, within: Duration) -> Result<(Evaluation, Option<String>), String> {
    let dialect = super::parse_dialect(request.shell).map_err(|e| format!("{e:#}"))?;
    let cwd = request
        .cwd
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    let input = super::LineInput {
        line: request.command,
        dialect,
        cwd,
        home: crate::config::home_dir(),
    };
    on_thread(within, move || {
        let dirs = Dirs::discover()?;
        let oracle = crate::backups::ManifestOracle::new(dirs.clone());
        let eval = input.evaluate_with(&dirs, &oracle)?;
        let evidence = (eval.decision == Decision::Ask).then(|| evidence(&eval, &dirs));
        Ok((eval, evidence))
    })
}

/// For the person in the agent's dialog: each covering backup, briefly.
fn evidence(eval: &Evaluation, dirs: &Dirs) -> String {
    let manifests = Manifest::list(&crate::backups::manifests_dir(dirs)).unwrap_or_default();
    let now = crate::config::unix_now().as_secs();
    let mut shown = Vec::new();
    let mut out = String::new();
    for t in eval.findings.iter().flat_map(|f| &f.targets) {
        let Some(id) = t
            .backup
            .manifest
            .as_ref()
            .filter(|_| t.backup.status == BackupStatus::Covered)
        else {
            continue;
        };
        if shown.contains(id) {
            continue;
        }
        shown.push(id.clone());
        let Some(m) = manifests.iter().find(|m| &m.id == id) else {
            continue;
        };
        let copies: Vec<String> = m
            .copies
            .iter()
            .map(|c| {
                format!(
                    "{} ({} bytes, sha256 {}…)",
                    c.shown(),
                    c.size,
                    c.sha256.get(..12).unwrap_or(&c.sha256)
                )
            })
            .collect();
        out.push_str(&format!(
            "Backup {id} covers {}: made {} ago, {}, restore test: {}; copies {}. ",
            t.value,
            report::human_age(now.saturating_sub(m.created)),
            if m.redundant {
                "in separate failure domains"
            } else {
                "in ONE failure domain"
            },
            m.restore_test,
            copies.join(" and ")
        ));
    }
    out
}

fn entry_for(
    agent: Agent,
    event: &str,
    session: String,
    line: String,
    eval: &Evaluation,
    detail: String,
) -> Entry {
    Entry {
        event: event.into(),
        source: agent.name().into(),
        session,
        line,
        rules: eval.findings.iter().map(|f| f.id.clone()).collect(),
        targets: eval
            .findings
            .iter()
            .flat_map(|f| f.targets.iter().map(TargetRecord::of))
            .collect(),
        detail,
    }
}

/// The evaluation with each command cut to [`QUOTED_CHARS`], for the words of a reason:
/// a 1 MB command is quoted in part (the audit log keeps all of it).
fn quoting_briefly(eval: &Evaluation) -> Evaluation {
    let mut shown = eval.clone();
    for f in &mut shown.findings {
        if f.command.chars().count() > QUOTED_CHARS {
            f.command = f.command.chars().take(QUOTED_CHARS).collect::<String>() + "…";
        }
    }
    shown
}

/// `text` ending with a full stop.
fn sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with('.') {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// A reason short enough for a dialog and a model's context, whatever it quotes.
fn shorten(reason: &str) -> String {
    if reason.chars().count() <= SHOWN_CHARS {
        return reason.to_string();
    }
    let mut s: String = reason.chars().take(SHOWN_CHARS).collect();
    s.push_str("… (shortened)");
    s
}
