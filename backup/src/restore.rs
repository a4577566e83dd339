//! Putting a backup back, so that a failure anywhere leaves the place as it was.
//!
//! - [`read_verified`] reads a copy once, through [`crate::source::open_copy`], on a
//!   thread of its own: each 4 MiB block is hashed and compared with the manifest's
//!   block hashes before its bytes are handed on, and the size is checked at its end
//!   (a manifest without block hashes: the whole SHA-256, at the end). Memory stays at
//!   a few blocks whatever the size of the copy.
//! - [`extract_tree`] writes a native archive's entries into a new directory (or file)
//!   with their modes, modification times, symlinks and empty directories, hashing each
//!   file as it is written and comparing it with the manifest's index.
//! - [`Staging`] is a scratch directory beside the place, on its filesystem: what is
//!   restored is built there, and [`Staging::commit`] renames it into place only once it
//!   is complete and verified. Dropped uncommitted, it leaves nothing behind.
//!
//! Errors say which side failed: [`Error::CopyUnusable`] when the copy cannot give
//! back what its manifest records (the caller tries the other copy), [`Error::Interrupted`]
//! when the caller's cancel flag was set, and [`Error::Io`] when the place cannot be
//! written (the other copy would fail the same way).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use sha2::{Digest as _, Sha256};

use crate::archive::{EntryKind, IndexEntry};
use crate::copy::{hex, AlignedBuf, CHUNK};
use crate::error::{io, Error, Result};
use crate::manifest::{Copy, Manifest};

/// Largest recorded block that is verified before its bytes are handed on; a manifest
/// with larger blocks (none that backstop writes) is checked by its whole hash only.
const MAX_VERIFIED_BLOCK: u64 = 16 << 20;

/// Pieces queued between the reading thread and the writer, besides the two in hand.
const IN_FLIGHT: usize = 2;

/// Files whose fsync may be pending at once, where each file is flushed on its own.
#[cfg(not(target_os = "linux"))]
const FSYNC_QUEUE: usize = 256;

/// Threads flushing files at once: a disk serves several fsyncs in one go.
#[cfg(not(target_os = "linux"))]
const FLUSHERS: usize = 8;

/// Name of the scratch directories beside a place: `.backstop-restore-XXXXXX`.
pub const SCRATCH_PREFIX: &str = ".backstop-restore-";

/// Why the reading thread stopped early.
#[derive(Debug, Clone)]
enum Problem {
    Copy(String),
    Interrupted,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Copy(p) => f.write_str(p),
            Problem::Interrupted => f.write_str("interrupted"),
        }
    }
}

enum Msg {
    Data(Vec<u8>, usize),
    End(std::result::Result<(), Problem>),
}

/// The block size and hashes to check each block against, when the manifest has them.
fn recorded_blocks<'m>(m: &'m Manifest, copy: &Copy) -> Option<(u64, &'m [String])> {
    let bs = m.block_size;
    let usable = bs > 0
        && bs <= MAX_VERIFIED_BLOCK
        && !m.block_sha256.is_empty()
        && m.block_sha256.len() as u64 == copy.size.div_ceil(bs);
    usable.then_some((bs, m.block_sha256.as_slice()))
}

/// Read into `buf` until it is full or the source ends; how much was read.
fn fill(
    src: &mut dyn Read,
    buf: &mut [u8],
    cancel: &AtomicBool,
) -> std::result::Result<usize, Problem> {
    let mut n = 0;
    while n < buf.len() {
        if cancel.load(Ordering::Relaxed) {
            return Err(Problem::Interrupted);
        }
        let want = (buf.len() - n).min(CHUNK);
        match src.read(&mut buf[n..n + want]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Problem::Copy(format!("reading it failed ({e})"))),
        }
    }
    Ok(n)
}

/// The reading thread: every byte of the copy, each block checked against its recorded
/// hash before it is sent on; then the size (and the whole SHA-256 when the manifest
/// has no block hashes).
fn produce(
    src: &mut dyn Read,
    m: &Manifest,
    copy: &Copy,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
    tx: &SyncSender<Msg>,
    spare: &Receiver<Vec<u8>>,
) -> std::result::Result<(), Problem> {
    let blocks = recorded_blocks(m, copy);
    let piece = blocks.map_or(CHUNK, |(bs, _)| usize::try_from(bs).unwrap_or(CHUNK));
    let mut whole = Sha256::new();
    let mut total = 0u64;
    let mut block = 0usize;
    loop {
        let mut buf = spare.try_recv().unwrap_or_default();
        if buf.len() != piece {
            buf = vec![0; piece];
        }
        let n = fill(src, &mut buf, cancel)?;
        if n == 0 {
            break;
        }
        if total + n as u64 > copy.size {
            return Err(Problem::Copy(format!(
                "it holds more than the {} bytes recorded",
                copy.size
            )));
        }
        // Block hashes were taken in the same pass as the whole SHA-256 at backup
        // time: when every block matches, so does the whole, and hashing it again
        // would cost a third pass over the data (the writer hashes each file too).
        if blocks.is_none() {
            whole.update(&buf[..n]);
        }
        if let Some((_, hashes)) = blocks {
            let got = hex(&Sha256::digest(&buf[..n]));
            if hashes.get(block) != Some(&got) {
                return Err(Problem::Copy(format!(
                    "block {block} (bytes {total}..{}) differs from the one recorded",
                    total + n as u64
                )));
            }
            block += 1;
        }
        total += n as u64;
        progress(n as u64);
        if tx.send(Msg::Data(buf, n)).is_err() {
            // The writer stopped; what it found is its own error.
            return Ok(());
        }
    }
    if total != copy.size {
        return Err(Problem::Copy(format!(
            "it ended after {total} of the {} bytes recorded",
            copy.size
        )));
    }
    if blocks.is_none() && hex(&whole.finalize()) != copy.sha256 {
        return Err(Problem::Copy(
            "its SHA-256 differs from the one recorded".into(),
        ));
    }
    Ok(())
}

