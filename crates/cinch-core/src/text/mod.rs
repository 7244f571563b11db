//! Compressors for text: logs, search results, diffs, code, prose.
//!
//! Each keeps the lines it keeps byte for byte (line endings included), says in place what it
//! left out, and stores what it dropped under one key named by a marker line
//! `<<ccr:KEY SUMMARY>>`. Logs and search results are cut only above the budget: a text that
//! fits is left whole. Diffs are trimmed at any size (see [`diff`]).

pub mod code;
pub mod config;
pub mod diff;
pub(crate) mod fit;
pub mod gitlog;
pub(crate) mod keep;
pub mod lines;
pub mod log;
pub mod paths;
pub mod prose;
pub mod search;
pub mod table;
pub mod testrun;
pub(crate) mod trace;

use crate::ccr::{Key, StoreError};
use crate::context::Context;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a text compressor made.
#[derive(Debug)]
pub struct TextOutcome {
    /// The text the model sees.
    pub output: String,
    /// What was done.
    pub strategy: &'static str,
    /// Keys of what was stored.
    pub ccr_keys: Vec<Key>,
    /// Counts for the report.
    pub details: TextDetails,
}

/// Counts for the report of a text compressor.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TextDetails {
    /// Lines in the input.
    pub lines_before: usize,
    /// Input lines kept verbatim.
    pub lines_kept: usize,
    /// Groups found: line templates in a log, files in search results or a diff.
    pub groups: usize,
    /// Dropped lines by what they were (log level, context lines, files collapsed, ...).
    pub dropped: BTreeMap<String, usize>,
}

/// Why a text compressor did nothing.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The text fits the budget as it is.
    #[error("the text fits the budget ({0} tokens), so nothing was dropped")]
    WithinBudget(usize),
    /// Nothing could be dropped without losing what must stay.
    #[error("{0}")]
    NothingToDrop(&'static str),
    /// A compressor supplied from outside (a model) declined, and why.
    #[error("{0}")]
    Declined(String),
    /// The store did not take what would have been dropped.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The lines of `text`, each with its line ending.
pub(crate) fn lines_of(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A line without its line ending.
pub(crate) fn content(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// Refuses texts within the budget, and any text when only lossless results are wanted (text
/// compressors drop lines). Only the first budget's worth of tokens is counted here, so that
/// compressing overlaps with counting the whole input.
pub(crate) fn over_budget(ctx: &Context) -> Result<(), TextError> {
    lossy_allowed(ctx)?;
    match ctx.counter.input_up_to(ctx.budget) {
        Some(tokens) => Err(TextError::WithinBudget(tokens)),
        None => Ok(()),
    }
}

/// Refuses to drop anything when only lossless results are wanted.
pub(crate) fn lossy_allowed(ctx: &Context) -> Result<(), TextError> {
    if ctx.lossless_only {
        return Err(TextError::NothingToDrop(
            "only lossless results were asked for, and this compressor drops lines",
        ));
    }
    Ok(())
}

/// `a 3, b 2, c 1` for the largest counts first, at most `n` of them.
pub(crate) fn top_counts(counts: &BTreeMap<String, usize>, n: usize) -> String {
    let mut by: Vec<(&String, &usize)> = counts.iter().collect();
    by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    by.iter()
        .take(n)
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
