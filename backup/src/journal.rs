//! What a run is about to leave behind, written down before it makes it, so that the
//! next run can clear it if this one is killed.
//!
//! A run that makes files outside its own process (a backup's copies, a restore
//! test's scratch directory and database, a cleanup's deletions) opens a
//! [`Journal`]: `running/ID.lock`, locked for as long as the process lives, and
//! `running/ID.json`, the record of every name it is about to make, rewritten
//! atomically *before* each is made. A finished run removes both. [`sweep`] finds
//! records whose lock is free (the process is gone: the kernel lets go of a dead
//! process's locks, SIGKILL included) and removes exactly the names they list.
//!
//! Only names a record lists are touched, and a copy only while no manifest
//! claims it: a record's `manifest` is the file whose existence means the run
//! finished its work (the copies are a backup now, or a cleanup has not yet let go
//! of them).
//!
//! ```
//! use backstop_backup::journal::{Item, Journal, sweep};
//! let data = tempfile::tempdir().unwrap();
//! let dest = tempfile::tempdir().unwrap();
//! let copy = dest.path().join("x-bk-1-0000abcd.tar");
//! let mut j = Journal::begin(data.path(), "backup", None).unwrap();
//! j.add(Item::Copy { path: copy.clone() }).unwrap();
//! std::fs::write(&copy, b"a copy no manifest will name").unwrap();
//! drop(j.abandon()); // as if the process had been killed here
//! let swept = sweep(data.path(), 86_400, &|_| Ok(String::new()));
//! assert_eq!(swept.len(), 1);
//! assert!(!copy.exists());
//! ```

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io, Error, Result};

/// The directory under backstop's data directory that holds the records.
pub const RUNNING: &str = "running";

/// One thing a run makes and a killed run leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Item {
    /// A complete copy (a local file): removed only if no manifest claims it.
    Copy { path: PathBuf },
    /// Files or directories in `dir` whose names start with `prefix`, which holds
    /// the run's own id (a partial copy, a scratch or staging directory): always
    /// removed.
    Scratch { dir: PathBuf, prefix: String },
    /// An rclone object `REMOTE:PATH/NAME`; `partial` ones are always removed, a
    /// complete one only if no manifest claims it.
    Rclone { object: String, partial: bool },
    /// The restic snapshots of the file `path` tagged `backstop` in `repo`: removed
    /// (`restic forget`) only if no manifest claims them.
    Restic { repo: String, path: String },
    /// A recipe's restore-test scratch (a scratch database): its `restore_cleanup`
    /// steps are run again.
    RecipeScratch {
        recipe: String,
        target: String,
        scratch_name: String,
        dir: PathBuf,
        restored: String,
    },
    /// Something a sweep must not remove but a person must hear about (a restore
    /// that had begun to write into its place).
    Note { text: String },
}

impl Item {
    /// A backup's copy, as a cleanup records it before it lets go of the manifest.
    pub fn of_copy(c: &crate::manifest::Copy) -> Item {
        use crate::manifest::CopyKind;
        let object = c.object.clone().unwrap_or_default();
        match c.kind {
            CopyKind::Local => Item::Copy {
                path: c.path.clone(),
            },
            CopyKind::Rclone => Item::Rclone {
                object,
                partial: false,
            },
            CopyKind::Restic => Item::Restic {
                repo: c
                    .location
                    .as_deref()
                    .and_then(|l| l.strip_prefix("restic:"))
                    .unwrap_or_default()
                    .to_string(),
                path: object,
            },
        }
    }
}

/// A run's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// `backup`, `restore-test`, `restore`, `cleanup`.
    pub command: String,
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub started: u64,
    /// The manifest whose existence means the copies are claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<PathBuf>,
    pub items: Vec<Item>,
}

