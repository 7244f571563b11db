//! Lossless means byte for byte: what `cinch expand` gives back from a result labelled
//! lossless is exactly the input (number spelling, escapes, key order, whitespace, the final
//! line break). Input whose spelling no style reproduces is never labelled lossless, and its
//! exact bytes are stored under a marker.

use cinch_core::ccr::{entry, marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::json::decode::decode;
use cinch_core::json::style::{Indent, Style};
use cinch_core::{compress, Options, Store};
use proptest::prelude::*;
use serde_json::{json, Value};

fn opts() -> Options {
    Options {
        budget: 1_000_000,
        ..Options::default()
    }
}

/// The input, as `expand` gives it back from `output`.
fn expanded(output: &str) -> String {
    decode(output).expect("a lossless output decodes").render()
}

fn listing() -> Value {
    let rows: Vec<Value> = (0..40)
        .map(|i| {
            json!({"id": 1000 + i, "name": format!("service-{i}"), "status": "active",
                   "latency_ms": 40.5 + f64::from(i), "region": "eu-west-1", "note": "café ☕"})
        })
        .collect();
    json!({"items": rows, "total": 40})
}

#[test]
fn pretty_printed_documents_of_every_common_style_come_back_exactly() {
    let v = listing();
    let styles = [
        ("jq", serde_json::to_string_pretty(&v).unwrap() + "\n"),
        (
            "no final line break",
            serde_json::to_string_pretty(&v).unwrap(),
        ),
        (
            "aws, kubectl (4 spaces)",
            Style {
                indent: Indent::Spaces(4),
                ..Style::default()
            }
            .render(&v, false),
        ),
        (
            "python json.dumps (spaced, ascii)",
            Style {
                spaced: true,
                ascii: true,
                newline: true,
                ..Style::default()
            }
            .render(&v, false),
        ),
        (
            "tabs",
            Style {
                indent: Indent::Tab,
                newline: true,
                ..Style::default()
            }
            .render(&v, false),
        ),
    ];
    for (name, text) in styles {
        let store = MemoryStore::default();
        let r = compress(&text, &opts(), &store);
        assert!(r.lossless, "{name}: {:?} {:?}", r.strategy, r.reason);
        assert!(r.tokens_after < r.tokens_before, "{name}");
        assert_eq!(expanded(&r.output), text, "{name}");
    }
}

#[test]
fn ndjson_keeps_its_final_line_break() {
    let text: String = (0..30)
        .map(|i| format!("{{\"id\":{i},\"level\":\"info\",\"msg\":\"tick\"}}\n"))
        .collect();
    let r = compress(&text, &opts(), &MemoryStore::default());
    assert!(r.lossless, "{:?}", r.reason);
    assert_eq!(expanded(&r.output), text);
}

#[test]
fn spellings_no_style_writes_are_stored_and_never_called_lossless() {
    let base = serde_json::to_string(&listing()).unwrap();
    for (what, text) in [
        (
            "exponent E",
            base.replacen("\"total\":40", "\"total\":4E1", 1),
        ),
        (
            "escaped slash",
            base.replacen("eu-west-1", "eu\\/west-1", 1),
        ),
        ("escaped e-acute", base.replacen("café", "caf\\u00e9", 1)),
        ("odd spacing", base.replacen("{\"items\"", "{ \"items\"", 1)),
    ] {
        let store = MemoryStore::default();
        let r = compress(&text, &opts(), &store);
        assert!(!r.lossless, "{what}");
        assert_ne!(r.strategy, "passthrough", "{what}: {:?}", r.reason);
        let keys = marker_keys(&r.output);
        let stored = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
        assert_eq!(
            entry::decode(&stored).unwrap().original,
            text.as_bytes(),
            "{what}"
        );
    }
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        (any::<i32>(), 1u32..1000).prop_map(|(a, b)| json!(f64::from(a) + f64::from(b) / 1000.0)),
        "[a-z0-9 é\\u{1F680}\"\\\\/\\t]{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,6}", inner.clone()), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            // Arrays of records: what tables are made of.
            proptest::collection::vec(
                (any::<u16>(), "[a-z]{0,5}", inner)
                    .prop_map(|(id, s, x)| json!({"id": id, "s": s, "x": x})),
                2..12
            )
            .prop_map(Value::Array),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Whatever the document and its style, a result labelled lossless expands to the input.
    #[test]
    fn every_lossless_result_expands_to_the_input_bytes(
        v in value(),
        indent in prop_oneof![Just(Indent::Compact), Just(Indent::Spaces(2)), Just(Indent::Spaces(4)), Just(Indent::Tab)],
        spaced in any::<bool>(),
        ascii in any::<bool>(),
        newline in any::<bool>(),
    ) {
        let style = Style { indent, spaced: spaced && indent == Indent::Compact, ascii, newline };
        let text = style.render(&v, false);
        let store = MemoryStore::default();
        let r = compress(&text, &opts(), &store);
        if r.lossless && r.strategy != "passthrough" {
            prop_assert_eq!(expanded(&r.output), text.clone());
        }
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        }
    }
}
