//! Evals: per evaluator over the window, and per cohort (the latency pane's dimension, `c`),
//! how many verdicts, the fail rate, the mean score, a sparkline of the fail rate and its
//! change against the window before. The first line is the window's trace coverage: the
//! share of model calls carrying a parent, a model, a prompt version and a route.

use super::common::{focused, pane_block, unfiltered_mark};
use crate::semconv::coverage::Coverage;
use crate::ui::state::{Pane, UiState};
use crate::ui::text::{clean, fit, fmt_count, fmt_thousands};
use crate::ui::theme::Theme;
use crate::ui::view::{EvalRow, View};
use crate::view::series::CoverageStats;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Sparkline points for an evals pane of this width.
pub fn spark_width(pane_width: u16) -> usize {
    match pane_width {
        w if w >= 110 => 20,
        w if w >= 76 => 12,
        _ => 8,
    }
}

/// Fail rates on a fixed 0–100% scale (a steady 3% should look low, not full height): no
/// failures is the lowest bar, any failure at least the second; gaps stay blank.
pub fn rate_sparkline(points: &[Option<f64>]) -> String {
    points
        .iter()
        .map(|p| match p {
            None => ' ',
            Some(r) if *r <= 0.0 => BARS[0],
            Some(r) => BARS[(1 + (r.min(1.0) * 6.0).round() as usize).min(7)],
        })
        .collect()
}

/// `part` of `whole` as a whole percentage that never rounds a part to 0% or to 100%.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    if part > 0 && part * 100 < whole {
        return "<1%".into();
    }
    let p = (part as f64 * 100.0 / whole as f64).round() as u64;
    let p = if part < whole { p.min(99) } else { p };
    format!("{p}%")
}

/// `coverage 74% of 1,204 calls · missing prompt version 26% · route 3%`, coloured by share.
pub fn coverage_line(c: &CoverageStats, theme: &Theme) -> Line<'static> {
    let Some(share) = c.share() else {
        return Line::styled("coverage: no model calls in this window", theme.muted);
    };
    let style = if share >= 0.9 {
        theme.ok
    } else if share >= 0.5 {
        theme.warn
    } else {
        theme.error
    };
    let mut spans = vec![
        Span::styled(format!("coverage {}", percent(c.complete, c.calls)), style),
        Span::styled(format!(" of {} calls", fmt_thousands(c.calls)), theme.muted),
    ];
    let names = Coverage::default().parts().map(|(name, _)| name);
    let mut missing: Vec<(&str, u64)> = names.into_iter().zip(c.missing).filter(|(_, n)| *n > 0).collect();
    missing.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (i, (name, n)) in missing.into_iter().enumerate() {
        let lead = if i == 0 { " · missing " } else { " · " };
        spans.push(Span::styled(lead, theme.muted));
        spans.push(Span::styled(
            format!("{name} {}", percent(n, c.calls)),
            theme.base,
        ));
    }
    Line::from(spans)
}

/// `▲12pp` (worse, red), `▼5pp` (better), `=` under a point, `·` when either side has fewer
/// than [`crate::view::stats::MIN_SAMPLES`] judged verdicts. A change that is not significant
/// ([`EvalRow::significant`]) is shown muted.
fn change(row: &EvalRow, theme: &Theme) -> Span<'static> {
    let Some(d) = row.change() else {
        return Span::styled("·", theme.muted);
    };
    let significant = row.significant();
    let pp = d * 100.0;
    if pp.abs() < 1.0 {
        Span::styled("=", theme.muted)
    } else if pp > 0.0 {
        Span::styled(
            format!("▲{pp:.0}pp"),
            if significant { theme.error } else { theme.muted },
        )
    } else {
        Span::styled(
            format!("▼{:.0}pp", -pp),
            if significant { theme.ok } else { theme.muted },
        )
    }
}

fn fail_rate(row: &EvalRow, theme: &Theme) -> Span<'static> {
    match row.stats.fail_rate() {
        None => Span::styled("-", theme.muted),
        Some(_) if row.stats.failed == 0 => Span::styled("0%", theme.muted),
        Some(_) => Span::styled(
            percent(row.stats.failed, row.stats.passed + row.stats.failed),
            theme.verdict_fail,
        ),
    }
}

