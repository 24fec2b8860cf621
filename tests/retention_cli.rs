//! Failure-biased retention end to end: a capture of 20 failing traces (10 with an ERROR span,
//! 10 with a failed evaluation event) followed by 20,000 plain ones, read by the real `report`
//! binary with `--max-spans 5000`: the failing traces are all still held at the end.

mod common;

use common::run_llmwatch as llmwatch;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status};
use prost::Message;

const FAILING: u64 = 20;
const PLAIN: u64 = 20_000;

fn text(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

/// Trace `n`: one span; the first ten fail with status ERROR, the next ten carry a failed
/// `gen_ai.evaluation.result` event, the rest are plain.
fn one_span(n: u64) -> Span {
    let start = 1_800_000_000_000_000_000 + n * 1_000_000;
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&n.to_be_bytes());
    trace_id[15] = 1;
    let mut s = Span {
        trace_id: trace_id.to_vec(),
        span_id: (n | 1 << 62).to_be_bytes().to_vec(),
        name: "GET /work".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 20_000_000,
        ..Default::default()
    };
    if n < FAILING / 2 {
        s.status = Some(Status {
            code: status::StatusCode::Error as i32,
            message: "upstream failed".into(),
        });
    } else if n < FAILING {
        s.events.push(span::Event {
            name: "gen_ai.evaluation.result".into(),
            time_unix_nano: start + 10_000_000,
            attributes: vec![
                text("gen_ai.evaluation.name", "Groundedness"),
                text("gen_ai.evaluation.score.label", "fail"),
            ],
            ..Default::default()
        });
    }
    s
}

/// The capture in the Collector's `format: proto` framing, 500 spans a request.
fn capture(dir: &std::path::Path) -> std::path::PathBuf {
    let mut out = Vec::new();
    let all: Vec<u64> = (0..FAILING + PLAIN).collect();
    for chunk in all.chunks(500) {
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![text("service.name", "retention-test")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: chunk.iter().map(|n| one_span(*n)).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let bytes = req.encode_to_vec();
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    let path = dir.join("failures-then-plain.traces.bin");
    std::fs::write(&path, out).unwrap();
    path
}

fn report(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = llmwatch(&all);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn twenty_failing_traces_outlive_twenty_thousand_plain_ones_under_max_spans_5000() {
    let dir = tempfile::tempdir().unwrap();
    let path = capture(dir.path());
    let file = path.to_str().unwrap();

    let s = report(&[file, "--max-spans", "5000"]);
    assert_eq!(s["spans"]["accepted"], FAILING + PLAIN);
    assert_eq!(s["spans"]["stored"], 5000);
    let r = &s["retention"];
    assert_eq!(r["keep_share"], 0.5);
    let held = &r["held_traces_by_reason"];
    assert_eq!(held["error"], 10, "{r}");
    assert_eq!(held["failed_verdict"], 10, "{r}");
    // Every reason is listed, with 0 when no trace has it.
    let mut names: Vec<&str> = held.as_object().unwrap().keys().map(String::as_str).collect();
    let mut all: Vec<&str> = llmwatch::store::keep::KeepReason::ALL
        .iter()
        .map(|r| r.name())
        .collect();
    names.sort();
    all.sort();
    assert_eq!(names, all);
    assert_eq!(held["slow"], 0);
    assert_eq!(r["evicted_kept"], 0);
    assert_eq!(r["evicted_plain"], PLAIN - (5000 - FAILING));
    assert_eq!(s["memory"]["traces_evicted"], r["evicted_plain"]);

    // With no share for kept traces they go first, as plain ones did before.
    let s = report(&[file, "--max-spans", "5000", "--keep-share", "0"]);
    let r = &s["retention"];
    assert_eq!(r["keep_share"], 0.0);
    assert_eq!(r["held_traces_by_reason"]["error"], 0, "{r}");
    assert_eq!(r["evicted_kept"], FAILING);
}

#[test]
fn keep_share_outside_zero_to_one_is_refused() {
    let (code, _, stderr) = llmwatch(&["report", "--keep-share", "1.5", "x.jsonl"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("expected a share from 0 to 1"), "{stderr}");
}

#[test]
fn the_demo_captures_alert_examples_and_incidents_are_kept() {
    let capture = format!("{}/demo/capture.jsonl.gz", env!("CARGO_MANIFEST_DIR"));
    let rules = format!("{}/demo/alerts.toml", env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let (code, out, err) = llmwatch(&[
        "check",
        &capture,
        "--rules",
        &rules,
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let mut examples: Vec<&str> = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["example_trace_ids"].as_array().unwrap())
        .map(|id| id.as_str().unwrap())
        .collect();
    examples.sort_unstable();
    examples.dedup();
    assert!(!examples.is_empty());
    let held = &s["retention"]["held_traces_by_reason"];
    eprintln!("demo capture, check: {held}");
    // Nothing was evicted, so every example named at the end is held and kept (earlier
    // windows' examples too).
    assert_eq!(s["retention"]["evicted_plain"], 0);
    assert!(
        held["alert_example"].as_u64().unwrap() >= examples.len() as u64,
        "{held}"
    );
    // The scripted incidents: a cost spike and a latency regression.
    assert!(held["cost_outlier"].as_u64().unwrap() > 0, "{held}");
    assert!(held["slow"].as_u64().unwrap() > 0, "{held}");
    assert!(held["failed_verdict"].as_u64().unwrap() > 0, "{held}");
}
