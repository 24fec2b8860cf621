//! The usual shape of OTel GenAI message arrays (`gen_ai.input.messages`,
//! `gen_ai.output.messages`), read straight into [`Message`]s instead of through a
//! `serde_json::Value` tree (a map and a `String` for every key and value): the built-in
//! evaluators read every model call's conversation, which made this the costliest part of
//! replaying a capture.
//!
//! The shape read here: an array of message objects, each with `role` (a string) and/or `parts`
//! (an array of `text`, `tool_call` and `tool_call_response` parts), other keys ignored. The
//! result must be what [`json_messages`](super::json_messages) makes of the same text, so
//! anything else gives up (`None`) and the text takes the general way: a key the general way
//! reads in some other sense (`content`, `tool_calls`, `function_call`, `tool_call_id`,
//! `type` on a message; `function`, `input`, ... on a part) unless it is `null`, a key given
//! twice (a JSON map keeps the last), another part type, values of another type. Values are
//! read with serde_json's rules (the same tokenizer, number parsing and nesting limit) and
//! pieces that may hold any JSON (tool arguments, tool responses) as `serde_json::Value`, so
//! their text is the same too.

use super::message::{Message, ToolCall, content_into, joined, json_str};
use crate::semconv::value::json_text;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::fmt;

mod scan;

/// The messages of `text` when it has the usual shape; `None` otherwise.
pub(super) fn messages(text: &str, role: &str) -> Option<Vec<Message>> {
    scan::messages(text, role).or_else(|| visited(text, role))
}

/// [`messages`] through the serde visitors alone.
fn visited(text: &str, role: &str) -> Option<Vec<Message>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let ms = de.deserialize_seq(Messages { role }).ok()?;
    de.end().ok()?;
    Some(ms)
}

/// Gives up on the text (the general way reads it).
fn give_up<E: de::Error>() -> E {
    E::custom("not the usual shape")
}

struct Messages<'r> {
    role: &'r str,
}

impl<'de> Visitor<'de> for Messages<'_> {
    type Value = Vec<Message>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Message>, A::Error> {
        let mut out = Vec::new();
        while let Some(m) = seq.next_element_seed(OneMessage { role: self.role })? {
            out.push(m);
        }
        Ok(out)
    }
}

struct OneMessage<'r> {
    role: &'r str,
}

impl<'de> DeserializeSeed<'de> for OneMessage<'_> {
    type Value = Message;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        d.deserialize_map(self)
    }
}

/// Keys a message object may have that the general way reads (besides `role` and `parts`):
/// they must be `null` here.
const MESSAGE_NULL_KEYS: [&str; 5] = ["content", "tool_calls", "function_call", "tool_call_id", "type"];

impl<'de> Visitor<'de> for OneMessage<'_> {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let (mut role, mut parts) = (None, None);
        let mut nulls = [false; MESSAGE_NULL_KEYS.len()];
        while let Some(key) = map.next_key_seed(Key)? {
            match &*key {
                "role" if role.is_none() => role = Some(map.next_value::<Json>()?),
                "parts" if parts.is_none() => parts = Some(map.next_value::<Option<Vec<Part>>>()?),
                "role" | "parts" => return Err(give_up()),
                k => match MESSAGE_NULL_KEYS.iter().position(|n| *n == k) {
                    Some(i) if !nulls[i] && map.next_value::<Json>()?.is_null() => nulls[i] = true,
                    Some(_) => return Err(give_up()),
                    None => {
                        map.next_value::<Skip>()?;
                    }
                },
            }
        }
        // What makes an object a message here (`is_message_like`, without `content` or `type`).
        if role.is_none() && parts.is_none() {
            return Err(give_up());
        }
        let role = role
            .as_ref()
            .and_then(json_text)
            .unwrap_or_else(|| self.role.to_string());
        let mut m = Message::new(role);
        let mut texts = Vec::new();
        for part in parts.flatten().unwrap_or_default() {
            match part {
                Part::Text(t) => texts.push(t),
                Part::Empty => {}
                Part::ToolCall(call) => m.tool_calls.push(call),
                Part::Response { id, response } => {
                    if m.tool_call_id.is_none() {
                        m.tool_call_id = id;
                    }
                    if let Some(r) = response {
                        content_into(&r, &mut m, &mut texts);
                    }
                }
            }
        }
        m.content = joined(texts);
        Ok(m)
    }
}

/// One part, as `part_into` would add it to its message.
enum Part {
    /// A non-empty text.
    Text(String),
    /// A text part with empty text.
    Empty,
    ToolCall(ToolCall),
    /// A tool result: the call it answers (if it says) and what it returned.
    Response {
        id: Option<String>,
        response: Option<Json>,
    },
}

impl<'de> serde::Deserialize<'de> for Part {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Part, D::Error> {
        d.deserialize_map(PartVisitor)
    }
}

struct PartVisitor;

