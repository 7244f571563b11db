//! Diffs (`git show`, `git diff`, `diff -u`/`-ru`): every file and every changed line of code
//! that fits, as a patch that still applies.
//!
//! First the diff is trimmed as it would be at any size: `index` lines go, context further than
//! one line from a change goes, lockfiles, generated and vendored files and prose or data files
//! (docs, licenses, fixtures) keep, per hunk of more than a few changed lines, their longest
//! changed line and a line of counts; whitespace-only hunks shrink to a note; a block of at
//! least eight removed lines that comes back elsewhere as added lines (moved, or only
//! re-indented) shows its first line on each side and a note saying where it went or came
//! from; a hunk of more than forty changed lines of code shows its outline (its first lines,
//! declarations, top-level lines and longest line, comments aside).
//!
//! Then the trimmed diff is held to the budget (see [`super::fit`]): the commit's header and
//! subject, each file's name (a note with its counts while none of its hunks is shown), and
//! `diff -r`'s `Only in` lines first; then the hunks the query is about (the lines holding its
//! exact terms first, within a third of the budget; the rest within a quarter, so that a query
//! cannot crowd out every other file; a path answers a query by its file name, not by the
//! directories it is in); then, within an eighth of the budget, notes for the large hunks
//! (a hunk not shown gets a note only where the hunk costs at least three times the note) and
//! the commit message; then every hunk's opening, its header and first change (a small hunk
//! whole), every file's first hunks before any file's later ones, so that no hunk is left
//! out while another shows more; then each hunk's longest changed line; then the other changed
//! lines, in proportion per file, so that every file shows about the same share of its changes
//! (a long run of changes from its beginning). Notes about a part of a hunk left out are
//! written only where they stand for several times what they cost, within an eighth of the
//! budget; whatever is left out without one is covered by the marker of the whole diff.
//!
//! The output stays a patch: `---`/`+++` lines are kept (a file's `diff` line only where it
//! says more than they do: a mode change, a rename, a new file that is executable; `index`
//! lines never; `cinch retrieve` gives them back with the rest), and every hunk
//! shown gets a header counting exactly the lines shown (a hunk whose middle context was left
//! out becomes two hunks). With the note lines (`[…]`) and the marker taken out, `git apply`
//! accepts it when every hunk shown is shown whole (the patch then makes those hunks' changes);
//! when changed lines of a hunk were left out, the marker says the shown diff is not an
//! applicable patch. The whole original goes to the store under the marker at the end.

use super::fit::{self, Detail, Unit};
use super::{content, lines_of, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact, words};
use crate::tokens::estimate;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

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

/// Tokens of context between two changes worth showing rather than a second hunk header.
const SPLIT_COST: usize = 12;

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

fn declaration_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[+-]\s*(?:(?:pub(?:\([\w:]+\))?|export|default|async|static|public|private|protected|abstract|final|unsafe|const)\s+)*(?:fn|struct|enum|trait|impl|mod|type|def|class|module|interface|func|function|package|import|use|from)\b")
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
    // A new file's license header and comments say little of what it does, and its imports
    // not much more: the first two stand for them.
    let mut imports = 0;
    let code: Vec<usize> = changed
        .iter()
        .copied()
        .filter(|&i| !comment(lines[i]) && !trivial(lines[i]))
        .filter(|&i| {
            imports += usize::from(import(lines[i]));
            !import(lines[i]) || imports <= 2
        })
        .collect();
    let code = if code.is_empty() { changed } else { &code };
    let top = code.iter().filter_map(|&i| indent(i)).min().unwrap_or(0);
    let mut keep: Vec<usize> = code.iter().copied().take(3).collect();
    keep.extend(
        code.iter()
            .copied()
            .filter(|&i| declaration_re().is_match(content(lines[i])) || indent(i) == Some(top))
            // A closing brace at the top level says nothing about the hunk.
            .filter(|&i| !trivial(lines[i])),
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

/// A changed line that imports a module (`use`, `import`, `from … import`, `#include`).
fn import(line: &str) -> bool {
    let t = content(line).get(1..).unwrap_or("").trim_start();
    let t = t.strip_prefix("pub ").unwrap_or(t);
    [
        "use ",
        "import ",
        "from ",
        "#include ",
        "#include<",
        "extern crate ",
        "require ",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// A changed line that is a comment only (`//`, `/*`, `*`, `# `, `-- `).
fn comment(line: &str) -> bool {
    let t = content(line).get(1..).unwrap_or("").trim_start();
    t.starts_with("//")
        || t.starts_with("/*")
        || t.starts_with('*')
        || t.starts_with("-- ")
        || t == "#"
        || t.starts_with("# ")
        || (t.starts_with("#!") && !t.starts_with("#!["))
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

/// What a line of a hunk's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Context,
    Added,
    Removed,
    /// `\ No newline at end of file`, about the line before it.
    NoNewline,
}

fn body_kind(line: &str) -> Option<Body> {
    match line.as_bytes().first() {
        Some(b' ') => Some(Body::Context),
        // Some tools strip the space of an empty context line; `git apply` reads it as one.
        None | Some(b'\n') | Some(b'\r') => Some(Body::Context),
        Some(b'+') => Some(Body::Added),
        Some(b'-') => Some(Body::Removed),
        Some(b'\\') => Some(Body::NoNewline),
        _ => None,
    }
}

fn hunk_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$").expect("valid pattern")
    })
}

/// Where a hunk's ranges start, and what its header says after the ranges.
#[derive(Debug, Clone)]
struct Range {
    old: usize,
    new: usize,
    tail: String,
}

#[derive(Debug)]
struct Hunk {
    /// The `@@` line.
    header: usize,
    /// One past the last line of the body.
    end: usize,
    /// `None` for a hunk whose header does not parse or whose body is not what its header
    /// counts (a combined diff of a merge, a cut-off diff): shown as it is, never as a patch.
    range: Option<Range>,
}

#[derive(Debug)]
struct FileDiff {
    /// The `diff` line (or the `---` line of a plain unified diff).
    start: usize,
    /// One past the file's header lines.
    header_end: usize,
    /// One past the file's last hunk.
    end: usize,
    path: String,
    hunks: Vec<Hunk>,
    /// A binary file: its header says so, or a `GIT binary patch` follows it (not shown).
    binary: bool,
    /// The `diff` line says nothing the `---` and `+++` lines do not (no mode, rename, new or
    /// deleted file): the file is shown by those two lines alone.
    redundant: bool,
}

impl FileDiff {
    /// Whether line `i` of the file's header is shown as it is when a hunk of the file is:
    /// `index` lines never are, and of a file whose `diff` line is redundant only the `---`
    /// and `+++` lines are.
    fn shows_as_is(&self, lines: &[&str], i: usize) -> bool {
        let line = lines[i];
        !line.starts_with("index ")
            && (!self.redundant || line.starts_with("--- ") || line.starts_with("+++ "))
    }
}

/// Lines of a file's header (after its `diff` line, before its first hunk).
fn is_header_line(line: &str) -> bool {
    const HEADERS: &[&str] = &[
        "index ",
        "old mode ",
        "new mode ",
        "deleted file mode ",
        "new file mode ",
        "similarity index ",
        "dissimilarity index ",
        "rename from ",
        "rename to ",
        "copy from ",
        "copy to ",
        "--- ",
        "+++ ",
        "Binary files ",
    ];
    HEADERS.iter().any(|h| line.starts_with(h))
}

