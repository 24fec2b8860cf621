//! Rows as the exporter wrote them (one JSONEachRow line each) back into OTLP: spans and log
//! records grouped by resource and scope into export requests.
//!
//! The exporter stores every attribute value as text (`AsString`: numbers, booleans, and arrays
//! and maps as JSON). Numbers and booleans stay text here: the normaliser's lenient value rules
//! (`semconv::value`) read token counts, costs and scores from text as from numbers. Arrays of
//! plain values written as JSON become OTLP arrays again (see [`text_value`]).
//! With the `json: true` schema attributes arrive as one JSON object with dotted keys nested;
//! it is flattened back to dotted keys.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::HashMap;

/// A number ClickHouse may print as a JSON number or, with 64-bit quoting on, as a string.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(from = "Json")]
pub struct Num(pub u64);

impl From<Json> for Num {
    fn from(v: Json) -> Self {
        Num(match v {
            Json::Number(n) => n
                .as_u64()
                .unwrap_or_else(|| n.as_f64().map_or(0, |f| f.max(0.0) as u64)),
            Json::String(s) => s.trim().parse().unwrap_or(0),
            _ => 0,
        })
    }
}

/// One row of the spans query ([`super::query::spans`]).
#[derive(Deserialize)]
pub struct SpanRow {
    ts: Num,
    trace: String,
    span: String,
    parent: String,
    #[serde(default)]
    state: String,
    name: String,
    kind: String,
    service: String,
    res: Json,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    scope_version: String,
    attrs: Json,
    dur: Num,
    status: String,
    #[serde(default)]
    status_message: String,
    #[serde(default)]
    ev_ts: Vec<Num>,
    #[serde(default)]
    ev_name: Vec<String>,
    #[serde(default)]
    ev_attrs: Vec<Json>,
    #[serde(default)]
    ln_trace: Vec<String>,
    #[serde(default)]
    ln_span: Vec<String>,
    #[serde(default)]
    ln_state: Vec<String>,
    #[serde(default)]
    ln_attrs: Vec<Json>,
}

/// One row of the logs query ([`super::query::logs`]).
#[derive(Deserialize)]
pub struct LogRow {
    ts: Num,
    trace: String,
    span: String,
    #[serde(default)]
    flags: Num,
    severity: String,
    #[serde(default)]
    severity_number: Num,
    body: String,
    res: Json,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    scope_version: String,
    attrs: Json,
    #[serde(default)]
    event_name: String,
}

/// `Server` (current exporters) or `SPAN_KIND_SERVER` (older ones).
pub fn span_kind(s: &str) -> i32 {
    let s = s.strip_prefix("SPAN_KIND_").unwrap_or(s);
    match s.to_ascii_lowercase().as_str() {
        "internal" => 1,
        "server" => 2,
        "client" => 3,
        "producer" => 4,
        "consumer" => 5,
        _ => 0,
    }
}

/// `Error` or `STATUS_CODE_ERROR`.
pub fn status_code(s: &str) -> i32 {
    let s = s.strip_prefix("STATUS_CODE_").unwrap_or(s);
    match s.to_ascii_lowercase().as_str() {
        "ok" => 1,
        "error" => 2,
        _ => 0,
    }
}

/// Hex ids as bytes; anything else is left empty, which validation then rejects as it would
/// from any sender.
fn id(hex: &str) -> Vec<u8> {
    const_hex::decode(hex).unwrap_or_default()
}

/// A value from an attribute column: text (with JSON arrays and objects recovered) or, from a
/// JSON column, a typed value.
fn any_value(v: Json) -> Option<AnyValue> {
    use any_value::Value as V;
    let value = match v {
        Json::Null => return None,
        Json::Bool(b) => V::BoolValue(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => V::IntValue(i),
            None => V::DoubleValue(n.as_f64()?),
        },
        Json::String(s) => return Some(text_value(s)),
        Json::Array(items) => V::ArrayValue(ArrayValue {
            values: items.into_iter().filter_map(any_value).collect(),
        }),
        Json::Object(map) => V::KvlistValue(KeyValueList {
            values: map
                .into_iter()
                .map(|(key, v)| KeyValue {
                    key,
                    value: any_value(v),
                    ..Default::default()
                })
                .collect(),
        }),
    };
    Some(AnyValue { value: Some(value) })
}

/// A text value as the exporter wrote it. An array of plain values written as JSON (`["stop"]`)
/// was an array: it becomes one again, since nothing downstream reads arrays from text. Anything
/// else stays text, JSON objects and arrays of objects included: they are as often text that
/// holds JSON (`input.value`, `gen_ai.input.messages`), which the normaliser parses itself.
fn text_value(s: String) -> AnyValue {
    if s.starts_with('[')
        && let Ok(Json::Array(items)) = serde_json::from_str::<Json>(&s)
        && items
            .iter()
            .all(|i| matches!(i, Json::String(_) | Json::Number(_) | Json::Bool(_)))
        && let Some(v) = any_value(Json::Array(items))
    {
        return v;
    }
    AnyValue {
        value: Some(any_value::Value::StringValue(s)),
    }
}

