//! The test-runner output compressor on arbitrary text (checks: see `forced_kind.rs`).
#![no_main]

#[path = "forced_kind.rs"]
mod forced_kind;

libfuzzer_sys::fuzz_target!(|data: &[u8]| forced_kind::check(cinch_core::Kind::Tests, data));