/// How many of a file's header lines (after its `diff` line) say what happened to the file
/// itself: a mode change, a rename or copy, a new or deleted file.
fn telling_header(header: &[&str]) -> usize {
    const TELLING: &[&str] = &[
        "old mode ",
        "new mode ",
        "deleted file mode ",
        "new file mode ",
        "similarity index ",
        "dissimilarity index ",
        "rename from ",
        "rename to ",
        "copy from ",
        "copy to ",
    ];
    header
        .iter()
        .take_while(|l| TELLING.iter().any(|t| l.starts_with(t)))
        .count()
}

/// Header lines that make a patch of their own, shown when none of the file's hunks is: a mode
/// change, a rename or copy (a new or deleted file needs its hunks).
fn patch_of_its_own(line: &str) -> bool {
    !line.starts_with("new file mode ") && !line.starts_with("deleted file mode ")
}

/// The path a `+++ ` line names (without a timestamp).
fn plus_path(line: &str) -> String {
    let p = content(line).trim_start_matches("+++ ");
    let p = p.split('\t').next().unwrap_or(p);
    p.strip_prefix("b/").unwrap_or(p).to_string()
}

/// The files of a diff, with their hunks.
fn parse(lines: &[&str]) -> Vec<FileDiff> {
    let n = lines.len();
    let mut files = Vec::new();
    let mut i = 0;
    while i < n {
        let l = lines[i];
        let git = l.starts_with("diff ");
        let bare = l.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|m| m.starts_with("+++ "))
            && lines.get(i + 2).is_some_and(|m| m.starts_with("@@"));
        if !(git || bare) {
            i += 1;
            continue;
        }
        let mut path = if l.starts_with("diff --git ") || l.starts_with("diff --cc ") {
            diff_path(content(l)).to_string()
        } else {
            String::new()
        };
        let mut j = if git { i + 1 } else { i };
        while j < n && is_header_line(lines[j]) {
            if path.is_empty() && lines[j].starts_with("+++ ") {
                path = plus_path(lines[j]);
            }
            j += 1;
        }
        let header_end = j;
        let mut hunks = Vec::new();
        while j < n && lines[j].starts_with("@@") {
            let h = parse_hunk(lines, j);
            j = h.end;
            hunks.push(h);
        }
        let mut binary = lines[i..header_end]
            .iter()
            .any(|l| l.starts_with("Binary files "));
        if j < n && lines[j].starts_with("GIT binary patch") {
            binary = true;
            while j < n && !lines[j].starts_with("diff ") {
                j += 1;
            }
        }
        let redundant = git && !hunks.is_empty() && redundant_diff_line(&lines[i..header_end]);
        files.push(FileDiff {
            start: i,
            header_end,
            end: j,
            path,
            hunks,
            binary,
            redundant,
        });
        i = j.max(i + 1);
    }
    files
}

/// Whether a file's header (its `diff` line first) is, `index` lines aside, its `diff` line
/// and the `---` and `+++` lines of the two paths it names (`diff --git a/X b/X`, `diff -ru
/// a/X b/X`): a patch needs no more than the `---` and `+++` lines then.
fn redundant_diff_line(header: &[&str]) -> bool {
    let mut rest: Vec<&str> = header[1..]
        .iter()
        .map(|l| content(l))
        .filter(|l| !l.starts_with("index "))
        .collect();
    // A new or deleted file of the default mode: `/dev/null` on the other side says it.
    let made = match rest.first() {
        Some(&"new file mode 100644") => Some(true),
        Some(&"deleted file mode 100644") => Some(false),
        _ => None,
    };
    if made.is_some() {
        rest.remove(0);
    }
    let [minus, plus] = rest[..] else {
        return false;
    };
    let path = |l: &'static str, line: &'_ str| -> Option<String> {
        let p = line.strip_prefix(l)?;
        Some(p.split('\t').next().unwrap_or(p).to_string())
    };
    let (Some(old), Some(new)) = (path("--- ", minus), path("+++ ", plus)) else {
        return false;
    };
    let diff = content(header[0]);
    let names = match made {
        None if old != "/dev/null" && new != "/dev/null" => format!(" {old} {new}"),
        Some(true) if old == "/dev/null" => {
            format!(" a/{} {new}", new.strip_prefix("b/").unwrap_or(""))
        }
        Some(false) if new == "/dev/null" => {
            format!(" {old} b/{}", old.strip_prefix("a/").unwrap_or(""))
        }
        _ => return false,
    };
    !diff.starts_with("diff --cc ")
        && !diff.starts_with("diff --combined ")
        && diff.ends_with(&names)
}

/// The hunk whose header is line `at`: its body is what the header counts.
fn parse_hunk(lines: &[&str], at: usize) -> Hunk {
    let n = lines.len();
    let number = |c: &regex::Captures, k: usize, default: usize| {
        c.get(k)
            .map_or(Some(default), |m| m.as_str().parse::<usize>().ok())
    };
    let parsed = hunk_re().captures(content(lines[at])).and_then(|c| {
        Some((
            number(&c, 1, 0)?,
            number(&c, 2, 1)?,
            number(&c, 3, 0)?,
            number(&c, 4, 1)?,
            c.get(5).map_or("", |m| m.as_str()).to_string(),
        ))
    });
    let mut k = at + 1;
    let Some((old, old_count, new, new_count, tail)) = parsed else {
        // A combined diff (`@@@`) or a header that does not parse: its body is what looks like one.
        while k < n
            && !lines[k].starts_with("@@")
            && !lines[k].starts_with("diff ")
            && lines[k].starts_with([' ', '+', '-', '\\'])
        {
            k += 1;
        }
        return Hunk {
            header: at,
            end: k,
            range: None,
        };
    };
    let (mut old_left, mut new_left) = (old_count, new_count);
    while k < n && (old_left > 0 || new_left > 0) {
        match body_kind(lines[k]) {
            Some(Body::Context) if old_left > 0 && new_left > 0 => {
                old_left -= 1;
                new_left -= 1;
            }
            Some(Body::Removed) if old_left > 0 => old_left -= 1,
            Some(Body::Added) if new_left > 0 => new_left -= 1,
            Some(Body::NoNewline) => {}
            _ => break,
        }
        k += 1;
    }
    while k < n && lines[k].starts_with('\\') {
        k += 1;
    }
    let whole = old_left == 0 && new_left == 0;
    Hunk {
        header: at,
        end: k,
        range: whole.then_some(Range { old, new, tail }),
    }
}

/// What trimming keeps (see the module docs): which lines are worth showing, and notes about
/// what they stand for.
struct Trimmed {
    /// Body lines worth showing.
    worth: Vec<bool>,
    /// Lines of a hunk's body (the rest are shown whenever they are kept).
    in_body: Vec<bool>,
    /// Notes shown after a line (a hunk's header, a moved block's first line).
    notes: BTreeMap<usize, String>,
    /// Lines trimmed, by why.
    dropped: BTreeMap<String, usize>,
}

