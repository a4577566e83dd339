//! What PowerShell does to a command once it is read: keywords and assignments
//! are not commands, aliases name cmdlets (`rm`, `del`, `ri` → `Remove-Item`),
//! parameters are case-insensitive and may be abbreviated to any unambiguous
//! prefix (`-rec`, `-fo`), and switches take `:$true` / `:$false`. The reader
//! writes each parameter of the cmdlets the packs know in its full spelling, so a
//! rule names `-Recurse` once.

use base64::Engine as _;

use crate::command::{Command, Stdin, Word};

/// Built-in aliases of the cmdlets the packs and the reader care about.
const ALIASES: &[(&str, &str)] = &[
    ("rm", "Remove-Item"),
    ("del", "Remove-Item"),
    ("erase", "Remove-Item"),
    ("ri", "Remove-Item"),
    ("rd", "Remove-Item"),
    ("rmdir", "Remove-Item"),
    ("rp", "Remove-ItemProperty"),
    ("clc", "Clear-Content"),
    ("cli", "Clear-Item"),
    ("clp", "Clear-ItemProperty"),
    ("iex", "Invoke-Expression"),
    ("saps", "Start-Process"),
    ("start", "Start-Process"),
    ("icm", "Invoke-Command"),
    ("%", "ForEach-Object"),
    ("?", "Where-Object"),
    ("where", "Where-Object"),
    ("gci", "Get-ChildItem"),
    ("ls", "Get-ChildItem"),
    ("dir", "Get-ChildItem"),
    ("gi", "Get-Item"),
    ("echo", "Write-Output"),
    ("write", "Write-Output"),
    ("cp", "Copy-Item"),
    ("copy", "Copy-Item"),
    ("cpi", "Copy-Item"),
    ("mv", "Move-Item"),
    ("move", "Move-Item"),
    ("mi", "Move-Item"),
    ("cat", "Get-Content"),
    ("gc", "Get-Content"),
    ("type", "Get-Content"),
    ("sort", "Sort-Object"),
    ("select", "Select-Object"),
];

const COMMON: &[&str] = &[
    "Verbose",
    "Debug",
    "ErrorAction",
    "WarningAction",
    "InformationAction",
    "ProgressAction",
    "ErrorVariable",
    "WarningVariable",
    "InformationVariable",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
];
const COMMON_SWITCHES: &[&str] = &["Verbose", "Debug", "WhatIf", "Confirm"];
/// Risk-mitigation parameters, only on cmdlets that change things.
const RISK: &[&str] = &["WhatIf", "Confirm"];
const COMMON_ALIASES: &[(&str, &str)] = &[
    ("vb", "Verbose"),
    ("db", "Debug"),
    ("ea", "ErrorAction"),
    ("wa", "WarningAction"),
    ("infa", "InformationAction"),
    ("proga", "ProgressAction"),
    ("ev", "ErrorVariable"),
    ("wv", "WarningVariable"),
    ("iv", "InformationVariable"),
    ("ov", "OutVariable"),
    ("ob", "OutBuffer"),
    ("pv", "PipelineVariable"),
    ("wi", "WhatIf"),
    ("cf", "Confirm"),
];

struct Cmdlet {
    name: &'static str,
    /// Parameters taking a value.
    values: &'static [&'static str],
    switches: &'static [&'static str],
    /// Parameter aliases (`-LP` for `-LiteralPath`).
    aliases: &'static [(&'static str, &'static str)],
    changes: bool,
}

const PATHS: &[&str] = &[
    "Path",
    "LiteralPath",
    "Filter",
    "Include",
    "Exclude",
    "Credential",
];
const PATH_ALIASES: &[(&str, &str)] = &[("PSPath", "LiteralPath"), ("LP", "LiteralPath")];

