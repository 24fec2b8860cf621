//! OTLP/HTTP ingest with a raw HTTP/1.1 client against the real receiver on an ephemeral port:
//! protobuf and JSON, plain and compressed, and every malformed, oversized, unauthorised or
//! misrouted request, each answered with the right status and a one-line Status body, after
//! which the server still serves.

mod common;

use common::*;
use llmwatch::ingest::http::RpcStatus;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::net::SocketAddr;

/// What a bad request is, its headers and its body.
type Case = (&'static str, Vec<(&'static str, String)>, Vec<u8>);

const PB: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// Runs the blocking raw client off the runtime's worker threads.
async fn req(
    addr: SocketAddr,
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> HttpResponse {
    tokio::task::spawn_blocking(move || {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        http_request(addr, method, path, &h, &body)
    })
    .await
    .unwrap()
}

async fn post_as(addr: SocketAddr, path: &'static str, ct: &str, body: Vec<u8>) -> HttpResponse {
    req(addr, "POST", path, vec![("Content-Type", ct.to_string())], body).await
}

fn http_addr(r: &llmwatch::server::Running) -> SocketAddr {
    r.http_addr.expect("http on")
}

/// A small valid request, to prove the server still serves after each bad one.
async fn still_serves(addr: SocketAddr) {
    let resp = post_as(
        addr,
        "/v1/traces",
        PB,
        llm_batch(9_999, 1, 1, now_nanos()).encode_to_vec(),
    )
    .await;
    assert_eq!(resp.status, 200, "server should still serve");
}

fn one_line_message(resp: &HttpResponse) -> String {
    let msg = match resp.header("content-type") {
        Some(PB) => {
            RpcStatus::decode(&resp.body[..])
                .expect("protobuf Status body")
                .message
        }
        _ => resp.json()["message"]
            .as_str()
            .expect("JSON Status body")
            .to_string(),
    };
    assert!(
        !msg.is_empty() && !msg.contains('\n'),
        "one-line message: {msg:?}"
    );
    msg
}

#[tokio::test]
async fn protobuf_and_json_plain_and_compressed_are_counted_exactly() {
    let running = start(test_config()).await;
    let addr = http_addr(&running);
    let pb = llm_batch(1, 20, 4, now_nanos()).encode_to_vec();
    let json = serde_json::to_vec(&llm_batch(101, 20, 4, now_nanos())).unwrap();
    let (mut sent, mut requests) = (0, 0);
    for (ct, body, encoding) in [
        (PB, pb.clone(), None),
        (
            PB,
            gzip(&llm_batch(201, 20, 4, now_nanos()).encode_to_vec()),
            Some("gzip"),
        ),
        (
            PB,
            zstd::encode_all(&llm_batch(301, 20, 4, now_nanos()).encode_to_vec()[..], 3).unwrap(),
            Some("zstd"),
        ),
        (JSON, json.clone(), None),
        (
            JSON,
            gzip(&serde_json::to_vec(&llm_batch(401, 20, 4, now_nanos())).unwrap()),
            Some("gzip"),
        ),
        (
            PB,
            deflate(&llm_batch(501, 20, 4, now_nanos()).encode_to_vec()),
            Some("deflate"),
        ),
    ] {
        let mut headers = vec![("Content-Type", ct.to_string())];
        if let Some(e) = encoding {
            headers.push(("Content-Encoding", e.to_string()));
        }
        let resp = req(addr, "POST", "/v1/traces", headers, body).await;
        assert_eq!(
            resp.status,
            200,
            "{ct} {encoding:?}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        assert_eq!(
            resp.header("content-type"),
            Some(ct),
            "answer in the request's encoding"
        );
        if ct == PB {
            assert_eq!(
                ExportTraceServiceResponse::decode(&resp.body[..])
                    .unwrap()
                    .partial_success,
                None
            );
        } else {
            assert_eq!(resp.json(), serde_json::json!({}));
        }
        sent += 20;
        requests += 1;
    }
    // Captures from real instrumentation, exactly as their exporters produced them (OTLP/JSON).
    for (path, name) in [
        ("/v1/traces", "otel_genai.jsonl"),
        ("/v1/traces", "openinference.jsonl"),
        ("/v1/traces", "otel_genai_eval.jsonl"),
        ("/v1/logs", "otel_genai.logs.jsonl"),
        ("/v1/logs", "otel_genai_eval.logs.jsonl"),
    ] {
        for line in fixture(name).lines().filter(|l| !l.trim().is_empty()) {
            let resp = post_as(addr, path, JSON, line.as_bytes().to_vec()).await;
            assert_eq!(
                resp.status,
                200,
                "{name}: {}",
                String::from_utf8_lossy(&resp.body)
            );
            requests += 1;
        }
    }
    let resp = post_as(addr, "/v1/metrics", PB, Vec::new()).await;
    assert_eq!(resp.status, 200);
    requests += 1;
    let summary = running.stop().await;
    assert_eq!(summary.spans.received, sent + 22);
    assert_eq!(summary.spans.accepted, sent + 22);
    assert_eq!(summary.spans.stored, sent + 22);
    assert_eq!(summary.traces, 30 + 5);
    assert_eq!(
        summary.errors, 4,
        "the captures hold two failing traces of two error spans each"
    );
    assert_eq!(summary.logs.accepted, 7);
    assert_eq!(summary.requests.http, requests);
    assert_eq!(summary.requests.ok, requests);
}

#[tokio::test]
async fn snake_case_json_and_bad_ids_get_partial_success_in_json_and_protobuf() {
    let running = start(test_config()).await;
    let addr = http_addr(&running);
    // snake_case keys are silently dropped by OTLP/JSON decoding, leaving empty ids.
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","name":"snake"},
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"camel"}]}]}]}"#;
    let resp = post_as(addr, "/v1/traces", JSON, body.to_vec()).await;
    assert_eq!(resp.status, 200);
    let json = resp.json();
    assert_eq!(
        json["partialSuccess"]["rejectedSpans"], "1",
        "int64 as a string: {json}"
    );
    assert_eq!(
        json["partialSuccess"]["errorMessage"],
        "span \"snake\": trace_id must be 16 bytes, got 0"
    );

    let mut batch = llm_batch(1, 4, 4, now_nanos());
    batch.resource_spans[0].scope_spans[0].spans[1].span_id = vec![1; 4];
    let resp = post_as(addr, "/v1/traces", PB, batch.encode_to_vec()).await;
    let partial = ExportTraceServiceResponse::decode(&resp.body[..])
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 1);

    let logs = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"00","body":{"stringValue":"bad span id"}},
        {"body":{"stringValue":"no ids is fine"}}]}]}]}"#;
    let resp = post_as(addr, "/v1/logs", PB, Vec::new()).await;
    assert_eq!(
        ExportLogsServiceResponse::decode(&resp.body[..])
            .unwrap()
            .partial_success,
        None
    );
    let resp = post_as(addr, "/v1/logs", JSON, logs.to_vec()).await;
    assert_eq!(resp.json()["partialSuccess"]["rejectedLogRecords"], "1");

    let summary = running.stop().await;
    assert_eq!(
        (
            summary.spans.received,
            summary.spans.accepted,
            summary.spans.rejected
        ),
        (6, 4, 2)
    );
    assert_eq!(
        (
            summary.logs.received,
            summary.logs.accepted,
            summary.logs.rejected
        ),
        (2, 1, 1)
    );
    assert_eq!(summary.requests.partially_rejected, 3);
}

