//! `backstop setup`: choose where backups go, once.
//!
//! On a terminal it lists candidates (mounted filesystems on disks other than the
//! home directory's, with their free space; rclone's remotes; a restic repository
//! named in the environment), the person picks two, each is tried (write, read back,
//! delete), and `[backup] to` is written into config.toml atomically. With
//! `--to DEST --to DEST` it does the same without asking.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use backstop_backup::dest::{self, Dest};
use backstop_backup::domain;
#[cfg(any(target_os = "linux", test))]
use backstop_backup::domain::{Domain, Mount};

use crate::cli::SetupArgs;
use crate::config::Dirs;
use crate::settings::{self, human_size, Settings};

/// A destination the guide offers, and why a person might pick it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub dest: String,
    pub note: String,
}

pub fn run(a: &SetupArgs) -> Result<ExitCode> {
    let dirs = Dirs::discover()?;
    let settings = Settings::load(&dirs)?;
    if let Some(by) = settings.locked_by("backup.to") {
        bail!("the destinations are locked by {by}; an administrator chooses them there");
    }
    let texts: Vec<String> = if a.to.is_empty() {
        guide(&settings)?
    } else {
        a.to.clone()
    };
    let mut chosen = Vec::new();
    for t in &texts {
        // A relative directory is taken from where setup runs, and written absolute.
        let d = match Dest::parse(t) {
            // (`restc:/srv` is a misspelt kind, not a directory here: parse_dest says so.)
            Ok(Dest::Local(p))
                if p.is_relative()
                    && !t.starts_with('~')
                    && !t.split('/').next().unwrap_or_default().contains(':') =>
            {
                Dest::Local(std::env::current_dir()?.join(p))
            }
            _ => settings::parse_dest(t).map_err(|e| anyhow::anyhow!("{t}: {e}"))?,
        };
        let d = match d {
            Dest::Local(p) => Dest::Local(prepare_dir(&p)?),
            other => other,
        };
        if chosen.contains(&d) {
            bail!("{d} is named twice; two copies in one place are one copy");
        }
        chosen.push(d);
    }
    if chosen.len() < 2 {
        bail!("choose two destinations in different failure domains: backstop setup --to DEST --to DEST");
    }
    let now = crate::config::unix_now().as_secs();
    let mut domains = Vec::new();
    for d in &chosen {
        crate::outln!("trying {d} (write, read back, delete)…")?;
        dest::try_out(d, now).with_context(|| format!("{d} cannot hold backups"))?;
        domains.push(d.domain()?);
        crate::outln!("  ok{}", free_note(d))?;
    }
    if let Some(why) = domain::not_redundant(&domains, settings.backup.volatile_counts) {
        bail!("these destinations are not redundant ({why}): one failure could take both copies; choose one on another disk or a remote");
    }
    let path = settings::write_destinations(&dirs, &chosen)?;
    // Read back as every command will read it.
    Settings::load(&dirs)?;
    let list: Vec<String> = chosen.iter().map(ToString::to_string).collect();
    crate::outln!(
        "wrote {}: backups now go to {} (`backstop backup TARGET` needs no --to, and a refused line can be backed up on the spot)",
        path.display(),
        list.join(" and ")
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A destination directory, created if only its last component is missing.
fn prepare_dir(p: &Path) -> Result<PathBuf> {
    if !p.exists() && p.parent().is_some_and(Path::is_dir) {
        std::fs::create_dir(p).with_context(|| format!("cannot create {}", p.display()))?;
    }
    std::fs::canonicalize(p).with_context(|| {
        format!(
            "{} does not exist; create it (or plug in and mount its drive) first",
            p.display()
        )
    })
}

fn free_note(d: &Dest) -> String {
    d.free_space()
        .map(|f| format!(", {} free", human_size(f)))
        .unwrap_or_default()
}

/// The first-run guide: candidates, then the person's two picks.
fn guide(settings: &Settings) -> Result<Vec<String>> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(if cfg!(windows) { "CONIN$" } else { "/dev/tty" })
        .ok()
        .filter(|t| t.is_terminal())
        .context("no terminal to ask on: name the destinations with `backstop setup --to DEST --to DEST`")?;
    let mut w = &tty;
    let found = candidates(settings);
    writeln!(
        w,
        "backstop keeps two copies of every backup, in places that do not fail together."
    )?;
    if found.is_empty() {
        writeln!(
            w,
            "No other disk, rclone remote or restic repository was found."
        )?;
    } else {
        writeln!(w, "Candidates:")?;
        for (i, c) in found.iter().enumerate() {
            writeln!(w, "  {}) {}  ({})", i + 1, c.dest, c.note)?;
        }
    }
    write!(
        w,
        "Pick two: their numbers, or destinations (a directory, restic:REPO, rclone:REMOTE:PATH), separated by spaces: "
    )?;
    w.flush()?;
    let mut answer = String::new();
    std::io::BufReader::new(&tty).read_line(&mut answer)?;
    Ok(picks(&answer, &found))
}

/// The person's answer as destinations: numbers pick candidates, anything else is
/// taken as written.
pub fn picks(answer: &str, found: &[Candidate]) -> Vec<String> {
    answer
        .split_whitespace()
        .map(|w| {
            w.parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| found.get(i))
                .map_or_else(|| w.to_string(), |c| c.dest.clone())
        })
        .collect()
}

