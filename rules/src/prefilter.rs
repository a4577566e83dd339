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
    /// A rule for every program looks at output redirects (`> /dev/sda`).
    pub redirects: bool,
    /// What every redirect such a rule matches starts with (`/dev/sd`, …): a line with
    /// `>` but none of these is ruled out. `None`: some rule's regex has no such
    /// literals, and every line with `>` is checked.
    pub redirect_literals: Option<BTreeSet<String>>,
}

/// Characters that end a word for the lookup, besides whitespace: the shells' command
/// separators and expansions (`$x`, `{a,b}`, `=` in `VAR=x` and zsh's `=rm`).
pub const SEPARATORS: &[char] = &[
    ';', '&', '|', '(', ')', '<', '>', '{', '}', '$', '`', '=', '!', ',',
];

/// Extensions the engine drops from a program name (`rm.exe` is `rm`).
const EXTENSIONS: &[&str] = &[".exe", ".com", ".bat", ".cmd"];

/// What starts a command, for finding the words at command position.
pub const COMMAND_SEPARATORS: &[char] = &[';', '&', '|', '(', ')', '{', '}', '`', '\n'];

/// Reserved words after which a command still starts (`then ./x`, fish's `and ./x`).
pub const KEYWORDS: &[&str] = &[
    "!", "then", "do", "else", "elif", "if", "while", "until", "time", "and", "or", "not", "begin",
];

/// Programs the engine reads more of than their words: task runners, programs that
/// run a command string, containers, and `source`.
pub const INDIRECT_PROGRAMS: &[&str] = &[
    "make",
    "gmake",
    "just",
    "npm",
    "pnpm",
    "yarn",
    "bun",
    "script",
    "tmux",
    "screen",
    "at",
    "batch",
    "systemd-run",
    "crontab",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "vim",
    "nvim",
    "vi",
    "ex",
    "view",
    "gvim",
    "vimdiff",
    "nvi",
    "gdb",
    "expect",
    "git",
    "docker",
    "podman",
    "nerdctl",
    "docker-compose",
    "podman-compose",
    "noglob",
    "nocorrect",
    "source",
    "call",
];

impl Engine {
    /// The words the shells look for before starting backstop on a line.
    pub fn program_words(&self) -> ProgramWords {
        let mut out = ProgramWords {
            redirect_literals: Some(BTreeSet::new()),
            ..ProgramWords::default()
        };
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
        }
        match self.builtin_for_every_program() {
            Ok(policies) => policies.iter().for_each(|p| out.add_every_program_rules(p)),
            // Cannot happen for packs that built; if it did, rule nothing out.
            Err(_) => out.every_command = true,
        }
        for policy in self.extra_policies() {
            for spec in &policy.programs {
                for name in &spec.names {
                    out.add(name);
                }
            }
            for rule in &policy.rules {
                for p in rule.spec.programs.iter().filter(|p| *p != "*") {
                    out.add(p);
                }
            }
            out.add_every_program_rules(policy);
        }
        for name in crate::unwrap::wrapper_names()
            .chain(Dialect::SHELL_PROGRAMS.iter().copied())
            .chain(INDIRECT_PROGRAMS.iter().copied())
            .chain(["find", "backstop"])
        {
            out.add(name);
        }
        if !out.redirects {
            out.redirect_literals = None;
        }
        if let Some(l) = &mut out.redirect_literals {
            *l = shorten(std::mem::take(l));
        }
        out
    }
}

/// Fewer literals that rule out as much: where three or more differ only in their
/// last character (`/dev/sd0` … `/dev/sd9`) the common prefix stands for them, and a
/// literal that holds another is dropped, since a line holding it holds the other.
fn shorten(mut lits: BTreeSet<String>) -> BTreeSet<String> {
    loop {
        let mut parents: std::collections::BTreeMap<&str, usize> = Default::default();
        for l in &lits {
            if let Some((i, _)) = l.char_indices().last().filter(|(i, _)| *i > 0) {
                *parents.entry(&l[..i]).or_default() += 1;
            }
        }
        let merge: Vec<String> = parents
            .into_iter()
            .filter(|(_, n)| *n >= 3)
            .map(|(p, _)| p.to_string())
            .collect();
        if merge.is_empty() {
            break;
        }
        lits.retain(|l| {
            !l.char_indices()
                .last()
                .is_some_and(|(i, _)| merge.iter().any(|m| m.as_str() == &l[..i]))
        });
        lits.extend(merge);
    }
    let all: Vec<String> = lits.iter().cloned().collect();
    lits.retain(|l| !all.iter().any(|o| o != l && l.contains(o.as_str())));
    lits
}

