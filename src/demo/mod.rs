//! `llmwatch demo`: a deterministic generator of realistic agent traffic, in event time, so a
//! first run has every pane alive, tests have known incidents to find, and `--send` makes it
//! the project's load generator.
//!
//! Three services send five routes of traffic for six tenants:
//!
//! | service | convention | route | shape |
//! |---|---|---|---|
//! | support-agent | OTel GenAI | `/support/order-status` | invoke_agent -> retrieval (embeddings) -> chat gpt-4o-mini (tool call) -> execute_tool -> chat gpt-4o-mini (streamed answer) |
//! | support-agent | OTel GenAI | `/support/refund` | invoke_agent -> retrieval -> chat gpt-4o -> lookup_order -> chat gpt-4o -> issue_refund (retried on timeouts) -> chat gpt-4o |
//! | support-agent | OTel GenAI | `/support/triage` | HTTP server span -> chat claude-haiku-4-5 |
//! | research-assistant | OTel GenAI | `/research/brief` | invoke_agent -> (chat claude-sonnet-4-5 with prompt caching -> web_search) x1-3 -> chat o4-mini (reasoning) -> chat claude-sonnet-4-5 (streamed) |
//! | docs-qa | OpenInference | `/docs/ask` | AGENT -> RETRIEVER (EMBEDDING) -> LLM gpt-4o-mini or gpt-4o (streamed, `First Token Stream Event`) |
//!
//! Answers are judged: Groundedness and HallucinationScore as `gen_ai.evaluation.result` span
//! events (OpenInference annotations on docs-qa), Relevance as `gen_ai.evaluation.result` log
//! records naming the judged span. About 3% of model calls fail (429, 500, 529 overloaded) and
//! are retried once; a failed retry fails the trace.
//!
//! Each trace is generated whole and lands in the batch of the second in which it *ends*, as an
//! exporter sends spans once they end: its root span's end and its evaluation log records fall
//! inside that second, and its spans start earlier by up to the trace's duration (seconds; a
//! minute for a retry loop). Nothing in a batch ends after the batch's `end_unix_nano`, so a
//! consumer can use it as the clock. The scripted [`INCIDENTS`] repeat every [`CYCLE_SECS`]; a
//! trace belongs to the incident window of the second it ends in.

mod content;
pub mod metrics;
mod otlp;
mod rng;
pub mod run;
mod traffic;

#[cfg(test)]
mod tests;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use traffic::{Active, SCOPE_COUNT, SCOPES, SERVICES, Traffic};

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DemoConfig {
    /// Same seed, same traffic (ids, content, timings), byte for byte.
    pub seed: u64,
    /// Spans per second of event time, on average (whole traces only, so any one second is off
    /// by up to a trace; the shortfall or excess is carried into the next second).
    pub spans_per_sec: f64,
    /// Where event time starts: the first batch covers the second after this instant.
    pub start_unix_nano: u64,
}

/// One second of traffic.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoBatch {
    /// The end of the second this batch covers (event time): every trace in it ends before.
    pub end_unix_nano: u64,
    pub traces: ExportTraceServiceRequest,
    /// Evaluation results sent as log records; `None` for a second without any.
    pub logs: Option<ExportLogsServiceRequest>,
    /// The OTel GenAI client metrics of the second's model calls; `None` without any.
    pub metrics: Option<opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest>,
}

impl DemoBatch {
    pub fn span_count(&self) -> usize {
        crate::model::convert::count_spans(&self.traces)
    }

    pub fn log_count(&self) -> usize {
        self.logs.as_ref().map_or(0, crate::model::convert::count_logs)
    }
}

/// A scripted incident, so tests and the README can say when and where to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incident {
    pub name: &'static str,
    /// Seconds of demo time (within each [`CYCLE_SECS`] cycle) when it starts...
    pub starts_after_secs: u64,
    /// ...and when it is over.
    pub ends_after_secs: u64,
    /// Where to look, as `cohort=value` with llmwatch's cohort names (route, model, tenant).
    pub cohort: &'static str,
    pub description: &'static str,
}

