use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the backup written to {} is empty; nothing was kept", path.display())]
    Empty { path: PathBuf },

    #[error("{} does not match what was written (size {actual_size}, SHA-256 {actual}; expected size {expected_size}, {expected}); it was removed", path.display())]
    Mismatch {
        path: PathBuf,
        expected: String,
        expected_size: u64,
        actual: String,
        actual_size: u64,
    },

    #[error("{} already exists; backstop never overwrites a backup copy", path.display())]
    Exists { path: PathBuf },

    #[error("`{program}`: {message}")]
    Program { program: String, message: String },

    /// A copy that cannot give back what its manifest records: the restore tries the
    /// next. `copy` is where it is, for a person (a file, `rclone:nas:b/x.tar`,
    /// `restic:REPO snapshot 1a2b3c4d`).
    #[error("copy {copy} cannot be used: {problem}")]
    CopyUnusable { copy: String, problem: String },

    #[error("interrupted; nothing was put in place")]
    Interrupted,

    #[error("{} changed while the backup was being restored, so it was left alone", path.display())]
    PlaceChanged { path: PathBuf },

    #[error("{dest}: {message}")]
    Remote { dest: String, message: String },

    #[error("{} is already there (a file, or a directory that is not empty); nothing was restored over it: move it away first", path.display())]
    Taken { path: PathBuf },

    #[error("git in {}: {message}", repo.display())]
    Git { repo: PathBuf, message: String },

    #[error("recipe `{kind}`: `{step}` {message}")]
    Recipe {
        kind: String,
        step: String,
        message: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io<'a>(
    op: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