/// The writer's side of [`read_verified`]: the copy's bytes, only ever ones already
/// checked against their block hash (when the manifest records them).
struct Verified {
    rx: Receiver<Msg>,
    spare: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    len: usize,
    pos: usize,
    end: Option<std::result::Result<(), Problem>>,
}

impl Verified {
    /// Read to the end of the copy: the verdict on the whole of it.
    fn finish(&mut self) -> std::result::Result<(), Problem> {
        loop {
            if let Some(end) = &self.end {
                return end.clone();
            }
            self.pos = self.len;
            self.next();
        }
    }

    fn next(&mut self) {
        let used = std::mem::take(&mut self.cur);
        if !used.is_empty() {
            let _ = self.spare.try_send(used);
        }
        match self.rx.recv() {
            Ok(Msg::Data(buf, len)) => {
                self.cur = buf;
                self.len = len;
                self.pos = 0;
            }
            Ok(Msg::End(end)) => self.end = Some(end),
            Err(_) => self.end = Some(Err(Problem::Copy("the reading thread stopped".into()))),
        }
    }
}

impl Read for Verified {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.len {
                let n = out.len().min(self.len - self.pos);
                out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            match &self.end {
                Some(Ok(())) => return Ok(0),
                Some(Err(p)) => return Err(io::Error::other(p.to_string())),
                None => self.next(),
            }
        }
    }
}

/// The copies of `m` in the order a restore tries them: local files first (no
/// network, no program to start), then remote copies, each in the manifest's order.
pub fn restore_order(m: &Manifest) -> Vec<&Copy> {
    let (local, remote): (Vec<&Copy>, Vec<&Copy>) = m.copies.iter().partition(|c| !c.is_remote());
    local.into_iter().chain(remote).collect()
}

/// Read `copy` of `m` once, giving `consume` its bytes as they are verified, and the
/// verdict on the whole copy after it: `consume` must only write into a scratch place,
/// to be committed by the caller once this returns `Ok`.
///
/// A copy that is missing, of the wrong size, unreadable or does not hash as recorded
/// is [`Error::CopyUnusable`]; a set `cancel` flag is [`Error::Interrupted`]; any other
/// error is `consume`'s own.
pub fn read_verified<T>(
    m: &Manifest,
    copy: &Copy,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
    consume: impl FnOnce(&mut dyn Read) -> Result<T>,
) -> Result<T> {
    let mut src = crate::source::open_copy(copy)?;
    let unusable = |problem: String| Error::CopyUnusable {
        copy: copy.shown(),
        problem,
    };
    let blocks_checked = recorded_blocks(m, copy).is_some();
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (spare_tx, spare_rx) = sync_channel(IN_FLIGHT + 2);
        std::thread::Builder::new()
            .name("backstop-restore-read".into())
            .spawn_scoped(s, move || {
                let end = produce(&mut *src, m, copy, cancel, progress, &tx, &spare_rx);
                let _ = tx.send(Msg::End(end));
            })
            .map_err(|e| unusable(format!("it cannot be read ({e})")))?;
        let mut reader = Verified {
            rx,
            spare: spare_tx,
            cur: Vec::new(),
            len: 0,
            pos: 0,
            end: None,
        };
        let consumed = consume(&mut reader);
        let end = match &consumed {
            Ok(_) => Some(reader.finish()),
            // Without block hashes a damaged archive shows first as a bad entry: the
            // whole hash then says what is wrong with the copy.
            Err(Error::CopyUnusable { .. }) if !blocks_checked => Some(reader.finish()),
            Err(_) => reader.end.clone(),
        };
        // A reader still running stops at its next send.
        drop(reader);
        match (consumed, end) {
            (_, Some(Err(Problem::Interrupted))) => Err(Error::Interrupted),
            (_, Some(Err(Problem::Copy(p)))) => Err(unusable(p)),
            (result, _) => result,
        }
    })
}

/// Write a verified copy to the new file `to` and flush it to disk; its size.
pub fn copy_verified(
    m: &Manifest,
    copy: &Copy,
    to: &Path,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    read_verified(m, copy, cancel, progress, |r| {
        let mut f = File::options()
            .write(true)
            .create_new(true)
            .open(to)
            .map_err(io("create", to))?;
        let mut buf = AlignedBuf::new(CHUNK);
        let mut size = 0u64;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::CopyUnusable {
                        copy: copy.shown(),
                        problem: e.to_string(),
                    })
                }
            };
            f.write_all(&buf[..n]).map_err(io("write", to))?;
            size += n as u64;
        }
        f.sync_all().map_err(io("flush", to))?;
        Ok(size)
    })
}

/// What an extraction wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extracted {
    pub files: u64,
    pub dirs: u64,
    pub links: u64,
    pub bytes: u64,
}

