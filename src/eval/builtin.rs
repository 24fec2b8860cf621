//! The text rules behind the built-in evaluators, as pure functions over strings and attributes:
//! whether content was recorded at all, refusal phrases, whether JSON was asked for and whether
//! the answer is JSON, and the word overlap between an answer and documents. [`super::evaluate`]
//! turns their findings into verdicts; the module docs there list the rules.

use crate::model::record::{Attr, Value};
use crate::semconv::content::{Document, Message};
use crate::semconv::value::{contains_ci, json_object};
use serde_json::Value as Json;

/// Answers (and prompts) longer than this are scanned on their first this-many bytes.
pub const MAX_SCAN_BYTES: usize = 64 * 1024;

/// What OpenInference writes in place of hidden content (`OPENINFERENCE_HIDE_OUTPUTS`).
pub const REDACTED_VALUE: &str = "__REDACTED__";

/// `s` cut to at most `max` bytes at a char boundary, and whether it was cut.
pub fn head(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    (&s[..i], true)
}

// ---- content recorded? ----

/// Which sides of a conversation the span's attributes record (keys of the "input / output
/// content" row of SEMCONV.md), found by a scan over the keys only: nothing is parsed or copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub input: bool,
    pub output: bool,
}

impl Recorded {
    pub fn of(attrs: &[Attr]) -> Self {
        let mut r = Self::default();
        for a in attrs {
            // The key first: most attributes are not content, and their values need no look.
            match content_side(&a.key) {
                Some(_) if is_redacted(&a.value) => {}
                Some(Side::Input) => r.input = true,
                Some(Side::Output) => r.output = true,
                None => {}
            }
            if r.input && r.output {
                break;
            }
        }
        r
    }

    pub fn any(self) -> bool {
        self.input || self.output
    }
}

/// Whether the value, trimmed, is [`REDACTED_VALUE`] (looked at from its start only, so
/// content costs a byte or two).
fn is_redacted(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.trim_start()
            .strip_prefix(REDACTED_VALUE)
            .is_some_and(|rest| rest.trim_end().is_empty())
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Input,
    Output,
}

fn content_side(key: &str) -> Option<Side> {
    match key {
        "gen_ai.input.messages"
        | "gen_ai.system_instructions"
        | "langfuse.observation.input"
        | "input.value" => return Some(Side::Input),
        "gen_ai.output.messages" | "langfuse.observation.output" | "output.value" => {
            return Some(Side::Output);
        }
        _ => {}
    }
    const FLAT: [(&str, Side); 6] = [
        ("gen_ai.input.messages.", Side::Input),
        ("llm.input_messages.", Side::Input),
        ("gen_ai.prompt.", Side::Input),
        ("gen_ai.output.messages.", Side::Output),
        ("llm.output_messages.", Side::Output),
        ("gen_ai.completion.", Side::Output),
    ];
    let (rest, side) = FLAT
        .iter()
        .find_map(|(prefix, side)| Some((key.strip_prefix(prefix)?, *side)))?;
    // `PREFIX N.field`: a numbered message whose field is content (a role or finish reason
    // alone is sent even with content capture off; `gen_ai.prompt.version` is no message).
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let field = &rest[digits..];
    let content = field.is_empty()
        || field.contains("content")
        || field.contains("tool_call")
        || field.contains("function_call")
        || field.ends_with("text");
    content.then_some(side)
}

// ---- the answer ----

/// The answer in a conversation's output messages: the text of those that are not tool, user or
/// system messages, joined by newlines, and their tool calls.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub text: String,
    pub tool_calls: usize,
    pub first_tool: Option<String>,
}

impl Answer {
    pub fn of(output: Vec<Message>) -> Self {
        let mut a = Answer::default();
        for m in output {
            let role = m.role.trim();
            let not_answer = ["tool", "function", "user", "system", "developer"]
                .iter()
                .any(|r| role.eq_ignore_ascii_case(r));
            if not_answer {
                continue;
            }
            a.tool_calls += m.tool_calls.len();
            if a.first_tool.is_none() {
                a.first_tool = m.tool_calls.into_iter().map(|c| c.name).find(|n| !n.is_empty());
            }
            if m.content.trim().is_empty() || m.content.trim() == REDACTED_VALUE {
                continue;
            }
            if a.text.is_empty() {
                a.text = m.content;
            } else {
                a.text.push('\n');
                a.text.push_str(&m.content);
            }
        }
        a
    }

    pub fn has_text(&self) -> bool {
        !self.text.trim().is_empty()
    }
}

/// Finish reasons that say the model answered with a tool call.
const TOOL_CALL_FINISH: [&str; 5] = [
    "tool_calls",
    "tool-calls",
    "tool_call",
    "function_call",
    "tool_use",
];

/// Whether the span says its answer was a tool call even where its output messages do not carry
/// the call: a tool-call finish reason (`gen_ai.response.finish_reasons`, `llm.finish_reason`,
/// `ai.response.finishReason`), or LangChain's `output.value` (traceAI), whose generations hold
/// the call in `message.kwargs.tool_calls` and the reason in `generation_info.finish_reason`.
/// A tool call is an answer: `empty_output` passes it.
pub fn answered_with_tool_call(attributes: &[Attr]) -> bool {
    let is_tool_finish = |s: &str| TOOL_CALL_FINISH.iter().any(|r| s.trim().eq_ignore_ascii_case(r));
    attributes.iter().any(|a| match &*a.key {
        "gen_ai.response.finish_reasons" | "llm.finish_reason" | "ai.response.finishReason" => match &a.value
        {
            Value::Array(items) => items.iter().any(|v| v.as_str().is_some_and(is_tool_finish)),
            v => v.as_str().is_some_and(is_tool_finish),
        },
        "output.value" => a.value.as_str().is_some_and(|s| {
            s.contains("tool_calls")
                && serde_json::from_str::<serde_json::Value>(s).is_ok_and(|v| {
                    v["generations"].as_array().is_some_and(|gens| {
                        gens.iter()
                            .flat_map(|g| g.as_array().into_iter().flatten())
                            .any(|g| {
                                g["generation_info"]["finish_reason"]
                                    .as_str()
                                    .is_some_and(is_tool_finish)
                                    || g["message"]["kwargs"]["tool_calls"]
                                        .as_array()
                                        .is_some_and(|c| !c.is_empty())
                            })
                    })
                })
        }),
        _ => false,
    })
}

// ---- refusal ----

/// Refusal phrasings, matched case-insensitively at a word start, a straight or curly
/// apostrophe alike, a space matching any one whitespace byte. The second field, when not
/// empty, is a continuation that makes the phrase no refusal ("I cannot help but notice").
pub const REFUSAL_PHRASES: [(&str, &str); 25] = [
    ("I can't help with", ""),
    ("I cannot help", " but"),
    ("I can't assist", ""),
    ("I cannot assist", ""),
    ("I can't provide", ""),
    ("I cannot provide", ""),
    ("I can't comply", ""),
    ("I cannot comply", ""),
    ("I can't fulfill", ""),
    ("I cannot fulfill", ""),
    ("I can't do that", ""),
    ("I'm sorry, but I can't", ""),
    ("I'm sorry, but I cannot", ""),
    ("I apologize, but I can't", ""),
    ("I apologize, but I cannot", ""),
    ("I am unable to", ""),
    ("I'm unable to", ""),
    ("I won't be able to", ""),
    ("I'm not able to provide", ""),
    ("I am not able to provide", ""),
    ("I'm not able to help", ""),
    ("I'm afraid I can't", ""),
    ("I must decline", ""),
    ("As an AI language model", ""),
    ("I'm not allowed to", ""),
];

