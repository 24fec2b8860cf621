//! The review queue's order (issue 14): the traces kept for a reason, most urgent reason first
//! ([`KeepReason::ALL`] order of a trace's first reason), newest first within one. Kept by the
//! trace index (the list's owner) as its rows change, like the list's own ordering, so opening
//! the queue or drawing it never scans the store.

use super::row::TraceRow;
use crate::model::TraceId;
use crate::store::keep::KeepReason;
use std::cmp::Reverse;
use std::collections::BTreeSet;

/// (priority of the first reason, newest start first, newest arrival first, id): unique.
type Key = (u8, Reverse<u64>, Reverse<u64>, TraceId);

#[derive(Debug, Default)]
pub struct ReviewQueue {
    order: BTreeSet<Key>,
}

impl ReviewQueue {
    /// The row's place in the queue; `None` for a plain trace, or one whose spans have not
    /// arrived (a review loaded from the file before its traffic).
    fn key(row: &TraceRow) -> Option<Key> {
        let first = row.kept.first()?;
        if row.spans == 0 {
            return None;
        }
        let priority = KeepReason::ALL
            .iter()
            .position(|r| *r == first)
            .unwrap_or(usize::MAX);
        Some((
            u8::try_from(priority).unwrap_or(u8::MAX),
            Reverse(row.start_unix_nano),
            Reverse(row.seq),
            row.id,
        ))
    }

    pub fn insert(&mut self, row: &TraceRow) {
        if let Some(k) = Self::key(row) {
            self.order.insert(k);
        }
    }

    pub fn remove(&mut self, row: &TraceRow) {
        if let Some(k) = Self::key(row) {
            self.order.remove(&k);
        }
    }

    pub fn clear(&mut self) {
        self.order.clear();
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Ids in queue order from `start`.
    pub fn ids(&self, start: usize, n: usize) -> impl Iterator<Item = TraceId> + '_ {
        self.order.iter().skip(start).take(n).map(|k| k.3)
    }

    /// Queue position of a row; costs O(position).
    pub fn position(&self, row: &TraceRow) -> Option<usize> {
        let k = Self::key(row)?;
        self.order.contains(&k).then(|| self.order.range(..k).count())
    }
}
