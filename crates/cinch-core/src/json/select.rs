//! Query-aware row selection for arrays over the token budget.
//!
//! Rows that matter most, in this order while they fit the budget: rows matching the query
//! (field clauses and exact terms first; the best-ranked word matches by BM25 with IDF over the
//! rows), error and failure rows, numeric outliers (median/MAD), change points of ordered
//! numeric series, the first and last rows, and one row for every value of each low-cardinality
//! field. The rest of the budget is filled by relevance, then even spacing.

use super::encode::{Cells, Column};
use crate::query::{bm25, clause_matches, contains_exact, leaf_texts, scalar_str, Query};
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// Why a row was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Matches the query.
    Query,
    /// A row whose fields report an error or failure.
    Error,
    /// Holds a numeric outlier.
    Outlier,
    /// Starts a new level of an ordered numeric series.
    ChangePoint,
    /// A row whose text mentions an error.
    ErrorMention,
    /// First or last row.
    Anchor,
    /// The first row of a category value.
    Category,
    /// Ranked by relevance to the query.
    Relevant,
    /// Even spacing to fill the budget.
    Spacing,
}

/// The rows kept, in order, each with the reason it was kept first.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Kept row indices, ascending.
    pub kept: Vec<usize>,
    /// Counts per reason.
    pub reasons: BTreeMap<&'static str, usize>,
}

fn error_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i-u)\b(errors?|fail(s|ed|ure|ing)?|fatal|exception|panic(ked)?|time[ds]?[ -]?out|denied|refused|crash(ed)?|critical|abort(ed)?|unreachable|unauthorized|forbidden)\b")
            .expect("valid regex")
    })
}

/// How a row reports an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ErrorSign {
    /// A field says so by what it is: a status-like field holding an error word, an HTTP
    /// 4xx/5xx status, `success`/`ok` false.
    Field,
    /// Only a word in free text (a message that mentions an error).
    Word,
}

/// Whether and how a row reports an error. The row's strings are searched in one pass, one per
/// line of `strings` (a buffer to reuse; no error word spans a line break).
fn error_sign(row: &Map<String, Value>, strings: &mut String) -> Option<ErrorSign> {
    strings.clear();
    if row.iter().any(|(k, v)| is_error_field(k, v, 0, strings)) {
        Some(ErrorSign::Field)
    } else if error_re().is_match(strings) {
        Some(ErrorSign::Word)
    } else {
        None
    }
}

/// A key whose value is an outcome: `status`, `state`, `level`, `result`, `conclusion`, ...
fn is_status_key(key: &str) -> bool {
    const NAMES: &[&str] = &[
        "status",
        "state",
        "level",
        "severity",
        "result",
        "outcome",
        "conclusion",
        "health",
        "phase",
        "error",
        "errors",
        "err",
        "exception",
    ];
    let k = key.to_ascii_lowercase();
    NAMES.contains(&k.as_str()) || k.ends_with("_status") || k.ends_with("status") && k.len() < 24
}

