//! Diffs (`git show`, `git diff`, unified diffs): every file and every changed line of code.
//!
//! Kept: the commit header and message, each file's `diff --git` line and its mode, rename and
//! binary lines, every hunk header, every added and removed line of code (and configuration),
//! and one context line on either side of a change. Dropped: `index` lines, the `---`/`+++`
//! lines that repeat the path, context further from a change. Lockfiles, generated and
//! vendored files, and prose or data files (docs, licenses, fixtures) keep, per hunk of more
//! than a few changed lines, the hunk header, its longest changed line and a line of counts;
//! whitespace-only hunks shrink to one line. A block of at least eight removed lines that comes
//! back elsewhere as added lines (moved, or only re-indented) shows its first line on each side
//! and a note saying where it went or came from. Unlike the other text compressors this works on
//! diffs of any size: context repeats the files around a change, and what a review needs is
//! the change. The whole original goes to the store under the marker at the end.

use super::{content, finish, lines_of, TextDetails, TextError, TextOutcome};
use crate::context::Context;
use std::collections::{BTreeMap, HashMap};

/// Context lines kept on each side of a change.
const CONTEXT: usize = 1;

const LOCKFILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "Gemfile.lock",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "go.sum",
    "composer.lock",
    "flake.lock",
    "mix.lock",
    "pubspec.lock",
    "Podfile.lock",
    "packages.lock.json",
];

/// Changed lines of prose or data files shown in full per hunk; past this, only the longest.
const PROSE_HUNK: usize = 6;
/// Changed lines of code shown in full per hunk; past this (new files, rewrites), the hunk's
/// outline: its first lines, its declarations and top-level lines, its longest line.
const CODE_HUNK: usize = 40;
/// Lines an outline keeps at most.
const OUTLINE_MAX: usize = 24;
/// A run of at least this many removed lines that comes back as added lines (moved, or only
/// re-indented) is summarised rather than shown twice.
const MOVE_MIN: usize = 8;

fn declaration_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[+-]\s*(?:(?:pub(?:\([\w:]+\))?|export|default|async|static|public|private|protected|abstract|final|unsafe|const)\s+)*(?:fn|struct|enum|trait|impl|mod|type|def|class|module|interface|func|function|package|import|use|from)\b")
            .expect("valid pattern")
    })
}

/// The longest of the changed lines (by its text without the sign and surrounding spaces); the
/// first of equals.
fn longest(lines: &[&str], changed: &[usize]) -> Option<usize> {
    changed.iter().copied().max_by_key(|&i| {
        let body = content(lines[i]).get(1..).unwrap_or("");
        (body.trim().chars().count(), std::cmp::Reverse(i))
    })
}

/// The changed lines (indices into `lines`) an outline of a large hunk keeps.
fn outline(lines: &[&str], changed: &[usize]) -> Vec<usize> {
    let indent = |i: usize| {
        let body = &content(lines[i])[1..];
        (!body.trim().is_empty()).then(|| body.len() - body.trim_start().len())
    };
    let top = changed.iter().filter_map(|&i| indent(i)).min().unwrap_or(0);
    let mut keep: Vec<usize> = changed.iter().copied().take(3).collect();
    keep.extend(
        changed
            .iter()
            .copied()
            .filter(|&i| declaration_re().is_match(content(lines[i])) || indent(i) == Some(top)),
    );
    let longest = longest(lines, changed);
    keep.extend(longest);
    keep.sort_unstable();
    keep.dedup();
    if keep.len() > OUTLINE_MAX {
        // Flat text (every line at the top level): the first lines and the longest.
        keep.truncate(OUTLINE_MAX - 1);
        keep.extend(longest);
        keep.sort_unstable();
        keep.dedup();
    }
    keep
}

/// Why a file's changes are not worth reading line by line, if they are not.
fn machine_made(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if LOCKFILES.contains(&name) {
        return Some("lockfile");
    }
    let vendored = ["vendor/", "node_modules/", "third_party/", "third-party/"];
    if vendored
        .iter()
        .any(|v| path.starts_with(v) || path.contains(&format!("/{v}")))
    {
        return Some("vendored");
    }
    let generated = [
        ".min.js", ".min.css", ".pb.go", "_pb2.py", ".js.map", ".css.map",
    ];
    if generated.iter().any(|g| name.ends_with(g)) || name.contains(".generated.") {
        return Some("generated");
    }
    let lower = name.to_ascii_lowercase();
    let prose = [
        ".md",
        ".markdown",
        ".rst",
        ".txt",
        ".adoc",
        ".csv",
        ".tsv",
        ".svg",
        ".snap",
    ];
    let notices = [
        "license",
        "licence",
        "copying",
        "unlicense",
        "notice",
        "authors",
        "changelog",
        "changes",
        "history",
    ];
    if prose.iter().any(|e| lower.ends_with(e))
        || notices.iter().any(|n| lower.starts_with(n))
        || ["fixtures/", "testdata/", "__snapshots__/"]
            .iter()
            .any(|d| path.contains(d))
    {
        return Some("text");
    }
    None
}

