//! `backstop check`: decisions for lines however they are spelled.

use crate::{check, Test};

/// Lines whose decision must be `deny` (exit 2): destructive, no backup.
macro_rules! denied {
    ($($name:ident: $shell:expr, $line:expr;)*) => {$(
        #[test]
        fn $name() {
            let (code, v) = check($shell, $line);
            assert_eq!(code, 2, "{} should be denied: {v}", $line);
            assert_eq!(v["decision"], "deny");
            assert!(!v["rules"].as_array().expect("rules").is_empty());
            assert!(v["remedy"].as_str().is_some_and(|r| !r.is_empty()), "no remedy: {v}");
        }
    )*};
}

/// Lines that must be allowed (exit 0) with no rule matched.
macro_rules! allowed {
    ($($name:ident: $shell:expr, $line:expr;)*) => {$(
        #[test]
        fn $name() {
            let (code, v) = check($shell, $line);
            assert_eq!(code, 0, "{} should be allowed: {v}", $line);
            assert_eq!(v["decision"], "allow");
            assert_eq!(v["rules"].as_array().map(Vec::len), Some(0));
        }
    )*};
}

mod quoting {
    use super::*;
    denied! {
        plain: "bash", "rm -rf ~/data";
        single_quoted_program: "bash", "'rm' -rf ~/data";
        split_quotes: "bash", "r''m -rf ~/data";
        backslash: "bash", "\\rm -rf ~/data";
        ansi_c: "bash", "$'rm' -rf ~/data";
        ansi_c_hex: "bash", "$'\\x72\\x6d' -rf ~/data";
        double_quoted_flags: "bash", "rm \"-rf\" ~/data";
        separate_flags: "bash", "rm -r -f ~/data";
        reversed_cluster: "bash", "rm -fr ~/data";
        long_flags: "bash", "rm --recursive --force ~/data";
        abbreviated_long_flag: "bash", "rm --rec ~/data";
        upper_case_program_path: "bash", "/bin/rm -rf ~/data";
        exe_suffix: "bash", "rm.exe -rf ~/data";
        zsh_plain: "zsh", "rm -rf ~/data";
        fish_plain: "fish", "rm -rf ~/data";
        fish_quote_escape: "fish", "r'm' -rf ~/data";
    }
    allowed! {
        echoing_the_words: "bash", "echo 'rm -rf ~/data'";
        comment: "bash", "ls # rm -rf ~/data";
        grep_for_it: "bash", "grep -r 'rm -rf' .";
        fish_comment: "fish", "ls # rm -rf ~/data";
    }
}

mod structure {
    use super::*;
    denied! {
        after_semicolon: "bash", "true; rm -rf ~/data";
        after_and: "bash", "true && rm -rf ~/data";
        after_or: "bash", "false || rm -rf ~/data";
        backgrounded: "bash", "rm -rf ~/data &";
        in_pipeline: "bash", "yes | rm -rf ~/data";
        subshell: "bash", "(cd /srv && rm -rf data)";
        group: "bash", "{ rm -rf ~/data; }";
        if_branch: "bash", "if true; then rm -rf ~/data; fi";
        for_loop: "bash", "for d in a b; do rm -rf ~/data/$d; done";
        while_loop: "bash", "while true; do rm -rf ~/data; done";
        case_arm: "bash", "case $x in y) rm -rf ~/data;; esac";
        second_line: "bash", "echo hi\nrm -rf ~/data";
        continued_line: "bash", "rm \\\n  -rf ~/data";
        command_substitution: "bash", "echo $(rm -rf ~/data)";
        backticks: "bash", "echo `rm -rf ~/data`";
        nested_substitution: "bash", "echo $(echo $(rm -rf ~/data))";
        process_substitution: "bash", "cat <(rm -rf ~/data)";
        fish_substitution: "fish", "echo (rm -rf ~/data)";
        fish_and: "fish", "true; and rm -rf ~/data";
        zsh_hash_not_comment: "zsh", "echo x # ; rm -rf ~/data";
        function_body: "bash", "f() { rm -rf ~/data; }";
        unterminated_quote_is_examined: "bash", "rm -rf ~/data '";
        unterminated_substitution_is_examined: "bash", "echo \"$(rm -rf ~/data";
    }
}

