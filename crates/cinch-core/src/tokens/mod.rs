//! Token counting with the vocabularies of the models cinch feeds.
//!
//! Exact counts come from `bpe-openai`, whose vocabularies ship inside the crate (nothing is
//! downloaded) and whose counts equal tiktoken's. [`estimate`] is a cheap, allocation-free guess
//! for hot paths that only need to compare candidates of similar shape.

mod counter;
mod pieces;

pub use counter::Counter;

use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;
use std::str::FromStr;
use std::sync::OnceLock;

const PIECE_CACHE_MAX: usize = 1 << 16;

/// Every character class the pre-tokenizer distinguishes, in the shapes tool output has.
const WARM_SAMPLE: &str = concat!(
    "{\"id\": 4711, \"url\": \"https://api.example.com/v1/items?page=2&x=-1.5e+3\", \"ok\": true, \"n\": null}\n",
    "[3]{sha,commit.author.name:s}:\nabc123,Jane O'Neil\n  \t\r\n",
    "2024-05-01T12:00:00Z ERROR [worker-3] Can't connect: timed out after 30000ms!\n",
    "src/main.rs:42:    fn main() { println!(\"{}\", x); } // naïve café 東京 🚀 ÄÖÜ ß\n",
    "    indented   spaces\n\n\n",
);

/// Token counts of the pieces a thread has seen. Most pieces are short: those are keyed by
/// their bytes packed into an integer (no allocation, one-word compares); longer ones by their
/// text. Pieces over 32 bytes are rare and not cached.
#[derive(Default)]
struct PieceCache {
    short: FxHashMap<u128, u32>,
    long: FxHashMap<Box<str>, u32>,
}

/// `bytes` (at most 15 of them) and their length packed into one integer: distinct byte strings
/// get distinct keys. The layout is the bytes in order, zeros, and the length in the last byte.
fn short_key(bytes: &[u8]) -> u128 {
    let (lo, hi) = words(bytes);
    (lo as u128) | ((hi | (bytes.len() as u64) << 56) as u128) << 64
}

/// [`short_key`] for at most 7 bytes.
fn tiny_key(bytes: &[u8]) -> u64 {
    debug_assert!(bytes.len() < 8);
    words(bytes).0 | (bytes.len() as u64) << 56
}

/// `bytes` (at most 15 of them) as two little-endian words, zero-filled. They are put together
/// from whole-word loads (two overlapping ones, the second shifted into place) rather than a
/// copy into a buffer: this runs for every piece counted, and a short copy followed by a load
/// of the same bytes stalls the processor (it made counting a third slower).
fn words(bytes: &[u8]) -> (u64, u64) {
    debug_assert!(bytes.len() < 16);
    let n = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            bytes[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    match n {
        8.. => (
            word(0),
            word(n - 8).checked_shr(8 * (16 - n) as u32).unwrap_or(0),
        ),
        4..=7 => (half(0) | (half(n - 4) >> (8 * (8 - n))) << 32, 0),
        _ => (
            bytes
                .iter()
                .enumerate()
                .fold(0, |k, (i, &b)| k | u64::from(b) << (8 * i)),
            0,
        ),
    }
}

impl PieceCache {
    /// The count of `piece`, from the cache or from `count` (which then goes into the cache).
    fn get_or_count(&mut self, piece: &str, count: impl FnOnce() -> usize) -> usize {
        let bytes = piece.as_bytes();
        if bytes.len() < 16 {
            *self
                .short
                .entry(short_key(bytes))
                .or_insert_with(|| count() as u32) as usize
        } else if bytes.len() <= 32 {
            if let Some(&n) = self.long.get(piece) {
                return n as usize;
            }
            let n = count();
            self.long.insert(piece.into(), n as u32);
            n
        } else {
            count()
        }
    }

    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// Adds `other`'s counts to these.
    fn merge(&mut self, mut other: PieceCache) {
        if self.len() < other.len() {
            std::mem::swap(self, &mut other);
        }
        self.short.extend(other.short);
        self.long.extend(other.long);
    }
}

thread_local! {
    static PIECE_CACHE: RefCell<[PieceCache; 2]> = RefCell::new(Default::default());
}

/// Piece counts learned on one thread, for another thread to adopt.
pub(crate) struct PieceCounts {
    tokenizer: Tokenizer,
    counts: PieceCache,
}

impl PieceCounts {
    /// Adds these counts to this thread's cache.
    fn adopt(self) {
        PIECE_CACHE.with(|c| c.borrow_mut()[self.tokenizer as usize].merge(self.counts));
    }
}

/// A BPE vocabulary that cinch can count tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tokenizer {
    /// OpenAI's `o200k_base` (GPT-4o and later); the default.
    #[default]
    O200kBase,
    /// OpenAI's `cl100k_base` (GPT-4, GPT-3.5).
    Cl100kBase,
}

