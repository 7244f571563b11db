//! `config.json` from an untrusted model directory: a clear error or a config, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = cinch_kompress::config::ModelConfig::parse(text) {
            assert!(c.num_labels >= 2 && c.keep_label < 64);
            assert!(c.hidden_size() > 0 && c.vocab_size() > 0);
        }
    }
});
