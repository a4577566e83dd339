//! PowerShell: none can be installed where backstop is tested, so its integration is
//! checked by the tree-sitter-powershell grammar and by its rendering, never run.
//! What these tests cannot show is listed in the README ("PowerShell").

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tree_sitter::{Node, Parser, Tree};

const BIN: &str = env!("CARGO_BIN_EXE_backstop");

/// The characters PowerShell opens and closes a verbatim string with: the ASCII
/// quote and four typographic ones (its tokenizer's `IsSingleQuote`).
const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201a}', '\u{201b}'];

fn backstop(bin: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("BACKSTOP_HOME", home)
        .stdin(Stdio::null())
        .output()
        .expect("the backstop binary runs")
}

/// `backstop init powershell` as the profile runs it.
fn render(bin: &Path, home: &Path) -> String {
    let out = backstop(bin, home, &["init", "powershell"]);
    assert!(
        out.status.success(),
        "init powershell failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the script is UTF-8")
}

fn parse(src: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    parser.parse(src, None).expect("the parser returns a tree")
}

fn text<'a>(node: Node, src: &'a str) -> &'a str {
    &src[node.byte_range()]
}

/// Every ERROR and MISSING node, as `line:column kind: text…`, for the failure message.
pub(crate) fn problems(src: &str) -> Vec<String> {
    let tree = parse(src);
    let mut found = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let p = node.start_position();
            let snippet: String = text(node, src).chars().take(60).collect();
            found.push(format!(
                "{}:{} {}: {snippet:?}",
                p.row + 1,
                p.column + 1,
                if node.is_missing() {
                    "MISSING"
                } else {
                    "ERROR"
                }
            ));
        }
        stack.extend((0..node.child_count() as u32).filter_map(|i| node.child(i)));
    }
    found
}

/// The statements of the function named `name` (e.g. `global:prompt`), comments left out.
fn function_statements<'t>(tree: &'t Tree, src: &str, name: &str) -> Vec<Node<'t>> {
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let named = |kind: &str| {
            (0..node.named_child_count() as u32)
                .filter_map(|i| node.named_child(i))
                .find(|c| c.kind() == kind)
        };
        if node.kind() == "function_statement"
            && named("function_name").is_some_and(|n| text(n, src).eq_ignore_ascii_case(name))
        {
            let list = named("script_block")
                .and_then(|b| b.child_by_field_name("script_block_body"))
                .and_then(|b| b.child_by_field_name("statement_list"))
                .unwrap_or_else(|| panic!("function {name} has a body"));
            return (0..list.named_child_count() as u32)
                .filter_map(|i| list.named_child(i))
                .filter(|s| s.kind() != "comment")
                .collect();
        }
        stack.extend((0..node.child_count() as u32).filter_map(|i| node.child(i)));
    }
    panic!("the script defines no function {name}");
}

/// The value of the PowerShell verbatim string that `literal` starts with, and what
/// follows it; `None` when it does not start with one or never closes.
fn verbatim(literal: &str) -> Option<(String, &str)> {
    let mut chars = literal.char_indices().peekable();
    let (_, open) = chars.next()?;
    if !SINGLE_QUOTES.contains(&open) {
        return None;
    }
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        if !SINGLE_QUOTES.contains(&c) {
            value.push(c);
            continue;
        }
        // Two quote characters in a row stand for the second one.
        match chars.peek() {
            Some(&(_, next)) if SINGLE_QUOTES.contains(&next) => {
                value.push(next);
                chars.next();
            }
            _ => return Some((value, &literal[i + c.len_utf8()..])),
        }
    }
    None
}

/// Each string the script assigns to `key` (`Bin`, `Pending`), decoded as PowerShell would.
fn assigned(script: &str, key: &str) -> Vec<String> {
    let values: Vec<String> = script
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rhs = l
                .strip_prefix(&format!("{key} = "))
                .or_else(|| l.split_once(&format!(".{key} = ")).map(|(_, r)| r))?;
            let (value, rest) =
                verbatim(rhs).unwrap_or_else(|| panic!("not a closed verbatim string: {l}"));
            assert_eq!(rest.trim(), "", "text after the string: {l}");
            Some(value)
        })
        .collect();
    assert_eq!(
        values.len(),
        2,
        "{key} is set on a first and on a repeated load"
    );
    values
}