/// The first refusal phrase (as listed in [`REFUSAL_PHRASES`]) found in `text`.
pub fn refusal(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    for i in 0..b.len() {
        // Every phrase starts with "I" and a space or apostrophe, or with "As".
        let next = b.get(i + 1).copied().unwrap_or(0);
        let candidate = match b[i] | 0x20 {
            b'i' => next.is_ascii_whitespace() || next == b'\'' || next == 0xE2,
            b'a' => next | 0x20 == b's',
            _ => false,
        };
        if !candidate || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            continue;
        }
        for &(phrase, unless) in &REFUSAL_PHRASES {
            if let Some(end) = match_phrase(b, i, phrase.as_bytes())
                && (unless.is_empty() || match_phrase(b, end, unless.as_bytes()).is_none())
            {
                return Some(phrase);
            }
        }
    }
    None
}

/// Where `phrase` ends when it matches `b` at `i` (see [`REFUSAL_PHRASES`] for the rules).
fn match_phrase(b: &[u8], i: usize, phrase: &[u8]) -> Option<usize> {
    const CURLY_APOSTROPHE: &[u8] = "\u{2019}".as_bytes();
    let mut j = i;
    for &p in phrase {
        let c = *b.get(j)?;
        match p {
            b'\'' if c == b'\'' => j += 1,
            b'\'' if b[j..].starts_with(CURLY_APOSTROPHE) => j += CURLY_APOSTROPHE.len(),
            b' ' if c.is_ascii_whitespace() => j += 1,
            _ if p != b'\'' && p != b' ' && c.eq_ignore_ascii_case(&p) => j += 1,
            _ => return None,
        }
    }
    Some(j)
}

// ---- JSON asked for? ----

/// Keys whose value says the response format (JSON when the value mentions json).
const FORMAT_KEYS: [&str; 3] = [
    "gen_ai.output.type",
    "gen_ai.request.response_format",
    "gen_ai.openai.request.response_format",
];
/// Keys whose presence means a structured (JSON) answer was requested.
const SCHEMA_KEYS: [&str; 2] = ["gen_ai.request.structured_output_schema", "ai.schema"];
/// Request parameter JSON objects that may hold a response format.
const PARAMETER_KEYS: [&str; 3] = [
    "llm.invocation_parameters",
    "gen_ai.request.parameters",
    "langfuse.observation.model.parameters",
];

/// Why the request is taken to ask for JSON: the attribute that says so, or "the prompt" (the
/// system messages, or input messages from the user, system or developer). `None` when nothing
/// asks for JSON.
pub fn json_requested(attrs: &[Attr], system: &[Message], input: &[Message]) -> Option<&'static str> {
    for a in attrs {
        let key = &*a.key;
        if let Some(k) = FORMAT_KEYS.iter().find(|k| **k == key) {
            if a.value.as_str().is_some_and(|v| contains_ci(v, "json")) {
                return Some(*k);
            }
        } else if let Some(k) = SCHEMA_KEYS.iter().find(|k| **k == key) {
            if a.value.as_str().is_some_and(|v| !v.trim().is_empty()) {
                return Some(*k);
            }
        } else if let Some(k) = PARAMETER_KEYS.iter().find(|k| **k == key) {
            // Parse only parameters that mention json at all.
            let asks = a.value.as_str().is_some_and(|v| contains_ci(v, "json"))
                && json_object(&a.value).is_some_and(|m| parameters_ask_json(&m));
            if asks {
                return Some(*k);
            }
        }
    }
    let prompts = system.iter().chain(input.iter().filter(|m| {
        let r = m.role.trim();
        ["user", "human", "system", "developer"]
            .iter()
            .any(|x| r.eq_ignore_ascii_case(x))
    }));
    for m in prompts {
        if prompt_asks_json(&m.content) {
            return Some("the prompt");
        }
    }
    None
}

/// Request parameters that ask for JSON: OpenAI `response_format` (`json_object`,
/// `json_schema`), Responses API `text.format`, Ollama `format` (`"json"` or a schema), Gemini
/// `response_mime_type` (top level or in `generation_config`) or `response_schema`, Anthropic
/// `output_format`.
fn parameters_ask_json(m: &serde_json::Map<String, Json>) -> bool {
    let says_json = |v: &Json| match v {
        Json::String(s) => contains_ci(s, "json"),
        Json::Object(o) => o
            .get("type")
            .and_then(Json::as_str)
            .is_some_and(|t| contains_ci(t, "json")),
        _ => false,
    };
    let gen_config = m.get("generation_config").or_else(|| m.get("generationConfig"));
    m.get("response_format").is_some_and(says_json)
        || m.get("text").and_then(|t| t.get("format")).is_some_and(says_json)
        || m.get("format").is_some_and(|f| f.is_object() || says_json(f))
        || m.get("output_format").is_some_and(says_json)
        || m.get("response_schema").is_some_and(|s| !s.is_null())
        || ["response_mime_type", "responseMimeType"]
            .iter()
            .any(|k| m.get(*k).or_else(|| gen_config?.get(*k)).is_some_and(says_json))
}

/// Verbs that, followed within four words by "json", ask for a JSON answer.
pub const JSON_VERBS: [&str; 9] = [
    "respond", "reply", "answer", "return", "output", "format", "produce", "emit", "generate",
];
/// Words that negate such a request when they come between the verb and "json" or in the two
/// words before the verb ("don't" splits into "don" and "t").
pub const NEGATIONS: [&str; 8] = ["not", "never", "no", "don", "dont", "t", "without", "avoid"];

/// The prompt heuristic: the text asks for JSON when the word "json" comes within four words
/// after one of [`JSON_VERBS`] with no negation in between or just before the verb ("Respond
/// only with valid JSON", "Return a JSON object", "Format your answer as JSON"), or in "json
/// only", "only json", "json format(ted)" ("in JSON format"). Words are ASCII letter/digit
/// runs; only the first 64 KiB is read, and only when it contains "json" at all.
pub fn prompt_asks_json(text: &str) -> bool {
    let (text, _) = head(text, MAX_SCAN_BYTES);
    if !contains_ci(text, "json") {
        return false;
    }
    let is = |w: &str, set: &[&str]| set.iter().any(|s| w.eq_ignore_ascii_case(s));
    // The last seven words before the current one, newest last.
    let mut window: [&str; 7] = [""; 7];
    let mut prev_json = false;
    for w in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let json = w.eq_ignore_ascii_case("json");
        if prev_json && is(w, &["only", "format", "formatted"]) {
            return true;
        }
        if json {
            if is(window[6], &["only"]) {
                return true;
            }
            // window[6 - d] is d+1 words back.
            for d in 0..4 {
                let verb = window[6 - d];
                if !is(verb, &JSON_VERBS) {
                    continue;
                }
                let between = &window[6 - d + 1..];
                let before = &window[6 - d - 2..6 - d];
                let negated = between.iter().chain(before).any(|x| is(x, &NEGATIONS));
                if !negated {
                    return true;
                }
            }
        }
        prev_json = json;
        window.rotate_left(1);
        window[6] = w;
    }
    false
}

