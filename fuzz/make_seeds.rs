//! Writes the fuzz targets' seed inputs: `fuzz-seeds OUT [--corpora DIR] [--max N]`
//! (scripts/fuzz-seeds.sh runs it). One directory per target under OUT, one file per
//! input, named by its SHA-256.
//!
//! The seeds come from the project's own tests: every built-in rule's examples and
//! packs, the built-in recipes, the agents' sample hook inputs, and the string
//! literals of the unit and integration tests; then, with `--corpora`, from the
//! labelled command lines and SQL of the shared corpora (read, never copied into the
//! repository). `--max N` keeps N a target, evenly spread, for a short run.

// A tool run by hand or by scripts/fuzz-seeds.sh: a failure ends it with the message.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use backstop::agent::{jsonc, Agent};
use backstop::cmd::init::Shell;
use backstop_backup::archive::{EntryKind, IndexEntry};
use backstop_backup::manifest::{Copy, CopyKind, Manifest, Target};
use backstop_rules::Engine;
use sha2::{Digest as _, Sha256};

/// The targets whose input is one command line, and the shells whose lines they read.
const LINE_TARGETS: &[(&str, &[&str])] = &[
    ("evaluate_bash", &["bash", "sh"]),
    ("evaluate_zsh", &["bash", "sh", "zsh"]),
    ("evaluate_fish", &["bash", "sh", "fish"]),
    ("evaluate_powershell", &["powershell", "pwsh"]),
    ("evaluate_cmd", &["cmd"]),
    // No corpus is written for nushell; its simple commands read like bash's.
    ("evaluate_nu", &["nu", "bash"]),
    ("prefilter", &["bash", "sh", "zsh", "fish"]),
];

/// Inputs longer than this are not seeds: short ones mutate faster.
const MAX_SEED: usize = 64 << 10;

