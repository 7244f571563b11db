//! Logs: repeated lines collapse into their template; what is unusual is shown first, as much
//! as the budget holds.
//!
//! Lines are grouped into templates, Drain-style: tokens with digits are masked (`15:16:01`
//! and `15:17:42` read alike), lines of the same length and first token fall in one bucket, and
//! a line joins the bucket's most similar template when most of its tokens are equal (the
//! differing positions become variables). Stack traces are found whole (see [`super::trace`]).
//!
//! Over the budget, lines are shown by rank (see [`super::fit`]): lines with the query's exact
//! terms; errors and fatal lines, the first of each error template
//! with the rarest templates first, each stack trace's key lines (its header, the exception,
//! each cause, the panic message) and its first and last frames, then the other forms of error
//! templates; the two lines strongest for the query's words (one line a template), short traces whole and a line of
//! context on either side of each error; warnings, rarest template first, then the inner
//! frames of long traces, then a few more lines for the query's words; the first and last lines and the first line of every
//! template, rarest first; the other lines of rare templates and errors; then the rest, spread
//! evenly. After a template's first line, one line says how many like it were left out and
//! where (`[+N more like this: lines A-B]`); inside a trace, how many of its lines. The whole
//! original is stored under one marker, which counts what was left out by level.

use super::fit::{self, Detail, Unit};
use super::keep;
use super::trace::{self, Trace};
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact};
use regex::Regex;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// Templates seen at most this often keep all their lines.
const RARE: usize = 2;
/// Lines scoring at least this share of the best for the query's words count as hits.
const QUERY_SHARE: f64 = 0.5;
/// Lines ranked for the query's words, at most.
const WORD_HITS: usize = 8;
/// Of those, ranked right after the errors.
const BEST_WORD_HITS: usize = 2;
/// Templates compared per bucket (the most recent ones), so huge logs stay linear.
const BUCKET_SCAN: usize = 256;
/// A line joins a template when at least this share of its tokens are equal. Headers (dates,
/// hosts, process ids) are equal in every line, so the share is high enough that the message
/// itself must be alike too.
const SIMILAR: f64 = 0.7;
/// Distinct forms of an error or warning template kept (differing in words, not numbers).
const ERROR_FORMS: usize = 8;

fn error_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(?-u:\b)(?:errors?|fail|failed|failure|fatal|exception|denied|refused|timed? ?out|timeout|unreachable|panic(?:ked)?|critical|corrupt\w*|abort(?:ed)?|invalid|unable|cannot|can't|severe)(?-u:\b)")
            .expect("valid pattern")
    })
}

/// A line that says an error word, not only inside a name (`libgpg-error-dev`,
/// `jk2_error_page`) nor as a count of none (`errors=0`, `0 errors`, `no errors`).
fn says_error(line: &str) -> bool {
    let inside = |c: Option<char>| c.is_some_and(|c| matches!(c, '-' | '_' | '.' | '/'));
    error_re().find_iter(line).any(|m| {
        let before = line[..m.start()].chars().next_back();
        let after = line[m.end()..].chars().next();
        let in_name = inside(before) && inside(after);
        !in_name && !counts_none(line, m.start(), m.end())
    })
}

/// Whether the word at `start..end` of `line` is counted as none: `errors=0`, `errors: 0`,
/// `0 errors`, `no errors`, `without errors`.
fn counts_none(line: &str, start: usize, end: usize) -> bool {
    let rest = line[end..].trim_start_matches([' ', '=', ':']);
    let zero_after =
        rest.starts_with('0') && !rest[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.');
    let word_before = line[..start]
        .trim_end()
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    zero_after || matches!(word_before.as_str(), "0" | "no" | "zero" | "without")
}

fn level_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i-u)(?:^|[\s\[(<,|])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRIT|CRITICAL|ALERT|EMERG|[VDIWEF])(?:$|[\s\]):>,|])")
            .expect("valid pattern")
    })
}

