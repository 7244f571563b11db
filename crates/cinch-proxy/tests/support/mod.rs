//! A scriptable stand-in for the Anthropic and OpenAI APIs, for the proxy's integration tests.
//!
//! [`MockUpstream`] listens on loopback, records every request it is sent and answers from a
//! FIFO queue of [`Reply`]s (then from a default one). The [`anthropic`], [`openai_chat`] and
//! [`openai_responses`] modules build the bodies and SSE event sequences the real APIs send,
//! complete enough that the official SDKs accept them with strict response validation on.

// Each test binary that declares `mod support;` uses a different subset of this module.
#![allow(dead_code)]

pub mod proxy;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{oneshot, Notify};

/// How long the `wait_for_*` helpers wait before failing the test: generous, since a loaded
/// machine can be slow, but finite so that a proxy that never forwards fails instead of hanging.
pub const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its query string, e.g. `/v1/messages?beta=true`.
    pub path: String,
    /// In the order received; names are lowercase (HTTP/1 names are case-insensitive and the
    /// server normalises them). Values that are not UTF-8 are converted lossily.
    pub headers: Vec<(String, String)>,
    /// Exactly the bytes of the request body, after any chunked framing is removed.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The first value of header `name` (give it in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; panics with the body in the message when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "upstream request body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text, lossily.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A one-shot barrier a streamed chunk can wait on, so that a test can hold the rest of a
/// stream back until it has seen the first part arrive (proof of streaming without timing).
#[derive(Clone, Debug, Default)]
pub struct Gate(Arc<GateInner>);

#[derive(Debug, Default)]
struct GateInner {
    open: AtomicBool,
    notify: Notify,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets every chunk waiting on this gate, now or later, go.
    pub fn open(&self) {
        self.0.open.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    async fn wait(&self) {
        loop {
            // Registered before the flag is read so that an `open` in between is not missed.
            let notified = self.0.notify.notified();
            if self.0.open.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

/// One piece of a streamed body, written to the socket as soon as its wait is over.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Waited before this chunk is sent (after the previous one).
    pub delay: Duration,
    /// When set, the chunk also waits for this gate to open (after `delay`).
    pub gate: Option<Gate>,
    /// The bytes sent.
    pub data: Bytes,
}

impl Chunk {
    /// A chunk sent right after the previous one.
    pub fn now(data: impl Into<Bytes>) -> Self {
        Self::after(Duration::ZERO, data)
    }

    /// A chunk sent `delay` after the previous one.
    pub fn after(delay: Duration, data: impl Into<Bytes>) -> Self {
        Self {
            delay,
            gate: None,
            data: data.into(),
        }
    }

    /// A chunk held back until `gate` is opened.
    pub fn gated(gate: &Gate, data: impl Into<Bytes>) -> Self {
        Self {
            delay: Duration::ZERO,
            gate: Some(gate.clone()),
            data: data.into(),
        }
    }
}

/// What the body of a [`Reply`] is.
#[derive(Clone, Debug)]
pub enum ReplyBody {
    /// Sent whole, with a `content-length`.
    Full(Bytes),
    /// Sent piece by piece with chunked transfer encoding.
    Stream {
        /// In order.
        chunks: Vec<Chunk>,
        /// When true, the connection is dropped after the last chunk without the terminating
        /// zero-length chunk: the client sees a body that ends in an error, as when an upstream
        /// dies mid-stream.
        abort: bool,
    },
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, sent as given (besides the framing ones the server adds).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: ReplyBody,
    /// Waited after the request has been read and recorded, before the status line is sent.
    pub delay: Duration,
}

impl Reply {
    /// A JSON body with `content-type: application/json`.
    pub fn json(status: u16, body: &Value) -> Self {
        Self::bytes(status, "application/json", body.to_string())
    }

    /// Any body, sent whole with the given content type.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: ReplyBody::Full(body.into()),
            delay: Duration::ZERO,
        }
    }

    /// A 200 `text/event-stream` whose chunks are given as they will be written.
    pub fn sse_chunks(chunks: Vec<Chunk>) -> Self {
        Self {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/event-stream".into()),
                ("cache-control".into(), "no-cache".into()),
            ],
            body: ReplyBody::Stream {
                chunks,
                abort: false,
            },
            delay: Duration::ZERO,
        }
    }

