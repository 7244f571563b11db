//! The lossless table encoding (cinch table notation).
//!
//! The output is JSON in which any array of two or more objects may instead be written as a
//! table, whichever is estimated to cost fewer tokens:
//!
//! ```text
//! {"total_count":2,"items":[2]{id,owner.login,state:s,labels}:
//! 4711,octocat,open,[2]{id,name}(1,bug;2,help wanted)
//! 4712,hubot,closed,[]
//! }
//! ```
//!
//! * `[N]{columns}:` opens a block table of N rows, one per line. Inside a cell the inline form
//!   `[N]{columns}(row;row)` is used instead.
//! * A column is a path: nested objects present in every row are flattened (`owner.login`);
//!   a name that is not plain is written as a JSON string (`"a.b".c`).
//! * Cells are self-typed like JSON scalars, except that strings need no quotes when they cannot
//!   be mistaken for something else. An empty cell means the key is missing; `null` is null;
//!   `""` is the empty string. A column tagged `:s` holds only strings, so `1.0` or `null` there
//!   are strings. Arrays and objects in cells are written inline.
//! * Lines `~a=VALUE` before a block table declare a dictionary: a cell `~a/rest` means VALUE
//!   followed by `/rest`.
//! * NDJSON input is prefixed with a line `@ndjson`.

use super::parse::Document;
use super::syntax::{is_bare_name, is_bare_rest, is_bare_string, push_json_string};
use crate::tokens::estimate;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Deepest nesting the encoder renders as tables; below that it writes plain JSON.
const MAX_DEPTH: usize = 64;
/// Most columns a table may have before it stops paying off.
const MAX_COLUMNS: usize = 256;
/// Dictionary ids, one letter each.
const DICT_IDS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Renders a whole document in the table encoding.
pub fn encode_document(doc: &Document) -> String {
    let mut out = String::new();
    if doc.ndjson {
        out.push_str("@ndjson\n");
    }
    encode_value(&doc.value, Ctx::Block, 0, &mut out);
    // Only the last row's own line break: an empty last row is still a line.
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// Renders `value` as compact JSON (no tables), keys in their original order.
pub fn compact_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serialising JSON values into a String cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// Tables one row per line.
    Block,
    /// Inside a table cell: tables on one line.
    Inline,
}

pub(crate) fn encode_value(value: &Value, ctx: Ctx, depth: usize, out: &mut String) {
    match value {
        Value::Array(items) => {
            if depth < MAX_DEPTH {
                if let Some(table) = table_if_smaller(items, ctx, depth) {
                    out.push_str(&table);
                    return;
                }
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_value(item, ctx, depth + 1, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            if depth < MAX_DEPTH {
                if let Some(table) = map_table_if_smaller(map, ctx, depth) {
                    out.push_str(&table);
                    return;
                }
            }
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, k);
                out.push(':');
                encode_value(v, ctx, depth + 1, out);
            }
            out.push('}');
        }
        scalar => push_scalar(out, scalar),
    }
}

/// An object whose values are records (`{"id-1": {...}, "id-2": {...}}`) written as a keyed
/// table, when that is estimated to cost fewer tokens than JSON.
fn map_table_if_smaller(map: &Map<String, Value>, ctx: Ctx, depth: usize) -> Option<String> {
    let (keys, rows) = record_map(map)?;
    let table = Table::build(&rows)?;
    table_saves(&table, &rows).then(|| table.render_keyed(&keys, &rows, ctx, depth))
}

/// The keys of a map of records, and the records.
pub(crate) type KeyedRows<'a> = (Vec<&'a str>, Vec<&'a Map<String, Value>>);

/// The keys and records of an object whose values are all objects, two or more: a map of
/// records keyed by id, name or path.
pub(crate) fn record_map(map: &Map<String, Value>) -> Option<KeyedRows<'_>> {
    if map.len() < 2 {
        return None;
    }
    let rows: Vec<&Map<String, Value>> =
        map.values().map(Value::as_object).collect::<Option<_>>()?;
    Some((map.keys().map(String::as_str).collect(), rows))
}

