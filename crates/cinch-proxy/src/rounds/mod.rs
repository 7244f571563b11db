//! Streams with the retrieval tool in them: relayed event by event, except the retrieval
//! tool's own events. When the model stops only to call it, the proxy answers from the store,
//! asks the upstream to go on, and relays the continuation inside the same stream, so the
//! client sees one response and never the tool. Each API has its own [`Filter`].

mod anthropic;
mod chat;
mod responses;

use crate::forward::{self, Outbound};
use crate::sse;
use crate::stream::{answers, send};
use crate::Proxy;
use axum::body::{Body, Bytes};
use axum::response::Response;
use cinch_core::messages::retrieve::{self, Call};
use cinch_core::messages::Api;
use futures_util::StreamExt;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What lasts from one round to the next.
#[derive(Default)]
pub(crate) struct Carry {
    /// Rounds finished before this one.
    pub round: usize,
    /// Output positions (blocks, items) the client has already been given.
    pub offset: u64,
    /// The next sequence number the client should see (Responses).
    pub seq: u64,
    /// Output items of earlier rounds the client was given (Responses).
    pub earlier: Vec<Value>,
}

/// What to do with one event.
pub(crate) enum Step {
    /// Relay these bytes now.
    Send(Vec<u8>),
    /// Drop it (it belongs to the retrieval tool, or repeats the start of the response).
    Skip,
    /// Keep it until the round's end shows whether the response goes on (its end events).
    Hold(Vec<u8>),
}

/// One API's view of one round of a stream.
pub(crate) trait Filter: Default + Send + 'static {
    /// The API.
    const API: Api;
    /// Decides what happens to `ev`, noting what it says about the round.
    fn step(&mut self, ev: sse::Event, carry: &mut Carry) -> Step;
    /// Whether the model called the retrieval tool in this round.
    fn called_ours(&self) -> bool;
    /// The ids of its calls of the client's own tools.
    fn called_theirs(&self) -> Vec<String>;
    /// The retrieval calls, with their ids.
    fn calls(&self) -> Vec<(String, Call)>;
    /// The round as a whole response body (for [`retrieve::continuation`]).
    fn response(&self) -> Vec<u8>;
    /// Updates `carry` when the round is continued.
    fn end(&self, carry: &mut Carry);
    /// An error event in the API's format.
    fn error(message: &str, carry: &mut Carry) -> Vec<u8>;
}

/// Relays a stream, answering retrieval calls inside it.
pub(crate) fn relay<F: Filter>(
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
        let (rounds, answered) = run::<F>(&p, &out, first, &tx).await;
        out.record(&p, label, status.as_u16(), answered, rounds);
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
async fn run<F: Filter>(
    p: &Arc<Proxy>,
    out: &Outbound,
    first: reqwest::Response,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> (usize, usize) {
    let mut resp = first;
    let mut body = out.body.clone();
    let mut carry = Carry::default();
    let mut answered = 0usize;
    let emit = |bytes: Vec<u8>| async move { tx.send(Ok(Bytes::from(bytes))).await.is_ok() };
    loop {
        let mut parser = sse::Parser::default();
        let mut round = F::default();
        let mut held = Vec::new();
        let mut chunks = resp.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let events = match chunk
                .map_err(|e| e.to_string())
                .and_then(|c| parser.feed(&c))
            {
                Ok(evs) => evs,
                Err(e) => {
                    let msg = format!("cinch proxy: the upstream stream broke: {e}");
                    emit(F::error(&msg, &mut carry)).await;
                    return (carry.round, answered);
                }
            };
            for ev in events {
                match round.step(ev, &mut carry) {
                    Step::Send(bytes) => {
                        if !emit(bytes).await {
                            return (carry.round, answered);
                        }
                    }
                    Step::Hold(bytes) => held.push(bytes),
                    Step::Skip => {}
                }
            }
        }
        if let Some(rest) = parser.finish() {
            emit(rest.raw).await;
        }
        let theirs = round.called_theirs();
        if round.called_ours() && !theirs.is_empty() {
            // The client gets its calls now; ours come back in its next request.
            let calls = round.calls();
            answered += calls.len();
            let results = answers(p, &out.namespace, calls.clone()).await;
            p.hide(&out.namespace, &theirs, &calls, &results);
        }
        let go_on =
            round.called_ours() && theirs.is_empty() && carry.round < p.config.max_retrieval_rounds;
        if !go_on {
            for bytes in held {
                if !emit(bytes).await {
                    break;
                }
            }
            return (carry.round, answered);
        }
        let calls = round.calls();
        answered += calls.len();
        let results = answers(p, &out.namespace, calls).await;
        let Some(next) = retrieve::continuation(F::API, &body, &round.response(), &results) else {
            let msg = "cinch proxy: could not continue after a retrieval call";
            emit(F::error(msg, &mut carry)).await;
            return (carry.round, answered);
        };
        body = Bytes::from(next);
        round.end(&mut carry);
        carry.round += 1;
        resp = match send(p, out, body.clone()).await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                let status = r.status();
                let text = forward::read_whole(r).await.unwrap_or_default();
                let msg = format!(
                    "cinch proxy: the upstream answered {status} to the continuation after a retrieval call: {}",
                    String::from_utf8_lossy(&text)
                );
                emit(F::error(&msg, &mut carry)).await;
                return (carry.round, answered);
            }
            Err(e) => {
                let msg = format!("cinch proxy: the upstream could not be reached: {e}");
                emit(F::error(&msg, &mut carry)).await;
                return (carry.round, answered);
            }
        };
    }
}

/// Starts the relay for `api`.
pub(crate) fn relay_for(
    api: Api,
    p: Arc<Proxy>,
    out: Outbound,
    first: reqwest::Response,
    label: &'static str,
) -> Response {
    match api {
        Api::Anthropic => relay::<anthropic::Round>(p, out, first, label),
        Api::OpenAiChat => relay::<chat::Round>(p, out, first, label),
        Api::OpenAiResponses => relay::<responses::Round>(p, out, first, label),
    }
}

/// A retrieval call whose arguments do not parse still gets an answer (saying so).
fn call_or_empty(args: Option<Call>) -> Call {
    args.unwrap_or(Call {
        key: String::new(),
        query: None,
    })
}
