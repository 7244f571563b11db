//! The official Python SDKs (`anthropic`, `openai`) through the proxy, against canned upstream
//! replies.
//!
//! Each test queues a canned reply on the mock upstream, runs one scenario of
//! `tests/sdk/clients.py` against the proxy (the script asserts that the SDK parsed the reply
//! as expected and prints a JSON summary), then checks the summary and what reached the
//! upstream: the conversation's big tool result arrives compressed, its facts kept.
//!
//! Needs `python3` (or `CINCH_SDK_PYTHON`) with both SDKs importable; install them with
//! `python3 -m pip install --target DIR anthropic openai` and set `CINCH_SDK_PYTHONPATH=DIR`.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use support::openai_chat::ToolCall;
use support::proxy::start_proxy;
use support::{anthropic, openai_chat, openai_responses, MockUpstream, RecordedRequest, Reply};

// The canned answers; clients.py documents the same values as its defaults.
const TEXT: &str =
    "The build fails because src/config.rs imports serde_yaml, which Cargo.toml lacks.";
const TOOL_NAME: &str = "read_file";
const TOOL_ID: &str = "toolu_01ReadConfigFile";
const CALL_ID: &str = "call_ReadConfigFile";
// What clients.py sends.
const API_KEY: &str = "sk-test-cinch-proxy-0000";
const BUILD_ERROR_LINE: &str =
    "ERROR src/config.rs:88:5: unresolved import `serde_yaml`: no external crate `serde_yaml`";

fn tool_input() -> Value {
    json!({"path": "src/config.rs", "start_line": 80, "end_line": 96})
}

