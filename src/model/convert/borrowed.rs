//! Trace and log requests decoded from OTLP/JSON with their strings borrowed from the text (only
//! strings with escapes are allocated), and their conversion into records: the same steps as
//! [`Converter::convert_traces_unevaluated`] and [`Converter::convert_logs`] on
//! opentelemetry-proto's types, in the same order, so a converter ends up in the same state and
//! the records are equal. What this saves is the
//! owned request in between: a `String` for every key and name, a `Vec` for every id, and
//! their freeing on another thread. `ingest::otlp_json` decodes these; its tests check the
//! records against the opentelemetry-proto path.

use super::{Converter, Counter, Rejections, clamp_u32, exact, truncate_for_message};
use crate::model::memory;
use crate::model::{
    Attr, LogRecord as ModelLogRecord, Resource as ModelResource, Scope as ModelScope, SpanEvent, SpanId,
    SpanKind, SpanLink, SpanRecord, StatusCode, TraceId, Value,
};
use crate::semconv::normalise::log_verdict;
use crate::semconv::{KeyInfo, Verdict};
use std::borrow::Cow;
use std::sync::Arc;

/// A string of the JSON text: borrowed, or owned when it had escapes.
pub type Text<'a> = Cow<'a, str>;

#[derive(Debug, Default, PartialEq)]
pub struct TracesRequest<'a> {
    pub resource_spans: Vec<ResourceSpans<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ResourceSpans<'a> {
    pub resource: Option<Resource<'a>>,
    pub scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Resource<'a> {
    pub attributes: Vec<KeyValue<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ScopeSpans<'a> {
    pub scope: Option<Scope<'a>>,
    /// Boxed: a request's thousand spans would otherwise need one allocation of hundreds of
    /// KiB, fresh (zeroed) memory every time, where boxes reuse small blocks.
    pub spans: Vec<Box<Span<'a>>>,
}

/// What conversion reads of an `InstrumentationScope` (its attributes are not kept).
#[derive(Debug, Default, PartialEq)]
pub struct Scope<'a> {
    pub name: Text<'a>,
    pub version: Text<'a>,
}

/// What conversion reads of a span (`traceState` and the dropped counts are not kept).
#[derive(Debug, Default, PartialEq)]
pub struct Span<'a> {
    pub trace_id: Id,
    pub span_id: Id,
    pub parent_span_id: Id,
    pub flags: u32,
    pub name: Text<'a>,
    pub kind: i32,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub attributes: Vec<KeyValue<'a>>,
    pub events: Vec<Event<'a>>,
    pub links: Vec<Link<'a>>,
    pub status: Option<Status<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Event<'a> {
    pub time_unix_nano: u64,
    pub name: Text<'a>,
    pub attributes: Vec<KeyValue<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Link<'a> {
    pub trace_id: Id,
    pub span_id: Id,
    pub attributes: Vec<KeyValue<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Status<'a> {
    pub message: Text<'a>,
    pub code: i32,
}

#[derive(Debug, Default, PartialEq)]
pub struct LogsRequest<'a> {
    pub resource_logs: Vec<ResourceLogs<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ResourceLogs<'a> {
    pub resource: Option<Resource<'a>>,
    pub scope_logs: Vec<ScopeLogs<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ScopeLogs<'a> {
    pub scope: Option<Scope<'a>>,
    pub log_records: Vec<LogRecord<'a>>,
}

/// What conversion reads of a log record (`flags` and the dropped count are not kept).
#[derive(Debug, Default, PartialEq)]
pub struct LogRecord<'a> {
    pub time_unix_nano: u64,
    pub observed_time_unix_nano: u64,
    pub severity_number: i32,
    pub severity_text: Text<'a>,
    /// `None` when the body, or its one variant, is missing.
    pub body: Option<AnyValue<'a>>,
    pub attributes: Vec<KeyValue<'a>>,
    pub trace_id: Id,
    pub span_id: Id,
    pub event_name: Text<'a>,
}

#[derive(Debug, Default, PartialEq)]
pub struct KeyValue<'a> {
    pub key: Text<'a>,
    /// `None` when the value, or its one variant, is missing.
    pub value: Option<AnyValue<'a>>,
}

#[derive(Debug, PartialEq)]
pub enum AnyValue<'a> {
    String(Text<'a>),
    Bool(bool),
    Int(i64),
    Double(f64),
    /// Elements without a variant are `None`.
    Array(Vec<Option<AnyValue<'a>>>),
    Kvlist(Vec<KeyValue<'a>>),
    Bytes(Vec<u8>),
}

/// Decoded id bytes, inline up to 16 (every valid id), of any length as decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Id {
    Inline { len: u8, bytes: [u8; 16] },
    Heap(Vec<u8>),
}

impl Default for Id {
    fn default() -> Self {
        Id::Inline {
            len: 0,
            bytes: [0; 16],
        }
    }
}

impl Id {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Id::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Id::Heap(v) => v,
        }
    }
}

