//! What a command line runs: the dialect-neutral model every shell reader produces.

use std::fmt;

/// One word of a command after quote removal, as the program will receive it.
///
/// Expansions the engine cannot perform (`$VAR`, `$(…)`, globs) are kept as written
/// and flagged, so a rule sees `$HOME/data`, not an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word {
    pub text: String,
    /// Some part of the word was quoted or escaped.
    pub quoted: bool,
    /// The word holds a parameter or command substitution the engine did not expand.
    pub expansion: bool,
    /// The word holds unquoted glob characters (`*`, `?`, `[`).
    pub glob: bool,
    /// The source text of each command substitution in the word (`$(…)`, backticks),
    /// so that `eval "$(…)"` can tell a decoder of a literal from a download.
    pub subst: Vec<String>,
}

impl Word {
    pub fn literal(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            ..Word::default()
        }
    }
}

/// A redirection such as `> FILE` or `2>> log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub op: String,
    pub target: Word,
}

/// What a command reads on standard input, when the line says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Stdin {
    #[default]
    Terminal,
    /// A heredoc, here-string or a literal piped in (`echo 'DROP TABLE t' | psql`).
    Text(String),
    /// Fed by something whose output is not known (a file, another program).
    Unknown,
    /// Fed by a program that downloads (`curl URL | sh`): code fetched at run time.
    Download(String),
}

/// How a command was reached: the engine examines all of them, this is for explanations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Origin {
    #[default]
    Line,
    /// Inside `$(…)`, backticks, `<(…)` or fish `(…)`.
    Substitution,
    /// The command string of `bash -c`, `eval`, `watch`, `wsl -e`, `pwsh -Command` ….
    NestedShell(String),
    /// Run by `find -exec`, `xargs` ….
    RunBy(String),
    /// A shell command found inside inline interpreter code (`os.system("…")`).
    EmbeddedIn(String),
    /// The line could not be fully parsed; these words were recovered from its text.
    TextFallback,
    /// Wrapped more deeply than [`crate::unwrap::peel`] follows within its bound: the
    /// engine examines it as it stands and from each program it names.
    Unpeeled,
    /// A command of a file the line runs: a script, a Makefile recipe, a
    /// `package.json` script, a crontab. The string says what runs it (`make clean`).
    File(String),
    /// A string argument of a program not known to run it, read as a command line
    /// because it names a destructive command (the general net).
    Argument(String),
}

/// The file, and the line in it, a command was read from.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FileLine {
    pub path: String,
    pub line: usize,
}

impl fmt::Display for FileLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.line)
    }
}

/// A container a command runs in (`docker run -v "$PWD:/w" -w /w IMAGE CMD`): its
/// bind mounts map the paths it names back to the host's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Container {
    /// `docker run`, `podman exec` …, for explanations.
    pub label: String,
    /// (path inside the container, host path it mounts), longest container path first.
    /// A host path is absolute, `~/…`, or relative to where the container was started.
    pub mounts: Vec<(String, String)>,
    /// Where the host side was started, for relative host paths.
    pub host_cwd: WorkDir,
}

impl Container {
    /// The host path a path inside the container names, if a bind mount covers it.
    pub fn host_path(&self, inside: &str) -> Option<String> {
        self.mounts.iter().find_map(|(c, h)| {
            let rest = inside.strip_prefix(c.trim_end_matches('/'))?;
            if !rest.is_empty() && !rest.starts_with('/') {
                return None;
            }
            Some(format!("{}{rest}", h.trim_end_matches('/'))).map(|p| {
                if p.is_empty() {
                    "/".to_string()
                } else {
                    p
                }
            })
        })
    }
}

/// The directory a command runs in, as far as the line tells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WorkDir {
    /// The directory the line itself runs in.
    #[default]
    Inherit,
    /// Changed by an earlier `cd DIR` on the line.
    Known(String),
    /// Changed by a `cd` whose argument is not known (`cd "$X"`, `cd -`).
    Unknown,
}

