//! Replacing byte ranges of a body, everything else copied as it was.

use std::ops::Range;

/// `body` with each range replaced by its text. Ranges are sorted and do not overlap (they are
/// distinct JSON string values located in one parse).
pub fn splice(body: &[u8], edits: &[(Range<usize>, String)]) -> Vec<u8> {
    let added: usize = edits.iter().map(|(_, t)| t.len()).sum();
    let mut out = Vec::with_capacity(body.len() + added);
    let mut at = 0;
    for (range, text) in edits {
        debug_assert!(range.start >= at && range.end <= body.len());
        out.extend_from_slice(&body[at..range.start]);
        out.extend_from_slice(text.as_bytes());
        at = range.end;
    }
    out.extend_from_slice(&body[at..]);
    out
}

/// `body` with `text` inserted at byte `at`.
pub fn insert(body: &[u8], at: usize, text: &str) -> Vec<u8> {
    splice(body, &[(at..at, text.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_ranges() {
        let body = br#"{"a": "xx", "b":  1.50, "c": "yy"}"#;
        let out = splice(body, &[(6..10, "\"1\"".into()), (29..33, "\"2\"".into())]);
        assert_eq!(out, br#"{"a": "1", "b":  1.50, "c": "2"}"#);
        assert_eq!(insert(b"[1]", 2, ",2"), b"[1,2]");
    }
}
