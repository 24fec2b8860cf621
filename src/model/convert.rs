//! OTLP trace and log requests in, [`SpanRecord`]s and [`LogRecord`]s out: one conversion, of
//! the [`request`] types, which a request decoded from OTLP/JSON borrows its strings into and
//! opentelemetry-proto's decoded request is moved into ([`owned`]).
//!
//! Receivers first run [`validate_traces`] / [`validate_logs`] on the decoded request (that is
//! where the exporter learns about rejected items); the [`Converter`] then consumes what is
//! left, moving strings out of the decoded message rather than copying them, interning names,
//! and capping anything huge so that one bad span cannot take the memory budget.

use super::ids::{SpanId, TraceId};
use super::memory;
use super::record::{
    Attr, LogRecord, Resource, Scope, SpanEvent, SpanKind, SpanLink, SpanRecord, StatusCode, Value,
};
use crate::cost::CostTable;
use crate::intern::{Interner, Sym};
use crate::semconv::normalise::{Context, log_verdict};
use crate::semconv::{KeyInfo, Semantics, SemconvConfig, Verdict};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use request::{AnyValue, LogsRequest, Text, TracesRequest};
use std::borrow::Cow;
use std::sync::Arc;

pub mod owned;
pub mod request;

/// Caps applied while converting; values past them are truncated and counted, never fatal.
#[derive(Clone, Copy, Debug)]
pub struct ConvertLimits {
    /// Longest string or bytes value kept, in bytes.
    pub max_value_bytes: usize,
    /// Most attributes kept per span, event, link, log or resource.
    pub max_attributes: usize,
    /// Most elements kept per array or key-value list.
    pub max_array_len: usize,
    /// Most events and links kept per span.
    pub max_events: usize,
    /// Deepest nesting of arrays/maps kept; deeper values become a placeholder string.
    pub max_depth: usize,
}

impl Default for ConvertLimits {
    fn default() -> Self {
        Self {
            max_value_bytes: 256 * 1024,
            max_attributes: 1024,
            max_array_len: 1024,
            max_events: 4096,
            max_depth: 8,
        }
    }
}

/// What conversion had to cut, so it can be shown and summarised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvertStats {
    pub truncated_values: u64,
    pub dropped_attributes: u64,
    pub dropped_events: u64,
    /// Model calls the built-in evaluators checked, and those past their per-second cap.
    pub evaluated_calls: u64,
    pub unevaluated_calls: u64,
    /// Token counts and costs that cannot be true, ignored by normalisation.
    pub implausible_values: u64,
}

/// Result of validating one export request: how many items were refused and why (the first
/// reason, as OTLP's `partial_success.error_message` carries one message).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rejections {
    pub count: u64,
    pub message: Option<String>,
}

impl Rejections {
    /// Counts a refusal (keeping the first message); whether the item is kept.
    fn keep(&mut self, check: Result<(), impl FnOnce() -> String>) -> bool {
        let Err(message) = check else { return true };
        self.count += 1;
        if self.message.is_none() {
            self.message = Some(message());
        }
        false
    }
}

