//! Golden tests over captures made by real instrumentation libraries (tests/fixtures, copied
//! from ../shared/fixtures). Every expected value below was worked out by hand from the capture
//! and the bundled price table (src/cost/prices.json, LiteLLM 1.110.2):
//!   gpt-4o-mini(-2024-07-18): input $0.15/M, cache read $0.075/M, output $0.60/M
//!   text-embedding-3-small:   input $0.02/M
//! not copied from llmwatch's output.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::report::{ReportOptions, run};
use llmwatch::summary::Summary;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// Runs `report` over files named relative to tests/fixtures (absolute paths work too).
fn report(files: &[&str], spans: bool) -> (Summary, Vec<Value>) {
    let (store, handoff) = split_budget(200_000, 512 << 20);
    let options = ReportOptions {
        files: files
            .iter()
            .map(|f| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures")
                    .join(f)
            })
            .collect(),
        spans,
        speed: llmwatch::replay::Speed::Max,
        status_every: None,
        recorder: None,
        store,
        handoff,
        // The goldens are the app's own verdicts; llmwatch's evaluators are tested in src/eval.
        semconv: Arc::new(llmwatch::semconv::SemconvConfig {
            builtin: llmwatch::eval::BuiltinConfig::off(),
            ..Default::default()
        }),
        costs: Arc::new(CostTable::bundled()),
        max_input_ratio: llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO,
    };
    let mut out = Vec::new();
    let summary = run(&options, &mut out).expect("report runs");
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| spans && !l.is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    (summary, lines)
}

fn span<'a>(lines: &'a [Value], id: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["span_id"] == id)
        .unwrap_or_else(|| panic!("span {id} listed"))
}

fn close(got: &Value, want: f64) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {got}"));
    assert!((g - want).abs() < 1e-12, "got {g}, want {want}");
}

struct Expect {
    span_id: &'static str,
    kind: &'static str,
    provider: Option<&'static str>,
    model: Option<&'static str>,
    input: Option<u64>,
    output: Option<u64>,
    cache_read: Option<u64>,
    cost: Option<f64>,
    ttft_ms: Option<f64>,
}

fn check(lines: &[Value], e: &Expect) {
    let s = span(lines, e.span_id);
    let ctx = format!("span {} ({})", e.span_id, s["name"]);
    assert_eq!(s["kind"], e.kind, "{ctx}");
    assert_eq!(s["provider"].as_str(), e.provider, "{ctx}");
    assert_eq!(s["model"].as_str(), e.model, "{ctx}");
    assert_eq!(s["input_tokens"].as_u64(), e.input, "{ctx}");
    assert_eq!(s["output_tokens"].as_u64(), e.output, "{ctx}");
    if let Some(c) = e.cache_read {
        assert_eq!(s["cache_read_tokens"].as_u64(), Some(c), "{ctx}");
    }
    match e.cost {
        Some(c) => {
            close(&s["cost_usd"], c);
            assert_eq!(s["cost_source"], "table", "{ctx}");
        }
        None => assert!(s["cost_usd"].is_null(), "{ctx}: {}", s["cost_usd"]),
    }
    match e.ttft_ms {
        Some(t) => close(&s["ttft_ms"], t),
        None => assert!(s["ttft_ms"].is_null(), "{ctx}"),
    }
}

