//! External evaluators (`[[external]]`) as a user runs them: small scripts written to a temp
//! dir judge the LLM calls of the fixtures through `report`, `replay --headless` and the live
//! receivers; verdicts land on the right spans, and timeouts, crashes, garbage output and a full
//! queue are counted in the summary without stopping or slowing ingest.

mod common;

use common::*;
use prost::Message;
use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

use common::run_llmwatch as llmwatch;

/// Writes `script` as `name` in `dir` and a config with one entry per (entry name, script,
/// extra TOML) running it with sh; returns the config's path.
fn config(dir: &Path, entries: &[(&str, &str, &str)]) -> String {
    let mut toml = String::new();
    for (name, script, extra) in entries {
        let path = dir.join(format!("{name}.sh"));
        std::fs::write(&path, script).unwrap();
        toml.push_str(&format!(
            "[[external]]\nname = \"{name}\"\ncommand = [\"sh\", '{}']\n{extra}\n\n",
            path.display()
        ));
    }
    let path = dir.join("llmwatch.toml");
    std::fs::write(&path, toml).unwrap();
    path.display().to_string()
}

/// Answers with the span id it was given as the label, so tests can see the verdict reached
/// the span whose payload the script read.
const ECHO_ID: &str = r#"id=$(sed -n 's/.*"span_id":"\([0-9a-f]*\)".*/\1/p')
printf '{"score": 0.75, "label": "%s", "explanation": "judged"}\n' "$id"
"#;

fn summary(stdout: &str) -> Json {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The `external_evaluations` row of one evaluator.
fn row<'a>(s: &'a Json, name: &str) -> &'a Json {
    s["external_evaluations"]["by_evaluator"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row for {name}: {}", s["external_evaluations"]))
}

/// An external verdict as `report --spans` shows it: (name, label, score, passed).
type Shown = (String, Json, Json, Json);

/// `report --spans` lines: (span id, kind, external verdicts).
fn span_verdicts(stdout: &str) -> Vec<(String, String, Vec<Shown>)> {
    stdout
        .lines()
        .map(|l| {
            let s: Json = serde_json::from_str(l).unwrap();
            let external = s["verdicts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v["source"] == "external")
                .map(|v| {
                    (
                        v["name"].as_str().unwrap().to_string(),
                        v["label"].clone(),
                        v["score"].clone(),
                        v["passed"].clone(),
                    )
                })
                .collect();
            (
                s["span_id"].as_str().unwrap().to_string(),
                s["kind"].as_str().unwrap().to_string(),
                external,
            )
        })
        .collect()
}

#[test]
fn verdicts_attach_to_the_spans_they_judge() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[("Echo", ECHO_ID, "")]);
    let fixture = fixture_path("otel_genai.jsonl");
    let (code, out, err) = llmwatch(&["report", "--spans", "--config", &cfg, &fixture]);
    assert_eq!(code, 0, "{err}");
    let spans = span_verdicts(&out);
    let llm: Vec<_> = spans.iter().filter(|(_, kind, _)| kind == "llm").collect();
    assert_eq!(llm.len(), 3);
    for (id, _, verdicts) in &llm {
        assert_eq!(
            verdicts,
            &[(
                "Echo".to_string(),
                Json::from(id.as_str()),
                Json::from(0.75),
                Json::Bool(true)
            )],
            "span {id}"
        );
    }
    assert!(
        spans
            .iter()
            .filter(|(_, kind, _)| kind != "llm")
            .all(|(_, _, v)| v.is_empty())
    );

    // The summary, from report and from a headless replay: every chosen call evaluated.
    for args in [
        vec!["report", "--config", &cfg, &fixture],
        vec![
            "replay",
            "--headless",
            "--speed",
            "max",
            "--config",
            &cfg,
            &fixture,
        ],
    ] {
        let (code, out, err) = llmwatch(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        let s = summary(&out);
        let e = &s["external_evaluations"];
        assert_eq!(
            (e["selected"].as_u64(), e["evaluated"].as_u64()),
            (Some(3), Some(3)),
            "{e}"
        );
        assert_eq!(row(&s, "Echo")["evaluated"], 3);
        let echo = s["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "Echo");
        assert_eq!(
            echo.map(|v| (&v["count"], &v["fail"])),
            Some((&Json::from(3), &Json::from(0)))
        );
        assert_eq!(s["verdict_targets"]["pending"], 0);
    }
}

#[test]
fn timeouts_crashes_and_garbage_are_counted_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &[
            ("Sleepy", "sleep 10\n", "timeout = \"300ms\""),
            (
                "Crashy",
                "cat >/dev/null\necho 'Traceback: boom' >&2\nexit 1\n",
                "",
            ),
            ("Garbage", "echo 'I think it is fine'\n", ""),
            ("Echo", ECHO_ID, ""),
        ],
    );
    let started = Instant::now();
    let (code, out, err) = llmwatch(&["report", "--config", &cfg, &fixture_path("openinference.jsonl")]);
    assert_eq!(code, 0, "{err}");
    // Three calls, two at a time, 300 ms each: well under the sleeps.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let s = summary(&out);
    assert_eq!(s["spans"]["stored"], 8);
    let counts = |name: &str, field: &str| row(&s, name)[field].as_u64().unwrap();
    assert_eq!(
        (counts("Sleepy", "selected"), counts("Sleepy", "timed_out")),
        (3, 3)
    );
    assert_eq!((counts("Crashy", "selected"), counts("Crashy", "failed")), (3, 3));
    assert_eq!(
        (counts("Garbage", "selected"), counts("Garbage", "bad_output")),
        (3, 3)
    );
    assert_eq!(
        counts("Echo", "evaluated"),
        3,
        "the working evaluator beside them"
    );
    let total = &s["external_evaluations"];
    assert_eq!(
        (
            total["selected"].as_u64(),
            total["evaluated"].as_u64(),
            total["timed_out"].as_u64(),
            total["failed"].as_u64(),
            total["bad_output"].as_u64(),
        ),
        (Some(12), Some(3), Some(3), Some(3), Some(3))
    );
    // Each kind of problem is said once on stderr, with what went wrong.
    for (needle, expect) in [
        ("\"Sleepy\" timed out after 300ms", 1),
        ("\"Crashy\" failed on span", 1),
        ("Traceback: boom", 1),
        ("\"Garbage\" gave no usable verdict", 1),
        ("output is not JSON", 1),
    ] {
        assert_eq!(err.matches(needle).count(), expect, "{needle:?} in {err}");
    }
}