impl ProgramWords {
    /// A policy's rules for every program: those that only look at redirects narrow
    /// the lines with `>` to check, any other rules out nothing.
    fn add_every_program_rules(&mut self, policy: &crate::Policy) {
        for rule in &policy.rules {
            if !rule.spec.programs.iter().any(|p| p == "*") {
                continue;
            }
            let Some(re) = &rule.spec.redirect_regex else {
                self.every_command = true;
                continue;
            };
            self.redirects = true;
            match (
                backstop_policies::literals::required_literals(re),
                &mut self.redirect_literals,
            ) {
                (Some(found), Some(all)) => all.extend(found),
                _ => self.redirect_literals = None,
            }
        }
    }

    /// Scripts found on `PATH` (`backstop init` looks for them): a line naming one runs
    /// a file the engine reads.
    pub fn add_scripts<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for n in names {
            self.add(n);
        }
    }

    fn add(&mut self, name: &str) {
        // A name the shells' splitting could never produce whole (`my prog`, `it's`):
        // rule nothing out rather than miss it.
        if name
            .chars()
            .any(|c| c.is_whitespace() || SEPARATORS.contains(&c) || matches!(c, '\'' | '"' | '\\'))
        {
            self.every_command = true;
            return;
        }
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
        let joined: String = line
            .chars()
            .filter(|c| !matches!(c, '\'' | '"'))
            .collect::<String>()
            .to_ascii_lowercase();
        // Compared without case: a superset of the engine's case-sensitive regexes.
        if self.redirects && joined.contains('>') {
            match &self.redirect_literals {
                None => return true,
                Some(l) if l.iter().any(|l| joined.contains(&l.to_ascii_lowercase())) => {
                    return true
                }
                Some(_) => {}
            }
        }
        if joined
            .split(|c: char| c.is_whitespace() || SEPARATORS.contains(&c))
            .filter_map(program_of)
            .any(|p| self.words.contains(p))
        {
            return true;
        }
        runs_a_path(&joined)
    }
}

/// Whether a command of the (quote-free, lower-cased) line starts with a word holding
/// `/` or with `.`: a file run by its path (`./x`, `~/bin/x`) or sourced. A command
/// starts the line and follows `;` `&` `|` `(` `)` `{` `}` `` ` `` or a newline, after
/// any words holding `=`, `<` or `>` (a redirection alone skips its target too) and
/// reserved words (`then`, `!` …).
pub fn runs_a_path(joined: &str) -> bool {
    if !joined.contains(['/', '.']) {
        return false;
    }
    let mut start = true;
    let mut skip = false;
    let tokens = joined.split(|c: char| c == ' ' || c == '\t' || COMMAND_SEPARATORS.contains(&c));
    // Each separator is a token of its own: split keeps an empty piece for it, so the
    // separators are found again by walking the text.
    let mut rest = joined;
    for tok in tokens {
        let sep_follows = {
            let after = &rest[tok.len().min(rest.len())..];
            let next = after.chars().next();
            rest = next.map_or("", |c| &after[c.len_utf8()..]);
            next.is_some_and(|c| COMMAND_SEPARATORS.contains(&c))
        };
        if !tok.is_empty() {
            if skip {
                skip = false;
            } else if start {
                if tok.contains('/') || tok == "." {
                    return true;
                }
                let redirect = tok.contains(['<', '>']);
                if redirect
                    && tok
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '<' || c == '>')
                {
                    skip = true;
                } else if !(redirect || tok.contains('=') || KEYWORDS.contains(&tok)) {
                    start = false;
                }
            }
        }
        if sep_follows {
            start = true;
            skip = false;
        }
    }
    false
}

