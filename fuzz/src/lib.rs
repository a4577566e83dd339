//! What each fuzz target asserts. `fuzz_targets/*.rs` each call one function here, so
//! that the targets stay one line and the properties read together.
//!
//! A target fails by panicking: every `expect` and `assert` below is a property of
//! backstop, not of the fuzz harness.

use std::path::Path;
use std::sync::OnceLock;

use backstop::agent::settings::{with_hook, without_hook, Uninstalled};
use backstop::agent::{jsonc, Agent, Answer, Input};
use backstop::cmd::init::{with_block, without_block, Shell};
use backstop::config::Dirs;
use backstop::protect::{OwnPlaces, Protected};
use backstop_backup::manifest::Manifest;
use backstop_backup::recipe::{registry_long, registry_short, Placeholders};
use backstop_rules::engine::Source;
use backstop_rules::policy::{compile_bytes_regex, RecipeStep};
use backstop_rules::{
    Context, Decision, Dialect, Engine, FileReader, Layer, NoBackups, NoFacts, NoFiles, Policy,
    ProgramWords,
};

const HOME: &str = "/home/u";
const CWD: &str = "/home/u/project";

/// The built-in packs, loaded once per process.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::builtin)
}

fn program_words() -> &'static ProgramWords {
    static WORDS: OnceLock<ProgramWords> = OnceLock::new();
    WORDS.get_or_init(|| engine().program_words())
}

/// Every SQL script a line names holds the line itself, so that `psql -f F` reaches the
/// SQL reader with text the fuzzer wrote.
struct LineAsScript<'a>(&'a str);

impl FileReader for LineAsScript<'_> {
    fn read_small(&self, _path: &str, limit: u64) -> Option<String> {
        (self.0.len() as u64 <= limit).then(|| self.0.to_string())
    }
}

fn context<'a>(dialect: Dialect, files: &'a dyn FileReader) -> Context<'a> {
    Context {
        dialect,
        cwd: Some(CWD),
        home: Some(HOME),
        backups: &NoBackups,
        files,
        facts: &NoFacts,
    }
}

/// A dialect's reader and the engine's `evaluate`: any line is decided, never an
/// error (the built-in packs are valid), and the decision is the strictest finding's.
pub fn evaluate(dialect: Dialect, data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let files = LineAsScript(line);
    let eval = engine()
        .evaluate(line, &context(dialect, &files))
        .expect("the built-in packs decide every line");
    let strictest = eval.findings.iter().map(|f| f.decision).max();
    assert_eq!(eval.decision, strictest.unwrap_or(Decision::Allow));
}

/// The shells' prefilter: a line `may_match` rules out is one the engine allows, in
/// every shell that uses the prefilter.
pub fn prefilter(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if program_words().may_match(line) {
        return;
    }
    for dialect in [Dialect::Bash, Dialect::Zsh, Dialect::Fish] {
        let eval = engine()
            .evaluate(line, &context(dialect, &NoFiles))
            .expect("the built-in packs decide every line");
        assert_eq!(
            eval.decision,
            Decision::Allow,
            "ruled out by may_match, yet {dialect} flags {line:?}: {:?}",
            eval.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
        );
    }
}

/// A policy file as the user, system and repository layers load it: an engine or an
/// error. What loads is then used as `backstop policy test` and the shells' prefilter
/// use it.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for layer in [Layer::User, Layer::System, Layer::Repository] {
        let source = Source {
            origin: "fuzz.toml".into(),
            layer,
            text: text.to_string(),
        };
        let Ok(engine) = Engine::new(vec![source]) else {
            continue;
        };
        if layer != Layer::User {
            continue;
        }
        let policy = Policy::parse("fuzz.toml", layer, text, true)
            .expect("a file the engine loaded parses on its own");
        let _ = engine.program_words();
        // Examples run through the engine with the file's own rules.
        let _ = engine.run_examples(&policy);
    }
}