impl Tokenizer {
    fn bpe(self) -> &'static bpe_openai::Tokenizer {
        match self {
            Tokenizer::O200kBase => bpe_openai::o200k_base(),
            Tokenizer::Cl100kBase => bpe_openai::cl100k_base(),
        }
    }

    /// The vocabulary's tokens of at most 7 bytes, by [`tiny_key`]. A piece that is a token
    /// encodes as that one token, and most short pieces are: a lookup here saves running BPE on
    /// them. (Longer tokens would double the set and the time to build it, for no measurable
    /// gain.)
    fn short_tokens(self) -> &'static FxHashSet<u64> {
        static SETS: [OnceLock<FxHashSet<u64>>; 2] = [OnceLock::new(), OnceLock::new()];
        SETS[self as usize].get_or_init(|| {
            let bpe = &self.bpe().bpe;
            let mut set = FxHashSet::with_capacity_and_hasher(bpe.num_tokens(), Default::default());
            set.extend(
                (0..bpe.num_tokens() as u32)
                    .map(|id| bpe.token_bytes(id))
                    .filter(|bytes| bytes.len() < 8)
                    .map(tiny_key),
            );
            set
        })
    }

    /// The token count of one pre-tokenizer piece.
    fn count_piece(self, piece: &str) -> usize {
        let bytes = piece.as_bytes();
        if bytes.len() < 8 && self.short_tokens().contains(&tiny_key(bytes)) {
            return 1;
        }
        self.bpe().bpe.count(bytes)
    }

    /// Loads the vocabulary and runs the pre-tokenizer over a sample of typical tool output,
    /// on this thread and on a second one, so that the first real count finds the automaton's
    /// states built (they are built lazily and cached per thread).
    pub fn warm(self) {
        let _ = self.bpe().count(WARM_SAMPLE);
        self.short_tokens();
        std::thread::scope(|s| {
            s.spawn(|| self.bpe().count(WARM_SAMPLE));
        });
    }

    /// The exact number of tokens of `text`, as tiktoken counts it with no special tokens.
    ///
    /// Tool output repeats the same pre-tokenizer pieces (keys, punctuation, common words)
    /// over and over, so each thread caches piece counts; the sum is the same as counting afresh.
    pub fn count(self, text: &str) -> usize {
        self.count_up_to(text, usize::MAX).unwrap_or(usize::MAX)
    }

    /// The exact count of `text` if it is at most `limit`, else `None` (found without counting
    /// the rest: comparing a candidate against a smaller one costs only that much).
    pub fn count_up_to(self, text: &str, limit: usize) -> Option<usize> {
        PIECE_CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let cache = &mut cache[self as usize];
            if cache.len() > PIECE_CACHE_MAX {
                *cache = PieceCache::default();
            }
            let mut total = 0usize;
            for piece in pieces::pieces(self, text) {
                total += cache.get_or_count(piece, || self.count_piece(piece));
                if total > limit {
                    return None;
                }
            }
            Some(total)
        })
    }

    /// Takes this thread's cached piece counts, leaving the cache empty.
    fn take_pieces(self) -> PieceCounts {
        PieceCounts {
            tokenizer: self,
            counts: PIECE_CACHE.with(|c| std::mem::take(&mut c.borrow_mut()[self as usize])),
        }
    }

    /// The vocabulary's name as tiktoken spells it.
    pub fn name(self) -> &'static str {
        match self {
            Tokenizer::O200kBase => "o200k_base",
            Tokenizer::Cl100kBase => "cl100k_base",
        }
    }
}

/// An unknown tokenizer name.
#[derive(Debug, thiserror::Error)]
#[error("unknown tokenizer {0:?} (expected o200k_base or cl100k_base)")]
pub struct UnknownTokenizer(String);

impl FromStr for Tokenizer {
    type Err = UnknownTokenizer;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "o200k_base" | "o200k" => Ok(Tokenizer::O200kBase),
            "cl100k_base" | "cl100k" => Ok(Tokenizer::Cl100kBase),
            other => Err(UnknownTokenizer(other.to_string())),
        }
    }
}