fn trim(lines: &[&str], files: &[FileDiff]) -> Trimmed {
    let n = lines.len();
    let mut worth = vec![false; n];
    let mut notes: BTreeMap<usize, String> = BTreeMap::new();
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |why: &str, k: usize| {
        if k > 0 {
            *dropped.entry(why.to_string()).or_default() += k;
        }
    };
    let mut in_body = vec![false; n];
    for f in files {
        for h in &f.hunks {
            in_body[h.header + 1..h.end].fill(true);
        }
        count(
            "file header",
            (f.start..f.header_end)
                .filter(|&i| !f.shows_as_is(lines, i))
                .count(),
        );
    }
    // Moved blocks: the first line of each side stays, with a note; the rest is summarised.
    let file_at = |i: usize| {
        let s = files.partition_point(|f| f.start <= i);
        s.checked_sub(1).map_or("", |s| files[s].path.as_str())
    };
    let body_lines: Vec<&str> = (0..n)
        .map(|i| if in_body[i] { lines[i] } else { "" })
        .collect();
    let mut moved = vec![false; n];
    for m in moves(&body_lines) {
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
            worth[first] = true;
            count("moved", m.len - 1);
            notes.insert(first, note);
        }
    }
    for f in files {
        let not_code = machine_made(&f.path);
        for h in &f.hunks {
            let body = h.header + 1..h.end;
            if h.range.is_none() {
                // Combined diffs of merges and cut-off hunks stay as they are.
                worth[body].fill(true);
                continue;
            }
            let changed: Vec<usize> = body
                .clone()
                .filter(|&i| {
                    matches!(body_kind(lines[i]), Some(Body::Added | Body::Removed)) && !moved[i]
                })
                .collect();
            let added = changed
                .iter()
                .filter(|&&i| lines[i].starts_with('+'))
                .count();
            let removed = changed.len() - added;
            let mut shown: Vec<usize> = Vec::new();
            if whitespace_only(&lines[body.clone()]) {
                for i in body.clone() {
                    worth[i] = false;
                }
                count("whitespace-only", body.len());
                notes.insert(
                    h.header,
                    format!(
                        "[whitespace-only changes: {} lines, not shown]\n",
                        body.len()
                    ),
                );
                continue;
            } else if let Some(why) = not_code.filter(|_| changed.len() > PROSE_HUNK) {
                // The longest changed line stands for the hunk.
                shown.extend(longest(lines, &changed));
                count(why, changed.len() - shown.len());
                notes.insert(
                    h.header,
                    format!("[{why}: +{added} -{removed} lines; the longest:]\n"),
                );
            } else if changed.len() > CODE_HUNK {
                shown = outline(lines, &changed);
                count("large hunk", changed.len() - shown.len());
                notes.insert(
                    h.header,
                    format!("[+{added} -{removed} lines; an outline (declarations, top level):]\n"),
                );
            } else {
                let mut context = 0;
                for i in body.clone() {
                    let near = changed.binary_search(&i).is_ok() || {
                        let at = changed.partition_point(|&c| c < i);
                        let before = at.checked_sub(1).map(|a| i - changed[a]);
                        let after = changed.get(at).map(|&c| c - i);
                        before.is_some_and(|d| d <= CONTEXT) || after.is_some_and(|d| d <= CONTEXT)
                    };
                    let is_context = body_kind(lines[i]) == Some(Body::Context);
                    if near && !moved[i] {
                        shown.push(i);
                    } else if is_context {
                        context += 1;
                    }
                }
                // Left out, a few lines of context between two changes would cost a hunk
                // header more than they save.
                let mut gaps = Vec::new();
                for w in shown.windows(2) {
                    let gap = w[0] + 1..w[1];
                    let cheap =
                        gap.clone().map(|k| estimate(lines[k])).sum::<usize>() <= SPLIT_COST;
                    if !gap.is_empty() && cheap && gap.clone().all(|k| !moved[k]) {
                        gaps.extend(gap);
                    }
                }
                context -= gaps.len();
                shown.extend(gaps);
                count("context", context);
            }
            for i in shown {
                worth[i] = true;
            }
            // `\ No newline at end of file` goes with the line it is about.
            for i in body {
                if lines[i].starts_with('\\') && i > h.header + 1 {
                    worth[i] = worth[i - 1];
                }
            }
        }
    }
    Trimmed {
        worth,
        in_body,
        notes,
        dropped,
    }
}

/// Ranks of the units, lower first.
mod tier {
    /// The commit's header and subject, each file's name.
    pub const NAMES: u8 = 0;
    /// Hunks the query is about (the lines with its exact terms first), within shares.
    pub const QUERY: u8 = 1;
    /// Notes for hunks large enough to be worth one, the commit message (within shares).
    pub const OUTLINE: u8 = 2;
    /// Each hunk's opening: its header and first changed lines (a small hunk whole).
    pub const OPENING: u8 = 3;
    /// Each hunk's longest changed line.
    pub const LONGEST: u8 = 4;
    /// The other changed lines, in proportion per file.
    pub const CHANGES: u8 = 5;
    /// Message lines and other text past their share.
    pub const REST: u8 = 6;
}

/// A hunk whose lines worth showing cost no more than this is shown whole or not at all.
const SMALL_HUNK: usize = 80;
/// Tokens of a large hunk's opening up to its first changed line; the rest of that change
/// (its block of removed and added lines) comes with it within twice this.
const OPENING: usize = 30;
/// A note stands for at least this many times its own cost, or is not written.
const NOTE_RATIO: usize = 3;
/// Tokens a hunk's note adds to its header (brackets, counts).
const NOTE_COST: usize = 8;

/// The position of `done` of `total` (a share of a file's changes) and file `f`, as an order
/// that takes every file's first share before any file's second.
fn share_order(done: usize, total: usize, f: usize) -> u64 {
    let frac = (done as u64) * (1 << 24) / (total.max(1) as u64);
    (frac << 24) | (f as u64 & 0xff_ffff)
}

