//! `llmwatch demo`: the built-in traffic generator driven in real (or accelerated) event time,
//! either into a local pipeline (headless: status lines and the summary) or sent to another
//! receiver with `--send` (the project's load generator).

use crate::demo::{DemoBatch, DemoConfig, DemoGenerator};
use crate::ingest::handoff::Pipeline;
use crate::ingest::send::{SendError, Sender};
use crate::ingest::{self, WhenFull};
use crate::replay::Speed;
use std::time::{Duration, Instant};

pub struct DemoOptions {
    pub seed: u64,
    pub spans_per_sec: f64,
    pub speed: Speed,
    /// Stop after this many seconds of event time (else run until stopped).
    pub duration_secs: Option<u64>,
}

/// Paces the generator: one second of event time per `1/speed` wall seconds (no waiting at
/// `max`), until `duration_secs`.
pub struct Driver {
    generator: DemoGenerator,
    speed: Speed,
    duration_secs: Option<u64>,
    wall0: Instant,
    seconds: u64,
}

impl Driver {
    /// Event time starts now, so live mode shows the traffic as it happens.
    pub fn new(opts: &DemoOptions) -> Self {
        let start_unix_nano = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self {
            generator: DemoGenerator::new(DemoConfig {
                seed: opts.seed,
                spans_per_sec: opts.spans_per_sec,
                start_unix_nano,
            }),
            speed: opts.speed,
            duration_secs: opts.duration_secs,
            wall0: Instant::now(),
            seconds: 0,
        }
    }

    /// The next second of traffic once it is due; `None` at the end of the duration.
    pub async fn next(&mut self) -> Option<DemoBatch> {
        if self.duration_secs.is_some_and(|d| self.seconds >= d) {
            return None;
        }
        if let Speed::Times(f) = self.speed {
            let wait = Duration::try_from_secs_f64(self.seconds as f64 / f).unwrap_or(Duration::MAX);
            let due = self
                .wall0
                .checked_add(wait)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::time::sleep_until(due.into()).await;
        }
        self.seconds += 1;
        Some(self.generator.next_second())
    }

    /// Seconds of event time generated so far.
    pub fn seconds(&self) -> u64 {
        self.seconds
    }
}

/// Feeds a batch into a local pipeline, waiting for room rather than dropping.
pub fn feed_local(pipeline: &Pipeline, batch: DemoBatch) {
    let _ = ingest::export_traces_with(pipeline, batch.traces, WhenFull::Wait);
    if let Some(logs) = batch.logs {
        let _ = ingest::export_logs_with(pipeline, logs, WhenFull::Wait);
    }
    if let Some(metrics) = batch.metrics {
        let _ = ingest::export_metrics_with(pipeline, &metrics, WhenFull::Wait);
    }
}

/// A pipeline without receivers for the local demo: event time, no clock-skew guard (at
/// `--speed 10` event time runs ahead of the wall clock by design).
pub fn local_pipeline(
    store: crate::store::StoreLimits,
    handoff: crate::config::HandoffLimits,
    semconv: std::sync::Arc<crate::semconv::SemconvConfig>,
    costs: std::sync::Arc<crate::cost::CostTable>,
) -> std::sync::Arc<Pipeline> {
    use crate::model::{ConvertLimits, Converter};
    let external = semconv.external.clone();
    let converters = crate::ingest::handoff::ConverterPool::new(move || {
        Converter::new(ConvertLimits::default(), semconv.clone(), Some(costs.clone()))
    });
    let pipeline = Pipeline::start(crate::store::TraceStore::new(store), converters, handoff, None);
    pipeline.start_external(&external);
    pipeline
}

/// Sends a batch to another receiver.
pub async fn send(sender: &mut Sender, batch: DemoBatch) -> Result<(), SendError> {
    sender.send_traces(batch.traces).await?;
    if let Some(logs) = batch.logs {
        sender.send_logs(logs).await?;
    }
    if let Some(metrics) = batch.metrics {
        sender.send_metrics(metrics).await?;
    }
    Ok(())
}

/// Feeds `seconds` of demo traffic starting at a fixed instant into `pipeline` and waits until
/// it is filed: deterministic data for screen tests and benchmarks.
pub fn fill(pipeline: &Pipeline, seed: u64, spans_per_sec: f64, start_unix_nano: u64, seconds: u64) {
    let mut generator = DemoGenerator::new(DemoConfig {
        seed,
        spans_per_sec,
        start_unix_nano,
    });
    for _ in 0..seconds {
        feed_local(pipeline, generator.next_second());
    }
    pipeline.flush();
}
