//! A policy file, in every layer: loaded or refused with an error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::policy(data);
});
