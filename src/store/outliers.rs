//! Streaming detectors behind two keep reasons (failure-biased retention): a model call slower
//! than its model's p99 so far ([`SlowCalls`]), and a trace whose cost is an outlier of its
//! route ([`CostBaselines`]). Both work as spans arrive, at a small constant cost per span, and
//! both are approximations of what the screen computes over a window:
//!
//! - p99 per model comes from a log-linear histogram of every call seen this run (6.25%
//!   bucket error), recomputed every [`P99_EVERY`] calls of that model, judged once the
//!   model has [`MIN_CALLS`] calls.
//! - The cost baseline per route is the median and MAD of the last [`RING`] traces' costs,
//!   recomputed every [`BASELINE_EVERY`] updates, judged once the route has [`MIN_TRACES`]
//!   traces by [`CostRule`], the one rule the outlier pane applies too. A trace's entry in the
//!   ring is updated in place while its later calls arrive, so a trace is judged on its cost
//!   so far.
//!
//! Past [`MAX_COHORTS`] models (or routes) new ones are not judged: memory stays bounded.

use super::histogram::{LogHistogram, index_of};
use crate::intern::Sym;
use crate::model::TraceId;
use foldhash::HashMap;

/// Calls of a model needed before its p99 judges anything.
pub const MIN_CALLS: u64 = 100;
/// Traces of a route needed before its cost baseline judges anything.
pub const MIN_TRACES: usize = 20;
/// Trace costs held per route.
pub const RING: usize = 256;
/// Calls of a model between two recomputations of its p99 (a walk over the histogram).
pub const P99_EVERY: u32 = 64;
/// Cost updates of a route between two recomputations of its median and MAD (two selections
/// over the ring: the dearest part of the detectors, so done rarely; the baseline lags by at
/// most half a ring).
pub const BASELINE_EVERY: u32 = 128;
/// Models (and, apart, routes) tracked at most.
pub const MAX_COHORTS: usize = 256;

pub use crate::config::DEFAULT_COST_FLOOR_USD as DEFAULT_FLOOR_USD;
/// A cost outlier costs at least this multiple of its cohort's median.
pub const MIN_MULTIPLE: f64 = 3.0;
/// ... and scores at least this robust z ([`robust_z`]; 3.5 is Iglewicz and Hoaglin's cut for
/// the MAD-based score).
pub const MIN_SCORE: f64 = 3.5;

/// The cost-outlier rule shared by the outlier pane and retention's `cost_outlier` reason: a
/// trace is an outlier of its cohort (median `m`, MAD `mad` of trace cost) when its excess
/// `cost − m` is at least the floor, its cost at least [`MIN_MULTIPLE`] × `m`, and its robust
/// score at least [`MIN_SCORE`]. Ranked by excess: a cent over a tenth-of-a-cent median is
/// 10× but not an incident; seven cents over one is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostRule {
    pub floor_usd: f64,
}

impl Default for CostRule {
    fn default() -> Self {
        Self {
            floor_usd: DEFAULT_FLOOR_USD,
        }
    }
}

/// How a trace's cost stands against its cohort.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judged {
    /// Cost over the median, USD.
    pub excess: f64,
    /// Cost over the median (∞ over a zero median).
    pub multiple: f64,
    /// The robust z-score ([`robust_z`]).
    pub score: f64,
}

impl CostRule {
    /// The trace's standing when it is an outlier under this rule, else `None`. A cohort whose
    /// median is zero (free or unpriced) has no baseline to be a multiple of.
    pub fn judge(&self, cost: f64, median: f64, mad: f64) -> Option<Judged> {
        if !(cost.is_finite() && median.is_finite() && median > 0.0) {
            return None;
        }
        let j = Judged {
            excess: cost - median,
            multiple: cost / median,
            score: robust_z(cost, median, mad),
        };
        (j.excess >= self.floor_usd && j.multiple >= MIN_MULTIPLE && j.score >= MIN_SCORE).then_some(j)
    }
}

/// The robust z-score of `x` against a cohort with median `m` and MAD `mad`: `(x − m) /
/// (1.4826 · MAD)` (1.4826 makes the MAD a standard deviation for normal data). A MAD of zero
/// (most of the cohort costs the same) falls back to 1% of the median, so a trace well above a
/// flat cohort still scores, without dividing by zero.
pub fn robust_z(x: f64, m: f64, mad: f64) -> f64 {
    let scale = (1.4826 * mad).max(m.abs() * 0.01).max(f64::MIN_POSITIVE);
    (x - m) / scale
}

