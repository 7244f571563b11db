//! What shells print: git logs, test-runner output, stack traces, configuration files, column
//! tables and path lists, told apart by the shape of their lines. Each test looks at the sample
//! of non-empty lines detection takes (the first 200).

use regex::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;

struct Patterns {
    commit: Regex,
    oneline: Regex,
    graph: Regex,
    stat_line: Regex,
    name_status: Regex,
    next_commit: Regex,
    next_oneline: Regex,
    test_strong: Regex,
    test_line: Regex,
    trace: Regex,
    xml: Regex,
    yaml: Regex,
    toml_header: Regex,
    assignment: Regex,
    comment: Regex,
    ls_row: Regex,
    path: Regex,
    tree: Regex,
    dir_heading: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("valid pattern");
        Patterns {
            commit: re(r"^commit [0-9a-f]{7,64}(?:\s|$)"),
            // `git log --oneline` and `--pretty=oneline`: a hash, one space, the subject (a
            // checksum listing has two spaces or a `*`).
            oneline: re(r"^[0-9a-f]{7,40} (?:\([^)]*\) )?[^\s*]"),
            graph: re(r"^[*|\\/ _.-]*\*[ |\\/]*[0-9a-f]{7,40} "),
            stat_line: re(r"^ \S.*\|\s+(?:\d+|Bin\b)"),
            name_status: re(r"^[ACDMRTUXB]\d*\t"),
            // A commit header at the start of a line (after `--graph` drawing).
            next_commit: re(r"(?m)^(?:[|\\/ ]*\* +)?commit [0-9a-f]{7,64}(?:[ \t\r]|$)"),
            next_oneline: re(r"(?m)^[0-9a-f]{7,64} [^\n]*\n(?:diff --git | \S[^\n]*\|\s+\d)"),
            test_strong: re(r"(?x)^(?:
                =+\ (?:test\ session\ starts|FAILURES|ERRORS|short\ test\ summary\ info)\ =+
              | =+\ .*\d+\ (?:passed|failed|errors?)\b.*=+$
              | collected\ \d+\ items?
              | running\ \d+\ tests?$
              | test\ result:\ (?:ok|FAILED)\.
              | ===\ RUN\s
              | \s*---\ (?:PASS|FAIL|SKIP):\ 
              | (?:ok|FAIL)\s+\S+\s+(?:\d+\.\d+s|\(cached\)|\[)
              | Tests?:\s+\d+\ (?:passed|failed|skipped|total)
              | Test\ Suites:\s+\d+
              | Tests\ run:\ \d+,\s+Failures:\ \d+
              | [^\s(]+\([\w.$]+\)\s+Time\ elapsed:.*<<<\ (?:FAILURE|ERROR)!
              | \s*\d+\ (?:passing|failing|pending)(?:\ \(|$)
            )"),
            test_line: re(r"(?x)^(?:
                test\ \S+\ \.\.\.\ (?:ok|FAILED|ignored)
              | \S+\.py::\S+\ (?:PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)
              | (?:FAILED|ERROR|PASSED)\ \S+::\S+
              | \S+\.py\ [.FEsxX]+(?:\s+\[\s*\d+%\])?$
              | \s*(?:PASS|FAIL)\ \S+\.(?:js|jsx|ts|tsx|mjs|cjs)\b
              | \s*[✓✔√✕✗×]\ 
              | \s*---\ (?:PASS|FAIL|SKIP):\ 
              | ===\ (?:RUN|PAUSE|CONT|NAME)\s
              | (?:PASS|FAIL)$
            )"),
            trace: re(r#"(?x)^(?:
                Traceback\ \(most\ recent\ call\ last\):
              | \s+at\ [\w$.<>/\[\]]+\(.*\)$
              | \s+at\ .+:\d+:\d+\)?$
              | thread\ '.*'(?:\ \(\d+\))?\ panicked\ at
              | goroutine\ \d+\ \[
              | \t\S+\.go:\d+(?:\ \+0x[0-9a-f]+)?$
              | \s+File\ ".*",\ line\ \d+
              | Exception\ in\ thread\ 
              | \w+(?:\.\w+)*(?:Error|Exception):\ 
              | panic:\ 
            )"#),
            xml: re(r"^\s*<(?:[!?/]|[A-Za-z_][\w:.\-]*[\s>/])"),
            yaml: re(r#"^\s*(?:-\s+)*(?:[\w"'./\-$@{}\[\]]+|"[^"]*"|'[^']*')\s?:(?:\s|$)|^\s*-(?:\s|$)|^---\s*$|^\.\.\.\s*$"#),
            toml_header: re(r#"^\s*\[\[?\s*[\w."' -]+\s*\]\]?\s*(?:#.*)?$"#),
            assignment: re(r#"^\s*(?:export\s+)?[\w."'\-]+\s*=\s*"#),
            comment: re(r"^\s*(?:#|;|//)"),
            ls_row: re(r"^[-dlcbpsD][-rwxsStTl]{9}[.+@]?\s+\d+\s"),
            path: re(r"^(?:\.{0,2}/|~/|[A-Za-z]:\\)?[^\s/\\:|<>*?]+(?:[/\\][^/\\]*)*$"),
            tree: re(r"[├└│]──|^[│ ]+[├└]|^\|-- |^`-- "),
            dir_heading: re(r"^\S.*:$"),
        }
    })
}

/// Strips `git log --graph`'s drawing from the start of a line.
fn ungraphed(line: &str) -> &str {
    line.trim_start_matches(['*', '|', '\\', '/', ' ', '_', '.', '-'])
}

/// `git log` output: several `commit HASH` headers (or one without a patch), one-line
/// history (alone, or each commit followed by its stat, names or patch), or a graph of it.
pub(crate) fn is_git_log(lines: &[&str]) -> bool {
    let p = patterns();
    let commits = lines
        .iter()
        .filter(|l| {
            p.commit.is_match(l) || (l.starts_with(['*', '|']) && p.commit.is_match(ungraphed(l)))
        })
        .count();
    let patch = lines.iter().any(|l| l.starts_with("diff --git "));
    let author = lines
        .iter()
        .any(|l| l.starts_with("Author:") || ungraphed(l).starts_with("Author:"));
    if commits >= 2 || (commits == 1 && !patch && author) {
        return true;
    }
    let n = lines.len();
    if n < 2 {
        return false;
    }
    let oneline = lines.iter().filter(|l| p.oneline.is_match(l)).count();
    // `--oneline --stat`, `--name-status`, `-p`: each commit's line, then what it changed.
    let headed = lines
        .windows(2)
        .filter(|w| {
            p.oneline.is_match(w[0])
                && (w[1].starts_with("diff --git ")
                    || p.stat_line.is_match(w[1])
                    || p.name_status.is_match(w[1]))
        })
        .count();
    // A graph: commit lines among lines of drawing only.
    let graph = lines.iter().filter(|l| p.graph.is_match(l)).count();
    let drawing = lines
        .iter()
        .filter(|l| {
            l.bytes()
                .all(|b| matches!(b, b'*' | b'|' | b'\\' | b'/' | b'_' | b' ' | b'.' | b'-'))
        })
        .count();
    oneline * 10 >= n * 8
        || headed >= 2
        || (graph >= 2 && (graph * 2 >= n || (graph + drawing) * 10 >= n * 9))
}

/// For a sample [`is_git_log`] turned down: whether it shows one commit and its patch and the
/// input goes on with more commits after the sample (`git log -p` whose first patch is longer
/// than the sample, not `git show`). Only when the sample starts like that is the rest of the
/// input searched, once.
pub(crate) fn more_commits(input: &str, lines: &[&str]) -> bool {
    let p = patterns();
    let Some(first) = lines.first() else {
        return false;
    };
    let full =
        p.commit.is_match(first) || (first.starts_with('*') && p.commit.is_match(ungraphed(first)));
    let oneline = p.oneline.is_match(first)
        && lines
            .get(1)
            .is_some_and(|l| l.starts_with("diff --git ") || p.stat_line.is_match(l));
    if !(full || oneline) {
        return false;
    }
    let next = if full {
        &p.next_commit
    } else {
        &p.next_oneline
    };
    next.find_iter(input).take(2).count() >= 2
}

/// A line without Maven's `[INFO] ` / `[ERROR] ` prefix.
fn unprefixed(line: &str) -> &str {
    ["[INFO] ", "[ERROR] ", "[WARNING] "]
        .iter()
        .find_map(|p| line.strip_prefix(p))
        .unwrap_or(line)
}

/// Output of a test runner: a session banner or result summary, or many per-test lines
/// (Maven's prefixes aside).
pub(crate) fn is_test_output(lines: &[&str]) -> bool {
    let p = patterns();
    let strong = lines
        .iter()
        .filter(|l| p.test_strong.is_match(unprefixed(l)))
        .count();
    let tests = lines
        .iter()
        .filter(|l| p.test_line.is_match(unprefixed(l)))
        .count();
    strong >= 2 || (strong >= 1 && tests >= 2) || (tests >= 3 && tests * 10 >= lines.len() * 3)
}

/// A stack trace or traceback anywhere in the sample: text of that kind is a log.
pub(crate) fn has_trace(lines: &[&str]) -> bool {
    let p = patterns();
    let hits = lines.iter().filter(|l| p.trace.is_match(l)).count();
    lines
        .iter()
        .any(|l| l.starts_with("Traceback (most recent call last):"))
        || hits >= 3
        || (hits >= 2 && hits * 4 >= lines.len())
}

/// Which kind of configuration or data file, if the sample is one.
pub(crate) fn is_config(lines: &[&str]) -> bool {
    let p = patterns();
    let first = lines.first().map(|l| l.trim_start()).unwrap_or("");
    if first.starts_with("<?xml") || first.starts_with("<!DOCTYPE") {
        return true;
    }
    let body: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !p.comment.is_match(l))
        .collect();
    let n = body.len();
    if n < 3 {
        return false;
    }
    let share = |re: &Regex| body.iter().filter(|l| re.is_match(l)).count() as f64 / n as f64;
    if share(&p.xml) >= 0.6 {
        return true;
    }
    let headers = body.iter().filter(|l| p.toml_header.is_match(l)).count();
    let assignments = body.iter().filter(|l| p.assignment.is_match(l)).count();
    let array_items = body
        .iter()
        .filter(|l| {
            let t = l.trim();
            t.ends_with(',') || t == "]" || t.starts_with('"')
        })
        .count();
    // TOML and INI: section headers with assignments under them (multi-line arrays too).
    if headers >= 1 && (headers + assignments + array_items) as f64 >= 0.8 * n as f64 {
        return true;
    }
    // `KEY=value` files and `env` output.
    if assignments as f64 >= 0.9 * n as f64 {
        return true;
    }
    // YAML: keys and list items, with some nesting. A list item that is a sentence is
    // Markdown's (a post with front matter), and so is text with many sentences.
    let item_sentence = |l: &str| l.trim_start().starts_with('-') && sentence(l);
    let yaml = body
        .iter()
        .filter(|l| p.yaml.is_match(l) && !item_sentence(l))
        .count();
    let prose = body
        .iter()
        .filter(|l| !p.yaml.is_match(l) && sentence(l) || item_sentence(l))
        .count();
    let nested = body.iter().any(|l| l.starts_with([' ', '-']));
    yaml * 4 >= n * 3 && nested && prose * 5 < n
}

/// Field boundaries (start and end byte offsets of whitespace-separated fields) of `line`.
fn boundaries(line: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_field = false;
    for (i, b) in line.bytes().enumerate() {
        let space = b == b' ' || b == b'\t';
        if !space && !in_field {
            out.push(i * 2);
        } else if space && in_field {
            out.push(i * 2 + 1);
        }
        in_field = !space;
    }
    if in_field {
        out.push(line.len() * 2 + 1);
    }
    out
}

/// The delimiter of a delimited table (CSV, TSV, `;` or `|` separated), if the sample is one:
/// most records have the same number of fields, at least two. A quoted field may hold line
/// breaks (CSV), so a line whose quotes do not close continues on the next.
pub(crate) fn delimiter(lines: &[&str]) -> Option<u8> {
    let n = lines.len();
    if n < 3 {
        return None;
    }
    for delim in [b'\t', b',', b';', b'|'] {
        let counts = record_fields(lines, delim);
        let mut freq: HashMap<usize, usize> = HashMap::new();
        for &c in &counts {
            *freq.entry(c).or_default() += 1;
        }
        let (mode, hits) = freq
            .iter()
            .max_by_key(|(c, k)| (**k, **c))
            .map(|(c, k)| (*c, *k))
            .unwrap_or((0, 0));
        let min_fields = if delim == b',' { 3 } else { 2 };
        let records = counts.len();
        if mode >= min_fields
            && hits * 10 >= records * 9
            && records >= 3
            && counts.first() == Some(&mode)
        {
            return Some(delim);
        }
    }
    None
}

/// Fields of each record of `lines`, a record running on while a quoted field is open (for
/// `,`, `;` and tabs; pipe tables do not quote). A record longer than 64 lines means a stray
/// quote: then lines are counted alone. A record still open at the end is cut off by the
/// sample and left out.
fn record_fields(lines: &[&str], delim: u8) -> Vec<usize> {
    let quotes = delim != b'|';
    let alone = || -> Vec<usize> {
        lines
            .iter()
            .map(|l| match quotes {
                true => fields(l, delim),
                false => fields_from(l, delim, false, false).0,
            })
            .collect()
    };
    let mut out = Vec::with_capacity(lines.len());
    let (mut count, mut open, mut span) = (0usize, false, 0usize);
    for l in lines {
        let (n, still_open) = fields_from(l, delim, quotes, open);
        // A continued record's first field goes on from the previous line.
        count = if open { count + n - 1 } else { n };
        open = still_open;
        span += 1;
        if span >= 64 && open {
            return alone();
        }
        if !open {
            out.push(count);
            span = 0;
        }
    }
    if open && out.len() < 3 {
        return alone();
    }
    out
}

/// Fields of a delimited line, quotes respected (a delimiter inside `"..."` does not count).
pub(crate) fn fields(line: &str, delim: u8) -> usize {
    fields_from(line, delim, true, false).0
}

/// Fields of a line that starts inside a quoted field or not, and whether one is open at its
/// end (`quotes`: whether double quotes enclose fields at all).
fn fields_from(line: &str, delim: u8, quotes: bool, mut quoted: bool) -> (usize, bool) {
    let mut n = 1;
    for b in line.bytes() {
        if b == b'"' && quotes {
            quoted = !quoted;
        } else if b == delim && !quoted {
            n += 1;
        }
    }
    (n, quoted)
}

/// Rows in columns: aligned (several field boundaries at the same offset in most lines), `ls -l`
/// rows, a constant number of fields per line, or a delimited table.
pub(crate) fn is_table(lines: &[&str]) -> bool {
    let p = patterns();
    let n = lines.len();
    if n < 3 {
        return false;
    }
    if lines.iter().filter(|l| p.ls_row.is_match(l)).count() * 2 >= n {
        return true;
    }
    if delimiter(lines).is_some() {
        return true;
    }
    let counts: Vec<usize> = lines.iter().map(|l| l.split_whitespace().count()).collect();
    // Aligned columns: boundaries shared by at least 80 % of lines with several fields.
    let wide: Vec<&str> = lines
        .iter()
        .zip(&counts)
        .filter(|(_, c)| **c >= 3)
        .map(|(l, _)| *l)
        .collect();
    if wide.len() * 10 >= n * 7 && wide.len() >= 3 {
        let mut at: HashMap<usize, usize> = HashMap::new();
        for l in &wide {
            for b in boundaries(l) {
                *at.entry(b).or_default() += 1;
            }
        }
        // Offset 0 is every line's start, which says nothing.
        let shared = at
            .iter()
            .filter(|(b, k)| **b > 0 && **k * 10 >= wide.len() * 8)
            .count();
        if shared >= 3 {
            return true;
        }
    }
    // The same number of fields on nearly every line, and no line reads like a sentence.
    let mut freq: HashMap<usize, usize> = HashMap::new();
    for &c in &counts {
        *freq.entry(c).or_default() += 1;
    }
    let (mode, hits) = freq
        .iter()
        .max_by_key(|(c, k)| (**k, **c))
        .map(|(c, k)| (*c, *k))
        .unwrap_or((0, 0));
    (2..=12).contains(&mode) && hits * 10 >= n * 9 && n >= 5 && !lines.iter().any(|l| sentence(l))
}

/// A table whose first line is a header, detected before logs (whose timestamps a `ps -ef`
/// TIME column or a CSV's date column look like): a header in capitals (`UID PID PPID C STIME
/// TTY TIME CMD`: three words or more, no digits, at most one with lowercase letters) over
/// columns, or a header without digits over delimited rows (`date;account;amount;status`).
pub(crate) fn is_headed_table(lines: &[&str]) -> bool {
    let Some(first) = lines.first() else {
        return false;
    };
    if first.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let words: Vec<&str> = first.split_whitespace().collect();
    let capitals = words
        .iter()
        .filter(|w| w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_lowercase))
        .count();
    (words.len() >= 3 && capitals + 1 >= words.len() && aligned_under(first, &lines[1..]))
        || delimiter(lines).is_some()
}

/// Whether the rows under `header` line up with it: for most of its words after the first,
/// most rows have a value starting where the word starts or ending where it ends.
fn aligned_under(header: &str, rows: &[&str]) -> bool {
    let rows: Vec<Vec<usize>> = rows.iter().take(50).map(|l| boundaries(l)).collect();
    if rows.len() < 2 {
        return false;
    }
    let words: Vec<usize> = boundaries(header);
    // Pairs of codes: a word's start (offset × 2) and its end (offset × 2 + 1).
    let spans: Vec<(usize, usize)> = words
        .chunks(2)
        .skip(1)
        .filter(|w| w.len() == 2)
        .map(|w| (w[0], w[1]))
        .collect();
    let lined_up = spans
        .iter()
        .filter(|(start, end)| {
            let hits = rows
                .iter()
                .filter(|b| b.contains(start) || b.contains(end))
                .count();
            hits * 10 >= rows.len() * 6
        })
        .count();
    !spans.is_empty() && lined_up * 2 >= spans.len()
}

/// A line that reads like a sentence: several words, most of them letters, some lowercase.
pub(crate) fn sentence(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() < 5 {
        return false;
    }
    let wordy = words
        .iter()
        .filter(|w| {
            let t = w.trim_matches(|c: char| !c.is_alphanumeric());
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
        })
        .count();
    let lower = words
        .iter()
        .filter(|w| {
            w.len() >= 3
                && w.chars()
                    .all(|c| c.is_lowercase() || c.is_ascii_punctuation())
        })
        .count();
    wordy * 10 >= words.len() * 7 && lower * 3 >= words.len()
}

/// A `tree` drawing: most lines drawn (`├── name`, `│   └── name`). Its lines have as many
/// fields as a table's, so detection asks this before it asks for a table.
pub(crate) fn is_tree(lines: &[&str]) -> bool {
    let n = lines.len();
    n >= 3 && lines.iter().filter(|l| patterns().tree.is_match(l)).count() * 2 >= n
}

/// A manual page or `pydoc` text: two or more headings in capitals at the left margin (`NAME`,
/// `SEE ALSO`, `OPTIONS:`), each with indented text right under it. (Most manual pages and
/// `--help` texts read as prose anyway; this catches those whose text is mostly signatures.)
pub(crate) fn is_manual(lines: &[&str]) -> bool {
    let heading = |l: &str| {
        let t = l.trim_end().trim_end_matches(':');
        !l.starts_with(char::is_whitespace)
            && (1..=4).contains(&t.split_whitespace().count())
            && t.chars().filter(|c| c.is_ascii_uppercase()).count() >= 3
            && t.chars()
                .all(|c| c.is_ascii_uppercase() || c == ' ' || c == '-' || c == '_')
    };
    lines
        .windows(2)
        .filter(|w| heading(w[0]) && w[1].starts_with([' ', '\t']))
        .count()
        >= 2
}

/// A list of paths: `find` output, `git ls-files`, `ls -R` (directory headings with names
/// under them), `tree` drawings.
pub(crate) fn is_paths(lines: &[&str]) -> bool {
    let p = patterns();
    let n = lines.len();
    if n < 3 {
        return false;
    }
    if is_tree(lines) {
        return true;
    }
    let paths = lines.iter().filter(|l| p.path.is_match(l)).count();
    let slashed = lines
        .iter()
        .filter(|l| p.path.is_match(l) && (l.contains('/') || l.contains('\\')))
        .count();
    if paths * 10 >= n * 9 && slashed * 10 >= n * 6 {
        return true;
    }
    // `ls -R`: a `dir:` heading first (the first directory may fill the whole sample), and
    // names under it, never indented (a Python class's `name: str` fields are) and seldom
    // with spaces.
    let heading = |l: &str| p.dir_heading.is_match(l) && !l.contains(": ");
    let headings = lines.iter().filter(|l| heading(l)).count();
    let indented = lines.iter().filter(|l| l.starts_with([' ', '\t'])).count();
    let spaced = lines
        .iter()
        .filter(|l| !heading(l) && l.trim().contains(char::is_whitespace))
        .count();
    (headings >= 2 || n >= 10)
        && heading(lines[0])
        && indented * 20 <= n
        && spaced * 10 <= n
        && lines.iter().all(|l| !sentence(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.trim().is_empty()).collect()
    }

    #[test]
    fn git_logs() {
        let full = "commit 1b49bb9e5f2a3c4d5e6f708192a3b4c5d6e7f809\nAuthor: A <a@x>\nDate:   Mon\n\n    Subject\n\ncommit 4d4f345e5f2a3c4d5e6f708192a3b4c5d6e7f809\nAuthor: B <b@x>\nDate:   Tue\n\n    Other\n";
        assert!(is_git_log(&sample(full)));
        assert!(is_git_log(&sample(
            "1b49bb9 Review: one place\n4d4f345 README: score\nec8fee3 (HEAD -> main) Fix\n"
        )));
        assert!(is_git_log(&sample(
            "* 1b49bb9 Review\n* 4d4f345 README\n|\\\n| * ec8fee3 Fix\n|/\n* 5c5126e Merge\n"
        )));
        // Checksums are not a history.
        assert!(!is_git_log(&sample(
            "1b49bb9e5f2a3c4d5e6f708192a3b4c5d6e7f809  a.txt\n4d4f345e5f2a3c4d5e6f708192a3b4c5d6e7f809  b.txt\n"
        )));
        // `--oneline --stat` and `--oneline --name-status`.
        assert!(is_git_log(&sample(
            "26a9dd4b21 Simplify (#21271)\n crates/uv/src/lib.rs | 34 ++++------\n 1 file changed, 10 insertions(+), 24 deletions(-)\n5880e1b9cc Repair (#21270)\n crates/uv/build.rs | 4 ++--\n 1 file changed, 2 insertions(+), 2 deletions(-)\n"
        )));
        assert!(is_git_log(&sample(
            "3fce3b5b ignore-0.4.33\nM\tCargo.lock\nM\tcrates/ignore/Cargo.toml\n5055264a globset-0.4.20\nM\tCargo.lock\n"
        )));
        // A graph of many branches: more drawing than commits.
        let graph = "* 5e8af827 Merge dc9ce12c into 3fce3b5b\n| |_|/| \n|/| | | \n| | | * dc9ce12c fix: use .any()\n| | | * cffbc54e fix: use direct copy\n| | | | * 1e5759f2 Merge 2d3d2942 into 3fce3b5b\n| |_|_|/| \n|/| | | | \n| | | | * 2d3d2942 Blink added\n| | | |/  \n| | |/|   \n";
        assert!(is_git_log(&sample(graph)));
    }

    #[test]
    fn a_long_first_patch_is_still_a_log() {
        let mut log = String::from(
            "commit 1b49bb9e5f2a3c4d5e6f708192a3b4c5d6e7f809\nAuthor: A <a@x>\nDate:   Mon\n\n    Subject\n\ndiff --git a/a b/a\n@@ -1,300 +1,300 @@\n",
        );
        for i in 0..300 {
            log.push_str(&format!("+line {i}\n"));
        }
        let show = log.clone();
        log.push_str("\ncommit 4d4f345e5f2a3c4d5e6f708192a3b4c5d6e7f809\nAuthor: B <b@x>\n");
        let head: Vec<&str> = log.lines().take(200).collect();
        assert!(!is_git_log(&head), "the sample alone shows one commit");
        assert!(more_commits(&log, &head), "git log -p");
        let head: Vec<&str> = show.lines().take(200).collect();
        assert!(!more_commits(&show, &head), "git show of one commit");
    }

    #[test]
    fn test_runners() {
        let pytest = "============================= test session starts ==============================\nplatform linux -- Python 3.11.7, pytest-8.0.0\ncollected 96 items\n\ntests/test_a.py ........F.....\n=================================== FAILURES ===================================\n";
        assert!(is_test_output(&sample(pytest)));
        let cargo = "running 3 tests\ntest a ... ok\ntest b ... FAILED\n\ntest result: FAILED. 2 passed; 1 failed\n";
        assert!(is_test_output(&sample(cargo)));
        let go = "=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n--- FAIL: TestB (0.00s)\nFAIL\nFAIL\texample.com/x\t0.012s\n";
        assert!(is_test_output(&sample(go)));
        let maven = "[INFO] Running demo.SizeTest\n[ERROR] Tests run: 5, Failures: 1, Errors: 1, Skipped: 1, Time elapsed: 0.7 s <<< FAILURE! - in demo.SizeTest\n[ERROR] garbage(demo.SizeTest)  Time elapsed: 0 s  <<< ERROR!\njava.lang.NumberFormatException: For input string: \"abc\"\n";
        assert!(is_test_output(&sample(maven)));
        let jest = "FAIL __tests__/size.test.js\n  ● parseSize › objects\n\nTest Suites: 1 failed, 1 passed, 2 total\nTests:       3 failed, 26 passed, 30 total\n";
        assert!(is_test_output(&sample(jest)));
        let mocha = "  parseSize\n    ✔ plain 0\n    ✔ plain 1\n    1) deep\n\n  2 passing (8ms)\n  1 failing\n";
        assert!(is_test_output(&sample(mocha)));
        // A log that mentions tests is not test output.
        let log = "2024-05-01 12:00:00 INFO tests scheduled\n2024-05-01 12:00:01 INFO running\n";
        assert!(!is_test_output(&sample(log)));
    }

    #[test]
    fn stack_traces() {
        let py = "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nValueError: x\n";
        assert!(has_trace(&sample(py)));
        let rust = "thread 'main' (25282) panicked at src/main.rs:7:15:\nboom\nstack backtrace:\n   0: app::main\n             at ./src/main.rs:7:15\n   1: core::ops::function::FnOnce::call_once\n             at /rustc/x/library/core/src/ops/function.rs:250:5\n";
        assert!(has_trace(&sample(rust)));
        let go = "panic: runtime error: index out of range [4] with length 3\n\ngoroutine 1 [running]:\nmain.total(0x0, 0x1)\n\t/tmp/gp/main.go:12 +0xb2\nmain.main()\n\t/tmp/gp/main.go:24 +0x1a5\nexit status 2\n";
        assert!(has_trace(&sample(go)));
        let java = "Exception in thread \"main\" java.lang.IllegalStateException: x\n\tat Main.load(Main.java:7)\n\tat Main.main(Main.java:23)\nCaused by: java.lang.NumberFormatException: y\n\t... 2 more\n";
        assert!(has_trace(&sample(java)));
        assert!(!has_trace(&sample("one line\nanother line\n")));
    }

    #[test]
    fn tables() {
        let ps = "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\nroot           1  0.0  0.0 167744 11560 ?        Ss   Nov30   0:05 /sbin/init\nroot           2  0.0  0.0      0     0 ?        S    Nov30   0:00 [kthreadd]\nroot           3  0.0  0.0      0     0 ?        I<   Nov30   0:00 [rcu_gp]\n";
        assert!(is_table(&sample(ps)));
        let csv = "id,name,score\n1,alice,3.5\n2,bob,4\n3,\"carol, jr\",5\n";
        assert_eq!(delimiter(&sample(csv)), Some(b','));
        let ls = "total 12\ndrwxr-xr-x 2 root root 4096 Dec  4 15:58 .ci\n-rw-r--r-- 1 root root   73 Dec  4 15:58 .gitignore\n-rw-r--r-- 1 root root 1865 Dec  4 15:58 Cargo.toml\n";
        assert!(is_table(&sample(ls)));
        let prose = "This is a sentence that goes on for a while here.\nAnother one follows it with more words in it.\nAnd a third one closes the little paragraph now.\n";
        assert!(!is_table(&sample(prose)));
        // `ps -ef`: its TIME column reads like a log's timestamps, its header says table.
        let ps_ef = "UID        PID  PPID  C STIME TTY          TIME CMD\nroot         1     0  0 15:58 ?        00:00:22 /sbin/init\nroot         2     0  0 15:58 ?        00:00:00 [kthreadd]\nroot       112     1  0 15:58 ?        00:00:03 /usr/sbin/sshd -D\n";
        assert!(is_headed_table(&sample(ps_ef)));
        assert!(!is_headed_table(&sample(
            "ERROR 2024-01-01 boot failed\nINFO 2024-01-01 retry\nINFO 2024-01-01 ok\n"
        )));
        // A log under a line in capitals is still a log.
        assert!(!is_headed_table(&sample(
            "INFO SERVER STARTING\n2024-01-01 10:00:00 INFO worker a started\n2024-01-01 10:00:01 INFO worker b started\n2024-01-01 10:00:02 WARN worker c slow\n"
        )));
        assert!(is_headed_table(&sample(
            "date;account;amount;status\n2024-03-01;DE01;348,55;booked\n2024-03-02;DE02;12,00;booked\n2024-03-02;DE03;9,10;void\n"
        )));
        // CSV whose quoted fields hold line breaks (the sample leaves blank lines out, and may
        // end inside a record).
        let csv = "package,version,size,description\na,1.0,12,\"one line\"\nb,2.0,40,\"first line\nsecond, with a comma\n\nthird\"\nc,3.1,7,plain\nd,0.9,3,\"cut off";
        assert_eq!(delimiter(&sample(csv)), Some(b','));
        // Markdown tables: quotes are text.
        let md = "| name | says |\n|------|------|\n| a | \"hi |\n| b | ok |\n";
        assert_eq!(delimiter(&sample(md)), Some(b'|'));
    }

    #[test]
    fn manual_pages() {
        let pydoc = "Help on package json:\n\nNAME\n    json\n\nDESCRIPTION\n    JSON (JavaScript Object Notation) is a subset of JavaScript.\n\nFUNCTIONS\n    dump(obj, fp, *, skipkeys=False)\n";
        assert!(is_manual(&sample(pydoc)));
        let kubectl = "NAME                     READY   STATUS    RESTARTS   AGE\nweb-7d4b9c6f5d-abcde     1/1     Running   0          3d\n";
        assert!(!is_manual(&sample(kubectl)));
        let yaml = "jobs:\n  test:\n    runs-on: ubuntu\nenv:\n  A: 1\n";
        assert!(!is_manual(&sample(yaml)));
    }

    #[test]
    fn paths_and_configs() {
        assert!(is_paths(&sample(
            "./a\n./a/b.rs\n./a/c.rs\n./d/e/f.py\n./README.md\n"
        )));
        assert!(is_paths(&sample(
            ".\n├── Cargo.toml\n├── crates\n│   └── core\n└── README.md\n"
        )));
        assert!(is_config(&sample(
            "name: ci\non:\n  push:\n    branches: [main]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        )));
        assert!(is_config(&sample(
            "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\ndependencies = [\n \"a\",\n]\n"
        )));
        assert!(is_config(&sample(
            "<?xml version=\"1.0\"?>\n<project>\n  <name>x</name>\n</project>\n"
        )));
        assert!(!is_config(&sample(
            "def f(x):\n    return x\n\nclass A:\n    pass\n"
        )));
        assert!(is_paths(&sample(
            ".:\nCargo.toml\nsrc\n\n./src:\nlib.rs\nmain.rs\n"
        )));
        // The first directory of `ls -R` can fill the whole sample.
        let one: String = std::iter::once("/usr/share/doc:\n".to_string())
            .chain((0..30).map(|i| format!("package-{i}\n")))
            .collect();
        assert!(is_paths(&sample(&one)));
    }

    #[test]
    fn source_and_markdown_that_look_like_config_or_listings_are_not() {
        // A dataclass: `name: str` fields under `class X:` lines.
        let model = "@dataclass\nclass Job:\n    name: str\n    runs_on: str\n    steps: list[str]\n    timeout: int = 60\n\n@dataclass\nclass Workflow:\n    name: str\n    jobs: dict[str, Job]\n";
        assert!(!is_paths(&sample(model)));
        assert!(!is_config(&sample(model)));
        // Markdown with front matter and a list of sentences.
        let post = "---\ntitle: Release notes\ndate: 2024-05-01\ntags: [release, notes]\n---\n\n# Release 1.2\n\nThis release fixes the scheduler and adds a new option for retries.\nIt also improves the documentation of the configuration file.\n\n- Fixed a crash when the queue is empty.\n- Added `retries` to the job settings.\n";
        assert!(!is_config(&sample(post)));
        // A compose file and an INI file are.
        assert!(is_config(&sample(
            "services:\n  web:\n    image: nginx:1.25\n    ports:\n      - \"8080:80\"\n  db:\n    image: postgres:16\nvolumes:\n  db: {}\n"
        )));
        assert!(is_config(&sample(
            "[core]\n\trepositoryformatversion = 0\n\tbare = false\n[remote \"origin\"]\n\turl = https://example.com/x.git\n"
        )));
    }
}
