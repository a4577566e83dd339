//! Failure domains: which copies fail together.
//!
//! Two copies are redundant only if no single failure takes both. Two filesystems on
//! one physical disk fail with the disk; a remote (a restic repository, an rclone
//! remote) is a domain of its own; a volatile filesystem (tmpfs, ramfs, a zram disk)
//! holds nothing across a reboot, so a copy there counts only when the person says
//! so (`[backup] volatile_counts = true`).
//!
//! A domain is a set of keys (`disk:/dev/nvme0n1`, `fs:2049`, `remote:rclone:nas`);
//! two copies fail together when their keys meet.

use std::path::Path;

/// Where one copy lives, as far as failures go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Domain {
    /// Keys shared by everything that fails with this copy.
    pub keys: Vec<String>,
    /// The filesystem type when it does not survive a reboot (`tmpfs`, `ramfs`, `zram`).
    pub volatile: Option<String>,
}

impl Domain {
    /// A copy kept by a remote: its own domain, named by the remote.
    pub fn remote(name: &str) -> Domain {
        Domain {
            keys: vec![format!("remote:{name}")],
            volatile: None,
        }
    }

    /// Only the filesystem is known (`st_dev`, or a Windows volume serial).
    pub fn filesystem(device: u64) -> Domain {
        Domain {
            keys: vec![format!("fs:{device}")],
            volatile: None,
        }
    }

    fn shared_with<'a>(&'a self, other: &Domain) -> Option<&'a str> {
        // The most telling key first: a disk says more than a filesystem number.
        let rank = |k: &str| match k.split(':').next() {
            Some("disk") => 0,
            Some("remote") | Some("share") => 1,
            _ => 2,
        };
        let mut common: Vec<&str> = self
            .keys
            .iter()
            .filter(|k| other.keys.contains(k))
            .map(String::as_str)
            .collect();
        common.sort_by_key(|k| rank(k));
        common.first().copied()
    }
}

/// How a shared key reads in a reason: "both on /dev/nvme0n1".
fn shared_text(key: &str, volatile: Option<&str>) -> String {
    let (kind, what) = key.split_once(':').unwrap_or(("", key));
    match kind {
        "disk" => format!("both on {what}"),
        "remote" => format!("both in {what}"),
        "share" => format!("both on the network share {what}"),
        _ => match volatile {
            Some(fs) => format!("both on one {fs}"),
            None => format!("both on one filesystem (device {what})"),
        },
    }
}

/// Why these copies are not redundant, or `None` when two of them are: two copies
/// that count (durable, or volatile ones when `volatile_counts`) and share no key.
/// `copies` are numbered from 1 in reasons, as a person counts them.
pub fn not_redundant(copies: &[Domain], volatile_counts: bool) -> Option<String> {
    let counted: Vec<(usize, &Domain)> = copies
        .iter()
        .enumerate()
        .filter(|(_, d)| volatile_counts || d.volatile.is_none())
        .collect();
    let apart = counted.iter().enumerate().any(|(i, (_, a))| {
        counted[i + 1..]
            .iter()
            .any(|(_, b)| a.shared_with(b).is_none())
    });
    if apart {
        return None;
    }
    if copies.len() < 2 {
        return Some(format!(
            "only {} cop{}; two are needed",
            copies.len(),
            if copies.len() == 1 { "y" } else { "ies" }
        ));
    }
    // Say what keeps the first copies apart: a volatile one, else what they share.
    if let Some((i, d)) = copies
        .iter()
        .enumerate()
        .find(|(_, d)| !volatile_counts && d.volatile.is_some())
    {
        return Some(format!(
            "copy {} is on a {}, which is gone at the next reboot (set [backup] volatile_counts = true in config.toml to count it)",
            i + 1,
            d.volatile.as_deref().unwrap_or("volatile filesystem")
        ));
    }
    let (a, b) = (&copies[0], &copies[1]);
    let key = a.shared_with(b).unwrap_or("");
    Some(shared_text(key, a.volatile.as_deref()))
}

/// Filesystem types that hold their files in memory only.
const VOLATILE_FS: [&str; 3] = ["tmpfs", "ramfs", "devtmpfs"];

/// Filesystem types whose files live on another machine.
const NETWORK_FS: [&str; 12] = [
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "ceph",
    "glusterfs",
    "fuse.sshfs",
    "fuse.rclone",
    "fuse.s3fs",
    "davfs",
];

/// One line of `/proc/self/mountinfo`: the fields a domain needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub major: u32,
    pub minor: u32,
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
}

