//! The built-in evaluators' verdicts, explanations included, pinned by a hash per input: every
//! trace capture among the fixtures, the demo capture and the ingest bench's agent traces, each
//! converted and evaluated request by request with the default configuration (as ingest does).
//! Speed work on the evaluators must leave these byte-identical; a change of a rule changes a
//! hash on purpose, and the new one goes here with the reason in the commit message.

#[path = "../benches/agent/workload.rs"]
#[allow(dead_code)]
mod agent;

use llmwatch::cost::CostTable;
use llmwatch::eval::BuiltinConfig;
use llmwatch::ingest::capture::{CaptureReader, Message};
use llmwatch::model::{ConvertLimits, Converter, SpanRecord};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

/// FNV-1a over the text: stable across builds and platforms.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One line per verdict, every field the evaluators set, in the order they came.
fn verdict_lines(requests: impl Iterator<Item = ExportTraceServiceRequest>) -> (usize, String) {
    let mut c = Converter::new(
        ConvertLimits::default(),
        Arc::default(),
        Some(Arc::new(CostTable::bundled())),
    );
    let config = BuiltinConfig::default();
    let mut out = String::new();
    let mut n = 0;
    for req in requests {
        let mut spans: Vec<SpanRecord> = Vec::new();
        c.convert_traces_unevaluated(req, &mut spans, &mut Vec::new());
        let mut verdicts = Vec::new();
        llmwatch::model::convert::builtin_evaluation(&config, &spans, &mut verdicts);
        for v in &verdicts {
            n += 1;
            let _ = writeln!(
                out,
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {}",
                v.trace_id,
                v.target,
                v.name,
                v.score.map(f64::to_bits),
                v.label.as_deref(),
                v.passed,
                v.explanation.as_deref(),
                v.time_unix_nano
            );
        }
    }
    (n, out)
}

fn capture(path: &Path) -> impl Iterator<Item = ExportTraceServiceRequest> {
    CaptureReader::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .filter_map(|r| match r.expect("capture line").message {
            Message::Traces(req) => Some(req),
            _ => None,
        })
}

fn pinned(what: &str, requests: impl Iterator<Item = ExportTraceServiceRequest>, want: (usize, u64)) {
    let (n, lines) = verdict_lines(requests);
    let got = (n, fnv(&lines));
    assert_eq!(
        got,
        want,
        "{what}: the built-in verdicts changed (count, hash); first lines:\n{}",
        lines.lines().take(5).collect::<Vec<_>>().join("\n")
    );
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn fixture_captures() {
    let cases: [(&str, (usize, u64)); 4] = [
        ("tests/fixtures/otel_genai.jsonl", (5, 5617528718060701149)),
        ("tests/fixtures/openinference.jsonl", (5, 1852993345986713127)),
        ("tests/fixtures/otel_genai_eval.jsonl", (5, 9845513603867993138)),
        (
            "tests/fixtures/capture/collector.traces.jsonl",
            (0, 14695981039346656037),
        ),
    ];
    let got: Vec<_> = cases
        .iter()
        .map(|(file, _)| {
            let (n, lines) = verdict_lines(capture(&root().join(file)));
            (*file, (n, fnv(&lines)))
        })
        .collect();
    assert_eq!(got, cases, "the built-in verdicts changed (count, hash)");
}

#[test]
fn demo_capture() {
    pinned(
        "demo/capture.jsonl.gz",
        capture(&root().join("demo/capture.jsonl.gz")),
        (10305, 10405659685289099285),
    );
}

#[test]
fn agent_traces() {
    // Six of the bench's agent batches, each in its own second as the bench sends them.
    let base = 1_790_000_000_000_000_000;
    let batches = (0..6u64).map(|k| agent::agent_batch(1 + k * 100, 512, base + k * 3_000_000_000));
    pinned("agent traces", batches, (1858, 5421869095622214964));
}
