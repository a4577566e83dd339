//! Where the bytes of a backup copy come from when it is read back.
//!
//! Every read of a copy for a restore goes through [`open_copy`], so that copies kept
//! elsewhere than in a local file (a restic repository, an rclone remote) are added in
//! this one place. What it returns is the copy's bytes, unchecked: the caller hashes
//! them against the manifest as it reads (see [`crate::restore::Verified`]).

use std::fs::File;
use std::io::Read;

use crate::error::{Error, Result};
use crate::manifest::Copy;

/// Open a copy for reading from its first byte.
///
/// A local copy must be a regular file of the recorded size: a missing or truncated
/// copy fails here, before anything is written, with [`Error::CopyUnusable`].
pub fn open_copy(copy: &Copy) -> Result<Box<dyn Read + Send>> {
    let unusable = |problem: String| Error::CopyUnusable {
        path: copy.path.clone(),
        problem,
    };
    let meta = std::fs::metadata(&copy.path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            unusable("it is missing".into())
        } else {
            unusable(format!("it cannot be read ({e})"))
        }
    })?;
    if !meta.is_file() {
        return Err(unusable("it is not a regular file".into()));
    }
    if meta.len() != copy.size {
        return Err(unusable(format!(
            "it is {} bytes, not the {} recorded",
            meta.len(),
            copy.size
        )));
    }
    let file = File::open(&copy.path).map_err(|e| unusable(format!("it cannot be read ({e})")))?;
    Ok(Box::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(path: std::path::PathBuf, size: u64) -> Copy {
        Copy {
            path,
            device: 0,
            size,
            sha256: String::new(),
        }
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
}
