//! The application's side of reviewing (issue 14): the review queue screen (`R`), the review
//! form (`r`) and saving a review: into the store as a human verdict (so counts, badges and
//! the detail pane see it) and onto the reviews file.

use super::App;
use crate::review::Review;
use crate::review::file::ReviewsFile;
use crate::ui::panes;
use crate::ui::review::{FormOutcome, QueuePos, ReviewForm};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

impl App {
    /// `--reviews`: append saved reviews to `file`.
    pub fn set_reviews(&mut self, file: ReviewsFile) {
        self.reviews = Some(file);
    }

    pub(super) fn open_queue(&mut self) {
        self.ui.review.get_or_insert_with(QueuePos::default);
        self.ui.help = false;
        self.ui.note = None;
    }

    /// Keeps the queue's selection on its trace while rows move, and on screen.
    fn fix_queue(&mut self, visible: usize) {
        let len = self.index.review_len();
        let index = &self.index;
        let Some(q) = self.ui.review.as_mut() else { return };
        if len == 0 {
            *q = QueuePos::default();
            return;
        }
        match q.selected.and_then(|id| index.review_position(&id)) {
            Some(p) => q.cursor = p,
            None => {
                q.cursor = q.cursor.min(len - 1);
                q.selected = index.review_page(q.cursor, 1).next().map(|r| r.id);
            }
        }
        q.offset = crate::ui::state::offset_showing(q.cursor, q.offset, visible, len);
    }

    pub(super) fn draw_queue(&mut self, frame: &mut Frame) {
        let (status_area, body, footer) = self.screen_areas(frame);
        let visible = panes::review::body_rows(body);
        self.fix_queue(visible);
        let pos = self.ui.review.clone().unwrap_or_default();
        let view = panes::review::QueueView {
            rows: self.index.review_page(pos.offset, visible).cloned().collect(),
            offset: pos.offset,
            cursor: pos.cursor,
            total: self.index.review_len(),
        };
        let status = super::view::View {
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
        frame.render_widget(
            ratatui::widgets::Block::new().style(self.theme.base),
            frame.area(),
        );
        panes::render_status(frame, status_area, &status, &self.theme);
        panes::review::render_queue(frame, body, &view, &self.theme);
        panes::review::render_queue_footer(frame, footer, self.ui.note.as_deref(), &self.theme);
        if self.ui.help {
            panes::render_help(
                frame,
                &self.ui,
                &status,
                &self.theme,
                crate::ui::keys::Mode::Queue,
            );
        }
        self.ui.view_rows = panes::table_rows(body, 1);
    }

    pub(super) fn queue_key(&mut self, k: KeyEvent) -> bool {
        if self.ui.help {
            self.ui.help = false;
            return true;
        }
        let len = self.index.review_len();
        let page = usize::from(self.ui.view_rows.height.max(1));
        let Some(q) = self.ui.review.as_mut() else {
            return false;
        };
        let cursor = q.cursor;
        let to = match k.code {
            KeyCode::Esc => {
                self.ui.review = None;
                self.ui.note = None;
                return true;
            }
            KeyCode::Char('q') => {
                self.ui.quit = true;
                return true;
            }
            KeyCode::Char('?') => {
                self.ui.help = true;
                return true;
            }
            KeyCode::Enter => return self.open_queue_selected(),
            KeyCode::Char('r') => return self.review_selected(),
            KeyCode::Char('=') => {
                return match q
                    .selected
                    .or_else(|| self.index.review_page(cursor, 1).next().map(|r| r.id))
                {
                    Some(id) => self.mark_or_compare(id),
                    None => false,
                };
            }
            KeyCode::Char('D') => {
                let ids: Vec<_> = self.index.review_page(0, len).map(|r| r.id).collect();
                self.write_dataset_of(&ids);
                return true;
            }
            KeyCode::Up | KeyCode::Char('k') => cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => cursor + 1,
            KeyCode::PageUp => cursor.saturating_sub(page),
            KeyCode::PageDown => cursor + page,
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => usize::MAX / 2,
            _ => return false,
        };
        self.select_queue(to.min(len.saturating_sub(1)));
        true
    }

    pub(super) fn select_queue(&mut self, cursor: usize) {
        let id = self.index.review_page(cursor, 1).next().map(|r| r.id);
        if let Some(q) = self.ui.review.as_mut() {
            q.cursor = cursor;
            q.selected = id;
        }
    }

    /// The trace `r` and Enter act on: the queue's selection when it is shown, else the list's.
    fn selected_trace(&self) -> Option<crate::model::TraceId> {
        // Before the first frame placed a selection: the row under the cursor.
        match &self.ui.review {
            Some(q) => q
                .selected
                .or_else(|| self.index.review_page(q.cursor, 1).next().map(|r| r.id)),
            None => self
                .ui
                .list
                .selected
                .or_else(|| self.index.page(self.ui.list.cursor, 1).next().map(|r| r.id)),
        }
    }

    fn open_queue_selected(&mut self) -> bool {
        match self.selected_trace() {
            Some(id) => self.open_trace(id),
            None => false,
        }
    }

    /// `r` on a trace (in the list or the queue): the form for its first failing model call,
    /// else its root.
    pub(super) fn review_selected(&mut self) -> bool {
        let Some(id) = self.selected_trace() else {
            return false;
        };
        let form = self.pipeline.store().trace(&id).and_then(ReviewForm::for_trace);
        match form {
            Some(f) => self.form = Some(f),
            None => self.ui.note = Some("that trace was evicted from the buffer".into()),
        }
        true
    }

    /// `r` in the drill-down: the form for the selected span.
    pub(super) fn review_drill_span(&mut self) -> bool {
        let Some(d) = self.drill.as_mut() else {
            return false;
        };
        let form = {
            let store = self.pipeline.store();
            store.trace(&d.trace_id).and_then(|t| {
                d.refresh(t);
                d.selected_span(t).map(|s| ReviewForm::for_span(t, s))
            })
        };
        match form {
            Some(f) => self.form = Some(f),
            None => d.message = Some("select a span to review".into()),
        }
        true
    }

    pub(super) fn form_key(&mut self, k: KeyEvent) -> bool {
        let Some(form) = self.form.as_mut() else {
            return false;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        match form.key(k, &crate::review::reviewer(), now) {
            FormOutcome::Open => {}
            FormOutcome::Cancel => self.form = None,
            FormOutcome::Save(review) => {
                self.form = None;
                let note = self.save_review(&review);
                match self.drill.as_mut() {
                    Some(d) => d.message = Some(note),
                    None => self.ui.note = Some(note),
                }
            }
        }
        true
    }

    /// Files the review as a human verdict and appends it to the reviews file; says how it went.
    pub fn save_review(&mut self, review: &Review) -> String {
        let written = self
            .reviews
            .as_ref()
            .map(|f| f.append(review).map(|()| f.path().to_owned()));
        {
            let mut store = self.pipeline.store();
            // Filing a human verdict marks the trace kept (KeepReason::Human) and changed.
            store.insert_verdicts([review.verdict()]);
        }
        self.sync();
        let what = format!(
            "{} {}",
            if review.passed { "pass" } else { "fail" },
            review.evaluator
        );
        match written {
            Some(Ok(path)) => format!("review saved ({what}) to {}", path.display()),
            Some(Err(e)) => format!("review kept in memory only: {e}"),
            None => format!("review saved ({what}) in memory (no --reviews file)"),
        }
    }
}
