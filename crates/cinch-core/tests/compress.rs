//! SmartCrusher end to end: what a user of `compress` notices.

use cinch_core::ccr::search::Items;
use cinch_core::ccr::{entry, marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::json::decode::decode;
use cinch_core::{compress, Kind, Options, Store, DEFAULT_BUDGET};
use serde_json::{json, Value};

fn rows(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                let status = if i == 137 {
                    "error"
                } else if i % 10 == 3 {
                    "pending"
                } else {
                    "active"
                };
                json!({"id": 1000 + i, "name": format!("service-{i}"), "status": status,
                       "latency_ms": if i == 222 { 98000 } else { 40 + (i % 7) as i64 },
                       "region": if i % 2 == 0 { "eu-west-1" } else { "us-east-1" }})
            })
            .collect(),
    )
}

#[test]
fn small_json_is_compressed_losslessly() {
    let text = serde_json::to_string_pretty(&rows(20)).unwrap();
    let store = MemoryStore::default();
    let r = compress(&text, &Options::default(), &store);
    assert_eq!(r.kind, Kind::Json);
    assert_eq!(r.strategy, "table");
    assert!(r.lossless && r.ccr_keys.is_empty());
    assert!(
        r.tokens_after * 2 < r.tokens_before,
        "{} -> {}",
        r.tokens_before,
        r.tokens_after
    );
    assert_eq!(decode(&r.output).unwrap().value, rows(20));
}

#[test]
fn over_budget_keeps_what_matters_and_stores_the_rest() {
    let text = serde_json::to_string(&rows(400)).unwrap();
    let store = MemoryStore::default();
    let opts = Options {
        query: "What is the name of the record with id = 1311?".into(),
        budget: 600,
        ..Options::default()
    };
    let r = compress(&text, &opts, &store);
    assert_eq!(r.strategy, "table+select");
    assert!(!r.lossless);
    assert!(r.tokens_after <= 600, "{}", r.tokens_after);
    let out = &r.output;
    assert!(out.contains("service-311"), "the queried row is kept");
    assert!(out.contains("service-137"), "the error row is kept");
    assert!(out.contains("98000"), "the outlier is kept");
    assert!(
        out.contains("service-0,") && out.contains("service-399"),
        "first and last rows are kept"
    );
    assert!(out.contains("pending"), "every status value is represented");
    let keys = marker_keys(out);
    assert_eq!(keys.len(), 1);
    assert!(out.contains("of 400 rows omitted"), "{out}");
    let stored = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
    let e = entry::decode(&stored).unwrap();
    assert_eq!(e.original, text.as_bytes(), "the whole original is stored");
    let items = Items::of_entry(&e).unwrap();
    let kept_ids = out.lines().filter(|l| l.starts_with('1')).count();
    assert_eq!(
        items.dropped(&e).len() + kept_ids,
        400,
        "every row is either shown or left out, as the entry records"
    );
}