/// Candidate destinations on this machine.
fn candidates(settings: &Settings) -> Vec<Candidate> {
    let mut out = local_candidates(settings);
    if let Ok(mut cmd) = program("rclone") {
        if let Ok(o) = cmd.arg("listremotes").output() {
            out.extend(rclone_candidates(&String::from_utf8_lossy(&o.stdout)));
        }
    }
    if let Some(repo) = std::env::var("RESTIC_REPOSITORY")
        .ok()
        .filter(|r| !r.is_empty())
    {
        out.push(Candidate {
            dest: format!("restic:{repo}"),
            note: "the restic repository in RESTIC_REPOSITORY".into(),
        });
    }
    out
}

/// Mounted filesystems on disks other than the home directory's.
#[cfg(target_os = "linux")]
fn local_candidates(settings: &Settings) -> Vec<Candidate> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| domain::parse_mountinfo(&t))
        .unwrap_or_default();
    let home = crate::config::home_dir()
        .and_then(|h| domain::of_path(Path::new(&h)).ok())
        .unwrap_or_default();
    let domain_of = |m: &Mount| domain::of_path(Path::new(&m.mount_point)).ok();
    mount_candidates(
        &mounts,
        &home,
        settings.backup.volatile_counts,
        &domain_of,
        &|p| dest::free_space_of(Path::new(p)),
    )
}

/// Elsewhere the guide lists no local filesystems; a directory can still be typed.
#[cfg(not(target_os = "linux"))]
fn local_candidates(_settings: &Settings) -> Vec<Candidate> {
    Vec::new()
}

/// A program on an absolute PATH entry, reading nothing and quiet on stderr.
fn program(name: &str) -> Result<std::process::Command> {
    let mut c = backstop_backup::recipe::program(name)?;
    c.stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    Ok(c)
}

/// Mount points not worth offering: the system's own and pseudo filesystems.
#[cfg(any(target_os = "linux", test))]
fn system_mount(point: &str) -> bool {
    point == "/"
        || [
            "/proc",
            "/sys",
            "/dev",
            "/run",
            "/boot",
            "/snap",
            "/var/lib/docker",
            "/tmp",
        ]
        .iter()
        .any(|p| point == *p || point.starts_with(&format!("{p}/")))
}

