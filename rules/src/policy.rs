//! The policy file format (see `policies/README.md`) and its validation.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{line_col, suggest, Error, Result};

/// Which layer a policy file belongs to; higher layers may change lower ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    Builtin,
    System,
    User,
    Repository,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Builtin => "built-in",
            Layer::System => "system",
            Layer::User => "user",
            Layer::Repository => "repository",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

/// What a matched rule demands before its command may run. Ordered from least to most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Requires {
    /// A person approves at the terminal.
    Approval,
    /// A verified, redundant, fresh backup of every target (a manifest, or a pushed
    /// commit in git); then the line runs without asking, and backstop says where the
    /// target can be restored from.
    Backup,
    /// A verified, redundant, fresh backup of every target, then a person approves.
    #[default]
    BackupAndApproval,
    /// Never run.
    Deny,
}

impl Requires {
    pub fn name(self) -> &'static str {
        match self {
            Requires::Approval => "approval",
            Requires::Backup => "backup",
            Requires::BackupAndApproval => "backup-and-approval",
            Requires::Deny => "deny",
        }
    }

    /// Does it ask for a backup of the targets?
    pub fn needs_backup(self) -> bool {
        matches!(self, Requires::Backup | Requires::BackupAndApproval)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPhrase {
    /// The person types `PROCEED`.
    #[default]
    Proceed,
    /// The person types the target's own name (`Ubuntu-24.04`).
    Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OptionStyle {
    #[default]
    Gnu,
    SingleDash,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetFrom {
    Positionals,
    Leading,
    Option,
    Regex,
    Sql,
    Code,
    Redirect,
    Cwd,
    Literal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SqlKind {
    DropDatabase,
    DropSchema,
    DropTable,
    DropOther,
    Truncate,
    DeleteAll,
    UpdateAll,
    AlterDrop,
    /// Replaces what a table or database holds: `CREATE OR REPLACE TABLE`,
    /// `INSERT OVERWRITE`, `LOAD DATA … OVERWRITE INTO TABLE`.
    Overwrite,
}

impl SqlKind {
    pub fn name(self) -> &'static str {
        match self {
            SqlKind::DropDatabase => "drop-database",
            SqlKind::DropSchema => "drop-schema",
            SqlKind::DropTable => "drop-table",
            SqlKind::DropOther => "drop-other",
            SqlKind::Truncate => "truncate",
            SqlKind::DeleteAll => "delete-all",
            SqlKind::UpdateAll => "update-all",
            SqlKind::AlterDrop => "alter-drop",
            SqlKind::Overwrite => "overwrite",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    pub id: String,
    #[serde(default)]
    pub description: String,
}

/// How a program reads its arguments; specs for one program from several packs merge.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    pub names: Vec<String>,
    #[serde(default)]
    pub value_options: Vec<String>,
    #[serde(default)]
    pub option_style: Option<OptionStyle>,
    #[serde(default)]
    pub sql_options: Vec<String>,
    #[serde(default)]
    pub sql_positional: Option<usize>,
    #[serde(default)]
    pub sql_stdin: bool,
    /// Options whose value is a file of SQL the program runs (`psql -f FILE`).
    #[serde(default)]
    pub sql_file_options: Vec<String>,
    /// Options naming the database the SQL runs in (`psql -d shop`).
    #[serde(default)]
    pub database_options: Vec<String>,
    /// The Nth positional word names the database (`psql shop`, `sqlite3 shop.db`).
    #[serde(default)]
    pub database_positional: Option<usize>,
    /// The database is a file (`sqlite3 app.db`): its name is resolved like a path.
    #[serde(default)]
    pub database_files: bool,
    /// The command itself is SQL: a statement pasted at a shell prompt, or given to
    /// an agent's tool, reads `DROP TABLE users` with `DROP` as its "program".
    #[serde(default)]
    pub sql_command: bool,
    #[serde(default)]
    pub code_options: Vec<String>,
    #[serde(default)]
    pub code_stdin: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub kind: String,
    pub from: TargetFrom,
    #[serde(default)]
    pub skip: usize,
    #[serde(default)]
    pub index: Option<usize>,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Example {
    Line(String),
    Table {
        line: String,
        #[serde(default)]
        shell: Option<String>,
        #[serde(default)]
        cwd: Option<String>,
    },
}

impl Example {
    pub fn line(&self) -> &str {
        match self {
            Example::Line(l) | Example::Table { line: l, .. } => l,
        }
    }

    pub fn shell(&self) -> Option<&str> {
        match self {
            Example::Line(_) => None,
            Example::Table { shell, .. } => shell.as_deref(),
        }
    }

    pub fn cwd(&self) -> Option<&str> {
        match self {
            Example::Line(_) => None,
            Example::Table { cwd, .. } => cwd.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default, rename = "match")]
    pub matching: Vec<Example>,
    #[serde(default)]
    pub no_match: Vec<Example>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: Spanned<String>,
    pub description: String,
    #[serde(default)]
    pub severity: Severity,
    pub programs: Vec<String>,
    #[serde(default)]
    pub subcommand: Vec<String>,
    #[serde(default)]
    pub flags: Vec<Vec<String>>,
    #[serde(default)]
    pub not_flags: Vec<Vec<String>>,
    #[serde(default)]
    pub args_regex: Option<String>,
    #[serde(default)]
    pub args_not_regex: Option<String>,
    #[serde(default)]
    pub sql: Vec<SqlKind>,
    #[serde(default)]
    pub code_regex: Option<String>,
    #[serde(default)]
    pub redirect_regex: Option<String>,
    #[serde(default)]
    pub requires: Requires,
    #[serde(default)]
    pub min_targets: usize,
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
    #[serde(default)]
    pub except_targets: Vec<String>,
    /// Globs (or `@set`s) of precious places. When present, a target that is not
    /// precious (a few plain files named literally, each small, outside these places:
    /// see `docs/git-and-livable.md`) needs no backup.
    #[serde(default)]
    pub precious: Vec<String>,
    #[serde(default)]
    pub approval_phrase: ApprovalPhrase,
    #[serde(default)]
    pub max_age: Option<String>,
    #[serde(default)]
    pub examples: Examples,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideSpec {
    pub rule: Spanned<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub requires: Option<Requires>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub except_targets: Vec<String>,
    #[serde(default)]
    pub max_age: Option<String>,
    #[serde(default)]
    pub locked: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default)]
    pub pack: Option<PackMeta>,
    #[serde(default)]
    pub sets: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "program")]
    pub programs: Vec<ProgramSpec>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
    #[serde(default, rename = "override")]
    pub overrides: Vec<OverrideSpec>,
    #[serde(default, rename = "recipe")]
    pub recipes: Vec<Spanned<RecipeSpec>>,
}

/// How `backstop backup KIND:VALUE` makes, checks and restore-tests a backup of
/// something that is not a path: programs to run, as data (see `policies/README.md`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeSpec {
    /// The prefix people type: `sqlite` for `backstop backup sqlite:app.db`.
    pub kind: String,
    pub description: String,
    /// The rule target kind it backs up (`database`, `wsl-distro`, `registry-key`).
    pub covers: String,
    /// Programs whose targets of that kind this recipe backs up; `*` for any.
    #[serde(default)]
    pub programs: Vec<String>,
    /// How the value is normalised: `name` (as given), `path` (a file, canonicalised),
    /// `registry-key` (root abbreviated, `{target_long}` spelled out).
    #[serde(default)]
    pub value: RecipeValue,
    /// File name extension of the copies.
    pub extension: String,
    /// Steps that make the backup; the last writes it to stdout or to `{out}`.
    pub backup: Vec<RecipeStep>,
    /// Where the backup appears: the last step's `stdout`, or the file `{out}`.
    #[serde(default)]
    pub output: RecipeOutput,
    /// Checks of the new backup (`{out}`), all of which must pass before it is kept.
    #[serde(default)]
    pub check: Vec<RecipeStep>,
    /// A command whose output is recorded in the manifest (row counts, table names)
    /// and compared by restore-test steps with `same_as_record = true`.
    #[serde(default)]
    pub record: Option<RecipeStep>,
    /// Text checks of each copy's first 64 KiB, run whenever coverage is checked.
    #[serde(default)]
    pub content: Vec<String>,
    /// Steps that prove the backup restores, using `{restored}` (a fresh copy of the
    /// backup), `{scratch}` (a name) and `{scratch_dir}`.
    #[serde(default)]
    pub restore_test: Vec<RecipeStep>,
    /// Steps run after the restore test whatever happened (drop the scratch database).
    #[serde(default)]
    pub restore_cleanup: Vec<RecipeStep>,
    /// `backstop restore`: finds something at `{place}`. The place is taken when the
    /// step exits 0 and its output matches `stdout`; anything else means it is free.
    #[serde(default)]
    pub restore_exists: Option<RecipeStep>,
    /// Run when the place is taken: its output says what is there, in the refusal.
    #[serde(default)]
    pub restore_describe: Option<RecipeStep>,
    /// Steps that put a verified copy (`{restored}`) back at `{place}`, checks included.
    /// The first creates the place, and must fail if it exists (`createdb`, `CREATE
    /// DATABASE` without `IF NOT EXISTS`, `wsl --import`). For `value = "path"` kinds
    /// `{restored}` is a new file beside the place, renamed onto it once they all pass.
    #[serde(default)]
    pub restore: Vec<RecipeStep>,
    /// Steps that remove what is at `{place}`: run by `--force` once it is backed up,
    /// and after a failed restore that had created the place.
    #[serde(default)]
    pub restore_remove: Vec<RecipeStep>,
    /// For `value = "path"` kinds: files beside the place that belong to it
    /// (`{place}-wal`); restore treats the place as taken while one exists.
    #[serde(default)]
    pub companions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RecipeValue {
    #[default]
    Name,
    Path,
    RegistryKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RecipeOutput {
    #[default]
    File,
    Stdout,
}

/// One step: run a program (argv, no shell) and/or check a file's text.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RecipeStep {
    /// argv; `{placeholders}` are replaced word by word, never through a shell.
    #[serde(default)]
    pub run: Vec<String>,
    /// A file (placeholders allowed) given to the program as its standard input.
    #[serde(default)]
    pub stdin: Option<String>,
    /// A regex the program's standard output must match.
    #[serde(default)]
    pub stdout: Option<String>,
    /// The output must equal what `record` printed at backup time.
    #[serde(default)]
    pub same_as_record: bool,
    /// A file whose first 64 KiB (UTF-16 decoded when it starts with a BOM) must
    /// match `text`.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

impl RecipeStep {
    /// Every regex of the step, with what it is for.
    pub fn regexes(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.stdout
            .as_deref()
            .map(|r| ("stdout", r))
            .into_iter()
            .chain(self.text.as_deref().map(|r| ("text", r)))
    }
}

/// Placeholders a recipe may use.
pub const RECIPE_PLACEHOLDERS: &[&str] = &[
    "target",
    "target_long",
    "out",
    "restored",
    "scratch",
    "scratch_dir",
    "place",
    "place_dir",
];

/// A recipe as loaded: its spec and where it was written.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub spec: RecipeSpec,
    pub origin: String,
    pub layer: Layer,
    pub line: usize,
}

impl Recipe {
    fn err(&self, message: impl Into<String>) -> Error {
        Error::Recipe {
            origin: self.origin.clone(),
            line: self.line,
            kind: self.spec.kind.clone(),
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        let s = &self.spec;
        if s.kind.is_empty()
            || !s
                .kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(self.err("kind must be lowercase letters, digits and '-'"));
        }
        if self.layer == Layer::Repository {
            return Err(self.err(
                "a repository's .backstop/ may not define recipes: they run programs when you back up; put it in your user policies",
            ));
        }
        if s.backup.is_empty() || s.backup.iter().any(|b| b.run.is_empty()) {
            return Err(self.err("`backup` needs at least one step, each with a `run` argv"));
        }
        let steps = s
            .backup
            .iter()
            .chain(&s.check)
            .chain(&s.record)
            .chain(&s.restore_test)
            .chain(&s.restore_cleanup)
            .chain(&s.restore_exists)
            .chain(&s.restore_describe)
            .chain(&s.restore)
            .chain(&s.restore_remove);
        for step in steps {
            if step.run.is_empty() && step.file.is_none() {
                return Err(self.err("a step needs `run` (a program) or `file` (a text check)"));
            }
            if step.file.is_some() != step.text.is_some() {
                return Err(self.err(
                    "`file` and `text` go together: the file and the regex its text must match",
                ));
            }
            if step.same_as_record && s.record.is_none() {
                return Err(self.err("`same_as_record` needs a `record` step"));
            }
            for (what, re) in step.regexes() {
                compile_bytes_regex(&with_sample_values(re))
                    .map_err(|e| self.err(format!("{what} `{re}` is not a valid regex: {e}")))?;
            }
            if step.stdin.is_some() && step.run.is_empty() {
                return Err(self.err("`stdin` feeds a program: the step needs `run`"));
            }
            for word in step
                .run
                .iter()
                .chain(&step.file)
                .chain(&step.text)
                .chain(&step.stdin)
            {
                check_placeholders(word).map_err(|m| self.err(m))?;
            }
        }
        for re in &s.content {
            compile_bytes_regex(&with_sample_values(re))
                .map_err(|e| self.err(format!("content `{re}` is not a valid regex: {e}")))?;
        }
        if !s.companions.is_empty() && s.value != RecipeValue::Path {
            return Err(self
                .err("`companions` are files beside a file target: they need `value = \"path\"`"));
        }
        for c in &s.companions {
            check_placeholders(c).map_err(|m| self.err(m))?;
            if !c.contains("{place}") {
                return Err(self.err(format!(
                    "companion `{c}` must name a file beside the place, e.g. `{{place}}-wal`"
                )));
            }
        }
        if s.restore_exists.as_ref().is_some_and(|e| e.run.is_empty()) {
            return Err(self.err("`restore_exists` runs a program: it needs `run`"));
        }
        Ok(())
    }
}

/// A recipe regex as it would be run, placeholders standing for a plain word.
fn with_sample_values(re: &str) -> String {
    RECIPE_PLACEHOLDERS
        .iter()
        .fold(re.to_string(), |r, p| r.replace(&format!("{{{p}}}"), "x"))
}

/// `{name}` in a recipe word must be a known placeholder (`{{`/`}}` stay literal).
fn check_placeholders(word: &str) -> std::result::Result<(), String> {
    let mut rest = word;
    while let Some(i) = rest.find('{') {
        if rest[i..].starts_with("{{") {
            rest = &rest[i + 2..];
            continue;
        }
        let Some(end) = rest[i..].find('}') else {
            return Ok(());
        };
        let name = &rest[i + 1..i + end];
        if name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && !name.is_empty()
            && !RECIPE_PLACEHOLDERS.contains(&name)
        {
            let hint = suggest(name, RECIPE_PLACEHOLDERS)
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            return Err(format!(
                "`{{{name}}}` in `{word}` is not a placeholder{hint}; use one of {}",
                RECIPE_PLACEHOLDERS.join(", ")
            ));
        }
        rest = &rest[i + end + 1..];
    }
    Ok(())
}

/// A rule ready to match: its spec plus compiled patterns (compiled on first use).
#[derive(Debug)]
pub struct Rule {
    pub spec: RuleSpec,
    pub origin: String,
    pub layer: Layer,
    pub line: usize,
    pub column: usize,
    pub max_age_secs: u64,
    /// Built from `except_globs` on first use: most rules never need it.
    /// Shared by the rules of a file whose exception lists are the same.
    except: Arc<OnceLock<Option<GlobSet>>>,
    /// The except globs as written (after `@set` expansion), for explanations.
    pub except_globs: Vec<String>,
    /// `DIR/` for each `DIR/**` among them, matched as a string prefix.
    pub(crate) except_prefixes: Vec<String>,
    /// The precious globs as written (after `@set` expansion); empty: every target
    /// is precious.
    pub precious_globs: Vec<String>,
    /// Built from `precious_globs` on first use.
    precious: OnceLock<Option<GlobSet>>,
    pub(crate) subcommands: Vec<Vec<Vec<String>>>,
    compiled: LazyPatterns,
}

/// Each pattern compiles on first use, on its own: a line that fails a rule's
/// `args_regex` never pays for compiling the rule's target regexes.
#[derive(Debug, Default)]
pub(crate) struct LazyPatterns {
    args: OnceLock<Option<Regex>>,
    args_not: OnceLock<Option<Regex>>,
    code: OnceLock<Option<Regex>>,
    redirect: OnceLock<Option<Regex>>,
    targets: OnceLock<Vec<Option<Regex>>>,
}

#[derive(Debug, Default)]
pub(crate) struct CompiledPatterns {
    pub args: Option<Regex>,
    pub args_not: Option<Regex>,
    pub code: Option<Regex>,
    pub redirect: Option<Regex>,
    pub targets: Vec<Option<Regex>>,
}

/// A pattern validated when its policy was loaded (eagerly for user files, by `cargo
/// test` for the built-in packs), so a failure here can only leave it unset.
fn lazy<'a>(cell: &'a OnceLock<Option<Regex>>, text: &Option<String>) -> Option<&'a Regex> {
    cell.get_or_init(|| text.as_deref().and_then(|t| compile_regex(t).ok()))
        .as_ref()
}

