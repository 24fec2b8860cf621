//! What `diff` compares, taken from each trace of a capture: per cohort, the per-trace values
//! (cost, calls, tool calls, repeats, error), the per-call values (tokens, latency, TTFT) and
//! the verdicts per evaluator.

use crate::model::{SpanRecord, StatusCode};
use crate::semconv::cohort::CohortKey;
use crate::store::Trace;
use crate::store::shape::{TraceShape, primary_call};
use std::collections::BTreeMap;

/// The cohort value of traces (or calls) without one.
pub const NONE: &str = "(none)";

/// One evaluator's verdicts in a cohort.
#[derive(Clone, Debug, Default)]
pub struct EvalSamples {
    pub judged: u64,
    pub failed: u64,
    pub scores: Vec<f64>,
}

/// Everything one cohort of one side contributes.
#[derive(Clone, Debug, Default)]
pub struct CohortSamples {
    pub traces: u64,
    pub error_traces: u64,
    /// Per trace with at least one priced call, USD.
    pub cost_per_trace: Vec<f64>,
    pub llm_calls: Vec<f64>,
    pub tool_calls: Vec<f64>,
    pub repeated_tool_calls: Vec<f64>,
    /// Per model call with usage.
    pub input_tokens: Vec<f64>,
    pub output_tokens: Vec<f64>,
    /// Per model call, ms.
    pub latency_ms: Vec<f64>,
    pub ttft_ms: Vec<f64>,
    pub evals: BTreeMap<String, EvalSamples>,
}

/// One side's samples by cohort value.
pub type Side = BTreeMap<String, CohortSamples>;

/// The trace's cohort value: the root's (inherited as the cohort says), else the first span
/// that has one.
fn trace_cohort(by: CohortKey, trace: &Trace) -> String {
    if by == CohortKey::Model {
        // Its costliest call's model (the dashboard does the same), else its first call's.
        return primary_call(trace)
            .and_then(|c| c.sem.as_deref()?.model())
            .map_or_else(|| NONE.to_string(), |m| m.to_string());
    }
    trace
        .root()
        .and_then(|r| by.value(trace, r))
        .or_else(|| trace.spans.iter().find_map(|s| by.value(trace, s)))
        .map_or_else(|| NONE.to_string(), |v| v.into_owned())
}

/// Adds a trace's samples to `side`: per-trace values under the trace's cohort; with
/// `--by model`, each call and verdict under its own model.
pub fn add_trace(side: &mut Side, by: CohortKey, trace: &Trace) {
    if trace.spans.is_empty() {
        return;
    }
    let cohort = trace_cohort(by, trace);
    let shape = TraceShape::of(trace);
    let own = |s: &SpanRecord| -> String {
        match by {
            CohortKey::Model => by.value(trace, s).map(|v| v.into_owned()),
            _ => None,
        }
        .unwrap_or_else(|| cohort.clone())
    };
    let mut cost: Option<f64> = None;
    for s in &trace.spans {
        let Some(sem) = s.sem.as_deref() else { continue };
        if !sem.is_model_call() {
            continue;
        }
        if let Some(c) = sem.cost_usd.filter(|c| c.is_finite()) {
            *cost.get_or_insert(0.0) += c;
        }
        let row = side.entry(own(s)).or_default();
        if let Some(u) = sem.usage {
            row.input_tokens.push(u.input as f64);
            row.output_tokens.push(u.output as f64);
        }
        row.latency_ms.push(s.duration_nanos() as f64 / 1e6);
        if let Some(t) = sem.ttft_nanos {
            row.ttft_ms.push(t as f64 / 1e6);
        }
    }
    // A person's verdict counts in place of the judge it overrides, as everywhere else.
    for v in trace.effective_verdicts() {
        let key = match (by, trace.verdict_target(v)) {
            (CohortKey::Model, Some(target)) => own(target),
            _ => cohort.clone(),
        };
        let e = side
            .entry(key)
            .or_default()
            .evals
            .entry(v.name.to_string())
            .or_default();
        if let Some(passed) = v.passed {
            e.judged += 1;
            e.failed += u64::from(!passed);
        }
        if let Some(s) = v.score.filter(|s| s.is_finite()) {
            e.scores.push(s);
        }
    }
    let row = side.entry(cohort).or_default();
    row.traces += 1;
    row.error_traces += u64::from(trace.spans.iter().any(|s| s.status == StatusCode::Error));
    if let Some(c) = cost {
        row.cost_per_trace.push(c);
    }
    row.llm_calls.push(shape.llm_calls as f64);
    row.tool_calls.push(shape.tool_calls as f64);
    row.repeated_tool_calls.push(shape.repeated_tool_calls as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Sym;
    use crate::model::{Attr, SpanId, Value};
    use crate::semconv::{Kind, Semantics};
    use crate::store::{StoreLimits, TraceStore};

    /// A span of trace 1 starting at `start` s: a tool call (`tool`, with `args` when given) or
    /// a model call (`tool` = None).
    fn span(id: u64, start: u64, tool: Option<&str>, args: Option<&str>) -> SpanRecord {
        let mut s = crate::store::test_support::span(1, 0, None, 0);
        s.span_id = SpanId(id.to_be_bytes());
        s.parent_span_id = (id != 1).then(|| SpanId(1u64.to_be_bytes()));
        s.start_unix_nano = start * 1_000_000_000;
        s.end_unix_nano = s.start_unix_nano + 1;
        s.attributes = args
            .map(|a| {
                vec![Attr {
                    key: Sym::from("gen_ai.tool.call.arguments"),
                    value: Value::Str(a.into()),
                }]
            })
            .unwrap_or_default()
            .into_boxed_slice();
        s.sem = Some(Box::new(Semantics {
            kind: if tool.is_some() { Kind::Tool } else { Kind::Llm },
            tool: tool.map(Sym::from),
            ..Semantics::default()
        }));
        s
    }

    fn shape(spans: Vec<SpanRecord>) -> TraceShape {
        let mut store = TraceStore::new(StoreLimits::default());
        store.insert_spans(spans);
        let trace = store.traces_newest_first().next().unwrap();
        TraceShape::of(trace)
    }

    #[test]
    fn repeats_are_the_same_tool_with_the_same_arguments_when_recorded() {
        // Arrival order is not trace order: the repeats are counted in start order.
        let s = shape(vec![
            span(5, 5, Some("lookup"), Some(r#"{"id":1}"#)),
            span(2, 1, None, None),
            span(3, 2, Some("lookup"), Some(r#"{"id":1}"#)),
            span(4, 3, Some("lookup"), Some(r#"{"id":2}"#)),
            span(6, 6, Some("search"), None),
            span(7, 7, Some("search"), None),
            span(8, 8, Some("search"), None),
            span(9, 9, None, None),
        ]);
        assert_eq!(
            s,
            TraceShape {
                llm_calls: 2,
                tool_calls: 6,
                // lookup {"id":1} once more; search (no arguments recorded) twice more.
                repeated_tool_calls: 3,
                spans: 8,
            }
        );
        assert_eq!(
            shape(vec![span(2, 1, None, None)]),
            TraceShape {
                llm_calls: 1,
                spans: 1,
                ..TraceShape::default()
            }
        );
    }
}
