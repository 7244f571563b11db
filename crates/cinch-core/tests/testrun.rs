//! Test-runner output, on real runs captured for these tests (pytest in four modes, cargo
//! test with and without backtraces, go test with and without `-v`, jest, mocha, Maven
//! Surefire with trimmed and full stack traces): detection, the failures and the summary
//! visible at every budget, the answer to a query visible, the budget held and used, and every
//! line recoverable from the stored entry.

use cinch_core::ccr::{entry, marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::detect::detect;
use cinch_core::{compress, Kind, Options, Store};
use proptest::prelude::*;

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/samples/testrun/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn run(text: &str, query: &str, budget: usize) -> (cinch_core::Report, MemoryStore) {
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

/// What a fixture must show.
struct Case {
    file: &'static str,
    /// The result summary: visible at every budget.
    summary: &'static str,
    /// Each failure's name: visible at budgets from 500 on (at 200 at least one).
    failures: &'static [&'static str],
    /// Failures' messages and locations: visible at budget 2000.
    messages: &'static [&'static str],
    /// A query and the line it asks for, visible at every budget.
    query: &'static str,
    answer: &'static str,
}

const PYTEST_FAILURES: &[&str] = &[
    "test_rounding_of_fractional_megabytes",
    "test_overwrite",
    "test_remote_roundtrip",
];
const PYTEST_SUMMARY: &str = "2 failed, 277 passed, 2 skipped, 1 xfailed, 1 warning, 1 error in";
const JEST_FAILURES: &[&str] = &[
    "parseSize › fractional megabytes",
    "parseSize › objects",
    "config › loads missing file",
    "parseSize › deep",
];

