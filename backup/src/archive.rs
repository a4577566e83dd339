//! The native recipe for paths: a tar archive written by backstop itself, with an
//! index of every file (path, size, modification time, SHA-256) taken as it is read,
//! so that later checks can tell whether the live tree still matches the backup.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::copy::{hex, AlignedBuf, CHUNK};
use crate::error::{io, Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// One entry of the archive, as it was when it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Path inside the archive, `/`-separated, starting with the target's own name.
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    /// Modification time, seconds and nanoseconds since the Unix epoch.
    pub mtime: (i64, u32),
    /// SHA-256 of a regular file's content.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// Modification time as recorded in the index.
pub fn mtime_of(meta: &std::fs::Metadata) -> (i64, u32) {
    mtime(meta)
}

fn mtime(meta: &std::fs::Metadata) -> (i64, u32) {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or((0, 0), |d| {
            (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            )
        })
}

/// Archive `root` (a file or a directory tree, symlinks kept as links) into `out`,
/// returning the index and the writer. Sockets and FIFOs are not data and are left out.
pub fn archive_tree<W: Write>(root: &Path, out: W) -> Result<(Vec<IndexEntry>, W)> {
    let base = root.parent().unwrap_or(Path::new(""));
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut index = Vec::new();
    let mut buf = AlignedBuf::new(CHUNK);
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            Error::Io {
                op: "read",
                path,
                source: e.into(),
            }
        })?;
        let path = entry.path();
        let rel = path.strip_prefix(base).unwrap_or(path);
        let name = rel.to_string_lossy().replace('\\', "/");
        let meta = entry
            .path()
            .symlink_metadata()
            .map_err(io("inspect", path))?;
        let ft = meta.file_type();
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&meta);
        if ft.is_dir() {
            builder.append_dir(rel, path).map_err(io("archive", path))?;
            index.push(IndexEntry {
                path: name,
                kind: EntryKind::Dir,
                size: 0,
                mtime: mtime(&meta),
                sha256: None,
            });
        } else if ft.is_symlink() {
            let target = std::fs::read_link(path).map_err(io("read the link", path))?;
            header.set_size(0);
            builder
                .append_link(&mut header, rel, &target)
                .map_err(io("archive", path))?;
            index.push(IndexEntry {
                path: name,
                kind: EntryKind::Symlink,
                size: 0,
                mtime: mtime(&meta),
                sha256: None,
            });
        } else if ft.is_file() {
            let mut file = File::open(path).map_err(io("open", path))?;
            header.set_size(meta.len());
            // The header alone (and a long-name entry if needed): the content follows
            // in large pieces rather than through tar's 8 KiB copy loop.
            builder
                .append_data(&mut header, rel, io::empty())
                .map_err(io("archive", path))?;
            let sha = append_content(&mut file, meta.len(), builder.get_mut(), &mut buf)
                .map_err(io("archive", path))?;
            index.push(IndexEntry {
                path: name,
                kind: EntryKind::File,
                size: meta.len(),
                mtime: mtime(&meta),
                sha256: Some(hex(&sha)),
            });
        }
    }
    let out = builder
        .into_inner()
        .map_err(io("finish the archive of", root))?;
    Ok((index, out))
}

/// Write exactly `len` bytes of `file` to `out`, then the zeros that end its last tar
/// block, and return their SHA-256. The size read now is the size archived: a file
/// growing meanwhile is cut there, one shrinking makes the archive fail rather than lie.
fn append_content(
    file: &mut impl Read,
    len: u64,
    out: &mut impl Write,
    buf: &mut [u8],
) -> io::Result<[u8; 32]> {
    let mut sha256 = Sha256::new();
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("it shrank while being read ({} of {len} bytes)", len - left),
                ))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha256.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    let pad = (TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK;
    out.write_all(&[0; TAR_BLOCK as usize][..pad as usize])?;
    Ok(sha256.finalize().into())
}

/// Tar stores everything in 512-byte blocks.
const TAR_BLOCK: u64 = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_a_tree_with_an_index_that_matches_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("photos");
        std::fs::create_dir_all(root.join("2024")).unwrap();
        std::fs::write(root.join("2024/a.jpg"), b"jpeg bytes").unwrap();
        std::fs::write(root.join("notes.txt"), b"hello world").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("notes.txt", root.join("link")).unwrap();
        let (index, bytes) = archive_tree(&root, Vec::new()).unwrap();
        let names: Vec<&str> = index.iter().map(|e| e.path.as_str()).collect();
        assert!(
            names.contains(&"photos/2024/a.jpg") && names.contains(&"photos/notes.txt"),
            "{names:?}"
        );
        let notes = index.iter().find(|e| e.path == "photos/notes.txt").unwrap();
        assert_eq!(
            notes.sha256.as_deref(),
            Some("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        );
        // What the archive holds is what the index says.
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string();
            let mut content = Vec::new();
            e.read_to_end(&mut content).unwrap();
            if let Some(ix) = index
                .iter()
                .find(|i| i.path == p && i.kind == EntryKind::File)
            {
                assert_eq!(content.len() as u64, ix.size);
            }
            seen.push(p);
        }
        assert_eq!(seen.len(), index.len(), "{seen:?}");
    }

    #[test]
    fn a_single_file_is_archived_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("db.sqlite");
        std::fs::write(&f, b"SQLite format 3").unwrap();
        let (index, _) = archive_tree(&f, Vec::new()).unwrap();
        assert_eq!(index.len(), 1);
        assert_eq!(index[0].path, "db.sqlite");
    }

    #[test]
    fn a_large_file_under_a_long_name_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir
            .path()
            .join("t")
            .join("d".repeat(90))
            .join("e".repeat(90));
        std::fs::create_dir_all(&deep).unwrap();
        // Larger than a chunk and not a multiple of a tar block.
        let data: Vec<u8> = (0..(2 * CHUNK + 1001)).map(|i| (i % 253) as u8).collect();
        std::fs::write(deep.join("big.bin"), &data).unwrap();
        std::fs::write(deep.join("after.txt"), b"next entry").unwrap();
        let (index, bytes) = archive_tree(&dir.path().join("t"), Vec::new()).unwrap();
        let big = index.iter().find(|e| e.path.ends_with("big.bin")).unwrap();
        assert_eq!(big.sha256, Some(hex(&Sha256::digest(&data))));
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut contents = Vec::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            let mut content = Vec::new();
            e.read_to_end(&mut content).unwrap();
            contents.push((p, content));
        }
        let find = |name: &str| contents.iter().find(|(p, _)| p.ends_with(name)).unwrap();
        assert_eq!(find("big.bin").0, big.path);
        assert_eq!(find("big.bin").1, data);
        assert_eq!(find("after.txt").1, b"next entry");
    }

    #[test]
    fn a_file_that_shrinks_fails_the_archive() {
        let mut out = Vec::new();
        let e = append_content(&mut &b"only this"[..], 20, &mut out, &mut [0; 4]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("9 of 20"), "{e}");
    }

    #[test]
    fn content_is_padded_to_a_whole_tar_block() {
        let mut out = Vec::new();
        let sha = append_content(&mut &b"hello world"[..], 11, &mut out, &mut [0; 4]).unwrap();
        assert_eq!(out.len(), 512);
        assert_eq!(&out[..11], b"hello world");
        assert!(out[11..].iter().all(|&b| b == 0));
        assert_eq!(
            hex(&sha),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }

    #[test]
    fn a_missing_root_names_it() {
        let e = archive_tree(Path::new("/no/such/tree"), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such/tree"), "{e}");
    }
}
