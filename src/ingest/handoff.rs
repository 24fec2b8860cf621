//! The bounded hand-off between receivers and the single ingest thread. Receivers convert
//! requests into records themselves (in parallel, each with a converter from a small pool),
//! then hand them over without waiting: `offer` either queues the records or refuses at once,
//! and a refusal becomes 429/UNAVAILABLE, which OTLP exporters retry. The ingest thread only
//! files records in the store, so everything accepted is stored (or later evicted, and
//! counted).

use crate::config::HandoffLimits;
use crate::eval::external::ExternalEvaluators;
pub use crate::ingest::converted::Interned;
use crate::ingest::counters::Counters;
use crate::model::convert::ConvertStats;
use crate::model::{Converter, LogRecord, SpanRecord};
use crate::semconv::Verdict;
use crate::store::TraceStore;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

pub enum Work {
    Spans {
        spans: Vec<SpanRecord>,
        verdicts: Vec<Verdict>,
    },
    Logs {
        logs: Vec<LogRecord>,
        verdicts: Vec<Verdict>,
    },
    /// Verdicts on their own: what external evaluators answered.
    Verdicts(Vec<Verdict>),
    /// Answered once everything queued before it has been stored.
    Barrier(mpsc::SyncSender<()>),
    /// Finish what is queued, then stop.
    Stop,
}

struct Queued {
    work: Work,
    items: usize,
    bytes: usize,
    /// The interners' bytes as of this work in a file's order ([`InternerTally`]); `None`: as
    /// the pool has them when it is stored (live).
    interned: Option<usize>,
}