/// A run in progress: the lock held, the record kept up to date.
#[derive(Debug)]
pub struct Journal {
    json: PathBuf,
    lock_path: PathBuf,
    lock: Option<File>,
    record: Record,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Journal {
    /// Open a record in `data/running`, locked by this process.
    pub fn begin(data: &Path, command: &str, manifest: Option<PathBuf>) -> Result<Journal> {
        let dir = data.join(RUNNING);
        fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let started = now();
        let mut attempt = 0;
        let (id, lock_path, lock) = loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let id = format!("{command}-{started}-{}-{nanos:09}", std::process::id());
            // Locked under a name no sweep treats as a run's lock, then renamed: a sweep
            // never finds this run's lock free.
            let locking = dir.join(format!("{id}.locking"));
            let lock_path = dir.join(format!("{id}.lock"));
            let lock = fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(&locking)
                .map_err(io("create", &locking))?;
            lock.lock().map_err(io("lock", &locking))?;
            match fs::rename(&locking, &lock_path) {
                Ok(()) => break (id, lock_path, lock),
                // Another run's sweep found the file before it was locked, took it for
                // a killed run's, and removed it: nothing was recorded yet, start again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt < 8 => {
                    attempt += 1;
                }
                Err(e) => return Err(io("create", &lock_path)(e)),
            }
        };
        let j = Journal {
            json: dir.join(format!("{id}.json")),
            lock_path,
            lock: Some(lock),
            record: Record {
                command: command.to_string(),
                pid: std::process::id(),
                started,
                manifest,
                items: Vec::new(),
            },
        };
        j.save()?;
        Ok(j)
    }

    /// A short id for names the run makes (`.backstop-scratch-ID-…`), unique to it.
    pub fn tag(&self) -> String {
        let name = self
            .json
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.rsplit('-').take(2).collect::<Vec<_>>().join("")
    }

    /// Record `item` before it is made.
    pub fn add(&mut self, item: Item) -> Result<()> {
        if !self.record.items.contains(&item) {
            self.record.items.push(item);
            self.save()?;
        }
        Ok(())
    }

    /// Set the manifest that claims the copies.
    pub fn claim_by(&mut self, manifest: PathBuf) -> Result<()> {
        self.record.manifest = Some(manifest);
        self.save()
    }

    fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.record).map_err(|e| Error::Io {
            op: "encode",
            path: self.json.clone(),
            source: std::io::Error::other(e),
        })?;
        // The temporary file is named for the run too, so a sweep clears it with the rest.
        let dir = self.json.parent().unwrap_or(Path::new("."));
        let stem = self
            .json
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!("{stem}.new-"))
            .tempfile_in(dir)
            .map_err(io("create a file in", dir))?;
        std::io::Write::write_all(&mut tmp, &bytes).map_err(io("write", &self.json))?;
        tmp.as_file().sync_all().map_err(io("flush", &self.json))?;
        tmp.persist(&self.json).map_err(|e| Error::Io {
            op: "replace",
            path: self.json.clone(),
            source: e.error,
        })?;
        Ok(())
    }

    /// The run is over: whatever it made is either claimed or already removed.
    pub fn finish(mut self) {
        self.remove();
    }

    fn remove(&mut self) {
        // The record first: a lock file alone is nothing to sweep.
        let _ = fs::remove_file(&self.json);
        let _ = fs::remove_file(&self.lock_path);
        self.lock = None;
    }

    /// Let go of the lock but keep the record, as a killed process would: what the
    /// record lists is left for the next sweep (a copy that could not be deleted now).
    pub fn abandon(mut self) -> PathBuf {
        self.lock = None;
        std::mem::take(&mut self.json)
    }
}

impl Drop for Journal {
    // A run that returns (an error, Ctrl-C) cleans up after itself, and its record
    // goes with it; only a killed one leaves the record.
    fn drop(&mut self) {
        if !self.json.as_os_str().is_empty() {
            self.remove();
        }
    }
}

/// What a sweep did with one leftover: a line for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Swept {
    /// `removed`, `kept` (claimed by a manifest) or `failed`.
    pub action: String,
    /// The file, directory, object or database.
    pub what: String,
    /// Which run left it.
    pub left_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "swept: {} {} (left by {})",
            self.action, self.what, self.left_by
        )?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// The lock of the run `id`, held by this sweep, if that run is gone: its lock is
/// free, or, where locks cannot be taken at all, it started longer than
/// `orphan_after` seconds ago. `None` while the run lives.
enum Liveness {
    Alive,
    /// Gone; its lock, held now so that two sweeps do not clear it at once.
    Dead(Option<File>),
}

