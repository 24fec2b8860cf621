//! The rows of a diff: per cohort and metric, both sides' values, the change (in % for values,
//! in points for rates), whether it is beyond noise, and whether it breaks a `--fail-on`
//! threshold.

use super::sample::{CohortSamples, EvalSamples, Side};
use super::stats::{self, MIN_SAMPLES};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    Traces,
    CostPerTrace,
    InputTokensPerCall,
    OutputTokensPerCall,
    LatencyP50,
    LatencyP99,
    TtftP95,
    ErrorRate,
    LlmCallsPerTrace,
    ToolCallsPerTrace,
    RepeatedToolCallsPerTrace,
    FailRate,
    MeanScore,
}

impl Metric {
    pub const ALL: [Metric; 13] = [
        Self::Traces,
        Self::CostPerTrace,
        Self::InputTokensPerCall,
        Self::OutputTokensPerCall,
        Self::LatencyP50,
        Self::LatencyP99,
        Self::TtftP95,
        Self::ErrorRate,
        Self::LlmCallsPerTrace,
        Self::ToolCallsPerTrace,
        Self::RepeatedToolCallsPerTrace,
        Self::FailRate,
        Self::MeanScore,
    ];

    /// The name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::CostPerTrace => "cost_per_trace_usd",
            Self::InputTokensPerCall => "input_tokens_per_call",
            Self::OutputTokensPerCall => "output_tokens_per_call",
            Self::LatencyP50 => "p50_ms",
            Self::LatencyP99 => "p99_ms",
            Self::TtftP95 => "ttft_p95_ms",
            Self::ErrorRate => "error_rate",
            Self::LlmCallsPerTrace => "llm_calls_per_trace",
            Self::ToolCallsPerTrace => "tool_calls_per_trace",
            Self::RepeatedToolCallsPerTrace => "repeated_tool_calls_per_trace",
            Self::FailRate => "fail_rate",
            Self::MeanScore => "mean_score",
        }
    }

    /// The short name `--fail-on` takes (the full name works too).
    pub fn gate_name(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::CostPerTrace => "cost",
            Self::InputTokensPerCall => "tokens_in",
            Self::OutputTokensPerCall => "tokens_out",
            Self::LatencyP50 => "p50",
            Self::LatencyP99 => "p99",
            Self::TtftP95 => "ttft",
            Self::ErrorRate => "error_rate",
            Self::LlmCallsPerTrace => "llm_calls",
            Self::ToolCallsPerTrace => "tool_calls",
            Self::RepeatedToolCallsPerTrace => "repeated_tool_calls",
            Self::FailRate => "fail_rate",
            Self::MeanScore => "score",
        }
    }

    /// Shares, whose change is in points.
    pub fn is_rate(self) -> bool {
        matches!(self, Self::ErrorRate | Self::FailRate)
    }

    /// Which way is worse: up for everything but the mean score; the trace count has no worse.
    pub fn worse_when_up(self) -> Option<bool> {
        match self {
            Self::Traces => None,
            Self::MeanScore => Some(false),
            _ => Some(true),
        }
    }
}

/// A change from baseline to candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Change {
    /// Percent of the baseline value; infinite when the baseline is 0 and the candidate not.
    Percent(f64),
    /// Difference of two shares, in percentage points.
    Points(f64),
}

