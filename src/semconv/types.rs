//! The semantic layer's records: the normalised view of a span ([`Semantics`]) and an
//! evaluator's [`Verdict`]. A leaf: the span record holds these, and the normaliser, the content
//! reader and the evaluators, all below the module root that re-exports them, name them here.

use crate::intern::Sym;
use crate::model::ids::{SpanId, TraceId};

/// What a span does, across conventions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    Llm,
    Embedding,
    Retrieval,
    Rerank,
    Tool,
    Agent,
    Chain,
    Guardrail,
    Evaluator,
    #[default]
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Llm => "llm",
            Self::Embedding => "embedding",
            Self::Retrieval => "retrieval",
            Self::Rerank => "rerank",
            Self::Tool => "tool",
            Self::Agent => "agent",
            Self::Chain => "chain",
            Self::Guardrail => "guardrail",
            Self::Evaluator => "evaluator",
            Self::Other => "other",
        }
    }

    /// A call to a model: what `llm_calls`, `by_model` and the price table are about.
    pub fn is_model_call(self) -> bool {
        matches!(self, Self::Llm | Self::Embedding | Self::Rerank)
    }
}

/// Token counts in the OTel convention: input includes cache reads and writes, output includes
/// reasoning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub total: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
    /// The library said how many input tokens came from the cache (0 included); when it did
    /// not, `cache_read` is 0 by default and reports show `null`.
    pub cache_known: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostSource {
    /// Sent with the span by the instrumentation (wins over the table).
    Span,
    /// Computed from the bundled or configured price table.
    Table,
}

impl CostSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Span => "span",
            Self::Table => "table",
        }
    }
}

/// The normalised LLM view of a span. Boxed on the record; absent when nothing was recognised.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Semantics {
    pub kind: Kind,
    pub operation: Option<Sym>,
    pub provider: Option<Sym>,
    pub request_model: Option<Sym>,
    pub response_model: Option<Sym>,
    pub usage: Option<TokenUsage>,
    /// USD; `None` with `unpriced` set for a model call the price table cannot price: its model
    /// is not in the table, or its usage is a bare total that does not say what was input.
    pub cost_usd: Option<f64>,
    pub cost_source: Option<CostSource>,
    pub unpriced: bool,
    pub ttft_nanos: Option<u64>,
    pub streaming: Option<bool>,
    pub session: Option<Box<str>>,
    pub user: Option<Box<str>>,
    pub agent: Option<Sym>,
    pub tool: Option<Sym>,
    pub route: Option<Sym>,
    pub tenant: Option<Sym>,
    pub prompt_version: Option<Sym>,
    pub response_id: Option<Box<str>>,
    /// Where in their key lists route, tenant, prompt version and session were found: a value
    /// the trace root has under a better-ranked key wins over the span's own (see
    /// [`CohortKey::value`](crate::semconv::cohort::CohortKey::value)).
    pub ranks: CohortRanks,
    /// A model-call-looking span around the real call (same model, no usage of its own): kept
    /// with its kind for the tree, but not counted as a call (see [`wrapper`](crate::semconv::wrapper)).
    pub wrapper: bool,
}

/// Precedence ranks (0 best) of the keys a span's cohort values came from; meaningful only
/// where the value is present.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CohortRanks {
    pub route: u8,
    pub tenant: u8,
    pub prompt_version: u8,
    pub session: u8,
}

impl Semantics {
    /// A call to a model that counts: calls, tokens, cost, latency and evaluation are about
    /// these (a wrapper around the real call does not count).
    pub fn is_model_call(&self) -> bool {
        self.kind.is_model_call() && !self.wrapper
    }

    /// The model to show and group by: what was requested, else what answered.
    pub fn model(&self) -> Option<&Sym> {
        self.request_model.as_ref().or(self.response_model.as_ref())
    }

