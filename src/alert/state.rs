//! What the rules produce and compare against, as plain data: a condition's [`Reading`] over
//! a window, an [`Alert`] and its state changes ([`Event`]), what the traffic never had
//! ([`Unmatched`]), and the [`Baseline`]'s readings per cohort. Below the engine, the rules
//! and the printers, which all read them.

use crate::model::TraceId;
use foldhash::HashMap;

/// A condition's value over one window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    /// `None` when the window held nothing to measure.
    pub value: Option<f64>,
    pub samples: u64,
    /// The cohort's value over the whole baseline, for a condition that compares against it.
    pub baseline: Option<f64>,
}

/// A (rule, cohort) that has fired at least once: its state now and its first firing.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub rule: usize,
    /// The cohort value (`None` for a rule without `group_by`).
    pub cohort: Option<String>,
    pub firing: bool,
    /// Event second the current (or last) episode started.
    pub since: u64,
    pub resolved_at: Option<u64>,
    /// Per condition, at the last evaluation while firing.
    pub readings: Vec<Reading>,
    pub first_fired: u64,
    /// Per condition, when it first fired.
    pub first_readings: Vec<Reading>,
    pub episodes: u32,
    /// Traces from the latest window it fired in, worst first: samples past the threshold.
    pub examples: Vec<TraceId>,
}

/// A state change.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub rule: usize,
    pub cohort: Option<String>,
    pub firing: bool,
    pub at: u64,
    pub readings: Vec<Reading>,
}

/// Something a rules file asks for that the traffic never had: a likely typo.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmatched {
    pub rule: usize,
    /// `None`: the rule's `group_by` key was never found; `Some(i)`: condition `i` saw nothing.
    pub condition: Option<usize>,
}

/// Each compared condition's value per cohort over the whole baseline capture.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Baseline {
    /// (rule, condition) → cohort value ("" without `group_by`) → value and samples.
    pub(super) values: HashMap<(usize, usize), HashMap<String, Reading>>,
    pub files: Vec<String>,
    pub spans: u64,
    pub traces: u64,
}

impl Baseline {
    /// The baseline's value of rule `rule`'s condition `cond` for a cohort; `None` when the
    /// baseline never had it.
    pub fn get(&self, rule: usize, cond: usize, cohort: &str) -> Option<Reading> {
        self.values
            .get(&(rule, cond))?
            .get(cohort)
            .copied()
            .filter(|r| r.samples > 0 && r.value.is_some())
    }

    /// Sets a cohort's value by hand (tests).
    #[cfg(test)]
    pub(crate) fn set(&mut self, rule: usize, cond: usize, cohort: &str, value: f64, samples: u64) {
        self.values.entry((rule, cond)).or_default().insert(
            cohort.to_string(),
            Reading {
                value: Some(value),
                samples,
                baseline: None,
            },
        );
    }
}