/// An attributes column: a Map (an object of texts), or JSON (as text from `toJSONString`, or an
/// object) whose nested paths are flattened back to dotted keys.
fn attributes(v: Json) -> Vec<KeyValue> {
    let mut out = Vec::new();
    match v {
        Json::Object(map) => flatten(String::new(), map, &mut out),
        Json::String(s) => {
            if let Ok(Json::Object(map)) = serde_json::from_str::<Json>(&s) {
                flatten(String::new(), map, &mut out);
            }
        }
        _ => {}
    }
    out
}

fn flatten(prefix: String, map: serde_json::Map<String, Json>, out: &mut Vec<KeyValue>) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Json::Object(inner) if !inner.is_empty() => flatten(key, inner, out),
            v => {
                if let Some(value) = any_value(v) {
                    out.push(KeyValue {
                        key,
                        value: Some(value),
                        ..Default::default()
                    });
                }
            }
        }
    }
}

impl SpanRow {
    fn into_span(self) -> (Json, String, String, Span) {
        let events = self
            .ev_ts
            .iter()
            .zip(self.ev_name)
            .zip(self.ev_attrs.into_iter().map(Some).chain(std::iter::repeat(None)))
            .map(|((t, name), attrs)| Event {
                time_unix_nano: t.0,
                name,
                attributes: attrs.map(attributes).unwrap_or_default(),
                dropped_attributes_count: 0,
            })
            .collect();
        let links = self
            .ln_trace
            .iter()
            .zip(self.ln_span.iter())
            .enumerate()
            .map(|(i, (t, s))| Link {
                trace_id: id(t),
                span_id: id(s),
                trace_state: self.ln_state.get(i).cloned().unwrap_or_default(),
                attributes: self.ln_attrs.get(i).cloned().map(attributes).unwrap_or_default(),
                dropped_attributes_count: 0,
                flags: 0,
            })
            .collect();
        let span = Span {
            trace_id: id(&self.trace),
            span_id: id(&self.span),
            trace_state: self.state,
            parent_span_id: if self.parent.is_empty() {
                Vec::new()
            } else {
                id(&self.parent)
            },
            flags: 0,
            name: self.name,
            kind: span_kind(&self.kind),
            start_time_unix_nano: self.ts.0,
            end_time_unix_nano: self.ts.0.saturating_add(self.dur.0),
            attributes: attributes(self.attrs),
            dropped_attributes_count: 0,
            events,
            dropped_events_count: 0,
            links,
            dropped_links_count: 0,
            status: Some(Status {
                message: self.status_message,
                code: status_code(&self.status),
            }),
        };
        let res = with_service(self.res, &self.service);
        (res, self.scope, self.scope_version, span)
    }
}

/// The resource attributes, with `service.name` from the `ServiceName` column when the map
/// lacks it (the exporter fills the column from that attribute).
fn with_service(res: Json, service: &str) -> Json {
    match res {
        Json::Object(mut map) if !service.is_empty() && !map.contains_key("service.name") => {
            map.insert("service.name".into(), Json::String(service.to_string()));
            Json::Object(map)
        }
        Json::Null if !service.is_empty() => serde_json::json!({ "service.name": service }),
        other => other,
    }
}

impl LogRow {
    fn into_record(self) -> (Json, String, String, LogRecord) {
        let body = (!self.body.is_empty()).then(|| text_value(self.body));
        let record = LogRecord {
            time_unix_nano: self.ts.0,
            observed_time_unix_nano: self.ts.0,
            severity_number: self.severity_number.0.min(24) as i32,
            severity_text: self.severity,
            body,
            attributes: attributes(self.attrs),
            dropped_attributes_count: 0,
            flags: self.flags.0.min(u64::from(u32::MAX)) as u32,
            trace_id: id(&self.trace),
            span_id: id(&self.span),
            event_name: self.event_name,
        };
        (self.res, self.scope, self.scope_version, record)
    }
}

/// Rows gathered into one request, grouped by resource and scope as an SDK batches them.
#[derive(Default)]
pub struct Batch<T> {
    groups: Vec<(Json, String, String, Vec<T>)>,
    index: HashMap<(String, String, String), usize>,
    pub len: usize,
}

