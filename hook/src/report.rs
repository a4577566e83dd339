//! Turning an evaluation into words: the JSON of `check --json`, reasons and remedies.

use backstop_rules::{BackupStatus, Decision, Evaluation, Finding, Requires, TargetFinding};
use serde_json::{json, Value};

use std::sync::OnceLock;

use crate::cmd::LineInput;
use crate::recipes::Recipes;

/// The recipes in force, read only when a remedy needs one.
fn recipes() -> &'static Recipes {
    static RECIPES: OnceLock<Recipes> = OnceLock::new();
    RECIPES.get_or_init(|| {
        crate::config::Dirs::discover()
            .ok()
            .and_then(|d| Recipes::load(&d).ok())
            .unwrap_or_default()
    })
}

/// Are backup destinations configured (so `backstop backup` needs no `--to`)? Read
/// once, only when a remedy is written; a broken config.toml counts as none.
pub fn destinations_configured() -> bool {
    static CONFIGURED: OnceLock<bool> = OnceLock::new();
    *CONFIGURED.get_or_init(|| {
        crate::config::Dirs::discover()
            .ok()
            .and_then(|d| crate::settings::Settings::load(&d).ok())
            .is_some_and(|s| !s.backup.to.is_empty())
    })
}

/// A line quoted for a POSIX shell: `'…'`, with `'\''` for each quote inside.
pub fn shell_quote(line: &str) -> String {
    format!("'{}'", line.replace('\'', "'\\''"))
}

/// The one command that backs up everything a line would destroy, for whoever
/// cannot be asked at a terminal (agents): `backstop backup --for '…'`.
pub fn backup_for(line: &str, shell: &str) -> String {
    let shell = if shell == "bash" {
        String::new()
    } else {
        format!(" --shell {shell}")
    };
    format!("backstop backup{shell} --for {}", shell_quote(line))
}

/// How `backstop backup` names a target of this kind (`wsl:Ubuntu`, `postgres:app`):
/// the recipe that covers the kind for this program says.
pub fn backup_spec(t: &TargetFinding, program: &str) -> String {
    let v = &t.value;
    match t.kind.as_str() {
        "path" | "git-repo" | "block-device" => quote(v),
        kind => match recipes().for_target(kind, program) {
            Some(r) => quote(&format!("{}:{v}", r.spec.kind)),
            None => quote(&format!("{kind}:{v}")),
        },
    }
}

fn quote(s: &str) -> String {
    backstop_rules::command::display_word(s)
}

/// The program a finding's command runs (`sqlite3`, `psql`).
pub fn program_of(f: &Finding) -> String {
    let first = f.command.split_whitespace().next().unwrap_or_default();
    backstop_rules::unwrap::program_name(first)
}

/// An age for a person: `45s`, `12m`, `5h`, `3d`.
pub fn human_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// One sentence on why the line is not simply allowed (or, when it is allowed though
/// a rule matched, why).
pub fn reason(eval: &Evaluation) -> String {
    let parts: Vec<String> = eval
        .findings
        .iter()
        .filter(|f| f.decision != Decision::Allow)
        .map(|f| {
            let targets: Vec<String> = f
                .targets
                .iter()
                .map(|t| match t.backup.status {
                    BackupStatus::NotRequired => format!("{} {}", t.kind, t.value),
                    s => format!("{} {} (backup {})", t.kind, t.value, s.name()),
                })
                .collect();
            let on = if targets.is_empty() {
                String::new()
            } else {
                format!(" on {}", targets.join(", "))
            };
            let need = match f.requires {
                Requires::Deny => "is never allowed",
                Requires::Approval => "needs a person's approval",
                Requires::Backup => "needs a verified backup (a manifest, or a pushed git commit)",
                Requires::BackupAndApproval => {
                    "needs a verified, redundant backup and a person's approval"
                }
            };
            let from = f.from.as_ref().map_or_else(String::new, |l| {
                if l.line == 0 {
                    format!(" (in {})", l.path)
                } else {
                    format!(" (in {} line {})", l.path, l.line)
                }
            });
            format!(
                "`{}`{from} matches {} ({}){on}; it {need}",
                f.command, f.id, f.description
            )
        })
        .collect();
    if !parts.is_empty() {
        return parts.join("; ");
    }
    let allowed = allowed_because(eval);
    if allowed.is_empty() {
        "nothing destructive found".into()
    } else {
        format!("allowed: {}", allowed.join("; "))
    }
}

/// Where a covered target can be brought back from, in one line.
pub fn restorable_from(t: &TargetFinding) -> Option<String> {
    if t.backup.status != BackupStatus::Covered {
        return None;
    }
    if let Some(g) = &t.backup.git {
        return Some(format!(
            "{} can be restored from {}: git -C {} restore --source={} -- {}",
            t.value,
            g.describe(),
            quote(&g.repo),
            g.commit.get(..12).unwrap_or(&g.commit),
            quote(&g.path)
        ));
    }
    t.backup.manifest.as_ref().map(|id| {
        format!(
            "{} can be restored from backup {id} (backstop restore {id})",
            t.value
        )
    })
}

/// Where each target that a backup let through can be restored from, one line each.
pub fn restorable(eval: &Evaluation) -> Vec<String> {
    let mut out: Vec<String> = eval
        .findings
        .iter()
        .filter(|f| f.decision == Decision::Allow && f.requires.needs_backup())
        .flat_map(|f| f.targets.iter().filter_map(restorable_from))
        .collect();
    out.dedup();
    out
}

