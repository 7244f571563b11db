//! The router: picks a compressor for the content, applies the never-worse guard, and reports
//! every decision.
//!
//! Never worse: if no candidate has fewer tokens than the input, or a compressor fails (a store
//! that cannot take a dropped part included), the input goes out unchanged and the report says
//! why.

use crate::ccr::Store;
use crate::context::Context;
use crate::detect::{detect, Kind, Language};
use crate::free_text::FreeText;
use crate::json::{compress_json, JsonDetails, JsonError};
use crate::query::Query;
use crate::text::{self, TextDetails, TextError, TextOutcome};
use crate::tokens::{Counter, Tokenizer};
use serde::Serialize;

/// Default token budget for one tool output. Above it SmartCrusher drops rows into the store.
/// 2 000 tokens is about what an agent can read in full without losing the thread: roughly a
/// 60-row table of a typical API listing, or one screen of a long response.
pub const DEFAULT_BUDGET: usize = 2000;

/// Inputs from this size on are counted on a second thread while they are compressed.
const PARALLEL_COUNT_MIN: usize = 4 * 1024;

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
    /// What compresses prose and other free text.
    pub free_text: FreeText,
    /// Only lossless results: nothing is dropped, and the output may then be over the budget
    /// (the report says so).
    pub lossless_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            query: String::new(),
            kind: None,
            budget: DEFAULT_BUDGET,
            tokenizer: Tokenizer::default(),
            namespace: crate::ccr::DEFAULT_NAMESPACE.to_string(),
            free_text: FreeText::Deterministic,
            lossless_only: false,
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
    /// For code, the language detected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// JSON details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<JsonDetails>,
    /// Details of a text compressor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextDetails>,
    /// Time of the compression call, in microseconds.
    pub elapsed_us: u64,
}

/// Does a process's one-time work up front (the tokenizer's vocabulary and automaton, the
/// compiled patterns, and the first run through each compression path, which pages its code in),
/// so that calls to [`compress`] measure only compression. A long-running process pays this
/// once; the CLI reports it as `init_us`.
pub fn warm(tokenizer: Tokenizer) {
    tokenizer.warm();
    text::code::warm();
    let store = crate::ccr::MemoryStore::default();
    let json = warm_sample();
    let samples = [
        (json.as_str(), "", 200),
        (&json, "status = failed item-7", 200),
        (&json, "", DEFAULT_BUDGET),
        (WARM_LOG, "errors", 20),
        (WARM_SEARCH, "where is run defined", 20),
        (WARM_DIFF, "", 20),
        (WARM_CODE, "", 20),
        (WARM_PROSE, "how to install", 20),
    ];
    for (text, query, budget) in samples {
        let opts = Options {
            query: query.to_string(),
            budget,
            tokenizer,
            ..Options::default()
        };
        let _ = compress(text, &opts, &store);
    }
}

const WARM_LOG: &str = "2024-05-01 12:00:00,001 INFO [main] app.Server: started on port 8080
2024-05-01 12:00:01,002 INFO [main] app.Server: started on port 8081
2024-05-01 12:00:01,003 INFO [main] app.Server: started on port 8082
2024-05-01 12:00:01,004 INFO [main] app.Server: started on port 8083
2024-05-01 12:00:01,005 INFO [main] app.Server: started on port 8084
2024-05-01 12:00:02,003 WARN [pool-1] app.Db: slow query took 1200ms
2024-05-01 12:00:03,004 ERROR [pool-2] app.Db: connection refused: db-1:5432
\tat app.Db.connect(Db.java:42)
2024-05-01 12:00:04,005 INFO [main] app.Server: stopped
";

