//! The proxy between a client (reqwest) and the mock upstream, all on loopback.

mod support;

use cinch_core::ccr::marker_keys;
use cinch_core::Store;
use serde_json::{json, Value};
use std::time::Duration;
use support::proxy::start_proxy;
use support::{anthropic, openai_chat, openai_responses, Chunk, Gate, MockUpstream, Reply};

/// A build log: 400 passing tests and one failure.
fn log() -> String {
    let mut s = String::new();
    for i in 0..400 {
        s.push_str(&format!(
            "2026-11-24T10:{:02}:{:02}Z INFO test suite::case_{i} ... ok\n",
            i / 60,
            i % 60
        ));
    }
    s.push_str("2026-11-24T10:07:00Z ERROR test suite::case_4711 FAILED: left 3, right 4\n");
    s
}

/// Claude Code's request shape, pretty-printed with odd spacing the proxy must keep.
fn anthropic_request(stream: bool, tool_output: &str) -> Vec<u8> {
    let body = json!({
        "model": "claude-sonnet-5",
        "max_tokens": 1024,
        "stream": stream,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": "Why does case 4711 fail?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Run the tests.", "signature": "c2ln"},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cargo test"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": tool_output},
                {"type": "text", "text": "<system-reminder>go on</system-reminder>", "cache_control": {"type": "ephemeral"}}
            ]}
        ]
    });
    serde_json::to_string_pretty(&body)
        .unwrap()
        .replace("\"max_tokens\": 1024", "\"max_tokens\" :  1024.0")
        .into_bytes()
}

