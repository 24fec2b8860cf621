//! Receivers: OTLP over gRPC and HTTP. Both decode, validate ids, and offer the request to the
//! [`handoff::Pipeline`]; the signal-specific rules live here once, so the two protocols answer
//! the same request the same way.

pub mod auth;
pub mod bound;
pub mod capture;
pub mod conn;
pub mod converted;
pub mod counters;
pub mod grpc;
pub mod handoff;
pub mod http;
pub mod metrics;
pub mod otlp_json;
pub mod otlp_proto;
pub mod record;
pub mod send;

use crate::forward::Payload;
use crate::model::convert::{self, Rejections, request};
use crate::model::{Converter, LogRecord, SpanRecord};
use bound::Reservation;
pub use converted::{Converted, ConvertedRecords};
use counters::{Outcome, SignalCounters};
use handoff::{Interned, InternerTally, Pipeline, Work};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;
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

pub const OVERLOADED_MESSAGE: &str =
    "llmwatch is overloaded: ingest queue full or recording behind, retry later";

/// Whether a full hand-off refuses (receivers: the exporter retries) or waits (files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenFull {
    Refuse,
    Wait,
}

/// A request validated, converted and encoded for `--record`, ready to be offered. Preparing is
/// the costly part and can run on any thread; offering must happen in arrival order.
pub struct Prepared {
    kind: PreparedKind,
    received: usize,
    rejected: Rejections,
    work: Option<(Work, usize, usize)>,
    line: Option<(String, u64)>,
    /// Calls external evaluators chose, queued once the spans are accepted.
    external: Vec<crate::eval::external::Job>,
    /// `--forward`: the request to queue for the upstreams once it is accepted.
    forward: Option<Payload>,
    /// Metric points, kept in the metric store once accepted.
    metrics: Vec<crate::store::metrics::MetricSample>,
    /// What the converter's interners held after converting these records.
    interned: Option<Interned>,
    /// What all the interners held as of these records in a file's order, when a file's reader
    /// counted it ([`Prepared::tally_interned`]); else the store reads the pool's figure.
    interned_total: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PreparedKind {
    Spans,
    Logs,
    MetricPoints,
}

impl Prepared {
    /// Counts what the interners held as of these records, in the order `tally` is given the
    /// requests of a file (see [`InternerTally`]).
    pub fn tally_interned(&mut self, tally: &mut InternerTally) {
        self.interned_total = Some(tally.after(self.interned.take()));
    }

    fn counters<'a>(&self, pipeline: &'a Pipeline) -> &'a SignalCounters {
        match self.kind {
            PreparedKind::Spans => &pipeline.counters.spans,
            PreparedKind::Logs => &pipeline.counters.logs,
            PreparedKind::MetricPoints => &pipeline.counters.metric_points,
        }
    }
}

/// Converts with a pooled converter; `None` when nothing is left to store.
fn convert_with(
    pipeline: &Pipeline,
    items: usize,
    convert: impl FnOnce(&mut Converter) -> (Work, usize),
) -> Option<((Work, usize, usize), Interned)> {
    (items > 0).then(|| {
        let ((work, bytes), interned) = pipeline.converters.with_interned(&pipeline.counters, convert);
        ((work, items, bytes), interned)
    })
}

/// What `--forward` sends (nothing without it): the request as it arrived when the receiver
/// kept it, else the decoded request encoded as protobuf.
fn forward_payload(
    pipeline: &Pipeline,
    signal: capture::Signal,
    received: usize,
    raw: Option<Payload>,
    encode: impl FnOnce() -> Vec<u8>,
) -> Option<Payload> {
    pipeline.forwarder()?;
    (received > 0).then(|| {
        raw.unwrap_or_else(|| Payload {
            signal,
            encoding: crate::forward::Encoding::Protobuf,
            bytes: encode().into(),
        })
    })
}

pub fn prepare_traces(pipeline: &Pipeline, req: ExportTraceServiceRequest) -> Prepared {
    prepare_traces_with(pipeline, req, true, None)
}

/// [`prepare_traces`] without the built-in evaluators: the caller runs [`evaluate_prepared`]
/// on each request, in the order they are offered (the evaluators' per-second cap is shared).
pub fn prepare_traces_unevaluated(pipeline: &Pipeline, req: ExportTraceServiceRequest) -> Prepared {
    prepare_traces_with(pipeline, req, false, None)
}

