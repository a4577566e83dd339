//! Destinations: where the copies of a backup go, and how each is written, proven,
//! read and deleted.
//!
//! - a local directory (a disk, an external drive, a mounted NAS share): the copy is
//!   a file, written by [`crate::copy::Copies`];
//! - `restic:REPO`: any restic repository, through the `restic` program; the backup
//!   is streamed into `restic backup --stdin` and becomes one file in a snapshot;
//! - `rclone:REMOTE:PATH`: any rclone remote, through the `rclone` program; the
//!   backup is streamed into `rclone rcat` under a partial name and moved to its
//!   name once whole.
//!
//! backstop has no network code of its own: restic and rclone reach the remotes,
//! with their own configuration, credentials and passwords (restic's stay in its
//! environment variables, password file or command; none is ever recorded).
//!
//! Every copy is proven after it is written: a restic snapshot is read back with
//! `restic dump`, an rclone object with the remote's own SHA-256 where rclone
//! offers one, else read back with `rclone cat`, through SHA-256.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest as _, Sha256};

use crate::copy::{hex, Copies, Digest, Sink};
use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::manifest::{Copy, CopyKind};

/// How much of a copy's start is kept while it is read back, for content checks.
const HEAD: usize = 64 << 10;

/// Where a backup's copy goes, as the person wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Local(PathBuf),
    /// A restic repository, as `restic -r` takes it.
    Restic(String),
    /// An rclone `REMOTE:PATH`.
    Rclone(String),
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Local(p) => write!(f, "{}", p.display()),
            Dest::Restic(r) => write!(f, "restic:{r}"),
            Dest::Rclone(r) => write!(f, "rclone:{r}"),
        }
    }
}

impl Dest {
    /// `restic:REPO`, `rclone:REMOTE:PATH`, or a directory. The error says what is
    /// wrong with the text, for a person.
    pub fn parse(text: &str) -> Result<Dest, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "a destination is empty; give a directory, restic:REPO or rclone:REMOTE:PATH"
                    .into(),
            );
        }
        if let Some(repo) = text.strip_prefix("restic:") {
            if repo.trim().is_empty() {
                return Err(format!("`{text}` names no repository; write restic:REPO (a path, sftp:…, rest:…, s3:…)"));
            }
            return Ok(Dest::Restic(repo.to_string()));
        }
        if let Some(target) = text.strip_prefix("rclone:") {
            match target.rsplit_once(':') {
                Some((remote, _)) if !remote.is_empty() => {}
                _ => {
                    return Err(format!(
                        "`{text}` names no remote; write rclone:REMOTE:PATH (`rclone listremotes` lists them)"
                    ))
                }
            }
            return Ok(Dest::Rclone(target.to_string()));
        }
        Ok(Dest::Local(PathBuf::from(text)))
    }

    pub fn kind(&self) -> CopyKind {
        match self {
            Dest::Local(_) => CopyKind::Local,
            Dest::Restic(_) => CopyKind::Restic,
            Dest::Rclone(_) => CopyKind::Rclone,
        }
    }

    /// A restic repository that is a local path: on a local disk's domain.
    fn restic_local_path(repo: &str) -> Option<&Path> {
        let p = repo.strip_prefix("local:").unwrap_or(repo);
        Path::new(p).is_absolute().then(|| Path::new(p))
    }

    /// The rclone remote's name: what a person lists with `rclone listremotes`.
    fn rclone_remote(target: &str) -> &str {
        // `nas:backstop` → `nas`; an on-the-fly `:sftp,host=h:path` keeps its options.
        match target.strip_prefix(':') {
            Some(rest) => rest.rsplit_once(':').map_or(target, |(r, _)| r),
            None => target.split_once(':').map_or(target, |(r, _)| r),
        }
    }

    /// Its failure domain now: a local directory's disks, a remote of its own.
    pub fn domain(&self) -> Result<Domain> {
        match self {
            Dest::Local(p) => crate::domain::of_path(p),
            Dest::Restic(r) => match Dest::restic_local_path(r) {
                Some(p) if p.exists() => crate::domain::of_path(p),
                _ => Ok(Domain::remote(&format!("restic:{r}"))),
            },
            Dest::Rclone(r) => Ok(Domain::remote(&format!(
                "rclone:{}",
                Dest::rclone_remote(r)
            ))),
        }
    }

    /// Can a backup be written there now? A local directory exists; restic opens the
    /// repository with its password; rclone creates the path on the remote.
    pub fn reachable(&self) -> Result<()> {
        match self {
            Dest::Local(p) => {
                let meta = std::fs::metadata(p).map_err(|e| {
                    self.error(format!(
                        "{e}; create it, or plug in and mount the drive it is on"
                    ))
                })?;
                if !meta.is_dir() {
                    return Err(self.error("is not a directory".into()));
                }
                Ok(())
            }
            Dest::Restic(repo) => {
                restic_password_is_set(self)?;
                run_quiet(self, "restic", &["-r", repo, "--quiet", "cat", "config"]).map(drop)
            }
            Dest::Rclone(target) => run_quiet(self, "rclone", &["mkdir", target]).map(drop),
        }
    }

    /// Free space there in bytes, where it can be known: a local directory or a
    /// restic repository on a local path by the filesystem, an rclone remote by
    /// `rclone about` when the remote reports it.
    pub fn free_space(&self) -> Option<u64> {
        match self {
            Dest::Local(p) => free_space_of(p),
            Dest::Restic(r) => Dest::restic_local_path(r).and_then(free_space_of),
            Dest::Rclone(target) => {
                let name = Dest::rclone_remote(target);
                let remote = if target.starts_with(':') {
                    format!(":{name}:")
                } else {
                    format!("{name}:")
                };
                let out = run_quiet(self, "rclone", &["about", "--json", &remote]).ok()?;
                let v: serde_json::Value = serde_json::from_slice(&out).ok()?;
                v.get("free").and_then(serde_json::Value::as_u64)
            }
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Remote {
            dest: self.to_string(),
            message,
        }
    }
}

