//! OpenAI Responses streams: typed events with `output_index` and `sequence_number`, ended by
//! `response.completed` (or `.incomplete` / `.failed`).
//!
//! Every relayed event gets the next sequence number of the client's stream (the upstream's
//! restart at each round, and the retrieval tool's events leave gaps); the terminal event of
//! the last round lists the output items of every round the client saw.

use super::{call_or_empty, Carry, Filter, Step};
use crate::sse;
use cinch_core::messages::retrieve::{self, Call};
use cinch_core::messages::Api;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub(crate) struct Round {
    /// Upstream output index → the item (as added, then as done).
    items: BTreeMap<u64, Value>,
    /// Output indices of retrieval calls.
    ours: BTreeSet<u64>,
    /// Ids of the calls of the client's tools.
    theirs: Vec<String>,
    /// Upstream output index → the index the client sees.
    visible: BTreeMap<u64, u64>,
}

const TERMINAL: &[&str] = &[
    "response.completed",
    "response.incomplete",
    "response.failed",
];

fn is_ours(item: &Value) -> bool {
    item.get("type").and_then(Value::as_str) == Some("function_call")
        && item.get("name").and_then(Value::as_str) == Some(retrieve::TOOL_NAME)
}

impl Round {
    fn emit(name: &str, v: &mut Value, carry: &mut Carry) -> Vec<u8> {
        if v.get("sequence_number").is_some() {
            v["sequence_number"] = json!(carry.seq);
        }
        carry.seq += 1;
        sse::event(name, &v.to_string())
    }

    /// The terminal event with the retrieval calls taken out and earlier rounds' items put in.
    fn terminal(&self, name: &str, mut v: Value, carry: &mut Carry) -> Vec<u8> {
        if let Some(output) = v
            .get_mut("response")
            .and_then(|r| r.get_mut("output"))
            .and_then(Value::as_array_mut)
        {
            output.retain(|i| !is_ours(i));
            let mut all = carry.earlier.clone();
            all.append(output);
            *output = all;
        }
        Round::emit(name, &mut v, carry)
    }
}

impl Filter for Round {
    const API: Api = Api::OpenAiResponses;

    fn step(&mut self, ev: sse::Event, carry: &mut Carry) -> Step {
        let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else {
            return Step::Send(ev.raw);
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = ev.name.clone().unwrap_or_else(|| kind.clone());
        if carry.round > 0 && matches!(kind.as_str(), "response.created" | "response.in_progress") {
            return Step::Skip;
        }
        if TERMINAL.contains(&kind.as_str()) {
            if self.ours.is_empty() {
                return Step::Send(self.terminal(&name, v, carry));
            }
            // Held: it goes out only if the response ends here, as the last event, so it
            // takes the next number without using it up.
            let next = carry.seq;
            let bytes = self.terminal(&name, v, carry);
            carry.seq = next;
            return Step::Hold(bytes);
        }
        if let Some(index) = v.get("output_index").and_then(Value::as_u64) {
            if let Some(item) = v.get("item") {
                if kind == "response.output_item.added" {
                    if is_ours(item) {
                        self.ours.insert(index);
                    } else if item.get("type").and_then(Value::as_str) == Some("function_call") {
                        let id = item
                            .get("call_id")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        self.theirs.push(id.to_string());
                    }
                }
                self.items.insert(index, item.clone());
            }
            if self.ours.contains(&index) {
                return Step::Skip;
            }
            let next = carry.offset + self.visible.len() as u64;
            let visible = *self.visible.entry(index).or_insert(next);
            v["output_index"] = json!(visible);
        }
        Step::Send(Round::emit(&name, &mut v, carry))
    }

    fn called_ours(&self) -> bool {
        !self.ours.is_empty()
    }

    fn called_theirs(&self) -> Vec<String> {
        self.theirs.clone()
    }

    fn calls(&self) -> Vec<(String, Call)> {
        self.ours
            .iter()
            .filter_map(|i| self.items.get(i))
            .map(|item| {
                let id = item.get("call_id").and_then(Value::as_str).unwrap_or("");
                let args = item
                    .get("arguments")
                    .and_then(Value::as_str)
                    .and_then(|a| serde_json::from_str::<Call>(a).ok());
                (id.to_string(), call_or_empty(args))
            })
            .collect()
    }

    fn response(&self) -> Vec<u8> {
        let output: Vec<&Value> = self.items.values().collect();
        json!({"output": output}).to_string().into_bytes()
    }

    fn end(&self, carry: &mut Carry) {
        carry.offset += self.visible.len() as u64;
        carry.earlier.extend(
            self.items
                .iter()
                .filter(|(i, _)| !self.ours.contains(i))
                .map(|(_, item)| item.clone()),
        );
    }

    fn error(message: &str, carry: &mut Carry) -> Vec<u8> {
        let mut v = json!({"type": "error", "code": "upstream_error", "message": message, "param": null, "sequence_number": 0});
        Round::emit("error", &mut v, carry)
    }
}
