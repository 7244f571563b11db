//! How a JSON document was written, so that `expand` can give back its exact bytes.
//!
//! A lossless encoding keeps the values (key order and number spelling included); the
//! document's whitespace and escapes are its *style*: compact (`{"a":1}`), compact with spaces
//! after separators (`{"a": 1}`, Python's `json.dumps` default), or pretty-printed with an
//! indent of N spaces or a tab (jq, `JSON.stringify(v, null, 2)`, AWS and kubectl output);
//! non-ASCII characters escaped as `\uXXXX` or not (Python's `ensure_ascii`); and whether a
//! line break ends the document. [`detect`] finds the style that renders a parsed document back
//! to exactly its input, if one does; an encoding records a style other than compact-without-
//! line-break in a first line such as `@json indent=2 nl` ([`Style::tag`]).
//!
//! Some inputs have no such style (`1E5` is read as `1e+5`, `\/` as `/`, irregular
//! whitespace): their encodings are not byte-exact, and compression says so.

use serde::Serialize;
use serde_json::ser::Formatter;
use serde_json::Value;
use std::io::{self, Write};

/// Indentation of a pretty-printed document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Indent {
    /// On one line.
    #[default]
    Compact,
    /// One level is this many spaces.
    Spaces(u8),
    /// One level is a tab.
    Tab,
}

/// How a document was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// Pretty-printed or not.
    pub indent: Indent,
    /// On one line, with a space after `,` and `:`.
    pub spaced: bool,
    /// Non-ASCII characters escaped as `\uXXXX`.
    pub ascii: bool,
    /// A line break ends the document (or the last line of NDJSON).
    pub newline: bool,
}

impl Style {
    /// The style's tag attributes (`indent=2 nl`), empty for compact without a line break.
    fn attributes(&self) -> String {
        let mut a: Vec<String> = Vec::new();
        match self.indent {
            Indent::Compact => {}
            Indent::Spaces(n) => a.push(format!("indent={n}")),
            Indent::Tab => a.push("indent=tab".into()),
        }
        if self.spaced {
            a.push("spaced".into());
        }
        if self.ascii {
            a.push("ascii".into());
        }
        if self.newline {
            a.push("nl".into());
        }
        a.join(" ")
    }

    /// The first line of an encoding of a document of this style: `@json ATTRS` (or `@ndjson
    /// ATTRS`), or nothing for a plain compact document (`@ndjson` alone for NDJSON).
    pub fn tag(&self, ndjson: bool) -> Option<String> {
        let attrs = self.attributes();
        match (ndjson, attrs.is_empty()) {
            (false, true) => None,
            (false, false) => Some(format!("@json {attrs}")),
            (true, true) => Some("@ndjson".into()),
            (true, false) => Some(format!("@ndjson {attrs}")),
        }
    }

    /// Reads a tag line (without its line break): the style and whether it is NDJSON.
    pub fn parse_tag(line: &str) -> Option<(Style, bool)> {
        let mut words = line.split(' ');
        let ndjson = match words.next()? {
            "@json" => false,
            "@ndjson" => true,
            _ => return None,
        };
        let mut style = Style::default();
        for w in words {
            match w {
                "spaced" => style.spaced = true,
                "ascii" => style.ascii = true,
                "nl" => style.newline = true,
                "indent=tab" => style.indent = Indent::Tab,
                _ => {
                    let n: u8 = w.strip_prefix("indent=")?.parse().ok()?;
                    if n == 0 || n > 16 {
                        return None;
                    }
                    style.indent = Indent::Spaces(n);
                }
            }
        }
        Some((style, ndjson))
    }