/// Whether a field signals an error by its value's type and its key; strings are collected
/// into `strings` for the word search.
fn is_error_field(key: &str, v: &Value, depth: usize, strings: &mut String) -> bool {
    if depth > 6 {
        return false;
    }
    let is = |names: &[&str]| names.iter().any(|n| key.eq_ignore_ascii_case(n));
    let ends = |suffix: &str| {
        key.len() >= suffix.len()
            && key.as_bytes()[key.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    match v {
        // `status: "failed"` says more than a message that mentions a failure.
        Value::String(s) if s.len() <= 64 && is_status_key(key) && error_re().is_match(s) => true,
        Value::String(s) => {
            if s.len() <= 512 {
                strings.push_str(s);
                strings.push('\n');
            }
            false
        }
        Value::Bool(false) => is(&["success", "ok", "passed", "succeeded", "healthy"]),
        Value::Number(n) => {
            let status_key =
                is(&["status", "code", "http_status"]) || ends("status_code") || ends("statuscode");
            status_key && n.as_u64().is_some_and(|c| (400..600).contains(&c))
        }
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| is_error_field(k, v, depth + 1, strings)),
        Value::Array(items) => items
            .iter()
            .take(64)
            .any(|v| is_error_field(key, v, depth + 1, strings)),
        Value::Null | Value::Bool(true) => false,
    }
}

/// The rows that match the query exactly: a `field = value` clause or an exact term (an id, a
/// number, a quoted string) in a value, or in a map's key.
pub(crate) fn query_hits(
    rows: &[&Map<String, Value>],
    keys: Option<&[&str]>,
    query: &Query,
) -> Vec<usize> {
    if query.clauses.is_empty() && query.exact.is_empty() {
        return Vec::new();
    }
    (0..rows.len())
        .filter(|&i| {
            query.clauses.iter().any(|c| clause_matches(rows[i], c))
                || query.exact.iter().any(|t| {
                    keys.and_then(|k| k.get(i))
                        .is_some_and(|k| contains_exact(k, t))
                        || leaf_texts(rows[i]).iter().any(|x| contains_exact(x, t))
                })
        })
        .collect()
}

/// The columns to show when the rows a query matches do not fit whole: the columns its
/// clauses and words name, the first column, and columns that name a row (`id`, `name`,
/// `sha`, `key`, `title`); at most five, in table order.
pub(crate) fn answer_columns(columns: &[Column], query: &Query) -> Vec<usize> {
    let named = |c: &Column| {
        let last = c
            .path
            .last()
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        let joined = c.path.join(".").to_ascii_lowercase();
        query.clauses.iter().any(|cl| {
            let p = cl.path.join(".").to_ascii_lowercase();
            p == joined
                || cl
                    .path
                    .last()
                    .is_some_and(|l| l.eq_ignore_ascii_case(&last))
        }) || query.words.contains(&last)
    };
    let ids = ["id", "name", "sha", "key", "title", "uid", "uuid"];
    let mut picked: Vec<usize> = (0..columns.len()).filter(|&c| named(&columns[c])).collect();
    if !picked.contains(&0) {
        picked.push(0);
    }
    for (c, col) in columns.iter().enumerate() {
        let last = col
            .path
            .last()
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        if picked.len() < 5 && !picked.contains(&c) && ids.contains(&last.as_str()) {
            picked.push(c);
        }
    }
    picked.sort_unstable();
    picked.truncate(5);
    picked
}

/// Chooses which rows to keep. `costs[i]` is the token cost of row `i`; the kept rows' costs
/// stay within `budget`: the rows that matter most (see the module docs) are taken by rank
/// while they fit, then relevance and even spacing fill what is left.
pub(crate) fn select(
    rows: &[&Map<String, Value>],
    keys: Option<&[&str]>,
    cells: &Cells,
    query: &Query,
    costs: &[usize],
    budget: usize,
) -> Selection {
    let n = rows.len();
    let mut reason: Vec<Option<Reason>> = vec![None; n];
    // A row kept for several reasons ranks by the weightiest.
    let mark = |i: usize, r: Reason, reason: &mut Vec<Option<Reason>>| {
        if reason[i].is_none_or(|x| r < x) {
            reason[i] = Some(r);
        }
    };
    // Query: clauses and exact terms are hard matches.
    // A map's keys (ids, names) are searched like values.
    let texts: Vec<Vec<&str>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut t = leaf_texts(r);
            if let Some(k) = keys.and_then(|k| k.get(i)) {
                t.push(k);
            }
            t
        })
        .collect();
    for i in 0..n {
        let clause_hit = query.clauses.iter().any(|c| clause_matches(rows[i], c));
        let exact_hit = query
            .exact
            .iter()
            .any(|t| texts[i].iter().any(|x| contains_exact(x, t)));
        if clause_hit || exact_hit {
            mark(i, Reason::Query, &mut reason);
        }
    }
    let scores = bm25(&texts, &query.words);
    let top = scores.iter().cloned().fold(0.0f64, f64::max);
    // Word matches are hard only when nothing exact was asked for; otherwise they rank.
    let exact_hits = reason.iter().any(Option::is_some);
    if top > 0.0 && !exact_hits {
        for (i, &score) in scores.iter().enumerate() {
            if score >= 0.5 * top && score >= 1.0 {
                mark(i, Reason::Query, &mut reason);
            }
        }
    }

    // Errors, unless they are the norm (then they say nothing about a row): rows whose fields
    // say so first, then rows whose text only mentions one.
    let mut strings = String::new();
    let signs: Vec<Option<ErrorSign>> = (0..n).map(|i| error_sign(rows[i], &mut strings)).collect();
    for (sign, r) in [
        (ErrorSign::Field, Reason::Error),
        (ErrorSign::Word, Reason::ErrorMention),
    ] {
        let errors: Vec<usize> = (0..n).filter(|&i| signs[i] == Some(sign)).collect();
        if errors.is_empty() || errors.len() * 2 > n {
            continue;
        }
        // All of them when they fit in half the budget; past that (thousands of failures) an
        // even sample, and the marker's summary counts the rest.
        let cost: usize = errors.iter().map(|&i| costs[i]).sum();
        let keep = if cost <= budget / 2 {
            errors.len()
        } else {
            errors.len() * (budget / 2) / cost.max(1)
        };
        let keep = keep.max(1);
        for j in 0..keep {
            mark(errors[j * errors.len() / keep], r, &mut reason);
        }
    }

    // Outliers by how extreme they are (across columns, the first column's first).
    let mut extreme_rank: HashMap<usize, u64> = HashMap::new();
    for c in 0..cells.width() {
        let nums: Vec<Option<f64>> = cells
            .column(c)
            .map(|v| match v {
                Some(Value::Number(x)) => x.as_f64(),
                _ => None,
            })
            .collect();
        let present = nums.iter().flatten().count();
        if present >= 8 && present * 2 >= n {
            for i in outliers(&nums) {
                mark(i, Reason::Outlier, &mut reason);
                let next = extreme_rank.len() as u64;
                extreme_rank.entry(i).or_insert(next);
            }
            for i in change_points(&nums) {
                mark(i, Reason::ChangePoint, &mut reason);
            }
        }
    }

    if n > 0 {
        mark(0, Reason::Anchor, &mut reason);
        mark(n - 1, Reason::Anchor, &mut reason);
    }

    for c in 0..cells.width() {
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut all_short = true;
        for (i, v) in cells.column(c).enumerate() {
            match v {
                Some(v @ (Value::String(_) | Value::Bool(_))) => {
                    let t = scalar_str(v).unwrap_or_default();
                    all_short &= t.len() <= 64;
                    first.entry(t).or_insert(i);
                }
                Some(Value::Null) | None => {}
                Some(_) => all_short = false,
            }
        }
        let distinct = first.len();
        if all_short && (2..=10).contains(&distinct) && distinct * 3 <= n {
            for (_, i) in first {
                mark(i, Reason::Category, &mut reason);
            }
        }
    }

    // The rows marked so far are kept by rank while they fit: the budget is a cap, and what
    // does not fit is counted in the marker and found again by a query.
    let rank = |i: usize| -> (Reason, u64) {
        let r = reason[i].unwrap_or(Reason::Spacing);
        let within = match r {
            // Exact and clause hits in order, word matches by score.
            Reason::Query if scores[i] > 0.0 && !exact_hits => {
                (1u64 << 40) - (scores[i] * 1e6).min((1u64 << 39) as f64) as u64
            }
            Reason::Outlier => extreme_rank.get(&i).copied().unwrap_or(i as u64),
            _ => i as u64,
        };
        (r, within)
    };
    let mut marked: Vec<usize> = (0..n).filter(|&i| reason[i].is_some()).collect();
    marked.sort_by_key(|&i| rank(i));
    let mut spent = 0usize;
    for i in marked {
        if spent + costs[i] <= budget {
            spent += costs[i];
        } else {
            reason[i] = None;
        }
    }

    // Ranked relevance next, then even spacing.
    let mut ranked: Vec<usize> = (0..n)
        .filter(|&i| scores[i] > 0.0 && reason[i].is_none())
        .collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    for i in ranked {
        if spent + costs[i] > budget {
            break;
        }
        reason[i] = Some(Reason::Relevant);
        spent += costs[i];
    }
    fill_evenly(&mut reason, costs, budget, &mut spent);

    let mut sel = Selection::default();
    for (i, r) in reason.iter().enumerate() {
        if let Some(r) = r {
            sel.kept.push(i);
            *sel.reasons.entry(reason_name(*r)).or_default() += 1;
        }
    }
    sel
}

