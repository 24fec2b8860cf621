//! What every pane draws with: its frame and fitted title, the unfiltered mark, the body rows
//! and column widths of a bordered table, and the width below which panes go compact.

use crate::ui::state::{Pane, UiState};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

/// Below this width the panes use their compact columns.
pub const WIDE: u16 = 120;

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
