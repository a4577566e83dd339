//! One `[[recipe]]` (and a value after a NUL byte): loaded or refused, and expanded.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::recipe(data);
});