fn table_if_smaller(items: &[Value], ctx: Ctx, depth: usize) -> Option<String> {
    let rows = object_rows(items)?;
    let table = Table::build(&rows)?;
    table_saves(&table, &rows).then(|| table.render(&rows, ctx, depth, true))
}

/// Whether `table` is estimated to cost fewer tokens than `rows` written as JSON objects.
fn table_saves(table: &Table, rows: &[&Map<String, Value>]) -> bool {
    // A table saves the keys repeated in every row and costs its header plus one separator
    // per empty cell; weigh those instead of serialising the array again at every level.
    let mut saved = 2 * rows.len();
    let mut empty = 0;
    let mut header = 2;
    for col in &table.columns {
        let name = col.path.last().map_or(0, |k| estimate(k)) + 3;
        header += col.path.iter().map(|k| estimate(k) + 1).sum::<usize>();
        let present = rows
            .iter()
            .filter(|r| lookup(r, &col.path).is_some())
            .count();
        saved += present * name;
        empty += rows.len() - present;
    }
    header + empty < saved
}

/// The rows of an array that can be a table: two or more, all objects.
pub(crate) fn object_rows(items: &[Value]) -> Option<Vec<&Map<String, Value>>> {
    if items.len() < 2 {
        return None;
    }
    items.iter().map(Value::as_object).collect()
}

/// One column of a table: a path of keys from the row, and whether it holds only strings.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub path: Vec<String>,
    pub strings: bool,
}

/// The column layout of a set of rows.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub columns: Vec<Column>,
}

impl Table {
    /// Lays out columns for `rows`, or `None` when the rows' key orders disagree or the table
    /// would be too wide to help.
    pub fn build(rows: &[&Map<String, Value>]) -> Option<Table> {
        let mut table = Table::layout(rows)?;
        for col in &mut table.columns {
            col.strings = wants_string_tag(rows, &col.path);
        }
        Some(table)
    }

    /// A table of only `columns` (a projection of another table's), with their string tags
    /// for `rows`.
    pub fn with_columns(rows: &[&Map<String, Value>], mut columns: Vec<Column>) -> Table {
        for col in &mut columns {
            col.strings = wants_string_tag(rows, &col.path);
        }
        Table { columns }
    }

    /// The columns alone, without the string tags that only rendering needs.
    pub fn layout(rows: &[&Map<String, Value>]) -> Option<Table> {
        let mut columns = Vec::new();
        let objects: Vec<Option<&Map<String, Value>>> = rows.iter().map(|r| Some(*r)).collect();
        add_columns(&objects, &mut Vec::new(), &mut columns, 0)?;
        if columns.is_empty() || columns.len() > MAX_COLUMNS {
            return None;
        }
        Some(Table { columns })
    }

    /// Renders the rows; `with_dictionary` lets a block table declare a value dictionary when
    /// that is estimated to save tokens.
    pub fn render(
        &self,
        rows: &[&Map<String, Value>],
        ctx: Ctx,
        depth: usize,
        with_dictionary: bool,
    ) -> String {
        self.render_maybe_keyed(None, rows, ctx, depth, with_dictionary)
    }

    /// Renders a map of records: `{N}{columns}:`, each row's first cell its key.
    pub fn render_keyed(
        &self,
        keys: &[&str],
        rows: &[&Map<String, Value>],
        ctx: Ctx,
        depth: usize,
    ) -> String {
        self.render_maybe_keyed(Some(keys), rows, ctx, depth, true)
    }

    fn render_maybe_keyed(
        &self,
        keys: Option<&[&str]>,
        rows: &[&Map<String, Value>],
        ctx: Ctx,
        depth: usize,
        with_dictionary: bool,
    ) -> String {
        let plain = self.render_with(keys, rows, ctx, depth, &Dictionary::default());
        if ctx == Ctx::Inline || !with_dictionary {
            return plain;
        }
        let dict = Dictionary::build(rows, &self.columns);
        if dict.entries.is_empty() {
            return plain;
        }
        let with = self.render_with(keys, rows, ctx, depth, &dict);
        if estimate(&with) < estimate(&plain) {
            with
        } else {
            plain
        }
    }