/// The `b/` path of a `diff --git a/X b/Y` line.
fn diff_path(line: &str) -> &str {
    let rest = line.trim_start_matches("diff --git ");
    match rest.rfind(" b/") {
        Some(i) => &rest[i + 3..],
        None => rest,
    }
}

/// Whether the removed and added lines differ only in whitespace.
fn whitespace_only(body: &[&str]) -> bool {
    let squeeze = |sign: char| -> String {
        body.iter()
            .filter(|l| l.starts_with(sign))
            .flat_map(|l| l[1..].chars().filter(|c| !c.is_whitespace()))
            .collect()
    };
    let changed = body.iter().any(|l| l.starts_with(['+', '-']));
    changed && squeeze('-') == squeeze('+')
}

/// A block of removed lines that comes back, line for line but for indentation, as a block of
/// added lines: the indices of both blocks' first lines and their length.
#[derive(Debug, PartialEq)]
struct Move {
    removed: usize,
    added: usize,
    len: usize,
}

/// The moved (or re-indented) blocks of a diff, longest first, no line in two of them. Lines too
/// short to tell apart (braces, blank lines) match only inside a run that starts with a longer
/// one.
fn moves(lines: &[&str]) -> Vec<Move> {
    let text = |i: usize| content(lines[i]).get(1..).unwrap_or("").trim();
    let distinct = |i: usize| text(i).len() >= 4;
    let mut removed_at: HashMap<&str, Vec<usize>> = HashMap::new();
    for i in (0..lines.len()).filter(|&i| is_removed(lines[i]) && distinct(i)) {
        // A line repeated all over (`return nil`) is tried at its first places only: enough to
        // find real moves, and no quadratic work on a diff made of one line repeated.
        let at = removed_at.entry(text(i)).or_default();
        if at.len() < 64 {
            at.push(i);
        }
    }
    let mut found: Vec<Move> = Vec::new();
    let mut taken = vec![false; lines.len()];
    let mut a = 0;
    while a < lines.len() {
        if !(is_added(lines[a]) && distinct(a)) || taken[a] {
            a += 1;
            continue;
        }
        // The longest run from `a` over any removed line with the same text.
        let mut best: Option<Move> = None;
        let candidates = removed_at.get(text(a)).map_or(&[][..], |v| v.as_slice());
        for &r in candidates.iter().filter(|&&r| !taken[r]).take(8) {
            let len = (0..)
                .take_while(|&k| {
                    a + k < lines.len()
                        && r + k < lines.len()
                        && is_added(lines[a + k])
                        && is_removed(lines[r + k])
                        && !taken[a + k]
                        && !taken[r + k]
                        && text(a + k) == text(r + k)
                })
                .count();
            if len >= MOVE_MIN && best.as_ref().is_none_or(|b| len > b.len) {
                best = Some(Move {
                    removed: r,
                    added: a,
                    len,
                });
            }
        }
        match best {
            Some(m) => {
                taken[m.removed..m.removed + m.len].fill(true);
                taken[m.added..m.added + m.len].fill(true);
                a += m.len;
                found.push(m);
            }
            None => a += 1,
        }
    }
    found
}

fn is_added(line: &str) -> bool {
    line.starts_with('+') && !line.starts_with("+++ ")
}

fn is_removed(line: &str) -> bool {
    line.starts_with('-') && !line.starts_with("--- ")
}

