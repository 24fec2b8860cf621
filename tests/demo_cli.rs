//! `llmwatch demo`: a newcomer's traffic, locally (summary) and sent to another llmwatch over
//! gRPC and HTTP, where every generated span arrives.

mod common;

use common::spawn_headless;
use std::process::Command;

fn demo(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .arg("demo")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_demo_cycle_shows_priced_models_errors_and_verdicts() {
    let (ok, out, err) = demo(&[
        "--headless",
        "--speed",
        "max",
        "--duration",
        "360",
        "--rate",
        "40",
        "--seed",
        "3",
    ]);
    assert!(ok, "{err}");
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        s["spans"]["accepted"].as_u64().unwrap() > 360 * 30,
        "{}",
        s["spans"]
    );
    assert_eq!(s["unpriced_calls"], 0);
    assert!(s["errors"].as_u64().unwrap() > 0);
    let models = s["by_model"].as_array().unwrap();
    let providers: std::collections::BTreeSet<&str> =
        models.iter().map(|m| m["provider"].as_str().unwrap()).collect();
    assert!(models.len() >= 3 && providers.len() >= 2, "{models:?}");
    let verdicts: Vec<&str> = s["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for name in ["Groundedness", "HallucinationScore", "Relevance"] {
        assert!(verdicts.contains(&name), "{verdicts:?}");
    }
    assert!(s["ttft_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert!(
        s["tokens"]["cache_read"].as_u64().unwrap() > 0 && s["tokens"]["reasoning"].as_u64().unwrap() > 0
    );
}

#[test]
fn the_same_seed_gives_the_same_traffic() {
    let run = || {
        demo(&[
            "--headless",
            "--speed",
            "max",
            "--duration",
            "30",
            "--rate",
            "40",
            "--seed",
            "11",
        ])
    };
    let (a, b) = (run(), run());
    let strip = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        v.as_object_mut().unwrap().remove("memory");
        v
    };
    assert_eq!(strip(&a.1), strip(&b.1));
    let other = demo(&[
        "--headless",
        "--speed",
        "max",
        "--duration",
        "30",
        "--rate",
        "40",
        "--seed",
        "12",
    ]);
    assert_ne!(strip(&a.1), strip(&other.1));
}

#[test]
fn sent_traffic_arrives_whole_over_grpc_and_http() {
    let local = demo(&[
        "--headless",
        "--speed",
        "max",
        "--duration",
        "20",
        "--rate",
        "40",
        "--seed",
        "5",
    ]);
    let local: serde_json::Value = serde_json::from_str(&local.1).unwrap();
    for grpc in [true, false] {
        let server = spawn_headless(&[], &[]);
        let url = if grpc {
            format!("http://{}", server.grpc)
        } else {
            format!("http://{}/v1/traces", server.http)
        };
        let (ok, _, err) = demo(&[
            "--send",
            &url,
            "--speed",
            "max",
            "--duration",
            "20",
            "--rate",
            "40",
            "--seed",
            "5",
        ]);
        assert!(ok, "{err}");
        let (stdout, _) = server.terminate();
        let got: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            got["spans"]["accepted"], local["spans"]["accepted"],
            "grpc={grpc}"
        );
        assert_eq!(got["logs"]["accepted"], local["logs"]["accepted"], "grpc={grpc}");
        assert_eq!(got["llm_calls"], local["llm_calls"], "grpc={grpc}");
    }
}

/// Headless demo traffic ends at SIGHUP (an ssh disconnect) like at SIGTERM: exit 0, the
/// summary on stdout and in --summary FILE.
#[test]
fn a_hangup_ends_the_headless_demo_with_its_summary() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.json");
    let child = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["demo", "--headless", "--rate", "40", "--summary"])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough for the handlers to be in place and some traffic to be generated.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {err}", out.status);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["spans"]["accepted"].as_u64().unwrap() > 0, "{s}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("summary file")).unwrap();
    assert_eq!(written, s);
}