const CASES: [Case; 14] = [
    Case {
        file: "pytest_default.txt",
        summary: PYTEST_SUMMARY,
        failures: PYTEST_FAILURES,
        messages: &[
            "E       AssertionError: 1.3m parsed as 1363148",
            "tests/test_parse.py:27: AssertionError",
            "E       ConnectionError: could not reach cache at 127.0.0.1:6379",
            "E       AssertionError: assert {'a': 2} == {'a': 1, 'b': 2}",
        ],
        query: "why did `test_overwrite` fail",
        answer: "E       AssertionError: assert {'a': 2} == {'a': 1, 'b': 2}",
    },
    Case {
        file: "pytest_v.txt",
        summary: PYTEST_SUMMARY,
        failures: PYTEST_FAILURES,
        messages: &[
            "E       AssertionError: 1.3m parsed as 1363148",
            "tests/test_parse.py:27: AssertionError",
            "E       AssertionError: assert {'a': 2} == {'a': 1, 'b': 2}",
        ],
        query: "did test_put_get[17] pass?",
        answer: "tests/test_store.py::test_put_get[17] PASSED",
    },
    Case {
        file: "pytest_q.txt",
        summary: PYTEST_SUMMARY,
        failures: PYTEST_FAILURES,
        messages: &["E       AssertionError: 1.3m parsed as 1363148"],
        query: "what went wrong in test_remote_roundtrip",
        answer: "E       ConnectionError: could not reach cache at 127.0.0.1:6379",
    },
    Case {
        file: "pytest_ra.txt",
        summary: PYTEST_SUMMARY,
        failures: PYTEST_FAILURES,
        messages: &[
            "E       AssertionError: 1.3m parsed as 1363148",
            "E       AssertionError: assert {'a': 2} == {'a': 1, 'b': 2}",
        ],
        query: "test_square[33]",
        answer: "PASSED tests/test_util.py::test_square[33]",
    },
    Case {
        file: "cargo_test.txt",
        summary: "test result: FAILED. 152 passed; 2 failed; 1 ignored",
        failures: &["tests::rejects_too_large", "tests::splits_ipv6"],
        messages: &[
            "assertion `left == right` failed: 70000 should wrap?",
            "invalid digit found in string",
        ],
        query: "port_4404",
        answer: "test tests::port_4404 ... ok",
    },
    Case {
        file: "cargo_test_bt.txt",
        summary: "test result: FAILED. 152 passed; 2 failed; 1 ignored",
        failures: &["tests::rejects_too_large", "tests::splits_ipv6"],
        messages: &[
            "assertion `left == right` failed: 70000 should wrap?",
            "invalid digit found in string",
            "at ./src/lib.rs:7:23",
        ],
        query: "which test is ignored",
        answer: "test tests::slow_scan ... ignored",
    },
    Case {
        file: "go_test.txt",
        summary: "FAIL\texample.com/gt/size",
        failures: &["--- FAIL: TestPut", "--- FAIL: TestUnits"],
        messages: &[
            "panic: assignment to entry in nil map",
            "size_test.go:25: Parse(\"1.3m\") = 1363148, want 1363149",
        ],
        query: "is gt/store ok",
        answer: "ok  \texample.com/gt/store",
    },
    Case {
        file: "go_test_v.txt",
        summary: "FAIL\texample.com/gt/size",
        failures: &["--- FAIL: TestPut", "--- FAIL: TestUnits"],
        messages: &[
            "panic: assignment to entry in nil map",
            "size_test.go:25: Parse(\"1.3m\") = 1363148, want 1363149",
            "/tmp/tr/gt/cache/cache.go:7",
        ],
        query: "TestPlain/n=42",
        answer: "--- PASS: TestPlain/n=42",
    },
    Case {
        file: "jest.txt",
        summary: "Tests:       5 failed, 2 skipped, 143 passed, 150 total",
        failures: JEST_FAILURES,
        messages: &[
            "Expected: 1363149",
            "Cannot find module './does-not-exist.json'",
        ],
        query: "why did `deep` fail",
        answer: "assert.deepStrictEqual(received, expected)",
    },
    Case {
        file: "jest_v.txt",
        summary: "Tests:       5 failed, 2 skipped, 143 passed, 150 total",
        failures: JEST_FAILURES,
        messages: &[
            "Expected: 1363149",
            "Cannot find module './does-not-exist.json'",
        ],
        query: "plain 77",
        answer: "✓ plain 77",
    },
    Case {
        file: "mocha.txt",
        summary: "2 failing",
        failures: &["1) parseSize", "2) parseSize"],
        messages: &[
            "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
            "at Context.<anonymous> (test/size.spec.js:7:27)",
        ],
        query: "plain 42",
        answer: "✔ plain 42",
    },
    Case {
        file: "maven_surefire.txt",
        summary: "Tests run: 128, Failures: 1, Errors: 1, Skipped: 1",
        failures: &["fractionalMegabytes", "garbage"],
        messages: &[
            "java.lang.AssertionError: expected:<1363149> but was:<1363148>",
            "java.lang.NumberFormatException: For input string: \"abc\"",
        ],
        query: "Other17Test",
        answer: "in demo.Other17Test",
    },
    Case {
        file: "maven_surefire_full.txt",
        summary: "Tests run: 128, Failures: 1, Errors: 1, Skipped: 1",
        failures: &["fractionalMegabytes", "garbage"],
        messages: &[
            "java.lang.AssertionError: expected:<1363149> but was:<1363148>",
            "at demo.SizeTest.garbage(SizeTest.java:9)",
            "at demo.SizeTest.fractionalMegabytes(SizeTest.java:8)",
        ],
        query: "Other17Test",
        answer: "in demo.Other17Test",
    },
    Case {
        file: "cinch_core_cargo_test.txt",
        summary: "test result: FAILED. 4 passed; 1 failed",
        failures: &["build_and_test_output"],
        messages: &["snapshot assertion for 'build_and_test_output' failed in line 31"],
        query: "did placeholders_are_put_back_in_one_pass pass",
        answer: "test mixed::tests::placeholders_are_put_back_in_one_pass ... ok",
    },
];

