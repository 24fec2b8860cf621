//! `llmwatch diff BASELINE -- CANDIDATE` as CI runs it, on two captures that differ only in a
//! retry loop on one route (/claims: a tool called again with the same arguments) and a longer
//! prompt on another (/search: 600 more input tokens per call): exactly those changes are
//! marked, `--fail-on` turns them into exit 1, the same capture against itself marks nothing,
//! and bad input exits 2 with one line.

mod common;

use common::run_llmwatch as llmwatch;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const TRACES_PER_ROUTE: u64 = 40;
const ROUTES: [&str; 3] = ["/claims", "/search", "/faq"];
/// 2026-12-01T12:00:00Z.
const START: u64 = 1_796_126_400_000_000_000;

/// A small deterministic generator (SplitMix64), seeded per trace so both captures draw the
/// same values for everything they share.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn attr(k: &str, v: impl Into<Value>) -> Value {
    match v.into() {
        Value::String(s) => json!({"key": k, "value": {"stringValue": s}}),
        Value::Number(n) if n.is_f64() => json!({"key": k, "value": {"doubleValue": n}}),
        Value::Number(n) => json!({"key": k, "value": {"intValue": n.to_string()}}),
        other => panic!("unsupported attribute {other}"),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Baseline,
    Candidate,
}

