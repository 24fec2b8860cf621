//! Small builders for OTLP attributes and the OTel GenAI message JSON the demo writes.

use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value::Value};

pub(crate) fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub(crate) fn s(key: &str, value: impl Into<String>) -> KeyValue {
    kv(key, Value::StringValue(value.into()))
}

pub(crate) fn i(key: &str, value: i64) -> KeyValue {
    kv(key, Value::IntValue(value))
}

pub(crate) fn u(key: &str, value: u64) -> KeyValue {
    kv(key, Value::IntValue(i64::try_from(value).unwrap_or(i64::MAX)))
}

pub(crate) fn f(key: &str, value: f64) -> KeyValue {
    kv(key, Value::DoubleValue(value))
}

pub(crate) fn b(key: &str, value: bool) -> KeyValue {
    kv(key, Value::BoolValue(value))
}

pub(crate) fn strs(key: &str, values: &[&str]) -> KeyValue {
    kv(
        key,
        Value::ArrayValue(ArrayValue {
            values: values
                .iter()
                .map(|v| AnyValue {
                    value: Some(Value::StringValue((*v).into())),
                })
                .collect(),
        }),
    )
}

/// Appends `v` as a JSON string literal (copying the runs that need no escaping whole).
pub(crate) fn push_json_str(out: &mut String, v: &str) {
    out.reserve(v.len() + 2);
    out.push('"');
    let mut run = 0;
    for (i, byte) in v.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&v[run..i]);
        run = i + 1;
        if escaped.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{:04x}", byte);
        } else {
            out.push_str(escaped);
        }
    }
    out.push_str(&v[run..]);
    out.push('"');
}

pub(crate) fn json_str(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    push_json_str(&mut out, v);
    out
}

/// `gen_ai.input.messages` / `gen_ai.output.messages` JSON: a list of `{role, parts}` messages
/// as OTel GenAI instrumentations send them.
pub(crate) struct Messages {
    buf: String,
    empty: bool,
}

impl Messages {
    pub(crate) fn new() -> Self {
        Self {
            buf: String::with_capacity(512),
            empty: true,
        }
    }

    fn open(&mut self, role: &str) {
        self.buf.push(if self.empty { '[' } else { ',' });
        self.empty = false;
        self.buf.push_str("{\"role\":");
        push_json_str(&mut self.buf, role);
        self.buf.push_str(",\"parts\":[");
    }

    fn close(&mut self, finish_reason: Option<&str>) {
        self.buf.push(']');
        if let Some(reason) = finish_reason {
            self.buf.push_str(",\"finish_reason\":");
            push_json_str(&mut self.buf, reason);
        }
        self.buf.push('}');
    }

    /// A message with one text part.
    pub(crate) fn text(&mut self, role: &str, content: &str, finish_reason: Option<&str>) -> &mut Self {
        self.open(role);
        self.buf.push_str("{\"type\":\"text\",\"content\":");
        push_json_str(&mut self.buf, content);
        self.buf.push('}');
        self.close(finish_reason);
        self
    }

    /// An assistant message calling a tool; `arguments` is a JSON object already.
    pub(crate) fn tool_call(
        &mut self,
        id: &str,
        name: &str,
        arguments: &str,
        finish_reason: Option<&str>,
    ) -> &mut Self {
        self.open("assistant");
        self.buf.push_str("{\"type\":\"tool_call\",\"id\":");
        push_json_str(&mut self.buf, id);
        self.buf.push_str(",\"name\":");
        push_json_str(&mut self.buf, name);
        self.buf.push_str(",\"arguments\":");
        self.buf.push_str(arguments);
        self.buf.push('}');
        self.close(finish_reason);
        self
    }

    /// A tool's answer to a call.
    pub(crate) fn tool_response(&mut self, id: &str, response: &str) -> &mut Self {
        self.open("tool");
        self.buf.push_str("{\"type\":\"tool_call_response\",\"id\":");
        push_json_str(&mut self.buf, id);
        self.buf.push_str(",\"response\":");
        push_json_str(&mut self.buf, response);
        self.buf.push('}');
        self.close(None);
        self
    }

    /// The messages so far, leaving the list open for more.
    pub(crate) fn snapshot(&self) -> String {
        if self.empty {
            return "[]".into();
        }
        let mut out = String::with_capacity(self.buf.len() + 1);
        out.push_str(&self.buf);
        out.push(']');
        out
    }

    pub(crate) fn finish(&mut self) -> String {
        if self.empty {
            return "[]".into();
        }
        let mut out = std::mem::take(&mut self.buf);
        out.push(']');
        self.empty = true;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_valid_json_in_the_otel_shape() {
        let json = Messages::new()
            .text("system", "Be \"brief\".\nContext:\tnone", None)
            .text("user", "Where is A-1042?", None)
            .tool_call("call_1", "get_order_status", "{\"order_id\":\"A-1042\"}", None)
            .tool_response("call_1", "{\"status\":\"in_transit\"}")
            .finish();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["parts"][0]["content"], "Be \"brief\".\nContext:\tnone");
        assert_eq!(v[2]["parts"][0]["arguments"]["order_id"], "A-1042");
        assert_eq!(v[3]["role"], "tool");
        assert_eq!(json_str("a\u{1}b\\c é"), "\"a\\u0001b\\\\c é\"");
        let out = Messages::new().text("assistant", "Done.", Some("stop")).finish();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["finish_reason"], "stop");
    }
}
