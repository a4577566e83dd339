//! One read of the source, one SHA-256, every copy written at once (files, and the
//! input of programs that keep remote copies); then the files re-read.
//!
//! A large backup keeps both cores busy: the caller fills buffers, and each buffer
//! then goes, in order, through one thread per copy written and one per hash kept
//! (a [`Pipeline`]). At most [`IN_FLIGHT`] buffers of [`PIECE`] bytes exist at once,
//! so memory stays the same whatever the size of the stream.

use std::fs::File;
use std::io::{self, Read, Write};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};

use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::error::{io, Error, Result};

/// Chunk size for streaming: memory stays constant whatever the file size.
pub(crate) const CHUNK: usize = 1 << 20;

/// Where buffers start: the kernel copied into ones 16 bytes past a 32-byte boundary
/// (where malloc puts large blocks) at a quarter of the speed.
const ALIGN: usize = 64;

/// A [`Pipeline`]'s buffer, so each write: writes of 1 MiB took the kernel 3 times longer.
const PIECE: usize = 512 << 10;

/// Buffers of one pipeline, 8 MiB in all: slack so one stage's pause stalls no other.
const IN_FLIGHT: usize = 16;

/// How much of a copy is written before a helper thread starts pushing it to disk.
const FLUSH_EVERY: u64 = 64 << 20;

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

/// A zeroed buffer that starts on an [`ALIGN`] boundary.
#[derive(Debug, Default)]
pub(crate) struct AlignedBuf {
    raw: Box<[u8]>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    pub(crate) fn new(len: usize) -> AlignedBuf {
        let raw = vec![0; len + ALIGN].into_boxed_slice();
        // An offset it cannot compute leaves the buffer unaligned: slower, still right.
        let start = Some(raw.as_ptr().align_offset(ALIGN))
            .filter(|&o| o < ALIGN)
            .unwrap_or(0);
        AlignedBuf { raw, start, len }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }
}

/// The SHA-256 of each [`BLOCK`]-sized block of a stream.
#[derive(Debug, Clone, Default)]
struct BlockHasher {
    block: Sha256,
    in_block: u64,
    blocks: Vec<[u8; 32]>,
}

impl BlockHasher {
    fn update(&mut self, mut buf: &[u8]) {
        while !buf.is_empty() {
            let room = usize::try_from(BLOCK - self.in_block).unwrap_or(usize::MAX);
            let (now, rest) = buf.split_at(room.min(buf.len()));
            self.block.update(now);
            self.in_block += now.len() as u64;
            if self.in_block == BLOCK {
                self.blocks
                    .push(std::mem::take(&mut self.block).finalize().into());
                self.in_block = 0;
            }
            buf = rest;
        }
    }

    fn finish(mut self) -> Vec<[u8; 32]> {
        if self.in_block > 0 {
            self.blocks.push(self.block.finalize().into());
        }
        self.blocks
    }
}

/// The whole-stream SHA-256 and the per-block ones, fed in one pass.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamHasher {
    whole: Sha256,
    size: u64,
    blocks: BlockHasher,
}

impl StreamHasher {
    pub(crate) fn update(&mut self, buf: &[u8]) {
        self.whole.update(buf);
        self.size += buf.len() as u64;
        self.blocks.update(buf);
    }

    pub(crate) fn finish(self) -> Digest {
        Digest {
            size: self.size,
            sha256: self.whole.finalize().into(),
            blocks: self.blocks.finish(),
        }
    }

