use super::retrieve::{self, Call};
use super::*;
use crate::ccr::MemoryStore;
use serde_json::{json, Value};
use std::time::Duration;

/// A build log big enough to compress: many passing tests, one failure.
fn log() -> String {
    let mut s = String::new();
    for i in 0..400 {
        s.push_str(&format!(
            "2026-11-24T10:{:02}:{:02}Z INFO test suite::case_{i} ... ok (elapsed {} ms)\n",
            i / 60,
            i % 60,
            i % 17
        ));
    }
    s.push_str("2026-11-24T10:07:00Z ERROR test suite::case_4711 FAILED: assertion left == right (left: 3, right: 4)\n");
    s
}

struct Env {
    store: std::sync::Arc<MemoryStore>,
    memo: Memo,
}

impl Env {
    fn new() -> Env {
        Env {
            store: Default::default(),
            memo: Memo::default(),
        }
    }

    fn session(&self) -> Session<'_> {
        Session {
            store: &*self.store,
            namespace: "t",
            memo: &self.memo,
            deadline: None,
            cancelled: None,
            tokenizer: Tokenizer::default(),
            free_text: crate::FreeText::Deterministic,
        }
    }

    fn run(&self, api: Api, body: &str) -> Compressed {
        compress_messages(api, body.as_bytes(), &Policy::default(), &self.session())
    }
}

/// Claude Code's shape: system and the newest user block carry cache_control; the tool
/// results sit before that block.
fn anthropic_body(extra_turn: bool) -> String {
    let mut messages = vec![
        json!({"role": "user", "content": "Why does case 4711 fail?"}),
        json!({"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Run the tests.", "signature": "c2lnbmF0dXJl"},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cargo test"}}
        ]}),
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": log()},
            {"type": "text", "text": "<system-reminder>keep going</system-reminder>", "cache_control": {"type": "ephemeral"}}
        ]}),
    ];
    if extra_turn {
        messages.push(json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_2", "name": "Read", "input": {"file_path": "src/lib.rs"}}
        ]}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": log()}
        ]}));
    }
    // Pretty-printed with odd spacing and a number spelled `1.50`: none of it may change.
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "messages": messages,
    });
    serde_json::to_string_pretty(&body).unwrap().replace(
        "\"max_tokens\": 1024",
        "\"temperature\" :  1.50,\n  \"max_tokens\": 1024",
    )
}

