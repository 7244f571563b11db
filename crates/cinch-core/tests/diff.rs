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
use cinch_core::Store;
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

/// One hunk of a generated diff: its first line in the old file and its body lines, each with
/// its sign.
type GenHunk = (usize, Vec<String>);

/// A `git show` of `files` (each a path and its hunks), headers counting their lines.
fn git_show(files: &[(String, Vec<GenHunk>)]) -> String {
    let mut out = String::from(
        "commit 0123456789abcdef0123456789abcdef01234567\nAuthor: A <a@x>\nDate:   Mon Jan 1 00:00:00 2024 +0000\n\n    Change things\n\n",
    );
    for (path, hunks) in files {
        out.push_str(&format!(
            "diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"
        ));
        let mut shift = 0isize;
        for (at, body) in hunks {
            let old = body.iter().filter(|l| !l.starts_with('+')).count();
            let new = body.iter().filter(|l| !l.starts_with('-')).count();
            let new_at = *at as isize + shift;
            out.push_str(&format!("@@ -{at},{old} +{new_at},{new} @@ fn f() {{\n"));
            for l in body {
                out.push_str(l);
                out.push('\n');
            }
            shift += new as isize - old as isize;
        }
    }
    out
}

/// The shown lines of `output` (notes and the marker aside).
fn shown(output: &str) -> Vec<&str> {
    output.lines().filter(|l| !is_note(l)).collect()
}

#[test]
fn every_hunk_shows_its_first_change_before_any_hunk_shows_more() {
    // A file of many hunks, then files of one: each hunk long enough to be cut.
    let hunk = |f: usize, h: usize| -> GenHunk {
        let mut body = vec![format!(" fn context_{f}_{h}() {{")];
        for k in 0..10 {
            body.push(format!(
                "-    let value_{f}_{h}_{k} = compute_old(input_{k}, &settings);"
            ));
            body.push(format!(
                "+    let value_{f}_{h}_{k} = compute_new(input_{k}, &settings, true);"
            ));
        }
        body.push(" }".into());
        (10 + h * 40, body)
    };
    let mut files = vec![(
        "src/many.rs".to_string(),
        (0..12).map(|h| hunk(0, h)).collect::<Vec<_>>(),
    )];
    for f in 1..8 {
        files.push((format!("src/one_{f}.rs"), vec![hunk(f, 0)]));
    }
    let text = git_show(&files);
    for budget in [1500, 2500] {
        let (r, store) = run(&text, "", budget);
        assert_eq!(r.strategy, "diff-trim");
        assert!(r.tokens_after <= budget);
        assert!(stored_original(&r, &store) == text.as_bytes());
        let out = shown(&r.output);
        // Not everything fits, yet every hunk is there with its first change.
        assert!(r.output.contains("hunks cut"), "{}", r.output);
        for (f, (_, hunks)) in files.iter().enumerate() {
            for h in 0..hunks.len() {
                let first = format!("-    let value_{f}_{h}_0 = compute_old(input_0, &settings);");
                assert!(
                    out.contains(&first.as_str()),
                    "at {budget}: {first}\n{}",
                    r.output
                );
            }
        }
        headers_count_their_lines(&r.output).unwrap();
    }
}

#[test]
fn a_small_hunk_is_shown_whole_or_not_at_all() {
    // Two changes a few long context lines apart: trimmed to two runs of lines, one hunk.
    let files: Vec<(String, Vec<GenHunk>)> = (0..24)
        .map(|f| {
            let body = vec![
                format!(" a{f} = 1"),
                format!("-b{f} = old()"),
                format!("+b{f} = new()"),
                format!(" c{f} = 3"),
                format!(" // a long comment line that costs many tokens, number {f} of them"),
                format!(" // another long comment line that costs many tokens too, {f}"),
                format!(" d{f} = 4"),
                format!("-e{f} = old_value_of_e_and_more_words_to_make_it_longest()"),
                format!("+e{f} = new()"),
                format!(" f{f} = 6"),
            ];
            (format!("lib/f{f}.py"), vec![(5, body)])
        })
        .collect();
    let text = git_show(&files);
    for budget in [600, 900, 1300] {
        let (r, _) = run(&text, "", budget);
        let out = shown(&r.output);
        let mut whole = 0;
        for f in 0..24 {
            let first = out.contains(&format!("-b{f} = old()").as_str());
            let second = out.contains(&format!("+e{f} = new()").as_str());
            assert_eq!(first, second, "lib/f{f}.py at {budget} cut:\n{}", r.output);
            whole += usize::from(first);
        }
        assert!(whole > 0 && whole < 24, "{whole} at {budget}");
    }
}

/// Notes in `output` about hunks not shown (`[@@ -a,b +c,d @@…: +x -y not shown]`).
fn hunk_notes(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.starts_with("[@@") && l.ends_with("not shown]"))
        .collect()
}

