//! `backstop backup`, `manifests`, `verify`, `restore-test` and `cleanup`: the Safe
//! Backup-Verify-Restore pattern, each step recorded in a manifest.

use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use backstop_backup::archive::archive_tree;
use backstop_backup::copy::{hex, TwoCopies, BLOCK};
use backstop_backup::coverage::copies_hold;
use backstop_backup::device::{self, device_of};
use backstop_backup::manifest::{Copy, Manifest, Target};
use backstop_backup::recipe;
use backstop_rules::{BackupStatus, Decision};

use crate::backups::manifests_dir;
use crate::cli::{BackupArgs, CleanupArgs, IdArgs, ManifestsArgs, ManifestsCmd, VerifyArgs};
use crate::config::Dirs;
use crate::progress::Progress;
use crate::recipes::{self, Recipes, Spec};

/// Print a line; a reader that went away (`| head`) does not undo a backup already made.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// A new manifest id: when, and a short hash of what and when, so two backups made
/// in the same second still differ.
fn new_id(target: &str, now: std::time::Duration) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    target.hash(&mut h);
    now.as_nanos().hash(&mut h);
    std::process::id().hash(&mut h);
    format!("bk-{}-{:08x}", now.as_secs(), h.finish() as u32)
}

/// A file-name-safe stem for the copies: `shop`, `app.sqlite3`, `HKCU_Software_X`.
pub(crate) fn stem(value: &str) -> String {
    let last = value
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let s: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("root{s}")
    } else {
        s
    }
}

/// Where a backup goes: two directories, and whether one filesystem is accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dests<'a> {
    pub to: &'a [PathBuf],
    pub same_device: bool,
}

/// The two destinations, checked: they exist, are directories, are not inside the
/// target, and are on two filesystems (unless the person accepts one).
fn destinations(a: Dests, inside: Option<&Path>) -> Result<([PathBuf; 2], [u64; 2], bool)> {
    if a.to.len() != 2 {
        bail!("give exactly two destinations, on different filesystems: --to DIR1 --to DIR2 (for example a directory on this disk and one on another disk or /dev/shm)");
    }
    let mut dests = Vec::new();
    for d in a.to {
        let c = std::fs::canonicalize(d).with_context(|| {
            format!(
                "destination {} does not exist; create it first",
                d.display()
            )
        })?;
        if !c.is_dir() {
            bail!("destination {} is not a directory", d.display());
        }
        if let Some(t) = inside.filter(|t| c.starts_with(t)) {
            bail!(
                "destination {} is inside {}: a backup must not be written into what it backs up",
                d.display(),
                t.display()
            );
        }
        dests.push(c);
    }
    let devices = [device_of(&dests[0])?, device_of(&dests[1])?];
    let redundant = devices[0] != devices[1];
    if !redundant && !a.same_device {
        bail!(
            "{} and {} are on the same filesystem, so one failure would take both copies; put the second on {}, or pass --same-device to accept a backup that is not redundant",
            dests[0].display(),
            dests[1].display(),
            if cfg!(windows) { "another drive" } else { "another disk (or /dev/shm)" }
        );
    }
    let [d0, d1]: [PathBuf; 2] = dests
        .try_into()
        .map_err(|_| anyhow::anyhow!("two destinations"))?;
    Ok(([d0, d1], devices, redundant))
}

pub fn run(a: &BackupArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let recipes = Recipes::load(&dirs)?;
    let specs = match (&a.target, &a.for_line) {
        (_, Some(line)) => specs_for_line(&recipes, line, &a.shell)?,
        (Some(t), None) => vec![recipes.parse_spec(t, a.kind.as_deref())?],
        (None, None) => bail!("name what to back up, or give --for 'COMMAND LINE'"),
    };
    if specs.is_empty() {
        say!("nothing in that line needs a backup: no rule that requires one matches it, or its targets are already covered");
        return Ok(ExitCode::SUCCESS);
    }
    let dests = Dests {
        to: &a.to,
        same_device: a.same_device,
    };
    for spec in &specs {
        let (m, at) = backup_one(&dirs, dests, spec)?;
        report_made(&m, &shown(&m), &at);
    }
    Ok(ExitCode::SUCCESS)
}

