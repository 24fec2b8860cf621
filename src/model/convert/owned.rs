//! opentelemetry-proto's trace and log requests moved into the [`super::request`] types that
//! conversion reads (strings and buffers moved, not copied), and back (for `--record` and
//! `--forward` of a request that arrived as OTLP/JSON).

use super::request::{
    AnyValue, Event, Id, KeyValue, Link, LogRecord, LogsRequest, Resource, ResourceLogs, ResourceSpans,
    Scope, ScopeLogs, ScopeSpans, Span, Status, TracesRequest,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as otlp_common;
use opentelemetry_proto::tonic::logs::v1 as otlp_logs;
use opentelemetry_proto::tonic::resource::v1 as otlp_resource;
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use std::borrow::Cow;

/// Moves each element through `f` (in place when the layouts allow).
fn map<T, U>(v: Vec<T>, f: impl FnMut(T) -> U) -> Vec<U> {
    v.into_iter().map(f).collect()
}

fn text(s: Cow<'_, str>) -> String {
    s.into_owned()
}

impl From<ExportTraceServiceRequest> for TracesRequest<'static> {
    fn from(req: ExportTraceServiceRequest) -> Self {
        TracesRequest {
            resource_spans: map(req.resource_spans, |rs| ResourceSpans {
                resource: rs.resource.map(resource),
                scope_spans: map(rs.scope_spans, |ss| ScopeSpans {
                    scope: ss.scope.map(scope),
                    spans: map(ss.spans, |s| Box::new(span(s))),
                    schema_url: ss.schema_url.into(),
                }),
                schema_url: rs.schema_url.into(),
            }),
        }
    }
}

impl From<ExportLogsServiceRequest> for LogsRequest<'static> {
    fn from(req: ExportLogsServiceRequest) -> Self {
        LogsRequest {
            resource_logs: map(req.resource_logs, |rl| ResourceLogs {
                resource: rl.resource.map(resource),
                scope_logs: map(rl.scope_logs, |sl| ScopeLogs {
                    scope: sl.scope.map(scope),
                    log_records: map(sl.log_records, log_record),
                    schema_url: sl.schema_url.into(),
                }),
                schema_url: rl.schema_url.into(),
            }),
        }
    }
}

fn resource(r: otlp_resource::Resource) -> Resource<'static> {
    Resource {
        attributes: map(r.attributes, key_value),
        dropped_attributes_count: r.dropped_attributes_count,
        entity_refs: r.entity_refs,
    }
}

fn scope(s: otlp_common::InstrumentationScope) -> Scope<'static> {
    Scope {
        name: s.name.into(),
        version: s.version.into(),
        attributes: map(s.attributes, key_value),
        dropped_attributes_count: s.dropped_attributes_count,
    }
}

fn span(s: otlp_trace::Span) -> Span<'static> {
    Span {
        trace_id: Id::from_vec(s.trace_id),
        span_id: Id::from_vec(s.span_id),
        trace_state: s.trace_state.into(),
        parent_span_id: Id::from_vec(s.parent_span_id),
        flags: s.flags,
        name: s.name.into(),
        kind: s.kind,
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: map(s.attributes, key_value),
        dropped_attributes_count: s.dropped_attributes_count,
        events: map(s.events, |e| Event {
            time_unix_nano: e.time_unix_nano,
            name: e.name.into(),
            attributes: map(e.attributes, key_value),
            dropped_attributes_count: e.dropped_attributes_count,
        }),
        dropped_events_count: s.dropped_events_count,
        links: map(s.links, |l| Link {
            trace_id: Id::from_vec(l.trace_id),
            span_id: Id::from_vec(l.span_id),
            trace_state: l.trace_state.into(),
            attributes: map(l.attributes, key_value),
            dropped_attributes_count: l.dropped_attributes_count,
            flags: l.flags,
        }),
        dropped_links_count: s.dropped_links_count,
        status: s.status.map(|st| Status {
            message: st.message.into(),
            code: st.code,
        }),
    }
}

fn log_record(l: otlp_logs::LogRecord) -> LogRecord<'static> {
    LogRecord {
        time_unix_nano: l.time_unix_nano,
        observed_time_unix_nano: l.observed_time_unix_nano,
        severity_number: l.severity_number,
        severity_text: l.severity_text.into(),
        body: l.body.map(any_value),
        attributes: map(l.attributes, key_value),
        dropped_attributes_count: l.dropped_attributes_count,
        flags: l.flags,
        trace_id: Id::from_vec(l.trace_id),
        span_id: Id::from_vec(l.span_id),
        event_name: l.event_name.into(),
    }
}

fn key_value(kv: otlp_common::KeyValue) -> KeyValue<'static> {
    KeyValue {
        key: kv.key.into(),
        value: kv.value.map(any_value),
        key_strindex: kv.key_strindex,
    }
}

fn any_value(v: otlp_common::AnyValue) -> AnyValue<'static> {
    use otlp_common::any_value::Value as V;
    match v.value {
        None => AnyValue::Empty,
        Some(V::StringValue(s)) => AnyValue::String(s.into()),
        Some(V::BoolValue(b)) => AnyValue::Bool(b),
        Some(V::IntValue(i)) => AnyValue::Int(i),
        Some(V::DoubleValue(d)) => AnyValue::Double(d),
        Some(V::ArrayValue(a)) => AnyValue::Array(map(a.values, any_value)),
        Some(V::KvlistValue(l)) => AnyValue::Kvlist(map(l.values, key_value)),
        Some(V::BytesValue(b)) => AnyValue::Bytes(b),
        Some(V::StringValueStrindex(i)) => AnyValue::StringStrindex(i),
    }
}

