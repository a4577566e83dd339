//! What a line runs without naming it, decided through a fake filesystem: script files
//! in every dialect, interpreters' files, task runners, programs that run a string,
//! containers, dynamic commands, downloads, and the general net. Each destructive form
//! deletes `data/` of the project at /home/u/p; each benign twin must stay allowed.

#![allow(clippy::panic)] // a failing case names itself

use std::collections::HashMap;

use backstop_rules::{
    Context, Decision, Dialect, Engine, Evaluation, FileReader, FileSieve, FileText, Layer, Source,
};

/// Files by absolute path, and what `PATH` finds for a bare name.
struct Fs {
    files: HashMap<String, FileText>,
    path: HashMap<String, String>,
}

impl FileReader for Fs {
    fn read_small(&self, path: &str, limit: u64) -> Option<String> {
        match self.read_text(path, limit) {
            FileText::Text(t) => Some(t),
            _ => None,
        }
    }

    fn read_text(&self, path: &str, limit: u64) -> FileText {
        match self.files.get(path) {
            None => FileText::Missing,
            Some(FileText::Text(t)) if t.len() as u64 > limit => FileText::TooLarge,
            Some(f) => f.clone(),
        }
    }

    fn find_on_path(&self, name: &str) -> Option<String> {
        self.path.get(name).cloned()
    }
}

const P: &str = "/home/u/p";

