//! People's verdicts against the judges: a capture whose model calls carry an automatic
//! Groundedness/QA verdict, and a reviews file in the review form's exact line format (an OTLP
//! logs request, `annotator_kind = "HUMAN"`, `user.name`). `report` counts the human verdicts,
//! agreement and overrides; `dataset` writes the person's verdict and the expected label.

mod common;

use common::run_llmwatch as llmwatch;
use serde_json::{Value, json};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const T0: u64 = 1_796_000_000_000_000_000;

fn s(k: &str, v: &str) -> Value {
    json!({"key": k, "value": {"stringValue": v}})
}

/// An LLM call judged by the app (a `gen_ai.evaluation.result` span event).
fn call(span: &str, n: u64, evaluator: &str, score: f64) -> Value {
    let start = T0 + n * 1_000_000_000;
    json!({
        "traceId": TRACE, "spanId": span, "name": "chat gpt-4o", "kind": 3,
        "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 500_000_000).to_string(),
        "attributes": [
            s("gen_ai.operation.name", "chat"),
            s("gen_ai.request.model", "gpt-4o"),
            s("gen_ai.provider.name", "openai"),
            s("gen_ai.input.messages", r#"[{"role":"user","parts":[{"type":"text","content":"Can I get a refund?"}]}]"#),
            s("gen_ai.output.messages", r#"[{"role":"assistant","parts":[{"type":"text","content":"Refunds within 90 days."}]}]"#),
        ],
        "events": [{
            "name": "gen_ai.evaluation.result",
            "timeUnixNano": (start + 600_000_000).to_string(),
            "attributes": [
                s("gen_ai.evaluation.name", evaluator),
                {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": score}},
            ],
        }],
        "status": {},
    })
}

/// One line of the reviews file, as the review form writes it.
fn review(span: &str, evaluator: &str, label: &str, value: f64, note: &str) -> String {
    json!({"resourceLogs": [{
        "resource": {"attributes": [s("service.name", "llmwatch")]},
        "scopeLogs": [{"scope": {"name": "llmwatch.review"}, "logRecords": [{
            "timeUnixNano": (T0 + 60_000_000_000u64).to_string(),
            "traceId": TRACE, "spanId": span,
            "eventName": "gen_ai.evaluation.result",
            "body": {},
            "attributes": [
                s("gen_ai.evaluation.name", evaluator),
                s("gen_ai.evaluation.score.label", label),
                {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": value}},
                s("gen_ai.evaluation.explanation", note),
                s("annotator_kind", "HUMAN"),
                s("user.name", "alice"),
            ],
        }]}],
    }]})
    .to_string()
}

/// (capture, reviews) in a fresh directory.
fn files(dir: &std::path::Path) -> (String, String) {
    let capture = json!({"resourceSpans": [{
        "resource": {"attributes": [s("service.name", "support-bot")]},
        "scopeSpans": [{"scope": {"name": "app"}, "spans": [
            call("00000000000000a1", 0, "Groundedness", 0.2),
            call("00000000000000a2", 1, "Groundedness", 0.9),
            call("00000000000000a3", 2, "QA", 0.8),
        ]}],
    }]});
    let reviews = [
        // The judge failed it; a person passes it: a false alarm.
        review(
            "00000000000000a1",
            "groundedness",
            "pass",
            1.0,
            "supported by the policy",
        ),
        // The judge passed it; a person fails it: a miss.
        review(
            "00000000000000a2",
            "Groundedness",
            "stale-policy",
            0.0,
            "quotes the 2023 refund rule",
        ),
        // Agreement.
        review("00000000000000a3", "QA", "pass", 1.0, ""),
    ]
    .join("\n");
    let c = dir.join("capture.jsonl");
    let r = dir.join("reviews.jsonl");
    std::fs::write(&c, format!("{capture}\n")).unwrap();
    std::fs::write(&r, format!("{reviews}\n")).unwrap();
    (c.display().to_string(), r.display().to_string())
}

fn row<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} row: {summary:#}"))
}

#[test]
fn report_counts_human_verdicts_agreement_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, reviews) = files(dir.path());
    let (code, stdout, stderr) = llmwatch(&["report", &capture, &reviews]);
    assert_eq!(code, 0, "{stderr}");
    let s: Value = serde_json::from_str(&stdout).unwrap();
    let g = row(&s, "Groundedness");
    // The judge's two verdicts were overridden; the people's count in their place (one fail).
    assert_eq!(
        (&g["count"], &g["fail"], &g["human_reviewed"], &g["human_agreed"]),
        (&json!(1), &json!(1), &json!(2), &json!(0)),
        "{g:#}"
    );
    assert_eq!(
        (&g["overridden_pass"], &g["overridden_fail"]),
        (&json!(1), &json!(1))
    );
    // The person wrote "groundedness": its own row holds the pass that replaced the judge's fail.
    let lower = row(&s, "groundedness");
    assert_eq!((&lower["count"], &lower["fail"]), (&json!(1), &json!(0)));
    let qa = row(&s, "QA");
    assert_eq!(
        (
            &qa["count"],
            &qa["fail"],
            &qa["human_reviewed"],
            &qa["human_agreed"]
        ),
        (&json!(1), &json!(0), &json!(1), &json!(1))
    );
    assert_eq!(
        (&qa["overridden_pass"], &qa["overridden_fail"]),
        (&json!(0), &json!(0))
    );

    // Without the reviews: no person, nothing overridden.
    let (_, stdout, _) = llmwatch(&["report", &capture]);
    let s: Value = serde_json::from_str(&stdout).unwrap();
    let g = row(&s, "Groundedness");
    assert_eq!(
        (&g["count"], &g["fail"], &g["human_reviewed"]),
        (&json!(2), &json!(1), &json!(0))
    );

    // `--spans` lists both verdicts, the person's with source "human" and the reviewer.
    let (code, stdout, _) = llmwatch(&["report", "--spans", &capture, &reviews]);
    assert_eq!(code, 0);
    let a2 = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["span_id"] == "00000000000000a2")
        .unwrap();
    let human: Vec<&Value> = a2["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["source"] == "human")
        .collect();
    assert_eq!(human.len(), 1, "{a2:#}");
    assert_eq!(human[0]["reviewer"], "alice");
    assert_eq!(human[0]["label"], "stale-policy");
    assert_eq!(human[0]["passed"], false);
}

#[test]
fn dataset_rows_carry_the_person_and_the_expected_label() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, reviews) = files(dir.path());
    let out = dir.path().join("ds.jsonl");
    let out_s = out.display().to_string();
    let (code, _, stderr) = llmwatch(&[
        "dataset",
        &capture,
        "--reviews",
        &reviews,
        "--filter",
        "eval:Groundedness:fail",
        "--out",
        &out_s,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One trace (its effective Groundedness verdict on a2 fails), three model calls.
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let a2 = rows.iter().find(|r| r["span_id"] == "00000000000000a2").unwrap();
    assert_eq!(a2["trace_id"], TRACE);
    assert_eq!(a2["service"], "support-bot");
    assert_eq!(a2["model"], "gpt-4o");
    assert_eq!(a2["input"][0]["content"], "Can I get a refund?");
    assert_eq!(a2["output"][0]["role"], "assistant");
    assert_eq!(
        a2["human"],
        json!({"name": "Groundedness", "label": "stale-policy", "passed": false,
               "note": "quotes the 2023 refund rule", "reviewer": "alice"})
    );
    assert_eq!(a2["expected"], "stale-policy");
    let a1 = rows.iter().find(|r| r["span_id"] == "00000000000000a1").unwrap();
    assert_eq!(
        (&a1["human"]["passed"], &a1["expected"]),
        (&json!(true), &Value::Null)
    );

    // Without the reviews the judge passed a2 and failed a1: the same trace, no person.
    let (code, stdout, _) = llmwatch(&["dataset", &capture, "--filter", "eval:Groundedness:fail"]);
    assert_eq!(code, 0);
    assert!(
        stdout
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).unwrap()["human"].is_null())
    );
}

