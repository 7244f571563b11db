//! What every real sample of a kind is checked for (search results, diffs, documents): it is
//! detected as its kind; at budgets of 200, 500 and 2 000 tokens the output holds the budget
//! and uses it (at least 40 % when the input is over it); the anomaly planted in it is visible
//! without a query, the answer with one; and the stored entry under the output's marker gives
//! back the input, byte for byte.

#![allow(dead_code)]

use cinch_core::ccr::{entry, marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::detect::detect;
use cinch_core::{compress, Kind, Options, Report, Store};

/// One sample and what must be visible in it.
pub struct Case {
    pub name: &'static str,
    /// Visible without a query from this budget on (and at 2 000).
    pub anomaly: &'static str,
    pub anomaly_from: usize,
    pub query: &'static str,
    /// Visible with the query at 2 000 tokens (and 500).
    pub answer: &'static str,
}

pub fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// `text` compressed with `query` within `budget`, and the store it used.
pub fn run(text: &str, query: &str, budget: usize) -> (Report, MemoryStore) {
    let store = MemoryStore::default();
    let r = compress(
        text,
        &Options {
            query: query.into(),
            budget,
            ..Options::default()
        },
        &store,
    );
    (r, store)
}

/// The original stored under the output's marker.
pub fn stored_original(r: &Report, store: &MemoryStore) -> Vec<u8> {
    let keys = marker_keys(&r.output);
    assert_eq!(keys.len(), 1, "one marker: {}", r.output);
    let bytes = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
    entry::decode(&bytes).unwrap().original.to_vec()
}

/// Every check of the module docs, for one sample of `kind`.
pub fn check(case: &Case, kind: Kind, strategy: &str) {
    let text = sample(case.name);
    assert_eq!(detect(&text).kind, kind, "{} detected", case.name);
    for budget in [200, 500, 2000] {
        let (r, store) = run(&text, "", budget);
        let name = case.name;
        assert_eq!(r.strategy, strategy, "{name} at {budget}: {:?}", r.reason);
        assert!(
            r.tokens_after <= budget,
            "{name}: {} tokens at budget {budget}",
            r.tokens_after
        );
        if r.tokens_before > budget {
            assert!(
                r.tokens_after * 10 >= budget * 4,
                "{name}: only {} tokens of {budget} used",
                r.tokens_after
            );
        }
        assert!(
            stored_original(&r, &store) == text.as_bytes(),
            "{name} at {budget}: the whole input is stored"
        );
        if budget >= case.anomaly_from {
            assert!(
                r.output.contains(case.anomaly),
                "{name} at {budget}: {:?} not visible:\n{}",
                case.anomaly,
                r.output
            );
        }
    }
    for budget in [500, 2000] {
        let (r, _) = run(&text, case.query, budget);
        assert!(r.tokens_after <= budget, "{}: over the budget", case.name);
        assert!(
            r.output.contains(case.answer),
            "{} at {budget} with {:?}: {:?} not visible:\n{}",
            case.name,
            case.query,
            case.answer,
            r.output
        );
    }
}

/// The lines of `output` that are not the marker.
pub fn shown_lines(output: &str) -> impl Iterator<Item = &str> {
    output.lines().filter(|l| !l.starts_with("<<ccr:"))
}
