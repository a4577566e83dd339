//! The audit log: every deny and ask, every approval and refusal, and what an
//! approved line did, as JSON lines in backstop's data directory. Each record
//! carries the SHA-256 of the one before it, and a head file the count and the last
//! hash, so an edited, removed or reordered record breaks the chain.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use backstop_rules::{GitSource, TargetFinding};

use crate::config::Dirs;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    pub kind: String,
    pub value: String,
    pub backup: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Where the target is on disk, symlinks resolved, when a backup covers it: the
    /// place `backstop undo` puts it back (the line may have deleted the path since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The pushed commit that holds the target, when git covers it: `undo` brings it
    /// back with `backstop_backup::git::restore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSource>,
}

impl TargetRecord {
    /// A rule's target as the log keeps it.
    pub fn of(t: &TargetFinding) -> TargetRecord {
        let place = match (t.kind.as_str(), &t.backup.manifest) {
            ("path" | "git-repo", Some(_)) => std::fs::canonicalize(&t.value)
                .ok()
                .map(|p| p.display().to_string()),
            _ => None,
        };
        TargetRecord {
            kind: t.kind.clone(),
            value: t.value.clone(),
            backup: t.backup.status.name().to_string(),
            manifest: t.backup.manifest.clone(),
            place,
            git: t.backup.git.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// `deny`, `ask`, `approved`, `refused`, `ran`, `allowed-unchecked`, and `allowed`
    /// (a rule matched, and a verified backup it requires covers every target).
    pub event: String,
    /// `bash`, `zsh` … or an agent's name.
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session: String,
    pub line: String,
    pub line_sha256: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetRecord>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// SHA-256 of the previous record's line, as written.
    pub prev: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Head {
    count: u64,
    last: String,
}

pub fn log_path(dirs: &Dirs) -> PathBuf {
    dirs.data.join("audit.jsonl")
}

fn head_path(log: &Path) -> PathBuf {
    log.with_extension("head")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    backstop_backup::copy::hex(&Sha256::digest(bytes))
}

/// What a caller fills in; `append` numbers and chains it.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub event: String,
    pub source: String,
    pub session: String,
    pub line: String,
    pub rules: Vec<String>,
    pub targets: Vec<TargetRecord>,
    pub detail: String,
}

/// The last record's line, read from the end of the log: each append reads only as
/// much as that line, however long the log has grown.
fn last_line(log: &Path) -> Result<Option<String>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let cannot = || format!("cannot read {}", log.display());
    let mut file = match std::fs::File::open(log) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(cannot),
    };
    let len = file.metadata().with_context(cannot)?.len();
    let mut window: u64 = 64 << 10;
    loop {
        let start = len.saturating_sub(window);
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(start)).with_context(cannot)?;
        (&mut file)
            .take(len - start)
            .read_to_end(&mut tail)
            .with_context(cannot)?;
        let text = String::from_utf8_lossy(&tail);
        let mut lines = text.lines().rev().filter(|l| !l.is_empty());
        let last = lines.next();
        // The window must reach back past the start of that line (or to the start of
        // the file), else what it holds is only the line's end: widen it.
        let whole = start == 0 || lines.next().is_some() || text.starts_with('\n');
        if whole {
            return Ok(last.map(str::to_string));
        }
        window = window.saturating_mul(4);
    }
}

/// Append one record, holding a lock on the log so that two shells cannot write
/// records with the same predecessor.
pub fn append(dirs: &Dirs, e: Entry) -> Result<Record> {
    std::fs::create_dir_all(&dirs.data)
        .with_context(|| format!("cannot create {}", dirs.data.display()))?;
    let log = log_path(dirs);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open the audit log {}", log.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", log.display()))?;
    let (seq, prev) = match last_line(&log)? {
        Some(l) => {
            let r: Record = serde_json::from_str(&l).with_context(|| {
                format!(
                    "the last record of {} is not valid; `backstop audit verify` says more",
                    log.display()
                )
            })?;
            let seq = r.seq.checked_add(1).with_context(|| {
                format!(
                    "the last record of {} has the last number a record can have; move the log aside to start a new one",
                    log.display()
                )
            })?;
            (seq, sha256_hex(l.as_bytes()))
        }
        None => (1, GENESIS.to_string()),
    };
    let record = Record {
        seq,
        time: crate::config::unix_now().as_secs(),
        event: e.event,
        source: e.source,
        session: e.session,
        line_sha256: sha256_hex(e.line.as_bytes()),
        line: e.line,
        rules: e.rules,
        targets: e.targets,
        detail: e.detail,
        prev,
    };
    let text = serde_json::to_string(&record)?;
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_data())
        .with_context(|| format!("cannot append to {}", log.display()))?;
    let head = Head {
        count: seq,
        last: sha256_hex(text.as_bytes()),
    };
    backstop_backup::atomic::write_atomic(
        &head_path(&log),
        serde_json::to_string(&head)?.as_bytes(),
    )?;
    // The lock is let go first: a slow collector must not hold up another shell's record.
    drop(file);
    crate::syslog::forward(dirs, &record, &head.last);
    Ok(record)
}

