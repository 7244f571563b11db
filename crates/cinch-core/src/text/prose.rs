//! Documents: Markdown, reStructuredText, HTML-flavoured READMEs, manual pages (`man`, `git
//! help`, `pydoc`) and `--help` text, deterministically.
//!
//! The document is split into sections at its headings (ATX `#`, setext and reStructuredText
//! underlines, HTML `<hN>`; in a document without those, the headings of manual pages and
//! `--help` text: a short line at the left margin, such as `NAME`, `OPTIONS` or `Commands:`,
//! with indented text under it, and sub-headings indented less than the text under them), and
//! each section into blocks: paragraphs, list items, tables, code fences, and option entries
//! (`-e, --regexp=PATTERNS` with its indented description).
//!
//! Held to the budget (see [`super::fit`]), the output shows every heading first; then what the
//! query asks for: the entries of options it names, the blocks holding its exact terms, and
//! the sections it is about (their heading holds most of its words, or their text ranks high
//! for them), whole while they fit and otherwise their opening and best-ranked parts; then the
//! opening of every other section (its first paragraph, or the first sentences of it); then
//! warnings (`WARNING:`, `> [!CAUTION]`, `**Deprecated**`); and, up to half the budget, more of
//! the parts that rank for the query, then more paragraphs, a section's second before any
//! section's third (what is asked for and the map of the document come first; the rest is a
//! retrieval away). A block larger than a quarter of the budget is shown in parts (between its
//! blank lines, or line by line), each ranked on its own. Badges, HTML layout tags, link
//! reference definitions and repeated paragraphs are never shown. Kept lines stay byte for
//! byte; a long opening line is shown cut at a sentence end, marked with ` …`. The whole
//! original goes to the store under the marker at the end.

use super::fit::{self, Detail, Unit};
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact, words};
use crate::tokens::estimate;
use regex::Regex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

/// An opening shorter than this runs on to the end of the next sentence...
const OPENING_MIN: usize = 100;
/// ...unless that takes it past this.
const OPENING_LONG: usize = 240;
/// An opening cut before a sentence broken off by a line wrap keeps at least this much.
const SENTENCE_MIN: usize = 40;
/// The share of the budget that paragraphs past the openings and those ranked for the query
/// may bring the output up to.
const FILL_SHARE: (usize, usize) = (1, 2);
/// A section's first block of at most this many tokens is its opening as a whole.
const OPENING_MAX: usize = 30;

struct Patterns {
    atx: Regex,
    underline: Regex,
    html_heading: Regex,
    noise: Regex,
    link_def: Regex,
    admonition: Regex,
    option: Regex,
    list: Regex,
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
            // A warning a reader must not miss: `WARNING:`, `> [!CAUTION]`, `**Deprecated**`.
            admonition: re(r"(?x)
                (?-u:\b)(?:WARNING|CAUTION|DANGER|DEPRECATED|SECURITY)(?-u:\b)
              | ^\s*(?:>\s*)?(?:\[!|\*\*|\.\.\s)?(?i:warning|caution|danger|deprecated)(?-u:\b)
            "),
            // An option entry: `-a`, `--all`, `-e PATTERNS, --regexp=PATTERNS`.
            option: re(r"^\s*--?[A-Za-z0-9?#]"),
            list: re(r"^\s*(?:[-*+]|\d{1,3}[.)])\s"),
        }
    })
}

/// A code fence line (`` ``` `` or `~~~`); ```` ```inline``` ```` on one line is not one.
pub(crate) fn is_fence(trimmed: &str) -> bool {
    (trimmed.starts_with("```") && !trimmed[3..].contains("```")) || trimmed.starts_with("~~~")
}

/// An option entry's first line (`-a, --all`). The first character rules most lines out
/// before the pattern runs: these tests run on every line.
fn is_option(line: &str) -> bool {
    line.trim_start().starts_with('-') && patterns().option.is_match(line)
}

/// A list item's first line (`- a`, `* b`, `3. c`).
fn is_list(line: &str) -> bool {
    line.trim_start()
        .starts_with(|c: char| matches!(c, '-' | '*' | '+') || c.is_ascii_digit())
        && patterns().list.is_match(line)
}

