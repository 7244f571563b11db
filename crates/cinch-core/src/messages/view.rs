//! The provider-neutral view of a request body: where each tool output sits (as a byte range
//! of the body), which tool produced it, and what the agent was asking when it called the tool.
//!
//! The body is read with borrowed [`RawValue`]s, so every located value is a slice of the
//! body itself and its offset is exact: nothing is re-serialised to find it.
//!
//! The query of a tool output is built only from what comes *before* it in the conversation
//! (the newest user text before it and the arguments of the call that produced it), so it is
//! the same on every later turn and re-compressing the output gives the same bytes.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashMap;
use std::ops::Range;

use super::Api;

/// The longest piece of user text that goes into a query, in bytes: enough for a request, not
/// a pasted document.
const USER_TEXT_MAX: usize = 2000;

/// One tool output (or one text part of it) in a request body.
#[derive(Debug, Clone)]
pub struct ToolOutput<'a> {
    /// Where the JSON string holding the output sits in the body, quotes included.
    pub span: Range<usize>,
    /// The JSON string as it appears in the body.
    pub raw: &'a str,
    /// The name of the tool that produced it, when the call is in the request.
    pub tool: Option<String>,
    /// What the agent was asking: the call's arguments and the newest user text before it.
    pub query: String,
    /// The block or part holding the output carries `cache_control`.
    pub cache_control: bool,
    /// Index of the message (or Responses input item) that holds it.
    pub message: usize,
}

/// What a request body holds that message-level compression cares about.
#[derive(Debug, Default)]
pub struct View<'a> {
    /// The tool outputs, in order.
    pub outputs: Vec<ToolOutput<'a>>,
    /// The `tools` array, if the body has one.
    pub tools: Option<&'a RawValue>,
    /// The conversation: `messages`, or a Responses body's `input`.
    pub messages: Option<&'a RawValue>,
}

/// Why a body has no view.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// Not UTF-8 or not the JSON shape of the API (duplicate keys included).
    #[error("the body is not a {0} request: {1}")]
    Shape(&'static str, String),
}

/// Builds the view of `body` for `api`.
pub fn view(api: Api, body: &str) -> Result<View<'_>, ViewError> {
    let shape = |e: serde_json::Error| ViewError::Shape(api.name(), e.to_string());
    let mut view = match api {
        Api::Anthropic => anthropic(body).map_err(shape)?,
        Api::OpenAiChat => chat(body).map_err(shape)?,
        Api::OpenAiResponses => responses(body).map_err(shape)?,
    };
    for out in &mut view.outputs {
        out.span = offset(body, out.raw);
    }
    Ok(view)
}

/// The byte range of `part` (a slice of `body`) within `body`.
fn offset(body: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - body.as_ptr() as usize;
    start..start + part.len()
}

/// A JSON value decoded as a string, if it is one.
fn string(raw: Option<&RawValue>) -> Option<String> {
    raw.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
}

/// Whether a raw value is a JSON string (the only kind of tool output rewritten).
fn is_string(raw: &RawValue) -> bool {
    raw.get().starts_with('"')
}

/// The scalar leaves of a tool call's arguments, space-separated: `{"pattern": "TODO",
/// "path": "src"}` asks about `TODO src`. Arguments that are not JSON count as text.
fn argument_text(args: &str) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Bool(_) | Value::Null => {}
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
        }
    }
    match serde_json::from_str::<Value>(args) {
        Ok(v) => {
            let mut out = Vec::new();
            walk(&v, &mut out);
            out.join(" ")
        }
        Err(_) => args.to_string(),
    }
}

/// Keeps user text short enough to be a query; cut on a character boundary.
fn clip(text: &str) -> String {
    if text.len() <= USER_TEXT_MAX {
        return text.to_string();
    }
    let mut end = USER_TEXT_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Whether user text is what the user asked, rather than a harness's injected context
/// (Claude Code wraps reminders in `<system-reminder>`).
fn is_request(text: &str) -> bool {
    !text.trim_start().starts_with("<system-reminder>")
}

fn query_of(call: Option<&(Option<String>, String)>, user: &str) -> String {
    let args = call.map(|(_, a)| a.as_str()).unwrap_or("");
    match (args.is_empty(), user.is_empty()) {
        (true, _) => user.to_string(),
        (false, true) => args.to_string(),
        (false, false) => format!("{args} {user}"),
    }
}

/// A content part or block of any of the three APIs: only the fields read here.
#[derive(Deserialize)]
struct Part<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_use_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cache_control: Option<&'a RawValue>,
}