    /// The hasher whose two halves ran as the `Whole` and `Blocks` stages.
    fn from_stages(stages: Vec<Stage>) -> StreamHasher {
        let mut h = StreamHasher::default();
        for stage in stages {
            match stage {
                Stage::Whole { sha256, size } => (h.whole, h.size) = (sha256, size),
                Stage::Blocks(blocks) => h.blocks = blocks,
                Stage::Write(_) | Stage::Stream(_) => {}
            }
        }
        h
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

/// One copy being written, pushed to disk every [`FLUSH_EVERY`] bytes by a helper
/// thread, so the fsync that ends the copy has little left to wait for.
#[derive(Debug)]
struct CopyWriter {
    file: File,
    unflushed: u64,
    wake: Option<SyncSender<()>>,
    flusher: Option<JoinHandle<io::Result<()>>>,
}

impl CopyWriter {
    fn new(file: &File) -> io::Result<CopyWriter> {
        let synced = file.try_clone()?;
        let (wake, woken) = sync_channel::<()>(1);
        let flusher = thread::Builder::new()
            .name("backstop-flush".into())
            .spawn(move || {
                // Returned, never dropped: fsync reports a write error only once.
                for () in woken {
                    synced.sync_data()?;
                }
                Ok(())
            })?;
        Ok(CopyWriter {
            file: file.try_clone()?,
            unflushed: 0,
            wake: Some(wake),
            flusher: Some(flusher),
        })
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)?;
        self.unflushed += buf.len() as u64;
        if self.unflushed >= FLUSH_EVERY {
            self.unflushed = 0;
            let woken = self.wake.as_ref().map(|w| w.try_send(()));
            // Full: a flush is under way and will take this data too.
            if let Some(Err(TrySendError::Disconnected(()))) = woken {
                return self.close();
            }
        }
        Ok(())
    }

    /// Stop the helper: the error it met, if any.
    fn close(&mut self) -> io::Result<()> {
        self.wake = None;
        match self.flusher.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(io::Error::other("the flushing thread panicked")),
        }
    }
}

impl Drop for CopyWriter {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// One step every buffer of a stream goes through, on a thread of its own.
enum Stage {
    Write(CopyWriter),
    /// Into another program's input.
    Stream(Box<dyn Write + Send>),
    Whole {
        sha256: Sha256,
        size: u64,
    },
    Blocks(BlockHasher),
}

impl std::fmt::Debug for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Write(_) => "Stage::Write",
            Stage::Stream(_) => "Stage::Stream",
            Stage::Whole { .. } => "Stage::Whole",
            Stage::Blocks(_) => "Stage::Blocks",
        })
    }
}

impl Stage {
    fn whole() -> Stage {
        Stage::Whole {
            sha256: Sha256::new(),
            size: 0,
        }
    }

    fn feed(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stage::Write(copy) => copy.write(buf)?,
            Stage::Stream(to) => to.write_all(buf)?,
            Stage::Whole { sha256, size } => {
                sha256.update(buf);
                *size += buf.len() as u64;
            }
            Stage::Blocks(blocks) => blocks.update(buf),
        }
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        match self {
            Stage::Write(copy) => copy.close(),
            Stage::Stream(to) => to.flush(),
            Stage::Whole { .. } | Stage::Blocks(_) => Ok(()),
        }
    }
}

/// A buffer on its way through a [`Pipeline`], and how much of it is data.
#[derive(Debug)]
struct Piece {
    bytes: AlignedBuf,
    len: usize,
}

impl Piece {
    fn new() -> Piece {
        Piece {
            bytes: AlignedBuf::new(PIECE),
            len: 0,
        }
    }

