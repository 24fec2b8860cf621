//! Alert rules over the traffic: "groundedness fell below 0.75 for the benefits-policy cohort",
//! within seconds, with example traces. Rules come from a TOML file ([`rules`]); the
//! [`engine::Engine`] follows the store's change log like the dashboard does, keeps windows per
//! rule and cohort in event time, and fires and resolves; [`exec`] runs a rule's command on
//! fire. `llmwatch check` ([`check`]) replays files through the same engine as a CI gate.

pub mod baseline;
pub mod check;
pub mod engine;
pub mod exec;
pub mod rules;
pub mod sample;

pub use engine::{Alert, Engine, EngineOptions, Event, Reading};
pub use rules::{Compare, Rule, RuleSet, RulesError};

use crate::summary::AlertRow;
use serde_json::json;

/// Event time (unix seconds) as UTC `HH:MM:SS`, as the screen's clock shows it.
pub use crate::ui::text::fmt_clock as hms;

/// Unix seconds as RFC 3339 UTC (`2026-11-27T10:03:12Z`).
pub fn rfc3339(second: u64) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let days = (second / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{}Z", hms(second))
}

/// A value as people read it: three significant digits below 1, two decimals below 100, whole
/// numbers above.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    let s = if a == 0.0 {
        return "0".into();
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).clamp(0, 12) as usize;
        format!("{v:.decimals$}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `route=/benefits-policy`, or empty for a rule without `group_by`.
pub fn cohort_label(rule: &Rule, alert: &Alert) -> String {
    match (&rule.group_by, &alert.cohort) {
        (Some(k), Some(v)) => format!("{k}={v}"),
        _ => String::new(),
    }
}

/// `value=0.55 < 0.75` for each condition (joined by "and"); against a baseline
/// `value=3.1 > 1.5x baseline 1.02` (a ratio) or `value=0.25 > baseline 0.12 + 0.1` (points).
pub fn comparison(rule: &Rule, readings: &[Reading]) -> String {
    rule.conditions
        .iter()
        .zip(readings)
        .map(|(c, r)| {
            let name = if rule.conditions.len() > 1 {
                c.metric.name()
            } else {
                "value"
            };
            let v = r.value.map_or_else(|| "-".into(), num);
            let op = c.op.as_str();
            let base = r.baseline.map_or_else(|| "-".into(), num);
            match c.compare {
                Compare::Value => format!("{name}={v} {op} {}", num(c.threshold)),
                Compare::Baseline => format!("{name}={v} {op} {}x baseline {base}", num(c.threshold)),
                Compare::BaselineDiff => {
                    let sign = if c.threshold < 0.0 { '-' } else { '+' };
                    format!(
                        "{name}={v} {op} baseline {base} {sign} {}",
                        num(c.threshold.abs())
                    )
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// One line per fired alert: `groundedness-drop route=/benefits-policy value=0.55 < 0.75 from
/// 10:03:12` (the value and time of its first firing).
pub fn check_line(rule: &Rule, alert: &Alert) -> String {
    // Rule name and cohort value are outside text, escaped here: this line is printed by
    // `check` and handed to `exec` as `line`.
    let cohort = cohort_label(rule, alert);
    let mut line = crate::text::escape(&rule.name).into_owned();
    if !cohort.is_empty() {
        line.push(' ');
        line.push_str(&crate::text::escape(&cohort));
    }
    format!(
        "{line} {} from {}",
        comparison(rule, &alert.first_readings),
        hms(alert.first_fired)
    )
}

/// The alert as `exec` receives it on stdin.
pub fn alert_json(rule: &Rule, alert: &Alert) -> serde_json::Value {
    let conditions: Vec<serde_json::Value> = rule
        .conditions
        .iter()
        .zip(&alert.readings)
        .map(|(c, r)| {
            json!({
                "metric": c.metric.name(),
                "evaluator": c.evaluator,
                "op": c.op.as_str(),
                "threshold": c.threshold,
                "value": r.value,
                "samples": r.samples,
            })
        })
        .collect();
    json!({
        "rule": rule.name,
        "state": if alert.firing { "firing" } else { "resolved" },
        "group_by": rule.group_by.as_ref().map(|k| k.to_string()),
        "cohort": alert.cohort,
        "value": alert.readings.first().and_then(|r| r.value),
        "threshold": rule.conditions[0].threshold,
        "conditions": conditions,
        "window_secs": rule.window_secs,
        "since": rfc3339(alert.since),
        "since_unix": alert.since,
        "owner": rule.owner,
        "next_action": rule.next_action,
        "example_trace_ids": alert.examples.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "line": check_line(rule, alert),
    })
}

/// What the rules add to a summary: the `alerts` list and, with `--baseline`, the `baseline`
/// section.
pub fn fill_summary(summary: &mut crate::summary::Summary, engine: &Engine) {
    summary.alerts = summary_rows(engine);
    summary.baseline = engine.baseline().map(|b| crate::summary::BaselineSection {
        files: b.files.clone(),
        spans: b.spans,
        traces: b.traces,
        new_cohorts: engine
            .new_cohorts()
            .iter()
            .map(|(r, cohort)| crate::summary::NewCohort {
                rule: engine.rules()[*r].name.clone(),
                cohort: new_cohort_label(&engine.rules()[*r], cohort.as_deref()),
            })
            .collect(),
    });
}

/// `route=/claims`, or empty for a rule without `group_by`.
fn new_cohort_label(rule: &Rule, cohort: Option<&str>) -> String {
    match (&rule.group_by, cohort) {
        (Some(k), Some(v)) => format!("{k}={v}"),
        _ => String::new(),
    }
}

/// The stderr line for a cohort the baseline lacks: `baseline: new cohort route=/x for rule
/// "tool-retries" (not in the baseline, not judged)`, escaped.
pub fn new_cohort_line(rule: &Rule, cohort: Option<&str>) -> String {
    let label = new_cohort_label(rule, cohort);
    let label = if label.is_empty() {
        "(all traffic)".into()
    } else {
        label
    };
    format!(
        "baseline: new cohort {} for rule \"{}\" (not in the baseline, not judged)",
        crate::text::escape(&label),
        crate::text::escape(&rule.name)
    )
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
mod tests {
    use super::*;

    #[test]
    fn times_and_numbers_print_as_people_read_them() {
        assert_eq!(hms(1_764_237_792), "10:03:12");
        assert_eq!(rfc3339(1_764_237_792), "2025-11-27T10:03:12Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(num(0.55), "0.55");
        assert_eq!(num(0.75), "0.75");
        assert_eq!(num(0.000123456), "0.000123");
        assert_eq!(num(1234.6), "1235");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.0), "0");
    }
}

#[cfg(test)]
mod engine_tests;