/// Badges, images, HTML layout tags or a link reference definition: never shown.
fn is_noise(line: &str) -> bool {
    let p = patterns();
    line.trim_start().starts_with(['[', '!', '<'])
        && (p.noise.is_match(line) || p.link_def.is_match(line))
}

/// The width of a line's margin: its leading whitespace (tabs to the next multiple of eight),
/// and past it the ` |  ` rule `pydoc` draws down a class's documentation.
fn indent(line: &str) -> usize {
    margin(line).0
}

/// The width of a line's margin and what follows it.
fn margin(line: &str) -> (usize, &str) {
    let mut width = 0;
    let mut rest = line;
    for (at, c) in line.char_indices() {
        match c {
            ' ' => width += 1,
            '\t' => width = (width / 8 + 1) * 8,
            _ => {
                rest = &line[at..];
                break;
            }
        }
        rest = &line[at + c.len_utf8()..];
    }
    let ruled =
        width > 0 && rest.starts_with('|') && rest[1..].starts_with(|c: char| c.is_whitespace());
    if ruled || (width > 0 && content(rest) == "|") {
        let after = &rest[1..];
        let (more, tail) = margin(after);
        return (width + 1 + more, tail);
    }
    (width, rest)
}

/// A line with nothing in it but its margin.
fn blank(line: &str) -> bool {
    margin(line).1.trim().is_empty()
}

/// A section: its heading and the lines up to the next.
#[derive(Debug)]
struct Section {
    /// First line (the heading, or 0 for the text before the first heading).
    start: usize,
    /// Lines of the heading itself.
    heading_lines: usize,
    end: usize,
    title: String,
}

/// Markdown, reStructuredText and HTML headings: where each starts, how many lines it takes,
/// and its title.
fn markup_headings(lines: &[&str]) -> Vec<(usize, usize, String)> {
    let p = patterns();
    let mut heads = Vec::new();
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
        let prev_blank = i == 0 || blank(lines[i - 1]);
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
            // An HTML heading's text may sit on the next line.
            let text_below = !c.contains("</h") && next.is_some_and(|n| !n.trim().is_empty());
            heads.push((i, 1 + usize::from(text_below), t.to_string()));
        }
        i += 1;
    }
    heads
}

/// The headings of a manual page or `--help` text: a short line that does not end a sentence,
/// after a blank line (or first), with more indented text right under it; at the left margin
/// (`NAME`, `OPTIONS`, `Commands:`) or indented a little (`   Shell Variables`).
fn manual_headings(lines: &[&str]) -> Vec<(usize, usize, String)> {
    let mut heads = Vec::new();
    for i in 0..lines.len() {
        let c = content(lines[i]);
        let t = c.trim();
        let d = indent(c);
        if t.is_empty() || d > 4 || (i > 0 && !blank(lines[i - 1])) {
            continue;
        }
        let short = t.split_whitespace().count() <= 10 && t.chars().count() <= 72;
        if !short || t.ends_with(['.', ',', ';']) || is_option(t) || is_list(c) {
            continue;
        }
        let below = lines[i + 1..].iter().find(|l| !blank(l));
        if below.is_some_and(|l| indent(l) > d && indent(l) >= 2) {
            heads.push((i, 1, t.trim_end_matches(':').to_string()));
        }
    }
    heads
}

/// The sections of a document: at its markup headings, or at a manual page's.
fn sections(lines: &[&str]) -> Vec<Section> {
    let mut heads = markup_headings(lines);
    if heads.is_empty() {
        heads = manual_headings(lines);
        if heads.len() < 2 {
            heads.clear();
        }
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
            heading_lines: (*n).min(end - start),
            end,
            title: title.clone(),
        });
    }
    out
}

/// What a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A paragraph.
    Text,
    /// A list item, with its continuation lines.
    List,
    /// A table's rows.
    Table,
    /// A fenced block (whole), or a block of another kind cut out of the document.
    Code,
    /// An option with its description.
    Entry,
    /// Badges, layout tags, link definitions, a paragraph said before: never shown.
    Noise,
}

/// Lines shown or left out together, inside one section.
#[derive(Debug, Clone)]
struct Block {
    start: usize,
    end: usize,
    kind: Kind,
}

