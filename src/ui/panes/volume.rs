//! Trace volume: traces/s and error traces/s over the window, as a line chart; split by
//! service or model with `v` (each line's legend then says its spend). The title says what the
//! window costs (`$1.84 · $22/h`), tokens per minute and the error rate.

use super::common::{focused, pane_block, unfiltered_mark};
use crate::ui::state::{Pane, UiState};
use crate::ui::text::{clean, fmt_count, fmt_spend};
use crate::ui::theme::Theme;
use crate::ui::view::View;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

/// The title's parts in their order on screen, each with its rank and its forms (fullest
/// first). When the pane is narrow, the parts are taken by rank in their shortest form (the
/// spend, then the error count and rate, then traces and tokens), then grown back to their
/// fuller forms by rank while they fit: parts are left out rather than the title cut.
fn title<'a>(v: &crate::ui::view::VolumeView, split: &str, width: usize, theme: &Theme) -> Vec<Span<'a>> {
    let err_style = if v.error_traces > 0 {
        theme.error
    } else {
        theme.muted
    };
    let muted = theme.muted;
    let plain = ratatui::style::Style::new();
    let mut parts: Vec<(u8, Vec<String>, ratatui::style::Style)> =
        vec![(0, vec![format!(" Volume {} {split}", v.window)], plain)];
    if v.traces > 0 {
        let (_, per_hour) = v.spend();
        let short = format!("{}/h ", fmt_spend(per_hour));
        parts.push((1, vec![format!("{} ", v.spend_text()), short], plain));
    }
    parts.push((4, vec![format!("{} traces ", fmt_count(v.traces))], muted));
    if v.traces > 0 {
        let tokens = fmt_count(v.tokens_per_min().round() as u64);
        parts.push((5, vec![format!("{tokens} tok/min ")], muted));
    }
    parts.push((2, vec![format!("{} err ", fmt_count(v.error_traces))], err_style));
    if let Some(p) = v.error_pct() {
        parts.push((3, vec![format!("{p:.1}% ")], err_style));
    }
    let w = |s: &str| s.chars().count();
    // The form each part shows, if any.
    let mut chosen: Vec<Option<usize>> = vec![None; parts.len()];
    let mut used = 0;
    for rank in 0..=5 {
        for (i, (r, forms, _)) in parts.iter().enumerate() {
            let last = forms.len() - 1;
            if *r == rank && (rank == 0 || used + w(&forms[last]) <= width) {
                chosen[i] = Some(last);
                used += w(&forms[last]);
            }
        }
    }
    for rank in 0..=5 {
        for (i, (r, forms, _)) in parts.iter().enumerate() {
            let Some(now) = chosen[i].filter(|_| *r == rank) else {
                continue;
            };
            if let Some(k) = (0..now).find(|&k| used - w(&forms[now]) + w(&forms[k]) <= width) {
                used = used - w(&forms[now]) + w(&forms[k]);
                chosen[i] = Some(k);
            }
        }
    }
    parts
        .into_iter()
        .zip(chosen)
        .filter_map(|((_, mut forms, style), k)| k.map(|k| Span::styled(forms.swap_remove(k), style)))
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, view: &View, ui: &UiState, theme: &Theme) {
    let v = &view.volume;
    let split = match ui.split {
        crate::ui::state::Split::None => String::new(),
        s => format!("· {} ", s.label()),
    };
    let title = Line::from(title(v, &split, area.width.saturating_sub(2).into(), theme));
    let block = unfiltered_mark(
        pane_block(title, area, focused(ui, Pane::Volume), theme),
        ui,
        theme,
    );
    if v.traces == 0 {
        let p = Paragraph::new(Line::styled("no traces in this window yet", theme.muted)).block(block);
        frame.render_widget(p, area);
        return;
    }
    let names: Vec<String> = v
        .lines
        .iter()
        .enumerate()
        .map(|(i, (n, _))| match v.line_spend.get(i) {
            Some(usd) => format!("{} {}", clean(n), fmt_spend(*usd)),
            None => clean(n).into_owned(),
        })
        .collect();
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
        // The x axis is event time (the spans' own clock), which a replay or the demo runs
        // at its own pace: said where there is room.
        .labels([
            Span::raw(format!("-{}", v.window)),
            Span::raw(if area.width >= 60 {
                "now (event time)"
            } else {
                "now"
            }),
        ]);
    let y_axis = Axis::default()
        .style(theme.muted)
        .bounds([0.0, top])
        .labels([Span::raw("0"), Span::raw(format!("{top:.1}/s"))]);
    // The legend is a line of its own above the plot, never over the data: each line's
    // colour and name (split: and its spend), entries that do not fit left out and counted.
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut entries: Vec<(String, ratatui::style::Style)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let style = if v.lines.len() == 1 {
                theme.chart_traces
            } else {
                theme.series(i)
            };
            (n.clone(), style)
        })
        .collect();
    if v.error_traces > 0 {
        entries.push(("errors".into(), theme.chart_errors));
    }
    let legend = (v.lines.len() > 1 || v.error_traces > 0) && inner.height >= 4;
    let plot = if legend {
        let [top, rest] = ratatui::layout::Layout::vertical([
            ratatui::layout::Constraint::Length(1),
            ratatui::layout::Constraint::Min(0),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(legend_line(&entries, top.width, theme)), top);
        rest
    } else {
        inner
    };
    let chart = Chart::new(datasets)
        .x_axis(x_axis)
        .y_axis(y_axis)
        .legend_position(None);
    frame.render_widget(chart, plot);
}

/// `━ name  ━ name  +2 more`: as many entries as fit in `width`, in order; never a cut name.
fn legend_line(entries: &[(String, ratatui::style::Style)], width: u16, theme: &Theme) -> Line<'static> {
    let width = usize::from(width);
    let w = |s: &str| Span::raw(s.to_string()).width();
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, (name, style)) in entries.iter().enumerate() {
        let entry = 2 + w(name) + 2;
        let left = entries.len() - i - 1;
        // Room for this entry, and for the "+N more" that would follow it.
        let more = if left > 0 { w(&format!("+{left} more")) } else { 0 };
        if used + entry + more > width {
            let rest = entries.len() - i;
            spans.push(Span::styled(format!("+{rest} more"), theme.muted));
            break;
        }
        spans.push(Span::styled("━ ", *style));
        spans.push(Span::styled(format!("{name}  "), theme.muted));
        used += entry;
    }
    Line::from(spans)
}
