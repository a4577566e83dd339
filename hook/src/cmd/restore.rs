//! `backstop restore` and `backstop undo`: a backup put back where it was (or
//! elsewhere), from the first copy that verifies, into a place that is empty; what is
//! at a place that is not is replaced only with `--force`, after it is backed up.
//!
//! The order is always: check the place, back up what is there (`--force`), read one
//! copy into a scratch area while verifying it, run the recipe's checks, and only then
//! move the result into place. A failure before the move leaves the place as it was.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use backstop_backup::manifest::{Copy, Manifest};
use backstop_backup::recipe::{registry_short, Placeholders, Runner};
use backstop_backup::restore::{self as put, Occupant, Staging};
use backstop_backup::Error as BackupError;
use backstop_rules::policy::{Recipe, RecipeValue};
use backstop_rules::GitSource;
use indicatif::HumanBytes;
use serde::Serialize;

use super::backup::{make_backup, stem, Request};
use crate::audit::{self, Entry, Record, TargetRecord};
use crate::backups::manifests_dir;
use crate::cli::{RestoreArgs, UndoArgs};
use crate::config::Dirs;
use crate::progress::Progress;
use crate::recipes::{self, Recipes, Spec};
use crate::settings::Settings;
use backstop_backup::dest::Dest;

/// Exit codes, beside `check`'s: restored; no copy could be restored; refused or bad input.
pub const EXIT_RESTORED: u8 = 0;
pub const EXIT_NOT_RESTORED: u8 = 1;
pub const EXIT_REFUSED: u8 = crate::EXIT_ERROR;

/// How many approved lines `undo --list` shows.
const LISTED: usize = 10;

/// What every restore needs besides the manifest.
struct Ctx {
    dirs: Dirs,
    recipes: Recipes,
    /// config.toml, needed only where `--force` backs up to the configured
    /// destinations: a mistake in it does not stop a restore that needs none.
    settings: Result<Settings, String>,
    cancel: Arc<AtomicBool>,
    /// With `--json` stdout holds only the JSON: what happens is told on stderr.
    narrate_on_stderr: bool,
}

impl Ctx {
    fn new(json: bool) -> Result<Ctx> {
        let dirs = Dirs::discover()?;
        let recipes = Recipes::load(&dirs)?;
        let settings = Settings::load(&dirs).map_err(|e| format!("{e:#}"));
        Ok(Ctx {
            dirs,
            recipes,
            settings,
            cancel: catch_interrupts(),
            narrate_on_stderr: json,
        })
    }

    fn say(&self, text: &str) {
        // A reader that went away (`| head`) does not stop a restore under way.
        if self.narrate_on_stderr {
            let _ = writeln!(std::io::stderr(), "{text}");
        } else {
            let _ = writeln!(std::io::stdout(), "{text}");
        }
    }

    fn interrupted(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Ctrl-C (and SIGTERM, SIGHUP) set a flag that the restore checks between pieces, so
/// it stops with the place as it was and its scratch area removed; a second Ctrl-C
/// ends backstop at once.
fn catch_interrupts() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&flag));
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    #[cfg(windows)]
    {
        let f = Arc::clone(&flag);
        let _ = ctrlc::set_handler(move || f.store(true, Ordering::Relaxed));
    }
    flag
}

/// One backup going back to one place.
#[derive(Debug, Clone)]
struct Job<'m> {
    m: &'m Manifest,
    /// A path, a database or distribution name, a registry key.
    place: String,
    /// For a path backup: the part of the archive that goes there (`name`, `name/sub`).
    select: Option<String>,
    /// For kinds that keep files of their own (wsl): where they go.
    dir: Option<PathBuf>,
}

/// `--force` and where its backups go (`--backup-to`).
#[derive(Debug, Clone, Copy)]
struct Force<'a> {
    on: bool,
    backup_to: &'a [String],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Restored,
    Refused,
    Failed,
}

/// What a restore did, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Outcome {
    id: String,
    kind: String,
    place: String,
    outcome: Status,
    /// The copy it was restored from: a file, or a remote copy
    /// (`rclone:nas:backstop/x.tar`, `restic:REPO snapshot 1a2b3c4d`).
    copy: Option<String>,
    /// With `--force`: the backup of what was at the place before.
    previous: Option<String>,
    /// What was restored, or why not.
    detail: String,
    /// Copies that could not be used, and why.
    problems: Vec<String>,
}