#[test]
fn otel_genai_capture() {
    let (summary, lines) = report(&["otel_genai.jsonl", "otel_genai.logs.jsonl"], true);
    assert_eq!(lines.len(), 8);
    let expect = [
        // 16 tokens x $0.02/M
        Expect {
            span_id: "ee81ad081dc0c108",
            kind: "embedding",
            provider: Some("openai"),
            model: Some("text-embedding-3-small"),
            input: Some(16),
            output: Some(0),
            cache_read: None,
            cost: Some(16.0 * 0.02e-6),
            ttft_ms: None,
        },
        // 157 x $0.15/M + 25 x $0.60/M
        Expect {
            span_id: "572e2dab0d465596",
            kind: "llm",
            provider: Some("openai"),
            model: Some("gpt-4o-mini"),
            input: Some(157),
            output: Some(25),
            // This instrumentation records no cache data: null, not 0.
            cache_read: None,
            cost: Some(157.0 * 0.15e-6 + 25.0 * 0.6e-6),
            ttft_ms: None,
        },
        // Streaming, but this instrumentation records no first-token time.
        Expect {
            span_id: "a48ced3ae18b8584",
            kind: "llm",
            provider: Some("openai"),
            model: Some("gpt-4o-mini"),
            input: Some(127),
            output: Some(45),
            // This instrumentation records no cache data: null, not 0.
            cache_read: None,
            cost: Some(127.0 * 0.15e-6 + 45.0 * 0.6e-6),
            ttft_ms: None,
        },
        // HTTP 500: no usage, so no cost (and not "unpriced": the model is known).
        Expect {
            span_id: "aac3790ee66f06c4",
            kind: "llm",
            provider: Some("openai"),
            model: Some("gpt-4o-mini"),
            input: None,
            output: None,
            cache_read: None,
            cost: None,
            ttft_ms: None,
        },
        Expect {
            span_id: "c510fdf81c6404e9",
            kind: "retrieval",
            provider: Some("fake-vector-store"),
            model: Some("text-embedding-3-small"),
            input: None,
            output: None,
            cache_read: None,
            cost: None,
            ttft_ms: None,
        },
        Expect {
            span_id: "b40bc6d869c4011a",
            kind: "tool",
            provider: None,
            model: None,
            input: None,
            output: None,
            cache_read: None,
            cost: None,
            ttft_ms: None,
        },
    ];
    for e in &expect {
        check(&lines, e);
    }
    assert_eq!(
        span(&lines, "572e2dab0d465596")["response_model"],
        "gpt-4o-mini-2024-07-18"
    );
    // Children inherit route and tenant from the root span.
    assert_eq!(span(&lines, "572e2dab0d465596")["route"], "/support/order-status");
    assert_eq!(span(&lines, "aac3790ee66f06c4")["route"], "/support/cancel-order");
    assert_eq!(span(&lines, "aac3790ee66f06c4")["tenant"], "acme-corp");
    assert_eq!(span(&lines, "aac3790ee66f06c4")["status"], "error");

    assert_eq!(summary.llm_calls, 4);
    assert_eq!(
        (summary.tokens.input, summary.tokens.output),
        (16 + 157 + 127, 25 + 45)
    );
    let cost = 16.0 * 0.02e-6 + 157.0 * 0.15e-6 + 25.0 * 0.6e-6 + 127.0 * 0.15e-6 + 45.0 * 0.6e-6;
    assert!(
        (summary.cost_usd - cost).abs() < 1e-9,
        "{} vs {cost}",
        summary.cost_usd
    );
    assert_eq!(summary.unpriced_calls, 0);
    assert_eq!(summary.errors, 2);
    let chat = summary
        .by_model
        .iter()
        .find(|m| m.model == "gpt-4o-mini")
        .expect("gpt-4o-mini row");
    assert_eq!(
        (chat.provider.as_str(), chat.calls, chat.errors),
        ("openai", 3, 1)
    );
    assert_eq!((chat.input_tokens, chat.output_tokens), (284, 70));
}

#[test]
fn openinference_capture() {
    let (summary, lines) = report(&["openinference.jsonl"], true);
    assert_eq!(lines.len(), 8);
    let expect = [
        Expect {
            span_id: "030bcbebf23aee5a",
            kind: "embedding",
            provider: Some("openai"),
            model: Some("text-embedding-3-small"),
            input: Some(16),
            output: Some(0),
            cache_read: None,
            cost: Some(16.0 * 0.02e-6),
            ttft_ms: None,
        },
        // 157 prompt tokens of which 64 cached: 93 x $0.15/M + 64 x $0.075/M + 25 x $0.60/M.
        // The requested name comes from llm.invocation_parameters; llm.model_name is the snapshot.
        Expect {
            span_id: "b95cd77d64813924",
            kind: "llm",
            provider: Some("openai"),
            model: Some("gpt-4o-mini"),
            input: Some(157),
            output: Some(25),
            cache_read: Some(64),
            cost: Some(93.0 * 0.15e-6 + 64.0 * 0.075e-6 + 25.0 * 0.6e-6),
            ttft_ms: None,
        },
        // Streaming: first token event 125.852546 ms after the start.
        Expect {
            span_id: "259d9e425b737ffd",
            kind: "llm",
            provider: Some("openai"),
            model: Some("gpt-4o-mini"),
            input: Some(127),
            output: Some(45),
            cache_read: Some(32),
            cost: Some(95.0 * 0.15e-6 + 32.0 * 0.075e-6 + 45.0 * 0.6e-6),
            ttft_ms: Some(125.852546),
        },
        Expect {
            span_id: "2ff64462ffecf4f2",
            kind: "llm",
            provider: Some("openai"),
            model: Some("gpt-4o-mini"),
            input: None,
            output: None,
            cache_read: None,
            cost: None,
            ttft_ms: None,
        },
        Expect {
            span_id: "e5cc653c5ff878e4",
            kind: "retrieval",
            provider: None,
            model: None,
            input: None,
            output: None,
            cache_read: None,
            cost: None,
            ttft_ms: None,
        },
        Expect {
            span_id: "a592fa3f3083e829",
            kind: "tool",
            provider: None,
            model: None,
            input: None,
            output: None,
            cache_read: None,
            cost: None,
            ttft_ms: None,
        },
        Expect {
            span_id: "53007947fbb9c9c1",
            kind: "agent",
            provider: None,
            model: None,
            input: None,
            output: None,
            cache_read: None,
            cost: None,
            ttft_ms: None,
        },
    ];
    for e in &expect {
        check(&lines, e);
    }
    assert_eq!(
        span(&lines, "259d9e425b737ffd")["response_model"],
        "gpt-4o-mini-2024-07-18"
    );
    // Cohorts from the `metadata` JSON attribute on child spans.
    assert_eq!(span(&lines, "030bcbebf23aee5a")["route"], "/support/order-status");
    assert_eq!(span(&lines, "2ff64462ffecf4f2")["route"], "/support/cancel-order");
    assert_eq!(
        span(&lines, "030bcbebf23aee5a")["session"],
        "sess-openinference-0001"
    );

    assert_eq!(summary.llm_calls, 4);
    assert_eq!(summary.tokens.cache_read, Some(96));
    let ttft = summary.ttft_ms.p50.expect("a TTFT was measured");
    assert!(
        (ttft - 125.852546).abs() / 125.852546 < 0.0625,
        "one TTFT sample, within histogram error: {ttft}"
    );
}

