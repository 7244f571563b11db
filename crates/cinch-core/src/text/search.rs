//! Search results (`grep -n`, ripgrep): every file named, the best lines kept.
//!
//! Lines are grouped by file. Kept first: lines that define what the search is about (a
//! definition keyword followed by a word of the query, or by the word most lines share), then
//! each file's first match, then lines ranked by relevance to the query (BM25), while they fit
//! the budget. A file whose lines were not all kept gets one line saying how many were left
//! out and where, so no file disappears; kept lines stay byte for byte.

use super::{content, finish, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::context::Context;
use crate::query::bm25;
use crate::tokens::estimate;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

struct Hit<'a> {
    /// Index of the input line.
    index: usize,
    line_no: usize,
    text: &'a str,
}

/// A search result line: `path:N:text` (a match), `path-N-text` (context), or `N:text` /
/// `N-text` under a ripgrep heading (no path).
fn parse_line(line: &str) -> Option<(Option<&str>, usize, &str)> {
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
                return Some((None, n, &line[text..]));
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
            return Some((Some(&line[..i]), n, &line[text..]));
        }
    }
    // A context line: the first `-N-` before any `:`.
    let limit = colon.unwrap_or(line.len());
    for (i, _) in line[..limit].match_indices('-') {
        if i == 0 {
            continue;
        }
        if let Some((n, text)) = number(i + 1, b'-') {
            return Some((Some(&line[..i]), n, &line[text..]));
        }
    }
    None
}

fn definition_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?-u:\b)(?:def|class|fn|struct|enum|trait|type|func|function|module|interface|impl|mod|macro_rules!|const|let|var)\s+(?:\([^)]*\)\s*)?([A-Za-z_][A-Za-z0-9_]*)")
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

