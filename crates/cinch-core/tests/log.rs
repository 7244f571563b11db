//! Logs, on real ones captured for these tests (dpkg's and apt's logs, a Redis server's log, a
//! make and a cargo build with compiler errors, a short application log with a traceback) and
//! bare stack traces (Python with a chained exception, Java with causes, JavaScript, a Rust
//! panic with its backtrace, a Go panic): detection, what must not be missed visible without a
//! query, the answer to a query visible, the budget held and used, the whole original stored.

use cinch_core::ccr::{entry, marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::detect::detect;
use cinch_core::{compress, Kind, Options, Report, Store};
use proptest::prelude::*;

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/samples/log/{name}",
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

/// The original stored under the output's marker.
fn stored_original(output: &str, store: &MemoryStore) -> Vec<u8> {
    let keys = marker_keys(output);
    assert_eq!(keys.len(), 1, "one marker: {output}");
    let bytes = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
    entry::decode(&bytes).unwrap().original.to_vec()
}

/// The first `n` bytes of `s` (fewer, to end on a character boundary).
fn head(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What a fixture must show.
struct Case {
    file: &'static str,
    /// Visible at every budget the input is over.
    always: &'static [&'static str],
    /// Visible at budgets from 500 on.
    at_500: &'static [&'static str],
    /// A query and the line it asks for, visible at every budget.
    query: &'static str,
    answer: &'static str,
}

const CASES: [Case; 11] = [
    Case {
        file: "dpkg.log",
        always: &[],
        at_500: &["conffile /etc/ssl/openssl.cnf keep"],
        query: "when was libxmu6 installed",
        answer: "status installed libxmu6:amd64",
    },
    Case {
        file: "apt_term.log",
        always: &["dpkg: error processing package libssl3:amd64 (--configure):"],
        at_500: &[
            "post-installation script subprocess returned error exit status 1",
            "Errors were encountered while processing:",
        ],
        query: "was libfreetype6 unpacked",
        answer: "Unpacking libfreetype6:amd64",
    },
    Case {
        file: "redis.log",
        always: &["# Error accepting a client connection: Too many open files"],
        at_500: &["Ready to accept connections"],
        query: "when did the background save finish",
        answer: "Background saving terminated with success",
    },
    Case {
        file: "build_make.log",
        always: &["e1.c:1:22: error: ‘undefined_thing’ undeclared"],
        at_500: &[
            "make: *** [<builtin>: e1.o] Error 1",
            "w2.c:1:25: warning: returning ‘char *’",
        ],
        query: "m77.c",
        answer: "cc -Wall -O2   -c -o m77.o m77.c",
    },
    Case {
        file: "build_cargo.log",
        always: &["error[E0308]: mismatched types"],
        at_500: &[
            "error[E0425]: cannot find function `undefined_helper` in this scope",
            "error: could not compile `ct` (lib) due to 2 previous errors",
        ],
        query: "which version of serde_json",
        answer: "Compiling serde_json v",
    },
    Case {
        file: "short_traceback.log",
        always: &[
            "ERROR [billing] could not parse invoice total for account 17",
            "Traceback (most recent call last):",
            "ValueError: invalid literal for int() with base 10: 'x'",
        ],
        at_500: &["ERROR [billing] account 18 rejected: card expired"],
        query: "account 17",
        answer: "WARNING [billing] account 17 has no currency",
    },
    Case {
        file: "python_traceback.txt",
        always: &[
            "Traceback (most recent call last):",
            "KeyError: 'user'",
            "ValueError: missing setting 'user' in config.json",
        ],
        at_500: &["The above exception was the direct cause of the following exception:"],
        query: "deep.py line 25",
        answer: "File \"/tmp/tr/logs/deep.py\", line 25, in <module>",
    },
    Case {
        file: "java_trace.txt",
        always: &[
            "Exception in thread \"main\" java.lang.IllegalStateException: cannot load inventory a.csv",
            "Caused by: java.lang.NumberFormatException: For input string: \"12x\"",
        ],
        at_500: &["at Main.parse(Main.java:12)"],
        query: "Main.java:18",
        answer: "at Main.process(Main.java:18)",
    },
    Case {
        file: "node_error.txt",
        always: &["request failed: TypeError: Cannot read properties of undefined (reading 'name')"],
        at_500: &["at Repo.find (/tmp/tr/logs/node_err.js:1:118)"],
        query: "route",
        answer: "at route (/tmp/tr/logs/node_err.js:3:36)",
    },
    Case {
        file: "rust_panic.txt",
        always: &[
            "panicked at src/main.rs:7:15:",
            "key present in the routing table",
        ],
        at_500: &["at ./src/main.rs:14:38"],
        query: "region us",
        answer: "region us -> 2",
    },
    Case {
        file: "go_panic.txt",
        always: &["panic: runtime error: index out of range [4] with length 3"],
        at_500: &["/tmp/tr/gp/main.go:24 +0x1a5", "exit status 2"],
        query: "main.go:12",
        answer: "/tmp/tr/gp/main.go:12 +0xb2",
    },
];

