//! Running a recipe: the programs of `policies/recipes.toml` (or a user's) that make,
//! check and restore-test a backup of a database, a distribution or a registry key.
//!
//! Every program is an argv with `{placeholders}` replaced word by word (never a
//! shell), found on an absolute PATH entry, run in a private scratch directory, and
//! its exit status checked. The backup it makes is read once into the two copies.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use backstop_rules::policy::{
    compile_bytes_regex, RecipeOutput, RecipeSpec, RecipeStep, RecipeValue,
};

use crate::copy::Digest;
use crate::dest::{Dest, Outgoing};
use crate::error::{io, Error, Result};
use crate::manifest::Copy;

/// How much of a file a text check reads: enough for any header, bounded.
pub const TEXT_HEAD: u64 = 64 << 10;

/// The values `{placeholders}` stand for.
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    values: Vec<(&'static str, String)>,
}

impl Placeholders {
    pub fn new(target: &str, value: RecipeValue) -> Placeholders {
        let mut p = Placeholders::default();
        p.set("target", target);
        if value == RecipeValue::RegistryKey {
            p.set("target_long", &registry_long(target));
        }
        p
    }

    pub fn set(&mut self, name: &'static str, value: &str) {
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, value.to_string()));
    }

    /// `word` with every known placeholder replaced; `{{` and `}}` are literal braces.
    /// In a regex the values are escaped, so a name is matched as written.
    pub fn expand(&self, word: &str, for_regex: bool) -> String {
        let mut out = String::with_capacity(word.len());
        let mut rest = word;
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                out.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            let known = self.values.iter().find(|(n, _)| {
                tail.strip_prefix('{')
                    .and_then(|t| t.strip_prefix(*n))
                    .is_some_and(|t| t.starts_with('}'))
            });
            match known {
                Some((n, v)) => {
                    if for_regex {
                        out.push_str(&regex::escape(v));
                    } else {
                        out.push_str(v);
                    }
                    rest = &tail[n.len() + 2..];
                }
                None => {
                    out.push_str(&tail[..1]);
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// `HKCU\Software\X` → `HKEY_CURRENT_USER\Software\X`, as `reg export` writes it.
pub fn registry_long(key: &str) -> String {
    let key = key.strip_prefix("Registry::").unwrap_or(key);
    let (root, rest) = key.split_once('\\').unwrap_or((key, ""));
    let long = match root.trim_end_matches(':').to_ascii_uppercase().as_str() {
        "HKLM" | "HKEY_LOCAL_MACHINE" => "HKEY_LOCAL_MACHINE",
        "HKCU" | "HKEY_CURRENT_USER" => "HKEY_CURRENT_USER",
        "HKCR" | "HKEY_CLASSES_ROOT" => "HKEY_CLASSES_ROOT",
        "HKU" | "HKEY_USERS" => "HKEY_USERS",
        "HKCC" | "HKEY_CURRENT_CONFIG" => "HKEY_CURRENT_CONFIG",
        _ => return key.to_string(),
    };
    if rest.is_empty() {
        long.to_string()
    } else {
        format!("{long}\\{rest}")
    }
}

/// `HKEY_CURRENT_USER\Software\X` or `HKCU:\Software\X` → `HKCU\Software\X`.
pub fn registry_short(key: &str) -> String {
    let long = registry_long(key);
    let (root, rest) = long.split_once('\\').unwrap_or((long.as_str(), ""));
    let short = match root {
        "HKEY_LOCAL_MACHINE" => "HKLM",
        "HKEY_CURRENT_USER" => "HKCU",
        "HKEY_CLASSES_ROOT" => "HKCR",
        "HKEY_USERS" => "HKU",
        "HKEY_CURRENT_CONFIG" => "HKCC",
        other => other,
    };
    let rest = rest.trim_end_matches('\\');
    if rest.is_empty() {
        short.to_string()
    } else {
        format!("{short}\\{rest}")
    }
}

/// The program's absolute path, from PATH entries that are themselves absolute: a
/// backup must never run a program planted in the current directory.
pub fn resolve_program(name: &str) -> Result<PathBuf> {
    let not_found = || Error::Program {
        program: name.to_string(),
        message: "not found on PATH; install it or put its directory on PATH".into(),
    };
    let p = Path::new(name);
    if p.is_absolute() {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(not_found())
        };
    }
    if name.contains(['/', '\\']) {
        return Err(Error::Program {
            program: name.to_string(),
            message: "a relative path is not allowed in a recipe; give a name found on PATH or an absolute path".into(),
        });
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if cfg!(windows) {
        dirs.extend(system32(std::env::var_os("SystemRoot")));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path).filter(|d| d.is_absolute()));
    }
    let names = if cfg!(windows) {
        windows_names(name, std::env::var("PATHEXT").ok().as_deref())
    } else {
        vec![name.to_string()]
    };
    find_program(&dirs, &names, is_executable).ok_or_else(not_found)
}

/// The first `dir/name` that `runnable` accepts, directory by directory.
fn find_program(
    dirs: &[PathBuf],
    names: &[String],
    runnable: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| runnable(p))
}

