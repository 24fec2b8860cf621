//! `--baseline` end to end: two generated captures that differ only in a retry loop on one
//! route and a longer prompt on another; `check` with two `compare = "baseline"` rules fires
//! exactly those two with the right cohorts, and a capture against itself fires nothing.

mod common;

use common::drift::{Drift, write_capture};
use common::run_llmwatch as llmwatch;
use std::path::{Path, PathBuf};

const RULES: &str = r#"
[[rule]]
name = "tool-retries"
metric = "repeated_tool_calls_per_trace"
compare = "baseline"
group_by = "route"
window = "5m"
op = ">"
threshold = 1.5
min_samples = 20

[[rule]]
name = "prompt-growth"
metric = "input_tokens_per_call"
compare = "baseline"
group_by = "route"
window = "5m"
op = ">"
threshold = 1.3
min_samples = 20
"#;

struct Files {
    _dir: tempfile::TempDir,
    base: String,
    cand: String,
    rules: String,
    dir: PathBuf,
}

fn files(minutes: u64, cand: Drift) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_capture(&p("base.jsonl"), minutes, Drift::default());
    write_capture(&p("cand.jsonl"), minutes, cand);
    std::fs::write(p("r.toml"), RULES).unwrap();
    let s = |n: &str| p(n).to_str().unwrap().to_string();
    Files {
        base: s("base.jsonl"),
        cand: s("cand.jsonl"),
        rules: s("r.toml"),
        dir: dir.path().to_path_buf(),
        _dir: dir,
    }
}

fn drifted() -> Drift<'static> {
    Drift {
        retry_loop: Some("/claims"),
        longer_prompt: Some("/search"),
        new_route: None,
    }
}

