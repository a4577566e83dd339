//! `backstop hook`: the decision at the keyboard, called by the shell integrations
//! before each line runs. Exit 0 runs the line, 1 (not approved) and 2 (denied) do
//! not; anything else means backstop itself failed, and the integrations then run
//! the line with a warning rather than brick the shell.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use backstop_backup::manifest::Manifest;
use backstop_rules::policy::ApprovalPhrase;
use backstop_rules::{BackupStatus, Decision, Evaluation, Requires, Severity};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Entry, TargetRecord};
use crate::backups::manifests_dir;
use crate::cli::HookArgs;
use crate::config::Dirs;
use crate::style::{paint, ASK, HINT, OK, REFUSED, RULE, TARGET};
use crate::tty::{self, Answer};

pub const EXIT_REFUSED: u8 = 1;
pub const EXIT_DENIED: u8 = 2;

/// How long the person has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// What the hook leaves for `--after` when an approved line is about to run.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    line: String,
    manifests: Vec<String>,
    /// A person approved it; else a backup let it through, and the status is only logged.
    #[serde(default = "yes")]
    approved: bool,
}

fn yes() -> bool {
    true
}

pub fn run(a: &HookArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    if a.after {
        return after(a, &dirs);
    }
    let line = match &a.line_env {
        Some(var) => std::env::var(var)
            .with_context(|| format!("--line-env {var}: the variable is not set"))?,
        None => a.line.join(" "),
    };
    if line.trim().is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let input = super::LineInput {
        line: line.clone(),
        dialect: super::parse_dialect(&a.shell)?,
        cwd: a.cwd.clone().or_else(|| std::env::current_dir().ok()),
        home: crate::config::home_dir(),
    };
    // No timer: a line that matches no rule is decided in microseconds, and one that
    // does must not run unchecked because its backup took long to verify.
    let oracle = crate::backups::ManifestOracle::new(dirs.clone());
    let eval = input.evaluate_with(&dirs, &oracle)?;
    if oracle.interrupted() {
        crate::style::eprint(
            &(format!(
                "backstop: {}; the line did not run",
                paint(REFUSED, "interrupted")
            ) + "\n"),
        );
        log(
            &dirs,
            &Who::of(a),
            "refused",
            &line,
            Some(&eval),
            "interrupted with Ctrl-C",
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    match eval.decision {
        Decision::Allow => {
            let restorable = crate::report::restorable(&eval);
            if !restorable.is_empty() {
                // One line per target a backup let through: where it comes back from.
                eprint!("{}", lead(a));
                for r in &restorable {
                    crate::style::eprint(&(format!("backstop: {}", paint(OK, r)) + "\n"));
                }
                log(
                    &dirs,
                    &Who::of(a),
                    "allowed",
                    &line,
                    Some(&eval),
                    &restorable.join("; "),
                );
                leave_note(a, &dirs, &line, Vec::new(), false)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Decision::Deny => {
            let mut text = describe(&eval, &dirs, false);
            if let Some(remedy) = crate::report::remedy(&eval) {
                text.push_str(&format!("  to go ahead: {}\n", paint(HINT, remedy)));
            }
            crate::style::eprint(&format!(
                "{}backstop: {} `{line}`\n{text}",
                lead(a),
                paint(REFUSED, "refused")
            ));
            log(&dirs, &Who::of(a), "deny", &line, Some(&eval), "");
            if wants_only_a_backup(&eval) {
                if let Some(code) = offer_backup(a, &dirs, &input, &oracle)? {
                    return Ok(code);
                }
            }
            Ok(ExitCode::from(EXIT_DENIED))
        }
        Decision::Ask => ask(a, &dirs, &line, &eval),
    }
}

/// Is the line refused only because a backup is missing or stale? Then making the
/// backup now is the way forward.
fn wants_only_a_backup(eval: &Evaluation) -> bool {
    let refusing: Vec<&backstop_rules::Finding> = eval
        .findings
        .iter()
        .filter(|f| f.decision == Decision::Deny)
        .collect();
    !refusing.is_empty()
        && refusing.iter().all(|f| {
            f.requires == Requires::BackupAndApproval
                && f.targets.iter().all(|t| {
                    matches!(
                        t.backup.status,
                        BackupStatus::Covered | BackupStatus::Missing | BackupStatus::Stale
                    )
                })
        })
}

/// The time allowed for an answer: a minute, or less if the environment says so.
pub(crate) fn answer_within() -> Duration {
    std::env::var("BACKSTOP_ANSWER_WITHIN")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        // Only ever shorter: nothing in the environment can make approving easier.
        .map_or(ANSWER_WITHIN, |d| d.min(ANSWER_WITHIN))
}

/// Offer to make the missing backup now, at the terminal, to the configured
/// destinations; then ask for approval as usual. `None`: no offer could be made
/// (no destinations, no terminal), and the refusal stands as printed.
fn offer_backup(
    a: &HookArgs,
    dirs: &Dirs,
    input: &super::LineInput,
    oracle: &crate::backups::ManifestOracle,
) -> Result<Option<ExitCode>> {
    let Ok(settings) = crate::settings::Settings::load(dirs) else {
        return Ok(None);
    };
    if settings.backup.to.is_empty() {
        return Ok(None);
    }
    let recipes = crate::recipes::Recipes::load(dirs)?;
    let Ok(specs) =
        super::backup::specs_for_line(&recipes, &input.line, &a.shell, input.cwd.clone())
    else {
        return Ok(None);
    };
    if specs.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = specs
        .iter()
        .map(|s| match s {
            crate::recipes::Spec::Path(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            other => super::backup::shown_spec(other),
        })
        .collect();
    let paths: Vec<&std::path::Path> = specs
        .iter()
        .filter_map(|s| match s {
            crate::recipes::Spec::Path(p) => Some(p.as_path()),
            crate::recipes::Spec::Recipe { .. } => None,
        })
        .collect();
    let size = if paths.len() == specs.len() {
        let total: u64 = paths.iter().map(|p| super::backup::size_of_tree(p)).sum();
        format!(" ({})", crate::settings::human_size(total))
    } else {
        String::new()
    };
    let dests: Vec<String> = settings
        .backup
        .to
        .iter()
        .map(|c| c.dest.to_string())
        .collect();
    let question = format!(
        "backstop: type BACKUP to back up {}{size} to {} (anything else refuses): ",
        names.join(", "),
        dests.join(" and ")
    );
    match tty::ask(&question, "BACKUP", answer_within()) {
        Answer::Approved => {}
        Answer::NoTerminal => return Ok(None),
        Answer::Refused(why) => {
            crate::style::eprint(
                &(format!(
                    "backstop: {} ({why}); the line did not run",
                    paint(REFUSED, "no backup made")
                ) + "\n"),
            );
            return Ok(Some(ExitCode::from(EXIT_DENIED)));
        }
    }
    // From here Ctrl-C stops the backup (a flag, not the end of backstop).
    let flag = oracle.interrupt_flag();
    let request = super::backup::Request::default();
    let mut ids = Vec::new();
    for spec in &specs {
        let made = super::backup::backup_one(dirs, &settings, &request, spec, Some(&flag));
        if let Ok(m) = &made {
            ids.push(m.id.clone());
        }
        let interrupted = flag.load(std::sync::atomic::Ordering::Relaxed);
        if interrupted || made.is_err() {
            let why = if interrupted {
                "interrupted with Ctrl-C".to_string()
            } else {
                made.err().map(|e| format!("{e:#}")).unwrap_or_default()
            };
            crate::style::eprint(
                &(format!(
                    "backstop: {} ({why}); nothing of it was kept, and the line did not run",
                    paint(REFUSED, "the backup was not made")
                ) + "\n"),
            );
            log(
                dirs,
                &Who::of(a),
                "refused",
                &input.line,
                None,
                &format!("backup from the refusal failed: {why}"),
            );
            return Ok(Some(ExitCode::from(EXIT_REFUSED)));
        }
    }
    log(
        dirs,
        &Who::of(a),
        "backed-up",
        &input.line,
        None,
        &format!(
            "from the refusal, to {}: {}",
            dests.join(" and "),
            ids.join(", ")
        ),
    );
    // Decided again, on the backups just made.
    let fresh = crate::backups::ManifestOracle::new(dirs.clone());
    let eval = input.evaluate_with(dirs, &fresh)?;
    match eval.decision {
        Decision::Allow => Ok(Some(ExitCode::SUCCESS)),
        Decision::Ask => ask(a, dirs, &input.line, &eval).map(Some),
        Decision::Deny => {
            crate::style::eprint(&format!(
                "backstop: {} after the backup\n{}",
                paint(REFUSED, "still refused"),
                describe(&eval, dirs, false)
            ));
            log(
                dirs,
                &Who::of(a),
                "deny",
                &input.line,
                Some(&eval),
                "after a backup from the refusal",
            );
            Ok(Some(ExitCode::from(EXIT_DENIED)))
        }
    }
}

fn ask(a: &HookArgs, dirs: &Dirs, line: &str, eval: &Evaluation) -> Result<ExitCode> {
    // A program can open a terminal and type the phrase: under an agent, no one is asked.
    if let Some(agent) = crate::coding_agent::detect() {
        eprint!(
            "{}backstop: `{line}` needs a person's approval, and backstop does not ask for it here: {agent}. A coding agent can type into a terminal it opened, so nothing typed here would count. If you are a person, run the command in your own terminal, outside {}.\n{}",
            lead(a),
            agent.agent(),
            describe(eval, dirs, true)
        );
        log(
            dirs,
            &Who::of(a),
            "refused",
            line,
            Some(eval),
            &format!("under a coding agent: {agent}"),
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    log(dirs, &Who::of(a), "ask", line, Some(eval), "");
    let phrase = phrase(eval);
    let question = format!(
        "{}backstop: `{line}` {}\n{}backstop: type {} to run it (anything else refuses): ",
        lead(a),
        paint(ASK, "needs your approval"),
        describe(eval, dirs, true),
        paint(ASK, &phrase)
    );
    match tty::ask(&question, &phrase, answer_within()) {
        Answer::Approved => {
            log(dirs, &Who::of(a), "approved", line, Some(eval), "");
            leave_note(a, dirs, line, manifest_ids(eval), true)?;
            Ok(ExitCode::SUCCESS)
        }
        Answer::Refused(why) => {
            crate::style::eprint(
                &(format!(
                    "backstop: {} ({why}); the line did not run",
                    paint(REFUSED, "not approved")
                ) + "\n"),
            );
            log(dirs, &Who::of(a), "refused", line, Some(eval), &why);
            Ok(ExitCode::from(EXIT_REFUSED))
        }
        Answer::NoTerminal => {
            crate::style::eprint(
                &(format!(
                "backstop: `{line}` needs a person's approval at a terminal, and there is none; {}",
                paint(REFUSED, "it did not run")
            ) + "\n"),
            );
            crate::style::eprint(&describe(eval, dirs, true));
            log(
                dirs,
                &Who::of(a),
                "refused",
                line,
                Some(eval),
                "no terminal to ask on",
            );
            Ok(ExitCode::from(EXIT_REFUSED))
        }
    }
}

/// A note for the prompt hook (`--after`), which logs the line's exit status once it
/// ran. zsh also reads its presence as "the hook printed something; keep it".
fn leave_note(
    a: &HookArgs,
    dirs: &Dirs,
    line: &str,
    manifests: Vec<String>,
    approved: bool,
) -> Result<()> {
    let Some(session) = &a.session else {
        return Ok(());
    };
    let pending = Pending {
        line: line.to_string(),
        manifests,
        approved,
    };
    let dir = super::init::pending_dir(dirs);
    let _ = std::fs::create_dir_all(&dir);
    sweep_pending(&dir);
    let _ = backstop_backup::atomic::write_atomic(
        &dir.join(session_file(session)),
        serde_json::to_string(&pending)?.as_bytes(),
    );
    Ok(())
}

/// Notes left by shells that ended before their prompt hook ran (a closed terminal):
/// a week old, no approved line is still running from them.
const PENDING_STALE: Duration = Duration::from_secs(7 * 24 * 3600);

fn sweep_pending(dir: &std::path::Path) {
    crate::config::remove_stale(dir, PENDING_STALE, |_| true);
}

/// fish and nushell call the hook from the line editor, with the cursor still after
/// the typed line: what backstop says starts on a line of its own.
fn lead(a: &HookArgs) -> &'static str {
    if matches!(a.shell.as_str(), "fish" | "nu" | "nushell") {
        "\n"
    } else {
        ""
    }
}

/// A session id as a file name: the shells give a PID, but nothing is assumed.
fn session_file(session: &str) -> String {
    session
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

/// `PROCEED`, or the target's own name when a critical rule (or one that says so)
/// matched: typing `Ubuntu-24.04` is a deliberate act that `PROCEED` may not be.
pub(crate) fn phrase(eval: &Evaluation) -> String {
    eval.findings
        .iter()
        .filter(|f| f.decision == Decision::Ask)
        .filter(|f| f.severity == Severity::Critical || f.approval_phrase == ApprovalPhrase::Target)
        .find_map(|f| f.targets.first())
        .map(|t| match t.kind.as_str() {
            "path" | "git-repo" => std::path::Path::new(&t.value)
                .file_name()
                .map_or_else(|| t.value.clone(), |n| n.to_string_lossy().into_owned()),
            _ => t.value.clone(),
        })
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "PROCEED".into())
}

fn manifest_ids(eval: &Evaluation) -> Vec<String> {
    let mut ids: Vec<String> = eval
        .findings
        .iter()
        .flat_map(|f| f.targets.iter().filter_map(|t| t.backup.manifest.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The rules and targets, briefly; with `evidence`, each covering backup's copies.
pub(crate) fn describe(eval: &Evaluation, dirs: &Dirs, evidence: bool) -> String {
    let manifests = if evidence {
        Manifest::list(&manifests_dir(dirs)).unwrap_or_default()
    } else {
        Vec::new()
    };
    let now = crate::config::unix_now().as_secs();
    let mut out = String::new();
    let mut shown = Vec::new();
    for f in &eval.findings {
        out.push_str(&format!(
            "  rule {} [{}]: {}\n    command: {}\n",
            paint(RULE, &f.id),
            format!("{:?}", f.severity).to_lowercase(),
            f.description,
            f.command
        ));
        if let Some(from) = &f.from {
            if from.line == 0 {
                out.push_str(&format!("    from: {}\n", from.path));
            } else {
                out.push_str(&format!("    from: {} line {}\n", from.path, from.line));
            }
        }
        for t in &f.targets {
            let status = match t.backup.status {
                BackupStatus::NotRequired => String::new(),
                s => {
                    let look = if s == BackupStatus::Covered { OK } else { ASK };
                    let mut s = format!(" (backup {}", paint(look, s.name()));
                    if let Some(d) = &t.backup.detail {
                        s.push_str(&format!(": {d}"));
                    }
                    s.push(')');
                    s
                }
            };
            out.push_str(&format!(
                "    target: {} {}{status}\n",
                t.kind,
                paint(TARGET, &t.value)
            ));
            if let (Some(g), true) = (&t.backup.git, evidence) {
                if t.backup.status == BackupStatus::Covered {
                    out.push_str(&format!(
                        "      in git: {} in {}, path {}\n        restore: git -C {} restore --source={} -- {}\n",
                        g.describe(),
                        g.repo,
                        g.path,
                        backstop_rules::command::display_word(&g.repo),
                        g.commit,
                        backstop_rules::command::display_word(&g.path)
                    ));
                }
            }
            let Some(id) = &t.backup.manifest else {
                continue;
            };
            if !evidence || t.backup.status != BackupStatus::Covered || shown.contains(id) {
                continue;
            }
            shown.push(id.clone());
            if let Some(m) = manifests.iter().find(|m| &m.id == id) {
                out.push_str(&format!(
                    "      backup {id}: made {} ago, {}, restore test: {}\n",
                    crate::report::human_age(now.saturating_sub(m.created)),
                    if m.redundant {
                        "copies in separate failure domains"
                    } else {
                        "copies in ONE failure domain"
                    },
                    m.restore_test
                ));
                for c in &m.copies {
                    let place = if c.is_remote() {
                        format!(
                            "remote, proven {} ago",
                            crate::report::human_age(now.saturating_sub(c.proven.unwrap_or(0)))
                        )
                    } else {
                        format!(
                            "device {}",
                            backstop_backup::device::label(c.device, cfg!(windows))
                        )
                    };
                    out.push_str(&format!(
                        "        {}  {place}  {} bytes  sha256 {}…\n",
                        c.shown(),
                        c.size,
                        c.sha256.get(..12).unwrap_or(&c.sha256)
                    ));
                }
            }
        }
    }
    out
}

/// Who a decision is recorded for: the audit log's source (`bash`, `wrap:psql`) and session.
#[derive(Debug, Clone)]
pub struct Who {
    pub source: String,
    pub session: String,
}

impl Who {
    fn of(a: &HookArgs) -> Who {
        Who {
            source: a.shell.clone(),
            session: a.session.clone().unwrap_or_default(),
        }
    }
}

/// Record a decision. The log must not stop a decision from being enforced, so a
/// failure to write it is reported, not fatal.
pub(crate) fn log(
    dirs: &Dirs,
    who: &Who,
    event: &str,
    line: &str,
    eval: Option<&Evaluation>,
    detail: &str,
) {
    let (rules, targets) = eval.map_or_else(Default::default, |e| {
        let rules = e.findings.iter().map(|f| f.id.clone()).collect();
        let targets = e
            .findings
            .iter()
            .flat_map(|f| f.targets.iter().map(TargetRecord::of))
            .collect();
        (rules, targets)
    });
    let entry = Entry {
        event: event.into(),
        source: who.source.clone(),
        session: who.session.clone(),
        line: line.into(),
        rules,
        targets,
        detail: detail.into(),
    };
    if let Err(e) = audit::append(dirs, entry) {
        eprintln!("backstop: could not write the audit log: {e:#}");
    }
}

/// After an approved line ran: its exit status goes to the log, and the person is
/// reminded of the last steps of the pattern.
fn after(a: &HookArgs, dirs: &Dirs) -> Result<ExitCode> {
    let Some(session) = &a.session else {
        anyhow::bail!("--after needs --session, the id the hook was given");
    };
    let path: PathBuf = super::init::pending_dir(dirs).join(session_file(session));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(ExitCode::SUCCESS);
    };
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(backstop_backup::atomic::backup_path(&path));
    let Ok(p) = serde_json::from_str::<Pending>(&text) else {
        return Ok(ExitCode::SUCCESS);
    };
    let status = a.status.unwrap_or(-1);
    log(
        dirs,
        &Who::of(a),
        "ran",
        &p.line,
        None,
        &format!("exit status {status}"),
    );
    if !p.approved {
        return Ok(ExitCode::SUCCESS);
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "backstop: the approved line exited with status {status}."
    );
    for id in &p.manifests {
        let _ = writeln!(
            err,
            "backstop: keep backup {id} until you are sure; prove it restores with `backstop restore-test {id}`, then free it with `backstop cleanup {id}`."
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeping_removes_only_week_old_notes() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("111");
        let fresh = dir.path().join("222");
        std::fs::write(&old, "{}").unwrap();
        std::fs::write(&fresh, "{}").unwrap();
        let week_ago = std::time::SystemTime::now() - PENDING_STALE - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(week_ago)
            .unwrap();
        sweep_pending(dir.path());
        assert!(!old.exists(), "a week-old note stays");
        assert!(fresh.exists(), "a fresh note was removed");
    }
}
