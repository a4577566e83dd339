//! The stand-ins for Windows tools (tests/stand-ins/wsl and reg), run as real processes.
//!
//! Tests of the wsl and registry recipes put `stand_ins_dir()` first on PATH and
//! give the stand-ins a private state directory with `WslHome` or `RegHome`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// tests/stand-ins: `wsl` and `reg` scripts that behave like the Windows programs.
pub fn stand_ins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins")
}

/// PATH with the stand-ins in front, so `wsl` and `reg` resolve to them.
pub fn path_with_stand_ins() -> String {
    let mut dirs = vec![stand_ins_dir()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs)
        .expect("PATH entries")
        .into_string()
        .expect("PATH is UTF-8")
}

/// A private $WSL_STANDIN_HOME: the distributions the wsl stand-in knows.
#[derive(Debug)]
pub struct WslHome {
    dir: tempfile::TempDir,
}

impl WslHome {
    pub fn new() -> WslHome {
        WslHome {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Registers distribution `name` holding `files` (paths relative to its root).
    pub fn distro(&self, name: &str, files: &[(&str, &str)]) -> &WslHome {
        let root = self.rootfs(name);
        std::fs::create_dir_all(&root).expect("mkdir rootfs");
        for (rel, text) in files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        self
    }

    /// Where distribution `name`'s files live.
    pub fn rootfs(&self, name: &str) -> PathBuf {
        self.dir.path().join("distros").join(name).join("rootfs")
    }

    /// WSL_STANDIN_HOME, and WSL_UTF8=1 so wsl's own messages are UTF-8 (as on WSL 0.64+).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "WSL_STANDIN_HOME".into(),
                self.dir.path().display().to_string(),
            ),
            ("WSL_UTF8".into(), "1".into()),
        ]
    }
}

/// A private $REG_STANDIN_HOME: the registry the reg stand-in reads and writes.
#[derive(Debug)]
pub struct RegHome {
    dir: tempfile::TempDir,
}

impl RegHome {
    pub fn new() -> RegHome {
        RegHome {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Creates `key` (root spelled out, e.g. `HKEY_CURRENT_USER\Software\Contoso`)
    /// with `values` as .reg lines such as `"Name"="data"`.
    pub fn key(&self, key: &str, values: &[&str]) -> &RegHome {
        let dir = self.key_dir(key);
        std::fs::create_dir_all(&dir).expect("mkdir key");
        let mut text = values.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(dir.join("values"), text).expect("write values");
        self
    }

    pub fn key_dir(&self, key: &str) -> PathBuf {
        key.split('\\')
            .fold(self.dir.path().to_path_buf(), |dir, part| dir.join(part))
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "REG_STANDIN_HOME".into(),
            self.dir.path().display().to_string(),
        )]
    }
}

/// Decodes UTF-16LE bytes, after a byte-order mark if there is one.
pub fn utf16le(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xff\xfe").unwrap_or(bytes);
    assert!(
        bytes.len().is_multiple_of(2),
        "odd length for UTF-16: {bytes:?}"
    );
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).expect("valid UTF-16")
}

fn stand_in(name: &str, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(stand_ins_dir().join(name))
        .args(args)
        .env_remove("WSL_STANDIN_HOME")
        .env_remove("REG_STANDIN_HOME")
        .env_remove("WSL_UTF8")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap_or_else(|e| panic!("run the {name} stand-in: {e}"))
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn with(mut env: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
    env.push((key.into(), value.into()));
    env
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

const OS_RELEASE: &str = "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nID=ubuntu\n";

fn ubuntu() -> WslHome {
    let home = WslHome::new();
    home.distro("Ubuntu", &[("etc/os-release", OS_RELEASE)]);
    home
}

/// The archive's files (leading `./` removed) with their contents.
fn tar_files(path: &Path) -> Vec<(String, String)> {
    let mut archive = tar::Archive::new(std::fs::File::open(path).expect("open tar"));
    let mut files = Vec::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().expect("entry path").display().to_string();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).expect("read entry");
        files.push((name.trim_start_matches("./").to_string(), text));
    }
    files
}

#[test]
fn wsl_export_writes_a_tar_of_the_distro() {
    let home = ubuntu();
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("ubuntu.tar");
    let o = stand_in("wsl", &home.env(), &["--export", "Ubuntu", s(&file)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).contains("The operation completed successfully."),
        "{}",
        out(&o)
    );
    assert_eq!(
        tar_files(&file),
        vec![("etc/os-release".to_string(), OS_RELEASE.to_string())]
    );
}

