//! The command line, and nothing else: each subcommand's work is in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Stands between you and the one command that destroys your data.
#[derive(Debug, Parser)]
#[command(name = "backstop", version, about, long_about = None)]
#[command(
    after_help = "Exit codes for check: 0 allow, 1 ask (a person must approve), 2 deny, 3 bad input or configuration.\n\
Exit codes for verify and restore-test: 0 proven, 1 a copy or a restore failed; every command: 3 on an error (nothing is left half-done).\n\
Exit codes for restore and undo: 0 restored, 1 no copy could be restored (nothing was written at the place), 3 refused (the place is not empty) or bad input.\n\
BACKSTOP_HOME=DIR keeps all configuration and state under DIR."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Decide a command line without running or prompting (exit 0 allow, 1 ask, 2 deny, 3 error)
    Check(CheckArgs),
    /// Show, for a person, how a line is read, what matched and what would satisfy it
    Explain(LineArgs),
    /// Report what backstop would have stopped in a history file (bash, zsh, fish) or stdin
    Scan(ScanArgs),
    /// Inspect, test and validate policies
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Back something up: one pass writes two copies on different filesystems, both
    /// are re-read and checked, and a manifest records it
    Backup(BackupArgs),
    /// List the backups backstop has made, or show one
    Manifests(ManifestsArgs),
    /// Prove recorded backups again: every copy present, in separate failure domains,
    /// re-hashed (local ones sampled above 256 MiB unless --full; remote ones read
    /// back through restic or rclone, renewing their proof), their content checked
    Verify(VerifyArgs),
    /// Prove a backup restores: into a scratch directory, database or distribution,
    /// compared with what was recorded; the result goes into the manifest
    RestoreTest(IdArgs),
    /// Delete a backup's copies (or every old one), once its restore test has passed
    Cleanup(CleanupArgs),
    /// Choose where backups go: two destinations in different failure domains, each
    /// tried, written to config.toml
    Setup(SetupArgs),
    /// Put a backup back where it was (or elsewhere with --to), from the first copy
    /// that verifies; a place that is not empty is replaced only with --force, after
    /// backing it up (exit 0 restored, 1 no copy could be restored, 3 refused)
    Restore(RestoreArgs),
    /// Put back what an approved line destroyed (or one a backup let through without
    /// asking), from the backups or the git commit that covered it (`undo --list`
    /// shows the recent ones and what undo would restore)
    Undo(UndoArgs),
    /// Decide a line for a shell integration: prints nothing and exits 0 to run it;
    /// refuses (2) or asks the person at the terminal for the approval phrase (0 or 1)
    Hook(HookArgs),
    /// The audit log of decisions, approvals and refusals; `audit verify` checks its chain
    Audit(AuditArgs),
    /// Print the integration script for a shell (bash, zsh, fish, nu, powershell)
    Init(InitArgs),
    /// Load backstop in a shell's profile, or register it as an AI coding agent's hook
    Install(InstallArgs),
    /// Remove backstop from a shell's profile or an agent's hook settings
    Uninstall(InstallArgs),
    /// Decide an AI coding agent's shell command: reads the agent's hook JSON on stdin
    /// and answers in its protocol (claude, codex, gemini, cursor, copilot)
    AgentHook(AgentHookArgs),
    /// Run psql, mysql, mariadb, sqlite3, redis-cli or mongosh with each statement you
    /// submit decided before the client gets it
    Wrap(WrapArgs),
    /// Check that backstop works here: each shell and agent it is installed in, the
    /// policies, the data directory, the audit log, the destinations, the backups
    Doctor(DoctorArgs),
    /// Print completions for a shell (bash, zsh, fish, powershell, nu)
    Completions(CompletionsArgs),
    /// Print backstop's man page, or a subcommand's (roff: `backstop man | man -l -`)
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A subcommand (`check`, `backup`, …) for its own page, backstop-SUBCOMMAND(1)
    pub subcommand: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 nothing is broken (warnings may be printed), 1 something is broken (each problem names its fix), 3 doctor itself failed.\n\
