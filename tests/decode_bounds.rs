//! Decoding within the memory budget (issue 13, item 3): bodies that are small on the wire but
//! decode to hundreds of bytes per byte (empty spans, events, attributes; `{}` in OTLP/JSON) are
//! refused before they are decoded, over HTTP and gRPC, with a one-line reason and a counter,
//! while valid requests keep being served, during the flood and after it.

mod common;

use bytes::Bytes;
use common::*;
use llmwatch::config::split_budget;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use std::net::SocketAddr;
use tonic::Code;

const MAX_MEMORY: usize = 16 << 20;
/// Hostile bodies of about this many bytes: far under --max-request-size.
const BODY: usize = 2 << 20;

fn small_budget() -> llmwatch::server::ServerConfig {
    let (store, handoff) = split_budget(10_000, MAX_MEMORY);
    llmwatch::server::ServerConfig {
        store,
        handoff,
        ..test_config()
    }
}

fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    prost::encoding::encode_varint(body.len() as u64, &mut out);
    out.extend_from_slice(body);
    out
}

/// ResourceSpans -> ScopeSpans -> `spans`.
fn in_scope(spans: &[u8]) -> Vec<u8> {
    wrap(0x0a, &wrap(0x12, spans))
}

/// The hostile protobuf bodies: empty spans, one span of empty events, one of empty attributes.
fn hostile_protobuf() -> Vec<(&'static str, Vec<u8>)> {
    let empty = |tag: u8| [tag, 0x00].repeat(BODY / 2);
    vec![
        ("empty spans", in_scope(&empty(0x12))),
        ("empty events", in_scope(&wrap(0x12, &empty(0x5a)))),
        ("empty attributes", in_scope(&wrap(0x12, &empty(0x4a)))),
    ]
}

fn hostile_json() -> Vec<u8> {
    let spans = vec!["{}"; BODY / 3].join(",");
    format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{spans}]}}]}}]}}"#).into_bytes()
}

/// google.rpc.Status, the error body of a protobuf request.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The (code, message) of an error answer, in the request's encoding.
fn status_of(resp: &HttpResponse) -> (i64, String) {
    if resp.header("content-type") == Some("application/json") {
        let json = resp.json();
        (
            json["code"].as_i64().unwrap(),
            json["message"].as_str().unwrap().to_owned(),
        )
    } else {
        let status = RpcStatus::decode(&resp.body[..]).expect("Status body");
        (status.code.into(), status.message)
    }
}

fn valid_http(addr: SocketAddr, id: u64) -> HttpResponse {
    let body = llm_batch(id, 5, 5, now_nanos()).encode_to_vec();
    post(addr, "/v1/traces", "application/x-protobuf", &body)
}

