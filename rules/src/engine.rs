//! Matching what a line runs against the layered policies, and deciding.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use globset::GlobSet;
use regex::Regex;
use serde::Serialize;

use backstop_policies::{sections_for, BuiltinPack, SectionKind};

use crate::args::{self, ProgramInfo};
use crate::command::{join_words, Command, Origin, Stdin, Word, WorkDir};
use crate::dialect::Dialect;
use crate::error::{suggest, Error, Result};
use crate::made::{Before, Creates, MadeBy};
use crate::policy::{
    ApprovalPhrase, Exists, Layer, OverrideSpec, Policy, Requires, Rule, Severity, TargetFrom,
};
use crate::unwrap::{peel, program_name};

/// The answer for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Allow,
    Ask,
    Deny,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Ask => "ask",
            Decision::Deny => "deny",
        }
    }
}

/// Whether a target has a backup that satisfies a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BackupStatus {
    Covered,
    #[default]
    Missing,
    Stale,
    Corrupt,
    NotRedundant,
    /// The rule does not ask for a backup.
    NotRequired,
    /// backstop has no recipe that can back this target up (a Redis or MongoDB
    /// database, say): no backup can be asked for, so the rule asks for approval only.
    NoRecipe,
}

impl BackupStatus {
    pub fn name(self) -> &'static str {
        match self {
            BackupStatus::Covered => "covered",
            BackupStatus::Missing => "missing",
            BackupStatus::Stale => "stale",
            BackupStatus::Corrupt => "corrupt",
            BackupStatus::NotRedundant => "not-redundant",
            BackupStatus::NotRequired => "not-required",
            BackupStatus::NoRecipe => "no-recipe",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Backup {
    pub status: BackupStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Why it is not covered (or, when not required, why not), for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The git commit that holds the target, when git is what covers it (or would,
    /// once pushed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSource>,
}

/// Where git holds a copy of a target: a pushed commit. What `undo` restores from
/// (`git -C REPO restore --source=COMMIT -- PATH`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GitSource {
    /// The work tree's top directory.
    pub repo: String,
    /// The target relative to `repo` (`.` for the whole work tree).
    pub path: String,
    /// The commit (HEAD when it was checked), in full.
    pub commit: String,
    /// The remote-tracking branch that contains the commit (`origin/main`).
    pub branch: String,
    /// The remote it tracks (`origin`).
    pub remote: String,
    /// The remote's URL as configured, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl GitSource {
    /// One line for a person: where the target can be brought back from.
    pub fn describe(&self) -> String {
        let short = self.commit.get(..12).unwrap_or(&self.commit);
        let url = self
            .url
            .as_deref()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        format!("git commit {short} on {}{url}", self.branch)
    }
}

/// What a rule asks of the backup of one target.
pub struct Need<'a> {
    /// The program that would destroy the target (`sqlite3`, `psql`), which tells a
    /// database of one engine from another's.
    pub program: &'a str,
    pub max_age_secs: u64,
    /// Whether an absolute path regenerates by itself (the rule's exceptions:
    /// `node_modules`, `target` …). Files git ignores under a target are lost by a
    /// deletion too, unless they are regenerable.
    pub regenerable: &'a dyn Fn(&str) -> bool,
}

impl std::fmt::Debug for Need<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Need")
            .field("program", &self.program)
            .field("max_age_secs", &self.max_age_secs)
            .finish()
    }
}

/// Answers whether a verified backup covers a target. The engine does no I/O; the
/// backup store implements this.
pub trait BackupOracle {
    /// `program` is the one that would destroy the target (`sqlite3`, `psql`), which
    /// tells a database of one engine from another's.
    fn status(&self, target: &Target, program: &str, max_age_secs: u64) -> Backup;

    /// What the engine asks: [`BackupOracle::status`] with everything the rule knows
    /// (what regenerates). An oracle that does not need more keeps this default.
    fn status_for(&self, target: &Target, need: &Need) -> Backup {
        self.status(target, need.program, need.max_age_secs)
    }
}

/// No backup store: every target is uncovered.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoBackups;

impl BackupOracle for NoBackups {
    fn status(&self, _: &Target, _: &str, _: u64) -> Backup {
        Backup::default()
    }
}

/// What a path is, by one `lstat` (a symbolic link is itself, not what it points to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    /// A device, FIFO or socket.
    Other,
}

/// What one `lstat` told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: FileKind,
    /// In bytes (a symbolic link's own size, a directory's entry size).
    pub size: u64,
}

/// The facts about one path at decision time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFact {
    Present(Stat),
    /// Nothing is there (or a directory above it is missing).
    Absent,
    /// It could not be told: no filesystem to ask (unit tests, `scan` of an old
    /// history), no permission, a name the line does not settle. Rules read this as
    /// "could be anything".
    Unknown,
}

/// Facts about files, one `lstat` per path: whether a target exists, what it is and
/// how large. The engine does no I/O; the caller supplies this (the hook stats the
/// live filesystem, unit tests a fake).
pub trait FileFacts {
    /// `path` is absolute, after `~`, `$HOME`, the working directory and `..` were
    /// resolved.
    fn stat(&self, path: &str) -> PathFact;

    /// Like [`FileFacts::stat`], through a symbolic link (`stat`, not `lstat`): what a
    /// write to the path reaches. A dangling link is [`PathFact::Absent`].
    fn follow(&self, path: &str) -> PathFact {
        self.stat(path)
    }
}

/// Each path asked once per line, however many rules ask.
struct CachedFacts<'a> {
    inner: &'a dyn FileFacts,
    seen: std::cell::RefCell<HashMap<(String, bool), PathFact>>,
}

impl<'a> CachedFacts<'a> {
    fn new(inner: &'a dyn FileFacts) -> Self {
        CachedFacts {
            inner,
            seen: std::cell::RefCell::default(),
        }
    }

    fn ask(&self, path: &str, follow: bool) -> PathFact {
        let key = (path.to_string(), follow);
        if let Some(f) = self.seen.borrow().get(&key) {
            return *f;
        }
        let fact = if follow {
            self.inner.follow(path)
        } else {
            self.inner.stat(path)
        };
        self.seen.borrow_mut().insert(key, fact);
        fact
    }
}

impl FileFacts for CachedFacts<'_> {
    fn stat(&self, path: &str) -> PathFact {
        self.ask(path, false)
    }

    fn follow(&self, path: &str) -> PathFact {
        self.ask(path, true)
    }
}

/// No filesystem: every path is [`PathFact::Unknown`], so every target counts as
/// precious.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFacts;

impl FileFacts for NoFacts {
    fn stat(&self, _: &str) -> PathFact {
        PathFact::Unknown
    }
}

/// Wrappers whose command's files are not the person's own files on this machine.
const ELSEWHERE_OR_ELEVATED: &[&str] = &[
    "ssh", "wsl", "chroot", "sudo", "doas", "run0", "su", "runuser", "pkexec",
];

/// Wrappers whose command names files of another system: this one's facts do not
/// tell whether they exist.
const ELSEWHERE: &[&str] = &["ssh", "wsl", "chroot"];

/// Programs that run a command later: whether its files exist then is not told now.
const DEFERRED: &[&str] = &["at", "batch", "crontab", "systemd-run"];

/// At most this many named files can go without a backup, however small.
pub const FEW_FILES: usize = 5;
/// A file this large (or larger) is precious wherever it is.
pub const LARGE_FILE: u64 = 32 << 20;

/// What reading a file found (see [`FileReader::read_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileText {
    /// A regular file of at most the limit, holding text (UTF-16 with a BOM decoded).
    Text(String),
    /// Nothing at that path: it runs nothing.
    Missing,
    /// A directory, FIFO or device: never opened.
    NotAFile,
    /// A regular file whose first bytes are not text (a compiled program).
    Binary,
    /// A regular text file larger than the limit.
    TooLarge,
    /// It exists but cannot be read (no permission, an I/O error).
    Denied,
    /// Not read: the files one line runs held more than the engine reads for a line.
    OverBudget,
}

/// Reads the files a line runs: SQL scripts handed to a database client (`psql -f
/// FILE`, `mysql < FILE`), shell scripts, interpreters' programs, Makefiles,
/// `package.json`, git config. The engine does no I/O; the caller supplies this.
pub trait FileReader {
    /// The text of the regular file at `path` (absolute) when it exists, holds at most
    /// `limit` bytes and is text; `None` otherwise, and then the file is not examined.
    fn read_small(&self, path: &str, limit: u64) -> Option<String>;

    /// Like [`FileReader::read_small`], telling a missing file from one that could not
    /// be read, and why.
    fn read_text(&self, path: &str, limit: u64) -> FileText {
        self.read_small(path, limit)
            .map_or(FileText::Missing, FileText::Text)
    }

    /// The absolute path of the executable file the shell finds for `name` on `PATH`.
    fn find_on_path(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Reads no files: SQL scripts named on a line are not examined.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFiles;

impl FileReader for NoFiles {
    fn read_small(&self, _: &str, _: u64) -> Option<String> {
        None
    }
}

/// Where a line is evaluated.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub dialect: Dialect,
    /// The working directory the line runs in, when known.
    pub cwd: Option<&'a str>,
    /// The user's home directory, for `~` and `$HOME`.
    pub home: Option<&'a str>,
    pub backups: &'a dyn BackupOracle,
    /// Where SQL scripts named on the line are read from.
    pub files: &'a dyn FileReader,
    /// Whether targets exist, what they are and how large.
    pub facts: &'a dyn FileFacts,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("dialect", &self.dialect)
            .field("cwd", &self.cwd)
            .field("home", &self.home)
            .finish()
    }
}

impl Default for Context<'_> {
    fn default() -> Self {
        Context {
            dialect: Dialect::Bash,
            cwd: None,
            home: None,
            backups: &NoBackups,
            files: &NoFiles,
            facts: &NoFacts,
        }
    }
}

/// Something a destructive command would destroy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetFinding {
    pub kind: String,
    pub value: String,
    pub backup: Backup,
}

/// One rule matched by one command.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub description: String,
    pub requires: Requires,
    pub layer: Layer,
    pub origin: String,
    /// The command as it will run, after unwrapping.
    pub command: String,
    /// Wrappers and nesting it was found through.
    pub via: Vec<String>,
    pub targets: Vec<TargetFinding>,
    pub approval_phrase: ApprovalPhrase,
    pub max_age_secs: u64,
    /// Why it matched, for explanations.
    pub why: Vec<String>,
    pub decision: Decision,
    /// The file (and line) the command was read from, when the line runs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<crate::command::FileLine>,
}

/// Everything the engine concluded about a line.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub decision: Decision,
    pub findings: Vec<Finding>,
    /// Every command the line would run, after unwrapping.
    pub commands: Vec<Command>,
    /// Part of the line could not be parsed and was examined as text.
    pub incomplete: bool,
}

/// A policy file given to the engine beyond the built-in packs.
#[derive(Debug, Clone)]
pub struct Source {
    pub origin: String,
    pub layer: Layer,
    pub text: String,
}

