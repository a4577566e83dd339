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

/// One sentence on why the line is not simply allowed.
pub fn reason(eval: &Evaluation) -> String {
    let parts: Vec<String> = eval
        .findings
        .iter()
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
    if parts.is_empty() {
        "nothing destructive found".into()
    } else {
        parts.join("; ")
    }
}

/// What the person can do to go ahead, when there is something.
pub fn remedy(eval: &Evaluation) -> Option<String> {
    let mut steps = Vec::new();
    // A rule that refuses outright makes backups for the others beside the point.
    let denied = eval.findings.iter().any(|f| f.requires == Requires::Deny);
    for f in eval
        .findings
        .iter()
        .filter(|f| !denied || f.requires == Requires::Deny)
    {
        match f.requires {
            Requires::Deny => steps.push(format!(
                "{} refuses this outright ({}); `backstop policy show {}` says why and which layer sets it",
                f.id, f.description, f.id
            )),
            Requires::Approval => steps.push("run it in a terminal where backstop's shell hook asks you to approve it".into()),
            Requires::BackupAndApproval => {
                let program = program_of(f);
                // A table is backed up with its database when the line names it.
                let has_db = f.targets.iter().any(|t| t.kind == "database");
                let missing: Vec<&TargetFinding> = f
                    .targets
                    .iter()
                    .filter(|t| t.backup.status != BackupStatus::Covered)
                    .filter(|t| !(has_db && matches!(t.kind.as_str(), "table" | "schema")))
                    .collect();
                for t in &missing {
                    steps.push(format!("backstop backup {} --to DIR1 --to DIR2", backup_spec(t, &program)));
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
    if !denied
        && eval
            .findings
            .iter()
            .any(|f| f.requires == Requires::BackupAndApproval)
    {
        text.push_str(" (two directories on different filesystems), then run the command again and approve it");
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