/// Why a restore stopped: it was refused before anything changed, or it failed.
enum Stop {
    Refused(String),
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> Stop {
    Stop::Failed(e.to_string())
}

pub fn run(a: &RestoreArgs) -> Result<ExitCode> {
    let ctx = Ctx::new(a.json)?;
    let all = Manifest::list(&manifests_dir(&ctx.dirs))?;
    let Some(m) = all.iter().find(|m| m.id == a.id) else {
        if Manifest::path_in(&ctx.dirs.data.join("cleaned"), &a.id).exists() {
            bail!(
                "{} was cleaned up: its copies were deleted, so it cannot be restored",
                a.id
            );
        }
        bail!(
            "no backup has the id `{}`; `backstop manifests` lists them",
            a.id
        );
    };
    let job = job_for(&ctx, m, a.to.as_deref(), a.dir.clone())?;
    let force = Force {
        on: a.force,
        backup_to: &a.backup_to,
    };
    let out = restore_one(&ctx, &job, force, None);
    if a.json {
        // Restored or not, the exit code says so even when nobody reads the JSON.
        let _ = crate::outln!("{}", serde_json::to_string_pretty(&out)?);
    }
    tell(&ctx, &out);
    Ok(exit_code(&out))
}

fn exit_code(out: &Outcome) -> ExitCode {
    ExitCode::from(match out.outcome {
        Status::Restored => EXIT_RESTORED,
        Status::Failed => EXIT_NOT_RESTORED,
        Status::Refused => EXIT_REFUSED,
    })
}

/// The outcome for a person: what was restored and from where, or why not.
fn tell(ctx: &Ctx, out: &Outcome) {
    match out.outcome {
        Status::Restored => {
            let from = match &out.copy {
                Some(c) => format!("{c} (backup {})", out.id),
                None => out.id.clone(),
            };
            ctx.say(&format!(
                "restored {} from {from}: {}",
                out.place, out.detail
            ));
            if let Some(prev) = &out.previous {
                ctx.say(&format!(
                    "what was there before is in backup {prev}: `backstop restore {prev} --to ELSEWHERE` brings it back"
                ));
            }
        }
        Status::Refused => eprintln!("backstop: {}", out.detail),
        Status::Failed => eprintln!("backstop: could not restore {}: {}", out.place, out.detail),
    }
}

/// Lexically absolute and tidy (`.` dropped, `..` folded): the place may not exist.
fn absolute(p: &Path) -> Result<PathBuf> {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .context("cannot read the current directory")?
            .join(p)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Does any `restore` step name this placeholder?
fn restore_uses(recipe: &Recipe, placeholder: &str) -> bool {
    recipe.spec.restore.iter().any(|s| {
        s.run
            .iter()
            .chain(&s.file)
            .chain(&s.stdin)
            .any(|w| w.contains(placeholder))
    })
}

/// Does the first restore step, which creates the place, name it? If not (`reg
/// import FILE` restores the key the file names), the backup goes back only where it was.
fn creates_named_place(recipe: &Recipe) -> bool {
    recipe
        .spec
        .restore
        .first()
        .is_some_and(|s| s.run.iter().any(|w| w.contains("{place}")))
}

/// Is this text a path rather than a name (wsl's `--to DIR`)?
fn looks_like_path(text: &str) -> bool {
    let b = text.as_bytes();
    Path::new(text).is_absolute()
        || text.starts_with(r"\\")
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'))
}

/// Where `backstop restore ID [--to PLACE] [--dir DIR]` puts the backup.
fn job_for<'m>(
    ctx: &Ctx,
    m: &'m Manifest,
    to: Option<&str>,
    dir: Option<PathBuf>,
) -> Result<Job<'m>> {
    if m.target.kind == "path" {
        if dir.is_some() {
            bail!("--dir is for kinds that keep files of their own (wsl); a path goes back with --to PATH");
        }
        let place = match to {
            Some(t) => absolute(Path::new(t))?,
            None => PathBuf::from(&m.target.value),
        };
        if place.file_name().is_none() {
            bail!("{} names no file or directory to restore to; give --to a path such as ~/restored/NAME", place.display());
        }
        return Ok(Job {
            m,
            place: place.display().to_string(),
            select: put::select_for(m, Path::new(&m.target.value)),
            dir: None,
        });
    }
    let recipe = ctx.recipes.get(&m.target.kind).with_context(|| {
        format!(
            "no recipe for the kind `{}` is in force, so backstop does not know how to put it back; the kinds are path, {}",
            m.target.kind,
            ctx.recipes.kinds().join(", ")
        )
    })?;
    let uses_dir = restore_uses(recipe, "{place_dir}");
    if dir.is_some() && !uses_dir {
        bail!(
            "--dir is for kinds that keep files of their own (wsl); a {} backup goes back with --to NAME",
            m.target.kind
        );
    }
    // The recipe's programs run in a scratch directory: a relative DIR would land there.
    let (mut place, mut dir) = (
        m.target.value.clone(),
        dir.map(|d| absolute(&d)).transpose()?,
    );
    if let Some(t) = to {
        match recipe.spec.value {
            RecipeValue::Path => place = absolute(Path::new(t))?.display().to_string(),
            _ if uses_dir && looks_like_path(t) && dir.is_none() => {
                dir = Some(PathBuf::from(t));
            }
            _ if !creates_named_place(recipe) => bail!(
                "a {} backup can only go back where it was: the recipe's first restore step does not name the place ({{place}})",
                m.target.kind
            ),
            RecipeValue::RegistryKey => place = registry_short(t),
            RecipeValue::Name => place = t.to_string(),
        }
    }
    if place.trim().is_empty() {
        bail!("give --to a name to restore to");
    }
    Ok(Job {
        m,
        place,
        select: None,
        dir,
    })
}

/// The directory a kind that keeps files of its own (wsl) imports into: `--dir`, else
/// backstop's data directory, `KIND/NAME` (`NAME.2`, `NAME.3` … when an earlier
/// restore's files are still there).
fn place_dir(ctx: &Ctx, recipe: &Recipe, job: &Job) -> Option<PathBuf> {
    if !restore_uses(recipe, "{place_dir}") {
        return None;
    }
    if let Some(d) = &job.dir {
        return Some(d.clone());
    }
    let base = ctx.dirs.data.join(&recipe.spec.kind);
    let name = stem(&job.place);
    let free = |d: &PathBuf| put::occupant(d).is_ok_and(|o| o.is_free());
    (1..100)
        .map(|i| match i {
            1 => base.join(&name),
            i => base.join(format!("{name}.{i}")),
        })
        .find(free)
        .or_else(|| Some(base.join(&name)))
}

/// A recipe's steps with this job's placeholders, run in `cwd`.
fn runner<'r>(
    recipe: &'r Recipe,
    job: &Job,
    cwd: &Path,
    restored: Option<&Path>,
    place_dir: Option<&Path>,
) -> Runner<'r> {
    let mut ph = Placeholders::new(&job.m.target.value, recipe.spec.value);
    ph.set("place", &job.place);
    if let Some(r) = restored {
        ph.set("restored", &r.display().to_string());
    }
    if let Some(d) = place_dir {
        ph.set("place_dir", &d.display().to_string());
    }
    Runner {
        kind: &recipe.spec.kind,
        spec: &recipe.spec,
        ph,
        cwd: cwd.to_path_buf(),
        recorded: job.m.recorded.clone(),
    }
}

/// Files beside a file place that belong to it (a database's `-wal`), present now.
fn companions(recipe: &Recipe, place: &str) -> Vec<PathBuf> {
    let mut ph = Placeholders::default();
    ph.set("place", place);
    recipe
        .spec
        .companions
        .iter()
        .map(|c| PathBuf::from(ph.expand(c, false)))
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .collect()
}

/// `1 file`, `2 files`, `1 directory`, `3 directories`.
fn count(n: u64, one: &str) -> String {
    match (n, one.strip_suffix('y')) {
        (1, _) => format!("1 {one}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {one}s"),
    }
}

fn age(secs: u64) -> String {
    crate::report::human_age(crate::config::unix_now().as_secs().saturating_sub(secs))
}