/// The combined effect of every layer's overrides on one rule.
#[derive(Debug, Default)]
struct Effective {
    disabled: bool,
    requires: Option<Requires>,
    severity: Option<Severity>,
    max_age: Option<u64>,
    except: Option<GlobSet>,
    locked_by: Option<String>,
}

/// Parsed built-in sections, by the (pack, section) indices they hold.
type Slices = HashMap<Vec<(u16, u16)>, Arc<Vec<Policy>>>;

/// The loaded policy: built-in packs (parsed when first needed) and the layers above.
pub struct Engine {
    builtin: &'static [BuiltinPack],
    /// Built-in packs left out (`policy test FILE` replaces a pack by its file).
    enabled: Vec<bool>,
    /// Whole packs, parsed for listing and validation.
    loaded: Vec<OnceLock<std::result::Result<Policy, String>>>,
    /// The built-in sections a program needs (those that name it, and `*`'s), parsed
    /// on first use; kept by the sections, which programs no pack names share.
    slices: Mutex<Slices>,
    extra: Vec<Policy>,
    effective: HashMap<String, Effective>,
    /// Which script files are read through the sieve, and the sieve, made on first use.
    file_sieve: crate::sieve::FileSieve,
    sieve: OnceLock<Option<crate::sieve::Sieve>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("packs", &self.builtin.len())
            .field("extra", &self.extra.len())
            .finish()
    }
}

/// How deep embedded shell strings inside interpreter code are followed.
const MAX_EMBED_DEPTH: usize = 4;

fn builtin_bug(pack: &str, message: String) -> Error {
    Error::Syntax {
        origin: format!("built-in pack {pack}"),
        line: 0,
        column: 0,
        message,
        hint: Some("this is a bug in backstop; please report it".into()),
    }
}

impl Engine {
    /// The built-in packs alone.
    pub fn builtin() -> Engine {
        Engine::new(Vec::new()).expect("built-in packs alone have no overrides to fail")
    }

    /// Built-in packs plus policy files from the layers above, validated now.
    pub fn new(sources: Vec<Source>) -> Result<Engine> {
        Engine::new_excluding(sources, &[])
    }

    /// Like [`Engine::new`], leaving out the built-in packs named in `exclude`.
    pub fn new_excluding(sources: Vec<Source>, exclude: &[&str]) -> Result<Engine> {
        let builtin = backstop_policies::PACKS;
        let mut extra = Vec::new();
        for s in sources {
            extra.push(Policy::parse(&s.origin, s.layer, &s.text, true)?);
        }
        extra.sort_by_key(|p| p.layer);
        let mut engine = Engine {
            builtin,
            enabled: builtin.iter().map(|p| !exclude.contains(&p.name)).collect(),
            loaded: builtin.iter().map(|_| OnceLock::new()).collect(),
            slices: Mutex::new(HashMap::new()),
            extra,
            effective: HashMap::new(),
            file_sieve: crate::sieve::FileSieve::default(),
            sieve: OnceLock::new(),
        };
        // With no files above the built-ins (the common case) there is nothing to check.
        if !engine.extra.is_empty() {
            engine.check_ids()?;
            engine.apply_overrides()?;
        }
        Ok(engine)
    }

    /// Read script files through the sieve as `mode` says (see [`crate::FileSieve`]):
    /// what is decided is the same; `Never` keeps every command of every file in
    /// [`Evaluation::commands`], for explanations.
    pub fn with_file_sieve(mut self, mode: crate::sieve::FileSieve) -> Engine {
        self.file_sieve = mode;
        self
    }

    /// The sieve for a script file of `len` bytes, when it is to be used.
    pub(crate) fn file_sieve(&self, len: usize) -> Option<&crate::sieve::Sieve> {
        let wanted = match self.file_sieve {
            crate::sieve::FileSieve::Never => false,
            crate::sieve::FileSieve::Always => true,
            crate::sieve::FileSieve::Large => len >= crate::sieve::SIEVE_FROM,
        };
        if !wanted {
            return None;
        }
        self.sieve
            .get_or_init(|| crate::sieve::Sieve::new(&self.program_words()))
            .as_ref()
    }

    /// The built-in packs in force.
    pub(crate) fn enabled_builtin(
        &self,
    ) -> impl Iterator<Item = (usize, &'static BuiltinPack)> + '_ {
        self.builtin
            .iter()
            .enumerate()
            .filter(|(i, _)| self.enabled.get(*i).copied().unwrap_or(false))
    }

    /// The built-in rules for every program (`programs = ["*"]`), parsed.
    pub(crate) fn builtin_for_every_program(&self) -> Result<Arc<Vec<Policy>>> {
        // No program is named "": only the `*` and `>` sections come back.
        self.builtin_for("", true)
    }

    /// The policy files above the built-ins.
    pub(crate) fn extra_policies(&self) -> &[Policy] {
        &self.extra
    }

    fn builtin_ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.builtin
            .iter()
            .zip(&self.enabled)
            .filter(|(_, on)| **on)
            .flat_map(|(p, _)| p.rule_ids.iter().copied())
    }

    fn check_ids(&self) -> Result<()> {
        let mut seen: HashSet<&str> = self.builtin_ids().collect();
        for p in &self.extra {
            for r in &p.rules {
                if !seen.insert(r.id()) {
                    return Err(Error::Rule {
                        origin: p.origin.clone(),
                        line: r.line,
                        column: r.column,
                        rule: r.id().to_string(),
                        message: "a rule with this id already exists in a lower layer; change it with [[override]] instead".into(),
                    });
                }
            }
        }
        Ok(())
    }

    fn apply_overrides(&mut self) -> Result<()> {
        let mut known: Vec<String> = self.builtin_ids().map(str::to_string).collect();
        let mut layer_of: HashMap<String, Layer> = HashMap::new();
        for p in &self.extra {
            for r in &p.rules {
                known.push(r.id().to_string());
                layer_of.insert(r.id().to_string(), p.layer);
            }
        }
        for p in &self.extra {
            for (o, &(line, column)) in p.overrides.iter().zip(&p.override_pos) {
                let id = o.rule.get_ref().clone();
                let err = |message: String, hint: Option<String>| Error::Override {
                    origin: p.origin.clone(),
                    line,
                    column,
                    rule: id.clone(),
                    message,
                    hint,
                };
                if !known.contains(&id) {
                    let pool: Vec<&str> = known.iter().map(String::as_str).collect();
                    return Err(err("no rule has this id".into(), suggest(&id, &pool)));
                }
                let eff = self.effective.entry(id.clone()).or_default();
                if let Some(by) = &eff.locked_by {
                    return Err(err(
                        format!(
                            "the rule is locked by {by}; an administrator must change it there"
                        ),
                        None,
                    ));
                }
                if p.layer == Layer::Repository {
                    weakening(o).map_or(Ok(()), |what| {
                        Err(err(format!("a repository's .backstop/ policy may only add restrictions, and this {what}"), None))
                    })?;
                }
                if o.locked && p.layer != Layer::System {
                    return Err(err(
                        "only the system layer (/etc/backstop/) can lock a rule".into(),
                        None,
                    ));
                }
                if let Some(e) = o.enabled {
                    eff.disabled = !e;
                }
                if let Some(r) = o.requires {
                    eff.requires = Some(r);
                }
                if let Some(s) = o.severity {
                    eff.severity = Some(s);
                }
                if let Some(age) = &o.max_age {
                    eff.max_age = Some(crate::policy::parse_duration(age).ok_or_else(|| {
                        err(
                            format!("max_age `{age}` is not a duration like \"24h\""),
                            None,
                        )
                    })?);
                }
                if !o.except_targets.is_empty() {
                    let mut b = globset::GlobSetBuilder::new();
                    for g in &o.except_targets {
                        b.add(
                            globset::Glob::new(g).map_err(|e| {
                                err(format!("`{g}` is not a valid glob: {e}"), None)
                            })?,
                        );
                    }
                    eff.except = Some(b.build().map_err(|e| err(e.to_string(), None))?);
                }
                if o.locked {
                    eff.locked_by = Some(p.origin.clone());
                }
            }
        }
        Ok(())
    }

    /// A whole built-in pack, parsed on first use (listing, validation, examples).
    fn pack(&self, i: usize) -> Result<&Policy> {
        let pack = self.builtin[i];
        let loaded = self.loaded[i].get_or_init(|| {
            Policy::parse(
                &format!("built-in pack {}", pack.name),
                Layer::Builtin,
                pack.source,
                false,
            )
            .map_err(|e| e.to_string())
        });
        loaded
            .as_ref()
            .map_err(|m| builtin_bug(pack.name, m.clone()))
    }

