//! Where a table's rows and columns are: the header (and what is printed above it), the rows,
//! section headings, and how a row splits into cells.
//!
//! Three ways a row splits:
//! - **delimited** (CSV, TSV, `;` or `|` separated, Markdown and psql pipe tables): at the
//!   delimiter, quotes respected for `,`, `;` and tabs; a quoted field may hold line breaks, so
//!   a row can span lines;
//! - **cut** at byte offsets, when the columns are left-aligned under the header or a rule line
//!   (`docker ps`, `kubectl get`, `dpkg -l`, `pip list`, `df`, `netstat`): cells may then hold
//!   spaces or be empty. A value wider than its column on one row moves that row's cut to the end
//!   of the value;
//! - **words**, separated by spaces, the last column taking the rest of the line (`ps aux`,
//!   `top`, `ls -l`, `go.sum`): for right-aligned numbers that run left of their header and for
//!   tables without a header.
//!
//! The header is found as the last header-like line (no digits, or capitals only) right above a
//! data line or above a rule (`----- ----`, `+++-====`, `|---|`); lines above it are the
//! preamble (`top`'s summary, `dpkg -l`'s legend, `netstat`'s title). A line ending in `:`
//! after a blank line (or first) heads a section (`ls -R`), with the `total N` lines under it.

use crate::text::content;
use regex::Regex;
use std::sync::OnceLock;

/// Columns beyond this many are not analysed (the last one holds the rest of the row).
pub(crate) const MAX_COLUMNS: usize = 40;
/// Lines looked at for the header.
const HEADER_SEARCH: usize = 12;
/// A quoted field may span at most this many lines; beyond that the quotes are not trusted.
const MAX_RECORD_LINES: usize = 64;
/// Rows looked at to decide where columns are.
const ALIGN_SAMPLE: usize = 2000;

/// What a line of the table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Above the header: a title, a summary, a legend.
    Preamble,
    /// The header, and rules right under it.
    Header,
    /// A section heading with its `total N` lines and the blank line before it.
    Heading,
    /// Part of a row.
    Row,
    /// Anything else: blank lines, repeated headers, rules or totals between rows.
    Other,
}

/// How a row splits into cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Split {
    /// Space-separated words; the last column takes the rest of the row.
    Words {
        /// Columns.
        columns: usize,
    },
    /// Cut at these byte offsets (the starts of columns after the first).
    Cuts {
        /// Offsets, increasing.
        at: Vec<usize>,
    },
    /// Separated by a delimiter byte.
    Delimited {
        /// The delimiter.
        delim: u8,
        /// Rows start and end with `|` (Markdown), which are not cells.
        pipes: bool,
        /// Double quotes enclose fields (CSV, TSV, `;`).
        quotes: bool,
    },
}

/// One row: lines `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    /// First line.
    pub start: usize,
    /// One past the last line.
    pub end: usize,
    /// The section it is in (0 before any heading).
    pub section: usize,
}

/// A section heading: lines `start..end` (blank line before, heading, `total` lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Heading {
    /// First line.
    pub start: usize,
    /// One past the last line.
    pub end: usize,
    /// The heading line itself.
    pub line: usize,
    /// The section it heads.
    pub section: usize,
}

/// Where everything is.
#[derive(Debug)]
pub(crate) struct Layout {
    /// Each line's role.
    pub roles: Vec<Role>,
    /// The rows, in order.
    pub rows: Vec<Row>,
    /// Section headings, in order.
    pub headings: Vec<Heading>,
    /// The header line, if there is one.
    pub header: Option<usize>,
    /// Column names (from the header; generic when there is none).
    pub names: Vec<String>,
    /// Columns that say nothing about a row however their values fall (`ls -l`'s link
    /// counts and dates).
    pub quiet: Vec<bool>,
    /// How rows split into cells.
    pub split: Split,
    /// Byte offset of each line in the text (and the text's length at the end).
    pub offsets: Vec<usize>,
}

