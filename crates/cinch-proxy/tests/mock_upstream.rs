//! Checks the mock upstream itself, so that a failing proxy test can be trusted to point at the
//! proxy.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use support::{
    anthropic, openai_chat, openai_responses, rechunk, Chunk, Gate, MockUpstream, Reply,
};

fn client() -> reqwest::Client {
    // A proxy variable in the environment must not divert loopback test traffic.
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// Reads a streamed body, noting when each piece arrived; ends at the first error.
async fn read_timed(
    response: reqwest::Response,
) -> (Vec<(Instant, bytes::Bytes)>, Option<reqwest::Error>) {
    let mut stream = response.bytes_stream();
    let mut pieces = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(piece) => pieces.push((Instant::now(), piece)),
            Err(e) => return (pieces, Some(e)),
        }
    }
    (pieces, None)
}

async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON body")
}

fn joined(pieces: &[(Instant, bytes::Bytes)]) -> Vec<u8> {
    pieces.iter().flat_map(|(_, b)| b.iter().copied()).collect()
}

#[tokio::test]
async fn records_method_path_headers_and_exact_body_bytes() {
    let mock = MockUpstream::start().await;
    // Not UTF-8, with a NUL and CRLF: any re-encoding would show.
    let body: Vec<u8> = vec![0xff, 0x00, b'{', 0xc3, 0x28, b'\r', b'\n', b'}'];
    let response = client()
        .post(format!("{}/v1/messages?beta=true&x=1", mock.url()))
        .header("X-Api-Key", "sk-test-abc")
        .header("anthropic-version", "2023-06-01")
        .body(body.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"ok":true}"#);

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/messages?beta=true&x=1");
    assert_eq!(r.body.as_ref(), body.as_slice());
    assert_eq!(r.header("x-api-key"), Some("sk-test-abc"));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert!(
        r.headers.iter().all(|(n, _)| *n == n.to_lowercase()),
        "header names are lowercase: {:?}",
        r.headers
    );

    mock.clear();
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn serves_any_method_and_path() {
    let mock = MockUpstream::start().await;
    let c = client();
    let get = c
        .get(format!("{}/v1/models", mock.url()))
        .send()
        .await
        .unwrap();
    let delete = c
        .delete(format!("{}/anything/else", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (get.status().as_u16(), delete.status().as_u16()),
        (200, 200)
    );
    let seen: Vec<(String, String)> = mock
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET".to_owned(), "/v1/models".to_owned()),
            ("DELETE".to_owned(), "/anything/else".to_owned())
        ]
    );
    assert!(mock.requests().iter().all(|r| r.body.is_empty()));
}

#[tokio::test]
async fn replies_in_fifo_order_then_the_default() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::json(201, &json!({"n": 1})));
    mock.push(
        Reply::bytes(529, "text/plain", "second")
            .with_header("retry-after", "3")
            .with_header("x-multi", "a")
            .with_header("x-multi", "b"),
    );
    assert_eq!(mock.pending_replies(), 2);
    let c = client();
    let url = format!("{}/v1/chat/completions", mock.url());

    let first = c.post(&url).send().await.unwrap();
    assert_eq!(first.status(), 201);
    assert_eq!(first.headers()["content-type"], "application/json");
    assert_eq!(json_of(first).await, json!({"n": 1}));

    let second = c.post(&url).send().await.unwrap();
    assert_eq!(second.status(), 529);
    assert_eq!(second.headers()["retry-after"], "3");
    let multi: Vec<_> = second.headers().get_all("x-multi").iter().collect();
    assert_eq!(multi, ["a", "b"]);
    assert_eq!(second.text().await.unwrap(), "second");

    let third = c.post(&url).send().await.unwrap();
    assert_eq!(third.status(), 200);
    assert_eq!(json_of(third).await, json!({"ok": true}));

    mock.set_default(Reply::json(404, &json!({"gone": true})));
    let fourth = c.post(&url).send().await.unwrap();
    assert_eq!(fourth.status(), 404);
    assert_eq!(mock.requests().len(), 4);
    assert_eq!(mock.pending_replies(), 0);
}

#[tokio::test]
async fn start_with_default_answers_it() {
    let mock = MockUpstream::start_with_default(Reply::json(503, &json!({"down": 1}))).await;
    let r = client().get(mock.url()).send().await.unwrap();
    assert_eq!(r.status(), 503);
}

