//! The engine asks whether a backup covers a target; the manifests answer.

use std::path::PathBuf;
use std::sync::OnceLock;

use backstop_backup::coverage::{self, path_status, Status};
use backstop_backup::manifest::Manifest;
use backstop_rules::{Backup, BackupOracle, BackupStatus, Target};

use crate::config::Dirs;
use crate::recipes::{self, Recipes};

/// Reads the manifests only when a rule needs a backup: benign lines never touch them.
#[derive(Debug)]
pub struct ManifestOracle {
    dirs: Dirs,
    manifests: OnceLock<Vec<Manifest>>,
    recipes: OnceLock<Result<Recipes, String>>,
    /// Set by Ctrl-C once a backup is being checked (see [`ManifestOracle::interrupted`]).
    interrupted: OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ManifestOracle {
    pub fn new(dirs: Dirs) -> ManifestOracle {
        ManifestOracle {
            dirs,
            manifests: OnceLock::new(),
            recipes: OnceLock::new(),
            interrupted: OnceLock::new(),
        }
    }

    /// Was Ctrl-C pressed while backups were being checked? Checking a backup can take
    /// a while (hashing copies), and only a line that matched a rule needs one; from
    /// then on Ctrl-C sets this flag instead of killing backstop, which a shell would
    /// take for a crash and run the line.
    pub fn interrupted(&self) -> bool {
        self.interrupted
            .get()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn catch_interrupts(&self) {
        self.interrupted.get_or_init(|| {
            let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            #[cfg(unix)]
            let _ = signal_hook::flag::register(
                signal_hook::consts::SIGINT,
                std::sync::Arc::clone(&flag),
            );
            #[cfg(windows)]
            {
                let flag = std::sync::Arc::clone(&flag);
                let _ = ctrlc::set_handler(move || {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                });
            }
            flag
        });
    }

    fn manifests(&self) -> &[Manifest] {
        // An unreadable manifest directory proves nothing: no backup covers anything.
        self.manifests
            .get_or_init(|| Manifest::list(&manifests_dir(&self.dirs)).unwrap_or_default())
    }

    fn recipes(&self) -> Result<&Recipes, &str> {
        self.recipes
            .get_or_init(|| Recipes::load(&self.dirs).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(String::as_str)
    }
}

fn answer(status: Status, manifest: Option<&Manifest>) -> Backup {
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

impl BackupOracle for ManifestOracle {
    fn status(&self, target: &Target, program: &str, max_age_secs: u64) -> Backup {
        self.catch_interrupts();
        let missing = |detail: Option<String>| Backup {
            status: BackupStatus::Missing,
            manifest: None,
            detail,
        };
        if matches!(target.kind.as_str(), "path" | "git-repo") {
            let Ok(path) = std::fs::canonicalize(&target.value) else {
                return missing(Some(format!(
                    "{} does not exist or cannot be resolved",
                    target.value
                )));
            };
            let (status, m) = path_status(
                self.manifests(),
                &path,
                max_age_secs,
                crate::config::unix_now().as_secs(),
            );
            return answer(status, m);
        }
        let recipes = match self.recipes() {
            Ok(r) => r,
            Err(e) => return missing(Some(format!("the backup recipes cannot be read: {e}"))),
        };
        let Some(recipe) = recipes.for_target(&target.kind, program) else {
            // Recipes back up this kind of target, but none that of this program's
            // store (a Redis database): no backup can be asked for. A kind no recipe
            // backs up at all (a table without its database) still needs one.
            if recipes.cover(&target.kind) {
                return Backup {
                    status: BackupStatus::NoRecipe,
                    manifest: None,
                    detail: Some(no_recipe(&target.kind, program)),
                };
            }
            return missing(Some(format!(
                "backstop has no recipe to back up a {} destroyed by {program}",
                target.kind
            )));
        };
        let value = match recipes::normalise(recipe, &target.value) {
            Ok(v) => v,
            Err(e) => return missing(Some(format!("{e:#}"))),
        };
        let wanted = recipes::wanted(recipe, &value);
        let (status, m) = coverage::status(
            self.manifests(),
            &wanted,
            max_age_secs,
            crate::config::unix_now().as_secs(),
        );
        answer(status, m)
    }
}

/// Why a target cannot be backed up, for a person.
pub fn no_recipe(kind: &str, program: &str) -> String {
    format!(
        "backstop has no recipe that backs up a {kind} destroyed by {program} (a policy file's [[recipe]] can add one)"
    )
}

/// Where a path copy of a manifest would be: the manifests' directory.
pub fn manifests_dir(dirs: &Dirs) -> PathBuf {
    dirs.data.join("manifests")
}
