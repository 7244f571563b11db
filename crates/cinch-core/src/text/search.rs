//! Search results (`grep -rn`, `git grep -n`, ripgrep with or without headings, with or
//! without context lines): every file named, the best lines kept, within the budget.
//!
//! Lines are grouped by file and ranked (see [`super::fit`]): lines that define what the
//! search is about (a definition keyword or `#define` followed by a word of the query, or by
//! the word most lines share), within half the budget; lines with the query's exact terms and
//! lines with error words (the rarest error word first), within a third each, unless every
//! other line has them; the first and last matches (anchors); a line naming each file (files
//! with fewer matches first); then, up to half the budget, each file's first match (files
//! with more matches first), lines ranked by relevance to the query (BM25, two per file), the
//! other matches spread evenly, and context lines, nearest to their match first. Search
//! results point at code the agent can open, so past what must be seen only half the budget is
//! filled. A file whose lines were not all shown gets one line saying how many matches were
//! left out and where (`path: +N more (lines 10, 12, …)` when none of its lines is shown), so
//! that no file disappears while the budget can name it; files even that could not name are
//! counted in the marker. Kept lines stay byte for byte, a line too long for a share of the
//! budget is shown cut, and the whole original is stored under the marker.

use super::fit::{self, Detail, Unit};
use super::lines::{error_re, prefix_within};
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact};
use crate::tokens::estimate;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// One line of a file's results.
struct Hit<'a> {
    /// Index of the input line.
    index: usize,
    line_no: usize,
    text: &'a str,
    /// A match (`path:N:`), not a context line (`path-N-`).
    matched: bool,
}

/// The results of one file.
struct File<'a> {
    path: String,
    /// The line naming the file in ripgrep's heading mode.
    heading: Option<usize>,
    hits: Vec<Hit<'a>>,
}

/// A search result line: `path:N:text` (a match), `path-N-text` (context), or `N:text` /
/// `N-text` under a ripgrep heading (no path). The flag says whether it is a match.
fn parse_line(line: &str) -> Option<(Option<&str>, usize, &str, bool)> {
    // Digits at `at`, then `sep`: the number and where the text starts.
    let number = |at: usize, sep: u8| -> Option<(usize, usize)> {
        let digits = line.as_bytes()[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = at + digits;
        (digits > 0 && line.as_bytes().get(end) == Some(&sep))
            .then(|| Some((line[at..end].parse().ok()?, end + 1)))
            .flatten()
    };
    if line.starts_with(|c: char| c.is_ascii_digit()) {
        for sep in [b':', b'-'] {
            if let Some((n, text)) = number(0, sep) {
                return Some((None, n, &line[text..], sep == b':'));
            }
        }
    }
    if line.is_empty() || line.starts_with(char::is_whitespace) || line.starts_with(':') {
        return None;
    }
    // A path runs to the first `:`; a match line has `:N:` there.
    let colon = line.find(':');
    if let Some(i) = colon {
        if let Some((n, text)) = number(i + 1, b':') {
            return Some((Some(&line[..i]), n, &line[text..], true));
        }
    }
    // A context line: the first `-N-` before any `:`.
    let limit = colon.unwrap_or(line.len());
    for (i, _) in line[..limit].match_indices('-') {
        if i == 0 {
            continue;
        }
        if let Some((n, text)) = number(i + 1, b'-') {
            return Some((Some(&line[..i]), n, &line[text..], false));
        }
    }
    None
}

fn definition_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:(?-u:\b)(?:def|class|fn|struct|enum|trait|type|func|function|module|interface|impl|mod|macro_rules!|const|let|var)|#\s*define)\s+(?:\([^)]*\)\s*)?([A-Za-z_][A-Za-z0-9_]*)")
            .expect("valid pattern")
    })
}

/// A Go method's receiver type: `func (c *Command) Name(`.
fn receiver_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?-u:\b)func\s*\(\s*\w+\s+\*?([A-Za-z_][A-Za-z0-9_]*)").expect("valid pattern")
    })
}

