//! One line of the trace list: what the dashboard shows, sorts and filters a trace by, computed
//! from the held trace when it changes (never per frame).

use crate::intern::Sym;
use crate::model::{StatusCode, TraceId};
use crate::semconv::Kind;
use crate::semconv::Verdict;
use crate::semconv::cohort::CohortKey;
use crate::store::Trace;
use crate::store::keep::KeepReasons;

/// One verdict as the list needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct VerdictMark {
    pub name: Sym,
    pub score: Option<f64>,
    pub passed: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TraceRow {
    pub id: TraceId,
    /// Arrival order in the store: newer traces have larger numbers.
    pub seq: u64,
    pub start_unix_nano: u64,
    pub duration_nanos: u64,
    /// The root span's name; `None` while the root has not arrived.
    pub root_name: Option<Sym>,
    /// The root's service (else the first span's).
    pub service: Sym,
    pub route: Option<Sym>,
    pub tenant: Option<Sym>,
    pub prompt_version: Option<Sym>,
    /// The session or conversation the trace is a turn of: the root's, else the first
    /// span's that says (a session id on the root wins over a per-run conversation id).
    pub session: Option<Sym>,
    /// The end user: the root's, else the first span's that says.
    pub user: Option<Sym>,
    /// Distinct models called, in first-call order.
    pub models: Vec<Sym>,
    pub providers: Vec<Sym>,
    pub spans: u32,
    pub llm_calls: u32,
    pub error_spans: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Sum of the priced calls; `None` when no span is priced.
    pub cost_usd: Option<f64>,
    /// Model calls the price table could not price (shown, never treated as free).
    pub unpriced_calls: u32,
    /// The span that cost most: its name and cost.
    pub costliest_span: Option<(Sym, f64)>,
    /// The model that cost most (else the first called): the trace's model in one word.
    pub primary_model: Option<Sym>,
    pub verdicts: Vec<VerdictMark>,
    /// Why the trace is kept longer than plain traffic (the review queue lists these).
    pub kept: KeepReasons,
    /// A person has judged some span of it (a human verdict is held).
    pub reviewed: bool,
    /// The verdict that looks worst: a failed one (lowest score first), else the lowest score.
    pub worst: Option<WorstVerdict>,
}

/// The review queue's "worst verdict" column.
#[derive(Clone, Debug, PartialEq)]
pub struct WorstVerdict {
    pub name: Sym,
    pub score: Option<f64>,
    pub label: Option<Sym>,
    pub passed: Option<bool>,
}

impl TraceRow {
    pub fn from_trace(trace: &Trace) -> Self {
        let root = trace.root();
        let first = root.or(trace.spans.first());
        let inherited = |key: CohortKey| -> Option<Sym> {
            // Route and tenant live on the root in most apps, on a child in some.
            let pick = |s: &crate::model::SpanRecord| {
                let sem = s.sem.as_deref()?;
                match key {
                    CohortKey::Route => sem.route.clone(),
                    CohortKey::Tenant => sem.tenant.clone(),
                    CohortKey::PromptVersion => sem.prompt_version.clone(),
                    _ => None,
                }
            };
            root.and_then(pick).or_else(|| trace.spans.iter().find_map(pick))
        };
        let mut row = TraceRow {
            id: trace.id,
            seq: trace.seq,
            start_unix_nano: if trace.spans.is_empty() {
                0
            } else {
                trace.start_unix_nano
            },
            duration_nanos: trace.end_unix_nano.saturating_sub(trace.start_unix_nano),
            root_name: root.map(|r| r.name.clone()),
            service: first.map_or_else(|| Sym::from(""), |s| s.resource.service.clone()),
            route: inherited(CohortKey::Route),
            tenant: inherited(CohortKey::Tenant),
            prompt_version: inherited(CohortKey::PromptVersion),
            session: from_root_or_first(trace, |s| s.session.as_deref()),
            user: from_root_or_first(trace, |s| s.user.as_deref()),
            models: Vec::new(),
            providers: Vec::new(),
            spans: trace.spans.len() as u32,
            llm_calls: 0,
            error_spans: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            unpriced_calls: 0,
            costliest_span: None,
            primary_model: None,
            verdicts: Vec::new(),
            kept: trace.kept,
            reviewed: trace.verdicts.iter().any(Verdict::is_human),
            worst: worst_verdict(trace),
        };
        for span in &trace.spans {
            if span.status == StatusCode::Error {
                row.error_spans += 1;
            }
            let Some(sem) = span.sem.as_deref() else { continue };
            if sem.is_model_call() || (sem.kind == Kind::Llm && !sem.wrapper) {
                row.llm_calls += 1;
                if let Some(m) = sem.model()
                    && !row.models.contains(m)
                {
                    row.models.push(m.clone());
                }
                if let Some(p) = &sem.provider
                    && !row.providers.contains(p)
                {
                    row.providers.push(p.clone());
                }
                if sem.unpriced {
                    row.unpriced_calls += 1;
                }
            }
            if let Some(u) = sem.usage {
                row.input_tokens = row.input_tokens.saturating_add(u.input);
                row.output_tokens = row.output_tokens.saturating_add(u.output);
            }
            if let Some(c) = sem.cost_usd {
                *row.cost_usd.get_or_insert(0.0) += c;
                if row.costliest_span.as_ref().is_none_or(|(_, best)| c > *best) {
                    row.costliest_span = Some((span.name.clone(), c));
                    if let Some(m) = sem.model() {
                        row.primary_model = Some(m.clone());
                    }
                }
            }
        }
        if row.primary_model.is_none() {
            row.primary_model = row.models.first().cloned();
        }
        // A person's verdict stands in for the judge it overrides.
        row.verdicts = trace
            .effective_verdicts()
            .filter(|v| v.is_notable())
            .map(|v| VerdictMark {
                name: v.name.clone(),
                score: v.score,
                passed: v.passed,
            })
            .collect();
        row
    }

    pub fn tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    pub fn failed_verdicts(&self) -> usize {
        self.verdicts.iter().filter(|v| v.passed == Some(false)).count()
    }

    pub fn passed_verdicts(&self) -> usize {
        self.verdicts.iter().filter(|v| v.passed == Some(true)).count()
    }

    pub fn is_error(&self) -> bool {
        self.error_spans > 0
    }
}

/// A context value (session, user) from the root span, else from the first span that has it.
fn from_root_or_first(trace: &Trace, pick: fn(&crate::semconv::Semantics) -> Option<&str>) -> Option<Sym> {
    fn get(
        s: &crate::model::SpanRecord,
        pick: fn(&crate::semconv::Semantics) -> Option<&str>,
    ) -> Option<&str> {
        s.sem.as_deref().and_then(pick).filter(|v| !v.is_empty())
    }
    trace
        .root()
        .and_then(|r| get(r, pick))
        .or_else(|| trace.spans.iter().find_map(|s| get(s, pick)))
        .map(Sym::from)
}

/// Failed before passed or undecided, then the lowest score; people's verdicts are not the
/// judge's (the "reviewed" column says those), so they count only when nothing else is held.
fn worst_verdict(trace: &Trace) -> Option<WorstVerdict> {
    let rank = |v: &&Verdict| {
        (
            v.is_human(),
            v.passed != Some(false),
            v.score.map_or(f64::INFINITY, |s| s),
        )
    };
    let v = trace.verdicts.iter().filter(|v| v.is_notable()).min_by(|a, b| {
        let (a, b) = (rank(a), rank(b));
        a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2))
    })?;
    Some(WorstVerdict {
        name: v.name.clone(),
        score: v.score,
        label: v.label.clone(),
        passed: v.passed,
    })
}
