//! OTLP metrics into [`MetricSample`]s for the metric store: the series key keeps only the
//! attributes that matter to an LLM dashboard; exponential histograms become explicit buckets.

use crate::store::metrics::{MAX_BUCKETS, MetricSample, Point};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, exponential_histogram_data_point::Buckets,
    metric::Data, number_data_point,
};

/// Point attributes that make a series of their own, in the order they are shown; any others
/// fold into the series. `service.name` comes from the resource.
pub const SERIES_KEYS: [&str; 9] = [
    "gen_ai.request.model",
    "gen_ai.token.type",
    "error.type",
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.system",
    "server.address",
    "service.name",
    "http.route",
];

/// Attribute values longer than this are cut (a series key is not a place for text).
const MAX_VALUE: usize = 120;

fn scalar(v: &Option<AnyValue>) -> Option<String> {
    let s = match v.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::DoubleValue(d) => d.to_string(),
        _ => return None,
    };
    Some(match s.char_indices().nth(MAX_VALUE) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    })
}

fn series_attrs(service: Option<&str>, attrs: &[KeyValue]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = attrs
        .iter()
        .filter(|kv| kv.key != "service.name" && SERIES_KEYS.contains(&kv.key.as_str()))
        .filter_map(|kv| Some((kv.key.clone(), scalar(&kv.value)?)))
        .collect();
    if let Some(s) = service {
        out.push(("service.name".into(), s.to_string()));
    }
    let rank = |k: &str| SERIES_KEYS.iter().position(|s| *s == k).unwrap_or(usize::MAX);
    out.sort_by(|a, b| (rank(&a.0), &a.1).cmp(&(rank(&b.0), &b.1)));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn stream(resource: &[KeyValue], attrs: &[KeyValue]) -> u64 {
    let flat = |kvs: &[KeyValue]| -> Vec<(String, Option<String>)> {
        kvs.iter().map(|kv| (kv.key.clone(), scalar(&kv.value))).collect()
    };
    crate::store::metrics::hash_key(&(flat(resource), flat(attrs)))
}

/// Every data point of `req` as a sample (summaries are left out: their quantiles cannot be
/// combined).
pub fn samples(req: &ExportMetricsServiceRequest) -> Vec<MetricSample> {
    let mut out = Vec::new();
    for rm in &req.resource_metrics {
        let resource: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let service = resource
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| scalar(&kv.value));
        for m in rm.scope_metrics.iter().flat_map(|sm| &sm.metrics) {
            let mut push = |attrs: &[KeyValue], start: u64, time: u64, point: Point| {
                out.push(MetricSample {
                    name: m.name.clone(),
                    unit: m.unit.clone(),
                    attrs: series_attrs(service.as_deref(), attrs),
                    stream: stream(resource, attrs),
                    start_unix_nano: start,
                    time_unix_nano: time,
                    point,
                })
            };
            let number = |v: &Option<number_data_point::Value>| match v {
                Some(number_data_point::Value::AsDouble(d)) => *d,
                Some(number_data_point::Value::AsInt(i)) => *i as f64,
                None => 0.0,
            };
            let cumulative = |t: i32| t == AggregationTemporality::Cumulative as i32;
            match &m.data {
                Some(Data::Gauge(g)) => {
                    for p in &g.data_points {
                        push(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            Point::Gauge(number(&p.value)),
                        );
                    }
                }
                Some(Data::Sum(s)) => {
                    for p in &s.data_points {
                        let point = if s.is_monotonic || cumulative(s.aggregation_temporality) {
                            Point::Sum {
                                value: number(&p.value),
                                cumulative: cumulative(s.aggregation_temporality),
                            }
                        } else {
                            // A delta up-down counter is still a sum of changes.
                            Point::Sum {
                                value: number(&p.value),
                                cumulative: false,
                            }
                        };
                        push(&p.attributes, p.start_time_unix_nano, p.time_unix_nano, point);
                    }
                }
                Some(Data::Histogram(h)) => {
                    for p in &h.data_points {
                        let mut counts = p.bucket_counts.clone();
                        let mut bounds = p.explicit_bounds.clone();
                        // A malformed point (counts not one more than bounds) is made consistent.
                        counts.resize(bounds.len() + 1, 0);
                        if counts.len() > MAX_BUCKETS {
                            let tail: u64 = counts[MAX_BUCKETS - 1..].iter().sum();
                            counts.truncate(MAX_BUCKETS);
                            counts[MAX_BUCKETS - 1] = tail;
                            bounds.truncate(MAX_BUCKETS - 1);
                        }
                        push(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            Point::Histogram {
                                count: p.count,
                                sum: p.sum.unwrap_or(0.0),
                                bounds,
                                counts,
                                min: p.min,
                                max: p.max,
                                cumulative: cumulative(h.aggregation_temporality),
                            },
                        );
                    }
                }
                Some(Data::ExponentialHistogram(h)) => {
                    for p in &h.data_points {
                        let (bounds, counts) = exponential_buckets(p);
                        push(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            Point::Histogram {
                                count: p.count,
                                sum: p.sum.unwrap_or(0.0),
                                bounds,
                                counts,
                                min: p.min,
                                max: p.max,
                                cumulative: cumulative(h.aggregation_temporality),
                            },
                        );
                    }
                }
                Some(Data::Summary(_)) | None => {}
            }
        }
    }
    out
}

