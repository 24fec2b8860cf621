//! One file per pane, each a free function drawing from the frame's [`View`]. The layout lives
//! here, in one place: panes stack at any size and give way to the trace list when the screen
//! is short. The middle row holds the outlier and evals panes side by side on wide screens,
//! and on narrow ones whichever of the two was focused last.

mod alerts;
pub mod compare;
pub mod drill;
mod evals;
pub mod footer;
pub mod help;
mod latency;
pub mod logs;
pub mod metrics;
mod outliers;
pub mod review;
pub mod sessions;
mod status;
mod traces;
mod volume;

use super::state::{Areas, Pane, UiState};
use super::theme::Theme;
use super::view::{Budget, View};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

/// Below this width the panes use their compact columns.
pub const WIDE: u16 = 120;

#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    pub status: Rect,
    pub alerts: Rect,
    pub volume: Rect,
    pub latency: Rect,
    pub outliers: Rect,
    pub evals: Rect,
    pub traces: Rect,
    pub footer: Rect,
    pub wide: bool,
}

pub fn layout(area: Rect, ui: &UiState) -> Layout {
    let [status, body, footer] =
        Split::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let wide = area.width >= WIDE;
    let mut l = Layout {
        status,
        footer,
        traces: body,
        wide,
        ..Layout::default()
    };
    if body.height < 14 {
        return l;
    }
    // With rules, the alerts strip sits under the status bar: one line when nothing fired,
    // up to four alerts. Short screens keep only the status-bar banner.
    let mut body = body;
    if let Some(n) = ui.alerts
        && body.height >= 20
    {
        let h = 2 + (n.clamp(1, 4) as u16);
        [l.alerts, body] = Split::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(body);
        l.traces = body;
    }
    let (top, mid) = if wide {
        (
            (body.height * 35 / 100).clamp(8, 18),
            (body.height * 22 / 100).clamp(5, 12),
        )
    } else if ui.middle == Pane::Evals {
        // The coverage line and the header leave the evals pane three rows.
        (7, 7)
    } else {
        (7, 5)
    };
    let [top_row, middle, traces] = Split::vertical([
        Constraint::Length(top),
        Constraint::Length(mid),
        Constraint::Min(5),
    ])
    .areas(body);
    let [volume, latency] =
        Split::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(top_row);
    l.volume = volume;
    l.latency = latency;
    if wide {
        [l.outliers, l.evals] =
            Split::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
    } else if ui.middle == Pane::Evals {
        l.evals = middle;
    } else {
        l.outliers = middle;
    }
    l.traces = traces;
    l
}

impl Layout {
    pub fn budget(&self) -> Budget {
        Budget {
            chart_points: usize::from(self.volume.width.saturating_sub(10)).max(1) * 2,
            spark_points: latency::spark_width(self.latency.width),
            trace_rows: usize::from(self.traces.height.saturating_sub(3)),
            outlier_rows: usize::from(self.outliers.height.saturating_sub(3)),
            eval_rows: usize::from(evals::rows_area(self.evals).height),
            eval_spark_points: evals::spark_width(self.evals.width),
        }
    }

    pub fn areas(&self) -> Areas {
        let t = self.traces;
        Areas {
            alerts: self.alerts,
            volume: self.volume,
            latency: self.latency,
            outliers: self.outliers,
            evals: self.evals,
            eval_rows: evals::rows_area(self.evals),
            traces: t,
            trace_rows: table_rows(t, 1),
            latency_rows: self.latency.height.saturating_sub(3),
        }
    }
}

pub fn render(frame: &mut Frame, layout: &Layout, view: &View, ui: &UiState, theme: &Theme) {
    frame.render_widget(Block::new().style(theme.base), frame.area());
    status::render(frame, layout.status, view, theme);
    if layout.alerts.height > 0 {
        alerts::render(frame, layout.alerts, view, ui, theme);
    }
    if layout.volume.height > 0 {
        volume::render(frame, layout.volume, view, ui, theme);
        latency::render(frame, layout.latency, view, ui, theme, layout.wide);
    }
    if layout.outliers.height > 0 {
        outliers::render(frame, layout.outliers, view, ui, theme);
    }
    if layout.evals.height > 0 {
        evals::render(frame, layout.evals, view, ui, theme);
    }
    traces::render(frame, layout.traces, view, ui, theme, layout.wide);
    let replay = matches!(view.status.source, Some(crate::ui::view::Source::Replay { .. }));
    footer::render(frame, layout.footer, ui, replay, theme);
    if ui.help {
        help::render(
            frame,
            frame.area(),
            ui,
            view,
            theme,
            crate::ui::keys::Mode::Overview,
        );
    }
}

