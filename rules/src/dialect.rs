//! Shell dialects: each has its own reader producing the same [`Script`] model.

use std::fmt;
use std::str::FromStr;

use crate::command::Script;
use crate::error::Error;

/// The shell whose rules a line is read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    #[default]
    Bash,
    Zsh,
    Fish,
    PowerShell,
    Nu,
    Cmd,
}

impl Dialect {
    pub const ALL: [Dialect; 6] = [
        Dialect::Bash,
        Dialect::Zsh,
        Dialect::Fish,
        Dialect::PowerShell,
        Dialect::Nu,
        Dialect::Cmd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Bash => "bash",
            Dialect::Zsh => "zsh",
            Dialect::Fish => "fish",
            Dialect::PowerShell => "powershell",
            Dialect::Nu => "nu",
            Dialect::Cmd => "cmd",
        }
    }

    pub fn is_posix_family(self) -> bool {
        matches!(self, Dialect::Bash | Dialect::Zsh | Dialect::Fish)
    }

    /// Read a command line into the commands it runs (before wrappers are peeled).
    pub fn parse(self, line: &str) -> Script {
        let mut script = match self {
            Dialect::Bash | Dialect::Zsh | Dialect::Fish => crate::posix::parse(line, self),
            Dialect::PowerShell | Dialect::Nu | Dialect::Cmd => crate::simple::parse(line, self),
        };
        for c in &mut script.commands {
            c.dialect = self;
        }
        script
    }

    /// Every program [`Dialect::of_program`] knows as a shell.
    pub const SHELL_PROGRAMS: &'static [&'static str] = &[
        "bash",
        "sh",
        "dash",
        "ksh",
        "mksh",
        "ash",
        "busybox-sh",
        "rbash",
        "yash",
        "posh",
        "lksh",
        "csh",
        "tcsh",
        "zsh",
        "fish",
        "pwsh",
        "powershell",
        "nu",
        "cmd",
    ];

    /// The dialect a shell program runs its `-c` string in, if it is a shell.
    pub fn of_program(program: &str) -> Option<Dialect> {
        Some(match program {
            "bash" | "sh" | "dash" | "ksh" | "mksh" | "ash" | "busybox-sh" | "rbash" | "yash"
            | "posh" | "lksh" | "csh" | "tcsh" => Dialect::Bash,
            "zsh" => Dialect::Zsh,
            "fish" => Dialect::Fish,
            "pwsh" | "powershell" => Dialect::PowerShell,
            "nu" => Dialect::Nu,
            "cmd" => Dialect::Cmd,
            _ => return None,
        })
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dialect {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "bash" | "sh" | "posix" => Dialect::Bash,
            "zsh" => Dialect::Zsh,
            "fish" => Dialect::Fish,
            "powershell" | "pwsh" | "ps" => Dialect::PowerShell,
            "nu" | "nushell" => Dialect::Nu,
            "cmd" | "cmd.exe" => Dialect::Cmd,
            _ => return Err(Error::UnknownShell(s.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_programs_are_the_shells_of_program_knows() {
        for p in Dialect::SHELL_PROGRAMS {
            assert!(Dialect::of_program(p).is_some(), "{p}");
        }
        for p in ["bash", "zsh", "fish", "pwsh", "nu", "cmd"] {
            assert!(Dialect::SHELL_PROGRAMS.contains(&p));
        }
    }
}