    /// `value` written in this style (NDJSON: `value`'s items one per line).
    pub fn render(&self, value: &Value, ndjson: bool) -> String {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write(value, ndjson, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn write(&self, value: &Value, ndjson: bool, out: &mut impl Write) -> io::Result<()> {
        match (value, ndjson) {
            (Value::Array(items), true) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b"\n")?;
                    }
                    self.write_one(item, out)?;
                }
            }
            (v, _) => self.write_one(v, out)?,
        }
        if self.newline {
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn write_one(&self, value: &Value, out: &mut impl Write) -> io::Result<()> {
        let indent: &[u8] = match self.indent {
            Indent::Compact => b"",
            Indent::Spaces(n) => &SPACES[..usize::from(n).min(SPACES.len())],
            Indent::Tab => b"\t",
        };
        let fmt = Styled {
            indent,
            pretty: self.indent != Indent::Compact,
            spaced: self.spaced,
            ascii: self.ascii,
            level: 0,
            has_value: false,
        };
        let mut ser = serde_json::Serializer::with_formatter(out, fmt);
        value.serialize(&mut ser).map_err(io::Error::other)
    }
}

const SPACES: &[u8] = b"                ";

/// The style that writes `value` (NDJSON when `ndjson`) back as exactly `text`, if one does.
pub fn detect(text: &str, value: &Value, ndjson: bool) -> Option<Style> {
    let newline = text.ends_with('\n');
    let body = text.strip_suffix('\n').unwrap_or(text);
    let first_break = body.find('\n');
    let indent = match (ndjson, first_break) {
        (false, Some(at)) => {
            let next = &body[at + 1..];
            if next.starts_with('\t') {
                Indent::Tab
            } else {
                let n = next.bytes().take_while(|&b| b == b' ').count();
                Indent::Spaces(u8::try_from(n).ok().filter(|n| (1..=16).contains(n))?)
            }
        }
        _ => Indent::Compact,
    };
    let spaced_options: &[bool] = if indent == Indent::Compact {
        &[false, true]
    } else {
        &[false]
    };
    let ascii_options: &[bool] = if body.is_ascii() && body.contains("\\u") {
        &[false, true]
    } else {
        &[false]
    };
    for &spaced in spaced_options {
        for &ascii in ascii_options {
            let style = Style {
                indent,
                spaced,
                ascii,
                newline,
            };
            if style.writes_exactly(value, ndjson, text) {
                return Some(style);
            }
        }
    }
    None
}

impl Style {
    /// Whether this style writes `value` as exactly `text`, stopping at the first difference.
    pub fn writes_exactly(&self, value: &Value, ndjson: bool, text: &str) -> bool {
        let mut cmp = Compare {
            expected: text.as_bytes(),
            at: 0,
        };
        self.write(value, ndjson, &mut cmp).is_ok() && cmp.at == text.len()
    }
}

/// A writer that compares what it is given with the expected bytes and fails at the first
/// byte that differs, so a mismatch costs only the bytes up to it.
struct Compare<'a> {
    expected: &'a [u8],
    at: usize,
}

impl Write for Compare<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let end = self.at + buf.len();
        if self.expected.get(self.at..end) != Some(buf) {
            return Err(io::Error::other("differs"));
        }
        self.at = end;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// serde_json's compact and pretty formatters in one, with spaces after separators and ASCII
/// escaping as options.
struct Styled<'a> {
    indent: &'a [u8],
    pretty: bool,
    spaced: bool,
    ascii: bool,
    level: usize,
    has_value: bool,
}

impl Styled<'_> {
    fn newline_indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.level {
            w.write_all(self.indent)?;
        }
        Ok(())
    }

    fn separator<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        if self.pretty {
            if !first {
                w.write_all(b",")?;
            }
            self.newline_indent(w)
        } else if first {
            Ok(())
        } else if self.spaced {
            w.write_all(b", ")
        } else {
            w.write_all(b",")
        }
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.pretty && self.has_value {
            self.newline_indent(w)?;
        }
        w.write_all(bracket)
    }
}

