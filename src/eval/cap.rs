//! A cap on how many model calls the built-in evaluators check per second of event time, so
//! that under a flood they cost a bounded amount of CPU and ingest keeps its rate: calls past
//! the cap in a second are not evaluated (and counted). Keyed by event time, not wall time, so
//! a replay at any speed evaluates the same calls as the live run did (when they stayed under
//! the cap), and tests are deterministic.

use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds tracked at once; a call more than this many seconds away from the others shares a
/// slot with an older second, which then starts over.
const SLOTS: usize = 64;
/// Low bits of a slot hold the count, high bits the second.
const COUNT_BITS: u32 = 24;

#[derive(Debug)]
pub struct RateCap {
    per_second: u64,
    slots: [AtomicU64; SLOTS],
}

impl RateCap {
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: u64::from(per_second).min((1 << COUNT_BITS) - 1),
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Whether one more call at event second `second` may be evaluated.
    pub fn admit(&self, second: u64) -> bool {
        if self.per_second == 0 {
            return false;
        }
        let slot = &self.slots[(second % SLOTS as u64) as usize];
        let tag = second & ((1 << (64 - COUNT_BITS)) - 1);
        let mut cur = slot.load(Ordering::Relaxed);
        loop {
            let (s, n) = (cur >> COUNT_BITS, cur & ((1 << COUNT_BITS) - 1));
            let next = if s == tag {
                if n >= self.per_second {
                    return false;
                }
                cur + 1
            } else {
                (tag << COUNT_BITS) | 1
            };
            match slot.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }
}

/// Model calls checked per event second unless configured.
pub const DEFAULT_MAX_PER_SECOND: u32 = 1000;

impl Default for RateCap {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_PER_SECOND)
    }
}

impl PartialEq for RateCap {
    /// Caps compare as settings (their running counts are not configuration).
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_cap_per_event_second_from_any_number_of_threads() {
        let cap = std::sync::Arc::new(RateCap::new(1000));
        let admitted: u64 = (0..4)
            .map(|_| {
                let cap = cap.clone();
                std::thread::spawn(move || (0..600).filter(|_| cap.admit(1_800_000_000)).count() as u64)
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(admitted, 1000);
        // The next second starts over; an old second's slot is reused.
        assert!(cap.admit(1_800_000_001));
        assert!(cap.admit(1_800_000_000 + SLOTS as u64));
        assert!(!RateCap::new(0).admit(5));
    }
}