fn score(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(x) if x.abs() < 10.0 => format!("{x:.2}"),
        Some(x) if x.abs() < 100.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.0}"),
    }
}

/// Narrowest evals pane that shows the `human` column.
const HUMAN_MIN_WIDTH: u16 = 84;

/// `agree 3/4`: of the spans a person also judged, how many the evaluator got the same.
fn agreement(s: &crate::view::series::EvalStats, theme: &Theme) -> Span<'static> {
    if s.reviewed == 0 {
        return Span::styled("", theme.muted);
    }
    let style = if s.agreed < s.reviewed {
        theme.warn
    } else {
        theme.base
    };
    Span::styled(
        format!("agree {}/{}", fmt_count(s.agreed), fmt_count(s.reviewed)),
        style,
    )
}

/// Which columns fit: chosen by the pane's own width.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Columns {
    /// evaluator, cohort, n, fail, mean, trend, Δ
    Full,
    /// evaluator, cohort, n, fail, trend, Δ
    Medium,
    /// evaluator, cohort, fail, Δ
    Narrow,
}

impl Columns {
    fn for_width(w: u16) -> Self {
        match w {
            w if w >= 70 => Self::Full,
            w if w >= 54 => Self::Medium,
            _ => Self::Narrow,
        }
    }
}

/// The table body's area in a pane at `area`: inside the border, under the coverage line and
/// the header.
pub fn rows_area(area: Rect) -> Rect {
    super::common::table_rows(area, 2)
}

