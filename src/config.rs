//! Settings shared by the CLI and the library: sizes, limits and receiver options.

use std::net::SocketAddr;
use std::str::FromStr;

use crate::cost::CostTable;
use crate::semconv::SemconvConfig;
use crate::store::StoreLimits;
use std::sync::Arc;

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
        keep_share: crate::store::keep::DEFAULT_KEEP_SHARE,
        cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
    };
    (store, handoff)
}

/// Everything the live receivers need.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// gRPC listen address; `None` disables the gRPC receiver.
    pub grpc: Option<SocketAddr>,
    /// HTTP listen address; `None` disables the HTTP receiver.
    pub http: Option<SocketAddr>,
    pub store: StoreLimits,
    pub handoff: HandoffLimits,
    /// Largest request body accepted, compressed or not (413 / RESOURCE_EXHAUSTED past it).
    pub max_request_bytes: usize,
    /// Bearer token required on every request when set.
    pub auth_token: Option<String>,
    /// Ignore event times further than this many seconds ahead of the wall clock when building
    /// the timeline (live mode only).
    pub max_clock_skew_secs: Option<u64>,
    /// Cohort keys and evaluator thresholds.
    pub semconv: Arc<SemconvConfig>,
    /// Prices for model calls (bundled table plus the user's overrides).
    pub costs: Arc<CostTable>,
    /// `--record`: append everything accepted as OTLP/JSON lines.
    pub recorder: Option<Arc<crate::ingest::record::Recorder>>,
    /// `--forward`: send everything accepted upstream.
    pub forward: Option<crate::forward::ForwardConfig>,
    /// Open connections per receiver, and how long one may wait for a request.
    pub connections: crate::ingest::conn::ConnectionLimits,
    /// `--source`: `clickhouse://` URLs tailed into the pipeline beside the receivers.
    pub sources: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let (store, handoff) = split_budget(DEFAULT_MAX_SPANS, DEFAULT_MAX_MEMORY);
        Self {
            grpc: Some(SocketAddr::from(([127, 0, 0, 1], 4317))),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 4318))),
            store,
            handoff,
            max_request_bytes: 16 * 1024 * 1024,
            auth_token: None,
            max_clock_skew_secs: Some(300),
            semconv: Arc::default(),
            costs: Arc::new(CostTable::bundled()),
            recorder: None,
            forward: None,
            connections: crate::ingest::conn::ConnectionLimits::default(),
            sources: Vec::new(),
        }
    }
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
        assert_eq!((store.max_spans, handoff.max_bytes, handoff.reserve_bytes), (1, 256 << 10, 512 << 10));
        assert_eq!(store.max_bytes, (4 << 20) - (768 << 10));
        // Past 512 MiB the reserve is fixed: a large budget goes to the store.
        let (store, handoff) = split_budget(1, 8 << 30);
        assert_eq!(handoff.reserve_bytes, 64 << 20);
        assert_eq!(store.max_bytes, (8 << 30) - (80 << 20));
    }
}
