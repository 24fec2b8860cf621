//! OTLP/JSON decoding of trace and log export requests, the costly part of reading a capture.
//!
//! opentelemetry-proto's own `Deserialize` (feature `with-serde`) costs about ten times what
//! tokenising the JSON does: every `AnyValue` is buffered whole into serde's `Content` before it
//! is read (a `#[serde(flatten)]` field), its keys are allocated as `String`s, and `intValue`
//! goes through an untagged enum (buffered again). The visitors here read the same fields
//! straight into the same opentelemetry-proto types, with borrowed keys, and nothing else
//! changes downstream: validation, conversion and `--record` see an identical request.
//!
//! # What is accepted
//! Exactly what opentelemetry-proto's `Deserialize` accepts, read to the same values, with one
//! addition (below); [`traces`] and [`logs`] check this themselves: whatever the visitors refuse
//! is decoded again by opentelemetry-proto's `Deserialize`, whose answer (the request, or its
//! error message) stands. So nothing the reference accepted is lost, and errors read as
//! before. The visitors must therefore refuse everything the reference refuses; the tests
//! check both directions against it. The rules they follow (the reference's, through serde
//! derive and opentelemetry-proto's `serializers` module):
//! - lowerCamelCase field names only (a snake_case key is an unknown field); unknown fields are
//!   ignored; a known field twice is an error, except in an `AnyValue`, where the last non-null
//!   value wins;
//! - every field may be missing, except `key` of a `KeyValue` and `values` of an `ArrayValue` or
//!   `KeyValueList`; `null` stands for a missing message (`resource`, `scope`, `status`, `value`,
//!   `body`) or `AnyValue` variant, and is an error anywhere else;
//! - trace and span ids are hex strings (either case, an optional `0x`, empty for none);
//! - the `*UnixNano` times are numbers or decimal strings; enums, counts and `flags` are
//!   numbers only; `intValue` is a number or a decimal string within `i64`;
//! - `bytesValue` is standard base64 with padding;
//! - an `AnyValue` is read whole by the reference (its unknown keys too), so there strings are
//!   checked for valid UTF-8 and nesting is limited to serde_json's 128 levels; elsewhere an
//!   unknown field's value is only skipped (as serde derive does).
//!
//! Objects written as arrays of their fields in order (which serde derive also reads) are left
//! to the reference.
//!
//! The addition: `doubleValue` also reads the strings `"NaN"`, `"Infinity"` and `"-Infinity"`
//! and numbers written as strings, as proto3 JSON (and so OTLP/JSON) prescribes, and as
//! llmwatch's own `--record` writes non-finite doubles; the reference refused the whole line.
//! Metrics stay with the reference decoder.

use crate::model::convert::borrowed;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

mod scan;
#[cfg(test)]
mod tests;

/// Decodes one OTLP/JSON `ExportTraceServiceRequest` (or `TracesData`).
pub fn traces(text: &[u8]) -> Result<ExportTraceServiceRequest, serde_json::Error> {
    fast::<ExportTraceServiceRequest>(text).or_else(|_| serde_json::from_slice(text))
}

/// Decodes one OTLP/JSON `ExportLogsServiceRequest` (or `LogsData`).
pub fn logs(text: &[u8]) -> Result<ExportLogsServiceRequest, serde_json::Error> {
    fast::<ExportLogsServiceRequest>(text).or_else(|_| serde_json::from_slice(text))
}

/// Decodes one OTLP/JSON trace request with its strings borrowed from `text`, for conversion
/// straight into records ([`Converter::convert_borrowed_traces`]). Accepts exactly what
/// [`traces`] accepts without its fallback; on an error, decode with [`traces`] for the
/// reference's answer.
///
/// [`Converter::convert_borrowed_traces`]: crate::model::Converter::convert_borrowed_traces
pub fn borrowed_traces(text: &[u8]) -> Result<borrowed::TracesRequest<'_>, serde_json::Error> {
    match scan::traces(text) {
        Ok(req) => Ok(req),
        Err(scan::GiveUp) => fast(text),
    }
}

/// Decodes one OTLP/JSON log request with its strings borrowed from `text`, for conversion
/// straight into records ([`Converter::convert_borrowed_logs`]); `None` when the text is not of
/// the usual shape (or malformed): decode it with [`logs`] for the reference's answer.
///
/// [`Converter::convert_borrowed_logs`]: crate::model::Converter::convert_borrowed_logs
pub fn borrowed_logs(text: &[u8]) -> Option<borrowed::LogsRequest<'_>> {
    scan::logs(text).ok()
}

/// The visitors alone, without the reference behind them (for the tests).
fn fast<'de, T: Decode<'de>>(text: &'de [u8]) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let value = T::decode(&mut de)?;
    de.end()?;
    Ok(value)
}

