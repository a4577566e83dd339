//! Where backstop keeps things, and the policy layers in force.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use backstop_rules::engine::Source;
use backstop_rules::{Engine, Layer};

/// backstop's directories: everything under `BACKSTOP_HOME` when it is set.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// The system layer: `/etc/backstop` (`%ProgramData%\\backstop` on Windows), or
    /// `$BACKSTOP_HOME/system`.
    pub system: PathBuf,
    /// The user's policies: `<config dir>/policies`.
    pub user_policies: PathBuf,
    /// Manifests and other state: `<data dir>`.
    pub data: PathBuf,
}

impl Dirs {
    pub fn discover() -> Result<Dirs> {
        if let Some(home) = std::env::var_os("BACKSTOP_HOME").filter(|v| !v.is_empty()) {
            let home = PathBuf::from(home);
            return Ok(Dirs {
                system: home.join("system"),
                user_policies: home.join("policies"),
                data: home.join("data"),
            });
        }
        let pd = directories::ProjectDirs::from("", "", "backstop").context(
            "cannot find your home directory to keep backstop's configuration; set BACKSTOP_HOME to a directory",
        )?;
        Ok(Dirs {
            system: system_dir(cfg!(windows), std::env::var_os("ProgramData")),
            user_policies: pd.config_dir().join("policies"),
            // Manifests and the audit log name this machine's disks: on Windows they stay
            // in %LOCALAPPDATA%, out of a roaming profile (elsewhere it is the data dir).
            data: pd.data_local_dir().to_path_buf(),
        })
    }
}

/// Where an administrator keeps the system layer. Windows has no `/etc`: machine-wide
/// settings live under `%ProgramData%` (`C:\\ProgramData` when it is unset).
fn system_dir(windows: bool, program_data: Option<std::ffi::OsString>) -> PathBuf {
    if windows {
        program_data
            .filter(|p| !p.is_empty())
            .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
            .join("backstop")
    } else {
        PathBuf::from("/etc/backstop")
    }
}

/// Time since the Unix epoch (zero on a clock set before it).
pub fn unix_now() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Removes the files in `dir` that `wanted` picks and that were last modified more
/// than `age` ago; what cannot be read or removed stays (a sweep never fails a command).
pub fn remove_stale(dir: &Path, age: std::time::Duration, wanted: impl Fn(&Path) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a > age);
        if stale && wanted(&path) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The user's home directory, for `~` in targets.
pub fn home_dir() -> Option<String> {
    std::env::var("HOME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().display().to_string()))
}

/// `*.toml` files in a directory, sorted; a missing directory has none.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read policy directory {}", dir.display()))
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

fn read_sources(dir: &Path, layer: Layer, out: &mut Vec<Source>) -> Result<()> {
    for path in toml_files(dir)? {
        // config.toml beside the system's policies holds settings, not rules.
        if path
            .file_name()
            .is_some_and(|n| n == crate::settings::FILE_NAME)
        {
            if layer == Layer::Repository {
                anyhow::bail!(
                    "{}: a repository's .backstop/ may not hold settings: a cloned repository must not choose where your backups go; remove it (your own settings are in {})",
                    path.display(),
                    crate::settings::FILE_NAME
                );
            }
            if layer == Layer::System {
                continue;
            }
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read policy file {}", path.display()))?;
        out.push(Source {
            origin: path.display().to_string(),
            layer,
            text,
        });
    }
    Ok(())
}

/// The nearest `.backstop/` directory at or above `cwd`.
fn repository_policy_dir(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .map(|a| a.join(".backstop"))
        .find(|p| p.is_dir())
}

/// The policy sources in force for a line run in `cwd`, lowest layer first.
pub fn sources(dirs: &Dirs, cwd: Option<&Path>) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    read_sources(&dirs.system, Layer::System, &mut out)?;
    read_sources(&dirs.user_policies, Layer::User, &mut out)?;
    if let Some(repo) = cwd.and_then(repository_policy_dir) {
        read_sources(&repo, Layer::Repository, &mut out)?;
    }
    Ok(out)
}

/// The engine with every layer in force for `cwd`.
pub fn engine(dirs: &Dirs, cwd: Option<&Path>) -> Result<Engine> {
    Ok(Engine::new(sources(dirs, cwd)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_layer_is_under_program_data_on_windows() {
        assert_eq!(
            system_dir(true, Some(r"D:\ProgramData".into())),
            PathBuf::from(r"D:\ProgramData").join("backstop")
        );
        assert_eq!(
            system_dir(true, Some("".into())),
            PathBuf::from(r"C:\ProgramData").join("backstop")
        );
        assert_eq!(
            system_dir(true, None),
            PathBuf::from(r"C:\ProgramData").join("backstop")
        );
        assert_eq!(
            system_dir(false, Some("ignored".into())),
            PathBuf::from("/etc/backstop")
        );
    }
}