/// The level a line declares near its start, normalised (`W` → `WARN`).
fn level(line: &str) -> Option<&'static str> {
    let head = crate::detect::head(line, 96);
    // `find`, not `captures`: the word is the match without its delimiters, and finding runs
    // on the fast engine.
    let m = level_re().find(head)?;
    let word = m.as_str().trim_matches(|c: char| !c.is_ascii_alphabetic());
    // A single letter counts only in Android's `pid tid L tag:` shape.
    if word.len() == 1 && !word.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    Some(match word.to_ascii_uppercase().as_str() {
        "TRACE" | "V" => "TRACE",
        "DEBUG" | "D" => "DEBUG",
        "INFO" | "I" | "NOTICE" => "INFO",
        "WARN" | "WARNING" | "W" => "WARN",
        "ERROR" | "ERR" | "E" | "SEVERE" => "ERROR",
        _ => "FATAL",
    })
}

/// The line without ANSI colour and cursor sequences.
pub(crate) fn strip_ansi(line: &str) -> Cow<'_, str> {
    if !line.contains('\x1b') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, then one final byte.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// A token with its variable parts masked: runs of hex digits that hold a decimal digit
/// become `#` (`15:16:01` → `#:#:#`, `0x7f3a` → `#x#`, `pid=2915` → `pid=#`).
fn mask(token: &str) -> Cow<'_, str> {
    if !token.bytes().any(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(token);
    }
    let bytes = token.as_bytes();
    let mut out = String::with_capacity(token.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_hexdigit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                i += 1;
            }
            if bytes[start..i].iter().any(u8::is_ascii_digit) {
                out.push('#');
            } else {
                out.push_str(&token[start..i]);
            }
        } else {
            let start = i;
            i += 1;
            while i < bytes.len() && !bytes[i].is_ascii_hexdigit() {
                i += 1;
            }
            out.push_str(&token[start..i]);
        }
    }
    Cow::Owned(out)
}

struct Template {
    tokens: Vec<String>,
    /// Lines of this template by their exact masked form (first line of each), in order.
    forms: Vec<(u64, usize)>,
    /// Which tokens vary (`<*>`).
    wild: Vec<bool>,
    lines: Vec<usize>,
}

#[derive(Default)]
struct Miner {
    /// Templates by their token count and the hash of their first token.
    buckets: FxHashMap<(usize, u64), Vec<usize>>,
    templates: Vec<Template>,
}

impl Miner {
    /// Adds line `index` with `tokens`; returns its template.
    fn add(&mut self, index: usize, tokens: Vec<Cow<'_, str>>) -> usize {
        let first = tokens
            .first()
            .map_or(0, |t| FxBuildHasher.hash_one(t.as_ref()));
        let bucket = self.buckets.entry((tokens.len(), first)).or_default();
        let mut best: Option<(usize, usize)> = None;
        for &t in bucket.iter().rev().take(BUCKET_SCAN) {
            let tpl = &self.templates[t];
            let same = tpl
                .tokens
                .iter()
                .zip(&tpl.wild)
                .zip(&tokens)
                .filter(|((a, wild), b)| !**wild && a.as_str() == b.as_ref())
                .count();
            if best.is_none_or(|(_, n)| same > n) {
                best = Some((t, same));
            }
        }
        if let Some((t, same)) = best {
            // Short lines may differ in one token (`Compiling syn v2.0.1`), a few more in two.
            let len = tokens.len();
            let needed = match len {
                // Short lines may differ in two tokens (`Unpacking less (590-2.1) ...`).
                4..=6 => len - 2,
                _ => ((SIMILAR * len as f64).ceil() as usize).min(len.saturating_sub(1)),
            };
            if same >= needed.max(usize::from(len > 0)) {
                let tpl = &mut self.templates[t];
                for (i, tok) in tokens.iter().enumerate() {
                    if !tpl.wild[i] && tpl.tokens[i] != tok.as_ref() {
                        tpl.wild[i] = true;
                    }
                }
                tpl.lines.push(index);
                let form = form_hash(&tokens);
                if !tpl.forms.iter().any(|(h, _)| *h == form) {
                    tpl.forms.push((form, index));
                }
                return t;
            }
        }
        let t = self.templates.len();
        self.templates.push(Template {
            forms: vec![(form_hash(&tokens), index)],
            wild: vec![false; tokens.len()],
            tokens: tokens.into_iter().map(Cow::into_owned).collect(),
            lines: vec![index],
        });
        bucket.push(t);
        t
    }
}

