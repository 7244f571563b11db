//! What every compressor is given: the query, the budget, counting, and where drops go.

use crate::ccr::Store;
use crate::free_text::FreeText;
use crate::query::Query;
use crate::tokens::Counter;

/// The settings of one compression call, shared by every compressor.
pub struct Context<'a> {
    /// What the agent is asking.
    pub query: &'a Query,
    /// Token budget for the output: above it, compressors drop parts (into the store).
    pub budget: usize,
    /// Counts the input and the candidates.
    pub counter: &'a Counter<'a>,
    /// Where dropped content goes.
    pub store: &'a dyn Store,
    /// The store namespace.
    pub namespace: &'a str,
    /// What compresses free text.
    pub free_text: &'a FreeText,
    /// Only lossless results: nothing may be dropped.
    pub lossless_only: bool,
}

/// Runs `f` with a context for `input` over a fresh memory store (namespace `t`), for tests.
#[cfg(test)]
pub(crate) fn with_context<R>(
    input: &str,
    query: &str,
    budget: usize,
    f: impl FnOnce(&Context) -> R,
) -> (R, crate::ccr::MemoryStore) {
    let store = crate::ccr::MemoryStore::default();
    let query = Query::parse(query);
    let counter = Counter::new(crate::tokens::Tokenizer::O200kBase, input);
    let ctx = Context {
        query: &query,
        budget,
        counter: &counter,
        store: &store,
        namespace: "t",
        free_text: &FreeText::Deterministic,
        lossless_only: false,
    };
    let out = f(&ctx);
    (out, store)
}
