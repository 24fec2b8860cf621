//! The dashboard's index of held traces: one [`TraceRow`] per trace, the rows that pass the
//! filter in the current sort order, per-cohort cost orderings for the outlier pane, and the
//! windowed [`Series`]. Kept current from the store's change log, so the work per refresh is
//! proportional to what changed, and a frame reads only the rows it shows.

use super::query::Query;
use super::row::TraceRow;
use super::series::{
    COST_UNITS, CallSample, Contribution, CoverageStats, DIMS, EvalStats, Reader, Series, TraceSample,
    VerdictSample, Window, WindowStats, cost_units,
};
use crate::intern::Sym;
use crate::model::{StatusCode, TraceId, Value};
use crate::semconv::coverage::Coverage;
use crate::semconv::value::contains_ci;
use crate::store::follow::{Both, Deferred, Follower, Nobody, Watch};
use crate::store::outliers::{CostRule, MIN_TRACES};
use crate::store::{Trace, TraceStore};
use foldhash::HashMap;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Time,
    Duration,
    Cost,
    Tokens,
    FailedVerdicts,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        Self::Time,
        Self::Duration,
        Self::Cost,
        Self::Tokens,
        Self::FailedVerdicts,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::Duration => "duration",
            Self::Cost => "cost",
            Self::Tokens => "tokens",
            Self::FailedVerdicts => "failed evals",
        }
    }

    fn key(self, row: &TraceRow) -> u64 {
        match self {
            Self::Time => row.start_unix_nano,
            Self::Duration => row.duration_nanos,
            Self::Cost => cost_units(row.cost_usd).unwrap_or(0),
            Self::Tokens => row.tokens(),
            Self::FailedVerdicts => row.failed_verdicts() as u64,
        }
    }
}

pub use crate::store::follow::REBUILD_CHUNK;

/// (sort key, arrival sequence, id): unique and ordered.
type Ordered = (u64, u64, TraceId);

#[derive(Debug)]
struct Entry {
    row: TraceRow,
    contrib: Contribution,
    /// The trace's cohort id in the outlier dimension, and whether it passes the filter.
    cost_cohort: u16,
    matched: bool,
}

/// A trace far above its cohort's cost baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Outlier {
    pub row: TraceRow,
    pub cohort: Sym,
    pub median_usd: f64,
    pub mad_usd: f64,
    /// Cost over the cohort median.
    pub multiple: f64,
    /// Cost minus the cohort median, USD: what the rows are ranked by.
    pub excess_usd: f64,
    /// The robust (MAD-based) score of the cost in its cohort.
    pub score: f64,
}

/// What the outlier pane says when it lists nothing: how many priced traces the window
/// holds, and in how many cohorts there are enough of them for a baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OutlierCounts {
    pub priced: u64,
    /// Cohorts with at least [`crate::store::outliers::MIN_TRACES`] priced traces.
    pub baselines: usize,
    /// The rule's floor on the excess, USD.
    pub floor_usd: f64,
}

#[derive(Debug, Default)]
pub struct TraceIndex {
    rows: HashMap<TraceId, Entry>,
    sorted: BTreeSet<Ordered>,
    sort: SortKey,
    /// Which of [`DIMS`] the outlier baselines group by.
    cost_dim: usize,
    /// What makes a trace a cost outlier.
    cost_rule: CostRule,
    /// Per cohort id of `cost_dim`: priced traces by cost.
    by_cost: Vec<BTreeSet<Ordered>>,
    query: Option<Query>,
    series: Series,
    watch: Watch,
    /// Traces to read again without the change log (after a freeze), oldest last.
    reread: Vec<TraceId>,
    /// Samples later than this (unix seconds) are not aggregated: the store's clock-skew
    /// guard, so one span from a client clock a day ahead cannot move the windows' clock.
    max_second: Option<u64>,
    /// Rows whose content a new free-text filter has still to search (see [`Self::set_query`]).
    query_pending: Vec<TraceId>,
    /// Rows recomputed since start (a measure of refresh work).
    pub refreshed_rows: u64,
    /// The review queue's order over every held row (the filter does not apply).
    review: super::review::ReviewQueue,
    /// Held traces grouped by session, for the sessions view (the filter decides which are
    /// listed).
    sessions: super::sessions::SessionIndex,
}

impl Follower for TraceIndex {
    fn update(&mut self, trace: &Trace) {
        self.refresh_row(trace);
    }

    fn forget(&mut self, id: &TraceId) {
        self.forget_row(id);
    }

    /// Every aggregate reset: the whole store is read again.
    fn restart(&mut self) {
        self.rows.clear();
        self.sorted.clear();
        self.by_cost.clear();
        self.review.clear();
        self.sessions.clear();
        self.series = Series::default();
        self.query_pending.clear();
        self.reread.clear();
    }
}

impl TraceIndex {
    pub fn series(&self) -> &Series {
        &self.series
    }

    pub fn sort(&self) -> SortKey {
        self.sort
    }

    pub fn cost_dim(&self) -> usize {
        self.cost_dim
    }

    pub fn query(&self) -> Option<&Query> {
        self.query.as_ref()
    }

    /// Rows passing the filter.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Rows held in all (filtered or not).
    pub fn total(&self) -> usize {
        self.rows.len()
    }

    pub fn row(&self, id: &TraceId) -> Option<&TraceRow> {
        self.rows.get(id).map(|e| &e.row)
    }

    /// Brings the index up to date with the store. Call with the store's lock held; the work is
    /// proportional to the traces that changed. Reading a whole store (the first call, or after
    /// the change log overflowed because the screen was paused for long) goes in chunks of
    /// [`REBUILD_CHUNK`] traces, one per call, so the lock is never held for long: call again
    /// while [`Self::rebuilding`].
    pub fn sync(&mut self, store: &mut TraceStore) -> bool {
        self.sync_with(store, &mut Nobody)
    }