    /// The built-in rules and program specs that name `program` (or `*`): only their
    /// sections of each pack are parsed, padded so line numbers stay those of the file.
    fn builtin_for(&self, program: &str, redirects: bool) -> Result<Arc<Vec<Policy>>> {
        let redirect_rules = if redirects { sections_for(">") } else { &[] };
        // Kept by the sections it holds, not by the program: every program no pack
        // names shares one entry, so a stream of made-up names (a scanned history, the
        // nushell plugin's session) neither grows the cache nor parses them again.
        let mut key: Vec<(u16, u16)> = sections_for(program)
            .iter()
            .chain(sections_for("*"))
            .chain(redirect_rules)
            .copied()
            .filter(|&(p, _)| self.enabled.get(usize::from(p)).copied().unwrap_or(false))
            .collect();
        key.sort_unstable();
        key.dedup();
        if let Some(hit) = self.slices.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(hit);
        }
        let mut by_pack: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &(p, s) in &key {
            by_pack
                .entry(usize::from(p))
                .or_default()
                .push(usize::from(s));
        }
        let mut out = Vec::with_capacity(by_pack.len());
        for (p, mut wanted) in by_pack {
            let pack = self.builtin[p];
            wanted.extend(
                pack.sections
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.kind == SectionKind::Header)
                    .map(|(i, _)| i),
            );
            wanted.sort_unstable();
            wanted.dedup();
            let mut text = String::new();
            let mut line = 1;
            for i in wanted {
                let section = &pack.sections[i];
                while line < section.line {
                    text.push('\n');
                    line += 1;
                }
                let body = pack.decide_text(section);
                text.push_str(body);
                line += body.matches('\n').count();
            }
            let origin = format!("built-in pack {}", pack.name);
            out.push(
                Policy::parse(&origin, Layer::Builtin, &text, false)
                    .map_err(|e| builtin_bug(pack.name, e.to_string()))?,
            );
        }
        let out = Arc::new(out);
        if let Ok(mut m) = self.slices.lock() {
            m.insert(key, Arc::clone(&out));
        }
        Ok(out)
    }

    /// All policies, every built-in pack parsed: for listing and validation.
    pub fn all_policies(&self) -> Result<Vec<&Policy>> {
        let mut out = Vec::new();
        for i in 0..self.builtin.len() {
            if self.enabled[i] {
                out.push(self.pack(i)?);
            }
        }
        out.extend(self.extra.iter());
        Ok(out)
    }

    pub fn find_rule(&self, id: &str) -> Result<Option<&Rule>> {
        Ok(self
            .all_policies()?
            .into_iter()
            .flat_map(|p| p.rules.iter())
            .find(|r| r.id() == id))
    }

    /// Evaluate a command line.
    pub fn evaluate(&self, line: &str, ctx: &Context) -> Result<Evaluation> {
        // One `lstat` (and one `stat`) per path, however many rules ask.
        let facts = CachedFacts::new(ctx.facts);
        let ctx = &Context {
            facts: &facts,
            ..*ctx
        };
        let script = ctx.dialect.parse(line);
        let mut incomplete = script.incomplete;
        let mut raw = script.commands;
        resolve_piped_stdin(&mut raw, ctx.dialect);
        crate::command::track_cd(&mut raw, &WorkDir::Inherit, ctx.home);
        crate::dynamic::follow(&mut raw, ctx.dialect, &[]);
        // Each command with how deep it is in embedded code and in files run by files,
        // and what the commands before it may have created.
        let mut work: Vec<(Command, usize, usize, Before)> = Vec::new();
        let peeled: Vec<Vec<Command>> =
            raw.into_iter().map(|c| self.peel(c, ctx.dialect)).collect();
        push_in_order(&mut work, peeled, &None, 0, 0, ctx);
        if incomplete {
            for c in crate::text::fallback_commands(line) {
                for p in self.peel(c, Dialect::Bash) {
                    work.push((p, 0, 0, None));
                }
            }
        }
        let mut commands = Vec::new();
        let mut findings = Vec::new();
        let mut seen_findings: HashSet<(String, String)> = HashSet::new();
        let mut seen_files = crate::scripts::Seen::new(self);
        let sql_files = RefCell::new(SqlFiles::default());
        while let Some((cmd, depth, nest, before)) = work.pop() {
            let writes = cmd.redirects.iter().any(|r| r.op.contains('>'));
            // `> /dev/sda` alone is a command with no words but a redirection.
            let program = cmd
                .words
                .first()
                .map(|w| program_name(&w.text))
                .unwrap_or_default();
            if program.is_empty() && !writes {
                continue;
            }
            let builtin = self.builtin_for(&program, writes)?;
            let policies: Vec<&Policy> = builtin.iter().chain(self.extra.iter()).collect();
            let info = program_info(&policies, &program);
            if depth < MAX_EMBED_DEPTH {
                for embedded in embedded_shell_commands(&cmd, &info) {
                    incomplete |= embedded.1;
                    for p in self.peel(embedded.0, Dialect::Bash) {
                        work.push((p, depth + 1, nest, before.clone()));
                    }
                }
            }
            if nest < crate::unwrap::MAX_SHELL_DEPTH {
                let known = self.has_rules_for(&program);
                let files =
                    crate::scripts::expand(&cmd, &program, &info, known, ctx, &mut seen_files);
                let sieved = seen_files.take_sieved();
                if !files.is_empty() {
                    // A file's commands run in its order, after what the line ran before
                    // and what the runner's own redirections made (`bash x.sh > log`).
                    let mut start = crate::made::then(&before, redirects_made(&cmd, ctx));
                    if sieved {
                        // What the sieve did not read could have made anything.
                        start = crate::made::then(&start, Creates::anything());
                    }
                    let peeled: Vec<Vec<Command>> = files
                        .into_iter()
                        .map(|c| {
                            let d = c.dialect;
                            self.peel(c, d)
                        })
                        .collect();
                    push_in_order(&mut work, peeled, &start, depth, nest + 1, ctx);
                }
                // Programs whose command strings the engine reads already are not guessed at.
                let sql_client = !info.sql_options.is_empty()
                    || info.sql_positional.is_some()
                    || info.sql_stdin
                    || !info.sql_file_options.is_empty();
                if info.code_options.is_empty()
                    && !sql_client
                    && !crate::prefilter::INDIRECT_PROGRAMS.contains(&program.as_str())
                {
                    for c in crate::net::argument_commands(&cmd, &program) {
                        for p in self.peel(c, Dialect::Bash) {
                            work.push((p, depth, crate::unwrap::MAX_SHELL_DEPTH, before.clone()));
                        }
                    }
                }
            }
            // What the command's SQL does is worked out once, for all the rules that ask.
            let sql = CommandSql {
                effects: OnceCell::new(),
                files: &sql_files,
            };
            for policy in &policies {
                for rule in &policy.rules {
                    if !rule
                        .spec
                        .programs
                        .iter()
                        .any(|p| p == "*" || p.eq_ignore_ascii_case(&program))
                    {
                        continue;
                    }
                    let eff = self.effective.get(rule.id());
                    if eff.is_some_and(|e| e.disabled) {
                        continue;
                    }
                    if let Some(f) = self.match_rule(rule, eff, &cmd, &info, &sql, ctx, &before) {
                        let Some(f) = self.through_argument(f, &cmd)? else {
                            continue;
                        };
                        if seen_findings.insert((f.id.clone(), f.command.clone())) {
                            findings.push(f);
                        }
                    }
                }
            }
            commands.push(cmd);
        }
        commands.reverse();
        findings.reverse();
        incomplete |= commands.iter().any(|c| c.origin == Origin::Unpeeled);
        let decision = findings
            .iter()
            .map(|f| f.decision)
            .max()
            .unwrap_or(Decision::Allow);
        Ok(Evaluation {
            decision,
            findings,
            commands,
            incomplete,
        })
    }

    /// [`peel`], and for what it gives back unpeeled (a chain of wrappers past its
    /// bounds), the commands that may run in it: from each word naming a program some
    /// rule is for, the words that follow.
    fn peel(&self, cmd: Command, dialect: Dialect) -> Vec<Command> {
        // The first and the last programs of a chain, with as many arguments as a
        // command has room for: the one that runs is at one end or the other.
        const ENDS: usize = 32;
        const WORDS: usize = 4096;
        let mut out = Vec::new();
        for c in peel(cmd, dialect, 0) {
            if c.origin == Origin::Unpeeled {
                let mut starts = c
                    .words
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(|(_, w)| self.has_rules_for(&program_name(&w.text)))
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>();
                if starts.len() > 2 * ENDS {
                    starts.drain(ENDS..starts.len() - ENDS);
                }
                for i in starts {
                    out.push(Command {
                        words: c.words[i..c.words.len().min(i + WORDS)].to_vec(),
                        redirects: c.redirects.clone(),
                        origin: Origin::Unpeeled,
                        via: c.via.clone(),
                        cwd: c.cwd.clone(),
                        ..Command::default()
                    });
                }
            }
            out.push(c);
        }
        out
    }

    /// Whether a rule of a pack in force, or of the layers above, names `program`.
    fn has_rules_for(&self, program: &str) -> bool {
        !program.is_empty()
            && (!sections_for(program).is_empty()
                || self.extra.iter().any(|p| {
                    p.rules.iter().any(|r| {
                        r.spec
                            .programs
                            .iter()
                            .any(|n| n.eq_ignore_ascii_case(program))
                    })
                }))
    }

    /// A finding on a command read out of another program's argument (the general
    /// net) becomes one of the rule `indirect.argument-command`, requiring at most
    /// what that rule requires; none when the rule is disabled.
    fn through_argument(&self, mut f: Finding, cmd: &Command) -> Result<Option<Finding>> {
        let Origin::Argument(outer) = &cmd.origin else {
            return Ok(Some(f));
        };
        let eff = self.effective.get(crate::net::RULE);
        if eff.is_some_and(|e| e.disabled) {
            return Ok(None);
        }
        let builtin = self.builtin_for(crate::net::PROGRAM, false)?;
        let Some(rule) = builtin
            .iter()
            .chain(self.extra.iter())
            .flat_map(|p| p.rules.iter())
            .find(|r| r.id() == crate::net::RULE)
        else {
            return Ok(None);
        };
        let ceiling = eff.and_then(|e| e.requires).unwrap_or(rule.spec.requires);
        f.why.push(format!(
            "`{}` matches {} ({}), inside an argument of `{outer}`, which may only print or store it",
            f.command, f.id, f.description
        ));
        f.id = crate::net::RULE.to_string();
        f.description = rule.spec.description.clone();
        f.severity = eff.and_then(|e| e.severity).unwrap_or(rule.spec.severity);
        f.layer = rule.layer;
        f.origin = rule.origin.clone();
        if f.requires > ceiling {
            f.requires = ceiling;
            f.decision = match ceiling {
                Requires::Deny => Decision::Deny,
                Requires::Approval => Decision::Ask,
                // Covered targets ask no person under `backup`; uncovered ones stay refused.
                Requires::Backup if f.decision == Decision::Ask => Decision::Allow,
                Requires::Backup | Requires::BackupAndApproval => f.decision,
            };
            if ceiling == Requires::Approval {
                for t in &mut f.targets {
                    t.backup.status = BackupStatus::NotRequired;
                }
            }
        }
        Ok(Some(f))
    }

    // What is known of the command and its line, passed apart so each is computed once.
    #[allow(clippy::too_many_arguments)]
    fn match_rule(
        &self,
        rule: &Rule,
        eff: Option<&Effective>,
        cmd: &Command,
        info: &ProgramInfo,
        sql: &CommandSql,
        ctx: &Context,
        before: &Before,
    ) -> Option<Finding> {
        let spec = &rule.spec;
        // Targets resolve against where this command runs, after any `cd` on the line;
        // in a container, against where the container was started, once mapped.
        let cwd = run_dir(cmd, ctx);
        let ctx = &Context {
            cwd: cwd.as_deref(),
            dialect: cmd.dialect,
            ..*ctx
        };
        let parsed = args::parse(cmd.args(), info);
        let mut why = Vec::new();

        let mut consumed = 0;
        if !rule.subcommands.is_empty() {
            let positionals: Vec<String> = parsed
                .positionals
                .iter()
                .map(|w| w.text.to_ascii_lowercase())
                .collect();
            let alt = rule.subcommands.iter().find(|alt| {
                alt.len() <= positionals.len()
                    && alt
                        .iter()
                        .zip(&positionals)
                        .all(|(choices, word)| choices.iter().any(|c| wildcard(c, word)))
            })?;
            consumed = alt.len();
            why.push(format!(
                "subcommand `{}`",
                positionals[..consumed].join(" ")
            ));
        }
        for group in &spec.flags {
            if !parsed.has_any(group, true) {
                return None;
            }
        }
        if !spec.flags.is_empty() {
            why.push(format!(
                "flags {}",
                spec.flags
                    .iter()
                    .map(|g| g.join("|"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for group in &spec.not_flags {
            if parsed.has_any(group, false) {
                return None;
            }
        }
        // Regexes compile on first use, and only for rules that got this far.
        // Joined once, however many of the rule's checks read it.
        let joined_once = OnceCell::new();
        let joined = || joined_once.get_or_init(|| join_words(cmd.args())).as_str();
        // A built-in rule's arguments must hold a literal its regex needs (found at
        // build time): most lines are turned away without compiling the regex.
        if rule.layer == Layer::Builtin && spec.args_regex.is_some() {
            if let Some(lits) = backstop_policies::args_literals(rule.id()) {
                if !lits.iter().any(|l| joined().contains(l)) {
                    return None;
                }
            }
        }
        if let Some(re) = rule.args_re() {
            let m = re.find(joined())?;
            why.push(format!(
                "arguments match `{}` at `{}`",
                re.as_str(),
                m.as_str().trim()
            ));
        }
        if let Some(re) = rule.args_not_re() {
            if re.is_match(joined()) {
                return None;
            }
        }

        let mut sql_effects = Vec::new();
        if !spec.sql.is_empty() {
            let found = sql.effects.get_or_init(|| {
                let program = program_name(cmd.program().unwrap_or_default());
                let mut files = sql.files.borrow_mut();
                let mut found = Vec::new();
                for text in sql_texts(cmd, &parsed, info) {
                    match text {
                        SqlText::Inline(t) => found.extend(crate::sql::effects(&t, &program)),
                        SqlText::File(name) => {
                            found.extend(files.effects(&name, &program, ctx).iter().cloned());
                        }
                    }
                }
                if info.sql_command {
                    found.extend(crate::sql::effects_if_sql(&join_words(&cmd.words)));
                }
                found
            });
            sql_effects.extend(found.iter().filter(|e| spec.sql.contains(&e.kind)).cloned());
            if sql_effects.is_empty() {
                return None;
            }
            let kinds: Vec<&str> = sql_effects.iter().map(|e| e.kind.name()).collect();
            why.push(format!("SQL {}", kinds.join(", ")));
        }

        let mut code_captures = Vec::new();
        let mut from = cmd.file.clone();
        if let Some(re) = rule.code_re() {
            let codes = code_texts(cmd, &parsed, info);
            for code in &codes {
                for c in re.captures_iter(code) {
                    // A program read from a file: the line of its first match.
                    if let (Some(f), true, Some(m)) =
                        (&mut from, code_captures.is_empty(), c.get(0))
                    {
                        if matches!(&cmd.stdin, Stdin::Text(t) if t == code) {
                            f.line = code[..m.start()].matches('\n').count() + 1;
                        }
                    }
                    code_captures.push(c.get(1).map(|m| m.as_str().to_string()));
                }
            }
            if code_captures.is_empty() {
                return None;
            }
            why.push(format!("inline code matches `{}`", re.as_str()));
        }

        let mut redirects: Vec<&Word> = Vec::new();
        // The redirections matched, as written, for showing the command.
        let mut shown_redirects = String::new();
        if let Some(re) = rule.redirect_re() {
            for r in &cmd.redirects {
                let writes = if spec.redirect_ops.is_empty() {
                    r.op.contains('>') && !r.op.contains('&') || r.op == "&>" || r.op == "&>>"
                } else {
                    // `2>`, PowerShell's `*>`: the stream does not matter, the operator does.
                    let op =
                        r.op.trim_start_matches(|c: char| c.is_ascii_digit() || c == '*');
                    spec.redirect_ops.iter().any(|o| o == op)
                };
                if writes && re.is_match(&r.target.text) {
                    redirects.push(&r.target);
                    shown_redirects.push_str(&format!(
                        " {} {}",
                        r.op,
                        crate::command::display_word(&r.target.text)
                    ));
                }
            }
            if redirects.is_empty() {
                return None;
            }
            let shown: Vec<&str> = redirects.iter().map(|w| w.text.as_str()).collect();
            why.push(format!("output redirected to {}", shown.join(", ")));
        }

        // Each target, and the path whose existence decides it when the line names it
        // literally (no glob, no variable, not read at run time): only these can be
        // looked at on the filesystem.
        let mut targets: Vec<(Target, Option<String>)> = Vec::new();
        for (t, re) in spec.targets.iter().zip(rule.target_res()) {
            let mut push_probed = |value: String, probe: Option<String>| {
                let (value, probe) = match (&cmd.container, t.kind.as_str()) {
                    (Some(c), "path") => (container_path(c, &cmd.cwd, &value), None),
                    _ => (value, probe),
                };
                let probe = probe
                    .filter(|p| t.kind == "path" && literal_path(p))
                    .map(|p| normalise_target("path", &p, ctx));
                let value = normalise_target(&t.kind, &value, ctx);
                if !value.is_empty() {
                    targets.push((
                        Target {
                            kind: t.kind.clone(),
                            value,
                        },
                        probe,
                    ));
                }
            };
            let mut push = |value: String, literal: bool| {
                let probe = literal.then(|| value.clone());
                push_probed(value, probe);
            };
            match t.from {
                TargetFrom::Positionals => {
                    let rest: Vec<&Word> = match t.index {
                        Some(n) => parsed
                            .positionals
                            .iter()
                            .skip(consumed + t.skip)
                            .skip(n)
                            .take(1)
                            .copied()
                            .collect(),
                        None => parsed
                            .positionals
                            .iter()
                            .skip(consumed + t.skip)
                            .copied()
                            .collect(),
                    };
                    for w in rest {
                        push(w.text.clone(), !w.glob && !w.expansion);
                    }
                    if cmd.args_from_stdin {
                        if cmd.stdin_names.is_empty() {
                            push(STDIN_NAMES.to_string(), false);
                        }
                        cmd.stdin_names.iter().for_each(|n| push(n.clone(), false));
                    }
                }
                TargetFrom::Leading
                    if program_name(cmd.program().unwrap_or_default()) == "find" =>
                {
                    // `ROOT/**`: find deletes nothing under a root that is not there.
                    for scope in crate::unwrap::find_scope(cmd) {
                        let root = scope.find("/**").map(|i| match &scope[..i] {
                            "" => "/".to_string(),
                            r => r.to_string(),
                        });
                        push_probed(scope, root);
                    }
                }
                TargetFrom::Leading => {
                    let lead: Vec<&Word> = parsed.leading.iter().skip(t.skip).copied().collect();
                    if lead.is_empty() {
                        push(".".into(), false);
                    }
                    lead.into_iter().for_each(|w| push(w.text.clone(), false));
                }
                TargetFrom::Option => parsed
                    .values(&t.options)
                    .for_each(|v| push(v.to_string(), true)),
                TargetFrom::Regex => {
                    if let Some(re) = re {
                        for c in re.captures_iter(joined()) {
                            if let Some(m) = c.get(1) {
                                push(m.as_str().to_string(), true);
                            }
                        }
                    }
                }
                TargetFrom::Destination => {
                    for (value, literal) in
                        destinations(&parsed, consumed + t.skip, &t.options, ctx)
                    {
                        push(value, literal);
                    }
                }
                TargetFrom::Sql => {
                    for e in &sql_effects {
                        if let Some(o) = &e.object {
                            targets.push((
                                Target {
                                    kind: sql_kind(&t.kind, e.object_kind),
                                    value: o.clone(),
                                },
                                None,
                            ));
                        }
                    }
                    // A table lives in a database: that is what a backup can be made of.
                    let on_tables = sql_effects.iter().any(|e| e.object_kind != "database");
                    if on_tables {
                        if let Some(db) = database_name(&parsed, info) {
                            let kind = if info.database_files {
                                "path"
                            } else {
                                "database"
                            };
                            targets.push((
                                Target {
                                    kind: "database".into(),
                                    value: normalise_target(kind, &db, ctx),
                                },
                                None,
                            ));
                        }
                    }
                }
                TargetFrom::Code => code_captures
                    .iter()
                    .flatten()
                    .for_each(|c| push(c.clone(), false)),
                TargetFrom::Redirect => redirects
                    .iter()
                    .for_each(|r| push(r.text.clone(), !r.glob && !r.expansion)),
                TargetFrom::Cwd => push(ctx.cwd.unwrap_or(".").to_string(), false),
                TargetFrom::Literal => push(t.value.clone().unwrap_or_default(), false),
            }
        }
        // The same target twice is one; named literally only if every time.
        targets.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same && later.1 != kept.1 {
                kept.1 = None;
            }
            same
        });
        if targets.len() < spec.min_targets {
            return None;
        }
        let extra_except = eff.and_then(|e| e.except.as_ref());
        let excepted_as = |path: &str| {
            rule.except_prefixes
                .iter()
                .any(|p| path.starts_with(p.as_str()))
                || self_and_ancestors(path).any(|p| {
                    rule.except_set().is_some_and(|g| g.is_match(p))
                        || extra_except.is_some_and(|g| g.is_match(p))
                })
        };
        // Windows paths are matched with `/` too, so one list serves every shell.
        let excepted = |path: &str| {
            excepted_as(path)
                || (path.contains('\\') && excepted_as(&fold_dots(&path.replace('\\', "/"))))
        };
        if !targets.is_empty()
            && (!rule.except_globs.is_empty() || extra_except.is_some())
            && targets.iter().all(|(t, _)| excepted(&t.value))
        {
            return None;
        }
        // Whether the facts of this filesystem describe the files the command names:
        // not on another machine (ssh), in another system (wsl, chroot) or a
        // container, nor read from a string the engine only guessed at.
        // Nor later: what a deferred job (`at`, `crontab`) finds is not what is here now.
        let here = matches!(
            cmd.origin,
            Origin::Line | Origin::NestedShell(_) | Origin::Substitution | Origin::File(_)
        ) && cmd.container.is_none()
            && !cmd.via.iter().any(|v| {
                ELSEWHERE.contains(&v.as_str())
                    || DEFERRED.contains(&v.split_whitespace().next().unwrap_or_default())
            });
        let on_disk = |probe: &Option<String>| -> Option<String> {
            probe
                .as_ref()
                .filter(|p| here && local_absolute(p))
                .cloned()
        };
        // A target that is not there destroys nothing (one `lstat`), unless a command
        // before this one could have made it; an overwrite destroys only a file that
        // is there, holding something (one `stat`, through a symbolic link).
        let mut absent = vec![false; targets.len()];
        // Missing now, but new content an earlier command writes (`cc -o x; rm x`).
        let mut made_here = vec![false; targets.len()];
        match spec.exists {
            Exists::Any => {}
            Exists::Present => {
                for (i, (_, probe)) in targets.iter().enumerate() {
                    let Some(path) = on_disk(probe) else {
                        continue;
                    };
                    if ctx.facts.stat(&path) != PathFact::Absent {
                        continue;
                    }
                    match crate::made::made_by(before, &path) {
                        MadeBy::Nothing => absent[i] = true,
                        MadeBy::Line => made_here[i] = true,
                        MadeBy::Moved => {}
                    }
                }
            }
            Exists::NonEmptyFile => {
                made_here.clear();
                targets.retain(|(_, probe)| {
                    on_disk(probe).is_some_and(|path| {
                        matches!(
                            ctx.facts.follow(&path),
                            PathFact::Present(Stat { kind: FileKind::File, size }) if size > 0
                        )
                    })
                });
                if targets.is_empty() {
                    return None;
                }
                absent.truncate(targets.len());
                made_here.resize(targets.len(), false);
            }
        }

        let requires = eff.and_then(|e| e.requires).unwrap_or(spec.requires);
        let max_age_secs = eff.and_then(|e| e.max_age).unwrap_or(rule.max_age_secs);
        let mut target_findings: Vec<TargetFinding> = Vec::new();
        let mut all_covered = true;
        let mut no_recipe = false;
        let program = program_name(cmd.program().unwrap_or_default());
        let not_required = |detail: Option<String>| Backup {
            status: BackupStatus::NotRequired,
            detail,
            ..Backup::default()
        };
        let regenerable = |path: &str| excepted(path);
        let need = Need {
            program: &program,
            max_age_secs,
            regenerable: &regenerable,
        };
        // A rule with precious places needs no backup of what is not precious. Set to
        // `deny` or `approval` (an administrator's override), it applies as written.
        // (Files it deletes as another user, or that are not named, are precious.)
        let own = here
            && !cmd
                .via
                .iter()
                .any(|v| ELSEWHERE_OR_ELEVATED.contains(&v.as_str()));
        let mut expendable: Vec<Option<String>> =
            if rule.precious_globs.is_empty() || !requires.needs_backup() {
                vec![None; targets.len()]
            } else {
                let present = || targets.iter().zip(&absent).filter(|(_, gone)| !**gone);
                let few = present().count() <= FEW_FILES
                    && present().all(|((t, probe), _)| {
                        own && t.kind == "path" && probe.as_deref() == Some(t.value.as_str())
                    });
                targets
                    .iter()
                    .zip(&made_here)
                    .map(|((t, _), made)| expendable_because(rule, t, few, *made, ctx))
                    .collect()
            };
        for (why, gone) in expendable.iter_mut().zip(&absent) {
            if *gone {
                *why = Some("absent: nothing is there to destroy".into());
            }
        }
        let targets: Vec<Target> = targets.into_iter().map(|(t, _)| t).collect();
        // A table or schema is backed up with the database the line names, so it is
        // covered exactly when that database is.
        let needs_backup = requires.needs_backup();
        let first_db = targets.iter().position(|t| t.kind == "database");
        let database_backup = first_db
            .filter(|_| needs_backup)
            .map(|i| ctx.backups.status_for(&targets[i], &need));
        for (i, t) in targets.iter().enumerate() {
            let inherits = Some(i) == first_db || matches!(t.kind.as_str(), "table" | "schema");
            let backup = match (&database_backup, &expendable[i]) {
                (_, Some(why)) if absent[i] => not_required(Some(why.clone())),
                _ if !needs_backup => not_required(None),
                (_, Some(why)) => not_required(Some(why.clone())),
                (Some(db), _) if inherits => db.clone(),
                _ => ctx.backups.status_for(t, &need),
            };
            // A target no recipe can back up cannot be asked to have a backup: the
            // person's approval is all that can be asked.
            no_recipe |= backup.status == BackupStatus::NoRecipe;
            all_covered &= matches!(
                backup.status,
                BackupStatus::Covered | BackupStatus::NotRequired | BackupStatus::NoRecipe
            );
            target_findings.push(TargetFinding {
                kind: t.kind.clone(),
                value: t.value.clone(),
                backup,
            });
        }
        let all_expendable = !expendable.is_empty() && expendable.iter().all(Option::is_some);
        let decision = match requires {
            _ if all_expendable => Decision::Allow,
            Requires::Deny => Decision::Deny,
            Requires::Approval => Decision::Ask,
            Requires::Backup if all_covered && !targets.is_empty() && no_recipe => Decision::Ask,
            Requires::Backup if all_covered && !targets.is_empty() => Decision::Allow,
            Requires::BackupAndApproval if all_covered && !targets.is_empty() => Decision::Ask,
            Requires::Backup | Requires::BackupAndApproval => Decision::Deny,
        };
        if cmd.origin == Origin::TextFallback {
            why.push("found in text the reader could not fully parse".into());
        }
        if cmd.origin == Origin::Unpeeled {
            why.push("found in a chain of wrappers longer than backstop follows".into());
        }
        Some(Finding {
            id: rule.id().to_string(),
            severity: eff.and_then(|e| e.severity).unwrap_or(spec.severity),
            description: spec.description.clone(),
            requires,
            layer: rule.layer,
            origin: rule.origin.clone(),
            command: format!("{cmd}{shown_redirects}").trim_start().to_string(),
            via: cmd.via.clone(),
            targets: target_findings,
            approval_phrase: spec.approval_phrase,
            max_age_secs,
            why,
            decision,
            from,
        })
    }
}

/// Push the commands of `groups` (each what one command peeled into) onto the work
/// list in the order they run, each with what the commands before it may have made.
fn push_in_order(
    work: &mut Vec<(Command, usize, usize, Before)>,
    groups: Vec<Vec<Command>>,
    before: &Before,
    depth: usize,
    nest: usize,
    ctx: &Context,
) {
    let n = groups.len();
    let made: Vec<Vec<Creates>> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            // What the last command creates matters to no command after it.
            if i + 1 == n && g.len() == 1 {
                vec![Creates::default()]
            } else {
                g.iter().map(|c| crate::made::creates(c, ctx)).collect()
            }
        })
        .collect();
    let (each, _) = crate::made::sequence(before, &made);
    for (group, befores) in groups.into_iter().zip(each) {
        for (c, b) in group.into_iter().zip(befores) {
            work.push((c, depth, nest, b));
        }
    }
}

