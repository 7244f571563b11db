//! The pre-tokenizer: splits text into the pieces that BPE then encodes one by one.
//!
//! `bpe-openai` runs tiktoken's splitting pattern through a general regex engine, a full search
//! per piece; on tool output (short pieces, mostly ASCII) that is most of the cost of counting.
//! Here ASCII runs are split by hand-written rules that implement the same patterns, and any
//! stretch with a non-ASCII character goes to `bpe-openai`'s own splitter. The two agree piece
//! for piece (tested against it on random text and on the whole corpus).
//!
//! A stretch handed to the regex starts and ends at *safe boundaries*, where every split of the
//! text has a piece start, and no pattern looks behind, so the pieces on either side come out
//! the same whether the text is split whole or in stretches. Two kinds are used:
//! - just after a line break followed by an ASCII character that is neither whitespace nor `/`
//!   (a piece holding a line break extends only over whitespace, line breaks and `/`);
//! - just after an ASCII digit followed by an ASCII character that is not a digit (digits are
//!   always pieces of their own, `\p{N}{1,3}`).

use super::Tokenizer;

/// The pieces of `text`, as `bpe-openai` (and tiktoken) would split it.
pub(super) fn pieces(tokenizer: Tokenizer, text: &str) -> Pieces<'_> {
    Pieces {
        tokenizer,
        text,
        pos: 0,
        ascii_end: 0,
        regex: None,
    }
}

/// Iterator over the pieces of a text.
pub(super) struct Pieces<'a> {
    tokenizer: Tokenizer,
    text: &'a str,
    /// Where the next piece starts.
    pos: usize,
    /// `text[pos..ascii_end]` is ASCII and ends at a safe boundary or at the end of the text.
    ascii_end: usize,
    /// The regex splitter over a stretch with non-ASCII text, and where that stretch ends.
    regex: Option<(Box<dyn Iterator<Item = &'a str> + 'a>, usize)>,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if let Some((split, end)) = &mut self.regex {
                if let Some(piece) = split.next() {
                    return Some(piece);
                }
                self.pos = *end;
                self.regex = None;
            }
            if self.pos < self.ascii_end {
                let bytes = &self.text.as_bytes()[..self.ascii_end];
                let end = match self.tokenizer {
                    Tokenizer::O200kBase => o200k_piece(bytes, self.pos),
                    Tokenizer::Cl100kBase => cl100k_piece(bytes, self.pos),
                };
                let piece = &self.text[self.pos..end];
                self.pos = end;
                return Some(piece);
            }
            if self.pos >= self.text.len() {
                return None;
            }
            self.plan();
        }
    }
}

impl<'a> Pieces<'a> {
    /// Decides how the text from `pos` on is split: an ASCII stretch up to the last safe
    /// boundary before the next non-ASCII byte, or the regex up to the first one after it.
    fn plan(&mut self) {
        let bytes = self.text.as_bytes();
        let rest = &bytes[self.pos..];
        let Some(first) = rest.iter().position(|b| !b.is_ascii()) else {
            self.ascii_end = bytes.len();
            return;
        };
        let first = self.pos + first;
        if let Some(boundary) = last_safe_boundary(bytes, self.pos, first) {
            self.ascii_end = boundary;
            return;
        }
        let end = next_safe_boundary(bytes, first).unwrap_or(bytes.len());
        let stretch = &self.text[self.pos..end];
        let split: Box<dyn Iterator<Item = &'a str> + 'a> =
            Box::new(self.tokenizer.bpe().split(stretch));
        self.regex = Some((split, end));
    }
}

/// Whether a piece starts at `i` no matter what comes before it (see the module docs).
fn is_safe_boundary(bytes: &[u8], i: usize) -> bool {
    if i == 0 || i >= bytes.len() || !bytes[i].is_ascii() {
        return false;
    }
    let (before, b) = (bytes[i - 1], bytes[i]);
    (before == b'\n' && !is_space(b) && b != b'/')
        || (before.is_ascii_digit() && !b.is_ascii_digit())
}

