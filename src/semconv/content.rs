//! What a span said, read on demand for display (when a span is opened; never stored): its
//! conversation, retrieved documents, tags and tool input/output, from every convention in the
//! "input / output content", "retrieval" and "tags" rows of ../shared/SEMCONV.md. Also which
//! values are credentials ([`redact`]) and which are too bulky to render in full ([`is_bulky`]).
//!
//! Odd input degrades to text and never panics: JSON that does not parse (or is a Python repr)
//! is shown as it came, numbers stand in for strings, indices may be missing or huge.

use crate::model::record::{Attr, SpanRecord, Value, find_attr};
use crate::semconv::types::Kind;
use crate::semconv::value::{as_f64, as_label, json_f64, json_text};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

mod message;
mod otel_messages;

pub use message::{Message, ToolCall};
use message::{content_into, joined, json_str, part_into, tool_call_from_json};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    pub system: Vec<Message>,
    pub input: Vec<Message>,
    pub output: Vec<Message>,
}

impl Conversation {
    pub fn is_empty(&self) -> bool {
        self.system.is_empty() && self.input.is_empty() && self.output.is_empty()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    pub id: Option<String>,
    pub content: String,
    pub score: Option<f64>,
}

/// Where one side of a conversation may be found, in precedence order.
struct Sources {
    /// OTel GenAI: one JSON string of messages (role + parts).
    json: &'static str,
    /// Flattened `PREFIX N.…` messages: traceAI, OpenInference, OpenLLMetry (old).
    flat: [&'static str; 3],
    /// Langfuse: JSON messages or text.
    langfuse: &'static str,
    /// OpenInference's opaque value and its mime type.
    value: &'static str,
    mime: &'static str,
    /// Role of a message that names none.
    role: &'static str,
}

const INPUT: Sources = Sources {
    json: "gen_ai.input.messages",
    flat: ["gen_ai.input.messages.", "llm.input_messages.", "gen_ai.prompt."],
    langfuse: "langfuse.observation.input",
    value: "input.value",
    mime: "input.mime_type",
    role: "user",
};

const OUTPUT: Sources = Sources {
    json: "gen_ai.output.messages",
    flat: [
        "gen_ai.output.messages.",
        "llm.output_messages.",
        "gen_ai.completion.",
    ],
    langfuse: "langfuse.observation.output",
    value: "output.value",
    mime: "output.mime_type",
    role: "assistant",
};

/// The span's conversation. Each part comes from the first source that yields any message:
/// OTel GenAI JSON, traceAI's flattened `gen_ai.*.messages.N`, OpenInference's
/// `llm.*_messages.N`, OpenLLMetry's `gen_ai.prompt.N` / `gen_ai.completion.N`, Langfuse's
/// observation input/output, and last the opaque `input.value` / `output.value`. System
/// messages come from `gen_ai.system_instructions` plus any system message among the inputs.
pub fn conversation(span: &SpanRecord) -> Conversation {
    let (system, input) = input_messages(span);
    Conversation {
        system,
        input,
        output: output_messages(span),
    }
}

/// The system and input messages of [`conversation`], read alone (the built-in evaluators
/// read them only when the output gives them something to judge).
pub fn input_messages(span: &SpanRecord) -> (Vec<Message>, Vec<Message>) {
    let attrs = &span.attributes;
    let (in_system, input): (Vec<Message>, Vec<Message>) = side(attrs, &INPUT)
        .into_iter()
        .partition(|m| m.role.trim().eq_ignore_ascii_case("system"));
    let mut system = system_instructions(attrs);
    let given: HashSet<String> = system.iter().map(|m| m.content.clone()).collect();
    system.extend(in_system.into_iter().filter(|m| !given.contains(&m.content)));
    (system, input)
}

/// The output messages of [`conversation`], read alone.
pub fn output_messages(span: &SpanRecord) -> Vec<Message> {
    side(&span.attributes, &OUTPUT)
}

fn side(attrs: &[Attr], s: &Sources) -> Vec<Message> {
    let found = |ms: &Vec<Message>| !ms.is_empty();
    find_attr(attrs, s.json)
        .map(|v| value_messages(v, true, s.role))
        .filter(found)
        .or_else(|| {
            s.flat
                .iter()
                .map(|prefix| flat_messages(attrs, prefix, s.role))
                .find(found)
        })
        .or_else(|| {
            find_attr(attrs, s.langfuse)
                .map(|v| value_messages(v, true, s.role))
                .filter(found)
        })
        .or_else(|| {
            let v = find_attr(attrs, s.value)?;
            let try_json = match find_attr(attrs, s.mime).and_then(Value::as_str) {
                Some(mime) => mime.to_ascii_lowercase().contains("json"),
                None => v.as_str().is_some_and(|t| {
                    let t = t.trim_start();
                    t.starts_with('{') || t.starts_with('[')
                }),
            };
            Some(value_messages(v, try_json, s.role)).filter(found)
        })
        .unwrap_or_default()
}

/// `gen_ai.system_instructions`: a JSON array of parts (or of messages), or plain text.
fn system_instructions(attrs: &[Attr]) -> Vec<Message> {
    let Some(v) = find_attr(attrs, "gen_ai.system_instructions") else {
        return Vec::new();
    };
    let (json, raw) = parse_value(v, true);
    match json {
        Some(Json::Array(items)) if items.iter().any(|i| i.get("role").is_some()) => {
            json_messages(&Json::Array(items), "system").unwrap_or_default()
        }
        Some(j @ (Json::Array(_) | Json::Object(_))) => {
            let mut m = Message::new("system");
            let mut texts = Vec::new();
            content_into(&j, &mut m, &mut texts);
            m.content = joined(texts);
            vec![m]
        }
        Some(Json::String(s)) => text_message("system", &s),
        _ => text_message("system", &raw),
    }
}

fn text_message(role: &str, text: &str) -> Vec<Message> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    vec![Message {
        content: text.to_string(),
        ..Message::new(role)
    }]
}

/// Parses a string attribute as JSON when asked to (non-string values convert directly);
/// returns the JSON, if any, and the value as text (borrowed: it is rarely needed).
fn parse_value(v: &Value, try_json: bool) -> (Option<Json>, Cow<'_, str>) {
    match v.as_str() {
        Some(s) => (
            try_json.then(|| serde_json::from_str(s).ok()).flatten(),
            Cow::Borrowed(s),
        ),
        None => match v {
            Value::Array(_) | Value::Map(_) => (Some(value_to_json(v)), Cow::Owned(value_text(v))),
            _ => (None, Cow::Owned(value_text(v))),
        },
    }
}

/// Messages from one attribute that holds JSON messages (in any of the shapes
/// [`json_messages`] knows) or text; what is not understood is shown as text.
fn value_messages(v: &Value, try_json: bool, role: &str) -> Vec<Message> {
    if try_json && let Some(ms) = v.as_str().and_then(|s| otel_messages::messages(s, role)) {
        return ms;
    }
    let (json, raw) = parse_value(v, try_json);
    // Understood JSON that holds no message (`[]`) is no message, so the next source is tried.
    match json.and_then(|j| json_messages(&j, role)) {
        Some(ms) => ms,
        None => text_message(role, &raw),
    }
}

/// Messages from a JSON document: an array of messages (OTel parts, OpenAI, Anthropic,
/// Responses API items), a request (`messages`, `input`, `prompt`, with `system` or
/// `instructions`), a response (`choices`, `output`, a single message, embeddings), or a string.
/// `None` when the shape is not one of these.
fn json_messages(j: &Json, role: &str) -> Option<Vec<Message>> {
    match j {
        Json::String(s) => Some(text_message(role, s)),
        Json::Array(items) => array_messages(items, role, false),
        Json::Object(o) => {
            if let Some(Json::Array(choices)) = o.get("choices") {
                let ms = choices
                    .iter()
                    .filter_map(|c| match c.get("message").or_else(|| c.get("delta")) {
                        Some(m) => message_from_json(m, "assistant"),
                        None => message_from_json(c.get("text")?, "assistant"),
                    });
                return Some(ms.collect());
            }
            if let Some(Json::Array(data)) = o.get("data")
                && let n @ 1.. = data.iter().filter(|d| d.get("embedding").is_some()).count()
            {
                let dims = data
                    .iter()
                    .find_map(|d| d.get("embedding")?.as_array().map(Vec::len));
                let plural = if n == 1 { "" } else { "s" };
                let content = match dims {
                    Some(d) => format!("[{n} embedding{plural}, {d} dimensions]"),
                    None => format!("[{n} embedding{plural}]"),
                };
                return Some(vec![Message {
                    content,
                    ..Message::new("assistant")
                }]);
            }
            if o.contains_key("role") {
                return Some(message_from_json(j, role).into_iter().collect());
            }
            if let Some(Json::Array(out)) = o.get("output") {
                return array_messages(out, "assistant", false);
            }
            let body = ["messages", "input", "prompt"]
                .iter()
                .find_map(|k| match o.get(*k)? {
                    Json::Array(items) => array_messages(items, role, *k != "messages"),
                    other => json_messages(other, role),
                })?;
            let mut ms = Vec::new();
            if let Some(sys) = o.get("system").or_else(|| o.get("instructions")) {
                let mut m = Message::new("system");
                let mut texts = Vec::new();
                content_into(sys, &mut m, &mut texts);
                m.content = joined(texts);
                if !m.is_blank() {
                    ms.push(m);
                }
            }
            ms.extend(body);
            Some(ms)
        }
        _ => None,
    }
}

/// An array of messages (items that are not messages, such as Responses API reasoning items,
/// are left out), of strings (one message each), or of typed content parts (one message).
///
/// A bare array of strings is a list of messages only where a request says so (`input`,
/// `prompt`); elsewhere (a retriever's list of ids) it is no conversation.
fn array_messages(items: &[Json], role: &str, strings_are_messages: bool) -> Option<Vec<Message>> {
    let shaped = items
        .iter()
        .all(|i| i.is_object() || i.is_string() || i.is_null());
    let messages = shaped
        && (items.iter().any(is_message_like) || (strings_are_messages && items.iter().any(Json::is_string)));
    if items.is_empty() || messages {
        let keep = |i: &&Json| is_message_like(i) || i.is_string();
        return Some(
            items
                .iter()
                .filter(keep)
                .filter_map(|i| message_from_json(i, role))
                .collect(),
        );
    }
    if items.iter().all(|i| i.get("type").is_some_and(Json::is_string)) {
        let mut m = Message::new(role);
        let mut texts = Vec::new();
        items.iter().for_each(|p| part_into(p, &mut m, &mut texts));
        m.content = joined(texts);
        return Some(vec![m]);
    }
    None
}

fn is_message_like(j: &Json) -> bool {
    let Json::Object(o) = j else { return false };
    o.contains_key("role")
        || o.contains_key("parts")
        || o.contains_key("tool_calls")
        || (o.contains_key("content") && !o.contains_key("type"))
        || matches!(
            o.get("type").and_then(Json::as_str),
            Some("message" | "function_call" | "function_call_output")
        )
}

fn message_from_json(j: &Json, role: &str) -> Option<Message> {
    let o = match j {
        Json::Object(o) => o,
        Json::Null => return None,
        Json::String(s) if s.trim().is_empty() => return None,
        other => {
            return Some(Message {
                content: json_str(other),
                ..Message::new(role)
            });
        }
    };
    let ty = o.get("type").and_then(Json::as_str);
    let role = match o.get("role").and_then(json_text) {
        Some(r) => r,
        None => match ty {
            Some("function_call") => "assistant".to_string(),
            Some("function_call_output") => "tool".to_string(),
            _ => role.to_string(),
        },
    };
    let mut m = Message::new(role);
    let mut texts = Vec::new();
    if let Some(parts) = o.get("parts") {
        content_into(parts, &mut m, &mut texts);
    }
    if let Some(content) = o.get("content") {
        content_into(content, &mut m, &mut texts);
    }
    if let Some(Json::Array(calls)) = o.get("tool_calls") {
        m.tool_calls.extend(calls.iter().map(tool_call_from_json));
    }
    if let Some(call) = o.get("function_call").filter(|c| c.is_object()) {
        m.tool_calls.push(tool_call_from_json(call));
    }
    if matches!(ty, Some("function_call" | "function_call_output")) {
        part_into(j, &mut m, &mut texts);
    }
    if m.tool_call_id.is_none() {
        m.tool_call_id = o.get("tool_call_id").and_then(json_text);
    }
    m.content = joined(texts);
    Some(m)
}

/// Attributes `PREFIX N.rest` grouped by N in numeric order (10 after 9), each with its `rest`.
/// Keys whose N is not a number, or is beyond u64, are skipped.
fn indexed<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a Value)>,
    prefix: &str,
) -> BTreeMap<u64, Vec<(&'a str, &'a Value)>> {
    let mut groups: BTreeMap<u64, Vec<(&'a str, &'a Value)>> = BTreeMap::new();
    for (key, value) in items {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        let Some((n, field)) = split_index(rest) else {
            continue;
        };
        groups.entry(n).or_default().push((field, value));
    }
    groups
}

