//! Where a file lives: which filesystem, and whether two names are one file.

use std::path::Path;

use crate::error::{io, Result};

/// The filesystem (device) a path is on; two copies on one device are not redundant.
#[cfg(unix)]
pub fn device_of(path: &Path) -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(path).map_err(io("inspect", path))?.dev())
}

/// The filesystem (device) a path is on; two copies on one device are not redundant.
#[cfg(not(unix))]
pub fn device_of(path: &Path) -> Result<u64> {
    // Volume serial numbers need the Windows API; until then, say so rather than guess.
    Err(crate::Error::Io {
        op: "find the volume of",
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "not supported on this platform yet",
        ),
    })
}

/// Are `a` and `b` the same file (a hard link, or a symlink to it)?
#[cfg(unix)]
pub fn same_file(a: &Path, b: &Path) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let ma = std::fs::metadata(a).map_err(io("inspect", a))?;
    let mb = std::fs::metadata(b).map_err(io("inspect", b))?;
    Ok(ma.dev() == mb.dev() && ma.ino() == mb.ino())
}

/// Are `a` and `b` the same file? Without inode numbers, compare canonical paths.
#[cfg(not(unix))]
pub fn same_file(a: &Path, b: &Path) -> Result<bool> {
    let ca = std::fs::canonicalize(a).map_err(io("inspect", a))?;
    let cb = std::fs::canonicalize(b).map_err(io("inspect", b))?;
    Ok(ca == cb)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, b"x").unwrap();
        std::fs::hard_link(&a, dir.path().join("hard")).unwrap();
        std::os::unix::fs::symlink(&a, dir.path().join("soft")).unwrap();
        std::fs::write(dir.path().join("other"), b"x").unwrap();
        assert!(same_file(&a, &dir.path().join("hard")).unwrap());
        assert!(same_file(&a, &dir.path().join("soft")).unwrap());
        assert!(!same_file(&a, &dir.path().join("other")).unwrap());
    }

    #[test]
    fn dev_shm_is_another_filesystem() {
        // /dev/shm is a tmpfs on these machines: the second destination in tests.
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            eprintln!("SKIPPED: no /dev/shm");
            return;
        }
        let here = tempfile::tempdir().unwrap();
        assert_ne!(device_of(here.path()).unwrap(), device_of(shm).unwrap());
        let e = device_of(Path::new("/no/such/path"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such/path"), "{e}");
    }
}