/// A parsed, validated policy file.
#[derive(Debug)]
pub struct Policy {
    pub origin: String,
    pub layer: Layer,
    pub meta: Option<PackMeta>,
    pub programs: Vec<ProgramSpec>,
    pub rules: Vec<Rule>,
    pub overrides: Vec<OverrideSpec>,
    pub recipes: Vec<Recipe>,
    /// Byte offset → line/column for overrides, computed at parse time.
    pub(crate) override_pos: Vec<(usize, usize)>,
}

fn compile_regex(text: &str) -> std::result::Result<Regex, regex::Error> {
    RegexBuilder::new(text).size_limit(1 << 22).build()
}

/// Recipe checks read files that may be binary (a dump's header), so they match bytes.
pub fn compile_bytes_regex(text: &str) -> std::result::Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(text)
        .size_limit(1 << 22)
        .build()
}

/// Parse "24h", "30m", "7d", "90s" into seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (num, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(mult)
}

pub const DEFAULT_MAX_AGE_SECS: u64 = 24 * 3600;

/// Target kinds a local backup can be made of (a file or directory archive, a database
/// dump, a disk image, a distro export, a registry export). A rule that requires a
/// backup must name one of these, or nobody could ever satisfy it; remote resources
/// (cloud, cluster, SaaS) are guarded by `approval` instead.
pub const LOCAL_BACKUP_KINDS: &[&str] = &[
    "path",
    "git-repo",
    "block-device",
    "database",
    "table",
    "schema",
    "sql",
    "wsl-distro",
    "registry-key",
    "crontab",
];

