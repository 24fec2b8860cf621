//! Windowed aggregates per cohort in event time: for each cohort value (a model, a route, a
//! service, a tenant) three rings of time slots, 1 s for the last 10 minutes, 10 s for the
//! last 10 minutes and 30 s for the last 2 hours, enough for any of the 1/5/15/60-minute
//! windows and the window before it. Charts read the finest ring that covers their window;
//! quantiles read the coarsest that still gives about 30 slots, so a frame merges tens of
//! slots, not hundreds.
//! A trace contributes samples (the trace itself, each of its model calls with what it carries
//! for slicing, and each verdict about it); when the trace changes its old samples are taken
//! out and the new ones put in, so the root span arriving last (the usual OTel order) still
//! moves its calls and verdicts into the right route.

use super::hist::{Merged, SparseHist};
use crate::intern::Sym;
use crate::semconv::cohort::CohortKey;
use crate::semconv::coverage::Coverage;
use foldhash::HashMap;
use std::sync::Arc;

/// The cohort dimensions the dashboard can split by, in the order its key cycles them.
pub const DIMS: [CohortKey; 4] = [
    CohortKey::Model,
    CohortKey::Route,
    CohortKey::Service,
    CohortKey::Tenant,
];

/// Distinct values kept per dimension; later values share one "(other)" row.
pub const MAX_VALUES: usize = 64;

/// The cohort value of samples without one (a call with no route, ...).
pub const NONE: &str = "(none)";

/// The cohort value (or evaluator) shared by everything past the first [`MAX_VALUES`].
pub const OTHER: &str = "(other)";

/// Distinct evaluator names kept; later names share one "(other)" evaluator.
pub const MAX_EVALUATORS: usize = 64;

/// Trace cost is kept in these units per USD in histograms (0.1 micro-dollar resolution).
pub const COST_UNITS: f64 = 1e7;

/// A trace's cost in [`COST_UNITS`], `None` when nothing in it was priced.
pub(super) fn cost_units(usd: Option<f64>) -> Option<u64> {
    usd.map(|c| (c.max(0.0) * COST_UNITS).round() as u64)
}

/// Verdict scores are summed in these units per 1.0, as integers, so that taking a verdict
/// out again leaves exactly nothing behind.
pub const SCORE_UNITS: f64 = 1e6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub secs: u64,
}

impl Window {
    pub const CHOICES: [u64; 4] = [60, 300, 900, 3600];

    pub fn label(self) -> String {
        format!("{}m", self.secs / 60)
    }
}

/// How finely a reader needs a window sliced: charts want every second they can get,
/// quantiles and sparklines about 30 slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    Fine,
    Summary,
}

/// One trace's sample, placed at its start second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceSample {
    pub second: u64,
    pub error: bool,
    /// Cost in [`COST_UNITS`]; `None` when nothing in the trace was priced.
    pub cost: Option<u64>,
    pub tokens: u64,
    /// Model calls, tool spans and repeated tool spans in the trace ([`crate::store::shape`]).
    pub shape: [u32; 3],
    pub cohorts: [u16; 4],
}

/// One model call's sample, placed at its end second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallSample {
    pub second: u64,
    pub dur_us: u64,
    pub ttft_us: Option<u64>,
    pub error: bool,
    /// Cost in [`COST_UNITS`]; 0 when unpriced.
    pub cost: u64,
    /// What the call carries for slicing (trace coverage).
    pub coverage: Coverage,
    pub cohorts: [u16; 4],
}

/// One verdict's sample, placed at its target span's end second (else at the verdict's time),
/// with the target's model and service and the trace's route and tenant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VerdictSample {
    pub second: u64,
    /// From [`Series::evaluator`].
    pub evaluator: u16,
    pub passed: Option<bool>,
    /// Score in [`SCORE_UNITS`].
    pub score: Option<i64>,
    pub cohorts: [u16; 4],
    /// A person's verdict set against this evaluator's on the same span: whether they agreed.
    pub human: Option<bool>,
}

impl VerdictSample {
    /// A score as summed: finite, in [`SCORE_UNITS`], bounded so that sums cannot overflow.
    pub fn score_units(score: Option<f64>) -> Option<i64> {
        score
            .filter(|s| s.is_finite())
            .map(|s| (s.clamp(-1e9, 1e9) * SCORE_UNITS).round() as i64)
    }
}

/// What one trace has put into the series, kept so it can be taken out again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contribution {
    pub trace: Option<TraceSample>,
    pub calls: Vec<CallSample>,
    pub verdicts: Vec<VerdictSample>,
}

/// One evaluator's verdicts in one slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvalCounts {
    pub evaluator: u16,
    pub n: u32,
    pub passed: u32,
    pub failed: u32,
    pub scored: u32,
    /// Sum of the scores, in [`SCORE_UNITS`].
    pub score_sum: i64,
    /// Spans a person also judged, and how many of those the person agreed on.
    pub reviewed: u32,
    pub agreed: u32,
}

