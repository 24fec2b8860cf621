//! Trace volume: traces/s and error traces/s over the window, as a line chart; split by
//! service or model with `v`.

use super::{focused, pane_block};
use crate::ui::state::{Pane, UiState};
use crate::ui::text::{clean, fmt_count};
use crate::ui::theme::Theme;
use crate::ui::view::View;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Paragraph};

pub fn render(frame: &mut Frame, area: Rect, view: &View, ui: &UiState, theme: &Theme) {
    let v = &view.volume;
    let split = match ui.split {
        crate::ui::state::Split::None => String::new(),
        s => format!("· {} ", s.label()),
    };
    let title = Line::from(vec![
        Span::raw(format!(" Volume {} {split}", v.window)),
        Span::styled(format!("{} traces ", fmt_count(v.traces)), theme.muted),
        Span::styled(
            format!("{} err ", fmt_count(v.error_traces)),
            if v.error_traces > 0 {
                theme.error
            } else {
                theme.muted
            },
        ),
    ]);
    let block = pane_block(title, focused(ui, Pane::Volume), theme);
    if v.traces == 0 {
        let p = Paragraph::new(Line::styled("no traces in this window yet", theme.muted)).block(block);
        frame.render_widget(p, area);
        return;
    }
    let names: Vec<String> = v.lines.iter().map(|(n, _)| clean(n).into_owned()).collect();
    let mut datasets: Vec<Dataset> = v
        .lines
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(i, ((_, pts), name))| {
            let style = if v.lines.len() == 1 {
                theme.chart_traces
            } else {
                theme.series(i)
            };
            Dataset::default()
                .name(name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(pts)
        })
        .collect();
    if v.error_traces > 0 {
        datasets.push(
            Dataset::default()
                .name("errors")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.chart_errors)
                .data(&v.errors),
        );
    }
    let top = (v.max_rate * 1.15).max(0.1);
    let x_axis = Axis::default()
        .style(theme.muted)
        .bounds([-(v.window_secs as f64), 0.0])
        .labels([Span::raw(format!("-{}", v.window)), Span::raw("now")]);
    let y_axis = Axis::default()
        .style(theme.muted)
        .bounds([0.0, top])
        .labels([Span::raw("0"), Span::raw(format!("{top:.1}/s"))]);
    let legend = (v.lines.len() > 1 || v.error_traces > 0) && area.height >= 8;
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(x_axis)
        .y_axis(y_axis)
        .legend_position(legend.then_some(LegendPosition::TopLeft))
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Percentage(60),
            ratatui::layout::Constraint::Percentage(60),
        ));
    frame.render_widget(chart, area);
}