impl<T> Batch<T> {
    fn push(&mut self, res: Json, scope: String, version: String, item: T) {
        let key = (res.to_string(), scope, version);
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.groups.len();
                self.groups.push((res, key.1.clone(), key.2.clone(), Vec::new()));
                self.index.insert(key, i);
                i
            }
        };
        self.groups[i].3.push(item);
        self.len += 1;
    }
}

fn resource(res: Json) -> Option<Resource> {
    Some(Resource {
        attributes: attributes(res),
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    })
}

fn scope(name: String, version: String) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name,
        version,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
    })
}

impl Batch<Span> {
    pub fn add(&mut self, row: SpanRow) {
        let (res, scope, version, span) = row.into_span();
        self.push(res, scope, version, span);
    }

    pub fn take(&mut self) -> ExportTraceServiceRequest {
        self.index.clear();
        self.len = 0;
        ExportTraceServiceRequest {
            resource_spans: std::mem::take(&mut self.groups)
                .into_iter()
                .map(|(res, name, version, spans)| ResourceSpans {
                    resource: resource(res),
                    scope_spans: vec![ScopeSpans {
                        scope: scope(name, version),
                        spans,
                        schema_url: String::new(),
                    }],
                    schema_url: String::new(),
                })
                .collect(),
        }
    }
}

impl Batch<LogRecord> {
    pub fn add(&mut self, row: LogRow) {
        let (res, scope, version, record) = row.into_record();
        self.push(res, scope, version, record);
    }

    pub fn take(&mut self) -> ExportLogsServiceRequest {
        self.index.clear();
        self.len = 0;
        ExportLogsServiceRequest {
            resource_logs: std::mem::take(&mut self.groups)
                .into_iter()
                .map(|(res, name, version, log_records)| ResourceLogs {
                    resource: resource(res),
                    scope_logs: vec![ScopeLogs {
                        scope: scope(name, version),
                        log_records,
                        schema_url: String::new(),
                    }],
                    schema_url: String::new(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_kind_and_status() {
        assert_eq!(span_kind("Server"), 2);
        assert_eq!(span_kind("SPAN_KIND_CLIENT"), 3);
        assert_eq!(span_kind("Unspecified"), 0);
        assert_eq!(status_code("Error"), 2);
        assert_eq!(status_code("STATUS_CODE_OK"), 1);
        assert_eq!(status_code("Unset"), 0);
    }

    #[test]
    fn text_values_keep_text_and_recover_arrays() {
        let kv = attributes(serde_json::json!({
            "gen_ai.usage.input_tokens": "12",
            "gen_ai.response.finish_reasons": "[\"stop\"]",
            "note": "[not json",
        }));
        let get = |k: &str| {
            kv.iter()
                .find(|x| x.key == k)
                .and_then(|x| x.value.clone())
                .and_then(|v| v.value)
        };
        assert_eq!(
            get("gen_ai.usage.input_tokens"),
            Some(any_value::Value::StringValue("12".into()))
        );
        assert!(
            matches!(get("gen_ai.response.finish_reasons"), Some(any_value::Value::ArrayValue(a)) if a.values.len() == 1)
        );
        assert_eq!(
            get("note"),
            Some(any_value::Value::StringValue("[not json".into()))
        );
    }

    #[test]
    fn json_columns_flatten_to_dotted_keys() {
        let kv = attributes(Json::String(
            r#"{"gen_ai":{"usage":{"input_tokens":12}},"x":"y"}"#.into(),
        ));
        let keys: Vec<&str> = kv.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["gen_ai.usage.input_tokens", "x"]);
        assert_eq!(
            kv[0].value.as_ref().and_then(|v| v.value.clone()),
            Some(any_value::Value::IntValue(12))
        );
    }

    #[test]
    fn a_row_becomes_a_span() {
        let row: SpanRow = serde_json::from_str(
            r#"{"ts":1000,"trace":"0102030405060708090a0b0c0d0e0f10","span":"0102030405060708","parent":"",
            "name":"chat","kind":"SPAN_KIND_CLIENT","service":"svc","res":{},"attrs":{"a":"1"},"dur":"500",
            "status":"Error","ev_ts":[1200],"ev_name":["exception"],"ev_attrs":[{"exception.message":"boom"}]}"#,
        )
        .unwrap();
        let mut b = Batch::<Span>::default();
        b.add(row);
        let req = b.take();
        let rs = &req.resource_spans[0];
        let res = rs.resource.as_ref().unwrap();
        assert_eq!(res.attributes[0].key, "service.name");
        let span = &rs.scope_spans[0].spans[0];
        assert_eq!(
            (span.kind, span.end_time_unix_nano, span.trace_id.len()),
            (3, 1500, 16)
        );
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.status.as_ref().unwrap().code, 2);
        assert_eq!(span.events[0].attributes[0].key, "exception.message");
    }
}
