//! The record of a backup: what was backed up, where both copies are, how they were
//! proven. Written atomically into backstop's data directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::archive::IndexEntry;
use crate::error::{io, Error, Result};

/// What keeps a copy: a file backstop wrote, or a program's store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyKind {
    #[default]
    Local,
    /// A snapshot in a restic repository, holding the backup as one file.
    Restic,
    /// An object on an rclone remote.
    Rclone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copy {
    /// A local copy's file. A remote copy's is its location as a person reads it
    /// (`rclone:nas:backstop/x.tar`), which is no file: an older backstop that
    /// knows only files finds it missing and trusts nothing.
    pub path: PathBuf,
    /// The filesystem it is on (`st_dev`); 0 for a remote copy.
    pub device: u64,
    pub size: u64,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "is_local")]
    pub kind: CopyKind,
    /// The destination as configured: `restic:REPO` or `rclone:REMOTE:PATH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Where in it: the file name inside a restic snapshot (`/x.tar`), or the
    /// object's `REMOTE:PATH/NAME` for rclone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The restic snapshot id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// When a remote copy was last re-read and found whole (seconds since the epoch):
    /// `check` trusts it for the proof window after that, without the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proven: Option<u64>,
    /// Why its last proof failed, when it did; `check` trusts it no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_failed: Option<String>,
    /// Its failure domain when it was made (`disk:/dev/nvme0n1`, `remote:rclone:nas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain: Vec<String>,
    /// The filesystem type when the copy is on one that does not survive a reboot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatile: Option<String>,
}

fn is_local(k: &CopyKind) -> bool {
    *k == CopyKind::Local
}

impl Copy {
    /// A local copy of `size` bytes with this SHA-256, at `path` on `device`.
    pub fn local(path: PathBuf, device: u64, size: u64, sha256: String) -> Copy {
        Copy {
            path,
            device,
            size,
            sha256,
            kind: CopyKind::Local,
            location: None,
            object: None,
            snapshot: None,
            proven: None,
            proof_failed: None,
            domain: Vec::new(),
            volatile: None,
        }
    }

    pub fn is_remote(&self) -> bool {
        self.kind != CopyKind::Local
    }

    /// Where it is, for a person: the file, or `rclone:nas:backstop/x.tar`,
    /// `restic:/srv/repo snapshot 1a2b3c4d`.
    pub fn shown(&self) -> String {
        match self.kind {
            CopyKind::Local => self.path.display().to_string(),
            CopyKind::Restic => format!(
                "{} snapshot {}",
                self.location.as_deref().unwrap_or("restic:?"),
                self.snapshot
                    .as_deref()
                    .map_or("?", |s| s.get(..8).unwrap_or(s))
            ),
            CopyKind::Rclone => format!("rclone:{}", self.object.as_deref().unwrap_or("?")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub target: Target,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub backstop_version: String,
    pub recipe: String,
    pub copies: Vec<Copy>,
    /// The copies are on different filesystems.
    pub redundant: bool,
    /// How the copies were proven when they were made.
    pub verified: String,
    /// `not-run`, `passed` or `failed`.
    pub restore_test: String,
    /// When the restore test last ran, and what it found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_tested: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_detail: Option<String>,
    /// What the recipe's `record` step printed at backup time (row counts, tables),
    /// compared by the restore test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
    /// SHA-256 of each `block_size` block of the copies (both are identical), so a
    /// large copy can be verified by hashing a fresh random sample of blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block_sha256: Vec<String>,
    #[serde(default)]
    pub block_size: u64,
    /// For paths: every entry archived, as it was read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub index: Vec<IndexEntry>,
}

impl Manifest {
    pub fn path_in(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    /// Write this manifest into `dir` atomically (temporary file, fsync, rename).
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let path = Manifest::path_in(dir, &self.id);
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Io {
            op: "encode",
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        crate::atomic::write_atomic(&path, &json)?;
        Ok(path)
    }

    pub fn read(path: &Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(io("read", path))?;
        Manifest::from_json(&bytes).map_err(|e| Error::Io {
            op: "decode the manifest",
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    /// A manifest from its JSON, as [`Manifest::read`] decodes a file.
    pub fn from_json(bytes: &[u8]) -> std::result::Result<Manifest, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Every manifest in `dir`, oldest first; a missing directory has none.
    pub fn list(dir: &Path) -> Result<Vec<Manifest>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::Io {
                    op: "read",
                    path: dir.to_path_buf(),
                    source: e,
                })
            }
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                match Manifest::read(&p) {
                    Ok(m) => out.push(m),
                    // Removed since the directory was listed (a cleanup at work): it
                    // is no longer in force.
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        out.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest {
            id: "20261125T000000Z-abcd".into(),
            target: Target {
                kind: "path".into(),
                value: "/srv/data".into(),
            },
            created: 1,
            backstop_version: "0.1.0".into(),
            recipe: "native-tar".into(),
            copies: vec![],
            redundant: true,
            verified: "x".into(),
            restore_test: "not-run".into(),
            restore_tested: None,
            restore_detail: None,
            recorded: None,
            block_sha256: vec![],
            block_size: 0,
            index: vec![],
        };
        let p = m.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(&p).unwrap(), m);
        assert_eq!(Manifest::list(dir.path()).unwrap(), vec![m]);
        assert!(Manifest::list(&dir.path().join("none")).unwrap().is_empty());
    }
}
