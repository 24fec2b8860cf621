//! `--baseline` on the screen: the captures are read once through the same pipeline into their
//! own store and folded into their own [`TraceIndex`] (the code the screen uses), then each
//! cohort of every dimension is aggregated over the whole baseline once. The rows never change,
//! so the panes look values up per frame and nothing scans the baseline again.

use crate::report::{self, ReportError, ReportOptions};
use crate::view::index::TraceIndex;
use crate::view::series::{COST_UNITS, DIMS, EvalStats, Reader, WindowStats};
use foldhash::HashMap;

/// One cohort (or all traffic) over the whole baseline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BaseCohort {
    pub stats: WindowStats,
    /// Verdicts per evaluator name.
    pub evals: Vec<(String, EvalStats)>,
}

impl BaseCohort {
    /// The cohort's median trace cost, USD.
    pub fn median_cost(&self) -> Option<f64> {
        self.stats.cost.map(|(m, _)| m as f64 / COST_UNITS)
    }

    pub fn eval(&self, evaluator: &str) -> Option<EvalStats> {
        self.evals.iter().find(|(e, _)| e == evaluator).map(|(_, s)| *s)
    }
}

/// Every cohort of every dimension over the whole baseline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BaselineRows {
    /// The files given to `--baseline`, as given.
    pub files: Vec<String>,
    all: BaseCohort,
    /// Per dimension of [`DIMS`]: cohort name → its aggregate.
    dims: Vec<HashMap<String, BaseCohort>>,
}

impl BaselineRows {
    /// Aggregates every cohort of `index` over the whole time range it holds.
    pub fn from_index(index: &TraceIndex, files: Vec<String>) -> Self {
        let mut reader = Reader::default();
        let mut cohort = |dim: usize, id: Option<u16>| {
            let (stats, evals) = index.whole(&mut reader, dim, id);
            let series = index.series();
            BaseCohort {
                stats,
                evals: evals
                    .into_iter()
                    .map(|(e, s)| (series.evaluator_name(e).to_string(), s))
                    .collect(),
            }
        };
        let all = cohort(0, None);
        let dims = (0..DIMS.len())
            .map(|d| {
                let dim = index.series().dim(d);
                (0..dim.len() as u16)
                    .map(|id| (dim.name(id).to_string(), cohort(d, Some(id))))
                    .collect()
            })
            .collect();
        Self { files, all, dims }
    }

    /// Reads `opts.files` at full speed through the pipeline into a store of their own and
    /// aggregates them. A capture with malformed lines or no spans is refused, as the alert
    /// rules' baseline refuses it. Traces the store evicts (a baseline larger than
    /// `--max-spans`) are not counted; the index reaches back two hours from the newest span.
    pub fn load(opts: &ReportOptions) -> Result<Self, ReportError> {
        let pipeline = report::start_pipeline(opts);
        let input = report::feed_files(opts, &pipeline, None);
        pipeline.drain_external();
        pipeline.flush();
        let mut index = TraceIndex::default();
        loop {
            let mut store = pipeline.store();
            index.sync(&mut store);
            drop(store);
            if !index.rebuilding() {
                break;
            }
        }
        pipeline.shutdown();
        let files: Vec<String> = opts.files.iter().map(|f| crate::source::input_name(f)).collect();
        let refuse = |why: &str| ReportError::Read {
            path: files.join(" "),
            source: std::io::Error::other(why.to_string()),
        };
        if input?.malformed_lines > 0 {
            return Err(refuse("malformed lines in the baseline; it cannot be trusted"));
        }
        if index.total() == 0 {
            return Err(refuse("the baseline holds no traces"));
        }
        Ok(Self::from_index(&index, files))
    }

    /// A cohort of dimension `dim` by name; `None` when the baseline never had it.
    pub fn cohort(&self, dim: usize, name: &str) -> Option<&BaseCohort> {
        self.dims.get(dim)?.get(name)
    }

    /// All of the baseline's traffic (the evals pane's "all" rows).
    pub fn all(&self) -> &BaseCohort {
        &self.all
    }
}