fn reason_name(r: Reason) -> &'static str {
    match r {
        Reason::Query => "query",
        Reason::Error => "error",
        Reason::ErrorMention => "error_mention",
        Reason::Outlier => "outlier",
        Reason::ChangePoint => "change_point",
        Reason::Anchor => "anchor",
        Reason::Category => "category",
        Reason::Relevant => "relevant",
        Reason::Spacing => "spacing",
    }
}

/// Adds rows at evenly spaced positions, coarse to fine, while they fit in the budget.
fn fill_evenly(reason: &mut [Option<Reason>], costs: &[usize], budget: usize, spent: &mut usize) {
    for i in evenly_spaced(reason.len()) {
        if reason[i].is_none() && *spent + costs[i] <= budget {
            reason[i] = Some(Reason::Spacing);
            *spent += costs[i];
        }
    }
}

/// Positions `0..n`, coarse to fine: the middle, then the quarters, and so on (positions may
/// repeat; callers skip what they already took).
pub(crate) fn evenly_spaced(n: usize) -> impl Iterator<Item = usize> {
    let top = n.next_power_of_two();
    std::iter::successors(Some(top), |&s| (s > 1).then_some(s / 2))
        .flat_map(move |step| (step / 2..n).step_by(step))
}

/// Every string and number of a row as text (values only, never keys).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Rows whose value lies more than 3.5 robust z-units (0.6745·|x − median| / MAD) from the
/// median. A heavy-tailed column that flags more than a tenth of its rows keeps only its five
/// most extreme rows.
fn outliers(nums: &[Option<f64>]) -> Vec<usize> {
    let mut xs: Vec<f64> = nums
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if xs.len() < 8 {
        return Vec::new();
    }
    xs.sort_by(f64::total_cmp);
    let med = median(&xs);
    let mut dev: Vec<f64> = xs.iter().map(|x| (x - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = median(&dev);
    let mut flagged: Vec<(f64, usize)> = nums
        .iter()
        .enumerate()
        .filter_map(|(i, x)| {
            let x = (*x)?;
            let z = if mad > 0.0 {
                0.6745 * (x - med).abs() / mad
            } else if x != med {
                f64::INFINITY
            } else {
                0.0
            };
            (z > 3.5).then_some((z, i))
        })
        .collect();
    // Most extreme first, so that when the budget cannot hold them all, the farthest stay.
    flagged.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    if flagged.len() * 10 > nums.len() {
        flagged.truncate(5);
    }
    flagged.into_iter().map(|(_, i)| i).collect()
}

/// Positions where the median of the next window differs from the median of the previous
/// window by more than four robust deviations of the series' steps.
fn change_points(nums: &[Option<f64>]) -> Vec<usize> {
    const W: usize = 4;
    let series: Vec<(usize, f64)> = nums
        .iter()
        .enumerate()
        .filter_map(|(i, x)| x.map(|x| (i, x)))
        .collect();
    if series.len() < 2 * W + 2 {
        return Vec::new();
    }
    let mut steps: Vec<f64> = series.windows(2).map(|w| (w[1].1 - w[0].1).abs()).collect();
    steps.sort_by(f64::total_cmp);
    let scale = median(&steps) * 1.4826;
    // A flat series with one step has a median step of zero: any shift is then a change.
    let largest = steps.last().copied().unwrap_or(0.0);
    let scale = if scale > 0.0 { scale } else { largest * 1e-3 };
    if scale <= 0.0 || !scale.is_finite() {
        return Vec::new();
    }
    let diffs: Vec<f64> = (0..series.len())
        .map(|k| {
            if k < W || k + W > series.len() {
                return 0.0;
            }
            let mut before: Vec<f64> = series[k - W..k].iter().map(|p| p.1).collect();
            let mut after: Vec<f64> = series[k..k + W].iter().map(|p| p.1).collect();
            before.sort_by(f64::total_cmp);
            after.sort_by(f64::total_cmp);
            (median(&after) - median(&before)).abs()
        })
        .collect();
    let mut out = Vec::new();
    for k in W..=series.len() - W {
        let lo = k.saturating_sub(W - 1);
        let hi = (k + W).min(series.len());
        // The strongest shift in its neighbourhood (first of equals), not every window touching it.
        let local_max = (lo..hi).all(|j| diffs[j] < diffs[k] || (diffs[j] == diffs[k] && j >= k));
        if diffs[k] > 4.0 * scale && local_max {
            out.push(series[k - 1].0);
            out.push(series[k].0);
        }
    }
    out.truncate(20);
    out
}

/// What the dropped rows hold, in a few words: per-category counts and numeric ranges.
pub(crate) fn summarize_dropped(
    cells: &Cells,
    columns: &[Column],
    dropped: &[usize],
    total: usize,
) -> String {
    let mut parts = vec![format!("{} of {} rows omitted", dropped.len(), total)];
    let mut cats: Vec<(usize, String)> = Vec::new();
    let mut ranges: Vec<String> = Vec::new();
    for (c, col) in columns.iter().enumerate() {
        let name = col.path.join(".");
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut nums: Vec<f64> = Vec::new();
        let mut raw: Vec<&str> = Vec::new();
        let mut other = false;
        for &i in dropped {
            match cells.row(i)[c] {
                Some(Value::Number(x)) => {
                    if let Some(f) = x.as_f64() {
                        nums.push(f);
                        raw.push(x.as_str());
                    }
                }
                Some(v @ (Value::String(_) | Value::Bool(_))) => {
                    let t = scalar_str(v).unwrap_or_default();
                    if t.len() > 40 {
                        other = true;
                    }
                    *counts.entry(t).or_default() += 1;
                }
                _ => {}
            }
            // Many distinct strings: neither a category nor a range, stop looking.
            if counts.len() > 6 && nums.is_empty() {
                other = true;
                break;
            }
        }
        if !other
            && !counts.is_empty()
            && counts.len() <= 6
            && counts.len() * 3 <= dropped.len().max(3)
        {
            let mut by: Vec<(&&str, &usize)> = counts.iter().collect();
            by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = by.iter().take(4).map(|(v, c)| format!("{v} {c}")).collect();
            cats.push((counts.len(), format!("{name}={}", list.join(", "))));
        } else if nums.len() * 2 >= dropped.len() && ranges.len() < 2 && !nums.is_empty() {
            let (mut lo, mut hi) = (0, 0);
            for (j, x) in nums.iter().enumerate() {
                if *x < nums[lo] {
                    lo = j;
                }
                if *x > nums[hi] {
                    hi = j;
                }
            }
            ranges.push(format!("{name} {}..{}", raw[lo], raw[hi]));
        }
    }
    cats.sort_by_key(|c| c.0);
    parts.extend(cats.into_iter().take(2).map(|c| c.1));
    parts.extend(ranges);
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_by_mad() {
        let mut xs: Vec<Option<f64>> = (0..50).map(|i| Some(100.0 + (i % 5) as f64)).collect();
        xs[17] = Some(950.0);
        assert_eq!(outliers(&xs), vec![17]);
    }

    #[test]
    fn balanced_step_is_a_change_point() {
        let xs: Vec<Option<f64>> = (0..40)
            .map(|i| Some(if i < 20 { 10.0 } else { 20.0 } + (i % 3) as f64 * 0.1))
            .collect();
        let cps = change_points(&xs);
        assert!(cps.contains(&19) && cps.contains(&20), "{cps:?}");
    }

    #[test]
    fn error_rows_by_value_not_key() {
        let mut buf = String::new();
        let mut is_error =
            |v: serde_json::Value| error_sign(v.as_object().unwrap(), &mut buf).is_some();
        assert!(is_error(
            serde_json::json!({"msg": "request failed: timeout"})
        ));
        assert!(is_error(serde_json::json!({"status": 503})));
        assert!(is_error(serde_json::json!({"HTTP_Status": 404})));
        assert!(is_error(serde_json::json!({"success": false})));
        assert!(is_error(
            serde_json::json!({"a": {"b": ["fine", "Crashed"]}})
        ));
        assert!(!is_error(
            serde_json::json!({"error_count": 0, "timeout_ms": 30})
        ));
        assert!(!is_error(serde_json::json!({"msg": "terrorist novel"})));
        // Words do not join across values.
        assert!(!is_error(serde_json::json!({"a": "time", "b": "out"})));
        assert!(!is_error(serde_json::json!({"a": "err", "b": "or"})));
    }
}
