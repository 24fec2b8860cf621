//! Two traces side by side (`=`): a heading line per trace (A is the one marked first), then
//! the aligned span trees, one row per step with both sides' duration, verdict and, on wide
//! screens, tokens and cost; the difference column says slower or faster, a flipped verdict
//! or a step only one side took, highlighted.

use super::common::pane_block;
use crate::model::TraceId;
use crate::store::Trace;
use crate::ui::text::{clean, fit_row, fmt_clock, fmt_count, fmt_nanos, fmt_usd};
use crate::ui::theme::Theme;
use crate::view::compare::{Difference, Row as Step, Side};
use crate::view::row::TraceRow;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// A side's heading figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Head {
    pub id: Option<TraceId>,
    pub root: String,
    pub start: u64,
    pub duration_nanos: u64,
    pub cost_usd: Option<f64>,
    pub tokens: u64,
    pub spans: u32,
    pub failed: usize,
}

impl Head {
    pub fn of(t: &Trace) -> Head {
        let r = TraceRow::from_trace(t);
        Head {
            id: Some(t.id),
            root: r.root_name.as_deref().unwrap_or("(root missing)").to_string(),
            start: r.start_unix_nano,
            duration_nanos: r.duration_nanos,
            cost_usd: r.cost_usd,
            tokens: r.tokens(),
            spans: r.spans,
            failed: r.failed_verdicts(),
        }
    }
}

/// Table body rows in the body `area` (two heading lines, border and table header off).
pub fn body_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(5)).max(1)
}

fn head_line(label: &str, h: &Head, width: usize, theme: &Theme) -> Line<'static> {
    // (priority, figure): the trace id goes first when room is short, then the span count,
    // tokens, failed verdicts, start, cost; the duration last. Each whole or left out.
    let mut figures = vec![
        (3, format!(" · {}", fmt_clock(h.start / 1_000_000_000))),
        (6, format!(" · {}", fmt_nanos(h.duration_nanos))),
        (
            5,
            format!(" · {}", h.cost_usd.map_or_else(|| "-".into(), fmt_usd)),
        ),
        (2, format!(" · {} tok", fmt_count(h.tokens))),
        (1, format!(" · {} spans", h.spans)),
    ];
    if h.failed > 0 {
        figures.push((4, format!(" · {} failed", h.failed)));
    }
    if let Some(id) = h.id {
        figures.push((0, format!(" · {id}")));
    }
    let tail = figures
        .into_iter()
        .map(|(rank, text)| (rank, vec![Span::styled(text, theme.muted)]))
        .collect();
    let spans = fit_row(
        vec![Span::styled(format!(" {label} "), theme.accent)],
        Span::styled(clean(&h.root).into_owned(), theme.header),
        tail,
        16,
        width,
    );
    Line::from(spans)
}

fn verdict(s: Option<&Side>, theme: &Theme) -> Span<'static> {
    match s.and_then(|s| s.passed) {
        Some(true) => Span::styled("✓", theme.verdict_pass),
        Some(false) => Span::styled("✗", theme.verdict_fail),
        None => Span::raw(" "),
    }
}

fn change(l: Option<&Side>, r: Option<&Side>, d: Difference, theme: &Theme) -> Span<'static> {
    match (l, r) {
        (Some(a), Some(b)) => {
            let text = if d == Difference::VerdictFlipped {
                "verdict".to_string()
            } else if a.duration_nanos == 0 {
                "·".to_string()
            } else {
                let pct = (b.duration_nanos as f64 / a.duration_nanos as f64 - 1.0) * 100.0;
                if pct.abs() >= 999.5 {
                    format!("{:.0}×", b.duration_nanos as f64 / a.duration_nanos as f64)
                } else {
                    format!("{pct:+.0}%")
                }
            };
            let style = match d {
                Difference::Slower => theme.error,
                Difference::Faster => theme.ok,
                Difference::VerdictFlipped => theme.warn,
                _ => theme.muted,
            };
            Span::styled(text, style)
        }
        (Some(_), None) => Span::styled("only A", theme.warn),
        _ => Span::styled("only B", theme.warn),
    }
}

fn dur(s: Option<&Side>) -> String {
    s.map_or_else(|| "—".into(), |s| fmt_nanos(s.duration_nanos))
}

fn tok(s: Option<&Side>) -> String {
    match s {
        None => "—".into(),
        Some(s) => s.tokens.map_or_else(|| "".into(), fmt_count),
    }
}

