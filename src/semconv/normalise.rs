//! One pass over a span's attributes (classes precomputed per key) fills ranked slots; the
//! slots then resolve into [`Semantics`] and verdicts. Fallbacks that need parsing (JSON
//! metadata, invocation parameters) run only when the direct keys are missing.

use super::keys::{CONCEPTS, Class, Concept, KeyInfo};
use super::value::{as_bool, as_f64, as_text, as_u64, json_f64, json_object, json_text, timestamp_nanos};
use super::verdicts::{self, VerdictFields};
use super::{CostSource, Kind, Semantics, SemconvConfig, TokenUsage, Verdict, VerdictSource};
use crate::cost::{CostTable, Usage};
use crate::intern::Sym;
use crate::model::{SpanRecord, Value};

/// Span events that mark the first streamed token (OpenInference/traceAI; OpenLLMetry emits one
/// chunk event per chunk, the first of which counts).
const FIRST_TOKEN_EVENTS: [&str; 3] = [
    "First Token Stream Event",
    "gen_ai.content.completion.chunk",
    "llm.content.completion.chunk",
];

pub const EVALUATION_EVENT: &str = "gen_ai.evaluation.result";

/// What normalisation reads besides the span.
pub struct Context<'a> {
    pub config: &'a SemconvConfig,
    pub costs: Option<&'a CostTable>,
}

struct Slots {
    best: [Option<(u8, u16)>; CONCEPTS],
    annotations: Vec<usize>,
    legacy_evals: Vec<usize>,
    association: Vec<usize>,
}

impl Default for Slots {
    fn default() -> Self {
        Self {
            best: [None; CONCEPTS],
            annotations: Vec::new(),
            legacy_evals: Vec::new(),
            association: Vec::new(),
        }
    }
}

impl Slots {
    fn offer(&mut self, concept: Concept, rank: u8, index: usize) {
        let slot = &mut self.best[concept as usize];
        if slot.is_none_or(|(r, _)| rank < r) {
            *slot = Some((rank, index as u16));
        }
    }

    fn get<'a>(&self, span: &'a SpanRecord, concept: Concept) -> Option<&'a Value> {
        self.best[concept as usize].map(|(_, i)| &span.attributes[i as usize].value)
    }

    fn has(&self, concept: Concept) -> bool {
        self.best[concept as usize].is_some()
    }
}

fn kind_from_openinference(v: &str) -> Option<Kind> {
    Some(match v.trim().to_ascii_uppercase().as_str() {
        "LLM" => Kind::Llm,
        "EMBEDDING" => Kind::Embedding,
        "CHAIN" | "PROMPT" | "CONVERSATION" => Kind::Chain,
        "RETRIEVER" | "VECTOR_DB" => Kind::Retrieval,
        "RERANKER" => Kind::Rerank,
        "TOOL" => Kind::Tool,
        "AGENT" | "A2A_CLIENT" | "A2A_SERVER" => Kind::Agent,
        "GUARDRAIL" => Kind::Guardrail,
        "EVALUATOR" => Kind::Evaluator,
        "UNKNOWN" => Kind::Other,
        _ => return None,
    })
}

fn kind_from_langfuse(v: &str) -> Option<Kind> {
    Some(match v.trim().to_ascii_lowercase().as_str() {
        "generation" => Kind::Llm,
        "embedding" => Kind::Embedding,
        "agent" => Kind::Agent,
        "tool" => Kind::Tool,
        "chain" => Kind::Chain,
        "retriever" => Kind::Retrieval,
        "guardrail" => Kind::Guardrail,
        "evaluator" => Kind::Evaluator,
        "span" | "event" => Kind::Other,
        _ => return None,
    })
}

