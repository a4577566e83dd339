//! `backstop init SHELL` prints a shell's integration script; `install` and
//! `uninstall` add and remove one marked block in the shell's profile that loads it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};

use crate::cli::{InitArgs, InstallArgs};
use crate::config::Dirs;

/// The shells backstop integrates with, and their scripts (shell-integrations/).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Nu,
    Pwsh,
}

impl Shell {
    pub fn parse(name: &str) -> Result<Shell> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "bash" => Shell::Bash,
            "zsh" => Shell::Zsh,
            "fish" => Shell::Fish,
            "nu" | "nushell" => Shell::Nu,
            "powershell" | "pwsh" => Shell::Pwsh,
            other => {
                bail!("backstop integrates with bash, zsh, fish, nu and powershell, not `{other}`")
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Nu => "nu",
            Shell::Pwsh => "powershell",
        }
    }

    fn script(self) -> &'static str {
        match self {
            Shell::Bash => include_str!("../../../shell-integrations/bash/backstop.bash"),
            Shell::Zsh => include_str!("../../../shell-integrations/zsh/backstop.zsh"),
            Shell::Fish => include_str!("../../../shell-integrations/fish/backstop.fish"),
            Shell::Nu => include_str!("../../../shell-integrations/nu/backstop.nu"),
            Shell::Pwsh => {
                include_str!("../../../shell-integrations/powershell/backstop.ps1")
            }
        }
    }

    /// `text` as one literal word of this shell's language.
    pub fn quote(self, text: &str) -> String {
        match self {
            Shell::Bash | Shell::Zsh => format!("'{}'", text.replace('\'', r"'\''")),
            Shell::Fish => format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'")),
            // PowerShell also ends a single-quoted string at the typographic quotes
            // U+2018..U+201B; each is escaped by doubling, like `'`.
            Shell::Pwsh => {
                let mut q = String::from("'");
                for c in text.chars() {
                    if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}') {
                        q.push(c);
                    }
                    q.push(c);
                }
                q.push('\'');
                q
            }
            // A raw string needs more `#`s than any run of them after a quote inside.
            Shell::Nu => {
                let mut hashes = String::from("#");
                while text.contains(&format!("'{hashes}")) {
                    hashes.push('#');
                }
                format!("r{hashes}'{text}'{hashes}")
            }
        }
    }

    /// The profile `install` edits when no `--profile` is given.
    pub(crate) fn default_profile(self) -> Result<PathBuf> {
        let base = directories::BaseDirs::new()
            .context("cannot find your home directory; give the profile with --profile FILE")?;
        let home = base.home_dir();
        Ok(match self {
            Shell::Bash => home.join(".bashrc"),
            Shell::Zsh => std::env::var_os("ZDOTDIR")
                .filter(|z| !z.is_empty())
                .map_or_else(|| home.to_path_buf(), PathBuf::from)
                .join(".zshrc"),
            Shell::Fish => xdg_config(home).join("fish/config.fish"),
            Shell::Nu => xdg_config(home).join("nushell/config.nu"),
            Shell::Pwsh if cfg!(windows) => {
                windows_pwsh_profile(documents_dir(), home, "PowerShell")
            }
            Shell::Pwsh => xdg_config(home).join("powershell/Microsoft.PowerShell_profile.ps1"),
        })
    }

    /// Profile lines that run each database client through `backstop wrap`.
    fn wrap_clients(self, bin: &str) -> String {
        let b = self.quote(bin);
        WRAPPED_CLIENTS
            .iter()
            .map(|c| match self {
                Shell::Bash | Shell::Zsh => {
                    format!("alias {c}={}", self.quote(&format!("{b} wrap {c}")))
                }
                Shell::Fish => format!("function {c} --wraps {c}; {b} wrap {c} $argv; end"),
                Shell::Nu => format!("alias {c} = ^{b} wrap {c}"),
                Shell::Pwsh => format!("function {c} {{ & {b} wrap {c} @args }}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The profile line that loads the integration.
    fn loader(self, bin: &str, nu_script: &Path) -> String {
        let b = self.quote(bin);
        match self {
            Shell::Bash => format!("eval \"$({b} init bash)\""),
            Shell::Zsh => format!("eval \"$({b} init zsh)\""),
            Shell::Fish => format!("{b} init fish | source"),
            // nushell sources files only at parse time, so install renders the script
            // to a file and the profile sources that.
            Shell::Nu => format!("source {}", self.quote(&nu_script.display().to_string())),
            Shell::Pwsh => format!("Invoke-Expression (& {b} init powershell | Out-String)"),
        }
    }

    /// The profile line that loads backstop's tab completions (`nu_file`: where
    /// install rendered nushell's, which it too sources only at parse time).
    fn completions_loader(self, bin: &str, nu_file: &Path) -> String {
        let b = self.quote(bin);
        match self {
            // Loaded at the first Tab on `backstop`, not at every start: parsing the
            // whole script costs bash a few milliseconds (docs/doctor-and-completions.md).
            Shell::Bash => format!(
                "_backstop_lazy() {{ unset -f _backstop_lazy; eval \"$({b} completions bash)\" && _backstop \"$@\"; }}; complete -o bashdefault -o default -o nosort -F _backstop_lazy backstop"
            ),
            // `compdef` exists only once compinit has run; without it zsh completes nothing anyway.
            Shell::Zsh => format!(
                "(( $+functions[compdef] )) && {{ _backstop_lazy() {{ unfunction _backstop_lazy; eval \"$({b} completions zsh)\"; _backstop \"$@\"; }}; compdef _backstop_lazy backstop; }}"
            ),
            Shell::Fish => format!("{b} completions fish | source"),
            Shell::Nu => format!("source {}", self.quote(&nu_file.display().to_string())),
            Shell::Pwsh => {
                format!("Invoke-Expression (& {b} completions powershell | Out-String)")
            }
        }
    }
}

/// The clients `install --wrap-clients` puts behind `backstop wrap`.
const WRAPPED_CLIENTS: [&str; 6] = [
    "psql",
    "mysql",
    "mariadb",
    "sqlite3",
    "redis-cli",
    "mongosh",
];

/// The Documents folder as Windows knows it (it may be redirected, to OneDrive say).
fn documents_dir() -> Option<PathBuf> {
    directories::UserDirs::new().and_then(|u| u.document_dir().map(Path::to_path_buf))
}

/// `$PROFILE` on Windows: `Documents\PowerShell` for PowerShell 7, `Documents\WindowsPowerShell`
/// for Windows PowerShell 5.1 (`edition`).
fn windows_pwsh_profile(documents: Option<PathBuf>, home: &Path, edition: &str) -> PathBuf {
    documents
        .unwrap_or_else(|| home.join("Documents"))
        .join(edition)
        .join("Microsoft.PowerShell_profile.ps1")
}

/// Both shells and unix tools read `$XDG_CONFIG_HOME`, else `~/.config`, on every OS.
fn xdg_config(home: &Path) -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|x| !x.is_empty())
        .map_or_else(|| home.join(".config"), PathBuf::from)
}

/// This binary's absolute path, the one the integration will run.
pub fn own_path() -> Result<String> {
    let exe = std::env::current_exe().context("cannot tell where the backstop binary is")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let shown = exe.display().to_string();
    // Windows' canonical form `\\?\C:\…` is not a path every shell can run.
    Ok(match shown.strip_prefix(r"\\?\") {
        Some(rest) if !rest.starts_with("UNC\\") => rest.to_string(),
        _ => shown,
    })
}

/// Where `install nu` renders nushell's completions, which config.nu sources.
pub fn nu_completions_file(dirs: &Dirs) -> PathBuf {
    dirs.data.join("backstop-completions.nu")
}

/// Where the hook leaves a note that an approved line is about to run, so that the
/// prompt hook can report its exit status afterwards.
pub fn pending_dir(dirs: &Dirs) -> PathBuf {
    dirs.data.join("pending")
}

/// The integration script for `shell`, with the binary's path and backstop's
/// pending directory substituted, quoted for that shell.
pub fn render(shell: Shell, bin: &str, dirs: &Dirs) -> String {
    let mut script = shell.script().to_string();
    if script.contains("@BACKSTOP_WORDS@\n") {
        script = script.replace("@BACKSTOP_WORDS@\n", &super::words::block(shell, bin, dirs));
    }
    script.replace("@BACKSTOP_BIN@", &shell.quote(bin)).replace(
        "@BACKSTOP_PENDING@",
        &shell.quote(&pending_dir(dirs).display().to_string()),
    )
}

pub fn init(a: &InitArgs) -> Result<ExitCode> {
    let shell = Shell::parse(&a.shell)?;
    if a.words {
        super::words::print(shell, &own_path()?, &Dirs::discover()?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render(shell, &own_path()?, &Dirs::discover()?));
    Ok(ExitCode::SUCCESS)
}

pub(crate) const BEGIN: &str = "# >>> backstop >>>";
pub(crate) const END: &str = "# <<< backstop <<<";
/// Marks a block before which install added a newline the file lacked.
const ADDED_NEWLINE: &str = " (newline added)";

fn block(shell: Shell, loader: &str, added_newline: bool) -> String {
    let mark = if added_newline { ADDED_NEWLINE } else { "" };
    let name = shell.name();
    format!(
        "{BEGIN}{mark}\n# Added by `backstop install {name}`; `backstop uninstall {name}` removes this block.\n{loader}\n{END}\n"
    )
}

/// The profile's text with backstop's block (running `loader`) at its end, in place of
/// any block already there: what `install` writes; and whether there was one.
pub fn with_block(text: &str, shell: Shell, loader: &str) -> Result<(String, bool)> {
    let (mut new, had) = without_block(text)?;
    let needs_newline = !new.is_empty() && !new.ends_with('\n');
    if needs_newline {
        new.push('\n');
    }
    new.push_str(&block(shell, loader, needs_newline));
    Ok((new, had))
}

/// The profile's text without backstop's blocks (a copied profile may hold two), and
/// whether there was one: what `uninstall` writes. A block runs from a line that is
/// its first marker to a line that is its last: text that only holds a marker is not
/// one.
pub fn without_block(text: &str) -> Result<(String, bool)> {
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    while let Some(start) = marker_line(text, cursor, |l| {
        l == BEGIN || l.strip_prefix(BEGIN) == Some(ADDED_NEWLINE)
    }) {
        let Some(end_line) = marker_line(text, start, |l| l == END) else {
            bail!("the profile has a `{BEGIN}` line without its `{END}`; fix the block by hand, then run this again");
        };
        let end = text[end_line..]
            .find('\n')
            .map_or(text.len(), |i| end_line + i + 1);
        out.push_str(&text[cursor..start]);
        // The newline install added before the block goes with it, when nothing was
        // written after the block since (else it would join two lines).
        let added_newline = text[start..].starts_with(&format!("{BEGIN}{ADDED_NEWLINE}"));
        if added_newline && end == text.len() && out.ends_with('\n') {
            out.pop();
        }
        cursor = end;
    }
    let had = cursor > 0;
    out.push_str(&text[cursor..]);
    Ok((out, had))
}

/// Where the first line from `from` on that `is_marker` (without its line ending) starts.
fn marker_line(text: &str, from: usize, is_marker: impl Fn(&str) -> bool) -> Option<usize> {
    let mut at = from;
    while at < text.len() {
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let line = &text[at..line_end];
        if is_marker(line.strip_suffix('\r').unwrap_or(line)) {
            return Some(at);
        }
        at = line_end + 1;
    }
    None
}

/// The shell `install`/`uninstall` names when it is not an agent.
fn shell_for_profile(a: &InstallArgs) -> Result<Shell> {
    if a.project {
        bail!("--project is for agents (claude, codex, gemini, cursor, copilot); give a shell's profile with --profile FILE");
    }
    Shell::parse(&a.shell).context(
        "install and uninstall also take an agent: claude, codex, gemini, cursor or copilot",
    )
}

pub fn install(a: &InstallArgs) -> Result<ExitCode> {
    if let Some(agent) = crate::agent::Agent::from_name(&a.shell) {
        if a.wrap_clients {
            bail!("--wrap-clients is for shells: agents do not use interactive database clients");
        }
        return crate::agent::settings::install(agent, a);
    }
    let shell = shell_for_profile(a)?;
    let dirs = Dirs::discover()?;
    let profile = match &a.profile {
        Some(p) => p.clone(),
        None => shell.default_profile()?,
    };
    let bin = own_path()?;
    let nu_script = dirs.data.join("backstop.nu");
    let nu_completions = nu_completions_file(&dirs);
    if shell == Shell::Nu {
        std::fs::create_dir_all(&dirs.data)
            .with_context(|| format!("cannot create {}", dirs.data.display()))?;
        backstop_backup::atomic::write_atomic(&nu_script, render(shell, &bin, &dirs).as_bytes())?;
        if !a.no_completions {
            backstop_backup::atomic::write_atomic(
                &nu_completions,
                &super::completions::script(shell),
            )?;
        }
    }
    let mut loader = shell.loader(&bin, &nu_script);
    if !a.no_completions {
        loader.push('\n');
        loader.push_str(&shell.completions_loader(&bin, &nu_completions));
    }
    let old = match std::fs::read_to_string(&profile) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", profile.display())),
    };
    if a.wrap_clients {
        loader.push_str("\n# Database clients run through `backstop wrap` (--wrap-clients).\n");
        loader.push_str(&shell.wrap_clients(&bin));
    }
    let (new, had) = with_block(&old, shell, &loader)?;
    if new == old {
        crate::outln!("backstop is already installed in {}", profile.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(parent) = profile.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    backstop_backup::atomic::write_atomic(&profile, new.as_bytes())?;
    if a.wrap_clients {
        crate::outln!(
            "psql, mysql, mariadb, sqlite3, redis-cli and mongosh will run through `backstop wrap` in new {} sessions; `backstop uninstall {}` removes that with the rest",
            shell.name(),
            shell.name()
        )?;
    }
    crate::outln!(
        "{} backstop in {}{}; open a new {} to use it",
        if had { "updated" } else { "installed" },
        profile.display(),
        if old.is_empty() {
            String::new()
        } else {
            format!(
                " (the previous version is kept as {})",
                backstop_backup::atomic::backup_path(&profile).display()
            )
        },
        shell.name()
    )?;
    suggest_setup(&dirs);
    if shell == Shell::Pwsh && cfg!(windows) && a.profile.is_none() {
        if let Some(base) = directories::BaseDirs::new() {
            let legacy =
                windows_pwsh_profile(documents_dir(), base.home_dir(), "WindowsPowerShell");
            crate::outln!(
                "Windows PowerShell 5.1 (powershell.exe) reads another profile; to check its lines too: backstop install powershell --profile {}",
                Shell::Pwsh.quote(&legacy.display().to_string())
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// With no destinations configured, a refused line can only be backed up by hand:
/// say how to configure them once.
fn suggest_setup(dirs: &Dirs) {
    let configured = crate::settings::Settings::load(dirs).map(|s| !s.backup.to.is_empty());
    if let Ok(false) = configured {
        // A hint only: a closed stdout must not fail the install that just happened.
        let _ = crate::outln!("No backup destinations are configured yet: run `backstop setup` to choose two (a second disk, a NAS, restic or rclone), so that a line refused for want of a backup can be backed up on the spot.");
    }
}

pub fn uninstall(a: &InstallArgs) -> Result<ExitCode> {
    if let Some(agent) = crate::agent::Agent::from_name(&a.shell) {
        return crate::agent::settings::uninstall(agent, a);
    }
    let shell = shell_for_profile(a)?;
    let profile = match &a.profile {
        Some(p) => p.clone(),
        None => shell.default_profile()?,
    };
    let old = match std::fs::read_to_string(&profile) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", profile.display())),
    };
    let (new, had) = without_block(&old)?;
    if !had {
        crate::outln!("backstop is not installed in {}", profile.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    backstop_backup::atomic::write_atomic(&profile, new.as_bytes())?;
    crate::outln!(
        "removed backstop from {}; open a new {} for it to take effect",
        profile.display(),
        shell.name()
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_profiles_are_under_documents() {
        let home = Path::new(r"C:\Users\ada");
        let onedrive = PathBuf::from(r"C:\Users\ada\OneDrive\Documents");
        assert_eq!(
            windows_pwsh_profile(Some(onedrive.clone()), home, "PowerShell"),
            onedrive
                .join("PowerShell")
                .join("Microsoft.PowerShell_profile.ps1")
        );
        assert_eq!(
            windows_pwsh_profile(None, home, "WindowsPowerShell"),
            home.join("Documents")
                .join("WindowsPowerShell")
                .join("Microsoft.PowerShell_profile.ps1")
        );
    }

    #[test]
    fn quoting_survives_each_shells_special_characters() {
        let nasty = r#"/opt/it's a "dir"\with $x`y`"#;
        assert_eq!(
            Shell::Bash.quote(nasty),
            r#"'/opt/it'\''s a "dir"\with $x`y`'"#
        );
        assert_eq!(
            Shell::Fish.quote(nasty),
            r#"'/opt/it\'s a "dir"\\with $x`y`'"#
        );
        assert_eq!(
            Shell::Pwsh.quote(nasty),
            r#"'/opt/it''s a "dir"\with $x`y`'"#
        );
        assert_eq!(Shell::Nu.quote("/a'#b"), "r##'/a'#b'##");
        assert_eq!(
            Shell::Nu.quote("/usr/bin/backstop"),
            "r#'/usr/bin/backstop'#"
        );
    }

    #[test]
    fn the_block_comes_out_exactly() {
        for original in ["", "alias ll='ls -l'\n", "no newline at the end"] {
            let b = block(
                Shell::Bash,
                "eval x",
                !original.is_empty() && !original.ends_with('\n'),
            );
            let mut with = original.to_string();
            if !original.is_empty() && !original.ends_with('\n') {
                with.push('\n');
            }
            with.push_str(&b);
            assert_eq!(without_block(&with).unwrap(), (original.to_string(), true));
            // A line written after the block since stays a line of its own.
            with.push_str("export AFTER=1\n");
            let (back, had) = without_block(&with).unwrap();
            assert!(had);
            let newline = if original.is_empty() || original.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            assert_eq!(back, format!("{original}{newline}export AFTER=1\n"));
        }
        assert!(without_block("# >>> backstop >>>\nno end").is_err());
        // Only whole marker lines mark a block.
        let quoted = "echo '# >>> backstop >>>'\n# <<< backstop <<< not the end\n";
        assert_eq!(without_block(quoted).unwrap(), (quoted.to_string(), false));
    }
}
