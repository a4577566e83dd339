//! What every shell's tests share: a program running in a pseudo-terminal that a test
//! types into and reads from, a sandbox with private state and a real directory to
//! protect, and finding the shells.
//!
//! Waiting is always for text, with a bound: a test never sleeps to let a shell catch
//! up. Shells print their prompt and echo what is typed, so the dependable thing to
//! wait for is a command's own output: [`Pty::sync`] types `echo SY''NC<n>` and waits
//! for `SYNC<n>`, which only the command's output can contain.

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};

/// How long any one expectation may take. Generous: the CI machine is small and shared,
/// and a debug build of backstop starts slowly; a passing test never waits this long.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Wide enough that no line a test types or expects is wrapped by a line editor.
const COLUMNS: u16 = 400;
const ROWS: u16 = 50;

/// A program asking the terminal where the cursor is (Device Status Report 6).
const CURSOR_QUERY: &[u8] = b"\x1b[6n";

/// Everything read from the terminal so far, and whether it has closed.
#[derive(Debug, Default)]
struct Transcript {
    bytes: Vec<u8>,
    closed: bool,
}

/// A program running in a pseudo-terminal.
pub struct Pty {
    name: String,
    child: Box<dyn Child + Send + Sync>,
    /// Shared with the reader, which answers the terminal queries a program waits on.
    writer: Arc<Mutex<Box<dyn std::io::Write + Send>>>,
    shared: Arc<(Mutex<Transcript>, Condvar)>,
    /// Bytes of the transcript already matched by an expectation.
    consumed: usize,
    syncs: u32,
}

impl std::fmt::Debug for Pty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pty").field("name", &self.name).finish()
    }
}

