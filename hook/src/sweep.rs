//! Clearing what killed runs left: called at the start of `backup`, `verify`,
//! `cleanup`, `restore-test` and `restore`, which each report what they swept on
//! stderr (docs/faults.md).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use backstop_backup::dest::Dest;
use backstop_backup::journal::{self, Item, Swept};
use backstop_backup::manifest::Manifest;

use crate::backups::manifests_dir;
use crate::config::Dirs;
use crate::recipes::Recipes;
use crate::settings::Settings;

/// Sweep the records of runs that died, and the unrecorded leftovers of older
/// backstops in `dests` (local destination directories) and in backstop's own
/// directories. Each thing swept is said on stderr; the list is returned for a
/// `--json` report.
pub fn sweep(dirs: &Dirs, settings: &Settings, dests: &[PathBuf]) -> Vec<Swept> {
    let after = settings.backup.orphan_after.as_secs();
    let recipes = std::cell::OnceCell::new();
    let cleanup = |item: &Item| -> Result<String, String> {
        let Item::RecipeScratch {
            recipe,
            target,
            scratch_name,
            dir,
            restored,
        } = item
        else {
            return Err("not a recipe's scratch".into());
        };
        let recipes = recipes
            .get_or_init(|| Recipes::load(dirs).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(Clone::clone)?;
        let r = recipes
            .get(recipe)
            .ok_or_else(|| format!("no recipe for `{recipe}` is in force to clean up with"))?;
        let steps = backstop_backup::recipe::restore_cleanup(
            recipe,
            &r.spec,
            target,
            dir,
            restored,
            scratch_name,
        )
        .map_err(|e| e.to_string())?;
        // The directory the steps ran in is the run's own scratch.
        let _ = std::fs::remove_dir_all(dir);
        Ok(format!("its {steps} restore_cleanup step(s) ran"))
    };
    let mut swept = journal::sweep(&dirs.data, after, &cleanup);
    let mut places: Vec<PathBuf> = vec![dirs.data.clone(), manifests_dir(dirs)];
    places.extend(dests.iter().cloned());
    places.sort();
    places.dedup();
    for p in &places {
        swept.extend(journal::sweep_unrecorded(p, after));
    }
    let known = known_ids(dirs);
    for d in dests {
        swept.extend(journal::unclaimed_copies(d, &known, after));
    }
    for s in &swept {
        eprintln!("backstop: {s}");
    }
    swept
}

/// Every manifest id this data directory knows, in force or cleaned up: the files'
/// names (`ID.json`), without reading years of cleaned-up records.
fn known_ids(dirs: &Dirs) -> HashSet<String> {
    [manifests_dir(dirs), dirs.data.join("cleaned")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_string)
        })
        .collect()
}

/// The local destination directories backstop knows of: the configured ones, and
/// those that hold a local copy of a manifest in force.
pub fn known_destinations(settings: &Settings, manifests: &[Manifest]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = settings
        .backup
        .to
        .iter()
        .filter_map(|c| match &c.dest {
            Dest::Local(p) => std::fs::canonicalize(p).ok(),
            _ => None,
        })
        .collect();
    for m in manifests {
        out.extend(
            m.copies
                .iter()
                .filter(|c| !c.is_remote())
                .filter_map(|c| c.path.parent().map(Path::to_path_buf)),
        );
    }
    out.sort();
    out.dedup();
    out
}