const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Remove-Item",
        values: &[
            "Path",
            "LiteralPath",
            "Filter",
            "Include",
            "Exclude",
            "Credential",
            "Stream",
        ],
        switches: &["Recurse", "Force"],
        aliases: PATH_ALIASES,
        changes: true,
    },
    Cmdlet {
        name: "Remove-ItemProperty",
        values: &[
            "Path",
            "LiteralPath",
            "Name",
            "Filter",
            "Include",
            "Exclude",
            "Credential",
        ],
        switches: &["Force"],
        aliases: PATH_ALIASES,
        changes: true,
    },
    Cmdlet {
        name: "Clear-Content",
        values: &[
            "Path",
            "LiteralPath",
            "Filter",
            "Include",
            "Exclude",
            "Credential",
            "Stream",
        ],
        switches: &["Force"],
        aliases: PATH_ALIASES,
        changes: true,
    },
    Cmdlet {
        name: "Clear-Item",
        values: PATHS,
        switches: &["Force"],
        aliases: PATH_ALIASES,
        changes: true,
    },
    Cmdlet {
        name: "Clear-ItemProperty",
        values: &[
            "Path",
            "LiteralPath",
            "Name",
            "Filter",
            "Include",
            "Exclude",
            "Credential",
        ],
        switches: &["Force", "PassThru"],
        aliases: PATH_ALIASES,
        changes: true,
    },
    Cmdlet {
        name: "Set-Content",
        values: &[
            "Path",
            "LiteralPath",
            "Value",
            "Filter",
            "Include",
            "Exclude",
            "Credential",
            "Encoding",
            "Stream",
        ],
        switches: &["PassThru", "Force", "NoNewline", "AsByteStream"],
        aliases: PATH_ALIASES,
        changes: true,
    },
    Cmdlet {
        name: "Out-File",
        values: &[
            "FilePath",
            "LiteralPath",
            "Encoding",
            "Width",
            "InputObject",
        ],
        switches: &["Append", "Force", "NoClobber", "NoNewline"],
        aliases: &[
            ("Path", "FilePath"),
            ("PSPath", "LiteralPath"),
            ("LP", "LiteralPath"),
        ],
        changes: true,
    },
    Cmdlet {
        name: "Copy-Item",
        values: &[
            "Path",
            "LiteralPath",
            "Destination",
            "Filter",
            "Include",
            "Exclude",
            "Credential",
            "FromSession",
            "ToSession",
        ],
        switches: &["Container", "Force", "Recurse", "PassThru"],
        aliases: PATH_ALIASES,
        changes: true,
    },
    Cmdlet {
        name: "Move-Item",
        values: &[
            "Path",
            "LiteralPath",
            "Destination",
            "Filter",
            "Include",
            "Exclude",
            "Credential",
        ],
        switches: &["Force", "PassThru"],
        aliases: PATH_ALIASES,
        changes: true,
    },
    Cmdlet {
        name: "Get-ChildItem",
        values: &[
            "Path",
            "LiteralPath",
            "Filter",
            "Include",
            "Exclude",
            "Depth",
            "Attributes",
        ],
        switches: &[
            "Recurse",
            "Force",
            "Name",
            "FollowSymlink",
            "Directory",
            "File",
            "Hidden",
            "ReadOnly",
            "System",
        ],
        aliases: PATH_ALIASES,
        changes: false,
    },
    Cmdlet {
        name: "Get-Item",
        values: &[
            "Path",
            "LiteralPath",
            "Filter",
            "Include",
            "Exclude",
            "Credential",
            "Stream",
        ],
        switches: &["Force"],
        aliases: PATH_ALIASES,
        changes: false,
    },
    Cmdlet {
        name: "Start-Process",
        values: &[
            "FilePath",
            "ArgumentList",
            "Credential",
            "WorkingDirectory",
            "RedirectStandardError",
            "RedirectStandardInput",
            "RedirectStandardOutput",
            "Verb",
            "WindowStyle",
            "Environment",
        ],
        switches: &[
            "LoadUserProfile",
            "NoNewWindow",
            "PassThru",
            "Wait",
            "UseNewEnvironment",
        ],
        aliases: &[
            ("Args", "ArgumentList"),
            ("PSPath", "FilePath"),
            ("Path", "FilePath"),
        ],
        changes: false,
    },
    Cmdlet {
        name: "Invoke-Expression",
        values: &["Command"],
        switches: &[],
        aliases: &[],
        changes: false,
    },
    Cmdlet {
        name: "Format-Volume",
        values: &[
            "DriveLetter",
            "Path",
            "ObjectId",
            "UniqueId",
            "FileSystemLabel",
            "Partition",
            "InputObject",
            "FileSystem",
            "NewFileSystemLabel",
            "AllocationUnitSize",
            "CimSession",
            "ThrottleLimit",
        ],
        switches: &[
            "Full",
            "Force",
            "Compress",
            "ShortFileNameSupport",
            "SetIntegrityStreams",
            "UseLargeFRS",
            "DisableHeatGathering",
            "IsDAX",
            "AsJob",
        ],
        aliases: &[("ClusterSize", "AllocationUnitSize")],
        changes: true,
    },
    Cmdlet {
        name: "Clear-Disk",
        values: &[
            "Number",
            "UniqueId",
            "FriendlyName",
            "Path",
            "InputObject",
            "CimSession",
            "ThrottleLimit",
        ],
        switches: &[
            "RemoveData",
            "RemoveOEM",
            "ZeroOutEntireDisk",
            "PassThru",
            "AsJob",
        ],
        aliases: &[("DiskNumber", "Number")],
        changes: true,
    },
    Cmdlet {
        name: "Initialize-Disk",
        values: &[
            "Number",
            "UniqueId",
            "FriendlyName",
            "Path",
            "InputObject",
            "PartitionStyle",
            "CimSession",
            "ThrottleLimit",
        ],
        switches: &["PassThru", "AsJob"],
        aliases: &[("DiskNumber", "Number")],
        changes: true,
    },
    Cmdlet {
        name: "Remove-WBBackupSet",
        values: &[
            "BackupSet",
            "BackupTarget",
            "MachineName",
            "KeepVersions",
            "NetworkPath",
        ],
        switches: &["DeleteOldest", "Force"],
        aliases: &[],
        changes: true,
    },
];