/// The identifier most matched lines share (what was searched for), if one stands out.
fn searched_word(hits: &[&Hit]) -> Option<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for h in hits {
        let mut seen: Vec<&str> = Vec::new();
        for w in h
            .text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.len() >= 3 && !w.bytes().all(|b| b.is_ascii_digit()))
        {
            if !seen.contains(&w) {
                seen.push(w);
                *counts.entry(w).or_default() += 1;
            }
        }
    }
    let (word, n) = counts.into_iter().max_by(|a, b| {
        a.1.cmp(&b.1)
            .then(b.0.len().cmp(&a.0.len()))
            .then(b.0.cmp(a.0))
    })?;
    (n * 2 >= hits.len()).then(|| word.to_string())
}

/// The matches (indices into `hits`) with error words, those whose error word is rarest among
/// them first (a `#error` among forty comments saying `invalid` is the one to see), and of
/// those the shorter first.
fn error_lines(hits: &[&Hit]) -> Vec<usize> {
    let words: Vec<Vec<String>> = hits
        .iter()
        .map(|h| {
            let mut w: Vec<String> = error_re()
                .find_iter(h.text)
                .filter(|m| !type_name(h.text, m.start(), m.as_str()))
                .map(|m| m.as_str().to_ascii_lowercase())
                .collect();
            w.dedup();
            w
        })
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for w in words.iter().flatten() {
        *seen.entry(w.as_str()).or_default() += 1;
    }
    let mut out: Vec<usize> = (0..hits.len()).filter(|&k| !words[k].is_empty()).collect();
    // Among equally rare ones, the shorter first: more of them fit.
    out.sort_by_key(|&k| {
        let rarity = words[k].iter().map(|w| seen[w.as_str()]).min();
        (rarity, hits[k].text.len(), k)
    });
    out
}

/// Whether the error word `word` at `at` in `text` names a type (`io::Error`, `impl Errors`,
/// `Result<(), Error>`): code that handles errors, not an error.
fn type_name(text: &str, at: usize, word: &str) -> bool {
    let mut chars = word.chars();
    let capitalized = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_lowercase());
    let before = text[..at].trim_end_matches(' ');
    capitalized
        && (before.ends_with("::")
            || before.ends_with(['<', '(', '&', ','])
            || ["impl", "struct", "enum", "type", "for", "class", "dyn"]
                .iter()
                .any(|k| before.ends_with(k)))
}

/// The input grouped by file, and the lines that belong to no file.
struct Parsed<'a> {
    files: Vec<File<'a>>,
    /// Lines that are neither results nor headings (`Binary file x matches`, notices).
    other: Vec<usize>,
}

fn parse<'a>(lines: &[&'a str]) -> Parsed<'a> {
    let mut files: Vec<File> = Vec::new();
    let mut by_path: HashMap<String, usize> = HashMap::new();
    // ripgrep's heading mode: a path on its own line, then its numbered lines.
    let mut heading: Option<(String, usize)> = None;
    let mut other = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let c = content(line);
        let Some((path, line_no, text, matched)) = parse_line(c) else {
            if !c.trim().is_empty() && c != "--" && !c.contains(char::is_whitespace) {
                heading = Some((c.to_string(), index));
            } else if !c.trim().is_empty() && c != "--" {
                other.push(index);
            }
            continue;
        };
        let (path, heading_line) = match (path, &heading) {
            (Some(p), _) => (p.to_string(), None),
            (None, Some((p, at))) => (p.clone(), Some(*at)),
            (None, None) => {
                other.push(index);
                continue;
            }
        };
        let f = *by_path.entry(path.clone()).or_insert_with(|| {
            files.push(File {
                path,
                heading: heading_line,
                hits: Vec::new(),
            });
            files.len() - 1
        });
        files[f].hits.push(Hit {
            index,
            line_no,
            text,
            matched,
        });
    }
    // A path line that no numbered line followed was text, not a heading.
    let headings: Vec<usize> = files.iter().filter_map(|f| f.heading).collect();
    for (index, line) in lines.iter().enumerate() {
        let c = content(line);
        if parse_line(c).is_none()
            && !c.trim().is_empty()
            && c != "--"
            && !c.contains(char::is_whitespace)
            && !headings.contains(&index)
        {
            other.push(index);
        }
    }
    other.sort_unstable();
    Parsed { files, other }
}