/// The spans of one trace: the agent's root, one or two chat calls (the last one judged by an
/// evaluator), and a policy lookup tool call; in the candidate, /claims retries the lookup and
/// /search sends a longer prompt.
fn trace_spans(route: &str, n: u64, variant: Variant) -> Vec<Value> {
    let r = ROUTES.iter().position(|x| *x == route).unwrap() as u64;
    let id = r * 1000 + n + 1;
    let mut rng = Rng(id);
    let trace_id = format!("{id:032x}");
    let span_id = |k: u64| format!("{:016x}", id * 100 + k);
    let t0 = START + (n * 3 + r) * 1_000_000_000;
    let mut spans = Vec::new();
    let mut at = t0 + 5_000_000;
    let calls = rng.range(1, 2);
    for c in 0..calls {
        let dur = rng.range(400, 1600) * 1_000_000;
        let mut input = rng.range(300, 500);
        if variant == Variant::Candidate && route == "/search" {
            input += 600;
        }
        let output = rng.range(60, 140);
        let error = rng.range(0, 19) == 0;
        let mut span = json!({
            "traceId": trace_id, "spanId": span_id(10 + c), "parentSpanId": span_id(1),
            "name": "chat gpt-4o-mini", "kind": 3,
            "startTimeUnixNano": at.to_string(), "endTimeUnixNano": (at + dur).to_string(),
            "attributes": [
                attr("gen_ai.operation.name", "chat"),
                attr("gen_ai.provider.name", "openai"),
                attr("gen_ai.request.model", "gpt-4o-mini"),
                attr("gen_ai.usage.input_tokens", input),
                attr("gen_ai.usage.output_tokens", output),
                attr("gen_ai.server.time_to_first_token", rng.range(150, 400) as f64 / 1000.0),
            ],
            "status": {"code": if error { 2 } else { 0 }},
        });
        if c + 1 == calls {
            let score = rng.range(50, 100) as f64 / 100.0;
            span["events"] = json!([{
                "timeUnixNano": (at + dur).to_string(),
                "name": "gen_ai.evaluation.result",
                "attributes": [
                    attr("gen_ai.evaluation.name", "relevance"),
                    attr("gen_ai.evaluation.score.value", score),
                    attr("gen_ai.evaluation.score.label", if score >= 0.6 { "pass" } else { "fail" }),
                ],
            }]);
        }
        spans.push(span);
        at += dur + 10_000_000;
    }
    let args = format!(r#"{{"policy":"P-{}"}}"#, rng.range(1000, 9999));
    let retries = if variant == Variant::Candidate && route == "/claims" {
        // The loop: the same lookup again, one to three times.
        Rng(id ^ 0xdead).range(1, 3)
    } else {
        0
    };
    for k in 0..=retries {
        let dur = 80_000_000;
        spans.push(json!({
            "traceId": trace_id, "spanId": span_id(50 + k), "parentSpanId": span_id(1),
            "name": "execute_tool lookup_policy", "kind": 1,
            "startTimeUnixNano": at.to_string(), "endTimeUnixNano": (at + dur).to_string(),
            "attributes": [
                attr("gen_ai.operation.name", "execute_tool"),
                attr("gen_ai.tool.name", "lookup_policy"),
                attr("gen_ai.tool.call.arguments", args.as_str()),
            ],
            "status": {},
        }));
        at += dur + 5_000_000;
    }
    spans.push(json!({
        "traceId": trace_id, "spanId": span_id(1),
        "name": "invoke_agent claims-helper", "kind": 2,
        "startTimeUnixNano": t0.to_string(), "endTimeUnixNano": (at + 5_000_000).to_string(),
        "attributes": [
            attr("gen_ai.operation.name", "invoke_agent"),
            attr("app.route", route),
            attr("tenant.id", "acme"),
        ],
        "status": {},
    }));
    spans
}

/// A capture: one OTLP/JSON line per trace.
fn write_capture(path: &Path, variant: Variant) {
    let mut text = String::new();
    for n in 0..TRACES_PER_ROUTE {
        for route in ROUTES {
            let line = json!({"resourceSpans": [{
                "resource": {"attributes": [attr("service.name", "claims-agent")]},
                "scopeSpans": [{"scope": {"name": "diff-test"}, "spans": trace_spans(route, n, variant)}],
            }]});
            text.push_str(&line.to_string());
            text.push('\n');
        }
    }
    std::fs::write(path, text).unwrap();
}

fn captures() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (base, cand) = (
        dir.path().join("baseline.jsonl"),
        dir.path().join("candidate.jsonl"),
    );
    write_capture(&base, Variant::Baseline);
    write_capture(&cand, Variant::Candidate);
    (dir, base, cand)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// (cohort, metric) of each row marked significant.
fn marked(json: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["significant"] == true)
        .map(|r| {
            (
                r["cohort"].as_str().unwrap().into(),
                r["metric"].as_str().unwrap().into(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn diff_marks_exactly_the_retry_loop_and_the_longer_prompt() {
    let (_dir, base, cand) = captures();
    let (code, out, err) = llmwatch(&["diff", s(&base), "--", s(&cand), "--json"]);
    assert_eq!(code, 0, "no --fail-on: exit 0\n{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["baseline"]["traces"], 120);
    assert_eq!(json["candidate"]["traces"], 120);
    let pair = |c: &str, m: &str| (c.to_string(), m.to_string());
    assert_eq!(
        marked(&json),
        vec![
            pair("/claims", "repeated_tool_calls_per_trace"),
            pair("/claims", "tool_calls_per_trace"),
            pair("/search", "cost_per_trace_usd"),
            pair("/search", "input_tokens_per_call"),
        ],
        "{out}"
    );
    // Sorted by the largest significant change: from no repeats at all first.
    let first = &json["rows"][0];
    assert_eq!(first["metric"], "repeated_tool_calls_per_trace");
    assert_eq!(first["from_zero"], true);
    let tokens = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cohort"] == "/search" && r["metric"] == "input_tokens_per_call")
        .unwrap();
    assert!(tokens["change"].as_f64().unwrap() > 100.0, "{tokens}");
    assert!(tokens["p_value"].as_f64().unwrap() < 1e-6);
    assert_eq!(tokens["regression"], true);

    // The table says the same, fits 100 columns, and carries no colour when piped.
    let (code, table, _) = llmwatch(&["diff", s(&base), "--", s(&cand)]);
    assert_eq!(code, 0);
    let starred: Vec<&str> = table.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(starred.len(), 4, "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
    assert!(!table.contains('\x1b'));
    assert!(table.contains("4 changes beyond noise"), "{table}");
    println!("{table}");
}

#[test]
fn fail_on_turns_a_regression_beyond_its_limit_into_exit_1() {
    let (_dir, base, cand) = captures();
    let (code, out, err) = llmwatch(&[
        "diff",
        s(&base),
        "--",
        s(&cand),
        "--fail-on",
        "cost=20%,p99=25%,fail_rate=5pp",
    ]);
    assert_eq!(
        code, 1,
        "the longer prompt costs more than 20% more\n{out}\n{err}"
    );
    let gated: Vec<&str> = out.lines().filter(|l| l.starts_with('!')).collect();
    assert_eq!(gated.len(), 1, "{out}");
    assert!(
        gated[0].contains("/search") && gated[0].contains("cost_per_trace_usd"),
        "{out}"
    );
    assert!(out.contains("1 beyond --fail-on (!)"), "{out}");
    println!("{out}");

    let (code, out, _) = llmwatch(&[
        "diff",
        s(&base),
        "--",
        s(&cand),
        "--fail-on",
        "repeated_tool_calls=50%",
        "--json",
    ]);
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["fails_gate"], 1);

    // Limits the changes stay within, or metrics that did not move: exit 0.
    let (code, out, _) = llmwatch(&[
        "diff",
        s(&base),
        "--",
        s(&cand),
        "--fail-on",
        "cost=500%,p99=1%,error_rate=1pp",
    ]);
    assert_eq!(code, 0, "{out}");
    // Improvements never fail the gate: the candidate as baseline.
    let (code, out, _) = llmwatch(&[
        "diff",
        s(&cand),
        "--",
        s(&base),
        "--fail-on",
        "cost=1%,tool_calls=1%",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("4 changes beyond noise (*: p < 0.05, at least 20 samples a side), 0 worse"),
        "{out}"
    );
}

#[test]
fn a_capture_against_itself_marks_nothing_and_exits_0() {
    let (_dir, base, _) = captures();
    let (code, out, err) = llmwatch(&[
        "diff",
        s(&base),
        "--",
        s(&base),
        "--fail-on",
        "cost=0%,p99=0%,fail_rate=0pp",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(marked(&json), vec![]);
    assert_eq!(json["significant"], 0);
    assert!(
        json["rows"].as_array().unwrap().len() > 30,
        "every metric of every route listed"
    );
}

#[test]
fn by_model_puts_every_call_under_its_model() {
    let (_dir, base, cand) = captures();
    let (code, out, _) = llmwatch(&["diff", s(&base), "--", s(&cand), "--by", "model", "--json"]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["by"], "model");
    let cohorts: std::collections::BTreeSet<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cohort"].as_str().unwrap())
        .collect();
    assert_eq!(cohorts.into_iter().collect::<Vec<_>>(), ["gpt-4o-mini"]);
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let (dir, base, _) = captures();
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "not otlp\n").unwrap();
    let missing = dir.path().join("missing.jsonl");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["diff", s(&base), "--", s(&base), "--fail-on", "cost=5pp"],
            "cost takes a limit in percent",
        ),
        (
            vec!["diff", s(&base), "--", s(&base), "--fail-on", "latency=5%"],
            "unknown metric \"latency\"",
        ),
        (
            vec!["diff", s(&base), "--", s(&base), "--by", "session"],
            "--by session: one of route",
        ),
        (
            vec!["diff", s(&base), "--", s(&base), "--by", "colour"],
            "unknown cohort",
        ),
        (
            vec!["diff", s(&base), "--", s(&missing)],
            "candidate: cannot read",
        ),
        (vec!["diff", s(&garbage), "--", s(&base)], "baseline: "),
    ];
    for (args, says) in cases {
        let (code, out, err) = llmwatch(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // No candidate at all: clap's usage error, exit 2.
    let (code, _, _) = llmwatch(&["diff", s(&base)]);
    assert_eq!(code, 2);
}