fn cmdlet(name: &str) -> Option<&'static Cmdlet> {
    CMDLETS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The cmdlet an alias stands for.
pub(crate) fn resolve_alias(name: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(name))
        .map(|(_, c)| *c)
}

/// Statements that are language, not commands: their blocks were read already.
const DROP_KEYWORDS: &[&str] = &[
    "if",
    "elseif",
    "while",
    "until",
    "switch",
    "foreach",
    "for",
    "catch",
    "function",
    "filter",
    "workflow",
    "configuration",
    "trap",
    "param",
    "class",
    "enum",
    "using",
    "data",
    "dynamicparam",
];
/// Keywords followed by a command or a block: the keyword goes, the rest stays.
const LEAD_KEYWORDS: &[&str] = &[
    "return",
    "throw",
    "exit",
    "else",
    "try",
    "finally",
    "do",
    "begin",
    "process",
    "end",
    "clean",
    "parallel",
    "sequence",
    "inlinescript",
];

/// Turn a command as read into the one PowerShell runs.
pub(crate) fn finish_command(cmd: &mut Command) {
    loop {
        let Some(first) = cmd.words.first() else {
            return;
        };
        let lower = first.text.to_ascii_lowercase();
        if !first.quoted && lower == "." {
            // Dot-sourcing runs the next word as a command.
            cmd.words.remove(0);
            continue;
        }
        if !first.quoted && DROP_KEYWORDS.contains(&lower.as_str()) {
            cmd.words.clear();
            return;
        }
        if !first.quoted && LEAD_KEYWORDS.contains(&lower.as_str()) {
            cmd.words.remove(0);
            continue;
        }
        // `$x = Remove-Item …`, `[int]$n += …`: the command is what follows the operator.
        let is_assignment_op = |w: &Word| {
            !w.quoted
                && matches!(
                    w.text.as_str(),
                    "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "??="
                )
        };
        if first.text.contains('$') && cmd.words.get(1).is_some_and(is_assignment_op) {
            cmd.words.drain(..2);
            continue;
        }
        break;
    }
    let first = &mut cmd.words[0];
    if !first.text.contains(['\\', '/']) {
        if let Some(c) = resolve_alias(&first.text) {
            first.text = c.to_string();
        }
    }
    let name = crate::unwrap::program_name(&cmd.words[0].text);
    if let Some(c) = cmdlet(&name) {
        canonical_parameters(cmd, c);
    }
}