/// How one OTLP message is read from JSON.
trait Decode<'de>: Sized {
    fn decode<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

impl<'de, T: Decode<'de>> Decode<'de> for Box<T> {
    fn decode<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::decode(d).map(Box::new)
    }
}

struct Seed<T>(PhantomData<T>);

impl<'de, T: Decode<'de>> DeserializeSeed<'de> for Seed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::decode(d)
    }
}

fn seed<T>() -> Seed<T> {
    Seed(PhantomData)
}

/// A JSON array of `T`; `null` is an error, as for serde's `Vec`.
struct List<T>(PhantomData<T>);

impl<'de, T: Decode<'de>> DeserializeSeed<'de> for List<T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Decode<'de>> Visitor<'de> for List<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(seed::<T>())? {
            out.push(item);
        }
        Ok(out)
    }
}

fn list<T>() -> List<T> {
    List(PhantomData)
}

/// `T` or `null` (`None`).
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

fn nullable<T>() -> Nullable<Seed<T>> {
    Nullable(seed())
}

/// A plain serde value (strings, numbers, opentelemetry-proto types read by their own rules).
struct Plain<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Plain<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(d)
    }
}

fn plain<T>() -> Plain<T> {
    Plain(PhantomData)
}

/// Declares a message's field names: an enum of them plus `Unknown`, read without allocating.
macro_rules! fields {
    ($name:ident { $($key:literal => $var:ident),* $(,)? }) => {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum $name {
            $($var,)*
            Unknown,
        }

        impl FieldBits for $name {
            const UNKNOWN: Self = $name::Unknown;

            fn bit(self) -> u32 {
                1 << (self as u32)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct FieldVisitor;

                impl<'de> Visitor<'de> for FieldVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a field name")
                    }

                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        Ok(match s {
                            $($key => $name::$var,)*
                            _ => $name::Unknown,
                        })
                    }
                }

                d.deserialize_identifier(FieldVisitor)
            }
        }
    };
}

/// The fields of one JSON object, one at a time, refusing a known field given twice (serde
/// derive does). Unknown fields are skipped as serde derive skips them, or, inside an
/// `AnyValue` (`CHECKED`), read in full as the reference reads them there (see [`Checked`]).
struct Fields<A, F, const CHECKED: bool = false> {
    map: A,
    seen: u32,
    _field: PhantomData<F>,
}

impl<'de, A: MapAccess<'de>, F: Deserialize<'de> + FieldBits, const CHECKED: bool> Fields<A, F, CHECKED> {
    fn new(map: A) -> Self {
        Self {
            map,
            seen: 0,
            _field: PhantomData,
        }
    }

    /// The next known field (unknown ones are skipped).
    fn next(&mut self) -> Result<Option<F>, A::Error> {
        while let Some(field) = self.map.next_key::<F>()? {
            if field == F::UNKNOWN {
                if CHECKED {
                    self.map.next_value::<Checked>()?;
                } else {
                    self.map.next_value::<IgnoredAny>()?;
                }
                continue;
            }
            if self.seen & field.bit() != 0 {
                return Err(de::Error::custom("duplicate field"));
            }
            self.seen |= field.bit();
            return Ok(Some(field));
        }
        Ok(None)
    }

    fn value<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    /// Fails unless `field` was read (a field without a default).
    fn require(&self, field: F, name: &'static str) -> Result<(), A::Error> {
        if self.seen & field.bit() == 0 {
            return Err(de::Error::missing_field(name));
        }
        Ok(())
    }
}

trait FieldBits: Copy + Eq {
    const UNKNOWN: Self;
    fn bit(self) -> u32;
}

/// Implements [`Decode`] for a message read as a JSON object by a `visit_map` body. `$ty` may
/// borrow from the text for `'de`.
macro_rules! message {
    ($ty:ty, $expecting:literal, |$map:ident| $body:block) => {
        impl<'de> Decode<'de> for $ty {
            fn decode<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct MessageVisitor<'de>(PhantomData<&'de ()>);

                impl<'de> Visitor<'de> for MessageVisitor<'de> {
                    type Value = $ty;

                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_map<A: MapAccess<'de>>(self, $map: A) -> Result<$ty, A::Error> {
                        $body
                    }
                }

                d.deserialize_map(MessageVisitor(PhantomData))
            }
        }
    };
}

// ------------------------------------------------------------------ requests and envelopes

