//! The agent workload of the ingest benchmark: RAG-agent traces as instrumentations send them,
//! independent of llmwatch's own chat load. A trace has 6-12 spans: an agent root, embeddings,
//! a retrieval of four documents (0.2-3 KB each), a rerank, one to three chat calls with both OTel
//! GenAI and OpenInference attributes and flattened messages (the documents in the prompt, tool
//! results fed back), one or two tool spans between calls, and a chain span formatting the
//! answer. Texts are drawn from a seeded generator, so no two documents or answers are the same,
//! and answers mix words from the documents with their own (some grounded, some not); a few ask
//! for JSON, refuse, or leak an email address, so every evaluator has work to do.
//!
//! Every span's times lie in the first two seconds after the batch's base time, which each send
//! moves on by one second: every model call stays under the evaluators' per-second cap.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

/// Seconds of event time between two sends (each batch's spans lie within two of them).
pub const SECONDS_PER_SEND: u64 = 1;

/// A small deterministic generator (xorshift64*), so the batch is the same in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

const NOUNS: [&str; 48] = [
    "order",
    "parcel",
    "invoice",
    "refund",
    "warehouse",
    "carrier",
    "address",
    "subscription",
    "account",
    "password",
    "voucher",
    "discount",
    "shipment",
    "delivery",
    "return",
    "exchange",
    "warranty",
    "battery",
    "charger",
    "headphones",
    "laptop",
    "monitor",
    "keyboard",
    "firmware",
    "router",
    "payment",
    "card",
    "bank",
    "transfer",
    "currency",
    "customs",
    "duty",
    "label",
    "tracking",
    "courier",
    "locker",
    "pickup",
    "store",
    "receipt",
    "serial",
    "model",
    "plan",
    "upgrade",
    "trial",
    "region",
    "policy",
    "agent",
    "ticket",
];
const VERBS: [&str; 24] = [
    "ships",
    "arrives",
    "requires",
    "includes",
    "covers",
    "excludes",
    "activates",
    "expires",
    "renews",
    "replaces",
    "refunds",
    "charges",
    "confirms",
    "notifies",
    "updates",
    "blocks",
    "supports",
    "delays",
    "processes",
    "verifies",
    "cancels",
    "restores",
    "transfers",
    "applies",
];
const QUALIFIERS: [&str; 24] = [
    "within two business days",
    "after inspection",
    "for unused items",
    "in most regions",
    "before dispatch",
    "once the carrier scans it",
    "at no extra cost",
    "for premium members",
    "during peak season",
    "outside the European Union",
    "with the original packaging",
    "unless the seal is broken",
    "by email",
    "through the mobile app",
    "at checkout",
    "for orders above fifty euros",
    "on the next billing date",
    "in the customer portal",
    "when stock is available",
    "from the regional warehouse",
    "with a prepaid label",
    "after identity verification",
    "for business accounts",
    "within thirty days",
];
const ANSWER_WORDS: [&str; 32] = [
    "certainly",
    "happy",
    "assist",
    "understand",
    "concern",
    "recommend",
    "quickly",
    "apologise",
    "inconvenience",
    "situation",
    "currently",
    "unfortunately",
    "typically",
    "generally",
    "usually",
    "straightforward",
    "option",
    "alternatively",
    "meanwhile",
    "reach",
    "team",
    "support",
    "detail",
    "information",
    "contact",
    "helpful",
    "review",
    "request",
    "case",
    "number",
    "status",
    "system",
];
const TOOLS: [&str; 5] = [
    "lookup_order",
    "check_inventory",
    "create_ticket",
    "get_shipping_quote",
    "search_faq",
];

/// A sentence from the domain vocabulary, with a number now and then.
fn sentence(rng: &mut Rng) -> String {
    let mut s = format!(
        "The {} {} {} {}",
        rng.pick(&NOUNS),
        rng.pick(&VERBS),
        rng.pick(&QUALIFIERS),
        rng.pick(&QUALIFIERS)
    );
    if rng.below(3) == 0 {
        s.push_str(&format!(" (ref {}-{})", rng.pick(&NOUNS), 1000 + rng.below(9000)));
    }
    if rng.below(2) == 0 {
        s.push_str(&format!(
            ", and the {} {} {}",
            rng.pick(&NOUNS),
            rng.pick(&VERBS),
            rng.pick(&QUALIFIERS)
        ));
    }
    s.push_str(". ");
    s
}