fn tool_result_text(body: &[u8], message: usize) -> String {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["messages"][message]["content"][0]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn claude_code_shape_gets_its_tool_results_compressed() {
    let env = Env::new();
    let body = anthropic_body(false);
    let out = env.run(Api::Anthropic, &body);
    let new = out.body.expect("the log is compressed");
    let report = &out.report;
    assert_eq!(report.outputs.len(), 1);
    assert_eq!(report.outputs[0].action, "compressed");
    assert_eq!(report.outputs[0].tool.as_deref(), Some("Bash"));
    assert!(report.tokens_after * 4 < report.tokens_before, "{report:?}");
    assert!(report.markers);
    // The failure is kept; the rest is retrievable.
    let text = tool_result_text(&new, 2);
    assert!(text.contains("case_4711 FAILED"), "{text}");
    let key = crate::ccr::marker_keys(&text)[0].clone();
    let back = env.store.get("t", &key).unwrap();
    assert!(String::from_utf8(back).unwrap().contains("case_200 ... ok"));
    // Every byte outside the tool result's string is the client's.
    let v: Value = serde_json::from_str(&body).unwrap();
    let old_raw =
        serde_json::to_string(v["messages"][2]["content"][0]["content"].as_str().unwrap()).unwrap();
    let at = body.find(&old_raw).unwrap();
    let new_raw = serde_json::to_string(&text).unwrap();
    assert_eq!(&new[..at], &body.as_bytes()[..at]);
    assert_eq!(&new[at..at + new_raw.len()], new_raw.as_bytes());
    assert_eq!(
        &new[at + new_raw.len()..],
        &body.as_bytes()[at + old_raw.len()..]
    );
}

#[test]
fn the_same_history_compresses_to_the_same_bytes_on_every_turn() {
    let first = Env::new().run(Api::Anthropic, &anthropic_body(false));
    // A fresh process (no memo) and a later turn with a new user question.
    let env = Env::new();
    let later = env.run(Api::Anthropic, &anthropic_body(true));
    let a = first.body.unwrap();
    let b = later.body.unwrap();
    assert_eq!(tool_result_text(&a, 2), tool_result_text(&b, 2));
    // The newer result comes from Read: protected, left whole.
    assert_eq!(tool_result_text(&b, 4), log());
    let read = &later.report.outputs[1];
    assert_eq!(read.action, "whole");
    assert!(read.reason.as_deref().unwrap().contains("exact content"));
    // Sent again through the same process: remembered, same bytes.
    let again = env.run(Api::Anthropic, &anthropic_body(true));
    assert_eq!(again.body.unwrap(), b);
    assert!(again.report.outputs.iter().all(|o| o.remembered));
}

#[test]
fn untouched_when_there_is_nothing_to_do() {
    let env = Env::new();
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"ls","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"Cargo.toml\nsrc"}]}]}"#;
    let out = env.run(Api::Anthropic, body);
    assert!(out.body.is_none());
    assert_eq!(out.report.outputs[0].action, "whole");
    for bad in [
        "",
        "not json",
        "[1,2]",
        r#"{"messages": 5}"#,
        r#"{"messages":[],"messages":[]}"#,
    ] {
        let out = env.run(Api::Anthropic, bad);
        assert!(out.body.is_none(), "{bad}");
    }
    let out = compress_messages(
        Api::OpenAiChat,
        b"\xff\xfe",
        &Policy::default(),
        &env.session(),
    );
    assert!(out.report.reason.unwrap().contains("UTF-8"));
}

fn marked_body() -> String {
    json!({"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": log(), "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ]},
        {"role": "assistant", "content": [{"type": "redacted_thinking", "data": log()}]},
    ]})
    .to_string()
}

