//! The Windows dialects end to end through the engine: what runs, and the targets named.

use backstop_rules::{Context, Decision, Dialect, Engine};

fn targets(line: &str, dialect: Dialect) -> (Decision, Vec<(String, String, String)>) {
    let engine = Engine::builtin();
    let ctx = Context {
        dialect,
        home: Some("/home/ana"),
        cwd: Some("/home/ana/work"),
        ..Context::default()
    };
    let eval = engine.evaluate(line, &ctx).expect("evaluates");
    let mut out: Vec<(String, String, String)> = eval
        .findings
        .iter()
        .flat_map(|f| {
            f.targets
                .iter()
                .map(move |t| (f.id.clone(), t.kind.clone(), t.value.clone()))
        })
        .collect();
    out.sort();
    out.dedup();
    (eval.decision, out)
}

fn one(id: &str, kind: &str, value: &str) -> Vec<(String, String, String)> {
    vec![(id.into(), kind.into(), value.into())]
}

#[test]
fn wsl_unregister_names_the_distro() {
    for d in [Dialect::Bash, Dialect::Cmd, Dialect::PowerShell] {
        let (decision, t) = targets("wsl --unregister Ubuntu-24.04", d);
        assert_eq!(decision, Decision::Deny);
        assert_eq!(
            t,
            one("windows.wsl-unregister", "wsl-distro", "Ubuntu-24.04"),
            "{d}"
        );
    }
    let (_, t) = targets(
        r"& 'C:\Windows\System32\WSL.EXE' --UNREGISTER Debian",
        Dialect::PowerShell,
    );
    assert_eq!(t, one("windows.wsl-unregister", "wsl-distro", "Debian"));
}

#[test]
fn reg_delete_names_the_key_normalised() {
    for (line, d) in [
        (r"reg delete HKLM\Software\Contoso /f", Dialect::Cmd),
        (
            r"reg delete HKEY_LOCAL_MACHINE\Software\Contoso\ /va /f",
            Dialect::Cmd,
        ),
        (
            r"Remove-Item HKLM:\Software\Contoso -Recurse",
            Dialect::PowerShell,
        ),
        (
            r"Remove-Item -Path Registry::HKEY_LOCAL_MACHINE\Software\Contoso",
            Dialect::PowerShell,
        ),
    ] {
        let (decision, t) = targets(line, d);
        assert_eq!(decision, Decision::Deny, "{line}");
        assert_eq!(t.len(), 1, "{line}: {t:?}");
        assert_eq!(t[0].1, "registry-key", "{line}");
        assert_eq!(t[0].2, r"HKLM\Software\Contoso", "{line}");
    }
    let (_, t) = targets(
        r"Remove-ItemProperty -Path HKCU:\Software\Demo -Name Theme",
        Dialect::PowerShell,
    );
    assert_eq!(
        t,
        one(
            "windows.remove-itemproperty",
            "registry-key",
            r"HKCU\Software\Demo"
        )
    );
}

#[test]
fn pipelines_name_what_they_remove() {
    let (_, t) = targets(
        r"Get-ChildItem C:\logs -Recurse | Remove-Item -Force",
        Dialect::PowerShell,
    );
    assert_eq!(t, one("windows.remove-item", "path", r"C:\logs"));
}

#[test]
fn drive_letters_stay_drives() {
    let (_, t) = targets("format X: /q", Dialect::Cmd);
    assert_eq!(t, one("windows.format-volume", "block-device", "X:"));
    let (_, t) = targets("Format-Volume -DriveLetter D", Dialect::PowerShell);
    assert_eq!(t, one("windows.format-volume", "block-device", "D"));
    let (_, t) = targets("Clear-Disk -Number 1 -RemoveData", Dialect::PowerShell);
    assert_eq!(t, one("windows.format-volume", "block-device", "1"));
}

#[test]
fn complete_readings_need_no_text_fallback() {
    let engine = Engine::builtin();
    for (line, d) in [
        (r"rd /s /q C:\data & del C:\x\*.log", Dialect::Cmd),
        ("wsl -d Ubuntu -- rm -rf /home/ana/data", Dialect::Cmd),
        (
            r"gci C:\x | % { Remove-Item $_ -Recurse }",
            Dialect::PowerShell,
        ),
        ("ls | each { |f| rm -r $f.name }", Dialect::Nu),
    ] {
        let ctx = Context {
            dialect: d,
            ..Context::default()
        };
        let eval = engine.evaluate(line, &ctx).expect("evaluates");
        assert!(!eval.incomplete, "{line}");
        assert_ne!(eval.decision, Decision::Allow, "{line}");
    }
}

#[test]
fn dry_runs_and_comments_allow() {
    for (line, d) in [
        (r"Remove-Item -Recurse C:\data -WhatIf", Dialect::PowerShell),
        (r"rm -r C:\data -wh", Dialect::PowerShell),
        (r"# Remove-Item -Recurse C:\data", Dialect::PowerShell),
        (r"rem rd /s /q C:\data", Dialect::Cmd),
        ("wsl --export Ubuntu ubuntu.tar", Dialect::PowerShell),
        ("wsl --list --verbose", Dialect::Cmd),
        (r"reg query HKLM\Software\Contoso", Dialect::Cmd),
    ] {
        let (decision, t) = targets(line, d);
        assert_eq!(decision, Decision::Allow, "{line}: {t:?}");
    }
}