/// The last safe boundary in `(from, before]`.
fn last_safe_boundary(bytes: &[u8], from: usize, before: usize) -> Option<usize> {
    (from + 1..=before)
        .rev()
        .find(|&i| is_safe_boundary(bytes, i))
}

/// The first safe boundary after `from`.
fn next_safe_boundary(bytes: &[u8], from: usize) -> Option<usize> {
    (from + 1..bytes.len()).find(|&i| is_safe_boundary(bytes, i))
}

/// Unicode `White_Space` within ASCII (which, unlike `u8::is_ascii_whitespace`, includes the
/// vertical tab).
fn is_space(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// Neither a letter, a digit nor whitespace: what the patterns call `[^\s\p{L}\p{N}]`.
fn is_symbol(b: u8) -> bool {
    !b.is_ascii_alphanumeric() && !is_space(b)
}

/// What may precede a word in its piece: `[^\r\n\p{L}\p{N}]`.
fn is_word_prefix(b: u8) -> bool {
    !b.is_ascii_alphanumeric() && b != b'\r' && b != b'\n'
}

fn run(bytes: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    from + bytes[from..].iter().take_while(|&&b| class(b)).count()
}

/// The end of `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `i`, if it matches there.
fn contraction(bytes: &[u8], i: usize) -> Option<usize> {
    if bytes.get(i) != Some(&b'\'') {
        return None;
    }
    let lower = |k: usize| bytes.get(i + k).map(u8::to_ascii_lowercase);
    match (lower(1)?, lower(2)) {
        (b's' | b't' | b'm' | b'd', _) => Some(i + 2),
        (b'r' | b'v', Some(b'e')) | (b'l', Some(b'l')) => Some(i + 3),
        _ => None,
    }
}

/// The whitespace alternatives shared by both vocabularies: `\s*[\r\n]+`, `\s+$`,
/// `\s+(?!\S)` and `\s+`, in that order, for the run of whitespace at `i`.
fn whitespace_piece(bytes: &[u8], i: usize) -> usize {
    let end = run(bytes, i, is_space);
    if let Some(last_break) = bytes[i..end]
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
    {
        return i + last_break + 1;
    }
    if end == bytes.len() || end - i == 1 {
        end
    } else {
        end - 1
    }
}

/// The end of the piece at `i` under o200k_base's pattern:
/// `[^\r\n\p{L}\p{N}]?[\p{Lu}…]*[\p{Ll}…]+(?i:'s|…)?`, `[^\r\n\p{L}\p{N}]?[\p{Lu}…]+[\p{Ll}…]*(?i:'s|…)?`,
/// `\p{N}{1,3}`, ` ?[^\s\p{L}\p{N}]+[\r\n/]*`, then whitespace.
fn o200k_piece(bytes: &[u8], i: usize) -> usize {
    let b = bytes[i];
    // A word, with at most one character before it.
    let word_start = if is_word_prefix(b) { i + 1 } else { i };
    if word_start < bytes.len() && bytes[word_start].is_ascii_alphabetic() {
        let upper = run(bytes, word_start, |c| c.is_ascii_uppercase());
        let lower = run(bytes, upper, |c| c.is_ascii_lowercase());
        // Either some lower-case letters follow the capitals, or there are capitals alone.
        if lower > word_start {
            return contraction(bytes, lower).unwrap_or(lower);
        }
    }
    if b.is_ascii_digit() {
        return run(bytes, i, |c| c.is_ascii_digit()).min(i + 3);
    }
    if let Some(end) = symbols(bytes, i, |c| c == b'\r' || c == b'\n' || c == b'/') {
        return end;
    }
    whitespace_piece(bytes, i)
}

/// The end of the piece at `i` under cl100k_base's pattern:
/// `(?i:'s|…)`, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`, ` ?[^\s\p{L}\p{N}]+[\r\n]*`, then
/// whitespace.
fn cl100k_piece(bytes: &[u8], i: usize) -> usize {
    if let Some(end) = contraction(bytes, i) {
        return end;
    }
    let b = bytes[i];
    let word_start = if is_word_prefix(b) { i + 1 } else { i };
    let word_end = run(bytes, word_start.min(bytes.len()), |c| {
        c.is_ascii_alphabetic()
    });
    if word_end > word_start {
        return word_end;
    }
    if b.is_ascii_digit() {
        return run(bytes, i, |c| c.is_ascii_digit()).min(i + 3);
    }
    if let Some(end) = symbols(bytes, i, |c| c == b'\r' || c == b'\n') {
        return end;
    }
    whitespace_piece(bytes, i)
}

/// ` ?[^\s\p{L}\p{N}]+` followed by any run of `tail` characters.
fn symbols(bytes: &[u8], i: usize, tail: impl Fn(u8) -> bool) -> Option<usize> {
    let start = if bytes[i] == b' ' { i + 1 } else { i };
    let end = run(bytes, start, is_symbol);
    (end > start).then(|| run(bytes, end, tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BOTH: [Tokenizer; 2] = [Tokenizer::O200kBase, Tokenizer::Cl100kBase];

    fn assert_same_pieces(text: &str) {
        for t in BOTH {
            let ours: Vec<&str> = pieces(t, text).collect();
            let theirs: Vec<&str> = t.bpe().split(text).collect();
            assert_eq!(ours, theirs, "{} on {text:?}", t.name());
        }
    }

    #[test]
    fn the_tricky_cases_split_like_the_regex() {
        for text in [
            "",
            "a",
            " ",
            "\n",
            "hello world",
            "HTTPServer parseJSON ABCdef abcDEF McDonald's I'M THEY'RE we'll 'sup",
            "  \n\n  x  \t\n y   ",
            "}\n/path\n\n/ x",
            "a\r\n\r\nb \r \n c\u{b}\u{c}d",
            "12345 1,2 3.14159 -0.5e+10 0x1F",
            "\"name\":\"Jane\",\"id\":4711}",
            "tab\there  \"q\"  'a' ''s '  s we've WE'VE",
            "\u{0}\u{1f}\u{7f}abc\u{7}",
            "trailing   ",
            "trailing \n",
            "naïve café 東京 🚀 ÄÖÜ ß",
            "x\u{a0}y \u{85}z\u{2028}\n\u{3000}w",
            "ends with é",
            "é at start\nthen ascii\nand 1é2 and 9\u{663}",
            "'ſ 'S 'K \u{212a}",
        ] {
            assert_same_pieces(text);
        }
    }

    /// Every file of the shared corpus, when it is there (`CINCH_CORPUS` or `../shared/corpus`
    /// from the workspace root).
    #[test]
    fn the_corpus_splits_like_the_regex() {
        for (_, text) in crate::test_corpus::files() {
            assert_same_pieces(&text);
        }
    }

    /// Text built from the fragments the patterns treat specially, so that runs of digits,
    /// contractions, case changes and whitespace runs come up often.
    fn tricky_text() -> impl Strategy<Value = String> {
        let fragments: Vec<&str> = vec![
            "a", "Z", "abc", "ABC", "Abc", "0", "12", "1234", "7", " ", "  ", "\t", "\n", "\r\n",
            "\r", "\u{b}", "\u{c}", "'", "'s", "'T", "'re", "'VE", "'m", "'ll", "'D", "'x", "/",
            "\"", "{", "}", ":", ",", ".", "-", "_", "\u{0}", "\u{7f}", "é", "東", "🚀", "\u{a0}",
            "\u{85}", "\u{2028}", "ſ", "\u{212a}", "²", "\u{663}", "\u{301}",
        ];
        proptest::collection::vec(proptest::sample::select(fragments), 0..48)
            .prop_map(|fs| fs.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn random_text_splits_like_the_regex(text in tricky_text()) {
            for t in BOTH {
                let ours: Vec<&str> = pieces(t, &text).collect();
                let theirs: Vec<&str> = t.bpe().split(&text).collect();
                prop_assert_eq!(ours, theirs, "{}", t.name());
            }
        }

        #[test]
        fn any_text_splits_like_the_regex(text in any::<String>()) {
            for t in BOTH {
                let ours: Vec<&str> = pieces(t, &text).collect();
                let theirs: Vec<&str> = t.bpe().split(&text).collect();
                prop_assert_eq!(ours, theirs, "{}", t.name());
            }
        }
    }
}
