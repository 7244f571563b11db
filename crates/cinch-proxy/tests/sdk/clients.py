#!/usr/bin/env python3
"""Real-SDK clients for cinch-proxy's integration tests.

Each scenario makes one call with the official `anthropic` or `openai` Python SDK against
--base-url (the proxy, or the mock upstream directly), checks that the SDK parsed the answer
as the canned reply says it should, and prints one line of JSON describing what it got. On a
failed check it prints `FAIL <scenario>: <why>` to stderr and exits 1; on an unexpected
exception, a traceback and exit 2; when the SDKs cannot be imported, exit 3.

    python3 clients.py --base-url http://127.0.0.1:PORT SCENARIO [--expect-text TEXT]
        [--expect-tool-name NAME] [--expect-tool-id ID] [--expect-call-id ID]
        [--expect-tool-input JSON]

--base-url is the server's root: the Anthropic SDK appends /v1/messages itself, and the
OpenAI SDK is given ROOT/v1, as a user of a proxy would configure it.

Canned replies the Rust test queues on the mock upstream, and so what each scenario expects
(the defaults of the --expect-* options; tests/sdk.rs passes them explicitly):

  scenario                              upstream reply                      expectation
  anthropic_text                        message, text TEXT                  text, end_turn, usage
  anthropic_stream_text                 SSE text stream of TEXT             text deltas and final message
  anthropic_tool_use                    message, tool_use TOOL              tool name, id, input; tool_use
  anthropic_stream_tool_use             SSE with tool_use TOOL              input_json deltas and final input
  anthropic_stream_unknown              SSE with unknown event and block    text still parsed (lenient SDK)
  anthropic_stream_overloaded           SSE then `error` overloaded_error   SDK raises APIStatusError
  anthropic_stream_cut                  SSE cut off before message_stop     SDK raises on the broken stream
  anthropic_overloaded_529              529 with overloaded_error body      SDK raises status 529
  openai_chat                           chat.completion, content TEXT       content, finish_reason stop, usage
  openai_chat_stream                    chunks of TEXT, then usage chunk    content deltas, usage (include_usage)
  openai_chat_tool_calls                chat.completion calling TOOL        tool_calls[0] name, id, arguments
  openai_chat_tool_calls_stream         chunks calling TOOL, usage chunk    arguments rebuilt by index
  openai_chat_rate_limited              429 with rate_limit_error body      SDK raises RateLimitError
  openai_responses                      response, output_text TEXT          output_text, status completed
  openai_responses_stream               Responses SSE of TEXT               text deltas, final response
  openai_responses_function_call        response, function_call TOOL        call name, call_id, arguments
  openai_responses_function_call_stream Responses SSE calling TOOL          argument deltas, final call

  TEXT = DEFAULT_TEXT below; TOOL = DEFAULT_TOOL_NAME called with id DEFAULT_TOOL_ID (Anthropic)
  or DEFAULT_CALL_ID (OpenAI) and input DEFAULT_TOOL_INPUT.

Every request carries a conversation whose history holds a large tool result (a 400-line
build log with one ERROR line, or a 300-row JSON array), so that a proxy has something to
compress. The summary's `sent_tool_result_chars` gives its size as sent.
"""

import argparse
import json
import signal
import sys
import traceback

try:
    import anthropic
    import openai
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(
        f"FAIL: cannot import the SDKs ({e}). Install them with "
        "`python3 -m pip install --target DIR anthropic openai` and set "
        "CINCH_SDK_PYTHONPATH=DIR for the Rust tests (PYTHONPATH=DIR when run by hand).",
        file=sys.stderr,
    )
    sys.exit(3)

DEFAULT_TEXT = "The build fails because src/config.rs imports serde_yaml, which Cargo.toml lacks."
DEFAULT_TOOL_NAME = "read_file"
DEFAULT_TOOL_ID = "toolu_01ReadConfigFile"
DEFAULT_CALL_ID = "call_ReadConfigFile"
DEFAULT_TOOL_INPUT = {"path": "src/config.rs", "start_line": 80, "end_line": 96}

