//! Where the bytes of a backup copy come from when it is read back.
//!
//! Every read of a copy goes through this module, one function per kind of copy:
//! [`open_local`] for a file backstop wrote, [`crate::dest::open_remote`] (through
//! [`open_copy`]) for a restic snapshot or an rclone object. Restores, restore tests,
//! `verify` and the coverage check all read copies this way. What comes back is the
//! copy's bytes, unchecked: the caller hashes them against the manifest as it reads
//! (see [`crate::restore::read_verified`]).
//!
//! A remote copy is a stream from `restic dump` or `rclone cat`: nothing is staged on
//! the local disk, memory stays at the reader's buffers, and a program that fails
//! (a missing snapshot or object, a wrong password, a server gone) is an error at
//! the end of the stream, never a short read taken for the whole copy.

use std::fs::File;
use std::io::Read;

use crate::error::{Error, Result};
use crate::manifest::Copy;

/// A copy that cannot give back its bytes, and why.
fn unusable(copy: &Copy, problem: String) -> Error {
    Error::CopyUnusable {
        copy: copy.shown(),
        problem,
    }
}

/// Open a copy for reading from its first byte, whatever keeps it.
///
/// A local copy must be a regular file of the recorded size; a remote copy is read
/// through restic or rclone. A copy that cannot be opened (missing, truncated, its
/// program missing or its password not set) fails here with [`Error::CopyUnusable`],
/// before anything is written; one that fails while it is read fails with an I/O
/// error from the reader.
pub fn open_copy(copy: &Copy) -> Result<Box<dyn Read + Send>> {
    if copy.is_remote() {
        let stream = crate::dest::open_remote(copy).map_err(|e| unusable(copy, e.to_string()))?;
        return Ok(Box::new(stream));
    }
    Ok(Box::new(open_local(copy)?))
}

/// Open a local copy's file, which must be a regular file of the recorded size
/// (the sampled check of a large copy seeks in it).
pub fn open_local(copy: &Copy) -> Result<File> {
    if copy.is_remote() {
        return Err(unusable(
            copy,
            "it is a remote copy, read through restic or rclone, not a file".into(),
        ));
    }
    let meta = std::fs::metadata(&copy.path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            unusable(copy, "it is missing".into())
        } else {
            unusable(copy, format!("it cannot be read ({e})"))
        }
    })?;
    if !meta.is_file() {
        return Err(unusable(copy, "it is not a regular file".into()));
    }
    if meta.len() != copy.size {
        return Err(unusable(
            copy,
            format!("it is {} bytes, not the {} recorded", meta.len(), copy.size),
        ));
    }
    File::open(&copy.path).map_err(|e| unusable(copy, format!("it cannot be read ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::CopyKind;

    fn copy(path: std::path::PathBuf, size: u64) -> Copy {
        Copy::local(path, 0, size, String::new())
    }

    #[test]
    fn reads_a_local_copy_of_the_recorded_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.tar");
        std::fs::write(&p, b"twelve bytes").unwrap();
        let mut s = String::new();
        open_copy(&copy(p, 12))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "twelve bytes");
    }

    #[test]
    fn a_missing_or_truncated_copy_says_which_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.tar");
        let e = open_copy(&copy(p.clone(), 12)).err().unwrap().to_string();
        assert!(e.contains("c.tar") && e.contains("missing"), "{e}");
        std::fs::write(&p, b"short").unwrap();
        let e = open_copy(&copy(p, 12)).err().unwrap().to_string();
        assert!(e.contains("5 bytes, not the 12 recorded"), "{e}");
        let e = open_copy(&copy(dir.path().to_path_buf(), 0))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn a_remote_copy_is_never_opened_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory named like the remote copy's location must not be read.
        let mut c = copy(dir.path().join("rclone:nas:b"), 0);
        c.kind = CopyKind::Rclone;
        c.object = Some("nas:b/x.tar".into());
        let e = open_local(&c).unwrap_err();
        assert!(matches!(e, Error::CopyUnusable { .. }), "{e}");
        assert!(e.to_string().contains("rclone:nas:b/x.tar"), "{e}");
    }
}