/// The blocks of `lines[from..to]`: paragraphs and entries run on over lines indented deeper
/// than their first (across blank lines too), and over lines as indented as their first when
/// nothing starts a new block there (an option, a list item, a fence).
fn blocks(lines: &[&str], from: usize, to: usize) -> Vec<Block> {
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        let c = content(lines[i]);
        let t = c.trim();
        if t.is_empty() {
            i += 1;
            continue;
        }
        if is_fence(t) {
            let close = (i + 1..to).find(|&k| is_fence(content(lines[k]).trim()));
            let end = close.map_or(to, |k| k + 1);
            out.push(Block {
                start: i,
                end,
                kind: Kind::Code,
            });
            i = end;
            continue;
        }
        if t.starts_with('\u{1}') || is_noise(c) {
            // A block cut out of the document (see `crate::mixed`) stands in as one line.
            let kind = if t.starts_with('\u{1}') {
                Kind::Code
            } else {
                Kind::Noise
            };
            out.push(Block {
                start: i,
                end: i + 1,
                kind,
            });
            i += 1;
            continue;
        }
        let d = indent(c);
        let kind = if is_option(c) {
            Kind::Entry
        } else if is_list(c) {
            Kind::List
        } else if t.starts_with('|') {
            Kind::Table
        } else {
            Kind::Text
        };
        let mut end = i + 1;
        let mut j = i + 1;
        // How deep the block's own continuation runs: an option less indented than that is an
        // entry of its own (`--help` texts indent long-only options a little).
        let mut deeper: Option<usize> = None;
        while j < to {
            let cj = content(lines[j]);
            let tj = cj.trim();
            if tj.is_empty() {
                // Across blank lines only into text indented deeper (an entry's description,
                // an example under a paragraph).
                let next = (j + 1..to).find(|&k| !blank(lines[k]));
                match next {
                    Some(k)
                        if indent(content(lines[k])) > d && !is_fence(content(lines[k]).trim()) =>
                    {
                        j = k;
                        continue;
                    }
                    _ => break,
                }
            }
            let dj = indent(cj);
            if dj > d && is_option(cj) && deeper.is_none_or(|e| dj < e) {
                break;
            }
            if dj > d && deeper.is_none() {
                deeper = Some(dj);
            }
            let starts_block = is_fence(tj)
                || tj.starts_with('\u{1}')
                || is_option(cj)
                || is_list(cj)
                || is_noise(cj);
            let same_kind = match kind {
                Kind::Table => tj.starts_with('|'),
                _ => !tj.starts_with('|'),
            };
            if dj > d && !is_fence(tj) || dj == d && !starts_block && same_kind {
                j += 1;
                end = j;
            } else {
                break;
            }
        }
        out.push(Block {
            start: i,
            end,
            kind,
        });
        i = end;
    }
    out
}

/// The opening of a paragraph line: its first sentences, at least [`OPENING_MIN`] bytes, but
/// only the first when the next would take it past [`OPENING_LONG`] (a sentence of links).
fn opening(line: &str) -> &str {
    let mut from = 0;
    let mut last = None;
    loop {
        let end = line[from..]
            .find(". ")
            .map_or(line.len(), |pos| from + pos + 1);
        if end >= OPENING_MIN || end == line.len() {
            return match last {
                Some(last) if end > OPENING_LONG => &line[..last],
                _ => &line[..end],
            };
        }
        last = Some(end);
        from = end + 1;
    }
}

/// `text` up to the end of its last sentence that ends in it, when that leaves at least
/// [`SENTENCE_MIN`] bytes; else all of it.
fn whole_sentences(text: &str) -> &str {
    match text.rfind(". ") {
        Some(at) if at + 1 >= SENTENCE_MIN => &text[..at + 1],
        _ => text,
    }
}

/// Whether `line` names `option` as a whole word (`-e` in `-e PATTERNS, --regexp=PATTERNS`, not
/// in `-ex` or `--e`).
fn names_option(line: &str, option: &str) -> bool {
    line.match_indices(option).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + option.len()..].chars().next();
        before.is_none_or(|c| c.is_whitespace() || matches!(c, ',' | '[' | '|' | '(' | '`'))
            && after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    })
}

