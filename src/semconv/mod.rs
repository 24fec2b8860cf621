//! LLM semantics: what the attribute conventions of OTel GenAI, OpenInference, traceAI,
//! OpenLLMetry, Langfuse, OpenLIT and Pydantic AI say about a span, normalised into one record
//! (../shared/SEMCONV.md lists the keys and their precedence), plus evaluator verdicts in all
//! their encodings.

pub mod cohort;
pub mod config;
pub mod content;
pub mod coverage;
pub mod effective;
pub mod keys;
pub mod normalise;
pub mod secrets;
pub mod types;
pub mod value;
pub mod verdicts;
pub mod wrapper;

#[cfg(test)]
mod tests;

pub use config::SemconvConfig;
pub use keys::{CohortKeys, KeyInfo};
pub use normalise::normalise_span;
pub use types::{CohortRanks, CostSource, Kind, Semantics, TokenUsage, Verdict, VerdictSource};
pub use verdicts::{EvaluatorRule, EvaluatorRules};