/// Runs the built-in evaluators on prepared spans (nothing for logs and metrics) and counts the
/// calls checked and skipped, then lets the external evaluators choose among them, as
/// conversion does when it runs them itself.
pub fn evaluate_prepared(pipeline: &Pipeline, p: &mut Prepared, config: &crate::semconv::SemconvConfig) {
    if let Some((Work::Spans { spans, verdicts }, _, _)) = &mut p.work {
        let (done, skipped) = convert::builtin_evaluation(&config.builtin, spans, verdicts);
        let t = &pipeline.counters.truncation;
        t.evaluated_calls.fetch_add(done, Relaxed);
        t.unevaluated_calls.fetch_add(skipped, Relaxed);
        if config.external.is_active() {
            config.external.select(&config.builtin, spans, &mut p.external);
        }
    }
}

fn prepare_traces_with(
    pipeline: &Pipeline,
    mut req: ExportTraceServiceRequest,
    evaluate: bool,
    raw: Option<Payload>,
) -> Prepared {
    let received = convert::count_spans(&req);
    // As it arrived: spans refused for their ids too, which the upstream refuses the same way.
    let forward = forward_payload(pipeline, capture::Signal::Traces, received, raw, || {
        req.encode_to_vec()
    });
    let rejected = convert::validate_traces(&mut req);
    let items = received - rejected.count as usize;
    let line = pipeline
        .recorder()
        .filter(|_| items > 0)
        .map(|_| Recorder::encode_traces(&req));
    prepared_spans(pipeline, req, received, rejected, evaluate, line, forward)
}

/// Validated spans converted (and evaluated, with `evaluate`) for the hand-off.
fn prepared_spans<'a>(
    pipeline: &Pipeline,
    req: impl Into<request::TracesRequest<'a>>,
    received: usize,
    rejected: Rejections,
    evaluate: bool,
    line: Option<(String, u64)>,
    forward: Option<Payload>,
) -> Prepared {
    let items = received - rejected.count as usize;
    let mut external = Vec::new();
    let work = convert_with(pipeline, items, |c| {
        let mut spans = Vec::with_capacity(items);
        let mut verdicts = Vec::new();
        if evaluate {
            c.convert_traces(req, &mut spans, &mut verdicts);
            external = c.take_external_jobs();
        } else {
            c.convert_traces_unevaluated(req, &mut spans, &mut verdicts);
        }
        let bytes = spans
            .iter()
            .map(|s| s.mem_bytes as usize + size_of::<SpanRecord>())
            .sum();
        (Work::Spans { spans, verdicts }, bytes)
    });
    let (work, interned) = work.unzip();
    Prepared {
        kind: PreparedKind::Spans,
        received,
        rejected,
        work,
        line,
        external,
        forward,
        metrics: Vec::new(),
        interned,
        interned_total: None,
    }
}

pub fn prepare_logs(pipeline: &Pipeline, req: ExportLogsServiceRequest) -> Prepared {
    prepare_logs_with(pipeline, req, None)
}

fn prepare_logs_with(
    pipeline: &Pipeline,
    mut req: ExportLogsServiceRequest,
    raw: Option<Payload>,
) -> Prepared {
    let received = convert::count_logs(&req);
    let forward = forward_payload(pipeline, capture::Signal::Logs, received, raw, || {
        req.encode_to_vec()
    });
    let rejected = convert::validate_logs(&mut req);
    let items = received - rejected.count as usize;
    let line = pipeline
        .recorder()
        .filter(|_| items > 0)
        .map(|_| Recorder::encode_logs(&req));
    prepared_logs(pipeline, req, received, rejected, line, forward)
}

/// Validated log records converted for the hand-off.
fn prepared_logs<'a>(
    pipeline: &Pipeline,
    req: impl Into<request::LogsRequest<'a>>,
    received: usize,
    rejected: Rejections,
    line: Option<(String, u64)>,
    forward: Option<Payload>,
) -> Prepared {
    let items = received - rejected.count as usize;
    let work = convert_with(pipeline, items, |c| {
        let mut logs = Vec::with_capacity(items);
        let mut verdicts = Vec::new();
        c.convert_logs(req, &mut logs, &mut verdicts);
        let bytes = logs
            .iter()
            .map(|l| l.mem_bytes as usize + size_of::<LogRecord>())
            .sum();
        (Work::Logs { logs, verdicts }, bytes)
    });
    let (work, interned) = work.unzip();
    Prepared {
        kind: PreparedKind::Logs,
        received,
        rejected,
        work,
        line,
        external: Vec::new(),
        forward,
        metrics: Vec::new(),
        interned,
        interned_total: None,
    }
}

