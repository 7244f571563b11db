//! Each text compressor on arbitrary text: the first byte picks the kind (log, search, diff,
//! code, prose), the rest is the input, compressed with a small budget.
//!
//! Checks: no compressor panics (the router's fail-open guard would hide it), the output never
//! costs more tokens than the input, a pass-through is the input, and every CCR key reported is
//! retrievable.
#![no_main]

use cinch_core::ccr::{MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::{compress, Key, Kind, Options, Store};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let kind = [Kind::Log, Kind::Search, Kind::Diff, Kind::Code, Kind::Prose][pick as usize % 5];
    let store = MemoryStore::default();
    let opts = Options {
        query: "errors in `main` id 42".into(),
        budget: 20,
        kind: Some(kind),
        ..Default::default()
    };
    let report = compress(text, &opts, &store);
    let reason = report.reason.clone().unwrap_or_default();
    assert!(
        !reason.contains("internal error"),
        "the {kind:?} compressor panicked on: {text:?}"
    );
    assert!(report.tokens_after <= report.tokens_before);
    if report.strategy == "passthrough" {
        assert_eq!(report.output, text);
    }
    for k in &report.ccr_keys {
        let key = Key::parse(k).expect("reported keys parse");
        assert!(
            store.get(DEFAULT_NAMESPACE, &key).is_ok(),
            "CCR key {k} not retrievable for {kind:?} on {text:?}"
        );
    }
});