const WARM_SEARCH: &str = "src/run.rs:3:pub fn run(args: Args, n: u32) -> Result<()> {
src/main.rs:10:    let value_0 = run(args, 0)?;
src/main.rs:17:    let value_1 = run(args, 1)?;
src/main.rs:24:    let value_2 = run(args, 2)?;
src/main.rs:31:    let value_3 = run(args, 3)?;
src/main.rs:38:    let value_4 = run(args, 4)?;
src/main.rs:45:    let value_5 = run(args, 5)?;
src/main.rs:52:    let value_6 = run(args, 6)?;
src/main.rs:59:    let value_7 = run(args, 7)?;
src/main.rs:66:    let value_8 = run(args, 8)?;
src/main.rs:73:    let value_9 = run(args, 9)?;
src/main.rs:80:    let value_10 = run(args, 10)?;
src/main.rs:87:    let value_11 = run(args, 11)?;
src/lib.rs:10:    let value_0 = run(args, 0)?;
src/lib.rs:17:    let value_1 = run(args, 1)?;
src/lib.rs:24:    let value_2 = run(args, 2)?;
src/lib.rs:31:    let value_3 = run(args, 3)?;
src/lib.rs:38:    let value_4 = run(args, 4)?;
src/lib.rs:45:    let value_5 = run(args, 5)?;
src/lib.rs:52:    let value_6 = run(args, 6)?;
src/lib.rs:59:    let value_7 = run(args, 7)?;
src/lib.rs:66:    let value_8 = run(args, 8)?;
src/lib.rs:73:    let value_9 = run(args, 9)?;
src/run.rs:10:    let value_0 = run(args, 0)?;
src/run.rs:17:    let value_1 = run(args, 1)?;
src/run.rs:24:    let value_2 = run(args, 2)?;
src/run.rs:31:    let value_3 = run(args, 3)?;
src/run.rs:38:    let value_4 = run(args, 4)?;
src/run.rs:45:    let value_5 = run(args, 5)?;
src/run.rs:52:    let value_6 = run(args, 6)?;
src/run.rs:59:    let value_7 = run(args, 7)?;
src/run.rs:66:    let value_8 = run(args, 8)?;
";

const WARM_DIFF: &str = "commit 0123456789abcdef0123456789abcdef01234567
Author: A <a@example.com>

    Fix the thing

diff --git a/src/a.rs b/src/a.rs
index 1111111..2222222 100644
--- a/src/a.rs
+++ b/src/a.rs
@@ -1,7 +1,7 @@ fn a() {
 one
 two
 three
-four
+FOUR
 five
 six
 seven
diff --git a/Cargo.lock b/Cargo.lock
--- a/Cargo.lock
+++ b/Cargo.lock
@@ -1,2 +1,2 @@
-version = 1
+version = 2
";

const WARM_CODE: &str = "//! A sample.\n//! Two lines.\nuse a::b;\nuse a::c;\nuse d::e;\nuse f::g;\nuse h::i;\nuse j::k;\nuse l::m;\nuse n::o;\nuse p::q;\nuse r::s;\nuse t::u;\n\n/// Runs.\n/// More.\npub fn main() {\n    let x = f(1);\n    let y = g(x);\n    let z = h(y);\n    let w = compute_the_next_value(x, y, z);\n    let v = compute_the_next_value(w, y, z);\n    let u = compute_the_next_value(v, w, z);\n    println!(\"{x} {y} {z} {w} {v} {u}\");\n}\n";

const WARM_PROSE: &str = "# Tool [![ci](https://ci.example.com/badge.svg)](https://ci.example.com)

Tool does one thing. It does it well, and this sentence runs on for a while to be an opening.

## Install

Run the installer. Then check the version.

```rust
fn main() {
    let a = 1;
    let b = 2;
    let c = 3;
    let d = 4;
    let e = 5;
    let f = 6;
    println!(\"{}\", a + b + c + d + e + f);
}
```

Usage
-----

<p align=\"center\"><img src=\"logo.png\"></p>

See [the docs][docs].

[docs]: https://example.com/docs
";

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
            kind: detect(input).kind,
            language: None,
            outcome: Err(Declined::other(
                "internal error in the compressor; the input goes out unchanged",
            )),
        });
        (counter.input_tokens(), result)
    });
    let passthrough =
        |reason: String, json: Option<JsonDetails>, text: Option<TextDetails>| Report {
            output: input.to_string(),
            kind: result.kind,
            strategy: "passthrough",
            tokens_before,
            tokens_after: tokens_before,
            lossless: true,
            ccr_keys: Vec::new(),
            reason: Some(reason),
            language: result.language,
            json,
            text,
            elapsed_us: 0,
        };
    let mut report = match result.outcome {
        Ok(c) if c.tokens < tokens_before => Report {
            output: c.output,
            kind: result.kind,
            strategy: c.strategy,
            tokens_before,
            tokens_after: c.tokens,
            lossless: c.lossless,
            ccr_keys: c.keys,
            reason: c.reason,
            language: result.language,
            json: c.json,
            text: c.text,
            elapsed_us: 0,
        },
        Ok(c) => {
            let larger = format!(
                "no candidate was smaller than the input ({} >= {tokens_before} tokens)",
                c.tokens
            );
            let reason = match c.reason {
                Some(fallback) => format!("{fallback}; {larger}"),
                None => larger,
            };
            passthrough(reason, c.json, c.text)
        }
        Err(declined) => passthrough(declined.reason, None, None),
    };
    report.elapsed_us = started.elapsed().as_micros() as u64;
    report
}