#[derive(Default)]
struct Seeds(BTreeMap<&'static str, BTreeSet<Vec<u8>>>);

impl Seeds {
    fn add(&mut self, target: &'static str, data: impl Into<Vec<u8>>) {
        let data = data.into();
        if !data.is_empty() && data.len() <= MAX_SEED {
            self.0.entry(target).or_default().insert(data);
        }
    }

    /// A command line, for the targets of the shell it was written for (`None`: any).
    fn line(&mut self, line: &str, shell: Option<&str>) {
        for (target, shells) in LINE_TARGETS {
            if shell.is_none_or(|s| shells.contains(&s)) {
                self.add(target, line);
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut out = None;
    let mut corpora = None;
    let mut max = usize::MAX;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--corpora" => corpora = args.next().map(PathBuf::from),
            "--max" => max = args.next().and_then(|n| n.parse().ok()).unwrap_or(max),
            _ => out = Some(PathBuf::from(a)),
        }
    }
    let Some(out) = out else {
        eprintln!("usage: fuzz-seeds OUT [--corpora DIR] [--max N]");
        std::process::exit(2);
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = Seeds::default();
    builtin_policies(&mut seeds);
    test_literals(&mut seeds, root);
    agent_samples(&mut seeds, root);
    manifests(&mut seeds);
    audit_logs(&mut seeds);
    profiles(&mut seeds);
    if let Some(dir) = corpora {
        shared_corpora(&mut seeds, &dir);
    }
    for (target, inputs) in &seeds.0 {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let step = inputs.len().div_ceil(max).max(1);
        let mut n = 0;
        for data in inputs.iter().step_by(step) {
            let name = backstop_backup::copy::hex(&Sha256::digest(data));
            std::fs::write(dir.join(&name[..40]), data).unwrap();
            n += 1;
        }
        println!("{target}: {n} seeds");
    }
}

/// Every built-in pack whole and rule by rule, every rule's example lines, and the
/// built-in recipes one by one.
fn builtin_policies(seeds: &mut Seeds) {
    let engine = Engine::builtin();
    for pack in backstop_policies::PACKS {
        seeds.add("policy", pack.source);
        let header: String = pack
            .sections
            .iter()
            .filter(|s| s.kind == backstop_policies::SectionKind::Header)
            .map(|s| pack.text(s))
            .collect();
        for s in pack.sections {
            if s.kind != backstop_policies::SectionKind::Header {
                seeds.add("policy", format!("{header}{}", pack.text(s)));
            }
        }
    }
    for policy in engine.all_policies().unwrap() {
        for rule in &policy.rules {
            let ex = &rule.spec.examples;
            for e in ex.matching.iter().chain(&ex.no_match) {
                seeds.line(e.line(), e.shell());
            }
        }
    }
    seeds.add("policy", backstop_policies::RECIPES);
    for table in backstop_policies::RECIPES.split("[[recipe]]\n").skip(1) {
        seeds.add("recipe", table);
        seeds.add("recipe", format!("{table}\0HKCU\\Software\\App"));
    }
    seeds.add("sql", "DROP TABLE users; DELETE FROM orders;");
}

/// The string literals of the tests (and the unit tests beside the code): command
/// lines, policy files, JSON and SQL the tests were written with.
fn test_literals(seeds: &mut Seeds, root: &Path) {
    for dir in ["rules", "hook", "backup", "tests", "policies"] {
        for entry in walkdir::WalkDir::new(root.join(dir))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        {
            let code = std::fs::read_to_string(entry.path()).unwrap();
            for lit in string_literals(&code) {
                route(seeds, &lit);
            }
        }
    }
}

/// A literal to the targets whose input it looks like.
fn route(seeds: &mut Seeds, text: &str) {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') && !trimmed.starts_with("[[") {
        if serde_json::from_str::<serde_json::Value>(text).is_ok() {
            seeds.add("agent_hook", text);
            seeds.add("manifest", text);
        }
        if jsonc::parse(text).is_ok() {
            seeds.add("agent_settings", text);
        }
        return;
    }
    if [
        "[[rule]]",
        "[[override]]",
        "[[program]]",
        "[pack]",
        "[sets]",
    ]
    .iter()
    .any(|h| text.contains(h))
    {
        seeds.add("policy", text);
        return;
    }
    if let Some((_, table)) = text.split_once("[[recipe]]\n") {
        seeds.add("recipe", table);
        seeds.add("policy", text);
        return;
    }
    let upper = text.to_ascii_uppercase();
    if [
        "DROP ",
        "DELETE ",
        "TRUNCATE ",
        "ALTER ",
        "SELECT ",
        "UPDATE ",
    ]
    .iter()
    .any(|k| upper.contains(k))
    {
        seeds.add("sql", text);
    }
    if text.contains('\n') {
        seeds.add("shell_profile", text);
    }
    seeds.line(text, None);
}

/// The string literals in Rust source: `"…"` with its escapes, and `r#"…"#`.
fn string_literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i += code[i..].find('\n').unwrap_or(code.len() - i);
            }
            b'\'' => {
                // A char literal ('"', '\'') or a lifetime: skip what could hold a quote.
                let close = code[i + 1..]
                    .char_indices()
                    .take(12)
                    .find(|(_, c)| *c == '\'');
                i += close.map_or(1, |(j, _)| j + 2);
            }
            b'r' if i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = i + 2 + hashes;
                let close = format!("\"{}", "#".repeat(hashes));
                let Some(len) = code[start..].find(&close) else {
                    break;
                };
                out.push(code[start..start + len].to_string());
                i = start + len + close.len();
            }
            b'"' => {
                let (text, len) = unescape(&code[i + 1..]);
                out.push(text);
                i += len + 2;
            }
            _ => i += 1,
        }
    }
    out
}

/// A `"…"` literal's text from after its opening quote: the string and the length of
/// its source up to the closing quote.
fn unescape(src: &str) -> (String, usize) {
    let mut out = String::new();
    let mut chars = src.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, i),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, 'u')) => {
                    let hex: String = chars
                        .by_ref()
                        .map(|(_, c)| c)
                        .skip(1)
                        .take_while(|c| *c != '}')
                        .collect();
                    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(c);
                    }
                }
                Some((_, 'x')) => {
                    let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(c);
                    }
                }
                // A line continuation: the newline and the next line's indentation go.
                Some((_, '\n')) => {
                    let rest = chars.as_str();
                    let skip = rest.len() - rest.trim_start().len();
                    for _ in 0..rest[..skip].chars().count() {
                        chars.next();
                    }
                }
                Some((_, other)) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    (out, src.len())
}