/// Bytes free to an unprivileged writer on the filesystem of `path`.
#[cfg(unix)]
pub fn free_space_of(path: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Free space is not read on this platform: the check is skipped (documented).
#[cfg(not(unix))]
pub fn free_space_of(_path: &Path) -> Option<u64> {
    None
}

/// restic reads its password from these; without one it would read our stream.
const RESTIC_PASSWORD_VARS: [&str; 3] = [
    "RESTIC_PASSWORD",
    "RESTIC_PASSWORD_FILE",
    "RESTIC_PASSWORD_COMMAND",
];

fn restic_password_is_set(dest: &Dest) -> Result<()> {
    if RESTIC_PASSWORD_VARS
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
    {
        return Ok(());
    }
    Err(dest.error(
        "restic needs the repository's password, and backstop never stores one: set RESTIC_PASSWORD_FILE (or RESTIC_PASSWORD_COMMAND, or RESTIC_PASSWORD) in the environment backstop runs in".into(),
    ))
}

/// The last lines a program wrote on stderr, for a message.
fn tail(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("Config file") && !l.contains("using defaults"))
        .collect();
    let start = lines.len().saturating_sub(3);
    let t = lines[start..].join(" / ");
    if t.is_empty() {
        "it printed nothing on stderr".into()
    } else {
        t
    }
}

/// Run `program args` to its end; its stdout, or an error naming the destination
/// and what the program said.
fn run_quiet(dest: &Dest, program: &str, args: &[&str]) -> Result<Vec<u8>> {
    let mut cmd = crate::recipe::program(program)?;
    cmd.args(args).stdin(Stdio::null());
    let out = cmd
        .output()
        .map_err(|e| dest.error(format!("`{program}` could not start: {e}")))?;
    if !out.status.success() {
        return Err(dest.error(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            tail(&out.stderr)
        )));
    }
    Ok(out.stdout)
}

/// Drain a pipe on a thread, keeping what `keep` wants (a bounded amount).
fn drain<R: Read + Send + 'static>(
    mut r: R,
    keep: impl Fn(&mut Vec<u8>, &[u8]) + Send + 'static,
) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => return kept,
                Ok(n) => keep(&mut kept, &buf[..n]),
            }
        }
    })
}

/// Keep the last 16 KiB: enough for an error message or a JSON summary line.
fn keep_tail(kept: &mut Vec<u8>, more: &[u8]) {
    kept.extend_from_slice(more);
    if kept.len() > 32 << 10 {
        kept.drain(..kept.len() - (16 << 10));
    }
}

/// `REMOTE:PATH` joined with a name.
fn rclone_join(target: &str, name: &str) -> String {
    if target.ends_with(':') || target.ends_with('/') {
        format!("{target}{name}")
    } else {
        format!("{target}/{name}")
    }
}

