//! The JSON summary (schema_version 1): what `--headless` prints on exit and `--summary FILE`
//! writes. Fields are only ever added, never renamed. Fields that need LLM semantics (tokens,
//! cost, per-model rows, verdicts) are present and zero until the normaliser fills them.

use crate::ingest::counters::{RequestSnapshot, SignalSnapshot};
use crate::ingest::handoff::Pipeline;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub schema_version: u32,
    pub spans: SpanTotals,
    pub traces: u64,
    pub llm_calls: u64,
    /// Spans with status ERROR, whatever their kind (a library that marks the whole chain
    /// counts one failed request several times).
    pub errors: u64,
    /// Model calls with status ERROR.
    pub failed_calls: u64,
    /// Traces with at least one span with status ERROR.
    pub error_traces: u64,
    pub tokens: Tokens,
    pub cost_usd: f64,
    pub unpriced_calls: u64,
    pub latency_ms: Quantiles,
    /// `null` quantiles when no call reported a time to first token.
    pub ttft_ms: MaybeQuantiles,
    pub by_model: Vec<ModelRow>,
    /// Per (route, model) of a trace, the shape of its traces over the whole run.
    pub by_cohort: Vec<CohortRow>,
    pub verdicts: Vec<VerdictRow>,
    pub alerts: Vec<AlertRow>,
    /// Durations of all spans, whatever their kind.
    pub span_duration_ms: Quantiles,
    pub logs: LogTotals,
    pub metrics: MetricTotals,
    pub requests: RequestSnapshot,
    pub truncation: Truncation,
    pub memory: Memory,
    pub retention: Retention,
    pub verdict_targets: VerdictTargets,
    pub builtin_evaluations: BuiltinEvaluations,
    /// `[[external]]` evaluators: what happened to the calls they chose.
    pub external_evaluations: ExternalEvaluations,
    /// `--record`: what reached the recording (absent without it). Collected after the
    /// shutdown has written out every queued line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<crate::ingest::record::RecordStats>,
    /// `--forward`: per target what was sent, retried, refused, and left queued (absent
    /// without it). Collected after the queues were given their drain time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward: Option<crate::forward::ForwardStats>,
    /// Files read by `report` (absent for live runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<InputStats>,
    /// `--baseline`: the capture the rules compared against and the cohorts it lacked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSection>,
}

/// What reading capture files met: files, lines, malformed lines and cut-off tails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InputStats {
    pub files: u64,
    /// Lines (OTLP/JSON, blank ones included) or messages (protobuf) read.
    pub lines: u64,
    pub malformed_lines: u64,
    /// Files whose last line or message was cut off (a capture cut by a crash): skipped, not
    /// counted as malformed.
    pub truncated_tails: u64,
}

/// The summary's `baseline` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BaselineSection {
    pub files: Vec<String>,
    pub spans: u64,
    pub traces: u64,
    /// Cohorts the rules saw that the baseline did not have (`rule`, `cohort` as `route=/x`):
    /// not judged.
    pub new_cohorts: Vec<NewCohort>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewCohort {
    pub rule: String,
    pub cohort: String,
}

/// llmwatch's own evaluators: model calls checked, and calls past the per-second cap
/// (`[builtin] max_per_second`) that were not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BuiltinEvaluations {
    pub calls: u64,
    pub skipped_over_rate: u64,
}

/// External evaluators: the totals over every `[[external]]` entry, then one row per entry
/// (its name and the same counts). See `eval::external::Counts` for what each counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExternalEvaluations {
    #[serde(flatten)]
    pub total: crate::eval::external::Counts,
    pub by_evaluator: Vec<crate::eval::external::EvaluatorCounts>,
}

/// Where verdicts stand against the spans they are about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerdictTargets {
    pub received: u64,
    /// Held, waiting for a target span that has not arrived.
    pub pending: u64,
    /// Evicted with their trace before their target span arrived.
    pub expired: u64,
}