fields!(TracesField { "resourceSpans" => ResourceSpans });
fields!(LogsField { "resourceLogs" => ResourceLogs });
fields!(ResourceSpansField { "resource" => Resource, "scopeSpans" => ScopeSpans, "schemaUrl" => SchemaUrl });
fields!(ResourceLogsField { "resource" => Resource, "scopeLogs" => ScopeLogs, "schemaUrl" => SchemaUrl });
fields!(ScopeSpansField { "scope" => Scope, "spans" => Spans, "schemaUrl" => SchemaUrl });
fields!(ScopeLogsField { "scope" => Scope, "logRecords" => LogRecords, "schemaUrl" => SchemaUrl });
fields!(ResourceField {
    "attributes" => Attributes,
    "droppedAttributesCount" => DroppedAttributesCount,
    "entityRefs" => EntityRefs,
});
fields!(ScopeField {
    "name" => Name,
    "version" => Version,
    "attributes" => Attributes,
    "droppedAttributesCount" => DroppedAttributesCount,
});

message!(ExportTraceServiceRequest, "an ExportTraceServiceRequest", |map| {
    let mut f = Fields::<_, TracesField>::new(map);
    let mut out = ExportTraceServiceRequest::default();
    while let Some(field) = f.next()? {
        match field {
            TracesField::ResourceSpans => out.resource_spans = f.value(list())?,
            TracesField::Unknown => {}
        }
    }
    Ok(out)
});

message!(ExportLogsServiceRequest, "an ExportLogsServiceRequest", |map| {
    let mut f = Fields::<_, LogsField>::new(map);
    let mut out = ExportLogsServiceRequest::default();
    while let Some(field) = f.next()? {
        match field {
            LogsField::ResourceLogs => out.resource_logs = f.value(list())?,
            LogsField::Unknown => {}
        }
    }
    Ok(out)
});

message!(ResourceSpans, "a ResourceSpans", |map| {
    let mut f = Fields::<_, ResourceSpansField>::new(map);
    let mut out = ResourceSpans::default();
    while let Some(field) = f.next()? {
        match field {
            ResourceSpansField::Resource => out.resource = f.value(nullable())?,
            ResourceSpansField::ScopeSpans => out.scope_spans = f.value(list())?,
            ResourceSpansField::SchemaUrl => out.schema_url = f.value(plain())?,
            ResourceSpansField::Unknown => {}
        }
    }
    Ok(out)
});

message!(ResourceLogs, "a ResourceLogs", |map| {
    let mut f = Fields::<_, ResourceLogsField>::new(map);
    let mut out = ResourceLogs::default();
    while let Some(field) = f.next()? {
        match field {
            ResourceLogsField::Resource => out.resource = f.value(nullable())?,
            ResourceLogsField::ScopeLogs => out.scope_logs = f.value(list())?,
            ResourceLogsField::SchemaUrl => out.schema_url = f.value(plain())?,
            ResourceLogsField::Unknown => {}
        }
    }
    Ok(out)
});

message!(ScopeSpans, "a ScopeSpans", |map| {
    let mut f = Fields::<_, ScopeSpansField>::new(map);
    let mut out = ScopeSpans::default();
    while let Some(field) = f.next()? {
        match field {
            ScopeSpansField::Scope => out.scope = f.value(nullable())?,
            ScopeSpansField::Spans => out.spans = f.value(list())?,
            ScopeSpansField::SchemaUrl => out.schema_url = f.value(plain())?,
            ScopeSpansField::Unknown => {}
        }
    }
    Ok(out)
});

message!(ScopeLogs, "a ScopeLogs", |map| {
    let mut f = Fields::<_, ScopeLogsField>::new(map);
    let mut out = ScopeLogs::default();
    while let Some(field) = f.next()? {
        match field {
            ScopeLogsField::Scope => out.scope = f.value(nullable())?,
            ScopeLogsField::LogRecords => out.log_records = f.value(list())?,
            ScopeLogsField::SchemaUrl => out.schema_url = f.value(plain())?,
            ScopeLogsField::Unknown => {}
        }
    }
    Ok(out)
});

message!(Resource, "a Resource", |map| {
    let mut f = Fields::<_, ResourceField>::new(map);
    let mut out = Resource::default();
    while let Some(field) = f.next()? {
        match field {
            ResourceField::Attributes => out.attributes = f.value(list())?,
            ResourceField::DroppedAttributesCount => out.dropped_attributes_count = f.value(plain())?,
            // Rare, and read by opentelemetry-proto's own rules (every field required).
            ResourceField::EntityRefs => out.entity_refs = f.value(plain::<Vec<EntityRef>>())?,
            ResourceField::Unknown => {}
        }
    }
    Ok(out)
});

message!(InstrumentationScope, "an InstrumentationScope", |map| {
    let mut f = Fields::<_, ScopeField>::new(map);
    let mut out = InstrumentationScope::default();
    while let Some(field) = f.next()? {
        match field {
            ScopeField::Name => out.name = f.value(plain())?,
            ScopeField::Version => out.version = f.value(plain())?,
            ScopeField::Attributes => out.attributes = f.value(list())?,
            ScopeField::DroppedAttributesCount => out.dropped_attributes_count = f.value(plain())?,
            ScopeField::Unknown => {}
        }
    }
    Ok(out)
});

