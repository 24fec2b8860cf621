//! Receivers: OTLP over gRPC and HTTP. Both decode, validate ids, and offer the request to the
//! [`handoff::Pipeline`]; the signal-specific rules live here once, so the two protocols answer
//! the same request the same way.

pub mod auth;
pub mod capture;
pub mod counters;
pub mod file;
pub mod grpc;
pub mod handoff;
pub mod http;
pub mod record;
pub mod send;

use crate::model::convert::{self, Rejections};
use crate::model::{Converter, LogRecord, SpanRecord};
use counters::{Outcome, SignalCounters};
use handoff::{Full, Pipeline, Work};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use record::Recorder;
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

/// Counts, refuses early when the hand-off is clearly full (so no conversion is wasted on a
/// request the exporter will retry), converts on the calling thread, and offers the records.
fn offer(
    pipeline: &Pipeline,
    counters: &SignalCounters,
    received: usize,
    rejected: Rejections,
    when_full: WhenFull,
    convert: impl FnOnce(&mut Converter) -> (Work, usize),
) -> Result<Accepted, Overloaded> {
    counters.received.fetch_add(received as u64, Relaxed);
    counters.rejected.fetch_add(rejected.count, Relaxed);
    let items = received - rejected.count as usize;
    if items == 0 {
        return Ok(Accepted { rejected });
    }
    let refuse = |counters: &SignalCounters| {
        counters.dropped.fetch_add(items as u64, Relaxed);
        Err(Overloaded)
    };
    if when_full == WhenFull::Refuse && !pipeline.handoff.has_room(items, 0) {
        return refuse(counters);
    }
    let (work, bytes) = pipeline.converters.with(&pipeline.counters, convert);
    let offered = match when_full {
        WhenFull::Refuse => pipeline.handoff.offer(work, items, bytes),
        WhenFull::Wait => pipeline.handoff.offer_waiting(work, items, bytes),
    };
    match offered {
        Ok(()) => {
            counters.accepted.fetch_add(items as u64, Relaxed);
            Ok(Accepted { rejected })
        }
        Err(Full) => refuse(counters),
    }
}

pub fn export_traces(pipeline: &Pipeline, req: ExportTraceServiceRequest) -> Result<Accepted, Overloaded> {
    export_traces_with(pipeline, req, WhenFull::Refuse)
}

pub fn export_traces_with(
    pipeline: &Pipeline,
    mut req: ExportTraceServiceRequest,
    when_full: WhenFull,
) -> Result<Accepted, Overloaded> {
    let received = convert::count_spans(&req);
    let rejected = convert::validate_traces(&mut req);
    // Encoded before conversion consumes the request; written only once it is accepted.
    let line = pipeline.recorder().map(|_| Recorder::encode_traces(&req));
    let accepted = offer(
        pipeline,
        &pipeline.counters.spans,
        received,
        rejected,
        when_full,
        |c| {
            let mut spans = Vec::with_capacity(received);
            let mut verdicts = Vec::new();
            c.convert_traces(req, &mut spans, &mut verdicts);
            let bytes = spans
                .iter()
                .map(|s| s.mem_bytes as usize + size_of::<SpanRecord>())
                .sum();
            (Work::Spans { spans, verdicts }, bytes)
        },
    )?;
    record_line(pipeline, line);
    Ok(accepted)
}

/// Appends an accepted request's line to the `--record` file, when recording.
fn record_line(pipeline: &Pipeline, line: Option<(String, u64)>) {
    if let (Some(r), Some((line, redacted))) = (pipeline.recorder(), line) {
        r.append(&line, redacted);
    }
}

pub fn export_logs(pipeline: &Pipeline, req: ExportLogsServiceRequest) -> Result<Accepted, Overloaded> {
    export_logs_with(pipeline, req, WhenFull::Refuse)
}

pub fn export_logs_with(
    pipeline: &Pipeline,
    mut req: ExportLogsServiceRequest,
    when_full: WhenFull,
) -> Result<Accepted, Overloaded> {
    let received = convert::count_logs(&req);
    let rejected = convert::validate_logs(&mut req);
    let line = pipeline.recorder().map(|_| Recorder::encode_logs(&req));
    let accepted = offer(
        pipeline,
        &pipeline.counters.logs,
        received,
        rejected,
        when_full,
        |c| {
            let mut logs = Vec::with_capacity(received);
            let mut verdicts = Vec::new();
            c.convert_logs(req, &mut logs, &mut verdicts);
            let bytes = logs
                .iter()
                .map(|l| l.mem_bytes as usize + size_of::<LogRecord>())
                .sum();
            (Work::Logs { logs, verdicts }, bytes)
        },
    )?;
    record_line(pipeline, line);
    Ok(accepted)
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
    record_line(
        pipeline,
        pipeline.recorder().map(|_| Recorder::encode_metrics(req)),
    );
    Accepted::default()
}
