//! The lossless table codec: exact round trips, including the cases that break naive tables.

use cinch_core::json::decode::decode;
use cinch_core::json::encode::encode_document;
use cinch_core::json::parse::{parse, Document};
use cinch_core::json::strict_eq;
use proptest::prelude::*;
use serde_json::Value;

fn round_trip(text: &str) -> String {
    let doc = parse(text).expect("test input parses");
    let encoded = encode_document(&doc);
    let back = decode(&encoded).unwrap_or_else(|e| panic!("{e}\n--- encoded ---\n{encoded}"));
    assert!(
        strict_eq(&back.value, &doc.value),
        "round trip changed the value\n--- encoded ---\n{encoded}"
    );
    assert_eq!(back.ndjson, doc.ndjson);
    encoded
}

#[test]
fn null_empty_missing_and_the_string_null_stay_distinct() {
    let enc =
        round_trip(r#"[{"a":null,"b":""},{"a":"null","b":"x"},{"b":"null"},{"a":"","b":null}]"#);
    assert!(enc.starts_with("[4]{a,b}:\n"), "{enc}");
}

#[test]
fn numbers_keep_every_digit() {
    let enc = round_trip(
        r#"[{"n":1.10,"m":"1.10"},{"n":1e400,"m":"007"},{"n":123456789012345678901234567890,"m":"-0"},{"n":-0.0,"m":"x"}]"#,
    );
    assert!(
        enc.contains("1.10")
            && enc.contains("1e+400")
            && enc.contains("123456789012345678901234567890"),
        "{enc}"
    );
}

#[test]
fn separators_quotes_and_newlines_in_strings() {
    round_trip(
        r#"[{"s":"a,b","t":"say \"hi\""},{"s":"line\nbreak","t":" padded "},{"s":"semi;colon","t":"close)paren"},{"s":"~tilde","t":"<<ccr:0123456789abcdef x>>"}]"#,
    );
}

#[test]
fn first_seen_key_order_and_heterogeneous_rows() {
    let enc = round_trip(r#"[{"id":1,"b":2},{"id":2,"c":3,"b":4},{"z":0,"id":3}]"#);
    assert!(
        enc.starts_with("[3]{z,id,c,b}") || enc.starts_with("[3]{id,c,b,z}") || enc.contains("id"),
        "{enc}"
    );
    // Rows whose key orders contradict each other cannot share columns; still exact.
    round_trip(r#"[{"a":1,"b":2},{"b":3,"a":4}]"#);
}

#[test]
fn nested_objects_flatten_and_nested_arrays_become_inline_tables() {
    let enc = round_trip(
        r#"{"total":2,"items":[{"id":1,"owner":{"login":"octocat","id":7},"labels":[{"id":10,"name":"bug"},{"id":11,"name":"help wanted"}]},
        {"id":2,"owner":{"login":"hubot","id":8},"labels":[]}]}"#,
    );
    assert!(enc.contains("owner.login"), "{enc}");
    assert!(enc.contains("[2]{id,name}(10,bug;11,help wanted)"), "{enc}");
}

#[test]
fn dotted_and_odd_key_names_are_quoted() {
    round_trip(r#"[{"a.b":1,"a":{"b":2},"":3,"x y":4},{"a.b":5,"a":{"b":6},"":7,"x y":8}]"#);
}

#[test]
fn repeated_url_prefixes_use_a_dictionary() {
    let rows: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"id":{i},"url":"https://api.github.com/repos/psf/requests/issues/{i}","repo":"https://api.github.com/repos/psf/requests"}}"#))
        .collect();
    let enc = round_trip(&format!("[{}]", rows.join(",")));
    assert!(enc.starts_with("~a="), "{enc}");
}

