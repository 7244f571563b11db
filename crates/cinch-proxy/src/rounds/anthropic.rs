//! Anthropic Messages streams: content blocks by index, `message_start` once.

use super::{call_or_empty, Carry, Filter, Step};
use crate::sse;
use cinch_core::messages::retrieve::{self, Call};
use cinch_core::messages::Api;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One round of an Anthropic stream: the blocks as rebuilt from their events.
#[derive(Default)]
pub(crate) struct Round {
    /// Upstream index → the block so far (as in a whole response).
    blocks: BTreeMap<u64, Value>,
    /// Partial JSON of tool inputs, by upstream index.
    inputs: BTreeMap<u64, String>,
    /// Upstream indices of retrieval calls.
    ours: Vec<u64>,
    /// Ids of the calls of the client's tools.
    theirs: Vec<String>,
    /// Upstream index → index the client sees.
    visible: BTreeMap<u64, u64>,
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

    fn retrieval_calls(&self) -> Vec<(String, Call)> {
        self.ours
            .iter()
            .filter_map(|i| self.blocks.get(i))
            .map(|b| {
                let id = b
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let call = call_or_empty(
                    serde_json::from_value::<Call>(b.get("input").cloned().unwrap_or_default())
                        .ok(),
                );
                (id, call)
            })
            .collect()
    }
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
            if is_tool && !ours {
                let id = block.get("id").and_then(Value::as_str).unwrap_or_default();
                round.theirs.push(id.to_string());
            }
            round.blocks.insert(index, block);
            if ours {
                round.ours.push(index);
                return Step::Skip;
            }
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

impl Filter for Round {
    const API: Api = Api::Anthropic;

    fn step(&mut self, ev: sse::Event, carry: &mut Carry) -> Step {
        step(ev, self, carry.round == 0, carry.offset)
    }

    fn called_ours(&self) -> bool {
        !self.ours.is_empty()
    }

    fn called_theirs(&self) -> Vec<String> {
        self.theirs.clone()
    }

    fn calls(&self) -> Vec<(String, Call)> {
        self.retrieval_calls()
    }

    fn response(&self) -> Vec<u8> {
        self.as_response()
    }

    fn end(&self, carry: &mut Carry) {
        carry.offset += self.visible.len() as u64;
    }

    fn error(message: &str, _: &mut Carry) -> Vec<u8> {
        let data = json!({"type": "error", "error": {"type": "api_error", "message": message}});
        sse::event("error", &data.to_string())
    }
}
