//! Prose and Markdown (also reStructuredText and HTML-flavoured READMEs), deterministically.
//!
//! The document is split into sections at its headings (ATX `#`, setext and reStructuredText
//! underlines, HTML `<hN>`). Every heading stays. Sections the query is about (their heading
//! holds most of the query's words, or their text ranks high by BM25) stay whole while they fit
//! the budget; every other section keeps its heading and the opening of its first paragraph
//! (its first sentences, at least a line's worth). Badges, HTML layout tags, link reference
//! definitions and repeated paragraphs are dropped everywhere. The whole original goes to the
//! store under the marker at the end.

use super::{content, finish, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::context::Context;
use crate::query::{bm25, words};
use crate::tokens::estimate;
use regex::Regex;
use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

/// An opening shorter than this runs on to the end of the next sentence.
const OPENING_MIN: usize = 100;

struct Patterns {
    atx: Regex,
    underline: Regex,
    html_heading: Regex,
    noise: Regex,
    link_def: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("valid pattern");
        Patterns {
            atx: re(r"^ {0,3}#{1,6}(?:\s|$)"),
            underline: re(r#"^(?:={3,}|-{3,}|~{3,}|\^{3,}|\*{3,}|\+{3,}|#{3,}|'{3,}|"{3,})\s*$"#),
            html_heading: re(r"(?i)^\s*<h[1-6]\b"),
            // A line that is only badges, images, or HTML layout tags.
            noise: re(r#"(?ix)^\s*(?:
                (?:\[?!\[[^\]]*\]\([^)]*\)(?:\]\([^)]*\))?\s*)+
              | (?:</?(?:p|div|img|picture|source|br|hr|a|span|sub|sup|center|details|summary|table|tr|td|th|tbody|thead)\b[^>]*>\s*)+
            )$"#),
            link_def: re(r"^\s{0,3}\[[^\]]+\]:\s*\S+"),
        }
    })
}

struct Section {
    /// First line (the heading, or 0 for the text before the first heading).
    start: usize,
    /// Lines of the heading itself (1, or 2 with an underline).
    heading_lines: usize,
    end: usize,
    title: String,
}

/// A code fence line (`` ``` `` or `~~~`); ```` ```inline``` ```` on one line is not one.
pub(crate) fn is_fence(trimmed: &str) -> bool {
    (trimmed.starts_with("```") && !trimmed[3..].contains("```")) || trimmed.starts_with("~~~")
}

/// Where the sections start, and how many lines their headings take.
fn sections(lines: &[&str]) -> Vec<Section> {
    let p = patterns();
    let mut heads: Vec<(usize, usize, String)> = Vec::new();
    let mut fence = false;
    let mut i = 0;
    while i < lines.len() {
        let c = content(lines[i]);
        let t = c.trim_start();
        if is_fence(t) {
            fence = !fence;
            i += 1;
            continue;
        }
        if fence {
            i += 1;
            continue;
        }
        let next = lines.get(i + 1).map(|l| content(l));
        let prev_blank = i == 0 || content(lines[i - 1]).trim().is_empty();
        if p.atx.is_match(c) {
            heads.push((i, 1, t.trim_start_matches('#').trim().to_string()));
        } else if !t.is_empty()
            && prev_blank
            && !p.underline.is_match(c)
            && !t.starts_with(['-', '*', '+', '|', '<', '>'])
            && next.is_some_and(|n| {
                // Markdown's `===`/`---` may be short; reStructuredText's other underlines are at
                // least as long as the title (which tells `~~~` from a fence).
                p.underline.is_match(n)
                    && (n.starts_with(['=', '-']) || n.trim().chars().count() >= t.chars().count())
            })
        {
            heads.push((i, 2, t.to_string()));
            i += 2;
            continue;
        } else if p.html_heading.is_match(c) {
            heads.push((i, 1, t.to_string()));
        }
        i += 1;
    }
    let mut out = Vec::new();
    let first = heads.first().map_or(lines.len(), |h| h.0);
    if first > 0 {
        out.push(Section {
            start: 0,
            heading_lines: 0,
            end: first,
            title: String::new(),
        });
    }
    for (k, (start, n, title)) in heads.iter().enumerate() {
        let end = heads.get(k + 1).map_or(lines.len(), |h| h.0);
        out.push(Section {
            start: *start,
            heading_lines: *n,
            end,
            title: title.clone(),
        });
    }
    out
}

/// The opening of a paragraph line: its first sentences, at least [`OPENING_MIN`] bytes.
fn opening(line: &str) -> &str {
    let mut from = 0;
    while let Some(pos) = line[from..].find(". ") {
        let end = from + pos + 1;
        if end >= OPENING_MIN {
            return &line[..end];
        }
        from = end + 1;
    }
    line
}