pub fn render(frame: &mut Frame, area: Rect, view: &View, ui: &UiState, theme: &Theme) {
    let e = &view.evals;
    let window = ui.window().label();
    let title = if area.width >= 76 {
        format!(
            " Evals by {} · {window} · sort: {} (s) · Enter: failing traces ",
            e.dim,
            e.sort.label()
        )
    } else {
        format!(" Evals by {} · {window} · {} ", e.dim, e.sort.label())
    };
    // With a baseline, the title says what Δfail is against (`b` toggles).
    let title = match &e.vs {
        Some(vs) if area.width >= 76 => format!(
            " Evals by {} · {window} · Δ vs {vs} · sort: {} (s) ",
            e.dim,
            e.sort.label()
        ),
        Some(vs) => format!(" Evals by {} · {window} · Δ vs {vs} ", e.dim),
        None => title,
    };
    let focus = focused(ui, Pane::Evals);
    let block = unfiltered_mark(pane_block(title, area, focus, theme), ui, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [cov, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(coverage_line(&e.coverage, theme)), cov);
    if e.rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no verdicts in this window", theme.muted)),
            body,
        );
        return;
    }
    let columns = Columns::for_width(area.width);
    // `human` (agree n/m): only where a person reviewed something, and only when it fits.
    let human = columns == Columns::Full
        && area.width >= HUMAN_MIN_WIDTH
        && e.rows.iter().any(|r| r.stats.reviewed > 0);
    let spark = Constraint::Length(spark_width(area.width) as u16);
    // The header says what Δ is against: the window before, or the baseline.
    let delta_header = super::latency::delta_header(e.vs.as_deref());
    // As wide as the longest name shown (within bounds); the cohort takes the rest.
    let longest = e
        .rows
        .iter()
        .map(|r| r.evaluator.chars().count())
        .max()
        .unwrap_or(0);
    let name = Constraint::Length(longest.clamp(9, 22) as u16);
    let (mut header, mut widths): (Vec<&str>, Vec<Constraint>) = match columns {
        Columns::Full => (
            vec![
                "evaluator",
                e.dim,
                "n",
                "fail",
                "mean",
                "fail trend",
                delta_header,
            ],
            vec![
                name,
                Constraint::Min(10),
                Constraint::Length(6),
                Constraint::Length(4),
                Constraint::Length(5),
                spark,
                Constraint::Length(6),
            ],
        ),
        Columns::Medium => (
            vec!["evaluator", e.dim, "n", "fail", "trend", delta_header],
            vec![
                name,
                Constraint::Min(8),
                Constraint::Length(6),
                Constraint::Length(4),
                spark,
                Constraint::Length(6),
            ],
        ),
        Columns::Narrow => (
            vec!["evaluator", e.dim, "fail", delta_header],
            vec![
                Constraint::Min(8),
                Constraint::Min(6),
                Constraint::Length(4),
                Constraint::Length(6),
            ],
        ),
    };
    if human {
        header.insert(5, "human");
        widths.insert(5, Constraint::Length(11));
    }
    let cw = super::common::column_widths(body.width, &widths);
    let rows = e.rows.iter().enumerate().map(|(i, r)| {
        let (name_style, cohort) = match &r.cohort {
            None => (theme.base, Span::styled("all", theme.muted)),
            Some(c) => (
                theme.muted,
                Span::raw(super::latency::fit_cohort(&clean(c), e.dim, cw[1])),
            ),
        };
        let name = Cell::from(Span::styled(fit(&clean(&r.evaluator), cw[0]), name_style));
        let n = Cell::from(fmt_count(r.stats.n));
        let fail = Cell::from(fail_rate(r, theme));
        let delta = Cell::from(change(r, theme));
        let spark = Cell::from(Span::styled(rate_sparkline(&r.spark), theme.sparkline));
        let cells = match columns {
            Columns::Full => {
                let mut cells = vec![
                    name,
                    Cell::from(cohort),
                    n,
                    fail,
                    Cell::from(score(r.stats.mean_score())),
                ];
                if human {
                    cells.push(Cell::from(agreement(&r.stats, theme)));
                }
                cells.extend([spark, delta]);
                cells
            }
            Columns::Medium => vec![name, Cell::from(cohort), n, fail, spark, delta],
            Columns::Narrow => vec![name, Cell::from(cohort), fail, delta],
        };
        let row = Row::new(cells);
        if focus && e.offset + i == e.cursor {
            row.style(theme.selection)
        } else {
            row.style(Style::default())
        }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .column_spacing(1);
    frame.render_widget(table, body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_rate_sparklines_use_a_fixed_scale() {
        assert_eq!(
            rate_sparkline(&[Some(0.0), None, Some(0.01), Some(0.5), Some(1.0)]),
            "▁ ▂▅█"
        );
        assert_eq!(rate_sparkline(&[]), "");
    }

    #[test]
    fn percentages_never_round_to_none_or_all() {
        assert_eq!(percent(0, 10), "0%");
        assert_eq!(percent(1, 1000), "<1%");
        assert_eq!(percent(999, 1000), "99%");
        assert_eq!(percent(1000, 1000), "100%");
        assert_eq!(percent(26, 100), "26%");
        assert_eq!(percent(1, 0), "-");
    }

    #[test]
    fn the_coverage_line_names_what_is_missing_most_first() {
        let theme = Theme::default();
        let text = |c: &CoverageStats| {
            coverage_line(c, &theme)
                .spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
        };
        let c = CoverageStats {
            calls: 1204,
            complete: 891,
            missing: [0, 0, 313, 36],
        };
        assert_eq!(
            text(&c),
            "coverage 74% of 1,204 calls · missing prompt version 26% · route 3%"
        );
        assert_eq!(coverage_line(&c, &theme).spans[0].style, theme.warn);
        let full = CoverageStats {
            calls: 10,
            complete: 10,
            missing: [0; 4],
        };
        assert_eq!(text(&full), "coverage 100% of 10 calls");
        assert_eq!(coverage_line(&full, &theme).spans[0].style, theme.ok);
        let bad = CoverageStats {
            calls: 10,
            complete: 1,
            missing: [9, 0, 0, 0],
        };
        assert_eq!(coverage_line(&bad, &theme).spans[0].style, theme.error);
        assert_eq!(
            text(&CoverageStats::default()),
            "coverage: no model calls in this window"
        );
    }
}