fn kind_from_operation(v: &str) -> Option<Kind> {
    Some(match v.trim() {
        "chat" | "generate_content" | "text_completion" | "completion" | "responses" => Kind::Llm,
        "embeddings" | "embedding" => Kind::Embedding,
        "retrieval" | "retrieve" => Kind::Retrieval,
        "rerank" => Kind::Rerank,
        "create_agent" | "invoke_agent" | "plan" => Kind::Agent,
        "execute_tool" => Kind::Tool,
        "invoke_workflow" => Kind::Chain,
        _ => return None,
    })
}

fn kind_from_traceloop(v: &str) -> Option<Kind> {
    Some(match v.trim() {
        "workflow" | "task" => Kind::Chain,
        "agent" => Kind::Agent,
        "tool" => Kind::Tool,
        _ => return None,
    })
}

fn kind_from_request_type(v: &str) -> Option<Kind> {
    Some(match v.trim() {
        "chat" | "completion" => Kind::Llm,
        "rerank" => Kind::Rerank,
        "embedding" | "embeddings" => Kind::Embedding,
        _ => return None,
    })
}

/// OTel span names follow `{operation} {model}`, `execute_tool {tool}`, `invoke_agent {agent}`.
fn kind_from_span_name(name: &str) -> Option<Kind> {
    let op = name.split(' ').next()?;
    if op.len() == name.len() {
        return None;
    }
    kind_from_operation(op)
}

/// Reads the model and stream flag out of invocation-parameter JSON without building a tree.
#[derive(serde::Deserialize)]
struct InvocationParameters {
    model: Option<String>,
    stream: Option<bool>,
}

fn invocation_parameters(v: &Value) -> Option<InvocationParameters> {
    let s = v.as_str()?.trim();
    if !s.starts_with('{') {
        return None;
    }
    serde_json::from_str(s).ok()
}