mod wrappers {
    use super::*;
    denied! {
        sudo: "bash", "sudo rm -rf /srv/data";
        sudo_with_options: "bash", "sudo -u root -E -- rm -rf /srv/data";
        doas: "bash", "doas rm -rf /srv/data";
        env_assignments: "bash", "env -i PATH=/bin rm -rf /srv/data";
        leading_assignment: "bash", "LANG=C rm -rf /srv/data";
        command_builtin: "bash", "command rm -rf /srv/data";
        exec: "bash", "exec rm -rf /srv/data";
        nohup_nice_ionice: "bash", "nohup nice -n 19 ionice -c3 rm -rf /srv/data";
        time_timeout_stdbuf: "bash", "time timeout 10 stdbuf -oL rm -rf /srv/data";
        watch: "bash", "watch -n 60 rm -rf /srv/data";
        busybox: "bash", "busybox rm -rf /srv/data";
        xargs: "bash", "echo /srv/data | xargs rm -rf";
        find_exec: "bash", "find /srv/data -name '*.db' -exec rm {} \\;";
        find_execdir_plus: "bash", "find /srv/data -type f -execdir rm -f {} +";
        find_delete: "bash", "find /srv/data -type f -delete";
        bash_c: "bash", "bash -c 'rm -rf /srv/data'";
        sh_c_nested: "bash", "sh -c \"bash -c 'rm -rf /srv/data'\"";
        zsh_c: "bash", "zsh -c 'rm -rf /srv/data'";
        fish_c: "bash", "fish -c 'rm -rf /srv/data'";
        eval: "bash", "eval 'rm -rf /srv/data'";
        stacked: "bash", "sudo env A=1 nice timeout 5 bash -c 'rm -rf /srv/data'";
        backstop_wrap: "bash", "backstop wrap sqlite3 /srv/app.db 'DROP TABLE t'";
    }
    allowed! {
        command_v: "bash", "command -v rm";
        sudo_list: "bash", "sudo -l";
        bash_script: "bash", "bash ./build.sh";
        backstop_wrap_select: "bash", "backstop wrap sqlite3 /srv/app.db 'SELECT 1'";
    }
}

mod interpreters {
    use super::*;
    denied! {
        python_rmtree: "bash", "python3 -c 'import shutil; shutil.rmtree(\"/srv/data\")'";
        python_os_remove: "bash", "python -c \"import os; os.remove('/srv/data/db.sqlite')\"";
        python_system: "bash", "python3 -c 'import os; os.system(\"rm -rf /srv/data\")'";
        python_subprocess_list: "bash", "python3 -c 'import subprocess; subprocess.run([\"rm\", \"-rf\", \"/srv/data\"])'";
        perl_system: "bash", "perl -e 'system(\"rm -rf /srv/data\")'";
        ruby_backticks: "bash", "ruby -e '`rm -rf /srv/data`'";
        node_rmsync: "bash", "node -e 'require(\"fs\").rmSync(\"/srv/data\", {recursive: true})'";
        python_heredoc: "bash", "python3 <<EOF\nimport shutil\nshutil.rmtree('/srv/data')\nEOF\n";
    }
    allowed! {
        python_print: "bash", "python3 -c 'print(42)'";
        node_version: "bash", "node -e 'console.log(process.version)'";
    }
}

mod sql {
    use super::*;
    denied! {
        psql_c: "bash", "psql -d shop -c 'DROP TABLE orders'";
        psql_heredoc: "bash", "psql shop <<SQL\nBEGIN;\nDROP TABLE orders;\nCOMMIT;\nSQL\n";
        psql_here_string: "bash", "psql shop <<< 'TRUNCATE orders'";
        piped_into_psql: "bash", "echo 'DROP DATABASE shop' | psql";
        mysql_e: "bash", "mysql -e 'DELETE FROM orders' shop";
        sqlite_positional: "bash", "sqlite3 shop.db 'DELETE FROM orders'";
        update_always_true: "bash", "psql -c 'UPDATE users SET admin = true WHERE 1=1'";
        alter_drop: "bash", "psql -c 'ALTER TABLE users DROP COLUMN email'";
        sudo_u_postgres: "bash", "sudo -u postgres psql -c 'DROP DATABASE shop'";
    }
    allowed! {
        select: "bash", "psql -c 'SELECT * FROM orders'";
        delete_with_where: "bash", "psql -c 'DELETE FROM orders WHERE id = 5'";
        psql_list: "bash", "psql -l";
    }
}

