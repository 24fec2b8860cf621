//! Decoding within the memory budget. A protobuf request of 16 MiB can hold 8 M empty spans
//! (two bytes each on the wire, hundreds of bytes decoded), so a request's size says little
//! about what decoding it takes. Before decoding, the receivers walk the request (no
//! allocation, one pass: [`wire`], [`json`]) to estimate what the decoded request will hold,
//! and reserve that estimate from a [`DecodeBudget`] shared by all requests in flight; the
//! reservation is released once the request has been converted and handed over. What could
//! never fit is refused as too large (413 / RESOURCE_EXHAUSTED), what does not fit now as
//! overloaded (429 / UNAVAILABLE, retried by exporters).
//!
//! Protobuf trace and log requests skip the walk on their common path: they are reserved for a
//! first guess ([`protobuf_guess`]) and read by `ingest::otlp_proto`, which counts what the walk
//! would count as it reads and stops before passing the guess; a request that needs more is
//! then walked and reserved for exactly (`ingest::export_protobuf_within`), as before. The
//! reservation is cut to the count once read, so what is held is the walk's estimate either way.

pub mod json;
mod signal;
pub mod wire;

pub use signal::Signal;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire};

/// What decoding a request is expected to hold at most: the request's own bytes (strings and
/// ids decode to no more than their encoding) plus each repeated element's decoded struct.
pub fn protobuf_estimate(signal: Signal, body: &[u8]) -> Result<usize, wire::WireError> {
    let tally = wire::walk(signal, body)?;
    Ok(total(body.len(), tally))
}

/// What a protobuf trace or log request is first reserved for when its reader counts the decode
/// memory as it goes (`ingest::otlp_proto::traces_within`) instead of walking it first: the
/// request and four times its length (the captures' requests decode to 0.5 to 2.4 times their
/// length). A request that needs more is walked and reserved for exactly.
pub fn protobuf_guess(len: usize) -> usize {
    len.saturating_mul(5)
}

/// [`protobuf_estimate`] for OTLP/JSON (any signal: the keys tell the structs apart).
pub fn json_estimate(body: &[u8]) -> Result<usize, serde_json::Error> {
    let tally = json::walk(body)?;
    Ok(total(body.len(), tally))
}

/// An upper bound of [`json_estimate`] found without parsing (a `memchr` count of `{`): every
/// object is taken for the largest struct, every other byte for twelve (an element as small
/// as `"",` decodes to a 24-byte `String`). Lets a caller skip the walk when even this fits.
pub fn json_quick_bound(body: &[u8]) -> usize {
    let objects = memchr::memchr_iter(b'{', body).count();
    objects
        .saturating_mul(json::largest())
        .saturating_add(body.len().saturating_mul(12))
}

/// How many JSON objects a text of `len` bytes may hold for [`json_quick_bound`] to stay within
/// `limit`: a reader that stops past that many objects holds no more than a text within the
/// quick bound (each object taken for the largest struct, every byte for twelve).
pub fn json_objects_within(len: usize, limit: usize) -> usize {
    limit.saturating_sub(len.saturating_mul(12)) / json::largest().max(1)
}

fn total(len: usize, tally: wire::Tally) -> usize {
    usize::try_from(tally.bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(len)
}

/// Bytes that requests being decoded may hold together.
#[derive(Debug)]
pub struct DecodeBudget {
    total: usize,
    used: AtomicUsize,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OverBudget {
    #[error(
        "decoding this request would take about {} MiB, more than the {} MiB decode budget (half of --max-memory)",
        mib(*need),
        mib(*total)
    )]
    TooLarge { need: usize, total: usize },
    #[error(
        "decoding this request would take about {} MiB; other requests hold the decode budget, retry later",
        mib(*need)
    )]
    Busy { need: usize },
}

fn mib(bytes: usize) -> usize {
    bytes.div_ceil(1 << 20)
}

impl DecodeBudget {
    pub fn new(total: usize) -> Arc<Self> {
        Arc::new(Self {
            total,
            used: AtomicUsize::new(0),
        })
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// Bytes reserved by requests in flight.
    pub fn used(&self) -> usize {
        self.used.load(Acquire)
    }

    /// Reserves [`protobuf_guess`] for a protobuf request of `len` bytes whose reader counts as
    /// it goes, or `None` when that does not fit now (walk the request and reserve exactly).
    pub fn reserve_guess(self: &Arc<Self>, len: usize) -> Option<Reservation> {
        self.reserve(protobuf_guess(len)).ok()
    }

    /// Reserves `need` bytes until the returned guard is dropped, or refuses at once.
    pub fn reserve(self: &Arc<Self>, need: usize) -> Result<Reservation, OverBudget> {
        if need > self.total {
            return Err(OverBudget::TooLarge {
                need,
                total: self.total,
            });
        }
        self.used
            .fetch_update(AcqRel, Acquire, |used| {
                used.checked_add(need).filter(|&n| n <= self.total)
            })
            .map_err(|_| OverBudget::Busy { need })?;
        Ok(Reservation {
            budget: self.clone(),
            bytes: need,
        })
    }
}

/// Part of the [`DecodeBudget`], held while a request is decoded and converted.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<DecodeBudget>,
    bytes: usize,
}

impl Reservation {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Gives back what is held beyond `keep` (nothing when it holds no more).
    pub fn shrink_to(&mut self, keep: usize) {
        if keep < self.bytes {
            self.budget.used.fetch_sub(self.bytes - keep, AcqRel);
            self.bytes = keep;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, AcqRel);
    }
}

/// One log line per refusal kind at most every ten seconds: a flood of hostile requests must
/// not flood the log too.
pub fn log_refusal(protocol: &str, e: &OverBudget) {
    static THROTTLE: crate::log::Throttle = crate::log::Throttle::new();
    if let Some(skipped) = THROTTLE.allow() {
        let more = if skipped > 0 {
            format!(" ({skipped} more since the last such line)")
        } else {
            String::new()
        };
        crate::log!("OTLP/{protocol} request refused: {e}{more}");
    }
}

#[cfg(test)]
mod tests;
