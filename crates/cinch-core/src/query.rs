//! What the agent is asking, in a form compressors can match content against.
//!
//! A query is split three ways: field clauses (`status = failed`, `author.type: Bot`), exact
//! terms (anything with a digit, or quoted: ids, versions, numbers, which must match whole
//! values or whole tokens, never fuzzily), and plain words for relevance ranking (stop words
//! removed). Matching is on values, never on key names.

use regex::Regex;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// `field = value` clauses; the field is a dotted path.
    pub clauses: Vec<Clause>,
    /// Terms that must match exactly (lowercased).
    pub exact: Vec<String>,
    /// Words for relevance ranking (lowercased, no stop words).
    pub words: Vec<String>,
    /// Identifiers as written, with or without backticks (lowercased): `snake_case`,
    /// `camelCase`, `PascalCase`, `Type::method`, `obj.method`; for matching definitions by name.
    pub idents: Vec<String>,
    /// Command-line options named in the query (`-e`, `--regexp`), as written: a manual page
    /// or `--help` text keeps their entries.
    pub options: Vec<String>,
}

/// One `field = value` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Path segments, as written.
    pub path: Vec<String>,
    /// The value, lowercased.
    pub value: String,
}

const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "an", "and", "any", "are", "as", "at", "be", "by", "can", "do", "does",
    "each", "entries", "entry", "for", "from", "give", "has", "have", "how", "i", "in", "is", "it",
    "its", "list", "me", "of", "on", "or", "record", "records", "row", "rows", "show", "tell",
    "that", "the", "their", "them", "there", "these", "this", "to", "was", "what", "where",
    "which", "who", "why", "with", "work", "works", "does", "find", "get",
];

fn clause_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"([A-Za-z_$@][A-Za-z0-9_.$@-]*)[ \t]*(?:==|=|:)[ \t]*(?:"([^"]*)"|'([^']*)'|([^?,;\n"'=]+?))[ \t]*(?:[?,;\n]|\.[ \t]|\.$|$|[ \t](?:and|or|AND|OR)[ \t])"#)
            .expect("valid regex")
    })
}

impl Query {
    /// Parses free text. An empty or whitespace-only query parses to an empty [`Query`].
    pub fn parse(text: &str) -> Query {
        let mut q = Query::default();
        let clauses = if text.contains(['=', ':']) {
            clause_re().captures_iter(text).collect()
        } else {
            Vec::new()
        };
        for cap in clauses {
            let field = cap.get(1).map_or("", |m| m.as_str()).trim_end_matches('.');
            let value = cap
                .get(2)
                .or(cap.get(3))
                .or(cap.get(4))
                .map_or("", |m| m.as_str())
                .trim();
            let value = value.trim_end_matches('.');
            if field.is_empty() || value.is_empty() || field.contains("://") {
                continue;
            }
            q.clauses.push(Clause {
                path: field
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                value: value.to_lowercase(),
            });
        }
        // "Quoted" and `backticked` terms (identifiers, messages) are matched exactly.
        for quote in ['"', '`'] {
            for quoted in text.split(quote).skip(1).step_by(2) {
                if !quoted.trim().is_empty() {
                    push_unique(&mut q.exact, quoted.trim().to_lowercase());
                }
            }
        }
        for raw in text.split_whitespace() {
            let t = raw
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            if t.is_empty() {
                continue;
            }
            if t.len() >= 2 && t.chars().any(|c| c.is_ascii_digit()) {
                push_unique(&mut q.exact, t.clone());
            }
        }
        for w in words(text) {
            if w.len() >= 2 && !STOP_WORDS.contains(&w.as_str()) {
                push_unique(&mut q.words, w);
            }
        }
        for raw in text.split_whitespace() {
            if let Some(ident) = identifier(raw) {
                push_unique(&mut q.idents, ident.to_lowercase());
            }
        }
        for raw in text
            .split(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | ',' | '(' | ')'))
        {
            let option = raw
                .split('=')
                .next()
                .unwrap_or("")
                .trim_end_matches(['?', '.', ':', ';', '!']);
            if is_option(option) {
                push_unique(&mut q.options, option.to_string());
            }
        }
        q
    }

    /// True when the query asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty() && self.exact.is_empty() && self.words.is_empty()
    }
}

