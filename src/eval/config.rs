//! The built-in evaluators' settings (`[builtin]` in the config): which run, the per-route
//! budgets, the rate cap. A leaf of `eval`: the semantic layer's settings and the external
//! evaluators name it without reaching the evaluators themselves.

use crate::eval::cap::{DEFAULT_MAX_PER_SECOND, RateCap};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Which built-in evaluators run (all on by default) and the per-route budgets (none by default).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuiltinConfig {
    pub empty_output: bool,
    pub refusal: bool,
    pub json_valid: bool,
    pub context_overlap: bool,
    pub pii_leak: bool,
    /// Pass when at least this share of the answer's content words is found in the documents
    /// and tool results (default 0.2).
    pub context_overlap_threshold: f64,
    /// Per route (exact `route` value, or "*" for any): latency and cost budgets.
    pub budgets: BTreeMap<String, Budget>,
    /// Most model calls checked per second of event time; the rest of that second's calls are
    /// not evaluated (and counted), so a flood costs bounded CPU.
    pub max_per_second: u32,
    /// The cap's running state, shared by every converter of one pipeline.
    #[serde(skip)]
    pub cap: std::sync::Arc<RateCap>,
}

impl Default for BuiltinConfig {
    fn default() -> Self {
        Self {
            empty_output: true,
            refusal: true,
            json_valid: true,
            context_overlap: true,
            pii_leak: true,
            context_overlap_threshold: 0.2,
            budgets: BTreeMap::new(),
            max_per_second: DEFAULT_MAX_PER_SECOND,
            cap: Default::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub latency_ms: Option<f64>,
    pub cost_usd: Option<f64>,
}

impl BuiltinConfig {
    /// Everything off: no evaluator runs and no budget is set.
    pub fn off() -> Self {
        Self {
            empty_output: false,
            refusal: false,
            json_valid: false,
            context_overlap: false,
            pii_leak: false,
            budgets: BTreeMap::new(),
            ..Self::default()
        }
    }

    /// Whether any evaluator that reads content is on.
    pub fn reads_content(&self) -> bool {
        self.empty_output || self.refusal || self.json_valid || self.context_overlap || self.pii_leak
    }

    /// Whether [`evaluate`](crate::eval::evaluate) can produce anything at all (callers may skip it otherwise).
    pub fn is_active(&self) -> bool {
        self.reads_content() || !self.budgets.is_empty()
    }

    /// Checks values serde cannot: the threshold in 0..=1, budgets positive and finite and
    /// naming at least one limit.
    pub fn validate(&self) -> Result<(), String> {
        let t = self.context_overlap_threshold;
        if !(0.0..=1.0).contains(&t) {
            return Err(format!(
                "context_overlap_threshold must be between 0 and 1, not {t}"
            ));
        }
        for (route, b) in &self.budgets {
            if b.latency_ms.is_none() && b.cost_usd.is_none() {
                return Err(format!(
                    "budget for route {route:?} sets neither latency_ms nor cost_usd"
                ));
            }
            for (what, v) in [("latency_ms", b.latency_ms), ("cost_usd", b.cost_usd)] {
                if let Some(v) = v
                    && !(v.is_finite() && v > 0.0)
                {
                    return Err(format!(
                        "budget for route {route:?}: {what} must be a positive number, not {v}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The budget for a route: its own entry, else `"*"`.
    pub fn budget(&self, route: Option<&str>) -> Option<(&str, &Budget)> {
        route
            .and_then(|r| self.budgets.get_key_value(r))
            .or_else(|| self.budgets.get_key_value("*"))
            .map(|(k, b)| (k.as_str(), b))
    }
}
