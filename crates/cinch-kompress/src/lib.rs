//! Kompress: neural token-level compression of free text.
//!
//! A token classifier (ModernBERT or BERT, in the Hugging Face layout on disk) scores every
//! token of a text; a word stays if its best token scores above a threshold, or if it carries a
//! fact (a number, an id, a path, a flag, a name in code style). Fenced code, tables, tags and
//! line markers never reach the model. Lines, indentation and blank lines keep their places.
//! The original goes to the store under a marker, so every dropped word can be retrieved.
//!
//! The model runs on candle, on the CPU, in f32 or with int8 weights ([`Precision`]).
#![deny(missing_docs)]

mod bert;
pub mod compress;
pub mod config;
mod fast;
mod layers;
pub mod model;
mod modernbert;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod tokenize;
mod words;

pub use compress::{compress_text, Compressed, Settings};
pub use layers::Precision;
pub use model::{Layout, Model, Scores};
pub use tokenize::{Encoded, WordTokenizer};

use cinch_core::ccr::marker;
use cinch_core::context::Context;
use cinch_core::text::{TextDetails, TextError, TextOutcome};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// What can go wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KompressError {
    /// A file of the model directory could not be read.
    #[error("cannot read {0}: {1}")]
    Io(String, String),
    /// `config.json` is unusable.
    #[error("config.json: {0}")]
    Config(String),
    /// The weights are unreadable or do not fit the config.
    #[error("weights: {0}")]
    Weights(String),
    /// `tokenizer.json` is unusable.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tokenizer and the model do not belong together.
    #[error("the tokenizer does not match the model: {0}")]
    Mismatch(String),
    /// The model failed while running.
    #[error("the model failed: {0}")]
    Model(String),
    /// The text has too few words to be worth it.
    #[error("{0} words is too few to compress")]
    TooShort(usize),
    /// The call ran past its deadline.
    #[error("the deadline passed before the model was done")]
    Deadline,
    /// Every model slot stayed busy until the deadline.
    #[error("every model slot was busy until the deadline")]
    Busy,
}

/// What Kompress needs of a model, whatever runs it: the words' tokens, and a keep score in
/// [0, 1] for every token of a sequence of at most [`TokenScorer::max_tokens`].
pub trait TokenScorer: Send + Sync {
    /// Tokens of `words`, each word on its own, with the special tokens.
    fn encode_words(&self, words: &[&str]) -> Result<Encoded, KompressError>;
    /// The keep score of each token.
    fn keep_scores(&self, ids: &[u32]) -> Result<Vec<f32>, KompressError>;
    /// The longest sequence one call takes.
    fn max_tokens(&self) -> usize;
}

/// Kompress with its model, settings and limits, ready to plug into the router as a
/// [`cinch_core::TextModel`].
pub struct Kompress {
    model: Box<dyn TokenScorer>,
    settings: Settings,
    deadline: Duration,
    slots: Slots,
}

impl std::fmt::Debug for Kompress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kompress")
            .field("settings", &self.settings)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Default time one call may take before the router falls back to the deterministic path.
/// A base-size model scores a 350-word chunk in about 2 s on two cores, so this covers some
/// 3 000 words.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20);

impl Kompress {
    /// Loads the model in `dir` to run on candle. The model must have a token-classification
    /// head.
    pub fn load(dir: &Path, precision: Precision) -> Result<Self, KompressError> {
        let model = Model::load(dir, precision)?;
        if !model.scores_tokens() {
            return Err(KompressError::Weights(
                "the model has no token-classification head (token_head or classifier)".into(),
            ));
        }
        Ok(Kompress::new(Box::new(model)))
    }

    /// Kompress over any scorer, with the default settings and limits.
    pub fn new(model: Box<dyn TokenScorer>) -> Self {
        Kompress {
            model,
            settings: Settings::default(),
            deadline: DEFAULT_DEADLINE,
            slots: Slots::new(1),
        }
    }

    /// Replaces the settings.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Sets how long one call may take, waiting for a slot included.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets how many calls may run the model at once (at least one); others wait for a slot
    /// until their deadline.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.slots = Slots::new(n);
        self
    }

    /// Compresses `text` within the deadline.
    pub fn compress(&self, text: &str) -> Result<Compressed, KompressError> {
        let deadline = Instant::now() + self.deadline;
        let _slot = self.slots.acquire(deadline).ok_or(KompressError::Busy)?;
        compress_text(self.model.as_ref(), text, &self.settings, Some(deadline))
    }
}

impl cinch_core::TextModel for Kompress {
    fn name(&self) -> &str {
        "kompress"
    }

    fn compress(&self, text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
        let c = Kompress::compress(self, text).map_err(|e| TextError::Declined(e.to_string()))?;
        if c.kept == c.words {
            return Err(TextError::Declined("the model kept every word".into()));
        }
        let key = ctx.store.put(ctx.namespace, text.as_bytes())?;
        let dropped = c.words - c.kept;
        let mut output = c.text;
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        output.push_str(&marker(
            &key,
            &format!(
                "{dropped} of {} words dropped by the model; the original text",
                c.words
            ),
        ));
        output.push('\n');
        Ok(TextOutcome {
            output,
            strategy: "kompress",
            ccr_keys: vec![key],
            details: TextDetails {
                lines_before: c.lines_before,
                lines_kept: c.lines_after,
                groups: 0,
                dropped: BTreeMap::from([
                    ("words".to_string(), dropped),
                    ("words kept as facts".to_string(), c.kept_as_facts),
                ]),
            },
        })
    }
}

/// A counting semaphore with a deadline: the model uses every core it is given, so running
/// more calls at once than there are slots only makes each slower.
struct Slots {
    max: usize,
    busy: Mutex<usize>,
    freed: Condvar,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(max: usize) -> Self {
        Slots {
            max: max.max(1),
            busy: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self, deadline: Instant) -> Option<Slot<'_>> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while *busy >= self.max {
            let left = deadline.checked_duration_since(Instant::now())?;
            busy = self
                .freed
                .wait_timeout(busy, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *busy += 1;
        Some(Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|e| e.into_inner());
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_frees_for_the_next_caller_and_a_full_gate_times_out() {
        let slots = Slots::new(1);
        let soon = Instant::now() + Duration::from_millis(30);
        let first = slots.acquire(soon).expect("a free slot");
        assert!(slots.acquire(soon).is_none(), "the only slot is taken");
        drop(first);
        assert!(slots
            .acquire(Instant::now() + Duration::from_millis(30))
            .is_some());
    }
}