/// Mounted filesystems whose failure domain is apart from the home directory's.
#[cfg(any(target_os = "linux", test))]
pub fn mount_candidates(
    mounts: &[Mount],
    home: &Domain,
    volatile_counts: bool,
    domain_of: &dyn Fn(&Mount) -> Option<Domain>,
    free: &dyn Fn(&str) -> Option<u64>,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for m in mounts {
        if system_mount(&m.mount_point) || out.iter().any(|c| c.dest.starts_with(&m.mount_point)) {
            continue;
        }
        let Some(d) = domain_of(m) else { continue };
        if d.volatile.is_some() && !volatile_counts {
            continue;
        }
        // Only filesystems on a disk or share of their own: not the home's disk.
        let apart = d
            .keys
            .iter()
            .any(|k| k.starts_with("disk:") || k.starts_with("share:"))
            && domain::not_redundant(&[home.clone(), d.clone()], volatile_counts).is_none();
        if !apart {
            continue;
        }
        let what: Vec<&str> = d
            .keys
            .iter()
            .filter_map(|k| k.strip_prefix("disk:").or_else(|| k.strip_prefix("share:")))
            .collect();
        out.push(Candidate {
            dest: format!("{}/backstop", m.mount_point.trim_end_matches('/')),
            note: format!(
                "{} on {}{}",
                m.fstype,
                what.join(" + "),
                free(&m.mount_point)
                    .map(|f| format!(", {} free", human_size(f)))
                    .unwrap_or_default()
            ),
        });
    }
    out
}

/// `rclone listremotes` output as destinations.
pub fn rclone_candidates(listed: &str) -> Vec<Candidate> {
    listed
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(':') && l.len() > 1)
        .map(|l| Candidate {
            dest: format!("rclone:{l}backstop"),
            note: "an rclone remote".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(point: &str, fstype: &str) -> Mount {
        Mount {
            major: 8,
            minor: 1,
            mount_point: point.into(),
            fstype: fstype.into(),
            source: "/dev/x".into(),
        }
    }

    fn dom(keys: &[&str], volatile: bool) -> Domain {
        Domain {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            volatile: volatile.then(|| "tmpfs".to_string()),
        }
    }

    #[test]
    fn candidates_are_other_disks_with_their_free_space() {
        let mounts = [
            mount("/", "ext4"),
            mount("/home", "ext4"),
            mount("/media/usb", "vfat"),
            mount("/mnt/ram", "tmpfs"),
            mount("/proc", "proc"),
            mount("/srv/nas", "nfs4"),
        ];
        let home = dom(&["fs:1", "disk:/dev/nvme0n1"], false);
        let domain_of = |m: &Mount| match m.mount_point.as_str() {
            "/" | "/home" => Some(dom(&["fs:1", "disk:/dev/nvme0n1"], false)),
            "/media/usb" => Some(dom(&["fs:2", "disk:/dev/sdb"], false)),
            "/mnt/ram" => Some(dom(&["fs:3"], true)),
            "/srv/nas" => Some(dom(&["fs:4", "share:nas:/export"], false)),
            _ => None,
        };
        let free = |p: &str| (p == "/media/usb").then_some(64 << 30);
        let c = mount_candidates(&mounts, &home, false, &domain_of, &free);
        assert_eq!(
            c,
            vec![
                Candidate {
                    dest: "/media/usb/backstop".into(),
                    note: "vfat on /dev/sdb, 64.0 GiB free".into()
                },
                Candidate {
                    dest: "/srv/nas/backstop".into(),
                    note: "nfs4 on nas:/export".into()
                },
            ]
        );
    }

    #[test]
    fn rclone_remotes_and_picks() {
        let c = rclone_candidates("nas:\ncloud:\n\n");
        assert_eq!(c[0].dest, "rclone:nas:backstop");
        assert_eq!(c.len(), 2);
        assert_eq!(
            picks("2 /media/usb/b  9", &c),
            vec!["rclone:cloud:backstop", "/media/usb/b", "9"]
        );
    }
}
