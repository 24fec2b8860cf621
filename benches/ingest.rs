//! Sustained OTLP/gRPC ingest: llmwatch --headless against a no-op tonic TraceService (decode and
//! count only) under the same load, so the result is a ratio against what this machine can do.
//! Then memory: 1,000,000 spans through llmwatch with default limits, RSS and the summary's
//! accounting afterwards.
//!
//! Two loads, each measured on its own (`INGEST_BENCH_LOAD=chat|agent|both`, both by default):
//! - chat: batches of 512 realistic LLM chat spans (~2.7 KB each, prompt and completion text),
//!   all in a few seconds of event time, so most calls are past the evaluators' per-second cap;
//! - agent: batches of 512 spans of RAG-agent traces (`agent/workload.rs`, ~2.9 KB a span),
//!   each send moved on by a second of event time, so every model call is evaluated.
//!
//! 4 concurrent connections, batches pre-encoded once; each send stamps fresh trace ids (and,
//! for the agent load, times) into a copy so every span is new to the store. Run with
//! `cargo bench --bench ingest`; set `INGEST_BENCH_SECS` to change the 8 s measuring window.

#[path = "agent/workload.rs"]
mod agent;
#[path = "../tests/common/mod.rs"]
mod common;

use bytes::{Bytes, BytesMut};
use common::{RawCodec, TRACE_EXPORT_PATH, llm_batch};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

// The sink gets the same allocator as llmwatch, so the ratio compares the work, not malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 512;
const CONCURRENCY: usize = 4;
const SPANS_PER_TRACE: usize = 8;

// ------------------------------------------------------------------ the no-op sink

#[derive(Default)]
struct Sink {
    spans: AtomicU64,
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let n: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.spans.fetch_add(n as u64, Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn run_sink() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Sink::default()).max_decoding_message_size(16 << 20))
            .serve_with_incoming(incoming)
            .await
            .unwrap();
    });
}

// ------------------------------------------------------------------ load

/// Which spans the load sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    /// llmwatch's own chat spans (`tests/common`), trace ids stamped per send.
    Chat,
    /// RAG-agent traces (`agent/workload.rs`), trace ids and event time stamped per send.
    Agent,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Chat => "chat",
            Workload::Agent => "agent",
        }
    }

    /// `INGEST_BENCH_LOAD` (chat, agent or both); `default` when unset.
    fn from_env(default: &str) -> Vec<Workload> {
        match std::env::var("INGEST_BENCH_LOAD").as_deref().unwrap_or(default) {
            "chat" => vec![Workload::Chat],
            "agent" => vec![Workload::Agent],
            "both" => vec![Workload::Chat, Workload::Agent],
            other => panic!("INGEST_BENCH_LOAD={other}: chat, agent or both"),
        }
    }
}

/// A pre-encoded batch and where its trace ids and (agent load) times sit, so each send can
/// stamp new ones.
struct Template {
    bytes: Bytes,
    trace_id_offsets: Vec<usize>,
    /// Span start and end times (fixed64, little-endian): each send adds its own seconds.
    time_offsets: Vec<usize>,
}

fn template(workload: Workload) -> Template {
    // The agent load's event time starts a day back and moves on a second a send.
    let base = (common::now_nanos() / 1_000_000_000 - 86_400) * 1_000_000_000;
    let req = match workload {
        Workload::Chat => llm_batch(1, BATCH, SPANS_PER_TRACE, common::now_nanos()),
        Workload::Agent => agent::agent_batch(1, BATCH, base),
    };
    let bytes = req.encode_to_vec();
    // Trace ids are [trace number: 8 bytes][0x5eed: 8 bytes]; find each by its suffix.
    let suffix = 0x5eed_u64.to_be_bytes();
    let trace_id_offsets: Vec<usize> = bytes
        .windows(18)
        .enumerate()
        .filter(|(_, w)| w[0] == 0x0a && w[1] == 16 && w[10..] == suffix)
        .map(|(i, _)| i + 2)
        .collect();
    assert_eq!(trace_id_offsets.len(), BATCH, "one trace id per span");
    // Span fields 7 and 8 (start and end time, fixed64): their tag and a time of this batch.
    let time_offsets: Vec<usize> = match workload {
        Workload::Chat => Vec::new(),
        Workload::Agent => bytes
            .windows(9)
            .enumerate()
            .filter(|(_, w)| {
                let t = u64::from_le_bytes(w[1..].try_into().unwrap());
                (w[0] == 0x39 || w[0] == 0x41) && (base..base + 4_000_000_000).contains(&t)
            })
            .map(|(i, _)| i + 1)
            .collect(),
    };
    if workload == Workload::Agent {
        assert_eq!(time_offsets.len(), 2 * BATCH, "a start and an end per span");
    }
    Template {
        bytes: bytes.into(),
        trace_id_offsets,
        time_offsets,
    }
}

