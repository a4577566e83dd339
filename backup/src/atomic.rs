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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if path.exists() {
        let old = std::fs::read(path).map_err(io("read", path))?;
        let keep = backup_path(path);
        write_replacing(&keep, dir, &old)?;
    }
    write_replacing(path, dir, bytes)
}

fn write_replacing(path: &Path, dir: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".backstop-new-")
        .tempfile_in(dir)
        .map_err(io("create a file in", dir))?;
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

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let e = write_atomic(Path::new("/no/such/dir/file"), b"x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such/dir"), "{e}");
    }
}
