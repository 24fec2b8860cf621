//! Shared helpers for integration tests (and the ingest benchmark, which includes this file):
//! start receivers on ephemeral loopback ports, in-process or as the real binary; a raw HTTP/1.1
//! client; a pass-through gRPC codec for sending arbitrary bytes; realistic LLM spans.

#![allow(dead_code)]

pub mod drift;

use bytes::{Buf, BufMut, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

// ---------------------------------------------------------------- the binary

/// Runs the llmwatch binary to completion: (exit code, stdout, stderr).
pub fn run_llmwatch(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(args)
        .output()
        .expect("run llmwatch");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------- in-process receivers

/// A config with both receivers on ephemeral loopback ports.
pub fn test_config() -> llmwatch::server::ServerConfig {
    llmwatch::server::ServerConfig {
        grpc: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..Default::default()
    }
}

pub async fn start(config: llmwatch::server::ServerConfig) -> llmwatch::server::Running {
    llmwatch::server::start(&config).await.expect("receivers start")
}

pub fn grpc_url(running: &llmwatch::server::Running) -> String {
    format!("http://{}", running.grpc_addr.expect("grpc on"))
}

// ---------------------------------------------------------------- the real binary

pub struct Headless {
    child: Option<Child>,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    stderr_lines: std::sync::mpsc::Receiver<String>,
}

/// Starts `llmwatch --headless` on ephemeral ports with `extra` arguments and waits until both
/// receivers listen (their addresses are read from stderr).
pub fn spawn_headless(extra: &[&str], envs: &[(&str, &str)]) -> Headless {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmwatch"));
    cmd.args([
        "--headless",
        "--grpc",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--status-interval",
        "0.5",
    ])
    .args(extra)
    .env_remove("LLMWATCH_AUTH_TOKEN")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn llmwatch");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut grpc, mut http) = (None, None);
    while grpc.is_none() || http.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("llmwatch printed its listen addresses");
        let addr = |l: &str| l.rsplit(' ').next().and_then(|a| a.parse().ok());
        if line.contains("OTLP/gRPC listening on") {
            grpc = addr(&line);
        } else if line.contains("OTLP/HTTP listening on") {
            http = addr(&line);
        }
    }
    Headless {
        child: Some(child),
        grpc: grpc.unwrap(),
        http: http.unwrap(),
        stderr_lines: rx,
    }
}

impl Headless {
    /// Sends SIGTERM and returns (stdout, exit success).
    pub fn terminate(self) -> (String, bool) {
        self.signal("TERM");
        self.terminate_after_signal()
    }

    /// Waits for exit after a signal was sent; returns (stdout, exit success).
    pub fn terminate_after_signal(mut self) -> (String, bool) {
        let child = self.child.take().expect("running");
        let out = child.wait_with_output().expect("llmwatch exits");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out.status.success(),
        )
    }

    /// Sends a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{name} {pid}");
    }

    /// Stderr lines printed so far (after the listen lines).
    pub fn stderr_so_far(&self) -> Vec<String> {
        self.stderr_lines.try_iter().collect()
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------- raw HTTP/1.1

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// One request over a fresh connection: `headers` are written verbatim, Content-Length added
/// unless `chunked` is set (then the body goes as one chunk).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && *v == "chunked");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !chunked {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // The server may answer (413) and close before reading the whole body; that is fine.
    let _ = if chunked {
        s.write_all(format!("{:x}\r\n", body.len()).as_bytes())
            .and_then(|_| s.write_all(body))
            .and_then(|_| s.write_all(b"\r\n0\r\n\r\n"))
    } else {
        s.write_all(body)
    };
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let is_chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if is_chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}