    fn render_with(
        &self,
        keys: Option<&[&str]>,
        rows: &[&Map<String, Value>],
        ctx: Ctx,
        depth: usize,
        dict: &Dictionary,
    ) -> String {
        let mut out = String::new();
        for (id, value) in dict.entries.iter().enumerate() {
            out.push('~');
            out.push(DICT_IDS[id] as char);
            out.push('=');
            let raw_ok = !value.contains(['\n', '\r'])
                && !value.starts_with('"')
                && value.trim() == value
                && !value.is_empty();
            if raw_ok {
                out.push_str(value);
            } else {
                push_json_string(&mut out, value);
            }
            out.push('\n');
        }
        let (open, close) = if keys.is_some() {
            ('{', '}')
        } else {
            ('[', ']')
        };
        out.push(open);
        out.push_str(&rows.len().to_string());
        out.push(close);
        out.push('{');
        for (i, col) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            for (j, seg) in col.path.iter().enumerate() {
                if j > 0 {
                    out.push('.');
                }
                if is_bare_name(seg) {
                    out.push_str(seg);
                } else {
                    push_json_string(&mut out, seg);
                }
            }
            if col.strings {
                out.push_str(":s");
            }
        }
        out.push('}');
        out.push_str(if ctx == Ctx::Block { ":\n" } else { "(" });
        for (r, row) in rows.iter().enumerate() {
            if ctx == Ctx::Inline && r > 0 {
                out.push(';');
            }
            if let Some(key) = keys.and_then(|k| k.get(r)) {
                // A key is always a string; an empty one must be quoted to be told from none.
                let key = Value::String((*key).to_string());
                render_cell(&key, true, &Dictionary::default(), depth, &mut out);
                out.push(',');
            }
            for (c, col) in self.columns.iter().enumerate() {
                if c > 0 {
                    out.push(',');
                }
                if let Some(v) = lookup(row, &col.path) {
                    render_cell(v, col.strings, dict, depth, &mut out);
                }
            }
            if ctx == Ctx::Block {
                out.push('\n');
            }
        }
        if ctx == Ctx::Inline {
            out.push(')');
        }
        out
    }
}

/// About how many tokens `v` costs as a table cell (or as JSON, for arrays and objects),
/// without rendering it.
pub(crate) fn estimate_value(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::Number(n) => estimate(n.as_str()),
        Value::String(s) => estimate(s),
        Value::Array(items) => 1 + items.iter().map(|i| estimate_value(i) + 1).sum::<usize>(),
        Value::Object(m) => {
            1 + m
                .iter()
                .map(|(k, v)| estimate(k) + 2 + estimate_value(v))
                .sum::<usize>()
        }
    }
}

/// About how many tokens the table encoding of `v` costs, without rendering it: arrays of
/// objects are costed as tables (cells and separators, keys once).
pub(crate) fn estimate_encoded(v: &Value) -> usize {
    match v {
        Value::Array(items) => match object_rows(items) {
            Some(rows) => {
                let header = rows[0].keys().map(|k| estimate(k) + 1).sum::<usize>() + 4;
                header
                    + rows
                        .iter()
                        .map(|r| 1 + r.values().map(|v| estimate_encoded(v) + 1).sum::<usize>())
                        .sum::<usize>()
            }
            None => 1 + items.iter().map(|i| estimate_encoded(i) + 1).sum::<usize>(),
        },
        Value::Object(m) => {
            1 + m
                .iter()
                .map(|(k, v)| estimate(k) + 2 + estimate_encoded(v))
                .sum::<usize>()
        }
        scalar => estimate_value(scalar),
    }
}

/// A table's cell values, looked up once for all the passes over them.
pub(crate) struct Cells<'a> {
    width: usize,
    /// Row `r`, column `c` at `r * width + c`.
    values: Vec<Option<&'a Value>>,
}