/// Whether a receiver's protobuf request may take [`otlp_proto`]'s path: not when the pipeline
/// records (the recording is written from opentelemetry-proto's request), nor when it
/// forwards a request whose bytes were not kept.
fn protobuf_fast_path(pipeline: &Pipeline, raw: &Option<Payload>) -> bool {
    pipeline.recorder().is_none() && (pipeline.forwarder().is_none() || raw.is_some())
}

/// What a receiver's protobuf export through [`otlp_proto`] came to.
pub enum FastExport {
    /// Read and exported.
    Done(Result<Accepted, Overloaded>),
    /// The read counted more decode memory than the reservation allows: nothing was exported.
    Over,
    /// Not taken by this path (see [`otlp_proto`] and [`protobuf_fast_path`]): decode it with
    /// prost, for the request or its error, and export that; `raw` is then left in place.
    Prost,
}

/// A protobuf export of one signal that reads the request's bytes itself within a decode
/// reservation ([`export_traces_protobuf`], [`export_logs_protobuf`]).
pub type FastPath = fn(&Pipeline, &[u8], &mut Option<Payload>, &mut Reservation) -> FastExport;

/// A receiver's protobuf export of traces read by [`otlp_proto`] (strings borrowed from
/// `bytes`), with the same counts, validation, conversion and forwarding as
/// [`export_traces_received`] on prost's decode. The read counts the decode memory as the walk
/// of [`bound`] would, within what `held` allows beyond the request's own bytes, and `held` is
/// cut to that count once read.
pub fn export_traces_protobuf(
    pipeline: &Pipeline,
    bytes: &[u8],
    raw: &mut Option<Payload>,
    held: &mut Reservation,
) -> FastExport {
    if !protobuf_fast_path(pipeline, raw) {
        return FastExport::Prost;
    }
    let mut req = match read_within(bytes, held, otlp_proto::traces_within) {
        Ok(req) => req,
        Err(not_read) => return not_read,
    };
    let received = request::count_spans(&req);
    if refused_early(pipeline, received) {
        return FastExport::Done(refuse_early(&pipeline.counters.spans, received));
    }
    // The bytes as they arrived (kept whenever the pipeline forwards, checked above).
    let forward = pipeline.forwarder().and(raw.take()).filter(|_| received > 0);
    let rejected = convert::validate_traces_request(&mut req);
    let prepared = prepared_spans(pipeline, req, received, rejected, true, None, forward);
    FastExport::Done(offer_prepared(pipeline, prepared, WhenFull::Refuse))
}

/// [`export_traces_protobuf`] for logs.
pub fn export_logs_protobuf(
    pipeline: &Pipeline,
    bytes: &[u8],
    raw: &mut Option<Payload>,
    held: &mut Reservation,
) -> FastExport {
    if !protobuf_fast_path(pipeline, raw) {
        return FastExport::Prost;
    }
    let mut req = match read_within(bytes, held, otlp_proto::logs_within) {
        Ok(req) => req,
        Err(not_read) => return not_read,
    };
    let received = request::count_logs(&req);
    if refused_early(pipeline, received) {
        return FastExport::Done(refuse_early(&pipeline.counters.logs, received));
    }
    let forward = pipeline.forwarder().and(raw.take()).filter(|_| received > 0);
    let rejected = convert::validate_logs_request(&mut req);
    let prepared = prepared_logs(pipeline, req, received, rejected, None, forward);
    FastExport::Done(offer_prepared(pipeline, prepared, WhenFull::Refuse))
}

/// `read` of `bytes` within what `held` holds beyond the request's own bytes, `held` then cut to
/// what the read counted (the walk's estimate, [`bound::protobuf_estimate`]); or what the
/// export comes to when the read stops.
fn read_within<'b, T>(
    bytes: &'b [u8],
    held: &mut Reservation,
    read: fn(&'b [u8], u64) -> otlp_proto::Read<T>,
) -> Result<T, FastExport> {
    let allowance = held.bytes().saturating_sub(bytes.len()) as u64;
    match read(bytes, allowance) {
        otlp_proto::Read::Done(req, counted) => {
            held.shrink_to(
                usize::try_from(counted)
                    .unwrap_or(usize::MAX)
                    .saturating_add(bytes.len()),
            );
            Ok(req)
        }
        otlp_proto::Read::Over => Err(FastExport::Over),
        otlp_proto::Read::Prost => Err(FastExport::Prost),
    }
}