/// Spans in the request, before validation (what a receiver counts as received).
pub fn count_spans(req: &TracesRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// The earliest span start (as `replay::event_time` reads it from the decoded request).
pub fn event_time(req: &TracesRequest) -> Option<u64> {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.start_time_unix_nano)
        .filter(|t| *t > 0)
        .min()
}

/// [`super::validate_traces`] for a borrowed request: the same spans removed, the same message.
pub fn validate_traces(req: &mut TracesRequest) -> Rejections {
    let mut rejections = Rejections::default();
    for rs in &mut req.resource_spans {
        for ss in &mut rs.scope_spans {
            ss.spans.retain(|span| {
                let check = TraceId::from_bytes(span.trace_id.as_bytes())
                    .and(SpanId::from_bytes(span.span_id.as_bytes()))
                    .and(SpanId::parent_from_bytes(span.parent_span_id.as_bytes()));
                match check {
                    Ok(_) => true,
                    Err(e) => {
                        rejections.add(|| format!("span {:?}: {e}", truncate_for_message(&span.name)));
                        false
                    }
                }
            });
        }
    }
    rejections
}

/// Log records in the request, before validation.
pub fn count_logs(req: &LogsRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum()
}

/// The earliest log time (or observed time, for a log without one), as `replay::event_time`
/// reads it from the decoded request.
pub fn logs_event_time(req: &LogsRequest) -> Option<u64> {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .map(|l| crate::model::log_event_time(l.time_unix_nano, l.observed_time_unix_nano))
        .filter(|t| *t > 0)
        .min()
}

/// [`super::validate_logs`] for a borrowed request: the same records removed, the same message.
pub fn validate_logs(req: &mut LogsRequest) -> Rejections {
    let mut rejections = Rejections::default();
    for rl in &mut req.resource_logs {
        for sl in &mut rl.scope_logs {
            sl.log_records.retain(|log| {
                let (trace_id, span_id) = (log.trace_id.as_bytes(), log.span_id.as_bytes());
                let trace = if trace_id.is_empty() {
                    Ok(())
                } else {
                    TraceId::from_bytes(trace_id).map(|_| ())
                };
                let span = if span_id.is_empty() {
                    Ok(())
                } else {
                    SpanId::from_bytes(span_id).map(|_| ())
                };
                match trace.and(span) {
                    Ok(()) => true,
                    Err(e) => {
                        rejections.add(|| format!("log record: {e}"));
                        false
                    }
                }
            });
        }
    }
    rejections
}