impl<'a> Cells<'a> {
    pub fn new(rows: &[&'a Map<String, Value>], columns: &[Column]) -> Cells<'a> {
        let mut values = Vec::with_capacity(rows.len() * columns.len());
        for row in rows {
            // Columns come grouped by their parent object: find each parent once per row.
            let mut parent_path: Option<&[String]> = None;
            let mut parent: Option<&'a Map<String, Value>> = None;
            for col in columns {
                let Some((last, parents)) = col.path.split_last() else {
                    values.push(None);
                    continue;
                };
                if parent_path != Some(parents) {
                    parent = parents
                        .iter()
                        .try_fold(*row, |o, k| o.get(k).and_then(Value::as_object));
                    parent_path = Some(parents);
                }
                values.push(parent.and_then(|o| o.get(last)));
            }
        }
        Cells {
            width: columns.len(),
            values,
        }
    }

    /// Row `r`'s cells, one per column.
    pub fn row(&self, r: usize) -> &[Option<&'a Value>] {
        &self.values[r * self.width..(r + 1) * self.width]
    }

    /// Column `c`'s cells, one per row.
    pub fn column(&self, c: usize) -> impl Iterator<Item = Option<&'a Value>> + '_ {
        self.values
            .iter()
            .skip(c)
            .step_by(self.width.max(1))
            .copied()
    }

    pub fn width(&self) -> usize {
        self.width
    }
}

/// The value at `path` in `row`, if every step is present.
pub(crate) fn lookup<'a>(row: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut obj = row;
    for p in parents {
        obj = obj.get(p)?.as_object()?;
    }
    obj.get(last)
}

fn render_cell(v: &Value, strings: bool, dict: &Dictionary, depth: usize, out: &mut String) {
    match v {
        Value::String(s) => {
            if let Some((id, rest)) = dict.lookup(s) {
                out.push('~');
                out.push(DICT_IDS[id] as char);
                out.push_str(rest);
            } else if is_bare_string(s, !strings) {
                out.push_str(s);
            } else {
                push_json_string(out, s);
            }
        }
        Value::Array(_) | Value::Object(_) => encode_value(v, Ctx::Inline, depth + 1, out),
        scalar => push_scalar(out, scalar),
    }
}

/// Appends a null, boolean or number as JSON (numbers exactly as parsed).
fn push_scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n.as_str()),
        Value::String(s) => push_json_string(out, s),
        other => out.push_str(&compact_json(other)),
    }
}

/// Adds the columns for the keys of `objects` (one entry per row; `None` where an enclosing
/// flattened object is absent, which cannot happen at the top).
fn add_columns(
    objects: &[Option<&Map<String, Value>>],
    prefix: &mut Vec<String>,
    columns: &mut Vec<Column>,
    level: usize,
) -> Option<()> {
    let keys = merge_key_order(objects.iter().flatten().copied())?;
    for key in keys {
        let values: Vec<Option<&Value>> = objects
            .iter()
            .map(|o| o.and_then(|o| o.get(&key)))
            .collect();
        prefix.push(key);
        if level < 4 && should_flatten(&values) {
            let inner: Vec<Option<&Map<String, Value>>> = values
                .iter()
                .map(|v| v.and_then(Value::as_object))
                .collect();
            add_columns(&inner, prefix, columns, level + 1)?;
        } else {
            columns.push(Column {
                path: prefix.clone(),
                strings: false,
            });
        }
        prefix.pop();
        if columns.len() > MAX_COLUMNS {
            return None;
        }
    }
    Some(())
}

/// Flatten a key into dotted columns when it holds a non-empty object in every row and the
/// objects share most of their keys (a sparse union would make a wide, mostly empty table).
fn should_flatten(values: &[Option<&Value>]) -> bool {
    let mut total = 0usize;
    let mut union: Vec<&str> = Vec::new();
    for v in values {
        let Some(Value::Object(m)) = v else {
            return false;
        };
        total += m.len();
        for k in m.keys() {
            if !union.contains(&k.as_str()) {
                union.push(k);
                if union.len() > 64 {
                    return false;
                }
            }
        }
    }
    if union.is_empty() {
        return false;
    }
    let avg = total as f64 / values.len() as f64;
    (union.len() as f64) <= (avg * 1.5).max(avg + 3.0)
}