/// The status bar alone (the drill-down screen shares it).
pub fn render_status(frame: &mut Frame, area: Rect, view: &View, theme: &Theme) {
    status::render(frame, area, view, theme);
}

/// The help overlay over the whole frame, listing `mode`'s keys.
pub fn render_help(frame: &mut Frame, ui: &UiState, view: &View, theme: &Theme, mode: crate::ui::keys::Mode) {
    help::render(frame, frame.area(), ui, view, theme, mode);
}

/// A pane's frame over `area`: rounded border, highlighted when focused, title in the accent
/// colour, fitted by [`fit_title`].
pub fn pane_block<'a>(title: impl Into<Line<'a>>, area: Rect, focused: bool, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(theme.border_for(focused))
        .title(fit_title(title.into(), usize::from(area.width.saturating_sub(2))))
        .title_style(if focused { theme.accent } else { theme.header })
}

/// `title` in `room` cells: whole when it fits, else its ` · `-separated parts, whole, while
/// they fit, then `…` (so a figure in a title is left out, never cut).
pub fn fit_title(title: Line<'_>, room: usize) -> Line<'_> {
    if title.width() <= room {
        return title;
    }
    let (style, alignment) = (title.style, title.alignment);
    let mut parts: Vec<Span> = Vec::new();
    for span in title.spans {
        let mut text: &str = &span.content;
        // A part starts at a ` · ` (past the text's first character, which may be one).
        while let Some(at) = text
            .char_indices()
            .nth(1)
            .and_then(|(skip, _)| text[skip..].find(" · ").map(|i| i + skip))
        {
            parts.push(Span::styled(text[..at].to_string(), span.style));
            text = &text[at..];
        }
        parts.push(Span::styled(text.to_string(), span.style));
    }
    let mut line = Line::from(crate::ui::text::fit_spans(parts, room)).style(style);
    line.alignment = alignment;
    line
}

/// The filter narrows the trace list only: the panes that aggregate every trace say so on
/// their bottom border while a filter is in force (never over their title or data).
pub fn unfiltered_mark<'a>(block: Block<'a>, ui: &UiState, theme: &Theme) -> Block<'a> {
    if ui.filter.applied.is_empty() {
        return block;
    }
    block.title_bottom(Line::styled(" unfiltered: all traces ", theme.warn).right_aligned())
}

/// The body rows of a bordered table drawn over `area` with `above` lines (its header, ...)
/// between the top border and the rows.
pub fn table_rows(area: Rect, above: u16) -> Rect {
    Rect {
        x: area.x + 1,
        y: area.y + 1 + above,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2 + above),
    }
}

/// The widths a [`ratatui::widgets::Table`] with these constraints and one column of spacing
/// gives its columns in `width` cells (the same layout it runs), so text can be fitted with a
/// `…` before the table would cut it without one.
pub fn column_widths(width: u16, constraints: &[ratatui::layout::Constraint]) -> Vec<usize> {
    ratatui::layout::Layout::horizontal(constraints.iter().copied())
        .flex(ratatui::layout::Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, width, 1))
        .iter()
        .map(|r| usize::from(r.width))
        .collect()
}

pub fn focused(ui: &UiState, pane: Pane) -> bool {
    ui.focus == pane
}

#[cfg(test)]
mod tests {
    use super::fit_title;
    use ratatui::text::{Line, Span};

    #[test]
    fn a_title_gives_up_whole_parts_at_its_dots() {
        let title = || {
            Line::from(vec![
                Span::raw(" Compare A ↔ B "),
                Span::raw("· 10 steps · 3 differ (n: next) · slower: ≥20% "),
            ])
        };
        let fitted = |room| fit_title(title(), room).to_string();
        assert_eq!(
            fitted(80),
            " Compare A ↔ B · 10 steps · 3 differ (n: next) · slower: ≥20% "
        );
        assert_eq!(fitted(50), " Compare A ↔ B · 10 steps · 3 differ (n: next) …");
        assert_eq!(fitted(30), " Compare A ↔ B · 10 steps …");
        assert_eq!(fitted(20), " Compare A ↔ B …");
        assert_eq!(fitted(10), " Compare …");
        for room in 0..80 {
            assert!(fit_title(title(), room).width() <= room, "{room}");
        }
    }
}
