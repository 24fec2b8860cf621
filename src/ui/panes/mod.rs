//! One file per pane, each a free function drawing from the frame's [`View`]. The layout lives
//! here, in one place: panes stack at any size and give way to the trace list when the screen
//! is short. The middle row holds the outlier and evals panes side by side on wide screens,
//! and on narrow ones whichever of the two was focused last.

mod alerts;
mod common;
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

pub use common::{WIDE, column_widths, fit_title, focused, pane_block, table_rows, unfiltered_mark};

use super::state::{Areas, Pane, UiState};
use super::theme::Theme;
use super::view::{Budget, View};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::widgets::Block;

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
