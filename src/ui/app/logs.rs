//! The application's side of the logs view (`3`): reads the visible page of held logs from
//! the store (newest first, filtered), and its keys: `/` filter, `f` follow, Enter opens the
//! log's trace.

use super::App;
use crate::model::{LogRecord, TraceId};
use crate::ui::panes;
use crate::ui::panes::logs::{LogLine, LogsView};
use crate::ui::state::RecordList;
use crate::view::query::{Query, Record};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// Logs one frame reads at most when a filter is set: a bound on the work of a frame (the
/// count of matches then says `+`).
pub const SCAN_LIMIT: usize = 50_000;
/// Body text kept per line before escaping (a cell shows far less).
const BODY_CHARS: usize = 400;
/// Attributes shown per line.
const ATTRS_SHOWN: usize = 4;

/// What the filter reads of a log.
fn record<'a>(log: &'a LogRecord, body: &'a str, attrs: &'a [(String, String)]) -> Record<'a> {
    Record {
        trace_id: log.trace_id.as_ref(),
        service: &log.resource.service,
        model: None,
        name: log.event_name.as_deref(),
        severity_number: log.severity_number,
        severity_text: log.severity_text.as_deref().unwrap_or(""),
        body,
        attrs,
    }
}

fn body_text(log: &LogRecord) -> String {
    let full = crate::ui::drill::detail::value_text(&log.body);
    match full.char_indices().nth(BODY_CHARS) {
        Some((i, _)) => format!("{}…", &full[..i]),
        None => full.into_owned(),
    }
}

fn attr_pairs(log: &LogRecord) -> Vec<(String, String)> {
    log.attributes
        .iter()
        .map(|a| {
            let v = crate::ui::drill::detail::value_text(&a.value);
            let v = match v.char_indices().nth(80) {
                Some((i, _)) => format!("{}…", &v[..i]),
                None => v.into_owned(),
            };
            (a.key.to_string(), v)
        })
        .collect()
}

fn line(n: u64, log: &LogRecord, body: String, attrs: &[(String, String)]) -> LogLine {
    let clean = |s: &str| crate::ui::text::clean(s).into_owned();
    let mut shown: Vec<String> = Vec::new();
    if let Some(e) = &log.event_name {
        shown.push(format!("event={}", clean(e)));
    }
    shown.extend(
        attrs
            .iter()
            .take(ATTRS_SHOWN)
            .map(|(k, v)| format!("{}={}", clean(k), clean(v))),
    );
    // An event without a body (the demo's evaluation results) says what it is in the body's
    // place.
    let (body, shown) = if body.is_empty() {
        (shown.join(" "), Vec::new())
    } else {
        (body, shown)
    };
    LogLine {
        n,
        severity_number: log.severity_number,
        severity: panes::logs::severity_label(log.severity_number, log.severity_text.as_deref()),
        time_unix_nano: log.event_time(),
        service: clean(&log.resource.service),
        trace: log.trace_id,
        body: clean(&body),
        attrs: shown.join(" "),
    }
}

/// The page of `list` over the store's logs: rows `offset..offset + visible` of the logs that
/// pass `query`, newest first, no newer than `list.top` while not following.
pub fn page(
    store: &crate::store::TraceStore,
    list: &RecordList,
    query: Option<&Query>,
    visible: usize,
) -> LogsView {
    let held = store.stats().logs_held;
    let mut view = LogsView {
        held,
        follow: list.follow,
        filtered: query.is_some_and(|q| !q.is_empty()),
        offset: list.offset,
        cursor: list.cursor,
        ..LogsView::default()
    };
    let want = list.offset..list.offset + visible;
    for (read, (n, log)) in store.logs_newest_first().enumerate() {
        if read >= SCAN_LIMIT && view.filtered {
            view.capped = true;
            break;
        }
        if !list.follow && n > list.top {
            continue;
        }
        let (body, attrs) = (body_text(log), attr_pairs(log));
        if let Some(q) = query
            && !q.matches_record(&record(log, &body, &attrs))
        {
            continue;
        }
        if want.contains(&view.matched) {
            view.rows.push(line(n, log, body, &attrs));
        } else if !view.filtered && view.matched >= want.end {
            // Unfiltered: every older log is listed too; count them without reading them.
            view.matched += usize::try_from(held).unwrap_or(usize::MAX).saturating_sub(read);
            break;
        }
        view.matched += 1;
    }
    view
}

impl App {
    pub(super) fn draw_logs(&mut self, frame: &mut Frame) {
        let (status_area, body, footer) = self.screen_areas(frame);
        let visible = panes::logs::body_rows(body);
        let query = Query::parse(&self.ui.logs.filter.applied).ok();
        let mut view = {
            let store = self.pipeline.store();
            if self.ui.logs.follow {
                self.ui.logs.top = store.stats().logs_inserted;
            }
            page(&store, &self.ui.logs, query.as_ref(), visible)
        };
        // Keep the cursor on a row that exists.
        let list = &mut self.ui.logs;
        list.visible = visible;
        let len = view.matched;
        list.cursor = list.cursor.min(len.saturating_sub(1));
        if list.cursor < list.offset || list.cursor >= list.offset + visible {
            list.offset = list.cursor.saturating_sub(visible - 1).min(list.cursor);
            let store = self.pipeline.store();
            view = page(&store, list, query.as_ref(), visible);
        }
        view.cursor = list.cursor;
        self.ui.view_rows = panes::table_rows(body, 1);
        self.draw_screen_status(frame, status_area);
        panes::logs::render(frame, body, &view, &self.theme);
        panes::footer::render_with(
            frame,
            footer,
            &self.ui,
            &self.ui.logs.filter,
            crate::ui::keys::Mode::Logs,
            self.is_replay(),
            &self.theme,
        );
    }

    /// The trace of the log under the cursor, when it names one.
    fn selected_log_trace(&self) -> Result<TraceId, &'static str> {
        let query = Query::parse(&self.ui.logs.filter.applied).ok();
        let store = self.pipeline.store();
        let mut list = self.ui.logs.clone();
        list.offset = list.cursor;
        let view = page(&store, &list, query.as_ref(), 1);
        match view.rows.first() {
            Some(r) => r.trace.ok_or("that log names no trace"),
            None => Err("no log selected"),
        }
    }

    pub(super) fn logs_key(&mut self, k: KeyEvent) -> bool {
        if self.ui.logs.filter.editing {
            return self.record_filter_key(k, |ui| &mut ui.logs);
        }
        let list = &mut self.ui.logs;
        let page = list.visible.max(1);
        let cursor = list.cursor;
        let to = match k.code {
            KeyCode::Char('f') => {
                list.follow = !list.follow;
                if list.follow {
                    list.cursor = 0;
                    list.offset = 0;
                }
                return true;
            }
            KeyCode::Enter => {
                return match self.selected_log_trace() {
                    Ok(id) => self.open_trace(id),
                    Err(why) => {
                        self.ui.note = Some(why.into());
                        true
                    }
                };
            }
            KeyCode::Up | KeyCode::Char('k') => cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => cursor + 1,
            KeyCode::PageUp => cursor.saturating_sub(page),
            KeyCode::PageDown => cursor + page,
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => usize::MAX / 2,
            _ => return self.record_common_key(k, |ui| &mut ui.logs),
        };
        self.logs_move_to(to);
        true
    }

    /// Selects log `to` (clamped when drawn). Moving off the newest log pins the list where it
    /// is; back at the top follows again.
    pub(super) fn logs_move_to(&mut self, to: usize) {
        let list = &mut self.ui.logs;
        list.follow = to == 0;
        list.cursor = to;
    }
}
