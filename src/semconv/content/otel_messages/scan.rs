//! A hand-written reader for the plainest OTel GenAI message arrays, tried before the serde
//! visitors of [`super`]: messages with a string `role` and `parts`, parts of type `text`,
//! `tool_call` and `tool_call_response` with the keys those read, other message keys only with
//! string values. Anything else gives up (`None`) and the visitors read the text, so this must
//! read what it accepts to exactly what they read (the tests compare the two). Tool arguments
//! and responses that are not strings are parsed by serde_json itself, for their exact text.

use super::super::message::{Message, ToolCall, content_into, joined, json_str};
use crate::json_bytes::find_special;
use crate::semconv::value::json_text;
use serde_json::Value as Json;
use std::borrow::Cow;

/// Deepest nesting read here; serde_json stops at 128 (counted from the top of the text).
const MAX_DEPTH: usize = 100;

pub(super) fn messages(text: &str, role: &str) -> Option<Vec<Message>> {
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let out = r.messages(role)?;
    r.ws();
    (r.pos == r.bytes.len()).then_some(out)
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    depth: usize,
}

/// A value the reader keeps: a string, `null`, or anything else as serde_json reads it.
enum Piece<'t> {
    Str(Cow<'t, str>),
    Null,
    Json(Json),
}

impl Piece<'_> {
    /// `json_text` of the value.
    fn text(&self) -> Option<String> {
        match self {
            Piece::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Piece::Str(_) | Piece::Null => None,
            Piece::Json(j) => json_text(j),
        }
    }

    /// `json_str` of the value.
    fn into_string(self) -> String {
        match self {
            Piece::Str(s) => s.into_owned(),
            Piece::Null => String::new(),
            Piece::Json(j) => json_str(&j),
        }
    }
}

/// One part, as `part_into` adds it.
enum Part<'t> {
    Text(Cow<'t, str>),
    ToolCall(ToolCall),
    Response {
        id: Option<String>,
        response: Option<Piece<'t>>,
    },
}