struct Patterns {
    mode: Regex,
    total: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("valid pattern");
        Patterns {
            mode: re(r"^[-dlcbpsD][-rwxsStT]{9}[.+@]?$"),
            total: re(r"^total \d+(?:[.,]\d+)?[KMGTP]?$"),
        }
    })
}

/// A Unix permission string (`-rwsr-xr-x`, `drwxrwxrwt`, `lrwxrwxrwx.`).
pub(crate) fn is_mode(cell: &str) -> bool {
    patterns().mode.is_match(cell)
}

/// An `ls -l` row: a permission string, then a link count.
fn is_ls_row(line: &str) -> bool {
    let mut words = line.split_ascii_whitespace();
    words.next().is_some_and(is_mode)
        && words
            .next()
            .is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A rule: dashes or equals signs, maybe with `+`, `|`, `:` and spaces (`---- ----`,
/// `+++-=====`, `|---|:--:|`, `----+----`).
pub(crate) fn is_rule(line: &str) -> bool {
    let t = content(line).trim();
    if t.len() < 3 || !t.bytes().all(|b| b"-=+|: \t".contains(&b)) {
        return false;
    }
    let marks = t.bytes().filter(|b| matches!(b, b'-' | b'=')).count();
    let solid = t.bytes().filter(|b| !is_space(*b)).count();
    marks >= 3 && marks * 2 >= solid
}

/// The start offsets of a rule's segments (runs of its dashes or equals signs, or of `+`).
fn rule_segments(line: &str) -> Vec<usize> {
    let b = content(line).as_bytes();
    let dashes = b.iter().filter(|&&c| c == b'-').count();
    let equals = b.iter().filter(|&&c| c == b'=').count();
    // What separates segments: spaces and pipes, and the other mark (`+++-====` splits at `-`,
    // `----+----` at `+`).
    let sep = |c: u8| match c {
        b' ' | b'\t' | b'|' => true,
        b'-' => equals > dashes,
        b'+' => dashes >= equals,
        _ => false,
    };
    let mut starts = Vec::new();
    let mut inside = false;
    for (i, &c) in b.iter().enumerate() {
        let s = sep(c);
        if !s && !inside {
            starts.push(i);
        }
        inside = !s;
    }
    starts
}

/// Whitespace-separated words of `line`, with their byte spans, at most `cap` of them.
fn word_spans(line: &str, cap: usize) -> Vec<(usize, usize)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < cap {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let s = i;
        while i < b.len() && !is_space(b[i]) {
            i += 1;
        }
        out.push((s, i));
    }
    out
}

/// Share of words with a digit in them, and share of words written in capitals.
fn digits_and_caps(line: &str) -> (f64, f64, usize) {
    let words: Vec<&str> = line.split_ascii_whitespace().take(64).collect();
    let n = words.len();
    if n == 0 {
        return (0.0, 0.0, 0);
    }
    let digits = words
        .iter()
        .filter(|w| w.bytes().any(|b| b.is_ascii_digit()))
        .count();
    let caps = words
        .iter()
        .filter(|w| w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_lowercase))
        .count();
    (digits as f64 / n as f64, caps as f64 / n as f64, n)
}

/// A line that may name columns: two words or more, hardly any digits, not an `ls` row.
fn headerish(line: &str) -> bool {
    let (digits, _, n) = digits_and_caps(line);
    n >= 2 && digits <= 0.2 && !is_ls_row(line) && !is_rule(line)
}

/// A line of values under `header`: digits in it, or lowercase under a header in capitals.
fn data_under(header: &str, line: &str) -> bool {
    let (hd, hc, _) = digits_and_caps(header);
    let (d, c, n) = digits_and_caps(line);
    n >= 1 && !is_rule(line) && ((d >= 0.25 && d - hd >= 0.2) || (hc >= 0.6 && c < 0.5))
}

/// A section heading: ends with `:` (and is not an `ls` row or a `key: value` line).
fn heading_line(line: &str) -> bool {
    let t = content(line).trim_end();
    t.len() >= 2 && t.ends_with(':') && !t.contains("  ") && !is_ls_row(t)
}