#[test]
fn wrapped_arrays_are_found_and_compressed_in_place() {
    let text =
        serde_json::to_string(&json!({"total_count": 400, "items": rows(400), "next": null}))
            .unwrap();
    let store = MemoryStore::default();
    let r = compress(
        &text,
        &Options {
            budget: 500,
            ..Options::default()
        },
        &store,
    );
    assert!(
        r.output.starts_with(r#"{"total_count":400,"items":"#),
        "{}",
        r.output
    );
    assert!(r.output.ends_with(r#","next":null}"#), "{}", r.output);
}

#[test]
fn bad_input_passes_through_unchanged() {
    let store = MemoryStore::default();
    for input in [
        "",
        "   ",
        "{\"a\":",
        "not json at all",
        "{\"a\":1,\"a\":2}",
        "\"\\ud800\"",
    ] {
        let r = compress(input, &Options::default(), &store);
        assert_eq!(r.output, input);
        assert_eq!(r.strategy, "passthrough");
        assert!(r.reason.is_some());
    }
}

/// Input that is not JSON it may rewrite, and far over the budget, is still held to the
/// budget: shown as lines, the whole of it retrievable byte for byte.
#[test]
fn bad_input_over_the_budget_is_shown_as_lines_and_stored_whole() {
    let store = MemoryStore::default();
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let r = compress(&deep, &Options::default(), &store);
    assert_eq!(r.strategy, "lines");
    assert!(r.tokens_after <= DEFAULT_BUDGET, "{}", r.tokens_after);
    let key = marker_keys(&r.output)[0].clone();
    let stored = store.get(DEFAULT_NAMESPACE, &key).unwrap();
    let entry = cinch_core::ccr::entry::decode(&stored).unwrap();
    assert_eq!(entry.original, deep.as_bytes());
}

#[test]
fn output_is_never_larger_than_input() {
    let store = MemoryStore::default();
    for input in [
        "[1]",
        "{}",
        "[{\"a\":1},{\"b\":2}]",
        "{\"k\":\"v\"}",
        "[\"x\",\"y\"]",
    ] {
        let r = compress(input, &Options::default(), &store);
        assert!(r.tokens_after <= r.tokens_before, "{input}");
    }
}

#[test]
fn compression_is_deterministic() {
    let text = serde_json::to_string(&rows(300)).unwrap();
    let opts = Options {
        budget: 400,
        query: "status = error".into(),
        ..Options::default()
    };
    let a = compress(&text, &opts, &MemoryStore::default());
    let b = compress(&text, &opts, &MemoryStore::default());
    assert_eq!(a.output, b.output);
}

#[test]
fn snapshot_of_a_lossy_listing() {
    let text = serde_json::to_string(&rows(60)).unwrap();
    let opts = Options {
        budget: 300,
        query: "status = pending".into(),
        ..Options::default()
    };
    let r = compress(&text, &opts, &MemoryStore::default());
    insta::assert_snapshot!(r.output);
}

#[test]
fn over_budget_without_any_error_rows() {
    let rows: Vec<Value> = (0..300)
        .map(|i| json!({"id": i, "name": format!("n{i}")}))
        .collect();
    let text = serde_json::to_string(&rows).unwrap();
    let r = compress(
        &text,
        &Options {
            budget: 200,
            ..Options::default()
        },
        &MemoryStore::default(),
    );
    assert_eq!(r.strategy, "table+select");
}

/// A store that refuses every write, like a full disk or a read-only file.
struct BrokenStore;

impl Store for BrokenStore {
    fn put(&self, _: &str, _: &[u8]) -> Result<cinch_core::Key, cinch_core::StoreError> {
        Err(cinch_core::StoreError("disk full".into()))
    }
    fn get(&self, _: &str, key: &cinch_core::Key) -> Result<Vec<u8>, cinch_core::GetError> {
        Err(cinch_core::GetError::Unknown(key.clone()))
    }
    fn stats(&self) -> Result<cinch_core::ccr::StoreStats, cinch_core::StoreError> {
        Err(cinch_core::StoreError("disk full".into()))
    }
    fn gc(&self) -> Result<u64, cinch_core::StoreError> {
        Ok(0)
    }
    fn clear(&self, _: Option<&str>) -> Result<u64, cinch_core::StoreError> {
        Ok(0)
    }
}

#[test]
fn a_store_that_cannot_take_the_rows_means_nothing_is_dropped() {
    let text = serde_json::to_string(&rows(400)).unwrap();
    let r = compress(
        &text,
        &Options {
            budget: 300,
            ..Options::default()
        },
        &BrokenStore,
    );
    assert_eq!(r.output, text);
    assert_eq!(r.strategy, "passthrough");
    assert!(r.reason.unwrap().contains("disk full"));
    // Under the budget nothing needs storing, so a broken store does not matter.
    let small = serde_json::to_string(&rows(10)).unwrap();
    assert_eq!(
        compress(&small, &Options::default(), &BrokenStore).strategy,
        "table"
    );
}

#[test]
fn long_number_arrays_are_summarised_with_ranges_and_runs() {
    let mut items: Vec<i64> = (1..=3000).collect();
    items.extend([5000, 5001, 5002, 5003, 5004, 5005, 99_999]);
    let text = serde_json::to_string(&json!({"ids": items})).unwrap();
    let store = MemoryStore::default();
    let r = compress(
        &text,
        &Options {
            budget: 200,
            ..Options::default()
        },
        &store,
    );
    assert_eq!(r.strategy, "table+select");
    assert!(r.output.contains("min 1, max 99999"), "{}", r.output);
    assert!(
        r.output.contains("runs 1..3000, 5000..5005"),
        "{}",
        r.output
    );
    let key = marker_keys(&r.output)[0].clone();
    let stored = store.get(DEFAULT_NAMESPACE, &key).unwrap();
    let items = Items::of_entry(&entry::decode(&stored).unwrap()).unwrap();
    assert_eq!(items.len(), 3007, "the whole array is retrievable");
}

/// A field whose value is an error status beats a word in a message: of 100 rows, the three
/// with `status: "error"` stay visible although forty others mention "error" in their text.
#[test]
fn rows_whose_status_is_an_error_beat_rows_that_mention_one() {
    let rows: Vec<Value> = (0..100)
        .map(|i| {
            let status = if [17, 54, 91].contains(&i) {
                "error"
            } else {
                "ok"
            };
            let message = if i % 5 == 0 {
                format!("retried after a transient error in step {i}")
            } else {
                format!("step {i} finished")
            };
            json!({"id": i, "status": status, "message": message})
        })
        .collect();
    let text = serde_json::to_string(&rows).unwrap();
    let store = MemoryStore::default();
    let r = compress(
        &text,
        &Options {
            budget: 250,
            ..Options::default()
        },
        &store,
    );
    assert_eq!(r.strategy, "table+select");
    assert!(r.tokens_after <= 250);
    for id in [17, 54, 91] {
        assert!(
            r.output
                .lines()
                .any(|l| l.starts_with(&format!("{id},error"))),
            "row {id}: {}",
            r.output
        );
    }
}

/// A series that steps from 1.0 to 100.0 keeps both rows around the step.
#[test]
fn both_rows_around_a_change_point_are_kept() {
    let rows: Vec<Value> = (0..300)
        .map(|i| json!({"t": i, "value": if i < 173 { 1.0 } else { 100.0 }, "host": "db-1"}))
        .collect();
    let text = serde_json::to_string(&rows).unwrap();
    let r = compress(
        &text,
        &Options {
            budget: 300,
            ..Options::default()
        },
        &MemoryStore::default(),
    );
    assert_eq!(r.strategy, "table+select");
    assert!(
        r.output.lines().any(|l| l.starts_with("172,1.0,")),
        "{}",
        r.output
    );
    assert!(
        r.output.lines().any(|l| l.starts_with("173,100.0,")),
        "{}",
        r.output
    );
}

/// `{"id1": {...}, "id2": {...}}` is a table of records like an array: over the budget its
/// rows are selected, the one the query names by its key is kept, and a query on the stored
/// entry finds any record by key or field.
#[test]
fn maps_of_records_keyed_by_id_are_selected_like_arrays() {
    let instances: serde_json::Map<String, Value> = (0..400)
        .map(|i| {
            let state = if i == 211 { "stopped" } else { "running" };
            (
                format!("i-{i:08x}"),
                json!({"state": state, "type": "t3.micro", "az": format!("eu-west-1{}", ["a", "b", "c"][i % 3]), "cpu": i % 7}),
            )
        })
        .collect();
    let text = serde_json::to_string(&json!({"Instances": instances})).unwrap();
    let store = MemoryStore::default();
    let r = compress(
        &text,
        &Options {
            budget: 400,
            query: "what is i-0000012c doing".into(),
            ..Options::default()
        },
        &store,
    );
    assert_eq!(r.strategy, "table+select", "{:?}", r.reason);
    assert!(r.tokens_after <= 400);
    assert!(r.output.starts_with("{\"Instances\":{"), "{}", r.output);
    assert!(
        r.output.contains("\ni-0000012c,running,"),
        "the queried key: {}",
        r.output
    );
    assert!(
        r.output.contains("\ni-000000d3,stopped,"),
        "the odd state: {}",
        r.output
    );
    let key = marker_keys(&r.output)[0].clone();
    let stored = store.get(DEFAULT_NAMESPACE, &key).unwrap();
    let e = entry::decode(&stored).unwrap();
    let items = Items::of_entry(&e).unwrap();
    assert_eq!(items.len(), 400);
    let hits = items.matching(&cinch_core::query::Query::parse("state = stopped"));
    assert_eq!(hits.len(), 1);
    assert!(items.items[hits[0]].contains("i-000000d3"));
    let by_key = items.matching(&cinch_core::query::Query::parse("i-00000001"));
    assert!(items.items[by_key[0]].starts_with("{\"i-00000001\""));
}
