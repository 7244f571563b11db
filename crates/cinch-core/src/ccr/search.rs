//! Retrieval with a query: the parts of a stored original that match, not all of it.
//!
//! Stored content is split into items: the rows of a JSON array (the array a stored entry's
//! header names, or content that is one array), otherwise lines. Items that match the query's
//! exact terms (ids, numbers, quoted strings) or field clauses come first, in their stored
//! order; then items with query words, best BM25 score first. Items matching nothing are left
//! out.

use super::entry::{self, Entry, Step};
use crate::query::{bm25, clause_matches, contains_exact, contains_hex_prefix, leaf_texts, Query};
use serde_json::Value;
use std::borrow::Cow;

/// A stored entry that cannot be searched.
#[derive(Debug, thiserror::Error)]
pub enum Unsearchable {
    /// Its original is not UTF-8 text.
    #[error("the stored original is not text")]
    NotText,
    /// Its header names a JSON array the original does not have.
    #[error("the stored original has no JSON array where its header says")]
    NoArray,
}

/// Stored content split into items.
#[derive(Debug)]
pub struct Items<'a> {
    /// Whether the content was a JSON array (items are then compact JSON values).
    pub json: bool,
    /// The items, in stored order.
    pub items: Vec<Cow<'a, str>>,
    values: Vec<Value>,
    /// Items are entries of a map of records, `{"key": record}`: the record is matched, and
    /// its key searched like a value.
    keyed: bool,
    /// For items of several lines (a git log's commits): each item's lines, half-open; the
    /// entry's kept ranges count lines.
    spans: Vec<(usize, usize)>,
}