fn describe(o: &Occupant) -> String {
    match o {
        Occupant::Nothing | Occupant::Empty => "nothing".into(),
        Occupant::File { bytes, modified } => {
            format!(
                "a file of {}, changed {} ago",
                HumanBytes(*bytes),
                age(*modified)
            )
        }
        Occupant::Dir {
            files,
            dirs,
            bytes,
            newest,
            more,
        } => format!(
            "{}{} and {} ({}), the newest changed {} ago",
            if *more { "more than " } else { "" },
            count(*files, "file"),
            count(*dirs, "directory"),
            HumanBytes(*bytes),
            age(*newest)
        ),
        Occupant::Link(to) => format!("a symbolic link to {}", to.display()),
        Occupant::Other => "a device, socket or pipe".into(),
    }
}

/// What is at a job's place now, as a statement about it (`/x is not empty: it holds
/// …`, `the postgres shop exists: …`): `None` when a restore may go there.
fn taken(ctx: &Ctx, job: &Job) -> Result<Option<String>, String> {
    let kind = job.m.target.kind.as_str();
    let not_empty = |what: String| format!("{} is not empty: it holds {what}", job.place);
    if kind == "path" {
        let o = put::occupant(Path::new(&job.place)).map_err(|e| e.to_string())?;
        return Ok((!o.is_free()).then(|| not_empty(describe(&o))));
    }
    let recipe = ctx
        .recipes
        .get(kind)
        .ok_or_else(|| format!("no recipe for the kind `{kind}` is in force"))?;
    if recipe.spec.value == RecipeValue::Path {
        let o = put::occupant(Path::new(&job.place)).map_err(|e| e.to_string())?;
        let mut what = Vec::new();
        if !o.is_free() {
            what.push(describe(&o));
        }
        for c in companions(recipe, &job.place) {
            what.push(format!("{} beside it", c.display()));
        }
        return Ok((!what.is_empty()).then(|| not_empty(what.join(", and "))));
    }
    if let Some(d) = place_dir(ctx, recipe, job) {
        let o = put::occupant(&d).map_err(|e| e.to_string())?;
        if !o.is_free() {
            return Ok(Some(format!(
                "{}, the directory {} would go in, is not empty: it holds {} (choose another with --dir)",
                d.display(),
                job.place,
                describe(&o)
            )));
        }
    }
    let Some(exists) = &recipe.spec.restore_exists else {
        return Ok(None);
    };
    let cwd = tempfile::Builder::new()
        .prefix(put::SCRATCH_PREFIX)
        .tempdir()
        .map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    let r = runner(recipe, job, cwd.path(), None, None);
    if r.probe(exists).map_err(|e| e.to_string())?.is_none() {
        return Ok(None);
    }
    let shown = recipe
        .spec
        .restore_describe
        .as_ref()
        .and_then(|d| r.probe(d).ok().flatten())
        .map(|t| {
            let lines: Vec<&str> = t.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let more = lines.len().saturating_sub(5);
            let mut s = lines[..lines.len().min(5)].join("; ");
            if more > 0 {
                s.push_str(&format!("; and {more} more lines"));
            }
            s
        })
        .filter(|s| !s.is_empty());
    Ok(Some(match shown {
        Some(s) => format!("the {kind} {} exists: {s}", job.place),
        None => format!("the {kind} {} exists", job.place),
    }))
}

/// The destinations a backup's copies were written to, rebuilt from its manifest: a
/// local copy's directory, a remote copy's `restic:REPO` or `rclone:REMOTE:PATH`.
/// `None` when one cannot be rebuilt (a directory that is gone, a remote copy that
/// does not name its destination).
fn dests_of(m: &Manifest) -> Option<Vec<Dest>> {
    let mut out: Vec<Dest> = Vec::new();
    for c in &m.copies {
        let d = if c.is_remote() {
            Dest::parse(c.location.as_deref()?)
                .ok()
                .filter(|d| d.kind() == c.kind)?
        } else {
            Dest::Local(c.path.parent().filter(|p| p.is_dir())?.to_path_buf())
        };
        if !out.contains(&d) {
            out.push(d);
        }
    }
    (out.len() >= 2).then_some(out)
}

/// Where a `--force` backup of the place goes: `--backup-to`; else where the
/// restored backup's own copies are (remote ones included); else the destinations
/// configured in config.toml. With the backup's own destinations, the person accepted
/// a shared failure domain when they made it if it is not redundant.
fn force_request(m: &Manifest, force: Force) -> Request {
    if !force.backup_to.is_empty() {
        return Request {
            to: force.backup_to.to_vec(),
            same_device: false,
        };
    }
    match dests_of(m) {
        Some(dests) => Request {
            to: dests.iter().map(Dest::to_string).collect(),
            same_device: !m.redundant,
        },
        // Empty: the configured destinations.
        None => Request::default(),
    }
}

/// The destinations of a `--force` backup, for a person.
fn force_targets(ctx: &Ctx, r: &Request) -> String {
    let named: Vec<String> = if r.to.is_empty() {
        match &ctx.settings {
            Ok(s) => s.backup.to.iter().map(|c| c.dest.to_string()).collect(),
            Err(e) => {
                return format!("the destinations in config.toml, which cannot be read ({e}): fix it, or give --backup-to DEST --backup-to DEST")
            }
        }
    } else {
        r.to.clone()
    };
    if named.is_empty() {
        "the destinations in config.toml, which names none yet: give --backup-to DEST --backup-to DEST".into()
    } else {
        named.join(" and ")
    }
}

fn refusal(ctx: &Ctx, job: &Job, what: &str, force: Force) -> String {
    let r = force_request(job.m, force);
    format!(
        "{what}. Nothing was changed. Restore elsewhere with --to, or pass --force to back up what is there first (to {}) and then replace it.",
        force_targets(ctx, &r)
    )
}