async fn post(url: &str, path: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn nothing_to_compress_goes_upstream_byte_for_byte() {
    let up = MockUpstream::start().await;
    let reply = anthropic::message_text("fine");
    up.push(Reply::json(200, &reply).with_header("request-id", "req_1"));
    let proxy = start_proxy(&up, |_| {}).await;
    let body = anthropic_request(false, "Cargo.toml\nsrc\n");
    let resp = post(&proxy.url, "/v1/messages?beta=true", body.clone()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["request-id"], "req_1");
    assert_eq!(resp.json::<Value>().await.unwrap(), reply);
    let got = &up.requests()[0];
    assert_eq!(got.path, "/v1/messages?beta=true");
    assert_eq!(got.body, body);
    assert_eq!(got.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(
        got.header("anthropic-beta"),
        Some("interleaved-thinking-2025-05-14")
    );
}

#[tokio::test]
async fn tool_results_are_compressed_the_same_way_every_time() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let body = anthropic_request(false, &log());
    for _ in 0..2 {
        up.push(Reply::json(200, &anthropic::message_text("fine")));
        let resp = post(&proxy.url, "/v1/messages", body.clone()).await;
        assert_eq!(resp.status(), 200);
        let before: usize = resp.headers()["x-cinch-tokens-before"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let after: usize = resp.headers()["x-cinch-tokens-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        // Over the budget, the result is cut to the budget and no further.
        assert!(
            after <= cinch_core::DEFAULT_BUDGET && after * 4 < before,
            "{before} -> {after}"
        );
    }
    let reqs = up.requests();
    assert_eq!(reqs[0].body, reqs[1].body, "same history, same bytes");
    let sent = reqs[0].json();
    let text = sent["messages"][2]["content"][0]["content"]
        .as_str()
        .unwrap();
    assert!(text.contains("case_4711 FAILED") && text.contains("<<ccr:"));
    // The client's other bytes are untouched: system, thinking, the cache_control block, and
    // the odd spelling of max_tokens.
    let original: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sent["system"], original["system"]);
    assert_eq!(sent["messages"][1], original["messages"][1]);
    assert_eq!(
        sent["messages"][2]["content"][1],
        original["messages"][2]["content"][1]
    );
    assert!(String::from_utf8_lossy(&reqs[0].body).contains("\"max_tokens\" :  1024.0"));
    // The retrieval tool comes after the client's own.
    assert_eq!(sent["tools"][0]["name"], "Bash");
    assert_eq!(sent["tools"][1]["name"], "cinch_retrieve");
    // The dropped lines are in the store under the API key's namespace.
    assert!(proxy.store.stats().unwrap().entries >= 1);
}

#[tokio::test]
async fn the_bypass_header_forwards_the_request_as_sent() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let body = anthropic_request(false, &log());
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/messages", proxy.url))
        .header("x-cinch-bypass", "1")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got = &up.requests()[0];
    assert_eq!(got.body, body);
    assert!(got.header("x-cinch-bypass").is_none());
}

/// The key of the first marker in the tool result the upstream received.
fn first_key(sent: &Value) -> String {
    let text = sent["messages"][2]["content"][0]["content"]
        .as_str()
        .unwrap();
    marker_keys(text)[0].to_string()
}

#[tokio::test]
async fn the_proxy_answers_retrieval_calls_itself() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    // First a plain turn to learn the key the proxy will use.
    up.push(Reply::json(200, &anthropic::message_text("fine")));
    post(&proxy.url, "/v1/messages", anthropic_request(false, &log())).await;
    let key = first_key(&up.requests()[0].json());
    up.clear();
    up.push(Reply::json(
        200,
        &anthropic::message_tool_use(
            "cinch_retrieve",
            "toolu_r1",
            &json!({"key": key, "query": "case_123"}),
        ),
    ));
    up.push(Reply::json(
        200,
        &anthropic::message_text("case 123 passed"),
    ));
    let resp = post(&proxy.url, "/v1/messages", anthropic_request(false, &log())).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-cinch-retrievals"], "1");
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["content"][0]["text"], "case 123 passed");
    let reqs = up.requests();
    assert_eq!(reqs.len(), 2);
    // The continuation is the first request plus the model's turn and the answer.
    let first = &reqs[0].body;
    let second = &reqs[1].body;
    let cut = first.len() - first.iter().rev().position(|&b| b == b']').unwrap() - 1;
    assert_eq!(
        &second[..cut],
        &first[..cut],
        "the prefix is kept byte for byte"
    );
    let cont = reqs[1].json();
    let n = cont["messages"].as_array().unwrap().len();
    assert_eq!(
        cont["messages"][n - 2]["content"][1]["name"],
        "cinch_retrieve"
    );
    let result = &cont["messages"][n - 1]["content"][0];
    assert_eq!(result["tool_use_id"], "toolu_r1");
    assert!(result["content"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-24T10:02:03Z INFO test suite::case_123 ... ok"));
}

#[tokio::test]
async fn retrieval_calls_inside_a_stream_never_reach_the_client() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    up.push(Reply::json(200, &anthropic::message_text("fine")));
    post(&proxy.url, "/v1/messages", anthropic_request(false, &log())).await;
    let key = first_key(&up.requests()[0].json());
    up.clear();
    // Round 1: some text, then the retrieval call. Round 2: the answer.
    let mut round1 = vec![anthropic::message_start("msg_1"), anthropic::ping()];
    round1.extend(anthropic::text_block(0, "Let me look."));
    round1.extend(anthropic::tool_use_block(
        1,
        "cinch_retrieve",
        "toolu_r1",
        &json!({"key": key}),
    ));
    round1.push(anthropic::message_delta("tool_use", 10));
    round1.push(anthropic::message_stop());
    up.push(Reply::sse(&round1));
    up.push(Reply::sse(&anthropic::stream_text_with_unknowns(
        "It is case 4711.",
    )));
    let resp = post(&proxy.url, "/v1/messages", anthropic_request(true, &log())).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(!text.contains("cinch_retrieve"), "{text}");
    assert_eq!(text.matches("event: message_start").count(), 1);
    assert_eq!(text.matches("event: message_stop").count(), 1);
    assert_eq!(streamed_text(&text), "Let me look.It is case 4711.");
    // Block indices continue across the rounds: 0 = first text, then round 2's blocks.
    let starts: Vec<u64> = text
        .split("\n\n")
        .filter(|e| e.starts_with("event: content_block_start"))
        .map(|e| {
            let data = e.split_once("data: ").unwrap().1;
            serde_json::from_str::<Value>(data).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(starts, (0..starts.len() as u64).collect::<Vec<_>>());
    let cont = up.requests()[1].json();
    let n = cont["messages"].as_array().unwrap().len();
    let turn = &cont["messages"][n - 2]["content"];
    assert_eq!(turn[0]["text"], "Let me look.");
    assert_eq!(turn[1]["input"]["key"], key);
    assert!(cont["messages"][n - 1]["content"][0]["content"]
        .as_str()
        .unwrap()
        .contains("case_200 ... ok"));
}

/// The text of an Anthropic SSE stream, from its `text_delta` events.
fn streamed_text(sse: &str) -> String {
    sse.split("\n\n")
        .filter_map(|e| e.split_once("data: "))
        .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
        .filter(|d| d["delta"]["type"] == "text_delta")
        .map(|d| d["delta"]["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn streams_are_relayed_as_they_arrive() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let gate = Gate::new();
    let events = anthropic::stream_text_with_unknowns("hello");
    let (head, tail) = events.split_at(2);
    let mut chunks: Vec<Chunk> = head.iter().map(|e| Chunk::now(e.clone())).collect();
    chunks.push(Chunk::gated(&gate, tail.concat()));
    up.push(Reply::sse_chunks(chunks));
    let mut resp = post(&proxy.url, "/v1/messages", anthropic_request(true, "short")).await;
    assert_eq!(resp.status(), 200);
    // The first events arrive while the upstream still holds the rest back.
    let first = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
        .await
        .expect("the first events are relayed before the stream ends")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("message_start"));
    gate.open();
    let mut all = first.to_vec();
    while let Some(c) = resp.chunk().await.unwrap() {
        all.extend_from_slice(&c);
    }
    assert_eq!(all, events.concat().into_bytes(), "relayed byte for byte");
}

/// `TCP_NODELAY` of every TCP socket of this process whose local address is `local` (when
/// given) and whose peer is `peer` (when given); listening sockets (no peer) are left out.
/// The proxy runs in this process, so its own sockets are among them.
fn nodelay_of_sockets(
    local: Option<std::net::SocketAddr>,
    peer: Option<std::net::SocketAddr>,
) -> Vec<bool> {
    use std::os::fd::BorrowedFd;
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: the descriptor is only borrowed for the three calls below; had it been
        // closed since the directory was read, they fail with EBADF, which is skipped.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let sock = socket2::SockRef::from(&fd);
        let (Ok(l), Ok(p)) = (sock.local_addr(), sock.peer_addr()) else {
            continue;
        };
        let (Some(l), Some(p)) = (l.as_socket(), p.as_socket()) else {
            continue;
        };
        if local.is_none_or(|a| a == l) && peer.is_none_or(|a| a == p) {
            if let Ok(on) = sock.tcp_nodelay() {
                found.push(on);
            }
        }
    }
    found
}

/// Nagle's algorithm would hold a body written after its headers (and every SSE event after
/// the first write) until the peer's delayed ACK, about 40 ms on Linux: both the connections
/// the proxy accepts and the ones it opens to the upstream have it off.
#[tokio::test]
async fn the_proxys_connections_send_small_writes_at_once() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/v1/messages", proxy.url))
        .header("x-api-key", "sk-ant-test")
        .body(anthropic_request(false, "short"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    // Both keep-alive connections are still open, waiting in their pools.
    let proxy_addr: std::net::SocketAddr = proxy.url["http://".len()..].parse().unwrap();
    let accepted = nodelay_of_sockets(Some(proxy_addr), None);
    assert!(!accepted.is_empty(), "the accepted connection is open");
    assert!(accepted.iter().all(|on| *on), "accepted: {accepted:?}");
    let upstream = nodelay_of_sockets(None, Some(up.addr()));
    assert!(!upstream.is_empty(), "the upstream connection is open");
    assert!(
        upstream.iter().all(|on| *on),
        "to the upstream: {upstream:?}"
    );
}

/// Each SSE event reaches the client while the upstream holds the next one back until the
/// client has seen it: nothing between them batches events.
#[tokio::test]
async fn every_sse_event_reaches_the_client_before_the_next_is_written() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let events = anthropic::stream_text("one two three four five six");
    let gates: Vec<Gate> = events.iter().map(|_| Gate::new()).collect();
    let chunks = events
        .iter()
        .zip(&gates)
        .enumerate()
        .map(|(i, (e, g))| match i {
            0 => Chunk::now(e.clone()),
            _ => Chunk::gated(g, e.clone()),
        })
        .collect();
    up.push(Reply::sse_chunks(chunks));
    let mut resp = post(&proxy.url, "/v1/messages", anthropic_request(true, "short")).await;
    assert_eq!(resp.status(), 200);
    let mut got = Vec::new();
    for (i, event) in events.iter().enumerate() {
        // Event i has been written; event i + 1 waits for its gate.
        while got.len() < events[..=i].concat().len() {
            let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
                .await
                .unwrap_or_else(|_| panic!("event {i} did not arrive while the next was held"))
                .unwrap()
                .unwrap_or_else(|| panic!("the stream ended before event {i}"));
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, events[..=i].concat().into_bytes(), "through {event:?}");
        if let Some(next) = gates.get(i + 1) {
            next.open();
        }
    }
    assert!(resp.chunk().await.unwrap().is_none());
}

#[tokio::test]
async fn upstream_errors_come_back_as_they_were() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let err = anthropic::error_body("overloaded_error", "Overloaded");
    up.push(Reply::json(529, &err).with_header("retry-after", "3"));
    let resp = post(&proxy.url, "/v1/messages", anthropic_request(true, &log())).await;
    assert_eq!(resp.status(), 529);
    assert_eq!(resp.headers()["retry-after"], "3");
    assert_eq!(resp.json::<Value>().await.unwrap(), err);
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_in_the_apis_shape() {
    let up = MockUpstream::start().await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let proxy = start_proxy(&up, |c| c.anthropic_upstream = dead.clone()).await;
    let resp = post(&proxy.url, "/v1/messages", anthropic_request(false, "x")).await;
    assert_eq!(resp.status(), 502);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert!(v["error"]["message"].as_str().unwrap().contains("upstream"));
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |c| c.max_body_bytes = 10_000).await;
    let resp = post(&proxy.url, "/v1/messages", anthropic_request(false, &log())).await;
    assert_eq!(resp.status(), 413);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "request_too_large");
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn openai_chat_retrieval_round_trip() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let body = |stream: bool| {
        json!({"model": "gpt-5", "stream": stream, "messages": [
            {"role": "user", "content": "why does case 4711 fail"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "sh", "arguments": "{\"cmd\":\"cargo test\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": log()}
        ]})
        .to_string()
        .into_bytes()
    };
    up.push(Reply::json(200, &openai_chat::completion_text("ok")));
    post(&proxy.url, "/v1/chat/completions", body(false)).await;
    let sent = up.requests()[0].json();
    let key = marker_keys(sent["messages"][2]["content"].as_str().unwrap())[0].to_string();
    assert_eq!(sent["tools"][0]["function"]["name"], "cinch_retrieve");
    up.clear();
    let call = openai_chat::ToolCall::new("call_r", "cinch_retrieve", &json!({"key": key}));
    up.push(Reply::json(
        200,
        &openai_chat::completion_tool_calls(&[call]),
    ));
    up.push(Reply::json(
        200,
        &openai_chat::completion_text("case 4711 fails"),
    ));
    let resp = post(&proxy.url, "/v1/chat/completions", body(false)).await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "case 4711 fails");
    let cont = up.requests()[1].json();
    let msgs = cont["messages"].as_array().unwrap();
    assert_eq!(msgs[msgs.len() - 1]["tool_call_id"], "call_r");
    assert!(msgs[msgs.len() - 1]["content"]
        .as_str()
        .unwrap()
        .contains("case_200 ... ok"));
    // The same inside a stream: the client sees only the answer.
    up.clear();
    let call = openai_chat::ToolCall::new("call_s", "cinch_retrieve", &json!({"key": key}));
    up.push(Reply::sse(&openai_chat::stream_tool_calls(&[call], true)));
    up.push(Reply::sse(&openai_chat::stream_text(
        "case 4711 fails",
        true,
    )));
    let text = post(&proxy.url, "/v1/chat/completions", body(true))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains("cinch_retrieve") && !text.contains("tool_calls\""),
        "{text}"
    );
    assert_eq!(text.matches("data: [DONE]").count(), 1);
    let content: String = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|d| {
            d["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(content, "case 4711 fails");
    let cont = up.requests()[1].json();
    let msgs = cont["messages"].as_array().unwrap();
    assert_eq!(msgs[msgs.len() - 2]["tool_calls"][0]["id"], "call_s");
    assert!(msgs[msgs.len() - 1]["content"]
        .as_str()
        .unwrap()
        .contains("case_200 ... ok"));
}

#[tokio::test]
async fn openai_responses_stream_retrieval_round_trip() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let body = json!({"model": "gpt-5", "stream": true, "input": [
        {"role": "user", "content": "why does case 4711 fail"},
        {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": log()}
    ]})
    .to_string()
    .into_bytes();
    up.push(Reply::sse(&openai_responses::stream_text("ok")));
    post(&proxy.url, "/v1/responses", body.clone()).await;
    let sent = up.requests()[0].json();
    let key = marker_keys(sent["input"][2]["output"].as_str().unwrap())[0].to_string();
    assert_eq!(sent["tools"][0]["name"], "cinch_retrieve");
    up.clear();
    up.push(Reply::sse(&openai_responses::stream_function_call(
        "call_r",
        "cinch_retrieve",
        &json!({"key": key}),
    )));
    up.push(Reply::sse(&openai_responses::stream_text(
        "case 4711 fails",
    )));
    let text = post(&proxy.url, "/v1/responses", body)
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains("cinch_retrieve"));
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.split_once("data: "))
        .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
        .collect();
    let seq: Vec<u64> = events
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seq,
        (0..seq.len() as u64).collect::<Vec<_>>(),
        "one numbering"
    );
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "response.created").count(),
        1
    );
    assert_eq!(kinds.last(), Some(&"response.completed"));
    let done = events.last().unwrap();
    assert_eq!(
        done["response"]["output"][0]["content"][0]["text"],
        "case 4711 fails"
    );
    let cont = up.requests()[1].json();
    let input = cont["input"].as_array().unwrap();
    assert_eq!(input[input.len() - 1]["call_id"], "call_r");
    assert!(input[input.len() - 1]["output"]
        .as_str()
        .unwrap()
        .contains("case_200 ... ok"));
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_the_upstream_stream() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let events = anthropic::stream_text("a long answer");
    up.push(Reply::sse_dripped(&events, Duration::from_millis(300)));
    let mut resp = post(&proxy.url, "/v1/messages", anthropic_request(true, "short")).await;
    let _ = resp.chunk().await;
    drop(resp);
    up.wait_for_cancelled_streams(1).await;
}

