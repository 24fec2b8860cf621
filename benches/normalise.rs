//! Normalisation on one core: realistic LLM spans (OTel GenAI chat spans with content, and the
//! OpenInference and OTel GenAI captures from real instrumentation) through the converter.
//! `normalise` measures the semantic pass alone on converted records; `convert_and_normalise`
//! the whole ingest-thread work per span (conversion, interning, normalisation, pricing);
//! `builtin_evaluation` llmwatch's own evaluators on the demo capture's spans, request by request;
//! `redact_secrets_4k_prompt` the scan for secret shapes in one 4 KiB value;
//! `agent_builtin_evaluation` the evaluators on RAG-agent spans (`agent/workload.rs`), every
//! call under the cap; `protobuf_into_request` a protobuf request read into the request types
//! conversion takes, by prost and the move (`prost`) or by `ingest::otlp_proto` (`borrowed`),
//! on both loads.
//! Run with `cargo bench --bench normalise`.

#[path = "agent/workload.rs"]
mod agent;
#[path = "../tests/common/mod.rs"]
mod common;

use divan::{Bencher, black_box};
use llmwatch::cost::CostTable;
use llmwatch::model::{ConvertLimits, Converter, SpanRecord};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

/// 512 synthetic chat spans plus every span of the real captures, as export requests.
fn requests() -> Vec<ExportTraceServiceRequest> {
    let mut reqs = vec![common::llm_batch(1, 512, 8, common::now_nanos())];
    for name in ["otel_genai.jsonl", "openinference.jsonl", "otel_genai_eval.jsonl"] {
        for line in common::fixture(name).lines().filter(|l| !l.trim().is_empty()) {
            reqs.push(serde_json::from_str(line).unwrap());
        }
    }
    reqs
}

fn converter() -> Converter {
    Converter::new(
        ConvertLimits::default(),
        Arc::default(),
        Some(Arc::new(CostTable::bundled())),
    )
}

fn span_count(reqs: &[ExportTraceServiceRequest]) -> usize {
    reqs.iter().map(llmwatch::model::convert::count_spans).sum()
}

#[divan::bench]
fn normalise(bencher: Bencher) {
    let mut c = converter();
    let mut records: Vec<SpanRecord> = Vec::new();
    for req in requests() {
        c.convert_traces(req, &mut records, &mut Vec::new());
    }
    let mut verdicts = Vec::new();
    bencher
        .counter(divan::counter::ItemsCount::new(records.len()))
        .bench_local(|| {
            for r in &records {
                black_box(c.normalise_record(r, &mut verdicts));
            }
            verdicts.clear();
        });
}

#[divan::bench]
fn convert_and_normalise(bencher: Bencher) {
    let reqs = requests();
    let n = span_count(&reqs);
    let mut c = converter();
    let mut out = Vec::with_capacity(n);
    let mut verdicts = Vec::new();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .with_inputs(|| reqs.clone())
        .bench_local_values(|reqs| {
            for req in reqs {
                c.convert_traces(req, &mut out, &mut verdicts);
            }
            out.clear();
            verdicts.clear();
        });
}

/// The demo capture's trace requests, each converted (unevaluated) into its own records.
fn demo_requests() -> Vec<Vec<SpanRecord>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/capture.jsonl.gz");
    let mut c = converter();
    let mut out = Vec::new();
    for record in llmwatch::ingest::capture::CaptureReader::open(&path).unwrap() {
        if let llmwatch::ingest::capture::Message::Traces(req) = record.unwrap().message {
            let mut spans = Vec::new();
            c.convert_traces_unevaluated(req, &mut spans, &mut Vec::new());
            out.push(spans);
        }
    }
    out
}

#[divan::bench]
fn builtin_evaluation(bencher: Bencher) {
    evaluate_requests(bencher, &demo_requests());
}

/// The built-in evaluators on each request's spans in turn, with a fresh per-second cap each
/// run, so every run evaluates the same calls.
fn evaluate_requests(bencher: Bencher, requests: &[Vec<SpanRecord>]) {
    let n: usize = requests.iter().map(Vec::len).sum();
    let mut verdicts = Vec::new();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .with_inputs(llmwatch::eval::BuiltinConfig::default)
        .bench_local_refs(|config| {
            for spans in requests {
                black_box(llmwatch::model::convert::builtin_evaluation(
                    config,
                    spans,
                    &mut verdicts,
                ));
            }
            verdicts.clear();
        });
}

/// A 4 KiB prompt of ordinary prose (words, a URL, an email, `task-force`, "Bearer of"), and
/// the same with an OpenAI key, an AWS key id and a URL password pasted in.
fn prompt_4k(secrets: bool) -> String {
    let sentence = "The support agent (task-force B) reads https://docs.example.com/refunds?id=42 and \
                    mails ops@example.com; the Bearer of bad news skims the skeleton AKIA notes. ";
    let mut s = String::new();
    while s.len() < 4096 {
        s.push_str(sentence);
    }
    s.truncate(4096);
    if secrets {
        s.replace_range(100..148, "sk-proj-Ab3dEf5hIj7lMn9pQr1tUv3xYz5Ab7cD9eF1gH3iJ");
        s.replace_range(2000..2020, "AKIAIOSFODNN7EXAMPLE");
        s.replace_range(3500..3530, "postgres://app:hunter2@db/prod");
    }
    s
}

