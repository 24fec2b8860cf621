//! A sparse form of the store's log-linear histogram for per-cohort time slots: most slots
//! see a handful of values, so `(bucket, count)` pairs beat a 2.6 KB dense array, and values
//! can be taken out again when a trace's contribution changes. Quantiles over a window merge
//! the slots' pairs into one reusable dense scratch array.
//!
//! While small, a histogram also keeps its values themselves ([`RAW_CAP`] per slot): a window
//! of fewer than [`EXACT_MAX`] values whose slots all kept theirs reads exact order statistics
//! (one 1.50 s call has p50 = p99 = 1.50 s, not its bucket's 1.47 s).

use crate::store::histogram::{BUCKETS, index_of, value_of};

/// Values a slot's histogram keeps as they are, beyond which it keeps buckets only.
pub const RAW_CAP: usize = 32;
/// A window with fewer values than this reads exact quantiles (when its slots kept them).
pub const EXACT_MAX: usize = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SparseHist {
    /// Sorted by bucket; counts are never zero.
    bins: Vec<(u16, u32)>,
    /// Every value added (unordered) while there are at most [`RAW_CAP`]; emptied for good
    /// once `overflowed`.
    raw: Vec<u64>,
    overflowed: bool,
}

impl SparseHist {
    pub fn add(&mut self, value: u64) {
        if !self.overflowed {
            if self.raw.len() < RAW_CAP {
                self.raw.push(value);
            } else {
                self.overflowed = true;
                self.raw = Vec::new();
            }
        }
        let b = index_of(value) as u16;
        match self.bins.binary_search_by_key(&b, |(k, _)| *k) {
            Ok(i) => self.bins[i].1 += 1,
            Err(i) => self.bins.insert(i, (b, 1)),
        }
    }

    /// Takes one `value` out again; a value that is not there is ignored.
    pub fn remove(&mut self, value: u64) {
        let b = index_of(value) as u16;
        if let Ok(i) = self.bins.binary_search_by_key(&b, |(k, _)| *k) {
            if !self.overflowed {
                match self.raw.iter().position(|v| *v == value) {
                    Some(at) => {
                        self.raw.swap_remove(at);
                    }
                    // The bucket loses a value the list does not hold: the list is no longer
                    // the whole set.
                    None => {
                        self.overflowed = true;
                        self.raw = Vec::new();
                    }
                }
            }
            self.bins[i].1 -= 1;
            if self.bins[i].1 == 0 {
                self.bins.remove(i);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.bins.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bins.capacity() * size_of::<(u16, u32)>() + self.raw.capacity() * size_of::<u64>()
    }
}

/// Sums sparse histograms into a dense one to read quantiles; reused across calls.
pub struct Merged {
    counts: Vec<u64>,
    /// Buckets touched since the last reset, so a reset costs what was added, not 656 slots.
    touched: Vec<u16>,
    total: u64,
    /// The values themselves while every histogram added kept them and there are fewer than
    /// [`EXACT_MAX`].
    raw: Vec<u64>,
    exact: bool,
}

impl Default for Merged {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            touched: Vec::new(),
            total: 0,
            raw: Vec::new(),
            exact: true,
        }
    }
}

impl Merged {
    pub fn reset(&mut self) {
        for b in self.touched.drain(..) {
            self.counts[b as usize] = 0;
        }
        self.total = 0;
        self.raw.clear();
        self.exact = true;
    }

