//! The prose compressor on real documents captured on a development machine: a Markdown design
//! note (aho-corasick's `DESIGN.md`), manual pages (`man grep`, `man bash` and `git help log`
//! through `col -b`), `python3 -m pydoc json` and `rg --help`, trimmed, each with an anomaly
//! planted (a security warning as a section of its own, or a warning in the header of the help
//! text). See `fixture_check` for what each is checked for; here too: every heading is visible
//! while the budget allows, a query naming an option keeps that option's entry, a section the
//! query asks for that is larger than the budget is shown as much as fits, `--help` texts
//! within the budget pass through, and a property test over generated documents.

mod fixture_check;

use cinch_core::detect::detect;
use cinch_core::Kind;
use fixture_check::{check, run, sample, shown_lines, stored_original, Case};
use proptest::prelude::*;

const CASES: &[Case] = &[
    Case {
        name: "prose_aho_corasick_design.md",
        anomaly: "Never build an automaton from untrusted patterns",
        anomaly_from: 500,
        query: "What does it say about prefilters?",
        answer: "In some cases, Aho-Corasick is not the fastest way to find matches containing",
    },
    Case {
        name: "prose_man_grep.txt",
        anomaly: "Never run grep -r on /proc as root",
        anomaly_from: 2000,
        query: "what does -e do",
        answer: "Use PATTERNS as the patterns.",
    },
    Case {
        name: "prose_man_bash.txt",
        anomaly: "Running bash -x as root prints secrets",
        anomaly_from: 500,
        query: "what does --norc do",
        answer: "--norc Do  not  read  and  execute  the system wide initialization file",
    },
    Case {
        name: "prose_git_help_log.txt",
        anomaly: "git log --follow loses the history of a file",
        anomaly_from: 500,
        query: "what does --follow do",
        answer: "Continue listing the history of a file beyond renames",
    },
    Case {
        name: "prose_pydoc_json.txt",
        anomaly: "Never decode untrusted input with object_hook=eval",
        anomaly_from: 500,
        query: "what does indent do in JSONEncoder",
        answer: "If indent is a non-negative integer, then JSON array",
    },
    Case {
        name: "prose_rg_help.txt",
        anomaly: "WARNING: this build has no PCRE2",
        anomaly_from: 200,
        query: "what is --regexp for",
        answer: "A pattern to search for. This option can be provided multiple times, where",
    },
];

#[test]
fn real_documents_are_detected_held_to_the_budget_and_keep_what_matters() {
    for case in CASES {
        check(case, Kind::Prose, "prose-outline");
    }
}

/// The headings of a manual page: lines at the left margin in capitals.
fn manual_headings(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            !l.starts_with(char::is_whitespace)
                && l.chars().any(|c| c.is_ascii_uppercase())
                && !l.chars().any(|c| c.is_ascii_lowercase())
        })
        .collect()
}

#[test]
fn every_heading_is_visible_while_the_budget_allows() {
    for name in [
        "prose_man_grep.txt",
        "prose_man_bash.txt",
        "prose_pydoc_json.txt",
    ] {
        let text = sample(name);
        let (r, _) = run(&text, "", 2000);
        for h in manual_headings(&text) {
            assert!(
                shown_lines(&r.output).any(|l| l == h),
                "{name}: heading {h:?} not shown"
            );
        }
    }
    let text = sample("prose_aho_corasick_design.md");
    let (r, _) = run(&text, "", 500);
    for h in text.lines().filter(|l| l.starts_with('#')) {
        assert!(r.output.contains(h), "{h:?} not shown:\n{}", r.output);
    }
}

#[test]
fn an_option_named_in_the_query_keeps_its_entry_whole() {
    let text = sample("prose_man_grep.txt");
    for query in ["what does -e do", "explain --regexp", "grep `-e`"] {
        let (r, _) = run(&text, query, 500);
        assert!(
            r.output
                .contains("-e PATTERNS, --regexp=PATTERNS\n\t      Use PATTERNS as the patterns."),
            "{query}:\n{}",
            r.output
        );
    }
    // `-E` is another option than `-e`.
    let (r, _) = run(&text, "what does -E do", 500);
    assert!(r
        .output
        .contains("Interpret\t PATTERNS  as  extended regular expressions"));
}

