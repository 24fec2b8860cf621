//! Attribute keys llmwatch understands, classified once per distinct key string (the converter
//! caches the class beside the interned key), so normalising a span is one pass over its
//! attributes with a table lookup per attribute instead of dozens of string comparisons.
//! Precedence within a concept follows ../shared/SEMCONV.md: lower rank wins.

/// What an attribute key means. `rank` orders keys of the same concept (0 wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    None,
    Known(Concept, u8),
    /// `traceloop.association.properties.<key>`: the suffix may be a cohort key.
    AssociationProperty,
    /// `annotations.N.annotation.*`, `evaluations.N.evaluation.*` (OpenInference), and
    /// `trace.annotations.N.*`.
    Annotation,
    /// `eval.{metric}` and `eval.{metric}.reason` (FutureAGI legacy).
    LegacyEval,
}

/// Concepts a span's attributes can carry. The discriminant indexes the normaliser's slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Concept {
    KindLangfuse,
    KindOpenInference,
    KindTraceAi,
    KindFi,
    Operation,
    KindTraceloop,
    LlmRequestType,
    /// The Vercel AI SDK's `ai.operationId` (`ai.generateText.doGenerate`, `ai.embed.doEmbed`).
    AiOperation,
    Provider,
    RequestModel,
    ResponseModel,
    EmbeddingModel,
    InvocationParameters,
    InputTokens,
    OutputTokens,
    TotalTokens,
    CacheRead,
    CacheWrite,
    Reasoning,
    UsageDetails,
    Cost,
    CostDetails,
    TtftSeconds,
    TtftMillis,
    CompletionStart,
    Session,
    User,
    Agent,
    Tool,
    ToolKey,
    Streaming,
    Metadata,
    Route,
    Tenant,
    PromptVersion,
    ResponseId,
    EvalName,
    EvalScore,
    EvalLabel,
    EvalExplanation,
    EvalTarget,
}

pub const CONCEPTS: usize = Concept::EvalTarget as usize + 1;

use Concept as C;

/// Cohort keys, configurable; defaults follow what real libraries and apps send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CohortKeys {
    pub route: Vec<String>,
    pub tenant: Vec<String>,
    pub prompt_version: Vec<String>,
}

impl Default for CohortKeys {
    fn default() -> Self {
        let v = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect();
        Self {
            route: v(&["app.route", "route", "http.route", "gen_ai.agent.name"]),
            tenant: v(&["tenant.id", "tenant", "tenant_id", "app.tenant"]),
            prompt_version: v(&[
                "prompt.version",
                "gen_ai.prompt.version",
                "prompt_version",
                "langfuse.prompt.version",
                "llm.prompt_template.version",
            ]),
        }
    }
}

impl CohortKeys {
    /// The cohort a key names, with its rank (position in the configured list).
    pub fn classify(&self, key: &str) -> Option<(Concept, u8)> {
        let find =
            |keys: &[String], c: Concept| keys.iter().position(|k| k == key).map(|i| (c, i.min(255) as u8));
        find(&self.route, C::Route)
            .or_else(|| find(&self.tenant, C::Tenant))
            .or_else(|| find(&self.prompt_version, C::PromptVersion))
    }
}

/// Everything a key means: its own class, and the cohort it feeds when it is a configured cohort
/// key (a key can be both, as `gen_ai.agent.name` is the agent and, by default, a route).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub class: Class,
    pub cohort: Option<(Concept, u8)>,
}

impl KeyInfo {
    pub const NONE: KeyInfo = KeyInfo {
        class: Class::None,
        cohort: None,
    };

    pub fn of(key: &str, cohorts: &CohortKeys) -> Self {
        Self {
            class: classify(key),
            cohort: cohorts.classify(key),
        }
    }

    pub fn is_none(&self) -> bool {
        self.class == Class::None && self.cohort.is_none()
    }
}