/// The archive path to extract for `place` from a path backup `m`: its root name for
/// the target itself, `root/sub/dir` for a place inside it; `None` for a place outside.
pub fn select_for(m: &Manifest, place: &Path) -> Option<String> {
    let target = Path::new(&m.target.value);
    let root = target.file_name()?.to_string_lossy().into_owned();
    let rel = place.strip_prefix(target).ok()?;
    let mut out = root;
    for c in rel.components() {
        match c {
            Component::Normal(p) => {
                out.push('/');
                out.push_str(&p.to_string_lossy());
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Is `path` (an archive path) `select` or inside it? The rest, as a relative path.
fn relative_to<'p>(
    parts: &'p [std::ffi::OsString],
    select: &[&str],
) -> Option<&'p [std::ffi::OsString]> {
    if parts.len() < select.len() {
        return None;
    }
    let same = parts
        .iter()
        .zip(select)
        .all(|(p, s)| p.to_string_lossy() == *s);
    same.then(|| &parts[select.len()..])
}

/// A directory whose mode and time are set once everything inside it is written.
struct DirToFinish {
    path: PathBuf,
    mode: u32,
    mtime: filetime::FileTime,
    owner: Option<(u64, u64)>,
}

fn file_time((secs, nanos): (i64, u32)) -> filetime::FileTime {
    filetime::FileTime::from_unix_time(secs, nanos)
}

/// Does this process write files as root (so it can give them their recorded owners)?
/// The directory it just made says.
#[cfg(unix)]
fn writes_as_root(made: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(made).is_ok_and(|m| m.uid() == 0)
}

#[cfg(not(unix))]
fn writes_as_root(_made: &Path) -> bool {
    false
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))
}

#[cfg(not(unix))]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    let mut p = fs::metadata(path)?.permissions();
    p.set_readonly(mode & 0o222 == 0);
    fs::set_permissions(path, p)
}

#[cfg(unix)]
fn set_owner(path: &Path, owner: Option<(u64, u64)>, link: bool) -> io::Result<()> {
    let Some((uid, gid)) = owner else {
        return Ok(());
    };
    let (uid, gid) = (u32::try_from(uid).ok(), u32::try_from(gid).ok());
    if link {
        std::os::unix::fs::lchown(path, uid, gid)
    } else {
        std::os::unix::fs::chown(path, uid, gid)
    }
}

#[cfg(not(unix))]
fn set_owner(_path: &Path, _owner: Option<(u64, u64)>, _link: bool) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(windows)]
fn make_symlink(target: &Path, at: &Path) -> io::Result<()> {
    let resolved = at.parent().unwrap_or(Path::new(".")).join(target);
    if resolved.is_dir() {
        std::os::windows::fs::symlink_dir(target, at)
    } else {
        std::os::windows::fs::symlink_file(target, at)
    }
}

#[cfg(not(any(unix, windows)))]
fn make_symlink(_target: &Path, at: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("cannot make the symlink {} on this platform", at.display()),
    ))
}

/// Flush a directory's entries to disk (unix; elsewhere directories cannot be opened).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Getting a restored tree onto the disk before it is moved into place. On Linux one
/// `syncfs` of its filesystem at the end: an fsync per file cost 4 ms each here, 19 s
/// for 5,000 small files where `tar -x && sync` took 2.6 s. Elsewhere each file is
/// flushed as it is closed, by a few threads at once, and each directory at the end.
trait Flush {
    /// A file just written and closed.
    fn file(&self, file: File, path: PathBuf) -> Result<()>;
    /// A directory whose entries are all written.
    fn dir(&self, dir: &Path) -> Result<()>;
}

#[cfg(target_os = "linux")]
struct Flusher;

#[cfg(target_os = "linux")]
impl Flush for Flusher {
    fn file(&self, _file: File, _path: PathBuf) -> Result<()> {
        Ok(())
    }

    fn dir(&self, _dir: &Path) -> Result<()> {
        Ok(())
    }
}

#[cfg(target_os = "linux")]
impl Flusher {
    fn start<'s>(_s: &'s std::thread::Scope<'s, '_>, _dest: &Path) -> Result<Flusher> {
        Ok(Flusher)
    }

    /// Everything written on the filesystem `dir` is on, flushed.
    fn finish(self, dir: &Path) -> Result<()> {
        let d = File::open(dir).map_err(io("open", dir))?;
        rustix::fs::syncfs(&d).map_err(|e| Error::Io {
            op: "flush",
            path: dir.to_path_buf(),
            source: e.into(),
        })
    }
}

#[cfg(not(target_os = "linux"))]
struct Flusher<'s> {
    tx: SyncSender<(File, PathBuf)>,
    threads: Vec<std::thread::ScopedJoinHandle<'s, Result<()>>>,
}

#[cfg(not(target_os = "linux"))]
impl Flush for Flusher<'_> {
    fn file(&self, file: File, path: PathBuf) -> Result<()> {
        self.tx.send((file, path.clone())).map_err(|_| Error::Io {
            op: "flush",
            path,
            source: io::Error::other("an earlier flush failed"),
        })
    }

    fn dir(&self, dir: &Path) -> Result<()> {
        sync_dir(dir).map_err(io("flush", dir))
    }
}

