//! The router: picks a compressor for the content, applies the never-worse guard, and reports
//! every decision.
//!
//! Never worse: if no candidate has fewer tokens than the input, or a compressor fails (a store
//! that cannot take a dropped part included), the input goes out unchanged and the report says
//! why.

use crate::ccr::Store;
use crate::json::{compress_json, JsonDetails, JsonError, JsonSettings};
use crate::query::Query;
use crate::tokens::{Counter, Tokenizer};
use serde::Serialize;
use std::str::FromStr;

/// Default token budget for one tool output. Above it SmartCrusher drops rows into the store.
/// 2 000 tokens is about what an agent can read in full without losing the thread: roughly a
/// 60-row table of a typical API listing, or one screen of a long response.
pub const DEFAULT_BUDGET: usize = 2000;

/// Inputs from this size on are counted on a second thread while they are compressed.
const PARALLEL_COUNT_MIN: usize = 4 * 1024;

/// A kind of content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// JSON or NDJSON.
    Json,
    /// Anything else (passed through for now).
    Text,
}

impl Kind {
    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Text => "text",
        }
    }
}

/// An unknown kind name.
#[derive(Debug, thiserror::Error)]
#[error("unknown kind {0:?} (expected json or text)")]
pub struct UnknownKind(String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" | "ndjson" => Ok(Kind::Json),
            "text" => Ok(Kind::Text),
            other => Err(UnknownKind(other.to_string())),
        }
    }
}

/// What to compress for.
#[derive(Debug, Clone)]
pub struct Options {
    /// What the agent is asking.
    pub query: String,
    /// Force a kind instead of detecting it.
    pub kind: Option<Kind>,
    /// Token budget.
    pub budget: usize,
    /// Tokenizer for counting.
    pub tokenizer: Tokenizer,
    /// Store namespace.
    pub namespace: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            query: String::new(),
            kind: None,
            budget: DEFAULT_BUDGET,
            tokenizer: Tokenizer::default(),
            namespace: crate::ccr::DEFAULT_NAMESPACE.to_string(),
        }
    }
}

/// The report of one compression (the `--json` output of `cinch compress`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The text the model sees.
    pub output: String,
    /// Detected (or forced) kind.
    pub kind: Kind,
    /// What was done: `passthrough`, `minify`, `table`, `table+select`.
    pub strategy: &'static str,
    /// Tokens of the input.
    pub tokens_before: usize,
    /// Tokens of the output.
    pub tokens_after: usize,
    /// True only when the output was decoded in-process and equals the input.
    pub lossless: bool,
    /// Keys of everything stored for retrieval.
    pub ccr_keys: Vec<String>,
    /// Why nothing was done, or why a fallback was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// JSON details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<JsonDetails>,
    /// Time of the compression call, in microseconds.
    pub elapsed_us: u64,
}

/// Does a process's one-time work up front (the tokenizer's vocabulary and automaton, the
/// compiled patterns, and the first run through each compression path, which pages its code in),
/// so that calls to [`compress`] measure only compression. A long-running process pays this
/// once; the CLI reports it as `init_us`.
pub fn warm(tokenizer: Tokenizer) {
    tokenizer.warm();
    let sample = warm_sample();
    let store = crate::ccr::MemoryStore::default();
    for (query, budget) in [
        ("", 200),
        ("status = failed item-7", 200),
        ("", DEFAULT_BUDGET),
    ] {
        let opts = Options {
            query: query.to_string(),
            budget,
            tokenizer,
            ..Options::default()
        };
        let _ = compress(&sample, &opts, &store);
    }
}

/// A listing of the usual shape (ids, names, categories, numbers, URLs, a nested object, an
/// error message), large enough to be counted on the helper thread and to need selection.
fn warm_sample() -> String {
    let rows: Vec<String> = (0..48)
        .map(|i| {
            let status = ["active", "failed", "pending"][i % 3];
            let message = if i % 7 == 0 { "request failed: timed out" } else { "ok" };
            format!(
                "{{\"id\": {}, \"name\": \"item-{i}\", \"status\": \"{status}\", \"latency_ms\": {}.5, \
                 \"url\": \"https://api.example.com/v1/items/{i}\", \"owner\": {{\"login\": \"user{}\", \
                 \"admin\": {}}}, \"message\": \"{message}\"}}",
                1000 + i,
                (i * 37) % 101,
                i % 5,
                i % 2 == 0
            )
        })
        .collect();
    format!("{{\"items\": [\n{}\n], \"total\": 48}}", rows.join(",\n"))
}

