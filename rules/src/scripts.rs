//! The files a line runs: shell scripts (`bash x.sh`, `./x`, a script on `PATH`,
//! `source x`, `sh < x`, `cat x | sh`), the programs interpreters are given
//! (`python3 x.py`), `at -f`, `crontab FILE`, `awk -f`, `expect FILE`, and the task
//! runners (see [`crate::runners`]). Each file is read through the [`FileReader`] of
//! the [`Context`] and its commands are decided as if they were typed, marked with
//! the file and line they come from.
//!
//! A file that is missing runs nothing. A file that exists but cannot be read (larger
//! than [`MAX_SCRIPT_FILE`], binary where text was expected, no permission) becomes
//! the command `backstop-unreadable-file PATH WHY`, which the built-in rule
//! `scripts.unreadable` matches: policy decides what that costs.

use std::collections::HashSet;

use crate::args::ProgramInfo;
use crate::command::{Command, FileLine, Origin, Redirect, Stdin, Word, WorkDir};
use crate::dialect::Dialect;
use crate::engine::{Context, FileText};
use crate::unwrap::program_name;

/// The largest file read; a larger one is not read, and is decided by `scripts.unreadable`.
pub const MAX_SCRIPT_FILE: u64 = 1024 * 1024;

/// Most bytes read from files for one line, however many scripts run scripts.
const READ_BUDGET: u64 = 8 * MAX_SCRIPT_FILE;

/// The program of the command that stands for a file backstop could not read.
pub const UNREADABLE: &str = "backstop-unreadable-file";

/// The program of the command that stands for code fetched at run time (`curl … | sh`).
pub const DOWNLOADED: &str = "backstop-downloaded-code";

/// Directories of the operating system's own programs, installed by its package
/// manager: programs found there on `PATH` are not read as scripts.
pub const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/games",
    "/usr/lib",
    "/usr/libexec",
    "/usr/share",
    "/System",
    "/nix/store",
];

