//! Parsing tool output as JSON or NDJSON without losing anything the encoder must give back.
//!
//! serde_json is built with `preserve_order` (key order) and `arbitrary_precision` (numbers kept
//! digit for digit). Its own `Value` silently keeps the last of duplicate keys, so cinch builds
//! the value with a visitor that refuses duplicates: such documents are left unchanged rather
//! than lose a value.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;
use std::str::FromStr;

/// A parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The value; for NDJSON, an array of the lines' values.
    pub value: Value,
    /// Whether the input was NDJSON (one value per line).
    pub ndjson: bool,
}

/// How the message of [`NotJson::Syntax`] starts (the router falls back to text on it).
pub const NOT_JSON: &str = "not JSON";

/// Why input was not taken as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotJson {
    /// Not JSON or NDJSON at all (or too deeply nested for the parser).
    #[error("not JSON: {0}")]
    Syntax(String),
    /// Valid JSON whose objects repeat a key; rewriting it would lose a value.
    #[error("JSON with a duplicate key {0:?} is left unchanged")]
    DuplicateKey(String),
}

/// Parses `text` as one JSON value or as NDJSON (at least two lines, each a value).
pub fn parse(text: &str) -> Result<Document, NotJson> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(NotJson::Syntax("empty input".into()));
    }
    // A key spelled like serde_json's number token would be read as a number: leave such
    // (hostile) input alone rather than change it.
    if trimmed.contains("serde_json::private") {
        return Err(NotJson::Syntax(
            "input contains serde_json's reserved number key".into(),
        ));
    }
    match parse_one(trimmed) {
        Ok(value) => Ok(Document {
            value,
            ndjson: false,
        }),
        Err(e @ NotJson::DuplicateKey(_)) => Err(e),
        Err(whole) => {
            let lines: Vec<&str> = trimmed.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.len() < 2 {
                return Err(whole);
            }
            let mut values = Vec::with_capacity(lines.len());
            for (i, line) in lines.iter().enumerate() {
                values.push(parse_one(line).map_err(|e| match e {
                    NotJson::Syntax(m) => NotJson::Syntax(format!("line {}: {m}", i + 1)),
                    dup => dup,
                })?);
            }
            Ok(Document {
                value: Value::Array(values),
                ndjson: true,
            })
        }
    }
}

/// One JSON value, refusing duplicate keys, in a single pass.
fn parse_one(text: &str) -> Result<Value, NotJson> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Checked::deserialize(&mut de).and_then(|v| de.end().map(|_| v.0));
    value.map_err(|e| {
        let msg = e.to_string();
        match msg.strip_prefix(DUP_PREFIX) {
            Some(rest) => {
                NotJson::DuplicateKey(rest.split(" at line").next().unwrap_or(rest).to_string())
            }
            None => NotJson::Syntax(msg),
        }
    })
}

const DUP_PREFIX: &str = "duplicate key ";
/// With `arbitrary_precision`, serde_json hands a number to a visitor as a one-entry map under
/// this key, its value the number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

struct Checked(Value);

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Checked, E> {
        Ok(Checked(Value::Bool(b)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Checked, E> {
        Ok(Checked(Value::from(n)))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Checked, E> {
        Ok(Checked(Value::from(n)))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Checked, E> {
        Ok(Checked(Value::from(n)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Checked, E> {
        Ok(Checked(Value::String(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<Checked, E> {
        Ok(Checked(Value::String(s)))
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Checked(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Checked(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        let mut out = Map::new();
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Checked(Value::Object(out)));
        };
        if first == NUMBER_TOKEN {
            let text: String = map.next_value()?;
            return Number::from_str(&text)
                .map(|n| Checked(Value::Number(n)))
                .map_err(de::Error::custom);
        }
        let Checked(v) = map.next_value()?;
        out.insert(first, v);
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("{DUP_PREFIX}{key}")));
            }
            let Checked(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Checked(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_ndjson() {
        assert!(!parse(" {\"a\":1} ").unwrap().ndjson);
        let d = parse("{\"a\":1}\n{\"a\":2}\n").unwrap();
        assert!(d.ndjson);
        assert_eq!(d.value.as_array().unwrap().len(), 2);
    }

    #[test]
    fn keeps_numbers_digit_for_digit() {
        // Every digit survives; serde_json only spells a positive exponent with its sign.
        let d = parse("[1.10, 1e400, 123456789012345678901234567890, -0.0]").unwrap();
        assert_eq!(
            serde_json::to_string(&d.value).unwrap(),
            "[1.10,1e+400,123456789012345678901234567890,-0.0]"
        );
    }

    #[test]
    fn refuses_duplicates_and_garbage() {
        assert_eq!(
            parse("{\"a\":1,\"b\":{\"c\":1,\"c\":2}}"),
            Err(NotJson::DuplicateKey("c".into()))
        );
        assert!(matches!(parse(""), Err(NotJson::Syntax(_))));
        assert!(matches!(
            parse("{\"$serde_json::private::Number\":\"1\"}"),
            Err(NotJson::Syntax(_))
        ));
        assert!(matches!(parse("{\"a\":"), Err(NotJson::Syntax(_))));
        assert!(matches!(parse("\"\\ud800\""), Err(NotJson::Syntax(_))));
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(matches!(parse(&deep), Err(NotJson::Syntax(_))));
    }
}
