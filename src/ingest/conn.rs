//! Connections to the receivers: bounded in number per receiver, and closed when they never
//! get to a request. A client that opens connections and sends half a header (or nothing)
//! would otherwise hold a file descriptor each for ever: with 1,024 of them, neither receiver
//! could accept anyone else. Each receiver accepts through a [`Gate`], which holds a permit per
//! open connection and closes new ones at once (counted, logged at most every ten seconds)
//! while all permits are out; the HTTP receiver closes a connection whose first request has
//! not arrived within the header timeout, or that has had no request for the idle timeout,
//! and the gRPC receiver one that has not finished its HTTP/2 preface within the header
//! timeout.

use super::handoff::Pipeline;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections per receiver; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// A connection must deliver its first request's headers (HTTP) or its HTTP/2 preface
    /// (gRPC) within this time.
    pub header_timeout: Duration,
    /// An HTTP connection with no request for this long is closed.
    pub idle_timeout: Duration,
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// An accepted connection and its permit: the permit returns when the connection is dropped.
pub struct Admitted {
    pub stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl Admitted {
    pub fn into_parts(self) -> (TcpStream, OwnedSemaphorePermit) {
        (self.stream, self._permit)
    }
}

/// Admits connections to one receiver up to its bound.
pub struct Gate {
    protocol: &'static str,
    max: usize,
    permits: Arc<Semaphore>,
    pipeline: Arc<Pipeline>,
    throttle: crate::log::Throttle,
}

impl Gate {
    pub fn new(protocol: &'static str, limits: ConnectionLimits, pipeline: Arc<Pipeline>) -> Arc<Self> {
        let max = limits.max_connections.max(1);
        Arc::new(Self {
            protocol,
            max,
            permits: Arc::new(Semaphore::new(max)),
            pipeline,
            throttle: crate::log::Throttle::new(),
        })
    }

    /// Accepts on `listener` until the receiver is dropped, admitting what the bound allows.
    pub fn accept(self: &Arc<Self>, listener: TcpListener) -> mpsc::Receiver<Admitted> {
        let (tx, rx) = mpsc::channel(1);
        let gate = self.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = tx.closed() => return,
                    accepted = listener.accept() => accepted,
                };
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, typically: wait for some to close.
                        gate.log(format_args!("accepting a connection failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(permit) = gate.permits.clone().try_acquire_owned() else {
                    gate.pipeline
                        .counters
                        .requests
                        .connections_refused
                        .fetch_add(1, Relaxed);
                    gate.log(format_args!(
                        "connection refused: all {} connections are open (--max-connections)",
                        gate.max
                    ));
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let admitted = Admitted {
                    stream,
                    _permit: permit,
                };
                if tx.send(admitted).await.is_err() {
                    return;
                }
            }
        });
        rx
    }

    fn log(&self, what: std::fmt::Arguments<'_>) {
        if let Some(skipped) = self.throttle.allow() {
            let more = if skipped > 0 {
                format!(" ({skipped} more since the last such line)")
            } else {
                String::new()
            };
            crate::log!("OTLP/{}: {what}{more}", self.protocol);
        }
    }
}

/// What an HTTP connection has done, for the watchdog that closes it.
pub struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `opened` at the last request's start or end; `u64::MAX` before any.
    last_ms: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(u64::MAX),
        })
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn begin(&self) {
        self.in_flight.fetch_add(1, Relaxed);
        self.last_ms.store(self.now_ms(), Relaxed);
    }

    fn end(&self) {
        self.last_ms.store(self.now_ms(), Relaxed);
        self.in_flight.fetch_sub(1, Relaxed);
    }

    /// Marks a request in flight until the guard is dropped (answered, or cut off).
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.begin();
        InFlight(self.clone())
    }

    /// Whether the connection has waited too long for its first request, or for its next.
    pub fn expired(&self, limits: &ConnectionLimits) -> bool {
        if self.in_flight.load(Relaxed) > 0 {
            return false;
        }
        let now = self.now_ms();
        match self.last_ms.load(Relaxed) {
            u64::MAX => now >= limits.header_timeout.as_millis() as u64,
            last => now.saturating_sub(last) >= limits.idle_timeout.as_millis() as u64,
        }
    }
}

pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// How often a watchdog looks: a fraction of the shortest timeout.
pub fn watch_interval(limits: &ConnectionLimits) -> Duration {
    (limits.header_timeout.min(limits.idle_timeout) / 4).max(Duration::from_millis(10))
}

/// HTTP/2's client preface (24 bytes) and the SETTINGS frame header that must follow it.
const PREFACE: usize = 24 + 9;

/// A gRPC connection that fails its reads once the header timeout passes before the client
/// has sent its HTTP/2 preface (tonic offers no handshake timeout of its own).
pub struct PrefaceDeadline {
    admitted: Admitted,
    read: usize,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    pipeline: Arc<Pipeline>,
}

impl PrefaceDeadline {
    pub fn new(admitted: Admitted, limits: &ConnectionLimits, pipeline: Arc<Pipeline>) -> Self {
        Self {
            admitted,
            read: 0,
            deadline: Some(Box::pin(tokio::time::sleep(limits.header_timeout))),
            pipeline,
        }
    }
}

impl AsyncRead for PrefaceDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.admitted.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read += buf.filled().len() - before;
                if this.read >= PREFACE {
                    this.deadline = None;
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                if let Some(deadline) = &mut this.deadline
                    && deadline.as_mut().poll(cx).is_ready()
                {
                    this.deadline = None;
                    this.pipeline
                        .counters
                        .requests
                        .connections_timed_out
                        .fetch_add(1, Relaxed);
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no HTTP/2 preface within the header timeout",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for PrefaceDeadline {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.admitted.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.admitted.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.admitted.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.admitted.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.admitted.stream.is_write_vectored()
    }
}

impl tonic::transport::server::Connected for PrefaceDeadline {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.admitted.stream.connect_info()
    }
}

/// Raises the soft limit of open files to the hard limit, as servers commonly do: the default
/// soft limit (often 1,024) is below what two receivers at their bound may hold. Returns the
/// soft limit now in force (`None` if unknown).
pub fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// File descriptors kept for everything but connections (listeners, files, the log, pipes).
const RESERVED_FDS: u64 = 64;

/// The connection bound per receiver that two receivers can hold together within `open_files`:
/// a bound past it would make accepting fail for both once one is flooded.
pub fn fit_to_open_files(max_connections: usize, open_files: Option<u64>) -> usize {
    let Some(open_files) = open_files else {
        return max_connections;
    };
    let share = open_files.saturating_sub(RESERVED_FDS) / 2;
    max_connections
        .min(usize::try_from(share).unwrap_or(usize::MAX))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_fits_both_receivers_in_the_open_files_limit() {
        assert_eq!(fit_to_open_files(512, Some(1024)), 480);
        assert_eq!(fit_to_open_files(512, Some(1 << 20)), 512);
        assert_eq!(fit_to_open_files(512, None), 512);
        assert_eq!(fit_to_open_files(512, Some(10)), 1);
    }

    #[test]
    fn activity_expires_without_a_first_request_or_when_idle() {
        let limits = ConnectionLimits {
            max_connections: 1,
            header_timeout: Duration::ZERO,
            idle_timeout: Duration::from_secs(3600),
        };
        let a = Activity::new();
        assert!(a.expired(&limits));
        let req = a.request();
        assert!(!a.expired(&limits), "never while a request is in flight");
        drop(req);
        assert!(!a.expired(&limits), "served once: the idle timeout applies");
    }
}
