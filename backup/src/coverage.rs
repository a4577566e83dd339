//! Does a manifest prove a backup of this path, now?
//!
//! A manifest is only a claim. Before it satisfies a rule, every part of the claim is
//! checked against the disk: the copies exist with their recorded size, on different
//! filesystems, and are not one file under two names; each copy still hashes to the
//! recorded SHA-256, and the tar inside it holds exactly the files of the index with
//! their recorded sizes and hashes (so a hand-written manifest pointing at some other
//! file fails); and the live tree still matches the index (a changed, removed or new
//! file makes the backup stale).

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::Path;

use crate::archive::EntryKind;
use crate::copy::{hex, HashingReader};
use crate::device::{device_of, same_file};
use crate::domain::Domain;
use crate::manifest::{Copy, CopyKind, Manifest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Covered,
    Missing,
    Stale(String),
    Corrupt(String),
    /// Which rule of redundancy the copies break ("both on /dev/nvme0n1").
    NotRedundant(String),
}

/// What the person's settings let a backup count on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trust {
    /// A copy on a tmpfs or ramfs counts as one of the two (`[backup] volatile_counts`).
    pub volatile_counts: bool,
    /// How long a remote copy's last proof is trusted without the network, in seconds
    /// (`[backup] proof_window`).
    pub proof_window: u64,
}

impl Default for Trust {
    fn default() -> Trust {
        Trust {
            volatile_counts: false,
            proof_window: 24 * 3600,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Covered => f.write_str("covered"),
            Status::Missing => f.write_str("missing: no backup of it"),
            Status::Stale(why) => write!(f, "stale: {why}"),
            Status::Corrupt(why) => write!(f, "corrupt: {why}"),
            Status::NotRedundant(why) => write!(f, "not redundant: {why}"),
        }
    }
}

/// Copies larger than this are verified by sampling blocks, unless a full check is asked.
pub const SAMPLE_OVER: u64 = 256 << 20;
/// How many blocks a sampled verification hashes, besides the first and the last.
pub const SAMPLES: usize = 16;

/// What a rule needs a backup of, as manifests name it.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    /// `path`, or a recipe kind (`sqlite`, `postgres`, `wsl` …).
    pub kind: &'a str,
    /// For paths, canonical; otherwise normalised as the recipe says.
    pub value: &'a str,
    /// Names compare without regard to case (distributions, registry keys).
    pub ignore_case: bool,
    /// Regexes each copy's text head must match (the recipe's `content`, expanded).
    pub content: Vec<String>,
}

impl Wanted<'_> {
    fn covered_by(&self, m: &Manifest) -> bool {
        if m.target.kind != self.kind {
            return false;
        }
        if self.kind == "path" {
            Path::new(self.value).starts_with(&m.target.value)
        } else if self.ignore_case {
            m.target.value.eq_ignore_ascii_case(self.value)
        } else {
            m.target.value == self.value
        }
    }
}

/// The best manifest for a canonical path among `manifests`, newest first.
pub fn path_status<'m>(
    manifests: &'m [Manifest],
    target: &Path,
    max_age_secs: u64,
    now: u64,
    trust: Trust,
) -> (Status, Option<&'m Manifest>) {
    let value = target.to_string_lossy();
    let wanted = Wanted {
        kind: "path",
        value: &value,
        ignore_case: false,
        content: Vec::new(),
    };
    status(manifests, &wanted, max_age_secs, now, trust)
}

/// The best manifest for `wanted` among `manifests`, newest first: the first that is
/// covered, else the newest candidate's reason.
pub fn status<'m>(
    manifests: &'m [Manifest],
    wanted: &Wanted,
    max_age_secs: u64,
    now: u64,
    trust: Trust,
) -> (Status, Option<&'m Manifest>) {
    let mut candidates: Vec<&Manifest> =
        manifests.iter().filter(|m| wanted.covered_by(m)).collect();
    candidates.sort_by_key(|m| std::cmp::Reverse(m.created));
    let mut first: Option<(Status, &Manifest)> = None;
    for m in candidates {
        let s = check(m, &wanted.content, max_age_secs, now, trust);
        if s == Status::Covered {
            return (s, Some(m));
        }
        first.get_or_insert((s, m));
    }
    match first {
        Some((s, m)) => (s, Some(m)),
        None => (Status::Missing, None),
    }
}