/// Spell each parameter in full, split `-Name:value`, and settle `-Switch:$false`.
fn canonical_parameters(cmd: &mut Command, c: &Cmdlet) {
    let mut out: Vec<Word> = Vec::with_capacity(cmd.words.len());
    let mut words = std::mem::take(&mut cmd.words).into_iter();
    if let Some(program) = words.next() {
        out.push(program);
    }
    for w in words {
        let is_param = !w.quoted
            && w.text.len() > 1
            && w.text.starts_with('-')
            && w.text[1..].starts_with(|ch: char| ch.is_ascii_alphabetic());
        if !is_param {
            out.push(w);
            continue;
        }
        let (name, value) = match w.text[1..].split_once(':') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (w.text[1..].to_string(), None),
        };
        let Some((full, switch)) = resolve_parameter(c, &name) else {
            out.push(w);
            continue;
        };
        match (switch, value) {
            (true, Some(v)) if v.eq_ignore_ascii_case("$false") || v == "0" => {}
            (true, _) => out.push(Word::literal(format!("-{full}"))),
            (false, Some(v)) if !v.is_empty() => {
                out.push(Word::literal(format!("-{full}")));
                out.push(Word { text: v, ..w });
            }
            (false, _) => out.push(Word::literal(format!("-{full}"))),
        }
    }
    cmd.words = out;
}

/// A parameter's full name and whether it is a switch; `None` when unknown or ambiguous.
fn resolve_parameter(c: &Cmdlet, given: &str) -> Option<(&'static str, bool)> {
    let risk: &[&str] = if c.changes { RISK } else { &[] };
    let all = || {
        c.values
            .iter()
            .map(|p| (*p, false))
            .chain(c.switches.iter().map(|p| (*p, true)))
            .chain(COMMON.iter().map(|p| (*p, false)))
            .chain(risk.iter().map(|p| (*p, true)))
            .map(|(p, s)| (p, s || COMMON_SWITCHES.contains(&p)))
    };
    let exact = all().find(|(p, _)| p.eq_ignore_ascii_case(given));
    if exact.is_some() {
        return exact;
    }
    let alias = c
        .aliases
        .iter()
        .chain(COMMON_ALIASES)
        .find(|(a, _)| a.eq_ignore_ascii_case(given))
        .map(|(_, p)| *p);
    if let Some(p) = alias {
        return all().find(|(q, _)| *q == p);
    }
    let lower = given.to_ascii_lowercase();
    let mut matches = all().filter(|(p, _)| p.to_ascii_lowercase().starts_with(&lower));
    let one = matches.next()?;
    matches.next().is_none().then_some(one)
}

/// Cmdlets that take the items to change from the pipeline.
const FROM_PIPELINE: &[&str] = &[
    "remove-item",
    "remove-itemproperty",
    "clear-content",
    "clear-item",
    "clear-itemproperty",
];
/// Cmdlets that pass on (a subset of) what they receive.
const PASS_THROUGH: &[&str] = &[
    "where-object",
    "sort-object",
    "select-object",
    "foreach-object",
];

