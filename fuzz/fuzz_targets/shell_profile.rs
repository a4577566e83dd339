//! The shell-profile block: uninstall(install(x)) == x, and install is idempotent.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::shell_profile(data);
});