fn usd(s: Option<&Side>) -> String {
    match s {
        None => "—".into(),
        Some(s) => s.cost_usd.map_or_else(|| "".into(), fmt_usd),
    }
}

/// What the comparison draws: both sides' headings, the aligned rows, the selection and the
/// first row shown.
pub struct CompareView<'a> {
    pub heads: &'a [Head; 2],
    pub rows: &'a [Step],
    pub cursor: usize,
    pub offset: usize,
}

/// The comparison's `area` split: the two heading lines, the table under them.
pub fn split(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(area)
}

pub fn render(frame: &mut Frame, area: Rect, c: &CompareView, theme: &Theme) {
    let [heads, table_area] = split(area);
    let w = usize::from(heads.width);
    frame.render_widget(
        Paragraph::new(vec![
            head_line("A", &c.heads[0], w, theme),
            head_line("B", &c.heads[1], w, theme),
        ]),
        heads,
    );
    let differ = c.rows.iter().filter(|r| r.difference != Difference::Same).count();
    let title = Line::from(vec![
        Span::raw(" Compare A ↔ B "),
        Span::styled(
            format!(
                "· {} steps · {differ} differ (n: next) · slower/faster: ≥20% and ≥5ms ",
                c.rows.len()
            ),
            theme.muted,
        ),
    ]);
    let block = pane_block(title, table_area, true, theme);
    let wide = table_area.width >= 120;
    let visible = body_rows(area);
    let (widths, header): (Vec<Constraint>, Vec<&str>) = if wide {
        (
            vec![
                Constraint::Fill(1),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(9),
                Constraint::Length(9),
                Constraint::Length(5),
            ],
            vec!["step", "A", "B", "Δ", "tok A", "tok B", "cost A", "cost B", "A B"],
        )
    } else {
        (
            vec![
                Constraint::Fill(1),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(5),
            ],
            vec!["step", "A", "B", "Δ", "A B"],
        )
    };
    let step_w = super::common::column_widths(table_area.width.saturating_sub(2), &widths)[0];
    let rows = c
        .rows
        .iter()
        .enumerate()
        .skip(c.offset)
        .take(visible)
        .map(|(i, r)| {
            let (l, rt) = (r.left.as_ref(), r.right.as_ref());
            let indent = "  ".repeat(r.depth.min(12));
            let name_style = match r.difference {
                Difference::OnlyLeft | Difference::OnlyRight => theme.muted,
                _ => Style::new(),
            };
            let error = l.is_some_and(|s| s.error) || rt.is_some_and(|s| s.error);
            // The step's name is cut with `…`; its kind goes first when room is short.
            let name = Span::styled(
                clean(&r.name).into_owned(),
                if error { theme.error } else { name_style },
            );
            let kind = vec![Span::styled(format!(" {}", r.kind.as_str()), theme.muted)];
            let step = fit_row(vec![Span::raw(indent)], name, vec![(0, kind)], 12, step_w);
            let mut cells = vec![Cell::from(Line::from(step))];
            cells.push(Cell::from(Line::from(dur(l)).right_aligned()));
            cells.push(Cell::from(Line::from(dur(rt)).right_aligned()));
            cells.push(Cell::from(
                Line::from(change(l, rt, r.difference, theme)).right_aligned(),
            ));
            if wide {
                cells.push(Cell::from(Line::from(tok(l)).right_aligned()));
                cells.push(Cell::from(Line::from(tok(rt)).right_aligned()));
                cells.push(Cell::from(Line::from(usd(l)).right_aligned()));
                cells.push(Cell::from(Line::from(usd(rt)).right_aligned()));
            }
            cells.push(Cell::from(Line::from(vec![
                verdict(l, theme),
                Span::raw(" "),
                verdict(rt, theme),
            ])));
            let row = Row::new(cells);
            if i == c.cursor {
                row.style(theme.selection)
            } else {
                row
            }
        });
    let header = Row::new(
        header
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                if i == 0 {
                    Cell::from(h)
                } else {
                    Cell::from(Line::from(h).right_aligned())
                }
            })
            .collect::<Vec<_>>(),
    )
    .style(theme.header);
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, table_area);
}

/// The comparison's footer: its key table ([`crate::ui::keys::COMPARE`]), as many as fit.
pub fn render_footer(frame: &mut Frame, area: Rect, theme: &Theme) {
    use crate::ui::keys::{Context, Mode, footer_spans};
    let spans = footer_spans(Mode::Compare, &Context::default(), usize::from(area.width), theme);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.status_bar), area);
}
