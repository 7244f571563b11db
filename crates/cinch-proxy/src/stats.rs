//! What the proxy has done: counters for `/stats` (JSON) and `/metrics` (Prometheus text).

use cinch_core::messages::MessagesReport;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::Mutex;

/// How many recent requests `/stats` lists.
const RECENT: usize = 100;

/// One request, as `/stats` lists it. No content and no credentials.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// Sequence number since start.
    pub id: u64,
    /// `anthropic_messages`, `openai_chat`, `openai_responses` or `passthrough`.
    pub api: &'static str,
    /// Upstream status (0 when the upstream could not be reached).
    pub status: u16,
    /// Tokens of the tool outputs as the client sent them.
    pub tokens_before: usize,
    /// Tokens of the tool outputs as sent upstream.
    pub tokens_after: usize,
    /// Tool outputs compressed / left whole.
    pub compressed: usize,
    /// Tool outputs left whole.
    pub whole: usize,
    /// Time spent compressing, in microseconds.
    pub compress_us: u64,
    /// Retrieval calls the proxy answered.
    pub retrievals: usize,
}

#[derive(Debug, Default, Clone, Serialize)]
struct ByStrategy {
    outputs: u64,
    tokens_before: u64,
    tokens_after: u64,
}

#[derive(Debug, Default, Serialize)]
struct Totals {
    requests: u64,
    requests_by_api: BTreeMap<&'static str, u64>,
    tokens_before: u64,
    tokens_after: u64,
    outputs_compressed: u64,
    outputs_whole: u64,
    by_kind_and_strategy: BTreeMap<String, ByStrategy>,
    upstream_errors: u64,
    rejected_too_large: u64,
    compression_deadline_misses: u64,
    retrievals: u64,
    retrieval_rounds: u64,
    compress_us: u64,
}

/// The proxy's counters.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<(Totals, VecDeque<RequestRecord>)>,
}

impl Stats {
    fn with<R>(&self, f: impl FnOnce(&mut Totals, &mut VecDeque<RequestRecord>) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (t, r) = &mut *g;
        f(t, r)
    }

    /// Records a finished request and returns its record.
    pub fn request(
        &self,
        api: &'static str,
        status: u16,
        report: Option<&MessagesReport>,
        compress_us: u64,
        retrievals: usize,
        rounds: usize,
    ) -> RequestRecord {
        self.with(|t, recent| {
            t.requests += 1;
            *t.requests_by_api.entry(api).or_default() += 1;
            t.compress_us += compress_us;
            t.retrievals += retrievals as u64;
            t.retrieval_rounds += rounds as u64;
            if status == 0 {
                t.upstream_errors += 1;
            }
            let mut rec = RequestRecord {
                id: t.requests,
                api,
                status,
                tokens_before: 0,
                tokens_after: 0,
                compressed: 0,
                whole: 0,
                compress_us,
                retrievals,
            };
            if let Some(r) = report {
                rec.tokens_before = r.tokens_before;
                rec.tokens_after = r.tokens_after;
                t.tokens_before += r.tokens_before as u64;
                t.tokens_after += r.tokens_after as u64;
                for o in &r.outputs {
                    if o.action == "compressed" {
                        rec.compressed += 1;
                        let kind = o.kind.map(|k| format!("{k:?}").to_lowercase());
                        let key = format!(
                            "{}/{}",
                            kind.unwrap_or_default(),
                            o.strategy.unwrap_or_default()
                        );
                        let e = t.by_kind_and_strategy.entry(key).or_default();
                        e.outputs += 1;
                        e.tokens_before += o.tokens_before as u64;
                        e.tokens_after += o.tokens_after as u64;
                    } else {
                        rec.whole += 1;
                        if o.reason.as_deref().is_some_and(|r| r.contains("deadline")) {
                            t.compression_deadline_misses += 1;
                        }
                    }
                }
                t.outputs_compressed += rec.compressed as u64;
                t.outputs_whole += rec.whole as u64;
            }
            // One line per request: numbers only, never content or credentials.
            tracing::info!(
                id = rec.id,
                api,
                status,
                tokens_before = rec.tokens_before,
                tokens_after = rec.tokens_after,
                compressed = rec.compressed,
                whole = rec.whole,
                compress_us,
                retrievals,
                "request"
            );
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(rec.clone());
            rec
        })
    }

    /// Counts a body refused for its size.
    pub fn too_large(&self) {
        self.with(|t, _| t.rejected_too_large += 1);
    }

    /// `/stats`: the totals and the recent requests.
    pub fn json(&self, store: serde_json::Value) -> serde_json::Value {
        self.with(|t, recent| {
            serde_json::json!({
                "totals": &*t,
                "recent": recent.iter().collect::<Vec<_>>(),
                "store": store,
            })
        })
    }

    /// `/metrics`: Prometheus text exposition format.
    pub fn prometheus(&self) -> String {
        self.with(|t, _| {
            let mut out = String::new();
            let mut counter = |name: &str, help: &str, samples: &[(String, u64)]| {
                let _ = writeln!(
                    out,
                    "# HELP cinch_{name} {help}\n# TYPE cinch_{name} counter"
                );
                for (labels, v) in samples {
                    let _ = writeln!(out, "cinch_{name}{labels} {v}");
                }
            };
            let plain = |v: u64| vec![(String::new(), v)];
            let by_api: Vec<(String, u64)> = t
                .requests_by_api
                .iter()
                .map(|(api, n)| (format!("{{api=\"{api}\"}}"), *n))
                .collect();
            counter("requests_total", "Requests handled.", &by_api);
            counter(
                "tokens_before_total",
                "Tokens of tool outputs as clients sent them.",
                &plain(t.tokens_before),
            );
            counter(
                "tokens_after_total",
                "Tokens of tool outputs as sent upstream.",
                &plain(t.tokens_after),
            );
            let by_strategy = |f: fn(&ByStrategy) -> u64| -> Vec<(String, u64)> {
                t.by_kind_and_strategy
                    .iter()
                    .map(|(k, s)| {
                        let (kind, strategy) = k.split_once('/').unwrap_or((k, ""));
                        (format!("{{kind=\"{kind}\",strategy=\"{strategy}\"}}"), f(s))
                    })
                    .collect()
            };
            counter(
                "outputs_compressed_total",
                "Tool outputs compressed, by kind and strategy.",
                &by_strategy(|s| s.outputs),
            );
            counter(
                "outputs_whole_total",
                "Tool outputs sent as the client sent them.",
                &plain(t.outputs_whole),
            );
            counter(
                "upstream_errors_total",
                "Requests whose upstream could not be reached.",
                &plain(t.upstream_errors),
            );
            counter(
                "rejected_too_large_total",
                "Request bodies refused for their size.",
                &plain(t.rejected_too_large),
            );
            counter(
                "compression_deadline_misses_total",
                "Tool outputs sent whole because the compression deadline had passed.",
                &plain(t.compression_deadline_misses),
            );
            counter(
                "retrievals_total",
                "Retrieval calls answered by the proxy.",
                &plain(t.retrievals),
            );
            counter(
                "compress_seconds_total",
                "Time spent compressing requests (whole seconds).",
                &plain(t.compress_us / 1_000_000),
            );
            out
        })
    }
}