fn path(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn check_against_a_baseline_fires_exactly_the_two_drifts() {
    let f = files(20, drifted());
    let summary = f.dir.join("summary.json");
    let (code, out, err) = llmwatch(&[
        "check",
        "--baseline",
        &f.base,
        "--rules",
        &f.rules,
        &f.cand,
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("prompt-growth route=/search value=") && lines[0].contains(" > 1.3x baseline "),
        "{out}"
    );
    assert!(
        lines[1].starts_with("tool-retries route=/claims value=3.2 > 1.5x baseline 0.2 from "),
        "{out}"
    );
    assert!(!err.contains("new cohort"), "{err}");

    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let b = &s["baseline"];
    assert_eq!(b["files"][0].as_str(), Some(f.base.as_str()), "{b}");
    assert_eq!(b["traces"].as_u64(), Some(20 * 12 * 3), "{b}");
    assert!(b["spans"].as_u64().unwrap() > 20 * 12 * 3 * 5, "{b}");
    assert_eq!(b["new_cohorts"].as_array().map(Vec::len), Some(0), "{b}");
    let alerts = s["alerts"].as_array().unwrap();
    let retries = alerts.iter().find(|a| a["rule"] == "tool-retries").unwrap();
    assert_eq!(retries["cohort"], "route=/claims");
    assert!(
        (retries["baseline"].as_f64().unwrap() - 0.2).abs() < 1e-9,
        "{retries}"
    );
    let prompt = alerts.iter().find(|a| a["rule"] == "prompt-growth").unwrap();
    let ratio = prompt["value"].as_f64().unwrap() / prompt["baseline"].as_f64().unwrap();
    assert!(
        (2.3..2.7).contains(&ratio),
        "the prompt is 2.5 times longer: {prompt}"
    );

    // The same capture against itself: every ratio is 1.
    let (code, out, err) = llmwatch(&["check", "--baseline", &f.base, "--rules", &f.rules, &f.base]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
}

#[test]
fn cohorts_missing_from_the_baseline_are_reported_once_and_not_judged() {
    let f = files(
        10,
        Drift {
            retry_loop: Some("/claims"),
            new_route: Some("/brand-new"),
            ..Drift::default()
        },
    );
    let summary = f.dir.join("summary.json");
    let (code, out, err) = llmwatch(&[
        "check",
        "--baseline",
        &f.base,
        "--rules",
        &f.rules,
        &f.cand,
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert_eq!(out.lines().count(), 1, "only the retry loop: {out}");
    assert!(out.starts_with("tool-retries route=/claims "), "{out}");
    let new: Vec<&str> = err.lines().filter(|l| l.contains("new cohort")).collect();
    assert_eq!(
        new,
        vec![
            "llmwatch check: baseline: new cohort route=/brand-new for rule \"tool-retries\" (not in the baseline, not judged)",
            "llmwatch check: baseline: new cohort route=/brand-new for rule \"prompt-growth\" (not in the baseline, not judged)",
        ],
        "{err}"
    );
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let new = s["baseline"]["new_cohorts"].as_array().unwrap();
    assert_eq!(new.len(), 2, "{s}");
    assert_eq!(new[0]["cohort"], "route=/brand-new");
}

#[test]
fn compare_needs_a_baseline_and_bad_compares_are_refused() {
    let f = files(1, Drift::default());
    let (code, out, err) = llmwatch(&["check", "--rules", &f.rules, &f.cand]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("rule \"tool-retries\" compares against a baseline"),
        "{err}"
    );
    assert!(err.contains("--baseline FILE"), "{err}");

    let cases = [
        (
            "bad-compare",
            "rule 1 (\"tool-retries\"): unknown compare \"previous\"",
        ),
        (
            "baseline-diff-not-rate",
            "compare = \"baseline_diff\" is for rates (error_rate, eval_fail_rate, human_fail_rate, coverage), not input_tokens_per_call",
        ),
    ];
    for (file, want) in cases {
        let rules = path(&format!("tests/fixtures/rules/{file}.toml"));
        let (code, out, err) = llmwatch(&["check", "--baseline", &f.base, "--rules", &rules, &f.cand]);
        assert_eq!((code, out.as_str()), (2, ""), "{file}: {err}");
        assert!(err.contains(want), "{file}: {err:?} lacks {want:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{file}: one line: {err:?}");
    }

    // A baseline that is not a capture stops the run before it starts.
    let bogus = f.dir.join("bogus.jsonl");
    std::fs::write(&bogus, "not otlp\n").unwrap();
    let (code, _, err) = llmwatch(&[
        "check",
        "--baseline",
        bogus.to_str().unwrap(),
        "--rules",
        &f.rules,
        &f.cand,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("baseline"), "{err}");
}

/// The same rules on a headless replay: the ALERT lines say the baseline, the summary has it.
#[test]
fn a_headless_replay_judges_against_the_baseline_too() {
    let f = files(10, drifted());
    let (code, out, err) = llmwatch(&[
        "replay",
        "--headless",
        "--speed",
        "max",
        "--baseline",
        &f.base,
        "--rules",
        &f.rules,
        &f.cand,
    ]);
    assert_eq!(code, 0, "{err}");
    let firing: Vec<&str> = err.lines().filter(|l| l.contains("ALERT firing")).collect();
    assert!(
        firing
            .iter()
            .any(|l| l.contains("tool-retries route=/claims value=3.2 > 1.5x baseline 0.2 at ")),
        "{err}"
    );
    assert!(
        firing.iter().any(|l| l.contains("prompt-growth route=/search")),
        "{err}"
    );
    assert!(
        firing
            .iter()
            .all(|l| l.contains("route=/claims") || l.contains("route=/search")),
        "{err}"
    );
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["baseline"]["files"][0].as_str(), Some(f.base.as_str()));
    assert_eq!(s["alerts"].as_array().unwrap().len(), 2, "{out}");
}

/// The summary's `by_cohort` rows: per route (and model), the trace shapes over the whole run,
/// traces evicted along the way included.
#[test]
fn by_cohort_rows_count_the_whole_run_past_eviction() {
    let f = files(10, drifted());
    for max_spans in ["200000", "500"] {
        let (code, out, err) = llmwatch(&["report", "--max-spans", max_spans, &f.cand]);
        assert_eq!(code, 0, "{err}");
        let s: serde_json::Value = serde_json::from_str(&out).unwrap();
        if max_spans == "500" {
            assert!(
                s["spans"]["evicted"].as_u64().unwrap() > 1000,
                "evicted: {}",
                s["spans"]
            );
        }
        let rows = s["by_cohort"].as_array().unwrap();
        let row = |route: &str| rows.iter().find(|r| r["route"] == route).unwrap().clone();
        assert_eq!(rows.len(), 3, "{rows:?}");
        let claims = row("/claims");
        assert_eq!(claims["model"], "gpt-4o-mini");
        assert_eq!(claims["traces"], 120, "{claims}");
        assert_eq!(claims["repeated_tool_calls_per_trace"], 3.2, "{claims}");
        assert_eq!(claims["tool_calls_per_trace"], 5.2, "{claims}");
        assert_eq!(claims["llm_calls_per_trace"], 2.0, "{claims}");
        assert_eq!(claims["spans_per_trace"], 8.2, "{claims}");
        let chat = row("/chat");
        assert_eq!(chat["repeated_tool_calls_per_trace"], 0.2, "{chat}");
        assert_eq!(chat["spans_per_trace"], 5.2, "{chat}");
        let search = row("/search");
        let ratio = search["input_tokens_per_call"].as_f64().unwrap()
            / chat["input_tokens_per_call"].as_f64().unwrap();
        assert!((2.3..2.7).contains(&ratio), "{search} {chat}");
        assert!(search["cost_per_call_usd"].as_f64().unwrap() > chat["cost_per_call_usd"].as_f64().unwrap());
        assert_eq!(chat["human_verdicts"], 0);
        assert!(chat["human_fail_rate"].is_null());
    }
}