fn liveness(dir: &Path, id: &str, orphan_after: u64) -> Liveness {
    let by_age = |p: &Path| {
        let age = fs::metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .map_or(0, |d| d.as_secs());
        if age > orphan_after {
            Liveness::Dead(None)
        } else {
            Liveness::Alive
        }
    };
    // `.lock` again last: a run renames `.locking` to `.lock` while this looks.
    for name in [
        format!("{id}.lock"),
        format!("{id}.locking"),
        format!("{id}.lock"),
    ] {
        let p = dir.join(name);
        match File::open(&p) {
            Ok(f) => {
                return match f.try_lock() {
                    Ok(()) => Liveness::Dead(Some(f)),
                    Err(TryLockError::WouldBlock) => Liveness::Alive,
                    Err(TryLockError::Error(_)) => by_age(&p),
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return by_age(&p),
        }
    }
    // No lock at all: a finished run whose last file is being removed, or one
    // killed while removing its own.
    Liveness::Dead(None)
}

/// Clear what killed runs left: every record in `data/running` whose process is gone.
/// `recipe_cleanup` runs a recipe's `restore_cleanup` for a scratch database and
/// returns what it removed. Records of live runs are left alone; a leftover that
/// cannot be removed now (an unmounted drive, a remote out of reach) keeps its
/// record, to be tried again next time.
pub fn sweep(
    data: &Path,
    orphan_after: u64,
    recipe_cleanup: &dyn Fn(&Item) -> std::result::Result<String, String>,
) -> Vec<Swept> {
    let dir = data.join(RUNNING);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    // Every file of a run starts with its id and a dot.
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.split_once('.').map(|(id, _)| id.to_string())
        })
        .filter(|id| !id.is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let Liveness::Dead(held) = liveness(&dir, &id, orphan_after) else {
            continue;
        };
        let json = dir.join(format!("{id}.json"));
        let record = fs::read(&json)
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok());
        let mut all_done = true;
        if let Some(record) = record {
            let left_by = format!(
                "a `{}` run (pid {}) that did not finish",
                record.command, record.pid
            );
            let claimed = record.manifest.as_deref().is_some_and(Path::exists);
            // Last made, first cleared: a scratch database goes before the directory
            // its cleanup steps run in.
            for item in record.items.iter().rev() {
                let (action, what, detail) = clear(item, claimed, recipe_cleanup);
                // A scratch database whose cleanup fails is said once, not every run:
                // the cleanup may fail only because the killed test never made it.
                if action == "failed" && !matches!(item, Item::RecipeScratch { .. }) {
                    all_done = false;
                }
                if action.is_empty() {
                    continue;
                }
                out.push(Swept {
                    action: action.to_string(),
                    what,
                    left_by: left_by.clone(),
                    detail,
                });
            }
        }
        if all_done {
            remove_run_files(&dir, &id);
        }
        drop(held);
    }
    out
}

/// The record, its temporary files and the lock of the run `id` (the lock last).
fn remove_run_files(dir: &Path, id: &str) {
    let prefix = format!("{id}.");
    let mut lock = None;
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) {
            continue;
        }
        if name.ends_with(".lock") {
            lock = Some(e.path());
        } else {
            let _ = fs::remove_file(e.path());
        }
    }
    if let Some(l) = lock {
        let _ = fs::remove_file(l);
    }
}