#[cfg(not(target_os = "linux"))]
impl<'s> Flusher<'s> {
    fn start(s: &'s std::thread::Scope<'s, '_>, dest: &Path) -> Result<Flusher<'s>> {
        let (tx, rx) = sync_channel::<(File, PathBuf)>(FSYNC_QUEUE);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let mut threads = Vec::new();
        for _ in 0..FLUSHERS {
            let rx = std::sync::Arc::clone(&rx);
            let t = std::thread::Builder::new()
                .name("backstop-restore-flush".into())
                .spawn_scoped(s, move || -> Result<()> {
                    loop {
                        let next = rx
                            .lock()
                            .map_err(|_| Error::Io {
                                op: "flush",
                                path: PathBuf::new(),
                                source: io::Error::other("a flushing thread panicked"),
                            })?
                            .recv();
                        let Ok((file, path)) = next else {
                            return Ok(());
                        };
                        file.sync_all().map_err(io("flush", &path))?;
                    }
                })
                .map_err(io("start writing", dest))?;
            threads.push(t);
        }
        Ok(Flusher { tx, threads })
    }

    fn finish(self, _dir: &Path) -> Result<()> {
        drop(self.tx);
        let mut first = Ok(());
        for t in self.threads {
            let r = t.join().unwrap_or_else(|_| {
                Err(Error::Io {
                    op: "flush",
                    path: PathBuf::new(),
                    source: io::Error::other("a flushing thread panicked"),
                })
            });
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// Extract the entries of the native archive `archive` that are at or under `select`
/// (an archive path: the target's own name, or `name/sub/dir`) into `dest`, which must
/// not exist yet and whose parent must. Every entry must be one the manifest's `index`
/// lists, each file as large and with the SHA-256 recorded (hashed while written), and
/// every indexed entry under `select` must be there. Files are flushed to disk on a
/// helper thread as they are closed; directories get their mode and time last.
/// Ownership is restored only when running as root.
pub fn extract_tree(
    archive: &mut dyn Read,
    index: &[IndexEntry],
    select: &str,
    dest: &Path,
    copy: &str,
    cancel: &AtomicBool,
) -> Result<Extracted> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let as_root = writes_as_root(parent);
    std::thread::scope(|s| {
        let flusher = Flusher::start(s, dest)?;
        let mut w = Extraction {
            index,
            select,
            dest,
            copy,
            cancel,
            as_root,
            flusher: &flusher,
        };
        let extracted = w.run(archive);
        let flushed = flusher.finish(parent);
        let extracted = extracted?;
        flushed?;
        Ok(extracted)
    })
}

struct Extraction<'a, F> {
    index: &'a [IndexEntry],
    select: &'a str,
    dest: &'a Path,
    copy: &'a str,
    cancel: &'a AtomicBool,
    as_root: bool,
    flusher: &'a F,
}

impl<F: Flush> Extraction<'_, F> {
    fn unusable(&self, problem: String) -> Error {
        Error::CopyUnusable {
            copy: self.copy.to_string(),
            problem,
        }
    }

    fn run(&mut self, archive: &mut dyn Read) -> Result<Extracted> {
        let select: Vec<&str> = self.select.split('/').collect();
        let wanted: HashMap<&str, &IndexEntry> = self
            .index
            .iter()
            .filter(|e| e.path == self.select || e.path.starts_with(&format!("{}/", self.select)))
            .map(|e| (e.path.as_str(), e))
            .collect();
        if wanted.is_empty() {
            return Err(self.unusable(format!("its index lists nothing at {}", self.select)));
        }
        let mut seen: HashSet<String> = HashSet::new();
        let mut made_dirs: HashSet<PathBuf> = HashSet::new();
        let mut dirs: Vec<DirToFinish> = Vec::new();
        let mut out = Extracted::default();
        let mut buf = AlignedBuf::new(CHUNK);
        let mut ar = tar::Archive::new(archive);
        let entries = ar
            .entries()
            .map_err(|e| self.unusable(format!("it is not a backstop archive ({e})")))?;
        for entry in entries {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            let mut entry =
                entry.map_err(|e| self.unusable(format!("it is not a backstop archive ({e})")))?;
            let raw = entry
                .path()
                .map_err(|e| self.unusable(format!("it holds an unreadable name ({e})")))?
                .into_owned();
            let mut parts = Vec::new();
            for c in raw.components() {
                match c {
                    Component::Normal(p) => parts.push(p.to_os_string()),
                    Component::CurDir => {}
                    _ => {
                        return Err(self.unusable(format!(
                            "it holds {}, a name that leads outside the archive",
                            raw.display()
                        )))
                    }
                }
            }
            let name = parts
                .iter()
                .map(|p| p.to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let Some(rel) = relative_to(&parts, &select) else {
                continue;
            };
            let rel: PathBuf = rel.iter().collect();
            let Some(ix) = wanted.get(name.as_str()) else {
                return Err(
                    self.unusable(format!("it holds {name}, which the index does not list"))
                );
            };
            if !seen.insert(name.clone()) {
                return Err(self.unusable(format!("it holds {name} twice")));
            }
            let made_parent = match rel.parent() {
                None => true,
                Some(p) => made_dirs.contains(p),
            };
            if !made_parent {
                return Err(
                    self.unusable(format!("it holds {name} without the directory it is in"))
                );
            }
            // `join("")` would add a trailing slash, which a file cannot have.
            let path = if rel.as_os_str().is_empty() {
                self.dest.to_path_buf()
            } else {
                self.dest.join(&rel)
            };
            let header = entry.header();
            let mode = header.mode().unwrap_or(0o644);
            let owner = match (self.as_root, header.uid(), header.gid()) {
                (true, Ok(u), Ok(g)) => Some((u, g)),
                _ => None,
            };
            let mtime = file_time(ix.mtime);
            let kind = header.entry_type();
            let expected = |k: EntryKind| {
                if ix.kind == k {
                    Ok(())
                } else {
                    Err(Error::CopyUnusable {
                        copy: self.copy.to_string(),
                        problem: format!(
                            "{name} is a {k:?} in the archive and a {:?} in the index",
                            ix.kind
                        ),
                    })
                }
            };
            if kind.is_dir() {
                expected(EntryKind::Dir)?;
                fs::create_dir(&path).map_err(io("create", &path))?;
                made_dirs.insert(rel);
                dirs.push(DirToFinish {
                    path,
                    mode,
                    mtime,
                    owner,
                });
                out.dirs += 1;
            } else if kind.is_symlink() {
                expected(EntryKind::Symlink)?;
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .ok_or_else(|| self.unusable(format!("its symlink {name} has no target")))?
                    .into_owned();
                make_symlink(&target, &path).map_err(io("create the symlink", &path))?;
                set_owner(&path, owner, true).map_err(io("set the owner of", &path))?;
                filetime::set_symlink_file_times(&path, mtime, mtime)
                    .map_err(io("set the time of", &path))?;
                out.links += 1;
            } else if kind.is_file() {
                expected(EntryKind::File)?;
                let (file, size, sha) = self.write_file(&mut entry, &path, &mut buf)?;
                if size != ix.size || Some(hex(&sha)) != ix.sha256 {
                    return Err(self.unusable(format!(
                        "{name} does not match the index (size {size}, expected {})",
                        ix.size
                    )));
                }
                if let Some((uid, gid)) = owner {
                    set_owner(&path, Some((uid, gid)), false)
                        .map_err(io("set the owner of", &path))?;
                }
                set_mode(&path, mode).map_err(io("set the mode of", &path))?;
                filetime::set_file_handle_times(&file, Some(mtime), Some(mtime))
                    .map_err(io("set the time of", &path))?;
                self.flusher.file(file, path)?;
                out.files += 1;
                out.bytes += size;
            } else {
                return Err(self.unusable(format!(
                    "it holds {name}, an entry of a kind backstop does not archive ({kind:?})"
                )));
            }
        }
        let mut missing: Vec<&&str> = wanted.keys().filter(|k| !seen.contains(**k)).collect();
        missing.sort();
        if let Some(first) = missing.first() {
            return Err(self.unusable(format!(
                "it lacks {first}{}, which the index lists",
                if missing.len() > 1 {
                    format!(" and {} more", missing.len() - 1)
                } else {
                    String::new()
                }
            )));
        }
        // Deepest first, so setting a directory's time is not undone by its children.
        for d in dirs.iter().rev() {
            set_owner(&d.path, d.owner, false).map_err(io("set the owner of", &d.path))?;
            set_mode(&d.path, d.mode).map_err(io("set the mode of", &d.path))?;
            filetime::set_file_mtime(&d.path, d.mtime).map_err(io("set the time of", &d.path))?;
            self.flusher.dir(&d.path)?;
        }
        Ok(out)
    }

    /// A new file with the entry's content, hashed as written: the file, its size, its SHA-256.
    fn write_file(
        &self,
        entry: &mut dyn Read,
        path: &Path,
        buf: &mut [u8],
    ) -> Result<(File, u64, [u8; 32])> {
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io("create", path))?;
        let mut sha = Sha256::new();
        let mut size = 0u64;
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            let n = match entry.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.unusable(format!("reading it failed ({e})"))),
            };
            sha.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(io("write", path))?;
            size += n as u64;
        }
        Ok((file, size, sha.finalize().into()))
    }
}

