//! The bounded hand-off between receivers and the single ingest thread. Receivers never wait:
//! `offer` either queues the work or refuses at once, and a refusal becomes 429/UNAVAILABLE,
//! which OTLP exporters retry. The ingest thread converts what it takes and files it in the
//! store, so everything accepted is stored (or later evicted, and counted).

use crate::config::HandoffLimits;
use crate::ingest::counters::Counters;
use crate::model::Converter;
use crate::store::TraceStore;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

pub enum Work {
    Traces(ExportTraceServiceRequest),
    Logs(ExportLogsServiceRequest),
    /// Answered once everything queued before it has been stored.
    Barrier(mpsc::SyncSender<()>),
    /// Finish what is queued, then stop.
    Stop,
}

struct Queued {
    work: Work,
    items: usize,
    bytes: usize,
}

/// Refused: the ingest thread is behind and the in-flight bound is reached, or it has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

#[derive(Debug, Default, Clone, Copy)]
struct InFlight {
    items: usize,
    bytes: usize,
}

pub struct Handoff {
    tx: Mutex<Option<mpsc::Sender<Queued>>>,
    in_flight: Mutex<InFlight>,
    /// Signalled when in-flight work is stored, for callers that wait instead of refusing.
    released: std::sync::Condvar,
    limits: HandoffLimits,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop ingest; the data behind these locks stays consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Handoff {
    /// Queues `work` holding `items` spans or logs of about `bytes`, or refuses without waiting.
    /// One request larger than the whole bound is still taken when nothing else is queued, so
    /// a big (but size-limited) request can always get through eventually.
    pub fn offer(&self, work: Work, items: usize, bytes: usize) -> Result<(), Full> {
        self.enqueue(work, items, bytes, false)
    }

    /// Like [`Handoff::offer`] but waits for room instead of refusing: for files, which have
    /// no exporter to retry. Fails only when the pipeline has stopped.
    pub fn offer_waiting(&self, work: Work, items: usize, bytes: usize) -> Result<(), Full> {
        self.enqueue(work, items, bytes, true)
    }

    fn enqueue(&self, work: Work, items: usize, bytes: usize, wait: bool) -> Result<(), Full> {
        {
            let mut f = lock(&self.in_flight);
            loop {
                let fits =
                    f.items + items <= self.limits.max_items && f.bytes + bytes <= self.limits.max_bytes;
                if fits || f.items == 0 {
                    break;
                }
                if !wait || lock(&self.tx).is_none() {
                    return Err(Full);
                }
                f = self.released.wait(f).unwrap_or_else(|e| e.into_inner());
            }
            f.items += items;
            f.bytes += bytes;
        }
        let sent = lock(&self.tx)
            .as_ref()
            .map(|tx| tx.send(Queued { work, items, bytes }).is_ok())
            .unwrap_or(false);
        if sent {
            Ok(())
        } else {
            self.release(items, bytes);
            Err(Full)
        }
    }

    fn release(&self, items: usize, bytes: usize) {
        let mut f = lock(&self.in_flight);
        f.items -= items;
        f.bytes -= bytes;
        self.released.notify_all();
    }

    pub fn limits(&self) -> HandoffLimits {
        self.limits
    }

    /// Items queued and not yet stored.
    pub fn in_flight_items(&self) -> usize {
        lock(&self.in_flight).items
    }

    fn control(&self, work: Work) -> bool {
        lock(&self.tx).as_ref().is_some_and(|tx| {
            tx.send(Queued {
                work,
                items: 0,
                bytes: 0,
            })
            .is_ok()
        })
    }
}

/// How long the ingest thread waits for work before it counts as idle.
const IDLE_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

static IDLE_HOOK: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets a function the ingest thread calls when it has been idle for a moment. The binary uses
/// it to hand memory that this thread freed back to the OS (the allocator only does so while a
/// thread keeps allocating); process-wide because the allocator is. The first call wins.
pub fn set_idle_hook(hook: fn()) {
    let _ = IDLE_HOOK.set(hook);
}

/// The store, the counters and the hand-off: what receivers and readers share.
pub struct Pipeline {
    pub store: Mutex<TraceStore>,
    pub counters: Counters,
    pub handoff: Handoff,
    max_clock_skew_secs: Option<u64>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Pipeline {
    /// Creates the pipeline and starts its ingest thread.
    pub fn start(
        store: TraceStore,
        converter: Converter,
        limits: HandoffLimits,
        max_clock_skew_secs: Option<u64>,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::channel();
        let pipeline = Arc::new(Self {
            store: Mutex::new(store),
            counters: Counters::default(),
            handoff: Handoff {
                tx: Mutex::new(Some(tx)),
                in_flight: Mutex::new(InFlight::default()),
                released: std::sync::Condvar::new(),
                limits,
            },
            max_clock_skew_secs,
            worker: Mutex::new(None),
        });
        let worker_pipeline = pipeline.clone();
        let handle = std::thread::Builder::new()
            .name("llmwatch-ingest".into())
            .spawn(move || worker_pipeline.run_worker(rx, converter))
            .expect("spawning the ingest thread");
        *lock(&pipeline.worker) = Some(handle);
        pipeline
    }

    pub fn store(&self) -> MutexGuard<'_, TraceStore> {
        lock(&self.store)
    }

