#![allow(clippy::panic)] // A pack that is not TOML must fail the build, loudly.
//! Indexes the built-in packs at build time: which programs each pack's rules name and
//! which rule ids it defines. At run time backstop then parses only the packs whose
//! programs a line runs, which keeps a benign `check` close to a bare process start.

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
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(path).expect("pack is readable");
        // A pack that is not even TOML fails the build; full validation is the engine's
        // and runs in `cargo test`.
        let doc: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut programs = Vec::new();
        let mut ids = Vec::new();
        for table in ["rule", "program"] {
            for item in doc
                .get(table)
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let key = if table == "rule" { "programs" } else { "names" };
                for p in strings(item.get(key)) {
                    programs.push(p.to_ascii_lowercase());
                }
                if let Some(id) = item.get("id").and_then(|v| v.as_str()) {
                    ids.push(id.to_string());
                }
            }
        }
        programs.sort();
        programs.dedup();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name");
        let abs = fs::canonicalize(path).expect("pack path");
        writeln!(
            out,
            "    BuiltinPack {{ name: {stem:?}, source: include_str!({:?}), programs: &{programs:?}, rule_ids: &{ids:?} }},",
            abs.display().to_string()
        )
        .expect("write to string");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("packs.rs");
    fs::write(dest, out).expect("write packs.rs");
}