#[test]
fn dataset_refuses_a_bad_filter_and_bad_input_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, _) = files(dir.path());
    let (code, stdout, stderr) = llmwatch(&["dataset", &capture, "--filter", "eval:"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("llmwatch: bad --filter"), "{stderr}");
    let missing = dir.path().join("missing.jsonl").display().to_string();
    let (code, _, stderr) = llmwatch(&["dataset", &missing]);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// The issue's "Done when": on the demo capture, the rows of the traces with a failed
/// Groundedness verdict have input, context and output, and the judged call's verdict failed.
#[test]
fn dataset_of_the_demo_capture_failing_groundedness() {
    let demo = format!("{}/demo/capture.jsonl.gz", env!("CARGO_MANIFEST_DIR"));
    let (code, stdout, stderr) = llmwatch(&["dataset", &demo, "--filter", "eval:Groundedness:fail"]);
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let failed: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["verdicts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["name"] == "Groundedness" && v["passed"] == false)
        })
        .collect();
    let traces: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["trace_id"].as_str().unwrap()).collect();
    assert!(failed.len() >= 20, "{} rows", failed.len());
    // Every trace kept has its failing call.
    assert_eq!(traces.len(), failed.len());
    for r in failed {
        for k in ["input", "context", "output"] {
            assert!(!r[k].as_array().unwrap().is_empty(), "{k} empty in {r:#}");
        }
        assert!(r["route"].is_string() && r["model"].is_string(), "{r:#}");
    }
}
