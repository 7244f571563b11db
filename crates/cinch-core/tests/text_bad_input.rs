//! Text that tool output really contains and that breaks naive compressors: a 10 MB line,
//! control bytes, CRLF and mixed line endings, tabs, ANSI colours, code that does not parse, a
//! large log. Each must come out smaller or unchanged, never with a panic, and whatever is
//! dropped must be retrievable.

use cinch_core::ccr::{marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::{compress, Kind, Options, Report, Store};

const KINDS: [Kind; 5] = [Kind::Log, Kind::Search, Kind::Diff, Kind::Code, Kind::Prose];

/// Compresses `input` (as `kind`, or detected) and checks what every compression must hold.
fn check(input: &str, kind: Option<Kind>, budget: usize) -> (Report, MemoryStore) {
    let store = MemoryStore::default();
    let opts = Options {
        kind,
        budget,
        query: "error in `main`".into(),
        ..Options::default()
    };
    let r = compress(input, &opts, &store);
    let reason = r.reason.clone().unwrap_or_default();
    assert!(!reason.contains("internal error"), "{kind:?}: {reason}");
    assert!(r.tokens_after <= r.tokens_before, "{kind:?}");
    if r.strategy == "passthrough" {
        assert_eq!(r.output, input, "{kind:?}");
    }
    for key in marker_keys(&r.output) {
        assert!(
            store.get(DEFAULT_NAMESPACE, &key).is_ok(),
            "{kind:?}: {key}"
        );
    }
    (r, store)
}

/// What the markers of `output` give back, together.
fn retrieved(output: &str, store: &MemoryStore) -> String {
    marker_keys(output)
        .iter()
        .map(|k| String::from_utf8(store.get(DEFAULT_NAMESPACE, k).unwrap()).unwrap())
        .collect()
}

#[test]
fn a_ten_megabyte_line_passes_through_or_shrinks_for_every_kind() {
    let line = "word ".repeat(2 * 1024 * 1024);
    for kind in KINDS.map(Some).into_iter().chain([None]) {
        check(&line, kind, 2000);
    }
}

#[test]
fn control_bytes_tabs_and_empty_text_are_handled() {
    let control: String = (0u8..32)
        .chain(127..128)
        .map(char::from)
        .cycle()
        .take(20_000)
        .collect();
    let tabs = "\tcol1\tcol2\t\tcol3\n".repeat(2000);
    for text in ["", "\n", "\r\n\r\n", control.as_str(), tabs.as_str()] {
        for kind in KINDS.map(Some).into_iter().chain([None]) {
            check(text, kind, 50);
        }
    }
}

#[test]
fn crlf_and_mixed_line_endings_are_kept_byte_for_byte() {
    let mut log = String::new();
    for i in 0..400 {
        let ending = if i % 3 == 0 { "\n" } else { "\r\n" };
        log.push_str(&format!(
            "2024-05-01 12:00:{:02} INFO [worker-{}] job {i} done in {}ms{ending}",
            i % 60,
            i % 4,
            i * 7 % 300
        ));
    }
    log.push_str("2024-05-01 12:07:00 ERROR [main] job 400 failed: disk full\r\n");
    let (r, store) = check(&log, None, 100);
    assert_eq!(r.kind, Kind::Log);
    assert_ne!(r.strategy, "passthrough");
    assert!(
        r.output.contains("job 400 failed: disk full\r\n"),
        "{}",
        r.output
    );
    // Every line the output keeps from the input keeps its own ending.
    let input_lines: std::collections::HashSet<&str> = log.split_inclusive('\n').collect();
    for line in r.output.split_inclusive('\n') {
        if line.starts_with("2024-") {
            assert!(input_lines.contains(line), "changed: {line:?}");
        }
    }
    // And nothing is lost.
    let back = retrieved(&r.output, &store);
    for line in log.split_inclusive('\n') {
        assert!(
            r.output.contains(line) || back.contains(line),
            "lost: {line:?}"
        );
    }
}

#[test]
fn ansi_colours_do_not_split_templates_and_stay_in_kept_lines() {
    let log: String = (0..300)
        .map(|i| {
            format!(
                "\x1b[32mINFO\x1b[0m 2024-05-01 request {i} served in {}ms\n",
                i % 50
            )
        })
        .chain(["\x1b[31mERROR\x1b[0m 2024-05-01 request 300 failed: timed out\n".to_string()])
        .collect();
    let (r, _) = check(&log, None, 100);
    assert_eq!(r.kind, Kind::Log);
    assert!(r.output.lines().count() < 20, "{}", r.output);
    assert!(r
        .output
        .contains("\x1b[31mERROR\x1b[0m 2024-05-01 request 300 failed: timed out\n"));
}

#[test]
fn code_that_does_not_parse_keeps_its_broken_part() {
    let good = |from: usize| -> String {
        (from..from + 20)
            .map(|i| {
                format!("pub fn good_{i}() -> u32 {{\n    let x = compute({i});\n    let y = compute(x);\n    let z = compute(y);\n    z\n}}\n\n")
            })
            .collect()
    };
    let broken = "pub fn broken( -> u32 {\n    let a = [1, 2;\n    let b = a.len(\n    b\n}\n\n";
    let text = format!("{}{broken}{}", good(0), good(20));
    let (r, store) = check(&text, Some(Kind::Code), 100);
    assert_eq!(r.language, Some(cinch_core::Language::Rust));
    assert_ne!(r.strategy, "passthrough", "{:?}", r.reason);
    // The broken function (and what the parser could not make sense of after it) stays whole.
    assert!(r.output.contains("let a = [1, 2;"), "{}", r.output);
    // Bodies before it are elided, and each comes back.
    let back = retrieved(&r.output, &store);
    for i in 0..20 {
        assert!(
            !r.output.contains(&format!("compute({i});")),
            "{}",
            r.output
        );
        assert!(back.contains(&format!("let x = compute({i});")), "good_{i}");
    }
}

#[test]
fn a_large_log_is_compressed_without_trouble() {
    // About 8 MB (more would only slow the unoptimised test build; the README has the figures
    // for a 500 MB log with the release build).
    let mut log = String::with_capacity(9 << 20);
    let mut i = 0u64;
    while log.len() < 8 << 20 {
        let level = if i.is_multiple_of(997) {
            "ERROR"
        } else {
            "INFO"
        };
        log.push_str(&format!(
            "2024-05-01T12:{:02}:{:02}.{:03}Z {level} [pool-{}] request {} from 10.0.{}.{} took {}ms\n",
            i / 3600 % 60,
            i / 60 % 60,
            i % 1000,
            i % 8,
            i,
            i % 256,
            i * 7 % 256,
            i * 13 % 900
        ));
        i += 1;
    }
    let (r, store) = check(&log, None, 2000);
    assert_eq!(r.kind, Kind::Log);
    assert!(
        r.tokens_after * 20 < r.tokens_before,
        "{} of {}",
        r.tokens_after,
        r.tokens_before
    );
    let back = retrieved(&r.output, &store);
    assert!(
        back.len() + r.output.len() >= log.len() / 2,
        "dropped lines are stored"
    );
}
