//! Detection on arbitrary text: it must answer (no panic, no hang) and answer the same twice,
//! and the blocks of mixed content it finds must be routed without a panic either.
#![no_main]

use cinch_core::ccr::MemoryStore;
use cinch_core::detect::{detect, language_of};
use cinch_core::{compress, Kind, Options};

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
    // The router uses what detection found, unless that kind's compressor could not hold the
    // budget: then the line compressor, which always can, took over.
    assert!(
        report.kind == found.kind || report.kind == Kind::Lines,
        "detected {:?}, compressed as {:?}",
        found.kind,
        report.kind
    );
    let reason = report.reason.unwrap_or_default();
    assert!(!reason.contains("internal error"), "panicked on {text:?}");
    assert!(report.tokens_after <= report.tokens_before);
});
