//! Git as a recovery point that already exists: a path in a git work tree whose
//! every file is committed and pushed can be brought back from that commit, so it is
//! as good as a backup (see `docs/git-and-livable.md`).
//!
//! A target is **covered by git** when:
//! - every file under it is tracked and identical to `HEAD` (`git status`, which
//!   re-hashes any file whose stat data differs from the index, run with the stat
//!   checks at their strictest and no fsmonitor);
//! - no untracked file that is not ignored lies under it;
//! - every ignored file under it regenerates by itself (`node_modules`, `target` …:
//!   the rule's own exceptions); a `.env` is lost by a deletion as surely as a
//!   tracked file, and no commit holds it;
//! - no file under it is hidden from `git status` (assume-unchanged, skip-worktree)
//!   or is a submodule, whose own commits this does not look at;
//! - `HEAD` is contained in a remote-tracking branch: the commit has been pushed.
//!   Committed but not pushed is `not-redundant`: one copy, on this disk.
//!
//! When the target holds the repository itself (its `.git`), every local branch must
//! be pushed too and no stash may exist, since those live only in `.git`.
//!
//! Everything goes through the `git` program, found on an absolute `PATH` entry.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use backstop_rules::{Backup, BackupStatus, GitSource};

use crate::error::{Error, Result};

/// Settings that make `git status` trust nothing but content and the full stat data,
/// and run nothing a repository's configuration names (a `core.fsmonitor` command).
const STRICT: &[&str] = &[
    "--literal-pathspecs",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.checkStat=default",
    "-c",
    "core.trustctime=true",
    "-c",
    "core.ignoreStat=false",
    "-c",
    "status.relativePaths=false",
];

/// Variables that would point git at another repository than the target's.
const REDIRECTING: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

/// Does git hold a pushed copy of `target` (absolute)? `None` when git has nothing to
/// say: the target is missing, not in a git work tree, or git holds no file of it.
/// `regenerable` says whether an absolute path regenerates by itself.
pub fn coverage(target: &Path, regenerable: &dyn Fn(&str) -> bool) -> Option<Backup> {
    let meta = std::fs::symlink_metadata(target).ok()?;
    let target = canonical_keeping_link(target)?;
    let start = if meta.is_dir() {
        target.clone()
    } else {
        target.parent()?.to_path_buf()
    };
    // A stat per directory up to the root, before starting any process.
    start.ancestors().find(|d| d.join(".git").exists())?;
    let git = crate::recipe::resolve_program("git").ok()?;
    Some(check(&git, &start, &target, regenerable).unwrap_or_else(|why| missing(why, None)))
}

fn missing(detail: String, git: Option<GitSource>) -> Backup {
    Backup {
        status: BackupStatus::Missing,
        detail: Some(detail),
        git,
        ..Backup::default()
    }
}