#[test]
fn wsl_import_then_run_sees_the_imported_files() {
    let home = ubuntu();
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("ubuntu.tar");
    let location = tmp.path().join("restored");
    let env = home.env();
    assert_eq!(
        code(&stand_in("wsl", &env, &["--export", "Ubuntu", s(&file)])),
        0
    );

    let o = stand_in(
        "wsl",
        &env,
        &["--import", "Restored", s(&location), s(&file)],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(location.is_dir(), "the install location is created");

    let o = stand_in(
        "wsl",
        &env,
        &["-d", "Restored", "--", "cat", "/etc/os-release"],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(out(&o), OS_RELEASE);
    // Names compare case-insensitively, and -e runs a command as -- does.
    let o = stand_in(
        "wsl",
        &env,
        &[
            "-d",
            "restored",
            "-u",
            "root",
            "-e",
            "cat",
            "/etc/os-release",
        ],
    );
    assert_eq!(out(&o), OS_RELEASE, "{}", err(&o));

    let o = stand_in("wsl", &env, &["--list", "--quiet"]);
    assert_eq!(out(&o), "Restored\r\nUbuntu\r\n");

    let again = stand_in(
        "wsl",
        &env,
        &["--import", "Restored", s(&location), s(&file)],
    );
    assert_eq!(code(&again), 1);
    assert!(err(&again).contains("already exists"), "{}", err(&again));
}

#[test]
fn wsl_run_passes_the_exit_code_through() {
    let home = ubuntu();
    let o = stand_in(
        "wsl",
        &home.env(),
        &["-d", "Ubuntu", "--", "cat", "/etc/missing"],
    );
    assert_ne!(code(&o), 0);
    assert!(
        err(&o).contains(s(&home.rootfs("Ubuntu").join("etc/missing"))),
        "the path was looked up inside the distro: {}",
        err(&o)
    );
}

#[test]
fn wsl_unregister_removes_the_distro() {
    let home = ubuntu();
    let env = home.env();
    let o = stand_in("wsl", &env, &["--unregister", "Ubuntu"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!home.rootfs("Ubuntu").exists());
    let o = stand_in(
        "wsl",
        &env,
        &["-d", "Ubuntu", "--", "cat", "/etc/os-release"],
    );
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("There is no distribution with the supplied name."),
        "{}",
        err(&o)
    );
    let o = stand_in("wsl", &env, &["-l", "-q"]);
    assert!(!out(&o).contains("Ubuntu"), "{}", out(&o));
}

#[test]
fn wsl_export_of_an_unknown_distro_fails_and_writes_nothing() {
    let home = ubuntu();
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("debian.tar");
    let o = stand_in("wsl", &home.env(), &["--export", "Debian", s(&file)]);
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("There is no distribution with the supplied name."),
        "{}",
        err(&o)
    );
    assert!(!file.exists());
}

#[test]
fn wsl_messages_are_utf16le_unless_wsl_utf8_is_set() {
    let home = ubuntu();
    let env: Vec<_> = home
        .env()
        .into_iter()
        .filter(|(k, _)| k != "WSL_UTF8")
        .collect();
    let o = stand_in("wsl", &env, &["-l", "-q"]);
    assert_eq!(o.stdout, b"U\0b\0u\0n\0t\0u\0\r\0\n\0");
    let o = stand_in("wsl", &env, &["--unregister", "Debian"]);
    assert_eq!(code(&o), 1);
    assert!(utf16le(&o.stderr).starts_with("There is no distribution"));
    // What runs inside the distro prints its own bytes, untouched.
    let o = stand_in(
        "wsl",
        &env,
        &["-d", "Ubuntu", "--", "cat", "/etc/os-release"],
    );
    assert_eq!(out(&o), OS_RELEASE);
}

#[test]
fn wsl_knobs_make_export_fail_or_write_an_empty_file() {
    let home = ubuntu();
    let tmp = tempfile::tempdir().expect("tmp");
    let failed = tmp.path().join("failed.tar");
    let o = stand_in(
        "wsl",
        &with(home.env(), "WSL_STANDIN_FAIL", "1"),
        &["--export", "Ubuntu", s(&failed)],
    );
    assert_eq!(code(&o), 1);
    assert!(!failed.exists());

    let empty = tmp.path().join("empty.tar");
    let o = stand_in(
        "wsl",
        &with(home.env(), "WSL_STANDIN_EMPTY", "1"),
        &["--export", "Ubuntu", s(&empty)],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(std::fs::metadata(&empty).expect("written").len(), 0);

    // Importing that empty file fails, as it does on Windows.
    let o = stand_in(
        "wsl",
        &home.env(),
        &["--import", "Empty", s(tmp.path()), s(&empty)],
    );
    assert_eq!(code(&o), 1);
    assert!(!home.rootfs("Empty").exists());
}

#[test]
fn wsl_without_its_home_says_so() {
    let o = stand_in("wsl", &[], &["-l", "-q"]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("WSL_STANDIN_HOME"), "{}", err(&o));
}

fn contoso() -> RegHome {
    let reg = RegHome::new();
    reg.key(
        r"HKEY_CURRENT_USER\Software\Contoso",
        &[
            r#"@="default""#,
            r#""Name"="data""#,
            r#""Path"="C:\\Program Files\\Contoso""#,
            r#""Count"=dword:0000002a"#,
        ],
    )
    .key(
        r"HKEY_CURRENT_USER\Software\Contoso\Sub",
        &[r#""Deep"="yes""#],
    );
    reg
}

const CONTOSO_REG: &str = "Windows Registry Editor Version 5.00\r\n\r\n\
    [HKEY_CURRENT_USER\\Software\\Contoso]\r\n\
    @=\"default\"\r\n\
    \"Name\"=\"data\"\r\n\
    \"Path\"=\"C:\\\\Program Files\\\\Contoso\"\r\n\
    \"Count\"=dword:0000002a\r\n\
    \r\n\
    [HKEY_CURRENT_USER\\Software\\Contoso\\Sub]\r\n\
    \"Deep\"=\"yes\"\r\n\
    \r\n";

#[test]
fn reg_export_writes_utf16le_with_a_bom() {
    let reg = contoso();
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("contoso.reg");
    let o = stand_in(
        "reg",
        &reg.env(),
        &["export", r"HKCU\Software\Contoso", s(&file)],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(out(&o), "The operation completed successfully.\n");
    let bytes = std::fs::read(&file).expect("exported");
    assert_eq!(&bytes[..2], b"\xff\xfe", "UTF-16LE byte-order mark");
    assert_eq!(utf16le(&bytes), CONTOSO_REG);
}

#[test]
fn reg_export_keeps_an_existing_file_unless_y() {
    let reg = contoso();
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("contoso.reg");
    std::fs::write(&file, "older backup").expect("write");
    let args = ["export", r"HKCU\Software\Contoso", s(&file)];
    let o = stand_in("reg", &reg.env(), &args);
    assert_eq!(code(&o), 1);
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "older backup"
    );
    let o = stand_in("reg", &reg.env(), &[&args[..], &["/y"]].concat());
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(utf16le(&std::fs::read(&file).expect("read")), CONTOSO_REG);
}

#[test]
fn reg_missing_key_fails_with_the_reg_exe_message() {
    let reg = contoso();
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("fabrikam.reg");
    for args in [
        vec!["export", r"HKCU\Software\Fabrikam", s(&file)],
        vec!["query", r"HKCU\Software\Fabrikam"],
        vec!["delete", r"HKCU\Software\Fabrikam", "/f"],
        vec!["query", r"HKCU\Software\Contoso", "/v", "Missing"],
    ] {
        let o = stand_in("reg", &reg.env(), &args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert_eq!(
            err(&o),
            "ERROR: The system was unable to find the specified registry key or value.\n",
            "{args:?}"
        );
        assert_eq!(out(&o), "", "{args:?}");
    }
    assert!(!file.exists());
}

#[test]
fn reg_query_shows_values_like_reg_exe() {
    let reg = contoso();
    // Key and value names compare case-insensitively.
    let o = stand_in("reg", &reg.env(), &["query", r"hkcu\software\CONTOSO"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        out(&o),
        "\nHKEY_CURRENT_USER\\Software\\Contoso\n\
         \x20   (Default)    REG_SZ    default\n\
         \x20   Name    REG_SZ    data\n\
         \x20   Path    REG_SZ    C:\\Program Files\\Contoso\n\
         \x20   Count    REG_DWORD    0x2a\n\
         \nHKEY_CURRENT_USER\\Software\\Contoso\\Sub\n"
    );
    let o = stand_in(
        "reg",
        &reg.env(),
        &["query", r"HKCU\Software\Contoso", "/v", "name"],
    );
    assert_eq!(
        out(&o),
        "\nHKEY_CURRENT_USER\\Software\\Contoso\n    Name    REG_SZ    data\n"
    );
}

#[test]
fn reg_export_delete_import_restores_the_key() {
    let reg = contoso();
    let key = r"HKEY_CURRENT_USER\Software\Contoso";
    let values = std::fs::read_to_string(reg.key_dir(key).join("values")).expect("values");
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("contoso.reg");
    let env = reg.env();
    assert_eq!(code(&stand_in("reg", &env, &["export", key, s(&file)])), 0);

    let o = stand_in("reg", &env, &["delete", key]);
    assert_eq!(code(&o), 1, "without /f the stand-in refuses");
    assert!(reg.key_dir(key).exists());
    let o = stand_in("reg", &env, &["delete", key, "/f"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!reg.key_dir(key).exists());
    assert_eq!(code(&stand_in("reg", &env, &["query", key])), 1);

    let o = stand_in("reg", &env, &["import", s(&file)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    // reg.exe reports a successful import on stderr.
    assert_eq!(err(&o), "The operation completed successfully.\n");
    assert_eq!(
        std::fs::read_to_string(reg.key_dir(key).join("values")).expect("restored"),
        values
    );
    let again = tmp.path().join("again.reg");
    assert_eq!(code(&stand_in("reg", &env, &["export", key, s(&again)])), 0);
    assert_eq!(
        std::fs::read(&again).expect("read"),
        std::fs::read(&file).expect("read")
    );
}

#[test]
fn reg_import_reads_utf8_and_applies_deletions() {
    let reg = contoso();
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("change.reg");
    std::fs::write(
        &file,
        "Windows Registry Editor Version 5.00\r\n\r\n\
         [HKEY_CURRENT_USER\\Software\\contoso]\r\n\
         \"name\"=\"changed\"\r\n\
         \"Count\"=-\r\n\
         \"New\"=\"n\"\r\n\r\n\
         [-HKEY_CURRENT_USER\\Software\\Contoso\\Sub]\r\n",
    )
    .expect("write");
    let o = stand_in("reg", &reg.env(), &["import", s(&file)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let key = r"HKEY_CURRENT_USER\Software\Contoso";
    assert_eq!(
        std::fs::read_to_string(reg.key_dir(key).join("values")).expect("values"),
        "@=\"default\"\n\"name\"=\"changed\"\n\"Path\"=\"C:\\\\Program Files\\\\Contoso\"\n\"New\"=\"n\"\n"
    );
    assert!(!reg.key_dir(&format!(r"{key}\Sub")).exists());
}

#[test]
fn reg_import_refuses_a_file_that_is_not_a_registry_script() {
    let reg = contoso();
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("empty.reg");
    std::fs::write(&file, "").expect("write");
    let o = stand_in("reg", &reg.env(), &["import", s(&file)]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).starts_with("ERROR: "), "{}", err(&o));
}

#[test]
fn reg_knobs_make_export_fail_or_write_an_empty_file() {
    let reg = contoso();
    let tmp = tempfile::tempdir().expect("tmp");
    let failed = tmp.path().join("failed.reg");
    let o = stand_in(
        "reg",
        &with(reg.env(), "REG_STANDIN_FAIL", "1"),
        &["export", r"HKCU\Software\Contoso", s(&failed)],
    );
    assert_eq!(code(&o), 1);
    assert!(!failed.exists());

    let empty = tmp.path().join("empty.reg");
    let o = stand_in(
        "reg",
        &with(reg.env(), "REG_STANDIN_EMPTY", "1"),
        &["export", r"HKCU\Software\Contoso", s(&empty)],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(std::fs::metadata(&empty).expect("written").len(), 0);
}

#[test]
fn stand_ins_come_first_on_the_path() {
    let reg = contoso();
    let o = Command::new("bash")
        .args([
            "-c",
            "command -v wsl reg && reg query 'HKCU\\Software\\Contoso' /v Name",
        ])
        .env("PATH", path_with_stand_ins())
        .envs(reg.env())
        .output()
        .expect("bash");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let dir = stand_ins_dir();
    assert!(
        out(&o).starts_with(&format!(
            "{}\n{}\n",
            dir.join("wsl").display(),
            dir.join("reg").display()
        )),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("Name    REG_SZ    data"), "{}", out(&o));
}
