//! OTLP/gRPC ingest with the tonic client against the real receiver on an ephemeral port:
//! counts, compression, partial success, and every refusal with its gRPC code.

mod common;

use bytes::Bytes;
use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic::Code;
use tonic::codec::CompressionEncoding;

fn fixture_requests<T: serde::de::DeserializeOwned>(name: &str) -> Vec<T> {
    fixture(name)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn traces_logs_and_metrics_are_counted_exactly_with_every_compression() {
    let running = start(test_config()).await;
    let ch = channel(&grpc_url(&running)).await;
    let mut sent = 0;
    for (i, enc) in [
        None,
        Some(CompressionEncoding::Gzip),
        Some(CompressionEncoding::Zstd),
    ]
    .into_iter()
    .enumerate()
    {
        let mut client = TraceServiceClient::new(ch.clone());
        if let Some(enc) = enc {
            client = client.send_compressed(enc);
        }
        let batch = llm_batch(100 * i as u64 + 1, 50, 5, now_nanos());
        let resp = client.export(batch).await.expect("export").into_inner();
        assert_eq!(resp.partial_success, None);
        sent += 50;
    }
    // Real captures from instrumentation libraries, decoded from their OTLP/JSON form.
    for name in ["otel_genai.jsonl", "openinference.jsonl", "otel_genai_eval.jsonl"] {
        for req in fixture_requests::<ExportTraceServiceRequest>(name) {
            sent += req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum::<usize>();
            TraceServiceClient::new(ch.clone())
                .export(req)
                .await
                .expect("export fixture");
        }
    }
    let mut logs_sent = 0;
    for name in ["otel_genai.logs.jsonl", "otel_genai_eval.logs.jsonl"] {
        for req in fixture_requests::<ExportLogsServiceRequest>(name) {
            logs_sent += req
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .map(|s| s.log_records.len())
                .sum::<usize>();
            LogsServiceClient::new(ch.clone())
                .send_compressed(CompressionEncoding::Gzip)
                .export(req)
                .await
                .expect("export logs");
        }
    }
    let metrics: ExportMetricsServiceRequest = serde_json::from_str(
        r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"gen_ai.client.token.usage",
        "histogram":{"dataPoints":[{"count":"2","sum":10},{"count":"1","sum":3}],"aggregationTemporality":2}}]}]}]}"#,
    )
    .unwrap();
    let resp = MetricsServiceClient::new(ch.clone())
        .export(metrics)
        .await
        .expect("metrics");
    assert_eq!(resp.into_inner().partial_success, None);

    let summary = running.stop().await;
    assert_eq!(summary.spans.received, sent as u64);
    assert_eq!(summary.spans.accepted, sent as u64);
    assert_eq!(summary.spans.stored, sent as u64);
    assert_eq!(
        (
            summary.spans.rejected,
            summary.spans.dropped,
            summary.spans.evicted
        ),
        (0, 0, 0)
    );
    assert_eq!(
        summary.traces,
        30 + 5,
        "30 synthetic traces and 5 in the captures"
    );
    assert_eq!(summary.logs.accepted, logs_sent as u64);
    assert_eq!(summary.logs.stored, logs_sent as u64);
    assert_eq!(summary.metrics.data_points_accepted, 2);
    assert_eq!(summary.requests.grpc, summary.requests.ok);
}

#[tokio::test]
async fn spans_with_bad_ids_get_partial_success() {
    let running = start(test_config()).await;
    let mut batch = llm_batch(1, 10, 10, now_nanos());
    let spans = &mut batch.resource_spans[0].scope_spans[0].spans;
    spans[3].trace_id = vec![1, 2, 3];
    spans[4].span_id = vec![0; 8];
    spans[5].parent_span_id = vec![9; 3];
    let resp = TraceServiceClient::new(channel(&grpc_url(&running)).await)
        .export(batch)
        .await
        .expect("export")
        .into_inner();
    let partial = resp.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 3);
    assert!(
        partial.error_message.contains("trace_id must be 16 bytes, got 3"),
        "{}",
        partial.error_message
    );
    let summary = running.stop().await;
    assert_eq!(
        (
            summary.spans.received,
            summary.spans.accepted,
            summary.spans.rejected
        ),
        (10, 7, 3)
    );
    assert_eq!(summary.requests.partially_rejected, 1);
}

