//! The sessions view (`2`): the list of sessions, and one session drawn as a conversation
//! (each turn's user message, the tool calls, the answer and the verdicts). Drawn from owned
//! rows the application read; every text from spans goes through [`clean`].

use super::common::pane_block;
use crate::intern::Sym;
use crate::model::TraceId;
use crate::ui::text::{clean, fit, fmt_clock, fmt_count, fmt_nanos, fmt_usd};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use std::borrow::Cow;

/// One line of the sessions list.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub id: Sym,
    pub user: Option<Sym>,
    pub turns: usize,
    pub first: u64,
    pub last: u64,
    pub cost_usd: Option<f64>,
    pub tokens: u64,
    pub failed: u64,
    pub errors: u64,
}

/// The list's rows on screen (from `offset`), the selection and the counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListView {
    pub rows: Vec<SessionRow>,
    pub offset: usize,
    pub cursor: usize,
    /// Sessions with a trace passing the filter, and sessions held.
    pub listed: usize,
    pub total: usize,
    pub sort: &'static str,
    pub filter: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TurnVerdict {
    pub name: Sym,
    pub score: Option<f64>,
    pub passed: Option<bool>,
}

/// One turn of a conversation: a trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    pub trace_id: TraceId,
    pub start: u64,
    pub duration_nanos: u64,
    pub cost_usd: Option<f64>,
    pub tokens: u64,
    pub errors: u32,
    pub user: Option<String>,
    pub answer: Option<String>,
    /// (name, arguments, failed) of each tool call, in start order.
    pub tools: Vec<(Sym, String, bool)>,
    pub verdicts: Vec<TurnVerdict>,
}

/// Body rows of the list in `area` (border and header taken off).
pub fn body_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3)).max(1)
}

fn cost(c: Option<f64>) -> String {
    c.map_or_else(|| "-".to_string(), fmt_usd)
}