fn check(m: &Manifest, content: &[String], max_age_secs: u64, now: u64, trust: Trust) -> Status {
    let age = now.saturating_sub(m.created);
    if age > max_age_secs {
        return Status::Stale(format!(
            "made {age}s ago, older than the rule allows ({max_age_secs}s)"
        ));
    }
    if m.restore_test == "cleaned" {
        return Status::Missing;
    }
    // The cheap checks of the copies first, then the tree, then the re-hash.
    if let Err(s) = copies_present(m, trust, Some(now)) {
        return s;
    }
    if m.target.kind == "path" {
        if let Some(reason) = live_tree_changed(m) {
            return Status::Stale(reason);
        }
    }
    match copies_content(m, content, false, None) {
        Ok(()) => Status::Covered,
        Err(s) => s,
    }
}

/// The copies themselves, without the live target or the age: every copy is where
/// the manifest says with its recorded size, two of them in different failure
/// domains, each re-hashed to its SHA-256 (local copies sampled above
/// [`SAMPLE_OVER`] unless `full`; remote copies read back over the network) and
/// holding what the manifest says. `backstop restore-test` runs this.
pub fn copies_hold(
    m: &Manifest,
    content: &[String],
    full: bool,
    trust: Trust,
) -> Result<(), Status> {
    copies_present(m, trust, None)?;
    copies_content(m, content, full, Some(&mut Vec::new()))
}

/// [`copies_hold`], recording each remote copy's proof in the manifest: when it was
/// proven now, or why it failed (after which `check` trusts it no more).
/// `backstop verify` runs this and writes the manifest back.
pub fn verify_copies(
    m: &mut Manifest,
    content: &[String],
    full: bool,
    trust: Trust,
    now: u64,
) -> Result<(), Status> {
    copies_present(m, trust, None)?;
    let mut proofs = Vec::new();
    let result = copies_content(m, content, full, Some(&mut proofs));
    for (i, proof) in proofs {
        if let Some(c) = m.copies.get_mut(i) {
            match proof {
                Ok(()) => {
                    c.proven = Some(now);
                    c.proof_failed = None;
                }
                Err(why) => c.proof_failed = Some(why),
            }
        }
    }
    result
}

/// A copy as a person counts it, for messages: `copy 2 (rclone:nas:backstop/x.tar)`.
fn nth(i: usize, c: &Copy) -> String {
    format!("copy {} ({})", i + 1, c.shown())
}

/// The failure domain of a copy now: a local copy's disks as the system reports
/// them (Linux), or as recorded when it was made if it is still on that volume; a
/// remote copy's remote.
fn domain_now(c: &Copy) -> crate::Result<Domain> {
    if c.is_remote() {
        let mut keys = c.domain.clone();
        if keys.is_empty() {
            keys.push(format!("remote:{}", c.location.as_deref().unwrap_or("?")));
        }
        return Ok(Domain {
            keys,
            volatile: None,
        });
    }
    if cfg!(target_os = "linux") {
        return crate::domain::of_path(&c.path);
    }
    // Elsewhere finding the disks is slow (Windows asks its storage management), so
    // the domain recorded at backup time stands while the copy is on that volume.
    let device = device_of(&c.path)?;
    if device == c.device && !c.domain.is_empty() {
        Ok(Domain {
            keys: c.domain.clone(),
            volatile: c.volatile.clone(),
        })
    } else {
        Ok(Domain::filesystem(device))
    }
}

/// Every copy is there: local files with their recorded size, not one file under
/// two names; remote copies proven within the proof window (`now`; without it the
/// network is asked later instead) and not failed since. Then two of them must be
/// in different failure domains.
fn copies_present(m: &Manifest, trust: Trust, now: Option<u64>) -> Result<(), Status> {
    if m.copies.len() < 2 {
        return Err(Status::Corrupt(format!(
            "the manifest lists {} cop{}, and two are needed",
            m.copies.len(),
            if m.copies.len() == 1 { "y" } else { "ies" }
        )));
    }
    for (i, c) in m.copies.iter().enumerate() {
        if c.is_remote() {
            if let Some(why) = &c.proof_failed {
                return Err(Status::Corrupt(format!(
                    "{} failed its last proof: {why}",
                    nth(i, c)
                )));
            }
            let Some(now) = now else { continue };
            let age = c.proven.map(|p| now.saturating_sub(p));
            if age.is_none_or(|a| a > trust.proof_window) {
                return Err(Status::Stale(format!(
                    "{} was last proven {}, longer ago than the proof window ({}s); `backstop verify {}` reads it back and renews the proof",
                    nth(i, c),
                    age.map_or_else(|| "never".into(), |a| format!("{a}s ago")),
                    trust.proof_window,
                    m.id
                )));
            }
            continue;
        }
        // Opened as every read of a local copy is: a regular file of the recorded size.
        if let Err(e) = crate::source::open_local(c) {
            return Err(Status::Corrupt(match e {
                crate::Error::CopyUnusable { copy, problem } => format!("{copy}: {problem}"),
                other => other.to_string(),
            }));
        }
    }
    let local: Vec<&Copy> = m.copies.iter().filter(|c| !c.is_remote()).collect();
    for (i, a) in local.iter().enumerate() {
        for b in &local[i + 1..] {
            if same_file(&a.path, &b.path).unwrap_or(true) {
                return Err(Status::Corrupt(
                    "two copies are one file under two names".into(),
                ));
            }
        }
    }
    let mut domains = Vec::with_capacity(m.copies.len());
    for c in &m.copies {
        match domain_now(c) {
            Ok(d) => domains.push(d),
            Err(_) => {
                return Err(Status::Corrupt(
                    "the copies' filesystems cannot be read".into(),
                ))
            }
        }
    }
    if let Some(why) = crate::domain::not_redundant(&domains, trust.volatile_counts) {
        return Err(Status::NotRedundant(why));
    }
    if !m.redundant {
        return Err(Status::NotRedundant(
            "it was made with its copies in one failure domain (--same-device)".into(),
        ));
    }
    Ok(())
}