/// A fast token estimate: runs of letters and digits cost about one token per four bytes,
/// runs of punctuation about one per two bytes (BPE merges `":"` and the like), spaces are
/// mostly absorbed by the next word, and non-ASCII text costs about one token per two bytes.
pub fn estimate(text: &str) -> usize {
    let mut tokens = 0usize;
    let (mut word, mut punct, mut other) = (0usize, 0usize, 0usize);
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() {
            tokens += punct.div_ceil(2);
            punct = 0;
            word += 1;
            continue;
        }
        tokens += word.div_ceil(4);
        word = 0;
        if b >= 0x80 {
            other += 1;
        } else if b != b' ' {
            punct += 1;
        }
    }
    tokens + word.div_ceil(4) + punct.div_ceil(2) + other.div_ceil(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    // o200k counts were taken with Python tiktoken (`len(enc.encode(s, disallowed_special=()))`).
    #[test]
    fn o200k_counts_match_python_tiktoken() {
        let cases = [
            ("", 0),
            ("hello world", 2),
            ("{\"id\": 4711, \"status\": \"active\"}", 13),
            ("  indented\n\tline\r\n", 6),
            ("naïve café 東京 🚀", 7),
            ("<|endoftext|>", 7),
        ];
        for (text, o200k) in cases {
            assert_eq!(Tokenizer::O200kBase.count(text), o200k, "o200k {text:?}");
        }
    }

    // tiktoken-rs is an independent port of tiktoken's own BPE core with both vocabularies.
    #[test]
    fn both_vocabularies_match_tiktoken_rs() {
        let samples = [
            "fn main() {\n    println!(\"hi\");\n}\n",
            "2024-05-01 12:00:00 ERROR worker-3 timed out after 30000ms   \n\n",
            "[30]{sha,commit.author.name:s,url}:\nabc,Harry Marr,~a/commits/abc",
            "naïve café 東京 🚀 ÄÖÜ ß \u{1F600}   \t\t x",
            "<|endoftext|> <|fim_prefix|> 12345678901234567890",
        ];
        let o = tiktoken_rs::o200k_base().unwrap();
        let c = tiktoken_rs::cl100k_base().unwrap();
        for s in samples {
            assert_eq!(
                Tokenizer::O200kBase.count(s),
                o.encode_ordinary(s).len(),
                "{s:?}"
            );
            assert_eq!(
                Tokenizer::Cl100kBase.count(s),
                c.encode_ordinary(s).len(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn cached_counts_equal_fresh_counts_for_pieces_of_every_length() {
        // Words of 1..=40 letters: short keys, long keys and uncached pieces, each seen twice.
        let words: Vec<String> = (1..=40)
            .map(|n| "xqzj".chars().cycle().take(n).collect())
            .collect();
        let text = format!("{0} {0}", words.join(" "));
        for t in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
            let fresh = t.bpe().count(&text);
            assert_eq!(t.count(&text), fresh, "{}", t.name());
            assert_eq!(t.count(&text), fresh, "{} warm", t.name());
        }
    }

    /// The vocabulary lookup for pieces that are one token, the piece cache and the
    /// pre-tokenizer together count like `bpe-openai` on real tool output.
    #[test]
    fn the_corpus_counts_like_bpe_openai() {
        for (path, text) in crate::test_corpus::files() {
            let mut end = text.len().min(32 * 1024);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            for t in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
                let head = &text[..end];
                assert_eq!(t.count(head), t.bpe().count(head), "{path:?}");
            }
        }
    }

    #[test]
    fn every_short_token_counts_as_one() {
        for t in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
            let bpe = &t.bpe().bpe;
            let mut checked = 0;
            for id in (0..bpe.num_tokens() as u32).step_by(7) {
                if let Ok(piece) = std::str::from_utf8(bpe.token_bytes(id)) {
                    assert_eq!(t.count_piece(piece), 1, "{piece:?}");
                    checked += 1;
                }
            }
            assert!(checked > 10_000, "{checked}");
            // Not tokens: each piece is counted by BPE.
            for piece in ["xqzjxqzjxq", " 東京都庁舎", "\n\t\r"] {
                assert_eq!(t.count_piece(piece), t.bpe().bpe.count(piece.as_bytes()));
                assert!(t.count_piece(piece) > 1, "{piece:?}");
            }
        }
    }

    #[test]
    fn short_keys_are_the_bytes_and_their_length() {
        let text = b"abcdefghijklmno";
        for n in 0..16 {
            let mut expected = [0u8; 16];
            expected[..n].copy_from_slice(&text[..n]);
            expected[15] = n as u8;
            assert_eq!(short_key(&text[..n]), u128::from_le_bytes(expected), "{n}");
            if n < 8 {
                let mut expected = [0u8; 8];
                expected[..n].copy_from_slice(&text[..n]);
                expected[7] = n as u8;
                assert_eq!(tiny_key(&text[..n]), u64::from_le_bytes(expected), "{n}");
            }
        }
    }

    #[test]
    fn counting_up_to_a_limit() {
        let t = Tokenizer::O200kBase;
        assert_eq!(t.count_up_to("hello world", 2), Some(2));
        assert_eq!(t.count_up_to("hello world", 1), None);
    }

    #[test]
    fn estimate_is_in_the_right_range() {
        let text = "{\"id\":4711,\"url\":\"https://api.github.com/repos/psf/requests\"}";
        let exact = Tokenizer::O200kBase.count(text) as f64;
        let est = estimate(text) as f64;
        assert!(
            (est / exact - 1.0).abs() < 0.5,
            "estimate {est} vs exact {exact}"
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "cl100k_base".parse::<Tokenizer>().unwrap(),
            Tokenizer::Cl100kBase
        );
        assert!("gpt2".parse::<Tokenizer>().is_err());
    }
}