#[tokio::test]
async fn health_stats_and_metrics() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    up.push(Reply::json(200, &anthropic::message_text("fine")));
    post(&proxy.url, "/v1/messages", anthropic_request(false, &log())).await;
    let get = |p: &'static str| {
        let url = format!("{}{p}", proxy.url);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    assert_eq!(get("/healthz").await, "ok\n");
    let stats: Value = serde_json::from_str(&get("/stats").await).unwrap();
    assert_eq!(stats["totals"]["requests"], 1);
    assert!(stats["totals"]["tokens_before"].as_u64().unwrap() > 1000);
    assert_eq!(stats["recent"][0]["compressed"], 1);
    assert_eq!(stats["memo_decisions"], 1);
    let metrics = get("/metrics").await;
    assert!(metrics.contains("cinch_requests_total{api=\"anthropic_messages\"} 1"));
    assert!(metrics.contains("cinch_outputs_compressed_total{kind=\"log\""));
    // Nothing of the content or the key leaks into them.
    assert!(!metrics.contains("sk-ant") && !stats.to_string().contains("sk-ant"));
    assert!(!stats.to_string().contains("case_4711"));
}

#[tokio::test]
async fn two_hundred_concurrent_streams_are_neither_lost_nor_mixed_up() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    // The mock answers in arrival order; each request names its number and the answer must
    // echo it, so every reply is queued as the echo of its own request by the default.
    for i in 0..200 {
        up.push(Reply::sse_dripped(
            &anthropic::stream_text(&format!("answer {i}")),
            Duration::from_millis(5),
        ));
    }
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let url = proxy.url.clone();
        tasks.push(tokio::spawn(async move {
            let resp = post(&url, "/v1/messages", anthropic_request(true, "short")).await;
            assert_eq!(resp.status(), 200);
            resp.text().await.unwrap()
        }));
    }
    let mut seen = std::collections::BTreeSet::new();
    for t in tasks {
        let text = t.await.unwrap();
        let n: usize = text
            .split("answer ")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .expect("every stream carries its answer");
        assert_eq!(text.matches("event: message_stop").count(), 1);
        seen.insert(n);
    }
    assert_eq!(seen.len(), 200, "every answer arrived exactly once");
}