    /// The model to price: the dated snapshot that answered, else what was requested.
    pub fn priced_model(&self) -> Option<&Sym> {
        self.response_model.as_ref().or(self.request_model.as_ref())
    }

    /// Output tokens per second after the first token (or over the whole call without TTFT).
    pub fn output_tokens_per_sec(&self, duration_nanos: u64) -> Option<f64> {
        let out = self.usage?.output;
        let gen_nanos = duration_nanos.saturating_sub(self.ttft_nanos.unwrap_or(0));
        (out > 0 && gen_nanos > 0).then(|| out as f64 / (gen_nanos as f64 / 1e9))
    }
}

/// Where a verdict came from on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VerdictSource {
    /// A `gen_ai.evaluation.result` span event.
    SpanEvent,
    /// A `gen_ai.evaluation.result` OTLP log record.
    LogRecord,
    /// OpenInference `annotations.N.*` / `evaluations.N.*` attributes.
    Annotation,
    /// An evaluator span (`gen_ai.evaluation.*` attributes on an EVALUATOR span).
    EvaluatorSpan,
    /// FutureAGI's legacy `eval.{metric}` keys on the evaluated span.
    LegacyEval,
    /// Computed by llmwatch itself.
    Llmwatch,
    /// Answered by an external evaluator command (`[[external]]` in the config).
    External,
    /// A person's verdict: a review made in llmwatch (`--reviews`), an annotation whose
    /// annotator kind is HUMAN, or user feedback (thumbs up / down). Whatever shape it arrived
    /// in, a human verdict is told apart because it outranks the automatic ones.
    Human,
}

impl VerdictSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SpanEvent => "span_event",
            Self::LogRecord => "log_record",
            Self::Annotation => "annotation",
            Self::EvaluatorSpan => "evaluator_span",
            Self::LegacyEval => "legacy_eval",
            Self::Llmwatch => "llmwatch",
            Self::External => "external",
            Self::Human => "human",
        }
    }
}

/// One evaluator's verdict on one span.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The trace of the evaluated span; `None` for a verdict that names only a response id
    /// (the store anchors it by that id).
    pub trace_id: Option<TraceId>,
    /// The evaluated span, when the verdict names it.
    pub target: Option<SpanId>,
    /// Fallback target: the span whose `gen_ai.response.id` matches.
    pub response_id: Option<Box<str>>,
    pub name: Sym,
    pub score: Option<f64>,
    pub label: Option<Sym>,
    pub explanation: Option<Box<str>>,
    /// From the label when it says, else from the evaluator's threshold; `None` when neither.
    pub passed: Option<bool>,
    pub source: VerdictSource,
    pub time_unix_nano: u64,
    /// Who gave a human verdict (`user.name`), when it says.
    pub reviewer: Option<Box<str>>,
}

impl Verdict {
    /// Whether lists and badges show it: every verdict the app sent or an external evaluator
    /// answered, and llmwatch's own heuristic checks only when they fail (a passing built-in check is the quiet default;
    /// the detail pane still lists it).
    pub fn is_notable(&self) -> bool {
        self.source != VerdictSource::Llmwatch || self.passed == Some(false)
    }

    /// A person's verdict (a review, a HUMAN annotation, user feedback).
    pub fn is_human(&self) -> bool {
        self.source == VerdictSource::Human
    }

    /// A user's complaint: a failing human verdict under a feedback name (thumbs-down).
    pub fn is_thumbs_down(&self) -> bool {
        self.is_human() && self.passed == Some(false) && is_feedback_name(&self.name)
    }
}

/// Whether an evaluator name is the usual shape of end-user feedback (`user_feedback`,
/// `feedback`, `thumbs`, `Thumbs Up/Down`, `user-rating`): such a verdict that fails is a
/// user's complaint.
pub fn is_feedback_name(name: &str) -> bool {
    let l = name.trim().to_ascii_lowercase();
    l.contains("feedback") || l.contains("thumb") || l == "user_rating" || l == "user-rating"
}