impl Incident {
    /// Whether the incident is on during second `elapsed_secs` of the demo (counted from 0, the
    /// schedule repeating every [`CYCLE_SECS`]).
    pub fn active_at(&self, elapsed_secs: u64) -> bool {
        let t = elapsed_secs % CYCLE_SECS;
        self.starts_after_secs <= t && t < self.ends_after_secs
    }

    /// The cohort's dimension and value (`("route", "/support/refund")`).
    pub fn cohort_parts(&self) -> (&'static str, &'static str) {
        self.cohort.split_once('=').unwrap_or(("", self.cohort))
    }
}

/// The schedule repeats every six minutes.
pub const CYCLE_SECS: u64 = 360;

const COST_SPIKE: Incident = Incident {
    name: "cost-spike",
    starts_after_secs: 60,
    ends_after_secs: 150,
    cohort: "route=/support/refund",
    description: "The payment gateway times out, so refund-agent retries issue_refund in a loop: 8-14 \
                  gpt-4o calls and failing tool calls per trace, each re-sending a longer conversation. \
                  Cost per trace on /support/refund rises about fivefold and its tool spans turn red.",
};

const LATENCY_REGRESSION: Incident = Incident {
    name: "latency-regression",
    starts_after_secs: 150,
    ends_after_secs: 240,
    cohort: "model=claude-sonnet-4-5",
    description: "claude-sonnet-4-5 answers 3-5x slower (time to first token and duration); \
                  /research/brief end-to-end latency follows. Other models are unaffected.",
};

const GROUNDEDNESS_DROP: Incident = Incident {
    name: "groundedness-drop",
    starts_after_secs: 240,
    ends_after_secs: 330,
    cohort: "tenant=globex",
    description: "A stale knowledge-base re-import for tenant globex: retrieval returns unrelated \
                  passages with low scores and answers stop being grounded (Groundedness below 0.5, \
                  label fail; HallucinationScore up) on every route that tenant uses.",
};

/// The incidents, in the order they happen within each cycle; quiet from 330 s to the next
/// cycle's 60 s.
pub const INCIDENTS: &[Incident] = &[COST_SPIKE, LATENCY_REGRESSION, GROUNDEDNESS_DROP];

/// The models the demo calls (request names, all in the bundled price table), with providers.
pub fn models() -> impl Iterator<Item = (&'static str, &'static str)> {
    traffic::MODELS.iter().map(|m| (m.request, m.provider))
}

/// Generates traffic one second of event time at a time.
pub struct DemoGenerator {
    config: DemoConfig,
    traffic: Traffic,
    elapsed: u64,
    /// Spans owed (positive) or generated ahead (negative), carried between seconds.
    budget: f64,
}

impl DemoGenerator {
    pub fn new(config: DemoConfig) -> Self {
        Self {
            config,
            traffic: Traffic::new(config.seed),
            elapsed: 0,
            budget: 0.0,
        }
    }

    pub fn config(&self) -> &DemoConfig {
        &self.config
    }

    /// Seconds generated so far (the next batch's index).
    pub fn elapsed_secs(&self) -> u64 {
        self.elapsed
    }

