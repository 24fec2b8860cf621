//! Built-in evaluators: cheap, deterministic checks that llmwatch runs itself on every model call
//! at ingest, producing [`Verdict`]s marked [`VerdictSource::Llmwatch`]. They are HEURISTICS, not
//! judges: each looks for a surface pattern and says what it found in a one-line explanation.
//!
//! Every verdict targets the evaluated span (`target` = its span id, `trace_id` = its trace), is
//! timed at the span's end, has a score in 0..=1, `passed` set, and the label `pass` or `fail`.
//! Only model-call spans (`Kind::is_model_call`) get verdicts; the content evaluators only LLM
//! calls (`Kind::Llm`: chat and completion, not embeddings or rerank), and only when the
//! instrumentation recorded content (see "content recorded" below).
//!
//! | name | rule |
//! |---|---|
//! | `empty_output` | **fail** when the answer (the text of the output messages that are not tool, user or system messages) is empty or only whitespace and it made no tool call (in its messages, a tool-call finish reason, or LangChain's generations: a tool call is an answer); score 1 pass / 0 fail. An answer missing entirely (input recorded, no output attribute) fails too, except on an error span (the error already says it) or a streaming call (some libraries record no streamed output). |
//! | `refusal` | **fail** when the answer contains one of [`builtin::REFUSAL_PHRASES`] (~25 phrasings such as "I can't help with", "I'm sorry, but I can't", "As an AI language model"), case-insensitive, straight or curly apostrophe, at a word start ("I cannot help but…" is excepted). Score 1 no refusal / 0 refusal. No verdict without answer text. |
//! | `json_valid` | only when JSON was requested: `gen_ai.output.type` / `gen_ai.request.response_format` / `gen_ai.openai.request.response_format` mentioning json; `gen_ai.request.structured_output_schema` (OpenLLMetry) or `ai.schema` (Vercel AI SDK) present; request parameters (`llm.invocation_parameters`, `gen_ai.request.parameters`, `langfuse.observation.model.parameters`) with a JSON `response_format`, `text.format`, `format`, `output_format`, `response_mime_type` or `response_schema`; else the prompt heuristic [`builtin::prompt_asks_json`] over system and user messages ("respond in JSON", "return a JSON object", "JSON only"). **Pass** when the whole answer, or its first ``` fenced block, parses as a JSON object or array. No verdict without answer text, or when the converter truncated the answer. Score 1 / 0. |
//! | `context_overlap` | the share of the answer's distinct content words (lowercased runs of letters and digits, Unicode-aware, of 3+ characters, minus a ~120-word English stopword list) found among the content words of the context the model was given: the trace's retrieved documents (the `documents` argument) and the tool results in the call's own input; score = share, **pass** when share ≥ `context_overlap_threshold` (0.2: on the demo capture that agrees with the app's own Groundedness verdict on 89% of calls, against 73% at 0.5; paraphrasing answers share fewer words than one expects, so tune it per app). No verdict with no documents (with content) or fewer than 5 content words. |
//! | `pii_leak` | **fail** when the answer holds an email address, a phone number or a payment card number (rules in [`pii`]); the explanation names the kinds with masked samples, never the values. Score 1 clean / 0 leak. |
//! | `latency_budget` | with a budget for the span's route (or `"*"`): **pass** when the duration ≤ `latency_ms`; score = budget / actual, clamped to 0..=1. |
//! | `cost_budget` | likewise for the span's cost (sent or priced) against `cost_usd`; no verdict for a span without a cost. |
//!
//! Content recorded: the content evaluators first look at attribute keys only (no parsing, no
//! copying): a span with no input or output content key (`gen_ai.input.messages`,
//! `llm.output_messages.N.message.content`, `input.value`, ...; SEMCONV.md's "input / output
//! content" row) had content capture off and gets no content verdict; OpenInference's
//! `__REDACTED__` counts as nothing recorded. Only then is the conversation read, once: the
//! output first, the input (system and user messages, tool results) only when the output has
//! answer text and json_valid or context_overlap is on.
//!
//! Cost: answers longer than [`MAX_SCAN_BYTES`] (64 KiB) are scanned (refusal, PII, overlap) on
//! their first 64 KiB, which a passing explanation then says; JSON is validated whole (without
//! building a tree), since a cut would make it invalid. Documents are read up to 64 KiB each,
//! 512 KiB in all. Scanners walk bytes and allocate nothing unless they find something (the
//! overlap keeps one hash per distinct answer word). A span with no content costs a key scan.

pub mod builtin;
pub mod cap;
pub mod config;
pub mod external;
pub mod pii;

use crate::intern::Sym;
use crate::model::ids::TraceId;
use crate::model::record::{SpanRecord, StatusCode};
use crate::semconv::content::{self, Document};
use crate::semconv::types::{Kind, Semantics, Verdict, VerdictSource};
pub use builtin::MAX_SCAN_BYTES;
use builtin::{Answer, DocumentIndex, JsonCheck, Recorded};
pub use cap::DEFAULT_MAX_PER_SECOND;
pub use config::{Budget, BuiltinConfig};
use std::sync::LazyLock;

