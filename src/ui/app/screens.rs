//! Switching the views on the number keys (`1` overview, `2` sessions, `3` logs, `4`
//! metrics), and what the views share: the frame's areas, the status bar, the `/` filter of
//! their own, the keys every view takes (quit, help, views, review) and the mouse.

use super::App;
use crate::ui::panes;
use crate::ui::state::{RecordList, Screen, UiState};
use crate::view::query::Query;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};

impl App {
    /// Shows `screen`; the sessions view is drawn by its own module once built in.
    pub fn show(&mut self, screen: Screen) {
        self.ui.screen = screen;
        self.ui.help = false;
        self.ui.note = None;
        self.dirty = true;
    }

    /// The number keys: whether `k` switched the view.
    pub(super) fn screen_key(&mut self, k: KeyEvent) -> bool {
        if k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
            return false;
        }
        match k.code {
            KeyCode::Char(c) => match Screen::from_key(c) {
                Some(s) => {
                    self.show(s);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Status bar, body, footer.
    pub(super) fn screen_areas(&self, frame: &Frame) -> (Rect, Rect, Rect) {
        let [status, body, footer] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)])
                .areas(frame.area());
        (status, body, footer)
    }

    /// Clears the frame and draws the status bar, as the dashboard shows it.
    pub(super) fn draw_screen_status(&self, frame: &mut Frame, area: Rect) {
        frame.render_widget(
            ratatui::widgets::Block::new().style(self.theme.base),
            frame.area(),
        );
        let mut status = super::view::View {
            status: super::view::status(
                &self.status.0,
                &self.status.1,
                Some(self.source()),
                self.ui.frozen_at,
                {
                    let n = self.index.series().newest();
                    (n > 0).then_some(n)
                },
            ),
            alerts: self.alerts.as_ref().map(|e| super::view::alerts(e, 0, 1)),
            ..Default::default()
        };
        if let Some(base) = &self.baseline {
            status.status.baseline = base.files.clone();
        }
        panes::render_status(frame, area, &status, &self.theme);
    }

    /// Keys of the logs, metrics and sessions views that are not their own: quit, help,
    /// `/` (the view's own filter), Esc (clears it), `R` review queue, replay's `p` `+` `-`.
    pub(super) fn record_common_key(
        &mut self,
        k: KeyEvent,
        list: fn(&mut UiState) -> &mut RecordList,
    ) -> bool {
        match k.code {
            KeyCode::Char('q') => self.ui.quit = true,
            KeyCode::Char('?') => self.ui.help = true,
            KeyCode::Char('/') => {
                let f = &mut list(&mut self.ui).filter;
                f.editing = true;
                f.text = f.applied.clone();
                f.cursor = f.text.chars().count();
                f.error = None;
            }
            KeyCode::Esc => {
                let l = list(&mut self.ui);
                if l.filter.applied.is_empty() {
                    return false;
                }
                l.filter.applied.clear();
                l.cursor = 0;
                l.offset = 0;
            }
            KeyCode::Char('R') => self.open_queue(),
            KeyCode::Char('p') => self.replay(|c| c.toggle_pause()),
            KeyCode::Char('+' | '>') => self.replay(|c| c.step_speed(true)),
            KeyCode::Char('-' | '<') => self.replay(|c| c.step_speed(false)),
            _ => return false,
        }
        true
    }

    /// Typing the `/` filter of a logs or metrics view (same editing as the trace list's).
    pub(super) fn record_filter_key(
        &mut self,
        k: KeyEvent,
        list: fn(&mut UiState) -> &mut RecordList,
    ) -> bool {
        let l = list(&mut self.ui);
        let f = &mut l.filter;
        match k.code {
            KeyCode::Esc => {
                f.editing = false;
                f.error = None;
            }
            KeyCode::Enter => {
                match Query::parse(&f.text) {
                    Ok(_) => {
                        f.applied = f.text.clone();
                        f.editing = false;
                        f.error = None;
                        l.cursor = 0;
                        l.offset = 0;
                    }
                    Err(e) => f.error = Some(e),
                }
                return true;
            }
            _ => return f.edit(k),
        }
        true
    }

    /// The mouse over a view (sessions, logs, metrics, a comparison, the review queue), as
    /// over the overview's trace list: a click on a row selects it (Enter then acts on it as
    /// on a row reached with the keys), the wheel moves the selection three rows. In a
    /// conversation the wheel steps through the turns.
    pub(super) fn view_mouse(&mut self, m: MouseEvent) -> bool {
        let rows = self.ui.view_rows;
        let (cursor, offset) = match (&self.compare, &self.ui.review, self.ui.screen) {
            (Some(c), _, _) => (c.cursor, c.offset),
            (None, Some(q), _) => (q.cursor, q.offset),
            (None, None, Screen::Sessions) if self.ui.sessions.open.is_some() => {
                let code = match m.kind {
                    MouseEventKind::ScrollDown => KeyCode::Down,
                    MouseEventKind::ScrollUp => KeyCode::Up,
                    _ => return false,
                };
                return self.key(KeyEvent::new(code, KeyModifiers::NONE));
            }
            (None, None, Screen::Sessions) => (self.ui.sessions.cursor, self.ui.sessions.offset),
            (None, None, Screen::Logs) => (self.ui.logs.cursor, self.ui.logs.offset),
            (None, None, Screen::Metrics) => (self.ui.metrics.cursor, self.ui.metrics.offset),
            (None, None, Screen::Overview) => return false,
        };
        let to = match m.kind {
            MouseEventKind::ScrollDown => cursor + 3,
            MouseEventKind::ScrollUp => cursor.saturating_sub(3),
            MouseEventKind::Down(MouseButton::Left)
                if rows.contains(ratatui::layout::Position::new(m.column, m.row)) =>
            {
                offset + usize::from(m.row - rows.y)
            }
            _ => return false,
        };
        if let Some(c) = self.compare.as_mut() {
            c.cursor = to.min(c.rows.len().saturating_sub(1));
        } else if self.ui.review.is_some() {
            self.select_queue(to.min(self.index.review_len().saturating_sub(1)));
        } else {
            match self.ui.screen {
                Screen::Sessions => self.sessions_move_to(to),
                Screen::Logs => self.logs_move_to(to),
                // Clamped to the series listed when drawn.
                Screen::Metrics => self.ui.metrics.cursor = to,
                Screen::Overview => {}
            }
        }
        true
    }
}