/// The keys `part_into` and `tool_call_from_json` read for these part types.
const PART_KEYS: [&str; 13] = [
    "type",
    "content",
    "text",
    "id",
    "name",
    "arguments",
    "response",
    "call_id",
    "tool_call_id",
    "tool_use_id",
    "function",
    "input",
    "output",
];

fn part_key(key: &str) -> usize {
    PART_KEYS
        .iter()
        .position(|k| *k == key)
        .unwrap_or(PART_KEYS.len())
}

impl<'de> Visitor<'de> for PartVisitor {
    type Value = Part;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message part")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Part, A::Error> {
        let mut values: [Option<Json>; PART_KEYS.len()] = Default::default();
        while let Some(key) = map.next_key_seed(Key)? {
            match values.get_mut(part_key(&key)) {
                Some(slot @ None) => *slot = Some(map.next_value::<Json>()?),
                Some(Some(_)) => return Err(give_up()),
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        match get(&values, "type").and_then(Json::as_str) {
            Some("text") => {
                // `content`, else `text`, when not null; a string is the part's text.
                let at = if get(&values, "content").is_some() {
                    "content"
                } else {
                    "text"
                };
                match values[part_key(at)].take() {
                    Some(Json::String(s)) if s.is_empty() => Ok(Part::Empty),
                    Some(Json::String(s)) => Ok(Part::Text(s)),
                    _ => Err(give_up()),
                }
            }
            Some("tool_call") if not_null(&values, "function").is_none() => Ok(Part::ToolCall(ToolCall {
                id: text(&values, &["call_id", "id", "tool_call_id"]),
                name: not_null(&values, "name").map(json_str).unwrap_or_default(),
                arguments: not_null(&values, "arguments")
                    .or_else(|| not_null(&values, "input"))
                    .map(json_str)
                    .unwrap_or_default(),
            })),
            Some("tool_call_response") => {
                let id = text(&values, &["call_id", "id", "tool_use_id", "tool_call_id"]);
                let at = ["response", "content", "output"]
                    .into_iter()
                    .find(|k| get(&values, k).is_some());
                Ok(Part::Response {
                    id,
                    response: at.and_then(|k| values[part_key(k)].take()),
                })
            }
            _ => Err(give_up()),
        }
    }
}

fn get<'v>(values: &'v [Option<Json>], key: &str) -> Option<&'v Json> {
    values[part_key(key)].as_ref()
}

fn not_null<'v>(values: &'v [Option<Json>], key: &str) -> Option<&'v Json> {
    get(values, key).filter(|v| !v.is_null())
}

/// The first of `keys` with a text (`get_text` of `part_into`).
fn text(values: &[Option<Json>], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| get(values, k).and_then(json_text))
}

/// An object key, borrowed from the text unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
}

/// A value read in full, as parsing into a `serde_json::Value` would (strings checked, numbers
/// parsed, nesting counted), and dropped.
struct Skip;

