//! The application's side of the sessions view (`2`, issue 18): moving in the list of
//! sessions, opening one as a conversation, opening a turn's trace (`Enter` / `o`) and marking
//! it for comparison (`=`). The rows come from the index's session grouping; a conversation's
//! turns are read from the store when the session changes, never per frame.

use super::App;
use super::types::ConversationCache;
use crate::intern::Sym;
use crate::model::{SpanRecord, TraceId};
use crate::semconv::Kind;
use crate::semconv::content;
use crate::store::Trace;
use crate::ui::panes;
use crate::ui::panes::sessions::{SessionRow, Turn, TurnVerdict};
use crate::ui::state::{ConversationPos, Screen, SessionsPos};
use crate::view::sessions::Session;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// At most this many of a session's turns (the newest) are shown as a conversation.
pub const MAX_TURNS: usize = 200;

impl App {
    /// The session's row as the list shows it.
    fn session_row(s: &Session) -> SessionRow {
        SessionRow {
            id: s.id.clone(),
            user: s.user.clone(),
            turns: s.turns.len(),
            first: s.first_start(),
            last: s.last_start(),
            cost_usd: s.cost_usd(),
            tokens: s.tokens,
            failed: s.failed,
            errors: s.errors,
        }
    }

    /// Keeps the list's selection on its session while rows move, and on screen.
    fn fix_sessions(&mut self, visible: usize) {
        let ix = self.index.sessions();
        let len = ix.len();
        let p = &mut self.ui.sessions;
        if len == 0 {
            p.cursor = 0;
            p.offset = 0;
            p.selected = None;
            return;
        }
        match p.selected.as_deref().and_then(|id| ix.position(id)) {
            Some(at) => p.cursor = at,
            None => {
                p.cursor = p.cursor.min(len - 1);
                p.selected = ix.page(p.cursor, 1).next().map(|s| s.id.clone());
            }
        }
        p.offset = crate::ui::state::offset_showing(p.cursor, p.offset, visible, len);
    }

    pub(super) fn draw_sessions(&mut self, frame: &mut Frame) {
        let (status_area, body, footer) = self.screen_areas(frame);
        frame.render_widget(
            ratatui::widgets::Block::new().style(self.theme.base),
            frame.area(),
        );
        let status = self.plain_status();
        panes::render_status(frame, status_area, &status, &self.theme);
        if let Some(open) = self.ui.sessions.open.clone() {
            self.draw_conversation(frame, body, &open);
        } else {
            let visible = panes::sessions::body_rows(body);
            self.fix_sessions(visible);
            let p = &self.ui.sessions;
            let ix = self.index.sessions();
            let view = panes::sessions::ListView {
                rows: ix.page(p.offset, visible).map(Self::session_row).collect(),
                offset: p.offset,
                cursor: p.cursor,
                listed: ix.len(),
                total: ix.total(),
                sort: ix.sort().label(),
                filter: self.ui.filter.applied.clone(),
            };
            panes::sessions::render_list(frame, body, &view, &self.theme);
            self.ui.view_rows = panes::table_rows(body, 1);
        }
        let mode = if self.ui.sessions.open.is_some() {
            crate::ui::keys::Mode::Conversation
        } else {
            crate::ui::keys::Mode::Sessions
        };
        let replay = self.is_replay();
        panes::footer::render_with(
            frame,
            footer,
            &self.ui,
            &self.ui.filter,
            mode,
            replay,
            &self.theme,
        );
    }

    fn draw_conversation(&mut self, frame: &mut Frame, area: ratatui::layout::Rect, open: &ConversationPos) {
        self.refresh_conversation(&open.session);
        let turns = &self.conversation.turns;
        if turns.is_empty() {
            // Its traces were evicted: back to the list.
            self.ui.sessions.open = None;
            self.ui.note = Some("that session's traces were evicted from the buffer".into());
            return;
        }
        let turn = open.turn.min(turns.len() - 1);
        let scroll = panes::sessions::render_conversation(
            frame,
            area,
            &open.session,
            turns,
            turn,
            open.scroll,
            &self.theme,
        );
        if let Some(o) = self.ui.sessions.open.as_mut() {
            o.turn = turn;
            o.scroll = scroll;
        }
    }

    /// Reads the session's turns again when a turn came or went or one of them changed.
    fn refresh_conversation(&mut self, session: &Sym) {
        let Some(s) = self.index.sessions().get(session) else {
            self.conversation = ConversationCache::default();
            return;
        };
        let ids: Vec<TraceId> = {
            let all: Vec<TraceId> = s.trace_ids().collect();
            all[all.len().saturating_sub(MAX_TURNS)..].to_vec()
        };
        let store = self.pipeline.store();
        let held: Vec<&Trace> = ids.iter().filter_map(|id| store.trace(id)).collect();
        let key: Vec<(TraceId, usize, usize)> = held
            .iter()
            .map(|t| (t.id, t.spans.len(), t.verdicts.len()))
            .collect();
        if self
            .conversation
            .key
            .as_ref()
            .is_some_and(|(s, k)| s == session && *k == key)
        {
            return;
        }
        let turns = held.iter().map(|t| turn_of(t)).collect();
        self.conversation = ConversationCache {
            key: Some((session.clone(), key)),
            turns,
        };
    }