/// For each target of a rule that matched and still allows the line: why.
pub fn allowed_because(eval: &Evaluation) -> Vec<String> {
    let mut out = Vec::new();
    for f in eval
        .findings
        .iter()
        .filter(|f| f.decision == Decision::Allow)
    {
        for t in &f.targets {
            let line = restorable_from(t).or_else(|| {
                t.backup
                    .detail
                    .as_ref()
                    .map(|d| format!("{} {}: {d}", t.kind, t.value))
            });
            out.extend(line);
        }
    }
    out.dedup();
    out
}

/// What the person can do to go ahead, when there is something.
pub fn remedy(eval: &Evaluation) -> Option<String> {
    remedy_with(eval, None)
}

/// [`remedy`], with the backup named as `backstop backup --for LINE` when the line
/// (and its shell) is given and destinations are configured: one command an agent
/// can run as it is.
pub fn remedy_with(eval: &Evaluation, line: Option<(&str, &str)>) -> Option<String> {
    let configured = destinations_configured();
    let to = if configured {
        ""
    } else {
        " --to DIR1 --to DIR2"
    };
    let mut for_line = line.filter(|_| configured);
    let mut steps = Vec::new();
    let mut backups_asked = false;
    // A rule that refuses outright makes backups for the others beside the point.
    let denied = eval.findings.iter().any(|f| f.requires == Requires::Deny);
    for f in eval
        .findings
        .iter()
        .filter(|f| f.decision != Decision::Allow)
        .filter(|f| !denied || f.requires == Requires::Deny)
    {
        match f.requires {
            Requires::Deny => steps.push(format!(
                "{} refuses this outright ({}); `backstop policy show {}` says why and which layer sets it",
                f.id, f.description, f.id
            )),
            Requires::Approval => steps.push("run it in a terminal where backstop's shell hook asks you to approve it".into()),
            Requires::Backup | Requires::BackupAndApproval => {
                let program = program_of(f);
                // A table is backed up with its database when the line names it.
                let has_db = f.targets.iter().any(|t| t.kind == "database");
                let missing: Vec<&TargetFinding> = f
                    .targets
                    .iter()
                    .filter(|t| !matches!(t.backup.status, BackupStatus::Covered | BackupStatus::NotRequired))
                    .filter(|t| !(has_db && matches!(t.kind.as_str(), "table" | "schema")))
                    .collect();
                let (no_recipe, backupable): (Vec<&TargetFinding>, Vec<&TargetFinding>) = missing
                    .into_iter()
                    .partition(|t| t.backup.status == BackupStatus::NoRecipe);
                for t in &no_recipe {
                    // Never a command that cannot back it up: say so.
                    steps.push(format!(
                        "{}; back up {} {} your own way first, then approve it at the terminal",
                        crate::backups::no_recipe(&t.kind, &program),
                        t.kind,
                        quote(&t.value)
                    ));
                }
                if !backupable.is_empty() {
                    backups_asked = true;
                    if let Some((line, shell)) = for_line.take() {
                        steps.push(backup_for(line, shell));
                    }
                }
                for t in backupable.iter().filter(|_| line.is_none() || !configured) {
                    steps.push(format!("backstop backup {}{to}", backup_spec(t, &program)));
                }
                if f.targets.is_empty() {
                    steps.push(format!(
                        "name what `{}` would destroy explicitly so that it can be backed up (its targets could not be determined)",
                        f.command
                    ));
                }
            }
        }
    }
    steps.dedup();
    if steps.is_empty() {
        return (eval.decision == Decision::Ask)
            .then(|| "approve it at the terminal (type the phrase backstop asks for)".into());
    }
    let mut text = steps.join("; then ");
    let refused = || {
        eval.findings
            .iter()
            .filter(|f| f.decision != Decision::Allow)
    };
    let backing_up = |r: Requires| refused().any(|f| f.requires == r);
    // Git would cover a target that is tracked but changed or not pushed yet; never
    // suggest committing what git ignores or does not track (a .env).
    let git_would = refused().flat_map(|f| &f.targets).any(|t| {
        t.backup.git.is_some()
            && matches!(
                t.backup.status,
                BackupStatus::Stale | BackupStatus::NotRedundant
            )
    });
    let or_git = if git_would {
        ", or commit and push it with git"
    } else {
        ""
    };
    let where_to = if configured {
        ""
    } else {
        " (two directories on different disks, or restic:REPO / rclone:REMOTE:PATH; `backstop setup` configures them once)"
    };
    if !denied && backups_asked && backing_up(Requires::BackupAndApproval) {
        text.push_str(&format!(
            "{where_to}{or_git}, then run the command again and approve it"
        ));
    } else if !denied && backups_asked && backing_up(Requires::Backup) {
        text.push_str(&format!("{where_to}{or_git}, then run the command again"));
    }
    Some(text)
}

/// The object `check --json` prints.
pub fn json(input: &LineInput, eval: &Evaluation) -> Value {
    let rules: Vec<Value> = eval
        .findings
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "severity": f.severity,
                "description": f.description,
                "requires": f.requires,
                "layer": f.layer,
                "command": f.command,
                "via": f.via,
                "decision": f.decision,
                "from": f.from,
            })
        })
        .collect();
    let targets: Vec<Value> = eval
        .findings
        .iter()
        .flat_map(|f| {
            f.targets.iter().map(move |t| json!({ "kind": t.kind, "value": t.value, "rule": f.id, "backup": t.backup }))
        })
        .collect();
    json!({
        "decision": eval.decision,
        "shell": input.dialect.name(),
        "line": input.line,
        "rules": rules,
        "targets": targets,
        "reason": reason(eval),
        "remedy": remedy(eval),
        "incomplete": eval.incomplete,
    })
}