pub fn count_spans(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

pub fn count_logs(req: &ExportLogsServiceRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum()
}

/// Removes spans whose ids are unusable (wrong length, all zeros). OTLP/JSON with snake_case
/// keys decodes to empty ids, so this is also where such requests are caught.
pub fn validate_traces(req: &mut ExportTraceServiceRequest) -> Rejections {
    let mut rejections = Rejections::default();
    for ss in req.resource_spans.iter_mut().flat_map(|rs| &mut rs.scope_spans) {
        ss.spans
            .retain(|s| rejections.keep(span_check(&s.trace_id, &s.span_id, &s.parent_span_id, &s.name)));
    }
    rejections
}

/// [`validate_traces`] for the request conversion reads: the same spans removed, the same
/// message.
pub fn validate_traces_request(req: &mut TracesRequest) -> Rejections {
    let mut rejections = Rejections::default();
    for ss in req.resource_spans.iter_mut().flat_map(|rs| &mut rs.scope_spans) {
        ss.spans.retain(|s| {
            let (trace, span, parent) = (
                s.trace_id.as_bytes(),
                s.span_id.as_bytes(),
                s.parent_span_id.as_bytes(),
            );
            rejections.keep(span_check(trace, span, parent, &s.name))
        });
    }
    rejections
}

/// Removes log records whose ids are present but malformed. Logs without ids are fine.
pub fn validate_logs(req: &mut ExportLogsServiceRequest) -> Rejections {
    let mut rejections = Rejections::default();
    for sl in req.resource_logs.iter_mut().flat_map(|rl| &mut rl.scope_logs) {
        sl.log_records
            .retain(|l| rejections.keep(log_check(&l.trace_id, &l.span_id)));
    }
    rejections
}

/// [`validate_logs`] for the request conversion reads: the same records removed, the same
/// message.
pub fn validate_logs_request(req: &mut LogsRequest) -> Rejections {
    let mut rejections = Rejections::default();
    for sl in req.resource_logs.iter_mut().flat_map(|rl| &mut rl.scope_logs) {
        sl.log_records
            .retain(|l| rejections.keep(log_check(l.trace_id.as_bytes(), l.span_id.as_bytes())));
    }
    rejections
}

/// Why a span is refused, if it is: the message its export is answered with.
fn span_check(trace: &[u8], span: &[u8], parent: &[u8], name: &str) -> Result<(), impl FnOnce() -> String> {
    let check = TraceId::from_bytes(trace)
        .and(SpanId::from_bytes(span))
        .and(SpanId::parent_from_bytes(parent));
    check
        .map(|_| ())
        .map_err(|e| move || format!("span {:?}: {e}", truncate_for_message(name)))
}

/// Why a log record is refused, if it is (ids may be missing, not malformed).
fn log_check(trace: &[u8], span: &[u8]) -> Result<(), impl FnOnce() -> String> {
    let trace = if trace.is_empty() {
        Ok(())
    } else {
        TraceId::from_bytes(trace).map(|_| ())
    };
    let span = if span.is_empty() {
        Ok(())
    } else {
        SpanId::from_bytes(span).map(|_| ())
    };
    trace.and(span).map_err(|e| move || format!("log record: {e}"))
}

fn truncate_for_message(s: &str) -> &str {
    &s[..floor_char_boundary(s, 80)]
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Attribute keys whose string values are names with few distinct values; interning them makes
/// a million spans of `gpt-4o` cost one string.
fn is_name_valued_key(key: &str) -> bool {
    matches!(
        key,
        "gen_ai.request.model"
            | "gen_ai.response.model"
            | "gen_ai.provider.name"
            | "gen_ai.system"
            | "gen_ai.operation.name"
            | "gen_ai.span.kind"
            | "gen_ai.agent.name"
            | "gen_ai.tool.name"
            | "gen_ai.token.type"
            | "gen_ai.evaluation.name"
            | "gen_ai.evaluation.score.label"
            | "gen_ai.output.type"
            | "gen_ai.response.finish_reasons"
            | "llm.model_name"
            | "llm.provider"
            | "llm.system"
            | "llm.request.model_name"
            | "llm.response.model_name"
            | "llm.request.type"
            | "embedding.model_name"
            | "openinference.span.kind"
            | "fi.span.kind"
            | "traceloop.span.kind"
            | "langfuse.observation.type"
            | "langfuse.observation.model.name"
            | "input.mime_type"
            | "output.mime_type"
            | "tool.name"
            | "agent.name"
            | "app.route"
            | "route"
            | "http.route"
            | "http.request.method"
            | "http.method"
            | "tenant.id"
            | "tenant"
            | "server.address"
            | "error.type"
            | "event.name"
            | "service.name"
            | "service.version"
            | "deployment.environment.name"
            | "telemetry.sdk.name"
            | "telemetry.sdk.language"
            | "telemetry.sdk.version"
            | "project_name"
    )
}

/// What an attribute key tells, worked out once per distinct key and cached with it.
#[derive(Clone, Copy, Debug)]
struct KeyFact {
    info: KeyInfo,
    /// Its string values are names (models, providers, routes): interned.
    name_valued: bool,
}

/// Turns validated OTLP requests into records and normalises their LLM semantics. Owned by the
/// one ingest thread, so its interners need no lock.
#[derive(Debug)]
pub struct Converter {
    interner: Interner,
    keys: Interner<KeyFact>,
    limits: ConvertLimits,
    stats: ConvertStats,
    semconv: Arc<SemconvConfig>,
    costs: Option<Arc<CostTable>>,
    /// Scratch: the key facts of the span being converted, parallel to its attributes.
    infos: Vec<KeyInfo>,
    /// Calls of the last converted request that external evaluators chose, for the caller to
    /// queue once the spans are accepted.
    external_jobs: Vec<crate::eval::external::Job>,
}

impl Default for Converter {
    fn default() -> Self {
        Self::new(ConvertLimits::default(), Arc::default(), None)
    }
}

impl Converter {
    pub fn new(limits: ConvertLimits, semconv: Arc<SemconvConfig>, costs: Option<Arc<CostTable>>) -> Self {
        Self {
            interner: Interner::default(),
            keys: Interner::default(),
            limits,
            stats: ConvertStats::default(),
            semconv,
            costs,
            infos: Vec::new(),
            external_jobs: Vec::new(),
        }
    }

    pub fn stats(&self) -> ConvertStats {
        self.stats
    }

    /// Bytes held by the interners, part of the memory estimate.
    pub fn interner_bytes(&self) -> usize {
        self.interner.bytes() + self.keys.bytes()
    }

    /// Converts spans into `out` and the verdicts they carry into `verdicts`, then runs the
    /// built-in evaluators on them; the calls external evaluators chose among them are then
    /// available from [`Converter::take_external_jobs`].
    pub fn convert_traces<'a>(
        &mut self,
        req: impl Into<TracesRequest<'a>>,
        out: &mut Vec<SpanRecord>,
        verdicts: &mut Vec<Verdict>,
    ) {
        let first = out.len();
        self.external_jobs.clear();
        self.convert_traces_unevaluated(req, out, verdicts);
        let (done, skipped) = builtin_evaluation(&self.semconv.builtin, &out[first..], verdicts);
        self.stats.evaluated_calls += done;
        self.stats.unevaluated_calls += skipped;
        let external = &self.semconv.external;
        if external.is_active() {
            external.select(&self.semconv.builtin, &out[first..], &mut self.external_jobs);
        }
    }

    /// The calls external evaluators chose in the last [`Converter::convert_traces`].
    pub fn take_external_jobs(&mut self) -> Vec<crate::eval::external::Job> {
        std::mem::take(&mut self.external_jobs)
    }

    /// [`Converter::convert_traces`] without the built-in evaluators and the external
    /// evaluators' choice, for a caller that runs them on each request's spans itself, in the
    /// same order (a replay converts ahead on the file's thread and evaluates on the merging
    /// one, see `ingest::evaluate_prepared`).
    pub fn convert_traces_unevaluated<'a>(
        &mut self,
        req: impl Into<TracesRequest<'a>>,
        out: &mut Vec<SpanRecord>,
        verdicts: &mut Vec<Verdict>,
    ) {
        let first = out.len();
        for rs in req.into().resource_spans {
            let group_len: usize = rs.scope_spans.iter().map(|s| s.spans.len()).sum();
            if group_len == 0 {
                continue;
            }
            let resource = self.resource(rs.resource);
            let resource_share = memory::shared_share(memory::resource_bytes(&resource), group_len);
            for ss in rs.scope_spans {
                let scope = self.scope(ss.scope);
                for span in ss.spans {
                    let span = *span;
                    let (Ok(trace_id), Ok(span_id), Ok(parent_span_id)) = (
                        TraceId::from_bytes(span.trace_id.as_bytes()),
                        SpanId::from_bytes(span.span_id.as_bytes()),
                        SpanId::parent_from_bytes(span.parent_span_id.as_bytes()),
                    ) else {
                        // validate_traces removed these already; a caller that skipped it loses
                        // nothing else.
                        continue;
                    };
                    let (status, status_message) = match span.status {
                        Some(st) => (
                            StatusCode::from_otlp(st.code),
                            (!st.message.is_empty()).then(|| self.content(st.message)),
                        ),
                        None => (StatusCode::Unset, None),
                    };
                    let mut record = SpanRecord {
                        trace_id,
                        span_id,
                        parent_span_id,
                        start_unix_nano: span.start_time_unix_nano,
                        end_unix_nano: span.end_time_unix_nano.max(span.start_time_unix_nano),
                        name: self.name(span.name),
                        kind: SpanKind::from_otlp(span.kind),
                        status,
                        status_message,
                        flags: span.flags,
                        resource: resource.clone(),
                        scope: scope.clone(),
                        attributes: self.span_attributes(span.attributes),
                        events: self.events(span.events),
                        links: self.links(span.links),
                        sem: None,
                        mem_bytes: 0,
                    };
                    record.sem = self.normalise(&record, verdicts);
                    record.mem_bytes = clamp_u32(memory::span_bytes(&record) + resource_share);
                    out.push(record);
                }
            }
        }
        crate::semconv::wrapper::mark_wrappers(&mut out[first..]);
    }

    /// Normalises an already converted record again (key classes come from the key interner):
    /// for re-reading with other settings, and for measuring normalisation on its own.
    pub fn normalise_record(
        &mut self,
        record: &SpanRecord,
        verdicts: &mut Vec<Verdict>,
    ) -> Option<Box<Semantics>> {
        let cohorts = &self.semconv.cohorts;
        let mut infos = std::mem::take(&mut self.infos);
        infos.clear();
        infos.extend(record.attributes.iter().map(|a| {
            self.keys
                .intern_with(&a.key, |k| KeyFact {
                    info: KeyInfo::of(k, cohorts),
                    name_valued: is_name_valued_key(k),
                })
                .1
                .info
        }));
        self.infos = infos;
        self.normalise(record, verdicts)
    }

    fn normalise(&mut self, record: &SpanRecord, verdicts: &mut Vec<Verdict>) -> Option<Box<Semantics>> {
        let implausible = std::cell::Cell::new(0);
        let ctx = Context {
            config: &self.semconv,
            costs: self.costs.as_deref(),
            implausible: &implausible,
        };
        let interner = &mut self.interner;
        let sem =
            crate::semconv::normalise_span(record, &self.infos, &ctx, &mut |s| interner.intern(s), verdicts);
        self.stats.implausible_values += implausible.get();
        sem
    }

    /// Converts log records into `out` and evaluation results among them into `verdicts`.
    pub fn convert_logs<'a>(
        &mut self,
        req: impl Into<LogsRequest<'a>>,
        out: &mut Vec<LogRecord>,
        verdicts: &mut Vec<Verdict>,
    ) {
        for rl in req.into().resource_logs {
            let group_len: usize = rl.scope_logs.iter().map(|s| s.log_records.len()).sum();
            if group_len == 0 {
                continue;
            }
            let resource = self.resource(rl.resource);
            let resource_share = memory::shared_share(memory::resource_bytes(&resource), group_len);
            for sl in rl.scope_logs {
                let scope = self.scope(sl.scope);
                for log in sl.log_records {
                    let attributes = self.attributes(log.attributes);
                    let event_name = if !log.event_name.is_empty() {
                        Some(self.name(log.event_name))
                    } else {
                        super::record::find_attr(&attributes, "event.name")
                            .and_then(Value::as_str)
                            .map(|s| self.interner.intern(s))
                    };
                    let mut record = LogRecord {
                        trace_id: TraceId::from_bytes(log.trace_id.as_bytes()).ok(),
                        span_id: SpanId::from_bytes(log.span_id.as_bytes()).ok(),
                        time_unix_nano: log.time_unix_nano,
                        observed_unix_nano: log.observed_time_unix_nano,
                        severity_number: log.severity_number,
                        severity_text: (!log.severity_text.is_empty()).then(|| self.name(log.severity_text)),
                        event_name,
                        body: match log.body {
                            Some(v) => self.value(v, 0),
                            None => Value::Empty,
                        },
                        resource: resource.clone(),
                        scope: scope.clone(),
                        attributes,
                        mem_bytes: 0,
                    };
                    record.mem_bytes = clamp_u32(memory::log_bytes(&record) + resource_share);
                    let interner = &mut self.interner;
                    verdicts.extend(log_verdict(&record, &self.semconv, &mut |s| interner.intern(s)));
                    out.push(record);
                }
            }
        }
    }

    /// An interned name: an owned string becomes the interned one when it is new.
    fn name(&mut self, s: Text) -> Sym {
        match s {
            Cow::Owned(s) => self.interner.intern_owned(s),
            Cow::Borrowed(s) => self.interner.intern(s),
        }
    }

    fn resource(&mut self, resource: Option<request::Resource>) -> Arc<Resource> {
        let attributes = self.attributes(resource.map(|r| r.attributes).unwrap_or_default());
        // traceAI sends no service.name; its project_name plays that part.
        let service = ["service.name", "project_name"]
            .iter()
            .find_map(|k| super::record::find_attr(&attributes, k).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown_service");
        Arc::new(Resource {
            service: self.interner.intern(service),
            attributes,
        })
    }

    fn scope(&mut self, scope: Option<request::Scope>) -> Scope {
        let scope = scope.unwrap_or_default();
        Scope {
            name: self.name(scope.name),
            version: (!scope.version.is_empty()).then(|| self.name(scope.version)),
        }
    }

    fn events(&mut self, events: Vec<request::Event>) -> Box<[SpanEvent]> {
        let keep = self.cap_count(events.len(), self.limits.max_events, Counter::Events);
        exact(events.into_iter().take(keep).map(|e| SpanEvent {
            time_unix_nano: e.time_unix_nano,
            name: self.name(e.name),
            attributes: self.attributes(e.attributes),
        }))
    }

    fn links(&mut self, links: Vec<request::Link>) -> Box<[SpanLink]> {
        let keep = self.cap_count(links.len(), self.limits.max_events, Counter::Events);
        exact(links.into_iter().take(keep).filter_map(|l| {
            // A link with malformed ids points nowhere; it is dropped, not the span.
            let trace_id = TraceId::from_bytes(l.trace_id.as_bytes()).ok()?;
            let span_id = SpanId::from_bytes(l.span_id.as_bytes()).ok()?;
            Some(SpanLink {
                trace_id,
                span_id,
                attributes: self.attributes(l.attributes),
            })
        }))
    }

    fn attributes(&mut self, attrs: Vec<request::KeyValue>) -> Box<[Attr]> {
        let keep = self.cap_count(attrs.len(), self.limits.max_attributes, Counter::Attributes);
        exact(attrs.into_iter().take(keep).map(|kv| self.attribute(kv, 0).0))
    }

    /// A span's own attributes, recording each key's class in `self.infos` for normalisation.
    fn span_attributes(&mut self, attrs: Vec<request::KeyValue>) -> Box<[Attr]> {
        let keep = self.cap_count(attrs.len(), self.limits.max_attributes, Counter::Attributes);
        let mut infos = std::mem::take(&mut self.infos);
        infos.clear();
        let out = exact(attrs.into_iter().take(keep).map(|kv| {
            let (attr, info) = self.attribute(kv, 0);
            infos.push(info);
            attr
        }));
        self.infos = infos;
        out
    }

    /// The interned key and what it tells, worked out on its first sight.
    fn key_fact(&mut self, key: &str) -> (Sym, KeyFact) {
        let cohorts = &self.semconv.cohorts;
        self.keys.intern_with(key, |k| KeyFact {
            info: KeyInfo::of(k, cohorts),
            name_valued: is_name_valued_key(k),
        })
    }

    fn attribute(&mut self, kv: request::KeyValue, depth: usize) -> (Attr, KeyInfo) {
        let (key, fact) = self.key_fact(&kv.key);
        let value = match kv.value {
            Some(AnyValue::String(s)) if fact.name_valued && s.len() <= 128 => Value::Sym(self.name(s)),
            Some(v) => self.value(v, depth),
            None => Value::Empty,
        };
        (Attr { key, value }, fact.info)
    }

    fn value(&mut self, v: AnyValue, depth: usize) -> Value {
        match v {
            AnyValue::Empty => Value::Empty,
            AnyValue::String(s) => Value::Str(self.content(s)),
            AnyValue::Bool(b) => Value::Bool(b),
            AnyValue::Int(i) => Value::Int(i),
            AnyValue::Double(d) => Value::Double(d),
            AnyValue::StringStrindex(i) => Value::Int(i64::from(i)),
            AnyValue::Bytes(mut b) => {
                if b.len() > self.limits.max_value_bytes {
                    b.truncate(self.limits.max_value_bytes);
                    self.stats.truncated_values += 1;
                }
                Value::Bytes(b.into_boxed_slice())
            }
            AnyValue::Array(values) => {
                if depth >= self.limits.max_depth {
                    self.stats.truncated_values += 1;
                    return Value::Str("[nested too deep]".into());
                }
                let keep = self.cap_count(values.len(), self.limits.max_array_len, Counter::Values);
                Value::Array(exact(
                    values.into_iter().take(keep).map(|v| self.value(v, depth + 1)),
                ))
            }
            AnyValue::Kvlist(kvs) => {
                if depth >= self.limits.max_depth {
                    self.stats.truncated_values += 1;
                    return Value::Str("{nested too deep}".into());
                }
                let keep = self.cap_count(kvs.len(), self.limits.max_array_len, Counter::Values);
                Value::Map(exact(
                    kvs.into_iter()
                        .take(keep)
                        .map(|kv| self.attribute(kv, depth + 1).0),
                ))
            }
        }
    }

    /// Content strings are kept as they came (an owned one is not copied, a borrowed one is
    /// copied once into its final size), cut at a character boundary when huge.
    fn content(&mut self, s: Text) -> Box<str> {
        if s.len() <= self.limits.max_value_bytes {
            return match s {
                Cow::Owned(s) => s.into_boxed_str(),
                Cow::Borrowed(s) => s.into(),
            };
        }
        let mut s = s.into_owned();
        let cut = floor_char_boundary(&s, self.limits.max_value_bytes);
        let dropped = s.len() - cut;
        s.truncate(cut);
        s.push_str(&format!("…[truncated {dropped} bytes]"));
        self.stats.truncated_values += 1;
        s.into_boxed_str()
    }

    fn cap_count(&mut self, len: usize, max: usize, counter: Counter) -> usize {
        if len > max {
            let dropped = (len - max) as u64;
            match counter {
                Counter::Attributes => self.stats.dropped_attributes += dropped,
                Counter::Events => self.stats.dropped_events += dropped,
                Counter::Values => self.stats.truncated_values += 1,
            }
            max
        } else {
            len
        }
    }
}