/// Ranks of the units, lower first.
mod tier {
    /// Headings.
    pub const HEADING: u8 = 0;
    /// What the query asks for.
    pub const QUERY: u8 = 1;
    /// Each section's opening.
    pub const OPENING: u8 = 2;
    /// Blocks ranked for the query.
    pub const RANKED: u8 = 3;
    /// The rest, a section's second block before any section's third.
    pub const MORE: u8 = 4;
}

/// Compresses prose (see the module docs).
pub fn compress_prose(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let secs = sections(&lines);
    let cap = (ctx.budget / 4).max(40);
    let cost = |i: usize| estimate(lines[i]).max(1);

    // Blocks of each section; a paragraph said before, word for word, is noise.
    let mut all: Vec<(usize, Block)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (k, s) in secs.iter().enumerate() {
        for mut b in blocks(&lines, s.start + s.heading_lines, s.end) {
            let t = content(lines[b.start]).trim();
            if b.kind == Kind::Text && b.end == b.start + 1 && t.len() > 40 && !seen.insert(t) {
                b.kind = Kind::Noise;
            }
            all.push((k, b));
        }
    }

    // What the query asks for: the sections it is about, and blocks that hold its terms.
    let query = &ctx.query;
    let heading_hits = |s: &Section| {
        let title: HashSet<String> = words(&s.title).collect();
        query.words.iter().filter(|w| title.contains(*w)).count()
    };
    let section_texts: Vec<Vec<&str>> = secs
        .iter()
        .map(|s| lines[s.start..s.end].to_vec())
        .collect();
    let section_scores = bm25(&section_texts, &query.words);
    let top = section_scores.iter().copied().fold(0.0, f64::max);
    let mut about: Vec<usize> = (0..secs.len())
        .filter(|&k| {
            (!query.words.is_empty() && heading_hits(&secs[k]) * 5 >= query.words.len() * 3)
                || (top > 0.0 && section_scores[k] >= 0.8 * top)
        })
        .collect();
    about.sort_by(|&a, &b| {
        heading_hits(&secs[b])
            .cmp(&heading_hits(&secs[a]))
            .then(section_scores[b].total_cmp(&section_scores[a]))
            .then(a.cmp(&b))
    });
    // The best match is shown whole, or as much of it as fits; the others whole while they
    // take no more than half the budget together, else only their opening goes first.
    let section_cost = |s: &Section| (s.start..s.end).map(cost).sum::<usize>();
    let mut about_rank: HashMap<usize, u64> = HashMap::new();
    let mut spent = 0usize;
    for (r, &k) in about.iter().enumerate() {
        let c = section_cost(&secs[k]);
        if r == 0 || spent + c <= ctx.budget / 2 {
            about_rank.insert(k, r as u64);
        }
        spent += c;
    }
    // Blocks larger than a share of the budget are shown in parts (between blank lines, or
    // line by line), each ranked on its own: the part of a long entry that answers the query
    // goes first.
    let mut parts: Vec<(usize, Part)> = Vec::new();
    for (b, (_, block)) in all.iter().enumerate() {
        if block.kind != Kind::Noise {
            parts.extend(split(&lines, block, cap).into_iter().map(|part| (b, part)));
        }
    }
    let part_texts: Vec<Vec<&str>> = parts
        .iter()
        .map(|(_, part)| lines[part.start..part.end].to_vec())
        .collect();
    let part_scores = bm25(&part_texts, &query.words);
    // Parts that rank well for the query; a word of it in passing does not make one.
    let top_part = part_scores.iter().copied().fold(0.0, f64::max);
    let mut by_score: Vec<usize> = (0..parts.len())
        .filter(|&p| part_scores[p] > 0.0 && part_scores[p] >= 0.3 * top_part)
        .collect();
    by_score.sort_by(|&a, &b| part_scores[b].total_cmp(&part_scores[a]).then(a.cmp(&b)));
    let score_rank: HashMap<usize, u64> = by_score
        .iter()
        .enumerate()
        .map(|(r, &p)| (p, r as u64))
        .collect();

    let mut units: Vec<Unit> = Vec::new();
    let mut virtual_lines: Vec<String> = Vec::new();
    let mut cut_of: HashMap<usize, usize> = HashMap::new();
    for (k, s) in secs.iter().enumerate() {
        if s.heading_lines > 0 {
            units.push(Unit {
                start: s.start,
                end: s.start + s.heading_lines,
                tier: tier::HEADING,
                order: k as u64,
            });
        }
    }
    let mut nth_in_section: HashMap<usize, u64> = HashMap::new();
    let mut opened: HashSet<usize> = HashSet::new();
    let mut p = 0;
    while p < parts.len() {
        let b = parts[p].0;
        let (k, block) = &all[b];
        let nth = {
            let c = nth_in_section.entry(*k).or_default();
            *c += 1;
            *c - 1
        };
        // A section's first paragraph (or entry) is its opening: whole when short, else its
        // first line, or the first sentences of that line.
        if matches!(block.kind, Kind::Text | Kind::Entry)
            && opened.insert(*k)
            && !about_rank.contains_key(k)
        {
            let block_cost: usize = (block.start..block.end).map(cost).sum();
            let first = block.start;
            let line = content(lines[first]);
            // A paragraph wrapped at a fixed width breaks off mid-sentence at its line's end:
            // its opening stops at the last sentence that ends in the line.
            let wrapped = block.end > first + 1;
            let open = if wrapped {
                whole_sentences(opening(line))
            } else {
                opening(line)
            };
            if block_cost <= OPENING_MAX {
                units.push(Unit {
                    start: block.start,
                    end: block.end,
                    tier: tier::OPENING,
                    order: *k as u64,
                });
            } else if open.len() == line.len() || cost(first) <= OPENING_MAX && !wrapped {
                units.push(Unit::line(first, tier::OPENING, *k as u64));
            } else {
                cut_of.insert(n + virtual_lines.len(), first);
                units.push(Unit::line(
                    n + virtual_lines.len(),
                    tier::OPENING,
                    *k as u64,
                ));
                virtual_lines.push(format!("{open} …\n"));
            }
        }
        let mut part_no = 0u64;
        while p < parts.len() && parts[p].0 == b {
            let Part { start, end, from } = parts[p].1;
            let holds_option = part_no == 0
                && block.kind == Kind::Entry
                && query
                    .options
                    .iter()
                    .any(|o| names_option(content(lines[start]), o));
            let holds_exact = query
                .exact
                .iter()
                .any(|t| lines[start..end].iter().any(|l| contains_exact(l, t)));
            let warns = lines[start..end]
                .iter()
                .any(|l| patterns().admonition.is_match(l));
            let (t, order) = if holds_option {
                (tier::QUERY, p as u64)
            } else if holds_exact {
                (tier::QUERY, (1 << 40) + p as u64)
            } else if let Some(&r) = about_rank.get(k) {
                // A section the query is about: its opening, then its parts by rank for the
                // query, then the rest in order.
                let within = if nth == 0 && part_no == 0 {
                    0
                } else {
                    score_rank.get(&p).map_or((1 << 20) + p as u64, |&s| 1 + s)
                };
                (tier::QUERY, (2 << 40) + (r << 32) + within)
            } else if warns {
                // Right after the openings.
                (tier::OPENING, (1 << 32) + p as u64)
            } else if let Some(&s) = score_rank.get(&p) {
                (tier::RANKED, s)
            } else {
                (
                    tier::MORE,
                    (nth << 40) | ((*k as u64) << 12) | part_no.min(4095),
                )
            };
            // A line of a long paragraph or example, unless it answers the query, is shown
            // only after the lines before it: the beginning, not scattered lines.
            let alone = holds_exact || score_rank.contains_key(&p) || warns;
            units.push(Unit {
                start: if alone { start } else { from },
                end,
                tier: t,
                order,
            });
            part_no += 1;
            p += 1;
        }
    }

    let mut all_lines: Vec<&str> = lines.clone();
    all_lines.extend(virtual_lines.iter().map(String::as_str));
    let full_cost = |i: usize| estimate(all_lines[i]).max(1);
    let layout = Layout {
        lines: &lines,
        virtual_lines: &virtual_lines,
        cut_of: &cut_of,
        secs: &secs,
    };
    let mut render = |keep: &[bool], detail: Detail, key: &Key| layout.render(keep, detail, key);
    let plan = fit::Plan {
        kind: "prose",
        original: text,
        lines: &all_lines,
        units,
    };
    // What the reader asked for and the map of the document come first, up to the whole
    // budget; parts that only rank for the query and more paragraphs fill a share of it, the
    // rest being a retrieval away.
    let telling = fit::Plan {
        units: plan
            .units
            .iter()
            .filter(|u| u.tier < tier::RANKED)
            .copied()
            .collect(),
        ..plan
    };
    let mut fitted = telling.fit(&full_cost, ctx, &mut render);
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
        fitted = plan.fit(&full_cost, &capped, &mut render);
    }
    let shortened = layout.shortened(&fitted.keep);
    let stored = plan.store_and_render(fitted, &|i| i < n, ctx, &mut render)?;
    let mut dropped = BTreeMap::new();
    dropped.insert("lines".to_string(), n - stored.kept);
    dropped.insert("sections shortened".to_string(), shortened);
    Ok(TextOutcome {
        output: stored.output,
        strategy: "prose-outline",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: secs.len(),
            dropped,
        },
    })
}

