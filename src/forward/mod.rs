//! `--forward`: llmwatch inline. Every request the receivers accept is also sent upstream to
//! each target (another llmwatch, a Collector), in the form it arrived. Each target has a queue
//! bounded in bytes; a request is acknowledged only once every target's queue has taken it, so
//! a full queue makes the receivers refuse (429 / UNAVAILABLE, which exporters retry):
//! acknowledged means forwarded or still queued. One sender task per target sends batches
//! (gzip) and retries retryable answers with backoff, for as long as llmwatch runs; at exit the
//! queues get a bounded time to drain.

pub mod queue;
pub mod retry;
pub mod target;
pub mod wire;

pub use queue::{Encoding, Payload};
pub use target::{Header, Protocol, Target, TargetError};

use queue::Queue;
use retry::{Answer, Backoff};
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The queue per target unless `--forward-queue` says otherwise.
pub const DEFAULT_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// How long exit waits for the queues to drain unless `--forward-drain` says otherwise.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);
/// The most (uncompressed) bytes of protobuf joined into one export: below the 4 MiB a
/// Collector's gRPC receiver takes by default.
const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ForwardConfig {
    pub targets: Vec<Target>,
    pub headers: Vec<Header>,
    /// Per target.
    pub queue_bytes: usize,
    pub drain: Duration,
}

/// What a target's sender is doing, for the status bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardState {
    /// Keeping up; bytes waiting in the queues.
    Sending(u64),
    /// The last attempt of some target failed and is being retried.
    Retrying,
    /// Some target's queue is full: the receivers refuse requests.
    Full,
}

/// One target in the summary's `forward` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TargetStats {
    pub url: String,
    pub protocol: String,
    /// Requests forwarded (taken by the upstream), and their bytes before compression.
    pub sent_requests: u64,
    pub sent_bytes: u64,
    /// Exports sent: forwarded requests joined into batches.
    pub batches: u64,
    /// Attempts answered retryably (or not at all) and tried again.
    pub retried: u64,
    /// Requests the upstream refused for good (each logged once).
    pub failed_requests: u64,
    /// Still queued (or in flight): at exit, what was not forwarded.
    pub queued_requests: u64,
    pub queued_bytes: u64,
}

/// The summary's `forward` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ForwardStats {
    /// Requests the receivers refused because a target's queue was full.
    pub refused_requests: u64,
    pub queue_bytes: u64,
    pub targets: Vec<TargetStats>,
}

#[derive(Default)]
struct Counters {
    sent_requests: AtomicU64,
    sent_bytes: AtomicU64,
    batches: AtomicU64,
    retried: AtomicU64,
    failed_requests: AtomicU64,
    retrying: AtomicBool,
}

struct Upstream {
    target: Target,
    queue: Queue,
    counters: Counters,
}

pub struct Forwarder {
    upstreams: Vec<Arc<Upstream>>,
    headers: http::HeaderMap,
    drain: Duration,
    queue_bytes: usize,
    refused: AtomicU64,
    closing: Arc<AtomicBool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Room taken in every target's queue for one request; given back unless committed.
pub struct Reservation<'a> {
    forwarder: &'a Forwarder,
    bytes: usize,
}

impl Reservation<'_> {
    /// Queues the request at every target.
    pub fn commit(mut self, payload: Payload) {
        let payload = Arc::new(payload);
        for u in &self.forwarder.upstreams {
            u.queue.push(payload.clone());
        }
        // The room now belongs to the queued request: nothing to give back on drop.
        self.bytes = 0;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        for u in &self.forwarder.upstreams {
            u.queue.release(self.bytes);
        }
    }
}

/// Refused: some target's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