    fn filled(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Why a pipeline stopped: the index of the stage that failed, and its error.
type Stopped = (usize, io::Error);

/// Threads that each see every byte of a stream, in order: a buffer the caller
/// fills goes through stage 0, then stage 1, …, then back to the caller to be
/// filled again, so the stages work on different buffers at the same time.
#[derive(Debug)]
struct Pipeline {
    filling: Piece,
    /// Into the first stage; `None` once the stream is closed.
    first: Option<SyncSender<Piece>>,
    /// Buffers the last stage is done with.
    spare: Receiver<Piece>,
    made: usize,
    threads: Vec<JoinHandle<Result<Stage, io::Error>>>,
}

impl Pipeline {
    fn start(stages: Vec<Stage>) -> io::Result<Pipeline> {
        // Never full: it can hold every buffer there is, so the last stage never waits.
        let (back, spare) = sync_channel(IN_FLIGHT);
        let mut output = back;
        let mut threads = Vec::with_capacity(stages.len());
        for stage in stages.into_iter().rev() {
            let (tx, input) = sync_channel(IN_FLIGHT);
            let output = std::mem::replace(&mut output, tx);
            let thread = thread::Builder::new()
                .name("backstop-copy".into())
                .spawn(move || run_stage(stage, &input, &output))?;
            threads.push(thread);
        }
        threads.reverse();
        Ok(Pipeline {
            filling: Piece::new(),
            first: Some(output),
            spare,
            made: 1,
            threads,
        })
    }

    fn write(&mut self, mut buf: &[u8]) -> Result<(), Stopped> {
        while !buf.is_empty() {
            self.check_running()?;
            let room = &mut self.filling.bytes[self.filling.len..];
            let n = room.len().min(buf.len());
            room[..n].copy_from_slice(&buf[..n]);
            self.filling.len += n;
            buf = &buf[n..];
            if self.filling.len == PIECE {
                self.pass_on()?;
            }
        }
        Ok(())
    }

    /// One read from `r` straight into the buffer being filled: what the reader
    /// returned (0 at its end), or why the pipeline stopped.
    fn read_from(&mut self, r: &mut impl Read) -> Result<io::Result<usize>, Stopped> {
        self.check_running()?;
        let end = (self.filling.len + CHUNK).min(PIECE);
        let read = r.read(&mut self.filling.bytes[self.filling.len..end]);
        if let Ok(n) = read {
            self.filling.len += n;
            if self.filling.len == PIECE {
                self.pass_on()?;
            }
        }
        Ok(read)
    }

    fn check_running(&self) -> Result<(), Stopped> {
        match self.first {
            Some(_) => Ok(()),
            None => Err((0, io::Error::other("the copy already failed"))),
        }
    }

    /// Hand the buffer being filled to the first stage and take a free one.
    fn pass_on(&mut self) -> Result<(), Stopped> {
        let full = std::mem::replace(
            &mut self.filling,
            Piece {
                bytes: AlignedBuf::default(),
                len: 0,
            },
        );
        let sent = self.first.as_ref().is_some_and(|tx| tx.send(full).is_ok());
        if !sent {
            return Err(self.stop());
        }
        self.filling = match self.spare.try_recv() {
            Ok(piece) => piece,
            Err(_) if self.made < IN_FLIGHT => {
                self.made += 1;
                Piece::new()
            }
            Err(_) => match self.spare.recv() {
                Ok(piece) => piece,
                Err(_) => return Err(self.stop()),
            },
        };
        self.filling.len = 0;
        Ok(())
    }

    /// Send what is left, close the stream and wait for every stage to finish it.
    fn finish(mut self) -> Result<Vec<Stage>, Stopped> {
        self.check_running()?;
        if self.filling.len > 0 {
            self.pass_on()?;
        }
        self.first = None;
        self.join()
    }

    /// Close the stream after a failure: the error of the stage that failed.
    fn stop(&mut self) -> Stopped {
        self.first = None;
        match self.join() {
            Err(stopped) => stopped,
            Ok(_) => (0, io::Error::other("a copying thread stopped early")),
        }
    }

    fn join(&mut self) -> Result<Vec<Stage>, Stopped> {
        let mut stages = Vec::with_capacity(self.threads.len());
        let mut failed = None;
        for (i, thread) in self.threads.drain(..).enumerate() {
            let error = match thread.join() {
                Ok(Ok(stage)) => {
                    stages.push(stage);
                    continue;
                }
                Ok(Err(e)) => e,
                Err(_) => io::Error::other("a copying thread panicked"),
            };
            failed.get_or_insert((i, error));
        }
        match failed {
            Some(stopped) => Err(stopped),
            None => Ok(stages),
        }
    }
}

impl Drop for Pipeline {
    // Abandoned (an error elsewhere): no thread goes on writing after this.
    fn drop(&mut self) {
        self.first = None;
        let _ = self.join();
    }
}

fn run_stage(
    mut stage: Stage,
    input: &Receiver<Piece>,
    output: &SyncSender<Piece>,
) -> io::Result<Stage> {
    for piece in input {
        stage.feed(piece.filled())?;
        // Only a later stage that failed closes this; its error is the one reported.
        if output.send(piece).is_err() {
            break;
        }
    }
    stage.close()?;
    Ok(stage)
}

/// Feed a reader to `each`, one [`CHUNK`] at a time, to its end; how much it held.
fn each_chunk(r: &mut impl Read, mut each: impl FnMut(&[u8])) -> io::Result<u64> {
    let mut buf = AlignedBuf::new(CHUNK);
    let mut size = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(size),
            Ok(n) => {
                each(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Hash a reader to its end in constant memory.
pub fn digest_reader(r: &mut impl Read) -> io::Result<Digest> {
    let mut hasher = StreamHasher::default();
    each_chunk(r, |buf| hasher.update(buf))?;
    Ok(hasher.finish())
}

/// Size and SHA-256 of a file, read from disk (not from what we think we wrote).
///
/// A file larger than a block is read twice at once, the whole hash on this thread
/// and the block hashes on another, so both take about as long as one.
pub fn digest_file(path: &Path) -> Result<Digest> {
    let mut f = File::open(path).map_err(io("open", path))?;
    let len = f.metadata().map_err(io("inspect", path))?.len();
    if len <= BLOCK {
        return digest_reader(&mut f).map_err(io("read", path));
    }
    let mut again = File::open(path).map_err(io("open", path))?;
    let (whole, blocks) = thread::scope(|s| {
        let blocks = s.spawn(move || {
            let mut blocks = BlockHasher::default();
            each_chunk(&mut again, |buf| blocks.update(buf)).map(|size| (size, blocks))
        });
        let mut sha256 = Sha256::new();
        let whole = each_chunk(&mut f, |buf| sha256.update(buf)).map(|size| (size, sha256));
        let blocks = blocks
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the hashing thread panicked")));
        (whole, blocks)
    });
    let (size, whole) = whole.map_err(io("read", path))?;
    let (read_again, blocks) = blocks.map_err(io("read", path))?;
    if read_again != size {
        return Err(Error::Io {
            op: "read",
            path: path.to_path_buf(),
            source: io::Error::other("it changed while it was being read"),
        });
    }
    Ok(StreamHasher {
        whole,
        size,
        blocks,
    }
    .finish())
}

/// Size and SHA-256 of a file read back from disk, without the block hashes: what
/// proves a copy just written, since the same SHA-256 means the same blocks.
pub fn sha256_file(path: &Path) -> Result<(u64, [u8; 32])> {
    let mut f = File::open(path).map_err(io("open", path))?;
    let mut sha256 = Sha256::new();
    let size = each_chunk(&mut f, |buf| sha256.update(buf)).map_err(io("read", path))?;
    Ok((size, sha256.finalize().into()))
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

/// Where one copy of a backup goes.
pub enum Sink {
    /// A new file: written beside its name, flushed, moved into place and re-read.
    File(PathBuf),
    /// Another program's input (restic, rclone): it keeps the copy, and whoever
    /// started it proves that copy once the stream is closed.
    Stream {
        /// How the copy is named in messages (`restic:/srv/repo`).
        label: String,
        to: Box<dyn Write + Send>,
    },
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::File(p) => write!(f, "Sink::File({})", p.display()),
            Sink::Stream { label, .. } => write!(f, "Sink::Stream({label})"),
        }
    }
}

/// A copy being written to a file not yet in place.
#[derive(Debug)]
struct Pending {
    dest: PathBuf,
    file: NamedTempFile,
}

/// A writer that hashes what it is given and writes it to every sink at once: the
/// one pass that makes a backup and all its copies. [`Copies::finish`] closes the
/// streams, moves the files into place and proves them by re-reading; dropping it
/// unfinished (an error anywhere) leaves no file behind and closes every stream
/// early, so the programs reading them fail instead of keeping a partial copy.
#[derive(Debug)]
pub struct Copies {
    // First, so its threads have stopped writing before the files are removed.
    pipeline: Pipeline,
    /// Each sink's name for messages, in the order given (and of the stages).
    labels: Vec<String>,
    files: Vec<Pending>,
}

/// What [`Copies::finish`] proved: the digest of the stream, and the files it placed
/// (each re-read and matching), which the caller removes if a later step fails.
#[derive(Debug)]
pub struct Finished {
    pub digest: Digest,
    pub placed: Vec<PathBuf>,
}

impl Copies {
    pub fn create(sinks: Vec<Sink>) -> Result<Copies> {
        let mut labels = Vec::with_capacity(sinks.len());
        let mut files = Vec::new();
        let mut stages = Vec::with_capacity(sinks.len() + 2);
        for sink in sinks {
            match sink {
                Sink::File(dest) => {
                    if dest.exists() {
                        return Err(Error::Exists { path: dest });
                    }
                    let file = temp_beside(&dest)?;
                    stages.push(Stage::Write(
                        CopyWriter::new(file.as_file()).map_err(io("start writing", &dest))?,
                    ));
                    labels.push(dest.display().to_string());
                    files.push(Pending { dest, file });
                }
                Sink::Stream { label, to } => {
                    stages.push(Stage::Stream(to));
                    labels.push(label);
                }
            }
        }
        let first = labels.first().cloned().unwrap_or_default();
        // The sinks are stages 0..n, in the order given; the hashes come after.
        stages.extend([Stage::whole(), Stage::Blocks(BlockHasher::default())]);
        Ok(Copies {
            pipeline: Pipeline::start(stages).map_err(io("start writing", Path::new(&first)))?,
            labels,
            files,
        })
    }

    /// The copy a stage failing at `stage` was writing (the first for a hash stage).
    fn label_of(&self, stage: usize) -> &str {
        self.labels
            .get(stage)
            .or(self.labels.first())
            .map_or("the backup", String::as_str)
    }

    fn stopped(&self, (stage, source): Stopped) -> Error {
        Error::Io {
            op: "write",
            path: PathBuf::from(self.label_of(stage)),
            source,
        }
    }

    /// Read `src` to its end into every copy.
    pub fn fill_from(&mut self, src: &mut impl Read) -> Result<()> {
        loop {
            let read = self.pipeline.read_from(src).map_err(|s| self.stopped(s))?;
            match read {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
                        op: "read the source for",
                        path: PathBuf::from(self.label_of(0)),
                        source,
                    })
                }
            }
        }
    }

    /// Close every stream, flush the files to disk, move them into place (never over
    /// an existing file), re-read them and check size and SHA-256 against what was
    /// written. On failure no file is left in place.
    pub fn finish(self) -> Result<Finished> {
        self.close()?.settle()
    }

    /// Wait for every stage to take the whole stream: the digest is known, the
    /// streams have had all their bytes (their pipes are handed back, see
    /// [`Sink::Stream`]), and the files wait to be settled.
    pub fn close(self) -> Result<Closed> {
        let Copies {
            pipeline,
            labels,
            files,
        } = self;
        let first = || PathBuf::from(labels.first().cloned().unwrap_or_default());
        let stages = pipeline.finish().map_err(|(stage, source)| Error::Io {
            op: "write",
            path: labels.get(stage).map_or_else(first, PathBuf::from),
            source,
        })?;
        let written = StreamHasher::from_stages(stages).finish();
        if written.size == 0 {
            return Err(Error::Empty { path: first() });
        }
        Ok(Closed {
            digest: written,
            files,
        })
    }
}

/// A backup whose every byte is written: what remains is to settle its files.
/// Dropped unsettled, it leaves no file behind.
#[derive(Debug)]
pub struct Closed {
    digest: Digest,
    files: Vec<Pending>,
}

impl Closed {
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Flush the files, move them into place and re-read them (see [`Copies::finish`]).
    pub fn settle(self) -> Result<Finished> {
        let Closed {
            digest: written,
            files,
        } = self;
        // Each copy on its own thread, so one disk's fsync overlaps another's re-read.
        let settled: Vec<(PathBuf, Settled)> = thread::scope(|s| {
            let running: Vec<_> = files
                .into_iter()
                .map(|p| {
                    let dest = p.dest.clone();
                    (dest, s.spawn(move || settle(p.file, &p.dest)))
                })
                .collect();
            running
                .into_iter()
                .map(|(dest, t)| {
                    let settled = t.join().unwrap_or_else(|_| Settled {
                        placed: false,
                        read_back: Err(Error::Io {
                            op: "re-read",
                            path: dest.clone(),
                            source: io::Error::other("the checking thread panicked"),
                        }),
                    });
                    (dest, settled)
                })
                .collect()
        });
        let mut failure = None;
        let mut placed = Vec::new();
        for (d, s) in settled {
            let problem = match s.read_back {
                Err(e) => Some(e),
                Ok((size, sha256)) if size != written.size || sha256 != written.sha256 => {
                    Some(Error::Mismatch {
                        path: d.clone(),
                        expected: written.hex(),
                        expected_size: written.size,
                        actual: hex(&sha256),
                        actual_size: size,
                    })
                }
                Ok(_) => None,
            };
            if s.placed {
                placed.push(d);
            }
            failure = failure.or(problem);
        }
        if let Some(e) = failure {
            for d in placed {
                let _ = std::fs::remove_file(d);
            }
            return Err(e);
        }
        Ok(Finished {
            digest: written,
            placed,
        })
    }
}

/// One copy at the end: whether it was moved into place (so it is ours to remove if
/// anything failed), and its size and SHA-256 as read back from disk.
struct Settled {
    placed: bool,
    read_back: Result<(u64, [u8; 32])>,
}

/// Flush a copy to disk, move it into place and read it back.
fn settle(file: NamedTempFile, dest: &Path) -> Settled {
    if let Err(e) = file.as_file().sync_all() {
        return Settled {
            placed: false,
            read_back: Err(io("flush", dest)(e)),
        };
    }
    if let Err(e) = file.persist_noclobber(dest) {
        return Settled {
            placed: false,
            read_back: Err(Error::Io {
                op: "move into place",
                path: dest.to_path_buf(),
                source: e.error,
            }),
        };
    }
    Settled {
        placed: true,
        read_back: sha256_file(dest),
    }
}

impl Write for Copies {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.pipeline.write(buf) {
            Ok(()) => Ok(buf.len()),
            Err((stage, e)) if stage < self.labels.len() => Err(io::Error::new(
                e.kind(),
                format!("cannot write {}: {e}", self.label_of(stage)),
            )),
            Err((_, e)) => Err(e),
        }
    }

