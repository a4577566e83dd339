//! The program words bash, zsh and fish look a line up in before starting
//! `backstop hook` (see `backstop_rules::prefilter`), rendered as shell code.
//!
//! With them come the files whose change makes them stale: the policy directories and
//! files, and this binary. The shells compare those with the words file written here
//! (`-nt`, no process) and load the words again when one is newer.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use backstop_rules::ProgramWords;
use sha2::{Digest as _, Sha256};

use super::init::Shell;
use crate::config::Dirs;

/// Words files nobody has loaded for this long are removed when another is written.
const KEEP_UNUSED: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the shells need to rule lines out: the words, and when to load them again.
struct Rendered {
    words: ProgramWords,
    file: PathBuf,
    watch: Vec<PathBuf>,
    /// The PATH the scripts were looked for on: another PATH loads the words again.
    path: String,
}

/// Shell code setting the prefilter's variables. When the words cannot be made (a
/// broken policy file, an unwritable data directory) it turns the prefilter off, so
/// every line goes to `backstop hook`, which reports the problem; a broken policy
/// file is still watched, and fixing it turns the prefilter back on.
pub fn block(shell: Shell, bin: &str, dirs: &Dirs) -> String {
    match render(bin, dirs) {
        Ok(r) => code(shell, Some(&r)),
        Err(_) => code(shell, None),
    }
}

fn render(bin: &str, dirs: &Dirs) -> Result<Rendered> {
    // Taken before the policies are read: a file changed while they are read is then
    // newer than the words file, and the shells load the words again.
    let started = SystemTime::now();
    // The repository layer depends on the directory; the shells check every line for
    // a `.backstop/` above it and then leave the line to the hook.
    // A policy that does not load turns the prefilter off until it is fixed: the words
    // file is still written, so that fixing it (a newer file) loads the words again.
    let mut words = crate::config::engine(dirs, None).map_or_else(
        |_| ProgramWords {
            every_command: true,
            ..ProgramWords::default()
        },
        |e| e.program_words(),
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let (scripts, path_dirs) = scripts_on_path(&path);
    words.add_scripts(scripts.iter().map(String::as_str));
    let mut text = String::new();
    for w in &words.words {
        text.push_str(w);
        text.push('\n');
    }
    let _ = writeln!(text, "# every command: {}", words.every_command);
    let _ = writeln!(text, "# redirects: {}", words.redirects);
    for l in words.redirect_literals.iter().flatten() {
        let _ = writeln!(text, "# redirect starting {l}");
    }
    let hash = Sha256::digest(text.as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    let dir = dirs.data.join("prefilter");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = dir.join(format!("{hex}.words"));
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.as_file().set_modified(started)?;
    tmp.persist(&file)?;
    sweep(&dir, &file);
    let mut watch = vec![PathBuf::from(bin)];
    for d in [&dirs.system, &dirs.user_policies] {
        watch.push(existing_ancestor(d));
        if let Ok(entries) = std::fs::read_dir(d) {
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            watch.extend(files);
        }
    }
    // A script put into a directory on PATH changes that directory.
    watch.extend(path_dirs);
    let mut seen = std::collections::HashSet::new();
    watch.retain(|p| seen.insert(p.clone()));
    Ok(Rendered {
        words,
        file,
        watch,
        path: path.to_string_lossy().into_owned(),
    })
}

/// The names of the scripts on `PATH` that the engine reads (outside the system's own
/// directories: `~/bin`, `~/.local/bin`, `/usr/local/bin` …), and the directories
/// searched. A name is a script when its file starts with `#!` or has a script's
/// extension; compiled programs are not.
pub fn scripts_on_path(path: &std::ffi::OsStr) -> (BTreeSet<String>, Vec<PathBuf>) {
    /// A directory this large is not scanned name by name (its names are not words).
    const MOST: usize = 10_000;
    let mut names = BTreeSet::new();
    let mut dirs = Vec::new();
    for dir in std::env::split_paths(path).filter(|d| d.is_absolute()) {
        let Some(text) = dir.to_str() else { continue };
        if !backstop_rules::scripts::followed_on_path(text) || dirs.contains(&dir) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        dirs.push(dir);
        for e in entries.take(MOST).flatten() {
            let p = e.path();
            if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
                if is_script(&p) {
                    names.insert(name.to_string());
                }
            }
        }
    }
    (names, dirs)
}

fn is_script(p: &Path) -> bool {
    use std::io::Read as _;
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return false;
        }
    }
    if !meta.is_file() {
        return false;
    }
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if matches!(
        ext.as_deref(),
        Some(
            "sh" | "bash"
                | "zsh"
                | "fish"
                | "ps1"
                | "bat"
                | "cmd"
                | "py"
                | "js"
                | "rb"
                | "pl"
                | "php"
                | "nu"
        )
    ) {
        return true;
    }
    let mut head = [0u8; 2];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"#!")
}