impl<'de> serde::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use std::path::Path;

    /// What the general way makes of `text` (`value_messages` when the JSON is understood).
    fn general(text: &str, role: &str) -> Option<Vec<Message>> {
        serde_json::from_str::<Json>(text)
            .ok()
            .and_then(|j| super::super::json_messages(&j, role))
    }

    fn check(text: &str) -> bool {
        let mut read = false;
        for role in ["user", "assistant", "system"] {
            if let Some(ms) = scan::messages(text, role) {
                assert_eq!(
                    Some(ms),
                    visited(text, role),
                    "the reader and the visitors differ: {text}"
                );
            }
            if let Some(ms) = messages(text, role) {
                assert_eq!(Some(ms), general(text, role), "{text}");
                read = true;
            }
        }
        read
    }

    /// Every string attribute value of every span in the fixtures and the demo capture.
    fn capture_strings() -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        for name in [
            "otel_genai.jsonl",
            "otel_genai_eval.jsonl",
            "openinference.jsonl",
            "capture/collector.traces.jsonl",
        ] {
            texts.push(std::fs::read_to_string(root.join("tests/fixtures").join(name)).unwrap());
        }
        let mut demo = String::new();
        let gz = std::fs::File::open(root.join("demo/capture.jsonl.gz")).unwrap();
        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(gz), &mut demo).unwrap();
        texts.push(demo);
        let mut out = Vec::new();
        for line in texts.iter().flat_map(|t| t.lines()) {
            let Ok(req) = serde_json::from_str::<ExportTraceServiceRequest>(line) else {
                continue;
            };
            for span in req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                for kv in &span.attributes {
                    if let Some(any_value::Value::StringValue(s)) =
                        kv.value.as_ref().and_then(|v| v.value.as_ref())
                    {
                        out.push(s.clone());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn captures_read_as_the_general_way_reads_them() {
        let strings = capture_strings();
        let read = strings.iter().filter(|s| check(s)).count();
        let scanned = strings
            .iter()
            .filter(|s| scan::messages(s, "user").is_some())
            .count();
        // The demo's and the OTel GenAI fixtures' message arrays take this way, nearly all of
        // them the hand-written one.
        assert!(read > 1000, "{read} of {} strings read here", strings.len());
        assert!(scanned * 10 > read * 9, "{scanned} of {read} by the reader");
    }

    #[test]
    fn odd_shapes_read_the_same_or_give_up() {
        let read = [
            r#"[]"#,
            r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#,
            r#"[{"role":" user ","parts":[{"type":"text","content":""},{"type":"text","text":"t"}]}]"#,
            r#"[{"role":null,"parts":null}]"#,
            r#"[{"role":"","parts":[]}]"#,
            r#"[{"role":7,"parts":[]}]"#,
            r#"[{"role":true}]"#,
            r#"[{"parts":[{"type":"text","content":"no role"}]}]"#,
            r#"[{"role":"assistant","parts":[{"type":"tool_call","id":" c1 ","name":"f","arguments":{"b":1,"a":[2,"x"]}}],"finish_reason":"tool_calls"}]"#,
            r#"[{"role":"assistant","parts":[{"type":"tool_call","call_id":"c2","id":"c1","name":5,"arguments":"{\"a\":1}"}]}]"#,
            r#"[{"role":"assistant","parts":[{"type":"tool_call","name":null,"arguments":null,"input":{"x":1},"function":null}]}]"#,
            r#"[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"ok"},{"type":"tool_call_response","id":"c2","response":{"status":"shipped"}}]}]"#,
            r#"[{"role":"tool","parts":[{"type":"tool_call_response","response":null,"content":"x"},{"type":"tool_call_response","output":[{"type":"text","content":"o"}]}]}]"#,
            r#"[{"role":"tool","parts":[{"type":"tool_call_response","id":"  ","tool_use_id":"u","response":3.5}]}]"#,
            r#"[{"role":"user","content":null,"tool_calls":null,"function_call":null,"tool_call_id":null,"type":null,"parts":[]}]"#,
            r#"[{"role":"user","name":"n","extra":{"deep":[1,{"a":null}]},"parts":[{"type":"text","content":"a\nb \u00e9","extra":1}]}]"#,
            " [ { \"role\" : \"user\" } ] ",
        ];
        for t in read {
            assert!(check(t), "not read here: {t}");
        }
        let left = [
            r#"{"role":"user","parts":[]}"#,
            r#"["just a string"]"#,
            r#"[{"role":"user","content":"c"}]"#,
            r#"[{"role":"user","type":"message"}]"#,
            r#"[{"role":"user","role":"assistant"}]"#,
            r#"[{"role":"user","parts":[{"type":"text","content":"a","content":"b"}]}]"#,
            r#"[{"role":"user","parts":[{"type":"image","uri":"u"}]}]"#,
            r#"[{"role":"user","parts":[{"type":"text","content":null,"text":"t"}]}]"#,
            r#"[{"role":"user","parts":[{"type":"text","content":["a"]}]}]"#,
            r#"[{"role":"user","parts":["bare"]}]"#,
            r#"[{"role":"user","parts":"text"}]"#,
            r#"[{"role":"assistant","parts":[{"type":"tool_call","function":{"name":"f"}}]}]"#,
            r#"[{"tool_calls":[]}]"#,
            r#"[{}]"#,
            r#"[{"role":"user"}] trailing"#,
            r#"[{"role":"user","x":1e999}]"#,
        ];
        for t in left {
            assert!(messages(t, "user").is_none(), "read here: {t}");
            check(t);
        }
    }

    /// Random edits of message arrays: whatever is read here is what the general way reads.
    #[test]
    fn random_edits_read_the_same_or_give_up() {
        let samples = [
            r#"[{"role":"system","parts":[{"type":"text","content":"You are \"helpful\".\nBe brief."}]},{"role":"user","parts":[{"type":"text","content":"Where is A-1?"}]},{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get","arguments":{"id":"A-1"}}],"finish_reason":"tool_calls"},{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":{"status":"late","days":2}}]}]"#,
        ];
        let pieces: [&str; 16] = [
            "\"",
            "\\",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "null",
            "1",
            "\"role\"",
            "\"type\"",
            "\"content\"",
            "\"text\"",
            "\"parts\"",
            " ",
        ];
        let mut x: u64 = std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0x5eed_7777);
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let n = std::env::var("FUZZ_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000);
        let mut read = 0;
        for sample in samples {
            for _ in 0..n {
                let mut t = sample.to_string();
                for _ in 0..1 + next(2) {
                    let at = next(t.len());
                    if !t.is_char_boundary(at) {
                        continue;
                    }
                    match next(3) {
                        0 => {
                            let end = (at + 1 + next(12)).min(t.len());
                            if t.is_char_boundary(end) {
                                t.replace_range(at..end, "");
                            }
                        }
                        1 => t.insert_str(at, pieces[next(pieces.len())]),
                        _ => {
                            let end = (at + 1 + next(30)).min(t.len());
                            if t.is_char_boundary(end) {
                                let copy = t[at..end].to_string();
                                t.insert_str(at, &copy);
                            }
                        }
                    }
                }
                read += usize::from(check(&t));
            }
        }
        assert!(read > n / 10, "{read} read here");
    }
}