/// Text of about `bytes` bytes, sentence by sentence.
fn text(rng: &mut Rng, bytes: usize) -> String {
    let mut t = String::with_capacity(bytes + 160);
    while t.len() < bytes {
        t.push_str(&sentence(rng));
    }
    t.trim_end().to_string()
}

/// An answer: sentences taken from the documents, in part (grounded), mixed with the
/// assistant's own words.
fn answer(rng: &mut Rng, docs: &[String], grounded: bool) -> String {
    let mut a = String::new();
    for _ in 0..2 + rng.below(4) {
        if grounded && rng.below(3) != 0 {
            let d = &docs[rng.below(docs.len())];
            let sentences: Vec<&str> = d.split(". ").collect();
            a.push_str(sentences[rng.below(sentences.len())].trim_end_matches('.'));
            a.push_str(". ");
        } else {
            let words: Vec<&str> = (0..6 + rng.below(8)).map(|_| rng.pick(&ANSWER_WORDS)).collect();
            a.push_str(&words.join(" "));
            a.push_str(". ");
        }
    }
    a.trim_end().to_string()
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

fn f(key: &str, v: f64) -> KeyValue {
    kv(key, any_value::Value::DoubleValue(v))
}

/// One trace's spans under construction: ids, times (offsets from the batch's base), parents.
struct Trace {
    trace_id: Vec<u8>,
    trace: u64,
    next_span: u64,
    base: u64,
    /// Nanoseconds from the trace's start where the next step begins.
    clock: u64,
    spans: Vec<Span>,
}

impl Trace {
    fn span_id(&self, n: u64) -> Vec<u8> {
        ((self.trace * 1000 + n) | 1 << 63).to_be_bytes().to_vec()
    }

    /// Adds a span of `millis` starting at the clock (which moves past it), child of `parent`.
    fn push(
        &mut self,
        name: &str,
        kind: span::SpanKind,
        parent: Option<u64>,
        millis: u64,
        attributes: Vec<KeyValue>,
    ) -> u64 {
        let n = self.next_span;
        self.next_span += 1;
        let start = self.base + self.clock;
        self.clock += millis * 1_000_000 + 200_000;
        self.spans.push(Span {
            trace_id: self.trace_id.clone(),
            span_id: self.span_id(n),
            parent_span_id: parent.map(|p| self.span_id(p)).unwrap_or_default(),
            name: name.into(),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + millis * 1_000_000,
            attributes,
            status: Some(Status::default()),
            ..Default::default()
        });
        n
    }
}

/// Flattened OpenInference messages: `llm.{side}_messages.N.message.{role,content}`.
fn flat_messages(side: &str, messages: &[(&str, &str)], attrs: &mut Vec<KeyValue>) {
    for (n, (role, content)) in messages.iter().enumerate() {
        attrs.push(s(&format!("llm.{side}_messages.{n}.message.role"), role));
        attrs.push(s(&format!("llm.{side}_messages.{n}.message.content"), content));
    }
}

/// The spans of one agent trace, `trace` numbering it; times from `base` (the root spans the
/// whole trace, under 1.9 s).
fn agent_trace(trace: u64, base: u64) -> Vec<Span> {
    let mut rng = Rng(trace.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&trace.to_be_bytes());
    trace_id[8..].copy_from_slice(&0x5eed_u64.to_be_bytes());
    let mut t = Trace {
        trace_id: trace_id.to_vec(),
        trace,
        next_span: 1,
        base: base + rng.below(40) as u64 * 1_000_000,
        clock: 1_000_000,
        spans: Vec::new(),
    };
    let question = format!(
        "My {} {} {}: order #{} — what should I do about the {}?",
        rng.pick(&NOUNS),
        rng.pick(&VERBS),
        rng.pick(&QUALIFIERS),
        100_000 + rng.below(900_000),
        rng.pick(&NOUNS)
    );
    let session = format!("sess-{:x}", trace % 211);
    let wants_json = rng.below(5) == 0;
    let refuses = rng.below(25) == 0;
    let grounded = rng.below(4) != 0;
    let calls = 1 + rng.below(3);

    // Embedding of the question.
    let root = 0;
    let emb_tokens = (question.len() / 4) as i64;
    t.push(
        "embeddings text-embedding-3-small",
        span::SpanKind::Client,
        Some(root),
        20 + rng.below(40) as u64,
        vec![
            s("gen_ai.operation.name", "embeddings"),
            s("gen_ai.provider.name", "openai"),
            s("gen_ai.request.model", "text-embedding-3-small"),
            i("gen_ai.usage.input_tokens", emb_tokens),
            s("openinference.span.kind", "EMBEDDING"),
            s("embedding.model_name", "text-embedding-3-small"),
            s("embedding.embeddings.0.embedding.text", &question),
            i("llm.token_count.prompt", emb_tokens),
            s("server.address", "api.openai.com"),
        ],
    );

    // Retrieval: four documents of 0.2-3 KB.
    let docs: Vec<String> = (0..4)
        .map(|_| {
            let bytes = 200 + rng.below(2800);
            text(&mut rng, bytes)
        })
        .collect();
    let mut attrs = vec![
        s("gen_ai.operation.name", "retrieval"),
        s("openinference.span.kind", "RETRIEVER"),
        s("gen_ai.data_source.id", "kb-support-v3"),
        s("db.system.name", "qdrant"),
        s("input.value", &question),
        s("gen_ai.retrieval.query.text", &question),
    ];
    for (n, d) in docs.iter().enumerate() {
        attrs.push(s(
            &format!("retrieval.documents.{n}.document.id"),
            &format!("kb-{}", rng.below(100_000)),
        ));
        attrs.push(s(&format!("retrieval.documents.{n}.document.content"), d));
        attrs.push(f(
            &format!("retrieval.documents.{n}.document.score"),
            0.9 - n as f64 * 0.07,
        ));
    }
    t.push(
        "retrieve kb-support-v3",
        span::SpanKind::Client,
        Some(root),
        30 + rng.below(60) as u64,
        attrs,
    );
    t.push(
        "rerank",
        span::SpanKind::Internal,
        Some(root),
        10 + rng.below(30) as u64,
        vec![
            s("openinference.span.kind", "RERANKER"),
            s("reranker.model_name", "bge-reranker-v2"),
            i("reranker.top_k", 4),
            s("reranker.query", &question),
        ],
    );

    // Chat calls; tools between them.
    let system = if wants_json {
        "You are the support agent of an online store. Use the documents below. Respond only with valid JSON: {\"answer\": string, \"refs\": [string]}."
    } else {
        "You are the support agent of an online store. Answer from the documents below; say so when they do not cover the question."
    };
    let context = docs.join("\n\n");
    let user = format!("Documents:\n{context}\n\nQuestion: {question}");
    let mut tool_results: Vec<String> = Vec::new();
    let mut final_answer = String::new();
    for call in 0..calls {
        let last = call + 1 == calls;
        let mut input: Vec<(&str, &str)> = vec![("system", system), ("user", &user)];
        for r in &tool_results {
            input.push(("tool", r));
        }
        let out = if !last {
            String::new()
        } else if refuses {
            format!("I'm sorry, but I can't help with that {}.", rng.pick(&NOUNS))
        } else {
            let mut a = answer(&mut rng, &docs, grounded);
            if rng.below(30) == 0 {
                a.push_str(" You can also write to help-desk@example.com.");
            }
            if wants_json {
                a = serde_json::json!({"answer": a, "refs": ["kb-1", "kb-2"]}).to_string();
                if rng.below(6) == 0 {
                    a.pop(); // now and then the model cuts its JSON short
                }
            }
            a
        };
        let tool = rng.pick(&TOOLS);
        let prompt_tokens = ((system.len() + user.len()) / 4
            + tool_results.iter().map(|r| r.len() / 4).sum::<usize>()) as i64;
        let completion_tokens = (out.len() / 4).max(18) as i64;
        let mut attrs = vec![
            s("gen_ai.operation.name", "chat"),
            s("gen_ai.provider.name", "openai"),
            s("gen_ai.request.model", "gpt-4o"),
            s("gen_ai.response.model", "gpt-4o-2024-08-06"),
            s("gen_ai.response.id", &format!("chatcmpl-{trace:x}-{call}")),
            f("gen_ai.request.temperature", 0.2),
            i("gen_ai.usage.input_tokens", prompt_tokens),
            i("gen_ai.usage.output_tokens", completion_tokens),
            s(
                "gen_ai.response.finish_reasons",
                if last { "stop" } else { "tool_calls" },
            ),
            s("server.address", "api.openai.com"),
            s("openinference.span.kind", "LLM"),
            s("llm.provider", "openai"),
            s("llm.model_name", "gpt-4o-2024-08-06"),
            s(
                "llm.invocation_parameters",
                if wants_json {
                    r#"{"temperature":0.2,"response_format":{"type":"json_object"}}"#
                } else {
                    r#"{"temperature":0.2}"#
                },
            ),
            i("llm.token_count.prompt", prompt_tokens),
            i("llm.token_count.completion", completion_tokens),
            i("llm.token_count.total", prompt_tokens + completion_tokens),
            s("session.id", &session),
        ];
        flat_messages("input", &input, &mut attrs);
        if last {
            flat_messages("output", &[("assistant", &out)], &mut attrs);
            final_answer = out;
        } else {
            attrs.push(s("llm.output_messages.0.message.role", "assistant"));
            attrs.push(s(
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
                tool,
            ));
            attrs.push(s(
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
                &format!("{{\"order_id\":\"{}\"}}", 100_000 + rng.below(900_000)),
            ));
        }
        t.push(
            "chat gpt-4o",
            span::SpanKind::Client,
            Some(root),
            250 + rng.below(300) as u64,
            attrs,
        );
        if !last {
            for _ in 0..1 + rng.below(2) {
                let bytes = 150 + rng.below(250);
                let result = serde_json::json!({
                    "status": rng.pick(&VERBS),
                    "detail": text(&mut rng, bytes),
                })
                .to_string();
                t.push(
                    &format!("execute_tool {tool}"),
                    span::SpanKind::Internal,
                    Some(root),
                    15 + rng.below(80) as u64,
                    vec![
                        s("gen_ai.operation.name", "execute_tool"),
                        s("gen_ai.tool.name", tool),
                        s("gen_ai.tool.call.id", &format!("call_{trace:x}{call}")),
                        s("openinference.span.kind", "TOOL"),
                        s("tool.name", tool),
                        s(
                            "input.value",
                            &format!("{{\"order_id\":\"{}\"}}", 100_000 + rng.below(900_000)),
                        ),
                        s("output.value", &result),
                    ],
                );
                tool_results.push(result);
            }
        }
    }
    t.push(
        "format_answer",
        span::SpanKind::Internal,
        Some(root),
        2 + rng.below(5) as u64,
        vec![
            s("openinference.span.kind", "CHAIN"),
            s("input.value", &final_answer),
            s("output.value", &final_answer),
        ],
    );

    // The root last, now that its length is known (exporters send it when it ends, too).
    let end = t.clock;
    t.clock = 0;
    t.next_span = root;
    t.push(
        "invoke_agent support-agent",
        span::SpanKind::Server,
        None,
        end / 1_000_000 + 1,
        vec![
            s("gen_ai.operation.name", "invoke_agent"),
            s("gen_ai.agent.name", "support-agent"),
            s("openinference.span.kind", "AGENT"),
            s("agent.name", "support-agent"),
            s("app.route", "/support/agent"),
            s("tenant.id", ["acme", "globex", "initech"][rng.below(3)]),
            s("session.id", &session),
            s("input.value", &question),
            s("output.value", &final_answer),
        ],
    );
    t.spans
}

/// An export request of exactly `n` agent spans (whole traces, the last one cut to fit), numbered
/// from trace `first_trace`, all within two seconds after `base`.
pub fn agent_batch(first_trace: u64, n: usize, base: u64) -> ExportTraceServiceRequest {
    let mut spans = Vec::with_capacity(n);
    let mut trace = first_trace;
    while spans.len() < n {
        let offset = (trace - first_trace) % 64 * 10_000_000; // traces start within 0.64 s
        let mut t = agent_trace(trace, base + offset);
        t.truncate(n - spans.len());
        spans.extend(t);
        trace += 1;
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", "support-agent"),
                    s("service.version", "2.3.0"),
                    s("deployment.environment.name", "prod"),
                    s("telemetry.sdk.language", "python"),
                    s("telemetry.sdk.name", "opentelemetry"),
                    s("telemetry.sdk.version", "1.38.0"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "openinference.instrumentation.openai".into(),
                    version: "0.1.30".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