pub fn post(addr: SocketAddr, path: &str, content_type: &str, body: &[u8]) -> HttpResponse {
    http_request(addr, "POST", path, &[("Content-Type", content_type)], body)
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

// ---------------------------------------------------------------- gRPC with raw bytes

/// A tonic codec that sends pre-encoded bytes and decodes nothing: lets tests send malformed
/// protobuf, and the load generator send pre-encoded batches without re-encoding each time.
#[derive(Clone, Copy, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

pub const TRACE_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Sends `body` as one unary call to `path`, optionally with metadata.
pub async fn grpc_raw(
    channel: tonic::transport::Channel,
    path: &'static str,
    body: Bytes,
    metadata: &[(&'static str, &str)],
) -> Result<Bytes, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut req = tonic::Request::new(body);
    for (k, v) in metadata {
        req.metadata_mut().insert(*k, v.parse().unwrap());
    }
    grpc.unary(
        req,
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(|r| r.into_inner())
}

pub async fn channel(url: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .expect("gRPC connect")
}

// ---------------------------------------------------------------- data

pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(key: &str, v: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

fn i(key: &str, v: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(v))
}

const PROMPT: &str = "You are a support assistant for an online store. Answer using only the \
retrieved context. If the answer is not in the context, say you do not know. Context: Orders \
ship within two business days from our warehouse; tracking numbers arrive by email once the \
carrier scans the parcel. Returns are accepted within 30 days of delivery for unused items in \
their original packaging; refunds go back to the original payment method within five to seven \
business days after the return is inspected. Customers can change the shipping address until \
the order is packed. Express shipping is available for an extra fee in most regions. ";

const COMPLETION: &str = "Your order ships within two business days. Once the carrier scans \
the parcel you will receive an email with the tracking number. If you need to change the \
address, please do so before the order is packed; after that we cannot redirect the parcel. \
For returns you have 30 days from delivery, and refunds arrive five to seven business days \
after inspection. ";

/// One realistic LLM chat span of about 3 KB on the wire: OTel GenAI attributes with prompt
/// and completion content, token usage, and a resource shared by the batch.
pub fn llm_span(trace: u64, span: u64, parent: Option<u64>, start_nanos: u64) -> Span {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&trace.to_be_bytes());
    trace_id[8..].copy_from_slice(&0x5eed_u64.to_be_bytes());
    let input = format!(
        r#"[{{"role":"system","parts":[{{"type":"text","content":"{PROMPT}"}}]}},{{"role":"user","parts":[{{"type":"text","content":"Where is my order #{trace}? When will it ship and how do returns work?"}}]}},{{"role":"assistant","parts":[{{"type":"text","content":"{COMPLETION}"}}]}},{{"role":"user","parts":[{{"type":"text","content":"And can I still change the address?"}}]}}]"#
    );
    let output = format!(
        r#"[{{"role":"assistant","parts":[{{"type":"text","content":"{COMPLETION}{COMPLETION}"}}],"finish_reason":"stop"}}]"#
    );
    Span {
        trace_id: trace_id.to_vec(),
        span_id: (span | 1 << 63).to_be_bytes().to_vec(),
        parent_span_id: parent
            .map(|p| (p | 1 << 63).to_be_bytes().to_vec())
            .unwrap_or_default(),
        name: "chat gpt-4o-mini".into(),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: start_nanos,
        end_time_unix_nano: start_nanos + 850_000_000 + (span % 7) * 100_000_000,
        attributes: vec![
            s("gen_ai.operation.name", "chat"),
            s("gen_ai.provider.name", "openai"),
            s("gen_ai.request.model", "gpt-4o-mini"),
            s("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
            s("gen_ai.response.id", &format!("chatcmpl-{trace:016x}{span:08x}")),
            s("server.address", "api.openai.com"),
            i("server.port", 443),
            i("gen_ai.usage.input_tokens", 412),
            i("gen_ai.usage.output_tokens", 96),
            s("gen_ai.response.finish_reasons", "stop"),
            s("app.route", "/support/chat"),
            s("tenant.id", "acme"),
            s("session.id", &format!("sess-{}", trace % 97)),
            s("gen_ai.input.messages", &input),
            s("gen_ai.output.messages", &output),
        ],
        status: Some(Status::default()),
        ..Default::default()
    }
}

/// An export request of `n` spans spread over traces of `per_trace` spans each (root first).
pub fn llm_batch(
    first_trace: u64,
    n: usize,
    per_trace: usize,
    start_nanos: u64,
) -> ExportTraceServiceRequest {
    let spans = (0..n)
        .map(|k| {
            let trace = first_trace + (k / per_trace) as u64;
            let pos = (k % per_trace) as u64;
            let parent = (pos > 0).then_some(trace * 1000);
            llm_span(
                trace,
                trace * 1000 + pos,
                parent,
                start_nanos + k as u64 * 1_000_000,
            )
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", "support-agent"),
                    s("service.version", "1.4.2"),
                    s("deployment.environment.name", "prod"),
                    s("telemetry.sdk.language", "python"),
                    s("telemetry.sdk.name", "opentelemetry"),
                    s("telemetry.sdk.version", "1.45.2"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry.instrumentation.openai_v2".into(),
                    version: "2.4b0".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Nanoseconds since the epoch now (spans stamped "now" land in the live timeline).
pub fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
