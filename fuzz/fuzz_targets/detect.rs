//! Detection on arbitrary text: it must answer (no panic, no hang) and answer the same twice,
//! and the blocks of mixed content it finds must be routed without a panic either.
#![no_main]

use cinch_core::ccr::MemoryStore;
use cinch_core::detect::{detect, language_of};
use cinch_core::{compress, Options};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let found = detect(text);
    assert_eq!(found, detect(text), "detection is deterministic");
    let _ = language_of(text);
    let opts = Options {
        budget: 20,
        ..Default::default()
    };
    let report = compress(text, &opts, &MemoryStore::default());
    assert_eq!(report.kind, found.kind, "the router uses what detection found");
    let reason = report.reason.unwrap_or_default();
    assert!(!reason.contains("internal error"), "panicked on {text:?}");
    assert!(report.tokens_after <= report.tokens_before);
});
