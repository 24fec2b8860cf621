//! The real binary in headless mode: listen lines and status lines on stderr, the JSON summary on
//! stdout and in --summary FILE at SIGTERM/SIGINT/SIGHUP/SIGQUIT, auth from the environment, and the CLI's
//! refusals (exit 2 with a one-line reason).

mod common;

use common::*;
use prost::Message;
use std::process::Command;

fn llmwatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(args)
        .env_remove("LLMWATCH_AUTH_TOKEN")
        .output()
        .expect("run llmwatch")
}

#[tokio::test]
async fn sigterm_prints_the_summary_to_stdout_and_the_summary_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.json");
    let server = spawn_headless(&["--summary", file.to_str().unwrap()], &[]);
    let http = server.http;
    let resp = tokio::task::spawn_blocking(move || {
        post(
            http,
            "/v1/traces",
            "application/x-protobuf",
            &llm_batch(1, 30, 3, now_nanos()).encode_to_vec(),
        )
    })
    .await
    .unwrap();
    assert_eq!(resp.status, 200);
    let mut client =
        opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::new(
            channel(&format!("http://{}", server.grpc)).await,
        );
    client
        .export(llm_batch(100, 20, 4, now_nanos()))
        .await
        .expect("gRPC export");
    // Let at least one status line go out.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let status_lines = server.stderr_so_far();
    assert!(
        status_lines
            .iter()
            .any(|l| l.contains("spans/s") && l.contains("50 spans") && l.contains("buffer 50/200000")),
        "{status_lines:?}"
    );
    let (stdout, ok) = server.terminate();
    assert!(ok, "exit 0");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is the JSON summary");
    assert_eq!(summary["schema_version"], 1);
    assert_eq!(summary["spans"]["received"], 50);
    assert_eq!(summary["spans"]["accepted"], 50);
    assert_eq!(summary["spans"]["evicted"], 0);
    assert_eq!(summary["traces"], 15);
    for key in [
        "llm_calls",
        "errors",
        "tokens",
        "cost_usd",
        "unpriced_calls",
        "latency_ms",
        "ttft_ms",
        "by_model",
        "verdicts",
        "alerts",
    ] {
        assert!(summary.get(key).is_some(), "summary has {key}");
    }
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, summary);
}

#[test]
fn sigint_stops_it_too() {
    let server = spawn_headless(&[], &[]);
    server.signal("INT");
    let (stdout, ok) = server.terminate_after_signal();
    assert!(ok);
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["spans"]["received"], 0);
}

/// An ssh disconnect (SIGHUP) and SIGQUIT finish like SIGTERM: exit 0, the summary on stdout
/// and in --summary FILE (they used to kill the process: 129 and 131, no summary).
#[test]
fn sighup_and_sigquit_finish_with_the_summary() {
    for signal in ["HUP", "QUIT"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("summary.json");
        let server = spawn_headless(&["--summary", file.to_str().unwrap()], &[]);
        let resp = post(
            server.http,
            "/v1/traces",
            "application/x-protobuf",
            &llm_batch(1, 6, 3, now_nanos()).encode_to_vec(),
        );
        assert_eq!(resp.status, 200);
        server.signal(signal);
        let (stdout, ok) = server.terminate_after_signal();
        assert!(ok, "SIG{signal}: exit 0");
        let summary: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("SIG{signal}: {e}: {stdout:?}"));
        assert_eq!(summary["spans"]["accepted"], 6, "SIG{signal}");
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("summary file")).unwrap();
        assert_eq!(written, summary, "SIG{signal}");
    }
}

#[test]
fn the_auth_token_can_come_from_the_environment() {
    let server = spawn_headless(&[], &[("LLMWATCH_AUTH_TOKEN", "from-env")]);
    let body = llm_batch(1, 1, 1, now_nanos()).encode_to_vec();
    let resp = post(server.http, "/v1/traces", "application/x-protobuf", &body);
    assert_eq!(resp.status, 401);
    let resp = http_request(
        server.http,
        "POST",
        "/v1/traces",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Authorization", "Bearer from-env"),
        ],
        &body,
    );
    assert_eq!(resp.status, 200);
    let (stdout, _) = server.terminate();
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["requests"]["unauthorized"], 1);
    assert_eq!(summary["spans"]["accepted"], 1);
}

#[test]
fn a_non_loopback_address_without_a_token_warns() {
    let server = spawn_headless(&["--http", "0.0.0.0:0"], &[]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let lines = server.stderr_so_far();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("warning") && l.contains("--auth-token")),
        "{lines:?}"
    );
    let server2 = spawn_headless(&["--http", "0.0.0.0:0", "--auth-token", "t"], &[]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!server2.stderr_so_far().iter().any(|l| l.contains("warning")));
}

#[test]
fn unknown_subcommands_and_bad_usage_exit_2() {
    for args in [
        &["demo", "--rate", "0"][..],
        &["replay", "--speed", "fast", "x.jsonl"],
        &["check", "x"],
        &["--max-memory", "12 parsecs"],
        &["--grpc", "not-an-address"],
        &["--grpc", "off", "--http", "off"],
        &["--status-interval", "0"],
    ] {
        let out = llmwatch(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.trim().is_empty(), "{args:?} says why");
    }
}

#[test]
fn a_port_in_use_is_a_one_line_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = llmwatch(&["--headless", "--grpc", &addr, "--http", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("llmwatch: cannot listen for OTLP/gRPC on"),
        "{err}"
    );
}