// ------------------------------------------------------------------ spans and log records

fields!(SpanField {
    "traceId" => TraceId,
    "spanId" => SpanId,
    "traceState" => TraceState,
    "parentSpanId" => ParentSpanId,
    "flags" => Flags,
    "name" => Name,
    "kind" => Kind,
    "startTimeUnixNano" => StartTimeUnixNano,
    "endTimeUnixNano" => EndTimeUnixNano,
    "attributes" => Attributes,
    "droppedAttributesCount" => DroppedAttributesCount,
    "events" => Events,
    "droppedEventsCount" => DroppedEventsCount,
    "links" => Links,
    "droppedLinksCount" => DroppedLinksCount,
    "status" => Status,
});
fields!(EventField {
    "timeUnixNano" => TimeUnixNano,
    "name" => Name,
    "attributes" => Attributes,
    "droppedAttributesCount" => DroppedAttributesCount,
});
fields!(LinkField {
    "traceId" => TraceId,
    "spanId" => SpanId,
    "traceState" => TraceState,
    "attributes" => Attributes,
    "droppedAttributesCount" => DroppedAttributesCount,
    "flags" => Flags,
});
fields!(StatusField { "message" => Message, "code" => Code });
fields!(LogRecordField {
    "timeUnixNano" => TimeUnixNano,
    "observedTimeUnixNano" => ObservedTimeUnixNano,
    "severityNumber" => SeverityNumber,
    "severityText" => SeverityText,
    "body" => Body,
    "attributes" => Attributes,
    "droppedAttributesCount" => DroppedAttributesCount,
    "flags" => Flags,
    "traceId" => TraceId,
    "spanId" => SpanId,
    "eventName" => EventName,
});

message!(Span, "a Span", |map| {
    let mut f = Fields::<_, SpanField>::new(map);
    let mut out = Span::default();
    while let Some(field) = f.next()? {
        match field {
            SpanField::TraceId => out.trace_id = f.value(Hex)?,
            SpanField::SpanId => out.span_id = f.value(Hex)?,
            SpanField::TraceState => out.trace_state = f.value(plain())?,
            SpanField::ParentSpanId => out.parent_span_id = f.value(Hex)?,
            SpanField::Flags => out.flags = f.value(plain())?,
            SpanField::Name => out.name = f.value(plain())?,
            SpanField::Kind => out.kind = f.value(plain())?,
            SpanField::StartTimeUnixNano => out.start_time_unix_nano = f.value(UnixNano)?,
            SpanField::EndTimeUnixNano => out.end_time_unix_nano = f.value(UnixNano)?,
            SpanField::Attributes => out.attributes = f.value(list())?,
            SpanField::DroppedAttributesCount => out.dropped_attributes_count = f.value(plain())?,
            SpanField::Events => out.events = f.value(list())?,
            SpanField::DroppedEventsCount => out.dropped_events_count = f.value(plain())?,
            SpanField::Links => out.links = f.value(list())?,
            SpanField::DroppedLinksCount => out.dropped_links_count = f.value(plain())?,
            SpanField::Status => out.status = f.value(nullable())?,
            SpanField::Unknown => {}
        }
    }
    Ok(out)
});

message!(Event, "an Event", |map| {
    let mut f = Fields::<_, EventField>::new(map);
    let mut out = Event::default();
    while let Some(field) = f.next()? {
        match field {
            EventField::TimeUnixNano => out.time_unix_nano = f.value(UnixNano)?,
            EventField::Name => out.name = f.value(plain())?,
            EventField::Attributes => out.attributes = f.value(list())?,
            EventField::DroppedAttributesCount => out.dropped_attributes_count = f.value(plain())?,
            EventField::Unknown => {}
        }
    }
    Ok(out)
});

message!(Link, "a Link", |map| {
    let mut f = Fields::<_, LinkField>::new(map);
    let mut out = Link::default();
    while let Some(field) = f.next()? {
        match field {
            LinkField::TraceId => out.trace_id = f.value(Hex)?,
            LinkField::SpanId => out.span_id = f.value(Hex)?,
            LinkField::TraceState => out.trace_state = f.value(plain())?,
            LinkField::Attributes => out.attributes = f.value(list())?,
            LinkField::DroppedAttributesCount => out.dropped_attributes_count = f.value(plain())?,
            LinkField::Flags => out.flags = f.value(plain())?,
            LinkField::Unknown => {}
        }
    }
    Ok(out)
});

message!(Status, "a Status", |map| {
    let mut f = Fields::<_, StatusField>::new(map);
    let mut out = Status::default();
    while let Some(field) = f.next()? {
        match field {
            StatusField::Message => out.message = f.value(plain())?,
            StatusField::Code => out.code = f.value(plain())?,
            StatusField::Unknown => {}
        }
    }
    Ok(out)
});

