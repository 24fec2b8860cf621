//! One pass over a span's attributes (classes precomputed per key) fills ranked slots; the
//! slots then resolve into [`Semantics`] and verdicts. Fallbacks that need parsing (JSON
//! metadata, invocation parameters) run only when the direct keys are missing.

use super::config::SemconvConfig;
use super::keys::{CONCEPTS, Class, CohortKeys, Concept, KeyInfo};
use super::types::{CostSource, Kind, Semantics, TokenUsage, Verdict, VerdictSource};
use super::value::{
    as_bool, as_f64, as_label, as_text, as_u64, count_from_f64, json_f64, json_object, json_text,
    timestamp_nanos,
};
use super::verdicts::{self, VerdictFields, parse_span_id};
use crate::cost::{CostTable, Usage};
use crate::intern::Sym;
use crate::model::record::{LogRecord, SpanRecord, Value};

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
    /// Token counts and costs that cannot be true, ignored (see [`Plausible`]); counted here.
    pub implausible: &'a std::cell::Cell<u64>,
}

/// Bounds on what one call can have used: values past them (or negative, or not finite) come
/// from a broken or hostile exporter, and summing them would ruin every total (two costs of
/// 1e308 make the sum infinite; token counts near i64::MAX saturate it). They are ignored, as if
/// not sent, and counted (`truncation.implausible_values`).
pub const MAX_TOKENS_PER_CALL: f64 = 1e9;
pub const MAX_COST_PER_CALL_USD: f64 = 1e6;

/// Reads token counts and costs computed or found in JSON within [`MAX_TOKENS_PER_CALL`] and
/// [`MAX_COST_PER_CALL_USD`], counting what is out of bounds (attribute values are checked
/// when offered to their slot, see `plausible`).
struct Plausible<'a>(&'a std::cell::Cell<u64>);

impl Plausible<'_> {
    fn reject<T>(&self) -> Option<T> {
        self.0.set(self.0.get() + 1);
        None
    }

    /// A number within `0..=max`, else none (and counted).
    fn bounded(&self, f: Option<f64>, max: f64) -> Option<f64> {
        let f = f?;
        if f.is_finite() && (0.0..=max).contains(&f) {
            Some(f)
        } else {
            self.reject()
        }
    }

    /// A token count from a number in JSON.
    fn json_tokens(&self, f: Option<f64>) -> Option<u64> {
        count_from_f64(self.bounded(f, MAX_TOKENS_PER_CALL)?)
    }

    fn cost(&self, usd: Option<f64>) -> Option<f64> {
        self.bounded(usd, MAX_COST_PER_CALL_USD)
    }
}

struct Slots {
    best: [Option<(u8, u16)>; CONCEPTS],
    annotations: Vec<usize>,
    legacy_evals: Vec<usize>,
    association: Vec<usize>,
    /// Token counts and costs offered that cannot be true.
    implausible: u64,
}

impl Default for Slots {
    fn default() -> Self {
        Self {
            best: [None; CONCEPTS],
            annotations: Vec::new(),
            legacy_evals: Vec::new(),
            association: Vec::new(),
            implausible: 0,
        }
    }
}

impl Slots {
    /// Keeps the best-ranked key of a concept among those whose value is usable, so that an
    /// empty, wrongly typed or nonsensical value yields to the next key of the row instead of
    /// hiding it (traceAI sends empty models, SDKs send NaN and negative counts).
    fn offer(&mut self, concept: Concept, rank: u8, index: usize, value: &Value) {
        let slot = &mut self.best[concept as usize];
        if slot.is_none_or(|(r, _)| rank < r) {
            if usable(concept, value) {
                *slot = Some((rank, index as u16));
            } else if plausible(concept, value) == Some(false) {
                // A number that cannot be true: ignored (the next key may stand in), counted.
                self.implausible += 1;
            }
        }
    }

    fn get<'a>(&self, span: &'a SpanRecord, concept: Concept) -> Option<&'a Value> {
        self.best[concept as usize].map(|(_, i)| &span.attributes[i as usize].value)
    }

    fn has(&self, concept: Concept) -> bool {
        self.best[concept as usize].is_some()
    }
}

