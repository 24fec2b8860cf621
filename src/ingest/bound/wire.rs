//! A walk of the protobuf wire format of an OTLP export request that counts what decoding it
//! would allocate, without decoding it: each repeated message is one element of a `Vec` of its
//! decoded struct, each repeated string a `String`, each packed varint a `u64`. Strings and
//! bytes decode to at most their own length, so the request's length covers them.
//!
//! The walk allocates nothing and reads each byte once. It follows prost's rules where they
//! matter for the count (nesting limited to 100 levels, groups refused) and stops at the first
//! malformed field, which prost would refuse too.

use super::signal::Signal;
use opentelemetry_proto::tonic::common::v1::{AnyValue, EntityRef, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, SummaryDataPoint,
};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

/// prost's recursion limit: deeper requests fail to decode anyway.
const MAX_DEPTH: u32 = 100;

/// The messages of the OTLP schema whose fields the walk follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    TracesRequest,
    ResourceSpans,
    ScopeSpans,
    Span,
    Event,
    Link,
    LogsRequest,
    ResourceLogs,
    ScopeLogs,
    LogRecord,
    MetricsRequest,
    ResourceMetrics,
    ScopeMetrics,
    Metric,
    /// Gauge, Sum, Histogram, ExponentialHistogram and Summary: field 1 holds their points.
    Points(Point),
    NumberPoint,
    HistogramPoint,
    ExpHistogramPoint,
    Buckets,
    SummaryPoint,
    Exemplar,
    Resource,
    Scope,
    KeyValue,
    AnyValue,
    /// ArrayValue (values: AnyValue) and KeyValueList (values: KeyValue).
    ArrayValue,
    KvList,
    EntityRef,
    /// A message of scalars only (ValueAtQuantile).
    Leaf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    Number,
    Histogram,
    ExpHistogram,
    Summary,
}

/// What a field decodes to.
enum Field {
    /// One element of a `Vec` of this message per occurrence.
    Repeated(Msg, usize),
    /// A message held inline (no allocation of its own), walked for what it holds.
    Single(Msg),
    /// One `String` per occurrence.
    RepeatedString,
    /// `u64`s, packed (8 bytes a wire byte at most) or one per occurrence.
    RepeatedVarint,
    /// Scalars, strings and bytes: covered by the request's length.
    Plain,
}

/// The decoded size of each repeated element the walk counts, shared with the borrowed reader
/// (`ingest::otlp_proto`), which counts the same elements as it reads them.
pub(crate) mod sizes {
    use super::*;
    pub const RESOURCE_SPANS: usize = size_of::<ResourceSpans>();
    pub const SCOPE_SPANS: usize = size_of::<ScopeSpans>();
    pub const SPAN: usize = size_of::<Span>();
    pub const EVENT: usize = size_of::<Event>();
    pub const LINK: usize = size_of::<Link>();
    pub const RESOURCE_LOGS: usize = size_of::<ResourceLogs>();
    pub const SCOPE_LOGS: usize = size_of::<ScopeLogs>();
    pub const LOG_RECORD: usize = size_of::<LogRecord>();
    pub const KEY_VALUE: usize = size_of::<KeyValue>();
    pub const ANY_VALUE: usize = size_of::<AnyValue>();
    pub const ENTITY_REF: usize = size_of::<EntityRef>();
    pub const STRING: usize = size_of::<String>();
}

