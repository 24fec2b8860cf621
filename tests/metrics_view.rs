//! OTLP metrics reach the metrics view: sent over OTLP/HTTP (protobuf) and OTLP/gRPC to the
//! real receivers on ephemeral loopback ports, and read from a capture file as replay reads
//! it; the view (`4` on the real app, TestBackend) shows each series with its value.

mod common;

use common::*;
use llmwatch::store::metrics::Value;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::theme::{ColorDepth, Theme};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    exponential_histogram_data_point, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_800_000_000 * S;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn request(service: &str, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A cumulative request counter at `value`, seen at `at` seconds.
fn counter(value: i64, at: u64, method: &str) -> Metric {
    Metric {
        name: "gen_ai.client.requests".into(),
        unit: "{request}".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                // The method is not a series key: two methods fold into one series.
                attributes: vec![
                    kv("gen_ai.request.model", "gpt-4o"),
                    kv("http.request.method", method),
                ],
                start_time_unix_nano: T0,
                time_unix_nano: T0 + at * S,
                value: Some(number_data_point::Value::AsInt(value)),
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// A cumulative duration histogram: `counts` over bounds 0.5, 1, 2 (seconds).
fn durations(counts: Vec<u64>, at: u64) -> Metric {
    Metric {
        name: "gen_ai.client.operation.duration".into(),
        unit: "s".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: vec![
                    kv("gen_ai.request.model", "gpt-4o"),
                    kv("gen_ai.operation.name", "chat"),
                ],
                start_time_unix_nano: T0,
                time_unix_nano: T0 + at * S,
                count: counts.iter().sum(),
                bucket_counts: counts,
                explicit_bounds: vec![0.5, 1.0, 2.0],
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    }
}

fn ttft_exponential() -> Metric {
    Metric {
        name: "gen_ai.server.time_to_first_token".into(),
        unit: "s".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                attributes: vec![kv("gen_ai.request.model", "claude-sonnet-4-5")],
                start_time_unix_nano: T0,
                time_unix_nano: T0 + 30 * S,
                count: 10,
                scale: 0,
                // (0.25, 0.5]: 9, (0.5, 1]: 1.
                positive: Some(exponential_histogram_data_point::Buckets {
                    offset: -2,
                    bucket_counts: vec![9, 1],
                }),
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Delta as i32,
        })),
        ..Default::default()
    }
}

fn gauge(v: f64) -> Metric {
    Metric {
        name: "queue.depth".into(),
        unit: "{item}".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                time_unix_nano: T0 + 30 * S,
                value: Some(number_data_point::Value::AsDouble(v)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

fn metrics_screen(pipeline: &Arc<llmwatch::ingest::handoff::Pipeline>, w: u16, h: u16) -> String {
    let theme = Theme::load(Some("dark"))
        .unwrap()
        .for_depth(ColorDepth::TrueColor);
    let mut app = App::new(pipeline.clone(), Feed::Live { listen: vec![] }, theme);
    app.handle(&Event::Key(KeyEvent::new(KeyCode::Char('4'), KeyModifiers::NONE)));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    t.backend().to_string()
}

#[tokio::test]
async fn metrics_sent_over_http_and_grpc_show_in_the_metrics_view() {
    let running = start(test_config()).await;
    let addr = running.http_addr.expect("http on");
    // HTTP protobuf: a cumulative counter from two streams, twice, and a cumulative histogram.
    for (a, b, at, hist) in [(3, 4, 10, vec![1, 2, 0, 0]), (5, 4, 20, vec![2, 5, 2, 1])] {
        let req = request(
            "support-agent",
            vec![counter(a, at, "GET"), counter(b, at, "POST"), durations(hist, at)],
        );
        let body = req.encode_to_vec();
        let resp =
            tokio::task::spawn_blocking(move || post(addr, "/v1/metrics", "application/x-protobuf", &body))
                .await
                .unwrap();
        assert_eq!(resp.status, 200);
    }
    // gRPC: an exponential histogram and a gauge.
    let ch = channel(&grpc_url(&running)).await;
    MetricsServiceClient::new(ch)
        .export(request("docs-qa", vec![ttft_exponential(), gauge(3.5)]))
        .await
        .expect("export metrics");

    let pipeline = running.pipeline.clone();
    {
        let m = pipeline.metrics();
        let find = |name: &str| m.series().iter().find(|s| s.name == name).unwrap().value.clone();
        // 3+4 first, then +2 from GET: 9 requests, not 3+4+5+4.
        assert_eq!(find("gen_ai.client.requests"), Value::Sum(9.0));
        let Value::Histogram(b) = find("gen_ai.client.operation.duration") else {
            panic!("a histogram")
        };
        assert_eq!((b.count, b.counts.clone()), (10, vec![2, 5, 2, 1]));
        assert_eq!(find("queue.depth"), Value::Gauge(3.5));
    }
    let big = metrics_screen(&pipeline, 160, 48);
    for want in [
        "gen_ai.client.requests",
        "model=gpt-4o",
        "service=support-agent",
        // p50 of 10 durations, 2 under 0.5 s and 5 in (0.5, 1]: 0.5 + 0.5 * 3/5 = 0.8 s.
        "p50 800ms",
        "gen_ai.server.time_to_first_token",
        "model=claude-sonnet-4-5",
        "queue.depth",
        "3.50",
        "4 series",
    ] {
        assert!(big.contains(want), "{want} missing:\n{big}");
    }
    // The exponential histogram's p50 falls in (0.25, 0.5].
    let ttft = big.lines().find(|l| l.contains("time_to_first_token")).unwrap();
    assert!(
        ttft.contains("p50 3") || ttft.contains("p50 4") || ttft.contains("p50 2"),
        "{ttft}"
    );
    running.stop().await;
}

#[test]
fn metrics_in_a_capture_reach_the_view_in_replay() {
    use llmwatch::config::split_budget;
    let (store, handoff) = split_budget(200_000, 512 << 20);
    let opts = llmwatch::report::ReportOptions {
        files: vec![
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/capture/collector.metrics.jsonl"),
        ],
        spans: false,
        speed: llmwatch::replay::Speed::Max,
        status_every: None,
        recorder: None,
        store,
        handoff,
        semconv: Default::default(),
        costs: Arc::new(llmwatch::cost::CostTable::bundled()),
        max_input_ratio: llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO,
    };
    // The replay command's path: a pipeline, then the files fed through it.
    let pipeline = llmwatch::report::start_pipeline(&opts);
    llmwatch::report::feed_files(&opts, &pipeline, None).unwrap();
    pipeline.flush();
    let s = metrics_screen(&pipeline, 160, 48);
    for want in [
        "gen_ai.client.token.usage",
        "type=input",
        "agent.requests",
        "agent.queue.depth",
        "3 series",
    ] {
        assert!(s.contains(want), "{want} missing:\n{s}");
    }
    let requests = s.lines().find(|l| l.contains("agent.requests")).unwrap();
    assert!(requests.contains(" 7 "), "{requests}");
}
