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

/// The end of the log as an append sees it: the last line, whether a killed append
/// cut it short (no newline after it), and the last record that parses.
#[derive(Debug, Default)]
struct Tail {
    /// The last line's text: the next record chains to its SHA-256, whole or cut.
    last: Option<String>,
    /// The log does not end with a newline: an append was killed mid-write.
    torn: bool,
    /// The sequence number of the last line that is a record.
    seq: u64,
}

/// Read the end of the log, only as much as it takes to find the last line and the
/// last record, however long the log has grown.
fn tail(log: &Path) -> Result<Tail> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let cannot = || format!("cannot read {}", log.display());
    let mut file = match std::fs::File::open(log) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tail::default()),
        Err(e) => return Err(e).with_context(cannot),
    };
    let len = file.metadata().with_context(cannot)?.len();
    let mut window: u64 = 64 << 10;
    loop {
        let start = len.saturating_sub(window);
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(start)).with_context(cannot)?;
        (&mut file)
            .take(len - start)
            .read_to_end(&mut bytes)
            .with_context(cannot)?;
        let text = String::from_utf8_lossy(&bytes);
        let torn = !text.is_empty() && !text.ends_with('\n');
        // The first piece may be only the end of a line unless the window reaches
        // back to the start of the file.
        let mut lines: Vec<&str> = text.split('\n').collect();
        if start > 0 && !lines.is_empty() {
            lines.remove(0);
        }
        let lines: Vec<&str> = lines.into_iter().filter(|l| !l.is_empty()).collect();
        let last = lines.last().map(|l| l.to_string());
        let seq = lines
            .iter()
            .rev()
            .find_map(|l| serde_json::from_str::<Record>(l).ok())
            .map(|r| r.seq);
        match seq {
            Some(seq) => return Ok(Tail { last, torn, seq }),
            None if start == 0 => return Ok(Tail { last, torn, seq: 0 }),
            None => window = window.saturating_mul(4),
        }
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
    let end = tail(&log)?;
    // A record cut short by a killed append is ended with a newline and chained to as
    // it stands: `audit verify` then names that one record, and the log stays usable.
    if end.torn {
        file.write_all(b"\n")
            .with_context(|| format!("cannot append to {}", log.display()))?;
    }
    let (seq, prev) = match &end.last {
        Some(l) => {
            let seq = end.seq.checked_add(1).with_context(|| {
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
///
/// Two traces of a killed append are told apart from tampering: a last line cut
/// short (named as the record that was cut), and a head behind the log, naming one
/// of its lines (appends died between the record and the head; the next whole
/// append brings the head up to date). A head ahead of the log still means records
/// at the end were removed.
pub fn verify(dirs: &Dirs) -> Result<Vec<String>> {
    let log = log_path(dirs);
    let ends_whole = match std::fs::read(&log) {
        Ok(b) => b.last().is_none_or(|c| *c == b'\n'),
        Err(_) => true,
    };
    let lines = read(dirs)?;
    let head = head_path(&log);
    let head_text = std::fs::read_to_string(&head).ok();
    Ok(chain_problems(
        &lines,
        ends_whole,
        head_text.as_deref(),
        &head,
    ))
}

/// The problems in the chain of `lines` (from [`parse`]; `ends_whole`: the log ends
/// with a newline) and its head file's text (`None`: missing); `head` only names that
/// file.
pub fn chain_problems(
    lines: &[(String, Result<Record, String>)],
    ends_whole: bool,
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
            Err(_) if n == lines.len() && !ends_whole => problems.push(format!(
                "line {n} (record {expected_seq}) was cut short: a backstop process was killed or the disk filled while appending it; the records before it are intact"
            )),
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
    let records = lines.iter().filter(|(_, r)| r.is_ok()).count() as u64;
    // The head names a line of the log by its hash and the records up to it: there,
    // or behind by records whose appends were killed before they updated it. Ahead
    // of the log, or naming no line of it, records at the end were removed.
    let head_fits = |h: &Head| {
        let mut upto = 0u64;
        lines.is_empty()
            || lines.iter().any(|(text, r)| {
                upto += u64::from(r.is_ok());
                upto == h.count && sha256_hex(text.as_bytes()) == h.last
            })
    };
    match head_text {
        Some(t) => match serde_json::from_str::<Head>(t) {
            Ok(h) if head_fits(&h) => {}
            Ok(h) => problems.push(format!(
                "the log ends after {} records, but {} records were written: records at the end were removed or changed",
                records,
                h.count
            )),
        Err(_) => problems.push(format!("{} is not valid", head.display())),
        },
        None if lines.is_empty() => {}
        // Killed before the first head was written.
        None if lines.len() == 1 => {}
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
        let last = tail(&log_path(&d)).unwrap().last.unwrap();
        assert!(
            last.contains(r#""seq":5"#),
            "{}",
            &last[..80.min(last.len())]
        );
    }

    fn entry(line: &str) -> Entry {
        Entry {
            event: "deny".into(),
            line: line.into(),
            ..Entry::default()
        }
    }

    /// Regression: an append killed mid-write (or on a full disk) left a line with no
    /// end, and every later append failed on it, so nothing more was ever recorded.
    #[test]
    fn a_record_cut_short_is_named_and_the_log_goes_on() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        append(&d, entry("one")).unwrap();
        append(&d, entry("two")).unwrap();
        let log = log_path(&d);
        let whole = std::fs::read(&log).unwrap();
        // Record 3 as a killed append leaves it: written in part, the head not updated.
        let mut cut = whole.clone();
        cut.extend_from_slice(br#"{"seq":3,"time":17000,"event":"de"#);
        std::fs::write(&log, &cut).unwrap();
        let problems = verify(&d).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("line 3 (record 3) was cut short"),
            "{problems:?}"
        );
        let r = append(&d, entry("four")).unwrap();
        assert_eq!(r.seq, 3, "the cut line is no record");
        let problems = verify(&d).unwrap();
        assert_eq!(problems.len(), 1, "only the cut line: {problems:?}");
        assert!(
            problems[0].starts_with("line 3 is not a record"),
            "{problems:?}"
        );
        assert!(append(&d, entry("five")).is_ok());
    }

    /// Regression: killed between the record and the head, `audit verify` said records
    /// had been removed at the end.
    #[test]
    fn a_head_behind_the_log_is_a_killed_append_not_tampering() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        append(&d, entry("one")).unwrap();
        let head = std::fs::read(head_path(&log_path(&d))).unwrap();
        append(&d, entry("two")).unwrap();
        std::fs::write(head_path(&log_path(&d)), &head).unwrap();
        assert_eq!(verify(&d).unwrap(), Vec::<String>::new());
        // Two behind: two appends killed in a row at that moment.
        append(&d, entry("three")).unwrap();
        std::fs::write(head_path(&log_path(&d)), &head).unwrap();
        assert_eq!(verify(&d).unwrap(), Vec::<String>::new());
        // Records removed at the end: the head is ahead of the log.
        let whole = std::fs::read_to_string(log_path(&d)).unwrap();
        append(&d, entry("four")).unwrap();
        std::fs::write(log_path(&d), &whole).unwrap();
        let problems = verify(&d).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("removed"), "{problems:?}");
        // The first record with no head yet: killed before the head was first written.
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        append(&d, entry("one")).unwrap();
        std::fs::remove_file(head_path(&log_path(&d))).unwrap();
        assert_eq!(verify(&d).unwrap(), Vec::<String>::new());
    }
}
