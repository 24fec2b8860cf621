//! `--baseline FILE...`: a capture of known-good traffic, read once at start through the same
//! pipeline, giving each rule condition that compares against it (`compare = "baseline"` or
//! `"baseline_diff"`) the metric's value per cohort over the whole capture. The engine then
//! judges a window's value against that cohort's baseline value instead of a fixed number.
//!
//! The samples are the engine's own ([`super::sample::samples`]): the same cohorts, filters
//! and placement, so a capture judged against itself reads a ratio of 1.

use super::check::EVERY;
use super::rules::{Metric, RuleSet};
use super::sample::{self, RawSample};
pub use super::state::Baseline;
use super::state::Reading;
use crate::ingest::handoff::Pipeline;
use crate::model::TraceId;
use crate::report::{self, ReportError, ReportOptions};
use crate::store::Trace;
use crate::store::follow::{Follower, Watch};
use crate::summary::Summary;
use crate::view::hist::{Merged, SparseHist};
use foldhash::HashMap;

/// Cohort values kept per rule; later ones share "(other)".
const MAX_COHORTS: usize = 4096;

impl Baseline {
    /// Reads `opts.files` at full speed through the pipeline and measures every compared
    /// condition of `rules` over all of it. A capture with malformed lines or nothing in it
    /// is refused: a baseline nobody can trust would judge everything.
    pub fn compute(opts: &ReportOptions, rules: &RuleSet) -> Result<Self, ReportError> {
        let pipeline = report::start_pipeline(opts);
        let mut collector = Collector::new(rules);
        let mut watch = Watch::default();
        let feeder = {
            let (pipeline, opts) = (pipeline.clone(), opts.clone());
            std::thread::Builder::new()
                .name("llmwatch-baseline-feed".into())
                .spawn(move || report::feed_files(&opts, &pipeline, None))
                .map_err(|e| ReportError::Read {
                    path: "baseline".into(),
                    source: e,
                })?
        };
        while !feeder.is_finished() {
            std::thread::sleep(EVERY);
            follow(&pipeline, &mut watch, &mut collector);
        }
        let input = feeder.join().map_err(|_| ReportError::Read {
            path: "baseline".into(),
            source: std::io::Error::other("the baseline thread panicked"),
        })??;
        pipeline.drain_external();
        pipeline.flush();
        follow(&pipeline, &mut watch, &mut collector);
        pipeline.shutdown();
        let summary = Summary::collect(&pipeline);
        let files: Vec<String> = opts.files.iter().map(|f| crate::source::input_name(f)).collect();
        let refuse = |why: String| ReportError::Read {
            path: files.join(" "),
            source: std::io::Error::other(why),
        };
        if input.malformed_lines > 0 {
            return Err(refuse(format!(
                "{} malformed lines in the baseline; it cannot be trusted",
                input.malformed_lines
            )));
        }
        if summary.spans.accepted == 0 {
            return Err(refuse("the baseline holds no spans".into()));
        }
        Ok(Self {
            values: collector.finish(),
            files,
            spans: summary.spans.accepted,
            traces: summary.traces,
        })
    }
}

fn follow(pipeline: &Pipeline, watch: &mut Watch, collector: &mut Collector) {
    loop {
        let mut store = pipeline.store();
        watch.sync(&mut store, collector);
        drop(store);
        if !watch.rebuilding() {
            break;
        }
    }
}

#[derive(Debug, Default)]
struct Acc {
    n: u64,
    sum: f64,
    hist: SparseHist,
}

/// One trace's contribution, kept to be taken out when the trace changes.
type Contribution = (u16, u8, u32, f64);

/// Follows the baseline's store like the engine does, with one window as long as the capture.
struct Collector {
    rules: RuleSet,
    /// Per rule: which conditions compare against the baseline.
    compared: Vec<Vec<bool>>,
    ids: Vec<HashMap<String, u32>>,
    names: Vec<Vec<String>>,
    acc: HashMap<(u16, u8, u32), Acc>,
    contributions: HashMap<TraceId, Vec<Contribution>>,
    /// Per rule, the first and last second sampled (rates per second).
    span: Vec<Option<(u64, u64)>>,
}

