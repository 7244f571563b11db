//! SmartCrusher: JSON tool output made small.
//!
//! Three candidates are weighed by exact token count: minified JSON, the lossless table
//! encoding ([`encode`]), and, only when the lossless result is over the token budget, a lossy
//! rendering that keeps the rows the task needs ([`select`]) and stores the rest behind a marker.
//! A result is labelled lossless only after decoding it in-process and comparing it with the
//! input, key order included.

pub mod decode;
pub mod encode;
pub mod parse;
mod select;
pub mod style;
mod syntax;

use crate::ccr::entry::{self, Header, Step};
use crate::ccr::{marker, Key, StoreError};
use crate::context::Context;
use crate::query::{contains_exact, scalar_str};
use crate::tokens::estimate;
use encode::{
    compact_json, encode_document, encode_value, estimate_encoded, estimate_value, object_rows,
    record_map, Cells, Ctx, Table,
};
use parse::{Document, NotJson};
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use style::Style;

/// Per-strategy details for the report.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct JsonDetails {
    /// Whether the input was NDJSON.
    pub ndjson: bool,
    /// Tokens of the minified candidate; absent when counting stopped because it already
    /// exceeded the table's count.
    pub minified_tokens: Option<usize>,
    /// Tokens of the lossless table candidate, if it round-tripped and counting did not stop
    /// early (at the budget or at the other candidate's count).
    pub table_tokens: Option<usize>,
    /// Tokens of the lossy candidate, if one was built.
    pub lossy_tokens: Option<usize>,
    /// Arrays whose rows were selected.
    pub arrays_selected: usize,
    /// Rows in those arrays.
    pub rows_before: usize,
    /// Rows kept from those arrays.
    pub rows_kept: usize,
    /// Rows left out (retrievable).
    pub rows_dropped: usize,
    /// Scalar array items left out (retrievable).
    pub items_dropped: usize,
    /// Long strings shortened or offloaded (retrievable).
    pub strings_offloaded: usize,
    /// Why rows were kept: counts per reason.
    pub kept_because: BTreeMap<&'static str, usize>,
}

/// The outcome of [`compress_json`].
#[derive(Debug, Clone)]
pub struct JsonOutcome {
    /// The text the model sees.
    pub output: String,
    /// `minify`, `table` or `table+select`.
    pub strategy: &'static str,
    /// Tokens of `output`.
    pub tokens: usize,
    /// Verified lossless.
    pub lossless: bool,
    /// Keys of stored originals.
    pub ccr_keys: Vec<Key>,
    /// Details.
    pub details: JsonDetails,
}

