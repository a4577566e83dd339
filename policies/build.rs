#![allow(clippy::panic)] // A pack that is not TOML must fail the build, loudly.
//! Indexes the built-in packs at build time.
//!
//! Each pack is split into its top-level sections (`[pack]`, `[sets]`, each
//! `[[program]]` and `[[rule]]` with its sub-tables), and a sorted index maps every
//! program name to the sections that mention it. At run time backstop parses only
//! the sections for the programs a line runs, which keeps a benign `check` close to
//! a bare process start.

#[path = "src/literals.rs"]
mod literals;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn strings(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A top-level header starts a section; `[rule.examples]` and the like belong to the
/// section above them.
fn is_section_start(line: &str) -> bool {
    let t = line.trim_start();
    matches!(
        t.split(']').next(),
        Some("[[rule" | "[[program" | "[[override" | "[pack" | "[sets")
    )
}

fn main() {
    let dir = Path::new("packs");
    println!("cargo:rerun-if-changed=packs");
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("policies/packs exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("pub static PACKS: &[BuiltinPack] = &[\n");
    let mut index: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    let mut args_literals: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (pack_no, path) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(path).expect("pack is readable");
        let whole: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name");

        // Split into sections by byte offset; the text before the first header
        // (comments) is left out.
        let mut starts = Vec::new();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if is_section_start(line) {
                starts.push(offset);
            }
            offset += line.len();
        }
        starts.push(text.len());
        let mut sections = String::new();
        let mut all_programs = Vec::new();
        let mut ids = Vec::new();
        let mut rebuilt = 0;
        for (sec_no, w) in starts.windows(2).enumerate() {
            let body = &text[w[0]..w[1]];
            let line = text[..w[0]].matches('\n').count() + 1;
            let doc: toml::Table = toml::from_str(body).unwrap_or_else(|e| {
                panic!(
                    "{}:{line}: section does not parse alone: {e}",
                    path.display()
                )
            });
            let (kind, programs) = if let Some(rules) = doc.get("rule").and_then(|v| v.as_array()) {
                let r = &rules[0];
                if let Some(id) = r.get("id").and_then(|v| v.as_str()) {
                    ids.push(id.to_string());
                    let re = r.get("args_regex").and_then(|v| v.as_str());
                    if let Some(lits) = re.and_then(literals::required_literals) {
                        args_literals.insert(id.to_string(), lits);
                    }
                }
                ("Rule", strings(r.get("programs")))
            } else if let Some(p) = doc.get("program").and_then(|v| v.as_array()) {
                ("Program", strings(p[0].get("names")))
            } else {
                ("Header", Vec::new())
            };
            rebuilt += doc.len();
            let programs: Vec<String> = programs.iter().map(|p| p.to_ascii_lowercase()).collect();
            // A rule for every program that only looks at redirections (`> /dev/sda`) is
            // indexed under `>`: it is parsed only for commands that redirect output.
            let redirect_only = kind == "Rule"
                && doc
                    .get("rule")
                    .and_then(|r| r.as_array())
                    .is_some_and(|r| r[0].get("redirect_regex").is_some());
            for p in &programs {
                let key = if p == "*" && redirect_only {
                    ">".to_string()
                } else {
                    p.clone()
                };
                index.entry(key).or_default().push((pack_no, sec_no));
                all_programs.push(p.clone());
            }
            // A rule's examples are for `cargo test` and `policy test`, not for deciding
            // a line: when they are its last sub-table, the engine parses up to them.
            let mut decide_end = w[1];
            if let Some(at) = body.find("\n[rule.examples]") {
                let after = &body[at + 1..];
                let more_tables = after
                    .lines()
                    .skip(1)
                    .any(|l| l.trim_start().starts_with('['));
                if !more_tables {
                    decide_end = w[0] + at + 1;
                }
            }
            writeln!(
                sections,
                "        Section {{ kind: SectionKind::{kind}, start: {}, end: {}, decide_end: {decide_end}, line: {line}, programs: &{programs:?} }},",
                w[0], w[1]
            )
            .expect("write to string");
        }
        // Every top-level key must have landed in some section.
        assert!(
            rebuilt >= whole.len(),
            "{}: sections lost a top-level key",
            path.display()
        );
        all_programs.sort();
        all_programs.dedup();
        let abs = fs::canonicalize(path).expect("pack path");
        writeln!(
            out,
            "    BuiltinPack {{ name: {stem:?}, source: include_str!({:?}), programs: &{all_programs:?}, rule_ids: &{ids:?}, sections: &[\n{sections}    ] }},",
            abs.display().to_string()
        )
        .expect("write to string");
    }
    out.push_str("];\n\n/// Program name → (pack, section) pairs, sorted by name for binary search.\npub static INDEX: &[(&str, &[(u16, u16)])] = &[\n");
    for (program, refs) in &index {
        let refs: Vec<String> = refs.iter().map(|(p, s)| format!("({p}, {s})")).collect();
        writeln!(out, "    ({program:?}, &[{}]),", refs.join(", ")).expect("write to string");
    }
    out.push_str("];\n\n/// Rule id → literals its `args_regex` needs, sorted by id for binary search.\npub static ARGS_LITERALS: &[(&str, &[&str])] = &[\n");
    for (id, lits) in &args_literals {
        writeln!(out, "    ({id:?}, &{lits:?}),").expect("write to string");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("packs.rs");
    fs::write(dest, out).expect("write packs.rs");
}