#[tokio::test]
async fn sse_chunks_arrive_no_earlier_than_their_delays() {
    let mock = MockUpstream::start().await;
    let delay = Duration::from_millis(150);
    let events = anthropic::stream_text("Hello there");
    let events = &events[..4];
    mock.push(Reply::sse_dripped(events, delay));

    let started = Instant::now();
    let response = client()
        .post(format!("{}/v1/messages", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    assert!(response.headers().get("content-length").is_none());

    let (pieces, error) = read_timed(response).await;
    assert!(error.is_none(), "clean end expected, got {error:?}");
    assert_eq!(joined(&pieces), events.concat().into_bytes());
    // The server sleeps before each chunk in turn, so however late the client reads, the k-th
    // event's last byte cannot be here before k delays have passed. Pieces may coalesce, so
    // find where each event ends in the received bytes.
    let mut received = 0;
    let mut piece_iter = pieces.iter();
    let mut arrived_at = started;
    for (k, event) in events.iter().enumerate() {
        let end = events[..=k].iter().map(String::len).sum::<usize>();
        while received < end {
            let (at, bytes) = piece_iter.next().expect("bytes for every event");
            received += bytes.len();
            arrived_at = *at;
        }
        let floor = delay * (k as u32 + 1);
        assert!(
            arrived_at - started >= floor,
            "event {k} ({} bytes) arrived after {:?}, before its {floor:?}",
            event.len(),
            arrived_at - started
        );
    }
}

#[tokio::test]
async fn gated_chunk_waits_for_the_gate_so_earlier_ones_are_streamed_first() {
    let mock = MockUpstream::start().await;
    let gate = Gate::new();
    mock.push(Reply::sse_chunks(vec![
        Chunk::now("event: a\ndata: {}\n\n"),
        Chunk::gated(&gate, "event: b\ndata: {}\n\n"),
    ]));
    let response = client()
        .post(format!("{}/v1/messages", mock.url()))
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    // Had the mock buffered the body, this would wait for the gate, which only opens after it.
    let first = tokio::time::timeout(support::WAIT_LIMIT, stream.next())
        .await
        .expect("first chunk before the gate opens")
        .unwrap()
        .unwrap();
    assert_eq!(first.as_ref(), b"event: a\ndata: {}\n\n");
    gate.open();
    let rest: Vec<u8> = stream.map(|piece| piece.unwrap().to_vec()).concat().await;
    assert_eq!(rest, b"event: b\ndata: {}\n\n");
}

#[tokio::test]
async fn delayed_reply_withholds_the_status_line_but_records_at_once() {
    let mock = MockUpstream::start().await;
    let delay = Duration::from_millis(300);
    mock.push(Reply::json(200, &json!({"late": true})).delayed(delay));
    let url = format!("{}/v1/responses", mock.url());
    let started = Instant::now();
    let pending = tokio::spawn(async move { client().post(url).body("x").send().await });

    let seen = mock.wait_for_requests(1).await;
    assert_eq!(seen[0].body.as_ref(), b"x");

    let response = pending.await.unwrap().unwrap();
    assert!(
        started.elapsed() >= delay,
        "status line came after {:?}, before the {delay:?} delay",
        started.elapsed()
    );
    assert_eq!(json_of(response).await, json!({"late": true}));
}

#[tokio::test]
async fn aborted_stream_delivers_its_chunks_then_a_client_error() {
    let mock = MockUpstream::start().await;
    let events = anthropic::stream_text("This answer never finishes");
    let sent = &events[..3];
    mock.push(Reply::sse(sent).then_abort());
    let response = client()
        .post(format!("{}/v1/messages", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (pieces, error) = read_timed(response).await;
    assert_eq!(joined(&pieces), sent.concat().into_bytes());
    let error = error.expect("the cut must reach the client as an error, not a clean end");
    assert!(error.is_body() || error.is_decode(), "{error:?}");

    // The same through the whole-body API, as a non-streaming relay would read it.
    mock.push(Reply::json(200, &anthropic::message_text("cut")).then_abort());
    let response = client()
        .post(format!("{}/v1/messages", mock.url()))
        .send()
        .await
        .unwrap();
    assert!(response.bytes().await.is_err());
}

#[tokio::test]
async fn client_hanging_up_mid_stream_is_counted() {
    let mock = MockUpstream::start().await;
    let gate = Gate::new();
    mock.push(Reply::sse_chunks(vec![
        Chunk::now("data: 1\n\n"),
        Chunk::gated(&gate, "data: 2\n\n"),
    ]));
    let response = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    stream.next().await.unwrap().unwrap();
    assert_eq!(mock.cancelled_streams(), 0);
    drop(stream);
    mock.wait_for_cancelled_streams(1).await;

    // A stream read to its end is not counted.
    mock.push(Reply::sse(&["data: 1\n\n".to_owned()]));
    let body = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "data: 1\n\n");
    assert_eq!(mock.cancelled_streams(), 1);
}

#[tokio::test]
async fn rechunked_events_reassemble_exactly() {
    let mock = MockUpstream::start().await;
    // Multi-byte characters, so that some cuts fall inside one.
    let events = openai_chat::stream_text("Grüße — naïve café ☕ done", true);
    mock.push(Reply::sse_chunks(rechunk(&events, 5, Duration::ZERO)));
    let body = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), events.concat().as_bytes());
}

/// Parses an SSE text into (event name, data) pairs, the way clients do for these streams.
fn parse_sse(text: &str) -> Vec<(Option<String>, String)> {
    text.split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                } else {
                    panic!("unexpected SSE line {line:?}");
                }
            }
            (event, data)
        })
        .collect()
}