impl From<TracesRequest<'_>> for ExportTraceServiceRequest {
    fn from(req: TracesRequest<'_>) -> Self {
        ExportTraceServiceRequest {
            resource_spans: map(req.resource_spans, |rs| otlp_trace::ResourceSpans {
                resource: rs.resource.map(owned_resource),
                scope_spans: map(rs.scope_spans, |ss| otlp_trace::ScopeSpans {
                    scope: ss.scope.map(owned_scope),
                    spans: map(ss.spans, |s| owned_span(*s)),
                    schema_url: text(ss.schema_url),
                }),
                schema_url: text(rs.schema_url),
            }),
        }
    }
}

impl From<LogsRequest<'_>> for ExportLogsServiceRequest {
    fn from(req: LogsRequest<'_>) -> Self {
        ExportLogsServiceRequest {
            resource_logs: map(req.resource_logs, |rl| otlp_logs::ResourceLogs {
                resource: rl.resource.map(owned_resource),
                scope_logs: map(rl.scope_logs, |sl| otlp_logs::ScopeLogs {
                    scope: sl.scope.map(owned_scope),
                    log_records: map(sl.log_records, owned_log_record),
                    schema_url: text(sl.schema_url),
                }),
                schema_url: text(rl.schema_url),
            }),
        }
    }
}

fn owned_resource(r: Resource) -> otlp_resource::Resource {
    otlp_resource::Resource {
        attributes: map(r.attributes, owned_key_value),
        dropped_attributes_count: r.dropped_attributes_count,
        entity_refs: r.entity_refs,
    }
}

fn owned_scope(s: Scope) -> otlp_common::InstrumentationScope {
    otlp_common::InstrumentationScope {
        name: text(s.name),
        version: text(s.version),
        attributes: map(s.attributes, owned_key_value),
        dropped_attributes_count: s.dropped_attributes_count,
    }
}

fn owned_span(s: Span) -> otlp_trace::Span {
    otlp_trace::Span {
        trace_id: s.trace_id.into_vec(),
        span_id: s.span_id.into_vec(),
        trace_state: text(s.trace_state),
        parent_span_id: s.parent_span_id.into_vec(),
        flags: s.flags,
        name: text(s.name),
        kind: s.kind,
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: map(s.attributes, owned_key_value),
        dropped_attributes_count: s.dropped_attributes_count,
        events: map(s.events, |e| otlp_trace::span::Event {
            time_unix_nano: e.time_unix_nano,
            name: text(e.name),
            attributes: map(e.attributes, owned_key_value),
            dropped_attributes_count: e.dropped_attributes_count,
        }),
        dropped_events_count: s.dropped_events_count,
        links: map(s.links, |l| otlp_trace::span::Link {
            trace_id: l.trace_id.into_vec(),
            span_id: l.span_id.into_vec(),
            trace_state: text(l.trace_state),
            attributes: map(l.attributes, owned_key_value),
            dropped_attributes_count: l.dropped_attributes_count,
            flags: l.flags,
        }),
        dropped_links_count: s.dropped_links_count,
        status: s.status.map(|st| otlp_trace::Status {
            message: text(st.message),
            code: st.code,
        }),
    }
}

fn owned_log_record(l: LogRecord) -> otlp_logs::LogRecord {
    otlp_logs::LogRecord {
        time_unix_nano: l.time_unix_nano,
        observed_time_unix_nano: l.observed_time_unix_nano,
        severity_number: l.severity_number,
        severity_text: text(l.severity_text),
        body: l.body.map(owned_any_value),
        attributes: map(l.attributes, owned_key_value),
        dropped_attributes_count: l.dropped_attributes_count,
        flags: l.flags,
        trace_id: l.trace_id.into_vec(),
        span_id: l.span_id.into_vec(),
        event_name: text(l.event_name),
    }
}

fn owned_key_value(kv: KeyValue) -> otlp_common::KeyValue {
    otlp_common::KeyValue {
        key: text(kv.key),
        value: kv.value.map(owned_any_value),
        key_strindex: kv.key_strindex,
    }
}

fn owned_any_value(v: AnyValue) -> otlp_common::AnyValue {
    use otlp_common::any_value::Value as V;
    let value = match v {
        AnyValue::Empty => None,
        AnyValue::String(s) => Some(V::StringValue(text(s))),
        AnyValue::Bool(b) => Some(V::BoolValue(b)),
        AnyValue::Int(i) => Some(V::IntValue(i)),
        AnyValue::Double(d) => Some(V::DoubleValue(d)),
        AnyValue::Array(a) => Some(V::ArrayValue(otlp_common::ArrayValue {
            values: map(a, owned_any_value),
        })),
        AnyValue::Kvlist(l) => Some(V::KvlistValue(otlp_common::KeyValueList {
            values: map(l, owned_key_value),
        })),
        AnyValue::Bytes(b) => Some(V::BytesValue(b)),
        AnyValue::StringStrindex(i) => Some(V::StringValueStrindex(i)),
    };
    otlp_common::AnyValue { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_moved_there_and_back_is_unchanged() {
        let line = include_str!("../../../tests/fixtures/otel_genai.jsonl")
            .lines()
            .next()
            .unwrap();
        let req: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
        let there = TracesRequest::from(req.clone());
        assert_eq!(ExportTraceServiceRequest::from(there), req);
    }
}