/// Every record, in order; a line that is not a record is an error naming it.
pub fn read(dirs: &Dirs) -> Result<Vec<(String, Result<Record, String>)>> {
    let log = log_path(dirs);
    let text = match std::fs::read_to_string(&log) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", log.display())),
    };
    Ok(parse(&text))
}

/// The records of a log's text, each with its line as written.
pub fn parse(text: &str) -> Vec<(String, Result<Record, String>)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            (
                l.to_string(),
                serde_json::from_str(l).map_err(|e| e.to_string()),
            )
        })
        .collect()
}

/// The problems in the chain, each naming the record (empty: the log is intact).
pub fn verify(dirs: &Dirs) -> Result<Vec<String>> {
    let lines = read(dirs)?;
    let head = head_path(&log_path(dirs));
    let head_text = std::fs::read_to_string(&head).ok();
    Ok(chain_problems(&lines, head_text.as_deref(), &head))
}

/// The problems in the chain of `lines` (from [`parse`]) and its head file's text
/// (`None`: missing); `head` only names that file.
pub fn chain_problems(
    lines: &[(String, Result<Record, String>)],
    head_text: Option<&str>,
    head: &Path,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut prev = GENESIS.to_string();
    // Wider than a record's number: the one after the last a record can have.
    let mut expected_seq: u128 = 1;
    for (i, (text, record)) in lines.iter().enumerate() {
        let n = i + 1;
        match record {
            Err(e) => problems.push(format!("line {n} is not a record ({e})")),
            Ok(r) => {
                if r.prev != prev {
                    problems.push(format!(
                        "record {} (line {n}) does not follow the one before it: a record was edited, removed or moved",
                        r.seq
                    ));
                }
                if u128::from(r.seq) != expected_seq {
                    problems.push(format!(
                        "line {n} holds record {} where record {expected_seq} belongs",
                        r.seq
                    ));
                }
                if r.line_sha256 != sha256_hex(r.line.as_bytes()) {
                    problems.push(format!(
                        "record {} (line {n}): its line does not match its SHA-256",
                        r.seq
                    ));
                }
                expected_seq = u128::from(r.seq) + 1;
            }
        }
        prev = sha256_hex(text.as_bytes());
    }
    match head_text {
        Some(t) => match serde_json::from_str::<Head>(t) {
            Ok(h) if h.count == lines.len() as u64 && (h.last == prev || lines.is_empty()) => {}
            Ok(h) => problems.push(format!(
                "the log ends after {} records, but {} records were written: records at the end were removed or changed",
                lines.len(),
                h.count
            )),
            Err(_) => problems.push(format!("{} is not valid", head.display())),
        },
        None if lines.is_empty() => {}
        None => problems.push(format!("{} is missing", head.display())),
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> Dirs {
        Dirs {
            system: root.join("system"),
            user_policies: root.join("policies"),
            data: root.join("data"),
        }
    }

    #[test]
    fn the_chain_holds_across_lines_longer_than_the_tail_window() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        // Lines of 100 KiB and 300 KiB make the window widen; short ones do not.
        for (i, size) in [10, 100 << 10, 20, 300 << 10, 5].into_iter().enumerate() {
            let r = append(
                &d,
                Entry {
                    event: "deny".into(),
                    line: "x".repeat(size),
                    ..Entry::default()
                },
            )
            .unwrap();
            assert_eq!(r.seq, i as u64 + 1);
        }
        assert_eq!(verify(&d).unwrap(), Vec::<String>::new());
        let last = last_line(&log_path(&d)).unwrap().unwrap();
        assert!(
            last.contains(r#""seq":5"#),
            "{}",
            &last[..80.min(last.len())]
        );
    }
}
