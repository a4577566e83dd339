//! What a shell integration may rule out without starting backstop at all.
//!
//! Starting a process costs a benign line more than deciding it, so bash, zsh and fish
//! first look the line's words up in [`ProgramWords`]: a line that names no program a
//! policy names (nor a shell, wrapper or interpreter that could run one), holds
//! nothing the shell decodes into other words (`\`, `$'…'`), and writes nowhere a
//! redirect rule looks, is one no rule can match. [`ProgramWords::may_match`] is the
//! reference for the shells' code, and the tests hold it to the engine: every line it
//! rules out, the engine allows.

use std::collections::BTreeSet;

use backstop_policies::sections_for;

use crate::dialect::Dialect;
use crate::engine::Engine;

/// The words a line must contain (after quotes are dropped) for a rule to match it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramWords {
    /// Lower-cased program names: those rules and `[[program]]` specs name, and every
    /// wrapper, shell and interpreter the engine looks inside.
    pub words: BTreeSet<String>,
    /// A rule names every program (`programs = ["*"]`) without looking at redirects
    /// only: no line can be ruled out.
    pub every_command: bool,
    /// A rule for every program looks at output redirects: a line with `>` is checked.
    pub redirects: bool,
}

/// Characters that end a word for the lookup, besides whitespace: the shells' command
/// separators and expansions (`$x`, `{a,b}`, `=` in `VAR=x` and zsh's `=rm`).
pub const SEPARATORS: &[char] = &[
    ';', '&', '|', '(', ')', '<', '>', '{', '}', '$', '`', '=', '!', ',',
];

/// Extensions the engine drops from a program name (`rm.exe` is `rm`).
const EXTENSIONS: &[&str] = &[".exe", ".com", ".bat", ".cmd"];

impl Engine {
    /// The words the shells look for before starting backstop on a line.
    pub fn program_words(&self) -> ProgramWords {
        let mut out = ProgramWords::default();
        for (index, pack) in self.enabled_builtin() {
            for p in pack.programs.iter().filter(|p| **p != "*") {
                out.add(p);
            }
            let in_pack = |key: &str| {
                sections_for(key)
                    .iter()
                    .any(|(p, _)| usize::from(*p) == index)
            };
            out.every_command |= in_pack("*");
            out.redirects |= in_pack(">");
        }
        for policy in self.extra_policies() {
            for spec in &policy.programs {
                for name in &spec.names {
                    out.add(name);
                }
            }
            for rule in &policy.rules {
                for p in &rule.spec.programs {
                    if p != "*" {
                        out.add(p);
                    } else if rule.spec.redirect_regex.is_some() {
                        out.redirects = true;
                    } else {
                        out.every_command = true;
                    }
                }
            }
        }
        for name in crate::unwrap::wrapper_names()
            .chain(Dialect::SHELL_PROGRAMS.iter().copied())
            .chain(["find"])
        {
            out.add(name);
        }
        out
    }
}

impl ProgramWords {
    fn add(&mut self, name: &str) {
        // The engine compares ASCII case-insensitively; a shell may lower-case the whole
        // of Unicode, so both forms are looked for.
        self.words.insert(name.to_ascii_lowercase());
        self.words.insert(name.to_lowercase());
    }

    /// Whether a rule could match `line`: what the shell integrations compute with
    /// their own string operations, word for word.
    pub fn may_match(&self, line: &str) -> bool {
        if self.every_command || line.contains('\\') || line.contains("$'") {
            return true;
        }
        if self.redirects && line.contains('>') {
            return true;
        }
        let joined: String = line
            .chars()
            .filter(|c| !matches!(c, '\'' | '"'))
            .collect::<String>()
            .to_ascii_lowercase();
        joined
            .split(|c: char| c.is_whitespace() || SEPARATORS.contains(&c))
            .filter(|w| !w.is_empty())
            .any(|w| self.names(w))
    }