impl Queued {
    fn new(work: Work, items: usize, bytes: usize) -> Self {
        Self {
            work,
            items,
            bytes,
            interned: None,
        }
    }
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
        self.enqueue(Queued::new(work, items, bytes), false)
    }

    /// Like [`Handoff::offer`] but waits for room instead of refusing: for files, which have
    /// no exporter to retry. Fails only when the pipeline has stopped.
    pub fn offer_waiting(&self, work: Work, items: usize, bytes: usize) -> Result<(), Full> {
        self.enqueue(Queued::new(work, items, bytes), true)
    }

    /// [`Handoff::offer`] (or, `wait`ing, [`Handoff::offer_waiting`]) of records converted
    /// when the interners held `interned` bytes, the figure the store counts when it takes
    /// them (see [`InternerTally`]).
    pub fn offer_interned(
        &self,
        work: Work,
        items: usize,
        bytes: usize,
        interned: Option<usize>,
        wait: bool,
    ) -> Result<(), Full> {
        self.enqueue(
            Queued {
                interned,
                ..Queued::new(work, items, bytes)
            },
            wait,
        )
    }

    fn enqueue(&self, queued: Queued, wait: bool) -> Result<(), Full> {
        let (items, bytes) = (queued.items, queued.bytes);
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
            .map(|tx| tx.send(queued).is_ok())
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

    /// Whether `items` of about `bytes` would be taken now (a hint: checked again on offer).
    pub fn has_room(&self, items: usize, bytes: usize) -> bool {
        let f = lock(&self.in_flight);
        f.items == 0 || (f.items + items <= self.limits.max_items && f.bytes + bytes <= self.limits.max_bytes)
    }

    /// Items queued and not yet stored.
    pub fn in_flight_items(&self) -> usize {
        lock(&self.in_flight).items
    }

    fn control(&self, work: Work) -> bool {
        lock(&self.tx)
            .as_ref()
            .is_some_and(|tx| tx.send(Queued::new(work, 0, 0)).is_ok())
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

/// Converters for the receivers to borrow. Each has its own interners, so conversion runs in
/// parallel without locks; the pool is capped so that their (bounded) interners stay few.
pub struct ConverterPool {
    idle: Mutex<Vec<Pooled>>,
    returned: std::sync::Condvar,
    created: Mutex<usize>,
    make: Box<dyn Fn() -> Converter + Send + Sync>,
    /// Sum of the pooled interners' bytes, part of the store's memory estimate.
    interner_bytes: AtomicUsize,
    /// The next converter's number (pooled and pinned alike).
    next_id: AtomicUsize,
    /// Converters kept for threads pinned to them ([`ConverterPool::pin_thread`]), by number.
    pinned: Mutex<std::collections::BTreeMap<usize, Pooled>>,
}

std::thread_local! {
    /// The pinned converter this thread converts with, if any.
    static PINNED: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

struct Pooled {
    converter: Converter,
    id: usize,
    reported_bytes: usize,
    reported_stats: ConvertStats,
}

/// The interners' bytes as of each request of a file, in the file's order: each converted
/// request tells what its converter's interners held after converting it ([`Interned`]), and the
/// store counts the sum of the latest figures when it takes that request. So the memory
/// estimate, and what is evicted for it, follow the file alone: parsing threads run ahead of the
/// store by however much timing lets them, and reading the interners when the store takes a
/// request would count strings of requests not yet stored (a different figure each run).
#[derive(Debug, Default)]
pub struct InternerTally {
    latest: std::collections::BTreeMap<usize, usize>,
}

impl InternerTally {
    /// The sum after `interned` (if the request was converted).
    pub fn after(&mut self, interned: Option<Interned>) -> usize {
        if let Some(i) = interned {
            self.latest.insert(i.converter, i.bytes);
        }
        self.latest.values().sum()
    }
}

impl Pooled {
    /// Adds what the converter counted since it last published to the counters (and, for a
    /// pooled one, its interners' growth to the pool's sum).
    fn publish(&mut self, counters: &Counters, pool_bytes: Option<&AtomicUsize>) {
        let bytes = self.converter.interner_bytes();
        if bytes != self.reported_bytes {
            if let Some(sum) = pool_bytes {
                sum.fetch_add(bytes - self.reported_bytes, Relaxed);
            }
            self.reported_bytes = bytes;
        }
        let stats = self.converter.stats();
        let (old, t) = (self.reported_stats, &counters.truncation);
        // Each counter of `ConvertStats` to its counter of the same name.
        macro_rules! add_since {
            ($($field:ident),*) => {
                $(t.$field.fetch_add(stats.$field - old.$field, Relaxed);)*
            };
        }
        add_since!(
            truncated_values,
            dropped_attributes,
            dropped_events,
            evaluated_calls,
            unevaluated_calls,
            implausible_values
        );
        self.reported_stats = stats;
    }

    fn interned(&self) -> Interned {
        Interned {
            converter: self.id,
            bytes: self.reported_bytes,
        }
    }
}

/// More converters than this would only mean more interner copies: conversion is short and
/// runs on the few receiver threads.
const MAX_CONVERTERS: usize = 8;

impl ConverterPool {
    pub fn new(make: impl Fn() -> Converter + Send + Sync + 'static) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            returned: std::sync::Condvar::new(),
            created: Mutex::new(0),
            make: Box::new(make),
            interner_bytes: AtomicUsize::new(0),
            next_id: AtomicUsize::new(0),
            pinned: Mutex::new(Default::default()),
        }
    }

    /// From now on the calling thread converts with a converter of its own, the `slot`th pinned
    /// one (made on first use, kept outside the pool and out of its sum of interner bytes): a
    /// file's parsing thread, so that which converter reads which line is fixed by the file and
    /// not by timing, and with it what each interner holds when ([`InternerTally`]).
    pub fn pin_thread(slot: usize) {
        PINNED.set(Some(slot));
    }

    fn made(&self) -> Pooled {
        Pooled {
            converter: (self.make)(),
            id: self.next_id.fetch_add(1, Relaxed),
            reported_bytes: 0,
            reported_stats: ConvertStats::default(),
        }
    }

    fn take(&self) -> Pooled {
        let mut idle = lock(&self.idle);
        loop {
            if let Some(p) = idle.pop() {
                return p;
            }
            let mut created = lock(&self.created);
            if *created < MAX_CONVERTERS {
                *created += 1;
                drop(created);
                drop(idle);
                return self.made();
            }
            drop(created);
            idle = self.returned.wait(idle).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Runs `f` with a converter, then publishes what it changed (interner bytes, truncations).
    pub fn with<R>(&self, counters: &Counters, f: impl FnOnce(&mut Converter) -> R) -> R {
        self.with_interned(counters, f).0
    }

    /// [`ConverterPool::with`], telling what the converter's interners held after `f`.
    pub fn with_interned<R>(
        &self,
        counters: &Counters,
        f: impl FnOnce(&mut Converter) -> R,
    ) -> (R, Interned) {
        if let Some(slot) = PINNED.get() {
            let taken = lock(&self.pinned).remove(&slot);
            let mut p = taken.unwrap_or_else(|| self.made());
            let r = f(&mut p.converter);
            p.publish(counters, None);
            let interned = p.interned();
            lock(&self.pinned).insert(slot, p);
            return (r, interned);
        }
        let mut p = self.take();
        let r = f(&mut p.converter);
        p.publish(counters, Some(&self.interner_bytes));
        let interned = p.interned();
        lock(&self.idle).push(p);
        self.returned.notify_one();
        (r, interned)
    }

    pub fn interner_bytes(&self) -> usize {
        self.interner_bytes.load(Relaxed)
    }
}

/// The store, the counters and the hand-off: what receivers and readers share.
pub struct Pipeline {
    pub store: Mutex<TraceStore>,
    /// Metric series, apart from the trace store (own fixed bound, see its module).
    pub metrics: Mutex<crate::store::metrics::MetricStore>,
    pub counters: Counters,
    pub handoff: Handoff,
    pub converters: ConverterPool,
    /// What requests being decoded may hold together.
    pub decode_budget: Arc<crate::ingest::bound::DecodeBudget>,
    /// `--record`: everything accepted is appended here as OTLP/JSON lines.
    recorder: std::sync::OnceLock<Arc<crate::ingest::record::Recorder>>,
    /// `--forward`: everything accepted is queued for these upstreams.
    forwarder: std::sync::OnceLock<Arc<crate::forward::Forwarder>>,
    max_clock_skew_secs: Option<u64>,
    worker: Mutex<Option<JoinHandle<()>>>,
    /// External evaluators whose workers this pipeline started (see [`Pipeline::start_external`]).
    external: std::sync::OnceLock<Arc<ExternalEvaluators>>,
}

impl Pipeline {
    /// Creates the pipeline and starts its ingest thread.
    pub fn start(
        store: TraceStore,
        converters: ConverterPool,
        limits: HandoffLimits,
        max_clock_skew_secs: Option<u64>,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::channel();
        let pipeline = Arc::new(Self {
            store: Mutex::new(store),
            metrics: Mutex::new(crate::store::metrics::MetricStore::default()),
            counters: Counters::default(),
            handoff: Handoff {
                tx: Mutex::new(Some(tx)),
                in_flight: Mutex::new(InFlight::default()),
                released: std::sync::Condvar::new(),
                limits,
            },
            converters,
            decode_budget: crate::ingest::bound::DecodeBudget::new(limits.decode_bytes),
            recorder: std::sync::OnceLock::new(),
            forwarder: std::sync::OnceLock::new(),
            max_clock_skew_secs,
            worker: Mutex::new(None),
            external: std::sync::OnceLock::new(),
        });
        let worker_pipeline = pipeline.clone();
        let handle = std::thread::Builder::new()
            .name("llmwatch-ingest".into())
            .spawn(move || worker_pipeline.run_worker(rx))
            .expect("spawning the ingest thread");
        *lock(&pipeline.worker) = Some(handle);
        pipeline
    }

    /// Records everything accepted from now on (set once, before traffic arrives).
    pub fn set_recorder(&self, recorder: Arc<crate::ingest::record::Recorder>) {
        let _ = self.recorder.set(recorder);
    }

    pub fn recorder(&self) -> Option<&Arc<crate::ingest::record::Recorder>> {
        self.recorder.get()
    }

    /// Forwards everything accepted from now on (set once, before traffic arrives).
    pub fn set_forwarder(&self, forwarder: Arc<crate::forward::Forwarder>) {
        let _ = self.forwarder.set(forwarder);
    }

    pub fn forwarder(&self) -> Option<&Arc<crate::forward::Forwarder>> {
        self.forwarder.get()
    }

    /// Starts the workers of the external evaluators the converters select for (the same
    /// `SemconvConfig::external`); their verdicts come back through the hand-off. Set once,
    /// before traffic arrives; nothing to do when none is configured.
    pub fn start_external(self: &Arc<Self>, evaluators: &Arc<ExternalEvaluators>) {
        if !evaluators.is_active() || self.external.set(evaluators.clone()).is_err() {
            return;
        }
        // Weak: the workers must not keep a dropped pipeline alive.
        let pipeline = Arc::downgrade(self);
        evaluators.start(Arc::new(move |verdicts: Vec<Verdict>| {
            let Some(p) = pipeline.upgrade() else {
                return false;
            };
            let bytes = verdicts.len() * size_of::<Verdict>();
            p.handoff
                .offer_waiting(Work::Verdicts(verdicts), 0, bytes)
                .is_ok()
        }));
    }

    /// The external evaluators this pipeline runs, if any.
    pub fn external(&self) -> Option<&Arc<ExternalEvaluators>> {
        self.external.get()
    }

    /// Waits until the external evaluators have answered everything queued (bounded: every run
    /// ends within its timeout), then until their verdicts are stored. For files, before the
    /// summary.
    pub fn drain_external(&self) {
        if let Some(e) = self.external.get() {
            e.drain_all();
            self.flush();
        }
    }

    pub fn store(&self) -> MutexGuard<'_, TraceStore> {
        lock(&self.store)
    }

    pub fn metrics(&self) -> MutexGuard<'_, crate::store::metrics::MetricStore> {
        lock(&self.metrics)
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
    /// External evaluations get up to their longest timeout to finish first; the rest are
    /// killed or dropped, and counted. Idempotent.
    pub fn shutdown(&self) {
        if let Some(e) = self.external.get() {
            e.finish(e.exit_grace());
        }
        if let Some(r) = self.recorder.get()
            && let Err(e) = r.flush()
        {
            crate::log!("recording: {e}");
        }
        self.handoff.control(Work::Stop);
        lock(&self.handoff.tx).take();
        if let Some(h) = lock(&self.worker).take() {
            let _ = h.join();
        }
    }

    fn run_worker(&self, rx: mpsc::Receiver<Queued>) {
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
                Work::Spans { spans, verdicts } => {
                    let mut store = self.store();
                    self.prepare(&mut store);
                    self.count_interners(&mut store, q.interned);
                    store.insert_spans(spans);
                    store.insert_verdicts(verdicts);
                }
                Work::Logs { logs, verdicts } => {
                    let mut store = self.store();
                    self.prepare(&mut store);
                    self.count_interners(&mut store, q.interned);
                    store.insert_logs(logs);
                    store.insert_verdicts(verdicts);
                }
                Work::Verdicts(verdicts) => {
                    let mut store = self.store();
                    self.prepare(&mut store);
                    store.insert_verdicts(verdicts);
                }
                Work::Barrier(done) => {
                    let _ = done.send(());
                }
                Work::Stop => break,
            }
            self.handoff.release(items, bytes);
        }
    }

    /// What the interners hold, counted in the store's estimate with records that came from
    /// them: the figure the records came with, else what the pool holds now. (Verdicts alone
    /// leave it: they add nothing to the interners, and must not replace a file's figure.)
    fn count_interners(&self, store: &mut TraceStore, interned: Option<usize>) {
        store.set_external_bytes(interned.unwrap_or_else(|| self.converters.interner_bytes()));
    }

    fn prepare(&self, store: &mut TraceStore) {
        if let Some(skew) = self.max_clock_skew_secs {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            store.set_max_event_second(Some(now + skew));
        }
    }
}

impl Drop for Pipeline {
    /// A pipeline dropped without [`Pipeline::shutdown`] still stops its evaluator workers
    /// (without waiting: this may run on one of them).
    fn drop(&mut self) {
        if let Some(e) = self.external.get() {
            e.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreLimits;

    /// Work that holds no records (the hand-off counts what it is told).
    fn nothing() -> Work {
        Work::Spans {
            spans: Vec::new(),
            verdicts: Vec::new(),
        }
    }

    fn pipeline(max_items: usize) -> Arc<Pipeline> {
        Pipeline::start(
            TraceStore::new(StoreLimits::default()),
            ConverterPool::new(Converter::default),
            HandoffLimits {
                max_items,
                max_bytes: usize::MAX,
                decode_bytes: usize::MAX,
                reserve_bytes: 0,
            },
            None,
        )
    }

    #[test]
    fn a_full_handoff_refuses_without_blocking_and_recovers() {
        let p = pipeline(10);
        // Hold the store so the ingest thread stalls on its first batch.
        let guard = p.store();
        p.handoff.offer(nothing(), 6, 1).unwrap();
        p.handoff.offer(nothing(), 4, 1).unwrap();
        assert_eq!(p.handoff.offer(nothing(), 1, 1), Err(Full));
        drop(guard);
        p.flush();
        assert_eq!(p.handoff.in_flight_items(), 0);
        p.handoff.offer(nothing(), 1, 1).unwrap();
        p.shutdown();
        assert_eq!(p.handoff.offer(nothing(), 1, 1), Err(Full));
    }

    /// Converts a one-span request whose name and attribute key are `key` (new strings for the
    /// interners), and tells what the converter's interners then held.
    fn convert_named(p: &Pipeline, key: &str) -> Interned {
        let text = format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"{key}","attributes":[{{"key":"{key}","value":{{"stringValue":"v"}}}}]}}]}}]}}]}}"#
        );
        let req = crate::ingest::otlp_json::traces(text.as_bytes()).unwrap();
        let mut spans = Vec::new();
        let ((), interned) = p.converters.with_interned(&p.counters, |c| {
            c.convert_traces_unevaluated(req, &mut spans, &mut Vec::new())
        });
        assert_eq!(spans.len(), 1);
        interned
    }

    #[test]
    fn a_pinned_thread_keeps_its_converter_and_the_store_counts_the_interners_it_is_told() {
        let p = pipeline(1000);
        let pooled = convert_named(&p, "pooled.key");
        assert!(pooled.bytes > 0);
        assert_eq!(p.converters.interner_bytes(), pooled.bytes);
        // A thread pinned to slot 0 converts with a converter of its own, outside the pool's
        // sum; another thread pinned to the same slot later finds the same converter.
        let on_slot = |keys: &'static [&'static str]| {
            let p = p.clone();
            std::thread::spawn(move || {
                ConverterPool::pin_thread(0);
                keys.iter().map(|k| convert_named(&p, k)).collect::<Vec<_>>()
            })
            .join()
            .unwrap()
        };
        let first = on_slot(&["pinned.one", "pinned.two"]);
        let again = on_slot(&["pinned.two"]);
        assert_ne!(first[0].converter, pooled.converter);
        assert_eq!(first[1].converter, first[0].converter);
        assert!(first[1].bytes > first[0].bytes);
        assert_eq!(again[0], first[1], "the same converter, nothing new interned");
        assert_eq!(p.converters.interner_bytes(), pooled.bytes);

        // The tally: the latest figure of each converter, summed.
        let mut tally = InternerTally::default();
        assert_eq!(tally.after(Some(pooled)), pooled.bytes);
        assert_eq!(tally.after(Some(first[0])), pooled.bytes + first[0].bytes);
        assert_eq!(tally.after(Some(first[1])), pooled.bytes + first[1].bytes);
        assert_eq!(tally.after(None), pooled.bytes + first[1].bytes);

        // The store counts the figure records come with, not the pool's; verdicts alone leave it.
        let held = |interned: Option<usize>| {
            p.handoff.offer_interned(nothing(), 1, 1, interned, true).unwrap();
            p.flush();
            p.store().bytes_held()
        };
        let base = held(Some(0));
        assert_eq!(held(Some(10_000)), base + 10_000);
        p.handoff.offer_waiting(Work::Verdicts(Vec::new()), 0, 1).unwrap();
        p.flush();
        assert_eq!(p.store().bytes_held(), base + 10_000);
        assert_eq!(held(None), base + pooled.bytes, "live: what the pool holds");
        p.shutdown();
    }

    #[test]
    fn an_oversized_batch_gets_through_when_the_queue_is_empty() {
        let p = pipeline(10);
        p.handoff.offer(nothing(), 50, 1).unwrap();
        p.shutdown();
    }
}
