//! Our own compact, owned records of what arrived over OTLP. Receivers hand OTLP messages over;
//! [`convert`] turns them into these records, which the store keeps and the screen reads.

pub mod convert;
pub mod ids;
mod memory;
pub mod otlp_out;
pub mod record;

pub use convert::{ConvertLimits, Converter};
pub use ids::{SpanId, TraceId, TraceIdPrefix};
pub use record::{
    Attr, LogRecord, Resource, Scope, SpanEvent, SpanKind, SpanLink, SpanRecord, StatusCode, Value,
    find_attr, log_event_time,
};
