//! Alert rules: the TOML file users write by hand, parsed and checked up front so that a typo
//! is a one-line error naming the rule and the field, never a rule that silently never fires.
//!
//! ```toml
//! [[rule]]
//! name = "groundedness-drop"
//! metric = "eval_mean_score"
//! evaluator = "Groundedness"
//! group_by = "route"
//! where = { model = "gpt-4o" }
//! window = "5m"
//! op = "<"
//! threshold = 0.75
//! min_samples = 20
//! owner = "search-team"
//! next_action = "roll back the retriever index"
//! exec = ["./page.sh"]            # or a shell command line as one string
//!
//! # Conditions that must all hold for the same cohort in the same window:
//! [[rule]]
//! name = "ungrounded-and-slow-retrieval"
//! group_by = "route"
//! window = "5m"
//! [[rule.all]]
//! metric = "eval_fail_rate"
//! evaluator = "Groundedness"
//! op = ">"
//! threshold = 0.3
//! [[rule.all]]
//! metric = "latency_p99_ms"
//! span_kind = "retrieval"
//! op = ">"
//! threshold = 800
//! ```

use crate::semconv::Kind;
use crate::semconv::cohort::CohortKey;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Longest window a rule may use.
pub const MAX_WINDOW_SECS: u64 = 24 * 3600;
/// Rules per file.
pub const MAX_RULES: usize = 256;

/// What a condition measures over its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Span duration quantile (0.50, 0.95, 0.99), in ms.
    Latency(Quantile),
    /// Time to first token quantile of model calls, in ms.
    Ttft(Quantile),
    /// Share of spans (with `span_kind`) or traces (without) that failed.
    ErrorRate,
    /// Mean cost of the priced traces, in USD.
    CostPerTrace,
    /// Mean tokens (input + output) per trace.
    TokensPerTrace,
    /// Share of an evaluator's verdicts that failed (verdicts with no pass/fail are not counted).
    EvalFailRate,
    /// Mean score of an evaluator's verdicts.
    EvalMeanScore,
    /// Spans per second of event time.
    SpansPerSecond,
    /// Spans and logs refused because ingest was full, over the window.
    Dropped,
    /// Share of model calls with a parent, a model, a prompt version and a route.
    Coverage,
    /// Mean model calls per trace.
    LlmCallsPerTrace,
    /// Mean tool spans per trace.
    ToolCallsPerTrace,
    /// Mean, per trace, of tool spans repeating an earlier tool span of the trace (same tool,
    /// and the same arguments when both recorded them): retries and loops.
    RepeatedToolCallsPerTrace,
    /// Mean spans per trace.
    SpansPerTrace,
    /// Mean input tokens of the model calls that report usage.
    InputTokensPerCall,
    /// Mean output tokens of the model calls that report usage.
    OutputTokensPerCall,
    /// Mean cost of the priced model calls, in USD.
    CostPerCall,
    /// Share of human verdicts (reviews, user feedback) that failed.
    HumanFailRate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantile {
    P50,
    P95,
    P99,
}

impl Quantile {
    pub fn q(self) -> f64 {
        match self {
            Self::P50 => 0.50,
            Self::P95 => 0.95,
            Self::P99 => 0.99,
        }
    }
}

/// Every metric by its name, as docs/alerts.md lists them.
const METRIC_NAMES: [(&str, Metric); 22] = [
    ("latency_p50_ms", Metric::Latency(Quantile::P50)),
    ("latency_p95_ms", Metric::Latency(Quantile::P95)),
    ("latency_p99_ms", Metric::Latency(Quantile::P99)),
    ("ttft_p50_ms", Metric::Ttft(Quantile::P50)),
    ("ttft_p95_ms", Metric::Ttft(Quantile::P95)),
    ("ttft_p99_ms", Metric::Ttft(Quantile::P99)),
    ("error_rate", Metric::ErrorRate),
    ("cost_per_trace_usd", Metric::CostPerTrace),
    ("tokens_per_trace", Metric::TokensPerTrace),
    ("eval_fail_rate", Metric::EvalFailRate),
    ("eval_mean_score", Metric::EvalMeanScore),
    ("spans_per_s", Metric::SpansPerSecond),
    ("dropped", Metric::Dropped),
    ("coverage", Metric::Coverage),
    ("llm_calls_per_trace", Metric::LlmCallsPerTrace),
    ("tool_calls_per_trace", Metric::ToolCallsPerTrace),
    ("repeated_tool_calls_per_trace", Metric::RepeatedToolCallsPerTrace),
    ("spans_per_trace", Metric::SpansPerTrace),
    ("input_tokens_per_call", Metric::InputTokensPerCall),
    ("output_tokens_per_call", Metric::OutputTokensPerCall),
    ("cost_per_call_usd", Metric::CostPerCall),
    ("human_fail_rate", Metric::HumanFailRate),
];