fn check(
    git: &Path,
    start: &Path,
    target: &Path,
    regenerable: &dyn Fn(&str) -> bool,
) -> std::result::Result<Backup, String> {
    let out = run(
        git,
        start,
        [
            "rev-parse",
            "--show-toplevel",
            "--absolute-git-dir",
            "HEAD",
            "--abbrev-ref",
            "HEAD",
        ],
    )?;
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines();
    let (Some(top), Some(git_dir), Some(commit), Some(branch)) =
        (lines.next(), lines.next(), lines.next(), lines.next())
    else {
        return Err("git did not describe the work tree".into());
    };
    let top = PathBuf::from(top);
    let Ok(rel) = target.strip_prefix(&top) else {
        return Err(format!(
            "{} is not inside the work tree {}",
            target.display(),
            top.display()
        ));
    };
    let rel = match rel.to_string_lossy().replace('\\', "/") {
        r if r.is_empty() => ".".to_string(),
        r => r,
    };
    let mut source = GitSource {
        repo: top.to_string_lossy().into_owned(),
        path: rel.clone(),
        commit: commit.to_string(),
        branch: String::new(),
        remote: String::new(),
        url: None,
    };
    let short = &commit[..commit.len().min(12)];
    let whole_repo = Path::new(git_dir).starts_with(target);

    let status = run(
        git,
        &top,
        [
            "status",
            "--porcelain=v2",
            "-z",
            "--untracked-files=normal",
            "--ignored=matching",
            "--ignore-submodules=none",
            "--",
            &rel,
        ],
    )?;
    let mut records = status.split(|&b| b == 0).filter(|r| !r.is_empty());
    while let Some(r) = records.next() {
        let r = String::from_utf8_lossy(r);
        let (kind, rest) = r.split_at(r.find(' ').unwrap_or(r.len()));
        let rest = rest.trim_start();
        match kind {
            "1" | "2" | "u" => {
                // `1 XY sub mH mI mW hH hI path`, `2 XY sub mH mI mW hH hI Xscore path`
                // (then the old path as a record of its own), `u XY sub m1 m2 m3 mW h1
                // h2 h3 path`: the fields before the path.
                let fields = match kind {
                    "1" => 7,
                    "2" => 8,
                    _ => 10,
                };
                let path = rest.splitn(fields + 1, ' ').nth(fields).unwrap_or(rest);
                if kind == "2" {
                    records.next();
                }
                return Ok(Backup {
                    status: BackupStatus::Stale,
                    detail: Some(format!(
                        "{path} differs from commit {short} (uncommitted changes): commit and push it, or back it up"
                    )),
                    git: Some(source),
                    ..Backup::default()
                });
            }
            "?" => {
                return Ok(missing(
                    format!("{rest} is not tracked by git, so no commit holds it"),
                    Some(source),
                ))
            }
            "!" => {
                let abs = top.join(rest.trim_end_matches('/'));
                if !regenerable(&abs.to_string_lossy()) {
                    return Ok(missing(
                        format!("{rest} is ignored by git, so no commit holds it"),
                        Some(source),
                    ));
                }
            }
            _ => {}
        }
    }

    let listed = run(git, &top, ["ls-files", "-z", "-v", "-s", "--", &rel])?;
    let mut tracked = 0usize;
    for r in listed.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let r = String::from_utf8_lossy(r);
        let (head, path) = r.split_once('\t').unwrap_or((&r, ""));
        let mut f = head.split(' ');
        let (tag, mode) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
        let hidden = match tag {
            "S" => Some("is marked skip-worktree"),
            t if t.chars().any(|c| c.is_ascii_lowercase()) => Some("is marked assume-unchanged"),
            _ => None,
        };
        if let Some(why) = hidden {
            return Ok(missing(
                format!("{path} {why}, so git does not compare it with the commit"),
                Some(source),
            ));
        }
        if mode == "160000" {
            return Ok(missing(
                format!("{path} is a submodule, whose own commits backstop does not check"),
                Some(source),
            ));
        }
        tracked += 1;
    }
    if tracked == 0 {
        return Err(format!("git tracks no file under {}", target.display()));
    }

    let refs = run(
        git,
        &top,
        [
            "for-each-ref",
            "--contains",
            "HEAD",
            "--format=%(refname)",
            "refs/remotes",
        ],
    )?;
    let refs = String::from_utf8_lossy(&refs);
    let Some(tracking) = pick_remote_branch(&refs, branch) else {
        return Ok(Backup {
            status: BackupStatus::NotRedundant,
            detail: Some(format!(
                "commit {short} holds it, but no remote-tracking branch contains that commit: push it (git push), then run the line again"
            )),
            git: Some(source),
            ..Backup::default()
        });
    };
    let short_ref = tracking.trim_start_matches("refs/remotes/");
    source.remote = short_ref.split('/').next().unwrap_or(short_ref).to_string();
    source.branch = short_ref.to_string();
    source.url = run(
        git,
        &top,
        ["config", "--get", &format!("remote.{}.url", source.remote)],
    )
    .ok()
    .map(|u| String::from_utf8_lossy(&u).trim().to_string())
    .filter(|u| !u.is_empty());

    if whole_repo {
        let unpushed = run(
            git,
            &top,
            ["rev-list", "-n", "1", "--branches", "--not", "--remotes"],
        )?;
        if !unpushed.iter().all(u8::is_ascii_whitespace) {
            return Ok(Backup {
                status: BackupStatus::NotRedundant,
                detail: Some("a local branch has commits that no remote-tracking branch contains, and deleting the repository deletes them: push every branch".into()),
                git: Some(source),
                ..Backup::default()
            });
        }
        let stash = run(
            git,
            &top,
            ["for-each-ref", "--format=%(refname)", "refs/stash"],
        )?;
        if !stash.iter().all(u8::is_ascii_whitespace) {
            return Ok(missing(
                "the repository has stashed changes (git stash list), which only its .git holds"
                    .into(),
                Some(source),
            ));
        }
    }
    Ok(Backup {
        status: BackupStatus::Covered,
        git: Some(source),
        ..Backup::default()
    })
}

/// The remote-tracking branch to name as the copy: the one of the current branch's
/// name, else one of `origin`, else the first (never a remote's symbolic `HEAD`).
fn pick_remote_branch<'a>(refs: &'a str, branch: &str) -> Option<&'a str> {
    let candidates: Vec<&str> = refs
        .lines()
        .map(str::trim)
        .filter(|r| r.starts_with("refs/remotes/") && !r.ends_with("/HEAD"))
        .collect();
    let same_name = |r: &str| {
        r.strip_prefix("refs/remotes/")
            .and_then(|s| s.split_once('/'))
            .is_some_and(|(_, b)| b == branch)
    };
    let origin = |r: &str| r.starts_with("refs/remotes/origin/");
    candidates
        .iter()
        .find(|r| same_name(r) && origin(r))
        .or_else(|| candidates.iter().find(|r| same_name(r)))
        .or_else(|| candidates.iter().find(|r| origin(r)))
        .or_else(|| candidates.first())
        .copied()
}

