//! Latency by cohort: p50/p95/p99 of model-call duration and of time to first token over the
//! window, the change of p99 against the window before, and a sparkline of p99; where the pane
//! is wide enough, the shape of the cohort's traces (model calls, tool spans and repeated tool
//! spans per trace: retries show here before they show in cost).

use super::common::{focused, pane_block, unfiltered_mark};
use crate::ui::state::{Pane, UiState};
use crate::ui::text::{clean, fit, fit_middle, fmt_count, fmt_micros};
use crate::ui::theme::Theme;
use crate::ui::view::{LatencyRow, View};
use crate::view::stats;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Sparkline columns for a latency pane of this width.
pub fn spark_width(pane_width: u16) -> usize {
    match pane_width {
        w if w >= 110 => 20,
        w if w >= 86 => 10,
        _ => 8,
    }
}

/// Block characters scaled to the largest value; gaps (no calls) stay blank.
pub fn sparkline(points: &[Option<u64>]) -> String {
    let max = points.iter().flatten().copied().max().unwrap_or(0).max(1);
    points
        .iter()
        .map(|p| match p {
            None => ' ',
            Some(v) => BARS[((*v as f64 / max as f64) * 7.0).round() as usize],
        })
        .collect()
}

/// `▲ 35%`, `▼ 12%`, `=` for changes under 5%, or `·` when either side has fewer than
/// [`stats::MIN_SAMPLES`] calls (a p99 of a few calls says nothing).
fn change(row: &LatencyRow, theme: &Theme) -> Span<'static> {
    let (Some(now), Some(prev)) = (row.latency.map(|l| l[2]), row.prev_p99) else {
        return Span::styled("·", theme.muted);
    };
    if !stats::enough(row.calls, row.prev_calls) {
        return Span::styled("·", theme.muted);
    }
    let pct = (now as f64 / prev.max(1) as f64 - 1.0) * 100.0;
    if pct.abs() < 5.0 {
        Span::styled("=", theme.muted)
    } else if pct > 0.0 {
        Span::styled(
            format!("▲{:.0}%", pct.min(9999.0)),
            if pct >= 25.0 { theme.error } else { theme.warn },
        )
    } else {
        Span::styled(format!("▼{:.0}%", -pct), theme.ok)
    }
}

/// The change column's header: `Δprev` (p99 against the window before) or `Δbase`.
pub fn delta_header(vs: Option<&str>) -> &'static str {
    match vs {
        Some("baseline") => "Δbase",
        _ => "Δprev",
    }
}

/// A cohort value in `max` cells: models shorten in the middle (`claude-son…4-5`), other
/// values at the end; every cut ends in `…`.
pub fn fit_cohort(value: &str, dim: &str, max: usize) -> String {
    if dim == "model" {
        fit_middle(value, max)
    } else {
        fit(value, max)
    }
}

/// Which columns fit: chosen by the pane's own width.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Columns {
    /// Full, and calls, tools and retries per trace before the change
    Wide,
    /// cohort, calls, p50 p95 p99, ttft p50 p95 p99, change, sparkline
    Full,
    /// cohort, calls, p50 p95 p99, ttft p99, change, sparkline
    Medium,
    /// cohort, p50 p99, change, sparkline
    Narrow,
}