impl Pty {
    /// Starts `cmd` (its program, arguments, directory and the variables it sets) in a
    /// new pseudo-terminal; the program sees only the variables `cmd` sets.
    pub fn spawn_clean(cmd: Command) -> Pty {
        let program = Path::new(cmd.get_program());
        let name = program.file_name().map_or_else(
            || program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLUMNS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let mut builder = CommandBuilder::new(program);
        builder.args(cmd.get_args());
        builder.env_clear();
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => builder.env(key, value),
                None => builder.env_remove(key),
            }
        }
        if let Some(dir) = cmd.get_current_dir() {
            builder.cwd(dir);
        }
        let child = pair
            .slave
            .spawn_command(builder)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        // Our copy of the terminal's other end would keep it open after the program exits.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let shared = Arc::new((Mutex::new(Transcript::default()), Condvar::new()));
        let for_reader = Arc::clone(&shared);
        let answer = Arc::clone(&writer);
        // The master end must live as long as the reader; the thread owns it.
        let master = pair.master;
        std::thread::spawn(move || {
            let _master = master;
            let mut buf = [0u8; 8192];
            loop {
                let n = reader.read(&mut buf).unwrap_or(0);
                let (lock, cvar) = &*for_reader;
                let mut t = lock.lock().unwrap_or_else(|p| p.into_inner());
                if n == 0 {
                    t.closed = true;
                    cvar.notify_all();
                    return;
                }
                // A query split across two reads is found too: look back three bytes.
                let from = t.bytes.len().saturating_sub(3);
                t.bytes.extend_from_slice(&buf[..n]);
                let queries = t.bytes[from..]
                    .windows(CURSOR_QUERY.len())
                    .filter(|w| *w == CURSOR_QUERY)
                    .count();
                cvar.notify_all();
                drop(t);
                // A terminal answers where the cursor is; nushell's line editor waits
                // for that answer before each prompt.
                let mut w = answer.lock().unwrap_or_else(|p| p.into_inner());
                for _ in 0..queries {
                    let _ = w.write_all(b"\x1b[1;1R").and_then(|()| w.flush());
                }
            }
        });
        Pty {
            name,
            child,
            writer,
            shared,
            consumed: 0,
            syncs: 0,
        }
    }

    /// Types `text` as it is (escape sequences included, so keys and pastes too).
    pub fn send(&mut self, text: &str) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.write_all(text.as_bytes())
            .and_then(|()| w.flush())
            .unwrap_or_else(|e| panic!("cannot type into {}: {e}\n{}", self.name, self.screen()));
    }

    /// Types `line` and Enter.
    pub fn line(&mut self, line: &str) {
        self.send(&format!("{line}\r"));
    }

    /// Types a bracketed paste of `text` (what a terminal sends when text is pasted).
    pub fn paste(&mut self, text: &str) {
        self.send(&format!("\x1b[200~{text}\x1b[201~"));
    }

    /// Waits until `needle` appears in the output after what earlier expectations
    /// matched, and returns the output up to and including it (escape sequences and
    /// carriage returns removed). Panics with the screen so far if it does not come.
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, TIMEOUT)
    }

    pub fn expect_within(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.shared;
        let mut t = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let (text, ends) = readable(&t.bytes[self.consumed..]);
            let found = text
                .windows(needle.len().max(1))
                .position(|w| w == needle.as_bytes());
            if let Some(at) = found {
                let end = at + needle.len();
                self.consumed += ends[end - 1];
                return String::from_utf8_lossy(&text[..end]).into_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if t.closed || left.is_zero() {
                let why = if t.closed {
                    "closed its terminal".to_string()
                } else {
                    format!("printed nothing more for {timeout:?}")
                };
                let shown = screen_of(&t.bytes);
                drop(t);
                panic!(
                    "{} {why} while the test waited for {needle:?}; the screen so far:\n{shown}",
                    self.name
                );
            }
            t = cvar
                .wait_timeout(t, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Types a marker command and waits for its output, so that everything typed before
    /// it has been read and run. Returns the output since the last expectation, up to the marker.
    pub fn sync(&mut self) -> String {
        self.syncs += 1;
        let n = self.syncs;
        self.line(&format!("echo SY''NC{n}"));
        let text = self.expect(&format!("SYNC{n}"));
        text[..text.len() - format!("SYNC{n}").len()].to_string()
    }

    /// Everything printed so far, readable: what a person would have seen scroll by.
    pub fn screen(&self) -> String {
        let t = self.shared.0.lock().unwrap_or_else(|p| p.into_inner());
        screen_of(&t.bytes)
    }

    /// Everything printed so far, escape sequences and all.
    pub fn raw(&self) -> String {
        let t = self.shared.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&t.bytes).into_owned()
    }

    /// Types `exit_line` and waits for the program to end; returns its exit status.
    pub fn exit(mut self, exit_line: &str) -> u32 {
        self.line(exit_line);
        self.wait()
    }

    /// Waits for the program to end on its own; returns its exit status.
    pub fn wait(&mut self) -> u32 {
        {
            let deadline = Instant::now() + TIMEOUT;
            let (lock, cvar) = &*self.shared;
            let mut t = lock.lock().unwrap_or_else(|p| p.into_inner());
            while !t.closed {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let shown = screen_of(&t.bytes);
                    drop(t);
                    panic!("{} did not exit; the screen so far:\n{shown}", self.name);
                }
                t = cvar
                    .wait_timeout(t, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        self.child.wait().map_or(u32::MAX, |s| s.exit_code())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // A failed test must not leave its shell running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The text of terminal output with escape sequences and carriage returns removed, and
/// for each byte of that text the length of raw output that had been read after it.
fn readable(raw: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut text = Vec::with_capacity(raw.len());
    let mut ends = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0x1b => i = skip_escape(raw, i),
            b'\r' | 0x07 | 0x08 => i += 1,
            b => {
                text.push(b);
                i += 1;
                ends.push(i);
            }
        }
    }
    (text, ends)
}

/// Index just past the escape sequence that starts at `i`.
fn skip_escape(raw: &[u8], i: usize) -> usize {
    let Some(&kind) = raw.get(i + 1) else {
        return raw.len();
    };
    match kind {
        // CSI: parameters and intermediates, then one final byte.
        b'[' => {
            let mut j = i + 2;
            while j < raw.len() && !(0x40..=0x7e).contains(&raw[j]) {
                j += 1;
            }
            (j + 1).min(raw.len())
        }
        // OSC: up to BEL or ESC \.
        b']' => {
            let mut j = i + 2;
            while j < raw.len() {
                if raw[j] == 0x07 {
                    return j + 1;
                }
                if raw[j] == 0x1b && raw.get(j + 1) == Some(&b'\\') {
                    return j + 2;
                }
                j += 1;
            }
            raw.len()
        }
        // Character set selection takes one more byte.
        b'(' | b')' | b'#' => (i + 3).min(raw.len()),
        _ => i + 2,
    }
}

/// The last part of a transcript, for a failure message.
fn screen_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(&readable(raw).0).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(60);
    let mut shown = lines[from..].join("\n");
    if from > 0 {
        shown = format!("[{from} earlier lines]\n{shown}");
    }
    shown
}

/// The shell `name` on PATH. When it is missing the test is skipped with a message,
/// unless `BACKSTOP_REQUIRE_SHELLS=1` (scripts/test.sh installs the shells) makes it fail.
pub fn shell(name: &str) -> Option<PathBuf> {
    if let Some(found) = on_path(name) {
        return Some(found);
    }
    assert!(
        std::env::var_os("BACKSTOP_REQUIRE_SHELLS").is_none_or(|v| v.is_empty() || v == "0"),
        "{name} is required (BACKSTOP_REQUIRE_SHELLS is set) but is not on PATH"
    );
    eprintln!("SKIPPED {name} shell tests: {name} is not on PATH (scripts/test.sh installs it)");
    None
}

/// `name` in an absolute PATH directory (never the current one).
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The backstop binary under test.
pub fn backstop_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_backstop"))
}

/// Private state for one test: a HOME and a BACKSTOP_HOME of its own, and a directory
/// with a sentinel file for the line under test to try to delete.
///
/// backstop's rules except everything under /tmp and under any `target/` directory, so
/// the directory to protect lives under the real home directory, and backups go to one
/// directory there (on the disk) and one in /dev/shm (a tmpfs: another filesystem).
#[derive(Debug)]
pub struct Sandbox {
    pub home: tempfile::TempDir,
    pub backstop_home: tempfile::TempDir,
    outside: tempfile::TempDir,
    shm: tempfile::TempDir,
    /// The directory to protect, holding `sentinel`.
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let real_home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .expect("HOME is set");
        let outside = tempfile::Builder::new()
            .prefix("backstop-shell-test")
            .tempdir_in(real_home)
            .expect("a directory under the real home (outside /tmp, which the rules except)");
        let dir = outside.path().join("precious");
        std::fs::create_dir_all(&dir).expect("create the directory to protect");
        std::fs::write(dir.join("sentinel"), "keep me\n").expect("write the sentinel");
        std::fs::create_dir_all(outside.path().join("backups")).expect("backup dir");
        let backstop_home = tempfile::tempdir().expect("private BACKSTOP_HOME");
        // The second copy is on /dev/shm, a tmpfs, which counts only when asked.
        std::fs::write(
            backstop_home.path().join("config.toml"),
            "[backup]\nvolatile_counts = true\n",
        )
        .expect("write config.toml");
        Sandbox {
            home: tempfile::tempdir().expect("private HOME"),
            backstop_home,
            shm: tempfile::tempdir_in("/dev/shm").expect("a directory in /dev/shm (a tmpfs)"),
            outside,
            dir,
        }
    }

    /// Whether the directory under test still holds its sentinel.
    pub fn intact(&self) -> bool {
        self.dir.join("sentinel").is_file()
    }

    /// The environment a shell under test gets (with [`Pty::spawn_clean`]): nothing of
    /// the test process but PATH.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("HOME", self.home.path().into()),
            ("BACKSTOP_HOME", self.backstop_home.path().into()),
            ("TERM", "xterm".into()),
            ("LANG", "C.UTF-8".into()),
        ]
    }

    /// Runs `bin` (backstop, or a copy of it) with this sandbox's state; panics unless it succeeds.
    pub fn run(&self, bin: &Path, args: &[&str]) -> Output {
        let out = Command::new(bin)
            .args(args)
            .env_clear()
            .envs(self.env())
            .current_dir(self.home.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        assert!(
            out.status.success(),
            "backstop {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `backstop install SHELL --profile PROFILE`, run by `bin`.
    pub fn install(&self, bin: &Path, shell: &str, profile: &Path) {
        let profile = profile.to_str().expect("utf-8 path");
        self.run(bin, &["install", shell, "--profile", profile]);
    }

    /// `backstop init SHELL`, the rendered script.
    pub fn init(&self, shell: &str) -> String {
        let out = self.run(&backstop_bin(), &["init", shell]);
        String::from_utf8(out.stdout).expect("utf-8 script")
    }

    /// Backs the directory under test up to two filesystems, so that deleting it asks.
    pub fn back_up(&self) {
        self.back_up_target(self.dir.to_str().expect("utf-8 path"));
    }

    /// Backs `target` (a path, or `KIND:VALUE`) up to the sandbox's two filesystems.
    pub fn back_up_target(&self, target: &str) {
        let disk = self.outside.path().join("backups");
        let disk = disk.to_str().expect("utf-8 path");
        let shm = self.shm.path().to_str().expect("utf-8 path");
        self.run(
            &backstop_bin(),
            &["backup", target, "--to", disk, "--to", shm],
        );
    }

    /// Configures the destinations backups go to without `--to`: a directory on the
    /// disk and `second` (the tmpfs directory when `None`).
    pub fn configure_destinations(&self, second: Option<&str>) {
        let disk = self.outside.path().join("backups");
        let shm = self.shm.path().display().to_string();
        std::fs::write(
            self.backstop_home.path().join("config.toml"),
            format!(
                "[backup]\nvolatile_counts = true\nto = [\"{}\", \"{}\"]\n",
                disk.display(),
                second.unwrap_or(&shm)
            ),
        )
        .expect("write config.toml");
    }

    /// The files in the disk destination and the tmpfs one.
    pub fn backup_files(&self) -> Vec<String> {
        [
            self.outside.path().join("backups"),
            self.shm.path().to_path_buf(),
        ]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path().display().to_string())
        .collect()
    }

    /// A directory beside the one under test (outside /tmp), for other destinations.
    pub fn beside(&self, name: &str) -> PathBuf {
        let d = self.outside.path().join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    /// A git repository beside the directory under test, pushed to a bare remote on
    /// disk, holding a 33 MiB file (large, so precious): the path of that file, which
    /// git covers.
    pub fn pushed_repo(&self) -> PathBuf {
        let git = backstop_backup::recipe::resolve_program("git").expect("git is installed");
        let repo = self.outside.path().join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir repo");
        let big = repo.join("big.bin");
        std::fs::write(&big, vec![7u8; 33 << 20]).expect("write big.bin");
        let run = |dir: &Path, args: &[&str]| {
            let out = Command::new(&git)
                .args(["-c", "user.name=T", "-c", "user.email=t@example.invalid"])
                .args(args)
                .current_dir(dir)
                .output()
                .expect("run git");
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(self.outside.path(), &["init", "-q", "--bare", "repo.git"]);
        run(&repo, &["init", "-q", "-b", "main"]);
        run(&repo, &["add", "big.bin"]);
        run(&repo, &["commit", "-q", "-m", "big"]);
        run(&repo, &["remote", "add", "origin", "../repo.git"]);
        run(&repo, &["push", "-q", "-u", "origin", "main"]);
        big
    }

    /// A copy of the backstop binary that the test may delete: a shell loaded through
    /// it is left with a missing binary.
    pub fn doomed_copy(&self) -> PathBuf {
        let copy = self.home.path().join("backstop-copy");
        // A link, or a copy written by another process: a file this multi-threaded
        // process wrote could still be open in a child another test forks, and
        // running it would then fail with "text file busy".
        if std::fs::hard_link(backstop_bin(), &copy).is_err() {
            let cp = Command::new("cp")
                .arg(backstop_bin())
                .arg(&copy)
                .status()
                .expect("run cp");
            assert!(cp.success(), "copy the backstop binary");
        }
        copy
    }
}