/// Up to `n` of `lines` (indices into `plain`, in order), the first and then each time the
/// one whose masked tokens differ most from all chosen so far: many forms that differ only in
/// a user name yield to the one that tells another story.
fn most_different(lines: &[usize], plain: &[Cow<str>], n: usize) -> Vec<usize> {
    let tokens: Vec<Vec<Cow<str>>> = lines
        .iter()
        .map(|&i| plain[i].split_whitespace().map(mask).collect())
        .collect();
    let distance = |a: &[Cow<str>], b: &[Cow<str>]| {
        a.iter().zip(b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len())
    };
    let mut chosen: Vec<usize> = Vec::new();
    let mut nearest = vec![usize::MAX; lines.len()];
    while chosen.len() < n.min(lines.len()) {
        let next = if chosen.is_empty() {
            0
        } else {
            // Ties go to the earliest line.
            (0..lines.len())
                .filter(|&c| nearest[c] > 0)
                .max_by(|&a, &b| nearest[a].cmp(&nearest[b]).then(b.cmp(&a)))
                .unwrap_or(0)
        };
        if chosen.contains(&next) {
            break;
        }
        chosen.push(next);
        for c in 0..lines.len() {
            nearest[c] = nearest[c].min(distance(&tokens[c], &tokens[next]));
        }
    }
    chosen.into_iter().map(|c| lines[c]).collect()
}

fn form_hash(tokens: &[Cow<'_, str>]) -> u64 {
    FxBuildHasher.hash_one(tokens)
}

/// Tiers of what a log shows, lower first.
mod tier {
    /// Lines with the query's exact terms.
    pub const QUERY: u8 = 0;
    /// Errors and fatal lines (the first of each error template, rarest first), what stack
    /// traces say and their outer frames, other forms of error templates.
    pub const ERROR: u8 = 1;
    /// The two lines strongest for the query's words; short stack traces whole; a line of
    /// context on either side of the errors shown.
    pub const CONTEXT: u8 = 2;
    /// Warnings, rarest template first; then the inner frames of long stack traces; then the
    /// lines strongest for the query's words.
    pub const WARNING: u8 = 3;
    /// The first and last lines, the first line of every template (rarest first).
    pub const TEMPLATE: u8 = 4;
    /// The other lines of rare templates; the other error lines.
    pub const RARE: u8 = 5;
    /// The rest, evenly spread.
    pub const FILL: u8 = 6;
}

/// The longest a log line may be shown whole, in tokens: a tenth of the budget (one line must
/// not crowd out the others), but never very short.
fn line_cap(budget: usize) -> usize {
    (budget / 10).max(40)
}

/// Traces of at most this many lines are kept whole before other errors' context.
const SHORT_TRACE: usize = 20;
/// Orders inside a tier: each later group after every earlier one.
const GROUP: u64 = 1 << 40;
/// What a template's note after its first line costs, about.
const TEMPLATE_NOTE: usize = 12;

/// The rank of every line.
struct Ranks(Vec<Option<(u8, u64)>>);

impl Ranks {
    /// Ranks line `i` at `(tier, order)` unless it already ranks higher.
    fn put(&mut self, i: usize, tier: u8, order: u64) {
        if let Some(r) = self.0.get_mut(i) {
            if r.is_none_or(|(t, o)| (tier, order) < (t, o)) {
                *r = Some((tier, order));
            }
        }
    }
}

/// What the compressor knows about the log's lines.
struct Parsed<'a> {
    plain: Vec<Cow<'a, str>>,
    levels: Vec<Option<&'static str>>,
    /// Lines logged as errors or that say an error word.
    errors: Vec<bool>,
    template_of: Vec<usize>,
    miner: Miner,
    traces: Vec<Trace>,
    /// The trace each line is in.
    trace_at: Vec<Option<usize>>,
}