/// The hook inputs the agents really send (tests/integration/agent_samples).
fn agent_samples(seeds: &mut Seeds, root: &Path) {
    let dir = root.join("tests/integration/agent_samples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        seeds.add("agent_hook", text.as_str());
        // Some samples hold one input a line.
        for line in text.lines().filter(|l| l.starts_with('{')) {
            seeds.add("agent_hook", line);
        }
    }
    // Settings files as install leaves them, to be installed again and taken out.
    let settings: Vec<Vec<u8>> = seeds
        .0
        .get("agent_settings")
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    for text in settings.iter().filter_map(|t| std::str::from_utf8(t).ok()) {
        for agent in Agent::ALL {
            let command = format!("'/opt/backstop/bin/backstop' agent-hook {}", agent.name());
            if let Ok(installed) =
                backstop::agent::settings::with_hook(agent, &command, text, Path::new("f"))
            {
                seeds.add("agent_settings", installed);
            }
        }
    }
}

/// Manifests as `backstop backup` writes them: a path with its index, a recipe's.
fn manifests(seeds: &mut Seeds) {
    let copy = |path: &str, device| {
        Copy::local(
            path.into(),
            device,
            10_240,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        )
    };
    // A copy in a restic repository, as a remote destination records it.
    let mut remote = copy("restic:/srv/repo snapshot 1a2b3c4d", 0);
    remote.kind = CopyKind::Restic;
    remote.location = Some("restic:/srv/repo".into());
    remote.object = Some("/20260101T000000Z-app-9f9f.sql".into());
    remote.snapshot = Some("1a2b3c4d5e6f".into());
    remote.proven = Some(1_767_225_650);
    remote.domain = vec!["remote:restic:/srv/repo".into()];
    let path = Manifest {
        id: "20260101T000000Z-data-1a2b".into(),
        target: Target {
            kind: "path".into(),
            value: "/home/u/data".into(),
        },
        created: 1_767_225_600,
        backstop_version: "0.1.0".into(),
        recipe: "native-tar".into(),
        copies: vec![
            copy("/mnt/a/20260101T000000Z-data-1a2b.tar", 2049),
            copy("/mnt/b/20260101T000000Z-data-1a2b.tar", 2065),
        ],
        redundant: true,
        verified: "sha256 of both copies, re-read after writing".into(),
        restore_test: "passed".into(),
        restore_tested: Some(1_767_225_700),
        restore_detail: Some("3 files restored and compared".into()),
        recorded: None,
        block_sha256: vec!["ab".repeat(32), "cd".repeat(32)],
        block_size: 8 << 20,
        index: vec![
            IndexEntry {
                path: "data".into(),
                kind: EntryKind::Dir,
                size: 0,
                mtime: (1_767_225_000, 0),
                sha256: None,
            },
            IndexEntry {
                path: "data/notes.txt".into(),
                kind: EntryKind::File,
                size: 5,
                mtime: (1_767_225_001, 500),
                sha256: Some(
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                ),
            },
            IndexEntry {
                path: "data/link".into(),
                kind: EntryKind::Symlink,
                size: 0,
                mtime: (-1, 999_999_999),
                sha256: None,
            },
        ],
    };
    let recipe = Manifest {
        id: "20260101T000000Z-app-9f9f".into(),
        target: Target {
            kind: "postgres".into(),
            value: "app".into(),
        },
        recipe: "postgres".into(),
        copies: vec![copy("/mnt/a/20260101T000000Z-app-9f9f.sql", 2049), remote],
        recorded: Some("users 10\norders 2\n".into()),
        restore_test: "not-run".into(),
        restore_tested: None,
        restore_detail: None,
        block_sha256: Vec::new(),
        block_size: 0,
        index: Vec::new(),
        ..path.clone()
    };
    for m in [path, recipe] {
        seeds.add("manifest", serde_json::to_vec_pretty(&m).unwrap());
        seeds.add("manifest", serde_json::to_vec(&m).unwrap());
    }
}