/// The write end of a program's stdin, handed to [`Copies`]. Dropped, it parks the
/// pipe instead of closing it: only a finished stream may reach its end, since
/// restic and rclone take an end of input for a whole backup.
struct StreamTo {
    pipe: Option<ChildStdin>,
    park: Arc<Mutex<Option<ChildStdin>>>,
}

impl Write for StreamTo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.pipe {
            Some(p) => p.write(buf),
            None => Err(io::Error::other("the stream is closed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.pipe.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for StreamTo {
    fn drop(&mut self) {
        if let Ok(mut park) = self.park.lock() {
            *park = self.pipe.take();
        }
    }
}

/// A copy on its way to restic or rclone.
struct Upload {
    dest: Dest,
    /// The file name inside the snapshot, or the object's final `REMOTE:PATH/NAME`.
    object: String,
    /// rclone: the partial object being written.
    partial: Option<String>,
    child: Child,
    pipe: Arc<Mutex<Option<ChildStdin>>>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    done: bool,
}

impl Upload {
    fn start(dest: &Dest, name: &str) -> Result<(Upload, Sink)> {
        let (mut cmd, object, partial) = match dest {
            Dest::Restic(repo) => {
                restic_password_is_set(dest)?;
                let mut c = crate::recipe::program("restic")?;
                c.args(["-r", repo, "backup", "--stdin", "--stdin-filename", name])
                    .args(["--json", "--quiet", "--tag", "backstop"]);
                (c, format!("/{name}"), None)
            }
            Dest::Rclone(target) => {
                let partial = rclone_join(target, &format!(".backstop-partial-{name}"));
                let mut c = crate::recipe::program("rclone")?;
                c.args(["rcat", &partial]);
                (c, rclone_join(target, name), Some(partial))
            }
            Dest::Local(p) => {
                return Err(Error::Remote {
                    dest: p.display().to_string(),
                    message: "a local directory is written as a file, not streamed".into(),
                })
            }
        };
        let program = match dest {
            Dest::Restic(_) => "restic",
            _ => "rclone",
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| dest.error(format!("`{program}` could not start: {e}")))?;
        let stdout = child.stdout.take().map(|o| drain(o, keep_tail));
        let stderr = child.stderr.take().map(|e| drain(e, keep_tail));
        let park = Arc::new(Mutex::new(None));
        let sink = Sink::Stream {
            label: dest.to_string(),
            to: Box::new(StreamTo {
                pipe: child.stdin.take(),
                park: Arc::clone(&park),
            }),
        };
        Ok((
            Upload {
                dest: dest.clone(),
                object,
                partial,
                child,
                pipe: park,
                stdout,
                stderr,
                done: false,
            },
            sink,
        ))
    }

    fn stderr_tail(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|t| t.join().ok())
            .map_or_else(String::new, |e| tail(&e))
    }

    /// If the program already failed, what it said: the real cause of a broken pipe.
    fn failed_early(&mut self) -> Option<Error> {
        match self.child.try_wait() {
            Ok(Some(status)) if !status.success() => {
                let why = self.stderr_tail();
                Some(self.dest.error(format!("{} ({status})", why)))
            }
            _ => None,
        }
    }

    /// The end of input: the program now completes its copy.
    fn end_input(&self) {
        if let Ok(mut p) = self.pipe.lock() {
            p.take();
        }
    }

    /// End the stream, wait for the program, put the copy in its place and prove it.
    fn finish(mut self, digest: &Digest, now: u64) -> Result<Copy> {
        self.end_input();
        let status = self
            .child
            .wait()
            .map_err(|e| self.dest.error(format!("cannot wait for it: {e}")))?;
        let stdout = self
            .stdout
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        if !status.success() {
            let why = self.stderr_tail();
            return Err(self
                .dest
                .error(format!("the backup failed ({status}): {why}")));
        }
        let mut copy = Copy::local(PathBuf::new(), 0, digest.size, digest.hex());
        copy.kind = self.dest.kind();
        copy.location = Some(self.dest.to_string());
        copy.object = Some(self.object.clone());
        copy.domain = self.dest.domain().map(|d| d.keys).unwrap_or_default();
        match &self.dest {
            Dest::Restic(repo) => {
                let short = restic_snapshot_id(&stdout).ok_or_else(|| {
                    self.dest
                        .error("restic made no snapshot (its summary names none)".into())
                })?;
                copy.snapshot = Some(restic_full_id(&self.dest, repo, &short).unwrap_or(short));
            }
            Dest::Rclone(_) => {
                if let Some(partial) = self.partial.take() {
                    if let Err(e) =
                        run_quiet(&self.dest, "rclone", &["moveto", &partial, &self.object])
                    {
                        self.partial = Some(partial);
                        return Err(e);
                    }
                }
            }
            Dest::Local(_) => {}
        }
        self.done = true;
        copy.path = PathBuf::from(copy.shown());
        let proof = prove(&copy);
        match proof {
            Ok(p) if p.size == digest.size && p.sha256 == digest.sha256 => {
                // When it was proven, not when the backup began: a long upload must not
                // eat into the proof window.
                let proven_at = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(now, |d| d.as_secs());
                copy.proven = Some(proven_at.max(now));
                Ok(copy)
            }
            other => {
                let why = match other {
                    Ok(p) => format!(
                        "read back as {} bytes with SHA-256 {}, not {} bytes with {}",
                        p.size,
                        hex(&p.sha256),
                        digest.size,
                        digest.hex()
                    ),
                    Err(e) => format!("cannot be read back: {e}"),
                };
                let _ = discard(&copy);
                Err(self
                    .dest
                    .error(format!("the copy written {why}; it was removed")))
            }
        }
    }
}

impl Drop for Upload {
    // Unfinished: stop the program before its input ends, so it keeps nothing.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(mut p) = self.pipe.lock() {
            p.take();
        }
        if let Some(partial) = &self.partial {
            let _ = run_quiet(&self.dest, "rclone", &["deletefile", partial]);
        }
    }
}

