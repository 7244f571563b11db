//! The search compressor on real results captured on a development machine: `grep -rn EINVAL
//! /usr/include`, `rg --heading -n "fn "` over this crate, `grep -rn -C2 unwrap_or` (context
//! lines), `git grep -n` and one match in each of 120 headers (`grep -rn -m1`), trimmed, each
//! with an anomaly planted (a `#error` directive, a `panic!` on a corrupt store, a FATAL lock,
//! a TODO about corrupt entries). See `fixture_check` for what each is checked for; here too:
//! every line shown is an input line or a note about what was left out, every file is named
//! while the budget allows, and a property test over generated results.

mod fixture_check;

use cinch_core::Kind;
use fixture_check::{check, run, sample, shown_lines, stored_original, Case};
use proptest::prelude::*;

const CASES: &[Case] = &[
    Case {
        name: "search_grep_include.txt",
        // Fifty lines hold error words here (`Invalid argument`, `fails with`): the planted
        // one is among the rarest, shown from 2 000 tokens.
        anomaly: "#error \"EINVAL redefined with a different value\"",
        anomaly_from: 2000,
        query: "Where is EINVAL defined?",
        answer: "errno-base.h:26:#define\tEINVAL\t\t22",
    },
    Case {
        name: "search_rg_heading.txt",
        anomaly: "panic!(\"corrupt store: entry hash mismatch\")",
        anomaly_from: 200,
        query: "where is `compress_table` defined",
        answer: "79:pub fn compress_table(text: &str, ctx: &Context)",
    },
    Case {
        name: "search_grep_context.txt",
        anomaly: "FATAL: poisoned lock",
        anomaly_from: 200,
        query: "who calls `rsplit`",
        answer: "let name = path.rsplit('/').next().unwrap_or(path);",
    },
    Case {
        name: "search_git_grep.txt",
        anomaly: "entries corrupt on power failure",
        anomaly_from: 200,
        query: "where is Store implemented for `RedisStore`",
        answer: "crates/cinch-store/src/redis.rs:219:impl Store for RedisStore {",
    },
    Case {
        name: "search_grep_wide.txt",
        anomaly: "#error \"stddef.h must come first",
        anomaly_from: 200,
        query: "what does `monetary.h` include",
        answer: "/usr/include/monetary.h:26:#include <stddef.h>",
    },
];

#[test]
fn real_results_are_detected_held_to_the_budget_and_keep_what_matters() {
    for case in CASES {
        check(case, Kind::Search, "search-by-file");
    }
}

/// What an output line may be: an input line, or a note saying what a file left out.
fn is_note(line: &str) -> bool {
    line.contains(" more (line")
}

#[test]
fn every_line_shown_is_an_input_line_or_a_note() {
    for case in CASES {
        let text = sample(case.name);
        let input: std::collections::HashSet<&str> = text.lines().collect();
        for budget in [200, 2000] {
            let (r, _) = run(&text, case.query, budget);
            for line in shown_lines(&r.output) {
                assert!(
                    input.contains(line) || is_note(line),
                    "{}: {line:?} is neither",
                    case.name
                );
            }
        }
    }
}

#[test]
fn every_file_is_named_while_the_budget_allows() {
    let text = sample("search_grep_include.txt");
    let files: std::collections::BTreeSet<&str> =
        text.lines().filter_map(|l| l.split(':').next()).collect();
    let (r, _) = run(&text, "", 2000);
    for f in &files {
        assert!(r.output.contains(f), "{f} not named:\n{}", r.output);
    }
    // At 200 tokens not all fit: those left out are counted in the marker.
    let (r, _) = run(&sample("search_grep_wide.txt"), "", 200);
    assert!(r.output.contains("files not named"), "{}", r.output);
}

#[test]
fn snapshot_of_ripgrep_headings() {
    let (r, _) = run(&sample("search_rg_heading.txt"), "", 500);
    insta::assert_snapshot!(r.output);
}

#[test]
fn snapshot_of_wide_results_with_a_query() {
    let (r, _) = run(
        &sample("search_grep_wide.txt"),
        "which headers include stddef.h from `/usr/include/llvm-c-14`",
        500,
    );
    insta::assert_snapshot!(r.output);
}

/// Generated results: files with numbered matches, in grep's form or under ripgrep's
/// headings, some with context lines.
fn results() -> impl Strategy<Value = String> {
    let file = (
        "[a-z]{1,8}(/[a-z_]{1,10}){0,3}\\.(rs|py|h|go)",
        prop::collection::vec(("[ -~]{0,90}", any::<bool>()), 1..30),
    );
    (prop::collection::vec(file, 1..40), any::<bool>()).prop_map(|(files, headings)| {
        let mut out = String::new();
        for (path, hits) in files {
            if headings {
                out.push_str(&format!("{path}\n"));
            }
            for (n, (text, matched)) in hits.iter().enumerate() {
                let sep = if *matched { ':' } else { '-' };
                if headings {
                    out.push_str(&format!("{}{sep}{text}\n", n + 1));
                } else {
                    out.push_str(&format!("{path}{sep}{}{sep}{text}\n", n + 1));
                }
            }
            if headings {
                out.push('\n');
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_results_hold_the_budget_and_are_stored_whole(text in results(), budget in 200usize..3000) {
        let (r, store) = run(&text, "", budget);
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        } else {
            prop_assert!(r.tokens_after <= budget, "{} > {budget}", r.tokens_after);
            prop_assert!(stored_original(&r, &store) == text.as_bytes());
        }
    }
}