/// Why a compressor made nothing.
#[derive(Debug, Clone)]
pub(crate) struct Declined {
    /// In words, for the report.
    pub(crate) reason: String,
    /// The store did not take what would have been dropped.
    pub(crate) store: bool,
}

impl Declined {
    pub(crate) fn other(reason: impl Into<String>) -> Declined {
        Declined {
            reason: reason.into(),
            store: false,
        }
    }

    fn store(e: impl std::fmt::Display) -> Declined {
        Declined {
            reason: format!("the store did not take what would have been dropped ({e})"),
            store: true,
        }
    }
}

/// A text compressor's outcome as a candidate.
fn text_candidate(ctx: &Context, r: Result<TextOutcome, TextError>) -> Result<Candidate, Declined> {
    match r {
        Ok(o) => Ok(Candidate {
            tokens: ctx.counter.count(&o.output),
            output: o.output,
            strategy: o.strategy,
            lossless: false,
            keys: o.ccr_keys.iter().map(|k| k.to_string()).collect(),
            json: None,
            text: Some(o.details),
            reason: None,
        }),
        Err(TextError::Store(e)) => Err(Declined::store(e.0)),
        Err(e) => Err(Declined::other(e.to_string())),
    }
}

/// Compresses `input` with the compressor of `kind`.
pub(crate) fn compress_as(
    kind: Kind,
    language: Option<Language>,
    input: &str,
    ctx: &Context,
) -> Result<Candidate, Declined> {
    let text_candidate = |r| text_candidate(ctx, r);
    match kind {
        Kind::Json => match compress_json(input, ctx) {
            Ok(o) => Ok(Candidate {
                output: o.output,
                strategy: o.strategy,
                tokens: o.tokens,
                lossless: o.lossless,
                keys: o.ccr_keys.iter().map(|k| k.to_string()).collect(),
                json: Some(o.details),
                text: None,
                reason: None,
            }),
            Err(e @ (JsonError::NotJson(_) | JsonError::Unverified)) => {
                Err(Declined::other(e.to_string()))
            }
            Err(JsonError::Store(e)) => Err(Declined::store(e.0)),
        },
        Kind::Log => text_candidate(text::log::compress_log(input, ctx)),
        Kind::Search => text_candidate(text::search::compress_search(input, ctx)),
        Kind::Diff => text_candidate(text::diff::compress_diff(input, ctx)),
        Kind::Prose => {
            let fallback = match ctx.free_text {
                _ if ctx.lossless_only => None,
                FreeText::Deterministic => None,
                FreeText::Unavailable(why) => Some(why.clone()),
                FreeText::Model(model) => match model.compress(input, ctx) {
                    Ok(o) => return text_candidate(Ok(o)),
                    Err(e) => Some(format!("{}: {e}", model.name())),
                },
            };
            let candidate = text_candidate(text::prose::compress_prose(input, ctx));
            match (candidate, fallback) {
                (Ok(mut c), Some(why)) => {
                    c.reason = Some(format!(
                        "{why}; the deterministic prose compressor was used"
                    ));
                    Ok(c)
                }
                (Err(e), Some(why)) => Err(Declined {
                    reason: format!("{why}; the deterministic prose compressor: {}", e.reason),
                    store: e.store,
                }),
                (candidate, None) => candidate,
            }
        }
        Kind::Code => text_candidate(text::code::compress_code(input, language, ctx)),
        Kind::Paths => text_candidate(text::paths::compress_paths(input, ctx)),
        Kind::Config => text_candidate(text::config::compress_config(input, ctx)),
        Kind::GitLog => text_candidate(text::gitlog::compress_gitlog(input, ctx)),
        Kind::Table => text_candidate(text::table::compress_table(input, ctx)),
        Kind::Tests | Kind::Lines => text_candidate(text::lines::compress_lines(input, ctx)),
    }
}