    /// Whether the word, taken as a program (its last path component, with or without
    /// a Windows extension), is one of ours.
    fn names(&self, word: &str) -> bool {
        let base = word.rsplit('/').next().unwrap_or(word);
        self.words.contains(base)
            || EXTENSIONS
                .iter()
                .filter_map(|e| base.strip_suffix(e))
                .any(|stem| self.words.contains(stem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Context, Decision, NoBackups};

    fn words() -> ProgramWords {
        Engine::builtin().program_words()
    }

    #[test]
    fn names_programs_wrappers_and_shells() {
        let w = words();
        for name in [
            "rm", "dd", "git", "psql", "sudo", "env", "xargs", "bash", "pwsh", "drop",
        ] {
            assert!(w.words.contains(name), "{name} missing");
        }
        assert!(!w.every_command, "a built-in rule names every program");
        assert!(w.redirects, "the disk pack's `> /dev/sda` rule");
        assert!(!w.words.contains("ls") && !w.words.contains("echo"));
    }

    #[test]
    fn rules_out_benign_lines_only() {
        let w = words();
        for line in [
            "ls -la",
            "cd /srv/app && make -j8",
            "echo done | cat",
            "vim notes.txt",
            "test -n \"$HOME\"",
        ] {
            assert!(!w.may_match(line), "{line}");
        }
        for line in [
            "r''m -rf d",
            "\"RM\" -rf d",
            "x=1;rm -rf d",
            "/usr/bin/rm -rf d",
            "C:/tools/rm.EXE -rf d",
            "$(rm -rf d)",
            "{rm,-rf,d}",
            "echo hi > /dev/sda",
            "r\\m -rf d",
            "$'\\x72m' -rf d",
            "echo 'rm -rf d' | sh",
            "DROP TABLE users",
        ] {
            assert!(w.may_match(line), "{line}");
        }
    }

    /// The promise the shells rely on: a line ruled out is one the engine allows. Every
    /// built-in example, and variations of it, is held to that.
    #[test]
    fn never_rules_out_what_the_engine_flags() {
        let engine = Engine::builtin();
        let w = engine.program_words();
        let mut lines = Vec::new();
        for policy in engine.all_policies().unwrap() {
            for rule in &policy.rules {
                let ex = &rule.spec.examples;
                for e in ex.matching.iter().chain(&ex.no_match) {
                    if e.shell()
                        .is_some_and(|s| !matches!(s, "bash" | "zsh" | "fish"))
                    {
                        continue;
                    }
                    let line = e.line().to_string();
                    lines.push(line.clone());
                    lines.push(format!("sudo {line}"));
                    lines.push(format!("true; {line}"));
                    lines.push(line.to_uppercase());
                    // Quotes inside the first word: the shell joins them back.
                    if let Some((first, rest)) = line.split_once(' ') {
                        if first.len() > 1 {
                            let (a, b) = first.split_at(1);
                            lines.push(format!("{a}'{b}' {rest}"));
                            lines.push(format!("\"{first}\" {rest}"));
                            lines.push(format!("/opt/bin/{first} {rest}"));
                        }
                        // The arguments alone, and under a harmless program: paths,
                        // SQL and options the engine must not take for a command.
                        lines.push(rest.to_string());
                        lines.push(format!("ls {rest}"));
                        lines.push(format!("echo {rest} | cat"));
                    }
                }
            }
        }
        let ruled_out = assert_sound(&engine, &w, &lines);
        // The test is only worth something if it rules lines out too.
        assert!(ruled_out > 500, "only {ruled_out} lines ruled out");
    }

    /// Lines from `BACKSTOP_SOUNDNESS_CORPUS` (JSON lines with a `cmd` field, paths
    /// separated by `:`), for measuring against collections too big to keep here.
    #[test]
    #[ignore = "reads corpora from outside the repository"]
    fn never_rules_out_what_the_engine_flags_in_corpora() {
        let engine = Engine::builtin();
        let w = engine.program_words();
        let paths =
            std::env::var("BACKSTOP_SOUNDNESS_CORPUS").expect("set BACKSTOP_SOUNDNESS_CORPUS");
        let mut lines = Vec::new();
        for path in paths.split(':') {
            let text = std::fs::read_to_string(path).unwrap();
            for l in text.lines() {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                if let Some(cmd) = v.get("cmd").and_then(|c| c.as_str()) {
                    lines.push(cmd.to_string());
                }
            }
        }
        let ruled_out = assert_sound(&engine, &w, &lines);
        eprintln!("{ruled_out} of {} lines ruled out", lines.len());
    }

    fn assert_sound(engine: &Engine, w: &ProgramWords, lines: &[String]) -> usize {
        let mut ruled_out = 0;
        for line in lines {
            if w.may_match(line) {
                continue;
            }
            ruled_out += 1;
            for dialect in [Dialect::Bash, Dialect::Zsh, Dialect::Fish] {
                let ctx = Context {
                    dialect,
                    cwd: Some("/srv/app"),
                    home: Some("/home/u"),
                    backups: &NoBackups,
                };
                let eval = engine.evaluate(line, &ctx).unwrap();
                assert_eq!(
                    eval.decision,
                    Decision::Allow,
                    "ruled out, yet {dialect} flags `{line}`: {:?}",
                    eval.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
                );
            }
        }
        ruled_out
    }

    #[test]
    fn user_rules_add_their_programs() {
        let src = crate::engine::Source {
            origin: "user.toml".into(),
            layer: crate::Layer::User,
            text: r#"
[[rule]]
id = "me.nuke"
description = "my own"
severity = "high"
programs = ["Nuke-Things"]
requires = "deny"
"#
            .into(),
        };
        let w = Engine::new(vec![src]).unwrap().program_words();
        assert!(w.may_match("nuke-things now"));
        assert!(!w.every_command);
        let every = crate::engine::Source {
            origin: "user.toml".into(),
            layer: crate::Layer::User,
            text: r#"
[[rule]]
id = "me.all"
description = "everything"
severity = "high"
programs = ["*"]
args_regex = "prod"
requires = "deny"
"#
            .into(),
        };
        let w = Engine::new(vec![every]).unwrap().program_words();
        assert!(w.every_command && w.may_match("ls"));
    }
}