/// `"12.message.role"` → `(12, "message.role")`; `"12"` → `(12, "")`.
fn split_index(s: &str) -> Option<(u64, &str)> {
    let (n, rest) = s.split_once('.').unwrap_or((s, ""));
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((n.parse().ok()?, rest))
}

fn attr_items(attrs: &[Attr]) -> impl Iterator<Item = (&str, &Value)> {
    attrs.iter().map(|a| (&*a.key, &a.value))
}

fn flat_messages(attrs: &[Attr], prefix: &str, role: &str) -> Vec<Message> {
    indexed(attr_items(attrs), prefix)
        .into_values()
        .filter_map(|fields| flat_message(&fields, role))
        .collect()
}

/// One flattened message: `[message.]role`, `content`, `contents.M.message_content.text`,
/// `tool_calls.M.[tool_call.]{id, function.name, function.arguments, name, arguments}`,
/// `tool_call_id`, and the legacy function call (OpenLLMetry's `function_call.{name, arguments}`,
/// OpenInference's `function_call_name` / `function_call_arguments_json`).
fn flat_message(fields: &[(&str, &Value)], default_role: &str) -> Option<Message> {
    let mut role = None;
    let mut content = None;
    let mut tool_call_id = None;
    let mut contents: BTreeMap<u64, String> = BTreeMap::new();
    let mut calls: BTreeMap<u64, ToolCall> = BTreeMap::new();
    let mut legacy_call: Option<ToolCall> = None;
    for &(field, v) in fields {
        let f = field.strip_prefix("message.").unwrap_or(field);
        match f {
            "role" => role = as_label(v),
            "content" | "" => content = Some(flat_content(v)),
            "tool_call_id" => tool_call_id = as_label(v),
            _ => {
                if let Some((m, sub)) = f.strip_prefix("contents.").and_then(split_index) {
                    let sub = sub.strip_prefix("message_content.").unwrap_or(sub);
                    match sub {
                        "text" => {
                            contents.insert(m, value_text(v));
                        }
                        "image.image.url" | "image.url" | "image_url.url" => {
                            let url = value_text(v);
                            let shown = if url.starts_with("data:") || url.is_empty() {
                                "[image]".to_string()
                            } else {
                                format!("[image: {url}]")
                            };
                            contents.entry(m).or_insert(shown);
                        }
                        _ => {}
                    }
                } else if let Some((m, sub)) = f.strip_prefix("tool_calls.").and_then(split_index) {
                    match sub.strip_prefix("tool_call.").unwrap_or(sub) {
                        "id" => calls.entry(m).or_default().id = as_label(v),
                        "function.name" | "name" => calls.entry(m).or_default().name = value_text(v),
                        "function.arguments" | "arguments" => {
                            calls.entry(m).or_default().arguments = value_text(v)
                        }
                        _ => {}
                    }
                } else {
                    let call = || ToolCall::default();
                    match f {
                        "function_call.name" | "function_call_name" => {
                            legacy_call.get_or_insert_with(call).name = value_text(v)
                        }
                        "function_call.arguments" | "function_call_arguments_json" => {
                            legacy_call.get_or_insert_with(call).arguments = value_text(v)
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let content = content.filter(|c| !c.is_empty()).unwrap_or_else(|| {
        contents
            .into_values()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    });
    let role_given = role.is_some();
    let m = Message {
        role: role.unwrap_or_else(|| default_role.to_string()),
        content,
        tool_calls: calls.into_values().chain(legacy_call).collect(),
        tool_call_id,
    };
    // A message known only by, say, its finish reason says nothing worth showing.
    (role_given || !m.is_blank()).then_some(m)
}

/// Flattened content is text, except that OpenLLMetry sends multimodal content as a JSON array
/// of typed parts (`[{"type": "text", "text": "..."}, ...]`); those are read as parts.
fn flat_content(v: &Value) -> String {
    let text = value_text(v);
    if text.trim_start().starts_with('[')
        && let Ok(Json::Array(parts)) = serde_json::from_str::<Json>(&text)
        && !parts.is_empty()
        && parts.iter().all(|p| p.get("type").is_some_and(Json::is_string))
    {
        let mut m = Message::default();
        let mut texts = Vec::new();
        parts.iter().for_each(|p| part_into(p, &mut m, &mut texts));
        return joined(texts);
    }
    text
}

/// Retrieved documents: OpenInference's `retrieval.documents.N.document.{id,content,score}`,
/// else OTel GenAI's `gen_ai.retrieval.documents` JSON (an array of `{id, content, score}`).
pub fn documents(span: &SpanRecord) -> Vec<Document> {
    let flat: Vec<Document> = flat_documents(span)
        .into_iter()
        .filter_map(|[id, content, score]| {
            let d = Document {
                id: id.and_then(as_label),
                content: content.map(value_text).unwrap_or_default(),
                score: score.and_then(as_f64),
            };
            (d.id.is_some() || !d.content.is_empty() || d.score.is_some()).then_some(d)
        })
        .collect();
    if !flat.is_empty() {
        return flat;
    }
    json_retrieval_documents(span)
}

/// The contents of [`documents`], in the same order, borrowed from the attributes where they
/// hold the text (OpenInference's flattened documents): what context_overlap reads.
pub fn document_contents(span: &SpanRecord) -> Vec<Cow<'_, str>> {
    let flat: Vec<Cow<'_, str>> = flat_documents(span)
        .into_iter()
        .filter_map(|[id, content, score]| {
            let text = content.map_or(Cow::Borrowed(""), value_cow);
            let kept =
                !text.is_empty() || id.and_then(as_label).is_some() || score.and_then(as_f64).is_some();
            kept.then_some(text)
        })
        .collect();
    if !flat.is_empty() {
        return flat;
    }
    json_retrieval_documents(span)
        .into_iter()
        .map(|d| Cow::Owned(d.content))
        .collect()
}

/// OpenInference's flattened documents in index order, each as the values of its id, content
/// and score fields (the last of a field wins).
fn flat_documents(span: &SpanRecord) -> Vec<[Option<&Value>; 3]> {
    indexed(attr_items(&span.attributes), "retrieval.documents.")
        .into_values()
        .map(|fields| {
            let mut d = [None; 3];
            for &(field, v) in &fields {
                match field.strip_prefix("document.").unwrap_or(field) {
                    "id" => d[0] = Some(v),
                    "content" | "" => d[1] = Some(v),
                    "score" => d[2] = Some(v),
                    _ => {}
                }
            }
            d
        })
        .collect()
}

/// OTel GenAI's `gen_ai.retrieval.documents`: a JSON array of `{id, content, score}` (or an
/// object with `documents`), else the text as one document.
fn json_retrieval_documents(span: &SpanRecord) -> Vec<Document> {
    let Some(v) = span.attr("gen_ai.retrieval.documents") else {
        return Vec::new();
    };
    match parse_value(v, true) {
        (Some(j), raw) => json_documents(&j).unwrap_or_else(|| raw_document(raw.into_owned())),
        (None, raw) => raw_document(raw.into_owned()),
    }
}

fn raw_document(raw: String) -> Vec<Document> {
    if raw.trim().is_empty() {
        return Vec::new();
    }
    vec![Document {
        content: raw,
        ..Document::default()
    }]
}

fn json_documents(j: &Json) -> Option<Vec<Document>> {
    match j {
        Json::Array(items) => Some(
            items
                .iter()
                .filter_map(|d| match d {
                    Json::Object(o) => Some(Document {
                        id: ["id", "document_id"]
                            .iter()
                            .find_map(|k| o.get(*k).and_then(json_text)),
                        content: ["content", "text", "page_content"]
                            .iter()
                            .find_map(|k| o.get(*k).filter(|c| !c.is_null()))
                            .map(json_str)
                            .unwrap_or_default(),
                        score: ["score", "relevance_score"]
                            .iter()
                            .find_map(|k| o.get(*k).and_then(json_f64)),
                    }),
                    Json::Null => None,
                    other => Some(Document {
                        content: json_str(other),
                        ..Document::default()
                    }),
                })
                .collect(),
        ),
        Json::Object(o) => json_documents(o.get("documents")?),
        _ => None,
    }
}

/// Tags as sent: `tag.tags` and `langfuse.trace.tags`, each an array or a JSON string array (a
/// plain string is one tag). Duplicates are dropped; nothing else becomes a tag.
pub fn tags(span: &SpanRecord) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for key in ["tag.tags", "langfuse.trace.tags"] {
        let Some(v) = span.attr(key) else { continue };
        let found: Vec<String> = match v {
            Value::Array(items) => items.iter().filter_map(as_label).collect(),
            Value::Str(_) | Value::Sym(_) => {
                let s = v.as_str().unwrap_or_default().trim();
                match serde_json::from_str::<Json>(s) {
                    Ok(Json::Array(items)) if s.starts_with('[') => {
                        items.iter().filter_map(json_text).collect()
                    }
                    _ if s.is_empty() => Vec::new(),
                    _ => vec![s.to_string()],
                }
            }
            other => as_label(other).into_iter().collect(),
        };
        for t in found {
            if seen.insert(t.clone()) {
                out.push(t);
            }
        }
    }
    out
}

/// Where a tool span's arguments are, in order of preference.
const TOOL_ARGUMENT_KEYS: [&str; 4] = [
    "gen_ai.tool.call.arguments",
    "input.value",
    "traceloop.entity.input",
    "langfuse.observation.input",
];

/// A tool span's arguments as [`tool_io`] reads them, borrowed when they are a string (the
/// alert rules and the view compare them for every tool span of every changed trace).
pub fn tool_arguments(span: &SpanRecord) -> Option<std::borrow::Cow<'_, str>> {
    TOOL_ARGUMENT_KEYS.iter().find_map(|k| {
        let v = find_attr(&span.attributes, k)?;
        let text = match v.as_str() {
            Some(t) => std::borrow::Cow::Borrowed(t),
            None => std::borrow::Cow::Owned(value_text(v)),
        };
        (!text.trim().is_empty()).then_some(text)
    })
}

/// A tool span's arguments and result, each from the first source that has it:
/// `gen_ai.tool.call.arguments` / `.result` (OTel GenAI), `input.value` / `output.value`
/// (OpenInference, traceAI), `traceloop.entity.input` / `.output` (OpenLLMetry),
/// `langfuse.observation.input` / `.output`. A missing half is empty; `None` for a span that is
/// not a tool call or carries neither.
pub fn tool_io(span: &SpanRecord) -> Option<(String, String)> {
    let attrs = &span.attributes;
    let is_tool = span.sem.as_ref().is_some_and(|s| s.kind == Kind::Tool)
        || find_attr(attrs, "gen_ai.tool.call.arguments").is_some()
        || find_attr(attrs, "gen_ai.tool.call.result").is_some();
    if !is_tool {
        return None;
    }
    let first = |keys: [&str; 4]| {
        keys.iter().find_map(|k| {
            find_attr(attrs, k)
                .map(value_text)
                .filter(|t| !t.trim().is_empty())
        })
    };
    let args = first(TOOL_ARGUMENT_KEYS);
    let result = first([
        "gen_ai.tool.call.result",
        "output.value",
        "traceloop.entity.output",
        "langfuse.observation.output",
    ]);
    if args.is_none() && result.is_none() {
        return None;
    }
    Some((args.unwrap_or_default(), result.unwrap_or_default()))
}

pub use super::secrets::REDACTED;

/// `Some("[redacted]")` when the value must not be shown: the key looks like a credential
/// (authorization, api key, token, secret, password, cookie), or the value is a JSON object or
/// Python dict (as OpenLLMetry's `gen_ai.headers`) with such a key. Dict keys are checked at the
/// top level, and at every level when the attribute is about headers. Otherwise, when the value
/// holds a secret shape (an API key, a bearer token, a password in a URL), `Some` of the value
/// with only those parts replaced ([`super::secrets`]); `None` when nothing is secret.
pub fn redact(key: &str, value: &str) -> Option<String> {
    let headers = words(key).iter().any(|w| w == "headers" || w == "header");
    if is_credential_name(key) || dict_has_credential(value, headers) {
        return Some(REDACTED.to_string());
    }
    super::secrets::redact_secrets(value)
}

/// Lowercase words of a name, split at anything not alphanumeric and at camelCase humps.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_credential_name(name: &str) -> bool {
    const ANYWHERE: [&str; 12] = [
        "authorization",
        "cookie",
        "cookies",
        "secret",
        "secrets",
        "password",
        "passwd",
        "passphrase",
        "credential",
        "credentials",
        "apikey",
        "bearer",
    ];
    if words(name).iter().any(|w| ANYWHERE.contains(&w.as_str())) {
        return true;
    }
    // The last dotted segment decides the rest: `access_token` and `x-auth-token` are secrets,
    // `llm.token_count.prompt` and `max_tokens` are not.
    let last = words(name.rsplit('.').next().unwrap_or(name));
    if last.last().is_some_and(|w| w == "token") {
        return true;
    }
    last.windows(2).any(|p| {
        p[1] == "key"
            && matches!(
                p[0].as_str(),
                "api" | "access" | "private" | "secret" | "subscription" | "auth" | "client" | "signing"
            )
    })
}

/// Whether a dict-like value (`{...}` JSON or Python repr, or a repr such as `Headers({...})`)
/// has a credential-looking key: at the top level, or anywhere when `all_depths`.
fn dict_has_credential(value: &str, all_depths: bool) -> bool {
    let t = value.trim_start();
    let start = match t.find('{') {
        Some(0) => 0,
        Some(i) if t[..i].ends_with('(') && t[..i - 1].chars().all(|c| c.is_alphanumeric() || c == '_') => i,
        _ => return false,
    };
    let s = &t[start..];
    let b = s.as_bytes();
    let (mut i, mut depth) = (0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return false;
                }
            }
            q @ (b'"' | b'\'') => {
                let begin = i + 1;
                let mut j = begin;
                while j < b.len() && b[j] != q {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(b.len());
                // Both ends sit on ASCII bytes (or the end of the text): valid char boundaries.
                let name = &s[begin..end];
                i = end + 1;
                let mut k = i;
                while k < b.len() && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                if k < b.len() && b[k] == b':' && (depth == 1 || all_depths) && is_credential_name(name) {
                    return true;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Keys whose values must not be rendered in full: embedding vectors
/// (`embedding.embeddings.N.embedding.vector`) and other vectors, and inline image/audio data
/// (`…message_content.image.image.url` is often a base64 `data:` URL).
pub fn is_bulky(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    matches!(
        last,
        "vector" | "vectors" | "embedding_vector" | "embeddings_vector"
    ) || key.ends_with(".image.url")
        || key.ends_with(".audio.url")
        || key.ends_with(".audio.data")
        || key.ends_with(".image.data")
}

/// An attribute value as JSON (maps and arrays included; bytes as a size).
fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Str(_) | Value::Sym(_) => Json::String(v.as_str().unwrap_or_default().to_string()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Double(d) => serde_json::Number::from_f64(*d).map_or(Json::Null, Json::Number),
        Value::Bytes(b) => Json::String(format!("[{} bytes]", b.len())),
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::Map(attrs) => Json::Object(
            attrs
                .iter()
                .map(|a| (a.key.to_string(), value_to_json(&a.value)))
                .collect(),
        ),
        Value::Empty => Json::Null,
    }
}

/// [`value_text`], borrowed when the value is a string.
fn value_cow(v: &Value) -> Cow<'_, str> {
    match v.as_str() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(value_text(v)),
    }
}

/// An attribute value as display text: strings as they are, scalars printed, arrays and maps as
/// JSON, bytes as a size.
fn value_text(v: &Value) -> String {
    match v {
        Value::Str(_) | Value::Sym(_) => v.as_str().unwrap_or_default().to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bytes(b) => format!("[{} bytes]", b.len()),
        Value::Array(_) | Value::Map(_) => value_to_json(v).to_string(),
        Value::Empty => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Sym;
    use crate::model::{Converter, Resource, Scope, SpanId, SpanKind, StatusCode, TraceId};
    use crate::semconv::Semantics;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use std::sync::Arc;

    const SYSTEM_PROMPT: &str = "You are a concise support agent for an online shop. Use tools when needed.\n\
        Context:\n\
        [kb-101] Orders ship within 2 business days; tracking is emailed at dispatch.\n\
        [kb-205] Late deliveries: carriers may need 1-2 extra days during peak season.";
    const QUESTION: &str = "Where is my order A-1042? It was supposed to arrive yesterday.";
    const ANSWER: &str = "Thanks for waiting. I checked the order system: {\"order_id\": \"A-1042\", \
        \"status\": \"in_transit\", \"carrier\": \"UPS\", \"eta\": \"2026-11-28\"} Is there anything else I \
        can help you with?";
    const CALL_ID: &str = "call_c4ab36524c48e21c45622fa7";

    fn fixture(name: &str) -> Vec<SpanRecord> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut converter = Converter::default();
        let mut spans = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let req: ExportTraceServiceRequest = serde_json::from_str(line).expect("OTLP/JSON line");
            converter.convert_traces(req, &mut spans, &mut Vec::new());
        }
        spans
    }

    /// The one fixture span whose `key` attribute is `value`.
    fn span_where<'a>(spans: &'a [SpanRecord], key: &str, value: &str) -> &'a SpanRecord {
        let found: Vec<_> = spans
            .iter()
            .filter(|s| s.attr(key).and_then(Value::as_str) == Some(value))
            .collect();
        assert_eq!(found.len(), 1, "spans with {key}={value}");
        found[0]
    }

    fn named<'a>(spans: &'a [SpanRecord], name: &str) -> Vec<&'a SpanRecord> {
        spans.iter().filter(|s| &*s.name == name).collect()
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    /// Flattened documents with odd indexes, fields and values: a huge index, one that is not
    /// a number, an id and score only, a score that is not a number, metadata only.
    fn odd_flat_documents() -> Vec<(&'static str, Value)> {
        vec![
            ("retrieval.documents.4294967296.document.content", s("last")),
            ("retrieval.documents.x.document.content", s("skipped")),
            ("retrieval.documents.2.document.id", Value::Int(7)),
            ("retrieval.documents.2.document.score", s(" 0.7 ")),
            ("retrieval.documents.10.document.content", s("ten")),
            ("retrieval.documents.10.document.score", s("high")),
            ("retrieval.documents.3.document.metadata", s("{}")),
        ]
    }

    fn rec(attrs: Vec<(&str, Value)>) -> SpanRecord {
        SpanRecord {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: None,
            start_unix_nano: 1,
            end_unix_nano: 2,
            name: Sym::from("span"),
            kind: SpanKind::Internal,
            status: StatusCode::Unset,
            status_message: None,
            flags: 0,
            resource: Arc::new(Resource {
                service: Sym::from("svc"),
                attributes: Box::new([]),
            }),
            scope: Scope {
                name: Sym::from("test"),
                version: None,
            },
            attributes: attrs
                .into_iter()
                .map(|(k, value)| Attr {
                    key: Sym::from(k),
                    value,
                })
                .collect(),
            events: Box::new([]),
            links: Box::new([]),
            sem: None,
            mem_bytes: 0,
        }
    }

    fn tool_rec(attrs: Vec<(&str, Value)>) -> SpanRecord {
        SpanRecord {
            sem: Some(Box::new(Semantics {
                kind: Kind::Tool,
                ..Semantics::default()
            })),
            ..rec(attrs)
        }
    }

    fn msg(role: &str, content: &str) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
            ..Message::default()
        }
    }

    fn call(id: Option<&str>, name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: id.map(str::to_string),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    fn contents(ms: &[Message]) -> Vec<&str> {
        ms.iter().map(|m| m.content.as_str()).collect()
    }

    // ---- OTel GenAI (real capture) ----

    #[test]
    fn otel_genai_tool_calling_chat() {
        let spans = fixture("otel_genai.jsonl");
        let chat = span_where(
            &spans,
            "gen_ai.response.id",
            "chatcmpl-c4ab36524c48e21c45622fa727130",
        );
        let c = conversation(chat);
        assert_eq!(c.system, vec![msg("system", SYSTEM_PROMPT)]);
        assert_eq!(c.input, vec![msg("user", QUESTION)]);
        assert_eq!(
            c.output,
            vec![Message {
                tool_calls: vec![call(
                    Some(CALL_ID),
                    "get_order_status",
                    r#"{"order_id":"A-1042"}"#
                )],
                ..msg("assistant", "")
            }]
        );
        assert_eq!(tool_io(chat), None);
        assert!(documents(chat).is_empty());
        assert!(tags(chat).is_empty());
    }

    #[test]
    fn otel_genai_chat_with_tool_result_in_history() {
        let spans = fixture("otel_genai.jsonl");
        let chat = span_where(
            &spans,
            "gen_ai.response.id",
            "chatcmpl-fd5663f62358a0c24f2f7cec29eb2",
        );
        let c = conversation(chat);
        assert_eq!(c.system, vec![msg("system", SYSTEM_PROMPT)]);
        assert_eq!(
            c.input,
            vec![
                msg("user", QUESTION),
                Message {
                    tool_calls: vec![call(
                        Some(CALL_ID),
                        "get_order_status",
                        r#"{"order_id":"A-1042"}"#
                    )],
                    ..msg("assistant", "")
                },
                Message {
                    tool_call_id: Some(CALL_ID.into()),
                    ..msg(
                        "tool",
                        r#"{"order_id": "A-1042", "status": "in_transit", "carrier": "UPS", "eta": "2026-11-28"}"#
                    )
                },
            ]
        );
        assert_eq!(c.output, vec![msg("assistant", ANSWER)]);
    }

    #[test]
    fn otel_genai_failed_chat_has_input_only() {
        let spans = fixture("otel_genai.jsonl");
        let failed: Vec<_> = named(&spans, "chat gpt-4o-mini")
            .into_iter()
            .filter(|s| s.status == StatusCode::Error)
            .collect();
        assert_eq!(failed.len(), 1);
        let c = conversation(failed[0]);
        assert!(c.system.is_empty());
        assert_eq!(c.input, vec![msg("user", "Cancel order A-1042 please.")]);
        assert!(c.output.is_empty());
    }

    #[test]
    fn otel_genai_retrieval_documents_and_tool_io() {
        let spans = fixture("otel_genai.jsonl");
        let retrieval = span_where(&spans, "gen_ai.operation.name", "retrieval");
        assert_eq!(
            documents(retrieval),
            vec![
                Document {
                    id: Some("kb-101".into()),
                    content: "Orders ship within 2 business days; tracking is emailed at dispatch.".into(),
                    score: Some(0.55),
                },
                Document {
                    id: Some("kb-205".into()),
                    content: "Late deliveries: carriers may need 1-2 extra days during peak season.".into(),
                    score: Some(0.5),
                },
            ]
        );
        assert!(conversation(retrieval).is_empty());
        assert_eq!(tool_io(retrieval), None);

        let tool = span_where(&spans, "gen_ai.operation.name", "execute_tool");
        assert_eq!(
            tool_io(tool),
            Some((
                r#"{"order_id":"A-1042"}"#.to_string(),
                r#"{"order_id":"A-1042","status":"in_transit","carrier":"UPS","eta":"2026-11-28"}"#
                    .to_string()
            ))
        );
        // Nothing in the captures is a credential, and only the OpenInference vector is bulky.
        let all = [
            spans,
            fixture("openinference.jsonl"),
            fixture("otel_genai_eval.jsonl"),
        ]
        .concat();
        for sp in &all {
            for a in sp.attributes.iter() {
                assert_eq!(
                    is_bulky(&a.key),
                    a.key.ends_with(".embedding.vector"),
                    "{}",
                    a.key
                );
                assert_eq!(redact(&a.key, &value_text(&a.value)), None, "{}", a.key);
            }
        }
    }

    // ---- OpenInference (real capture) ----

    #[test]
    fn openinference_chat_messages_and_tool_calls() {
        let spans = fixture("openinference.jsonl");
        let chats = named(&spans, "ChatCompletion");
        assert_eq!(chats.len(), 3);

        let first = conversation(chats[0]);
        assert_eq!(first.system, vec![msg("system", SYSTEM_PROMPT)]);
        assert_eq!(first.input, vec![msg("user", QUESTION)]);
        assert_eq!(
            first.output,
            vec![Message {
                tool_calls: vec![call(
                    Some(CALL_ID),
                    "get_order_status",
                    r#"{"order_id": "A-1042"}"#
                )],
                ..msg("assistant", "")
            }]
        );

        let second = conversation(chats[1]);
        assert_eq!(second.system, vec![msg("system", SYSTEM_PROMPT)]);
        assert_eq!(
            second.input,
            vec![
                msg("user", QUESTION),
                Message {
                    tool_calls: vec![call(
                        Some(CALL_ID),
                        "get_order_status",
                        r#"{"order_id": "A-1042"}"#
                    )],
                    ..msg("assistant", "")
                },
                Message {
                    tool_call_id: Some(CALL_ID.into()),
                    ..msg(
                        "tool",
                        r#"{"order_id": "A-1042", "status": "in_transit", "carrier": "UPS", "eta": "2026-11-28"}"#
                    )
                },
            ]
        );
        assert_eq!(second.output, vec![msg("assistant", ANSWER)]);

        let failed = conversation(chats[2]);
        assert_eq!(failed.input, vec![msg("user", "Cancel order A-1042 please.")]);
        assert!(failed.output.is_empty() && failed.system.is_empty());
    }

    #[test]
    fn openinference_input_value_fallback_reads_openai_json() {
        // The real spans with their llm.*_messages removed: input.value / output.value remain.
        let spans = fixture("openinference.jsonl");
        for (i, chat) in named(&spans, "ChatCompletion").into_iter().take(2).enumerate() {
            let mut bare = chat.clone();
            bare.attributes = chat
                .attributes
                .iter()
                .filter(|a| {
                    !a.key.starts_with("llm.input_messages.") && !a.key.starts_with("llm.output_messages.")
                })
                .cloned()
                .collect();
            assert_eq!(
                conversation(&bare),
                conversation(chat),
                "chat {i}: output.value and input.value say the same as the flattened messages"
            );
        }
    }

    #[test]
    fn openinference_retriever_tool_agent_and_embedding_spans() {
        let spans = fixture("openinference.jsonl");
        let retriever = span_where(&spans, "openinference.span.kind", "RETRIEVER");
        assert_eq!(
            documents(retriever),
            vec![
                Document {
                    id: Some("kb-101".into()),
                    content: "Orders ship within 2 business days; tracking is emailed at dispatch.".into(),
                    score: Some(0.55),
                },
                Document {
                    id: Some("kb-205".into()),
                    content: "Late deliveries: carriers may need 1-2 extra days during peak season.".into(),
                    score: Some(0.5),
                },
            ]
        );
        // text/plain input; the JSON output is a list of ids, not messages: shown as text.
        let c = conversation(retriever);
        assert_eq!(c.input, vec![msg("user", QUESTION)]);
        assert_eq!(c.output, vec![msg("assistant", r#"["kb-101", "kb-205"]"#)]);

        let tool = span_where(&spans, "openinference.span.kind", "TOOL");
        assert_eq!(
            tool_io(tool),
            Some((
                r#"{"order_id": "A-1042"}"#.to_string(),
                r#"{"order_id": "A-1042", "status": "in_transit", "carrier": "UPS", "eta": "2026-11-28"}"#
                    .to_string()
            ))
        );

        let agents = named(&spans, "agent.run");
        let c = conversation(agents[0]);
        assert_eq!(c.input, vec![msg("user", QUESTION)]);
        assert_eq!(c.output, vec![msg("assistant", ANSWER)]);
        assert_eq!(tool_io(agents[0]), None);

        let embedding = span_where(&spans, "openinference.span.kind", "EMBEDDING");
        assert!(
            embedding
                .attributes
                .iter()
                .any(|a| &*a.key == "embedding.embeddings.0.embedding.vector" && is_bulky(&a.key))
        );
        let bulky: Vec<&str> = spans
            .iter()
            .flat_map(|s| s.attributes.iter())
            .filter(|a| is_bulky(&a.key))
            .map(|a| &*a.key)
            .collect();
        assert_eq!(bulky, ["embedding.embeddings.0.embedding.vector"]);
        // The request's `input` is the user text; the response's vector is summarised, not shown.
        let c = conversation(embedding);
        assert_eq!(c.input, vec![msg("user", QUESTION)]);
        assert_eq!(c.output, vec![msg("assistant", "[1 embedding, 16 dimensions]")]);
        // The fixture's metadata JSON is not made into tags.
        assert!(tags(embedding).is_empty());
    }

    // ---- traceAI, OpenLLMetry, Langfuse (synthetic, in their documented shapes) ----

    #[test]
    fn traceai_flattened_messages_sort_numerically_and_split_system() {
        // Twelve messages, sent out of order: 10 and 11 must follow 9.
        let mut attrs = Vec::new();
        for n in [11usize, 2, 10, 0, 9, 1, 5, 3, 8, 4, 7, 6] {
            let role = if n == 0 { "system" } else { "user" };
            attrs.push((
                format!("gen_ai.input.messages.{n}.message.content"),
                s(&format!("m{n}")),
            ));
            attrs.push((format!("gen_ai.input.messages.{n}.message.role"), s(role)));
        }
        let mut attrs: Vec<(&str, Value)> = attrs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        attrs.push(("gen_ai.output.messages.0.message.role", s("assistant")));
        attrs.push(("gen_ai.output.messages.0.message.content", s("done")));
        attrs.push(("gen_ai.span.kind", s("LLM")));
        let c = conversation(&rec(attrs));
        assert_eq!(c.system, vec![msg("system", "m0")]);
        assert_eq!(
            contents(&c.input),
            ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11"]
        );
        assert!(c.input.iter().all(|m| m.role == "user"));
        assert_eq!(c.output, vec![msg("assistant", "done")]);
    }

    #[test]
    fn traceai_python_repr_output_value_is_shown_as_text() {
        let repr = "{'role': 'assistant', 'content': 'Your order ships today.', 'tool_calls': None}";
        let span = rec(vec![
            ("gen_ai.span.kind", s("LLM")),
            (
                "input.value",
                s("{'messages': [{'role': 'user', 'content': 'When?'}]}"),
            ),
            ("input.mime_type", s("application/json")),
            ("output.value", s(repr)),
            ("output.mime_type", s("application/json")),
        ]);
        let c = conversation(&span);
        assert_eq!(
            c.input,
            vec![msg(
                "user",
                "{'messages': [{'role': 'user', 'content': 'When?'}]}"
            )]
        );
        assert_eq!(c.output, vec![msg("assistant", repr)]);
    }

    #[test]
    fn openinference_contents_and_tool_calls_flattened() {
        let span = rec(vec![
            ("llm.input_messages.0.message.role", s("user")),
            (
                "llm.input_messages.0.message.contents.1.message_content.type",
                s("image"),
            ),
            (
                "llm.input_messages.0.message.contents.1.message_content.image.image.url",
                s("data:image/png;base64,AAAA"),
            ),
            (
                "llm.input_messages.0.message.contents.0.message_content.type",
                s("text"),
            ),
            (
                "llm.input_messages.0.message.contents.0.message_content.text",
                s("What is this?"),
            ),
            ("llm.output_messages.0.message.role", s("assistant")),
            (
                "llm.output_messages.0.message.tool_calls.1.tool_call.function.name",
                s("second"),
            ),
            (
                "llm.output_messages.0.message.tool_calls.1.tool_call.function.arguments",
                s("{}"),
            ),
            ("llm.output_messages.0.message.tool_calls.0.tool_call.id", s("c0")),
            (
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
                s("first"),
            ),
            (
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
                s(r#"{"a":1}"#),
            ),
        ]);
        let c = conversation(&span);
        assert_eq!(c.input, vec![msg("user", "What is this?\n[image]")]);
        assert_eq!(
            c.output,
            vec![Message {
                tool_calls: vec![
                    call(Some("c0"), "first", r#"{"a":1}"#),
                    call(None, "second", "{}")
                ],
                ..msg("assistant", "")
            }]
        );
        assert!(is_bulky(
            "llm.input_messages.0.message.contents.1.message_content.image.image.url"
        ));
    }

    #[test]
    fn openllmetry_prompt_and_completion() {
        let span = rec(vec![
            ("gen_ai.prompt.0.role", s("system")),
            ("gen_ai.prompt.0.content", s("Be brief.")),
            ("gen_ai.prompt.1.role", s("user")),
            (
                "gen_ai.prompt.1.content",
                s(
                    r#"[{"type": "text", "text": "Look:"}, {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]"#,
                ),
            ),
            ("gen_ai.prompt.2.role", s("tool")),
            ("gen_ai.prompt.2.tool_call_id", s("t1")),
            ("gen_ai.prompt.2.content", s("sunny")),
            ("gen_ai.completion.0.role", s("assistant")),
            ("gen_ai.completion.0.finish_reason", s("tool_calls")),
            ("gen_ai.completion.0.tool_calls.0.id", s("t2")),
            ("gen_ai.completion.0.tool_calls.0.name", s("weather")),
            (
                "gen_ai.completion.0.tool_calls.0.arguments",
                s(r#"{"city":"Oslo"}"#),
            ),
            ("gen_ai.completion.2.function_call.name", s("legacy")),
            ("gen_ai.completion.2.function_call.arguments", s("{}")),
            // Only a finish reason: not a message.
            ("gen_ai.completion.1.finish_reason", s("stop")),
        ]);
        let c = conversation(&span);
        assert_eq!(c.system, vec![msg("system", "Be brief.")]);
        assert_eq!(
            c.input,
            vec![
                msg("user", "Look:\n[image: https://x.test/a.png]"),
                Message {
                    tool_call_id: Some("t1".into()),
                    ..msg("tool", "sunny")
                },
            ]
        );
        assert_eq!(
            c.output,
            vec![
                Message {
                    tool_calls: vec![call(Some("t2"), "weather", r#"{"city":"Oslo"}"#)],
                    ..msg("assistant", "")
                },
                Message {
                    tool_calls: vec![call(None, "legacy", "{}")],
                    ..msg("assistant", "")
                },
            ]
        );
    }

    #[test]
    fn openllmetry_tool_io_from_entity_input_output() {
        let span = tool_rec(vec![
            ("traceloop.span.kind", s("tool")),
            (
                "traceloop.entity.input",
                s(r#"{"args": [], "kwargs": {"city": "Oslo"}}"#),
            ),
            ("traceloop.entity.output", s(r#""sunny""#)),
        ]);
        assert_eq!(
            tool_io(&span),
            Some((
                r#"{"args": [], "kwargs": {"city": "Oslo"}}"#.into(),
                r#""sunny""#.into()
            ))
        );
        // A tool span with only a result: the arguments are empty.
        let span = tool_rec(vec![("output.value", s("42"))]);
        assert_eq!(tool_io(&span), Some((String::new(), "42".into())));
        // A tool span that carries neither.
        assert_eq!(tool_io(&tool_rec(vec![("tool.name", s("x"))])), None);
        // OTel keys make a tool span even without normalised semantics.
        let span = rec(vec![("gen_ai.tool.call.result", Value::Int(7))]);
        assert_eq!(tool_io(&span), Some((String::new(), "7".into())));
        // input.value on a non-tool span is not tool I/O.
        assert_eq!(tool_io(&rec(vec![("input.value", s("hi"))])), None);
    }

    #[test]
    fn langfuse_observation_input_and_output() {
        let span = rec(vec![
            (
                "langfuse.observation.input",
                s(
                    r#"[{"role": "system", "content": "Sys"}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]"#,
                ),
            ),
            (
                "langfuse.observation.output",
                s(r#"{"role": "assistant", "content": "Hello!"}"#),
            ),
            (
                "langfuse.trace.tags",
                Value::Array(Box::new([s("beta"), s("prod")])),
            ),
        ]);
        let c = conversation(&span);
        assert_eq!(c.system, vec![msg("system", "Sys")]);
        assert_eq!(c.input, vec![msg("user", "Hi")]);
        assert_eq!(c.output, vec![msg("assistant", "Hello!")]);
        assert_eq!(tags(&span), ["beta", "prod"]);

        // Plain text, a JSON string, and a JSON object that is no message.
        let span = rec(vec![
            ("langfuse.observation.input", s("just text {")),
            ("langfuse.observation.output", s(r#""quoted""#)),
        ]);
        let c = conversation(&span);
        assert_eq!(c.input, vec![msg("user", "just text {")]);
        assert_eq!(c.output, vec![msg("assistant", "quoted")]);
        let span = rec(vec![("langfuse.observation.input", s(r#"{"query": "q"}"#))]);
        assert_eq!(conversation(&span).input, vec![msg("user", r#"{"query": "q"}"#)]);
    }

    // ---- precedence, system instructions, odd input ----

    #[test]
    fn first_source_wins_per_part_and_empty_falls_through() {
        let span = rec(vec![
            ("llm.input_messages.0.message.role", s("user")),
            ("llm.input_messages.0.message.content", s("from openinference")),
            (
                "gen_ai.input.messages",
                s(r#"[{"role":"user","parts":[{"type":"text","content":"from otel"}]}]"#),
            ),
            ("gen_ai.output.messages", s("[]")),
            ("llm.output_messages.0.message.role", s("assistant")),
            ("llm.output_messages.0.message.content", s("oi out")),
            ("output.value", s("opaque out")),
        ]);
        let c = conversation(&span);
        assert_eq!(c.input, vec![msg("user", "from otel")]);
        assert_eq!(c.output, vec![msg("assistant", "oi out")]);
    }

    #[test]
    fn system_instructions_and_system_inputs_both_kept_once() {
        let span = rec(vec![
            (
                "gen_ai.system_instructions",
                s(r#"[{"type":"text","content":"Rule one."},{"type":"text","content":"Rule two."}]"#),
            ),
            (
                "gen_ai.input.messages",
                s(
                    r#"[{"role":"system","parts":[{"type":"text","content":"Rule one.\nRule two."}]},
                     {"role":"SYSTEM","parts":[{"type":"text","content":"Extra."}]},
                     {"role":"user","parts":[{"type":"text","content":"Hi"},{"type":"uri","modality":"image","uri":"https://x.test/i.png"}]}]"#,
                ),
            ),
            (
                "gen_ai.output.messages",
                s(
                    r#"[{"role":"assistant","finish_reason":"stop","parts":[{"type":"reasoning","content":"think"},{"type":"text","content":"Hello"}]}]"#,
                ),
            ),
        ]);
        let c = conversation(&span);
        assert_eq!(
            c.system,
            vec![msg("system", "Rule one.\nRule two."), msg("SYSTEM", "Extra.")]
        );
        assert_eq!(c.input, vec![msg("user", "Hi\n[image: https://x.test/i.png]")]);
        assert_eq!(c.output, vec![msg("assistant", "[reasoning] think\nHello")]);

        // Plain-text instructions.
        let span = rec(vec![("gen_ai.system_instructions", s("Be kind."))]);
        assert_eq!(conversation(&span).system, vec![msg("system", "Be kind.")]);
    }

    #[test]
    fn openai_request_and_response_json_in_values() {
        let span = rec(vec![
            (
                "input.value",
                s(
                    r#"{"model":"m","system":"Sys","messages":[{"role":"user","content":"Q"},
                    {"role":"assistant","content":[{"type":"tool_use","id":"tu1","name":"f","input":{"x":1}}]},
                    {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":"r"}]}]}"#,
                ),
            ),
            ("input.mime_type", s("application/json")),
            ("output.value", s(r#"{"choices":[{"text":"completion text"}]}"#)),
            ("output.mime_type", s("application/json")),
        ]);
        let c = conversation(&span);
        assert_eq!(c.system, vec![msg("system", "Sys")]);
        assert_eq!(
            c.input,
            vec![
                msg("user", "Q"),
                Message {
                    tool_calls: vec![call(Some("tu1"), "f", r#"{"x":1}"#)],
                    ..msg("assistant", "")
                },
                Message {
                    tool_call_id: Some("tu1".into()),
                    ..msg("user", "r")
                },
            ]
        );
        assert_eq!(c.output, vec![msg("assistant", "completion text")]);

        // An embeddings batch request, and a Responses API exchange.
        let span = rec(vec![
            ("input.value", s(r#"{"input": ["one", "two"], "model": "e"}"#)),
            (
                "output.value",
                s(r#"{"data": [{"embedding": [0.1, 0.2]}, {"embedding": [0.3, 0.4]}]}"#),
            ),
        ]);
        let c = conversation(&span);
        assert_eq!(c.input, vec![msg("user", "one"), msg("user", "two")]);
        assert_eq!(c.output, vec![msg("assistant", "[2 embeddings, 2 dimensions]")]);
        let span = rec(vec![
            (
                "input.value",
                s(r#"{"instructions": "Sys", "input": [{"role": "user", "content": "Q"}]}"#),
            ),
            (
                "output.value",
                s(r#"{"output": [{"type": "reasoning", "summary": []},
                    {"type": "function_call", "id": "fc_item", "call_id": "fc1", "name": "f", "arguments": "{}"},
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "A"}]}]}"#),
            ),
        ]);
        let c = conversation(&span);
        assert_eq!(c.system, vec![msg("system", "Sys")]);
        assert_eq!(c.input, vec![msg("user", "Q")]);
        assert_eq!(
            c.output,
            vec![
                Message {
                    tool_calls: vec![call(Some("fc1"), "f", "{}")],
                    ..msg("assistant", "")
                },
                msg("assistant", "A"),
            ]
        );

        // text/plain is never parsed, however JSON it looks.
        let span = rec(vec![
            (
                "input.value",
                s(r#"{"messages":[{"role":"user","content":"Q"}]}"#),
            ),
            ("input.mime_type", s("text/plain")),
        ]);
        assert_eq!(
            conversation(&span).input,
            vec![msg("user", r#"{"messages":[{"role":"user","content":"Q"}]}"#)]
        );
    }

    #[test]
    fn odd_input_never_panics() {
        let span = rec(vec![
            ("gen_ai.input.messages", s("[{\"role\": \"user\", \"parts\": [")),
            ("gen_ai.output.messages", Value::Int(42)),
            ("gen_ai.system_instructions", Value::Double(f64::NAN)),
        ]);
        let c = conversation(&span);
        // Invalid JSON is shown as it came; a number is printed.
        assert_eq!(c.input, vec![msg("user", "[{\"role\": \"user\", \"parts\": [")]);
        assert_eq!(c.output, vec![msg("assistant", "42")]);
        assert_eq!(c.system, vec![msg("system", "NaN")]);

        let span = rec(vec![
            ("gen_ai.prompt.4294967296.content", s("huge")),
            ("gen_ai.prompt.99999999999999999999999.content", s("beyond u64")),
            ("gen_ai.prompt.5.content", Value::Int(5)),
            ("gen_ai.prompt.5.role", Value::Int(7)),
            ("gen_ai.prompt.0.role", s("user")),
            ("gen_ai.prompt.0.content", Value::Bool(true)),
            ("gen_ai.prompt.x.content", s("not an index")),
            ("gen_ai.prompt..content", s("empty index")),
            ("gen_ai.prompt.-1.content", s("negative")),
            (
                "gen_ai.prompt.3.content",
                Value::Array(Box::new([s("a"), Value::Int(1)])),
            ),
            ("gen_ai.prompt.2.tool_calls.x.name", s("bad nested index")),
            ("gen_ai.prompt.1.content", Value::Bytes(Box::new([0, 1, 2]))),
            (
                "gen_ai.prompt.6.content",
                Value::Map(Box::new([Attr {
                    key: Sym::from("k"),
                    value: s("v"),
                }])),
            ),
            ("gen_ai.prompt.7.content", Value::Empty),
        ]);
        let c = conversation(&span);
        assert_eq!(
            c.input,
            vec![
                msg("user", "true"),
                msg("user", "[3 bytes]"),
                msg("user", r#"["a",1]"#),
                msg("7", "5"),
                msg("user", r#"{"k":"v"}"#),
                msg("user", "huge"),
            ]
        );

        // Wrong JSON types inside otherwise valid messages.
        let span = rec(vec![(
            "gen_ai.input.messages",
            s(
                r#"[{"role": 3, "parts": [{"type": "text", "content": 12}, {"type": "tool_call", "name": null, "arguments": null}, 7, null]}, "plain", null]"#,
            ),
        )]);
        let c = conversation(&span);
        assert_eq!(
            c.input,
            vec![
                Message {
                    tool_calls: vec![call(None, "", "")],
                    ..msg("3", "12\n7")
                },
                msg("user", "plain"),
            ]
        );

        let span = rec(odd_flat_documents());
        assert_eq!(
            documents(&span),
            vec![
                Document {
                    id: Some("7".into()),
                    content: String::new(),
                    score: Some(0.7),
                },
                Document {
                    id: None,
                    content: "ten".into(),
                    score: None,
                },
                Document {
                    id: None,
                    content: "last".into(),
                    score: None,
                },
            ]
        );
        assert!(conversation(&rec(Vec::new())).is_empty());
        assert!(documents(&rec(Vec::new())).is_empty());
    }

    /// [`document_contents`] borrows what [`documents`] copies, and gives the same texts.
    fn same_contents(span: &SpanRecord) {
        let copied: Vec<String> = documents(span).into_iter().map(|d| d.content).collect();
        let borrowed: Vec<String> = document_contents(span).into_iter().map(Cow::into_owned).collect();
        assert_eq!(borrowed, copied, "{:?}", span.attributes);
    }

    #[test]
    fn document_contents_are_the_documents_contents() {
        let mut odd = odd_flat_documents();
        odd.extend([
            ("retrieval.documents.5.document.content", Value::Int(12)),
            ("retrieval.documents.6.content", s("first")),
            ("retrieval.documents.6.document.content", s("second")),
            ("retrieval.documents.7.document.score", s("not a number")),
            ("retrieval.documents.8", s("bare")),
        ]);
        let cases = [
            odd,
            vec![("retrieval.documents.3.document.metadata", s("{}"))],
            vec![(
                "gen_ai.retrieval.documents",
                s(r#"[{"id": 1, "content": {"k": "v"}}, "bare text", null, {"text": "t"}]"#),
            )],
            vec![("gen_ai.retrieval.documents", s("not JSON"))],
            vec![("gen_ai.retrieval.documents", s("   "))],
            vec![
                ("retrieval.documents.0.document.score", s("0.5")),
                ("gen_ai.retrieval.documents", s(r#"["ignored"]"#)),
            ],
            Vec::new(),
        ];
        for attrs in cases {
            same_contents(&rec(attrs));
        }
        let mut with_documents = 0;
        for name in [
            "otel_genai.jsonl",
            "openinference.jsonl",
            "otel_genai_eval.jsonl",
            "langchain.jsonl",
            "llamaindex.jsonl",
            "langfuse.jsonl",
            "openlit.jsonl",
            "pydanticai.jsonl",
            "vercel.jsonl",
        ] {
            for span in fixture(name) {
                with_documents += usize::from(!documents(&span).is_empty());
                same_contents(&span);
            }
        }
        assert!(
            with_documents >= 3,
            "{with_documents} fixture spans with documents"
        );
    }

    #[test]
    fn otel_retrieval_documents_json_shapes() {
        let span = rec(vec![(
            "gen_ai.retrieval.documents",
            s(
                r#"[{"id": 1, "content": {"k": "v"}, "score": "0.25"}, "bare text", null, {"text": "t", "score": "NaN"}]"#,
            ),
        )]);
        assert_eq!(
            documents(&span),
            vec![
                Document {
                    id: Some("1".into()),
                    content: r#"{"k":"v"}"#.into(),
                    score: Some(0.25),
                },
                Document {
                    id: None,
                    content: "bare text".into(),
                    score: None,
                },
                Document {
                    id: None,
                    content: "t".into(),
                    score: None,
                },
            ]
        );
        let span = rec(vec![("gen_ai.retrieval.documents", s("not json"))]);
        assert_eq!(
            documents(&span),
            vec![Document {
                content: "not json".into(),
                ..Document::default()
            }]
        );
        // The flattened form wins when both are present.
        let span = rec(vec![
            ("gen_ai.retrieval.documents", s(r#"[{"id": "json"}]"#)),
            ("retrieval.documents.0.document.id", s("flat")),
        ]);
        assert_eq!(documents(&span)[0].id.as_deref(), Some("flat"));
    }

    #[test]
    fn tags_as_sent_only() {
        let span = rec(vec![
            ("tag.tags", s(r#"["a", "b", 3]"#)),
            (
                "langfuse.trace.tags",
                Value::Array(Box::new([s("b"), s(" c "), s(""), Value::Int(4)])),
            ),
            ("metadata", s(r#"{"tags": ["x"]}"#)),
            ("traceloop.association.properties.tag", s("y")),
        ]);
        assert_eq!(tags(&span), ["a", "b", "3", "c", "4"]);
        assert_eq!(tags(&rec(vec![("tag.tags", s("solo"))])), ["solo"]);
        assert_eq!(tags(&rec(vec![("tag.tags", s("[broken"))])), ["[broken"]);
        assert!(tags(&rec(vec![("tag.tags", s("  "))])).is_empty());
        assert!(tags(&rec(vec![("tag.tags", Value::Array(Box::new([])))])).is_empty());
    }

    // ---- redaction and bulk ----

    #[test]
    fn redacts_credential_keys() {
        for key in [
            "authorization",
            "http.request.header.authorization",
            "http.request.header.proxy-authorization",
            "api-key",
            "api_key",
            "x-api-key",
            "openai.apiKey",
            "OPENAI_API_KEY",
            "token",
            "access_token",
            "x-auth-token",
            "client_secret",
            "db.password",
            "cookie",
            "set-cookie",
            "Ocp-Apim-Subscription-Key",
        ] {
            assert_eq!(redact(key, "v").as_deref(), Some("[redacted]"), "{key}");
        }
        for key in [
            "llm.token_count.prompt",
            "gen_ai.usage.input_tokens",
            "gen_ai.request.max_tokens",
            "gen_ai.token.type",
            "gen_ai.request.model",
            "session.id",
            "input.value",
            "keyboard",
            "monkey",
        ] {
            assert_eq!(redact(key, "v"), None, "{key}");
        }
    }

    #[test]
    fn redacts_credential_headers_inside_dict_strings() {
        // OpenLLMetry's gen_ai.headers is str() of a Python dict.
        let headers = "{'Content-Type': 'application/json', 'Authorization': 'Bearer sk-proj-abc123'}";
        assert_eq!(redact("gen_ai.headers", headers).as_deref(), Some("[redacted]"));
        assert_eq!(
            redact("gen_ai.headers", r#"{"x-api-key": "sk-ant-1", "accept": "*/*"}"#).as_deref(),
            Some("[redacted]")
        );
        assert_eq!(
            redact("gen_ai.headers", "Headers({'cookie': 'session=1'})").as_deref(),
            Some("[redacted]")
        );
        // Headers nested a level down still count for a headers attribute.
        assert_eq!(
            redact("gen_ai.headers", r#"{"extra": {"Set-Cookie": "a=b"}}"#).as_deref(),
            Some("[redacted]")
        );
        // Escaped quotes and unicode do not confuse the scan.
        assert_eq!(
            redact("gen_ai.headers", r#"{'x-n\'ote': 'é', "password"   : "p"}"#).as_deref(),
            Some("[redacted]")
        );
        assert_eq!(
            redact("gen_ai.headers", "{'Content-Type': 'application/json'}"),
            None
        );
        // A credential word as a value, or text that is no dict, is not a credential key.
        assert_eq!(redact("gen_ai.headers", "{'accept': 'token'}"), None);
        assert_eq!(redact("note", "see the 'token': here"), None);
        // Top-level keys only, elsewhere: a tool schema's "password" property is not a secret.
        assert_eq!(
            redact(
                "input.value",
                r#"{"tools": [{"properties": {"password": {"type": "string"}}}]}"#
            ),
            None
        );
        assert_eq!(
            redact(
                "llm.invocation_parameters",
                r#"{"model": "m", "api_key": "sk-1"}"#
            )
            .as_deref(),
            Some("[redacted]")
        );
        // Unterminated and odd input.
        assert_eq!(redact("gen_ai.headers", "{'authorization"), None);
        assert_eq!(redact("gen_ai.headers", "{'a': 'b\\"), None);
        assert_eq!(
            redact("gen_ai.headers", "é({'token': 1})").as_deref(),
            Some("[redacted]")
        );
        assert_eq!(redact("gen_ai.headers", "see ({'token': 1})"), None);
        assert_eq!(redact("gen_ai.headers", ""), None);
    }

    #[test]
    fn bulky_keys() {
        assert!(is_bulky("embedding.embeddings.0.embedding.vector"));
        assert!(is_bulky("embedding.embeddings.12.embedding.vector"));
        assert!(is_bulky(
            "llm.input_messages.0.message.contents.0.message_content.image.image.url"
        ));
        assert!(!is_bulky("embedding.embeddings.0.embedding.text"));
        assert!(!is_bulky("embedding.model_name"));
        assert!(!is_bulky("gen_ai.embeddings.dimension.count"));
        assert!(!is_bulky("output.value"));
    }
}