/// A part of a block: its lines, and where the run of lines it belongs to starts.
#[derive(Debug, Clone, Copy)]
struct Part {
    start: usize,
    end: usize,
    from: usize,
}

/// A block as the parts it is shown in: whole when it costs no more than `cap` (a fence
/// always), else its parts between blank lines, and a part still larger line by line.
fn split(lines: &[&str], block: &Block, cap: usize) -> Vec<Part> {
    let cost = |r: std::ops::Range<usize>| r.map(|i| estimate(lines[i])).sum::<usize>();
    let whole = |start: usize, end: usize| Part {
        start,
        end,
        from: start,
    };
    if cost(block.start..block.end) <= cap || block.kind == Kind::Code {
        return vec![whole(block.start, block.end)];
    }
    let mut out = Vec::new();
    let mut part = block.start;
    while part < block.end {
        let mut end = part + 1;
        while end < block.end && !blank(lines[end]) {
            end += 1;
        }
        while end < block.end && blank(lines[end]) {
            end += 1;
        }
        if cost(part..end) <= cap {
            out.push(whole(part, end));
        } else {
            // Line by line, but a line of a brace or two is not worth showing on its own.
            out.extend(
                (part..end)
                    .filter(|&i| margin(lines[i]).1.trim().len() > 3)
                    .map(|i| Part {
                        start: i,
                        end: i + 1,
                        from: part,
                    }),
            );
        }
        part = end;
    }
    out
}