#[tokio::test]
async fn a_turn_calling_both_tools_gives_the_client_its_call_and_the_model_its_answer() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    up.push(Reply::json(200, &anthropic::message_text("fine")));
    post(&proxy.url, "/v1/messages", anthropic_request(false, &log())).await;
    let key = first_key(&up.requests()[0].json());
    up.clear();
    let mut mixed = anthropic::message_tool_use("Bash", "toolu_c9", &json!({"command": "ls"}));
    mixed["content"].as_array_mut().unwrap().insert(
        1,
        json!({"type": "tool_use", "id": "toolu_r9", "name": "cinch_retrieve", "input": {"key": key}}),
    );
    up.push(Reply::json(200, &mixed));
    let resp = post(&proxy.url, "/v1/messages", anthropic_request(false, &log())).await;
    let seen: Value = resp.json().await.unwrap();
    let names: Vec<&str> = seen["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert_eq!(names, ["Bash"], "the client sees only its own tool");
    assert_eq!(
        up.requests().len(),
        1,
        "no continuation: the client has a call to run"
    );
    // The client's next turn: its call and its result. The model gets its answer back.
    let mut next: Value = serde_json::from_slice(&anthropic_request(false, &log())).unwrap();
    let msgs = next["messages"].as_array_mut().unwrap();
    msgs.push(json!({"role": "assistant", "content": seen["content"]}));
    msgs.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_c9", "content": "Cargo.toml"}
    ]}));
    let next = serde_json::to_vec(&next).unwrap();
    for _ in 0..2 {
        up.push(Reply::json(200, &anthropic::message_text("done")));
        post(&proxy.url, "/v1/messages", next.clone()).await;
    }
    let reqs = up.requests();
    assert_eq!(reqs[1].body, reqs[2].body, "the same bytes on every replay");
    let sent = reqs[1].json();
    let msgs = sent["messages"].as_array().unwrap();
    let turn = &msgs[msgs.len() - 2]["content"];
    assert_eq!(turn[turn.as_array().unwrap().len() - 1]["id"], "toolu_r9");
    let results = &msgs[msgs.len() - 1]["content"];
    assert_eq!(results[0]["tool_use_id"], "toolu_r9");
    assert!(results[0]["content"]
        .as_str()
        .unwrap()
        .contains("case_200 ... ok"));
    assert_eq!(results[1]["tool_use_id"], "toolu_c9");
    assert_eq!(sent["tools"][1]["name"], "cinch_retrieve");
}