/// What a command's own redirections create (`bash x.sh > log` makes `log` before
/// the script runs).
fn redirects_made(cmd: &Command, ctx: &Context) -> Creates {
    let only_redirects = Command {
        redirects: cmd.redirects.clone(),
        cwd: cmd.cwd.clone(),
        container: cmd.container.clone(),
        ..Command::default()
    };
    crate::made::creates(&only_redirects, ctx)
}

/// The directory a command runs in: after any `cd` on the line; in a container, where
/// the container was started (its paths are mapped to the host's).
pub(crate) fn run_dir<'a>(cmd: &'a Command, ctx: &Context<'a>) -> Option<Cow<'a, str>> {
    let run_cwd = match &cmd.container {
        Some(c) => &c.host_cwd,
        None => &cmd.cwd,
    };
    match run_cwd {
        WorkDir::Inherit => ctx.cwd.map(Cow::Borrowed),
        WorkDir::Unknown => None,
        WorkDir::Known(d) if d.starts_with("./") => ctx
            .cwd
            .map(|base| Cow::Owned(fold_dots(&format!("{base}/{d}")))),
        WorkDir::Known(d) => Some(Cow::Borrowed(d.as_str())),
    }
}

/// A path as the line writes it holds nothing the shell would expand or the engine
/// could not settle (a glob, a variable, `%VAR%`), and names a file on this machine
/// (not `host:path`).
fn literal_path(value: &str) -> bool {
    if value.is_empty() || value.contains(['*', '?', '[', '$', '`', '%']) {
        return false;
    }
    match value.split_once(':') {
        Some((host, _)) => crate::registry::is_drive_qualified(value) && !host.contains('/'),
        None => true,
    }
}