/// One `[[recipe]]` table (the text after the header), then, after a NUL byte, the value
/// backed up: loaded or refused, and every word and regex expanded as a backup would.
pub fn recipe(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (table, value) = text.split_once('\0').unwrap_or((text, "app.db"));
    let file = format!("[[recipe]]\n{table}");
    let Ok(policy) = Policy::parse("fuzz.toml", Layer::User, &file, true) else {
        return;
    };
    let _ = (registry_long(value), registry_short(value));
    for recipe in &policy.recipes {
        let s = &recipe.spec;
        let mut ph = Placeholders::new(value, s.value);
        ph.set("out", "/tmp/backstop-fuzz/out");
        ph.set("restored", "/tmp/backstop-fuzz/restored");
        ph.set("scratch", "backstop_scratch_1");
        ph.set("scratch_dir", "/tmp/backstop-fuzz/scratch");
        let steps: Vec<&RecipeStep> = s
            .backup
            .iter()
            .chain(&s.check)
            .chain(&s.record)
            .chain(&s.restore_test)
            .chain(&s.restore_cleanup)
            .collect();
        for step in steps {
            for word in step.run.iter().chain(&step.stdin).chain(&step.file) {
                let _ = ph.expand(word, false);
            }
            for (_, re) in step.regexes() {
                let _ = compile_bytes_regex(&ph.expand(re, true));
            }
        }
        for re in backstop::recipes::content(recipe, value) {
            let _ = compile_bytes_regex(&re);
        }
        let _ = backstop::recipes::wanted(recipe, value);
    }
}

/// The SQL reader, as each client's dialect reads it, and SQL typed as a command line.
pub fn sql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for program in ["psql", "mysql", "sqlite3", "sqlcmd", "duckdb"] {
        for effect in backstop_rules::sql::effects(text, program) {
            assert!(!effect.object_kind.is_empty());
        }
    }
    let _ = backstop_rules::sql::effects_if_sql(text);
}

/// A manifest: read or refused; what is read is written back (as `restore-test`
/// rewrites it) and reads back the same.
pub fn manifest(data: &[u8]) {
    let Ok(m) = Manifest::from_json(data) else {
        return;
    };
    let again = serde_json::to_vec_pretty(&m).expect("a manifest that was read can be written");
    assert_eq!(
        Manifest::from_json(&again).expect("a written manifest reads back"),
        m
    );
}

/// The audit log: its head file's text, a NUL byte, then the log. Every line is a
/// record or an error naming it; a record that was read writes back the same.
pub fn audit_log(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (head, log) = match text.split_once('\0') {
        Some((head, log)) => (Some(head), log),
        None => (None, text),
    };
    let lines = backstop::audit::parse(log);
    let ends_whole = log.is_empty() || log.ends_with('\n');
    let _ = backstop::audit::chain_problems(&lines, ends_whole, head, Path::new("audit.head"));
    for (_, record) in &lines {
        if let Ok(r) = record {
            let again = serde_json::to_string(r).expect("a record that was read can be written");
            let back: backstop::audit::Record =
                serde_json::from_str(&again).expect("a written record reads back");
            assert_eq!(&back, r);
        }
    }
}

/// backstop's directories, as a person's would be.
fn dirs() -> Dirs {
    Dirs {
        system: "/etc/backstop".into(),
        user_policies: format!("{HOME}/.config/backstop/policies").into(),
        data: format!("{HOME}/.local/share/backstop").into(),
    }
}