// ---- JSON given? ----

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonCheck {
    /// The answer (or its first fenced code block, `fenced`) is a JSON object or array.
    Valid { fenced: bool },
    /// Why not: the parser's message (a position, never the content).
    Invalid(String),
    /// The converter cut the value (`…[truncated N bytes]`): it cannot be judged.
    Truncated,
}

/// Whether the answer is JSON: the whole text, else the first ``` fenced block (```json or
/// bare), must parse as a JSON object or array. Validated without building a tree
/// ([`serde::de::IgnoredAny`]), over the whole answer: cutting JSON would make it invalid.
pub fn json_check(text: &str) -> JsonCheck {
    let t = text.trim();
    if t.ends_with(" bytes]") && t.contains("…[truncated ") {
        return JsonCheck::Truncated;
    }
    let why = match parse_json(t) {
        Ok(()) => return JsonCheck::Valid { fenced: false },
        Err(why) => why,
    };
    match fenced_block(t).map(parse_json) {
        Some(Ok(())) => JsonCheck::Valid { fenced: true },
        _ => JsonCheck::Invalid(why),
    }
}

fn parse_json(t: &str) -> Result<(), String> {
    let t = t.trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return Err("not a JSON object or array".to_string());
    }
    serde_json::from_str::<serde::de::IgnoredAny>(t)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The body of the first ``` fenced block (its info string, such as `json`, dropped).
fn fenced_block(t: &str) -> Option<&str> {
    let open = t.find("```")?;
    let after = &t[open + 3..];
    let body_start = after.find('\n')? + 1;
    let body = &after[body_start..];
    let close = body.find("```")?;
    Some(&body[..close])
}

// ---- context overlap ----

/// Common English words left out of the overlap (3 to 8 letters; sorted, for binary search).
pub const STOPWORDS: [&str; 123] = [
    "about", "above", "after", "again", "against", "all", "also", "and", "any", "are", "aren", "because",
    "been", "before", "being", "below", "between", "both", "but", "can", "could", "did", "didn", "does",
    "doesn", "doing", "don", "down", "during", "each", "etc", "few", "for", "from", "further", "get", "got",
    "had", "has", "have", "having", "hello", "her", "here", "hers", "herself", "him", "himself", "his",
    "how", "into", "isn", "its", "itself", "just", "let", "may", "might", "more", "most", "much", "must",
    "not", "now", "off", "once", "only", "other", "our", "ours", "out", "over", "own", "per", "please",
    "same", "shall", "she", "should", "some", "sorry", "such", "than", "thank", "thanks", "that", "the",
    "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "too", "under",
    "until", "upon", "very", "via", "was", "wasn", "were", "what", "when", "where", "which", "while", "who",
    "whom", "why", "will", "with", "won", "would", "yes", "you", "your", "yours", "yourself",
];

/// A word of up to 8 bytes as a number that sorts like the word (big-endian, zero-padded).
const fn pack(word: &[u8]) -> u64 {
    let mut x = 0u64;
    let mut k = 0;
    while k < 8 {
        x <<= 8;
        if k < word.len() {
            x |= word[k].to_ascii_lowercase() as u64;
        }
        k += 1;
    }
    x
}

/// [`STOPWORDS`] packed, in the same (sorted) order: a lookup is one integer comparison.
const PACKED_STOPWORDS: [u64; STOPWORDS.len()] = {
    let mut out = [0u64; STOPWORDS.len()];
    let mut k = 0;
    while k < STOPWORDS.len() {
        out[k] = pack(STOPWORDS[k].as_bytes());
        k += 1;
    }
    out
};

/// A perfect hash of the packed stopwords: a multiply and the top bits, into
/// [`STOPWORD_SLOTS`]. The multiplier was found by trying random ones; building the slots at
/// compile time checks that no two stopwords share a slot.
const SLOT_BITS: u32 = 10;
const SLOT_MULTIPLIER: u64 = 0x2323_b676_4399_0779;

const fn slot(packed: u64) -> usize {
    (packed.wrapping_mul(SLOT_MULTIPLIER) >> (64 - SLOT_BITS)) as usize
}

/// Per slot, the packed stopword there, or 0 (which no word packs to: a word's first byte is
/// never 0).
const STOPWORD_SLOTS: [u64; 1 << SLOT_BITS] = {
    let mut out = [0u64; 1 << SLOT_BITS];
    let mut k = 0;
    while k < PACKED_STOPWORDS.len() {
        let s = slot(PACKED_STOPWORDS[k]);
        assert!(out[s] == 0, "two stopwords share a slot: pick another multiplier");
        out[s] = PACKED_STOPWORDS[k];
        k += 1;
    }
    out
};

/// Whether an ASCII word (any case) is a stopword.
#[cfg(test)]
fn is_stopword(word: &[u8]) -> bool {
    word.len() <= 8 && is_stopword_packed(pack(word))
}

/// Whether a lowercase word of up to 8 bytes, [`pack`]ed, is a stopword.
#[inline]
fn is_stopword_packed(packed: u64) -> bool {
    STOPWORD_SLOTS[slot(packed)] == packed
}

/// A word's lowercased bytes as one number: up to 8 bytes packed as [`pack`] packs them (so a
/// short ASCII word is exactly its packed self, which the stopword lookup reads), longer words
/// mixed 8 bytes at a time. Equal words give equal numbers; different ones collide about as
/// rarely as any 64-bit hash. Fed a byte at a time, with no multiply per byte.
#[derive(Clone, Copy)]
struct WordHash {
    chunk: u64,
    filled: u32,
    mixed: u64,
    len: u64,
}

impl WordHash {
    const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