/// An absolute path this machine can be asked about: `/…`; on Windows also `C:\…`.
fn local_absolute(path: &str) -> bool {
    path.starts_with('/')
        || (cfg!(windows)
            && crate::registry::is_drive_qualified(path)
            && matches!(path.as_bytes().get(2), Some(b'\\' | b'/')))
}

/// Where `cp`, `mv`, `ln`, `install`, `rsync`, `Copy-Item` put what they copy: the
/// value of one of `dest_options` (`-t DIR`, `-Destination X`) with every positional a
/// source, else the last positional (after `skip`). A destination that is a directory
/// receives each source under its own name; a source ending in `/` is copied into it
/// as its contents, whose names the line does not give.
fn destinations(
    parsed: &args::Parsed,
    skip: usize,
    dest_options: &[String],
    ctx: &Context,
) -> Vec<(String, bool)> {
    let words: Vec<&Word> = parsed.positionals.iter().skip(skip).copied().collect();
    let literal = |w: &Word| !w.glob && !w.expansion;
    let (dest, dest_literal, sources) = match parsed.values(dest_options).next() {
        Some(d) => (d.to_string(), true, &words[..]),
        None => match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => (last.text.clone(), literal(last), rest),
            _ => return Vec::new(),
        },
    };
    let resolved = normalise_target("path", &dest, ctx);
    let into_dir = dest_literal
        && local_absolute(&resolved)
        && matches!(
            ctx.facts.follow(&resolved),
            PathFact::Present(Stat {
                kind: FileKind::Dir,
                ..
            })
        );
    if !into_dir {
        return vec![(dest, dest_literal)];
    }
    let sep = if dest.ends_with(['/', '\\']) { "" } else { "/" };
    sources
        .iter()
        .filter_map(|s| {
            let name = s
                .text
                .rsplit(['/', '\\'])
                .next()
                .filter(|n| !n.is_empty())?;
            Some((format!("{dest}{sep}{name}"), literal(s)))
        })
        .collect()
}

/// Why a target of a rule with precious places needs no backup, or `None` when it is
/// precious: it is one of a few files named literally (`few`), a regular file or a
/// symbolic link by one `lstat`, smaller than [`LARGE_FILE`], and outside the rule's
/// precious places. Anything that cannot be told (a glob, names read at run time, a
/// path that is missing or cannot be examined) is precious.
///
/// A file missing now that an earlier command on the line writes (`made`) is the line's
/// own: outside the precious places it needs nothing either.
fn expendable_because(
    rule: &Rule,
    t: &Target,
    few: bool,
    made: bool,
    ctx: &Context,
) -> Option<String> {
    if t.kind != "path" || !few || !local_absolute(&t.value) {
        return None;
    }
    // Windows paths are matched with `/`, as the globs are written.
    let value = t.value.replace('\\', "/");
    let home_form = ctx.home.and_then(|h| {
        let h = h.replace('\\', "/");
        let h = h.trim_end_matches('/');
        value
            .strip_prefix(h)
            .filter(|rest| rest.starts_with('/'))
            .map(|rest| format!("~{rest}"))
    });
    let precious = rule.precious_set()?;
    if precious.is_match(&value) || home_form.as_deref().is_some_and(|h| precious.is_match(h)) {
        return None;
    }
    if made {
        return Some(
            "not precious: made by an earlier command of the line, outside the precious places"
                .into(),
        );
    }
    let PathFact::Present(stat) = ctx.facts.stat(&t.value) else {
        return None;
    };
    let what = match stat.kind {
        FileKind::File => "file",
        // Overwriting through a link reaches a file whose place the line does not say.
        FileKind::Symlink if rule.spec.exists == Exists::NonEmptyFile => return None,
        FileKind::Symlink => "symbolic link",
        FileKind::Dir | FileKind::Other => return None,
    };
    (stat.size < LARGE_FILE).then(|| {
        format!(
            "not precious: a {} {what}, named on the line, outside the precious places",
            human_size(stat.size)
        )
    })
}