    /// [`Self::sync`], handing every changed trace to `also` as well (the alert engine).
    pub fn sync_with(&mut self, store: &mut TraceStore, also: &mut dyn Follower) -> bool {
        self.max_second = store.max_event_second();
        let mut watch = std::mem::take(&mut self.watch);
        let pending = !self.query_pending.is_empty() || !self.reread.is_empty();
        self.search_content(store);
        for _ in 0..REBUILD_CHUNK {
            let Some(id) = self.reread.pop() else { break };
            if let Some(trace) = store.trace(&id) {
                self.refresh_row(trace);
            }
        }
        let changed = watch.sync(store, &mut Both(self, also));
        self.watch = watch;
        changed || pending
    }

    /// While the screen is frozen: `also` keeps reading the change log and what the index
    /// would have read is set aside in `deferred`, for [`Self::catch_up`].
    pub fn sync_frozen(&mut self, store: &mut TraceStore, also: &mut dyn Follower, deferred: &mut Deferred) {
        self.max_second = store.max_event_second();
        self.watch.sync(store, &mut Both(deferred, also));
    }

    /// Takes in what was set aside while frozen: traces that left are dropped at once, the
    /// others are re-read in chunks by the next syncs (or, if too much was set aside, the whole
    /// store is, by this index alone: the change log and its other followers go on).
    pub fn catch_up(&mut self, store: &TraceStore, deferred: &mut Deferred) {
        if std::mem::take(&mut deferred.overflow) {
            deferred.entries = Default::default();
            Follower::restart(self);
            self.reread = store.trace_ids_newest_first();
            return;
        }
        for (id, held) in std::mem::take(&mut deferred.entries) {
            if held {
                self.reread.push(id);
            } else {
                self.forget_row(&id);
            }
        }
    }

    /// Reads the whole store again on the next sync (a new follower joined).
    pub fn reset_watch(&mut self) {
        self.watch.reset();
    }

    /// Whether a whole-store read is still in progress (call [`Self::sync`] again).
    pub fn rebuilding(&self) -> bool {
        self.watch.rebuilding() || !self.reread.is_empty()
    }

    fn forget_row(&mut self, id: &TraceId) {
        if let Some(e) = self.rows.remove(id) {
            self.unlink(&e);
        }
    }

    fn unlink(&mut self, e: &Entry) {
        self.review.remove(&e.row);
        self.sessions.remove(&e.row, e.matched);
        if e.matched {
            self.sorted.remove(&(self.sort.key(&e.row), e.row.seq, e.row.id));
        }
        if let Some(c) = cost_units(e.row.cost_usd)
            && let Some(set) = self.by_cost.get_mut(e.cost_cohort as usize)
        {
            set.remove(&(c, e.row.seq, e.row.id));
        }
    }

    fn link(&mut self, e: &Entry) {
        self.review.insert(&e.row);
        self.sessions.insert(&e.row, e.matched);
        if e.matched {
            self.sorted.insert((self.sort.key(&e.row), e.row.seq, e.row.id));
        }
        if let Some(c) = cost_units(e.row.cost_usd) {
            let i = e.cost_cohort as usize;
            if self.by_cost.len() <= i {
                self.by_cost.resize_with(i + 1, BTreeSet::new);
            }
            self.by_cost[i].insert((c, e.row.seq, e.row.id));
        }
    }

    fn refresh_row(&mut self, trace: &Trace) {
        self.refreshed_rows += 1;
        let row = TraceRow::from_trace(trace);
        let mut contrib = contribution(&mut self.series, trace, &row);
        if let Some(max) = self.max_second {
            contrib.trace = contrib.trace.filter(|t| t.second <= max);
            contrib.calls.retain(|c| c.second <= max);
            contrib.verdicts.retain(|v| v.second <= max);
        }
        if let Some(old) = self.rows.remove(&trace.id) {
            self.unlink(&old);
            self.series.remove(&old.contrib);
        }
        self.series.add(&contrib);
        let matched = self.matches(&row, trace);
        let e = Entry {
            cost_cohort: contrib.trace.map_or(0, |t| t.cohorts[self.cost_dim]),
            row,
            contrib,
            matched,
        };
        self.link(&e);
        self.rows.insert(trace.id, e);
    }

    fn matches(&self, row: &TraceRow, trace: &Trace) -> bool {
        match &self.query {
            None => true,
            Some(q) => q.matches(row, &mut |needle| trace_contains(trace, needle)),
        }
    }

    /// Sets (or clears) the filter; re-evaluates every held row, reading content from the store
    /// only when the query has free text.
    /// Sets (or clears) the filter. Terms on the rows are decided at once; a query with free
    /// text must search the traces' content, which is done in chunks by [`Self::sync`] (rows
    /// join the list as they are found), so the store's lock is never held for long: call
    /// `sync` again while [`Self::filtering`].
    pub fn set_query(&mut self, query: Option<Query>, store: &TraceStore) {
        self.query = query.filter(|q| !q.is_empty());
        self.query_pending.clear();
        let needs_content = self.query.as_ref().is_some_and(Query::needs_content);
        let mut results = Vec::with_capacity(self.rows.len());
        for (id, e) in &self.rows {
            let matched = match &self.query {
                None => true,
                // Content is searched later; until then a row counts as not matching.
                Some(q) if needs_content => {
                    self.query_pending.push(*id);
                    false
                }
                Some(q) => q.matches(&e.row, &mut |_| false),
            };
            results.push((*id, matched));
        }
        for (id, matched) in results {
            if let Some(e) = self.rows.get_mut(&id) {
                e.matched = matched;
            }
        }
        self.resort();
        self.search_content(store);
    }

    /// One more chunk of the content search without taking in new changes (a frozen view).
    pub fn continue_filtering(&mut self, store: &TraceStore) {
        self.search_content(store);
    }

    /// Whether a free-text filter is still searching content (call [`Self::sync`] again).
    pub fn filtering(&self) -> bool {
        !self.query_pending.is_empty()
    }

