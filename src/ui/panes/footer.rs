//! The bottom line: the filter being typed (with its error inline), the filter in force, or
//! the views on the number keys (the current one marked) and the current mode's keys (from
//! [`crate::ui::keys`], as many as fit).

use crate::ui::keys::{self, Mode};
use crate::ui::state::{FilterInput, Screen, UiState};
use crate::ui::text::clean;
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The views on the number keys, the shown one in brackets: `[1 overview] 2 sessions ...`;
/// under 120 columns the others by number only (`?` names them all).
pub fn views(current: Screen, wide: bool, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for s in Screen::ALL {
        if s == current {
            spans.push(Span::styled(format!("[{} {}]", s.key(), s.label()), theme.accent));
            spans.push(Span::raw(" "));
        } else if wide {
            spans.push(Span::styled(s.key().to_string(), theme.accent));
            spans.push(Span::styled(format!(" {} ", s.label()), theme.muted));
        } else {
            spans.push(Span::styled(format!("{} ", s.key()), theme.accent));
        }
    }
    spans.push(Span::raw(" "));
    spans
}

/// The dashboard's footer.
pub fn render(frame: &mut Frame, area: Rect, ui: &UiState, replay: bool, theme: &Theme) {
    render_with(frame, area, ui, &ui.filter, Mode::Overview, replay, theme);
}

/// The footer of a view with its own filter and key table (logs, metrics, sessions).
pub fn render_with(
    frame: &mut Frame,
    area: Rect,
    ui: &UiState,
    f: &FilterInput,
    mode: Mode,
    replay: bool,
    theme: &Theme,
) {
    let ctx = keys::Context {
        replay,
        baseline: ui.against_baseline.is_some(),
        focus: ui.focus,
    };
    let line = if f.editing {
        let mut spans = vec![
            Span::styled("/", theme.accent),
            Span::raw(clean(&f.text).into_owned()),
        ];
        match &f.error {
            Some(e) => spans.push(Span::styled(format!("  ✗ {}", clean(&e.message)), theme.error)),
            None => {
                let typed: usize = spans.iter().map(Span::width).sum::<usize>() + 2;
                let width = usize::from(area.width).saturating_sub(typed);
                spans.push(Span::raw("  "));
                spans.extend(keys::footer_spans(Mode::Filter, &ctx, width, theme));
            }
        }
        // Display width (wide characters take two cells), saturating for absurdly long input.
        let typed: String = f.text.chars().take(f.cursor).collect();
        let width = u16::try_from(Span::raw(clean(&typed).into_owned()).width()).unwrap_or(u16::MAX);
        let x = area.x.saturating_add(1).saturating_add(width);
        frame.set_cursor_position(Position {
            x: x.min(area.right().saturating_sub(1)),
            y: area.y,
        });
        Line::from(spans)
    } else {
        let mut spans = Vec::new();
        if let Some(note) = &ui.note {
            spans.push(Span::styled(format!("{}  ", clean(note)), theme.warn));
        }
        if !f.applied.is_empty() {
            spans.push(Span::styled(
                format!("filter: {} ", clean(&f.applied)),
                theme.accent,
            ));
            spans.push(Span::styled("(Esc clears)  ", theme.muted));
        }
        spans.extend(views(ui.screen, area.width >= 120, theme));
        let used: usize = spans.iter().map(Span::width).sum();
        let width = usize::from(area.width).saturating_sub(used);
        spans.extend(keys::footer_spans(mode, &ctx, width, theme));
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line).style(theme.status_bar), area);
}
