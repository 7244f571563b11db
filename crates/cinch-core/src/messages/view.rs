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
    let mut view = walk(api, body).map_err(shape)?;
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

/// The text of a user message's content when it is one string that is a request.
fn user_text(content: &RawValue) -> Option<String> {
    if is_string(content) {
        return string(Some(content))
            .filter(|t| is_request(t))
            .map(|t| clip(&t));
    }
    None
}

fn query_of(call: Option<&(Option<String>, String)>, user: &str) -> String {
    let args = call.map(|(_, a)| a.as_str()).unwrap_or("");
    match (args.is_empty(), user.is_empty()) {
        (true, _) => user.to_string(),
        (false, true) => args.to_string(),
        (false, false) => format!("{args} {user}"),
    }
}

/// A content part or block of any of the three APIs: only the fields read here. Every field
/// is kept raw, so a field of an unexpected type never makes the body unreadable.
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

/// The elements of an array value; a value that is not an array has none.
pub(super) fn list<'a, T: Deserialize<'a>>(
    raw: Option<&'a RawValue>,
) -> Result<Vec<T>, serde_json::Error> {
    match raw {
        Some(r) if r.get().starts_with('[') => serde_json::from_str(r.get()),
        _ => Ok(Vec::new()),
    }
}

/// A request body of any of the three APIs: the conversation and the tools.
#[derive(Deserialize)]
pub(super) struct Body<'a> {
    #[serde(borrow, default)]
    pub messages: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub tools: Option<&'a RawValue>,
}

impl<'a> Body<'a> {
    /// The conversation: `messages`, or a Responses body's `input`.
    pub fn conversation(&self, api: Api) -> Option<&'a RawValue> {
        match api {
            Api::OpenAiResponses => self.input,
            _ => self.messages,
        }
    }
}

/// One message (Anthropic, Chat Completions) or input item (Responses): only the fields read
/// here, all raw.
#[derive(Deserialize)]
pub(super) struct Entry<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub role: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub tool_calls: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub tool_call_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub call_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub output: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub cache_control: Option<&'a RawValue>,
}

/// A Chat Completions tool call.
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

/// Builds a view entry by entry: the calls seen so far, the newest user request, the outputs.
struct Walk<'a> {
    view: View<'a>,
    /// Call id → (tool name, argument text).
    calls: HashMap<String, (Option<String>, String)>,
    user: String,
}

impl<'a> Walk<'a> {
    fn call(&mut self, id: Option<String>, name: Option<String>, args: Option<String>) {
        if let Some(id) = id {
            let args = args.map(|a| argument_text(&a)).unwrap_or_default();
            self.calls.insert(id, (name, args));
        }
    }

    /// Notes user text: a string content, or text parts of the given type, in order.
    fn user_said(
        &mut self,
        content: Option<&RawValue>,
        part_type: &str,
    ) -> Result<(), serde_json::Error> {
        if let Some(t) = content.and_then(user_text) {
            self.user = t;
        }
        for part in list::<Part>(content)? {
            if part.kind() == part_type {
                if let Some(t) = string(part.text).filter(|t| is_request(t)) {
                    self.user = clip(&t);
                }
            }
        }
        Ok(())
    }

    /// Notes a tool output: `out` is a string, or an array whose parts of `part_types` hold
    /// text. `call_id` links it to its call; `tool` names the tool when no call is known.
    fn output(
        &mut self,
        out: Option<&'a RawValue>,
        call_id: Option<String>,
        tool: Option<String>,
        cache_control: bool,
        message: usize,
        part_types: &[&str],
    ) -> Result<(), serde_json::Error> {
        let call = call_id.and_then(|id| self.calls.get(&id));
        let tool = call.and_then(|(n, _)| n.clone()).or(tool);
        let query = query_of(call, &self.user);
        let Some(out) = out else { return Ok(()) };
        let mut push = |raw: &'a RawValue, cache_control: bool| {
            self.view.outputs.push(ToolOutput {
                span: 0..0,
                raw: raw.get(),
                tool: tool.clone(),
                query: query.clone(),
                cache_control,
                message,
            })
        };
        if is_string(out) {
            push(out, cache_control);
            return Ok(());
        }
        for part in list::<Part>(Some(out))? {
            if !part_types.contains(&part.kind().as_str()) {
                continue;
            }
            if let Some(text) = part.text.filter(|t| is_string(t)) {
                push(text, cache_control || part.cache_control.is_some());
            }
        }
        Ok(())
    }
}

fn walk(api: Api, body: &str) -> Result<View<'_>, serde_json::Error> {
    let top: Body = serde_json::from_str(body)?;
    let conversation = top.conversation(api);
    let mut w = Walk {
        view: View {
            outputs: Vec::new(),
            tools: top.tools,
            messages: conversation,
        },
        calls: HashMap::new(),
        user: String::new(),
    };
    for (index, entry) in list::<Entry>(conversation)?.iter().enumerate() {
        let role = string(entry.role).unwrap_or_default();
        let cc = entry.cache_control.is_some();
        match api {
            Api::Anthropic => {
                if role == "user" {
                    if let Some(t) = entry.content.and_then(user_text) {
                        w.user = t;
                    }
                }
                for block in list::<Part>(entry.content)? {
                    match block.kind().as_str() {
                        "text" if role == "user" => {
                            if let Some(t) = string(block.text).filter(|t| is_request(t)) {
                                w.user = clip(&t);
                            }
                        }
                        "tool_use" | "server_tool_use" => w.call(
                            string(block.id),
                            string(block.name),
                            block.input.map(|i| i.get().to_string()),
                        ),
                        "tool_result" => w.output(
                            block.content,
                            string(block.tool_use_id),
                            None,
                            block.cache_control.is_some(),
                            index,
                            &["text"],
                        )?,
                        _ => {}
                    }
                }
            }
            Api::OpenAiChat => match role.as_str() {
                "user" => w.user_said(entry.content, "text")?,
                "assistant" => {
                    for call in list::<ChatCall>(entry.tool_calls)? {
                        let Some(f) = call.function else { continue };
                        let f: Function = serde_json::from_str(f.get())?;
                        w.call(string(call.id), string(f.name), string(f.arguments));
                    }
                }
                "tool" | "function" => w.output(
                    entry.content,
                    string(entry.tool_call_id),
                    string(entry.name),
                    cc,
                    index,
                    &["text"],
                )?,
                _ => {}
            },
            Api::OpenAiResponses => {
                let kind = string(entry.kind).unwrap_or_else(|| "message".into());
                match kind.as_str() {
                    "message" if role == "user" => w.user_said(entry.content, "input_text")?,
                    "function_call" | "custom_tool_call" => w.call(
                        string(entry.call_id),
                        string(entry.name),
                        string(entry.arguments).or_else(|| string(entry.input)),
                    ),
                    "function_call_output"
                    | "custom_tool_call_output"
                    | "local_shell_call_output" => {
                        let shell =
                            (kind == "local_shell_call_output").then(|| "local_shell".to_string());
                        w.output(
                            entry.output,
                            string(entry.call_id),
                            shell,
                            cc,
                            index,
                            &["input_text", "output_text"],
                        )?
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(w.view)
}