/// Runs `scenario` of clients.py against `base_url` with `args` after it, and returns the JSON
/// summary it printed; fails the test, with the script's output, if it did not succeed.
async fn run_client(base_url: &str, scenario: &str, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/clients.py");
    let python = std::env::var("CINCH_SDK_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut command = Command::new(&python);
    // -B: no __pycache__ left in the source tree.
    command
        .arg("-B")
        .arg(&script)
        .arg("--base-url")
        .arg(base_url)
        .arg(scenario)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("CINCH_SDK_PYTHONPATH") {
        command.env("PYTHONPATH", path);
    }
    // Settings a developer may have for real use would reroute or re-authenticate the SDKs.
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
    ] {
        command.env_remove(var);
    }
    command.env("NO_PROXY", "127.0.0.1,localhost");

    // Blocking wait on a pool thread: the mock upstream runs on this test's runtime and must
    // keep answering while the client waits for it. clients.py bounds its own run time.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("client runner thread")
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{python}` ({e}): the SDK tests need Python 3 with the `anthropic` \
                 and `openai` packages (set CINCH_SDK_PYTHON to another interpreter)"
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        panic!("the Python SDKs are missing: {}", stderr.trim());
    }
    assert!(
        output.status.success(),
        "clients.py {scenario} failed ({}):\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
        output.status
    );
    let line = stdout.lines().last().unwrap_or_default();
    let summary: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("clients.py {scenario} printed no JSON summary ({e}):\n{stdout}\n{stderr}")
    });
    assert_eq!(summary["scenario"], scenario);
    assert_eq!(summary["ok"], true);
    // Shown when a later assertion fails (or with --nocapture).
    eprintln!("clients.py {scenario}: {summary}");
    summary
}

/// The --expect-* options matching the canned replies queued by these tests.
fn expectations() -> Vec<String> {
    [
        ("--expect-text", TEXT.to_owned()),
        ("--expect-tool-name", TOOL_NAME.to_owned()),
        ("--expect-tool-id", TOOL_ID.to_owned()),
        ("--expect-call-id", CALL_ID.to_owned()),
        ("--expect-tool-input", tool_input().to_string()),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_owned(), value])
    .collect()
}

async fn run_scenario(base_url: &str, scenario: &str) -> Value {
    let args = expectations();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_client(base_url, scenario, &args).await
}

/// The single request the scenario made, at `path`.
fn only_request(mock: &MockUpstream, path: &str) -> RecordedRequest {
    let requests = mock.requests();
    assert_eq!(
        requests.len(),
        1,
        "one upstream request expected (no retries): {:?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let request = requests.into_iter().next().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, path);
    assert!(
        request
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "content-type: {:?}",
        request.header("content-type")
    );
    request
}

/// The tool result text a summary says was sent, and the one that arrived: the proxy shrank
/// it, and left a marker for what it dropped.
fn check_tool_result_size(summary: &Value, received: &str) {
    let sent = summary["sent_tool_result_chars"]
        .as_u64()
        .expect("sent_tool_result_chars") as usize;
    assert!(
        received.contains("<<ccr:"),
        "the tool result carries a marker"
    );
    let received = received.chars().count();
    assert!(received > 0, "the tool result arrived empty");
    assert!(
        received * 2 < sent,
        "the tool result was not compressed: sent {sent} chars, upstream got {received}"
    );
}

/// The client's tools, then the proxy's retrieval tool (the request carries markers).
fn check_tools(names: &[&str], client: &[&str]) {
    assert_eq!(&names[..names.len() - 1], client);
    assert_eq!(names[names.len() - 1], "cinch_retrieve");
}

/// Checks an Anthropic request as the SDK sends it; returns the body.
fn check_anthropic_request(mock: &MockUpstream, summary: &Value, stream: bool) -> Value {
    let request = only_request(mock, "/v1/messages");
    // SDK versions differ: older ones send the key as `x-api-key`, newer ones as a bearer token.
    let bearer = format!("Bearer {API_KEY}");
    assert!(
        request.header("x-api-key") == Some(API_KEY)
            || request.header("authorization") == Some(bearer.as_str()),
        "the API key reached the upstream: x-api-key {:?}, authorization {:?}",
        request.header("x-api-key"),
        request.header("authorization")
    );
    assert!(request.header("anthropic-version").is_some());
    let body = request.json();
    assert_eq!(body["model"], "claude-sonnet-5");
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["stream"].as_bool().unwrap_or(false), stream);
    let tools: Vec<&str> = body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    check_tools(&tools, &["bash", "read_file"]);

    let messages = body["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(messages[1]["content"][1]["id"], "toolu_01HistoryCargoBuild");
    let result = &messages[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["tool_use_id"], "toolu_01HistoryCargoBuild");
    let text = tool_result_text(&result["content"]);
    assert!(
        text.contains(BUILD_ERROR_LINE),
        "the build log's one ERROR line must reach the model"
    );
    check_tool_result_size(summary, &text);
    assert_eq!(messages[2]["content"][1]["text"], "Why did it fail?");
    body
}

/// A tool result's text, whether sent as a string or as text blocks.
fn tool_result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("unexpected tool_result content: {other}"),
    }
}

fn check_openai_auth(request: &RecordedRequest) {
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
}

/// Checks a Chat Completions request as the SDK sends it; returns the body.
fn check_chat_request(mock: &MockUpstream, summary: &Value, stream: bool) -> Value {
    let request = only_request(mock, "/v1/chat/completions");
    check_openai_auth(&request);
    let body = request.json();
    assert_eq!(body["model"], "gpt-4o");
    if stream {
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
    } else {
        assert!(!body["stream"].as_bool().unwrap_or(false));
    }
    let messages = body["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    assert_eq!(
        messages[2]["tool_calls"][0]["id"],
        messages[3]["tool_call_id"]
    );
    let rows = messages[3]["content"].as_str().expect("tool content");
    check_tool_result_size(summary, rows);
    let functions: Vec<&str> = body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    check_tools(&functions, &["query_users", "read_file"]);
    body
}

/// Checks a Responses request as the SDK sends it; returns the body.
fn check_responses_request(mock: &MockUpstream, summary: &Value, stream: bool) -> Value {
    let request = only_request(mock, "/v1/responses");
    check_openai_auth(&request);
    let body = request.json();
    assert_eq!(body["model"], "gpt-4.1");
    assert_eq!(body["stream"].as_bool().unwrap_or(false), stream);
    let input = body["input"].as_array().expect("input items");
    assert_eq!(input[1]["type"], "function_call");
    assert_eq!(input[2]["type"], "function_call_output");
    assert_eq!(input[1]["call_id"], input[2]["call_id"]);
    let output = input[2]["output"].as_str().expect("function_call_output");
    assert!(
        output.contains(BUILD_ERROR_LINE),
        "the build log's one ERROR line must reach the model"
    );
    check_tool_result_size(summary, output);
    body
}

fn expected_tool() -> Value {
    json!({"name": TOOL_NAME, "id": TOOL_ID, "input": tool_input()})
}

fn expected_call() -> Value {
    json!({"name": TOOL_NAME, "id": CALL_ID, "input": tool_input()})
}

#[tokio::test]
async fn anthropic_text() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::json(200, &anthropic::message_text(TEXT)));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "anthropic_text").await;
    assert_eq!(summary["text"], TEXT);
    assert_eq!(summary["stop_reason"], "end_turn");
    assert_eq!(summary["usage"]["input_tokens"], anthropic::INPUT_TOKENS);
    assert_eq!(summary["usage"]["output_tokens"], anthropic::OUTPUT_TOKENS);
    check_anthropic_request(&mock, &summary, false);
}

#[tokio::test]
async fn anthropic_stream_text() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::sse_dripped(
        &anthropic::stream_text(TEXT),
        Duration::from_millis(5),
    ));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "anthropic_stream_text").await;
    assert_eq!(summary["text"], TEXT);
    assert_eq!(summary["stop_reason"], "end_turn");
    assert_eq!(summary["usage"]["output_tokens"], anthropic::OUTPUT_TOKENS);
    check_anthropic_request(&mock, &summary, true);
}

#[tokio::test]
async fn anthropic_tool_use() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::json(
        200,
        &anthropic::message_tool_use(TOOL_NAME, TOOL_ID, &tool_input()),
    ));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "anthropic_tool_use").await;
    assert_eq!(summary["tool"], expected_tool());
    assert_eq!(summary["stop_reason"], "tool_use");
    check_anthropic_request(&mock, &summary, false);
}

#[tokio::test]
async fn anthropic_stream_tool_use() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::sse(&anthropic::stream_tool_use(
        TOOL_NAME,
        TOOL_ID,
        &tool_input(),
    )));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "anthropic_stream_tool_use").await;
    assert_eq!(summary["tool"], expected_tool());
    assert_eq!(summary["stop_reason"], "tool_use");
    assert!(summary["input_json_deltas"].as_u64().unwrap() > 1);
    check_anthropic_request(&mock, &summary, true);
}

#[tokio::test]
async fn anthropic_stream_unknown_event_and_block_pass() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::sse(&anthropic::stream_text_with_unknowns(TEXT)));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "anthropic_stream_unknown").await;
    assert_eq!(summary["text"], TEXT);
    let seen: Vec<&str> = summary["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        seen.contains(&"cinch_future_event"),
        "the unknown event reached the SDK: {seen:?}"
    );
    assert_eq!(
        summary["content_types"],
        json!(["cinch_future_block", "text"])
    );
    check_anthropic_request(&mock, &summary, true);
}

#[tokio::test]
async fn anthropic_stream_overloaded_error_event() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::sse(&anthropic::stream_overloaded_midway(
        "Checking the",
    )));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "anthropic_stream_overloaded").await;
    assert_eq!(summary["error_type"], "overloaded_error");
    assert_eq!(summary["text_before"], "Checking the");
    check_anthropic_request(&mock, &summary, true);
}

#[tokio::test]
async fn anthropic_stream_cut_midway_is_an_error() {
    let mock = MockUpstream::start().await;
    let events = anthropic::stream_text(TEXT);
    // message_start, ping, content_block_start and the first two deltas.
    mock.push(Reply::sse(&events[..5]).then_abort());
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "anthropic_stream_cut").await;
    let before = summary["text_before"].as_str().unwrap();
    assert!(
        !before.is_empty() && TEXT.starts_with(before) && before.len() < TEXT.len(),
        "text before the cut: {before:?}"
    );
    check_anthropic_request(&mock, &summary, true);
}

#[tokio::test]
async fn anthropic_overloaded_529() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::json(
        529,
        &anthropic::error_body("overloaded_error", "Overloaded"),
    ));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "anthropic_overloaded_529").await;
    assert_eq!(summary["status"], 529);
    assert_eq!(summary["error_type"], "overloaded_error");
    check_anthropic_request(&mock, &summary, false);
}

#[tokio::test]
async fn openai_chat() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::json(200, &openai_chat::completion_text(TEXT)));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_chat").await;
    assert_eq!(summary["text"], TEXT);
    assert_eq!(summary["finish_reason"], "stop");
    assert_eq!(
        summary["usage"]["prompt_tokens"],
        openai_chat::PROMPT_TOKENS
    );
    check_chat_request(&mock, &summary, false);
}

#[tokio::test]
async fn openai_chat_stream() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::sse_dripped(
        &openai_chat::stream_text(TEXT, true),
        Duration::from_millis(5),
    ));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_chat_stream").await;
    assert_eq!(summary["text"], TEXT);
    assert_eq!(summary["finish_reason"], "stop");
    assert_eq!(
        summary["usage"]["total_tokens"],
        openai_chat::PROMPT_TOKENS + openai_chat::COMPLETION_TOKENS
    );
    check_chat_request(&mock, &summary, true);
}

#[tokio::test]
async fn openai_chat_tool_calls() {
    let mock = MockUpstream::start().await;
    let call = ToolCall::new(CALL_ID, TOOL_NAME, &tool_input());
    mock.push(Reply::json(
        200,
        &openai_chat::completion_tool_calls(&[call]),
    ));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_chat_tool_calls").await;
    assert_eq!(summary["tool"], expected_call());
    assert_eq!(summary["finish_reason"], "tool_calls");
    check_chat_request(&mock, &summary, false);
}

#[tokio::test]
async fn openai_chat_tool_calls_stream() {
    let mock = MockUpstream::start().await;
    let call = ToolCall::new(CALL_ID, TOOL_NAME, &tool_input());
    mock.push(Reply::sse(&openai_chat::stream_tool_calls(&[call], true)));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_chat_tool_calls_stream").await;
    assert_eq!(summary["tool"], expected_call());
    assert_eq!(summary["finish_reason"], "tool_calls");
    check_chat_request(&mock, &summary, true);
}

#[tokio::test]
async fn openai_chat_rate_limited() {
    let mock = MockUpstream::start().await;
    mock.push(
        Reply::json(
            429,
            &openai_chat::error_body("tokens", "Rate limit reached for gpt-4o"),
        )
        .with_header("retry-after", "20"),
    );
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_chat_rate_limited").await;
    assert_eq!(summary["status"], 429);
    assert_eq!(summary["error_class"], "RateLimitError");
    assert_eq!(summary["error_type"], "tokens");
    check_chat_request(&mock, &summary, false);
}

#[tokio::test]
async fn openai_responses() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::json(200, &openai_responses::response_text(TEXT)));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_responses").await;
    assert_eq!(summary["text"], TEXT);
    assert_eq!(summary["status"], "completed");
    assert_eq!(
        summary["usage"]["input_tokens"],
        openai_responses::INPUT_TOKENS
    );
    check_responses_request(&mock, &summary, false);
}

#[tokio::test]
async fn openai_responses_stream() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::sse_dripped(
        &openai_responses::stream_text(TEXT),
        Duration::from_millis(5),
    ));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_responses_stream").await;
    assert_eq!(summary["text"], TEXT);
    assert_eq!(summary["status"], "completed");
    assert_eq!(
        summary["usage"]["output_tokens"],
        openai_responses::OUTPUT_TOKENS
    );
    check_responses_request(&mock, &summary, true);
}

#[tokio::test]
async fn openai_responses_function_call() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::json(
        200,
        &openai_responses::response_function_call(CALL_ID, TOOL_NAME, &tool_input()),
    ));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_responses_function_call").await;
    assert_eq!(summary["tool"], expected_call());
    check_responses_request(&mock, &summary, false);
}

#[tokio::test]
async fn openai_responses_function_call_stream() {
    let mock = MockUpstream::start().await;
    mock.push(Reply::sse(&openai_responses::stream_function_call(
        CALL_ID,
        TOOL_NAME,
        &tool_input(),
    )));
    let proxy = start_proxy(&mock, |_| {}).await;
    let base_url = proxy.url.clone();

    let summary = run_scenario(&base_url, "openai_responses_function_call_stream").await;
    assert_eq!(summary["tool"], expected_call());
    assert!(summary["argument_deltas"].as_u64().unwrap() > 1);
    check_responses_request(&mock, &summary, true);
}

/// The key of the first marker in what the upstream received.
fn marker_key(mock: &MockUpstream) -> String {
    let body = mock.requests()[0].body_text();
    let at = body.find("<<ccr:").expect("a marker reached the upstream") + 6;
    body[at..at + 16].to_string()
}

#[tokio::test]
async fn anthropic_retrieval_loop_is_invisible_to_the_sdk() {
    let mock = MockUpstream::start().await;
    let proxy = start_proxy(&mock, |_| {}).await;
    mock.push(Reply::json(200, &anthropic::message_text(TEXT)));
    run_scenario(&proxy.url, "anthropic_text").await;
    let key = marker_key(&mock);
    let call = json!({"key": key, "query": "serde_yaml"});
    for (scenario, stream) in [("anthropic_text", false), ("anthropic_stream_text", true)] {
        mock.clear();
        if stream {
            // The model says nothing before the call, so the SDK's text is the answer's.
            let mut events = vec![anthropic::message_start("msg_r"), anthropic::ping()];
            events.extend(anthropic::tool_use_block(
                0,
                "cinch_retrieve",
                "toolu_r",
                &call,
            ));
            events.push(anthropic::message_delta("tool_use", 5));
            events.push(anthropic::message_stop());
            mock.push(Reply::sse(&events));
            mock.push(Reply::sse(&anthropic::stream_text(TEXT)));
        } else {
            mock.push(Reply::json(
                200,
                &anthropic::message_tool_use("cinch_retrieve", "toolu_r", &call),
            ));
            mock.push(Reply::json(200, &anthropic::message_text(TEXT)));
        }
        let summary = run_scenario(&proxy.url, scenario).await;
        assert_eq!(summary["text"], TEXT, "{scenario}");
        assert_eq!(summary["stop_reason"], "end_turn", "{scenario}");
        let requests = mock.requests();
        assert_eq!(requests.len(), 2, "{scenario}: the proxy continued once");
        let answer = requests[1].body_text();
        assert!(
            answer.contains("toolu_r") && answer.contains("serde_yaml"),
            "{scenario}"
        );
    }
}

#[tokio::test]
async fn openai_retrieval_loop_is_invisible_to_the_sdk() {
    let mock = MockUpstream::start().await;
    let proxy = start_proxy(&mock, |_| {}).await;
    mock.push(Reply::json(200, &openai_responses::response_text(TEXT)));
    run_scenario(&proxy.url, "openai_responses").await;
    let key = marker_key(&mock);
    let call = json!({"key": key, "query": "serde_yaml"});
    mock.clear();
    mock.push(Reply::sse(&openai_responses::stream_function_call(
        "call_r",
        "cinch_retrieve",
        &call,
    )));
    mock.push(Reply::sse(&openai_responses::stream_text(TEXT)));
    let summary = run_scenario(&proxy.url, "openai_responses_stream").await;
    assert_eq!(summary["text"], TEXT);
    assert_eq!(mock.requests().len(), 2);
    assert!(mock.requests()[1].body_text().contains("call_r"));

    mock.clear();
    mock.push(Reply::json(200, &openai_chat::completion_text(TEXT)));
    run_scenario(&proxy.url, "openai_chat").await;
    let key = marker_key(&mock);
    mock.clear();
    let call = ToolCall::new("call_r", "cinch_retrieve", &json!({"key": key}));
    mock.push(Reply::sse(&openai_chat::stream_tool_calls(&[call], true)));
    mock.push(Reply::sse(&openai_chat::stream_text(TEXT, true)));
    let summary = run_scenario(&proxy.url, "openai_chat_stream").await;
    assert_eq!(summary["text"], TEXT);
    assert_eq!(mock.requests().len(), 2);
}
