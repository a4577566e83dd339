//! Where a file lives: which filesystem, and whether two names are one file.

use std::path::Path;

use crate::error::{io, Result};

/// The filesystem (device) a path is on; two copies on one device are not redundant.
#[cfg(unix)]
pub fn device_of(path: &Path) -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(path).map_err(io("inspect", path))?.dev())
}

/// The volume a path is on, by its serial number (what `vol` prints); two copies on
/// one volume are not redundant.
#[cfg(windows)]
pub fn device_of(path: &Path) -> Result<u64> {
    Ok(windows::identity(path)?.volume)
}

/// The filesystem a path is on: unknown on this platform, so no backup can be
/// proved redundant here.
#[cfg(not(any(unix, windows)))]
pub fn device_of(path: &Path) -> Result<u64> {
    Err(crate::Error::Io {
        op: "find the filesystem of",
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "backstop cannot tell filesystems apart on this platform; it runs on Linux, macOS and Windows",
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

/// Are `a` and `b` the same file (a hard link, or a symlink to it)? NTFS gives
/// each file an index on its volume, as unix gives an inode on its device.
#[cfg(windows)]
pub fn same_file(a: &Path, b: &Path) -> Result<bool> {
    Ok(windows::identity(a)? == windows::identity(b)?)
}

/// Are `a` and `b` the same file? Without file ids, compare canonical paths.
#[cfg(not(any(unix, windows)))]
pub fn same_file(a: &Path, b: &Path) -> Result<bool> {
    let ca = std::fs::canonicalize(a).map_err(io("inspect", a))?;
    let cb = std::fs::canonicalize(b).map_err(io("inspect", b))?;
    Ok(ca == cb)
}

/// How Windows names a file: its volume's serial number and its index on that volume.
#[cfg(windows)]
mod windows {
    use std::path::Path;

    use super::{io, Result};

    #[derive(Debug, PartialEq, Eq)]
    pub(super) struct Identity {
        pub volume: u64,
        pub index: u64,
    }

    pub(super) fn identity(path: &Path) -> Result<Identity> {
        // `from_path_any` opens directories too (FILE_FLAG_BACKUP_SEMANTICS), and
        // follows a symlink to what it names.
        let handle = winapi_util::Handle::from_path_any(path).map_err(io("inspect", path))?;
        let info = winapi_util::file::information(&handle).map_err(io("inspect", path))?;
        Ok(Identity {
            volume: info.volume_serial_number(),
            index: info.file_index(),
        })
    }
}

/// A device id as a person would look it up: on Windows the volume serial as `vol`
/// prints it (`1A2B-3C4D`), elsewhere the number `stat` prints.
pub fn label(device: u64, windows: bool) -> String {
    if windows && device <= u64::from(u32::MAX) {
        format!("{:04X}-{:04X}", device >> 16, device & 0xffff)
    } else {
        device.to_string()
    }
}

#[cfg(test)]
mod label_tests {
    use super::label;

    #[test]
    fn volume_serials_read_as_vol_prints_them() {
        assert_eq!(label(0x1A2B_3C4D, true), "1A2B-3C4D");
        assert_eq!(label(0x0000_00FF, true), "0000-00FF");
        // A serial wider than 32 bits (ReFS) is shown whole rather than cut.
        assert_eq!(label(0x1_0000_0000, true), "4294967296");
        assert_eq!(label(2049, false), "2049");
    }
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
