//! A small log-linear histogram of durations in microseconds: 16 linear sub-buckets per power of
//! two (at most 6.25% relative error), about 2.4 KB, mergeable. One per second of the timeline,
//! allocated only for seconds that saw spans.

const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Values are clamped here (2^40 µs is about 12.7 days).
const MAX_EXP: u32 = 40;
pub(crate) const BUCKETS: usize = SUB + (MAX_EXP as usize - SUB_BITS as usize + 1) * SUB;

#[derive(Clone, PartialEq, Eq)]
pub struct LogHistogram {
    counts: Box<[u32; BUCKETS]>,
    total: u64,
}

impl std::fmt::Debug for LogHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHistogram")
            .field("total", &self.total)
            .finish()
    }
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

pub(crate) fn index_of(v: u64) -> usize {
    let v = v.min((1u64 << (MAX_EXP + 1)) - 1);
    if v < SUB as u64 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    let sub = ((v >> (e - SUB_BITS)) as usize) & (SUB - 1);
    SUB + (e - SUB_BITS) as usize * SUB + sub
}

/// The value a bucket stands for: the middle of its range.
pub(crate) fn value_of(idx: usize) -> u64 {
    if idx < SUB {
        return idx as u64;
    }
    let e = (idx - SUB) / SUB + SUB_BITS as usize;
    let sub = ((idx - SUB) % SUB) as u64;
    let width = 1u64 << (e - SUB_BITS as usize);
    let low = (1u64 << e) + sub * width;
    low + width / 2
}

impl LogHistogram {
    /// Heap bytes one histogram holds.
    pub const BYTES: usize = BUCKETS * 4 + 16;

    pub fn record(&mut self, micros: u64) {
        let c = &mut self.counts[index_of(micros)];
        *c = c.saturating_add(1);
        self.total += 1;
    }

    pub fn merge(&mut self, other: &LogHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a = a.saturating_add(*b);
        }
        self.total += other.total;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0..=1), in microseconds; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (idx, c) in self.counts.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                return Some(value_of(idx));
            }
        }
        Some(value_of(BUCKETS - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact_and_large_ones_within_error() {
        for v in 0..16 {
            assert_eq!(value_of(index_of(v)), v);
        }
        for v in [17u64, 100, 999, 12_345, 1_000_000, 3_600_000_000] {
            let got = value_of(index_of(v)) as f64;
            let err = (got - v as f64).abs() / v as f64;
            assert!(err <= 0.0625, "{v} -> {got} ({err})");
        }
        // Clamped, not panicking.
        assert_eq!(index_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_uniform_range() {
        let mut h = LogHistogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5).unwrap() as f64;
        let p99 = h.quantile(0.99).unwrap() as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.07, "{p50}");
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.07, "{p99}");
        assert_eq!(LogHistogram::default().quantile(0.5), None);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = LogHistogram::default();
        let mut b = LogHistogram::default();
        a.record(10);
        b.record(10_000);
        b.record(10_000);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert!(a.quantile(1.0).unwrap() > 9_000);
        assert_eq!(a.quantile(0.0), Some(10));
    }
}
