//! What every compressor is given: the query, the budget, counting, and where drops go.

use crate::ccr::Store;
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
}
