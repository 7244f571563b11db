//! The words of a text, where they sit, and which of them the model may not drop.
//!
//! A word is a run of non-whitespace, as Python's `str.split()` makes them. Words in fenced code
//! blocks and table rows, tags, and the list, heading and quote markers that open a line are
//! *protected*: the model never sees them and they stay. Words that carry facts (numbers, ids,
//! paths, flags, names in code style) are *facts*: the model sees them, for context, but they
//! stay whatever it scores.

/// One word of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// Byte range in the text.
    pub start: usize,
    pub end: usize,
    /// Line number (0-based).
    pub line: usize,
    /// Kept without asking the model.
    pub protected: bool,
    /// Shown to the model but always kept.
    pub fact: bool,
}

/// The words of `text`, in order.
pub(crate) fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut fence: Option<(u8, usize)> = None;
    let mut offset = 0;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        let fence_here = fence_of(trimmed);
        let whole_line = match (fence, fence_here) {
            (None, Some(f)) => {
                fence = Some(f);
                true
            }
            (Some((c, n)), Some((c2, n2))) if c == c2 && n2 >= n && is_bare_fence(trimmed) => {
                fence = None;
                true
            }
            (Some(_), _) => true,
            // Table rows and Markdown headings are structure, and short: never the model's.
            (None, None) => trimmed.starts_with('|') || is_heading(trimmed),
        };
        let mut first = true;
        for (start, word) in split_words(line) {
            let opens_line = std::mem::replace(&mut first, false);
            out.push(Word {
                start: offset + start,
                end: offset + start + word.len(),
                line: line_no,
                // A control character is a caller's placeholder (or binary noise): not the
                // model's to judge.
                protected: whole_line
                    || is_tag(word)
                    || (opens_line && is_line_marker(word))
                    || word.chars().any(char::is_control),
                fact: carries_fact(word),
            });
        }
        offset += line.len();
    }
    out
}

fn split_words(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = line;
    let mut at = 0;
    std::iter::from_fn(move || {
        let skip = rest.len() - rest.trim_start().len();
        rest = &rest[skip..];
        at += skip;
        if rest.is_empty() {
            return None;
        }
        let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = (at, &rest[..len]);
        rest = &rest[len..];
        at += len;
        Some(word)
    })
}

/// A Markdown fence (three or more backticks or tildes) at the start of `line`: its character
/// and length.
fn fence_of(line: &str) -> Option<(u8, usize)> {
    let c = *line.as_bytes().first()?;
    if c != b'`' && c != b'~' {
        return None;
    }
    let n = line.bytes().take_while(|&b| b == c).count();
    (n >= 3).then_some((c, n))
}

fn is_bare_fence(line: &str) -> bool {
    line.trim().bytes().all(|b| b == b'`' || b == b'~')
}

/// `<tag>`, `</tag>`, `<tag attr="x">`, `<br/>`: markup the text's consumer may rely on.
fn is_tag(word: &str) -> bool {
    let Some(open) = word.find('<') else {
        return false;
    };
    word[open..].contains('>') && {
        let inner = word[open + 1..].trim_start_matches('/');
        inner.starts_with(|c: char| c.is_ascii_alphabetic())
    }
}

/// An ATX heading (`## Title`).
fn is_heading(line: &str) -> bool {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes) && line[hashes..].starts_with([' ', '\t', '\n', '\r'])
}

/// What opens a Markdown heading, list item or quote.
fn is_line_marker(word: &str) -> bool {
    matches!(word, "-" | "*" | "+" | ">" | "|")
        || word.bytes().all(|b| b == b'#')
        || word
            .strip_suffix(['.', ')'])
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `word` carries a fact a reader could need verbatim: a number or id, a path or URL,
/// a command-line flag, or a name written in code style (ALLCAPS, CamelCase, camelCase,
/// snake_case, dotted.names, `code`).
pub(crate) fn carries_fact(word: &str) -> bool {
    let bytes = word.as_bytes();
    if bytes.iter().any(|b| b.is_ascii_digit()) {
        return true;
    }
    let core = word.trim_matches(|c: char| {
        matches!(
            c,
            '(' | ')' | '[' | ']' | '"' | '\'' | ',' | ';' | ':' | '!' | '?'
        )
    });
    let core = core.strip_suffix('.').unwrap_or(core);
    let b = core.as_bytes();
    if b.len() < 2 {
        return false;
    }
    if core.contains("://") || core.contains('@') || core.contains('`') || core.contains("__") {
        return true;
    }
    // Flags: -n, --verbose.
    if b[0] == b'-' && b.len() >= 2 && (b[1].is_ascii_alphabetic() || (b[1] == b'-' && b.len() > 2))
    {
        return true;
    }
    // Paths: /usr/lib, ./x, C:\x, src/main.rs.
    if (core.contains('/') && core.len() > 2 && !core.starts_with("//")) || core.contains('\\') {
        return true;
    }
    let pairs = b.windows(2);
    for w in pairs {
        let (x, y) = (w[0], w[1]);
        // ALLCAPS (HTTP, EOF) and CamelCase / camelCase inner capitals.
        if x.is_ascii_uppercase() && y.is_ascii_uppercase() {
            return true;
        }
        if x.is_ascii_lowercase() && y.is_ascii_uppercase() {
            return true;
        }
    }
    // snake_case and dotted.names (model.py, torch.nn): a separator between letters.
    b.windows(3).any(|w| {
        (w[1] == b'_' || w[1] == b'.')
            && w[0].is_ascii_alphanumeric()
            && w[2].is_ascii_alphanumeric()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_the_peer_tests_for_are_kept() {
        for w in [
            "42",
            "3.14",
            "0x7fff2038",
            "SIGILL",
            "HTTP",
            "EOF",
            "libsystem_kernel.dylib",
            "torch.nn",
            "/usr/lib/python3",
            "model.py",
            "weights.so",
            "--verbose",
            "-n",
            "IndexError",
            "EXC_BAD_INSTRUCTION",
            "getUser",
            "https://x.io",
            "`cfg`",
            "(404)",
            "user@example.com",
            "__init__",
            "v1.2.3",
        ] {
            assert!(carries_fact(w), "{w}");
        }
        for w in [
            "the",
            "process",
            "raised",
            "Hello,",
            "done.",
            "-",
            "—",
            "I",
            "A.",
            "well-known",
        ] {
            assert!(!carries_fact(w), "{w}");
        }
    }

    #[test]
    fn words_know_their_places_and_protection() {
        let text = "# Title\n\n- item one <b>bold</b>\n```\ncode here\n```\n| a | b |\n  end.\n";
        let ws = words(text);
        let shown: Vec<(&str, bool)> = ws
            .iter()
            .map(|w| (&text[w.start..w.end], w.protected))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("#", true),
                ("Title", true),
                ("-", true),
                ("item", false),
                ("one", false),
                ("<b>bold</b>", true),
                ("```", true),
                ("code", true),
                ("here", true),
                ("```", true),
                ("|", true),
                ("a", true),
                ("|", true),
                ("b", true),
                ("|", true),
                ("end.", false),
            ]
        );
        assert_eq!(ws.last().unwrap().line, 7);
    }

    #[test]
    fn split_matches_python_str_split() {
        let text = " a\tb  c\u{3000}d\r\ne\u{a0}f ";
        let ours: Vec<&str> = words(text).iter().map(|w| &text[w.start..w.end]).collect();
        // Python: " a\tb  c\u3000d\r\ne\xa0f ".split() == ['a', 'b', 'c', 'd', 'e', 'f']
        assert_eq!(ours, ["a", "b", "c", "d", "e", "f"]);
    }
}
