//! Git logs end to end: real logs of this repository, ripgrep and uv in their forms (a patch,
//! a stat, one line per commit, graphs, fuller headers with names, raw headers with a short
//! stat, decorations and merges), each with something planted a reader must not miss, and a
//! generated 30-commit `git log -p` with large diffs.

use cinch_core::ccr::{entry, marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::detect::detect;
use cinch_core::{compress, Kind, Options, Report, Store, Tokenizer};
use proptest::prelude::*;

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/samples/{name}",
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
fn stored(r: &Report, store: &MemoryStore) -> Vec<u8> {
    let keys = marker_keys(&r.output);
    assert_eq!(keys.len(), 1, "one marker: {}", r.output);
    let bytes = store.get(DEFAULT_NAMESPACE, &keys[0]).unwrap();
    let e = entry::decode(&bytes).unwrap();
    assert_eq!(e.header.kind, "gitlog");
    e.original.to_vec()
}

/// A fixture, what must be visible without a query at 2000, a query and what it must show.
struct Case {
    file: &'static str,
    anomaly: &'static str,
    query: &'static str,
    answer: &'static str,
    /// Whether every commit fits at 2000 (full-form logs of up to 40 commits).
    all_listed: bool,
}

const CASES: &[Case] = &[
    Case {
        file: "gitlog_patch.txt",
        anomaly: "+    // FIXME: a piece of 8 bytes overwrites its own length byte",
        query: "what did 8d6211e change",
        answer: "diff --git a/fuzz/Cargo.toml b/fuzz/Cargo.toml",
        all_listed: true,
    },
    Case {
        file: "gitlog_stat.txt",
        anomaly: "gitignore.rs -1204",
        query: "walk.rs deadlock",
        answer: " crates/ignore/src/walk.rs | 79 ",
        all_listed: true,
    },
    Case {
        file: "gitlog_oneline.txt",
        anomaly:
            "092d68b920 Revert \"Respect binary policies in generated hashes (#21235)\" (#20969)",
        query: "when was 8460890756 merged",
        answer: "8460890756 Give automated bug fixes a writable Cargo cache (#21219)",
        all_listed: false,
    },
    Case {
        file: "gitlog_graph.txt",
        anomaly: "| | | | | * c7e38427 Revert \"ignore: add incremental checking\"",
        query: "Zed hyperlink",
        answer: "e686e5fd printer: add Zed hyperlink alias",
        all_listed: false,
    },
    Case {
        file: "gitlog_graph_stat.txt",
        anomaly: "Regression: the column was off by one since 14.0 in this case.",
        query: "plumber.yml",
        answer: ".github/workflows/plumber.yml | 35 +",
        all_listed: true,
    },
    Case {
        file: "gitlog_fuller_names.txt",
        anomaly: "D\tcrates/uv-resolver/src/resolver/known_versions.rs",
        query: "who committed 8274e522",
        answer: "Commit:     GitHub <noreply@github.com>",
        all_listed: true,
    },
    Case {
        file: "gitlog_decorate.txt",
        anomaly: "silent data loss",
        query: "termcolor",
        answer: "termcolor provides a platform independent coloring API",
        all_listed: true,
    },
    Case {
        file: "gitlog_raw_shortstat.txt",
        anomaly: "2048 deletions(-)",
        query: "Chris Brown",
        answer: "    cargo: set `rust-version` on all crates\n    \n    For the most part",
        all_listed: true,
    },
];

/// The abbreviated hashes of a full-form log's commits.
fn hashes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start_matches(['*', '|', '/', '\\', ' ']);
            rest.strip_prefix("commit ")
                .map(|h| h.chars().take(10).collect())
        })
        .collect()
}

#[test]
fn every_fixture_is_detected_held_to_the_budget_and_stored_whole() {
    for case in CASES {
        let text = sample(case.file);
        assert_eq!(detect(&text).kind, Kind::GitLog, "{}", case.file);
        for budget in [200, 500, 2000] {
            let (r, store) = run(&text, "", budget);
            assert_eq!(
                r.strategy, "gitlog",
                "{} at {budget}: {:?}",
                case.file, r.reason
            );
            let tokens = Tokenizer::O200kBase.count(&r.output);
            assert_eq!(tokens, r.tokens_after);
            assert!(tokens <= budget, "{} at {budget}: {tokens}", case.file);
            assert!(
                tokens * 10 >= budget * 6,
                "{} at {budget}: only {tokens} tokens used",
                case.file
            );
            assert_eq!(stored(&r, &store), text.as_bytes(), "{}", case.file);
        }
    }
}

