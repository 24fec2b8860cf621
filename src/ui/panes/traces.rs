//! The trace list: newest first by default; sortable, filterable, and the selection stays on
//! its trace while rows arrive.

use super::common::{focused, pane_block};
use crate::ui::state::{Pane, UiState};
use crate::ui::text::{clean, fit, fit_middle, fmt_clock, fmt_count, fmt_nanos, fmt_usd};
use crate::ui::theme::Theme;
use crate::ui::view::View;
use crate::view::row::TraceRow;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// `2✓ 1✗`, `1?` for verdicts without a pass/fail, or empty.
fn verdicts(row: &TraceRow, theme: &Theme) -> Line<'static> {
    let pass = row.passed_verdicts();
    let fail = row.failed_verdicts();
    let other = row.verdicts.len() - pass - fail;
    let mut spans = Vec::new();
    if pass > 0 {
        spans.push(Span::styled(format!("{pass}✓"), theme.verdict_pass));
    }
    if fail > 0 {
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(format!("{fail}✗"), theme.verdict_fail));
    }
    if other > 0 {
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(format!("{other}?"), theme.muted));
    }
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, view: &View, ui: &UiState, theme: &Theme, wide: bool) {
    let t = &view.traces;
    let mut title = vec![Span::raw(format!(" Traces · sort: {} (s) ", t.sort.label()))];
    if !ui.list.follow && t.total > 0 {
        title.push(Span::styled("pinned (g: top) ", theme.warn));
    }
    if t.filtered != t.total {
        title.push(Span::styled(
            format!(
                "{} of {} match ",
                fmt_count(t.filtered as u64),
                fmt_count(t.total as u64)
            ),
            theme.accent,
        ));
    } else {
        title.push(Span::styled(
            format!("{} held ", fmt_count(t.total as u64)),
            theme.muted,
        ));
    }
    let block = pane_block(Line::from(title), area, focused(ui, Pane::Traces), theme);
    if t.rows.is_empty() {
        let msg = if t.total == 0 {
            "waiting for traces: point an OTLP exporter here, or run `llmwatch demo`"
        } else {
            "no trace matches the filter (Esc clears it)"
        };
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.muted)).block(block), area);
        return;
    }
    let (header, widths) = if wide {
        (
            vec![
                "time", "", "name", "route", "models", "dur", "tokens", "cost", "evals",
            ],
            vec![
                Constraint::Length(8),
                Constraint::Length(1),
                Constraint::Min(16),
                Constraint::Min(12),
                Constraint::Min(12),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Length(9),
                Constraint::Length(8),
            ],
        )
    } else {
        (
            vec!["time", "", "name", "dur", "tokens", "cost", "evals"],
            vec![
                Constraint::Length(8),
                Constraint::Length(1),
                Constraint::Min(12),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Length(9),
                Constraint::Length(8),
            ],
        )
    };
    let cw = super::common::column_widths(area.width.saturating_sub(2), &widths);
    let rows = t.rows.iter().enumerate().map(|(i, r)| {
        let name = r
            .root_name
            .as_deref()
            .map_or_else(|| "(root missing)".to_string(), |n| clean(n).into_owned());
        let mut cost = r.cost_usd.map_or("-".to_string(), fmt_usd);
        if r.unpriced_calls > 0 {
            cost.push('+');
        }
        let err = if r.is_error() {
            Span::styled("✗", theme.error)
        } else {
            Span::raw("")
        };
        let mut cells = vec![
            Cell::from(Span::styled(
                fmt_clock(r.start_unix_nano / 1_000_000_000),
                theme.muted,
            )),
            Cell::from(err),
            Cell::from(fit(&name, cw[2])),
        ];
        if wide {
            cells.push(Cell::from(fit(
                &r.route
                    .as_deref()
                    .map_or(String::new(), |s| clean(s).into_owned()),
                cw[3],
            )));
            // One model shortens in the middle (its version is at the end); several at the end.
            let models = clean(&r.models.iter().map(|m| &**m).collect::<Vec<_>>().join(",")).into_owned();
            cells.push(Cell::from(if r.models.len() == 1 {
                fit_middle(&models, cw[4])
            } else {
                fit(&models, cw[4])
            }));
        }
        cells.extend([
            Cell::from(fmt_nanos(r.duration_nanos)),
            Cell::from(fmt_count(r.tokens())),
            Cell::from(cost),
            Cell::from(verdicts(r, theme)),
        ]);
        let row = Row::new(cells);
        if t.offset + i == t.cursor {
            row.style(theme.selection)
        } else {
            row
        }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}