#[test]
fn notes_are_written_only_where_they_stand_for_more_than_they_cost() {
    // One file of forty one-line changes: a note for a hunk not shown would cost about as
    // much as the hunk.
    let hunks: Vec<GenHunk> = (0..40)
        .map(|h| {
            let body = vec![
                format!(" let a{h} = 1;"),
                format!("-let b{h} = 2;"),
                format!("+let b{h} = 3;"),
                format!(" let c{h} = 4;"),
            ];
            (10 + 20 * h, body)
        })
        .collect();
    let text = git_show(&[("src/small.rs".to_string(), hunks)]);
    for budget in [200, 400] {
        let (r, _) = run(&text, "", budget);
        assert!(r.output.contains("+++ b/src/small.rs"), "{}", r.output);
        assert!(!r.output.contains("40 of 40 hunks"), "{}", r.output);
        assert!(hunk_notes(&r.output).is_empty(), "{}", r.output);
        assert!(!r.output.contains("[…"), "{}", r.output);
    }

    // A large hunk left out is worth a note; the notes stay within an eighth of the budget.
    let big: Vec<String> = (0..60)
        .map(|k| {
            format!(
                "+    let generated_{k} = table.lookup(\"entry number {k}\").unwrap_or_default();"
            )
        })
        .collect();
    let mut files: Vec<(String, Vec<GenHunk>)> = Vec::new();
    for f in 0..30 {
        files.push((
            format!("src/gen_{f}.rs"),
            vec![
                (1, vec![format!("-use old_{f};"), format!("+use new_{f};")]),
                (100, big.clone()),
            ],
        ));
    }
    let text = git_show(&files);
    let budget = 2000;
    let (r, _) = run(&text, "", budget);
    let notes = hunk_notes(&r.output);
    assert!(!notes.is_empty(), "{}", r.output);
    let note_tokens: usize = r
        .output
        .lines()
        .filter(|l| l.starts_with("[@@") || l.starts_with("[…"))
        .map(|l| l.len() / 3)
        .sum();
    assert!(
        note_tokens <= budget / 8 + 40,
        "{note_tokens}\n{}",
        r.output
    );
}

#[test]
fn a_query_cannot_crowd_out_the_other_files() {
    let mut files: Vec<(String, Vec<GenHunk>)> = Vec::new();
    let engine: Vec<GenHunk> = (0..10)
        .map(|h| {
            let body = (0..12)
                .map(|k| format!("+    frobnicate(&mut state_{h}, step_{k}, \"a long message for the log\")?;"))
                .collect();
            (10 + 30 * h, body)
        })
        .collect();
    files.push(("src/engine.rs".to_string(), engine));
    for f in 0..12 {
        files.push((
            format!("src/other_{f}.rs"),
            vec![(
                3,
                vec![
                    format!(" fn other_{f}() {{"),
                    format!("-    old_call_{f}();"),
                    format!("+    new_call_{f}();"),
                    " }".to_string(),
                ],
            )],
        ));
    }
    let text = git_show(&files);
    let budget = 1500;
    let (r, _) = run(&text, "where is `frobnicate` called", budget);
    assert!(r.tokens_after <= budget);
    let out = shown(&r.output);
    assert!(r.output.contains("frobnicate(&mut state_0"), "{}", r.output);
    for f in 0..12 {
        let line = format!("+    new_call_{f}();");
        assert!(out.contains(&line.as_str()), "{line}:\n{}", r.output);
    }
    // The query's lines take no more than their shares of the budget.
    let asked: usize = out
        .iter()
        .filter(|l| l.contains("frobnicate"))
        .map(|l| l.len())
        .sum();
    assert!(asked / 4 <= budget * 7 / 12, "{asked} bytes:\n{}", r.output);
}

#[test]
fn a_query_matches_a_path_by_its_file_name_not_its_directories() {
    let change = |name: &str| -> Vec<GenHunk> {
        let body = (0..6)
            .map(|k| {
                format!("+    register_{name}_handler_{k}(&mut registry, Options::default());")
            })
            .collect();
        vec![(20, body)]
    };
    let mut files: Vec<(String, Vec<GenHunk>)> = (0..10)
        .map(|f| {
            (
                format!("src/widget/part_{f}.rs"),
                change(&format!("part{f}")),
            )
        })
        .collect();
    files.push(("src/other/widget.rs".to_string(), change("widget")));
    let text = git_show(&files);
    let (r, _) = run(&text, "what changed in the widget", 500);
    // The file the query names comes first (its opening, and what more fits of it), not the
    // files of a directory of the same name.
    for k in 0..3 {
        let line = format!("+    register_widget_handler_{k}(&mut registry, Options::default());");
        assert!(r.output.contains(&line), "{line}:\n{}", r.output);
    }
}