/// The snapshot id in `restic backup --json`'s summary line.
fn restic_snapshot_id(stdout: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["message_type"] == "summary")
        .and_then(|v| v["snapshot_id"].as_str().map(str::to_string))
}

/// restic 0.14's summary gives the short id; the manifest keeps the full one.
fn restic_full_id(dest: &Dest, repo: &str, short: &str) -> Option<String> {
    let out = run_quiet(
        dest,
        "restic",
        &["-r", repo, "--quiet", "snapshots", "--json", short],
    )
    .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out).ok()?;
    v.as_array()?.iter().find_map(|s| {
        s["id"]
            .as_str()
            .filter(|id| id.starts_with(short))
            .map(str::to_string)
    })
}

/// Everything a backup is written to: local files through [`Copies`], and the
/// programs that keep remote copies. Dropped unfinished, it leaves nothing: the
/// programs are stopped before their input ends, partial objects are deleted, and
/// the files never reach their names.
pub struct Outgoing {
    // Uploads first: their programs are stopped before the pipeline closes the pipes.
    uploads: Vec<Upload>,
    /// `None` once finished.
    copies: Option<Copies>,
    /// Each destination, in order, and whether it is written by `copies` as a file.
    order: Vec<(Dest, Option<PathBuf>)>,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dests: Vec<String> = self.order.iter().map(|(d, _)| d.to_string()).collect();
        write!(f, "Outgoing({dests:?})")
    }
}

impl Outgoing {
    /// Start writing a backup called `name` to every destination at once.
    pub fn start(dests: &[Dest], name: &str) -> Result<Outgoing> {
        let mut uploads = Vec::new();
        let mut sinks = Vec::new();
        let mut order = Vec::new();
        for d in dests {
            match d {
                Dest::Local(dir) => {
                    let path = dir.join(name);
                    sinks.push(Sink::File(path.clone()));
                    order.push((d.clone(), Some(path)));
                }
                _ => {
                    let (upload, sink) = Upload::start(d, name)?;
                    uploads.push(upload);
                    sinks.push(sink);
                    order.push((d.clone(), None));
                }
            }
        }
        Ok(Outgoing {
            copies: Some(Copies::create(sinks)?),
            uploads,
            order,
        })
    }

    /// A write error with the cause a remote program gave, when one failed first.
    fn explain(&mut self, e: Error) -> Error {
        self.uploads
            .iter_mut()
            .find_map(Upload::failed_early)
            .unwrap_or(e)
    }