/// Why JSON compression did not produce an outcome.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The input is not JSON that cinch may rewrite.
    #[error(transparent)]
    NotJson(#[from] NotJson),
    /// No candidate survived its in-process round trip (a bug; the input goes out unchanged).
    #[error("no encoding of this JSON survived its round-trip check")]
    Unverified,
    /// A dropped part could not be stored, so nothing may be dropped.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Compresses a JSON or NDJSON document.
pub fn compress_json(text: &str, s: &Context) -> Result<JsonOutcome, JsonError> {
    let doc = parse::parse(text)?;
    let mut details = JsonDetails {
        ndjson: doc.ndjson,
        ..Default::default()
    };
    // Lossless means byte for byte: the style that writes the value back as the input is
    // recorded in a first line of the encoding; without one, the candidates below are only
    // value-exact, and the original's bytes are stored under a marker.
    let style = style::detect(text, &doc.value, doc.ndjson);
    let minified = match style.and_then(|st| st.tag(doc.ndjson).filter(|_| st != Style::default()))
    {
        Some(tag) => format!("{tag}\n{}", minify(&doc)),
        None => minify(&doc),
    };
    // The table is encoded only when it may be emitted, and decoded and compared with the
    // input only when it is about to be.
    let encoded = std::cell::OnceCell::new();
    let table = || {
        encoded
            .get_or_init(|| {
                Some(with_tag(encode_document(&doc), style, doc.ndjson)).filter(|t| *t != minified)
            })
            .as_deref()
    };
    let verified = std::cell::OnceCell::new();
    let table_ok =
        || *verified.get_or_init(|| table().is_some_and(|t| round_trips(t, &doc, text, style)));
    let minified_checked = std::cell::OnceCell::new();
    let minified_ok =
        || *minified_checked.get_or_init(|| round_trips(&minified, &doc, text, style));

    // Counting stops at the limit that matters: above the budget only the lossy candidate can
    // win, and a lossy result within the budget is smaller than any lossless one that is not.
    let within = |text: &str, limit: usize| s.counter.count_up_to(text, limit);
    // Minified JSON of over 32 bytes per token of budget is over the budget in all but
    // pathological cases, and so is its table (rarely under a third of it; tables run about 4
    // bytes a token). A wrong guess costs only a lossy result where a lossless one would have
    // fit.
    let over_budget = minified.len() > 32 * s.budget;
    // The smallest verified lossless candidate with at most `limit` tokens.
    let lossless_within = |limit: usize, details: &mut JsonDetails| {
        let mut best: Option<(&str, &'static str, usize)> = None;
        if limit > s.budget || !over_budget {
            if let Some(t) = table() {
                details.table_tokens = within(t, limit);
                best = details
                    .table_tokens
                    .filter(|_| table_ok())
                    .map(|n| (t, "table", n));
            }
        }
        if limit > s.budget || !over_budget {
            details.minified_tokens = within(&minified, best.map_or(limit, |b| b.2));
        }
        if let Some(m) = details.minified_tokens {
            if best.is_none_or(|b| m <= b.2) && minified_ok() {
                best = Some((minified.as_str(), "minify", m));
            }
        }
        best.map(|(text, strategy, n)| (text.to_string(), strategy, n))
    };
    let lossless = |(output, strategy, tokens): (String, &'static str, usize),
                    details: JsonDetails| {
        lossless(output, strategy, tokens, details, style.is_some(), text, s)
    };
    if let Some(best) = lossless_within(s.budget, &mut details) {
        return lossless(best, details);
    }
    if s.lossless_only {
        return match lossless_within(usize::MAX, &mut details) {
            Some(best) => lossless(best, details),
            None => Err(JsonError::Unverified),
        };
    }

    let size = estimate_encoded(&doc.value).max(1);
    // Each array gets its share of the budget; when the estimates were off and the rendering
    // is over, every share shrinks by the overshoot and the rendering is made again.
    let mut scale = s.budget as f64 / size as f64;
    let mut floor = MIN_ARRAY_BUDGET;
    // Parts outside arrays do not shrink with the shares; once a rendering is no smaller than
    // the one before, more passes cannot reach the budget, and the cap takes over.
    let mut last = usize::MAX;
    let (lossy, out, tokens) = loop {
        let mut lossy = Lossy {
            s,
            original: text,
            ndjson: doc.ndjson,
            path: Vec::new(),
            scale,
            floor,
            pending: Vec::new(),
            details: JsonDetails::default(),
        };
        let mut out = String::new();
        if doc.ndjson {
            out.push_str("@ndjson\n");
        }
        lossy.value(&doc.value, 0, &mut out);
        // Only the last row's own line break: an empty last row is still a line.
        if out.ends_with('\n') {
            out.pop();
        }
        let tokens = s.counter.count(&out);
        if tokens <= s.budget || tokens >= last || scale < 1e-6 {
            break (lossy, out, tokens);
        }
        last = tokens;
        let shrink = s.budget as f64 / tokens as f64 * 0.9;
        scale *= shrink;
        floor = (floor as f64 * shrink) as usize;
    };
    details.lossy_tokens = Some(tokens);
    // A lossy rendering estimated at under 70 % of the whole table's cost (same encoding, fewer
    // rows) is smaller; only closer calls are counted exactly.
    let clearly_smaller = estimate(&out) * 10 < size * 7;
    let smaller_lossless = if tokens <= s.budget || lossy.pending.is_empty() || clearly_smaller {
        None
    } else {
        lossless_within(tokens.saturating_sub(1), &mut details)
    };
    if smaller_lossless.is_none() && !lossy.pending.is_empty() {
        // Store everything the markers name before the output that names it leaves.
        let ccr_keys: Vec<Key> = lossy.pending.iter().map(|(k, _)| k.clone()).collect();
        let contents: Vec<&[u8]> = lossy.pending.iter().map(|(_, c)| c.as_slice()).collect();
        let stored = s.store.put_many(s.namespace, &contents)?;
        if stored != ccr_keys {
            return Err(JsonError::Store(StoreError(
                "the store returned different keys".into(),
            )));
        }
        // The selection counts come from the lossy pass, the candidate counts from here.
        details = JsonDetails {
            ndjson: details.ndjson,
            minified_tokens: details.minified_tokens,
            table_tokens: details.table_tokens,
            lossy_tokens: details.lossy_tokens,
            ..lossy.details
        };
        return Ok(JsonOutcome {
            output: out,
            strategy: "table+select",
            tokens,
            lossless: false,
            ccr_keys,
            details,
        });
    }
    match smaller_lossless.or_else(|| lossless_within(usize::MAX, &mut details)) {
        Some(best) => lossless(best, details),
        None => Err(JsonError::Unverified),
    }
}

/// A verified candidate as the outcome: lossless when the input's bytes come back from it
/// (`byte_exact`); otherwise only its values do, and the original is stored under a marker
/// line so that nothing of it is lost.
fn lossless(
    mut output: String,
    strategy: &'static str,
    mut tokens: usize,
    details: JsonDetails,
    byte_exact: bool,
    original: &str,
    s: &Context,
) -> Result<JsonOutcome, JsonError> {
    let mut ccr_keys = Vec::new();
    if !byte_exact {
        let key = s.store.put(s.namespace, original.as_bytes())?;
        output.push('\n');
        output.push_str(&marker(
            &key,
            "the original bytes: number spellings, escapes or spacing above differ from it",
        ));
        tokens = s.counter.count(&output);
        ccr_keys.push(key);
    }
    Ok(JsonOutcome {
        output,
        strategy,
        tokens,
        lossless: byte_exact,
        ccr_keys,
        details,
    })
}

/// `encoded` (which starts with `@ndjson` for NDJSON) with the first line `style` needs.
fn with_tag(encoded: String, style: Option<Style>, ndjson: bool) -> String {
    let body = match ndjson {
        true => encoded.strip_prefix("@ndjson\n").unwrap_or(&encoded),
        false => &encoded,
    };
    match style.unwrap_or_default().tag(ndjson) {
        Some(tag) => format!("{tag}\n{body}"),
        None => body.to_string(),
    }
}

/// Minified JSON (NDJSON stays one value per line).
pub fn minify(doc: &Document) -> String {
    match (&doc.value, doc.ndjson) {
        (Value::Array(items), true) => items
            .iter()
            .map(compact_json)
            .collect::<Vec<_>>()
            .join("\n"),
        (v, _) => compact_json(v),
    }
}

/// Whether `encoded` decodes to `doc`'s value and, when the input's style is known, writes it
/// back as exactly `text`.
fn round_trips(encoded: &str, doc: &Document, text: &str, style: Option<Style>) -> bool {
    decode::decode(encoded).is_ok_and(|d| {
        d.ndjson == doc.ndjson
            && strict_eq(&d.value, &doc.value)
            && (style.is_none() || d.style.writes_exactly(&d.value, d.ndjson, text))
    })
}

/// Equality of JSON values that also compares object key order and numbers as written.
pub fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && strict_eq(v1, v2))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| strict_eq(a, b))
        }
        (Value::Number(x), Value::Number(y)) => x.to_string() == y.to_string(),
        _ => a == b,
    }
}