/// `accepted == stored + evicted + duplicates` always holds once ingest has drained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SpanTotals {
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub evicted: u64,
    pub dropped: u64,
    /// Held in the store now.
    pub stored: u64,
    /// Re-sent spans (same trace and span id) that replaced their earlier copy.
    pub duplicates: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    /// `null` when no call's library recorded cache data.
    pub cache_read: Option<u64>,
    pub cache_write: u64,
    pub reasoning: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// Quantiles of something not every run has (time to first token): `null` when nothing was
/// measured, never `0.0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct MaybeQuantiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelRow {
    pub provider: String,
    pub model: String,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

/// One (route, model) over the whole run: a trace's route is its root's, its model its
/// costliest call's. The rates are `null` where nothing was counted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CohortRow {
    pub route: String,
    pub model: String,
    pub traces: u64,
    pub llm_calls_per_trace: f64,
    pub tool_calls_per_trace: f64,
    pub repeated_tool_calls_per_trace: f64,
    pub spans_per_trace: f64,
    pub input_tokens_per_call: Option<f64>,
    pub output_tokens_per_call: Option<f64>,
    pub cost_per_call_usd: Option<f64>,
    pub human_verdicts: u64,
    pub human_fail_rate: Option<f64>,
}

impl CohortRow {
    fn of(route: &str, model: &str, t: &crate::store::shape::ShapeTotals) -> Self {
        let per = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        let per_trace = |n: u64| round(per(n, t.traces).unwrap_or(0.0), 1e4);
        Self {
            route: route.into(),
            model: model.into(),
            traces: t.traces,
            llm_calls_per_trace: per_trace(t.shape.llm_calls),
            tool_calls_per_trace: per_trace(t.shape.tool_calls),
            repeated_tool_calls_per_trace: per_trace(t.shape.repeated_tool_calls),
            spans_per_trace: per_trace(t.shape.spans),
            input_tokens_per_call: per(t.input_tokens, t.calls_with_usage).map(|v| round(v, 1e2)),
            output_tokens_per_call: per(t.output_tokens, t.calls_with_usage).map(|v| round(v, 1e2)),
            cost_per_call_usd: (t.priced_calls > 0).then(|| usd(t.cost_usd / t.priced_calls as f64)),
            human_verdicts: t.human_verdicts,
            human_fail_rate: per(t.human_fails, t.human_verdicts).map(|v| round(v, 1e4)),
        }
    }
}