/// One evaluator's verdicts over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EvalStats {
    pub n: u64,
    pub passed: u64,
    pub failed: u64,
    pub scored: u64,
    pub score_sum: i64,
    pub reviewed: u64,
    pub agreed: u64,
}

impl EvalStats {
    fn add(&mut self, c: &EvalCounts) {
        self.n += u64::from(c.n);
        self.passed += u64::from(c.passed);
        self.failed += u64::from(c.failed);
        self.scored += u64::from(c.scored);
        self.score_sum = self.score_sum.saturating_add(c.score_sum);
        self.reviewed += u64::from(c.reviewed);
        self.agreed += u64::from(c.agreed);
    }

    /// Failed over the verdicts that say pass or fail; `None` when none does.
    pub fn fail_rate(&self) -> Option<f64> {
        let judged = self.passed + self.failed;
        (judged > 0).then(|| self.failed as f64 / judged as f64)
    }

    /// Mean of the scores given; `None` when no verdict had a score.
    pub fn mean_score(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.score_sum as f64 / SCORE_UNITS / self.scored as f64)
    }
}

/// Trace coverage over a window: model calls, the ones carrying every part, and per part of
/// [`Coverage::parts`] (parent, model, prompt version, route) the calls missing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoverageStats {
    pub calls: u64,
    pub complete: u64,
    pub missing: [u64; 4],
}

impl CoverageStats {
    /// Share of complete calls, 0..=1; `None` without calls.
    pub fn share(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.complete as f64 / self.calls as f64)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Slot {
    pub traces: u32,
    pub trace_errors: u32,
    pub calls: u32,
    pub call_errors: u32,
    /// Model calls carrying every coverage part, and per part the calls missing it.
    pub covered: u32,
    pub missing: [u32; 4],
    pub tokens: u64,
    /// Summed cost of the model calls ending in the slot, in [`COST_UNITS`]: the spend, split
    /// by the call's own model (a trace's cost sits under its costliest model only).
    pub spend: u64,
    /// Sums over the slot's traces of model calls, tool spans and repeated tool spans.
    pub shape: [u32; 3],
    pub dur: SparseHist,
    pub ttft: SparseHist,
    pub cost: SparseHist,
    /// Per evaluator seen in this slot (a handful): never an entry with `n == 0`.
    pub evals: Vec<EvalCounts>,
}

impl Slot {
    fn bytes(&self) -> usize {
        size_of::<Slot>()
            + self.dur.bytes()
            + self.ttft.bytes()
            + self.cost.bytes()
            + self.evals.capacity() * size_of::<EvalCounts>()
    }

    fn verdict(&mut self, v: &VerdictSample, add: bool) {
        let i = match self.evals.iter().position(|e| e.evaluator == v.evaluator) {
            Some(i) => i,
            None if add => {
                self.evals.push(EvalCounts {
                    evaluator: v.evaluator,
                    ..EvalCounts::default()
                });
                self.evals.len() - 1
            }
            // Taking out what is not there (its slot was recycled): nothing to do.
            None => return,
        };
        let e = &mut self.evals[i];
        let step = |x: &mut u32| {
            *x = if add {
                x.saturating_add(1)
            } else {
                x.saturating_sub(1)
            }
        };
        step(&mut e.n);
        if let Some(agreed) = v.human {
            step(&mut e.reviewed);
            if agreed {
                step(&mut e.agreed);
            }
        }
        match v.passed {
            Some(true) => step(&mut e.passed),
            Some(false) => step(&mut e.failed),
            None => {}
        }
        if let Some(score) = v.score {
            step(&mut e.scored);
            e.score_sum = if add {
                e.score_sum.saturating_add(score)
            } else {
                e.score_sum.saturating_sub(score)
            };
        }
        if e.n == 0 {
            self.evals.swap_remove(i);
        }
    }
}

#[derive(Debug)]
struct Ring {
    res: u64,
    /// Slot time (`second / res`) each position holds; 0 = never used.
    stamps: Vec<u64>,
    slots: Vec<Option<Box<Slot>>>,
}

impl Ring {
    fn new(res: u64, len: usize) -> Self {
        Self {
            res,
            stamps: vec![0; len],
            slots: (0..len).map(|_| None).collect(),
        }
    }

    fn len(&self) -> u64 {
        self.stamps.len() as u64
    }

    /// The slot for `second`, created (recycling an older one) when `create`; `None` when the
    /// second is older than the ring reaches relative to `newest`.
    fn slot_mut(&mut self, second: u64, newest: u64, create: bool) -> Option<&mut Slot> {
        let t = second / self.res;
        if t + self.len() <= newest / self.res {
            return None;
        }
        let i = (t % self.len()) as usize;
        if self.stamps[i] != t {
            if !create || self.stamps[i] > t {
                return None;
            }
            self.stamps[i] = t;
            self.slots[i] = None;
        }
        Some(self.slots[i].get_or_insert_with(Box::default))
    }

    fn slot(&self, t: u64) -> Option<&Slot> {
        let i = (t % self.len()) as usize;
        (self.stamps[i] == t && t != 0)
            .then(|| self.slots[i].as_deref())
            .flatten()
    }

