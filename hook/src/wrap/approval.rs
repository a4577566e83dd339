//! The approval the person has just given at the shell's prompt, for the line that
//! started this `wrap`. With the shell hook and `install --wrap-clients` both in
//! place, `psql -c 'DROP TABLE t'` is decided by the hook, which asks, and then by
//! `wrap` for the client's arguments; the second question is not asked when the first
//! was answered for it.
//!
//! Anything backstop writes, a script or an agent running as the same user can write
//! too (the audit log included), so the approval is not taken on the log's word alone.
//! It counts only for a `wrap` whose parent is the leader of its terminal session (the
//! shell the terminal started) and is the shell that recorded the approval: the
//! session's `--session` is its process id, and the approval is newer than that
//! process. Only that shell starts such a `wrap`, and it runs only lines its hook has
//! decided; a process that could make it run another line, or that owns a terminal
//! session of its own, could as well type the approval phrase on that terminal. The
//! approval must also be the shell's latest decision, at most [`FRESH`] old, not
//! used by another `wrap` yet, and name every rule and target `wrap` would ask about.
//!
//! Without `/proc` (not Linux) no approval is carried: `wrap` asks again.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use backstop_rules::Evaluation;

use crate::audit::Record;
use crate::config::Dirs;

/// How old an approval at the prompt may be when the client starts.
pub const FRESH: u64 = 20;
/// The sources of the shell hooks' records.
const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "nu", "powershell"];
/// How much of the audit log's end is read.
const TAIL: u64 = 256 * 1024;

/// What a `wrap` records when it goes ahead on the shell's approval.
pub fn detail(seq: u64) -> String {
    format!("approved at the shell's prompt: audit record {seq}")
}

/// The audit record of the approval this `wrap` may go ahead on, if there is one.
#[cfg(target_os = "linux")]
pub fn at_the_prompt(dirs: &Dirs, asks: &[(String, Evaluation)]) -> Option<u64> {
    let me = stat("self")?;
    let parent = stat(&me.ppid.to_string())?;
    // The parent leads the terminal session this wrap runs in.
    if me.session != me.ppid || parent.tty == 0 || parent.tty != me.tty {
        return None;
    }
    let started = boot_time()? + parent.start_ticks / USER_HZ;
    let now = crate::config::unix_now().as_secs();
    let records = tail(dirs)?;
    find(&records, &me.ppid.to_string(), started, now, asks)
}

#[cfg(not(target_os = "linux"))]
pub fn at_the_prompt(_dirs: &Dirs, _asks: &[(String, Evaluation)]) -> Option<u64> {
    None
}

/// The approval among `records` (oldest first) for the shell `session` started at
/// `started` (Unix seconds) that covers `asks`.
fn find(
    records: &[Record],
    session: &str,
    started: u64,
    now: u64,
    asks: &[(String, Evaluation)],
) -> Option<u64> {
    let latest = records
        .iter()
        .rev()
        .find(|r| r.session == session && SHELLS.contains(&r.source.as_str()))?;
    let fresh = latest.time + 1 >= started && now.saturating_sub(latest.time) <= FRESH;
    let used = records
        .iter()
        .any(|r| r.source.starts_with("wrap:") && r.detail == detail(latest.seq));
    if latest.event != "approved" || !fresh || used {
        return None;
    }
    let covered = asks.iter().all(|(_, eval)| {
        eval.findings.iter().all(|f| {
            latest.rules.contains(&f.id)
                && f.targets.iter().all(|t| {
                    latest
                        .targets
                        .iter()
                        .any(|r| r.kind == t.kind && r.value == t.value)
                })
        })
    });
    covered.then_some(latest.seq)
}

/// The last records of the audit log (a line cut by the window is left out).
#[cfg(target_os = "linux")]
fn tail(dirs: &Dirs) -> Option<Vec<Record>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(crate::audit::log_path(dirs)).ok()?;
    let len = file.metadata().ok()?.len();
    let start = len.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.take(TAIL).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if start > 0 {
        lines.next();
    }
    Some(lines.filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// `/proc/PID/stat`'s clock ticks a second (USER_HZ: 100 on every Linux architecture).
#[cfg(target_os = "linux")]
const USER_HZ: u64 = 100;

#[cfg(target_os = "linux")]
struct Stat {
    ppid: u32,
    session: u32,
    tty: u64,
    start_ticks: u64,
}

/// A process's parent, session, controlling terminal and start (`/proc/PID/stat`).
#[cfg(target_os = "linux")]
fn stat(pid: &str) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything; the fields follow it.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        ppid: fields.get(1)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        tty: fields.get(4)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(target_os = "linux")]
fn boot_time() -> Option<u64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::TargetRecord;
    use backstop_rules::{Engine, Evaluation};

    fn record(seq: u64, time: u64, event: &str, source: &str, detail: &str) -> Record {
        Record {
            seq,
            time,
            event: event.into(),
            source: source.into(),
            session: "100".into(),
            line: "psql -d app -c 'DROP TABLE t'".into(),
            line_sha256: String::new(),
            rules: vec!["sql.drop-table".into()],
            targets: vec![
                TargetRecord {
                    kind: "table".into(),
                    value: "t".into(),
                    backup: "covered".into(),
                    manifest: None,
                    place: None,
                    git: None,
                },
                TargetRecord {
                    kind: "database".into(),
                    value: "app".into(),
                    backup: "covered".into(),
                    manifest: None,
                    place: None,
                    git: None,
                },
            ],
            detail: detail.into(),
            prev: String::new(),
        }
    }

    fn asks(line: &str) -> Vec<(String, Evaluation)> {
        let eval = Engine::builtin()
            .evaluate(line, &backstop_rules::Context::default())
            .expect("evaluates");
        vec![(line.to_string(), eval)]
    }

    #[test]
    fn only_the_shells_latest_fresh_unused_approval_of_the_same_thing_counts() {
        let drop_t = asks("psql -d app -c 'DROP TABLE t'");
        let approved = record(7, 1000, "approved", "bash", "");
        let find = |records: &[Record], asks: &[(String, Evaluation)]| {
            find(records, "100", 900, 1005, asks)
        };
        assert_eq!(find(std::slice::from_ref(&approved), &drop_t), Some(7));
        // Another table, another database: not what was approved.
        assert_eq!(
            find(
                std::slice::from_ref(&approved),
                &asks("psql -d app -c 'DROP TABLE u'")
            ),
            None
        );
        assert_eq!(
            find(
                std::slice::from_ref(&approved),
                &asks("psql -d other -c 'DROP TABLE t'")
            ),
            None
        );
        // Another shell's, an agent's, a stale one, one older than the shell.
        let mut other = approved.clone();
        other.session = "101".into();
        assert_eq!(find(&[other], &drop_t), None);
        let agent = record(7, 1000, "approved", "claude-code", "");
        assert_eq!(find(&[agent], &drop_t), None);
        assert_eq!(
            find(&[record(7, 900, "approved", "bash", "")], &drop_t),
            None
        );
        assert_eq!(
            super::find(std::slice::from_ref(&approved), "100", 1010, 1011, &drop_t),
            None
        );
        // Refused, or followed by another decision of that shell's, or used already.
        assert_eq!(
            find(&[record(7, 1000, "refused", "bash", "")], &drop_t),
            None
        );
        let later = record(8, 1001, "deny", "bash", "");
        assert_eq!(find(&[approved.clone(), later], &drop_t), None);
        let used = record(8, 1001, "approved", "wrap:psql", &detail(7));
        assert_eq!(find(&[approved, used], &drop_t), None);
    }
}