/// The uncovered targets a line would destroy, as `backstop backup` names them.
fn specs_for_line<'r>(recipes: &'r Recipes, line: &str, shell: &str) -> Result<Vec<Spec<'r>>> {
    let input = super::LineInput {
        line: line.to_string(),
        dialect: super::parse_dialect(shell)?,
        cwd: std::env::current_dir().ok(),
        home: crate::config::home_dir(),
    };
    let eval = input.evaluate()?;
    let mut specs: Vec<Spec> = Vec::new();
    for f in eval
        .findings
        .iter()
        .filter(|f| f.requires.needs_backup() && f.decision != Decision::Allow)
    {
        let program = crate::report::program_of(f);
        let has_db = f.targets.iter().any(|t| t.kind == "database");
        if f.targets.is_empty() {
            bail!("`{}` matches {}, but what it would destroy cannot be told from the line; back it up by name", f.command, f.id);
        }
        for t in &f.targets {
            if matches!(
                t.backup.status,
                BackupStatus::Covered | BackupStatus::NotRequired
            ) || (has_db && matches!(t.kind.as_str(), "table" | "schema"))
            {
                continue;
            }
            let spec = if matches!(t.kind.as_str(), "path" | "git-repo") {
                let p = std::fs::canonicalize(&t.value).with_context(|| {
                    format!(
                        "{} (from `{}`) does not exist, so there is nothing to back up",
                        t.value, f.command
                    )
                })?;
                Spec::Path(p)
            } else {
                let recipe = recipes.for_target(&t.kind, &program).with_context(|| {
                    format!("backstop has no recipe for a {} destroyed by {program} (`{}`); a policy file's [[recipe]] can add one", t.kind, f.command)
                })?;
                Spec::Recipe {
                    recipe,
                    value: recipes::normalise(recipe, &t.value)?,
                }
            };
            if !specs.contains(&spec) {
                specs.push(spec);
            }
        }
    }
    Ok(specs)
}