    /// Searches the content of up to [`REBUILD_CHUNK`] rows waiting for the filter.
    fn search_content(&mut self, store: &TraceStore) {
        let Some(q) = self.query.clone() else {
            self.query_pending.clear();
            return;
        };
        for _ in 0..REBUILD_CHUNK {
            let Some(id) = self.query_pending.pop() else { break };
            let (Some(e), Some(t)) = (self.rows.get(&id), store.trace(&id)) else {
                continue;
            };
            if q.matches(&e.row, &mut |needle| trace_contains(t, needle)) {
                let key = (self.sort.key(&e.row), e.row.seq, e.row.id);
                if let Some(e) = self.rows.get_mut(&id) {
                    e.matched = true;
                    self.sessions.remove(&e.row, false);
                    self.sessions.insert(&e.row, true);
                }
                self.sorted.insert(key);
            }
        }
    }

    pub fn set_sort(&mut self, sort: SortKey) {
        if sort != self.sort {
            self.sort = sort;
            self.resort();
        }
    }

    fn resort(&mut self) {
        let sort = self.sort;
        self.sorted = self
            .rows
            .values()
            .filter(|e| e.matched)
            .map(|e| (sort.key(&e.row), e.row.seq, e.row.id))
            .collect();
        // Which sessions are listed follows the filter.
        self.sessions.clear();
        for e in self.rows.values() {
            self.sessions.insert(&e.row, e.matched);
        }
    }

    /// Held traces grouped by session (the sessions view).
    pub fn sessions(&self) -> &super::sessions::SessionIndex {
        &self.sessions
    }

    pub fn set_session_sort(&mut self, sort: super::sessions::SessionSort) {
        self.sessions.set_sort(sort);
    }

    /// Groups the outlier baselines by another dimension (an index into [`DIMS`]).
    pub fn set_cost_dim(&mut self, dim: usize) {
        let dim = dim % DIMS.len();
        if dim == self.cost_dim {
            return;
        }
        self.cost_dim = dim;
        self.by_cost.clear();
        let entries: Vec<TraceId> = self.rows.keys().copied().collect();
        for id in entries {
            if let Some(mut e) = self.rows.remove(&id) {
                e.cost_cohort = e.contrib.trace.map_or(0, |t| t.cohorts[dim]);
                if let Some(c) = cost_units(e.row.cost_usd) {
                    let i = e.cost_cohort as usize;
                    if self.by_cost.len() <= i {
                        self.by_cost.resize_with(i + 1, BTreeSet::new);
                    }
                    self.by_cost[i].insert((c, e.row.seq, e.row.id));
                }
                self.rows.insert(id, e);
            }
        }
    }

    /// Ids of the filtered rows in display order (largest key first), from `start`.
    pub fn page(&self, start: usize, n: usize) -> impl Iterator<Item = &TraceRow> {
        self.sorted
            .iter()
            .rev()
            .skip(start)
            .take(n)
            .filter_map(|(_, _, id)| self.row(id))
    }

    /// Traces in the review queue (kept for a reason, spans held).
    pub fn review_len(&self) -> usize {
        self.review.len()
    }

    /// The review queue's rows in its order (see [`super::review`]), from `start`.
    pub fn review_page(&self, start: usize, n: usize) -> impl Iterator<Item = &TraceRow> {
        self.review.ids(start, n).filter_map(|id| self.row(&id))
    }

    /// Position of a trace in the review queue; costs O(position).
    pub fn review_position(&self, id: &TraceId) -> Option<usize> {
        self.review.position(self.row(id)?)
    }

    /// Display position of a row among the filtered rows; costs O(position).
    pub fn position(&self, id: &TraceId) -> Option<usize> {
        let e = self.rows.get(id).filter(|e| e.matched)?;
        let k = (self.sort.key(&e.row), e.row.seq, e.row.id);
        Some(self.sorted.range(k..).count() - 1)
    }

    /// The cost outliers of the window under [`CostRule`] (the rule retention's
    /// `cost_outlier` reason uses too), largest excess over the cohort median first. A cohort
    /// is judged once it has [`MIN_TRACES`] priced traces in the window.
    pub fn outliers(&self, reader: &mut Reader, window: Window, limit: usize) -> Vec<Outlier> {
        self.outliers_counted(reader, window, limit).0
    }

    /// [`Self::outliers`], with what the window held to judge.
    pub fn outliers_counted(
        &self,
        reader: &mut Reader,
        window: Window,
        limit: usize,
    ) -> (Vec<Outlier>, OutlierCounts) {
        const PER_COHORT: usize = 3;
        const WALK: usize = 64;
        let now = self.series.newest();
        let from = now.saturating_sub(window.secs - 1) * 1_000_000_000;
        let dim = self.series.dim(self.cost_dim);
        let mut out = Vec::new();
        let mut counts = OutlierCounts {
            priced: reader.cost(&self.series.total, window, now).priced_traces,
            baselines: 0,
            floor_usd: self.cost_rule.floor_usd,
        };
        for (i, set) in self.by_cost.iter().enumerate() {
            if set.is_empty() || i >= dim.len() {
                continue;
            }
            let stats = reader.cost(dim.series(i as u16), window, now);
            if stats.priced_traces < MIN_TRACES as u64 {
                continue;
            }
            counts.baselines += 1;
            let Some((median, mad)) = stats.cost else {
                continue;
            };
            let median_usd = median as f64 / COST_UNITS;
            let mad_usd = mad as f64 / COST_UNITS;
            // The cohort's dearest traces first (the set is ordered by cost).
            let judged = set
                .iter()
                .rev()
                .take(WALK)
                .filter_map(|(_, _, id)| self.row(id))
                .filter(|r| r.start_unix_nano >= from)
                .filter_map(|r| Some((r, self.cost_rule.judge(r.cost_usd?, median_usd, mad_usd)?)))
                .take(PER_COHORT);
            for (row, j) in judged {
                out.push(Outlier {
                    row: row.clone(),
                    cohort: dim.name(i as u16).clone(),
                    median_usd,
                    mad_usd,
                    multiple: j.multiple,
                    excess_usd: j.excess,
                    score: j.score,
                });
            }
        }
        out.sort_by(|a, b| {
            b.excess_usd
                .total_cmp(&a.excess_usd)
                .then(b.multiple.total_cmp(&a.multiple))
        });
        out.truncate(limit);
        (out, counts)
    }

