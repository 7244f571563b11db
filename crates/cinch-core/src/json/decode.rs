//! The decoder for the table encoding (see [`super::encode`]): gives back the JSON value.
//!
//! It parses untrusted text, so it never recurses deeper than [`MAX_DEPTH`], never allocates
//! more than the input can justify (row counts are checked against the bytes left), and
//! reports every problem as a [`DecodeError`] with its byte offset.

use super::style::Style;
use super::syntax::{is_json_number, is_terminator};
use crate::ccr::{marker_keys, Key};
use serde_json::{Map, Number, Value};
use std::str::FromStr;

const MAX_DEPTH: usize = 256;

/// A decoded document.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The JSON value.
    pub value: Value,
    /// Whether the original was NDJSON (print one value per line).
    pub ndjson: bool,
    /// How the original was written (from the encoding's first line; compact without a line
    /// break when it has none).
    pub style: Style,
}

impl Decoded {
    /// The original document, written as it was.
    pub fn render(&self) -> String {
        self.style.render(&self.value, self.ndjson)
    }
}

/// Why text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Malformed encoding.
    #[error("invalid cinch encoding at byte {pos}: {msg}")]
    Syntax {
        /// Byte offset of the problem.
        pos: usize,
        /// What was wrong.
        msg: String,
    },
    /// The text is a lossy result: rows were left out and live in the store.
    #[error("this output is lossy (rows were left out); retrieve the originals with: {}", keys.iter().map(|k| format!("cinch retrieve {k}")).collect::<Vec<_>>().join(", "))]
    Lossy {
        /// Keys of the markers that stand for dropped content.
        keys: Vec<Key>,
    },
}