#[test]
fn a_section_larger_than_the_budget_is_shown_as_much_as_fits() {
    let text = sample("prose_aho_corasick_design.md");
    let (r, store) = run(
        &text,
        "What does the document say about NFAs and DFAs?",
        300,
    );
    assert!(r.tokens_after <= 300, "{}", r.tokens_after);
    assert!(
        r.tokens_after >= 200,
        "the budget is used: {}",
        r.tokens_after
    );
    assert!(r.output.contains("# NFAs and DFAs"), "{}", r.output);
    assert!(stored_original(&r, &store) == text.as_bytes());
}

#[test]
fn help_texts_are_prose_and_pass_through_within_the_budget() {
    for help in ["ls_help.txt", "git_help.txt", "cargo_help.txt"] {
        let text = sample(&format!("prose_{help}"));
        assert_eq!(detect(&text).kind, Kind::Prose, "{help}");
        let (r, _) = run(&text, "", 2000);
        assert_eq!(r.output, text, "{help} fits: it passes through");
        // At a small budget its headings and options stay readable lines.
        let (r, _) = run(&text, "", 200);
        assert!(r.tokens_after <= 200);
        for line in shown_lines(&r.output) {
            assert!(
                line.is_empty() || text.lines().any(|l| l == line),
                "{help}: {line:?}"
            );
        }
    }
}

#[test]
fn snapshot_of_a_manual_page_with_an_option_asked_for() {
    let (r, _) = run(&sample("prose_man_grep.txt"), "what does -e do", 500);
    insta::assert_snapshot!(r.output);
}

#[test]
fn snapshot_of_a_design_document() {
    let (r, _) = run(&sample("prose_aho_corasick_design.md"), "", 700);
    insta::assert_snapshot!(r.output);
}

/// Generated documents: Markdown sections of paragraphs, lists and fences, or manual pages of
/// capital headings with option entries.
fn documents() -> impl Strategy<Value = String> {
    let sentence = "[A-Z][a-z]{2,9}( [a-z]{1,9}){4,14}\\.";
    let paragraph = prop::collection::vec(sentence, 1..6).prop_map(|s| s.join(" "));
    let section = (
        "[A-Z][a-z]{3,12}( [a-z]{2,8}){0,3}",
        prop::collection::vec((paragraph, 0u8..4), 1..8),
    );
    (prop::collection::vec(section, 1..20), any::<bool>()).prop_map(|(sections, manual)| {
        let mut out = String::new();
        for (title, blocks) in sections {
            if manual {
                out.push_str(&format!("{}\n", title.to_uppercase()));
            } else {
                out.push_str(&format!("## {title}\n\n"));
            }
            for (k, (text, shape)) in blocks.iter().enumerate() {
                match (manual, shape) {
                    (true, 0) => out.push_str(&format!(
                        "       -{}, --opt{k}\n\t      {text}\n\n",
                        (b'a' + k as u8) as char
                    )),
                    (true, _) => out.push_str(&format!("       {text}\n\n")),
                    (false, 0) => out.push_str(&format!("- {text}\n")),
                    (false, 1) => out.push_str(&format!("```\n{text}\n```\n\n")),
                    (false, _) => out.push_str(&format!("{text}\n\n")),
                }
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_document_holds_the_budget_and_is_stored_whole(text in documents(), budget in 200usize..3000) {
        let (r, store) = run(&text, "what does --opt2 do", budget);
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        } else {
            prop_assert!(r.tokens_after <= budget, "{} > {budget}", r.tokens_after);
            if r.strategy == "prose-outline" {
                prop_assert!(stored_original(&r, &store) == text.as_bytes());
            }
        }
    }
}