/// Classifies a span attribute key by the conventions (cohort keys are configured separately).
pub fn classify(key: &str) -> Class {
    let known = |c, r| Class::Known(c, r);
    match key {
        "langfuse.observation.type" => known(C::KindLangfuse, 0),
        "openinference.span.kind" => known(C::KindOpenInference, 0),
        "gen_ai.span.kind" => known(C::KindTraceAi, 0),
        "fi.span.kind" => known(C::KindFi, 0),
        "gen_ai.operation.name" => known(C::Operation, 0),
        "traceloop.span.kind" => known(C::KindTraceloop, 0),
        "llm.request.type" => known(C::LlmRequestType, 0),
        "ai.operationId" => known(C::AiOperation, 0),

        "gen_ai.provider.name" => known(C::Provider, 0),
        "gen_ai.system" => known(C::Provider, 1),
        "llm.provider" => known(C::Provider, 2),
        "llm.system" => known(C::Provider, 3),
        // LangChain's run metadata, which traceAI copies onto its spans.
        "ls_provider" => known(C::Provider, 4),
        // Vercel AI SDK: `openai.chat`, `openai.embedding` (the API after the dot, see
        // `normalise::provider_name`).
        "ai.model.provider" => known(C::Provider, 5),

        "gen_ai.request.model" => known(C::RequestModel, 0),
        "llm.request.model_name" => known(C::RequestModel, 1),
        "langfuse.observation.model.name" => known(C::RequestModel, 2),
        "ai.model.id" => known(C::RequestModel, 3),
        "gen_ai.response.model" => known(C::ResponseModel, 0),
        "llm.response.model_name" => known(C::ResponseModel, 1),
        // OpenInference puts the dated snapshot here: a response model in effect.
        "llm.model_name" => known(C::ResponseModel, 2),
        "ai.response.model" => known(C::ResponseModel, 3),
        "embedding.model_name" => known(C::EmbeddingModel, 0),
        "llm.invocation_parameters" => known(C::InvocationParameters, 0),
        "gen_ai.request.parameters" => known(C::InvocationParameters, 1),
        "embedding.invocation_parameters" => known(C::InvocationParameters, 2),

        "gen_ai.usage.input_tokens" => known(C::InputTokens, 0),
        "gen_ai.usage.prompt_tokens" => known(C::InputTokens, 1),
        "llm.token_count.prompt" => known(C::InputTokens, 2),
        "llm.usage.prompt_tokens" => known(C::InputTokens, 3),
        // Vercel AI SDK (legacy `ai.*` spans): v5+ names, v4 names, and embeddings' one count.
        "ai.usage.inputTokens" => known(C::InputTokens, 4),
        "ai.usage.promptTokens" => known(C::InputTokens, 5),
        "ai.usage.tokens" => known(C::InputTokens, 6),
        "gen_ai.usage.output_tokens" => known(C::OutputTokens, 0),
        "gen_ai.usage.completion_tokens" => known(C::OutputTokens, 1),
        "llm.token_count.completion" => known(C::OutputTokens, 2),
        "llm.usage.completion_tokens" => known(C::OutputTokens, 3),
        "ai.usage.outputTokens" => known(C::OutputTokens, 4),
        "ai.usage.completionTokens" => known(C::OutputTokens, 5),
        "gen_ai.usage.total_tokens" => known(C::TotalTokens, 0),
        "llm.token_count.total" => known(C::TotalTokens, 1),
        "llm.usage.total_tokens" => known(C::TotalTokens, 2),
        "ai.usage.totalTokens" => known(C::TotalTokens, 3),
        "gen_ai.usage.cache_read.input_tokens" => known(C::CacheRead, 0),
        "gen_ai.usage.input_tokens.cache_read" => known(C::CacheRead, 1),
        "llm.token_count.prompt_details.cache_read" => known(C::CacheRead, 2),
        "gen_ai.usage.cache_read_input_tokens" => known(C::CacheRead, 3),
        "ai.usage.inputTokenDetails.cacheReadTokens" => known(C::CacheRead, 4),
        "ai.usage.cachedInputTokens" => known(C::CacheRead, 5),
        "gen_ai.usage.cache_creation.input_tokens" => known(C::CacheWrite, 0),
        "gen_ai.usage.input_tokens.cache_write" => known(C::CacheWrite, 1),
        "llm.token_count.prompt_details.cache_write" => known(C::CacheWrite, 2),
        "gen_ai.usage.cache_creation_input_tokens" => known(C::CacheWrite, 3),
        "ai.usage.inputTokenDetails.cacheWriteTokens" => known(C::CacheWrite, 4),
        "gen_ai.usage.reasoning.output_tokens" => known(C::Reasoning, 0),
        "gen_ai.usage.output_tokens.reasoning" => known(C::Reasoning, 1),
        "llm.token_count.completion_details.reasoning" => known(C::Reasoning, 2),
        "gen_ai.usage.reasoning_tokens" => known(C::Reasoning, 3),
        "ai.usage.outputTokenDetails.reasoningTokens" => known(C::Reasoning, 4),
        "ai.usage.reasoningTokens" => known(C::Reasoning, 5),
        "langfuse.observation.usage_details" => known(C::UsageDetails, 0),

        "llm.cost.total" => known(C::Cost, 0),
        "gen_ai.cost.total" => known(C::Cost, 1),
        "gen_ai.usage.cost" => known(C::Cost, 2),
        "operation.cost" => known(C::Cost, 3),
        "langfuse.observation.cost_details" => known(C::CostDetails, 0),

        "gen_ai.response.time_to_first_chunk" => known(C::TtftSeconds, 0),
        // The metric's name, which Pydantic AI (logfire) and the Vercel AI SDK v7 also set on
        // the span.
        "gen_ai.client.operation.time_to_first_chunk" => known(C::TtftSeconds, 1),
        "gen_ai.server.time_to_first_token" => known(C::TtftSeconds, 2),
        "langfuse.observation.completion_start_time" => known(C::CompletionStart, 0),
        "ai.response.msToFirstChunk" => known(C::TtftMillis, 0),

        // A session outlives the conversation id some libraries mint per agent run (Pydantic
        // AI), so the session-class keys come first.
        "session.id" => known(C::Session, 0),
        "langfuse.session.id" => known(C::Session, 1),
        "gen_ai.conversation.id" => known(C::Session, 2),
        "user.id" => known(C::User, 0),
        "langfuse.user.id" => known(C::User, 1),
        "enduser.id" => known(C::User, 2),
        "gen_ai.agent.name" => known(C::Agent, 0),
        "agent.name" => known(C::Agent, 1),
        "gen_ai.tool.name" => known(C::Tool, 0),
        "tool.name" => known(C::Tool, 1),
        "tool_call.function.name" => known(C::Tool, 2),
        "gen_ai.request.stream" => known(C::Streaming, 0),
        "gen_ai.is_streaming" => known(C::Streaming, 1),
        "llm.is_streaming" => known(C::Streaming, 2),
        "metadata" => known(C::Metadata, 0),
        "langfuse.trace.metadata" => known(C::Metadata, 1),
        "gen_ai.response.id" => known(C::ResponseId, 0),

        "gen_ai.evaluation.name" => known(C::EvalName, 0),
        "gen_ai.evaluation.score.value" => known(C::EvalScore, 0),
        "gen_ai.evaluation.score.label" => known(C::EvalLabel, 0),
        "gen_ai.evaluation.explanation" => known(C::EvalExplanation, 0),
        "gen_ai.evaluation.target_span_id" => known(C::EvalTarget, 0),

        // The tools offered to the model, which OTel puts on inference spans: not a tool call.
        "gen_ai.tool.definitions" => Class::None,

        k if k.starts_with("traceloop.association.properties.") => Class::AssociationProperty,
        k if k.starts_with("annotations.")
            || k.starts_with("evaluations.")
            || k.starts_with("trace.annotations.") =>
        {
            Class::Annotation
        }
        k if k.starts_with("eval.") => Class::LegacyEval,
        k if k.starts_with("gen_ai.tool.") => known(C::ToolKey, 0),
        _ => Class::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_ranks_follow_semconv() {
        assert_eq!(classify("gen_ai.provider.name"), Class::Known(C::Provider, 0));
        assert_eq!(classify("gen_ai.system"), Class::Known(C::Provider, 1));
        assert_eq!(
            classify("gen_ai.usage.prompt_tokens"),
            Class::Known(C::InputTokens, 1)
        );
        assert_eq!(
            classify("traceloop.association.properties.tenant"),
            Class::AssociationProperty
        );
        assert_eq!(classify("annotations.0.annotation.name"), Class::Annotation);
        assert_eq!(classify("gen_ai.tool.call.id"), Class::Known(C::ToolKey, 0));
        assert_eq!(classify("http.response.status_code"), Class::None);
    }

    #[test]
    fn cohort_keys_are_configurable_and_ranked() {
        let keys = CohortKeys::default();
        assert_eq!(keys.classify("app.route"), Some((C::Route, 0)));
        assert_eq!(keys.classify("http.route"), Some((C::Route, 2)));
        assert_eq!(keys.classify("tenant.id"), Some((C::Tenant, 0)));
        assert_eq!(
            keys.classify("gen_ai.prompt.version"),
            Some((C::PromptVersion, 1))
        );
        let custom = CohortKeys {
            route: vec!["x.route".into()],
            ..CohortKeys::default()
        };
        assert_eq!(custom.classify("app.route"), None);
        assert_eq!(custom.classify("x.route"), Some((C::Route, 0)));
    }
}