/// Spellings people reach for.
const METRIC_ALIASES: [(&str, Metric); 3] = [
    ("cost_per_trace", Metric::CostPerTrace),
    ("spans_per_second", Metric::SpansPerSecond),
    ("cost_per_call", Metric::CostPerCall),
];

impl Metric {
    pub fn name(self) -> &'static str {
        METRIC_NAMES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("?", |(n, _)| n)
    }

    fn parse(s: &str) -> Result<Self, String> {
        let key = s.trim().to_ascii_lowercase();
        METRIC_NAMES
            .iter()
            .chain(&METRIC_ALIASES)
            .find(|(n, _)| *n == key)
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                let names: Vec<&str> = METRIC_NAMES.iter().map(|(n, _)| *n).collect();
                format!("unknown metric {s:?} (one of {})", names.join(", "))
            })
    }

    /// A share in 0..=1.
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            Self::ErrorRate | Self::EvalFailRate | Self::Coverage | Self::HumanFailRate
        )
    }

    pub fn is_eval(self) -> bool {
        matches!(self, Self::EvalFailRate | Self::EvalMeanScore)
    }

    /// Measured per trace rather than per span.
    pub fn per_trace(self, kind: &Option<SpanSel>) -> bool {
        self.trace_shape()
            || matches!(self, Self::CostPerTrace | Self::TokensPerTrace)
            || (self == Self::ErrorRate && kind.is_none())
    }

    /// One sample per trace counting its spans: calls, tools, repeats, all spans.
    pub fn trace_shape(self) -> bool {
        matches!(
            self,
            Self::LlmCallsPerTrace
                | Self::ToolCallsPerTrace
                | Self::RepeatedToolCallsPerTrace
                | Self::SpansPerTrace
        )
    }

    /// Measured over the whole traffic, never per cohort.
    pub fn global(self) -> bool {
        self == Self::Dropped
    }
}

/// Which spans a span metric looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanSel {
    /// Model calls (chat, completion, embedding calls to a model).
    Llm,
    /// Spans of one semantic kind.
    Kind(Kind),
    /// Root spans: whole requests.
    Root,
    Any,
}

