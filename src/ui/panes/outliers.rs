//! Cost outliers: traces furthest above their cohort's cost baseline (median and MAD of trace
//! cost over the window) under [`crate::store::outliers::CostRule`], the rule retention keeps
//! `cost_outlier` traces by; ranked by the excess over the median. Unpriced calls are marked,
//! never counted as free.

use super::common::{focused, pane_block, unfiltered_mark};
use crate::ui::state::{Pane, UiState};
use crate::ui::text::{clean, fit, fit_middle, fmt_count, fmt_usd, width as text_width};
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
    let block = unfiltered_mark(pane_block(title, area, focus, theme), ui, theme);
    if o.rows.is_empty() {
        let p = Paragraph::new(Line::styled(empty_text(&o.counts), theme.muted))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(block);
        frame.render_widget(p, area);
        return;
    }
    // The cohort column already says the route (or model) when that is the baseline's cohort.
    let show_route = wide && o.dim != "route";
    let show_model = wide && o.dim != "model";
    // With a baseline: the cohort's median over the whole baseline, where the pane has room.
    let base = o.base.as_ref().filter(|_| area.width >= 70);
    let mut header = vec!["cost", "over med", "×med", "baseline"];
    let mut widths = vec![
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(5),
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
    let cw = super::common::column_widths(area.width.saturating_sub(2), &widths);
    let rows = o.rows.iter().enumerate().map(|(i, x)| {
        let r = &x.row;
        // Never cut: past 999× the column says so rather than losing digits.
        let mult = match x.multiple {
            m if !m.is_finite() => "∞".to_string(),
            m if m >= 999.5 => ">999×".to_string(),
            m => format!("{m:.0}×"),
        };
        let mut cost = fmt_usd(r.cost_usd.unwrap_or(0.0));
        if r.unpriced_calls > 0 {
            cost.push('+');
        }
        // The span's name gives way to its cost: the amount is never cut.
        let span = r.costliest_span.as_ref().map_or(String::new(), |(n, c)| {
            let usd = fmt_usd(*c);
            let room = cw[cw.len() - 1].saturating_sub(text_width(&usd) + 1);
            if room == 0 {
                usd
            } else {
                format!("{} {usd}", fit(&clean(n), room))
            }
        });
        let text = |s: Option<&crate::intern::Sym>| s.map_or(String::new(), |s| clean(s).into_owned());
        let mut col = 4 + usize::from(base.is_some());
        let mut cells = vec![
            Cell::from(Span::styled(cost, theme.error)),
            Cell::from(Span::styled(format!("+{}", fmt_usd(x.excess_usd)), theme.error)),
            Cell::from(Span::styled(mult, theme.warn)),
            Cell::from(format!("med {}", fmt_usd(x.median_usd))),
        ];
        if let Some(base) = base {
            cells.push(match base.get(i).copied().flatten() {
                Some(usd) => Cell::from(format!("base {}", fmt_usd(usd))),
                None => Cell::from(Span::styled("new", theme.muted)),
            });
        }
        cells.push(Cell::from(super::latency::fit_cohort(
            &clean(&x.cohort),
            o.dim,
            cw[col],
        )));
        col += 1;
        if show_route {
            cells.push(Cell::from(fit(&text(r.route.as_ref()), cw[col])));
            col += 1;
        }
        if show_model {
            cells.push(Cell::from(fit_middle(&text(r.primary_model.as_ref()), cw[col])));
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
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

/// What an empty pane says: nothing priced, too few priced traces for a baseline, or nothing
/// past the rule.
fn empty_text(c: &crate::view::index::OutlierCounts) -> String {
    use crate::store::outliers::{MIN_MULTIPLE, MIN_TRACES};
    match (c.priced, c.baselines) {
        (0, _) => "no priced traces in this window".into(),
        (1, 0) => format!("1 priced trace (need {MIN_TRACES} in a cohort for a baseline)"),
        (n, 0) => format!("{n} priced traces (need {MIN_TRACES} in a cohort for a baseline)"),
        (n, _) => format!(
            "no outliers in {n} priced traces (≥{MIN_MULTIPLE:.0}× the cohort median and ≥{} over it)",
            fmt_usd(c.floor_usd)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::index::OutlierCounts;

    #[test]
    fn an_empty_pane_says_why() {
        let c = |priced, baselines| {
            empty_text(&OutlierCounts {
                priced,
                baselines,
                floor_usd: 0.01,
            })
        };
        assert_eq!(c(0, 0), "no priced traces in this window");
        assert_eq!(c(1, 0), "1 priced trace (need 20 in a cohort for a baseline)");
        assert_eq!(c(7, 0), "7 priced traces (need 20 in a cohort for a baseline)");
        assert_eq!(
            c(300, 2),
            "no outliers in 300 priced traces (≥3× the cohort median and ≥$0.010 over it)"
        );
    }
}
