//! cinch-core: the content model, detection, the compressors, the router, the CCR marker
//! grammar and the `Store` trait, and token counting. No I/O and no async.
#![deny(missing_docs)]

pub mod ccr;
pub mod context;
pub mod detect;
pub mod free_text;
pub mod json;
pub mod messages;
mod mixed;
pub mod query;
pub mod route;
pub mod text;
pub mod tokens;

#[cfg(test)]
mod test_corpus;

pub use ccr::{GetError, Key, Store, StoreError};
pub use detect::{Kind, Language};
pub use free_text::{FreeText, TextModel};
pub use route::{compress, warm, Options, Report, DEFAULT_BUDGET};
pub use tokens::Tokenizer;
