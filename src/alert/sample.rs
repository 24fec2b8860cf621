//! What a trace puts into a rule's windows: one sample per span, verdict or trace the rule's
//! conditions look at, with the cohort value it belongs to and the event second it is placed at
//! (a span's end, a verdict's target span's end, a trace's last end).

use super::rules::{Condition, Filter, GroupKey, Metric, Rule, SpanSel};
use crate::model::{SpanRecord, StatusCode, Value, find_attr};
use crate::semconv::cohort::CohortKey;
use crate::semconv::coverage::Coverage;
use crate::semconv::value::as_label;
use crate::store::Trace;
use std::borrow::Cow;

/// The cohort value of a sample that lacks the rule's `group_by` key.
pub const NO_VALUE: &str = "(none)";

/// One sample of one condition, before its cohort value is given an id.
#[derive(Clone, Debug, PartialEq)]
pub struct RawSample<'a> {
    pub cond: usize,
    pub cohort: Option<Cow<'a, str>>,
    pub second: u64,
    pub value: f64,
}

/// What a rule reads from a trace. Samples of `second > max_second` are left out (the store's
/// clock-skew guard).
pub fn samples<'a>(rule: &Rule, trace: &'a Trace, out: &mut Vec<RawSample<'a>>) {
    if trace.spans.is_empty() {
        return;
    }
    let primary = primary_call(trace);
    for (ci, cond) in rule.conditions.iter().enumerate() {
        let mut push = |at: Target<'a>, second: u64, value: f64| {
            if !cond.filters.iter().all(|f| matches(f, trace, at, primary)) {
                return;
            }
            let cohort = rule
                .group_by
                .as_ref()
                .map(|k| value_of(k, trace, at, primary).unwrap_or(Cow::Borrowed(NO_VALUE)));
            out.push(RawSample {
                cond: ci,
                cohort,
                second,
                value,
            });
        };
        let trace_second = trace.end_unix_nano / 1_000_000_000;
        match cond.metric {
            Metric::Dropped => {}
            Metric::ErrorRate if cond.span_kind.is_none() => {
                push(
                    Target::Trace,
                    trace_second,
                    f64::from(u8::from(trace.error_spans > 0)),
                );
            }
            Metric::CostPerTrace => {
                if let Some(cost) = trace.cost_usd() {
                    push(Target::Trace, trace_second, cost);
                }
            }
            Metric::TokensPerTrace => {
                let mut calls = 0;
                let mut tokens = 0u64;
                for s in &trace.spans {
                    let Some(sem) = s.sem.as_deref() else { continue };
                    calls += u32::from(sem.kind.is_model_call());
                    if let Some(u) = sem.usage {
                        tokens = tokens.saturating_add(u.input).saturating_add(u.output);
                    }
                }
                if calls > 0 {
                    push(Target::Trace, trace_second, tokens as f64);
                }
            }
            Metric::EvalFailRate | Metric::EvalMeanScore => {
                let name = cond.evaluator.as_deref().unwrap_or_default();
                // A person's verdict counts in place of the judge it overrides.
                for v in trace
                    .effective_verdicts()
                    .filter(|v| v.name.eq_ignore_ascii_case(name))
                {
                    let value = match cond.metric {
                        Metric::EvalFailRate => v.passed.map(|p| f64::from(u8::from(!p))),
                        _ => v.score.filter(|s| s.is_finite()),
                    };
                    let Some(value) = value else { continue };
                    let target = trace.verdict_target(v);
                    let at = match (target, cond.span_kind) {
                        (Some(t), Some(sel)) if selects(sel, t) => Target::Span(t),
                        (_, Some(_)) => continue,
                        (Some(t), None) => Target::Span(t),
                        (None, None) => Target::Trace,
                    };
                    let second = match target {
                        Some(t) => t.end_unix_nano / 1_000_000_000,
                        None if v.time_unix_nano > 0 => v.time_unix_nano / 1_000_000_000,
                        None => trace_second,
                    };
                    push(at, second, value);
                }
            }
            _ => {
                let sel = cond.spans();
                for s in trace.spans.iter().filter(|s| selects(sel, s)) {
                    if let Some(value) = span_value(cond, trace, s) {
                        push(Target::Span(s), s.end_unix_nano / 1_000_000_000, value);
                    }
                }
            }
        }
    }
}