    /// The traffic of the next second of event time: about `spans_per_sec` spans, whole traces
    /// only, deterministic for a seed.
    pub fn next_second(&mut self) -> DemoBatch {
        let second = self.elapsed;
        self.elapsed += 1;
        let start = self
            .config
            .start_unix_nano
            .saturating_add(second.saturating_mul(NANOS_PER_SEC));
        let end = start.saturating_add(NANOS_PER_SEC);
        let active = Active {
            retry_loop: COST_SPIKE.active_at(second),
            slow_model: LATENCY_REGRESSION.active_at(second),
            grounding: GROUNDEDNESS_DROP.active_at(second),
        };
        let rate = self.config.spans_per_sec;
        if rate.is_finite() && rate > 0.0 {
            self.budget += rate;
        }
        let mut spans: [Vec<Span>; SCOPE_COUNT] = Default::default();
        let mut logs: [Vec<LogRecord>; SERVICES.len()] = Default::default();
        while self.budget > 0.0 {
            let n = self.traffic.trace(second, active);
            self.budget -= n as f64;
            let tr = &mut self.traffic.tr;
            let duration = tr
                .spans
                .iter()
                .map(|(_, s)| s.end_time_unix_nano)
                .chain(tr.logs.iter().map(|(_, l)| l.time_unix_nano))
                .max()
                .unwrap_or(0);
            // Evaluation records come a few milliseconds before the trace ends: 10 ms of margin
            // keeps them in this second too.
            let ends_at = start + self.traffic.rng.range(10_000_000, NANOS_PER_SEC - 1_000_000);
            let base = ends_at.saturating_sub(duration);
            for (scope, mut span) in tr.spans.drain(..) {
                span.start_time_unix_nano += base;
                span.end_time_unix_nano += base;
                for e in &mut span.events {
                    e.time_unix_nano += base;
                }
                spans[scope as usize].push(span);
            }
            for (service, mut log) in tr.logs.drain(..) {
                log.time_unix_nano += base;
                log.observed_time_unix_nano += base;
                logs[service].push(log);
            }
        }
        let metrics = metrics::metrics_request(&spans, start, end, resource);
        DemoBatch {
            end_unix_nano: end,
            traces: traces_request(spans),
            logs: logs_request(logs),
            metrics,
        }
    }
}

impl Iterator for DemoGenerator {
    type Item = DemoBatch;

    fn next(&mut self) -> Option<DemoBatch> {
        Some(self.next_second())
    }
}

fn resource(service: usize) -> Option<Resource> {
    use otlp::s;
    let def = &SERVICES[service];
    Some(Resource {
        attributes: vec![
            s("service.name", def.name),
            s("service.version", def.version),
            s("service.instance.id", def.instance),
            s("deployment.environment.name", "demo"),
            s("telemetry.sdk.name", "opentelemetry"),
            s("telemetry.sdk.language", "python"),
            s("telemetry.sdk.version", "1.45.1"),
        ],
        ..Default::default()
    })
}

fn scope(name: &str, version: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.into(),
        version: version.into(),
        ..Default::default()
    })
}

fn traces_request(mut spans: [Vec<Span>; SCOPE_COUNT]) -> ExportTraceServiceRequest {
    let mut resource_spans = Vec::new();
    for service in 0..SERVICES.len() {
        let scope_spans: Vec<ScopeSpans> = SCOPES
            .iter()
            .zip(spans.iter_mut())
            .filter(|((svc, _, _), spans)| *svc == service && !spans.is_empty())
            .map(|((_, name, version), spans)| ScopeSpans {
                scope: scope(name, version),
                spans: std::mem::take(spans),
                ..Default::default()
            })
            .collect();
        if !scope_spans.is_empty() {
            resource_spans.push(ResourceSpans {
                resource: resource(service),
                scope_spans,
                ..Default::default()
            });
        }
    }
    ExportTraceServiceRequest { resource_spans }
}

fn logs_request(logs: [Vec<LogRecord>; SERVICES.len()]) -> Option<ExportLogsServiceRequest> {
    let (name, version) = traffic::EVAL_SCOPE;
    let resource_logs: Vec<ResourceLogs> = logs
        .into_iter()
        .enumerate()
        .filter(|(_, records)| !records.is_empty())
        .map(|(service, log_records)| ResourceLogs {
            resource: resource(service),
            scope_logs: vec![ScopeLogs {
                scope: scope(name, version),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    (!resource_logs.is_empty()).then_some(ExportLogsServiceRequest { resource_logs })
}
