//! `llmwatch diff BASELINE... -- CANDIDATE...`: two captures read through the same pipeline as
//! `report`, compared per cohort from per-trace (and per-call) values, each change marked when
//! it is beyond noise; the gate for a prompt or model change in CI.

pub mod compare;
pub mod sample;
pub mod stats;
pub mod table;

use crate::report::{self, ReportError, ReportOptions};
use crate::semconv::cohort::CohortKey;
use compare::{FailOn, Row};
use sample::Side;

/// The cohorts `diff --by` takes.
pub const BY: [CohortKey; 5] = [
    CohortKey::Route,
    CohortKey::Model,
    CohortKey::Tenant,
    CohortKey::PromptVersion,
    CohortKey::Service,
];

pub struct DiffOptions {
    pub baseline: ReportOptions,
    pub candidate: ReportOptions,
    pub by: CohortKey,
    pub fail_on: Option<FailOn>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{side}: {source}")]
    Read { side: &'static str, source: ReportError },
    #[error("{side}: {n} malformed lines in the input; the comparison is not trustworthy")]
    Malformed { side: &'static str, n: u64 },
}

/// One side, read.
pub struct Read {
    pub samples: Side,
    pub traces: u64,
    /// Spans evicted before the end: the side was bigger than the store.
    pub evicted: u64,
}

/// The comparison, sorted, with gate failures marked.
pub struct Outcome {
    pub rows: Vec<Row>,
    pub baseline: Read,
    pub candidate: Read,
    /// Rows beyond a `--fail-on` threshold.
    pub failed: usize,
}

impl Outcome {
    /// Exit 1 when a `--fail-on` threshold is broken by a significant regression.
    pub fn fails(&self) -> bool {
        self.failed > 0
    }
}

/// Reads one side's files and takes the samples of every trace stored.
pub fn read_side(opts: &ReportOptions, by: CohortKey, side: &'static str) -> Result<Read, DiffError> {
    let fail = |source| DiffError::Read { side, source };
    let (pipeline, input) = report::ingest_files(opts).map_err(fail)?;
    if input.malformed_lines > 0 {
        return Err(DiffError::Malformed {
            side,
            n: input.malformed_lines,
        });
    }
    let summary = crate::summary::Summary::collect(&pipeline);
    if summary.spans.accepted == 0 {
        return Err(fail(ReportError::Empty));
    }
    let store = pipeline.store();
    let mut samples = Side::new();
    let mut traces = 0;
    for trace in store.traces_newest_first() {
        traces += u64::from(!trace.spans.is_empty());
        sample::add_trace(&mut samples, by, trace);
    }
    Ok(Read {
        samples,
        traces,
        evicted: summary.spans.evicted,
    })
}

pub fn run(opts: &DiffOptions) -> Result<Outcome, DiffError> {
    // One side after the other: only one store is held at a time.
    let baseline = read_side(&opts.baseline, opts.by, "baseline")?;
    let candidate = read_side(&opts.candidate, opts.by, "candidate")?;
    let mut rows = compare::rows(&baseline.samples, &candidate.samples);
    let failed = opts.fail_on.as_ref().map_or(0, |f| f.judge(&mut rows));
    compare::sort(&mut rows);
    Ok(Outcome {
        rows,
        baseline,
        candidate,
        failed,
    })
}
