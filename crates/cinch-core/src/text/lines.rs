//! Text that no other compressor understands, kept as lines: never truncated like a document.
//!
//! Over the budget, lines are ranked and shown by rank until the output is full (see
//! [`super::fit`]): the first and last lines; lines with the query's exact terms, then lines
//! ranked for the query's words; lines that stand out (error words, a shape of line seen only
//! once among repeated ones); the first line of every shape; then the rest spread evenly, so
//! that whatever fits is a fair sample of the whole. Kept lines stay byte for byte, every run of
//! left-out lines says how many and which (`[… 37 lines: 120-156 …]`), and the whole original
//! is stored under one marker. A line too long for a share of the budget (minified code, a
//! 50 MB line of JSON) is shown cut, with how much was cut.
//!
//! This is also the router's last resort: whatever another compressor could not bring under
//! the budget comes here.

use super::fit::{self, Detail, Unit};
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::marker;
use crate::context::Context;
use crate::query::{bm25, contains_exact};
use crate::tokens::estimate;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// Words that make a line stand out wherever it is.
pub(crate) fn error_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(?-u:\b)(?:errors?|fail|failed|failure|fatal|exception|traceback|denied|refused|timed? ?out|timeout|unreachable|panic(?:ked)?|critical|corrupt\w*|abort(?:ed)?|invalid|unable|cannot|can't|segfault|segmentation fault|core dumped|killed|oom)(?-u:\b)")
            .expect("valid pattern")
    })
}

/// The shape of a line: digits masked, so that lines differing only in numbers read alike.
pub(crate) fn shape(line: &str) -> String {
    let mut out = String::with_capacity(line.len().min(256));
    let mut digits = false;
    for c in line.trim_end().chars().take(256) {
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

/// The longest a line may be shown whole, in tokens: a quarter of the budget, or most of it
/// when the text is only a few lines.
fn line_cap(budget: usize, lines: usize) -> usize {
    if lines <= 3 {
        budget * 3 / 4
    } else {
        (budget / 4).max(16)
    }
}

/// The first `tokens` tokens' worth of `line` (without its line ending), on a character
/// boundary, counted exactly.
pub(crate) fn prefix_within(line: &str, tokens: usize, ctx: &Context) -> usize {
    let line = content(line);
    // About four bytes a token to start with, then shrink until the count fits.
    let mut len = (tokens * 4).min(line.len());
    loop {
        while !line.is_char_boundary(len) {
            len -= 1;
        }
        let n = ctx.counter.count(&line[..len]);
        if n <= tokens || len == 0 {
            return len;
        }
        len = len * tokens / n.max(1);
        len = len.saturating_sub(1);
    }
}

/// How a line too long to show whole is shown.
fn cut_note(line: &str, shown: usize) -> String {
    format!(
        " …[{} more bytes of this line cut]",
        content(line).len() - shown
    )
}

/// Compresses text as lines (see the module docs).
pub fn compress_lines(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    compress_lines_capped(text, ctx, "lines")
}

/// The compressor without the within-budget check, storing the entry as `kind`: for the
/// router, which calls it on text another compressor could not bring under the budget.
pub(crate) fn compress_lines_capped(
    text: &str,
    ctx: &Context,
    kind: &str,
) -> Result<TextOutcome, TextError> {
    super::lossy_allowed(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();

    // Lines too long to show whole are shown cut.
    let cap = line_cap(ctx.budget, n);
    let mut cut: HashMap<usize, usize> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if estimate(l) > cap {
            cut.insert(i, prefix_within(l, cap, ctx));
        }
    }

    let mut units: Vec<Unit> = Vec::with_capacity(n);
    let mut tier: Vec<Option<(u8, u64)>> = vec![None; n];
    let mut rank = |i: usize, t: u8, o: u64| {
        if tier[i].is_none_or(|(t0, _)| t < t0) {
            tier[i] = Some((t, o));
        }
    };
    if n > 0 {
        rank(0, 0, 0);
        rank(n - 1, 0, 1);
    }
    // The query: exact terms first, then words by relevance.
    if !ctx.query.exact.is_empty() {
        for (i, l) in lines.iter().enumerate() {
            if ctx.query.exact.iter().any(|t| contains_exact(l, t)) {
                rank(i, 1, i as u64);
            }
        }
    }
    if !ctx.query.words.is_empty() {
        let texts: Vec<Vec<&str>> = lines.iter().map(|l| vec![*l]).collect();
        let scores = bm25(&texts, &ctx.query.words);
        let mut hits: Vec<usize> = (0..n).filter(|&i| scores[i] > 0.0).collect();
        hits.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        for (r, i) in hits.into_iter().enumerate() {
            rank(i, 2, r as u64);
        }
    }
    // What stands out: error words, and shapes seen once among lines that repeat.
    let shapes: Vec<String> = lines.iter().map(|l| shape(content(l))).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for s in &shapes {
        *seen.entry(s.as_str()).or_default() += 1;
    }
    let repetitive = seen.len() * 2 < n;
    let mut errors = 0usize;
    for (i, l) in lines.iter().enumerate() {
        if error_re().is_match(content(l)) {
            errors += 1;
            rank(i, 3, i as u64);
        } else if repetitive && seen[shapes[i].as_str()] == 1 && !content(l).trim().is_empty() {
            rank(i, 3, i as u64);
        }
    }
    // One line of every shape, then the rest spread evenly.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    for (i, s) in shapes.iter().enumerate() {
        first_of.entry(s.as_str()).or_insert(i);
    }
    for &i in first_of.values() {
        rank(i, 4, i as u64);
    }
    for (i, t) in tier.iter().enumerate() {
        let (t, o) = t.unwrap_or((5, fit::spread(i, n)));
        units.push(Unit::line(i, t, o));
    }

    let base_cost = fit::line_cost(&lines);
    let cost = |i: usize| match cut.get(&i) {
        Some(&shown) => estimate(&content(lines[i])[..shown]) + 8,
        None => base_cost(i),
    };
    let mut render = |keep: &[bool], detail: Detail, key: &crate::ccr::Key| {
        render_lines(
            &lines,
            keep,
            &cut,
            detail,
            &summary(&lines, keep, errors),
            key,
        )
    };
    let plan = fit::Plan {
        kind,
        original: text,
        lines: &lines,
        units,
    };
    let fitted = plan.fit(&cost, ctx, &mut render);
    let stored = plan.store_and_render(fitted, &|i| !cut.contains_key(&i), ctx, &mut render)?;
    let mut dropped = BTreeMap::new();
    dropped.insert("lines".to_string(), n - stored.kept);
    Ok(TextOutcome {
        output: stored.output,
        strategy: "lines",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: first_of.len(),
            dropped,
        },
    })
}

