//! `--forward`: llmwatch A sends everything it accepts to llmwatch B (both the real binary on
//! ephemeral loopback ports), over gRPC and over OTLP/HTTP. Real-library traffic (the Python
//! OpenTelemetry SDK exporters), the instrumentation captures (OTLP/JSON) and a load run
//! (tonic client batches) go into A; each B ends with A's summary. With B stopped for 10 s mid
//! run and started again on the same port, B ends with everything A acknowledged: A refuses
//! while its queue is full and the client retries.

mod common;

use common::{llm_batch, now_nanos, post, spawn_headless};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use serde_json::Value as Json;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, set up as tests/python_sdk.rs does (or `LLMWATCH_TEST_PYTHON`).
fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("LLMWATCH_TEST_PYTHON") {
        return p.into();
    }
    let venv = manifest_dir().join("target/pyvenv");
    let ok = Command::new("bash")
        .arg(manifest_dir().join("scripts/setup-python-venv.sh"))
        .arg(&venv)
        .stdin(Stdio::null())
        .status()
        .expect("run scripts/setup-python-venv.sh")
        .success();
    assert!(
        ok,
        "scripts/setup-python-venv.sh failed: this test needs the SDK venv"
    );
    venv.join("bin/python")
}

/// The Python SDK's exporters send spans and logs to `a` over gRPC and HTTP.
fn python_traffic(a: &common::Headless) {
    let mut cmd = Command::new(python());
    cmd.arg(manifest_dir().join("scripts/python_exporters.py"))
        .args(["--grpc", &a.grpc.to_string(), "--http", &a.http.to_string()])
        .args(["--spans", "200", "--traces", "40", "--logs", "60"])
        .stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.output().expect("run python_exporters.py");
    assert!(
        out.status.success(),
        "python_exporters.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The instrumentation captures, posted as OTLP/JSON lines (forwarded as JSON to an HTTP
/// target, re-encoded as protobuf for a gRPC one), and a metrics request.
fn capture_traffic(a: &common::Headless) {
    let fixtures = manifest_dir().join("tests/fixtures");
    let files = [
        ("otel_genai.jsonl", "/v1/traces"),
        ("otel_genai.logs.jsonl", "/v1/logs"),
        ("otel_genai_eval.jsonl", "/v1/traces"),
        ("otel_genai_eval.logs.jsonl", "/v1/logs"),
        ("openinference.jsonl", "/v1/traces"),
        ("capture/collector.traces.jsonl", "/v1/traces"),
        ("capture/collector.logs.jsonl", "/v1/logs"),
        ("capture/collector.metrics.jsonl", "/v1/metrics"),
    ];
    for (file, path) in files {
        let text = std::fs::read_to_string(fixtures.join(file)).expect("fixture");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let r = post(a.http, path, "application/json", line.as_bytes());
            assert_eq!(r.status, 200, "{file}: {}", String::from_utf8_lossy(&r.body));
        }
    }
}

/// Sends `batches` tonic requests of `per` spans to `url`, retrying UNAVAILABLE (A's refusal
/// while a forwarding queue is full). Returns the spans acknowledged and the refusals seen.
async fn load(url: String, first_trace: u64, batches: usize, per: usize, pause: Duration) -> (u64, u64) {
    let mut client = TraceServiceClient::new(common::channel(&url).await);
    let (mut acked, mut refused) = (0, 0);
    for b in 0..batches {
        let req = llm_batch(first_trace + (b * per) as u64, per, per / 4, now_nanos());
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            match client.export(req.clone()).await {
                Ok(_) => break,
                Err(s) if s.code() == tonic::Code::Unavailable => {
                    refused += 1;
                    assert!(Instant::now() < deadline, "refused for 90 s");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(s) => panic!("gRPC {s}"),
            }
        }
        acked += per as u64;
        tokio::time::sleep(pause).await;
    }
    (acked, refused)
}

fn summary_of(stdout: &str) -> Json {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("summary JSON: {e}\n{stdout}"))
}

/// Floats to 9 decimals: sums of costs and scores may be added in another order upstream.
fn rounded(v: Json) -> Json {
    match v {
        Json::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or_default();
            serde_json::json!((x * 1e9).round() / 1e9)
        }
        Json::Array(a) => Json::Array(a.into_iter().map(rounded).collect()),
        Json::Object(o) => Json::Object(o.into_iter().map(|(k, v)| (k, rounded(v))).collect()),
        other => other,
    }
}

