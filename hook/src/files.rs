//! The filesystem as the rule engine sees it: the SQL scripts a line names (`psql -f
//! FILE`), and one `lstat` per target.

use std::fs::File;
use std::io::Read;

use backstop_rules::{FileFacts, FileKind, FileReader, PathFact, Stat};

impl FileFacts for LocalFiles {
    /// One `lstat`: a symbolic link is itself (`rm link` deletes the link).
    fn stat(&self, path: &str) -> PathFact {
        match std::fs::symlink_metadata(path) {
            Ok(m) => {
                let t = m.file_type();
                let kind = if t.is_symlink() {
                    FileKind::Symlink
                } else if t.is_file() {
                    FileKind::File
                } else if t.is_dir() {
                    FileKind::Dir
                } else {
                    FileKind::Other
                };
                PathFact::Present(Stat {
                    kind,
                    size: m.len(),
                })
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                PathFact::Absent
            }
            Err(_) => PathFact::Unknown,
        }
    }
}

/// Reads small regular files from the local filesystem. A missing, unreadable, special
/// (FIFO, device, directory), oversized or binary file reads as `None`: it is not
/// examined, and the line is judged by the rest of what it says.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalFiles;

impl FileReader for LocalFiles {
    fn read_small(&self, path: &str, limit: u64) -> Option<String> {
        // stat before open: opening a FIFO would block the hook until a writer came.
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() || meta.len() > limit {
            return None;
        }
        let mut buf = Vec::new();
        // The file may grow between stat and read; never read past the limit.
        File::open(path)
            .ok()?
            .take(limit.saturating_add(1))
            .read_to_end(&mut buf)
            .ok()?;
        if buf.len() as u64 > limit {
            return None;
        }
        // SQL Server Management Studio saves scripts as UTF-16 with a byte-order mark.
        let buf = backstop_backup::recipe::decode_utf16_bom(buf);
        if buf.contains(&0) {
            return None;
        }
        Some(String::from_utf8_lossy(&buf).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &std::path::Path, limit: u64) -> Option<String> {
        LocalFiles.read_small(path.to_str().expect("temp paths are UTF-8"), limit)
    }

    #[test]
    fn small_text_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("cleanup.sql");
        std::fs::write(&f, "DROP TABLE orders;\n").unwrap();
        assert_eq!(read(&f, 1024).as_deref(), Some("DROP TABLE orders;\n"));
    }

    #[test]
    fn utf16_scripts_are_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ssms.sql");
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend("DROP TABLE t".encode_utf16().flat_map(u16::to_le_bytes));
        std::fs::write(&f, bytes).unwrap();
        assert_eq!(read(&f, 1024).as_deref(), Some("DROP TABLE t"));
    }

    #[test]
    fn large_binary_missing_and_special_files_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.sql");
        std::fs::write(&big, "x".repeat(2048)).unwrap();
        assert_eq!(read(&big, 1024), None);
        assert!(
            read(&big, 2048).is_some(),
            "a file of exactly the limit is read"
        );
        let bin = dir.path().join("app.db");
        std::fs::write(&bin, b"SQLite format 3\0DROP TABLE t").unwrap();
        assert_eq!(read(&bin, 1024), None);
        assert_eq!(read(&dir.path().join("missing.sql"), 1024), None);
        assert_eq!(read(dir.path(), 1024), None);
    }

    #[test]
    fn one_lstat_tells_what_a_target_is() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("notes.txt");
        std::fs::write(&f, "twelve bytes").unwrap();
        let s = |p: &std::path::Path| LocalFiles.stat(p.to_str().unwrap());
        assert_eq!(
            s(&f),
            PathFact::Present(Stat {
                kind: FileKind::File,
                size: 12
            })
        );
        assert!(matches!(
            s(dir.path()),
            PathFact::Present(Stat {
                kind: FileKind::Dir,
                ..
            })
        ));
        assert_eq!(s(&dir.path().join("absent")), PathFact::Absent);
        assert_eq!(s(&f.join("under-a-file")), PathFact::Absent);
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&f, &link).unwrap();
            assert!(matches!(
                s(&link),
                PathFact::Present(Stat {
                    kind: FileKind::Symlink,
                    ..
                })
            ));
        }
    }

    #[cfg(unix)]
    #[test]
    #[allow(clippy::disallowed_methods)] // a test's fixed absolute path, no lookup
    fn a_fifo_is_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.sql");
        let made = std::process::Command::new("/usr/bin/mkfifo")
            .arg(&fifo)
            .status();
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(read(&fifo, 1024), None);
        }
    }
}
