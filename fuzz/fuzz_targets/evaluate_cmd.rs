//! The cmd reader and the engine's `evaluate` on any line: no panic, no error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::evaluate(backstop_rules::Dialect::Cmd, data);
});