/// Back up what is at the place, with the same rule as any backup: two copies in
/// different failure domains, each re-read and proven.
fn back_up_place(ctx: &Ctx, job: &Job, force: Force) -> Result<Manifest, Stop> {
    let kind = job.m.target.kind.as_str();
    let spec = if kind == "path" {
        // The place itself, even a symlink: only its directory is resolved.
        let place = Path::new(&job.place);
        let parent = place
            .parent()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        Spec::Path(parent.join(place.file_name().unwrap_or_default()))
    } else {
        let recipe = ctx
            .recipes
            .get(kind)
            .ok_or_else(|| failed(format!("no recipe for `{kind}` to back up {}", job.place)))?;
        let value = recipes::normalise(recipe, &job.place).map_err(|e| failed(format!("{e:#}")))?;
        Spec::Recipe { recipe, value }
    };
    let request = force_request(job.m, force);
    let settings = ctx.settings.as_ref().map_err(|e| {
        failed(format!(
            "what is at {} could not be backed up, so it was left as it was: {e}",
            job.place
        ))
    })?;
    ctx.say(&format!(
        "backing up what is at {} first (--force), to {}",
        job.place,
        force_targets(ctx, &request)
    ));
    let made = make_backup(&ctx.dirs, settings, &request, &spec, Some(&ctx.cancel));
    let (m, _) = made.map_err(|e| {
        let hint = if force.backup_to.is_empty() {
            " (give two other destinations with --backup-to DEST --backup-to DEST)"
        } else {
            ""
        };
        failed(format!(
            "what is at {} could not be backed up, so it was left as it was: {e:#}{hint}",
            job.place
        ))
    })?;
    let copies: Vec<String> = m.copies.iter().map(Copy::shown).collect();
    ctx.say(&format!(
        "  backed up as {} ({})",
        m.id,
        copies.join(" and ")
    ));
    Ok(m)
}

/// Read the copies in turn (local ones first, then remote ones: see
/// `put::restore_order`) until one restores: a copy that fails (missing, wrong size,
/// wrong hash, its program failing) is reported and the next is tried; `reset`
/// clears what it left.
fn first_good_copy<'m, T>(
    ctx: &Ctx,
    job: &Job<'m>,
    problems: &mut Vec<String>,
    mut attempt: impl FnMut(&'m Copy, &Progress) -> backstop_backup::Result<T>,
    mut reset: impl FnMut(),
) -> Result<(T, &'m Copy), Stop> {
    let copies = put::restore_order(job.m);
    for (i, copy) in copies.iter().copied().enumerate() {
        let progress = Progress::new(
            Some(copy.size),
            &format!("restoring {} from {}", job.place, copy.shown()),
        );
        let result = attempt(copy, &progress);
        progress.finish();
        match result {
            Ok(t) => return Ok((t, copy)),
            Err(e @ BackupError::CopyUnusable { .. }) => {
                ctx.say(&format!("  {e}"));
                problems.push(e.to_string());
                reset();
                match copies.get(i + 1..).unwrap_or_default() {
                    [] => {}
                    [last] => ctx.say(&format!("  trying the other copy, {}", last.shown())),
                    [next, ..] => ctx.say(&format!("  trying the next copy, {}", next.shown())),
                }
            }
            Err(BackupError::Interrupted) => {
                return Err(Stop::Failed(format!(
                    "interrupted; nothing was written at {}",
                    job.place
                )))
            }
            Err(e) => {
                return Err(Stop::Failed(format!(
                    "{e}; nothing was written at {}",
                    job.place
                )))
            }
        }
    }
    Err(Stop::Failed(format!(
        "no copy verifies, so nothing was written at {} ({})",
        job.place,
        if problems.is_empty() {
            "the manifest lists no copies".to_string()
        } else {
            problems.join("; ")
        }
    )))
}

fn restore_one(ctx: &Ctx, job: &Job, force: Force, undo_of: Option<u64>) -> Outcome {
    let mut out = Outcome {
        id: job.m.id.clone(),
        kind: job.m.target.kind.clone(),
        place: job.place.clone(),
        outcome: Status::Failed,
        copy: None,
        previous: None,
        detail: String::new(),
        problems: Vec::new(),
    };
    let result = restore_job(ctx, job, force, &mut out);
    match result {
        Ok(detail) => {
            out.outcome = Status::Restored;
            out.detail = detail;
        }
        Err(Stop::Refused(why)) => {
            out.outcome = Status::Refused;
            out.detail = why;
        }
        Err(Stop::Failed(why)) => {
            out.outcome = Status::Failed;
            out.detail = why;
        }
    }
    record(ctx, &out, undo_of, None);
    out
}

fn restore_job(ctx: &Ctx, job: &Job, force: Force, out: &mut Outcome) -> Result<String, Stop> {
    if job.m.restore_test == "cleaned" {
        return Err(Stop::Refused(format!(
            "{} was cleaned up: its copies were deleted",
            job.m.id
        )));
    }
    // What a file or tree place holds now: it must hold the same when the restore is
    // moved in, or something else wrote there meanwhile.
    let expect = put::occupant(Path::new(&job.place)).unwrap_or(Occupant::Other);
    let was_taken = match taken(ctx, job).map_err(|e| {
        failed(format!(
            "cannot tell what is at {}, so nothing was changed: {e}",
            job.place
        ))
    })? {
        Some(what) if !force.on => return Err(Stop::Refused(refusal(ctx, job, &what, force))),
        Some(_) => true,
        None => false,
    };
    let kind = job.m.target.kind.as_str();
    if kind == "path" {
        if was_taken {
            out.previous = Some(back_up_place(ctx, job, force)?.id);
        }
        return restore_path(ctx, job, &expect, out);
    }
    let recipe = ctx
        .recipes
        .get(kind)
        .ok_or_else(|| Stop::Refused(format!("no recipe for the kind `{kind}` is in force")))?;
    if recipe.spec.restore.is_empty() && recipe.spec.value != RecipeValue::Path {
        return Err(Stop::Refused(format!(
            "the `{kind}` recipe ({}) has no `restore` steps, so backstop cannot put this kind back; a policy file's [[recipe]] can add them (policies/README.md)",
            recipe.origin
        )));
    }
    if was_taken && recipe.spec.value != RecipeValue::Path && recipe.spec.restore_remove.is_empty()
    {
        return Err(Stop::Refused(format!(
            "{} exists, and the `{kind}` recipe has no `restore_remove` steps to replace it; restore elsewhere with --to",
            job.place
        )));
    }
    if was_taken {
        out.previous = Some(back_up_place(ctx, job, force)?.id);
    }
    if recipe.spec.value == RecipeValue::Path {
        restore_file(ctx, job, recipe, was_taken, &expect, out)
    } else {
        restore_named(ctx, job, recipe, was_taken, out)
    }
}