Starts each installed shell with its own start-up files, and runs restic or rclone for remote destinations; each probe is given a few seconds at most."
)]
pub struct DoctorArgs {
    /// Print the findings as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Load them:\n  bash:  eval \"$(backstop completions bash)\"   (or save to ~/.local/share/bash-completion/completions/backstop)\n  zsh:   backstop completions zsh > ~/.zfunc/_backstop   (with fpath+=(~/.zfunc) before compinit)\n  fish:  backstop completions fish > ~/.config/fish/completions/backstop.fish\n  nu:    backstop completions nu | save -f ~/.config/nushell/backstop-completions.nu; then `source` it in config.nu\n  powershell:  backstop completions powershell | Out-String | Invoke-Expression\n`backstop install SHELL` loads them with the integration."
)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or nu
    pub shell: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  backstop wrap psql -d app\n  backstop wrap sqlite3 ~/notes.db\n  backstop wrap redis-cli -p 6380\n\
Exit codes: the client's own; 2 when its arguments or piped input are refused, 1 when they are not approved, 3 on an error."
)]
pub struct WrapArgs {
    /// The client: psql, mysql, mariadb, sqlite3, redis-cli or mongosh
    pub client: String,
    /// The client's own arguments
    #[arg(num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Always exits 0 with the answer in the agent's JSON on stdout: a command backstop does not object to gets `{}` (the agent's own permission rules then apply); any error, timeout or unreadable input is answered with a deny. Exit 2 (which most agents take as a block) only when AGENT itself is unknown."
)]
pub struct AgentHookArgs {
    /// claude, codex, gemini, cursor or copilot
    pub agent: String,
}