impl Layout {
    /// Finds the layout of `text` (its lines are `lines`).
    pub fn of(text: &str, lines: &[&str]) -> Layout {
        let mut offsets = Vec::with_capacity(lines.len() + 1);
        let mut at = 0;
        for l in lines {
            offsets.push(at);
            at += l.len();
        }
        offsets.push(text.len());
        let sample: Vec<&str> = lines
            .iter()
            .map(|l| content(l))
            .filter(|l| !l.trim().is_empty())
            .take(200)
            .collect();
        match crate::detect::delimiter(&sample) {
            Some(delim) => delimited(text, lines, offsets, delim),
            None => aligned(lines, offsets),
        }
    }

    /// The text of row `r` (its lines, without the last line ending).
    pub fn row_text<'t>(&self, text: &'t str, r: &Row) -> &'t str {
        content(&text[self.offsets[r.start]..self.offsets[r.end]])
    }

    /// The cells of `row` (a row's text) into `out`.
    pub fn cells<'t>(&self, row: &'t str, out: &mut Vec<&'t str>) {
        out.clear();
        match &self.split {
            Split::Words { columns } => words(row, *columns, out),
            Split::Cuts { at } => cuts(row, at, out),
            Split::Delimited {
                delim,
                pipes,
                quotes,
            } => delimited_cells(row, *delim, *pipes, *quotes, out),
        }
    }
}

/// `columns` words, the last holding the rest of the row.
fn words<'t>(row: &'t str, columns: usize, out: &mut Vec<&'t str>) {
    let b = row.as_bytes();
    let mut i = 0;
    while out.len() + 1 < columns {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            return;
        }
        let s = i;
        while i < b.len() && !is_space(b[i]) {
            i += 1;
        }
        out.push(&row[s..i]);
    }
    let rest = row[i..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
}

/// Cells between the cuts; a value running over a cut keeps it.
fn cuts<'t>(row: &'t str, at: &[usize], out: &mut Vec<&'t str>) {
    let b = row.as_bytes();
    let mut from = 0;
    for &s in at {
        let mut c = s.max(from).min(b.len());
        while c > 0 && c < b.len() && !is_space(b[c - 1]) && !is_space(b[c]) {
            c += 1;
        }
        while !row.is_char_boundary(c) {
            c += 1;
        }
        out.push(row[from..c].trim());
        from = c;
    }
    out.push(row[from..].trim());
}

/// `"x"` → `x`.
fn unquote(s: &str) -> &str {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Cells separated by `delim`, a delimiter inside a quoted field not counting.
fn delimited_cells<'t>(row: &'t str, delim: u8, pipes: bool, quotes: bool, out: &mut Vec<&'t str>) {
    let mut r = row;
    if pipes {
        r = r.trim();
        r = r.strip_prefix('|').unwrap_or(r);
        r = r.strip_suffix('|').unwrap_or(r);
    }
    let b = r.as_bytes();
    let (mut start, mut i, mut quoted, mut at_start) = (0, 0, false, true);
    while i < b.len() {
        let c = b[i];
        if quoted {
            if c == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                quoted = false;
            }
        } else if c == delim {
            if out.len() + 1 >= MAX_COLUMNS {
                break;
            }
            out.push(unquote(r[start..i].trim()));
            start = i + 1;
            at_start = true;
        } else if c == b'"' && at_start && quotes {
            quoted = true;
            at_start = false;
        } else if c != b' ' {
            at_start = false;
        }
        i += 1;
    }
    out.push(unquote(r[start..].trim()));
}

/// Whether a quoted field is still open at the end of `line`, given whether one was open at
/// its start.
fn open_after(line: &str, delim: u8, mut quoted: bool) -> bool {
    let b = line.as_bytes();
    let mut at_start = !quoted;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if quoted {
            if c == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                quoted = false;
            }
        } else if c == delim {
            at_start = true;
        } else if c == b'"' && at_start {
            quoted = true;
            at_start = false;
        } else if c != b' ' {
            at_start = false;
        }
        i += 1;
    }
    quoted
}