/// `raw` (one whitespace-separated piece of a query) if it is written like an identifier: with
/// an underscore, a `::`, `.` or `#` between names, or a capital letter after its first
/// character; quotes, backticks, brackets and punctuation around it are ignored. Paths
/// (`src/lib.rs`) are not identifiers.
fn identifier(raw: &str) -> Option<&str> {
    let t = raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
    if t.is_empty()
        || t.contains(['/', '\\'])
        || t.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return None;
    }
    let name = |c: char| c.is_alphanumeric() || c == '_';
    let parts: Vec<&str> = t.split("::").flat_map(|p| p.split(['.', '#'])).collect();
    let bad = |p: &str| {
        p.is_empty() || !p.chars().all(name) || p.starts_with(|c: char| c.is_ascii_digit())
    };
    if parts.iter().any(|p| bad(p)) {
        return None;
    }
    let qualified = parts.len() > 1;
    let snake = t.contains('_') && t.chars().any(char::is_alphabetic);
    let camel = t.chars().skip(1).any(char::is_uppercase) && t.chars().any(char::is_lowercase);
    (qualified || snake || camel).then_some(t)
}

/// A command-line option: `-e`, `-E`, `--regexp`, `--no-messages`.
fn is_option(word: &str) -> bool {
    let name = match word.strip_prefix("--") {
        Some(long) => long,
        None => match word.strip_prefix('-') {
            Some(short) if short.chars().count() == 1 => short,
            _ => return false,
        },
    };
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Lowercased alphanumeric words of `text` (underscores split words too).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Every scalar value at `path` in `value`, searching arrays along the way; if the path does
/// not start at the root, it is also looked for at any depth (bounded).
pub fn values_at<'a>(row: &'a Map<String, Value>, path: &[String]) -> Vec<&'a Value> {
    let mut out = Vec::new();
    walk_map(row, path, &mut out, 0);
    if out.is_empty() {
        find_in_map(row, path, &mut out, 0);
    }
    out
}

fn walk_map<'a>(
    map: &'a Map<String, Value>,
    path: &[String],
    out: &mut Vec<&'a Value>,
    depth: usize,
) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    for (k, v) in map {
        if k.eq_ignore_ascii_case(head) {
            walk_path(v, rest, out, depth + 1);
        }
    }
}

fn find_in_map<'a>(
    map: &'a Map<String, Value>,
    path: &[String],
    out: &mut Vec<&'a Value>,
    depth: usize,
) {
    for (k, v) in map {
        if path.first().is_some_and(|h| k.eq_ignore_ascii_case(h)) {
            walk_path(v, &path[1..], out, depth + 1);
        } else {
            find_anywhere(v, path, out, depth + 1);
        }
    }
}

fn walk_path<'a>(value: &'a Value, path: &[String], out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 32 {
        return;
    }
    match (value, path.split_first()) {
        (Value::Array(items), _) => items
            .iter()
            .for_each(|i| walk_path(i, path, out, depth + 1)),
        (v, None) => out.push(v),
        (Value::Object(map), Some(_)) => walk_map(map, path, out, depth),
        _ => {}
    }
}

fn find_anywhere<'a>(value: &'a Value, path: &[String], out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 8 {
        return;
    }
    match value {
        Value::Object(map) => find_in_map(map, path, out, depth),
        Value::Array(items) => items
            .iter()
            .for_each(|i| find_anywhere(i, path, out, depth + 1)),
        _ => {}
    }
}

/// Whether `row` satisfies `clause`: some value at the path equals the clause's value
/// (case-insensitively).
pub fn clause_matches(row: &Map<String, Value>, clause: &Clause) -> bool {
    values_at(row, &clause.path)
        .into_iter()
        .filter_map(scalar_str)
        .any(|t| t.eq_ignore_ascii_case(&clause.value))
}