/// What the marker says was left out.
fn summary(lines: &[&str], keep: &[bool], errors: usize) -> String {
    let n = lines.len();
    let dropped = keep.iter().filter(|k| !**k).count();
    let dropped_errors = if errors == 0 {
        0
    } else {
        (0..n)
            .filter(|&i| !keep[i] && error_re().is_match(content(lines[i])))
            .count()
    };
    let mut s = format!("{dropped} of {n} lines omitted");
    if dropped_errors > 0 {
        s.push_str(&format!(", {dropped_errors} of them with error words"));
    }
    s.push_str("; retrieve with a query for lines you need");
    s
}

/// The kept lines, a note for every run of left-out ones, and the marker.
fn render_lines(
    lines: &[&str],
    keep: &[bool],
    cut: &HashMap<usize, usize>,
    detail: Detail,
    summary: &str,
    key: &crate::ccr::Key,
) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        if keep[i] {
            match cut.get(&i) {
                Some(&shown) => {
                    out.push_str(&content(lines[i])[..shown]);
                    out.push_str(&cut_note(lines[i], shown));
                    out.push('\n');
                }
                None => out.push_str(lines[i]),
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !keep[i] {
            i += 1;
        }
        if detail == Detail::Full {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            let run = i - start;
            if run == 1 {
                out.push_str(&format!("[… 1 line: {} …]\n", start + 1));
            } else {
                out.push_str(&format!("[… {run} lines: {}-{} …]\n", start + 1, i));
            }
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&marker(key, summary));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccr::entry;
    use crate::context::with_context;
    use crate::Store;

    #[test]
    fn a_long_listing_fills_the_budget_keeps_what_stands_out_and_stores_everything() {
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format!("item-{i:05} status=ok size={}\n", 100 + i % 7));
        }
        text = text.replace(
            "item-01234 status=ok size=102\n",
            "item-01234 status=ok size=102 error: checksum mismatch\n",
        );
        let (out, store) = with_context(&text, "", 500, |ctx| {
            let out = compress_lines(&text, ctx).unwrap();
            let tokens = ctx.counter.count(&out.output);
            assert!((350..=500).contains(&tokens), "{tokens}");
            out
        });
        assert!(out
            .output
            .contains("item-01234 status=ok size=102 error: checksum mismatch"));
        assert!(out.output.starts_with("item-00000 "));
        assert!(out.output.contains("item-02999 "));
        assert!(out.output.contains("[… "));
        let stored = store.get("t", &out.ccr_keys[0]).unwrap();
        let e = entry::decode(&stored).unwrap();
        assert_eq!(e.original, text.as_bytes(), "the whole original is stored");
        assert_eq!(e.header.kind, "lines");
        let kept: usize = e.header.kept.iter().map(|r| r.1 - r.0).sum();
        assert_eq!(kept, out.details.lines_kept);
    }

    #[test]
    fn the_query_decides_first() {
        let text: String = (0..2000)
            .map(|i| format!("host-{i} up 0.0{}\n", i % 10))
            .collect();
        let (out, _) = with_context(&text, "is host-1717 up", 200, |ctx| {
            compress_lines(&text, ctx).unwrap()
        });
        assert!(out.output.contains("host-1717 up"), "{}", out.output);
    }

    #[test]
    fn one_huge_line_is_cut_with_a_note() {
        let text = "x".repeat(200_000) + "\n";
        let (out, _) = with_context(&text, "", 300, |ctx| {
            let out = compress_lines(&text, ctx).unwrap();
            assert!(ctx.counter.count(&out.output) <= 300);
            out
        });
        assert!(out.output.starts_with("xxxx"));
        assert!(out.output.contains("more bytes of this line cut]"));
        assert_eq!(out.details.lines_kept, 0, "a cut line is not kept whole");
    }
}
