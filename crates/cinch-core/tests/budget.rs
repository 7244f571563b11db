//! The budget is a contract, on every kind: for any input and any budget of 200 tokens or
//! more, the output has at most that many tokens (only a pass-through of an input that fits
//! may be as large as the input), and nothing is lost: every line of the input is in the output
//! or in what its markers retrieve.

use cinch_core::ccr::{entry, marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::{compress, Options, Store, Tokenizer};
use proptest::prelude::*;

/// Lines of the shapes agents' tools print, mixed.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        // Logs.
        (
            0u32..86400,
            prop::sample::select(vec!["INFO", "WARN", "ERROR", "DEBUG"]),
            "[a-z ]{0,40}"
        )
            .prop_map(|(t, l, m)| format!(
                "2026-12-04T{:02}:{:02}:{:02}Z {l} {m}",
                t / 3600,
                t / 60 % 60,
                t % 60
            )),
        // Table rows.
        (0u32..100000, "[a-z]{1,8}", 0u32..1000).prop_map(|(p, u, c)| format!(
            "{u:<8} {p:>7} {}.{} S   0:00 /usr/bin/{u}",
            c / 10,
            c % 10
        )),
        // Paths.
        "(/[a-z0-9_.-]{1,10}){1,6}",
        // Code.
        "[a-z_]{1,10}".prop_map(|f| format!("    let {f} = compute({f}, 1)?;")),
        "[a-z_]{1,10}".prop_map(|f| format!("fn {f}() -> u32 {{")),
        // Prose.
        "[A-Z][a-z]{2,8}( [a-z]{1,9}){4,14}\\.",
        // JSON-ish and odd text.
        (0u32..1000, "[a-z]{0,6}")
            .prop_map(|(i, s)| format!("{{\"id\": {i}, \"name\": \"{s}\"}},")),
        "\\PC{0,60}",
        Just(String::new()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Many lines of mixed or uniform shapes.
        proptest::collection::vec(line(), 0..400).prop_map(|l| l.join("\n")),
        (line(), 50usize..600)
            .prop_map(|(l, n)| std::iter::repeat_n(l, n).collect::<Vec<_>>().join("\n")),
        // One long line, with or without a line break.
        ("[a-z0-9 ,:{}\\[\\]\"]{1,20}", 200usize..3000, any::<bool>())
            .prop_map(|(s, n, nl)| s.repeat(n) + if nl { "\n" } else { "" }),
        // A JSON array of records.
        (
            proptest::collection::vec(("[a-z]{1,6}", 0u32..5000), 1..300),
            any::<bool>()
        )
            .prop_map(|(rows, pretty)| {
                let v: Vec<serde_json::Value> = rows
                    .into_iter()
                    .map(|(s, n)| serde_json::json!({"id": n, "name": s, "ok": n % 7 != 0}))
                    .collect();
                if pretty {
                    serde_json::to_string_pretty(&v).unwrap()
                } else {
                    serde_json::to_string(&v).unwrap()
                }
            }),
    ]
}

/// Every line of `input` appears in `output` or in the original of one of its markers' keys.
fn nothing_lost(input: &str, output: &str, store: &MemoryStore) -> Result<(), String> {
    let mut retrieved = String::new();
    for key in marker_keys(output) {
        let bytes = store
            .get(DEFAULT_NAMESPACE, &key)
            .map_err(|e| format!("marker {key}: {e}"))?;
        let e = entry::decode(&bytes).map_err(|e| e.to_string())?;
        if e.original == input.as_bytes() {
            return Ok(());
        }
        retrieved.push_str(&String::from_utf8_lossy(e.original));
        retrieved.push('\n');
    }
    for l in input.lines() {
        if !output.contains(l) && !retrieved.contains(l) {
            return Err(format!("line lost: {l:?}"));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn output_is_within_the_budget_and_nothing_is_lost(
        input in text(),
        budget in 200usize..3000,
        query in prop_oneof![Just(String::new()), "[a-z]{3,8}", "(id|status|host) = [a-z0-9]{1,6}"],
    ) {
        let store = MemoryStore::default();
        let r = compress(&input, &Options { budget, query, ..Options::default() }, &store);
        let tokens = Tokenizer::default().count(&r.output);
        prop_assert_eq!(tokens, r.tokens_after);
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &input);
            prop_assert!(
                r.tokens_before <= budget,
                "a {}-token input over the budget {} passed through: {:?}",
                r.tokens_before, budget, r.reason
            );
        } else {
            prop_assert!(tokens <= budget, "{} > {budget} ({:?}, {})", tokens, r.kind, r.strategy);
            prop_assert!(tokens < r.tokens_before);
            if let Err(e) = nothing_lost(&input, &r.output, &store) {
                prop_assert!(r.lossless, "{} ({:?}, {})", e, r.kind, r.strategy);
            }
        }
    }
}