    /// Read `src` to its end into every copy.
    pub fn fill_from(&mut self, src: &mut impl Read) -> Result<()> {
        let filled = match &mut self.copies {
            Some(c) => c.fill_from(src),
            None => Ok(()),
        };
        filled.map_err(|e| self.explain(e))
    }

    /// Finish every copy and prove it; the copies as the manifest records them, in
    /// the order of the destinations. On failure nothing is left anywhere.
    ///
    /// Once the whole stream is written, the programs are told it ended at once, so
    /// they complete and prove their copies while the local files are flushed and
    /// re-read (a local copy that then fails undoes the remote ones).
    pub fn finish(mut self, now: u64) -> Result<(Digest, Vec<Copy>)> {
        let closed = match self.copies.take().map(Copies::close) {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(self.explain(e)),
            None => {
                return Err(Error::Empty {
                    path: PathBuf::new(),
                })
            }
        };
        let digest = closed.digest().clone();
        for u in &self.uploads {
            u.end_input();
        }
        let uploads = std::mem::take(&mut self.uploads);
        let (local, remote) = std::thread::scope(|s| {
            let proving: Vec<_> = uploads
                .into_iter()
                .map(|u| s.spawn(|| u.finish(&digest, now)))
                .collect();
            let local = closed.settle();
            let remote: Vec<Result<Copy>> = proving
                .into_iter()
                .map(|t| {
                    t.join().unwrap_or_else(|_| {
                        Err(Error::Remote {
                            dest: "a remote copy".into(),
                            message: "the thread proving it panicked".into(),
                        })
                    })
                })
                .collect();
            (local, remote)
        });
        let (settled, mut failure) = match local {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(e)),
        };
        let mut proven = Vec::new();
        for r in remote {
            match r {
                Ok(c) => proven.push(c),
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failure {
            for c in &proven {
                let _ = discard(c);
            }
            for p in settled.map(|f| f.placed).unwrap_or_default() {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        let mut remote = proven.into_iter();
        let mut made = Vec::new();
        for (_, path) in &self.order {
            match path {
                Some(p) => made.push(local_copy(p, &digest)),
                None => made.extend(remote.next()),
            }
        }
        Ok((digest, made))
    }
}

impl Write for Outgoing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = match &mut self.copies {
            Some(c) => c.write(buf),
            None => Err(io::Error::other("the backup is already finished")),
        };
        // A broken pipe says little; the program that stopped reading says why.
        written.map_err(
            |e| match self.uploads.iter_mut().find_map(Upload::failed_early) {
                Some(cause) => io::Error::new(e.kind(), cause.to_string()),
                None => e,
            },
        )
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The record of a local copy just proven.
fn local_copy(path: &Path, digest: &Digest) -> Copy {
    let device = crate::device::device_of(path).unwrap_or(0);
    let mut c = Copy::local(path.to_path_buf(), device, digest.size, digest.hex());
    if let Ok(d) = crate::domain::of_path(path) {
        c.domain = d.keys;
        c.volatile = d.volatile;
    }
    c
}

/// Delete a copy: remove the file, forget the restic snapshot (and prune what only
/// it used), delete the rclone object. A copy already gone is no error.
pub fn discard(copy: &Copy) -> Result<()> {
    match copy.kind {
        CopyKind::Local => match std::fs::remove_file(&copy.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::Io {
                op: "delete",
                path: copy.path.clone(),
                source: e,
            }),
            _ => Ok(()),
        },
        CopyKind::Restic => {
            let (dest, repo) = restic_of(copy)?;
            let snap = copy.snapshot.as_deref().unwrap_or_default();
            run_quiet(
                &dest,
                "restic",
                &["-r", &repo, "--quiet", "forget", "--prune", snap],
            )
            .map(drop)
        }
        CopyKind::Rclone => {
            let dest = Dest::Rclone(copy.object.clone().unwrap_or_default());
            run_quiet(
                &dest,
                "rclone",
                &["deletefile", copy.object.as_deref().unwrap_or_default()],
            )
            .map(drop)
        }
    }
}

fn restic_of(copy: &Copy) -> Result<(Dest, String)> {
    match copy.location.as_deref().map(Dest::parse) {
        Some(Ok(Dest::Restic(repo))) => Ok((Dest::Restic(repo.clone()), repo)),
        _ => Err(Error::Remote {
            dest: copy.shown(),
            message: "the manifest does not name its restic repository".into(),
        }),
    }
}

/// A program's output read as a stream; at its end the program's exit status is
/// checked, so a copy that could not be read whole is an error, not a short read.
pub struct ChildReader {
    what: String,
    child: Child,
    out: ChildStdout,
    stderr: Option<JoinHandle<Vec<u8>>>,
    done: bool,
}

impl fmt::Debug for ChildReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChildReader({})", self.what)
    }
}