/// The path with its directory resolved but its last component kept: `rm link` deletes
/// the link, not what it points to.
fn canonical_keeping_link(path: &Path) -> Option<PathBuf> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => {
            Some(std::fs::canonicalize(parent).ok()?.join(name))
        }
        _ => std::fs::canonicalize(path).ok(),
    }
}

/// Run git in `dir` with the strict settings, in an environment that cannot point it
/// at another repository; its standard output, or the last line it said on error.
#[allow(clippy::disallowed_methods)] // `git` is resolved to an absolute path
fn run<I, S>(git: &Path, dir: &Path, args: I) -> std::result::Result<Vec<u8>, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(git);
    cmd.args(STRICT).args(args).current_dir(dir);
    for var in REDIRECTING {
        cmd.env_remove(var);
    }
    // Reading must not take the index lock from the person's own git.
    cmd.env("GIT_OPTIONAL_LOCKS", "0")
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", git.display()))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let last = said
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(format!(
        "git could not read the repository: {}",
        last.trim()
    ))
}

/// Bring a git-covered target back from the commit that holds it, at its place:
/// `git restore --source=COMMIT --worktree -- PATH` in the work tree; when the work
/// tree itself was deleted (its `.git` with it), a fresh clone of the remote's URL
/// with the commit checked out on the branch's local name. Refuses when something is
/// at the place already (an empty directory does not count), so nothing is
/// overwritten. Returns the place restored.
pub fn restore(source: &GitSource) -> Result<PathBuf> {
    let repo = PathBuf::from(&source.repo);
    let place = if source.path == "." {
        repo.clone()
    } else {
        repo.join(&source.path)
    };
    if taken(&place) {
        return Err(Error::Taken { path: place });
    }
    let git = crate::recipe::resolve_program("git")?;
    let fail = |message: String| Error::Git {
        repo: repo.clone(),
        message,
    };
    if repo.join(".git").exists() {
        run(
            &git,
            &repo,
            [
                "restore",
                &format!("--source={}", source.commit),
                "--worktree",
                "--",
                &source.path,
            ],
        )
        .map_err(fail)?;
    } else {
        let Some(url) = &source.url else {
            return Err(fail(
                "the work tree and its .git are gone, and the remote has no URL to clone".into(),
            ));
        };
        let parent = repo
            .parent()
            .ok_or_else(|| fail("the work tree has no parent directory".into()))?;
        std::fs::create_dir_all(parent).map_err(crate::error::io("create", parent))?;
        let remote = if source.remote.is_empty() {
            "origin"
        } else {
            &source.remote
        };
        let repo_arg = repo.as_os_str();
        run(
            &git,
            parent,
            [
                OsStr::new("clone"),
                OsStr::new("--quiet"),
                OsStr::new("--no-checkout"),
                OsStr::new("--origin"),
                OsStr::new(remote),
                OsStr::new("--"),
                OsStr::new(url),
                repo_arg,
            ],
        )
        .map_err(fail)?;
        let local = source
            .branch
            .strip_prefix(&format!("{remote}/"))
            .unwrap_or("restored");
        run(
            &git,
            &repo,
            ["checkout", "--quiet", "-B", local, &source.commit],
        )
        .map_err(fail)?;
        // The branch tracks the one the commit was found on, as before the deletion.
        let _ = run(
            &git,
            &repo,
            [
                "branch",
                "--quiet",
                &format!("--set-upstream-to={}", source.branch),
                local,
            ],
        );
    }
    if std::fs::symlink_metadata(&place).is_err() {
        return Err(fail(format!(
            "git ran, but {} is still missing",
            place.display()
        )));
    }
    Ok(place)
}

/// Something is at the place: a file, a link, or a directory that is not empty.
fn taken(place: &Path) -> bool {
    match std::fs::symlink_metadata(place) {
        Err(_) => false,
        Ok(m) if m.is_dir() => std::fs::read_dir(place).map_or(true, |mut d| d.next().is_some()),
        Ok(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branch_of_the_same_name_on_origin_is_named_first() {
        let refs = "refs/remotes/fork/main\nrefs/remotes/origin/HEAD\nrefs/remotes/origin/dev\nrefs/remotes/origin/feature/x\n";
        assert_eq!(
            pick_remote_branch(refs, "feature/x"),
            Some("refs/remotes/origin/feature/x")
        );
        assert_eq!(
            pick_remote_branch(refs, "main"),
            Some("refs/remotes/fork/main")
        );
        assert_eq!(
            pick_remote_branch(refs, "other"),
            Some("refs/remotes/origin/dev")
        );
        assert_eq!(
            pick_remote_branch("refs/remotes/origin/HEAD\n", "main"),
            None
        );
        assert_eq!(pick_remote_branch("", "main"), None);
    }
}
