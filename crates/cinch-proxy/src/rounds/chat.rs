//! OpenAI Chat Completions streams: `data:` chunks whose tool-call deltas are keyed by index,
//! ended by `data: [DONE]`.

use super::{call_or_empty, Carry, Filter, Step};
use crate::sse;
use cinch_core::messages::retrieve::{self, Call};
use cinch_core::messages::Api;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// One tool call as rebuilt from its deltas.
#[derive(Default)]
struct ToolCall {
    id: String,
    name: String,
    arguments: String,
    ours: bool,
}

#[derive(Default)]
pub(crate) struct Round {
    /// The assistant's text so far.
    text: String,
    /// Upstream tool-call index → the call so far.
    calls: BTreeMap<u64, ToolCall>,
    /// Upstream index of one of the client's calls → the index the client sees.
    visible: BTreeMap<u64, u64>,
}

fn data_event(v: &Value) -> Vec<u8> {
    format!("data: {v}\n\n").into_bytes()
}

impl Round {
    fn any_ours(&self) -> bool {
        self.calls.values().any(|c| c.ours)
    }

    /// Notes the tool-call deltas of a chunk and removes the retrieval tool's; `true` when the
    /// chunk changed.
    fn filter_calls(&mut self, delta: &mut Map<String, Value>) -> bool {
        let Some(list) = delta.get("tool_calls").and_then(Value::as_array) else {
            return false;
        };
        let mut kept = Vec::new();
        let mut changed = false;
        for tc in list {
            let index = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
            let call = self.calls.entry(index).or_default();
            if let Some(id) = tc.get("id").and_then(Value::as_str) {
                call.id = id.to_string();
            }
            let f = tc.get("function");
            if let Some(name) = f.and_then(|f| f.get("name")).and_then(Value::as_str) {
                call.name.push_str(name);
                call.ours = call.name == retrieve::TOOL_NAME;
            }
            if let Some(a) = f.and_then(|f| f.get("arguments")).and_then(Value::as_str) {
                call.arguments.push_str(a);
            }
            if call.ours {
                changed = true;
                continue;
            }
            let next = self.visible.len() as u64;
            let visible = *self.visible.entry(index).or_insert(next);
            let mut tc = tc.clone();
            if visible != index {
                tc["index"] = json!(visible);
                changed = true;
            }
            kept.push(tc);
        }
        if changed {
            if kept.is_empty() {
                delta.remove("tool_calls");
            } else {
                delta.insert("tool_calls".into(), Value::Array(kept));
            }
        }
        changed
    }
}

impl Filter for Round {
    const API: Api = Api::OpenAiChat;

    fn step(&mut self, ev: sse::Event, _: &mut Carry) -> Step {
        let ours = self.any_ours();
        if ev.data.trim() == "[DONE]" {
            return if ours {
                Step::Hold(ev.raw)
            } else {
                Step::Send(ev.raw)
            };
        }
        let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else {
            return Step::Send(ev.raw);
        };
        let Some(choice) = v
            .get_mut("choices")
            .and_then(Value::as_array_mut)
            .and_then(|c| c.first_mut())
        else {
            // The usage chunk (no choices) comes after the finish: it ends the round too.
            return if ours {
                Step::Hold(ev.raw)
            } else {
                Step::Send(ev.raw)
            };
        };
        let finish = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut changed = false;
        if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) {
            if let Some(t) = delta.get("content").and_then(Value::as_str) {
                self.text.push_str(t);
            }
            changed = self.filter_calls(delta);
            if changed && delta.is_empty() && finish.is_none() {
                return Step::Skip;
            }
        }
        let bytes = if changed { data_event(&v) } else { ev.raw };
        if finish.is_some() && self.any_ours() {
            Step::Hold(bytes)
        } else {
            Step::Send(bytes)
        }
    }

    fn called_ours(&self) -> bool {
        self.any_ours()
    }

    fn called_theirs(&self) -> Vec<String> {
        self.calls
            .values()
            .filter(|c| !c.ours)
            .map(|c| c.id.clone())
            .collect()
    }

    fn calls(&self) -> Vec<(String, Call)> {
        self.calls
            .values()
            .filter(|c| c.ours)
            .map(|c| {
                let args = serde_json::from_str::<Call>(&c.arguments).ok();
                (c.id.clone(), call_or_empty(args))
            })
            .collect()
    }

    fn response(&self) -> Vec<u8> {
        let calls: Vec<Value> = self
            .calls
            .values()
            .map(|c| {
                json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}})
            })
            .collect();
        let content = if self.text.is_empty() {
            Value::Null
        } else {
            Value::String(self.text.clone())
        };
        json!({"choices": [{"message": {"role": "assistant", "content": content, "tool_calls": calls}}]})
            .to_string()
            .into_bytes()
    }

    fn end(&self, _: &mut Carry) {}

    fn error(message: &str, _: &mut Carry) -> Vec<u8> {
        data_event(
            &json!({"error": {"message": message, "type": "upstream_error", "param": null, "code": null}}),
        )
    }
}
