//! The filesystem as the rule engine sees it: the files a line runs (SQL scripts,
//! shell scripts, Makefiles, `package.json` …), programs on `PATH`, and one `lstat`
//! per target.

use std::fs::File;
use std::io::Read;

use backstop_rules::{FileFacts, FileKind, FileReader, FileText, PathFact, Stat};

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
/// (FIFO, device, directory), oversized or binary file reads as `None` from
/// `read_small`; `read_text` says which of these it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalFiles;

/// How much of a file that is too large is looked at to tell text from a program.
const HEAD: u64 = 8192;

impl FileReader for LocalFiles {
    fn read_small(&self, path: &str, limit: u64) -> Option<String> {
        match self.read_text(path, limit) {
            FileText::Text(t) => Some(t),
            _ => None,
        }
    }

    fn read_text(&self, path: &str, limit: u64) -> FileText {
        // stat before open: opening a FIFO would block the hook until a writer came.
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileText::Missing,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return FileText::Missing,
            Err(_) => return FileText::Denied,
        };
        if !meta.is_file() {
            return FileText::NotAFile;
        }
        let Ok(file) = File::open(path) else {
            return FileText::Denied;
        };
        let mut buf = Vec::new();
        // The file may grow between stat and read; never read past the limit. A file
        // over it is read only far enough to tell a program from a long script.
        let want = if meta.len() > limit {
            HEAD
        } else {
            limit.saturating_add(1)
        };
        if file.take(want).read_to_end(&mut buf).is_err() {
            return FileText::Denied;
        }
        let too_large = meta.len() > limit || buf.len() as u64 > limit;
        // SQL Server Management Studio saves scripts as UTF-16 with a byte-order mark.
        let buf = backstop_backup::recipe::decode_utf16_bom(buf);
        if buf.contains(&0) {
            return FileText::Binary;
        }
        if too_large {
            return FileText::TooLarge;
        }
        FileText::Text(String::from_utf8_lossy(&buf).into_owned())
    }

    fn find_on_path(&self, name: &str) -> Option<String> {
        if name.is_empty() || name.contains(['/', '\\']) {
            return None;
        }
        backstop_backup::recipe::resolve_program(name)
            .ok()
            .map(|p| p.display().to_string())
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
    fn read_text_tells_why_a_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
        std::fs::write(p("big.sh"), "rm -rf data\n".repeat(200)).unwrap();
        assert_eq!(LocalFiles.read_text(&p("big.sh"), 1024), FileText::TooLarge);
        let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
        elf.extend(vec![0u8; 4096]);
        std::fs::write(p("prog"), &elf).unwrap();
        assert_eq!(LocalFiles.read_text(&p("prog"), 1024), FileText::Binary);
        assert_eq!(LocalFiles.read_text(&p("prog"), 1 << 20), FileText::Binary);
        assert_eq!(LocalFiles.read_text(&p("none"), 1024), FileText::Missing);
        assert_eq!(LocalFiles.read_text(&p("none/x"), 1024), FileText::Missing);
        assert_eq!(
            LocalFiles.read_text(dir.path().to_str().unwrap(), 1024),
            FileText::NotAFile
        );
        std::fs::write(p("ok.sh"), "rm -rf data\n").unwrap();
        assert_eq!(
            LocalFiles.read_text(&p("ok.sh"), 1024),
            FileText::Text("rm -rf data\n".into())
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_file_is_denied() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret.sh");
        std::fs::write(&f, "rm -rf data\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
        // root reads it anyway; everyone else is refused.
        let got = LocalFiles.read_text(f.to_str().unwrap(), 1024);
        assert!(
            matches!(got, FileText::Denied | FileText::Text(_)),
            "{got:?}"
        );
    }

    #[test]
    fn programs_are_found_on_absolute_path_entries() {
        assert!(LocalFiles
            .find_on_path("sh")
            .is_some_and(|p| p.starts_with('/')));
        assert_eq!(LocalFiles.find_on_path("./sh"), None);
        assert_eq!(LocalFiles.find_on_path("no-such-program-xyz"), None);
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