/// Compresses search results (see the module docs).
pub fn compress_search(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    // Files in order of first appearance, each with its lines.
    let mut files: Vec<(String, Vec<Hit>)> = Vec::new();
    let mut by_path: HashMap<String, usize> = HashMap::new();
    let mut heading: Option<String> = None;
    let mut other = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let c = content(line);
        let Some((path, n, text)) = parse_line(c) else {
            // ripgrep's heading mode: a path on its own line.
            if !c.trim().is_empty() && c != "--" && !c.contains(char::is_whitespace) {
                heading = Some(c.to_string());
            }
            other.push(index);
            continue;
        };
        let Some(path) = path.map(str::to_string).or_else(|| heading.clone()) else {
            other.push(index);
            continue;
        };
        let f = *by_path.entry(path.clone()).or_insert_with(|| {
            files.push((path, Vec::new()));
            files.len() - 1
        });
        files[f].1.push(Hit {
            index,
            line_no: n,
            text,
        });
    }
    if files.is_empty() {
        return Err(TextError::NothingToDrop("no `path:line:` lines were found"));
    }

    let all: Vec<&Hit> = files.iter().flat_map(|(_, h)| h.iter()).collect();
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
    let texts: Vec<Vec<&str>> = all.iter().map(|h| vec![h.text]).collect();
    let scores = bm25(&texts, &ctx.query.words);
    let score_of: HashMap<usize, f64> = all
        .iter()
        .zip(&scores)
        .map(|(h, s)| (h.index, *s))
        .collect();

    let mut keep = vec![false; lines.len()];
    let cost = |i: usize| estimate(lines[i]) + 1;
    // A file's summary line costs about this much; every file that loses lines gets one.
    let mut spent = files.len() * 12;
    // Definitions of what was searched for, while they fit.
    for h in all.iter().filter(|h| defines(h)) {
        if spent + cost(h.index) <= ctx.budget {
            keep[h.index] = true;
            spent += cost(h.index);
        }
    }
    // Then each file's first line, then the lines most relevant to the query (two per file at
    // most): enough to see where and how it is used; the rest are counted per file.
    let mut per_file: HashMap<usize, usize> = HashMap::new();
    let file_of: HashMap<usize, usize> = files
        .iter()
        .enumerate()
        .flat_map(|(f, (_, hits))| hits.iter().map(move |h| (h.index, f)))
        .collect();
    // Files with more matches first: they are where the searched thing lives.
    let mut by_size: Vec<&(String, Vec<Hit>)> = files.iter().collect();
    by_size.sort_by_key(|(_, h)| std::cmp::Reverse(h.len()));
    let firsts: Vec<usize> = by_size
        .iter()
        .filter_map(|(_, h)| h.first().map(|h| h.index))
        .collect();
    // Search results point at code the agent can open: past this much of the budget, files
    // are only named, with their counts.
    let lines_budget = ctx.budget * 3 / 5;
    // Lines that stand out: scored well above the typical line (when every line holds the
    // searched word, none does).
    let mut sorted = scores.clone();
    sorted.sort_by(f64::total_cmp);
    let typical = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let mut ranked: Vec<&Hit> = all
        .iter()
        .copied()
        .filter(|h| score_of[&h.index] > 0.0 && score_of[&h.index] > typical * 1.5)
        .collect();
    ranked.sort_by(|a, b| {
        score_of[&b.index]
            .total_cmp(&score_of[&a.index])
            .then(a.index.cmp(&b.index))
    });
    for (i, capped) in firsts
        .into_iter()
        .map(|i| (i, false))
        .chain(ranked.iter().map(|h| (h.index, true)))
    {
        let f = file_of[&i];
        if keep[i] || (capped && per_file.get(&f).copied().unwrap_or(0) >= 2) {
            continue;
        }
        if spent + cost(i) > lines_budget {
            continue;
        }
        keep[i] = true;
        spent += cost(i);
        *per_file.entry(f).or_default() += 1;
    }
    // Lines that are neither matches nor context (separators, blank lines) stay if short.
    for &i in &other {
        keep[i] = content(lines[i]).len() <= 2 || keep.get(i + 1).copied().unwrap_or(false);
    }

    let kept = keep.iter().filter(|&&k| k).count();
    if kept == lines.len() {
        return Err(TextError::NothingToDrop("every line fits the budget"));
    }
    let mut out = String::new();
    let mut dropped_text = String::new();
    let mut files_cut = 0usize;
    let mut dropped_matches = 0usize;
    for (path, hits) in &files {
        let left: Vec<&Hit> = hits.iter().filter(|h| !keep[h.index]).collect();
        let mut shown = false;
        for h in hits.iter().filter(|h| keep[h.index]) {
            shown = true;
            out.push_str(lines[h.index]);
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        if !left.is_empty() {
            files_cut += 1;
            dropped_matches += left.len();
            let nums: Vec<String> = left.iter().take(3).map(|h| h.line_no.to_string()).collect();
            let more = if left.len() > 3 { ", …" } else { "" };
            // Under the file's own lines the path is plain to see; a file with none kept is
            // still named.
            let head = if shown {
                "  ".to_string()
            } else {
                format!("{path}: ")
            };
            out.push_str(&format!(
                "{head}+{} more (lines {}{more})\n",
                left.len(),
                nums.join(", ")
            ));
            for h in left {
                dropped_text.push_str(lines[h.index]);
                if !dropped_text.ends_with('\n') {
                    dropped_text.push('\n');
                }
            }
        }
    }
    for &i in other.iter().filter(|&&i| !keep[i]) {
        dropped_text.push_str(lines[i]);
    }
    let summary = format!(
        "{dropped_matches} of {} lines omitted in {files_cut} of {} files",
        all.len(),
        files.len()
    );
    finish(
        ctx,
        out,
        &dropped_text,
        &summary,
        "search-by-file",
        TextDetails {
            lines_before: lines.len(),
            lines_kept: kept,
            groups: files.len(),
            dropped: BTreeMap::from([("lines".to_string(), dropped_matches)]),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
            })
            .collect();
        let refs: Vec<&Hit> = hits.iter().collect();
        assert_eq!(searched_word(&refs).as_deref(), Some("search_worker"));
    }

    #[test]
    fn lines_parse_in_all_three_shapes() {
        assert_eq!(
            parse_line("src/a.rs:12:fn main() {"),
            Some((Some("src/a.rs"), 12, "fn main() {"))
        );
        assert_eq!(
            parse_line("crates/uv-bench/x.rs-7-context"),
            Some((Some("crates/uv-bench/x.rs"), 7, "context"))
        );
        assert_eq!(parse_line("42:    body"), Some((None, 42, "    body")));
        assert_eq!(
            parse_line("src/a-1-b.rs:3:x"),
            Some((Some("src/a-1-b.rs"), 3, "x"))
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
        let (out, _) = crate::context::with_context(&text, "where is lookup called", 1200, |ctx| {
            compress_search(&text, ctx).unwrap().output
        });
        for f in 0..40 {
            assert!(
                out.contains(&format!("src/module_{f}.rs:")),
                "module_{f} named: {out}"
            );
        }
        // A file whose first line stayed: its count sits under it, without the path again.
        assert!(
            out.contains(":10:    let value = lookup(key_0);\n  +4 more (lines 11, 12, 13, …)\n"),
            "{out}"
        );
        // A file with no line kept is named with its count.
        assert!(
            out.contains(".rs: +5 more (lines 10, 11, 12, …)\n"),
            "{out}"
        );
    }
}