impl Forwarder {
    pub fn new(config: &ForwardConfig) -> Self {
        let mut headers = http::HeaderMap::new();
        for h in &config.headers {
            headers.append(h.name.clone(), h.value.clone());
        }
        Self {
            upstreams: config
                .targets
                .iter()
                .map(|t| {
                    Arc::new(Upstream {
                        target: t.clone(),
                        queue: Queue::new(config.queue_bytes),
                        counters: Counters::default(),
                    })
                })
                .collect(),
            headers,
            drain: config.drain,
            queue_bytes: config.queue_bytes,
            refused: AtomicU64::new(0),
            closing: Arc::new(AtomicBool::new(false)),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Starts one sender task per target on the current tokio runtime.
    pub fn start(self: &Arc<Self>) -> Result<(), String> {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        for (i, u) in self.upstreams.iter().enumerate() {
            let client = wire::Client::new(&u.target)?;
            let (u, headers, closing) = (u.clone(), self.headers.clone(), self.closing.clone());
            tasks.push(tokio::spawn(send_loop(u, client, headers, closing, i as u64)));
        }
        Ok(())
    }

    /// Takes room for a request of `bytes` in every target's queue, or refuses (counted).
    pub fn reserve(&self, bytes: usize) -> Result<Reservation<'_>, QueueFull> {
        for (i, u) in self.upstreams.iter().enumerate() {
            if !u.queue.try_reserve(bytes) {
                self.upstreams[..i].iter().for_each(|u| u.queue.release(bytes));
                self.refused.fetch_add(1, Relaxed);
                return Err(QueueFull);
            }
        }
        Ok(Reservation {
            forwarder: self,
            bytes,
        })
    }

    /// Whether a request would be refused now (a hint, checked again by [`Forwarder::reserve`]).
    pub fn refuses(&self) -> bool {
        self.upstreams.iter().any(|u| u.queue.is_full())
    }

    /// Counts a request refused before it was decoded (see `ingest::refused_early`).
    pub fn count_refusal(&self) {
        self.refused.fetch_add(1, Relaxed);
    }

    pub fn state(&self) -> ForwardState {
        if self.refuses() {
            ForwardState::Full
        } else if self.upstreams.iter().any(|u| u.counters.retrying.load(Relaxed)) {
            ForwardState::Retrying
        } else {
            ForwardState::Sending(self.upstreams.iter().map(|u| u.queue.held_bytes() as u64).sum())
        }
    }

    pub fn stats(&self) -> ForwardStats {
        ForwardStats {
            refused_requests: self.refused.load(Relaxed),
            queue_bytes: self.queue_bytes as u64,
            targets: self
                .upstreams
                .iter()
                .map(|u| {
                    let c = &u.counters;
                    TargetStats {
                        url: u.target.url.clone(),
                        protocol: u.target.protocol.to_string(),
                        sent_requests: c.sent_requests.load(Relaxed),
                        sent_bytes: c.sent_bytes.load(Relaxed),
                        batches: c.batches.load(Relaxed),
                        retried: c.retried.load(Relaxed),
                        failed_requests: c.failed_requests.load(Relaxed),
                        queued_requests: u.queue.held_requests() as u64,
                        queued_bytes: u.queue.held_bytes() as u64,
                    }
                })
                .collect(),
        }
    }

    /// Stops the senders now, whatever is queued (the receivers were dropped without a stop).
    pub fn abort(&self) {
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            t.abort();
        }
    }