/// How an output is laid out: the lines shown, a blank line where lines were left out.
struct Layout<'a> {
    lines: &'a [&'a str],
    virtual_lines: &'a [String],
    /// For each virtual line (a cut opening), the line it cuts.
    cut_of: &'a HashMap<usize, usize>,
    secs: &'a [Section],
}

impl Layout<'_> {
    /// Which lines are shown cut: those whose opening is kept and not the line itself.
    fn cut_shown(&self, keep: &[bool]) -> HashMap<usize, usize> {
        let n = self.lines.len();
        self.cut_of
            .iter()
            .filter(|(&v, &i)| keep[v] && !keep[i])
            .map(|(&v, &i)| (i, v - n))
            .collect()
    }

    /// Sections whose body is not shown whole.
    fn shortened(&self, keep: &[bool]) -> usize {
        self.secs
            .iter()
            .filter(|s| {
                (s.start + s.heading_lines..s.end).any(|i| !keep[i] && !blank(self.lines[i]))
            })
            .count()
    }

    fn render(&self, keep: &[bool], _detail: Detail, key: &Key) -> String {
        let cut = self.cut_shown(keep);
        let mut out = String::new();
        let mut gap = false;
        for (i, line) in self.lines.iter().enumerate() {
            let shown_cut = cut.get(&i);
            if !keep[i] && shown_cut.is_none() {
                // Runs of left-out lines leave one blank line, so paragraphs stay apart.
                gap = true;
                continue;
            }
            if gap && !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            gap = false;
            match shown_cut {
                Some(&v) => out.push_str(&self.virtual_lines[v]),
                None => {
                    out.push_str(line);
                    if !out.ends_with('\n') {
                        out.push('\n');
                    }
                }
            }
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&marker(key, &self.summary(keep)));
        out.push('\n');
        out
    }

    fn summary(&self, keep: &[bool]) -> String {
        let n = self.lines.len();
        let shown = (0..n).filter(|&i| keep[i]).count();
        let headings_hidden = self
            .secs
            .iter()
            .filter(|s| s.heading_lines > 0 && !keep[s.start])
            .count();
        let mut s = format!(
            "the full document: {} of {n} lines omitted; {} of {} sections shortened",
            n - shown,
            self.shortened(keep),
            self.secs.len()
        );
        if headings_hidden > 0 {
            s.push_str(&format!(", {headings_hidden} headings not shown"));
        }
        s
    }
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
    fn manual_page_headings_and_entries() {
        let man = "LS(1)                 User Commands                LS(1)\n\nNAME\n       ls - list directory contents\n\nDESCRIPTION\n       List  information  about the FILEs.\n\n       -a, --all\n\t      do not ignore entries starting with .\n\n       -A, --almost-all\n\t      do not list implied . and ..\n\n   Exit status:\n       0      if OK,\n";
        let lines = lines_of(man);
        let titles: Vec<String> = sections(&lines).into_iter().map(|s| s.title).collect();
        assert_eq!(titles, vec!["", "NAME", "DESCRIPTION", "Exit status"]);
        let secs = sections(&lines);
        let kinds: Vec<(usize, usize, Kind)> = blocks(&lines, secs[2].start + 1, secs[2].end)
            .into_iter()
            .map(|b| (b.start, b.end, b.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (6, 7, Kind::Text),
                (8, 10, Kind::Entry),
                (11, 13, Kind::Entry)
            ]
        );
        let help = "Usage: grep [OPTION]... PATTERNS [FILE]...\nSearch for PATTERNS in each FILE.\n\nPattern selection and interpretation:\n  -E, --extended-regexp     PATTERNS are extended regular expressions\n  -e, --regexp=PATTERNS     use PATTERNS for matching\n                            (and more)\n\nMiscellaneous:\n  -s, --no-messages         suppress error messages\n";
        let lines = lines_of(help);
        let secs = sections(&lines);
        let titles: Vec<&str> = secs.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            vec!["", "Pattern selection and interpretation", "Miscellaneous"]
        );
        let entries: Vec<(usize, usize)> = blocks(&lines, secs[1].start + 1, secs[1].end)
            .into_iter()
            .map(|b| (b.start, b.end))
            .collect();
        assert_eq!(entries, vec![(4, 5), (5, 7)]);
    }

    #[test]
    fn pydoc_rules_are_margin() {
        assert_eq!(indent("     |  __init__(self)"), 8);
        assert_eq!(indent("     |      If indent is"), 12);
        assert!(blank("     |  \n"));
        assert!(blank("     |\n"));
        assert!(!blank("| a | b |\n"));
        assert_eq!(indent("| a | b |"), 0);
        assert_eq!(indent("\t      text"), 14);
    }

    #[test]
    fn options_are_named_as_whole_words() {
        let line = "       -e PATTERNS, --regexp=PATTERNS";
        assert!(names_option(line, "-e"));
        assert!(names_option(line, "--regexp"));
        assert!(!names_option(line, "-r"));
        assert!(!names_option("  -ex, --extra", "-e"));
    }

    #[test]
    fn openings_run_to_a_sentence_end() {
        let first = "The first sentence of this paragraph runs to about sixty chars.";
        let second = "The second one takes it past a hundred.";
        let long = format!("{first} {second} The third is left out.");
        assert_eq!(opening(&long), format!("{first} {second}"));
        assert_eq!(opening("No sentence end"), "No sentence end");
        // A line wrapped mid-sentence ends at the sentence before.
        let wrapped = "The following output is generated by the tool. Nothing beyond the";
        assert_eq!(
            whole_sentences(opening(wrapped)),
            "The following output is generated by the tool."
        );
        assert_eq!(
            whole_sentences("Too short. To cut here"),
            "Too short. To cut here"
        );
        // A second sentence of links is not run on to.
        let links =
            "Issues about [alerts](https://docs.example.com/code-security/dependabot/alerts) \
                     or the [graph](https://docs.example.com/code-security/supply-chain/graph) \
                     go to [discussions](https://github.com/orgs/community/discussions).";
        assert_eq!(opening(&format!("{first} {links}")), first);
        assert_eq!(opening(&format!("{first} {links} More.")), first);
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