/// Secret shapes in a value (`semconv::secrets`), as the recorder, the export and the drill-down
/// ask about every string: a 4 KiB prompt without a secret (the common case, no allocation) and
/// with three.
#[divan::bench(args = [false, true])]
fn redact_secrets_4k_prompt(bencher: Bencher, with_secrets: bool) {
    let prompt = prompt_4k(with_secrets);
    assert_eq!(
        llmwatch::semconv::secrets::redact_secrets(&prompt).is_some(),
        with_secrets
    );
    bencher
        .counter(divan::counter::BytesCount::new(prompt.len()))
        .bench(|| llmwatch::semconv::secrets::redact_secrets(black_box(&prompt)));
}

/// The requests above as protobuf and as OTLP/JSON bodies, with their span count.
fn bodies() -> (Vec<Vec<u8>>, Vec<Vec<u8>>, usize) {
    use prost::Message;
    let reqs = requests();
    let n = span_count(&reqs);
    let proto = reqs.iter().map(|r| r.encode_to_vec()).collect();
    let json = reqs.iter().map(|r| serde_json::to_vec(r).unwrap()).collect();
    (proto, json, n)
}

/// The walk that estimates a protobuf request's decoded size before it is decoded (every
/// live request pays it; compare with `prost_decode`).
#[divan::bench]
fn decode_walk(bencher: Bencher) {
    let (proto, _, n) = bodies();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| {
            for body in &proto {
                black_box(llmwatch::ingest::bound::protobuf_estimate(
                    llmwatch::ingest::bound::Signal::Traces,
                    body,
                ))
                .unwrap();
            }
        });
}

#[divan::bench]
fn prost_decode(bencher: Bencher) {
    use prost::Message;
    let (proto, _, n) = bodies();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| {
            for body in &proto {
                black_box(ExportTraceServiceRequest::decode(&body[..])).unwrap();
            }
        });
}

/// The same estimate for OTLP/JSON (compare with `json_decode`, the live HTTP decode).
#[divan::bench]
fn json_walk(bencher: Bencher) {
    let (_, json, n) = bodies();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| {
            for body in &json {
                black_box(llmwatch::ingest::bound::json_estimate(body)).unwrap();
            }
        });
}

#[divan::bench]
fn json_decode(bencher: Bencher) {
    let (_, json, n) = bodies();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| {
            for body in &json {
                black_box(serde_json::from_slice::<ExportTraceServiceRequest>(body)).unwrap();
            }
        });
}

/// Agent requests of 512 spans, each moved on in event time as the ingest bench's sends are (so
/// every call is under the evaluators' per-second cap), as protobuf bodies.
fn agent_bodies() -> Vec<Vec<u8>> {
    use prost::Message;
    let base = common::now_nanos();
    (0..8u64)
        .map(|i| {
            let at = base + i * agent::SECONDS_PER_SEND * 1_000_000_000;
            agent::agent_batch(1 + i * 100, 512, at).encode_to_vec()
        })
        .collect()
}

/// Request bodies of one load: `chat` (the synthetic chat spans and the captures) or `agent`.
fn load_bodies(load: &str) -> Vec<Vec<u8>> {
    match load {
        "chat" => bodies().0,
        _ => agent_bodies(),
    }
}

#[divan::bench(args = ["chat", "agent"], consts = [false, true])]
fn protobuf_into_request<const BORROWED: bool>(bencher: Bencher, load: &str) {
    use llmwatch::model::convert::request::{TracesRequest, count_spans};
    use prost::Message;
    let bodies = load_bodies(load);
    let n: usize = bodies
        .iter()
        .map(|b| count_spans(&llmwatch::ingest::otlp_proto::traces(b).unwrap()))
        .sum();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| {
            for body in &bodies {
                if BORROWED {
                    black_box(llmwatch::ingest::otlp_proto::traces(body).unwrap());
                } else {
                    let req = ExportTraceServiceRequest::decode(&body[..]).unwrap();
                    black_box(TracesRequest::from(req));
                }
            }
        });
}

/// Replay's and `report`'s decode: one OTLP/JSON line of a capture into the request conversion
/// reads (strings borrowed), for the chat requests and the agent requests above.
#[divan::bench(args = ["chat", "agent"])]
fn json_into_request(bencher: Bencher, load: &str) {
    use llmwatch::model::convert::request::count_spans;
    use prost::Message;
    let lines: Vec<Vec<u8>> = load_bodies(load)
        .iter()
        .map(|b| serde_json::to_vec(&ExportTraceServiceRequest::decode(&b[..]).unwrap()).unwrap())
        .collect();
    let n: usize = lines
        .iter()
        .map(|l| count_spans(&llmwatch::ingest::otlp_json::traces(l).unwrap()))
        .sum();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .counter(divan::counter::BytesCount::new(bytes))
        .bench_local(|| {
            for line in &lines {
                black_box(llmwatch::ingest::otlp_json::traces(line).unwrap());
            }
        });
}

#[divan::bench]
fn agent_builtin_evaluation(bencher: Bencher) {
    use prost::Message;
    let mut c = converter();
    let requests: Vec<Vec<SpanRecord>> = agent_bodies()
        .iter()
        .map(|b| {
            let mut spans = Vec::new();
            let req = ExportTraceServiceRequest::decode(&b[..]).unwrap();
            c.convert_traces_unevaluated(req, &mut spans, &mut Vec::new());
            spans
        })
        .collect();
    // Every call evaluated: none past the cap.
    let (mut done, mut skipped) = (0, 0);
    let config = llmwatch::eval::BuiltinConfig::default();
    for spans in &requests {
        let (d, s) = llmwatch::model::convert::builtin_evaluation(&config, spans, &mut Vec::new());
        (done, skipped) = (done + d, skipped + s);
    }
    assert!(
        done > 0 && skipped == 0,
        "{done} evaluated, {skipped} past the cap"
    );
    evaluate_requests(bencher, &requests);
}