/// A receiver's protobuf export through `fast` within `held`, a decode reservation that is a
/// first guess ([`bound::protobuf_guess`]) until `exact` says it is the walk's estimate. When
/// the read counts more than the guess, `reserve_exact` (the walk, and the receiver's refusal
/// in its own terms when that does not fit) replaces it and the read is made again; when the
/// request is left to prost, the exact reservation is taken first. `Ok(None)`: decode the
/// request with prost, within the exact reservation `held` now is.
pub fn export_protobuf_within<E>(
    pipeline: &Pipeline,
    fast: FastPath,
    bytes: &[u8],
    raw: &mut Option<Payload>,
    held: &mut Reservation,
    mut exact: bool,
    reserve_exact: impl Fn() -> Result<Reservation, E>,
) -> Result<Option<Result<Accepted, Overloaded>>, E> {
    loop {
        let over = match fast(pipeline, bytes, raw, held) {
            FastExport::Done(result) => return Ok(Some(result)),
            FastExport::Over => true,
            FastExport::Prost => false,
        };
        if exact {
            return Ok(None);
        }
        // The guess goes back before the exact amount is asked for.
        held.shrink_to(0);
        *held = reserve_exact()?;
        exact = true;
        if !over {
            return Ok(None);
        }
    }
}

/// Decodes an OTLP/JSON trace or log request straight into records: the same validation,
/// conversion and counts as [`prepare_traces_unevaluated`] and [`prepare_logs`] on the decoded
/// request, without building opentelemetry-proto's request in between. `None` when the text is
/// not such a request, or one that would take more than a capture record may take to decode
/// (it stops reading there: see [`capture::json_objects_allowed`]): decode it the usual way,
/// for the error or within the bound checked first. Not for a pipeline that records, which
/// needs the request itself.
pub fn convert_json(pipeline: &Pipeline, signal: capture::Signal, text: &[u8]) -> Option<Converted> {
    if pipeline.recorder().is_some() {
        return None;
    }
    let mut interned = None;
    let objects = capture::json_objects_allowed(text.len());
    let (received, rejected, event_time, records) = match signal {
        capture::Signal::Traces => {
            let mut req = otlp_json::traces_within(text, objects).ok()?;
            let received = request::count_spans(&req);
            let event_time = request::event_time(&req);
            let rejected = convert::validate_traces_request(&mut req);
            let (mut spans, mut verdicts) = (Vec::new(), Vec::new());
            let items = received - rejected.count as usize;
            if items > 0 {
                spans.reserve_exact(items);
                let ((), i) = pipeline.converters.with_interned(&pipeline.counters, |c| {
                    c.convert_traces_unevaluated(req, &mut spans, &mut verdicts)
                });
                interned = Some(i);
            }
            (
                received,
                rejected,
                event_time,
                ConvertedRecords::Spans { spans, verdicts },
            )
        }
        capture::Signal::Logs => {
            let mut req = otlp_json::logs_within(text, objects).ok()?;
            let received = request::count_logs(&req);
            let event_time = request::logs_event_time(&req);
            let rejected = convert::validate_logs_request(&mut req);
            let (mut logs, mut verdicts) = (Vec::new(), Vec::new());
            let items = received - rejected.count as usize;
            if items > 0 {
                logs.reserve_exact(items);
                let ((), i) = pipeline.converters.with_interned(&pipeline.counters, |c| {
                    c.convert_logs(req, &mut logs, &mut verdicts)
                });
                interned = Some(i);
            }
            (
                received,
                rejected,
                event_time,
                ConvertedRecords::Logs { logs, verdicts },
            )
        }
        capture::Signal::Metrics => return None,
    };
    Some(Converted {
        received,
        rejected,
        event_time,
        records,
        interned,
    })
}