/// Parse `/proc/self/mountinfo` (see proc(5)): `ID PARENT MAJ:MIN ROOT MOUNTPOINT
/// OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS`. Lines it cannot read are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            let (major, minor) = left.get(2)?.split_once(':')?;
            Some(Mount {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                mount_point: unescape(left.get(4)?),
                fstype: right.next()?.to_string(),
                source: unescape(right.next()?),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\040`, `\011`, `\012`, `\134`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Linux's `dev_t` split into major and minor (glibc's `gnu_dev_major/minor`).
pub fn split_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// What the kernel's sysfs says about block devices, behind a trait so the walk from
/// a partition to its disks is tested on a fake tree.
pub trait BlockDevices {
    /// The device directory of `MAJ:MIN` (`/sys/dev/block/MAJ:MIN` resolved).
    fn resolve(&self, major: u32, minor: u32) -> Option<std::path::PathBuf>;
    fn is_partition(&self, dir: &Path) -> bool;
    /// The `MAJ:MIN` of each device under `dir/slaves` (LVM, LUKS, md RAID).
    fn slaves(&self, dir: &Path) -> Vec<(u32, u32)>;
}

/// The whole disks under a block device: a partition's disk, and the disks beneath
/// a device-mapper or md device, as `/dev/NAME`.
pub fn disks_of(sys: &dyn BlockDevices, major: u32, minor: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![(major, minor)];
    let mut seen = Vec::new();
    while let Some((ma, mi)) = todo.pop() {
        if seen.contains(&(ma, mi)) || seen.len() > 64 {
            continue;
        }
        seen.push((ma, mi));
        let Some(mut dir) = sys.resolve(ma, mi) else {
            continue;
        };
        if sys.is_partition(&dir) {
            if let Some(parent) = dir.parent() {
                dir = parent.to_path_buf();
            }
        }
        let below = sys.slaves(&dir);
        if below.is_empty() {
            if let Some(name) = dir.file_name() {
                let disk = format!("/dev/{}", name.to_string_lossy());
                if !out.contains(&disk) {
                    out.push(disk);
                }
            }
        } else {
            todo.extend(below);
        }
    }
    out.sort();
    out
}

/// The real sysfs.
#[derive(Debug)]
pub struct SysFs;

fn read_majmin(path: &Path) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (a, b) = text.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

impl BlockDevices for SysFs {
    fn resolve(&self, major: u32, minor: u32) -> Option<std::path::PathBuf> {
        std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")).ok()
    }

    fn is_partition(&self, dir: &Path) -> bool {
        dir.join("partition").exists()
    }

    fn slaves(&self, dir: &Path) -> Vec<(u32, u32)> {
        let Ok(entries) = std::fs::read_dir(dir.join("slaves")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| read_majmin(&e.path().join("dev")))
            .collect()
    }
}

/// The domain of a filesystem from what the mount table and sysfs say of it.
pub fn domain_of_mount(
    device: u64,
    mounts: &[Mount],
    sys: &dyn BlockDevices,
    source_dev: &dyn Fn(&str) -> Option<u64>,
) -> Domain {
    let (major, minor) = split_dev(device);
    let mut d = Domain::filesystem(device);
    let Some(m) = mounts
        .iter()
        .rev()
        .find(|m| m.major == major && m.minor == minor)
    else {
        return d;
    };
    if VOLATILE_FS.contains(&m.fstype.as_str()) {
        d.volatile = Some(m.fstype.clone());
        return d;
    }
    if NETWORK_FS.contains(&m.fstype.as_str()) {
        d.keys.push(format!("share:{}", m.source));
        return d;
    }
    // A filesystem with an anonymous device (btrfs) names its block device as source.
    let block = if major != 0 {
        Some((major, minor))
    } else if m.source.starts_with("/dev/") {
        source_dev(&m.source).map(split_dev)
    } else {
        None
    };
    if let Some((ma, mi)) = block {
        let disks = disks_of(sys, ma, mi);
        if disks
            .iter()
            .any(|disk| disk.starts_with("/dev/zram") || disk.starts_with("/dev/ram"))
        {
            d.volatile = Some("disk in memory (zram)".into());
        }
        d.keys
            .extend(disks.into_iter().map(|disk| format!("disk:{disk}")));
    }
    d
}

/// The failure domain of a local path, now.
#[cfg(target_os = "linux")]
pub fn of_path(path: &Path) -> crate::Result<Domain> {
    use std::os::unix::fs::MetadataExt;
    let device = crate::device::device_of(path)?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default();
    let source_dev = |src: &str| std::fs::metadata(src).ok().map(|m| m.rdev());
    Ok(domain_of_mount(device, &mounts, &SysFs, &source_dev))
}

/// The failure domain of a local path: on Windows, the disks under its volume (see
/// [`windows`]); elsewhere, its filesystem only.
#[cfg(not(target_os = "linux"))]
pub fn of_path(path: &Path) -> crate::Result<Domain> {
    let device = crate::device::device_of(path)?;
    let mut d = Domain::filesystem(device);
    #[cfg(windows)]
    d.keys.extend(windows::disks_of_path(path));
    Ok(d)
}

/// On Windows, a volume's disks come from its disk extents, which Windows' storage
/// management reports per partition (`Get-Partition`, whose `DiskNumber` is the
/// extent's disk): a drive letter's partitions, one per disk the volume spans.
#[cfg(any(windows, test))]
pub mod windows {
    /// The drive letter of an absolute Windows path (`C:\x`, `\\?\C:\x`).
    pub fn drive_letter(path: &str) -> Option<char> {
        let p = path.strip_prefix(r"\\?\").unwrap_or(path);
        let mut chars = p.chars();
        let letter = chars.next().filter(char::is_ascii_alphabetic)?;
        (chars.next() == Some(':')).then(|| letter.to_ascii_uppercase())
    }

    /// The disk numbers printed one a line (`Get-Partition … DiskNumber`), as keys.
    pub fn disk_keys(output: &str) -> Vec<String> {
        let mut disks: Vec<u32> = output
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        disks.sort_unstable();
        disks.dedup();
        disks
            .into_iter()
            .map(|n| format!(r"disk:\\.\PhysicalDrive{n}"))
            .collect()
    }

    /// Ask Windows which disks hold the volume of `path`; none when it cannot tell.
    #[cfg(windows)]
    pub fn disks_of_path(path: &std::path::Path) -> Vec<String> {
        let Some(letter) = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| drive_letter(&p.to_string_lossy()))
        else {
            return Vec::new();
        };
        let script = format!(
            "Get-Partition -DriveLetter {letter} | Select-Object -ExpandProperty DiskNumber"
        );
        let Ok(mut cmd) = crate::recipe::program("powershell") else {
            return Vec::new();
        };
        cmd.args(["-NoProfile", "-NonInteractive", "-Command", &script]);
        match cmd.output() {
            Ok(out) if out.status.success() => disk_keys(&String::from_utf8_lossy(&out.stdout)),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683772k
27 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw
45 27 259:3 / /home rw,relatime shared:1 - ext4 /dev/nvme0n1p3 rw
46 27 8:17 / /media/usb\\040stick rw - vfat /dev/sdb1 rw
47 27 0:50 / /srv/nas rw - nfs4 nas:/export rw
48 27 0:51 / /data rw - btrfs /dev/sdc rw
49 27 253:1 / /secure rw - ext4 /dev/mapper/vg-secure rw
";

    /// A fake sysfs: nvme0n1 with two partitions, sdb with one, sdc whole, and a
    /// device-mapper volume over sdb1 and sdd (LVM spanning two disks).
    struct Fake(HashMap<(u32, u32), &'static str>);

    impl Fake {
        fn new() -> Fake {
            Fake(HashMap::from([
                ((259, 2), "/sys/devices/pci/nvme/nvme0n1/nvme0n1p2"),
                ((259, 3), "/sys/devices/pci/nvme/nvme0n1/nvme0n1p3"),
                ((8, 17), "/sys/devices/usb/sdb/sdb1"),
                ((8, 32), "/sys/devices/ata/sdc"),
                ((8, 48), "/sys/devices/ata/sdd"),
                ((253, 1), "/sys/devices/virtual/block/dm-1"),
            ]))
        }
    }

    impl BlockDevices for Fake {
        fn resolve(&self, major: u32, minor: u32) -> Option<PathBuf> {
            self.0.get(&(major, minor)).map(PathBuf::from)
        }
        fn is_partition(&self, dir: &Path) -> bool {
            let name = dir.file_name().unwrap().to_string_lossy();
            name.starts_with("nvme0n1p") || name == "sdb1"
        }
        fn slaves(&self, dir: &Path) -> Vec<(u32, u32)> {
            if dir.ends_with("dm-1") {
                vec![(8, 17), (8, 48)]
            } else {
                vec![]
            }
        }
    }

    fn dev(major: u64, minor: u64) -> u64 {
        (major << 8) | minor
    }

    fn domain(device: u64) -> Domain {
        let mounts = parse_mountinfo(MOUNTINFO);
        let source = |s: &str| (s == "/dev/sdc").then_some(dev(8, 32));
        domain_of_mount(device, &mounts, &Fake::new(), &source)
    }

    #[test]
    fn mountinfo_is_read_with_escapes() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 8);
        assert_eq!(m[4].mount_point, "/media/usb stick");
        assert_eq!(m[4].fstype, "vfat");
        assert_eq!(m[3].source, "/dev/nvme0n1p3");
        assert_eq!((m[3].major, m[3].minor), (259, 3));
        assert!(parse_mountinfo("garbage\n1 2 x\n").is_empty());
    }

    #[test]
    fn dev_t_splits_as_glibc_does() {
        assert_eq!(split_dev(0xfe00), (254, 0));
        assert_eq!(split_dev(66304), (259, 0));
        assert_eq!(split_dev(66305), (259, 1));
        assert_eq!(split_dev(27), (0, 27));
    }

    #[test]
    fn two_partitions_of_one_disk_are_one_domain() {
        let (root, home) = (domain(dev(259, 2)), domain(dev(259, 3)));
        assert!(
            root.keys.contains(&"disk:/dev/nvme0n1".to_string()),
            "{root:?}"
        );
        assert_eq!(
            not_redundant(&[root.clone(), home], false).as_deref(),
            Some("both on /dev/nvme0n1")
        );
        let usb = domain(dev(8, 17));
        assert_eq!(not_redundant(&[root, usb], false), None);
    }

    #[test]
    fn device_mapper_reaches_every_disk_beneath() {
        let lvm = domain(dev(253, 1));
        assert!(lvm.keys.contains(&"disk:/dev/sdb".to_string()), "{lvm:?}");
        assert!(lvm.keys.contains(&"disk:/dev/sdd".to_string()), "{lvm:?}");
        // It shares sdb with the USB stick's partition.
        assert_eq!(
            not_redundant(&[lvm, domain(dev(8, 17))], false).as_deref(),
            Some("both on /dev/sdb")
        );
    }

    #[test]
    fn btrfs_is_found_through_its_source_device() {
        let b = domain(dev(0, 51));
        assert!(b.keys.contains(&"disk:/dev/sdc".to_string()), "{b:?}");
    }

    #[test]
    fn tmpfs_counts_only_when_asked() {
        let shm = domain(dev(0, 23));
        assert_eq!(shm.volatile.as_deref(), Some("tmpfs"));
        let disk = domain(dev(259, 2));
        let why = not_redundant(&[disk.clone(), shm.clone()], false).unwrap();
        assert!(why.starts_with("copy 2 is on a tmpfs"), "{why}");
        assert_eq!(not_redundant(&[disk, shm.clone()], true), None);
        // Two directories on one tmpfs share its filesystem, counted or not.
        assert_eq!(
            not_redundant(&[shm.clone(), shm.clone()], true).as_deref(),
            Some("both on one tmpfs")
        );
        assert!(not_redundant(&[shm.clone(), shm], false)
            .unwrap()
            .starts_with("copy 1 is on a tmpfs"));
    }

    #[test]
    fn remotes_and_shares_are_domains_of_their_own() {
        let nas = domain(dev(0, 50));
        assert!(nas.keys.contains(&"share:nas:/export".to_string()));
        let disk = domain(dev(259, 2));
        assert_eq!(not_redundant(&[disk.clone(), nas], false), None);
        let r = Domain::remote("rclone:nas");
        assert_eq!(not_redundant(&[disk, r.clone()], false), None);
        assert_eq!(
            not_redundant(&[r.clone(), r], false).as_deref(),
            Some("both in rclone:nas")
        );
    }

    #[test]
    fn an_unknown_filesystem_is_its_own_domain_by_number() {
        let a = domain(dev(0, 99));
        assert_eq!(a.keys, vec!["fs:99".to_string()]);
        assert_eq!(
            not_redundant(&[a.clone(), a], false).as_deref(),
            Some("both on one filesystem (device 99)")
        );
    }

    #[test]
    fn three_copies_need_two_apart() {
        let (p2, p3, usb) = (domain(dev(259, 2)), domain(dev(259, 3)), domain(dev(8, 17)));
        assert_eq!(not_redundant(&[p2.clone(), p3.clone(), usb], false), None);
        assert!(not_redundant(&[p2], false).unwrap().contains("only 1 copy"));
        let _ = p3;
    }

    #[test]
    fn windows_drive_letters_and_disk_numbers() {
        use super::windows::{disk_keys, drive_letter};
        assert_eq!(drive_letter(r"\\?\C:\Users\ada"), Some('C'));
        assert_eq!(drive_letter(r"d:\backup"), Some('D'));
        assert_eq!(drive_letter(r"\\server\share"), None);
        assert_eq!(drive_letter("/home/ada"), None);
        // A volume spanning two disks lists both; repeats and noise are dropped.
        assert_eq!(
            disk_keys("1\r\n0\r\n1\r\nWARNING: x\r\n"),
            vec![
                r"disk:\\.\PhysicalDrive0".to_string(),
                r"disk:\\.\PhysicalDrive1".to_string()
            ]
        );
        let c = Domain {
            keys: vec!["fs:1".into(), r"disk:\\.\PhysicalDrive0".into()],
            volatile: None,
        };
        let d = Domain {
            keys: vec!["fs:2".into(), r"disk:\\.\PhysicalDrive0".into()],
            volatile: None,
        };
        assert_eq!(
            not_redundant(&[c, d], false).as_deref(),
            Some(r"both on \\.\PhysicalDrive0")
        );
    }
}