#[tokio::test]
async fn shutdown_lets_streams_in_flight_finish() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let events = anthropic::stream_text("an answer that takes a while");
    up.push(Reply::sse_dripped(&events, Duration::from_millis(50)));
    let mut resp = post(&proxy.url, "/v1/messages", anthropic_request(true, "short")).await;
    let mut all = resp.chunk().await.unwrap().unwrap().to_vec();
    proxy.stop.send(()).unwrap();
    while let Some(c) = resp.chunk().await.unwrap() {
        all.extend_from_slice(&c);
    }
    assert_eq!(all, events.concat().into_bytes());
    tokio::time::timeout(Duration::from_secs(10), proxy.done)
        .await
        .expect("the server stops once the stream is done")
        .unwrap()
        .unwrap();
    assert!(reqwest::get(format!("{}/healthz", proxy.url))
        .await
        .is_err());
}

#[tokio::test]
async fn other_paths_pass_through_untouched() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    up.push(Reply::json(200, &json!({"input_tokens": 12})));
    let body = anthropic_request(false, &log());
    let resp = post(&proxy.url, "/v1/messages/count_tokens", body.clone()).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["input_tokens"], 12);
    up.push(Reply::json(200, &json!({"data": []})));
    let models = reqwest::Client::new()
        .get(format!("{}/v1/models?limit=5", proxy.url))
        .header("authorization", "Bearer sk-test")
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
    let reqs = up.requests();
    assert_eq!(reqs[0].path, "/v1/messages/count_tokens");
    assert_eq!(reqs[0].body, body, "count_tokens is not compressed");
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        ("GET", "/v1/models?limit=5")
    );
    assert_eq!(reqs[1].header("authorization"), Some("Bearer sk-test"));
}