impl SpanSel {
    fn parse(s: &str) -> Result<Self, String> {
        let key = s.trim().to_ascii_lowercase();
        Ok(match key.as_str() {
            "llm" | "model" | "model_call" => Self::Llm,
            "root" | "trace" => Self::Root,
            "any" | "all" => Self::Any,
            "embedding" => Self::Kind(Kind::Embedding),
            "retrieval" | "retriever" => Self::Kind(Kind::Retrieval),
            "rerank" | "reranker" => Self::Kind(Kind::Rerank),
            "tool" => Self::Kind(Kind::Tool),
            "agent" => Self::Kind(Kind::Agent),
            "chain" => Self::Kind(Kind::Chain),
            "guardrail" => Self::Kind(Kind::Guardrail),
            "evaluator" => Self::Kind(Kind::Evaluator),
            _ => {
                return Err(format!(
                    "unknown span_kind {s:?} (one of llm, retrieval, rerank, embedding, tool, agent, chain, \
                     guardrail, evaluator, root, any)"
                ));
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Llm => "llm",
            Self::Kind(k) => k.as_str(),
            Self::Root => "root",
            Self::Any => "any",
        }
    }
}

/// A cohort key: one of llmwatch's cohorts, or any attribute key (looked up on the span, then
/// the trace root, then the resource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupKey {
    Cohort(CohortKey),
    Attr(String),
}

impl GroupKey {
    fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("an empty cohort key".into());
        }
        Ok(s.parse::<CohortKey>()
            .map_or_else(|_| Self::Attr(s.to_string()), Self::Cohort))
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Cohort(k) => k.as_str(),
            Self::Attr(a) => a,
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "<" => Self::Lt,
            "<=" => Self::Le,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            _ => return Err(format!("unknown op {s:?} (one of <, <=, >, >=)")),
        })
    }

    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
        }
    }

    /// Whether larger values are the bad direction.
    pub fn high_is_bad(self) -> bool {
        matches!(self, Self::Gt | Self::Ge)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// What a condition's threshold is measured against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compare {
    /// The window's value against the threshold itself.
    #[default]
    Value,
    /// The window's value divided by the cohort's value over the whole `--baseline`: 1.5 is
    /// 50% above it.
    Baseline,
    /// For rates: the window's value minus the baseline's, in points (0.10 = 10 points).
    BaselineDiff,
}

impl Compare {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "value" | "threshold" => Self::Value,
            "baseline" => Self::Baseline,
            "baseline_diff" => Self::BaselineDiff,
            _ => return Err(format!("unknown compare {s:?} (one of baseline, baseline_diff)")),
        })
    }

    pub fn uses_baseline(self) -> bool {
        self != Self::Value
    }
}

/// A filter: the key's value must be one of `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub key: GroupKey,
    pub values: Vec<String>,
}

/// One measured comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub metric: Metric,
    pub evaluator: Option<String>,
    pub span_kind: Option<SpanSel>,
    pub filters: Vec<Filter>,
    pub op: Op,
    pub threshold: f64,
    pub min_samples: u64,
    pub compare: Compare,
}

impl Condition {
    /// The spans a span metric looks at, defaults applied.
    pub fn spans(&self) -> SpanSel {
        self.span_kind.unwrap_or(match self.metric {
            Metric::SpansPerSecond => SpanSel::Any,
            _ => SpanSel::Llm,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub name: String,
    pub group_by: Option<GroupKey>,
    pub window_secs: u64,
    /// All must hold for a cohort (one for a simple rule).
    pub conditions: Vec<Condition>,
    pub owner: Option<String>,
    pub next_action: Option<String>,
    /// Run on fire with the alert as JSON on stdin: an argv.
    pub exec: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// What `compare = "baseline"` conditions are judged against (`--baseline`), measured
    /// with these very rules.
    pub baseline: Option<std::sync::Arc<super::state::Baseline>>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RulesError {
    #[error("cannot read rules {path}: {message}")]
    Read { path: String, message: String },
    #[error("invalid rules {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    metric: Option<String>,
    evaluator: Option<String>,
    span_kind: Option<String>,
    #[serde(rename = "where")]
    filter: Option<BTreeMap<String, toml::Value>>,
    op: Option<String>,
    threshold: Option<f64>,
    min_samples: Option<i64>,
    compare: Option<String>,
}

/// A rule as written: its own condition's fields spelled out again, because serde cannot deny
/// unknown fields through `#[serde(flatten)]`, and a typo must be an error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    metric: Option<String>,
    evaluator: Option<String>,
    span_kind: Option<String>,
    #[serde(rename = "where")]
    filter: Option<BTreeMap<String, toml::Value>>,
    op: Option<String>,
    threshold: Option<f64>,
    min_samples: Option<i64>,
    compare: Option<String>,
    group_by: Option<String>,
    window: Option<String>,
    owner: Option<String>,
    next_action: Option<String>,
    exec: Option<Exec>,
    all: Option<Vec<RawCondition>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Exec {
    Line(String),
    Argv(Vec<String>),
}

impl RuleSet {
    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RulesError::Read {
            path: name.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&text).map_err(|message| RulesError::Invalid { path: name, message })
    }

    /// Parses and checks a rules file; the error is one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        if raw.rule.is_empty() {
            return Err("no [[rule]] entries".into());
        }
        if raw.rule.len() > MAX_RULES {
            return Err(format!("{} rules; at most {MAX_RULES}", raw.rule.len()));
        }
        let mut rules = Vec::with_capacity(raw.rule.len());
        for (i, r) in raw.rule.into_iter().enumerate() {
            let label = match &r.name {
                Some(n) => format!("rule {} ({n:?})", i + 1),
                None => format!("rule {}", i + 1),
            };
            let rule = build(r).map_err(|e| format!("{label}: {e}"))?;
            if rules.iter().any(|o: &Rule| o.name == rule.name) {
                return Err(format!("{label}: another rule is named {:?}", rule.name));
            }
            rules.push(rule);
        }
        Ok(Self {
            rules,
            baseline: None,
        })
    }

    /// The first rule that compares against a baseline (it needs `--baseline`).
    pub fn baseline_rule(&self) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.conditions.iter().any(|c| c.compare.uses_baseline()))
    }
}