impl Part<'_> {
    fn kind(&self) -> String {
        string(self.kind).unwrap_or_default()
    }
}

/// Parts of an array value; a value that is not an array has none.
fn parts(raw: Option<&RawValue>) -> Result<Vec<Part<'_>>, serde_json::Error> {
    match raw {
        Some(r) if r.get().starts_with('[') => serde_json::from_str(r.get()),
        _ => Ok(Vec::new()),
    }
}

/// The text of a user message's content: the string, or its newest text part that is a
/// request. Parts are read in order, so within a message the text before a tool output counts.
fn user_text(content: &RawValue) -> Option<String> {
    if is_string(content) {
        return string(Some(content))
            .filter(|t| is_request(t))
            .map(|t| clip(&t));
    }
    None
}

// ---- Anthropic Messages ----

#[derive(Deserialize)]
struct AnthropicBody<'a> {
    #[serde(borrow, default)]
    messages: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tools: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    role: Option<&'a RawValue>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_calls: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_call_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cache_control: Option<&'a RawValue>,
}

fn messages(raw: Option<&RawValue>) -> Result<Vec<Message<'_>>, serde_json::Error> {
    match raw {
        Some(r) if r.get().starts_with('[') => serde_json::from_str(r.get()),
        _ => Ok(Vec::new()),
    }
}

