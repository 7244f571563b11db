//! The checks every single-compressor target makes: the text, compressed as `kind` with a small
//! budget so the lossy paths run, must come out no larger in tokens than it went in; a
//! pass-through must be the input; every CCR key reported must be retrievable; and the
//! compressor must not have panicked (the router's fail-open guard would hide it). With a
//! budget that can hold a marker (300 tokens), the output must be within it: the budget is a
//! cap.

use cinch_core::ccr::{MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::{compress, Key, Kind, Options, Store};

pub fn check(kind: Kind, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_at(kind, text, 20);
    let report = check_at(kind, text, 300);
    assert!(
        report.tokens_after <= 300 || report.strategy == "passthrough",
        "the {kind:?} compressor's output of {} tokens is over the budget of 300 on: {text:?}",
        report.tokens_after
    );
    if report.strategy == "passthrough" {
        assert!(
            report.tokens_before <= 300,
            "{kind:?}: an input over the budget passed through: {:?}",
            report.reason
        );
    }
}

fn check_at(kind: Kind, text: &str, budget: usize) -> cinch_core::Report {
    let store = MemoryStore::default();
    let opts = Options {
        query: "errors in `main` id 42".into(),
        budget,
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
    report
}
