//! What an agent may not change by editing files, because changing it would turn
//! backstop off: backstop's own configuration, policies and data (wherever
//! [`Dirs`] puts them, a custom `BACKSTOP_HOME` included), the system layer, its
//! executable, a repository's `.backstop/`, the agents' hook settings (user, project
//! and managed), and any file that holds the block `backstop install SHELL` writes
//! into a shell profile.
//!
//! A path is judged the way it will be opened: relative to the agent's working
//! directory, with `~` read both as the agent may expand it and as the literal name
//! the OS sees, with `..` folded both lexically (as Node's `path.resolve` does
//! before the OS sees the path) and after symbolic links (as the kernel does), and
//! through every symbolic link of the parts that exist, the last one included (a
//! write follows it). Names compare without regard to case: macOS and Windows (and
//! case-folding Linux directories) open `.Claude/Settings.json` as the same file,
//! and refusing a differently-cased twin elsewhere costs nothing.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use crate::config::Dirs;

/// The first line of the block `backstop install SHELL` writes into a profile.
pub const PROFILE_BLOCK: &str = "# >>> backstop >>>";

/// How much of a file's start, and of its end (where install appends the block), is
/// searched for the profile block: a profile is never larger, and an agent editing a
/// large data file does not wait for all of it to be read.
const PROFILE_SCAN: u64 = 1 << 20;

/// Symbolic links followed in one path before it is taken as it stands (Linux's limit).
const MAX_LINKS: usize = 40;

/// Why a path may not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The path as the agent named it, made absolute.
    pub path: PathBuf,
    /// Where it leads when that differs (a symbolic link, `..`).
    pub resolved: Option<PathBuf>,
    /// What it is, for a sentence: "backstop's configuration (/home/ada/.config/backstop)".
    pub what: String,
}

/// The places that keep backstop working, found once per decision.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    /// Whole trees: backstop's directories, Copilot's hook directory.
    trees: Vec<(PathBuf, String)>,
    /// Single files: backstop's executable, the agents' settings in their config dirs.
    files: Vec<(PathBuf, String)>,
    home: Option<PathBuf>,
}