/// The argument strings the script gives backstop, `$PID` and the status filled in.
fn hook_arguments(script: &str) -> Vec<Vec<String>> {
    script
        .match_indices("\"hook ")
        .map(|(at, _)| {
            let rest = &script[at + 1..];
            let end = rest.find('"').expect("the argument string closes");
            rest[..end]
                .replace("$PID", "4242")
                .replace("$backstopStatus", "1")
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// A directory whose name has `quote` in it, holding a link to (or copy of) the binary.
fn binary_under(quote: char) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let sub = dir.path().join(format!("it{quote}s a {quote}dir"));
    std::fs::create_dir(&sub).expect("mkdir");
    let bin = sub.join("backstop");
    if std::fs::hard_link(BIN, &bin).is_err() {
        std::fs::copy(BIN, &bin).expect("copy the binary");
    }
    (dir, bin)
}

#[test]
fn the_rendered_script_parses_and_has_no_placeholders_left() {
    let home = tempfile::tempdir().expect("tmp");
    let script = render(Path::new(BIN), home.path());
    assert!(
        !script.contains("@BACKSTOP_"),
        "a placeholder is left:\n{script}"
    );
    assert_eq!(problems(&script), Vec::<String>::new(), "{script}");
    // The values are there, not just gone.
    let bin = std::fs::canonicalize(BIN).expect("canonical binary path");
    assert_eq!(assigned(&script, "Bin"), vec![bin.display().to_string(); 2]);
    let pending = home.path().join("data").join("pending");
    assert_eq!(
        assigned(&script, "Pending"),
        vec![pending.display().to_string(); 2]
    );
}

#[test]
fn the_grammar_finds_the_mistakes_it_is_trusted_to_find() {
    let home = tempfile::tempdir().expect("tmp");
    let good = render(Path::new(BIN), home.path());
    let breakages: [(&str, &str, &str); 5] = [
        ("an unclosed string", "return ''", "return '"),
        ("an unclosed block", "\n}\n", "\n\n"),
        (
            "a missing parenthesis",
            "if ($backstopStatus -eq 0) {",
            "if ($backstopStatus -eq 0 {",
        ),
        (
            "a function without its brace",
            "function global:prompt {",
            "function global:prompt",
        ),
        (
            "a stray parenthesis",
            "[int]$process.ExitCode",
            "[int]$process.ExitCode)",
        ),
    ];
    for (what, from, to) in breakages {
        assert!(
            good.contains(from),
            "{what}: the script no longer has {from:?}"
        );
        let broken = good.replacen(from, to, 1);
        assert!(!problems(&broken).is_empty(), "{what} went unnoticed");
    }
}

#[test]
fn a_binary_path_with_a_quote_is_one_powershell_string() {
    let (_dir, bin) = binary_under('\'');
    let home = tempfile::tempdir().expect("tmp");
    let home = home.path().join("o'brien");
    std::fs::create_dir(&home).expect("mkdir");
    let script = render(&bin, &home);
    assert!(
        script.contains("''s a ''dir"),
        "the quote is doubled:\n{script}"
    );
    assert_eq!(problems(&script), Vec::<String>::new(), "{script}");
    let bin = std::fs::canonicalize(&bin).expect("canonical");
    assert_eq!(assigned(&script, "Bin"), vec![bin.display().to_string(); 2]);
    let pending = home.join("data").join("pending");
    assert_eq!(
        assigned(&script, "Pending"),
        vec![pending.display().to_string(); 2]
    );
}

#[test]
fn a_binary_path_with_a_typographic_quote_is_one_powershell_string() {
    let (_dir, bin) = binary_under('\u{2019}');
    let home = tempfile::tempdir().expect("tmp");
    let script = render(&bin, home.path());
    let bin = std::fs::canonicalize(&bin).expect("canonical");
    assert_eq!(assigned(&script, "Bin"), vec![bin.display().to_string(); 2]);
}

#[test]
fn the_script_wraps_the_line_reader_and_the_prompt() {
    let home = tempfile::tempdir().expect("tmp");
    let script = render(Path::new(BIN), home.path());
    let tree = parse(&script);

    let read = function_statements(&tree, &script, "global:PSConsoleHostReadLine");
    // PSReadLine reads $? first thing; any statement before the call would reset it.
    assert!(
        text(read[0], &script).contains("$global:__backstop.ReadLine.Invoke()"),
        "first statement: {}",
        text(read[0], &script)
    );
    let body: String = read.iter().map(|s| text(*s, &script)).collect();
    for needle in [
        "\"hook --shell powershell --session $PID --line-env BACKSTOP_LINE\"",
        "IsNullOrWhiteSpace",
        "$backstopStatus -eq 0",
        "$backstopStatus -eq 1 -or $backstopStatus -eq 2",
        "[Microsoft.PowerShell.PSConsoleReadLine]::AddToHistory($backstopLine)",
        "return ''",
        "running it unchecked",
    ] {
        assert!(
            body.contains(needle),
            "PSConsoleHostReadLine lacks {needle}"
        );
    }

    let prompt = function_statements(&tree, &script, "global:prompt");
    assert_eq!(text(prompt[0], &script), "$backstopSucceeded = $global:?");
    let body: String = prompt.iter().map(|s| text(*s, &script)).collect();
    assert!(body.contains("--after --shell powershell --session $PID --status $backstopStatus"));
    assert!(body.contains("[System.IO.File]::Exists($backstopPending)"));
    // The person's own prompt runs last, with $? given back just before it.
    let n = prompt.len();
    assert_eq!(text(prompt[n - 1], &script), "& $backstopPrompt");
    assert!(text(prompt[n - 2], &script).contains("Write-Error"));
    assert!(script.contains("Get-Command -Name 'prompt' -CommandType Function"));
    assert!(script.contains("$global:__backstop.Prompt = $existingPrompt.ScriptBlock"));
}

#[test]
fn the_arguments_the_script_passes_are_the_ones_the_hook_takes() {
    let home = tempfile::tempdir().expect("tmp");
    let script = render(Path::new(BIN), home.path());
    let calls = hook_arguments(&script);
    assert_eq!(calls.len(), 2, "{calls:?}");
    let (check, after) = (&calls[0], &calls[1]);
    assert!(check.contains(&"--line-env".to_string()), "{check:?}");
    assert!(after.contains(&"--after".to_string()), "{after:?}");

    let decide = |line: &str| {
        let out = Command::new(BIN)
            .args(check)
            .env("BACKSTOP_HOME", home.path())
            .env("BACKSTOP_LINE", line)
            .stdin(Stdio::null())
            .output()
            .expect("backstop runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(decide("Get-ChildItem -Force"), (Some(0), String::new()));
    let (code, err) = decide("Remove-Item -Recurse -Force /srv/backstop-no-such-dir");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("Remove-Item"), "{err}");

    let args: Vec<&str> = after.iter().map(String::as_str).collect();
    let out = backstop(Path::new(BIN), home.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn install_and_uninstall_round_trip_a_powershell_profile() {
    let home = tempfile::tempdir().expect("tmp");
    let originals: [&[u8]; 3] = [
        b"Set-PSReadLineOption -EditMode Vi\nfunction prompt { 'PS> ' }\n",
        b"Import-Module posh-git\r\n$env:EDITOR = 'code'\r\n",
        b"# no newline at the end",
    ];
    for original in originals {
        let profile = home.path().join("Microsoft.PowerShell_profile.ps1");
        std::fs::write(&profile, original).expect("write the profile");
        let arg = profile.display().to_string();
        for _ in 0..2 {
            let out = backstop(
                Path::new(BIN),
                home.path(),
                &["install", "powershell", "--profile", &arg],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let installed = std::fs::read_to_string(&profile).expect("read");
        let bin = std::fs::canonicalize(BIN).expect("canonical");
        let loader = format!(
            "Invoke-Expression (& '{}' init powershell | Out-String)",
            bin.display().to_string().replace('\'', "''")
        );
        assert_eq!(installed.matches(&loader).count(), 1, "{installed}");
        assert_eq!(problems(&installed), Vec::<String>::new(), "{installed}");

        let out = backstop(
            Path::new(BIN),
            home.path(),
            &["uninstall", "powershell", "--profile", &arg],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(&profile).expect("read"),
            original,
            "{}",
            String::from_utf8_lossy(original)
        );
    }
}

/// PowerShell on Linux and macOS reads `$PROFILE` from
/// `$XDG_CONFIG_HOME/powershell/Microsoft.PowerShell_profile.ps1`.
#[cfg(unix)]
#[test]
fn install_without_a_profile_edits_the_one_powershell_reads() {
    let home = tempfile::tempdir().expect("tmp");
    let config = home.path().join("config");
    let out = Command::new(BIN)
        .args(["install", "powershell"])
        .env("BACKSTOP_HOME", home.path())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", &config)
        .stdin(Stdio::null())
        .output()
        .expect("backstop runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile = config
        .join("powershell")
        .join("Microsoft.PowerShell_profile.ps1");
    let text = std::fs::read_to_string(&profile).unwrap_or_else(|e| {
        panic!(
            "{} not written ({e}); install said: {}",
            profile.display(),
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert!(text.contains("init powershell | Out-String)"), "{text}");
}

#[test]
fn the_verbatim_string_reader_follows_powershell() {
    assert_eq!(verbatim("'a''b' x"), Some(("a'b".into(), " x")));
    assert_eq!(
        verbatim("'a\u{2019}\u{2019}b'"),
        Some(("a\u{2019}b".into(), ""))
    );
    // A lone typographic quote ends the string, which is why init must double it too.
    assert_eq!(verbatim("'it\u{2019}s'"), Some(("it".into(), "s'")));
    assert_eq!(verbatim("'open"), None);
    assert_eq!(verbatim("\"double\""), None);
}

/// `r 12`, `ihy rm` and `Invoke-History -Id 5` re-run a history entry, which is what
/// must be decided: the script's pattern (run here as .NET would, ignoring case) picks
/// exactly those lines and their id.
#[test]
fn a_history_rerun_is_decided_as_the_line_it_runs() {
    let home = tempfile::tempdir().expect("tmp");
    let script = render(Path::new(BIN), home.path());
    let line = script
        .lines()
        .find(|l| l.contains("$backstopLine -match '^"))
        .expect("the re-run pattern");
    let start = line.find("-match '").expect("pattern") + "-match '".len();
    let pattern = &line[start..line.rfind('\'').expect("closing quote")];
    let re = regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .expect("the pattern is a valid regex");
    for (typed, id) in [
        ("r", None),
        ("r 12", Some("12")),
        ("  R 12  ", Some("12")),
        ("ihy rm", Some("rm")),
        ("Invoke-History -Id 5", Some("5")),
        ("invoke-history 7", Some("7")),
    ] {
        let caps = re
            .captures(typed)
            .unwrap_or_else(|| panic!("{typed:?} not seen as a re-run"));
        assert_eq!(caps.name("id").map(|m| m.as_str()), id, "{typed:?}");
    }
    for other in ["rm -r x", "r 5; ls", "ri x", "rmdir", "echo r"] {
        assert!(!re.is_match(other), "{other:?} taken for a re-run");
    }
    let body = &script[script.find(line).expect("line")..];
    assert!(body.contains("Get-History -Id ([long]$backstopId)"));
    assert!(body.contains("$backstopChecked = [string]$backstopPast.CommandLine"));
    assert!(body.contains("--line-env BACKSTOP_LINE\" $backstopChecked)"));
}