    fn bytes(&self) -> usize {
        self.stamps.len() * 16 + self.slots.iter().flatten().map(|s| s.bytes()).sum::<usize>()
    }
}

/// The two rings of one cohort value.
#[derive(Debug)]
pub struct CohortSeries {
    fine: Ring,
    mid: Ring,
    coarse: Ring,
}

impl Default for CohortSeries {
    fn default() -> Self {
        Self {
            fine: Ring::new(1, 600),
            mid: Ring::new(10, 60),
            coarse: Ring::new(30, 240),
        }
    }
}

impl CohortSeries {
    fn update(&mut self, second: u64, newest: u64, add: bool, f: impl Fn(&mut Slot, bool)) {
        for ring in [&mut self.fine, &mut self.mid, &mut self.coarse] {
            if let Some(slot) = ring.slot_mut(second, newest, add) {
                f(slot, add);
            }
        }
    }

    /// The ring that covers `window` and the window before it, and the slot times of `window`
    /// ending at `newest` (oldest first).
    fn span(
        &self,
        window: Window,
        newest: u64,
        previous: bool,
        detail: Detail,
    ) -> (&Ring, std::ops::RangeInclusive<u64>) {
        let covers = |r: &Ring| window.secs * 2 <= r.len() * r.res;
        let rings = [&self.fine, &self.mid, &self.coarse];
        let ring = match detail {
            Detail::Fine => rings.into_iter().find(|r| covers(r)),
            // The coarsest ring that still has 30 slots in the window, else the finest that covers.
            Detail::Summary => rings
                .into_iter()
                .rev()
                .find(|r| covers(r) && window.secs / r.res >= 30)
                .or_else(|| rings.into_iter().find(|r| covers(r))),
        }
        .unwrap_or(&self.coarse);
        let n = window.secs.div_ceil(ring.res).max(1);
        let mut last = newest / ring.res;
        if previous {
            last = last.saturating_sub(n);
        }
        (ring, last.saturating_sub(n - 1).max(1)..=last)
    }

    /// Slots of the window (or the one before it), oldest first; gaps are `None`.
    pub fn slots(
        &self,
        window: Window,
        newest: u64,
        previous: bool,
        detail: Detail,
    ) -> impl Iterator<Item = Option<&Slot>> {
        let (ring, range) = self.span(window, newest, previous, detail);
        range.map(move |t| ring.slot(t))
    }

    /// Every slot the coarsest ring still holds up to `newest`, oldest first: the whole time
    /// range the series reaches (two hours), for a store read once and never advanced.
    pub fn held(&self, newest: u64) -> impl Iterator<Item = &Slot> {
        let ring = &self.coarse;
        let last = newest / ring.res;
        (last.saturating_sub(ring.len() - 1).max(1)..=last).filter_map(move |t| ring.slot(t))
    }

    /// Seconds one slot of `window` covers.
    pub fn resolution(&self, window: Window, detail: Detail) -> u64 {
        self.span(window, 0, false, detail).0.res
    }

    fn bytes(&self) -> usize {
        self.fine.bytes() + self.mid.bytes() + self.coarse.bytes()
    }
}

/// The values seen for one dimension, each with its series.
#[derive(Debug, Default)]
pub struct Dim {
    names: Vec<Sym>,
    ids: HashMap<Sym, u16>,
    series: Vec<CohortSeries>,
}

impl Dim {
    /// The id for `value` (`None` = the value is missing), creating it while there is room.
    fn id(&mut self, value: Option<&Sym>) -> u16 {
        let name: Sym = match value {
            Some(v) => v.clone(),
            None => Arc::from(NONE),
        };
        if let Some(id) = self.ids.get(&name) {
            return *id;
        }
        let name = if self.names.len() >= MAX_VALUES {
            let other: Sym = Arc::from(OTHER);
            if let Some(id) = self.ids.get(&other) {
                return *id;
            }
            other
        } else {
            name
        };
        let id = self.names.len() as u16;
        self.names.push(name.clone());
        self.ids.insert(name, id);
        self.series.push(CohortSeries::default());
        id
    }

