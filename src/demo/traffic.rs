//! The traces themselves: five routes of agent traffic across three services, written in the
//! conventions real instrumentations use (OTel GenAI for two services, OpenInference for one).
//! Times are relative to the trace's start; [`super::DemoGenerator`] places each trace in its
//! second.

use super::content::*;
use super::otlp::{Messages, b, f, i, json_str, push_json_str, s, strs, u};
use super::rng::Rng;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use std::fmt::Write;

const INTERNAL: i32 = 1;
const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const STATUS_OK: i32 = 1;
const STATUS_ERROR: i32 = 2;
/// Span flags as the Python SDK sends them (the parent's is-remote bit is known: local).
const FLAGS: u32 = 0x100;
const MS: f64 = 1e6;

pub(crate) struct ServiceDef {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) instance: &'static str,
}

pub(crate) const SERVICES: [ServiceDef; 3] = [
    ServiceDef {
        name: "support-agent",
        version: "2.14.0",
        instance: "support-agent-7d9f8c6b5-x2k4q",
    },
    ServiceDef {
        name: "research-assistant",
        version: "0.9.3",
        instance: "research-assistant-5c6d7f9b8-m8p2z",
    },
    ServiceDef {
        name: "docs-qa",
        version: "1.4.1",
        instance: "docs-qa-6b8c9d7f4-q7w3n",
    },
];

/// Instrumentation scopes, each belonging to one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    SupportOpenai,
    SupportGenai,
    SupportAnthropic,
    SupportHttp,
    SupportApp,
    ResearchAnthropic,
    ResearchOpenai,
    ResearchApp,
    DocsOpenai,
    DocsApp,
}

pub(crate) const SCOPE_COUNT: usize = 10;

/// (service index, scope name, scope version), indexed by [`Scope`].
pub(crate) const SCOPES: [(usize, &str, &str); SCOPE_COUNT] = [
    (0, "opentelemetry.instrumentation.openai_v2", "2.4b0"),
    (0, "opentelemetry.util.genai.handler", "1.1b0"),
    (0, "opentelemetry.instrumentation.anthropic", "0.47.3"),
    (0, "opentelemetry.instrumentation.fastapi", "0.58b0"),
    (0, "support_agent", "2.14.0"),
    (1, "opentelemetry.instrumentation.anthropic", "0.47.3"),
    (1, "opentelemetry.instrumentation.openai_v2", "2.4b0"),
    (1, "research_assistant.agent", "0.9.3"),
    (2, "openinference.instrumentation.openai", "0.1.66"),
    (2, "openinference.instrumentation.llama_index", "4.3.5"),
];

pub(crate) const EVAL_SCOPE: (&str, &str) = ("relevance_judge", "1.2.0");

#[derive(Debug)]
pub(crate) struct ModelDef {
    pub(crate) request: &'static str,
    pub(crate) response: &'static str,
    pub(crate) provider: &'static str,
    server: &'static str,
    ttft_ms: f64,
    tokens_per_sec: f64,
}

pub(crate) const GPT_4O_MINI: ModelDef = ModelDef {
    request: "gpt-4o-mini",
    response: "gpt-4o-mini-2024-07-18",
    provider: "openai",
    server: "api.openai.com",
    ttft_ms: 380.0,
    tokens_per_sec: 95.0,
};
pub(crate) const GPT_4O: ModelDef = ModelDef {
    request: "gpt-4o",
    response: "gpt-4o-2024-08-06",
    provider: "openai",
    server: "api.openai.com",
    ttft_ms: 520.0,
    tokens_per_sec: 75.0,
};
pub(crate) const O4_MINI: ModelDef = ModelDef {
    request: "o4-mini",
    response: "o4-mini-2025-04-16",
    provider: "openai",
    server: "api.openai.com",
    ttft_ms: 600.0,
    tokens_per_sec: 130.0,
};
pub(crate) const CLAUDE_SONNET: ModelDef = ModelDef {
    request: "claude-sonnet-4-5",
    response: "claude-sonnet-4-5-20250929",
    provider: "anthropic",
    server: "api.anthropic.com",
    ttft_ms: 850.0,
    tokens_per_sec: 62.0,
};
pub(crate) const CLAUDE_HAIKU: ModelDef = ModelDef {
    request: "claude-haiku-4-5",
    response: "claude-haiku-4-5-20251001",
    provider: "anthropic",
    server: "api.anthropic.com",
    ttft_ms: 420.0,
    tokens_per_sec: 140.0,
};
pub(crate) const EMBEDDING: ModelDef = ModelDef {
    request: "text-embedding-3-small",
    response: "text-embedding-3-small",
    provider: "openai",
    server: "api.openai.com",
    ttft_ms: 95.0,
    tokens_per_sec: 0.0,
};

/// Every model the demo calls.
pub(crate) const MODELS: [&ModelDef; 6] = [
    &GPT_4O_MINI,
    &GPT_4O,
    &O4_MINI,
    &CLAUDE_SONNET,
    &CLAUDE_HAIKU,
    &EMBEDDING,
];

/// Routes (app.route on the root span) and their share of traces.
pub(crate) const ROUTES: [(&str, u32); 5] = [
    ("/support/order-status", 28),
    ("/support/refund", 16),
    ("/support/triage", 14),
    ("/research/brief", 16),
    ("/docs/ask", 26),
];

/// The prompt version each route's agent runs (support-agent and research-assistant set
/// `prompt.version` on their root spans; docs-qa does not, so the coverage row has something to
/// say).
pub(crate) fn prompt_version(route: &str) -> &'static str {
    match route {
        "/support/order-status" => "order-status@v12",
        "/support/refund" => "refund@v7",
        "/support/triage" => "triage@v3",
        "/research/brief" => "brief@v21",
        _ => "v1",
    }
}

/// Tenants and their share of traffic.
pub(crate) const TENANTS: [(&str, u32); 6] = [
    ("acme-corp", 30),
    ("globex", 22),
    ("initech", 18),
    ("umbrella", 14),
    ("hooli", 10),
    ("stark-industries", 6),
];

/// Which scripted incidents are on for the second being generated.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Active {
    /// The refund route's tool retry loop.
    pub(crate) retry_loop: bool,
    /// The slow model answers 3-5x slower.
    pub(crate) slow_model: bool,
    /// The cohort's answers stop being grounded.
    pub(crate) grounding: bool,
}

pub(crate) const RETRY_LOOP_ROUTE: &str = "/support/refund";
pub(crate) const SLOW_MODEL: &ModelDef = &CLAUDE_SONNET;
pub(crate) const UNGROUNDED_TENANT: &str = "globex";

/// One trace being built, with times relative to its start.
#[derive(Default)]
pub(crate) struct Tr {
    pub(crate) trace_id: [u8; 16],
    pub(crate) spans: Vec<(Scope, Span)>,
    /// Evaluation log records, with the index of the service that sent them.
    pub(crate) logs: Vec<(usize, LogRecord)>,
    /// The clock: where the next step starts.
    t: u64,
    /// Plumbing spans among `spans` (the tools' HTTP calls), which the demo's span rate does
    /// not count: adding them left the traffic it draws as it was.
    plumbing: usize,
}