    /// At exit, once the receivers have stopped: waits up to the drain time for every queue to
    /// empty, then stops the senders and logs what each target was left without.
    pub async fn drain(&self) {
        self.closing.store(true, Relaxed);
        for u in &self.upstreams {
            u.queue.ready.notify_one();
        }
        let deadline = Instant::now() + self.drain;
        while self.upstreams.iter().any(|u| u.queue.held_requests() > 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.abort();
        for u in &self.upstreams {
            let (n, bytes) = (u.queue.held_requests(), u.queue.held_bytes());
            if n > 0 {
                crate::log!(
                    "forward to {}: {n} requests ({bytes} bytes) not forwarded within {:?} of exit",
                    u.target.url,
                    self.drain
                );
            }
        }
    }
}

/// One target's sender: batches from the queue, each sent until the upstream takes it or
/// refuses it for good. Ends when closing and the queue is empty (or when aborted).
async fn send_loop(
    u: Arc<Upstream>,
    client: wire::Client,
    headers: http::HeaderMap,
    closing: Arc<AtomicBool>,
    seed: u64,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut backoff = Backoff::new(retry::INITIAL_BACKOFF, retry::MAX_BACKOFF, now ^ (seed << 32));
    let throttle = crate::log::Throttle::new();
    loop {
        let ready = u.queue.ready.notified();
        let batch = u.queue.take_batch(MAX_BATCH_BYTES);
        if batch.is_empty() {
            if closing.load(Relaxed) {
                return;
            }
            ready.await;
            continue;
        }
        let c = &u.counters;
        let built = match wire::body_for(u.target.protocol, &batch) {
            Ok(b) => b,
            Err(e) => {
                c.failed_requests.fetch_add(batch.len() as u64, Relaxed);
                crate::log!(
                    "forward to {}: {} requests dropped: {e}",
                    u.target.url,
                    batch.len()
                );
                u.queue.done(&batch);
                continue;
            }
        };
        loop {
            match client.send(&u.target, &headers, &built).await {
                Answer::Taken => {
                    c.sent_requests.fetch_add(built.requests as u64, Relaxed);
                    c.sent_bytes
                        .fetch_add(batch.iter().map(|p| p.bytes.len() as u64).sum(), Relaxed);
                    c.batches.fetch_add(1, Relaxed);
                    c.retrying.store(false, Relaxed);
                    backoff.reset();
                    break;
                }
                Answer::Retry { after, reason } => {
                    c.retried.fetch_add(1, Relaxed);
                    c.retrying.store(true, Relaxed);
                    if let Some(skipped) = throttle.allow() {
                        let more = if skipped > 0 {
                            format!(" ({skipped} more retries since the last line)")
                        } else {
                            String::new()
                        };
                        crate::log!("forward to {}: retrying: {reason}{more}", u.target.url);
                    }
                    tokio::time::sleep(backoff.next(after)).await;
                }
                Answer::Failed(reason) => {
                    c.failed_requests.fetch_add(built.requests as u64, Relaxed);
                    c.retrying.store(false, Relaxed);
                    crate::log!(
                        "forward to {}: {} requests refused: {reason}",
                        u.target.url,
                        built.requests
                    );
                    break;
                }
            }
        }
        u.queue.done(&batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarder(targets: &[&str], queue_bytes: usize) -> Forwarder {
        Forwarder::new(&ForwardConfig {
            targets: targets.iter().map(|t| Target::parse(t).unwrap()).collect(),
            headers: Vec::new(),
            queue_bytes,
            drain: Duration::from_millis(10),
        })
    }

    fn payload(n: usize) -> Payload {
        Payload {
            signal: crate::ingest::capture::Signal::Traces,
            encoding: Encoding::Protobuf,
            bytes: bytes::Bytes::from(vec![0u8; n]),
        }
    }

    #[test]
    fn a_request_is_taken_by_every_target_or_refused() {
        let f = forwarder(&["http://a:4317", "http://b:4318"], 100);
        f.reserve(60).unwrap().commit(payload(60));
        // Given back when not committed (the store refused it, say).
        drop(f.reserve(40).unwrap());
        assert_eq!(f.upstreams[1].queue.held_bytes(), 60);
        f.upstreams[1].queue.release(0);
        // One target full refuses for all, and what the others reserved is given back.
        assert!(f.upstreams[0].queue.try_reserve(40));
        assert!(f.refuses());
        assert_eq!(f.reserve(10).err(), Some(QueueFull));
        assert_eq!(f.upstreams[1].queue.held_bytes(), 60);
        assert_eq!(f.state(), ForwardState::Full);
        let s = f.stats();
        assert_eq!(s.refused_requests, 1);
        assert_eq!((s.targets[1].queued_requests, s.targets[1].queued_bytes), (1, 60));
        assert_eq!(s.targets[1].protocol, "http");
    }
}
