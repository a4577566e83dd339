//! The audit log's reader and chain check (a head file's text before a NUL byte).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::audit_log(data);
});