impl Parsed<'_> {
    fn errorish(&self, i: usize) -> bool {
        self.errors[i]
    }

    fn warnish(&self, i: usize) -> bool {
        self.levels[i] == Some("WARN")
    }
}

fn parse<'a>(lines: &[&'a str]) -> Parsed<'a> {
    let plain: Vec<Cow<str>> = lines.iter().map(|l| strip_ansi(content(l))).collect();
    let mut miner = Miner::default();
    let template_of: Vec<usize> = plain
        .iter()
        .enumerate()
        .map(|(i, l)| miner.add(i, l.split_whitespace().map(mask).collect()))
        .collect();
    let levels: Vec<Option<&'static str>> = plain.iter().map(|l| level(l)).collect();
    let errors = plain
        .iter()
        .zip(&levels)
        .map(|(l, level)| matches!(level, Some("ERROR" | "FATAL")) || says_error(l))
        .collect();
    let refs: Vec<&str> = plain.iter().map(|l| l.as_ref()).collect();
    let traces = trace::traces(&refs);
    let mut trace_at = vec![None; plain.len()];
    for (k, t) in traces.iter().enumerate() {
        trace_at[t.start..t.end].fill(Some(k));
    }
    Parsed {
        plain,
        levels,
        errors,
        template_of,
        miner,
        traces,
        trace_at,
    }
}

/// Ranks every line: the query's lines, errors with their traces and context, warnings, the
/// first line of every template, rare templates, then the rest spread evenly.
fn rank(p: &Parsed, ctx: &Context) -> Vec<Unit> {
    let n = p.plain.len();
    let mut r = Ranks(vec![None; n]);
    rank_query(p, ctx, &mut r);
    let in_trace: Vec<bool> = p.trace_at.iter().map(Option::is_some).collect();
    // Errors: each error template and each trace counts as one story; lines logged as errors
    // before lines that only say an error word; short lines before long ones, so that one long
    // line does not keep several stories out; then the rarest first.
    let mut stories: Vec<(bool, bool, usize, usize, Vec<usize>)> = Vec::new();
    // A level is a field only where most lines have one; elsewhere (syslog) an `Error:` near
    // the start is a word of the message like any other.
    let leveled = 2 * p.levels.iter().filter(|l| l.is_some()).count() >= n;
    let worded = |i: usize| !(leveled && matches!(p.levels[i], Some("ERROR" | "FATAL")));
    let long = |i: usize| crate::tokens::estimate(&p.plain[i]) > line_cap(ctx.budget);
    for tpl in &p.miner.templates {
        let errors: Vec<usize> = tpl
            .lines
            .iter()
            .copied()
            .filter(|&i| p.errorish(i) && !in_trace[i])
            .collect();
        if let Some(&first) = errors.first() {
            stories.push((worded(first), long(first), errors.len(), first, vec![first]));
        }
    }
    for t in &p.traces {
        stories.push((false, false, 1, t.start, t.keys.clone()));
    }
    stories.sort_by_key(|s| (s.0, s.1, s.2, s.3));
    for (k, (_, _, _, _, lines)) in stories.iter().enumerate() {
        for (j, &i) in lines.iter().enumerate() {
            r.put(i, tier::ERROR, k as u64 * 64 + j.min(63) as u64);
        }
        // A line of context on either side.
        if let Some(&i) = lines.first() {
            if i > 0 {
                r.put(i - 1, tier::CONTEXT, 3 * GROUP + 2 * k as u64);
            }
            r.put(i + 1, tier::CONTEXT, 3 * GROUP + 2 * k as u64 + 1);
        }
    }
    for (k, t) in p.traces.iter().enumerate() {
        for (j, &i) in t.outer.iter().enumerate() {
            r.put(i, tier::ERROR, GROUP + k as u64 * 8 + j.min(7) as u64);
        }
        // A short trace is kept whole before the context of other errors; a long one's inner
        // frames come after the warnings.
        let inner = if t.end - t.start <= SHORT_TRACE {
            tier::CONTEXT
        } else {
            tier::WARNING
        };
        for i in t.start..t.end {
            r.put(i, inner, 2 * GROUP + i as u64);
        }
    }
    rank_forms(p, &mut r, &in_trace);
    // The first and last lines, and the first line of every template, rarest first.
    if n > 0 {
        r.put(0, tier::TEMPLATE, 0);
        r.put(n - 1, tier::TEMPLATE, 1);
    }
    for tpl in &p.miner.templates {
        let first = tpl.lines[0];
        if tpl.tokens.is_empty() {
            // Blank lines say nothing.
            continue;
        }
        r.put(
            first,
            tier::TEMPLATE,
            2 + (tpl.lines.len() * n + first) as u64,
        );
        if tpl.lines.len() <= RARE {
            for &i in &tpl.lines[1..] {
                r.put(i, tier::RARE, i as u64);
            }
        }
    }
    for i in 0..n {
        if p.errorish(i) {
            r.put(i, tier::RARE, GROUP + fit::spread(i, n));
        }
        r.put(i, tier::FILL, fit::spread(i, n));
    }
    r.0.iter()
        .enumerate()
        .map(|(i, t)| {
            let (t, o) = t.unwrap_or((tier::FILL, 0));
            Unit::line(i, t, o)
        })
        .collect()
}