/// Compresses a diff (see the module docs).
pub fn compress_diff(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    super::lossy_allowed(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let files = parse(&lines);
    if files.is_empty() {
        return Err(TextError::NothingToDrop("no file diffs were found"));
    }
    let trimmed = trim(&lines, &files);
    if trimmed.dropped.is_empty() && ctx.counter.input_up_to(ctx.budget).is_some() {
        return Err(TextError::NothingToDrop("the diff has nothing but changes"));
    }
    // What each line costs as it is, and as it is shown: `index` lines of file headers and
    // trimmed lines of hunks never are; a file's `diff` line stands for its note when it is
    // not shown as it is.
    let mut costs: Vec<usize> = (0..n)
        .map(|i| {
            if trimmed.in_body[i] && !trimmed.worth[i] {
                0
            } else {
                estimate(lines[i]).max(1)
            }
        })
        .collect();
    for f in &files {
        for i in (f.start..f.header_end).filter(|&i| !f.shows_as_is(&lines, i)) {
            costs[i] = 0;
        }
        if f.redundant {
            costs[f.start] = estimate(&file_note(&lines, f)).max(1);
        }
    }
    let cost = |i: usize| costs[i];

    let mut in_file = vec![false; n];
    for f in &files {
        in_file[f.start..f.end].fill(true);
    }
    let mut units = other_units(&lines, &in_file, ctx.budget, &cost);
    let (query_rank, terms) = query_hunks(&lines, &files, ctx);
    let mut ranker = Ranker {
        lines: &lines,
        trimmed: &trimmed,
        costs: &costs,
        query_rank: &query_rank,
        terms: &terms,
        piece_cap: (ctx.budget / 6).max(40),
        units: Vec::new(),
        notes: Vec::new(),
        asked: Vec::new(),
    };
    for (f, file) in files.iter().enumerate() {
        ranker.file(f, file);
    }
    units.extend(ranker.finish(ctx.budget));

    let layout = Layout {
        lines: &lines,
        files: &files,
        in_file: &in_file,
        trimmed: &trimmed,
        note_share: ctx.budget / 8,
    };
    let mut render = |keep: &[bool], detail: Detail, key: &Key| layout.render(keep, detail, key);
    let plan = fit::Plan {
        kind: "diff",
        original: text,
        lines: &lines,
        units,
    };
    let fitted = plan.fit(&cost, ctx, &mut render);
    let tally = layout.tally(&fitted.keep);
    // Lines shown as they are (hunk headers are shown recounted or as notes, `index` lines and
    // redundant `diff` lines not at all): what `retrieve --dropped` leaves out.
    let literal = layout.literal(&fitted.keep);
    let stored = plan.store_and_render(fitted, &|i| literal[i], ctx, &mut render)?;
    let mut dropped = trimmed.dropped.clone();
    dropped.insert("budget".into(), tally.over_budget);
    dropped.insert("hunks shown in part".into(), tally.partial);
    Ok(TextOutcome {
        output: stored.output,
        strategy: "diff-trim",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: files.len(),
            dropped,
        },
    })
}

/// The units of the lines outside the files: the commit's header and subject first (and the
/// `Only in` lines of `diff -r`, which name files), the rest of the message, a diffstat and
/// trailers within an eighth of the budget, then the rest.
fn other_units(
    lines: &[&str],
    in_file: &[bool],
    budget: usize,
    cost: &dyn Fn(usize) -> usize,
) -> Vec<Unit> {
    const HEADS: &[&str] = &[
        "commit ",
        "Author:",
        "AuthorDate:",
        "Commit:",
        "CommitDate:",
        "Date:",
        "Merge:",
        "From ",
        "Subject:",
        "Only in ",
    ];
    let mut units = Vec::new();
    let mut spent = 0usize;
    let mut subject_seen = false;
    let mut last: Option<(u8, u64)> = None;
    for i in (0..lines.len()).filter(|&i| !in_file[i]) {
        let c = content(lines[i]);
        let head = HEADS.iter().any(|p| c.starts_with(p));
        let (t, o) = if c.trim().is_empty() {
            // A blank line goes with the line above it.
            last.map_or((tier::REST, u64::MAX), |(t, o)| (t, o.saturating_add(1)))
        } else if head || (!subject_seen && c.starts_with("    ")) {
            subject_seen |= !head || c.starts_with("Subject:");
            (tier::NAMES, i as u64)
        } else if spent + cost(i) <= budget / 8 {
            spent += cost(i);
            (tier::OUTLINE, (1 << 60) + i as u64)
        } else {
            (tier::REST, i as u64)
        };
        last = Some((t, o));
        units.push(Unit::line(i, t, o));
    }
    units
}

/// The name a query is matched against: a path's last component (a query word that names a
/// common directory does not make every file under it an answer).
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The hunks the query is about, by rank (keyed by their header line): hunks whose changed
/// lines hold its exact terms or rank high for its words, and the hunks of files whose name
/// names them; and the exact terms that tell hunks apart (not in most of them: a term the
/// whole diff is about is ranked as a word).
fn query_hunks(
    lines: &[&str],
    files: &[FileDiff],
    ctx: &Context,
) -> (HashMap<usize, Asked>, Vec<String>) {
    let hunks: Vec<(usize, &Hunk)> = files
        .iter()
        .enumerate()
        .flat_map(|(f, file)| file.hunks.iter().map(move |h| (f, h)))
        .collect();
    let texts: Vec<Vec<&str>> = hunks
        .iter()
        .map(|(_, h)| {
            (h.header + 1..h.end)
                .filter(|&i| matches!(body_kind(lines[i]), Some(Body::Added | Body::Removed)))
                .map(|i| lines[i])
                .collect()
        })
        .collect();
    // Which of the exact terms each hunk's changed lines hold.
    let exact = &ctx.query.exact;
    let holds: Vec<Vec<bool>> = texts
        .iter()
        .map(|text| {
            exact
                .iter()
                .map(|t| text.iter().any(|l| contains_exact(l, t)))
                .collect()
        })
        .collect();
    let telling: Vec<bool> = (0..exact.len())
        .map(|k| {
            let with = holds.iter().filter(|h| h[k]).count();
            hunks.len() < 4 || with * 2 <= hunks.len()
        })
        .collect();
    let terms: Vec<String> = (0..exact.len())
        .filter(|&k| telling[k])
        .map(|k| exact[k].clone())
        .collect();
    let has_term = |h: usize| (0..exact.len()).any(|k| telling[k] && holds[h][k]);
    let scores = bm25(&texts, &ctx.query.words);
    let top = scores.iter().copied().fold(0.0, f64::max);
    // A file the query names exactly is answered whole, like lines with its exact terms.
    let named: Vec<bool> = files
        .iter()
        .map(|f| exact.iter().any(|t| contains_exact(file_name(&f.path), t)))
        .collect();
    let path_hit: Vec<bool> = files
        .iter()
        .map(|f| {
            let name_words: Vec<String> = words(file_name(&f.path)).collect();
            ctx.query.words.iter().any(|w| name_words.contains(w))
        })
        .collect();
    let has_term = |k: usize| has_term(k) || named[hunks[k].0];
    let mut asked: Vec<usize> = (0..hunks.len())
        .filter(|&k| has_term(k) || path_hit[hunks[k].0] || (top > 0.0 && scores[k] >= 0.5 * top))
        .collect();
    asked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let ranks = asked
        .into_iter()
        .enumerate()
        .map(|(r, k)| {
            (
                hunks[k].1.header,
                Asked {
                    rank: r as u64,
                    has_term: has_term(k),
                    named: named[hunks[k].0],
                },
            )
        })
        .collect();
    (ranks, terms)
}

/// A hunk the query is about.
#[derive(Debug, Clone, Copy)]
struct Asked {
    /// Its rank among them, first 0.
    rank: u64,
    /// Its changed lines hold one of the query's exact terms, or it is in a file the query
    /// names.
    has_term: bool,
    /// It is in a file the query names (by an exact term).
    named: bool,
}

/// Cuts each file into ranked units (see the module docs).
struct Ranker<'a> {
    lines: &'a [&'a str],
    trimmed: &'a Trimmed,
    /// What each line costs as it is shown.
    costs: &'a [usize],
    query_rank: &'a HashMap<usize, Asked>,
    /// The query's exact terms.
    terms: &'a [String],
    /// A run of lines costing more than this is ranked changed line by changed line.
    piece_cap: usize,
    units: Vec<Unit>,
    /// Hunk headers that would be a note worth writing if their hunk is not shown, and what
    /// the note costs: given the notes' share of the budget in order.
    notes: Vec<(Unit, usize)>,
    /// Units of the hunks the query is about, and whether they hold its exact terms: given
    /// the query's shares of the budget in order.
    asked: Vec<(Unit, bool)>,
}

