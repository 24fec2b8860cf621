//! Verdicts through the live receivers: `gen_ai.evaluation.result` log records over gRPC logs
//! and over HTTP OTLP/JSON, arriving before and after the spans they judge, and an OpenInference
//! EVALUATOR span linked to its target.

mod common;

use common::*;
use llmwatch::model::{SpanId, TraceId};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

fn eval_spans() -> ExportTraceServiceRequest {
    serde_json::from_str(fixture("otel_genai_eval.jsonl").lines().next().unwrap()).unwrap()
}

/// The capture's log export requests, one a line.
fn eval_logs_json() -> Vec<String> {
    fixture("otel_genai_eval.logs.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn hex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// (span id, verdict name) pairs attached in the held trace, sorted.
fn attached(running: &llmwatch::server::Running) -> Vec<(String, String, String)> {
    running.pipeline.flush();
    let store = running.pipeline.store();
    let trace = store
        .trace(&TraceId(hex("05a5d43155fac05705ad8d64920391e2")))
        .expect("trace held");
    // The app's verdicts; llmwatch's own checks (source "llmwatch") are tested in src/eval.
    let mut out: Vec<_> = trace
        .verdicts
        .iter()
        .filter(|v| v.source != llmwatch::semconv::VerdictSource::Llmwatch)
        .filter_map(|v| {
            let target = trace.verdict_target(v)?;
            Some((
                target.span_id.to_string(),
                v.name.to_string(),
                v.source.as_str().to_string(),
            ))
        })
        .collect();
    out.sort();
    out
}

const EXPECTED: [(&str, &str, &str); 4] = [
    ("609547baa1e4ba2a", "groundedness", "span_event"),
    ("609547baa1e4ba2a", "relevance", "span_event"),
    ("609547baa1e4ba2a", "tone", "log_record"),
    ("d07dca190f6e67e8", "tool_selection", "log_record"),
];

fn expected() -> Vec<(String, String, String)> {
    EXPECTED
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[tokio::test]
async fn log_verdicts_over_grpc_logs_even_before_their_spans() {
    let running = start(test_config()).await;
    let ch = channel(&grpc_url(&running)).await;
    // Verdicts first; the spans they judge come later.
    for line in eval_logs_json() {
        let logs: ExportLogsServiceRequest = serde_json::from_str(&line).unwrap();
        LogsServiceClient::new(ch.clone())
            .export(logs)
            .await
            .expect("logs");
    }
    running.pipeline.flush();
    assert_eq!(
        running.pipeline.store().pending_verdicts(),
        2,
        "waiting for their spans"
    );
    TraceServiceClient::new(ch)
        .export(eval_spans())
        .await
        .expect("spans");
    assert_eq!(attached(&running), expected());
    let summary = running.stop().await;
    // Four from the app, plus llmwatch's own checks on the model calls.
    assert!(
        summary.verdict_targets.received > 4,
        "{:?}",
        summary.verdict_targets
    );
    assert_eq!(summary.verdict_targets.pending, 0);
}

#[tokio::test]
async fn log_verdicts_over_http_json() {
    let running = start(test_config()).await;
    let addr = running.http_addr.unwrap();
    let spans = serde_json::to_vec(&eval_spans()).unwrap();
    let logs = eval_logs_json();
    let statuses = tokio::task::spawn_blocking(move || {
        let mut s = vec![post(addr, "/v1/traces", "application/json", &spans).status];
        s.extend(
            logs.iter()
                .map(|l| post(addr, "/v1/logs", "application/json", l.as_bytes()).status),
        );
        s
    })
    .await
    .unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(attached(&running), expected());
    running.stop().await;
}

#[tokio::test]
async fn an_evaluator_span_judges_the_span_it_links_to() {
    let running = start(test_config()).await;
    let trace = "5b8efff798038103d269b633813fc60c";
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[
        {{"traceId":"{trace}","spanId":"00000000000000a1","name":"ChatCompletion","startTimeUnixNano":"1795759123000000000","endTimeUnixNano":"1795759123500000000",
          "attributes":[{{"key":"openinference.span.kind","value":{{"stringValue":"LLM"}}}},{{"key":"llm.model_name","value":{{"stringValue":"gpt-4o"}}}}]}},
        {{"traceId":"{trace}","spanId":"00000000000000b2","parentSpanId":"00000000000000c3","name":"Hallucination","startTimeUnixNano":"1795759124000000000","endTimeUnixNano":"1795759124100000000",
          "links":[{{"traceId":"{trace}","spanId":"00000000000000a1"}}],
          "attributes":[{{"key":"openinference.span.kind","value":{{"stringValue":"EVALUATOR"}}}},
            {{"key":"annotations.0.annotation.name","value":{{"stringValue":"HallucinationScore"}}}},
            {{"key":"annotations.0.annotation.score","value":{{"doubleValue":0.05}}}},
            {{"key":"annotations.0.annotation.label","value":{{"stringValue":"factual"}}}}]}}
        ]}}]}}]}}"#
    );
    let addr = running.http_addr.unwrap();
    let resp =
        tokio::task::spawn_blocking(move || post(addr, "/v1/traces", "application/json", body.as_bytes()))
            .await
            .unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    running.pipeline.flush();
    {
        let store = running.pipeline.store();
        let t = store.trace(&TraceId(hex(trace))).unwrap();
        let target = t.span(SpanId(hex("00000000000000a1"))).unwrap();
        let v: Vec<_> = t.verdicts_for(target).collect();
        assert_eq!(v.len(), 1, "the link names the target, not the parent");
        assert_eq!(
            (&*v[0].name, v[0].score, v[0].passed),
            ("HallucinationScore", Some(0.05), Some(true))
        );
    }
    running.stop().await;
}
