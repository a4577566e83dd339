//! `config.toml`: backstop's settings, one table per subject.
//!
//! ```toml
//! [backup]
//! to = ["/media/usb/backstop", "rclone:nas:backstop"]   # where backups go
//! volatile_counts = false                                # a tmpfs copy counts?
//! proof_window = "24h"                                   # trust a remote proof this long
//! min_free = "1 GiB"                                     # never fill a destination past this
//!
//! [audit]
//! syslog = "udp:logs.example.com:514"   # also forward each record: local, unix:PATH, udp:, tcp:
//! syslog_facility = "auth"              # the facility the collector routes by
//! ```
//!
//! Two layers: the system's (`/etc/backstop/config.toml`, `$BACKSTOP_HOME/system/…`),
//! which may also `locked = ["backup.to", …]` keys, then the user's
//! (`<config dir>/backstop/config.toml`, `$BACKSTOP_HOME/config.toml`). A repository's
//! `.backstop/` never holds settings: a cloned repository must not choose where your
//! data goes. A typo is an error naming file, line and key, with a "did you mean".
//!
//! Adding a setting: a field in the table's `…File` struct (as written) and in its
//! effective struct with its default, a line in `apply`, and its name in [`KEYS`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use backstop_backup::coverage::Trust;
use backstop_backup::dest::Dest;
use backstop_rules::error::{line_col, suggest};
use serde::Deserialize;
use toml::Spanned;

use crate::config::Dirs;

/// The settings file's name, in the system directory and the user's config directory.
pub const FILE_NAME: &str = "config.toml";

/// Every key, as `locked` names them.
pub const KEYS: &[&str] = &[
    "backup.to",
    "backup.volatile_counts",
    "backup.proof_window",
    "backup.min_free",
    "audit.syslog",
    "audit.syslog_facility",
];

/// The settings in force.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub backup: Backup,
    pub audit: Audit,
    /// Keys the system layer locks, and its file.
    locked: Vec<(String, String)>,
}

/// `[backup]`: where backups go and what they may count on.
#[derive(Debug, Clone)]
pub struct Backup {
    /// The destinations `backstop backup` uses without `--to`.
    pub to: Vec<Configured>,
    /// A copy on a tmpfs or ramfs counts as one of the two.
    pub volatile_counts: bool,
    /// How long `check` trusts a remote copy's last proof.
    pub proof_window: Duration,
    /// A backup that would leave a destination with less free space is refused.
    pub min_free: u64,
}

impl Default for Backup {
    fn default() -> Backup {
        Backup {
            to: Vec::new(),
            volatile_counts: false,
            proof_window: Duration::from_secs(24 * 3600),
            min_free: 1 << 30,
        }
    }
}

/// `[audit]`: where the audit log's records are forwarded, besides the local log.
#[derive(Debug, Clone)]
pub struct Audit {
    /// A syslog collector every record is also sent to (best effort, bounded).
    pub syslog: Option<crate::syslog::Target>,
    /// The syslog facility of those messages.
    pub facility: u8,
}

impl Default for Audit {
    fn default() -> Audit {
        Audit {
            syslog: None,
            // auth: decisions and approvals are security events (Debian's auth.log).
            facility: 4,
        }
    }
}

/// A destination from a settings file, with where it was written for messages.
#[derive(Debug, Clone)]
pub struct Configured {
    pub dest: Dest,
    /// `FILE:LINE`.
    pub origin: String,
}

/// One file as written: every value optional, so a layer sets only what it names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default)]
    backup: BackupFile,
    #[serde(default)]
    audit: AuditFile,
    /// Keys the system layer locks (`["backup.to"]`).
    #[serde(default)]
    locked: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupFile {
    to: Option<Spanned<Vec<Spanned<String>>>>,
    volatile_counts: Option<Spanned<bool>>,
    proof_window: Option<Spanned<String>>,
    min_free: Option<Spanned<SizeValue>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditFile {
    syslog: Option<Spanned<String>>,
    syslog_facility: Option<Spanned<String>>,
}

/// A size as a number of bytes or a text with a unit (`"1 GiB"`, `"500 MB"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(u64),
    Text(String),
}