/// A native archive: extracted beside the place, every file checked against the index
/// as it is written, then moved in.
fn restore_path(
    ctx: &Ctx,
    job: &Job,
    expect: &Occupant,
    out: &mut Outcome,
) -> Result<String, Stop> {
    let place = Path::new(&job.place);
    let select = job
        .select
        .clone()
        .ok_or_else(|| Stop::Refused(format!("{} names nothing to restore", job.m.target.value)))?;
    let staging = Staging::beside(place)
        .map_err(|e| failed(format!("{e}; nothing was written at {}", job.place)))?;
    let cancel = &*ctx.cancel;
    let m = job.m;
    let (x, copy) = first_good_copy(
        ctx,
        job,
        &mut out.problems,
        |c, p| {
            put::read_verified(m, c, cancel, &|n| p.inc(n), |r| {
                put::extract_tree(r, &m.index, &select, staging.path(), &c.shown(), cancel)
            })
        },
        || {
            let _ = staging.clear();
        },
    )?;
    out.copy = Some(copy.shown());
    commit(ctx, staging, job, expect)?;
    Ok(format!(
        "{} ({}), {}, {}; each file hashed as it was written and matching the index",
        count(x.files, "file"),
        HumanBytes(x.bytes),
        count(x.dirs, "directory"),
        count(x.links, "symlink")
    ))
}

/// Move what was staged into place, unless Ctrl-C came first.
fn commit(ctx: &Ctx, staging: Staging, job: &Job, expect: &Occupant) -> Result<(), Stop> {
    if ctx.interrupted() {
        return Err(Stop::Failed(format!(
            "interrupted; nothing was written at {}",
            job.place
        )));
    }
    let done = staging.commit(expect).map_err(|e| match e {
        BackupError::PlaceChanged { .. } => failed(e),
        e => failed(format!("{e}; {} is as it was", job.place)),
    })?;
    if let Some((left, why)) = done.leftover {
        ctx.say(&format!(
            "  warning: what was at {} before (backed up) could not be removed from {}: {why}; remove it by hand",
            job.place,
            left.display()
        ));
    }
    Ok(())
}

/// A file kind (sqlite): the verified copy is written beside the place and flushed,
/// the recipe's restore steps check it, and it is renamed onto the place.
fn restore_file(
    ctx: &Ctx,
    job: &Job,
    recipe: &Recipe,
    was_taken: bool,
    expect: &Occupant,
    out: &mut Outcome,
) -> Result<String, Stop> {
    let place = Path::new(&job.place);
    let staging = Staging::beside(place)
        .map_err(|e| failed(format!("{e}; nothing was written at {}", job.place)))?;
    let cancel = &*ctx.cancel;
    let m = job.m;
    let (_, copy) = first_good_copy(
        ctx,
        job,
        &mut out.problems,
        |c, p| put::copy_verified(m, c, staging.path(), cancel, &|n| p.inc(n)),
        || {
            let _ = staging.clear();
        },
    )?;
    out.copy = Some(copy.shown());
    let r = runner(recipe, job, staging.scratch(), Some(staging.path()), None);
    r.restore().map_err(|(_, e)| {
        failed(format!(
            "the restored copy did not pass the recipe's checks ({e}); nothing was written at {}",
            job.place
        ))
    })?;
    if was_taken {
        // Backed up with the database itself; a restored file must not be read with them.
        for c in companions(recipe, &job.place) {
            std::fs::remove_file(&c).map_err(|e| {
                failed(format!(
                    "cannot remove {} ({e}); {} is as it was",
                    c.display(),
                    job.place
                ))
            })?;
        }
    }
    commit(ctx, staging, job, expect)?;
    Ok(format!(
        "verified, flushed to disk and checked by {} step(s) before it was moved into place",
        recipe.spec.restore.len()
    ))
}

/// A scratch directory for a verified copy: beside a local copy when one can be made
/// there (its disk has room for it), else in the system's temporary directory (a
/// backup whose copies are all remote).
pub(crate) fn scratch_near(m: &Manifest) -> Result<tempfile::TempDir, String> {
    // A remote copy's path is its location (`rclone:nas:b/x.tar`), not a directory.
    for c in m.copies.iter().filter(|c| !c.is_remote()) {
        if let Some(dir) = c.path.parent() {
            if let Ok(t) = tempfile::Builder::new()
                .prefix(put::SCRATCH_PREFIX)
                .tempdir_in(dir)
            {
                return Ok(t);
            }
        }
    }
    tempfile::Builder::new()
        .prefix(put::SCRATCH_PREFIX)
        .tempdir()
        .map_err(|e| format!("cannot make a scratch directory: {e}"))
}

/// A named kind (a database, a distribution, a registry key): the verified copy goes
/// to a scratch file, what is at the place is removed (`--force`, backed up already),
/// and the recipe's restore steps put it back; if they fail after creating the place,
/// what they created is removed again.
fn restore_named(
    ctx: &Ctx,
    job: &Job,
    recipe: &Recipe,
    was_taken: bool,
    out: &mut Outcome,
) -> Result<String, Stop> {
    let spec = &recipe.spec;
    let scratch = scratch_near(job.m).map_err(Stop::Failed)?;
    let restored = scratch.path().join(format!("restored.{}", spec.extension));
    let dir = place_dir(ctx, recipe, job);
    let r = runner(recipe, job, scratch.path(), Some(&restored), dir.as_deref());
    let cancel = &*ctx.cancel;
    let m = job.m;
    let (_, copy) = first_good_copy(
        ctx,
        job,
        &mut out.problems,
        |c, p| put::copy_verified(m, c, &restored, cancel, &|n| p.inc(n)),
        || {
            let _ = std::fs::remove_file(&restored);
        },
    )?;
    out.copy = Some(copy.shown());
    if ctx.interrupted() {
        return Err(Stop::Failed(format!(
            "interrupted; nothing was written at {}",
            job.place
        )));
    }
    let before = |what: &str| {
        match &out.previous {
        Some(prev) => format!("{what}; what was there before is in backup {prev}: `backstop restore {prev}` puts it back"),
        None => what.to_string(),
    }
    };
    if was_taken {
        r.remove_place().map_err(|e| {
            failed(before(&format!(
                "removing what is at {} failed ({e}), so it was left as it was",
                job.place
            )))
        })?;
    }
    let made_dir = match &dir {
        Some(d) if !d.exists() => {
            std::fs::create_dir_all(d)
                .map_err(|e| failed(format!("cannot create {}: {e}", d.display())))?;
            true
        }
        _ => false,
    };
    if let Err((created, e)) = r.restore() {
        let mut why = format!("{e}");
        if created {
            match r.remove_place() {
                Ok(()) => why.push_str(&format!(
                    "; what it had created at {} was removed",
                    job.place
                )),
                Err(again) => why.push_str(&format!(
                    "; removing what it had created at {} failed too ({again}): remove it by hand",
                    job.place
                )),
            }
        }
        if let (true, Some(d)) = (made_dir, &dir) {
            let _ = put::remove_tree(d);
        }
        if ctx.interrupted() {
            why = format!("interrupted: {why}");
        }
        return Err(failed(before(&why)));
    }
    Ok(format!(
        "verified, then put back by {} restore step(s){}",
        spec.restore.len(),
        if job.m.recorded.is_some() && spec.restore.iter().any(|s| s.same_as_record) {
            ", matching what was recorded at backup time"
        } else {
            ""
        }
    ))
}

