//! Message-level compression: the tool outputs inside an Anthropic Messages, OpenAI Chat
//! Completions or OpenAI Responses request body, compressed in place.
//!
//! Only tool output is compressed. User and assistant text, system prompts, thinking blocks,
//! images, tool calls and tool definitions are left alone, byte for byte (`cache_control`
//! marks on them included), and so is every tool output that the [`Policy`] protects (tools
//! whose output is used for exact edits, such as file reads) or that is too small to be worth
//! it. A tool output carrying `cache_control` keeps its mark; its text is compressed the first
//! time it is seen unless the policy says otherwise (see [`Policy::keep_cache_control_outputs`]).
//!
//! **Byte-faithful.** The body is never re-serialised: each compressed output's JSON string is
//! spliced into the client's bytes in place of the old one, so key order, spacing and number
//! spelling stay as sent. When nothing changes the caller gets `None` and forwards the
//! client's exact bytes.
//!
//! **Cache-safe.** Prompt caches key on the exact prefix of a request, so an output must be
//! sent the same way on every turn. Compression is deterministic and the query of an output is
//! built only from what precedes it (see [`view`]); on top of that a [`Memo`] remembers each
//! decision, so an output first sent whole (because it carried `cache_control`, or the
//! deadline had passed) stays whole on later turns, and a compressed one is not compressed
//! again. Outputs sent whole for such reasons are also recorded in the store, so the decision
//! survives a restart.

pub mod hidden;
mod memo;
pub mod retrieve;
mod splice;
pub mod view;

pub use memo::Memo;

use crate::ccr::Store;
use crate::detect::Kind;
use crate::route::{compress, Options};
use crate::tokens::Tokenizer;
use memo::Decision;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The request format of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// Anthropic Messages (`POST /v1/messages`).
    Anthropic,
    /// OpenAI Chat Completions (`POST /v1/chat/completions`).
    OpenAiChat,
    /// OpenAI Responses (`POST /v1/responses`).
    OpenAiResponses,
}

impl Api {
    /// A short name for reports and errors.
    pub fn name(self) -> &'static str {
        match self {
            Api::Anthropic => "anthropic_messages",
            Api::OpenAiChat => "openai_chat",
            Api::OpenAiResponses => "openai_responses",
        }
    }
}

/// Tools whose output an agent uses for exact edits: a compressed file read would make the
/// agent's next edit miss. Matched case-insensitively, also as the last `__` part of an MCP
/// name (`mcp__filesystem__read_file`).
pub const EXACT_CONTENT_TOOLS: &[&str] = &[
    "read",
    "read_file",
    "read_text_file",
    "read_multiple_files",
    "notebookread",
    "view",
    "str_replace_editor",
    "str_replace_based_edit_tool",
    "text_editor",
];

/// What to do with one tool's output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRule {
    /// Compress its output (`false`: always send it whole).
    #[serde(default = "yes")]
    pub compress: bool,
    /// Token budget for its output instead of the policy's.
    #[serde(default)]
    pub budget: Option<usize>,
    /// What its output is (`search` for a grep tool, `paths` for a glob tool), instead of
    /// detecting it: the tool's name is surer than a look at the first lines.
    #[serde(default)]
    pub kind: Option<Kind>,
}

fn yes() -> bool {
    true
}

/// Which tool outputs are compressed and how hard.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Outputs smaller than this many bytes are sent whole.
    pub min_bytes: usize,
    /// Token budget of one output (see [`crate::DEFAULT_BUDGET`]).
    pub budget: usize,
    /// Protect the outputs of [`EXACT_CONTENT_TOOLS`] (a rule in `tools` overrides this).
    pub protect_exact_content: bool,
    /// Send tool outputs that carry `cache_control` whole. Off by default: clients such as
    /// Claude Code mark the newest block, often a tool result, and the cache is then written
    /// with whatever is sent, so compressing an output the first time it is seen is cache-safe
    /// (and it is sent the same way on every later turn). On, such an output is never
    /// compressed, and stays whole on later turns when the mark has moved on.
    pub keep_cache_control_outputs: bool,
    /// Rules by tool name (matched like [`EXACT_CONTENT_TOOLS`]).
    pub tools: BTreeMap<String, ToolRule>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_bytes: 512,
            budget: crate::route::DEFAULT_BUDGET,
            protect_exact_content: true,
            keep_cache_control_outputs: false,
            tools: BTreeMap::new(),
        }
    }
}

/// `name` as a policy key: lowercased, and for an MCP tool (`mcp__server__tool`) the last part.
fn tool_key(name: &str) -> String {
    let base = name.rsplit("__").next().unwrap_or(name);
    base.to_lowercase()
}

/// What the policy says about one tool's output.
#[derive(Debug, Default)]
struct Applied {
    /// Its budget, when the tool has its own.
    budget: Option<usize>,
    /// Its kind, when the tool's rule names one.
    kind: Option<Kind>,
    /// Why it is sent whole, if it is.
    whole: Option<String>,
}

