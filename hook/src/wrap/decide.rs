//! Deciding what a submitted line will make the client do: each [`Check`] is
//! evaluated by the engine as the one-shot command line it stands for, with the same
//! backup oracle, audit log and approval question as `backstop hook`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use backstop_rules::{Decision, Dialect, Evaluation};

use super::client::Check;
use crate::cmd::hook::{self, Who};
use crate::cmd::LineInput;
use crate::config::Dirs;
use crate::style::{paint, ASK, HINT, REFUSED};
use crate::tty::{self, Answer};

/// What to do with a submitted line.
#[derive(Debug)]
pub enum Verdict {
    /// Nothing destructive: the line goes to the client untouched.
    Allow,
    /// Refused; the text says why and what to do (lines end in `\n`).
    Deny(String),
    /// A person must approve each of these first.
    Ask(Vec<(String, Evaluation)>),
}

/// The longest `\gexec` query backstop runs (read-only) to see what it generates.
const GEXEC_WITHIN: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Decider {
    pub dirs: Dirs,
    pub who: Who,
    /// The client program, by absolute path (`\gexec` runs it once more, read-only).
    pub program: PathBuf,
}

impl Decider {
    /// Decide the checks one submitted line gives; `typed` is that line, for messages.
    pub fn decide(&self, typed: &str, checks: &[Check], cwd: &Path) -> Result<Verdict> {
        let mut asks = Vec::new();
        let mut lines = Vec::new();
        for check in checks {
            match check {
                Check::Line(l) => lines.push(l.clone()),
                Check::Refuse(why) => {
                    hook::log(&self.dirs, &self.who, "deny", typed, None, why);
                    return Ok(Verdict::Deny(format!(
                        "backstop: {} `{}`\n  {why}\n",
                        paint(REFUSED, "refused"),
                        one_line(typed)
                    )));
                }
                Check::Gexec { conn, query } => match self.gexec(conn, query, cwd) {
                    Ok(generated) => lines.extend(generated),
                    Err(why) => {
                        let why = format!(
                            "\\gexec runs each value its query returns as a statement; backstop ran the query read-only first to see them, and {why}"
                        );
                        hook::log(&self.dirs, &self.who, "deny", typed, None, &why);
                        return Ok(Verdict::Deny(format!(
                            "backstop: {} `{}`\n  {why}\n",
                            paint(REFUSED, "refused"),
                            one_line(typed)
                        )));
                    }
                },
            }
        }
        for line in lines {
            let input = LineInput {
                line: line.clone(),
                dialect: Dialect::Bash,
                cwd: Some(cwd.to_path_buf()),
                home: crate::config::home_dir(),
            };
            let oracle = crate::backups::ManifestOracle::new(self.dirs.clone());
            let eval = input.evaluate_with(&self.dirs, &oracle)?;
            match eval.decision {
                Decision::Allow => {}
                Decision::Deny => {
                    hook::log(&self.dirs, &self.who, "deny", &line, Some(&eval), "");
                    return Ok(Verdict::Deny(self.refusal(typed, &eval)));
                }
                Decision::Ask => asks.push((line, eval)),
            }
        }
        Ok(if asks.is_empty() {
            Verdict::Allow
        } else {
            Verdict::Ask(asks)
        })
    }

    /// The refusal: what matched, and how to go ahead.
    fn refusal(&self, typed: &str, eval: &Evaluation) -> String {
        let mut text = format!(
            "backstop: {} `{}`\n{}",
            paint(REFUSED, "refused"),
            one_line(typed),
            hook::describe(eval, &self.dirs, false)
        );
        if let Some(remedy) = crate::report::remedy(eval) {
            text.push_str(&format!(
                "  to go ahead: {}\n  (from another terminal; then submit the statement here again)\n",
                paint(HINT, remedy)
            ));
        }
        // Backing up from here, without leaving the client (the shell hook's "type
        // BACKUP to back up now" once destinations are configured), belongs here.
        text
    }

    /// Ask the person at the terminal to approve each evaluation; all must be.
    pub fn ask(&self, asks: &[(String, Evaluation)]) -> Result<(), String> {
        for (line, eval) in asks {
            hook::log(&self.dirs, &self.who, "ask", line, Some(eval), "");
            let phrase = hook::phrase(eval);
            let question = format!(
                "backstop: `{}` {}\n{}backstop: type {} to run it (anything else refuses): ",
                one_line(line),
                paint(ASK, "needs your approval"),
                hook::describe(eval, &self.dirs, true),
                paint(ASK, &phrase)
            );
            match tty::ask(&question, &phrase, hook::answer_within()) {
                Answer::Approved => {
                    hook::log(&self.dirs, &self.who, "approved", line, Some(eval), "");
                }
                Answer::Refused(why) => {
                    hook::log(&self.dirs, &self.who, "refused", line, Some(eval), &why);
                    return Err(why);
                }
                Answer::NoTerminal => {
                    let why = "there is no terminal to ask on".to_string();
                    hook::log(&self.dirs, &self.who, "refused", line, Some(eval), &why);
                    return Err(why);
                }
            }
        }
        Ok(())
    }

    /// Records that each of `asks` goes ahead on the approval in audit record `seq`,
    /// given at the shell's prompt (which this record uses up).
    pub fn approved_at_the_prompt(&self, asks: &[(String, Evaluation)], seq: u64) {
        for (line, eval) in asks {
            hook::log(
                &self.dirs,
                &self.who,
                "approved",
                line,
                Some(eval),
                &super::approval::detail(seq),
            );
        }
    }

    /// Run a `\gexec` query read-only (every transaction of the session read-only),
    /// and return the statements it generates as one-shot psql lines.
    fn gexec(&self, conn: &[String], query: &str, cwd: &Path) -> Result<Vec<String>, String> {
        let mut argv: Vec<String> = vec![
            "-X".into(),
            "-q".into(),
            "-A".into(),
            "-t".into(),
            "-z".into(),
            "-0".into(),
            "-v".into(),
            "ON_ERROR_STOP=1".into(),
            "-c".into(),
            "SET default_transaction_read_only = on".into(),
            "-c".into(),
            query.trim_end().trim_end_matches(';').to_string(),
        ];
        argv.splice(0..0, conn.iter().cloned());
        let db = conn
            .iter()
            .position(|w| w == "-d")
            .and_then(|i| conn.get(i + 1))
            .cloned()
            .unwrap_or_else(|| "postgres".into());
        let output = run_with_deadline(&self.program, &argv, cwd, GEXEC_WITHIN)?;
        if !output.status.success() {
            let err = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "it failed ({}), so what it would run is not known",
                err.lines().last().unwrap_or("no message").trim()
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|stmt| {
                format!(
                    "psql -d {} -c {}",
                    super::client::sq(&db),
                    super::client::sq(stmt)
                )
            })
            .collect())
    }
}

/// A command by absolute path, killed if it outlives `within`.
#[allow(clippy::disallowed_methods)] // `program` is the client already resolved to an absolute path
fn run_with_deadline(
    program: &Path,
    argv: &[String],
    cwd: &Path,
    within: Duration,
) -> Result<std::process::Output, String> {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(argv)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("it could not be started ({e})"))?;
    // Read both pipes while waiting, so a large result cannot stall the query.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = std::time::Instant::now() + within;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("it did not finish within {}s", within.as_secs()));
            }
        }
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// A statement on one line, for a message.
pub fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &joined[..i]),
        None => joined,
    }
}
