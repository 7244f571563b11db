//! The model's tokenizer (`tokenizer.json`), used on words one by one.

use crate::KompressError;
use std::path::Path;
use tokenizers::Tokenizer;

/// Words turned into tokens: ids and, for each token, the index of its word (`None` for the
/// special tokens).
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// Token ids, special tokens included.
    pub ids: Vec<u32>,
    /// Word index of each token.
    pub word_ids: Vec<Option<u32>>,
}

/// A tokenizer that never truncates or pads.
pub struct WordTokenizer(Tokenizer);

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, KompressError> {
    std::fs::read(path).map_err(|e| KompressError::Io(path.display().to_string(), e.to_string()))
}

impl WordTokenizer {
    /// Loads `tokenizer.json` from `path`.
    pub fn load(path: &Path) -> Result<Self, KompressError> {
        let bytes = read(path)?;
        let mut tokenizer = Tokenizer::from_bytes(&bytes)
            .map_err(|e| KompressError::Tokenizer(format!("{}: {e}", path.display())))?;
        // Chunking is this crate's job: a tokenizer.json that truncates would drop words
        // silently, and padding would feed the model tokens it was not meant to see.
        tokenizer
            .with_truncation(None)
            .map_err(|e| KompressError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        Ok(WordTokenizer(tokenizer))
    }

    /// Tokens the tokenizer knows, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.0.get_vocab_size(true)
    }

    /// Tokens of `words`, each word on its own (as `is_split_into_words=True` does in
    /// transformers), with the special tokens the tokenizer adds around a sequence.
    pub fn encode_words(&self, words: &[&str]) -> Result<Encoded, KompressError> {
        let enc = self
            .0
            .encode(words.to_vec(), true)
            .map_err(|e| KompressError::Tokenizer(e.to_string()))?;
        Ok(Encoded {
            ids: enc.get_ids().to_vec(),
            word_ids: enc.get_word_ids().to_vec(),
        })
    }

    /// Tokens of a plain text, with the special tokens.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>, KompressError> {
        let enc = self
            .0
            .encode(text, true)
            .map_err(|e| KompressError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }
}
