//! The frame's data: a bounded, owned snapshot built from the index's aggregates and the rows
//! that are visible, so that drawing is a pure function of it (`panes::render`).

use super::state::EvalSort;
use crate::intern::Sym;
use crate::status::StatusSample;
use crate::ui::baseline::BaselineRows;
use crate::ui::text::fmt_spend;
use crate::view::index::{Outlier, OutlierCounts, SortKey, TraceIndex};
use crate::view::row::TraceRow;
use crate::view::series::{CoverageStats, DIMS, EvalStats, Reader, Window};
use crate::view::stats;
use std::cmp::Ordering;

/// What the status bar says about where data comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Live {
        /// One entry per receiver: `grpc 127.0.0.1:4317`.
        listen: Vec<String>,
    },
    Replay {
        files: Vec<String>,
        speed: String,
        paused: bool,
        done: bool,
        /// Share of the input read, 0..=1, when the input's size is known.
        progress: Option<f64>,
    },
    Demo {
        rate: f64,
    },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusView {
    pub source: Option<Source>,
    pub frozen: bool,
    /// Spans accepted since the view was frozen.
    pub arrived_while_frozen: u64,
    pub spans_per_sec: f64,
    pub traces_per_sec: f64,
    pub spans_held: u64,
    pub max_spans: u64,
    pub bytes_held: u64,
    pub max_bytes: u64,
    pub evicted: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub bad_requests: u64,
    /// Event time (unix seconds) of the newest data: the screen's clock.
    pub clock: Option<u64>,
    /// `--record`: the recording's state.
    pub record: Option<crate::ingest::record::RecordState>,
    /// `--forward`: the forwarding queues' state.
    pub forward: Option<crate::forward::ForwardState>,
    /// Diagnostic lines written while the screen is open (a ClickHouse source's query error, a
    /// receiver that stopped, a recording error): how many, and the latest.
    pub notices: Option<(u64, String)>,
    /// `--baseline`: the files given.
    pub baseline: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct VolumeView {
    pub window: String,
    pub window_secs: u64,
    /// (name, points) with x = seconds before the clock (negative) and y = traces/s.
    pub lines: Vec<(Sym, Vec<(f64, f64)>)>,
    pub errors: Vec<(f64, f64)>,
    pub max_rate: f64,
    pub traces: u64,
    pub error_traces: u64,
    /// Spend, tokens and errors over the window (the title's and the status bar's headline).
    pub headline: crate::view::series::Headline,
    /// Spend of each split line, USD, in the order of `lines` (empty when not split).
    pub line_spend: Vec<f64>,
    /// Traces per second of event time at the chart's right edge (the status bar sets it
    /// beside the wall-clock rate where the two can differ).
    pub event_rate: Option<f64>,
}

impl VolumeView {
    /// Spend over the window and per hour at the window's pace, USD.
    pub fn spend(&self) -> (f64, f64) {
        let usd = self.headline.spend_usd();
        (usd, usd * 3600.0 / self.window_secs.max(1) as f64)
    }

    pub fn tokens_per_min(&self) -> f64 {
        self.headline.tokens as f64 * 60.0 / self.window_secs.max(1) as f64
    }

    /// Share of the window's traces with an error, percent; `None` without traces.
    pub fn error_pct(&self) -> Option<f64> {
        let h = &self.headline;
        (h.traces > 0).then(|| h.trace_errors as f64 * 100.0 / h.traces as f64)
    }

    /// `$1.84 · $22/h`.
    pub fn spend_text(&self) -> String {
        let (usd, per_hour) = self.spend();
        format!("{} · {}/h", fmt_spend(usd), fmt_spend(per_hour))
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyRow {
    pub cohort: Sym,
    pub calls: u64,
    pub errors: u64,
    /// p50, p95, p99 of call duration (µs).
    pub latency: Option<[u64; 3]>,
    pub ttft: Option<[u64; 3]>,
    /// p99 in the window before (or over the baseline), for the change column.
    pub prev_p99: Option<u64>,
    /// Calls in the window before (or in the baseline): the change needs
    /// [`crate::view::stats::MIN_SAMPLES`] on both sides.
    pub prev_calls: u64,
    /// p50, p95, p99 of the cohort over the whole baseline, when compared against it.
    pub base: Option<[u64; 3]>,
    pub spark: Vec<Option<u64>>,
    /// Per trace of the cohort in the window: model calls, tool spans, repeated tool spans.
    pub per_trace: Option<[f64; 3]>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyView {
    pub dim: &'static str,
    /// With `--baseline`: what the change column compares against (`baseline`, `prev 5m`).
    pub vs: Option<String>,
    pub rows: Vec<LatencyRow>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutlierView {
    pub dim: &'static str,
    pub rows: Vec<Outlier>,
    /// What the window held to judge (said when no row is listed).
    pub counts: OutlierCounts,
    /// Compared against a baseline: per row, its cohort's median trace cost over the whole
    /// baseline, USD (`None` inside: the baseline lacks the cohort).
    pub base: Option<Vec<Option<f64>>>,
}

/// One row of the evals pane: an evaluator over all cohorts, or in one cohort.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalRow {
    pub evaluator: Sym,
    /// `None` for the evaluator's row over every cohort ("all").
    pub cohort: Option<Sym>,
    pub evaluator_id: u16,
    pub cohort_id: Option<u16>,
    pub stats: EvalStats,
    /// The same over the window before (or over the baseline).
    pub prev: EvalStats,
    /// Fail rate per point across the window (filled for the visible rows only).
    pub spark: Vec<Option<f64>>,
}

impl EvalRow {
    /// Change of the fail rate against the window before (0.10 = 10 points worse); `None`
    /// unless both sides have [`stats::MIN_SAMPLES`] judged verdicts.
    pub fn change(&self) -> Option<f64> {
        let judged = |s: &EvalStats| s.passed + s.failed;
        if !stats::enough(judged(&self.stats), judged(&self.prev)) {
            return None;
        }
        Some(self.stats.fail_rate()? - self.prev.fail_rate()?)
    }

    /// The two-proportion z of the fail rate against the window before (positive: worse).
    pub fn change_z(&self) -> Option<f64> {
        let (a, b) = (&self.stats, &self.prev);
        stats::two_proportion_z(a.failed, a.passed + a.failed, b.failed, b.passed + b.failed)
    }

    /// Whether the fail rate changed by more than chance ([`stats::SIGNIFICANT_Z`]).
    pub fn significant(&self) -> bool {
        self.change_z().is_some_and(|z| z.abs() >= stats::SIGNIFICANT_Z)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalsView {
    pub dim: &'static str,
    /// With `--baseline`: what the change column compares against (`baseline`, `prev 5m`).
    pub vs: Option<String>,
    pub sort: EvalSort,
    pub coverage: CoverageStats,
    /// The visible rows, from `offset`.
    pub rows: Vec<EvalRow>,
    pub offset: usize,
    pub cursor: usize,
    /// Rows in all.
    pub total: usize,
}

/// One alert on the screen: a (rule, cohort) that has fired.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertLine {
    pub firing: bool,
    pub rule: String,
    /// `route=/x`, empty for a rule without `group_by`.
    pub cohort: String,
    /// `value=0.55 < 0.75` (the latest while firing).
    pub comparison: String,
    pub since: u64,
    pub resolved_at: Option<u64>,
    pub owner: Option<String>,
    pub next_action: Option<String>,
    pub examples: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertsView {
    pub rules: usize,
    pub firing: usize,
    /// Firing first, then resolved; from `offset`.
    pub lines: Vec<AlertLine>,
    pub offset: usize,
    pub cursor: usize,
    pub total: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TracesView {
    pub rows: Vec<TraceRow>,
    pub offset: usize,
    pub cursor: usize,
    pub filtered: usize,
    pub total: usize,
    pub sort: SortKey,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct View {
    pub status: StatusView,
    /// With alert rules.
    pub alerts: Option<AlertsView>,
    pub volume: VolumeView,
    pub latency: LatencyView,
    pub outliers: OutlierView,
    pub evals: EvalsView,
    pub traces: TracesView,
}

/// Sizes the panes have this frame, which bound how much the view holds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Budget {
    pub chart_points: usize,
    pub spark_points: usize,
    pub trace_rows: usize,
    pub outlier_rows: usize,
    pub eval_rows: usize,
    pub eval_spark_points: usize,
}

pub fn status(
    prev: &StatusSample,
    now: &StatusSample,
    source: Option<Source>,
    frozen_at: Option<u64>,
    clock: Option<u64>,
) -> StatusView {
    let secs = now.at.duration_since(prev.at).as_secs_f64();
    let rate = |a: u64, b: u64| {
        if secs > 0.0 {
            b.saturating_sub(a) as f64 / secs
        } else {
            0.0
        }
    };
    StatusView {
        source,
        frozen: frozen_at.is_some(),
        arrived_while_frozen: frozen_at.map_or(0, |at| now.spans_accepted.saturating_sub(at)),
        spans_per_sec: rate(prev.spans_accepted, now.spans_accepted),
        traces_per_sec: rate(prev.traces_seen, now.traces_seen),
        spans_held: now.spans_held,
        max_spans: now.max_spans,
        bytes_held: now.bytes_held,
        max_bytes: now.max_bytes,
        evicted: now.spans_evicted,
        dropped: now.dropped,
        rejected: now.rejected,
        bad_requests: now.bad_requests,
        clock,
        record: now.record,
        forward: now.forward,
        notices: crate::log::while_on_screen(),
        baseline: Vec::new(),
    }
}

pub fn volume(index: &TraceIndex, window: Window, split: Option<usize>, points: usize) -> VolumeView {
    let series = index.series();
    let now = series.newest();
    let res = series.total.resolution(window, crate::view::series::Detail::Fine);
    // Seconds each point covers. The newest slot is still filling: only the part of it up to
    // the newest second counts, so steady traffic draws level up to "now" instead of dipping.
    let slots = window.secs.div_ceil(res).max(1) as usize;
    let elapsed = now % res + 1;
    let spans: Vec<f64> = crate::view::series::groups(slots, points)
        .map(|r| {
            let full = r.len() as u64 * res;
            let cut = if r.end == slots { res - elapsed } else { 0 };
            full.saturating_sub(cut).max(1) as f64
        })
        .collect();
    let to_points = |vol: &[(u64, u64)], errors: bool| -> Vec<(f64, f64)> {
        let n = vol.len().max(1);
        vol.iter()
            .enumerate()
            .map(|(i, (t, e))| {
                let x = -(window.secs as f64) + (i as f64 + 1.0) * window.secs as f64 / n as f64;
                let per = spans.get(i).copied().unwrap_or(res as f64);
                (x, (if errors { *e } else { *t }) as f64 / per)
            })
            .collect()
    };
    let total = Reader::volume(&series.total, window, now, points);
    let event_rate = to_points(&total, false).last().map(|p| p.1);
    let mut view = VolumeView {
        event_rate,
        window: window.label(),
        window_secs: window.secs,
        traces: total.iter().map(|v| v.0).sum(),
        error_traces: total.iter().map(|v| v.1).sum(),
        errors: to_points(&total, true),
        headline: Reader::headline(&series.total, window, now),
        ..VolumeView::default()
    };
    match split {
        None => view.lines.push((Sym::from("traces"), to_points(&total, false))),
        Some(d) => {
            let dim = series.dim(d);
            // (traces, name, points, spend in USD)
            type Line = (u64, Sym, Vec<(u64, u64)>, f64);
            let mut per: Vec<Line> = (0..dim.len() as u16)
                .map(|id| {
                    let v = Reader::volume(dim.series(id), window, now, points);
                    let spend = Reader::headline(dim.series(id), window, now).spend_usd();
                    (v.iter().map(|x| x.0).sum(), dim.name(id).clone(), v, spend)
                })
                .filter(|(n, _, _, _)| *n > 0)
                .collect();
            per.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            per.truncate(6);
            view.line_spend = per.iter().map(|l| l.3).collect();
            view.lines = per
                .into_iter()
                .map(|(_, name, v, _)| (name, to_points(&v, false)))
                .collect();
        }
    }
    view.max_rate = view
        .lines
        .iter()
        .flat_map(|(_, p)| p.iter())
        .chain(view.errors.iter())
        .map(|p| p.1)
        .fold(0.0, f64::max);
    view
}

pub fn latency(
    index: &TraceIndex,
    reader: &mut Reader,
    window: Window,
    dim: usize,
    spark: usize,
) -> LatencyView {
    let series = index.series();
    let now = series.newest();
    let d = series.dim(dim);
    let mut rows: Vec<LatencyRow> = (0..d.len() as u16)
        .filter_map(|id| {
            let s = d.series(id);
            let cur = reader.latency(s, window, now, false);
            if cur.calls == 0 {
                return None;
            }
            let prev = reader.latency(s, window, now, true);
            Some(LatencyRow {
                cohort: d.name(id).clone(),
                calls: cur.calls,
                errors: cur.call_errors,
                latency: cur.latency,
                ttft: cur.ttft,
                prev_p99: prev.latency.map(|l| l[2]),
                prev_calls: prev.calls,
                base: None,
                spark: reader.p99_spark(s, window, now, spark),
                per_trace: (cur.traces > 0).then(|| cur.shape.map(|n| n as f64 / cur.traces as f64)),
            })
        })
        .collect();
    rows.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.cohort.cmp(&b.cohort)));
    LatencyView {
        dim: DIMS[dim].as_str(),
        vs: None,
        rows,
    }
}

/// Every row of the evals pane in display order, without sparklines: per evaluator with
/// verdicts in the window its "all" row, then its cohorts in dimension `dim`; evaluators
/// ordered by their "all" row, cohorts within one by the same key.
pub fn eval_rows(index: &TraceIndex, window: Window, dim: usize, sort: EvalSort) -> Vec<EvalRow> {
    let series = index.series();
    let now = series.newest();
    let stats_of = |list: &[(u16, EvalStats)], id: u16| {
        list.iter()
            .find(|(e, _)| *e == id)
            .map_or(EvalStats::default(), |(_, s)| *s)
    };
    let prev = Reader::evals(&series.total, window, now, true);
    let mut groups: Vec<(EvalRow, Vec<EvalRow>)> = Reader::evals(&series.total, window, now, false)
        .into_iter()
        .map(|(id, stats)| {
            let all = EvalRow {
                evaluator: series.evaluator_name(id).clone(),
                cohort: None,
                evaluator_id: id,
                cohort_id: None,
                stats,
                prev: stats_of(&prev, id),
                spark: Vec::new(),
            };
            (all, Vec::new())
        })
        .collect();
    let d = series.dim(dim);
    for cohort in 0..d.len() as u16 {
        let s = d.series(cohort);
        let now_stats = Reader::evals(s, window, now, false);
        if now_stats.is_empty() {
            continue;
        }
        let prev = Reader::evals(s, window, now, true);
        for (id, stats) in now_stats {
            if let Some((all, rows)) = groups.iter_mut().find(|(all, _)| all.evaluator_id == id) {
                rows.push(EvalRow {
                    cohort: Some(d.name(cohort).clone()),
                    cohort_id: Some(cohort),
                    stats,
                    prev: stats_of(&prev, id),
                    ..all.clone()
                });
            }
        }
    }
    for (_, rows) in &mut groups {
        rows.sort_by(|a, b| eval_order(sort, a, b));
    }
    groups.sort_by(|a, b| eval_order(sort, &a.0, &b.0));
    groups
        .into_iter()
        .flat_map(|(all, rows)| std::iter::once(all).chain(rows))
        .collect()
}

/// The order of two evals rows under `sort`; rows without the figure go last, ties by name.
fn eval_order(sort: EvalSort, a: &EvalRow, b: &EvalRow) -> Ordering {
    fn some_first(a: Option<f64>, b: Option<f64>, cmp: impl Fn(f64, f64) -> Ordering) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => cmp(a, b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    let high_first = |a: Option<f64>, b: Option<f64>| some_first(a, b, |a, b| b.total_cmp(&a));
    let by_key = match sort {
        // Significant rows first (largest rise first), then the steady ones by fail rate.
        EvalSort::Significant => b
            .significant()
            .cmp(&a.significant())
            .then_with(|| {
                let z = |r: &EvalRow| r.significant().then(|| r.change_z()).flatten();
                high_first(z(a), z(b))
            })
            .then_with(|| high_first(a.stats.fail_rate(), b.stats.fail_rate())),
        EvalSort::FailRate => high_first(a.stats.fail_rate(), b.stats.fail_rate()),
        EvalSort::Change => high_first(a.change(), b.change())
            .then_with(|| high_first(a.stats.fail_rate(), b.stats.fail_rate())),
        EvalSort::Count => b.stats.n.cmp(&a.stats.n),
        EvalSort::Mean => some_first(a.stats.mean_score(), b.stats.mean_score(), |a, b| a.total_cmp(&b)),
        // Names only (below).
        EvalSort::Name => Ordering::Equal,
    };
    let more_first = if sort == EvalSort::Name {
        Ordering::Equal
    } else {
        b.stats.n.cmp(&a.stats.n)
    };
    let ci = |a: &str, b: &str| {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    };
    by_key
        .then(more_first)
        .then_with(|| ci(&a.evaluator, &b.evaluator))
        .then_with(|| {
            ci(
                a.cohort.as_deref().unwrap_or(""),
                b.cohort.as_deref().unwrap_or(""),
            )
        })
}

/// The evals pane's view: the coverage of the window, and the rows that fit from the first
/// visible one (moved so the selected one is visible) with their fail-rate sparklines.
/// `(cursor, offset)` are the selected and the first visible row as the screen last had them.
pub fn evals(
    index: &TraceIndex,
    window: Window,
    dim: usize,
    sort: EvalSort,
    (cursor, offset): (usize, usize),
    visible: usize,
    spark_points: usize,
) -> EvalsView {
    let series = index.series();
    let now = series.newest();
    let rows = eval_rows(index, window, dim, sort);
    let total = rows.len();
    let visible = visible.max(1);
    let cursor = cursor.min(total.saturating_sub(1));
    let mut offset = offset.min(cursor);
    if cursor >= offset + visible {
        offset = cursor + 1 - visible;
    }
    let d = series.dim(dim);
    let rows = rows
        .into_iter()
        .skip(offset)
        .take(visible)
        .map(|mut r| {
            let s = match r.cohort_id {
                Some(c) => d.series(c),
                None => &series.total,
            };
            r.spark = Reader::fail_spark(s, window, now, r.evaluator_id, spark_points);
            r
        })
        .collect();
    EvalsView {
        dim: DIMS[dim].as_str(),
        vs: None,
        sort,
        coverage: index.coverage(window, now),
        rows,
        offset,
        cursor,
        total,
    }
}

/// The alerts strip: `rows` alerts around the selected one, firing first.
pub fn alerts(engine: &crate::alert::Engine, cursor: usize, rows: usize) -> AlertsView {
    let all = engine.alerts();
    let total = all.len();
    let cursor = cursor.min(total.saturating_sub(1));
    let rows = rows.max(1);
    let offset = cursor.saturating_sub(rows - 1);
    let lines = all
        .iter()
        .skip(offset)
        .take(rows)
        .map(|a| {
            let rule = &engine.rules()[a.rule];
            AlertLine {
                firing: a.firing,
                rule: rule.name.clone(),
                cohort: crate::alert::cohort_label(rule, a),
                comparison: crate::alert::comparison(rule, &a.readings),
                since: a.since,
                resolved_at: a.resolved_at.filter(|_| !a.firing),
                owner: rule.owner.clone(),
                next_action: rule.next_action.clone(),
                examples: a.examples.len(),
            }
        })
        .collect();
    AlertsView {
        rules: engine.rules().len(),
        firing: all.iter().filter(|a| a.firing).count(),
        lines,
        offset,
        cursor,
        total,
    }
}

/// What the change columns compare against: the baseline (`Some`) or the window before.
/// Turns the latency and evals panes' references into the baseline's value of each row's
/// cohort over the whole baseline; a cohort the baseline lacks gets none (`new`). Lookups
/// only: the baseline's rows were computed once.
pub fn against(view: &mut View, base: Option<&BaselineRows>, dim: usize, cost_dim: usize, window: Window) {
    let Some(base) = base else {
        view.latency.vs = Some(format!("prev {}", window.label()));
        view.evals.vs = view.latency.vs.clone();
        return;
    };
    view.outliers.base = Some(
        view.outliers
            .rows
            .iter()
            .map(|o| base.cohort(cost_dim, &o.cohort).and_then(|c| c.median_cost()))
            .collect(),
    );
    view.latency.vs = Some("baseline".into());
    view.evals.vs = Some("baseline".into());
    for r in &mut view.latency.rows {
        let cohort = base.cohort(dim, &r.cohort);
        r.base = cohort.and_then(|c| c.stats.latency);
        r.prev_p99 = r.base.map(|l| l[2]);
        r.prev_calls = cohort.map_or(0, |c| c.stats.calls);
    }
    for r in &mut view.evals.rows {
        let cohort = match &r.cohort {
            Some(c) => base.cohort(dim, c),
            None => Some(base.all()),
        };
        r.prev = cohort.and_then(|c| c.eval(&r.evaluator)).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TraceId;
    use crate::store::test_support::span;
    use crate::store::{StoreLimits, TraceStore};

    /// One root span a second from second 0 to `last` (trace ids from a counter).
    fn steady(last: u64) -> TraceIndex {
        let mut st = TraceStore::new(StoreLimits {
            max_spans: 10_000,
            max_bytes: 64 << 20,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        for sec in 0..=last {
            let mut s = span(0, 1, None, sec);
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(sec + 1).to_be_bytes());
            s.trace_id = TraceId(id);
            st.insert_spans([s]);
        }
        let mut index = TraceIndex::default();
        index.sync(&mut st);
        index
    }

    #[test]
    fn steady_traffic_draws_level_up_to_now_in_every_window() {
        // The clock stops 15 s into a 30 s slot (15m and 60m windows): that slot holds half a
        // slot's traces and must not be drawn as a full one.
        let index = steady(3_614);
        assert_eq!(index.series().newest() % 30, 14);
        for secs in Window::CHOICES {
            let v = volume(&index, Window { secs }, None, 30);
            let pts = &v.lines[0].1;
            let last = pts.last().map(|p| p.1).unwrap_or(0.0);
            assert!(
                (last - 1.0).abs() < 0.01,
                "{secs}s window: last point {last} in {pts:?}"
            );
            for (x, y) in pts {
                assert!((y - 1.0).abs() < 0.01, "{secs}s window: {y}/s at {x} in {pts:?}");
            }
        }
    }
}