impl Change {
    pub fn value(self) -> f64 {
        match self {
            Self::Percent(x) | Self::Points(x) => x,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Percent(x) if x.is_infinite() => f.write_str(if x > 0.0 { "+inf%" } else { "-inf%" }),
            Self::Percent(x) => write!(f, "{x:+.1}%"),
            Self::Points(x) => write!(f, "{x:+.1}pp"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub cohort: String,
    pub metric: Metric,
    /// The evaluator of a fail rate or mean score.
    pub evaluator: Option<String>,
    pub baseline: Option<f64>,
    pub candidate: Option<f64>,
    /// Samples each side: traces, calls or verdicts.
    pub samples: (u64, u64),
    pub change: Option<Change>,
    pub p_value: Option<f64>,
    /// Beyond noise: p below 5% with at least [`MIN_SAMPLES`] a side.
    pub significant: bool,
    /// Significant and in the worse direction.
    pub regression: bool,
    /// A regression beyond its `--fail-on` threshold.
    pub fails_gate: bool,
}

impl Row {
    /// The metric as the table shows it: `fail_rate[faithfulness]`.
    pub fn label(&self) -> String {
        match &self.evaluator {
            Some(e) => format!("{}[{e}]", self.metric.name()),
            None => self.metric.name().to_string(),
        }
    }
}

/// The values a metric compares, per trace or per call, and its summary value.
fn values(c: &CohortSamples, m: Metric) -> &[f64] {
    match m {
        Metric::CostPerTrace => &c.cost_per_trace,
        Metric::InputTokensPerCall => &c.input_tokens,
        Metric::OutputTokensPerCall => &c.output_tokens,
        Metric::LatencyP50 | Metric::LatencyP99 => &c.latency_ms,
        Metric::TtftP95 => &c.ttft_ms,
        Metric::LlmCallsPerTrace => &c.llm_calls,
        Metric::ToolCallsPerTrace => &c.tool_calls,
        Metric::RepeatedToolCallsPerTrace => &c.repeated_tool_calls,
        _ => &[],
    }
}

fn summary(values: &[f64], m: Metric) -> Option<f64> {
    let q = match m {
        Metric::LatencyP50 => 0.5,
        Metric::LatencyP99 => 0.99,
        Metric::TtftP95 => 0.95,
        _ => return stats::mean(values),
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    stats::quantile(&sorted, q)
}

fn percent(base: Option<f64>, cand: Option<f64>) -> Option<Change> {
    let (b, c) = (base?, cand?);
    Some(Change::Percent(if b == 0.0 {
        if c == 0.0 { 0.0 } else { f64::INFINITY * c.signum() }
    } else {
        (c - b) / b.abs() * 100.0
    }))
}

fn value_row(cohort: &str, m: Metric, evaluator: Option<&str>, a: &[f64], b: &[f64]) -> Row {
    let (base, cand) = (summary(a, m), summary(b, m));
    let enough = a.len() >= MIN_SAMPLES && b.len() >= MIN_SAMPLES;
    let p = stats::mann_whitney(a, b).map(|r| r.p);
    row(
        cohort,
        m,
        evaluator,
        (base, cand),
        (a.len() as u64, b.len() as u64),
        percent(base, cand),
        p,
        enough,
    )
}

fn rate_row(
    cohort: &str,
    m: Metric,
    evaluator: Option<&str>,
    (x1, n1): (u64, u64),
    (x2, n2): (u64, u64),
) -> Row {
    let share = |x: u64, n: u64| (n > 0).then(|| x as f64 / n as f64);
    let (base, cand) = (share(x1, n1), share(x2, n2));
    let change = base.zip(cand).map(|(b, c)| Change::Points((c - b) * 100.0));
    let enough = n1 as usize >= MIN_SAMPLES && n2 as usize >= MIN_SAMPLES;
    let p = stats::two_proportions(x1, n1, x2, n2).map(|(_, p)| p);
    row(cohort, m, evaluator, (base, cand), (n1, n2), change, p, enough)
}

#[allow(clippy::too_many_arguments)]
fn row(
    cohort: &str,
    metric: Metric,
    evaluator: Option<&str>,
    (baseline, candidate): (Option<f64>, Option<f64>),
    samples: (u64, u64),
    change: Option<Change>,
    p_value: Option<f64>,
    enough: bool,
) -> Row {
    let moved = change.is_some_and(|c| c.value() != 0.0);
    let significant = enough && moved && p_value.is_some_and(|p| p < stats::ALPHA);
    let regression = significant
        && match (metric.worse_when_up(), change) {
            (Some(up), Some(c)) => (c.value() > 0.0) == up,
            _ => false,
        };
    Row {
        cohort: cohort.to_string(),
        metric,
        evaluator: evaluator.map(str::to_string),
        baseline,
        candidate,
        samples,
        change,
        p_value,
        significant,
        regression,
        fails_gate: false,
    }
}

/// Every row of the comparison, cohorts present on either side, unsorted.
pub fn rows(baseline: &Side, candidate: &Side) -> Vec<Row> {
    let empty = CohortSamples::default();
    let mut cohorts: Vec<&String> = baseline.keys().chain(candidate.keys()).collect();
    cohorts.sort();
    cohorts.dedup();
    let mut out = Vec::new();
    for cohort in cohorts {
        let a = baseline.get(cohort).unwrap_or(&empty);
        let b = candidate.get(cohort).unwrap_or(&empty);
        for m in Metric::ALL {
            match m {
                Metric::Traces => {
                    let (x, y) = (a.traces as f64, b.traces as f64);
                    let mut r = row(
                        cohort,
                        m,
                        None,
                        (Some(x), Some(y)),
                        (a.traces, b.traces),
                        None,
                        None,
                        false,
                    );
                    r.change = percent(r.baseline, r.candidate);
                    out.push(r);
                }
                Metric::ErrorRate => {
                    out.push(rate_row(
                        cohort,
                        m,
                        None,
                        (a.error_traces, a.traces),
                        (b.error_traces, b.traces),
                    ));
                }
                Metric::FailRate | Metric::MeanScore => {}
                _ => {
                    let (x, y) = (values(a, m), values(b, m));
                    if !x.is_empty() || !y.is_empty() {
                        out.push(value_row(cohort, m, None, x, y));
                    }
                }
            }
        }
        let mut evaluators: Vec<&String> = a.evals.keys().chain(b.evals.keys()).collect();
        evaluators.sort();
        evaluators.dedup();
        let none = EvalSamples::default();
        for e in evaluators {
            let (x, y) = (a.evals.get(e).unwrap_or(&none), b.evals.get(e).unwrap_or(&none));
            if x.judged + y.judged > 0 {
                out.push(rate_row(
                    cohort,
                    Metric::FailRate,
                    Some(e),
                    (x.failed, x.judged),
                    (y.failed, y.judged),
                ));
            }
            if !x.scores.is_empty() || !y.scores.is_empty() {
                out.push(value_row(
                    cohort,
                    Metric::MeanScore,
                    Some(e),
                    &x.scores,
                    &y.scores,
                ));
            }
        }
    }
    out
}

/// Significant rows first, largest change first (a change from nothing first of all); the rest
/// by cohort and metric.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by(|x, y| {
        let size = |r: &Row| r.change.map_or(0.0, |c| c.value().abs());
        y.significant
            .cmp(&x.significant)
            .then_with(|| {
                if x.significant {
                    size(y).total_cmp(&size(x))
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| x.cohort.cmp(&y.cohort))
            .then_with(|| x.metric.cmp(&y.metric))
            .then_with(|| x.evaluator.cmp(&y.evaluator))
    });
}

/// A `--fail-on` threshold: a change in % for values, in points for rates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    pub metric: Metric,
    pub limit: Change,
}

/// `--fail-on cost=20%,p99=25%,fail_rate=5pp`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailOn(pub Vec<Threshold>);

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FailOnError {
    #[error("--fail-on: {0:?} is not NAME=LIMIT (cost=20%, fail_rate=5pp)")]
    Shape(String),
    #[error("--fail-on: unknown metric {0:?} (one of {names})", names = gate_names())]
    Metric(String),
    #[error("--fail-on: {metric} takes a limit in {unit} ({example}), not {given:?}")]
    Unit {
        metric: String,
        unit: &'static str,
        example: &'static str,
        given: String,
    },
}

fn gate_names() -> String {
    let names: Vec<&str> = Metric::ALL
        .iter()
        .filter(|m| m.worse_when_up().is_some())
        .map(|m| m.gate_name())
        .collect();
    names.join(", ")
}

impl std::str::FromStr for FailOn {
    type Err = FailOnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, limit) = part
                .split_once('=')
                .ok_or_else(|| FailOnError::Shape(part.to_string()))?;
            let name = name.trim().to_ascii_lowercase().replace('-', "_");
            let metric = Metric::ALL
                .into_iter()
                .filter(|m| m.worse_when_up().is_some())
                .find(|m| m.gate_name() == name || m.name() == name)
                .ok_or_else(|| FailOnError::Metric(name.clone()))?;
            let limit = limit.trim();
            let (unit, example, number) = if metric.is_rate() {
                ("points", "5pp", limit.strip_suffix("pp"))
            } else {
                ("percent", "20%", limit.strip_suffix('%'))
            };
            let bad = || FailOnError::Unit {
                metric: name.clone(),
                unit,
                example,
                given: limit.to_string(),
            };
            let x: f64 = number.ok_or_else(bad)?.trim().parse().map_err(|_| bad())?;
            if !x.is_finite() || x < 0.0 {
                return Err(bad());
            }
            let limit = if metric.is_rate() {
                Change::Points(x)
            } else {
                Change::Percent(x)
            };
            out.push(Threshold { metric, limit });
        }
        if out.is_empty() {
            return Err(FailOnError::Shape(s.to_string()));
        }
        Ok(FailOn(out))
    }
}