/// The value a span metric reads from one span: durations in µs.
fn span_value(cond: &Condition, trace: &Trace, s: &SpanRecord) -> Option<f64> {
    match cond.metric {
        Metric::Latency(_) => Some((s.duration_nanos() / 1000) as f64),
        Metric::Ttft(_) => s.sem.as_deref()?.ttft_nanos.map(|t| (t / 1000) as f64),
        Metric::ErrorRate => Some(f64::from(u8::from(s.status == StatusCode::Error))),
        Metric::SpansPerSecond => Some(1.0),
        Metric::Coverage => Coverage::of(trace, s).map(|c| f64::from(u8::from(c.complete()))),
        _ => None,
    }
}

pub fn selects(sel: SpanSel, s: &SpanRecord) -> bool {
    match sel {
        SpanSel::Any => true,
        SpanSel::Root => s.parent_span_id.is_none(),
        SpanSel::Llm => s.sem.as_deref().is_some_and(|m| m.kind.is_model_call()),
        SpanSel::Kind(k) => s.sem.as_deref().is_some_and(|m| m.kind == k),
    }
}

/// What a sample's cohort and filters are read from.
#[derive(Clone, Copy)]
enum Target<'a> {
    Span(&'a SpanRecord),
    /// The whole trace: route and tenant from the root, model and provider of the call that
    /// cost most (else the first call).
    Trace,
}

fn primary_call(trace: &Trace) -> Option<&SpanRecord> {
    let calls = || {
        trace
            .spans
            .iter()
            .filter(|s| s.sem.as_deref().is_some_and(|m| m.kind.is_model_call()))
    };
    calls()
        .filter_map(|s| Some((s.sem.as_deref()?.cost_usd?, s)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s)
        .or_else(|| calls().next())
}

fn matches(f: &Filter, trace: &Trace, at: Target, primary: Option<&SpanRecord>) -> bool {
    value_of(&f.key, trace, at, primary).is_some_and(|v| f.values.iter().any(|w| *w == *v))
}

/// A cohort key's value for a sample.
fn value_of<'a>(
    key: &GroupKey,
    trace: &'a Trace,
    at: Target<'a>,
    primary: Option<&'a SpanRecord>,
) -> Option<Cow<'a, str>> {
    let root = trace.root().or(trace.spans.first());
    match (key, at) {
        (GroupKey::Cohort(k), Target::Span(s)) => k.value(trace, s),
        (GroupKey::Cohort(k), Target::Trace) => match k {
            CohortKey::Model | CohortKey::Provider | CohortKey::Streaming => k.value(trace, primary?),
            CohortKey::Service => root.map(|r| Cow::Borrowed(r.service())),
            _ => root
                .and_then(|r| k.value(trace, r))
                .or_else(|| trace.spans.iter().find_map(|s| k.value(trace, s))),
        },
        (GroupKey::Attr(a), Target::Span(s)) => attr(s, a).or_else(|| root.and_then(|r| attr(r, a))),
        (GroupKey::Attr(a), Target::Trace) => root
            .and_then(|r| attr(r, a))
            .or_else(|| trace.spans.iter().find_map(|s| attr(s, a))),
    }
}

/// An attribute of the span, else of its resource, as a label.
fn attr<'a>(s: &'a SpanRecord, key: &str) -> Option<Cow<'a, str>> {
    let v = s.attr(key).or_else(|| find_attr(&s.resource.attributes, key))?;
    match v {
        Value::Str(t) => Some(Cow::Borrowed(t.trim())).filter(|t| !t.is_empty()),
        Value::Sym(t) => Some(Cow::Borrowed(&**t)),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        other => as_label(other).map(Cow::Owned),
    }
}