#[derive(Debug, Default)]
struct ModelLatency {
    hist: LogHistogram,
    since: u32,
    /// The histogram bucket of the p99: a call is slow when it lands in a later bucket (so
    /// calls within the p99's own bucket, 6.25% wide, are not).
    p99_bucket: Option<usize>,
}

impl ModelLatency {
    fn observe(&mut self, micros: u64) -> bool {
        self.hist.record(micros);
        self.since += 1;
        if self.hist.count() >= MIN_CALLS && (self.since >= P99_EVERY || self.p99_bucket.is_none()) {
            self.p99_bucket = self.hist.quantile(0.99).map(index_of);
            self.since = 0;
        }
        self.p99_bucket.is_some_and(|p99| index_of(micros) > p99)
    }
}

/// p99 of call duration per model, among the calls seen so far.
#[derive(Debug, Default)]
pub struct SlowCalls {
    models: HashMap<Sym, ModelLatency>,
}

impl SlowCalls {
    /// Records a call of `model` that took `micros`; true when it is over the model's p99.
    pub fn observe(&mut self, model: &Sym, micros: u64) -> bool {
        if let Some(m) = self.models.get_mut(model) {
            return m.observe(micros);
        }
        if self.models.len() >= MAX_COHORTS {
            return false;
        }
        self.models.entry(model.clone()).or_default().observe(micros)
    }

    pub fn bytes(&self) -> usize {
        self.models.capacity() * (size_of::<(Sym, ModelLatency)>() + 1)
            + self.models.len() * LogHistogram::BYTES
    }
}

#[derive(Debug, Default)]
struct RouteCosts {
    /// (trace, its cost so far), oldest overwritten first.
    ring: Vec<(TraceId, f64)>,
    next: usize,
    since: u32,
    /// Median and MAD of the ring at the last recomputation.
    baseline: Option<(f64, f64)>,
}

impl RouteCosts {
    fn recompute(&mut self, scratch: &mut Vec<f64>) {
        scratch.clear();
        scratch.extend(self.ring.iter().map(|(_, c)| *c));
        let median = median_of(scratch);
        for c in scratch.iter_mut() {
            *c = (*c - median).abs();
        }
        let mad = median_of(scratch);
        self.baseline = Some((median, mad));
        self.since = 0;
    }
}

/// The upper median (the pane's histogram takes the value at rank ⌈n/2⌉ too).
fn median_of(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let k = (v.len() - 1) / 2;
    *v.select_nth_unstable_by(k, f64::total_cmp).1
}

/// Where a trace's cost sits in its route's ring, so its later calls update it in place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CostSlot(Option<(u16, u16)>);

/// Median and MAD of trace cost per route, over each route's last [`RING`] traces.
#[derive(Debug, Default)]
pub struct CostBaselines {
    pub rule: CostRule,
    index: HashMap<Sym, u16>,
    /// The cohort of traces that name no route.
    no_route: Option<u16>,
    routes: Vec<RouteCosts>,
    scratch: Vec<f64>,
}

impl CostBaselines {
    pub fn with_rule(rule: CostRule) -> Self {
        Self {
            rule,
            ..Self::default()
        }
    }

    /// Records that trace `id` (of `route`) has cost `cost` so far; true when that is an
    /// outlier of its route.
    pub fn observe(&mut self, route: Option<&Sym>, id: TraceId, slot: &mut CostSlot, cost: f64) -> bool {
        if !cost.is_finite() {
            return false;
        }
        let r = match slot.0 {
            Some((r, _)) => r,
            None => {
                let known = match route {
                    Some(name) => self.index.get(&**name).copied(),
                    None => self.no_route,
                };
                match known {
                    Some(r) => r,
                    None if self.routes.len() < MAX_COHORTS => {
                        let r = self.routes.len() as u16;
                        match route {
                            Some(name) => {
                                self.index.insert(name.clone(), r);
                            }
                            None => self.no_route = Some(r),
                        }
                        self.routes.push(RouteCosts::default());
                        r
                    }
                    None => return false,
                }
            }
        };
        let rc = &mut self.routes[r as usize];
        match slot.0 {
            Some((_, i)) if rc.ring.get(i as usize).is_some_and(|(t, _)| *t == id) => {
                rc.ring[i as usize].1 = cost;
            }
            _ => {
                let i = if rc.ring.len() < RING {
                    rc.ring.push((id, cost));
                    rc.ring.len() - 1
                } else {
                    let i = rc.next;
                    rc.ring[i] = (id, cost);
                    rc.next = (i + 1) % RING;
                    i
                };
                slot.0 = Some((r, i as u16));
            }
        }
        rc.since += 1;
        let enough = rc.ring.len() >= MIN_TRACES;
        if enough && (rc.since >= BASELINE_EVERY || rc.baseline.is_none()) {
            rc.recompute(&mut self.scratch);
        }
        match rc.baseline {
            Some((median, mad)) if enough => self.rule.judge(cost, median, mad).is_some(),
            _ => false,
        }
    }

