//! Cost outliers: traces furthest above their cohort's cost baseline (median and MAD of trace
//! cost over the window). Unpriced calls are marked, never counted as free.

use super::{focused, pane_block};
use crate::ui::state::{Pane, UiState};
use crate::ui::text::{clean, fmt_count, fmt_usd};
use crate::ui::theme::Theme;
use crate::ui::view::View;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

pub fn render(frame: &mut Frame, area: Rect, view: &View, ui: &UiState, theme: &Theme) {
    let o = &view.outliers;
    // Chosen by the pane's own width: it shares its row with the evals pane on wide screens.
    let wide = area.width >= 100;
    let title = if wide {
        format!(
            " Cost outliers · baseline by {} · {} (Enter: show trace) ",
            o.dim,
            ui.window().label()
        )
    } else {
        format!(" Cost outliers · by {} · {} ", o.dim, ui.window().label())
    };
    let focus = focused(ui, Pane::Outliers);
    let block = pane_block(title, focus, theme);
    if o.rows.is_empty() {
        let p = Paragraph::new(Line::styled("no priced traces in this window", theme.muted)).block(block);
        frame.render_widget(p, area);
        return;
    }
    // The cohort column already says the route (or model) when that is the baseline's cohort.
    let show_route = wide && o.dim != "route";
    let show_model = wide && o.dim != "model";
    // With a baseline: the cohort's median over the whole baseline, where the pane has room.
    let base = o.base.as_ref().filter(|_| area.width >= 70);
    let rows = o.rows.iter().enumerate().map(|(i, x)| {
        let r = &x.row;
        let high = x.multiple >= 3.0 || r.cost_usd.unwrap_or(0.0) > x.median_usd + 5.0 * x.mad_usd;
        let mult = if x.multiple.is_finite() {
            format!("{:.1}×", x.multiple)
        } else {
            "∞".to_string()
        };
        let mut cost = fmt_usd(r.cost_usd.unwrap_or(0.0));
        if r.unpriced_calls > 0 {
            cost.push('+');
        }
        let span = r
            .costliest_span
            .as_ref()
            .map_or(String::new(), |(n, c)| format!("{} {}", clean(n), fmt_usd(*c)));
        let text = |s: Option<&crate::intern::Sym>| s.map_or(String::new(), |s| clean(s).into_owned());
        let mut cells = vec![
            Cell::from(Span::styled(cost, if high { theme.error } else { theme.base })),
            Cell::from(Span::styled(mult, if high { theme.error } else { theme.warn })),
            Cell::from(format!("med {}", fmt_usd(x.median_usd))),
        ];
        if let Some(base) = base {
            cells.push(match base.get(i).copied().flatten() {
                Some(usd) => Cell::from(format!("base {}", fmt_usd(usd))),
                None => Cell::from(Span::styled("new", theme.muted)),
            });
        }
        cells.push(Cell::from(clean(&x.cohort).into_owned()));
        if show_route {
            cells.push(Cell::from(text(r.route.as_ref())));
        }
        if show_model {
            cells.push(Cell::from(text(r.primary_model.as_ref())));
        }
        if wide {
            cells.push(Cell::from(fmt_count(r.tokens())));
        }
        cells.push(Cell::from(span));
        let row = Row::new(cells);
        if focus && i == ui.outlier_cursor {
            row.style(theme.selection)
        } else {
            row
        }
    });
    let mut header = vec!["cost", "×base", "baseline"];
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(12),
    ];
    if base.is_some() {
        header.push("--baseline");
        widths.push(Constraint::Length(13));
    }
    header.push(o.dim);
    widths.push(Constraint::Min(10));
    if show_route {
        header.push("route");
        widths.push(Constraint::Min(10));
    }
    if show_model {
        header.push("model");
        widths.push(Constraint::Min(10));
    }
    if wide {
        header.push("tokens");
        widths.push(Constraint::Length(6));
    }
    header.push("costliest span");
    widths.push(Constraint::Min(14));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}
