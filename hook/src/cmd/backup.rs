//! `backstop backup` and `backstop manifests`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use backstop_backup::archive::archive_tree;
use backstop_backup::copy::{hex, TwoCopies};
use backstop_backup::device::device_of;
use backstop_backup::manifest::{Copy, Manifest, Target};

use crate::cli::{BackupArgs, ManifestsArgs, ManifestsCmd, VerifyArgs};
use crate::config::Dirs;

/// Kinds named with a prefix (`wsl:Ubuntu`); their recipes are not built yet.
const PREFIXED_KINDS: &[(&str, &str)] = &[
    ("wsl:", "wsl-distro"),
    ("sqlite:", "database"),
    ("postgres:", "database"),
    ("mysql:", "database"),
    ("registry:", "registry-key"),
];

pub fn manifests_dir(dirs: &Dirs) -> PathBuf {
    dirs.data.join("manifests")
}

/// A new manifest id: when, and a short hash of what and when, so two backups made
/// in the same second still differ.
fn new_id(target: &Path, now: std::time::Duration) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    target.hash(&mut h);
    now.as_nanos().hash(&mut h);
    std::process::id().hash(&mut h);
    format!("bk-{}-{:08x}", now.as_secs(), h.finish() as u32)
}

pub fn run(a: &BackupArgs) -> Result<ExitCode> {
    if a.to.len() != 2 {
        bail!("give exactly two destinations, on different filesystems: --to DIR1 --to DIR2 (for example a directory on this disk and one on another disk or /dev/shm)");
    }
    if let Some((prefix, kind)) = PREFIXED_KINDS.iter().find(|(p, _)| a.target.starts_with(p)) {
        bail!(
            "backing up a {kind} ({prefix}…) is not built yet; this version backs up paths (a file or a directory). Use the tool's own export meanwhile"
        );
    }
    let target = std::fs::canonicalize(&a.target).with_context(|| {
        format!(
            "cannot back up {}: it does not exist or cannot be read",
            a.target
        )
    })?;
    let mut dests = Vec::new();
    for d in &a.to {
        let c = std::fs::canonicalize(d).with_context(|| {
            format!(
                "destination {} does not exist; create it first",
                d.display()
            )
        })?;
        if !c.is_dir() {
            bail!("destination {} is not a directory", d.display());
        }
        if c.starts_with(&target) {
            bail!(
                "destination {} is inside {}: a backup must not be written into what it backs up",
                d.display(),
                target.display()
            );
        }
        dests.push(c);
    }
    let devices = [device_of(&dests[0])?, device_of(&dests[1])?];
    let redundant = devices[0] != devices[1];
    if !redundant && !a.same_device {
        bail!(
            "{} and {} are on the same filesystem, so one failure would take both copies; put the second on another disk (or /dev/shm), or pass --same-device to accept a backup that is not redundant",
            dests[0].display(),
            dests[1].display()
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let id = new_id(&target, now);
    let base = target
        .file_name()
        .map_or_else(|| "root".into(), |n| n.to_string_lossy().into_owned());
    let name = format!("{base}-{id}.tar");
    let paths = [dests[0].join(&name), dests[1].join(&name)];

    let copies = TwoCopies::create(&paths[0], &paths[1])?;
    let (index, copies) = archive_tree(&target, copies)?;
    let digest = copies.finish()?;

    let manifest = Manifest {
        id: id.clone(),
        target: Target { kind: "path".into(), value: target.display().to_string() },
        created: now.as_secs(),
        backstop_version: env!("CARGO_PKG_VERSION").into(),
        recipe: "native-tar".into(),
        copies: paths
            .iter()
            .zip(devices)
            .map(|(p, device)| Copy { path: p.clone(), device, size: digest.size, sha256: digest.hex() })
            .collect(),
        redundant,
        verified: "both copies re-read after writing: size and SHA-256 match the single pass that wrote them".into(),
        restore_test: "not-run".into(),
        block_sha256: digest.blocks.iter().map(|b| hex(b)).collect(),
        block_size: backstop_backup::copy::BLOCK,
        index,
    };
    let at = match manifest.write(&manifests_dir(&Dirs::discover()?)) {
        Ok(p) => p,
        Err(e) => {
            // No manifest, so no copies that nothing vouches for.
            for p in &paths {
                let _ = std::fs::remove_file(p);
            }
            return Err(e.into());
        }
    };
    println!(
        "backed up {} as {id} ({} entries, {} bytes)",
        target.display(),
        manifest.index.len(),
        digest.size
    );
    for c in &manifest.copies {
        println!("  {}  (device {})", c.path.display(), c.device);
    }
    println!(
        "  SHA-256 {}; both copies re-read and verified",
        digest.hex()
    );
    if !redundant {
        println!("  warning: both copies are on one filesystem (--same-device): not redundant");
    }
    println!("manifest: {}", at.display());
    Ok(ExitCode::SUCCESS)
}

/// The manifest with this id, or an error that says how to find the ids.
fn find(manifests: &[Manifest], id: &str) -> Result<Manifest> {
    manifests
        .iter()
        .find(|m| m.id == id)
        .cloned()
        .with_context(|| format!("no backup has the id `{id}`; `backstop manifests` lists them"))
}

pub fn verify(a: &VerifyArgs) -> Result<ExitCode> {
    let all = Manifest::list(&manifests_dir(&Dirs::discover()?))?;
    let chosen: Vec<Manifest> = if a.ids.is_empty() {
        all.clone()
    } else {
        a.ids
            .iter()
            .map(|id| find(&all, id))
            .collect::<Result<_>>()?
    };
    let mut failed = 0;
    for m in &chosen {
        match backstop_backup::coverage::copies_hold(m) {
            Ok(()) => println!("{}  ok: both copies present on two filesystems, re-hashed in full, every file matches the index", m.id),
            Err(s) => {
                failed += 1;
                println!("{}  FAILED: {s}", m.id);
            }
        }
    }
    if chosen.is_empty() {
        println!("no backups to verify");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn list(a: &ManifestsArgs) -> Result<ExitCode> {
    let manifests = Manifest::list(&manifests_dir(&Dirs::discover()?))?;
    if let Some(ManifestsCmd::Show { id }) = &a.show {
        println!("{}", serde_json::to_string_pretty(&find(&manifests, id)?)?);
        return Ok(ExitCode::SUCCESS);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&manifests)?);
        return Ok(ExitCode::SUCCESS);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    for m in &manifests {
        let size = m.copies.first().map_or(0, |c| c.size);
        let age = now.saturating_sub(m.created);
        println!(
            "{}  {:>6} ago  {} {}  {} bytes  {} copies{}  restore-test: {}",
            m.id,
            human_age(age),
            m.target.kind,
            m.target.value,
            size,
            m.copies.len(),
            if m.redundant { "" } else { " (not redundant)" },
            m.restore_test
        );
    }
    if manifests.is_empty() {
        println!("no backups yet: backstop backup PATH --to DIR1 --to DIR2");
    }
    Ok(ExitCode::SUCCESS)
}

fn human_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