/// `%SystemRoot%\System32`, searched before PATH as Windows itself does, so that
/// `wsl.exe` and `reg.exe` are Windows' own whatever PATH holds.
fn system32(system_root: Option<std::ffi::OsString>) -> Option<PathBuf> {
    let root = system_root?;
    let text = root.to_str()?;
    // Windows' absolute forms (`C:\`, `\\server\`), read by hand so this is tested anywhere:
    // a relative SystemRoot would be a lookup in the current directory.
    let b = text.as_bytes();
    let drive =
        b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/');
    (drive || text.starts_with(r"\\")).then(|| PathBuf::from(&root).join("System32"))
}

/// The file names cmd.exe would try for `name`: the name itself if it already ends in
/// one of PATHEXT's extensions, else the name with each extension in PATHEXT's order.
/// Only the kinds a process can be started from (`.exe`, `.com`, `.bat`, `.cmd`) count:
/// a `.vbs` or `.ps1` needs its interpreter named in the recipe.
fn windows_names(name: &str, pathext: Option<&str>) -> Vec<String> {
    const STARTABLE: [&str; 4] = [".exe", ".com", ".bat", ".cmd"];
    let pathext = pathext
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(".COM;.EXE;.BAT;.CMD");
    let exts: Vec<&str> = pathext
        .split(';')
        .map(str::trim)
        .filter(|e| STARTABLE.iter().any(|s| s.eq_ignore_ascii_case(e)))
        .collect();
    let lower = name.to_ascii_lowercase();
    let has_ext = STARTABLE.iter().any(|s| lower.ends_with(s));
    if has_ext {
        vec![name.to_string()]
    } else {
        exts.iter().map(|e| format!("{name}{e}")).collect()
    }
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// The one place a process is started: by absolute path, found with
/// [`resolve_program`].
#[allow(clippy::disallowed_methods)]
pub fn program(name: &str) -> Result<Command> {
    Ok(Command::new(resolve_program(name)?))
}

/// A recipe step's program with its arguments, in `cwd`, reading nothing.
fn command(argv: &[String], cwd: &Path) -> Result<Command> {
    let mut c = program(&argv[0])?;
    c.args(&argv[1..]).current_dir(cwd).stdin(Stdio::null());
    Ok(c)
}

/// The argv for a message, long words (a whole SQL query) shortened.
fn shown(argv: &[String]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|w| match w.char_indices().nth(48) {
            Some((i, _)) => format!("{}…", &w[..i]),
            None => w.clone(),
        })
        .collect();
    words.join(" ")
}