/// For token counts and costs: whether a number (int, double or numeric string, non-finite ones
/// included) is within the bounds of one call; `None` when `v` is no number or the concept
/// neither.
fn plausible(concept: Concept, v: &Value) -> Option<bool> {
    use Concept as C;
    let max = match concept {
        C::InputTokens | C::OutputTokens | C::TotalTokens | C::CacheRead | C::CacheWrite | C::Reasoning => {
            MAX_TOKENS_PER_CALL
        }
        C::Cost => MAX_COST_PER_CALL_USD,
        _ => return None,
    };
    let f = match v {
        Value::Int(i) => *i as f64,
        Value::Double(d) => *d,
        Value::Str(_) | Value::Sym(_) => v.as_str()?.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    Some(f.is_finite() && (0.0..=max).contains(&f))
}

/// Whether `v` can stand for `concept` at all; checked only for a key that would win its slot.
fn usable(concept: Concept, v: &Value) -> bool {
    use Concept as C;
    match concept {
        C::InputTokens | C::OutputTokens | C::TotalTokens | C::CacheRead | C::CacheWrite | C::Reasoning => {
            plausible(concept, v) == Some(true) && as_u64(v).is_some()
        }
        C::Cost => plausible(concept, v) == Some(true),
        C::TtftSeconds | C::TtftMillis => as_f64(v).is_some_and(|x| x >= 0.0),
        C::CompletionStart => timestamp_nanos(v).is_some(),
        C::Streaming => as_bool(v).is_some(),
        // What `as_label` reads, without building the string.
        C::Route | C::Tenant | C::PromptVersion => match v {
            Value::Int(_) => true,
            Value::Double(d) => d.is_finite(),
            _ => as_text(v).is_some(),
        },
        // The key itself says "tool", whatever its value.
        C::ToolKey => true,
        _ => as_text(v).is_some(),
    }
}

/// OpenInference kinds (also traceAI's). `UNKNOWN` says nothing, so the next convention and the
/// fallbacks still get their say.
fn kind_from_openinference(v: &str) -> Option<Kind> {
    const KINDS: [(&str, Kind); 14] = [
        ("LLM", Kind::Llm),
        ("EMBEDDING", Kind::Embedding),
        ("CHAIN", Kind::Chain),
        ("PROMPT", Kind::Chain),
        ("CONVERSATION", Kind::Chain),
        ("RETRIEVER", Kind::Retrieval),
        ("VECTOR_DB", Kind::Retrieval),
        ("RERANKER", Kind::Rerank),
        ("TOOL", Kind::Tool),
        ("AGENT", Kind::Agent),
        ("A2A_CLIENT", Kind::Agent),
        ("A2A_SERVER", Kind::Agent),
        ("GUARDRAIL", Kind::Guardrail),
        ("EVALUATOR", Kind::Evaluator),
    ];
    lookup_ignore_case(&KINDS, v)
}

/// Langfuse observation types. `span` is Langfuse's default for any observation, so like an
/// unknown value it leaves the kind to the other conventions and the fallbacks.
fn kind_from_langfuse(v: &str) -> Option<Kind> {
    const KINDS: [(&str, Kind); 9] = [
        ("generation", Kind::Llm),
        ("embedding", Kind::Embedding),
        ("agent", Kind::Agent),
        ("tool", Kind::Tool),
        ("chain", Kind::Chain),
        ("retriever", Kind::Retrieval),
        ("guardrail", Kind::Guardrail),
        ("evaluator", Kind::Evaluator),
        ("event", Kind::Other),
    ];
    lookup_ignore_case(&KINDS, v)
}

/// Case-insensitive table lookup without allocating (this runs for every span).
fn lookup_ignore_case(table: &[(&str, Kind)], v: &str) -> Option<Kind> {
    let v = v.trim();
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v))
        .map(|(_, k)| *k)
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