/// The parts of a summary that say what was received: B must match A on each.
fn received_view(s: &Json) -> Json {
    let mut verdicts = s["verdicts"].clone();
    if let Some(v) = verdicts.as_array_mut() {
        v.sort_by_key(|r| r["name"].to_string());
    }
    rounded(serde_json::json!({
        "spans": {
            "received": s["spans"]["received"],
            "accepted": s["spans"]["accepted"],
            "rejected": s["spans"]["rejected"],
            "duplicates": s["spans"]["duplicates"],
        },
        "traces": s["traces"],
        "llm_calls": s["llm_calls"],
        "errors": s["errors"],
        "tokens": s["tokens"],
        "cost_usd": s["cost_usd"],
        "unpriced_calls": s["unpriced_calls"],
        "by_model": s["by_model"],
        "verdicts": verdicts,
        "logs": {"received": s["logs"]["received"], "accepted": s["logs"]["accepted"]},
        "metrics": s["metrics"],
    }))
}

#[test]
fn a_forwards_everything_to_b_over_grpc_and_http() {
    let b_grpc = spawn_headless(&[], &[]);
    let b_http = spawn_headless(&[], &[]);
    let to_grpc = format!("http://{}", b_grpc.grpc);
    let to_http = format!("http://{}/v1/traces", b_http.http);
    let a = spawn_headless(
        &[
            "--forward",
            &to_grpc,
            "--forward",
            &to_http,
            "--forward-header",
            "x-fleet=test",
        ],
        &[],
    );
    python_traffic(&a);
    capture_traffic(&a);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (acked, _) = rt.block_on(load(
        format!("http://{}", a.grpc),
        1_000_000,
        60,
        40,
        Duration::ZERO,
    ));

    let (a_out, ok) = a.terminate();
    assert!(ok, "A exits cleanly");
    let a_sum = summary_of(&a_out);
    let (g_out, ok_g) = b_grpc.terminate();
    let (h_out, ok_h) = b_http.terminate();
    assert!(ok_g && ok_h, "B exits cleanly");
    let fwd = &a_sum["forward"];
    eprintln!("A forward: {fwd:#}");
    assert_eq!(fwd["refused_requests"], 0, "{fwd}");
    for t in fwd["targets"].as_array().expect("targets") {
        assert_eq!(t["queued_requests"], 0, "{t}");
        assert_eq!(t["failed_requests"], 0, "{t}");
        let r = &a_sum["requests"];
        let accepted = r["ok"].as_u64().unwrap() + r["partially_rejected"].as_u64().unwrap();
        assert_eq!(
            t["sent_requests"].as_u64(),
            Some(accepted),
            "every accepted request: {t}"
        );
    }
    assert_eq!(fwd["targets"][0]["protocol"], "grpc");
    assert_eq!(fwd["targets"][1]["protocol"], "http");
    let a_view = received_view(&a_sum);
    assert!(a_sum["spans"]["accepted"].as_u64().unwrap() >= acked + 200);
    assert!(a_sum["llm_calls"].as_u64().unwrap() > 0 && a_sum["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(!a_sum["verdicts"].as_array().unwrap().is_empty(), "{a_sum}");
    assert_eq!(received_view(&summary_of(&g_out)), a_view, "B over gRPC");
    assert_eq!(received_view(&summary_of(&h_out)), a_view, "B over HTTP");
}

/// A port free now on loopback (for a B that must come back on the same port).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn spawn_b_on(grpc: u16, http: u16) -> common::Headless {
    spawn_headless(
        &[
            "--grpc",
            &format!("127.0.0.1:{grpc}"),
            "--http",
            &format!("127.0.0.1:{http}"),
        ],
        &[],
    )
}

/// B stops for 10 s in the middle of a load run into A and comes back on the same ports.
fn outage(b_url: impl Fn(u16, u16) -> String) {
    let (grpc, http) = (free_port(), free_port());
    let b1 = spawn_b_on(grpc, http);
    let a = spawn_headless(
        &[
            "--forward",
            &b_url(grpc, http),
            "--forward-queue",
            "512KiB",
            "--forward-drain",
            "30s",
        ],
        &[],
    );
    let url = format!("http://{}", a.grpc);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // About 12 s of traffic: B goes away after 2 s and is back 10 s later.
    let sender = rt.spawn(load(url, 1, 120, 20, Duration::from_millis(100)));
    std::thread::sleep(Duration::from_secs(2));
    let (b1_out, ok) = b1.terminate();
    assert!(ok, "B exits cleanly");
    let down = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let b2 = spawn_b_on(grpc, http);
    eprintln!("B was down {:.1?}", down.elapsed());
    let (acked, refused) = rt.block_on(sender).expect("sender");

    let (a_out, ok) = a.terminate();
    assert!(ok, "A exits cleanly");
    let (b2_out, ok) = b2.terminate();
    assert!(ok, "B exits cleanly");
    let (a_sum, b1_sum, b2_sum) = (summary_of(&a_out), summary_of(&b1_out), summary_of(&b2_out));
    let fwd = &a_sum["forward"];
    eprintln!("acked {acked}, client saw {refused} refusals; A forward: {fwd:#}");
    let accepted = |s: &Json| s["spans"]["accepted"].as_u64().unwrap();
    assert_eq!(accepted(&a_sum), acked, "A accepted what it acknowledged");
    assert!(refused > 0, "A refused while its queue was full");
    assert!(fwd["refused_requests"].as_u64().unwrap() > 0, "{fwd}");
    assert!(fwd["targets"][0]["retried"].as_u64().unwrap() > 0, "{fwd}");
    assert_eq!(fwd["targets"][0]["queued_requests"], 0, "{fwd}");
    assert_eq!(fwd["targets"][0]["failed_requests"], 0, "{fwd}");
    assert_eq!(
        accepted(&b1_sum) + accepted(&b2_sum),
        acked,
        "B (both runs) got everything A acknowledged, once"
    );
    assert!(accepted(&b1_sum) > 0 && accepted(&b2_sum) > 0);
    assert_eq!(
        b1_sum["spans"]["rejected"].as_u64().unwrap() + b2_sum["spans"]["rejected"].as_u64().unwrap(),
        0
    );
}

#[test]
fn b_stopped_for_10s_gets_everything_a_acknowledged_over_grpc() {
    outage(|grpc, _| format!("http://127.0.0.1:{grpc}"));
}

#[test]
fn b_stopped_for_10s_gets_everything_a_acknowledged_over_http() {
    // Not the OTLP/HTTP port 4318: the protocol is named.
    outage(|_, http| format!("http://127.0.0.1:{http}?protocol=http"));
}

/// `--forward-header` reaches the upstream (here its bearer token), and an upstream that
/// refuses for good (401 / UNAUTHENTICATED) counts the requests as failed, says so once, and
/// does not hold the queue.
#[test]
fn headers_reach_the_upstream_and_refusals_for_good_are_counted() {
    let b = spawn_headless(&["--auth-token", "s3cret"], &[]);
    let with = spawn_headless(
        &[
            "--forward",
            &format!("http://{}", b.grpc),
            "--forward-header",
            "authorization=Bearer s3cret",
        ],
        &[],
    );
    let without = spawn_headless(&["--forward", &format!("http://{}?protocol=http", b.http)], &[]);
    let body = prost::Message::encode_to_vec(&llm_batch(1, 20, 5, now_nanos()));
    for a in [&with, &without] {
        assert_eq!(
            post(a.http, "/v1/traces", "application/x-protobuf", &body).status,
            200
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut said = Vec::new();
    while said.is_empty() && Instant::now() < deadline {
        said.extend(
            without
                .stderr_so_far()
                .into_iter()
                .filter(|l| l.contains("refused")),
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("HTTP 401"), "{said:?}");
    let (with_out, ok1) = with.terminate();
    let (without_out, ok2) = without.terminate();
    let (b_out, ok3) = b.terminate();
    assert!(ok1 && ok2 && ok3);
    let target = |out: &str| summary_of(out)["forward"]["targets"][0].clone();
    let (t_with, t_without) = (target(&with_out), target(&without_out));
    assert_eq!(
        (
            t_with["sent_requests"].as_u64(),
            t_with["failed_requests"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(
        (
            t_without["sent_requests"].as_u64(),
            t_without["failed_requests"].as_u64(),
            t_without["queued_requests"].as_u64()
        ),
        (Some(0), Some(1), Some(0))
    );
    assert_eq!(
        summary_of(&b_out)["spans"]["accepted"],
        20,
        "only the request with the token"
    );
}

/// A bad target, on the command line or in `LLMWATCH_FORWARD`, is a usage error (exit 2) with
/// the reason on one line, before anything listens.
#[test]
fn bad_targets_are_usage_errors() {
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmwatch"));
        cmd.args(["--headless", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(args)
            .env_remove("LLMWATCH_FORWARD")
            .stdin(Stdio::null());
        if let Some(v) = env {
            cmd.env("LLMWATCH_FORWARD", v);
        }
        let out = cmd.output().expect("run llmwatch");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--forward", "https://c:4318"], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid --forward URL \"https://c:4318\""), "{err}");
    let (code, err) = run(&[], Some("http://c:4317, http://c:4317?protocol=thrift"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("protocol is grpc or http"), "{err}");
    let (code, err) = run(
        &["--forward", "http://c:4317", "--forward-header", "novalue"],
        None,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid --forward-header \"novalue\""), "{err}");
}