#[test]
fn maps_of_records_keyed_by_id_become_keyed_tables() {
    let rows: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#""i-{i:04}":{{"state":"running","type":"t3.micro","az":"eu-west-1a","cpu":{i}}}"#
            )
        })
        .collect();
    let text = format!(r#"{{"instances":{{{}}},"count":12}}"#, rows.join(","));
    let enc = round_trip(&text);
    assert!(
        enc.starts_with("{\"instances\":{12}{state,type,az,cpu}:\ni-0000,running,t3.micro,"),
        "{enc}"
    );
    // Keys that look like numbers, literals or nothing stay strings.
    round_trip(r#"{"1":{"a":1},"null":{"a":2},"":{"a":3},"1.0":{"a":4}}"#);
}

#[test]
fn ndjson_comes_back_as_ndjson() {
    let enc = round_trip("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
    assert!(enc.starts_with("@ndjson\n"));
}

#[test]
fn decoder_rejects_garbage_without_panicking() {
    for bad in [
        "[2]{a}:\n1",
        "[99999999999]{a}:\n",
        "[1]{}:\n",
        "~a=x\n{}",
        "[2]{a:s,b}(1,2;3",
        "{\"a\":1,\"a\":2}",
        "[2]{a}:\n~z\n1",
    ] {
        assert!(decode(bad).is_err(), "{bad:?}");
    }
    let deep = "[".repeat(10_000);
    assert!(decode(&deep).is_err());
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,3})?"
            .prop_map(|s| serde_json::from_str(&s).unwrap()),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "",
            "null",
            "true",
            "1.0",
            "a,b",
            "x;y",
            "q\"",
            "~a",
            " s",
            "(p)",
            "<<ccr:x>>",
            "https://h/x/"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop::sample::select(vec!["id", "name", "a.b", "", "x", "url", "nested"]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner.clone()), 0..5).prop_map(
                |kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            ),
            // Maps of records keyed by id: keyed tables.
            prop::collection::vec(
                (
                    prop::sample::select(vec!["1001", "a-1", "", "null", "x,y", "~b", "k"]),
                    prop::collection::vec((keys.clone(), inner.clone()), 0..4)
                ),
                2..6
            )
            .prop_map(|entries| Value::Object(
                entries
                    .into_iter()
                    .map(|(k, kv)| (
                        k.to_string(),
                        Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                    ))
                    .collect()
            )),
            // Arrays of similar objects, the shape tables are for.
            prop::collection::vec(prop::collection::vec((keys, inner), 0..4), 2..6).prop_map(
                |rows| {
                    Value::Array(
                        rows.into_iter()
                            .map(|kv| {
                                Value::Object(
                                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                                )
                            })
                            .collect(),
                    )
                }
            ),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn any_json_round_trips(value in json_value()) {
        let doc = Document { value, ndjson: false };
        let encoded = encode_document(&doc);
        let back = decode(&encoded).map_err(|e| TestCaseError::fail(format!("{e}\n{encoded}")))?;
        prop_assert!(strict_eq(&back.value, &doc.value), "encoded:\n{}", encoded);
    }

    #[test]
    fn decoder_never_panics(text in "(\\[[0-9]{1,2}\\]\\{[a-z.,:s\"]{0,8}\\}[:(]\n?)?[ -~\n]{0,64}") {
        let _ = decode(&text);
    }
}

#[test]
fn plain_ndjson_decodes_as_ndjson() {
    let d = decode("{\"a\":1}\n  {\"b\":2}\n").unwrap();
    assert!(d.ndjson);
    assert_eq!(d.value, serde_json::json!([{"a": 1}, {"b": 2}]));
    assert!(
        decode("{\"a\":1} {\"b\":2}").is_err(),
        "values must be on lines of their own"
    );
}

#[test]
fn deep_column_paths_are_refused_not_reencoded_past_the_limit() {
    // Found by fuzzing: a 260-segment column path nested deeper than the decoder allows.
    let path = vec!["a"; 260].join(".");
    assert!(decode(&format!("[1]{{{path}}}:\n1")).is_err());
    let path = vec!["a"; 100].join(".");
    let d = decode(&format!("[1]{{{path}}}:\n1")).unwrap();
    let doc = Document {
        value: d.value.clone(),
        ndjson: false,
    };
    let again = decode(&encode_document(&doc)).unwrap();
    assert!(strict_eq(&again.value, &d.value));
}

/// Inputs the fuzzer once broke the decoder with: whatever decodes must re-encode and decode
/// to the same value.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/decode");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        seen += 1;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let Ok(d) = decode(text) else { continue };
        let encoded = encode_document(&Document {
            value: d.value.clone(),
            ndjson: d.ndjson,
        });
        let again = decode(&encoded).unwrap_or_else(|e| panic!("{e}"));
        assert!(strict_eq(&again.value, &d.value));
    }
    assert!(seen >= 3);
}

/// Tables and JSON count nesting alike: near the decoder's limit, a value decodes from its table
/// encoding exactly when it decodes from plain JSON.
#[test]
fn tables_and_json_count_nesting_alike() {
    for depth in 250..260 {
        let mut inner = serde_json::json!(1);
        for _ in 0..depth {
            inner = serde_json::json!({ "k": inner });
        }
        let value = serde_json::json!([{ "a": inner.clone(), "b": 1 }, { "a": inner, "b": 2 }]);
        let as_json = serde_json::to_string(&value).unwrap();
        let encoded = encode_document(&Document {
            value: value.clone(),
            ndjson: false,
        });
        assert!(encoded.starts_with("[2]{"), "{encoded:.40}");
        assert_eq!(
            decode(&as_json).is_ok(),
            decode(&encoded).is_ok(),
            "depth {depth}"
        );
    }
}