/// Across a pipeline: what `Get-ChildItem X | Remove-Item` removes, and literal text
/// piped into a program (`"select disk 1`nclean" | diskpart`).
pub(crate) fn finish_pipelines(commands: &mut [Command]) {
    for i in 0..commands.len() {
        let Some(from) = commands[i].pipe_from.filter(|f| *f < commands.len()) else {
            continue;
        };
        let program = crate::unwrap::program_name(commands[i].program().unwrap_or_default());
        if FROM_PIPELINE.contains(&program.as_str()) && !names_items(&commands[i]) {
            let names = pipeline_source(commands, from);
            let cmd = &mut commands[i];
            cmd.args_from_stdin = true;
            cmd.stdin_names = names;
            continue;
        }
        let up = &commands[from];
        let literal = match up.words.as_slice() {
            [only] if only.quoted => Some(only.text.clone()),
            [program, rest @ ..]
                if program.text.eq_ignore_ascii_case("Write-Output") && !rest.is_empty() =>
            {
                Some(
                    rest.iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            }
            _ => None,
        };
        if let Some(text) = literal {
            commands[i].stdin = Stdin::Text(format!("{text}\n"));
        }
    }
}

/// Does the command name its items itself (a positional or `-Path`)?
fn names_items(cmd: &Command) -> bool {
    let mut args = cmd.args().iter();
    while let Some(w) = args.next() {
        let t = w.text.as_str();
        if !w.quoted && t.starts_with('-') {
            if matches!(t, "-Path" | "-LiteralPath") {
                return true;
            }
            // A value parameter's value is not an item.
            if matches!(
                t,
                "-Name" | "-Filter" | "-Include" | "-Exclude" | "-Stream" | "-Credential"
            ) {
                args.next();
            }
            continue;
        }
        return true;
    }
    false
}

/// The paths at the head of a pipeline (`Get-ChildItem C:\logs -Recurse | …`).
fn pipeline_source(commands: &[Command], mut at: usize) -> Vec<String> {
    for _ in 0..commands.len() {
        let cmd = &commands[at];
        let program = crate::unwrap::program_name(cmd.program().unwrap_or_default());
        if PASS_THROUGH.contains(&program.as_str()) {
            match cmd.pipe_from {
                Some(f) if f < at => {
                    at = f;
                    continue;
                }
                _ => return Vec::new(),
            }
        }
        if program != "get-childitem" && program != "get-item" {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut args = cmd.args().iter();
        while let Some(w) = args.next() {
            let t = w.text.as_str();
            if !w.quoted && t.starts_with('-') {
                if matches!(t, "-Path" | "-LiteralPath") {
                    out.extend(args.next().map(|v| v.text.clone()));
                } else if matches!(
                    t,
                    "-Filter" | "-Include" | "-Exclude" | "-Depth" | "-Attributes"
                ) {
                    args.next();
                }
                continue;
            }
            out.push(w.text.clone());
        }
        if out.is_empty() {
            out.push(".".into());
        }
        return out;
    }
    Vec::new()
}

/// `-EncodedCommand`'s value: base64 of UTF-16LE text.
pub(crate) fn decode_encoded_command(value: &str) -> Option<String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(compact.trim_end_matches('=').as_bytes())
        })
        .ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    let text = String::from_utf16_lossy(&units);
    Some(text.trim_start_matches('\u{feff}').to_string())
}