impl Ranker<'_> {
    /// File `f`: its `diff` line names it (a file without hunks, a rename or a mode change, is
    /// named by its whole header); the rest of its header goes with its first hunk, which it
    /// comes right before; then its hunks.
    fn file(&mut self, f: usize, file: &FileDiff) {
        let name_end = if file.hunks.is_empty() {
            file.header_end
        } else {
            file.start + 1 + telling_header(&self.lines[file.start + 1..file.header_end])
        };
        // Names in the order of the input, among the commit's header and `Only in` lines.
        self.units.push(Unit {
            start: file.start,
            end: name_end,
            tier: tier::NAMES,
            order: file.start as u64,
        });
        let total: usize = file
            .hunks
            .iter()
            .flat_map(|h| h.header + 1..h.end)
            .filter(|&i| self.trimmed.worth[i])
            .count();
        let mut done = 0usize;
        for (hunk_no, h) in file.hunks.iter().enumerate() {
            let from = if hunk_no == 0 { name_end } else { h.header };
            let at = Place {
                f,
                hunk_no,
                hunks: file.hunks.len(),
                total,
            };
            done = self.hunk(h, from, at, done);
        }
    }

    /// The units of hunk `h`, whose header (with its file's header, for a first hunk) starts
    /// at `from`; `done` lines of its file worth showing came before it. Returns the count
    /// after it.
    fn hunk(&mut self, h: &Hunk, from: usize, at: Place, mut done: usize) -> usize {
        let (lines, worth, cost) = (self.lines, &self.trimmed.worth, self.costs);
        let opaque = h.range.is_none();
        let changed_line =
            |i: usize| opaque || matches!(body_kind(lines[i]), Some(Body::Added | Body::Removed));
        let shown: Vec<usize> = (h.header + 1..h.end).filter(|&i| worth[i]).collect();
        let changed: Vec<usize> = shown.iter().copied().filter(|&i| changed_line(i)).collect();
        let first = share_order(at.hunk_no, at.hunks, at.f);
        let query = self.query_rank.get(&h.header).copied();
        let header = Unit {
            start: from,
            end: h.header + 1,
            tier: tier::OUTLINE,
            order: (1 << 48) + first,
        };
        // A note is worth writing for a hunk that costs several times as much.
        let note = self.costs[h.header] + NOTE_COST;
        let whole = rough_cost(&self.lines[h.header..h.end]);
        if shown.is_empty() {
            // Nothing worth showing (whitespace only): the note is the hunk.
            self.units.push(Unit {
                tier: tier::OPENING,
                order: first,
                ..header
            });
            return done;
        }
        if whole >= NOTE_RATIO * note {
            self.notes.push((header, note));
        }

        // The opening: the header and the first change (and the line before and after it);
        // a small hunk whole.
        let body_cost: usize = shown.iter().map(|&i| cost[i]).sum();
        let mut open_end = shown[shown.len() - 1] + 1;
        if body_cost > SMALL_HUNK {
            // Up to the first changed line of more than a brace (or past the opening's tokens,
            // the changes being all braces), then the rest of its block of changes (a
            // replacement's added lines with its removed ones) within twice that, and the line
            // after it.
            let (mut spent, mut telling, mut any) = (0, false, false);
            let mut prev: Option<usize> = None;
            for &i in &shown {
                let next_in_run = prev.is_none_or(|p| i == p + 1);
                if telling || (any && spent >= OPENING) {
                    let in_block = prev.is_some_and(changed_line) && changed_line(i);
                    if !next_in_run || spent + cost[i] > 2 * OPENING {
                        break;
                    }
                    if !in_block {
                        open_end = i + 1;
                        break;
                    }
                }
                spent += cost[i];
                open_end = i + 1;
                prev = Some(i);
                if changed_line(i) {
                    any = true;
                    telling |= !trivial(lines[i]);
                }
            }
            // `\ No newline at end of file` goes with the line it is about.
            while open_end < h.end && lines[open_end].starts_with('\\') {
                open_end += 1;
            }
        }
        let opening = Unit {
            start: from,
            end: open_end,
            tier: tier::OPENING,
            order: first,
        };
        self.units.push(opening);
        // In the hunk's lines (its file's `+++` line names its path, which is not an answer).
        let holds_term = |a: usize, b: usize| {
            query.is_some_and(|q| q.named)
                || query.is_some_and(|q| q.has_term)
                    && self
                        .terms
                        .iter()
                        .any(|t| (a.max(h.header + 1)..b).any(|k| contains_exact(lines[k], t)))
        };
        // The lines with the query's exact terms first, then the openings of the hunks it is
        // about, then the rest of them, each by the hunk's rank.
        let asked_order = |holds: bool, opening: bool, share: u64| {
            query.map(|q| {
                (u64::from(!holds) << 61)
                    | (u64::from(!opening) << 60)
                    | (q.rank << 32)
                    | (share >> 32)
            })
        };
        let holds = holds_term(from, open_end);
        if let Some(order) = asked_order(holds, true, 0) {
            self.asked.push((
                Unit {
                    tier: tier::QUERY,
                    order,
                    ..opening
                },
                holds,
            ));
        }
        // An opening that ends among the removed lines of a replacement is followed (with the
        // hunk's longest line) by the first added line of it, so that it shows what became of
        // them.
        if let Some(pair) = first_added_after(lines, worth, open_end, h.end) {
            let mut end = pair + 1;
            while end < h.end && lines[end].starts_with('\\') {
                end += 1;
            }
            let unit = Unit {
                start: pair,
                end,
                tier: tier::LONGEST,
                order: first,
            };
            self.units.push(unit);
            if let Some(order) = asked_order(holds, false, 0) {
                let unit = Unit {
                    tier: tier::QUERY,
                    order,
                    ..unit
                };
                self.asked.push((unit, holds));
            }
        }

        let longest = longest(lines, &changed);
        // In a hunk shown in part anyway, a run of nothing but braces and blank lines says
        // nothing.
        let partial = (h.header + 1..h.end).any(|i| !worth[i] && changed_line(i));
        done += (h.header + 1..open_end).filter(|&k| worth[k]).count();
        // Runs of lines worth showing after the opening: each a hunk of its own when shown
        // whole.
        let mut i = open_end;
        while i < h.end {
            if !worth[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < h.end && worth[i] {
                i += 1;
            }
            let run = start..i;
            if partial && run.clone().all(|k| trivial(lines[k])) {
                done += run.len();
                continue;
            }
            let cut = pieces(lines, run.clone(), opaque);
            let whole_run = run.clone().map(|k| cost[k]).sum::<usize>() <= self.piece_cap;
            for &(a, b) in &cut {
                let share = share_order(done + a - start, at.total, at.f);
                let holds = holds_term(a, b);
                // The longest line and the query's lines are shown on their own; the others
                // only after the lines before them in the run, so that what is shown of a
                // long run is its beginning, not scattered lines that happened to fit.
                if longest.is_some_and(|l| (a..b).contains(&l)) {
                    self.units.push(Unit {
                        start: a,
                        end: b,
                        tier: tier::LONGEST,
                        order: first,
                    });
                }
                if let Some(order) = asked_order(holds, false, share) {
                    let start = if holds { a } else { start };
                    let unit = Unit {
                        start,
                        end: b,
                        tier: tier::QUERY,
                        order,
                    };
                    self.asked.push((unit, holds));
                }
                if !whole_run {
                    self.units.push(Unit {
                        start,
                        end: b,
                        tier: tier::CHANGES,
                        order: share,
                    });
                }
            }
            if whole_run {
                self.units.push(Unit {
                    start,
                    end: i,
                    tier: tier::CHANGES,
                    order: share_order(done, at.total, at.f),
                });
            }
            done += run.len();
        }
        done
    }

    /// All the units: the query's units within their shares (a third of the budget for those
    /// with its exact terms, a quarter for the rest), hunk notes within an eighth.
    fn finish(mut self, budget: usize) -> Vec<Unit> {
        let mut counted = vec![false; self.lines.len()];
        let mut take = |u: &Unit, left: &mut usize| {
            let c: usize = (u.start..u.end)
                .filter(|&i| !counted[i])
                .map(|i| self.costs[i])
                .sum();
            if c > *left {
                return false;
            }
            *left -= c;
            counted[u.start..u.end].fill(true);
            true
        };
        self.asked.sort_by_key(|(u, _)| (u.order, u.start));
        let (mut exact_left, mut words_left) = (budget / 3, budget / 4);
        for (u, holds) in &self.asked {
            let left = if *holds {
                &mut exact_left
            } else {
                &mut words_left
            };
            if take(u, left) {
                self.units.push(*u);
            }
        }
        self.notes.sort_by_key(|(u, _)| (u.order, u.start));
        let mut notes_left = budget / 8;
        for (u, c) in &self.notes {
            if *c <= notes_left {
                notes_left -= c;
                self.units.push(*u);
            }
        }
        self.units
    }
}