impl Read for ChildReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.out.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.done {
            self.done = true;
            let status = self.child.wait()?;
            if !status.success() {
                let why = self
                    .stderr
                    .take()
                    .and_then(|t| t.join().ok())
                    .map_or_else(String::new, |e| tail(&e));
                return Err(io::Error::other(format!(
                    "{} failed ({status}): {why}",
                    self.what
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for ChildReader {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Read a remote copy: `restic dump` of its snapshot, or `rclone cat` of its object.
pub fn open_remote(copy: &Copy) -> Result<ChildReader> {
    let (dest, program, args): (Dest, &str, Vec<String>) = match copy.kind {
        CopyKind::Restic => {
            let (dest, repo) = restic_of(copy)?;
            restic_password_is_set(&dest)?;
            let args = vec![
                "-r".into(),
                repo,
                "--quiet".into(),
                "dump".into(),
                copy.snapshot.clone().unwrap_or_default(),
                copy.object.clone().unwrap_or_default(),
            ];
            (dest, "restic", args)
        }
        CopyKind::Rclone => {
            let object = copy.object.clone().unwrap_or_default();
            (
                Dest::Rclone(object.clone()),
                "rclone",
                vec!["cat".into(), object],
            )
        }
        CopyKind::Local => {
            return Err(Error::Remote {
                dest: copy.shown(),
                message: "a local copy is read as a file".into(),
            })
        }
    };
    let mut cmd = crate::recipe::program(program)?;
    let mut child = cmd
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| dest.error(format!("`{program}` could not start: {e}")))?;
    let stderr = child.stderr.take().map(|e| drain(e, keep_tail));
    let out = child
        .stdout
        .take()
        .ok_or_else(|| dest.error(format!("`{program}` gave no output")))?;
    Ok(ChildReader {
        // The copy is named by whoever reports the error; this says what failed.
        what: format!(
            "`{program} {}`",
            if program == "restic" { "dump" } else { "cat" }
        ),
        child,
        out,
        stderr,
        done: false,
    })
}

/// What reading a remote copy back found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub size: u64,
    pub sha256: [u8; 32],
    /// The copy's first bytes when it was read (none when the remote's hash was used).
    pub head: Option<Vec<u8>>,
}

/// Read a remote copy back through SHA-256, or take the remote's own SHA-256 where
/// rclone offers one.
pub fn prove(copy: &Copy) -> Result<Proof> {
    if copy.kind == CopyKind::Rclone {
        if let Some(p) = rclone_listed_hash(copy)? {
            return Ok(p);
        }
    }
    let mut r = open_remote(copy)?;
    let mut sha = Sha256::new();
    let mut head = Vec::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::Remote {
                    dest: copy.shown(),
                    message: e.to_string(),
                })
            }
        };
        sha.update(&buf[..n]);
        if head.len() < HEAD {
            let take = (HEAD - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        size += n as u64;
    }
    Ok(Proof {
        size,
        sha256: sha.finalize().into(),
        head: Some(head),
    })
}

/// The object's size and SHA-256 as the remote lists them, when it keeps SHA-256;
/// an error when the object is not there.
fn rclone_listed_hash(copy: &Copy) -> Result<Option<Proof>> {
    let object = copy.object.clone().unwrap_or_default();
    let dest = Dest::Rclone(object.clone());
    let out = run_quiet(
        &dest,
        "rclone",
        &[
            "lsjson",
            "--hash",
            "--hash-type",
            "sha256",
            "--files-only",
            &object,
        ],
    )?;
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap_or_default();
    let name = object.rsplit(['/', ':']).next().unwrap_or_default();
    let Some(entry) = listed.iter().find(|e| e["Name"] == name) else {
        return Err(dest.error("the object is not there".into()));
    };
    let size = entry["Size"].as_u64().unwrap_or(0);
    let Some(sha) = entry["Hashes"]["sha256"].as_str() else {
        return Ok(None);
    };
    let mut sha256 = [0u8; 32];
    if sha.len() != 64 {
        return Ok(None);
    }
    for (i, b) in sha256.iter_mut().enumerate() {
        *b = u8::from_str_radix(&sha[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    Ok(Some(Proof {
        size,
        sha256,
        head: None,
    }))
}

/// Try a destination as setup does: write a small file, read it back, delete it.
pub fn try_out(dest: &Dest, now: u64) -> Result<()> {
    dest.reachable()?;
    let name = format!(".backstop-setup-test-{now}-{}", std::process::id());
    let data = format!("backstop setup test {now}\n").repeat(64);
    let mut out = Outgoing::start(std::slice::from_ref(dest), &name)?;
    out.fill_from(&mut data.as_bytes())?;
    let (_, copies) = out.finish(now)?;
    let result = copies.iter().try_for_each(|c| {
        if c.is_remote() {
            return Ok(());
        }
        let back = std::fs::read(&c.path).map_err(|e| Error::Io {
            op: "read back",
            path: c.path.clone(),
            source: e,
        })?;
        if back != data.as_bytes() {
            return Err(dest.error("what was read back differs from what was written".into()));
        }
        Ok(())
    });
    for c in &copies {
        discard(c)?;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse_by_prefix() {
        assert_eq!(
            Dest::parse("/media/usb").unwrap(),
            Dest::Local("/media/usb".into())
        );
        assert_eq!(
            Dest::parse("restic:sftp:nas:/backups").unwrap(),
            Dest::Restic("sftp:nas:/backups".into())
        );
        assert_eq!(
            Dest::parse("rclone:nas:backstop").unwrap(),
            Dest::Rclone("nas:backstop".into())
        );
        assert_eq!(
            Dest::parse("rclone:nas:").unwrap(),
            Dest::Rclone("nas:".into())
        );
        // A Windows drive is a directory, not a scheme.
        assert_eq!(
            Dest::parse(r"D:\backup").unwrap(),
            Dest::Local(r"D:\backup".into())
        );
        assert!(Dest::parse("restic:").unwrap_err().contains("restic:REPO"));
        assert!(Dest::parse("rclone:nas")
            .unwrap_err()
            .contains("REMOTE:PATH"));
        assert!(Dest::parse("  ").is_err());
        for s in [
            "restic:rest:http://127.0.0.1:8000/",
            "rclone:nas:backstop",
            "/srv/b",
        ] {
            assert_eq!(Dest::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn remotes_are_domains_by_their_name() {
        let d = |s: &str| Dest::parse(s).unwrap().domain().unwrap().keys;
        assert_eq!(d("rclone:nas:backstop"), d("rclone:nas:other/dir"));
        assert_ne!(d("rclone:nas:backstop"), d("rclone:cloud:backstop"));
        assert_eq!(
            d("rclone::sftp,host=h:dir"),
            vec!["remote:rclone:sftp,host=h".to_string()]
        );
        assert_eq!(
            d("restic:rest:http://127.0.0.1:8000/"),
            vec!["remote:restic:rest:http://127.0.0.1:8000/".to_string()]
        );
        // A restic repository on a local path is on that path's disk.
        let here = std::env::temp_dir();
        assert_eq!(
            d(&format!("restic:{}", here.display())),
            crate::domain::of_path(&here).unwrap().keys
        );
    }

    #[test]
    fn restic_summaries_give_the_snapshot() {
        let out = b"{\"message_type\":\"status\",\"percent_done\":0}\n{\"message_type\":\"summary\",\"files_new\":1,\"snapshot_id\":\"948d3446\"}\n";
        assert_eq!(restic_snapshot_id(out).as_deref(), Some("948d3446"));
        assert_eq!(restic_snapshot_id(b"garbage\n"), None);
    }

    #[test]
    fn rclone_paths_join() {
        assert_eq!(rclone_join("nas:backstop", "x.tar"), "nas:backstop/x.tar");
        assert_eq!(rclone_join("nas:", "x.tar"), "nas:x.tar");
        assert_eq!(rclone_join("nas:b/", "x.tar"), "nas:b/x.tar");
    }

    #[test]
    fn stderr_tails_drop_rclone_config_notices() {
        let e = b"2026/12/07 NOTICE: Config file \"/root/.config/rclone/rclone.conf\" not found - using defaults\nFatal: wrong password or no key found\n";
        assert_eq!(tail(e), "Fatal: wrong password or no key found");
        assert_eq!(tail(b""), "it printed nothing on stderr");
    }
}