/// An exponential histogram as explicit bounds and counts: bucket `i` of the positive range
/// holds (base^i, base^(i+1)] with base = 2^(2^-scale), negatives mirror it, and the zero bucket
/// sits between. A leading and a trailing empty bucket make every held bucket's bounds explicit.
/// More than [`MAX_BUCKETS`] buckets are merged pairwise (as lowering the scale would).
pub fn exponential_buckets(p: &ExponentialHistogramDataPoint) -> (Vec<f64>, Vec<u64>) {
    let base = 2f64.powf(2f64.powi(-p.scale.clamp(-10, 20)));
    let edge = |i: i64| base.powf(i as f64);
    // (lower, upper, count), ascending.
    let mut parts: Vec<(f64, f64, u64)> = Vec::new();
    let side = |b: &Option<Buckets>| b.as_ref().map(|b| (i64::from(b.offset), b.bucket_counts.clone()));
    if let Some((offset, counts)) = side(&p.negative) {
        for (k, c) in counts.iter().enumerate().rev() {
            let i = offset + k as i64;
            parts.push((-edge(i + 1), -edge(i), *c));
        }
    }
    let no_buckets = |b: &Option<Buckets>| b.as_ref().is_none_or(|b| b.bucket_counts.is_empty());
    if p.zero_count > 0 || (parts.is_empty() && no_buckets(&p.positive)) {
        let z = p.zero_threshold.abs();
        parts.push((-z, z, p.zero_count));
    }
    if let Some((offset, counts)) = side(&p.positive) {
        for (k, c) in counts.iter().enumerate() {
            let i = offset + k as i64;
            parts.push((edge(i), edge(i + 1), *c));
        }
    }
    while parts.len() + 2 > MAX_BUCKETS {
        parts = parts
            .chunks(2)
            .map(|c| (c[0].0, c[c.len() - 1].1, c.iter().map(|x| x.2).sum()))
            .collect();
    }
    let mut bounds = Vec::with_capacity(parts.len() + 1);
    let mut counts = Vec::with_capacity(parts.len() + 2);
    bounds.push(parts.first().map_or(0.0, |p| p.0));
    counts.push(0);
    for (_, upper, c) in &parts {
        // Bounds must rise: a zero bucket of threshold 0 next to a first positive bucket would
        // repeat an edge; keep them strictly ascending.
        if bounds.last().is_some_and(|b| *upper <= *b) {
            if let Some(last) = counts.last_mut() {
                *last += c;
            }
            continue;
        }
        bounds.push(*upper);
        counts.push(*c);
    }
    counts.push(0);
    (bounds, counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::metrics::Buckets as Held;

    #[test]
    fn exponential_histograms_become_buckets_with_the_right_quantiles() {
        // scale 0: base 2. Positive offset 0: (1,2], (2,4], (4,8]; 10 observations.
        let p = ExponentialHistogramDataPoint {
            scale: 0,
            count: 10,
            positive: Some(Buckets {
                offset: 0,
                bucket_counts: vec![5, 4, 1],
            }),
            ..Default::default()
        };
        let (bounds, counts) = exponential_buckets(&p);
        assert_eq!(bounds, vec![1.0, 2.0, 4.0, 8.0]);
        assert_eq!(counts, vec![0, 5, 4, 1, 0]);
        assert_eq!(counts.iter().sum::<u64>(), 10);
        let held = Held {
            bounds,
            counts,
            count: 10,
            ..Held::default()
        };
        let p50 = held.quantile(0.5).unwrap();
        assert!(p50 <= 2.0 && p50 > 0.0, "{p50}");
        let p95 = held.quantile(0.95).unwrap();
        assert!(p95 > 4.0 && p95 <= 8.0, "{p95}");
    }

    #[test]
    fn series_keep_the_attributes_that_matter_and_the_service() {
        let kv = |k: &str, v: &str| KeyValue {
            key: k.into(),
            key_strindex: 0,
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
        };
        let attrs = series_attrs(
            Some("svc"),
            &[
                kv("gen_ai.request.model", "gpt-4o"),
                kv("http.method", "GET"),
                kv("gen_ai.token.type", "input"),
            ],
        );
        assert_eq!(
            attrs,
            vec![
                ("gen_ai.request.model".to_string(), "gpt-4o".to_string()),
                ("gen_ai.token.type".into(), "input".into()),
                ("service.name".into(), "svc".into()),
            ]
        );
    }
}
