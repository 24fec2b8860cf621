//! Tests of the size walk: it counts what prost decodes, on real captures and hostile shapes.
use super::wire::{Tally, WireError, walk};
use super::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// What the decoded request actually holds, counted the way the walk estimates it.
#[derive(Default)]
struct Count(Tally);

impl Count {
    fn add<T>(&mut self, n: usize) {
        self.0.elements += n as u64;
        self.0.bytes += (n * size_of::<T>()) as u64;
    }

    fn attrs(&mut self, kvs: &[KeyValue]) {
        self.add::<KeyValue>(kvs.len());
        for kv in kvs {
            if let Some(v) = &kv.value {
                self.value(v);
            }
        }
    }

    fn value(&mut self, v: &AnyValue) {
        match &v.value {
            Some(any_value::Value::ArrayValue(a)) => {
                self.add::<AnyValue>(a.values.len());
                a.values.iter().for_each(|v| self.value(v));
            }
            Some(any_value::Value::KvlistValue(l)) => self.attrs(&l.values),
            _ => {}
        }
    }

    fn resource(&mut self, r: &Option<Resource>) {
        if let Some(r) = r {
            self.attrs(&r.attributes);
        }
    }

    fn traces(req: &ExportTraceServiceRequest) -> Tally {
        let mut c = Count::default();
        c.add::<ResourceSpans>(req.resource_spans.len());
        for rs in &req.resource_spans {
            c.resource(&rs.resource);
            c.add::<ScopeSpans>(rs.scope_spans.len());
            for ss in &rs.scope_spans {
                if let Some(s) = &ss.scope {
                    c.attrs(&s.attributes);
                }
                c.add::<Span>(ss.spans.len());
                for s in &ss.spans {
                    c.attrs(&s.attributes);
                    c.add::<Event>(s.events.len());
                    s.events.iter().for_each(|e| c.attrs(&e.attributes));
                    c.add::<Link>(s.links.len());
                    s.links.iter().for_each(|l| c.attrs(&l.attributes));
                }
            }
        }
        c.0
    }

    fn logs(req: &ExportLogsServiceRequest) -> Tally {
        let mut c = Count::default();
        c.add::<ResourceLogs>(req.resource_logs.len());
        for rl in &req.resource_logs {
            c.resource(&rl.resource);
            c.add::<ScopeLogs>(rl.scope_logs.len());
            for sl in &rl.scope_logs {
                if let Some(s) = &sl.scope {
                    c.attrs(&s.attributes);
                }
                c.add::<LogRecord>(sl.log_records.len());
                for l in &sl.log_records {
                    c.attrs(&l.attributes);
                    if let Some(b) = &l.body {
                        c.value(b);
                    }
                }
            }
        }
        c.0
    }
}

fn fixture_lines(name: &str) -> Vec<String> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn nested_attributes() -> Vec<KeyValue> {
    let s = |t: &str| AnyValue {
        value: Some(any_value::Value::StringValue(t.into())),
    };
    vec![
        kv("a", any_value::Value::StringValue("x".into())),
        kv(
            "list",
            any_value::Value::ArrayValue(ArrayValue {
                values: vec![
                    s("1"),
                    s("2"),
                    AnyValue {
                        value: Some(any_value::Value::KvlistValue(KeyValueList {
                            values: vec![kv("k", any_value::Value::IntValue(3))],
                        })),
                    },
                ],
            }),
        ),
    ]
}