message!(LogRecord, "a LogRecord", |map| {
    let mut f = Fields::<_, LogRecordField>::new(map);
    let mut out = LogRecord::default();
    while let Some(field) = f.next()? {
        match field {
            LogRecordField::TimeUnixNano => out.time_unix_nano = f.value(UnixNano)?,
            LogRecordField::ObservedTimeUnixNano => out.observed_time_unix_nano = f.value(UnixNano)?,
            LogRecordField::SeverityNumber => out.severity_number = f.value(plain())?,
            LogRecordField::SeverityText => out.severity_text = f.value(plain())?,
            LogRecordField::Body => out.body = f.value(nullable())?,
            LogRecordField::Attributes => out.attributes = f.value(list())?,
            LogRecordField::DroppedAttributesCount => out.dropped_attributes_count = f.value(plain())?,
            LogRecordField::Flags => out.flags = f.value(plain())?,
            LogRecordField::TraceId => out.trace_id = f.value(Hex)?,
            LogRecordField::SpanId => out.span_id = f.value(Hex)?,
            LogRecordField::EventName => out.event_name = f.value(plain())?,
            LogRecordField::Unknown => {}
        }
    }
    Ok(out)
});

// ------------------------------------------------------------------ attributes and values

fields!(KeyValueField { "key" => Key, "value" => Value, "keyStrindex" => KeyStrindex });
fields!(ValuesField { "values" => Values });
fields!(AnyValueField {
    "stringValue" => StringValue,
    "boolValue" => BoolValue,
    "intValue" => IntValue,
    "doubleValue" => DoubleValue,
    "arrayValue" => ArrayValue,
    "kvlistValue" => KvlistValue,
    "bytesValue" => BytesValue,
});

fn key_value<'de, A: MapAccess<'de>, const CHECKED: bool>(map: A) -> Result<KeyValue, A::Error> {
    let mut f = Fields::<_, KeyValueField, CHECKED>::new(map);
    let mut out = KeyValue::default();
    while let Some(field) = f.next()? {
        match field {
            KeyValueField::Key => out.key = f.value(plain())?,
            KeyValueField::Value => out.value = f.value(nullable())?,
            KeyValueField::KeyStrindex => out.key_strindex = f.value(plain())?,
            KeyValueField::Unknown => {}
        }
    }
    f.require(KeyValueField::Key, "key")?;
    Ok(out)
}

message!(KeyValue, "a KeyValue", |map| { key_value::<_, false>(map) });

/// A `KeyValue` inside a `kvlistValue`, so inside an `AnyValue`.
struct NestedKeyValue(KeyValue);

message!(NestedKeyValue, "a KeyValue", |map| {
    key_value::<_, true>(map).map(NestedKeyValue)
});

message!(ArrayValue, "an ArrayValue", |map| {
    let mut f = Fields::<_, ValuesField, true>::new(map);
    let mut out = ArrayValue::default();
    while let Some(field) = f.next()? {
        match field {
            ValuesField::Values => out.values = f.value(list())?,
            ValuesField::Unknown => {}
        }
    }
    f.require(ValuesField::Values, "values")?;
    Ok(out)
});

message!(KeyValueList, "a KeyValueList", |map| {
    let mut f = Fields::<_, ValuesField, true>::new(map);
    let mut out = KeyValueList::default();
    while let Some(field) = f.next()? {
        match field {
            ValuesField::Values => {
                let values: Vec<NestedKeyValue> = f.value(list())?;
                out.values = values.into_iter().map(|kv| kv.0).collect();
            }
            ValuesField::Unknown => {}
        }
    }
    f.require(ValuesField::Values, "values")?;
    Ok(out)
});

// The reference reads an `AnyValue` object whole (into serde's `Content`) before looking at it:
// its unknown keys are read in full (UTF-8 checked, nesting counted), not skipped, and so is
// everything nested in it, including unknown fields of the `ArrayValue`s and `KeyValue`s inside.
// `Checked` reads them that way. A variant given twice is no error there: the last non-null one
// wins.
message!(AnyValue, "an AnyValue", |map| {
    let mut map = map;
    let mut value = None;
    while let Some(field) = map.next_key::<AnyValueField>()? {
        use any_value::Value as V;
        let v = match field {
            AnyValueField::StringValue => map.next_value::<Option<String>>()?.map(V::StringValue),
            AnyValueField::BoolValue => map.next_value::<Option<bool>>()?.map(V::BoolValue),
            AnyValueField::IntValue => map.next_value_seed(Nullable(Int64))?.map(V::IntValue),
            AnyValueField::DoubleValue => map.next_value_seed(Nullable(Double))?.map(V::DoubleValue),
            AnyValueField::ArrayValue => map.next_value_seed(nullable())?.map(V::ArrayValue),
            AnyValueField::KvlistValue => map.next_value_seed(nullable())?.map(V::KvlistValue),
            AnyValueField::BytesValue => match map.next_value::<Option<String>>()? {
                Some(b64) => Some(V::BytesValue(base64_standard(&b64).map_err(de::Error::custom)?)),
                None => None,
            },
            AnyValueField::Unknown => {
                map.next_value::<Checked>()?;
                None
            }
        };
        if v.is_some() {
            value = v;
        }
    }
    Ok(AnyValue { value })
});

