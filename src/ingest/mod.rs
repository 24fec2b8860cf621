//! Receivers: OTLP over gRPC and HTTP. Both decode, validate ids, and offer the request to the
//! [`handoff::Pipeline`]; the signal-specific rules live here once, so the two protocols answer
//! the same request the same way.

pub mod auth;
pub mod counters;
pub mod file;
pub mod grpc;
pub mod handoff;
pub mod http;

use crate::model::convert::{self, Rejections};
use counters::{Outcome, SignalCounters};
use handoff::{Full, Pipeline, Work};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;
use std::sync::atomic::Ordering::Relaxed;

/// The answer to an export that was taken: how many items were refused, and why.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub rejected: Rejections,
}

impl Accepted {
    pub fn outcome(&self) -> Outcome {
        if self.rejected.count > 0 {
            Outcome::PartiallyRejected
        } else {
            Outcome::Ok
        }
    }
}

/// The request was refused as a whole because the store cannot keep up (retryable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

pub const OVERLOADED_MESSAGE: &str = "llmwatch is overloaded: ingest queue full, retry later";

/// Whether a full hand-off refuses (receivers: the exporter retries) or waits (files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenFull {
    Refuse,
    Wait,
}

fn offer(
    pipeline: &Pipeline,
    counters: &SignalCounters,
    received: usize,
    rejected: Rejections,
    bytes: usize,
    work: Work,
    when_full: WhenFull,
) -> Result<Accepted, Overloaded> {
    counters.received.fetch_add(received as u64, Relaxed);
    counters.rejected.fetch_add(rejected.count, Relaxed);
    let items = received - rejected.count as usize;
    if items == 0 {
        return Ok(Accepted { rejected });
    }
    // Decoded messages take about twice their encoded size in memory.
    let offered = match when_full {
        WhenFull::Refuse => pipeline.handoff.offer(work, items, bytes * 2),
        WhenFull::Wait => pipeline.handoff.offer_waiting(work, items, bytes * 2),
    };
    match offered {
        Ok(()) => {
            counters.accepted.fetch_add(items as u64, Relaxed);
            Ok(Accepted { rejected })
        }
        Err(Full) => {
            counters.dropped.fetch_add(items as u64, Relaxed);
            Err(Overloaded)
        }
    }
}

pub fn export_traces(
    pipeline: &Pipeline,
    req: ExportTraceServiceRequest,
    wire_bytes: Option<usize>,
) -> Result<Accepted, Overloaded> {
    export_traces_with(pipeline, req, wire_bytes, WhenFull::Refuse)
}

pub fn export_traces_with(
    pipeline: &Pipeline,
    mut req: ExportTraceServiceRequest,
    wire_bytes: Option<usize>,
    when_full: WhenFull,
) -> Result<Accepted, Overloaded> {
    let received = convert::count_spans(&req);
    let rejected = convert::validate_traces(&mut req);
    let bytes = wire_bytes.unwrap_or_else(|| req.encoded_len());
    offer(
        pipeline,
        &pipeline.counters.spans,
        received,
        rejected,
        bytes,
        Work::Traces(req),
        when_full,
    )
}

pub fn export_logs(
    pipeline: &Pipeline,
    req: ExportLogsServiceRequest,
    wire_bytes: Option<usize>,
) -> Result<Accepted, Overloaded> {
    export_logs_with(pipeline, req, wire_bytes, WhenFull::Refuse)
}

pub fn export_logs_with(
    pipeline: &Pipeline,
    mut req: ExportLogsServiceRequest,
    wire_bytes: Option<usize>,
    when_full: WhenFull,
) -> Result<Accepted, Overloaded> {
    let received = convert::count_logs(&req);
    let rejected = convert::validate_logs(&mut req);
    let bytes = wire_bytes.unwrap_or_else(|| req.encoded_len());
    offer(
        pipeline,
        &pipeline.counters.logs,
        received,
        rejected,
        bytes,
        Work::Logs(req),
        when_full,
    )
}

/// Metrics are accepted and counted (data points) but not stored yet.
pub fn export_metrics(pipeline: &Pipeline, req: &ExportMetricsServiceRequest) -> Accepted {
    let points: usize = req
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        })
        .sum();
    let c = &pipeline.counters.metric_points;
    c.received.fetch_add(points as u64, Relaxed);
    c.accepted.fetch_add(points as u64, Relaxed);
    Accepted::default()
}
