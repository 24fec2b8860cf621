//! The semantic layer's settings ([`SemconvConfig`]): cohort keys, evaluator rules, the built-in
//! and external evaluators. Apart from the module root (which re-exports it) so the normaliser
//! reads it without importing the root.

use crate::eval::config::BuiltinConfig;
use crate::eval::external::ExternalEvaluators;
use crate::semconv::keys::CohortKeys;
use crate::semconv::verdicts::EvaluatorRules;
use std::sync::Arc;

/// Settings of the semantic layer: cohort keys, evaluator thresholds, which of llmwatch's own
/// (built-in) evaluators run on model calls as they arrive, and the external evaluators (their
/// queues and workers, started by the pipeline).
#[derive(Clone, Debug, Default)]
pub struct SemconvConfig {
    pub cohorts: CohortKeys,
    pub evaluators: EvaluatorRules,
    pub builtin: BuiltinConfig,
    pub external: Arc<ExternalEvaluators>,
}