impl Formatter for Styled<'_> {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.separator(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.separator(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.pretty || self.spaced {
            w.write_all(b": ")
        } else {
            w.write_all(b":")
        }
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if !self.ascii || fragment.is_ascii() {
            return w.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse::parse;
    use proptest::prelude::*;

    fn round(text: &str) -> Option<Style> {
        let doc = parse(text).unwrap();
        let style = detect(text, &doc.value, doc.ndjson)?;
        assert_eq!(style.render(&doc.value, doc.ndjson), text);
        Some(style)
    }

    #[test]
    fn common_styles_are_found() {
        let compact = round("{\"a\":[1,2],\"b\":{\"c\":\"é\"}}").unwrap();
        assert_eq!(compact, Style::default());
        assert_eq!(compact.tag(false), None);
        let python = round("{\"a\": [1, 2], \"b\": \"\\u00e9\\ud83d\\ude80\"}\n").unwrap();
        assert!(python.spaced && python.ascii && python.newline);
        let jq =
            round("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"e\": [],\n  \"o\": {}\n}\n").unwrap();
        assert_eq!(jq.indent, Indent::Spaces(2));
        assert_eq!(jq.tag(false).as_deref(), Some("@json indent=2 nl"));
        let aws =
            round("{\n    \"Items\": [\n        {\n            \"id\": 1\n        }\n    ]\n}")
                .unwrap();
        assert_eq!(aws.indent, Indent::Spaces(4));
        let tabs = round("[\n\t1,\n\t\"x\"\n]").unwrap();
        assert_eq!(tabs.indent, Indent::Tab);
        let nd = round("{\"a\":1}\n{\"a\":2}\n").unwrap();
        assert_eq!(nd.tag(true).as_deref(), Some("@ndjson nl"));
    }

    #[test]
    fn spellings_no_style_gives_back_are_refused() {
        for text in [
            "[1E5]",
            "[1e5]",
            "[\"a\\/b\"]",
            "{ \"a\":1}",
            "{\"a\":1}\r\n",
            "[\"\\u00e9é\"]",
        ] {
            let doc = parse(text).unwrap();
            assert_eq!(detect(text, &doc.value, doc.ndjson), None, "{text}");
        }
    }

    #[test]
    fn tags_round_trip() {
        for style in [
            Style::default(),
            Style {
                indent: Indent::Spaces(4),
                newline: true,
                ..Style::default()
            },
            Style {
                indent: Indent::Tab,
                ascii: true,
                ..Style::default()
            },
            Style {
                spaced: true,
                newline: true,
                ..Style::default()
            },
        ] {
            for nd in [false, true] {
                match style.tag(nd) {
                    Some(tag) => assert_eq!(Style::parse_tag(&tag), Some((style, nd))),
                    None => assert!(!nd && style == Style::default()),
                }
            }
        }
        assert_eq!(Style::parse_tag("@json indent=0"), None);
        assert_eq!(Style::parse_tag("@json bold"), None);
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-zé ü\\u{1F680}\"\\\\\\n]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("[a-z]{1,4}", inner), 0..5)
                    .prop_map(|kv| { Value::Object(kv.into_iter().collect()) }),
            ]
        })
    }

    proptest! {
        /// Whatever the style, a document written in it is detected and written back exactly.
        #[test]
        fn every_style_round_trips(
            v in value(),
            indent in prop_oneof![Just(Indent::Compact), Just(Indent::Spaces(2)), Just(Indent::Spaces(4)), Just(Indent::Tab)],
            spaced in any::<bool>(),
            ascii in any::<bool>(),
            newline in any::<bool>(),
        ) {
            let style = Style { indent, spaced: spaced && indent == Indent::Compact, ascii, newline };
            let text = style.render(&v, false);
            let doc = parse(&text).unwrap();
            let found = detect(&text, &doc.value, false);
            prop_assert!(found.is_some(), "{text:?}");
            prop_assert_eq!(found.unwrap().render(&doc.value, false), text);
        }
    }
}