impl Rule {
    pub fn id(&self) -> &str {
        self.spec.id.get_ref()
    }

    pub(crate) fn except_set(&self) -> Option<&GlobSet> {
        self.except
            .get_or_init(|| build_globset(self, &self.except_globs).ok().flatten())
            .as_ref()
    }

    /// The precious places, compiled on first use (validated at load).
    pub(crate) fn precious_set(&self) -> Option<&GlobSet> {
        self.precious
            .get_or_init(|| build_precious(self, &self.precious_globs).ok().flatten())
            .as_ref()
    }

    pub(crate) fn args_re(&self) -> Option<&Regex> {
        lazy(&self.compiled.args, &self.spec.args_regex)
    }

    pub(crate) fn args_not_re(&self) -> Option<&Regex> {
        lazy(&self.compiled.args_not, &self.spec.args_not_regex)
    }

    pub(crate) fn code_re(&self) -> Option<&Regex> {
        lazy(&self.compiled.code, &self.spec.code_regex)
    }

    pub(crate) fn redirect_re(&self) -> Option<&Regex> {
        lazy(&self.compiled.redirect, &self.spec.redirect_regex)
    }

    pub(crate) fn target_res(&self) -> &[Option<Regex>] {
        self.compiled.targets.get_or_init(|| {
            self.spec
                .targets
                .iter()
                .map(|t| t.regex.as_deref().and_then(|r| compile_regex(r).ok()))
                .collect()
        })
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::Rule {
            origin: self.origin.clone(),
            line: self.line,
            column: self.column,
            rule: self.id().to_string(),
            message: message.into(),
        }
    }