fn round(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VerdictRow {
    pub name: String,
    pub count: u64,
    pub fail: u64,
    pub mean_score: f64,
    /// Spans a person and this evaluator both judged; `count` and `fail` hold the person's
    /// verdict in place of the overridden one.
    pub human_reviewed: u64,
    pub human_agreed: u64,
    /// The evaluator failed it, a person passed it (a false alarm).
    pub overridden_pass: u64,
    /// The evaluator passed it, a person failed it (a miss).
    pub overridden_fail: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AlertRow {
    pub rule: String,
    /// `key=value` of the cohort it fired for; empty for a rule without `group_by`.
    pub cohort: String,
    /// The (first condition's) value when it first fired.
    pub value: f64,
    pub threshold: f64,
    /// When it first fired (event time, RFC 3339 UTC).
    pub at: String,
    pub op: String,
    pub metric: String,
    /// Still firing at the end.
    pub firing: bool,
    /// When it last resolved, if it did.
    pub resolved_at: Option<String>,
    /// Times it started firing.
    pub episodes: u32,
    /// Samples in the window when it first fired.
    pub samples: u64,
    pub owner: Option<String>,
    pub next_action: Option<String>,
    pub example_trace_ids: Vec<String>,
    /// The line `llmwatch check` prints for it.
    pub line: String,
    /// The cohort's value over the whole `--baseline` (rules with `compare`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogTotals {
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub dropped: u64,
    pub stored: u64,
    pub evicted: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetricTotals {
    pub data_points_received: u64,
    pub data_points_accepted: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Truncation {
    pub truncated_values: u64,
    pub dropped_attributes: u64,
    pub dropped_events: u64,
    /// Spans and logs whose event time fell outside the one-hour timeline when they arrived.
    pub outside_timeline: u64,
    /// Token counts and costs that cannot be true (negative, not finite, over 1e9 tokens or
    /// $1e6 in one call): ignored, never summed.
    pub implausible_values: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// Estimated bytes the store holds.
    pub estimated_bytes: u64,
    /// `--max-memory`: the store's share plus the in-flight hand-off's.
    pub budget_bytes: u64,
    pub store_budget_bytes: u64,
    pub handoff_budget_bytes: u64,
    pub max_spans: u64,
    pub traces_held: u64,
    pub traces_evicted: u64,
}

/// Failure-biased retention: held traces per keep reason (a trace counted once per reason it
/// has, every reason listed), and whole traces evicted, plain and kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Retention {
    /// `--keep-share`: most of the limits kept traces hold when something must go.
    pub keep_share: f64,
    pub held_traces_by_reason: ReasonCounts,
    pub evicted_plain: u64,
    pub evicted_kept: u64,
}

/// Counts per keep reason, written as an object (reason name: count) in priority order.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReasonCounts(pub [u64; crate::store::keep::KeepReason::ALL.len()]);

impl Serialize for ReasonCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for r in crate::store::keep::KeepReason::ALL {
            map.serialize_entry(r.name(), &self.0[r as usize])?;
        }
        map.end()
    }
}

fn maybe_quantiles_ms(h: &crate::store::histogram::LogHistogram) -> MaybeQuantiles {
    let q = |p| h.quantile(p).map(|us| us as f64 / 1000.0);
    MaybeQuantiles {
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
    }
}

fn quantiles_ms(h: &crate::store::histogram::LogHistogram) -> Quantiles {
    let q = |p| h.quantile(p).map_or(0.0, |us| us as f64 / 1000.0);
    Quantiles {
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
    }
}

/// Money in the summary: rounded to a millionth of a cent so sums read cleanly and compare
/// exactly across live and replayed runs.
fn usd(x: f64) -> f64 {
    (x * 1e8).round() / 1e8
}

fn ms(us: Option<u64>) -> f64 {
    us.map_or(0.0, |us| us as f64 / 1000.0)
}

fn llm_fields(summary: &mut Summary, llm: &crate::store::totals::LlmTotals) {
    summary.llm_calls = llm.llm_calls;
    summary.failed_calls = llm.failed_calls;
    let t = llm.tokens;
    summary.tokens = Tokens {
        input: t.input,
        output: t.output,
        cache_read: (llm.cache_known_calls > 0).then_some(t.cache_read),
        cache_write: t.cache_write,
        reasoning: t.reasoning,
    };
    summary.cost_usd = usd(llm.cost_usd);
    summary.unpriced_calls = llm.unpriced_calls;
    summary.latency_ms = quantiles_ms(&llm.latency);
    summary.ttft_ms = maybe_quantiles_ms(&llm.ttft);
    let mut rows: Vec<ModelRow> = llm
        .by_model
        .iter()
        .map(|((provider, model), m)| ModelRow {
            provider: provider.as_deref().unwrap_or("").to_string(),
            model: model.to_string(),
            calls: m.calls,
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            cost_usd: usd(m.cost_usd),
            p50_ms: ms(m.durations.quantile(0.5)),
            p99_ms: ms(m.durations.quantile(0.99)),
            errors: m.errors,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.calls
            .cmp(&a.calls)
            .then_with(|| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)))
    });
    summary.by_model = rows;
    let mut verdicts: Vec<VerdictRow> = llm
        .verdicts
        .iter()
        .map(|(name, v)| VerdictRow {
            name: name.to_string(),
            count: v.count,
            fail: v.fail,
            mean_score: if v.scored > 0 {
                (v.score_sum / v.scored as f64 * 1e6).round() / 1e6
            } else {
                0.0
            },
            human_reviewed: v.human_reviewed,
            human_agreed: v.human_agreed,
            overridden_pass: v.overridden_pass,
            overridden_fail: v.overridden_fail,
        })
        .collect();
    verdicts.sort_by(|a, b| a.name.cmp(&b.name));
    summary.verdicts = verdicts;
}

