//! Retrieval calls the client never saw, put back into the history it sends.
//!
//! When the model calls the retrieval tool and the client's own tools in one turn, the client
//! must get its calls (and not ours), and the model must still get the answer to ours. The
//! proxy answers ours, hands the client the turn without them, and remembers them as
//! [`Hidden`] under the ids of the client's calls. On every later request the client replays
//! that turn; [`reinsert`] puts the hidden calls and their answers back, right after the
//! client's calls, the same bytes every time (so the prompt cache still matches).

use super::splice::splice;
use super::view::{list, Body, Entry};
use super::Api;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::ops::Range;

/// A retrieval call the client did not see, and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenCall {
    /// The call's id.
    pub id: String,
    /// Its arguments as JSON text (`{"key": ...}`).
    pub arguments: String,
    /// What the proxy answered.
    pub answer: String,
}

/// The retrieval calls hidden from one turn.
pub type Hidden = Vec<HiddenCall>;

#[derive(Deserialize)]
struct WithId<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
}

fn str_of(raw: Option<&RawValue>) -> Option<String> {
    raw.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
}

fn span(body: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - body.as_ptr() as usize;
    start..start + part.len()
}

/// Where a piece goes: inserted at a byte offset.
struct Insert {
    at: usize,
    text: String,
}

/// Inserts `items` (JSON texts) into the array `raw` (a slice of `body`): at its start or end.
fn into_array(body: &str, raw: &str, items: &[String], at_start: bool) -> Insert {
    let r = span(body, raw);
    let empty = raw[1..raw.len() - 1].trim().is_empty();
    let joined = items.join(",");
    if at_start {
        let text = if empty { joined } else { format!("{joined},") };
        Insert {
            at: r.start + 1,
            text,
        }
    } else {
        let text = if empty { joined } else { format!(",{joined}") };
        Insert {
            at: r.end - 1,
            text,
        }
    }
}

fn json_text(v: &Value) -> String {
    serde_json::to_string(v).expect("JSON values serialise")
}