/// Each copy's content. Local copies are re-hashed; remote copies are read back over
/// the network only when `proofs` collects their results (verify, restore-test),
/// and otherwise trusted on their last proof.
fn copies_content(
    m: &Manifest,
    content: &[String],
    full: bool,
    mut proofs: Option<&mut Vec<(usize, Result<(), String>)>>,
) -> Result<(), Status> {
    let mut failed = None;
    for (i, c) in m.copies.iter().enumerate() {
        // One arm per kind of copy: how it is reached is decided here, once.
        match c.kind {
            CopyKind::Restic | CopyKind::Rclone => {
                let Some(proofs) = proofs.as_deref_mut() else {
                    continue;
                };
                let result = prove_remote(c, content);
                if let Err(why) = &result {
                    failed.get_or_insert(Status::Corrupt(format!("{}: {why}", nth(i, c))));
                }
                proofs.push((i, result));
            }
            CopyKind::Local => {
                if let Err(reason) = recheck_local(c, m, content, full) {
                    failed.get_or_insert(Status::Corrupt(format!("{}: {reason}", c.shown())));
                    // Local failures need no network proof of the others to be reported.
                    if proofs.is_none() {
                        break;
                    }
                }
            }
        }
    }
    match failed {
        Some(s) => Err(s),
        None => Ok(()),
    }
}

/// A local copy re-read: opened through [`crate::source::open_local`] (a regular file
/// of the recorded size), then sampled or hashed in full, and its head matched
/// against the recipe's content checks.
fn recheck_local(c: &Copy, m: &Manifest, content: &[String], full: bool) -> Result<(), String> {
    let file = crate::source::open_local(c).map_err(|e| match e {
        crate::Error::CopyUnusable { problem, .. } => problem,
        other => other.to_string(),
    })?;
    let sampled = !full && c.size > SAMPLE_OVER && !m.block_sha256.is_empty();
    if sampled {
        verify_sample(file, c.size, m)?;
    } else if m.target.kind == "path" {
        verify_copy(file, &c.sha256, m)?;
    } else {
        drop(file);
        verify_whole(&c.path, &c.sha256, m)?;
    }
    content_matches(&c.path, content)
}

/// Read a remote copy back (or take the remote's SHA-256) and compare.
fn prove_remote(c: &Copy, content: &[String]) -> Result<(), String> {
    let p = crate::dest::prove(c).map_err(|e| e.to_string())?;
    if p.size != c.size || hex(&p.sha256) != c.sha256 {
        return Err(format!(
            "it reads back as {} bytes with SHA-256 {}, not {} bytes with {}",
            p.size,
            hex(&p.sha256),
            c.size,
            c.sha256
        ));
    }
    match p.head {
        Some(head) => head_matches(&crate::recipe::decode_utf16_bom(head), content),
        None => Ok(()),
    }
}

/// The recipe's content regexes against the copy's head: a copy that is not a dump
/// of this kind, or of this target, does not prove a backup of it.
fn content_matches(path: &Path, content: &[String]) -> Result<(), String> {
    if content.is_empty() {
        return Ok(());
    }
    let head = crate::recipe::text_head(path).map_err(|e| e.to_string())?;
    head_matches(&head, content)
}

/// The recipe's content regexes against a copy's first bytes.
fn head_matches(head: &[u8], content: &[String]) -> Result<(), String> {
    for re in content {
        let r = backstop_rules::policy::compile_bytes_regex(re).map_err(|e| e.to_string())?;
        if !r.is_match(head) {
            return Err(format!(
                "its content does not match `{re}`: not a backup of this target"
            ));
        }
    }
    Ok(())
}