impl Summary {
    /// Reads the counters and the store. Call after `Pipeline::flush` or `shutdown` for exact
    /// totals.
    pub fn collect(pipeline: &Pipeline) -> Self {
        let c = &pipeline.counters;
        let spans: SignalSnapshot = c.spans.snapshot();
        let logs = c.logs.snapshot();
        let points = c.metric_points.snapshot();
        let store = pipeline.store();
        let st = store.stats();
        let limits = store.limits();
        let handoff = pipeline.handoff.limits();
        let timeline = store.timeline();
        let mut summary = Self {
            schema_version: 1,
            spans: SpanTotals {
                received: spans.received,
                accepted: spans.accepted,
                rejected: spans.rejected,
                evicted: st.spans_evicted,
                dropped: spans.dropped,
                stored: st.spans_held,
                duplicates: st.spans_duplicate,
            },
            traces: st.traces_seen,
            errors: st.error_spans,
            error_traces: st.error_traces,
            span_duration_ms: quantiles_ms(store.durations()),
            logs: LogTotals {
                received: logs.received,
                accepted: logs.accepted,
                rejected: logs.rejected,
                dropped: logs.dropped,
                stored: st.logs_held,
                evicted: st.logs_evicted,
            },
            metrics: MetricTotals {
                data_points_received: points.received,
                data_points_accepted: points.accepted,
            },
            requests: c.requests.snapshot(),
            truncation: Truncation {
                truncated_values: c.truncation.truncated_values.load(Relaxed),
                dropped_attributes: c.truncation.dropped_attributes.load(Relaxed),
                dropped_events: c.truncation.dropped_events.load(Relaxed),
                outside_timeline: timeline.too_old + timeline.too_new,
                implausible_values: c.truncation.implausible_values.load(Relaxed),
            },
            memory: Memory {
                estimated_bytes: st.bytes_held,
                budget_bytes: (limits.max_bytes + handoff.outside_store()) as u64,
                store_budget_bytes: limits.max_bytes as u64,
                handoff_budget_bytes: handoff.max_bytes as u64,
                max_spans: limits.max_spans as u64,
                traces_held: st.traces_held,
                traces_evicted: st.traces_evicted,
            },
            retention: {
                let r = store.retention();
                Retention {
                    keep_share: r.keep_share,
                    held_traces_by_reason: ReasonCounts(r.held_by_reason),
                    evicted_plain: r.evicted_plain,
                    evicted_kept: r.evicted_kept,
                }
            },
            ..Self::default()
        };
        llm_fields(&mut summary, store.llm_totals());
        summary.by_cohort = store
            .cohort_shapes()
            .rows()
            .into_iter()
            .map(|(route, model, t)| CohortRow::of(route, model, t))
            .collect();
        summary.verdict_targets = VerdictTargets {
            received: store.llm_totals().verdicts_received,
            pending: store.pending_verdicts(),
            expired: store.llm_totals().verdicts_expired,
        };
        summary.builtin_evaluations = BuiltinEvaluations {
            calls: c.truncation.evaluated_calls.load(Relaxed),
            skipped_over_rate: c.truncation.unevaluated_calls.load(Relaxed),
        };
        summary.record = pipeline.recorder().map(|r| r.stats());
        summary.forward = pipeline.forwarder().map(|f| f.stats());
        if let Some(e) = pipeline.external() {
            let by_evaluator = e.counts();
            let mut total = crate::eval::external::Counts::default();
            by_evaluator.iter().for_each(|r| total.add(&r.counts));
            summary.external_evaluations = ExternalEvaluations { total, by_evaluator };
        }
        summary
    }

    /// Prints the summary on stdout and, when asked, writes the same text to `file`.
    pub fn publish(&self, file: Option<&std::path::Path>) -> Result<(), String> {
        let json = self.to_json();
        // Not println!: a terminal that went away (EIO) must not stop the file below.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), format!("{json}\n").as_bytes());
        match file {
            Some(path) => std::fs::write(path, format!("{json}\n"))
                .map_err(|e| format!("cannot write summary to {}: {e}", path.display())),
            None => Ok(()),
        }
    }

    pub fn to_json(&self) -> String {
        crate::text::json_for_terminal(serde_json::to_string_pretty(self).expect("summary serialises"))
    }
}