    pub fn add(&mut self, h: &SparseHist) {
        if self.exact {
            if h.overflowed || self.raw.len() + h.raw.len() >= EXACT_MAX {
                self.exact = false;
                self.raw.clear();
            } else {
                self.raw.extend_from_slice(&h.raw);
            }
        }
        for &(b, c) in &h.bins {
            let slot = &mut self.counts[b as usize];
            if *slot == 0 {
                self.touched.push(b);
            }
            *slot += u64::from(c);
            self.total += u64::from(c);
        }
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// Values at each of `qs` (ascending quantiles in 0..=1); `None` when empty.
    pub fn quantiles<const N: usize>(&mut self, qs: [f64; N]) -> Option<[u64; N]> {
        if self.total == 0 {
            return None;
        }
        if let Some(sorted) = self.exact_values() {
            return Some(qs.map(|q| sorted[rank(q, sorted.len() as u64) as usize - 1]));
        }
        self.touched.sort_unstable();
        let mut out = [0; N];
        let mut seen = 0u64;
        let mut next = 0;
        for &b in &self.touched {
            seen += self.counts[b as usize];
            while next < N && seen >= rank(qs[next], self.total) {
                out[next] = value_of(b as usize);
                next += 1;
            }
        }
        let last = self.touched.last().map_or(0, |b| value_of(*b as usize));
        for o in out.iter_mut().skip(next) {
            *o = last;
        }
        Some(out)
    }

    /// The values sorted, when the merge holds them all (see [`EXACT_MAX`]).
    fn exact_values(&mut self) -> Option<&[u64]> {
        if !self.exact || self.total == 0 || self.raw.len() as u64 != self.total {
            return None;
        }
        self.raw.sort_unstable();
        Some(&self.raw)
    }

    /// Whether [`Self::quantiles`] reads exact order statistics.
    pub fn is_exact(&self) -> bool {
        self.exact && self.raw.len() as u64 == self.total
    }

    /// Median and median absolute deviation: exact while small, else from bucket midpoints.
    pub fn median_mad(&mut self) -> Option<(u64, u64)> {
        if let Some(sorted) = self.exact_values() {
            let n = sorted.len() as u64;
            let median = sorted[rank(0.5, n) as usize - 1];
            let mut devs: Vec<u64> = sorted.iter().map(|v| v.abs_diff(median)).collect();
            devs.sort_unstable();
            return Some((median, devs[rank(0.5, n) as usize - 1]));
        }
        let [median] = self.quantiles([0.5])?;
        let mut devs: Vec<(u64, u64)> = self
            .touched
            .iter()
            .map(|&b| (value_of(b as usize).abs_diff(median), self.counts[b as usize]))
            .collect();
        devs.sort_unstable();
        let want = rank(0.5, self.total);
        let mut seen = 0;
        for (d, c) in devs {
            seen += c;
            if seen >= want {
                return Some((median, d));
            }
        }
        Some((median, 0))
    }
}

fn rank(q: f64, total: u64) -> u64 {
    ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_remove_and_quantiles_match_the_dense_histogram() {
        let mut a = SparseHist::default();
        let mut dense = crate::store::histogram::LogHistogram::default();
        for v in (1..=500u64).map(|v| v * 997) {
            a.add(v);
            dense.record(v);
        }
        a.add(42);
        a.remove(42);
        a.remove(7); // never added: ignored
        let mut m = Merged::default();
        m.add(&a);
        let [p50, p99] = m.quantiles([0.5, 0.99]).unwrap();
        assert_eq!(Some(p50), dense.quantile(0.5));
        assert_eq!(Some(p99), dense.quantile(0.99));
        m.reset();
        assert_eq!(m.quantiles([0.5]), None);
    }

    #[test]
    fn few_values_read_exact_order_statistics_many_read_buckets() {
        let mut one = SparseHist::default();
        one.add(1_500_000);
        let mut m = Merged::default();
        m.add(&one);
        assert!(m.is_exact());
        assert_eq!(m.quantiles([0.5, 0.99]), Some([1_500_000, 1_500_000]));
        // 60 values over three slots: still exact.
        m.reset();
        let mut slots = vec![SparseHist::default(); 3];
        for v in 1..=60u64 {
            slots[(v % 3) as usize].add(v * 1_000 + 7);
        }
        for s in &slots {
            m.add(s);
        }
        assert!(m.is_exact());
        assert_eq!(m.quantiles([0.5, 0.99]), Some([30_007, 60_007]));
        // A slot past RAW_CAP keeps buckets only: the window reads the estimate.
        let mut big = SparseHist::default();
        for v in 0..(RAW_CAP as u64 + 1) {
            big.add(1_000 + v);
        }
        m.reset();
        m.add(&big);
        assert!(!m.is_exact());
        // Taking a value out keeps the list whole.
        let mut h = SparseHist::default();
        h.add(5);
        h.add(9);
        h.remove(5);
        m.reset();
        m.add(&h);
        assert_eq!(m.quantiles([0.5]), Some([9]));
    }

    #[test]
    fn median_and_mad_of_a_known_set() {
        let mut h = SparseHist::default();
        // 1,2,3,4,100: median 3, deviations 2,1,0,1,97 -> MAD 1.
        for v in [1, 2, 3, 4, 100] {
            h.add(v);
        }
        let mut m = Merged::default();
        m.add(&h);
        assert_eq!(m.median_mad(), Some((3, 1)));
    }
}
