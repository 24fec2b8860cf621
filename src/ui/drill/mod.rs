//! The trace drill-down: one trace's span tree with timing, tokens, cost and verdicts, the
//! selected span's detail, navigation (next error, next failed verdict, dearest, slowest,
//! search), copy over OSC 52 and export to a replayable file. State lives here; the frame is
//! built under the store's lock as an owned [`DrillView`] and drawn by `panes::drill`.

pub mod detail;
pub mod rows;
pub mod tree;

use crate::model::{SpanId, StatusCode, TraceId};
use crate::store::Trace;
use crate::ui::text::clean;
use crate::ui::theme::Theme;
use crate::view::index::span_contains;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::Line;
use tree::SpanTree;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DrillFocus {
    #[default]
    Tree,
    Detail,
}

/// The `/` line of the drill-down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub editing: bool,
    pub text: String,
}

/// What a key asks of the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Redraw,
    Close,
    /// Put this text on the clipboard (OSC 52); the label says what it is.
    Copy {
        text: String,
        what: &'static str,
    },
    Export,
}

#[derive(Debug)]
pub struct Drill {
    pub trace_id: TraceId,
    pub tree: SpanTree,
    pub selected: Option<SpanId>,
    /// Visible row of the selection, and of the first row on screen.
    pub cursor: usize,
    pub offset: usize,
    pub focus: DrillFocus,
    pub detail_scroll: usize,
    pub search: Search,
    /// A one-line note for the footer (a copy, an export, a search without match).
    pub message: Option<String>,
    /// Rows of the tree pane and of the detail pane at the last frame (paging).
    pub tree_height: usize,
    pub detail_height: usize,
    detail_cache: Option<DetailCache>,
}

#[derive(Debug)]
struct DetailCache {
    span: SpanId,
    width: u16,
    spans: usize,
    verdicts: usize,
    logs: usize,
    lines: Vec<Line<'static>>,
}

impl Drill {
    pub fn open(trace: &Trace) -> Self {
        let tree = SpanTree::build(trace, Default::default());
        let mut d = Drill {
            trace_id: trace.id,
            tree,
            selected: None,
            cursor: 0,
            offset: 0,
            focus: DrillFocus::Tree,
            detail_scroll: 0,
            search: Search::default(),
            message: None,
            tree_height: 20,
            detail_height: 20,
            detail_cache: None,
        };
        d.select_row(trace, 0);
        d
    }

    /// Picks up spans that arrived since the tree was built; the selection stays on its span.
    pub fn refresh(&mut self, trace: &Trace) {
        if trace.spans.len() == self.tree.built_from && trace.seq == self.tree.seq {
            return;
        }
        self.rebuild(trace, self.tree.genai_only);
    }

    /// Builds the tree again (new spans, or the GenAI-only toggle), the selection staying on
    /// its span, or on its nearest shown ancestor when the toggle hid it.
    fn rebuild(&mut self, trace: &Trace, genai_only: bool) {
        let collapsed = std::mem::take(&mut self.tree.collapsed);
        self.tree = SpanTree::build_with(trace, collapsed, genai_only);
        let shown = |d: &Self, id: SpanId| d.row_of(trace, id);
        let mut target = self.selected;
        // Bounded: parent ids may form a cycle.
        for _ in 0..=trace.spans.len() {
            match target {
                Some(id) if shown(self, id).is_none() => {
                    target = trace.span(id).and_then(|s| s.parent_span_id);
                }
                _ => break,
            }
        }
        if target.is_some() {
            self.selected = target;
        }
        let line = self.cursor.saturating_sub(self.offset);
        match self.selected.and_then(|id| self.row_of(trace, id)) {
            Some(row) => {
                self.cursor = row;
                self.offset = row.saturating_sub(line);
            }
            None => self.select_row(trace, self.cursor.min(self.tree.rows.len().saturating_sub(1))),
        }
    }