impl Template {
    fn stamp(&self, generation: u32) -> Bytes {
        let mut b = BytesMut::from(&self.bytes[..]);
        for &o in &self.trace_id_offsets {
            b[o..o + 4].copy_from_slice(&generation.to_be_bytes());
        }
        let shift = u64::from(generation) * agent::SECONDS_PER_SEND * 1_000_000_000;
        for &o in &self.time_offsets {
            let t = u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) + shift;
            b[o..o + 8].copy_from_slice(&t.to_le_bytes());
        }
        b.freeze()
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct LoadResult {
    accepted_spans: u64,
    refused_batches: u64,
    secs: f64,
}

/// Sends batches over `CONCURRENCY` connections until `total_spans` were accepted or `secs`
/// passed (after a 1 s warm-up that is not counted).
fn load(
    workload: Workload,
    addr: &str,
    secs: f64,
    total_spans: Option<u64>,
    generation: &Arc<AtomicU64>,
) -> LoadResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let template = Arc::new(template(workload));
    rt.block_on(async {
        let url = format!("http://{addr}");
        let accepted = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let counting = Arc::new(std::sync::atomic::AtomicBool::new(total_spans.is_some()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for _ in 0..CONCURRENCY {
            let ch = common::channel(&url).await;
            let (template, accepted, refused, counting, stop, generation) = (
                template.clone(),
                accepted.clone(),
                refused.clone(),
                counting.clone(),
                stop.clone(),
                generation.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut grpc = tonic::client::Grpc::new(ch).max_decoding_message_size(1 << 20);
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(TRACE_EXPORT_PATH);
                while !stop.load(Relaxed) {
                    let body = template.stamp(generation.fetch_add(1, Relaxed) as u32);
                    loop {
                        grpc.ready().await.unwrap();
                        match grpc
                            .unary(tonic::Request::new(body.clone()), path.clone(), RawCodec)
                            .await
                        {
                            Ok(_) => {
                                if counting.load(Relaxed) {
                                    accepted.fetch_add(BATCH as u64, Relaxed);
                                }
                                break;
                            }
                            Err(s) if s.code() == tonic::Code::Unavailable => {
                                refused.fetch_add(1, Relaxed);
                                tokio::time::sleep(Duration::from_millis(2)).await;
                            }
                            Err(s) => panic!("export failed: {s:?}"),
                        }
                    }
                }
            }));
        }
        let t0 = match total_spans {
            Some(total) => {
                let t0 = Instant::now();
                while accepted.load(Relaxed) < total {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                t0
            }
            None => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                counting.store(true, Relaxed);
                let t0 = Instant::now();
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                t0
            }
        };
        let result = LoadResult {
            accepted_spans: accepted.load(Relaxed),
            refused_batches: refused.load(Relaxed),
            secs: t0.elapsed().as_secs_f64(),
        };
        stop.store(true, Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        result
    })
}

/// Every request of a capture (traces, logs, metrics), encoded once, then sent once over
/// `CONCURRENCY` connections in file order (each connection takes the next request), as fast as
/// the receiver takes them. Returns the spans sent and the seconds from the first send to the
/// last answer: live ingest of the very traffic a replay of that capture reads.
fn load_capture(addr: &str, path: &str) -> (u64, f64) {
    use llmwatch::ingest::capture::{CaptureReader, Message as Captured};
    const LOGS: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    const METRICS: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    let mut requests: Vec<(&'static str, Bytes)> = Vec::new();
    let mut spans = 0u64;
    for record in CaptureReader::open(std::path::Path::new(path)).expect("open the capture") {
        let Ok(record) = record else { continue };
        requests.push(match record.message {
            Captured::Traces(req) => {
                spans += req
                    .resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .map(|s| s.spans.len() as u64)
                    .sum::<u64>();
                (TRACE_EXPORT_PATH, req.encode_to_vec().into())
            }
            Captured::Logs(req) => (LOGS, req.encode_to_vec().into()),
            Captured::Metrics(req) => (METRICS, req.encode_to_vec().into()),
            Captured::Converted(_) => continue, // only with a decoder, and none was set
        });
    }
    let requests = Arc::new(requests);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secs = rt.block_on(async {
        let url = format!("http://{addr}");
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut channels = Vec::new();
        for _ in 0..CONCURRENCY {
            channels.push(common::channel(&url).await);
        }
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for ch in channels {
            let (requests, next) = (requests.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut grpc = tonic::client::Grpc::new(ch).max_decoding_message_size(1 << 20);
                while let Some((path, body)) = requests.get(next.fetch_add(1, Relaxed)) {
                    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
                    loop {
                        grpc.ready().await.unwrap();
                        match grpc
                            .unary(tonic::Request::new(body.clone()), path.clone(), RawCodec)
                            .await
                        {
                            Ok(_) => break,
                            Err(s) if s.code() == tonic::Code::Unavailable => {
                                tokio::time::sleep(Duration::from_millis(2)).await;
                            }
                            Err(s) => panic!("export failed: {s:?}"),
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        t0.elapsed().as_secs_f64()
    });
    (spans, secs)
}

// ------------------------------------------------------------------ processes

fn spawn_reading_addr(mut cmd: Command, from_stderr: bool) -> (Child, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reader: Box<dyn std::io::Read + Send> = if from_stderr {
        Box::new(child.stderr.take().unwrap())
    } else {
        Box::new(child.stdout.take().unwrap())
    };
    let mut lines = BufReader::new(reader).lines();
    let addr = loop {
        let line = lines.next().expect("child printed its address").unwrap();
        if !from_stderr {
            break line.trim().to_string();
        }
        if let Some(rest) = line.strip_prefix("llmwatch: OTLP/gRPC listening on ") {
            break rest.trim().to_string();
        }
    };
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn spawn_sink() -> (Child, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg("--sink");
    spawn_reading_addr(cmd, false)
}

fn spawn_llmwatch(extra: &[&str]) -> (Child, String) {
    // LLMWATCH_BIN measures another build (say, the one before a change) with this load.
    let bin = std::env::var("LLMWATCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_llmwatch").to_string());
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--grpc",
        "127.0.0.1:0",
        "--http",
        "off",
        "--status-interval",
        "3600",
    ])
    .args(extra);
    spawn_reading_addr(cmd, true)
}

/// utime + stime of a process, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn status_kib(pid: u32, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn stop_llmwatch(child: Child) -> serde_json::Value {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).expect("summary JSON")
}

fn decode_rate(workload: Workload) -> f64 {
    let t = template(workload);
    let n = 200;
    let t0 = Instant::now();
    for _ in 0..n {
        let req = ExportTraceServiceRequest::decode(&t.bytes[..]).unwrap();
        std::hint::black_box(req);
    }
    (n * BATCH) as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--sink") {
        return run_sink();
    }
    if let Some(i) = args.iter().position(|a| a == "--write-capture") {
        // The load's own batches as an OTLP/JSON capture, for replay against live ingest of the
        // very same spans: --write-capture FILE SPANS.
        let path = args.get(i + 1).expect("--write-capture FILE SPANS");
        let spans: usize = args.get(i + 2).and_then(|s| s.parse().ok()).expect("SPANS");
        let template = template(Workload::from_env("chat")[0]);
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create the capture"));
        for generation in 1..=spans.div_ceil(BATCH) {
            let req = ExportTraceServiceRequest::decode(template.stamp(generation as u32)).unwrap();
            let (line, _) = llmwatch::ingest::record::Recorder::encode_traces(&req);
            std::io::Write::write_all(&mut out, line.as_bytes()).unwrap();
            std::io::Write::write_all(&mut out, b"\n").unwrap();
        }
        std::io::Write::flush(&mut out).unwrap();
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--load-capture") {
        // Live ingest of a capture's own requests, for replay against live of the very same
        // traffic: --load-capture ADDR FILE.
        let addr = args.get(i + 1).expect("--load-capture ADDR FILE");
        let path = args.get(i + 2).expect("--load-capture ADDR FILE");
        let (spans, secs) = load_capture(addr, path);
        println!("{:.0} spans/s, {spans} spans in {secs:.2} s", spans as f64 / secs);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--load") {
        // Drive load at an already running receiver (for profiling it): --load ADDR.
        let addr = args.get(i + 1).expect("--load ADDR");
        let secs: f64 = std::env::var("INGEST_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8.0);
        let r = load(
            Workload::from_env("chat")[0],
            addr,
            secs,
            None,
            &Arc::new(AtomicU64::new(1)),
        );
        println!(
            "{:.0} spans/s, {} refused batches",
            r.accepted_spans as f64 / r.secs,
            r.refused_batches
        );
        return;
    }
    if args.iter().any(|a| a == "--list") || !args.iter().any(|a| a == "--bench") && args.len() > 1 {
        // `cargo test --benches` probes; nothing to list.
        return;
    }
    let secs: f64 = std::env::var("INGEST_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8.0);
    let generation = Arc::new(AtomicU64::new(1));
    for workload in Workload::from_env("both") {
        measure(workload, secs, &generation);
    }
}

/// Both ratios (against the sink, and evaluators on against off), two alternating rounds, then
/// memory through a million spans: all with one workload.
fn measure(workload: Workload, secs: f64, generation: &Arc<AtomicU64>) {
    let t = template(workload);
    println!("== load: {}", workload.name());
    println!(
        "batch: {BATCH} spans, {} bytes encoded ({} bytes/span); concurrency {CONCURRENCY}; window {secs} s",
        t.bytes.len(),
        t.bytes.len() / BATCH
    );
    println!("single-thread prost decode: {:.0} spans/s", decode_rate(workload));

    // The same receiver with llmwatch's built-in evaluators switched off, for their cost.
    let off = std::env::temp_dir().join(format!(
        "llmwatch-bench-evaluators-off-{}.toml",
        std::process::id()
    ));
    std::fs::write(
        &off,
        "[builtin]\nempty_output = false\nrefusal = false\njson_valid = false\ncontext_overlap = false\npii_leak = false\n",
    )
    .unwrap();
    let off_arg = off.to_str().unwrap().to_string();
    let mut ratios = Vec::new();
    let mut eval_ratios = Vec::new();
    let mut off_ratios = Vec::new();
    for round in 1..=2 {
        let (lw, addr) = spawn_llmwatch(&["--config", &off_arg]);
        let pid = lw.id();
        let cpu0 = cpu_secs(pid);
        let o = load(workload, &addr, secs, None, generation);
        let off_cpu = cpu_secs(pid) - cpu0;
        stop_llmwatch(lw);
        let off_rate = o.accepted_spans as f64 / o.secs;

        let (mut sink, addr) = spawn_sink();
        let s = load(workload, &addr, secs, None, generation);
        let sink_cpu = cpu_secs(sink.id());
        sink.kill().unwrap();
        let _ = sink.wait();
        let sink_rate = s.accepted_spans as f64 / s.secs;

        let (lw, addr) = spawn_llmwatch(&[]);
        let pid = lw.id();
        let cpu0 = cpu_secs(pid);
        let l = load(workload, &addr, secs, None, generation);
        let cpu = cpu_secs(pid) - cpu0;
        let rss = status_kib(pid, "VmRSS:");
        let summary = stop_llmwatch(lw);
        let rate = l.accepted_spans as f64 / l.secs;
        let ratio = rate / sink_rate;
        ratios.push(ratio);
        eval_ratios.push(rate / off_rate);
        println!(
            "round {round}: evaluators off {off_rate:.0} spans/s (CPU {:.1} µs/span) | on {rate:.0} spans/s | on/off {:.2}",
            off_cpu * 1e6 / (o.accepted_spans as f64 + 1.0),
            rate / off_rate
        );
        println!(
            "round {round}: sink {sink_rate:.0} spans/s (sink CPU {:.1} µs/span) | llmwatch {rate:.0} spans/s, \
             {} refused batches, CPU {:.1} µs/span, RSS {} MiB | ratio {ratio:.2}",
            sink_cpu * 1e6 / (s.accepted_spans as f64 + 1.0),
            l.refused_batches,
            cpu * 1e6 / (l.accepted_spans as f64 + 1.0),
            rss / 1024,
        );
        let be = &summary["builtin_evaluations"];
        println!(
            "round {round}: evaluators off/sink {:.2}; model calls evaluated {}, past the cap {}",
            off_rate / sink_rate,
            be["calls"],
            be["skipped_over_rate"]
        );
        off_ratios.push(off_rate / sink_rate);
        let sp = &summary["spans"];
        assert_eq!(
            sp["accepted"].as_u64().unwrap(),
            sp["stored"].as_u64().unwrap()
                + sp["evicted"].as_u64().unwrap()
                + sp["duplicates"].as_u64().unwrap(),
            "accepted == stored + evicted: {sp}"
        );
    }
    let _ = std::fs::remove_file(&off);
    eval_ratios.sort_by(f64::total_cmp);
    println!(
        "built-in evaluators on/off: median {:.2} (min {:.2}, max {:.2})",
        (eval_ratios[0] + eval_ratios[1]) / 2.0,
        eval_ratios[0],
        eval_ratios[1]
    );
    off_ratios.sort_by(f64::total_cmp);
    println!(
        "ratio llmwatch (evaluators off)/sink: median {:.2} (min {:.2}, max {:.2})",
        (off_ratios[0] + off_ratios[1]) / 2.0,
        off_ratios[0],
        off_ratios[1]
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "ratio llmwatch/sink: median {:.2} (min {:.2}, max {:.2})",
        (ratios[0] + ratios[1]) / 2.0,
        ratios[0],
        ratios[1]
    );

    // Memory: a million spans with default limits.
    let (lw, addr) = spawn_llmwatch(&[]);
    let pid = lw.id();
    let m = load(workload, &addr, 0.0, Some(1_000_000), generation);
    std::thread::sleep(Duration::from_millis(500));
    let rss = status_kib(pid, "VmRSS:");
    let hwm = status_kib(pid, "VmHWM:");
    let summary = stop_llmwatch(lw);
    let sp = &summary["spans"];
    let mem = &summary["memory"];
    println!(
        "1M spans: pushed {} in {:.1} s; RSS after {} MiB (peak {} MiB); estimate {} MiB of budget {} MiB; \
         accepted {} = stored {} + evicted {} + duplicates {}",
        m.accepted_spans,
        m.secs,
        rss / 1024,
        hwm / 1024,
        mem["estimated_bytes"].as_u64().unwrap() >> 20,
        mem["budget_bytes"].as_u64().unwrap() >> 20,
        sp["accepted"],
        sp["stored"],
        sp["evicted"],
        sp["duplicates"],
    );
    let budget_kib = mem["budget_bytes"].as_u64().unwrap() / 1024;
    if rss > budget_kib + 64 * 1024 {
        println!("OVER BUDGET: RSS {} MiB > max-memory + 64 MiB", rss / 1024);
    }
}