    /// Blocks until everything offered before this call is in the store.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        if self.handoff.control(Work::Barrier(tx)) {
            let _ = rx.recv();
        }
    }

    /// Refuses further work; the ingest thread stores what is queued and exits. Does not wait.
    pub fn close(&self) {
        lock(&self.handoff.tx).take();
    }

    /// Stores everything already accepted, stops the ingest thread and refuses further work.
    /// Idempotent.
    pub fn shutdown(&self) {
        self.handoff.control(Work::Stop);
        lock(&self.handoff.tx).take();
        if let Some(h) = lock(&self.worker).take() {
            let _ = h.join();
        }
    }

    fn run_worker(&self, rx: mpsc::Receiver<Queued>, mut converter: Converter) {
        let mut spans = Vec::new();
        let mut logs = Vec::new();
        let mut verdicts = Vec::new();
        loop {
            let q = match rx.recv_timeout(IDLE_AFTER) {
                Ok(q) => q,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(hook) = IDLE_HOOK.get() {
                        hook();
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let (items, bytes) = (q.items, q.bytes);
            match q.work {
                Work::Traces(req) => {
                    converter.convert_traces(req, &mut spans, &mut verdicts);
                    let mut store = self.store();
                    self.prepare(&mut store, &converter);
                    store.insert_spans(spans.drain(..));
                    store.insert_verdicts(verdicts.drain(..));
                }
                Work::Logs(req) => {
                    converter.convert_logs(req, &mut logs, &mut verdicts);
                    let mut store = self.store();
                    self.prepare(&mut store, &converter);
                    store.insert_logs(logs.drain(..));
                    store.insert_verdicts(verdicts.drain(..));
                }
                Work::Barrier(done) => {
                    let _ = done.send(());
                }
                Work::Stop => break,
            }
            self.handoff.release(items, bytes);
            let stats = converter.stats();
            let t = &self.counters.truncation;
            t.truncated_values.store(stats.truncated_values, Relaxed);
            t.dropped_attributes.store(stats.dropped_attributes, Relaxed);
            t.dropped_events.store(stats.dropped_events, Relaxed);
        }
    }

    fn prepare(&self, store: &mut TraceStore, converter: &Converter) {
        store.set_external_bytes(converter.interner_bytes());
        if let Some(skew) = self.max_clock_skew_secs {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            store.set_max_event_second(Some(now + skew));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreLimits;

    fn pipeline(max_items: usize) -> Arc<Pipeline> {
        Pipeline::start(
            TraceStore::new(StoreLimits::default()),
            Converter::default(),
            HandoffLimits {
                max_items,
                max_bytes: usize::MAX,
            },
            None,
        )
    }

    #[test]
    fn a_full_handoff_refuses_without_blocking_and_recovers() {
        let p = pipeline(10);
        // Hold the store so the ingest thread stalls on its first batch.
        let guard = p.store();
        p.handoff.offer(Work::Traces(Default::default()), 6, 1).unwrap();
        p.handoff.offer(Work::Traces(Default::default()), 4, 1).unwrap();
        assert_eq!(p.handoff.offer(Work::Traces(Default::default()), 1, 1), Err(Full));
        drop(guard);
        p.flush();
        assert_eq!(p.handoff.in_flight_items(), 0);
        p.handoff.offer(Work::Traces(Default::default()), 1, 1).unwrap();
        p.shutdown();
        assert_eq!(p.handoff.offer(Work::Traces(Default::default()), 1, 1), Err(Full));
    }

    #[test]
    fn an_oversized_batch_gets_through_when_the_queue_is_empty() {
        let p = pipeline(10);
        p.handoff.offer(Work::Traces(Default::default()), 50, 1).unwrap();
        p.shutdown();
    }
}
