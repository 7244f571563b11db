//! Talking to the upstream: one exchange, or several when the model calls the retrieval tool.
//!
//! Without the retrieval tool the response is relayed untouched as it arrives. With it, the
//! proxy reads what the model says: a whole JSON response is checked for retrieval calls; an
//! Anthropic SSE stream is relayed event by event except the retrieval tool's own blocks, and
//! when the model stops to call it the proxy answers from the store, asks the upstream to go
//! on, and relays the continuation inside the same stream (block indices shifted, the second
//! `message_start` left out), so the client sees one message and never the tool.

use crate::forward::{self, Outbound};
use crate::sse;
use crate::Proxy;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cinch_core::messages::retrieve::{self, Call};
use cinch_core::messages::Api;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Whether the proxy can take retrieval calls out of this request's responses: any whole JSON
/// response, and Anthropic streams. (OpenAI streams are relayed untouched, so the tool is not
/// offered there.)
pub fn can_retrieve(api: Api, body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Stream {
        #[serde(default)]
        stream: Option<Value>,
    }
    let streaming = serde_json::from_slice::<Stream>(body)
        .ok()
        .and_then(|s| s.stream)
        .is_some_and(|v| v == Value::Bool(true));
    api == Api::Anthropic || !streaming
}

async fn send(p: &Proxy, out: &Outbound, body: Bytes) -> Result<reqwest::Response, reqwest::Error> {
    let request = || {
        p.client
            .request(out.method.clone(), &out.url)
            .headers(out.headers.clone())
            .body(body.clone())
    };
    match request().send().await {
        // Nothing reached the upstream when the connection failed: trying again is safe.
        Err(e) if e.is_connect() => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            request().send().await
        }
        other => other,
    }
}

/// Sends the request and answers the client.
pub async fn exchange(p: Arc<Proxy>, out: Outbound, label: &'static str) -> Response {
    let resp = match send(&p, &out, out.body.clone()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(api = label, error = %e, "upstream unreachable");
            p.stats
                .request(label, 0, out.report.as_ref(), out.compress_us, 0, 0);
            return forward::unreachable(out.api, &e);
        }
    };
    let status = resp.status();
    let sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    match (out.api, out.retrieval && status.is_success()) {
        (Some(api), true) if sse && api == Api::Anthropic => anthropic_stream(p, out, resp, label),
        (Some(api), true) if !sse => json_rounds(p, out, resp, api, label).await,
        _ => {
            p.stats.request(
                label,
                status.as_u16(),
                out.report.as_ref(),
                out.compress_us,
                0,
                0,
            );
            forward::relay(resp, out.report.as_ref())
        }
    }
}

