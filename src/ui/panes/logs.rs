//! The logs view (`3`): the OTLP log records held, newest first, one line each: severity,
//! time, service, the trace it points into, body and a few attributes.

use super::common::pane_block;
use crate::model::TraceId;
use crate::ui::text::{clean, fit, fmt_count};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// One log line, its text already escaped and shortened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogLine {
    /// Arrival number (store-wide).
    pub n: u64,
    pub severity_number: i32,
    pub severity: String,
    pub time_unix_nano: u64,
    pub service: String,
    pub trace: Option<TraceId>,
    pub body: String,
    /// `key=value` pairs.
    pub attrs: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogsView {
    pub rows: Vec<LogLine>,
    pub offset: usize,
    pub cursor: usize,
    /// Logs that pass the filter (among those read, see `capped`).
    pub matched: usize,
    /// Logs held in the store.
    pub held: u64,
    /// The filter read only the newest logs (the bound on one frame's work).
    pub capped: bool,
    pub follow: bool,
    pub filtered: bool,
}

/// Rows of the table body in the pane at `area` (border and header taken off).
pub fn body_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3)).max(1)
}

/// A severity as a short label (`ERROR`, `WARN`, ...) from its number, else its text.
pub fn severity_label(number: i32, text: Option<&str>) -> String {
    let by_number = match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "",
    };
    if by_number.is_empty() {
        let t = clean(text.unwrap_or("-")).to_ascii_uppercase();
        fit(&t, 5)
    } else {
        by_number.to_string()
    }
}

fn severity_style(number: i32, severity: &str, theme: &Theme) -> Style {
    let n = if number > 0 {
        number
    } else {
        match severity {
            "ERROR" | "ERR" | "FATAL" => 17,
            "WARN" | "WARNI" => 13,
            _ => 9,
        }
    };
    match n {
        17.. => theme.error,
        13..=16 => theme.warn,
        1..=8 => theme.muted,
        _ => theme.base,
    }
}

/// `HH:MM:SS.mmm` (UTC) of a time in nanoseconds.
fn clock_ms(unix_nano: u64) -> String {
    let secs = unix_nano / 1_000_000_000;
    let ms = unix_nano / 1_000_000 % 1000;
    format!("{}.{ms:03}", crate::ui::text::fmt_clock(secs))
}

pub fn render(frame: &mut Frame, area: Rect, v: &LogsView, theme: &Theme) {
    let mut title = vec![Span::raw(" Logs · newest first ")];
    if !v.follow && v.held > 0 {
        title.push(Span::styled("pinned (f: follow) ", theme.warn));
    }
    let matched = format!(
        "{}{}",
        fmt_count(v.matched as u64),
        if v.capped { "+" } else { "" }
    );
    title.push(if v.filtered {
        Span::styled(format!("{matched} of {} match ", fmt_count(v.held)), theme.accent)
    } else {
        Span::styled(format!("{} held ", fmt_count(v.held)), theme.muted)
    });
    let block = pane_block(Line::from(title), area, true, theme);
    if v.rows.is_empty() {
        let msg = if v.held == 0 {
            "no logs yet: OTLP logs sent to /v1/logs (or gRPC LogsService) are listed here"
        } else {
            "no log matches the filter (Esc clears it)"
        };
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.muted)).block(block), area);
        return;
    }
    let wide = area.width >= super::common::WIDE;
    let inner = usize::from(area.width.saturating_sub(2));
    // Fixed columns: severity 5, time 12, service, trace 8, with one-column gaps.
    let service_w = if wide { 16 } else { 10 };
    let trace_w = 8;
    let fixed = 5 + 12 + service_w + trace_w + 4;
    let rest = inner.saturating_sub(fixed + 1);
    let (body_w, attrs_w) = if wide {
        (rest * 3 / 5, rest - rest * 3 / 5 - 1)
    } else {
        (rest, 0)
    };
    let rows = v.rows.iter().enumerate().map(|(i, r)| {
        let mut cells = vec![
            Cell::from(Span::styled(
                r.severity.clone(),
                severity_style(r.severity_number, &r.severity, theme),
            )),
            Cell::from(Span::styled(clock_ms(r.time_unix_nano), theme.muted)),
            Cell::from(fit(&r.service, service_w)),
            Cell::from(match &r.trace {
                Some(id) => Span::styled(id.to_string()[..8].to_string(), theme.accent),
                None => Span::styled("·", theme.muted),
            }),
            Cell::from(fit(&r.body, body_w)),
        ];
        if wide {
            cells.push(Cell::from(Span::styled(fit(&r.attrs, attrs_w), theme.muted)));
        }
        let row = Row::new(cells);
        if v.offset + i == v.cursor {
            row.style(theme.selection)
        } else {
            row
        }
    });
    let mut widths = vec![
        Constraint::Length(5),
        Constraint::Length(12),
        Constraint::Length(service_w as u16),
        Constraint::Length(trace_w as u16),
        Constraint::Length(body_w as u16),
    ];
    let mut header = vec!["sev", "time", "service", "trace", "body"];
    if wide {
        widths.push(Constraint::Length(attrs_w as u16));
        header.push("attributes");
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}
