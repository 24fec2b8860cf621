//! Sizes and limits shared by the CLI and the library: byte sizes as users write them, the
//! store's and the hand-off's limits and how one memory budget is split between them. A leaf:
//! it names nothing of the crate, so the store and the receivers can read it.

use std::str::FromStr;

/// A byte size as users write it: `512MiB`, `1g`, `16MB`, `4096`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub usize);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let num: f64 = num.parse().map_err(|_| {
            format!("invalid size {s:?}: expected a number with an optional unit like 512MiB")
        })?;
        let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "kib" => 1024.0,
            "m" | "mb" => 1e6,
            "mib" => 1024.0 * 1024.0,
            "g" | "gb" => 1e9,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            other => {
                return Err(format!(
                    "invalid size unit {other:?} in {s:?} (use B, KB, KiB, MB, MiB, GB, GiB)"
                ));
            }
        };
        let bytes = num * mult;
        if !bytes.is_finite() || bytes < 1.0 || bytes > usize::MAX as f64 {
            return Err(format!("size {s:?} is out of range"));
        }
        Ok(Self(bytes as usize))
    }
}

pub const DEFAULT_MAX_SPANS: usize = 200_000;
pub const DEFAULT_MAX_MEMORY: usize = 512 * 1024 * 1024;

/// Share of the store's limits kept traces may hold when something must go (`--keep-share`).
pub const DEFAULT_KEEP_SHARE: f64 = 0.5;

/// The default floor on a cost outlier's excess over its cohort's median, USD
/// (`--cost-outlier-floor`, `cost_outlier_floor` in the config).
pub const DEFAULT_COST_FLOOR_USD: f64 = 0.01;

/// What the store may hold before it evicts whole traces (see `store::TraceStore`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoreLimits {
    pub max_spans: usize,
    pub max_bytes: usize,
    /// Most of either limit kept traces hold when something has to be evicted (0..=1).
    pub keep_share: f64,
    /// The cost-outlier rule's floor on a trace's excess over its cohort's median, USD
    /// (`--cost-outlier-floor`, `cost_outlier_floor` in the config).
    pub cost_floor_usd: f64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        split_budget(DEFAULT_MAX_SPANS, DEFAULT_MAX_MEMORY).0
    }
}

/// The least decode budget: small requests must always decode.
const MIN_DECODE_BYTES: usize = 4 * 1024 * 1024;

/// The working reserve stops growing here: what it covers does not grow with the store.
const MAX_RESERVE_BYTES: usize = 64 * 1024 * 1024;

/// How much the receivers may hand to the ingest thread before they refuse (429/UNAVAILABLE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandoffLimits {
    pub max_items: usize,
    pub max_bytes: usize,
    /// What requests being decoded may hold together (see `ingest::bound`): transient, on
    /// top of the store's share.
    pub decode_bytes: usize,
    /// Kept out of the store's share for the process's working memory while it ingests:
    /// requests being decoded and converted, receiver buffers, and the allocator's per-thread
    /// pages, freed pages the allocator keeps for a second before returning them (more the
    /// faster spans arrive). Measured (BENCHMARKS.md, "Peak RSS at the budget"): peak RSS ran
    /// 90 to 130 MiB over what the store and hand-off held at 256, 384 and 512 MiB budgets,
    /// ~30 MiB of it the process's own baseline; without this share it passed budget + 64 MiB.
    pub reserve_bytes: usize,
}

impl HandoffLimits {
    /// In-flight work is bounded to a small share of the memory budget (at most 16 MiB);
    /// requests being decoded to half of it; an eighth (at most 64 MiB) is kept for working
    /// memory.
    pub fn for_budget(max_memory: usize) -> Self {
        Self {
            max_items: 32_768,
            max_bytes: (max_memory / 32).clamp(256 * 1024, 16 * 1024 * 1024),
            decode_bytes: (max_memory / 2).max(MIN_DECODE_BYTES),
            reserve_bytes: (max_memory / 8).min(MAX_RESERVE_BYTES),
        }
    }

    /// The part of the budget that is not the store's: the hand-off plus the working reserve.
    pub fn outside_store(&self) -> usize {
        self.max_bytes.saturating_add(self.reserve_bytes)
    }
}

/// Splits one memory budget between the store, the in-flight hand-off (both hold received
/// data) and the working reserve: `--max-memory` bounds their sum.
pub fn split_budget(max_spans: usize, max_memory: usize) -> (StoreLimits, HandoffLimits) {
    let handoff = HandoffLimits::for_budget(max_memory);
    let store = StoreLimits {
        max_spans: max_spans.max(1),
        max_bytes: max_memory.saturating_sub(handoff.outside_store()).max(1),
        keep_share: DEFAULT_KEEP_SHARE,
        cost_floor_usd: DEFAULT_COST_FLOOR_USD,
    };
    (store, handoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!("512MiB".parse::<ByteSize>(), Ok(ByteSize(512 << 20)));
        assert_eq!("1g".parse::<ByteSize>(), Ok(ByteSize(1_000_000_000)));
        assert_eq!("1.5 KiB".parse::<ByteSize>(), Ok(ByteSize(1536)));
        assert_eq!("4096".parse::<ByteSize>(), Ok(ByteSize(4096)));
        assert!("12 parsecs".parse::<ByteSize>().is_err());
        assert!("MiB".parse::<ByteSize>().is_err());
        assert!("0".parse::<ByteSize>().is_err());
    }

    #[test]
    fn the_budget_covers_store_handoff_and_reserve_together() {
        let (store, handoff) = split_budget(200_000, DEFAULT_MAX_MEMORY);
        assert_eq!(store.max_bytes + handoff.outside_store(), DEFAULT_MAX_MEMORY);
        assert_eq!((handoff.max_bytes, handoff.reserve_bytes), (16 << 20, 64 << 20));
        assert_eq!(store.max_bytes, 432 << 20);
        let (store, handoff) = split_budget(0, 4 * 1024 * 1024);
        assert_eq!(
            (store.max_spans, handoff.max_bytes, handoff.reserve_bytes),
            (1, 256 << 10, 512 << 10)
        );
        assert_eq!(store.max_bytes, (4 << 20) - (768 << 10));
        // Past 512 MiB the reserve is fixed: a large budget goes to the store.
        let (store, handoff) = split_budget(1, 8 << 30);
        assert_eq!(handoff.reserve_bytes, 64 << 20);
        assert_eq!(store.max_bytes, (8 << 30) - (80 << 20));
    }
}