/// Verdict names of the built-in evaluators.
pub mod names {
    pub const EMPTY_OUTPUT: &str = "empty_output";
    pub const REFUSAL: &str = "refusal";
    pub const JSON_VALID: &str = "json_valid";
    pub const CONTEXT_OVERLAP: &str = "context_overlap";
    pub const PII_LEAK: &str = "pii_leak";
    pub const LATENCY_BUDGET: &str = "latency_budget";
    pub const COST_BUDGET: &str = "cost_budget";
    pub const ALL: [&str; 7] = [
        EMPTY_OUTPUT,
        REFUSAL,
        JSON_VALID,
        CONTEXT_OVERLAP,
        PII_LEAK,
        LATENCY_BUDGET,
        COST_BUDGET,
    ];
}

/// Per trace of one request, a cohort value (route, tenant) the evaluators use: the root span's
/// when the root came in the request, else the first span's that has one. Spans of a trace that
/// arrive in other requests are not consulted.
pub fn per_trace<'a>(
    spans: &'a [SpanRecord],
    value: impl Fn(&'a Semantics) -> Option<&'a Sym>,
) -> foldhash::HashMap<TraceId, &'a Sym> {
    let mut out: foldhash::HashMap<TraceId, &'a Sym> = foldhash::HashMap::default();
    for s in spans {
        if let Some(v) = s.sem.as_deref().and_then(&value) {
            let e = out.entry(s.trace_id).or_insert(v);
            if s.parent_span_id.is_none() {
                *e = v;
            }
        }
    }
    out
}

/// The documents the retrieval spans of one request returned, read into an index per trace (the
/// documents [`per_trace_documents`] gives, their texts borrowed from the spans where they can
/// be): each trace's documents are read once for all its calls, and only the hashes of their
/// words are kept.
pub fn per_trace_index(
    spans: &[SpanRecord],
    want: impl Fn(TraceId) -> bool,
) -> foldhash::HashMap<TraceId, DocumentIndex> {
    per_retrieval_trace(spans, want, content::document_contents)
        .into_iter()
        .map(|(t, docs)| (t, DocumentIndex::new(docs.iter().map(|d| &**d))))
        .collect()
}

/// The documents the retrieval spans of one request returned, per trace, for the traces `want`
/// names. No documents is better than documents of another request that may not be this call's.
pub fn per_trace_documents(
    spans: &[SpanRecord],
    want: impl Fn(TraceId) -> bool,
) -> foldhash::HashMap<TraceId, Vec<Document>> {
    per_retrieval_trace(spans, want, content::documents)
}

/// What `read` gives of each retrieval span of the traces `want` names, per trace, in span order.
fn per_retrieval_trace<'a, T>(
    spans: &'a [SpanRecord],
    want: impl Fn(TraceId) -> bool,
    read: impl Fn(&'a SpanRecord) -> Vec<T>,
) -> foldhash::HashMap<TraceId, Vec<T>> {
    let mut out: foldhash::HashMap<TraceId, Vec<T>> = foldhash::HashMap::default();
    for s in spans {
        if s.sem.as_deref().is_some_and(|m| m.kind == Kind::Retrieval) && want(s.trace_id) {
            out.entry(s.trace_id).or_default().extend(read(s));
        }
    }
    out
}

/// Verdicts of the enabled evaluators on one model-call span (`sem.is_model_call()`; other
/// spans get none). `documents` are the retrieved documents of the same trace known so far
/// (for context_overlap; none → no context_overlap verdict). `route` is the span's route
/// (inherited from its trace when the caller knows it) for the budgets; `None` falls back to the
/// span's own route.
pub fn evaluate(
    config: &BuiltinConfig,
    span: &SpanRecord,
    documents: &[Document],
    route: Option<&str>,
) -> Vec<Verdict> {
    let index = if config.context_overlap && !documents.is_empty() {
        documents.iter().collect()
    } else {
        DocumentIndex::default()
    };
    evaluate_indexed(config, span, &index, route)
}

/// [`evaluate`] with the trace's documents already read into an index (built once for all the
/// trace's calls in a request).
pub fn evaluate_indexed(
    config: &BuiltinConfig,
    span: &SpanRecord,
    documents: &DocumentIndex,
    route: Option<&str>,
) -> Vec<Verdict> {
    let Some(sem) = span.sem.as_deref() else {
        return Vec::new();
    };
    if !sem.is_model_call() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if sem.kind == Kind::Llm && config.reads_content() {
        content_verdicts(config, span, sem, documents, &mut out);
    }
    if !config.budgets.is_empty() {
        budget_verdicts(config, span, sem, route.or(sem.route.as_deref()), &mut out);
    }
    out
}