/// When the line before `at` is a removed line and the lines from `at` to the block's end are
/// more removed lines and then added ones (a replacement cut in its removed part): the first
/// added line worth showing.
fn first_added_after(lines: &[&str], worth: &[bool], at: usize, end: usize) -> Option<usize> {
    if at == 0 || at >= end || body_kind(lines[at - 1]) != Some(Body::Removed) {
        return None;
    }
    let mut i = at;
    while i < end {
        match body_kind(lines[i]) {
            Some(Body::Removed | Body::NoNewline) => i += 1,
            Some(Body::Added) if worth[i] => return Some(i),
            _ => return None,
        }
    }
    None
}

/// Where a hunk is: file `f`, its `hunk_no`th of `hunks`, in a file with `total` lines worth
/// showing.
#[derive(Clone, Copy)]
struct Place {
    f: usize,
    hunk_no: usize,
    hunks: usize,
    total: usize,
}

/// A long run of lines cut changed line by changed line, each with the context (and changed
/// lines of a brace or two) before it and its `\ No newline` line; what follows the last goes
/// with it. (`every` line counts as
/// changed in a hunk that is not a patch.)
fn pieces(lines: &[&str], run: std::ops::Range<usize>, every: bool) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut from = run.start;
    for line in run.clone() {
        // A changed line of a brace or two goes with the next, like context.
        let changed = matches!(body_kind(lines[line]), Some(Body::Added | Body::Removed));
        if every || changed && !trivial(lines[line]) {
            let mut end = line + 1;
            while end < run.end && lines[end].starts_with('\\') {
                end += 1;
            }
            if end > from {
                out.push((from, end));
            }
            from = end;
        }
    }
    match out.last_mut() {
        Some(last) => last.1 = run.end,
        None => out.push((run.start, run.end)),
    }
    out
}

/// What an output shows of the diff.
#[derive(Debug, Default)]
struct Tally {
    files_shown: usize,
    hunks: usize,
    hunks_shown: usize,
    /// Hunks shown with some of their changed lines left out.
    partial: usize,
    /// Hunks shown that are not patches (combined diffs).
    opaque: usize,
    /// Binary files named: no patch for them is shown.
    binary: usize,
    /// Lines worth showing that the budget left out.
    over_budget: usize,
}

/// How an output is laid out: the lines outside the files as they are, each file's header
/// and its hunks, recounted.
struct Layout<'a> {
    lines: &'a [&'a str],
    files: &'a [FileDiff],
    in_file: &'a [bool],
    trimmed: &'a Trimmed,
    /// Tokens of notes about parts of hunks (what a gap left out, why a hunk is shown in part)
    /// at most; notes for hunks not shown at all are ranked with the lines.
    note_share: usize,
}

/// About what `lines` cost (a token per four bytes), for weighing a note against what it
/// stands for.
fn rough_cost(lines: &[&str]) -> usize {
    lines.iter().map(|l| l.len()).sum::<usize>() / 4
}

/// The added and removed lines among `range`.
fn counts(lines: &[&str], range: impl Iterator<Item = usize>) -> (usize, usize) {
    let (mut added, mut removed) = (0, 0);
    for i in range {
        match body_kind(lines[i]) {
            Some(Body::Added) => added += 1,
            Some(Body::Removed) => removed += 1,
            _ => {}
        }
    }
    (added, removed)
}

/// What a header line that says what happened to a file says, in a note.
fn told(line: &str) -> &str {
    let line = content(line);
    if line.starts_with("new file mode ") {
        "new file"
    } else if line.starts_with("deleted file mode ") {
        "deleted"
    } else {
        line
    }
}

/// The note for a file with hunks none of which is shown: its path, what its header says
/// happened to it (a new file), its counts.
fn file_note(lines: &[&str], f: &FileDiff) -> String {
    let telling = telling_header(&lines[f.start + 1..f.header_end]);
    let told: Vec<&str> = lines[f.start + 1..f.start + 1 + telling]
        .iter()
        .map(|l| told(l))
        .collect();
    let told = if told.is_empty() {
        String::new()
    } else {
        format!(" ({})", told.join(", "))
    };
    let (added, removed) = counts(lines, f.hunks.iter().flat_map(|h| h.header + 1..h.end));
    let name = if f.path.is_empty() {
        content(lines[f.start])
    } else {
        &f.path
    };
    format!("[{name}{told}: +{added} -{removed} not shown]\n")
}

