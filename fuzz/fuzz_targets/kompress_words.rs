//! Kompress's word handling on any text, with a stand-in model whose scores come from the
//! input: the output is the input's words in order, never longer than the input, and no chunk
//! over the token limit reaches the model.
#![no_main]

use cinch_kompress::{compress_text, Encoded, KompressError, Settings, TokenScorer};
use libfuzzer_sys::fuzz_target;

struct Bytes {
    max: usize,
}

impl TokenScorer for Bytes {
    fn encode_words(&self, words: &[&str]) -> Result<Encoded, KompressError> {
        let mut enc = Encoded { ids: vec![0], word_ids: vec![None] };
        for (i, w) in words.iter().enumerate() {
            // Up to three tokens per word, some words none (as a normaliser can make them).
            for b in w.bytes().take(w.len() % 4) {
                enc.ids.push(u32::from(b));
                enc.word_ids.push(Some(i as u32));
            }
        }
        enc.ids.push(0);
        enc.word_ids.push(None);
        Ok(enc)
    }

    fn keep_scores(&self, ids: &[u32]) -> Result<Vec<f32>, KompressError> {
        assert!(ids.len() <= self.max);
        Ok(ids.iter().map(|&id| (id % 3) as f32 / 2.0).collect())
    }

    fn max_tokens(&self) -> usize {
        self.max
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let max = 3 + usize::from(knobs % 16);
    let settings = Settings {
        chunk_words: 1 + usize::from(knobs / 16),
        max_tokens: max,
        target_ratio: (knobs % 5 == 0).then_some(0.4),
        ..Settings::default()
    };
    let Ok(c) = compress_text(&Bytes { max }, text, &settings, None) else {
        return;
    };
    assert!(c.text.len() <= text.len());
    let original: Vec<&str> = text.split_whitespace().collect();
    let kept: Vec<&str> = c.text.split_whitespace().collect();
    assert_eq!(kept.len(), c.kept);
    let mut at = 0;
    for w in kept {
        at += original[at..].iter().position(|o| *o == w).expect("a word of the input, in order") + 1;
    }
});