#[tokio::test]
async fn malformed_protobuf_is_invalid_argument_and_the_server_keeps_serving() {
    let running = start(test_config()).await;
    let ch = channel(&grpc_url(&running)).await;
    for garbage in [
        &b"\xff\xff\xff\xff\xff"[..],
        b"\x0a\xff\xff\xff\xff\x0f",
        b"\x0a\x05\x0a\x03",
    ] {
        let err = grpc_raw(ch.clone(), TRACE_EXPORT_PATH, Bytes::from_static(garbage), &[])
            .await
            .expect_err("garbage refused");
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    }
    // Still serving, on the same connection.
    let ok = grpc_raw(
        ch,
        TRACE_EXPORT_PATH,
        llm_batch(1, 3, 3, now_nanos()).encode_to_vec().into(),
        &[],
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");
    let summary = running.stop().await;
    assert_eq!(summary.requests.bad_request, 3);
    assert_eq!(summary.spans.accepted, 3);
}

#[tokio::test]
async fn oversized_requests_are_resource_exhausted() {
    let mut config = test_config();
    config.max_request_bytes = 64 * 1024;
    let running = start(config).await;
    let ch = channel(&grpc_url(&running)).await;
    let big = llm_batch(1, 100, 10, now_nanos());
    assert!(big.encoded_len() > 64 * 1024);
    let err = TraceServiceClient::new(ch.clone())
        .export(big.clone())
        .await
        .expect_err("too big");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    // Compressed under the limit but inflating past it: refused the same way.
    let err = TraceServiceClient::new(ch.clone())
        .send_compressed(CompressionEncoding::Gzip)
        .export(big)
        .await
        .expect_err("too big once inflated");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    TraceServiceClient::new(ch)
        .export(llm_batch(1, 5, 5, now_nanos()))
        .await
        .expect("small still fine");
    let summary = running.stop().await;
    assert_eq!(summary.requests.too_large, 2);
    assert_eq!(summary.spans.accepted, 5);
}

#[tokio::test]
async fn a_bearer_token_is_required_when_configured() {
    let mut config = test_config();
    config.auth_token = Some("s3cret".into());
    let running = start(config).await;
    let ch = channel(&grpc_url(&running)).await;
    let body: Bytes = llm_batch(1, 2, 2, now_nanos()).encode_to_vec().into();
    let err = grpc_raw(ch.clone(), TRACE_EXPORT_PATH, body.clone(), &[])
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = grpc_raw(
        ch.clone(),
        TRACE_EXPORT_PATH,
        body.clone(),
        &[("authorization", "Bearer nope")],
    )
    .await
    .expect_err("wrong token");
    assert_eq!(err.code(), Code::Unauthenticated);
    grpc_raw(ch, TRACE_EXPORT_PATH, body, &[("authorization", "Bearer s3cret")])
        .await
        .expect("right token");
    let summary = running.stop().await;
    assert_eq!(summary.requests.unauthorized, 2);
    assert_eq!(
        summary.spans.received, 2,
        "refused requests are not even counted as received"
    );
}

// Holding the store lock across awaits is the point: it stalls the ingest thread.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn a_full_handoff_answers_unavailable_and_counts_drops() {
    let mut config = test_config();
    config.handoff.max_items = 100;
    let running = start(config).await;
    let ch = channel(&grpc_url(&running)).await;
    let pipeline = running.pipeline.clone();
    let (mut accepted, mut refused) = (0u64, 0u64);
    {
        // Hold the store: the ingest thread stalls, the hand-off fills up.
        let _stall = pipeline.store();
        for i in 0..10 {
            match TraceServiceClient::new(ch.clone())
                .export(llm_batch(i * 10 + 1, 40, 4, now_nanos()))
                .await
            {
                Ok(_) => accepted += 40,
                Err(e) => {
                    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
                    refused += 40;
                }
            }
        }
    }
    assert!(
        refused > 0 && accepted > 0,
        "accepted {accepted} refused {refused}"
    );
    // Once the store is free again, exports succeed.
    pipeline.flush();
    TraceServiceClient::new(ch)
        .export(llm_batch(1000, 4, 4, now_nanos()))
        .await
        .expect("recovered");
    let summary = running.stop().await;
    assert_eq!(summary.spans.dropped, refused);
    assert_eq!(summary.spans.accepted, accepted + 4);
    assert_eq!(
        summary.spans.stored + summary.spans.evicted,
        summary.spans.accepted,
        "nothing accepted vanished"
    );
    assert_eq!(summary.requests.overloaded, refused / 40);
}

#[tokio::test]
async fn unknown_services_are_unimplemented() {
    let running = start(test_config()).await;
    let ch = channel(&grpc_url(&running)).await;
    let err = grpc_raw(
        ch,
        "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
        Bytes::new(),
        &[],
    )
    .await
    .expect_err("no profiles service");
    assert_eq!(err.code(), Code::Unimplemented);
    running.stop().await;
}