    fn new() -> Self {
        Self {
            chunk: 0,
            filled: 0,
            mixed: 0,
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, byte: u8) {
        if self.filled == 8 {
            self.mixed = (self.mixed ^ self.chunk).wrapping_mul(Self::MIX).rotate_left(29);
            self.chunk = 0;
            self.filled = 0;
        }
        self.chunk = self.chunk << 8 | u64::from(byte);
        self.filled += 1;
        self.len += 1;
    }

    /// The word's number; and, for a word of up to 8 bytes, its packed form (for stopwords).
    #[inline]
    fn finish(self) -> (u64, Option<u64>) {
        // `filled` is 1..=8 for any non-empty word.
        let tail = self.chunk << (8 * (8 - self.filled));
        if self.len <= 8 {
            return (tail, Some(tail));
        }
        let h = (self.mixed ^ tail ^ self.len).wrapping_mul(Self::MIX);
        (h ^ h >> 32, None)
    }
}

/// What a byte is to [`content_words`]: part of an ASCII word, a separator, or the start or
/// continuation of a non-ASCII char (whose class the char decides).
const ASCII_WORD: u8 = 1;
const SEPARATOR: u8 = 0;
const NON_ASCII: u8 = 2;
const BYTE_CLASS: [u8; 256] = {
    let mut out = [NON_ASCII; 256];
    let mut b = 0;
    while b < 128 {
        out[b] = if (b as u8).is_ascii_alphanumeric() {
            ASCII_WORD
        } else {
            SEPARATOR
        };
        b += 1;
    }
    out
};

const LOWER: u64 = 0x2020_2020_2020_2020;

/// [`WordHash`] of the ASCII letters and digits `text[start..end]`, 8 bytes at a time: such a
/// byte lowercases by setting bit 0x20 (digits have it set already). Gives what feeding the
/// word to [`WordHash`] a byte at a time gives.
#[inline]
fn ascii_word_hash(text: &[u8], start: usize, end: usize) -> (u64, Option<u64>) {
    let len = end - start;
    debug_assert!(len > 0);
    // All but the last 1..=8 bytes go through the mix, 8 at a time.
    let body = (len - 1) / 8 * 8;
    let mut mixed = 0u64;
    for c in text[start..start + body].chunks_exact(8) {
        mixed = mix(
            mixed,
            u64::from_be_bytes(c.try_into().unwrap_or_default()) | LOWER,
        );
    }
    let tail = ascii_tail(text, end, len - body);
    if len <= 8 {
        return (tail, Some(tail));
    }
    (finish(mixed, tail, len), None)
}

#[inline(always)]
fn mix(mixed: u64, chunk: u64) -> u64 {
    (mixed ^ chunk).wrapping_mul(WordHash::MIX).rotate_left(29)
}

#[inline(always)]
fn finish(mixed: u64, tail: u64, len: usize) -> u64 {
    let h = (mixed ^ tail ^ len as u64).wrapping_mul(WordHash::MIX);
    h ^ h >> 32
}

/// The `rest` (1..=8) ASCII letters and digits before `end`, lowercased and packed high: read
/// as the 8 bytes ending at `end`, or, at the text's start, byte by byte.
#[inline(always)]
fn ascii_tail(text: &[u8], end: usize, rest: usize) -> u64 {
    let keep = 8 * (8 - rest as u32);
    if end >= 8 {
        let w = u64::from_be_bytes(text[end - 8..end].try_into().unwrap_or_default());
        (w << keep) | (LOWER << keep)
    } else {
        let mut w = 0u64;
        for &b in &text[end - rest..end] {
            w = w << 8 | u64::from(b | 0x20);
        }
        w << keep
    }
}

/// [`ascii_word_hash`] of `text[start..end]` (ASCII letters and digits) and whether it is a
/// content word (3 bytes or more, not a stopword), for words of up to 16 bytes without a branch
/// on how long the word is or what it is.
#[inline(always)]
fn ascii_word(text: &[u8], start: usize, end: usize) -> (u64, bool) {
    let len = end - start;
    if len > 16 {
        return (ascii_word_hash(text, start, end).0, true);
    }
    // 1..=8 bytes: the tail is the word. 9..=16: the first 8 bytes are mixed in.
    let short = len <= 8;
    let tail = ascii_tail(text, end, ((len - 1) & 7) + 1);
    let first = text
        .get(start..start + 8)
        .map_or(0, |c| u64::from_be_bytes(c.try_into().unwrap_or_default()));
    let long = finish(mix(0, first | LOWER), tail, len);
    let hash = if short { tail } else { long };
    let stopword = short & is_stopword_packed(tail);
    (hash, (len >= 3) & !stopword)
}

/// Appends to `out` a hash of each content word of `text`: runs of letters and digits
/// (Unicode aware; non-ASCII lowercased by `char::to_lowercase`), at least 3 characters,
/// lowercased, not a stopword, in reading order. A [`WordHash`] stands in for the word.
///
/// The text is read 64 bytes at a time: a bit mask of the ASCII letters and digits (and one of
/// the non-ASCII bytes) gives the words' bounds without a branch per byte, and words of ASCII
/// letters and digits (nearly all, in English text) are hashed 8 bytes at a time and kept or
/// dropped without a branch. Where a non-ASCII byte is, or a word runs past the 64 bytes, the
/// text is read a char at a time ([`content_words_from`]) up to where the masks can take over
/// again.
fn content_words(text: &str, out: &mut Vec<u64>) {
    let b = text.as_bytes();
    // English prose has a content word every 8 or 9 bytes: room for most texts at once.
    out.reserve(b.len() / 8);
    // A block has at most 32 words (a byte and a separator each).
    let mut found = [0u64; 32];
    // `i` is never inside a word.
    let mut i = 0;
    while i < b.len() {
        let n = (b.len() - i).min(64);
        let (word, wide) = match b[i..].first_chunk::<64>() {
            Some(block) => block_masks(block),
            None => {
                let mut padded = [0u8; 64];
                padded[..n].copy_from_slice(&b[i..]);
                block_masks(&padded)
            }
        };
        // Bytes before `cut` decide the words in them: a word is whole when the byte after it
        // is before `cut` (an ASCII separator), or when the text ends in the block.
        let cut = if wide != 0 {
            wide.trailing_zeros() as usize
        } else if i + n == b.len() {
            n + 1
        } else {
            n
        };
        let whole = match cut {
            0 => 0,
            65 => u64::MAX,
            _ => (1u64 << (cut - 1)) - 1,
        };
        let mut starts = word & !(word << 1);
        let mut ends = word & !(word >> 1) & whole;
        let mut kept = 0;
        while ends != 0 {
            let s = starts.trailing_zeros() as usize;
            let e = ends.trailing_zeros() as usize + 1;
            starts &= starts - 1;
            ends &= ends - 1;
            let (hash, keep) = ascii_word(b, i + s, i + e);
            found[kept & 31] = hash;
            kept += usize::from(keep);
        }
        out.extend_from_slice(&found[..kept]);
        // Where the masks stopped: the first word not read (it touches a non-ASCII byte or
        // runs past the block), else the first non-ASCII byte, else the block's end.
        let next = if starts != 0 {
            (starts.trailing_zeros() as usize).min(cut)
        } else {
            cut.min(n)
        };
        if wide == 0 && next > 0 {
            i += next;
            continue;
        }
        // Char by char through the non-ASCII bytes of the block (or the one word that fills
        // it), then back to the masks.
        let upto = if wide == 0 {
            i + 1
        } else {
            i + 64 - wide.leading_zeros() as usize
        };
        i = content_words_from(text, i + next, upto, out);
    }
}

/// Bit k of the first mask: `block[k]` is an ASCII letter or digit; of the second: `block[k]`
/// is not ASCII. Eight bytes at a time, with no branch on what they are.
#[inline(always)]
fn block_masks(block: &[u8; 64]) -> (u64, u64) {
    let (mut word, mut wide) = (0u64, 0u64);
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let (w, n) = ascii_word_bytes(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        word |= w << (8 * k);
        wide |= n << (8 * k);
    }
    (word, wide)
}

/// For 8 bytes read little-endian: a bit per byte (bit k for byte k) that is an ASCII letter or
/// digit, and one per byte that is not ASCII. Each byte's range checks are additions that set
/// its top bit (no carry crosses bytes once the top bits are cleared); a multiply then gathers
/// the top bits.
#[inline]
const fn ascii_word_bytes(x: u64) -> (u64, u64) {
    const fn each(b: u8) -> u64 {
        0x0101_0101_0101_0101 * b as u64
    }
    const TOP: u64 = each(0x80);
    const fn gather(top: u64) -> u64 {
        (top >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
    }
    let low = x & !TOP;
    let lower = low | each(0x20);
    let letter = lower.wrapping_add(each(128 - b'a')) & !lower.wrapping_add(each(127 - b'z'));
    let digit = low.wrapping_add(each(128 - b'0')) & !low.wrapping_add(each(127 - b'9'));
    (gather((letter | digit) & !x & TOP), gather(x & TOP))
}

/// [`content_words`] a char at a time from `i` (never inside a word), until the word or char
/// that reaches `upto` (or beyond) is read: returns where it stopped. Words of ASCII letters
/// and digits are found through [`BYTE_CLASS`] and hashed 8 bytes at a time; a word with a
/// non-ASCII letter in it is read a char at a time.
fn content_words_from(text: &str, mut i: usize, upto: usize, out: &mut Vec<u64>) -> usize {
    let b = text.as_bytes();
    // A non-ASCII char at `i`, its width, and whether it is a letter or digit.
    let wide = |i: usize| {
        let c = text[i..].chars().next().unwrap_or(' ');
        (c, c.len_utf8(), c.is_alphanumeric())
    };
    while i < upto.min(b.len()) {
        // Skip to the next word.
        match BYTE_CLASS[usize::from(b[i])] {
            SEPARATOR => {
                i += 1;
                continue;
            }
            ASCII_WORD => {
                let start = i;
                let mut end = i + 1;
                while end < b.len() && BYTE_CLASS[usize::from(b[end])] == ASCII_WORD {
                    end += 1;
                }
                // Ends at a separator or a non-ASCII char that is not a letter or digit: an
                // ASCII word. Otherwise the word goes on past ASCII: read below.
                if end == b.len() || BYTE_CLASS[usize::from(b[end])] == SEPARATOR || !wide(end).2 {
                    i = end;
                    if end - start < 3 {
                        continue;
                    }
                    let (hash, packed) = ascii_word_hash(b, start, end);
                    if packed.is_some_and(is_stopword_packed) {
                        continue;
                    }
                    out.push(hash);
                    continue;
                }
            }
            _ => {
                let (_, width, word) = wide(i);
                if !word {
                    i += width;
                    continue;
                }
            }
        }
        // Read a word with a non-ASCII letter or digit in it.
        let mut hash = WordHash::new();
        let mut chars = 0usize;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii() {
                if !c.is_ascii_alphanumeric() {
                    break;
                }
                hash.push(c.to_ascii_lowercase());
                i += 1;
            } else {
                let (ch, width, word) = wide(i);
                if !word {
                    break;
                }
                let mut buf = [0u8; 4];
                for lc in ch.to_lowercase() {
                    for &x in lc.encode_utf8(&mut buf).as_bytes() {
                        hash.push(x);
                    }
                }
                i += width;
            }
            chars += 1;
        }
        // The word's first char is a letter or digit: it is never empty.
        debug_assert!(chars > 0, "no progress at byte {i}");
        if chars < 3 {
            continue;
        }
        out.push(hash.finish().0);
    }
    i
}

/// Caps on the documents read for the overlap: per document, and in all.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
pub const MAX_DOCUMENTS_BYTES: usize = 512 * 1024;

/// How much of an answer the documents cover.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overlap {
    /// Share of the answer's distinct content words found in the documents.
    pub share: f64,
    /// The answer's distinct content words.
    pub words: usize,
    /// Documents with content that were read.
    pub documents: usize,
}

