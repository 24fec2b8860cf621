//! The state the application keeps for two of its screens, below the code that drives them
//! (`compare.rs`, `sessions.rs`) and the [`App`](super::App) that holds it: the open
//! comparison and the open conversation's turns as last read from the store.

use crate::intern::Sym;
use crate::model::TraceId;
use crate::ui::panes;
use crate::ui::panes::sessions::Turn;
use crate::view::compare::Row;

/// What a side was built from: (arrival sequence, spans, verdicts).
type Version = (u64, usize, usize);

/// The open comparison.
#[derive(Debug)]
pub struct CompareScreen {
    pub left: TraceId,
    pub right: TraceId,
    pub rows: Vec<Row>,
    /// Header figures of each side: (root name, duration, cost, tokens).
    pub heads: [panes::compare::Head; 2],
    pub(super) versions: (Version, Version),
    pub cursor: usize,
    pub offset: usize,
}

/// (trace, spans, verdicts) of each turn read.
type TurnKeys = Vec<(TraceId, usize, usize)>;

/// A conversation as last read from the store, and what it was read from.
#[derive(Debug, Default)]
pub struct ConversationCache {
    /// (session, turns with their span and verdict counts) the turns were read from.
    pub(super) key: Option<(Sym, TurnKeys)>,
    pub turns: Vec<Turn>,
}