/// A parameter of `powershell`/`pwsh` itself, matched the way the host does: any
/// unambiguous prefix of the full name, or one of the listed short forms.
pub(crate) fn host_parameter(text: &str) -> Option<HostParam> {
    let t = text.strip_prefix('-').or_else(|| text.strip_prefix('/'))?;
    let t = t.to_ascii_lowercase();
    if t.is_empty() {
        return None;
    }
    if matches!(t.as_str(), "commandwithargs" | "cwa") {
        return Some(HostParam::Command);
    }
    // `-e` and `-ec` are EncodedCommand's documented short forms; `-c` is Command's.
    if matches!(t.as_str(), "e" | "ec" | "enc")
        || (t.len() >= 2 && "encodedcommand".starts_with(&t))
    {
        return Some(HostParam::Encoded);
    }
    if "command".starts_with(&t) {
        return Some(HostParam::Command);
    }
    if "file".starts_with(&t) {
        return Some(HostParam::File);
    }
    const VALUES: &[&str] = &[
        "executionpolicy",
        "ep",
        "ex",
        "windowstyle",
        "workingdirectory",
        "wd",
        "configurationname",
        "config",
        "outputformat",
        "of",
        "inputformat",
        "if",
        "version",
        "psconsolefile",
        "settingsfile",
        "custompipename",
        "configurationfile",
        "encodedarguments",
    ];
    if matches!(t.as_str(), "o" | "w" | "ex" | "ep" | "if" | "inp") {
        return Some(HostParam::Value);
    }
    if VALUES
        .iter()
        .any(|v| *v == t || (t.len() >= 3 && v.starts_with(&t)))
    {
        return Some(HostParam::Value);
    }
    Some(HostParam::Switch)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostParam {
    Command,
    Encoded,
    File,
    Value,
    Switch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Dialect;

    fn read(line: &str) -> Vec<String> {
        Dialect::PowerShell
            .parse(line)
            .commands
            .iter()
            .filter(|c| !c.words.is_empty())
            .map(|c| c.to_string())
            .collect()
    }

    macro_rules! ps {
        ($name:ident, $line:expr, [$($want:expr),* $(,)?]) => {
            #[test]
            fn $name() {
                let want: Vec<String> = vec![$($want.to_string()),*];
                assert_eq!(read($line), want, "line: {:?}", $line);
            }
        };
    }

    ps!(
        aliases,
        "rm x; del x; erase x; ri x; rd x; rmdir x; rp x",
        [
            "Remove-Item x",
            "Remove-Item x",
            "Remove-Item x",
            "Remove-Item x",
            "Remove-Item x",
            "Remove-Item x",
            "Remove-ItemProperty x",
        ]
    );
    ps!(
        case_insensitive,
        "REMOVE-ITEM -RECURSE x",
        ["REMOVE-ITEM -Recurse x"]
    );
    ps!(
        prefixes,
        "Remove-Item -rec -fo -li x",
        ["Remove-Item -Recurse -Force -LiteralPath x"]
    );
    ps!(short_r_is_recurse, "rm -r x", ["Remove-Item -Recurse x"]);
    ps!(ambiguous_prefix_stays, "rm -f x", ["Remove-Item -f x"]);
    ps!(
        switch_values,
        "rm x -Recurse:$true -WhatIf:$false -Confirm:$false",
        ["Remove-Item x -Recurse"]
    );
    ps!(
        value_after_colon,
        "rm -Path:C:\\x",
        ["Remove-Item -Path 'C:\\x'"]
    );
    ps!(whatif_alias, "rm x -wi", ["Remove-Item x -WhatIf"]);
    ps!(
        module_qualified,
        "Microsoft.PowerShell.Management\\Remove-Item -r x",
        ["'Microsoft.PowerShell.Management\\Remove-Item' -Recurse x"]
    );
    ps!(
        keywords,
        "try { rm x } finally { echo done }",
        ["Remove-Item x", "Write-Output done"]
    );
    ps!(return_pipeline, "return Remove-Item x", ["Remove-Item x"]);

    #[test]
    fn pipeline_names_what_is_removed() {
        let s = Dialect::PowerShell.parse(r"Get-ChildItem C:\logs -Recurse | Where-Object { $_.Length -gt 0 } | Remove-Item -Force");
        let rm = s
            .commands
            .iter()
            .find(|c| c.program() == Some("Remove-Item"))
            .expect("Remove-Item");
        assert!(rm.args_from_stdin);
        assert_eq!(rm.stdin_names, vec![r"C:\logs".to_string()]);
    }

    #[test]
    fn literal_piped_in_is_stdin() {
        let s = Dialect::PowerShell.parse("\"select disk 1`nclean\" | diskpart");
        let d = s
            .commands
            .iter()
            .find(|c| c.program() == Some("diskpart"))
            .expect("diskpart");
        assert_eq!(d.stdin, Stdin::Text("select disk 1\nclean\n".into()));
    }

    #[test]
    fn encoded_commands_decode() {
        // [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('Remove-Item -Recurse C:\data'))
        let b64 = "UgBlAG0AbwB2AGUALQBJAHQAZQBtACAALQBSAGUAYwB1AHIAcwBlACAAQwA6AFwAZABhAHQAYQA=";
        assert_eq!(
            decode_encoded_command(b64).as_deref(),
            Some(r"Remove-Item -Recurse C:\data")
        );
        assert_eq!(decode_encoded_command("not base64!"), None);
        assert_eq!(decode_encoded_command("QQ=="), None); // one byte is not UTF-16
    }

    #[test]
    fn host_parameters() {
        for p in ["-c", "-Command", "-COMM", "/command", "-cwa"] {
            assert_eq!(host_parameter(p), Some(HostParam::Command), "{p}");
        }
        for p in ["-e", "-ec", "-enc", "-EncodedCommand", "-ENCODED"] {
            assert_eq!(host_parameter(p), Some(HostParam::Encoded), "{p}");
        }
        assert_eq!(host_parameter("-ExecutionPolicy"), Some(HostParam::Value));
        assert_eq!(host_parameter("-NoProfile"), Some(HostParam::Switch));
        assert_eq!(host_parameter("-File"), Some(HostParam::File));
    }
}
