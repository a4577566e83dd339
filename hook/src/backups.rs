//! The engine asks whether a backup covers a target; the manifests answer.

use std::path::PathBuf;
use std::sync::OnceLock;

use backstop_backup::coverage::{self, path_status, Status, Trust};
use backstop_backup::manifest::Manifest;
use backstop_rules::{Backup, BackupOracle, BackupStatus, Need, Target};

use crate::config::Dirs;
use crate::recipes::{self, Recipes};

/// Reads the manifests only when a rule needs a backup: benign lines never touch them.
#[derive(Debug)]
pub struct ManifestOracle {
    dirs: Dirs,
    manifests: OnceLock<Vec<Manifest>>,
    recipes: OnceLock<Result<Recipes, String>>,
    trust: OnceLock<Result<Trust, String>>,
    /// Set by Ctrl-C once a backup is being checked (see [`ManifestOracle::interrupted`]).
    interrupted: OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ManifestOracle {
    pub fn new(dirs: Dirs) -> ManifestOracle {
        ManifestOracle {
            dirs,
            manifests: OnceLock::new(),
            recipes: OnceLock::new(),
            trust: OnceLock::new(),
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

    /// What the settings let a backup count on; a broken config.toml lets it count
    /// on nothing.
    fn trust(&self) -> Result<Trust, &str> {
        self.trust
            .get_or_init(|| {
                crate::settings::Settings::load(&self.dirs)
                    .map(|s| s.trust())
                    .map_err(|e| format!("{e:#}"))
            })
            .as_ref()
            .map(|t| *t)
            .map_err(String::as_str)
    }

    /// The interrupt flag, shared with a backup made from the refusal.
    pub fn interrupt_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.catch_interrupts();
        self.interrupted
            .get()
            .map(std::sync::Arc::clone)
            .unwrap_or_default()
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
        Status::NotRedundant(why) => (BackupStatus::NotRedundant, Some(why)),
    };
    Backup {
        status,
        manifest: manifest.map(|m| m.id.clone()),
        detail,
        git: None,
    }
}

impl BackupOracle for ManifestOracle {
    /// A path is asked of git first (a few `git` processes, tens of milliseconds),
    /// then of the manifests (which may re-hash large copies). When neither covers
    /// it, what git said is kept if no manifest names the path: it says why
    /// (uncommitted, untracked, not pushed).
    fn status_for(&self, target: &Target, need: &Need) -> Backup {
        if target.kind != "path" {
            return self.status(target, need.program, need.max_age_secs);
        }
        self.catch_interrupts();
        let git =
            backstop_backup::git::coverage(std::path::Path::new(&target.value), need.regenerable);
        if let Some(g) = git.as_ref().filter(|g| g.status == BackupStatus::Covered) {
            return g.clone();
        }
        let manifests = self.status(target, need.program, need.max_age_secs);
        match git {
            Some(g)
                if manifests.status != BackupStatus::Covered && manifests.manifest.is_none() =>
            {
                g
            }
            _ => manifests,
        }
    }

    fn status(&self, target: &Target, program: &str, max_age_secs: u64) -> Backup {
        self.catch_interrupts();
        let missing = |detail: Option<String>| Backup {
            detail,
            ..Backup::default()
        };
        let trust = match self.trust() {
            Ok(t) => t,
            Err(e) => return missing(Some(format!("the settings cannot be read: {e}"))),
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
                trust,
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
                    detail: Some(no_recipe(&target.kind, program)),
                    ..Backup::default()
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
            trust,
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
