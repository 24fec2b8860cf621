//! `llmwatch report` as a user runs it: summary or span lines on stdout, malformed lines
//! reported with their line number and skipped, unreadable input and bad config refused with exit
//! code 2 and a one-line reason.

mod common;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

use common::run_llmwatch as llmwatch;

#[test]
fn the_summary_of_all_captures() {
    let files: Vec<String> = [
        "otel_genai.jsonl",
        "openinference.jsonl",
        "otel_genai_eval.jsonl",
        "otel_genai_eval.logs.jsonl",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let mut args = vec!["report"];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, stderr) = llmwatch(&args);
    assert_eq!(code, 0, "{stderr}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["spans"]["accepted"], 22);
    assert_eq!(s["llm_calls"], 11);
    // The app's four evaluators, and llmwatch's own checks beside them.
    let names: Vec<&str> = s["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    let builtin = llmwatch::eval::names::ALL;
    assert_eq!(
        names.iter().filter(|n| !builtin.contains(n)).count(),
        4,
        "{names:?}"
    );
    assert!(
        names.contains(&"empty_output") && names.contains(&"refusal"),
        "{names:?}"
    );
    assert_eq!(s["builtin_evaluations"]["calls"], 11);
    assert_eq!(s["builtin_evaluations"]["skipped_over_rate"], 0);
    assert_eq!(s["input"]["files"], 4);
    assert_eq!(s["input"]["malformed_lines"], 0);
}

#[test]
fn spans_mode_prints_one_line_per_span() {
    let (code, stdout, _) = llmwatch(&["report", "--spans", &fixture("otel_genai.jsonl")]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 8);
    // Tree order: each trace's root first.
    assert_eq!(lines[0]["parent_span_id"], serde_json::Value::Null);
    for key in [
        "trace_id",
        "span_id",
        "kind",
        "service",
        "model",
        "duration_ms",
        "cost_usd",
        "cost_source",
        "ttft_ms",
        "verdicts",
    ] {
        assert!(lines[0].get(key).is_some(), "{key}");
    }
}

#[test]
fn malformed_lines_are_reported_with_their_number_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.jsonl");
    let good = std::fs::read_to_string(fixture("otel_genai.jsonl")).unwrap();
    std::fs::write(
        &path,
        format!(
            "{}\n{{\"resourceSpans\": [oops\n\n{{\"hello\":1}}\n{}",
            good.trim(),
            good.trim()
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = llmwatch(&["report", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("capture.jsonl:2: invalid OTLP/JSON traces"),
        "{stderr}"
    );
    assert!(
        stderr.contains("capture.jsonl:4: not an OTLP export request"),
        "{stderr}"
    );
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["input"]["malformed_lines"], 2);
    assert_eq!(
        s["spans"]["accepted"], 16,
        "both good lines (the same spans twice)"
    );
    assert_eq!(s["spans"]["duplicates"], 8);
}

#[test]
fn unreadable_input_and_bad_config_exit_2_with_one_line() {
    let (code, _, stderr) = llmwatch(&["report", "/nonexistent/capture.jsonl"]);
    assert_eq!(code, 2);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read /nonexistent/capture.jsonl"));

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("llmwatch.toml");
    std::fs::write(&cfg, "[evaluators.Groundedness]\nthreshhold = 0.7\n").unwrap();
    let (code, _, stderr) = llmwatch(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        &fixture("otel_genai.jsonl"),
    ]);
    assert_eq!(code, 2);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("invalid config") && stderr.contains("threshhold"),
        "{stderr}"
    );
}

#[test]
fn config_prices_and_thresholds_apply() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("llmwatch.toml");
    // Make gpt-4o-mini cost $1/M in and $2/M out, and fail groundedness below 0.99.
    std::fs::write(
        &cfg,
        "[prices.\"gpt-4o-mini\"]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n\n[evaluators.groundedness]\nthreshold = 0.99\n",
    )
    .unwrap();
    let (code, stdout, stderr) = llmwatch(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        &fixture("otel_genai_eval.jsonl"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let chat = s["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "gpt-4o-mini")
        .unwrap()
        .clone();
    // (157 + 127) input x $1/M + (25 + 45) output x $2/M
    let want = 284.0 * 1e-6 + 70.0 * 2e-6;
    assert!(
        (chat["cost_usd"].as_f64().unwrap() - want).abs() < 1e-12,
        "{chat}"
    );
    // The label "pass" decides before any threshold: groundedness 0.95 labelled pass still passes.
    let g = s["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "groundedness")
        .unwrap()
        .clone();
    assert_eq!(g["fail"], 0);
}
