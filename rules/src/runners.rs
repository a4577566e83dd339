//! Task runners: what `make [TARGET…]`, `just [RECIPE…]` and `npm|pnpm|yarn|bun run
//! SCRIPT` will run, read from the `Makefile`, `justfile` or `package.json`. Each
//! recipe line becomes a command of the line, marked with its file and line.
//!
//! The Makefile and justfile readers are small and careful rather than complete (no
//! crate evaluates them; `makefile-lossless` gives a syntax tree without variables,
//! conditionals or prerequisites): see docs/reading-lines.md for what they follow.

use std::collections::{HashMap, HashSet};

use crate::command::{Command, Word, WorkDir};
use crate::dialect::Dialect;
use crate::engine::{Context, FileText};
use crate::scripts::{commands_of_text, dir_of, resolve, Expanded, Seen};

/// Deepest chain of prerequisites and variable references followed.
const MAX_DEPTH: usize = 64;
/// Most recipe lines taken from one run (a runaway pattern rule stops here).
const MAX_LINES: usize = 4096;

fn read(ctx: &Context, seen: &mut Seen, path: &str) -> Option<String> {
    match seen.read(ctx, path)? {
        FileText::Text(t) => Some(t),
        _ => None,
    }
}

/// The first of `names` that exists in `dir`.
fn first_existing(ctx: &Context, dir: &str, names: &[&str]) -> Option<String> {
    names
        .iter()
        .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
        .find(|p| {
            !matches!(
                ctx.files.read_text(p, 0),
                FileText::Missing | FileText::NotAFile
            )
        })
}

// ------------------------------------------------------------------------- make

#[derive(Debug, Default, Clone)]
struct MakeRule {
    prereqs: Vec<String>,
    /// Recipe lines with the file and line each comes from.
    recipe: Vec<(String, String, usize)>,
    double_colon: bool,
}

#[derive(Debug, Default)]
struct Makefile {
    vars: HashMap<String, String>,
    /// Variables set on the command line: they win over the file's.
    overrides: HashMap<String, String>,
    rules: HashMap<String, Vec<MakeRule>>,
    patterns: Vec<(String, MakeRule)>,
    default_goal: Option<String>,
}