API_KEY = "sk-test-cinch-proxy-0000"
ANTHROPIC_MODEL = "claude-sonnet-5"
CHAT_MODEL = "gpt-4o"
RESPONSES_MODEL = "gpt-4.1"
# One error line among hundreds: what a compressor must not lose.
BUILD_ERROR_LINE = "ERROR src/config.rs:88:5: unresolved import `serde_yaml`: no external crate `serde_yaml`"
# A hard stop, so that a proxy that never answers fails the test instead of hanging it.
OVERALL_TIMEOUT_S = 90
REQUEST_TIMEOUT_S = 60


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def check_eq(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}: expected {expected!r}, got {actual!r}")


def build_log(lines=400):
    out = []
    for i in range(lines):
        t = 0.8 + i * 0.137
        if i == 311:
            out.append(BUILD_ERROR_LINE)
        elif i % 50 == 49:
            out.append(f"[{t:9.3f}s] warning: unused variable `tmp{i}` in src/module_{i % 17}.rs:{i % 90 + 1}:9")
        else:
            out.append(
                f"[{t:9.3f}s]    Compiling dep-{i % 113:03d} v0.{i % 9}.{i % 31} "
                f"(registry+https://example.invalid/index) target=x86_64-unknown-linux-gnu"
            )
    out.append("error: could not compile `app` (bin \"app\") due to 1 previous error")
    return "\n".join(out)


def user_rows(rows=300):
    return json.dumps(
        [
            {
                "id": i,
                "name": f"user{i:03d}",
                "email": f"user{i:03d}@example.com",
                "active": i % 7 != 0,
                "plan": ["free", "pro", "team"][i % 3],
                "last_login": f"2025-0{1 + i % 9}-{1 + i % 28:02d}T0{i % 10}:15:00Z",
            }
            for i in range(rows)
        ]
    )


BUILD_LOG = build_log()
USER_ROWS = user_rows()

ANTHROPIC_TOOLS = [
    {
        "name": "bash",
        "description": "Run a shell command in the repository.",
        "input_schema": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    },
    {
        "name": "read_file",
        "description": "Read lines of a file in the repository.",
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "start_line": {"type": "integer"},
                "end_line": {"type": "integer"},
            },
            "required": ["path"],
        },
    },
]

OPENAI_FUNCTIONS = [
    {
        "name": "query_users",
        "description": "Query the users table.",
        "parameters": {
            "type": "object",
            "properties": {"where": {"type": "string"}},
            "required": [],
        },
    },
    {
        "name": "read_file",
        "description": "Read lines of a file in the repository.",
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "start_line": {"type": "integer"},
                "end_line": {"type": "integer"},
            },
            "required": ["path"],
        },
    },
]


def anthropic_client(base_url, strict=True):
    # Strict validation makes the SDK reject a reply missing a field its models require, which a
    # lenient client would only trip over when a user reads that field.
    return anthropic.Anthropic(
        api_key=API_KEY,
        base_url=base_url,
        max_retries=0,
        timeout=REQUEST_TIMEOUT_S,
        _strict_response_validation=strict,
    )


def openai_client(base_url):
    return openai.OpenAI(
        api_key=API_KEY,
        base_url=base_url.rstrip("/") + "/v1",
        max_retries=0,
        timeout=REQUEST_TIMEOUT_S,
        _strict_response_validation=True,
    )


def anthropic_request():
    messages = [
        {"role": "user", "content": "Run the build and tell me why it fails."},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I'll run the build."},
                {
                    "type": "tool_use",
                    "id": "toolu_01HistoryCargoBuild",
                    "name": "bash",
                    "input": {"command": "cargo build"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01HistoryCargoBuild", "content": BUILD_LOG},
                {"type": "text", "text": "Why did it fail?"},
            ],
        },
    ]
    return dict(model=ANTHROPIC_MODEL, max_tokens=1024, messages=messages, tools=ANTHROPIC_TOOLS)


