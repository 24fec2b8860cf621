//! Our records back to OTLP: a held trace as export requests, as the OTLP/JSON lines `--record`
//! writes (so `llmwatch replay` reads an exported trace), or one span as pretty OTLP/JSON.
//!
//! The inverse of [`super::convert`] for everything it keeps: converting the requests made here
//! gives records equal to the ones they were made from (all fields but the `mem_bytes`
//! estimate, whose resource share depends on how the spans were batched). What conversion drops
//! cannot come back: `trace_state`, the `dropped_*_count`s, link and log `flags`, `schema_url`s,
//! scope attributes, resource entity refs, and whatever a limit cut off. A resource is written
//! as its attributes only: the record's `service` was taken from them (`service.name`, else
//! `project_name`, else `unknown_service`), so converting them again names the same service.
//!
//! Lines are encoded by [`Recorder::encode_traces`] / [`Recorder::encode_logs`], so an export
//! is byte for byte what `--record` would have written, credential-looking values redacted and
//! non-finite doubles spelled as OTLP/JSON spells them.

use super::{Attr, LogRecord, Resource, Scope, SpanKind, SpanRecord, StatusCode, Value};
use crate::ingest::record::Recorder;
use crate::store::Trace;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord as OtlpLogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The trace's spans as one ExportTraceServiceRequest (grouped by resource and scope, in the
/// trace's span order) and its logs as one ExportLogsServiceRequest (None when it has none).
///
/// Records keep the trace's order exactly (so converting the requests gives the same order):
/// a group is a run of consecutive records with equal resources, split into runs of equal
/// scopes. Records of one resource that arrived in separate batches share a group when nothing
/// came between them; interleaved batches give more groups (the same resource or scope may then
/// appear more than once, which OTLP allows).
pub fn trace_requests(trace: &Trace) -> (ExportTraceServiceRequest, Option<ExportLogsServiceRequest>) {
    let spans = ExportTraceServiceRequest {
        resource_spans: group(&trace.spans, |s| (&s.resource, &s.scope))
            .into_iter()
            .map(|(resource, scopes)| ResourceSpans {
                resource: Some(otlp_resource(resource)),
                scope_spans: scopes
                    .into_iter()
                    .map(|(scope, spans)| ScopeSpans {
                        scope: Some(otlp_scope(scope)),
                        spans: spans.into_iter().map(otlp_span).collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    };
    let logs = (!trace.logs.is_empty()).then(|| ExportLogsServiceRequest {
        resource_logs: group(&trace.logs, |l| (&l.resource, &l.scope))
            .into_iter()
            .map(|(resource, scopes)| ResourceLogs {
                resource: Some(otlp_resource(resource)),
                scope_logs: scopes
                    .into_iter()
                    .map(|(scope, logs)| ScopeLogs {
                        scope: Some(otlp_scope(scope)),
                        log_records: logs.into_iter().map(otlp_log).collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    });
    (spans, logs)
}

/// The trace as OTLP/JSON lines (traces line, then logs line), replayable by `llmwatch replay`.
/// Each line ends in a newline.
pub fn trace_json_lines(trace: &Trace) -> String {
    let (spans, logs) = trace_requests(trace);
    let mut out = Recorder::encode_traces(&spans).0;
    out.push('\n');
    if let Some(logs) = logs {
        out.push_str(&Recorder::encode_logs(&logs).0);
        out.push('\n');
    }
    out
}

/// One span as a pretty OTLP/JSON object (a `Span` with its resource and scope alongside), for
/// copying. The object is a `ResourceSpans` holding just this span
/// (`{"resource": ..., "scopeSpans": [{"scope": ..., "spans": [span]}]}`), which is OTLP's own
/// way of putting them together: pasted into a file, `llmwatch replay` reads it. Encoded as the
/// recorder encodes (credential-looking values redacted), then indented by two spaces.
pub fn span_json(span: &SpanRecord) -> String {
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(otlp_resource(&span.resource)),
            scope_spans: vec![ScopeSpans {
                scope: Some(otlp_scope(&span.scope)),
                spans: vec![otlp_span(span)],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let line = Recorder::encode_traces(&req).0;
    let resource_spans = line
        .strip_prefix(r#"{"resourceSpans":["#)
        .and_then(|s| s.strip_suffix("]}"))
        .unwrap_or(&line);
    crate::semconv::value::pretty_json(resource_spans).unwrap_or_else(|| resource_spans.to_string())
}

/// Writes `trace_json_lines` to a new file in `dir` named llmwatch-trace-<traceid hex>.jsonl (not
/// overwriting: add -1, -2 ... if it exists) and returns its path.
pub fn export_trace(trace: &Trace, dir: &Path) -> io::Result<PathBuf> {
    let text = trace_json_lines(trace);
    for n in 0u32.. {
        let name = match n {
            0 => format!("llmwatch-trace-{}.jsonl", trace.id),
            n => format!("llmwatch-trace-{}-{n}.jsonl", trace.id),
        };
        let path = dir.join(name);
        // create_new: an existing file (even one made a moment ago) is never overwritten.
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        return Ok(path);
    }
    Err(io::Error::other("no free file name"))
}

/// Records by resource, then scope: runs of consecutive records, see [`trace_requests`].
type Groups<'a, T> = Vec<(&'a Resource, Vec<(&'a Scope, Vec<&'a T>)>)>;

fn group<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> (&'a Arc<Resource>, &'a Scope)) -> Groups<'a, T> {
    let mut groups: Groups<'a, T> = Vec::new();
    for item in items {
        let (resource, scope) = key(item);
        match groups.last_mut() {
            // Equal resources from separate batches are separate allocations.
            Some((r, scopes)) if std::ptr::eq(*r, &**resource) || *r == &**resource => {
                match scopes.last_mut() {
                    Some((s, records)) if *s == scope => records.push(item),
                    _ => scopes.push((scope, vec![item])),
                }
            }
            _ => groups.push((resource, vec![(scope, vec![item])])),
        }
    }
    groups
}

fn otlp_resource(r: &Resource) -> OtlpResource {
    OtlpResource {
        attributes: otlp_attrs(&r.attributes),
        ..Default::default()
    }
}

fn otlp_scope(s: &Scope) -> InstrumentationScope {
    InstrumentationScope {
        name: s.name.to_string(),
        version: s.version.as_deref().unwrap_or_default().to_string(),
        ..Default::default()
    }
}

fn otlp_span(s: &SpanRecord) -> Span {
    let status = (s.status != StatusCode::Unset || s.status_message.is_some()).then(|| Status {
        message: s.status_message.as_deref().unwrap_or_default().to_string(),
        code: match s.status {
            StatusCode::Unset => 0,
            StatusCode::Ok => 1,
            StatusCode::Error => 2,
        },
    });
    Span {
        trace_id: s.trace_id.0.to_vec(),
        span_id: s.span_id.0.to_vec(),
        parent_span_id: s.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        flags: s.flags,
        name: s.name.to_string(),
        kind: match s.kind {
            SpanKind::Unspecified => 0,
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        },
        start_time_unix_nano: s.start_unix_nano,
        end_time_unix_nano: s.end_unix_nano,
        attributes: otlp_attrs(&s.attributes),
        events: s
            .events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: e.time_unix_nano,
                name: e.name.to_string(),
                attributes: otlp_attrs(&e.attributes),
                ..Default::default()
            })
            .collect(),
        links: s
            .links
            .iter()
            .map(|l| span::Link {
                trace_id: l.trace_id.0.to_vec(),
                span_id: l.span_id.0.to_vec(),
                attributes: otlp_attrs(&l.attributes),
                ..Default::default()
            })
            .collect(),
        status,
        ..Default::default()
    }
}

fn otlp_log(l: &LogRecord) -> OtlpLogRecord {
    // The converter takes `event_name` from the field, else from an `event.name` attribute;
    // when the attribute already says it, the field is left empty, as the log most likely came.
    let from_attr = super::find_attr(&l.attributes, "event.name").and_then(Value::as_str);
    let event_name = match l.event_name.as_deref() {
        Some(name) if from_attr != Some(name) => name.to_string(),
        _ => String::new(),
    };
    OtlpLogRecord {
        time_unix_nano: l.time_unix_nano,
        observed_time_unix_nano: l.observed_unix_nano,
        severity_number: l.severity_number,
        severity_text: l.severity_text.as_deref().unwrap_or_default().to_string(),
        body: (l.body != Value::Empty).then(|| otlp_value(&l.body)),
        attributes: otlp_attrs(&l.attributes),
        trace_id: l.trace_id.map(|t| t.0.to_vec()).unwrap_or_default(),
        span_id: l.span_id.map(|s| s.0.to_vec()).unwrap_or_default(),
        event_name,
        ..Default::default()
    }
}

fn otlp_attrs(attrs: &[Attr]) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|a| KeyValue {
            key: a.key.to_string(),
            value: Some(otlp_value(&a.value)),
            ..Default::default()
        })
        .collect()
}

fn otlp_value(v: &Value) -> AnyValue {
    use any_value::Value as V;
    let value = match v {
        Value::Str(s) => Some(V::StringValue(s.to_string())),
        Value::Sym(s) => Some(V::StringValue(s.to_string())),
        Value::Bool(b) => Some(V::BoolValue(*b)),
        Value::Int(i) => Some(V::IntValue(*i)),
        Value::Double(d) => Some(V::DoubleValue(*d)),
        Value::Bytes(b) => Some(V::BytesValue(b.to_vec())),
        Value::Array(items) => Some(V::ArrayValue(ArrayValue {
            values: items.iter().map(otlp_value).collect(),
        })),
        Value::Map(attrs) => Some(V::KvlistValue(KeyValueList {
            values: otlp_attrs(attrs),
        })),
        // An AnyValue with no value set is OTLP's empty value (`{}` in JSON).
        Value::Empty => None,
    };
    AnyValue { value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::capture::{CaptureReader, Message};
    use crate::model::{Converter, SpanId, TraceId};
    use crate::store::{StoreLimits, TraceStore};

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// Converts fixture files (trace lines, then log lines) into a store.
    fn store_of(traces: &str, logs: Option<&str>) -> TraceStore {
        let mut c = Converter::default();
        let mut store = TraceStore::new(StoreLimits::default());
        let mut verdicts = Vec::new();
        for line in fixture(traces).lines().filter(|l| !l.trim().is_empty()) {
            let mut spans = Vec::new();
            c.convert_traces(
                serde_json::from_str::<ExportTraceServiceRequest>(line).unwrap(),
                &mut spans,
                &mut verdicts,
            );
            store.insert_spans(spans);
        }
        for line in logs
            .map(fixture)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let mut records = Vec::new();
            c.convert_logs(
                serde_json::from_str::<ExportLogsServiceRequest>(line).unwrap(),
                &mut records,
                &mut verdicts,
            );
            store.insert_logs(records);
        }
        store.insert_verdicts(verdicts);
        store
    }

    /// Converts exported requests again, with a fresh converter, into a fresh store.
    fn reconvert(
        spans: ExportTraceServiceRequest,
        logs: Option<ExportLogsServiceRequest>,
    ) -> (Vec<SpanRecord>, Vec<LogRecord>, TraceStore) {
        let mut c = Converter::default();
        let (mut out_spans, mut out_logs, mut verdicts) = (Vec::new(), Vec::new(), Vec::new());
        c.convert_traces(spans, &mut out_spans, &mut verdicts);
        if let Some(logs) = logs {
            c.convert_logs(logs, &mut out_logs, &mut verdicts);
        }
        let mut store = TraceStore::new(StoreLimits::default());
        store.insert_spans(out_spans.clone());
        store.insert_logs(out_logs.clone());
        store.insert_verdicts(verdicts);
        (out_spans, out_logs, store)
    }

    /// Every field but the memory estimate (which depends on batching) is compared.
    fn assert_spans_eq(got: &[SpanRecord], want: &[SpanRecord]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            let (mut g, mut w) = (g.clone(), w.clone());
            (g.mem_bytes, w.mem_bytes) = (0, 0);
            assert_eq!(g.trace_id, w.trace_id);
            assert_eq!(g.span_id, w.span_id);
            assert_eq!(g.name, w.name, "{}", w.span_id);
            assert_eq!(g.resource, w.resource, "{}", w.span_id);
            assert_eq!(g.attributes, w.attributes, "{}", w.span_id);
            assert_eq!(g.events, w.events, "{}", w.span_id);
            assert_eq!(g.sem, w.sem, "{}", w.span_id);
            assert_eq!(g, w);
        }
    }

    fn assert_logs_eq(got: &[LogRecord], want: &[LogRecord]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            let (mut g, mut w) = (g.clone(), w.clone());
            (g.mem_bytes, w.mem_bytes) = (0, 0);
            assert_eq!(g.attributes, w.attributes);
            assert_eq!(g.body, w.body);
            assert_eq!(g, w);
        }
    }

    /// Exports every trace of the store, converts it again and compares; returns what it saw.
    fn round_trip(store: &TraceStore) -> (usize, usize, usize, usize) {
        let (mut traces, mut spans, mut logs, mut sems) = (0, 0, 0, 0);
        for trace in store.traces_newest_first() {
            let (req, log_req) = trace_requests(trace);
            assert_eq!(log_req.is_some(), !trace.logs.is_empty());
            let (got_spans, got_logs, again) = reconvert(req, log_req);
            assert_spans_eq(&got_spans, &trace.spans);
            assert_logs_eq(&got_logs, &trace.logs);
            let again = again.trace(&trace.id).unwrap();
            assert_eq!(again.verdicts, trace.verdicts);
            traces += 1;
            spans += got_spans.len();
            logs += got_logs.len();
            sems += got_spans.iter().filter(|s| s.sem.is_some()).count();
        }
        (traces, spans, logs, sems)
    }

    #[test]
    fn otel_genai_traces_convert_back_to_the_same_records() {
        let (traces, spans, logs, sems) = round_trip(&store_of("otel_genai.jsonl", None));
        assert_eq!((traces, logs), (2, 0));
        assert!(spans >= 7 && sems >= 4, "{spans} spans, {sems} with semantics");
    }

    #[test]
    fn openinference_traces_convert_back_to_the_same_records() {
        let (traces, spans, _, sems) = round_trip(&store_of("openinference.jsonl", None));
        assert_eq!(traces, 2);
        assert!(spans >= 7 && sems >= 4, "{spans} spans, {sems} with semantics");
    }

    #[test]
    fn evaluation_events_and_logs_convert_back_to_the_same_records() {
        let store = store_of("otel_genai_eval.jsonl", Some("otel_genai_eval.logs.jsonl"));
        let (traces, spans, logs, _) = round_trip(&store);
        assert_eq!((traces, spans, logs), (1, 6, 4));
        let events: usize = store
            .traces_newest_first()
            .flat_map(|t| &t.spans)
            .map(|s| s.events.len())
            .sum();
        // The app's own verdicts (llmwatch's built-in evaluators add theirs beside them).
        let verdicts: usize = store
            .traces_newest_first()
            .flat_map(|t| &t.verdicts)
            .filter(|v| v.source != crate::semconv::VerdictSource::Llmwatch)
            .count();
        assert!(
            events >= 2 && verdicts == 4,
            "{events} events, {verdicts} verdicts"
        );
    }

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    /// A request with every kind of value, a link, an event, two resources and two scopes, and
    /// logs with and without ids: what the fixtures do not exercise.
    fn synthetic() -> (ExportTraceServiceRequest, ExportLogsServiceRequest) {
        use any_value::Value as V;
        let all_values = vec![
            kv("s", V::StringValue("text ✓ \"quoted\"\n".into())),
            kv("gen_ai.request.model", V::StringValue("gpt-4o".into())),
            kv("b", V::BoolValue(true)),
            kv("i", V::IntValue(-9_007_199_254_740_993)),
            kv("d", V::DoubleValue(0.1 + 0.2)),
            kv("bytes", V::BytesValue(vec![0, 1, 254, 255])),
            kv(
                "arr",
                V::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(V::IntValue(1)),
                        },
                        AnyValue { value: None },
                    ],
                }),
            ),
            kv(
                "map",
                V::KvlistValue(KeyValueList {
                    values: vec![kv("tool.name", V::StringValue("search".into()))],
                }),
            ),
            KeyValue {
                key: "empty".into(),
                value: None,
                ..Default::default()
            },
        ];
        let resource = |service: &str| {
            Some(OtlpResource {
                attributes: vec![
                    kv("service.name", V::StringValue(service.into())),
                    kv("host", V::StringValue("h1".into())),
                ],
                ..Default::default()
            })
        };
        let span = |id: u8, parent: u8| Span {
            trace_id: vec![7; 16],
            span_id: vec![id; 8],
            parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
            flags: 0x301,
            name: format!("span {id}"),
            kind: i32::from(id % 6),
            start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(id),
            end_time_unix_nano: 1_700_000_001_000_000_000,
            attributes: all_values.clone(),
            events: vec![span::Event {
                time_unix_nano: 1_700_000_000_500_000_000,
                name: "exception".into(),
                attributes: all_values.clone(),
                ..Default::default()
            }],
            links: vec![span::Link {
                trace_id: vec![9; 16],
                span_id: vec![8; 8],
                attributes: vec![kv("why", V::StringValue("follows".into()))],
                ..Default::default()
            }],
            status: Some(Status {
                message: if id == 2 { "boom".into() } else { String::new() },
                code: i32::from(id % 3),
            }),
            ..Default::default()
        };
        let scope = |name: &str, version: &str| {
            Some(InstrumentationScope {
                name: name.into(),
                version: version.into(),
                ..Default::default()
            })
        };
        let spans = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: resource("svc-a"),
                    scope_spans: vec![
                        ScopeSpans {
                            scope: scope("lib", "1.0"),
                            spans: vec![span(1, 0), span(2, 1)],
                            ..Default::default()
                        },
                        ScopeSpans {
                            scope: scope("other", ""),
                            spans: vec![span(3, 1)],
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
                ResourceSpans {
                    resource: None,
                    scope_spans: vec![ScopeSpans {
                        scope: None,
                        spans: vec![span(4, 3), span(5, 4)],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ],
        };
        let log = |span: u8, event_name: &str, attr: Option<&str>| OtlpLogRecord {
            time_unix_nano: if span == 0 { 0 } else { 1_700_000_000_600_000_000 },
            observed_time_unix_nano: 1_700_000_000_700_000_000,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(V::KvlistValue(KeyValueList {
                    values: all_values.clone(),
                })),
            }),
            attributes: attr
                .map(|a| vec![kv("event.name", V::StringValue(a.into()))])
                .unwrap_or_default(),
            trace_id: vec![7; 16],
            span_id: if span == 0 { vec![] } else { vec![span; 8] },
            event_name: event_name.into(),
            ..Default::default()
        };
        let logs = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: resource("svc-a"),
                scope_logs: vec![ScopeLogs {
                    scope: scope("lib", "1.0"),
                    log_records: vec![
                        log(2, "gen_ai.client.inference.operation.details", None),
                        log(3, "", Some("legacy.event")),
                        log(0, "new.name", Some("old.name")),
                        OtlpLogRecord {
                            body: None,
                            ..log(1, "", None)
                        },
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        (spans, logs)
    }

    fn synthetic_store() -> TraceStore {
        let (spans, logs) = synthetic();
        let (spans, logs, _) = reconvert(spans, Some(logs));
        let mut store = TraceStore::new(StoreLimits::default());
        store.insert_spans(spans);
        store.insert_logs(logs);
        store
    }

    #[test]
    fn every_kind_of_value_link_event_and_log_converts_back() {
        let store = synthetic_store();
        let trace = store.trace(&TraceId([7; 16])).unwrap();
        assert_eq!((trace.spans.len(), trace.logs.len()), (5, 4));
        assert_eq!(trace.spans[3].service(), "unknown_service");
        assert!(matches!(trace.spans[0].attributes[1].value, Value::Sym(_)));
        assert_eq!(trace.logs[2].event_name.as_deref(), Some("new.name"));
        assert_eq!(trace.logs[3].body, Value::Empty);
        round_trip(&store);

        // Through the file too: bytes as base64, int64 as strings, doubles exactly.
        let dir = tempfile::tempdir().unwrap();
        let path = export_trace(trace, dir.path()).unwrap();
        let mut messages = CaptureReader::open(&path).unwrap().map(|r| r.unwrap().message);
        let (Some(Message::Traces(spans)), Some(Message::Logs(logs)), None) =
            (messages.next(), messages.next(), messages.next())
        else {
            panic!("a traces line, then a logs line")
        };
        let (got_spans, got_logs, _) = reconvert(spans, Some(logs));
        assert_spans_eq(&got_spans, &trace.spans);
        assert_logs_eq(&got_logs, &trace.logs);
    }

    #[test]
    fn groups_are_runs_of_equal_resources_and_scopes_in_trace_order() {
        let store = synthetic_store();
        let trace = store.trace(&TraceId([7; 16])).unwrap();
        let (req, logs) = trace_requests(trace);
        let shape: Vec<Vec<usize>> = req
            .resource_spans
            .iter()
            .map(|rs| rs.scope_spans.iter().map(|ss| ss.spans.len()).collect())
            .collect();
        assert_eq!(shape, [vec![2, 1], vec![2]]);
        let logs = logs.unwrap();
        assert_eq!(logs.resource_logs.len(), 1);
        // The log whose event name was only an attribute keeps it there alone.
        let records = &logs.resource_logs[0].scope_logs[0].log_records;
        assert_eq!(records[0].event_name, "gen_ai.client.inference.operation.details");
        assert_eq!(records[1].event_name, "");
        assert_eq!(records[2].event_name, "new.name");

        // Spans of one resource that arrived in separate batches (so held behind different but
        // equal resources) share a group when consecutive; interleaved ones keep their order.
        let mut c = Converter::default();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        c.convert_traces(req.clone(), &mut a, &mut Vec::new());
        c.convert_traces(req, &mut b, &mut Vec::new());
        let regrouped = |batches: [Vec<&SpanRecord>; 4]| {
            let mut store = TraceStore::new(StoreLimits::default());
            for batch in batches {
                store.insert_spans(batch.into_iter().cloned());
            }
            let (req, _) = trace_requests(store.trace(&TraceId([7; 16])).unwrap());
            req.resource_spans
                .iter()
                .map(|rs| {
                    rs.scope_spans
                        .iter()
                        .map(|ss| ss.spans.iter().map(|s| s.span_id[0]).collect())
                        .collect()
                })
                .collect::<Vec<Vec<Vec<u8>>>>()
        };
        assert!(!Arc::ptr_eq(&a[0].resource, &b[1].resource));
        assert_eq!(
            regrouped([vec![&a[0]], vec![&b[1], &b[2]], vec![&a[3]], vec![&b[4]]]),
            [vec![vec![1, 2], vec![3]], vec![vec![4, 5]]]
        );
        assert_eq!(
            regrouped([vec![&a[0]], vec![&a[3]], vec![&b[1], &b[2]], vec![&b[4]]]),
            [
                vec![vec![1]],
                vec![vec![4]],
                vec![vec![2], vec![3]],
                vec![vec![5]]
            ]
        );
    }

    #[test]
    fn export_writes_a_replayable_file_without_overwriting() {
        let store = store_of("otel_genai_eval.jsonl", Some("otel_genai_eval.logs.jsonl"));
        let dir = tempfile::tempdir().unwrap();
        for trace in store.traces_newest_first() {
            let (spans, logs) = trace_requests(trace);
            let first = export_trace(trace, dir.path()).unwrap();
            let second = export_trace(trace, dir.path()).unwrap();
            let third = export_trace(trace, dir.path()).unwrap();
            let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
            assert_eq!(name(&first), format!("llmwatch-trace-{}.jsonl", trace.id));
            assert_eq!(name(&second), format!("llmwatch-trace-{}-1.jsonl", trace.id));
            assert_eq!(name(&third), format!("llmwatch-trace-{}-2.jsonl", trace.id));
            let text = std::fs::read_to_string(&second).unwrap();
            assert_eq!(text, trace_json_lines(trace));
            assert_eq!(text, std::fs::read_to_string(&first).unwrap());

            let messages: Vec<Message> = CaptureReader::open(&first)
                .unwrap()
                .map(|r| r.unwrap().message)
                .collect();
            let mut want = vec![Message::Traces(spans)];
            want.extend(logs.map(Message::Logs));
            assert_eq!(messages, want);
        }
        assert!(
            export_trace(
                store.traces_newest_first().next().unwrap(),
                &dir.path().join("missing")
            )
            .is_err()
        );
    }

    #[test]
    fn a_trace_without_logs_is_one_line() {
        let store = store_of("otel_genai.jsonl", None);
        let trace = store.traces_newest_first().next().unwrap();
        let text = trace_json_lines(trace);
        assert_eq!(text.lines().count(), 1);
        assert!(text.starts_with(r#"{"resourceSpans":[{"resource":"#) && text.ends_with("}\n"));
        assert!(text.contains(&format!(r#""traceId":"{}""#, trace.id)));
    }

    #[test]
    fn span_json_is_pretty_otlp_json_with_resource_and_scope() {
        let store = store_of("otel_genai.jsonl", None);
        let trace = store.traces_newest_first().next().unwrap();
        let span = trace.spans.iter().find(|s| s.parent_span_id.is_some()).unwrap();
        let text = span_json(span);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(json["resource"]["attributes"].is_array());
        assert_eq!(json["scopeSpans"][0]["scope"]["name"], &*span.scope.name);
        let s = &json["scopeSpans"][0]["spans"][0];
        assert_eq!(s["spanId"], span.span_id.to_string());
        assert_eq!(s["traceId"], span.trace_id.to_string());
        assert_eq!(s["parentSpanId"], span.parent_span_id.unwrap().to_string());
        assert!(text.contains(&format!(r#""spanId": "{}""#, span.span_id)));
        assert!(
            text.starts_with("{\n  \"resource\": {\n    \"attributes\": [\n"),
            "{text}"
        );
        assert!(text.ends_with("\n}"));

        // Pasted into a file, replay reads it back as the span.
        let reader = CaptureReader::from_reader("<paste>", Box::new(std::io::Cursor::new(text)), None);
        let records: Vec<_> = reader.unwrap().map(|r| r.unwrap().message).collect();
        let [Message::Traces(req)] = &records[..] else {
            panic!("{records:?}")
        };
        let (got, _, _) = reconvert(req.clone(), None);
        assert_spans_eq(&got, std::slice::from_ref(span));
    }

    #[test]
    fn ids_are_written_as_held() {
        let store = synthetic_store();
        let trace = store.trace(&TraceId([7; 16])).unwrap();
        let (req, _) = trace_requests(trace);
        let root = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(root.parent_span_id, Vec::<u8>::new());
        assert_eq!(root.span_id, SpanId([1; 8]).0.to_vec());
        assert_eq!(root.status.as_ref().map(|s| s.code), Some(1));
    }
}
