//! The OTLP trace and log requests that conversion reads: every field of opentelemetry-proto's
//! messages, with strings borrowed from a JSON text (only strings with escapes are allocated)
//! or moved out of opentelemetry-proto's decoded request (`convert::owned`). One conversion serves both;
//! what borrowing saves on OTLP/JSON is the owned request in between: a `String` for every key
//! and name, a `Vec` for every id, and their freeing on another thread.

use opentelemetry_proto::tonic::common::v1::EntityRef;
use std::borrow::Cow;

/// A string of the JSON text: borrowed, or owned when it had escapes (or came owned).
pub type Text<'a> = Cow<'a, str>;

#[derive(Debug, Default, PartialEq)]
pub struct TracesRequest<'a> {
    pub resource_spans: Vec<ResourceSpans<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ResourceSpans<'a> {
    pub resource: Option<Resource<'a>>,
    pub scope_spans: Vec<ScopeSpans<'a>>,
    pub schema_url: Text<'a>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Resource<'a> {
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
    /// Rare, and kept as opentelemetry-proto's own type.
    pub entity_refs: Vec<EntityRef>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ScopeSpans<'a> {
    pub scope: Option<Scope<'a>>,
    /// Boxed: a request's thousand spans would otherwise need one allocation of hundreds of
    /// KiB, fresh (zeroed) memory every time, where boxes reuse small blocks.
    pub spans: Vec<Box<Span<'a>>>,
    pub schema_url: Text<'a>,
}

/// An `InstrumentationScope`.
#[derive(Debug, Default, PartialEq)]
pub struct Scope<'a> {
    pub name: Text<'a>,
    pub version: Text<'a>,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
}

#[derive(Debug, Default, PartialEq)]
pub struct Span<'a> {
    pub trace_id: Id,
    pub span_id: Id,
    pub trace_state: Text<'a>,
    pub parent_span_id: Id,
    pub flags: u32,
    pub name: Text<'a>,
    pub kind: i32,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
    pub events: Vec<Event<'a>>,
    pub dropped_events_count: u32,
    pub links: Vec<Link<'a>>,
    pub dropped_links_count: u32,
    pub status: Option<Status<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Event<'a> {
    pub time_unix_nano: u64,
    pub name: Text<'a>,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
}

#[derive(Debug, Default, PartialEq)]
pub struct Link<'a> {
    pub trace_id: Id,
    pub span_id: Id,
    pub trace_state: Text<'a>,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
    pub flags: u32,
}

#[derive(Debug, Default, PartialEq)]
pub struct Status<'a> {
    pub message: Text<'a>,
    pub code: i32,
}

#[derive(Debug, Default, PartialEq)]
pub struct LogsRequest<'a> {
    pub resource_logs: Vec<ResourceLogs<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ResourceLogs<'a> {
    pub resource: Option<Resource<'a>>,
    pub scope_logs: Vec<ScopeLogs<'a>>,
    pub schema_url: Text<'a>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ScopeLogs<'a> {
    pub scope: Option<Scope<'a>>,
    pub log_records: Vec<LogRecord<'a>>,
    pub schema_url: Text<'a>,
}

#[derive(Debug, Default, PartialEq)]
pub struct LogRecord<'a> {
    pub time_unix_nano: u64,
    pub observed_time_unix_nano: u64,
    pub severity_number: i32,
    pub severity_text: Text<'a>,
    pub body: Option<AnyValue<'a>>,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
    pub flags: u32,
    pub trace_id: Id,
    pub span_id: Id,
    pub event_name: Text<'a>,
}

#[derive(Debug, Default, PartialEq)]
pub struct KeyValue<'a> {
    pub key: Text<'a>,
    /// `None` when the value is missing (or `null`); a value object without a variant is
    /// [`AnyValue::Empty`].
    pub value: Option<AnyValue<'a>>,
    pub key_strindex: i32,
}

#[derive(Debug, PartialEq)]
pub enum AnyValue<'a> {
    /// An `AnyValue` without a variant (`{}`).
    Empty,
    String(Text<'a>),
    Bool(bool),
    Int(i64),
    Double(f64),
    Array(Vec<AnyValue<'a>>),
    Kvlist(Vec<KeyValue<'a>>),
    Bytes(Vec<u8>),
    /// An index into a profiles string table, which spans and logs never have.
    StringStrindex(i32),
}

/// Decoded id bytes, inline up to 16 (every valid id), of any length as decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Id {
    Inline { len: u8, bytes: [u8; 16] },
    Heap(Vec<u8>),
}

impl Default for Id {
    fn default() -> Self {
        Id::Inline {
            len: 0,
            bytes: [0; 16],
        }
    }
}

impl Id {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Id::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Id::Heap(v) => v,
        }
    }

    /// The bytes inline when there are at most 16 (moved, not copied, when there are more).
    pub fn from_vec(v: Vec<u8>) -> Id {
        match Id::from_slice(&v) {
            Some(id) => id,
            None => Id::Heap(v),
        }
    }

    /// The bytes inline, `None` when there are more than 16.
    pub fn from_slice(v: &[u8]) -> Option<Id> {
        let mut bytes = [0; 16];
        bytes.get_mut(..v.len())?.copy_from_slice(v);
        Some(Id::Inline {
            len: v.len() as u8,
            bytes,
        })
    }

    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Id::Inline { .. } => self.as_bytes().to_vec(),
            Id::Heap(v) => v,
        }
    }
}

/// Spans in the request, before validation (what a receiver counts as received).
pub fn count_spans(req: &TracesRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// The earliest span start (as `replay::event_time` reads it from the decoded request).
pub fn event_time(req: &TracesRequest) -> Option<u64> {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.start_time_unix_nano)
        .filter(|t| *t > 0)
        .min()
}

/// Log records in the request, before validation.
pub fn count_logs(req: &LogsRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum()
}

/// The earliest log time (or observed time, for a log without one), as `replay::event_time`
/// reads it from the decoded request.
pub fn logs_event_time(req: &LogsRequest) -> Option<u64> {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .map(|l| crate::model::record::log_event_time(l.time_unix_nano, l.observed_time_unix_nano))
        .filter(|t| *t > 0)
        .min()
}