    /// Compile every pattern now, reporting the first that is invalid.
    pub fn validate(&self) -> Result<()> {
        let compiled = compile_patterns(&self.spec).map_err(|(field, e)| Error::Regex {
            origin: self.origin.clone(),
            line: self.line,
            column: self.column,
            rule: self.id().to_string(),
            field,
            source: Box::new(e),
        })?;
        let _ = self.compiled.args.set(compiled.args);
        let _ = self.compiled.args_not.set(compiled.args_not);
        let _ = self.compiled.code.set(compiled.code);
        let _ = self.compiled.redirect.set(compiled.redirect);
        let _ = self.compiled.targets.set(compiled.targets);
        let globs = build_globset(self, &self.except_globs)?;
        let _ = self.except.set(globs);
        let precious = build_precious(self, &self.precious_globs)?;
        let _ = self.precious.set(precious);
        Ok(())
    }
}

fn compile_patterns(
    spec: &RuleSpec,
) -> std::result::Result<CompiledPatterns, (&'static str, regex::Error)> {
    let opt = |field: &'static str,
               r: &Option<String>|
     -> std::result::Result<Option<Regex>, (&'static str, regex::Error)> {
        r.as_deref()
            .map(compile_regex)
            .transpose()
            .map_err(|e| (field, e))
    };
    Ok(CompiledPatterns {
        args: opt("args_regex", &spec.args_regex)?,
        args_not: opt("args_not_regex", &spec.args_not_regex)?,
        code: opt("code_regex", &spec.code_regex)?,
        redirect: opt("redirect_regex", &spec.redirect_regex)?,
        targets: spec
            .targets
            .iter()
            .map(|t| opt("targets.regex", &t.regex))
            .collect::<std::result::Result<_, _>>()?,
    })
}