/// The share of `answer`'s distinct content words (see `content_words`) that occur in any of
/// the documents. `None` when no document has content or the answer has fewer than 5 content
/// words. Each document is read up to [`MAX_DOCUMENT_BYTES`], all of them up to
/// [`MAX_DOCUMENTS_BYTES`].
pub fn context_overlap(answer: &str, documents: &[Document]) -> Option<Overlap> {
    context_overlap_in(answer, documents.iter().map(|d| d.content.as_str()))
}

/// [`context_overlap`] over the documents' texts (borrowed, so tool results can join the
/// retrieved documents without copying either).
pub fn context_overlap_in<'d>(
    answer: &str,
    documents: impl Iterator<Item = &'d str> + Clone,
) -> Option<Overlap> {
    DocumentIndex::default().overlap(answer, documents)
}

/// A trace's retrieved documents read once, for every call of the trace to compare its answer
/// with: the hashes of their content words (duplicates and all, in reading order), how many
/// documents were read and how much of [`MAX_DOCUMENTS_BYTES`] is left for the calls' tool
/// results. Eight bytes a word: at most ~1 MiB for the 512 KiB read, and it lives only while
/// one request is evaluated.
#[derive(Clone, Debug)]
pub struct DocumentIndex {
    words: Vec<u64>,
    documents: usize,
    budget: usize,
}

impl Default for DocumentIndex {
    /// No documents.
    fn default() -> Self {
        Self {
            words: Vec::new(),
            documents: 0,
            budget: MAX_DOCUMENTS_BYTES,
        }
    }
}

impl DocumentIndex {
    /// Reads `documents` (those with content, up to the caps) as [`context_overlap`] does.
    pub fn new<'d>(documents: impl Iterator<Item = &'d str>) -> Self {
        let mut index = Self::default();
        let mut words = Vec::new();
        index.add(documents, |text| {
            content_words(text, &mut words);
            true
        });
        index.words = words;
        index
    }

    /// Whether a document with content was read.
    pub fn is_empty(&self) -> bool {
        self.documents == 0
    }

    /// Counts more documents within what is left of the budget, calling `read` with the part of
    /// each that is read while it returns true.
    fn add<'d>(&mut self, documents: impl Iterator<Item = &'d str>, mut read: impl FnMut(&'d str) -> bool) {
        let mut more = true;
        for d in documents.filter(|d| !d.trim().is_empty()) {
            if self.budget == 0 {
                break;
            }
            let (text, _) = head(d, MAX_DOCUMENT_BYTES.min(self.budget));
            self.budget -= text.len();
            self.documents += 1;
            if more {
                more = read(text);
            }
        }
    }

    /// How much of `answer` these documents and then `more` (the call's tool results, read in
    /// what is left of the budget) cover: [`context_overlap`] over both, in that order.
    pub fn overlap<'d>(&self, answer: &str, more: impl Iterator<Item = &'d str> + Clone) -> Option<Overlap> {
        if self.is_empty() && !more.clone().any(|d| !d.trim().is_empty()) {
            return None;
        }
        let mut words = Vec::new();
        content_words(answer, &mut words);
        words.sort_unstable();
        words.dedup();
        if words.len() < 5 {
            return None;
        }
        let mut table = AnswerWords::new(&words);
        for &h in &self.words {
            if table.find(h) {
                break;
            }
        }
        // The tool results: read now, on a copy of the budget left, until every word is found.
        let mut rest = Self {
            words: Vec::new(),
            documents: self.documents,
            budget: self.budget,
        };
        let mut found = table.found == table.total;
        rest.add(more, |text| {
            if !found {
                words.clear();
                content_words(text, &mut words);
                found = words.iter().any(|&h| table.find(h));
            }
            !found
        });
        Some(Overlap {
            share: table.found as f64 / table.total as f64,
            words: table.total,
            documents: rest.documents,
        })
    }
}

impl<'d> FromIterator<&'d Document> for DocumentIndex {
    fn from_iter<I: IntoIterator<Item = &'d Document>>(documents: I) -> Self {
        Self::new(documents.into_iter().map(|d| d.content.as_str()))
    }
}

/// An answer's distinct word hashes in an open-addressing table, each marked when found. The
/// table is kept at most 1/8 full, so that a lookup of a document's word, found or not, is
/// mostly a multiply and one slot read with no branch on what is there.
struct AnswerWords {
    slots: Vec<u64>,
    seen: Vec<bool>,
    shift: u32,
    /// Distinct words found so far, and how many there are.
    found: usize,
    total: usize,
    /// Whether the hash 0 (the empty slot's mark) is one of the words, and whether seen.
    zero: Option<bool>,
}