fn assert_one_line_reason(message: &str) {
    assert!(!message.contains('\n'), "{message:?}");
    assert!(message.contains("decode budget"), "{message:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_are_refused_over_http_and_valid_requests_still_served() {
    let running = start(small_budget()).await;
    let http = running.http_addr.unwrap();
    let mut refused = 0;
    let bodies: Vec<(&str, &str, Vec<u8>)> = hostile_protobuf()
        .into_iter()
        .map(|(name, body)| (name, "application/x-protobuf", body))
        .chain([("{} spans", "application/json", hostile_json())])
        .collect();
    let refusals = tokio::task::spawn_blocking(move || {
        let mut answers = Vec::new();
        for (name, media, body) in &bodies {
            let resp = post(http, "/v1/traces", media, body);
            answers.push((name.to_string(), resp.status, status_of(&resp)));
        }
        answers
    });
    // Valid requests are served meanwhile.
    let valid = tokio::task::spawn_blocking(move || {
        (0..20)
            .map(|i| valid_http(http, 1000 + i).status)
            .collect::<Vec<_>>()
    });
    for (name, status, (code, message)) in refusals.await.unwrap() {
        assert_eq!(status, 413, "{name}: {message}");
        assert_eq!(code, 8, "{name}");
        assert_one_line_reason(&message);
        refused += 1;
    }
    assert!(valid.await.unwrap().iter().all(|&s| s == 200));
    let after = tokio::task::spawn_blocking(move || valid_http(http, 1))
        .await
        .unwrap();
    assert_eq!(after.status, 200);
    let summary = running.stop().await;
    assert_eq!(summary.requests.too_large, refused);
    assert_eq!(summary.spans.accepted, 21 * 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_are_resource_exhausted_over_grpc_and_valid_requests_still_served() {
    let running = start(small_budget()).await;
    let ch = channel(&grpc_url(&running)).await;
    let mut hostile = Vec::new();
    for (name, body) in hostile_protobuf() {
        let ch = ch.clone();
        hostile.push(tokio::spawn(async move {
            (
                name,
                grpc_raw(ch, TRACE_EXPORT_PATH, Bytes::from(body), &[]).await,
            )
        }));
    }
    for i in 0..10 {
        TraceServiceClient::new(ch.clone())
            .export(llm_batch(2000 + i, 5, 5, now_nanos()))
            .await
            .expect("valid request served during the flood");
    }
    for h in hostile {
        let (name, result) = h.await.unwrap();
        let err = result.expect_err(name);
        assert_eq!(err.code(), Code::ResourceExhausted, "{name}: {err:?}");
        assert_one_line_reason(err.message());
    }
    TraceServiceClient::new(ch)
        .export(llm_batch(1, 5, 5, now_nanos()))
        .await
        .expect("valid request served after the flood");
    let summary = running.stop().await;
    assert_eq!(summary.requests.too_large, 3);
    assert_eq!(summary.spans.accepted, 11 * 5);
}

/// Requests in flight share the budget: while it is held, a request that would fit alone is
/// refused as retryable (429 / UNAVAILABLE), and taken once the budget is free again.
#[tokio::test]
async fn requests_in_flight_share_the_decode_budget() {
    let running = start(small_budget()).await;
    let http = running.http_addr.unwrap();
    let ch = channel(&grpc_url(&running)).await;
    let budget = running.pipeline.decode_budget.clone();
    let held = budget.reserve(budget.total() - 1000).unwrap();
    let resp = tokio::task::spawn_blocking(move || valid_http(http, 1))
        .await
        .unwrap();
    assert_eq!(resp.status, 429, "{:?}", status_of(&resp));
    assert_eq!(resp.header("retry-after"), Some("1"));
    let err = TraceServiceClient::new(ch.clone())
        .export(llm_batch(2, 5, 5, now_nanos()))
        .await
        .expect_err("budget held");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    drop(held);
    let resp = tokio::task::spawn_blocking(move || valid_http(http, 3))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    TraceServiceClient::new(ch)
        .export(llm_batch(4, 5, 5, now_nanos()))
        .await
        .expect("budget free");
    assert_eq!(budget.used(), 0);
    let summary = running.stop().await;
    assert_eq!(summary.requests.overloaded, 2);
    assert_eq!(summary.spans.accepted, 10);
}

/// Spans that decode to many times their wire size (twenty empty attributes each: ~17 times)
/// but fit the budget: more than the first guess a request is reserved for, so the read stops,
/// the request is walked and reserved for exactly, and read again. Accepted in full, over gRPC
/// and HTTP, and the budget is free afterwards.
#[tokio::test]
async fn requests_that_decode_past_the_first_guess_are_reserved_exactly_and_read() {
    use opentelemetry_proto::tonic::common::v1::KeyValue;
    let running = start(small_budget()).await;
    let http = running.http_addr.unwrap();
    let ch = channel(&grpc_url(&running)).await;
    let request = |batch: u64| {
        let mut req = llm_batch(batch, 100, 1, now_nanos());
        for rs in &mut req.resource_spans {
            for ss in &mut rs.scope_spans {
                for span in &mut ss.spans {
                    span.attributes = vec![KeyValue::default(); 20];
                }
            }
        }
        req
    };
    let req = request(1);
    let walked = llmwatch::ingest::bound::protobuf_estimate(
        llmwatch::ingest::bound::Signal::Traces,
        &req.encode_to_vec(),
    )
    .unwrap();
    let guess = llmwatch::ingest::bound::protobuf_guess(req.encoded_len());
    assert!(
        walked > guess && walked < running.pipeline.decode_budget.total() / 4,
        "{walked} {guess}"
    );
    TraceServiceClient::new(ch)
        .export(req)
        .await
        .expect("read past the guess over gRPC");
    let body = request(1001).encode_to_vec();
    let resp = tokio::task::spawn_blocking(move || post(http, "/v1/traces", "application/x-protobuf", &body))
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{:?}", status_of(&resp));
    assert_eq!(running.pipeline.decode_budget.used(), 0);
    let summary = running.stop().await;
    assert_eq!(summary.spans.accepted, 200);
    assert_eq!(summary.requests.too_large + summary.requests.overloaded, 0);
}

/// A capture line of 32 MiB holding 11 M `{}` spans (over 3 GB decoded) is skipped as
/// malformed, with its reason, and the rest of the capture is read: under a 1 GiB address
/// space limit, which decoding the line would exceed. The line is refused before it is read.
#[test]
fn a_hostile_capture_line_is_skipped_within_a_1gib_address_space() {
    hostile_capture_line_skipped(32 << 20);
}

/// A line of 10 MiB (3.5 M `{}` spans, over 900 MB decoded) is small enough to be read before
/// it is walked: the reader stops where the decode bound would be passed (about 480,000
/// objects in), then the walk refuses it, all within the 1 GiB.
#[test]
fn a_hostile_capture_line_stops_being_read_at_the_decode_bound() {
    hostile_capture_line_skipped(10 << 20);
}

fn hostile_capture_line_skipped(bytes: usize) {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.jsonl");
    let good = fixture("otel_genai.jsonl");
    let good = good.lines().next().unwrap();
    let spans = vec!["{}"; bytes / 3].join(",");
    let hostile = format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{spans}]}}]}}]}}"#);
    std::fs::write(&path, format!("{good}\n{hostile}\n{good}\n")).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch"));
    cmd.args(["report", path.to_str().unwrap()]);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("capture.jsonl:2: would take about"), "{stderr}");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["input"]["malformed_lines"], 1);
    assert!(s["spans"]["accepted"].as_u64().unwrap() > 0);
}