def chat_messages():
    return [
        {"role": "system", "content": "You are a careful data assistant."},
        {"role": "user", "content": "Which users are inactive?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_HistoryQueryUsers",
                    "type": "function",
                    "function": {"name": "query_users", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_HistoryQueryUsers", "content": USER_ROWS},
    ]


def chat_request():
    tools = [{"type": "function", "function": f} for f in OPENAI_FUNCTIONS]
    return dict(model=CHAT_MODEL, messages=chat_messages(), tools=tools)


def responses_request():
    items = [
        {"role": "user", "content": "Run the build and tell me why it fails."},
        {
            "type": "function_call",
            "call_id": "call_HistoryCargoBuild",
            "name": "bash",
            "arguments": json.dumps({"command": "cargo build"}),
        },
        {"type": "function_call_output", "call_id": "call_HistoryCargoBuild", "output": BUILD_LOG},
    ]
    tools = [{"type": "function", "strict": False, **f} for f in OPENAI_FUNCTIONS]
    return dict(model=RESPONSES_MODEL, input=items, tools=tools)


def usage_of(usage):
    return usage.model_dump(exclude_none=True) if usage is not None else None


# --- Anthropic ---------------------------------------------------------------------------


def anthropic_text(base_url, exp):
    message = anthropic_client(base_url).messages.create(**anthropic_request())
    texts = [b.text for b in message.content if b.type == "text"]
    check_eq(texts, [exp.text], "text blocks")
    check_eq(message.stop_reason, "end_turn", "stop_reason")
    check(message.usage.output_tokens > 0, "usage.output_tokens should be positive")
    return dict(text=texts[0], stop_reason=message.stop_reason, id=message.id,
                model=message.model, usage=usage_of(message.usage),
                sent_tool_result_chars=len(BUILD_LOG))


def anthropic_stream_text(base_url, exp):
    with anthropic_client(base_url).messages.stream(**anthropic_request()) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    check(len(deltas) > 1, f"expected several text deltas, got {deltas!r}")
    check_eq("".join(deltas), exp.text, "streamed text")
    check_eq([b.text for b in final.content if b.type == "text"], [exp.text], "final message text")
    check_eq(final.stop_reason, "end_turn", "final stop_reason")
    check(final.usage.output_tokens > 0, "final usage.output_tokens should be positive")
    return dict(text="".join(deltas), deltas=len(deltas), stop_reason=final.stop_reason,
                usage=usage_of(final.usage), sent_tool_result_chars=len(BUILD_LOG))


def tool_summary(name, tool_id, tool_input):
    return dict(name=name, id=tool_id, input=tool_input)


def anthropic_tool_use(base_url, exp):
    message = anthropic_client(base_url).messages.create(**anthropic_request())
    uses = [b for b in message.content if b.type == "tool_use"]
    check_eq(len(uses), 1, "number of tool_use blocks")
    use = uses[0]
    check_eq((use.name, use.id, use.input), (exp.tool_name, exp.tool_id, exp.tool_input), "tool_use")
    check_eq(message.stop_reason, "tool_use", "stop_reason")
    return dict(tool=tool_summary(use.name, use.id, use.input), stop_reason=message.stop_reason,
                usage=usage_of(message.usage), sent_tool_result_chars=len(BUILD_LOG))


def anthropic_stream_tool_use(base_url, exp):
    partial = []
    with anthropic_client(base_url).messages.stream(**anthropic_request()) as stream:
        for event in stream:
            if event.type == "input_json":
                partial.append(event.partial_json)
        final = stream.get_final_message()
    check_eq(json.loads("".join(partial)), exp.tool_input, "input rebuilt from input_json deltas")
    uses = [b for b in final.content if b.type == "tool_use"]
    check_eq(len(uses), 1, "number of tool_use blocks in the final message")
    use = uses[0]
    check_eq((use.name, use.id, use.input), (exp.tool_name, exp.tool_id, exp.tool_input), "final tool_use")
    check_eq(final.stop_reason, "tool_use", "final stop_reason")
    return dict(tool=tool_summary(use.name, use.id, use.input), input_json_deltas=len(partial),
                stop_reason=final.stop_reason, usage=usage_of(final.usage),
                sent_tool_result_chars=len(BUILD_LOG))


def anthropic_stream_unknown(base_url, exp):
    # Lenient, as users run it: the SDK is meant to tolerate event and block types newer than
    # itself, and strict validation would reject them by design.
    seen = []
    with anthropic_client(base_url, strict=False).messages.stream(**anthropic_request()) as stream:
        for event in stream:
            seen.append(event.type)
        final = stream.get_final_message()
    check_eq("".join(b.text for b in final.content if b.type == "text"), exp.text, "final text")
    check_eq(final.stop_reason, "end_turn", "final stop_reason")
    return dict(text=exp.text, event_types=seen, content_types=[b.type for b in final.content],
                sent_tool_result_chars=len(BUILD_LOG))


def anthropic_stream_overloaded(base_url, exp):
    received = []
    try:
        with anthropic_client(base_url).messages.stream(**anthropic_request()) as stream:
            for text in stream.text_stream:
                received.append(text)
    except anthropic.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        error_type = (body.get("error") or {}).get("type")
        check_eq(error_type, "overloaded_error", "error type in the error event")
        return dict(error_class=type(e).__name__, error_type=error_type, text_before="".join(received),
                    sent_tool_result_chars=len(BUILD_LOG))
    raise Failure(f"the stream ended without the error event; text received: {''.join(received)!r}")


def anthropic_stream_cut(base_url, exp):
    received = []
    try:
        with anthropic_client(base_url).messages.stream(**anthropic_request()) as stream:
            for text in stream.text_stream:
                received.append(text)
    except anthropic.APIResponseValidationError:
        raise  # a malformed event is not the cut this scenario is about
    except Exception as e:  # the transport's error type is the SDK's business
        check(received, f"the stream failed before any text arrived: {e!r}")
        return dict(error_class=type(e).__name__, error=str(e)[:200], text_before="".join(received),
                    sent_tool_result_chars=len(BUILD_LOG))
    raise Failure(f"a cut stream looked complete to the SDK; text received: {''.join(received)!r}")


def anthropic_overloaded_529(base_url, exp):
    try:
        anthropic_client(base_url).messages.create(**anthropic_request())
    except anthropic.APIStatusError as e:
        check_eq(e.status_code, 529, "status code")
        body = e.body if isinstance(e.body, dict) else {}
        error_type = (body.get("error") or {}).get("type")
        check_eq(error_type, "overloaded_error", "error type")
        return dict(error_class=type(e).__name__, status=e.status_code, error_type=error_type,
                    sent_tool_result_chars=len(BUILD_LOG))
    raise Failure("the SDK returned a message for a 529 reply")


# --- OpenAI Chat Completions ---------------------------------------------------------------


def openai_chat(base_url, exp):
    completion = openai_client(base_url).chat.completions.create(**chat_request())
    check_eq(completion.object, "chat.completion", "object")
    choice = completion.choices[0]
    check_eq(choice.message.content, exp.text, "message content")
    check_eq(choice.finish_reason, "stop", "finish_reason")
    check(completion.usage is not None and completion.usage.total_tokens > 0, "usage.total_tokens")
    return dict(text=choice.message.content, finish_reason=choice.finish_reason, id=completion.id,
                model=completion.model, usage=usage_of(completion.usage),
                sent_tool_result_chars=len(USER_ROWS))


def openai_chat_stream(base_url, exp):
    stream = openai_client(base_url).chat.completions.create(
        **chat_request(), stream=True, stream_options={"include_usage": True}
    )
    deltas, finish_reason, usage, chunks = [], None, None, 0
    for chunk in stream:
        chunks += 1
        check_eq(chunk.object, "chat.completion.chunk", "chunk object")
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
            if choice.finish_reason:
                finish_reason = choice.finish_reason
        if chunk.usage is not None:
            check_eq(chunk.choices, [], "choices of the usage chunk")
            usage = chunk.usage
    check(len(deltas) > 1, f"expected several content deltas, got {deltas!r}")
    check_eq("".join(deltas), exp.text, "streamed content")
    check_eq(finish_reason, "stop", "finish_reason")
    check(usage is not None and usage.total_tokens > 0, "the final usage chunk (include_usage)")
    return dict(text="".join(deltas), deltas=len(deltas), chunks=chunks, finish_reason=finish_reason,
                usage=usage_of(usage), sent_tool_result_chars=len(USER_ROWS))


def openai_chat_tool_calls(base_url, exp):
    completion = openai_client(base_url).chat.completions.create(**chat_request())
    choice = completion.choices[0]
    check_eq(choice.finish_reason, "tool_calls", "finish_reason")
    calls = choice.message.tool_calls or []
    check_eq(len(calls), 1, "number of tool calls")
    call = calls[0]
    arguments = json.loads(call.function.arguments)
    check_eq((call.function.name, call.id, arguments), (exp.tool_name, exp.call_id, exp.tool_input), "tool call")
    return dict(tool=tool_summary(call.function.name, call.id, arguments),
                finish_reason=choice.finish_reason, usage=usage_of(completion.usage),
                sent_tool_result_chars=len(USER_ROWS))


def openai_chat_tool_calls_stream(base_url, exp):
    stream = openai_client(base_url).chat.completions.create(
        **chat_request(), stream=True, stream_options={"include_usage": True}
    )
    calls, finish_reason, usage = {}, None, None
    for chunk in stream:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                if delta.id:
                    call["id"] = delta.id
                if delta.function and delta.function.name:
                    call["name"] = delta.function.name
                if delta.function and delta.function.arguments:
                    call["arguments"] += delta.function.arguments
            if choice.finish_reason:
                finish_reason = choice.finish_reason
        if chunk.usage is not None:
            usage = chunk.usage
    check_eq(sorted(calls), [0], "tool call indexes")
    call = calls[0]
    arguments = json.loads(call["arguments"])
    check_eq((call["name"], call["id"], arguments), (exp.tool_name, exp.call_id, exp.tool_input), "tool call")
    check_eq(finish_reason, "tool_calls", "finish_reason")
    check(usage is not None, "the final usage chunk (include_usage)")
    return dict(tool=tool_summary(call["name"], call["id"], arguments), finish_reason=finish_reason,
                usage=usage_of(usage), sent_tool_result_chars=len(USER_ROWS))


def openai_chat_rate_limited(base_url, exp):
    try:
        openai_client(base_url).chat.completions.create(**chat_request())
    except openai.RateLimitError as e:
        body = e.body if isinstance(e.body, dict) else {}
        error_type = body.get("type") or (body.get("error") or {}).get("type")
        return dict(error_class=type(e).__name__, status=e.status_code, error_type=error_type,
                    sent_tool_result_chars=len(USER_ROWS))
    raise Failure("the SDK returned a completion for a 429 reply")


# --- OpenAI Responses --------------------------------------------------------------------


def function_calls_of(response):
    return [item for item in response.output if item.type == "function_call"]


def openai_responses(base_url, exp):
    response = openai_client(base_url).responses.create(**responses_request())
    check_eq(response.status, "completed", "status")
    check_eq(response.output_text, exp.text, "output_text")
    check(response.usage is not None and response.usage.total_tokens > 0, "usage.total_tokens")
    return dict(text=response.output_text, status=response.status, id=response.id,
                usage=usage_of(response.usage), sent_tool_result_chars=len(BUILD_LOG))


def openai_responses_stream(base_url, exp):
    deltas, types = [], []
    with openai_client(base_url).responses.stream(**responses_request()) as stream:
        for event in stream:
            types.append(event.type)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    check(len(deltas) > 1, f"expected several text deltas, got {deltas!r}")
    check_eq("".join(deltas), exp.text, "streamed text")
    check_eq(final.output_text, exp.text, "final output_text")
    check_eq(final.status, "completed", "final status")
    check_eq(types[0], "response.created", "first event")
    check_eq(types[-1], "response.completed", "last event")
    return dict(text="".join(deltas), deltas=len(deltas), status=final.status,
                usage=usage_of(final.usage), sent_tool_result_chars=len(BUILD_LOG))


def openai_responses_function_call(base_url, exp):
    response = openai_client(base_url).responses.create(**responses_request())
    calls = function_calls_of(response)
    check_eq(len(calls), 1, "number of function_call items")
    call = calls[0]
    arguments = json.loads(call.arguments)
    check_eq((call.name, call.call_id, arguments), (exp.tool_name, exp.call_id, exp.tool_input), "function call")
    return dict(tool=tool_summary(call.name, call.call_id, arguments), status=response.status,
                usage=usage_of(response.usage), sent_tool_result_chars=len(BUILD_LOG))


def openai_responses_function_call_stream(base_url, exp):
    partial = []
    with openai_client(base_url).responses.stream(**responses_request()) as stream:
        for event in stream:
            if event.type == "response.function_call_arguments.delta":
                partial.append(event.delta)
        final = stream.get_final_response()
    check_eq(json.loads("".join(partial)), exp.tool_input, "arguments rebuilt from deltas")
    calls = function_calls_of(final)
    check_eq(len(calls), 1, "number of function_call items in the final response")
    call = calls[0]
    arguments = json.loads(call.arguments)
    check_eq((call.name, call.call_id, arguments), (exp.tool_name, exp.call_id, exp.tool_input), "function call")
    return dict(tool=tool_summary(call.name, call.call_id, arguments), argument_deltas=len(partial),
                status=final.status, usage=usage_of(final.usage), sent_tool_result_chars=len(BUILD_LOG))


SCENARIOS = {
    f.__name__: f
    for f in [
        anthropic_text,
        anthropic_stream_text,
        anthropic_tool_use,
        anthropic_stream_tool_use,
        anthropic_stream_unknown,
        anthropic_stream_overloaded,
        anthropic_stream_cut,
        anthropic_overloaded_529,
        openai_chat,
        openai_chat_stream,
        openai_chat_tool_calls,
        openai_chat_tool_calls_stream,
        openai_chat_rate_limited,
        openai_responses,
        openai_responses_stream,
        openai_responses_function_call,
        openai_responses_function_call_stream,
    ]
}


class Expected:
    def __init__(self, args):
        self.text = args.expect_text
        self.tool_name = args.expect_tool_name
        self.tool_id = args.expect_tool_id
        self.call_id = args.expect_call_id
        self.tool_input = json.loads(args.expect_tool_input)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="server root, e.g. http://127.0.0.1:8080")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--expect-text", default=DEFAULT_TEXT)
    parser.add_argument("--expect-tool-name", default=DEFAULT_TOOL_NAME)
    parser.add_argument("--expect-tool-id", default=DEFAULT_TOOL_ID)
    parser.add_argument("--expect-call-id", default=DEFAULT_CALL_ID)
    parser.add_argument("--expect-tool-input", default=json.dumps(DEFAULT_TOOL_INPUT))
    args = parser.parse_args()

    def out_of_time(signum, frame):
        raise Failure(f"no result within {OVERALL_TIMEOUT_S}s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(OVERALL_TIMEOUT_S)
    try:
        summary = SCENARIOS[args.scenario](args.base_url, Expected(args))
    except Failure as e:
        print(f"FAIL {args.scenario}: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception:
        traceback.print_exc()
        print(f"FAIL {args.scenario}: unexpected exception (traceback above)", file=sys.stderr)
        sys.exit(2)
    summary = dict(scenario=args.scenario, ok=True, **summary)
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