/// What is at a place now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occupant {
    /// Nothing: the place does not exist.
    Nothing,
    /// An empty directory or an empty file: a restore replaces it, and nothing is lost.
    Empty,
    /// A file; its size and when it was last modified (seconds since the epoch).
    File { bytes: u64, modified: u64 },
    /// A directory and what is in it, counted up to [`COUNT_AT_MOST`] entries.
    Dir {
        files: u64,
        dirs: u64,
        bytes: u64,
        newest: u64,
        more: bool,
    },
    /// A symbolic link, and where it points.
    Link(PathBuf),
    /// A device, socket or pipe.
    Other,
}

/// How many entries of a directory in the way are counted, for the refusal.
pub const COUNT_AT_MOST: u64 = 100_000;

impl Occupant {
    /// Can a restore put something here without losing anything?
    pub fn is_free(&self) -> bool {
        matches!(self, Occupant::Nothing | Occupant::Empty)
    }
}

fn modified_secs(meta: &fs::Metadata) -> u64 {
    u64::try_from(crate::archive::mtime_of(meta).0).unwrap_or(0)
}

/// What is at `place` (never following a symlink there).
pub fn occupant(place: &Path) -> Result<Occupant> {
    let meta = match fs::symlink_metadata(place) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Occupant::Nothing),
        Err(e) => return Err(io("inspect", place)(e)),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Ok(Occupant::Link(fs::read_link(place).unwrap_or_default()));
    }
    if ft.is_file() {
        return Ok(if meta.len() == 0 {
            Occupant::Empty
        } else {
            Occupant::File {
                bytes: meta.len(),
                modified: modified_secs(&meta),
            }
        });
    }
    if !ft.is_dir() {
        return Ok(Occupant::Other);
    }
    let (mut files, mut dirs, mut bytes, mut newest, mut seen) = (0, 0, 0, 0, 0u64);
    for e in walkdir::WalkDir::new(place).min_depth(1) {
        seen += 1;
        if seen > COUNT_AT_MOST {
            return Ok(Occupant::Dir {
                files,
                dirs,
                bytes,
                newest,
                more: true,
            });
        }
        let Ok(e) = e else { continue };
        let Ok(m) = e.metadata() else { continue };
        newest = newest.max(modified_secs(&m));
        if m.is_dir() {
            dirs += 1;
        } else {
            files += 1;
            bytes += m.len();
        }
    }
    Ok(if seen == 0 {
        Occupant::Empty
    } else {
        Occupant::Dir {
            files,
            dirs,
            bytes,
            newest,
            more: false,
        }
    })
}

#[cfg(unix)]
fn make_removable(path: &Path, meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    if !meta.is_dir() {
        return false;
    }
    let mut p = meta.permissions();
    p.set_mode(p.mode() | 0o700);
    fs::set_permissions(path, p).is_ok()
}