/// Every restore is an audit record: what went where, from which backup or commit.
fn record(ctx: &Ctx, out: &Outcome, undo_of: Option<u64>, git: Option<&GitSource>) {
    let (event, backup) = match out.outcome {
        Status::Restored => ("restored", "restored"),
        Status::Refused => ("restore-refused", "refused"),
        Status::Failed => ("restore-failed", "failed"),
    };
    let mut detail = match &out.copy {
        Some(c) => format!("from {c}: {}", out.detail),
        None => out.detail.clone(),
    };
    if let Some(prev) = &out.previous {
        detail.push_str(&format!(" (what was there is backed up as {prev})"));
    }
    if let Some(n) = undo_of {
        detail = format!("{}{detail}", undo_marker(n));
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let entry = Entry {
        event: event.into(),
        source: "backstop".into(),
        session: String::new(),
        line: format!("backstop {}", args.join(" ")),
        rules: Vec::new(),
        targets: vec![TargetRecord {
            kind: out.kind.clone(),
            value: out.place.clone(),
            backup: backup.into(),
            manifest: git.is_none().then(|| out.id.clone()),
            place: Some(out.place.clone()),
            git: git.cloned(),
        }],
        detail,
    };
    if let Err(e) = audit::append(&ctx.dirs, entry) {
        eprintln!("backstop: could not write the audit log: {e:#}");
    }
}

/// How a restore's audit record says which approved line it undid.
fn undo_marker(n: u64) -> String {
    format!("undo of #{n}: ")
}

/// Where a target of an undoable line comes back from.
///
/// This is the one place undo decides it: each kind of recovery point is a variant
/// here and an arm in [`undo_target`] (and in [`Recovery::place`]).
#[derive(Debug)]
enum Recovery<'m> {
    /// From a backup's copies.
    Backup(Job<'m>),
    /// From the pushed git commit that held it (`git restore --source`).
    Git(GitSource),
    /// Nothing to bring it back from, and why.
    Nothing(String),
}

impl Recovery<'_> {
    fn place(&self) -> Option<String> {
        match self {
            Recovery::Backup(job) => Some(job.place.clone()),
            Recovery::Git(g) => Some(git_place(g).display().to_string()),
            Recovery::Nothing(_) => None,
        }
    }
}

fn git_place(g: &GitSource) -> PathBuf {
    if g.path == "." {
        PathBuf::from(&g.repo)
    } else {
        Path::new(&g.repo).join(&g.path)
    }
}

fn recovery_source<'m>(t: &TargetRecord, manifests: &'m [Manifest]) -> Recovery<'m> {
    if t.backup != "covered" {
        return Recovery::Nothing(if t.manifest.is_none() && t.git.is_none() {
            "no backup covered it (its rule needs none)".into()
        } else {
            format!("its backup was {} when the line ran", t.backup)
        });
    }
    // backstop's own verified copies first; else the commit git holds it in.
    let Some(id) = &t.manifest else {
        return match &t.git {
            Some(g) => Recovery::Git(g.clone()),
            None => Recovery::Nothing("no backup covered it (its rule needs none)".into()),
        };
    };
    let Some(m) = manifests.iter().find(|m| &m.id == id) else {
        return Recovery::Nothing(format!("backup {id} is no longer recorded (cleaned up?)"));
    };
    if m.target.kind != "path" {
        // A table or schema goes back with its database: the backup's own target.
        return Recovery::Backup(Job {
            m,
            place: m.target.value.clone(),
            select: None,
            dir: None,
        });
    }
    // Where the path was when it was approved (symlinks resolved), else as written.
    let place = t.place.clone().unwrap_or_else(|| t.value.clone());
    match put::select_for(m, Path::new(&place)) {
        Some(select) => Recovery::Backup(Job {
            m,
            place,
            select: Some(select),
            dir: None,
        }),
        None => Recovery::Nothing(format!(
            "{place} is not inside {}, which backup {id} holds",
            m.target.value
        )),
    }
}

/// Bring one target back from where [`recovery_source`] chose.
fn undo_target(ctx: &Ctx, recovery: &Recovery, force: Force, n: u64) -> Option<Outcome> {
    match recovery {
        Recovery::Backup(job) => Some(restore_one(ctx, job, force, Some(n))),
        Recovery::Git(g) => Some(restore_from_git(ctx, g, n)),
        Recovery::Nothing(_) => None,
    }
}

/// `git restore --source=COMMIT` in the work tree (or a fresh clone when the work tree
/// went too), only into a free place.
fn restore_from_git(ctx: &Ctx, g: &GitSource, n: u64) -> Outcome {
    let place = git_place(g);
    let mut out = Outcome {
        id: g.describe(),
        kind: "path".into(),
        place: place.display().to_string(),
        outcome: Status::Failed,
        copy: None,
        previous: None,
        detail: String::new(),
        problems: Vec::new(),
    };
    match backstop_backup::git::restore(g) {
        Ok(_) => {
            out.outcome = Status::Restored;
            out.detail = format!(
                "git restore --source={} -- {} in {}",
                g.commit.get(..12).unwrap_or(&g.commit),
                g.path,
                g.repo
            );
        }
        Err(e @ BackupError::Taken { .. }) => {
            out.outcome = Status::Refused;
            out.detail = e.to_string();
        }
        Err(e) => out.detail = e.to_string(),
    }
    record(ctx, &out, Some(n), Some(g));
    out
}

