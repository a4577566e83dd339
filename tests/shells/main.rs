//! Real shells in a pseudo-terminal with backstop's integration loaded: what runs,
//! what is refused, what asks, and that a missing binary never bricks the shell.

// These tests run real programs on purpose (the shells, the built binary).
#![allow(clippy::disallowed_methods)]
// Helpers outside #[test] functions panic to fail the test that called them.
#![allow(clippy::panic, clippy::new_without_default)]

mod harness;

mod agents;
mod bash;
mod colour;
mod completions;
mod doctor;
mod fish;
mod nu;
mod powershell;
mod prefilter;
mod prompt;
mod zsh;
