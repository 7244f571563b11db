//! Path lists as shells print them (`find`, `git ls-files`, `ls -R`, `tree`), captured on a
//! development machine with an anomaly planted in each: detected as paths, the anomaly
//! visible without a query, the answer visible with one, the budget held and used, and the
//! whole original stored under the marker's key.

use cinch_core::ccr::entry;
use cinch_core::ccr::{marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::detect::detect;
use cinch_core::{compress, Kind, Options, Report, Store};
use proptest::prelude::*;

struct Case {
    file: &'static str,
    /// Lines a reader must see without asking.
    anomalies: &'static [&'static str],
    query: &'static str,
    /// Lines the query asks for.
    answers: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        file: "paths_find_usr_lib.txt",
        anomalies: &[
            "/usr/lib/x86_64-linux-gnu/core.4117",
            "find: '/usr/lib/ssl/private': Permission denied",
        ],
        query: "where is libpq",
        answers: &["/usr/lib/x86_64-linux-gnu/libpq.so.5"],
    },
    Case {
        file: "paths_find_py.txt",
        anomalies: &[
            "./json/decoder copy (2).py",
            "./email/_policybase.orig.py",
            "./site-packages/moto/stepfunctions/parser/asl/component/common/payload/payloadvalue/payloadvaluelit/payload_value_str.py",
        ],
        query: "which files are in concurrent/futures",
        answers: &[
            "./concurrent/futures/thread.py",
            "./concurrent/futures/process.py",
        ],
    },
    Case {
        file: "paths_git_ls_files.txt",
        anomalies: &[
            "plugins/python-build/bin/.python-build.swp",
            "plugins/python-build/share/python-build/patches/3.8.0/Python-3.8.0/0001-bpo-39017-Avoid-infinite-loop.patch.rej",
        ],
        query: "the 3.9.16 build definition",
        answers: &["plugins/python-build/share/python-build/3.9.16"],
    },
    Case {
        file: "paths_ls_R.txt",
        anomalies: &["core"],
        query: "what is in resolvelib compat",
        answers: &["./_vendor/resolvelib/compat:", "collections_abc.py"],
    },
    Case {
        file: "paths_tree.txt",
        anomalies: &[
            "    │\u{a0}\u{a0} ├── leaked_key.pem",
            "66 directories, 581 files",
        ],
        query: "where is the mpsc channel",
        answers: &["│\u{a0}\u{a0} │\u{a0}\u{a0} ├── mpsc"],
    },
];

