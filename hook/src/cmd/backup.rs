//! `backstop backup`, `manifests`, `verify`, `restore-test` and `cleanup`: the Safe
//! Backup-Verify-Restore pattern, each step recorded in a manifest.

use std::io::{IsTerminal as _, Write};
use std::path::Path;
use std::process::ExitCode;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context as _, Result};
use backstop_backup::archive::archive_tree;
use backstop_backup::copy::{hex, BLOCK};
use backstop_backup::coverage::{copies_hold, verify_copies};
use backstop_backup::dest::{Dest, Outgoing};
use backstop_backup::device;
use backstop_backup::domain::Domain;
use backstop_backup::manifest::{Manifest, Target};
use backstop_backup::recipe;
use backstop_rules::{BackupStatus, Decision};

use crate::backups::manifests_dir;
use crate::cli::{BackupArgs, CleanupArgs, IdArgs, ManifestsArgs, ManifestsCmd, VerifyArgs};
use crate::config::Dirs;
use crate::progress::Progress;
use crate::recipes::{self, Recipes, Spec};
use crate::settings::{human_size, Settings};

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

/// How a backup is asked for: by the command line, or from a refusal at the hook.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Destinations given with `--to`; the configured ones when empty.
    pub to: Vec<String>,
    /// Accept copies that share a failure domain.
    pub same_device: bool,
}

/// A destination checked and ready: where it is, and its failure domain.
#[derive(Debug, Clone)]
pub struct Ready {
    pub dest: Dest,
    pub domain: Domain,
}

/// The destinations to use: `--to`, else the configured ones; each checked (a
/// directory exists and is not inside the target; restic opens its repository;
/// rclone reaches its remote), and two of them in different failure domains
/// (unless the person accepts one). Returns them and whether they are redundant.
pub fn destinations(
    settings: &Settings,
    r: &Request,
    inside: Option<&Path>,
) -> Result<(Vec<Ready>, bool)> {
    let given: Vec<(Dest, Option<String>)> = if r.to.is_empty() {
        settings
            .backup
            .to
            .iter()
            .map(|c| (c.dest.clone(), Some(c.origin.clone())))
            .collect()
    } else {
        r.to.iter()
            .map(|t| {
                Dest::parse(t)
                    .map(|d| (d, None))
                    .map_err(|e| anyhow::anyhow!("--to {t}: {e}"))
            })
            .collect::<Result<_>>()?
    };
    if given.is_empty() {
        bail!("no destinations: give two with --to DEST --to DEST (a directory on another disk, restic:REPO, rclone:REMOTE:PATH), or configure them once with `backstop setup`");
    }
    if given.len() < 2 {
        bail!(
            "only one destination ({}); a backup needs two copies in different failure domains: add another --to, or another entry to [backup] to",
            given[0].0
        );
    }
    let mut ready: Vec<Ready> = Vec::new();
    for (dest, origin) in given {
        // Where the destination was named, so a person can fix it there.
        let at = |e: anyhow::Error| match &origin {
            Some(o) => anyhow::anyhow!("{o}: [backup] to: {e:#}"),
            None => e,
        };
        let dest = match dest {
            Dest::Local(d) => {
                let c = std::fs::canonicalize(&d)
                    .with_context(|| {
                        format!("destination {} does not exist; create it first (or plug in and mount the drive it is on)", d.display())
                    })
                    .map_err(at)?;
                if !c.is_dir() {
                    return Err(at(anyhow::anyhow!(
                        "destination {} is not a directory",
                        d.display()
                    )));
                }
                if let Some(t) = inside.filter(|t| c.starts_with(t)) {
                    return Err(at(anyhow::anyhow!(
                        "destination {} is inside {}: a backup must not be written into what it backs up",
                        d.display(),
                        t.display()
                    )));
                }
                Dest::Local(c)
            }
            other => {
                other.reachable().map_err(|e| at(e.into()))?;
                other
            }
        };
        if ready.iter().any(|r| r.dest == dest) {
            bail!("{dest} is named twice; two copies in one place are one copy");
        }
        let domain = dest.domain().map_err(|e| at(e.into()))?;
        ready.push(Ready { dest, domain });
    }
    let domains: Vec<Domain> = ready.iter().map(|r| r.domain.clone()).collect();
    let why = backstop_backup::domain::not_redundant(&domains, settings.backup.volatile_counts);
    if let Some(why) = &why {
        if !r.same_device {
            let list: Vec<String> = ready.iter().map(|r| r.dest.to_string()).collect();
            bail!(
                "{} are not redundant ({why}), so one failure could take every copy; put one on {}, or pass --same-device to accept a backup that is not redundant",
                list.join(" and "),
                if cfg!(windows) { "another drive or a remote" } else { "another disk or a remote (restic:…, rclone:…)" }
            );
        }
    }
    Ok((ready, why.is_none()))
}