/// The Vercel AI SDK's `ai.operationId`: the provider-level calls (`ai.generateText.doGenerate`,
/// `ai.streamText.doStream`, `ai.embed.doEmbed`, `ai.embedMany.doEmbed`) are the model calls;
/// the operations around them (`ai.generateText`, `ai.embed`) sum their steps and are chains, so
/// their usage is not counted twice; `ai.toolCall` is a tool.
fn kind_from_ai_operation(v: &str) -> Option<Kind> {
    let v = v.trim();
    let (_, step) = v.rsplit_once('.')?;
    Some(match step {
        "doGenerate" | "doStream" => Kind::Llm,
        "doEmbed" => Kind::Embedding,
        "toolCall" => Kind::Tool,
        _ if v.starts_with("ai.") => Kind::Chain,
        _ => return None,
    })
}

/// A provider name as the price table and cohorts know it: lowercase, without the API surface
/// the Vercel AI SDK appends (`openai.chat`, `openai.embedding`, `anthropic.messages` name
/// `openai` and `anthropic`). Dotted names that are providers themselves (`az.ai.inference`,
/// `gcp.vertex_ai`, `aws.bedrock`) keep their dots: only a known API suffix is cut.
pub fn provider_name(p: &str) -> std::borrow::Cow<'_, str> {
    const API_SUFFIXES: [&str; 11] = [
        "chat",
        "completion",
        "completions",
        "embedding",
        "embeddings",
        "messages",
        "responses",
        "image",
        "transcription",
        "speech",
        "generative-ai",
    ];
    let p = p.trim();
    let p = match p.rsplit_once('.') {
        Some((base, api)) if !base.is_empty() && API_SUFFIXES.iter().any(|s| s.eq_ignore_ascii_case(api)) => {
            base
        }
        _ => p,
    };
    if p.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(p.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(p)
    }
}

/// OTel span names follow `{operation} {model}`, `execute_tool {tool}`, `invoke_agent {agent}`.
fn kind_from_span_name(name: &str) -> Option<Kind> {
    let op = name.split(' ').next()?;
    if op.len() == name.len() {
        return None;
    }
    kind_from_operation(op)
}

/// Reads the model and stream flag out of invocation-parameter JSON, building a tree for those
/// two fields only.
#[derive(serde::Deserialize)]
struct InvocationParameters {
    #[serde(default, deserialize_with = "lenient")]
    model: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    stream: Option<bool>,
}

