//! Secrets inside values (not under credential keys): a span whose prompt, input, event and a
//! log body paste API keys and a connection string, sent over OTLP/HTTP. The `--record` file,
//! the `e` export and the `y` copy (`model::otlp_out`) hold none of them, and keep the text
//! around each.

mod common;

use common::*;
use serde_json::json;

const SECRETS: [&str; 5] = [
    "sk-proj-Ab3dEf5hIj7lMn9pQr1tUv3xYz5Ab7cD9eF1gH3i",
    "sk-ant-api03-R2D2c3p0_Xw-Yz0123456789abcdefABCDEF-xyzQAA",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8",
    "hunter2pass",
];

fn attr(key: &str, value: &str) -> serde_json::Value {
    json!({"key": key, "value": {"stringValue": value}})
}

const TRACE: &str = "5ec2e75ec2e75ec2e75ec2e75ec2e700";

fn traces(start: u64) -> String {
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", "leaky")]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": [{
            "traceId": TRACE,
            "spanId": "00000000000000a1",
            "name": "chat gpt-4o",
            "kind": 3,
            "startTimeUnixNano": start.to_string(),
            "endTimeUnixNano": (start + 300_000_000).to_string(),
            "attributes": [
                attr("gen_ai.operation.name", "chat"),
                attr("gen_ai.request.model", "gpt-4o"),
                attr("gen_ai.prompt", &format!("Use the key {} to call the API.", SECRETS[0])),
                attr("input.value", &format!("{{\"messages\":[{{\"content\":\"key {}\"}}]}}", SECRETS[1])),
                attr("db.connection_string", &format!("postgres://app:{}@db:5432/prod", SECRETS[4])),
            ],
            "events": [{
                "name": "gen_ai.user.message",
                "timeUnixNano": start.to_string(),
                "attributes": [attr("content", &format!("aws id {} here", SECRETS[2]))],
            }],
            "status": {},
        }]}],
    }]})
    .to_string()
}

fn logs(start: u64) -> String {
    json!({"resourceLogs": [{
        "resource": {"attributes": [attr("service.name", "leaky")]},
        "scopeLogs": [{"scope": {"name": "t"}, "logRecords": [{
            "timeUnixNano": start.to_string(),
            "traceId": TRACE,
            "spanId": "00000000000000a1",
            "body": {"stringValue": format!("pushed with {}", SECRETS[3])},
        }]}],
    }]})
    .to_string()
}

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} holds {s}:\n{text}");
    }
    for kept in [
        "Use the key [redacted] to call the API.",
        "postgres://app:[redacted]@db:5432/prod",
        "aws id [redacted] here",
    ] {
        assert!(text.contains(kept), "{what} lost {kept:?}:\n{text}");
    }
}

#[test]
fn the_recording_holds_no_secret_from_values() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.jsonl");
    let server = spawn_headless(&["--record", rec.to_str().unwrap()], &[]);
    let start = now_nanos() - 1_000_000_000;
    let ok = |r: HttpResponse| assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    ok(post(
        server.http,
        "/v1/traces",
        "application/json",
        traces(start).as_bytes(),
    ));
    ok(post(
        server.http,
        "/v1/logs",
        "application/json",
        logs(start).as_bytes(),
    ));
    let (_, ok) = server.terminate();
    assert!(ok);
    let recorded = std::fs::read_to_string(&rec).unwrap();
    assert_eq!(recorded.lines().count(), 2, "{recorded}");
    assert_clean("the recording", &recorded);
    assert!(recorded.contains("pushed with [redacted]"), "{recorded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_and_the_copy_hold_no_secret_from_values() {
    let running = start(test_config()).await;
    let http = running.http_addr.unwrap();
    let start = now_nanos() - 1_000_000_000;
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            post(http, "/v1/traces", "application/json", traces(start).as_bytes()).status,
            200
        );
        assert_eq!(
            post(http, "/v1/logs", "application/json", logs(start).as_bytes()).status,
            200
        );
    })
    .await
    .unwrap();
    running.pipeline.flush();
    let dir = tempfile::tempdir().unwrap();
    let (lines, copy, exported) = {
        let store = running.pipeline.store();
        let trace = store.traces_newest_first().next().expect("the trace");
        let lines = llmwatch::model::otlp_out::trace_json_lines(trace);
        let copy = llmwatch::model::otlp_out::span_json(&trace.spans[0]);
        let path = llmwatch::model::otlp_out::export_trace(trace, dir.path()).unwrap();
        (lines, copy, std::fs::read_to_string(path).unwrap())
    };
    assert_clean("the export lines", &lines);
    assert!(lines.contains("pushed with [redacted]"), "{lines}");
    assert_clean("the `e` export", &exported);
    assert_clean("the `y` copy", &copy);
    running.stop().await;
}