/// The toml crate's message on one line, with the line and column of the error.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {col}: {message}")
        }
        None => message,
    }
}

fn build(r: RawRule) -> Result<Rule, String> {
    let name = r.name.map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        return Err("`name` is missing".into());
    }
    if name.chars().any(char::is_control) {
        return Err("`name` has control characters".into());
    }
    let window_secs = parse_window(r.window.as_deref().ok_or("`window` is missing (e.g. \"5m\")")?)?;
    let group_by = r.group_by.as_deref().map(GroupKey::parse).transpose()?;
    let own = RawCondition {
        metric: r.metric,
        evaluator: r.evaluator,
        span_kind: r.span_kind,
        filter: r.filter,
        op: r.op,
        threshold: r.threshold,
        min_samples: r.min_samples,
        compare: r.compare,
    };
    let conditions = match r.all {
        Some(all) => {
            if own.metric.is_some() || own.op.is_some() || own.threshold.is_some() {
                return Err(
                    "give either `metric`/`op`/`threshold` or [[rule.all]] conditions, not both".into(),
                );
            }
            if all.is_empty() {
                return Err("[[rule.all]] has no conditions".into());
            }
            if all.len() > 8 {
                return Err("at most 8 conditions in [[rule.all]]".into());
            }
            let shared = own;
            all.into_iter()
                .enumerate()
                .map(|(i, c)| condition(merge(&shared, c)).map_err(|e| format!("condition {}: {e}", i + 1)))
                .collect::<Result<Vec<_>, _>>()?
        }
        None => vec![condition(own)?],
    };
    if group_by.is_some() && conditions.iter().any(|c| c.metric.global()) {
        return Err("`dropped` is counted over all traffic; it takes no `group_by`".into());
    }
    let exec = match r.exec {
        None => None,
        Some(Exec::Line(line)) if line.trim().is_empty() => return Err("`exec` is empty".into()),
        Some(Exec::Line(line)) => Some(vec!["sh".into(), "-c".into(), line]),
        Some(Exec::Argv(argv)) if argv.first().is_none_or(|a| a.trim().is_empty()) => {
            return Err("`exec` is empty".into());
        }
        Some(Exec::Argv(argv)) => Some(argv),
    };
    Ok(Rule {
        name,
        group_by,
        window_secs,
        conditions,
        owner: r.owner.filter(|s| !s.trim().is_empty()),
        next_action: r.next_action.filter(|s| !s.trim().is_empty()),
        exec,
    })
}

/// A condition of [[rule.all]] with the rule's own `where` and `min_samples` as defaults, its
/// `evaluator` for eval_* conditions and its `span_kind` for span metrics (latency, error
/// rate, spans per second).
fn merge(shared: &RawCondition, c: RawCondition) -> RawCondition {
    let mut filter = shared.filter.clone().unwrap_or_default();
    filter.extend(c.filter.unwrap_or_default());
    let metric = c
        .metric
        .as_deref()
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let eval = metric.starts_with("eval_");
    let spans = ["latency_", "error_rate", "spans_per_s"]
        .iter()
        .any(|p| metric.starts_with(p));
    RawCondition {
        evaluator: c.evaluator.or_else(|| shared.evaluator.clone().filter(|_| eval)),
        span_kind: c.span_kind.or_else(|| shared.span_kind.clone().filter(|_| spans)),
        metric: c.metric,
        filter: (!filter.is_empty()).then_some(filter),
        op: c.op,
        threshold: c.threshold,
        min_samples: c.min_samples.or(shared.min_samples),
        compare: c.compare.or_else(|| shared.compare.clone()),
    }
}