/// Any JSON value read in full and dropped: strings decoded (so checked for UTF-8) and every
/// array or object counted against serde_json's nesting limit, as serde's `Content` reads it.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

// ------------------------------------------------------------------ scalars

/// Hex bytes (trace and span ids), as opentelemetry-proto reads them: `const_hex::decode`.
struct Hex;

impl<'de> DeserializeSeed<'de> for Hex {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Hex {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string representing hex-encoded bytes")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<u8>, E> {
        const_hex::decode(s).map_err(E::custom)
    }
}

/// A `fixed64` time: a non-negative number, or a string that `u64::from_str` reads.
struct UnixNano;

impl<'de> DeserializeSeed<'de> for UnixNano {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UnixNano {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a u64 integer or a string containing a u64 integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<u64, E> {
        s.parse().map_err(E::custom)
    }
}

/// `intValue`: a number within `i64`, or a string that `i64::from_str` reads.
struct Int64;

impl<'de> DeserializeSeed<'de> for Int64 {
    type Value = i64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Int64 {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an i64 integer or a string containing one")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<i64, E> {
        s.parse().map_err(E::custom)
    }
}

/// `doubleValue`: a number, or (proto3 JSON) `"NaN"`, `"Infinity"`, `"-Infinity"` or a number
/// written as a string.
struct Double;

impl<'de> DeserializeSeed<'de> for Double {
    type Value = f64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Double {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, or NaN, Infinity or -Infinity as a string")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<f64, E> {
        match s {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            // A JSON number in quotes, read as serde_json reads numbers (exactly, finite).
            _ if s.trim_ascii() != s => Err(E::custom("not a number")),
            _ => match serde_json::from_str::<serde_json::Number>(s) {
                Ok(n) => n.as_f64().ok_or_else(|| E::custom("not a number")),
                Err(e) => Err(E::custom(e)),
            },
        }
    }
}

/// Standard base64 with padding, as opentelemetry-proto reads `bytesValue` (`base64::decode`).
fn base64_standard(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s)
}

// ------------------------------------------------------------------ borrowed trace requests

// The same fields under the same rules as the trace messages above, into the borrowed types
// conversion reads; fields conversion does not keep are still read and checked, then dropped.

message!(
    borrowed::TracesRequest<'de>,
    "an ExportTraceServiceRequest",
    |map| {
        let mut f = Fields::<_, TracesField>::new(map);
        let mut out = borrowed::TracesRequest::default();
        while let Some(field) = f.next()? {
            match field {
                TracesField::ResourceSpans => out.resource_spans = f.value(list())?,
                TracesField::Unknown => {}
            }
        }
        Ok(out)
    }
);

message!(borrowed::ResourceSpans<'de>, "a ResourceSpans", |map| {
    let mut f = Fields::<_, ResourceSpansField>::new(map);
    let mut out = borrowed::ResourceSpans::default();
    while let Some(field) = f.next()? {
        match field {
            ResourceSpansField::Resource => out.resource = f.value(nullable())?,
            ResourceSpansField::ScopeSpans => out.scope_spans = f.value(list())?,
            ResourceSpansField::SchemaUrl => f.value(AnyText)?,
            ResourceSpansField::Unknown => {}
        }
    }
    Ok(out)
});

message!(borrowed::Resource<'de>, "a Resource", |map| {
    let mut f = Fields::<_, ResourceField>::new(map);
    let mut out = borrowed::Resource::default();
    while let Some(field) = f.next()? {
        match field {
            ResourceField::Attributes => out.attributes = f.value(list())?,
            ResourceField::DroppedAttributesCount => _ = f.value(plain::<u32>())?,
            ResourceField::EntityRefs => _ = f.value(plain::<Vec<EntityRef>>())?,
            ResourceField::Unknown => {}
        }
    }
    Ok(out)
});

message!(borrowed::ScopeSpans<'de>, "a ScopeSpans", |map| {
    let mut f = Fields::<_, ScopeSpansField>::new(map);
    let mut out = borrowed::ScopeSpans::default();
    while let Some(field) = f.next()? {
        match field {
            ScopeSpansField::Scope => out.scope = f.value(nullable())?,
            ScopeSpansField::Spans => out.spans = f.value(list())?,
            ScopeSpansField::SchemaUrl => f.value(AnyText)?,
            ScopeSpansField::Unknown => {}
        }
    }
    Ok(out)
});