    pub fn name(&self, id: u16) -> &Sym {
        &self.names[id as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn series(&self, id: u16) -> &CohortSeries {
        &self.series[id as usize]
    }
}

/// All cohort series plus the total.
#[derive(Debug, Default)]
pub struct Series {
    pub total: CohortSeries,
    dims: [Dim; 4],
    /// Evaluator names by id, bounded by [`MAX_EVALUATORS`].
    evaluators: Vec<Sym>,
    evaluator_ids: HashMap<Sym, u16>,
    newest: u64,
}

impl Series {
    /// The newest event second seen: the dashboard's clock.
    pub fn newest(&self) -> u64 {
        self.newest
    }

    pub fn dim(&self, d: usize) -> &Dim {
        &self.dims[d]
    }

    /// Cohort ids of the values given in [`DIMS`] order.
    pub fn cohorts(&mut self, values: [Option<&Sym>; 4]) -> [u16; 4] {
        std::array::from_fn(|d| self.dims[d].id(values[d]))
    }

    /// The id of an evaluator name, creating it while there is room (then "(other)").
    pub fn evaluator(&mut self, name: &Sym) -> u16 {
        if let Some(id) = self.evaluator_ids.get(name) {
            return *id;
        }
        let name = if self.evaluators.len() >= MAX_EVALUATORS {
            let other: Sym = Arc::from(OTHER);
            if let Some(id) = self.evaluator_ids.get(&other) {
                return *id;
            }
            other
        } else {
            name.clone()
        };
        let id = self.evaluators.len() as u16;
        self.evaluators.push(name.clone());
        self.evaluator_ids.insert(name, id);
        id
    }

    pub fn evaluator_name(&self, id: u16) -> &Sym {
        &self.evaluators[id as usize]
    }

    /// Evaluator names seen, by id.
    pub fn evaluators(&self) -> &[Sym] {
        &self.evaluators
    }

    /// Trace coverage of the model calls in `window` ending at `newest`.
    pub fn coverage(&self, window: Window, newest: u64) -> CoverageStats {
        let mut out = CoverageStats::default();
        for slot in self.total.slots(window, newest, false, Detail::Summary).flatten() {
            out.calls += u64::from(slot.calls);
            out.complete += u64::from(slot.covered);
            for (m, s) in out.missing.iter_mut().zip(slot.missing) {
                *m += u64::from(s);
            }
        }
        out
    }

    pub fn add(&mut self, c: &Contribution) {
        let newest = c
            .calls
            .iter()
            .map(|s| s.second)
            .chain(c.verdicts.iter().map(|v| v.second))
            .chain(c.trace.map(|t| t.second))
            .max()
            .unwrap_or(0);
        self.newest = self.newest.max(newest);
        self.apply(c, true);
    }

    pub fn remove(&mut self, c: &Contribution) {
        self.apply(c, false);
    }

    fn apply(&mut self, c: &Contribution, add: bool) {
        let newest = self.newest;
        if let Some(t) = c.trace {
            let f = |slot: &mut Slot, add: bool| {
                let d = if add { 1 } else { u32::MAX };
                slot.traces = slot.traces.wrapping_add(d);
                if t.error {
                    slot.trace_errors = slot.trace_errors.wrapping_add(d);
                }
                if add {
                    slot.tokens = slot.tokens.saturating_add(t.tokens);
                } else {
                    slot.tokens = slot.tokens.saturating_sub(t.tokens);
                }
                for (sum, n) in slot.shape.iter_mut().zip(t.shape) {
                    *sum = if add {
                        sum.wrapping_add(n)
                    } else {
                        sum.wrapping_sub(n)
                    };
                }
                if let Some(cost) = t.cost {
                    if add {
                        slot.cost.add(cost)
                    } else {
                        slot.cost.remove(cost)
                    }
                }
            };
            self.total.update(t.second, newest, add, f);
            for (d, id) in t.cohorts.iter().enumerate() {
                self.dims[d].series[*id as usize].update(t.second, newest, add, f);
            }
        }
        for s in &c.calls {
            let f = |slot: &mut Slot, add: bool| {
                let d = if add { 1 } else { u32::MAX };
                slot.calls = slot.calls.wrapping_add(d);
                if s.error {
                    slot.call_errors = slot.call_errors.wrapping_add(d);
                }
                slot.spend = if add {
                    slot.spend.saturating_add(s.cost)
                } else {
                    slot.spend.saturating_sub(s.cost)
                };
                if s.coverage.complete() {
                    slot.covered = slot.covered.wrapping_add(d);
                }
                for (m, (_, present)) in slot.missing.iter_mut().zip(s.coverage.parts()) {
                    if !present {
                        *m = m.wrapping_add(d);
                    }
                }
                let hists = [(Some(s.dur_us), &mut slot.dur), (s.ttft_us, &mut slot.ttft)];
                for (v, h) in hists {
                    if let Some(v) = v {
                        if add { h.add(v) } else { h.remove(v) }
                    }
                }
            };
            self.total.update(s.second, newest, add, f);
            for (d, id) in s.cohorts.iter().enumerate() {
                self.dims[d].series[*id as usize].update(s.second, newest, add, f);
            }
        }
        for v in &c.verdicts {
            let f = |slot: &mut Slot, add: bool| slot.verdict(v, add);
            self.total.update(v.second, newest, add, f);
            for (d, id) in v.cohorts.iter().enumerate() {
                self.dims[d].series[*id as usize].update(v.second, newest, add, f);
            }
        }
    }

    pub fn bytes(&self) -> usize {
        self.total.bytes()
            + self
                .dims
                .iter()
                .flat_map(|d| d.series.iter())
                .map(CohortSeries::bytes)
                .sum::<usize>()
    }
}

/// Quantiles of a window's call durations and TTFTs, read through a reusable scratch.
#[derive(Default)]
pub struct Reader {
    scratch: Merged,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowStats {
    pub traces: u64,
    pub trace_errors: u64,
    pub calls: u64,
    pub call_errors: u64,
    pub tokens: u64,
    /// Model calls, tool spans and repeated tool spans of the window's traces.
    pub shape: [u64; 3],
    /// p50, p95, p99 of call durations, µs.
    pub latency: Option<[u64; 3]>,
    pub ttft: Option<[u64; 3]>,
    /// Median and MAD of trace cost, in [`COST_UNITS`], and how many priced traces.
    pub cost: Option<(u64, u64)>,
    pub priced_traces: u64,
}

const QS: [f64; 3] = [0.5, 0.95, 0.99];

/// Spend, tokens and errors over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Headline {
    pub traces: u64,
    pub trace_errors: u64,
    pub tokens: u64,
    /// Model call cost, in [`COST_UNITS`].
    pub spend: u64,
}

impl Headline {
    pub fn spend_usd(&self) -> f64 {
        self.spend as f64 / COST_UNITS
    }
}

impl Reader {
    /// Totals and quantiles over the window (or the one before it).
    pub fn stats(&mut self, s: &CohortSeries, window: Window, newest: u64, previous: bool) -> WindowStats {
        self.read(s, window, newest, previous, true, true)
    }

    /// Counts and call quantiles only (no cost baseline).
    pub fn latency(&mut self, s: &CohortSeries, window: Window, newest: u64, previous: bool) -> WindowStats {
        self.read(s, window, newest, previous, true, false)
    }

    /// Counts and the cost baseline only (no call quantiles).
    pub fn cost(&mut self, s: &CohortSeries, window: Window, newest: u64) -> WindowStats {
        self.read(s, window, newest, false, false, true)
    }

    /// Totals, call quantiles and the cost baseline over every slot the series holds
    /// ([`CohortSeries::held`]), not a window.
    pub fn whole(&mut self, s: &CohortSeries, newest: u64) -> WindowStats {
        let slots: Vec<&Slot> = s.held(newest).collect();
        self.over(&slots, true, true)
    }

    fn read(
        &mut self,
        s: &CohortSeries,
        window: Window,
        newest: u64,
        previous: bool,
        latency: bool,
        cost: bool,
    ) -> WindowStats {
        let slots: Vec<&Slot> = s
            .slots(window, newest, previous, Detail::Summary)
            .flatten()
            .collect();
        self.over(&slots, latency, cost)
    }

    fn over(&mut self, slots: &[&Slot], latency: bool, cost: bool) -> WindowStats {
        let mut out = WindowStats::default();
        for slot in slots {
            out.traces += u64::from(slot.traces);
            out.trace_errors += u64::from(slot.trace_errors);
            out.calls += u64::from(slot.calls);
            out.call_errors += u64::from(slot.call_errors);
            out.tokens = out.tokens.saturating_add(slot.tokens);
            for (sum, n) in out.shape.iter_mut().zip(slot.shape) {
                *sum += u64::from(n);
            }
        }
        if latency {
            out.latency = self.merged(slots, |s| &s.dur).quantiles(QS);
            out.ttft = self.merged(slots, |s| &s.ttft).quantiles(QS);
        }
        if cost {
            let m = self.merged(slots, |s| &s.cost);
            out.priced_traces = m.count();
            out.cost = m.median_mad();
        }
        out
    }

    fn merged(&mut self, slots: &[&Slot], pick: impl Fn(&Slot) -> &SparseHist) -> &mut Merged {
        self.scratch.reset();
        for s in slots {
            self.scratch.add(pick(s));
        }
        &mut self.scratch
    }

    /// p99 call duration (µs) per point, `points` points across the window; `None` for a point
    /// with no calls.
    pub fn p99_spark(
        &mut self,
        s: &CohortSeries,
        window: Window,
        newest: u64,
        points: usize,
    ) -> Vec<Option<u64>> {
        let newest = complete(s, window, newest);
        let slots: Vec<Option<&Slot>> = s.slots(window, newest, false, Detail::Summary).collect();
        groups(slots.len(), points)
            .map(|r| {
                self.scratch.reset();
                for slot in slots[r].iter().flatten() {
                    self.scratch.add(&slot.dur);
                }
                self.scratch.quantiles([0.99]).map(|[p]| p)
            })
            .collect()
    }

    /// Verdicts per evaluator over the window (or the one before it), by evaluator id; only
    /// evaluators with verdicts in the window.
    pub fn evals(s: &CohortSeries, window: Window, newest: u64, previous: bool) -> Vec<(u16, EvalStats)> {
        Self::evals_over(s.slots(window, newest, previous, Detail::Summary).flatten())
    }

    /// Verdicts per evaluator over every slot the series holds ([`CohortSeries::held`]).
    pub fn evals_whole(s: &CohortSeries, newest: u64) -> Vec<(u16, EvalStats)> {
        Self::evals_over(s.held(newest))
    }

    fn evals_over<'a>(slots: impl Iterator<Item = &'a Slot>) -> Vec<(u16, EvalStats)> {
        let mut out: Vec<(u16, EvalStats)> = Vec::new();
        for slot in slots {
            for c in &slot.evals {
                match out.iter_mut().find(|(id, _)| *id == c.evaluator) {
                    Some((_, st)) => st.add(c),
                    None => {
                        let mut st = EvalStats::default();
                        st.add(c);
                        out.push((c.evaluator, st));
                    }
                }
            }
        }
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// One evaluator's fail rate per point, `points` points across the window; `None` for a
    /// point without a verdict that says pass or fail.
    pub fn fail_spark(
        s: &CohortSeries,
        window: Window,
        newest: u64,
        evaluator: u16,
        points: usize,
    ) -> Vec<Option<f64>> {
        let newest = complete(s, window, newest);
        let slots: Vec<Option<&Slot>> = s.slots(window, newest, false, Detail::Summary).collect();
        groups(slots.len(), points)
            .map(|r| {
                let mut st = EvalStats::default();
                for slot in slots[r].iter().flatten() {
                    if let Some(c) = slot.evals.iter().find(|c| c.evaluator == evaluator) {
                        st.add(c);
                    }
                }
                st.fail_rate()
            })
            .collect()
    }

    /// Traces and error traces per point across the window.
    /// What the window's traffic costs and carries: sums over its slots (at most 600, the
    /// same slots as the volume chart), so nothing is scanned per frame.
    pub fn headline(s: &CohortSeries, window: Window, newest: u64) -> Headline {
        let mut out = Headline::default();
        for slot in s.slots(window, newest, false, Detail::Fine).flatten() {
            out.traces += u64::from(slot.traces);
            out.trace_errors += u64::from(slot.trace_errors);
            out.tokens = out.tokens.saturating_add(slot.tokens);
            out.spend = out.spend.saturating_add(slot.spend);
        }
        out
    }

    pub fn volume(s: &CohortSeries, window: Window, newest: u64, points: usize) -> Vec<(u64, u64)> {
        let slots: Vec<Option<&Slot>> = s.slots(window, newest, false, Detail::Fine).collect();
        groups(slots.len(), points)
            .map(|r| {
                slots[r].iter().flatten().fold((0, 0), |(t, e), s| {
                    (t + u64::from(s.traces), e + u64::from(s.trace_errors))
                })
            })
            .collect()
    }
}

/// The last second of the newest complete slot before `newest` (sparklines end there: the
/// slot holding `newest` is still filling, and drawn as a full one it would dip).
fn complete(s: &CohortSeries, window: Window, newest: u64) -> u64 {
    let res = s.resolution(window, Detail::Summary);
    newest.saturating_sub(newest % res + 1)
}

/// `n` items split into at most `points` contiguous groups of near-equal size.
pub fn groups(n: usize, points: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let points = points.clamp(1, n.max(1));
    (0..points).map(move |g| g * n / points..(g + 1) * n / points)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;

    fn call(series: &mut Series, model: &str, second: u64, dur_ms: u64) -> Contribution {
        let m: Sym = Arc::from(model);
        let cohorts = series.cohorts([Some(&m), None, None, None]);
        Contribution {
            trace: Some(TraceSample {
                second,
                error: false,
                cost: Some(dur_ms * 100),
                tokens: 10,
                shape: [1, 0, 0],
                cohorts,
            }),
            calls: vec![CallSample {
                second,
                dur_us: dur_ms * 1000,
                ttft_us: Some(dur_ms * 100),
                error: false,
                cost: dur_ms * 10,
                coverage: Coverage::default(),
                cohorts,
            }],
            verdicts: Vec::new(),
        }
    }

    #[test]
    fn window_quantiles_and_the_previous_window() {
        let mut s = Series::default();
        for i in 0..60 {
            let c = call(&mut s, "gpt-4o", T0 + i, 100);
            s.add(&c);
        }
        for i in 60..120 {
            let c = call(&mut s, "gpt-4o", T0 + i, 400);
            s.add(&c);
        }
        let w = Window { secs: 60 };
        let mut r = Reader::default();
        let now = r.stats(s.dim(0).series(0), w, s.newest(), false);
        let prev = r.stats(s.dim(0).series(0), w, s.newest(), true);
        assert_eq!((now.calls, prev.calls), (60, 60));
        let p50 = now.latency.unwrap()[0] as f64;
        assert!((p50 / 400_000.0 - 1.0).abs() < 0.07, "{p50}");
        assert!((prev.latency.unwrap()[0] as f64 / 100_000.0 - 1.0).abs() < 0.07);
        assert_eq!(now.tokens, 600);
        // The 60-minute window reads the 30 s ring and sees both minutes.
        let hour = r.stats(&s.total, Window { secs: 3600 }, s.newest(), false);
        assert_eq!(hour.calls, 120);
        assert_eq!(s.total.resolution(Window { secs: 3600 }, Detail::Summary), 30);
        assert_eq!(s.total.resolution(Window { secs: 300 }, Detail::Summary), 10);
        assert_eq!(s.total.resolution(Window { secs: 300 }, Detail::Fine), 1);
        assert_eq!(s.total.resolution(Window { secs: 60 }, Detail::Summary), 1);
    }

    #[test]
    fn a_contribution_taken_out_leaves_nothing_behind() {
        let mut s = Series::default();
        let c = call(&mut s, "gpt-4o", T0, 100);
        s.add(&c);
        s.remove(&c);
        let mut r = Reader::default();
        let st = r.stats(&s.total, Window { secs: 60 }, s.newest(), false);
        assert_eq!(st, WindowStats::default());
    }

    #[test]
    fn the_headline_sums_spend_by_the_calls_model_and_forgets_what_is_taken_out() {
        let mut s = Series::default();
        let mut cs = Vec::new();
        for i in 0..30 {
            let model = if i % 3 == 0 { "gpt-4o" } else { "gpt-4o-mini" };
            let mut c = call(&mut s, model, T0 + i, 100);
            c.trace.as_mut().unwrap().error = i % 10 == 0;
            s.add(&c);
            cs.push(c);
        }
        let w = Window { secs: 60 };
        let h = Reader::headline(&s.total, w, s.newest());
        assert_eq!(
            h,
            Headline {
                traces: 30,
                trace_errors: 3,
                tokens: 300,
                spend: 30 * 1000
            }
        );
        assert!((h.spend_usd() - 0.003).abs() < 1e-12);
        let by = |name: &str| {
            let d = s.dim(0);
            let id = (0..d.len() as u16).find(|id| &**d.name(*id) == name).unwrap();
            Reader::headline(d.series(id), w, s.newest()).spend
        };
        assert_eq!((by("gpt-4o"), by("gpt-4o-mini")), (10_000, 20_000));
        for c in &cs {
            s.remove(c);
        }
        assert_eq!(Reader::headline(&s.total, w, s.newest()), Headline::default());
    }

    #[test]
    fn cohort_values_are_bounded() {
        let mut s = Series::default();
        for i in 0..(MAX_VALUES + 10) {
            let m: Sym = Arc::from(format!("model-{i}").as_str());
            s.cohorts([Some(&m), None, None, None]);
        }
        assert_eq!(s.dim(0).len(), MAX_VALUES + 1);
        assert_eq!(&**s.dim(0).name(MAX_VALUES as u16), "(other)");
    }

    #[test]
    fn sparkline_points_split_the_window() {
        let mut s = Series::default();
        for i in 0..60 {
            let c = call(&mut s, "m", T0 + i, if i < 30 { 100 } else { 1000 });
            s.add(&c);
        }
        let spark = Reader::default().p99_spark(&s.total, Window { secs: 60 }, s.newest(), 2);
        assert_eq!(spark.len(), 2);
        assert!(spark[0].unwrap() < spark[1].unwrap());
        let vol = Reader::volume(&s.total, Window { secs: 60 }, s.newest(), 6);
        assert_eq!(vol.iter().map(|v| v.0).sum::<u64>(), 60);
    }

    #[test]
    fn data_older_than_the_rings_is_not_counted() {
        let mut s = Series::default();
        let late = call(&mut s, "m", T0 + 10_000, 100);
        s.add(&late);
        let old = call(&mut s, "m", T0, 100);
        s.add(&old);
        let st = Reader::default().stats(&s.total, Window { secs: 3600 }, s.newest(), false);
        assert_eq!(st.calls, 1);
    }

    /// A verdict of `evaluator` on a call of `model` at `second`, as its own contribution.
    fn verdict(series: &mut Series, evaluator: &str, model: &str, second: u64, passed: bool) -> Contribution {
        let m: Sym = Arc::from(model);
        let cohorts = series.cohorts([Some(&m), None, None, None]);
        let evaluator = series.evaluator(&Arc::from(evaluator));
        Contribution {
            verdicts: vec![VerdictSample {
                second,
                evaluator,
                passed: Some(passed),
                score: VerdictSample::score_units(Some(if passed { 0.9 } else { 0.1 })),
                cohorts,
                human: None,
            }],
            ..Contribution::default()
        }
    }

    fn coverage(parent: bool, model: bool, prompt_version: bool, route: bool) -> Coverage {
        Coverage {
            parent,
            model,
            prompt_version,
            route,
        }
    }

    #[test]
    fn verdicts_and_coverage_taken_out_leave_nothing_behind() {
        let mut s = Series::default();
        let mut c = call(&mut s, "gpt-4o", T0, 100);
        c.calls[0].coverage = coverage(true, true, false, true);
        let v = verdict(&mut s, "Groundedness", "gpt-4o", T0, false);
        c.verdicts = v.verdicts.clone();
        c.verdicts.push(VerdictSample {
            passed: None,
            score: VerdictSample::score_units(Some(0.123_456_7)),
            ..v.verdicts[0]
        });
        s.add(&c);
        let w = Window { secs: 60 };
        assert_eq!(Reader::evals(&s.total, w, s.newest(), false).len(), 1);
        assert_eq!(s.coverage(w, s.newest()).missing, [0, 0, 1, 0]);
        s.remove(&c);
        assert!(Reader::evals(&s.total, w, s.newest(), false).is_empty());
        assert!(Reader::evals(s.dim(0).series(0), w, s.newest(), false).is_empty());
        assert_eq!(s.coverage(w, s.newest()), CoverageStats::default());
        for ring in [&s.total.fine, &s.total.mid, &s.total.coarse] {
            for slot in ring.slots.iter().flatten() {
                assert!(slot.evals.is_empty(), "{slot:?}");
                assert_eq!((slot.covered, slot.missing), (0, [0; 4]));
            }
        }
    }

    #[test]
    fn eval_counts_over_the_window_and_the_previous_window() {
        let mut s = Series::default();
        // Minute one: Groundedness on gpt-4o passes 60 times; minute two: every other one
        // fails, and on claude every one fails.
        for i in 0..60 {
            let v = verdict(&mut s, "Groundedness", "gpt-4o", T0 + i, true);
            s.add(&v);
        }
        for i in 60..120 {
            let v = verdict(&mut s, "Groundedness", "gpt-4o", T0 + i, i % 2 == 0);
            s.add(&v);
            let v = verdict(&mut s, "Groundedness", "claude", T0 + i, false);
            s.add(&v);
        }
        let v = verdict(&mut s, "refusal", "gpt-4o", T0 + 119, true);
        s.add(&v);
        let w = Window { secs: 60 };
        let now = Reader::evals(&s.total, w, s.newest(), false);
        let prev = Reader::evals(&s.total, w, s.newest(), true);
        let g = s
            .evaluators()
            .iter()
            .position(|n| &**n == "Groundedness")
            .unwrap() as u16;
        assert_eq!(now.len(), 2, "{now:?}");
        let (id, st) = now[0];
        assert_eq!(id, g);
        assert_eq!((st.n, st.passed, st.failed, st.scored), (120, 30, 90, 120));
        assert!((st.fail_rate().unwrap() - 0.75).abs() < 1e-9);
        assert!(
            (st.mean_score().unwrap() - 0.3).abs() < 1e-9,
            "{:?}",
            st.mean_score()
        );
        assert_eq!(prev.len(), 1, "refusal only in the current window");
        assert_eq!(prev[0].1.fail_rate(), Some(0.0));
        // Per cohort: gpt-4o fails half the time, claude always.
        let claude = (0..s.dim(0).len() as u16)
            .find(|id| &**s.dim(0).name(*id) == "claude")
            .unwrap();
        let c = Reader::evals(s.dim(0).series(claude), w, s.newest(), false);
        assert_eq!(
            c,
            vec![(
                g,
                EvalStats {
                    n: 60,
                    passed: 0,
                    failed: 60,
                    scored: 60,
                    score_sum: 6_000_000,
                    ..EvalStats::default()
                }
            )]
        );
        let gpt = Reader::evals(s.dim(0).series(0), w, s.newest(), false);
        assert_eq!(
            gpt.iter().find(|(id, _)| *id == g).unwrap().1.fail_rate(),
            Some(0.5)
        );
        // The 60-minute window sees both minutes.
        let hour = Reader::evals(&s.total, Window { secs: 3600 }, s.newest(), false);
        assert_eq!(hour[0].1.n, 180);
        // The sparkline: no failures in the first half of the 2-minute window, 75% after.
        // Sparklines end at the last complete slot: a second later, the newest one is.
        let spark = Reader::fail_spark(&s.total, Window { secs: 120 }, s.newest() + 1, g, 2);
        assert_eq!(spark.len(), 2);
        assert_eq!(spark[0], Some(0.0));
        assert!((spark[1].unwrap() - 0.75).abs() < 1e-9, "{spark:?}");
        let empty = Reader::fail_spark(&s.total, Window { secs: 120 }, s.newest(), 99, 4);
        assert_eq!(empty, vec![None; 4]);
    }

    #[test]
    fn coverage_counts_complete_calls_and_missing_parts() {
        let mut s = Series::default();
        let parts = [
            coverage(true, true, true, true),
            coverage(true, true, true, true),
            coverage(true, true, false, true),
            coverage(false, true, false, false),
        ];
        for (i, cov) in parts.into_iter().enumerate() {
            let mut c = call(&mut s, "m", T0 + i as u64, 100);
            c.calls[0].coverage = cov;
            s.add(&c);
        }
        let st = s.coverage(Window { secs: 60 }, s.newest());
        assert_eq!(
            st,
            CoverageStats {
                calls: 4,
                complete: 2,
                missing: [1, 0, 2, 1]
            }
        );
        assert_eq!(st.share(), Some(0.5));
        assert_eq!(
            s.coverage(Window { secs: 60 }, s.newest() + 600),
            CoverageStats::default()
        );
        assert_eq!(CoverageStats::default().share(), None);
    }

    #[test]
    fn evaluator_names_are_bounded() {
        let mut s = Series::default();
        for i in 0..(MAX_EVALUATORS + 5) {
            s.evaluator(&Arc::from(format!("eval-{i}").as_str()));
        }
        assert_eq!(s.evaluators().len(), MAX_EVALUATORS + 1);
        assert_eq!(&**s.evaluator_name(MAX_EVALUATORS as u16), "(other)");
        assert_eq!(s.evaluator(&Arc::from("eval-0")), 0);
    }
}