impl AnswerWords {
    fn new(words: &[u64]) -> Self {
        let bits = (words.len() * 8).next_power_of_two().trailing_zeros().max(6);
        let mut t = Self {
            slots: vec![0; 1 << bits],
            seen: vec![false; 1 << bits],
            shift: 64 - bits,
            found: 0,
            total: words.len(),
            zero: None,
        };
        for &h in words {
            if h == 0 {
                t.zero = Some(false);
                continue;
            }
            let mut k = t.slot(h);
            while t.slots[k] != 0 {
                k = (k + 1) & (t.slots.len() - 1);
            }
            t.slots[k] = h;
        }
        t
    }

    #[inline]
    fn slot(&self, h: u64) -> usize {
        (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Marks `h` found if it is an answer word; whether every word is found now.
    #[inline]
    fn find(&mut self, h: u64) -> bool {
        if h == 0 {
            if self.zero == Some(false) {
                self.zero = Some(true);
                self.found += 1;
            }
            return self.found == self.total;
        }
        let mask = self.slots.len() - 1;
        let mut k = self.slot(h);
        // Past other words (rare at this fill) to `h` or an empty slot.
        while self.slots[k] != h && self.slots[k] != 0 {
            k = (k + 1) & mask;
        }
        let hit = self.slots[k] == h;
        self.found += usize::from(hit & !self.seen[k]);
        self.seen[k] |= hit;
        self.found == self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Sym;

    fn attr(k: &str, v: &str) -> Attr {
        Attr {
            key: Sym::from(k),
            value: Value::Str(v.into()),
        }
    }

    fn doc(content: &str) -> Document {
        Document {
            content: content.into(),
            ..Document::default()
        }
    }

    fn words(text: &str) -> Vec<u64> {
        let mut v = Vec::new();
        content_words(text, &mut v);
        v
    }

    #[test]
    fn stopwords_are_sorted_lowercase_and_long_enough() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(PACKED_STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(STOPWORDS.iter().all(|w| is_stopword(w.as_bytes())));
        assert!(is_stopword(b"THE") && is_stopword(b"Yourself"));
        assert!(!is_stopword(b"order") && !is_stopword(b"yourselves") && !is_stopword(b"th"));
        assert!(
            STOPWORDS
                .iter()
                .all(|w| w.len() >= 3 && w.len() <= 8 && *w == w.to_lowercase())
        );
    }

    #[test]
    fn recorded_content_is_told_apart_from_none() {
        assert_eq!(Recorded::of(&[]), Recorded::default());
        let r = Recorded::of(&[attr("gen_ai.input.messages", "[]")]);
        assert_eq!(
            r,
            Recorded {
                input: true,
                output: false
            }
        );
        let r = Recorded::of(&[
            attr("llm.input_messages.0.message.content", "hi"),
            attr("llm.output_messages.0.message.content", ""),
        ]);
        assert_eq!(
            r,
            Recorded {
                input: true,
                output: true
            }
        );
        // A prompt version, a finish reason or a bare role is no content.
        for key in [
            "gen_ai.prompt.version",
            "gen_ai.completion.0.finish_reason",
            "llm.output_messages.0.message.role",
            "gen_ai.request.model",
        ] {
            assert!(!Recorded::of(&[attr(key, "x")]).any(), "{key}");
        }
        assert!(Recorded::of(&[attr("gen_ai.completion.0.content", "x")]).output);
        assert!(!Recorded::of(&[attr("output.value", "__REDACTED__")]).any());
    }

    #[test]
    fn refusals_are_found_case_and_apostrophe_insensitively() {
        assert_eq!(
            refusal("Sorry. I can't help with that request."),
            Some("I can't help with")
        );
        assert_eq!(
            refusal("i CAN\u{2019}T HELP WITH that"),
            Some("I can't help with")
        );
        assert_eq!(
            refusal("I’m sorry, but I can’t share that."),
            Some("I'm sorry, but I can't")
        );
        assert_eq!(
            refusal("As an AI language model, I..."),
            Some("As an AI language model")
        );
        assert_eq!(refusal("Well,\nI am unable to do this."), Some("I am unable to"));
        assert_eq!(refusal("ok. I cannot help it"), Some("I cannot help"));
    }

    #[test]
    fn ordinary_answers_are_no_refusals() {
        for text in [
            "",
            "Thanks for waiting. Is there anything else I can help you with?",
            "I cannot help but notice the order shipped late.",
            "Sure! Here is the recipe.",
            "MAI am unable to",
        ] {
            assert_eq!(refusal(text), None, "{text}");
        }
    }

    #[test]
    fn every_refusal_phrase_matches_itself() {
        for (p, _) in REFUSAL_PHRASES {
            assert_eq!(refusal(&format!("Well. {p} x")), Some(p));
        }
    }

    fn msg(role: &str, content: &str) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
            ..Message::default()
        }
    }

    /// Whether JSON is asked for by a system prompt and a user message, with no attributes.
    fn asked(system: &str, user: &str) -> Option<&'static str> {
        let system = if system.is_empty() {
            vec![]
        } else {
            vec![msg("system", system)]
        };
        json_requested(&[], &system, &[msg("user", user)])
    }