impl<'t> Reader<'t> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.bytes[self.pos..].starts_with(b"null") {
            self.pos += 4;
            return true;
        }
        false
    }

    /// An object; `field` reads the value of each key.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'t str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.peek()? == b'}' {
            self.pos += 1;
        } else {
            loop {
                let key = self.key()?;
                self.eat(b':')?;
                field(self, key)?;
                match self.peek()? {
                    b',' => self.pos += 1,
                    b'}' => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'[')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.pos += 1;
        } else {
            loop {
                out.push(item(self)?);
                match self.peek()? {
                    b',' => self.pos += 1,
                    b']' => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(out)
    }

    /// A key without escapes.
    fn key(&mut self) -> Option<&'t str> {
        self.eat(b'"')?;
        let start = self.pos;
        let end = start + find_special(&self.bytes[start..])?;
        if self.bytes[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        // Cut at ASCII quotes: on character boundaries.
        self.text.get(start..end)
    }

    /// A string, borrowed unless it has escapes (surrogate escapes give up).
    fn string(&mut self) -> Option<Cow<'t, str>> {
        self.eat(b'"')?;
        let start = self.pos;
        let at = start + find_special(&self.bytes[start..])?;
        match self.bytes[at] {
            b'"' => {
                self.pos = at + 1;
                self.text.get(start..at).map(Cow::Borrowed)
            }
            b'\\' => self.escaped(start, at),
            _ => None,
        }
    }

    /// The rest of a string from its first escape at `at` (it started at `start`).
    fn escaped(&mut self, start: usize, at: usize) -> Option<Cow<'t, str>> {
        let mut s = String::with_capacity(at - start + 64);
        s.push_str(self.text.get(start..at)?);
        let mut i = at;
        let mut segment = at;
        loop {
            i += find_special(self.bytes.get(i..)?)?;
            match self.bytes[i] {
                b'"' => {
                    s.push_str(self.text.get(segment..i)?);
                    self.pos = i + 1;
                    return Some(Cow::Owned(s));
                }
                b'\\' => {
                    s.push_str(self.text.get(segment..i)?);
                    let escape = *self.bytes.get(i + 1)?;
                    i += 2;
                    match escape {
                        b'"' => s.push('"'),
                        b'\\' => s.push('\\'),
                        b'/' => s.push('/'),
                        b'b' => s.push('\u{8}'),
                        b'f' => s.push('\u{c}'),
                        b'n' => s.push('\n'),
                        b'r' => s.push('\r'),
                        b't' => s.push('\t'),
                        b'u' => {
                            let hex = self
                                .text
                                .get(i..i + 4)
                                .filter(|h| h.bytes().all(|d| d.is_ascii_hexdigit()))?;
                            // Surrogates (pairs, and the lone ones serde_json refuses): not here.
                            s.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                            i += 4;
                        }
                        _ => return None,
                    }
                    segment = i;
                }
                _ => return None, // a control character
            }
        }
    }

    /// Any JSON value as serde_json reads it; nesting counted from here (serde_json counts from
    /// the top of the text, so a deep value gives up rather than be read where it would not).
    fn json(&mut self) -> Option<Json> {
        self.ws();
        let rest = self.text.get(self.pos..)?;
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Json>();
        let value = values.next()?.ok()?;
        if self.depth + depth(&value) > MAX_DEPTH {
            return None;
        }
        self.pos += values.byte_offset();
        Some(value)
    }

    /// A string, `null`, or any other value.
    fn piece(&mut self) -> Option<Piece<'t>> {
        match self.peek()? {
            b'"' => self.string().map(Piece::Str),
            b'n' if self.null() => Some(Piece::Null),
            _ => self.json().map(Piece::Json),
        }
    }

    fn messages(&mut self, role: &str) -> Option<Vec<Message>> {
        self.array(|r| r.message(role))
    }

    fn message(&mut self, default_role: &str) -> Option<Message> {
        let (mut role, mut parts) = (None, None);
        let mut seen = 0u8;
        self.object(|r, key| {
            let bit = match key {
                "role" => 1,
                "parts" => 2,
                "content" => 4,
                "tool_calls" => 8,
                "function_call" => 16,
                "tool_call_id" => 32,
                "type" => 64,
                _ => 0,
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match bit {
                1 => {
                    role = Some(if r.null() { None } else { Some(r.string()?) });
                }
                2 => {
                    parts = Some(if r.null() {
                        None
                    } else {
                        Some(r.array(Self::part)?)
                    });
                }
                0 => {
                    // Any other key, with a string value: read and dropped.
                    r.string()?;
                }
                _ => r.null().then_some(())?,
            }
            Some(())
        })?;
        if role.is_none() && parts.is_none() {
            return None;
        }
        let role = match role.flatten() {
            Some(r) if !r.trim().is_empty() => r.trim().to_string(),
            _ => default_role.to_string(),
        };
        let mut m = Message::new(role);
        // Borrowed where the text had no escapes: copied once, into the content.
        let mut texts: Vec<Cow<'t, str>> = Vec::new();
        for part in parts.flatten().unwrap_or_default() {
            match part {
                Part::Text(t) => {
                    if !t.is_empty() {
                        texts.push(t);
                    }
                }
                Part::ToolCall(call) => m.tool_calls.push(call),
                Part::Response { id, response } => {
                    if m.tool_call_id.is_none() {
                        m.tool_call_id = id;
                    }
                    match response {
                        Some(Piece::Str(s)) => {
                            if !s.is_empty() {
                                texts.push(s);
                            }
                        }
                        Some(Piece::Json(j)) => {
                            let mut owned = Vec::new();
                            content_into(&j, &mut m, &mut owned);
                            texts.extend(owned.into_iter().map(Cow::Owned));
                        }
                        Some(Piece::Null) | None => {}
                    }
                }
            }
        }
        m.content = joined(texts);
        Some(m)
    }

    fn part(&mut self) -> Option<Part<'t>> {
        let (mut ty, mut content, mut id, mut name, mut arguments, mut response) =
            (None, None, None, None, None, None);
        self.object(|r, key| {
            let slot = match key {
                "type" => {
                    if ty.is_some() {
                        return None;
                    }
                    ty = Some(r.string()?);
                    return Some(());
                }
                "content" => &mut content,
                "id" => &mut id,
                "name" => &mut name,
                "arguments" => &mut arguments,
                "response" => &mut response,
                _ => return None,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(r.piece()?);
            Some(())
        })?;
        match ty.as_deref()? {
            "text" => match content? {
                Piece::Str(s) => Some(Part::Text(s)),
                _ => None,
            },
            "tool_call" => Some(Part::ToolCall(ToolCall {
                id: id.and_then(|p| p.text()),
                name: name.map(Piece::into_string).unwrap_or_default(),
                arguments: arguments.map(Piece::into_string).unwrap_or_default(),
            })),
            "tool_call_response" => Some(Part::Response {
                id: id.and_then(|p| p.text()),
                response: response.or(content),
            }),
            _ => None,
        }
    }
}

/// Nesting of a value: 0 for a scalar, 1 for a flat array or object, ...
fn depth(v: &Json) -> usize {
    match v {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
