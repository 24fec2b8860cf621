//! A message of a conversation as the display reads it (role, text, tool calls, the call a
//! result answers), and how one is filled from JSON content parts of every convention. Below
//! the readers of each convention (`content.rs`, `otel_messages`), which all make messages.

use crate::semconv::value::json_text;
use serde_json::Value as Json;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Message {
    pub role: String,
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    /// On a tool result: the call it answers.
    pub tool_call_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolCall {
    pub id: Option<String>,
    pub name: String,
    /// As sent: usually a JSON object's text.
    pub arguments: String,
}

impl Message {
    pub(super) fn new(role: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            ..Self::default()
        }
    }

    pub(super) fn is_blank(&self) -> bool {
        self.content.is_empty() && self.tool_calls.is_empty() && self.tool_call_id.is_none()
    }
}

/// Message content: a string, an array of parts, a single part, or anything else as JSON text.
pub(super) fn content_into(c: &Json, m: &mut Message, texts: &mut Vec<String>) {
    match c {
        Json::Null => {}
        Json::String(s) => {
            if !s.is_empty() {
                texts.push(s.clone());
            }
        }
        Json::Array(items) => items.iter().for_each(|i| part_into(i, m, texts)),
        Json::Object(_) => part_into(c, m, texts),
        other => texts.push(other.to_string()),
    }
}

/// One part of a message: OTel GenAI (`text`, `tool_call`, `tool_call_response`, `reasoning`,
/// `blob`, `uri`, `file`), OpenAI (`text`, `image_url`, Responses API items), Anthropic
/// (`text`, `tool_use`, `tool_result`, `thinking`, `image`).
pub(super) fn part_into(p: &Json, m: &mut Message, texts: &mut Vec<String>) {
    let Json::Object(o) = p else {
        return content_into(p, m, texts);
    };
    let get_text = |keys: &[&str]| keys.iter().find_map(|k| o.get(*k).and_then(json_text));
    let ty = o.get("type").and_then(Json::as_str).unwrap_or("");
    match ty {
        "tool_call" | "function_call" | "tool_use" => m.tool_calls.push(tool_call_from_json(p)),
        "tool_call_response" | "tool_result" | "function_call_output" => {
            if m.tool_call_id.is_none() {
                m.tool_call_id = get_text(&["call_id", "id", "tool_use_id", "tool_call_id"]);
            }
            if let Some(r) = ["response", "content", "output"].iter().find_map(|k| o.get(*k)) {
                content_into(r, m, texts);
            }
        }
        "reasoning" | "thinking" => {
            if let Some(t) = get_text(&["content", "text", "thinking"]) {
                texts.push(format!("[reasoning] {t}"));
            }
        }
        _ => {
            if let Some(c) = o
                .get("content")
                .or_else(|| o.get("text"))
                .filter(|c| !c.is_null())
            {
                return content_into(c, m, texts);
            }
            let url = o
                .get("image_url")
                .and_then(|u| u.get("url").or(Some(u)))
                .or_else(|| o.get("uri"))
                .or_else(|| o.get("url"))
                .and_then(Json::as_str);
            let what = o.get("modality").and_then(Json::as_str).unwrap_or(match ty {
                "image_url" => "image",
                "" => "part",
                t => t,
            });
            texts.push(match url {
                Some(u) if !u.starts_with("data:") => format!("[{what}: {u}]"),
                _ => format!("[{what}]"),
            });
        }
    }
}

/// A tool call as OTel parts (`id`, `name`, `arguments`), OpenAI (`id`,
/// `function: {name, arguments}`), Anthropic (`id`, `name`, `input`) or Responses API
/// (`call_id`, `name`, `arguments`) write it.
pub(super) fn tool_call_from_json(c: &Json) -> ToolCall {
    let f = c.get("function");
    let field = |k: &str| c.get(k).or_else(|| f?.get(k)).filter(|v| !v.is_null());
    ToolCall {
        id: ["call_id", "id", "tool_call_id"]
            .iter()
            .find_map(|k| c.get(*k).and_then(json_text)),
        name: field("name").map(json_str).unwrap_or_default(),
        arguments: field("arguments")
            .or_else(|| field("input"))
            .map(json_str)
            .unwrap_or_default(),
    }
}

/// Texts joined by newlines; a single text is moved, not copied.
pub(super) fn joined<S: std::borrow::Borrow<str> + Into<String>>(mut texts: Vec<S>) -> String {
    if texts.len() == 1
        && let Some(text) = texts.pop()
    {
        return text.into();
    }
    texts.join("\n")
}

/// JSON as display text: strings as they are, null as nothing, the rest as compact JSON.
pub(super) fn json_str(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}