    #[test]
    fn json_requests_from_attributes() {
        assert_eq!(json_requested(&[], &[], &[]), None);
        let cases = [
            (attr("gen_ai.output.type", "json"), Some("gen_ai.output.type")),
            (attr("gen_ai.output.type", "text"), None),
            (
                attr("gen_ai.openai.request.response_format", "json_object"),
                Some("gen_ai.openai.request.response_format"),
            ),
            (
                attr("gen_ai.request.structured_output_schema", "{\"type\":\"object\"}"),
                Some("gen_ai.request.structured_output_schema"),
            ),
            (
                attr(
                    "llm.invocation_parameters",
                    r#"{"model":"gpt-4o","response_format":{"type":"json_schema","json_schema":{}}}"#,
                ),
                Some("llm.invocation_parameters"),
            ),
            (
                attr(
                    "llm.invocation_parameters",
                    r#"{"response_format":"json_object"}"#,
                ),
                Some("llm.invocation_parameters"),
            ),
            (
                attr(
                    "gen_ai.request.parameters",
                    r#"{"text":{"format":{"type":"json_schema"}}}"#,
                ),
                Some("gen_ai.request.parameters"),
            ),
            (
                attr(
                    "llm.invocation_parameters",
                    r#"{"generation_config":{"response_mime_type":"application/json"}}"#,
                ),
                Some("llm.invocation_parameters"),
            ),
            (
                attr("llm.invocation_parameters", r#"{"format":"json"}"#),
                Some("llm.invocation_parameters"),
            ),
            (
                attr(
                    "llm.invocation_parameters",
                    r#"{"response_format":{"type":"text"}}"#,
                ),
                None,
            ),
            // Mentions json, but not as a format.
            (
                attr(
                    "llm.invocation_parameters",
                    r#"{"tools":[{"name":"parse_json"}]}"#,
                ),
                None,
            ),
            (attr("llm.invocation_parameters", "not json {"), None),
        ];
        for (a, want) in cases {
            assert_eq!(json_requested(std::slice::from_ref(&a), &[], &[]), want, "{a:?}");
        }
    }

    #[test]
    fn json_requests_from_the_prompt() {
        for text in [
            "Respond in JSON.",
            "Respond only with valid JSON matching this schema.",
            "Return a JSON object with keys a and b.",
            "Format your answer as JSON",
            "Output JSON only",
            "Give the result in JSON format.",
            "Answer strictly in json",
            "Only JSON, please.",
        ] {
            assert!(prompt_asks_json(text), "{text}");
            assert_eq!(asked(text, "hi"), Some("the prompt"));
            assert_eq!(asked("", text), Some("the prompt"));
            // An assistant or tool message saying so is no request.
            let history = [msg("assistant", text), msg("tool", text)];
            assert_eq!(json_requested(&[], &[], &history), None);
        }
        for text in [
            "",
            "What is the weather like?",
            "Do not respond in JSON.",
            "Don't return JSON, use prose.",
            "Respond in prose, never JSON.",
            "Write a Python function that parses JSON files from disk.",
            "Here is a JSON file: {\"a\": 1}. Summarise it.",
            "Return the answer to the question below, about the JSON spec",
            "jsonl exports are respond-ready",
        ] {
            assert!(!prompt_asks_json(text), "{text}");
        }
    }

    #[test]
    fn json_answers_are_checked() {
        assert_eq!(json_check(r#"{"a": 1}"#), JsonCheck::Valid { fenced: false });
        assert_eq!(json_check(" [1, 2]\n"), JsonCheck::Valid { fenced: false });
        assert_eq!(
            json_check("```json\n{\"a\": [1, 2]}\n```"),
            JsonCheck::Valid { fenced: true }
        );
        assert_eq!(
            json_check("Here you go:\n```\n[{\"a\": null}]\n```\nAnything else?"),
            JsonCheck::Valid { fenced: true }
        );
        assert!(matches!(json_check("{\"a\": 1,}"), JsonCheck::Invalid(_)));
        assert!(matches!(
            json_check("Sure! The answer is 42."),
            JsonCheck::Invalid(_)
        ));
        assert!(matches!(json_check("\"just a string\""), JsonCheck::Invalid(_)));
        assert!(matches!(
            json_check("```json\n{oops}\n```"),
            JsonCheck::Invalid(_)
        ));
        assert!(matches!(json_check("```json {\"a\": 1}"), JsonCheck::Invalid(_)));
        assert_eq!(
            json_check("{\"a\": \"xxxx…[truncated 1200 bytes]"),
            JsonCheck::Truncated
        );
        let JsonCheck::Invalid(why) = json_check("{\"a\": }") else {
            panic!()
        };
        assert!(why.contains("line 1"), "{why}");
    }

    /// A word's hash fed a byte at a time, as the reading of non-ASCII words does.
    fn bytewise(word: &[u8]) -> (u64, Option<u64>) {
        let mut h = WordHash::new();
        for &b in word {
            h.push(b.to_ascii_lowercase());
        }
        h.finish()
    }

    /// Content words as first written, a byte (or char) at a time through [`WordHash`]: the
    /// reference the table and 8-byte hashing must agree with.
    fn words_bytewise(text: &str) -> Vec<u64> {
        let mut out = Vec::new();
        let mut chars = text.chars().peekable();
        while chars.peek().is_some() {
            let mut hash = WordHash::new();
            let (mut n, mut ascii) = (0, true);
            while let Some(&c) = chars.peek().filter(|c| c.is_alphanumeric()) {
                chars.next();
                n += 1;
                ascii &= c.is_ascii();
                let mut buf = [0u8; 4];
                for lc in c.to_lowercase() {
                    lc.encode_utf8(&mut buf).bytes().for_each(|x| hash.push(x));
                }
            }
            if n == 0 {
                chars.next();
                continue;
            }
            let (h, packed) = hash.finish();
            if n >= 3 && !(ascii && packed.is_some_and(is_stopword_packed)) {
                out.push(h);
            }
        }
        out
    }

    #[test]
    fn words_found_by_the_table_are_the_words_read_one_char_at_a_time() {
        // Letters, digits, separators of every ASCII kind, non-ASCII letters, digits and
        // punctuation, stopwords, words of every length, at every alignment.
        let pieces = [
            "a",
            "Zq",
            "the",
            "THE",
            "order",
            "0123456789",
            "x",
            " ",
            "  ",
            ",",
            ".",
            "-",
            "'",
            "\n",
            "\t",
            "@",
            "[",
            "`",
            "{",
            "/",
            ":",
            "\u{7f}",
            "é",
            "É",
            "ß",
            "中文",
            "٣",
            "—",
            "“",
            "’",
            "\u{a0}",
            "ünïcode",
            "yourself",
            "abcdefgh",
            "abcdefghi",
            "İ",
            "Pneumonoultramicroscopicsilicovolcanoconiosis0123456789abcdefghijklmnopqrstuvwxyz",
        ];
        // Texts of the ASCII pieces only, and texts where a non-ASCII piece is rare, take the
        // 64-byte masks' path through whole blocks and words that run across them.
        let ascii: Vec<&str> = pieces.iter().copied().filter(|p| p.is_ascii()).collect();
        let mut seed = 0x9e37_79b9u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for round in 0..6000 {
            let mut text = String::new();
            let len = 1 + round % 120;
            for _ in 0..len {
                let piece = match round % 3 {
                    0 => pieces[next() % pieces.len()],
                    1 => ascii[next() % ascii.len()],
                    _ if next() % 50 == 0 => pieces[next() % pieces.len()],
                    _ => ascii[next() % ascii.len()],
                };
                text.push_str(piece);
            }
            assert_eq!(words(&text), words_bytewise(&text), "{text:?}");
        }
        assert_eq!(words_bytewise("The order is at UPS"), words("order ups"));
    }

    #[test]
    fn every_byte_value_is_classed_at_every_place_of_the_8_and_the_64() {
        for b in 0..=255u8 {
            for filler in [0u8, b'a', 0xff, b' '] {
                for k in 0..8 {
                    let mut bytes = [filler; 8];
                    bytes[k] = b;
                    let (word, wide) = ascii_word_bytes(u64::from_le_bytes(bytes));
                    for (j, &c) in bytes.iter().enumerate() {
                        assert_eq!(word >> j & 1 == 1, c.is_ascii_alphanumeric(), "{bytes:?} at {j}");
                        assert_eq!(wide >> j & 1 == 1, !c.is_ascii(), "{bytes:?} at {j}");
                    }
                }
            }
            for k in [0, 31, 37, 63] {
                let mut block = [b'-'; 64];
                block[k] = b;
                block[k / 2] = b;
                let (word, wide) = block_masks(&block);
                let expect = |f: fn(&u8) -> bool| {
                    block
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| f(c))
                        .map(|(j, _)| 1u64 << j)
                        .sum::<u64>()
                };
                assert_eq!(word, expect(u8::is_ascii_alphanumeric), "{b} at {k}");
                assert_eq!(wide, expect(|c| !c.is_ascii()), "{b} at {k}");
            }
        }
    }

    #[test]
    fn ascii_words_hash_8_bytes_at_a_time_as_byte_by_byte() {
        let alphabet = b"aZ09mQxYk7";
        let mut seed = 0x1234_5678u64;
        for len in 1..=40 {
            for _ in 0..20 {
                let word: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        alphabet[(seed >> 33) as usize % alphabet.len()]
                    })
                    .collect();
                // Alone (shorter than 8 bytes: read byte by byte), and inside longer text.
                assert_eq!(ascii_word_hash(&word, 0, len), bytewise(&word), "{word:?}");
                let mut text = b"prefix, ".to_vec();
                text.extend_from_slice(&word);
                text.extend_from_slice(b" suffix");
                assert_eq!(ascii_word_hash(&text, 8, 8 + len), bytewise(&word), "{word:?}");
            }
        }
    }

