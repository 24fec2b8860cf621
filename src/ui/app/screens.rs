//! Switching the views on the number keys (`1` overview, `2` sessions, `3` logs, `4`
//! metrics), and what the logs and metrics views share: the frame's areas, the status bar,
//! the `/` filter of their own and the keys every view takes (quit, help, views, review).

use super::App;
use crate::ui::panes;
use crate::ui::state::{RecordList, Screen, UiState};
use crate::view::query::Query;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
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
}