fn anthropic(body: &str) -> Result<View<'_>, serde_json::Error> {
    let top: AnthropicBody = serde_json::from_str(body)?;
    let mut view = View {
        outputs: Vec::new(),
        tools: top.tools,
        messages: top.messages,
    };
    // tool_use id → (tool name, argument text)
    let mut calls: HashMap<String, (Option<String>, String)> = HashMap::new();
    let mut user = String::new();
    for (index, msg) in messages(top.messages)?.iter().enumerate() {
        let role = string(msg.role).unwrap_or_default();
        let Some(content) = msg.content else { continue };
        if role == "user" {
            if let Some(t) = user_text(content) {
                user = t;
            }
        }
        for block in parts(Some(content))? {
            match block.kind().as_str() {
                "text" if role == "user" => {
                    if let Some(t) = string(block.text).filter(|t| is_request(t)) {
                        user = clip(&t);
                    }
                }
                "tool_use" | "server_tool_use" => {
                    if let Some(id) = string(block.id) {
                        let args = block.input.map(|i| argument_text(i.get()));
                        calls.insert(id, (string(block.name), args.unwrap_or_default()));
                    }
                }
                "tool_result" => {
                    let call = string(block.tool_use_id).and_then(|id| calls.get(&id));
                    let tool = call.and_then(|(n, _)| n.clone());
                    let query = query_of(call, &user);
                    let block_cc = block.cache_control.is_some();
                    let Some(out) = block.content else { continue };
                    if is_string(out) {
                        view.outputs.push(ToolOutput {
                            span: 0..0,
                            raw: out.get(),
                            tool,
                            query,
                            cache_control: block_cc,
                            message: index,
                        });
                        continue;
                    }
                    for part in parts(Some(out))? {
                        if part.kind() != "text" {
                            continue;
                        }
                        let Some(text) = part.text.filter(|t| is_string(t)) else {
                            continue;
                        };
                        view.outputs.push(ToolOutput {
                            span: 0..0,
                            raw: text.get(),
                            tool: tool.clone(),
                            query: query.clone(),
                            cache_control: block_cc || part.cache_control.is_some(),
                            message: index,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(view)
}

// ---- OpenAI Chat Completions ----

#[derive(Deserialize)]
struct ChatCall<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    function: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

fn chat(body: &str) -> Result<View<'_>, serde_json::Error> {
    let top: AnthropicBody = serde_json::from_str(body)?;
    let mut view = View {
        outputs: Vec::new(),
        tools: top.tools,
        messages: top.messages,
    };
    let mut calls: HashMap<String, (Option<String>, String)> = HashMap::new();
    let mut user = String::new();
    for (index, msg) in messages(top.messages)?.iter().enumerate() {
        let role = string(msg.role).unwrap_or_default();
        match role.as_str() {
            "user" => {
                if let Some(t) = msg.content.and_then(user_text) {
                    user = t;
                }
                for part in parts(msg.content)? {
                    if part.kind() == "text" {
                        if let Some(t) = string(part.text).filter(|t| is_request(t)) {
                            user = clip(&t);
                        }
                    }
                }
            }
            "assistant" => {
                let list: Vec<ChatCall> = match msg.tool_calls {
                    Some(r) if r.get().starts_with('[') => serde_json::from_str(r.get())?,
                    _ => Vec::new(),
                };
                for call in list {
                    let (Some(id), Some(f)) = (string(call.id), call.function) else {
                        continue;
                    };
                    let f: Function = serde_json::from_str(f.get())?;
                    let args = string(f.arguments).map(|a| argument_text(&a));
                    calls.insert(id, (string(f.name), args.unwrap_or_default()));
                }
            }
            "tool" | "function" => {
                let call = string(msg.tool_call_id).and_then(|id| calls.get(&id));
                let tool = call.and_then(|(n, _)| n.clone()).or(string(msg.name));
                let query = query_of(call, &user);
                let Some(out) = msg.content else { continue };
                let msg_cc = msg.cache_control.is_some();
                if is_string(out) {
                    view.outputs.push(ToolOutput {
                        span: 0..0,
                        raw: out.get(),
                        tool,
                        query,
                        cache_control: msg_cc,
                        message: index,
                    });
                    continue;
                }
                for part in parts(Some(out))? {
                    let Some(text) = part.text.filter(|t| is_string(t)) else {
                        continue;
                    };
                    if part.kind() != "text" {
                        continue;
                    }
                    view.outputs.push(ToolOutput {
                        span: 0..0,
                        raw: text.get(),
                        tool: tool.clone(),
                        query: query.clone(),
                        cache_control: msg_cc || part.cache_control.is_some(),
                        message: index,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(view)
}

// ---- OpenAI Responses ----

#[derive(Deserialize)]
struct ResponsesBody<'a> {
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tools: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    role: Option<&'a RawValue>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    call_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cache_control: Option<&'a RawValue>,
}

fn responses(body: &str) -> Result<View<'_>, serde_json::Error> {
    let top: ResponsesBody = serde_json::from_str(body)?;
    let mut view = View {
        outputs: Vec::new(),
        tools: top.tools,
        messages: top.input,
    };
    let items: Vec<Item> = match top.input {
        Some(r) if r.get().starts_with('[') => serde_json::from_str(r.get())?,
        _ => Vec::new(),
    };
    let mut calls: HashMap<String, (Option<String>, String)> = HashMap::new();
    let mut user = String::new();
    for (index, item) in items.iter().enumerate() {
        let kind = string(item.kind).unwrap_or_else(|| "message".into());
        match kind.as_str() {
            "message" => {
                if string(item.role).as_deref() != Some("user") {
                    continue;
                }
                if let Some(t) = item.content.and_then(user_text) {
                    user = t;
                }
                for part in parts(item.content)? {
                    if part.kind() == "input_text" {
                        if let Some(t) = string(part.text).filter(|t| is_request(t)) {
                            user = clip(&t);
                        }
                    }
                }
            }
            "function_call" | "custom_tool_call" => {
                if let Some(id) = string(item.call_id) {
                    let args = string(item.arguments)
                        .or_else(|| string(item.input))
                        .map(|a| argument_text(&a));
                    calls.insert(id, (string(item.name), args.unwrap_or_default()));
                }
            }
            "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
                let call = string(item.call_id).and_then(|id| calls.get(&id));
                let tool = call.and_then(|(n, _)| n.clone()).or_else(|| {
                    (kind == "local_shell_call_output").then(|| "local_shell".to_string())
                });
                let query = query_of(call, &user);
                let Some(out) = item.output else { continue };
                let item_cc = item.cache_control.is_some();
                if is_string(out) {
                    view.outputs.push(ToolOutput {
                        span: 0..0,
                        raw: out.get(),
                        tool,
                        query,
                        cache_control: item_cc,
                        message: index,
                    });
                    continue;
                }
                for part in parts(Some(out))? {
                    if !matches!(part.kind().as_str(), "input_text" | "output_text") {
                        continue;
                    }
                    let Some(text) = part.text.filter(|t| is_string(t)) else {
                        continue;
                    };
                    view.outputs.push(ToolOutput {
                        span: 0..0,
                        raw: text.get(),
                        tool: tool.clone(),
                        query: query.clone(),
                        cache_control: item_cc || part.cache_control.is_some(),
                        message: index,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(view)
}