#[test]
fn what_a_reader_must_not_miss_is_visible_without_a_query() {
    for case in CASES {
        let text = sample(case.file);
        let (r, _) = run(&text, "", 2000);
        assert!(
            r.output.contains(case.anomaly),
            "{}: {:?} not in\n{}",
            case.file,
            case.anomaly,
            r.output
        );
        if case.all_listed {
            for h in hashes(&text) {
                assert!(
                    r.output.contains(&h),
                    "{}: commit {h} not listed",
                    case.file
                );
            }
        }
    }
}

#[test]
fn the_answer_is_visible_with_a_query() {
    for case in CASES {
        let text = sample(case.file);
        for budget in [500, 2000] {
            let (r, _) = run(&text, case.query, budget);
            assert!(
                r.output.contains(case.answer),
                "{} at {budget}, {:?}: {:?} not in\n{}",
                case.file,
                case.query,
                case.answer,
                r.output
            );
        }
    }
}

#[test]
fn message_lines_that_look_like_a_patch_stay_message() {
    let text = sample("gitlog_patch.txt");
    let (r, _) = run(&text, "ee1b529a74", 2000);
    // The whole message of the commit asked for, in its place under its header.
    let at = r
        .output
        .find("commit ee1b529a74eef491988c56692fdd36267fcfd98e")
        .expect("the commit asked for is shown");
    let after = &r.output[at..];
    let body = "    The note under a file used to read\n    -    path: +N more (lines ...)\n    and now reads\n    +    +N more (lines ...)\n    @@ -1,3 +1,3 @@ stays the hunk header format\n";
    assert!(after.contains(body), "{}", r.output);
    // Its note counts the patch's one file, not the message's lines.
    assert!(
        !after.contains("lines of message; 2 files"),
        "message lines read as a patch:\n{}",
        r.output
    );
}

fn hash_of(k: usize) -> String {
    let x = 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(k as u64 + 1);
    format!("{x:016x}{:016x}{:08x}", x.rotate_left(17), k)
}