fn content_verdicts(
    config: &BuiltinConfig,
    span: &SpanRecord,
    sem: &Semantics,
    documents: &DocumentIndex,
    out: &mut Vec<Verdict>,
) {
    let recorded = Recorded::of(&span.attributes);
    if !recorded.any() {
        return;
    }
    let answer = Answer::of(content::output_messages(span));

    if config.empty_output {
        let empty = !answer.has_text()
            && answer.tool_calls == 0
            && !builtin::answered_with_tool_call(&span.attributes);
        let excused = !recorded.output && (span.status == StatusCode::Error || sem.streaming == Some(true));
        if !empty {
            let why = || match (&answer.first_tool, answer.has_text()) {
                (Some(tool), false) => format!("output is a tool call ({tool})"),
                (None, false) => "output is a tool call".to_string(),
                _ => format!("output has {} characters", answer.text.trim().chars().count()),
            };
            out.push(verdict(span, Name::EmptyOutput, true, 1.0, why));
        } else if !excused {
            let why = if recorded.output {
                "output is empty"
            } else {
                "output is missing (input recorded, no output)"
            };
            out.push(verdict(span, Name::EmptyOutput, false, 0.0, || why.to_string()));
        }
    }
    if !answer.has_text() {
        return;
    }
    // The input (the prompt for json_valid, tool results for context_overlap) only now: most
    // calls that answer with a tool call end above.
    let (system, input) = if config.json_valid || config.context_overlap {
        content::input_messages(span)
    } else {
        Default::default()
    };
    // Only json_valid reads the request (attributes, else the prompt), and only with an answer.
    let json_reason = config
        .json_valid
        .then(|| builtin::json_requested(&span.attributes, &system, &input))
        .flatten();
    let full = answer.text.as_str();
    let (text, cut) = builtin::head(full, MAX_SCAN_BYTES);
    let scanned = |what: &str| {
        if cut {
            format!(
                "{what} in the first 64 KiB of the output ({} KiB)",
                full.len() / 1024
            )
        } else {
            format!("{what} in the output")
        }
    };

    if config.refusal {
        let v = match builtin::refusal(text) {
            Some(p) => verdict(span, Name::Refusal, false, 0.0, || {
                format!("refusal phrase: {p:?}")
            }),
            None => verdict(span, Name::Refusal, true, 1.0, || scanned("no refusal phrase")),
        };
        out.push(v);
    }
    if let Some(reason) = json_reason {
        match builtin::json_check(full) {
            JsonCheck::Valid { fenced } => {
                let form = if fenced { " (in a fenced block)" } else { "" };
                let why = format!("output is valid JSON{form}; JSON requested by {reason}");
                out.push(verdict(span, Name::JsonValid, true, 1.0, || why));
            }
            JsonCheck::Invalid(e) => {
                let why = format!("output is not valid JSON ({e}); JSON requested by {reason}");
                out.push(verdict(span, Name::JsonValid, false, 0.0, || why));
            }
            JsonCheck::Truncated => {}
        }
    }
    // The context the model was given: the trace's retrieved documents and the tool results in
    // this call's own input (an agent answering from a tool's output is grounded in it).
    let tool_results = input
        .iter()
        .filter(|m| m.role == "tool" && !m.content.trim().is_empty())
        .map(|m| m.content.as_str());
    if config.context_overlap
        && let Some(o) = documents.overlap(text, tool_results)
    {
        let passed = o.share >= config.context_overlap_threshold;
        let plural = if o.documents == 1 { "" } else { "s" };
        let mut why = format!(
            "{:.2} of {} content words found in {} document{plural} or tool result{plural}",
            o.share, o.words, o.documents
        );
        if cut {
            why.push_str(" (first 64 KiB of the output)");
        }
        out.push(verdict(span, Name::ContextOverlap, passed, o.share, || why));
    }
    if config.pii_leak {
        let found = pii::scan(text);
        let v = if found.is_clean() {
            verdict(span, Name::PiiLeak, true, 1.0, || {
                scanned("no email, phone or card number")
            })
        } else {
            verdict(span, Name::PiiLeak, false, 0.0, || {
                format!("{} in output", found.describe())
            })
        };
        out.push(v);
    }
}

fn budget_verdicts(
    config: &BuiltinConfig,
    span: &SpanRecord,
    sem: &Semantics,
    route: Option<&str>,
    out: &mut Vec<Verdict>,
) {
    let Some((key, budget)) = config.budget(route) else {
        return;
    };
    let scope = if key == "*" {
        "any route".to_string()
    } else {
        format!("route {key}")
    };
    if let Some(limit) = budget.latency_ms.filter(|l| l.is_finite()) {
        let ms = span.duration_nanos() as f64 / 1e6;
        let passed = ms <= limit;
        let relation = if passed { "within" } else { "over" };
        let why = format!("{ms:.0} ms, {relation} the {limit} ms budget for {scope}");
        out.push(verdict(
            span,
            Name::LatencyBudget,
            passed,
            ratio(limit, ms),
            || why,
        ));
    }
    if let (Some(limit), Some(cost)) = (budget.cost_usd.filter(|l| l.is_finite()), sem.cost_usd) {
        let passed = cost <= limit;
        let relation = if passed { "within" } else { "over" };
        let why = format!("${cost:.6}, {relation} the ${limit} budget for {scope}");
        out.push(verdict(
            span,
            Name::CostBudget,
            passed,
            ratio(limit, cost),
            || why,
        ));
    }
}

