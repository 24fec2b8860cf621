//! What the receivers saw, as lock-free counters every reader (status line, summary, screen) can
//! snapshot at any time.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct SignalCounters {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
    pub dropped: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SignalSnapshot {
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub dropped: u64,
}

impl SignalCounters {
    pub fn snapshot(&self) -> SignalSnapshot {
        SignalSnapshot {
            received: self.received.load(Relaxed),
            accepted: self.accepted.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
        }
    }
}

/// Why a request ended the way it did. Each outcome has a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    PartiallyRejected,
    BadRequest,
    Unauthorized,
    TooLarge,
    UnsupportedMediaType,
    NotFound,
    Overloaded,
}

#[derive(Debug, Default)]
pub struct RequestCounters {
    pub grpc: AtomicU64,
    pub http: AtomicU64,
    pub ok: AtomicU64,
    pub partially_rejected: AtomicU64,
    pub bad_request: AtomicU64,
    pub unauthorized: AtomicU64,
    pub too_large: AtomicU64,
    pub unsupported_media_type: AtomicU64,
    pub not_found: AtomicU64,
    pub overloaded: AtomicU64,
    /// Connections closed on accept because the receiver had all it may hold open.
    pub connections_refused: AtomicU64,
    /// Connections closed because no request (or HTTP/2 preface) came in time.
    pub connections_timed_out: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RequestSnapshot {
    pub grpc: u64,
    pub http: u64,
    pub ok: u64,
    pub partially_rejected: u64,
    pub bad_request: u64,
    pub unauthorized: u64,
    pub too_large: u64,
    pub unsupported_media_type: u64,
    pub not_found: u64,
    pub overloaded: u64,
    pub connections_refused: u64,
    pub connections_timed_out: u64,
}

impl RequestCounters {
    pub fn record(&self, outcome: Outcome) {
        let c = match outcome {
            Outcome::Ok => &self.ok,
            Outcome::PartiallyRejected => &self.partially_rejected,
            Outcome::BadRequest => &self.bad_request,
            Outcome::Unauthorized => &self.unauthorized,
            Outcome::TooLarge => &self.too_large,
            Outcome::UnsupportedMediaType => &self.unsupported_media_type,
            Outcome::NotFound => &self.not_found,
            Outcome::Overloaded => &self.overloaded,
        };
        c.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> RequestSnapshot {
        RequestSnapshot {
            grpc: self.grpc.load(Relaxed),
            http: self.http.load(Relaxed),
            ok: self.ok.load(Relaxed),
            partially_rejected: self.partially_rejected.load(Relaxed),
            bad_request: self.bad_request.load(Relaxed),
            unauthorized: self.unauthorized.load(Relaxed),
            too_large: self.too_large.load(Relaxed),
            unsupported_media_type: self.unsupported_media_type.load(Relaxed),
            not_found: self.not_found.load(Relaxed),
            overloaded: self.overloaded.load(Relaxed),
            connections_refused: self.connections_refused.load(Relaxed),
            connections_timed_out: self.connections_timed_out.load(Relaxed),
        }
    }
}

/// Values cut while converting (see `model::convert::ConvertStats`), published by the ingest
/// thread.
#[derive(Debug, Default)]
pub struct TruncationCounters {
    pub truncated_values: AtomicU64,
    pub dropped_attributes: AtomicU64,
    pub dropped_events: AtomicU64,
    /// Model calls the built-in evaluators checked, and those past their per-second cap.
    pub evaluated_calls: AtomicU64,
    pub unevaluated_calls: AtomicU64,
    pub implausible_values: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Counters {
    pub spans: SignalCounters,
    pub logs: SignalCounters,
    /// Metric data points: accepted and counted, not stored yet.
    pub metric_points: SignalCounters,
    pub requests: RequestCounters,
    pub truncation: TruncationCounters,
}