/// Remove one leftover: (what was done, what it is, why); an empty action when there
/// was nothing there.
fn clear(
    item: &Item,
    claimed: bool,
    recipe_cleanup: &dyn Fn(&Item) -> std::result::Result<String, String>,
) -> (&'static str, String, String) {
    let done = |r: std::io::Result<()>, what: String| match r {
        Ok(()) => ("removed", what, String::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ("", what, String::new()),
        Err(e) => ("failed", what, e.to_string()),
    };
    match item {
        Item::Copy { path } if claimed => (
            "kept",
            path.display().to_string(),
            "its manifest was written".into(),
        ),
        Item::Copy { path } => {
            // The directory of an unplugged drive: try again next time.
            match path.parent() {
                Some(dir) if !dir.is_dir() => (
                    "failed",
                    path.display().to_string(),
                    "its destination is not there now; it will be tried again".into(),
                ),
                _ => done(fs::remove_file(path), path.display().to_string()),
            }
        }
        Item::Scratch { dir, prefix } => {
            let Ok(entries) = fs::read_dir(dir) else {
                return ("", dir.display().to_string(), String::new());
            };
            let mut last = ("", dir.join(prefix).display().to_string(), String::new());
            for e in entries.flatten() {
                if !e.file_name().to_string_lossy().starts_with(prefix.as_str()) {
                    continue;
                }
                let p = e.path();
                let r = match e.file_type() {
                    Ok(t) if t.is_dir() => fs::remove_dir_all(&p),
                    _ => fs::remove_file(&p),
                };
                last = done(r, p.display().to_string());
                if last.0 == "failed" {
                    return last;
                }
            }
            last
        }
        Item::Rclone { object, partial } if claimed && !partial => (
            "kept",
            format!("rclone:{object}"),
            "its manifest was written".into(),
        ),
        Item::Rclone { object, .. } => match crate::dest::rclone_delete(object) {
            Ok(true) => ("removed", format!("rclone:{object}"), String::new()),
            Ok(false) => ("", String::new(), String::new()),
            Err(e) => ("failed", format!("rclone:{object}"), e.to_string()),
        },
        Item::Restic { repo, path } if claimed => (
            "kept",
            format!("restic:{repo} {path}"),
            "its manifest was written".into(),
        ),
        Item::Restic { repo, path } => match crate::dest::restic_forget(repo, path) {
            Ok(0) => ("", String::new(), String::new()),
            Ok(n) => (
                "removed",
                format!("restic:{repo} {path}"),
                format!("{n} snapshot(s) forgotten; `restic prune` frees their space"),
            ),
            Err(e) => ("failed", format!("restic:{repo} {path}"), e.to_string()),
        },
        Item::RecipeScratch {
            recipe,
            scratch_name,
            ..
        } => match recipe_cleanup(item) {
            Ok(d) => ("removed", format!("{recipe} scratch {scratch_name}"), d),
            Err(e) => ("failed", format!("{recipe} scratch {scratch_name}"), e),
        },
        Item::Note { text } => ("noted", text.clone(), String::new()),
    }
}

/// Leftovers of older backstops, which kept no records: partial files and scratch
/// directories in `dir` whose names backstop gives them and that have not changed
/// for `orphan_after` seconds.
pub fn sweep_unrecorded(dir: &Path, orphan_after: u64) -> Vec<Swept> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !UNRECORDED_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let Ok(meta) = e.metadata() else { continue };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .map_or(0, |d| d.as_secs());
        if age <= orphan_after {
            continue;
        }
        let p = e.path();
        let r = if meta.is_dir() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        out.push(Swept {
            action: if r.is_ok() { "removed" } else { "failed" }.into(),
            what: p.display().to_string(),
            left_by: format!("a run that did not finish, unchanged for {}h", age / 3600),
            detail: r.err().map(|e| e.to_string()).unwrap_or_default(),
        });
    }
    out
}

/// The names backstop gives what it makes in a destination before it is whole.
pub const UNRECORDED_PREFIXES: [&str; 4] = [
    ".backstop-partial-",
    ".backstop-new-",
    ".backstop-scratch-",
    crate::restore::SCRATCH_PREFIX,
];

/// Complete copies in `dir` that no manifest names: `STEM-bk-SECS-HEX8.EXT`, made
/// more than `orphan_after` seconds ago, whose id is not in `known`. They are
/// reported, not removed: without a record, backstop cannot tell them from another
/// person's (or machine's) backups kept in a shared destination.
pub fn unclaimed_copies(
    dir: &Path,
    known: &std::collections::HashSet<String>,
    orphan_after: u64,
) -> Vec<Swept> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let now = now();
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((id, secs)) = copy_id(&name) else {
            continue;
        };
        if known.contains(id) || now.saturating_sub(secs) <= orphan_after {
            continue;
        }
        if !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        out.push(Swept {
            action: "kept".into(),
            what: e.path().display().to_string(),
            left_by: "an older backstop, or another person's".into(),
            detail: format!(
                "a backstop copy ({id}) that no manifest here names; delete it yourself if it is not another user's or machine's backup"
            ),
        });
    }
    out
}

