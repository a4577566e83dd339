//! One read of the source, one SHA-256, two copies; then both copies re-read.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::error::{io, Error, Result};

/// Chunk size for streaming: memory stays constant whatever the file size.
const CHUNK: usize = 1 << 20;

/// Size of the blocks whose SHA-256 is recorded for sampled verification.
pub const BLOCK: u64 = 4 << 20;

/// Size and SHA-256 of a byte stream, and the SHA-256 of each [`BLOCK`]-sized block
/// of it (the last may be shorter), so a large copy can be checked by sampling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub size: u64,
    pub sha256: [u8; 32],
    pub blocks: Vec<[u8; 32]>,
}

impl Digest {
    pub fn hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// Lower-case hex, the form SHA-256 sums are recorded in.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The whole-stream SHA-256 and the per-block ones, fed in one pass.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamHasher {
    whole: Sha256,
    block: Sha256,
    in_block: u64,
    size: u64,
    blocks: Vec<[u8; 32]>,
}

impl StreamHasher {
    pub(crate) fn update(&mut self, mut buf: &[u8]) {
        self.whole.update(buf);
        self.size += buf.len() as u64;
        while !buf.is_empty() {
            let room = usize::try_from(BLOCK - self.in_block).unwrap_or(usize::MAX);
            let (now, rest) = buf.split_at(room.min(buf.len()));
            self.block.update(now);
            self.in_block += now.len() as u64;
            if self.in_block == BLOCK {
                self.blocks.push(std::mem::take(&mut self.block).finalize().into());
                self.in_block = 0;
            }
            buf = rest;
        }
    }

    pub(crate) fn finish(mut self) -> Digest {
        if self.in_block > 0 {
            self.blocks.push(self.block.finalize().into());
        }
        Digest {
            size: self.size,
            sha256: self.whole.finalize().into(),
            blocks: self.blocks,
        }
    }
}

/// A reader that hashes everything read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    pub(crate) fn finish(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Hash a reader to its end in constant memory.
pub fn digest_reader(r: &mut impl Read) -> io::Result<Digest> {
    let mut hasher = StreamHasher::default();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// Size and SHA-256 of a file, read from disk (not from what we think we wrote).
pub fn digest_file(path: &Path) -> Result<Digest> {
    let mut f = File::open(path).map_err(io("open", path))?;
    digest_reader(&mut f).map_err(io("read", path))
}

fn temp_beside(dest: &Path) -> Result<NamedTempFile> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".backstop-partial-")
        .tempfile_in(dir)
        .map_err(io("create a file in", dir))
}

/// A writer that hashes what it is given and writes it to two new files at once:
/// the one pass that makes a backup and its second copy. [`TwoCopies::finish`] moves
/// both into place and proves them by re-reading; dropping it unfinished (an error
/// anywhere) leaves neither file behind.
#[derive(Debug)]
pub struct TwoCopies {
    dests: [std::path::PathBuf; 2],
    files: [NamedTempFile; 2],
    hasher: StreamHasher,
}

impl TwoCopies {
    pub fn create(dest_a: &Path, dest_b: &Path) -> Result<TwoCopies> {
        for d in [dest_a, dest_b] {
            if d.exists() {
                return Err(Error::Exists {
                    path: d.to_path_buf(),
                });
            }
        }
        Ok(TwoCopies {
            files: [temp_beside(dest_a)?, temp_beside(dest_b)?],
            dests: [dest_a.to_path_buf(), dest_b.to_path_buf()],
            hasher: StreamHasher::default(),
        })
    }

    /// Flush both copies to disk, move them into place (never over an existing file),
    /// re-read both and check size and SHA-256 against what was written.
    pub fn finish(self) -> Result<Digest> {
        let TwoCopies {
            dests,
            files,
            hasher,
        } = self;
        let written = hasher.finish();
        if written.size == 0 {
            return Err(Error::Empty {
                path: dests[0].clone(),
            });
        }
        for (f, d) in files.iter().zip(&dests) {
            f.as_file().sync_all().map_err(io("flush", d))?;
        }
        let [fa, fb] = files;
        fa.persist_noclobber(&dests[0]).map_err(|e| Error::Io {
            op: "move into place",
            path: dests[0].clone(),
            source: e.error,
        })?;
        if let Err(e) = fb.persist_noclobber(&dests[1]) {
            let _ = std::fs::remove_file(&dests[0]);
            return Err(Error::Io {
                op: "move into place",
                path: dests[1].clone(),
                source: e.error,
            });
        }
        for d in &dests {
            let read_back = digest_file(d);
            if read_back.as_ref().ok() != Some(&written) {
                for d in &dests {
                    let _ = std::fs::remove_file(d);
                }
                let actual = read_back?;
                return Err(Error::Mismatch {
                    path: d.clone(),
                    expected: written.hex(),
                    expected_size: written.size,
                    actual: actual.hex(),
                    actual_size: actual.size,
                });
            }
        }
        Ok(written)
    }
}

