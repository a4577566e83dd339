//! Link the `backstop` binary as a position-dependent executable on Linux.
//!
//! backstop runs before every command a person types, so its start-up is the
//! budget. As a PIE its ~22,000 pointers in static tables (sqlparser's keyword
//! lists, the embedded packs) are relocated at every start; linked non-PIE, the
//! linker resolves them once. The objects stay position-independent; only the final
//! executable loses ASLR of its own image, which for a memory-safe program with
//! `unsafe_code = "forbid"` is the trade we take (measured in scripts/bench-check.sh).
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
