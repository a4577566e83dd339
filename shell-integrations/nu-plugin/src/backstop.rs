//! Asking the `backstop` binary for a decision: where it is, how it is run, and its
//! JSON as nu values.
//!
//! The plugin runs the binary rather than linking the rule engine: the binary owns
//! the policy layers (system, user, repository), the recipes and the backup
//! manifests, so the answer here cannot drift from the one `backstop hook` gives.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nu_protocol::{Record, Span, Value};

/// What to decide, and the environment it is decided in (nu's, not the plugin
/// process's, which is fixed when nushell starts the plugin).
#[derive(Debug, Clone)]
pub struct Request {
    pub line: String,
    pub shell: String,
    pub cwd: PathBuf,
    pub env: Vec<(String, OsString)>,
}

/// Why no decision came back.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot find the `backstop` program next to this plugin or in an absolute directory of $env.PATH")]
    NotFound,
    #[error("cannot run {bin}: {source}")]
    Spawn {
        bin: PathBuf,
        source: std::io::Error,
    },
    #[error("{bin} could not decide (exit status {status}): {stderr}")]
    Failed {
        bin: PathBuf,
        status: String,
        stderr: String,
    },
    #[error("{bin} printed something other than its JSON decision: {source}")]
    BadJson {
        bin: PathBuf,
        source: serde_json::Error,
    },
}

const PROGRAM: &str = if cfg!(windows) {
    "backstop.exe"
} else {
    "backstop"
};

/// The `backstop` binary: beside the plugin (both are installed together), else
/// the first absolute directory of `path` that has it. Relative entries are skipped
/// so that a checked-out repository cannot put its own `backstop` in the way.
pub fn find_binary(plugin_exe: Option<&Path>, path: Option<&OsStr>) -> Option<PathBuf> {
    let beside = plugin_exe
        .and_then(Path::parent)
        .map(|dir| dir.join(PROGRAM));
    let on_path = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(PROGRAM));
    beside.into_iter().chain(on_path).find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Runs `bin check --json` on the request and returns its JSON decision.
pub fn check(bin: &Path, req: &Request) -> Result<serde_json::Value, CheckError> {
    // `bin` is an absolute path from find_binary, never a bare name, and stdin and
    // stdout are nushell's plugin protocol, so the child must not inherit them.
    #[allow(clippy::disallowed_methods)]
    let mut cmd = Command::new(bin);
    cmd.args(["check", "--json", "--shell", &req.shell, "--cwd"])
        .arg(&req.cwd)
        .arg("--")
        .arg(&req.line)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    let out = cmd.output().map_err(|source| CheckError::Spawn {
        bin: bin.to_path_buf(),
        source,
    })?;
    // check's decisions are its exit codes 0 allow, 1 ask, 2 deny; anything else failed.
    if !matches!(out.status.code(), Some(0..=2)) {
        return Err(CheckError::Failed {
            bin: bin.to_path_buf(),
            status: out
                .status
                .code()
                .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string()),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|source| CheckError::BadJson {
        bin: bin.to_path_buf(),
        source,
    })
}

/// nu's environment as a child process sees it: strings as they are, lists (PATH
/// and friends) joined with the platform's separator, everything else left out.
pub fn env_for_child(vars: impl IntoIterator<Item = (String, Value)>) -> Vec<(String, OsString)> {
    vars.into_iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String { val, .. } => OsString::from(val),
                Value::List { vals, .. } => {
                    let parts: Vec<String> = vals
                        .iter()
                        .filter_map(|p| p.as_str().ok().map(str::to_string))
                        .collect();
                    std::env::join_paths(parts).ok()?
                }
                _ => return None,
            };
            Some((k, text))
        })
        .collect()
}

/// JSON as nu values: objects become records, arrays lists, null nothing.
pub fn json_to_value(json: &serde_json::Value, span: Span) -> Value {
    match json {
        serde_json::Value::Null => Value::nothing(span),
        serde_json::Value::Bool(b) => Value::bool(*b, span),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::int(i, span),
            None => Value::float(n.as_f64().unwrap_or(f64::NAN), span),
        },
        serde_json::Value::String(s) => Value::string(s.clone(), span),
        serde_json::Value::Array(items) => {
            Value::list(items.iter().map(|i| json_to_value(i, span)).collect(), span)
        }
        serde_json::Value::Object(map) => {
            let mut record = Record::new();
            for (k, v) in map {
                record.push(k.clone(), json_to_value(v, span));
            }
            Value::record(record, span)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_shape() {
        let json = serde_json::json!({
            "decision": "deny",
            "remedy": null,
            "incomplete": false,
            "rules": [{ "id": "fs.rm-recursive", "n": 3, "big": u64::MAX }],
        });
        let v = json_to_value(&json, Span::test_data());
        let r = v.as_record().unwrap();
        assert_eq!(r.get("decision").unwrap().as_str().unwrap(), "deny");
        assert!(r.get("remedy").unwrap().is_nothing());
        assert!(!r.get("incomplete").unwrap().as_bool().unwrap());
        let rules = r.get("rules").unwrap().as_list().unwrap();
        let rule = rules[0].as_record().unwrap();
        assert_eq!(rule.get("id").unwrap().as_str().unwrap(), "fs.rm-recursive");
        assert_eq!(rule.get("n").unwrap().as_int().unwrap(), 3);
        // Beyond i64 a number is still a number, not an error.
        assert!(rule.get("big").unwrap().as_float().unwrap() > 1e19);
    }

    #[test]
    fn lists_in_the_environment_join_like_path() {
        let s = Span::test_data();
        let env = env_for_child([
            ("HOME".to_string(), Value::string("/home/ada", s)),
            (
                "PATH".to_string(),
                Value::list(
                    vec![Value::string("/usr/bin", s), Value::string("/bin", s)],
                    s,
                ),
            ),
            ("N".to_string(), Value::int(1, s)),
        ]);
        assert_eq!(
            env,
            vec![
                ("HOME".to_string(), OsString::from("/home/ada")),
                ("PATH".to_string(), OsString::from("/usr/bin:/bin")),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_binary_is_found_beside_the_plugin_then_on_absolute_path_entries_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let (beside, on_path, relative) = (root.join("a"), root.join("b"), root.join("c"));
        for d in [&beside, &on_path, &relative] {
            std::fs::create_dir(d).unwrap();
        }
        let make = |dir: &Path, mode: u32| {
            let p = dir.join(PROGRAM);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let plugin = beside.join("nu_plugin_backstop");
        let path = std::env::join_paths([on_path.as_path()]).unwrap();

        assert_eq!(find_binary(Some(&plugin), Some(&path)), None);
        let found = make(&on_path, 0o755);
        assert_eq!(find_binary(Some(&plugin), Some(&path)), Some(found));
        let preferred = make(&beside, 0o755);
        assert_eq!(find_binary(Some(&plugin), Some(&path)), Some(preferred));

        // A relative PATH entry is never searched, even when it has the program.
        make(&relative, 0o755);
        let before = std::env::current_dir().unwrap();
        std::env::set_current_dir(root).unwrap();
        let found_relative = find_binary(None, Some(OsStr::new("c")));
        std::env::set_current_dir(before).unwrap();
        assert_eq!(found_relative, None);
        // A file without execute permission is not a program.
        let not_exec = root.join("d");
        std::fs::create_dir(&not_exec).unwrap();
        make(&not_exec, 0o644);
        assert_eq!(find_binary(None, Some(not_exec.as_os_str())), None);
    }
}