/// `backstop agent-hook …` parsed alone: agents call it before every shell command.
#[derive(Debug, Parser)]
#[command(
    name = "backstop agent-hook",
    bin_name = "backstop agent-hook",
    version
)]
#[command(about = "Decide an AI coding agent's shell command (hook JSON on stdin)")]
pub struct AgentHookOnly {
    #[command(flatten)]
    pub args: AgentHookArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 run the line, 1 a person did not approve it (or there is no terminal), 2 denied; anything else means backstop failed, and the integrations run the line with a warning."
)]
pub struct HookArgs {
    /// The shell whose rules the line follows
    #[arg(long, short = 's', default_value = "bash")]
    pub shell: String,
    /// The shell session (its PID), to report on an approved line afterwards
    #[arg(long)]
    pub session: Option<String>,
    /// The directory the line would run in (default: the current directory)
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Read the line from this environment variable (PowerShell passes it this way)
    #[arg(long, value_name = "VAR")]
    pub line_env: Option<String>,
    /// Called from the prompt after an approved line ran: record its exit status and
    /// remind the person of restore-test and cleanup
    #[arg(long, requires = "session")]
    pub after: bool,
    /// With --after: the line's exit status
    #[arg(long, requires = "after", allow_hyphen_values = true)]
    pub status: Option<i64>,
    /// The command line; several words are joined with spaces
    #[arg(num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub line: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub cmd: Option<AuditCmd>,
    /// Print the records as JSON lines
    #[arg(long)]
    pub json: bool,
    /// Only the last N records
    #[arg(long, short = 'n')]
    pub last: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check that no record was edited, removed or reordered (exit 1 if one was)
    Verify,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// bash, zsh, fish, nu or powershell
    pub shell: String,
    /// Print only the program words the shell looks lines up in (the integration
    /// loads them again with this when a policy file changes)
    #[arg(long, hide = true)]
    pub words: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A shell (bash, zsh, fish, nu, powershell) or an agent (claude, codex, gemini,
    /// cursor, copilot)
    pub shell: String,
    /// The profile or settings file to edit, instead of the usual one (~/.bashrc,
    /// ~/.zshrc, ~/.config/fish/config.fish, ~/.config/nushell/config.nu, the
    /// PowerShell $PROFILE; ~/.claude/settings.json, ~/.codex/hooks.json,
    /// ~/.gemini/settings.json, ~/.cursor/hooks.json, ~/.copilot/hooks/backstop.json)
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// For an agent: edit the project's settings in the current directory
    /// (.claude/settings.json, .codex/hooks.json, …) instead of the user's
    #[arg(long, conflicts_with = "profile")]
    pub project: bool,
    /// For a shell: load the integration only, without backstop's tab completions
    #[arg(long)]
    pub no_completions: bool,
    /// For a shell: also make psql, mysql, mariadb, sqlite3, redis-cli and mongosh
    /// run through `backstop wrap` (aliases in the same block; `uninstall` removes
    /// them, and installing again without this flag drops them)
    #[arg(long)]
    pub wrap_clients: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Manifest ids; every manifest when none is given
    pub ids: Vec<String>,
    /// Hash every copy in full, however large (otherwise copies over 256 MiB are
    /// checked by hashing a fresh random sample of blocks)
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// The manifest id (`backstop manifests` lists them)
    pub id: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  backstop cleanup bk-1764000000-1a2b3c4d\n  backstop cleanup --older-than 30days --keep-last 2"
)]
pub struct CleanupArgs {
    /// The manifest id (`backstop manifests` lists them)
    #[arg(required_unless_present = "older_than", conflicts_with = "older_than")]
    pub id: Option<String>,
    /// Every backup made longer ago than this (`30days`, `2weeks`, `12h`)
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// With --older-than: keep the newest N backups of each target whatever their age
    #[arg(long, value_name = "N", requires = "older_than")]
    pub keep_last: Option<usize>,
    /// Delete even though no restore test has passed; you type the id (or DELETE for
    /// several) at the terminal to confirm (no script can)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 restored, 1 no copy could be restored (nothing was written at the place), 3 refused (the place is not empty; nothing was changed) or bad input.\n\
Examples:\n  backstop restore bk-1733580000-1a2b3c4d\n  backstop restore bk-1733580000-1a2b3c4d --to ~/restored/photos\n  backstop restore bk-1733580000-1a2b3c4d --to shop_copy      (a database under another name)\n  backstop restore bk-1733580000-1a2b3c4d --force             (back up what is there, then replace it)\n  backstop restore bk-1733580000-1a2b3c4d --force --backup-to /media/usb --backup-to rclone:nas:backstop"
)]
pub struct RestoreArgs {
    /// The manifest id (`backstop manifests` lists them)
    pub id: String,
    /// Restore elsewhere: another path, database name or distribution name (for wsl,
    /// an absolute path is the directory to import into, keeping the name)
    #[arg(long, value_name = "PLACE")]
    pub to: Option<String>,
    /// For kinds that keep files of their own (wsl): the directory they go in
    /// (default: backstop's data directory, KIND/NAME)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Replace what is at the place: it is backed up first (a new manifest, copies in
    /// two failure domains), so nothing is lost
    #[arg(long)]
    pub force: bool,
    /// With --force: where that backup goes (a directory, restic:REPO or
    /// rclone:REMOTE:PATH; two or more in different failure domains). Default: where
    /// this backup's own copies are, else the destinations in config.toml
    #[arg(long = "backup-to", value_name = "DEST", requires = "force")]
    pub backup_to: Vec<String>,
    /// Print the outcome as one JSON object (what happened goes to stderr)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "N is the line's number in the audit log, as `backstop undo --list` and `backstop audit` show it.\n\
A target git held comes back with `git restore --source=COMMIT`, only into a free place (not even --force replaces what is there).\n\
Exit codes: 0 restored, 1 a target could not be restored, 3 refused (a place is not empty; nothing was changed) or bad input."
)]
pub struct UndoArgs {
    /// The line to undo (default: the last one approved or let through)
    pub n: Option<u64>,
    /// Show the recent approved lines and what undo would restore for each
    #[arg(long, conflicts_with_all = ["n", "force"])]
    pub list: bool,
    /// Replace targets that are still there (a `DELETE FROM t` leaves its database):
    /// each is backed up first
    #[arg(long)]
    pub force: bool,
    /// With --force: where those backups go (a directory, restic:REPO or
    /// rclone:REMOTE:PATH; two or more). Default: where the copies of the backup each
    /// target is restored from are, else the destinations in config.toml
    #[arg(long = "backup-to", value_name = "DEST", requires = "force")]
    pub backup_to: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Targets: a path; sqlite:FILE; postgres:DBNAME; mysql:DBNAME; wsl:DISTRO; registry:KEY; or any kind a policy file's [[recipe]] defines.\n\
Destinations: a directory, restic:REPO (run through restic; its password from RESTIC_PASSWORD_FILE or _COMMAND), rclone:REMOTE:PATH (run through rclone). Without --to, those in config.toml (`backstop setup`).\n\
Examples:\n  backstop backup ~/projects/site\n  backstop backup ~/projects/site --to /mnt/backup --to /media/usb/backup\n  backstop backup postgres:shop --to /srv/backup --to rclone:nas:backstop\n  backstop backup --for 'rm -rf ~/data'"
)]
pub struct BackupArgs {
    /// What to back up (see below); not with --for
    #[arg(required_unless_present = "for_line", conflicts_with = "for_line")]
    pub target: Option<String>,
    /// Back up what this command line would destroy
    #[arg(long = "for", value_name = "LINE")]
    pub for_line: Option<String>,
    /// The shell whose rules the --for line follows
    #[arg(long, short = 's', default_value = "bash", requires = "for_line")]
    pub shell: String,
    /// The kind of target, when its text does not say (`--kind sqlite app.db`)
    #[arg(long)]
    pub kind: Option<String>,
    /// A destination: a directory, restic:REPO or rclone:REMOTE:PATH; give two or more
    /// in different failure domains (default: `[backup] to` in config.toml)
    #[arg(long = "to", value_name = "DEST")]
    pub to: Vec<String>,
    /// Accept copies that share a failure domain (the manifest records it as not redundant)
    #[arg(long)]
    pub same_device: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Without --to, on a terminal: a guide that lists candidate destinations and asks for two.\n\
Examples:\n  backstop setup\n  backstop setup --to /media/usb/backstop --to rclone:nas:backstop\n  backstop setup --to /mnt/disk2/backstop --to restic:sftp:nas:/srv/restic"
)]
pub struct SetupArgs {
    /// A destination to configure (a directory, restic:REPO or rclone:REMOTE:PATH);
    /// give two or more. Each is tried (write, read back, delete) first
    #[arg(long = "to", value_name = "DEST")]
    pub to: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ManifestsArgs {
    /// Print the manifests as JSON
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub show: Option<ManifestsCmd>,
}

#[derive(Debug, Subcommand)]
pub enum ManifestsCmd {
    /// Show one manifest in full (JSON)
    Show { id: String },
}

#[derive(Debug, Args)]
pub struct LineArgs {
    /// The shell whose rules the line follows: bash, zsh, fish, powershell, nu, cmd
    #[arg(long, short = 's', default_value = "bash")]
    pub shell: String,
    /// The directory the line would run in (default: the current directory)
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// The command line; several words are joined with spaces
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub line: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub line: LineArgs,
    /// Print the decision as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The shell whose rules the lines follow (the history format is detected)
    #[arg(long, short = 's', default_value = "bash")]
    pub shell: String,
    /// A history file; standard input when absent or `-`
    pub file: Option<PathBuf>,
    /// Print every stopped line as a JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// List the rules in force: the packs people reach for first, backstop's own last
    List(PolicyListArgs),
    /// Show one rule: what it matches, its targets, exceptions and examples
    Show { id: String },
    /// Run a policy file's examples (all layers in force when no file is given)
    Test {
        file: Option<PathBuf>,
        /// Read FILE as the system layer would (`locked = true` is allowed there)
        #[arg(long, requires = "file")]
        system: bool,
    },
    /// Validate a policy file (all layers in force when no file is given)
    Check {
        file: Option<PathBuf>,
        /// Read FILE as the system layer would (`locked = true` is allowed there)
        #[arg(long, requires = "file")]
        system: bool,
    },
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  backstop policy list --pack git\n  backstop policy list --program rm\n  backstop policy list --requires deny --json"
)]
pub struct PolicyListArgs {
    /// Only the rules of this pack (filesystem, git, sql, disks, … or a policy file's pack id)
    #[arg(long, value_name = "PACK")]
    pub pack: Option<String>,
    /// Only the rules that look at this program (`rm`, `git`, `psql`)
    #[arg(long, value_name = "PROGRAM")]
    pub program: Option<String>,
    /// Only the rules that require this: deny, approval, backup or backup-and-approval
    #[arg(long, value_name = "REQUIREMENT")]
    pub requires: Option<String>,
    /// Print the rules as a JSON array
    #[arg(long)]
    pub json: bool,
}

/// `backstop check …` parsed alone: a pre-exec hook calls it before every command,
/// and building the whole subcommand tree each time is most of clap's cost.
#[derive(Debug, Parser)]
#[command(name = "backstop check", bin_name = "backstop check", version)]
#[command(about = "Decide a command line without running or prompting")]
#[command(
    after_help = "Exit codes: 0 allow, 1 ask (a person must approve), 2 deny, 3 bad input or configuration."
)]
pub struct CheckOnly {
    #[command(flatten)]
    pub args: CheckArgs,
}

/// `backstop hook …` parsed alone, for the same reason: the shells call it per line.
#[derive(Debug, Parser)]
#[command(name = "backstop hook", bin_name = "backstop hook", version)]
#[command(about = "Decide a line for a shell integration")]
pub struct HookOnly {
    #[command(flatten)]
    pub args: HookArgs,
}