    pub fn bytes(&self) -> usize {
        self.index.capacity() * (size_of::<(Sym, u16)>() + 1)
            + self.routes.capacity() * size_of::<RouteCosts>()
            + self.routes.iter().map(|r| r.ring.capacity()).sum::<usize>() * size_of::<(TraceId, f64)>()
            + self.scratch.capacity() * size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tid(n: u32) -> TraceId {
        let mut t = TraceId([0; 16]);
        t.0[..4].copy_from_slice(&n.to_be_bytes());
        t
    }

    #[test]
    fn a_call_over_its_models_p99_is_slow_once_there_are_a_hundred_calls() {
        let mut s = SlowCalls::default();
        let model: Sym = "m".into();
        let other: Sym = "other".into();
        // Before 100 calls nothing is judged, however slow.
        for i in 0..99u64 {
            assert!(!s.observe(&model, 1_000 + i));
        }
        assert!(s.observe(&model, 1_000_000), "the 100th call is judged");
        assert!(s.observe(&model, 5_000_000));
        assert!(!s.observe(&model, 1_050));
        // Another model has its own baseline.
        assert!(!s.observe(&other, 5_000_000));
    }

    #[test]
    fn a_trace_far_above_its_routes_median_is_an_outlier_and_updates_in_place() {
        let mut b = CostBaselines::default();
        let route: Sym = "/chat".into();
        let mut slots = vec![CostSlot::default(); 40];
        for (i, slot) in slots.iter_mut().enumerate().take(30) {
            let cost = 0.01 + (i % 5) as f64 * 0.001;
            assert!(!b.observe(Some(&route), tid(i as u32), slot, cost));
        }
        // A normal trace, then its second call makes it ten times the median.
        let mut slot = CostSlot::default();
        assert!(!b.observe(Some(&route), tid(100), &mut slot, 0.012));
        let before = slot;
        assert!(b.observe(Some(&route), tid(100), &mut slot, 0.12));
        assert_eq!(slot, before, "the trace's ring entry is updated, not a new one");
        // Another route has no baseline yet.
        assert!(!b.observe(Some(&"/other".into()), tid(101), &mut CostSlot::default(), 1.0));
        // Free traces (median 0) have no multiple.
        let mut f = CostBaselines::default();
        for i in 0..30 {
            f.observe(None, tid(i), &mut CostSlot::default(), 0.0);
        }
        assert!(!f.observe(None, tid(99), &mut CostSlot::default(), 0.5));
    }

    #[test]
    fn the_rule_needs_a_floor_a_multiple_and_a_score() {
        let rule = CostRule::default();
        // 18.8× a $0.00008 median is $0.0015 over it: under the cent floor.
        assert_eq!(rule.judge(0.0015, 0.00008, 0.00002), None);
        // $0.07 against $0.009 (7.8×, far out): an outlier, ranked by its excess.
        let j = rule.judge(0.07, 0.009, 0.002).unwrap();
        assert!((j.excess - 0.061).abs() < 1e-9 && j.multiple > 7.0 && j.score > MIN_SCORE);
        // 1.8× is not an outlier however far above the floor.
        assert_eq!(rule.judge(1.8, 1.0, 0.01), None);
        // A wide cohort: 3.2× but within its spread.
        assert_eq!(rule.judge(0.32, 0.1, 0.1), None);
        // A configured floor.
        let tight = CostRule { floor_usd: 0.1 };
        assert_eq!(tight.judge(0.07, 0.009, 0.002), None);
        // A free cohort has no multiple.
        assert_eq!(rule.judge(0.5, 0.0, 0.0), None);
    }

    #[test]
    fn the_ring_wraps_and_memory_stays_bounded() {
        let mut b = CostBaselines::default();
        for i in 0..10_000u32 {
            b.observe(None, tid(i), &mut CostSlot::default(), 0.01);
        }
        assert_eq!(b.routes[0].ring.len(), RING);
        assert!(b.bytes() < 64 * 1024, "{}", b.bytes());
    }
}