impl FailOn {
    /// Marks the regressions beyond their threshold; how many there are.
    pub fn judge(&self, rows: &mut [Row]) -> usize {
        let mut n = 0;
        for r in rows.iter_mut().filter(|r| r.regression) {
            let Some(change) = r.change else { continue };
            r.fails_gate = self
                .0
                .iter()
                .any(|t| t.metric == r.metric && change.value().abs() > t.limit.value());
            n += usize::from(r.fails_gate);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_parses_percent_and_points_and_says_what_is_wrong() {
        let f: FailOn = "cost=20%, p99=25% ,fail_rate=5pp,score=10%".parse().unwrap();
        assert_eq!(
            f.0,
            vec![
                Threshold {
                    metric: Metric::CostPerTrace,
                    limit: Change::Percent(20.0)
                },
                Threshold {
                    metric: Metric::LatencyP99,
                    limit: Change::Percent(25.0)
                },
                Threshold {
                    metric: Metric::FailRate,
                    limit: Change::Points(5.0)
                },
                Threshold {
                    metric: Metric::MeanScore,
                    limit: Change::Percent(10.0)
                },
            ]
        );
        let full: FailOn = "repeated_tool_calls_per_trace=0%".parse().unwrap();
        assert_eq!(full.0[0].metric, Metric::RepeatedToolCallsPerTrace);
        let err = |s: &str| s.parse::<FailOn>().unwrap_err().to_string();
        assert_eq!(
            err("cost"),
            r#"--fail-on: "cost" is not NAME=LIMIT (cost=20%, fail_rate=5pp)"#
        );
        assert!(
            err("colour=5%").starts_with(r#"--fail-on: unknown metric "colour" (one of cost, tokens_in"#)
        );
        assert_eq!(
            err("fail_rate=5%"),
            r#"--fail-on: fail_rate takes a limit in points (5pp), not "5%""#
        );
        assert_eq!(
            err("cost=5pp"),
            r#"--fail-on: cost takes a limit in percent (20%), not "5pp""#
        );
        assert!(err("cost=-5%").contains("percent"));
        assert!(err("").contains("NAME=LIMIT"));
        assert!(err("traces=5%").contains("unknown metric"));
    }

    fn side(cohort: &str, f: impl FnOnce(&mut CohortSamples)) -> Side {
        let mut c = CohortSamples::default();
        f(&mut c);
        [(cohort.to_string(), c)].into_iter().collect()
    }

    #[test]
    fn a_shift_with_enough_samples_is_marked_and_judged_against_the_gate() {
        let base = side("/a", |c| {
            c.traces = 40;
            c.cost_per_trace = (0..40).map(|i| 0.010 + f64::from(i % 5) * 0.001).collect();
            c.llm_calls = vec![1.0; 40];
        });
        let cand = side("/a", |c| {
            c.traces = 40;
            c.error_traces = 14;
            c.cost_per_trace = (0..40).map(|i| 0.013 + f64::from(i % 5) * 0.001).collect();
            c.llm_calls = vec![1.0; 40];
        });
        let mut rows = rows(&base, &cand);
        sort(&mut rows);
        let marked: Vec<(String, String)> = rows
            .iter()
            .filter(|r| r.significant)
            .map(|r| (r.label(), r.change.unwrap().to_string()))
            .collect();
        assert_eq!(
            marked,
            [
                ("error_rate".into(), "+35.0pp".into()),
                ("cost_per_trace_usd".into(), "+25.0%".into())
            ]
        );
        assert!(rows.iter().filter(|r| r.significant).all(|r| r.regression));
        let gate: FailOn = "cost=30%,error_rate=20pp".parse().unwrap();
        assert_eq!(
            gate.judge(&mut rows),
            1,
            "cost moved 25% < 30%, errors 35pp > 20pp"
        );
        assert!(rows.iter().any(|r| r.fails_gate && r.metric == Metric::ErrorRate));
    }

    #[test]
    fn too_few_samples_or_lower_scores_read_as_they_should() {
        let base = side("/a", |c| c.cost_per_trace = vec![1.0; 10]);
        let cand = side("/a", |c| c.cost_per_trace = vec![2.0; 10]);
        let rows = rows(&base, &cand);
        let cost = rows.iter().find(|r| r.metric == Metric::CostPerTrace).unwrap();
        assert_eq!(cost.change, Some(Change::Percent(100.0)));
        assert!(
            cost.p_value.unwrap() < 0.05 && !cost.significant,
            "10 a side is too few"
        );

        let scores = |x: f64| {
            side("/a", move |c| {
                c.evals.insert(
                    "helpful".into(),
                    EvalSamples {
                        judged: 0,
                        failed: 0,
                        scores: (0..30).map(|i| x + f64::from(i % 3) * 0.01).collect(),
                    },
                );
            })
        };
        let rows = super::rows(&scores(0.9), &scores(0.6));
        let score = rows.iter().find(|r| r.metric == Metric::MeanScore).unwrap();
        assert_eq!(score.label(), "mean_score[helpful]");
        assert!(score.significant && score.regression, "a lower score is worse");
        let rows = super::rows(&scores(0.6), &scores(0.9));
        assert!(rows.iter().all(|r| !r.regression));
    }

    #[test]
    fn a_change_from_nothing_is_infinite_and_sorts_first() {
        assert_eq!(
            percent(Some(0.0), Some(2.0)),
            Some(Change::Percent(f64::INFINITY))
        );
        assert_eq!(percent(Some(0.0), Some(0.0)), Some(Change::Percent(0.0)));
        assert_eq!(Change::Percent(f64::INFINITY).to_string(), "+inf%");
        assert_eq!(Change::Points(-3.25).to_string(), "-3.2pp");
    }
}