/// What is at a git target's place: `None` when git may restore it there.
fn git_taken(g: &GitSource) -> Option<String> {
    let place = git_place(g);
    match put::occupant(&place) {
        Ok(Occupant::Nothing) => None,
        Ok(Occupant::Empty) if place.is_dir() => None,
        Ok(o) => Some(format!(
            "{} is there again (it holds {}); git restores only into a free place: move it away, or run `git -C {} restore --source={} -- {}` to put the committed version over it",
            place.display(),
            describe(&o).replace("nothing", "an empty file"),
            g.repo,
            g.commit.get(..12).unwrap_or(&g.commit),
            g.path
        )),
        Err(e) => Some(format!("cannot tell what is at {}: {e}", place.display())),
    }
}

/// What undo would do for each target of an approved line: the label and the source,
/// one per place (a table and its database come back as the database, once).
fn plan<'m>(r: &Record, manifests: &'m [Manifest]) -> Vec<(String, Recovery<'m>)> {
    let mut out: Vec<(String, Recovery)> = Vec::new();
    for t in &r.targets {
        let label = format!("{} {}", t.kind, t.value);
        let source = recovery_source(t, manifests);
        if let Recovery::Git(_) = &source {
            if out.iter().any(|(_, s)| s.place() == source.place()) {
                continue;
            }
        }
        if let Recovery::Backup(job) = &source {
            let same_or_inside = out.iter().any(|(_, s)| match s {
                Recovery::Backup(j) => {
                    j.m.id == job.m.id && Path::new(&job.place).starts_with(&j.place)
                }
                Recovery::Git(_) | Recovery::Nothing(_) => false,
            });
            if same_or_inside {
                continue;
            }
            // One that this one holds goes: the larger place brings it back too.
            out.retain(|(_, s)| match s {
                Recovery::Backup(j) => {
                    !(j.m.id == job.m.id && Path::new(&j.place).starts_with(&job.place))
                }
                Recovery::Git(_) | Recovery::Nothing(_) => true,
            });
        }
        out.push((label, source));
    }
    out
}

fn undone_by(records: &[Record], n: u64) -> Option<u64> {
    let marker = undo_marker(n);
    records
        .iter()
        .find(|r| r.event == "restored" && r.detail.starts_with(&marker))
        .map(|r| r.seq)
}

/// How the approved line ended, from the `ran` record its shell wrote after it.
fn ran(records: &[Record], r: &Record) -> Option<String> {
    records
        .iter()
        .filter(|x| x.seq > r.seq && x.event == "ran")
        .find(|x| x.session == r.session && x.line == r.line)
        .map(|x| x.detail.clone())
}

