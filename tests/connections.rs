//! Half-open and idle connections (issue 13, item 6): a receiver holds at most its bound of
//! connections, closes those that never send a request within the header timeout and those
//! idle for the idle timeout, and a flood on one receiver leaves the other serving.

mod common;

use common::*;
use llmwatch::ingest::conn::ConnectionLimits;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const BOUND: usize = 20;

fn short_limits() -> llmwatch::server::ServerConfig {
    llmwatch::server::ServerConfig {
        connections: ConnectionLimits {
            max_connections: BOUND,
            header_timeout: Duration::from_millis(500),
            idle_timeout: Duration::from_millis(1000),
        },
        ..test_config()
    }
}

/// Opens `n` connections that each send the start of `partial` and stop there.
fn half_open(addr: SocketAddr, n: usize, partial: &[u8]) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(partial).unwrap();
            s
        })
        .collect()
}

/// Waits until the server closes `s` (EOF or reset); how long that took.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(start.elapsed()),
        }
    }
}

fn valid_http(addr: SocketAddr) -> u16 {
    let body = llm_batch(7, 2, 2, now_nanos()).encode_to_vec();
    post(addr, "/v1/traces", "application/x-protobuf", &body).status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_http_connections_are_bounded_and_timed_out_while_grpc_serves() {
    let running = start(short_limits()).await;
    let http = running.http_addr.unwrap();
    let mut flood = tokio::task::spawn_blocking(move || {
        half_open(http, BOUND + 10, b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")
    })
    .await
    .unwrap();
    // The other receiver is unaffected.
    let ch = channel(&grpc_url(&running)).await;
    TraceServiceClient::new(ch.clone())
        .export(llm_batch(1, 5, 5, now_nanos()))
        .await
        .expect("gRPC serves while HTTP is flooded");
    // Past the bound, connections are closed at once; the others after the header timeout.
    let closed = tokio::task::spawn_blocking(move || {
        let first = closed_within(&mut flood[BOUND + 5], Duration::from_millis(400));
        let timed_out = closed_within(&mut flood[0], Duration::from_secs(3));
        for s in &mut flood {
            assert!(closed_within(s, Duration::from_secs(2)).is_some(), "all closed");
        }
        (first, timed_out, flood)
    })
    .await
    .unwrap();
    assert!(closed.0.is_some(), "a connection past the bound stays open");
    let waited = closed
        .1
        .expect("a half-open connection is closed after the header timeout");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    // Room again: HTTP serves.
    let status = tokio::task::spawn_blocking(move || valid_http(http))
        .await
        .unwrap();
    assert_eq!(status, 200);
    drop(closed.2);
    let summary = running.stop().await;
    assert!(
        summary.requests.connections_refused >= 10,
        "{:?}",
        summary.requests
    );
    assert!(
        summary.requests.connections_timed_out >= BOUND as u64,
        "{:?}",
        summary.requests
    );
    assert_eq!(summary.spans.accepted, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_grpc_connections_are_timed_out_while_http_serves() {
    let running = start(short_limits()).await;
    let (grpc, http) = (running.grpc_addr.unwrap(), running.http_addr.unwrap());
    let mut flood = tokio::task::spawn_blocking(move || half_open(grpc, BOUND + 5, b"PRI * HTTP/2.0\r\n"))
        .await
        .unwrap();
    let status = tokio::task::spawn_blocking(move || valid_http(http))
        .await
        .unwrap();
    assert_eq!(status, 200, "HTTP serves while gRPC is flooded");
    let waited = tokio::task::spawn_blocking(move || {
        let waited = closed_within(&mut flood[0], Duration::from_secs(3));
        for s in &mut flood {
            assert!(closed_within(s, Duration::from_secs(2)).is_some(), "all closed");
        }
        waited
    })
    .await
    .unwrap()
    .expect("a connection without a preface is closed after the header timeout");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    // A fresh client gets through once the flood is gone.
    let ch = channel(&grpc_url(&running)).await;
    TraceServiceClient::new(ch)
        .export(llm_batch(1, 5, 5, now_nanos()))
        .await
        .expect("gRPC serves after the flood");
    let summary = running.stop().await;
    assert!(
        summary.requests.connections_timed_out >= BOUND as u64,
        "{:?}",
        summary.requests
    );
    assert!(
        summary.requests.connections_refused >= 5,
        "{:?}",
        summary.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let running = start(short_limits()).await;
    let http = running.http_addr.unwrap();
    let (waited, answer) = tokio::task::spawn_blocking(move || {
        let body = llm_batch(3, 2, 2, now_nanos()).encode_to_vec();
        let mut s = TcpStream::connect(http).unwrap();
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&body).unwrap();
        let mut answer = [0u8; 12];
        s.read_exact(&mut answer).unwrap();
        // Kept alive past the header timeout (a request was served), closed after the idle one.
        (closed_within(&mut s, Duration::from_secs(3)), answer)
    })
    .await
    .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let waited = waited.expect("idle connection closed");
    assert!(waited > Duration::from_millis(600), "{waited:?}");
    running.stop().await;
}

#[test]
fn hitting_the_bound_is_logged_once_and_counted() {
    let server = spawn_headless(&["--max-connections", "3"], &[]);
    let flood = half_open(server.http, 8, b"POST /v1/tr");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut lines = Vec::new();
    while Instant::now() < deadline && !lines.iter().any(|l: &String| l.contains("connection refused")) {
        std::thread::sleep(Duration::from_millis(50));
        lines.extend(server.stderr_so_far());
    }
    let refused: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("connection refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{lines:?}");
    assert!(
        refused[0].contains("OTLP/HTTP: connection refused: all 3 connections are open (--max-connections)"),
        "{refused:?}"
    );
    drop(flood);
    let (stdout, ok) = server.terminate();
    assert!(ok);
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["requests"]["connections_refused"], 5, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_is_answered_408_after_the_idle_timeout() {
    let running = start(short_limits()).await;
    let http = running.http_addr.unwrap();
    let (answer, waited) = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(http).unwrap();
        s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            .unwrap();
        let start = Instant::now();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut answer = [0u8; 12];
        s.read_exact(&mut answer).unwrap();
        (answer, start.elapsed())
    })
    .await
    .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 408");
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    let summary = running.stop().await;
    assert_eq!(summary.requests.bad_request, 1);
}