/// Which layer a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    System,
    User,
}

/// A parsed file, with what is needed to point into it.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
    layer: Layer,
}

impl Source<'_> {
    fn line(&self, span: std::ops::Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }

    fn origin(&self, span: std::ops::Range<usize>) -> String {
        format!("{}:{}", self.path.display(), self.line(span))
    }

    /// `FILE:LINE: [table] key: message`.
    fn error(&self, span: std::ops::Range<usize>, key: &str, message: String) -> anyhow::Error {
        let (table, key) = key.split_once('.').unwrap_or(("", key));
        anyhow::anyhow!("{}: [{table}] {key}: {message}", self.origin(span))
    }
}

impl Settings {
    /// The system layer, then the user's; a missing file sets nothing.
    pub fn load(dirs: &Dirs) -> Result<Settings> {
        let mut settings = Settings::default();
        let mut locked: Vec<(String, String)> = Vec::new();
        for (path, layer) in [
            (system_file(dirs), Layer::System),
            (user_file(dirs), Layer::User),
        ] {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            let src = Source {
                path: &path,
                text: &text,
                layer,
            };
            let file: SettingsFile =
                toml::from_str(&text).map_err(|e| syntax_error(&path, &text, &e))?;
            settings.apply(&src, file, &mut locked)?;
        }
        settings.locked = locked;
        Ok(settings)
    }

    fn apply(
        &mut self,
        src: &Source,
        file: SettingsFile,
        locked: &mut Vec<(String, String)>,
    ) -> Result<()> {
        if let Some(list) = &file.locked {
            if src.layer != Layer::System {
                bail!(
                    "{}: locked: only the system layer ({}) can lock a setting",
                    src.origin(list.span()),
                    system_hint()
                );
            }
            for key in list.get_ref() {
                if !KEYS.contains(&key.get_ref().as_str()) {
                    let hint = suggest(key.get_ref(), KEYS)
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default();
                    bail!(
                        "{}: locked: no setting is called `{}`{hint}",
                        src.origin(key.span()),
                        key.get_ref()
                    );
                }
                locked.push((key.get_ref().clone(), src.path.display().to_string()));
            }
        }
        // A key set by the user but locked by the system is an error, as for rules.
        let check_lock = |key: &str, span: std::ops::Range<usize>| -> Result<()> {
            match locked.iter().find(|(k, _)| k == key) {
                Some((_, by)) if src.layer != Layer::System => Err(src.error(
                    span,
                    key,
                    format!("the setting is locked by {by}; an administrator must change it there"),
                )),
                _ => Ok(()),
            }
        };
        let b = file.backup;
        if let Some(to) = b.to {
            check_lock("backup.to", to.span())?;
            let mut list = Vec::new();
            for entry in to.into_inner() {
                let dest = parse_dest(entry.get_ref())
                    .map_err(|m| src.error(entry.span(), "backup.to", m))?;
                list.push(Configured {
                    dest,
                    origin: src.origin(entry.span()),
                });
            }
            self.backup.to = list;
        }
        if let Some(v) = b.volatile_counts {
            check_lock("backup.volatile_counts", v.span())?;
            self.backup.volatile_counts = v.into_inner();
        }
        if let Some(v) = b.proof_window {
            check_lock("backup.proof_window", v.span())?;
            self.backup.proof_window = parse_duration(v.get_ref())
                .map_err(|m| src.error(v.span(), "backup.proof_window", m))?;
        }
        if let Some(v) = b.min_free {
            check_lock("backup.min_free", v.span())?;
            self.backup.min_free = match v.get_ref() {
                SizeValue::Bytes(n) => *n,
                SizeValue::Text(t) => {
                    parse_size(t).map_err(|m| src.error(v.span(), "backup.min_free", m))?
                }
            };
        }
        let a = file.audit;
        if let Some(v) = a.syslog {
            check_lock("audit.syslog", v.span())?;
            // An empty text turns forwarding off (where the key is not locked).
            self.audit.syslog = if v.get_ref().trim().is_empty() {
                None
            } else {
                Some(
                    crate::syslog::Target::parse(v.get_ref())
                        .map_err(|m| src.error(v.span(), "audit.syslog", m))?,
                )
            };
        }
        if let Some(v) = a.syslog_facility {
            check_lock("audit.syslog_facility", v.span())?;
            self.audit.facility = crate::syslog::facility(v.get_ref().trim())
                .map_err(|m| src.error(v.span(), "audit.syslog_facility", m))?;
        }
        Ok(())
    }