/// Whether `text` contains the exact term as a whole value or a whole token (bounded by
/// characters that are not letters or digits).
pub fn contains_exact(text: &str, term: &str) -> bool {
    if !text.is_ascii() || !term.is_ascii() {
        return contains_exact_unicode(text, term);
    }
    // ASCII fast path: no lowercased copy of every cell.
    let (t, q) = (text.as_bytes(), term.as_bytes());
    if q.is_empty() || q.len() > t.len() {
        return false;
    }
    (0..=t.len() - q.len()).any(|start| {
        let end = start + q.len();
        t[start..end].eq_ignore_ascii_case(q)
            && (start == 0 || !t[start - 1].is_ascii_alphanumeric())
            && (end == t.len() || !t[end].is_ascii_alphanumeric())
    })
}

/// Whether `text` has a hexadecimal token that starts with `term`, itself seven or more hex
/// digits: a commit, image or checksum named by its abbreviation (`1b49bb9` for
/// `1b49bb9e5f2a...`).
pub fn contains_hex_prefix(text: &str, term: &str) -> bool {
    if term.len() < 7 || !term.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let t = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = memchr::memmem::find(&t[from..], term.as_bytes()) {
        let start = from + pos;
        let before_ok = start == 0 || !t[start - 1].is_ascii_alphanumeric();
        let end = t[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(t.len(), |p| start + p);
        if before_ok && t[start..end].iter().all(u8::is_ascii_hexdigit) {
            return true;
        }
        from = start + 1;
    }
    false
}

fn contains_exact_unicode(text: &str, term: &str) -> bool {
    let lower = text.to_lowercase();
    if lower == term {
        return true;
    }
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(term) {
        let start = from + pos;
        let end = start + term.len();
        let before = start == 0 || !(bytes[start - 1] as char).is_alphanumeric();
        let after = end == bytes.len() || !(bytes[end] as char).is_alphanumeric();
        if before && after {
            return true;
        }
        from = start + 1;
        while !lower.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// A scalar's text without copying it (`None` for null, arrays and objects).
pub fn scalar_str(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.as_str()),
        Value::Bool(true) => Some("true"),
        Value::Bool(false) => Some("false"),
        _ => None,
    }
}

/// Whether word `w` of some text equals the lowercased query word `term`.
pub fn word_is(w: &str, term: &str) -> bool {
    if w.is_ascii() {
        w.eq_ignore_ascii_case(term)
    } else {
        w.to_lowercase() == term
    }
}

/// Every string and number in `row`, nested ones included (the values, never the keys).
pub fn leaf_texts(row: &Map<String, Value>) -> Vec<&str> {
    fn go<'a>(v: &'a Value, out: &mut Vec<&'a str>, depth: usize) {
        if depth > 16 {
            return;
        }
        match v {
            Value::Object(m) => m.values().for_each(|v| go(v, out, depth + 1)),
            Value::Array(a) => a.iter().for_each(|v| go(v, out, depth + 1)),
            Value::String(s) => out.push(s),
            Value::Number(n) => out.push(n.as_str()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    row.values().for_each(|v| go(v, &mut out, 0));
    out
}

/// BM25 (k1 = 1.2, b = 0.75) of each item's words (from its texts) against the query words,
/// IDF over the items.
pub fn bm25(texts: &[Vec<&str>], terms: &[String]) -> Vec<f64> {
    let (n, m) = (texts.len(), terms.len());
    if m == 0 || n == 0 {
        return vec![0.0; n];
    }
    let longest = terms.iter().map(String::len).max().unwrap_or(0);
    let mut tf = vec![0u32; n * m];
    let mut lens = vec![0usize; n];
    for (i, row) in texts.iter().enumerate() {
        for text in row {
            // Bytes of multi-byte characters count as word characters, like letters.
            let words = text
                .as_bytes()
                .split(|b| !(b.is_ascii_alphanumeric() || *b >= 0x80));
            for w in words.filter(|w| !w.is_empty()) {
                lens[i] += 1;
                if w.len() > longest * 2 {
                    continue;
                }
                for (j, q) in terms.iter().enumerate() {
                    let hit = if w.is_ascii() {
                        w.eq_ignore_ascii_case(q.as_bytes())
                    } else {
                        std::str::from_utf8(w).is_ok_and(|w| word_is(w, q))
                    };
                    if hit {
                        tf[i * m + j] += 1;
                    }
                }
            }
        }
    }
    let avg = (lens.iter().sum::<usize>() as f64 / n as f64).max(1.0);
    let idf: Vec<f64> = (0..m)
        .map(|j| {
            let df = (0..n).filter(|&i| tf[i * m + j] > 0).count() as f64;
            ((n as f64 - df + 0.5) / (df + 0.5) + 1.0).ln()
        })
        .collect();
    (0..n)
        .map(|i| {
            (0..m)
                .map(|j| {
                    let f = tf[i * m + j] as f64;
                    if f == 0.0 {
                        0.0
                    } else {
                        idf[j] * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * lens[i] as f64 / avg))
                    }
                })
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_with_or_without_backticks() {
        let idents = |q: &str| Query::parse(q).idents;
        assert_eq!(idents("how does parse_header work"), ["parse_header"]);
        assert_eq!(idents("what does Store::put do?"), ["store::put"]);
        assert_eq!(idents("class ConfigLoader"), ["configloader"]);
        assert_eq!(idents("is `self.run_helper` called"), ["self.run_helper"]);
        assert_eq!(idents("what about getUser()"), ["getuser"]);
        // Plain words, paths, versions and acronyms are not identifiers.
        assert!(idents("How does the Parser work in src/lib.rs with v1.2 and JSON").is_empty());
    }

    #[test]
    fn options_named_in_a_query() {
        assert_eq!(Query::parse("what does -e do").options, vec!["-e"]);
        assert_eq!(
            Query::parse("`--regexp=PATTERNS` vs -E, and -- or -x9?").options,
            vec!["--regexp", "-E"]
        );
        assert!(Query::parse("a well-known co-worker, 3 - 2")
            .options
            .is_empty());
    }

    #[test]
    fn parses_the_corpus_question_shapes() {
        let q = Query::parse("Which records have author.type = Bot? List their sha.");
        assert_eq!(
            q.clauses,
            vec![Clause {
                path: vec!["author".into(), "type".into()],
                value: "bot".into()
            }]
        );
        let q = Query::parse("What is the EngineVersion of the record with DBEngineVersionDescription = Oracle 11.2.0.4.v5?");
        assert_eq!(q.clauses[0].value, "oracle 11.2.0.4.v5");
        assert!(q.exact.contains(&"11.2.0.4.v5".to_string()));
        let q = Query::parse("What is the node_id of the record with id = 1308968854?");
        assert_eq!(q.clauses[0].path, vec!["id".to_string()]);
        assert_eq!(q.exact, vec!["1308968854".to_string()]);
        let q = Query::parse("why is latency high for tenant acme");
        assert!(q.clauses.is_empty());
        assert_eq!(q.words, vec!["latency", "high", "tenant", "acme"]);
    }

    #[test]
    fn clauses_match_values_by_path() {
        let row =
            json!({"author": {"type": "Bot"}, "assets": [{"content_type": "application/x-gzip"}]});
        let row = row.as_object().unwrap();
        let q = Query::parse("author.type = bot");
        assert!(clause_matches(row, &q.clauses[0]));
        let q = Query::parse("content_type = application/x-gzip?");
        assert!(clause_matches(row, &q.clauses[0]));
        let q = Query::parse("author.type = User");
        assert!(!clause_matches(row, &q.clauses[0]));
    }

    #[test]
    fn exact_terms_are_token_bounded() {
        assert!(contains_exact("https://x/issues/4711/comments", "4711"));
        assert!(!contains_exact("47110", "4711"));
        assert!(contains_exact("V2.7.2", "v2.7.2"));
        assert!(!contains_exact("v2.7.20", "v2.7.2"));
    }
}