    pub(super) fn sessions_key(&mut self, k: KeyEvent) -> bool {
        if self.ui.sessions.open.is_some() {
            return self.conversation_key(k);
        }
        let page = usize::from(self.ui.view_rows.height.max(1));
        let cursor = self.ui.sessions.cursor;
        let to = match k.code {
            KeyCode::Esc if !self.ui.filter.applied.is_empty() => {
                self.apply_filter(String::new());
                return true;
            }
            KeyCode::Esc | KeyCode::Char('1') => {
                self.ui.screen = Screen::Overview;
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
            KeyCode::Char('/') => {
                let f = &mut self.ui.filter;
                f.editing = true;
                f.text = f.applied.clone();
                f.cursor = f.text.chars().count();
                f.error = None;
                return true;
            }
            KeyCode::Char(c @ ('s' | 'S')) => {
                let sort = self.index.sessions().sort().step(c == 's');
                self.index.set_session_sort(sort);
                self.ui.sessions.offset = 0;
                return true;
            }
            KeyCode::Char('R') => {
                self.open_queue();
                return true;
            }
            KeyCode::Enter => {
                let Some(id) = self.ui.sessions.selected.clone() else {
                    return false;
                };
                // Opens on the newest turn.
                self.ui.sessions.open = Some(ConversationPos {
                    session: id,
                    turn: usize::MAX / 2,
                    scroll: usize::MAX / 2,
                });
                self.ui.note = None;
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
        self.sessions_move_to(to);
        true
    }

    /// Selects session `to` of the list (the last when past it).
    pub(super) fn sessions_move_to(&mut self, to: usize) {
        let len = self.index.sessions().len();
        let at = to.min(len.saturating_sub(1));
        let id = self.index.sessions().page(at, 1).next().map(|s| s.id.clone());
        let p = &mut self.ui.sessions;
        p.cursor = at;
        p.selected = id;
    }

    fn conversation_key(&mut self, k: KeyEvent) -> bool {
        let turns = self.conversation.turns.len();
        let Some(open) = self.ui.sessions.open.as_mut() else {
            return false;
        };
        let turn = open.turn.min(turns.saturating_sub(1));
        let to = match k.code {
            KeyCode::Esc => {
                self.ui.sessions.open = None;
                self.ui.note = None;
                return true;
            }
            KeyCode::Char('1') => {
                self.ui.sessions.open = None;
                self.ui.screen = Screen::Overview;
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
            KeyCode::Enter | KeyCode::Char('o') => {
                return match self.conversation.turns.get(turn) {
                    Some(t) => {
                        let id = t.trace_id;
                        self.open_trace(id)
                    }
                    None => false,
                };
            }
            KeyCode::Char('=') => {
                return match self.conversation.turns.get(turn) {
                    Some(t) => {
                        let id = t.trace_id;
                        self.mark_or_compare(id)
                    }
                    None => false,
                };
            }
            KeyCode::Up | KeyCode::Char('k') => turn.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => turn + 1,
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => usize::MAX / 2,
            _ => return false,
        };
        open.turn = to.min(turns.saturating_sub(1));
        true
    }

    /// The status line alone, for screens that are not the dashboard.
    pub(super) fn plain_status(&self) -> super::view::View {
        super::view::View {
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
        }
    }
}

impl SessionsPos {
    /// Whether a conversation is open.
    pub fn in_conversation(&self) -> bool {
        self.open.is_some()
    }
}

/// The last message of `role` (or any, for `None`) with text.
fn last_text(messages: &[content::Message], role: Option<&str>) -> Option<String> {
    messages
        .iter()
        .rev()
        .filter(|m| role.is_none_or(|r| m.role.trim().eq_ignore_ascii_case(r)))
        .find(|m| !m.content.trim().is_empty())
        .map(|m| m.content.clone())
}

fn kind(s: &SpanRecord) -> Kind {
    s.sem.as_deref().map_or(Kind::Other, |m| m.kind)
}

/// One trace as a turn: the user's message and the answer (from the root when it carries the
/// conversation, else the first and last model calls), the tool calls in between in start
/// order, and the trace's verdicts.
pub fn turn_of(t: &Trace) -> Turn {
    let mut calls: Vec<&SpanRecord> = t.spans.iter().filter(|s| kind(s).is_model_call()).collect();
    calls.sort_by_key(|s| (s.start_unix_nano, s.end_unix_nano));
    let root = t.root().map(content::conversation).unwrap_or_default();
    let user = last_text(&root.input, Some("user")).or_else(|| {
        calls
            .iter()
            .find_map(|s| last_text(&content::input_messages(s).1, Some("user")))
    });
    let answer = last_text(&root.output, None).or_else(|| {
        let mut by_end = calls.clone();
        by_end.sort_by_key(|s| s.end_unix_nano);
        by_end
            .iter()
            .rev()
            .find_map(|s| last_text(&content::output_messages(s), None))
    });
    let mut tools: Vec<&SpanRecord> = t.spans.iter().filter(|s| kind(s) == Kind::Tool).collect();
    tools.sort_by_key(|s| s.start_unix_nano);
    let tools = tools
        .into_iter()
        .map(|s| {
            let args = content::tool_arguments(s)
                .map(|a| a.into_owned())
                .unwrap_or_default();
            (s.name.clone(), args, s.status == crate::model::StatusCode::Error)
        })
        .collect();
    let verdicts = t
        .effective_verdicts()
        .filter(|v| v.is_notable())
        .map(|v| TurnVerdict {
            name: v.name.clone(),
            score: v.score,
            passed: v.passed,
        })
        .collect();
    let row = crate::view::row::TraceRow::from_trace(t);
    Turn {
        trace_id: t.id,
        start: row.start_unix_nano,
        duration_nanos: row.duration_nanos,
        cost_usd: row.cost_usd,
        tokens: row.tokens(),
        errors: row.error_spans,
        user,
        answer,
        tools,
        verdicts,
    }
}