const KNOWN_KEYS: &[&str] = &[
    "pack",
    "sets",
    "program",
    "rule",
    "override",
    "id",
    "description",
    "severity",
    "programs",
    "subcommand",
    "flags",
    "not_flags",
    "args_regex",
    "args_not_regex",
    "sql",
    "code_regex",
    "redirect_regex",
    "requires",
    "min_targets",
    "targets",
    "except_targets",
    "precious",
    "approval_phrase",
    "max_age",
    "examples",
    "match",
    "no_match",
    "names",
    "value_options",
    "option_style",
    "sql_options",
    "sql_positional",
    "sql_stdin",
    "sql_file_options",
    "code_options",
    "code_stdin",
    "kind",
    "from",
    "skip",
    "index",
    "options",
    "regex",
    "value",
    "rule",
    "enabled",
    "locked",
    "line",
    "shell",
    "cwd",
    "recipe",
    "database_files",
    "covers",
    "extension",
    "backup",
    "output",
    "check",
    "record",
    "content",
    "restore_test",
    "restore_cleanup",
    "restore_exists",
    "restore_describe",
    "restore",
    "restore_remove",
    "companions",
    "run",
    "stdout",
    "same_as_record",
    "stdin",
    "file",
    "text",
];

/// Turn a TOML/serde error into one that names the place and suggests a fix.
fn syntax_error(origin: &str, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
    let message = e.message().trim().to_string();
    let mut hint = None;
    // serde's "unknown field `x`, expected one of `a`, `b`" / "unknown variant `x`, …".
    if let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    {
        if let Some(end) = rest.find('`') {
            let word = &rest[..end];
            let expected: Vec<&str> = rest[end..].split('`').skip(2).step_by(2).collect();
            let pool: Vec<&str> = if expected.is_empty() {
                KNOWN_KEYS.to_vec()
            } else {
                expected
            };
            hint = suggest(word, &pool);
        }
    }
    Error::Syntax {
        origin: origin.to_string(),
        line,
        column,
        message,
        hint,
    }
}