/// A field of the expected type, else `None`: one odd field (`"model": [..]`) must not lose the
/// others.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
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
        let value = &span.attributes[i].value;
        match info.class {
            Class::None => {}
            Class::Known(c, r) => slots.offer(c, r, i, value),
            Class::AssociationProperty => slots.association.push(i),
            Class::Annotation => slots.annotations.push(i),
            Class::LegacyEval => slots.legacy_evals.push(i),
        }
        if let Some((c, r)) = info.cohort {
            slots.offer(c, r, i, value);
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
        (Concept::AiOperation, kind_from_ai_operation),
    ]
    .iter()
    .find_map(|(c, f)| text(*c).and_then(f));
    let has_model = slots.has(Concept::RequestModel) || slots.has(Concept::ResponseModel);
    let kind = kind
        .or_else(|| (slots.has(Concept::ToolKey) || slots.has(Concept::Tool)).then_some(Kind::Tool))
        .or_else(|| kind_from_span_name(&span.name))
        .or_else(|| has_model.then_some(Kind::Llm))
        .or_else(|| slots.has(Concept::EmbeddingModel).then_some(Kind::Embedding))
        .unwrap_or(Kind::Other);

    let mut sem = Semantics {
        kind,
        ..Semantics::default()
    };
    sem.operation = text(Concept::Operation).map(&mut *intern);
    sem.provider = text(Concept::Provider).map(|p| intern(&provider_name(p)));
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

    ctx.implausible.set(ctx.implausible.get() + slots.implausible);
    let plausible = Plausible(ctx.implausible);
    sem.usage = usage(&slots, span, &plausible);
    sem.ttft_nanos = ttft(&slots, span);
    sem.session = text(Concept::Session).map(Into::into);
    sem.ranks.session = slots.best[Concept::Session as usize].map_or(0, |(r, _)| r);
    sem.user = text(Concept::User).map(Into::into);
    sem.agent = text(Concept::Agent).map(&mut *intern);
    sem.tool = text(Concept::Tool).map(&mut *intern);
    sem.response_id = text(Concept::ResponseId).map(Into::into);
    cohorts(&mut sem, &slots, span, ctx, intern);

    // Cost: sent with the span wins; else the price table for model calls with usage.
    let sent = get(Concept::Cost)
        .and_then(as_f64)
        .or_else(|| plausible.cost(get(Concept::CostDetails).and_then(cost_details)));
    if let Some(usd) = sent {
        sem.cost_usd = Some(usd);
        sem.cost_source = Some(CostSource::Span);
    } else if let (true, Some(u)) = (sem.kind.is_model_call(), sem.usage) {
        // A bare total does not say which tokens were input and which output: no price rather
        // than a guess (and never $0).
        let split_known = u.input > 0 || u.output > 0 || u.total == 0;
        let priced = sem.priced_model().filter(|_| split_known).and_then(|model| {
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
        // Bounded counts at table prices stay far under the bound; checked all the same.
        match priced.and_then(|usd| plausible.cost(Some(usd))) {
            Some(usd) => {
                sem.cost_usd = Some(usd);
                sem.cost_source = Some(CostSource::Table);
            }
            None => sem.unpriced = true,
        }
    }

    span_verdicts(span, &slots, sem.kind, ctx, intern, verdicts);

    // Anything normalised is worth keeping: a user, an agent or a prompt version alone is still
    // a cohort to group by.
    let recognised = sem != Semantics::default();
    recognised.then(|| Box::new(sem))
}

fn usage(slots: &Slots, span: &SpanRecord, plausible: &Plausible<'_>) -> Option<TokenUsage> {
    let count = |c: Concept| slots.get(span, c).and_then(as_u64);
    let lf = slots
        .get(span, Concept::UsageDetails)
        .and_then(|v| langfuse_usage(v, plausible))
        .unwrap_or_default();
    let input = count(Concept::InputTokens).or(lf.input);
    let output = count(Concept::OutputTokens).or(lf.output);
    let total = count(Concept::TotalTokens).or(lf.total);
    let cache_read = count(Concept::CacheRead).or(lf.cache_read);
    let cache_known = cache_read.is_some();
    let cache_read = cache_read.unwrap_or(0);
    let cache_write = count(Concept::CacheWrite).or(lf.cache_write).unwrap_or(0);
    let reasoning = count(Concept::Reasoning).or(lf.reasoning).unwrap_or(0);
    if input.is_none() && output.is_none() && total.is_none() {
        return None;
    }
    // A missing side is what the total leaves; with only a total the split stays unknown (0/0)
    // rather than invented.
    let (mut input, mut output) = match (input, output, total) {
        (Some(i), Some(o), _) => (i, o),
        (Some(i), None, Some(t)) => (i, t.saturating_sub(i)),
        (None, Some(o), Some(t)) => (t.saturating_sub(o), o),
        (i, o, _) => (i.unwrap_or(0), o.unwrap_or(0)),
    };
    // Anthropic-style raw counts exclude cached tokens; OTel-style include them. Cached tokens
    // outnumbering the input count can only mean the former. Likewise Gemini's raw output count
    // leaves reasoning out. Counts come from the wire: saturate, never overflow.
    let cached = cache_read.saturating_add(cache_write);
    if cached > input {
        input = input.saturating_add(cached);
    }
    if reasoning > output {
        output = output.saturating_add(reasoning);
    }
    // A sent total may count more (tool-use prompt tokens) but never less than its parts.
    let sum = input.saturating_add(output);
    let total = total.map_or(sum, |t| t.max(sum));
    Some(TokenUsage {
        input,
        output,
        total,
        cache_read,
        cache_write,
        reasoning,
        cache_known,
    })
}

/// Token counts from a Langfuse `usage_details` JSON, in the OTel convention.
#[derive(Default)]
struct LangfuseUsage {
    input: Option<u64>,
    output: Option<u64>,
    total: Option<u64>,
    cache_read: Option<u64>,
    cache_write: Option<u64>,
    reasoning: Option<u64>,
}

/// Langfuse's own usage buckets exclude each other (`input` leaves out the tokens counted under
/// `input_cached_tokens` or `cache_read_input_tokens`, `output` those under
/// `output_reasoning_tokens`; `total` is the sum of all), so the cache buckets are added back
/// to input and reasoning to output. The SDKs' integrations also pass a provider's raw usage
/// through: OpenAI's `prompt_tokens` already counts its nested
/// `prompt_tokens_details.cached_tokens` (left as is), Anthropic's `input_tokens` does not count
/// `cache_read_input_tokens` (added back, as for Langfuse's `input`).
fn langfuse_usage(v: &Value, plausible: &Plausible<'_>) -> Option<LangfuseUsage> {
    let m = json_object(v)?;
    let tokens = |v: &serde_json::Value| json_f64(v).and_then(|f| plausible.json_tokens(Some(f)));
    let n = |keys: &[&str]| keys.iter().find_map(|k| m.get(*k).and_then(tokens));
    let nested = |outer: &str, inner: &str| m.get(outer)?.get(inner).and_then(tokens);
    let cache_read = n(&[
        "input_cached_tokens",
        "cache_read_input_tokens",
        "input_cache_read",
        "cache_read",
    ]);
    let openai_cached = nested("prompt_tokens_details", "cached_tokens")
        .or_else(|| nested("input_tokens_details", "cached_tokens"));
    let cache_write = n(&[
        "cache_creation_input_tokens",
        "input_cache_creation",
        "cache_write",
    ]);
    let reasoning = n(&["output_reasoning_tokens", "reasoning_tokens", "reasoning"]);
    let openai_reasoning = nested("completion_tokens_details", "reasoning_tokens")
        .or_else(|| nested("output_tokens_details", "reasoning_tokens"));
    let plus = |base: Option<u64>, parts: &[Option<u64>]| {
        base.map(|b| parts.iter().flatten().fold(b, |acc, p| acc.saturating_add(*p)))
    };
    // Buckets that exclude the cache, then OpenAI's count that includes it.
    let input =
        plus(n(&["input", "input_tokens"]), &[cache_read, cache_write]).or_else(|| n(&["prompt_tokens"]));
    let output = plus(n(&["output"]), &[reasoning]).or_else(|| n(&["completion_tokens", "output_tokens"]));
    Some(LangfuseUsage {
        input,
        output,
        total: n(&["total", "total_tokens"]),
        cache_read: cache_read.or(openai_cached),
        cache_write,
        reasoning: reasoning.or(openai_reasoning),
    })
}

/// Time to first token, sources in SEMCONV order: the seconds attributes, Langfuse's completion
/// start time, the Vercel AI SDK's milliseconds, then the first first-token event.
fn ttft(slots: &Slots, span: &SpanRecord) -> Option<u64> {
    let start = span.start_unix_nano;
    let scaled = |c: Concept, nanos_per_unit: f64| {
        let n = slots.get(span, c).and_then(as_f64)? * nanos_per_unit;
        // 1e300 s overflows to infinity: no TTFT anyone measured.
        (n.is_finite() && n >= 0.0).then(|| n.round() as u64)
    };
    scaled(Concept::TtftSeconds, 1e9)
        .or_else(|| timestamp_nanos(slots.get(span, Concept::CompletionStart)?)?.checked_sub(start))
        .or_else(|| scaled(Concept::TtftMillis, 1e6))
        .or_else(|| {
            span.events
                .iter()
                .filter(|e| FIRST_TOKEN_EVENTS.contains(&&*e.name))
                .map(|e| e.time_unix_nano)
                .min()?
                .checked_sub(start)
        })
}

/// The best (lowest-ranked) value seen so far for route, tenant and prompt version. Sources are
/// offered in order and a cohort found in one source is settled: rank decides only within a
/// source (the span's own `http.route` beats an `app.route` inside its metadata).
struct CohortFinds<'a> {
    keys: &'a CohortKeys,
    found: [Option<(u8, String)>; 3],
    settled: [bool; 3],
}