/// Refuse, before anything is written, a backup that would leave a destination with
/// less free space than `[backup] min_free`. `size` is what the backup is expected
/// to take (0 when it cannot be known beforehand).
pub fn check_free_space(settings: &Settings, ready: &[Ready], size: u64) -> Result<()> {
    let min = settings.backup.min_free;
    for r in ready {
        let Some(free) = r.dest.free_space() else {
            continue;
        };
        if free < size.saturating_add(min) {
            bail!(
                "{} has {} free; this backup ({}) would leave less than {} (min_free in config.toml); nothing was written: free space there, or choose another destination",
                r.dest,
                human_size(free),
                if size == 0 { "of unknown size".to_string() } else { human_size(size) },
                human_size(min)
            );
        }
    }
    Ok(())
}

pub fn run(a: &BackupArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let settings = Settings::load(&dirs)?;
    let recipes = Recipes::load(&dirs)?;
    let specs = match (&a.target, &a.for_line) {
        (_, Some(line)) => specs_for_line(&recipes, line, &a.shell, None)?,
        (Some(t), None) => vec![recipes.parse_spec(t, a.kind.as_deref())?],
        (None, None) => bail!("name what to back up, or give --for 'COMMAND LINE'"),
    };
    if specs.is_empty() {
        say!("nothing in that line needs a backup: no rule that requires one matches it, or its targets are already covered");
        return Ok(ExitCode::SUCCESS);
    }
    let request = Request {
        to: a.to.clone(),
        same_device: a.same_device,
    };
    for spec in &specs {
        backup_one(&dirs, &settings, &request, spec, None)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The uncovered targets a line would destroy, as `backstop backup` names them.
pub fn specs_for_line<'r>(
    recipes: &'r Recipes,
    line: &str,
    shell: &str,
    cwd: Option<std::path::PathBuf>,
) -> Result<Vec<Spec<'r>>> {
    let input = super::LineInput {
        line: line.to_string(),
        dialect: super::parse_dialect(shell)?,
        cwd: cwd.or_else(|| std::env::current_dir().ok()),
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

/// Bytes a path backup will read: the files under it.
pub fn size_of_tree(p: &Path) -> u64 {
    walkdir::WalkDir::new(p)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// How a target is shown: a path as itself, anything else as `kind:value`.
pub fn shown_spec(spec: &Spec) -> String {
    match spec {
        Spec::Path(p) => p.display().to_string(),
        Spec::Recipe { recipe, value } => format!("{}:{value}", recipe.spec.kind),
    }
}

/// Back up one target to the destinations of `r`, and say what was made. With
/// `abort`, a set flag (Ctrl-C) stops the backup, and nothing of it is kept.
pub fn backup_one(
    dirs: &Dirs,
    settings: &Settings,
    r: &Request,
    spec: &Spec,
    abort: Option<&AtomicBool>,
) -> Result<Manifest> {
    let (manifest, at) = make_backup(dirs, settings, r, spec, abort)?;
    report_made(&manifest, &at);
    Ok(manifest)
}

/// [`backup_one`] without the report: the manifest, and where it was written (for a
/// caller whose stdout is not a person's, such as `restore --force --json`).
pub fn make_backup(
    dirs: &Dirs,
    settings: &Settings,
    r: &Request,
    spec: &Spec,
    abort: Option<&AtomicBool>,
) -> Result<(Manifest, std::path::PathBuf)> {
    let inside = match spec {
        Spec::Path(p) => Some(p.as_path()),
        Spec::Recipe { .. } => None,
    };
    let (ready, redundant) = destinations(settings, r, inside)?;
    let dests: Vec<Dest> = ready.iter().map(|r| r.dest.clone()).collect();
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
    let shown = shown_spec(spec);
    let total = match spec {
        Spec::Path(p) => Some(size_of_tree(p)),
        Spec::Recipe { .. } => None,
    };
    check_free_space(settings, &ready, total.unwrap_or(0))?;

    let progress = Progress::new(total, &format!("backing up {shown}"));
    let (digest, copies, index, recorded) = match spec {
        Spec::Path(p) => {
            let out = Counting {
                inner: Outgoing::start(&dests, &name)?,
                progress: &progress,
                abort,
            };
            let (index, out) = archive_tree(p, out)?;
            let (digest, copies) = out.inner.finish(now.as_secs())?;
            (digest, copies, index, None)
        }
        Spec::Recipe { recipe, value } => {
            // The recipe's own files are made beside the first local copy, else in
            // the system's temporary directory.
            let scratch_in = dests
                .iter()
                .find_map(|d| match d {
                    Dest::Local(p) => Some(p.clone()),
                    _ => None,
                })
                .unwrap_or_else(std::env::temp_dir);
            let scratch = tempfile::Builder::new()
                .prefix(".backstop-scratch-")
                .tempdir_in(&scratch_in)
                .with_context(|| {
                    format!(
                        "cannot make a scratch directory in {}",
                        scratch_in.display()
                    )
                })?;
            let made = recipe::backup(
                &recipe.spec.kind,
                &recipe.spec,
                value,
                scratch.path(),
                recipe::Destinations {
                    dests: &dests,
                    name: &name,
                    now: now.as_secs(),
                },
                &|n| progress.inc(n),
            )
            .with_context(|| format!("backing up {shown} failed; no backup was kept"))?;
            (made.digest, made.copies, Vec::new(), made.recorded)
        }
    };
    progress.finish();
    if abort.is_some_and(|f| f.load(Ordering::Relaxed)) {
        discard(&copies);
        bail!("interrupted; no backup was kept");
    }

    let manifest = Manifest {
        id: id.clone(),
        target: Target { kind, value },
        created: now.as_secs(),
        backstop_version: env!("CARGO_PKG_VERSION").into(),
        recipe: recipe_name,
        copies,
        redundant,
        verified: "every copy re-read after writing (remote ones through restic or rclone): size and SHA-256 match the single pass that wrote them".into(),
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
            discard(&manifest.copies);
            return Err(e.into());
        }
    };
    Ok((manifest, at))
}

/// Remove copies that no manifest vouches for.
fn discard(copies: &[backstop_backup::manifest::Copy]) {
    for c in copies {
        let _ = backstop_backup::dest::discard(c);
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

fn report_made(m: &Manifest, at: &Path) {
    let size = m.copies.first().map_or(0, |c| c.size);
    let sha = m.copies.first().map_or("", |c| c.sha256.as_str());
    let what = if m.index.is_empty() {
        String::new()
    } else {
        format!("{} entries, ", m.index.len())
    };
    say!("backed up {} as {} ({what}{size} bytes)", shown(m), m.id);
    for c in &m.copies {
        say!("  {}  ({})", c.shown(), where_is(c));
    }
    say!("  SHA-256 {sha}; every copy re-read and verified");
    if !m.redundant {
        say!("  warning: the copies share a failure domain (--same-device): not redundant");
    }
    say!("manifest: {}", at.display());
}

/// A copy's failure domain for a person: `disk /dev/vda`, `device 2049`, `remote`.
fn where_is(c: &backstop_backup::manifest::Copy) -> String {
    if c.is_remote() {
        return "remote, proven just now".into();
    }
    let disks: Vec<&str> = c
        .domain
        .iter()
        .filter_map(|k| k.strip_prefix("disk:"))
        .collect();
    let mut s = if disks.is_empty() {
        format!("device {}", device::label(c.device, cfg!(windows)))
    } else {
        format!("on {}", disks.join(" + "))
    };
    if let Some(v) = &c.volatile {
        s.push_str(&format!(", {v}: gone at the next reboot"));
    }
    s
}

/// The writer a path archive goes through, counting for the progress bar and
/// stopping when the abort flag is set.
struct Counting<'p> {
    inner: Outgoing,
    progress: &'p Progress,
    abort: Option<&'p AtomicBool>,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.abort.is_some_and(|f| f.load(Ordering::Relaxed)) {
            // Not ErrorKind::Interrupted, which write_all would retry.
            return Err(std::io::Error::other("interrupted with Ctrl-C"));
        }
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
    let settings = Settings::load(&dirs)?;
    let recipes = Recipes::load(&dirs)?;
    let dir = manifests_dir(&dirs);
    let all = Manifest::list(&dir)?;
    let chosen: Vec<Manifest> = if a.ids.is_empty() {
        all.clone()
    } else {
        a.ids
            .iter()
            .map(|id| find(&all, id))
            .collect::<Result<_>>()?
    };
    let mut failed = 0;
    let now = crate::config::unix_now().as_secs();
    for m in chosen {
        let mut m = m;
        let sampled = !a.full
            && m.copies
                .iter()
                .any(|c| !c.is_remote() && c.size > backstop_backup::coverage::SAMPLE_OVER);
        let remote = m.copies.iter().filter(|c| c.is_remote()).count();
        let content = content_of(&recipes, &m);
        let result = verify_copies(&mut m, &content, a.full, settings.trust(), now);
        // A remote copy's proof, renewed or failed, is kept for `check`.
        if remote > 0 {
            m.write(&dir)?;
        }
        match result {
            Ok(()) => say!(
                "{}  ok: every copy present, in separate failure domains, {}{}",
                m.id,
                if sampled {
                    "a random sample of blocks re-hashed (--full hashes everything)"
                } else if m.target.kind == "path" {
                    "re-hashed in full, every file matches the index"
                } else {
                    "re-hashed in full, content as the recipe expects"
                },
                if remote > 0 {
                    format!(
                        "; {remote} remote cop{} read back, proof renewed",
                        if remote == 1 { "y" } else { "ies" }
                    )
                } else {
                    String::new()
                }
            ),
            Err(s) => {
                failed += 1;
                say!("{}  FAILED: {s}", m.id);
            }
        }
    }
    if all.is_empty() {
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
    let settings = Settings::load(&dirs)?;
    let recipes = Recipes::load(&dirs)?;
    let dir = manifests_dir(&dirs);
    let mut m = find(&Manifest::list(&dir)?, &a.id)?;
    if m.restore_test == "cleaned" {
        bail!("{} was cleaned up: its copies are gone", m.id);
    }
    let content = content_of(&recipes, &m);
    let result = copies_hold(&m, &content, true, settings.trust())
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

/// Restore one copy somewhere harmless and compare it with what was recorded. The
/// copy is the one `backstop restore` would read first, read as it reads it (through
/// `open_copy`, each block checked), so a restore test proves the path a restore takes.
fn restore(recipes: &Recipes, m: &Manifest) -> Result<String> {
    use backstop_backup::restore as put;
    let copy = *put::restore_order(m)
        .first()
        .context("the manifest lists no copies")?;
    let scratch = super::restore::scratch_near(m).map_err(anyhow::Error::msg)?;
    let cancel = AtomicBool::new(false);
    if m.target.kind == "path" {
        let select = put::select_for(m, Path::new(&m.target.value))
            .with_context(|| format!("{} names nothing to restore", m.target.value))?;
        let dest = scratch.path().join("restored");
        let x = put::read_verified(m, copy, &cancel, &|_| {}, |r| {
            put::extract_tree(r, &m.index, &select, &dest, &copy.shown(), &cancel)
        })?;
        return Ok(format!(
            "{} entries extracted from {} to a scratch directory; all {} files ({} bytes) match the index by size and SHA-256",
            x.files + x.dirs + x.links,
            copy.shown(),
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
        copy.shown(),
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
    let all = Manifest::list(&dir)?;
    let chosen: Vec<Manifest> = match (&a.id, &a.older_than) {
        (Some(id), None) => vec![find(&all, id)?],
        (None, Some(age)) => {
            let age = crate::settings::parse_duration(age)
                .map_err(|e| anyhow::anyhow!("--older-than: {e}"))?;
            let now = crate::config::unix_now().as_secs();
            old_backups(&all, age.as_secs(), a.keep_last.unwrap_or(0), now)
        }
        _ => bail!("name a backup (`backstop cleanup ID`) or an age (`backstop cleanup --older-than 30days [--keep-last N]`)"),
    };
    let (proven, unproven): (Vec<Manifest>, Vec<Manifest>) =
        chosen.into_iter().partition(|m| m.restore_test == "passed");
    let mut doomed = proven;
    if !unproven.is_empty() {
        if !a.force {
            if a.id.is_some() {
                let m = &unproven[0];
                bail!(
                    "the restore test of {} has {}; prove the backup first with `backstop restore-test {}`, or delete it anyway with --force",
                    m.id,
                    if m.restore_test == "failed" { "failed" } else { "not run" },
                    m.id
                );
            }
            for m in &unproven {
                say!(
                    "  kept {}: its restore test has {} (`backstop restore-test {}`, or --force)",
                    m.id,
                    if m.restore_test == "failed" {
                        "failed"
                    } else {
                        "not run"
                    },
                    m.id
                );
            }
        } else {
            confirm_at_terminal(&unproven)?;
            doomed.extend(unproven);
        }
    }
    if doomed.is_empty() {
        say!("nothing to clean up");
        return Ok(ExitCode::SUCCESS);
    }
    let mut freed = 0u64;
    for m in &doomed {
        freed += clean_one(&dirs, &dir, m)?;
    }
    say!(
        "cleaned up {} backup{}: freed {} ({freed} bytes); the records are in {}",
        doomed.len(),
        if doomed.len() == 1 { "" } else { "s" },
        human_size(freed),
        dirs.data.join("cleaned").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Backups made longer than `older_than` seconds ago, except the newest `keep_last`
/// of each target.
fn old_backups(all: &[Manifest], older_than: u64, keep_last: usize, now: u64) -> Vec<Manifest> {
    let mut newest_first: Vec<&Manifest> = all.iter().collect();
    newest_first.sort_by_key(|m| std::cmp::Reverse((m.created, m.id.clone())));
    let mut seen: std::collections::HashMap<(&str, &str), usize> = Default::default();
    let mut out = Vec::new();
    for m in newest_first {
        let n = seen
            .entry((m.target.kind.as_str(), m.target.value.as_str()))
            .or_default();
        *n += 1;
        if *n > keep_last && now.saturating_sub(m.created) > older_than {
            out.push(m.clone());
        }
    }
    out.reverse();
    out
}

/// Delete one backup's copies and move its record out of the manifests in force;
/// the bytes its copies held.
fn clean_one(dirs: &Dirs, dir: &Path, m: &Manifest) -> Result<u64> {
    let mut freed = 0u64;
    for c in &m.copies {
        let gone = !c.is_remote() && !c.path.exists();
        backstop_backup::dest::discard(c)
            .with_context(|| format!("cannot delete {} (of {})", c.shown(), m.id))?;
        if gone {
            say!("  {} was already gone", c.shown());
        } else {
            freed += c.size;
            say!("  deleted {} ({})", c.shown(), human_size(c.size));
        }
    }
    // The record stays, out of the manifests in force, so history shows what was freed.
    let mut done = m.clone();
    done.restore_test = "cleaned".into();
    let cleaned = dirs.data.join("cleaned");
    done.write(&cleaned)?;
    let manifest_path = Manifest::path_in(dir, &m.id);
    std::fs::remove_file(&manifest_path)
        .with_context(|| format!("cannot remove the manifest of {}", m.id))?;
    // The restore test's rewrite left the previous version beside it; the record in
    // cleaned/ supersedes both.
    let _ = std::fs::remove_file(manifest_path.with_extension("json.backstop-bak"));
    say!("cleaned up {}", m.id);
    Ok(freed)
}

/// Only a person at the terminal can delete unproven backups: they type the id of
/// the one, or DELETE for several.
fn confirm_at_terminal(ms: &[Manifest]) -> Result<()> {
    use std::io::BufRead as _;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()
        .filter(|t| t.is_terminal())
        .context("--force needs a person at a terminal to confirm, and there is none; run `backstop restore-test` instead")?;
    let mut w = &tty;
    let phrase = match ms {
        [one] => one.id.clone(),
        _ => "DELETE".to_string(),
    };
    for m in ms {
        writeln!(
            w,
            "The restore test of {} has not passed, so nothing proves these copies restore:",
            m.id
        )?;
        for c in &m.copies {
            writeln!(w, "  {} ({} bytes)", c.shown(), c.size)?;
        }
    }
    write!(w, "Type {phrase} to delete them anyway: ")?;
    w.flush()?;
    let mut answer = String::new();
    std::io::BufReader::new(&tty).read_line(&mut answer)?;
    if answer.trim() != phrase {
        bail!("not confirmed; nothing was deleted");
    }
    Ok(())
}

/// Where a copy is kept, to sum the space per destination: a local copy's directory,
/// a remote copy's destination.
fn destination_of(c: &backstop_backup::manifest::Copy) -> String {
    match &c.location {
        Some(l) if c.is_remote() => l.clone(),
        _ => c
            .path
            .parent()
            .map_or_else(|| c.path.display().to_string(), |p| p.display().to_string()),
    }
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
    let mut used: Vec<(String, u64, usize)> = Vec::new();
    for m in &manifests {
        let size = m.copies.first().map_or(0, |c| c.size);
        let age = now.saturating_sub(m.created);
        say!(
            "{}  {:>6} ago  {} {}  {}  {} copies{}  restore-test: {}",
            m.id,
            crate::report::human_age(age),
            m.target.kind,
            m.target.value,
            human_size(size),
            m.copies.len(),
            if m.redundant { "" } else { " (not redundant)" },
            m.restore_test
        );
        for c in &m.copies {
            let d = destination_of(c);
            match used.iter_mut().find(|(k, _, _)| *k == d) {
                Some(u) => {
                    u.1 += c.size;
                    u.2 += 1;
                }
                None => used.push((d, c.size, 1)),
            }
        }
    }
    if manifests.is_empty() {
        say!("no backups yet: backstop backup PATH (to the destinations `backstop setup` configures), or --to DEST --to DEST");
    } else {
        say!("space used per destination:");
        for (d, bytes, n) in &used {
            let free = Dest::parse(d)
                .ok()
                .and_then(|d| match d {
                    Dest::Local(_) => d.free_space(),
                    _ => None,
                })
                .map(|f| format!(", {} free", human_size(f)))
                .unwrap_or_default();
            say!(
                "  {d}  {} in {n} cop{}{free}",
                human_size(*bytes),
                if *n == 1 { "y" } else { "ies" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