impl Policy {
    /// Parse and validate a policy file. `eager` compiles every pattern now (user files);
    /// built-in packs compile theirs on first use.
    pub fn parse(origin: &str, layer: Layer, text: &str, eager: bool) -> Result<Policy> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| syntax_error(origin, text, &e))?;
        let mut rules = Vec::with_capacity(file.rules.len());
        let mut seen = std::collections::HashSet::new();
        let mut shared_except: std::collections::HashMap<
            Vec<String>,
            Arc<OnceLock<Option<GlobSet>>>,
        > = std::collections::HashMap::new();
        for spec in file.rules {
            let (line, column) = line_col(text, spec.id.span().start);
            let mut rule = Rule {
                origin: origin.to_string(),
                layer,
                line,
                column,
                max_age_secs: DEFAULT_MAX_AGE_SECS,
                except: Arc::default(),
                except_globs: Vec::new(),
                except_prefixes: Vec::new(),
                precious_globs: Vec::new(),
                precious: OnceLock::new(),
                subcommands: Vec::new(),
                compiled: LazyPatterns::default(),
                spec,
            };
            if !seen.insert(rule.id().to_string()) {
                return Err(
                    rule.err("this id is defined twice in the file; rule ids must be unique")
                );
            }
            if rule.id().is_empty()
                || !rule
                    .id()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(rule.err("ids use letters, digits, '-', '_' and '.' only"));
            }
            if rule.spec.programs.is_empty() {
                return Err(
                    rule.err("`programs` is empty: name the programs it applies to, or \"*\"")
                );
            }
            if let Some(age) = &rule.spec.max_age {
                rule.max_age_secs = parse_duration(age).ok_or_else(|| {
                    rule.err(format!(
                        "max_age `{age}` is not a duration like \"24h\", \"30m\", \"7d\""
                    ))
                })?;
            }
            for t in &rule.spec.targets {
                let needs = match t.from {
                    TargetFrom::Regex if t.regex.is_none() => Some("`regex`"),
                    TargetFrom::Option if t.options.is_empty() => Some("`options`"),
                    TargetFrom::Literal if t.value.is_none() => Some("`value`"),
                    TargetFrom::Code if rule.spec.code_regex.is_none() => {
                        Some("a `code_regex` on the rule")
                    }
                    TargetFrom::Redirect if rule.spec.redirect_regex.is_none() => {
                        Some("a `redirect_regex` on the rule")
                    }
                    _ => None,
                };
                if let Some(what) = needs {
                    return Err(rule
                        .err(format!("a target from `{:?}` needs {what}", t.from).to_lowercase()));
                }
                if t.kind.is_empty()
                    || !t
                        .kind
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    return Err(rule.err(format!(
                        "target kind `{}` must be lowercase letters, digits and '-'",
                        t.kind
                    )));
                }
            }
            rule.precious_globs = expand_set_refs(&rule, &rule.spec.precious, &file.sets)?;
            let globs = expand_sets(&rule, &file.sets)?;
            rule.except = Arc::clone(shared_except.entry(globs.clone()).or_default());
            rule.except_prefixes = globs
                .iter()
                .filter_map(|g| literal_dir_prefix(g))
                .map(|d| format!("{d}/"))
                .collect();
            rule.except_globs = globs;
            rule.subcommands = rule
                .spec
                .subcommand
                .iter()
                .map(|s| {
                    s.split_whitespace()
                        .map(|w| w.split('|').map(str::to_ascii_lowercase).collect())
                        .collect()
                })
                .collect();
            if eager {
                rule.validate()?;
            }
            rules.push(rule);
        }
        let override_pos = file
            .overrides
            .iter()
            .map(|o| line_col(text, o.rule.span().start))
            .collect();
        let mut recipes = Vec::with_capacity(file.recipes.len());
        for r in file.recipes {
            let (line, _) = line_col(text, r.span().start);
            let recipe = Recipe {
                spec: r.into_inner(),
                origin: origin.to_string(),
                layer,
                line,
            };
            recipe.validate()?;
            recipes.push(recipe);
        }
        Ok(Policy {
            origin: origin.to_string(),
            layer,
            meta: file.pack,
            programs: file.programs,
            rules,
            overrides: file.overrides,
            recipes,
            override_pos,
        })
    }
}

