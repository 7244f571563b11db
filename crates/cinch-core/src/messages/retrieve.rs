//! The retrieval tool: how a model asks for what a marker left out.
//!
//! A request whose body holds `<<ccr:` markers gets one more tool, [`TOOL_NAME`], appended
//! after the client's own tools (so the client's tools stay a stable prefix of the request).
//! When the model calls it, the proxy answers from the store ([`answer`]) and continues the
//! conversation itself; the client never sees the tool.

use super::splice::insert;
use super::view::view;
use super::Api;
use crate::ccr::entry;
use crate::ccr::search::Items;
use crate::ccr::{Key, Store};
use crate::query::Query;
use serde_json::Value;

/// The name of the retrieval tool.
pub const TOOL_NAME: &str = "cinch_retrieve";

/// The longest answer, in bytes; past it the answer says how to ask for less.
pub const ANSWER_MAX: usize = 256 * 1024;

const DESCRIPTION: &str = "Get back content that was left out of a tool result. Tool results may contain markers like <<ccr:KEY summary>>: call this tool with that KEY to read what was omitted, optionally with a query to get only the matching lines or rows.";

const SCHEMA: &str = r#"{"type":"object","properties":{"key":{"type":"string","description":"The KEY of a <<ccr:KEY ...>> marker (16 hex digits)."},"query":{"type":"string","description":"Optional: only return the lines or rows matching this (ids, numbers, words, field = value)."}},"required":["key"]}"#;

/// The tool's definition in the format of `api`. The same bytes on every request.
pub fn definition(api: Api) -> String {
    let description = serde_json::to_string(DESCRIPTION).expect("a string serialises");
    match api {
        Api::Anthropic => format!(
            r#"{{"name":"{TOOL_NAME}","description":{description},"input_schema":{SCHEMA}}}"#
        ),
        Api::OpenAiChat => format!(
            r#"{{"type":"function","function":{{"name":"{TOOL_NAME}","description":{description},"parameters":{SCHEMA}}}}}"#
        ),
        Api::OpenAiResponses => format!(
            r#"{{"type":"function","name":"{TOOL_NAME}","description":{description},"parameters":{SCHEMA}}}"#
        ),
    }
}

/// Whether `body` holds a marker.
pub fn has_markers(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"<<ccr:").is_some()
}

/// `body` with the retrieval tool appended to its tools (a `tools` array is added when there
/// is none). `None` when the body already defines it, or is not a request of `api`.
pub fn with_tool(api: Api, body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let v = view(api, text).ok()?;
    let def = definition(api);
    match v.tools {
        Some(tools) => {
            let raw = tools.get();
            if !raw.starts_with('[') || raw.contains(&format!("\"{TOOL_NAME}\"")) {
                return None;
            }
            let start = raw.as_ptr() as usize - text.as_ptr() as usize;
            let close = start + raw.len() - 1;
            let empty = raw[1..raw.len() - 1].trim().is_empty();
            let piece = if empty { def } else { format!(",{def}") };
            Some(insert(body, close, &piece))
        }
        None => {
            let close = text.trim_end().len().checked_sub(1)?;
            if body[close] != b'}' {
                return None;
            }
            let empty = text[..close].trim_end().ends_with('{');
            let comma = if empty { "" } else { "," };
            Some(insert(body, close, &format!("{comma}\"tools\":[{def}]")))
        }
    }
}

/// The arguments of one retrieval call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Call {
    /// The marker's key.
    pub key: String,
    /// Only the matching parts, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// The text the model gets for a retrieval call: the stored original, or with a query only
/// the matching lines or rows; an unknown or expired key gets a message saying so.
pub fn answer(store: &dyn Store, namespace: &str, call: &Call) -> String {
    let key = match Key::parse(call.key.trim()) {
        Ok(k) => k,
        Err(e) => return e.to_string(),
    };
    let bytes = match entry::fetch(store, namespace, &key) {
        Ok(b) => b,
        Err(e) => return e.to_string(),
    };
    let stored = match entry::decode(&bytes) {
        Ok(e) => e,
        Err(e) => return format!("{e}; re-run the tool to get it again"),
    };
    let query = call.query.as_deref().map(str::trim).unwrap_or("");
    let body = if query.is_empty() {
        String::from_utf8_lossy(stored.original).into_owned()
    } else {
        let items = match Items::of_entry(&stored) {
            Ok(items) => items,
            Err(e) => return format!("{e}; call again without a query for all of it"),
        };
        let hits = items.matching(&Query::parse(query));
        if hits.is_empty() {
            format!(
                "nothing in {key} matches {query:?} ({} items); call again without a query for all of it",
                items.len()
            )
        } else {
            hits.iter()
                .map(|&i| items.items[i].as_ref())
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    clip(body)
}

fn clip(mut text: String) -> String {
    if text.len() <= ANSWER_MAX {
        return text;
    }
    let mut end = ANSWER_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let rest = text.len() - end;
    text.truncate(end);
    text.push_str(&format!(
        "\n[{rest} more bytes not shown: call again with a query to get the parts you need]"
    ));
    text
}

/// The tool calls of a complete (non-streamed) model response.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Calls {
    /// Calls of the retrieval tool: the call's id and its arguments.
    pub ours: Vec<(String, Call)>,
    /// The ids of the calls to the client's own tools.
    pub theirs: Vec<String>,
}

/// The tool calls in `response`, a response body of `api`; `None` if it is not one.
pub fn calls(api: Api, response: &[u8]) -> Option<Calls> {
    let v: Value = serde_json::from_slice(response).ok()?;
    let mut calls = Calls::default();
    let mut add = |id: Option<&str>, name: Option<&str>, args: Option<Call>| {
        if name == Some(TOOL_NAME) {
            // A call with arguments that do not parse still gets an answer (saying so).
            let call = args.unwrap_or(Call {
                key: String::new(),
                query: None,
            });
            calls.ours.push((id.unwrap_or_default().to_string(), call));
        } else {
            calls.theirs.push(id.unwrap_or_default().to_string());
        }
    };
    let from_text = |s: Option<&Value>| {
        s.and_then(Value::as_str)
            .and_then(|a| serde_json::from_str::<Call>(a).ok())
    };
    match api {
        Api::Anthropic => {
            for block in v.get("content")?.as_array()? {
                if block.get("type").and_then(Value::as_str) == Some("tool_use") {
                    let args = block
                        .get("input")
                        .and_then(|i| serde_json::from_value::<Call>(i.clone()).ok());
                    add(str_at(block, "id"), str_at(block, "name"), args);
                }
            }
        }
        Api::OpenAiChat => {
            let message = v.get("choices")?.get(0)?.get("message")?;
            for call in message
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let f = call.get("function");
                let name = f.and_then(|f| str_at(f, "name"));
                add(
                    str_at(call, "id"),
                    name,
                    from_text(f.and_then(|f| f.get("arguments"))),
                );
            }
        }
        Api::OpenAiResponses => {
            for item in v.get("output")?.as_array()? {
                if item.get("type").and_then(Value::as_str) == Some("function_call") {
                    let args = from_text(item.get("arguments"));
                    add(str_at(item, "call_id"), str_at(item, "name"), args);
                }
            }
        }
    }
    Some(calls)
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("JSON values serialise")
}