    /// The system file that locks `key`, if one does.
    pub fn locked_by(&self, key: &str) -> Option<&str> {
        self.locked
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, by)| by.as_str())
    }

    /// What coverage may count on.
    pub fn trust(&self) -> Trust {
        Trust {
            volatile_counts: self.backup.volatile_counts,
            proof_window: self.backup.proof_window.as_secs(),
        }
    }

    /// The configured destinations, as `backstop backup` uses them.
    pub fn destinations(&self) -> Vec<Dest> {
        self.backup.to.iter().map(|c| c.dest.clone()).collect()
    }
}

/// `$BACKSTOP_HOME/config.toml`, or `<config dir>/backstop/config.toml`.
pub fn user_file(dirs: &Dirs) -> PathBuf {
    dirs.user_policies
        .parent()
        .unwrap_or(&dirs.user_policies)
        .join(FILE_NAME)
}

/// `/etc/backstop/config.toml` (`%ProgramData%\backstop\config.toml`), or
/// `$BACKSTOP_HOME/system/config.toml`.
pub fn system_file(dirs: &Dirs) -> PathBuf {
    dirs.system.join(FILE_NAME)
}

fn system_hint() -> &'static str {
    if cfg!(windows) {
        r"%ProgramData%\backstop\config.toml"
    } else {
        "/etc/backstop/config.toml"
    }
}

/// A destination as a setting: a remote, or an absolute directory (a relative one
/// would depend on where backstop happens to run).
pub fn parse_dest(text: &str) -> Result<Dest, String> {
    let dest = Dest::parse(text)?;
    if let Dest::Local(p) = &dest {
        if !p.is_absolute() && !text.starts_with('~') {
            let scheme = text.split_once(':').map(|(s, _)| s).unwrap_or_default();
            let hint = suggest(scheme, &["restic", "rclone"])
                .and_then(|h| {
                    h.split('`')
                        .nth(1)
                        .map(|name| format!(" (did you mean `{name}:…`?)"))
                })
                .unwrap_or_default();
            return Err(format!(
                "`{text}` is not an absolute directory, restic:REPO or rclone:REMOTE:PATH{hint}"
            ));
        }
        if let Some(rest) = text.strip_prefix('~') {
            let home = crate::config::home_dir().ok_or("`~` needs a home directory")?;
            return Ok(Dest::Local(PathBuf::from(format!("{home}{rest}"))));
        }
    }
    Ok(dest)
}

/// `"24h"`, `"30min"`, `"7days"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("`{text}` is not a duration ({e}); write e.g. \"24h\", \"30min\" or \"7days\"")
    })
}

/// `"1 GiB"`, `"500MB"`, `"0"`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("`{text}` is not a size ({e}); write e.g. \"1 GiB\" or \"500 MB\""))
}

/// A size for a person: `12.0 MiB`.
pub fn human_size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().iec().to_string()
}

/// The keys each table knows, for "did you mean".
const TABLE_KEYS: &[&str] = &[
    "backup",
    "audit",
    "locked",
    "syslog",
    "syslog_facility",
    "to",
    "volatile_counts",
    "proof_window",
    "min_free",
];

/// A TOML or serde error as `FILE:LINE:COLUMN: message (did you mean …)`.
fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
    let message = e.message().trim().to_string();
    let mut hint = None;
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            let word = &rest[..end];
            let expected: Vec<&str> = rest[end..].split('`').skip(2).step_by(2).collect();
            let pool: Vec<&str> = if expected.is_empty() {
                TABLE_KEYS.to_vec()
            } else {
                expected
            };
            hint = suggest(word, &pool);
        }
    }
    anyhow::anyhow!(
        "{}:{line}:{column}: {message}{}",
        path.display(),
        hint.map(|h| format!(" ({h})")).unwrap_or_default()
    )
}

