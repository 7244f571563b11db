//! Free text (prose, plain text) can be compressed by a model that lives outside this crate:
//! the neural Kompress. This crate only knows the interface; without a model, or when the model
//! declines, the deterministic prose compressor does the work and the report says why.

use crate::context::Context;
use crate::text::{TextError, TextOutcome};
use std::sync::Arc;

/// A compressor for free text supplied by the caller.
pub trait TextModel: Send + Sync {
    /// Its name in reports.
    fn name(&self) -> &str;
    /// Compresses `text`. Anything dropped must go to `ctx.store` with a marker in the output.
    /// An error hands the text to the deterministic prose compressor.
    fn compress(&self, text: &str, ctx: &Context) -> Result<TextOutcome, TextError>;
}

/// What compresses free text.
#[derive(Clone, Default)]
pub enum FreeText {
    /// The deterministic prose compressor.
    #[default]
    Deterministic,
    /// A model, with the deterministic compressor as its fallback.
    Model(Arc<dyn TextModel>),
    /// A model was asked for but is not there; the reason goes into the report.
    Unavailable(String),
}

impl std::fmt::Debug for FreeText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FreeText::Deterministic => f.write_str("Deterministic"),
            FreeText::Model(m) => write!(f, "Model({})", m.name()),
            FreeText::Unavailable(why) => write!(f, "Unavailable({why:?})"),
        }
    }
}