/// Smallest budget any one array gets, so a small array in a big document keeps a few rows.
const MIN_ARRAY_BUDGET: usize = 120;
/// Strings at least this long, without spaces and mostly base64/hex, are opaque blobs.
const OPAQUE_MIN: usize = 256;
/// Prose at least this long keeps a prefix in lossy mode.
const PROSE_MIN: usize = 1024;
const PROSE_KEEP: usize = 240;

struct Lossy<'a, 'b> {
    s: &'b Context<'a>,
    /// The input: every array's entry stores it whole, with the path to the array and the
    /// rows that stayed visible.
    original: &'b str,
    /// NDJSON input: the top-level rows are its lines.
    ndjson: bool,
    /// Where the walk is: keys and indices from the root.
    path: Vec<Step>,
    scale: f64,
    /// The least budget an array gets.
    floor: usize,
    /// What the output's markers stand for, stored only if the lossy result is chosen.
    pending: Vec<(Key, Vec<u8>)>,
    details: JsonDetails,
}

impl Lossy<'_, '_> {
    /// The key `content` will be stored under (keys are content hashes, so the marker can be
    /// written before anything is stored).
    fn put(&mut self, content: impl Into<Vec<u8>>) -> Key {
        let content = content.into();
        let key = Key::of(&content);
        if !self.pending.iter().any(|(k, _)| *k == key) {
            self.pending.push((key.clone(), content));
        }
        key
    }