/// Decodes the table encoding (plain JSON is a valid encoding of itself).
pub fn decode(text: &str) -> Result<Decoded, DecodeError> {
    let tagged = text
        .starts_with('@')
        .then(|| text.split_once('\n'))
        .flatten()
        .and_then(|(line, rest)| Some((Style::parse_tag(line)?, line.len() + 1, rest)));
    let (style, ndjson, body, offset) = match tagged {
        Some(((style, ndjson), offset, rest)) => (style, ndjson, rest, offset),
        None => (Style::default(), false, text, 0),
    };
    let mut p = Parser {
        s: body.as_bytes(),
        text: body,
        pos: 0,
        offset,
        markers: Vec::new(),
        dict: Vec::new(),
    };
    p.skip_ws();
    let mut value = p.value(0, false)?;
    let mut ndjson = ndjson;
    let mut gap_start = p.pos;
    p.skip_ws();
    if p.pos != p.s.len() && !ndjson {
        // Plain NDJSON (minified output keeps one value per line): more values, one per line.
        let mut items = vec![value];
        while p.pos != p.s.len() {
            if !p.s[gap_start..p.pos].contains(&b'\n') {
                return Err(p.err("trailing text after the document"));
            }
            items.push(p.value(0, false)?);
            gap_start = p.pos;
            p.skip_ws();
        }
        value = Value::Array(items);
        ndjson = true;
    }
    if p.pos != p.s.len() {
        return Err(p.err("trailing text after the document"));
    }
    if !p.markers.is_empty() {
        return Err(DecodeError::Lossy { keys: p.markers });
    }
    if ndjson && !value.is_array() {
        return Err(p.err("@ndjson must be followed by an array"));
    }
    Ok(Decoded {
        value,
        ndjson,
        style,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    offset: usize,
    markers: Vec<Key>,
    dict: Vec<(u8, String)>,
}

enum Mode {
    Block,
    Inline,
}

impl<'a> Parser<'a> {
    fn err(&self, msg: &str) -> DecodeError {
        DecodeError::Syntax {
            pos: self.pos + self.offset,
            msg: msg.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8) -> Result<(), DecodeError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected {:?}", b as char)))
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// A value in JSON position. `in_cell` is true inside a table cell.
    fn value(&mut self, depth: usize, in_cell: bool) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') if self.table_ahead() => self.table(depth),
            Some(b'{') => self.object(depth, in_cell),
            Some(b'[') if self.table_ahead() => self.table(depth),
            Some(b'[') => self.array(depth, in_cell),
            Some(b'~') if !in_cell => {
                self.dictionary()?;
                if !self.table_ahead() {
                    return Err(self.err("a dictionary must be followed by a table"));
                }
                self.table(depth)
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.pos += 1;
                }
                self.number(&self.text[start..self.pos], start)
            }
            _ => Err(self.err("expected a value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, DecodeError> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn number(&self, text: &str, start: usize) -> Result<Value, DecodeError> {
        if !is_json_number(text) {
            return Err(DecodeError::Syntax {
                pos: start + self.offset,
                msg: format!("bad number {text:?}"),
            });
        }
        Number::from_str(text)
            .map(Value::Number)
            .map_err(|e| DecodeError::Syntax {
                pos: start + self.offset,
                msg: e.to_string(),
            })
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let start = self.pos;
        self.expect(b'"')?;
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'\\') => self.pos += 2,
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        if self.pos > self.s.len() {
            return Err(self.err("unterminated string"));
        }
        serde_json::from_str::<String>(&self.text[start..self.pos]).map_err(|e| {
            DecodeError::Syntax {
                pos: start + self.offset,
                msg: e.to_string(),
            }
        })
    }

    fn object(&mut self, depth: usize, in_cell: bool) -> Result<Value, DecodeError> {
        self.expect(b'{')?;
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let v = self.value(depth + 1, in_cell)?;
            if map.insert(key, v).is_some() {
                return Err(self.err("duplicate key"));
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize, in_cell: bool) -> Result<Value, DecodeError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1, in_cell)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    /// `[digits]{` starts a table, `{digits}{` a keyed table (a map of records; in JSON an
    /// object's first key is a string, so a digit cannot follow its brace).
    fn table_ahead(&self) -> bool {
        let rest = &self.s[self.pos..];
        let close = match rest.first() {
            Some(b'[') => b']',
            Some(b'{') => b'}',
            _ => return false,
        };
        let digits = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        digits > 0 && rest.get(1 + digits) == Some(&close) && rest.get(2 + digits) == Some(&b'{')
    }

    fn dictionary(&mut self) -> Result<(), DecodeError> {
        self.dict.clear();
        while self.peek() == Some(b'~') {
            self.pos += 1;
            let id = self
                .peek()
                .filter(u8::is_ascii_alphabetic)
                .ok_or_else(|| self.err("bad dictionary id"))?;
            self.pos += 1;
            self.expect(b'=')?;
            let value = if self.peek() == Some(b'"') {
                self.string()?
            } else {
                let start = self.pos;
                while !matches!(self.peek(), None | Some(b'\n')) {
                    self.pos += 1;
                }
                self.text[start..self.pos].to_string()
            };
            self.expect(b'\n')?;
            self.dict.push((id, value));
        }
        Ok(())
    }

    fn table(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let dict = std::mem::take(&mut self.dict);
        let keyed = self.peek() == Some(b'{');
        self.pos += 1;
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let rows: usize = self.text[start..self.pos]
            .parse()
            .map_err(|_| self.err("bad row count"))?;
        self.expect(if keyed { b'}' } else { b']' })?;
        self.expect(b'{')?;
        let mut columns: Vec<(Vec<String>, bool)> = Vec::new();
        loop {
            let mut path = Vec::new();
            loop {
                if self.peek() == Some(b'"') {
                    path.push(self.string()?);
                } else {
                    let start = self.pos;
                    while !matches!(self.peek(), None | Some(b'.' | b',' | b':' | b'}' | b'\n')) {
                        self.pos += 1;
                    }
                    if start == self.pos {
                        return Err(self.err("empty column name"));
                    }
                    path.push(self.text[start..self.pos].to_string());
                }
                if self.peek() == Some(b'.') {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            let strings = if self.peek() == Some(b':') {
                self.pos += 1;
                self.expect(b's')?;
                true
            } else {
                false
            };
            if depth + 1 + path.len() > MAX_DEPTH {
                return Err(self.err("column path nests too deep"));
            }
            columns.push((path, strings));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.err("expected ',' or '}' in the column list")),
            }
        }
        let mode = match self.peek() {
            Some(b':') => {
                self.pos += 1;
                self.expect(b'\n')?;
                Mode::Block
            }
            Some(b'(') => {
                self.pos += 1;
                Mode::Inline
            }
            _ => return Err(self.err("expected ':' or '(' after the column list")),
        };
        // Every row takes at least one byte (its separator), so a count beyond the input is a lie.
        if rows > self.s.len() - self.pos + 1 {
            return Err(self.err("row count exceeds the input"));
        }
        let mut out = Vec::with_capacity(rows);
        let mut by_key = Map::new();
        for r in 0..rows {
            let mut row = Map::new();
            let key = if keyed {
                let Some(Value::String(key)) = self.cell(true, &[], depth + 1)? else {
                    return Err(self.err("a keyed row must start with its key"));
                };
                self.expect(b',')?;
                Some(key)
            } else {
                None
            };
            for (c, (path, strings)) in columns.iter().enumerate() {
                // The rows array and the flattened paths are nesting too, as in JSON.
                if let Some(v) = self.cell(*strings, &dict, depth + 1 + path.len())? {
                    insert_path(&mut row, path, Some(v)).map_err(|m| self.err(m))?;
                } else {
                    insert_path(&mut row, path, None).map_err(|m| self.err(m))?;
                }
                let last_col = c + 1 == columns.len();
                match (&mode, last_col) {
                    (_, false) => self.expect(b',')?,
                    // Only the very last row may end at the end of the input.
                    (Mode::Block, true) => {
                        if r + 1 < rows || self.peek().is_some() {
                            self.expect(b'\n')?;
                        }
                    }
                    (Mode::Inline, true) => self.expect(if r + 1 == rows { b')' } else { b';' })?,
                }
            }
            match key {
                Some(key) => {
                    if by_key.insert(key, Value::Object(row)).is_some() {
                        return Err(self.err("duplicate key"));
                    }
                }
                None => out.push(Value::Object(row)),
            }
        }
        if rows == 0 && matches!(mode, Mode::Inline) {
            self.expect(b')')?;
        }
        if matches!(mode, Mode::Block) && self.s[self.pos..].starts_with(b"<<ccr:") {
            let start = self.pos;
            while !matches!(self.peek(), None | Some(b'\n')) {
                self.pos += 1;
            }
            self.markers
                .extend(marker_keys(&self.text[start..self.pos]));
        }
        Ok(if keyed {
            Value::Object(by_key)
        } else {
            Value::Array(out)
        })
    }

    fn cell(
        &mut self,
        strings: bool,
        dict: &[(u8, String)],
        depth: usize,
    ) -> Result<Option<Value>, DecodeError> {
        match self.peek() {
            None => Ok(None),
            Some(b) if is_terminator(b) => Ok(None),
            Some(b'"') => Ok(Some(Value::String(self.string()?))),
            // `depth` is already this cell's nesting level.
            Some(b'{' | b'[') => Ok(Some(self.value(depth, true)?)),
            Some(b'~') => {
                self.pos += 1;
                let id = self
                    .peek()
                    .ok_or_else(|| self.err("bad dictionary reference"))?;
                let entry = dict
                    .iter()
                    .find(|(d, _)| *d == id)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| self.err("unknown dictionary reference"))?;
                self.pos += 1;
                let rest = self.bare();
                Ok(Some(Value::String(entry + rest)))
            }
            Some(_) => {
                let start = self.pos;
                let text = self.bare();
                if strings {
                    return Ok(Some(Value::String(text.to_string())));
                }
                Ok(Some(match text {
                    "null" => Value::Null,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    t if is_json_number(t) => self.number(t, start)?,
                    t => Value::String(t.to_string()),
                }))
            }
        }
    }

    fn bare(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_terminator(b) {
                break;
            }
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }
}

/// Sets `path` in `row`, creating the flattened parent objects (which every row has).
fn insert_path(
    row: &mut Map<String, Value>,
    path: &[String],
    v: Option<Value>,
) -> Result<(), &'static str> {
    let (last, parents) = path.split_last().ok_or("empty column path")?;
    let mut obj = row;
    for p in parents {
        let entry = obj
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        obj = entry.as_object_mut().ok_or("column path crosses a value")?;
    }
    if let Some(v) = v {
        if obj.insert(last.clone(), v).is_some() {
            return Err("two columns name the same key");
        }
    }
    Ok(())
}