/// A program's output as text. UTF-16LE, as wsl.exe writes its own messages unless
/// WSL_UTF8=1, is decoded; anything else is read as UTF-8.
pub fn decode_output(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return String::from_utf8_lossy(&decode_utf16_bom(bytes.to_vec())).into_owned();
    }
    let pairs = bytes.len() / 2;
    let high_zero = bytes.chunks_exact(2).filter(|c| c[1] == 0).count();
    let low_zero = bytes.chunks_exact(2).filter(|c| c[0] == 0).count();
    if bytes.len().is_multiple_of(2) && pairs > 0 && high_zero * 2 >= pairs && low_zero == 0 {
        let units = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        return char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// The last lines of what a program said on stderr, for the error message.
fn tail_of(text: &[u8]) -> String {
    let text = decode_output(text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(4);
    let tail = lines[start..].join(" / ");
    if tail.is_empty() {
        "it printed nothing on stderr".into()
    } else {
        tail
    }
}

/// A file's first [`TEXT_HEAD`] bytes, UTF-16 decoded when it starts with a BOM (as
/// `reg export` writes): what text checks and content checks match.
pub fn text_head(path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|f| f.take(TEXT_HEAD).read_to_end(&mut buf))
        .map_err(io("read", path))?;
    Ok(decode_utf16_bom(buf))
}

/// Bytes that start with a UTF-16 byte-order mark, as UTF-8; other bytes unchanged.
pub fn decode_utf16_bom(buf: Vec<u8>) -> Vec<u8> {
    let le = buf.starts_with(&[0xff, 0xfe]);
    let be = buf.starts_with(&[0xfe, 0xff]);
    if !le && !be {
        return buf;
    }
    let units = buf[2..].chunks_exact(2).map(|c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .into_bytes()
}

/// Does the text of `path` match `re` (a recipe regex, placeholders expanded)?
pub fn text_matches(path: &Path, re: &str, ph: &Placeholders) -> Result<bool, String> {
    let re = compile_bytes_regex(&ph.expand(re, true)).map_err(|e| e.to_string())?;
    let head = text_head(path).map_err(|e| e.to_string())?;
    Ok(re.is_match(&head))
}

/// What a recipe run needs besides the recipe.
#[derive(Debug)]
pub struct Runner<'a> {
    pub kind: &'a str,
    pub spec: &'a RecipeSpec,
    pub ph: Placeholders,
    pub cwd: PathBuf,
    /// What `record` printed at backup time, for `same_as_record` steps.
    pub recorded: Option<String>,
}

impl Runner<'_> {
    fn fail(&self, step: &[String], message: impl Into<String>) -> Error {
        Error::Recipe {
            kind: self.kind.to_string(),
            step: shown(step),
            message: message.into(),
        }
    }

    fn argv(&self, step: &RecipeStep) -> Vec<String> {
        step.run.iter().map(|w| self.ph.expand(w, false)).collect()
    }

    /// Run one step to its end, check its exit status and its output; returns stdout.
    pub fn run(&self, step: &RecipeStep) -> Result<String> {
        let mut stdout = String::new();
        if !step.run.is_empty() {
            let argv = self.argv(step);
            let mut cmd = command(&argv, &self.cwd)?;
            if let Some(input) = &step.stdin {
                let path = self.cwd.join(self.ph.expand(input, false));
                cmd.stdin(File::open(&path).map_err(io("open", &path))?);
            }
            let out = cmd
                .output()
                .map_err(|e| self.fail(&argv, format!("could not start: {e}")))?;
            if !out.status.success() {
                return Err(self.fail(
                    &argv,
                    format!("exited with {}: {}", out.status, tail_of(&out.stderr)),
                ));
            }
            stdout = decode_output(&out.stdout);
            if let Some(re) = &step.stdout {
                let re = compile_bytes_regex(&self.ph.expand(re, true))
                    .map_err(|e| self.fail(&argv, e.to_string()))?;
                if !re.is_match(stdout.as_bytes()) {
                    return Err(self.fail(
                        &argv,
                        format!(
                            "its output does not show what the recipe expects (`{}`): {}",
                            re.as_str(),
                            tail_of(stdout.as_bytes())
                        ),
                    ));
                }
            }
            if step.same_as_record && Some(stdout.trim()) != self.recorded.as_deref().map(str::trim)
            {
                return Err(self.fail(
                    &argv,
                    format!(
                        "its output differs from what was recorded at backup time: now `{}`, then `{}`",
                        stdout.trim().replace('\n', "; "),
                        self.recorded.as_deref().unwrap_or("").trim().replace('\n', "; ")
                    ),
                ));
            }
        }
        if let (Some(file), Some(text)) = (&step.file, &step.text) {
            let path = self.cwd.join(self.ph.expand(file, false));
            let ok = text_matches(&path, text, &self.ph)
                .map_err(|e| self.fail(&[path.display().to_string()], e))?;
            if !ok {
                return Err(self.fail(
                    &[path.display().to_string()],
                    format!("its text does not match `{}`", self.ph.expand(text, true)),
                ));
            }
        }
        Ok(stdout)
    }

    /// Run a probe (`restore_exists`, `restore_describe`): its output when the program
    /// exits 0 and the output matches the step's `stdout` regex, else `None`. Only a
    /// program that cannot be found or started is an error.
    pub fn probe(&self, step: &RecipeStep) -> Result<Option<String>> {
        if step.run.is_empty() {
            return Ok(None);
        }
        let argv = self.argv(step);
        let out = command(&argv, &self.cwd)?
            .output()
            .map_err(|e| self.fail(&argv, format!("could not start: {e}")))?;
        if !out.status.success() {
            return Ok(None);
        }
        let stdout = decode_output(&out.stdout);
        if let Some(re) = &step.stdout {
            let re = compile_bytes_regex(&self.ph.expand(re, true))
                .map_err(|e| self.fail(&argv, e.to_string()))?;
            if !re.is_match(stdout.as_bytes()) {
                return Ok(None);
            }
        }
        Ok(Some(stdout))
    }

    /// Run the recipe's `restore` steps in order. On failure, whether the first step
    /// (which creates the place) had succeeded, and the error.
    pub fn restore(&self) -> std::result::Result<(), (bool, Error)> {
        for (i, step) in self.spec.restore.iter().enumerate() {
            if let Err(e) = self.run(step) {
                return Err((i > 0, e));
            }
        }
        Ok(())
    }

    /// Run the recipe's `restore_remove` steps: what is at the place goes.
    pub fn remove_place(&self) -> Result<()> {
        self.spec
            .restore_remove
            .iter()
            .try_for_each(|s| self.run(s).map(drop))
    }

    /// Start the last backup step with its stdout piped to us; stderr goes to a file
    /// in the scratch directory so a long run cannot block on a full pipe.
    fn spawn_streaming(&self, step: &RecipeStep) -> Result<(Child, PathBuf, Vec<String>)> {
        let argv = self.argv(step);
        let err_path = self.cwd.join("stderr.log");
        let err = File::create(&err_path).map_err(io("create", &err_path))?;
        let child = command(&argv, &self.cwd)?
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| self.fail(&argv, format!("could not start: {e}")))?;
        Ok((child, err_path, argv))
    }
}

