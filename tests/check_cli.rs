//! `llmwatch check FILE... --rules RULES.toml` as CI runs it: the example rules fire for exactly
//! the demo capture's three scripted incidents, with the right cohorts and times; clean traffic
//! exits 0; bad rules and bad input exit 2 with a one-line reason.

mod common;

use common::run_llmwatch as llmwatch;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn path(rel: &str) -> String {
    format!("{ROOT}/{rel}")
}

/// Seconds since midnight UTC of an `HH:MM:SS` clock.
fn clock_secs(hms: &str) -> u64 {
    let p: Vec<u64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    p[0] * 3600 + p[1] * 60 + p[2]
}

/// Unix seconds of an RFC 3339 UTC time, via its clock and the capture's day.
fn rfc_secs(t: &str, day_start: u64) -> u64 {
    day_start + clock_secs(&t[11..19])
}

/// The first span's start in the capture (unix seconds), from `report --spans`.
fn capture_start(file: &str) -> u64 {
    let (code, out, err) = llmwatch(&["report", "--spans", file]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["start_unix_nano"].as_u64().unwrap() / 1_000_000_000
        })
        .min()
        .unwrap()
}

#[test]
fn the_example_rules_fire_for_exactly_the_demo_incidents() {
    let capture = path("demo/capture.jsonl.gz");
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let (code, out, err) = llmwatch(&[
        "check",
        &capture,
        "--rules",
        &path("demo/alerts.toml"),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "an alert fired: exit 1\n{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    let expected = [
        (
            "cost-spike route=/support/refund value=",
            " > 0.03 from ",
            60..=210,
        ),
        (
            "slow-first-token model=claude-sonnet-4-5 value=",
            " > 5000 from ",
            150..=300,
        ),
        (
            "groundedness-drop tenant=globex value=",
            " < 0.6 from ",
            240..=390,
        ),
    ];
    assert_eq!(lines.len(), expected.len(), "exactly the three incidents:\n{out}");
    let start = capture_start(&capture);
    let day = start - start % 86_400;
    for (line, (prefix, comparison, when)) in lines.iter().zip(expected) {
        assert!(line.starts_with(prefix), "{line:?} should start with {prefix:?}");
        assert!(line.contains(comparison), "{line:?}");
        let fired = day + clock_secs(line.rsplit(' ').next().unwrap()) - start;
        assert!(
            when.contains(&fired),
            "{line:?} fired {fired} s into the capture, not in {when:?}"
        );
    }
    assert!(err.contains("3 alerts fired over 10801 spans"), "{err}");

    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let alerts = s["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 3);
    let cost = &alerts[0];
    assert_eq!(cost["rule"], "cost-spike");
    assert_eq!(cost["cohort"], "route=/support/refund");
    assert_eq!(cost["metric"], "cost_per_trace_usd");
    assert_eq!(cost["op"], ">");
    assert_eq!(cost["threshold"], 0.03);
    assert_eq!(cost["owner"], "support-agents");
    assert!(cost["value"].as_f64().unwrap() > 0.03);
    assert!(cost["samples"].as_u64().unwrap() >= 10);
    assert_eq!(cost["line"], lines[0]);
    // The cost spike is over well before the capture ends; the groundedness drop is not.
    let resolved = rfc_secs(cost["resolved_at"].as_str().unwrap(), day) - start;
    assert!(
        (150..=300).contains(&resolved),
        "cost spike resolved {resolved} s in"
    );
    assert_eq!(cost["firing"], false);
    assert_eq!(alerts[2]["firing"], true);
    // Each alert links to example traces that are in the capture.
    let (_, spans, _) = llmwatch(&["report", "--spans", &capture]);
    for a in alerts {
        let examples = a["example_trace_ids"].as_array().unwrap();
        assert!(!examples.is_empty(), "{a}");
        for id in examples {
            let id = id.as_str().unwrap();
            assert!(spans.contains(&format!("\"trace_id\":\"{id}\"")), "{id}");
        }
    }
}

#[test]
fn healthy_traffic_passes() {
    let dir = tempfile::tempdir().unwrap();
    // The demo's first 55 seconds come before its first incident.
    let clean = dir.path().join("clean.jsonl");
    let (code, _, err) = llmwatch(&[
        "demo",
        "--headless",
        "--speed",
        "max",
        "--duration",
        "55",
        "--rate",
        "30",
        "--seed",
        "7",
        "--record",
        clean.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rules = path("demo/alerts.toml");
    let (code, out, err) = llmwatch(&["check", clean.to_str().unwrap(), "--rules", &rules]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.contains("0 alerts fired"), "{err}");
    // The captures made by real instrumentation libraries are healthy too.
    let fixtures: Vec<String> = ["otel_genai.jsonl", "openinference.jsonl", "otel_genai_eval.jsonl"]
        .iter()
        .map(|f| path(&format!("tests/fixtures/{f}")))
        .collect();
    let mut args = vec!["check", "--rules", &rules];
    args.extend(fixtures.iter().map(String::as_str));
    let (code, out, err) = llmwatch(&args);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
}

#[test]
fn bad_rule_files_are_refused_with_a_one_line_reason() {
    let capture = path("tests/fixtures/otel_genai.jsonl");
    let cases = [
        (
            "unknown-metric",
            "rule 1 (\"slow\"): unknown metric \"latency_p99\"",
        ),
        (
            "rate-as-percent",
            "eval_fail_rate is a share in 0..1 but the threshold is 30",
        ),
        ("missing-evaluator", "eval_mean_score needs `evaluator`"),
        ("bad-window", "bad window \"5 minutes\""),
        ("typo-field", "unknown field `treshold`"),
        ("bad-op", "unknown op \"=>\""),
        (
            "duplicate-name",
            "rule 2 (\"errors\"): another rule is named \"errors\"",
        ),
        ("not-toml", "line 1"),
        ("empty", "no [[rule]] entries"),
        ("combined-and-single", "not both"),
        ("min-samples-zero", "`min_samples` must be at least 1"),
    ];
    for (file, want) in cases {
        let rules = path(&format!("tests/fixtures/rules/{file}.toml"));
        let (code, out, err) = llmwatch(&["check", &capture, "--rules", &rules]);
        assert_eq!(code, 2, "{file}: {err}");
        assert!(out.is_empty(), "{file}: {out}");
        assert!(err.contains(want), "{file}: {err:?} lacks {want:?}");
        assert!(
            err.contains(&format!("invalid rules {rules}: ")) || file == "empty",
            "{file}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{file}: one line: {err:?}");
    }
    let good = path("tests/fixtures/rules/good.toml");
    let (code, _, err) = llmwatch(&["check", &capture, "--rules", &good]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = llmwatch(&["check", &capture, "--rules", "/nonexistent/rules.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read rules /nonexistent/rules.toml"), "{err}");
}

#[test]
fn bad_input_exits_2() {
    let rules = path("tests/fixtures/rules/good.toml");
    let (code, _, err) = llmwatch(&["check", "/nonexistent/capture.jsonl", "--rules", &rules]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent/capture.jsonl"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.jsonl");
    let good = std::fs::read_to_string(path("tests/fixtures/otel_genai.jsonl")).unwrap();
    std::fs::write(
        &broken,
        format!("{}\n{{\"resourceSpans\": 7}}\n", good.trim_end()),
    )
    .unwrap();
    let (code, _, err) = llmwatch(&["check", broken.to_str().unwrap(), "--rules", &rules]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("malformed lines"), "{err}");

    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = llmwatch(&["check", empty.to_str().unwrap(), "--rules", &rules]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no spans or logs"), "{err}");
}

/// `--rules` without a screen: the demo and a replay print each alert as it fires and resolves
/// on stderr, and the summary lists them.
#[test]
fn headless_demo_and_replay_report_alerts_as_they_happen() {
    let rules = path("demo/alerts.toml");
    let (code, out, err) = llmwatch(&[
        "demo",
        "--headless",
        "--speed",
        "max",
        "--duration",
        "260",
        "--rate",
        "30",
        "--seed",
        "42",
        "--rules",
        &rules,
    ]);
    assert_eq!(code, 0, "{err}");
    let firing: Vec<&str> = err.lines().filter(|l| l.contains("ALERT firing")).collect();
    assert!(
        firing
            .iter()
            .any(|l| l.contains("ALERT firing cost-spike route=/support/refund value=")),
        "{err}"
    );
    assert!(
        err.contains("ALERT resolved cost-spike route=/support/refund"),
        "{err}"
    );
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = summary["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"cost-spike"), "{names:?}");

    let (code, out, err) = llmwatch(&[
        "replay",
        "--headless",
        "--speed",
        "max",
        "--rules",
        &rules,
        &path("demo/capture.jsonl.gz"),
    ]);
    assert_eq!(code, 0, "{err}");
    for rule in ["cost-spike", "slow-first-token", "groundedness-drop"] {
        assert!(err.contains(&format!("ALERT firing {rule} ")), "{rule}: {err}");
    }
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["alerts"].as_array().unwrap().len(), 3, "{out}");

    // A bad rules file stops a run before it starts.
    let bad = path("tests/fixtures/rules/bad-op.toml");
    let (code, _, err) = llmwatch(&["demo", "--headless", "--duration", "1", "--rules", &bad]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown op"), "{err}");
}