    // What is written reaches the sinks through the pipeline; `finish` waits for it.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Read `src` once, hashing it while writing it to the files `dests`, then prove
/// every copy (see [`Copies`]). On any failure no copy is left behind.
pub fn copy_to_files(src: &mut impl Read, dests: &[&Path]) -> Result<Digest> {
    let mut out = Copies::create(dests.iter().map(|d| Sink::File(d.to_path_buf())).collect())?;
    out.fill_from(src)?;
    Ok(out.finish()?.digest)
}

/// [`copy_to_files`] with two files: a backup and its second copy.
pub fn copy_to_two(src: &mut impl Read, dest_a: &Path, dest_b: &Path) -> Result<Digest> {
    copy_to_files(src, &[dest_a, dest_b])
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
        let data: Vec<u8> = (0..(2 * BLOCK as usize + 5))
            .map(|i| (i % 7) as u8)
            .collect();
        // Fed in odd-sized pieces, the blocks still fall on BLOCK boundaries.
        let mut h = StreamHasher::default();
        for piece in data.chunks(999_983) {
            h.update(piece);
        }
        let d = h.finish();
        assert_eq!(d.blocks.len(), 3);
        for (i, block) in data.chunks(BLOCK as usize).enumerate() {
            assert_eq!(
                d.blocks[i],
                <[u8; 32]>::from(Sha256::digest(block)),
                "block {i}"
            );
        }
        assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
    }