/// `request` continued by the model's turn in `response` and the retrieval `answers` (call id,
/// text), ready to send upstream again. The request's own bytes stay as they were: the new
/// turns are spliced in at the end of the conversation, so the prompt cache still matches.
pub fn continuation(
    api: Api,
    request: &[u8],
    response: &[u8],
    answers: &[(String, String)],
) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(request).ok()?;
    let conversation = view(api, text).ok()?.messages?;
    let raw = conversation.get();
    let start = raw.as_ptr() as usize - text.as_ptr() as usize;
    let v: Value = serde_json::from_slice(response).ok()?;
    let mut turns: Vec<String> = Vec::new();
    match api {
        Api::Anthropic => {
            turns.push(json(&serde_json::json!({
                "role": "assistant",
                "content": v.get("content")?,
            })));
            let results: Vec<Value> = answers
                .iter()
                .map(|(id, answer)| {
                    serde_json::json!({"type": "tool_result", "tool_use_id": id, "content": answer})
                })
                .collect();
            turns.push(json(
                &serde_json::json!({"role": "user", "content": results}),
            ));
        }
        Api::OpenAiChat => {
            let message = v.get("choices")?.get(0)?.get("message")?;
            turns.push(json(&serde_json::json!({
                "role": "assistant",
                "content": message.get("content").cloned().unwrap_or(Value::Null),
                "tool_calls": message.get("tool_calls")?,
            })));
            for (id, answer) in answers {
                turns.push(json(
                    &serde_json::json!({"role": "tool", "tool_call_id": id, "content": answer}),
                ));
            }
        }
        Api::OpenAiResponses => {
            for item in v.get("output")?.as_array()? {
                turns.push(json(item));
            }
            for (id, answer) in answers {
                turns.push(json(&serde_json::json!({
                    "type": "function_call_output",
                    "call_id": id,
                    "output": answer,
                })));
            }
        }
    }
    let joined = turns.join(",");
    if raw.starts_with('[') {
        let close = start + raw.len() - 1;
        let empty = raw[1..raw.len() - 1].trim().is_empty();
        let piece = if empty { joined } else { format!(",{joined}") };
        Some(insert(request, close, &piece))
    } else if api == Api::OpenAiResponses && raw.starts_with('"') {
        // `input` given as one string: the same thing as one user message.
        let first = json(
            &serde_json::json!({"role": "user", "content": serde_json::from_str::<String>(raw).ok()?}),
        );
        Some(super::splice::splice(
            request,
            &[(start..start + raw.len(), format!("[{first},{joined}]"))],
        ))
    } else {
        None
    }
}

/// `response` without its retrieval calls: what the client sees when the model called the
/// client's tools and the retrieval tool in one turn. `None` if it is not a response of `api`.
pub fn without_ours(api: Api, response: &[u8]) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(response).ok()?;
    let is_ours = |x: &Value, name_at: &[&str]| {
        let mut cur = x;
        for k in &name_at[..name_at.len() - 1] {
            match cur.get(k) {
                Some(n) => cur = n,
                None => return false,
            }
        }
        cur.get(name_at[name_at.len() - 1]).and_then(Value::as_str) == Some(TOOL_NAME)
    };
    match api {
        Api::Anthropic => v
            .get_mut("content")?
            .as_array_mut()?
            .retain(|b| !is_ours(b, &["name"])),
        Api::OpenAiChat => {
            for choice in v.get_mut("choices")?.as_array_mut()? {
                if let Some(calls) = choice
                    .get_mut("message")
                    .and_then(|m| m.get_mut("tool_calls"))
                    .and_then(Value::as_array_mut)
                {
                    calls.retain(|c| !is_ours(c, &["function", "name"]));
                }
            }
        }
        Api::OpenAiResponses => v
            .get_mut("output")?
            .as_array_mut()?
            .retain(|i| !is_ours(i, &["name"])),
    }
    serde_json::to_vec(&v).ok()
}