/// Compresses a diff (see the module docs).
pub fn compress_diff(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    super::lossy_allowed(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let mut keep = vec![true; n];
    let mut notes: BTreeMap<usize, String> = BTreeMap::new();
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let mut drop = |keep: &mut [bool], i: usize, why: &str| {
        if keep[i] {
            keep[i] = false;
            *dropped.entry(why.to_string()).or_default() += 1;
        }
    };

    // Sections: each file's lines, from its `diff --git` line to the next.
    let starts: Vec<usize> = (0..n)
        .filter(|&i| lines[i].starts_with("diff --git ") || lines[i].starts_with("diff --cc "))
        .collect();
    if starts.is_empty() {
        return Err(TextError::NothingToDrop(
            "no `diff --git` sections were found",
        ));
    }
    // Moved blocks: the first line of each side stays, with a note; the rest is summarised.
    let file_at = |i: usize| {
        let s = starts.partition_point(|&s| s <= i);
        s.checked_sub(1)
            .map_or("", |s| diff_path(content(lines[starts[s]])))
    };
    let mut moved = vec![false; n];
    for m in moves(&lines) {
        let (from, to) = (file_at(m.removed), file_at(m.added));
        let place = |other: &str| {
            if other == from && from == to {
                "elsewhere in this file".to_string()
            } else {
                other.to_string()
            }
        };
        let (went, came) = if m.removed + m.len == m.added {
            // Removed right above where it is added: only its indentation changed.
            (
                format!("[{} lines re-indented, otherwise unchanged:]\n", m.len),
                format!("[the same {} lines, re-indented]\n", m.len),
            )
        } else {
            (
                format!(
                    "[{} lines moved to {} (the same lines, indentation aside)]\n",
                    m.len,
                    place(to)
                ),
                format!("[{} lines moved here from {}]\n", m.len, place(from)),
            )
        };
        for (first, note) in [(m.removed, went), (m.added, came)] {
            moved[first..first + m.len].fill(true);
            for i in first + 1..first + m.len {
                drop(&mut keep, i, "moved");
            }
            notes.insert(first, note);
        }
    }
    for (s, &start) in starts.iter().enumerate() {
        let end = starts.get(s + 1).copied().unwrap_or(n);
        let header = content(lines[start]);
        if header.starts_with("diff --cc ") {
            // Combined diffs of merges stay as they are.
            continue;
        }
        let not_code = machine_made(diff_path(header));
        let first_hunk = (start..end)
            .find(|&i| lines[i].starts_with("@@"))
            .unwrap_or(end);
        for (i, line) in lines.iter().enumerate().take(first_hunk).skip(start + 1) {
            if line.starts_with("index ") || line.starts_with("--- ") || line.starts_with("+++ ") {
                drop(&mut keep, i, "file header");
            }
        }
        let mut h = first_hunk;
        while h < end {
            let body_end = (h + 1..end)
                .find(|&i| lines[i].starts_with("@@"))
                .unwrap_or(end);
            let body = &lines[h + 1..body_end];
            let changed: Vec<usize> = (h + 1..body_end)
                .filter(|&i| lines[i].starts_with(['+', '-']) && !moved[i])
                .collect();
            let added = changed
                .iter()
                .filter(|&&i| lines[i].starts_with('+'))
                .count();
            if whitespace_only(body) {
                for i in h + 1..body_end {
                    drop(&mut keep, i, "whitespace-only");
                }
                notes.insert(
                    h,
                    format!(
                        "[whitespace-only changes: {} lines, not shown]\n",
                        body.len()
                    ),
                );
            } else if let Some(why) = not_code.filter(|_| changed.len() > PROSE_HUNK) {
                // The longest changed line stands for the hunk.
                let longest = longest(&lines, &changed);
                for i in (h + 1..body_end).filter(|&i| !moved[i]) {
                    if Some(i) != longest {
                        drop(&mut keep, i, why);
                    }
                }
                notes.insert(
                    h,
                    format!(
                        "[{why}: +{added} -{} lines; the longest:]\n",
                        changed.len() - added
                    ),
                );
            } else if changed.len() > CODE_HUNK {
                let shown = outline(&lines, &changed);
                for i in (h + 1..body_end).filter(|&i| !moved[i]) {
                    if shown.binary_search(&i).is_err() {
                        drop(&mut keep, i, "large hunk");
                    }
                }
                notes.insert(
                    h,
                    format!(
                        "[+{added} -{} lines; shown: {} of them, the first, the declarations and top-level lines, the longest]\n",
                        changed.len() - added,
                        shown.len()
                    ),
                );
            } else {
                for (i, line) in lines.iter().enumerate().take(body_end).skip(h + 1) {
                    let near = changed.binary_search(&i).is_ok() || {
                        let at = changed.partition_point(|&c| c < i);
                        let before = at.checked_sub(1).map(|a| i - changed[a]);
                        let after = changed.get(at).map(|&c| c - i);
                        before.is_some_and(|d| d <= CONTEXT) || after.is_some_and(|d| d <= CONTEXT)
                    };
                    if !near && line.starts_with(' ') {
                        drop(&mut keep, i, "context");
                    }
                }
            }
            h = body_end;
        }
    }
    let kept = keep.iter().filter(|&&k| k).count();
    if kept == n {
        return Err(TextError::NothingToDrop("the diff has nothing but changes"));
    }
    let mut out = String::with_capacity(text.len() / 2);
    for (i, line) in lines.iter().enumerate() {
        if keep[i] {
            out.push_str(line);
            if let Some(note) = notes.get(&i) {
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(note);
            }
        }
    }
    let summary = format!(
        "the full diff: {} of {n} lines omitted here ({}); {} files",
        n - kept,
        super::top_counts(&dropped, 4),
        starts.len()
    );
    finish(
        ctx,
        out,
        text,
        &summary,
        "diff-trim",
        TextDetails {
            lines_before: n,
            lines_kept: kept,
            groups: starts.len(),
            dropped,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_made_files() {
        assert_eq!(machine_made("Cargo.lock"), Some("lockfile"));
        assert_eq!(machine_made("web/package-lock.json"), Some("lockfile"));
        assert_eq!(machine_made("vendor/github.com/x/y.go"), Some("vendored"));
        assert_eq!(machine_made("static/app.min.js"), Some("generated"));
        assert_eq!(machine_made("src/lock.rs"), None);
        assert_eq!(machine_made("crates/index/LICENSE-MIT"), Some("text"));
        assert_eq!(machine_made("docs/guide.md"), Some("text"));
    }

    #[test]
    fn whitespace_only_hunks() {
        assert!(whitespace_only(&["-  a = 1\n", "+a = 1\n", " b\n"]));
        assert!(!whitespace_only(&["-a = 1\n", "+a = 2\n"]));
        assert!(!whitespace_only(&[" context\n"]));
    }

    #[test]
    fn moved_and_reindented_blocks_are_found() {
        let block: Vec<String> = (0..10)
            .map(|i| format!("    let value_{i} = compute({i});\n"))
            .collect();
        let mut diff = vec![
            "diff --git a/a.rs b/a.rs\n".to_string(),
            "@@ -1,12 +1,2 @@\n".into(),
        ];
        diff.extend(block.iter().map(|l| format!("-{l}")));
        diff.push(" fn keep() {}\n".into());
        diff.push("diff --git a/b.rs b/b.rs\n".into());
        diff.push("@@ -1,2 +1,22 @@\n".into());
        diff.extend(block.iter().map(|l| format!("+    {}", l.trim_start())));
        // Re-indented in place: removed, then added right after with more indentation.
        let other: Vec<String> = block.iter().map(|l| l.replace("value", "other")).collect();
        diff.extend(other.iter().map(|l| format!("-{l}")));
        diff.extend(other.iter().map(|l| format!("+    {l}")));
        let lines: Vec<&str> = diff.iter().map(String::as_str).collect();
        let found = moves(&lines);
        assert_eq!(
            found,
            vec![
                Move {
                    removed: 2,
                    added: 15,
                    len: 10
                },
                Move {
                    removed: 25,
                    added: 35,
                    len: 10
                },
            ]
        );
        // Too short a run is shown as it is.
        let short: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| !["_7", "_8", "_9"].iter().any(|n| l.contains(n)))
            .collect();
        assert!(moves(&short).is_empty());
    }

    #[test]
    fn a_moved_function_is_shown_once_and_stored_whole() {
        let body: String = (0..30)
            .map(|i| format!("    let value_{i} = compute({i});\n"))
            .collect();
        let sign =
            |sign: char| -> String { body.lines().map(|l| format!("{sign}{l}\n")).collect() };
        let diff = format!(
            "diff --git a/src/old.rs b/src/old.rs\n@@ -10,32 +10,0 @@\n-pub fn helper() {{\n{}-}}\n\
             diff --git a/src/new.rs b/src/new.rs\nnew file mode 100644\n@@ -0,0 +1,33 @@\n+use crate::compute;\n+pub fn helper() {{\n{}+}}\n",
            sign('-'),
            sign('+')
        );
        let (out, store) = crate::context::with_context(&diff, "", 2000, |ctx| {
            compress_diff(&diff, ctx).unwrap().output
        });
        assert!(
            out.contains("-pub fn helper() {\n[32 lines moved to src/new.rs"),
            "{out}"
        );
        assert!(
            out.contains("+pub fn helper() {\n[32 lines moved here from src/old.rs]"),
            "{out}"
        );
        assert!(out.contains("+use crate::compute;"), "{out}");
        assert!(!out.contains("value_3"), "{out}");
        let key = &crate::ccr::marker_keys(&out)[0];
        assert_eq!(
            crate::ccr::Store::get(&store, "t", key).unwrap(),
            diff.as_bytes()
        );
    }

    #[test]
    fn paths() {
        assert_eq!(diff_path("diff --git a/src/x.rs b/src/y.rs"), "src/y.rs");
    }
}