mod exceptions {
    use super::*;
    allowed! {
        node_modules: "bash", "rm -rf node_modules";
        build_output: "bash", "rm -rf ./target";
        pycache: "bash", "find . -name __pycache__ -exec rm -rf {} +";
        tmp_subdir: "bash", "rm -rf /tmp/build-123";
        dry_run_git_clean: "bash", "git clean -n";
        dd_read_direction: "bash", "dd if=/dev/sda of=disk.img bs=4M";
        help: "bash", "rm --help";
    }
    denied! {
        tmp_itself: "bash", "rm -rf /tmp";
        tmp_escape: "bash", "rm -rf /tmp/../home/tester";
        dd_to_device: "bash", "dd if=disk.img of=/dev/sda bs=4M";
        git_reset_hard: "bash", "git reset --hard HEAD~3";
        git_force_push: "bash", "git push --force origin main";
        git_plus_refspec: "bash", "git push origin +main";
        crontab_r: "bash", "crontab -r";
        mkfs: "bash", "mkfs.ext4 /dev/sdb1";
    }
}

#[test]
fn json_has_the_documented_fields() {
    let (code, v) = check("bash", "sudo rm -rf ~/data");
    assert_eq!(code, 2);
    for key in ["decision", "rules", "targets", "reason", "remedy"] {
        assert!(v.get(key).is_some(), "missing `{key}`: {v}");
    }
    let rule = &v["rules"][0];
    assert!(
        rule["id"].as_str().is_some_and(|s| s.starts_with("fs.")),
        "{v}"
    );
    assert!(rule["severity"].is_string());
    let target = &v["targets"][0];
    assert_eq!(target["kind"], "path");
    assert_eq!(
        target["value"], "/home/tester/data",
        "~ resolves against HOME"
    );
    assert_eq!(target["backup"]["status"], "missing");
    assert!(
        v["remedy"]
            .as_str()
            .is_some_and(|r| r.contains("backstop backup /home/tester/data")),
        "{v}"
    );
}

#[test]
fn sql_targets_are_named() {
    let (_, v) = check("bash", "psql -c 'DROP DATABASE production'");
    let t = v["targets"].as_array().expect("targets");
    assert!(
        t.iter()
            .any(|t| t["kind"] == "database" && t["value"] == "production"),
        "{v}"
    );
}

#[test]
fn a_table_brings_its_database_and_the_remedy_backs_that_up() {
    for (line, db, spec) in [
        ("psql shop -c 'DELETE FROM orders'", "shop", "postgres:shop"),
        (
            "psql -d shop -c 'DROP TABLE orders'",
            "shop",
            "postgres:shop",
        ),
        // A SQLite database is a file, resolved like any path.
        (
            "cd /srv/app && sqlite3 shop.db 'DROP TABLE orders'",
            "/srv/app/shop.db",
            "sqlite:/srv/app/shop.db",
        ),
        ("mysql -e 'TRUNCATE orders' shop", "shop", "mysql:shop"),
    ] {
        let (_, v) = check("bash", line);
        let targets = v["targets"].as_array().expect("targets");
        assert!(
            targets
                .iter()
                .any(|t| t["kind"] == "table" && t["value"] == "orders"),
            "{line}: {v}"
        );
        assert!(
            targets
                .iter()
                .any(|t| t["kind"] == "database" && t["value"] == db),
            "{line}: {v}"
        );
        let remedy = v["remedy"].as_str().expect("remedy");
        assert!(
            remedy.starts_with(&format!("backstop backup {spec} --to")),
            "{line}: {remedy}"
        );
    }
}

