//! Parsing tool output as JSON or NDJSON without losing anything the encoder must give back.
//!
//! serde_json is built with `preserve_order` (key order) and `arbitrary_precision` (numbers kept
//! digit for digit). It silently keeps the last of duplicate keys, so a separate pass refuses
//! documents with duplicates: cinch leaves those unchanged rather than drop a value.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;

/// A parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The value; for NDJSON, an array of the lines' values.
    pub value: Value,
    /// Whether the input was NDJSON (one value per line).
    pub ndjson: bool,
}

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
    match serde_json::from_str::<Value>(trimmed) {
        Ok(value) => {
            check_duplicates(trimmed)?;
            Ok(Document {
                value,
                ndjson: false,
            })
        }
        Err(whole) => {
            let lines: Vec<&str> = trimmed.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.len() < 2 {
                return Err(NotJson::Syntax(whole.to_string()));
            }
            let mut values = Vec::with_capacity(lines.len());
            for (i, line) in lines.iter().enumerate() {
                let v = serde_json::from_str::<Value>(line)
                    .map_err(|e| NotJson::Syntax(format!("line {}: {e}", i + 1)))?;
                check_duplicates(line)?;
                values.push(v);
            }
            Ok(Document {
                value: Value::Array(values),
                ndjson: true,
            })
        }
    }
}

fn check_duplicates(text: &str) -> Result<(), NotJson> {
    let mut de = serde_json::Deserializer::from_str(text);
    match NoDuplicates::deserialize(&mut de) {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            match msg.strip_prefix(DUP_PREFIX) {
                Some(rest) => Err(NotJson::DuplicateKey(
                    rest.split(" at line").next().unwrap_or(rest).to_string(),
                )),
                None => Err(NotJson::Syntax(msg)),
            }
        }
    }
}

const DUP_PREFIX: &str = "duplicate key ";

struct NoDuplicates;

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDupVisitor)
    }
}

struct NoDupVisitor;

impl<'de> Visitor<'de> for NoDupVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut seen: HashSet<std::borrow::Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            // With arbitrary_precision a number arrives as a one-entry map with a private key.
            if key.starts_with("$serde_json::private") {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("{DUP_PREFIX}{key}")));
            }
            map.next_value::<NoDuplicates>()?;
        }
        Ok(NoDuplicates)
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
        assert!(matches!(parse("{\"a\":"), Err(NotJson::Syntax(_))));
        assert!(matches!(parse("\"\\ud800\""), Err(NotJson::Syntax(_))));
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(matches!(parse(&deep), Err(NotJson::Syntax(_))));
    }
}