/// Sum of the numbers in a Langfuse `cost_details` JSON, or its `total` when present.
fn cost_details(v: &Value) -> Option<f64> {
    let m = json_object(v)?;
    if let Some(total) = m.get("total").and_then(json_f64) {
        return Some(total);
    }
    let values: Vec<f64> = m.values().filter_map(json_f64).collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// Normalises one span; pushes any verdicts it carries onto `verdicts`.
pub fn normalise_span(
    span: &SpanRecord,
    infos: &[KeyInfo],
    ctx: &Context<'_>,
    intern: &mut dyn FnMut(&str) -> Sym,
    verdicts: &mut Vec<Verdict>,
) -> Option<Box<Semantics>> {
    let mut slots = Slots::default();
    for (i, info) in infos
        .iter()
        .enumerate()
        .take(span.attributes.len().min(u16::MAX as usize))
    {
        match info.class {
            Class::None => {}
            Class::Known(c, r) => slots.offer(c, r, i),
            Class::AssociationProperty => slots.association.push(i),
            Class::Annotation => slots.annotations.push(i),
            Class::LegacyEval => slots.legacy_evals.push(i),
        }
        if let Some((c, r)) = info.cohort {
            slots.offer(c, r, i);
        }
    }
    let get = |c: Concept| slots.get(span, c);
    let text = |c: Concept| get(c).and_then(as_text);

    // Kind: explicit conventions in SEMCONV order, then fallbacks.
    let kind = [
        (
            Concept::KindLangfuse,
            kind_from_langfuse as fn(&str) -> Option<Kind>,
        ),
        (Concept::KindOpenInference, kind_from_openinference),
        (Concept::KindTraceAi, kind_from_openinference),
        (Concept::KindFi, kind_from_openinference),
        (Concept::Operation, kind_from_operation),
        (Concept::KindTraceloop, kind_from_traceloop),
        (Concept::LlmRequestType, kind_from_request_type),
    ]
    .iter()
    .find_map(|(c, f)| text(*c).and_then(f));
    let has_model = slots.has(Concept::RequestModel)
        || slots.has(Concept::ResponseModel)
        || slots.has(Concept::EmbeddingModel);
    let kind = kind
        .or_else(|| (slots.has(Concept::ToolKey) || slots.has(Concept::Tool)).then_some(Kind::Tool))
        .or_else(|| kind_from_span_name(&span.name))
        .or_else(|| has_model.then_some(Kind::Llm))
        .unwrap_or(Kind::Other);

    let mut sem = Semantics {
        kind,
        ..Semantics::default()
    };
    sem.operation = text(Concept::Operation).map(&mut *intern);
    sem.provider = text(Concept::Provider).map(|p| intern(&p.to_ascii_lowercase()));
    let params = get(Concept::InvocationParameters).and_then(invocation_parameters);
    sem.request_model = text(Concept::RequestModel)
        .map(&mut *intern)
        .or_else(|| {
            params
                .as_ref()?
                .model
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(&mut *intern)
        })
        .or_else(|| text(Concept::EmbeddingModel).map(&mut *intern));
    sem.response_model = text(Concept::ResponseModel).map(&mut *intern);
    sem.streaming = get(Concept::Streaming)
        .and_then(as_bool)
        .or(params.as_ref().and_then(|p| p.stream));

    sem.usage = usage(&slots, span);
    sem.ttft_nanos = ttft(&slots, span);
    sem.session = text(Concept::Session).map(Into::into);
    sem.user = text(Concept::User).map(Into::into);
    sem.agent = text(Concept::Agent).map(&mut *intern);
    sem.tool = text(Concept::Tool).map(&mut *intern);
    sem.response_id = text(Concept::ResponseId).map(Into::into);
    cohorts(&mut sem, &slots, span, ctx, intern);

    // Cost: sent with the span wins; else the price table for model calls with usage.
    let sent = get(Concept::Cost)
        .and_then(as_f64)
        .or_else(|| get(Concept::CostDetails).and_then(cost_details));
    if let Some(usd) = sent.filter(|c| *c >= 0.0) {
        sem.cost_usd = Some(usd);
        sem.cost_source = Some(CostSource::Span);
    } else if let (true, Some(u)) = (sem.kind.is_model_call(), sem.usage) {
        let priced = sem.priced_model().and_then(|model| {
            let usage = Usage {
                input: u.input,
                output: u.output,
                cache_read: u.cache_read,
                cache_write: u.cache_write,
                reasoning: u.reasoning,
            };
            // The requested name is the fallback when the snapshot is not in the table.
            ctx.costs?
                .cost(sem.provider.as_deref(), model, &usage)
                .or_else(|| {
                    let requested = sem.request_model.as_ref().filter(|r| *r != model)?;
                    ctx.costs?.cost(sem.provider.as_deref(), requested, &usage)
                })
        });
        match priced {
            Some(usd) => {
                sem.cost_usd = Some(usd);
                sem.cost_source = Some(CostSource::Table);
            }
            None => sem.unpriced = true,
        }
    }

    span_verdicts(span, &slots, sem.kind, ctx, intern, verdicts);

    let recognised = sem.kind != Kind::Other
        || sem.provider.is_some()
        || sem.model().is_some()
        || sem.usage.is_some()
        || sem.cost_usd.is_some()
        || sem.session.is_some()
        || sem.route.is_some()
        || sem.tenant.is_some();
    recognised.then(|| Box::new(sem))
}

fn usage(slots: &Slots, span: &SpanRecord) -> Option<TokenUsage> {
    let count = |c: Concept| slots.get(span, c).and_then(as_u64);
    let mut input = count(Concept::InputTokens);
    let mut output = count(Concept::OutputTokens);
    let total = count(Concept::TotalTokens);
    let mut cache_read = count(Concept::CacheRead);
    let mut cache_write = count(Concept::CacheWrite);
    let mut reasoning = count(Concept::Reasoning);
    // Langfuse: usage_details JSON {"input": .., "output": .., "cache_read_input_tokens": ..}.
    if let Some(m) = slots.get(span, Concept::UsageDetails).and_then(json_object) {
        let n = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| m.get(*k).and_then(json_f64))
                .map(|f| f.max(0.0) as u64)
        };
        input = input.or(n(&["input", "prompt_tokens", "input_tokens"]));
        output = output.or(n(&["output", "completion_tokens", "output_tokens"]));
        cache_read = cache_read.or(n(&[
            "cache_read_input_tokens",
            "input_cached_tokens",
            "cache_read",
        ]));
        cache_write = cache_write.or(n(&["cache_creation_input_tokens", "cache_write"]));
        reasoning = reasoning.or(n(&["reasoning_tokens", "output_reasoning_tokens", "reasoning"]));
    }
    if input.is_none() && output.is_none() && total.is_none() {
        return None;
    }
    let (cache_read, cache_write, reasoning) = (
        cache_read.unwrap_or(0),
        cache_write.unwrap_or(0),
        reasoning.unwrap_or(0),
    );
    let mut input = input.unwrap_or(0);
    let output = output.unwrap_or_else(|| total.map_or(0, |t| t.saturating_sub(input)));
    // Anthropic-style raw counts exclude cached tokens; OTel-style include them. Cached tokens
    // outnumbering the input count can only mean the former.
    if cache_read + cache_write > input {
        input += cache_read + cache_write;
    }
    let total = total.unwrap_or(input + output);
    Some(TokenUsage {
        input,
        output,
        total,
        cache_read,
        cache_write,
        reasoning,
    })
}