/// Records of a delimited text: line ranges, a quoted field spanning lines kept in one record.
/// A record longer than [`MAX_RECORD_LINES`] means a stray quote: then every line is a record.
/// A quote still open at the end (output cut off) leaves the lines from its record alone.
fn records(lines: &[&str], delim: u8, quotes: bool) -> Vec<(usize, usize)> {
    let single = |from: usize| (from..lines.len()).map(|i| (i, i + 1));
    if !quotes {
        return single(0).collect();
    }
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let mut open = open_after(lines[i], delim, false);
        i += 1;
        while open && i < lines.len() {
            if i - start >= MAX_RECORD_LINES {
                return single(0).collect();
            }
            open = open_after(lines[i], delim, true);
            i += 1;
        }
        if open {
            out.extend(single(start));
            break;
        }
        out.push((start, i));
    }
    out
}

/// The digit-masked shape of a value (`v1.2.3` → `v#.#.#`).
pub(crate) fn shape_of(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(64));
    let mut digits = false;
    for c in value.chars().take(64) {
        if c.is_ascii_digit() {
            if !digits {
                out.push('#');
            }
            digits = true;
        } else {
            digits = false;
            out.push(c);
        }
    }
    out
}

/// Whether the first record is data rather than a header: a cell that is a number in a
/// numeric column, or shaped like the cells under it.
fn first_is_data(first: &[&str], below: &[Vec<&str>]) -> bool {
    if below.is_empty() {
        return false;
    }
    (0..first.len()).any(|c| {
        let under: Vec<&str> = below
            .iter()
            .filter_map(|r| r.get(c).copied())
            .filter(|v| !v.is_empty())
            .collect();
        if under.is_empty() {
            return false;
        }
        let cell = first[c];
        let numeric = super::columns::number(cell).is_some()
            && under
                .iter()
                .filter(|v| super::columns::number(v).is_some())
                .count()
                * 10
                >= under.len() * 8;
        let shape = shape_of(cell);
        let alike = shape.contains('#')
            && under.iter().filter(|v| shape_of(v) == shape).count() * 10 >= under.len() * 3;
        numeric || alike
    })
}

fn delimited(text: &str, lines: &[&str], offsets: Vec<usize>, delim: u8) -> Layout {
    let n = lines.len();
    let body: Vec<&str> = lines.iter().map(|l| content(l)).collect();
    let nonblank: Vec<&str> = body
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .take(200)
        .collect();
    let pipes = delim == b'|'
        && nonblank
            .iter()
            .filter(|l| {
                let t = l.trim();
                t.starts_with('|') && t.ends_with('|')
            })
            .count()
            * 10
            >= nonblank.len().max(1) * 8;
    let quotes = delim != b'|';
    let split = Split::Delimited {
        delim,
        pipes,
        quotes,
    };
    let mut roles = vec![Role::Other; n];
    let mut rows: Vec<Row> = Vec::new();
    let recs: Vec<(usize, usize)> = records(lines, delim, quotes)
        .into_iter()
        .filter(|&(s, e)| !(e == s + 1 && (body[s].trim().is_empty() || is_rule(body[s]))))
        .collect();
    let cells_of = |(s, e): (usize, usize)| -> Vec<&str> {
        let mut out = Vec::new();
        delimited_cells(
            content(&text[offsets[s]..offsets[e]]),
            delim,
            pipes,
            quotes,
            &mut out,
        );
        out
    };
    // The header: the first record, unless it reads like data; always when a rule follows it.
    let mut header = None;
    if let Some(&first) = recs.first() {
        let rule_after = first.1 < n && is_rule(body[first.1]);
        let below: Vec<Vec<&str>> = recs.iter().skip(1).take(20).map(|&r| cells_of(r)).collect();
        if rule_after || !first_is_data(&cells_of(first), &below) {
            header = Some(first.0);
            roles[first.0..first.1].fill(Role::Header);
            let mut j = first.1;
            while j < n && is_rule(body[j]) {
                roles[j] = Role::Header;
                j += 1;
            }
        }
    }
    let names: Vec<String> = match header {
        Some(h) => {
            let mut out = Vec::new();
            delimited_cells(body[h], delim, pipes, quotes, &mut out);
            out.iter().map(|s| s.to_string()).collect()
        }
        None => Vec::new(),
    };
    for &(s, e) in &recs {
        if roles[s] == Role::Header {
            continue;
        }
        if header.is_some_and(|h| body[s] == body[h]) {
            continue;
        }
        roles[s..e].fill(Role::Row);
        rows.push(Row {
            start: s,
            end: e,
            section: 0,
        });
    }
    // Without a header, the usual number of cells.
    let columns = if names.is_empty() {
        let mut freq = [0usize; MAX_COLUMNS + 1];
        for r in spread_sample(&rows, ALIGN_SAMPLE) {
            freq[cells_of((r.start, r.end)).len().min(MAX_COLUMNS)] += 1;
        }
        (1..=MAX_COLUMNS)
            .max_by_key(|&k| (freq[k], std::cmp::Reverse(k)))
            .unwrap_or(1)
    } else {
        names.len()
    };
    Layout {
        roles,
        rows,
        headings: Vec::new(),
        header,
        quiet: vec![false; columns],
        names: padded_names(names, columns, false),
        split,
        offsets,
    }
}