impl Policy {
    /// The rule for `tool`.
    fn rule(&self, tool: Option<&str>) -> Applied {
        let whole = |reason: String| Applied {
            whole: Some(reason),
            ..Applied::default()
        };
        let Some(name) = tool else {
            return Applied::default();
        };
        if name == retrieve::TOOL_NAME {
            return whole("retrieved on the model's request".into());
        }
        let key = tool_key(name);
        let rule = self
            .tools
            .iter()
            .find(|(k, _)| k.as_str() == name || tool_key(k) == key);
        match rule {
            Some((_, r)) if !r.compress => whole(format!("policy: {name} is sent whole")),
            Some((_, r)) => Applied {
                budget: r.budget,
                kind: r.kind,
                whole: None,
            },
            None if self.protect_exact_content && EXACT_CONTENT_TOOLS.contains(&key.as_str()) => {
                whole(format!(
                    "protected: {name} returns exact content the agent may edit"
                ))
            }
            None => Applied::default(),
        }
    }
}

/// Where and until when one request is compressed.
pub struct Session<'a> {
    /// Where dropped parts go.
    pub store: &'a dyn Store,
    /// The store namespace (in the proxy: one per API key).
    pub namespace: &'a str,
    /// Decisions of earlier requests.
    pub memo: &'a Memo,
    /// Past this instant, outputs not yet compressed are sent whole.
    pub deadline: Option<Instant>,
    /// Set when the client has gone: the remaining outputs are not compressed.
    pub cancelled: Option<&'a AtomicBool>,
    /// Tokenizer for counting.
    pub tokenizer: Tokenizer,
    /// What compresses free text (see [`Options::free_text`]).
    pub free_text: crate::FreeText,
}

/// What happened to one tool output.
#[derive(Debug, Clone, Serialize)]
pub struct OutputReport {
    /// Index of the message (or Responses input item) holding it.
    pub message: usize,
    /// The tool that produced it, when known.
    pub tool: Option<String>,
    /// `compressed` or `whole`.
    pub action: &'static str,
    /// Kind detected, when it was compressed.
    pub kind: Option<Kind>,
    /// Strategy used, when it was compressed.
    pub strategy: Option<&'static str>,
    /// Tokens of the output as sent by the client.
    pub tokens_before: usize,
    /// Tokens as sent upstream.
    pub tokens_after: usize,
    /// Keys of the dropped parts.
    pub ccr_keys: Vec<String>,
    /// Why it was sent whole.
    pub reason: Option<String>,
    /// The decision was taken on an earlier request (and reused).
    pub remembered: bool,
}

/// What happened to one request.
#[derive(Debug, Clone, Serialize)]
pub struct MessagesReport {
    /// The request format.
    pub api: Api,
    /// One entry per tool output.
    pub outputs: Vec<OutputReport>,
    /// Tokens of all tool outputs as sent by the client.
    pub tokens_before: usize,
    /// Tokens of all tool outputs as sent upstream.
    pub tokens_after: usize,
    /// Why the body was left alone as a whole (not JSON of the API, bypass).
    pub reason: Option<String>,
    /// The body sent upstream holds `<<ccr:` markers (so retrieval makes sense).
    pub markers: bool,
}

impl MessagesReport {
    fn whole(api: Api, reason: String, body: &[u8]) -> MessagesReport {
        MessagesReport {
            api,
            outputs: Vec::new(),
            tokens_before: 0,
            tokens_after: 0,
            reason: Some(reason),
            markers: retrieve::has_markers(body),
        }
    }
}

/// The result of [`compress_messages`].
#[derive(Debug)]
pub struct Compressed {
    /// The new body, or `None` when the client's bytes go upstream unchanged.
    pub body: Option<Vec<u8>>,
    /// What was done.
    pub report: MessagesReport,
}

/// Compresses the tool outputs of a request body. Never fails: a body that cannot be read is
/// left alone and the report says why.
pub fn compress_messages(api: Api, body: &[u8], policy: &Policy, session: &Session) -> Compressed {
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(_) => {
            return Compressed {
                body: None,
                report: MessagesReport::whole(api, "the body is not UTF-8".into(), body),
            }
        }
    };
    let view = match view::view(api, text) {
        Ok(v) => v,
        Err(e) => {
            return Compressed {
                body: None,
                report: MessagesReport::whole(api, e.to_string(), body),
            }
        }
    };
    let mut outputs = Vec::with_capacity(view.outputs.len());
    let mut edits = Vec::new();
    for out in &view.outputs {
        let (decision, remembered) = decide(out, policy, session);
        let report = decision.report(out, remembered);
        if let Decision::Compressed { json, .. } = &*decision {
            edits.push((out.span.clone(), json.clone()));
        }
        outputs.push(report);
    }
    let new_body = (!edits.is_empty()).then(|| splice::splice(body, &edits));
    let sent = new_body.as_deref().unwrap_or(body);
    let report = MessagesReport {
        api,
        tokens_before: outputs.iter().map(|o| o.tokens_before).sum(),
        tokens_after: outputs.iter().map(|o| o.tokens_after).sum(),
        outputs,
        reason: None,
        markers: retrieve::has_markers(sent),
    };
    Compressed {
        body: new_body,
        report,
    }
}