/// Converted records, ready to offer.
pub fn prepare_converted(c: Converted) -> Prepared {
    let (kind, items, bytes, work) = match c.records {
        ConvertedRecords::Spans { spans, verdicts } => {
            let bytes = spans
                .iter()
                .map(|s| s.mem_bytes as usize + size_of::<SpanRecord>())
                .sum();
            (
                PreparedKind::Spans,
                spans.len(),
                bytes,
                Work::Spans { spans, verdicts },
            )
        }
        ConvertedRecords::Logs { logs, verdicts } => {
            let bytes = logs
                .iter()
                .map(|l| l.mem_bytes as usize + size_of::<LogRecord>())
                .sum();
            (
                PreparedKind::Logs,
                logs.len(),
                bytes,
                Work::Logs { logs, verdicts },
            )
        }
    };
    Prepared {
        kind,
        received: c.received,
        rejected: c.rejected,
        work: (items > 0).then_some((work, items, bytes)),
        line: None,
        external: Vec::new(),
        forward: None,
        metrics: Vec::new(),
        interned: c.interned,
        interned_total: None,
    }
}

/// Metrics are counted (data points) and converted for the metric store.
pub fn prepare_metrics(pipeline: &Pipeline, req: &ExportMetricsServiceRequest) -> Prepared {
    prepare_metrics_with(pipeline, req, None)
}

fn prepare_metrics_with(
    pipeline: &Pipeline,
    req: &ExportMetricsServiceRequest,
    raw: Option<Payload>,
) -> Prepared {
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
    Prepared {
        kind: PreparedKind::MetricPoints,
        received: points,
        rejected: Rejections::default(),
        work: None,
        line: pipeline.recorder().map(|_| Recorder::encode_metrics(req)),
        external: Vec::new(),
        // Forwarded whole, even with no data points (a metric's metadata alone is data too).
        forward: forward_payload(
            pipeline,
            capture::Signal::Metrics,
            req.resource_metrics.len(),
            raw,
            || req.encode_to_vec(),
        ),
        metrics: metrics::samples(req),
        interned: None,
        interned_total: None,
    }
}

/// Offers prepared records to the store (metric points to the metric store), records the request when
/// it was accepted, and keeps the counters.
pub fn offer_prepared(pipeline: &Pipeline, p: Prepared, when_full: WhenFull) -> Result<Accepted, Overloaded> {
    let counters = p.counters(pipeline);
    counters.received.fetch_add(p.received as u64, Relaxed);
    counters.rejected.fetch_add(p.rejected.count, Relaxed);
    let accepted = Accepted { rejected: p.rejected };
    let items = p.received - accepted.rejected.count as usize;
    // The recording's room is taken before anything is acknowledged, and given back if the
    // store refuses: what is accepted is recorded, and nothing is dropped after acknowledging.
    let reservation = match (pipeline.recorder(), &p.line) {
        (Some(r), Some((line, _))) => match r.reserve(line.len(), when_full == WhenFull::Wait) {
            Ok(reservation) => Some(reservation),
            Err(_) => {
                counters.dropped.fetch_add(items as u64, Relaxed);
                return Err(Overloaded);
            }
        },
        _ => None,
    };
    // The same for every forwarding target's queue: acknowledged means queued upstream.
    let forwarding = match (pipeline.forwarder(), &p.forward) {
        (Some(f), Some(payload)) => match f.reserve(payload.bytes.len()) {
            Ok(reservation) => Some(reservation),
            Err(_) => {
                counters.dropped.fetch_add(items as u64, Relaxed);
                return Err(Overloaded);
            }
        },
        _ => None,
    };
    if let Some((work, items, bytes)) = p.work {
        let wait = when_full == WhenFull::Wait;
        let offered = pipeline
            .handoff
            .offer_interned(work, items, bytes, p.interned_total, wait);
        if offered.is_err() {
            counters.dropped.fetch_add(items as u64, Relaxed);
            return Err(Overloaded);
        }
    }
    counters.accepted.fetch_add(items as u64, Relaxed);
    if !p.metrics.is_empty() {
        pipeline.metrics().insert(p.metrics);
    }
    if let (Some(reservation), Some((line, redacted))) = (reservation, p.line) {
        let signal = match p.kind {
            PreparedKind::Spans => capture::Signal::Traces,
            PreparedKind::Logs => capture::Signal::Logs,
            PreparedKind::MetricPoints => capture::Signal::Metrics,
        };
        reservation.commit(&line, redacted, (signal, items as u64));
    }
    if let (Some(reservation), Some(payload)) = (forwarding, p.forward) {
        reservation.commit(payload);
    }
    // Only accepted spans are evaluated; files wait for room in the evaluators' queues as they
    // wait for the ingest thread, receivers never do.
    if !p.external.is_empty()
        && let Some(e) = pipeline.external()
    {
        e.submit(p.external, when_full == WhenFull::Wait);
    }
    Ok(accepted)
}

