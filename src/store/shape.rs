//! The shape of a trace (model calls, tool spans, repeated tool spans, spans) and whole-run
//! totals of it per (route, model): what the summary's `by_cohort` rows and the alert rules'
//! trace-shape metrics read. Retries and loops show here before they show in cost.

use super::trace::Trace;
use crate::model::SpanRecord;
use crate::semconv::Kind;
use crate::semconv::cohort::CohortKey;
use crate::semconv::content::tool_arguments;
use foldhash::HashMap;
use std::borrow::Cow;

/// Most (route, model) rows kept; later ones share one "(other)" row.
pub const MAX_ROWS: usize = 512;

/// Counts over one trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceShape {
    pub llm_calls: u64,
    pub tool_calls: u64,
    pub repeated_tool_calls: u64,
    pub spans: u64,
}

impl TraceShape {
    pub fn of(trace: &Trace) -> Self {
        let kind = |s: &SpanRecord| s.sem.as_deref().map(|m| m.kind);
        Self {
            llm_calls: trace
                .spans
                .iter()
                .filter(|s| s.sem.as_deref().is_some_and(|m| m.is_model_call()))
                .count() as u64,
            tool_calls: trace.spans.iter().filter(|s| kind(s) == Some(Kind::Tool)).count() as u64,
            repeated_tool_calls: repeated_tool_calls(trace),
            spans: trace.spans.len() as u64,
        }
    }
}

/// Tool spans that repeat an earlier tool span of the trace (by start time): the same tool
/// name and, when both recorded them, the same arguments. A retry loop of five identical
/// lookups counts four; the same tool asked five different questions counts none. Linear in
/// the trace's tool spans (a hostile trace of 20,000 tool calls costs 20,000 lookups).
pub fn repeated_tool_calls(trace: &Trace) -> u64 {
    let mut tools: Vec<(u64, &str, Option<Cow<str>>)> = trace
        .spans
        .iter()
        .filter(|s| s.sem.as_deref().is_some_and(|m| m.kind == Kind::Tool))
        .map(|s| {
            let name = s
                .sem
                .as_deref()
                .and_then(|m| m.tool.as_deref())
                .unwrap_or(&*s.name);
            (s.start_unix_nano, name, tool_arguments(s))
        })
        .collect();
    if tools.len() < 2 {
        return 0;
    }
    tools.sort_by_key(|t| t.0);
    /// What the earlier spans of one tool name recorded.
    #[derive(Default)]
    struct Earlier<'a> {
        /// One of them recorded no arguments: it matches any later call.
        without_arguments: bool,
        arguments: foldhash::HashSet<&'a str>,
    }
    let mut seen: HashMap<&str, Earlier> = HashMap::default();
    let mut repeats = 0;
    for (_, name, args) in &tools {
        let known = seen.contains_key(name);
        let earlier = seen.entry(name).or_default();
        let again = known
            && match args {
                // A call without recorded arguments repeats any earlier call of its tool.
                None => true,
                Some(a) => earlier.without_arguments || earlier.arguments.contains(&**a),
            };
        repeats += u64::from(again);
        match args {
            None => earlier.without_arguments = true,
            Some(a) => {
                earlier.arguments.insert(a);
            }
        }
    }
    repeats
}

/// The model call that speaks for the trace: the costliest, else the first.
pub fn primary_call(trace: &Trace) -> Option<&SpanRecord> {
    let calls = || {
        trace
            .spans
            .iter()
            .filter(|s| s.sem.as_deref().is_some_and(|m| m.is_model_call()))
    };
    calls()
        .filter_map(|s| Some((s.sem.as_deref()?.cost_usd?, s)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s)
        .or_else(|| calls().next())
}

/// Sums over the traces of one (route, model).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ShapeTotals {
    pub traces: u64,
    pub shape: TraceShape,
    /// Model calls that reported usage, and their tokens.
    pub calls_with_usage: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub priced_calls: u64,
    pub cost_usd: f64,
    /// Human verdicts with pass/fail, and how many failed.
    pub human_verdicts: u64,
    pub human_fails: u64,
}

impl ShapeTotals {
    fn add(&mut self, o: &Self) {
        self.traces += o.traces;
        self.shape.llm_calls += o.shape.llm_calls;
        self.shape.tool_calls += o.shape.tool_calls;
        self.shape.repeated_tool_calls += o.shape.repeated_tool_calls;
        self.shape.spans += o.shape.spans;
        self.calls_with_usage += o.calls_with_usage;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.priced_calls += o.priced_calls;
        self.cost_usd += o.cost_usd;
        self.human_verdicts += o.human_verdicts;
        self.human_fails += o.human_fails;
    }

    fn of(trace: &Trace) -> Self {
        let mut t = Self {
            traces: 1,
            shape: TraceShape::of(trace),
            ..Self::default()
        };
        for sem in trace.spans.iter().filter_map(|s| s.sem.as_deref()) {
            if !sem.is_model_call() {
                continue;
            }
            if let Some(u) = sem.usage {
                t.calls_with_usage += 1;
                t.input_tokens = t.input_tokens.saturating_add(u.input);
                t.output_tokens = t.output_tokens.saturating_add(u.output);
            }
            if let Some(c) = sem.cost_usd {
                t.priced_calls += 1;
                t.cost_usd += c;
            }
        }
        for v in trace.verdicts.iter().filter(|v| v.is_human()) {
            if let Some(p) = v.passed {
                t.human_verdicts += 1;
                t.human_fails += u64::from(!p);
            }
        }
        t
    }
}

/// Whole-run shape totals per (route, model) of a trace (its root's route, its primary
/// call's model; "" when it has none).
#[derive(Clone, Debug, Default)]
pub struct CohortShapes {
    rows: HashMap<(String, String), ShapeTotals>,
}

impl CohortShapes {
    /// Counts a whole trace (at eviction, or held at the end of a run).
    pub fn add_trace(&mut self, trace: &Trace) {
        if trace.spans.is_empty() {
            return;
        }
        // As the alert rules place a trace: its root's route, else the first span's that has one.
        let route = trace
            .root()
            .and_then(|r| CohortKey::Route.value(trace, r))
            .or_else(|| trace.spans.iter().find_map(|s| CohortKey::Route.value(trace, s)))
            .map(|r| r.into_owned())
            .unwrap_or_default();
        let model = primary_call(trace)
            .and_then(|s| s.sem.as_deref()?.model().map(|m| m.to_string()))
            .unwrap_or_default();
        let mut key = (route, model);
        if !self.rows.contains_key(&key) && self.rows.len() + 1 >= MAX_ROWS {
            key = ("(other)".into(), "(other)".into());
        }
        self.rows.entry(key).or_default().add(&ShapeTotals::of(trace));
    }

    /// Rows by route, then model.
    pub fn rows(&self) -> Vec<(&str, &str, &ShapeTotals)> {
        let mut out: Vec<_> = self
            .rows
            .iter()
            .map(|((r, m), t)| (r.as_str(), m.as_str(), t))
            .collect();
        out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out
    }
}