/// `io::copy` with a buffer big enough that a dump streams in few large writes.
fn copy_big(from: &mut impl Read, to: &mut impl io::Write) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// The result of a recipe's backup.
#[derive(Debug)]
pub struct Made {
    pub digest: Digest,
    /// Every copy, proven, in the order of the destinations.
    pub copies: Vec<Copy>,
    pub recorded: Option<String>,
}

/// Where a recipe's backup goes: every destination, under one name.
#[derive(Debug, Clone, Copy)]
pub struct Destinations<'a> {
    pub dests: &'a [Dest],
    pub name: &'a str,
    /// Seconds since the epoch, recorded as when remote copies were proven.
    pub now: u64,
}

/// Remove every copy made: a check that failed after they were written.
fn discard_all(copies: &[Copy]) {
    for c in copies {
        let _ = crate::dest::discard(c);
    }
}

/// A file to run a recipe's checks on: the first local copy, or else a remote copy
/// read back into the scratch directory (removed with it).
fn checkable(copies: &[Copy], scratch: &Path, ext: &str) -> Result<PathBuf> {
    if let Some(c) = copies.iter().find(|c| !c.is_remote()) {
        return Ok(c.path.clone());
    }
    let c = copies.first().ok_or(Error::Empty {
        path: scratch.to_path_buf(),
    })?;
    let path = scratch.join(format!("check.{ext}"));
    let mut from = crate::source::open_copy(c)?;
    let mut to = File::create(&path).map_err(io("create", &path))?;
    io::copy(&mut from, &mut to).map_err(io("write", &path))?;
    Ok(path)
}