/// The manifest id in a copy's name, and when it was made: `photos-bk-1700000000-0a1b2c3d.tar`.
pub fn copy_id(name: &str) -> Option<(&str, u64)> {
    let start = name.rfind("-bk-")? + 1;
    let rest = &name[start..];
    let id_end = rest.find('.')?;
    let id = &rest[..id_end];
    let mut parts = id.split('-');
    let (bk, secs, hash) = (parts.next()?, parts.next()?, parts.next()?);
    if bk != "bk"
        || parts.next().is_some()
        || hash.len() != 8
        || !hash.bytes().all(|b| b.is_ascii_hexdigit())
        || id_end == rest.len() - 1
    {
        return None;
    }
    Some((id, secs.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_run_is_left_alone_and_a_dead_one_is_swept() {
        let data = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let mut live = Journal::begin(data.path(), "backup", None).unwrap();
        let partial = format!(".backstop-partial-x-bk-1-{}.", live.tag());
        live.add(Item::Scratch {
            dir: dest.path().to_path_buf(),
            prefix: partial.clone(),
        })
        .unwrap();
        let f = dest.path().join(format!("{partial}AbC123"));
        fs::write(&f, b"half").unwrap();
        assert_eq!(sweep(data.path(), 0, &|_| Ok(String::new())), vec![]);
        assert!(f.exists(), "a live run's partial file is not touched");
        live.abandon();
        let swept = sweep(data.path(), 86_400, &|_| Ok(String::new()));
        assert_eq!(swept.len(), 1, "{swept:?}");
        assert_eq!(swept[0].action, "removed");
        assert!(!f.exists());
        assert_eq!(
            fs::read_dir(data.path().join(RUNNING)).unwrap().count(),
            0,
            "the record goes once all is cleared"
        );
    }

    #[test]
    fn a_copy_its_manifest_claims_is_kept() {
        let data = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let manifest = data.path().join("m.json");
        let copy = dest.path().join("x-bk-1-0000abcd.tar");
        let mut j = Journal::begin(data.path(), "backup", Some(manifest.clone())).unwrap();
        j.add(Item::Copy { path: copy.clone() }).unwrap();
        fs::write(&copy, b"whole").unwrap();
        fs::write(&manifest, b"{}").unwrap();
        j.abandon();
        let swept = sweep(data.path(), 0, &|_| Ok(String::new()));
        assert_eq!(swept[0].action, "kept", "{swept:?}");
        assert!(copy.exists());
    }

    #[test]
    fn a_finished_run_leaves_no_record() {
        let data = tempfile::tempdir().unwrap();
        let j = Journal::begin(data.path(), "backup", None).unwrap();
        j.finish();
        assert_eq!(fs::read_dir(data.path().join(RUNNING)).unwrap().count(), 0);
    }

    #[test]
    fn only_backstops_own_names_count_as_copies() {
        assert_eq!(
            copy_id("photos-bk-1700000000-0a1b2c3d.tar"),
            Some(("bk-1700000000-0a1b2c3d", 1_700_000_000))
        );
        assert_eq!(
            copy_id("a-bk-b-bk-17-0a1b2c3d.sql.gz"),
            Some(("bk-17-0a1b2c3d", 17))
        );
        for not in [
            "photos.tar",
            "my-bk-notes.txt",
            "x-bk-17-0a1b2c3.tar",
            "x-bk-17-0a1b2c3g.tar",
            "x-bk-17-0a1b2c3d",
            "x-bk-17-0a1b2c3d.",
            "x-bk-seventeen-0a1b2c3d.tar",
        ] {
            assert_eq!(copy_id(not), None, "{not}");
        }
    }

    #[test]
    fn unrecorded_leftovers_are_swept_only_when_old_and_named_by_backstop() {
        let dest = tempfile::tempdir().unwrap();
        for n in [
            ".backstop-partial-AbC123",
            "mine.partial",
            ".backstop-notes",
        ] {
            fs::write(dest.path().join(n), b"x").unwrap();
        }
        fs::create_dir(dest.path().join(".backstop-scratch-Xy12")).unwrap();
        assert_eq!(sweep_unrecorded(dest.path(), 3600), vec![], "too new");
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for n in [
            ".backstop-partial-AbC123",
            "mine.partial",
            ".backstop-notes",
        ] {
            File::options()
                .write(true)
                .open(dest.path().join(n))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        File::open(dest.path().join(".backstop-scratch-Xy12"))
            .unwrap()
            .set_modified(old)
            .unwrap_or(());
        let swept = sweep_unrecorded(dest.path(), 3600);
        let names: Vec<String> = fs::read_dir(dest.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"mine.partial".to_string()));
        assert!(names.contains(&".backstop-notes".to_string()));
        assert!(!names.contains(&".backstop-partial-AbC123".to_string()));
        assert!(swept.iter().all(|s| s.action == "removed"), "{swept:?}");
    }
}
