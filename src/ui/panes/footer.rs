//! The bottom line: the filter being typed (with its error inline), the filter in force, or
//! the main keys.

use crate::ui::state::UiState;
use crate::ui::text::clean;
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, ui: &UiState, theme: &Theme) {
    let f = &ui.filter;
    let line = if f.editing {
        let mut spans = vec![
            Span::styled("/", theme.accent),
            Span::raw(clean(&f.text).into_owned()),
        ];
        match &f.error {
            Some(e) => spans.push(Span::styled(format!("  ✗ {}", clean(&e.message)), theme.error)),
            None => spans.push(Span::styled("  Enter apply · Esc cancel", theme.muted)),
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
        for (k, what) in [
            ("?", "help"),
            ("q", "quit"),
            ("/", "filter"),
            ("s", "sort"),
            ("w", "window"),
            ("c", "cohort"),
            ("v", "split"),
            ("space", "pause"),
            ("Tab", "pane"),
            ("R", "review"),
            ("2", "sessions"),
            ("=", "compare"),
        ] {
            spans.push(Span::styled(k, theme.accent));
            spans.push(Span::styled(format!(" {what}  "), theme.muted));
        }
        if ui.against_baseline.is_some() {
            spans.push(Span::styled("b", theme.accent));
            spans.push(Span::styled(" vs baseline/prev  ", theme.muted));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line).style(theme.status_bar), area);
}
