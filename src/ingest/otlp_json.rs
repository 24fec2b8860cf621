//! OTLP/JSON trace and log requests, decoded: the one decoder behind the HTTP receiver, capture
//! files (`replay`, `report`, ...) and `--forward`'s re-encoding, into the request types
//! conversion reads (strings borrowed from the text), or into opentelemetry-proto's request
//! where one is needed whole (`--record`, `--forward`, a receiver's export).
//!
//! It is a hand-written scanner ([`scan`]): opentelemetry-proto's own `Deserialize` (feature
//! `with-serde`) costs about ten times what tokenising the JSON does (every `AnyValue` buffered
//! whole into serde's `Content`, keys allocated, `intValue` through an untagged enum), and
//! serde visitors into the same types about twice what the scanner does (BENCHMARKS.md).
//! opentelemetry-proto's `Deserialize` is the reference in the tests, which decode every
//! fixture and a set of hostile texts both ways and compare the records and the refusals.
//! Metrics are still decoded by it.
//!
//! # What is accepted
//! Exactly what opentelemetry-proto's `Deserialize` accepts, read to the same values, with one
//! addition and one omission (below). Its rules, through serde derive and opentelemetry-proto's
//! `serializers` module:
//! - lowerCamelCase field names only (a snake_case key is an unknown field); unknown fields are
//!   ignored; a known field twice is an error, except in an `AnyValue`, where the last non-null
//!   value wins;
//! - every field may be missing, except `key` of a `KeyValue`, `values` of an `ArrayValue` or
//!   `KeyValueList`, and every field of an `EntityRef`; `null` stands for a missing message
//!   (`resource`, `scope`, `status`, `value`, `body`) or `AnyValue` variant, and is an error
//!   anywhere else;
//! - trace and span ids are hex strings (either case, an optional `0x`, empty for none);
//! - the `*UnixNano` times are numbers or decimal strings; enums, counts and `flags` are
//!   numbers only; `intValue` is a number or a decimal string within `i64`;
//! - `bytesValue` is standard base64 with padding;
//! - an `AnyValue` is read whole by the reference (its unknown keys too), so there strings are
//!   checked for valid UTF-8 and numbers for range; nesting is limited to serde_json's 128
//!   levels, except inside an unknown field's value outside an `AnyValue`, which is only
//!   skipped (as serde derive does).
//!
//! The addition: `doubleValue` also reads the strings `"NaN"`, `"Infinity"` and `"-Infinity"`
//! and numbers written as strings, as proto3 JSON (and so OTLP/JSON) prescribes, and as
//! llmwatch's own `--record` writes non-finite doubles; the reference refuses the whole request.
//!
//! The omission: a message written as an array of its fields in order (serde derive's other
//! form of a struct, which no OTLP/JSON writer produces and the OTLP specification does not
//! allow) is refused.

use crate::model::convert::request::{LogsRequest, TracesRequest};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

mod error;
mod scan;

pub use error::Error;
#[cfg(test)]
pub(crate) mod tests;

/// Decodes one OTLP/JSON `ExportTraceServiceRequest` (or `TracesData`), strings borrowed.
pub fn traces(text: &[u8]) -> Result<TracesRequest<'_>, Error> {
    traces_within(text, usize::MAX)
}

/// Decodes one OTLP/JSON `ExportLogsServiceRequest` (or `LogsData`), strings borrowed.
pub fn logs(text: &[u8]) -> Result<LogsRequest<'_>, Error> {
    logs_within(text, usize::MAX)
}

/// [`traces`], refusing the text once it has read `objects` JSON objects: what it holds while
/// reading stays within a bound fixed before reading (`ingest::bound::json_objects_within`),
/// with no pass over the text first.
pub fn traces_within(text: &[u8], objects: usize) -> Result<TracesRequest<'_>, Error> {
    scan::traces(text, objects).map_err(|e| (*e).or_syntax_of(text))
}

/// [`logs`] within a number of objects, as [`traces_within`].
pub fn logs_within(text: &[u8], objects: usize) -> Result<LogsRequest<'_>, Error> {
    scan::logs(text, objects).map_err(|e| (*e).or_syntax_of(text))
}

/// [`traces`] into opentelemetry-proto's request.
pub fn owned_traces(text: &[u8]) -> Result<ExportTraceServiceRequest, Error> {
    traces(text).map(Into::into)
}

/// [`logs`] into opentelemetry-proto's request.
pub fn owned_logs(text: &[u8]) -> Result<ExportLogsServiceRequest, Error> {
    logs(text).map(Into::into)
}

/// An export request read from OTLP/JSON by the one decoder of its signal: traces and logs
/// here, metrics by opentelemetry-proto's `Deserialize`. The error is a message.
pub trait FromJson: Sized {
    fn from_json(text: &[u8]) -> Result<Self, String>;
}

impl FromJson for ExportTraceServiceRequest {
    fn from_json(text: &[u8]) -> Result<Self, String> {
        owned_traces(text).map_err(|e| e.to_string())
    }
}

impl FromJson for ExportLogsServiceRequest {
    fn from_json(text: &[u8]) -> Result<Self, String> {
        owned_logs(text).map_err(|e| e.to_string())
    }
}

impl FromJson for ExportMetricsServiceRequest {
    fn from_json(text: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(text).map_err(|e| e.to_string())
    }
}