impl Protected {
    /// backstop's directories from `dirs`, its running executable, and each agent's
    /// configuration directory (its own variable, else `~/.NAME`).
    pub fn discover(dirs: &Dirs) -> Protected {
        let home = crate::config::home_dir().map(PathBuf::from);
        let exe = std::env::current_exe().ok();
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let agent_dir = |name: &str, dot: &str| {
            var(name)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(dot)))
        };
        let mut p = Protected::new(dirs, home.clone(), exe);
        if let Some(d) = agent_dir("CLAUDE_CONFIG_DIR", ".claude") {
            p.file(d.join("settings.json"), "Claude Code's hook settings");
            p.file(d.join("settings.local.json"), "Claude Code's hook settings");
        }
        if let Some(d) = agent_dir("CODEX_HOME", ".codex") {
            p.file(d.join("hooks.json"), "Codex's hook settings");
            p.file(d.join("config.toml"), "Codex's hook settings");
        }
        if let Some(d) = agent_dir("COPILOT_HOME", ".copilot") {
            p.tree(d.join("hooks"), "Copilot CLI's hook settings");
            p.file(d.join("config.json"), "Copilot CLI's settings");
            p.file(d.join("settings.json"), "Copilot CLI's settings");
        }
        if let Some(h) = &home {
            p.file(
                h.join(".gemini/settings.json"),
                "Gemini CLI's hook settings",
            );
            p.file(h.join(".cursor/hooks.json"), "Cursor's hook settings");
        }
        p
    }

    /// backstop's own places: its directories and its executable.
    pub fn new(dirs: &Dirs, home: Option<PathBuf>, exe: Option<PathBuf>) -> Protected {
        let mut p = Protected {
            home,
            ..Protected::default()
        };
        // Under BACKSTOP_HOME the policies' parent is BACKSTOP_HOME itself: all of it.
        let config = dirs
            .user_policies
            .parent()
            .map_or_else(|| dirs.user_policies.clone(), Path::to_path_buf);
        p.tree(
            config.clone(),
            &format!("backstop's configuration ({})", config.display()),
        );
        p.tree(
            dirs.data.clone(),
            &format!(
                "backstop's data: manifests, audit log ({})",
                dirs.data.display()
            ),
        );
        p.tree(
            dirs.system.clone(),
            &format!("backstop's system policies ({})", dirs.system.display()),
        );
        if let Some(exe) = exe {
            let what = format!("backstop's executable ({})", exe.display());
            p.file(exe, &what);
        }
        p
    }

    fn tree(&mut self, dir: PathBuf, what: &str) {
        for form in forms(&dir) {
            self.trees.push((form, what.to_string()));
        }
    }

    fn file(&mut self, file: PathBuf, what: &str) {
        for form in forms(&file) {
            self.files.push((form, what.to_string()));
        }
    }

    /// Why `raw`, as an agent's file tool names it from `cwd`, may not be written.
    pub fn check(&self, raw: &str, cwd: Option<&Path>) -> Option<Refusal> {
        let given = self.absolute(raw, cwd);
        let mut seen: Vec<PathBuf> = Vec::new();
        for base in &given {
            for form in forms(base) {
                if seen.contains(&form) {
                    continue;
                }
                if let Some(what) = self.what(&form) {
                    let resolved = (form != *base).then_some(form);
                    return Some(Refusal {
                        path: base.clone(),
                        resolved,
                        what,
                    });
                }
                seen.push(form);
            }
        }
        None
    }

    /// `raw` made absolute: relative to `cwd`, and with a leading `~` both expanded
    /// and literal (which of the two the agent's tool does is its own business).
    fn absolute(&self, raw: &str, cwd: Option<&Path>) -> Vec<PathBuf> {
        let cwd = cwd
            .map(Path::to_path_buf)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let mut out = vec![cwd.join(raw)];
        let rest = if raw == "~" {
            Some("")
        } else {
            raw.strip_prefix("~/").or_else(|| raw.strip_prefix("~\\"))
        };
        if let (Some(rest), Some(home)) = (rest, &self.home) {
            out.insert(0, home.join(rest));
        }
        out
    }

    /// What `path` (one form of it) is, if it is protected.
    fn what(&self, path: &Path) -> Option<String> {
        for (file, what) in &self.files {
            if same(path, file) {
                return Some(what.clone());
            }
        }
        for (dir, what) in &self.trees {
            if within(path, dir) {
                return Some(what.clone());
            }
        }
        if let Some(what) = by_name(path) {
            return Some(what.to_string());
        }
        holds_profile_block(path).then(|| {
            "a shell profile holding the block that loads backstop's shell integration".to_string()
        })
    }
}

/// backstop's own places for reading a shell line: its directories wherever `Dirs`
/// puts them, and the agents' configuration directories that their variables move
/// (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`, `COPILOT_HOME`). The built-in pack knows the
/// usual places by name; these it cannot know. Named as they are set, without
/// reading the filesystem: this runs on every line the hook decides.
#[derive(Debug, Clone, Default)]
pub struct OwnPlaces {
    /// Each place's components lower-cased (names compare without regard to case),
    /// the place, and what it is.
    places: Vec<(Vec<String>, PathBuf, String)>,
    home: Option<String>,
}

/// A word of a shell command that names one of backstop's own places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the command in the evaluation's commands.
    pub command: usize,
    /// The command as the pack's rules would read it with the place renamed to
    /// backstop's usual system directory, which they know by name.
    pub as_known: String,
    pub word: String,
    pub what: String,
}

/// Where [`OwnPlaces`] renames a hit: a path the built-in pack knows is backstop's.
const KNOWN_PLACE: &str = "/etc/backstop/policies/renamed";

/// Variables a line may name backstop's or an agent's directories by.
const PLACE_VARS: &[&str] = &[
    "BACKSTOP_HOME",
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "COPILOT_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
];