#[cfg(not(unix))]
// Windows has only the read-only attribute, and it is what stops the removal.
#[allow(clippy::permissions_set_readonly_false)]
fn make_removable(path: &Path, meta: &fs::Metadata) -> bool {
    let mut p = meta.permissions();
    p.set_readonly(false);
    fs::set_permissions(path, p).is_ok()
}

/// Remove a tree that may hold read-only directories (a restored one does).
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return fs::remove_file(path);
    }
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(first) => {
            // A directory without write permission keeps its entries (and on Windows a
            // read-only file stays): open them up.
            let mut opened = false;
            for e in walkdir::WalkDir::new(path).into_iter().flatten() {
                if let Ok(m) = e.metadata() {
                    opened |= make_removable(e.path(), &m);
                }
            }
            if opened {
                fs::remove_dir_all(path)
            } else {
                Err(first)
            }
        }
    }
}

/// A scratch directory beside a place, where its new content is built before it is
/// moved in. Dropped without [`Staging::commit`], it removes the scratch directory
/// and any directories it created above the place.
#[derive(Debug)]
pub struct Staging {
    scratch: Option<tempfile::TempDir>,
    new: PathBuf,
    place: PathBuf,
    /// Directories created to hold the place, deepest first.
    made: Vec<PathBuf>,
}

/// What a commit left: the previous content that could not be removed, and why.
#[derive(Debug)]
pub struct Committed {
    pub leftover: Option<(PathBuf, String)>,
}