fn expand_sets(rule: &Rule, sets: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>> {
    expand_set_refs(rule, &rule.spec.except_targets, sets)
}

fn expand_set_refs(
    rule: &Rule,
    globs: &[String],
    sets: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for g in globs {
        if let Some(name) = g.strip_prefix('@') {
            let set = sets.get(name).ok_or_else(|| {
                let names: Vec<&str> = sets.keys().map(String::as_str).collect();
                let hint = suggest(name, &names).map(|h| format!("; {h}")).unwrap_or_default();
                rule.err(format!("a glob list names the set `@{name}`, which this file's [sets] does not define{hint}"))
            })?;
            out.extend(set.iter().cloned());
        } else {
            out.push(g.clone());
        }
    }
    Ok(out)
}

/// `DIR/**` where DIR has no glob characters: "anything under DIR". Checked as a plain
/// string prefix, which needs no compiling (globset would build an automaton for it).
pub(crate) fn literal_dir_prefix(glob: &str) -> Option<&str> {
    let dir = glob.strip_suffix("/**")?;
    (!dir.is_empty() && !dir.contains(['*', '?', '[', ']', '{', '}', '\\'])).then_some(dir)
}

/// Precious places: `*` stays within one directory (`~/*` is the files directly in
/// the home directory, not everything under it); `**` crosses directories.
pub(crate) fn build_precious(rule: &Rule, globs: &[String]) -> Result<Option<GlobSet>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = globset::GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map_err(|source| Error::Glob {
                origin: rule.origin.clone(),
                line: rule.line,
                column: rule.column,
                rule: rule.id().to_string(),
                glob: g.to_string(),
                source,
            })?;
        b.add(glob);
    }
    b.build().map(Some).map_err(|source| Error::Glob {
        origin: rule.origin.clone(),
        line: rule.line,
        column: rule.column,
        rule: rule.id().to_string(),
        glob: globs.join(", "),
        source,
    })
}