/// A size for a person: `812 bytes`, `14 KiB`, `3 MiB`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b}-byte"),
        b if b < 1 << 20 => format!("{} KiB", b >> 10),
        b if b < 1 << 30 => format!("{} MiB", b >> 20),
        b => format!("{} GiB", b >> 30),
    }
}

/// A path named inside a container, as the host sees it: through the bind mount that
/// covers it (relative ones first against the container's working directory); as the
/// container names it when no mount covers it.
fn container_path(c: &crate::command::Container, inside_cwd: &WorkDir, value: &str) -> String {
    let inside = if value.starts_with('/') {
        fold_dots(value)
    } else if let WorkDir::Known(d) = inside_cwd {
        fold_dots(&format!("{}/{value}", d.trim_end_matches('/')))
    } else {
        return value.to_string();
    };
    c.host_path(&inside).unwrap_or(inside)
}

/// Does a repository override weaken the rule? Names what it does if so.
fn weakening(o: &OverrideSpec) -> Option<&'static str> {
    if o.enabled == Some(false) {
        return Some("override disables the rule");
    }
    if o.requires.is_some_and(|r| r != Requires::Deny) {
        // Only `deny` is certainly at least as strict as whatever the rule requires now.
        return Some("override could lower what the rule requires (a repository may only set `requires = \"deny\"`)");
    }
    if !o.except_targets.is_empty() {
        return Some("override adds exceptions");
    }
    if o.max_age.is_some() {
        return Some("override changes max_age");
    }
    if o.severity.is_some_and(|s| s < Severity::Critical) {
        return Some(
            "override could lower the severity (a repository may only raise it to critical)",
        );
    }
    None
}

fn sql_kind(declared: &str, object_kind: &str) -> String {
    if declared == "sql" || declared.is_empty() {
        object_kind.to_string()
    } else if declared == "database" && object_kind == "table" {
        "table".into()
    } else {
        declared.to_string()
    }
}

