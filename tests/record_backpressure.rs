//! `--record` is an audit trail: everything acknowledged reaches the recording. A FIFO read
//! slowly stands for a slow disk; receivers must refuse (429 / UNAVAILABLE) while the recording
//! is behind, exporters retry, and at exit every acknowledged span is in the file.

mod common;

use common::{llm_batch, now_nanos, post, spawn_headless};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use serde_json::Value as Json;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Reads the FIFO at about `bytes_per_sec` until the writer closes it (or, with `stop_after`,
/// closes it after that many bytes: the writer then gets EPIPE).
fn slow_reader(
    path: PathBuf,
    bytes_per_sec: usize,
    stop_after: Option<usize>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut fifo = std::fs::File::open(&path).expect("open the FIFO for reading");
        let mut all = Vec::new();
        let mut chunk = vec![0u8; bytes_per_sec / 20];
        loop {
            if stop_after.is_some_and(|n| all.len() >= n) {
                return all;
            }
            match fifo.read(&mut chunk) {
                Ok(0) => return all,
                Ok(n) => all.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("reading the FIFO: {e}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

fn span_ids(req: &ExportTraceServiceRequest) -> Vec<String> {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| s.span_id.iter().map(|b| format!("{b:02x}")).collect())
        .collect()
}

/// Span ids in an OTLP/JSON recording, one request a line.
fn recorded_span_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for line in text.lines() {
        let j: Json = serde_json::from_str(line).expect("a whole JSON line");
        for rs in j["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    ids.push(s["spanId"].as_str().expect("spanId").to_string());
                }
            }
        }
    }
    ids
}

/// Sends `batches` requests of `per` spans over OTLP/HTTP, retrying refusals (429 with
/// Retry-After); returns the acknowledged span ids and how many refusals it saw.
fn send_http(addr: std::net::SocketAddr, first_trace: u64, batches: usize, per: usize) -> (Vec<String>, u64) {
    let (mut acked, mut refused) = (Vec::new(), 0);
    for b in 0..batches {
        let req = llm_batch(first_trace + (b * per) as u64, per, per, now_nanos());
        let body = req.encode_to_vec();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let resp = post(addr, "/v1/traces", "application/x-protobuf", &body);
            match resp.status {
                200 => break,
                429 => {
                    assert_eq!(resp.header("retry-after"), Some("1"));
                    refused += 1;
                    assert!(Instant::now() < deadline, "refused for a minute");
                    // Sooner than Retry-After asks, to keep the test short.
                    std::thread::sleep(Duration::from_millis(50));
                }
                s => panic!("HTTP {s}"),
            }
        }
        acked.extend(span_ids(&req));
    }
    (acked, refused)
}

/// As [`send_http`], over OTLP/gRPC (UNAVAILABLE is the refusal).
async fn send_grpc(url: String, first_trace: u64, batches: usize, per: usize) -> (Vec<String>, u64) {
    let mut client = TraceServiceClient::new(common::channel(&url).await);
    let (mut acked, mut refused) = (Vec::new(), 0);
    for b in 0..batches {
        let req = llm_batch(first_trace + (b * per) as u64, per, per, now_nanos());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match client.export(req.clone()).await {
                Ok(_) => break,
                Err(s) if s.code() == tonic::Code::Unavailable => {
                    refused += 1;
                    assert!(Instant::now() < deadline, "refused for a minute");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(s) => panic!("gRPC {s}"),
            }
        }
        acked.extend(span_ids(&req));
    }
    (acked, refused)
}

