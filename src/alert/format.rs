//! How alerts read: the value and threshold of each condition, the one line `check` prints per
//! fired alert, the JSON `exec` receives on stdin, and the line for a cohort the baseline
//! lacks. Rule names and cohort values come from outside and are escaped here.

use super::rules::{Compare, Rule};
use super::state::{Alert, Reading};
use crate::clock::{hms, rfc3339};
use serde_json::json;

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

/// `route=/claims`, or empty for a rule without `group_by`.
pub(super) fn new_cohort_label(rule: &Rule, cohort: Option<&str>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_people_read_them() {
        assert_eq!(num(0.55), "0.55");
        assert_eq!(num(0.75), "0.75");
        assert_eq!(num(0.000123456), "0.000123");
        assert_eq!(num(1234.6), "1235");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.0), "0");
    }
}
