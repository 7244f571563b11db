//! The diff compressor on real diffs: `git show` of a commit of this repository, `git diff`
//! between two commits, and `diff -ru` of two trees of this crate's sources, each with an
//! anomaly planted (a file made executable, a rename, a file only in one tree). See
//! `fixture_check` for what each is checked for; here too: every hunk header shown counts
//! exactly the lines shown under it; whatever the marker calls an applicable patch is one
//! (`git apply --check` on commits of this repository's history, the notes taken out), and at
//! a budget that holds the whole trimmed diff it makes exactly the commit's tree; a property
//! test over generated diffs.

mod fixture_check;

use cinch_core::Kind;
use fixture_check::{check, run, sample, stored_original, Case};
use proptest::prelude::*;
use std::process::Command;

const CASES: &[Case] = &[
    Case {
        name: "diff_git_show.diff",
        anomaly: "new mode 100755",
        anomaly_from: 500,
        query: "what is `MIGRATE_V2` for",
        answer: "+const MIGRATE_V2: &str = \"ALTER TABLE entries ADD COLUMN codec",
    },
    Case {
        name: "diff_git_range.diff",
        anomaly: "rename to crates/cinch-kompress/src/tokenize_words.rs",
        anomaly_from: 500,
        query: "where was `is_heading` added",
        answer: "+fn is_heading(line: &str) -> bool {",
    },
    Case {
        name: "diff_unified_ru.diff",
        anomaly: "Only in a/crates/cinch-core/src: detect.rs",
        anomaly_from: 500,
        query: "what happened to `decisions`",
        answer: "+    pub fn decisions(&self) -> usize {",
    },
];

#[test]
fn real_diffs_are_detected_held_to_the_budget_and_keep_what_matters() {
    for case in CASES {
        check(case, Kind::Diff, "diff-trim");
    }
}

/// `@@ -a,b +c,d @@`: the counts `b` and `d` (1 when left out).
fn counts(header: &str) -> Option<(usize, usize)> {
    let rest = header.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |r: &str| {
        r.split_once(',')
            .map_or(Some(1), |(_, c)| c.parse::<usize>().ok())
    };
    Some((count(old)?, count(new)?))
}

/// Notes and the marker: what `git apply` is given without.
fn is_note(line: &str) -> bool {
    line.starts_with("<<ccr:") || (line.starts_with('[') && line.ends_with(']'))
}