#[test]
fn the_walk_counts_what_prost_decodes_in_real_traces() {
    let mut checked = 0;
    for name in ["otel_genai.jsonl", "openinference.jsonl", "otel_genai_eval.jsonl"] {
        for line in fixture_lines(name) {
            let Ok(req) = crate::ingest::otlp_json::owned_traces(line.as_bytes()) else {
                continue;
            };
            let bytes = req.encode_to_vec();
            let decoded = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
            assert_eq!(
                walk(Signal::Traces, &bytes),
                Ok(Count::traces(&decoded)),
                "{name}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} requests checked");
}

#[test]
fn the_walk_counts_what_prost_decodes_in_real_logs() {
    let mut checked = 0;
    for name in ["otel_genai.logs.jsonl", "otel_genai_eval.logs.jsonl"] {
        for line in fixture_lines(name) {
            let Ok(req) = crate::ingest::otlp_json::owned_logs(line.as_bytes()) else {
                continue;
            };
            let bytes = req.encode_to_vec();
            let decoded = ExportLogsServiceRequest::decode(&bytes[..]).unwrap();
            assert_eq!(walk(Signal::Logs, &bytes), Ok(Count::logs(&decoded)), "{name}");
            checked += 1;
        }
    }
    assert!(checked > 1, "only {checked} requests checked");
}

#[test]
fn nested_values_events_and_links_are_counted() {
    let span = Span {
        name: "s".into(),
        attributes: nested_attributes(),
        events: vec![Event {
            name: "e".into(),
            attributes: nested_attributes(),
            ..Default::default()
        }],
        links: vec![Link::default(), Link::default()],
        ..Default::default()
    };
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: nested_attributes(),
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![span.clone(), span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let bytes = req.encode_to_vec();
    let tally = walk(Signal::Traces, &bytes).unwrap();
    assert_eq!(tally, Count::traces(&req));
    // 1 + 1 + 2 spans + 2 events + 4 links + 5 sets of (2 kv + 3 values + 1 kv) attributes.
    assert_eq!(tally.elements, 1 + 1 + 2 + 2 + 4 + 5 * 6);
}

#[test]
fn metrics_points_and_bucket_counts_are_counted() {
    let point = NumberDataPoint {
        attributes: nested_attributes(),
        ..Default::default()
    };
    let hist = HistogramDataPoint {
        bucket_counts: vec![1, 2, 3],
        explicit_bounds: vec![1.0, 2.0],
        ..Default::default()
    };
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![point.clone(), point],
                        })),
                        ..Default::default()
                    },
                    Metric {
                        data: Some(metric::Data::Histogram(Histogram {
                            data_points: vec![hist],
                            ..Default::default()
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let tally = walk(Signal::Metrics, &req.encode_to_vec()).unwrap();
    // resource, scope, 2 metrics, 2 number points with 6 attribute elements each, 1 histogram
    // point (its fixed-width buckets are covered by the bytes).
    assert_eq!(tally.elements, 1 + 1 + 2 + 2 + 12 + 1);
}

/// `12 00` repeated: ResourceSpans -> ScopeSpans -> n empty spans.
fn empty_spans(n: usize) -> Vec<u8> {
    let spans: Vec<u8> = [0x12u8, 0x00].repeat(n);
    let scope = wrap(0x12, &spans);
    wrap(0x0a, &scope)
}

fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    prost::encoding::encode_varint(body.len() as u64, &mut out);
    out.extend_from_slice(body);
    out
}

#[test]
fn empty_spans_weigh_their_decoded_struct() {
    let bytes = empty_spans(1000);
    let decoded = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
    assert_eq!(decoded.resource_spans[0].scope_spans[0].spans.len(), 1000);
    let estimate = protobuf_estimate(Signal::Traces, &bytes).unwrap();
    assert!(estimate >= 1000 * size_of::<Span>(), "{estimate}");
    assert!(
        estimate > 50 * bytes.len(),
        "{estimate} for {} bytes",
        bytes.len()
    );
}

#[test]
fn malformed_input_stops_the_walk_as_prost_does() {
    let good = empty_spans(3);
    for cut in 1..good.len() {
        let part = &good[..cut];
        assert_eq!(
            walk(Signal::Traces, part).is_err(),
            ExportTraceServiceRequest::decode(part).is_err(),
            "cut at {cut}"
        );
    }
    assert_eq!(walk(Signal::Traces, &[0x00]), Err(WireError::FieldZero));
    assert_eq!(walk(Signal::Traces, &[0x0b]), Err(WireError::WireType(3)));
    assert_eq!(walk(Signal::Traces, &[0x0a, 0xff]), Err(WireError::Varint));
    assert_eq!(walk(Signal::Traces, &[0x08; 11][..]), Err(WireError::Varint));
    let mut deep = Vec::new();
    for _ in 0..200 {
        deep = wrap(0x2a, &wrap(0x0a, &deep));
    }
    let attr = wrap(0x12, &deep);
    let hostile = wrap(0x0a, &wrap(0x0a, &wrap(0x0a, &attr)));
    assert_eq!(walk(Signal::Traces, &hostile), Err(WireError::TooDeep));
    assert!(ExportTraceServiceRequest::decode(&hostile[..]).is_err());
}

#[test]
fn json_empty_objects_weigh_their_decoded_struct() {
    let spans = vec!["{}"; 1000].join(",");
    let text = format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{spans}]}}]}}]}}"#);
    let estimate = json_estimate(text.as_bytes()).unwrap();
    assert!(estimate >= 1000 * size_of::<Span>(), "{estimate}");
    let attrs = vec![r#"{"key":"k"}"#; 100].join(",");
    let text =
        format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{attrs}]}}]}}]}}]}}"#);
    let tally = json::walk(text.as_bytes()).unwrap();
    assert_eq!(tally.elements, 1 + 1 + 1 + 100);
    assert!(json_estimate(b"{\"spans\":[").is_err());
    assert!(json_estimate(b"{} {}").is_err());
}

#[test]
fn json_counts_match_the_decoded_fixtures() {
    for name in ["otel_genai.jsonl", "openinference.jsonl"] {
        for line in fixture_lines(name) {
            let Ok(req) = crate::ingest::otlp_json::owned_traces(line.as_bytes()) else {
                continue;
            };
            // An upper bound: `values` may hold KeyValues or the smaller AnyValues.
            let (tally, exact) = (json::walk(line.as_bytes()).unwrap(), Count::traces(&req));
            assert_eq!(tally.elements, exact.elements, "{name}");
            assert!(tally.bytes >= exact.bytes, "{name}");
            assert!(tally.bytes <= exact.bytes + exact.elements * 64, "{name}");
        }
    }
}

#[test]
fn the_budget_is_shared_and_released() {
    let budget = DecodeBudget::new(100);
    assert_eq!(
        budget.reserve(101).unwrap_err(),
        OverBudget::TooLarge {
            need: 101,
            total: 100
        }
    );
    let a = budget.reserve(60).unwrap();
    assert_eq!(budget.reserve(60).unwrap_err(), OverBudget::Busy { need: 60 });
    let b = budget.reserve(40).unwrap();
    assert_eq!(budget.used(), 100);
    drop(a);
    drop(b);
    assert_eq!(budget.used(), 0);
    let _c = budget.reserve(100).unwrap();
}

#[test]
fn a_reservation_gives_back_what_it_no_longer_needs() {
    let budget = DecodeBudget::new(100);
    let mut a = budget.reserve(80).unwrap();
    assert_eq!(budget.reserve(30).unwrap_err(), OverBudget::Busy { need: 30 });
    a.shrink_to(50);
    assert_eq!((a.bytes(), budget.used()), (50, 50));
    // Growing is not what it does.
    a.shrink_to(90);
    assert_eq!((a.bytes(), budget.used()), (50, 50));
    let b = budget.reserve(30).unwrap();
    drop(a);
    assert_eq!(budget.used(), 30);
    drop(b);
    assert_eq!(budget.used(), 0);
}