#[test]
fn a_full_queue_drops_calls_without_slowing_the_receivers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &[(
            "Slow",
            "sleep 0.4\necho '{\"score\": 1}'\n",
            "queue = 1\nconcurrency = 1\ntimeout = \"2s\"",
        )],
    );
    let app = spawn_headless(&["--config", &cfg], &[]);
    let n = 40;
    let started = Instant::now();
    for k in 0..n {
        let body = llm_batch(1000 + k, 1, 1, now_nanos()).encode_to_vec();
        let r = post(app.http, "/v1/traces", "application/x-protobuf", &body);
        assert_eq!(r.status, 200);
    }
    // Evaluating them one by one would take 16 s.
    let sent_in = started.elapsed();
    assert!(sent_in < Duration::from_secs(4), "{sent_in:?}");
    let (out, ok) = app.terminate();
    assert!(ok);
    let s = summary(&out);
    assert_eq!(s["spans"]["stored"], n);
    let e = &s["external_evaluations"];
    let get = |f: &str| e[f].as_u64().unwrap();
    assert_eq!(get("selected"), n);
    assert!(get("queue_overflow") >= n - 10, "{e}");
    assert!(get("evaluated") >= 1, "{e}");
    assert_eq!(
        get("evaluated") + get("queue_overflow") + get("unfinished") + get("timed_out"),
        n,
        "{e}"
    );
}

#[test]
fn stopping_does_not_wait_for_a_hung_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &[("Hung", "sleep 30\n", "timeout = \"1s\"\nqueue = 100")],
    );
    let app = spawn_headless(&["--config", &cfg], &[]);
    let body = llm_batch(1, 6, 1, now_nanos()).encode_to_vec();
    assert_eq!(
        post(app.http, "/v1/traces", "application/x-protobuf", &body).status,
        200
    );
    let started = Instant::now();
    let (out, ok) = app.terminate();
    assert!(ok);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let e = &summary(&out)["external_evaluations"];
    assert_eq!(e["selected"], 6);
    assert_eq!(
        e["timed_out"].as_u64().unwrap() + e["unfinished"].as_u64().unwrap(),
        6,
        "{e}"
    );
    assert!(e["unfinished"].as_u64().unwrap() > 0, "{e}");
}

#[test]
fn the_example_keyword_judge_on_the_fixtures() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("note: python3 not found; the example evaluator is not tested");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{}/scripts/evaluators/keyword_judge.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let cfg = dir.path().join("llmwatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[external]]\nname = \"KeywordJudge\"\ncommand = [\"python3\", '{script}', \"--threshold\", \"0.5\"]\nalways = [\"error\"]\nsample = 1\n"
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    for fixture in ["otel_genai.jsonl", "openinference.jsonl"] {
        let (code, out, err) = llmwatch(&["report", "--spans", "--config", &cfg, &fixture_path(fixture)]);
        assert_eq!(code, 0, "{err}");
        let judged: Vec<_> = span_verdicts(&out)
            .into_iter()
            .filter(|(_, kind, _)| kind == "llm")
            .map(|(_, _, v)| v)
            .collect();
        assert_eq!(judged.len(), 3, "{fixture}");
        let labels: Vec<&str> = judged.iter().map(|v| v[0].1.as_str().unwrap()).collect();
        // The tool call and the failed call have no answer text; the final answer is judged
        // against the retrieved documents and the tool's result.
        assert_eq!(
            labels.iter().filter(|l| **l == "no_answer").count(),
            2,
            "{fixture}: {labels:?}"
        );
        let answer = judged.iter().find(|v| v[0].1 != "no_answer").unwrap();
        let (name, label, score, passed) = &answer[0];
        assert_eq!(name, "KeywordJudge");
        let score = score.as_f64().unwrap();
        assert!((0.5..=1.0).contains(&score), "{fixture}: {score}");
        assert_eq!((label.as_str(), passed), (Some("grounded"), &Json::Bool(true)));
    }
}