#[test]
fn verdicts_from_span_events_and_log_records() {
    let (summary, lines) = report(&["otel_genai_eval.jsonl", "otel_genai_eval.logs.jsonl"], true);
    let streaming = span(&lines, "609547baa1e4ba2a");
    let names: Vec<(&str, &str)> = streaming["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("groundedness", "span_event"),
            ("relevance", "span_event"),
            ("tone", "log_record")
        ]
    );
    let tool_call = span(&lines, "d07dca190f6e67e8");
    let v = &tool_call["verdicts"][0];
    assert_eq!(
        (v["name"].as_str(), v["score"].as_f64(), v["passed"].as_bool()),
        (Some("tool_selection"), Some(1.0), Some(true))
    );
    assert_eq!(summary.verdicts.len(), 4);
    let g = summary
        .verdicts
        .iter()
        .find(|v| v.name == "groundedness")
        .unwrap();
    assert_eq!((g.count, g.fail, g.mean_score), (1, 0, 0.95));
    assert_eq!(summary.verdict_targets.received, 4);
    assert_eq!(summary.verdict_targets.pending, 0);
}

#[test]
fn verdict_logs_before_their_spans_wait_for_them() {
    // Logs file first: the verdicts arrive before the spans they are about.
    let (summary, lines) = report(&["otel_genai_eval.logs.jsonl", "otel_genai_eval.jsonl"], true);
    assert_eq!(
        span(&lines, "d07dca190f6e67e8")["verdicts"][0]["name"],
        "tool_selection"
    );
    assert_eq!(summary.verdict_targets.pending, 0);
    let (summary, _) = report(&["otel_genai_eval.logs.jsonl"], false);
    assert_eq!(
        summary.verdict_targets.pending, 2,
        "no spans: both log verdicts wait"
    );
}

/// The eval capture's log records with their trace and span ids removed, so only
/// `gen_ai.response.id` says which call they judge.
fn logs_without_trace_context(dir: &std::path::Path) -> PathBuf {
    let mut out = String::new();
    for line in std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/otel_genai_eval.logs.jsonl"),
    )
    .unwrap()
    .lines()
    .filter(|l| !l.trim().is_empty())
    {
        let mut v: Value = serde_json::from_str(line).unwrap();
        for rl in v["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                for rec in sl["logRecords"].as_array_mut().unwrap() {
                    let rec = rec.as_object_mut().unwrap();
                    rec.remove("traceId");
                    rec.remove("spanId");
                }
            }
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    let path = dir.join("eval-logs-no-context.jsonl");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn verdicts_with_only_a_response_id_find_their_span_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = logs_without_trace_context(dir.path());
    let spans = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/otel_genai_eval.jsonl");
    for files in [[spans.clone(), logs.clone()], [logs.clone(), spans.clone()]] {
        let files: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
        let (summary, lines) = report(&files, true);
        let tool_call = span(&lines, "d07dca190f6e67e8");
        assert_eq!(tool_call["verdicts"][0]["name"], "tool_selection", "{files:?}");
        let names: Vec<&str> = span(&lines, "609547baa1e4ba2a")["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"tone"), "{files:?}: {names:?}");
        assert_eq!(summary.verdict_targets.pending, 0, "{files:?}");
    }
    let (summary, _) = report(&[logs.to_str().unwrap()], false);
    assert_eq!(
        (summary.verdict_targets.received, summary.verdict_targets.pending),
        (2, 2)
    );
}

/// The captures are copies of ../shared/fixtures, whose stack traces carry a neutral
/// `/srv/harness/...` path: a fixture must not carry the home or work directory of the machine
/// that captured it (it says nothing about llmwatch and leaks the capturer's layout).
#[test]
fn fixtures_carry_no_path_of_the_capturing_machine() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = vec![dir.clone(), dir.join("capture")];
    let mut checked = 0;
    while let Some(d) = files.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                let text = std::fs::read_to_string(&path).unwrap();
                for root in ["/work/", "/home/", "/Users/", "/root/", "C:\\\\Users"] {
                    assert!(
                        !text.contains(root),
                        "{} carries a path under {root}",
                        path.display()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} fixtures found");
}