#[test]
fn a_slow_recording_refuses_and_keeps_everything_acknowledged() {
    const BATCHES: usize = 40;
    const PER: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rec.fifo");
    mkfifo(&fifo);
    // About 2 MB/s, while the senders offer far more: the 256 KiB queue fills at once.
    let reader = slow_reader(fifo.clone(), 2 << 20, None);
    let started = Instant::now();
    let lw = spawn_headless(
        &["--record", fifo.to_str().unwrap(), "--record-buffer", "256KiB"],
        &[],
    );
    let url = format!("http://{}", lw.grpc);
    let http = lw.http;
    let http_sender = std::thread::spawn(move || send_http(http, 1, BATCHES, PER));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (grpc_acked, grpc_refused) = rt.block_on(send_grpc(url, 10_000_000, BATCHES, PER));
    let (http_acked, http_refused) = http_sender.join().unwrap();
    let (stdout, ok) = lw.terminate();
    assert!(ok, "llmwatch exits cleanly");
    let recording = reader.join().unwrap();
    let elapsed = started.elapsed();

    let acked: Vec<String> = http_acked.into_iter().chain(grpc_acked).collect();
    assert_eq!(acked.len(), 2 * BATCHES * PER);
    let text = String::from_utf8(recording).expect("the recording is UTF-8");
    let recorded = recorded_span_ids(&text);
    let recorded_set: HashSet<&String> = recorded.iter().collect();
    let missing: Vec<&String> = acked.iter().filter(|id| !recorded_set.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged spans not recorded",
        missing.len()
    );
    assert_eq!(recorded.len(), acked.len(), "nothing refused was recorded");

    let summary: Json = serde_json::from_str(&stdout).expect("summary JSON");
    let rec = &summary["record"];
    eprintln!(
        "recorded {} bytes in {elapsed:.1?}; refusals seen: http {http_refused} grpc {grpc_refused}; record: {rec}",
        text.len()
    );
    assert!(
        http_refused + grpc_refused > 0,
        "the slow recording made receivers refuse"
    );
    assert!(rec["refused_for_record"].as_u64().unwrap() > 0, "{rec}");
    assert_eq!(rec["spans"], summary["spans"]["accepted"], "{summary}");
    assert_eq!(rec["spans"].as_u64(), Some(acked.len() as u64));
    assert_eq!(rec["lines"].as_u64(), Some(text.lines().count() as u64));
    assert_eq!(rec["bytes"].as_u64(), Some(text.len() as u64));
    assert_eq!(rec["errors"].as_u64(), Some(0));
    assert_eq!(summary["spans"]["accepted"].as_u64(), Some(acked.len() as u64));
}

#[test]
fn a_recording_that_fails_refuses_without_crashing() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rec.fifo");
    mkfifo(&fifo);
    // The reader goes away after the first bytes: the writer's next write fails with EPIPE.
    let reader = slow_reader(fifo.clone(), 1 << 20, Some(1));
    let lw = spawn_headless(&["--record", fifo.to_str().unwrap()], &[]);
    let body = llm_batch(1, 20, 20, now_nanos()).encode_to_vec();
    let mut statuses = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !statuses.contains(&429) {
        assert!(Instant::now() < deadline, "never refused: {statuses:?}");
        statuses.push(post(lw.http, "/v1/traces", "application/x-protobuf", &body).status);
        std::thread::sleep(Duration::from_millis(100));
        if statuses.len() == 1 {
            let _ = reader_done(&reader);
        }
    }
    assert_eq!(statuses[0], 200);
    // Refused from then on, retryably, and said once.
    assert_eq!(
        post(lw.http, "/v1/traces", "application/x-protobuf", &body).status,
        429
    );
    std::thread::sleep(Duration::from_millis(600));
    let said: Vec<String> = lw
        .stderr_so_far()
        .into_iter()
        .filter(|l| l.contains("recording to"))
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    let (stdout, ok) = lw.terminate();
    assert!(ok, "llmwatch exits cleanly after a write error");
    let summary: Json = serde_json::from_str(&stdout).expect("summary JSON");
    let rec = &summary["record"];
    assert!(rec["errors"].as_u64().unwrap() > 0, "{rec}");
    assert!(rec["refused_for_record"].as_u64().unwrap() > 0, "{rec}");
    drop(reader);
}

/// Whether the reader has closed its end (it stops after its first bytes).
fn reader_done(reader: &std::thread::JoinHandle<Vec<u8>>) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    reader.is_finished()
}

#[test]
fn a_replay_waits_for_a_slow_recording_instead_of_refusing() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rec.fifo");
    mkfifo(&fifo);
    let reader = slow_reader(fifo.clone(), 256 << 10, None);
    let capture = format!("{}/tests/fixtures/otel_genai.jsonl", env!("CARGO_MANIFEST_DIR"));
    let (code, stdout, stderr) = common::run_llmwatch(&[
        "replay",
        "--speed",
        "max",
        "--headless",
        "--record",
        fifo.to_str().unwrap(),
        "--record-buffer",
        "4KiB",
        &capture,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = String::from_utf8(reader.join().unwrap()).unwrap();
    let summary: Json = serde_json::from_str(&stdout).unwrap();
    let rec = &summary["record"];
    assert_eq!(rec["refused_for_record"], 0, "{rec}");
    assert_eq!(summary["spans"]["dropped"], 0);
    let accepted = summary["spans"]["accepted"].as_u64().unwrap();
    assert!(accepted > 0);
    assert_eq!(rec["spans"].as_u64(), Some(accepted));
    assert_eq!(recorded_span_ids(&text).len() as u64, accepted);
}
