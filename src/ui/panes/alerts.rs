//! The alerts strip (with `--rules`): every (rule, cohort) that has fired, firing ones first,
//! with its value against the threshold, since when, its owner and next action. Enter opens
//! the alert's worst example trace.

use super::common::{focused, pane_block, unfiltered_mark};
use crate::ui::state::{Pane, UiState};
use crate::ui::text::{clean, fmt_clock};
use crate::ui::theme::Theme;
use crate::ui::view::View;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, view: &View, ui: &UiState, theme: &Theme) {
    let Some(a) = &view.alerts else { return };
    let plural = |n: usize, one: &str| {
        if n == 1 {
            one.to_string()
        } else {
            format!("{one}s")
        }
    };
    let title = format!(
        " Alerts · {} {} · {} firing{} ",
        a.rules,
        plural(a.rules, "rule"),
        a.firing,
        if a.total > 0 {
            " (Enter: example trace)"
        } else {
            ""
        }
    );
    let focus = focused(ui, Pane::Alerts);
    let block = unfiltered_mark(pane_block(title, area, focus, theme), ui, theme);
    if a.lines.is_empty() {
        let p = Paragraph::new(Line::styled("no alert has fired", theme.muted)).block(block);
        frame.render_widget(p, area);
        return;
    }
    let lines: Vec<Line> = a
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (mark, style) = if l.firing {
                ("● FIRING  ", theme.error)
            } else {
                ("✓ resolved", theme.muted)
            };
            let when = match l.resolved_at {
                Some(r) => format!("{}–{}", fmt_clock(l.since), fmt_clock(r)),
                None => format!("since {}", fmt_clock(l.since)),
            };
            let mut spans = vec![
                Span::styled(mark, style),
                Span::raw(" "),
                Span::styled(clean(&l.rule).into_owned(), theme.accent),
            ];
            if !l.cohort.is_empty() {
                spans.push(Span::raw(format!(" {}", clean(&l.cohort))));
            }
            spans.push(Span::styled(
                format!("  {}", l.comparison),
                if l.firing { theme.error } else { theme.base },
            ));
            spans.push(Span::styled(format!("  {when}"), theme.muted));
            let who = [l.owner.as_deref(), l.next_action.as_deref()]
                .into_iter()
                .flatten()
                .map(|s| clean(s).into_owned())
                .collect::<Vec<_>>()
                .join(": ");
            if !who.is_empty() {
                spans.push(Span::styled(format!("  {who}"), theme.muted));
            }
            let line = Line::from(spans);
            if focus && a.offset + i == a.cursor {
                line.style(theme.selection)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