impl Layout<'_> {
    /// `keep` less the lines of hunks that trimming left out: those are never shown (a unit
    /// may span them).
    fn shown(&self, keep: &[bool]) -> Vec<bool> {
        let (in_body, worth) = (&self.trimmed.in_body, &self.trimmed.worth);
        (0..keep.len())
            .map(|i| keep[i] && (!in_body[i] || worth[i]))
            .collect()
    }

    /// The lines an output with `keep` shows as they are.
    fn literal(&self, keep: &[bool]) -> Vec<bool> {
        let lines = self.lines;
        let keep = self.shown(keep);
        let mut out: Vec<bool> = (0..lines.len())
            .map(|i| keep[i] && !self.in_file[i])
            .collect();
        for f in self.files {
            let header = f.start..f.header_end;
            let as_is = |i: usize| !lines[i].starts_with("index ");
            if self.shows_hunks(&keep, f) {
                for i in header.filter(|&i| f.shows_as_is(lines, i)) {
                    out[i] = true;
                }
                for h in &f.hunks {
                    let body = h.header + 1..h.end;
                    out[body.clone()].copy_from_slice(&keep[body]);
                }
            } else if keep[f.start] {
                let telling = telling_header(&lines[f.start + 1..f.header_end]);
                let told = &lines[f.start + 1..f.start + 1 + telling];
                if f.hunks.is_empty() {
                    for i in header.filter(|&i| as_is(i)) {
                        out[i] = true;
                    }
                } else if !told.is_empty() && told.iter().all(|l| patch_of_its_own(l)) {
                    out[f.start..f.start + 1 + telling].fill(true);
                }
            }
        }
        out
    }

    /// Whether any of file `f`'s hunks shows a line.
    fn shows_hunks(&self, keep: &[bool], f: &FileDiff) -> bool {
        f.hunks
            .iter()
            .any(|h| (h.header + 1..h.end).any(|i| keep[i]))
    }

    fn tally(&self, keep: &[bool]) -> Tally {
        let keep = &self.shown(keep);
        let mut t = Tally::default();
        for f in self.files {
            let mut shown_any = false;
            for h in &f.hunks {
                t.hunks += 1;
                let body = h.header + 1..h.end;
                let shown = body.clone().any(|i| keep[i]);
                t.over_budget += body
                    .clone()
                    .filter(|&i| self.trimmed.worth[i] && !keep[i])
                    .count();
                if !shown {
                    continue;
                }
                shown_any = true;
                t.hunks_shown += 1;
                if h.range.is_none() {
                    t.opaque += 1;
                } else if body.clone().any(|i| {
                    !keep[i]
                        && matches!(body_kind(self.lines[i]), Some(Body::Added | Body::Removed))
                }) {
                    t.partial += 1;
                }
            }
            let named_whole = keep[f.start] && f.hunks.is_empty();
            t.files_shown += usize::from(shown_any || named_whole);
            t.binary += usize::from(named_whole && f.binary);
        }
        t
    }

    fn render(&self, keep: &[bool], detail: Detail, key: &Key) -> String {
        let keep = &self.shown(keep);
        let mut out = String::new();
        let mut notes_left = self.note_share;
        let mut at = 0;
        for f in self.files {
            self.other_lines(&mut out, keep, at, f.start);
            self.file(&mut out, keep, detail, f, &mut notes_left);
            at = f.end;
        }
        self.other_lines(&mut out, keep, at, self.lines.len());
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&marker(key, &self.summary(keep)));
        out.push('\n');
        out
    }

    fn push(&self, out: &mut String, line: &str) {
        out.push_str(line);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }

    fn other_lines(&self, out: &mut String, keep: &[bool], from: usize, to: usize) {
        for i in (from..to).filter(|&i| keep[i] && !self.in_file[i]) {
            self.push(out, self.lines[i]);
        }
    }

    fn file(
        &self,
        out: &mut String,
        keep: &[bool],
        detail: Detail,
        f: &FileDiff,
        notes_left: &mut usize,
    ) {
        let lines = self.lines;
        if !self.shows_hunks(keep, f) {
            if !keep[f.start] {
                return;
            }
            if f.hunks.is_empty() {
                // A rename, a mode change, a binary file: its header is the whole change.
                for i in (f.start..f.header_end).filter(|&i| !lines[i].starts_with("index ")) {
                    self.push(out, lines[i]);
                }
                return;
            }
            let telling = telling_header(&lines[f.start + 1..f.header_end]);
            let told = &lines[f.start + 1..f.start + 1 + telling];
            if !told.is_empty() && told.iter().all(|l| patch_of_its_own(l)) {
                // A mode change or rename is a patch of its own.
                self.push(out, lines[f.start]);
                told.iter().for_each(|l| self.push(out, l));
                let (added, removed) =
                    counts(lines, f.hunks.iter().flat_map(|h| h.header + 1..h.end));
                out.push_str(&format!("[+{added} -{removed} not shown]\n"));
            } else {
                out.push_str(&file_note(lines, f));
            }
            return;
        }
        // A hunk needs its file's header to apply; the `---` and `+++` lines are enough when
        // the `diff` line says no more.
        for i in (f.start..f.header_end).filter(|&i| f.shows_as_is(lines, i)) {
            self.push(out, lines[i]);
        }
        for h in &f.hunks {
            self.hunk(out, keep, detail, h, notes_left);
        }
    }

    /// Writes `note` if it fits what is left of the notes' share; says whether it did.
    fn note(&self, out: &mut String, note: &str, notes_left: &mut usize) -> bool {
        let c = estimate(note);
        if c > *notes_left {
            return false;
        }
        *notes_left -= c;
        out.push_str(note);
        true
    }

    fn hunk(
        &self,
        out: &mut String,
        keep: &[bool],
        detail: Detail,
        h: &Hunk,
        notes_left: &mut usize,
    ) {
        let lines = self.lines;
        let body = h.header + 1..h.end;
        if !body.clone().any(|i| keep[i]) {
            if keep[h.header] {
                // Only hunks worth a note have their header kept alone.
                let (added, removed) = counts(lines, body.clone());
                let why = match self.trimmed.notes.get(&h.header) {
                    Some(note) if note.starts_with("[whitespace-only") => "whitespace only, ",
                    _ => "",
                };
                let note = format!(
                    "[{}: {why}+{added} -{removed} not shown]\n",
                    content(lines[h.header])
                );
                *notes_left = notes_left.saturating_sub(estimate(&note));
                out.push_str(&note);
            }
            return;
        }
        // Notes after lines (a moved block's) stand for lines and are always written; a
        // hunk's note (why it is shown in part) only within the notes' share.
        let line_note = |out: &mut String, i: usize| {
            if let Some(note) = self.trimmed.notes.get(&i) {
                out.push_str(note);
            }
        };
        let header_note = |out: &mut String, notes_left: &mut usize| {
            if let Some(note) = self.trimmed.notes.get(&h.header) {
                self.note(out, note, notes_left);
            }
        };
        let Some(range) = &h.range else {
            self.push(out, lines[h.header]);
            header_note(out, notes_left);
            for i in body.filter(|&i| keep[i]) {
                self.push(out, lines[i]);
                line_note(out, i);
            }
            return;
        };
        // Old and new line numbers of each body line (where it is, or would be, in each); a
        // side with no lines in the hunk is numbered from the line before it.
        let old_lines = self.lines_in(&body, Body::Context) + self.lines_in(&body, Body::Removed);
        let new_lines = self.lines_in(&body, Body::Context) + self.lines_in(&body, Body::Added);
        let mut old = range.old.saturating_add(usize::from(old_lines == 0));
        let mut new = range.new.saturating_add(usize::from(new_lines == 0));
        let mut at: Vec<(usize, usize)> = Vec::with_capacity(body.len());
        for i in body.clone() {
            at.push((old, new));
            match body_kind(lines[i]) {
                Some(Body::Context) => {
                    old = old.saturating_add(1);
                    new = new.saturating_add(1);
                }
                Some(Body::Removed) => old = old.saturating_add(1),
                Some(Body::Added) => new = new.saturating_add(1),
                _ => {}
            }
        }
        let header = |out: &mut String, shown: &[usize], tail: &str| {
            let (o, nw) = at[shown[0] - body.start];
            let count = |side: Body| {
                shown
                    .iter()
                    .filter(|&&k| matches!(body_kind(lines[k]), Some(b) if b == side || b == Body::Context))
                    .count()
            };
            let ending = &lines[h.header][content(lines[h.header]).len()..];
            let tail = short_tail(tail);
            out.push_str(&format!(
                "@@ -{} +{} @@{tail}{}",
                span(o, count(Body::Removed)),
                span(nw, count(Body::Added)),
                if ending.is_empty() { "\n" } else { ending }
            ));
        };
        if body.clone().all(|i| keep[i]) {
            self.push(out, lines[h.header]);
            header_note(out, notes_left);
            for k in body {
                self.push(out, lines[k]);
                line_note(out, k);
            }
            return;
        }
        let partial = body
            .clone()
            .any(|i| !keep[i] && matches!(body_kind(lines[i]), Some(Body::Added | Body::Removed)));
        if partial {
            // Changed lines are left out, so no header could make it apply: one header counting
            // what is shown, and notes for what is not (unless the hunk's note says it) where
            // they stand for several times what they cost.
            let shown: Vec<usize> = body.clone().filter(|&i| keep[i]).collect();
            header(out, &shown, &range.tail);
            header_note(out, notes_left);
            let gaps = detail == Detail::Full && !self.trimmed.notes.contains_key(&h.header);
            let mut prev = shown[0];
            for &k in &shown {
                let (added, removed) = counts(lines, prev + 1..k);
                if gaps && added + removed > 0 {
                    let gap = prev + 1..k;
                    let note = format!("[… {}: +{added} -{removed}]\n", plural(gap.len(), "line"));
                    let stands_for = rough_cost(&lines[gap]);
                    if stands_for >= NOTE_RATIO * estimate(&note) {
                        self.note(out, &note, notes_left);
                    }
                }
                self.push(out, lines[k]);
                line_note(out, k);
                prev = k;
            }
            return;
        }
        // Only context was left out: each run of lines is a hunk of its own.
        let mut i = body.start;
        let mut first = true;
        while i < body.end {
            if !keep[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < body.end && keep[i] {
                i += 1;
            }
            let shown: Vec<usize> = (start..i).collect();
            header(out, &shown, if first { &range.tail } else { "" });
            if first {
                header_note(out, notes_left);
            }
            first = false;
            for &k in &shown {
                self.push(out, lines[k]);
                line_note(out, k);
            }
        }
    }

    /// Lines of `kind` in `range`.
    fn lines_in(&self, range: &std::ops::Range<usize>, kind: Body) -> usize {
        range
            .clone()
            .filter(|&i| body_kind(self.lines[i]) == Some(kind))
            .count()
    }

    fn summary(&self, keep: &[bool]) -> String {
        let t = self.tally(keep);
        let n = self.lines.len();
        let shown = (0..n).filter(|&i| keep[i]).count();
        let mut s = format!(
            "{} of {n} lines omitted; {} of {} hunks, {} of {} files shown",
            n - shown,
            t.hunks_shown,
            t.hunks,
            t.files_shown,
            self.files.len()
        );
        let mut cut = Vec::new();
        if t.partial > 0 {
            cut.push(format!("{} cut", plural(t.partial, "hunk")));
        }
        if t.opaque > 0 {
            cut.push(format!("{} combined or cut off", plural(t.opaque, "hunk")));
        }
        if t.binary > 0 {
            cut.push(plural(t.binary, "binary file"));
        }
        if !cut.is_empty() {
            s.push_str(&format!("; not an applicable patch ({})", cut.join(", ")));
        } else if t.hunks_shown > 0 {
            s.push_str("; applies as a patch");
        }
        s
    }
}