/// Each agent's hook input: the shell command found (or an error), decided by the
/// engine and searched for backstop's own places, and every answer rendered in the
/// agent's protocol; the files a file tool edits, each judged against backstop's places.
pub fn agent_hook(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let dirs = dirs();
    let mut decided = Vec::new();
    for agent in Agent::ALL {
        assert!(agent.session(&input).chars().count() <= 200);
        let request = match agent.request(&input) {
            Ok(Input::Shell(request)) => request,
            Ok(Input::Files(edit)) => {
                let protected = Protected::new(&dirs, Some(HOME.into()), None);
                let cwd = edit.cwd.as_deref().map(Path::new);
                for path in &edit.paths {
                    let _ = protected.check(path, cwd);
                }
                continue;
            }
            Ok(Input::OtherTool(_)) | Err(_) => continue,
        };
        let key = (request.command.clone(), request.shell, request.cwd.clone());
        if decided.contains(&key) {
            continue;
        }
        let dialect = backstop::cmd::parse_dialect(request.shell)
            .expect("agents' commands are for shells backstop reads");
        let ctx = Context {
            cwd: request.cwd.as_deref(),
            ..context(dialect, &NoFiles)
        };
        let eval = engine()
            .evaluate(&request.command, &ctx)
            .expect("the built-in packs decide every line");
        let hits = OwnPlaces::new(&dirs, Some(HOME)).hits(&eval.commands, None);
        assert!(hits.iter().all(|h| h.command < eval.commands.len()));
        let reason = backstop::report::reason(&eval);
        for answer in [
            Answer::NoObjection,
            Answer::Ask {
                reason: reason.clone(),
            },
            Answer::Deny { reason },
        ] {
            assert!(agent.render(&answer).is_object());
        }
        decided.push(key);
    }
}

/// The agents' settings splice, for every agent: on any text `install` accepts, a
/// second `install` changes nothing and `uninstall` finds the entry; on a JSON object
/// with no entry of backstop's, `uninstall(install(x))` is `x` byte for byte.
pub fn agent_settings(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("settings.json");
    let accepted = jsonc::parse(text).is_ok_and(|n| matches!(n.kind, jsonc::Kind::Object(_)));
    for agent in Agent::ALL {
        let command = format!("'/opt/backstop/bin/backstop' agent-hook {}", agent.name());
        let Ok(installed) = with_hook(agent, &command, text, file) else {
            assert!(!text.trim().is_empty(), "install failed on an empty file");
            continue;
        };
        assert!(
            jsonc::parse(&installed).is_ok(),
            "{}: install wrote text that is not JSON:\n{installed}",
            agent.name()
        );
        if serde_json::from_str::<serde_json::Value>(text).is_ok() {
            assert!(
                serde_json::from_str::<serde_json::Value>(&installed).is_ok(),
                "{}: install made plain JSON into JSON with comments or trailing commas:\n{installed}",
                agent.name()
            );
        }
        let twice = with_hook(agent, &command, &installed, file).expect("installed text installs");
        assert_eq!(
            twice,
            installed,
            "{}: a second install changed the file",
            agent.name()
        );
        let removed =
            without_hook(agent, &command, &installed, file).expect("installed text uninstalls");
        if text.trim().is_empty() {
            assert_eq!(removed, Uninstalled::Remove, "{}", agent.name());
            continue;
        }
        let had_entry = !matches!(
            without_hook(agent, &command, text, file),
            Ok(Uninstalled::NotThere)
        );
        if accepted && !had_entry {
            assert_eq!(
                removed,
                Uninstalled::Write(text.to_string()),
                "{}: uninstall did not give back the file; installed:\n{installed}",
                agent.name()
            );
        }
    }
}

/// The marker `install` puts at the start of backstop's block in a profile.
const BLOCK_BEGIN: &str = "# >>> backstop >>>";

/// The shell-profile block, for every shell: on any text `install` accepts, a second
/// `install` changes nothing; on text with no block of backstop's (CRLF and no final
/// newline included), `uninstall(install(x))` is `x` byte for byte.
pub fn shell_profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Nu, Shell::Pwsh] {
        let loader = format!(
            "eval \"$('/opt/backstop/bin/backstop' init {})\"",
            shell.name()
        );
        let Ok((installed, had)) = with_block(text, shell, &loader) else {
            assert!(
                text.contains(BLOCK_BEGIN),
                "install refused text with no block"
            );
            continue;
        };
        let (twice, had_twice) =
            with_block(&installed, shell, &loader).expect("installed text installs");
        assert!(had_twice);
        assert_eq!(twice, installed, "a second install changed the profile");
        let (removed, found) = without_block(&installed).expect("installed text uninstalls");
        assert!(found);
        if !had {
            assert_eq!(removed, text, "uninstall did not give back the profile");
        }
    }
}
