//! Alert rules over the traffic: "groundedness fell below 0.75 for the benefits-policy cohort",
//! within seconds, with example traces. Rules come from a TOML file ([`rules`]); the
//! [`engine::Engine`] follows the store's change log like the dashboard does, keeps windows per
//! rule and cohort in event time, and fires and resolves; [`exec`] runs a rule's command on
//! fire. `llmwatch check` ([`check`]) replays files through the same engine as a CI gate.

pub mod baseline;
pub mod check;
pub mod engine;
pub mod exec;
pub mod format;
pub mod rules;
pub mod sample;
pub mod state;

pub use engine::{Engine, EngineOptions};
pub use format::{alert_json, check_line, cohort_label, comparison, new_cohort_line, num};
pub use rules::{Compare, Rule, RuleSet, RulesError};
pub use state::{Alert, Event, Reading};

/// Times as alert lines print them ([`crate::clock`]).
pub use crate::clock::{hms, rfc3339};
use crate::summary::{AlertRow, BaselineSection, NewCohort, Summary};
use format::new_cohort_label;

/// What the rules add to a summary: the `alerts` list and, with `--baseline`, the `baseline`
/// section.
pub fn fill_summary(summary: &mut Summary, engine: &Engine) {
    summary.alerts = summary_rows(engine);
    summary.baseline = engine.baseline().map(|b| BaselineSection {
        files: b.files.clone(),
        spans: b.spans,
        traces: b.traces,
        new_cohorts: engine
            .new_cohorts()
            .iter()
            .map(|(r, cohort)| NewCohort {
                rule: engine.rules()[*r].name.clone(),
                cohort: new_cohort_label(&engine.rules()[*r], cohort.as_deref()),
            })
            .collect(),
    });
}

/// The summary's `alerts` list: each (rule, cohort) that fired, by first firing.
pub fn summary_rows(engine: &Engine) -> Vec<AlertRow> {
    let mut alerts = engine.alerts();
    alerts.sort_by(|a, b| {
        a.first_fired
            .cmp(&b.first_fired)
            .then(a.rule.cmp(&b.rule))
            .then_with(|| a.cohort.cmp(&b.cohort))
    });
    alerts
        .into_iter()
        .map(|a| {
            let rule = &engine.rules()[a.rule];
            let first = a.first_readings.first().copied().unwrap_or_default();
            AlertRow {
                rule: rule.name.clone(),
                cohort: cohort_label(rule, a),
                value: first.value.unwrap_or(f64::NAN),
                threshold: rule.conditions[0].threshold,
                at: rfc3339(a.first_fired),
                op: rule.conditions[0].op.as_str().into(),
                metric: rule.conditions[0].metric.name().into(),
                firing: a.firing,
                resolved_at: a.resolved_at.map(rfc3339),
                episodes: a.episodes,
                samples: first.samples,
                owner: rule.owner.clone(),
                next_action: rule.next_action.clone(),
                example_trace_ids: a.examples.iter().map(|t| t.to_string()).collect(),
                line: check_line(rule, a),
                baseline: first.baseline,
            }
        })
        .collect()
}

#[cfg(test)]
mod engine_tests;
