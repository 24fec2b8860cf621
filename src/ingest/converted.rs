//! A trace or log request read from OTLP/JSON and already validated and converted (spans
//! without the built-in evaluators): what replay's file thread hands on (`ingest::convert_json`
//! makes it).

use crate::model::convert::Rejections;
use crate::model::{LogRecord, SpanRecord};
use crate::semconv::Verdict;

#[derive(Clone, Debug, PartialEq)]
pub struct Converted {
    /// Items in the request, and those refused for their ids (as a receiver counts them).
    pub received: usize,
    pub rejected: Rejections,
    /// The earliest event time in the request, as replay reads it from a decoded request.
    pub event_time: Option<u64>,
    pub records: ConvertedRecords,
    /// What the converter's interners held after converting it.
    pub interned: Option<Interned>,
}

/// What a converter's interners held after a conversion: the converter's number and bytes
/// (`ingest::handoff::InternerTally` sums them in a file's order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interned {
    pub converter: usize,
    pub bytes: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ConvertedRecords {
    Spans {
        spans: Vec<SpanRecord>,
        verdicts: Vec<Verdict>,
    },
    Logs {
        logs: Vec<LogRecord>,
        verdicts: Vec<Verdict>,
    },
}