/// What one compressor made of the input.
pub(crate) struct Candidate {
    pub(crate) output: String,
    pub(crate) strategy: &'static str,
    pub(crate) tokens: usize,
    pub(crate) lossless: bool,
    pub(crate) keys: Vec<String>,
    pub(crate) json: Option<JsonDetails>,
    pub(crate) text: Option<TextDetails>,
    /// Why a fallback was taken on the way to this candidate.
    pub(crate) reason: Option<String>,
}

struct Routed {
    kind: Kind,
    language: Option<Language>,
    outcome: Result<Candidate, Declined>,
}

fn route(
    input: &str,
    opts: &Options,
    query: &Query,
    counter: &Counter,
    store: &dyn Store,
) -> Routed {
    let mut detected = match opts.kind {
        Some(Kind::Code) => crate::detect::Detected {
            kind: Kind::Code,
            language: detect(input)
                .language
                .or_else(|| Some(crate::detect::language_of(input))),
        },
        Some(kind) => crate::detect::Detected {
            kind,
            language: None,
        },
        None => detect(input),
    };
    let ctx = Context {
        query,
        budget: opts.budget,
        counter,
        store,
        namespace: &opts.namespace,
        free_text: &opts.free_text,
        lossless_only: opts.lossless_only,
    };
    let by_kind = |detected: &crate::detect::Detected, ctx: &Context| match detected.kind {
        Kind::Log | Kind::Prose => match crate::mixed::split(input, detected.kind) {
            Some(split) => {
                crate::mixed::compress(input, detected.kind, &split, ctx, opts.tokenizer)
                    .or_else(|_| compress_as(detected.kind, None, input, ctx))
            }
            None => compress_as(detected.kind, None, input, ctx),
        },
        kind => compress_as(kind, detected.language, input, ctx),
    };
    let mut outcome = by_kind(&detected, &ctx);
    // Text that only starts like JSON (`[    0.800s] Compiling ...`) is routed as text.
    let not_json = matches!(&outcome, Err(e) if e.reason.starts_with(crate::json::parse::NOT_JSON));
    if opts.kind.is_none() && detected.kind == Kind::Json && not_json {
        let text = crate::detect::detect_text(input);
        let text_outcome = by_kind(&text, &ctx);
        if text_outcome.is_ok() {
            detected = text;
            outcome = text_outcome;
        }
    }
    // A store that cannot take what would be dropped leaves only lossless results.
    if let Err(d) = &outcome {
        if d.store && !ctx.lossless_only {
            let lossless = Context {
                lossless_only: true,
                ..ctx
            };
            outcome = match by_kind(&detected, &lossless) {
                Ok(mut c) => {
                    c.reason = Some(format!(
                        "{}: nothing could be dropped, so only lossless compression was tried ({} tokens, budget {})",
                        d.reason, c.tokens, ctx.budget
                    ));
                    Ok(c)
                }
                Err(_) => Err(Declined {
                    reason: format!(
                        "{}: nothing could be dropped, and no lossless form is smaller, so the input goes out unchanged",
                        d.reason
                    ),
                    store: true,
                }),
            };
        }
    }
    let outcome = cap(input, detected.kind, outcome, &ctx);
    Routed {
        kind: detected.kind,
        language: detected.language,
        outcome,
    }
}