    /// The rule [`Self::outliers`] judges by (the store's, so the pane and retention agree).
    pub fn set_cost_rule(&mut self, rule: CostRule) {
        self.cost_rule = rule;
    }

    /// Trace coverage of the model calls in `window` ending at `newest` (see
    /// [`Series::coverage`]; `newest` is usually [`Series::newest`]).
    pub fn coverage(&self, window: Window, newest: u64) -> CoverageStats {
        self.series.coverage(window, newest)
    }

    /// Cohort `id` of dimension `dim` (`None`: all traffic) aggregated over the whole time
    /// range the index holds rather than a window: what a baseline index read once reports
    /// per cohort. Totals, quantiles and cost, and verdicts per evaluator id.
    pub fn whole(
        &self,
        reader: &mut Reader,
        dim: usize,
        id: Option<u16>,
    ) -> (WindowStats, Vec<(u16, EvalStats)>) {
        let s = match id {
            Some(id) => self.series.dim(dim).series(id),
            None => &self.series.total,
        };
        let newest = self.series.newest();
        (reader.whole(s, newest), Reader::evals_whole(s, newest))
    }

    /// A trace's cost over the median cost of its cohort (in the outlier pane's dimension) over
    /// the window, with the cohort's name; `None` for an unpriced trace or an empty baseline.
    pub fn baseline_multiple(&self, reader: &mut Reader, window: Window, id: &TraceId) -> Option<(f64, Sym)> {
        let e = self.rows.get(id)?;
        let cost = e.row.cost_usd?;
        let dim = self.series.dim(self.cost_dim);
        if usize::from(e.cost_cohort) >= dim.len() {
            return None;
        }
        let stats = reader.cost(dim.series(e.cost_cohort), window, self.series.newest());
        let (median, _) = stats.cost?;
        let median = median as f64 / COST_UNITS;
        (median > 0.0).then(|| (cost / median, dim.name(e.cost_cohort).clone()))
    }

    /// Estimated heap bytes of the index (rows, orderings, series).
    pub fn bytes(&self) -> usize {
        let per_row = size_of::<(TraceId, Entry)>() + 16 + 3 * size_of::<Ordered>();
        self.rows.len() * per_row
            + self
                .rows
                .values()
                .map(|e| {
                    e.contrib.calls.capacity() * size_of::<CallSample>()
                        + e.contrib.verdicts.capacity() * size_of::<VerdictSample>()
                        + (e.row.models.len() + e.row.providers.len()) * 16
                        + e.row.verdicts.capacity() * size_of::<super::row::VerdictMark>()
                })
                .sum::<usize>()
            + self.series.bytes()
    }
}

/// The samples a trace puts into the series, with cohort values resolved the way the rows show
/// them: route and tenant from the trace, the model and service of each call its own, and of
/// each verdict its target span's.
fn contribution(series: &mut Series, trace: &Trace, row: &TraceRow) -> Contribution {
    let primary = trace
        .spans
        .iter()
        .filter_map(|s| {
            let sem = s.sem.as_deref()?;
            Some((sem.cost_usd.unwrap_or(-1.0), sem.model()?))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, m)| m.clone());
    let values = |model: Option<&Sym>, service: &Sym| {
        let mut v: [Option<Sym>; 4] = Default::default();
        for (d, key) in DIMS.iter().enumerate() {
            v[d] = match key {
                crate::semconv::cohort::CohortKey::Model => model.cloned(),
                crate::semconv::cohort::CohortKey::Route => row.route.clone(),
                crate::semconv::cohort::CohortKey::Service => (!service.is_empty()).then(|| service.clone()),
                crate::semconv::cohort::CohortKey::Tenant => row.tenant.clone(),
                _ => None,
            };
        }
        v
    };
    let trace_values = values(primary.as_ref(), &row.service);
    let trace_sample = (!trace.spans.is_empty()).then(|| TraceSample {
        second: row.start_unix_nano / 1_000_000_000,
        error: row.is_error(),
        cost: cost_units(row.cost_usd),
        tokens: row.tokens(),
        shape: {
            let s = crate::store::shape::TraceShape::of(trace);
            [s.llm_calls, s.tool_calls, s.repeated_tool_calls].map(|n| n.min(u64::from(u32::MAX)) as u32)
        },
        cohorts: series.cohorts(trace_values.each_ref().map(Option::as_ref)),
    });
    let mut calls = Vec::new();
    for s in &trace.spans {
        let Some(sem) = s.sem.as_deref() else { continue };
        if !sem.is_model_call() {
            continue;
        }
        let v = values(sem.model(), &s.resource.service);
        calls.push(CallSample {
            second: s.end_unix_nano / 1_000_000_000,
            dur_us: s.duration_nanos() / 1000,
            ttft_us: sem.ttft_nanos.map(|t| t / 1000),
            error: s.status == StatusCode::Error,
            cost: cost_units(sem.cost_usd).unwrap_or(0),
            coverage: Coverage::of(trace, s).unwrap_or_default(),
            cohorts: series.cohorts(v.each_ref().map(Option::as_ref)),
        });
    }
    let mut verdicts = Vec::with_capacity(trace.verdicts.len());
    for verdict in trace.effective_verdicts() {
        // A person's verdict that overrides a judge counts under the judge's name (the pane's
        // row for that evaluator), with whether the two agreed.
        let compared = verdict
            .is_human()
            .then(|| crate::semconv::effective::comparison(&trace.verdicts, verdict))
            .flatten();
        let name = compared.as_ref().map_or(&verdict.name, |c| &c.name);
        let target = trace.verdict_target(verdict);
        // At the evaluated call's end; a verdict whose span has not arrived yet at its own time
        // (it moves when the span arrives and the trace is read again).
        let nanos = match target {
            Some(t) => t.end_unix_nano,
            None if verdict.time_unix_nano > 0 => verdict.time_unix_nano,
            None => row.start_unix_nano,
        };
        let model = target.and_then(|t| t.sem.as_deref()).and_then(|m| m.model());
        let service = target.map_or(&row.service, |t| &t.resource.service);
        let v = values(model, service);
        verdicts.push(VerdictSample {
            second: nanos / 1_000_000_000,
            evaluator: series.evaluator(name),
            passed: verdict.passed,
            score: VerdictSample::score_units(verdict.score),
            cohorts: series.cohorts(v.each_ref().map(Option::as_ref)),
            human: compared.as_ref().map(|c| c.agreed()),
        });
    }
    Contribution {
        trace: trace_sample,
        calls,
        verdicts,
    }
}