fn fs() -> Fs {
    let text = |t: &str| FileText::Text(t.to_string());
    let mut files: HashMap<String, FileText> = [
        ("cleanup.sh", "#!/usr/bin/env bash\nset -eu\necho cleaning\nrm -rf data\n"),
        ("tidy.sh", "#!/usr/bin/env bash\nrm -rf build\necho tidy\n"),
        ("outer.sh", "#!/bin/sh\necho outer\n./cleanup.sh\n"),
        ("outer-tidy.sh", "#!/bin/sh\n./tidy.sh\n./outer-tidy.sh\n"),
        ("args.sh", "#!/bin/sh\nrm -rf \"$1\"\n"),
        ("noshebang", "rm -rf data\n"),
        ("cleanup.zsh", "setopt err_exit\nrm -rf data\n"),
        ("cleanup.fish", "set -l target data\nrm -rf $target\n"),
        ("cleanup.ps1", "Write-Host cleaning\nRemove-Item -Recurse -Force data\n"),
        ("hello.ps1", "Write-Host hello\nGet-ChildItem data\n"),
        ("cleanup.bat", "@echo off\r\nrd /s /q data\r\n"),
        ("hello.bat", "@echo off\r\necho hello\r\n"),
        ("cleanup.nu", "rm -r data\n"),
        ("hello.nu", "ls data\n"),
        ("purge.py", "import shutil\n\nprint('purging')\nshutil.rmtree('data')\n"),
        ("purge", "#!/usr/bin/env python3\nimport shutil\nshutil.rmtree('data')\n"),
        ("listing.py", "import os\nprint(os.listdir('data'))\n"),
        ("shell-out.py", "import os\nos.system('rm -rf data')\n"),
        ("wipe.js", "const fs = require('fs');\nfs.rmSync('data', { recursive: true });\n"),
        ("read.js", "const fs = require('fs');\nconsole.log(fs.readdirSync('data'));\n"),
        ("nuke.rb", "require 'fileutils'\nFileUtils.rm_rf('data')\n"),
        ("nuke.pl", "use File::Path qw(remove_tree);\nremove_tree('data');\n"),
        ("nuke.php", "<?php\nunlink('data/important.txt');\n"),
        ("job.at", "rm -rf /home/u/p/data\n"),
        ("jobs.cron", "# m h dom mon dow command\n0 3 * * * rm -rf /home/u/p/data\n"),
        ("tidy.cron", "0 3 * * * rm -rf /home/u/p/build\n"),
        ("prog.awk", "BEGIN { system(\"rm -rf data\") }\n"),
        ("session.exp", "spawn bash\nsend \"rm -rf data\\r\"\nexpect eof\n"),
        ("gdb.cmds", "break main\nshell rm -rf data\n"),
        (
            "Makefile",
            "DATA := data\nRM = rm -rf\n.PHONY: all build clean tidy\n\nall: build\n\nbuild:\n\t@mkdir -p build\n\nclean: tidy\n\t$(RM) $(DATA)\n\ntidy:\n\t-$(RM) build\n",
        ),
        (
            "justfile",
            "data := \"data\"\n\ndefault: build\n\nbuild:\n    mkdir -p build\n\ntidy:\n    rm -rf build\n\nnuke: tidy\n    rm -rf {{data}}\n",
        ),
        (
            "package.json",
            "{\n  \"scripts\": {\n    \"build\": \"mkdir -p build\",\n    \"reset\": \"rm -rf data\",\n    \"clean\": \"rm -rf build\",\n    \"test\": \"echo ok\",\n    \"posttest\": \"rm -rf data\",\n    \"start\": \"node read.js\"\n  }\n}\n",
        ),
        (".git/config", "[core]\n\tbare = false\n[alias]\n\twipe = !rm -rf data\n\tst = status\n"),
    ]
    .into_iter()
    .map(|(n, t)| (format!("{P}/{n}"), text(t)))
    .collect();
    files.insert(format!("{P}/big.sh"), FileText::TooLarge);
    files.insert(format!("{P}/secret.sh"), FileText::Denied);
    files.insert(format!("{P}/app.bin"), FileText::Binary);
    files.insert(format!("{P}/data"), FileText::NotAFile);
    files.insert(
        "/home/u/.gitconfig".into(),
        text("[alias]\n\tzap = \"!rm -rf data\"\n"),
    );
    files.insert(
        "/home/u/bin/nuke-data".into(),
        text("#!/bin/bash\nrm -rf data\n"),
    );
    files.insert(
        "/home/u/bin/tidy-build".into(),
        text("#!/bin/bash\nrm -rf build\n"),
    );
    files.insert("/usr/bin/which".into(), text("#!/bin/sh\nrm -rf data\n"));
    let path = [
        ("nuke-data", "/home/u/bin/nuke-data"),
        ("tidy-build", "/home/u/bin/tidy-build"),
        ("which", "/usr/bin/which"),
        ("cleanup.sh", "/home/u/p/cleanup.sh"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    Fs { files, path }
}

fn eval_with(engine: &Engine, shell: &str, line: &str) -> Evaluation {
    let files = fs();
    let ctx = Context {
        dialect: shell.parse::<Dialect>().expect("dialect"),
        cwd: Some(P),
        home: Some("/home/u"),
        files: &files,
        ..Context::default()
    };
    engine.evaluate(line, &ctx).expect("evaluates")
}

/// `line` evaluated with every script file read whole, after checking that reading
/// them through the sieve (as large files are read) decides it alike.
fn eval(shell: &str, line: &str) -> Evaluation {
    let decided = |e: &Evaluation| {
        format!(
            "{:?} incomplete {}\n{:#?}",
            e.decision, e.incomplete, e.findings
        )
    };
    let whole = eval_with(
        &Engine::builtin().with_file_sieve(FileSieve::Never),
        shell,
        line,
    );
    let sieved = eval_with(
        &Engine::builtin().with_file_sieve(FileSieve::Always),
        shell,
        line,
    );
    assert_eq!(
        decided(&sieved),
        decided(&whole),
        "{shell}: the sieve changed how `{line}` is decided"
    );
    whole
}

fn ids(e: &Evaluation) -> Vec<&str> {
    e.findings.iter().map(|f| f.id.as_str()).collect()
}

/// `line` is refused (deny or ask) by `rule`, which names `data/` of the project.
fn refused(shell: &str, line: &str, rule: &str) {
    let e = eval(shell, line);
    assert_ne!(e.decision, Decision::Allow, "{shell}: `{line}` was allowed");
    let f = e
        .findings
        .iter()
        .find(|f| f.id == rule)
        .unwrap_or_else(|| panic!("{shell}: `{line}` matched {:?}, not {rule}", ids(&e)));
    if rule != "indirect.downloaded-code" && rule != "indirect.unreadable-file" {
        assert!(
            f.targets
                .iter()
                .any(|t| t.value.ends_with("/data") || t.value.starts_with("/home/u/p/data")),
            "{shell}: `{line}` targets {:?}",
            f.targets
        );
    }
}

fn allowed(shell: &str, line: &str) {
    let e = eval(shell, line);
    assert_eq!(
        e.decision,
        Decision::Allow,
        "{shell}: `{line}` matched {:?}",
        ids(&e)
    );
}

macro_rules! cases {
    ($($name:ident: $shell:literal, $line:expr => $want:tt;)*) => {
        $(
            #[test]
            fn $name() {
                cases!(@check $shell, $line, $want);
            }
        )*
    };
    (@check $shell:literal, $line:expr, allow) => { allowed($shell, $line) };
    (@check $shell:literal, $line:expr, $rule:literal) => { refused($shell, $line, $rule) };
}

cases! {
    // ------------------------------------------------ the issue's lines
    issue_bash_file: "bash", "bash cleanup.sh" => "fs.rm-recursive";
    issue_dot_slash: "bash", "./cleanup.sh" => "fs.rm-recursive";
    issue_source: "bash", "source cleanup.sh" => "fs.rm-recursive";
    issue_cat_pipe: "bash", "cat cleanup.sh | sh" => "fs.rm-recursive";
    issue_python: "bash", "python3 purge.py" => "interpreters.rmtree";
    issue_node: "bash", "node wipe.js" => "interpreters.rm-recursive-option";
    issue_make: "bash", "make clean" => "fs.rm-recursive";
    issue_npm: "bash", "npm run reset" => "fs.rm-recursive";
    issue_just: "bash", "just nuke" => "fs.rm-recursive";
    issue_script: "bash", "script -qc 'rm -rf data' /dev/null" => "fs.rm-recursive";
    issue_tmux: "bash", "tmux new-session -d 'rm -rf data'" => "fs.rm-recursive";
    issue_at: "bash", "echo 'rm -rf data' | at now" => "fs.rm-recursive";
    issue_awk: "bash", "awk 'BEGIN { system(\"rm -rf data\") }'" => "fs.rm-recursive";
    issue_git_alias: "bash", "git -c alias.t='!rm -rf data' t" => "fs.rm-recursive";
    issue_docker: "bash", "docker run -v \"$PWD:/w\" alpine rm -rf /w/data" => "fs.rm-recursive";
    issue_variable: "bash", "x=rm; $x -rf data" => "fs.rm-recursive";
    issue_base64: "bash", "echo cm0gLXJmIGRhdGE= | base64 -d | sh" => "fs.rm-recursive";
    issue_noglob: "zsh", "noglob rm -rf data" => "fs.rm-recursive";

    // ------------------------------------------------ script files, every dialect
    sh_file: "bash", "sh cleanup.sh" => "fs.rm-recursive";
    dash_file: "bash", "dash -e cleanup.sh" => "fs.rm-recursive";
    ksh_file: "bash", "ksh cleanup.sh" => "fs.rm-recursive";
    bash_x_file: "bash", "bash -x -- cleanup.sh" => "fs.rm-recursive";
    bash_stdin: "bash", "bash < cleanup.sh" => "fs.rm-recursive";
    sh_s_stdin: "bash", "sh -s < cleanup.sh" => "fs.rm-recursive";
    dot_source: "bash", ". ./cleanup.sh" => "fs.rm-recursive";
    sudo_dot_slash: "bash", "sudo ./cleanup.sh" => "fs.rm-recursive";
    absolute_path: "bash", "/home/u/p/cleanup.sh" => "fs.rm-recursive";
    after_cd: "bash", "cd /home/u && p/cleanup.sh" => "fs.rm-recursive";
    no_shebang: "bash", "./noshebang" => "fs.rm-recursive";
    script_runs_script: "bash", "./outer.sh" => "fs.rm-recursive";
    positional_args: "bash", "./args.sh data" => "fs.rm-recursive";
    on_path: "bash", "nuke-data" => "fs.rm-recursive";
    zsh_file: "zsh", "zsh cleanup.zsh" => "fs.rm-recursive";
    zsh_source: "zsh", "source cleanup.zsh" => "fs.rm-recursive";
    fish_file: "fish", "fish cleanup.fish" => "fs.rm-recursive";
    fish_source: "fish", "source cleanup.fish" => "fs.rm-recursive";
    pwsh_call: "powershell", "& ./cleanup.ps1" => "windows.remove-item";
    pwsh_dot_source: "powershell", ". .\\cleanup.ps1" => "windows.remove-item";
    pwsh_file: "powershell", "pwsh -File .\\cleanup.ps1" => "windows.remove-item";
    pwsh_from_bash: "bash", "pwsh -NoProfile -File cleanup.ps1" => "windows.remove-item";
    pwsh_bare_path: "powershell", ".\\cleanup.ps1" => "windows.remove-item";
    cmd_bat: "cmd", "cleanup.bat" => "windows.rmdir-s";
    cmd_call: "cmd", "call cleanup.bat" => "windows.rmdir-s";
    cmd_c_bat: "cmd", "cmd /c cleanup.bat" => "windows.rmdir-s";
    nu_file: "nu", "nu cleanup.nu" => "fs.rm-recursive";
    nu_source: "nu", "source cleanup.nu" => "fs.rm-recursive";

    // ------------------------------------------------ interpreters given a file
    python_file: "bash", "python3 -u purge.py" => "interpreters.rmtree";
    python_shebang: "bash", "./purge" => "interpreters.rmtree";
    python_shell_string: "bash", "python3 shell-out.py" => "fs.rm-recursive";
    ruby_file: "bash", "ruby nuke.rb" => "interpreters.rmtree";
    perl_file: "bash", "perl nuke.pl" => "interpreters.rmtree";
    php_file: "bash", "php nuke.php" => "interpreters.file-delete";

    // ------------------------------------------------ task runners
    make_prereq: "bash", "make -C /home/u/p clean" => "fs.rm-recursive";
    make_file: "bash", "make -f Makefile clean" => "fs.rm-recursive";
    make_override: "bash", "make DATA=data clean" => "fs.rm-recursive";
    just_deps: "bash", "just nuke" => "fs.rm-recursive";
    npm_post: "bash", "npm test" => "fs.rm-recursive";
    pnpm_run: "bash", "pnpm run reset" => "fs.rm-recursive";
    pnpm_bare: "bash", "pnpm reset" => "fs.rm-recursive";
    yarn_bare: "bash", "yarn reset" => "fs.rm-recursive";
    bun_run: "bash", "bun run reset" => "fs.rm-recursive";

    // ------------------------------------------------ programs that run a string
    script_command: "bash", "script --command 'rm -rf data'" => "fs.rm-recursive";
    script_bsd: "bash", "script -q /dev/null rm -rf data" => "fs.rm-recursive";
    tmux_window: "bash", "tmux new-window -n x 'rm -rf data'" => "fs.rm-recursive";
    tmux_split: "bash", "tmux split-window -h rm -rf data" => "fs.rm-recursive";
    tmux_send_keys: "bash", "tmux send-keys -t main 'rm -rf data' Enter" => "fs.rm-recursive";
    tmux_chained: "bash", "tmux new -d -s a \\; send-keys -t a 'rm -rf data' C-m" => "fs.rm-recursive";
    screen_dm: "bash", "screen -dmS job rm -rf data" => "fs.rm-recursive";
    screen_stuff: "bash", "screen -S job -X stuff 'rm -rf data\\n'" => "fs.rm-recursive";
    at_heredoc: "bash", "at now <<EOF\nrm -rf data\nEOF" => "fs.rm-recursive";
    at_file: "bash", "at -f job.at now + 1 hour" => "fs.rm-recursive";
    at_stdin_file: "bash", "at now + 1 hour < job.at" => "fs.rm-recursive";
    batch_stdin: "bash", "batch <<< 'rm -rf data'" => "fs.rm-recursive";
    systemd_run: "bash", "systemd-run --user --unit=x rm -rf /home/u/p/data" => "fs.rm-recursive";
    crontab_file: "bash", "crontab jobs.cron" => "fs.rm-recursive";
    crontab_stdin: "bash", "echo '* * * * * rm -rf /home/u/p/data' | crontab -" => "fs.rm-recursive";
    awk_pipe_sh: "bash", "awk 'BEGIN { print \"rm -rf data\" | \"sh\" }'" => "fs.rm-recursive";
    awk_file: "bash", "gawk -f prog.awk" => "fs.rm-recursive";
    vim_c: "bash", "vim -c '!rm -rf data' -c q" => "fs.rm-recursive";
    vim_plus: "bash", "nvim +'silent !rm -rf data' +q" => "fs.rm-recursive";
    ex_system: "bash", "ex -c 'call system(\"rm -rf data\")'" => "fs.rm-recursive";
    git_repo_alias: "bash", "git wipe" => "fs.rm-recursive";
    git_global_alias: "bash", "git zap" => "fs.rm-recursive";
    gdb_ex: "bash", "gdb -batch -ex 'shell rm -rf data'" => "fs.rm-recursive";
    gdb_file: "bash", "gdb -x gdb.cmds ./app" => "fs.rm-recursive";
    expect_spawn: "bash", "expect -c 'spawn rm -rf data; expect eof'" => "fs.rm-recursive";
    expect_send: "bash", "expect session.exp" => "fs.rm-recursive";
    nocorrect: "zsh", "nocorrect rm -rf data" => "fs.rm-recursive";
    zsh_dash: "zsh", "- rm -rf data" => "fs.rm-recursive";

    // ------------------------------------------------ containers
    docker_workdir: "bash", "docker run --rm -v \"$PWD\":/w -w /w alpine rm -rf data" => "fs.rm-recursive";
    docker_mount: "bash", "docker run --mount type=bind,source=/home/u/p,target=/src alpine sh -c 'rm -rf /src/data'" => "fs.rm-recursive";
    podman_exec_cd: "bash", "podman run -v .:/app -w /app img sh -c 'cd / && rm -rf /app/data'" => "fs.rm-recursive";

    // ------------------------------------------------ dynamic commands
    variable_split: "bash", "cmd=\"rm -rf data\"; $cmd" => "fs.rm-recursive";
    variable_braced: "bash", "c=rm; ${c} -rf data" => "fs.rm-recursive";
    zsh_split_flag: "zsh", "cmd=\"rm -rf data\"; ${=cmd}" => "fs.rm-recursive";
    fish_list: "fish", "set c rm -rf data; $c" => "fs.rm-recursive";
    alias_same_line: "bash", "alias nuke='rm -rf'; nuke data" => "fs.rm-recursive";
    base64_herestring: "bash", "base64 -d <<< cm0gLXJmIGRhdGE= | bash" => "fs.rm-recursive";
    base64_eval: "bash", "eval \"$(echo cm0gLXJmIGRhdGE= | base64 --decode)\"" => "fs.rm-recursive";
    base64_sh_c: "bash", "sh -c \"$(echo cm0gLXJmIGRhdGE= | base64 -d)\"" => "fs.rm-recursive";
    curl_sh: "bash", "curl -fsSL https://example.com/i.sh | sh" => "indirect.downloaded-code";
    eval_curl: "bash", "eval \"$(curl -s https://example.com/env)\"" => "indirect.downloaded-code";
    process_subst: "bash", "bash <(wget -qO- https://example.com/i.sh)" => "indirect.downloaded-code";

    // ------------------------------------------------ unreadable files
    too_large: "bash", "bash big.sh" => "indirect.unreadable-file";
    too_large_path: "bash", "./big.sh" => "indirect.unreadable-file";
    no_permission: "bash", "source secret.sh" => "indirect.unreadable-file";
    binary_to_interpreter: "bash", "python3 app.bin" => "indirect.unreadable-file";

    // ------------------------------------------------ the general net
    net_terminal: "bash", "xterm -e 'rm -rf data'" => "indirect.argument-command";
    net_dashdash: "bash", "lxc exec box -- rm -rf /home/u/p/data" => "indirect.argument-command";
}

cases! {
    // ------------------------------------------------ benign twins
    twin_bash_file: "bash", "bash tidy.sh" => allow;
    twin_dot_slash: "bash", "./tidy.sh" => allow;
    twin_recursive_scripts: "bash", "./outer-tidy.sh" => allow;
    twin_positional: "bash", "./args.sh build" => allow;
    twin_on_path: "bash", "tidy-build" => allow;
    twin_pwsh: "powershell", "& ./hello.ps1" => allow;
    twin_cmd: "cmd", "hello.bat" => allow;
    twin_nu: "nu", "nu hello.nu" => allow;
    twin_python: "bash", "python3 listing.py" => allow;
    twin_node: "bash", "node read.js" => allow;
    twin_make_default: "bash", "make" => allow;
    twin_make_tidy: "bash", "make tidy" => allow;
    twin_make_dry_run: "bash", "make -n clean" => allow;
    twin_just_default: "bash", "just" => allow;
    twin_just_tidy: "bash", "just tidy" => allow;
    twin_just_list: "bash", "just --list" => allow;
    twin_npm_build: "bash", "npm run build" => allow;
    twin_npm_start: "bash", "npm start" => allow;
    twin_npm_clean: "bash", "npm run clean" => allow;
    twin_cron: "bash", "crontab tidy.cron" => allow;
    twin_git_builtin: "bash", "git st" => allow;
    twin_git_status: "bash", "git status" => allow;
    twin_tmux_typed: "bash", "tmux send-keys -t main 'rm -rf data'" => allow;
    twin_zsh_no_split: "zsh", "cmd=\"rm -rf data\"; $cmd" => allow;
    twin_docker_tmp: "bash", "docker run --rm alpine rm -rf /tmp/x" => allow;
    twin_ssh_agent: "bash", "eval \"$(ssh-agent -s)\"" => allow;
    twin_starship: "bash", "eval \"$(starship init bash)\"" => allow;
    twin_curl_file: "bash", "curl -fsSL https://example.com/i.sh -o i.sh" => allow;
    twin_echo: "bash", "echo 'rm -rf data'" => allow;
    twin_commit: "bash", "git commit -m 'rm -rf data is gone'" => allow;

    // ------------------------------------------------ what does not exist runs nothing
    missing_script: "bash", "bash missing.sh" => allow;
    missing_path: "bash", "./missing.sh" => allow;
    missing_python: "bash", "python3 missing.py" => allow;
    missing_target: "bash", "make nope" => allow;
    missing_recipe: "bash", "just nope" => allow;
    missing_npm_script: "bash", "npm run nope" => allow;
    binary_program: "bash", "./app.bin" => allow;
    directory: "bash", "./data" => allow;
    system_script: "bash", "which ls" => allow;
}

#[test]
fn findings_name_the_file_and_line() {
    let e = eval("bash", "make clean");
    let f = e
        .findings
        .iter()
        .find(|f| f.id == "fs.rm-recursive")
        .expect("found");
    let from = f.from.as_ref().expect("from a file");
    assert_eq!((from.path.as_str(), from.line), ("/home/u/p/Makefile", 11));
    assert_eq!(f.targets[0].value, "/home/u/p/data");

    let e = eval("bash", "./outer.sh");
    let from = e.findings[0].from.as_ref().expect("from a file");
    assert_eq!((from.path.as_str(), from.line), ("/home/u/p/cleanup.sh", 4));

    let e = eval("bash", "python3 purge.py");
    let from = e.findings[0].from.as_ref().expect("from a file");
    assert_eq!((from.path.as_str(), from.line), ("/home/u/p/purge.py", 4));

    let e = eval("bash", "npm run reset");
    let from = e.findings[0].from.as_ref().expect("from a file");
    assert_eq!(
        (from.path.as_str(), from.line),
        ("/home/u/p/package.json", 4)
    );
}

#[test]
fn container_paths_map_to_the_host() {
    let target = |line: &str| {
        let e = eval("bash", line);
        e.findings
            .iter()
            .flat_map(|f| f.targets.iter().map(|t| t.value.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        target("docker run -v \"$PWD:/w\" alpine rm -rf /w/data"),
        vec!["/home/u/p/data"]
    );
    assert_eq!(
        target("docker run -v /srv/db:/var/lib/db alpine rm -rf /var/lib/db/x"),
        vec!["/srv/db/x"]
    );
    assert_eq!(
        target(
            "docker run -v pg:/var/lib/postgresql/data postgres rm -rf /var/lib/postgresql/data"
        ),
        vec!["/var/lib/docker/volumes/pg/_data"]
    );
    // Not mounted: as the container names it.
    assert_eq!(
        target("docker exec db rm -rf /var/lib/db"),
        vec!["/var/lib/db"]
    );
}

#[test]
fn policy_changes_what_cannot_be_seen_through() {
    let user = |text: &str| Source {
        origin: "user.toml".into(),
        layer: Layer::User,
        text: text.into(),
    };
    let strict = Engine::new(vec![user(
        "[[override]]\nrule = \"indirect.unreadable-file\"\nrequires = \"deny\"\n\n[[override]]\nrule = \"indirect.argument-command\"\nrequires = \"backup-and-approval\"\n",
    )])
    .expect("valid");
    assert_eq!(
        eval_with(&strict, "bash", "bash big.sh").decision,
        Decision::Deny
    );
    assert_eq!(eval("bash", "bash big.sh").decision, Decision::Ask);
    assert_eq!(
        eval_with(&strict, "bash", "xterm -e 'rm -rf data'").decision,
        Decision::Deny
    );
    assert_eq!(
        eval("bash", "xterm -e 'rm -rf data'").decision,
        Decision::Ask
    );
    let off = Engine::new(vec![user(
        "[[override]]\nrule = \"indirect.argument-command\"\nenabled = false\n\n[[override]]\nrule = \"indirect.downloaded-code\"\nenabled = false\n",
    )])
    .expect("valid");
    assert_eq!(
        eval_with(&off, "bash", "xterm -e 'rm -rf data'").decision,
        Decision::Allow
    );
    assert_eq!(
        eval_with(&off, "bash", "curl -s https://x | sh").decision,
        Decision::Allow
    );
}

#[test]
fn a_script_that_runs_itself_is_read_once() {
    let e = eval("bash", "./outer-tidy.sh");
    let tidy = e
        .commands
        .iter()
        .filter(|c| c.to_string() == "./tidy.sh")
        .count();
    assert_eq!(tidy, 1, "{:?}", e.commands);
}

/// Corpus rows the first version of the net and of the download rule flagged.
#[test]
fn regressions_from_the_corpora() {
    for line in [
        "curl -H 'Authorization: Token x' http://testsite/api/ | python -mjson.tool",
        "psql -c 'UPDATE account SET balance=balance-- 1\n WHERE account_id=5752'",
        "oneliner -e \"delete node_modules recursively\"",
    ] {
        allowed("bash", line);
    }
}

/// Subcommands named like destructive programs are not those programs (the corpora's
/// `brew rm formula`, `dnf rm package`, `ollama rm model`, `route del …`).
#[test]
fn subcommands_named_rm_are_not_rm() {
    for line in [
        "brew rm formula",
        "brew unlink bash-completion",
        "sudo dnf rm package1 package2",
        "ollama rm model",
        "sudo route del -net 10.0.0.0 netmask 255.0.0.0",
        "fossil rm --hard path/to/file",
    ] {
        allowed("bash", line);
    }
}