impl<'a> Items<'a> {
    /// Splits `content`: a JSON array into its elements, any other text into lines.
    pub fn of(content: &'a str) -> Items<'a> {
        if content.trim_start().starts_with('[') {
            if let Ok(Value::Array(values)) = serde_json::from_str::<Value>(content) {
                let items = values
                    .iter()
                    .map(|v| Cow::Owned(serde_json::to_string(v).unwrap_or_default()))
                    .collect();
                return Items {
                    json: true,
                    items,
                    values,
                    keyed: false,
                    spans: Vec::new(),
                };
            }
        }
        Items {
            json: false,
            items: content.lines().map(Cow::Borrowed).collect(),
            values: Vec::new(),
            keyed: false,
            spans: Vec::new(),
        }
    }

    /// The items of a stored entry's original: the rows of the array its header names, or
    /// what [`Items::of`] finds.
    pub fn of_entry(e: &Entry<'a>) -> Result<Items<'a>, Unsearchable> {
        let text = std::str::from_utf8(e.original).map_err(|_| Unsearchable::NotText)?;
        if e.header.kind == "ndjson" {
            // Rows are the lines that hold a value (blank lines hold none).
            let values: Vec<Value> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).map_err(|_| Unsearchable::NoArray))
                .collect::<Result<_, _>>()?;
            return Ok(Items {
                json: true,
                items: text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(Cow::Borrowed)
                    .collect(),
                values,
                keyed: false,
                spans: Vec::new(),
            });
        }
        if e.header.kind == "gitlog" {
            return Ok(Items::commits(text));
        }
        let Some(path) = &e.header.path else {
            return Ok(Items::of(text));
        };
        let mut value: Value = serde_json::from_str(text).map_err(|_| Unsearchable::NoArray)?;
        for step in path {
            value = match (step, value) {
                (Step::Key(k), Value::Object(mut m)) => m.remove(k),
                (Step::Index(i), Value::Array(mut a)) if *i < a.len() => Some(a.swap_remove(*i)),
                _ => None,
            }
            .ok_or(Unsearchable::NoArray)?;
        }
        let keyed = value.is_object();
        let values = match value {
            Value::Array(values) => values,
            // A map of records keyed by id: each entry is an item, `{"key": record}`.
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| Value::Object([(k, v)].into_iter().collect()))
                .collect(),
            _ => return Err(Unsearchable::NoArray),
        };
        let items = values
            .iter()
            .map(|v| Cow::Owned(serde_json::to_string(v).unwrap_or_default()))
            .collect();
        Ok(Items {
            json: true,
            items,
            values,
            keyed,
            spans: Vec::new(),
        })
    }

    /// A git log's commits, each from its `commit` line to the next (a one-line log's lines,
    /// when it has no such headers), so that a commit comes back whole.
    fn commits(text: &'a str) -> Items<'a> {
        let starts_commit = |l: &str| {
            l.trim_start_matches(['*', '|', '\\', '/', ' '])
                .strip_prefix("commit ")
                .is_some_and(|h| {
                    h.len() >= 7 && h.as_bytes()[..7].iter().all(u8::is_ascii_hexdigit)
                })
        };
        let mut items: Vec<Cow<'a, str>> = Vec::new();
        let mut spans = Vec::new();
        let (mut start, mut first_line) = (0, 0);
        let mut at = 0;
        let mut lines = 0;
        for (n, line) in text.split_inclusive('\n').enumerate() {
            if starts_commit(line) && at > start {
                items.push(Cow::Borrowed(text[start..at].trim_end_matches('\n')));
                spans.push((first_line, n));
                (start, first_line) = (at, n);
            }
            at += line.len();
            lines = n + 1;
        }
        if at > start {
            items.push(Cow::Borrowed(text[start..at].trim_end_matches('\n')));
            spans.push((first_line, lines));
        }
        if !text.lines().any(starts_commit) {
            return Items::of(text);
        }
        Items {
            json: false,
            items,
            values: Vec::new(),
            keyed: false,
            spans,
        }
    }

    /// The indices of the items `e`'s output left out (an item of several lines when any of
    /// them was).
    pub fn dropped(&self, e: &Entry) -> Vec<usize> {
        if self.spans.is_empty() {
            return entry::dropped(&e.header.kept, self.len()).collect();
        }
        (0..self.len())
            .filter(|&i| {
                let (a, b) = self.spans[i];
                (a..b).any(|l| !entry::is_kept(&e.header.kept, l))
            })
            .collect()
    }

    /// What the items are, in the plural: `rows`, `commits` or `lines`.
    pub fn noun(&self) -> &'static str {
        if self.json {
            "rows"
        } else if !self.spans.is_empty() {
            "commits"
        } else {
            "lines"
        }
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The record of item `i` and, for a map's entry, its key.
    fn record(&self, i: usize) -> (Option<&Value>, Option<&str>) {
        match (self.keyed, self.values.get(i)) {
            (true, Some(Value::Object(entry))) => match entry.iter().next() {
                Some((k, v)) => (Some(v), Some(k.as_str())),
                None => (None, None),
            },
            (_, v) => (v, None),
        }
    }

    /// The searchable texts of item `i`: a JSON item's values (and a map entry's key), or the
    /// line.
    fn texts(&self, i: usize) -> Vec<&str> {
        let (record, key) = self.record(i);
        let mut texts = self.record_texts(i, record);
        texts.extend(key);
        texts
    }

    fn record_texts<'s>(&'s self, i: usize, record: Option<&'s Value>) -> Vec<&'s str> {
        match record {
            Some(Value::Object(row)) => leaf_texts(row),
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Number(n)) => vec![n.as_str()],
            Some(_) => vec![self.items[i].as_ref()],
            None => vec![self.items[i].as_ref()],
        }
    }

    /// The indices of the items that match `query`, best first (see the module docs). An
    /// empty query matches every item, in order.
    pub fn matching(&self, query: &Query) -> Vec<usize> {
        if query.is_empty() {
            return (0..self.len()).collect();
        }
        let texts: Vec<Vec<&str>> = (0..self.len()).map(|i| self.texts(i)).collect();
        let exact: Vec<usize> = (0..self.len())
            .filter(|&i| {
                let clause = match self.record(i).0 {
                    Some(Value::Object(row)) => {
                        query.clauses.iter().any(|c| clause_matches(row, c))
                    }
                    _ => false,
                };
                clause
                    || query.exact.iter().any(|t| {
                        texts[i]
                            .iter()
                            .any(|x| contains_exact(x, t) || contains_hex_prefix(x, t))
                    })
            })
            .collect();
        let scores = bm25(&texts, &query.words);
        let mut ranked: Vec<usize> = (0..self.len())
            .filter(|&i| scores[i] > 0.0 && !exact.contains(&i))
            .collect();
        ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        exact.into_iter().chain(ranked).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> String {
        let rows: Vec<String> = (0..1000)
            .map(|i| {
                format!(
                    "{{\"id\":{},\"status\":\"{}\",\"note\":\"{}\"}}",
                    4000 + i,
                    if i % 100 == 7 { "failed" } else { "ok" },
                    if i == 500 {
                        "disk quota exceeded"
                    } else {
                        "fine"
                    }
                )
            })
            .collect();
        format!("[\n{}\n]", rows.join(",\n"))
    }

    #[test]
    fn an_id_finds_its_row_among_a_thousand() {
        let content = rows();
        let items = Items::of(&content);
        assert!(items.json);
        assert_eq!(items.len(), 1000);
        let hits = items.matching(&Query::parse("the row with id 4711"));
        assert_eq!(hits[0], 711, "the exact id comes first");
        assert!(items.items[711].contains("\"id\":4711"));
    }

    #[test]
    fn clauses_and_words_match_values() {
        let content = rows();
        let items = Items::of(&content);
        assert_eq!(
            items.matching(&Query::parse("status = failed")),
            (0..10).map(|k| k * 100 + 7).collect::<Vec<_>>()
        );
        assert_eq!(items.matching(&Query::parse("quota")), vec![500]);
        assert!(items
            .matching(&Query::parse("nothing like this"))
            .is_empty());
    }

    #[test]
    fn a_git_logs_commits_come_back_whole_by_an_abbreviated_hash() {
        let log = "commit 1b49bb9e5f2a3c4d5e6f708192a3b4c5d6e7f809\nAuthor: A <a@x>\n\n    Fix the cache\n\ncommit 4d4f345e5f2a3c4d5e6f708192a3b4c5d6e7f809\nAuthor: B <b@x>\n\n    Add a flag\n+not a diff line\n";
        let header = entry::Header {
            kind: "gitlog".into(),
            kept: vec![(0, 5)],
            path: None,
        };
        let bytes = entry::encode(&header, log.as_bytes());
        let e = entry::decode(&bytes).unwrap();
        let items = Items::of_entry(&e).unwrap();
        assert_eq!((items.len(), items.noun()), (2, "commits"));
        let hits = items.matching(&Query::parse("what did 4d4f345 change"));
        assert_eq!(hits, vec![1]);
        assert!(
            items.items[1].starts_with("commit 4d4f345")
                && items.items[1].ends_with("+not a diff line")
        );
        assert_eq!(
            items.dropped(&e),
            vec![1],
            "the first commit was shown whole"
        );
    }

    #[test]
    fn text_is_searched_line_by_line() {
        let items = Items::of("alpha 1\nbeta 2\nerror in gamma\n");
        assert!(!items.json);
        assert_eq!(items.matching(&Query::parse("gamma")), vec![2]);
        assert_eq!(items.matching(&Query::parse("")), vec![0, 1, 2]);
    }
}