#[test]
fn a_marked_tool_result_is_compressed_when_first_seen_and_keeps_its_mark() {
    let env = Env::new();
    let body = marked_body();
    let out = env.run(Api::Anthropic, &body);
    let new = String::from_utf8(out.body.expect("compressed")).unwrap();
    assert_eq!(out.report.outputs[0].action, "compressed");
    assert!(new.contains(r#","cache_control":{"type":"ephemeral","ttl":"1h"}}"#));
    let v: Value = serde_json::from_str(&new).unwrap();
    assert_eq!(
        v["messages"][3]["content"][0]["data"].as_str().unwrap(),
        log()
    );
    // The mark moves on: the output goes out as it went the first time.
    let later = body.replace(r#","cache_control":{"type":"ephemeral","ttl":"1h"}"#, "");
    let again = env.run(Api::Anthropic, &later).body.unwrap();
    let w: Value = serde_json::from_slice(&again).unwrap();
    assert_eq!(
        w["messages"][2]["content"][0]["content"],
        v["messages"][2]["content"][0]["content"]
    );
}

#[test]
fn with_the_strict_policy_marked_outputs_are_never_rewritten() {
    let env = Env::new();
    let body = marked_body();
    let strict = Policy {
        keep_cache_control_outputs: true,
        ..Policy::default()
    };
    let out = compress_messages(Api::Anthropic, body.as_bytes(), &strict, &env.session());
    assert!(out.body.is_none());
    assert_eq!(out.report.outputs[0].reason.as_deref(), Some(CACHE_CONTROL));
    // A later turn moves the mark on: the output that was sent whole stays whole, even from
    // a new process (the decision is in the store) and under the default policy.
    let later = body.replace(r#","cache_control":{"type":"ephemeral","ttl":"1h"}"#, "");
    assert_ne!(later, body);
    let fresh = Env {
        store: env.store.clone(),
        memo: Memo::default(),
    };
    let out = fresh.run(Api::Anthropic, &later);
    assert!(out.body.is_none(), "{:?}", out.report.reason);
    assert!(out.report.outputs[0].remembered);
}

#[test]
fn past_the_deadline_outputs_go_whole_and_stay_whole() {
    let env = Env::new();
    let body = anthropic_body(false);
    let mut session = env.session();
    session.deadline = Some(Instant::now() - Duration::from_millis(1));
    let out = compress_messages(
        Api::Anthropic,
        body.as_bytes(),
        &Policy::default(),
        &session,
    );
    assert!(out.body.is_none());
    assert!(out.report.outputs[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("deadline"));
    let again = env.run(Api::Anthropic, &body);
    assert!(again.body.is_none());
}

#[test]
fn a_cancelled_request_compresses_nothing_and_remembers_nothing() {
    let env = Env::new();
    let body = anthropic_body(false);
    let gone = AtomicBool::new(true);
    let mut session = env.session();
    session.cancelled = Some(&gone);
    let out = compress_messages(
        Api::Anthropic,
        body.as_bytes(),
        &Policy::default(),
        &session,
    );
    assert!(out.body.is_none());
    assert!(env.run(Api::Anthropic, &body).body.is_some());
}

#[test]
fn policy_rules_protect_and_budget_tools() {
    let env = Env::new();
    let body = anthropic_body(false);
    let mut policy = Policy::default();
    policy.tools.insert(
        "bash".into(),
        ToolRule {
            compress: false,
            budget: None,
            kind: None,
        },
    );
    let out = compress_messages(Api::Anthropic, body.as_bytes(), &policy, &env.session());
    assert!(out.body.is_none());
    assert!(out.report.outputs[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("policy"));
    // An MCP-qualified read is protected like a plain one.
    assert!(Policy::default()
        .rule(Some("mcp__fs__read_file"))
        .whole
        .is_some());
    assert!(Policy::default().rule(Some("Grep")).whole.is_none());
    let parsed: Policy =
        serde_json::from_str(r#"{"min_bytes": 10, "tools": {"Grep": {"budget": 300}}}"#).unwrap();
    assert_eq!(parsed.rule(Some("grep")).budget, Some(300));
    assert!(serde_json::from_str::<Policy>(r#"{"tols": {}}"#).is_err());
}

#[test]
fn openai_chat_tool_messages_are_compressed() {
    let env = Env::new();
    let body = json!({"model": "gpt-5", "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "why does case 4711 fail"}]},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "run_tests", "arguments": "{\"filter\":\"suite\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": log()},
    ]})
    .to_string();
    let out = env.run(Api::OpenAiChat, &body);
    let new: Value = serde_json::from_slice(&out.body.unwrap()).unwrap();
    let text = new["messages"][3]["content"].as_str().unwrap();
    assert!(text.contains("case_4711 FAILED") && text.contains("<<ccr:"));
    let o = &out.report.outputs[0];
    assert_eq!(o.tool.as_deref(), Some("run_tests"));
    assert_eq!(
        new["messages"][2],
        serde_json::from_str::<Value>(&body).unwrap()["messages"][2]
    );
}

#[test]
fn openai_responses_function_outputs_are_compressed() {
    let env = Env::new();
    let body = json!({"model": "gpt-5", "input": [
        {"role": "user", "content": "why does case 4711 fail"},
        {"type": "reasoning", "encrypted_content": log()},
        {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"cmd\":[\"cargo\",\"test\"]}"},
        {"type": "function_call_output", "call_id": "c1", "output": log()},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": log()}]},
    ]})
    .to_string();
    let out = env.run(Api::OpenAiResponses, &body);
    let new: Value = serde_json::from_slice(&out.body.unwrap()).unwrap();
    assert!(new["input"][3]["output"]
        .as_str()
        .unwrap()
        .contains("<<ccr:"));
    assert!(new["input"][4]["output"][0]["text"]
        .as_str()
        .unwrap()
        .contains("<<ccr:"));
    assert_eq!(
        new["input"][1]["encrypted_content"].as_str().unwrap(),
        log()
    );
    assert_eq!(out.report.outputs.len(), 2);
    assert_eq!(out.report.outputs[0].tool.as_deref(), Some("shell"));
}

#[test]
fn queries_come_from_the_call_and_the_user_text_before_it() {
    let body = anthropic_body(true);
    let v = view::view(Api::Anthropic, &body).unwrap();
    assert_eq!(v.outputs[0].query, "cargo test Why does case 4711 fail?");
    assert_eq!(v.outputs[1].query, "src/lib.rs Why does case 4711 fail?");
    assert_eq!(&body[v.outputs[0].span.clone()], v.outputs[0].raw);
}

#[test]
fn the_retrieval_tool_is_appended_after_the_clients_tools() {
    let body = br#"{"model":"m","tools":[{"name":"Bash","input_schema":{}}],"messages":[]}"#;
    let with = retrieve::with_tool(Api::Anthropic, body).unwrap();
    let v: Value = serde_json::from_slice(&with).unwrap();
    assert_eq!(v["tools"][0]["name"], "Bash");
    assert_eq!(v["tools"][1]["name"], retrieve::TOOL_NAME);
    assert!(with.starts_with(br#"{"model":"m","tools":[{"name":"Bash","input_schema":{}},"#));
    assert!(
        retrieve::with_tool(Api::Anthropic, &with).is_none(),
        "added once"
    );
    for api in [Api::Anthropic, Api::OpenAiChat, Api::OpenAiResponses] {
        let with = retrieve::with_tool(api, b"{\"messages\": [] }\n").unwrap();
        let v: Value = serde_json::from_slice(&with).unwrap();
        assert_eq!(v["tools"].as_array().unwrap().len(), 1);
        let empty = retrieve::with_tool(api, br#"{"tools": [ ]}"#).unwrap();
        assert!(serde_json::from_slice::<Value>(&empty).is_ok());
    }
}

#[test]
fn retrieval_answers_from_the_store() {
    let env = Env::new();
    let key = env.store.put("t", log().as_bytes()).unwrap();
    let all = retrieve::answer(
        &*env.store,
        "t",
        &Call {
            key: key.to_string(),
            query: None,
        },
    );
    assert_eq!(all, log());
    let some = retrieve::answer(
        &*env.store,
        "t",
        &Call {
            key: key.to_string(),
            query: Some("case_4711".into()),
        },
    );
    assert!(some.lines().next().unwrap().contains("case_4711 FAILED"));
    let other = retrieve::answer(
        &*env.store,
        "u",
        &Call {
            key: key.to_string(),
            query: None,
        },
    );
    assert!(other.starts_with("unknown key"), "{other}");
    let bad = retrieve::answer(
        &*env.store,
        "t",
        &Call {
            key: "../x".into(),
            query: None,
        },
    );
    assert!(bad.contains("not a cinch key"));
}

#[test]
fn a_tool_rule_can_name_the_kind_of_its_output() {
    let env = Env::new();
    let body = anthropic_body(false);
    let detected = env.run(Api::Anthropic, &body);
    assert_eq!(detected.report.outputs[0].kind, Some(Kind::Log));
    let policy: Policy = serde_json::from_str(r#"{"tools": {"Bash": {"kind": "lines"}}}"#).unwrap();
    let out = compress_messages(Api::Anthropic, body.as_bytes(), &policy, &env.session());
    assert_eq!(out.report.outputs[0].kind, Some(Kind::Lines));
    assert_eq!(out.report.outputs[0].strategy, Some("lines"));
    // A name `--kind` would not take is an error in the config, not a silent default.
    let err = serde_json::from_str::<Policy>(r#"{"tools": {"Bash": {"kind": "spreadsheet"}}}"#)
        .unwrap_err();
    assert!(err.to_string().contains("unknown kind"), "{err}");
}