fn ttft(slots: &Slots, span: &SpanRecord) -> Option<u64> {
    let start = span.start_unix_nano;
    let from_attr = slots
        .get(span, Concept::TtftSeconds)
        .and_then(as_f64)
        .map(|s| s * 1e9)
        .or_else(|| {
            slots
                .get(span, Concept::TtftMillis)
                .and_then(as_f64)
                .map(|ms| ms * 1e6)
        })
        .filter(|n| *n >= 0.0)
        .map(|n| n.round() as u64)
        .or_else(|| {
            let t = timestamp_nanos(slots.get(span, Concept::CompletionStart)?)?;
            t.checked_sub(start)
        });
    from_attr.or_else(|| {
        span.events
            .iter()
            .filter(|e| FIRST_TOKEN_EVENTS.contains(&&*e.name))
            .map(|e| e.time_unix_nano)
            .min()?
            .checked_sub(start)
    })
}

/// The best (lowest-ranked) value seen so far for route, tenant and prompt version.
struct CohortFinds<'a> {
    keys: &'a super::CohortKeys,
    found: [Option<(u8, String)>; 3],
}

impl CohortFinds<'_> {
    fn offer(&mut self, key: &str, text: Option<String>) {
        let Some((concept, rank)) = self.keys.classify(key) else {
            return;
        };
        let i = match concept {
            Concept::Route => 0,
            Concept::Tenant => 1,
            _ => 2,
        };
        if let Some(t) = text
            && self.found[i].as_ref().is_none_or(|(r, _)| rank < *r)
        {
            self.found[i] = Some((rank, t));
        }
    }

    fn complete(&self) -> bool {
        self.found.iter().all(Option::is_some)
    }
}

/// Route, tenant and prompt version: direct keys, then OpenLLMetry association properties and
/// `metadata` JSON, then the resource. (Inheritance from the root span happens in the store.)
fn cohorts(
    sem: &mut Semantics,
    slots: &Slots,
    span: &SpanRecord,
    ctx: &Context<'_>,
    intern: &mut dyn FnMut(&str) -> Sym,
) {
    let mut found = CohortFinds {
        keys: &ctx.config.cohorts,
        found: Default::default(),
    };
    for c in [Concept::Route, Concept::Tenant, Concept::PromptVersion] {
        if let Some((_, i)) = slots.best[c as usize] {
            let a = &span.attributes[i as usize];
            found.offer(&a.key, as_text(&a.value).map(str::to_string));
        }
    }
    if !found.complete() {
        for &i in &slots.association {
            let a = &span.attributes[i];
            let key = a.key.trim_start_matches("traceloop.association.properties.");
            found.offer(key, as_text(&a.value).map(str::to_string));
        }
    }
    if !found.complete()
        && let Some(m) = slots.get(span, Concept::Metadata).and_then(json_object)
    {
        for (k, v) in &m {
            found.offer(k, json_text(v));
        }
    }
    if !found.complete() {
        for a in span.resource.attributes.iter() {
            found.offer(&a.key, as_text(&a.value).map(str::to_string));
        }
    }
    let found = found.found;
    let [route, tenant, prompt_version] = found;
    sem.route = route.map(|(_, t)| intern(&t));
    sem.tenant = tenant.map(|(_, t)| intern(&t));
    sem.prompt_version = prompt_version.map(|(_, t)| intern(&t));
}

