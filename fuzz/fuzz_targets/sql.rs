//! The SQL reader, in every client's dialect.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::sql(data);
});