/// Remove copies that no manifest vouches for.
fn discard(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// How a backup's target is shown: a path as it is, anything else as `kind:value`.
pub(crate) fn shown(m: &Manifest) -> String {
    if m.target.kind == "path" {
        m.target.value.clone()
    } else {
        format!("{}:{}", m.target.kind, m.target.value)
    }
}

/// Make one backup and record it: the manifest, and where it was written.
pub(crate) fn backup_one(dirs: &Dirs, a: Dests, spec: &Spec) -> Result<(Manifest, PathBuf)> {
    let inside = match spec {
        Spec::Path(p) => Some(p.as_path()),
        Spec::Recipe { .. } => None,
    };
    let (dests, devices, redundant) = destinations(a, inside)?;
    let (kind, value, ext, recipe_name) = match spec {
        Spec::Path(p) => (
            "path".to_string(),
            p.display().to_string(),
            "tar".to_string(),
            "native-tar".to_string(),
        ),
        Spec::Recipe { recipe, value } => (
            recipe.spec.kind.clone(),
            value.clone(),
            recipe.spec.extension.clone(),
            format!("{} ({})", recipe.spec.kind, recipe.origin),
        ),
    };
    let now = crate::config::unix_now();
    let id = new_id(&format!("{kind}:{value}"), now);
    let name = format!("{}-{id}.{ext}", stem(&value));
    let paths = [dests[0].join(&name), dests[1].join(&name)];
    let shown = if kind == "path" {
        value.clone()
    } else {
        format!("{kind}:{value}")
    };

    let (digest, index, recorded) = match spec {
        Spec::Path(p) => {
            let total = walkdir::WalkDir::new(p)
                .into_iter()
                .filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum();
            let progress = Progress::new(Some(total), &format!("backing up {shown}"));
            let copies = Counting {
                inner: TwoCopies::create(&paths[0], &paths[1])?,
                progress: &progress,
            };
            let (index, copies) = archive_tree(p, copies)?;
            let digest = copies.inner.finish()?;
            progress.finish();
            (digest, index, None)
        }
        Spec::Recipe { recipe, value } => {
            let scratch = tempfile::Builder::new()
                .prefix(".backstop-scratch-")
                .tempdir_in(&dests[0])
                .with_context(|| {
                    format!("cannot make a scratch directory in {}", dests[0].display())
                })?;
            let progress = Progress::new(None, &format!("backing up {shown}"));
            let made = recipe::backup(
                &recipe.spec.kind,
                &recipe.spec,
                value,
                scratch.path(),
                [&paths[0], &paths[1]],
                &|n| progress.inc(n),
            )
            .with_context(|| format!("backing up {shown} failed; no backup was kept"))?;
            progress.finish();
            (made.digest, Vec::new(), made.recorded)
        }
    };

    let manifest = Manifest {
        id: id.clone(),
        target: Target { kind, value },
        created: now.as_secs(),
        backstop_version: env!("CARGO_PKG_VERSION").into(),
        recipe: recipe_name,
        copies: paths
            .iter()
            .zip(devices)
            .map(|(p, device)| Copy { path: p.clone(), device, size: digest.size, sha256: digest.hex() })
            .collect(),
        redundant,
        verified: "both copies re-read after writing: size and SHA-256 match the single pass that wrote them".into(),
        restore_test: "not-run".into(),
        restore_tested: None,
        restore_detail: None,
        recorded,
        block_sha256: digest.blocks.iter().map(|b| hex(b)).collect(),
        block_size: BLOCK,
        index,
    };
    let at = match manifest.write(&manifests_dir(dirs)) {
        Ok(p) => p,
        Err(e) => {
            discard(&paths);
            return Err(e.into());
        }
    };
    Ok((manifest, at))
}

fn report_made(m: &Manifest, shown: &str, at: &Path) {
    let size = m.copies.first().map_or(0, |c| c.size);
    let sha = m.copies.first().map_or("", |c| c.sha256.as_str());
    let what = if m.index.is_empty() {
        String::new()
    } else {
        format!("{} entries, ", m.index.len())
    };
    say!("backed up {shown} as {} ({what}{size} bytes)", m.id);
    for c in &m.copies {
        say!(
            "  {}  (device {})",
            c.path.display(),
            device::label(c.device, cfg!(windows))
        );
    }
    say!("  SHA-256 {sha}; both copies re-read and verified");
    if !m.redundant {
        say!("  warning: both copies are on one filesystem (--same-device): not redundant");
    }
    say!("manifest: {}", at.display());
}

/// The writer a path archive goes through, counting for the progress bar.
struct Counting<'p> {
    inner: TwoCopies,
    progress: &'p Progress,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The manifest with this id, or an error that says how to find the ids.
fn find(manifests: &[Manifest], id: &str) -> Result<Manifest> {
    manifests
        .iter()
        .find(|m| m.id == id)
        .cloned()
        .with_context(|| format!("no backup has the id `{id}`; `backstop manifests` lists them"))
}

/// The content checks of a manifest's recipe (none for paths or unknown kinds).
fn content_of(recipes: &Recipes, m: &Manifest) -> Vec<String> {
    recipes
        .get(&m.target.kind)
        .map(|r| recipes::content(r, &m.target.value))
        .unwrap_or_default()
}

pub fn verify(a: &VerifyArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let recipes = Recipes::load(&dirs)?;
    let all = Manifest::list(&manifests_dir(&dirs))?;
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
        let sampled = !a.full
            && m.copies
                .iter()
                .any(|c| c.size > backstop_backup::coverage::SAMPLE_OVER);
        match copies_hold(m, &content_of(&recipes, m), a.full) {
            Ok(()) => say!(
                "{}  ok: both copies present on two filesystems, {}",
                m.id,
                if sampled {
                    "a random sample of blocks re-hashed (--full hashes everything)"
                } else if m.target.kind == "path" {
                    "re-hashed in full, every file matches the index"
                } else {
                    "re-hashed in full, content as the recipe expects"
                }
            ),
            Err(s) => {
                failed += 1;
                say!("{}  FAILED: {s}", m.id);
            }
        }
    }
    if chosen.is_empty() {
        say!("no backups to verify");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn restore_test(a: &IdArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let recipes = Recipes::load(&dirs)?;
    let dir = manifests_dir(&dirs);
    let mut m = find(&Manifest::list(&dir)?, &a.id)?;
    if m.restore_test == "cleaned" {
        bail!("{} was cleaned up: its copies are gone", m.id);
    }
    let content = content_of(&recipes, &m);
    let result = copies_hold(&m, &content, true)
        .map_err(|s| anyhow::anyhow!("the copies do not hold: {s}"))
        .and_then(|()| restore(&recipes, &m));
    m.restore_tested = Some(crate::config::unix_now().as_secs());
    let code = match &result {
        Ok(detail) => {
            m.restore_test = "passed".into();
            m.restore_detail = Some(detail.clone());
            say!("{}  restore test passed: {detail}", m.id);
            say!(
                "the backup is proven; once you no longer need it: backstop cleanup {}",
                m.id
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            m.restore_test = "failed".into();
            m.restore_detail = Some(format!("{e:#}"));
            say!("{}  restore test FAILED: {e:#}", m.id);
            say!("keep this backup's copies and make a new backup before relying on it");
            ExitCode::from(1)
        }
    };
    m.write(&dir)?;
    Ok(code)
}

/// Restore the first copy somewhere harmless and compare it with what was recorded.
/// The copy is read as `backstop restore` reads it (through `open_copy`, each block
/// checked), so a restore test proves the path a restore takes.
fn restore(recipes: &Recipes, m: &Manifest) -> Result<String> {
    use backstop_backup::restore as put;
    let copy = m.copies.first().context("the manifest lists no copies")?;
    let scratch = super::restore::scratch_near(m).map_err(anyhow::Error::msg)?;
    let cancel = std::sync::atomic::AtomicBool::new(false);
    if m.target.kind == "path" {
        let select = put::select_for(m, Path::new(&m.target.value))
            .with_context(|| format!("{} names nothing to restore", m.target.value))?;
        let dest = scratch.path().join("restored");
        let x = put::read_verified(m, copy, &cancel, &|_| {}, |r| {
            put::extract_tree(r, &m.index, &select, &dest, &copy.path, &cancel)
        })?;
        return Ok(format!(
            "{} entries extracted to a scratch directory; all {} files ({} bytes) match the index by size and SHA-256",
            x.files + x.dirs + x.links,
            x.files,
            x.bytes
        ));
    }
    let recipe = recipes.get(&m.target.kind).with_context(|| {
        format!(
            "no recipe for the kind `{}` is in force, so it cannot be restored",
            m.target.kind
        )
    })?;
    let restored = format!("restored.{}", recipe.spec.extension);
    // What the recipe restores from is the recorded backup, byte for byte.
    put::copy_verified(m, copy, &scratch.path().join(&restored), &cancel, &|_| {})?;
    let tag = m.id.rsplit('-').next().unwrap_or("0");
    let scratch_name = format!("backstop_restore_{tag}");
    recipe::restore_test(
        &recipe.spec.kind,
        &recipe.spec,
        &m.target.value,
        m.recorded.clone(),
        scratch.path(),
        &restored,
        &scratch_name,
    )?;
    Ok(format!(
        "{} restored from {} into a scratch area ({scratch_name}) and checked by {} step(s){}",
        m.target.value,
        copy.path.display(),
        recipe.spec.restore_test.len(),
        if m.recorded.is_some() {
            ", matching what was recorded at backup time"
        } else {
            ""
        }
    ))
}

pub fn cleanup(a: &CleanupArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let dir = manifests_dir(&dirs);
    let m = find(&Manifest::list(&dir)?, &a.id)?;
    if m.restore_test != "passed" {
        if !a.force {
            bail!(
                "the restore test of {} has {}; prove the backup first with `backstop restore-test {}`, or delete it anyway with --force",
                m.id,
                if m.restore_test == "failed" { "failed" } else { "not run" },
                m.id
            );
        }
        confirm_at_terminal(&m)?;
    }
    let mut freed = 0u64;
    for c in &m.copies {
        match std::fs::remove_file(&c.path) {
            Ok(()) => {
                freed += c.size;
                say!("  deleted {} ({} bytes)", c.path.display(), c.size);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                say!("  {} was already gone", c.path.display());
            }
            Err(e) => return Err(e).with_context(|| format!("cannot delete {}", c.path.display())),
        }
    }
    // The record stays, out of the manifests in force, so history shows what was freed.
    let mut done = m.clone();
    done.restore_test = "cleaned".into();
    let cleaned = dirs.data.join("cleaned");
    done.write(&cleaned)?;
    let manifest_path = Manifest::path_in(&dir, &m.id);
    std::fs::remove_file(&manifest_path)
        .with_context(|| format!("cannot remove the manifest of {}", m.id))?;
    // The restore test's rewrite left the previous version beside it; the record in
    // cleaned/ supersedes both.
    let _ = std::fs::remove_file(manifest_path.with_extension("json.backstop-bak"));
    say!(
        "cleaned up {}: freed {freed} bytes; its record is in {}",
        m.id,
        cleaned.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Only a person at the terminal can delete an unproven backup: they type its id.
fn confirm_at_terminal(m: &Manifest) -> Result<()> {
    use std::io::BufRead as _;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()
        .filter(|t| t.is_terminal())
        .context("--force needs a person at a terminal to confirm, and there is none; run `backstop restore-test` instead")?;
    let mut w = &tty;
    writeln!(
        w,
        "The restore test of {} has not passed, so nothing proves these copies restore:",
        m.id
    )?;
    for c in &m.copies {
        writeln!(w, "  {} ({} bytes)", c.path.display(), c.size)?;
    }
    write!(w, "Type the id ({}) to delete them anyway: ", m.id)?;
    w.flush()?;
    let mut answer = String::new();
    std::io::BufReader::new(&tty).read_line(&mut answer)?;
    if answer.trim() != m.id {
        bail!("not confirmed; nothing was deleted");
    }
    Ok(())
}

pub fn list(a: &ManifestsArgs) -> Result<ExitCode> {
    let manifests = Manifest::list(&manifests_dir(&Dirs::discover()?))?;
    if let Some(ManifestsCmd::Show { id }) = &a.show {
        say!("{}", serde_json::to_string_pretty(&find(&manifests, id)?)?);
        return Ok(ExitCode::SUCCESS);
    }
    if a.json {
        say!("{}", serde_json::to_string_pretty(&manifests)?);
        return Ok(ExitCode::SUCCESS);
    }
    let now = crate::config::unix_now().as_secs();
    for m in &manifests {
        let size = m.copies.first().map_or(0, |c| c.size);
        let age = now.saturating_sub(m.created);
        say!(
            "{}  {:>6} ago  {} {}  {} bytes  {} copies{}  restore-test: {}",
            m.id,
            crate::report::human_age(age),
            m.target.kind,
            m.target.value,
            size,
            m.copies.len(),
            if m.redundant { "" } else { " (not redundant)" },
            m.restore_test
        );
    }
    if manifests.is_empty() {
        say!("no backups yet: backstop backup PATH --to DIR1 --to DIR2");
    }
    Ok(ExitCode::SUCCESS)
}