/// The answers to retrieval calls, looked up off the async threads.
async fn answers(
    p: &Arc<Proxy>,
    namespace: &str,
    calls: Vec<(String, Call)>,
) -> Vec<(String, String)> {
    let p = p.clone();
    let ns = namespace.to_string();
    tokio::task::spawn_blocking(move || {
        calls
            .into_iter()
            .map(|(id, call)| (id, retrieve::answer(&*p.store, &ns, &call)))
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// Whole JSON responses: answer retrieval calls until the model says something else.
async fn json_rounds(
    p: Arc<Proxy>,
    out: Outbound,
    mut resp: reqwest::Response,
    api: Api,
    label: &'static str,
) -> Response {
    let mut body = out.body.clone();
    let (mut rounds, mut answered) = (0, 0);
    loop {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = match forward::read_whole(resp).await {
            Ok(b) => b,
            Err(e) => {
                p.stats.request(
                    label,
                    0,
                    out.report.as_ref(),
                    out.compress_us,
                    answered,
                    rounds,
                );
                return forward_error(api, &e);
            }
        };
        let finish = |bytes: Vec<u8>| {
            p.stats.request(
                label,
                status.as_u16(),
                out.report.as_ref(),
                out.compress_us,
                answered,
                rounds,
            );
            forward::whole(status, &headers, bytes, out.report.as_ref(), answered)
        };
        let calls = match retrieve::calls(api, &bytes) {
            Some(c) if status.is_success() && !c.ours.is_empty() => c,
            _ => return finish(bytes),
        };
        if calls.theirs > 0 || rounds >= p.config.max_retrieval_rounds {
            // The client must not see a tool it did not define.
            let visible = retrieve::without_ours(api, &bytes).unwrap_or(bytes);
            return finish(visible);
        }
        let n = calls.ours.len();
        let results = answers(&p, &out.namespace, calls.ours).await;
        let Some(next) = retrieve::continuation(api, &body, &bytes, &results) else {
            let visible = retrieve::without_ours(api, &bytes).unwrap_or(bytes);
            return finish(visible);
        };
        body = Bytes::from(next);
        rounds += 1;
        answered += n;
        resp = match send(&p, &out, body.clone()).await {
            Ok(r) => r,
            Err(e) => {
                p.stats.request(
                    label,
                    0,
                    out.report.as_ref(),
                    out.compress_us,
                    answered,
                    rounds,
                );
                return forward::unreachable(Some(api), &e);
            }
        };
    }
}

fn forward_error(api: Api, e: &str) -> Response {
    let body = if api == Api::Anthropic {
        json!({"type": "error", "error": {"type": "api_error", "message": format!("cinch proxy: {e}")}})
    } else {
        json!({"error": {"message": format!("cinch proxy: {e}"), "type": "upstream_error"}})
    };
    forward::whole(
        StatusCode::BAD_GATEWAY,
        &HeaderMap::new(),
        body.to_string().into_bytes(),
        None,
        0,
    )
}

/// One round of an Anthropic stream: the blocks as rebuilt from their events.
#[derive(Default)]
struct Round {
    /// Upstream index → the block so far (as in a whole response).
    blocks: BTreeMap<u64, Value>,
    /// Partial JSON of tool inputs, by upstream index.
    inputs: BTreeMap<u64, String>,
    /// Upstream indices of retrieval calls.
    ours: Vec<u64>,
    /// Calls of the client's tools.
    theirs: usize,
    /// Upstream index → index the client sees.
    visible: BTreeMap<u64, u64>,
    /// Events held back until the round's end is known (`message_delta`, `message_stop`).
    held: Vec<Vec<u8>>,
}

impl Round {
    fn apply_delta(&mut self, index: u64, delta: &Value) {
        let Some(block) = self.blocks.get_mut(&index) else {
            return;
        };
        let text = |k: &str| {
            delta
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let append = |block: &mut Value, field: &str, more: String| {
            let cur = block
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            block[field] = Value::String(cur + &more);
        };
        match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => append(block, "text", text("text")),
            Some("thinking_delta") => append(block, "thinking", text("thinking")),
            Some("signature_delta") => block["signature"] = Value::String(text("signature")),
            Some("input_json_delta") => self
                .inputs
                .entry(index)
                .or_default()
                .push_str(&text("partial_json")),
            Some("citations_delta") => {
                if let Some(c) = delta.get("citation") {
                    match block.get_mut("citations").and_then(Value::as_array_mut) {
                        Some(list) => list.push(c.clone()),
                        None => block["citations"] = json!([c]),
                    }
                }
            }
            _ => {}
        }
    }

    fn finish_block(&mut self, index: u64) {
        if let (Some(block), Some(input)) = (self.blocks.get_mut(&index), self.inputs.get(&index)) {
            let parsed = if input.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(input).unwrap_or(json!({}))
            };
            block["input"] = parsed;
        }
    }

    /// The round as a whole response body, for [`retrieve::continuation`].
    fn as_response(&self) -> Vec<u8> {
        let content: Vec<&Value> = self.blocks.values().collect();
        json!({"content": content}).to_string().into_bytes()
    }

    fn calls(&self) -> Vec<(String, Call)> {
        self.ours
            .iter()
            .filter_map(|i| self.blocks.get(i))
            .map(|b| {
                let id = b
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let call =
                    serde_json::from_value::<Call>(b.get("input").cloned().unwrap_or_default())
                        .unwrap_or(Call {
                            key: String::new(),
                            query: None,
                        });
                (id, call)
            })
            .collect()
    }
}

/// What to do with one event of the stream.
enum Step {
    Send(Vec<u8>),
    Skip,
    Hold(Vec<u8>),
}

fn step(ev: sse::Event, round: &mut Round, first: bool, offset: u64) -> Step {
    let name = ev.name.clone().unwrap_or_default();
    let data = || serde_json::from_str::<Value>(&ev.data).ok();
    let reindexed = |data: &mut Value, visible: u64| {
        if data.get("index").and_then(Value::as_u64) == Some(visible) {
            ev.raw.clone()
        } else {
            data["index"] = json!(visible);
            sse::event(&name, &data.to_string())
        }
    };
    match name.as_str() {
        "message_start" if first => Step::Send(ev.raw),
        "message_start" => Step::Skip,
        "content_block_start" => {
            let Some(mut d) = data() else {
                return Step::Send(ev.raw);
            };
            let (Some(index), Some(block)) = (
                d.get("index").and_then(Value::as_u64),
                d.get("content_block").cloned(),
            ) else {
                return Step::Send(ev.raw);
            };
            let is_tool = block.get("type").and_then(Value::as_str) == Some("tool_use");
            let ours =
                is_tool && block.get("name").and_then(Value::as_str) == Some(retrieve::TOOL_NAME);
            round.blocks.insert(index, block);
            if ours {
                round.ours.push(index);
                return Step::Skip;
            }
            round.theirs += usize::from(is_tool);
            let visible = offset + round.visible.len() as u64;
            round.visible.insert(index, visible);
            Step::Send(reindexed(&mut d, visible))
        }
        "content_block_delta" | "content_block_stop" => {
            let Some(mut d) = data() else {
                return Step::Send(ev.raw);
            };
            let Some(index) = d.get("index").and_then(Value::as_u64) else {
                return Step::Send(ev.raw);
            };
            if name == "content_block_delta" {
                if let Some(delta) = d.get("delta") {
                    round.apply_delta(index, delta);
                }
            } else {
                round.finish_block(index);
            }
            match round.visible.get(&index) {
                Some(&visible) => Step::Send(reindexed(&mut d, visible)),
                None if round.ours.contains(&index) => Step::Skip,
                None => Step::Send(ev.raw),
            }
        }
        "message_delta" | "message_stop" if !round.ours.is_empty() => Step::Hold(ev.raw),
        _ => Step::Send(ev.raw),
    }
}

/// Relays an Anthropic stream, answering retrieval calls inside it.
fn anthropic_stream(
    p: Arc<Proxy>,
    out: Outbound,
    first: reqwest::Response,
    label: &'static str,
) -> Response {
    let status = first.status();
    let mut headers = crate::headers::downstream(first.headers(), true);
    forward::report_headers(&mut headers, out.report.as_ref(), 0);
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    tokio::spawn(async move {
        let (rounds, answered) = run_anthropic(&p, &out, first, &tx).await;
        p.stats.request(
            label,
            status.as_u16(),
            out.report.as_ref(),
            out.compress_us,
            answered,
            rounds,
        );
    });
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    let mut r = Response::new(Body::from_stream(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// Returns (rounds continued, calls answered). Stops early when the client is gone (a send
/// fails), which drops the upstream response and so cancels it.
async fn run_anthropic(
    p: &Arc<Proxy>,
    out: &Outbound,
    first: reqwest::Response,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> (usize, usize) {
    let mut resp = first;
    let mut body = out.body.clone();
    let (mut rounds, mut answered, mut offset) = (0usize, 0usize, 0u64);
    let emit = |bytes: Vec<u8>| async move { tx.send(Ok(Bytes::from(bytes))).await.is_ok() };
    let fail = |message: String| {
        let data = json!({"type": "error", "error": {"type": "api_error", "message": message}});
        sse::event("error", &data.to_string())
    };
    loop {
        let mut parser = sse::Parser::default();
        let mut round = Round::default();
        let mut chunks = resp.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let events = match chunk
                .map_err(|e| e.to_string())
                .and_then(|c| parser.feed(&c))
            {
                Ok(evs) => evs,
                Err(e) => {
                    emit(fail(format!("cinch proxy: the upstream stream broke: {e}"))).await;
                    return (rounds, answered);
                }
            };
            for ev in events {
                match step(ev, &mut round, rounds == 0, offset) {
                    Step::Send(bytes) => {
                        if !emit(bytes).await {
                            return (rounds, answered);
                        }
                    }
                    Step::Hold(bytes) => round.held.push(bytes),
                    Step::Skip => {}
                }
            }
        }
        if let Some(rest) = parser.finish() {
            emit(rest.raw).await;
        }
        let continue_round =
            !round.ours.is_empty() && round.theirs == 0 && rounds < p.config.max_retrieval_rounds;
        if !continue_round {
            for bytes in std::mem::take(&mut round.held) {
                if !emit(bytes).await {
                    break;
                }
            }
            return (rounds, answered);
        }
        let calls = round.calls();
        answered += calls.len();
        let results = answers(p, &out.namespace, calls).await;
        let Some(next) =
            retrieve::continuation(Api::Anthropic, &body, &round.as_response(), &results)
        else {
            emit(fail(
                "cinch proxy: could not continue after a retrieval call".into(),
            ))
            .await;
            return (rounds, answered);
        };
        body = Bytes::from(next);
        rounds += 1;
        offset += round.visible.len() as u64;
        resp = match send(p, out, body.clone()).await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                let status = r.status();
                let text = forward::read_whole(r).await.unwrap_or_default();
                let message = format!(
                    "cinch proxy: the upstream answered {status} to the continuation after a retrieval call: {}",
                    String::from_utf8_lossy(&text)
                );
                emit(fail(message)).await;
                return (rounds, answered);
            }
            Err(e) => {
                emit(fail(format!(
                    "cinch proxy: the upstream could not be reached: {e}"
                )))
                .await;
                return (rounds, answered);
            }
        };
    }
}
