//! What a trace puts into a rule's windows: one sample per span, verdict or trace the rule's
//! conditions look at, with the cohort value it belongs to and the event second it is placed at
//! (a span's end, a verdict's target span's end, a trace's last end).

use super::rules::{Condition, Filter, GroupKey, Metric, Rule, SpanSel};
use crate::model::{SpanRecord, StatusCode, Value, find_attr};
use crate::semconv::Verdict;
use crate::semconv::cohort::CohortKey;
use crate::semconv::coverage::Coverage;
use crate::semconv::value::as_label;
use crate::store::Trace;
use crate::store::shape::{TraceShape, primary_call};
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
                    calls += u32::from(sem.is_model_call());
                    if let Some(u) = sem.usage {
                        tokens = tokens.saturating_add(u.input).saturating_add(u.output);
                    }
                }
                if calls > 0 {
                    push(Target::Trace, trace_second, tokens as f64);
                }
            }
            m if m.trace_shape() => push(Target::Trace, trace_second, trace_shape(m, trace)),
            Metric::EvalFailRate | Metric::EvalMeanScore | Metric::HumanFailRate => {
                let name = cond.evaluator.as_deref().unwrap_or_default();
                let wanted = |v: &&Verdict| match cond.metric {
                    Metric::HumanFailRate => v.is_human(),
                    _ => v.name.eq_ignore_ascii_case(name),
                };
                // A person's verdict counts in place of the judge it overrides.
                for v in trace.effective_verdicts().filter(wanted) {
                    let value = match cond.metric {
                        Metric::EvalMeanScore => v.score.filter(|s| s.is_finite()),
                        _ => v.passed.map(|p| f64::from(u8::from(!p))),
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
        Metric::InputTokensPerCall => s.sem.as_deref()?.usage.map(|u| u.input as f64),
        Metric::OutputTokensPerCall => s.sem.as_deref()?.usage.map(|u| u.output as f64),
        Metric::CostPerCall => s.sem.as_deref()?.cost_usd,
        _ => None,
    }
}

/// A trace-shape metric's value for one trace: its model calls, tool spans, repeated tool
/// spans or spans.
pub fn trace_shape(metric: Metric, trace: &Trace) -> f64 {
    let shape = TraceShape::of(trace);
    let n = match metric {
        Metric::LlmCallsPerTrace => shape.llm_calls,
        Metric::ToolCallsPerTrace => shape.tool_calls,
        Metric::RepeatedToolCallsPerTrace => shape.repeated_tool_calls,
        _ => shape.spans,
    };
    n as f64
}

pub fn selects(sel: SpanSel, s: &SpanRecord) -> bool {
    match sel {
        SpanSel::Any => true,
        SpanSel::Root => s.parent_span_id.is_none(),
        SpanSel::Llm => s.sem.as_deref().is_some_and(|m| m.is_model_call()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::rules::RuleSet;
    use crate::model::{Attr, SpanId, TraceId};
    use crate::semconv::{Kind, Semantics, TokenUsage, VerdictSource};
    use crate::store::test_support::span;
    use crate::store::{StoreLimits, TraceStore};
    use std::sync::Arc;

    fn sem(kind: Kind) -> Semantics {
        Semantics {
            kind,
            ..Semantics::default()
        }
    }

    fn with(mut s: SpanRecord, sem: Semantics) -> SpanRecord {
        s.sem = Some(Box::new(sem));
        s
    }

    /// A root on `/claims`, two model calls (100/10 and 300/30 tokens, $0.01 and $0.03) and
    /// the tool spans `tools` gives: (span id, tool name, arguments).
    fn trace(tools: &[(u8, &str, Option<&str>)]) -> TraceStore {
        let mut spans = vec![
            with(
                span(1, 1, None, 0),
                Semantics {
                    route: Some(Arc::from("/claims")),
                    ..Semantics::default()
                },
            ),
            with(
                span(1, 2, Some(1), 1),
                Semantics {
                    usage: Some(TokenUsage {
                        input: 100,
                        output: 10,
                        ..TokenUsage::default()
                    }),
                    cost_usd: Some(0.01),
                    ..sem(Kind::Llm)
                },
            ),
            with(
                span(1, 3, Some(1), 2),
                Semantics {
                    usage: Some(TokenUsage {
                        input: 300,
                        output: 30,
                        ..TokenUsage::default()
                    }),
                    cost_usd: Some(0.03),
                    ..sem(Kind::Llm)
                },
            ),
        ];
        for (i, (id, name, args)) in tools.iter().enumerate() {
            let mut s = with(
                span(1, *id, Some(1), 3 + i as u64),
                Semantics {
                    tool: Some(Arc::from(*name)),
                    ..sem(Kind::Tool)
                },
            );
            if let Some(a) = args {
                s.attributes = Box::new([Attr {
                    key: Arc::from("gen_ai.tool.call.arguments"),
                    value: Value::Str((*a).into()),
                }]);
            }
            spans.push(s);
        }
        let mut store = TraceStore::new(StoreLimits {
            max_spans: 1000,
            max_bytes: 1 << 24,
            keep_share: crate::store::keep::DEFAULT_KEEP_SHARE,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        store.insert_spans(spans);
        store
    }

    fn values(metric: &str, store: &TraceStore) -> Vec<(Option<String>, f64)> {
        let rules = RuleSet::parse(&format!(
            "[[rule]]\nname='r'\nmetric='{metric}'\ngroup_by='route'\nwindow='1m'\nop='>'\nthreshold=0.5\n"
        ))
        .unwrap();
        let t = store.trace(&TraceId([1; 16])).unwrap();
        let mut out = Vec::new();
        samples(&rules.rules[0], t, &mut out);
        out.into_iter()
            .map(|s| (s.cohort.map(|c| c.into_owned()), s.value))
            .collect()
    }

    fn one(metric: &str, store: &TraceStore) -> f64 {
        let v = values(metric, store);
        assert_eq!(v.len(), 1, "{metric}: one sample per trace, got {v:?}");
        assert_eq!(
            v[0].0.as_deref(),
            Some("/claims"),
            "the trace's cohort is its root's"
        );
        v[0].1
    }

    #[test]
    fn trace_shape_metrics_count_calls_tools_and_spans() {
        let store = trace(&[(4, "search", None), (5, "lookup", None)]);
        assert_eq!(one("llm_calls_per_trace", &store), 2.0);
        assert_eq!(one("tool_calls_per_trace", &store), 2.0);
        assert_eq!(one("spans_per_trace", &store), 5.0);
        assert_eq!(one("repeated_tool_calls_per_trace", &store), 0.0);
        let bare = trace(&[]);
        assert_eq!(
            one("tool_calls_per_trace", &bare),
            0.0,
            "a trace without tools reads 0"
        );
    }

    #[test]
    fn a_retry_loop_without_arguments_repeats_by_tool_name() {
        let store = trace(&[
            (4, "lookup_policy", None),
            (5, "lookup_policy", None),
            (6, "lookup_policy", None),
            (7, "send_email", None),
        ]);
        assert_eq!(one("repeated_tool_calls_per_trace", &store), 2.0);
    }

    #[test]
    fn recorded_arguments_must_match_for_a_repeat() {
        let store = trace(&[
            (4, "lookup", Some(r#"{"id": 1}"#)),
            (5, "lookup", Some(r#"{"id": 2}"#)),
            (6, "lookup", Some(r#"{"id": 1}"#)),
            (7, "lookup", Some(r#"{"id": 1}"#)),
            (8, "other", Some(r#"{"id": 1}"#)),
        ]);
        // Spans 6 and 7 repeat span 4; span 5 asked something else, span 8 is another tool.
        assert_eq!(one("repeated_tool_calls_per_trace", &store), 2.0);
    }

    #[test]
    fn per_call_metrics_take_one_sample_per_model_call() {
        let store = trace(&[(4, "search", None)]);
        let input: Vec<f64> = values("input_tokens_per_call", &store)
            .iter()
            .map(|v| v.1)
            .collect();
        assert_eq!(input, vec![100.0, 300.0]);
        let output: Vec<f64> = values("output_tokens_per_call", &store)
            .iter()
            .map(|v| v.1)
            .collect();
        assert_eq!(output, vec![10.0, 30.0]);
        let cost: Vec<f64> = values("cost_per_call_usd", &store).iter().map(|v| v.1).collect();
        assert_eq!(cost, vec![0.01, 0.03]);
        assert!(
            values("input_tokens_per_call", &store)
                .iter()
                .all(|v| v.0.as_deref() == Some("/claims")),
            "calls inherit the root's route"
        );
    }

    #[test]
    fn human_fail_rate_reads_only_human_verdicts() {
        let mut store = trace(&[]);
        let verdict = |name: &str, passed: bool, source: VerdictSource| Verdict {
            trace_id: Some(TraceId([1; 16])),
            target: Some(SpanId([2; 8])),
            response_id: None,
            name: Arc::from(name),
            score: None,
            label: None,
            explanation: None,
            passed: Some(passed),
            source,
            time_unix_nano: 0,
            reviewer: None,
        };
        store.insert_verdicts(vec![
            verdict("user_feedback", false, VerdictSource::Human),
            verdict("review", true, VerdictSource::Human),
            verdict("Groundedness", false, VerdictSource::LogRecord),
        ]);
        let v: Vec<f64> = values("human_fail_rate", &store).iter().map(|v| v.1).collect();
        assert_eq!(v, vec![1.0, 0.0], "the evaluator's verdict is not a person's");
    }
}