/// Why an output carrying `cache_control` is sent whole.
const CACHE_CONTROL: &str = "it carries cache_control";

/// Decides one output: from the memo, from the store's record of outputs sent whole, or now.
fn decide(
    out: &view::ToolOutput,
    policy: &Policy,
    session: &Session,
) -> (std::sync::Arc<Decision>, bool) {
    let rule = policy.rule(out.tool.as_deref());
    let budget = rule.budget.unwrap_or(policy.budget);
    let id = memo::id(session.namespace, out, budget, rule.kind, session.tokenizer);
    if let Some(d) = session.memo.get(&id) {
        return (d, true);
    }
    if let Some(reason) = memo::was_sent_whole(session.store, session.namespace, &id) {
        let tokens = count(session.tokenizer, out.raw);
        let d = session.memo.put(id, Decision::Whole { reason, tokens });
        return (d, true);
    }
    let tokens = || count(session.tokenizer, out.raw);
    // Reasons that depend on the request rather than the output are recorded durably: the
    // same output on a later turn must go out the same way.
    let durable = |reason: String| {
        memo::record_sent_whole(session.store, session.namespace, &id, &reason);
        Decision::Whole {
            reason,
            tokens: tokens(),
        }
    };
    let decision = if let Some(reason) = rule.whole {
        Decision::Whole {
            reason,
            tokens: tokens(),
        }
    } else if out.cache_control && policy.keep_cache_control_outputs {
        durable(CACHE_CONTROL.into())
    } else if out.raw.len() < policy.min_bytes {
        Decision::Whole {
            reason: format!("smaller than {} bytes", policy.min_bytes),
            tokens: tokens(),
        }
    } else if session.cancelled.is_some_and(|c| c.load(Ordering::Relaxed)) {
        // Nothing is sent for a cancelled request: no decision to remember.
        return (
            std::sync::Arc::new(Decision::Whole {
                reason: "the client went away".into(),
                tokens: 0,
            }),
            false,
        );
    } else if session.deadline.is_some_and(|d| Instant::now() >= d) {
        durable("the request's compression deadline had passed".into())
    } else {
        compress_output(out, budget, rule.kind, session)
    };
    (session.memo.put(id, decision), false)
}

fn count(tokenizer: Tokenizer, raw: &str) -> usize {
    let text = serde_json::from_str::<String>(raw).unwrap_or_default();
    tokenizer.count(&text)
}

fn compress_output(
    out: &view::ToolOutput,
    budget: usize,
    kind: Option<Kind>,
    session: &Session,
) -> Decision {
    let Ok(text) = serde_json::from_str::<String>(out.raw) else {
        return Decision::Whole {
            reason: "the output is not a valid JSON string".into(),
            tokens: 0,
        };
    };
    let opts = Options {
        query: out.query.clone(),
        kind,
        budget,
        tokenizer: session.tokenizer,
        namespace: session.namespace.to_string(),
        free_text: session.free_text.clone(),
        lossless_only: false,
    };
    let report = compress(&text, &opts, session.store);
    if report.strategy == "passthrough" {
        return Decision::Whole {
            reason: report.reason.unwrap_or_else(|| "nothing to gain".into()),
            tokens: report.tokens_before,
        };
    }
    let json = serde_json::to_string(&report.output).expect("a string serialises");
    if json.len() >= out.raw.len() && report.tokens_after >= report.tokens_before {
        return Decision::Whole {
            reason: "no smaller".into(),
            tokens: report.tokens_before,
        };
    }
    Decision::Compressed {
        json,
        kind: report.kind,
        strategy: report.strategy,
        tokens_before: report.tokens_before,
        tokens_after: report.tokens_after,
        keys: report.ccr_keys,
    }
}

impl Decision {
    fn report(&self, out: &view::ToolOutput, remembered: bool) -> OutputReport {
        let mut r = OutputReport {
            message: out.message,
            tool: out.tool.clone(),
            action: "whole",
            kind: None,
            strategy: None,
            tokens_before: 0,
            tokens_after: 0,
            ccr_keys: Vec::new(),
            reason: None,
            remembered,
        };
        match self {
            Decision::Whole { reason, tokens } => {
                r.tokens_before = *tokens;
                r.tokens_after = *tokens;
                r.reason = Some(reason.clone());
            }
            Decision::Compressed {
                kind,
                strategy,
                tokens_before,
                tokens_after,
                keys,
                ..
            } => {
                r.action = "compressed";
                r.kind = Some(*kind);
                r.strategy = Some(strategy);
                r.tokens_before = *tokens_before;
                r.tokens_after = *tokens_after;
                r.ccr_keys = keys.clone();
            }
        }
        r
    }
}

#[cfg(test)]
mod tests;