/// The text after a recounted hunk header's ranges (git's function context): a function's
/// name helps, a whole sentence of a document does not, so it is cut at a word boundary.
fn short_tail(tail: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 48;
    if tail.len() <= MAX {
        return tail.into();
    }
    let mut end = MAX;
    while !tail.is_char_boundary(end) {
        end -= 1;
    }
    // At a space, so that a name is not cut (a long first name is kept whole).
    let cut = match tail[..end].rfind(' ').filter(|&i| i > 16) {
        Some(i) => i,
        None => tail[end..].find(' ').map_or(tail.len(), |i| end + i),
    };
    if cut >= tail.len() {
        return tail.into();
    }
    format!("{} …", &tail[..cut]).into()
}

/// A body line with no more than three characters of text (`}`, `});`, `end`, a blank line).
fn trivial(line: &str) -> bool {
    content(line).get(1..).unwrap_or("").trim().len() <= 3
}

/// `1 hunk`, `2 hunks`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A hunk header's range for `count` lines from line `first`: `first,count`, `first` alone
/// for one line, and the line before for none (git's spelling).
fn span(first: usize, count: usize) -> String {
    match count {
        0 => format!("{},0", first.saturating_sub(1)),
        1 => first.to_string(),
        _ => format!("{first},{count}"),
    }
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
        let bytes = crate::ccr::Store::get(&store, "t", key).unwrap();
        let e = crate::ccr::entry::decode(&bytes).unwrap();
        assert!(e.original == diff.as_bytes(), "the whole diff is stored");
    }

    #[test]
    fn long_function_contexts_are_cut_between_words() {
        assert_eq!(short_tail(" fn a() {"), " fn a() {");
        let sentence = " iteration; the per-process figure in the table above is the honest one";
        assert_eq!(
            short_tail(sentence),
            " iteration; the per-process figure in the table …"
        );
        let name = " fn redis_down_or_going_away_is_a_clear_error_and_recovers_within_a_second() {";
        assert_eq!(
            short_tail(name),
            " fn redis_down_or_going_away_is_a_clear_error_and_recovers_within_a_second() …"
        );
    }

    #[test]
    fn hostile_hunk_headers_do_not_panic_nor_pass_for_patches() {
        let big = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -18446744073709551615,2 +18446744073709551615,2 @@\n a\n-b\n+c\n";
        let huge =
            "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -99999999999999999999999 +1 @@\n-b\n+c\n";
        let short = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,9 +1,9 @@\n a\n-b\n+c\n";
        for text in [big, huge, short] {
            let text = text.repeat(40);
            let (out, _) = crate::context::with_context(&text, "", 200, |ctx| {
                compress_diff(&text, ctx).map(|o| o.output)
            });
            let out = out.unwrap();
            assert!(out.lines().count() > 1, "{out}");
            // A hunk whose body is not what its header counts is never called a patch.
            if text.starts_with(short) && out.contains("\n a\n") {
                assert!(out.contains("not an applicable patch"), "{out}");
            }
        }
    }

    #[test]
    fn paths() {
        assert_eq!(diff_path("diff --git a/src/x.rs b/src/y.rs"), "src/y.rs");
    }
}