/// Whether a receiver's request of `n` items is refused before any work: the hand-off is
/// clearly full, the recording is behind, or a forwarding queue is full.
fn refused_early(pipeline: &Pipeline, n: usize) -> bool {
    if n == 0 {
        return false;
    }
    if let Some(f) = pipeline.forwarder().filter(|f| f.refuses()) {
        f.count_refusal();
        return true;
    }
    !pipeline.handoff.has_room(n, 0) || pipeline.recorder().is_some_and(|r| r.refuses())
}

/// A receiver's request refused before any work because the hand-off is clearly full: the
/// exporter retries it whole.
fn refuse_early(counters: &SignalCounters, received: usize) -> Result<Accepted, Overloaded> {
    counters.received.fetch_add(received as u64, Relaxed);
    counters.dropped.fetch_add(received as u64, Relaxed);
    Err(Overloaded)
}

pub fn export_traces(pipeline: &Pipeline, req: ExportTraceServiceRequest) -> Result<Accepted, Overloaded> {
    export_traces_with(pipeline, req, WhenFull::Refuse)
}

/// A receiver's export: `raw` is the request as it arrived, kept for `--forward`.
pub fn export_traces_received(
    pipeline: &Pipeline,
    req: ExportTraceServiceRequest,
    raw: Option<Payload>,
) -> Result<Accepted, Overloaded> {
    let n = convert::count_spans(&req);
    if refused_early(pipeline, n) {
        return refuse_early(&pipeline.counters.spans, n);
    }
    offer_prepared(
        pipeline,
        prepare_traces_with(pipeline, req, true, raw),
        WhenFull::Refuse,
    )
}

pub fn export_traces_with(
    pipeline: &Pipeline,
    req: ExportTraceServiceRequest,
    when_full: WhenFull,
) -> Result<Accepted, Overloaded> {
    let n = convert::count_spans(&req);
    if when_full == WhenFull::Refuse && refused_early(pipeline, n) {
        return refuse_early(&pipeline.counters.spans, n);
    }
    offer_prepared(pipeline, prepare_traces(pipeline, req), when_full)
}

pub fn export_logs(pipeline: &Pipeline, req: ExportLogsServiceRequest) -> Result<Accepted, Overloaded> {
    export_logs_with(pipeline, req, WhenFull::Refuse)
}

/// A receiver's export: `raw` is the request as it arrived, kept for `--forward`.
pub fn export_logs_received(
    pipeline: &Pipeline,
    req: ExportLogsServiceRequest,
    raw: Option<Payload>,
) -> Result<Accepted, Overloaded> {
    let n = convert::count_logs(&req);
    if refused_early(pipeline, n) {
        return refuse_early(&pipeline.counters.logs, n);
    }
    offer_prepared(pipeline, prepare_logs_with(pipeline, req, raw), WhenFull::Refuse)
}

pub fn export_logs_with(
    pipeline: &Pipeline,
    req: ExportLogsServiceRequest,
    when_full: WhenFull,
) -> Result<Accepted, Overloaded> {
    let n = convert::count_logs(&req);
    if when_full == WhenFull::Refuse && refused_early(pipeline, n) {
        return refuse_early(&pipeline.counters.logs, n);
    }
    offer_prepared(pipeline, prepare_logs(pipeline, req), when_full)
}

/// Metrics are counted (data points) and kept in the metric store; refused only when the
/// recording is behind.
pub fn export_metrics(
    pipeline: &Pipeline,
    req: &ExportMetricsServiceRequest,
) -> Result<Accepted, Overloaded> {
    export_metrics_received(pipeline, req, None)
}

/// A receiver's export: `raw` is the request as it arrived, kept for `--forward`.
pub fn export_metrics_received(
    pipeline: &Pipeline,
    req: &ExportMetricsServiceRequest,
    raw: Option<Payload>,
) -> Result<Accepted, Overloaded> {
    offer_prepared(
        pipeline,
        prepare_metrics_with(pipeline, req, raw),
        WhenFull::Refuse,
    )
}

/// [`export_metrics`] for a local source that may wait for the recording (the demo).
pub fn export_metrics_with(
    pipeline: &Pipeline,
    req: &ExportMetricsServiceRequest,
    when_full: WhenFull,
) -> Result<Accepted, Overloaded> {
    offer_prepared(pipeline, prepare_metrics(pipeline, req), when_full)
}
