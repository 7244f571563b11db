//! Logs: repeated lines collapse into their template; what is unusual stays verbatim.
//!
//! Lines are grouped into templates, Drain-style: tokens with digits are masked (`15:16:01`
//! and `15:17:42` read alike), lines of the same length and first token fall in one bucket, and
//! a line joins the bucket's most similar template when at least half its tokens are equal
//! (the differing positions become variables). Kept verbatim: the first and last lines, the
//! first line of every template, the first error or warning line of every template that has
//! them, every line of rare templates, lines with the query's exact terms, and the continuation
//! lines (stack traces) after the first few errors. After a template's first line, one line
//! says how many like it were left out and where. The rest goes to the store under one marker
//! that counts it by level.

use super::{content, finish, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::context::Context;
use crate::query::contains_exact;
use regex::Regex;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// Templates seen at most this often keep all their lines.
const RARE: usize = 2;
/// Errors whose continuation lines (stack traces) are kept whole.
const TRACES: usize = 3;
/// At most this many continuation lines after one error.
const TRACE_LINES: usize = 40;
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
    buckets: HashMap<(usize, String), Vec<usize>>,
    templates: Vec<Template>,
}

impl Miner {
    /// Adds line `index` with `tokens`; returns its template.
    fn add(&mut self, index: usize, tokens: Vec<Cow<'_, str>>) -> usize {
        let first = tokens.first().map_or(String::new(), |t| t.to_string());
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
            // Short lines may differ in one token (`Compiling syn v2.0.1`).
            let len = tokens.len();
            let needed = ((SIMILAR * len as f64).ceil() as usize).min(len.saturating_sub(1));
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
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tokens.hash(&mut h);
    h.finish()
}

/// A line that continues the one before it: an indented line, a Java `at …` frame, `Caused
/// by:`, `... N more`.
fn is_continuation(line: &str) -> bool {
    line.starts_with([' ', '\t'])
        || line.starts_with("at ")
        || line.starts_with("Caused by")
        || line.starts_with("...")
}

/// Compresses a log (see the module docs).
pub fn compress_log(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let plain: Vec<Cow<str>> = lines.iter().map(|l| strip_ansi(content(l))).collect();
    let mut miner = Miner::default();
    let template_of: Vec<usize> = plain
        .iter()
        .enumerate()
        .map(|(i, l)| miner.add(i, l.split_whitespace().map(mask).collect()))
        .collect();
    let levels: Vec<Option<&'static str>> = plain.iter().map(|l| level(l)).collect();
    let errorish =
        |i: usize| matches!(levels[i], Some("ERROR" | "FATAL")) || error_re().is_match(&plain[i]);
    let warnish = |i: usize| levels[i] == Some("WARN");

    let mut keep = vec![false; n];
    if n > 0 {
        keep[0] = true;
        keep[n - 1] = true;
    }
    for tpl in &miner.templates {
        keep[tpl.lines[0]] = true;
        if tpl.lines.len() <= RARE {
            tpl.lines.iter().for_each(|&i| keep[i] = true);
        }
        // Errors and warnings: the first line of each of their forms (`Failed password for
        // root` and `Failed none for invalid user 0` are one template but two stories).
        let forms: Vec<usize> = tpl
            .forms
            .iter()
            .map(|&(_, i)| i)
            .filter(|&i| errorish(i) || warnish(i))
            .take(512)
            .collect();
        for i in most_different(&forms, &plain, ERROR_FORMS) {
            keep[i] = true;
        }
        if let Some(&i) = tpl.lines.iter().find(|&&i| errorish(i)) {
            keep[i] = true;
        }
        if let Some(&i) = tpl.lines.iter().find(|&&i| warnish(i)) {
            keep[i] = true;
        }
    }
    for (i, line) in plain.iter().enumerate() {
        if ctx.query.exact.iter().any(|t| contains_exact(line, t)) {
            keep[i] = true;
        }
    }
    let mut traces = 0;
    let mut i = 0;
    while i < n {
        if traces < TRACES && keep[i] && errorish(i) && i + 1 < n && is_continuation(&plain[i + 1])
        {
            let mut j = i + 1;
            while j < n && j <= i + TRACE_LINES && is_continuation(&plain[j]) {
                keep[j] = true;
                j += 1;
            }
            i = j;
            traces += 1;
            continue;
        }
        i += 1;
    }

    let kept = keep.iter().filter(|&&k| k).count();
    if kept == n {
        return Err(TextError::NothingToDrop(
            "every line of the log is unusual enough to keep",
        ));
    }
    // What each template left out, said after its first line.
    let mut left_out: HashMap<usize, (usize, usize, usize)> = HashMap::new();
    for (t, tpl) in miner.templates.iter().enumerate() {
        let dropped: Vec<usize> = tpl.lines.iter().copied().filter(|&i| !keep[i]).collect();
        if let (Some(&a), Some(&b)) = (dropped.first(), dropped.last()) {
            left_out.insert(t, (dropped.len(), a, b));
        }
    }
    let mut dropped_text = String::new();
    let mut by_level: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = String::with_capacity(text.len() / 4);
    for (i, line) in lines.iter().enumerate() {
        if !keep[i] {
            dropped_text.push_str(line);
            *by_level
                .entry(levels[i].unwrap_or("other").to_string())
                .or_default() += 1;
            continue;
        }
        out.push_str(line);
        let t = template_of[i];
        if miner.templates[t].lines[0] == i {
            if let Some((count, a, b)) = left_out.get(&t) {
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                let at = if a == b {
                    format!("line {}", a + 1)
                } else {
                    format!("lines {}-{}", a + 1, b + 1)
                };
                out.push_str(&format!("  [+{count} more like this: {at}]\n"));
            }
        }
    }
    let dropped = n - kept;
    let summary = format!(
        "{dropped} of {n} log lines omitted; {}; {} line templates",
        super::top_counts(&by_level, 4),
        miner.templates.len()
    );
    finish(
        ctx,
        out,
        &dropped_text,
        &summary,
        "log-templates",
        TextDetails {
            lines_before: n,
            lines_kept: kept,
            groups: miner.templates.len(),
            dropped: by_level,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_makes_variable_tokens_alike() {
        assert_eq!(mask("15:16:01"), "#:#:#");
        assert_eq!(mask("sshd(pam_unix)[19939]:"), "sshd(pam_unix)[#]:");
        assert_eq!(mask("0x7fbc7ac683a0"), "#x#");
        assert_eq!(mask("user"), "user");
        assert_eq!(mask("deadbeef"), "deadbeef");
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