/// The program a lower-cased word names, as the engine's `program_name` reads it: its
/// last path component, less one Windows extension. `None` for a word ending in `/`.
fn program_of(word: &str) -> Option<&str> {
    let base = word.rsplit('/').next().unwrap_or(word);
    if base.is_empty() {
        return None;
    }
    Some(
        EXTENSIONS
            .iter()
            .find_map(|e| base.strip_suffix(e).filter(|stem| !stem.is_empty()))
            .unwrap_or(base),
    )
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
        let literals = w.redirect_literals.as_ref().expect("literal prefixes");
        assert!(literals.len() < 40, "{literals:?}");
        assert!(literals.iter().any(|l| "/dev/sda".starts_with(l.as_str())));
        assert!(!literals.iter().any(|l| "/dev/null".starts_with(l.as_str())));
        assert!(!w.words.contains("ls") && !w.words.contains("echo"));
    }

    #[test]
    fn rules_out_benign_lines_only() {
        let w = words();
        for line in [
            "ls -la",
            "cd /srv/app && cargo build -j8",
            "echo done | cat",
            "nano notes.txt",
            "cat ./notes.txt",
            "ls ~/bin/x",
            "cd ..",
            "ls -d . >/dev/null",
            "echo line 4 | cat >out.txt 2>&1",
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
            "cat x >\"/dev/\"nvme0n1",
            "r\\m -rf d",
            "$'\\x72m' -rf d",
            "echo 'rm -rf d' | sh",
            "DROP TABLE users",
            "./cleanup.sh",
            "~/bin/nuke",
            "x=1 ./x",
            "ls && ../tools/x",
            ". ./env.sh",
            ". env.sh",
            "if true; then bin/x; fi",
            "> out ./x",
            "2>/dev/null ./x",
            "make clean",
            "npm run reset",
            "just nuke",
            "vim notes.txt",
        ] {
            assert!(w.may_match(line), "{line}");
        }
    }

    #[test]
    fn paths_at_command_position() {
        for (line, want) in [
            ("./x", true),
            ("ls ./x", false),
            ("ls; ./x", true),
            ("ls|./x", true),
            ("$(./x)", true),
            ("`./x`", true),
            ("a=1 b=2 ./x", true),
            ("a=1 ls ./x", false),
            ("! ./x", true),
            ("and ./x", true),
            ("> out ./x", true),
            ("> ./out ls", false),
            ("2> err ls ./x", false),
            (">out ./x", true),
            ("ls\n./x", true),
            (". x", true),
            ("ls .", false),
            ("x.y", false),
            ("cd /srv", false),
            ("{ ./x; }", true),
        ] {
            assert_eq!(runs_a_path(line), want, "{line}");
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
                    files: &crate::engine::NoFiles,
                    facts: &crate::engine::NoFacts,
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

    #[test]
    fn literals_shorten_to_their_common_prefixes() {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            shorten(set(&[
                "/dev/sd",
                "/dev/disk0",
                "/dev/disk1",
                "/dev/disk2",
                "/dev/disk/by-",
                "/dev/md/",
                "/dev/md0"
            ])),
            set(&["/dev/sd", "/dev/disk", "/dev/md/", "/dev/md0"])
        );
        assert_eq!(shorten(set(&["ab", "abc"])), set(&["ab"]));
    }

    #[test]
    fn words_are_read_as_the_engine_reads_program_names() {
        assert_eq!(program_of("/usr/bin/rm"), Some("rm"));
        assert_eq!(program_of("rm.exe"), Some("rm"));
        assert_eq!(program_of(".exe"), Some(".exe"));
        assert_eq!(program_of("a.exe.exe"), Some("a.exe"));
        assert_eq!(program_of("dir/"), None);
        for w in ["/usr/bin/rm", "rm.exe", ".exe", "a.exe.exe", "RM.EXE"] {
            let lower = w.to_ascii_lowercase();
            assert_eq!(program_of(&lower).unwrap(), crate::unwrap::program_name(w));
        }
    }

    #[test]
    fn redirect_rules_narrow_by_their_literals_or_check_every_redirect() {
        assert_eq!(
            backstop_policies::literals::required_literals("^/dev/(sd|nvme)").unwrap(),
            vec!["/dev/nvme", "/dev/sd"]
        );
        assert_eq!(
            backstop_policies::literals::required_literals(r"\.db$"),
            Some(vec![".db".to_string()])
        );
        assert_eq!(
            backstop_policies::literals::required_literals(
                r"(^|[\s/=])\.backstop|/etc/backstop|\.claude[/\\]settings"
            )
            .unwrap(),
            vec![".backstop", "/etc/backstop", "settings"]
        );
        assert_eq!(
            backstop_policies::literals::required_literals("(a|b*)c"),
            Some(vec!["c".to_string()])
        );
        assert_eq!(
            backstop_policies::literals::required_literals("x+y?"),
            Some(vec!["x".to_string()])
        );
        assert_eq!(
            backstop_policies::literals::required_literals("(?i)^PROD"),
            Some(vec![
                "PROD".to_string(),
                "PROd".into(),
                "PRoD".into(),
                "PRod".into(),
                "PrOD".into(),
                "PrOd".into(),
                "ProD".into(),
                "Prod".into(),
                "pROD".into(),
                "pROd".into(),
                "pRoD".into(),
                "pRod".into(),
                "prOD".into(),
                "prOd".into(),
                "proD".into(),
                "prod".into()
            ])
        );
        assert_eq!(backstop_policies::literals::required_literals(".*"), None);
        assert_eq!(backstop_policies::literals::required_literals("a?"), None);
        assert_eq!(
            backstop_policies::literals::required_literals("(a|b?)"),
            None
        );
        let rule = |re: &str| {
            crate::engine::Source {
            origin: "user.toml".into(),
            layer: crate::Layer::User,
            text: format!(
                "[[rule]]\nid = \"me.r\"\ndescription = \"d\"\nseverity = \"high\"\nprograms = [\"*\"]\nredirect_regex = '{re}'\nrequires = \"deny\"\n"
            ),
        }
        };
        let w = Engine::new(vec![rule(r"\.db$")]).unwrap().program_words();
        assert!(w.may_match("echo x > app.db") && !w.may_match("echo x > app.txt"));
        let w = Engine::new(vec![rule("[a-z]*")]).unwrap().program_words();
        assert!(w.may_match("echo x > app.txt") && !w.may_match("echo x"));
    }
}
