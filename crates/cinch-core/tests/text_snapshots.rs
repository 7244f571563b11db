//! What each text compressor makes of a real sample (our own build output, grep output, a
//! commit, a source file and the README), pinned with snapshots: a change in what the model
//! would see shows up in review.

use cinch_core::ccr::MemoryStore;
use cinch_core::{compress, Kind, Options};

fn run(sample: &str, kind: Kind, query: &str, budget: usize) -> String {
    let text = std::fs::read_to_string(format!(
        "{}/tests/samples/{sample}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let r = compress(
        &text,
        &Options {
            query: query.into(),
            budget,
            ..Options::default()
        },
        &MemoryStore::default(),
    );
    assert_eq!(r.kind, kind, "{sample} detected as {:?}", r.kind);
    assert_ne!(r.strategy, "passthrough", "{sample}: {:?}", r.reason);
    assert!(r.tokens_after < r.tokens_before);
    r.output
}

#[test]
fn build_and_test_output() {
    insta::assert_snapshot!(run(
        "cargo_test.log",
        Kind::Tests,
        "which tests failed",
        200
    ));
}

#[test]
fn grep_output() {
    insta::assert_snapshot!(run(
        "grep_compress.txt",
        Kind::Search,
        "Where is `compress_log` defined?",
        300
    ));
}

#[test]
fn a_commit() {
    insta::assert_snapshot!(run("git_show.diff", Kind::Diff, "", 2000));
}

#[test]
fn rust_source() {
    insta::assert_snapshot!(run(
        "memory_store.rs.txt",
        Kind::Code,
        "How does `put` work?",
        300
    ));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(run(
        "readme.md",
        Kind::Prose,
        "What does it say about Layout?",
        500
    ));
}