/// A directory that does not exist yet is watched through the nearest one that
/// does: creating it changes that one.
fn existing_ancestor(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|a| a.exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// Removes words files other than `keep` that no shell has loaded for a week (a shell
/// whose file went missing loads its words again).
fn sweep(dir: &Path, keep: &Path) {
    crate::config::remove_stale(dir, KEEP_UNUSED, |p| {
        p != keep && p.extension().is_some_and(|x| x == "words")
    });
}

/// `text` as a regular expression matching it literally (PCRE2, which fish uses,
/// takes a backslash before any punctuation as that character).
fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// The variables: `__backstop_wall` (check every line), `__backstop_wredir` (0: no
/// rule looks at redirects; 1: check every line with `>`; 2: those that also hold one
/// of `__backstop_wlits`), `__backstop_wref` (the words file), `__backstop_watch`, and
/// the words (`__backstop_words`: an associative array in bash and zsh, a list in fish).
fn code(shell: Shell, r: Option<&Rendered>) -> String {
    let q = |p: &Path| shell.quote(&p.display().to_string());
    let (all, redir) = r.map_or((1, 1), |r| {
        let redir = match (&r.words.redirect_literals, r.words.redirects) {
            (_, false) => 0,
            (None, true) => 1,
            (Some(_), true) => 2,
        };
        (flag(r.words.every_command), redir)
    });
    // Compared with the lower-cased line, as the reference does.
    let lits: BTreeSet<String> = r
        .and_then(|r| r.words.redirect_literals.as_ref())
        .map_or_else(BTreeSet::new, |l| {
            l.iter().map(|l| l.to_ascii_lowercase()).collect()
        });
    let lits = match shell {
        // fish matches them as one regular expression: no substitution per literal.
        Shell::Fish => shell.quote(
            &lits
                .iter()
                .map(|l| regex_escape(l))
                .collect::<Vec<_>>()
                .join("|"),
        ),
        _ => lits
            .iter()
            .map(|l| shell.quote(l))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let wref = r.map_or_else(String::new, |r| q(&r.file));
    let wpath = shell.quote(r.map_or("", |r| r.path.as_str()));
    let watch: Vec<String> = r.map_or_else(Vec::new, |r| r.watch.iter().map(|p| q(p)).collect());
    let words: Vec<String> = r.map_or_else(Vec::new, |r| {
        r.words.words.iter().map(|w| shell.quote(w)).collect()
    });
    let watch = watch.join(" ");
    match shell {
        Shell::Bash => {
            let assoc: Vec<String> = words.iter().map(|w| format!("[{w}]=1")).collect();
            format!(
                "declare -g __backstop_wall={all} __backstop_wredir={redir} __backstop_wref={} __backstop_wpath={wpath}\ndeclare -ga __backstop_watch=({watch}) __backstop_wlits=({lits})\ndeclare -gA __backstop_words=({})\n",
                if wref.is_empty() { "''".into() } else { wref },
                assoc.join(" ")
            )
        }
        Shell::Zsh => {
            let pairs: Vec<String> = words.iter().map(|w| format!("{w} 1")).collect();
            format!(
                "typeset -g __backstop_wall={all} __backstop_wredir={redir} __backstop_wref={} __backstop_wpath={wpath}\ntypeset -ga __backstop_watch __backstop_wlits\n__backstop_watch=({watch})\n__backstop_wlits=({lits})\ntypeset -gA __backstop_words\n__backstop_words=({})\n",
                if wref.is_empty() { "''".into() } else { wref },
                pairs.join(" ")
            )
        }
        // One string, " rm dd … ", that a glob finds ` WORD ` in: fish has no
        // associative arrays, and `contains` over a list of hundreds is slow.
        Shell::Fish => format!(
            "set -g __backstop_wall {all}\nset -g __backstop_wredir {redir}\nset -g __backstop_wref {}\nset -g __backstop_wpath {}\nset -g __backstop_watch {watch}\nset -g __backstop_wlits {lits}\nset -g __backstop_words {}\n",
            if wref.is_empty() { "''".into() } else { wref },
            // fish joins a quoted "$PATH" with colons, as the environment has it.
            wpath,
            shell.quote(&format!(
                " {} ",
                r.map_or_else(String::new, |r| r
                    .words
                    .words
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" "))
            ))
        ),
        // nushell and PowerShell start the hook for every line.
        Shell::Nu | Shell::Pwsh => String::new(),
    }
}

/// `backstop init SHELL --words`: the block alone, for a shell loading it again.
pub fn print(shell: Shell, bin: &str, dirs: &Dirs) {
    print!("{}", block(shell, bin, dirs));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> Dirs {
        Dirs {
            system: root.join("system"),
            user_policies: root.join("policies"),
            data: root.join("data"),
        }
    }

    #[test]
    fn writes_the_words_file_and_watches_the_policies() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        std::fs::create_dir_all(&d.user_policies).unwrap();
        std::fs::write(d.user_policies.join("mine.toml"), "").unwrap();
        let r = render("/usr/bin/backstop", &d).unwrap();
        let text = std::fs::read_to_string(&r.file).unwrap();
        assert!(text.lines().any(|l| l == "rm"));
        assert!(r.watch.contains(&d.user_policies.join("mine.toml")));
        // The system directory does not exist: its parent stands in.
        assert!(r.watch.contains(&tmp.path().to_path_buf()));
        // Its time is when reading began, not later.
        let age = std::fs::metadata(&r.file).unwrap().modified().unwrap();
        assert!(age <= SystemTime::now());
    }

    #[test]
    fn a_broken_policy_turns_the_prefilter_off() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        std::fs::create_dir_all(&d.user_policies).unwrap();
        std::fs::write(d.user_policies.join("bad.toml"), "[[rule]\n").unwrap();
        let code = block(Shell::Bash, "/usr/bin/backstop", &d);
        assert!(code.starts_with("declare -g __backstop_wall=1 "), "{code}");
        assert!(
            code.contains("bad.toml"),
            "the broken file is watched: {code}"
        );
        let code = block(Shell::Fish, "/usr/bin/backstop", &d);
        assert!(code.starts_with("set -g __backstop_wall 1\n"), "{code}");
    }

    #[test]
    fn renders_each_shells_words() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        let bash = block(Shell::Bash, "/usr/bin/backstop", &d);
        assert!(bash.contains("['rm']=1"), "{bash}");
        assert!(
            bash.contains("__backstop_wall=0 __backstop_wredir=2"),
            "{bash}"
        );
        assert!(bash.contains(" '/dev/sd' "), "{bash}");
        let zsh = block(Shell::Zsh, "/usr/bin/backstop", &d);
        assert!(zsh.contains(" 'rm' 1 "), "{zsh}");
        let fish = block(Shell::Fish, "/usr/bin/backstop", &d);
        assert!(
            fish.contains("set -g __backstop_words ' ") && fish.contains(" rm "),
            "{fish}"
        );
        assert!(fish.contains(r"|\\/dev\\/sd|"), "{fish}");
        assert!(block(Shell::Nu, "/usr/bin/backstop", &d).is_empty());
    }
}