    fn row_of(&self, trace: &Trace, id: SpanId) -> Option<usize> {
        self.tree.rows.iter().position(|&n| {
            self.tree.nodes[n]
                .span()
                .is_some_and(|i| trace.spans[i].span_id == id)
        })
    }

    fn select_row(&mut self, trace: &Trace, row: usize) {
        if self.tree.rows.is_empty() {
            return;
        }
        let row = row.min(self.tree.rows.len() - 1);
        self.cursor = row;
        let node = self.tree.rows[row];
        self.selected = Some(self.tree.node_id(trace, node));
        self.detail_scroll = 0;
        let h = self.tree_height.max(1);
        if row < self.offset {
            self.offset = row;
        } else if row >= self.offset + h {
            self.offset = row + 1 - h;
        }
    }

    /// The span under the cursor (`None` on a group heading).
    pub fn selected_span<'a>(&self, trace: &'a Trace) -> Option<&'a crate::model::SpanRecord> {
        let node = *self.tree.rows.get(self.cursor)?;
        self.tree.nodes[node].span().map(|i| &trace.spans[i])
    }

    /// Selects span `id`, expanding what hides it.
    pub fn jump_to(&mut self, trace: &Trace, id: SpanId) -> bool {
        match self.tree.reveal(trace, id) {
            Some(row) => {
                self.select_row(trace, row);
                true
            }
            None => false,
        }
    }

    /// The next span in tree order after the selection (wrapping) for which `hit` holds.
    fn next_where(&mut self, trace: &Trace, forward: bool, hit: impl Fn(usize) -> bool) -> bool {
        let order: Vec<usize> = self.tree.nodes.iter().filter_map(|n| n.span()).collect();
        if order.is_empty() {
            return false;
        }
        let here = self
            .selected_span(trace)
            .and_then(|s| order.iter().position(|&i| trace.spans[i].span_id == s.span_id))
            .unwrap_or(order.len() - 1);
        let n = order.len();
        let found = (1..=n)
            .map(|k| {
                if forward {
                    (here + k) % n
                } else {
                    (here + n - k) % n
                }
            })
            .find(|&k| hit(order[k]));
        match found {
            Some(k) => self.jump_to(trace, trace.spans[order[k]].span_id),
            None => false,
        }
    }

    /// The span with the largest `key` (first in tree order on ties).
    fn jump_to_max(&mut self, trace: &Trace, key: impl Fn(usize) -> Option<f64>) -> bool {
        let best = self
            .tree
            .nodes
            .iter()
            .filter_map(|n| n.span())
            .filter_map(|i| key(i).map(|k| (i, k)))
            .fold(None, |best: Option<(usize, f64)>, (i, k)| match best {
                Some((_, b)) if b >= k => best,
                _ => Some((i, k)),
            });
        match best {
            Some((i, _)) => self.jump_to(trace, trace.spans[i].span_id),
            None => false,
        }
    }

    fn say(&mut self, found: bool, what: &str) {
        self.message = (!found).then(|| format!("no {what} in this trace"));
    }

    /// Handles a key; `q` and Ctrl-C are the application's.
    pub fn key(&mut self, k: KeyEvent, trace: &Trace) -> Action {
        // The tree's span indexes must match the trace as it is now (spans may have arrived,
        // or the trace been evicted and its id seen again, since the last frame).
        self.refresh(trace);
        if self.search.editing {
            return self.search_key(k, trace);
        }
        self.message = None;
        let page = if self.focus == DrillFocus::Tree {
            self.tree_height
        } else {
            self.detail_height
        }
        .max(1);
        match k.code {
            KeyCode::Esc => return Action::Close,
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    DrillFocus::Tree => DrillFocus::Detail,
                    DrillFocus::Detail => DrillFocus::Tree,
                }
            }
            KeyCode::Char('y') => {
                if let Some(s) = self.selected_span(trace) {
                    return Action::Copy {
                        text: crate::model::otlp_out::span_json(s),
                        what: "span as OTLP/JSON",
                    };
                }
            }
            KeyCode::Char('Y') => {
                return Action::Copy {
                    text: trace.id.to_string(),
                    what: "trace id",
                };
            }
            KeyCode::Char('e') => return Action::Export,
            KeyCode::Char('/') => {
                self.search.editing = true;
                self.search.text.clear();
            }
            KeyCode::Char('n') => self.search_next(trace, true),
            KeyCode::Char('N') => self.search_next(trace, false),
            KeyCode::Char('x') => {
                let f = self.next_where(trace, true, |i| trace.spans[i].status == StatusCode::Error);
                self.say(f, "error span");
            }
            KeyCode::Char('v') => {
                let f = self.next_where(trace, true, |i| {
                    trace
                        .verdicts_for(&trace.spans[i])
                        .any(|v| v.passed == Some(false))
                });
                self.say(f, "failed verdict");
            }
            KeyCode::Char('$') => {
                let f = self.jump_to_max(trace, |i| trace.spans[i].sem.as_deref().and_then(|m| m.cost_usd));
                self.say(f, "priced span");
            }
            KeyCode::Char('s') => {
                let f = self.jump_to_max(trace, |i| Some(trace.spans[i].duration_nanos() as f64));
                self.say(f, "span");
            }
            KeyCode::Char('a') => {
                self.rebuild(trace, !self.tree.genai_only);
                self.message = self
                    .tree
                    .genai_only
                    .then(|| "GenAI spans only; a shows all".into());
            }
            KeyCode::Char('C') => {
                self.tree.collapse_all(trace, true);
                self.keep_selection(trace);
            }
            KeyCode::Char('E') => {
                self.tree.collapse_all(trace, false);
                self.keep_selection(trace);
            }
            _ if self.focus == DrillFocus::Detail => self.detail_key(k.code, page),
            _ => self.tree_key(k.code, trace, page),
        }
        Action::Redraw
    }

    fn keep_selection(&mut self, trace: &Trace) {
        match self.selected.and_then(|id| self.row_of(trace, id)) {
            Some(row) => self.select_row(trace, row),
            None => {
                // Hidden by the collapse: select its visible ancestor.
                let row = self.cursor.min(self.tree.rows.len().saturating_sub(1));
                self.select_row(trace, row);
            }
        }
    }

    fn tree_key(&mut self, code: KeyCode, trace: &Trace, page: usize) {
        let last = self.tree.rows.len().saturating_sub(1);
        let row = match code {
            KeyCode::Up | KeyCode::Char('k') => self.cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => (self.cursor + 1).min(last),
            KeyCode::PageUp => self.cursor.saturating_sub(page),
            KeyCode::PageDown => (self.cursor + page).min(last),
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => last,
            KeyCode::Enter | KeyCode::Char(' ') => {
                if let Some(&node) = self.tree.rows.get(self.cursor) {
                    self.tree.toggle(trace, node);
                }
                self.cursor
            }
            KeyCode::Right | KeyCode::Char('l') => {
                if let Some(&node) = self.tree.rows.get(self.cursor) {
                    self.tree.set_collapsed(trace, node, false);
                }
                self.cursor
            }
            KeyCode::Left | KeyCode::Char('h') => {
                let Some(&node) = self.tree.rows.get(self.cursor) else {
                    return;
                };
                let id = self.tree.node_id(trace, node);
                if self.tree.nodes[node].has_children(node) && !self.tree.collapsed.contains(&id) {
                    self.tree.set_collapsed(trace, node, true);
                    self.cursor
                } else {
                    match self
                        .tree
                        .parent(node)
                        .and_then(|p| self.tree.rows.iter().position(|&r| r == p))
                    {
                        Some(r) => r,
                        None => self.cursor,
                    }
                }
            }
            _ => return,
        };
        self.select_row(trace, row);
    }

    fn detail_key(&mut self, code: KeyCode, page: usize) {
        self.detail_scroll = match code {
            KeyCode::Up | KeyCode::Char('k') => self.detail_scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.detail_scroll + 1,
            KeyCode::PageUp => self.detail_scroll.saturating_sub(page),
            KeyCode::PageDown => self.detail_scroll + page,
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => usize::MAX / 2,
            _ => self.detail_scroll,
        };
    }

    fn search_key(&mut self, k: KeyEvent, trace: &Trace) -> Action {
        match k.code {
            KeyCode::Esc => {
                self.search.editing = false;
                self.search.text.clear();
            }
            KeyCode::Enter => {
                self.search.editing = false;
                self.search_next(trace, true);
            }
            KeyCode::Backspace => {
                self.search.text.pop();
            }
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => self.search.text.clear(),
            KeyCode::Char(c) => self.search.text.push(c),
            _ => return Action::None,
        }
        Action::Redraw
    }

    /// Next (or previous) span whose name or string values contain the search text.
    fn search_next(&mut self, trace: &Trace, forward: bool) {
        let needle = self.search.text.to_lowercase();
        if needle.is_empty() {
            self.message = Some("/ to search span names and values".into());
            return;
        }
        let found = self.next_where(trace, forward, |i| span_contains(&trace.spans[i], &needle));
        self.message = (!found).then(|| format!("no span matches \"{}\"", clean(&self.search.text)));
    }

    /// The detail lines of the selected span, wrapped to `width`, cached until the span, the
    /// width or the trace changes.
    pub fn detail<'a>(&'a mut self, trace: &Trace, width: u16, theme: &Theme) -> &'a [Line<'static>] {
        let Some(span) = self.selected_span(trace) else {
            self.detail_cache = None;
            return &[];
        };
        let key = (
            span.span_id,
            width,
            trace.spans.len(),
            trace.verdicts.len(),
            trace.logs.len(),
        );
        let fresh = self
            .detail_cache
            .as_ref()
            .is_some_and(|c| (c.span, c.width, c.spans, c.verdicts, c.logs) == key);
        if !fresh {
            self.detail_cache = Some(DetailCache {
                span: key.0,
                width,
                spans: key.2,
                verdicts: key.3,
                logs: key.4,
                lines: detail::detail_lines(trace, span, width, theme),
            });
        }
        self.detail_cache.as_ref().map_or(&[], |c| &c.lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::span;
    use crate::store::{StoreLimits, TraceStore};

    #[test]
    fn keys_after_the_trace_was_evicted_and_seen_again_use_the_new_spans() {
        let mut st = TraceStore::new(StoreLimits {
            max_spans: 4,
            max_bytes: 64 << 20,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        st.insert_spans([
            span(1, 1, None, 0),
            span(1, 2, Some(1), 1),
            span(1, 3, Some(1), 2),
        ]);
        let id = TraceId([1; 16]);
        let mut d = Drill::open(st.trace(&id).unwrap());
        d.key(
            KeyEvent::new(KeyCode::Char('G'), KeyModifiers::NONE),
            st.trace(&id).unwrap(),
        );
        assert_eq!(d.cursor, 2);
        // Evicted by newer traffic, then one span of it arrives again.
        st.insert_spans([
            span(2, 1, None, 3),
            span(2, 2, Some(1), 3),
            span(2, 3, Some(1), 3),
        ]);
        assert!(st.trace(&id).is_none());
        st.insert_spans([span(1, 9, Some(1), 4)]);
        let t = st.trace(&id).unwrap();
        for code in [
            KeyCode::Char('j'),
            KeyCode::Char('x'),
            KeyCode::Char('$'),
            KeyCode::Char('y'),
        ] {
            d.key(KeyEvent::new(code, KeyModifiers::NONE), t);
        }
        assert_eq!(
            d.selected_span(t).map(|s| s.span_id),
            Some(crate::model::SpanId([9; 8]))
        );
        // ← on the orphan goes up to its "missing parent" heading.
        d.key(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE), t);
        assert_eq!((d.cursor, d.selected_span(t).is_none()), (0, true));
    }
}