/// Lines with the query's exact terms, then those strongest for its words.
fn rank_query(p: &Parsed, ctx: &Context, r: &mut Ranks) {
    if !ctx.query.exact.is_empty() {
        for (i, line) in p.plain.iter().enumerate() {
            if ctx.query.exact.iter().any(|t| contains_exact(line, t)) {
                r.put(i, tier::QUERY, i as u64);
            }
        }
    }
    if !ctx.query.words.is_empty() {
        let texts: Vec<Vec<&str>> = p.plain.iter().map(|l| vec![l.as_ref()]).collect();
        let scores = bm25(&texts, &ctx.query.words);
        let best = scores.iter().copied().fold(0.0f64, f64::max);
        let mut hits: Vec<usize> = (0..scores.len())
            .filter(|&i| best > 0.0 && scores[i] >= QUERY_SHARE * best)
            .collect();
        hits.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        // Words of a question ("what events occurred in this log") match loosely, often a
        // word every line of one template has: one line per template, the best, so that the
        // hits show different things. The best two come right after the errors, a few more
        // after the warnings.
        let mut seen = HashSet::new();
        hits.retain(|&i| seen.insert(p.template_of[i]));
        for (k, i) in hits.into_iter().take(WORD_HITS).enumerate() {
            if k < BEST_WORD_HITS {
                r.put(i, tier::CONTEXT, k as u64);
            } else {
                r.put(i, tier::WARNING, 4 * GROUP + k as u64);
            }
        }
    }
}

/// The distinct forms of error and warning templates (`Failed password for root` and
/// `Failed none for invalid user 0` are one template but two stories), and the first
/// warning of every template, rarest first.
fn rank_forms(p: &Parsed, r: &mut Ranks, in_trace: &[bool]) {
    let mut warned: Vec<(usize, usize)> = Vec::new();
    for (t, tpl) in p.miner.templates.iter().enumerate() {
        let forms: Vec<usize> = tpl
            .forms
            .iter()
            .map(|&(_, i)| i)
            .filter(|&i| !in_trace[i] && (p.errorish(i) || p.warnish(i)))
            .take(512)
            .collect();
        for (k, i) in most_different(&forms, &p.plain, ERROR_FORMS)
            .into_iter()
            .enumerate()
        {
            let tier = if p.errorish(i) {
                tier::ERROR
            } else {
                tier::WARNING
            };
            r.put(
                i,
                tier,
                3 * GROUP + (k * p.miner.templates.len() + t) as u64,
            );
        }
        let warnings = tpl.lines.iter().filter(|&&i| p.warnish(i)).count();
        if let Some(&i) = tpl.lines.iter().find(|&&i| p.warnish(i)) {
            warned.push((warnings, i));
        }
    }
    warned.sort();
    for (k, (_, i)) in warned.into_iter().enumerate() {
        r.put(i, tier::WARNING, k as u64);
    }
}

