//! The engine asks whether a backup covers a target; the manifests answer.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use backstop_backup::coverage::{path_status, Status};
use backstop_backup::manifest::Manifest;
use backstop_rules::{Backup, BackupOracle, BackupStatus, Target};

/// Reads the manifests only when a rule needs a backup: benign lines never touch them.
#[derive(Debug)]
pub struct ManifestOracle {
    dir: PathBuf,
    manifests: OnceLock<Vec<Manifest>>,
}

impl ManifestOracle {
    pub fn new(dir: PathBuf) -> ManifestOracle {
        ManifestOracle {
            dir,
            manifests: OnceLock::new(),
        }
    }

    fn manifests(&self) -> &[Manifest] {
        // An unreadable manifest directory proves nothing: no backup covers anything.
        self.manifests
            .get_or_init(|| Manifest::list(&self.dir).unwrap_or_default())
    }
}

impl BackupOracle for ManifestOracle {
    fn status(&self, target: &Target, max_age_secs: u64) -> Backup {
        let missing = |detail: Option<String>| Backup {
            status: BackupStatus::Missing,
            manifest: None,
            detail,
        };
        if target.kind != "path" {
            return missing(None);
        }
        let Ok(path) = std::fs::canonicalize(&target.value) else {
            return missing(Some(format!(
                "{} does not exist or cannot be resolved",
                target.value
            )));
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let (status, manifest) = path_status(self.manifests(), &path, max_age_secs, now);
        let (status, detail) = match status {
            Status::Covered => (BackupStatus::Covered, None),
            Status::Missing => (BackupStatus::Missing, None),
            Status::Stale(why) => (BackupStatus::Stale, Some(why)),
            Status::Corrupt(why) => (BackupStatus::Corrupt, Some(why)),
            Status::NotRedundant => (
                BackupStatus::NotRedundant,
                Some("both copies are on one filesystem".into()),
            ),
        };
        Backup {
            status,
            manifest: manifest.map(|m| m.id.clone()),
            detail,
        }
    }
}
