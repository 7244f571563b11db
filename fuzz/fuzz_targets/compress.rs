//! Arbitrary text through the whole router (detection and every compressor) with a small
//! budget, so the lossy paths run.
//!
//! An optional first line `#<budget>|<query>` sets the budget and query; otherwise the budget
//! is 50 and the query "status = error id 42". Checks: the output never costs more tokens than
//! the input; a lossless non-passthrough output decodes to exactly the parsed input; every CCR
//! key reported is retrievable from the store; no compressor panicked (the router's fail-open
//! guard would hide it).
#![no_main]

use cinch_core::ccr::{MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::json::{decode::decode, parse::parse, strict_eq};
use cinch_core::{compress, Key, Options, Store};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(all) = std::str::from_utf8(data) else {
        return;
    };
    let mut budget = 50usize;
    let mut query = "status = error id 42".to_string();
    let mut text = all;
    if let Some(rest) = all.strip_prefix('#') {
        if let Some((header, body)) = rest.split_once('\n') {
            let (b, q) = header.split_once('|').unwrap_or((header, ""));
            if let Ok(n) = b.trim().parse::<usize>() {
                budget = n.min(100_000);
            }
            query = q.to_string();
            text = body;
        }
    }

    let store = MemoryStore::default();
    let opts = Options {
        query,
        budget,
        ..Default::default()
    };
    let report = compress(text, &opts, &store);

    // The router fails open on a panic; here a panic must not hide behind it.
    let reason = report.reason.clone().unwrap_or_default();
    assert!(
        !reason.contains("internal error"),
        "a compressor panicked on: {text:?}"
    );
    assert!(
        report.tokens_after <= report.tokens_before,
        "output costs more than the input: {} > {}\ninput: {text:?}\noutput: {:?}",
        report.tokens_after,
        report.tokens_before,
        report.output
    );
    if report.strategy == "passthrough" {
        assert_eq!(report.output, text, "passthrough changed the text");
    }
    if report.lossless && report.strategy != "passthrough" {
        let original = match parse(text) {
            Ok(d) => d,
            Err(e) => panic!(
                "lossless {} output for input that does not parse: {e}\ninput: {text:?}",
                report.strategy
            ),
        };
        let decoded = match decode(&report.output) {
            Ok(d) => d,
            Err(e) => panic!(
                "lossless {} output does not decode: {e}\ninput: {text:?}\noutput: {:?}",
                report.strategy, report.output
            ),
        };
        assert!(
            strict_eq(&decoded.value, &original.value),
            "lossless {} output decodes to a different value\ninput: {text:?}\noutput: {:?}",
            report.strategy,
            report.output
        );
        assert_eq!(
            decoded.ndjson, original.ndjson,
            "lossless output changed the ndjson flag\ninput: {text:?}\noutput: {:?}",
            report.output
        );
    }
    for k in &report.ccr_keys {
        let key = match Key::parse(k) {
            Ok(key) => key,
            Err(e) => panic!("report has an unparsable CCR key {k:?}: {e}"),
        };
        if let Err(e) = store.get(DEFAULT_NAMESPACE, &key) {
            panic!("CCR key {k} not retrievable: {e}\ninput: {text:?}");
        }
    }
});
