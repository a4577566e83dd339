//! No line the engine flags in bash, zsh or fish is ruled out by `ProgramWords::may_match`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::prefilter(data);
});