/// The line numbers of left-out matches, three at most: `10, 12, 15, …`.
fn line_list(nums: &[usize]) -> String {
    let mut s: Vec<String> = nums.iter().take(3).map(usize::to_string).collect();
    if nums.len() > 3 {
        s.push("…".to_string());
    }
    let word = if nums.len() == 1 { "line" } else { "lines" };
    format!("{word} {}", s.join(", "))
}

/// `1 file`, `2 files`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The line naming a file none of whose lines is shown.
fn name_line(path: &str, nums: &[usize]) -> String {
    format!("{path}: +{} more ({})\n", nums.len(), line_list(nums))
}

/// The longest a result line may be shown whole, in tokens.
fn line_cap(budget: usize) -> usize {
    (budget / 4).max(16)
}

/// The share of the budget that lines past what must be seen (each file's first line, lines
/// ranked for the query, the other matches, context lines) may bring the output up to.
const FILL_SHARE: (usize, usize) = (1, 2);

/// Ranks of the units, lower first.
mod tier {
    pub const DEFINITION: u8 = 0;
    pub const QUERY: u8 = 1;
    pub const ERROR: u8 = 2;
    pub const ANCHOR: u8 = 3;
    pub const NAME: u8 = 4;
    pub const FIRST: u8 = 5;
    pub const RANKED: u8 = 6;
    pub const MATCH: u8 = 7;
    pub const CONTEXT: u8 = 8;
}

