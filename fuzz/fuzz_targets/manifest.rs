//! A manifest's JSON: read or refused, and what is read writes back the same.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::manifest(data);
});