impl Converter {
    /// [`Converter::convert_logs`] for a borrowed request (validated first).
    pub fn convert_borrowed_logs(
        &mut self,
        req: LogsRequest,
        out: &mut Vec<ModelLogRecord>,
        verdicts: &mut Vec<Verdict>,
    ) {
        for rl in req.resource_logs {
            let group_len: usize = rl.scope_logs.iter().map(|s| s.log_records.len()).sum();
            if group_len == 0 {
                continue;
            }
            let resource = self.borrowed_resource(rl.resource);
            let resource_share = memory::shared_share(memory::resource_bytes(&resource), group_len);
            for sl in rl.scope_logs {
                let scope = self.borrowed_scope(sl.scope);
                for log in sl.log_records {
                    let attributes = self.borrowed_attributes(log.attributes);
                    let event_name = if !log.event_name.is_empty() {
                        Some(self.interner.intern(&log.event_name))
                    } else {
                        crate::model::find_attr(&attributes, "event.name")
                            .and_then(Value::as_str)
                            .map(|s| self.interner.intern(s))
                    };
                    let mut record = ModelLogRecord {
                        trace_id: TraceId::from_bytes(log.trace_id.as_bytes()).ok(),
                        span_id: SpanId::from_bytes(log.span_id.as_bytes()).ok(),
                        time_unix_nano: log.time_unix_nano,
                        observed_unix_nano: log.observed_time_unix_nano,
                        severity_number: log.severity_number,
                        severity_text: (!log.severity_text.is_empty())
                            .then(|| self.interner.intern(&log.severity_text)),
                        event_name,
                        body: match log.body {
                            Some(v) => self.borrowed_value(v, 0),
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

    /// [`Converter::convert_traces_unevaluated`] for a borrowed request (validated first).
    pub fn convert_borrowed_traces(
        &mut self,
        req: TracesRequest,
        out: &mut Vec<SpanRecord>,
        verdicts: &mut Vec<Verdict>,
    ) {
        let first = out.len();
        for rs in req.resource_spans {
            let group_len: usize = rs.scope_spans.iter().map(|s| s.spans.len()).sum();
            if group_len == 0 {
                continue;
            }
            let resource = self.borrowed_resource(rs.resource);
            let resource_share = memory::shared_share(memory::resource_bytes(&resource), group_len);
            for ss in rs.scope_spans {
                let scope = self.borrowed_scope(ss.scope);
                for span in ss.spans {
                    let span = *span;
                    let (Ok(trace_id), Ok(span_id), Ok(parent_span_id)) = (
                        TraceId::from_bytes(span.trace_id.as_bytes()),
                        SpanId::from_bytes(span.span_id.as_bytes()),
                        SpanId::parent_from_bytes(span.parent_span_id.as_bytes()),
                    ) else {
                        continue;
                    };
                    let (status, status_message) = match span.status {
                        Some(st) => (
                            StatusCode::from_otlp(st.code),
                            (!st.message.is_empty()).then(|| self.text_content(st.message)),
                        ),
                        None => (StatusCode::Unset, None),
                    };
                    let mut record = SpanRecord {
                        trace_id,
                        span_id,
                        parent_span_id,
                        start_unix_nano: span.start_time_unix_nano,
                        end_unix_nano: span.end_time_unix_nano.max(span.start_time_unix_nano),
                        name: self.interner.intern(&span.name),
                        kind: SpanKind::from_otlp(span.kind),
                        status,
                        status_message,
                        flags: span.flags,
                        resource: resource.clone(),
                        scope: scope.clone(),
                        attributes: self.borrowed_span_attributes(span.attributes),
                        events: self.borrowed_events(span.events),
                        links: self.borrowed_links(span.links),
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

    fn borrowed_resource(&mut self, resource: Option<Resource>) -> Arc<ModelResource> {
        let attributes = self.borrowed_attributes(resource.map(|r| r.attributes).unwrap_or_default());
        let service = ["service.name", "project_name"]
            .iter()
            .find_map(|k| crate::model::find_attr(&attributes, k).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown_service");
        Arc::new(ModelResource {
            service: self.interner.intern(service),
            attributes,
        })
    }

    fn borrowed_scope(&mut self, scope: Option<Scope>) -> ModelScope {
        let scope = scope.unwrap_or_default();
        ModelScope {
            name: self.interner.intern(&scope.name),
            version: (!scope.version.is_empty()).then(|| self.interner.intern(&scope.version)),
        }
    }

    fn borrowed_events(&mut self, events: Vec<Event>) -> Box<[SpanEvent]> {
        let keep = self.cap_count(events.len(), self.limits.max_events, Counter::Events);
        exact(events.into_iter().take(keep).map(|e| SpanEvent {
            time_unix_nano: e.time_unix_nano,
            name: self.interner.intern(&e.name),
            attributes: self.borrowed_attributes(e.attributes),
        }))
    }

    fn borrowed_links(&mut self, links: Vec<Link>) -> Box<[SpanLink]> {
        let keep = self.cap_count(links.len(), self.limits.max_events, Counter::Events);
        exact(links.into_iter().take(keep).filter_map(|l| {
            let trace_id = TraceId::from_bytes(l.trace_id.as_bytes()).ok()?;
            let span_id = SpanId::from_bytes(l.span_id.as_bytes()).ok()?;
            Some(SpanLink {
                trace_id,
                span_id,
                attributes: self.borrowed_attributes(l.attributes),
            })
        }))
    }

    fn borrowed_attributes(&mut self, attrs: Vec<KeyValue>) -> Box<[Attr]> {
        let keep = self.cap_count(attrs.len(), self.limits.max_attributes, Counter::Attributes);
        exact(
            attrs
                .into_iter()
                .take(keep)
                .map(|kv| self.borrowed_attribute(kv, 0).0),
        )
    }

    fn borrowed_span_attributes(&mut self, attrs: Vec<KeyValue>) -> Box<[Attr]> {
        let keep = self.cap_count(attrs.len(), self.limits.max_attributes, Counter::Attributes);
        let mut infos = std::mem::take(&mut self.infos);
        infos.clear();
        let out = exact(attrs.into_iter().take(keep).map(|kv| {
            let (attr, info) = self.borrowed_attribute(kv, 0);
            infos.push(info);
            attr
        }));
        self.infos = infos;
        out
    }

    fn borrowed_attribute(&mut self, kv: KeyValue, depth: usize) -> (Attr, KeyInfo) {
        let (key, fact) = self.key_fact(&kv.key);
        let value = match kv.value {
            Some(AnyValue::String(s)) if fact.name_valued && s.len() <= 128 => {
                Value::Sym(self.interner.intern(&s))
            }
            Some(v) => self.borrowed_value(v, depth),
            None => Value::Empty,
        };
        (Attr { key, value }, fact.info)
    }

    fn borrowed_value(&mut self, v: AnyValue, depth: usize) -> Value {
        match v {
            AnyValue::String(s) => Value::Str(self.text_content(s)),
            AnyValue::Bool(b) => Value::Bool(b),
            AnyValue::Int(i) => Value::Int(i),
            AnyValue::Double(d) => Value::Double(d),
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
                Value::Array(exact(values.into_iter().take(keep).map(|v| match v {
                    Some(v) => self.borrowed_value(v, depth + 1),
                    None => Value::Empty,
                })))
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
                        .map(|kv| self.borrowed_attribute(kv, depth + 1).0),
                ))
            }
        }
    }

    /// [`Converter::content`] for text that may be borrowed: copied once, into its final size.
    fn text_content(&mut self, s: Text) -> Box<str> {
        if s.len() > self.limits.max_value_bytes {
            return self.content(s.into_owned());
        }
        match s {
            Cow::Owned(s) => s.into_boxed_str(),
            Cow::Borrowed(s) => s.into(),
        }
    }
}