pub fn undo(a: &UndoArgs) -> Result<ExitCode> {
    let ctx = Ctx::new(false)?;
    let records: Vec<Record> = audit::read(&ctx.dirs)?
        .into_iter()
        .filter_map(|(_, r)| r.ok())
        .collect();
    let manifests = Manifest::list(&manifests_dir(&ctx.dirs))?;
    let undoable: Vec<&Record> = records.iter().filter(|r| is_undoable(r)).collect();
    if a.list {
        list(&ctx, &records, &undoable, &manifests);
        return Ok(ExitCode::SUCCESS);
    }
    let chosen = match a.n {
        Some(n) => *undoable.iter().find(|r| r.seq == n).with_context(|| {
            format!(
                "#{n} is not a line backstop approved or let through in the audit log; `backstop undo --list` shows them"
            )
        })?,
        None => *undoable
            .last()
            .context("the audit log holds no approved line, so there is nothing to undo")?,
    };
    if let (None, Some(by)) = (a.n, undone_by(&records, chosen.seq)) {
        bail!(
            "the last approved line, #{} (`{}`), was undone already (#{by}); `backstop undo --list` shows earlier ones",
            chosen.seq,
            chosen.line
        );
    }
    ctx.say(&format!(
        "undoing #{} `{}` ({} {} ago in {})",
        chosen.seq,
        chosen.line,
        how_it_ran(chosen),
        age(chosen.time),
        chosen.source
    ));
    let steps = plan(chosen, &manifests);
    for (label, source) in &steps {
        if let Recovery::Nothing(why) = source {
            ctx.say(&format!("  {label}: nothing to restore it from ({why})"));
        }
    }
    if steps.iter().all(|(_, s)| matches!(s, Recovery::Nothing(_))) {
        bail!("nothing of #{} can be restored by backstop", chosen.seq);
    }
    let force = Force {
        on: a.force,
        backup_to: &a.backup_to,
    };
    // Every place is checked before any is touched: an undo is all or nothing.
    let mut refused = 0;
    for (_, source) in &steps {
        let state = match source {
            Recovery::Backup(job) if !a.force => taken(&ctx, job),
            // git restores only into a free place, --force or not.
            Recovery::Git(g) => Ok(git_taken(g)),
            Recovery::Backup(_) | Recovery::Nothing(_) => Ok(None),
        };
        match state {
            Ok(None) => {}
            Ok(Some(what)) => {
                refused += 1;
                eprintln!("backstop: {what}");
            }
            Err(e) => {
                eprintln!(
                    "backstop: cannot tell what is at {}: {e}",
                    source.place().unwrap_or_default()
                );
                return Ok(ExitCode::from(EXIT_NOT_RESTORED));
            }
        }
    }
    if refused > 0 {
        eprintln!(
            "backstop: nothing was changed.{}",
            if a.force {
                String::new()
            } else {
                format!(
                    " `backstop undo {} --force` backs up what is there first, then restores (from backups; git restores only into a free place)",
                    chosen.seq
                )
            }
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let mut worst = EXIT_RESTORED;
    for (_, source) in &steps {
        if let Some(out) = undo_target(&ctx, source, force, chosen.seq) {
            tell(&ctx, &out);
            worst = worst.max(match out.outcome {
                Status::Restored => EXIT_RESTORED,
                Status::Failed => EXIT_NOT_RESTORED,
                Status::Refused => EXIT_REFUSED,
            });
        }
    }
    Ok(ExitCode::from(worst))
}

/// A line undo can take back: one a person approved, or one a backup let through
/// without asking (the `backup` requirement level: git or a manifest covered it).
fn is_undoable(r: &Record) -> bool {
    match r.event.as_str() {
        "approved" => true,
        "allowed" => r
            .targets
            .iter()
            .any(|t| t.manifest.is_some() || t.git.is_some()),
        _ => false,
    }
}

fn how_it_ran(r: &Record) -> &'static str {
    if r.event == "allowed" {
        "let through"
    } else {
        "approved"
    }
}

fn list(ctx: &Ctx, records: &[Record], undoable: &[&Record], manifests: &[Manifest]) {
    if undoable.is_empty() {
        ctx.say("no approved lines in the audit log: nothing to undo");
        return;
    }
    for r in undoable.iter().rev().take(LISTED) {
        let mut head = format!("#{}  {} ago  {}  {}", r.seq, age(r.time), r.source, r.line);
        if r.event == "allowed" {
            head.push_str("  (let through: a backup covered it)");
        }
        if let Some(how) = ran(records, r) {
            head.push_str(&format!("  (ran: {how})"));
        }
        if let Some(by) = undone_by(records, r.seq) {
            head.push_str(&format!("  [undone by #{by}]"));
        }
        ctx.say(&head);
        for (label, source) in plan(r, manifests) {
            let line = match &source {
                Recovery::Nothing(why) => {
                    format!("    {label}: nothing to restore it from ({why})")
                }
                Recovery::Backup(job) => {
                    let state = match taken(ctx, job) {
                        Ok(None) => {
                            format!("the place is free: `backstop undo {}` restores it", r.seq)
                        }
                        Ok(Some(what)) => format!(
                            "{what}: `backstop undo {} --force` backs that up, then restores",
                            r.seq
                        ),
                        Err(e) => format!("cannot tell what is there ({e})"),
                    };
                    format!(
                        "    {label}: {} from backup {} (made {} ago); {state}",
                        job.place,
                        job.m.id,
                        age(job.m.created)
                    )
                }
                Recovery::Git(g) => {
                    let state = match git_taken(g) {
                        None => {
                            format!("the place is free: `backstop undo {}` restores it", r.seq)
                        }
                        Some(what) => what,
                    };
                    format!(
                        "    {label}: {} from {}; {state}",
                        git_place(g).display(),
                        g.describe()
                    )
                }
            };
            ctx.say(&line);
        }
    }
    if undoable.len() > LISTED {
        ctx.say(&format!(
            "({} earlier lines: `backstop audit` lists every record)",
            undoable.len() - LISTED
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_made_absolute_without_touching_the_disk() {
        let p = absolute(Path::new("/a/./b/../c")).unwrap();
        assert_eq!(p, PathBuf::from("/a/c"));
        let rel = absolute(Path::new("x/y")).unwrap();
        assert!(
            rel.is_absolute() && rel.ends_with("x/y"),
            "{}",
            rel.display()
        );
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(2, "directory"), "2 directories");
        assert_eq!(count(1, "directory"), "1 directory");
    }

    fn manifest(copies: Vec<Copy>, redundant: bool) -> Manifest {
        Manifest {
            id: "bk-1".into(),
            target: backstop_backup::manifest::Target {
                kind: "path".into(),
                value: "/data".into(),
            },
            created: 0,
            backstop_version: "0".into(),
            recipe: "native-tar".into(),
            copies,
            redundant,
            verified: String::new(),
            restore_test: "not-run".into(),
            restore_tested: None,
            restore_detail: None,
            recorded: None,
            block_sha256: Vec::new(),
            block_size: 0,
            index: Vec::new(),
        }
    }

    fn remote(kind: backstop_backup::manifest::CopyKind, location: &str) -> Copy {
        let mut c = Copy::local(PathBuf::from(location), 0, 1, String::new());
        c.kind = kind;
        c.location = Some(location.into());
        c
    }

    #[test]
    fn force_backs_up_where_the_copies_are_else_to_the_configured_destinations() {
        use backstop_backup::manifest::CopyKind;
        let dir = tempfile::tempdir().unwrap();
        let local = Copy::local(dir.path().join("x.tar"), 0, 1, String::new());
        let rclone = remote(CopyKind::Rclone, "rclone:nas:backstop");
        let restic = remote(CopyKind::Restic, "restic:rest:http://127.0.0.1:8000/");
        let none = Force {
            on: true,
            backup_to: &[],
        };
        // Where the copies are, remote ones rebuilt from the manifest.
        let m = manifest(vec![local.clone(), rclone.clone(), restic.clone()], true);
        let r = force_request(&m, none);
        assert_eq!(
            r.to,
            vec![
                dir.path().display().to_string(),
                "rclone:nas:backstop".to_string(),
                "restic:rest:http://127.0.0.1:8000/".to_string()
            ]
        );
        assert!(!r.same_device);
        // Made with --same-device: accepted again for the same places.
        assert!(
            force_request(&manifest(vec![local.clone(), rclone.clone()], false), none).same_device
        );
        // --backup-to wins.
        let given = ["/srv/b".to_string(), "rclone:cloud:b".to_string()];
        let r = force_request(
            &m,
            Force {
                on: true,
                backup_to: &given,
            },
        );
        assert_eq!(r.to, given.to_vec());
        // A directory that is gone, or a remote copy that names no destination: the
        // configured destinations (an empty request).
        let gone = Copy::local(dir.path().join("gone/x.tar"), 0, 1, String::new());
        assert!(
            force_request(&manifest(vec![gone, rclone.clone()], true), none)
                .to
                .is_empty()
        );
        let mut nameless = rclone.clone();
        nameless.location = None;
        assert!(
            force_request(&manifest(vec![local.clone(), nameless], true), none)
                .to
                .is_empty()
        );
        // Two copies in one directory are one destination, too few for a backup.
        let twin = Copy::local(dir.path().join("y.tar"), 0, 1, String::new());
        assert!(force_request(&manifest(vec![local, twin], true), none)
            .to
            .is_empty());
    }

    #[test]
    fn paths_and_names_tell_apart() {
        assert!(looks_like_path("/var/lib/wsl"));
        assert!(looks_like_path(r"C:\WSL\Ubuntu"));
        assert!(looks_like_path(r"\\server\share"));
        assert!(!looks_like_path("Ubuntu-restored"));
        assert!(!looks_like_path("shop_copy"));
    }
}
