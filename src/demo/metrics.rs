//! The OTel GenAI client metrics the demo's instrumented model calls would export, derived
//! from the spans of the same second so the metrics view agrees with the traces:
//! `gen_ai.client.token.usage` (by token type), `gen_ai.client.operation.duration` and,
//! for streamed calls, `gen_ai.server.time_to_first_token`. Delta histograms, one export per
//! second of event time, with the bucket boundaries the semantic conventions advise.
//! OpenInference spans carry no `gen_ai.operation.name` and get no metrics, as with the real
//! instrumentation.

use super::otlp::s;
use super::traffic::{SCOPE_COUNT, SCOPES};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics,
    metric::Data,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use std::collections::BTreeMap;

const TOKEN_BOUNDS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
const DURATION_BOUNDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const TTFT_BOUNDS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

fn text<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value.as_ref()?.value {
            Some(Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
}

fn number(span: &Span, key: &str) -> Option<f64> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value.as_ref()?.value {
            Some(Value::IntValue(i)) => Some(*i as f64),
            Some(Value::DoubleValue(d)) => Some(*d),
            _ => None,
        })
}

/// Observations of one histogram series: (metric, attributes) -> values.
type Observations = BTreeMap<(&'static str, Vec<(&'static str, String)>), Vec<f64>>;

fn observe(span: &Span, out: &mut Observations) {
    let Some(op) = text(span, "gen_ai.operation.name") else {
        return;
    };
    let Some(model) = text(span, "gen_ai.request.model") else {
        return;
    };
    let mut attrs = vec![
        ("gen_ai.operation.name", op.to_string()),
        ("gen_ai.request.model", model.to_string()),
    ];
    for key in ["gen_ai.provider.name", "server.address"] {
        if let Some(v) = text(span, key) {
            attrs.push((key, v.to_string()));
        }
    }
    let seconds = span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano) as f64 / 1e9;
    let mut duration = attrs.clone();
    if let Some(e) = text(span, "error.type") {
        duration.push(("error.type", e.to_string()));
    }
    out.entry(("gen_ai.client.operation.duration", duration))
        .or_default()
        .push(seconds);
    for (key, kind) in [
        ("gen_ai.usage.input_tokens", "input"),
        ("gen_ai.usage.output_tokens", "output"),
    ] {
        if let Some(n) = number(span, key) {
            let mut a = attrs.clone();
            a.push(("gen_ai.token.type", kind.to_string()));
            out.entry(("gen_ai.client.token.usage", a)).or_default().push(n);
        }
    }
    // Streamed calls: the first chunk's time, as an attribute or as the first event.
    let ttft = number(span, "gen_ai.response.time_to_first_chunk").or_else(|| {
        span.events
            .iter()
            .find(|e| e.name.contains("First Token"))
            .map(|e| e.time_unix_nano.saturating_sub(span.start_time_unix_nano) as f64 / 1e9)
    });
    if let Some(t) = ttft {
        out.entry(("gen_ai.server.time_to_first_token", attrs))
            .or_default()
            .push(t);
    }
}

fn point(
    values: &[f64],
    bounds: &[f64],
    attrs: &[(&str, String)],
    start: u64,
    end: u64,
) -> HistogramDataPoint {
    let mut counts = vec![0u64; bounds.len() + 1];
    for v in values {
        counts[bounds.partition_point(|b| b < v)] += 1;
    }
    HistogramDataPoint {
        attributes: attrs
            .iter()
            .map(|(k, v)| s(k, v.as_str()))
            .collect::<Vec<KeyValue>>(),
        start_time_unix_nano: start,
        time_unix_nano: end,
        count: values.len() as u64,
        sum: Some(values.iter().sum()),
        bucket_counts: counts,
        explicit_bounds: bounds.to_vec(),
        min: values.iter().copied().reduce(f64::min),
        max: values.iter().copied().reduce(f64::max),
        ..Default::default()
    }
}

fn describe(name: &str) -> (&'static str, &'static str, &'static [f64]) {
    match name {
        "gen_ai.client.token.usage" => (
            "{token}",
            "Number of input and output tokens used.",
            &TOKEN_BOUNDS,
        ),
        "gen_ai.server.time_to_first_token" => ("s", "Time to generate the first token.", &TTFT_BOUNDS),
        _ => ("s", "GenAI operation duration.", &DURATION_BOUNDS),
    }
}

/// The metrics of the model calls among `spans` (by scope, as the demo groups them), for the
/// second `start..end`; `None` when none was made.
pub fn metrics_request(
    spans: &[Vec<Span>; SCOPE_COUNT],
    start: u64,
    end: u64,
    resource: impl Fn(usize) -> Option<opentelemetry_proto::tonic::resource::v1::Resource>,
) -> Option<ExportMetricsServiceRequest> {
    let mut by_service: BTreeMap<usize, Observations> = BTreeMap::new();
    for (scope, spans) in spans.iter().enumerate() {
        let service = SCOPES[scope].0;
        for span in spans {
            observe(span, by_service.entry(service).or_default());
        }
    }
    let resource_metrics: Vec<ResourceMetrics> = by_service
        .into_iter()
        .filter(|(_, o)| !o.is_empty())
        .map(|(service, observations)| {
            let mut metrics: BTreeMap<&'static str, Vec<HistogramDataPoint>> = BTreeMap::new();
            for ((name, attrs), values) in &observations {
                let (_, _, bounds) = describe(name);
                metrics
                    .entry(name)
                    .or_default()
                    .push(point(values, bounds, attrs, start, end));
            }
            ResourceMetrics {
                resource: resource(service),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(opentelemetry_proto::tonic::common::v1::InstrumentationScope {
                        name: "opentelemetry.instrumentation.genai".into(),
                        ..Default::default()
                    }),
                    metrics: metrics
                        .into_iter()
                        .map(|(name, data_points)| {
                            let (unit, description, _) = describe(name);
                            Metric {
                                name: name.into(),
                                description: description.into(),
                                unit: unit.into(),
                                data: Some(Data::Histogram(Histogram {
                                    data_points,
                                    aggregation_temporality: AggregationTemporality::Delta as i32,
                                })),
                                ..Default::default()
                            }
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    (!resource_metrics.is_empty()).then_some(ExportMetricsServiceRequest { resource_metrics })
}