impl OwnPlaces {
    pub fn new(dirs: &Dirs, home: Option<&str>) -> OwnPlaces {
        let mut places = Vec::new();
        let config = dirs
            .user_policies
            .parent()
            .map_or_else(|| dirs.user_policies.clone(), Path::to_path_buf);
        places.push((config, "backstop's configuration"));
        places.push((dirs.data.clone(), "backstop's data"));
        places.push((dirs.system.clone(), "backstop's system policies"));
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        for (name, files, what) in [
            (
                "CLAUDE_CONFIG_DIR",
                &["settings.json", "settings.local.json"][..],
                "Claude Code's hook settings",
            ),
            (
                "CODEX_HOME",
                &["hooks.json", "config.toml"][..],
                "Codex's hook settings",
            ),
            (
                "COPILOT_HOME",
                &["hooks", "config.json", "settings.json"][..],
                "Copilot CLI's hook settings",
            ),
        ] {
            if let Some(dir) = var(name) {
                for f in files {
                    places.push((dir.join(f), what));
                }
            }
        }
        OwnPlaces {
            places: places
                .into_iter()
                .map(|(p, what)| (folded_parts(&fold(&p)), p, what.to_string()))
                .collect(),
            home: home.map(str::to_string),
        }
    }

    /// The words of `commands` (arguments and output redirections) that name one of
    /// these places, with `~`, these variables and each command's directory taken
    /// into account.
    pub fn hits(&self, commands: &[backstop_rules::Command], cwd: Option<&Path>) -> Vec<Hit> {
        let mut out = Vec::new();
        for (i, c) in commands.iter().enumerate() {
            let dir = match &c.cwd {
                backstop_rules::WorkDir::Inherit => cwd.map(Path::to_path_buf),
                backstop_rules::WorkDir::Known(d) => Some(match cwd {
                    Some(base) => base.join(d),
                    None => PathBuf::from(d),
                }),
                backstop_rules::WorkDir::Unknown => None,
            };
            let named = |text: &str| self.place(text, dir.as_deref());
            let rename = |words: &[backstop_rules::Word], at: Option<usize>| {
                words
                    .iter()
                    .enumerate()
                    .map(|(j, w)| {
                        if Some(j) == at {
                            // `of=FILE` stays `of=…`: the rules read the option too.
                            match w.text.split_once('=') {
                                Some((key, _)) if !key.contains('/') => {
                                    format!("{key}={KNOWN_PLACE}")
                                }
                                _ => KNOWN_PLACE.to_string(),
                            }
                        } else {
                            backstop_rules::command::display_word(&w.text)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            if let Some((j, what)) = c
                .words
                .iter()
                .enumerate()
                .skip(1)
                .find_map(|(j, w)| named(&w.text).map(|what| (j, what)))
            {
                out.push(Hit {
                    command: i,
                    as_known: rename(&c.words, Some(j)),
                    word: c.words[j].text.clone(),
                    what,
                });
                continue;
            }
            let written = c
                .redirects
                .iter()
                .filter(|r| r.op.contains('>') && !r.op.ends_with('&'))
                .find_map(|r| named(&r.target.text).map(|what| (r.target.text.clone(), what)));
            if let Some((word, what)) = written {
                out.push(Hit {
                    command: i,
                    as_known: format!("{} > {KNOWN_PLACE}", rename(&c.words, None)),
                    word,
                    what,
                });
            }
        }
        out
    }

    /// What `text`, a word run from `dir`, names among these places.
    fn place(&self, text: &str, dir: Option<&Path>) -> Option<String> {
        if text.is_empty() || text.starts_with('-') && !text.contains('/') {
            return None;
        }
        let mut expanded = std::borrow::Cow::Borrowed(text);
        if let Some(home) = &self.home {
            if text == "~" || text.starts_with("~/") {
                expanded = format!("{home}{}", &text[1..]).into();
            }
        }
        if expanded.contains('$') {
            let mut owned = expanded.into_owned();
            if let Some(home) = &self.home {
                owned = owned.replace("${HOME}", home).replace("$HOME", home);
            }
            for name in PLACE_VARS {
                if let Some(v) = std::env::var_os(name).filter(|v| !v.is_empty()) {
                    let v = v.to_string_lossy();
                    owned = owned
                        .replace(&format!("${{{name}}}"), &v)
                        .replace(&format!("${name}"), &v);
                }
            }
            expanded = owned.into();
        }
        // `--target-directory=DIR`, `of=FILE`: the path after the `=`.
        let path = match expanded.split_once('=') {
            Some((key, value)) if !key.contains('/') => value,
            _ => &expanded,
        };
        let path = Path::new(path);
        let path = if path.is_absolute() {
            fold(path)
        } else {
            fold(&dir?.join(path))
        };
        self.places
            .iter()
            .find(|(place, _, _)| starts_with_folded(&path, place))
            .map(|(_, place, what)| format!("{what} ({})", place.display()))
    }
}

/// Each way `path` (absolute) may be opened: as written, with `..` folded, and
/// through its symbolic links, both before and after folding.
pub fn forms(path: &Path) -> Vec<PathBuf> {
    let folded = fold(path);
    let mut out = vec![path.to_path_buf()];
    let mut add = |p: PathBuf| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    add(resolve(path));
    // Without `..` the folded path resolves the same: one walk is enough.
    if folded != path {
        add(resolve(&folded));
        add(folded);
    }
    out
}

/// `.` and `..` folded by name, as a program does before the OS sees the path.
pub fn fold(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !matches!(
                    out.components().next_back(),
                    None | Some(Component::RootDir | Component::Prefix(_))
                ) {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where the OS opens `path` (absolute): every symbolic link followed, the last part
/// too, and `..` taken after the link before it (as the kernel does). Parts that do
/// not exist are kept as they are, so that a file about to be created is judged too.
pub fn resolve(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    // What is left to walk, the next part last.
    let mut todo: Vec<PathBuf> = Vec::new();
    push_parts(&mut todo, path);
    let mut links = 0;
    while let Some(part) = todo.pop() {
        match part.components().next() {
            Some(Component::Prefix(_)) => out = part,
            Some(Component::RootDir) => {
                // An absolute link target starts again from the root (of the same drive).
                let prefix: PathBuf = out
                    .components()
                    .take_while(|c| matches!(c, Component::Prefix(_)))
                    .collect();
                out = prefix.join(part);
            }
            Some(Component::ParentDir) => {
                out.pop();
            }
            Some(Component::CurDir) | None => {}
            Some(Component::Normal(_)) => {
                let next = out.join(&part);
                let target = (links < MAX_LINKS)
                    .then(|| std::fs::symlink_metadata(&next).ok())
                    .flatten()
                    .filter(|m| m.file_type().is_symlink())
                    .and_then(|_| std::fs::read_link(&next).ok());
                match target {
                    // The link's target replaces it, read from the directory it is in.
                    Some(t) => {
                        links += 1;
                        push_parts(&mut todo, &t);
                    }
                    None => out = next,
                }
            }
        }
    }
    out
}

/// `p`'s components onto `todo`, so that its first is popped first.
fn push_parts(todo: &mut Vec<PathBuf>, p: &Path) {
    let start = todo.len();
    todo.extend(p.components().map(|c| PathBuf::from(c.as_os_str())));
    todo[start..].reverse();
}

/// The components of `p`, lower-cased, for comparing paths without regard to case.
fn folded_parts(p: &Path) -> Vec<String> {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().to_lowercase())
        .collect()
}

/// `path` is `place` (given lower-cased by [`folded_parts`]) or inside it, compared
/// part by part without allocating for ASCII names: this runs on every word.
fn starts_with_folded(path: &Path, place: &[String]) -> bool {
    let mut parts = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir));
    !place.is_empty()
        && place.iter().all(|want| {
            parts.next().is_some_and(|c| {
                let got = c.as_os_str().to_string_lossy();
                if got.is_ascii() {
                    got.eq_ignore_ascii_case(want)
                } else {
                    got.to_lowercase() == *want
                }
            })
        })
}

fn same(a: &Path, b: &Path) -> bool {
    folded_parts(a) == folded_parts(b)
}

/// `path` is `dir` or inside it.
fn within(path: &Path, dir: &Path) -> bool {
    let (p, d) = (folded_parts(path), folded_parts(dir));
    !d.is_empty() && p.len() >= d.len() && p[..d.len()] == d[..]
}

/// Protected by its name, wherever it is: a repository's `.backstop/`, and the
/// agents' hook settings, which each agent finds by these names in any project
/// (and in the system places an administrator manages).
fn by_name(path: &Path) -> Option<&'static str> {
    let parts = folded_parts(path);
    if parts.iter().any(|p| p == ".backstop") {
        return Some("a repository's backstop policies (.backstop/)");
    }
    let n = parts.len();
    let (dir, file) = match n {
        0 | 1 => return None,
        _ => (parts[n - 2].as_str(), parts[n - 1].as_str()),
    };
    let settings = match (dir, file) {
        (".claude", "settings.json" | "settings.local.json") => Some("Claude Code's hook settings"),
        ("claude-code" | "claudecode", "managed-settings.json") => {
            Some("Claude Code's managed settings")
        }
        (".gemini", "settings.json") => Some("Gemini CLI's hook settings"),
        ("gemini-cli" | "geminicli", "settings.json" | "system-defaults.json") => {
            Some("Gemini CLI's system settings")
        }
        (".codex" | "codex", "hooks.json" | "config.toml" | "requirements.toml") => {
            Some("Codex's hook settings")
        }
        (".cursor" | "cursor", "hooks.json") => Some("Cursor's hook settings"),
        (".copilot", "config.json" | "settings.json") => Some("Copilot CLI's settings"),
        _ => None,
    };
    if settings.is_some() {
        return settings;
    }
    // Copilot reads every file in these directories as hooks.
    parts
        .windows(2)
        .take(n.saturating_sub(2))
        .find_map(|w| match (w[0].as_str(), w[1].as_str()) {
            (".copilot", "hooks") => Some("Copilot CLI's hook settings"),
            (".github", "hooks") => Some("a repository's Copilot hook settings (.github/hooks/)"),
            _ => None,
        })
}

/// The file at `path` (followed through links) holds `backstop install`'s profile block.
fn holds_profile_block(path: &Path) -> bool {
    // A FIFO or device would block or never end: only regular files are read.
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let needle = PROFILE_BLOCK.as_bytes();
    if meta.len() <= 2 * PROFILE_SCAN {
        return contains(file.take(2 * PROFILE_SCAN), needle);
    }
    if contains((&file).take(PROFILE_SCAN), needle) {
        return true;
    }
    use std::io::Seek as _;
    file.seek(std::io::SeekFrom::Start(meta.len() - PROFILE_SCAN))
        .is_ok_and(|_| contains(file.take(PROFILE_SCAN), needle))
}

/// `needle` occurs in what `reader` yields, read in blocks.
fn contains(mut reader: impl std::io::Read, needle: &[u8]) -> bool {
    let mut buf = vec![0u8; 64 << 10];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        carry.extend_from_slice(&buf[..n]);
        if carry.windows(needle.len()).any(|w| w == needle) {
            return true;
        }
        // Keep what could be the start of the needle split across two blocks.
        let keep = needle.len().saturating_sub(1).min(carry.len());
        carry.drain(..carry.len() - keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(home: &Path) -> Dirs {
        Dirs {
            system: home.join("system"),
            user_policies: home.join("policies"),
            data: home.join("data"),
        }
    }

    #[test]
    fn folding_and_resolving() {
        assert_eq!(fold(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(fold(Path::new("/../a")), PathBuf::from("/a"));
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        std::fs::create_dir_all(real.join("sub")).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(real.join("sub"), t.path().join("link")).unwrap();
            // The kernel takes `..` after the link: link/.. is `real`, not the temp dir.
            assert_eq!(
                resolve(&t.path().join("link/../x")),
                resolve(&real).join("x")
            );
            assert_eq!(fold(&t.path().join("link/../x")), t.path().join("x"));
            // A dangling link is followed to where a write would create the file.
            std::os::unix::fs::symlink(real.join("new.toml"), t.path().join("dangling")).unwrap();
            assert_eq!(
                resolve(&t.path().join("dangling")),
                resolve(&real).join("new.toml")
            );
            // A loop ends.
            std::os::unix::fs::symlink(t.path().join("loop"), t.path().join("loop")).unwrap();
            let _ = resolve(&t.path().join("loop/x"));
        }
    }

    #[test]
    fn backstops_directories_and_names() {
        let t = tempfile::tempdir().unwrap();
        let bs = t.path().join("bs");
        let p = Protected::new(
            &dirs(&bs),
            Some(t.path().join("home")),
            Some(t.path().join("bin/backstop")),
        );
        let cwd = t.path().join("proj");
        let refused = |raw: &str| p.check(raw, Some(&cwd)).map(|r| r.what);
        assert!(refused(&bs.join("policies/x.toml").display().to_string())
            .is_some_and(|w| w.starts_with("backstop's configuration")));
        assert!(refused(&bs.join("data/audit.jsonl").display().to_string()).is_some());
        assert!(refused(&t.path().join("BS/Policies/x.toml").display().to_string()).is_some());
        assert!(refused("../bs/system/a.toml").is_some());
        assert!(refused("../bin/backstop").is_some());
        assert!(refused(".backstop/x.toml").is_some_and(|w| w.contains(".backstop/")));
        assert!(refused("sub/.Backstop/x.toml").is_some());
        assert!(refused("~/.claude/settings.json").is_some_and(|w| w.contains("Claude")));
        assert!(refused(".claude/settings.local.json").is_some());
        assert!(refused(".gemini/settings.json").is_some());
        assert!(refused(".codex/config.toml").is_some());
        assert!(refused(".cursor/hooks.json").is_some());
        assert!(refused(".github/hooks/backstop.json").is_some());
        assert!(refused("/etc/claude-code/managed-settings.json").is_some());
        for fine in [
            "src/main.rs",
            ".claude/agents/reviewer.md",
            ".claude/CLAUDE.md",
            ".github/workflows/ci.yml",
            ".github/hooks",
            "backstop-notes.md",
            "../bsx/policies/x.toml",
        ] {
            assert_eq!(refused(fine), None, "{fine}");
        }
    }

    #[test]
    fn shell_words_into_backstops_own_places() {
        let bs = Path::new("/srv/State");
        let places = OwnPlaces::new(&dirs(bs), Some("/home/u"));
        let engine = backstop_rules::Engine::builtin();
        let hits = |line: &str| {
            let eval = engine
                .evaluate(line, &backstop_rules::Context::default())
                .unwrap();
            places
                .hits(&eval.commands, Some(Path::new("/home/u")))
                .into_iter()
                .map(|h| (h.word, h.as_known))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            hits("rm -f /srv/state/policies/a.toml"),
            vec![(
                "/srv/state/policies/a.toml".to_string(),
                "rm -f /etc/backstop/policies/renamed".to_string()
            )]
        );
        assert_eq!(
            hits("cd /srv && rm -rf State/data"),
            vec![(
                "State/data".to_string(),
                "rm -rf /etc/backstop/policies/renamed".to_string()
            )]
        );
        assert_eq!(
            hits("echo x > ../../srv/State/policies/off.toml")[0].1,
            "echo x > /etc/backstop/policies/renamed"
        );
        assert_eq!(
            hits("dd if=/dev/zero of=/srv/State/data/audit.jsonl")[0].1,
            "dd if=/dev/zero of=/etc/backstop/policies/renamed"
        );
        assert!(hits("ls -la /srv/StateX ~/src").is_empty());
        assert!(hits("cat < /srv/State/policies/a.toml").is_empty());
    }

    #[test]
    fn a_file_holding_the_profile_block() {
        let t = tempfile::tempdir().unwrap();
        let p = Protected::new(&dirs(&t.path().join("bs")), None, None);
        let rc = t.path().join("rc");
        std::fs::write(&rc, format!("alias ll='ls -l'\n{PROFILE_BLOCK}\neval x\n")).unwrap();
        assert!(p.check("rc", Some(t.path())).is_some());
        std::fs::write(t.path().join("other"), "alias ll='ls -l'\n").unwrap();
        assert!(p.check("other", Some(t.path())).is_none());
        // At the end of a file larger than what is read from its start.
        let mut large = vec![b'#'; 3 << 20];
        large.extend_from_slice(format!("\n{PROFILE_BLOCK}\n").as_bytes());
        std::fs::write(t.path().join("large"), &large).unwrap();
        assert!(p.check("large", Some(t.path())).is_some());
        // Split across the blocks it is read in.
        let mut big = vec![b'x'; (64 << 10) - 5];
        big.extend_from_slice(PROFILE_BLOCK.as_bytes());
        assert!(contains(&big[..], PROFILE_BLOCK.as_bytes()));
        assert!(!contains(&big[..big.len() - 1], PROFILE_BLOCK.as_bytes()));
    }
}