/// Compresses search results (see the module docs).
pub fn compress_search(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let Parsed { files, other } = parse(&lines);
    if files.is_empty() {
        return Err(TextError::NothingToDrop("no `path:line:` lines were found"));
    }

    let all: Vec<&Hit> = files
        .iter()
        .flat_map(|f| f.hits.iter())
        .filter(|h| h.matched)
        .collect();
    let query_words: Vec<String> = ctx
        .query
        .words
        .iter()
        .chain(ctx.query.exact.iter())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    // What the search is about: the query's words and terms, and the word most lines share.
    let subjects: Vec<String> = query_words
        .into_iter()
        .chain(searched_word(&all).map(|s| s.to_ascii_lowercase()))
        .collect();
    let is_subject = |name: &str| subjects.contains(&name.to_ascii_lowercase());
    // Only lines that name a subject can define it: a cheap test before the patterns.
    let names_subject = |text: &str| {
        let lower = text.to_ascii_lowercase();
        subjects.iter().any(|s| lower.contains(s.as_str()))
    };
    let defines = |h: &Hit| {
        names_subject(h.text)
            && (definition_re()
                .captures_iter(h.text)
                .any(|c| is_subject(&c[1]))
                || receiver_re()
                    .captures(h.text)
                    .is_some_and(|c| is_subject(&c[1])))
    };

    // Each line's rank: the best (lowest) of the reasons it has.
    let mut rank: Vec<Option<(u8, u64)>> = vec![None; n];
    let mut set = |i: usize, t: u8, o: u64| {
        if rank[i].is_none_or(|(t0, _)| t < t0) {
            rank[i] = Some((t, o));
        }
    };
    // Lines that stand out go first while they take no more than a third of the budget each
    // (definitions of what was searched for, which answer the search, half of it); past it
    // they wait with each file's first line. What every other line has (the searched term, an
    // error word when errors were searched for) does not stand out.
    let mut spent = [0usize; 3];
    let mut standout = |set: &mut dyn FnMut(usize, u8, u64), h: &Hit, t: u8, which: usize| {
        let c = estimate(lines[h.index]);
        let share = if which == 2 {
            ctx.budget / 2
        } else {
            ctx.budget / 3
        };
        if spent[which] + c <= share {
            spent[which] += c;
            set(h.index, t, h.index as u64);
        } else {
            set(h.index, tier::FIRST, (1 << 40) + h.index as u64);
        }
    };
    // Rare forms of a definition first (a stub, a commented-out one, another signature): the
    // thirtieth `def name` like the others says less than the one that differs.
    let mut definitions: Vec<&Hit> = all.iter().copied().filter(|h| defines(h)).collect();
    let mut forms: HashMap<&str, usize> = HashMap::new();
    for h in &definitions {
        *forms.entry(h.text.trim()).or_default() += 1;
    }
    definitions.sort_by_key(|h| (forms[h.text.trim()], h.index));
    for h in definitions {
        standout(&mut set, h, tier::DEFINITION, 2);
    }
    if let (Some(first), Some(last)) = (all.first(), all.last()) {
        set(first.index, tier::ANCHOR, 0);
        set(last.index, tier::ANCHOR, 1);
    }
    let selective: Vec<&String> = ctx
        .query
        .exact
        .iter()
        .filter(|t| {
            all.iter()
                .filter(|h| contains_exact(lines[h.index], t))
                .count()
                * 2
                <= all.len()
        })
        .collect();
    for h in files.iter().flat_map(|f| f.hits.iter()) {
        // The path counts: a query may name the file.
        if selective.iter().any(|t| contains_exact(lines[h.index], t)) {
            standout(&mut set, h, tier::QUERY, 0);
        }
    }
    let errors = error_lines(&all);
    if errors.len() * 2 <= all.len() {
        for &k in &errors {
            standout(&mut set, all[k], tier::ERROR, 1);
        }
    }
    // Files with more matches first: they are where the searched thing lives.
    let mut by_size: Vec<usize> = (0..files.len()).collect();
    by_size.sort_by_key(|&f| std::cmp::Reverse(files[f].hits.iter().filter(|h| h.matched).count()));
    for (r, &f) in by_size.iter().enumerate() {
        let first = files[f]
            .hits
            .iter()
            .find(|h| h.matched)
            .or(files[f].hits.first());
        if let Some(h) = first {
            set(h.index, tier::FIRST, r as u64);
        }
    }
    // Lines that stand out for the query: scored well above the typical line (when every line
    // holds the searched word, none does), two per file at most.
    let texts: Vec<Vec<&str>> = all.iter().map(|h| vec![h.text]).collect();
    let scores = bm25(&texts, &ctx.query.words);
    let mut sorted = scores.clone();
    sorted.sort_by(f64::total_cmp);
    let typical = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let file_of: HashMap<usize, usize> = files
        .iter()
        .enumerate()
        .flat_map(|(f, file)| file.hits.iter().map(move |h| (h.index, f)))
        .collect();
    let mut ranked: Vec<usize> = (0..all.len())
        .filter(|&k| scores[k] > 0.0 && scores[k] > typical * 1.5)
        .collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut per_file: HashMap<usize, usize> = HashMap::new();
    for (r, k) in ranked.into_iter().enumerate() {
        let taken = per_file.entry(file_of[&all[k].index]).or_default();
        if *taken < 2 {
            *taken += 1;
            set(all[k].index, tier::RANKED, r as u64);
        }
    }
    // The rest: matches spread evenly, then context lines nearest their match first, then
    // lines of no file.
    for (k, h) in all.iter().enumerate() {
        set(h.index, tier::MATCH, fit::spread(k, all.len()));
    }
    for file in &files {
        let matches: Vec<usize> = file
            .hits
            .iter()
            .filter(|h| h.matched)
            .map(|h| h.line_no)
            .collect();
        for h in file.hits.iter().filter(|h| !h.matched) {
            let at = matches.partition_point(|&m| m < h.line_no);
            let distance = [
                at.checked_sub(1).map(|a| matches[a]),
                matches.get(at).copied(),
            ]
            .into_iter()
            .flatten()
            .map(|m| m.abs_diff(h.line_no))
            .min()
            .unwrap_or(usize::MAX >> 8);
            set(
                h.index,
                tier::CONTEXT,
                ((distance as u64) << 32) | h.index as u64,
            );
        }
    }
    for &i in &other {
        set(i, tier::CONTEXT, u64::MAX - (n - i) as u64);
    }

    // Each file's naming line is a unit of its own, past the input's lines.
    let match_nums: Vec<Vec<usize>> = files
        .iter()
        .map(|f| {
            f.hits
                .iter()
                .filter(|h| h.matched)
                .map(|h| h.line_no)
                .collect()
        })
        .collect();
    let names: Vec<String> = files
        .iter()
        .zip(&match_nums)
        .map(|(f, nums)| match f.heading {
            Some(h) => format!("{}  +{} more ({})\n", lines[h], nums.len(), line_list(nums)),
            None => name_line(&f.path, nums),
        })
        .collect();
    let mut all_lines: Vec<&str> = lines.clone();
    all_lines.extend(names.iter().map(String::as_str));
    let mut units: Vec<Unit> = (0..n)
        .filter_map(|i| rank[i].map(|(t, o)| Unit::line(i, t, o)))
        .collect();
    // Files with few matches are named first: the rare file is the one easy to miss (the
    // ones with many have their first lines shown next).
    for (f, nums) in match_nums.iter().enumerate() {
        units.push(Unit::line(
            n + f,
            tier::NAME,
            ((nums.len() as u64) << 32) | f as u64,
        ));
    }

    // Lines too long to show whole are shown cut.
    let cap = line_cap(ctx.budget);
    let mut cut: HashMap<usize, usize> = HashMap::new();
    for u in units.iter().filter(|u| u.start < n) {
        if estimate(lines[u.start]) > cap {
            let shown = prefix_within(lines[u.start], cap, ctx);
            if shown < content(lines[u.start]).len() {
                cut.insert(u.start, shown);
            }
        }
    }
    // A line shown brings its file's heading (in ripgrep's heading mode) and the note of what
    // the file left out: counted with each line, which errs on the safe side.
    let overhead: HashMap<usize, usize> = files
        .iter()
        .flat_map(|f| {
            let extra = f.heading.map_or(0, |h| estimate(lines[h])) + 8;
            f.hits.iter().map(move |h| (h.index, extra))
        })
        .collect();
    let cost = |i: usize| {
        let own = match cut.get(&i) {
            Some(&shown) => estimate(&content(lines[i])[..shown]) + 8,
            None => estimate(all_lines[i]).max(1),
        };
        own + overhead.get(&i).copied().unwrap_or(0)
    };
    let layout = Layout {
        lines: &lines,
        files: &files,
        other: &other,
        cut: &cut,
        errors: errors.len(),
    };
    let mut render = |keep: &[bool], detail: Detail, key: &Key| layout.render(keep, detail, key);
    let plan = fit::Plan {
        kind: "search",
        original: text,
        lines: &all_lines,
        units,
    };
    // Past what must be seen (definitions, anchors, lines that stand out, every file named),
    // search results point at code the agent can open: further lines fill only a share of the
    // budget.
    let telling = fit::Plan {
        units: plan
            .units
            .iter()
            .filter(|u| u.tier <= tier::NAME)
            .copied()
            .collect(),
        ..plan
    };
    let mut fitted = telling.fit(&cost, ctx, &mut render);
    let shown = ctx.counter.count(&render(
        &fitted.keep,
        fitted.detail,
        &Key::of(text.as_bytes()),
    ));
    let fill = ctx.budget * FILL_SHARE.0 / FILL_SHARE.1;
    if shown < fill {
        let capped = Context {
            budget: fill,
            ..*ctx
        };
        fitted = plan.fit(&cost, &capped, &mut render);
    }
    let counts = layout.counts(&fitted.keep);
    let stored = plan.store_and_render(
        fitted,
        &|i| i < n && !cut.contains_key(&i),
        ctx,
        &mut render,
    )?;
    Ok(TextOutcome {
        output: stored.output,
        strategy: "search-by-file",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: files.len(),
            dropped: BTreeMap::from([
                ("matches".to_string(), counts.dropped),
                ("files not named".to_string(), counts.unnamed),
            ]),
        },
    })
}