/// budget / actual, clamped to 0..=1 (1 when the actual is nothing).
fn ratio(budget: f64, actual: f64) -> f64 {
    if actual <= 0.0 {
        return 1.0;
    }
    let r = budget / actual;
    if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) }
}

#[derive(Clone, Copy)]
enum Name {
    EmptyOutput,
    Refusal,
    JsonValid,
    ContextOverlap,
    PiiLeak,
    LatencyBudget,
    CostBudget,
}

/// Shared copies of the names and labels, so a verdict costs no string allocation for them.
static NAME_SYMS: LazyLock<[Sym; 7]> = LazyLock::new(|| names::ALL.map(Sym::from));
static LABELS: LazyLock<[Sym; 2]> = LazyLock::new(|| [Sym::from("pass"), Sym::from("fail")]);

/// A verdict on `span`; `explanation` is only called when the verdict keeps one.
fn verdict(
    span: &SpanRecord,
    name: Name,
    passed: bool,
    score: f64,
    explanation: impl FnOnce() -> String,
) -> Verdict {
    Verdict {
        trace_id: Some(span.trace_id),
        target: Some(span.span_id),
        response_id: None,
        name: NAME_SYMS[name as usize].clone(),
        score: Some(score),
        label: Some(LABELS[usize::from(!passed)].clone()),
        // Every model call gets an empty_output, refusal and pii_leak verdict and nearly all
        // pass: their passes keep no text, so memory goes to spans, not to "nothing found".
        // Measurements (overlap, JSON, budgets) keep theirs.
        explanation: (!passed || !matches!(name, Name::EmptyOutput | Name::Refusal | Name::PiiLeak))
            .then(|| explanation().into()),
        passed: Some(passed),
        source: VerdictSource::Llmwatch,
        time_unix_nano: span.end_unix_nano,
        reviewer: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attr, Converter, SpanKind, Value};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use std::sync::Arc;

    const QUESTION: &str = r#"[{"role":"user","parts":[{"type":"text","content":"Where is my order?"}]}]"#;

    fn answer_json(text: &str) -> String {
        serde_json::json!([{"role": "assistant", "parts": [{"type": "text", "content": text}]}]).to_string()
    }

    fn span(kind: Kind, attrs: &[(&str, &str)]) -> SpanRecord {
        let mut s = crate::store::test_support::span(1, 2, None, 0);
        s.start_unix_nano = 1_000_000_000;
        s.end_unix_nano = 3_500_000_000;
        s.name = Sym::from("chat gpt-4o");
        s.kind = SpanKind::Client;
        s.attributes = attrs
            .iter()
            .map(|(k, v)| Attr {
                key: Sym::from(*k),
                value: Value::Str((*v).into()),
            })
            .collect();
        s.sem = Some(Box::new(Semantics {
            kind,
            ..Semantics::default()
        }));
        s
    }

    /// An LLM span that asked `QUESTION` and answered `text`.
    fn chat(text: &str) -> SpanRecord {
        span(
            Kind::Llm,
            &[
                ("gen_ai.input.messages", QUESTION),
                ("gen_ai.output.messages", &answer_json(text)),
            ],
        )
    }

    fn run(span: &SpanRecord) -> Vec<Verdict> {
        evaluate(&BuiltinConfig::default(), span, &[], None)
    }

    fn find<'a>(vs: &'a [Verdict], name: &str) -> Option<&'a Verdict> {
        vs.iter().find(|v| &*v.name == name)
    }

    fn get<'a>(vs: &'a [Verdict], name: &str) -> &'a Verdict {
        find(vs, name).unwrap_or_else(|| panic!("no {name} verdict in {vs:#?}"))
    }

    fn explanation(v: &Verdict) -> &str {
        v.explanation.as_deref().unwrap_or_default()
    }

    fn doc(content: &str) -> Document {
        Document {
            content: content.into(),
            ..Document::default()
        }
    }

    #[test]
    fn config_defaults_and_unknown_fields() {
        let c: BuiltinConfig = toml::from_str("").unwrap();
        assert_eq!(c, BuiltinConfig::default());
        assert!(c.empty_output && c.refusal && c.json_valid && c.context_overlap && c.pii_leak);
        assert_eq!(c.context_overlap_threshold, 0.2);
        assert!(c.budgets.is_empty());
        assert!(c.is_active());
        assert!(!BuiltinConfig::off().is_active());
        c.validate().unwrap();

        let c: BuiltinConfig = toml::from_str(
            r#"
            refusal = false
            context_overlap_threshold = 0.7
            [budgets."/support"]
            latency_ms = 2000
            [budgets."*"]
            cost_usd = 0.01
            "#,
        )
        .unwrap();
        assert!(!c.refusal && c.pii_leak);
        assert_eq!(c.context_overlap_threshold, 0.7);
        assert_eq!(
            c.budgets["/support"],
            Budget {
                latency_ms: Some(2000.0),
                cost_usd: None
            }
        );
        assert_eq!(c.budget(Some("/support")).map(|(k, _)| k), Some("/support"));
        assert_eq!(c.budget(Some("/other")).map(|(k, _)| k), Some("*"));
        assert_eq!(c.budget(None).map(|(k, _)| k), Some("*"));
        c.validate().unwrap();

        let e = toml::from_str::<BuiltinConfig>("refusals = true").unwrap_err();
        assert!(e.to_string().contains("unknown field `refusals`"), "{e}");
        let e = toml::from_str::<BuiltinConfig>("[budgets.x]\nlatency = 5").unwrap_err();
        assert!(e.to_string().contains("unknown field `latency`"), "{e}");

        let bad = |toml_text: &str| toml::from_str::<BuiltinConfig>(toml_text).unwrap().validate();
        assert!(bad("context_overlap_threshold = 1.5").is_err());
        assert!(bad("[budgets.x]").unwrap_err().contains("neither"));
        assert!(
            bad("[budgets.x]\ncost_usd = -1")
                .unwrap_err()
                .contains("positive")
        );
    }

    #[test]
    fn verdicts_are_shaped_as_documented() {
        let s = chat("Your order ships tomorrow.");
        let vs = run(&s);
        let names: Vec<&str> = vs.iter().map(|v| &*v.name).collect();
        assert_eq!(names, ["empty_output", "refusal", "pii_leak"]);
        for v in &vs {
            assert_eq!(v.trace_id, Some(s.trace_id));
            assert_eq!(v.target, Some(s.span_id));
            assert_eq!(v.source, VerdictSource::Llmwatch);
            assert_eq!(v.time_unix_nano, s.end_unix_nano);
            assert_eq!(v.passed, Some(true));
            assert_eq!(v.label.as_deref(), Some("pass"));
            assert!(v.score.is_some_and(|x| (0.0..=1.0).contains(&x)));
            // These three pass quietly: no text is kept for "nothing found".
            assert_eq!(v.explanation, None);
        }
        // Names and labels are shared, not allocated per verdict.
        assert!(Arc::strong_count(&vs[0].name) > 1);
        // Everything off: nothing at all.
        assert!(evaluate(&BuiltinConfig::off(), &s, &[doc("x")], Some("r")).is_empty());
    }

    #[test]
    fn non_model_spans_and_embeddings_get_nothing() {
        let attrs = [
            ("input.value", "Where is my order? Respond in JSON."),
            ("output.value", "I can't help with that. Mail me at a@b.io"),
        ];
        for kind in [
            Kind::Embedding,
            Kind::Rerank,
            Kind::Tool,
            Kind::Agent,
            Kind::Retrieval,
            Kind::Other,
        ] {
            assert!(run(&span(kind, &attrs)).is_empty(), "{kind:?}");
        }
        let mut none = span(Kind::Llm, &attrs);
        none.sem = None;
        assert!(run(&none).is_empty());
        // With content on an LLM span, the same attributes do give verdicts.
        assert!(!run(&span(Kind::Llm, &attrs)).is_empty());
    }

    #[test]
    fn empty_output() {
        let fails = |s: &SpanRecord| {
            let vs = run(s);
            let v = get(&vs, names::EMPTY_OUTPUT);
            assert_eq!(
                (v.passed, v.score, v.label.as_deref()),
                (Some(false), Some(0.0), Some("fail"))
            );
            explanation(v).to_string()
        };
        assert_eq!(fails(&chat("")), "output is empty");
        assert_eq!(fails(&chat("  \n\t ")), "output is empty");
        let s = span(
            Kind::Llm,
            &[
                ("llm.input_messages.0.message.content", "hi"),
                ("output.value", ""),
            ],
        );
        assert_eq!(fails(&s), "output is empty");
        let s = span(Kind::Llm, &[("gen_ai.input.messages", QUESTION)]);
        assert_eq!(fails(&s), "output is missing (input recorded, no output)");
        // Only whitespace: no other content verdict either.
        assert_eq!(run(&chat(" ")).len(), 1);

        // A tool call is an answer.
        let call = r#"[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_order","arguments":{}}]}]"#;
        let s = span(
            Kind::Llm,
            &[
                ("gen_ai.input.messages", QUESTION),
                ("gen_ai.output.messages", call),
            ],
        );
        let vs = run(&s);
        assert_eq!(vs.len(), 1);
        assert_eq!(get(&vs, names::EMPTY_OUTPUT).passed, Some(true));
        assert_eq!(explanation(&vs[0]), "");
    }

    #[test]
    fn no_content_recorded_is_no_verdict() {
        // Content capture off: only model, tokens and such.
        let s = span(
            Kind::Llm,
            &[
                ("gen_ai.request.model", "gpt-4o"),
                ("gen_ai.prompt.version", "3"),
                ("gen_ai.completion.0.finish_reason", "stop"),
                ("llm.output_messages.0.message.role", "assistant"),
            ],
        );
        assert!(run(&s).is_empty());
        // OpenInference with hidden inputs and outputs.
        let s = span(
            Kind::Llm,
            &[("input.value", "__REDACTED__"), ("output.value", "__REDACTED__")],
        );
        assert!(run(&s).is_empty());
        // An error or a streaming call without output: the output is not known to be empty.
        let mut s = span(Kind::Llm, &[("gen_ai.input.messages", QUESTION)]);
        s.status = StatusCode::Error;
        assert!(run(&s).is_empty());
        let mut s = span(Kind::Llm, &[("gen_ai.input.messages", QUESTION)]);
        s.sem.as_mut().unwrap().streaming = Some(true);
        assert!(run(&s).is_empty());
        // ...but an error span that recorded an empty output is still judged.
        let mut s = chat("");
        s.status = StatusCode::Error;
        assert_eq!(get(&run(&s), names::EMPTY_OUTPUT).passed, Some(false));
    }

    #[test]
    fn refusal() {
        let vs = run(&chat("I'm sorry, but I can't share another customer's order."));
        let v = get(&vs, names::REFUSAL);
        assert_eq!((v.passed, v.score), (Some(false), Some(0.0)));
        assert_eq!(explanation(v), "refusal phrase: \"I'm sorry, but I can't\"");
        let vs = run(&chat("As an AI language model, I have no opinions."));
        assert_eq!(
            explanation(get(&vs, names::REFUSAL)),
            "refusal phrase: \"As an AI language model\""
        );

        let vs = run(&chat(
            "It ships tomorrow. Is there anything else I can help you with?",
        ));
        let v = get(&vs, names::REFUSAL);
        assert_eq!((v.passed, v.score), (Some(true), Some(1.0)));
        assert_eq!(explanation(v), "");
        // No answer text: no refusal verdict.
        assert!(find(&run(&chat("")), names::REFUSAL).is_none());
    }

    #[test]
    fn json_valid_only_when_requested() {
        let asked = |answer: &str| {
            span(
                Kind::Llm,
                &[
                    ("gen_ai.input.messages", QUESTION),
                    ("gen_ai.output.messages", &answer_json(answer)),
                    ("gen_ai.output.type", "json"),
                ],
            )
        };
        let vs = run(&asked(r#"{"order": "A-1042", "status": "in_transit"}"#));
        let v = get(&vs, names::JSON_VALID);
        assert_eq!((v.passed, v.score), (Some(true), Some(1.0)));
        assert_eq!(
            explanation(v),
            "output is valid JSON; JSON requested by gen_ai.output.type"
        );

        let vs = run(&asked("```json\n{\"order\": \"A-1042\"}\n```"));
        let v = get(&vs, names::JSON_VALID);
        assert_eq!(v.passed, Some(true));
        assert!(explanation(v).contains("fenced block"));

        let vs = run(&asked("The order is in transit."));
        let v = get(&vs, names::JSON_VALID);
        assert_eq!(
            (v.passed, v.score, v.label.as_deref()),
            (Some(false), Some(0.0), Some("fail"))
        );
        assert!(
            explanation(v).starts_with("output is not valid JSON"),
            "{}",
            explanation(v)
        );

        // Asked by the prompt (OpenInference flattened messages).
        let s = span(
            Kind::Llm,
            &[
                ("llm.input_messages.0.message.role", "system"),
                (
                    "llm.input_messages.0.message.content",
                    "Reply only with a JSON object.",
                ),
                ("llm.input_messages.1.message.role", "user"),
                ("llm.input_messages.1.message.content", "Status of A-1042?"),
                ("llm.output_messages.0.message.role", "assistant"),
                ("llm.output_messages.0.message.content", "{\"status\": \"late\"}"),
            ],
        );
        let vs = run(&s);
        assert_eq!(
            explanation(get(&vs, names::JSON_VALID)),
            "output is valid JSON; JSON requested by the prompt"
        );
        // Not asked: no verdict, whatever the answer is.
        assert!(find(&run(&chat("{\"a\": 1}")), names::JSON_VALID).is_none());
        assert!(find(&run(&chat("not json")), names::JSON_VALID).is_none());
        // Truncated by the converter: cannot be judged.
        assert!(
            find(
                &run(&asked("{\"a\": \"xxx…[truncated 99 bytes]")),
                names::JSON_VALID
            )
            .is_none()
        );
    }

    #[test]
    fn tool_results_in_the_input_count_as_context() {
        let input = r#"[{"role":"user","parts":[{"type":"text","content":"Where is order 1234?"}]},
            {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"Order 1234 left the Rotterdam depot on Tuesday with carrier DHL, tracking 00340434."}]}]"#;
        let s = span(
            Kind::Llm,
            &[
                ("gen_ai.input.messages", input),
                (
                    "gen_ai.output.messages",
                    &answer_json(
                        "Order 1234 left the Rotterdam depot on Tuesday with DHL; tracking 00340434.",
                    ),
                ),
            ],
        );
        let vs = evaluate(&BuiltinConfig::default(), &s, &[], None);
        let v = get(&vs, names::CONTEXT_OVERLAP);
        assert_eq!(v.passed, Some(true), "{}", explanation(v));
    }

    #[test]
    fn context_overlap() {
        let docs = [
            doc("Orders ship within 2 business days; tracking is emailed at dispatch."),
            doc("Late deliveries: carriers may need 1-2 extra days during peak season."),
        ];
        let config = BuiltinConfig::default();
        let grounded = chat("Orders ship within 2 business days and tracking is emailed at dispatch.");
        let vs = evaluate(&config, &grounded, &docs, None);
        let v = get(&vs, names::CONTEXT_OVERLAP);
        assert_eq!((v.passed, v.score), (Some(true), Some(1.0)));
        assert_eq!(
            explanation(v),
            "1.00 of 8 content words found in 2 documents or tool results"
        );

        let drifting = chat("Your parcel was handed to a courier in Lisbon and will arrive on Friday.");
        let vs = evaluate(&config, &drifting, &docs, None);
        let v = get(&vs, names::CONTEXT_OVERLAP);
        assert_eq!(v.passed, Some(false));
        assert_eq!(
            explanation(v),
            "0.00 of 6 content words found in 2 documents or tool results"
        );

        // The threshold decides.
        let half = chat("Orders ship within days from Lisbon by courier parcel depot.");
        let score = |threshold: f64| {
            let c = BuiltinConfig {
                context_overlap_threshold: threshold,
                ..BuiltinConfig::default()
            };
            let vs = evaluate(&c, &half, &docs[..1], None);
            let v = get(&vs, names::CONTEXT_OVERLAP);
            (v.score.unwrap(), v.passed.unwrap())
        };
        assert_eq!(score(0.5), (0.5, true));
        assert_eq!(score(0.6), (0.5, false));
        assert!(
            explanation(get(
                &evaluate(&config, &half, &docs[..1], None),
                names::CONTEXT_OVERLAP
            ))
            .ends_with("in 1 document or tool result")
        );

        // No documents, or a short answer: no verdict.
        assert!(find(&evaluate(&config, &grounded, &[], None), names::CONTEXT_OVERLAP).is_none());
        assert!(
            find(
                &evaluate(&config, &chat("It ships soon."), &docs, None),
                names::CONTEXT_OVERLAP
            )
            .is_none()
        );
    }

    #[test]
    fn pii_leak() {
        let vs = run(&chat(
            "Sure: the customer is jane.doe@example.com, phone +1 (555) 123-4567.",
        ));
        let v = get(&vs, names::PII_LEAK);
        assert_eq!(
            (v.passed, v.score, v.label.as_deref()),
            (Some(false), Some(0.0), Some("fail"))
        );
        assert_eq!(
            explanation(v),
            "email address (j***@***.com) and phone number (***67) in output"
        );
        assert!(!explanation(v).contains("jane") && !explanation(v).contains("4567"));

        let vs = run(&chat("Card on file: 4111 1111 1111 1111."));
        assert_eq!(
            explanation(get(&vs, names::PII_LEAK)),
            "card number (****1111) in output"
        );

        for clean in [
            "Your order A-1042 (product 123456789012) ships on 2026-11-28 at 10:30.",
            "Reference 1234 5678 9012 3456 is not a card (Luhn-invalid).",
            "Version 10.0.19041.1234 on host 192.168.100.200.",
        ] {
            let vs = run(&chat(clean));
            let v = get(&vs, names::PII_LEAK);
            assert_eq!((v.passed, v.score), (Some(true), Some(1.0)), "{clean}");
            assert_eq!(explanation(v), "");
        }
    }

    #[test]
    fn long_outputs_are_scanned_on_their_first_64_kib() {
        let mut text = "All good here. ".repeat(5000);
        text.push_str("I can't help with that; mail x@y.io");
        let vs = run(&chat(&text));
        let v = get(&vs, names::REFUSAL);
        assert_eq!(v.passed, Some(true));
        assert_eq!(explanation(v), "");
        assert_eq!(get(&vs, names::PII_LEAK).passed, Some(true));
        // JSON is validated whole.
        let big = format!("[{}1]", "1,".repeat(50_000));
        let s = span(
            Kind::Llm,
            &[
                ("gen_ai.input.messages", QUESTION),
                ("gen_ai.output.messages", &answer_json(&big)),
                ("gen_ai.request.structured_output_schema", "{}"),
            ],
        );
        assert_eq!(get(&run(&s), names::JSON_VALID).passed, Some(true));
    }

    #[test]
    fn budgets() {
        let mut s = span(Kind::Embedding, &[]); // 2.5 s; budgets apply to every model call
        s.sem.as_mut().unwrap().route = Some(Sym::from("/own"));
        let config: BuiltinConfig = toml::from_str(
            r#"
            empty_output = false
            [budgets."/support"]
            latency_ms = 2000
            cost_usd = 0.01
            [budgets."*"]
            latency_ms = 5000
            "#,
        )
        .unwrap();
        // Over the route's latency budget; a span without cost gets no cost verdict.
        let vs = evaluate(&config, &s, &[], Some("/support"));
        assert_eq!(vs.len(), 1);
        let v = get(&vs, names::LATENCY_BUDGET);
        assert_eq!((v.passed, v.score), (Some(false), Some(0.8)));
        assert_eq!(
            explanation(v),
            "2500 ms, over the 2000 ms budget for route /support"
        );
        // Another route (here the span's own, as none is given): the "*" budget.
        let vs = evaluate(&config, &s, &[], None);
        let v = get(&vs, names::LATENCY_BUDGET);
        assert_eq!((v.passed, v.score), (Some(true), Some(1.0)));
        assert_eq!(explanation(v), "2500 ms, within the 5000 ms budget for any route");

        s.sem.as_mut().unwrap().cost_usd = Some(0.04);
        let vs = evaluate(&config, &s, &[], Some("/support"));
        let v = get(&vs, names::COST_BUDGET);
        assert_eq!((v.passed, v.score), (Some(false), Some(0.25)));
        assert_eq!(
            explanation(v),
            "$0.040000, over the $0.01 budget for route /support"
        );
        s.sem.as_mut().unwrap().cost_usd = Some(0.0);
        let vs = evaluate(&config, &s, &[], Some("/support"));
        assert_eq!(get(&vs, names::COST_BUDGET).score, Some(1.0));

        // No budget for the route and no "*": nothing.
        let only_support = BuiltinConfig {
            budgets: config
                .budgets
                .iter()
                .filter(|(k, _)| *k != "*")
                .map(|(k, b)| (k.clone(), b.clone()))
                .collect(),
            ..BuiltinConfig::off()
        };
        assert!(evaluate(&only_support, &s, &[], Some("/else")).is_empty());
        // A tool span has no budget verdict.
        assert!(evaluate(&config, &span(Kind::Tool, &[]), &[], Some("/support")).is_empty());
        assert_eq!(ratio(1.0, f64::INFINITY), 0.0);
    }

    #[test]
    fn real_fixtures_never_panic_and_judge_only_model_calls() {
        let mut judged = 0;
        for name in ["otel_genai.jsonl", "openinference.jsonl", "otel_genai_eval.jsonl"] {
            let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let mut converter = Converter::default();
            let mut spans = Vec::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let req: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
                converter.convert_traces(req, &mut spans, &mut Vec::new());
            }
            let config = BuiltinConfig {
                budgets: [(
                    "*".to_string(),
                    Budget {
                        latency_ms: Some(1.0),
                        cost_usd: Some(1e-9),
                    },
                )]
                .into(),
                ..BuiltinConfig::default()
            };
            for s in &spans {
                let docs: Vec<Document> = spans
                    .iter()
                    .filter(|d| d.trace_id == s.trace_id)
                    .flat_map(content::documents)
                    .collect();
                let vs = evaluate(&config, s, &docs, None);
                let model_call = s.sem.as_ref().is_some_and(|m| m.is_model_call());
                assert_eq!(!vs.is_empty(), model_call, "{name}: {}", s.name);
                for v in &vs {
                    assert_eq!(v.target, Some(s.span_id));
                    assert!(v.score.is_some_and(|x| (0.0..=1.0).contains(&x)), "{v:?}");
                    assert!(names::ALL.contains(&&*v.name));
                }
                let is_llm = s.sem.as_ref().is_some_and(|m| m.kind == Kind::Llm);
                if !is_llm {
                    assert!(
                        vs.iter().all(|v| v.name.ends_with("_budget")),
                        "{name}: {}",
                        s.name
                    );
                }
                // The failed call recorded its question but no answer: an error, not an empty output.
                if s.status == StatusCode::Error {
                    assert!(find(&vs, names::EMPTY_OUTPUT).is_none(), "{name}: {}", s.name);
                }
                judged += vs.len();
            }
            // The final answer of the tool-calling trace is judged on content.
            let answered: Vec<_> = spans
                .iter()
                .map(|s| evaluate(&BuiltinConfig::default(), s, &[], None))
                .filter(|vs| find(vs, names::REFUSAL).is_some())
                .collect();
            assert!(!answered.is_empty(), "{name}");
            for vs in &answered {
                assert_eq!(get(vs, names::REFUSAL).passed, Some(true), "{name}");
                assert_eq!(get(vs, names::PII_LEAK).passed, Some(true), "{name}");
                assert_eq!(get(vs, names::EMPTY_OUTPUT).passed, Some(true), "{name}");
            }
        }
        assert!(judged > 0);
    }
}
