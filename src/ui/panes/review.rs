//! The review queue screen and the review form modal (issue 14).

use super::common::pane_block;
use crate::store::keep::KeepReason;
use crate::ui::keys::{self, Context, Mode};
use crate::ui::review::{FormField, ReviewForm};
use crate::ui::text::{clean, fit, fmt_clock, width as text_width};
use crate::ui::theme::Theme;
use crate::view::row::TraceRow;
use ratatui::Frame;
use ratatui::layout::{Constraint, Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Clear, Paragraph, Row, Table};

/// The queue's rows on screen (from `offset`), the selection, and how many there are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueView {
    pub rows: Vec<TraceRow>,
    pub offset: usize,
    pub cursor: usize,
    pub total: usize,
}

/// The reason as the "why" column says it.
fn reason_label(r: KeepReason) -> &'static str {
    match r {
        KeepReason::AlertExample => "alert example",
        KeepReason::ThumbsDown => "thumbs-down",
        KeepReason::FailedVerdict => "failed eval",
        KeepReason::Error => "error",
        KeepReason::CostOutlier => "cost",
        KeepReason::Slow => "slow",
        KeepReason::Human => "human",
        KeepReason::ReviewQueue => "queued",
    }
}

/// `Groundedness 0.31 ✗`, `tone bad ✗` (a label when there is no score), or empty.
/// The worst verdict in `max` cells: the evaluator's name gives way (with `…`) to the score
/// and the mark, which are never cut.
fn worst(row: &TraceRow, theme: &Theme, max: usize) -> Line<'static> {
    let Some(w) = &row.worst else {
        return Line::default();
    };
    let what = match (w.score, &w.label) {
        (Some(s), _) => format!("{s:.2}"),
        (None, Some(l)) => clean(l).into_owned(),
        (None, None) => String::new(),
    };
    let (mark, style) = match w.passed {
        Some(true) => ("✓", theme.verdict_pass),
        Some(false) => ("✗", theme.verdict_fail),
        None => ("?", theme.muted),
    };
    let tail = format!(" {what} {mark}");
    let name = fit(&clean(&w.name), max.saturating_sub(text_width(&tail)));
    Line::from(Span::styled(format!("{name}{tail}"), style))
}

/// Body rows of the queue table in `area` (border and header taken off).
pub fn body_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3)).max(1)
}

pub fn render_queue(frame: &mut Frame, area: Rect, q: &QueueView, theme: &Theme) {
    let title = Line::from(vec![
        Span::raw(" Review queue "),
        Span::styled(
            format!(
                "· {} trace{} kept for a reason ",
                q.total,
                if q.total == 1 { "" } else { "s" }
            ),
            theme.muted,
        ),
    ]);
    let block = pane_block(title, area, true, theme);
    if q.rows.is_empty() {
        let msg = "nothing to review: failing, erroring, slow, costly and complained-about traces \
                   land here";
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.muted)).block(block), area);
        return;
    }
    let widths = [
        Constraint::Length(22),
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Fill(2),
        Constraint::Length(8),
    ];
    let cw = super::common::column_widths(area.width.saturating_sub(2), &widths);
    let rows = q.rows.iter().enumerate().map(|(i, r)| {
        let why: Vec<&str> = r.kept.iter().map(reason_label).collect();
        let reviewed = if r.reviewed {
            Span::styled("reviewed", theme.ok)
        } else {
            Span::styled("-", theme.muted)
        };
        let row = Row::new(vec![
            Cell::from(Span::styled(fit(&why.join(", "), cw[0]), theme.warn)),
            Cell::from(Span::styled(
                fmt_clock(r.start_unix_nano / 1_000_000_000),
                theme.muted,
            )),
            Cell::from(fit(
                &r.route
                    .as_deref()
                    .map_or(String::new(), |s| clean(s).into_owned()),
                cw[2],
            )),
            Cell::from(worst(r, theme, cw[3])),
            Cell::from(reviewed),
        ]);
        let row = if r.reviewed {
            // Done: dimmed, still listed (the reason to keep it stands).
            row.style(theme.muted.add_modifier(Modifier::DIM))
        } else {
            row
        };
        if q.offset + i == q.cursor {
            row.style(theme.selection)
        } else {
            row
        }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(["why", "time", "route", "worst verdict", "reviewed"]).style(theme.header))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

/// The queue screen's bottom line: a note, else its keys.
pub fn render_queue_footer(frame: &mut Frame, area: Rect, note: Option<&str>, theme: &Theme) {
    let mut spans = Vec::new();
    if let Some(n) = note {
        spans.push(Span::styled(format!("{}  ", clean(n)), theme.warn));
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let width = usize::from(area.width).saturating_sub(used);
    spans.extend(keys::footer_spans(Mode::Queue, &Context::default(), width, theme));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.status_bar), area);
}

/// The review form, centred over `area`.
pub fn render_form(frame: &mut Frame, area: Rect, form: &ReviewForm, theme: &Theme) {
    let w = area.width.min(64);
    let h = area.height.min(8);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let field_style = |f: FormField| {
        if form.field == f {
            theme.accent.add_modifier(Modifier::BOLD)
        } else {
            theme.muted
        }
    };
    let choice = |on: bool, text: &'static str, style| {
        if on {
            Span::styled(text, style)
        } else {
            Span::styled(text, theme.muted)
        }
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{:<10} ", "verdict"), field_style(FormField::Verdict)),
        choice(
            form.passed == Some(true),
            "[p] pass",
            theme.verdict_pass.add_modifier(Modifier::REVERSED),
        ),
        Span::raw("  "),
        choice(
            form.passed == Some(false),
            "[f] fail",
            theme.verdict_fail.add_modifier(Modifier::REVERSED),
        ),
    ])];
    let texts = [
        (FormField::Label, "label", &form.label, "e.g. stale-policy"),
        (FormField::Note, "note", &form.note, ""),
        (FormField::Evaluator, "evaluator", &form.evaluator, ""),
    ];
    for (f, name, value, hint) in texts {
        let shown = if value.is_empty() && form.field != f {
            Span::styled(hint, theme.muted)
        } else {
            Span::styled(clean(value).into_owned(), theme.base)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{name:<10} "), field_style(f)),
            shown,
        ]));
    }
    lines.push(Line::default());
    lines.push(match &form.error {
        Some(e) => Line::styled(clean(e).into_owned(), theme.error),
        None => Line::styled("Tab next field · Enter save · Esc cancel", theme.muted),
    });
    let title = format!(" Review span {} ", clean(&form.span_name));
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focused)
        .title(Line::styled(title, theme.accent))
        .style(theme.base);
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(block), r);
    // The cursor at the end of the text being typed.
    let row = match form.field {
        FormField::Verdict => None,
        FormField::Label => Some((1, &form.label)),
        FormField::Note => Some((2, &form.note)),
        FormField::Evaluator => Some((3, &form.evaluator)),
    };
    if let Some((line, text)) = row {
        let width = u16::try_from(Span::raw(clean(text).into_owned()).width()).unwrap_or(u16::MAX);
        let x = r.x.saturating_add(12).saturating_add(width);
        let y = r.y + 1 + line;
        if y < r.bottom().saturating_sub(1) {
            frame.set_cursor_position(Position {
                x: x.min(r.right().saturating_sub(2)),
                y,
            });
        }
    }
}
