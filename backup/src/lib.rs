//! backstop's backups: the I/O half of the Safe Backup-Verify-Restore pattern.
//!
//! This crate so far holds the building blocks every backup recipe shares:
//! - [`copy::copy_to_two`] (and [`copy::Copies`] for any number of files and
//!   streams) reads a source once, hashing it with SHA-256 while it
//!   writes both copies, then re-reads each copy and checks size and hash; a copy
//!   that fails is removed, so nothing is left that claims to be a backup;
//! - [`dest`] names where copies go (a directory, `restic:REPO`, `rclone:REMOTE:PATH`)
//!   and streams a backup into all of them at once, proving each (restic and rclone
//!   are run as programs; backstop has no network code of its own);
//! - [`domain`] tells which copies fail together: two filesystems of one disk, a
//!   remote, a tmpfs that a reboot empties;
//! - [`device`] tells whether two paths are on different filesystems, and whether
//!   two names are the same file (a hard link or symlink posing as a second copy);
//! - [`atomic::write_atomic`] writes a file by temporary file, fsync and rename,
//!   keeping a copy of what it replaces;
//! - [`git::coverage`] tells whether a pushed git commit holds a path, and
//!   [`git::restore`] brings it back from that commit.
//!
//! ```
//! use backstop_backup::copy::copy_to_two;
//! let dir = tempfile::tempdir().unwrap();
//! let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
//! let digest = copy_to_two(&mut &b"hello world"[..], &a, &b).unwrap();
//! assert_eq!(digest.size, 11);
//! assert_eq!(digest.hex(), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
//! ```

pub mod archive;
pub mod atomic;
pub mod copy;
pub mod coverage;
pub mod dest;
pub mod device;
pub mod domain;
mod error;
pub mod git;
pub mod manifest;
pub mod recipe;
pub mod restore;
pub mod source;

pub use error::{Error, Result};
