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
    let mut permissions = None;
    if path.exists() {
        let old = std::fs::read(path).map_err(io("read", path))?;
        permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
        let keep = backup_path(path);
        write_replacing(&keep, dir, &old, permissions.clone())?;
    }
    write_replacing(path, dir, bytes, permissions)
}

fn write_replacing(
    path: &Path,
    dir: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".backstop-new-")
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
}