impl Makefile {
    /// `$(VAR)`, `${VAR}`, `$V`, automatic variables, `$$`, and a few text functions;
    /// what it cannot expand (`$(shell …)`, `$(wildcard …)`) stays as written.
    fn expand(&self, text: &str, auto: &HashMap<&str, String>, depth: usize) -> String {
        if depth > MAX_DEPTH || !text.contains('$') {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                let next = text[i..].find('$').map_or(text.len(), |n| i + n);
                out.push_str(&text[i..next]);
                i = next;
                continue;
            }
            let Some(&c) = b.get(i + 1) else {
                out.push('$');
                break;
            };
            match c {
                b'$' => {
                    out.push('$');
                    i += 2;
                }
                b'(' | b'{' => {
                    let close = if c == b'(' { b')' } else { b'}' };
                    let mut level = 0usize;
                    let mut end = None;
                    for (k, &ch) in b.iter().enumerate().skip(i + 1) {
                        if ch == c {
                            level += 1;
                        } else if ch == close {
                            level -= 1;
                            if level == 0 {
                                end = Some(k);
                                break;
                            }
                        }
                    }
                    let Some(end) = end else {
                        out.push_str(&text[i..]);
                        break;
                    };
                    let inner = &text[i + 2..end];
                    out.push_str(&self.reference(inner, auto, depth, &text[i..=end]));
                    i = end + 1;
                }
                _ => {
                    let ch = text[i + 1..].chars().next().unwrap_or('$');
                    let name = ch.to_string();
                    match auto.get(name.as_str()) {
                        Some(v) => out.push_str(v),
                        None => match self.value(&name) {
                            Some(v) => out.push_str(&self.expand(&v, auto, depth + 1)),
                            None => out.push_str(&text[i..i + 1 + ch.len_utf8()]),
                        },
                    }
                    i += 1 + ch.len_utf8();
                }
            }
        }
        out
    }

    fn value(&self, name: &str) -> Option<String> {
        if name == "MAKE" || name == "MAKE_COMMAND" {
            return Some(
                self.vars
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| "make".into()),
            );
        }
        self.overrides
            .get(name)
            .or_else(|| self.vars.get(name))
            .cloned()
    }

    /// One `$(…)`: a variable, `$(@D)`-style automatic variants, `$(VAR:a=b)`, or a function.
    fn reference(
        &self,
        inner: &str,
        auto: &HashMap<&str, String>,
        depth: usize,
        whole: &str,
    ) -> String {
        let (name, args) = match inner.split_once([' ', '\t']) {
            Some((f, a)) if FUNCTIONS.contains(&f) => (f, Some(a)),
            _ => (inner, None),
        };
        if let Some(args) = args {
            let args = self.expand(args, auto, depth + 1);
            return function(name, &args).unwrap_or_else(|| whole.to_string());
        }
        let name = self.expand(name, auto, depth + 1);
        // `$(SRC:.c=.o)`
        if let Some((var, subst)) = name.split_once(':') {
            if let (Some(v), Some((from, to))) = (self.value(var), subst.split_once('=')) {
                let v = self.expand(&v, auto, depth + 1);
                return v
                    .split_whitespace()
                    .map(|w| match w.strip_suffix(from) {
                        Some(stem) => format!("{stem}{to}"),
                        None => w.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        if let Some(v) = auto.get(name.as_str()) {
            return v.clone();
        }
        if let (Some(base), Some(kind)) = (name.get(..1), name.get(1..)) {
            if let (Some(v), "D" | "F") = (auto.get(base), kind) {
                return v
                    .split_whitespace()
                    .map(|w| match (kind, w.rsplit_once('/')) {
                        ("D", Some((d, _))) => d.to_string(),
                        ("D", None) => ".".into(),
                        (_, Some((_, f))) => f.to_string(),
                        _ => w.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        match self.value(&name) {
            Some(v) => self.expand(&v, auto, depth + 1),
            // An unset variable is empty to make.
            None if !name.contains(['$', ' ']) && !name.is_empty() => String::new(),
            None => whole.to_string(),
        }
    }
}

const FUNCTIONS: &[&str] = &[
    "addprefix",
    "addsuffix",
    "subst",
    "patsubst",
    "strip",
    "notdir",
    "dir",
    "firstword",
    "lastword",
    "basename",
    "suffix",
    "sort",
    "word",
    "words",
    "filter",
    "filter-out",
    "shell",
    "wildcard",
    "foreach",
    "if",
    "or",
    "and",
    "call",
    "eval",
    "origin",
    "value",
    "info",
    "warning",
    "error",
    "realpath",
    "abspath",
    "join",
    "flavor",
    "file",
    "let",
    "intcmp",
];

/// The text functions whose result the line decides; `None` for the others.
fn function(name: &str, args: &str) -> Option<String> {
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let (a, rest) = args.split_once(',').unwrap_or((args, ""));
    Some(match name {
        "strip" => words(args).join(" "),
        "addprefix" => words(rest)
            .iter()
            .map(|w| format!("{a}{w}"))
            .collect::<Vec<_>>()
            .join(" "),
        "addsuffix" => words(rest)
            .iter()
            .map(|w| format!("{w}{a}"))
            .collect::<Vec<_>>()
            .join(" "),
        "subst" => {
            let (to, text) = rest.split_once(',')?;
            text.replace(a, to)
        }
        "patsubst" => {
            let (to, text) = rest.split_once(',')?;
            let (pre, post) = a.split_once('%').unwrap_or((a, ""));
            words(text)
                .iter()
                .map(
                    |w| match w.strip_prefix(pre).and_then(|r| r.strip_suffix(post)) {
                        Some(stem) => to.replacen('%', stem, 1),
                        None => w.clone(),
                    },
                )
                .collect::<Vec<_>>()
                .join(" ")
        }
        "notdir" => words(args)
            .iter()
            .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
            .collect::<Vec<_>>()
            .join(" "),
        "dir" => words(args)
            .iter()
            .map(|w| {
                w.rsplit_once('/')
                    .map_or("./".into(), |(d, _)| format!("{d}/"))
            })
            .collect::<Vec<_>>()
            .join(" "),
        "firstword" => words(args).first().cloned().unwrap_or_default(),
        "lastword" => words(args).last().cloned().unwrap_or_default(),
        _ => return None,
    })
}

/// A logical line of a Makefile: `\` continuations joined, comments dropped outside recipes.
fn logical_lines(text: &str) -> Vec<(usize, String, bool)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let recipe = line.starts_with('\t');
        let mut full = line.to_string();
        while full.ends_with('\\') && !full.ends_with("\\\\") {
            match lines.next() {
                Some((_, next)) => {
                    if recipe {
                        // The shell sees the backslash-newline; make drops the tab after it.
                        full.push('\n');
                        full.push_str(next.strip_prefix('\t').unwrap_or(next));
                    } else {
                        full.pop();
                        full.push(' ');
                        full.push_str(next.trim_start());
                    }
                }
                None => break,
            }
        }
        out.push((n + 1, full, recipe));
    }
    out
}

fn strip_comment(line: &str) -> &str {
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        if c == '#' && prev != '\\' {
            return &line[..i];
        }
        prev = c;
    }
    line
}

/// Where the first `:` or `=` outside `$(…)` is, and which.
fn split_rule_or_assignment(line: &str) -> Option<(usize, char)> {
    let mut depth = 0usize;
    for (i, c) in line.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth = depth.saturating_sub(1),
            ':' | '=' if depth == 0 => return Some((i, c)),
            _ => {}
        }
    }
    None
}

/// Read a Makefile (and what it includes) into `mf`.
fn read_makefile(
    mf: &mut Makefile,
    path: &str,
    dir: &str,
    ctx: &Context,
    seen: &mut Seen,
    depth: usize,
) {
    let Some(text) = read(ctx, seen, path) else {
        return;
    };
    let no_auto = HashMap::new();
    let mut current: Vec<String> = Vec::new();
    // Conditionals: each level is (taking this branch, the condition was decided).
    let mut cond: Vec<bool> = Vec::new();
    let active = |cond: &[bool]| cond.iter().all(|c| *c);
    let mut define: Option<(String, String)> = None;
    for (n, line, is_recipe) in logical_lines(&text) {
        if let Some((name, body)) = &mut define {
            if line.trim() == "endef" {
                if active(&cond) {
                    mf.vars
                        .insert(name.clone(), body.trim_end_matches('\n').to_string());
                }
                define = None;
            } else {
                body.push_str(&line);
                body.push('\n');
            }
            continue;
        }
        if is_recipe && !current.is_empty() {
            if active(&cond) {
                let body = line[1..].to_string();
                for t in &current {
                    if let Some(r) = mf.rules.get_mut(t).and_then(|v| v.last_mut()) {
                        r.recipe.push((body.clone(), path.to_string(), n));
                    } else if let Some((_, r)) = mf.patterns.iter_mut().rev().find(|(p, _)| p == t)
                    {
                        r.recipe.push((body.clone(), path.to_string(), n));
                    }
                }
            }
            continue;
        }
        let t = strip_comment(&line).trim();
        if t.is_empty() {
            continue;
        }
        let word0 = t.split_whitespace().next().unwrap_or_default();
        match word0 {
            "ifeq" | "ifneq" | "ifdef" | "ifndef" => {
                let rest = t[word0.len()..].trim();
                let taken = match word0 {
                    "ifdef" => Some(
                        mf.value(&mf.expand(rest, &no_auto, 0))
                            .is_some_and(|v| !v.is_empty()),
                    ),
                    "ifndef" => Some(
                        mf.value(&mf.expand(rest, &no_auto, 0))
                            .is_none_or(|v| v.is_empty()),
                    ),
                    _ => {
                        let e = mf.expand(rest, &no_auto, 0);
                        let pair = e
                            .strip_prefix('(')
                            .and_then(|r| r.strip_suffix(')'))
                            .and_then(|r| r.split_once(','))
                            .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                            .or_else(|| {
                                let q: Vec<&str> = e.split(['"', '\'']).collect();
                                (q.len() >= 4).then(|| (q[1].to_string(), q[3].to_string()))
                            });
                        pair.filter(|(a, b)| !a.contains('$') && !b.contains('$'))
                            .map(|(a, b)| (a == b) == (word0 == "ifeq"))
                    }
                };
                // A condition the file cannot settle takes both branches.
                cond.push(taken.unwrap_or(true));
                current.clear();
                continue;
            }
            "else" => {
                if let Some(last) = cond.last_mut() {
                    *last = !*last || t.len() > 4;
                }
                current.clear();
                continue;
            }
            "endif" => {
                cond.pop();
                current.clear();
                continue;
            }
            _ => {}
        }
        if !active(&cond) {
            continue;
        }
        if matches!(word0, "include" | "-include" | "sinclude") {
            if depth < 8 {
                for f in mf.expand(&t[word0.len()..], &no_auto, 0).split_whitespace() {
                    if let Some(p) = resolve(f, Some(dir), ctx) {
                        read_makefile(mf, &p, dir, ctx, seen, depth + 1);
                    }
                }
            }
            continue;
        }
        if word0 == "define" {
            let name = t[6..]
                .trim()
                .trim_end_matches(['=', ':', '?', '+', '!'])
                .trim()
                .to_string();
            define = Some((name, String::new()));
            continue;
        }
        let t = t
            .strip_prefix("export ")
            .or_else(|| t.strip_prefix("override "))
            .or_else(|| t.strip_prefix("private "))
            .unwrap_or(t)
            .trim();
        let Some((at, sep)) = split_rule_or_assignment(t) else {
            continue;
        };
        let assign = sep == '=' || t[at..].starts_with(":=") || t[at..].starts_with("::=");
        if assign {
            let (name_part, value) = t.split_at(at);
            let value = value.trim_start_matches([':', '=']).trim();
            let op = name_part
                .chars()
                .last()
                .filter(|c| matches!(c, '?' | '+' | '!'));
            let name = name_part.trim_end_matches(['?', '+', '!', ':']).trim();
            let name = mf.expand(name, &no_auto, 0);
            let simple = t[at..].starts_with(':');
            let value = if simple {
                mf.expand(value, &no_auto, 0)
            } else {
                value.to_string()
            };
            match op {
                Some('?') if mf.vars.contains_key(&name) => {}
                Some('+') => {
                    let v = mf.vars.entry(name).or_default();
                    if !v.is_empty() {
                        v.push(' ');
                    }
                    v.push_str(&value);
                }
                // `!=` runs a shell command: its output is not known.
                Some('!') => {
                    mf.vars.remove(&name);
                }
                _ => {
                    if name == ".DEFAULT_GOAL" {
                        mf.default_goal = Some(value.trim().to_string());
                    }
                    mf.vars.insert(name, value);
                }
            }
            current.clear();
            continue;
        }
        // A rule: `targets: prereqs [; recipe]`, `targets:: …`, static patterns.
        let targets_text = mf.expand(&t[..at], &no_auto, 0);
        let mut rest = &t[at + 1..];
        let double_colon = rest.starts_with(':');
        if double_colon {
            rest = &rest[1..];
        }
        let (prereq_text, inline) = match rest.split_once(';') {
            Some((p, r)) => (p, Some(r.trim().to_string())),
            None => (rest, None),
        };
        // `target: VAR = value` sets a variable for that target only.
        if prereq_text.contains('=') && !prereq_text.contains(':') {
            current.clear();
            continue;
        }
        let prereq_text = prereq_text.split('|').next().unwrap_or_default();
        let static_pattern = prereq_text.split_once(':');
        let targets: Vec<String> = targets_text
            .split_whitespace()
            .map(str::to_string)
            .collect();
        current = targets.clone();
        for target in targets {
            let prereqs: Vec<String> = match static_pattern {
                Some((tp, pp)) => {
                    let (pre, post) = tp.trim().split_once('%').unwrap_or((tp.trim(), ""));
                    let stem = target
                        .strip_prefix(pre)
                        .and_then(|r| r.strip_suffix(post))
                        .unwrap_or(&target)
                        .to_string();
                    mf.expand(pp, &no_auto, 0)
                        .split_whitespace()
                        .map(|p| p.replacen('%', &stem, 1))
                        .collect()
                }
                None => mf
                    .expand(prereq_text, &no_auto, 0)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            };
            let mut rule = MakeRule {
                prereqs,
                recipe: Vec::new(),
                double_colon,
            };
            if let Some(r) = &inline {
                rule.recipe.push((r.clone(), path.to_string(), n));
            }
            if target.contains('%') {
                mf.patterns.push((target, rule));
                continue;
            }
            let special = target.starts_with('.') && !target.contains('/');
            if mf.default_goal.is_none() && !special {
                mf.default_goal = Some(target.clone());
            }
            let entry = mf.rules.entry(target).or_default();
            match entry.last_mut() {
                // A second single-colon rule adds prerequisites; its recipe, if any, wins.
                Some(existing) if !double_colon && !existing.double_colon => {
                    existing.prereqs.extend(rule.prereqs);
                    if !rule.recipe.is_empty() {
                        existing.recipe = rule.recipe;
                    }
                }
                _ => entry.push(rule),
            }
        }
    }
}

/// The recipe lines `goal` runs, its prerequisites' first, each target once.
fn make_goal(
    mf: &Makefile,
    goal: &str,
    done: &mut HashSet<String>,
    out: &mut Vec<(String, String, usize)>,
    depth: usize,
) {
    if depth > MAX_DEPTH || out.len() > MAX_LINES || !done.insert(goal.to_string()) {
        return;
    }
    let explicit = mf.rules.get(goal);
    let pattern;
    let (rules, stem): (Vec<&MakeRule>, String) = match explicit {
        Some(rs) if rs.iter().any(|r| !r.recipe.is_empty()) => (rs.iter().collect(), String::new()),
        _ => {
            // An implicit rule: the last pattern whose target matches, with its stem.
            pattern = mf.patterns.iter().rev().find_map(|(p, r)| {
                let (pre, post) = p.split_once('%')?;
                let stem = goal.strip_prefix(pre)?.strip_suffix(post)?;
                Some((r, stem.to_string()))
            });
            match (explicit, &pattern) {
                (Some(rs), Some((r, stem))) => {
                    let mut all: Vec<&MakeRule> = rs.iter().collect();
                    all.push(r);
                    (all, stem.clone())
                }
                (Some(rs), None) => (rs.iter().collect(), String::new()),
                (None, Some((r, stem))) => (vec![*r], stem.clone()),
                (None, None) => return,
            }
        }
    };
    for r in rules {
        let prereqs: Vec<String> = r
            .prereqs
            .iter()
            .map(|p| p.replacen('%', &stem, 1))
            .collect();
        for p in &prereqs {
            make_goal(mf, p, done, out, depth + 1);
        }
        let mut auto = HashMap::new();
        auto.insert("@", goal.to_string());
        auto.insert("<", prereqs.first().cloned().unwrap_or_default());
        auto.insert("^", prereqs.join(" "));
        auto.insert("+", prereqs.join(" "));
        auto.insert("?", prereqs.join(" "));
        auto.insert("*", stem.clone());
        for (line, file, n) in &r.recipe {
            out.push((mf.expand(line, &auto, 0), file.clone(), *n));
        }
    }
}

/// `make [-C DIR] [-f FILE] [VAR=value] [TARGET…]`: the recipe lines of the targets
/// (the default goal without one) and of their prerequisites.
pub(crate) fn make(cmd: &Command, ctx: &Context, seen: &mut Seen) -> Expanded {
    let args = cmd.args();
    let mut dir = dir_of(cmd, ctx);
    let mut files = Vec::new();
    let mut goals = Vec::new();
    let mut overrides = HashMap::new();
    let mut i = 0;
    let value = |i: usize, t: &str, short: &str, long: &[&str]| -> Option<(String, usize)> {
        if t == short {
            return args.get(i + 1).map(|w| (w.text.clone(), 2));
        }
        if let Some(v) = t
            .strip_prefix(short)
            .filter(|v| !v.is_empty() && !short.is_empty())
        {
            return Some((v.to_string(), 1));
        }
        for l in long {
            if t == *l {
                return args.get(i + 1).map(|w| (w.text.clone(), 2));
            }
            if let Some(v) = t.strip_prefix(l).and_then(|r| r.strip_prefix('=')) {
                return Some((v.to_string(), 1));
            }
        }
        None
    };
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if let Some((v, n)) = value(i, t, "-C", &["--directory"]) {
            dir = resolve(&v, dir.as_deref(), ctx);
            i += n;
            continue;
        }
        if let Some((v, n)) = value(i, t, "-f", &["--file", "--makefile"]) {
            files.push(v);
            i += n;
            continue;
        }
        if let Some((_, n)) = value(i, t, "-I", &["--include-dir"])
            .or_else(|| value(i, t, "-o", &["--old-file", "--assume-old"]))
            .or_else(|| value(i, t, "-W", &["--what-if", "--new-file", "--assume-new"]))
        {
            i += n;
            continue;
        }
        if matches!(
            t,
            "-n" | "--dry-run"
                | "--just-print"
                | "--recon"
                | "-q"
                | "--question"
                | "-t"
                | "--touch"
                | "--help"
                | "-h"
                | "-v"
                | "--version"
        ) || (t.starts_with('-')
            && !t.starts_with("--")
            && t[1..].contains(['n', 'q', 't'])
            && !t[1..].contains(['j', 'l', 'C', 'f', 'I', 'o', 'O', 'W', 'E']))
        {
            // Recipes are only printed, or not run at all.
            return Vec::new();
        }
        if (t == "-j" || t == "-l")
            && args
                .get(i + 1)
                .is_some_and(|w| w.text.bytes().all(|b| b.is_ascii_digit()))
        {
            i += 2;
            continue;
        }
        if t.starts_with('-') {
            i += 1;
            continue;
        }
        if crate::posix::is_assignment(t) {
            if let Some((k, v)) = t.split_once('=') {
                overrides.insert(
                    k.trim_end_matches([':', '+', '?']).to_string(),
                    v.to_string(),
                );
            }
        } else if !a.expansion {
            goals.push(t.to_string());
        }
        i += 1;
    }
    let Some(dir) = dir else {
        return Vec::new();
    };
    let file = match files.first() {
        Some(f) => resolve(f, Some(&dir), ctx),
        None => first_existing(ctx, &dir, &["GNUmakefile", "makefile", "Makefile"]),
    };
    let Some(file) = file else {
        return Vec::new();
    };
    let mut mf = Makefile {
        overrides,
        ..Makefile::default()
    };
    read_makefile(&mut mf, &file, &dir, ctx, seen, 0);
    for extra in files.iter().skip(1) {
        if let Some(p) = resolve(extra, Some(&dir), ctx) {
            read_makefile(&mut mf, &p, &dir, ctx, seen, 0);
        }
    }
    if goals.is_empty() {
        goals.extend(mf.default_goal.clone());
    }
    let mut lines = Vec::new();
    let mut done = HashSet::new();
    for g in &goals {
        make_goal(&mf, g, &mut done, &mut lines, 0);
    }
    let label = format!(
        "make {}",
        goals
            .iter()
            .map(|g| crate::command::display_word(g))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let cwd = WorkDir::Known(dir);
    let mut out = Vec::new();
    for (line, file, n) in lines {
        let body = line.trim_start_matches(['@', '-', '+', ' ', '\t']);
        let mut cs = commands_of_text(
            cmd,
            body,
            Dialect::Bash,
            &file,
            label.trim_end(),
            cwd.clone(),
            &[],
        );
        for c in &mut cs {
            if let Some(f) = &mut c.file {
                f.line = n + c.line.saturating_sub(1);
            }
        }
        out.extend(cs);
    }
    out
}

// ------------------------------------------------------------------------- just

#[derive(Debug, Default, Clone)]
struct JustRecipe {
    params: Vec<(String, Option<String>, bool)>,
    deps: Vec<(String, Vec<String>)>,
    after: Vec<(String, Vec<String>)>,
    body: Vec<(String, usize)>,
    shebang: bool,
    no_cd: bool,
}

#[derive(Debug, Default)]
struct Justfile {
    vars: HashMap<String, String>,
    recipes: HashMap<String, JustRecipe>,
    aliases: HashMap<String, String>,
    first: Option<String>,
    default: Option<String>,
    shell: Option<Dialect>,
    working_dir: Option<String>,
}

/// A just expression: string literals (`'…'`, `"…"` with escapes), variables, `+`
/// and `/`; `None` when it calls a function or a backtick.
fn just_expr(e: &str, vars: &HashMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut chars = e.trim().chars().peekable();
    let mut join_path = false;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut part = String::new();
        match c {
            '\'' => {
                chars.next();
                for ch in chars.by_ref() {
                    if ch == '\'' {
                        break;
                    }
                    part.push(ch);
                }
            }
            '"' => {
                chars.next();
                while let Some(ch) = chars.next() {
                    match ch {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => part.push('\n'),
                            Some('t') => part.push('\t'),
                            Some(o) => part.push(o),
                            None => {}
                        },
                        ch => part.push(ch),
                    }
                }
            }
            '+' => {
                chars.next();
                continue;
            }
            '/' => {
                chars.next();
                join_path = true;
                continue;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut name = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || ch == '_' || ch == '-' {
                        name.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if chars.peek() == Some(&'(') {
                    return None;
                }
                part = vars.get(&name)?.clone();
            }
            _ => return None,
        }
        if join_path {
            out.push('/');
            join_path = false;
        }
        out.push_str(&part);
    }
    Some(out)
}

/// Replace `{{expr}}` in a recipe line (`{{{{` is a literal `{{`).
fn just_interpolate(line: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        if let Some(a) = after.strip_prefix("{{") {
            out.push_str("{{");
            rest = a;
            continue;
        }
        match after.find("}}") {
            Some(end) => {
                match just_expr(&after[..end], vars) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[i..i + 4 + end]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `name` or `(name arg…)` dependencies.
fn just_deps(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('(') {
            let end = r.find(')').unwrap_or(r.len());
            let mut parts = r[..end].split_whitespace();
            if let Some(n) = parts.next() {
                out.push((
                    n.to_string(),
                    parts
                        .map(|p| p.trim_matches(['\'', '"']).to_string())
                        .collect(),
                ));
            }
            rest = r.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push((rest[..end].to_string(), Vec::new()));
            rest = rest[end..].trim_start();
        }
    }
    out
}

fn read_justfile(text: &str) -> Justfile {
    let mut jf = Justfile::default();
    let mut lines = text.lines().enumerate().peekable();
    let mut attrs: Vec<String> = Vec::new();
    while let Some((n, line)) = lines.next() {
        let t = line.trim_end();
        if t.trim().is_empty() || t.trim_start().starts_with('#') && !t.starts_with("#!") {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if t.starts_with('[') {
            attrs.push(t.to_string());
            continue;
        }
        let (word0, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        match word0 {
            "set" => {
                if let Some((k, v)) = rest.split_once(":=") {
                    let k = k.trim();
                    let v = v.trim();
                    if k == "shell" {
                        let prog = v
                            .trim_start_matches('[')
                            .split(',')
                            .next()
                            .unwrap_or_default();
                        let prog = prog.trim().trim_matches(['\'', '"']);
                        jf.shell = Dialect::of_program(&crate::unwrap::program_name(prog));
                    } else if k == "working-directory" {
                        jf.working_dir = just_expr(v, &jf.vars);
                    }
                }
                attrs.clear();
                continue;
            }
            "alias" => {
                if let Some((k, v)) = rest.split_once(":=") {
                    jf.aliases
                        .insert(k.trim().to_string(), v.trim().to_string());
                }
                attrs.clear();
                continue;
            }
            "import" | "import?" | "mod" | "mod?" => {
                attrs.clear();
                continue;
            }
            _ => {}
        }
        let assignment = t.strip_prefix("export ").unwrap_or(t);
        if let Some((k, v)) = assignment.split_once(":=") {
            if !k.contains(':')
                && k.trim()
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                if let Some(v) = just_expr(v, &jf.vars) {
                    jf.vars.insert(k.trim().to_string(), v);
                }
                attrs.clear();
                continue;
            }
        }
        // A recipe header: `@? name params… : deps… && after…`.
        let header = t.trim_start_matches('@');
        let Some(colon) = header_colon(header) else {
            attrs.clear();
            continue;
        };
        let mut words = header[..colon].split_whitespace();
        let Some(name) = words.next() else { continue };
        let mut recipe = JustRecipe::default();
        for p in words {
            let variadic = p.starts_with(['+', '*']);
            let p = p.trim_start_matches(['+', '*', '$']);
            match p.split_once('=') {
                Some((k, d)) => {
                    recipe
                        .params
                        .push((k.to_string(), just_expr(d, &jf.vars), variadic))
                }
                None => recipe.params.push((p.to_string(), None, variadic)),
            }
        }
        let deps = &header[colon + 1..];
        let (before, after) = deps.split_once("&&").unwrap_or((deps, ""));
        recipe.deps = just_deps(before);
        recipe.after = just_deps(after);
        recipe.no_cd = attrs.iter().any(|a| a.contains("no-cd"));
        if attrs.iter().any(|a| a.contains("default")) {
            jf.default = Some(name.to_string());
        }
        let script_attr = attrs.iter().any(|a| a.contains("script"));
        attrs.clear();
        // The body: the indented lines after it (blank lines inside included).
        while let Some((_, next)) = lines.peek() {
            if next.trim().is_empty() || next.starts_with([' ', '\t']) {
                let (k, l) = lines.next().unwrap_or_default();
                if !l.trim().is_empty() {
                    recipe.body.push((l.trim_start().to_string(), k + 1));
                }
            } else {
                break;
            }
        }
        recipe.shebang = script_attr
            || recipe
                .body
                .first()
                .is_some_and(|(l, _)| l.starts_with("#!"));
        let _ = n;
        if jf.first.is_none() {
            jf.first = Some(name.to_string());
        }
        jf.recipes.insert(name.to_string(), recipe);
    }
    jf
}

/// The `:` that ends a recipe header's name and parameters (not inside a default's quotes,
/// not `:=`).
fn header_colon(h: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in h.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, ':') if !h[i..].starts_with(":=") => return Some(i),
            _ => {}
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn just_recipe(
    jf: &Justfile,
    name: &str,
    args: &[String],
    done: &mut HashSet<String>,
    out: &mut Vec<(String, usize, bool)>,
    depth: usize,
) {
    let name = jf.aliases.get(name).map_or(name, String::as_str);
    if depth > MAX_DEPTH || !done.insert(format!("{name} {}", args.join(" "))) {
        return;
    }
    let Some(r) = jf.recipes.get(name) else {
        return;
    };
    let mut vars = jf.vars.clone();
    for (k, (p, default, variadic)) in r.params.iter().enumerate() {
        let v = if *variadic {
            Some(args.get(k..).unwrap_or(&[]).join(" "))
        } else {
            args.get(k).cloned().or_else(|| default.clone())
        };
        if let Some(v) = v {
            vars.insert(p.clone(), v);
        }
    }
    for (d, a) in &r.deps {
        let a: Vec<String> = a
            .iter()
            .map(|x| vars.get(x).cloned().unwrap_or_else(|| x.clone()))
            .collect();
        just_recipe(jf, d, &a, done, out, depth + 1);
    }
    if r.shebang {
        let text: Vec<String> = r
            .body
            .iter()
            .map(|(l, _)| just_interpolate(l, &vars))
            .collect();
        out.push((text.join("\n"), r.body.first().map_or(0, |b| b.1), true));
    } else {
        let mut pending = String::new();
        let mut first_line = 0;
        for (l, n) in &r.body {
            if pending.is_empty() {
                first_line = *n;
            }
            let l = just_interpolate(l, &vars);
            if let Some(cont) = l.strip_suffix('\\') {
                pending.push_str(cont);
                continue;
            }
            pending.push_str(&l);
            let line = std::mem::take(&mut pending);
            out.push((
                line.trim_start_matches(['@', '-']).to_string(),
                first_line,
                false,
            ));
        }
    }
    for (d, a) in &r.after {
        just_recipe(jf, d, a, done, out, depth + 1);
    }
}

/// `just [-f FILE] [-d DIR] [RECIPE [ARGS…]]…`: the recipes' lines and their dependencies'.
pub(crate) fn just(cmd: &Command, ctx: &Context, seen: &mut Seen) -> Expanded {
    let args = cmd.args();
    let base = dir_of(cmd, ctx);
    let mut file = None;
    let mut workdir = None;
    let mut words = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        match t {
            "-f" | "--justfile" => {
                file = args.get(i + 1).map(|w| w.text.clone());
                i += 2;
            }
            "-d" | "--working-directory" => {
                workdir = args.get(i + 1).map(|w| w.text.clone());
                i += 2;
            }
            "--set" => i += 3,
            "--shell" | "--shell-arg" | "--color" | "--dotenv-filename" | "--dotenv-path"
            | "--list-heading" | "--list-prefix" | "--chooser" | "--command-color"
            | "--timestamp-format" => i += 2,
            "-n" | "--dry-run" | "-l" | "--list" | "--summary" | "--show" | "-s" | "--evaluate"
            | "--variables" | "--dump" | "--fmt" | "--init" | "--edit" | "-e" | "--choose"
            | "--completions" | "--help" | "-h" | "--version" | "-V" | "--groups" | "--man" => {
                return Vec::new()
            }
            _ if t.starts_with('-') => i += 1,
            _ => {
                words.push(a.text.clone());
                i += 1;
            }
        }
    }
    // The justfile: given, or the nearest `justfile` at or above the directory.
    let path = match &file {
        Some(f) => resolve(f, base.as_deref(), ctx),
        None => {
            let mut d = base.clone();
            let mut found = None;
            while let Some(dir) = d {
                if let Some(p) = first_existing(
                    ctx,
                    &dir,
                    &["justfile", "Justfile", "JUSTFILE", ".justfile"],
                ) {
                    found = Some(p);
                    break;
                }
                d = (dir != "/").then(|| {
                    dir.rsplit_once('/').map_or("/".into(), |(p, _)| {
                        if p.is_empty() {
                            "/".into()
                        } else {
                            p.to_string()
                        }
                    })
                });
            }
            found
        }
    };
    let Some(path) = path else {
        return Vec::new();
    };
    let Some(text) = read(ctx, seen, &path) else {
        return Vec::new();
    };
    let mut jf = read_justfile(&text);
    // `just VAR=value recipe`
    while words
        .first()
        .is_some_and(|w| crate::posix::is_assignment(w))
    {
        let w = words.remove(0);
        if let Some((k, v)) = w.split_once('=') {
            jf.vars.insert(k.to_string(), v.to_string());
        }
    }
    let mut calls: Vec<(String, Vec<String>)> = Vec::new();
    for w in words {
        let name = jf.aliases.get(&w).cloned().unwrap_or_else(|| w.clone());
        match (jf.recipes.get(&name), calls.last_mut()) {
            (Some(_), _) => calls.push((name, Vec::new())),
            (None, Some((_, a))) => a.push(w),
            (None, None) => return Vec::new(),
        }
    }
    if calls.is_empty() {
        match jf.default.clone().or_else(|| jf.first.clone()) {
            Some(d) => calls.push((d, Vec::new())),
            None => return Vec::new(),
        }
    }
    let jdir = path
        .rsplit_once('/')
        .map_or("/".to_string(), |(d, _)| d.to_string());
    let run_dir = match (&workdir, &jf.working_dir) {
        (Some(w), _) => resolve(w, base.as_deref(), ctx),
        (None, Some(w)) => resolve(w, Some(&jdir), ctx),
        (None, None) => Some(jdir),
    };
    let dialect = jf.shell.unwrap_or(Dialect::Bash);
    let mut out = Vec::new();
    let mut done = HashSet::new();
    for (name, a) in &calls {
        let mut lines = Vec::new();
        just_recipe(&jf, name, a, &mut done, &mut lines, 0);
        let no_cd = jf.recipes.get(name).is_some_and(|r| r.no_cd);
        let cwd = match (&run_dir, no_cd) {
            (_, true) => cmd.cwd.clone(),
            (Some(d), false) => WorkDir::Known(d.clone()),
            (None, false) => WorkDir::Unknown,
        };
        let label = format!("just {name}");
        for (text, n, shebang) in lines {
            let mut cs = if shebang {
                let runs = crate::scripts::runs_file(
                    &path,
                    &text,
                    Some(crate::scripts::Runs::Shell(dialect)),
                );
                let mut c = cmd.clone();
                c.words = vec![Word::literal("just"), Word::literal(name.clone())];
                match runs {
                    crate::scripts::Runs::Shell(d) => {
                        commands_of_text(cmd, &text, d, &path, &label, cwd.clone(), &[])
                    }
                    crate::scripts::Runs::Interpreter(p) => {
                        c.words = vec![Word::literal(p), Word::literal(format!("(recipe {name})"))];
                        c.stdin = crate::command::Stdin::Text(text.clone());
                        c.origin = crate::command::Origin::File(label.clone());
                        c.file = Some(crate::command::FileLine {
                            path: path.clone(),
                            line: n,
                        });
                        c.cwd = cwd.clone();
                        vec![c]
                    }
                    crate::scripts::Runs::Other => Vec::new(),
                }
            } else {
                commands_of_text(cmd, &text, dialect, &path, &label, cwd.clone(), &[])
            };
            for c in &mut cs {
                if let Some(f) = &mut c.file {
                    f.line = n + c.line.saturating_sub(1);
                }
            }
            out.extend(cs);
        }
    }
    out
}

// ------------------------------------------------------------------------- npm

/// Subcommands of each package manager that are not scripts.
const PNPM_OWN: &[&str] = &[
    "add",
    "install",
    "i",
    "update",
    "up",
    "remove",
    "rm",
    "uninstall",
    "link",
    "unlink",
    "import",
    "rebuild",
    "prune",
    "fetch",
    "patch",
    "patch-commit",
    "audit",
    "list",
    "ls",
    "outdated",
    "why",
    "licenses",
    "exec",
    "dlx",
    "create",
    "init",
    "publish",
    "pack",
    "env",
    "store",
    "server",
    "setup",
    "config",
    "c",
    "help",
    "root",
    "bin",
    "deploy",
    "doctor",
    "approve-builds",
    "catalog",
    "self-update",
    "dedupe",
    "cache",
    "x",
    "run-script",
];
const YARN_OWN: &[&str] = &[
    "add",
    "install",
    "remove",
    "upgrade",
    "upgrade-interactive",
    "info",
    "init",
    "link",
    "unlink",
    "login",
    "logout",
    "pack",
    "publish",
    "list",
    "global",
    "cache",
    "config",
    "create",
    "dlx",
    "exec",
    "generate-lock-entry",
    "help",
    "import",
    "licenses",
    "outdated",
    "owner",
    "policies",
    "tag",
    "team",
    "version",
    "versions",
    "why",
    "workspace",
    "workspaces",
    "audit",
    "autoclean",
    "check",
    "bin",
    "dedupe",
    "explain",
    "npm",
    "plugin",
    "rebuild",
    "set",
    "unplug",
    "up",
    "node",
];

/// `npm|pnpm|yarn|bun run SCRIPT [-- ARGS]`, `npm test`/`start`/`stop`/`restart`,
/// `pnpm SCRIPT`, `yarn SCRIPT`, and `npm install` with no package (the package's own
/// install scripts): the `package.json` scripts, with their `pre`/`post` scripts.
pub(crate) fn npm(cmd: &Command, program: &str, ctx: &Context, seen: &mut Seen) -> Expanded {
    let args = cmd.args();
    let mut base = dir_of(cmd, ctx);
    let mut positionals: Vec<&Word> = Vec::new();
    let mut extra: Vec<String> = Vec::new();
    let mut ignore_scripts = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t == "--" {
            extra.extend(
                args[i + 1..]
                    .iter()
                    .map(|w| crate::command::display_word(&w.text)),
            );
            break;
        }
        match t {
            "--prefix" | "-C" | "--dir" | "--cwd" => {
                if let Some(d) = args.get(i + 1) {
                    base = resolve(&d.text, base.as_deref(), ctx);
                }
                i += 2;
                continue;
            }
            "--ignore-scripts" => ignore_scripts = true,
            "-w" | "--workspace" | "--filter" | "-F" if program != "pnpm" || t != "-w" => {
                i += 2;
                continue;
            }
            _ => {}
        }
        for p in ["--prefix=", "--dir=", "--cwd="] {
            if let Some(d) = t.strip_prefix(p) {
                base = resolve(d, base.as_deref(), ctx);
            }
        }
        if !t.starts_with('-') {
            positionals.push(a);
        } else if !positionals.is_empty() && positionals.len() >= 2 {
            // Options after the script name go to the script (npm ≥ 7 passes them on).
            extra.push(crate::command::display_word(t));
        }
        i += 1;
    }
    let sub = positionals.first().map(|w| w.text.as_str());
    let after = |n: usize| -> Vec<String> {
        positionals
            .get(n..)
            .unwrap_or(&[])
            .iter()
            .map(|w| crate::command::display_word(&w.text))
            .chain(extra.iter().cloned())
            .collect()
    };
    // (script, its arguments, whether pre/post run)
    let runs: Vec<(String, Vec<String>)> = match (program, sub) {
        (_, Some("run" | "run-script" | "rum" | "urn")) => match positionals.get(1) {
            Some(s) => vec![(s.text.clone(), after(2))],
            None => return Vec::new(),
        },
        (_, Some("test" | "t" | "tst")) if program != "bun" => vec![("test".into(), after(1))],
        (_, Some("start")) if program != "bun" => vec![("start".into(), after(1))],
        ("npm" | "pnpm" | "yarn", Some("stop")) => vec![("stop".into(), after(1))],
        ("npm" | "pnpm" | "yarn", Some("restart")) => vec![("restart".into(), after(1))],
        ("npm", Some("install" | "i" | "ci" | "in" | "ins" | "isntall" | "add"))
        | ("pnpm" | "yarn", Some("install" | "i"))
            if positionals.len() == 1 =>
        {
            vec![
                ("preinstall".into(), vec![]),
                ("install".into(), vec![]),
                ("postinstall".into(), vec![]),
                ("prepublish".into(), vec![]),
                ("preprepare".into(), vec![]),
                ("prepare".into(), vec![]),
                ("postprepare".into(), vec![]),
            ]
        }
        ("yarn", None) => vec![
            ("preinstall".into(), vec![]),
            ("install".into(), vec![]),
            ("postinstall".into(), vec![]),
            ("prepare".into(), vec![]),
        ],
        ("pnpm", Some(s)) if !PNPM_OWN.contains(&s) => vec![(s.to_string(), after(1))],
        ("yarn", Some(s)) if !YARN_OWN.contains(&s) => vec![(s.to_string(), after(1))],
        _ => return Vec::new(),
    };
    // The nearest package.json at or above the directory.
    let mut d = base;
    let mut found = None;
    while let Some(dir) = d {
        let p = format!("{}/package.json", dir.trim_end_matches('/'));
        if let Some(text) = read(ctx, seen, &p) {
            found = Some((dir, p, text));
            break;
        }
        d = (dir != "/" && !dir.is_empty()).then(|| {
            match dir.trim_end_matches('/').rsplit_once('/') {
                Some(("", _)) | None => "/".to_string(),
                Some((parent, _)) => parent.to_string(),
            }
        });
    }
    let Some((dir, path, text)) = found else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let Some(scripts) = json.get("scripts").and_then(|s| s.as_object()) else {
        return Vec::new();
    };
    let lifecycle = runs.iter().any(|(s, _)| s == "preinstall");
    let mut order: Vec<(String, Vec<String>)> = Vec::new();
    for (s, a) in runs {
        if lifecycle || ignore_scripts {
            order.push((s, a));
            continue;
        }
        if s == "restart" && !scripts.contains_key("restart") {
            for part in ["stop", "start"] {
                order.push((format!("pre{part}"), vec![]));
                order.push((part.into(), vec![]));
                order.push((format!("post{part}"), vec![]));
            }
            continue;
        }
        order.push((format!("pre{s}"), vec![]));
        order.push((s.clone(), a));
        order.push((format!("post{s}"), vec![]));
    }
    let cwd = WorkDir::Known(dir);
    let mut out = Vec::new();
    for (name, a) in order {
        let Some(body) = scripts.get(&name).and_then(|v| v.as_str()) else {
            continue;
        };
        let line = line_of_key(&text, &name);
        let body = if a.is_empty() {
            body.to_string()
        } else {
            format!("{body} {}", a.join(" "))
        };
        let label = format!("{program} run {name}");
        let mut cs = commands_of_text(cmd, &body, Dialect::Bash, &path, &label, cwd.clone(), &[]);
        for c in &mut cs {
            if let Some(f) = &mut c.file {
                f.line = line;
            }
        }
        out.extend(cs);
    }
    out
}

/// The line of `package.json` where the script `name` is defined.
fn line_of_key(text: &str, name: &str) -> usize {
    let key = format!("\"{name}\"");
    text.lines()
        .position(|l| l.trim_start().starts_with(&key))
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mf(text: &str) -> Makefile {
        let mut m = Makefile::default();
        let files = Fake(vec![("/p/Makefile".into(), text.into())]);
        let ctx = Context {
            cwd: Some("/p"),
            files: &files,
            ..Context::default()
        };
        read_makefile(&mut m, "/p/Makefile", "/p", &ctx, &mut Seen::default(), 0);
        m
    }

    struct Fake(Vec<(String, String)>);
    impl crate::engine::FileReader for Fake {
        fn read_small(&self, path: &str, _: u64) -> Option<String> {
            self.0
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, t)| t.clone())
        }
    }

    fn goal(m: &Makefile, g: &str) -> Vec<String> {
        let mut out = Vec::new();
        make_goal(m, g, &mut HashSet::new(), &mut out, 0);
        out.into_iter().map(|(l, _, _)| l).collect()
    }

    #[test]
    fn make_targets_prerequisites_and_variables() {
        let m = mf("DATA := data\nOUT = $(DATA)/out\n.PHONY: all clean\nall: build\n\nbuild: main.o\n\tcc -o app main.o\n%.o: %.c\n\tcc -c $< -o $@\nclean: tidy\n\t@rm -rf $(OUT) \\\n\t  $(DATA)\ntidy:\n\t-rm -f *.log # logs\n");
        assert_eq!(m.default_goal.as_deref(), Some("all"));
        assert_eq!(
            goal(&m, "all"),
            vec!["cc -c main.c -o main.o", "cc -o app main.o"]
        );
        assert_eq!(
            goal(&m, "clean"),
            vec!["-rm -f *.log # logs", "@rm -rf data/out \\\n  data"]
        );
        assert!(goal(&m, "nope").is_empty());
    }

    #[test]
    fn make_conditionals_defines_and_functions() {
        let m = mf("OS = linux\nifeq ($(OS),linux)\nT = a\nelse\nT = b\nendif\ndefine NUKE\nrm -rf $(T)\nendef\nx:\n\t$(NUKE)\n\techo $(addprefix d/,a b) $(patsubst %.c,%.o,x.c)\n");
        assert_eq!(goal(&m, "x"), vec!["rm -rf a", "echo d/a d/b x.o"]);
    }

    #[test]
    fn justfile_recipes() {
        let jf = read_justfile("set shell := [\"bash\", \"-c\"]\ndir := 'data'\n\ndefault: build\n\nbuild:\n    cargo build\n\n[confirm]\nnuke target=dir: build\n    @rm -rf {{target}}\n    echo done {{{{x}}\n\nalias n := nuke\n");
        let mut out = Vec::new();
        just_recipe(&jf, "n", &[], &mut HashSet::new(), &mut out, 0);
        let lines: Vec<&str> = out.iter().map(|(l, _, _)| l.as_str()).collect();
        assert_eq!(lines, vec!["cargo build", "rm -rf data", "echo done {{x}}"]);
        assert_eq!(jf.first.as_deref(), Some("default"));
        assert_eq!(jf.shell, Some(Dialect::Bash));
    }
}
