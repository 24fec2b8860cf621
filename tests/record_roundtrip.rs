//! Record live traffic (gRPC and HTTP) with `--record`, then read the recording back: the same
//! summary numbers and the same span lines as the original captures give.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use std::process::Command;

fn lines(name: &str) -> Vec<String> {
    fixture(name)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn report(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The parts of a summary that describe the traffic (not the requests or memory of the run).
fn traffic(summary: &serde_json::Value) -> serde_json::Value {
    let mut s = summary.clone();
    // `record` is the live run's own (what it wrote); `input` the replay's.
    for key in ["requests", "memory", "input", "truncation", "record"] {
        s.as_object_mut().unwrap().remove(key);
    }
    s
}

#[tokio::test]
async fn recorded_live_traffic_replays_to_the_same_numbers_and_spans() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("capture.jsonl");
    let server = spawn_headless(&["--record", rec.to_str().unwrap()], &[]);
    // Traces over gRPC, logs over HTTP JSON, a second trace file over HTTP protobuf.
    let ch = channel(&format!("http://{}", server.grpc)).await;
    for l in lines("otel_genai_eval.jsonl") {
        let req: ExportTraceServiceRequest = serde_json::from_str(&l).unwrap();
        TraceServiceClient::new(ch.clone()).export(req).await.unwrap();
    }
    for l in lines("otel_genai_eval.logs.jsonl") {
        let req: ExportLogsServiceRequest = serde_json::from_str(&l).unwrap();
        LogsServiceClient::new(ch.clone()).export(req).await.unwrap();
    }
    let http = server.http;
    let oi = lines("openinference.jsonl");
    tokio::task::spawn_blocking(move || {
        for l in oi {
            let req: ExportTraceServiceRequest = serde_json::from_str(&l).unwrap();
            let body = prost::Message::encode_to_vec(&req);
            assert_eq!(
                post(http, "/v1/traces", "application/x-protobuf", &body).status,
                200
            );
        }
    })
    .await
    .unwrap();
    let (stdout, ok) = server.terminate();
    assert!(ok);
    let live: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(live["record"]["lines"], 4);
    assert_eq!(live["record"]["spans"], live["spans"]["accepted"]);
    assert_eq!(live["record"]["logs"], live["logs"]["accepted"]);

    let recorded = std::fs::read_to_string(&rec).unwrap();
    assert_eq!(recorded.lines().count(), 4, "one line per accepted request");
    let replayed: serde_json::Value = serde_json::from_str(&report(&[rec.to_str().unwrap()])).unwrap();
    assert_eq!(traffic(&replayed), traffic(&live));
    assert_eq!(live["spans"]["accepted"], 14);

    // Span lines: the recording gives exactly what the original captures give.
    let originals = [
        format!(
            "{}/tests/fixtures/otel_genai_eval.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ),
        format!(
            "{}/tests/fixtures/otel_genai_eval.logs.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ),
        format!(
            "{}/tests/fixtures/openinference.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ),
    ];
    let mut from_originals: Vec<String> = report(&["--spans", &originals[0], &originals[1], &originals[2]])
        .lines()
        .map(str::to_string)
        .collect();
    let mut from_recording: Vec<String> = report(&["--spans", rec.to_str().unwrap()])
        .lines()
        .map(str::to_string)
        .collect();
    from_originals.sort();
    from_recording.sort();
    assert_eq!(from_recording, from_originals);
}