impl Columns {
    fn for_width(w: u16) -> Self {
        match w {
            w if w >= 124 => Self::Wide,
            w if w >= 86 => Self::Full,
            w if w >= 62 => Self::Medium,
            _ => Self::Narrow,
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, view: &View, ui: &UiState, theme: &Theme, wide: bool) {
    let l = &view.latency;
    let columns = Columns::for_width(area.width);
    let title = if wide && matches!(columns, Columns::Full | Columns::Wide) {
        format!(
            " Latency by {} · {} · model calls (c: cohort) ",
            l.dim,
            ui.window().label()
        )
    } else {
        format!(" Latency by {} · {} ", l.dim, ui.window().label())
    };
    // With a baseline, the title says what Δp99 is against (`b` toggles).
    let title = match &l.vs {
        Some(vs) => format!("{}· Δ vs {vs} ", title.trim_end_matches(' ').to_string() + " "),
        None => title,
    };
    let block = unfiltered_mark(
        pane_block(title, area, focused(ui, Pane::Latency), theme),
        ui,
        theme,
    );
    if l.rows.is_empty() {
        let p = Paragraph::new(Line::styled("no model calls in this window", theme.muted)).block(block);
        frame.render_widget(p, area);
        return;
    }
    let q = |v: Option<[u64; 3]>, i: usize| Cell::from(v.map_or("-".to_string(), |v| fmt_micros(v[i])));
    let visible = usize::from(area.height.saturating_sub(3));
    let start = ui.latency_offset.min(l.rows.len().saturating_sub(visible.max(1)));
    let spark = Constraint::Length(spark_width(area.width) as u16);
    // The header says what the change is against: the window before, or the baseline.
    let delta = delta_header(l.vs.as_deref());
    let (header, widths): (Vec<&str>, Vec<Constraint>) = match columns {
        Columns::Wide => (
            vec![
                "cohort",
                "calls",
                "p50",
                "p95",
                "p99",
                "ttft50",
                "ttft95",
                "ttft99",
                "calls/tr",
                "tools/tr",
                "retry/tr",
                delta,
                "p99 trend",
            ],
            [Constraint::Min(12), Constraint::Length(6)]
                .into_iter()
                .chain([Constraint::Length(6); 6])
                .chain([Constraint::Length(8); 3])
                .chain([Constraint::Length(6), spark])
                .collect(),
        ),
        Columns::Full if l.vs.as_deref() == Some("baseline") => (
            vec![
                "cohort",
                "calls",
                "p50",
                "p95",
                "p99",
                "ttft99",
                "base99",
                delta,
                "p99 trend",
            ],
            [Constraint::Min(12), Constraint::Length(6)]
                .into_iter()
                .chain([Constraint::Length(6); 5])
                .chain([Constraint::Length(6), spark])
                .collect(),
        ),
        Columns::Full => (
            vec![
                "cohort",
                "calls",
                "p50",
                "p95",
                "p99",
                "ttft50",
                "ttft95",
                "ttft99",
                delta,
                "p99 trend",
            ],
            [Constraint::Min(12), Constraint::Length(6)]
                .into_iter()
                .chain([Constraint::Length(6); 6])
                .chain([Constraint::Length(6), spark])
                .collect(),
        ),
        Columns::Medium => (
            vec!["cohort", "calls", "p50", "p95", "p99", "ttft99", delta, "trend"],
            [Constraint::Min(10), Constraint::Length(6)]
                .into_iter()
                .chain([Constraint::Length(6); 4])
                .chain([Constraint::Length(6), spark])
                .collect(),
        ),
        Columns::Narrow => (
            vec!["cohort", "p50", "p99", delta, "trend"],
            vec![
                Constraint::Min(8),
                Constraint::Length(6),
                Constraint::Length(6),
                Constraint::Length(6),
                spark,
            ],
        ),
    };
    let cw = super::common::column_widths(area.width.saturating_sub(2), &widths);
    let rows = l.rows.iter().skip(start).take(visible).map(|r| {
        let name = Cell::from(fit_cohort(&clean(&r.cohort), l.dim, cw[0]));
        let spark = Cell::from(Span::styled(sparkline(&r.spark), theme.sparkline));
        let err = if r.errors > 0 {
            theme.error
        } else {
            Style::default()
        };
        let calls = Cell::from(Span::styled(fmt_count(r.calls), err));
        let per_trace = |i: usize| {
            let v = r.per_trace.map(|p| p[i]);
            let style = match (i, v) {
                (2, Some(v)) if v >= 1.0 => theme.warn,
                _ => Style::default(),
            };
            Cell::from(Span::styled(v.map_or("-".into(), |v| format!("{v:.1}")), style))
        };
        let cells = match columns {
            Columns::Wide => vec![
                name,
                calls,
                q(r.latency, 0),
                q(r.latency, 1),
                q(r.latency, 2),
                q(r.ttft, 0),
                q(r.ttft, 1),
                q(r.ttft, 2),
                per_trace(0),
                per_trace(1),
                per_trace(2),
                Cell::from(change(r, theme)),
                spark,
            ],
            Columns::Full if l.vs.as_deref() == Some("baseline") => vec![
                name,
                calls,
                q(r.latency, 0),
                q(r.latency, 1),
                q(r.latency, 2),
                q(r.ttft, 2),
                q(r.base, 2),
                Cell::from(change(r, theme)),
                spark,
            ],
            Columns::Full => vec![
                name,
                calls,
                q(r.latency, 0),
                q(r.latency, 1),
                q(r.latency, 2),
                q(r.ttft, 0),
                q(r.ttft, 1),
                q(r.ttft, 2),
                Cell::from(change(r, theme)),
                spark,
            ],
            Columns::Medium => vec![
                name,
                calls,
                q(r.latency, 0),
                q(r.latency, 1),
                q(r.latency, 2),
                q(r.ttft, 2),
                Cell::from(change(r, theme)),
                spark,
            ],
            Columns::Narrow => vec![
                name,
                q(r.latency, 0),
                q(r.latency, 2),
                Cell::from(change(r, theme)),
                spark,
            ],
        };
        Row::new(cells)
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_largest_point_and_keep_gaps() {
        assert_eq!(sparkline(&[Some(1), None, Some(8), Some(4)]), "▂ █▅");
        assert_eq!(sparkline(&[]), "");
    }
}