impl CohortFinds<'_> {
    /// Offers the value of `key`, read by `text` only when the key names a cohort that is still
    /// open to it (most keys, the resource's among them, name none).
    fn offer(&mut self, key: &str, text: impl FnOnce() -> Option<String>) {
        let Some((concept, rank)) = self.keys.classify(key) else {
            return;
        };
        let i = match concept {
            Concept::Route => 0,
            Concept::Tenant => 1,
            _ => 2,
        };
        if !self.settled[i]
            && self.found[i].as_ref().is_none_or(|(r, _)| rank < *r)
            && let Some(t) = text()
        {
            self.found[i] = Some((rank, t));
        }
    }

    /// Ends a source; returns whether every cohort is found.
    fn settle(&mut self) -> bool {
        for (settled, found) in self.settled.iter_mut().zip(&self.found) {
            *settled = found.is_some();
        }
        self.settled.iter().all(|s| *s)
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
        settled: [false; 3],
    };
    for c in [Concept::Route, Concept::Tenant, Concept::PromptVersion] {
        if let Some((_, i)) = slots.best[c as usize] {
            let a = &span.attributes[i as usize];
            found.offer(&a.key, || as_label(&a.value));
        }
    }
    let mut complete = found.settle();
    if !complete {
        for &i in &slots.association {
            let a = &span.attributes[i];
            let key = a.key.trim_start_matches("traceloop.association.properties.");
            found.offer(key, || as_label(&a.value));
        }
        complete = found.settle();
    }
    if !complete && let Some(m) = slots.get(span, Concept::Metadata).and_then(json_object) {
        for (k, v) in &m {
            found.offer(k, || json_text(v));
        }
        complete = found.settle();
    }
    if !complete {
        for a in span.resource.attributes.iter() {
            found.offer(&a.key, || as_label(&a.value));
        }
    }
    let found = found.found;
    let [route, tenant, prompt_version] = found;
    let rank = |f: &Option<(u8, String)>| f.as_ref().map_or(0, |(r, _)| *r);
    sem.ranks.route = rank(&route);
    sem.ranks.tenant = rank(&tenant);
    sem.ranks.prompt_version = rank(&prompt_version);
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
    // An evaluator span's verdicts are about (SEMCONV's order): its single linked span, else the
    // span its `gen_ai.evaluation.target_span_id` names, else its parent. A post-hoc evaluation
    // runs in a trace of its own, so the link may name another trace: the verdict belongs there.
    let is_evaluator = kind == Kind::Evaluator;
    let (eval_trace, eval_target) = match &*span.links {
        [one] => (one.trace_id, Some(one.span_id)),
        _ => {
            let named = slots
                .get(span, Concept::EvalTarget)
                .and_then(as_text)
                .and_then(parse_span_id);
            (trace, named.or(span.parent_span_id))
        }
    };
    if !slots.annotations.is_empty() {
        let (trace, target) = if is_evaluator {
            (eval_trace, eval_target)
        } else {
            (trace, Some(span.span_id))
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
        let f = VerdictFields {
            // Resolved above, after the link.
            target: None,
            ..VerdictFields::from_otel_attrs(&span.attributes, intern)
        };
        out.extend(f.into_verdict(
            eval_trace,
            eval_target,
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
/// the record names, else the span whose response id it carries (found by the store even when
/// the record has no trace context).
pub fn log_verdict(
    log: &LogRecord,
    config: &SemconvConfig,
    intern: &mut dyn FnMut(&str) -> Sym,
) -> Option<Verdict> {
    if log.event_name.as_deref() != Some(EVALUATION_EVENT) {
        return None;
    }
    let trace = log.trace_id;
    let mut f = VerdictFields::from_otel_attrs(&log.attributes, intern);
    if f.name.is_none()
        && let Value::Map(body) = &log.body
    {
        // Some SDKs put the event's attributes in the body instead.
        f = VerdictFields::from_otel_attrs(body, intern);
    }
    if trace.is_none() && f.response_id.is_none() {
        // Nothing to tie it to: no trace, and no response id to find the span by.
        return None;
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
