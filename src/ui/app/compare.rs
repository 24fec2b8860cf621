//! The application's side of comparing two traces (`=`, issue 18): the first `=` marks the
//! selected trace (in the trace list, the review queue or a conversation's turn), `=` on
//! another opens both side by side; in the comparison `=` clears the mark and Esc goes back.
//! The alignment ([`crate::view::compare`]) is computed again only when a side's spans change.

use super::App;
use crate::model::TraceId;
use crate::ui::panes;
use crate::view::compare::{self, Row};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

pub use super::types::CompareScreen;

impl App {
    /// The two traces side by side, (marked first, second), when a comparison is open.
    pub fn comparing(&self) -> Option<(TraceId, TraceId)> {
        self.compare.as_ref().map(|c| (c.left, c.right))
    }

    /// The open comparison's aligned rows.
    pub fn compare_rows(&self) -> &[Row] {
        self.compare.as_ref().map_or(&[], |c| &c.rows)
    }

    /// `=` on trace `id`: marks it, clears the mark when it is the marked one, else opens the
    /// comparison of the marked trace (left) with this one (right).
    pub(super) fn mark_or_compare(&mut self, id: TraceId) -> bool {
        match self.ui.compare_mark {
            None => {
                self.ui.compare_mark = Some(id);
                self.ui.note = Some(format!(
                    "marked trace {} to compare; = on another trace compares the two",
                    short(&id)
                ));
            }
            Some(marked) if marked == id => {
                self.ui.compare_mark = None;
                self.ui.note = Some("compare mark cleared".into());
            }
            Some(marked) => {
                self.compare = Some(CompareScreen {
                    left: marked,
                    right: id,
                    rows: Vec::new(),
                    heads: Default::default(),
                    versions: ((u64::MAX, 0, 0), (u64::MAX, 0, 0)),
                    cursor: 0,
                    offset: 0,
                });
                self.ui.note = None;
                self.refresh_compare();
            }
        }
        true
    }

    /// Aligns the two traces again if either changed; closes the comparison (with a note)
    /// when one was evicted.
    fn refresh_compare(&mut self) {
        let Some(c) = self.compare.as_mut() else { return };
        let store = self.pipeline.store();
        let (Some(l), Some(r)) = (store.trace(&c.left), store.trace(&c.right)) else {
            drop(store);
            self.compare = None;
            self.ui.note = Some("a compared trace was evicted from the buffer".into());
            return;
        };
        let version = |t: &crate::store::Trace| (t.seq, t.spans.len(), t.verdicts.len());
        let now = (version(l), version(r));
        if now == c.versions {
            return;
        }
        c.rows = compare::compare(l, r);
        c.heads = [panes::compare::Head::of(l), panes::compare::Head::of(r)];
        c.versions = now;
    }

    pub(super) fn draw_compare(&mut self, frame: &mut Frame) {
        self.refresh_compare();
        let status = self.plain_status();
        let (status_area, body, footer) = self.screen_areas(frame);
        frame.render_widget(
            ratatui::widgets::Block::new().style(self.theme.base),
            frame.area(),
        );
        panes::render_status(frame, status_area, &status, &self.theme);
        let Some(c) = self.compare.as_mut() else {
            // Evicted while open: back to where it was opened from.
            self.draw(frame);
            return;
        };
        let visible = panes::compare::body_rows(body);
        c.cursor = c.cursor.min(c.rows.len().saturating_sub(1));
        if c.cursor < c.offset {
            c.offset = c.cursor;
        } else if c.cursor >= c.offset + visible {
            c.offset = c.cursor + 1 - visible;
        }
        let view = panes::compare::CompareView {
            heads: &c.heads,
            rows: &c.rows,
            cursor: c.cursor,
            offset: c.offset,
        };
        panes::compare::render(frame, body, &view, &self.theme);
        panes::compare::render_footer(frame, footer, &self.theme);
        // The table sits under the two heading lines.
        self.ui.view_rows = panes::table_rows(panes::compare::split(body)[1], 1);
        if self.ui.help {
            panes::render_help(
                frame,
                &self.ui,
                &status,
                &self.theme,
                crate::ui::keys::Mode::Compare,
            );
        }
    }

    pub(super) fn compare_key(&mut self, k: KeyEvent) -> bool {
        if self.ui.help {
            self.ui.help = false;
            return true;
        }
        let page = usize::from(self.ui.view_rows.height.max(1));
        let Some(c) = self.compare.as_mut() else {
            return false;
        };
        let last = c.rows.len().saturating_sub(1);
        c.cursor = match k.code {
            KeyCode::Esc => {
                self.compare = None;
                return true;
            }
            KeyCode::Char('=') => {
                self.compare = None;
                self.ui.compare_mark = None;
                self.ui.note = Some("compare mark cleared".into());
                return true;
            }
            KeyCode::Char('?') => {
                self.ui.help = true;
                return true;
            }
            KeyCode::Char('q') => {
                self.ui.quit = true;
                return true;
            }
            KeyCode::Up | KeyCode::Char('k') => c.cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => (c.cursor + 1).min(last),
            KeyCode::PageUp => c.cursor.saturating_sub(page),
            KeyCode::PageDown => (c.cursor + page).min(last),
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => last,
            // The next row that differs.
            KeyCode::Char('n') => (c.cursor + 1..c.rows.len())
                .find(|&i| c.rows[i].difference != compare::Difference::Same)
                .unwrap_or(c.cursor),
            _ => return false,
        };
        true
    }
}

/// The first 8 hex digits of a trace id.
fn short(id: &TraceId) -> String {
    id.to_string().chars().take(8).collect()
}