/// The budget is a cap: an input over it that its kind's compressor could not bring under it
/// is shown as lines ([`text::lines`]), which always fits. Only in lossless-only mode, or when
/// the store cannot take what would be dropped, does the output stay over the budget, and the
/// reason says so.
fn cap(
    input: &str,
    kind: Kind,
    outcome: Result<Candidate, Declined>,
    ctx: &Context,
) -> Result<Candidate, Declined> {
    let over = |tokens: usize| tokens > ctx.budget;
    let why = match &outcome {
        Ok(c) if !over(c.tokens) => return outcome,
        Ok(c) => format!(
            "the {} compressor's output ({} tokens) was over the budget",
            kind.name(),
            c.tokens
        ),
        Err(d) if d.store => return outcome,
        Err(d) => d.reason.clone(),
    };
    if ctx.lossless_only || ctx.counter.input_up_to(ctx.budget).is_some() {
        return match outcome {
            Ok(mut c) if ctx.lossless_only => {
                c.reason = Some(format!(
                    "lossless only: {} tokens, over the budget of {}",
                    c.tokens, ctx.budget
                ));
                Ok(c)
            }
            other => other,
        };
    }
    match text_candidate(
        ctx,
        text::lines::compress_lines_capped(input, ctx, kind.name()),
    ) {
        Ok(mut c) => {
            c.reason = Some(format!("{why}; shown as lines to hold the budget"));
            Ok(c)
        }
        Err(d) if d.store => Err(d),
        Err(_) => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every compressor runs on its warm-up sample without an internal error (a pattern that
    /// does not compile, a panic) being hidden by the fail-open guard.
    #[test]
    fn text_that_only_starts_like_json_is_compressed_as_text() {
        let log: String = (0..300)
            .map(|i| {
                format!(
                    "{{worker {}}} 2026-11-24T10:00:{:02}Z INFO job {i} done\n",
                    i % 4,
                    i % 60
                )
            })
            .collect();
        let r = compress(
            &log,
            &Options::default(),
            &crate::ccr::MemoryStore::default(),
        );
        assert_eq!(r.kind, Kind::Log);
        assert!(r.tokens_after * 4 < r.tokens_before, "{:?}", r.reason);
    }

    #[test]
    fn every_compressor_runs_cleanly() {
        let store = crate::ccr::MemoryStore::default();
        let json = warm_sample();
        for (text, kind) in [
            (json.as_str(), Kind::Json),
            (WARM_LOG, Kind::Log),
            (WARM_SEARCH, Kind::Search),
            (WARM_DIFF, Kind::Diff),
            (WARM_CODE, Kind::Code),
            (WARM_PROSE, Kind::Prose),
        ] {
            let opts = Options {
                budget: 10,
                kind: Some(kind),
                query: "errors in `connect`".into(),
                ..Options::default()
            };
            let r = compress(text, &opts, &store);
            let reason = r.reason.unwrap_or_default();
            assert!(!reason.contains("internal error"), "{kind:?}: {reason}");
            assert_eq!(r.kind, kind);
            assert_ne!(r.strategy, "passthrough", "{kind:?}: {reason}");
        }
        // The prose sample goes through the mixed-content path and holds the budget.
        let opts = Options {
            budget: 140,
            query: "how to install".into(),
            ..Options::default()
        };
        let r = compress(WARM_PROSE, &opts, &store);
        assert_eq!(r.kind, Kind::Prose, "{r:?}");
        assert!(
            r.tokens_after <= 140 && r.strategy != "passthrough",
            "{r:?}"
        );
    }
}