    /// The key of the entry for the array at the current path, of which the rows in `kept`
    /// stay visible: the whole original, so that retrieving the key gives back the input.
    fn put_array(&mut self, kept: &[usize], n: usize) -> Key {
        let mut keep = vec![false; n];
        for &i in kept {
            keep[i] = true;
        }
        let header = Header {
            kind: if self.ndjson { "ndjson" } else { "json" }.into(),
            kept: entry::ranges(&keep),
            path: (!self.ndjson).then(|| self.path.clone()),
        };
        self.put(entry::encode(&header, self.original.as_bytes()))
    }

    /// An object, each value walked in turn.
    fn object(&mut self, map: &Map<String, Value>, depth: usize, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in map.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            syntax::push_json_string(out, k);
            out.push(':');
            self.path.push(Step::Key(k.clone()));
            self.value(v, depth + 1, out);
            self.path.pop();
        }
        out.push('}');
    }

    /// An object in about `budget` tokens: the fields that hold what the query asks for
    /// first, then the others in order, each whole while it fits; a field too large for what
    /// is left walked within it (objects field by field, arrays selected); and a note naming
    /// the fields left out (they are in the stored original). Fields keep their order.
    fn object_within(
        &mut self,
        map: &Map<String, Value>,
        budget: usize,
        depth: usize,
        out: &mut String,
    ) {
        enum Fit {
            Whole,
            Within(usize),
        }
        let query = self.s.query;
        let asks = |v: &Value| {
            (!query.clauses.is_empty() || !query.exact.is_empty()) && {
                let text = compact_json(v);
                query
                    .clauses
                    .iter()
                    .any(|c| contains_exact(&text, &c.value))
                    || query.exact.iter().any(|t| contains_exact(&text, t))
            }
        };
        let fields: Vec<(&String, &Value, usize, usize, bool)> = map
            .iter()
            .map(|(k, v)| (k, v, estimate(k) + 2, self.cost(v, true), asks(v)))
            .collect();
        let mut plan: Vec<Option<Fit>> = fields.iter().map(|_| None).collect();
        let mut left = budget;
        for wanted in [true, false] {
            for (f, (_, v, head, cost, asked)) in fields.iter().enumerate() {
                if *asked != wanted {
                    continue;
                }
                let nested = matches!(v, Value::Object(_) | Value::Array(_));
                if head + cost <= left {
                    plan[f] = Some(Fit::Whole);
                    left -= head + cost;
                } else if nested && left >= head + 40 && depth < 64 {
                    plan[f] = Some(Fit::Within(left - head));
                    left = 0;
                }
            }
        }
        let mut omitted: Vec<&str> = Vec::new();
        let mut first = true;
        out.push('{');
        for ((k, v, ..), fit) in fields.iter().zip(&plan) {
            let Some(fit) = fit else {
                omitted.push(k);
                continue;
            };
            if !first {
                out.push(',');
            }
            first = false;
            syntax::push_json_string(out, k);
            out.push(':');
            self.path.push(Step::Key((*k).clone()));
            match (fit, v) {
                (Fit::Whole, _) => self.value(v, depth + 1, out),
                (Fit::Within(room), Value::Object(m)) => {
                    self.object_within(m, *room, depth + 1, out)
                }
                (Fit::Within(room), _) => {
                    // The array gets what is left, as a share of its own cost.
                    let (scale, floor) = (self.scale, self.floor);
                    self.scale = *room as f64 / self.cost(v, false).max(1) as f64;
                    self.floor = self.floor.min(*room);
                    self.value(v, depth + 1, out);
                    (self.scale, self.floor) = (scale, floor);
                }
            }
            self.path.pop();
        }
        if !omitted.is_empty() {
            if !first {
                out.push(',');
            }
            let names: Vec<&str> = omitted.iter().take(6).copied().collect();
            let more = if omitted.len() > names.len() {
                ", …"
            } else {
                ""
            };
            out.push_str("\"…\":");
            let note = format!("{} more fields: {}{more}", omitted.len(), names.join(", "));
            syntax::push_json_string(out, &note);
        }
        out.push('}');
    }

    /// About what `v` costs once rendered by this pass: long strings cut or offloaded, and (for
    /// the records of a wide array, `nested`) its own arrays selected at the pass's scale.
    fn cost(&self, v: &Value, nested: bool) -> usize {
        match v {
            Value::String(s) if s.len() >= OPAQUE_MIN && is_opaque(s) => 16,
            Value::String(s) if s.len() >= PROSE_MIN => {
                estimate(&s[..PROSE_KEEP.min(s.len())]) + 16
            }
            Value::Array(items) => {
                let full = 1 + items
                    .iter()
                    .map(|i| self.cost(i, nested) + 1)
                    .sum::<usize>();
                if nested && items.len() >= 4 {
                    full.min(((full as f64 * self.scale) as usize).max(self.floor) + 40)
                } else {
                    full
                }
            }
            Value::Object(m) => {
                1 + m
                    .iter()
                    .map(|(k, v)| estimate(k) + 2 + self.cost(v, nested))
                    .sum::<usize>()
            }
            scalar => estimate_value(scalar),
        }
    }

    fn value(&mut self, v: &Value, depth: usize, out: &mut String) {
        match v {
            Value::Object(map) if depth < 64 && map.len() >= 4 && record_map(map).is_some() => {
                if let Some((keys, rows)) = record_map(map) {
                    self.rows(Some(&keys), &rows, depth, out);
                }
            }
            Value::Object(map) => self.object(map, depth, out),
            Value::Array(items) if depth < 64 => {
                if let Some(rows) = object_rows(items) {
                    self.rows(None, &rows, depth, out)
                } else if items.len() > 16 && items.iter().all(|v| v.is_string() || v.is_number()) {
                    self.scalars(items, out)
                } else {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        self.path.push(Step::Index(i));
                        self.value(item, depth + 1, out);
                        self.path.pop();
                    }
                    out.push(']');
                }
            }
            other => {
                let shortened = self.shorten_strings(other);
                encode_value(&shortened, Ctx::Block, depth, out);
            }
        }
    }

    /// The rows of an array of records, or with `keys` of a map of records keyed by id.
    fn rows(
        &mut self,
        keys: Option<&[&str]>,
        rows: &[&Map<String, Value>],
        depth: usize,
        out: &mut String,
    ) {
        let table = Table::layout(rows);
        let columns = table
            .as_ref()
            .map(|t| t.columns.clone())
            .unwrap_or_default();
        let cells = Cells::new(rows, &columns);
        // A row costs its cells plus a separator each; a row that is not a table row costs
        // its keys too.
        let table_costs = |nested: bool| -> Vec<usize> {
            (0..rows.len())
                .map(|i| match &table {
                    Some(_) if !nested => {
                        1 + cells
                            .row(i)
                            .iter()
                            .map(|v| v.map_or(0, |v| self.cost(v, false)) + 1)
                            .sum::<usize>()
                    }
                    _ => {
                        1 + rows[i]
                            .iter()
                            .map(|(k, v)| estimate(k) + 2 + self.cost(v, nested))
                            .sum::<usize>()
                    }
                })
                .collect()
        };
        let full = table_costs(false);
        let total: usize = full.iter().sum();
        let budget = ((total as f64 * self.scale) as usize).max(self.floor);
        // Records too large to show several of whole (a pod, a release with its notes, a commit
        // with its files) are shown one by one, each with its own arrays selected and, past
        // half the array's budget, only the fields that fit.
        let mut sorted = full.clone();
        sorted.sort_unstable();
        let wide = rows.len() >= 2 && sorted[sorted.len() / 2] * 3 > budget;
        let hits = select::query_hits(rows, keys, self.s.query);
        // Query matches that do not fit whole show the columns that answer the query.
        let hit_cost: usize = hits.iter().map(|&i| full[i]).sum();
        let answer = (!wide && table.is_some() && hits.len() >= 2 && hit_cost > budget * 3 / 4)
            .then(|| select::answer_columns(&columns, self.s.query))
            .filter(|c| c.len() < columns.len());
        let costs: Vec<usize> = if wide {
            // Each record gets a share: several matches each show part of themselves.
            let share = budget / hits.len().clamp(2, 8);
            table_costs(true)
                .into_iter()
                .map(|c| c.min(share).max(1))
                .collect()
        } else if let Some(cols) = &answer {
            (0..rows.len())
                .map(|i| {
                    1 + cols
                        .iter()
                        .map(|&c| cells.row(i)[c].map_or(0, |v| self.cost(v, false)) + 1)
                        .sum::<usize>()
                })
                .collect()
        } else {
            full.clone()
        };
        let sel = if costs.iter().sum::<usize>() > budget && (rows.len() >= 4 || wide) {
            select::select(rows, keys, &cells, self.s.query, &costs, budget)
        } else {
            select::Selection {
                kept: (0..rows.len()).collect(),
                reasons: BTreeMap::new(),
            }
        };
        let dropped: Vec<usize> = {
            let mut k = sel.kept.iter().peekable();
            (0..rows.len())
                .filter(|i| {
                    if k.peek() == Some(&i) {
                        k.next();
                        false
                    } else {
                        true
                    }
                })
                .collect()
        };
        // A record shown only in part is not kept whole: its entry counts it with the rest.
        let whole: Vec<usize> = sel
            .kept
            .iter()
            .copied()
            .filter(|&i| answer.is_none() && (!wide || costs[i] >= full[i]))
            .collect();
        let mut marker_line = None;
        if !dropped.is_empty() || whole.len() < sel.kept.len() {
            let key = self.put_array(&whole, rows.len());
            let mut summary = select::summarize_dropped(&cells, &columns, &dropped, rows.len());
            if let Some(cols) = &answer {
                let names: Vec<String> = cols.iter().map(|&c| columns[c].path.join(".")).collect();
                summary = format!(
                    "{} of {} columns shown ({}); {summary}",
                    cols.len(),
                    columns.len(),
                    names.join(", ")
                );
            }
            marker_line = Some(marker(&key, &summary));
            let d = &mut self.details;
            d.arrays_selected += 1;
            d.rows_before += rows.len();
            d.rows_kept += sel.kept.len();
            d.rows_dropped += dropped.len();
            for (r, c) in &sel.reasons {
                *d.kept_because.entry(r).or_default() += c;
            }
        }
        if wide {
            self.records(keys, rows, &sel.kept, &costs, marker_line, depth, out);
            return;
        }
        // Rows are copied only when a long string in them has to be shortened.
        let mut kept: Vec<Cow<Map<String, Value>>> = Vec::with_capacity(sel.kept.len());
        for &i in &sel.kept {
            if !rows[i].values().any(needs_shortening) {
                kept.push(Cow::Borrowed(rows[i]));
                continue;
            }
            let mut row = Map::new();
            for (k, v) in rows[i] {
                row.insert(k.clone(), self.shorten_strings(v));
            }
            kept.push(Cow::Owned(row));
        }
        let kept_refs: Vec<&Map<String, Value>> = kept.iter().map(|r| r.as_ref()).collect();
        let table = match &answer {
            Some(cols) if !kept_refs.is_empty() => Some(Table::with_columns(
                &kept_refs,
                cols.iter().map(|&c| columns[c].clone()).collect(),
            )),
            _ if kept_refs.len() >= 2 => Table::build(&kept_refs),
            _ => None,
        };
        let kept_keys: Option<Vec<&str>> = keys.map(|k| sel.kept.iter().map(|&i| k[i]).collect());
        match (table, marker_line) {
            (Some(t), m) => {
                out.push_str(&match &kept_keys {
                    Some(k) => t.render_keyed(k, &kept_refs, Ctx::Block, depth),
                    None => t.render(&kept_refs, Ctx::Block, depth, true),
                });
                if let Some(m) = m {
                    out.push_str(&m);
                    out.push('\n');
                }
            }
            (None, m) if kept_keys.is_some() => {
                // Too few records left for a table: plain JSON, the marker under a key of its own.
                let mut map = Map::new();
                for (k, r) in kept_keys.iter().flatten().zip(&kept_refs) {
                    map.insert((*k).to_string(), Value::Object((*r).clone()));
                }
                if let Some(m) = m {
                    map.insert("…".into(), Value::String(m));
                }
                out.push_str(&compact_json(&map));
            }
            (None, m) => {
                out.push('[');
                let mut parts: Vec<String> = kept_refs.iter().map(|r| compact_json(*r)).collect();
                parts.extend(m.map(|m| compact_json(&Value::String(m))));
                out.push_str(&parts.join(","));
                out.push(']');
            }
        }
    }

    /// The kept records of a wide array (or map), each walked like a document of its own, and
    /// the marker as the last element.
    #[allow(clippy::too_many_arguments)]
    fn records(
        &mut self,
        keys: Option<&[&str]>,
        rows: &[&Map<String, Value>],
        kept: &[usize],
        budgets: &[usize],
        marker_line: Option<String>,
        depth: usize,
        out: &mut String,
    ) {
        out.push(if keys.is_some() { '{' } else { '[' });
        for (n, &i) in kept.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let step = match keys {
                Some(k) => {
                    syntax::push_json_string(out, k[i]);
                    out.push(':');
                    Step::Key(k[i].to_string())
                }
                None => Step::Index(i),
            };
            self.path.push(step);
            self.object_within(rows[i], budgets[i], depth + 1, out);
            self.path.pop();
        }
        if let Some(m) = marker_line {
            if !kept.is_empty() {
                out.push(',');
            }
            if keys.is_some() {
                out.push_str("\"…\":");
            }
            syntax::push_json_string(out, &m);
        }
        out.push(if keys.is_some() { '}' } else { ']' });
    }

    /// Long arrays of strings or numbers: duplicates collapsed with counts, query matches,
    /// ends and extremes kept, evenly spaced items to fill the budget, the rest stored.
    fn scalars(&mut self, items: &[Value], out: &mut String) {
        let texts: Vec<String> = items.iter().map(compact_json).collect();
        let total: usize = texts.iter().map(|t| estimate(t) + 1).sum();
        let budget = ((total as f64 * self.scale) as usize).max(self.floor);
        if total <= budget {
            encode_value(&Value::Array(items.to_vec()), Ctx::Block, 0, out);
            return;
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut order: Vec<usize> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let c = counts.entry(t.as_str()).or_default();
            if *c == 0 {
                order.push(i);
            }
            *c += 1;
        }
        let n = order.len();
        let mut keep = vec![false; n];
        for (j, &i) in order.iter().enumerate() {
            let t = scalar_str(&items[i]).unwrap_or_default();
            if self.s.query.exact.iter().any(|q| contains_exact(t, q))
                || self.s.query.words.iter().any(|w| contains_exact(t, w))
            {
                keep[j] = true;
            }
        }
        keep[0] = true;
        keep[n - 1] = true;
        let nums: Vec<(usize, f64)> = order
            .iter()
            .enumerate()
            .filter_map(|(j, &i)| items[i].as_f64().map(|x| (j, x)))
            .collect();
        if let (Some(lo), Some(hi)) = (
            nums.iter().min_by(|a, b| a.1.total_cmp(&b.1)),
            nums.iter().max_by(|a, b| a.1.total_cmp(&b.1)),
        ) {
            keep[lo.0] = true;
            keep[hi.0] = true;
        }
        let cost = |j: usize| estimate(&texts[order[j]]) + 1;
        let mut spent: usize = (0..n).filter(|&j| keep[j]).map(cost).sum();
        for j in select::evenly_spaced(n) {
            if !keep[j] && spent + cost(j) <= budget {
                keep[j] = true;
                spent += cost(j);
            }
        }
        let kept: Vec<usize> = (0..n).filter(|&j| keep[j]).collect();
        let dropped_items = items.len() - kept.len();
        if dropped_items == 0 {
            encode_value(&Value::Array(items.to_vec()), Ctx::Block, 0, out);
            return;
        }
        let shown: Vec<usize> = kept.iter().map(|&j| order[j]).collect();
        let key = self.put_array(&shown, items.len());
        let mut summary = format!(
            "{dropped_items} of {} items omitted; {n} distinct",
            items.len()
        );
        if let (Some(lo), Some(hi)) = (
            nums.iter().min_by(|a, b| a.1.total_cmp(&b.1)),
            nums.iter().max_by(|a, b| a.1.total_cmp(&b.1)),
        ) {
            summary.push_str(&format!(
                "; min {}, max {}",
                texts[order[lo.0]], texts[order[hi.0]]
            ));
        }
        let runs = integer_runs(items);
        if !runs.is_empty() {
            summary.push_str(&format!("; runs {}", runs.join(", ")));
        }
        let repeated: Vec<String> = {
            let mut r: Vec<(&str, usize)> = counts
                .iter()
                .filter(|(_, c)| **c > 1)
                .map(|(t, c)| (*t, *c))
                .collect();
            r.sort_by_key(|e| std::cmp::Reverse(e.1));
            r.iter()
                .take(3)
                .map(|(t, c)| format!("{} x{c}", t.chars().take(40).collect::<String>()))
                .collect()
        };
        if !repeated.is_empty() {
            summary.push_str(&format!("; most repeated: {}", repeated.join(", ")));
        }
        let mut parts: Vec<String> = kept.iter().map(|&j| texts[order[j]].clone()).collect();
        parts.push(compact_json(&Value::String(marker(&key, &summary))));
        out.push('[');
        out.push_str(&parts.join(","));
        out.push(']');
        self.details.items_dropped += dropped_items;
    }

    /// A copy of `v` with long opaque strings replaced by markers and long prose cut to a
    /// readable prefix followed by a marker; the full strings go to the store.
    fn shorten_strings(&mut self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.len() >= OPAQUE_MIN && is_opaque(s) => {
                let key = self.put(s.clone());
                self.details.strings_offloaded += 1;
                Value::String(marker(
                    &key,
                    &format!("opaque string, {} chars", s.chars().count()),
                ))
            }
            Value::String(s) if s.len() >= PROSE_MIN => {
                let mut cut = PROSE_KEEP;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                if let Some(space) = s[..cut].rfind(char::is_whitespace) {
                    if space > PROSE_KEEP / 2 {
                        cut = space;
                    }
                }
                let key = self.put(s.clone());
                self.details.strings_offloaded += 1;
                let rest = s[cut..].chars().count();
                Value::String(format!(
                    "{} {}",
                    &s[..cut],
                    marker(&key, &format!("{rest} more chars"))
                ))
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.shorten_strings(i)).collect())
            }
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    out.insert(k.clone(), self.shorten_strings(v));
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
}