impl Write for TwoCopies {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.files[0].write_all(buf)?;
        self.files[1].write_all(buf)?;
        self.hasher.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.files[0].flush()?;
        self.files[1].flush()
    }
}

/// Read `src` once, hashing it while writing it to `dest_a` and `dest_b`, then prove
/// both copies (see [`TwoCopies`]). On any failure neither copy is left behind.
pub fn copy_to_two(src: &mut impl Read, dest_a: &Path, dest_b: &Path) -> Result<Digest> {
    let mut out = TwoCopies::create(dest_a, dest_b)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::Io {
                    op: "read the source for",
                    path: dest_a.to_path_buf(),
                    source,
                })
            }
        };
        out.write_all(&buf[..n]).map_err(io("write", dest_a))?;
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_SHA: &str = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|r| {
                r.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn both_copies_match_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let d = copy_to_two(&mut &b"hello world"[..], &a, &b).unwrap();
        assert_eq!(d.hex(), HELLO_SHA);
        assert_eq!(std::fs::read(&a).unwrap(), b"hello world");
        assert_eq!(digest_file(&b).unwrap(), d);
    }

    #[test]
    fn large_input_streams_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(3 * CHUNK + 17))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let d = copy_to_two(&mut &data[..], &dir.path().join("a"), &dir.path().join("b")).unwrap();
        assert_eq!(d.size, data.len() as u64);
        assert_eq!(d, digest_reader(&mut &data[..]).unwrap());
    }

    #[test]
    fn empty_source_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let e =
            copy_to_two(&mut &b""[..], &dir.path().join("a"), &dir.path().join("b")).unwrap_err();
        assert!(matches!(e, Error::Empty { .. }), "{e}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn a_failing_source_keeps_nothing() {
        struct Breaks(usize);
        impl Read for Breaks {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk gone"));
                }
                self.0 -= 1;
                buf[..4].copy_from_slice(b"data");
                Ok(4)
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let e =
            copy_to_two(&mut Breaks(3), &dir.path().join("a"), &dir.path().join("b")).unwrap_err();
        assert!(e.to_string().contains("disk gone"), "{e}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn a_missing_destination_keeps_nothing_in_the_other() {
        let dir = tempfile::tempdir().unwrap();
        let e = copy_to_two(
            &mut &b"x"[..],
            &dir.path().join("a"),
            &dir.path().join("nope/b"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn never_overwrites_an_existing_copy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b"), b"older backup").unwrap();
        let e =
            copy_to_two(&mut &b"x"[..], &dir.path().join("a"), &dir.path().join("b")).unwrap_err();
        assert!(matches!(e, Error::Exists { .. }), "{e}");
        assert_eq!(
            std::fs::read(dir.path().join("b")).unwrap(),
            b"older backup"
        );
    }

    #[test]
    fn block_hashes_split_at_block_boundaries() {
        let data: Vec<u8> = (0..(2 * BLOCK as usize + 5)).map(|i| (i % 7) as u8).collect();
        // Fed in odd-sized pieces, the blocks still fall on BLOCK boundaries.
        let mut h = StreamHasher::default();
        for piece in data.chunks(999_983) {
            h.update(piece);
        }
        let d = h.finish();
        assert_eq!(d.blocks.len(), 3);
        for (i, block) in data.chunks(BLOCK as usize).enumerate() {
            assert_eq!(d.blocks[i], <[u8; 32]>::from(Sha256::digest(block)), "block {i}");
        }
        assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
    }

    #[test]
    fn one_changed_byte_changes_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let d = copy_to_two(&mut &b"hello world"[..], &a, &b).unwrap();
        std::fs::write(&b, b"hello worle").unwrap();
        assert_ne!(digest_file(&b).unwrap(), d);
        assert_eq!(digest_file(&b).unwrap().size, d.size);
    }
}