/// `*` wildcards in a subcommand word.
fn wildcard(pattern: &str, word: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == word;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !word.starts_with(first) || word.len() < first.len() + last.len() || !word.ends_with(last) {
        return false;
    }
    let mut rest = &word[first.len()..word.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// What `xargs` will append, described for the person reading the finding.
const STDIN_NAMES: &str = "(names read from standard input)";

fn program_info(policies: &[&Policy], program: &str) -> ProgramInfo {
    let mut info = ProgramInfo::default();
    for p in policies {
        for spec in &p.programs {
            if !spec.names.iter().any(|n| n.eq_ignore_ascii_case(program)) {
                continue;
            }
            if let Some(s) = spec.option_style {
                info.style = s;
            }
            info.value_options
                .extend(spec.value_options.iter().cloned());
            info.sql_options.extend(spec.sql_options.iter().cloned());
            info.sql_file_options
                .extend(spec.sql_file_options.iter().cloned());
            info.code_options.extend(spec.code_options.iter().cloned());
            info.sql_positional = info.sql_positional.or(spec.sql_positional);
            info.sql_stdin |= spec.sql_stdin;
            info.sql_command |= spec.sql_command;
            info.database_options
                .extend(spec.database_options.iter().cloned());
            info.database_positional = info.database_positional.or(spec.database_positional);
            info.database_files |= spec.database_files;
            info.code_stdin |= spec.code_stdin;
        }
    }
    info
}

/// The largest SQL script read from a file; larger ones are not examined.
pub const MAX_SQL_FILE: u64 = 1024 * 1024;

/// Most bytes of SQL files read for one line, however many commands name them.
pub const SQL_READ_BUDGET: u64 = 8 * MAX_SQL_FILE;

/// What a command's SQL does, worked out once for all the rules that ask.
struct CommandSql<'a> {
    effects: OnceCell<Vec<crate::sql::SqlEffect>>,
    /// The SQL files read for the whole line.
    files: &'a RefCell<SqlFiles>,
}

/// The SQL files read for one line: each file is read and worked out once per client
/// however often the line names it (`psql -f a.sql -f a.sql …`), and the bytes read
/// are capped, so that a line's time does not grow with the files it repeats.
#[derive(Default)]
struct SqlFiles {
    effects: HashMap<(String, String), std::rc::Rc<Vec<crate::sql::SqlEffect>>>,
    bytes: u64,
}

impl SqlFiles {
    /// What the SQL file `name` does as `program` runs it; nothing when it cannot be
    /// read, is over [`MAX_SQL_FILE`], or the line's [`SQL_READ_BUDGET`] is spent.
    fn effects(
        &mut self,
        name: &str,
        program: &str,
        ctx: &Context,
    ) -> std::rc::Rc<Vec<crate::sql::SqlEffect>> {
        let Some(path) = sql_file_path(name, ctx) else {
            return std::rc::Rc::default();
        };
        let key = (path, program.to_string());
        if let Some(found) = self.effects.get(&key) {
            return std::rc::Rc::clone(found);
        }
        let text = (self.bytes < SQL_READ_BUDGET)
            .then(|| ctx.files.read_small(&key.0, MAX_SQL_FILE))
            .flatten();
        let found = std::rc::Rc::new(text.map_or_else(Vec::new, |t| {
            self.bytes += t.len() as u64;
            crate::sql::effects(&t, program)
        }));
        self.effects.insert(key, std::rc::Rc::clone(&found));
        found
    }
}

/// A SQL text a command gives its client: on the line, or in a file it names.
enum SqlText {
    Inline(String),
    File(String),
}

fn sql_texts(cmd: &Command, parsed: &args::Parsed, info: &ProgramInfo) -> Vec<SqlText> {
    let mut out: Vec<SqlText> = parsed
        .values(&info.sql_options)
        .map(|v| SqlText::Inline(v.to_string()))
        .collect();
    out.extend(
        parsed
            .values(&info.sql_file_options)
            .map(|f| SqlText::File(f.to_string())),
    );
    if info.sql_stdin && cmd.stdin == Stdin::Unknown {
        // `mysql shop < cleanup.sql`
        out.extend(
            cmd.redirects
                .iter()
                .filter(|r| r.op == "<" && !r.target.expansion && !r.target.glob)
                .map(|r| SqlText::File(r.target.text.clone())),
        );
    }
    if let Some(n) = info.sql_positional {
        if let Some(w) = parsed.positionals.get(n.saturating_sub(1)) {
            out.push(SqlText::Inline(w.text.clone()));
        }
    }
    if info.sql_stdin {
        if let Stdin::Text(t) = &cmd.stdin {
            out.push(SqlText::Inline(t.clone()));
        }
    }
    out
}

/// A SQL script named on the line, resolved against the command's working directory.
/// Names the line cannot settle (`$F`, globs, relative ones with no known directory)
/// are not read.
fn sql_file_path(name: &str, ctx: &Context) -> Option<String> {
    if name.is_empty() || name == "-" || name.contains(['$', '*', '?', '`']) {
        return None;
    }
    let path = normalise_target("path", name, ctx);
    let absolute = path.starts_with('/') || path.get(1..3) == Some(":\\");
    absolute.then_some(path)
}

/// The database a SQL client connects to, when its command line names one.
fn database_name(parsed: &args::Parsed, info: &ProgramInfo) -> Option<String> {
    if let Some(v) = parsed.values(&info.database_options).next() {
        return Some(v.to_string());
    }
    let n = info.database_positional?;
    // `sqlite3 DB SQL`: the SQL positional is not the database; neither is an option value.
    parsed
        .positionals
        .get(n.checked_sub(1)?)
        .map(|w| w.text.clone())
}

fn code_texts(cmd: &Command, parsed: &args::Parsed, info: &ProgramInfo) -> Vec<String> {
    let mut out: Vec<String> = parsed
        .values(&info.code_options)
        .map(str::to_string)
        .collect();
    if info.code_stdin {
        if let Stdin::Text(t) = &cmd.stdin {
            out.push(t.clone());
        }
    }
    out
}

/// Shell command strings inside inline interpreter code: `os.system("rm -rf x")`,
/// `subprocess.run(["rm", "-rf", "x"])`, Ruby/Perl backticks, `execSync('…')`.
/// Returns each as a command to evaluate, with whether it was parsed incompletely.
fn embedded_shell_commands(cmd: &Command, info: &ProgramInfo) -> Vec<(Command, bool)> {
    if info.code_options.is_empty() && !info.code_stdin {
        return Vec::new();
    }
    static CALL: OnceLock<Regex> = OnceLock::new();
    static LIST: OnceLock<Regex> = OnceLock::new();
    static TICKS: OnceLock<Regex> = OnceLock::new();
    static LIT: OnceLock<Regex> = OnceLock::new();
    let call = CALL.get_or_init(|| {
        Regex::new(r#"\b(?:system|popen|exec|execSync|spawnSync|execFileSync|check_output|check_call|call|run|Popen|getoutput|getstatusoutput|shell_exec|passthru|proc_open|spawn|exec_command|sh)\s*\(\s*[rbfu]?("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)"#)
            .expect("literal pattern")
    });
    let list = LIST.get_or_init(|| {
        Regex::new(r#"\(\s*\[((?:\s*[rbfu]?(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*,?)+)\s*\]"#)
            .expect("literal pattern")
    });
    let ticks = TICKS.get_or_init(|| {
        Regex::new(r"(?:`([^`]+)`|%x\{([^}]*)\}|qx\{([^}]*)\}|qx\(([^)]*)\))")
            .expect("literal pattern")
    });
    let lit = LIT.get_or_init(|| {
        Regex::new(r#""((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'"#).expect("literal pattern")
    });
    let parsed = args::parse(cmd.args(), info);
    let unescape = |s: &str| {
        s.replace("\\\"", "\"")
            .replace("\\'", "'")
            .replace("\\\\", "\\")
    };
    let mut strings = Vec::new();
    for code in code_texts(cmd, &parsed, info) {
        for c in call.captures_iter(&code) {
            let s = &c[1];
            strings.push(unescape(&s[1..s.len().saturating_sub(1).max(1)]));
        }
        for c in list.captures_iter(&code) {
            let words: Vec<String> = lit
                .captures_iter(&c[1])
                .map(|m| {
                    crate::command::display_word(&unescape(
                        m.get(1).or(m.get(2)).map_or("", |x| x.as_str()),
                    ))
                })
                .collect();
            strings.push(words.join(" "));
        }
        for c in ticks.captures_iter(&code) {
            if let Some(m) = (1..=4).find_map(|i| c.get(i)) {
                strings.push(m.as_str().to_string());
            }
        }
    }
    let label = program_name(cmd.program().unwrap_or_default());
    let mut out = Vec::new();
    for s in strings {
        let script = Dialect::Bash.parse(&s);
        for mut c in script.commands {
            c.origin = Origin::EmbeddedIn(label.clone());
            let mut via = cmd.via.clone();
            via.push(label.clone());
            c.via = via;
            out.push((c, script.incomplete));
        }
    }
    out
}

/// `echo 'DROP TABLE t' | psql`: what a literal-printing command feeds the next one;
/// `cat FILE | sh` reads as `sh < FILE`, `echo … | base64 -d | sh` as the decoded
/// text, and `curl URL | sh` as code downloaded at run time.
pub(crate) fn resolve_piped_stdin(commands: &mut [Command], dialect: Dialect) {
    for i in 0..commands.len() {
        let Some(from) = commands[i].pipe_from else {
            continue;
        };
        if commands[i].stdin != Stdin::Unknown || from >= commands.len() {
            continue;
        }
        let upstream = peel(commands[from].clone(), dialect, 0);
        let Some(up) = upstream.last() else { continue };
        let prog = program_name(up.program().unwrap_or_default());
        if prog == "find" {
            // `find … | xargs rm`: the names are what find selects.
            commands[i].stdin_names = crate::unwrap::find_scope(up);
            continue;
        }
        if crate::dynamic::DOWNLOADERS.contains(&prog.as_str()) {
            commands[i].stdin = Stdin::Download(up.to_string());
            continue;
        }
        let args = up.args();
        if prog == "cat" && args.len() == 1 && !args[0].text.starts_with('-') {
            if !args[0].expansion && !args[0].glob {
                commands[i].redirects.push(crate::command::Redirect {
                    op: "<".into(),
                    target: args[0].clone(),
                });
            }
            continue;
        }
        if crate::dynamic::is_base64_decoder(up) {
            if let Stdin::Text(t) = &up.stdin {
                if let Some(decoded) = crate::dynamic::decode_base64(t) {
                    commands[i].stdin = Stdin::Text(decoded);
                }
            }
            continue;
        }
        if let Some(t) = printed_text(up) {
            commands[i].stdin = Stdin::Text(t);
        }
    }
}

/// What a literal-printing command (`echo`, `printf`, `cat` of its stdin) writes.
pub(crate) fn printed_text(up: &Command) -> Option<String> {
    let prog = program_name(up.program().unwrap_or_default());
    let args: Vec<&str> = up.args().iter().map(|w| w.text.as_str()).collect();
    match prog.as_str() {
        "echo" => {
            let mut words: Vec<String> = args
                .iter()
                .skip_while(|a| matches!(**a, "-e" | "-n" | "-E" | "-ne" | "-en"))
                .map(|a| a.to_string())
                .collect();
            if up.args_from_stdin {
                // `xargs echo rm | sh`: the names xargs reads end up on the line.
                if up.stdin_names.is_empty() {
                    words.push(crate::command::display_word(STDIN_NAMES));
                }
                words.extend(
                    up.stdin_names
                        .iter()
                        .map(|n| crate::command::display_word(n)),
                );
            }
            Some(format!("{}\n", words.join(" ")))
        }
        "printf" => Some(
            args.first()
                .map(|f| f.replace("\\n", "\n").replace("%s", &args[1..].join(" ")))
                .unwrap_or_default(),
        ),
        "cat" if args.is_empty() => match &up.stdin {
            Stdin::Text(t) => Some(t.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Resolve `~` and `$HOME`, join relative paths to the working directory, fold `.` and `..`.
pub(crate) fn normalise_target(kind: &str, value: &str, ctx: &Context) -> String {
    if kind == "registry-key" {
        return crate::registry::normalise_key(value);
    }
    if !matches!(kind, "path" | "git-repo" | "block-device") {
        return value.to_string();
    }
    let mut v = braced_vars_plain(value);
    // PowerShell and cmd (and nushell on Windows) separate with `\` too: `.\build` is
    // `build`, `..\x` is `../x`. A drive path (`C:\x`) keeps its separators.
    let backslashes = matches!(ctx.dialect, Dialect::PowerShell | Dialect::Cmd)
        || (cfg!(windows) && ctx.dialect == Dialect::Nu);
    if backslashes
        && v.contains('\\')
        && !v.starts_with(['\\', '$', '%'])
        && !crate::registry::is_drive_qualified(&v)
    {
        v = v.replace('\\', "/");
    }
    if let Some(home) = ctx.home {
        let home = home.trim_end_matches('/');
        if v == "~" || v == "$HOME" || v == "${HOME}" {
            v = home.to_string();
        } else if let Some(rest) = v
            .strip_prefix("~/")
            .or_else(|| v.strip_prefix("$HOME/"))
            .or_else(|| v.strip_prefix("${HOME}/"))
        {
            v = format!("{home}/{rest}");
        }
    }
    // cmd's `%VAR%` is not a relative path either.
    let variable = v.starts_with('$') || (backslashes && v.starts_with('%'));
    if !v.starts_with('/')
        && !v.starts_with('~')
        && !variable
        && !v.contains(":\\")
        && !crate::registry::is_drive_qualified(&v)
        && (kind != "block-device" || !crate::registry::is_disk_name(&v))
        && !v.starts_with('(')
    {
        if let Some(cwd) = ctx.cwd {
            v = format!("{}/{v}", cwd.trim_end_matches('/'));
        }
    }
    fold_dots(&v)
}

/// `${NAME}` means `$NAME`; writing it one way lets exceptions like `$TMPDIR/**` match both.
fn braced_vars_plain(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(end)
                if after[..end]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && end > 0 =>
            {
                out.push('$');
                out.push_str(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The path and each of its ancestors: an exception for a directory covers what is in it.
fn self_and_ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(path), |p| {
        let trimmed = p.trim_end_matches('/');
        trimmed
            .rfind('/')
            .map(|i| if i == 0 { "/" } else { &trimmed[..i] })
            .filter(|a| *a != *p && !a.is_empty())
    })
}

/// Lexically fold `.`, `..` and repeated slashes: `/tmp/../etc` is `/etc`, so an
/// exception for `/tmp/**` cannot be used to delete `/etc`.
pub fn fold_dots(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_fold() {
        assert_eq!(fold_dots("/tmp/../etc"), "/etc");
        assert_eq!(fold_dots("./build/"), "build");
        assert_eq!(fold_dots("a/../../b"), "../b");
        assert_eq!(fold_dots("/.."), "/");
        assert_eq!(fold_dots("."), ".");
    }

    #[test]
    fn ancestors_and_braced_vars() {
        let a: Vec<&str> = self_and_ancestors("/a/b/c").collect();
        assert_eq!(a, vec!["/a/b/c", "/a/b", "/a", "/"]);
        let r: Vec<&str> = self_and_ancestors("x/y").collect();
        assert_eq!(r, vec!["x/y", "x"]);
        assert_eq!(
            braced_vars_plain("${TMPDIR}/x ${A:-b} ${}"),
            "$TMPDIR/x ${A:-b} ${}"
        );
    }

    /// A line's program names are the user's to make up: they must not each cost a
    /// parse and a place in the cache (the fuzzers' memory grew past 1.8 GB).
    #[test]
    fn programs_no_pack_names_share_one_parsed_slice() {
        let engine = Engine::builtin();
        let ctx = Context::default();
        for i in 0..1000 {
            engine
                .evaluate(&format!("made-up-{i} --flag"), &ctx)
                .unwrap();
        }
        let n = engine.slices.lock().unwrap().len();
        assert_eq!(n, 1, "{n} slices for 1,000 programs no pack names");
        let a = engine.builtin_for("made-up-a", false).unwrap();
        let b = engine.builtin_for("made-up-b", false).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &engine.builtin_for("rm", false).unwrap()));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("delete-*", "delete-stack"));
        assert!(wildcard("*-delete-*", "batch-delete-image"));
        assert!(!wildcard("delete-*", "describe"));
        assert!(wildcard("*", "x"));
    }

    /// Backups as a store with recipes for PostgreSQL only would answer.
    struct PostgresOnly;

    impl BackupOracle for PostgresOnly {
        fn status(&self, _: &Target, program: &str, _: u64) -> Backup {
            Backup {
                status: if program == "psql" {
                    BackupStatus::Missing
                } else {
                    BackupStatus::NoRecipe
                },
                ..Backup::default()
            }
        }
    }

    #[test]
    fn a_target_no_recipe_can_back_up_needs_approval_only() {
        let ctx = Context {
            backups: &PostgresOnly,
            ..Context::default()
        };
        let e = Engine::builtin()
            .evaluate("redis-cli FLUSHALL", &ctx)
            .expect("evaluates");
        assert_eq!(e.decision, Decision::Ask);
        assert_eq!(e.findings[0].requires, Requires::BackupAndApproval);
        assert_eq!(
            e.findings[0].targets[0].backup.status,
            BackupStatus::NoRecipe
        );
        // A target that can be backed up still needs its backup.
        let e = Engine::builtin()
            .evaluate("psql -d app -c 'DROP TABLE t'", &ctx)
            .expect("evaluates");
        assert_eq!(e.decision, Decision::Deny);
    }

    /// A fake filesystem: a few named files, and a record of what was asked for.
    struct FakeFiles {
        files: Vec<(&'static str, &'static str)>,
        asked: Mutex<Vec<(String, u64)>>,
    }

    impl FileReader for FakeFiles {
        fn read_small(&self, path: &str, limit: u64) -> Option<String> {
            self.asked
                .lock()
                .expect("not poisoned")
                .push((path.to_string(), limit));
            self.files
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, text)| text.to_string())
        }
    }

    fn with_files(line: &str, cwd: Option<&str>, files: &FakeFiles) -> (Evaluation, Vec<String>) {
        let ctx = Context {
            cwd,
            home: Some("/home/u"),
            files,
            ..Context::default()
        };
        let eval = Engine::builtin().evaluate(line, &ctx).expect("evaluates");
        let asked = files
            .asked
            .lock()
            .expect("not poisoned")
            .drain(..)
            .map(|(p, limit)| {
                assert_eq!(limit, MAX_SQL_FILE);
                p
            })
            .collect();
        (eval, asked)
    }

    #[test]
    fn sql_files_are_read_relative_to_where_the_command_runs() {
        let files = FakeFiles {
            files: vec![
                ("/srv/app/drop.sql", "SELECT 1;\nDROP TABLE orders;\n"),
                ("/srv/db/wipe.sql", "TRUNCATE carts"),
                ("/home/u/q.sql", "SELECT 1"),
            ],
            asked: Mutex::new(Vec::new()),
        };
        let (e, asked) = with_files("psql -d shop -f drop.sql", Some("/srv/app"), &files);
        assert_eq!(asked, vec!["/srv/app/drop.sql"]);
        assert_eq!(e.decision, Decision::Deny);
        assert_eq!(e.findings[0].id, "sql.drop-table");
        let (e, asked) = with_files(
            "cd ../db && mysql shop < wipe.sql",
            Some("/srv/app"),
            &files,
        );
        assert_eq!(asked, vec!["/srv/db/wipe.sql"]);
        assert_eq!(e.findings[0].id, "sql.truncate");
        // Read once for all the SQL rules that ask.
        let (e, asked) = with_files("sqlcmd -i ~/q.sql", None, &files);
        assert_eq!(
            (e.decision, asked),
            (Decision::Allow, vec!["/home/u/q.sql".to_string()])
        );
    }

    #[test]
    fn sql_files_the_line_cannot_settle_are_not_read() {
        let files = FakeFiles {
            files: vec![],
            asked: Mutex::new(Vec::new()),
        };
        for line in [
            "psql -f drop.sql",
            "psql -f \"$SCRIPT\"",
            "psql -f 'migrations/*.sql'",
            "psql -f -",
            "cat x.sql | psql",
        ] {
            let (e, asked) = with_files(line, None, &files);
            assert!(asked.is_empty(), "{line}: {asked:?}");
            assert_eq!(e.decision, Decision::Allow, "{line}");
        }
        // A missing file is asked for, and reads as nothing.
        let (e, asked) = with_files("psql -f gone.sql", Some("/srv"), &files);
        assert_eq!(
            (e.decision, asked),
            (Decision::Allow, vec!["/srv/gone.sql".to_string()])
        );
    }

    /// A fake filesystem for facts: paths with a kind and size; the rest is absent.
    struct FakeFacts(Vec<(&'static str, FileKind, u64)>);

    impl FileFacts for FakeFacts {
        fn stat(&self, path: &str) -> PathFact {
            self.0
                .iter()
                .find(|(p, _, _)| *p == path)
                .map_or(PathFact::Absent, |&(_, kind, size)| {
                    PathFact::Present(Stat { kind, size })
                })
        }
    }

    /// Covers exactly the paths it lists, as git would a pushed commit.
    struct FakeGit(Vec<&'static str>);

    impl BackupOracle for FakeGit {
        fn status(&self, t: &Target, _: &str, _: u64) -> Backup {
            if self.0.contains(&t.value.as_str()) {
                Backup {
                    status: BackupStatus::Covered,
                    git: Some(GitSource {
                        repo: "/home/u/app".into(),
                        path: t.value.trim_start_matches("/home/u/app/").into(),
                        commit: "0123456789abcdef0123456789abcdef01234567".into(),
                        branch: "origin/main".into(),
                        remote: "origin".into(),
                        url: None,
                    }),
                    ..Backup::default()
                }
            } else {
                Backup::default()
            }
        }
    }

    fn project_facts() -> FakeFacts {
        FakeFacts(vec![
            ("/home/u/app/notes.txt", FileKind::File, 120),
            ("/home/u/app/debug.log", FileKind::File, 40_000),
            ("/home/u/app/link", FileKind::Symlink, 9),
            ("/home/u/app/big.iso", FileKind::File, LARGE_FILE),
            ("/home/u/app/src", FileKind::Dir, 4096),
            ("/home/u/app/web", FileKind::Dir, 4096),
            ("/home/u/app/a", FileKind::File, 10),
            ("/home/u/app/b", FileKind::File, 10),
            ("/home/u/app/c", FileKind::File, 10),
            ("/home/u/app/d", FileKind::File, 10),
            ("/home/u/app/e", FileKind::File, 10),
            ("/home/u/app/.env", FileKind::File, 80),
            ("/home/u/app/app.db", FileKind::File, 8192),
            ("/home/u/todo.txt", FileKind::File, 50),
            ("/home/u/.bashrc", FileKind::File, 3000),
            ("/home/u/.config/app/settings.json", FileKind::File, 300),
            ("/home/u/Documents/cv.odt", FileKind::File, 30_000),
            ("/home/u/Downloads/tool.tar.gz", FileKind::File, 2 << 20),
            ("/home/u/app/tracked.bin", FileKind::File, 64 << 20),
            ("/etc/hosts", FileKind::File, 200),
        ])
    }

    fn decide(line: &str, facts: &dyn FileFacts, backups: &dyn BackupOracle) -> Evaluation {
        let ctx = Context {
            cwd: Some("/home/u/app"),
            home: Some("/home/u"),
            facts,
            backups,
            ..Context::default()
        };
        Engine::builtin().evaluate(line, &ctx).expect("evaluates")
    }

    #[test]
    fn a_few_small_named_files_need_no_backup() {
        let facts = project_facts();
        for line in [
            "rm notes.txt",
            "rm -f notes.txt debug.log link",
            "rm ~/Downloads/tool.tar.gz",
            "unlink notes.txt",
            "cd /home/u/app && rm debug.log",
        ] {
            let e = decide(line, &facts, &NoBackups);
            assert_eq!(e.decision, Decision::Allow, "{line}: {e:#?}");
            let t = &e.findings[0].targets[0];
            assert_eq!(t.backup.status, BackupStatus::NotRequired, "{line}");
            assert!(
                t.backup
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.starts_with("not precious")),
                "{line}: {t:?}"
            );
        }
    }

    #[test]
    fn precious_targets_need_a_backup() {
        let facts = project_facts();
        for (line, why) in [
            ("rm big.iso", "a large file"),
            ("rm .env", "a secret"),
            ("rm app.db", "a data file"),
            ("rm ~/todo.txt", "a file directly in the home directory"),
            ("rm ~/.bashrc", "a dotfile"),
            (
                "rm ~/.config/app/settings.json",
                "in a dot-directory of home",
            ),
            ("rm ~/Documents/cv.odt", "in Documents"),
            ("rm src", "a directory"),
            ("rm *.txt", "a glob"),
            ("rm \"$F\"", "a variable"),
            ("rm a b c d e notes.txt", "more than a few files"),
            ("ls | xargs rm", "names read at run time"),
            (
                "find . -name '*.log' -exec rm {} +",
                "names found at run time",
            ),
            ("rm notes.txt .env", "one of them precious"),
            ("rm /etc/hosts", "a system file"),
            ("sudo rm notes.txt", "deleted as another user"),
            ("ssh host rm notes.txt", "on another machine"),
            (
                "ssh host 'cd /home/u/app && rm notes.txt'",
                "on another machine",
            ),
        ] {
            let e = decide(line, &facts, &NoBackups);
            assert_eq!(e.decision, Decision::Deny, "{line} ({why}): {e:#?}");
        }
        // With no filesystem to ask (unit tests, `scan`), everything is precious.
        let e = decide("rm notes.txt", &NoFacts, &NoBackups);
        assert_eq!(e.decision, Decision::Deny);
    }

    #[test]
    fn requirement_backup_allows_what_a_backup_covers_and_says_where() {
        let facts = project_facts();
        let git = FakeGit(vec!["/home/u/app/.env", "/home/u/app/tracked.bin"]);
        let e = decide("rm tracked.bin", &facts, &git);
        assert_eq!(e.decision, Decision::Allow, "{e:#?}");
        let f = &e.findings[0];
        assert_eq!(f.requires, Requires::Backup);
        let src = f.targets[0].backup.git.as_ref().expect("git source");
        assert_eq!(src.branch, "origin/main");
        assert!(
            src.describe().contains("0123456789ab on origin/main"),
            "{}",
            src.describe()
        );
        // Only the precious target is asked for; the expendable one needs nothing.
        let e = decide("rm notes.txt .env", &facts, &git);
        assert_eq!(e.decision, Decision::Allow, "{e:#?}");
        let e = decide("rm notes.txt app.db", &facts, &git);
        assert_eq!(e.decision, Decision::Deny, "{e:#?}");
        // rm -r stays strict: a covered directory still needs a person's approval.
        let git = FakeGit(vec!["/home/u/app/src"]);
        let e = decide("rm -rf src", &facts, &git);
        assert_eq!(e.decision, Decision::Ask, "{e:#?}");
        assert_eq!(e.findings[0].id, "fs.rm-recursive");
    }

    #[test]
    fn a_user_rule_may_require_a_backup_alone() {
        let engine = Engine::new(vec![Source {
            origin: "mine.toml".into(),
            layer: Layer::User,
            text: r#"
[[rule]]
id = "mine.trash-db"
description = "x"
programs = ["trash-db"]
requires = "backup"
targets = [{ kind = "path", from = "positionals" }]
[rule.examples]
match = ["trash-db a"]
"#
            .into(),
        }])
        .expect("valid");
        let git = FakeGit(vec!["/home/u/app/app.db"]);
        let ctx = Context {
            cwd: Some("/home/u/app"),
            home: Some("/home/u"),
            backups: &git,
            ..Context::default()
        };
        let e = engine.evaluate("trash-db app.db", &ctx).expect("evaluates");
        assert_eq!(e.decision, Decision::Allow);
        let e = engine
            .evaluate("trash-db other.db", &ctx)
            .expect("evaluates");
        assert_eq!(e.decision, Decision::Deny);
        assert_eq!(
            e.findings[0].targets[0].backup.status,
            BackupStatus::Missing
        );
    }

    #[test]
    fn an_override_to_deny_or_approval_applies_to_every_file() {
        for (requires, want) in [("deny", Decision::Deny), ("approval", Decision::Ask)] {
            let engine = Engine::new(vec![Source {
                origin: "system.toml".into(),
                layer: Layer::System,
                text: format!("[[override]]\nrule = \"fs.rm-files\"\nrequires = \"{requires}\"\n"),
            }])
            .expect("valid");
            let facts = project_facts();
            let ctx = Context {
                cwd: Some("/home/u/app"),
                home: Some("/home/u"),
                facts: &facts,
                ..Context::default()
            };
            let e = engine.evaluate("rm notes.txt", &ctx).expect("evaluates");
            assert_eq!(e.decision, want, "{requires}");
        }
    }

    #[test]
    fn the_oracle_learns_what_regenerates() {
        struct Asks(Mutex<Vec<(String, bool, bool)>>);
        impl BackupOracle for Asks {
            fn status(&self, _: &Target, _: &str, _: u64) -> Backup {
                Backup::default()
            }
            fn status_for(&self, t: &Target, need: &Need) -> Backup {
                self.0.lock().expect("not poisoned").push((
                    t.value.clone(),
                    (need.regenerable)("/home/u/app/web/node_modules/x"),
                    (need.regenerable)("/home/u/app/web/.env"),
                ));
                Backup::default()
            }
        }
        let asks = Asks(Mutex::new(Vec::new()));
        decide("rm -rf web", &project_facts(), &asks);
        let asked = asks.0.lock().expect("not poisoned").clone();
        assert_eq!(asked, vec![("/home/u/app/web".to_string(), true, false)]);
    }

    #[test]
    fn targets_resolve_home_and_cwd() {
        let ctx = Context {
            home: Some("/home/u"),
            cwd: Some("/srv/app"),
            ..Context::default()
        };
        assert_eq!(normalise_target("path", "~/data", &ctx), "/home/u/data");
        assert_eq!(normalise_target("path", "$HOME", &ctx), "/home/u");
        assert_eq!(normalise_target("path", "../x", &ctx), "/srv/x");
        assert_eq!(normalise_target("database", "../x", &ctx), "../x");
    }
}