#[derive(Clone, Copy)]
enum Counter {
    Attributes,
    Events,
    Values,
}

/// Collects into a fresh allocation of exactly the right size. A plain `collect` would reuse the
/// decoded message's larger buffer in place and keep all of it alive behind a smaller slice,
/// which the memory estimate could not see.
fn exact<T>(iter: impl Iterator<Item = T>) -> Box<[T]> {
    let mut v = Vec::with_capacity(iter.size_hint().1.unwrap_or(0));
    v.extend(iter);
    v.into_boxed_slice()
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// llmwatch's own evaluators on the model calls of one request, with what the request says about
/// each trace: the documents its retrieval spans returned (for context_overlap) and its route
/// (usually on the root, which OTel SDKs export in the same batch when the trace is short).
/// Spans of a trace that arrive in other requests are not consulted: no context_overlap verdict
/// is better than one computed against the wrong documents.
/// Returns how many calls were checked and how many were over the per-second cap.
///
/// The cap is shared state: run this on one request's spans at a time, in arrival order.
pub fn builtin_evaluation(
    config: &crate::eval::BuiltinConfig,
    spans: &[SpanRecord],
    verdicts: &mut Vec<Verdict>,
) -> (u64, u64) {
    if config.is_active() {
        builtin_verdicts(config, spans, verdicts)
    } else {
        (0, 0)
    }
}

fn builtin_verdicts(
    config: &crate::eval::BuiltinConfig,
    spans: &[SpanRecord],
    verdicts: &mut Vec<Verdict>,
) -> (u64, u64) {
    let is_call = |s: &SpanRecord| s.sem.as_deref().is_some_and(|m| m.is_model_call());
    // Admitted first, so a request over the cap costs nothing more than this count.
    let admitted: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| is_call(s))
        .filter(|s| config.cap.admit(s.end_unix_nano / 1_000_000_000))
        .collect();
    let skipped = spans.iter().filter(|s| is_call(s)).count() as u64 - admitted.len() as u64;
    if admitted.is_empty() {
        return (0, skipped);
    }
    // Read once per trace, for the traces with a call to check.
    let docs = if config.context_overlap {
        let traces: foldhash::HashSet<_> = admitted.iter().map(|s| s.trace_id).collect();
        crate::eval::per_trace_index(spans, |t| traces.contains(&t))
    } else {
        Default::default()
    };
    let no_documents = crate::eval::builtin::DocumentIndex::default();
    let routes = if config.budgets.is_empty() {
        Default::default()
    } else {
        crate::eval::per_trace(spans, |m| m.route.as_ref())
    };
    for s in &admitted {
        let d = docs.get(&s.trace_id).unwrap_or(&no_documents);
        verdicts.extend(crate::eval::evaluate_indexed(
            config,
            s,
            d,
            routes.get(&s.trace_id).map(|r| &***r),
        ));
    }
    (admitted.len() as u64, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn span(trace: u8, id: u8, parent: Option<u8>) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: "chat gpt-4o".into(),
            kind: 3,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 2_000,
            status: Some(Status {
                message: "boom".into(),
                code: 2,
            }),
            attributes: vec![kv(
                "gen_ai.request.model",
                any_value::Value::StringValue("gpt-4o".into()),
            )],
            ..Default::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(OtlpResource {
                    attributes: vec![kv("service.name", any_value::Value::StringValue("svc".into()))],
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

    #[test]
    fn converts_a_span_with_interned_names() {
        let mut c = Converter::default();
        let mut out = Vec::new();
        c.convert_traces(
            request(vec![span(1, 2, None), span(1, 3, Some(2))]),
            &mut out,
            &mut Vec::new(),
        );
        assert_eq!(out.len(), 2);
        let (a, b) = (&out[0], &out[1]);
        assert_eq!(a.service(), "svc");
        assert_eq!(a.kind, SpanKind::Client);
        assert_eq!(a.status, StatusCode::Error);
        assert_eq!(a.status_message.as_deref(), Some("boom"));
        assert_eq!(a.parent_span_id, None);
        assert_eq!(b.parent_span_id, Some(SpanId([2; 8])));
        assert!(Arc::ptr_eq(&a.name, &b.name));
        let (Value::Sym(m1), Value::Sym(m2)) = (&a.attributes[0].value, &b.attributes[0].value) else {
            panic!("model values should be interned");
        };
        assert!(Arc::ptr_eq(m1, m2));
        assert!(a.mem_bytes > 0, "the resource share at least");
    }

    #[test]
    fn invalid_ids_are_rejected_with_a_reason() {
        let mut bad_trace = span(1, 2, None);
        bad_trace.trace_id = vec![];
        let mut bad_parent = span(1, 4, None);
        bad_parent.parent_span_id = vec![1, 2, 3];
        let mut req = request(vec![bad_trace, span(1, 3, None), bad_parent]);
        let rej = validate_traces(&mut req);
        assert_eq!(rej.count, 2);
        assert_eq!(
            rej.message.as_deref(),
            Some("span \"chat gpt-4o\": trace_id must be 16 bytes, got 0")
        );
        assert_eq!(count_spans(&req), 1);
    }

    #[test]
    fn huge_and_deep_values_are_capped() {
        let limits = ConvertLimits {
            max_value_bytes: 10,
            max_attributes: 2,
            max_array_len: 3,
            max_depth: 2,
            ..Default::default()
        };
        let mut c = Converter::new(limits, Arc::default(), None);
        let mut s = span(1, 2, None);
        let deep = any_value::Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(any_value::Value::KvlistValue(KeyValueList {
                    values: vec![kv(
                        "inner",
                        any_value::Value::ArrayValue(ArrayValue { values: vec![] }),
                    )],
                })),
            }],
        });
        s.attributes = vec![
            kv("text", any_value::Value::StringValue("héllo wörld, again".into())),
            kv("deep", deep),
            kv("dropped", any_value::Value::BoolValue(true)),
        ];
        let mut out = Vec::new();
        c.convert_traces(request(vec![s]), &mut out, &mut Vec::new());
        let attrs = &out[0].attributes;
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].value.as_str(), Some("héllo wö…[truncated 10 bytes]"));
        let Value::Array(outer) = &attrs[1].value else {
            panic!()
        };
        let Value::Map(inner) = &outer[0] else { panic!() };
        assert_eq!(inner[0].value.as_str(), Some("[nested too deep]"));
        let stats = c.stats();
        assert_eq!(stats.dropped_attributes, 1);
        assert_eq!(stats.truncated_values, 2);
    }

    #[test]
    fn service_falls_back_to_project_name_then_unknown() {
        let mut c = Converter::default();
        let mut req = request(vec![span(1, 2, None)]);
        req.resource_spans[0].resource = Some(OtlpResource {
            attributes: vec![kv(
                "project_name",
                any_value::Value::StringValue("traceai-app".into()),
            )],
            ..Default::default()
        });
        let mut out = Vec::new();
        c.convert_traces(req, &mut out, &mut Vec::new());
        assert_eq!(out[0].service(), "traceai-app");

        let mut req = request(vec![span(1, 2, None)]);
        req.resource_spans[0].resource = None;
        c.convert_traces(req, &mut out, &mut Vec::new());
        assert_eq!(out[1].service(), "unknown_service");
    }
}