#[tokio::test]
async fn one_api_key_cannot_retrieve_what_another_stored() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    up.push(Reply::json(200, &anthropic::message_text("fine")));
    post(&proxy.url, "/v1/messages", anthropic_request(false, &log())).await;
    let sent = up.requests()[0].json();
    let key = first_key(&sent);
    let compressed = sent["messages"][2]["content"][0]["content"]
        .as_str()
        .unwrap();
    up.clear();
    up.push(Reply::json(
        200,
        &anthropic::message_tool_use("cinch_retrieve", "toolu_x", &json!({"key": key})),
    ));
    up.push(Reply::json(200, &anthropic::message_text("done")));
    // Another key with the marker (not the content) in its history: it gets nothing.
    let other = reqwest::Client::new()
        .post(format!("{}/v1/messages", proxy.url))
        .header("x-api-key", "sk-ant-other")
        .body(anthropic_request(false, compressed))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    let cont = up.requests()[1].json();
    let n = cont["messages"].as_array().unwrap().len();
    let answer = cont["messages"][n - 1]["content"][0]["content"]
        .as_str()
        .unwrap();
    assert!(
        answer.starts_with("unknown key"),
        "{}",
        &answer[..answer.len().min(200)]
    );
}

#[tokio::test]
async fn a_newest_tool_result_carrying_the_cache_mark_is_compressed_and_keeps_it() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    // Claude Code marks the newest block; in a tool loop that is the tool result itself.
    let mut body: Value = serde_json::from_slice(&anthropic_request(false, &log())).unwrap();
    let newest = body["messages"][2]["content"].as_array_mut().unwrap();
    newest.pop();
    newest[0]["cache_control"] = json!({"type": "ephemeral"});
    up.push(Reply::json(200, &anthropic::message_text("fine")));
    post(
        &proxy.url,
        "/v1/messages",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    let sent = up.requests()[0].json();
    let block = &sent["messages"][2]["content"][0];
    assert_eq!(block["cache_control"], json!({"type": "ephemeral"}));
    assert!(block["content"].as_str().unwrap().contains("<<ccr:"));
    assert_eq!(
        sent["system"], body["system"],
        "the marked system prompt is untouched"
    );
}