/// Up to three longest runs of consecutive integers (`1..100`), at least five long each.
fn integer_runs(items: &[Value]) -> Vec<String> {
    let mut runs: Vec<(usize, i64, i64)> = Vec::new();
    let mut current: Option<(i64, i64)> = None;
    for v in items {
        let x = v.as_i64();
        current = match (current, x) {
            (Some((start, end)), Some(x)) if end.checked_add(1) == Some(x) => Some((start, x)),
            (prev, x) => {
                if let Some((start, end)) = prev {
                    runs.push(((end - start) as usize + 1, start, end));
                }
                x.map(|x| (x, x))
            }
        };
    }
    if let Some((start, end)) = current {
        runs.push(((end - start) as usize + 1, start, end));
    }
    runs.retain(|r| r.0 >= 5);
    runs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    runs.iter()
        .take(3)
        .map(|(_, a, b)| format!("{a}..{b}"))
        .collect()
}

/// Whether [`Lossy::shorten_strings`] would change anything in `v`.
fn needs_shortening(v: &Value) -> bool {
    match v {
        Value::String(s) => s.len() >= PROSE_MIN || (s.len() >= OPAQUE_MIN && is_opaque(s)),
        Value::Array(items) => items.iter().any(needs_shortening),
        Value::Object(m) => m.values().any(needs_shortening),
        _ => false,
    }
}

/// base64, hex or similar blobs: no whitespace and almost only alphanumerics and `+/=_-`.
fn is_opaque(s: &str) -> bool {
    if s.bytes().any(|b| b.is_ascii_whitespace()) {
        return false;
    }
    let blob = s
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-'))
        .count();
    blob * 100 >= s.len() * 95
}