/// `body` with the hidden retrieval calls put back after the client's calls they were made
/// with. `lookup` gives the hidden calls remembered under one of the client's call ids.
/// `None` when there is nothing to put back (or the body is not a request of `api`).
pub fn reinsert(api: Api, body: &[u8], lookup: &dyn Fn(&str) -> Option<Hidden>) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let top: Body = serde_json::from_str(text).ok()?;
    let entries: Vec<&RawValue> = list(top.conversation(api)).ok()?;
    let parsed: Vec<Option<Entry>> = entries
        .iter()
        .map(|r| serde_json::from_str(r.get()).ok())
        .collect();
    // Every id already in the body: a call put back by the client itself is not doubled.
    let present = |id: &str| text.contains(&format!("\"{id}\""));
    let mut inserts: Vec<Insert> = Vec::new();
    for (i, entry) in parsed.iter().enumerate() {
        let Some(entry) = entry else { continue };
        match api {
            Api::Anthropic => {
                if str_of(entry.role).as_deref() != Some("assistant") {
                    continue;
                }
                let Some(content) = entry.content.filter(|c| c.get().starts_with('[')) else {
                    continue;
                };
                let blocks: Vec<WithId> = list(Some(content)).unwrap_or_default();
                let Some(hidden) = blocks
                    .iter()
                    .filter(|b| str_of(b.kind).as_deref() == Some("tool_use"))
                    .filter_map(|b| str_of(b.id))
                    .find_map(|id| lookup(&id))
                    .filter(|h| h.iter().all(|c| !present(&c.id)))
                else {
                    continue;
                };
                // The answers go first in the next user message (tool results lead it).
                let Some(Some(next)) = parsed.get(i + 1) else {
                    continue;
                };
                let Some(next_content) = next.content.filter(|c| c.get().starts_with('[')) else {
                    continue;
                };
                let calls: Vec<String> = hidden
                    .iter()
                    .map(|c| {
                        let input: Value = serde_json::from_str(&c.arguments).unwrap_or(json!({}));
                        json_text(&json!({"type": "tool_use", "id": c.id, "name": super::retrieve::TOOL_NAME, "input": input}))
                    })
                    .collect();
                let results: Vec<String> = hidden
                    .iter()
                    .map(|c| json_text(&json!({"type": "tool_result", "tool_use_id": c.id, "content": c.answer})))
                    .collect();
                inserts.push(into_array(text, content.get(), &calls, false));
                inserts.push(into_array(text, next_content.get(), &results, true));
            }
            Api::OpenAiChat => {
                if str_of(entry.role).as_deref() != Some("assistant") {
                    continue;
                }
                let Some(calls_raw) = entry.tool_calls.filter(|c| c.get().starts_with('[')) else {
                    continue;
                };
                let ids: Vec<WithId> = list(Some(calls_raw)).unwrap_or_default();
                let Some(hidden) = ids
                    .iter()
                    .filter_map(|c| str_of(c.id))
                    .find_map(|id| lookup(&id))
                    .filter(|h| h.iter().all(|c| !present(&c.id)))
                else {
                    continue;
                };
                let calls: Vec<String> = hidden
                    .iter()
                    .map(|c| json_text(&json!({"id": c.id, "type": "function", "function": {"name": super::retrieve::TOOL_NAME, "arguments": c.arguments}})))
                    .collect();
                let results: Vec<String> = hidden
                    .iter()
                    .map(|c| {
                        json_text(
                            &json!({"role": "tool", "tool_call_id": c.id, "content": c.answer}),
                        )
                    })
                    .collect();
                inserts.push(into_array(text, calls_raw.get(), &calls, false));
                let end = span(text, entries[i].get()).end;
                inserts.push(Insert {
                    at: end,
                    text: format!(",{}", results.join(",")),
                });
            }
            Api::OpenAiResponses => {
                if str_of(entry.kind).as_deref() != Some("function_call") {
                    continue;
                }
                let Some(hidden) = str_of(entry.call_id)
                    .and_then(|id| lookup(&id))
                    .filter(|h| h.iter().all(|c| !present(&c.id)))
                else {
                    continue;
                };
                let items: Vec<String> = hidden
                    .iter()
                    .flat_map(|c| {
                        [
                            json_text(&json!({"type": "function_call", "call_id": c.id, "name": super::retrieve::TOOL_NAME, "arguments": c.arguments})),
                            json_text(&json!({"type": "function_call_output", "call_id": c.id, "output": c.answer})),
                        ]
                    })
                    .collect();
                let end = span(text, entries[i].get()).end;
                inserts.push(Insert {
                    at: end,
                    text: format!(",{}", items.join(",")),
                });
            }
        }
    }
    if inserts.is_empty() {
        return None;
    }
    inserts.sort_by_key(|i| i.at);
    let edits: Vec<(Range<usize>, String)> =
        inserts.into_iter().map(|i| (i.at..i.at, i.text)).collect();
    Some(splice(body, &edits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden() -> Hidden {
        vec![HiddenCall {
            id: "r1".into(),
            arguments: r#"{"key":"0123456789abcdef"}"#.into(),
            answer: "the original".into(),
        }]
    }

    fn lookup(id: &str) -> Option<Hidden> {
        (id == "c1").then(hidden)
    }

    #[test]
    fn anthropic_turns_get_the_call_and_its_answer_back() {
        let body = br#"{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"x"},{"type":"tool_use","id":"c1","name":"Bash","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"ok"}]}]}"#;
        let out = reinsert(Api::Anthropic, body, &lookup).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["messages"][1]["content"][2]["name"], "cinch_retrieve");
        assert_eq!(
            v["messages"][1]["content"][2]["input"]["key"],
            "0123456789abcdef"
        );
        assert_eq!(v["messages"][2]["content"][0]["tool_use_id"], "r1");
        assert_eq!(v["messages"][2]["content"][0]["content"], "the original");
        assert_eq!(v["messages"][2]["content"][1]["tool_use_id"], "c1");
        // Idempotent, and the same bytes every time.
        assert!(reinsert(Api::Anthropic, &out, &lookup).is_none());
        assert_eq!(reinsert(Api::Anthropic, body, &lookup).unwrap(), out);
        assert!(reinsert(Api::Anthropic, body, &|_| None).is_none());
    }

    #[test]
    fn openai_chat_and_responses_too() {
        let chat = br#"{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"sh","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}]}"#;
        let v: Value =
            serde_json::from_slice(&reinsert(Api::OpenAiChat, chat, &lookup).unwrap()).unwrap();
        assert_eq!(
            v["messages"][0]["tool_calls"][1]["function"]["name"],
            "cinch_retrieve"
        );
        assert_eq!(v["messages"][1]["tool_call_id"], "r1");
        assert_eq!(v["messages"][2]["tool_call_id"], "c1");
        let responses = br#"{"input":[{"type":"function_call","call_id":"c1","name":"sh","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ok"}]}"#;
        let v: Value =
            serde_json::from_slice(&reinsert(Api::OpenAiResponses, responses, &lookup).unwrap())
                .unwrap();
        assert_eq!(v["input"][1]["name"], "cinch_retrieve");
        assert_eq!(v["input"][2]["output"], "the original");
        assert_eq!(v["input"][3]["call_id"], "c1");
    }
}