/// Compresses a log (see the module docs).
pub fn compress_log(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let p = parse(&lines);
    let units = rank(&p, ctx);
    let cut = keep::cut_long_lines(&lines, line_cap(ctx.budget), ctx);
    let first_of: Vec<bool> = {
        let mut v = vec![false; n];
        for tpl in &p.miner.templates {
            v[tpl.lines[0]] = tpl.lines.len() > 1 && !tpl.tokens.is_empty();
        }
        v
    };
    let cost = |i: usize| {
        keep::cost(&lines, &cut, i)
            + if first_of[i] && p.trace_at[i].is_none() {
                TEMPLATE_NOTE
            } else {
                0
            }
    };
    let mut render =
        |keep: &[bool], detail: Detail, key: &Key| render_log(&lines, &p, keep, &cut, detail, key);
    let plan = fit::Plan {
        kind: "log",
        original: text,
        lines: &lines,
        units,
    };
    let fitted = plan.fit(&cost, ctx, &mut render);
    let fitted = keep::repair(&plan.units, fitted, tier::ERROR, ctx, &mut render);
    let stored = plan.store_and_render(fitted, &|i| !cut.contains_key(&i), ctx, &mut render)?;
    let mut dropped = BTreeMap::new();
    dropped.insert("lines".to_string(), n - stored.kept);
    Ok(TextOutcome {
        output: stored.output,
        strategy: "log-templates",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: p.miner.templates.len(),
            dropped,
        },
    })
}

