//! `backstop scan`: what backstop would have stopped in a shell history.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use backstop_rules::{Context, Decision, NoBackups, NoFacts, NoFiles};

use crate::cli::ScanArgs;
use crate::cmd::parse_dialect;
use crate::config::{self, Dirs};

/// One history entry and the line of the file it starts on.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub line_no: usize,
    pub command: String,
}

/// Split a history file into commands, recognising bash (with or without `#epoch`
/// timestamps), zsh extended history (`: epoch:elapsed;cmd`, `\` continuations) and
/// fish (`- cmd: …` with `\n` escapes).
pub fn entries(text: &str) -> Vec<Entry> {
    let lines: Vec<&str> = text.lines().collect();
    let fish = lines.iter().any(|l| l.starts_with("- cmd: "));
    let zsh = !fish && lines.iter().any(|l| is_zsh_header(l));
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let start = i + 1;
        i += 1;
        if fish {
            if let Some(cmd) = line.strip_prefix("- cmd: ") {
                out.push(Entry {
                    line_no: start,
                    command: unescape_fish(cmd),
                });
            }
            continue;
        }
        let mut cmd = if zsh {
            match zsh_command(line) {
                Some(c) => c.to_string(),
                None => line.to_string(),
            }
        } else {
            if line.starts_with('#')
                && line[1..].chars().all(|c| c.is_ascii_digit())
                && line.len() > 1
            {
                continue;
            }
            line.to_string()
        };
        if zsh {
            // zsh writes a newline inside a command as `\` at the end of the line.
            while cmd.ends_with('\\') && i < lines.len() && !is_zsh_header(lines[i]) {
                cmd.pop();
                cmd.push('\n');
                cmd.push_str(lines[i]);
                i += 1;
            }
        }
        if !cmd.trim().is_empty() {
            out.push(Entry {
                line_no: start,
                command: cmd,
            });
        }
    }
    out
}

fn is_zsh_header(l: &str) -> bool {
    zsh_command(l).is_some()
}

fn zsh_command(l: &str) -> Option<&str> {
    let rest = l.strip_prefix(": ")?;
    let (stamp, cmd) = rest.split_once(';')?;
    let (epoch, elapsed) = stamp.split_once(':')?;
    (epoch.chars().all(|c| c.is_ascii_digit()) && elapsed.chars().all(|c| c.is_ascii_digit()))
        .then_some(cmd)
}

fn unescape_fish(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn run(a: &ScanArgs) -> Result<ExitCode> {
    let dialect = parse_dialect(&a.shell)?;
    let mut bytes = Vec::new();
    match a.file.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            bytes = std::fs::read(path)
                .with_context(|| format!("cannot read history file {}", path.display()))?;
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
        }
    }
    // Histories hold the odd byte that is not UTF-8 (zsh metafies some); keep going.
    let text = String::from_utf8_lossy(&bytes);
    let dirs = Dirs::discover()?;
    let cwd = std::env::current_dir().ok();
    let engine = config::engine(&dirs, cwd.as_deref())?;
    let home = config::home_dir();
    let ctx = Context {
        dialect,
        cwd: None,
        home: home.as_deref(),
        backups: &NoBackups,
        // A history line ran long ago: today's copy of a SQL file is not what it ran.
        files: &NoFiles,
        // Nor is today's filesystem what it ran on: every target counts as precious.
        facts: &NoFacts,
    };
    let (mut denied, mut asked, mut total) = (0usize, 0usize, 0usize);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for e in entries(&text) {
        total += 1;
        let eval = engine.evaluate(&e.command, &ctx)?;
        match eval.decision {
            Decision::Allow => continue,
            Decision::Ask => asked += 1,
            Decision::Deny => denied += 1,
        }
        let ids: Vec<&str> = eval.findings.iter().map(|f| f.id.as_str()).collect();
        if a.json {
            let v = serde_json::json!({ "line": e.line_no, "decision": eval.decision, "rules": ids, "command": e.command });
            writeln!(out, "{v}")?;
        } else {
            let shown = e.command.replace('\n', "⏎");
            writeln!(
                out,
                "{:>6}  {:<5} {:<40} {}",
                e.line_no,
                eval.decision.name(),
                ids.join(","),
                shown
            )?;
        }
    }
    writeln!(
        out,
        "scanned {total} commands: {denied} would be denied, {asked} would need approval, {} allowed",
        total - denied - asked
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(text: &str) -> Vec<String> {
        entries(text).into_iter().map(|e| e.command).collect()
    }

    #[test]
    fn bash_with_timestamps() {
        assert_eq!(
            cmds("#1700000000\nls\n#1700000001\nrm -rf x\n"),
            vec!["ls", "rm -rf x"]
        );
    }

    #[test]
    fn zsh_extended_with_continuation() {
        let t = ": 1700000000:0;ls\n: 1700000001:3;for f in a; do\\\nrm $f\\\ndone\n";
        assert_eq!(cmds(t), vec!["ls", "for f in a; do\nrm $f\ndone"]);
    }

    #[test]
    fn fish_history() {
        let t = "- cmd: ls\n  when: 1700000000\n- cmd: echo a\\nrm -rf x\n  when: 1700000001\n  paths:\n    - x\n";
        assert_eq!(cmds(t), vec!["ls", "echo a\nrm -rf x"]);
        assert_eq!(entries(t)[1].line_no, 3);
    }
}