    #[test]
    fn words_mixing_ascii_and_other_letters_hash_as_one_word() {
        // An ASCII start running into a non-ASCII letter is one word; into non-ASCII
        // punctuation, two.
        assert_eq!(words("CAFÉ crème"), words("café CRÈME"));
        assert_eq!(words("café").len(), 1);
        assert_ne!(words("café"), words("caf"));
        assert_eq!(words("word—next"), words("word next"));
        assert_eq!(words("naïve"), words("NAÏVE"));
        // Nothing lost at the end of the text or after a non-ASCII word.
        assert_eq!(words("été summer").len(), 2);
        assert_eq!(words("summer été").len(), 2);
    }

    #[test]
    fn content_words_skip_short_words_and_stopwords_and_ignore_case() {
        assert_eq!(words("The order is at UPS"), words("order ups"));
        assert_eq!(words("a an to of is it"), Vec::<u64>::new());
        assert_eq!(words("Ünïcode ÉTÉ"), words("ünïcode été"));
        assert_eq!(words("don't won't"), Vec::<u64>::new());
        assert_eq!(words("A-1042, 2026-11-28").len(), 2);
        assert_eq!(words("“quoted”—dash"), words("quoted dash"));
    }

    #[test]
    fn overlap_is_the_share_of_distinct_answer_words_in_the_documents() {
        let docs = [
            doc("Orders ship within 2 business days; tracking is emailed at dispatch."),
            doc("Late deliveries: carriers may need 1-2 extra days during peak season."),
        ];
        let answer = "Your order ships within two business days, and tracking is emailed at dispatch.";
        // Content words: order, ships, within, two, business, days, tracking, emailed, dispatch.
        let o = context_overlap(answer, &docs).unwrap();
        assert_eq!(o.words, 9);
        assert_eq!(o.documents, 2);
        // Found: within, business, days, tracking, emailed, dispatch. Not: "order" (the
        // documents say "orders"), "ships" ("ship"), "two".
        assert!((o.share - 6.0 / 9.0).abs() < 1e-9, "{o:?}");
        let unrelated = context_overlap("Paris is the capital city of France and famous for art.", &docs);
        assert_eq!(unrelated.map(|o| o.share), Some(0.0));
        // Too few content words, or no documents with content: no overlap.
        assert_eq!(context_overlap("Orders ship fast.", &docs), None);
        assert_eq!(context_overlap(answer, &[]), None);
        assert_eq!(context_overlap(answer, &[doc("  ")]), None);
    }

    #[test]
    fn documents_are_read_up_to_their_caps() {
        let answer = "alpha bravo charlie delta echo foxtrot";
        // Each document is read on its first 64 KiB: a word past that is not found.
        let mut long = "filler ".repeat(MAX_DOCUMENT_BYTES / 7 + 1);
        long.push_str("alpha bravo charlie");
        let o = context_overlap(answer, &[doc(&long)]).unwrap();
        assert_eq!((o.share, o.documents), (0.0, 1));
        // 512 KiB in all: the ninth 64 KiB document is not read.
        let mut docs = vec![doc(&"x".repeat(MAX_DOCUMENT_BYTES)); 8];
        docs.push(doc("alpha bravo charlie delta echo foxtrot"));
        let o = context_overlap(answer, &docs).unwrap();
        assert_eq!((o.share, o.documents), (0.0, 8));
        // First, it is read; and it leaves room for part of the ninth.
        docs.swap(0, 8);
        let o = context_overlap(answer, &docs).unwrap();
        assert_eq!((o.share, o.documents, o.words), (1.0, 9, 6));
    }

    /// The overlap as first written: every document re-read for the answer, words kept sorted.
    fn overlap_by_rereading<'d>(
        answer: &str,
        docs: impl Iterator<Item = &'d str> + Clone,
    ) -> Option<Overlap> {
        let docs: Vec<&str> = docs.filter(|d| !d.trim().is_empty()).collect();
        docs.first()?;
        let mut answer_words = words(answer);
        answer_words.sort_unstable();
        answer_words.dedup();
        if answer_words.len() < 5 {
            return None;
        }
        let mut found = std::collections::HashSet::new();
        let (mut budget, mut read) = (MAX_DOCUMENTS_BYTES, 0);
        for d in docs {
            if budget == 0 {
                break;
            }
            let (text, _) = head(d, MAX_DOCUMENT_BYTES.min(budget));
            budget -= text.len();
            read += 1;
            found.extend(
                words(text)
                    .into_iter()
                    .filter(|h| answer_words.binary_search(h).is_ok()),
            );
        }
        Some(Overlap {
            share: found.len() as f64 / answer_words.len() as f64,
            words: answer_words.len(),
            documents: read,
        })
    }

    #[test]
    fn an_index_of_the_documents_gives_the_overlap_of_reading_them_again() {
        // Seeded texts from a small vocabulary (with stopwords, short words, capitals and
        // non-ASCII), split between documents and tool results at every point.
        let vocab = [
            "Order",
            "ships",
            "the",
            "to",
            "Über",
            "straße",
            "A-1042",
            "refund",
            "within",
            "days",
            "été",
            "tracking",
            "carrier",
            "parcel",
            "and",
            "extraordinarily",
            "Return",
            "label",
            "  ",
            "",
            "inspection",
            "business",
            "warehouse",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..300 {
            let mut text = |words: usize| {
                (0..words)
                    .map(|_| vocab[next(vocab.len())])
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let answer = text(12);
            let texts: Vec<String> = (0..5).map(|k| text(k * 7)).collect();
            let all = || texts.iter().map(String::as_str);
            for split in 0..=texts.len() {
                let index = DocumentIndex::new(all().take(split));
                let got = index.overlap(&answer, all().skip(split));
                assert_eq!(
                    got,
                    overlap_by_rereading(&answer, all()),
                    "{answer:?} {texts:?} {split}"
                );
                assert_eq!(got, context_overlap_in(&answer, all()));
            }
        }
    }

    #[test]
    fn word_hashes_are_packed_words_up_to_eight_bytes() {
        assert_eq!(words("Shipping"), vec![pack(b"shipping")]);
        assert_eq!(words("abcdefghi"), words("ABCDEFGHI"));
        assert_ne!(words("abcdefghi"), words("abcdefgh"));
        assert_ne!(words("abcdefghijklmnopq"), words("abcdefghijklmnopr"));
        // A zero hash (never made by real words) is still counted once in an answer table.
        let mut t = AnswerWords::new(&[0, 1, 2]);
        assert!(!t.find(0) && !t.find(0) && !t.find(1) && t.find(2));
        assert_eq!(t.found, 3);
    }

    #[test]
    fn head_cuts_at_char_boundaries() {
        assert_eq!(head("héllo", 2), ("h", true));
        assert_eq!(head("héllo", 3), ("hé", true));
        assert_eq!(head("abc", 3), ("abc", false));
    }
}