message!(borrowed::Scope<'de>, "an InstrumentationScope", |map| {
    let mut f = Fields::<_, ScopeField>::new(map);
    let mut out = borrowed::Scope::default();
    while let Some(field) = f.next()? {
        match field {
            ScopeField::Name => out.name = f.value(Text)?,
            ScopeField::Version => out.version = f.value(Text)?,
            ScopeField::Attributes => _ = f.value(list::<borrowed::KeyValue>())?,
            ScopeField::DroppedAttributesCount => _ = f.value(plain::<u32>())?,
            ScopeField::Unknown => {}
        }
    }
    Ok(out)
});

message!(borrowed::Span<'de>, "a Span", |map| {
    let mut f = Fields::<_, SpanField>::new(map);
    let mut out = borrowed::Span::default();
    while let Some(field) = f.next()? {
        match field {
            SpanField::TraceId => out.trace_id = f.value(IdHex)?,
            SpanField::SpanId => out.span_id = f.value(IdHex)?,
            SpanField::TraceState => f.value(AnyText)?,
            SpanField::ParentSpanId => out.parent_span_id = f.value(IdHex)?,
            SpanField::Flags => out.flags = f.value(plain())?,
            SpanField::Name => out.name = f.value(Text)?,
            SpanField::Kind => out.kind = f.value(plain())?,
            SpanField::StartTimeUnixNano => out.start_time_unix_nano = f.value(UnixNano)?,
            SpanField::EndTimeUnixNano => out.end_time_unix_nano = f.value(UnixNano)?,
            SpanField::Attributes => out.attributes = f.value(list())?,
            SpanField::DroppedAttributesCount => _ = f.value(plain::<u32>())?,
            SpanField::Events => out.events = f.value(list())?,
            SpanField::DroppedEventsCount => _ = f.value(plain::<u32>())?,
            SpanField::Links => out.links = f.value(list())?,
            SpanField::DroppedLinksCount => _ = f.value(plain::<u32>())?,
            SpanField::Status => out.status = f.value(nullable())?,
            SpanField::Unknown => {}
        }
    }
    Ok(out)
});

message!(borrowed::Event<'de>, "an Event", |map| {
    let mut f = Fields::<_, EventField>::new(map);
    let mut out = borrowed::Event::default();
    while let Some(field) = f.next()? {
        match field {
            EventField::TimeUnixNano => out.time_unix_nano = f.value(UnixNano)?,
            EventField::Name => out.name = f.value(Text)?,
            EventField::Attributes => out.attributes = f.value(list())?,
            EventField::DroppedAttributesCount => _ = f.value(plain::<u32>())?,
            EventField::Unknown => {}
        }
    }
    Ok(out)
});

message!(borrowed::Link<'de>, "a Link", |map| {
    let mut f = Fields::<_, LinkField>::new(map);
    let mut out = borrowed::Link::default();
    while let Some(field) = f.next()? {
        match field {
            LinkField::TraceId => out.trace_id = f.value(IdHex)?,
            LinkField::SpanId => out.span_id = f.value(IdHex)?,
            LinkField::TraceState => f.value(AnyText)?,
            LinkField::Attributes => out.attributes = f.value(list())?,
            LinkField::DroppedAttributesCount => _ = f.value(plain::<u32>())?,
            LinkField::Flags => _ = f.value(plain::<u32>())?,
            LinkField::Unknown => {}
        }
    }
    Ok(out)
});

message!(borrowed::Status<'de>, "a Status", |map| {
    let mut f = Fields::<_, StatusField>::new(map);
    let mut out = borrowed::Status::default();
    while let Some(field) = f.next()? {
        match field {
            StatusField::Message => out.message = f.value(Text)?,
            StatusField::Code => out.code = f.value(plain())?,
            StatusField::Unknown => {}
        }
    }
    Ok(out)
});

fn borrowed_key_value<'de, A: MapAccess<'de>, const CHECKED: bool>(
    map: A,
) -> Result<borrowed::KeyValue<'de>, A::Error> {
    let mut f = Fields::<_, KeyValueField, CHECKED>::new(map);
    let mut out = borrowed::KeyValue::default();
    while let Some(field) = f.next()? {
        match field {
            KeyValueField::Key => out.key = f.value(Text)?,
            KeyValueField::Value => out.value = f.value(nullable::<BorrowedAnyValue>())?.and_then(|v| v.0),
            KeyValueField::KeyStrindex => _ = f.value(plain::<i32>())?,
            KeyValueField::Unknown => {}
        }
    }
    f.require(KeyValueField::Key, "key")?;
    Ok(out)
}

message!(borrowed::KeyValue<'de>, "a KeyValue", |map| {
    borrowed_key_value::<_, false>(map)
});