/// The whole file against its SHA-256 and its recorded blocks.
fn verify_whole(path: &Path, sha256: &str, m: &Manifest) -> Result<(), String> {
    let d = crate::copy::digest_file(path).map_err(|e| e.to_string())?;
    if d.hex() != sha256 {
        return Err("its SHA-256 differs from the one recorded".into());
    }
    if !m.block_sha256.is_empty()
        && d.blocks
            .iter()
            .map(|b| hex(b))
            .ne(m.block_sha256.iter().cloned())
    {
        return Err("its block hashes differ from the ones recorded".into());
    }
    Ok(())
}

/// A fresh random sample of blocks (and always the first and the last) against the
/// recorded block hashes: corruption anywhere is found with a probability that grows
/// with every check, at a fixed cost whatever the size.
fn verify_sample(mut f: File, size: u64, m: &Manifest) -> Result<(), String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let bs = m.block_size.max(1);
    let blocks = size.div_ceil(bs);
    if blocks != m.block_sha256.len() as u64 {
        return Err(format!(
            "the manifest records {} block hashes for {blocks} blocks",
            m.block_sha256.len()
        ));
    }
    let mut picks: Vec<u64> = (0..SAMPLES).map(|_| fastrand::u64(0..blocks)).collect();
    picks.extend([0, blocks - 1]);
    picks.sort_unstable();
    picks.dedup();
    let mut buf = vec![0u8; usize::try_from(bs).unwrap_or(usize::MAX).min(64 << 20)];
    for i in picks {
        let start = i * bs;
        let len = usize::try_from(bs.min(size - start))
            .unwrap_or(0)
            .min(buf.len());
        f.seek(SeekFrom::Start(start)).map_err(|e| e.to_string())?;
        f.read_exact(&mut buf[..len]).map_err(|e| e.to_string())?;
        let got = hex(&<sha2::Sha256 as sha2::Digest>::digest(&buf[..len]));
        if Some(&got) != m.block_sha256.get(i as usize) {
            return Err(format!(
                "block {i} (bytes {start}..{}) differs from the one recorded",
                start + len as u64
            ));
        }
    }
    Ok(())
}

/// The live tree against the index: same files, sizes and modification times.
fn live_tree_changed(m: &Manifest) -> Option<String> {
    let root = Path::new(&m.target.value);
    let base = root.parent().unwrap_or(Path::new("/"));
    let mut indexed: HashMap<&str, &crate::archive::IndexEntry> = HashMap::new();
    for e in &m.index {
        indexed.insert(e.path.as_str(), e);
    }
    for e in m.index.iter().filter(|e| e.kind == EntryKind::File) {
        let p = base.join(&e.path);
        match std::fs::symlink_metadata(&p) {
            Ok(meta) => {
                let mtime = crate::archive::mtime_of(&meta);
                if meta.len() != e.size || mtime != e.mtime {
                    return Some(format!("{} changed since the backup", p.display()));
                }
            }
            Err(_) => return Some(format!("{} was removed since the backup", p.display())),
        }
    }
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let Ok(entry) = entry else {
            return Some(format!("{} cannot be read", root.display()));
        };
        let rel = entry
            .path()
            .strip_prefix(base)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .replace('\\', "/");
        if !indexed.contains_key(rel.as_str()) && !entry.file_type().is_dir() {
            return Some(format!(
                "{} is new since the backup",
                entry.path().display()
            ));
        }
    }
    None
}

/// One read of a copy: its SHA-256, and every file in its tar against the index.
fn verify_copy(file: File, sha256: &str, m: &Manifest) -> Result<(), String> {
    let mut reader = HashingReader::new(io::BufReader::with_capacity(1 << 20, file));
    let mut files: HashMap<&str, (u64, &str)> = m
        .index
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| (e.path.as_str(), (e.size, e.sha256.as_deref().unwrap_or(""))))
        .collect();
    {
        let mut archive = tar::Archive::new(&mut reader);
        let entries = archive
            .entries()
            .map_err(|e| format!("not a backstop archive ({e})"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("not a backstop archive ({e})"))?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = entry
                .path()
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            let Some((size, want)) = files.remove(name.as_str()) else {
                return Err(format!("holds {name}, which the index does not list"));
            };
            let mut hashed = HashingReader::new(&mut entry);
            let n = io::copy(&mut hashed, &mut io::sink()).map_err(|e| e.to_string())?;
            if n != size || hex(&hashed.finish()) != want {
                return Err(format!("{name} in the archive does not match the index"));
            }
        }
    }
    io::copy(&mut reader, &mut io::sink()).map_err(|e| e.to_string())?;
    if let Some(missing) = files.keys().next() {
        return Err(format!("lacks {missing}, which the index lists"));
    }
    if hex(&reader.finish()) != sha256 {
        return Err("its SHA-256 differs from the one recorded".into());
    }
    Ok(())
}
