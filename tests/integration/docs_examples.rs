//! The docs' examples and links, held to the built binary and the tree.
//!
//! A ```` ```console ```` block in README.md or docs/*.md whose fence follows the line
//! `<!-- tested -->` (or `<!-- tested: SETUP -->`, SETUP a shell command run first) is
//! run here: each `$ ` line through `/bin/sh` in a throwaway HOME (a directory under the
//! real home) and BACKSTOP_HOME,
//! with the built binary first on PATH. The lines after it are its expected output:
//! every line shown must appear in the output (stdout and stderr together), in that
//! order; `…` stands for any text. `/home/ada` in the docs is the throwaway HOME.
//! Every relative link of these pages must name a file that exists, and an anchor a
//! heading of that file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const DOCS_HOME: &str = "/home/ada";

/// Pages the README links to that another branch is writing; each goes when it lands.
const PENDING: &[&str] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, policies/README.md and every page in docs/.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("policies/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("read docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[derive(Debug)]
struct Example {
    page: PathBuf,
    line: usize,
    setup: Option<String>,
    /// Each command with the output lines shown after it.
    steps: Vec<(String, Vec<String>)>,
}

fn examples(page: &Path) -> Vec<Example> {
    let text = read(page);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let marker = lines[i].trim();
        let setup = if marker == "<!-- tested -->" {
            Some(None)
        } else {
            marker
                .strip_prefix("<!-- tested:")
                .and_then(|m| m.strip_suffix("-->"))
                .map(|s| Some(s.trim().to_string()))
        };
        let Some(setup) = setup else {
            i += 1;
            continue;
        };
        assert_eq!(
            lines.get(i + 1).map(|l| l.trim()),
            Some("```console"),
            "{}:{}: a `<!-- tested -->` marker must be followed by a ```console block",
            page.display(),
            i + 1
        );
        let start = i + 1;
        let mut steps: Vec<(String, Vec<String>)> = Vec::new();
        i += 2;
        while i < lines.len() && lines[i].trim() != "```" {
            if let Some(cmd) = lines[i].strip_prefix("$ ") {
                steps.push((cmd.to_string(), Vec::new()));
            } else if let Some((_, expected)) = steps.last_mut() {
                expected.push(lines[i].to_string());
            } else {
                panic!(
                    "{}:{}: a tested block starts with a `$ ` line",
                    page.display(),
                    i + 1
                );
            }
            i += 1;
        }
        out.push(Example {
            page: page.to_path_buf(),
            line: start,
            setup,
            steps,
        });
        i += 1;
    }
    out
}

/// Whether `line` is what `shown` shows: `…` stands for any text.
fn shows(shown: &str, line: &str) -> bool {
    let shown = shown.trim_end();
    let line = line.trim_end();
    let parts: Vec<&str> = shown.split('…').collect();
    if parts.len() == 1 {
        return line == shown;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn sh(cmd: &str, home: &Path, backstop_home: &Path) -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_backstop"))
        .parent()
        .expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("exec 2>&1\n{cmd}"))
        .current_dir(home)
        .env("PATH", path)
        .env("HOME", home)
        .env("BACKSTOP_HOME", backstop_home)
        .env("NO_COLOR", "1")
        // clap wraps help to the terminal's width (stdin's, if it is one): 100 columns here.
        .env("COLUMNS", "100")
        .stdin(std::process::Stdio::null());
    for var in [
        "CLICOLOR_FORCE",
        "BACKSTOP_NONINTERACTIVE",
        "BASH_ENV",
        "CLAUDECODE",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
    ] {
        command.env_remove(var);
    }
    let out = command.output().expect("run /bin/sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run(example: &Example) -> Result<(), String> {
    // Under the real home: /tmp is temporary to the rules, and a `target` directory
    // (where CARGO_TARGET_TMPDIR is) regenerable, so neither would be refused.
    let real_home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let dir = tempfile::Builder::new()
        .prefix("backstop-docs")
        .tempdir_in(real_home)
        .map_err(|e| e.to_string())?;
    let home = dir.path().join("home");
    let backstop_home = dir.path().join("backstop");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&backstop_home).map_err(|e| e.to_string())?;
    let home_text = home.display().to_string();
    if let Some(setup) = &example.setup {
        sh(setup, &home, &backstop_home);
    }
    for (cmd, expected) in &example.steps {
        let output = sh(cmd, &home, &backstop_home);
        let mut lines = output.lines();
        for shown in expected.iter().filter(|l| !l.trim().is_empty()) {
            let shown = shown.replace(DOCS_HOME, &home_text);
            if !lines.any(|line| shows(&shown, line)) {
                return Err(format!(
                    "$ {cmd}\nthe docs show:\n  {shown}\nwhich is not in the output (in order):\n{output}"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn docs_examples_print_what_the_docs_show() {
    let mut failures = Vec::new();
    let mut count = 0;
    for page in pages() {
        for example in examples(&page) {
            count += 1;
            if let Err(e) = run(&example) {
                failures.push(format!(
                    "{}:{}:\n{e}",
                    example
                        .page
                        .strip_prefix(root())
                        .unwrap_or(&example.page)
                        .display(),
                    example.line
                ));
            }
        }
    }
    // The README's tour and the key pages carry tested examples; losing the markers
    // would make this test pass while checking nothing.
    assert!(count >= 6, "only {count} tested examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_matching_of_shown_lines() {
    assert!(shows(
        "deny: `rm` matches fs.rm …",
        "deny: `rm` matches fs.rm (x) on path"
    ));
    assert!(shows("a … c", "a b c"));
    assert!(shows("exact", "exact  "));
    assert!(!shows("exact", "exact and more"));
    assert!(!shows("a … c", "a b d"));
    assert!(!shows("…z", "abc"));
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let base = slug(line.trim_start_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The targets of the page's links and images, outside code.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Inline code spans hold examples, not links.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
    }
    out
}

#[test]
fn docs_links_point_at_files_and_headings_that_exist() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = read(&page);
        let dir = page.parent().expect("a page's directory");
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = match link.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (link.as_str(), None),
            };
            let target = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            if !target.exists() && !PENDING.iter().any(|p| root().join(p) == target) {
                broken.push(format!("{name}: {link}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                if target.extension().is_some_and(|e| e == "md")
                    && !anchors(&read(&target)).contains(anchor)
                {
                    broken.push(format!("{name}: {link}: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_slugs_are_githubs() {
    assert_eq!(slug(" Time for 10,000 files"), "time-for-10000-files");
    assert_eq!(
        slug(" `backstop restore ID [--to PLACE]`"),
        "backstop-restore-id---to-place"
    );
    assert_eq!(slug(" cmd.exe"), "cmdexe");
    assert_eq!(slug(" Each shell's own reader"), "each-shells-own-reader");
}
