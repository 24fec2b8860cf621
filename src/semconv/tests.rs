//! Per-convention tests of the normaliser, driven through the real [`Converter`] so that key
//! classification, interning and normalisation are exercised together, as at ingest.
//!
//! Every expected number is worked out here from the inputs: token counts from the attributes,
//! dollars from the prices inserted into [`test_table`] (or, for the bundled-table checks, from
//! the lines of src/cost/prices.json quoted beside them).

use super::keys::{self, Class};
use super::*;
use crate::cost::{CostTable, Price, Tier};
use crate::model::{ConvertLimits, Converter, LogRecord, SpanId, SpanRecord, TraceId};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::logs::v1::{LogRecord as OtlpLog, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Building OTLP input
// ---------------------------------------------------------------------------------------------

/// 2026-11-27T07:17:49Z, so RFC 3339 timestamps relative to it are easy to write.
const START: u64 = 1_795_763_869_000_000_000;
/// Every span lasts 2 s unless a test says otherwise.
const END: u64 = START + 2_000_000_000;
const TRACE: [u8; 16] = [0x11; 16];
const OTHER_TRACE: [u8; 16] = [0x22; 16];
const MS: u64 = 1_000_000;

fn s(v: &str) -> V {
    V::StringValue(v.into())
}

fn i(v: i64) -> V {
    V::IntValue(v)
}

fn f(v: f64) -> V {
    V::DoubleValue(v)
}

fn b(v: bool) -> V {
    V::BoolValue(v)
}

fn arr(items: Vec<V>) -> V {
    V::ArrayValue(ArrayValue {
        values: items.into_iter().map(|v| AnyValue { value: Some(v) }).collect(),
    })
}

fn kv(key: &str, value: V) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn kvs(attrs: impl IntoIterator<Item = (&'static str, V)>) -> Vec<KeyValue> {
    attrs.into_iter().map(|(k, v)| kv(k, v)).collect()
}

fn sid(n: u8) -> SpanId {
    SpanId([n; 8])
}

/// A span in [`TRACE`] with id `[2; 8]`, named "work", from [`START`] to [`END`].
fn span(attrs: impl IntoIterator<Item = (&'static str, V)>) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: vec![2; 8],
        name: "work".into(),
        kind: 3,
        start_time_unix_nano: START,
        end_time_unix_nano: END,
        attributes: kvs(attrs),
        ..Default::default()
    }
}

fn with_ids(mut sp: Span, id: u8, parent: Option<u8>) -> Span {
    sp.span_id = vec![id; 8];
    sp.parent_span_id = parent.map(|p| vec![p; 8]).unwrap_or_default();
    sp
}

fn named(mut sp: Span, name: &str) -> Span {
    sp.name = name.into();
    sp
}

fn event(name: &str, at: u64, attrs: impl IntoIterator<Item = (&'static str, V)>) -> Event {
    Event {
        time_unix_nano: at,
        name: name.into(),
        attributes: kvs(attrs),
        ..Default::default()
    }
}

fn link(trace: [u8; 16], span: u8) -> Link {
    Link {
        trace_id: trace.to_vec(),
        span_id: vec![span; 8],
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(OtlpResource {
                attributes: resource,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

// ---------------------------------------------------------------------------------------------
// Prices and converters
// ---------------------------------------------------------------------------------------------

/// Hand-made prices, per million tokens:
/// - `acme-chat`: input $2, cache read $0.50, cache write $2.50, output $8, reasoning $20;
/// - `acme-chat-pro`: input $10, output $30;
/// - `acme-long`: input $1, cache read $0.25, output $4; above 200k input tokens (whole request):
///   input $2, output $6;
/// - `acme-embed`: input $0.10, output $0.
fn test_table() -> CostTable {
    let mut t = CostTable::empty();
    t.insert(
        "acme-chat",
        None,
        Price {
            input: 2e-6,
            output: 8e-6,
            cache_read: Some(0.5e-6),
            cache_write: Some(2.5e-6),
            reasoning: Some(20e-6),
            tiers: Vec::new(),
        },
    );
    t.insert(
        "acme-chat-pro",
        None,
        Price {
            input: 10e-6,
            output: 30e-6,
            ..Price::default()
        },
    );
    t.insert(
        "acme-long",
        None,
        Price {
            input: 1e-6,
            output: 4e-6,
            cache_read: Some(0.25e-6),
            tiers: vec![Tier {
                above: 200_000,
                input: Some(2e-6),
                output: Some(6e-6),
                ..Tier::default()
            }],
            ..Price::default()
        },
    );
    t.insert(
        "acme-embed",
        None,
        Price {
            input: 0.1e-6,
            output: 0.0,
            ..Price::default()
        },
    );
    t
}

fn converter_with(config: SemconvConfig, costs: Option<CostTable>) -> Converter {
    Converter::new(ConvertLimits::default(), Arc::new(config), costs.map(Arc::new))
}

fn converter() -> Converter {
    converter_with(SemconvConfig::default(), Some(test_table()))
}

fn convert(c: &mut Converter, resource: Vec<KeyValue>, spans: Vec<Span>) -> (Vec<SpanRecord>, Vec<Verdict>) {
    let (mut out, mut verdicts) = (Vec::new(), Vec::new());
    c.convert_traces(request(resource, spans), &mut out, &mut verdicts);
    (out, verdicts)
}

fn one(sp: Span) -> SpanRecord {
    let (mut out, _) = convert(&mut converter(), Vec::new(), vec![sp]);
    assert_eq!(out.len(), 1);
    out.remove(0)
}

fn sem_opt(attrs: impl IntoIterator<Item = (&'static str, V)>) -> Option<Semantics> {
    one(span(attrs)).sem.map(|b| *b)
}

#[track_caller]
fn sem(attrs: impl IntoIterator<Item = (&'static str, V)>) -> Semantics {
    sem_opt(attrs).expect("the span should be recognised")
}

#[track_caller]
fn sem_of(sp: Span) -> Semantics {
    *one(sp).sem.expect("the span should be recognised")
}

fn kind_of(attrs: impl IntoIterator<Item = (&'static str, V)>) -> Kind {
    sem_opt(attrs).map_or(Kind::Other, |m| m.kind)
}

#[track_caller]
fn usage_of(attrs: impl IntoIterator<Item = (&'static str, V)>) -> TokenUsage {
    sem(attrs).usage.expect("usage")
}

fn tokens(input: u64, output: u64, total: u64) -> TokenUsage {
    TokenUsage {
        input,
        output,
        total,
        ..TokenUsage::default()
    }
}

/// Relative comparison: costs are sums of products of small floats.
#[track_caller]
fn assert_usd(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a cost");
    let tolerance = expected.abs() * 1e-9 + 1e-15;
    assert!(
        (actual - expected).abs() <= tolerance,
        "cost {actual:e}, expected {expected:e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Every key of SEMCONV.md is understood
// ---------------------------------------------------------------------------------------------

/// The keys of SEMCONV.md's tables, by row, in precedence order.
const SEMCONV_ROWS: &[&[&str]] = &[
    &["langfuse.observation.type"],
    &["openinference.span.kind"],
    &["gen_ai.span.kind"],
    &["fi.span.kind"],
    &["gen_ai.operation.name"],
    &["traceloop.span.kind"],
    &["llm.request.type"],
    &[
        "gen_ai.provider.name",
        "gen_ai.system",
        "llm.provider",
        "llm.system",
        "ls_provider",
        "ai.model.provider",
    ],
    &[
        "gen_ai.request.model",
        "llm.request.model_name",
        "langfuse.observation.model.name",
        "ai.model.id",
    ],
    &[
        "gen_ai.response.model",
        "llm.response.model_name",
        "llm.model_name",
        "ai.response.model",
    ],
    &[
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
        "llm.usage.prompt_tokens",
        "ai.usage.inputTokens",
        "ai.usage.promptTokens",
        "ai.usage.tokens",
    ],
    &[
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
        "llm.usage.completion_tokens",
        "ai.usage.outputTokens",
        "ai.usage.completionTokens",
    ],
    &[
        "gen_ai.usage.total_tokens",
        "llm.token_count.total",
        "llm.usage.total_tokens",
        "ai.usage.totalTokens",
    ],
    &[
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.input_tokens.cache_read",
        "llm.token_count.prompt_details.cache_read",
        "gen_ai.usage.cache_read_input_tokens",
        "ai.usage.inputTokenDetails.cacheReadTokens",
        "ai.usage.cachedInputTokens",
    ],
    &[
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.input_tokens.cache_write",
        "llm.token_count.prompt_details.cache_write",
        "gen_ai.usage.cache_creation_input_tokens",
        "ai.usage.inputTokenDetails.cacheWriteTokens",
    ],
    &[
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.output_tokens.reasoning",
        "llm.token_count.completion_details.reasoning",
        "gen_ai.usage.reasoning_tokens",
        "ai.usage.outputTokenDetails.reasoningTokens",
        "ai.usage.reasoningTokens",
    ],
    &[
        "llm.cost.total",
        "gen_ai.cost.total",
        "gen_ai.usage.cost",
        "operation.cost",
    ],
    &["langfuse.observation.cost_details"],
    &[
        "gen_ai.response.time_to_first_chunk",
        "gen_ai.client.operation.time_to_first_chunk",
        "gen_ai.server.time_to_first_token",
    ],
    &["langfuse.observation.completion_start_time"],
    &["ai.response.msToFirstChunk"],
    &["session.id", "langfuse.session.id", "gen_ai.conversation.id"],
    &["user.id", "langfuse.user.id"],
    &["gen_ai.agent.name", "agent.name"],
    &["gen_ai.tool.name", "tool.name", "tool_call.function.name"],
    &["gen_ai.request.stream", "gen_ai.is_streaming"],
    &["llm.invocation_parameters", "gen_ai.request.parameters"],
    &["embedding.model_name"],
    &["metadata"],
    &["langfuse.observation.usage_details"],
    &[
        "gen_ai.evaluation.name",
        "gen_ai.evaluation.score.value",
        "gen_ai.evaluation.score.label",
        "gen_ai.evaluation.explanation",
        "gen_ai.evaluation.target_span_id",
    ],
    // Rows added after SEMCONV.md's tables (docs/libraries.md): the indices above stay put.
    &["ai.operationId"],
];

#[test]
fn every_semconv_key_is_classified_and_ranked_in_order() {
    for row in SEMCONV_ROWS {
        let mut last: Option<(keys::Concept, u8)> = None;
        for key in *row {
            let Class::Known(concept, rank) = keys::classify(key) else {
                panic!("{key} is not understood");
            };
            if let Some((c, r)) = last
                && c == concept
            {
                assert!(rank > r, "{key} must rank after the key before it");
            }
            last = Some((concept, rank));
        }
    }
    for key in [
        "traceloop.association.properties.tenant",
        "annotations.0.annotation.name",
        "evaluations.3.evaluation.score",
        "eval.groundedness",
        "eval.groundedness.reason",
    ] {
        assert_ne!(keys::classify(key), Class::None, "{key}");
    }
}

// ---------------------------------------------------------------------------------------------
// Span kind
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn check_kinds(key: &'static str, cases: &[(&str, Kind)]) {
    for &(value, want) in cases {
        assert_eq!(kind_of([(key, s(value))]), want, "{key}={value}");
    }
}

#[test]
fn kind_from_langfuse_observation_type() {
    check_kinds(
        "langfuse.observation.type",
        &[
            ("span", Kind::Other),
            ("generation", Kind::Llm),
            ("GENERATION", Kind::Llm),
            ("event", Kind::Other),
            ("embedding", Kind::Embedding),
            ("agent", Kind::Agent),
            ("tool", Kind::Tool),
            ("chain", Kind::Chain),
            ("retriever", Kind::Retrieval),
            ("guardrail", Kind::Guardrail),
            ("evaluator", Kind::Evaluator),
        ],
    );
}

const OPENINFERENCE_KINDS: &[(&str, Kind)] = &[
    ("LLM", Kind::Llm),
    ("llm", Kind::Llm),
    ("EMBEDDING", Kind::Embedding),
    ("CHAIN", Kind::Chain),
    ("RETRIEVER", Kind::Retrieval),
    ("RERANKER", Kind::Rerank),
    ("TOOL", Kind::Tool),
    ("AGENT", Kind::Agent),
    ("GUARDRAIL", Kind::Guardrail),
    ("EVALUATOR", Kind::Evaluator),
    ("PROMPT", Kind::Chain),
    ("UNKNOWN", Kind::Other),
];

#[test]
fn kind_from_openinference_span_kind() {
    check_kinds("openinference.span.kind", OPENINFERENCE_KINDS);
}

#[test]
fn kind_from_traceai_gen_ai_span_kind_and_fi_span_kind() {
    let traceai_extra = [
        ("CONVERSATION", Kind::Chain),
        ("VECTOR_DB", Kind::Retrieval),
        ("A2A_CLIENT", Kind::Agent),
        ("A2A_SERVER", Kind::Agent),
    ];
    for key in ["gen_ai.span.kind", "fi.span.kind"] {
        check_kinds(key, OPENINFERENCE_KINDS);
        check_kinds(key, &traceai_extra);
    }
}

#[test]
fn kind_from_otel_operation_name() {
    check_kinds(
        "gen_ai.operation.name",
        &[
            ("chat", Kind::Llm),
            ("generate_content", Kind::Llm),
            ("text_completion", Kind::Llm),
            ("embeddings", Kind::Embedding),
            ("retrieval", Kind::Retrieval),
            ("create_agent", Kind::Agent),
            ("invoke_agent", Kind::Agent),
            ("execute_tool", Kind::Tool),
            ("invoke_workflow", Kind::Chain),
            ("plan", Kind::Agent),
        ],
    );
    let m = sem([("gen_ai.operation.name", s("chat"))]);
    assert_eq!(m.operation.as_deref(), Some("chat"));
}

#[test]
fn kind_from_openllmetry_keys() {
    check_kinds(
        "traceloop.span.kind",
        &[
            ("workflow", Kind::Chain),
            ("task", Kind::Chain),
            ("agent", Kind::Agent),
            ("tool", Kind::Tool),
        ],
    );
    check_kinds(
        "llm.request.type",
        &[
            ("chat", Kind::Llm),
            ("completion", Kind::Llm),
            ("rerank", Kind::Rerank),
            ("embedding", Kind::Embedding),
        ],
    );
}

#[test]
fn kind_conventions_follow_semconv_order_whatever_the_attribute_order() {
    let layers = [
        ("langfuse.observation.type", "tool", Kind::Tool),
        ("openinference.span.kind", "AGENT", Kind::Agent),
        ("gen_ai.span.kind", "RETRIEVER", Kind::Retrieval),
        ("fi.span.kind", "EMBEDDING", Kind::Embedding),
        ("gen_ai.operation.name", "chat", Kind::Llm),
        ("traceloop.span.kind", "workflow", Kind::Chain),
        ("llm.request.type", "rerank", Kind::Rerank),
    ];
    for first in 0..layers.len() {
        let present = &layers[first..];
        let want = present[0].2;
        assert_eq!(
            kind_of(present.iter().map(|(k, v, _)| (*k, s(v)))),
            want,
            "{} first, in order",
            present[0].0
        );
        assert_eq!(
            kind_of(present.iter().rev().map(|(k, v, _)| (*k, s(v)))),
            want,
            "{} first, reversed",
            present[0].0
        );
    }
}

#[test]
fn unrecognised_or_generic_kind_values_do_not_hide_the_next_convention() {
    // A value the convention does not define says nothing: the next convention decides.
    assert_eq!(
        kind_of([
            ("gen_ai.operation.name", s("frobnicate")),
            ("traceloop.span.kind", s("task")),
        ]),
        Kind::Chain
    );
    // Langfuse's default type "span" and OpenInference's "UNKNOWN" are no statement either.
    assert_eq!(
        kind_of([
            ("langfuse.observation.type", s("span")),
            ("gen_ai.operation.name", s("chat")),
        ]),
        Kind::Llm
    );
    assert_eq!(
        kind_of([
            ("openinference.span.kind", s("UNKNOWN")),
            ("llm.model_name", s("gpt-4o")),
        ]),
        Kind::Llm
    );
}

#[test]
fn kind_fallbacks_tool_keys_span_names_and_model_keys() {
    // Any gen_ai.tool.* key means a tool.
    assert_eq!(kind_of([("gen_ai.tool.call.id", s("call_1"))]), Kind::Tool);
    let m = sem([("gen_ai.tool.name", s("get_weather"))]);
    assert_eq!((m.kind, m.tool.as_deref()), (Kind::Tool, Some("get_weather")));
    // A model key alone means an LLM call; an embedding model an embedding call.
    assert_eq!(kind_of([("gen_ai.request.model", s("gpt-4o"))]), Kind::Llm);
    assert_eq!(kind_of([("gen_ai.response.model", s("gpt-4o"))]), Kind::Llm);
    assert_eq!(
        kind_of([("embedding.model_name", s("text-embedding-3-small"))]),
        Kind::Embedding
    );
    // OTel span names: `{operation} {model}`, `execute_tool {tool}`, `invoke_agent {agent}`.
    for (name, want) in [
        ("execute_tool get_weather", Kind::Tool),
        ("chat gpt-4o", Kind::Llm),
        ("invoke_agent planner", Kind::Agent),
        ("embeddings text-embedding-3-small", Kind::Embedding),
    ] {
        assert_eq!(sem_of(named(span([]), name)).kind, want, "{name}");
    }
    // A bare word is not `{operation} {model}`, and a name is not a kind of its own.
    assert!(one(named(span([]), "chat")).sem.is_none());
    assert!(one(named(span([]), "GET /users")).sem.is_none());
    // The span name says more than a model key: agent spans often carry a model.
    let agent = named(
        span([("gen_ai.request.model", s("gpt-4o"))]),
        "invoke_agent planner",
    );
    assert_eq!(sem_of(agent).kind, Kind::Agent);
    // An explicit kind beats every fallback.
    let explicit = named(
        span([
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.tool.name", s("get_weather")),
        ]),
        "execute_tool get_weather",
    );
    assert_eq!(sem_of(explicit).kind, Kind::Llm);
}

#[test]
fn tool_definitions_on_a_chat_span_do_not_make_it_a_tool() {
    // OTel puts `gen_ai.tool.definitions` on inference spans: the tools offered to the model.
    let m = sem([
        ("gen_ai.request.model", s("gpt-4o")),
        (
            "gen_ai.tool.definitions",
            s(r#"[{"type":"function","name":"get_weather"}]"#),
        ),
    ]);
    assert_eq!(m.kind, Kind::Llm);
}

#[test]
fn spans_saying_nothing_llm_have_no_semantics() {
    assert!(sem_opt([("http.method", s("GET")), ("http.status_code", i(200))]).is_none());
    assert!(sem_opt([]).is_none());
}

// ---------------------------------------------------------------------------------------------
// Provider and model
// ---------------------------------------------------------------------------------------------

#[test]
fn provider_precedence_including_deprecated_gen_ai_system() {
    let keys = [
        "gen_ai.provider.name",
        "gen_ai.system",
        "llm.provider",
        "llm.system",
    ];
    let values = ["aws.bedrock", "openai", "Azure", "anthropic"];
    for first in 0..keys.len() {
        let attrs: Vec<_> = (first..keys.len())
            .rev()
            .map(|k| (keys[k], s(values[k])))
            .collect();
        let m = sem(attrs);
        assert_eq!(
            m.provider.as_deref(),
            Some(values[first].to_ascii_lowercase().as_str()),
            "{} first",
            keys[first]
        );
    }
}

#[test]
fn request_and_response_model_precedence() {
    let req = [
        "gen_ai.request.model",
        "llm.request.model_name",
        "langfuse.observation.model.name",
    ];
    for first in 0..req.len() {
        let attrs: Vec<_> = (first..req.len())
            .rev()
            .map(|k| (req[k], s(&format!("req-{k}"))))
            .collect();
        let m = sem(attrs);
        assert_eq!(m.request_model.as_deref(), Some(format!("req-{first}").as_str()));
        assert_eq!(m.response_model, None);
        // What answered is unknown: the requested model is shown and priced.
        assert_eq!(m.model().map(|x| &**x), Some(format!("req-{first}").as_str()));
        assert_eq!(m.priced_model(), m.request_model.as_ref());
    }
    let resp = [
        "gen_ai.response.model",
        "llm.response.model_name",
        "llm.model_name",
    ];
    for first in 0..resp.len() {
        let attrs: Vec<_> = (first..resp.len())
            .rev()
            .map(|k| (resp[k], s(&format!("resp-{k}"))))
            .collect();
        let m = sem(attrs);
        assert_eq!(
            m.response_model.as_deref(),
            Some(format!("resp-{first}").as_str())
        );
        assert_eq!(m.model().map(|x| &**x), Some(format!("resp-{first}").as_str()));
    }
    // Both: the requested name is shown, the dated snapshot priced.
    let m = sem([
        ("gen_ai.response.model", s("gpt-4o-mini-2024-07-18")),
        ("gen_ai.request.model", s("gpt-4o-mini")),
    ]);
    assert_eq!(m.model().map(|x| &**x), Some("gpt-4o-mini"));
    assert_eq!(m.priced_model().map(|x| &**x), Some("gpt-4o-mini-2024-07-18"));
}

#[test]
fn openinference_snapshot_in_llm_model_name_requested_name_in_invocation_parameters() {
    let m = sem([
        ("openinference.span.kind", s("LLM")),
        ("llm.provider", s("openai")),
        ("llm.model_name", s("gpt-4o-mini-2024-07-18")),
        (
            "llm.invocation_parameters",
            s(r#"{"model": "gpt-4o-mini", "temperature": 0.2, "stream": true}"#),
        ),
    ]);
    assert_eq!(m.kind, Kind::Llm);
    assert_eq!(m.request_model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(m.response_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    assert_eq!(m.streaming, Some(true));
    // An explicit request-model key beats the JSON.
    let m = sem([
        ("gen_ai.request.model", s("explicit")),
        ("llm.invocation_parameters", s(r#"{"model": "from-json"}"#)),
    ]);
    assert_eq!(m.request_model.as_deref(), Some("explicit"));
}

#[test]
fn traceai_request_parameters_fill_in_for_a_missing_model() {
    // traceAI leaves gen_ai.request.model out on streaming spans.
    let m = sem([
        ("gen_ai.span.kind", s("LLM")),
        ("gen_ai.provider.name", s("openai")),
        (
            "gen_ai.request.parameters",
            s(r#"{"model": " gpt-4o ", "max_tokens": 512, "stream": true}"#),
        ),
    ]);
    assert_eq!(m.request_model.as_deref(), Some("gpt-4o"));
    assert_eq!(m.streaming, Some(true));
    // llm.invocation_parameters ranks first.
    let m = sem([
        ("gen_ai.request.parameters", s(r#"{"model": "second"}"#)),
        ("llm.invocation_parameters", s(r#"{"model": "first"}"#)),
    ]);
    assert_eq!(m.request_model.as_deref(), Some("first"));
}

#[test]
fn embedding_model_name_is_the_model_of_an_embedding_span() {
    let m = sem([
        ("openinference.span.kind", s("EMBEDDING")),
        ("embedding.model_name", s("text-embedding-3-small")),
    ]);
    assert_eq!(m.kind, Kind::Embedding);
    assert_eq!(m.model().map(|x| &**x), Some("text-embedding-3-small"));
}

#[test]
fn names_are_interned_across_spans() {
    let mut c = converter();
    let a = with_ids(
        span([
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.system", s("OpenAI")),
        ]),
        2,
        None,
    );
    let b = with_ids(
        span([
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.system", s("OpenAI")),
        ]),
        3,
        None,
    );
    let (out, _) = convert(&mut c, Vec::new(), vec![a, b]);
    let (x, y) = (out[0].sem.as_deref().unwrap(), out[1].sem.as_deref().unwrap());
    assert!(Arc::ptr_eq(
        x.request_model.as_ref().unwrap(),
        y.request_model.as_ref().unwrap()
    ));
    assert!(Arc::ptr_eq(
        x.provider.as_ref().unwrap(),
        y.provider.as_ref().unwrap()
    ));
    assert_eq!(x.provider.as_deref(), Some("openai"));
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// Each token row of SEMCONV.md: every key alone is read, and the first key wins.
#[test]
fn token_keys_each_alone_and_first_wins() {
    type Get = fn(&TokenUsage) -> u64;
    let rows: [(&[&'static str], Get); 6] = [
        (SEMCONV_ROWS[10], |u| u.input),
        (SEMCONV_ROWS[11], |u| u.output),
        (SEMCONV_ROWS[12], |u| u.total),
        (SEMCONV_ROWS[13], |u| u.cache_read),
        (SEMCONV_ROWS[14], |u| u.cache_write),
        (SEMCONV_ROWS[15], |u| u.reasoning),
    ];
    for (keys, get) in rows {
        // Small base counts, left out for the row under test, so that every value of the row
        // (11 and up) is read as it is: a total above input + output, caches and reasoning above
        // the counts they belong to.
        let base = |keys: &[&str]| -> Vec<(&'static str, V)> {
            [
                ("gen_ai.usage.input_tokens", 2),
                ("gen_ai.usage.output_tokens", 3),
            ]
            .into_iter()
            .filter(|(k, _)| !keys.contains(k))
            .map(|(k, v)| (k, i(v)))
            .collect()
        };
        for (n, key) in keys.iter().enumerate() {
            let value = 11 + n as i64;
            let mut attrs = base(keys);
            attrs.push((key, i(value)));
            assert_eq!(get(&usage_of(attrs)), value as u64, "{key} alone");
        }
        // All keys of the row, last first: the first key's value (11) wins.
        let mut attrs = base(keys);
        attrs.extend(keys.iter().enumerate().rev().map(|(n, k)| (*k, i(11 + n as i64))));
        assert_eq!(get(&usage_of(attrs)), 11, "{} wins", keys[0]);
    }
}

#[test]
fn token_counts_arrive_as_int_double_or_string() {
    for v in [i(16), f(16.0), s(" 16 "), s("16.0")] {
        let u = usage_of([
            ("gen_ai.usage.input_tokens", v.clone()),
            ("gen_ai.usage.output_tokens", i(4)),
        ]);
        assert_eq!(u, tokens(16, 4, 20), "{v:?}");
    }
}

#[test]
fn total_is_input_plus_output_unless_sent() {
    assert_eq!(
        usage_of([
            ("llm.token_count.prompt", i(120)),
            ("llm.token_count.completion", i(30))
        ]),
        tokens(120, 30, 150)
    );
    // A sent total is kept (it may count more, e.g. tool-use prompt tokens).
    assert_eq!(
        usage_of([
            ("gen_ai.usage.input_tokens", i(120)),
            ("gen_ai.usage.output_tokens", i(30)),
            ("gen_ai.usage.total_tokens", i(170)),
        ]),
        tokens(120, 30, 170)
    );
}

#[test]
fn a_missing_side_is_derived_from_the_total() {
    assert_eq!(
        usage_of([
            ("llm.usage.prompt_tokens", i(80)),
            ("llm.usage.total_tokens", i(100))
        ]),
        tokens(80, 20, 100)
    );
    assert_eq!(
        usage_of([
            ("llm.usage.completion_tokens", i(20)),
            ("llm.usage.total_tokens", i(100))
        ]),
        tokens(80, 20, 100)
    );
}

#[test]
fn a_bare_total_invents_no_split_and_is_not_priced_as_zero() {
    let m = sem([
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.request.model", s("acme-chat")),
        ("gen_ai.usage.total_tokens", i(300)),
    ]);
    assert_eq!(m.usage, Some(tokens(0, 0, 300)));
    // Input at $2/M or output at $8/M? Unknown: no price rather than a guess, and never $0.
    assert_eq!(m.cost_usd, None);
    assert!(m.unpriced);
}

#[test]
fn otel_style_input_already_includes_cache() {
    let u = usage_of([
        ("gen_ai.usage.input_tokens", i(1_000)),
        ("gen_ai.usage.cache_read.input_tokens", i(600)),
        ("gen_ai.usage.cache_creation.input_tokens", i(100)),
        ("gen_ai.usage.output_tokens", i(50)),
    ]);
    assert_eq!(
        u,
        TokenUsage {
            input: 1_000,
            output: 50,
            total: 1_050,
            cache_read: 600,
            cache_write: 100,
            reasoning: 0,
            cache_known: true,
        }
    );
}

#[test]
fn anthropic_style_cache_exceeding_input_is_added_to_it() {
    // Anthropic's raw numbers: 50 uncached input tokens, 4,000 read from and 200 written to the
    // cache. In the OTel convention that is 4,250 input tokens.
    let u = usage_of([
        ("gen_ai.usage.input_tokens", i(50)),
        ("gen_ai.usage.cache_read_input_tokens", i(4_000)),
        ("gen_ai.usage.cache_creation_input_tokens", i(200)),
        ("gen_ai.usage.output_tokens", i(10)),
    ]);
    assert_eq!(
        (u.input, u.cache_read, u.cache_write, u.total),
        (4_250, 4_000, 200, 4_260)
    );
    // A raw total (50 + 10) is raised to what the counts add up to.
    let u = usage_of([
        ("gen_ai.usage.input_tokens", i(50)),
        ("gen_ai.usage.cache_read_input_tokens", i(4_000)),
        ("gen_ai.usage.output_tokens", i(10)),
        ("gen_ai.usage.total_tokens", i(60)),
    ]);
    assert_eq!((u.input, u.output, u.total), (4_050, 10, 4_060));
}

#[test]
fn reasoning_is_part_of_output() {
    let u = usage_of([
        ("gen_ai.usage.input_tokens", i(100)),
        ("gen_ai.usage.output_tokens", i(500)),
        ("gen_ai.usage.reasoning.output_tokens", i(200)),
    ]);
    assert_eq!((u.output, u.reasoning, u.total), (500, 200, 600));
    // Gemini's raw candidates count leaves thoughts out: reasoning above output is added.
    let u = usage_of([
        ("gen_ai.usage.input_tokens", i(100)),
        ("gen_ai.usage.output_tokens", i(40)),
        ("gen_ai.usage.reasoning_tokens", i(300)),
    ]);
    assert_eq!((u.output, u.reasoning, u.total), (340, 300, 440));
}

#[test]
fn langfuse_usage_details_buckets_become_otel_counts() {
    // Langfuse's buckets exclude each other: `input` leaves out `input_cached_tokens`, `output`
    // leaves out `output_reasoning_tokens`; `total` is their sum.
    let u = usage_of([
        ("langfuse.observation.type", s("generation")),
        (
            "langfuse.observation.usage_details",
            s(r#"{"input": 200, "input_cached_tokens": 800, "output": 40,
                 "output_reasoning_tokens": 10, "total": 1050}"#),
        ),
    ]);
    assert_eq!(
        u,
        TokenUsage {
            input: 1_000,
            output: 50,
            total: 1_050,
            cache_read: 800,
            cache_write: 0,
            reasoning: 10,
            cache_known: true,
        }
    );
    // Anthropic-named buckets, no total.
    let u = usage_of([(
        "langfuse.observation.usage_details",
        s(
            r#"{"input": 30, "cache_read_input_tokens": 20, "cache_creation_input_tokens": 10,
             "output": 5}"#,
        ),
    )]);
    assert_eq!(
        (u.input, u.cache_read, u.cache_write, u.output, u.total),
        (60, 20, 10, 5, 65)
    );
    // Direct keys win over the JSON.
    let u = usage_of([
        ("gen_ai.usage.input_tokens", i(7)),
        (
            "langfuse.observation.usage_details",
            s(r#"{"input": 200, "output": 3}"#),
        ),
    ]);
    assert_eq!(u, tokens(7, 3, 10));
}

#[test]
fn no_token_keys_no_usage() {
    let m = sem([("gen_ai.request.model", s("acme-chat"))]);
    assert_eq!(m.usage, None);
    // A model call without usage (an error span) has no cost and is not "unpriced" either.
    assert_eq!((m.cost_usd, m.unpriced), (None, false));
}

// ---------------------------------------------------------------------------------------------
// Cost
// ---------------------------------------------------------------------------------------------

fn chat_call(model: &str) -> Vec<(&'static str, V)> {
    vec![
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.request.model", s(model)),
        ("gen_ai.usage.input_tokens", i(1_000)),
        ("gen_ai.usage.output_tokens", i(100)),
    ]
}

/// acme-chat, 1,000 input and 100 output tokens: 1,000 x $2/M + 100 x $8/M.
const ACME_CHAT_1000_100: f64 = (1_000.0 * 2.0 + 100.0 * 8.0) / 1e6;

#[test]
fn cost_sent_with_the_span_wins_over_the_table() {
    for key in SEMCONV_ROWS[16] {
        let mut attrs = chat_call("acme-chat");
        attrs.push((key, f(0.0125)));
        let m = sem(attrs);
        assert_usd(m.cost_usd, 0.0125);
        assert_eq!(m.cost_source, Some(CostSource::Span), "{key}");
        assert!(!m.unpriced);
    }
    // Strings count, and the first key of the row wins.
    let mut attrs = chat_call("acme-chat");
    attrs.extend([
        ("operation.cost", f(9.0)),
        ("gen_ai.usage.cost", f(8.0)),
        ("gen_ai.cost.total", f(7.0)),
        ("llm.cost.total", s(" 0.5 ")),
    ]);
    assert_usd(sem(attrs).cost_usd, 0.5);
    // A sent cost makes even an unknown model's call priced.
    let mut attrs = chat_call("unknown-model");
    attrs.push(("gen_ai.usage.cost", f(0.002)));
    let m = sem(attrs);
    assert_usd(m.cost_usd, 0.002);
    assert!(!m.unpriced);
}

#[test]
fn langfuse_cost_details_json() {
    let mut attrs = chat_call("acme-chat");
    attrs.push((
        "langfuse.observation.cost_details",
        s(r#"{"input": 0.001, "output": 0.0025}"#),
    ));
    let m = sem(attrs);
    assert_usd(m.cost_usd, 0.001 + 0.0025);
    assert_eq!(m.cost_source, Some(CostSource::Span));
    // Its total, when present, is the cost.
    let mut attrs = chat_call("acme-chat");
    attrs.push((
        "langfuse.observation.cost_details",
        s(r#"{"input": 0.001, "output": 0.0025, "total": 0.004}"#),
    ));
    assert_usd(sem(attrs).cost_usd, 0.004);
    // The flat keys rank first.
    let mut attrs = chat_call("acme-chat");
    attrs.extend([
        ("langfuse.observation.cost_details", s(r#"{"total": 0.004}"#)),
        ("llm.cost.total", f(0.003)),
    ]);
    assert_usd(sem(attrs).cost_usd, 0.003);
    // Unusable JSON: the table prices the call.
    let mut attrs = chat_call("acme-chat");
    attrs.push(("langfuse.observation.cost_details", s("{not json")));
    let m = sem(attrs);
    assert_usd(m.cost_usd, ACME_CHAT_1000_100);
    assert_eq!(m.cost_source, Some(CostSource::Table));
}

#[test]
fn negative_or_non_finite_sent_costs_are_ignored() {
    for bad in [f(-0.01), f(f64::NAN), f(f64::INFINITY), s("n/a")] {
        let mut attrs = chat_call("acme-chat");
        attrs.push(("llm.cost.total", bad.clone()));
        let m = sem(attrs);
        assert_usd(m.cost_usd, ACME_CHAT_1000_100);
        assert_eq!(m.cost_source, Some(CostSource::Table), "{bad:?}");
    }
    // ...and the next key of the row is used instead.
    let mut attrs = chat_call("acme-chat");
    attrs.extend([("llm.cost.total", f(-1.0)), ("gen_ai.cost.total", f(0.25))]);
    let m = sem(attrs);
    assert_usd(m.cost_usd, 0.25);
    assert_eq!(m.cost_source, Some(CostSource::Span));
}

#[test]
fn table_cost_with_cache_and_reasoning() {
    let m = sem([
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.request.model", s("acme-chat")),
        ("gen_ai.usage.input_tokens", i(1_000)),
        ("gen_ai.usage.cache_read.input_tokens", i(600)),
        ("gen_ai.usage.cache_creation.input_tokens", i(100)),
        ("gen_ai.usage.output_tokens", i(500)),
        ("gen_ai.usage.reasoning.output_tokens", i(200)),
    ]);
    // 300 uncached x $2 + 600 read x $0.50 + 100 written x $2.50 + 300 text out x $8
    // + 200 reasoning x $20, per million.
    assert_usd(m.cost_usd, (600.0 + 300.0 + 250.0 + 2_400.0 + 4_000.0) / 1e6);
    assert_eq!(m.cost_source, Some(CostSource::Table));
    assert!(!m.unpriced);
}

#[test]
fn table_cost_of_anthropic_style_counts() {
    // Raw: 50 uncached, 4,000 cache reads, 200 cache writes, 10 out.
    let m = sem([
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.request.model", s("acme-chat")),
        ("gen_ai.usage.input_tokens", i(50)),
        ("gen_ai.usage.cache_read_input_tokens", i(4_000)),
        ("gen_ai.usage.cache_creation_input_tokens", i(200)),
        ("gen_ai.usage.output_tokens", i(10)),
    ]);
    assert_usd(
        m.cost_usd,
        (50.0 * 2.0 + 4_000.0 * 0.5 + 200.0 * 2.5 + 10.0 * 8.0) / 1e6,
    );
}

#[test]
fn tiered_price_applies_to_the_whole_request_above_the_threshold() {
    let call = |input: i64| {
        sem([
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.request.model", s("acme-long")),
            ("gen_ai.usage.input_tokens", i(input)),
            ("gen_ai.usage.cache_read.input_tokens", i(100_000)),
            ("gen_ai.usage.output_tokens", i(1_000)),
        ])
    };
    // At the threshold: base prices. 100,000 uncached x $1 + 100,000 read x $0.25 + 1,000 x $4.
    assert_usd(
        call(200_000).cost_usd,
        (100_000.0 * 1.0 + 100_000.0 * 0.25 + 1_000.0 * 4.0) / 1e6,
    );
    // One token above: input and output at the tier for every token; the tier has no cache
    // price of its own, so reads keep the base $0.25.
    assert_usd(
        call(200_001).cost_usd,
        (100_001.0 * 2.0 + 100_000.0 * 0.25 + 1_000.0 * 6.0) / 1e6,
    );
}

#[test]
fn unknown_model_is_unpriced_never_zero() {
    let m = sem(chat_call("no-such-model"));
    assert_eq!(m.cost_usd, None);
    assert_eq!(m.cost_source, None);
    assert!(m.unpriced);
    // A model call with usage but no model at all is unpriced too.
    let m = sem([
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.usage.input_tokens", i(10)),
    ]);
    assert!(m.unpriced && m.cost_usd.is_none());
    // So is every call when there is no price table.
    let mut c = converter_with(SemconvConfig::default(), None);
    let (out, _) = convert(&mut c, Vec::new(), vec![span(chat_call("acme-chat"))]);
    let m = out[0].sem.as_deref().unwrap();
    assert!(m.unpriced && m.cost_usd.is_none());
}

#[test]
fn only_model_calls_are_priced_from_the_table() {
    // An agent span summing its children's tokens would double-count them if priced.
    let m = sem([
        ("gen_ai.operation.name", s("invoke_agent")),
        ("gen_ai.request.model", s("acme-chat")),
        ("gen_ai.usage.input_tokens", i(1_000)),
        ("gen_ai.usage.output_tokens", i(100)),
    ]);
    assert_eq!((m.kind, m.cost_usd, m.unpriced), (Kind::Agent, None, false));
    // Embedding calls are model calls.
    let m = sem([
        ("gen_ai.operation.name", s("embeddings")),
        ("gen_ai.request.model", s("acme-embed")),
        ("gen_ai.usage.input_tokens", i(5_000)),
    ]);
    assert_usd(m.cost_usd, 5_000.0 * 0.1 / 1e6);
}

#[test]
fn model_names_match_with_prefix_date_suffix_and_any_case() {
    for model in [
        "openai/acme-chat",
        "acme-chat-2025-06-01",
        "ACME-Chat",
        "openai/acme-chat-20250601",
    ] {
        let m = sem(chat_call(model));
        assert_usd(m.cost_usd, ACME_CHAT_1000_100);
        assert!(!m.unpriced, "{model}");
    }
}

#[test]
fn the_snapshot_is_priced_else_the_requested_name() {
    // Both known: what answered is what was billed.
    let mut attrs = chat_call("acme-chat");
    attrs.push(("gen_ai.response.model", s("acme-chat-pro")));
    assert_usd(sem(attrs).cost_usd, (1_000.0 * 10.0 + 100.0 * 30.0) / 1e6);
    // A snapshot the table does not know: the requested name prices the call.
    let mut attrs = chat_call("acme-chat");
    attrs.push(("gen_ai.response.model", s("acme-chat-internal-build-7")));
    let m = sem(attrs);
    assert_usd(m.cost_usd, ACME_CHAT_1000_100);
    assert!(!m.unpriced);
}

#[test]
fn bundled_table_prices_openai_and_anthropic_calls() {
    let mut c = converter_with(SemconvConfig::default(), Some(CostTable::bundled()));
    let spans = vec![
        // prices.json "gpt-4o-2024-08-06": input 2.5e-06, cache_read 1.25e-06, output 1e-05.
        with_ids(
            span([
                ("gen_ai.operation.name", s("chat")),
                ("gen_ai.provider.name", s("openai")),
                ("gen_ai.request.model", s("gpt-4o")),
                ("gen_ai.response.model", s("gpt-4o-2024-08-06")),
                ("gen_ai.usage.input_tokens", i(1_000)),
                ("gen_ai.usage.cache_read.input_tokens", i(400)),
                ("gen_ai.usage.output_tokens", i(200)),
            ]),
            2,
            None,
        ),
        // prices.json "claude-sonnet-4-5-20250929": input 3e-06, cache_read 3e-07,
        // cache_write 3.75e-06, output 1.5e-05. Raw Anthropic counts.
        with_ids(
            span([
                ("gen_ai.operation.name", s("chat")),
                ("gen_ai.system", s("anthropic")),
                ("gen_ai.request.model", s("claude-sonnet-4-5-20250929")),
                ("gen_ai.usage.input_tokens", i(100)),
                ("gen_ai.usage.cache_read_input_tokens", i(2_000)),
                ("gen_ai.usage.cache_creation_input_tokens", i(500)),
                ("gen_ai.usage.output_tokens", i(300)),
            ]),
            3,
            None,
        ),
        // No "gpt-4o-mini-2099-12-31" in prices.json: falls back to "gpt-4o-mini",
        // input 1.5e-07, output 6e-07.
        with_ids(
            span([
                ("openinference.span.kind", s("LLM")),
                ("llm.provider", s("openai")),
                ("llm.model_name", s("openai/gpt-4o-mini-2099-12-31")),
                ("llm.token_count.prompt", i(1_000)),
                ("llm.token_count.completion", i(100)),
            ]),
            4,
            None,
        ),
        with_ids(span(chat_call("surely-not-a-real-model-xyz")), 5, None),
    ];
    let (out, _) = convert(&mut c, Vec::new(), spans);
    let sems: Vec<&Semantics> = out.iter().map(|r| r.sem.as_deref().unwrap()).collect();
    assert_usd(
        sems[0].cost_usd,
        (600.0 * 2.5 + 400.0 * 1.25 + 200.0 * 10.0) / 1e6,
    );
    assert_eq!(sems[1].usage.unwrap().input, 2_600);
    assert_usd(
        sems[1].cost_usd,
        (100.0 * 3.0 + 2_000.0 * 0.3 + 500.0 * 3.75 + 300.0 * 15.0) / 1e6,
    );
    assert_usd(sems[2].cost_usd, (1_000.0 * 0.15 + 100.0 * 0.6) / 1e6);
    assert!(sems[3].unpriced && sems[3].cost_usd.is_none());
}

// ---------------------------------------------------------------------------------------------
// Time to first token
// ---------------------------------------------------------------------------------------------

fn ttft_of(sp: Span) -> Option<u64> {
    one(sp).sem.and_then(|m| m.ttft_nanos)
}

fn llm_span(extra: impl IntoIterator<Item = (&'static str, V)>) -> Span {
    let mut attrs = vec![("gen_ai.request.model", s("acme-chat"))];
    attrs.extend(extra);
    span(attrs)
}

#[test]
fn ttft_from_attributes_in_their_units() {
    assert_eq!(
        ttft_of(llm_span([("gen_ai.response.time_to_first_chunk", f(0.35))])),
        Some(350 * MS)
    );
    assert_eq!(
        ttft_of(llm_span([("gen_ai.server.time_to_first_token", s("0.5"))])),
        Some(500 * MS)
    );
    assert_eq!(
        ttft_of(llm_span([(
            "langfuse.observation.completion_start_time",
            s("2026-11-27T07:17:49.25Z")
        )])),
        Some(250 * MS)
    );
    assert_eq!(
        ttft_of(llm_span([("ai.response.msToFirstChunk", i(420))])),
        Some(420 * MS)
    );
}

#[test]
fn ttft_attributes_follow_semconv_order() {
    let all = [
        ("ai.response.msToFirstChunk", f(400.0)),
        (
            "langfuse.observation.completion_start_time",
            s("2026-11-27T07:17:49.3Z"),
        ),
        ("gen_ai.server.time_to_first_token", f(0.2)),
        ("gen_ai.response.time_to_first_chunk", f(0.1)),
    ];
    let want = [400 * MS, 300 * MS, 200 * MS, 100 * MS];
    for n in 1..=all.len() {
        assert_eq!(
            ttft_of(llm_span(all[..n].iter().cloned())),
            Some(want[n - 1]),
            "{}",
            all[n - 1].0
        );
    }
    // A useless value yields to the next source rather than hiding it.
    assert_eq!(
        ttft_of(llm_span([
            ("gen_ai.response.time_to_first_chunk", f(-1.0)),
            ("gen_ai.server.time_to_first_token", f(0.2)),
        ])),
        Some(200 * MS)
    );
    assert_eq!(
        ttft_of(llm_span([
            // Before the span started: not a first token of this span.
            (
                "langfuse.observation.completion_start_time",
                s("2026-11-27T07:17:48Z")
            ),
            ("ai.response.msToFirstChunk", i(420)),
        ])),
        Some(420 * MS)
    );
}

#[test]
fn ttft_from_first_token_events() {
    let mut sp = llm_span([]);
    sp.events = vec![event("First Token Stream Event", START + 300 * MS, [])];
    assert_eq!(ttft_of(sp), Some(300 * MS));
    // OpenLLMetry: one event per chunk; the earliest counts, whatever the order.
    let mut sp = llm_span([]);
    sp.events = vec![
        event("gen_ai.content.completion.chunk", START + 260 * MS, []),
        event("gen_ai.content.completion.chunk", START + 180 * MS, []),
        event("gen_ai.content.completion.chunk", START + 900 * MS, []),
        event("unrelated", START + 5 * MS, []),
    ];
    assert_eq!(ttft_of(sp), Some(180 * MS));
    // An attribute wins over events.
    let mut sp = llm_span([("gen_ai.response.time_to_first_chunk", f(0.05))]);
    sp.events = vec![event("First Token Stream Event", START + 300 * MS, [])];
    assert_eq!(ttft_of(sp), Some(50 * MS));
    // No source: no TTFT.
    assert_eq!(ttft_of(llm_span([])), None);
}

#[test]
fn output_tokens_per_second_after_the_first_token() {
    let m = sem_of(llm_span([
        ("gen_ai.usage.input_tokens", i(10)),
        ("gen_ai.usage.output_tokens", i(150)),
        ("gen_ai.response.time_to_first_chunk", f(0.5)),
    ]));
    // 150 tokens over the 1.5 s between the first token and the end.
    let rate = m.output_tokens_per_sec(END - START).unwrap();
    assert!((rate - 100.0).abs() < 1e-9, "{rate}");
    // Without TTFT, over the whole 2 s.
    let m = sem_of(llm_span([("gen_ai.usage.output_tokens", i(150))]));
    let rate = m.output_tokens_per_sec(END - START).unwrap();
    assert!((rate - 75.0).abs() < 1e-9, "{rate}");
    // No output, or no time after the first token: no rate.
    assert_eq!(
        sem_of(llm_span([("gen_ai.usage.input_tokens", i(3))])).output_tokens_per_sec(1),
        None
    );
    let m = sem_of(llm_span([
        ("gen_ai.usage.output_tokens", i(5)),
        ("gen_ai.response.time_to_first_chunk", f(3.0)),
    ]));
    assert_eq!(m.output_tokens_per_sec(END - START), None);
}

// ---------------------------------------------------------------------------------------------
// Session, user, agent, tool, streaming
// ---------------------------------------------------------------------------------------------

#[test]
fn session_user_agent_tool_precedence() {
    let m = sem([
        ("langfuse.session.id", s("s3")),
        ("session.id", s("s2")),
        ("gen_ai.conversation.id", s("s1")),
        ("langfuse.user.id", s("u2")),
        ("user.id", s("u1")),
        ("agent.name", s("a2")),
        ("gen_ai.agent.name", s("a1")),
        ("tool_call.function.name", s("t3")),
        ("tool.name", s("t2")),
        ("gen_ai.tool.name", s("t1")),
    ]);
    // A session outlives a per-run conversation id (Pydantic AI mints one per agent run).
    assert_eq!(m.session.as_deref(), Some("s2"));
    assert_eq!(m.user.as_deref(), Some("u1"));
    assert_eq!(m.agent.as_deref(), Some("a1"));
    assert_eq!(m.tool.as_deref(), Some("t1"));
    let m = sem([
        ("langfuse.session.id", s("s3")),
        ("session.id", s("s2")),
        ("langfuse.user.id", s("u2")),
        ("agent.name", s("a2")),
        ("tool_call.function.name", s("t3")),
        ("tool.name", s("t2")),
    ]);
    assert_eq!(
        (
            m.session.as_deref(),
            m.user.as_deref(),
            m.agent.as_deref(),
            m.tool.as_deref()
        ),
        (Some("s2"), Some("u2"), Some("a2"), Some("t2"))
    );
    let m = sem([
        ("langfuse.session.id", s("s3")),
        ("tool_call.function.name", s("t3")),
    ]);
    assert_eq!(
        (m.session.as_deref(), m.tool.as_deref()),
        (Some("s3"), Some("t3"))
    );
    // A user alone is worth keeping.
    assert_eq!(sem([("user.id", s("u9"))]).user.as_deref(), Some("u9"));
}

#[test]
fn streaming_flags() {
    assert_eq!(sem([("gen_ai.request.stream", b(true))]).streaming, Some(true));
    assert_eq!(sem([("gen_ai.is_streaming", s("false"))]).streaming, Some(false));
    assert_eq!(
        sem([("llm.invocation_parameters", s(r#"{"stream": true}"#))]).streaming,
        Some(true)
    );
    assert_eq!(
        sem([(
            "gen_ai.request.parameters",
            s(r#"{"model": "m", "stream": false}"#)
        )])
        .streaming,
        Some(false)
    );
    // The flag beats the JSON; the first flag beats the second.
    assert_eq!(
        sem([
            ("llm.invocation_parameters", s(r#"{"stream": true}"#)),
            ("gen_ai.request.stream", b(false)),
        ])
        .streaming,
        Some(false)
    );
    assert_eq!(
        sem([
            ("gen_ai.is_streaming", b(false)),
            ("gen_ai.request.stream", b(true))
        ])
        .streaming,
        Some(true)
    );
    assert_eq!(sem([("gen_ai.request.model", s("m"))]).streaming, None);
}

// ---------------------------------------------------------------------------------------------
// Cohorts: route, tenant, prompt version
// ---------------------------------------------------------------------------------------------

#[test]
fn route_precedence() {
    let keys = ["app.route", "route", "http.route", "gen_ai.agent.name"];
    for first in 0..keys.len() {
        let attrs: Vec<(&'static str, V)> = (first..keys.len())
            .rev()
            .map(|k| (keys[k], s(["/a", "/b", "/c", "agent-d"][k])))
            .collect();
        assert_eq!(
            sem(attrs).route.as_deref(),
            Some(["/a", "/b", "/c", "agent-d"][first]),
            "{}",
            keys[first]
        );
    }
}

#[test]
fn tenant_and_prompt_version_keys() {
    let m = sem([
        ("tenant", s("t2")),
        ("tenant.id", s("t1")),
        ("prompt.version", i(7)),
    ]);
    assert_eq!(m.tenant.as_deref(), Some("t1"));
    // Langfuse sends prompt versions as ints.
    assert_eq!(m.prompt_version.as_deref(), Some("7"));
    let m = sem([
        ("gen_ai.prompt.version", s("v3")),
        ("langfuse.prompt.version", s("v9")),
    ]);
    assert_eq!(m.prompt_version.as_deref(), Some("v3"));
    // A prompt version alone is worth keeping.
    assert_eq!(
        sem([("llm.prompt_template.version", s("v1"))])
            .prompt_version
            .as_deref(),
        Some("v1")
    );
}

#[test]
fn cohorts_inside_metadata_json_and_association_properties() {
    let m = sem([(
        "metadata",
        s(r#"{"tenant_id": "acme", "prompt_version": 7, "route": "/chat", "other": {"x": 1}}"#),
    )]);
    assert_eq!(m.tenant.as_deref(), Some("acme"));
    assert_eq!(m.prompt_version.as_deref(), Some("7"));
    assert_eq!(m.route.as_deref(), Some("/chat"));
    let m = sem([
        ("traceloop.association.properties.tenant", s("globex")),
        ("traceloop.association.properties.app.route", s("/search")),
    ]);
    assert_eq!(
        (m.tenant.as_deref(), m.route.as_deref()),
        (Some("globex"), Some("/search"))
    );
}

#[test]
fn cohort_sources_in_order_span_keys_then_properties_then_metadata_then_resource() {
    // The span's own key wins over a better-ranked key from a weaker source.
    let m = sem([
        ("http.route", s("/span")),
        ("traceloop.association.properties.app.route", s("/property")),
        (
            "metadata",
            s(r#"{"app.route": "/metadata", "tenant.id": "meta-tenant"}"#),
        ),
    ]);
    assert_eq!(m.route.as_deref(), Some("/span"));
    assert_eq!(m.tenant.as_deref(), Some("meta-tenant"));
    let m = sem([
        ("traceloop.association.properties.route", s("/property")),
        ("metadata", s(r#"{"app.route": "/metadata"}"#)),
    ]);
    assert_eq!(m.route.as_deref(), Some("/property"));
    // The resource comes last.
    let resource = kvs([("app.route", s("/resource")), ("tenant.id", s("res-tenant"))]);
    let (out, _) = convert(
        &mut converter(),
        resource,
        vec![span([
            ("http.route", s("/span")),
            ("gen_ai.request.model", s("m")),
        ])],
    );
    let m = out[0].sem.as_deref().unwrap();
    assert_eq!(m.route.as_deref(), Some("/span"));
    assert_eq!(m.tenant.as_deref(), Some("res-tenant"));
}

#[test]
fn resource_cohorts_apply_to_every_span() {
    let resource = kvs([("tenant.id", s("acme")), ("service.name", s("svc"))]);
    let (out, _) = convert(
        &mut converter(),
        resource,
        vec![
            with_ids(span([]), 2, None),
            with_ids(span([("gen_ai.request.model", s("m"))]), 3, Some(2)),
        ],
    );
    for r in &out {
        assert_eq!(r.sem.as_deref().and_then(|m| m.tenant.as_deref()), Some("acme"));
    }
}

#[test]
fn custom_cohort_keys() {
    let config = SemconvConfig {
        cohorts: CohortKeys {
            route: vec!["x.endpoint".into()],
            tenant: vec!["customer".into(), "org".into()],
            prompt_version: vec!["tmpl.rev".into()],
        },
        ..SemconvConfig::default()
    };
    let mut c = converter_with(config, Some(test_table()));
    let (out, _) = convert(
        &mut c,
        Vec::new(),
        vec![span([
            ("x.endpoint", s("/v2/answer")),
            ("app.route", s("/not-configured")),
            ("org", s("org-2")),
            ("customer", s("cust-1")),
            ("metadata", s(r#"{"tmpl.rev": "r5"}"#)),
        ])],
    );
    let m = out[0].sem.as_deref().unwrap();
    assert_eq!(m.route.as_deref(), Some("/v2/answer"));
    assert_eq!(m.tenant.as_deref(), Some("cust-1"));
    assert_eq!(m.prompt_version.as_deref(), Some("r5"));
    // gen_ai.agent.name is no longer a route, but still the agent.
    let (out, _) = convert(
        &mut c,
        Vec::new(),
        vec![span([("gen_ai.agent.name", s("planner"))])],
    );
    let m = out[0].sem.as_deref().unwrap();
    assert_eq!((m.route.as_deref(), m.agent.as_deref()), (None, Some("planner")));
}

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

fn verdicts_of(c: &mut Converter, spans: Vec<Span>) -> Vec<Verdict> {
    convert(c, Vec::new(), spans).1
}

fn eval_event(at: u64, attrs: impl IntoIterator<Item = (&'static str, V)>) -> Event {
    event("gen_ai.evaluation.result", at, attrs)
}

#[test]
fn otel_evaluation_events_target_their_span() {
    let mut sp = with_ids(llm_span([]), 5, Some(1));
    sp.events = vec![
        eval_event(
            START + 3_000 * MS,
            [
                ("gen_ai.evaluation.name", s("Relevance")),
                ("gen_ai.evaluation.score.value", f(0.82)),
                ("gen_ai.evaluation.score.label", s("relevant")),
                ("gen_ai.evaluation.explanation", s("on topic")),
                ("gen_ai.response.id", s("chatcmpl-1")),
                // Whatever else the event says, it is about the span it is on.
                ("gen_ai.evaluation.target_span_id", s("0909090909090909")),
            ],
        ),
        eval_event(
            START + 3_100 * MS,
            [
                ("gen_ai.evaluation.name", s("Toxicity")),
                ("gen_ai.evaluation.score.value", i(0)),
            ],
        ),
        // No name: not a verdict. Name without score or label: not a verdict either.
        eval_event(START, [("gen_ai.evaluation.score.value", f(1.0))]),
        eval_event(START, [("gen_ai.evaluation.name", s("Empty"))]),
    ];
    let v = verdicts_of(&mut converter(), vec![sp]);
    assert_eq!(v.len(), 2, "{v:#?}");
    assert_eq!(v[0].trace_id, Some(TraceId(TRACE)));
    assert_eq!(v[0].target, Some(sid(5)));
    assert_eq!(v[0].name.as_ref(), "Relevance");
    assert_eq!(v[0].score, Some(0.82));
    assert_eq!(v[0].label.as_deref(), Some("relevant"));
    assert_eq!(v[0].explanation.as_deref(), Some("on topic"));
    assert_eq!(v[0].response_id.as_deref(), Some("chatcmpl-1"));
    assert_eq!(v[0].passed, Some(true));
    assert_eq!(v[0].source, VerdictSource::SpanEvent);
    assert_eq!(v[0].time_unix_nano, START + 3_000 * MS);
    // Int score 0, no label, default threshold 0.5: failed.
    assert_eq!(
        (v[1].score, v[1].passed, v[1].target),
        (Some(0.0), Some(false), Some(sid(5)))
    );
}

#[test]
fn openinference_annotations_on_a_normal_span() {
    let sp = with_ids(
        llm_span([
            ("annotations.0.annotation.name", s("Hallucination")),
            ("annotations.0.annotation.label", s("factual")),
            ("annotations.0.annotation.score", f(0.0)),
            ("annotations.0.annotation.annotator_kind", s("LLM")),
            ("evaluations.1.evaluation.name", s("QA Correctness")),
            ("evaluations.1.evaluation.score", s("0.25")),
            ("evaluations.1.evaluation.explanation", s("misses the date")),
        ]),
        5,
        Some(1),
    );
    let v = verdicts_of(&mut converter(), vec![sp]);
    assert_eq!(v.len(), 2, "{v:#?}");
    for x in &v {
        assert_eq!(
            (x.target, x.source, x.time_unix_nano),
            (Some(sid(5)), VerdictSource::Annotation, END)
        );
    }
    let h = v.iter().find(|x| &*x.name == "Hallucination").unwrap();
    // The label decides, though a score of 0 would fail the default threshold.
    assert_eq!((h.score, h.passed), (Some(0.0), Some(true)));
    let q = v.iter().find(|x| &*x.name == "QA Correctness").unwrap();
    assert_eq!((q.score, q.passed), (Some(0.25), Some(false)));
    assert_eq!(q.explanation.as_deref(), Some("misses the date"));
}

fn evaluator_annotation_span(id: u8, parent: Option<u8>) -> Span {
    with_ids(
        span([
            ("openinference.span.kind", s("EVALUATOR")),
            ("annotations.0.annotation.name", s("Groundedness")),
            ("annotations.0.annotation.score", f(0.9)),
        ]),
        id,
        parent,
    )
}

#[test]
fn evaluator_span_with_one_link_targets_the_linked_span() {
    let mut ev = evaluator_annotation_span(9, Some(3));
    ev.links = vec![link(TRACE, 5)];
    let v = verdicts_of(&mut converter(), vec![ev]);
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].trace_id, v[0].target), (Some(TraceId(TRACE)), Some(sid(5))));
    assert_eq!((v[0].score, v[0].passed), (Some(0.9), Some(true)));
    // Two links name no single target: the parent is the target.
    let mut ev = evaluator_annotation_span(9, Some(3));
    ev.links = vec![link(TRACE, 5), link(TRACE, 6)];
    let v = verdicts_of(&mut converter(), vec![ev]);
    assert_eq!(v[0].target, Some(sid(3)));
}

#[test]
fn post_hoc_evaluator_in_its_own_trace_files_the_verdict_under_the_linked_trace() {
    let mut ev = evaluator_annotation_span(9, None);
    ev.trace_id = OTHER_TRACE.to_vec();
    ev.links = vec![link(TRACE, 5)];
    let v = verdicts_of(&mut converter(), vec![ev]);
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].trace_id, v[0].target), (Some(TraceId(TRACE)), Some(sid(5))));
}

fn futureagi_eval_span(target: Option<&str>) -> Span {
    let mut attrs = vec![
        ("gen_ai.span.kind", s("EVALUATOR")),
        ("gen_ai.evaluation.name", s("groundedness")),
        ("gen_ai.evaluation.score.value", f(0.4)),
        ("gen_ai.evaluation.explanation", s("two claims unsupported")),
    ];
    if let Some(t) = target {
        attrs.push(("gen_ai.evaluation.target_span_id", s(t)));
    }
    named(with_ids(span(attrs), 9, Some(5)), "eval.groundedness")
}

#[test]
fn futureagi_eval_child_span_with_and_without_target_id() {
    let v = verdicts_of(
        &mut converter(),
        vec![futureagi_eval_span(Some("0707070707070707"))],
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].target, Some(sid(7)));
    assert_eq!(v[0].name.as_ref(), "groundedness");
    assert_eq!((v[0].score, v[0].passed), (Some(0.4), Some(false)));
    assert_eq!(v[0].explanation.as_deref(), Some("two claims unsupported"));
    assert_eq!(v[0].source, VerdictSource::EvaluatorSpan);
    assert_eq!(v[0].time_unix_nano, END);
    // Without a target id: the parent.
    let v = verdicts_of(&mut converter(), vec![futureagi_eval_span(None)]);
    assert_eq!(v[0].target, Some(sid(5)));
    // An unparseable target id falls back to the parent too.
    let v = verdicts_of(&mut converter(), vec![futureagi_eval_span(Some("not-a-span-id"))]);
    assert_eq!(v[0].target, Some(sid(5)));
    // The eval span itself is an evaluator span.
    assert_eq!(sem_of(futureagi_eval_span(None)).kind, Kind::Evaluator);
}

#[test]
fn evaluator_target_order_link_then_target_id_then_parent() {
    let mut ev = futureagi_eval_span(Some("0707070707070707"));
    ev.links = vec![link(TRACE, 6)];
    let v = verdicts_of(&mut converter(), vec![ev]);
    assert_eq!(v[0].target, Some(sid(6)));
}

#[test]
fn evaluation_attributes_on_a_non_evaluator_span_are_no_verdict() {
    let sp = llm_span([
        ("gen_ai.evaluation.name", s("groundedness")),
        ("gen_ai.evaluation.score.value", f(0.4)),
    ]);
    assert!(verdicts_of(&mut converter(), vec![sp]).is_empty());
}

#[test]
fn legacy_eval_keys_on_the_evaluated_span() {
    let sp = with_ids(
        llm_span([
            ("eval.groundedness", f(0.8)),
            ("eval.groundedness.reason", s("all claims supported")),
            ("eval.groundedness.latency_ms", i(120)),
            ("eval.toxicity", s("Failed")),
            ("eval.is_json", b(true)),
        ]),
        5,
        None,
    );
    let mut v = verdicts_of(&mut converter(), vec![sp]);
    v.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = v.iter().map(|x| &*x.name).collect();
    assert_eq!(names, ["groundedness", "is_json", "toxicity"]);
    assert!(
        v.iter()
            .all(|x| x.target == Some(sid(5)) && x.source == VerdictSource::LegacyEval)
    );
    assert_eq!((v[0].score, v[0].passed), (Some(0.8), Some(true)));
    assert_eq!(v[0].explanation.as_deref(), Some("all claims supported"));
    assert_eq!((v[1].score, v[1].passed), (Some(1.0), Some(true)));
    assert_eq!((v[2].score, v[2].passed), (Some(0.0), Some(false)));
    assert_eq!(v[2].label.as_deref(), Some("Failed"));
}

#[test]
fn bool_and_pass_fail_scores() {
    let eval = |id: u8, score: V| {
        with_ids(
            span([
                ("gen_ai.span.kind", s("EVALUATOR")),
                ("gen_ai.evaluation.name", s("is_polite")),
                ("gen_ai.evaluation.score.value", score),
            ]),
            id,
            Some(5),
        )
    };
    let v = verdicts_of(
        &mut converter(),
        vec![
            eval(6, b(true)),
            eval(7, b(false)),
            eval(8, s("pass")),
            eval(9, s("FAIL")),
        ],
    );
    let got: Vec<(Option<f64>, Option<bool>)> = v.iter().map(|x| (x.score, x.passed)).collect();
    assert_eq!(
        got,
        [
            (Some(1.0), Some(true)),
            (Some(0.0), Some(false)),
            (Some(1.0), Some(true)),
            (Some(0.0), Some(false))
        ]
    );
}

#[test]
fn pass_fail_from_label_else_per_evaluator_threshold() {
    let mut config = SemconvConfig::default();
    config.evaluators.by_name.insert(
        "hallucinationscore".into(),
        EvaluatorRule {
            threshold: 0.2,
            higher_is_better: false,
        },
    );
    let mut c = converter_with(config, Some(test_table()));
    let mut sp = with_ids(llm_span([]), 5, None);
    let ev = |name: &str, score: f64, label: Option<&str>| {
        let mut attrs = vec![
            ("gen_ai.evaluation.name", s(name)),
            ("gen_ai.evaluation.score.value", f(score)),
        ];
        if let Some(l) = label {
            attrs.push(("gen_ai.evaluation.score.label", s(l)));
        }
        eval_event(START, attrs)
    };
    sp.events = vec![
        ev("HallucinationScore", 0.1, None), // lower is better, 0.1 <= 0.2: pass
        ev("HallucinationScore", 0.3, None), // 0.3 > 0.2: fail
        ev("HallucinationScore", 0.1, Some("hallucinated")), // the label decides: fail
        ev("Groundedness", 0.3, None),       // default rule, higher is better: fail
        ev("Groundedness", 0.3, Some("medium")), // a label that says nothing: the score decides
        ev("Groundedness", 0.3, Some("pass")), // the label decides: pass
    ];
    let got: Vec<Option<bool>> = verdicts_of(&mut c, vec![sp]).iter().map(|v| v.passed).collect();
    assert_eq!(
        got,
        [
            Some(true),
            Some(false),
            Some(false),
            Some(false),
            Some(false),
            Some(true)
        ]
    );
}

fn log_request(logs: Vec<OtlpLog>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: logs,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn eval_log(event_name: &str, extra: Vec<KeyValue>) -> OtlpLog {
    let mut attributes = kvs([
        ("gen_ai.evaluation.name", s("Relevance")),
        ("gen_ai.evaluation.score.value", f(0.3)),
        ("gen_ai.evaluation.score.label", s("irrelevant")),
    ]);
    attributes.extend(extra);
    OtlpLog {
        time_unix_nano: START + 5_000 * MS,
        trace_id: TRACE.to_vec(),
        span_id: vec![5; 8],
        event_name: event_name.into(),
        attributes,
        ..Default::default()
    }
}

fn convert_logs(logs: Vec<OtlpLog>) -> (Vec<LogRecord>, Vec<Verdict>) {
    let (mut out, mut verdicts) = (Vec::new(), Vec::new());
    converter().convert_logs(log_request(logs), &mut out, &mut verdicts);
    (out, verdicts)
}

#[test]
fn log_record_verdicts_by_event_name_field_or_attribute() {
    let mut old_sdk = eval_log("", vec![kv("event.name", s("gen_ai.evaluation.result"))]);
    old_sdk.span_id = vec![6; 8];
    old_sdk.time_unix_nano = 0;
    old_sdk.observed_time_unix_nano = START + 7_000 * MS;
    let mut no_trace = eval_log("gen_ai.evaluation.result", Vec::new());
    no_trace.trace_id = Vec::new();
    let (logs, v) = convert_logs(vec![
        eval_log("gen_ai.evaluation.result", Vec::new()),
        old_sdk,
        eval_log("app.log", Vec::new()),
        no_trace,
    ]);
    assert_eq!(logs.len(), 4, "every log is kept as a log");
    assert_eq!(v.len(), 2, "{v:#?}");
    assert_eq!((v[0].trace_id, v[0].target), (Some(TraceId(TRACE)), Some(sid(5))));
    assert_eq!(v[0].source, VerdictSource::LogRecord);
    assert_eq!(v[0].time_unix_nano, START + 5_000 * MS);
    assert_eq!((v[0].score, v[0].passed), (Some(0.3), Some(false)));
    assert_eq!(v[1].target, Some(sid(6)));
    assert_eq!(v[1].time_unix_nano, START + 7_000 * MS);
}

#[test]
fn log_record_verdict_without_span_id_uses_the_target_attribute_or_body() {
    let mut log = eval_log(
        "gen_ai.evaluation.result",
        vec![kv("gen_ai.evaluation.target_span_id", s("0808080808080808"))],
    );
    log.span_id = Vec::new();
    // Some SDKs put the event's attributes in the body.
    let body_log = OtlpLog {
        time_unix_nano: START,
        trace_id: TRACE.to_vec(),
        span_id: vec![4; 8],
        event_name: "gen_ai.evaluation.result".into(),
        body: Some(AnyValue {
            value: Some(V::KvlistValue(KeyValueList {
                values: kvs([
                    ("gen_ai.evaluation.name", s("Coherence")),
                    ("gen_ai.evaluation.score.value", f(0.9)),
                ]),
            })),
        }),
        ..Default::default()
    };
    let (_, v) = convert_logs(vec![log, body_log]);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].target, Some(sid(8)));
    assert_eq!(
        (v[1].name.as_ref(), v[1].target, v[1].passed),
        ("Coherence", Some(sid(4)), Some(true))
    );
}

// ---------------------------------------------------------------------------------------------
// Odd values never panic, and are read as well as they can be
// ---------------------------------------------------------------------------------------------

#[test]
fn unusable_values_yield_to_the_next_key_of_the_row() {
    // Empty strings, arrays, NaN, negative and boolean counts say nothing.
    let m = sem([
        ("gen_ai.request.model", s("   ")),
        ("llm.request.model_name", s("acme-chat")),
        ("gen_ai.provider.name", arr(vec![s("openai")])),
        ("gen_ai.system", s("openai")),
        ("gen_ai.usage.input_tokens", f(f64::NAN)),
        ("gen_ai.usage.prompt_tokens", i(-5)),
        ("llm.token_count.prompt", i(40)),
        ("gen_ai.usage.output_tokens", b(true)),
        ("gen_ai.usage.completion_tokens", f(f64::INFINITY)),
        ("llm.usage.completion_tokens", s("10")),
        ("gen_ai.conversation.id", s("")),
        ("session.id", s("sess-1")),
    ]);
    assert_eq!(m.request_model.as_deref(), Some("acme-chat"));
    assert_eq!(m.provider.as_deref(), Some("openai"));
    assert_eq!(m.usage, Some(tokens(40, 10, 50)));
    assert_eq!(m.session.as_deref(), Some("sess-1"));
    assert_usd(m.cost_usd, (40.0 * 2.0 + 10.0 * 8.0) / 1e6);
}

#[test]
fn unusable_values_alone_mean_nothing() {
    let m = sem_opt([
        ("gen_ai.usage.input_tokens", i(-1)),
        ("gen_ai.usage.output_tokens", f(f64::NEG_INFINITY)),
        ("gen_ai.request.model", s("")),
        ("gen_ai.provider.name", arr(vec![])),
        ("session.id", arr(vec![s("a"), s("b")])),
        ("llm.cost.total", f(f64::NAN)),
        ("gen_ai.response.time_to_first_chunk", f(f64::INFINITY)),
    ]);
    assert_eq!(m, None);
}

/// The span's semantics and how many of its values were implausible.
fn sem_counting(attrs: impl IntoIterator<Item = (&'static str, V)>) -> (Option<Semantics>, u64) {
    let mut c = converter();
    let (mut out, _) = convert(&mut c, Vec::new(), vec![span(attrs)]);
    (out.remove(0).sem.map(|b| *b), c.stats().implausible_values)
}

#[test]
fn implausible_counts_are_ignored_and_counted() {
    let (m, n) = sem_counting([
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.request.model", s("acme-chat")),
        ("gen_ai.usage.input_tokens", i(i64::MAX)),
        ("gen_ai.usage.cache_read.input_tokens", i(i64::MAX)),
        ("gen_ai.usage.cache_creation.input_tokens", i(-5)),
        ("gen_ai.usage.output_tokens", f(1e300)),
        ("gen_ai.usage.reasoning.output_tokens", s("1e30")),
        ("gen_ai.response.time_to_first_chunk", f(1e300)),
    ]);
    let m = m.unwrap();
    // Nothing left to count or price: no usage rather than saturated totals.
    assert_eq!((m.usage, m.cost_usd), (None, None));
    assert_eq!(n, 5);
    // 1e300 s is no TTFT anyone measured.
    assert_eq!(m.ttft_nanos, None);
    // A plausible count beside implausible ones is kept.
    let (m, n) = sem_counting([
        ("gen_ai.request.model", s("acme-chat")),
        ("gen_ai.usage.input_tokens", i(1_000_000_001)),
        ("gen_ai.usage.output_tokens", i(1_000_000_000)),
    ]);
    assert_eq!(
        m.unwrap().usage.map(|u| (u.input, u.output)),
        Some((0, 1_000_000_000))
    );
    assert_eq!(n, 1);
}

#[test]
fn implausible_costs_are_ignored_and_counted() {
    for (bad, counted) in [
        (f(1e308), 1),
        (f(1e6 + 1.0), 1),
        (f(-0.01), 1),
        (f(f64::INFINITY), 1),
        (f(f64::NAN), 1),
        (i(-1), 1),
        (s("n/a"), 0),
    ] {
        let mut attrs = chat_call("acme-chat");
        attrs.push(("gen_ai.usage.cost", bad.clone()));
        let (m, n) = sem_counting(attrs);
        let m = m.unwrap();
        // Priced from the table instead, as if no cost had been sent.
        assert_eq!(m.cost_source, Some(CostSource::Table), "{bad:?}");
        assert_usd(m.cost_usd, ACME_CHAT_1000_100);
        assert_eq!(n, counted, "{bad:?}");
    }
    // A Langfuse cost whose parts sum to infinity.
    let (m, n) = sem_counting([(
        "langfuse.observation.cost_details",
        s(r#"{"input": 1e308, "output": 1e308}"#),
    )]);
    assert_eq!(m.and_then(|m| m.cost_usd), None);
    assert_eq!(n, 1);
    // The largest plausible cost is kept.
    let (m, n) = sem_counting([("gen_ai.usage.cost", f(1e6))]);
    assert_eq!(m.and_then(|m| m.cost_usd), Some(1e6));
    assert_eq!(n, 0);
}

#[test]
fn invalid_json_is_ignored() {
    let m = sem([
        ("gen_ai.request.model", s("acme-chat")),
        ("metadata", s("{\"tenant_id\": ")),
        (
            "llm.invocation_parameters",
            s("{'model': 'python-repr', 'stream': True}"),
        ),
        ("langfuse.observation.usage_details", s("[1, 2]")),
        ("langfuse.observation.cost_details", s("{}")),
    ]);
    assert_eq!(m.request_model.as_deref(), Some("acme-chat"));
    assert_eq!((m.tenant.as_deref(), m.streaming, m.usage), (None, None, None));
    assert_eq!(m.cost_usd, None);
}

#[test]
fn a_wrongly_typed_json_field_does_not_lose_the_others() {
    let m = sem([(
        "llm.invocation_parameters",
        s(r#"{"model": ["gpt-4o", "gpt-4o-mini"], "stream": true}"#),
    )]);
    assert_eq!((m.request_model.as_ref(), m.streaming), (None, Some(true)));
    let m = sem([(
        "gen_ai.request.parameters",
        s(r#"{"model": "gpt-4o", "stream": "yes please"}"#),
    )]);
    assert_eq!((m.request_model.as_deref(), m.streaming), (Some("gpt-4o"), None));
    // Negative or non-numeric Langfuse buckets are skipped, not read as 0.
    let u = usage_of([(
        "langfuse.observation.usage_details",
        s(r#"{"input": -3, "prompt_tokens": 12, "output": "7", "total": null}"#),
    )]);
    assert_eq!(u, tokens(12, 7, 19));
}

/// Every key llmwatch reads, with every kind of odd value: nothing panics.
#[test]
fn every_key_with_every_odd_value_never_panics() {
    let odd = || {
        vec![
            f(f64::NAN),
            f(f64::INFINITY),
            f(f64::NEG_INFINITY),
            f(-1.5),
            f(1e308),
            i(i64::MIN),
            i(i64::MAX),
            i(-1),
            s(""),
            s(" "),
            s("{"),
            s("{\"a\":"),
            s("[]"),
            s("null"),
            s("ñ\u{0}\u{10FFFF}"),
            s("9999-99-99T99:99:99Z"),
            s("2026-02-30T25:00:00+99:99"),
            s("0x"),
            s("ññññññññ"),
            s("2026-11-27T07:17:49+0ñ000"),
            s("2026-11-27T07:17:49.ñ"),
            s("{\"model\": 1e999, \"stream\": tru"),
            s(&format!("{{\"a\": {}", "[".repeat(10_000))),
            b(true),
            arr(vec![]),
            arr(vec![s("a"), i(1)]),
            V::BytesValue(vec![0xff; 3]),
            V::KvlistValue(KeyValueList {
                values: kvs([("k", f(f64::NAN))]),
            }),
        ]
    };
    let mut keys: Vec<&'static str> = SEMCONV_ROWS.iter().flat_map(|r| r.iter().copied()).collect();
    keys.extend([
        "app.route",
        "tenant.id",
        "prompt.version",
        "traceloop.association.properties.tenant",
        "annotations.0.annotation.name",
        "annotations.0.annotation.score",
        "annotations.99999999999.annotation.score",
        "evaluations.0.evaluation.label",
        "eval.",
        "eval..reason",
        "eval.x",
        "eval.x.reason",
        "gen_ai.tool.call.id",
        "enduser.id",
        "gen_ai.response.id",
    ]);
    let mut c = converter();
    for value in odd() {
        // All keys at once with the same odd value, on an evaluator span with events and links.
        let mut sp = with_ids(span(keys.iter().map(|k| (*k, value.clone()))), 5, Some(1));
        sp.events = vec![
            eval_event(0, keys.iter().map(|k| (*k, value.clone()))),
            event("First Token Stream Event", 0, []),
        ];
        sp.links = vec![link(OTHER_TRACE, 7)];
        sp.start_time_unix_nano = u64::MAX;
        sp.end_time_unix_nano = 0;
        let _ = convert(&mut c, kvs(keys.iter().map(|k| (*k, value.clone()))), vec![sp]);
        // And each key alone, so no other key can hide the value.
        for key in &keys {
            let _ = convert(&mut c, Vec::new(), vec![span([(*key, value.clone())])]);
        }
    }
    let mut logs = Vec::new();
    for value in odd() {
        logs.push(OtlpLog {
            trace_id: TRACE.to_vec(),
            event_name: "gen_ai.evaluation.result".into(),
            attributes: kvs([
                ("gen_ai.evaluation.name", value.clone()),
                ("gen_ai.evaluation.score.value", value.clone()),
                ("gen_ai.evaluation.target_span_id", value.clone()),
            ]),
            body: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        });
    }
    let _ = convert_logs(logs);
}

// ---------------------------------------------------------------------------------------------
// Six more libraries (docs/libraries.md)
// ---------------------------------------------------------------------------------------------

#[test]
fn vercel_provider_strings_name_the_provider() {
    use super::normalise::provider_name;
    assert_eq!(provider_name("openai.chat"), "openai");
    assert_eq!(provider_name("openai.embedding"), "openai");
    assert_eq!(provider_name("anthropic.messages"), "anthropic");
    assert_eq!(provider_name("OpenAI.Responses"), "openai");
    // Dotted provider names of the OTel registry keep their dots.
    assert_eq!(provider_name("az.ai.inference"), "az.ai.inference");
    assert_eq!(provider_name("aws.bedrock"), "aws.bedrock");
    assert_eq!(provider_name("gcp.vertex_ai"), "gcp.vertex_ai");
    let m = sem([
        ("ai.model.provider", s("openai.chat")),
        ("ai.model.id", s("gpt-4o")),
    ]);
    assert_eq!(m.provider.as_deref(), Some("openai"));
    let m = sem([("ls_provider", s("openai")), ("gen_ai.span.kind", s("LLM"))]);
    assert_eq!(m.provider.as_deref(), Some("openai"));
}

#[test]
fn vercel_legacy_operations_are_calls_chains_and_tools() {
    let kind = |op: &str| sem([("ai.operationId", s(op)), ("ai.model.id", s("gpt-4o-mini"))]).kind;
    assert_eq!(kind("ai.generateText.doGenerate"), Kind::Llm);
    assert_eq!(kind("ai.streamText.doStream"), Kind::Llm);
    assert_eq!(kind("ai.embed.doEmbed"), Kind::Embedding);
    assert_eq!(kind("ai.embedMany.doEmbed"), Kind::Embedding);
    assert_eq!(kind("ai.generateText"), Kind::Chain);
    assert_eq!(kind("ai.embedMany"), Kind::Chain);
    assert_eq!(kind("ai.toolCall"), Kind::Tool);
    let u = usage_of([
        ("ai.operationId", s("ai.embed.doEmbed")),
        ("ai.usage.tokens", i(20)),
    ]);
    assert_eq!((u.input, u.output), (20, 0));
    let u = usage_of([
        ("ai.usage.inputTokens", i(100)),
        ("ai.usage.outputTokens", i(10)),
        ("ai.usage.inputTokenDetails.cacheReadTokens", i(64)),
    ]);
    assert_eq!((u.input, u.cache_read, u.cache_known), (100, 64, true));
    let u = usage_of([
        ("ai.usage.promptTokens", i(100)),
        ("ai.usage.completionTokens", i(10)),
        ("ai.usage.cachedInputTokens", i(32)),
    ]);
    assert_eq!((u.input, u.output, u.cache_read), (100, 10, 32));
}

#[test]
fn cache_reads_are_unknown_unless_the_library_says() {
    let u = usage_of([
        ("gen_ai.usage.input_tokens", i(10)),
        ("gen_ai.usage.output_tokens", i(2)),
    ]);
    assert!(!u.cache_known);
    let u = usage_of([
        ("gen_ai.usage.input_tokens", i(10)),
        ("gen_ai.usage.cache_read.input_tokens", i(0)),
    ]);
    assert!(u.cache_known && u.cache_read == 0);
}

#[test]
fn langfuse_usage_details_in_openai_shape_count_the_cache_once() {
    // The Langfuse SDK's OpenAI integration passes OpenAI's usage through: prompt_tokens already
    // counts the cached tokens nested under prompt_tokens_details.
    let u = usage_of([
        ("langfuse.observation.type", s("generation")),
        (
            "langfuse.observation.usage_details",
            s(
                r#"{"completion_tokens": 14, "prompt_tokens": 85, "total_tokens": 99,
                 "completion_tokens_details": null, "prompt_tokens_details": {"cached_tokens": 64}}"#,
            ),
        ),
    ]);
    assert_eq!((u.input, u.output, u.total, u.cache_read), (85, 14, 99, 64));
    assert!(u.cache_known);
    // Anthropic's raw usage leaves the cache out of input_tokens.
    let u = usage_of([(
        "langfuse.observation.usage_details",
        s(r#"{"input_tokens": 20, "cache_read_input_tokens": 80, "output_tokens": 5}"#),
    )]);
    assert_eq!((u.input, u.cache_read), (100, 80));
    // No cache bucket at all: unknown.
    let u = usage_of([("langfuse.observation.usage_details", s(r#"{"input": 20}"#))]);
    assert!(!u.cache_known);
}

#[test]
fn langfuse_completion_start_time_is_json_quoted() {
    let mut sp = llm_span([(
        "langfuse.observation.completion_start_time",
        s(r#""2026-12-07T04:54:20.425086Z""#),
    )]);
    // 04:54:20.269365165
    sp.start_time_unix_nano = 1_796_619_260_269_365_165;
    assert_eq!(ttft_of(sp), Some(155_720_835));
}

#[test]
fn client_time_to_first_chunk_is_read_in_seconds() {
    let sp = llm_span([("gen_ai.client.operation.time_to_first_chunk", f(0.3288))]);
    assert_eq!(ttft_of(sp), Some(328_800_000));
}
