//! Windows names that are not POSIX paths: registry keys in their several
//! spellings, and drive-qualified paths (`X:`).

/// A registry key the way `reg.exe` writes it: `HKLM\Software\Contoso` whether the
/// line said `HKLM:\Software\Contoso`, `Registry::HKEY_LOCAL_MACHINE\Software\Contoso`
/// or `HKEY_LOCAL_MACHINE\Software\Contoso\`.
pub(crate) fn normalise_key(value: &str) -> String {
    let mut v = value.trim();
    // The provider-qualified forms: `Microsoft.PowerShell.Core\Registry::…`, `Registry::…`.
    if let Some(i) = v.to_ascii_lowercase().find("registry::") {
        v = &v[i + "registry::".len()..];
    }
    let v = v.trim_start_matches('\\');
    let (root, rest) = match v.find(['\\', '/']) {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, ""),
    };
    // `HKLM:Software` (no separator after the drive) names the same key as `HKLM:\Software`.
    let (root_name, glued) = root.split_once(':').unwrap_or((root, ""));
    let short = match root_name.to_ascii_uppercase().as_str() {
        "HKLM" | "HKEY_LOCAL_MACHINE" => "HKLM",
        "HKCU" | "HKEY_CURRENT_USER" => "HKCU",
        "HKCR" | "HKEY_CLASSES_ROOT" => "HKCR",
        "HKU" | "HKEY_USERS" => "HKU",
        "HKCC" | "HKEY_CURRENT_CONFIG" => "HKCC",
        _ => return value.to_string(),
    };
    let rest = match (glued.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (false, true) => glued.to_string(),
        (false, false) => format!("{glued}\\{rest}"),
    };
    let rest = rest.trim_end_matches(['\\', '/']).replace('/', "\\");
    if rest.is_empty() {
        short.to_string()
    } else {
        format!("{short}\\{rest}")
    }
}

/// `X:` or `X:name`: a drive, or a path relative to that drive's directory, never
/// relative to the POSIX working directory.
pub(crate) fn is_drive_qualified(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b.len() == 2 || b[2] != b':')
}

/// A drive letter (`D`) or a disk number (`1`), as `Format-Volume -DriveLetter` and
/// `Clear-Disk -Number` name a device: not a file in the working directory.
pub(crate) fn is_disk_name(v: &str) -> bool {
    (v.len() == 1 && v.bytes().all(|b| b.is_ascii_alphabetic()))
        || (!v.is_empty() && v.len() <= 3 && v.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise() {
        for (given, want) in [
            (r"HKLM\Software\Contoso", r"HKLM\Software\Contoso"),
            (r"HKLM:\Software\Contoso", r"HKLM\Software\Contoso"),
            (r"hklm:\Software\Contoso\", r"HKLM\Software\Contoso"),
            (
                r"HKEY_LOCAL_MACHINE\Software\Contoso",
                r"HKLM\Software\Contoso",
            ),
            (
                r"Registry::HKEY_CURRENT_USER\Software\Contoso",
                r"HKCU\Software\Contoso",
            ),
            (
                r"Microsoft.PowerShell.Core\Registry::HKCU\Software",
                r"HKCU\Software",
            ),
            (r"HKCU:Software\Demo", r"HKCU\Software\Demo"),
            ("HKEY_USERS", "HKU"),
            ("key_name", "key_name"),
        ] {
            assert_eq!(normalise_key(given), want, "{given}");
        }
    }

    #[test]
    fn drives() {
        assert!(is_drive_qualified("X:"));
        assert!(is_drive_qualified("c:foo"));
        assert!(!is_drive_qualified("x"));
        assert!(!is_drive_qualified("ab:"));
        assert!(!is_drive_qualified("C::x"));
        assert!(is_disk_name("D") && is_disk_name("12"));
        assert!(!is_disk_name("sda") && !is_disk_name("1a"));
    }
}
