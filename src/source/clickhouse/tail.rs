//! The live tail: every poll interval, the rows from (newest seen − overlap) on, so late spans
//! written with an older start time are still picked up; spans seen before are skipped by their
//! trace and span id, log records by a hash of their content. The memory of seen ids holds only
//! what a later poll can read again (rows newer than its start), with a hard cap.

use super::Tables;
use super::error::Error;
use super::query::Cursor;
use super::url::Target;
use crate::ingest::capture::{Message, Signal};
use prost::Message as _;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug)]
pub struct TailOptions {
    pub poll: Duration,
    /// How far before the newest row seen each poll starts reading again.
    pub overlap: Duration,
    /// Most ids remembered; past it the oldest are forgotten.
    pub max_seen: usize,
}

impl TailOptions {
    /// The URL's `poll` and `overlap` (2 s and 30 s unless given).
    pub fn for_target(target: &Target) -> Self {
        Self {
            poll: target.poll,
            overlap: target.overlap,
            max_seen: 1_000_000,
        }
    }
}

/// Ids seen, oldest first, forgotten once older than what a poll reads again.
struct Seen {
    set: HashSet<u64, foldhash::fast::FixedState>,
    order: VecDeque<(u64, u64)>,
    max: usize,
}

impl Seen {
    fn new(max: usize) -> Self {
        Self {
            set: HashSet::with_hasher(foldhash::fast::FixedState::default()),
            order: VecDeque::new(),
            max,
        }
    }

    /// True the first time `key` is offered.
    fn insert(&mut self, key: u64, at: u64) -> bool {
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back((at, key));
        while self.order.len() > self.max {
            if let Some((_, k)) = self.order.pop_front() {
                self.set.remove(&k);
            }
        }
        true
    }

    /// Forgets ids of rows older than `before` (no later poll reads them). Rows arrive oldest
    /// first within a poll, so the front is (nearly) the oldest.
    fn forget_before(&mut self, before: u64) {
        while let Some(&(at, k)) = self.order.front() {
            if at >= before {
                break;
            }
            self.order.pop_front();
            self.set.remove(&k);
        }
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}

fn key(parts: &[&[u8]]) -> u64 {
    let mut h = foldhash::fast::FixedState::with_seed(0x11_77).build_hasher();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Polls `target` until `stop`, handing every new request to `deliver`. The URL's range decides
/// where the first poll starts (without one: the overlap before now). A failing poll is logged
/// and retried at the next interval.
pub fn run(
    mut target: Target,
    tables: Tables,
    options: TailOptions,
    stop: &Arc<AtomicBool>,
    mut deliver: impl FnMut(Message),
) {
    let overlap = options.overlap.as_nanos() as u64;
    let first_range = target.range.since_secs.is_some() || target.range.from.is_some();
    let start = if first_range {
        None
    } else {
        Some(now_nanos().saturating_sub(overlap))
    };
    let mut newest = [start, start];
    let mut seen = [Seen::new(options.max_seen), Seen::new(options.max_seen)];
    // Per table: a failure is logged when it starts, not at every poll.
    let mut failing = [false, false];
    while !stop.load(Ordering::Relaxed) {
        let began = Instant::now();
        for (i, signal) in [Signal::Traces, Signal::Logs].into_iter().enumerate() {
            let cursor = Cursor {
                from_unix_nano: newest[i].map(|n| n.saturating_sub(overlap)),
            };
            match poll(
                &target,
                &tables,
                signal,
                cursor,
                &mut seen[i],
                &mut newest[i],
                stop,
                &mut deliver,
            ) {
                Ok(()) => failing[i] = false,
                Err(e) if !failing[i] => {
                    crate::log!(
                        "{}/{}: {e}; retrying every {:?}",
                        target.display_name(),
                        tables.table_name(&target, signal),
                        options.poll
                    );
                    failing[i] = true;
                }
                Err(_) => {}
            }
            if let Some(n) = newest[i] {
                seen[i].forget_before(n.saturating_sub(overlap));
            }
        }
        // After the first poll the cursor alone decides: `since` is relative to now.
        target.range.since_secs = None;
        target.range.from = None;
        while !stop.load(Ordering::Relaxed) && began.elapsed() < options.poll {
            std::thread::sleep(Duration::from_millis(50).min(options.poll));
        }
    }
    let _ = seen[0].len() + seen[1].len();
}

#[allow(clippy::too_many_arguments)]
fn poll(
    target: &Target,
    tables: &Tables,
    signal: Signal,
    cursor: Cursor,
    seen: &mut Seen,
    newest: &mut Option<u64>,
    stop: &AtomicBool,
    deliver: &mut impl FnMut(Message),
) -> Result<(), Error> {
    let Some(mut rows) = tables.rows(target, signal, cursor)? else {
        return Ok(());
    };
    while let Some(mut message) = rows.next_request().map_err(|e| Error::Answer(e.to_string()))? {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut fresh = 0;
        match &mut message {
            Message::Traces(req) => {
                for rs in &mut req.resource_spans {
                    for ss in &mut rs.scope_spans {
                        ss.spans.retain(|s| {
                            *newest = Some(newest.unwrap_or(0).max(s.start_time_unix_nano));
                            seen.insert(key(&[&s.trace_id, &s.span_id]), s.start_time_unix_nano)
                        });
                        fresh += ss.spans.len();
                    }
                }
            }
            Message::Logs(req) => {
                for rl in &mut req.resource_logs {
                    for sl in &mut rl.scope_logs {
                        sl.log_records.retain(|r| {
                            *newest = Some(newest.unwrap_or(0).max(r.time_unix_nano));
                            seen.insert(key(&[&r.encode_to_vec()]), r.time_unix_nano)
                        });
                        fresh += sl.log_records.len();
                    }
                }
            }
            _ => {}
        }
        if fresh > 0 {
            deliver(message);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ids_are_bounded_and_forgotten_by_time() {
        let mut s = Seen::new(3);
        assert!(s.insert(1, 10));
        assert!(!s.insert(1, 10));
        for k in 2..=5 {
            assert!(s.insert(k, 10 + k));
        }
        assert_eq!(s.len(), 3);
        assert!(s.insert(1, 20), "the oldest was forgotten past the cap");
        s.forget_before(16);
        assert_eq!(s.len(), 1);
    }
}