fn sample(file: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/samples/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn run(text: &str, query: &str, budget: usize) -> (Report, MemoryStore) {
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

/// Whether `line` is a whole line of `output`.
fn shows(output: &str, line: &str) -> bool {
    output.lines().any(|l| l == line)
}

/// The one stored entry's original equals the input.
fn stored_whole(r: &Report, store: &MemoryStore, text: &str) {
    let keys = marker_keys(&r.output);
    assert_eq!(keys.len(), 1, "one marker");
    let bytes = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
    let e = entry::decode(&bytes).unwrap();
    assert_eq!(e.original, text.as_bytes(), "the whole original is stored");
    assert_eq!(e.header.kind, "paths");
    // Every kept line is an input line at the place the header says.
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for &(a, b) in &e.header.kept {
        for line in &lines[a..b] {
            assert!(r.output.contains(line.trim_end_matches('\n')));
        }
    }
}

#[test]
fn real_listings_are_detected_as_paths() {
    for c in CASES {
        assert_eq!(detect(&sample(c.file)).kind, Kind::Paths, "{}", c.file);
    }
}

#[test]
fn budget_held_and_used_anomalies_visible_everything_stored() {
    for c in CASES {
        let text = sample(c.file);
        for budget in [200, 500, 2000] {
            let (r, store) = run(&text, "", budget);
            let at = format!("{} at {budget}", c.file);
            assert_eq!(r.strategy, "paths", "{at}: {:?}", r.reason);
            assert!(r.tokens_after <= budget, "{at}: {} tokens", r.tokens_after);
            assert!(
                r.tokens_after * 10 >= budget * 4,
                "{at}: only {} tokens used",
                r.tokens_after
            );
            stored_whole(&r, &store, &text);
            if budget >= 500 {
                for a in c.anomalies {
                    assert!(shows(&r.output, a), "{at}: {a:?} not visible\n{}", r.output);
                }
            }
        }
    }
}

#[test]
fn the_query_answer_is_visible() {
    for c in CASES {
        let text = sample(c.file);
        for budget in [200, 2000] {
            let (r, _) = run(&text, c.query, budget);
            assert!(r.tokens_after <= budget);
            for a in c.answers {
                assert!(
                    r.output.lines().any(|l| l.starts_with(a)),
                    "{} at {budget}: {a:?} not visible for {:?}\n{}",
                    c.file,
                    c.query,
                    r.output
                );
            }
        }
    }
}

#[test]
fn every_directory_has_a_line_at_a_generous_budget() {
    let text = sample("paths_find_usr_lib.txt");
    let (r, _) = run(&text, "", 2000);
    for dir in [
        "/usr/lib/x86_64-linux-gnu/",
        "/usr/lib/git-core/",
        "/usr/lib/postgresql/",
    ] {
        assert!(
            r.output
                .lines()
                .any(|l| l.starts_with(dir) || l.starts_with(&format!("[… {dir}"))),
            "{dir} not visible\n{}",
            r.output
        );
    }
    assert!(r.output.contains("[… /usr/lib/x86_64-linux-gnu/: +"));
}

/// Prints what each fixture compresses to, and the generic line compressor's output on the
/// same input, for measuring: `cargo test -p cinch-core --test paths -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure() {
    for c in CASES {
        let text = sample(c.file);
        for budget in [200, 500, 2000] {
            let (r, _) = run(&text, "", budget);
            let store = MemoryStore::default();
            let lines = compress(
                &text,
                &Options {
                    budget,
                    kind: Some(Kind::Lines),
                    ..Options::default()
                },
                &store,
            );
            let seen = |out: &str| c.anomalies.iter().filter(|a| shows(out, a)).count();
            println!(
                "{:28} budget {budget:5}: {:6} -> {:5} tokens, {}/{} anomalies; lines: {:5} tokens, {}/{} anomalies",
                c.file,
                r.tokens_before,
                r.tokens_after,
                seen(&r.output),
                c.anomalies.len(),
                lines.tokens_after,
                seen(&lines.output),
                c.anomalies.len()
            );
            if std::env::var("SHOW").is_ok_and(|b| b == budget.to_string()) {
                println!("{}", r.output);
            }
        }
    }
}

/// A listing of generated paths: some directories, some extensions, some odd names.
fn listing() -> impl Strategy<Value = String> {
    let dir = prop::sample::select(vec![
        "/usr/lib",
        "./src/a",
        "src/b/c",
        "",
        "/",
        "x y",
        "deep/a/b/c/d/e/f/g/h",
    ]);
    let name = "[a-zA-Z0-9_ .~#-]{0,12}";
    let ext = prop::sample::select(vec!["", ".so", ".py", ".rs", ".so.6", ".orig", ".pem"]);
    prop::collection::vec((dir, name, ext), 1..300).prop_map(|rows| {
        rows.into_iter()
            .map(|(d, n, e)| format!("{d}/{n}{e}\n"))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// What the fuzz target checks, on any text: no panic behind the router's guard, never
    /// larger than the input, a pass-through is the input.
    #[test]
    fn any_text_forced_to_this_kind_is_safe(
        text in "(?s).{0,600}",
        budget in 10usize..300,
    ) {
        let store = MemoryStore::default();
        let opts = Options {
            budget,
            query: "errors in `main` id 42".into(),
            kind: Some(Kind::Paths),
            ..Options::default()
        };
        let r = compress(&text, &opts, &store);
        prop_assert!(!r.reason.clone().unwrap_or_default().contains("internal error"));
        prop_assert!(r.tokens_after <= r.tokens_before);
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        }
    }

    #[test]
    fn any_listing_holds_the_budget_and_is_stored_whole(
        text in listing(),
        budget in 200usize..1500,
    ) {
        let store = MemoryStore::default();
        let r = compress(
            &text,
            &Options { budget, kind: Some(Kind::Paths), ..Options::default() },
            &store,
        );
        prop_assert!(r.tokens_after <= budget.max(r.tokens_before));
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        } else {
            let keys = marker_keys(&r.output);
            prop_assert_eq!(keys.len(), 1);
            let bytes = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
            let e = entry::decode(&bytes).unwrap();
            prop_assert_eq!(e.original, text.as_bytes());
        }
    }
}

/// What the model sees, pinned: a change in it shows up in review.
#[test]
fn snapshot_of_find_output() {
    insta::assert_snapshot!(run(&sample("paths_find_usr_lib.txt"), "", 500).0.output);
}

#[test]
fn snapshot_of_a_tree_with_a_query() {
    insta::assert_snapshot!(
        run(&sample("paths_tree.txt"), "where is the mpsc channel", 400)
            .0
            .output
    );
}

#[test]
fn snapshot_of_ls_r() {
    insta::assert_snapshot!(run(&sample("paths_ls_R.txt"), "", 300).0.output);
}

/// `retrieve KEY --query core` finds the dump among what was left out.
#[test]
fn retrieval_with_a_query_finds_the_dump() {
    use cinch_core::ccr::search::Items;
    use cinch_core::query::Query;
    let text = sample("paths_find_usr_lib.txt");
    let (r, store) = run(&text, "", 200);
    let bytes = store
        .get(DEFAULT_NAMESPACE, &marker_keys(&r.output)[0])
        .unwrap();
    let e = entry::decode(&bytes).unwrap();
    let items = Items::of_entry(&e).unwrap();
    let found: Vec<&str> = items
        .matching(&Query::parse("core"))
        .into_iter()
        .map(|i| items.items[i].as_ref())
        .collect();
    assert!(
        found.contains(&"/usr/lib/x86_64-linux-gnu/core.4117"),
        "{found:?}"
    );
}