/// The kept lines; after a template's first line, how many like it were left out and where;
/// inside a stack trace, how many of its lines were left out; the marker, counting what was
/// left out by level.
fn render_log(
    lines: &[&str],
    p: &Parsed,
    keep: &[bool],
    cut: &HashMap<usize, usize>,
    detail: Detail,
    key: &Key,
) -> String {
    let n = lines.len();
    let mut out = String::new();
    let mut by_level: BTreeMap<String, usize> = BTreeMap::new();
    for i in (0..n).filter(|&i| !keep[i]) {
        *by_level
            .entry(p.levels[i].unwrap_or("other").to_string())
            .or_default() += 1;
    }
    let mut i = 0;
    while i < n {
        if !keep[i] {
            let start = i;
            while i < n && !keep[i] {
                i += 1;
            }
            if detail == Detail::Full {
                // Left-out lines inside a trace that goes on after them.
                let inside = p.trace_at[start].map(|t| &p.traces[t]);
                if inside.is_some_and(|t| t.start < start && i < t.end) {
                    out.push_str(&if i - start == 1 {
                        format!("  [… 1 line of this trace: {} …]\n", i)
                    } else {
                        format!(
                            "  [… {} lines of this trace: {}-{} …]\n",
                            i - start,
                            start + 1,
                            i
                        )
                    });
                }
            }
            continue;
        }
        keep::push_line(&mut out, lines[i], cut.get(&i).copied());
        if !out.ends_with('\n') {
            out.push('\n');
        }
        let tpl = &p.miner.templates[p.template_of[i]];
        // Inside a trace, the trace's own notes say what was left out.
        if detail == Detail::Full
            && tpl.lines[0] == i
            && p.trace_at[i].is_none()
            && !tpl.tokens.is_empty()
        {
            let left: Vec<usize> = tpl.lines.iter().copied().filter(|&j| !keep[j]).collect();
            if let (Some(&a), Some(&b)) = (left.first(), left.last()) {
                let at = if a == b {
                    format!("line {}", a + 1)
                } else {
                    format!("lines {}-{}", a + 1, b + 1)
                };
                out.push_str(&format!("  [+{} more like this: {at}]\n", left.len()));
            }
        }
        i += 1;
    }
    let dropped = keep.iter().filter(|k| !**k).count();
    let summary = format!(
        "{dropped} of {n} log lines omitted; {}; {} line templates",
        super::top_counts(&by_level, 4),
        p.miner.templates.len()
    );
    out.push_str(&marker(key, &summary));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_of_no_errors_is_not_an_error() {
        for quiet in [
            "progress=0.00 errors=0 currentActionErrors=0",
            "build finished: 0 errors, 2 warnings",
            "checked 12 files, no errors found",
            "errors: 0",
        ] {
            assert!(!says_error(quiet), "{quiet}");
        }
        for loud in [
            "errors=3",
            "error 10 opening file",
            "errors: 0.5% of requests",
            "5 errors",
        ] {
            assert!(says_error(loud), "{loud}");
        }
    }

    /// A word of the question that every line of one template has (a logger named
    /// `server_external_events`) brings one line of that template, not eight: the query's
    /// hits show different lines.
    #[test]
    fn query_words_bring_one_line_per_template() {
        let mut text = String::new();
        for i in 0..50 {
            text.push_str(&format!(
                "00:00:{i:02} INFO compute.server_external_events Received events for instances {i}\n"
            ));
        }
        text.push_str(
            "00:01:00 INFO compute.manager Running usage audit: 3 events dropped, 1 instances\n",
        );
        let lines = lines_of(&text);
        let p = parse(&lines);
        let (hits, _) =
            crate::context::with_context(&text, "which events or instances", 2000, |ctx| {
                let mut r = Ranks(vec![None; lines.len()]);
                rank_query(&p, ctx, &mut r);
                r.0.iter()
                    .enumerate()
                    .filter_map(|(i, t)| t.map(|_| i))
                    .collect::<Vec<_>>()
            });
        let templates: HashSet<usize> = hits.iter().map(|&i| p.template_of[i]).collect();
        assert_eq!(hits.len(), templates.len(), "{hits:?}");
        assert!(hits.contains(&50), "{hits:?}");
    }

    #[test]
    fn masking_makes_variable_tokens_alike() {
        assert_eq!(mask("15:16:01"), "#:#:#");
        assert_eq!(mask("sshd(pam_unix)[19939]:"), "sshd(pam_unix)[#]:");
        assert_eq!(mask("0x7fbc7ac683a0"), "#x#");
        assert_eq!(mask("user"), "user");
        assert_eq!(mask("deadbeef"), "deadbeef");
    }

    #[test]
    fn error_words_inside_names_do_not_count() {
        assert!(says_error("Failed to open connection: error 5"));
        assert!(says_error("read error: I/O"));
        assert!(!says_error("Unpacking libgpg-error-dev (1.46-1) ..."));
        assert!(says_error("libfoo-error: cannot open"));
    }

    #[test]
    fn levels() {
        assert_eq!(level("2015-10-18 18:01:47,978 INFO [main] x"), Some("INFO"));
        assert_eq!(
            level("03-17 16:13:38.811  1702  2395 W WindowManager: x"),
            Some("WARN")
        );
        assert_eq!(
            level("[Sun Dec 04 04:47:44 2005] [error] mod_jk"),
            Some("ERROR")
        );
        assert_eq!(level("Jun 14 15:16:01 combo sshd: session opened"), None);
    }

    #[test]
    fn ansi_colours_are_ignored() {
        assert_eq!(strip_ansi("\x1b[31mERROR\x1b[0m boom"), "ERROR boom");
    }

    #[test]
    fn the_budget_holds_and_errors_come_first() {
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!(
                "2024-05-01 12:{:02}:{:02} INFO [w-{}] request {i} served in {}ms\n",
                i / 60 % 60,
                i % 60,
                i % 4,
                i % 97
            ));
            if i % 500 == 250 {
                text.push_str(&format!(
                    "2024-05-01 12:30:00 ERROR [w-1] request {i} failed: upstream refused\n"
                ));
            }
        }
        text.push_str("2024-05-01 13:00:00 FATAL [main] out of disk space on /var\n");
        for budget in [150, 600, 2000] {
            let (out, _) = crate::context::with_context(&text, "", budget, |ctx| {
                let out = compress_log(&text, ctx).unwrap();
                let tokens = ctx.counter.count(&out.output);
                assert!(
                    tokens <= budget && tokens * 10 >= budget * 7,
                    "{tokens} of {budget}"
                );
                out
            });
            assert!(
                out.output.contains("FATAL [main] out of disk space"),
                "{}",
                out.output
            );
            assert!(
                out.output.contains("failed: upstream refused"),
                "{}",
                out.output
            );
        }
    }

    #[test]
    fn without_levels_rare_short_failures_come_before_repeated_and_long_ones() {
        // A syslog has no level field: `Error returned` near the start is a word of the
        // message, and one story told 40 times must not keep the rare ones out; nor may a
        // line longer than the line cap.
        let mut text = String::new();
        for i in 0..1500 {
            text.push_str(&format!(
                "Jul  1 10:{:02}:{:02} host-7 mds[{}]: volume {i} indexed\n",
                i / 60 % 60,
                i % 60,
                100 + i % 9
            ));
            if i % 37 < 4 {
                text.push_str(&format!(
                    "Jul  1 10:{:02}:00 host-7 daemon{}[31687]: Error returned from service{}: (null) {i}\n",
                    i / 60 % 60,
                    i % 37,
                    i % 37
                ));
            }
            if i == 700 {
                text.push_str(&format!(
                    "Jul  1 11:40:00 host-7 agent[5]: Error: sync failed {}\n",
                    "0x7fe13512cf70 {Domain=kCFErrorDomainCFNetwork Code=-1009} ".repeat(40)
                ));
            }
        }
        let rare = [
            "CFNetwork SSLHandshake failed (-9802)",
            "Error in CoreDragRemoveTrackingHandler: -1856",
            "arp_client_transmit(en0) failed, Network is down (50)",
            "CoreAnimation: timed out fence 5fe83",
            "Got an XPC error: Connection invalid",
        ];
        for (k, r) in rare.iter().enumerate() {
            text.push_str(&format!("Jul  2 0{k}:00:00 host-7 proc{k}[{k}]: {r}\n"));
        }
        let (out, _) =
            crate::context::with_context(&text, "", 220, |ctx| compress_log(&text, ctx).unwrap());
        for r in rare {
            assert!(out.output.contains(r), "{r} missing:\n{}", out.output);
        }
    }

    #[test]
    fn a_bare_traceback_keeps_its_first_line_and_its_exception() {
        let mut text = String::from("Traceback (most recent call last):\n");
        for i in 0..40 {
            text.push_str(&format!(
                "  File \"/srv/app/step{i}.py\", line {}, in step{i}\n    return step{}(x)\n",
                10 + i,
                i + 1
            ));
        }
        text.push_str("ValueError: invalid literal for int() with base 10: 'x'\n");
        let (out, _) =
            crate::context::with_context(&text, "", 150, |ctx| compress_log(&text, ctx).unwrap());
        let o = &out.output;
        assert!(o.starts_with("Traceback (most recent call last):\n"), "{o}");
        assert!(o.contains("ValueError: invalid literal"), "{o}");
        assert!(
            o.contains("step0.py") && o.contains("step39.py"),
            "outer frames: {o}"
        );
        assert!(o.contains("lines of this trace"), "{o}");
    }

    #[test]
    fn lines_of_a_template_join_it() {
        let mut m = Miner::default();
        let toks = |s: &'static str| s.split_whitespace().map(mask).collect::<Vec<_>>();
        let a = m.add(
            0,
            toks("Jun 14 15:16:01 combo sshd[1]: session opened for user root"),
        );
        let b = m.add(
            1,
            toks("Jun 14 15:17:02 combo sshd[2]: session opened for user alice"),
        );
        let c = m.add(
            2,
            toks("Jun 14 15:17:03 combo kernel: something else entirely, really odd"),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(m.templates[a].wild[9], "the user varies");
        assert!(!m.templates[a].wild[5], "the words stay");
    }
}