/// Regression: `redis-cli FLUSHALL` and the mongosh rules were told to run `backstop
/// backup postgres:redis` (`postgres:shop`): the PostgreSQL recipe claimed every
/// program. A store no recipe can back up is said to be one, and approval is asked.
#[test]
fn a_store_no_recipe_backs_up_gets_an_honest_remedy() {
    for (line, target) in [
        ("redis-cli FLUSHALL", "database redis"),
        ("mongosh shop --eval 'db.dropDatabase()'", "database shop"),
        ("sqlcmd -d shop -Q 'DROP TABLE orders'", "database shop"),
    ] {
        let (code, v) = check("bash", line);
        assert_eq!(
            (code, &v["decision"]),
            (1, &serde_json::json!("ask")),
            "{line}: {v}"
        );
        let remedy = v["remedy"].as_str().expect("remedy");
        assert!(!remedy.contains("backstop backup"), "{line}: {remedy}");
        assert!(
            remedy.contains("no recipe that backs up")
                && remedy.contains(target)
                && remedy.contains("approve it at the terminal"),
            "{line}: {remedy}"
        );
        assert!(
            v["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .any(|t| t["backup"]["status"] == "no-recipe"),
            "{line}: {v}"
        );
    }
    // PostgreSQL's own tools still get its recipe.
    let (code, v) = check("bash", "dropdb shop");
    assert_eq!(code, 2);
    assert!(
        v["remedy"]
            .as_str()
            .is_some_and(|r| r.starts_with("backstop backup postgres:shop --to")),
        "{v}"
    );
}

#[test]
fn sql_scripts_are_read_when_small() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("drop.sql"),
        "SELECT 1;\nDROP TABLE orders;\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("read.sql"), "SELECT * FROM orders;\n").expect("write");
    // Over the 1 MiB bound: not read, so judged by the line alone.
    let big = format!("{}DROP TABLE orders;\n", "-- padding\n".repeat(110_000));
    std::fs::write(dir.path().join("big.sql"), big).expect("write");
    let cwd = dir.path().to_str().expect("utf-8 temp dir");
    let run = |line: &str| {
        let r = Test::new()
            .args(["check", "--json", "--cwd", cwd, "--", line])
            .run();
        (r.code, r.json())
    };
    // No recipe backs up SQL Server's databases: sqlcmd's line asks for approval only.
    for (line, want) in [
        ("psql -d shop -f drop.sql", 2),
        ("psql shop --file=drop.sql", 2),
        ("sqlcmd -d shop -i drop.sql", 1),
        ("mysql shop < drop.sql", 2),
    ] {
        let (code, v) = run(line);
        assert_eq!(code, want, "{line}: {v}");
        assert!(
            v["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .any(|t| t["kind"] == "table" && t["value"] == "orders"),
            "{line}: {v}"
        );
    }
    for line in [
        "psql -d shop -f read.sql",
        "psql -d shop -f big.sql",
        "psql -d shop -f missing.sql",
    ] {
        assert_eq!(run(line).0, 0, "{line}");
    }
}

#[test]
fn cwd_resolves_relative_targets() {
    let r = Test::new()
        .args([
            "check",
            "--json",
            "--cwd",
            "/srv/app",
            "--",
            "rm -rf ../data",
        ])
        .code(2);
    assert_eq!(r.json()["targets"][0]["value"], "/srv/data");
    // The real working directory when --cwd is absent (a git-repo target is the cwd).
    let dir = tempfile::tempdir().expect("tmp");
    let r = Test::new()
        .cwd(dir.path())
        .args(["check", "--json", "--", "git reset --hard"])
        .code(2);
    let want = dir.path().display().to_string();
    assert_eq!(r.json()["targets"][0]["value"], want.as_str());
}

#[test]
fn cd_on_the_line_moves_relative_targets() {
    let target = |line: &str| {
        let r = Test::new()
            .args(["check", "--json", "--cwd", "/srv/app", "--", line])
            .run();
        (
            r.code,
            r.json()["targets"][0]["value"].as_str().map(str::to_string),
        )
    };
    assert_eq!(
        target("cd ~ && rm -rf data"),
        (2, Some("/home/tester/data".into()))
    );
    assert_eq!(
        target("cd ../db; rm -rf data"),
        (2, Some("/srv/db/data".into()))
    );
    assert_eq!(
        target("cd /tmp && rm -rf scratch"),
        (0, None),
        "under /tmp: an exception"
    );
    assert_eq!(target("bash -c 'cd /tmp && rm -rf scratch'"), (0, None));
    // A cd it cannot follow leaves relative targets relative: no exception can apply.
    assert_eq!(
        target("cd \"$WORK\" && rm -rf build2"),
        (2, Some("build2".into()))
    );
    assert_eq!(target("cd - && rm -rf x"), (2, Some("x".into())));
}

#[test]
fn plain_output_and_exit_codes() {
    let r = Test::new().args(["check", "ls", "-la"]).code(0);
    assert_eq!(r.stdout, "", "allow prints nothing");
    let r = Test::new().args(["check", "rm", "-rf", "/srv"]).code(2);
    assert!(r.stdout.starts_with("deny: "), "{}", r.stdout);
    assert!(
        r.stdout.contains("remedy: backstop backup /srv"),
        "{}",
        r.stdout
    );
}

#[test]
fn approval_rules_ask() {
    let r = Test::new()
        .file(
            "policies/ask.toml",
            r#"
[[rule]]
id = "mine.reboot"
description = "reboot loses unsaved work"
programs = ["reboot"]
requires = "approval"
[rule.examples]
match = ["reboot"]
"#,
        )
        .args(["check", "--json", "reboot"])
        .code(1);
    assert_eq!(r.json()["decision"], "ask");
}

#[test]
fn usage_errors_are_bad_input_not_deny() {
    // clap's own exit code for a usage error is 2, which would read as "deny".
    let r = Test::new().args(["check"]).code(3);
    assert!(r.stderr.contains("Usage: backstop check"), "{}", r.stderr);
    Test::new().args(["no-such-command"]).code(3);
    let r = Test::new().args(["check", "--help"]).code(0);
    assert!(r.stdout.contains("Exit codes: 0 allow"), "{}", r.stdout);
    Test::new().args(["--version"]).code(0);
}

#[test]
fn unknown_shell_is_bad_input() {
    let r = Test::new().args(["check", "--shell", "tcsh", "ls"]).code(3);
    assert!(r.stderr.contains("unknown shell `tcsh`"), "{}", r.stderr);
}

#[test]
fn hostile_input_never_crashes() {
    // Near the largest single argument Linux passes (128 KiB).
    let long = "a ".repeat(60_000);
    let deep = "$(".repeat(5000);
    let lines = [
        long.as_str(),
        deep.as_str(),
        "\u{1}\u{7f}\u{ff}",
        "'",
        "\"",
        "`",
        "<<EOF",
        "$'\\x",
        "((((",
        "}}}}",
    ];
    for shell in ["bash", "zsh", "fish", "powershell", "nu", "cmd"] {
        for line in lines {
            let r = Test::new()
                .args(["check", "--shell", shell, "--", line])
                .run();
            assert!(
                matches!(r.code, 0..=2),
                "{shell} {:?}: exit {} {}",
                &line[..line.len().min(20)],
                r.code,
                r.stderr
            );
        }
    }
    // NUL bytes cannot be in an argument, but they can be in a history file.
    let r = Test::new()
        .args(["scan", "-"])
        .stdin(b"ls\0rm -rf /srv\n\xff\xfe\n".to_vec())
        .code(0);
    assert!(r.stdout.contains("scanned 2 commands"), "{}", r.stdout);
}

#[test]
fn explain_tells_what_runs_and_why() {
    let r = Test::new()
        .args(["explain", "sudo bash -c 'rm -rf ~/data'"])
        .code(0);
    let out = r.stdout;
    assert!(out.contains("rm -rf ~/data"), "{out}");
    assert!(out.contains("via sudo → bash -c"), "{out}");
    assert!(out.contains("fs.rm-recursive"), "{out}");
    assert!(
        out.contains(
            "target: path /home/tester/data (backup: missing; /home/tester/data does not exist"
        ),
        "{out}"
    );
    assert!(out.contains("Decision: DENY"), "{out}");
    assert!(
        out.contains("To go ahead: backstop backup /home/tester/data"),
        "{out}"
    );
}

mod generated_commands {
    use super::*;
    denied! {
        xargs_echo_into_sh: "bash", "find /srv/data -type f -print0 | xargs -0 -n1 echo rm | sh -x";
        echo_into_bash: "bash", "echo 'rm -rf /srv/data' | bash";
        csh_c: "bash", "csh -c 'rm -rf /srv/data'";
    }
}

/// Regression: `backstop policy list | head` (and `audit`, `explain`, `check` …) panicked
/// with "failed printing to stdout: Broken pipe" once the reader had gone.
#[test]
fn a_closed_stdout_ends_quietly_without_a_panic() {
    use std::process::{Command, Stdio};
    let home = tempfile::tempdir().expect("temp dir");
    for args in [
        &["policy", "list"][..],
        &["policy", "show", "fs.rm-recursive"],
        &["explain", "rm -rf ~/data"],
        &["check", "rm -rf ~/data"],
        &["check", "--json", "rm -rf ~/data"],
        &["completions", "bash"],
        &["man"],
        &["audit"],
        &["undo", "--list"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_backstop"))
            .args(args)
            .env("BACKSTOP_HOME", home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start backstop");
        // The reader goes away before backstop writes a byte.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}