/// The original stored under the output's marker.
fn stored_original(output: &str, store: &MemoryStore) -> Vec<u8> {
    let keys = marker_keys(output);
    assert!(!keys.is_empty(), "a marker: {output}");
    let key = keys.last().unwrap();
    let bytes = store.get(DEFAULT_NAMESPACE, key).unwrap();
    entry::decode(&bytes).unwrap().original.to_vec()
}

#[test]
fn real_runs_keep_failures_and_summary_within_the_budget() {
    for case in &CASES {
        let text = sample(case.file);
        assert_eq!(detect(&text).kind, Kind::Tests, "{}", case.file);
        for budget in [200, 500, 2000] {
            let (r, store) = run(&text, "", budget);
            let at = format!("{} @ {budget}", case.file);
            assert!(r.tokens_after <= budget, "{at}: {} tokens", r.tokens_after);
            assert!(
                r.output.contains(case.summary),
                "{at}: summary\n{}",
                r.output
            );
            if r.strategy == "passthrough" {
                assert!(r.tokens_before <= budget, "{at}: {:?}", r.reason);
                continue;
            }
            assert_eq!(r.strategy, "tests", "{at}: {:?}", r.reason);
            assert!(
                r.tokens_after * 10 >= budget * 7,
                "{at}: only {} tokens used",
                r.tokens_after
            );
            let named = case
                .failures
                .iter()
                .filter(|f| r.output.contains(*f))
                .count();
            if budget >= 500 {
                assert_eq!(named, case.failures.len(), "{at}: failures\n{}", r.output);
            } else {
                assert!(named >= 1, "{at}: no failure named\n{}", r.output);
            }
            if budget >= 2000 {
                for m in case.messages {
                    assert!(r.output.contains(m), "{at}: {m:?} missing\n{}", r.output);
                }
            }
            assert_eq!(stored_original(&r.output, &store), text.as_bytes(), "{at}");
        }
    }
}

#[test]
fn the_query_keeps_the_test_it_names() {
    for case in &CASES {
        let text = sample(case.file);
        for budget in [200, 500, 2000] {
            let (r, _) = run(&text, case.query, budget);
            let at = format!("{} @ {budget} for {:?}", case.file, case.query);
            assert!(r.tokens_after <= budget, "{at}");
            assert!(r.output.contains(case.answer), "{at}\n{}", r.output);
        }
    }
}

/// pytest output with `n` failing tests, each with its block and short-summary line.
fn many_failures(n: usize) -> String {
    let mut s = String::from(
        "============================= test session starts ==============================\n\
         platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0\nrootdir: /srv/app\n",
    );
    s.push_str(&format!("collected {} items\n\n", n * 3));
    for f in 0..n / 10 {
        s.push_str(&format!(
            "tests/test_m{f}.py FFFFFFFFFF{}  [{:3}%]\n",
            ".".repeat(20),
            (f + 1) * 1000 / n
        ));
    }
    s.push_str(
        "\n=================================== FAILURES ===================================\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "________________________________ test_case_{i} ________________________________\n\n    def test_case_{i}():\n        value = compute({i})\n>       assert value == {}\nE       assert {} == {}\nE        +  where {} = compute({i})\n\ntests/test_m{}.py:{}: AssertionError\n",
            i + 1,
            i * 2,
            i + 1,
            i * 2,
            i / 10,
            10 + i % 10 * 4,
        ));
    }
    s.push_str(
        "=========================== short test summary info ============================\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "FAILED tests/test_m{}.py::test_case_{i} - assert {} == {}\n",
            i / 10,
            i * 2,
            i + 1
        ));
    }
    s.push_str(&format!(
        "======================== {n} failed, {} passed in 3.21s =========================\n",
        n * 2
    ));
    s
}