/// Whether a program found on `PATH` at `path` is one whose script backstop reads:
/// anything outside the system's own directories (`~/bin`, `~/.local/bin`,
/// `/usr/local/bin`, `/opt/…`).
pub fn followed_on_path(path: &str) -> bool {
    !SYSTEM_DIRS.iter().any(|d| {
        path.strip_prefix(d)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// What has been read for one line: files already followed are not read again (a
/// script that runs itself, or one run from many places), and the bytes read are capped.
#[derive(Debug, Default)]
pub(crate) struct Seen<'e> {
    files: HashSet<String>,
    bytes: u64,
    /// What `PATH` found for each bare name asked about on this line.
    on_path: std::collections::HashMap<String, Option<String>>,
    /// The engine whose sieve reads large scripts; none: every file is read whole.
    engine: Option<&'e crate::Engine>,
    /// A file was read through the sieve since [`Seen::take_sieved`] was last asked.
    sieved: bool,
}

impl<'e> Seen<'e> {
    pub(crate) fn new(engine: &'e crate::Engine) -> Seen<'e> {
        Seen {
            engine: Some(engine),
            ..Seen::default()
        }
    }

    /// The commands of a script's `text` that could matter, through the engine's sieve
    /// (see [`crate::sieve`]); `None`: read the whole text.
    fn sieved(
        &mut self,
        ctx: &Context,
        text: &str,
        dialect: Dialect,
        args: bool,
    ) -> Option<crate::command::Script> {
        let sieve = self.engine?.file_sieve(text.len())?;
        let mut on_path = |name: &str| {
            self.find_on_path(ctx, name)
                .is_some_and(|p| followed_on_path(&p))
        };
        let script = sieve.commands(text, dialect, args, &mut on_path);
        self.sieved |= script.is_some();
        script
    }

    /// Whether a file was read through the sieve since this was last asked. The
    /// commands the sieve leaves unread could have made a path a later one deletes
    /// (`mkdir ~/x` … `rm -rf ~/x`), so such a file's commands count every path as
    /// possibly made before them.
    pub(crate) fn take_sieved(&mut self) -> bool {
        std::mem::take(&mut self.sieved)
    }

    /// [`crate::FileReader::find_on_path`], asked once per name however often a script runs it.
    pub(crate) fn find_on_path(&mut self, ctx: &Context, name: &str) -> Option<String> {
        if let Some(hit) = self.on_path.get(name) {
            return hit.clone();
        }
        let found = ctx.files.find_on_path(name);
        self.on_path.insert(name.to_string(), found.clone());
        found
    }

    /// Read `path` unless it was read already (`None`). Past the budget a file is not
    /// read, and counts as one that cannot be (what it runs is unknown).
    pub(crate) fn read(&mut self, ctx: &Context, path: &str) -> Option<FileText> {
        if !self.files.insert(path.to_string()) {
            return None;
        }
        if self.bytes >= READ_BUDGET {
            return Some(FileText::OverBudget);
        }
        let text = ctx.files.read_text(path, MAX_SCRIPT_FILE);
        if let FileText::Text(t) = &text {
            self.bytes += t.len() as u64;
        }
        Some(text)
    }
}

/// How a file is run: by a shell in some dialect, or by an interpreter of another language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Runs {
    Shell(Dialect),
    Interpreter(String),
    /// A file whose language backstop does not read (`#!/usr/bin/awk -f` …).
    Other,
}

/// Interpreters whose programs are matched by the packs' `code_regex` rules.
const INTERPRETERS: &[&str] = &[
    "python", "python2", "python3", "pypy", "pypy3", "perl", "ruby", "jruby", "node", "nodejs",
    "bun", "php", "rscript", "julia",
];

fn runs_program(name: &str) -> Option<Runs> {
    let name = program_name(name);
    if let Some(d) = Dialect::of_program(&name) {
        return Some(Runs::Shell(d));
    }
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if INTERPRETERS.contains(&name.as_str()) || (base == "python" && name != base) {
        return Some(Runs::Interpreter(name));
    }
    None
}

/// The language of a file: its `#!` line, else its extension, else `default`.
pub(crate) fn runs_file(path: &str, text: &str, default: Option<Runs>) -> Runs {
    if let Some(first) = text.strip_prefix("#!").and_then(|t| t.lines().next()) {
        let mut words = first.split_whitespace();
        let mut prog = words.next().unwrap_or_default();
        if program_name(prog) == "env" {
            // `#!/usr/bin/env -S bash -e`, `#!/usr/bin/env VAR=1 python3`
            prog = words
                .find(|w| !w.starts_with('-') && !w.contains('='))
                .unwrap_or_default();
        }
        return runs_program(prog).unwrap_or(Runs::Other);
    }
    let ext = path
        .rsplit(['/', '\\'])
        .next()
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    let by_ext = match ext.as_deref() {
        Some("sh" | "bash" | "ksh" | "dash") => Some(Runs::Shell(Dialect::Bash)),
        Some("zsh") => Some(Runs::Shell(Dialect::Zsh)),
        Some("fish") => Some(Runs::Shell(Dialect::Fish)),
        Some("ps1" | "psm1") => Some(Runs::Shell(Dialect::PowerShell)),
        Some("bat" | "cmd") => Some(Runs::Shell(Dialect::Cmd)),
        Some("nu") => Some(Runs::Shell(Dialect::Nu)),
        Some("py") => Some(Runs::Interpreter("python3".into())),
        Some("js" | "mjs" | "cjs") => Some(Runs::Interpreter("node".into())),
        Some("rb") => Some(Runs::Interpreter("ruby".into())),
        Some("pl") => Some(Runs::Interpreter("perl".into())),
        Some("php") => Some(Runs::Interpreter("php".into())),
        _ => None,
    };
    // A text file with neither runs in the shell that executes it (`sh` for `./x`).
    by_ext.or(default).unwrap_or(Runs::Shell(Dialect::Bash))
}

/// The absolute directory a command runs in, when it is known.
pub(crate) fn dir_of(cmd: &Command, ctx: &Context) -> Option<String> {
    match &cmd.cwd {
        WorkDir::Inherit => ctx.cwd.map(str::to_string),
        WorkDir::Unknown => None,
        WorkDir::Known(d) if d.starts_with("./") => ctx
            .cwd
            .map(|base| crate::engine::fold_dots(&format!("{base}/{d}"))),
        WorkDir::Known(d) => Some(d.clone()),
    }
}

/// The absolute path a file name on the line names, or `None` when the line cannot
/// settle it (`$F`, a glob, a relative name where the directory is not known).
pub(crate) fn resolve(name: &str, dir: Option<&str>, ctx: &Context) -> Option<String> {
    if name.is_empty() || name == "-" || name.contains(['$', '*', '?', '`']) {
        return None;
    }
    let name = name.replace('\\', "/");
    let home = ctx.home.map(|h| h.trim_end_matches('/'));
    let path = if name == "~" {
        home?.to_string()
    } else if let Some(rest) = name.strip_prefix("~/") {
        format!("{}/{rest}", home?)
    } else if name.starts_with('/') || crate::registry::is_drive_qualified(&name) {
        name
    } else if name.starts_with('~') {
        return None;
    } else {
        format!("{}/{name}", dir?.trim_end_matches('/'))
    };
    Some(crate::engine::fold_dots(&path))
}

/// What one file of the line runs, ready for the engine: commands and the dialect
/// they were read in (wrappers not yet peeled).
pub(crate) type Expanded = Vec<Command>;

/// The command that stands for a file that exists but could not be read.
fn unreadable(outer: &Command, path: &str, why: &str, label: &str) -> Command {
    let mut c = Command {
        words: vec![
            Word::literal(UNREADABLE),
            Word::literal(path),
            Word::literal(why),
        ],
        origin: Origin::File(label.to_string()),
        cwd: outer.cwd.clone(),
        via: outer.via.clone(),
        file: outer.file.clone(),
        dialect: outer.dialect,
        ..Command::default()
    };
    c.via.push(label.to_string());
    c
}

/// The command that stands for code fetched at run time and run (`curl … | sh`).
pub(crate) fn downloaded(outer: &Command, how: &str) -> Command {
    let mut c = Command {
        words: vec![Word::literal(DOWNLOADED), Word::literal(how)],
        origin: outer.origin.clone(),
        cwd: outer.cwd.clone(),
        via: outer.via.clone(),
        file: outer.file.clone(),
        dialect: outer.dialect,
        line: outer.line,
        ..Command::default()
    };
    c.via.push(how.to_string());
    c
}

/// Why a file that exists could not be read, or `None` when it can be (or is missing,
/// or not a file at all: neither runs anything backstop could see).
fn unreadable_why(text: &FileText, binary_counts: bool) -> Option<&'static str> {
    match text {
        FileText::TooLarge => Some("larger than 1 MiB"),
        FileText::Binary if binary_counts => Some("not text"),
        FileText::Denied => Some("not readable"),
        FileText::OverBudget => Some("not read: the files this line runs hold more than 8 MiB"),
        _ => None,
    }
}

/// The commands of a text in some dialect, as the file at `path` runs them: from the
/// directory `cwd`, with `args` as its positional parameters, marked with the file
/// and line each comes from.
pub(crate) fn commands_of_text(
    outer: &Command,
    text: &str,
    dialect: Dialect,
    path: &str,
    label: &str,
    cwd: WorkDir,
    args: &[Word],
) -> Expanded {
    commands_of_script(
        outer,
        dialect.parse(text),
        text,
        dialect,
        path,
        label,
        cwd,
        args,
    )
}

/// [`commands_of_text`] of a text already parsed (whole, or through the sieve).
#[allow(clippy::too_many_arguments)]
fn commands_of_script(
    outer: &Command,
    mut script: crate::command::Script,
    text: &str,
    dialect: Dialect,
    path: &str,
    label: &str,
    cwd: WorkDir,
    args: &[Word],
) -> Expanded {
    crate::engine::resolve_piped_stdin(&mut script.commands, dialect);
    crate::command::track_cd(&mut script.commands, &cwd, None);
    crate::dynamic::follow(&mut script.commands, dialect, args);
    // In place: commands are large, and a script has thousands.
    for c in &mut script.commands {
        let mut via = outer.via.clone();
        via.push(label.to_string());
        via.append(&mut c.via);
        c.via = via;
        c.file = Some(FileLine {
            path: path.to_string(),
            line: c.line,
        });
        if c.origin == Origin::Line {
            c.origin = Origin::File(label.to_string());
        }
        if c.cwd == WorkDir::Inherit {
            c.cwd = cwd.clone();
        }
        c.container.clone_from(&outer.container);
    }
    let mut out = script.commands;
    if script.incomplete {
        for mut c in crate::text::fallback_commands(text) {
            c.file = Some(FileLine {
                path: path.to_string(),
                line: 0,
            });
            c.cwd = cwd.clone();
            out.push(c);
        }
    }
    out
}

/// A file's text run by `runs`: shell commands, or an interpreter's program (a command
/// of the interpreter with the program as its stdin, where the `code_regex` rules
/// and the shell strings inside it are looked at).
#[allow(clippy::too_many_arguments)]
fn run_text(
    outer: &Command,
    runs: Runs,
    text: &str,
    path: &str,
    shown: &str,
    label: &str,
    cwd: WorkDir,
    args: &[Word],
    ctx: &Context,
    seen: &mut Seen,
) -> Expanded {
    match runs {
        Runs::Shell(d) => {
            let script = seen
                .sieved(ctx, text, d, !args.is_empty())
                .unwrap_or_else(|| d.parse(text));
            commands_of_script(outer, script, text, d, path, label, cwd, args)
        }
        Runs::Interpreter(prog) => {
            let mut c = outer.clone();
            c.words = vec![Word::literal(prog), Word::literal(shown)];
            c.words.extend(args.iter().cloned());
            c.stdin = Stdin::Text(text.to_string());
            c.redirects.clear();
            c.pipe_from = None;
            c.origin = Origin::File(label.to_string());
            c.file = Some(FileLine {
                path: path.to_string(),
                line: 0,
            });
            c.cwd = cwd;
            c.via.push(label.to_string());
            vec![c]
        }
        Runs::Other => Vec::new(),
    }
}

/// Names of the shells' builtins and keywords: never looked up on `PATH`.
pub(crate) const BUILTINS: &[&str] = &[
    "cd",
    "echo",
    "printf",
    "test",
    "[",
    "[[",
    "true",
    "false",
    ":",
    "export",
    "local",
    "declare",
    "typeset",
    "readonly",
    "unset",
    "set",
    "shift",
    "return",
    "exit",
    "read",
    "alias",
    "unalias",
    "type",
    "hash",
    "pwd",
    "pushd",
    "popd",
    "dirs",
    "jobs",
    "fg",
    "bg",
    "wait",
    "kill",
    "trap",
    "umask",
    "ulimit",
    "let",
    "shopt",
    "history",
    "fc",
    "getopts",
    "source",
    ".",
    "function",
    "if",
    "then",
    "else",
    "fi",
    "for",
    "while",
    "do",
    "done",
    "case",
    "esac",
    "until",
    "select",
    "disown",
    "suspend",
    "logout",
    "times",
    "help",
    "enable",
    "mapfile",
    "readarray",
    "compgen",
    "complete",
    "caller",
    "bind",
    "end",
    "begin",
    "and",
    "or",
    "not",
    "functions",
    "abbr",
    "emit",
    "contains",
    "string",
    "math",
    "status",
];

/// What a command runs from files, read and turned into commands; empty when it runs
/// none (or they are missing, or already followed for this line).
pub(crate) fn expand(
    cmd: &Command,
    program: &str,
    info: &ProgramInfo,
    known: bool,
    ctx: &Context,
    seen: &mut Seen,
) -> Expanded {
    let Some(first) = cmd.words.first() else {
        return Vec::new();
    };
    let args = cmd.args();
    let dir = dir_of(cmd, ctx);
    let dir = dir.as_deref();
    let here = cmd.cwd.clone();

    // Task runners.
    match program {
        "make" | "gmake" => return crate::runners::make(cmd, ctx, seen),
        "just" => return crate::runners::just(cmd, ctx, seen),
        "npm" | "pnpm" | "yarn" | "bun" => {
            let out = crate::runners::npm(cmd, program, ctx, seen);
            if !out.is_empty() || program != "bun" {
                return out;
            }
        }
        "git" => return crate::indirect::git_config_alias(cmd, ctx, seen),
        _ => {}
    }

    // A shell given a script: `bash x.sh`, `sh -s < x`, `cat x | sh`, `pwsh -File x.ps1`.
    if let Some(shell) = Dialect::of_program(program) {
        let (file, rest, from_stdin) = shell_script_arg(cmd, shell);
        let name = match (&file, from_stdin) {
            (Some(f), _) => Some(f.text.clone()),
            (None, true) => stdin_file(cmd),
            (None, false) => None,
        };
        let Some(name) = name else {
            return Vec::new();
        };
        let label = format!("{program} {}", crate::command::display_word(&name));
        return run_file(
            cmd,
            &name,
            dir,
            Some(Runs::Shell(shell)),
            true,
            &label,
            here,
            rest,
            ctx,
            seen,
            true,
        );
    }

    // `source x`, `. x` (and PowerShell's `. .\x.ps1`), cmd's `call x.bat`.
    if matches!(program, "source" | "." | "call" | "source-env") {
        let Some(f) = args.first() else {
            return Vec::new();
        };
        let runs = match (program, cmd.dialect) {
            ("call", _) => Runs::Shell(Dialect::Cmd),
            ("source-env", _) => Runs::Shell(Dialect::Nu),
            (_, d) if d != Dialect::Cmd => Runs::Shell(d),
            _ => Runs::Shell(Dialect::Bash),
        };
        let label = format!("{program} {}", crate::command::display_word(&f.text));
        let mut name = f.text.clone();
        // bash looks a name without a slash up on PATH when it is not in the directory.
        if !name.contains(['/', '\\']) {
            let local = resolve(&name, dir, ctx);
            let present = local
                .as_deref()
                .is_some_and(|p| !matches!(ctx.files.read_text(p, 0), FileText::Missing));
            if !present {
                if let Some(found) = seen.find_on_path(ctx, &name) {
                    name = found;
                }
            }
        }
        return run_file(
            cmd,
            &name,
            dir,
            Some(runs),
            false,
            &label,
            here,
            &args[1..],
            ctx,
            seen,
            true,
        );
    }

    // An interpreter given its program in a file: `python3 x.py`, `node x.js`; or
    // reading one being downloaded (`curl … | python3`).
    if !info.code_options.is_empty() {
        if let Stdin::Download(how) = &cmd.stdin {
            // `curl … | python3 -m json.tool` runs a module on the data, not the data.
            let module = cmd.args().iter().any(|a| a.text.starts_with("-m"));
            if !module && interpreter_file(cmd, info).is_none() && !has_code_option(cmd, info) {
                return vec![downloaded(cmd, &format!("{how} | {program}"))];
            }
        }
        if let Some((file, rest)) = interpreter_file(cmd, info) {
            let label = format!("{program} {}", crate::command::display_word(&file.text));
            let runs = Runs::Interpreter(program.to_string());
            return run_file(
                cmd,
                &file.text,
                dir,
                Some(runs),
                true,
                &label,
                here,
                rest,
                ctx,
                seen,
                true,
            );
        }
        return Vec::new();
    }

    // Programs that run a file of commands in another language.
    match program {
        "at" | "batch" => {
            // The job's commands: from `-f FILE`, else from standard input.
            let job = option_value(args, &["-f"])
                .map(|f| (format!("{program} -f {f}"), f))
                .or_else(|| stdin_file(cmd).map(|f| (format!("{program} < {f}"), f)));
            let Some((label, f)) = job else {
                return Vec::new();
            };
            return run_file(
                cmd,
                &f,
                dir,
                Some(Runs::Shell(Dialect::Bash)),
                true,
                &label,
                here,
                &[],
                ctx,
                seen,
                true,
            );
        }
        "crontab" => {
            let file = crate::indirect::crontab_file_arg(args).or_else(|| stdin_file(cmd));
            if let Some(f) = file {
                let Some(path) = resolve(&f, dir, ctx) else {
                    return Vec::new();
                };
                let label = format!("crontab {}", crate::command::display_word(&f));
                return match seen.read(ctx, &path) {
                    Some(FileText::Text(t)) => {
                        let jobs = crate::indirect::crontab_commands(&t);
                        jobs.into_iter()
                            .flat_map(|(line, text)| {
                                let mut cs = commands_of_text(
                                    cmd,
                                    &text,
                                    Dialect::Bash,
                                    &path,
                                    &label,
                                    WorkDir::Unknown,
                                    &[],
                                );
                                cs.iter_mut().for_each(|c| {
                                    if let Some(f) = &mut c.file {
                                        f.line = line;
                                    }
                                });
                                cs
                            })
                            .collect()
                    }
                    Some(t) => unreadable_why(&t, true)
                        .map(|why| vec![unreadable(cmd, &path, why, &label)])
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
            }
            return Vec::new();
        }
        "awk" | "gawk" | "mawk" | "nawk" => {
            if let Some(f) = option_value(args, &["-f", "--file"]) {
                return read_then(cmd, &f, dir, &format!("{program} -f {f}"), ctx, seen, |t| {
                    crate::indirect::awk_shell_strings(t)
                });
            }
            return Vec::new();
        }
        "expect" => {
            let file = option_value(args, &["-f"]).or_else(|| {
                args.iter()
                    .find(|a| !a.text.starts_with('-'))
                    .filter(|_| !args.iter().any(|a| a.text == "-c"))
                    .map(|a| a.text.clone())
            });
            if let Some(f) = file {
                return read_then(cmd, &f, dir, &format!("expect {f}"), ctx, seen, |t| {
                    crate::indirect::expect_shell_strings(t)
                });
            }
            return Vec::new();
        }
        "gdb" => {
            if let Some(f) = option_value(args, &["-x", "--command"]) {
                return read_then(cmd, &f, dir, &format!("gdb -x {f}"), ctx, seen, |t| {
                    t.lines()
                        .enumerate()
                        .filter_map(|(i, l)| {
                            crate::indirect::gdb_shell_command(l).map(|s| (i + 1, s))
                        })
                        .collect()
                });
            }
            return Vec::new();
        }
        _ => {}
    }

    if known || first.expansion || first.text.is_empty() {
        return Vec::new();
    }
    // A file run by its path (`./x`, `~/bin/x`, `.\x.ps1`), or a bare name found on PATH
    // (cmd also runs `x.bat` from the current directory).
    let by_path = first.text.contains(['/', '\\']);
    let name = if by_path {
        first.text.clone()
    } else if BUILTINS.contains(&first.text.as_str()) {
        return Vec::new();
    } else if cmd.dialect == Dialect::Cmd
        && resolve(&first.text, dir, ctx)
            .is_some_and(|p| !matches!(ctx.files.read_text(&p, 0), FileText::Missing))
    {
        first.text.clone()
    } else {
        match seen.find_on_path(ctx, &first.text) {
            Some(p) if followed_on_path(&p) => p,
            _ => return Vec::new(),
        }
    };
    let label = crate::command::display_word(&first.text);
    run_file(
        cmd, &name, dir, None, false, &label, here, args, ctx, seen, false,
    )
}

/// Read the file `name` and run its text with `runs` (or what its `#!` line or
/// extension says); `binary_counts`: a binary file is unreadable (given to a shell or
/// an interpreter) rather than a program (run by its path).
#[allow(clippy::too_many_arguments)]
fn run_file(
    cmd: &Command,
    name: &str,
    dir: Option<&str>,
    runs: Option<Runs>,
    binary_counts: bool,
    label: &str,
    cwd: WorkDir,
    args: &[Word],
    ctx: &Context,
    seen: &mut Seen,
    explicit: bool,
) -> Expanded {
    let Some(path) = resolve(name, dir, ctx) else {
        return Vec::new();
    };
    match seen.read(ctx, &path) {
        Some(FileText::Text(text)) => {
            // A shell or interpreter named on the line decides, not the `#!` line.
            let runs = match runs {
                Some(r) if explicit => r,
                r => runs_file(&path, &text, r),
            };
            run_text(cmd, runs, &text, &path, name, label, cwd, args, ctx, seen)
        }
        Some(t) => unreadable_why(&t, binary_counts)
            .map(|why| vec![unreadable(cmd, &path, why, label)])
            .unwrap_or_default(),
        None => Vec::new(),
    }
}

/// Read a file in another language and decide the shell commands `extract` finds in it.
fn read_then(
    cmd: &Command,
    name: &str,
    dir: Option<&str>,
    label: &str,
    ctx: &Context,
    seen: &mut Seen,
    extract: impl Fn(&str) -> Vec<(usize, String)>,
) -> Expanded {
    let Some(path) = resolve(name, dir, ctx) else {
        return Vec::new();
    };
    match seen.read(ctx, &path) {
        Some(FileText::Text(t)) => extract(&t)
            .into_iter()
            .flat_map(|(line, s)| {
                let mut cs =
                    commands_of_text(cmd, &s, Dialect::Bash, &path, label, cmd.cwd.clone(), &[]);
                cs.iter_mut().for_each(|c| {
                    if let Some(f) = &mut c.file {
                        f.line = line;
                    }
                });
                cs
            })
            .collect(),
        Some(t) => unreadable_why(&t, true)
            .map(|why| vec![unreadable(cmd, &path, why, label)])
            .unwrap_or_default(),
        None => Vec::new(),
    }
}

/// The value of the first of `names` (`-f FILE`, `-fFILE`, `--file=FILE`).
pub(crate) fn option_value(args: &[Word], names: &[&str]) -> Option<String> {
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        if t == "--" {
            return None;
        }
        for n in names {
            if t == *n {
                return args.get(i + 1).map(|w| w.text.clone());
            }
            if n.starts_with("--") {
                if let Some(v) = t.strip_prefix(n).and_then(|r| r.strip_prefix('=')) {
                    return Some(v.to_string());
                }
            } else if let Some(v) = t.strip_prefix(n).filter(|v| !v.is_empty()) {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// The file a command's stdin is redirected from (`sh < x`, and `cat x | sh`, which
/// the engine writes as that redirection).
fn stdin_file(cmd: &Command) -> Option<String> {
    if matches!(cmd.stdin, Stdin::Text(_)) {
        return None;
    }
    cmd.redirects
        .iter()
        .rev()
        .find(|r: &&Redirect| r.op == "<" && !r.target.expansion && !r.target.glob)
        .map(|r| r.target.text.clone())
}

/// A shell's script argument: the file, the words after it (its `$1` …), and
/// whether it reads its script from stdin instead (no file, or `-s`).
fn shell_script_arg(cmd: &Command, shell: Dialect) -> (Option<&Word>, &[Word], bool) {
    let args = cmd.args();
    match shell {
        Dialect::PowerShell => {
            use crate::powershell::{host_parameter, HostParam};
            let mut i = 0;
            while let Some(a) = args.get(i) {
                match (!a.quoted).then(|| host_parameter(&a.text)).flatten() {
                    Some(HostParam::File) => {
                        return (args.get(i + 1), args.get(i + 2..).unwrap_or(&[]), false)
                    }
                    Some(HostParam::Value) => i += 2,
                    Some(HostParam::Switch) => i += 1,
                    // `-Command`, `-EncodedCommand` are read by the unwrapper; a bare
                    // first argument is a file for pwsh, a command for powershell.exe.
                    Some(_) => return (None, &[], false),
                    None => {
                        let ps1 = a.text.to_ascii_lowercase().ends_with(".ps1");
                        return if ps1 {
                            (Some(a), args.get(i + 1..).unwrap_or(&[]), false)
                        } else {
                            (None, &[], false)
                        };
                    }
                }
            }
            (None, &[], true)
        }
        Dialect::Cmd => (None, &[], false),
        _ => {
            let mut i = 0;
            let mut from_stdin = false;
            while let Some(a) = args.get(i) {
                let t = a.text.as_str();
                if t == "--" || t == "-" {
                    i += 1;
                    break;
                }
                if (t.starts_with('-') || t.starts_with('+')) && !a.quoted {
                    if t.starts_with('-') && !t.starts_with("--") {
                        if t.contains('c') {
                            // `-c STRING`: the unwrapper reads it.
                            return (None, &[], false);
                        }
                        from_stdin |= t.contains('s');
                    }
                    if matches!(
                        t,
                        "-o" | "+o"
                            | "-O"
                            | "+O"
                            | "--rcfile"
                            | "--init-file"
                            | "-C"
                            | "--init-command"
                    ) {
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                break;
            }
            if from_stdin {
                return (None, &[], true);
            }
            match args.get(i) {
                Some(f) => (Some(f), args.get(i + 1..).unwrap_or(&[]), false),
                None => (None, &[], true),
            }
        }
    }
}

fn has_code_option(cmd: &Command, info: &ProgramInfo) -> bool {
    cmd.args().iter().any(|a| {
        info.code_options
            .iter()
            .any(|o| a.text == *o || a.text.starts_with(&format!("{o}=")))
    })
}

/// The program file an interpreter runs, with the words after it: its first
/// positional argument, unless the code is given inline (`-c`, `-e`) or a module is
/// run (`python -m x`).
fn interpreter_file<'a>(cmd: &'a Command, info: &ProgramInfo) -> Option<(&'a Word, &'a [Word])> {
    let args = cmd.args();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        let name = t.split('=').next().unwrap_or(t);
        if info
            .code_options
            .iter()
            .any(|o| o == name || t.starts_with(o.as_str()) && !t.starts_with("--") && o.len() == 2)
            || matches!(t, "-m" | "-")
        {
            return None;
        }
        let takes = info.value_options.iter().any(|o| o == name) && !t.contains('=');
        i += if takes { 2 } else { 1 };
    }
    let f = args.get(i)?;
    if f.text == "-" {
        return None;
    }
    Some((f, args.get(i + 1..).unwrap_or(&[])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_from_shebang_and_extension() {
        assert_eq!(
            runs_file("x", "#!/usr/bin/env -S bash -e\nrm x", None),
            Runs::Shell(Dialect::Bash)
        );
        assert_eq!(
            runs_file("x", "#!/usr/bin/python3.12\n", None),
            Runs::Interpreter("python3.12".into())
        );
        assert_eq!(
            runs_file("x", "#!/usr/bin/zsh\n", None),
            Runs::Shell(Dialect::Zsh)
        );
        assert_eq!(runs_file("x", "#!/usr/bin/awk -f\n", None), Runs::Other);
        assert_eq!(
            runs_file("a/x.ps1", "rm x", None),
            Runs::Shell(Dialect::PowerShell)
        );
        assert_eq!(
            runs_file("C:\\a\\X.BAT", "del x", None),
            Runs::Shell(Dialect::Cmd)
        );
        assert_eq!(
            runs_file("x.js", "", None),
            Runs::Interpreter("node".into())
        );
        assert_eq!(
            runs_file("x", "rm -rf data", None),
            Runs::Shell(Dialect::Bash)
        );
    }

    #[test]
    fn system_directories_are_not_followed() {
        assert!(!followed_on_path("/usr/bin/which"));
        assert!(!followed_on_path("/bin/zcat"));
        assert!(followed_on_path("/usr/local/bin/cleanup"));
        assert!(followed_on_path("/home/u/bin/nuke"));
        assert!(followed_on_path("/usr/binx/y"));
    }
}
