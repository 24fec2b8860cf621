//! The TOML config file (`--config FILE`, else the default path): cohort keys, evaluator
//! thresholds, built-in and external evaluators, price overrides and command-line options
//! (`[options]`). Unknown keys are errors, so a typo is reported instead of silently ignored.
//!
//! ```toml
//! cost_outlier_floor = 0.05
//!
//! [cohorts]
//! route = ["app.route", "http.route"]
//! tenant = ["tenant.id"]
//! prompt_version = ["prompt.version"]
//!
//! [evaluators.default]
//! threshold = 0.5
//!
//! [evaluators.HallucinationScore]
//! threshold = 0.2
//! higher_is_better = false
//!
//! [prices."acme-llm-v2"]
//! provider = "acme"
//! input_per_mtok = 0.5
//! output_per_mtok = 1.5
//!
//! [[external]]
//! name = "KeywordJudge"
//! command = ["python3", "scripts/evaluators/keyword_judge.py"]
//! sample = 0.1
//! ```

use crate::cost::{CostTable, PriceOverride};
use crate::semconv::{CohortKeys, EvaluatorRule, EvaluatorRules, SemconvConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub cohorts: Option<CohortSection>,
    #[serde(default)]
    pub evaluators: BTreeMap<String, EvaluatorRule>,
    #[serde(default)]
    pub prices: BTreeMap<String, PriceOverride>,
    /// llmwatch's own heuristic evaluators and per-route budgets (`[builtin]`).
    #[serde(default)]
    pub builtin: Option<crate::eval::BuiltinConfig>,
    /// Commands run on a share of the LLM calls (`[[external]]`, see `eval::external`).
    #[serde(default)]
    pub external: Vec<crate::eval::external::ExternalConfig>,
    /// Command-line options by their long name (`max-memory = "1GiB"`): below flags and
    /// `LLMWATCH_*` variables, above the defaults (`cli::layers` applies them).
    #[serde(default)]
    pub options: BTreeMap<String, toml::Value>,
    /// The cost-outlier rule's floor on a trace's excess over its cohort's median, USD
    /// (`--cost-outlier-floor` wins over it).
    #[serde(default)]
    pub cost_outlier_floor: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortSection {
    pub route: Option<Vec<String>>,
    pub tenant: Option<Vec<String>>,
    pub prompt_version: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid config {path}: {message}")]
    Parse { path: String, message: String },
}

impl FileConfig {
    /// Where the config file is read from when `--config` is not given:
    /// `$XDG_CONFIG_HOME/llmwatch/config.toml`, else `~/.config/llmwatch/config.toml`.
    pub fn default_path() -> Option<std::path::PathBuf> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
        };
        // The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored.
        let base = var("XDG_CONFIG_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|h| h.join(".config")))?;
        Some(base.join("llmwatch").join("config.toml"))
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        // Prices are checked while parsing (finite, not negative): see `cost::PriceOverride`.
        let file: Self = toml::from_str(text)
            .map_err(|e| e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))?;
        if let Some(b) = &file.builtin {
            b.validate().map_err(|e| format!("[builtin]: {e}"))?;
        }
        if let Some(usd) = file.cost_outlier_floor
            && !(usd.is_finite() && usd >= 0.0)
        {
            return Err(format!(
                "cost_outlier_floor: expected an amount in USD, 0 or more, not {usd}"
            ));
        }
        for (i, e) in file.external.iter().enumerate() {
            e.validate(i)?;
            if file.external[..i].iter().any(|o| o.name == e.name) {
                return Err(format!(
                    "[[external]] #{} {:?}: another entry has this name",
                    i + 1,
                    e.name
                ));
            }
        }
        Ok(file)
    }

    pub fn semconv(&self) -> SemconvConfig {
        let defaults = CohortKeys::default();
        let cohorts = match &self.cohorts {
            None => defaults,
            Some(c) => CohortKeys {
                route: c.route.clone().unwrap_or(defaults.route),
                tenant: c.tenant.clone().unwrap_or(defaults.tenant),
                prompt_version: c.prompt_version.clone().unwrap_or(defaults.prompt_version),
            },
        };
        let mut evaluators = EvaluatorRules::default();
        for (name, rule) in &self.evaluators {
            if name.eq_ignore_ascii_case("default") {
                evaluators.default = *rule;
            } else {
                evaluators.by_name.insert(name.to_ascii_lowercase(), *rule);
            }
        }
        SemconvConfig {
            cohorts,
            external: std::sync::Arc::new(crate::eval::external::ExternalEvaluators::new(
                self.external.clone(),
                evaluators.clone(),
            )),
            evaluators,
            builtin: {
                let mut b = self.builtin.clone().unwrap_or_default();
                b.cap = std::sync::Arc::new(crate::eval::cap::RateCap::new(b.max_per_second));
                b
            },
        }
    }

    /// The bundled price table with this file's prices added or overriding.
    pub fn costs(&self) -> CostTable {
        let mut table = CostTable::bundled();
        for (model, p) in &self.prices {
            table.insert(model, p.provider.as_deref(), p.to_price());
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Usage;

    #[test]
    fn the_cost_outlier_floor_is_an_amount() {
        let c = FileConfig::parse("cost_outlier_floor = 0.05\n").unwrap();
        assert_eq!(c.cost_outlier_floor, Some(0.05));
        assert_eq!(FileConfig::parse("").unwrap().cost_outlier_floor, None);
        let e = FileConfig::parse("cost_outlier_floor = -1.0\n").unwrap_err();
        assert!(e.contains("cost_outlier_floor"), "{e}");
    }

    #[test]
    fn a_full_config_parses() {
        let c = FileConfig::parse(
            r#"
            [cohorts]
            route = ["x.route"]
            [evaluators.default]
            threshold = 0.7
            [evaluators.HallucinationScore]
            threshold = 0.2
            higher_is_better = false
            [prices."acme-llm-v2"]
            provider = "acme"
            input_per_mtok = 0.5
            output_per_mtok = 1.5
            [[external]]
            name = "KeywordJudge"
            command = ["python3", "scripts/evaluators/keyword_judge.py"]
            sample = 0.1
            always = ["error"]
            "#,
        )
        .unwrap();
        let sem = c.semconv();
        assert!(sem.external.is_active());
        assert_eq!(sem.external.counts()[0].name, "KeywordJudge");
        assert!(!FileConfig::default().semconv().external.is_active());
        assert_eq!(sem.cohorts.route, vec!["x.route".to_string()]);
        assert_eq!(sem.cohorts.tenant, CohortKeys::default().tenant);
        assert_eq!(
            sem.evaluators.passed("Groundedness", Some(0.6), None),
            Some(false)
        );
        assert_eq!(
            sem.evaluators.passed("hallucinationscore", Some(0.1), None),
            Some(true)
        );
        let usage = Usage {
            input: 1_000_000,
            output: 1_000_000,
            ..Usage::default()
        };
        let cost = c.costs().cost(Some("acme"), "acme-llm-v2", &usage).unwrap();
        assert!((cost - 2.0).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn bad_configs_are_rejected_with_a_reason() {
        for (text, expect) in [
            ("[cohort]\nroute = []", "unknown field"),
            ("[evaluators.X]\nthreshhold = 1", "unknown field"),
            ("[prices.m]\ninput_per_mtok = 1", "output_per_mtok"),
            (
                "[prices.m]\ninput_per_mtok = -1\noutput_per_mtok = 1",
                "finite number >= 0",
            ),
            ("not toml at all", ""),
            (
                "[[external]]\nname = \"J\"\ncommand = [\"j\"]\nsample = 2",
                "[[external]] #1 \"J\": sample",
            ),
            (
                "[[external]]\nname = \"J\"\ncommand = [\"j\"]\n[[external]]\nname = \"J\"\ncommand = [\"k\"]",
                "[[external]] #2 \"J\": another entry has this name",
            ),
            (
                "[[external]]\nname = \"J\"\ncommand = [\"j\"]\nqueue = 0",
                "queue must be",
            ),
            ("[[external]]\nname = \"J\"\ncmd = [\"j\"]", "unknown field `cmd`"),
        ] {
            let err = FileConfig::parse(text).unwrap_err();
            assert!(err.contains(expect), "{text:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