fn condition(c: RawCondition) -> Result<Condition, String> {
    let metric = Metric::parse(c.metric.as_deref().ok_or("`metric` is missing")?)?;
    let op = Op::parse(c.op.as_deref().ok_or("`op` is missing (one of <, <=, >, >=)")?)?;
    let threshold = c.threshold.ok_or("`threshold` is missing")?;
    if !threshold.is_finite() {
        return Err("`threshold` must be a finite number".into());
    }
    let compare = c
        .compare
        .as_deref()
        .map(Compare::parse)
        .transpose()?
        .unwrap_or_default();
    match compare {
        Compare::Value => {}
        _ if metric.global() => {
            return Err("`dropped` has no baseline; it takes no `compare`".into());
        }
        Compare::Baseline if threshold <= 0.0 => {
            return Err(format!(
                "compare = \"baseline\" takes a ratio to the baseline (1.5 is 50% above it), not {threshold}"
            ));
        }
        Compare::Baseline => {}
        Compare::BaselineDiff if !metric.is_rate() => {
            return Err(format!(
                "compare = \"baseline_diff\" is for rates (error_rate, eval_fail_rate, human_fail_rate, \
                 coverage), not {}; use compare = \"baseline\" (a ratio)",
                metric.name()
            ));
        }
        Compare::BaselineDiff if !(-1.0..=1.0).contains(&threshold) => {
            return Err(format!(
                "compare = \"baseline_diff\" takes a difference of shares in -1..1 but the threshold is \
                 {threshold} (write 10 points as 0.10)"
            ));
        }
        Compare::BaselineDiff => {}
    }
    if metric.is_rate() && compare == Compare::Value && !(0.0..=1.0).contains(&threshold) {
        return Err(format!(
            "{} is a share in 0..1 but the threshold is {threshold} (write 5% as 0.05)",
            metric.name()
        ));
    }
    let evaluator = c
        .evaluator
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    match (metric.is_eval(), &evaluator) {
        (true, None) => return Err(format!("{} needs `evaluator` (a verdict name)", metric.name())),
        (false, Some(_)) => {
            return Err(format!(
                "`evaluator` applies to eval_* metrics, not {}",
                metric.name()
            ));
        }
        _ => {}
    }
    let span_kind = c.span_kind.as_deref().map(SpanSel::parse).transpose()?;
    if let Some(k) = span_kind {
        let allowed = match metric {
            Metric::CostPerTrace | Metric::TokensPerTrace | Metric::Dropped => false,
            m if m.trace_shape() => false,
            Metric::Ttft(_)
            | Metric::Coverage
            | Metric::InputTokensPerCall
            | Metric::OutputTokensPerCall
            | Metric::CostPerCall => k == SpanSel::Llm,
            _ => true,
        };
        if !allowed {
            return Err(format!(
                "`span_kind = {:?}` does not apply to {}",
                k.name(),
                metric.name()
            ));
        }
    }
    let min_samples = match c.min_samples {
        None => 1,
        Some(n) if n < 1 => return Err("`min_samples` must be at least 1".into()),
        Some(n) => n as u64,
    };
    let mut filters = Vec::new();
    for (key, value) in c.filter.unwrap_or_default() {
        if metric.global() {
            return Err("`dropped` is counted over all traffic; it takes no `where`".into());
        }
        let values = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>(),
            v => scalar(&v).map(|s| vec![s]),
        }
        .map_err(|e| format!("where.{key}: {e}"))?;
        if values.is_empty() {
            return Err(format!("where.{key}: an empty list matches nothing"));
        }
        filters.push(Filter {
            key: GroupKey::parse(&key)?,
            values,
        });
    }
    Ok(Condition {
        metric,
        evaluator,
        span_kind,
        filters,
        op,
        threshold,
        min_samples,
        compare,
    })
}

