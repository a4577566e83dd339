//! Files backstop writes (manifests, profiles, settings) are replaced atomically,
//! and what they replace is kept.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{io, Error, Result};

/// Where the previous content of `path` is kept: `NAME.backstop-bak` beside it.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".backstop-bak");
    path.with_file_name(name)
}

/// Write `bytes` to `path`: a temporary file in the same directory, fsync, rename over
/// the old file (readers see the old or the new content, never half), then fsync the
/// directory. An existing file is first copied to [`backup_path`].
/// A symlinked file (a dotfiles checkout) is written where the link points, and the
/// file keeps its permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let resolved;
    let path = match std::fs::canonicalize(path) {
        Ok(real) if real != path => {
            resolved = real;
            resolved.as_path()
        }
        _ => path,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    remove_stale_temporaries(dir);
    let mut permissions = None;
    if path.exists() {
        let old = std::fs::read(path).map_err(io("read", path))?;
        permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
        let keep = backup_path(path);
        write_replacing(&keep, dir, &old, permissions.clone())?;
    }
    write_replacing(path, dir, bytes, permissions)
}

/// The prefix of the temporary files [`write_atomic`] writes before the rename.
const TEMP_PREFIX: &str = ".backstop-new-";

/// Temporary files of writes killed before their rename (a profile's directory is
/// a person's home): removed once older than any write takes. Only the exact names
/// `tempfile` gives them (the prefix and six letters or digits) are touched.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
            continue;
        };
        if rest.len() != 6 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let old = e
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Older than any atomic write takes (milliseconds): a killed one's temporary file.
const STALE: std::time::Duration = std::time::Duration::from_secs(600);

fn write_replacing(
    path: &Path,
    dir: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(io("create a file in", dir))?;
    if let Some(p) = permissions {
        tmp.as_file()
            .set_permissions(p)
            .map_err(io("set the permissions of", path))?;
    }
    tmp.write_all(bytes).map_err(io("write", path))?;
    tmp.as_file().sync_all().map_err(io("flush", path))?;
    tmp.persist(path).map_err(|e| Error::Io {
        op: "replace",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    // The rename is durable only once the directory entry is.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("flush", dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("settings.json");
        write_atomic(&f, b"one").unwrap();
        assert!(!backup_path(&f).exists(), "nothing to keep the first time");
        write_atomic(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert_eq!(std::fs::read(backup_path(&f)).unwrap(), b"one");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions_and_writes_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles-bashrc");
        std::fs::write(&real, b"old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join(".bashrc");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(std::fs::read(backup_path(&real)).unwrap(), b"old");
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let e = write_atomic(Path::new("/no/such/dir/file"), b"x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such/dir"), "{e}");
    }

    /// Regression: an install killed between writing its temporary file and the
    /// rename left `.backstop-new-XXXXXX` in the person's home, one per kill.
    #[test]
    fn a_killed_writes_temporary_file_is_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let stale = dir.path().join(".backstop-new-Ab12Cd");
        let fresh = dir.path().join(".backstop-new-Xy34Zw");
        let mine = dir.path().join(".backstop-new-notes.txt");
        for f in [&stale, &fresh, &mine] {
            std::fs::write(f, b"x").unwrap();
        }
        for f in [&stale, &mine] {
            std::fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        write_atomic(&dir.path().join(".bashrc"), b"new").unwrap();
        assert!(!stale.exists());
        assert!(fresh.exists(), "a write in progress elsewhere");
        assert!(mine.exists(), "not a name backstop gives");
    }
}
