//! backstop's built-in policy packs, embedded at build time.
//!
//! Each pack is a TOML file under `policies/packs/`; the build indexes which programs
//! its rules and program specs name, so the engine parses a pack only when a line
//! runs one of them. Packs naming the program `*` apply to every command.
//!
//! ```
//! let fs = backstop_policies::PACKS.iter().find(|p| p.name == "filesystem").unwrap();
//! assert!(fs.programs.contains(&"rm"));
//! ```

/// One embedded pack: its TOML source and what the build found in it.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPack {
    /// The file stem, also the pack's id.
    pub name: &'static str,
    pub source: &'static str,
    /// Lower-cased program names the pack's rules and `[[program]]` specs name.
    pub programs: &'static [&'static str],
    pub rule_ids: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/packs.rs"));
