//! The `?` overlay: every key of the current mode's table ([`crate::ui::keys`]) that works in
//! the current context.

use crate::ui::keys::{self, Context, Mode};
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::view::{Source, View};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

pub fn render(frame: &mut Frame, area: Rect, ui: &UiState, view: &View, theme: &Theme, mode: Mode) {
    let replay = matches!(view.status.source, Some(Source::Replay { .. }));
    render_for(frame, area, ui, replay, theme, mode);
}

/// [`render`] for the views that have no dashboard view at hand (logs, metrics, sessions).
pub fn render_for(frame: &mut Frame, area: Rect, ui: &UiState, replay: bool, theme: &Theme, mode: Mode) {
    let ctx = Context {
        replay,
        baseline: ui.against_baseline.is_some(),
        focus: ui.focus,
    };
    let lines: Vec<Line> = keys::help_rows(mode, &ctx)
        .iter()
        .map(|r| {
            Line::from(vec![
                Span::styled(format!("{:>19} ", r.keys), theme.accent),
                Span::styled(r.what, theme.base),
            ])
        })
        .collect();
    let w = area.width.min(84);
    // Wrapped lines take more rows: count them so the last key is never cut off.
    let inner = usize::from(w.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let h = (rows as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focused)
        .title(" Keys ")
        .title_style(theme.accent)
        .style(theme.base);
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), r);
}