/// Whether any name or string value in the trace (span names, attributes, events, log bodies)
/// contains `needle` (already lowercased), ignoring ASCII case.
pub fn trace_contains(trace: &Trace, needle: &str) -> bool {
    trace.spans.iter().any(|s| span_contains(s, needle))
        || trace.logs.iter().any(|l| {
            value_contains(&l.body, needle) || l.attributes.iter().any(|a| value_contains(&a.value, needle))
        })
}

/// Whether a span's name, status message or any string value (attributes, events) contains
/// `needle` (lowercase), ignoring ASCII case.
pub fn span_contains(span: &crate::model::SpanRecord, needle: &str) -> bool {
    let attrs = |a: &[crate::model::Attr]| a.iter().any(|a| value_contains(&a.value, needle));
    contains_ci(&span.name, needle)
        || attrs(&span.attributes)
        || span
            .events
            .iter()
            .any(|e| contains_ci(&e.name, needle) || attrs(&e.attributes))
        || span
            .status_message
            .as_deref()
            .is_some_and(|m| contains_ci(m, needle))
}

fn value_contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::Str(s) => contains_ci(s, needle),
        Value::Sym(s) => contains_ci(s, needle),
        Value::Array(a) => a.iter().any(|v| value_contains(v, needle)),
        Value::Map(m) => m.iter().any(|a| value_contains(&a.value, needle)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attr, SpanRecord};
    use crate::semconv::{Kind, Semantics, TokenUsage, Verdict, VerdictSource};
    use crate::store::StoreLimits;
    use crate::store::test_support::span;
    use std::sync::Arc;

    fn sym(s: &str) -> Sym {
        Arc::from(s)
    }

    /// An LLM call span of trace `t` under `parent`, at `start` seconds.
    fn llm(t: u8, id: u8, parent: u8, start: u64, model: &str, cost: f64) -> SpanRecord {
        let mut s = span(t, id, Some(parent), start);
        s.name = sym(&format!("chat {model}"));
        s.sem = Some(Box::new(Semantics {
            kind: Kind::Llm,
            request_model: Some(sym(model)),
            usage: Some(TokenUsage {
                input: 100,
                output: 20,
                total: 120,
                ..TokenUsage::default()
            }),
            cost_usd: Some(cost),
            ..Semantics::default()
        }));
        s
    }

    fn root(t: u8, start: u64, route: &str) -> SpanRecord {
        let mut s = span(t, 1, None, start);
        s.name = sym("POST /chat");
        s.sem = Some(Box::new(Semantics {
            route: Some(sym(route)),
            ..Semantics::default()
        }));
        s
    }

    fn store() -> TraceStore {
        TraceStore::new(StoreLimits {
            max_spans: 1000,
            max_bytes: 64 << 20,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        })
    }

    const W: Window = Window { secs: 300 };

    fn route_calls(index: &TraceIndex, route: &str) -> u64 {
        let series = index.series();
        let dim = series.dim(1);
        (0..dim.len() as u16)
            .find(|id| &**dim.name(*id) == route)
            .map_or(0, |id| {
                Reader::default()
                    .stats(dim.series(id), W, series.newest(), false)
                    .calls
            })
    }

    #[test]
    fn a_trace_kept_from_outside_reaches_its_row_and_the_kept_filter() {
        use crate::store::keep::KeepReason;
        let mut st = store();
        let mut index = TraceIndex::default();
        st.insert_spans([root(1, 9, "/support"), root(2, 10, "/support")]);
        index.sync(&mut st);
        index.set_query(Some(Query::parse("kept:alert_example").unwrap()), &st);
        assert_eq!(index.len(), 0);
        // An alert names trace 2 as its example: the change log hands the row over again.
        st.keep(TraceId([2; 16]), KeepReason::AlertExample);
        assert!(index.sync(&mut st));
        assert_eq!(index.len(), 1);
        let row = index.row(&TraceId([2; 16])).unwrap();
        assert!(row.kept.contains(KeepReason::AlertExample));
        st.unkeep(TraceId([2; 16]), KeepReason::AlertExample);
        index.sync(&mut st);
        assert_eq!(index.len(), 0);
    }

    #[test]
    fn a_frozen_index_catches_up_with_what_changed_while_another_follower_read_on() {
        /// Counts what it is handed.
        #[derive(Default)]
        struct Tally(usize);
        impl Follower for Tally {
            fn update(&mut self, _: &Trace) {
                self.0 += 1;
            }
            fn forget(&mut self, _: &TraceId) {}
            fn restart(&mut self) {}
        }
        let mut st = store();
        let mut index = TraceIndex::default();
        let mut other = Tally::default();
        st.insert_spans([llm(1, 2, 1, 10, "gpt-4o", 0.01)]);
        index.sync_with(&mut st, &mut other);
        let mut deferred = Deferred::default();
        // Frozen: a root arrives for trace 1 and trace 2 is new; the other follower sees both.
        st.insert_spans([root(1, 9, "/support"), llm(2, 2, 1, 12, "gpt-4o", 0.02)]);
        index.sync_frozen(&mut st, &mut other, &mut deferred);
        assert_eq!(other.0, 3);
        assert_eq!(index.total(), 1, "the frozen index stands still");
        assert_eq!(route_calls(&index, "/support"), 0);
        index.catch_up(&st, &mut deferred);
        assert!(deferred.is_empty());
        index.sync_with(&mut st, &mut other);
        assert_eq!(index.total(), 2);
        assert_eq!(route_calls(&index, "/support"), 1);
        assert_eq!(route_calls(&index, "(none)"), 1, "trace 2 has no root yet");
        // Set aside past its bound: the index alone reads the whole store again.
        deferred.overflow = true;
        index.catch_up(&st, &mut deferred);
        assert!(index.rebuilding());
        index.sync_with(&mut st, &mut other);
        assert!(!index.rebuilding());
        assert_eq!(index.total(), 2);
        assert_eq!(
            route_calls(&index, "/support"),
            1,
            "counted once after the re-read"
        );
        assert_eq!(other.0, 3, "the other follower was not restarted");
    }

    #[test]
    fn a_root_arriving_last_moves_its_calls_into_its_route() {
        let mut st = store();
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        st.insert_spans([llm(1, 2, 1, 10, "gpt-4o", 0.01)]);
        assert!(index.sync(&mut st));
        assert_eq!(route_calls(&index, "(none)"), 1);
        st.insert_spans([root(1, 9, "/support")]);
        index.sync(&mut st);
        assert_eq!(
            route_calls(&index, "(none)"),
            0,
            "the old contribution was taken out"
        );
        assert_eq!(route_calls(&index, "/support"), 1);
        let row = index.row(&crate::model::TraceId([1; 16])).unwrap();
        assert_eq!(row.route.as_deref(), Some("/support"));
        assert_eq!(row.root_name.as_deref(), Some("POST /chat"));
        assert_eq!(row.tokens(), 120);
        assert!(!index.sync(&mut st), "nothing new");
    }

    #[test]
    fn evicted_traces_leave_the_list_but_not_the_window() {
        let mut st = TraceStore::new(StoreLimits {
            max_spans: 4,
            max_bytes: 64 << 20,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        for t in 1..=4 {
            st.insert_spans([root(t, u64::from(t), "/a"), llm(t, 2, 1, u64::from(t), "m", 0.01)]);
        }
        index.sync(&mut st);
        assert_eq!(index.total(), 2, "two traces held");
        assert_eq!(route_calls(&index, "/a"), 4, "all four calls stay in the window");
        let ids: Vec<u8> = index.page(0, 10).map(|r| r.id.0[0]).collect();
        assert_eq!(ids, vec![4, 3], "newest first");
    }

    #[test]
    fn a_cohort_that_costs_nothing_has_no_outliers_and_future_spans_do_not_move_the_clock() {
        let mut st = store();
        let mut index = TraceIndex::default();
        index.set_cost_dim(1);
        index.sync(&mut st);
        for t in 1..=5u8 {
            st.insert_spans([
                root(t, u64::from(t), "/free"),
                llm(t, 2, 1, u64::from(t), "local", 0.0),
            ]);
        }
        index.sync(&mut st);
        assert!(index.outliers(&mut Reader::default(), W, 5).is_empty());
        // The store's clock-skew guard (live mode) also bounds the windows.
        let base = span(0, 1, None, 0).start_unix_nano / 1_000_000_000;
        st.set_max_event_second(Some(base + 100));
        st.insert_spans([root(9, 86_400, "/free")]);
        index.sync(&mut st);
        assert!(
            index.series().newest() <= base + 100,
            "{}",
            index.series().newest()
        );
        st.insert_spans([root(10, 20, "/free"), llm(10, 2, 1, 20, "local", 0.0)]);
        index.sync(&mut st);
        assert_eq!(route_calls(&index, "/free"), 6, "later normal calls still land");
    }

    #[test]
    fn tokens_saturate_instead_of_overflowing() {
        let mut st = store();
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        let mut a = llm(1, 2, 1, 1, "m", 0.01);
        let mut b = llm(1, 3, 1, 1, "m", 0.01);
        for s in [&mut a, &mut b] {
            if let Some(u) = s.sem.as_deref_mut().and_then(|m| m.usage.as_mut()) {
                u.input = u64::MAX;
            }
        }
        st.insert_spans([root(1, 1, "/a"), a, b]);
        index.sync(&mut st);
        assert_eq!(
            index.row(&crate::model::TraceId([1; 16])).unwrap().tokens(),
            u64::MAX
        );
    }

    #[test]
    fn an_overflowing_change_log_rebuilds_from_the_store() {
        let mut st = store();
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        st.track_changes_limited(4);
        for t in 1..=6 {
            st.insert_spans([root(t, u64::from(t), "/a")]);
        }
        assert!(index.sync(&mut st));
        assert_eq!(
            index.total(),
            6,
            "rebuilt from the whole store after the overflow"
        );
        // And back to incremental afterwards.
        st.insert_spans([root(7, 7, "/a")]);
        index.sync(&mut st);
        assert_eq!(index.total(), 7);
    }

    #[test]
    fn a_whole_store_is_read_in_chunks_and_evictions_meanwhile_still_count() {
        let mut st = TraceStore::new(StoreLimits {
            max_spans: REBUILD_CHUNK + 100,
            max_bytes: 256 << 20,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        for i in 0..(REBUILD_CHUNK as u32 + 100) {
            let mut s = llm(0, 2, 1, u64::from(i % 200), "m", 0.01);
            s.parent_span_id = None;
            s.trace_id = crate::model::TraceId([
                (i % 256) as u8,
                (i / 256) as u8,
                7,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ]);
            st.insert_spans([s]);
        }
        let mut index = TraceIndex::default();
        assert!(index.sync(&mut st));
        assert!(index.rebuilding());
        assert_eq!(index.total(), REBUILD_CHUNK);
        // Ten more traces arrive mid-read and push the ten oldest out (read first, so their
        // calls stay counted); the rest of the read continues on the next call.
        for i in 0..10u8 {
            let mut s = llm(0, 2, 1, 150, "m", 0.01);
            s.parent_span_id = None;
            s.trace_id = crate::model::TraceId([i, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            st.insert_spans([s]);
        }
        index.sync(&mut st);
        assert!(!index.rebuilding());
        assert_eq!(index.total(), REBUILD_CHUNK + 100);
        let calls = Reader::default()
            .stats(&index.series().total, W, index.series().newest(), false)
            .calls;
        assert_eq!(calls, REBUILD_CHUNK as u64 + 110, "every call counted once");
    }

    #[test]
    fn a_free_text_filter_searches_content_in_chunks() {
        let mut st = TraceStore::new(StoreLimits {
            max_spans: 10_000,
            max_bytes: 256 << 20,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        let n = REBUILD_CHUNK as u32 + 10;
        for i in 0..n {
            let mut s = llm(0, 2, 1, 1, "m", 0.01);
            s.parent_span_id = None;
            s.trace_id = crate::model::TraceId([
                (i % 256) as u8,
                (i / 256) as u8,
                5,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ]);
            if i % 2 == 0 {
                s.attributes = vec![Attr {
                    key: sym("gen_ai.prompt"),
                    value: crate::model::Value::Str("a WAREHOUSE question".into()),
                }]
                .into();
            }
            st.insert_spans([s]);
        }
        let mut index = TraceIndex::default();
        while index.sync(&mut st) && index.rebuilding() {}
        index.set_query(Some(Query::parse("warehouse").unwrap()), &st);
        assert!(index.filtering(), "one chunk searched, the rest later");
        assert!(index.len() <= REBUILD_CHUNK);
        index.sync(&mut st);
        assert!(!index.filtering());
        assert_eq!(index.len(), n.div_ceil(2) as usize);
        // Clearing the filter while a search is pending stops it.
        index.set_query(Some(Query::parse("warehouse").unwrap()), &st);
        index.set_query(None, &st);
        assert!(!index.filtering());
        assert_eq!(index.len(), n as usize);
    }

    #[test]
    fn traces_evicted_before_the_reader_looked_still_count() {
        let mut st = TraceStore::new(StoreLimits {
            max_spans: 2,
            max_bytes: 64 << 20,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        for t in 1..=5 {
            st.insert_spans([root(t, u64::from(t), "/a"), llm(t, 2, 1, u64::from(t), "m", 0.01)]);
        }
        index.sync(&mut st);
        assert_eq!(index.total(), 1);
        assert_eq!(route_calls(&index, "/a"), 5);
    }

    #[test]
    fn the_change_log_is_bounded_and_says_when_it_overflowed() {
        let mut st = TraceStore::new(StoreLimits {
            max_spans: 1,
            max_bytes: 64 << 20,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        st.track_changes_limited(100);
        for i in 0..60u32 {
            let mut s = span(0, 1, None, 0);
            s.trace_id = crate::model::TraceId([
                (i % 251) as u8,
                (i / 251 % 251) as u8,
                (i / 63001) as u8,
                9,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ]);
            st.insert_spans([s]);
        }
        let mut c = crate::store::changes::Changes::default();
        st.take_changes(&mut c);
        assert!(
            c.overflow,
            "{} touched {} evicted",
            c.touched.len(),
            c.evicted.len()
        );
        assert!(c.touched.is_empty() && c.evicted.is_empty());
        st.take_changes(&mut c);
        assert!(!c.overflow, "a fresh log after the drain");
    }

    #[test]
    fn filters_use_rows_and_content_and_sorts_reorder() {
        let mut st = store();
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        let mut cheap = llm(1, 2, 1, 1, "gpt-4o-mini", 0.001);
        cheap.attributes = vec![Attr {
            key: sym("gen_ai.prompt"),
            value: crate::model::Value::Str("where is my REFUND".into()),
        }]
        .into();
        st.insert_spans([root(1, 1, "/support"), cheap]);
        st.insert_spans([root(2, 2, "/docs"), llm(2, 2, 1, 2, "gpt-4o", 0.2)]);
        st.insert_spans([root(3, 3, "/docs"), llm(3, 2, 1, 3, "gpt-4o", 0.05)]);
        index.sync(&mut st);
        let ids = |i: &TraceIndex| i.page(0, 10).map(|r| r.id.0[0]).collect::<Vec<u8>>();
        assert_eq!(ids(&index), vec![3, 2, 1]);
        index.set_sort(SortKey::Cost);
        assert_eq!(ids(&index), vec![2, 3, 1]);
        assert_eq!(index.position(&crate::model::TraceId([1; 16])), Some(2));
        index.set_query(Some(Query::parse("route:/docs cost>0.1").unwrap()), &st);
        assert_eq!(ids(&index), vec![2]);
        index.set_query(Some(Query::parse("refund").unwrap()), &st);
        assert_eq!(ids(&index), vec![1], "free text finds span content");
        // New traces are filtered as they arrive.
        index.set_sort(SortKey::Time);
        st.insert_spans([root(4, 4, "/refund-desk")]);
        index.sync(&mut st);
        assert_eq!(ids(&index), vec![4, 1]);
        index.set_query(None, &st);
        assert_eq!(index.len(), 4);
    }

    #[test]
    fn outliers_follow_the_cost_rule_and_rank_by_excess() {
        let mut st = store();
        let mut index = TraceIndex::default();
        index.set_cost_dim(1);
        index.sync(&mut st);
        for t in 1..=24u8 {
            st.insert_spans([root(t, u64::from(t), "/a"), llm(t, 2, 1, u64::from(t), "m", 0.01)]);
        }
        // 8× the median and $0.07 over it: an outlier. 1.5×: not one.
        st.insert_spans([root(30, 30, "/a"), llm(30, 2, 1, 30, "m", 0.08)]);
        st.insert_spans([root(31, 31, "/a"), llm(31, 2, 1, 31, "m", 0.015)]);
        // Five traces are too few for a baseline, however dear.
        for t in 40..=44u8 {
            st.insert_spans([root(t, u64::from(t), "/b"), llm(t, 2, 1, u64::from(t), "m", 1.0)]);
        }
        st.insert_spans([root(45, 45, "/b"), llm(45, 2, 1, 45, "m", 50.0)]);
        index.sync(&mut st);
        let (out, counts) = index.outliers_counted(&mut Reader::default(), W, 3);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].row.id.0[0], 30, "{out:?}");
        assert_eq!(&*out[0].cohort, "/a");
        assert!((out[0].multiple - 8.0).abs() < 0.6, "{}", out[0].multiple);
        assert!((out[0].excess_usd - 0.07).abs() < 0.006, "{}", out[0].excess_usd);
        assert_eq!((counts.priced, counts.baselines), (32, 1));
        // A floor above the excess hides it.
        index.set_cost_rule(CostRule { floor_usd: 0.1 });
        assert!(index.outliers(&mut Reader::default(), W, 3).is_empty());
    }

    fn verdict(t: u8, target: Option<u8>, name: &str, passed: bool, source: VerdictSource) -> Verdict {
        Verdict {
            trace_id: Some(crate::model::TraceId([t; 16])),
            target: target.map(|id| crate::model::SpanId([id; 8])),
            response_id: None,
            name: sym(name),
            score: Some(if passed { 0.8 } else { 0.2 }),
            label: None,
            explanation: None,
            passed: Some(passed),
            source,
            time_unix_nano: span(0, 1, None, 100).start_unix_nano,
            reviewer: None,
        }
    }

    /// (n, failed) of `evaluator` in the route cohort `route` over [`W`].
    fn route_evals(index: &TraceIndex, route: &str, evaluator: &str) -> (u64, u64) {
        let series = index.series();
        let dim = series.dim(1);
        let Some(id) = (0..dim.len() as u16).find(|id| &**dim.name(*id) == route) else {
            return (0, 0);
        };
        Reader::evals(dim.series(id), W, series.newest(), false)
            .into_iter()
            .find(|(e, _)| &**series.evaluator_name(*e) == evaluator)
            .map_or((0, 0), |(_, st)| (st.n, st.failed))
    }

    #[test]
    fn verdicts_land_on_their_target_call_and_move_with_the_route() {
        let mut st = store();
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        st.insert_spans([llm(1, 2, 1, 10, "gpt-4o", 0.01)]);
        st.insert_verdicts([
            verdict(1, Some(2), "Groundedness", false, VerdictSource::SpanEvent),
            // A built-in check that passes is quiet in the list but counts in the evals pane.
            verdict(1, Some(2), "context_overlap", true, VerdictSource::Llmwatch),
            // Its span has not arrived: counted at its own time, without a model.
            verdict(1, Some(9), "Relevance", true, VerdictSource::LogRecord),
        ]);
        index.sync(&mut st);
        assert_eq!(route_evals(&index, "(none)", "Groundedness"), (1, 1));
        assert_eq!(route_evals(&index, "(none)", "context_overlap"), (1, 0));
        let row = index.row(&crate::model::TraceId([1; 16])).unwrap();
        assert_eq!(row.verdicts.len(), 2, "the passing built-in is not listed");
        let series = index.series();
        let models = series.dim(0);
        let gpt = (0..models.len() as u16)
            .find(|id| &**models.name(*id) == "gpt-4o")
            .unwrap();
        let on_gpt = Reader::evals(models.series(gpt), W, series.newest(), false);
        assert_eq!(on_gpt.iter().map(|(_, s)| s.n).sum::<u64>(), 2, "{on_gpt:?}");
        // Placed at the call's end second.
        let end = st.trace(&crate::model::TraceId([1; 16])).unwrap().spans[0].end_unix_nano / 1_000_000_000;
        let g = series
            .evaluators()
            .iter()
            .position(|n| &**n == "Groundedness")
            .unwrap() as u16;
        let at_end = Reader::evals(&series.total, Window { secs: 60 }, end, false);
        assert!(at_end.iter().any(|(id, _)| *id == g));
        let before = Reader::evals(&series.total, Window { secs: 60 }, end - 60, false);
        assert!(!before.iter().any(|(id, _)| *id == g));
        // The root arrives: the verdicts move into its route, nothing stays behind.
        st.insert_spans([root(1, 9, "/support")]);
        index.sync(&mut st);
        assert_eq!(route_evals(&index, "(none)", "Groundedness"), (0, 0));
        assert_eq!(route_evals(&index, "/support", "Groundedness"), (1, 1));
        assert_eq!(route_evals(&index, "/support", "Relevance"), (1, 0));
    }

    #[test]
    fn coverage_follows_the_calls_and_their_root() {
        let mut st = store();
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        let mut orphan = llm(2, 1, 1, 10, "gpt-4o", 0.01);
        orphan.parent_span_id = None;
        st.insert_spans([llm(1, 2, 1, 10, "gpt-4o", 0.01), orphan]);
        index.sync(&mut st);
        let cov = |i: &TraceIndex| i.coverage(W, i.series().newest());
        // No route, no prompt version anywhere; one call has no parent.
        assert_eq!(
            cov(&index),
            CoverageStats {
                calls: 2,
                complete: 0,
                missing: [1, 0, 2, 2]
            }
        );
        let mut r = root(1, 9, "/support");
        if let Some(sem) = r.sem.as_deref_mut() {
            sem.prompt_version = Some(sym("v3"));
        }
        st.insert_spans([r]);
        index.sync(&mut st);
        assert_eq!(
            cov(&index),
            CoverageStats {
                calls: 2,
                complete: 1,
                missing: [1, 0, 1, 1]
            }
        );
    }
}