/// A simple command: a program and its arguments, with what surrounds it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// `words[0]` is the program as written (wrappers already peeled by `unwrap`).
    pub words: Vec<Word>,
    /// Leading `NAME=value` assignments.
    pub assignments: Vec<String>,
    pub redirects: Vec<Redirect>,
    pub stdin: Stdin,
    /// Index (in the same script) of the command whose output is piped into this one.
    pub pipe_from: Option<usize>,
    pub origin: Origin,
    /// Wrappers peeled to reach this command (`sudo`, `env`, `xargs` …), outermost first.
    pub via: Vec<String>,
    /// Arguments are appended from standard input at run time (`xargs`).
    pub args_from_stdin: bool,
    /// What those arguments name, when the line says (`find ROOT -name X | xargs`).
    pub stdin_names: Vec<String>,
    /// Where it runs, after any `cd` earlier on the line.
    pub cwd: WorkDir,
    /// The line (from 1) of the text it was read from where it starts; 0 if not known.
    pub line: usize,
    /// The file (and line) it was read from, when it came from one.
    pub file: Option<FileLine>,
    /// The container it runs in, when it runs in one.
    pub container: Option<Box<Container>>,
    /// The shell language it was read in.
    pub dialect: crate::Dialect,
}

/// Follow `cd` (and `pushd`) through a list of commands in the order they run, so that
/// `cd ~ && rm -rf data` targets `~/data`. A `cd` the engine cannot follow makes the
/// directory unknown: relative targets then match no exception.
pub fn track_cd(commands: &mut [Command], start: &WorkDir, home: Option<&str>) {
    let mut dir = start.clone();
    for c in commands.iter_mut() {
        if c.origin != Origin::Line && !matches!(c.origin, Origin::NestedShell(_)) {
            continue;
        }
        c.cwd = dir.clone();
        let program = c
            .words
            .first()
            .map(|w| crate::unwrap::program_name(&w.text))
            .unwrap_or_default();
        if program != "cd" && program != "pushd" {
            continue;
        }
        let arg = c
            .args()
            .iter()
            .find(|w| !w.text.starts_with('-') || w.text == "-");
        dir = match arg {
            None => home.map_or(WorkDir::Unknown, |h| WorkDir::Known(h.to_string())),
            Some(w) if w.expansion || w.text == "-" => WorkDir::Unknown,
            Some(w) => {
                let t = w.text.as_str();
                let expanded = match (t, home) {
                    ("~", Some(h)) => Some(h.to_string()),
                    (t, Some(h)) if t.starts_with("~/") => {
                        Some(format!("{}/{}", h.trim_end_matches('/'), &t[2..]))
                    }
                    (t, _) if t.starts_with('~') => None,
                    (t, _) => Some(t.to_string()),
                };
                match (expanded, &dir) {
                    (None, _) => WorkDir::Unknown,
                    (Some(p), _) if p.starts_with('/') => {
                        WorkDir::Known(crate::engine::fold_dots(&p))
                    }
                    (Some(p), WorkDir::Known(base)) => {
                        WorkDir::Known(crate::engine::fold_dots(&format!("{base}/{p}")))
                    }
                    // Relative to the line's own directory: resolved when it is known.
                    (Some(p), WorkDir::Inherit) => WorkDir::Known(format!("./{p}")),
                    (Some(_), WorkDir::Unknown) => WorkDir::Unknown,
                }
            }
        };
    }
}

impl Command {
    pub fn program(&self) -> Option<&str> {
        self.words.first().map(|w| w.text.as_str())
    }

    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or(&[])
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, w) in self.words.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&display_word(&w.text))?;
        }
        Ok(())
    }
}

/// The words' texts joined by single spaces, as rules' regexes and nested shells see them.
pub fn join_words(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quote a word for display only when it needs it, so explanations read like the shell.
pub fn display_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./~=:,+@%^$*?[]{}".contains(&b) || b >= 0x80);
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Every command a line would run, flattened: the order of execution does not
/// matter to the rules, only what runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<Command>,
    /// The reader hit something it could not parse (an unterminated quote, a missing
    /// `)`, an unknown construct); the engine then also examines the raw text.
    pub incomplete: bool,
}