/// Names for `columns` columns: those given, then `column N`; `ls -l`'s own when `ls`.
fn padded_names(mut names: Vec<String>, columns: usize, ls: bool) -> Vec<String> {
    if ls && names.is_empty() && columns == 9 {
        return [
            "mode", "links", "owner", "group", "size", "month", "day", "time", "name",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
    }
    for (i, name) in names.iter_mut().enumerate() {
        if name.trim().is_empty() {
            *name = format!("column {}", i + 1);
        }
    }
    while names.len() < columns {
        names.push(format!("column {}", names.len() + 1));
    }
    names
}

fn aligned(lines: &[&str], offsets: Vec<usize>) -> Layout {
    let n = lines.len();
    let body: Vec<&str> = lines.iter().map(|l| content(l)).collect();
    let blank = |i: usize| body[i].trim().is_empty();
    let total = |i: usize| patterns().total.is_match(body[i].trim());
    let mut roles = vec![Role::Other; n];

    // The header: among the first lines that are not blank, headings or totals.
    let candidates: Vec<usize> = (0..n)
        .filter(|&i| !blank(i) && !total(i) && !(heading_line(body[i]) && (i == 0 || blank(i - 1))))
        .take(HEADER_SEARCH + 1)
        .collect();
    let mut header = None;
    for w in candidates.windows(2) {
        let (h, next) = (w[0], w[1]);
        if is_rule(body[h]) {
            continue;
        }
        let rule_next = next == h + 1 && is_rule(body[next]);
        if rule_next || (headerish(body[h]) && data_under(body[h], body[next])) {
            header = Some(h);
            break;
        }
    }
    let mut first_body = 0;
    let mut rule = None;
    if let Some(h) = header {
        roles[..h].fill(Role::Preamble);
        roles[h] = Role::Header;
        first_body = h + 1;
        while first_body < n && is_rule(body[first_body]) {
            roles[first_body] = Role::Header;
            rule.get_or_insert(first_body);
            first_body += 1;
        }
    }

    // Sections, rows and the rest.
    let mut rows = Vec::new();
    let mut headings: Vec<Heading> = Vec::new();
    let mut section = 0;
    let mut i = first_body;
    while i < n {
        if heading_line(body[i]) && (i == 0 || blank(i - 1)) {
            section += 1;
            let start = if i > first_body && blank(i - 1) && roles[i - 1] == Role::Other {
                i - 1
            } else {
                i
            };
            let mut end = i + 1;
            while end < n && total(end) {
                end += 1;
            }
            roles[start..end].fill(Role::Heading);
            headings.push(Heading {
                start,
                end,
                line: i,
                section,
            });
            i = end;
            continue;
        }
        let is_row = !blank(i)
            && !total(i)
            && !is_rule(body[i])
            && header.is_none_or(|h| body[i] != body[h]);
        if is_row {
            roles[i] = Role::Row;
            rows.push(Row {
                start: i,
                end: i + 1,
                section,
            });
        }
        i += 1;
    }

    let sample: Vec<&str> = spread_sample(&rows, ALIGN_SAMPLE)
        .map(|r| body[r.start])
        .collect();
    let ls = !sample.is_empty()
        && sample.iter().filter(|l| is_ls_row(l)).count() * 10 >= sample.len() * 8;
    let (split, names) = match header {
        Some(h) => columns_from_header(body[h], rule.map(|r| body[r]), &sample),
        // `ls -l` rows have nine columns; a symbolic link's target goes with its name.
        None if ls => (Split::Words { columns: 9 }, Vec::new()),
        None => (
            Split::Words {
                columns: usual_words(&sample),
            },
            Vec::new(),
        ),
    };
    let columns = match &split {
        Split::Words { columns } => *columns,
        Split::Cuts { at } => at.len() + 1,
        Split::Delimited { .. } => names.len(),
    };
    let names = padded_names(names, columns, ls);
    let quiet = names
        .iter()
        .map(|n| ls && header.is_none() && matches!(n.as_str(), "links" | "month" | "day" | "time"))
        .collect();
    Layout {
        roles,
        rows,
        headings,
        header,
        names,
        quiet,
        split,
        offsets,
    }
}

/// Up to `k` rows evenly spread over `rows`.
fn spread_sample(rows: &[Row], k: usize) -> impl Iterator<Item = &Row> {
    let n = rows.len();
    let step = n.div_ceil(k.max(1)).max(1);
    rows.iter().step_by(step)
}

/// The most common number of words in a row, at most [`MAX_COLUMNS`].
fn usual_words(sample: &[&str]) -> usize {
    let mut freq = [0usize; MAX_COLUMNS + 1];
    for l in sample {
        let k = l.split_ascii_whitespace().take(MAX_COLUMNS).count();
        freq[k] += 1;
    }
    (1..=MAX_COLUMNS)
        .max_by_key(|&k| (freq[k], std::cmp::Reverse(k)))
        .unwrap_or(1)
}

/// Share of `sample` rows in which a value runs across offset `s` (characters on both sides).
fn straddled(sample: &[&str], s: usize) -> f64 {
    if sample.is_empty() || s == 0 {
        return 0.0;
    }
    let hits = sample
        .iter()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > s && !is_space(b[s - 1]) && !is_space(b[s])
        })
        .count();
    hits as f64 / sample.len() as f64
}