impl Collector {
    fn new(rules: &RuleSet) -> Self {
        let n = rules.rules.len();
        Self {
            compared: rules
                .rules
                .iter()
                .map(|r| r.conditions.iter().map(|c| c.compare.uses_baseline()).collect())
                .collect(),
            rules: rules.clone(),
            ids: vec![HashMap::default(); n],
            names: vec![Vec::new(); n],
            acc: HashMap::default(),
            contributions: HashMap::default(),
            span: vec![None; n],
        }
    }

    fn cohort(&mut self, r: usize, value: Option<&str>) -> u32 {
        let value = value.unwrap_or("");
        if let Some(id) = self.ids[r].get(value) {
            return *id;
        }
        let name = if self.names[r].len() + 1 >= MAX_COHORTS {
            "(other)"
        } else {
            value
        };
        if let Some(id) = self.ids[r].get(name) {
            return *id;
        }
        let id = self.names[r].len() as u32;
        self.names[r].push(name.to_string());
        self.ids[r].insert(name.to_string(), id);
        id
    }

    fn take_out(&mut self, id: &TraceId) {
        for (r, c, cohort, value) in self.contributions.remove(id).unwrap_or_default() {
            if let Some(a) = self.acc.get_mut(&(r, c, cohort)) {
                a.n = a.n.saturating_sub(1);
                a.sum -= value;
                if is_quantile(self.rules.rules[r as usize].conditions[c as usize].metric) {
                    a.hist.remove(value.max(0.0) as u64);
                }
            }
        }
    }

    /// Per (rule, condition), each cohort's value over everything read.
    fn finish(mut self) -> HashMap<(usize, usize), HashMap<String, Reading>> {
        let mut out: HashMap<(usize, usize), HashMap<String, Reading>> = HashMap::default();
        let mut scratch = Merged::default();
        for ((r, c, cohort), a) in std::mem::take(&mut self.acc) {
            let (r, c) = (r as usize, c as usize);
            let metric = self.rules.rules[r].conditions[c].metric;
            let value = match metric {
                Metric::Latency(q) | Metric::Ttft(q) => {
                    scratch.reset();
                    scratch.add(&a.hist);
                    scratch.quantiles([q.q()]).map(|[v]| v as f64 / 1000.0)
                }
                Metric::SpansPerSecond => {
                    let (lo, hi) = self.span[r].unwrap_or((0, 0));
                    Some(a.n as f64 / (hi - lo + 1) as f64)
                }
                _ if a.n > 0 => Some(a.sum / a.n as f64),
                _ => None,
            };
            let name = self.names[r][cohort as usize].clone();
            out.entry((r, c)).or_default().insert(
                name,
                Reading {
                    value,
                    samples: a.n,
                    baseline: None,
                },
            );
        }
        out
    }
}

fn is_quantile(m: Metric) -> bool {
    matches!(m, Metric::Latency(_) | Metric::Ttft(_))
}

impl Follower for Collector {
    fn update(&mut self, trace: &Trace) {
        self.take_out(&trace.id);
        let mut kept = Vec::new();
        let mut samples: Vec<RawSample> = Vec::new();
        for r in 0..self.rules.rules.len() {
            if !self.compared[r].iter().any(|c| *c) {
                continue;
            }
            sample::samples(&self.rules.rules[r], trace, &mut samples);
            for s in samples.drain(..) {
                if !self.compared[r][s.cond] {
                    continue;
                }
                let cohort = self.cohort(r, s.cohort.as_deref());
                let metric = self.rules.rules[r].conditions[s.cond].metric;
                let a = self.acc.entry((r as u16, s.cond as u8, cohort)).or_default();
                a.n += 1;
                a.sum += s.value;
                if is_quantile(metric) {
                    a.hist.add(s.value.max(0.0) as u64);
                }
                let span = self.span[r].get_or_insert((s.second, s.second));
                *span = (span.0.min(s.second), span.1.max(s.second));
                kept.push((r as u16, s.cond as u8, cohort, s.value));
            }
        }
        if !kept.is_empty() {
            self.contributions.insert(trace.id, kept);
        }
    }

    fn forget(&mut self, id: &TraceId) {
        // Evicted from the baseline's store: stays counted.
        self.contributions.remove(id);
    }

    fn restart(&mut self) {
        // The store is read again from scratch: what was counted from traces still held is
        // taken out as they come again; evicted ones stay counted.
    }
}