/// Write the destinations into the user's config.toml, keeping everything else in it
/// (comments, other tables), atomically and keeping the previous file beside it.
pub fn write_destinations(dirs: &Dirs, dests: &[Dest]) -> Result<PathBuf> {
    let path = user_file(dirs);
    let old = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = old
        .parse()
        .with_context(|| format!("{} is not valid TOML; fix it first", path.display()))?;
    let mut list = toml_edit::Array::new();
    for d in dests {
        list.push(d.to_string());
    }
    let table = doc
        .entry("backup")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    let Some(table) = table.as_table_like_mut() else {
        bail!("{}: `backup` is not a table; fix it first", path.display());
    };
    table.insert("to", toml_edit::value(list));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    backstop_backup::atomic::write_atomic(&path, doc.to_string().as_bytes())?;
    Ok(path)
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

    fn load(system: Option<&str>, user: Option<&str>) -> (tempfile::TempDir, Result<Settings>) {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        if let Some(s) = system {
            std::fs::create_dir_all(&d.system).unwrap();
            std::fs::write(system_file(&d), s).unwrap();
        }
        if let Some(u) = user {
            std::fs::write(user_file(&d), u).unwrap();
        }
        let s = Settings::load(&d);
        (root, s)
    }

    fn err(system: Option<&str>, user: Option<&str>) -> String {
        format!("{:#}", load(system, user).1.unwrap_err())
    }

    #[test]
    fn defaults_without_files() {
        let (_r, s) = load(None, None);
        let s = s.unwrap();
        assert!(s.backup.to.is_empty());
        assert!(!s.backup.volatile_counts);
        assert_eq!(s.backup.proof_window, Duration::from_secs(86400));
        assert_eq!(s.backup.min_free, 1 << 30);
    }

    #[test]
    fn every_key_is_read() {
        let (_r, s) = load(
            None,
            Some("[backup]\nto = [\"/media/usb\", \"restic:rest:http://127.0.0.1:8000/\", \"rclone:nas:backstop\"]\nvolatile_counts = true\nproof_window = \"6h\"\nmin_free = \"2 GiB\"\n"),
        );
        let s = s.unwrap();
        assert_eq!(
            s.destinations(),
            vec![
                Dest::Local("/media/usb".into()),
                Dest::Restic("rest:http://127.0.0.1:8000/".into()),
                Dest::Rclone("nas:backstop".into())
            ]
        );
        assert!(s.backup.to[2].origin.ends_with("config.toml:2"));
        assert!(s.backup.volatile_counts);
        assert_eq!(s.backup.proof_window, Duration::from_secs(6 * 3600));
        assert_eq!(s.backup.min_free, 2 << 30);
        let (_r, s) = load(None, Some("[backup]\nmin_free = 0\n"));
        assert_eq!(s.unwrap().backup.min_free, 0);
    }

    #[test]
    fn the_user_overrides_the_system_unless_it_is_locked() {
        let (_r, s) = load(
            Some("[backup]\nto = [\"/srv/a\", \"/srv/b\"]\nvolatile_counts = true\n"),
            Some("[backup]\nto = [\"/home/x\", \"/media/y\"]\n"),
        );
        let s = s.unwrap();
        assert_eq!(s.destinations()[0], Dest::Local("/home/x".into()));
        assert!(s.backup.volatile_counts, "kept from the system layer");
        let e = err(
            Some("locked = [\"backup.to\"]\n[backup]\nto = [\"/srv/a\", \"/srv/b\"]\n"),
            Some("\n[backup]\nto = [\"/home/x\", \"/media/y\"]\n"),
        );
        assert!(
            e.contains("config.toml:3: [backup] to: the setting is locked by"),
            "{e}"
        );
        assert!(e.contains("system/config.toml"), "{e}");
        let e = err(None, Some("locked = [\"backup.to\"]\n"));
        assert!(e.contains("only the system layer"), "{e}");
    }

    #[test]
    fn typos_name_file_line_key_and_a_guess() {
        let e = err(None, Some("[backup]\nvolatile_count = true\n"));
        assert!(e.contains("config.toml:2:1:"), "{e}");
        assert!(e.contains("did you mean `volatile_counts`?"), "{e}");
        let e = err(None, Some("[bakup]\nto = []\n"));
        assert!(e.contains("did you mean `backup`?"), "{e}");
        let e = err(Some("locked = [\"backup.tto\"]\n"), None);
        assert!(e.contains("did you mean `backup.to`?"), "{e}");
        let e = err(None, Some("[backup]\n\nproof_window = \"a day\"\n"));
        assert!(
            e.contains("config.toml:3: [backup] proof_window: `a day` is not a duration"),
            "{e}"
        );
        let e = err(None, Some("[backup]\nmin_free = \"lots\"\n"));
        assert!(e.contains("[backup] min_free: `lots` is not a size"), "{e}");
        let e = err(
            None,
            Some("[backup]\nto = [\"/ok\",\n  \"restc:/srv/repo\"]\n"),
        );
        assert!(
            e.contains(
                "config.toml:3: [backup] to: `restc:/srv/repo` is not an absolute directory"
            ),
            "{e}"
        );
        assert!(e.contains("did you mean `restic:…`?"), "{e}");
        let e = err(None, Some("[backup]\nto = [\"rclone:nas\"]\n"));
        assert!(e.contains("REMOTE:PATH"), "{e}");
        let e = err(None, Some("[backup]\nvolatile_counts = \"yes\"\n"));
        assert!(e.contains("config.toml:2:"), "{e}");
    }

    #[test]
    fn audit_forwarding_is_read_checked_and_lockable() {
        let (_r, s) = load(
            None,
            Some("[audit]\nsyslog = \"udp:127.0.0.1:5514\"\nsyslog_facility = \"local3\"\n"),
        );
        let s = s.unwrap();
        assert_eq!(
            s.audit.syslog,
            Some(crate::syslog::Target::Udp("127.0.0.1:5514".into()))
        );
        assert_eq!(s.audit.facility, 19);
        let (_r, s) = load(None, None);
        assert_eq!(s.unwrap().audit.syslog, None);
        let e = err(None, Some("[audit]\n\nsyslog = \"tpc:logs:601\"\n"));
        assert!(
            e.contains("config.toml:3: [audit] syslog: `tpc:logs:601`"),
            "{e}"
        );
        assert!(e.contains("did you mean `tcp`?"), "{e}");
        let e = err(None, Some("[audit]\nsylog = \"local\"\n"));
        assert!(e.contains("did you mean `syslog`?"), "{e}");
        // A team locks forwarding on; a person cannot turn it off.
        let e = err(
            Some("locked = [\"audit.syslog\"]\n[audit]\nsyslog = \"tcp:logs:601\"\n"),
            Some("[audit]\nsyslog = \"\"\n"),
        );
        assert!(
            e.contains("[audit] syslog: the setting is locked by"),
            "{e}"
        );
    }

    #[test]
    fn setup_writes_destinations_and_keeps_the_rest() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        std::fs::write(
            user_file(&d),
            "# mine\n[backup]\nvolatile_counts = true # for tests\nto = [\"/old\"]\n",
        )
        .unwrap();
        let p = write_destinations(
            &d,
            &[
                Dest::Local("/media/usb".into()),
                Dest::Rclone("nas:b".into()),
            ],
        )
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains("# mine") && text.contains("# for tests"),
            "{text}"
        );
        let s = Settings::load(&d).unwrap();
        assert_eq!(s.destinations().len(), 2);
        assert!(s.backup.volatile_counts);
        // The file it replaced is kept beside it.
        assert!(
            std::fs::read_to_string(backstop_backup::atomic::backup_path(&p))
                .unwrap()
                .contains("/old")
        );
    }

    #[test]
    fn sizes_read_and_show() {
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("500 MB"), Ok(500_000_000));
        assert_eq!(human_size(12 << 20), "12.0 MiB");
    }
}