    /// Bytes that differ from block to block, so a misplaced chunk changes a hash.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn a_file_hashed_on_two_threads_matches_one_pass() {
        // Several blocks, ending mid-chunk: digest_file reads it twice at once.
        let data = pattern(3 * BLOCK as usize + 2 * CHUNK + 12_345);
        let mut reference = StreamHasher::default();
        reference.update(&data);
        let reference = reference.finish();
        assert_eq!(reference.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        assert_eq!(digest_file(&path).unwrap(), reference);
        let mut odd = io::BufReader::with_capacity(999_983, &data[..]);
        assert_eq!(digest_reader(&mut odd).unwrap(), reference);
    }

    #[test]
    fn small_writes_are_copied_and_hashed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let data = pattern(2 * BLOCK as usize + 777);
        let mut out = Copies::create(vec![Sink::File(a.clone()), Sink::File(b.clone())]).unwrap();
        // Like tar: a few bytes at a time as well as large pieces.
        let mut rest = &data[..];
        for size in [512, 1, 3 * CHUNK + 5, 100].iter().cycle() {
            let (now, later) = rest.split_at((*size).min(rest.len()));
            out.write_all(now).unwrap();
            rest = later;
            if rest.is_empty() {
                break;
            }
        }
        let d = out.finish().unwrap().digest;
        assert_eq!(d, digest_reader(&mut &data[..]).unwrap());
        assert_eq!(std::fs::read(&a).unwrap(), data);
        assert_eq!(std::fs::read(&b).unwrap(), data);
    }

    #[test]
    fn a_failing_stage_stops_the_pipeline_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("read-only");
        std::fs::write(&path, b"").unwrap();
        let read_only = File::open(&path).unwrap();
        let mut p = Pipeline::start(vec![
            Stage::whole(),
            Stage::Write(CopyWriter::new(&read_only).unwrap()),
        ])
        .unwrap();
        // More than the buffers in flight, so a writer that stops cannot go unnoticed.
        let data = pattern(PIECE);
        let mut failed = None;
        for _ in 0..2 * IN_FLIGHT {
            if let Err(e) = p.write(&data) {
                failed = Some(e);
                break;
            }
        }
        let (stage, _) = failed.expect("writing to a read-only file must fail");
        assert_eq!(stage, 1);
        // Once stopped, it says so instead of waiting.
        assert!(p.write(b"more").is_err());
        assert!(p.finish().is_err());
    }

    #[test]
    fn a_copy_that_cannot_be_placed_removes_the_other() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let mut out = Copies::create(vec![Sink::File(a.clone()), Sink::File(b.clone())]).unwrap();
        out.write_all(b"new backup").unwrap();
        // Someone else's file appears at the second name meanwhile.
        std::fs::write(&b, b"not ours").unwrap();
        let e = out.finish().unwrap_err();
        assert!(e.to_string().contains("move into place"), "{e}");
        assert!(!a.exists(), "the first copy must not be kept alone");
        assert_eq!(std::fs::read(&b).unwrap(), b"not ours");
        assert_eq!(leftovers(dir.path()), vec!["b".to_string()]);
    }

    /// A stream sink that keeps what it is given, or fails after `fail_after` bytes.
    struct Kept {
        got: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
        fail_after: usize,
    }

    impl Write for Kept {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut got = self.got.lock().unwrap();
            if got.len() + buf.len() > self.fail_after {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "restic stopped"));
            }
            got.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn stream(fail_after: usize) -> (Sink, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Sink::Stream {
            label: "restic:/srv/repo".into(),
            to: Box::new(Kept {
                got: std::sync::Arc::clone(&got),
                fail_after,
            }),
        };
        (sink, got)
    }

    #[test]
    fn a_stream_gets_every_byte_beside_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let data = pattern(3 * PIECE + 11);
        let (sink, got) = stream(usize::MAX);
        let mut out = Copies::create(vec![Sink::File(dir.path().join("a")), sink]).unwrap();
        out.fill_from(&mut &data[..]).unwrap();
        let f = out.finish().unwrap();
        assert_eq!(f.placed, vec![dir.path().join("a")]);
        assert_eq!(*got.lock().unwrap(), data);
        assert_eq!(f.digest, digest_reader(&mut &data[..]).unwrap());
    }

    #[test]
    fn a_failing_stream_keeps_no_file_and_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let data = pattern(2 * PIECE * IN_FLIGHT);
        let (sink, _) = stream(PIECE);
        let mut out = Copies::create(vec![Sink::File(dir.path().join("a")), sink]).unwrap();
        let e = out
            .fill_from(&mut &data[..])
            .and_then(|()| out.finish().map(drop))
            .unwrap_err();
        assert!(e.to_string().contains("restic:/srv/repo"), "{e}");
        assert!(e.to_string().contains("restic stopped"), "{e}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn sha256_file_agrees_with_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data = pattern(CHUNK + 3);
        std::fs::write(&path, &data).unwrap();
        let d = digest_file(&path).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), (d.size, d.sha256));
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