/// Compresses `input`. Never fails: problems become a pass-through with a reason.
pub fn compress(input: &str, opts: &Options, store: &dyn Store) -> Report {
    let started = std::time::Instant::now();
    let query = Query::parse(&opts.query);
    let (tokens_before, result) = std::thread::scope(|scope| {
        // Counting the input is independent of compressing it: for large inputs do both at
        // once (a thread costs more than counting a small input).
        let counter = if input.len() < PARALLEL_COUNT_MIN {
            Counter::new(opts.tokenizer, input)
        } else {
            Counter::in_background(scope, opts.tokenizer, input)
        };
        // A bug in a compressor must not cost the agent its tool output: fail open.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            route(input, opts, &query, &counter, store)
        }))
        .unwrap_or_else(|_| Routed {
            kind: detect(input),
            outcome: Err("internal error in the compressor; the input goes out unchanged".into()),
        });
        (counter.input_tokens(), result)
    });
    let kind = result.kind;
    let mut report = match result.outcome {
        Ok(c) if c.tokens < tokens_before => Report {
            output: c.output,
            kind,
            strategy: c.strategy,
            tokens_before,
            tokens_after: c.tokens,
            lossless: c.lossless,
            ccr_keys: c.keys,
            reason: None,
            json: c.json,
            elapsed_us: 0,
        },
        Ok(c) => passthrough(
            input,
            kind,
            tokens_before,
            format!(
                "no candidate was smaller than the input ({} >= {tokens_before} tokens)",
                c.tokens
            ),
            c.json,
        ),
        Err(reason) => passthrough(input, kind, tokens_before, reason, None),
    };
    report.elapsed_us = started.elapsed().as_micros() as u64;
    report
}

fn passthrough(
    input: &str,
    kind: Kind,
    tokens: usize,
    reason: String,
    json: Option<JsonDetails>,
) -> Report {
    Report {
        output: input.to_string(),
        kind,
        strategy: "passthrough",
        tokens_before: tokens,
        tokens_after: tokens,
        lossless: true,
        ccr_keys: Vec::new(),
        reason: Some(reason),
        json,
        elapsed_us: 0,
    }
}

struct Candidate {
    output: String,
    strategy: &'static str,
    tokens: usize,
    lossless: bool,
    keys: Vec<String>,
    json: Option<JsonDetails>,
}

struct Routed {
    kind: Kind,
    outcome: Result<Candidate, String>,
}

fn route(
    input: &str,
    opts: &Options,
    query: &Query,
    counter: &Counter,
    store: &dyn Store,
) -> Routed {
    let kind = opts.kind.unwrap_or_else(|| detect(input));
    let outcome = match kind {
        Kind::Json => {
            let settings = JsonSettings {
                query,
                budget: opts.budget,
                counter,
                store,
                namespace: &opts.namespace,
            };
            match compress_json(input, &settings) {
                Ok(o) => Ok(Candidate {
                    output: o.output,
                    strategy: o.strategy,
                    tokens: o.tokens,
                    lossless: o.lossless,
                    keys: o.ccr_keys.iter().map(|k| k.to_string()).collect(),
                    json: Some(o.details),
                }),
                Err(e @ (JsonError::NotJson(_) | JsonError::Unverified)) => Err(e.to_string()),
                Err(JsonError::Store(e)) => Err(format!(
                    "{e}; nothing was dropped, the input goes out unchanged"
                )),
            }
        }
        Kind::Text => {
            Err("text compressors are not built yet; text passes through unchanged".to_string())
        }
    };
    Routed { kind, outcome }
}

/// Detects the kind of `input`: JSON when it starts like a JSON container (the JSON
/// compressor then decides whether it really parses).
pub fn detect(input: &str) -> Kind {
    match input.trim_start().as_bytes().first() {
        Some(b'{' | b'[') => Kind::Json,
        _ => Kind::Text,
    }
}