fn scalar(v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!(
            "expected a string, number or boolean, got {}",
            other.type_str()
        )),
    }
}

/// "90s", "5m", "1h", "1h30m", or plain seconds.
pub fn parse_window(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("bad window {s:?} (e.g. \"30s\", \"5m\", \"1h\")");
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for ch in t.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
    }
    if !digits.is_empty() {
        total = total.saturating_add(digits.parse::<u64>().map_err(|_| bad())?);
    }
    if total == 0 {
        return Err(format!("window {s:?} is empty; it must be at least 1s"));
    }
    if total > MAX_WINDOW_SECS {
        return Err(format!("window {s:?} is longer than 24h"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[[rule]]
name = "groundedness-drop"
metric = "eval_mean_score"      # also eval_fail_rate, latency_p50_ms/p95/p99, ...
evaluator = "Groundedness"
span_kind = "llm"
group_by = "route"
where = { model = "gpt-4o" }
window = "5m"
op = "<"
threshold = 0.75
min_samples = 20
owner = "search-team"
next_action = "roll back the retriever index"
"#;

    #[test]
    fn the_issue_example_parses_as_written() {
        let set = RuleSet::parse(EXAMPLE).unwrap();
        let r = &set.rules[0];
        assert_eq!(r.name, "groundedness-drop");
        assert_eq!(r.window_secs, 300);
        assert_eq!(r.group_by, Some(GroupKey::Cohort(CohortKey::Route)));
        let c = &r.conditions[0];
        assert_eq!(c.metric, Metric::EvalMeanScore);
        assert_eq!(c.evaluator.as_deref(), Some("Groundedness"));
        assert_eq!(c.op, Op::Lt);
        assert_eq!(c.threshold, 0.75);
        assert_eq!(c.min_samples, 20);
        assert_eq!(
            c.filters,
            vec![Filter {
                key: GroupKey::Cohort(CohortKey::Model),
                values: vec!["gpt-4o".into()]
            }]
        );
        assert_eq!(r.owner.as_deref(), Some("search-team"));
    }

    #[test]
    fn combined_rules_share_the_rules_filter_and_keep_their_own() {
        let set = RuleSet::parse(
            r#"
[[rule]]
name = "ungrounded-and-slow"
group_by = "route"
window = "10m"
where = { tenant = "globex" }
min_samples = 5
exec = "cat > /dev/null"
[[rule.all]]
metric = "eval_fail_rate"
evaluator = "Groundedness"
op = ">"
threshold = 0.3
[[rule.all]]
metric = "latency_p99_ms"
span_kind = "retriever"
where = { service = ["rag", "search"] }
op = ">="
threshold = 800
min_samples = 2
"#,
        )
        .unwrap();
        let r = &set.rules[0];
        assert_eq!(r.conditions.len(), 2);
        assert_eq!(r.conditions[0].min_samples, 5);
        assert_eq!(r.conditions[1].min_samples, 2);
        assert_eq!(r.conditions[1].spans(), SpanSel::Kind(Kind::Retrieval));
        assert_eq!(r.conditions[1].filters.len(), 2);
        assert_eq!(r.conditions[0].filters.len(), 1);
        assert_eq!(
            r.exec.as_deref().unwrap()[..2],
            ["sh".to_string(), "-c".to_string()]
        );
    }

    #[test]
    fn rule_level_evaluator_and_span_kind_go_only_where_they_apply() {
        let set = RuleSet::parse(
            r#"
[[rule]]
name = "both"
window = "5m"
evaluator = "Groundedness"
span_kind = "retrieval"
[[rule.all]]
metric = "eval_fail_rate"
op = ">"
threshold = 0.3
[[rule.all]]
metric = "latency_p99_ms"
op = ">"
threshold = 800
"#,
        )
        .unwrap();
        let c = &set.rules[0].conditions;
        assert_eq!(
            (c[0].evaluator.as_deref(), c[0].span_kind),
            (Some("Groundedness"), None)
        );
        assert_eq!(
            (c[1].evaluator.as_deref(), c[1].span_kind),
            (None, Some(SpanSel::Kind(Kind::Retrieval)))
        );
    }

    #[test]
    fn attribute_keys_group_and_filter() {
        let set = RuleSet::parse(
            "[[rule]]\nname='x'\nmetric='error_rate'\ngroup_by='deployment.environment'\nwhere={'llm.is_streaming'=true}\nwindow='1m'\nop='>'\nthreshold=0.1\n",
        )
        .unwrap();
        let c = &set.rules[0].conditions[0];
        assert_eq!(
            set.rules[0].group_by,
            Some(GroupKey::Attr("deployment.environment".into()))
        );
        assert_eq!(c.filters[0].values, vec!["true".to_string()]);
        assert!(
            c.metric.per_trace(&c.span_kind),
            "error_rate without span_kind is per trace"
        );
    }

    #[test]
    fn the_new_metrics_and_compare_parse() {
        let set = RuleSet::parse(
            r#"
[[rule]]
name = "tool-retries"
metric = "repeated_tool_calls_per_trace"
compare = "baseline"
group_by = "prompt_version"
where = { route = "/claims" }
window = "10m"
op = ">"
threshold = 1.5
[[rule]]
name = "people-unhappy"
metric = "human_fail_rate"
compare = "baseline_diff"
window = "1h"
op = ">"
threshold = 0.10
[[rule]]
name = "retries-and-cost"
group_by = "route"
window = "10m"
compare = "baseline"
[[rule.all]]
metric = "cost_per_call_usd"
op = ">"
threshold = 1.3
[[rule.all]]
metric = "llm_calls_per_trace"
compare = "value"
op = ">"
threshold = 6
"#,
        )
        .unwrap();
        let r = &set.rules;
        assert_eq!(r[0].conditions[0].metric, Metric::RepeatedToolCallsPerTrace);
        assert_eq!(r[0].conditions[0].compare, Compare::Baseline);
        assert_eq!(r[0].group_by, Some(GroupKey::Cohort(CohortKey::PromptVersion)));
        assert_eq!(r[1].conditions[0].compare, Compare::BaselineDiff);
        assert!(r[1].conditions[0].metric.is_rate());
        assert_eq!(
            (r[2].conditions[0].compare, r[2].conditions[1].compare),
            (Compare::Baseline, Compare::Value),
            "the rule's compare is the default of its conditions"
        );
        assert_eq!(set.baseline_rule().map(|r| r.name.as_str()), Some("tool-retries"));
        for name in [
            "llm_calls_per_trace",
            "tool_calls_per_trace",
            "repeated_tool_calls_per_trace",
            "spans_per_trace",
            "input_tokens_per_call",
            "output_tokens_per_call",
            "cost_per_call_usd",
            "human_fail_rate",
        ] {
            let m = Metric::parse(name).unwrap();
            assert_eq!(m.name(), name);
        }
        assert!(
            RuleSet::parse("[[rule]]\nname='r'\nmetric='error_rate'\nwindow='1m'\nop='>'\nthreshold=0.1\n")
                .unwrap()
                .baseline_rule()
                .is_none()
        );
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("90s"), Ok(90));
        assert_eq!(parse_window("5m"), Ok(300));
        assert_eq!(parse_window("1h30m"), Ok(5400));
        assert_eq!(parse_window("45"), Ok(45));
        assert!(parse_window("0s").unwrap_err().contains("at least 1s"));
        assert!(parse_window("2d").unwrap_err().contains("bad window"));
        assert!(parse_window("25h").unwrap_err().contains("24h"));
    }

    fn err(body: &str) -> String {
        RuleSet::parse(body).unwrap_err()
    }

    #[test]
    fn bad_rules_say_which_rule_and_what_is_wrong_in_one_line() {
        let base = "[[rule]]\nname='r'\nwindow='5m'\nop='>'\nthreshold=1\n";
        let cases = [
            ("", "no [[rule]] entries"),
            (
                "[[rule]]\nname='r'\nmetric='error_rate'\nop='>'\nthreshold=0.1\n",
                "`window` is missing",
            ),
            (&format!("{base}metric='p99'\n"), "unknown metric \"p99\""),
            (
                "[[rule]]\nname='r'\nwindow='5m'\nop='>'\nthreshold=5\nmetric='error_rate'\n",
                "threshold is 5 (write 5% as 0.05)",
            ),
            (&format!("{base}metric='eval_mean_score'\n"), "needs `evaluator`"),
            (
                &format!("{base}metric='latency_p99_ms'\nevaluator='G'\n"),
                "`evaluator` applies to eval_*",
            ),
            (
                &format!("{base}metric='latency_p99_ms'\nspan_kind='disk'\n"),
                "unknown span_kind",
            ),
            (
                &format!("{base}metric='cost_per_trace_usd'\nspan_kind='llm'\n"),
                "does not apply",
            ),
            (
                &format!("{base}metric='dropped'\ngroup_by='route'\n"),
                "takes no `group_by`",
            ),
            (
                &format!("{base}metric='latency_p99_ms'\nmin_samples=0\n"),
                "at least 1",
            ),
            (
                &format!("{base}metric='latency_p99_ms'\ntreshold=2\n"),
                "unknown field `treshold`",
            ),
            (
                &format!("{base}metric='latency_p99_ms'\nwhere={{model={{a=1}}}}\n"),
                "where.model",
            ),
            (
                "[[rule]]\nmetric='error_rate'\nwindow='1m'\nop='>'\nthreshold=0.1\n",
                "`name` is missing",
            ),
            (
                "[[rule]]\nname='a'\nwindow='1m'\nmetric='error_rate'\nop='>'\nthreshold=0.1\n[[rule.all]]\nmetric='error_rate'\nop='>'\nthreshold=0.2\n",
                "not both",
            ),
            (&format!("{base}metric='error_rate'\nop='=='\n"), "duplicate key"),
            (
                "[[rule]]\nname='a'\nwindow='1m'\nmetric='error_rate'\nop='!='\nthreshold=0.1\n",
                "unknown op",
            ),
            (
                &format!(
                    "{base}metric='latency_p99_ms'\n[[rule]]\nname='r'\nwindow='1m'\nmetric='error_rate'\nop='>'\nthreshold=0.1\n"
                ),
                "another rule is named",
            ),
            ("[[rule]\nname='a'", "line 1"),
            (
                &format!("{base}metric='error_rate'\ncompare='previous'\n"),
                "unknown compare \"previous\"",
            ),
            (
                &format!("{base}metric='input_tokens_per_call'\ncompare='baseline_diff'\n"),
                "is for rates",
            ),
            (
                "[[rule]]\nname='r'\nwindow='5m'\nop='>'\nthreshold=0\nmetric='spans_per_trace'\ncompare='baseline'\n",
                "takes a ratio",
            ),
            (
                "[[rule]]\nname='r'\nwindow='5m'\nop='>'\nthreshold=10\nmetric='error_rate'\ncompare='baseline_diff'\n",
                "write 10 points as 0.10",
            ),
            (
                &format!("{base}metric='dropped'\ncompare='baseline'\n"),
                "takes no `compare`",
            ),
            (
                &format!("{base}metric='tool_calls_per_trace'\nspan_kind='tool'\n"),
                "does not apply",
            ),
            (
                &format!("{base}metric='cost_per_call_usd'\nspan_kind='tool'\n"),
                "does not apply",
            ),
            (
                &format!("{base}metric='human_fail_rate'\nevaluator='G'\n"),
                "`evaluator` applies to eval_*",
            ),
        ];
        for (body, want) in cases {
            let e = err(body);
            assert!(e.contains(want), "{body:?}: got {e:?}, want {want:?}");
            assert!(!e.contains('\n'), "one line: {e:?}");
        }
        assert!(err(&format!("{base}metric='p99'\n")).starts_with("rule 1 (\"r\"): "));
    }
}