impl Staging {
    /// A scratch directory in the place's parent directory (created if missing), on
    /// the place's filesystem, so the final move is a rename.
    pub fn beside(place: &Path) -> Result<Staging> {
        let name = place.file_name().ok_or_else(|| Error::Io {
            op: "restore to",
            path: place.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "it names no file or directory"),
        })?;
        let parent = place
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut missing = Vec::new();
        let mut at = parent;
        while fs::symlink_metadata(at).is_err() {
            missing.push(at.to_path_buf());
            match at.parent() {
                Some(p) if !p.as_os_str().is_empty() => at = p,
                _ => break,
            }
        }
        let mut staging = Staging {
            scratch: None,
            new: PathBuf::new(),
            place: place.to_path_buf(),
            made: Vec::new(),
        };
        for dir in missing.iter().rev() {
            fs::create_dir(dir).map_err(io("create", dir))?;
            staging.made.insert(0, dir.clone());
        }
        let scratch = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir_in(parent)
            .map_err(io("create a scratch directory in", parent))?;
        staging.new = scratch.path().join(name);
        staging.scratch = Some(scratch);
        Ok(staging)
    }

    /// Where the new content goes (it does not exist yet).
    pub fn path(&self) -> &Path {
        &self.new
    }

    /// The scratch directory itself.
    pub fn scratch(&self) -> &Path {
        self.scratch.as_ref().map_or(Path::new(""), |s| s.path())
    }

    /// Remove what a failed attempt left, so another can start afresh.
    pub fn clear(&self) -> Result<()> {
        remove_tree(&self.new).map_err(io("remove", &self.new))
    }

    /// Move the new content into place: what is there (nothing, something empty, or
    /// with `--force` something already backed up) is moved aside first and removed
    /// after; if the move fails it is put back. `expect` is what was at the place when
    /// the restore began: anything else there now (another restore, a program writing)
    /// is [`Error::PlaceChanged`] and stays untouched.
    pub fn commit(mut self, expect: &Occupant) -> Result<Committed> {
        let now = occupant(&self.place)?;
        if now != *expect && !(now.is_free() && expect.is_free()) {
            return Err(Error::PlaceChanged {
                path: self.place.clone(),
            });
        }
        let Some(scratch) = self.scratch.take() else {
            return Err(Error::Io {
                op: "move into place",
                path: self.place.clone(),
                source: io::Error::other("nothing was staged"),
            });
        };
        let previous = scratch.path().join(".previous");
        let had = fs::symlink_metadata(&self.place).is_ok();
        if had {
            if let Err(e) = fs::rename(&self.place, &previous) {
                self.scratch = Some(scratch);
                return Err(io("move aside", &self.place)(e));
            }
        }
        if let Err(e) = fs::rename(&self.new, &self.place) {
            if had {
                if let Err(back) = fs::rename(&previous, &self.place) {
                    // Never delete what was there: keep the scratch directory.
                    let kept = scratch.keep();
                    self.made.clear();
                    return Err(Error::Io {
                        op: "move into place",
                        path: self.place.clone(),
                        source: io::Error::other(format!(
                            "{e}; and what was there could not be moved back ({back}): it is in {}",
                            kept.join(".previous").display()
                        )),
                    });
                }
            }
            self.scratch = Some(scratch);
            return Err(io("move into place", &self.place)(e));
        }
        // The directories made for the place hold it now.
        self.made.clear();
        if let Some(parent) = self.place.parent() {
            let _ = sync_dir(parent);
        }
        let path = scratch.keep();
        let leftover = match remove_tree(&path) {
            Ok(()) => None,
            Err(e) => Some((path, e.to_string())),
        };
        Ok(Committed { leftover })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(scratch) = self.scratch.take() {
            let path = scratch.keep();
            let _ = remove_tree(&path);
        }
        for dir in &self.made {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::archive_tree;
    use crate::copy::{digest_reader, BLOCK};
    use crate::manifest::Target;

    /// A backup of `root` as one copy in `dir`, with its manifest.
    fn backed_up(root: &Path, dir: &Path) -> (Manifest, Vec<u8>) {
        let (index, bytes) = archive_tree(root, Vec::new()).unwrap();
        let digest = digest_reader(&mut &bytes[..]).unwrap();
        let path = dir.join("copy.tar");
        fs::write(&path, &bytes).unwrap();
        let m = Manifest {
            id: "bk-1".into(),
            target: Target {
                kind: "path".into(),
                value: root.display().to_string(),
            },
            created: 0,
            backstop_version: "0".into(),
            recipe: "native-tar".into(),
            copies: vec![Copy::local(path, 0, digest.size, digest.hex())],
            redundant: true,
            verified: String::new(),
            restore_test: "not-run".into(),
            restore_tested: None,
            restore_detail: None,
            recorded: None,
            block_sha256: digest.blocks.iter().map(|b| hex(b)).collect(),
            block_size: BLOCK,
            index,
        };
        (m, bytes)
    }

    fn tree(root: &Path) {
        fs::create_dir_all(root.join("a/empty")).unwrap();
        fs::write(root.join("a/one.txt"), b"one").unwrap();
        let big: Vec<u8> = (0..(BLOCK as usize + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        fs::write(root.join("big.bin"), big).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("a/one.txt", root.join("link")).unwrap();
    }

    fn restore(m: &Manifest, select: &str, place: &Path) -> Result<Extracted> {
        let staging = Staging::beside(place)?;
        let cancel = AtomicBool::new(false);
        let x = read_verified(m, &m.copies[0], &cancel, &|_| {}, |r| {
            extract_tree(
                r,
                &m.index,
                select,
                staging.path(),
                &m.copies[0].shown(),
                &cancel,
            )
        })?;
        staging.commit(&Occupant::Nothing)?;
        Ok(x)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_tree_comes_back_as_it_was() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path().join("data");
        tree(&root);
        #[cfg(unix)]
        set_mode(&root.join("a/one.txt"), 0o640).unwrap();
        let copies = tempfile::tempdir().unwrap();
        let (m, _) = backed_up(&root, copies.path());
        let out = tempfile::tempdir().unwrap();
        let place = out.path().join("deep/er/restored");
        let x = restore(&m, "data", &place).unwrap();
        assert_eq!((x.files, x.dirs), (2, 3));
        assert_eq!(fs::read(place.join("a/one.txt")).unwrap(), b"one");
        assert!(place.join("a/empty").is_dir());
        assert_eq!(
            fs::read(place.join("big.bin")).unwrap(),
            fs::read(root.join("big.bin")).unwrap()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::read_link(place.join("link")).unwrap(),
                Path::new("a/one.txt")
            );
            let mode = fs::metadata(place.join("a/one.txt"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        let orig = fs::metadata(root.join("big.bin"))
            .unwrap()
            .modified()
            .unwrap();
        let now = fs::metadata(place.join("big.bin"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(orig, now);
        assert_eq!(
            names(place.parent().unwrap()),
            vec!["restored"],
            "no scratch left"
        );
    }

    #[test]
    fn a_part_of_the_tree_is_restored_alone() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path().join("data");
        tree(&root);
        let copies = tempfile::tempdir().unwrap();
        let (m, _) = backed_up(&root, copies.path());
        assert_eq!(select_for(&m, &root.join("a")), Some("data/a".into()));
        assert_eq!(select_for(&m, &root), Some("data".into()));
        assert_eq!(select_for(&m, src.path()), None);
        fs::remove_dir_all(root.join("a")).unwrap();
        let x = restore(&m, "data/a", &root.join("a")).unwrap();
        assert_eq!((x.files, x.dirs), (1, 2));
        assert_eq!(fs::read(root.join("a/one.txt")).unwrap(), b"one");
        let x = restore(&m, "data/a/one.txt", &src.path().join("single")).unwrap();
        assert_eq!(x.files, 1);
        assert_eq!(fs::read(src.path().join("single")).unwrap(), b"one");
    }

    #[test]
    fn a_damaged_copy_leaves_the_place_as_it_was() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path().join("data");
        tree(&root);
        let copies = tempfile::tempdir().unwrap();
        let (mut m, mut bytes) = backed_up(&root, copies.path());
        let out = tempfile::tempdir().unwrap();
        let place = out.path().join("data");
        // In the last block: caught by its block hash after the big file was written.
        let last = bytes.len() - 700;
        bytes[last] ^= 1;
        fs::write(&m.copies[0].path, &bytes).unwrap();
        let e = restore(&m, "data", &place).unwrap_err();
        assert!(matches!(e, Error::CopyUnusable { .. }), "{e}");
        assert!(
            e.to_string().contains("differs from the one recorded"),
            "{e}"
        );
        assert!(names(out.path()).is_empty(), "{:?}", names(out.path()));
        // Without block hashes, the whole hash at the end catches it.
        m.block_sha256.clear();
        let e = restore(&m, "data", &place).unwrap_err();
        assert!(e.to_string().contains("SHA-256 differs"), "{e}");
        assert!(names(out.path()).is_empty());
    }

    #[test]
    fn a_copy_that_fails_mid_read_leaves_nothing() {
        struct Breaks<R>(R, u64);
        impl<R: Read> Read for Breaks<R> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 == 0 {
                    return Err(io::Error::other("the disk went away"));
                }
                let len = buf.len().min(self.1 as usize);
                let n = self.0.read(&mut buf[..len])?;
                self.1 -= n as u64;
                Ok(n)
            }
        }
        let src = tempfile::tempdir().unwrap();
        let root = src.path().join("data");
        tree(&root);
        let copies = tempfile::tempdir().unwrap();
        let (m, bytes) = backed_up(&root, copies.path());
        let out = tempfile::tempdir().unwrap();
        let staging = Staging::beside(&out.path().join("data")).unwrap();
        let cancel = AtomicBool::new(false);
        let mut r = Breaks(&bytes[..], 2 << 20);
        let e = extract_tree(&mut r, &m.index, "data", staging.path(), "c", &cancel).unwrap_err();
        assert!(e.to_string().contains("the disk went away"), "{e}");
        drop(staging);
        assert!(names(out.path()).is_empty(), "{:?}", names(out.path()));
    }

    #[test]
    fn cancelling_stops_and_leaves_nothing() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path().join("data");
        tree(&root);
        let copies = tempfile::tempdir().unwrap();
        let (m, _) = backed_up(&root, copies.path());
        let out = tempfile::tempdir().unwrap();
        let staging = Staging::beside(&out.path().join("x/data")).unwrap();
        let cancel = AtomicBool::new(true);
        let e = read_verified(&m, &m.copies[0], &cancel, &|_| {}, |r| {
            extract_tree(
                r,
                &m.index,
                "data",
                staging.path(),
                &m.copies[0].shown(),
                &cancel,
            )
        })
        .unwrap_err();
        assert!(matches!(e, Error::Interrupted), "{e}");
        drop(staging);
        assert!(
            names(out.path()).is_empty(),
            "the parent made for it is gone too"
        );
    }

    #[test]
    fn an_archive_unlike_its_index_or_escaping_is_refused() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path().join("data");
        tree(&root);
        let copies = tempfile::tempdir().unwrap();
        let (mut m, bytes) = backed_up(&root, copies.path());
        let cancel = AtomicBool::new(false);
        let out = tempfile::tempdir().unwrap();
        let try_with = |index: &[IndexEntry], archive: &[u8]| {
            let staging = Staging::beside(&out.path().join("data")).unwrap();
            extract_tree(
                &mut &archive[..],
                index,
                "data",
                staging.path(),
                "c",
                &cancel,
            )
            .unwrap_err()
            .to_string()
        };
        let mut index = m.index.clone();
        index.retain(|e| !e.path.ends_with("one.txt"));
        assert!(try_with(&index, &bytes).contains("which the index does not list"));
        let mut index = m.index.clone();
        index.push(IndexEntry {
            path: "data/ghost".into(),
            kind: EntryKind::File,
            size: 1,
            mtime: (0, 0),
            sha256: None,
        });
        assert!(try_with(&index, &bytes).contains("lacks data/ghost"));
        for e in m.index.iter_mut().filter(|e| e.path.ends_with("one.txt")) {
            e.sha256 = Some("0".repeat(64));
        }
        assert!(try_with(&m.index, &bytes).contains("does not match the index"));
        // A hand-made archive whose entry climbs out of the place.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_gnu_mut().unwrap().name[..14].copy_from_slice(b"data/../escape");
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        let evil = b.into_inner().unwrap();
        assert!(try_with(&m.index, &evil).contains("leads outside"));
        assert!(names(out.path()).is_empty());
    }

    #[test]
    fn local_copies_are_tried_before_remote_ones() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path().join("data");
        tree(&root);
        let (mut m, _) = backed_up(&root, src.path());
        let local = m.copies[0].clone();
        let mut remote = local.clone();
        remote.kind = crate::manifest::CopyKind::Rclone;
        remote.object = Some("nas:b/copy.tar".into());
        let mut second = local.clone();
        second.path = src.path().join("second.tar");
        m.copies = vec![remote.clone(), local.clone(), second.clone()];
        let order: Vec<String> = restore_order(&m).iter().map(|c| c.shown()).collect();
        assert_eq!(order, vec![local.shown(), second.shown(), remote.shown()]);
    }

    #[test]
    fn what_is_at_a_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        assert_eq!(occupant(&p).unwrap(), Occupant::Nothing);
        fs::write(&p, b"").unwrap();
        assert!(occupant(&p).unwrap().is_free());
        fs::write(&p, b"data").unwrap();
        assert!(matches!(
            occupant(&p).unwrap(),
            Occupant::File { bytes: 4, .. }
        ));
        fs::remove_file(&p).unwrap();
        fs::create_dir(&p).unwrap();
        assert_eq!(occupant(&p).unwrap(), Occupant::Empty);
        fs::create_dir(p.join("sub")).unwrap();
        fs::write(p.join("sub/f"), b"abc").unwrap();
        assert!(matches!(
            occupant(&p).unwrap(),
            Occupant::Dir {
                files: 1,
                dirs: 1,
                bytes: 3,
                more: false,
                ..
            }
        ));
    }

    #[test]
    fn committing_replaces_what_is_there_and_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let place = dir.path().join("p");
        fs::create_dir(&place).unwrap();
        fs::write(place.join("old"), b"old").unwrap();
        let before = occupant(&place).unwrap();
        let stage = || {
            let staging = Staging::beside(&place).unwrap();
            fs::create_dir(staging.path()).unwrap();
            fs::write(staging.path().join("new"), b"new").unwrap();
            staging
        };
        // Something else wrote there meanwhile: nothing is replaced.
        let staging = stage();
        fs::write(place.join("late"), b"written during the restore").unwrap();
        let e = staging.commit(&before).unwrap_err();
        assert!(matches!(e, Error::PlaceChanged { .. }), "{e}");
        assert_eq!(names(&place), vec!["late", "old"]);
        assert_eq!(names(dir.path()), vec!["p"]);
        fs::remove_file(place.join("late")).unwrap();
        let c = stage().commit(&before).unwrap();
        assert!(c.leftover.is_none());
        assert_eq!(names(&place), vec!["new"]);
        assert_eq!(names(dir.path()), vec!["p"]);
    }
}
