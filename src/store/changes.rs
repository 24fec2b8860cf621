//! Which traces changed since a reader last looked: the dashboard keeps its rows and windowed
//! aggregates up to date from this log instead of rescanning the store. Off until a reader asks
//! for it (headless runs pay nothing), and bounded: a reader that stops draining (a paused
//! screen) gets an overflow mark and resynchronises from the store instead of growing the log.

use crate::model::TraceId;

/// Most entries held before the log gives up and marks an overflow.
pub const MAX_ENTRIES: usize = 1 << 18;

#[derive(Debug, Default)]
pub struct Changes {
    /// Traces that gained a span, log or verdict, each once (a trace may also be evicted since).
    pub touched: Vec<TraceId>,
    /// Traces evicted from the store.
    pub evicted: Vec<TraceId>,
    /// Entries were dropped: the reader must rebuild from the whole store.
    pub overflow: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty() && self.evicted.is_empty() && !self.overflow
    }

    pub fn clear(&mut self) {
        self.touched.clear();
        self.evicted.clear();
        self.overflow = false;
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
        if self.touched.len() + self.evicted.len() >= MAX_ENTRIES {
            self.overflow = true;
            self.touched = Vec::new();
            self.evicted = Vec::new();
            return true;
        }
        false
    }

    pub(super) fn bytes(&self) -> usize {
        (self.touched.capacity() + self.evicted.capacity()) * size_of::<TraceId>()
    }
}