#[test]
fn anthropic_stream_events_are_well_formed_and_add_up() {
    let text = "The build failed: missing crate `serde_yaml`.";
    let events = parse_sse(&anthropic::stream_text(text).concat());
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_deref().unwrap()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    assert!(names.contains(&"ping"));
    let mut streamed = String::new();
    for (name, data) in &events {
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            data["type"].as_str(),
            name.as_deref(),
            "event line matches type"
        );
        if data["delta"]["type"] == "text_delta" {
            streamed.push_str(data["delta"]["text"].as_str().unwrap());
        }
    }
    assert_eq!(streamed, text);

    let input = json!({"path": "src/main.rs", "lines": [1, 40]});
    let events = parse_sse(&anthropic::stream_tool_use("read_file", "toolu_01", &input).concat());
    let partial: String = events
        .iter()
        .map(|(_, d)| serde_json::from_str::<Value>(d).unwrap())
        .filter(|d| d["delta"]["type"] == "input_json_delta")
        .map(|d| d["delta"]["partial_json"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&partial).unwrap(), input);
}

#[test]
fn openai_chat_stream_ends_with_usage_then_done() {
    let events = parse_sse(&openai_chat::stream_text("hi there", true).concat());
    let (last_event, last) = events.last().unwrap();
    assert_eq!((last_event.as_deref(), last.as_str()), (None, "[DONE]"));
    let usage: Value = serde_json::from_str(&events[events.len() - 2].1).unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let calls = [
        openai_chat::ToolCall::new("call_a", "read_file", &json!({"path": "a.rs"})),
        openai_chat::ToolCall::new("call_b", "grep", &json!({"pattern": "ERROR"})),
    ];
    let events = parse_sse(&openai_chat::stream_tool_calls(&calls, false).concat());
    let mut arguments = [String::new(), String::new()];
    for (_, data) in &events[..events.len() - 1] {
        let chunk: Value = serde_json::from_str(data).unwrap();
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = call["index"].as_u64().unwrap() as usize;
            arguments[i].push_str(call["function"]["arguments"].as_str().unwrap());
        }
    }
    assert_eq!(
        arguments,
        [calls[0].arguments.clone(), calls[1].arguments.clone()]
    );
}

#[test]
fn openai_responses_events_are_numbered_and_named() {
    let events = parse_sse(&openai_responses::stream_text("All tests pass.").concat());
    for (n, (name, data)) in events.iter().enumerate() {
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(data["sequence_number"], json!(n));
        assert_eq!(data["type"].as_str(), name.as_deref());
    }
    assert_eq!(events[0].0.as_deref(), Some("response.created"));
    assert_eq!(
        events.last().unwrap().0.as_deref(),
        Some("response.completed")
    );
}
