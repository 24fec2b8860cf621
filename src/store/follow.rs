//! Following the store from its change log: a [`Watch`] drains the log and hands each changed
//! trace to a [`Follower`] (the dashboard's index, the alert engine, or both), reading a whole
//! store in chunks of [`REBUILD_CHUNK`] traces when it starts or when the log overflowed, so
//! the store's lock is never held for long.

use super::changes::Changes;
use super::{Trace, TraceStore};
use crate::model::TraceId;

/// Traces read per [`Watch::sync`] call while reading a whole store.
pub const REBUILD_CHUNK: usize = 4096;

/// What a reader of the change log does with it.
pub trait Follower {
    /// The trace as it is now: replaces whatever the follower had from it before.
    fn update(&mut self, trace: &Trace);
    /// The trace left the store: drop per-trace state, keep what was aggregated from it.
    fn forget(&mut self, id: &TraceId);
    /// Every held trace is about to be read again: drop everything derived from the store.
    fn restart(&mut self);
}

/// Two followers fed from one log.
pub struct Both<'a, A: ?Sized, B: ?Sized>(pub &'a mut A, pub &'a mut B);

impl<A: Follower + ?Sized, B: Follower + ?Sized> Follower for Both<'_, A, B> {
    fn update(&mut self, trace: &Trace) {
        self.0.update(trace);
        self.1.update(trace);
    }

    fn forget(&mut self, id: &TraceId) {
        self.0.forget(id);
        self.1.forget(id);
    }

    fn restart(&mut self) {
        self.0.restart();
        self.1.restart();
    }
}

/// A follower that does nothing.
pub struct Nobody;

impl Follower for Nobody {
    fn update(&mut self, _: &Trace) {}
    fn forget(&mut self, _: &TraceId) {}
    fn restart(&mut self) {}
}

/// The reader's side of the store's change log.
#[derive(Debug, Default)]
pub struct Watch {
    changes: Changes,
    synced: bool,
    /// Traces still to read after a (re)start, newest first so `pop` takes the oldest.
    pending: Vec<TraceId>,
}

impl Watch {
    /// Hands every trace changed since the last call to `f`. Call with the store's lock held;
    /// the work is proportional to what changed, or one chunk of a whole-store read (call again
    /// while [`Self::rebuilding`]). Returns whether anything was handed over.
    pub fn sync(&mut self, store: &mut TraceStore, f: &mut dyn Follower) -> bool {
        if !self.synced {
            self.restart(store, f);
        }
        store.take_changes(&mut self.changes);
        if self.changes.overflow {
            self.restart(store, f);
        }
        let mut changed = !self.pending.is_empty();
        for _ in 0..REBUILD_CHUNK {
            let Some(id) = self.pending.pop() else { break };
            if let Some(trace) = store.trace(&id) {
                f.update(trace);
                store.mark_seen(&id);
            }
        }
        if self.changes.is_empty() {
            return changed;
        }
        changed = true;
        for id in &self.changes.evicted {
            f.forget(id);
        }
        // Evicted before this reader saw their last state: count them, then let them go.
        for trace in self.changes.evicted_unseen.drain(..) {
            f.update(&trace);
            f.forget(&trace.id);
        }
        for id in &self.changes.touched {
            if let Some(trace) = store.trace(id) {
                f.update(trace);
            }
        }
        changed
    }

    /// Whether a whole-store read is still in progress.
    pub fn rebuilding(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Starts over from the whole store: every held trace is queued.
    fn restart(&mut self, store: &mut TraceStore, f: &mut dyn Follower) {
        store.track_changes();
        self.synced = true;
        self.changes.clear();
        f.restart();
        self.pending = store.trace_ids_newest_first();
    }
}

/// Traces a [`Deferred`] holds before it gives up and asks for a whole-store read.
pub const DEFERRED_LIMIT: usize = 1 << 20;

/// Changes set aside for a follower that is not reading now (a frozen screen), so it can
/// catch up later while another follower (the alert engine) keeps reading the log: the latest
/// state of each trace that changed.
#[derive(Debug, Default)]
pub struct Deferred {
    /// Trace → whether it is still held (true) or left the store (false), as last seen.
    pub entries: foldhash::HashMap<TraceId, bool>,
    /// Too much was set aside (or the log restarted): the follower must read the whole store.
    pub overflow: bool,
}

impl Deferred {
    fn set(&mut self, id: TraceId, held: bool) {
        if self.overflow {
            return;
        }
        if self.entries.len() >= DEFERRED_LIMIT && !self.entries.contains_key(&id) {
            self.overflow = true;
            self.entries = Default::default();
            return;
        }
        self.entries.insert(id, held);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && !self.overflow
    }
}

impl Follower for Deferred {
    fn update(&mut self, trace: &Trace) {
        self.set(trace.id, true);
    }

    fn forget(&mut self, id: &TraceId) {
        self.set(*id, false);
    }

    fn restart(&mut self) {
        self.overflow = true;
        self.entries = Default::default();
    }
}

impl Watch {
    /// Forces a whole-store read on the next [`Self::sync`].
    pub fn reset(&mut self) {
        self.synced = false;
    }
}
