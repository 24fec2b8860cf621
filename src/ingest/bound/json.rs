//! The OTLP/JSON counterpart of the wire walk: one pass of serde_json's tokenizer over the
//! request, counting the elements of each array by the key that holds it (`spans`,
//! `attributes`, ...) and weighing each by the struct it decodes to. Keys are borrowed, values
//! skipped, nothing is allocated per element. An array under a key the walk does not know is
//! weighed as if it held spans: only hostile input has those, and the estimate must stay an
//! upper bound.

use super::wire::Tally;
use opentelemetry_proto::tonic::common::v1::{AnyValue, EntityRef, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, SummaryDataPoint,
};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The largest struct an array element can decode to.
pub(super) fn largest() -> usize {
    [
        size_of::<Span>(),
        size_of::<LogRecord>(),
        size_of::<Metric>(),
        size_of::<ExponentialHistogramDataPoint>(),
        size_of::<HistogramDataPoint>(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

/// The decoded size of one element of the array under `key`.
fn element_size(key: &str) -> usize {
    match key {
        "resourceSpans" => size_of::<ResourceSpans>(),
        "scopeSpans" => size_of::<ScopeSpans>(),
        "spans" => size_of::<Span>(),
        "events" => size_of::<Event>(),
        "links" => size_of::<Link>(),
        "attributes" | "metadata" | "filteredAttributes" => size_of::<KeyValue>(),
        // ArrayValue holds AnyValues, KeyValueList KeyValues.
        "values" => size_of::<AnyValue>().max(size_of::<KeyValue>()),
        "resourceLogs" => size_of::<ResourceLogs>(),
        "scopeLogs" => size_of::<ScopeLogs>(),
        "logRecords" => size_of::<LogRecord>(),
        "resourceMetrics" => size_of::<ResourceMetrics>(),
        "scopeMetrics" => size_of::<ScopeMetrics>(),
        "metrics" => size_of::<Metric>(),
        "dataPoints" => size_of::<NumberDataPoint>()
            .max(size_of::<HistogramDataPoint>())
            .max(size_of::<ExponentialHistogramDataPoint>())
            .max(size_of::<SummaryDataPoint>()),
        "exemplars" => size_of::<Exemplar>(),
        "quantileValues" => size_of::<ValueAtQuantile>(),
        "bucketCounts" | "explicitBounds" => size_of::<u64>(),
        "entityRefs" => size_of::<EntityRef>(),
        "idKeys" | "descriptionKeys" => size_of::<String>(),
        _ => largest(),
    }
}

/// Walks one OTLP/JSON document and tallies what decoding it would allocate.
pub fn walk(text: &[u8]) -> Result<Tally, serde_json::Error> {
    let mut tally = Tally::default();
    let mut de = serde_json::Deserializer::from_slice(text);
    Value {
        element: largest(),
        tally: &mut tally,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(tally)
}

/// Any JSON value; when it is an array, each element weighs `element`.
struct Value<'t> {
    element: usize,
    tally: &'t mut Tally,
}

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Elements of an array in an array: as heavy as the largest struct.
        while seq
            .next_element_seed(Value {
                element: largest(),
                tally: &mut *self.tally,
            })?
            .is_some()
        {
            self.tally.elements += 1;
            self.tally.bytes = self.tally.bytes.saturating_add(self.element as u64);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(element) = map.next_key_seed(Key)? {
            map.next_value_seed(Value {
                element,
                tally: &mut *self.tally,
            })?;
        }
        Ok(())
    }
}

/// A key, read without copying, answered with the size of its array's elements.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        Ok(element_size(key))
    }
}
