//! One target's queue of requests not yet forwarded, bounded in bytes. Room is reserved before
//! a request is acknowledged and given back once the upstream has taken it (or refused it for
//! good), so a full queue makes the receivers refuse rather than drop.

use crate::ingest::capture::Signal;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

/// How a request arrived: forwarded in the same form where the target's protocol allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// An accepted request as it arrived (decompressed): what is forwarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    pub signal: Signal,
    pub encoding: Encoding,
    pub bytes: Bytes,
}

impl Payload {
    /// Protobuf requests of one signal are concatenated into one: their only field is the
    /// repeated `resource_*`, so the concatenation decodes as the union of their resources.
    fn joins(&self, other: &Payload) -> bool {
        self.signal == other.signal
            && self.encoding == Encoding::Protobuf
            && other.encoding == Encoding::Protobuf
    }
}

pub struct Queue {
    capacity: usize,
    /// Reserved, queued and in flight, until the upstream answers.
    bytes: AtomicUsize,
    entries: Mutex<VecDeque<std::sync::Arc<Payload>>>,
    /// Requests queued or in flight (for the summary's `queued_at_exit`).
    requests: AtomicUsize,
    pub ready: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The queue stays consistent under a panic elsewhere: entries are only pushed and popped.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Queue {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            bytes: AtomicUsize::new(0),
            entries: Mutex::new(VecDeque::new()),
            requests: AtomicUsize::new(0),
            ready: tokio::sync::Notify::new(),
        }
    }

    /// Takes `n` bytes of room, or refuses. A request larger than the whole queue is taken when
    /// the queue is empty, so that one big (but size-limited) request still gets through.
    pub fn try_reserve(&self, n: usize) -> bool {
        self.bytes
            .fetch_update(Relaxed, Relaxed, |held| {
                (held == 0 || held.saturating_add(n) <= self.capacity).then(|| held.saturating_add(n))
            })
            .is_ok()
    }

    /// Gives back room reserved or held.
    pub fn release(&self, n: usize) {
        let _ = self
            .bytes
            .fetch_update(Relaxed, Relaxed, |held| Some(held.saturating_sub(n)));
    }

    /// Queues a request whose room was reserved.
    pub fn push(&self, p: std::sync::Arc<Payload>) {
        lock(&self.entries).push_back(p);
        self.requests.fetch_add(1, Relaxed);
        self.ready.notify_one();
    }

    /// The next requests to send together: the first, and those after it that join it while
    /// the batch stays within `max_bytes`. Their room is held until [`Queue::done`].
    pub fn take_batch(&self, max_bytes: usize) -> Vec<std::sync::Arc<Payload>> {
        let mut entries = lock(&self.entries);
        let Some(first) = entries.pop_front() else {
            return Vec::new();
        };
        let mut size = first.bytes.len();
        let mut batch = vec![first];
        while let Some(next) = entries.front() {
            if !batch[0].joins(next) || size + next.bytes.len() > max_bytes {
                break;
            }
            size += next.bytes.len();
            batch.extend(entries.pop_front());
        }
        batch
    }

    /// A batch answered (taken or refused for good): its room is free again.
    pub fn done(&self, batch: &[std::sync::Arc<Payload>]) {
        self.release(batch.iter().map(|p| p.bytes.len()).sum());
        self.requests.fetch_sub(batch.len(), Relaxed);
    }

    pub fn is_full(&self) -> bool {
        self.bytes.load(Relaxed) >= self.capacity
    }

    /// Bytes reserved, queued or in flight.
    pub fn held_bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }

    /// Requests queued or in flight.
    pub fn held_requests(&self) -> usize {
        self.requests.load(Relaxed)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn payload(signal: Signal, encoding: Encoding, n: usize) -> Arc<Payload> {
        Arc::new(Payload {
            signal,
            encoding,
            bytes: Bytes::from(vec![0u8; n]),
        })
    }

    #[test]
    fn the_queue_is_bounded_in_bytes() {
        let q = Queue::new(100);
        assert!(q.try_reserve(60));
        assert!(q.try_reserve(40));
        assert!(q.is_full());
        assert!(!q.try_reserve(1));
        q.release(40);
        assert!(q.try_reserve(30));
        assert!(!q.try_reserve(11));
        assert_eq!(q.held_bytes(), 90);
    }

    #[test]
    fn an_oversized_request_gets_through_an_empty_queue_only() {
        let q = Queue::new(100);
        assert!(q.try_reserve(500));
        assert!(!q.try_reserve(1));
        q.release(500);
        assert!(q.try_reserve(1));
        assert!(!q.try_reserve(500));
    }

    #[test]
    fn batches_join_protobuf_of_one_signal_within_the_size() {
        let q = Queue::new(10_000);
        let items = [
            payload(Signal::Traces, Encoding::Protobuf, 100),
            payload(Signal::Traces, Encoding::Protobuf, 100),
            payload(Signal::Logs, Encoding::Protobuf, 100),
            payload(Signal::Traces, Encoding::Json, 100),
            payload(Signal::Traces, Encoding::Json, 100),
            payload(Signal::Metrics, Encoding::Protobuf, 100),
            payload(Signal::Metrics, Encoding::Protobuf, 100),
            payload(Signal::Metrics, Encoding::Protobuf, 100),
        ];
        for p in &items {
            assert!(q.try_reserve(p.bytes.len()));
            q.push(p.clone());
        }
        assert_eq!(q.held_requests(), 8);
        let sizes: Vec<usize> = std::iter::from_fn(|| {
            let b = q.take_batch(250);
            q.done(&b);
            (!b.is_empty()).then_some(b.len())
        })
        .collect();
        // Two traces; logs alone; JSON requests one by one; metrics up to 250 bytes.
        assert_eq!(sizes, [2, 1, 1, 1, 2, 1]);
        assert_eq!((q.held_bytes(), q.held_requests()), (0, 0));
    }
}