#[test]
fn hundreds_of_failures_are_named_before_their_messages() {
    let text = many_failures(300);
    assert_eq!(detect(&text).kind, Kind::Tests);
    for budget in [500, 2000] {
        let (r, store) = run(&text, "", budget);
        assert_eq!(r.strategy, "tests", "{:?}", r.reason);
        assert!(r.tokens_after <= budget);
        assert!(r.output.contains("300 failed, 600 passed in 3.21s"));
        let named = (0..300)
            .filter(|i| r.output.contains(&format!("::test_case_{i} - ")))
            .count();
        let explained = (0..300)
            .filter(|i| {
                r.output
                    .contains(&format!("+  where {} = compute({i})", i * 2))
            })
            .count();
        assert!(
            named * 30 >= budget,
            "@{budget}: {named} named\n{}",
            r.output
        );
        assert!(
            explained < named,
            "@{budget}: names come before messages ({named} named, {explained} explained)"
        );
        assert_eq!(stored_original(&r.output, &store), text.as_bytes());
    }
}

#[test]
fn snapshots_of_real_runs() {
    for (name, budget) in [
        ("pytest_v.txt", 500),
        ("cargo_test_bt.txt", 500),
        ("go_test_v.txt", 500),
        ("jest_v.txt", 500),
        ("maven_surefire_full.txt", 500),
    ] {
        let (r, _) = run(&sample(name), "", budget);
        insta::assert_snapshot!(format!("{name}_at_{budget}"), r.output);
    }
}

/// Lines of test-runner output in the shapes the runners print.
fn runner_line() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "test tests::case_{} ... ok",
            "test tests::case_{} ... FAILED",
            "tests/test_a.py::test_{} PASSED                 [ 10%]",
            "FAILED tests/test_a.py::test_{} - assert {} == 0",
            "E       assert {} == 0",
            "_____________ test_{} _____________",
            "=== RUN   TestCase{}",
            "--- FAIL: TestCase{} (0.00s)",
            "    case_test.go:{}: got {}",
            "  ● suite › case {}",
            "    ✓ case {} (3 ms)",
            "thread 'tests::case_{}' panicked at src/lib.rs:{}:5:",
            "\tat demo.CaseTest.run(CaseTest.java:{})",
            "",
        ]),
        0u32..500,
    )
        .prop_map(|(shape, n)| format!("{}\n", shape.replace("{}", &n.to_string())))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_runner_output_holds_the_budget_and_is_stored_whole(
        lines in prop::collection::vec(runner_line(), 20..500),
        budget in 200usize..3000,
    ) {
        let text = format!(
            "{}test result: FAILED. 3 passed; 1 failed; 0 ignored\n",
            lines.concat()
        );
        let store = MemoryStore::default();
        let r = compress(&text, &Options { budget, kind: Some(Kind::Tests), ..Options::default() }, &store);
        prop_assert!(r.tokens_after <= budget, "{} > {budget}", r.tokens_after);
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        } else {
            prop_assert_eq!(r.strategy, "tests");
            prop_assert!(r.output.contains("test result: FAILED. 3 passed; 1 failed"));
            prop_assert_eq!(stored_original(&r.output, &store), text.as_bytes());
        }
    }
}

/// Prints what each fixture becomes at each budget (for looking, not checking).
#[test]
#[ignore]
fn show() {
    let only = std::env::var("SHOW").unwrap_or_default();
    let query = std::env::var("QUERY").unwrap_or_default();
    for name in CASES.map(|c| c.file) {
        if !only.is_empty() && !name.contains(&only) {
            continue;
        }
        let text = sample(name);
        for budget in [200, 500, 2000] {
            let (r, _) = run(&text, &query, budget);
            println!(
                "==== {name} @ {budget}: {:?} {} {} -> {} ({:?})\n{}",
                r.kind, r.strategy, r.tokens_before, r.tokens_after, r.reason, r.output
            );
        }
    }
}