/// A reader that reports how many bytes went through it.
pub struct Counted<'p, R> {
    pub inner: R,
    pub progress: &'p dyn Fn(u64),
}

impl<R> std::fmt::Debug for Counted<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counted")
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// Make a backup of `target` with the recipe, written to every destination:
/// record, run the backup steps, check the result, stream it once into all the
/// copies (which are re-read and verified). `scratch` is an empty private directory.
/// On any failure no copy is left behind.
pub fn backup(
    kind: &str,
    spec: &RecipeSpec,
    target: &str,
    scratch: &Path,
    to: Destinations,
    progress: &dyn Fn(u64),
) -> Result<Made> {
    let mut ph = Placeholders::new(target, spec.value);
    let out_name = format!("backup.{}", spec.extension);
    ph.set("out", &out_name);
    let mut runner = Runner {
        kind,
        spec,
        ph,
        cwd: scratch.to_path_buf(),
        recorded: None,
    };
    // Recorded before the backup so a restore test can compare against it.
    let recorded = match &spec.record {
        Some(step) => Some(runner.run(step)?),
        None => None,
    };
    runner.recorded.clone_from(&recorded);
    let (last, first) = spec
        .backup
        .split_last()
        .ok_or_else(|| runner.fail(&[], "the recipe has no backup step"))?;
    for step in first {
        runner.run(step)?;
    }
    let (digest, copies) = match spec.output {
        RecipeOutput::File => {
            runner.run(last)?;
            let out = scratch.join(&out_name);
            let meta = std::fs::metadata(&out).map_err(|_| {
                runner.fail(
                    &runner.argv(last),
                    format!("exited 0 but wrote no {out_name}"),
                )
            })?;
            if meta.len() == 0 {
                return Err(runner.fail(
                    &runner.argv(last),
                    format!("exited 0 but {out_name} is empty"),
                ));
            }
            for step in &spec.check {
                runner.run(step)?;
            }
            let f = File::open(&out).map_err(io("open", &out))?;
            let mut copies = Outgoing::start(to.dests, to.name)?;
            copies.fill_from(&mut Counted { inner: f, progress })?;
            copies.finish(to.now)?
        }
        RecipeOutput::Stdout => {
            let (mut child, err_path, argv) = runner.spawn_streaming(last)?;
            let mut copies = Outgoing::start(to.dests, to.name)?;
            let streamed = match child.stdout.take() {
                Some(out) => copy_big(
                    &mut Counted {
                        inner: out,
                        progress,
                    },
                    &mut copies,
                ),
                None => Err(io::Error::other("no stdout")),
            };
            let status = child
                .wait()
                .map_err(|e| runner.fail(&argv, e.to_string()))?;
            let stderr = std::fs::read(&err_path).unwrap_or_default();
            // A copy that could not be written stops the program too (a broken pipe):
            // the write error is the cause, so it is the one reported.
            streamed.map_err(|e| runner.fail(&argv, format!("writing the copies failed: {e}")))?;
            if !status.success() {
                return Err(
                    runner.fail(&argv, format!("exited with {status}: {}", tail_of(&stderr)))
                );
            }
            let (digest, made) = match copies.finish(to.now) {
                Err(Error::Empty { .. }) => {
                    return Err(runner.fail(&argv, "exited 0 but wrote nothing"));
                }
                other => other?,
            };
            // Checks read one copy, now proven identical to the others.
            let checked = checkable(&made, scratch, &spec.extension).and_then(|file| {
                runner.ph.set("out", &file.display().to_string());
                spec.check
                    .iter()
                    .try_for_each(|step| runner.run(step).map(drop))
            });
            if let Err(e) = checked {
                discard_all(&made);
                return Err(e);
            }
            (digest, made)
        }
    };
    Ok(Made {
        digest,
        copies,
        recorded,
    })
}

