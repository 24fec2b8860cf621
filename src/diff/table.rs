//! The diff as a terminal table (at most 100 columns; names escaped) and as JSON.

use super::compare::{Change, Metric, Row};
use ratatui::buffer::CellWidth;
use serde_json::{Value as Json, json};

/// Column widths: mark, cohort, metric, baseline, candidate, change, samples (with a space
/// between each): 1 + 20 + 30 + 11 + 11 + 10 + 11 + 6 = 100.
const COHORT: usize = 20;
const METRIC: usize = 30;
const VALUE: usize = 11;
const CHANGE: usize = 10;
const SAMPLES: usize = 11;
pub const WIDTH: usize = 1 + COHORT + METRIC + 2 * VALUE + CHANGE + SAMPLES + 6;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

/// What the table is about, for its first line and the JSON.
pub struct Heading<'a> {
    pub by: &'a str,
    pub baseline_traces: u64,
    pub candidate_traces: u64,
    pub baseline_files: &'a [String],
    pub candidate_files: &'a [String],
}

/// Escaped, then cut to `max` columns (ending in `…` when cut), padded to `max`.
fn cell(s: &str, max: usize) -> String {
    let s = crate::text::escape(s);
    let w = |s: &str| usize::from(s.cell_width());
    let mut out = String::new();
    if w(&s) <= max {
        out.push_str(&s);
    } else {
        let mut used = 0;
        for c in s.chars() {
            let cw = w(c.encode_utf8(&mut [0; 4]));
            if used + cw + 1 > max {
                break;
            }
            out.push(c);
            used += cw;
        }
        out.push('…');
    }
    let pad = max.saturating_sub(w(&out));
    out.extend(std::iter::repeat_n(' ', pad));
    out
}

pub fn fmt_value(metric: Metric, x: Option<f64>) -> String {
    let Some(x) = x else { return "-".into() };
    match metric {
        Metric::Traces => format!("{x:.0}"),
        // Four significant digits or so: a trace can cost a few hundredths of a cent.
        Metric::CostPerTrace if x.abs() < 0.01 => format!("${x:.6}"),
        Metric::CostPerTrace if x.abs() < 1.0 => format!("${x:.4}"),
        Metric::CostPerTrace => format!("${x:.2}"),
        Metric::ErrorRate | Metric::FailRate => format!("{:.1}%", x * 100.0),
        Metric::MeanScore => format!("{x:.3}"),
        Metric::LlmCallsPerTrace | Metric::ToolCallsPerTrace | Metric::RepeatedToolCallsPerTrace => {
            format!("{x:.2}")
        }
        _ if x.abs() >= 100.0 => format!("{x:.0}"),
        _ => format!("{x:.1}"),
    }
}

