//! Every agent's hook JSON: the command found, decided, and the answer rendered.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backstop_fuzz::agent_hook(data);
});