pub(crate) fn build_globset(rule: &Rule, globs: &[String]) -> Result<Option<GlobSet>> {
    let globs: Vec<&String> = globs
        .iter()
        .filter(|g| literal_dir_prefix(g).is_none())
        .collect();
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in &globs {
        let glob = Glob::new(g).map_err(|source| Error::Glob {
            origin: rule.origin.clone(),
            line: rule.line,
            column: rule.column,
            rule: rule.id().to_string(),
            glob: g.to_string(),
            source,
        })?;
        b.add(glob);
    }
    b.build().map(Some).map_err(|source| Error::Glob {
        origin: rule.origin.clone(),
        line: rule.line,
        column: rule.column,
        rule: rule.id().to_string(),
        glob: globs
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[sets]
tmp = ["/tmp/**"]

[[rule]]
id = "t.rm"
description = "rm"
programs = ["rm"]
except_targets = ["@tmp"]
targets = [{ kind = "path", from = "positionals" }]
[rule.examples]
match = ["rm x"]
"#;

    #[test]
    fn parses_a_good_file() {
        let p = Policy::parse("t.toml", Layer::User, GOOD, true).expect("valid");
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].line, 6);
        assert_eq!(p.rules[0].except_globs, vec!["/tmp/**"]);
    }

    #[test]
    fn misspelt_key_names_line_and_suggests() {
        let bad = GOOD.replace(
            "programs = [\"rm\"]",
            "programs = [\"rm\"]\nrequries = \"deny\"",
        );
        let e = Policy::parse("t.toml", Layer::User, &bad, true)
            .expect_err("invalid")
            .to_string();
        assert!(e.starts_with("t.toml:9:1:"), "{e}");
        assert!(e.contains("did you mean `requires`?"), "{e}");
    }

    #[test]
    fn misspelt_value_suggests() {
        let bad = GOOD.replace(
            "programs = [\"rm\"]",
            "programs = [\"rm\"]\nrequires = \"backup-and-aproval\"",
        );
        let e = Policy::parse("t.toml", Layer::User, &bad, true)
            .expect_err("invalid")
            .to_string();
        assert!(e.contains("did you mean `backup-and-approval`?"), "{e}");
    }

    #[test]
    fn bad_regex_names_rule() {
        let bad = GOOD.replace(
            "programs = [\"rm\"]",
            "programs = [\"rm\"]\nargs_regex = \"(\"",
        );
        let e = Policy::parse("t.toml", Layer::User, &bad, true)
            .expect_err("invalid")
            .to_string();
        assert!(
            e.contains("rule `t.rm`: args_regex is not a valid regex"),
            "{e}"
        );
        assert!(e.starts_with("t.toml:6:"), "{e}");
    }

    #[test]
    fn unknown_set_is_an_error() {
        let bad = GOOD.replace("@tmp", "@tpm");
        let e = Policy::parse("t.toml", Layer::User, &bad, true)
            .expect_err("invalid")
            .to_string();
        assert!(
            e.contains("`@tpm`") && e.contains("did you mean `tmp`?"),
            "{e}"
        );
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_dir_prefix("/tmp/**"), Some("/tmp"));
        assert_eq!(literal_dir_prefix("$TMPDIR/**"), Some("$TMPDIR"));
        assert_eq!(literal_dir_prefix("**/build/**"), None);
        assert_eq!(literal_dir_prefix("/tmp/*"), None);
    }

    #[test]
    fn restore_steps_are_checked_like_the_others() {
        let recipe = |extra: &str| {
            format!(
                "[[recipe]]\nkind = \"db\"\ndescription = \"d\"\ncovers = \"database\"\nextension = \"bin\"\nbackup = [{{ run = [\"dump\", \"{{target}}\"] }}]\n{extra}"
            )
        };
        let ok = recipe(
            "restore_exists = { run = [\"list\"], stdout = \"(?m)^{place}$\" }\nrestore = [{ run = [\"load\", \"{place}\", \"{restored}\", \"{place_dir}\"] }]\nrestore_remove = [{ run = [\"drop\", \"{place}\"] }]\n",
        );
        let p = Policy::parse("r.toml", Layer::User, &ok, true).expect("valid");
        assert_eq!(p.recipes[0].spec.restore.len(), 1);
        let e = |extra: &str| {
            Policy::parse("r.toml", Layer::User, &recipe(extra), true)
                .expect_err("invalid")
                .to_string()
        };
        assert!(
            e("restore = [{ run = [\"load\", \"{plcae}\"] }]\n").contains("did you mean `place`"),
            "a misspelt placeholder is named"
        );
        assert!(e("companions = [\"{place}-wal\"]\n").contains("value = \"path\""));
        assert!(e("value = \"path\"\ncompanions = [\"x-wal\"]\n").contains("beside the place"));
        assert!(
            e("restore_exists = { file = \"{place}\", text = \"x\" }\n").contains("needs `run`")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(86400));
        assert_eq!(parse_duration("7d"), Some(604800));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5y"), None);
    }
}