/// A log as `append` chains it, with its head file before a NUL byte; and the same
/// log cut, reordered and edited.
fn audit_logs(seeds: &mut Seeds) {
    use backstop::audit::{sha256_hex, Record, TargetRecord};
    let mut prev = "0".repeat(64);
    let mut lines = Vec::new();
    for (seq, (event, line)) in [
        ("deny", "rm -rf ~/data"),
        ("approved", "psql -c 'DROP TABLE t' app"),
        ("ran", "psql -c 'DROP TABLE t' app"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = Record {
            seq: seq as u64 + 1,
            time: 1_767_225_600 + seq as u64,
            event: event.into(),
            source: "bash".into(),
            session: "s-1".into(),
            line: line.into(),
            line_sha256: sha256_hex(line.as_bytes()),
            rules: vec!["filesystem.rm-recursive".into()],
            targets: vec![TargetRecord {
                kind: "path".into(),
                value: "/home/u/data".into(),
                backup: "missing".into(),
                manifest: None,
                place: Some("/home/u/data".into()),
                git: None,
            }],
            detail: String::new(),
            prev: prev.clone(),
        };
        let text = serde_json::to_string(&r).unwrap();
        prev = sha256_hex(text.as_bytes());
        lines.push(text);
    }
    let head = format!("{{\"count\":{},\"last\":\"{prev}\"}}", lines.len());
    let log = lines.join("\n") + "\n";
    seeds.add("audit_log", format!("{head}\0{log}"));
    seeds.add("audit_log", log.clone());
    seeds.add("audit_log", format!("{head}\0{}", &log[..log.len() / 2]));
    let mut reordered = lines.clone();
    reordered.swap(0, 2);
    seeds.add("audit_log", format!("{head}\0{}\n", reordered.join("\n")));
    // The numbers at their bounds: the last sequence number a log can hold.
    let last = lines[0].replace("\"seq\":1,", &format!("\"seq\":{},", u64::MAX));
    seeds.add("audit_log", format!("{head}\0{last}\n{}\n", lines[1]));
}

/// Profiles as people have them: LF and CRLF, with and without a final newline, empty,
/// and with backstop's block in them.
fn profiles(seeds: &mut Seeds) {
    let bashrc = "# ~/.bashrc\nexport PATH=\"$HOME/bin:$PATH\"\nalias ll='ls -l'\n\n[ -f ~/.fzf.bash ] && source ~/.fzf.bash\n";
    let texts = [
        bashrc.to_string(),
        bashrc.replace('\n', "\r\n"),
        bashrc.trim_end().to_string(),
        bashrc.replace('\n', "\r\n").trim_end().to_string(),
        "\n".into(),
        "\r\n".into(),
        "set -gx EDITOR vim".into(),
        "# <<< backstop <<<\n".into(),
    ];
    for text in texts {
        seeds.add("shell_profile", text.as_str());
        for shell in [Shell::Bash, Shell::Pwsh] {
            if let Ok((installed, _)) =
                backstop::cmd::init::with_block(&text, shell, "eval \"$(backstop init bash)\"")
            {
                seeds.add("shell_profile", installed);
            }
        }
    }
}

/// The shared corpora's labelled lines and SQL (`cmd` with its `shell`, or `sql`).
fn shared_corpora(seeds: &mut Seeds, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!("fuzz-seeds: no corpora in {}", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for row in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(row) else {
                continue;
            };
            if let Some(sql) = v.get("sql").and_then(|s| s.as_str()) {
                seeds.add("sql", sql);
                seeds.line(&format!("psql -c {}", Shell::Bash.quote(sql)), Some("bash"));
            }
            if let Some(cmd) = v.get("cmd").and_then(|s| s.as_str()) {
                let shell = v.get("shell").and_then(|s| s.as_str()).unwrap_or("bash");
                seeds.line(cmd, Some(shell));
            }
        }
    }
}