fn field(msg: Msg, number: u64) -> Field {
    use Field::{Plain, Repeated, RepeatedString, RepeatedVarint, Single};
    let kv = Repeated(Msg::KeyValue, sizes::KEY_VALUE);
    match (msg, number) {
        (Msg::TracesRequest, 1) => Repeated(Msg::ResourceSpans, sizes::RESOURCE_SPANS),
        (Msg::ResourceSpans | Msg::ResourceLogs | Msg::ResourceMetrics, 1) => Single(Msg::Resource),
        (Msg::ResourceSpans, 2) => Repeated(Msg::ScopeSpans, sizes::SCOPE_SPANS),
        (Msg::ScopeSpans | Msg::ScopeLogs | Msg::ScopeMetrics, 1) => Single(Msg::Scope),
        (Msg::ScopeSpans, 2) => Repeated(Msg::Span, sizes::SPAN),
        (Msg::Span, 9) | (Msg::Event, 3) | (Msg::Link, 4) => kv,
        (Msg::Span, 11) => Repeated(Msg::Event, sizes::EVENT),
        (Msg::Span, 13) => Repeated(Msg::Link, sizes::LINK),
        (Msg::LogsRequest, 1) => Repeated(Msg::ResourceLogs, sizes::RESOURCE_LOGS),
        (Msg::ResourceLogs, 2) => Repeated(Msg::ScopeLogs, sizes::SCOPE_LOGS),
        (Msg::ScopeLogs, 2) => Repeated(Msg::LogRecord, sizes::LOG_RECORD),
        (Msg::LogRecord, 5) => Single(Msg::AnyValue),
        (Msg::LogRecord, 6) => kv,
        (Msg::MetricsRequest, 1) => Repeated(Msg::ResourceMetrics, size_of::<ResourceMetrics>()),
        (Msg::ResourceMetrics, 2) => Repeated(Msg::ScopeMetrics, size_of::<ScopeMetrics>()),
        (Msg::ScopeMetrics, 2) => Repeated(Msg::Metric, size_of::<Metric>()),
        (Msg::Metric, 5 | 7) => Single(Msg::Points(Point::Number)),
        (Msg::Metric, 9) => Single(Msg::Points(Point::Histogram)),
        (Msg::Metric, 10) => Single(Msg::Points(Point::ExpHistogram)),
        (Msg::Metric, 11) => Single(Msg::Points(Point::Summary)),
        (Msg::Metric, 12) => kv,
        (Msg::Points(Point::Number), 1) => Repeated(Msg::NumberPoint, size_of::<NumberDataPoint>()),
        (Msg::Points(Point::Histogram), 1) => Repeated(Msg::HistogramPoint, size_of::<HistogramDataPoint>()),
        (Msg::Points(Point::ExpHistogram), 1) => {
            Repeated(Msg::ExpHistogramPoint, size_of::<ExponentialHistogramDataPoint>())
        }
        (Msg::Points(Point::Summary), 1) => Repeated(Msg::SummaryPoint, size_of::<SummaryDataPoint>()),
        (Msg::NumberPoint | Msg::SummaryPoint, 7) | (Msg::HistogramPoint, 9) => kv,
        (Msg::ExpHistogramPoint, 1) | (Msg::Exemplar, 7) => kv,
        (Msg::NumberPoint, 5) | (Msg::HistogramPoint, 8) | (Msg::ExpHistogramPoint, 11) => {
            Repeated(Msg::Exemplar, size_of::<Exemplar>())
        }
        (Msg::ExpHistogramPoint, 8 | 9) => Single(Msg::Buckets),
        (Msg::Buckets, 2) => RepeatedVarint,
        (Msg::SummaryPoint, 6) => Repeated(Msg::Leaf, size_of::<ValueAtQuantile>()),
        (Msg::Resource, 1) | (Msg::Scope, 3) => kv,
        (Msg::Resource, 3) => Repeated(Msg::EntityRef, sizes::ENTITY_REF),
        (Msg::EntityRef, 3 | 4) => RepeatedString,
        (Msg::KeyValue, 2) => Single(Msg::AnyValue),
        (Msg::AnyValue, 5) => Single(Msg::ArrayValue),
        (Msg::AnyValue, 6) => Single(Msg::KvList),
        (Msg::ArrayValue, 1) => Repeated(Msg::AnyValue, sizes::ANY_VALUE),
        (Msg::KvList, 1) => kv,
        _ => Plain,
    }
}

/// Why the walk stopped: the request is not valid protobuf (prost would refuse it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated or overlong varint")]
    Varint,
    #[error("field runs past the end of its message")]
    Truncated,
    #[error("invalid wire type {0}")]
    WireType(u64),
    #[error("field number 0")]
    FieldZero,
    #[error("nested more than {MAX_DEPTH} levels")]
    TooDeep,
}

/// The bytes decoding would allocate beyond the request itself (the sum of the decoded
/// structs), and how many repeated elements make it up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub elements: u64,
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, n: u64, size: usize) {
        self.elements += n;
        self.bytes = self.bytes.saturating_add(n.saturating_mul(size as u64));
    }
}

/// Walks an export request of `signal` and tallies what decoding it would allocate.
pub fn walk(signal: Signal, bytes: &[u8]) -> Result<Tally, WireError> {
    let root = match signal {
        Signal::Traces => Msg::TracesRequest,
        Signal::Logs => Msg::LogsRequest,
        Signal::Metrics => Msg::MetricsRequest,
    };
    let mut tally = Tally::default();
    walk_message(root, bytes, 0, &mut tally)?;
    Ok(tally)
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let &b = bytes.get(*at).ok_or(WireError::Varint)?;
        *at += 1;
        if shift == 63 && b > 1 {
            return Err(WireError::Varint);
        }
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError::Varint)
}

fn walk_message(msg: Msg, bytes: &[u8], depth: u32, tally: &mut Tally) -> Result<(), WireError> {
    if depth >= MAX_DEPTH {
        return Err(WireError::TooDeep);
    }
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let number = key >> 3;
        if number == 0 {
            return Err(WireError::FieldZero);
        }
        let kind = field(msg, number);
        match key & 7 {
            0 => {
                varint(bytes, &mut at)?;
                if let Field::RepeatedVarint = kind {
                    tally.add(1, size_of::<u64>());
                }
            }
            1 => at = skip(bytes, at, 8)?,
            5 => at = skip(bytes, at, 4)?,
            2 => {
                let len = varint(bytes, &mut at)?;
                let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
                let end = at.checked_add(len).filter(|&e| e <= bytes.len());
                let end = end.ok_or(WireError::Truncated)?;
                let body = &bytes[at..end];
                match kind {
                    Field::Repeated(child, size) => {
                        tally.add(1, size);
                        walk_message(child, body, depth + 1, tally)?;
                    }
                    Field::Single(child) => walk_message(child, body, depth + 1, tally)?,
                    Field::RepeatedString => tally.add(1, sizes::STRING),
                    // Packed: each varint takes a byte at least.
                    Field::RepeatedVarint => tally.add(len as u64, size_of::<u64>()),
                    Field::Plain => {}
                }
                at = end;
            }
            other => return Err(WireError::WireType(other)),
        }
    }
    Ok(())
}

fn skip(bytes: &[u8], at: usize, n: usize) -> Result<usize, WireError> {
    at.checked_add(n)
        .filter(|&e| e <= bytes.len())
        .ok_or(WireError::Truncated)
}
