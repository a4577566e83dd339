//! `backstop wrap CLIENT [ARGS…]`: psql, mysql/mariadb, sqlite3, redis-cli and
//! mongosh behind backstop. The client runs in a pseudo-terminal ([`proxy`]) and
//! looks and behaves as it does alone; each line the person submits is read back
//! from the client's screen ([`screen`]), followed through the client's own rules
//! ([`client`]) and decided by the engine ([`decide`]) before the client gets it.
//!
//! Before the client starts, its own arguments are decided as `backstop check`
//! decides them (`psql -c …`, `-f FILE`). When standard input is not a terminal the
//! whole input is decided first, as `check` decides a client's stdin, and the client
//! is not started if it is refused: a pipe cannot feed a session past backstop.

pub mod approval;
pub mod client;
pub mod decide;
#[cfg(unix)]
pub mod fence;
#[cfg(target_os = "linux")]
pub mod procfs;
#[cfg(unix)]
mod proxy;
#[cfg(unix)]
pub mod screen;

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;

use anyhow::{anyhow, Context as _, Result};

use crate::cli::WrapArgs;
use crate::cmd::hook::Who;
use crate::config::Dirs;
use client::{sq, Check, Kind, Session};
use decide::{Decider, Verdict};

/// Piped input larger than this is refused: it would not be decided whole.
const MAX_PIPED: u64 = 16 * 1024 * 1024;

pub fn run(a: &WrapArgs) -> Result<ExitCode> {
    let kind = Kind::of_program(&a.client).ok_or_else(|| {
        anyhow!(
            "backstop wrap knows psql, mysql, mariadb, sqlite3, redis-cli and mongosh; `{}` is none of them",
            a.client
        )
    })?;
    let program = backstop_backup::recipe::resolve_program(&a.client)
        .with_context(|| format!("cannot run {}", a.client))?;
    let dirs = Dirs::discover()?;
    let cwd = std::env::current_dir().context("the current directory is not readable")?;
    let decider = Decider {
        dirs,
        who: Who {
            source: format!("wrap:{}", kind.program()),
            session: std::process::id().to_string(),
        },
        program: program.clone(),
    };
    let session = Session::new(kind, &a.args, cwd.clone());
    let mut argline = kind.program().to_string();
    for arg in &a.args {
        argline.push(' ');
        argline.push_str(&sq(arg));
    }
    let piped = !std::io::stdin().is_terminal();
    let input = if piped { Some(read_piped()?) } else { None };
    let mut checks = Vec::new();
    match &input {
        // As `check` decides `CLIENT ARGS <<EOF`, and statement by statement as the
        // client will run them (following `\i`, `\c`, `source`, `.read`).
        Some(text) => {
            checks.push(Check::Line(heredoc(&argline, text)));
            checks.extend(session.clone().submit_all(text));
        }
        None => checks.push(Check::Line(argline.clone())),
    }
    match decider.decide(&argline, &checks, &cwd)? {
        Verdict::Allow => {}
        Verdict::Deny(text) => {
            crate::style::eprint(&text);
            if piped {
                eprintln!("backstop: {} was not started", kind.program());
            }
            return Ok(ExitCode::from(crate::cmd::hook::EXIT_DENIED));
        }
        Verdict::Ask(asks) => {
            // Asked and answered at the shell's prompt a moment ago: not asked again.
            let at_prompt = if piped {
                None
            } else {
                approval::at_the_prompt(&decider.dirs, &asks)
            };
            if let Some(seq) = at_prompt {
                decider.approved_at_the_prompt(&asks, seq);
            } else if let Err(why) = decider.ask(&asks) {
                eprintln!(
                    "backstop: not approved ({why}); {} was not started",
                    kind.program()
                );
                return Ok(ExitCode::from(crate::cmd::hook::EXIT_REFUSED));
            }
        }
    }
    match input {
        Some(text) => run_piped(&program, &a.args, &cwd, text.into_bytes()),
        None => interactive(kind, session, decider, &program, &a.args),
    }
}

#[cfg(unix)]
fn interactive(
    kind: Kind,
    session: Session,
    decider: Decider,
    program: &std::path::Path,
    args: &[String],
) -> Result<ExitCode> {
    proxy::run(kind, session, decider, program, args).map(ExitCode::from)
}

#[cfg(not(unix))]
fn interactive(
    _kind: Kind,
    _session: Session,
    _decider: Decider,
    _program: &std::path::Path,
    _args: &[String],
) -> Result<ExitCode> {
    anyhow::bail!(
        "backstop wrap needs a unix pseudo-terminal for an interactive session; on this system only piped input can be decided (`… | backstop wrap CLIENT …`)"
    )
}

fn read_piped() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_PIPED + 1)
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    if bytes.len() as u64 > MAX_PIPED {
        anyhow::bail!(
            "standard input is larger than {} MiB; backstop does not pass on what it cannot decide whole",
            MAX_PIPED / (1024 * 1024)
        );
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `CLIENT ARGS <<'DELIM' … DELIM`, with a delimiter the text does not hold.
fn heredoc(argline: &str, text: &str) -> String {
    let mut delim = String::from("BACKSTOP_INPUT");
    while text.lines().any(|l| l == delim) {
        delim.push('_');
    }
    format!("{argline} <<'{delim}'\n{text}\n{delim}")
}

/// The client, fed the input that was decided.
#[allow(clippy::disallowed_methods)] // `program` was resolved to an absolute path
fn run_piped(
    program: &std::path::Path,
    args: &[String],
    cwd: &std::path::Path,
    input: Vec<u8>,
) -> Result<ExitCode> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let status = child.wait()?;
    Ok(ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredocs_end_on_a_line_the_input_does_not_hold() {
        assert_eq!(
            heredoc("psql app", "SELECT 1;"),
            "psql app <<'BACKSTOP_INPUT'\nSELECT 1;\nBACKSTOP_INPUT"
        );
        assert!(heredoc("psql", "BACKSTOP_INPUT").ends_with("\nBACKSTOP_INPUT_"));
    }
}