    /// A 200 `text/event-stream` sending each event (a complete `event:`/`data:` block, as the
    /// helper modules build them) as one chunk, back to back.
    pub fn sse(events: &[String]) -> Self {
        Self::sse_dripped(events, Duration::ZERO)
    }

    /// Like [`Reply::sse`], with `delay` before each event, the first included.
    pub fn sse_dripped(events: &[String], delay: Duration) -> Self {
        Self::sse_chunks(
            events
                .iter()
                .map(|e| Chunk::after(delay, e.clone()))
                .collect(),
        )
    }

    /// Makes a streamed reply end with an abruptly closed connection instead of a clean end.
    /// A whole-body reply becomes a single chunk first, so the client sees the promised body
    /// cut off.
    pub fn then_abort(mut self) -> Self {
        self.body = match self.body {
            ReplyBody::Full(data) => ReplyBody::Stream {
                chunks: vec![Chunk::now(data)],
                abort: true,
            },
            ReplyBody::Stream { chunks, .. } => ReplyBody::Stream {
                chunks,
                abort: true,
            },
        };
        self
    }

    /// Waits `delay` before sending the status line.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Adds a header (or a second value for one already there).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Replaces the status code.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// Splits the concatenation of `events` into chunks of `size` bytes, each sent `delay` after
/// the previous: events then straddle chunk boundaries, even inside a UTF-8 character, as they
/// can when TCP segments a real stream.
pub fn rechunk(events: &[String], size: usize, delay: Duration) -> Vec<Chunk> {
    assert!(size > 0, "chunk size must be positive");
    let all: Vec<u8> = events.concat().into_bytes();
    all.chunks(size)
        .map(|piece| Chunk::after(delay, Bytes::copy_from_slice(piece)))
        .collect()
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<RecordedRequest>>,
    queue: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    cancelled_streams: Mutex<usize>,
    changed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not turn every later assertion into a poison error.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The mock server. It stops when dropped.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl MockUpstream {
    /// Starts a server on 127.0.0.1 (any free port) whose default reply is a 200
    /// `{"ok":true}`.
    pub async fn start() -> Self {
        Self::start_with_default(Reply::json(200, &serde_json::json!({"ok": true}))).await
    }

    /// Starts a server answering `default` whenever the queue is empty.
    pub async fn start_with_default(default: Reply) -> Self {
        let shared = Arc::new(Shared::default());
        *lock(&shared.default) = Some(default);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the mock upstream on loopback");
        let addr = listener.local_addr().expect("mock upstream address");
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            addr,
            shared,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a reply; queued replies are used in the order pushed, one per request.
    pub fn push(&self, reply: Reply) {
        lock(&self.shared.queue).push_back(reply);
    }

    /// Replaces the reply given when the queue is empty.
    pub fn set_default(&self, reply: Reply) {
        *lock(&self.shared.default) = Some(reply);
    }

    /// How many queued replies are still unused.
    pub fn pending_replies(&self) -> usize {
        lock(&self.shared.queue).len()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Forgets the recorded requests (not the queued replies).
    pub fn clear(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Waits until at least `n` requests have been received, then returns them all; fails the
    /// test after [`WAIT_LIMIT`]. Requests are recorded before any reply delay, so this returns
    /// while a delayed or streaming reply is still in progress.
    pub async fn wait_for_requests(&self, n: usize) -> Vec<RecordedRequest> {
        self.wait_until(|| lock(&self.shared.requests).len() >= n)
            .await
            .unwrap_or_else(|()| {
                panic!(
                    "mock upstream: waited {WAIT_LIMIT:?} for {n} request(s), got {}",
                    lock(&self.shared.requests).len()
                )
            });
        self.requests()
    }

    /// How many streamed replies were dropped before their last chunk was sent because the
    /// client went away.
    pub fn cancelled_streams(&self) -> usize {
        *lock(&self.shared.cancelled_streams)
    }

    /// Waits until at least `n` streamed replies were cancelled by their client; fails the test
    /// after [`WAIT_LIMIT`].
    pub async fn wait_for_cancelled_streams(&self, n: usize) {
        self.wait_until(|| self.cancelled_streams() >= n)
            .await
            .unwrap_or_else(|()| {
                panic!(
                    "mock upstream: waited {WAIT_LIMIT:?} for {n} cancelled stream(s), saw {}",
                    self.cancelled_streams()
                )
            });
    }

    async fn wait_until(&self, mut done: impl FnMut() -> bool) -> Result<(), ()> {
        let wait = async {
            loop {
                let changed = self.shared.changed.notified();
                if done() {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(WAIT_LIMIT, wait).await.map_err(|_| ())
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn answer(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("mock upstream: unreadable body: {e}"),
            )
        }
    };
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    lock(&shared.requests).push(recorded);
    shared.changed.notify_waiters();

    let queued = lock(&shared.queue).pop_front();
    let reply = queued.or_else(|| lock(&shared.default).clone());
    let Some(reply) = reply else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "mock upstream: no reply".into(),
        );
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    build_response(reply, shared)
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

fn build_response(reply: Reply, shared: Arc<Shared>) -> Response {
    let body = match reply.body {
        ReplyBody::Full(data) => Body::from(data),
        ReplyBody::Stream { chunks, abort } => {
            Body::from_stream(stream_body(chunks, abort, shared))
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(reply.status).expect("valid status code");
    for (name, value) in &reply.headers {
        response.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).expect("valid header name"),
            HeaderValue::from_str(value).expect("valid header value"),
        );
    }
    response
}

/// Counts the stream as cancelled if it is dropped before it got to its end, which is how the
/// server reports a client that hung up.
struct StreamWatch {
    shared: Arc<Shared>,
    finished: bool,
}

impl Drop for StreamWatch {
    fn drop(&mut self) {
        if !self.finished {
            *lock(&self.shared.cancelled_streams) += 1;
            self.shared.changed.notify_waiters();
        }
    }
}

fn stream_body(
    chunks: Vec<Chunk>,
    abort: bool,
    shared: Arc<Shared>,
) -> impl futures_util::Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    let watch = StreamWatch {
        shared,
        finished: false,
    };
    let state = (chunks.into_iter(), abort, watch);
    futures_util::stream::unfold(state, |(mut chunks, abort, mut watch)| async move {
        match chunks.next() {
            Some(chunk) => {
                if !chunk.delay.is_zero() {
                    tokio::time::sleep(chunk.delay).await;
                }
                if let Some(gate) = &chunk.gate {
                    gate.wait().await;
                }
                Some((Ok(chunk.data), (chunks, abort, watch)))
            }
            None => {
                watch.finished = true;
                if abort {
                    // Let hyper write out what it already holds before the connection goes, so
                    // that the client sees every chunk and then the cut, never only the cut.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let cut = io::Error::new(io::ErrorKind::ConnectionAborted, "scripted abort");
                    // Returned once: the stream ends after the error, dropping the connection.
                    Some((Err(cut), (chunks, false, watch)))
                } else {
                    None
                }
            }
        }
    })
}

/// Formats one server-sent event: an `event:` line when `event` is given, one `data:` line,
/// and the blank line that ends the event.
pub fn sse_event(event: Option<&str>, data: &Value) -> String {
    match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// Splits `text` into pieces of at most `n` characters, on char boundaries: the deltas a
/// stream sends for it.
fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

/// Canned Anthropic Messages API bodies and stream events.
pub mod anthropic {
    use super::{pieces, sse_event};
    use serde_json::{json, Value};

    /// The model named in the canned replies.
    pub const MODEL: &str = "claude-sonnet-5";
    /// Input tokens reported by the canned replies.
    pub const INPUT_TOKENS: u64 = 2095;
    /// Output tokens reported by the canned replies.
    pub const OUTPUT_TOKENS: u64 = 42;

    fn usage(output_tokens: u64) -> Value {
        json!({
            "input_tokens": INPUT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output_tokens,
            "service_tier": "standard"
        })
    }

    fn message(
        id: &str,
        content: Vec<Value>,
        stop_reason: Option<&str>,
        output_tokens: u64,
    ) -> Value {
        json!({
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": null,
            "usage": usage(output_tokens)
        })
    }

    /// A complete (non-streamed) message answering `text`, `stop_reason: end_turn`.
    pub fn message_text(text: &str) -> Value {
        message(
            "msg_01MockTextAnswer",
            vec![json!({"type": "text", "text": text})],
            Some("end_turn"),
            OUTPUT_TOKENS,
        )
    }

    /// A complete message in which the model calls the client's tool `name` with `input`
    /// (after a short text block, as models usually do), `stop_reason: tool_use`.
    pub fn message_tool_use(name: &str, id: &str, input: &Value) -> Value {
        message(
            "msg_01MockToolUse",
            vec![
                json!({"type": "text", "text": "Let me look at that."}),
                json!({"type": "tool_use", "id": id, "name": name, "input": input}),
            ],
            Some("tool_use"),
            OUTPUT_TOKENS,
        )
    }

    /// An error body as the API sends with a non-2xx status, e.g. 529 `overloaded_error`.
    pub fn error_body(kind: &str, message: &str) -> Value {
        json!({"type": "error", "error": {"type": kind, "message": message},
               "request_id": "req_mock"})
    }

    /// `message_start`, with empty content and null `stop_reason` as in the real stream.
    pub fn message_start(id: &str) -> String {
        sse_event(
            Some("message_start"),
            &json!({"type": "message_start", "message": message(id, vec![], None, 1)}),
        )
    }

    /// `ping`, which the API interleaves and clients skip.
    pub fn ping() -> String {
        sse_event(Some("ping"), &json!({"type": "ping"}))
    }

    /// `content_block_start` for `block` at `index`.
    pub fn content_block_start(index: usize, block: &Value) -> String {
        sse_event(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        )
    }

    /// `content_block_delta` carrying a `text_delta`.
    pub fn text_delta(index: usize, text: &str) -> String {
        sse_event(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "text_delta", "text": text}}),
        )
    }

    /// `content_block_delta` carrying an `input_json_delta`.
    pub fn input_json_delta(index: usize, partial_json: &str) -> String {
        sse_event(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": partial_json}}),
        )
    }

    /// `content_block_stop`.
    pub fn content_block_stop(index: usize) -> String {
        sse_event(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        )
    }

    /// `message_delta` with the stop reason and the cumulative usage.
    pub fn message_delta(stop_reason: &str, output_tokens: u64) -> String {
        sse_event(
            Some("message_delta"),
            &json!({"type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                    "usage": {"input_tokens": INPUT_TOKENS, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 0, "output_tokens": output_tokens}}),
        )
    }

    /// `message_stop`.
    pub fn message_stop() -> String {
        sse_event(Some("message_stop"), &json!({"type": "message_stop"}))
    }

    /// The text deltas of one text block at `index`, start to stop.
    pub fn text_block(index: usize, text: &str) -> Vec<String> {
        let mut events = vec![content_block_start(
            index,
            &json!({"type": "text", "text": ""}),
        )];
        events.extend(pieces(text, 12).iter().map(|p| text_delta(index, p)));
        events.push(content_block_stop(index));
        events
    }

    /// The events of one `tool_use` block at `index`: an empty first `partial_json`, then the
    /// input's JSON in pieces, as the API streams it.
    pub fn tool_use_block(index: usize, name: &str, id: &str, input: &Value) -> Vec<String> {
        let mut events = vec![content_block_start(
            index,
            &json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
        )];
        events.push(input_json_delta(index, ""));
        events.extend(
            pieces(&input.to_string(), 9)
                .iter()
                .map(|p| input_json_delta(index, p)),
        );
        events.push(content_block_stop(index));
        events
    }

    /// The whole stream for a text answer, with a `ping` after `message_start`.
    pub fn stream_text(text: &str) -> Vec<String> {
        let mut events = vec![message_start("msg_01MockStreamText"), ping()];
        events.extend(text_block(0, text));
        events.push(message_delta("end_turn", OUTPUT_TOKENS));
        events.push(message_stop());
        events
    }

    /// The whole stream for a tool call: a text block, then the `tool_use` block.
    pub fn stream_tool_use(name: &str, id: &str, input: &Value) -> Vec<String> {
        let mut events = vec![message_start("msg_01MockStreamToolUse"), ping()];
        events.extend(text_block(0, "Let me look at that."));
        events.extend(tool_use_block(1, name, id, input));
        events.push(message_delta("tool_use", OUTPUT_TOKENS));
        events.push(message_stop());
        events
    }

    /// An event type no client knows yet: the API may add some at any time, and a relay must
    /// pass them through untouched.
    pub fn unknown_event() -> String {
        sse_event(
            Some("cinch_future_event"),
            &json!({"type": "cinch_future_event", "note": "a type from a newer API version"}),
        )
    }

    /// Start and stop of a content block of a type no client knows yet, at `index`.
    pub fn unknown_block(index: usize) -> Vec<String> {
        vec![
            content_block_start(
                index,
                &json!({"type": "cinch_future_block", "payload": {"kept": true}}),
            ),
            content_block_stop(index),
        ]
    }

    /// A text stream with an unknown event after `ping` and an unknown block at index 0 (the
    /// text is at index 1).
    pub fn stream_text_with_unknowns(text: &str) -> Vec<String> {
        let mut events = vec![
            message_start("msg_01MockStreamUnknown"),
            ping(),
            unknown_event(),
        ];
        events.extend(unknown_block(0));
        events.extend(text_block(1, text));
        events.push(message_delta("end_turn", OUTPUT_TOKENS));
        events.push(message_stop());
        events
    }

    /// The `error` event the API sends mid-stream when it is overloaded.
    pub fn overloaded_error_event() -> String {
        sse_event(Some("error"), &error_body("overloaded_error", "Overloaded"))
    }

    /// A stream that starts a text answer and then fails with `overloaded_error`.
    pub fn stream_overloaded_midway(text_before: &str) -> Vec<String> {
        vec![
            message_start("msg_01MockStreamOverloaded"),
            ping(),
            content_block_start(0, &json!({"type": "text", "text": ""})),
            text_delta(0, text_before),
            overloaded_error_event(),
        ]
    }
}

/// Canned OpenAI Chat Completions bodies and stream chunks.
pub mod openai_chat {
    use super::{pieces, sse_event};
    use serde_json::{json, Value};

    /// The model named in the canned replies.
    pub const MODEL: &str = "gpt-4o-2024-08-06";
    /// `created` in the canned replies.
    pub const CREATED: u64 = 1_735_000_000;
    /// Prompt tokens reported by the canned replies.
    pub const PROMPT_TOKENS: u64 = 1830;
    /// Completion tokens reported by the canned replies.
    pub const COMPLETION_TOKENS: u64 = 37;
    const ID: &str = "chatcmpl-MockCinch0001";
    const FINGERPRINT: &str = "fp_cinchmock";

    /// One tool call: id, function name, arguments (a JSON text, as the API sends it).
    #[derive(Clone, Debug)]
    pub struct ToolCall {
        /// `call_...`
        pub id: String,
        /// The function's name.
        pub name: String,
        /// The arguments as a JSON string.
        pub arguments: String,
    }

    impl ToolCall {
        /// A call of `name` with `arguments` serialised.
        pub fn new(id: &str, name: &str, arguments: &Value) -> Self {
            Self {
                id: id.into(),
                name: name.into(),
                arguments: arguments.to_string(),
            }
        }
    }

    /// The `usage` object.
    pub fn usage() -> Value {
        json!({
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}
        })
    }

    fn completion(message: Value, finish_reason: &str) -> Value {
        json!({
            "id": ID,
            "object": "chat.completion",
            "created": CREATED,
            "model": MODEL,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": finish_reason
            }],
            "usage": usage(),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT
        })
    }

    /// A `chat.completion` answering `text`, `finish_reason: stop`.
    pub fn completion_text(text: &str) -> Value {
        completion(
            json!({"role": "assistant", "content": text, "refusal": null, "annotations": []}),
            "stop",
        )
    }

    /// A `chat.completion` whose message calls `calls`, `finish_reason: tool_calls`.
    pub fn completion_tool_calls(calls: &[ToolCall]) -> Value {
        let tool_calls: Vec<Value> = calls
            .iter()
            .map(|c| {
                json!({"id": c.id, "type": "function",
                       "function": {"name": c.name, "arguments": c.arguments}})
            })
            .collect();
        completion(
            json!({"role": "assistant", "content": null, "tool_calls": tool_calls,
                   "refusal": null, "annotations": []}),
            "tool_calls",
        )
    }

    /// An error body as the API sends with a non-2xx status.
    pub fn error_body(kind: &str, message: &str) -> Value {
        json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
    }

    /// One `chat.completion.chunk` event. With `include_usage`, every chunk carries
    /// `"usage": null`, as the API does when the client asked for the usage chunk.
    pub fn chunk(delta: Value, finish_reason: Option<&str>, include_usage: bool) -> String {
        let mut c = json!({
            "id": ID,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": MODEL,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": null,
                         "finish_reason": finish_reason}]
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        sse_event(None, &c)
    }

    /// The last chunk when `stream_options.include_usage` is set: no choices, the usage.
    pub fn usage_chunk() -> String {
        sse_event(
            None,
            &json!({
                "id": ID,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": MODEL,
                "service_tier": "default",
                "system_fingerprint": FINGERPRINT,
                "choices": [],
                "usage": usage()
            }),
        )
    }

    /// The terminator.
    pub fn done() -> String {
        "data: [DONE]\n\n".to_owned()
    }

    /// The whole stream for a text answer; the usage chunk only with `include_usage`.
    pub fn stream_text(text: &str, include_usage: bool) -> Vec<String> {
        let mut events = vec![chunk(
            json!({"role": "assistant", "content": "", "refusal": null}),
            None,
            include_usage,
        )];
        events.extend(
            pieces(text, 10)
                .iter()
                .map(|p| chunk(json!({"content": p}), None, include_usage)),
        );
        events.push(chunk(json!({}), Some("stop"), include_usage));
        if include_usage {
            events.push(usage_chunk());
        }
        events.push(done());
        events
    }

    /// The whole stream for tool calls: for each call (keyed by its index), a first delta with
    /// id, type and name and empty arguments, then the arguments in pieces.
    pub fn stream_tool_calls(calls: &[ToolCall], include_usage: bool) -> Vec<String> {
        let mut events = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            let head = json!([{"index": i, "id": call.id, "type": "function",
                               "function": {"name": call.name, "arguments": ""}}]);
            let delta = if i == 0 {
                json!({"role": "assistant", "content": null, "tool_calls": head, "refusal": null})
            } else {
                json!({"tool_calls": head})
            };
            events.push(chunk(delta, None, include_usage));
            for piece in pieces(&call.arguments, 7) {
                events.push(chunk(
                    json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                    None,
                    include_usage,
                ));
            }
        }
        events.push(chunk(json!({}), Some("tool_calls"), include_usage));
        if include_usage {
            events.push(usage_chunk());
        }
        events.push(done());
        events
    }
}

/// Canned OpenAI Responses API bodies and stream events.
pub mod openai_responses {
    use super::{pieces, sse_event};
    use serde_json::{json, Value};

    /// The model named in the canned replies.
    pub const MODEL: &str = "gpt-4.1-2025-04-14";
    /// `created_at` in the canned replies.
    pub const CREATED_AT: u64 = 1_735_000_100;
    /// Input tokens reported by the canned replies.
    pub const INPUT_TOKENS: u64 = 1975;
    /// Output tokens reported by the canned replies.
    pub const OUTPUT_TOKENS: u64 = 31;
    const RESPONSE_ID: &str = "resp_mockcinch0001";
    const MESSAGE_ID: &str = "msg_mockcinch0001";
    const FUNCTION_CALL_ID: &str = "fc_mockcinch0001";

    /// The `usage` object.
    pub fn usage() -> Value {
        json!({
            "input_tokens": INPUT_TOKENS,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": OUTPUT_TOKENS,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS
        })
    }

    /// A `response` object with `status` and `output`; usage only once completed.
    pub fn response(status: &str, output: Vec<Value>) -> Value {
        let completed = status == "completed";
        json!({
            "id": RESPONSE_ID,
            "object": "response",
            "created_at": CREATED_AT,
            "status": status,
            "background": false,
            "completed_at": if completed { json!(CREATED_AT + 2) } else { Value::Null },
            "error": null,
            "incomplete_details": null,
            "instructions": null,
            "max_output_tokens": null,
            "max_tool_calls": null,
            "model": MODEL,
            "output": output,
            "parallel_tool_calls": true,
            "previous_response_id": null,
            "prompt_cache_key": null,
            "reasoning": {"effort": null, "summary": null},
            "safety_identifier": null,
            "service_tier": "default",
            "store": true,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_logprobs": 0,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": if completed { usage() } else { Value::Null },
            "user": null,
            "metadata": {}
        })
    }

    /// An `output_text` content part.
    pub fn output_text(text: &str) -> Value {
        json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    }

    /// A `message` output item.
    pub fn message_item(status: &str, content: Vec<Value>) -> Value {
        json!({"id": MESSAGE_ID, "type": "message", "status": status, "role": "assistant",
               "content": content})
    }

    /// A `function_call` output item.
    pub fn function_call_item(status: &str, call_id: &str, name: &str, arguments: &str) -> Value {
        json!({"id": FUNCTION_CALL_ID, "type": "function_call", "status": status,
               "call_id": call_id, "name": name, "arguments": arguments})
    }

    /// A completed response answering `text`.
    pub fn response_text(text: &str) -> Value {
        response(
            "completed",
            vec![message_item("completed", vec![output_text(text)])],
        )
    }

    /// A completed response calling the client's function `name` with `arguments`.
    pub fn response_function_call(call_id: &str, name: &str, arguments: &Value) -> Value {
        response(
            "completed",
            vec![function_call_item(
                "completed",
                call_id,
                name,
                &arguments.to_string(),
            )],
        )
    }

    /// An error body as the API sends with a non-2xx status.
    pub fn error_body(kind: &str, message: &str) -> Value {
        json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
    }

    /// Numbers events as the API does: `sequence_number` from 0, and the `event:` line
    /// repeating the `type`.
    fn numbered(events: Vec<Value>) -> Vec<String> {
        events
            .into_iter()
            .enumerate()
            .map(|(n, mut e)| {
                e["sequence_number"] = json!(n);
                let kind = e["type"].as_str().expect("event type").to_owned();
                sse_event(Some(&kind), &e)
            })
            .collect()
    }

    fn opening() -> Vec<Value> {
        vec![
            json!({"type": "response.created", "response": response("in_progress", vec![])}),
            json!({"type": "response.in_progress", "response": response("in_progress", vec![])}),
        ]
    }

    /// The whole stream for a text answer: created, in_progress, output_item.added,
    /// content_part.added, output_text.delta..., output_text.done, content_part.done,
    /// output_item.done, completed.
    pub fn stream_text(text: &str) -> Vec<String> {
        let mut events = opening();
        events.push(
            json!({"type": "response.output_item.added", "output_index": 0,
                           "item": message_item("in_progress", vec![])}),
        );
        events.push(
            json!({"type": "response.content_part.added", "item_id": MESSAGE_ID,
                           "output_index": 0, "content_index": 0, "part": output_text("")}),
        );
        for piece in pieces(text, 10) {
            events.push(
                json!({"type": "response.output_text.delta", "item_id": MESSAGE_ID,
                               "output_index": 0, "content_index": 0, "delta": piece,
                               "logprobs": []}),
            );
        }
        events.push(
            json!({"type": "response.output_text.done", "item_id": MESSAGE_ID,
                           "output_index": 0, "content_index": 0, "text": text,
                           "logprobs": []}),
        );
        events.push(
            json!({"type": "response.content_part.done", "item_id": MESSAGE_ID,
                           "output_index": 0, "content_index": 0, "part": output_text(text)}),
        );
        events.push(
            json!({"type": "response.output_item.done", "output_index": 0,
                           "item": message_item("completed", vec![output_text(text)])}),
        );
        events.push(json!({"type": "response.completed", "response": response_text(text)}));
        numbered(events)
    }

    /// The whole stream for a function call: created, in_progress, output_item.added,
    /// function_call_arguments.delta..., function_call_arguments.done, output_item.done,
    /// completed.
    pub fn stream_function_call(call_id: &str, name: &str, arguments: &Value) -> Vec<String> {
        let arguments_text = arguments.to_string();
        let mut events = opening();
        events.push(
            json!({"type": "response.output_item.added", "output_index": 0,
                           "item": function_call_item("in_progress", call_id, name, "")}),
        );
        for piece in pieces(&arguments_text, 8) {
            events.push(json!({"type": "response.function_call_arguments.delta",
                               "item_id": FUNCTION_CALL_ID, "output_index": 0,
                               "delta": piece}));
        }
        events.push(json!({"type": "response.function_call_arguments.done",
                           "item_id": FUNCTION_CALL_ID, "output_index": 0, "name": name,
                           "arguments": arguments_text}));
        events.push(
            json!({"type": "response.output_item.done", "output_index": 0,
                           "item": function_call_item("completed", call_id, name,
                                                      &arguments_text)}),
        );
        events.push(json!({"type": "response.completed",
                           "response": response_function_call(call_id, name, arguments)}));
        numbered(events)
    }
}
