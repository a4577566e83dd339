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