/// Verdicts a span carries: `gen_ai.evaluation.result` events (on this span), OpenInference
/// annotations (on this span, or on the linked span for an EVALUATOR span), evaluator spans'
/// `gen_ai.evaluation.*` attributes (target id, single link, then parent), and legacy
/// `eval.{metric}` keys (on this span).
fn span_verdicts(
    span: &SpanRecord,
    slots: &Slots,
    kind: Kind,
    ctx: &Context<'_>,
    intern: &mut dyn FnMut(&str) -> Sym,
    out: &mut Vec<Verdict>,
) {
    let rules = &ctx.config.evaluators;
    let trace = span.trace_id;
    for e in span.events.iter().filter(|e| &*e.name == EVALUATION_EVENT) {
        let f = VerdictFields::from_otel_attrs(&e.attributes, intern);
        // The event's own span is the target, whatever else the event says.
        let f = VerdictFields {
            target: Some(span.span_id),
            ..f
        };
        out.extend(f.into_verdict(trace, None, VerdictSource::SpanEvent, e.time_unix_nano, rules));
    }
    let linked = match &*span.links {
        [one] if one.trace_id == trace => Some(one.span_id),
        _ => None,
    };
    let evaluator_target = linked.or(span.parent_span_id);
    let is_evaluator = kind == Kind::Evaluator;
    if !slots.annotations.is_empty() {
        let target = if is_evaluator {
            evaluator_target
        } else {
            Some(span.span_id)
        };
        for f in verdicts::annotations(&span.attributes, &slots.annotations, intern) {
            out.extend(f.into_verdict(
                trace,
                target,
                VerdictSource::Annotation,
                span.end_unix_nano,
                rules,
            ));
        }
    }
    if is_evaluator && slots.has(Concept::EvalName) {
        let f = VerdictFields::from_otel_attrs(&span.attributes, intern);
        out.extend(f.into_verdict(
            trace,
            evaluator_target,
            VerdictSource::EvaluatorSpan,
            span.end_unix_nano,
            rules,
        ));
    }
    if !slots.legacy_evals.is_empty() {
        for f in verdicts::legacy_evals(&span.attributes, &slots.legacy_evals, intern) {
            out.extend(f.into_verdict(
                trace,
                Some(span.span_id),
                VerdictSource::LegacyEval,
                span.end_unix_nano,
                rules,
            ));
        }
    }
}

/// A verdict from an OTLP log record named `gen_ai.evaluation.result`; its target is the span
/// the record names, else the span whose response id it carries.
pub fn log_verdict(
    log: &crate::model::LogRecord,
    config: &SemconvConfig,
    intern: &mut dyn FnMut(&str) -> Sym,
) -> Option<Verdict> {
    if log.event_name.as_deref() != Some(EVALUATION_EVENT) {
        return None;
    }
    let trace = log.trace_id?;
    let mut f = VerdictFields::from_otel_attrs(&log.attributes, intern);
    if f.name.is_none()
        && let Value::Map(body) = &log.body
    {
        // Some SDKs put the event's attributes in the body instead.
        f = VerdictFields::from_otel_attrs(body, intern);
    }
    let target = log.span_id.or(f.target);
    f.target = None;
    f.into_verdict(
        trace,
        target,
        VerdictSource::LogRecord,
        log.event_time(),
        &config.evaluators,
    )
}
