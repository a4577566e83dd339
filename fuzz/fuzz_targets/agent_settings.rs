//! The agents' settings splice: uninstall(install(x)) == x, and install is idempotent.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::agent_settings(data);
});