/// Compresses prose (see the module docs).
pub fn compress_prose(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let p = patterns();
    let lines = lines_of(text);
    let secs = sections(&lines);

    // Which sections the query is about.
    let query: Vec<String> = ctx.query.words.clone();
    let heading_hits = |s: &Section| {
        let title: HashSet<String> = words(&s.title).collect();
        query.iter().filter(|w| title.contains(*w)).count()
    };
    let texts: Vec<Vec<&str>> = secs
        .iter()
        .map(|s| lines[s.start..s.end].to_vec())
        .collect();
    let scores = bm25(&texts, &query);
    let top = scores.iter().copied().fold(0.0, f64::max);
    let mut order: Vec<usize> = (0..secs.len())
        .filter(|&k| {
            (!query.is_empty() && heading_hits(&secs[k]) * 5 >= query.len() * 3)
                || (top > 0.0 && scores[k] >= 0.8 * top)
        })
        .collect();
    order.sort_by(|&a, &b| {
        heading_hits(&secs[b])
            .cmp(&heading_hits(&secs[a]))
            .then(scores[b].total_cmp(&scores[a]))
    });
    let mut whole = vec![false; secs.len()];
    let mut spent = 0usize;
    for (rank, k) in order.into_iter().enumerate() {
        let cost: usize = lines[secs[k].start..secs[k].end]
            .iter()
            .map(|l| estimate(l))
            .sum();
        // The best match stays whole whatever its size; others while they fit.
        if rank == 0 || spent + cost <= ctx.budget / 2 {
            whole[k] = true;
            spent += cost;
        }
    }

    let mut keep = vec![false; lines.len()];
    let mut cut: BTreeMap<usize, usize> = BTreeMap::new();
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_paragraphs: HashSet<&str> = HashSet::new();
    for (k, s) in secs.iter().enumerate() {
        keep[s.start..s.start + s.heading_lines].fill(true);
        // An HTML heading's text may sit on the next line.
        let html_heading = s.heading_lines == 1 && p.html_heading.is_match(content(lines[s.start]));
        let body_start =
            s.start + s.heading_lines + usize::from(html_heading && s.start + 1 < s.end);
        if html_heading && body_start > s.start + 1 {
            keep[s.start + 1] = true;
        }
        let body = body_start..s.end;
        if whole[k] {
            body.clone().for_each(|i| keep[i] = true);
        } else {
            // The opening of the first paragraph of text (not a list, table, fence or tag).
            let mut fence = false;
            for i in body.clone() {
                let c = content(lines[i]);
                let t = c.trim();
                if is_fence(t) {
                    fence = !fence;
                    continue;
                }
                if fence || t.is_empty() || p.noise.is_match(c) || p.link_def.is_match(c) {
                    continue;
                }
                keep[i] = true;
                let open = opening(c);
                if open.len() < c.len() {
                    cut.insert(i, open.len());
                }
                break;
            }
            let cut_lines = body.clone().filter(|&i| !keep[i]).count();
            *dropped.entry("shortened sections".into()).or_default() += cut_lines;
        }
        // Noise goes everywhere (but not a heading's own lines); so do paragraphs said before.
        for i in body {
            let c = content(lines[i]);
            if keep[i] && (p.noise.is_match(c) || p.link_def.is_match(c)) && !c.trim().is_empty() {
                keep[i] = false;
                *dropped
                    .entry("badges, tags, link definitions".into())
                    .or_default() += 1;
            } else if keep[i]
                && i >= s.start + s.heading_lines
                && c.trim().len() > 40
                && !seen_paragraphs.insert(c.trim())
            {
                keep[i] = false;
                *dropped.entry("repeated".into()).or_default() += 1;
            }
        }
    }
    let kept = keep.iter().filter(|&&k| k).count();
    let mut out = String::with_capacity(text.len() / 3);
    let mut gap = false;
    for (i, line) in lines.iter().enumerate() {
        if !keep[i] {
            // Runs of dropped lines leave one blank line, so paragraphs stay apart.
            if !content(line).trim().is_empty() {
                gap = true;
            }
            continue;
        }
        if gap && !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        gap = false;
        match cut.get(&i) {
            Some(&len) => {
                out.push_str(&line[..len]);
                out.push_str(" …\n");
            }
            None => out.push_str(line),
        }
    }
    let shortened = whole.iter().filter(|w| !**w).count();
    let summary = format!(
        "the full document: {} of {} lines omitted here; {shortened} of {} sections shortened to their opening",
        lines.len() - kept,
        lines.len(),
        secs.len()
    );
    finish(
        ctx,
        out,
        text,
        &summary,
        "prose-outline",
        TextDetails {
            lines_before: lines.len(),
            lines_kept: kept,
            groups: secs.len(),
            dropped,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_of_every_flavour() {
        let doc = "Intro line.\n\n# One\n\ntext\n\nTwo\n===\n\nmore\n\n<h2>Three</h2>\n\n```\n# not a heading\n```\n";
        let lines = lines_of(doc);
        let titles: Vec<String> = sections(&lines).into_iter().map(|s| s.title).collect();
        assert_eq!(titles, vec!["", "One", "Two", "<h2>Three</h2>"]);
    }

    #[test]
    fn openings_run_to_a_sentence_end() {
        let first = "The first sentence of this paragraph runs to about sixty chars.";
        let second = "The second one takes it past a hundred.";
        let long = format!("{first} {second} The third is left out.");
        assert_eq!(opening(&long), format!("{first} {second}"));
        assert_eq!(opening("No sentence end"), "No sentence end");
    }

    #[test]
    fn noise_lines() {
        let p = patterns();
        assert!(p
            .noise
            .is_match("[![CI](https://x/badge.svg)](https://x) ![v](https://y.svg)"));
        assert!(p.noise.is_match("<p align=\"center\">"));
        assert!(p.noise.is_match("  </div>"));
        assert!(!p.noise.is_match("Some text with a [link](https://x)."));
        assert!(p.link_def.is_match("[docs]: https://example.com/docs"));
    }
}
