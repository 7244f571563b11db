//! Lexical rules shared by the table encoder and decoder: which strings may stand bare, how
//! column names are written, what a JSON number looks like.

/// Bytes that end a table cell: the next cell, the next inline row, the end of an inline table,
/// the end of a block row.
pub(crate) fn is_terminator(b: u8) -> bool {
    matches!(b, b',' | b';' | b')' | b'\n')
}

/// Whether `s` is a complete JSON number (RFC 8259 grammar).
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Text that can follow a dictionary reference in a cell: it is read up to the next terminator.
pub(crate) fn is_bare_rest(s: &str) -> bool {
    s.bytes()
        .all(|b| !is_terminator(b) && b != b'"' && b != b'\r' && b >= 0x20 && b != 0x7f)
}

/// Whether string `s` may be written without quotes. In a string column (`typed == false`)
/// bare text is always a string; in a self-typed column it must not read as null, a boolean
/// or a number.
pub(crate) fn is_bare_string(s: &str, typed: bool) -> bool {
    let Some(first) = s.bytes().next() else {
        return false;
    };
    let last = s.as_bytes()[s.len() - 1];
    if matches!(first, b'"' | b'{' | b'[' | b'~' | b' ' | b'\t') || matches!(last, b' ' | b'\t') {
        return false;
    }
    if s.starts_with("<<") || !is_bare_rest(s) {
        return false;
    }
    !(typed && (matches!(s, "null" | "true" | "false") || is_json_number(s)))
}

/// Whether a column-name segment may be written without quotes.
pub(crate) fn is_bare_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b > 0x20
                && b != 0x7f
                && !matches!(
                    b,
                    b',' | b'.'
                        | b'{'
                        | b'}'
                        | b'['
                        | b']'
                        | b'('
                        | b')'
                        | b':'
                        | b';'
                        | b'"'
                        | b'~'
                        | b'\\'
                )
        })
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // Serialising a &str into a String cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for ok in [
            "0",
            "-0",
            "1.5",
            "1e10",
            "-12.5E-3",
            "123456789012345678901234567890",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "+1", "0x10", "1.5.2", "NaN", "Infinity",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn bare_strings() {
        assert!(is_bare_string("https://x.org/a?b=c", true));
        assert!(is_bare_string("Harry Marr", true));
        assert!(!is_bare_string("12", true));
        assert!(is_bare_string("12", false));
        assert!(!is_bare_string("null", true));
        assert!(is_bare_string("null", false));
        for bad in [
            "",
            " x",
            "x ",
            "a,b",
            "a;b",
            "a)b",
            "a\"b",
            "a\nb",
            "~a",
            "{x",
            "[x",
            "<<ccr:1>>",
            "a\rb",
        ] {
            assert!(!is_bare_string(bad, false), "{bad:?}");
        }
    }
}