/// The budget is a cap in the proxy too: a tool result of 20 000 records, thousands of which
/// the user's question matches, goes upstream within the policy's budget.
#[tokio::test]
async fn a_huge_tool_result_goes_upstream_within_the_budget() {
    let up = MockUpstream::start().await;
    let proxy = start_proxy(&up, |c| c.policy.budget = 2000).await;
    let rows: Vec<Value> = (0..20_000)
        .map(|i| json!({"id": i, "status": if i % 3 == 0 { "failed" } else { "ok" }, "host": format!("web-{}", i % 50)}))
        .collect();
    let output = serde_json::to_string(&rows).unwrap();
    let body = json!({
        "model": "claude-sonnet-5",
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": "Which jobs have status = failed?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "jobs --json"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": output}
            ]}
        ]
    });
    up.push(Reply::json(200, &anthropic::message_text("fine")));
    let resp = post(
        &proxy.url,
        "/v1/messages",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let sent = up.requests()[0].json();
    let text = sent["messages"][2]["content"][0]["content"]
        .as_str()
        .unwrap();
    let tokens = cinch_core::Tokenizer::default().count(text);
    assert!(tokens <= 2000, "{tokens} tokens sent upstream");
    assert!(text.contains("failed") && text.contains("<<ccr:"), "{text}");
}