/// What an output left out.
struct Counts {
    /// Matches not shown.
    dropped: usize,
    /// Files with matches not shown.
    files_cut: usize,
    /// Files neither shown nor named.
    unnamed: usize,
    /// Matches with error words not shown.
    errors: usize,
}

/// How an output is laid out: each file's shown lines, then a line for what it left out.
struct Layout<'a> {
    lines: &'a [&'a str],
    files: &'a [File<'a>],
    other: &'a [usize],
    cut: &'a HashMap<usize, usize>,
    /// Matches with error words in the input.
    errors: usize,
}

impl Layout<'_> {
    /// Whether file `f` is shown or named.
    fn named(&self, keep: &[bool], f: usize) -> bool {
        keep[self.lines.len() + f] || self.files[f].hits.iter().any(|h| keep[h.index])
    }

    fn counts(&self, keep: &[bool]) -> Counts {
        let mut c = Counts {
            dropped: 0,
            files_cut: 0,
            unnamed: 0,
            errors: 0,
        };
        for (f, file) in self.files.iter().enumerate() {
            let left = file
                .hits
                .iter()
                .filter(|h| h.matched && !keep[h.index])
                .count();
            c.dropped += left;
            c.files_cut += usize::from(left > 0);
            c.unnamed += usize::from(!self.named(keep, f));
            if self.errors > 0 {
                c.errors += file
                    .hits
                    .iter()
                    .filter(|h| h.matched && !keep[h.index] && error_re().is_match(h.text))
                    .count();
            }
        }
        c
    }

    fn push_line(&self, out: &mut String, i: usize) {
        match self.cut.get(&i) {
            Some(&shown) => {
                let line = content(self.lines[i]);
                out.push_str(&line[..shown]);
                out.push_str(&format!(
                    " …[{} more bytes of this line cut]\n",
                    line.len() - shown
                ));
            }
            None => {
                out.push_str(self.lines[i]);
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }

    fn render(&self, keep: &[bool], detail: Detail, key: &Key) -> String {
        let n = self.lines.len();
        let mut out = String::new();
        for (f, file) in self.files.iter().enumerate() {
            let shown: Vec<&Hit> = file.hits.iter().filter(|h| keep[h.index]).collect();
            let left: Vec<usize> = file
                .hits
                .iter()
                .filter(|h| h.matched && !keep[h.index])
                .map(|h| h.line_no)
                .collect();
            if shown.is_empty() {
                if keep[n + f] {
                    match file.heading {
                        Some(h) => {
                            self.push_line(&mut out, h);
                            out.push_str(&format!(
                                "  +{} more ({})\n",
                                left.len(),
                                line_list(&left)
                            ));
                        }
                        None => out.push_str(&name_line(&file.path, &left)),
                    }
                }
                continue;
            }
            if let Some(h) = file.heading {
                self.push_line(&mut out, h);
            }
            for h in &shown {
                self.push_line(&mut out, h.index);
            }
            // Under the file's own lines the path is plain to see.
            if !left.is_empty() && (detail == Detail::Full || keep[n + f]) {
                out.push_str(&format!("  +{} more ({})\n", left.len(), line_list(&left)));
            }
        }
        for &i in self.other.iter().filter(|&&i| keep[i]) {
            self.push_line(&mut out, i);
        }
        out.push_str(&marker(key, &self.summary(keep)));
        out.push('\n');
        out
    }

    fn summary(&self, keep: &[bool]) -> String {
        let c = self.counts(keep);
        let matches: usize = self
            .files
            .iter()
            .map(|f| f.hits.iter().filter(|h| h.matched).count())
            .sum();
        let mut s = format!(
            "{} of {matches} matches omitted in {} of {}",
            c.dropped,
            c.files_cut,
            plural(self.files.len(), "file")
        );
        if c.unnamed > 0 {
            s.push_str(&format!(", {} not named", plural(c.unnamed, "file")));
        }
        if c.errors > 0 {
            s.push_str(&format!("; {} of them with error words", c.errors));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::with_context;

    #[test]
    fn the_searched_word_is_found() {
        let texts = [
            "fn search_worker()",
            "let w = search_worker();",
            "search_worker(x)",
        ];
        let hits: Vec<Hit> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Hit {
                index: i,
                line_no: i,
                text: t,
                matched: true,
            })
            .collect();
        let refs: Vec<&Hit> = hits.iter().collect();
        assert_eq!(searched_word(&refs).as_deref(), Some("search_worker"));
    }

    #[test]
    fn error_types_are_not_errors() {
        let hit = |text: &'static str| Hit {
            index: 0,
            line_no: 1,
            text,
            matched: true,
        };
        let hits = [
            hit(") -> Result<Bytes, io::Error> {"),
            hit("impl Errors {"),
            hit("// entries corrupt on power failure"),
            hit("ERROR: lookup failed"),
            hit("/* Invalid argument */"),
        ];
        let refs: Vec<&Hit> = hits.iter().collect();
        assert_eq!(error_lines(&refs), vec![3, 4, 2]);
    }

    #[test]
    fn definitions_in_several_languages() {
        let name = |t: &str| definition_re().captures(t).map(|c| c[1].to_string());
        assert_eq!(name("#define\tEINVAL\t\t22").as_deref(), Some("EINVAL"));
        assert_eq!(name("# define  MAX 3").as_deref(), Some("MAX"));
        assert_eq!(name("pub fn run(x: u32)").as_deref(), Some("run"));
        assert_eq!(name("func (c *Command) Run()").as_deref(), Some("Run"));
        assert_eq!(name("    return undefined_thing"), None);
    }

    #[test]
    fn lines_parse_in_all_their_shapes() {
        assert_eq!(
            parse_line("src/a.rs:12:fn main() {"),
            Some((Some("src/a.rs"), 12, "fn main() {", true))
        );
        assert_eq!(
            parse_line("crates/uv-bench/x.rs-7-context"),
            Some((Some("crates/uv-bench/x.rs"), 7, "context", false))
        );
        assert_eq!(
            parse_line("42:    body"),
            Some((None, 42, "    body", true))
        );
        assert_eq!(
            parse_line("41-    before"),
            Some((None, 41, "    before", false))
        );
        assert_eq!(
            parse_line("src/a-1-b.rs:3:x"),
            Some((Some("src/a-1-b.rs"), 3, "x", true))
        );
        assert_eq!(parse_line("just text: no number"), None);
        assert_eq!(parse_line("  indented:1:x"), None);
        assert_eq!(parse_line("--"), None);
    }

    #[test]
    fn every_file_is_named_and_its_left_out_lines_counted() {
        let mut text = String::new();
        for f in 0..40 {
            for l in 0..5 {
                text.push_str(&format!(
                    "src/module_{f}.rs:{}:    let value = lookup(key_{l});\n",
                    10 + l
                ));
            }
        }
        let (out, _) = with_context(&text, "where is lookup called", 1200, |ctx| {
            let out = compress_search(&text, ctx).unwrap().output;
            assert!(ctx.counter.count(&out) <= 1200);
            out
        });
        for f in 0..40 {
            assert!(
                out.contains(&format!("src/module_{f}.rs:")),
                "module_{f} named: {out}"
            );
        }
        // A file with lines shown: its count sits under them, without the path again.
        assert!(
            out.contains(":10:    let value = lookup(key_0);\n  +4 more (lines 11, 12, 13, …)\n"),
            "{out}"
        );
        // A file with no line shown is named with its count.
        assert!(
            out.contains(".rs: +5 more (lines 10, 11, 12, …)\n"),
            "{out}"
        );
    }

    /// A hundred files with one match each: more than the budget holds, so files are named
    /// while the budget allows, an error line and the anchors stay, and the rest is counted.
    #[test]
    fn a_definition_unlike_the_others_is_shown() {
        let mut text = String::new();
        for f in 0..60 {
            text.push_str(&format!(
                "./lang_{f}/lib/update_checker.rb:{}:      def latest_version\n",
                20 + f
            ));
            text.push_str(&format!(
                "./lang_{f}/lib/update_checker.rb:{}:        @latest_version ||= fetch_latest_version\n",
                21 + f
            ));
            if f == 30 {
                text.push_str("./lang_30/lib/base.rb:22:      #     def latest_version\n");
                text.push_str("./lang_30/lib/base.rb:67:        def latest_version; end\n");
            }
        }
        let (out, _) = with_context(&text, "where is `latest_version` defined", 1000, |ctx| {
            compress_search(&text, ctx).unwrap().output
        });
        assert!(
            out.contains("base.rb:67:        def latest_version; end"),
            "{out}"
        );
        assert!(
            out.contains("base.rb:22:      #     def latest_version"),
            "{out}"
        );
    }

    #[test]
    fn wide_results_hold_the_budget() {
        let mut text = String::new();
        for f in 0..100 {
            let body = if f == 57 {
                "    log::error!(\"ERROR: lookup failed for {key}\");".to_string()
            } else {
                format!("    let value_{f} = lookup(&table, key_{f}).unwrap_or_default();")
            };
            text.push_str(&format!(
                "src/deeply/nested/module_{f:03}/handler.rs:{}:{body}\n",
                10 + f
            ));
        }
        for budget in [200, 500, 2000] {
            let (out, _) = with_context(&text, "", budget, |ctx| {
                let out = compress_search(&text, ctx).unwrap().output;
                let tokens = ctx.counter.count(&out);
                assert!(tokens <= budget, "{tokens} > {budget}");
                assert!(tokens * 10 >= budget * 6, "{tokens} of {budget}");
                out
            });
            assert!(out.contains("ERROR: lookup failed"), "{out}");
            assert!(out.contains("module_000/handler.rs:10:"), "{out}");
            assert!(out.contains("module_099/handler.rs:109:"), "{out}");
            if budget == 200 {
                assert!(out.contains("files not named"), "{out}");
            }
        }
    }

    #[test]
    fn headings_and_context_lines() {
        let mut text = String::new();
        for f in 0..30 {
            text.push_str(&format!("src/file_{f}.rs\n"));
            for l in 0..6 {
                let sep = if l == 3 { ':' } else { '-' };
                text.push_str(&format!(
                    "{}{sep}    let x_{l} = compute(input, {f});\n",
                    20 + l
                ));
            }
            text.push('\n');
        }
        let (out, store) = with_context(&text, "", 300, |ctx| {
            let out = compress_search(&text, ctx).unwrap();
            assert!(ctx.counter.count(&out.output) <= 300);
            out
        });
        // A match is shown under its file's heading; context comes after matches.
        assert!(
            out.output.starts_with("src/file_0.rs\n23:"),
            "{}",
            out.output
        );
        assert!(!out.output.contains("20-"), "{}", out.output);
        let key = &out.ccr_keys[0];
        let bytes = crate::ccr::entry::fetch(&store, "t", key).unwrap();
        let e = crate::ccr::entry::decode(&bytes).unwrap();
        assert_eq!(e.original, text.as_bytes());
        assert_eq!(e.header.kind, "search");
    }
}