/// Prove a backup restores: `restored` is a fresh, verified copy of it inside
/// `scratch`. Cleanup steps run whatever happened; their failure is reported too.
pub fn restore_test(
    kind: &str,
    spec: &RecipeSpec,
    target: &str,
    recorded: Option<String>,
    scratch: &Path,
    restored_name: &str,
    scratch_name: &str,
) -> Result<()> {
    let mut ph = Placeholders::new(target, spec.value);
    ph.set("restored", restored_name);
    ph.set("scratch", scratch_name);
    let scratch_dir = scratch.join("scratch");
    std::fs::create_dir_all(&scratch_dir).map_err(io("create", &scratch_dir))?;
    ph.set("scratch_dir", &scratch_dir.display().to_string());
    let runner = Runner {
        kind,
        spec,
        ph,
        cwd: scratch.to_path_buf(),
        recorded,
    };
    if spec.restore_test.is_empty() {
        return Err(runner.fail(
            &[],
            "the recipe has no restore_test steps, so nothing can prove this backup restores",
        ));
    }
    let result = spec
        .restore_test
        .iter()
        .try_for_each(|s| runner.run(s).map(drop));
    let cleanup = spec
        .restore_cleanup
        .iter()
        .map(|s| runner.run(s))
        .find_map(|r| r.err());
    match (result, cleanup) {
        (Err(e), _) => Err(e),
        (Ok(()), Some(e)) => Err(Error::Recipe {
            kind: kind.to_string(),
            step: "restore_cleanup".into(),
            message: format!("the restore worked but its scratch was not removed: {e}"),
        }),
        (Ok(()), None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_word_by_word() {
        let mut p = Placeholders::new("app's db", RecipeValue::Name);
        p.set("out", "backup.sql");
        assert_eq!(p.expand("--dbname={target}", false), "--dbname=app's db");
        assert_eq!(p.expand("{{target}} {out}", false), "{target} backup.sql");
        assert_eq!(
            p.expand("^.{257}ustar {unknown}", false),
            "^.{257}ustar {unknown}"
        );
        assert_eq!(
            p.expand("Database: `{target}`", true),
            "Database: `app's db`"
        );
        let p = Placeholders::new("a.b", RecipeValue::Name);
        assert_eq!(p.expand("^{target}$", true), "^a\\.b$");
    }

    #[test]
    fn registry_keys_in_both_spellings() {
        assert_eq!(
            registry_long("HKCU\\Software\\Contoso"),
            "HKEY_CURRENT_USER\\Software\\Contoso"
        );
        assert_eq!(
            registry_long("hklm:\\SOFTWARE"),
            "HKEY_LOCAL_MACHINE\\SOFTWARE"
        );
        assert_eq!(registry_short("Registry::HKEY_USERS\\S-1\\"), "HKU\\S-1");
        assert_eq!(registry_short("HKCU"), "HKCU");
    }

    #[test]
    fn utf16_text_is_decoded_for_checks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.reg");
        let mut bytes = vec![0xff, 0xfe];
        for u in "Windows Registry Editor Version 5.00\r\n".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        std::fs::write(&p, bytes).unwrap();
        let ph = Placeholders::default();
        assert_eq!(
            text_matches(&p, "^Windows Registry Editor Version 5\\.00\\r?\\n", &ph),
            Ok(true)
        );
        assert_eq!(text_matches(&p, "^REGEDIT4", &ph), Ok(false));
    }

    #[test]
    fn utf16_output_is_decoded() {
        let mut bytes = Vec::new();
        for u in "Ubuntu\r\nDebian\r\n".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        assert_eq!(decode_output(&bytes), "Ubuntu\r\nDebian\r\n");
        assert_eq!(decode_output(b"plain\n"), "plain\n");
        assert_eq!(decode_output(b""), "");
    }

    #[test]
    fn relative_programs_are_refused() {
        assert!(resolve_program("./evil").is_err());
        assert!(resolve_program("no-such-program-backstop").is_err());
        assert!(resolve_program("sh").is_ok_and(|p| p.is_absolute()));
    }

    #[test]
    fn windows_names_follow_pathext() {
        let names = |n, p| windows_names(n, p);
        assert_eq!(
            names("wsl", Some(".COM;.EXE;.BAT;.CMD;.VBS;.JS;.MSC")),
            ["wsl.COM", "wsl.EXE", "wsl.BAT", "wsl.CMD"]
        );
        // A name that already has a startable extension is taken as given.
        assert_eq!(names("reg.exe", Some(".COM;.EXE")), ["reg.exe"]);
        assert_eq!(names("Backup.CMD", None), ["Backup.CMD"]);
        // Unset, empty or odd PATHEXT: cmd.exe's default, blanks and non-programs dropped.
        assert_eq!(
            names("reg", None),
            ["reg.COM", "reg.EXE", "reg.BAT", "reg.CMD"]
        );
        assert_eq!(names("reg", Some("  ")), names("reg", None));
        assert_eq!(names("reg", Some(";.exe; ;.ps1;.py")), ["reg.exe"]);
        // `pg_dump.old` is not an extension PATHEXT knows: the extensions are added.
        assert_eq!(names("pg_dump.old", Some(".EXE")), ["pg_dump.old.EXE"]);
    }

    #[test]
    fn system32_comes_from_an_absolute_system_root() {
        assert_eq!(
            system32(Some(r"C:\Windows".into())),
            Some(PathBuf::from(r"C:\Windows").join("System32"))
        );
        assert_eq!(system32(Some("Windows".into())), None);
        assert_eq!(system32(Some("".into())), None);
        assert_eq!(system32(None), None);
    }

    #[test]
    fn programs_are_found_directory_by_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let (sys, user) = (tmp.path().join("System32"), tmp.path().join("bin"));
        std::fs::create_dir_all(&sys).unwrap();
        std::fs::create_dir_all(&user).unwrap();
        // A wsl.BAT on the user's PATH loses to System32's wsl.EXE, searched first;
        // within one directory PATHEXT's order decides.
        std::fs::write(sys.join("wsl.EXE"), b"").unwrap();
        std::fs::write(user.join("wsl.BAT"), b"").unwrap();
        std::fs::write(user.join("reg.CMD"), b"").unwrap();
        std::fs::write(user.join("reg.EXE"), b"").unwrap();
        let dirs = [sys.clone(), user.clone()];
        let pathext = Some(".COM;.EXE;.BAT;.CMD");
        let find = |n| find_program(&dirs, &windows_names(n, pathext), |p: &Path| p.is_file());
        assert_eq!(find("wsl"), Some(sys.join("wsl.EXE")));
        assert_eq!(find("reg"), Some(user.join("reg.EXE")));
        assert_eq!(find("pg_dump"), None);
    }
}