/// The table: a heading, a line per row, and what was found; `colour` marks regressions red
/// and improvements green.
pub fn render(h: &Heading, rows: &[Row], gated: bool, colour: bool) -> String {
    let mut out = format!(
        "llmwatch diff by {}: baseline {} traces, candidate {} traces\n",
        crate::text::escape(h.by),
        h.baseline_traces,
        h.candidate_traces
    );
    out.push_str(&format!(
        " {} {} {:>VALUE$} {:>VALUE$} {:>CHANGE$} {:>SAMPLES$}\n",
        cell(h.by, COHORT),
        cell("metric", METRIC),
        "baseline",
        "candidate",
        "change",
        "samples"
    ));
    for r in rows {
        let mark = if r.fails_gate {
            "!"
        } else if r.significant {
            "*"
        } else {
            " "
        };
        let change = r
            .change
            .map_or_else(|| "-".to_string(), |c: Change| c.to_string());
        let samples = format!("{}/{}", r.samples.0, r.samples.1);
        let line = format!(
            "{mark}{} {} {:>VALUE$} {:>VALUE$} {:>CHANGE$} {:>SAMPLES$}",
            cell(&r.cohort, COHORT),
            cell(&r.label(), METRIC),
            fmt_value(r.metric, r.baseline),
            fmt_value(r.metric, r.candidate),
            change,
            samples,
        );
        let line = line.trim_end();
        match (colour && r.significant, r.regression) {
            (true, true) => out.push_str(&format!("{RED}{line}{RESET}\n")),
            (true, false) => out.push_str(&format!("{GREEN}{line}{RESET}\n")),
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let significant = rows.iter().filter(|r| r.significant).count();
    let regressions = rows.iter().filter(|r| r.regression).count();
    out.push_str(&format!(
        "{significant} change{} beyond noise (*: p < 0.05, at least {} samples a side), {regressions} worse",
        if significant == 1 { "" } else { "s" },
        super::stats::MIN_SAMPLES
    ));
    if gated {
        let failed = rows.iter().filter(|r| r.fails_gate).count();
        out.push_str(&format!(", {failed} beyond --fail-on (!)"));
    }
    out.push('\n');
    out
}

fn number(x: Option<f64>) -> Json {
    x.filter(|x| x.is_finite()).map_or(Json::Null, Json::from)
}

pub fn to_json(h: &Heading, rows: &[Row]) -> Json {
    let rows: Vec<Json> = rows
        .iter()
        .map(|r| {
            json!({
                "cohort": r.cohort,
                "metric": r.metric.name(),
                "evaluator": r.evaluator,
                "baseline": number(r.baseline),
                "candidate": number(r.candidate),
                "baseline_samples": r.samples.0,
                "candidate_samples": r.samples.1,
                // null when the baseline is 0 and the candidate is not; `change_unit` says % or pp.
                "change": number(r.change.map(Change::value)),
                "change_unit": r.change.map(|c| match c {
                    Change::Percent(_) => "%",
                    Change::Points(_) => "pp",
                }),
                "from_zero": r.change.is_some_and(|c| c.value().is_infinite()),
                "p_value": number(r.p_value),
                "significant": r.significant,
                "regression": r.regression,
                "fails_gate": r.fails_gate,
            })
        })
        .collect();
    json!({
        "by": h.by,
        "baseline": {"files": h.baseline_files, "traces": h.baseline_traces},
        "candidate": {"files": h.candidate_files, "traces": h.candidate_traces},
        "significant": rows.iter().filter(|r| r["significant"] == true).count(),
        "regressions": rows.iter().filter(|r| r["regression"] == true).count(),
        "fails_gate": rows.iter().filter(|r| r["fails_gate"] == true).count(),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn row(
        cohort: &str,
        metric: Metric,
        b: f64,
        c: f64,
        change: Change,
        sig: bool,
        reg: bool,
        gate: bool,
    ) -> Row {
        Row {
            cohort: cohort.into(),
            metric,
            evaluator: None,
            baseline: Some(b),
            candidate: Some(c),
            samples: (60, 60),
            change: Some(change),
            p_value: Some(if sig { 0.001 } else { 0.6 }),
            significant: sig,
            regression: reg,
            fails_gate: gate,
        }
    }

    fn rows() -> Vec<Row> {
        let mut score = row(
            "/support/a-very-long-route-name",
            Metric::MeanScore,
            0.8,
            0.9,
            Change::Percent(12.5),
            true,
            false,
            false,
        );
        score.evaluator = Some("helpfulness-judge-with-a-long-name".into());
        vec![
            row(
                "/claims",
                Metric::RepeatedToolCallsPerTrace,
                0.0,
                1.5,
                Change::Percent(f64::INFINITY),
                true,
                true,
                true,
            ),
            row(
                "/search\x1b[2J",
                Metric::InputTokensPerCall,
                400.0,
                800.0,
                Change::Percent(100.0),
                true,
                true,
                false,
            ),
            score,
            row(
                "/claims",
                Metric::ErrorRate,
                0.02,
                0.03,
                Change::Points(1.0),
                false,
                false,
                false,
            ),
        ]
    }

    fn heading() -> Heading<'static> {
        Heading {
            by: "route",
            baseline_traces: 120,
            candidate_traces: 120,
            baseline_files: &[],
            candidate_files: &[],
        }
    }

    #[test]
    fn the_table_fits_100_columns_escapes_names_and_marks_changes() {
        let text = render(&heading(), &rows(), true, false);
        insta::assert_snapshot!(text);
        for line in text.lines() {
            assert!(usize::from(line.cell_width()) <= WIDTH, "{line:?}");
            assert!(!line.contains('\x1b'), "no colour and no raw escape: {line:?}");
        }
        assert_eq!(WIDTH, 100);
    }

    #[test]
    fn colour_only_on_marked_rows() {
        let text = render(&heading(), &rows(), false, true);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].starts_with(RED) && lines[3].starts_with(RED), "{text}");
        assert!(lines[4].starts_with(GREEN), "{text}");
        assert!(!lines[5].contains('\x1b'), "{text}");
        assert!(!text.contains("--fail-on"), "no gate, no gate count");
    }

    #[test]
    fn json_has_every_row_and_null_for_a_change_from_nothing() {
        let j = to_json(&heading(), &rows());
        assert_eq!(j["rows"].as_array().unwrap().len(), 4);
        assert_eq!(j["significant"], 3);
        assert_eq!(j["fails_gate"], 1);
        let first = &j["rows"][0];
        assert_eq!(first["metric"], "repeated_tool_calls_per_trace");
        assert_eq!(first["change"], Json::Null);
        assert_eq!(first["from_zero"], true);
        assert_eq!(j["rows"][3]["change_unit"], "pp");
    }
}