/// Every hunk header in `output` is followed by exactly as many old and new lines as it counts
/// (notes aside), and then by no more body lines.
fn headers_count_their_lines(output: &str) -> Result<(), String> {
    let lines: Vec<&str> = output.lines().filter(|l| !is_note(l)).collect();
    let mut i = 0;
    while i < lines.len() {
        let Some((mut old, mut new)) = counts(lines[i]) else {
            i += 1;
            continue;
        };
        let header = lines[i];
        i += 1;
        while old > 0 || new > 0 {
            let line = lines
                .get(i)
                .ok_or(format!("{header}: the output ends inside it"))?;
            match line.as_bytes().first() {
                Some(b' ') | None if old > 0 && new > 0 => {
                    old -= 1;
                    new -= 1;
                }
                Some(b'-') if old > 0 => old -= 1,
                Some(b'+') if new > 0 => new -= 1,
                Some(b'\\') => {}
                _ => return Err(format!("{header}: {line:?} does not fit its counts")),
            }
            i += 1;
        }
        while lines.get(i).is_some_and(|l| l.starts_with('\\')) {
            i += 1;
        }
        if let Some(next) = lines.get(i) {
            let body = next.starts_with(' ')
                || (next.starts_with(['+', '-'])
                    && !next.starts_with("+++ ")
                    && !next.starts_with("--- "));
            if body {
                return Err(format!("{header}: more lines than it counts: {next:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn every_hunk_header_counts_the_lines_shown() {
    for case in CASES {
        let text = sample(case.name);
        for budget in [200, 500, 2000, 8000] {
            for query in ["", case.query] {
                let (r, _) = run(&text, query, budget);
                if let Err(e) = headers_count_their_lines(&r.output) {
                    panic!("{} at {budget}: {e}\n{}", case.name, r.output);
                }
            }
        }
    }
}

/// Whether the marker says every hunk of every file is shown (`8 of 8 hunks, 5 of 5 files`).
fn everything_shown(marker: &str) -> bool {
    let summary = marker.split_once(' ').map_or("", |(_, s)| s);
    let numbers: Vec<usize> = summary
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    // `N of M lines omitted here; H1 of H2 hunks, F1 of F2 files shown; …`
    summary.contains(" hunks, ")
        && numbers.len() >= 6
        && numbers[2] == numbers[3]
        && numbers[4] == numbers[5]
}

/// `git` at the top of this repository's checkout (where `git apply` takes a patch's paths
/// from), or `None` when there is none (a packaged crate).
fn git(args: &[&str], index: Option<&std::path::Path>) -> Option<std::process::Output> {
    let top = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let top = String::from_utf8(top.stdout).ok()?;
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(top.trim());
    if let Some(index) = index {
        cmd.env("GIT_INDEX_FILE", index);
    }
    cmd.output().ok()
}

/// Commits of this repository's history without binary files, small to large.
const COMMITS: &[&str] = &[
    "c67a939", "67cd09d", "1b49bb9", "8043969", "c32a80e", "4b5e367",
];

#[test]
fn what_the_marker_calls_a_patch_applies_to_the_commits_parent() {
    let have = |c: &str| {
        git(&["cat-file", "-e", &format!("{c}^{{commit}}")], None)
            .is_some_and(|o| o.status.success())
    };
    if !COMMITS.iter().all(|c| have(c)) {
        eprintln!("skipped: this checkout does not have the commits (no git history here)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("cinch-diff-apply-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut applicable, mut whole) = (0, 0);
    for commit in COMMITS {
        let show = git(&["show", "--format=medium", "--no-color", commit], None).unwrap();
        let text = String::from_utf8(show.stdout).unwrap();
        for budget in [500, 2000, 8000] {
            let (r, store) = run(&text, "", budget);
            assert_eq!(r.kind, Kind::Diff);
            assert!(r.tokens_after <= budget, "{commit} at {budget}");
            assert!(stored_original(&r, &store) == text.as_bytes());
            headers_count_their_lines(&r.output).unwrap();
            let marker = r.output.lines().last().unwrap();
            if !marker.contains("applies as a patch") {
                assert!(marker.contains("not an applicable patch"), "{marker}");
                continue;
            }
            applicable += 1;
            let patch: String = r
                .output
                .split_inclusive('\n')
                .filter(|l| !is_note(l.trim_end_matches('\n')))
                .collect();
            let file = dir.join(format!("{commit}-{budget}.patch"));
            std::fs::write(&file, &patch).unwrap();
            let index = dir.join(format!("{commit}-{budget}.index"));
            let parent = format!("{commit}^");
            assert!(git(&["read-tree", &parent], Some(&index))
                .unwrap()
                .status
                .success());
            let file = file.to_str().unwrap();
            let check = git(&["apply", "--check", "--cached", file], Some(&index)).unwrap();
            assert!(
                check.status.success(),
                "{commit} at {budget}: {}\n{patch}",
                String::from_utf8_lossy(&check.stderr)
            );
            // Every hunk of every file shown: the patch makes exactly the commit's tree.
            if everything_shown(marker) {
                let apply = git(&["apply", "--cached", file], Some(&index)).unwrap();
                assert!(apply.status.success());
                let tree = git(&["write-tree"], Some(&index)).unwrap();
                let want = git(&["rev-parse", &format!("{commit}^{{tree}}")], None).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&tree.stdout),
                    String::from_utf8_lossy(&want.stdout),
                    "{commit} at {budget}: the patch makes the commit's tree"
                );
                whole += 1;
            }
        }
    }
    eprintln!("{applicable} outputs apply, {whole} make the whole commit");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(applicable >= 4, "only {applicable} outputs apply");
    assert!(whole >= 2, "only {whole} outputs make the whole commit");
}

#[test]
fn snapshot_of_a_commit_at_500() {
    let (r, _) = run(&sample("diff_git_show.diff"), "", 500);
    insta::assert_snapshot!(r.output);
}

#[test]
fn snapshot_of_a_tree_diff_with_a_query() {
    let (r, _) = run(
        &sample("diff_unified_ru.diff"),
        "what changed in `search.rs`",
        700,
    );
    insta::assert_snapshot!(r.output);
}

/// Generated git diffs: files with hunks whose headers count their lines, changes among
/// context, some files new.
fn diffs() -> impl Strategy<Value = String> {
    let line = "[ -~]{0,60}";
    let hunk = prop::collection::vec((0u8..4, line), 1..40);
    let file = (
        "[a-z]{1,8}/[a-z_]{1,10}\\.rs",
        prop::collection::vec(hunk, 1..5),
        any::<bool>(),
    );
    prop::collection::vec(file, 1..12).prop_map(|files| {
        let mut out = String::from("commit 0123456789abcdef0123456789abcdef01234567\nAuthor: A <a@x>\nDate:   Mon\n\n    Change things\n\n");
        for (path, hunks, new) in files {
            out.push_str(&format!("diff --git a/{path} b/{path}\n"));
            if new {
                out.push_str("new file mode 100644\n");
            }
            out.push_str(&format!("index 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"));
            let (mut old_at, mut new_at) = (1, 1);
            for body in hunks {
                let lines: Vec<(char, &str)> = body
                    .iter()
                    .map(|(k, t)| ([' ', ' ', '-', '+'][*k as usize], t.as_str()))
                    .collect();
                let old = lines.iter().filter(|(s, _)| *s != '+').count();
                let new = lines.iter().filter(|(s, _)| *s != '-').count();
                out.push_str(&format!("@@ -{old_at},{old} +{new_at},{new} @@ fn f() {{\n"));
                for (sign, text) in lines {
                    out.push_str(&format!("{sign}{text}\n"));
                }
                old_at += old + 10;
                new_at += new + 10;
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_diff_holds_the_budget_is_stored_whole_and_counts_its_lines(text in diffs(), budget in 200usize..3000) {
        let (r, store) = run(&text, "", budget);
        if r.strategy == "passthrough" {
            prop_assert_eq!(&r.output, &text);
        } else {
            prop_assert!(r.tokens_after <= budget, "{} > {budget}", r.tokens_after);
            prop_assert!(stored_original(&r, &store) == text.as_bytes());
            if r.strategy == "diff-trim" {
                prop_assert!(headers_count_their_lines(&r.output).is_ok(), "{:?}", headers_count_their_lines(&r.output));
            }
        }
    }
}