/// Whether values run unbroken from offset `from` across offset `to`, in most of the rows long
/// enough to reach it (and those are not a handful).
fn one_value_across(sample: &[&str], from: usize, to: usize) -> bool {
    let reaching: Vec<&[u8]> = sample
        .iter()
        .map(|l| l.as_bytes())
        .filter(|b| b.len() > to)
        .collect();
    let across = reaching
        .iter()
        .filter(|b| b[from..=to].iter().all(|&c| !is_space(c)))
        .count();
    !reaching.is_empty() && reaching.len() * 10 >= sample.len() && across * 2 >= reaching.len()
}

/// The split and column names a header (and a rule under it) give.
fn columns_from_header(header: &str, rule: Option<&str>, sample: &[&str]) -> (Split, Vec<String>) {
    let name_between = |a: usize, b: usize| -> String {
        let (a, b) = (a.min(header.len()), b.min(header.len()));
        header
            .get(a..b)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    // A rule under the header says where columns start.
    if let Some(rule) = rule {
        let starts = rule_segments(rule);
        if starts.len() >= 2 {
            let at: Vec<usize> = starts[1..].iter().copied().take(MAX_COLUMNS - 1).collect();
            let mut bounds = vec![0];
            bounds.extend(&at);
            bounds.push(usize::MAX);
            let names = bounds
                .windows(2)
                .map(|w| name_between(w[0], w[1]))
                .collect();
            return (Split::Cuts { at }, names);
        }
    }
    let spans = word_spans(header, MAX_COLUMNS * 2);
    // Words of one name (`Mounted on`, `CONTAINER ID`, `Local Address`) are one space apart,
    // with values running from the first word across the start of the next.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &(s, e) in &spans {
        match groups.last_mut() {
            Some(last) if s == last.1 + 1 && one_value_across(sample, last.0, s) => last.1 = e,
            _ => groups.push((s, e)),
        }
    }
    groups.truncate(MAX_COLUMNS);
    let names: Vec<String> = groups.iter().map(|&(s, e)| name_between(s, e)).collect();
    let at: Vec<usize> = groups.iter().skip(1).map(|g| g.0).collect();
    let clean = at.iter().all(|&s| straddled(sample, s) <= 0.03);
    if clean && !at.is_empty() {
        (Split::Cuts { at }, names)
    } else {
        let columns = names.len().max(1);
        (Split::Words { columns }, names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::lines_of;

    fn layout(text: &str) -> Layout {
        Layout::of(text, &lines_of(text))
    }

    fn cells_of<'t>(l: &Layout, text: &'t str, row: usize) -> Vec<&'t str> {
        let mut out = Vec::new();
        l.cells(l.row_text(text, &l.rows[row]), &mut out);
        out
    }

    #[test]
    fn ps_aux_splits_in_words_with_the_command_whole() {
        let text = "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n\
root           1  0.0  0.0 167744 11560 ?        Ss   Nov30   0:05 /sbin/init splash\n\
root       18507 81.2  1.3 743528 326784 pts/0   R+   16:41   0:02 rustc --crate-name x\n\
www-data    2211  0.0  0.1  55000  4100 ?        S    Nov30   0:00 nginx: worker process\n";
        let l = layout(text);
        assert_eq!(l.header, Some(0));
        assert_eq!(l.split, Split::Words { columns: 11 });
        assert_eq!(l.rows.len(), 3);
        assert_eq!(cells_of(&l, text, 1)[10], "rustc --crate-name x");
        assert_eq!(cells_of(&l, text, 2)[7], "S");
        assert_eq!(l.names[2], "%CPU");
    }

    #[test]
    fn docker_ps_cuts_at_left_aligned_columns_with_empty_cells() {
        let text = "CONTAINER ID   IMAGE          COMMAND                  CREATED        STATUS                     PORTS                NAMES\n\
4f1c2d3e4a5b   nginx:1.25     \"/docker-entrypoint.…\"   2 hours ago    Up 2 hours                 0.0.0.0:80->80/tcp   web\n\
9a8b7c6d5e4f   redis:7        \"docker-entrypoint.s…\"   3 days ago     Exited (137) 5 hours ago                        cache\n\
1a2b3c4d5e6f   postgres:16    \"docker-entrypoint.s…\"   3 days ago     Up 3 days                  5432/tcp             db\n";
        let l = layout(text);
        assert!(matches!(l.split, Split::Cuts { .. }), "{:?}", l.split);
        assert_eq!(l.names[0], "CONTAINER ID");
        assert_eq!(l.names.len(), 7);
        let c = cells_of(&l, text, 1);
        assert_eq!(c[4], "Exited (137) 5 hours ago");
        assert_eq!(c[5], "");
        assert_eq!(c[6], "cache");
    }

    #[test]
    fn dpkg_has_a_preamble_a_rule_and_cuts() {
        let text = "Desired=Unknown/Install/Remove/Purge/Hold\n\
| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n\
|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n\
||/ Name           Version      Architecture Description\n\
+++-==============-============-============-=================================\n\
ii  adduser        3.134        all          add and remove users and groups\n\
iU  openssl        3.0.11-1     amd64        Secure Sockets Layer toolkit\n";
        let l = layout(text);
        assert_eq!(l.header, Some(3));
        assert_eq!(
            &l.roles[..5],
            &[
                Role::Preamble,
                Role::Preamble,
                Role::Preamble,
                Role::Header,
                Role::Header
            ]
        );
        assert_eq!(
            l.names,
            vec!["||/", "Name", "Version", "Architecture", "Description"]
        );
        assert_eq!(
            cells_of(&l, text, 1),
            vec![
                "iU",
                "openssl",
                "3.0.11-1",
                "amd64",
                "Secure Sockets Layer toolkit"
            ]
        );
    }

    #[test]
    fn ls_recursive_has_sections() {
        let text = "/x:\ntotal 8\ndrwxr-xr-x 2 root root 4096 Dec  4 15:58 .\n-rw-r--r-- 1 root root   12 Dec  4 15:58 a b.txt\n\n/x/y:\ntotal 4\n-rw------- 1 root root 99999 Dec  4 15:58 core\n";
        let l = layout(text);
        assert_eq!(l.header, None);
        assert_eq!(l.headings.len(), 2);
        assert_eq!(
            l.headings[1].start, 4,
            "the blank line before the heading goes with it"
        );
        assert_eq!(l.headings[1].end, 7);
        assert_eq!(l.rows.len(), 3);
        assert_eq!(l.rows[2].section, 2);
        assert_eq!(l.names[8], "name");
        assert_eq!(cells_of(&l, text, 1)[8], "a b.txt");
    }

    #[test]
    fn top_keeps_its_summary_above_the_header() {
        let text = concat!(
            "top - 16:41:24 up 43 min,  0 user,  load average: 1.10, 1.25, 1.00\n",
            "Tasks:  87 total,   1 running,  86 sleeping,   0 stopped,   0 zombie\n",
            "\n",
            "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND\n",
            "18507 root      20   0  743528 326784 102296 S  81.2   1.3   0:02.50 rustc\n",
            "    1 root      20   0   54132  14792   7132 S   6.2   0.1   0:08.01 process_a+\n",
        );
        let l = layout(text);
        assert_eq!(l.header, Some(3));
        assert_eq!(l.rows.len(), 2);
        assert_eq!(cells_of(&l, text, 0)[8], "81.2");
    }

    #[test]
    fn csv_rows_may_span_lines() {
        let text = "name,size,note\na,1,\"x, y\"\nb,2,\"two\nlines\"\nc,3,plain\n";
        let l = layout(text);
        assert_eq!(l.header, Some(0));
        assert_eq!(l.rows.len(), 3);
        assert_eq!((l.rows[1].start, l.rows[1].end), (2, 4));
        assert_eq!(cells_of(&l, text, 1), vec!["b", "2", "two\nlines"]);
        assert_eq!(cells_of(&l, text, 0)[2], "x, y");
        // A stray quote does not swallow the rest.
        let text = "name,size,note\na,1,\"x\nb,2,y\nc,3,z\n";
        assert_eq!(layout(text).rows.len(), 3);
    }

    #[test]
    fn csv_without_a_header_and_markdown_tables() {
        let text = "9fans.net/go,v0.0.2,h1:RYM6=\naahframe.work,v0.12.3,h1:hc3c=\nexample.com/a,v1.0.0,h1:abcd=\n";
        assert_eq!(layout(text).header, None);
        let md = "| name | state |\n|------|-------|\n| a    | ok    |\n| b    | bad   |\n";
        let l = layout(md);
        assert_eq!(l.header, Some(0));
        assert_eq!(l.roles[1], Role::Header);
        assert_eq!(l.names, vec!["name", "state"]);
        assert_eq!(cells_of(&l, md, 1), vec!["b", "bad"]);
    }

    #[test]
    fn rules() {
        for r in [
            "+++-====-===",
            "------- -----",
            "|---|:--:|",
            "----+----",
            "=== ===",
        ] {
            assert!(is_rule(r), "{r}");
        }
        for r in ["--help", "a-b-c", "-", "| x |"] {
            assert!(!is_rule(r), "{r}");
        }
        assert_eq!(rule_segments("+++-====-==="), vec![0, 4, 9]);
        assert_eq!(rule_segments("------- -----"), vec![0, 8]);
    }
}