#[test]
fn real_logs_and_traces_keep_what_matters_within_the_budget() {
    for case in &CASES {
        let text = sample(case.file);
        assert_eq!(detect(&text).kind, Kind::Log, "{}", case.file);
        for budget in [100, 200, 500, 2000] {
            let (r, store) = run(&text, "", budget);
            let at = format!("{} @ {budget}", case.file);
            assert!(r.tokens_after <= budget, "{at}: {} tokens", r.tokens_after);
            if r.strategy == "passthrough" {
                assert!(r.tokens_before <= budget, "{at}: {:?}", r.reason);
                continue;
            }
            assert_eq!(r.strategy, "log-templates", "{at}: {:?}", r.reason);
            assert!(
                r.tokens_after * 10 >= budget * 6,
                "{at}: only {} tokens used\n{}",
                r.tokens_after,
                r.output
            );
            if budget < 200 {
                // At the smallest budget, at least the start of what says most.
                let shown = case.always.iter().any(|m| r.output.contains(head(m, 30)));
                assert!(shown || case.always.is_empty(), "{at}\n{}", r.output);
            } else {
                let must = case
                    .always
                    .iter()
                    .chain(if budget >= 500 { case.at_500 } else { &[] });
                for m in must {
                    assert!(r.output.contains(m), "{at}: {m:?} missing\n{}", r.output);
                }
            }
            assert_eq!(stored_original(&r.output, &store), text.as_bytes(), "{at}");
        }
    }
}

#[test]
fn the_query_keeps_what_it_asks_for() {
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

/// A service log of `n` lines around a real Java trace and two error lines.
fn service_log(n: usize) -> String {
    let trace = sample("java_trace.txt");
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "2026-12-04 18:{:02}:{:02},{:03} INFO [worker-{}] app.Poller: polled queue depth={} in {}ms\n",
            i / 60 % 60,
            i % 60,
            i % 1000,
            i % 4,
            i % 9,
            i * 7 % 50
        ));
        if i == n / 3 {
            s.push_str("2026-12-04 18:10:00,000 ERROR [worker-2] app.Inventory: load failed\n");
            s.push_str(
                trace
                    .lines()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .as_str(),
            );
            s.push('\n');
        }
        if i == n / 2 {
            s.push_str("2026-12-04 18:20:00,000 WARN [worker-1] app.Db: slow query took 1200ms\n");
        }
    }
    s
}

#[test]
fn the_budget_is_a_cap_on_a_long_log_and_errors_come_first() {
    let text = service_log(3000);
    for budget in [200, 500, 2000] {
        let (r, store) = run(&text, "", budget);
        assert_eq!(r.kind, Kind::Log);
        assert!(r.tokens_after <= budget, "{}", r.tokens_after);
        assert!(r.tokens_after * 10 >= budget * 7, "{}", r.tokens_after);
        for m in [
            "ERROR [worker-2] app.Inventory: load failed",
            "Exception in thread \"main\" java.lang.IllegalStateException",
        ] {
            assert!(r.output.contains(m), "@{budget}: {m}\n{}", r.output);
        }
        if budget >= 500 {
            assert!(r
                .output
                .contains("Caused by: java.lang.NumberFormatException"));
            assert!(r.output.contains("WARN [worker-1] app.Db: slow query"));
            assert!(r.output.contains("more like this: lines"), "{}", r.output);
        }
        assert_eq!(stored_original(&r.output, &store), text.as_bytes());
    }
}

#[test]
fn snapshots_of_real_logs() {
    for (name, budget) in [
        ("apt_term.log", 500),
        ("build_cargo.log", 500),
        ("short_traceback.log", 120),
        ("python_traceback.txt", 200),
        ("rust_panic.txt", 200),
    ] {
        let (r, _) = run(&sample(name), "", budget);
        insta::assert_snapshot!(format!("{name}_at_{budget}"), r.output);
    }
}

/// Log lines: a timestamp, a level, a logger and a message of a few shapes.
fn log_line() -> impl Strategy<Value = String> {
    (
        0u32..86_400,
        prop::sample::select(vec!["INFO", "DEBUG", "WARN", "ERROR"]),
        0u32..8,
        prop::sample::select(vec![
            "request served in {}ms",
            "connection refused to db-{}",
            "cache miss for key user:{}",
            "  at app.Service.run(Service.java:{})",
            "Traceback (most recent call last):",
            "ValueError: bad value {}",
        ]),
        0u32..5000,
    )
        .prop_map(|(t, level, worker, shape, n)| {
            let message = shape.replace("{}", &n.to_string());
            if message.starts_with(' ') || !message.contains(' ') || message.contains("Error:") {
                format!("{message}\n")
            } else {
                format!(
                    "2026-12-04 {:02}:{:02}:{:02} {level} [w-{worker}] {message}\n",
                    t / 3600,
                    t / 60 % 60,
                    t % 60
                )
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_log_holds_the_budget_and_is_stored_whole(
        lines in prop::collection::vec(log_line(), 50..600),
        budget in 200usize..3000,
    ) {
        let text: String = lines.concat();
        let store = MemoryStore::default();
        let r = compress(&text, &Options { budget, kind: Some(Kind::Log), ..Options::default() }, &store);
        prop_assert!(r.tokens_after <= budget, "{} > {budget}", r.tokens_after);
        if r.strategy != "passthrough" {
            prop_assert_eq!(stored_original(&r.output, &store), text.as_bytes());
        } else {
            prop_assert_eq!(&r.output, &text);
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
        for budget in [100, 200, 500, 2000] {
            let (r, _) = run(&text, &query, budget);
            println!(
                "==== {name} @ {budget}: {:?} {} {} -> {} ({:?})\n{}",
                r.kind, r.strategy, r.tokens_before, r.tokens_after, r.reason, r.output
            );
        }
    }
}