/// A borrowed `KeyValue` inside a `kvlistValue`.
struct NestedBorrowedKeyValue<'de>(borrowed::KeyValue<'de>);

message!(NestedBorrowedKeyValue<'de>, "a KeyValue", |map| {
    borrowed_key_value::<_, true>(map).map(NestedBorrowedKeyValue)
});

/// An `AnyValue` object: its variant, if any.
struct BorrowedAnyValue<'de>(Option<borrowed::AnyValue<'de>>);

/// The `values` of an `ArrayValue`.
struct BorrowedArray<'de>(Vec<Option<borrowed::AnyValue<'de>>>);

/// The `values` of a `KeyValueList`.
struct BorrowedKvlist<'de>(Vec<borrowed::KeyValue<'de>>);

message!(BorrowedAnyValue<'de>, "an AnyValue", |map| {
    let mut map = map;
    let mut value = None;
    while let Some(field) = map.next_key::<AnyValueField>()? {
        use borrowed::AnyValue as V;
        let v = match field {
            AnyValueField::StringValue => map.next_value_seed(Nullable(Text))?.map(V::String),
            AnyValueField::BoolValue => map.next_value::<Option<bool>>()?.map(V::Bool),
            AnyValueField::IntValue => map.next_value_seed(Nullable(Int64))?.map(V::Int),
            AnyValueField::DoubleValue => map.next_value_seed(Nullable(Double))?.map(V::Double),
            AnyValueField::ArrayValue => map
                .next_value_seed(nullable::<BorrowedArray>())?
                .map(|a| V::Array(a.0)),
            AnyValueField::KvlistValue => map
                .next_value_seed(nullable::<BorrowedKvlist>())?
                .map(|l| V::Kvlist(l.0)),
            AnyValueField::BytesValue => match map.next_value_seed(Nullable(Text))? {
                Some(b64) => Some(V::Bytes(base64_standard(&b64).map_err(de::Error::custom)?)),
                None => None,
            },
            AnyValueField::Unknown => {
                map.next_value::<Checked>()?;
                None
            }
        };
        if v.is_some() {
            value = v;
        }
    }
    Ok(BorrowedAnyValue(value))
});

message!(BorrowedArray<'de>, "an ArrayValue", |map| {
    let mut f = Fields::<_, ValuesField, true>::new(map);
    let mut values = Vec::new();
    while let Some(field) = f.next()? {
        match field {
            ValuesField::Values => {
                let items: Vec<BorrowedAnyValue> = f.value(list())?;
                values = items.into_iter().map(|v| v.0).collect();
            }
            ValuesField::Unknown => {}
        }
    }
    f.require(ValuesField::Values, "values")?;
    Ok(BorrowedArray(values))
});

message!(BorrowedKvlist<'de>, "a KeyValueList", |map| {
    let mut f = Fields::<_, ValuesField, true>::new(map);
    let mut values = Vec::new();
    while let Some(field) = f.next()? {
        match field {
            ValuesField::Values => {
                let items: Vec<NestedBorrowedKeyValue> = f.value(list())?;
                values = items.into_iter().map(|kv| kv.0).collect();
            }
            ValuesField::Unknown => {}
        }
    }
    f.require(ValuesField::Values, "values")?;
    Ok(BorrowedKvlist(values))
});

/// A string, borrowed from the text unless it had escapes.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = borrowed::Text<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = borrowed::Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(s.to_owned()))
    }
}

/// A string that is checked (as a `String` field is) and dropped.
struct AnyText;

impl<'de> DeserializeSeed<'de> for AnyText {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for AnyText {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

/// Hex id bytes, decoded as `const_hex::decode` does, kept inline up to 16 bytes.
struct IdHex;

impl<'de> DeserializeSeed<'de> for IdHex {
    type Value = borrowed::Id;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<borrowed::Id, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IdHex {
    type Value = borrowed::Id;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string representing hex-encoded bytes")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<borrowed::Id, E> {
        hex_id(s).map_err(E::custom)
    }
}

/// `const_hex::decode`, into inline bytes when there are at most 16.
fn hex_id(s: &str) -> Result<borrowed::Id, const_hex::FromHexError> {
    let digits = match s.as_bytes() {
        [b'0', b'x' | b'X', rest @ ..] => rest.len(),
        all => all.len(),
    };
    if s.len() % 2 == 0 && digits <= 32 {
        let len = digits / 2;
        let mut bytes = [0; 16];
        // The same checks as `decode`: it strips the one prefix itself and wants `len` bytes.
        const_hex::decode_to_slice(s, &mut bytes[..len])?;
        Ok(borrowed::Id::Inline {
            len: len as u8,
            bytes,
        })
    } else {
        const_hex::decode(s).map(borrowed::Id::Heap)
    }
}
