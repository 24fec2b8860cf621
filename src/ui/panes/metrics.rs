//! The metrics view (`4`): one row per metric series (name × the attributes that matter) with
//! its current value, or p50/p95 for histograms, its unit and a sparkline.

use super::common::pane_block;
use crate::ui::text::{clean, fit, fmt_count};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One series, its text escaped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricLine {
    pub name: String,
    /// `model=gpt-4o type=input`.
    pub attrs: String,
    /// The current value, or `p50 1.2s · p95 3.4s`.
    pub value: String,
    /// Observations in a histogram, `-` for sums and gauges.
    pub count: String,
    pub unit: String,
    /// Sparkline values, oldest first.
    pub spark: Vec<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsView {
    pub rows: Vec<MetricLine>,
    pub offset: usize,
    pub cursor: usize,
    pub matched: usize,
    pub total: usize,
    pub dropped_series: u64,
    pub filtered: bool,
}

pub fn body_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3)).max(1)
}

/// Sparkline width for a pane `width` wide.
pub fn spark_width(width: u16) -> usize {
    if width >= super::common::WIDE { 30 } else { 12 }
}

/// Bars scaled from zero to the largest point (an all-zero line stays flat).
pub fn sparkline(points: &[f64]) -> String {
    let max = points.iter().copied().fold(0.0f64, f64::max);
    points
        .iter()
        .map(|&p| {
            if max <= 0.0 || !p.is_finite() {
                BARS[0]
            } else {
                let i = ((p / max) * (BARS.len() - 1) as f64).round() as usize;
                BARS[i.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// Short names for the series attributes (the full keys are in the docs).
pub fn short_key(key: &str) -> &str {
    match key {
        "gen_ai.request.model" => "model",
        "gen_ai.operation.name" => "op",
        "gen_ai.token.type" => "type",
        "gen_ai.provider.name" | "gen_ai.system" => "provider",
        "server.address" => "server",
        "service.name" => "service",
        "error.type" => "error",
        "http.route" => "route",
        other => other,
    }
}

/// `k=v` pairs joined by spaces, escaped.
pub fn attrs_text(attrs: &[(String, String)]) -> String {
    let parts: Vec<String> = attrs
        .iter()
        .map(|(k, v)| format!("{}={}", short_key(k), clean(v)))
        .collect();
    parts.join(" ")
}

pub fn render(frame: &mut Frame, area: Rect, v: &MetricsView, theme: &Theme) {
    let mut title = vec![Span::raw(" Metrics ")];
    title.push(if v.filtered {
        Span::styled(
            format!(
                "{} of {} series match ",
                fmt_count(v.matched as u64),
                fmt_count(v.total as u64)
            ),
            theme.accent,
        )
    } else {
        Span::styled(format!("{} series ", fmt_count(v.total as u64)), theme.muted)
    });
    if v.dropped_series > 0 {
        title.push(Span::styled(
            format!("{} series dropped (cap) ", fmt_count(v.dropped_series)),
            theme.warn,
        ));
    }
    let block = pane_block(Line::from(title), area, true, theme);
    if v.rows.is_empty() {
        let msg = if v.total == 0 {
            "no metrics yet: OTLP metrics sent to /v1/metrics (or gRPC MetricsService) are listed here"
        } else {
            "no series matches the filter (Esc clears it)"
        };
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.muted)).block(block), area);
        return;
    }
    let wide = area.width >= super::common::WIDE;
    let inner = usize::from(area.width.saturating_sub(2));
    let spark_w = spark_width(area.width);
    let value_w = if wide { 22 } else { 20 };
    let count_w = 6;
    let unit_w = if wide { 8 } else { 5 };
    let gaps = if wide { 6 } else { 4 };
    let rest = inner.saturating_sub(spark_w + value_w + unit_w + gaps + if wide { count_w } else { 0 });
    let name_w = if wide { (rest * 2 / 5).max(10) } else { rest.max(8) };
    let attrs_w = rest.saturating_sub(name_w);
    let rows = v.rows.iter().enumerate().map(|(i, r)| {
        // Narrow screens show the attributes on the name's line after it, when room is left.
        // Narrow screens show the attributes after the name, which leaves off the GenAI
        // prefix every such name shares.
        let name = if wide || r.attrs.is_empty() {
            fit(&r.name, name_w)
        } else {
            let short = ["gen_ai.client.", "gen_ai.server."]
                .iter()
                .find_map(|p| r.name.strip_prefix(p))
                .unwrap_or(&r.name);
            fit(&format!("{short} {}", r.attrs), name_w)
        };
        let mut cells = vec![Cell::from(name)];
        if wide {
            cells.push(Cell::from(Span::styled(fit(&r.attrs, attrs_w), theme.muted)));
        }
        cells.push(Cell::from(Line::from(r.value.clone()).right_aligned()));
        if wide {
            cells.push(Cell::from(Line::from(r.count.clone()).right_aligned()));
        }
        cells.push(Cell::from(Span::styled(fit(&r.unit, unit_w), theme.muted)));
        cells.push(Cell::from(Span::styled(sparkline(&r.spark), theme.sparkline)));
        let row = Row::new(cells);
        if v.offset + i == v.cursor {
            row.style(theme.selection)
        } else {
            row
        }
    });
    let mut widths = vec![Constraint::Length(name_w as u16)];
    let mut header = vec!["metric"];
    if wide {
        widths.push(Constraint::Length(attrs_w as u16));
        header.push("attributes");
    }
    widths.push(Constraint::Length(value_w as u16));
    header.push("value");
    if wide {
        widths.push(Constraint::Length(count_w as u16));
        header.push("count");
    }
    widths.extend([
        Constraint::Length(unit_w as u16),
        Constraint::Length(spark_w as u16),
    ]);
    header.extend(["unit", "trend"]);
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
    fn sparklines_scale_to_the_largest_point() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 4.0]), "▁▃▅█");
        assert_eq!(sparkline(&[0.0, 0.0]), "▁▁");
    }
}