#[tokio::test]
async fn json_is_read_live_as_replay_reads_it() {
    // One decoder for both: proto3 JSON's non-finite doubles (as `--record` writes them), which
    // opentelemetry-proto's own Deserialize refused, are taken live as in a replay.
    let running = start(test_config()).await;
    let addr = http_addr(&running);
    let line = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"nan","attributes":[{"key":"score","value":{"doubleValue":"NaN"}}]}]}]}]}"#;
    let resp = post_as(addr, "/v1/traces", JSON, line.to_vec()).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let replayed = llmwatch::ingest::capture::parse_json_line(std::str::from_utf8(line).unwrap());
    assert!(matches!(replayed, Ok(Some(_))), "{replayed:?}");
    let summary = running.stop().await;
    assert_eq!(summary.spans.accepted, 1);
}

#[tokio::test]
async fn undecodable_bodies_are_400_with_a_status_body() {
    let running = start(test_config()).await;
    let addr = http_addr(&running);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<Case> = vec![
        ("malformed protobuf", vec![("Content-Type", PB.into())], b"\x0a\xff\xff\xff\xff\x0f".to_vec()),
        ("truncated protobuf", vec![("Content-Type", PB.into())], llm_batch(1, 2, 2, 1).encode_to_vec()[..100].to_vec()),
        ("malformed JSON", vec![("Content-Type", JSON.into())], b"{\"resourceSpans\": [".to_vec()),
        ("JSON of the wrong shape", vec![("Content-Type", JSON.into())], b"[1,2,3]".to_vec()),
        (
            "string enum",
            vec![("Content-Type", JSON.into())],
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","kind":"SPAN_KIND_CLIENT"}]}]}]}"#.to_vec(),
        ),
        ("hex id that is not hex", vec![("Content-Type", JSON.into())], br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#.to_vec()),
        ("nesting bomb", vec![("Content-Type", JSON.into())], deep.into_bytes()),
        (
            "corrupt gzip",
            vec![("Content-Type", PB.into()), ("Content-Encoding", "gzip".into())],
            b"\x1f\x8b\x08\x00garbage".to_vec(),
        ),
        (
            "corrupt zstd",
            vec![("Content-Type", PB.into()), ("Content-Encoding", "zstd".into())],
            b"definitely not zstd".to_vec(),
        ),
    ];
    let n = cases.len() as u64;
    for (what, headers, body) in cases {
        let is_pb = headers[0].1 == PB;
        let resp = req(addr, "POST", "/v1/traces", headers, body).await;
        assert_eq!(resp.status, 400, "{what}");
        assert_eq!(
            resp.header("content-type"),
            Some(if is_pb { PB } else { JSON }),
            "{what}"
        );
        let msg = one_line_message(&resp);
        eprintln!("{what}: {msg}");
        still_serves(addr).await;
    }
    let summary = running.stop().await;
    assert_eq!(summary.requests.bad_request, n);
    assert_eq!(summary.spans.accepted, n, "only the still_serves probes");
}

#[tokio::test]
async fn oversized_bodies_are_413_declared_chunked_or_inflated() {
    let mut config = test_config();
    config.max_request_bytes = 64 * 1024;
    let running = start(config).await;
    let addr = http_addr(&running);
    let big = llm_batch(1, 100, 10, now_nanos()).encode_to_vec();
    assert!(big.len() > 64 * 1024);

    let resp = post_as(addr, "/v1/traces", PB, big.clone()).await;
    assert_eq!(resp.status, 413, "declared Content-Length");
    one_line_message(&resp);
    still_serves(addr).await;

    let resp = req(
        addr,
        "POST",
        "/v1/traces",
        vec![
            ("Content-Type", PB.into()),
            ("Transfer-Encoding", "chunked".into()),
        ],
        big.clone(),
    )
    .await;
    assert_eq!(resp.status, 413, "chunked, no length up front");
    still_serves(addr).await;

    // A zip bomb: small on the wire, huge once inflated.
    let bomb = gzip(&vec![0u8; 20 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    let resp = req(
        addr,
        "POST",
        "/v1/traces",
        vec![("Content-Type", PB.into()), ("Content-Encoding", "gzip".into())],
        bomb,
    )
    .await;
    assert_eq!(resp.status, 413, "inflated past the limit");
    assert!(one_line_message(&resp).contains("decompressed"));
    still_serves(addr).await;

    let summary = running.stop().await;
    assert_eq!(summary.requests.too_large, 3);
}

#[tokio::test]
async fn wrong_media_types_paths_and_methods() {
    let running = start(test_config()).await;
    let addr = http_addr(&running);
    let body = llm_batch(1, 1, 1, now_nanos()).encode_to_vec();

    let resp = post_as(addr, "/v1/traces", "text/plain", body.clone()).await;
    assert_eq!(resp.status, 415);
    assert!(one_line_message(&resp).contains("text/plain"));
    let resp = req(addr, "POST", "/v1/traces", vec![], body.clone()).await;
    assert_eq!(resp.status, 415, "no Content-Type");
    let resp = req(
        addr,
        "POST",
        "/v1/traces",
        vec![("Content-Type", PB.into()), ("Content-Encoding", "br".into())],
        body.clone(),
    )
    .await;
    assert_eq!(resp.status, 415, "unknown Content-Encoding");
    // Parameters on the media type are fine.
    let resp = post_as(
        addr,
        "/v1/traces",
        "application/x-protobuf; charset=binary",
        body.clone(),
    )
    .await;
    assert_eq!(resp.status, 200);

    let resp = post_as(addr, "/v1/spans", PB, body.clone()).await;
    assert_eq!(resp.status, 404);
    one_line_message(&resp);
    let resp = req(addr, "GET", "/", vec![], vec![]).await;
    assert_eq!(resp.status, 404);
    let resp = req(addr, "GET", "/v1/traces", vec![], vec![]).await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST"));
    let resp = req(addr, "PUT", "/v1/logs", vec![("Content-Type", PB.into())], body).await;
    assert_eq!(resp.status, 405);
    still_serves(addr).await;

    let summary = running.stop().await;
    assert_eq!(summary.requests.unsupported_media_type, 3);
    assert_eq!(summary.requests.not_found, 4);
    assert_eq!(summary.spans.accepted, 2);
}

#[tokio::test]
async fn bearer_token_is_enforced() {
    let mut config = test_config();
    config.auth_token = Some("s3cret".into());
    let running = start(config).await;
    let addr = http_addr(&running);
    let body = llm_batch(1, 1, 1, now_nanos()).encode_to_vec();
    let resp = post_as(addr, "/v1/traces", PB, body.clone()).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
    assert_eq!(RpcStatus::decode(&resp.body[..]).unwrap().code, 16);
    let with = |token: &str| {
        vec![
            ("Content-Type", PB.to_string()),
            ("Authorization", token.to_string()),
        ]
    };
    assert_eq!(
        req(addr, "POST", "/v1/traces", with("Bearer wrong"), body.clone())
            .await
            .status,
        401
    );
    assert_eq!(
        req(addr, "POST", "/v1/traces", with("Bearer s3cret"), body)
            .await
            .status,
        200
    );
    let summary = running.stop().await;
    assert_eq!(summary.requests.unauthorized, 2);
    assert_eq!(summary.spans.accepted, 1);
}

// Holding the store lock across awaits is the point: it stalls the ingest thread.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn a_full_handoff_answers_429_with_retry_after() {
    let mut config = test_config();
    config.handoff.max_items = 50;
    let running = start(config).await;
    let addr = http_addr(&running);
    let pipeline = running.pipeline.clone();
    let stall = pipeline.store();
    let mut statuses = Vec::new();
    for i in 0..6 {
        let resp = post_as(
            addr,
            "/v1/traces",
            JSON,
            serde_json::to_vec(&llm_batch(i * 100 + 1, 20, 5, now_nanos())).unwrap(),
        )
        .await;
        if resp.status == 429 {
            assert_eq!(resp.header("retry-after"), Some("1"));
            assert_eq!(resp.json()["code"], 14);
        }
        statuses.push(resp.status);
    }
    drop(stall);
    assert!(statuses.contains(&429) && statuses.contains(&200), "{statuses:?}");
    pipeline.flush();
    still_serves(addr).await;
    let refused = statuses.iter().filter(|s| **s == 429).count() as u64;
    let summary = running.stop().await;
    assert_eq!(summary.spans.dropped, refused * 20);
    assert_eq!(
        summary.spans.accepted,
        summary.spans.stored + summary.spans.evicted
    );
    assert_eq!(summary.requests.overloaded, refused);
}

#[tokio::test]
async fn huge_attributes_cycles_and_late_parents_are_stored_not_fatal() {
    let running = start(test_config()).await;
    let addr = http_addr(&running);
    let now = now_nanos();
    // One span with a 3 MB attribute and 5,000 attributes.
    let mut batch = llm_batch(1, 1, 1, now);
    let span = &mut batch.resource_spans[0].scope_spans[0].spans[0];
    let huge = serde_json::json!({"key": "huge", "value": {"stringValue": "x".repeat(3 << 20)}});
    span.attributes.push(serde_json::from_value(huge).unwrap());
    for i in 0..5000 {
        span.attributes.push(
            serde_json::from_value(serde_json::json!({"key": format!("k{i}"), "value": {"intValue": i}}))
                .unwrap(),
        );
    }
    assert_eq!(
        post_as(addr, "/v1/traces", PB, batch.encode_to_vec())
            .await
            .status,
        200
    );

    // A parent-id cycle and a self-parent in one trace.
    let mut cyc = llm_batch(2, 3, 3, now);
    let spans = &mut cyc.resource_spans[0].scope_spans[0].spans;
    let (a, b) = (spans[0].span_id.clone(), spans[1].span_id.clone());
    spans[0].parent_span_id = b;
    spans[1].parent_span_id = a;
    spans[2].parent_span_id = spans[2].span_id.clone();
    assert_eq!(
        post_as(addr, "/v1/traces", PB, cyc.encode_to_vec()).await.status,
        200
    );

    // Children first; the root arrives later, stamped an hour and a half earlier.
    let family = llm_batch(3, 4, 4, now);
    let mut children = family.clone();
    children.resource_spans[0].scope_spans[0].spans.remove(0);
    let mut root: ExportTraceServiceRequest = family;
    root.resource_spans[0].scope_spans[0].spans.truncate(1);
    root.resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano -= 5_400_000_000_000;
    assert_eq!(
        post_as(addr, "/v1/traces", PB, children.encode_to_vec())
            .await
            .status,
        200
    );
    assert_eq!(
        post_as(addr, "/v1/traces", PB, root.encode_to_vec()).await.status,
        200
    );

    running.pipeline.flush();
    {
        let store = running.pipeline.store();
        let trace_id = |t: u64| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&t.to_be_bytes());
            id[8..].copy_from_slice(&0x5eed_u64.to_be_bytes());
            llmwatch::model::TraceId(id)
        };
        let t1 = store.trace(&trace_id(1)).expect("trace 1");
        let huge = t1.spans[0].attr("huge").and_then(|v| v.as_str()).unwrap();
        assert!(
            huge.len() < 300 * 1024 && huge.ends_with("bytes]"),
            "huge value truncated"
        );
        assert_eq!(t1.spans[0].attributes.len(), 1024);
        let t2 = store.trace(&trace_id(2)).expect("trace 2");
        assert_eq!(t2.tree().len(), 3, "every span of the cycle is in the tree once");
        let t3 = store.trace(&trace_id(3)).expect("trace 3");
        let tree = t3.tree();
        assert_eq!(tree.len(), 4);
        assert_eq!(tree[0].root, Some(llmwatch::store::tree::RootKind::Root));
        assert!(tree[1..].iter().all(|n| n.depth == 1));
    }
    still_serves(addr).await;
    let summary = running.stop().await;
    assert_eq!(summary.spans.accepted, 1 + 3 + 4 + 1);
    assert!(summary.truncation.truncated_values >= 1);
    assert!(summary.truncation.dropped_attributes >= 5000 + 16 - 1024);
}