#[test]
fn a_file_is_shown_by_its_minus_and_plus_lines_when_its_diff_line_says_no_more() {
    let text = "commit 0123456789abcdef0123456789abcdef01234567\nAuthor: A <a@x>\nDate:   Mon Jan 1 00:00:00 2024 +0000\n\n    Change things\n\n\
diff --git a/src/lib.rs b/src/lib.rs\nindex 1111111..2222222 100644\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,5 +1,5 @@\n a\n b\n-c\n+C\n d\n e\n\
diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\nindex 3333333..4444444\n--- a/run.sh\n+++ b/run.sh\n@@ -1,3 +1,3 @@\n #!/bin/sh\n-echo a\n+echo b\n exit 0\n\
diff --git a/src/new.rs b/src/new.rs\nnew file mode 100644\nindex 0000000..5555555\n--- /dev/null\n+++ b/src/new.rs\n@@ -0,0 +1,2 @@\n+fn new() {}\n+fn newer() {}\n\
diff --git a/tool.sh b/tool.sh\nnew file mode 100755\nindex 0000000..6666666\n--- /dev/null\n+++ b/tool.sh\n@@ -0,0 +1 @@\n+echo tool\n\
diff --git a/src/old.rs b/src/old.rs\ndeleted file mode 100644\nindex 7777777..0000000\n--- a/src/old.rs\n+++ /dev/null\n@@ -1 +0,0 @@\n-fn old() {}\n";
    let (r, store) = run(text, "", 2000);
    assert_eq!(r.strategy, "diff-trim");
    let out = &r.output;
    for gone in [
        "diff --git a/src/lib.rs",
        "diff --git a/src/new.rs",
        "new file mode 100644",
        "diff --git a/src/old.rs",
        "deleted file mode 100644",
        "index ",
    ] {
        assert!(!out.contains(gone), "{gone}:\n{out}");
    }
    for kept in [
        "--- a/src/lib.rs\n+++ b/src/lib.rs\n",
        "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n--- a/run.sh\n",
        "--- /dev/null\n+++ b/src/new.rs\n",
        "diff --git a/tool.sh b/tool.sh\nnew file mode 100755\n--- /dev/null\n",
        "--- a/src/old.rs\n+++ /dev/null\n",
    ] {
        assert!(out.contains(kept), "{kept}:\n{out}");
    }
    assert!(out.contains("applies as a patch"), "{out}");
    // The lines left out are given back: the whole diff, and as what the output left out.
    assert!(stored_original(&r, &store) == text.as_bytes());
    let key = &cinch_core::ccr::marker_keys(out)[0];
    let bytes = store.get(cinch_core::ccr::DEFAULT_NAMESPACE, key).unwrap();
    let entry = cinch_core::ccr::entry::decode(&bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dropped: Vec<&str> = cinch_core::ccr::entry::dropped(&entry.header.kept, lines.len())
        .map(|i| lines[i])
        .collect();
    for line in [
        "diff --git a/src/lib.rs b/src/lib.rs",
        "index 1111111..2222222 100644",
        "diff --git a/src/new.rs b/src/new.rs",
        "new file mode 100644",
    ] {
        assert!(dropped.contains(&line), "{line} not among {dropped:?}");
    }

    // Such a patch applies and makes the same tree, modes and all.
    let Some(dir) = scratch_repo() else {
        eprintln!("skipped: no git");
        return;
    };
    let sh = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    let write = |path: &str, text: &str, exec: bool| {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        sh(&[
            "update-index",
            "--add",
            "--chmod",
            if exec { "+x" } else { "-x" },
            path,
        ]);
    };
    write("src/lib.rs", "a\nb\nc\nd\ne\n", false);
    write("run.sh", "#!/bin/sh\necho a\nexit 0\n", false);
    write("src/old.rs", "fn old() {}\n", false);
    let before = sh(&["write-tree"]);
    sh(&["rm", "--cached", "-q", "src/old.rs"]);
    write("src/lib.rs", "a\nb\nC\nd\ne\n", false);
    write("run.sh", "#!/bin/sh\necho b\nexit 0\n", true);
    write("src/new.rs", "fn new() {}\nfn newer() {}\n", false);
    write("tool.sh", "echo tool\n", true);
    let after = sh(&["write-tree"]);
    sh(&["read-tree", before.trim()]);
    let patch: String = out
        .split_inclusive('\n')
        .filter(|l| !is_note(l.trim_end_matches('\n')))
        .collect();
    std::fs::write(dir.join("out.patch"), &patch).unwrap();
    sh(&["apply", "--cached", "out.patch"]);
    assert_eq!(sh(&["write-tree"]), after, "{patch}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An empty git repository in a fresh temporary folder, or `None` without git.
fn scratch_repo() -> Option<std::path::PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cinch-diff-repo-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).ok()?;
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(&dir)
        .status()
        .ok()?
        .success();
    ok.then_some(dir)
}