pub fn render_list(frame: &mut Frame, area: Rect, v: &ListView, theme: &Theme) {
    let mut title = vec![
        Span::raw(" Sessions "),
        Span::styled(
            format!("· {} of {} · by {} ", v.listed, v.total, v.sort),
            theme.muted,
        ),
    ];
    if !v.filter.is_empty() {
        title.push(Span::styled(
            format!("· filter: {} ", clean(&v.filter)),
            theme.accent,
        ));
    }
    let block = pane_block(Line::from(title), area, true, theme);
    if v.rows.is_empty() {
        let msg = if v.total == 0 {
            "no sessions yet: traces with session.id, gen_ai.conversation.id or langfuse.session.id \
             group here"
        } else {
            "no session has a trace matching the filter (Esc clears it)"
        };
        frame.render_widget(
            Paragraph::new(Line::styled(msg, theme.muted))
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    // Narrow screens drop the first time and the user before any number.
    let wide = area.width >= 110;
    let (widths, header): (Vec<Constraint>, Vec<&str>) = if wide {
        (
            vec![
                Constraint::Fill(2),
                Constraint::Fill(1),
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(9),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Length(6),
            ],
            vec![
                "session", "user", "turns", "first", "last", "cost", "tokens", "failed", "errors",
            ],
        )
    } else {
        (
            vec![
                Constraint::Fill(1),
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Length(9),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Length(6),
            ],
            vec!["session", "turns", "last", "cost", "tokens", "failed", "errors"],
        )
    };
    // The id and the user are cut with `…` to their columns (the numbers' columns hold them).
    let cw = super::common::column_widths(area.width.saturating_sub(2), &widths);
    let rows = v.rows.iter().enumerate().map(|(i, r)| {
        let mut cells = vec![Cell::from(fit(&clean(&r.id), cw[0]))];
        if wide {
            let user = r.user.as_deref().map_or(Cow::Borrowed("-"), clean);
            cells.push(Cell::from(fit(&user, cw[1])));
        }
        cells.push(Cell::from(Line::from(r.turns.to_string()).right_aligned()));
        if wide {
            cells.push(Cell::from(Span::styled(
                fmt_clock(r.first / 1_000_000_000),
                theme.muted,
            )));
        }
        cells.push(Cell::from(Span::styled(
            fmt_clock(r.last / 1_000_000_000),
            theme.muted,
        )));
        cells.push(Cell::from(Line::from(cost(r.cost_usd)).right_aligned()));
        cells.push(Cell::from(Line::from(fmt_count(r.tokens)).right_aligned()));
        cells.push(Cell::from(
            Line::styled(
                r.failed.to_string(),
                if r.failed > 0 {
                    theme.verdict_fail
                } else {
                    theme.muted
                },
            )
            .right_aligned(),
        ));
        cells.push(Cell::from(
            Line::styled(
                r.errors.to_string(),
                if r.errors > 0 { theme.error } else { theme.muted },
            )
            .right_aligned(),
        ));
        let row = Row::new(cells);
        if v.offset + i == v.cursor {
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

/// The lines of one turn, `width` columns wide; the first is its heading.
fn turn_lines(n: usize, t: &Turn, selected: bool, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut head = format!(
        "{} turn {} · {} · {} · {} · {} tok",
        if selected { "▶" } else { " " },
        n + 1,
        fmt_clock(t.start / 1_000_000_000),
        fmt_nanos(t.duration_nanos),
        cost(t.cost_usd),
        fmt_count(t.tokens),
    );
    if t.errors > 0 {
        head.push_str(&format!(
            " · {} error span{}",
            t.errors,
            if t.errors == 1 { "" } else { "s" }
        ));
    }
    // The trace id only when it fits whole (`trace:` takes a prefix of it to jump there).
    let id = format!(" · trace {}", t.trace_id);
    if Span::raw(&head).width() + Span::raw(&id).width() <= width {
        head.push_str(&id);
    }
    let style = if selected { theme.selection } else { theme.header };
    // Cut at a ` · `, never inside a figure.
    out.push(super::common::fit_title(Line::raw(head), width).style(style));
    let label_w = 11;
    let text_w = width.saturating_sub(label_w + 2);
    let said = |label: &str, text: &str, style: Style, lines: usize| -> Vec<Line<'static>> {
        let text = clean(text);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut rows = Vec::new();
        let mut rest: &str = &text;
        for k in 0..lines.max(1) {
            let last = k + 1 == lines.max(1);
            let piece = if last {
                fit(rest, text_w)
            } else {
                // Fill the line up to its width, at a char boundary.
                let mut used = 0;
                let mut end = 0;
                for (i, c) in rest.char_indices() {
                    let w = Span::raw(c.to_string()).width();
                    if used + w > text_w {
                        break;
                    }
                    used += w;
                    end = i + c.len_utf8();
                }
                // Break at the last space that fits, unless the word fills the line.
                if end < rest.len()
                    && let Some(space) = rest[..end].rfind(' ')
                    && space > 0
                {
                    end = space + 1;
                }
                let p = rest[..end].trim_end().to_string();
                rest = &rest[end..];
                p
            };
            let lab = if k == 0 { label } else { "" };
            rows.push(Line::from(vec![
                Span::styled(format!("  {lab:<label_w$}"), theme.muted),
                Span::styled(piece, style),
            ]));
            if rest.is_empty() {
                break;
            }
        }
        rows
    };
    match &t.user {
        Some(u) => out.extend(said("user", u, theme.accent, 3)),
        None => out.extend(said("user", "(no user message recorded)", theme.muted, 1)),
    }
    for (name, args, failed) in &t.tools {
        let text = if args.is_empty() {
            clean(name).into_owned()
        } else {
            format!("{}({})", clean(name), clean(args))
        };
        let style = if *failed { theme.error } else { theme.base };
        out.extend(said(if *failed { "tool ✗" } else { "tool" }, &text, style, 1));
    }
    match &t.answer {
        Some(a) => out.extend(said("assistant", a, theme.base, 3)),
        None => out.extend(said("assistant", "(no answer recorded)", theme.muted, 1)),
    }
    if !t.verdicts.is_empty() {
        let mut spans = vec![Span::styled(format!("  {:<label_w$}", "verdicts"), theme.muted)];
        let mut used = label_w + 2;
        for v in &t.verdicts {
            let (mark, style) = match v.passed {
                Some(true) => ("✓", theme.verdict_pass),
                Some(false) => ("✗", theme.verdict_fail),
                None => ("?", theme.muted),
            };
            let score = v.score.map_or(String::new(), |s| format!(" {s:.2}"));
            let item = format!("{} {mark}{score}  ", clean(&v.name));
            let w = Span::raw(&item).width();
            if used + w > width {
                spans.push(Span::styled("…", theme.muted));
                break;
            }
            used += w;
            spans.push(Span::styled(item, style));
        }
        out.push(Line::from(spans));
    }
    out.push(Line::default());
    out
}

/// Draws the conversation with turn `selected` on screen; returns the first line shown (kept
/// by the caller so the view does not jump while turns arrive).
pub fn render_conversation(
    frame: &mut Frame,
    area: Rect,
    session: &str,
    turns: &[Turn],
    selected: usize,
    scroll: usize,
    theme: &Theme,
) -> usize {
    // The id keeps at most half the title; the turn count and the keys follow it.
    let room = usize::from(area.width.saturating_sub(2)) / 2;
    let title = Line::from(vec![
        Span::raw(format!(" Session {} ", fit(&clean(session), room))),
        Span::styled(
            format!(
                "· turn {}/{} (Enter: open its trace · = compare) ",
                selected + 1,
                turns.len()
            ),
            theme.muted,
        ),
    ]);
    let block = pane_block(title, area, true, theme);
    let inner = block.inner(area);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height).max(1);
    // Lines are built for every turn shown (at most MAX_TURNS, on a key press or a change).
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut at = (0, 0);
    for (n, t) in turns.iter().enumerate() {
        let start = lines.len();
        lines.extend(turn_lines(n, t, n == selected, width, theme));
        if n == selected {
            at = (start, lines.len());
        }
    }
    // Keep the selected turn on screen, its start first when it does not fit.
    let mut top = scroll.min(lines.len().saturating_sub(height));
    if at.1 > top + height {
        top = at.1 - height;
    }
    if at.0 < top || at.1 - at.0 > height {
        top = at.0;
    }
    let shown: Vec<Line> = lines.into_iter().skip(top).take(height).collect();
    frame.render_widget(Paragraph::new(shown).block(block), area);
    top
}