struct Who {
    route: &'static str,
    tenant: &'static str,
    user: String,
    session: String,
}

/// How a chat call's TTFT is reported, when it streams.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ttft {
    Attribute,
    Event,
}

struct Chat {
    model: &'static ModelDef,
    scope: Scope,
    parent: [u8; 8],
    input: String,
    output: String,
    input_tokens: u64,
    /// Visible output; reasoning is added on top.
    output_tokens: u64,
    reasoning: u64,
    cache_read: u64,
    cache_write: u64,
    finish: &'static str,
    stream: Option<Ttft>,
    temperature: Option<f64>,
    max_tokens: i64,
}

/// The answer-quality facts an evaluator reports on.
struct Quality {
    grounded: bool,
    explanation: &'static str,
}

pub(crate) struct Traffic {
    pub(crate) rng: Rng,
    pub(crate) tr: Tr,
    session_salt: u64,
    /// Latency factor for the slow model while its incident is on.
    slow: f64,
}

fn est_tokens(text: &str) -> u64 {
    text.len() as u64 / 4 + 4
}

fn ns(ms: f64) -> u64 {
    (ms * MS) as u64
}

/// Rounds to two decimals (exactly: no platform-dependent maths).
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl Traffic {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let session_salt = rng.next_u64();
        Self {
            rng,
            tr: Tr::default(),
            session_salt,
            slow: 1.0,
        }
    }

    fn id(&mut self) -> [u8; 8] {
        self.rng.id::<8>()
    }

    fn span(&mut self, id: [u8; 8], parent: Option<[u8; 8]>, name: String, kind: i32, start: u64) -> Span {
        Span {
            trace_id: self.tr.trace_id.to_vec(),
            span_id: id.to_vec(),
            parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
            flags: FLAGS,
            name,
            kind,
            start_time_unix_nano: start,
            end_time_unix_nano: self.tr.t.max(start),
            ..Default::default()
        }
    }

    fn push(&mut self, scope: Scope, span: Span) -> usize {
        self.tr.spans.push((scope, span));
        self.tr.spans.len() - 1
    }

    fn response_id(&mut self, model: &ModelDef) -> String {
        let mut id = String::with_capacity(40);
        if model.provider == "anthropic" {
            id.push_str("msg_01");
            self.rng.push_chars(&mut id, ALNUM, 22);
        } else {
            id.push_str("chatcmpl-");
            self.rng.push_chars(&mut id, ALNUM, 29);
        }
        id
    }

    fn tool_call_id(&mut self, model: &ModelDef) -> String {
        let mut id = String::with_capacity(32);
        if model.provider == "anthropic" {
            id.push_str("toolu_01");
            self.rng.push_chars(&mut id, ALNUM, 22);
        } else {
            id.push_str("call_");
            self.rng.push_chars(&mut id, ALNUM, 24);
        }
        id
    }

    fn who(&mut self, elapsed_secs: u64) -> Who {
        let route = ROUTES[self.rng.weighted(&ROUTES.map(|r| r.1))].0;
        let tenant = TENANTS[self.rng.weighted(&TENANTS.map(|t| t.1))].0;
        let n = self.rng.range(1, 48);
        // One session per user per ten minutes, so sessions hold several traces.
        let mut h = self.session_salt ^ n.wrapping_mul(0x9e37_79b9) ^ ((elapsed_secs / 600) << 20);
        for b in tenant.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        let h = super::rng::splitmix64(&mut h);
        Who {
            route,
            tenant,
            user: format!("{tenant}-u{n:03}"),
            session: format!("sess-{:012x}", h >> 16),
        }
    }

    fn root_attrs(&self, who: &Who, out: &mut Vec<KeyValue>) {
        out.push(s("app.route", who.route));
        out.push(s("tenant.id", who.tenant));
        out.push(s("prompt.version", prompt_version(who.route)));
        out.push(s("session.id", who.session.as_str()));
        out.push(s("gen_ai.conversation.id", who.session.as_str()));
        out.push(s("user.id", who.user.as_str()));
    }

    /// Generates one whole trace into `self.tr` (cleared first); returns its span count, plumbing
    /// spans left out.
    pub(crate) fn trace(&mut self, elapsed_secs: u64, active: Active) -> usize {
        self.tr.spans.clear();
        self.tr.logs.clear();
        self.tr.t = 0;
        self.tr.plumbing = 0;
        self.tr.trace_id = self.rng.id::<16>();
        self.slow = if active.slow_model {
            self.rng.uniform(3.0, 5.0)
        } else {
            1.0
        };
        let who = self.who(elapsed_secs);
        // Answers are occasionally ungrounded; during the drop, nearly all of the cohort's are,
        // because its retrieval returns stale passages.
        let cohort_hit = active.grounding && who.tenant == UNGROUNDED_TENANT;
        let bad = self.rng.chance(if cohort_hit { 0.9 } else { 0.04 });
        let stale = bad && cohort_hit;
        match who.route {
            "/support/order-status" => self.order_status(&who, bad, stale),
            "/support/refund" => {
                let looping = who.route == RETRY_LOOP_ROUTE && active.retry_loop && self.rng.chance(0.9);
                self.refund(&who, bad, looping)
            }
            "/support/triage" => self.triage(&who),
            "/research/brief" => self.research(&who, bad),
            _ => self.docs(&who, bad, stale),
        }
        self.tr.spans.len() - self.tr.plumbing
    }

    // ---- building blocks -------------------------------------------------------------------

    /// An OTel GenAI chat call, retried once after a transient error; `None` when the retry
    /// failed too (the caller gives up). Returns the index of the successful span.
    fn chat(&mut self, c: Chat) -> Option<usize> {
        if self.rng.chance(0.03) {
            self.failed_chat(&c);
            self.tr.t += ns(self.rng.uniform(400.0, 2000.0));
            if self.rng.chance(0.25) {
                self.failed_chat(&c);
                return None;
            }
        }
        let slow = if c.model.request == SLOW_MODEL.request {
            self.slow
        } else {
            1.0
        };
        let start = self.tr.t;
        let output_tokens = c.output_tokens + c.reasoning;
        let ttft_ms = (self.rng.latency(c.model.ttft_ms) + c.reasoning as f64 / 180.0 * 1000.0) * slow;
        let gen_ms =
            c.output_tokens as f64 / c.model.tokens_per_sec * 1000.0 * self.rng.uniform(0.85, 1.2) * slow;
        let total_ms = ttft_ms + gen_ms;
        let response_id = self.response_id(c.model);
        let mut a = Vec::with_capacity(22);
        a.push(s("gen_ai.operation.name", "chat"));
        a.push(s("gen_ai.request.model", c.model.request));
        a.push(s("gen_ai.provider.name", c.model.provider));
        a.push(s("server.address", c.model.server));
        a.push(i("server.port", 443));
        if let Some(t) = c.temperature {
            a.push(f("gen_ai.request.temperature", t));
        }
        a.push(i("gen_ai.request.max_tokens", c.max_tokens));
        if c.stream.is_some() {
            a.push(b("gen_ai.request.stream", true));
        }
        a.push(strs("gen_ai.response.finish_reasons", &[c.finish]));
        a.push(s("gen_ai.response.model", c.model.response));
        a.push(s("gen_ai.response.id", response_id));
        a.push(u("gen_ai.usage.input_tokens", c.input_tokens));
        a.push(u("gen_ai.usage.output_tokens", output_tokens));
        if c.cache_read > 0 {
            a.push(u("gen_ai.usage.cache_read.input_tokens", c.cache_read));
        }
        if c.cache_write > 0 {
            a.push(u("gen_ai.usage.cache_creation.input_tokens", c.cache_write));
        }
        if c.reasoning > 0 {
            a.push(u("gen_ai.usage.reasoning.output_tokens", c.reasoning));
        }
        if c.stream == Some(Ttft::Attribute) {
            a.push(f("gen_ai.response.time_to_first_chunk", ttft_ms.round() / 1000.0));
        }
        a.push(s("gen_ai.input.messages", c.input));
        a.push(s("gen_ai.output.messages", c.output));
        self.tr.t += ns(total_ms);
        let id = self.id();
        let mut span = self.span(
            id,
            Some(c.parent),
            format!("chat {}", c.model.request),
            CLIENT,
            start,
        );
        span.attributes = a;
        if c.stream == Some(Ttft::Event) {
            span.events.push(Event {
                time_unix_nano: start + ns(ttft_ms),
                name: "First Token Stream Event".into(),
                ..Default::default()
            });
        }
        Some(self.push(c.scope, span))
    }

    fn failed_chat(&mut self, c: &Chat) {
        let start = self.tr.t;
        let (exc_type, error_type, message) = if c.model.provider == "anthropic" {
            (
                "anthropic.OverloadedError",
                "overloaded_error",
                "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}",
            )
        } else if self.rng.chance(0.6) {
            (
                "openai.RateLimitError",
                "<class 'openai.RateLimitError'>",
                "Error code: 429 - {'error': {'message': 'Rate limit reached on tokens per min (TPM): \
                 Limit 2000000, Used 1999214, Requested 1412. Please try again in 42ms.', 'type': 'tokens', \
                 'code': 'rate_limit_exceeded'}}",
            )
        } else {
            (
                "openai.InternalServerError",
                "<class 'openai.InternalServerError'>",
                "Error code: 500 - {'error': {'message': 'The server had an error while processing your \
                 request. Sorry about that!', 'type': 'server_error', 'code': None}}",
            )
        };
        self.tr.t += ns(self.rng.latency(180.0));
        let mut a = Vec::with_capacity(10);
        a.push(s("gen_ai.operation.name", "chat"));
        a.push(s("gen_ai.request.model", c.model.request));
        a.push(s("gen_ai.provider.name", c.model.provider));
        a.push(s("server.address", c.model.server));
        a.push(i("server.port", 443));
        a.push(i("gen_ai.request.max_tokens", c.max_tokens));
        a.push(s("gen_ai.input.messages", c.input.as_str()));
        a.push(s("error.type", error_type));
        let id = self.id();
        let mut span = self.span(
            id,
            Some(c.parent),
            format!("chat {}", c.model.request),
            CLIENT,
            start,
        );
        span.attributes = a;
        span.status = Some(Status {
            message: message.into(),
            code: STATUS_ERROR,
        });
        span.events
            .push(exception(span.end_time_unix_nano, exc_type, message));
        self.push(c.scope, span);
    }

    /// An `embeddings` call for `text`.
    fn embeddings(&mut self, scope: Scope, parent: [u8; 8], text: &str) {
        let start = self.tr.t;
        self.tr.t += ns(self.rng.latency(EMBEDDING.ttft_ms));
        let id = self.id();
        let mut span = self.span(
            id,
            Some(parent),
            format!("embeddings {}", EMBEDDING.request),
            CLIENT,
            start,
        );
        span.attributes = vec![
            s("gen_ai.operation.name", "embeddings"),
            s("gen_ai.request.model", EMBEDDING.request),
            s("gen_ai.provider.name", EMBEDDING.provider),
            s("server.address", EMBEDDING.server),
            i("server.port", 443),
            s("gen_ai.response.model", EMBEDDING.response),
            i("gen_ai.embeddings.dimension.count", 1536),
            u("gen_ai.usage.input_tokens", est_tokens(text)),
        ];
        self.push(scope, span);
    }

    /// Retrieval (embedding the query, then a vector search) in the OTel GenAI shape; returns
    /// the context block for the prompt.
    fn retrieval(
        &mut self,
        scope: Scope,
        parent: [u8; 8],
        source: &str,
        query: &str,
        docs: &[Doc],
    ) -> String {
        let start = self.tr.t;
        let id = self.id();
        self.tr.t += ns(self.rng.uniform(0.5, 2.0));
        self.embeddings(SCOPES_EMBED[scope_service(scope)], id, query);
        self.tr.t += ns(self.rng.latency(35.0));
        let (mut json, mut context) = (String::from("["), String::from("Context:"));
        let mut score = if source == "stale" {
            self.rng.uniform(0.22, 0.34)
        } else {
            self.rng.uniform(0.62, 0.88)
        };
        for (n, (doc_id, text)) in docs.iter().enumerate() {
            if n > 0 {
                json.push(',');
            }
            let _ = write!(
                json,
                "{{\"id\":\"{doc_id}\",\"score\":{},\"content\":",
                round2(score)
            );
            push_json_str(&mut json, text);
            json.push('}');
            let _ = write!(context, "\n[{doc_id}] {text}");
            score -= self.rng.uniform(0.02, 0.09);
        }
        json.push(']');
        let mut span = self.span(id, Some(parent), "retrieval kb-support".into(), CLIENT, start);
        span.attributes = vec![
            s("gen_ai.operation.name", "retrieval"),
            s("gen_ai.data_source.id", "kb-support"),
            i("gen_ai.request.top_k", docs.len() as i64),
            s("gen_ai.retrieval.query.text", query),
            s("gen_ai.retrieval.documents", json),
        ];
        self.push(scope, span);
        context
    }

    /// An OTel `execute_tool` span for `call` (name, call id, arguments) taking `ms`; `Err`
    /// carries an exception (type, message).
    fn tool(
        &mut self,
        scope: Scope,
        parent: [u8; 8],
        call: [&str; 3],
        result: Result<&str, (&str, &str)>,
        ms: f64,
    ) {
        let [name, call_id, args] = call;
        let start = self.tr.t;
        self.tr.t += ns(ms);
        let id = self.id();
        let mut span = self.span(id, Some(parent), format!("execute_tool {name}"), INTERNAL, start);
        let mut a = vec![
            s("gen_ai.operation.name", "execute_tool"),
            s("gen_ai.tool.name", name),
            s("gen_ai.tool.call.id", call_id),
            s("gen_ai.tool.type", "function"),
            s("gen_ai.tool.call.arguments", args),
        ];
        match result {
            Ok(r) => a.push(s("gen_ai.tool.call.result", r)),
            Err((exc, msg)) => {
                a.push(s("error.type", exc));
                span.status = Some(Status {
                    message: msg.into(),
                    code: STATUS_ERROR,
                });
                span.events.push(exception(span.end_time_unix_nano, exc, msg));
            }
        }
        span.attributes = a;
        let failed = span.status.is_some();
        self.push(scope, span);
        self.tool_backend(scope, id, name, start, ms, failed);
    }

    /// The HTTP call a tool makes to its backend: plumbing under the tool span, as
    /// auto-instrumented HTTP clients emit it (the drill-down's GenAI-only tree hides it). Its
    /// id and times derive from the tool's, so the random sequence (and every other span of
    /// the demo) stays as it was.
    fn tool_backend(&mut self, scope: Scope, tool: [u8; 8], name: &str, start: u64, ms: f64, failed: bool) {
        let mut id = tool;
        id[0] ^= 0xa5;
        id[7] ^= 0x5a;
        let mut span = self.span(id, Some(tool), "GET".into(), CLIENT, start);
        span.start_time_unix_nano = start + ns(ms * 0.1);
        span.end_time_unix_nano = start + ns(ms * 0.9);
        span.attributes = vec![
            s("http.request.method", "GET"),
            s("server.address", "tools.internal"),
            s("url.full", format!("https://tools.internal/v1/{name}")),
            i("http.response.status_code", if failed { 500 } else { 200 }),
        ];
        // The tool span carries the error; its HTTP call says only the status code, so error
        // counts stay one per failure.
        self.push(scope, span);
        self.tr.plumbing += 1;
    }

    /// An OTel `invoke_agent` root span over everything generated so far.
    fn agent_root(&mut self, scope: Scope, id: [u8; 8], agent: &str, who: &Who, error: Option<(&str, &str)>) {
        self.tr.t += ns(self.rng.uniform(1.0, 6.0));
        let mut span = self.span(id, None, format!("invoke_agent {agent}"), INTERNAL, 0);
        let mut a = Vec::with_capacity(9);
        a.push(s("gen_ai.operation.name", "invoke_agent"));
        a.push(s("gen_ai.agent.name", agent));
        self.root_attrs(who, &mut a);
        if let Some((exc, msg)) = error {
            a.push(s("error.type", exc));
            span.status = Some(Status {
                message: msg.into(),
                code: STATUS_ERROR,
            });
            span.events.push(exception(span.end_time_unix_nano, exc, msg));
        }
        span.attributes = a;
        self.push(scope, span);
    }

    /// Verdicts on an answer: Groundedness and HallucinationScore as span events (or as
    /// OpenInference annotations), Relevance as an OTLP log record from the evaluator.
    fn evaluate(&mut self, index: usize, service: usize, q: &Quality, annotations: bool) {
        let (g, g_label, h, h_label) = if q.grounded {
            (
                self.rng.uniform(0.72, 0.99),
                "pass",
                self.rng.uniform(0.01, 0.2),
                "pass",
            )
        } else {
            (
                self.rng.uniform(0.06, 0.45),
                "fail",
                self.rng.uniform(0.55, 0.94),
                "fail",
            )
        };
        let (g, h) = (round2(g), round2(h));
        let g_expl = if q.grounded {
            "Every claim is supported by the retrieved context or a tool result."
        } else {
            q.explanation
        };
        let h_expl = if q.grounded {
            "No unsupported facts."
        } else {
            "Contains facts absent from the context."
        };
        let end = self.tr.spans[index].1.end_time_unix_nano;
        let span = &mut self.tr.spans[index].1;
        if annotations {
            for (n, (name, score, label, expl)) in [
                ("Groundedness", g, g_label, g_expl),
                ("HallucinationScore", h, h_label, h_expl),
            ]
            .into_iter()
            .enumerate()
            {
                let key = |field: &str| format!("annotations.{n}.annotation.{field}");
                span.attributes.push(s(&key("name"), name));
                span.attributes.push(f(&key("score"), score));
                span.attributes.push(s(&key("label"), label));
                span.attributes.push(s(&key("explanation"), expl));
                span.attributes.push(s(&key("annotator_kind"), "LLM"));
            }
        } else {
            for (name, score, label, expl) in [
                ("Groundedness", g, g_label, g_expl),
                ("HallucinationScore", h, h_label, h_expl),
            ] {
                span.events.push(Event {
                    time_unix_nano: end.saturating_sub(ns(0.4)),
                    name: "gen_ai.evaluation.result".into(),
                    attributes: vec![
                        s("gen_ai.evaluation.name", name),
                        f("gen_ai.evaluation.score.value", score),
                        s("gen_ai.evaluation.score.label", label),
                        s("gen_ai.evaluation.explanation", expl),
                    ],
                    ..Default::default()
                });
            }
        }
        let span_id = span.span_id.clone();
        let response_id = span
            .attributes
            .iter()
            .find(|kv| kv.key == "gen_ai.response.id")
            .and_then(|kv| kv.value.clone());
        let relevant = !self.rng.chance(0.05);
        let score = round2(if relevant {
            self.rng.uniform(0.7, 1.0)
        } else {
            self.rng.uniform(0.15, 0.48)
        });
        let mut attributes = vec![
            s("gen_ai.evaluation.name", "Relevance"),
            f("gen_ai.evaluation.score.value", score),
            s(
                "gen_ai.evaluation.score.label",
                if relevant { "pass" } else { "fail" },
            ),
            s(
                "gen_ai.evaluation.explanation",
                if relevant {
                    "The answer addresses the user's question."
                } else {
                    "The answer drifts away from what was asked."
                },
            ),
        ];
        if let Some(v) = response_id {
            attributes.push(KeyValue {
                key: "gen_ai.response.id".into(),
                value: Some(v),
                ..Default::default()
            });
        }
        // The judge runs right after the answer, before the trace is exported.
        let time = end + ns(self.rng.uniform(0.2, 0.9));
        self.tr.logs.push((
            service,
            LogRecord {
                time_unix_nano: time,
                observed_time_unix_nano: time,
                event_name: "gen_ai.evaluation.result".into(),
                attributes,
                flags: 1,
                trace_id: self.tr.trace_id.to_vec(),
                span_id,
                ..Default::default()
            },
        ));
    }

    fn order_id(&mut self) -> String {
        format!("A-{}", self.rng.range(1000, 9999))
    }

    /// OpenAI caches prompt prefixes of 1024 tokens and more, in steps of 128.
    fn openai_cache(&mut self, prefix_tokens: u64, p: f64) -> u64 {
        if prefix_tokens >= 1024 && self.rng.chance(p) {
            prefix_tokens / 128 * 128
        } else {
            0
        }
    }

    // ---- routes --------------------------------------------------------------------------

    /// support-agent, /support/order-status: retrieval, a tool call, a streamed answer.
    fn order_status(&mut self, who: &Who, bad: bool, stale: bool) {
        let root = self.id();
        let order = self.order_id();
        let question = self.rng.pick(&ORDER_QUESTIONS).replace("{id}", &order);
        self.tr.t += ns(self.rng.uniform(2.0, 8.0));
        let docs = if stale {
            STALE_DOCS.to_vec()
        } else {
            let k = self.rng.index(ORDER_DOCS.len());
            vec![ORDER_DOCS[k], ORDER_DOCS[(k + 1) % 5], ORDER_DOCS[(k + 3) % 5]]
        };
        let context = self.retrieval(
            Scope::SupportGenai,
            root,
            if stale { "stale" } else { "kb" },
            &question,
            &docs,
        );
        let system = format!("{SUPPORT_SYSTEM}\n{context}");
        let prefix = 1090 + est_tokens(&system);
        let input = Messages::new()
            .text("system", &system, None)
            .text("user", &question, None)
            .finish();
        let model = &GPT_4O_MINI;
        let call_id = self.tool_call_id(model);
        let args = format!("{{\"order_id\":{}}}", json_str(&order));
        let cache_read = self.openai_cache(prefix, 0.55);
        let first = Chat {
            model,
            scope: Scope::SupportOpenai,
            parent: root,
            input,
            output: Messages::new()
                .tool_call(&call_id, "get_order_status", &args, Some("tool_calls"))
                .finish(),
            input_tokens: prefix + est_tokens(&question),
            output_tokens: self.rng.range(18, 30),
            reasoning: 0,
            cache_read,
            cache_write: 0,
            finish: "tool_calls",
            stream: None,
            temperature: Some(0.2),
            max_tokens: 512,
        };
        let Some(_) = self.chat(first) else {
            return self.agent_root(Scope::SupportApp, root, "support-agent", who, Some(GAVE_UP));
        };
        let (status, status_text) = *self.rng.pick(&ORDER_STATUSES);
        let carrier = *self.rng.pick(&CARRIERS);
        let eta = *self
            .rng
            .pick(&["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]);
        let result = format!(
            "{{\"order_id\":\"{order}\",\"status\":\"{status}\",\"carrier\":\"{carrier}\",\"eta\":\"{eta}\"}}"
        );
        self.tr.t += ns(self.rng.uniform(0.5, 3.0));
        let ms = self.rng.latency(70.0);
        self.tool(
            Scope::SupportApp,
            root,
            ["get_order_status", &call_id, &args],
            Ok(&result),
            ms,
        );
        self.tr.t += ns(self.rng.uniform(0.5, 3.0));
        let (answer, explanation) = if bad {
            let (a, e) = *self.rng.pick(&UNGROUNDED);
            (a.to_string(), e)
        } else if status == "delivered" {
            let a = format!(
                "Order {order} is marked as delivered by {carrier}. If it isn't at your door, please \
                 wait 24 hours; after that I can open a carrier claim for you."
            );
            (a, "")
        } else {
            let a = format!(
                "Your order {order} is {status_text} with {carrier}; the estimated delivery is {eta}. \
                 Is there anything else I can help you with?"
            );
            (a, "")
        };
        let input = Messages::new()
            .text("system", &system, None)
            .text("user", &question, None)
            .tool_call(&call_id, "get_order_status", &args, None)
            .tool_response(&call_id, &result)
            .finish();
        let cache_read = self.openai_cache(prefix, 0.85);
        let stream = if self.rng.chance(0.5) {
            Ttft::Attribute
        } else {
            Ttft::Event
        };
        let last = Chat {
            model,
            scope: Scope::SupportOpenai,
            parent: root,
            input,
            output: Messages::new().text("assistant", &answer, Some("stop")).finish(),
            input_tokens: prefix + est_tokens(&question) + 60,
            output_tokens: est_tokens(&answer),
            reasoning: 0,
            cache_read,
            cache_write: 0,
            finish: "stop",
            stream: Some(stream),
            temperature: Some(0.2),
            max_tokens: 512,
        };
        let Some(index) = self.chat(last) else {
            return self.agent_root(Scope::SupportApp, root, "support-agent", who, Some(GAVE_UP));
        };
        let q = Quality {
            grounded: !bad,
            explanation,
        };
        self.evaluate(index, 0, &q, false);
        self.agent_root(Scope::SupportApp, root, "support-agent", who, None);
    }

    /// support-agent, /support/refund: look the order up, issue the refund. While the payment
    /// gateway times out (the cost-spike incident) the agent retries in a loop, re-sending a
    /// growing conversation to gpt-4o each time.
    fn refund(&mut self, who: &Who, bad: bool, looping: bool) {
        let root = self.id();
        let order = self.order_id();
        let (item, amount) = *self.rng.pick(&REFUND_ITEMS);
        let question = self
            .rng
            .pick(&REFUND_QUESTIONS)
            .replace("{id}", &order)
            .replace("{item}", item);
        self.tr.t += ns(self.rng.uniform(2.0, 8.0));
        let context = self.retrieval(Scope::SupportGenai, root, "kb", &question, &REFUND_DOCS);
        let system = format!("{SUPPORT_SYSTEM}\n{context}");
        let prefix = 1240 + est_tokens(&system);
        let model = &GPT_4O;
        let mut conv = Messages::new();
        conv.text("system", &system, None).text("user", &question, None);
        let mut history_tokens = est_tokens(&question);

        // Step 1: look the order up.
        let call_id = self.tool_call_id(model);
        let args = format!("{{\"order_id\":\"{order}\"}}");
        let input = snapshot(&conv);
        let cache_read = self.openai_cache(prefix, 0.5);
        let c = Chat {
            model,
            scope: Scope::SupportOpenai,
            parent: root,
            input,
            output: Messages::new()
                .tool_call(&call_id, "lookup_order", &args, Some("tool_calls"))
                .finish(),
            input_tokens: prefix + history_tokens,
            output_tokens: self.rng.range(18, 28),
            reasoning: 0,
            cache_read,
            cache_write: 0,
            finish: "tool_calls",
            stream: None,
            temperature: Some(0.0),
            max_tokens: 800,
        };
        if self.chat(c).is_none() {
            return self.agent_root(Scope::SupportApp, root, "refund-agent", who, Some(GAVE_UP));
        }
        let result = format!(
            "{{\"order_id\":\"{order}\",\"item\":\"{item}\",\"amount\":{amount},\"currency\":\"USD\",\"paid_with\":\"card\",\"refundable\":true}}"
        );
        self.tr.t += ns(self.rng.uniform(0.5, 3.0));
        let ms = self.rng.latency(90.0);
        self.tool(
            Scope::SupportApp,
            root,
            ["lookup_order", &call_id, &args],
            Ok(&result),
            ms,
        );
        conv.tool_call(&call_id, "lookup_order", &args, None)
            .tool_response(&call_id, &result);
        history_tokens += 70;

        // Step 2..n: issue the refund, retrying on gateway timeouts.
        let attempts = if looping {
            self.rng.range(8, 14)
        } else if self.rng.chance(0.05) {
            2
        } else {
            1
        };
        let succeeds_at_last = !looping || self.rng.chance(0.35);
        let refund_args =
            format!("{{\"order_id\":\"{order}\",\"amount\":{amount},\"reason\":\"damaged_or_wrong_item\"}}");
        let mut refund_id = String::from("rf_");
        self.rng.push_chars(&mut refund_id, ALNUM, 14);
        let mut refunded = false;
        for attempt in 1..=attempts {
            let call_id = self.tool_call_id(model);
            let input = snapshot(&conv);
            self.tr.t += ns(self.rng.uniform(0.5, 3.0));
            let cache_read = self.openai_cache(prefix + history_tokens, 0.8);
            let c = Chat {
                model,
                scope: Scope::SupportOpenai,
                parent: root,
                input,
                output: Messages::new()
                    .tool_call(&call_id, "issue_refund", &refund_args, Some("tool_calls"))
                    .finish(),
                input_tokens: prefix + history_tokens,
                output_tokens: self.rng.range(30, 42),
                reasoning: 0,
                cache_read,
                cache_write: 0,
                finish: "tool_calls",
                stream: None,
                temperature: Some(0.0),
                max_tokens: 800,
            };
            if self.chat(c).is_none() {
                return self.agent_root(Scope::SupportApp, root, "refund-agent", who, Some(GAVE_UP));
            }
            self.tr.t += ns(self.rng.uniform(0.5, 3.0));
            conv.tool_call(&call_id, "issue_refund", &refund_args, None);
            if attempt == attempts && succeeds_at_last {
                let ok =
                    format!("{{\"refund_id\":\"{refund_id}\",\"status\":\"submitted\",\"amount\":{amount}}}");
                let ms = self.rng.latency(420.0);
                self.tool(
                    Scope::SupportApp,
                    root,
                    ["issue_refund", &call_id, &refund_args],
                    Ok(&ok),
                    ms,
                );
                conv.tool_response(&call_id, &ok);
                refunded = true;
            } else {
                let ms = self.rng.uniform(3000.0, 3150.0);
                self.tool(
                    Scope::SupportApp,
                    root,
                    ["issue_refund", &call_id, &refund_args],
                    Err(TIMEOUT),
                    ms,
                );
                conv.tool_response(&call_id, TIMEOUT.1);
            }
            history_tokens += 95 + 10 * attempt;
        }

        // Final answer.
        let (answer, explanation) = if bad {
            let (a, e) = *self.rng.pick(&UNGROUNDED);
            (a.to_string(), e)
        } else if refunded {
            let a = format!(
                "I've issued a refund of ${amount} for the {item} on order {order} (reference {refund_id}). \
                 It should appear on your statement within 3-5 business days."
            );
            (a, "")
        } else {
            let a = format!(
                "I'm sorry: I couldn't reach our payment system to refund order {order}. I've passed it \
                 to a colleague, who will complete the refund and email you within 24 hours."
            );
            (a, "")
        };
        let input = snapshot(&conv);
        self.tr.t += ns(self.rng.uniform(0.5, 3.0));
        let cache_read = self.openai_cache(prefix + history_tokens, 0.8);
        let c = Chat {
            model,
            scope: Scope::SupportOpenai,
            parent: root,
            input,
            output: Messages::new().text("assistant", &answer, Some("stop")).finish(),
            input_tokens: prefix + history_tokens,
            output_tokens: est_tokens(&answer),
            reasoning: 0,
            cache_read,
            cache_write: 0,
            finish: "stop",
            stream: Some(Ttft::Attribute),
            temperature: Some(0.0),
            max_tokens: 800,
        };
        let Some(index) = self.chat(c) else {
            return self.agent_root(Scope::SupportApp, root, "refund-agent", who, Some(GAVE_UP));
        };
        self.evaluate(
            index,
            0,
            &Quality {
                grounded: !bad,
                explanation,
            },
            false,
        );
        self.agent_root(Scope::SupportApp, root, "refund-agent", who, None);
    }

    /// support-agent, /support/triage: an HTTP endpoint with one small classification call.
    fn triage(&mut self, who: &Who) {
        let root = self.id();
        let (ticket, label) = *self.rng.pick(&TICKETS);
        self.tr.t += ns(self.rng.uniform(1.0, 4.0));
        let input = Messages::new()
            .text("system", TRIAGE_SYSTEM, None)
            .text("user", ticket, None)
            .finish();
        let c = Chat {
            model: &CLAUDE_HAIKU,
            scope: Scope::SupportAnthropic,
            parent: root,
            input,
            output: Messages::new()
                .text("assistant", label, Some("end_turn"))
                .finish(),
            input_tokens: 310 + est_tokens(ticket),
            output_tokens: est_tokens(label),
            reasoning: 0,
            cache_read: 0,
            cache_write: 0,
            finish: "end_turn",
            stream: None,
            temperature: Some(0.0),
            max_tokens: 128,
        };
        let ok = self.chat(c).is_some();
        self.tr.t += ns(self.rng.uniform(1.0, 5.0));
        let mut span = self.span(root, None, "POST /support/triage".into(), SERVER, 0);
        let mut a = vec![
            s("http.request.method", "POST"),
            s("http.route", "/support/triage"),
            s("url.path", "/support/triage"),
            s("url.scheme", "https"),
            i("http.response.status_code", if ok { 200 } else { 503 }),
        ];
        self.root_attrs(who, &mut a);
        if !ok {
            a.push(s("error.type", "503"));
            span.status = Some(Status {
                message: String::new(),
                code: STATUS_ERROR,
            });
        }
        span.attributes = a;
        self.push(Scope::SupportHttp, span);
    }

    /// research-assistant, /research/brief: claude-sonnet-4-5 plans and searches (prompt
    /// caching on its long system prompt), o4-mini reasons over the sources, claude-sonnet-4-5
    /// streams the brief.
    fn research(&mut self, who: &Who, bad: bool) {
        let root = self.id();
        let topic = self.rng.pick(&TOPICS);
        self.tr.t += ns(self.rng.uniform(2.0, 10.0));
        let sonnet = &CLAUDE_SONNET;
        let prefix = 2310;
        // The first call of a session writes the prompt cache; later ones read it.
        let (mut cache_read, mut cache_write) = if self.rng.chance(0.8) {
            (2048, 0)
        } else {
            (0, 2048)
        };
        let mut conv = Messages::new();
        conv.text("system", RESEARCH_SYSTEM, None)
            .text("user", topic.question, None);
        let mut history = est_tokens(topic.question);
        let searches = self.rng.range(1, 3) as usize;
        for n in 0..searches {
            let call_id = self.tool_call_id(sonnet);
            let query = if n == 0 {
                topic.query.to_string()
            } else {
                format!("{} {}", topic.query, ["2026", "analysis", "official"][n % 3])
            };
            let args = format!("{{\"query\":{}}}", json_str(&query));
            let input = snapshot(&conv);
            let c = Chat {
                model: sonnet,
                scope: Scope::ResearchAnthropic,
                parent: root,
                input,
                output: Messages::new()
                    .tool_call(&call_id, "web_search", &args, Some("tool_use"))
                    .finish(),
                input_tokens: prefix + history,
                output_tokens: self.rng.range(60, 140),
                reasoning: 0,
                cache_read,
                cache_write,
                finish: "tool_use",
                stream: None,
                temperature: Some(0.3),
                max_tokens: 4096,
            };
            if self.chat(c).is_none() {
                return self.agent_root(Scope::ResearchApp, root, "research-agent", who, Some(GAVE_UP));
            }
            (cache_read, cache_write) = (2048, 0);
            self.tr.t += ns(self.rng.uniform(0.5, 4.0));
            let mut result = String::from("{\"results\":[");
            for (k, (title, url)) in topic.sources.iter().enumerate() {
                if k > 0 {
                    result.push(',');
                }
                result.push_str("{\"title\":");
                push_json_str(&mut result, title);
                result.push_str(",\"url\":");
                push_json_str(&mut result, url);
                result.push('}');
            }
            result.push_str("]}");
            let outcome = if self.rng.chance(0.03) {
                Err(("httpx.ReadTimeout", "The read operation timed out"))
            } else {
                Ok(result.as_str())
            };
            let ms = self.rng.latency(650.0);
            self.tool(
                Scope::ResearchApp,
                root,
                ["web_search", &call_id, &args],
                outcome,
                ms,
            );
            conv.tool_call(&call_id, "web_search", &args, None)
                .tool_response(&call_id, outcome.unwrap_or("error: timed out"));
            history += 90 + est_tokens(&result);
            self.tr.t += ns(self.rng.uniform(0.5, 4.0));
        }

        // o4-mini reads the sources and reasons about them.
        let input = snapshot(&conv);
        let reasoning = self.rng.range(512, 2560) / 64 * 64;
        let c = Chat {
            model: &O4_MINI,
            scope: Scope::ResearchOpenai,
            parent: root,
            input,
            output: Messages::new()
                .text("assistant", topic.findings, Some("stop"))
                .finish(),
            input_tokens: 420 + history,
            output_tokens: est_tokens(topic.findings),
            reasoning,
            cache_read: 0,
            cache_write: 0,
            finish: "stop",
            stream: None,
            temperature: None,
            max_tokens: 16000,
        };
        if self.chat(c).is_none() {
            return self.agent_root(Scope::ResearchApp, root, "research-agent", who, Some(GAVE_UP));
        }
        self.tr.t += ns(self.rng.uniform(0.5, 4.0));

        // The brief, streamed.
        let (answer, explanation) = if bad {
            let (a, e) = *self.rng.pick(&UNGROUNDED);
            (format!("{} {a}", topic.findings), e)
        } else {
            (topic.brief.to_string(), "")
        };
        conv.text("assistant", topic.findings, None);
        let input = snapshot(&conv);
        let c = Chat {
            model: sonnet,
            scope: Scope::ResearchAnthropic,
            parent: root,
            input,
            output: Messages::new()
                .text("assistant", &answer, Some("end_turn"))
                .finish(),
            input_tokens: prefix + history + est_tokens(topic.findings),
            output_tokens: est_tokens(&answer) + self.rng.range(0, 40),
            reasoning: 0,
            cache_read: 2048,
            cache_write: 0,
            finish: "end_turn",
            stream: Some(if self.rng.chance(0.5) {
                Ttft::Attribute
            } else {
                Ttft::Event
            }),
            temperature: Some(0.3),
            max_tokens: 4096,
        };
        let Some(index) = self.chat(c) else {
            return self.agent_root(Scope::ResearchApp, root, "research-agent", who, Some(GAVE_UP));
        };
        self.evaluate(
            index,
            1,
            &Quality {
                grounded: !bad,
                explanation,
            },
            false,
        );
        self.agent_root(Scope::ResearchApp, root, "research-agent", who, None);
    }

    /// docs-qa, /docs/ask: OpenInference conventions (llama-index agent, retriever, OpenAI
    /// embedding and streamed LLM spans; verdicts as annotations).
    fn docs(&mut self, who: &Who, bad: bool, stale: bool) {
        let root = self.id();
        let (question, docs, good_answer) = self.rng.pick(&DOCS_QA);
        let metadata = format!(
            "{{\"tenant.id\": \"{}\", \"app.route\": \"{}\"}}",
            who.tenant, who.route
        );
        let common = |a: &mut Vec<KeyValue>| {
            a.push(s("session.id", who.session.as_str()));
            a.push(s("user.id", who.user.as_str()));
            a.push(s("metadata", metadata.as_str()));
        };
        self.tr.t += ns(self.rng.uniform(2.0, 8.0));

        // Retriever, with its embedding call inside.
        let retriever = self.id();
        let r_start = self.tr.t;
        self.tr.t += ns(self.rng.uniform(0.3, 1.5));
        let e_start = self.tr.t;
        self.tr.t += ns(self.rng.latency(EMBEDDING.ttft_ms));
        let id = self.id();
        let mut span = self.span(id, Some(retriever), "CreateEmbeddings".into(), INTERNAL, e_start);
        let tokens = est_tokens(question);
        let mut a = vec![
            s("openinference.span.kind", "EMBEDDING"),
            s("llm.system", "openai"),
            s("embedding.model_name", EMBEDDING.request),
            s(
                "embedding.invocation_parameters",
                "{\"model\": \"text-embedding-3-small\", \"encoding_format\": \"base64\"}",
            ),
            s("embedding.embeddings.0.embedding.text", *question),
            u("llm.token_count.prompt", tokens),
            u("llm.token_count.total", tokens),
        ];
        common(&mut a);
        span.attributes = a;
        span.status = ok();
        self.push(Scope::DocsOpenai, span);
        self.tr.t += ns(self.rng.latency(40.0));
        let used: Vec<Doc> = if stale {
            STALE_DOCS[..2].to_vec()
        } else {
            docs.to_vec()
        };
        let mut score = if stale {
            self.rng.uniform(0.2, 0.33)
        } else {
            self.rng.uniform(0.7, 0.9)
        };
        let mut span = self.span(retriever, Some(root), "retrieve".into(), INTERNAL, r_start);
        let mut a = vec![
            s("openinference.span.kind", "RETRIEVER"),
            s("input.value", *question),
        ];
        let mut context = String::from(DOCS_SYSTEM);
        for (n, (doc_id, text)) in used.iter().enumerate() {
            a.push(s(&format!("retrieval.documents.{n}.document.id"), *doc_id));
            a.push(s(&format!("retrieval.documents.{n}.document.content"), *text));
            a.push(f(
                &format!("retrieval.documents.{n}.document.score"),
                round2(score),
            ));
            score -= self.rng.uniform(0.03, 0.1);
            let _ = write!(context, "\n[{doc_id}] {text}");
        }
        common(&mut a);
        span.attributes = a;
        span.status = ok();
        self.push(Scope::DocsApp, span);
        self.tr.t += ns(self.rng.uniform(0.5, 3.0));

        // The answer, streamed; a rate-limited first attempt is retried.
        let (model, invocation) = if self.rng.chance(0.2) {
            (
                &GPT_4O,
                "{\"model\": \"gpt-4o\", \"temperature\": 0.1, \"stream\": true, \"stream_options\": {\"include_usage\": true}}",
            )
        } else {
            (
                &GPT_4O_MINI,
                "{\"model\": \"gpt-4o-mini\", \"temperature\": 0.1, \"stream\": true, \"stream_options\": {\"include_usage\": true}}",
            )
        };
        let llm_base = |a: &mut Vec<KeyValue>| {
            a.push(s("openinference.span.kind", "LLM"));
            a.push(s("llm.system", "openai"));
            a.push(s("llm.provider", "openai"));
            a.push(s("llm.invocation_parameters", invocation));
            a.push(s("llm.input_messages.0.message.role", "system"));
            a.push(s("llm.input_messages.0.message.content", context.as_str()));
            a.push(s("llm.input_messages.1.message.role", "user"));
            a.push(s("llm.input_messages.1.message.content", *question));
        };
        let mut failed = false;
        if self.rng.chance(0.03) {
            let start = self.tr.t;
            self.tr.t += ns(self.rng.latency(150.0));
            let id = self.id();
            let mut span = self.span(id, Some(root), "ChatCompletion".into(), INTERNAL, start);
            let mut a = Vec::with_capacity(14);
            llm_base(&mut a);
            common(&mut a);
            span.attributes = a;
            let msg = "Error code: 429 - {'error': {'message': 'Rate limit reached for requests', 'type': \
                       'requests', 'code': 'rate_limit_exceeded'}}";
            span.status = Some(Status {
                message: format!("RateLimitError: {msg}"),
                code: STATUS_ERROR,
            });
            span.events
                .push(exception(span.end_time_unix_nano, "openai.RateLimitError", msg));
            self.push(Scope::DocsOpenai, span);
            self.tr.t += ns(self.rng.uniform(500.0, 1500.0));
            failed = self.rng.chance(0.25);
        }
        let (answer, explanation) = if bad {
            *self.rng.pick(&UNGROUNDED)
        } else {
            (*good_answer, "")
        };
        let mut answer_index = None;
        if !failed {
            let start = self.tr.t;
            let ttft = self.rng.latency(model.ttft_ms);
            let out = est_tokens(answer) + self.rng.range(0, 20);
            let prompt = 240 + est_tokens(&context) + est_tokens(question);
            self.tr.t += ns(ttft + out as f64 / model.tokens_per_sec * 1000.0);
            let id = self.id();
            let mut span = self.span(id, Some(root), "ChatCompletion".into(), INTERNAL, start);
            let mut a = Vec::with_capacity(24);
            llm_base(&mut a);
            a.push(s("llm.model_name", model.response));
            a.push(s("llm.output_messages.0.message.role", "assistant"));
            a.push(s("llm.output_messages.0.message.content", answer));
            a.push(u("llm.token_count.prompt", prompt));
            a.push(u("llm.token_count.completion", out));
            a.push(u("llm.token_count.total", prompt + out));
            let cached = if self.rng.chance(0.3) {
                self.rng.range(1, 3) * 64
            } else {
                0
            };
            a.push(u("llm.token_count.prompt_details.cache_read", cached));
            a.push(i("llm.token_count.completion_details.reasoning", 0));
            a.push(s("output.value", answer));
            a.push(s("output.mime_type", "text/plain"));
            common(&mut a);
            span.attributes = a;
            span.status = ok();
            span.events.push(Event {
                time_unix_nano: start + ns(ttft),
                name: "First Token Stream Event".into(),
                ..Default::default()
            });
            answer_index = Some(self.push(Scope::DocsOpenai, span));
        }
        if let Some(index) = answer_index {
            self.evaluate(
                index,
                2,
                &Quality {
                    grounded: !bad,
                    explanation,
                },
                true,
            );
        }

        // The agent span over it all.
        self.tr.t += ns(self.rng.uniform(1.0, 5.0));
        let mut span = self.span(root, None, "docs-agent".into(), INTERNAL, 0);
        let mut a = vec![
            s("openinference.span.kind", "AGENT"),
            s("app.route", who.route),
            s("tenant.id", who.tenant),
            s("input.value", *question),
            s("input.mime_type", "text/plain"),
        ];
        if failed {
            let msg = "Error code: 429 - {'error': {'message': 'Rate limit reached for requests'}}";
            span.status = Some(Status {
                message: msg.into(),
                code: STATUS_ERROR,
            });
            span.events
                .push(exception(span.end_time_unix_nano, "openai.RateLimitError", msg));
        } else {
            a.push(s("output.value", answer));
            a.push(s("output.mime_type", "text/plain"));
            span.status = ok();
        }
        common(&mut a);
        span.attributes = a;
        self.push(Scope::DocsApp, span);
    }
}

/// The scope each service's embedding calls come from.
const SCOPES_EMBED: [Scope; 3] = [Scope::SupportOpenai, Scope::ResearchOpenai, Scope::DocsOpenai];

fn scope_service(scope: Scope) -> usize {
    SCOPES[scope as usize].0
}

const GAVE_UP: (&str, &str) = ("RetryError", "The model call failed twice; giving up.");

const TIMEOUT: (&str, &str) = (
    "TimeoutError",
    "payment gateway did not answer within 3.0s (POST /v2/refunds)",
);

fn ok() -> Option<Status> {
    Some(Status {
        message: String::new(),
        code: STATUS_OK,
    })
}

fn exception(time: u64, exc_type: &str, message: &str) -> Event {
    Event {
        time_unix_nano: time,
        name: "exception".into(),
        attributes: vec![
            s("exception.type", exc_type),
            s("exception.message", message),
            b("exception.escaped", false),
        ],
        ..Default::default()
    }
}

/// The conversation so far as `gen_ai.input.messages` JSON, leaving the builder open.
fn snapshot(conv: &Messages) -> String {
    conv.snapshot()
}