/// One key order consistent with every row's own order, favouring first-seen order, or `None`
/// if the rows disagree (a table would then reorder keys and the encoding would not be exact).
fn merge_key_order<'a>(rows: impl Iterator<Item = &'a Map<String, Value>>) -> Option<Vec<String>> {
    let mut order: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let keys: Vec<&String> = row.keys().collect();
        let mut prev: Option<usize> = None;
        for (i, key) in keys.iter().enumerate() {
            let pos = match index.get(key.as_str()) {
                Some(&p) => p,
                None => {
                    // As late as possible: just before this row's next known key, else at the end.
                    let next_known = keys[i + 1..]
                        .iter()
                        .find_map(|k| index.get(k.as_str()).copied());
                    let p = next_known.unwrap_or(order.len());
                    order.insert(p, (*key).clone());
                    if order.len() > MAX_COLUMNS {
                        return None;
                    }
                    for (j, k) in order.iter().enumerate().skip(p) {
                        index.insert(k.clone(), j);
                    }
                    p
                }
            };
            if prev.is_some_and(|q| pos <= q) {
                return None;
            }
            prev = Some(pos);
        }
    }
    Some(order)
}

/// A `:s` tag pays off when every present value is a string and some would otherwise need quotes.
fn wants_string_tag(rows: &[&Map<String, Value>], path: &[String]) -> bool {
    let mut helps = false;
    for row in rows {
        match lookup(row, path) {
            None => {}
            Some(Value::String(s)) if !is_bare_string(s, true) && is_bare_string(s, false) => {
                helps = true
            }
            Some(Value::String(_)) => {}
            Some(_) => return false,
        }
    }
    helps
}

/// Long values and prefixes that repeat across a table's string cells.
#[derive(Debug, Default)]
pub(crate) struct Dictionary {
    entries: Vec<String>,
}

impl Dictionary {
    fn build(rows: &[&Map<String, Value>], columns: &[Column]) -> Dictionary {
        const MIN_LEN: usize = 10;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for row in rows {
            for col in columns {
                let Some(Value::String(s)) = lookup(row, &col.path) else {
                    continue;
                };
                if s.len() < MIN_LEN || !is_bare_rest(s) {
                    continue;
                }
                // Whole values only when long (shared descriptions) or URLs: a short value or an
                // error message behind a reference is harder for the model to read than it saves.
                let url = s.contains("://");
                if url || s.len() >= 48 {
                    *counts.entry(s.as_str()).or_default() += 1;
                }
                // Only URLs are split, at path boundaries: ids, ARNs and timestamps stay whole so
                // the model can still read and quote them verbatim.
                let Some(scheme) = s.find("://") else {
                    continue;
                };
                for (i, b) in s.bytes().enumerate().skip(scheme + 3) {
                    if b == b'/' && i + 1 >= MIN_LEN && i + 1 < s.len() {
                        *counts.entry(&s[..=i]).or_default() += 1;
                    }
                }
            }
        }
        let mut scored: Vec<(i64, &str)> = counts
            .into_iter()
            .filter(|&(_, n)| n >= 2)
            .map(|(p, n)| ((n as i64) * (p.len() as i64 - 2) - (p.len() as i64 + 5), p))
            .filter(|&(gain, _)| gain > 16)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let mut entries: Vec<String> = Vec::new();
        for (_, p) in scored {
            // A prefix of a chosen entry adds little; a longer entry that extends a chosen one
            // is still worth it (cells take the longest match).
            if entries.iter().any(|e| e.starts_with(p)) {
                continue;
            }
            entries.push(p.to_string());
            if entries.len() == DICT_IDS.len() {
                break;
            }
        }
        Dictionary { entries }
    }

    fn lookup<'s>(&self, s: &'s str) -> Option<(usize, &'s str)> {
        let mut best: Option<(usize, usize)> = None;
        for (id, e) in self.entries.iter().enumerate() {
            if s.starts_with(e.as_str()) && best.is_none_or(|(_, len)| e.len() > len) {
                best = Some((id, e.len()));
            }
        }
        let (id, len) = best?;
        let rest = &s[len..];
        is_bare_rest(rest).then_some((id, rest))
    }
}
