//! Which traces changed since a reader last looked: the dashboard keeps its rows and windowed
//! aggregates up to date from this log instead of rescanning the store. Off until a reader asks
//! for it (headless runs pay nothing), and bounded: a reader that stops draining (a paused
//! screen) gets an overflow mark and resynchronises from the store instead of growing the log.

use crate::model::TraceId;
use crate::store::trace::Trace;

/// Most entries held before the log gives up and marks an overflow.
pub const MAX_ENTRIES: usize = 1 << 18;

#[derive(Debug)]
pub struct Changes {
    /// Most ids held ([`MAX_ENTRIES`] unless a test says otherwise).
    limit: usize,
    /// Traces that gained a span, log or verdict, each once (a trace may also be evicted since).
    pub touched: Vec<TraceId>,
    /// Traces evicted from the store.
    pub evicted: Vec<TraceId>,
    /// Traces evicted before the reader saw their last state, kept whole (up to a byte cap)
    /// so the reader's windowed aggregates still count them.
    pub evicted_unseen: Vec<Trace>,
    unseen_bytes: usize,
    /// Entries were dropped: the reader must rebuild from the whole store.
    pub overflow: bool,
}

impl Default for Changes {
    fn default() -> Self {
        Self::with_limit(MAX_ENTRIES)
    }
}

impl Changes {
    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit,
            touched: Vec::new(),
            evicted: Vec::new(),
            evicted_unseen: Vec::new(),
            unseen_bytes: 0,
            overflow: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.touched.is_empty() && self.evicted.is_empty() && self.evicted_unseen.is_empty() && !self.overflow
    }

    pub fn clear(&mut self) {
        self.touched.clear();
        self.evicted.clear();
        self.evicted_unseen.clear();
        self.unseen_bytes = 0;
        self.overflow = false;
    }

    /// Keeps an evicted trace the reader has not seen in full, within `cap` bytes; past the cap
    /// it is only listed as evicted (its last changes are missed by the reader's aggregates).
    pub(super) fn push_evicted_unseen(&mut self, trace: Trace, cap: usize) {
        if self.full() {
            return;
        }
        if self.unseen_bytes + trace.bytes() <= cap {
            self.unseen_bytes += trace.bytes();
            self.evicted_unseen.push(trace);
        } else {
            self.push_evicted(trace.id);
        }
    }

    pub(super) fn push_touched(&mut self, id: TraceId) {
        if self.full() {
            return;
        }
        self.touched.push(id);
    }

    pub(super) fn push_evicted(&mut self, id: TraceId) {
        if self.full() {
            return;
        }
        self.evicted.push(id);
    }

    fn full(&mut self) -> bool {
        if self.overflow {
            return true;
        }
        if self.touched.len() + self.evicted.len() + self.evicted_unseen.len() >= self.limit {
            self.overflow = true;
            self.touched = Vec::new();
            self.evicted = Vec::new();
            self.evicted_unseen = Vec::new();
            self.unseen_bytes = 0;
            return true;
        }
        false
    }

    /// Bytes of the id lists; the held unseen traces are bounded by their own cap instead.
    pub(super) fn bytes(&self) -> usize {
        (self.touched.capacity() + self.evicted.capacity()) * size_of::<TraceId>()
    }
}
