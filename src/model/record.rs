//! The records themselves: spans, logs, their attributes and resources, as the store keeps them.
//! A leaf of the model: the converter, the semantic layer and the evaluators all name these.

use crate::intern::Sym;
use crate::model::ids::{SpanId, TraceId};
use std::sync::Arc;

/// OTLP span kind, kept as the protocol's small integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    pub fn from_otlp(kind: i32) -> Self {
        match kind {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusCode {
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    pub fn from_otlp(code: i32) -> Self {
        match code {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// An attribute value. Strings that are names (models, providers, operation names) are interned
/// as [`Value::Sym`]; content stays an owned `Box<str>`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(Box<str>),
    Sym(Sym),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Box<[u8]>),
    Array(Box<[Value]>),
    Map(Box<[Attr]>),
    Empty,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            Self::Sym(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Double(d) => Some(*d),
            Self::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    pub key: Sym,
    pub value: Value,
}

/// Looks an attribute up by key; attribute lists are short, so a scan beats a map.
pub fn find_attr<'a>(attrs: &'a [Attr], key: &str) -> Option<&'a Value> {
    attrs.iter().find(|a| &*a.key == key).map(|a| &a.value)
}

/// The resource a batch of spans or logs came from; shared by every record of that batch.
#[derive(Debug, PartialEq)]
pub struct Resource {
    pub service: Sym,
    pub attributes: Box<[Attr]>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scope {
    pub name: Sym,
    pub version: Option<Sym>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    pub time_unix_nano: u64,
    pub name: Sym,
    pub attributes: Box<[Attr]>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SpanLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attributes: Box<[Attr]>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SpanRecord {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub name: Sym,
    pub kind: SpanKind,
    pub status: StatusCode,
    pub status_message: Option<Box<str>>,
    pub flags: u32,
    pub resource: Arc<Resource>,
    pub scope: Scope,
    pub attributes: Box<[Attr]>,
    pub events: Box<[SpanEvent]>,
    pub links: Box<[SpanLink]>,
    /// The normalised LLM view (model, tokens, cost, ...), when the span says anything.
    pub sem: Option<Box<crate::semconv::types::Semantics>>,
    /// Estimated heap bytes this record owns (plus its share of the resource); computed once at
    /// conversion so that insert and evict account exactly the same amount.
    pub mem_bytes: u32,
}

impl SpanRecord {
    pub fn service(&self) -> &str {
        &self.resource.service
    }

    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    pub fn attr(&self, key: &str) -> Option<&Value> {
        find_attr(&self.attributes, key)
    }
}

/// Where a log record is placed in time: its own timestamp, else when it was observed.
pub fn log_event_time(time_unix_nano: u64, observed_unix_nano: u64) -> u64 {
    if time_unix_nano != 0 {
        time_unix_nano
    } else {
        observed_unix_nano
    }
}

/// An OTLP log record, tied to a trace and span when it names them (evaluation results and app
/// logs emitted inside a span do).
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub time_unix_nano: u64,
    pub observed_unix_nano: u64,
    pub severity_number: i32,
    pub severity_text: Option<Sym>,
    /// The OTLP `event_name` field, or the older `event.name` attribute.
    pub event_name: Option<Sym>,
    pub body: Value,
    pub resource: Arc<Resource>,
    pub scope: Scope,
    pub attributes: Box<[Attr]>,
    /// Estimated heap bytes owned, as for [`SpanRecord::mem_bytes`].
    pub mem_bytes: u32,
}

impl LogRecord {
    /// The time the log is placed at: its own timestamp, else when it was observed.
    pub fn event_time(&self) -> u64 {
        log_event_time(self.time_unix_nano, self.observed_unix_nano)
    }
}