/// A generated `git log -p` of 30 commits with large diffs, each commit's lines tagged with
/// its number, messages with lines that look like a patch.
fn generated_log() -> String {
    let mut out = String::new();
    for k in 0..30 {
        let hash = hash_of(k);
        out.push_str(&format!("commit {hash}\n"));
        out.push_str(&format!(
            "Author: Dev{k} Person <dev{k}@example.com>\nDate:   Mon Mar {} 10:0{}:00 2025 +0100\n\n",
            k % 28 + 1,
            k % 10
        ));
        out.push_str(&format!("    Change number {k}: rework the parser\n    \n"));
        out.push_str("    -p used to print nothing here\n    +1 for the new layout\n    @@ not a hunk @@\n\n");
        for f in 0..3 {
            out.push_str(&format!(
                "diff --git a/src/mod{k}_{f}.rs b/src/mod{k}_{f}.rs\nindex 1111111..2222222 100644\n--- a/src/mod{k}_{f}.rs\n+++ b/src/mod{k}_{f}.rs\n"
            ));
            for h in 0..4 {
                out.push_str(&format!(
                    "@@ -{0},40 +{0},44 @@ fn f{h}() {{\n",
                    100 * h + 1
                ));
                for l in 0..40 {
                    match l % 10 {
                        3 => out
                            .push_str(&format!("-    let old_c{k}_{f}_{h}_{l} = compute({l});\n")),
                        4 | 5 => out.push_str(&format!(
                            "+    let new_c{k}_{f}_{h}_{l} = compute_more({l}, {k});\n"
                        )),
                        _ => out.push_str(&format!("     let same_{l} = keep({l});\n")),
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

/// This repository's own `git log -p -n 30` (each commit's patch cut to its first lines),
/// whose subjects are whole paragraphs: they are cut to a common length so that all 30
/// commits are listed, with the budget held.
#[test]
fn thirty_commits_with_paragraph_long_subjects_are_all_listed() {
    let text = sample("gitlog_patch_30_long_subjects.txt");
    let commits = hashes(&text);
    assert_eq!(commits.len(), 30);
    let (r, store) = run(&text, "", 2000);
    assert!(r.tokens_after <= 2000, "{}", r.tokens_after);
    for h in &commits {
        assert!(
            r.output.contains(&h[..10]),
            "commit {h} not listed:\n{}",
            r.output
        );
    }
    assert_eq!(stored(&r, &store), text.as_bytes());
}

#[test]
fn a_generated_30_commit_patch_log_lists_every_commit_at_2000() {
    let text = generated_log();
    assert_eq!(detect(&text).kind, Kind::GitLog);
    let (r, store) = run(&text, "", 2000);
    assert!(
        r.tokens_after <= 2000 && r.tokens_after >= 1600,
        "{}",
        r.tokens_after
    );
    for k in 0..30 {
        assert!(
            r.output.contains(&hash_of(k)[..10]),
            "commit {k} not listed"
        );
        assert!(r.output.contains(&format!("Dev{k} Person")), "author {k}");
        assert!(
            r.output.contains(&format!("2025-03-{:02}", k % 28 + 1)),
            "date {k}"
        );
        assert!(
            r.output
                .contains(&format!("    Change number {k}: rework the parser\n")),
            "subject {k}"
        );
    }
    // Hunks stay under their own commit: every changed line shown comes after its commit's
    // subject and before the next commit's.
    let subject_at = |k: usize| r.output.find(&format!("Change number {k}:")).unwrap();
    for (at, line) in r.output.match_indices("_c") {
        let k: usize = r.output[at + 2..]
            .split('_')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line} at {at}"));
        assert!(at > subject_at(k), "commit {k}'s line above its commit");
        if k + 1 < 30 {
            assert!(at < subject_at(k + 1), "commit {k}'s line under the next");
        }
    }
    assert_eq!(stored(&r, &store), text.as_bytes());
    // Asked about one commit, its patch is shown.
    let (r, _) = run(&text, "what changed in src/mod17_1.rs", 2000);
    assert!(r
        .output
        .contains("diff --git a/src/mod17_1.rs b/src/mod17_1.rs"));
    assert!(r.output.contains("+    let new_c17_1_"), "{}", r.output);
}

#[test]
fn snapshot_of_a_patch_log() {
    let (r, _) = run(&sample("gitlog_patch.txt"), "", 2000);
    insta::assert_snapshot!(r.output);
}

#[test]
fn snapshot_of_a_graph() {
    let (r, _) = run(&sample("gitlog_graph.txt"), "", 500);
    insta::assert_snapshot!(r.output);
}

#[test]
fn snapshot_of_a_stat_log_with_a_query() {
    let (r, _) = run(&sample("gitlog_stat.txt"), "walk.rs deadlock", 1000);
    insta::assert_snapshot!(r.output);
}

#[test]
fn snapshot_of_names_under_fuller_headers() {
    let (r, _) = run(&sample("gitlog_fuller_names.txt"), "", 1000);
    insta::assert_snapshot!(r.output);
}

/// An arbitrary log: full headers or one line per commit, drawn as a graph or not, messages
/// with lines of any shape, stats, names or patches.
fn arbitrary_log() -> impl Strategy<Value = String> {
    let line = "[ -~]{0,60}";
    let commit = (
        0u64..u64::MAX,
        prop::collection::vec(line, 0..5),
        prop::collection::vec(
            prop_oneof![
                line.prop_map(|l| format!("+{l}")),
                line.prop_map(|l| format!("-{l}")),
                line.prop_map(|l| format!(" {l}")),
                Just("@@ -1,3 +1,4 @@".to_string()),
                Just("diff --git a/x.rs b/x.rs".to_string()),
                Just(" x.rs | 12 +++---".to_string()),
                Just("M\tsrc/x.rs".to_string()),
                Just(String::new()),
            ],
            0..30,
        ),
    );
    (
        prop::collection::vec(commit, 1..40),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(commits, oneline, graph)| {
            let mut out = String::new();
            let g = if graph { "| " } else { "" };
            for (hash, message, changes) in commits {
                if oneline {
                    let star = if graph { "* " } else { "" };
                    out.push_str(&format!("{star}{hash:016x}abcd subject {}\n", hash % 97));
                } else {
                    let star = if graph { "* " } else { "" };
                    out.push_str(&format!(
                        "{star}commit {hash:016x}{hash:016x}abcdef01\n{g}Author: A <a@b>\n{g}Date:   Mon Mar 3 10:00:00 2025 +0100\n{g}\n{g}    Subject {}\n",
                        hash % 89
                    ));
                    for m in message {
                        out.push_str(&format!("{g}    {m}\n"));
                    }
                    out.push_str(&format!("{g}\n"));
                }
                for c in changes {
                    out.push_str(&format!("{g}{c}\n"));
                }
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_log_is_held_to_any_budget_and_stored_whole(text in arbitrary_log(), budget in 200usize..3000) {
        let store = MemoryStore::default();
        let r = compress(&text, &Options { budget, kind: Some(Kind::GitLog), ..Options::default() }, &store);
        prop_assert!(r.tokens_after <= budget, "{} > {budget}", r.tokens_after);
        prop_assert!(!r.reason.clone().unwrap_or_default().contains("internal error"));
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        } else {
            prop_assert_eq!(stored(&r, &store), text.as_bytes());
        }
    }
}
