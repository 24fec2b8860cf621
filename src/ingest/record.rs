//! `--record FILE`: everything accepted, appended as OTLP/JSON lines (one
//! ExportTraceServiceRequest / ExportLogsServiceRequest / ExportMetricsServiceRequest a line, the
//! format the Collector's file exporter writes and `replay` reads), with credential-looking values
//! redacted (../shared/SEMCONV.md "Secrets").
//!
//! Encoding ([`Recorder::encode_traces`] and friends) is pure and runs on the receiver's thread.
//! A recording is an audit trail: what was acknowledged must be in it. So a request first
//! [reserves](Recorder::reserve) its line's bytes in a queue bounded in bytes, is acknowledged
//! only if that fits, and then [commits](Reservation::commit) the line, which only copies it into
//! memory; a background thread writes the queue out at least every [`FLUSH_EVERY`], so a crash
//! loses at most the last fraction of a second. When the disk falls behind, receivers refuse
//! (429 / UNAVAILABLE, retried by exporters) instead of waiting or dropping, and files being
//! replayed wait for room. After a write error (disk full, a FIFO's reader gone) the lines being
//! written are lost and counted, and every later request is refused until restart: accepting
//! what cannot be recorded would break the trail silently.
//!
//! **Rotation** (`max_bytes`): files are never renamed. The first file has the plain name, and each
//! time the current file would pass the limit the next one is started: `path`, `path.1`, `path.2`,
//! ... in the order they were written, so replaying them in numeric order (`ls -v path*`) replays
//! the capture in order. The file being written is always the highest-numbered one, and a new
//! recorder on the same `path` appends to that one, so a capture continues where it stopped. A line
//! is never split across files; a line longer than the limit gets a file of its own.
//!
//! **Doubles**: OTLP/JSON (proto3 JSON) writes NaN and the infinities as the strings `"NaN"`,
//! `"Infinity"` and `"-Infinity"`, as the Collector does; serde_json alone would write `null`,
//! which reads back as a missing value (or fails the whole line for `asDouble`), so the encoder
//! goes through `Finite`. Captures read them back in trace and log lines (`ingest::otlp_json`);
//! opentelemetry-proto's own `Deserialize`, which still reads metrics lines (and OTLP/HTTP JSON
//! bodies), takes them only for summary quantiles. Finite doubles are written as their shortest
//! exact text; serde_json reads them back exactly only with its `float_roundtrip` feature
//! (without it, about one computed double in ten comes back one ulp off).

use crate::semconv::content::{REDACTED, redact};
use crate::semconv::secrets;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Exemplar, Metric, ResourceMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use serde::Serialize;
use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the background thread writes what was appended (well inside the promised second).
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Buffered bytes that wake the background thread before its time.
const WAKE_AT: usize = 1 << 20;
/// The default bound of the queue (`--record-buffer`): bytes reserved, waiting or being written.
pub const DEFAULT_QUEUE_BYTES: usize = 64 << 20;

/// What the recorder did so far (the summary's `record` section).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecordStats {
    /// Lines written to a file (handed to the operating system).
    pub lines: u64,
    /// Spans, log records and metric data points in those lines.
    pub spans: u64,
    pub logs: u64,
    pub data_points: u64,
    /// Bytes of those lines, newlines included.
    pub bytes: u64,
    /// Files opened for writing: the first one and every rotation.
    pub files: u64,
    /// Requests refused (retryably) because the recording was behind or had failed.
    pub refused_for_record: u64,
    /// Lines lost to a failed write or file creation. The first error is reported on stderr
    /// (or the log); later ones are only counted.
    pub errors: u64,
    /// Attribute and body values replaced by `[redacted]` in the appended lines.
    pub redacted_values: u64,
}

/// What the status bar shows of the recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordState {
    /// Keeping up; the bytes written so far.
    Writing(u64),
    /// Refusing requests until the queue drains.
    Behind,
    /// A write failed; refusing everything (see the module notes).
    Failed,
}

/// Why a request's line was not taken (the request is refused as a whole, retryably).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full: the disk is not keeping up.
    Behind,
    /// A write failed earlier; nothing more is accepted.
    Failed,
}

/// Room for one line in the queue, taken before the request is acknowledged. Dropping it
/// without [`Reservation::commit`] (the request was refused elsewhere) gives the room back.
pub struct Reservation<'a> {
    inner: &'a Inner,
    bytes: usize,
}

/// Appends OTLP/JSON lines to a file (series). Shared by receiver threads through an `Arc`.
/// Dropping the last reference writes out what is buffered; call [`Recorder::flush`] before a
/// `process::exit`, which skips destructors.
pub struct Recorder {
    inner: Arc<Inner>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("stats", &self.stats()).finish()
    }
}

struct Inner {
    path: PathBuf,
    max_bytes: Option<u64>,
    /// The bound on `Pending::queued()`.
    max_queued: usize,
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Signalled when queued bytes were written (or lost): waiting reservations look again.
    room: Condvar,
    out: Mutex<Output>,
    lines: AtomicU64,
    spans: AtomicU64,
    logs: AtomicU64,
    data_points: AtomicU64,
    bytes: AtomicU64,
    files: AtomicU64,
    refused: AtomicU64,
    write_errors: AtomicU64,
    redacted: AtomicU64,
    reported: AtomicBool,
    /// Set by a refusal for room, cleared once the queue is under half its bound again.
    behind: AtomicBool,
    /// Set by the first write error, never cleared.
    failed: AtomicBool,
}

/// What a line holds, counted once it is written.
type LineItems = (crate::ingest::capture::Signal, u64);

/// Committed, not yet written: whole lines, each ending in `\n`, with what each holds.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    items: Vec<LineItems>,
    /// Bytes reserved by requests not yet committed.
    reserved: usize,
    /// Bytes taken by the writer and not yet written.
    writing: usize,
    stop: bool,
}

impl Pending {
    fn queued(&self) -> usize {
        self.buf.len() + self.reserved + self.writing
    }
}

/// The file being written. Held while writing, so writes (and rotations) happen in append order.
struct Output {
    file: File,
    /// 0 for the plain name, N for `path.N`.
    index: u64,
    /// The file's length as far as we know (what was there plus what we wrote).
    size: u64,
    /// The file ends inside a line (a crash or a failed write cut it): terminate it before the
    /// next line, so that line stays whole.
    mid_line: bool,
    /// The other half of the double buffer, kept for its allocation.
    spare: Vec<u8>,
    /// What the lines being written hold, in order; popped as lines are written or lost.
    items: std::collections::VecDeque<LineItems>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

impl Recorder {
    /// Appends to `path` (created if missing), or, if numbered files `path.N` exist from an
    /// earlier run, to the highest-numbered one. With `max_bytes`, when the current file would
    /// pass it, writing continues in the next numbered file (see the module notes on rotation).
    /// A background thread writes committed lines out at least every [`FLUSH_EVERY`]; at most
    /// `max_queued` bytes wait for it (a longer line alone).
    pub fn create(path: &Path, max_bytes: Option<u64>, max_queued: usize) -> io::Result<Arc<Recorder>> {
        let index = last_index(path)?;
        let (file, size, mid_line) = open_append(&numbered(path, index))?;
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            max_bytes,
            max_queued: max_queued.max(1),
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            room: Condvar::new(),
            out: Mutex::new(Output {
                file,
                index,
                size,
                mid_line,
                spare: Vec::new(),
                items: Default::default(),
            }),
            lines: AtomicU64::new(0),
            spans: AtomicU64::new(0),
            logs: AtomicU64::new(0),
            data_points: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            files: AtomicU64::new(1),
            refused: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            redacted: AtomicU64::new(0),
            reported: AtomicBool::new(false),
            behind: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        });
        let background = Arc::clone(&inner);
        let writer = std::thread::Builder::new()
            .name("llmwatch-record".into())
            .spawn(move || background.run())?;
        Ok(Arc::new(Recorder {
            inner,
            writer: Mutex::new(Some(writer)),
        }))
    }

    /// One OTLP/JSON line (no newline) for a trace export, and how many values were redacted.
    /// Credential-looking values in resource, scope, span, event and link attributes are replaced
    /// by `[redacted]`; only the resources that hold one are copied to do so.
    pub fn encode_traces(req: &ExportTraceServiceRequest) -> (String, u64) {
        let mut redacted = 0;
        let resource_spans = req
            .resource_spans
            .iter()
            .map(|rs| {
                if !spans_need_redaction(rs) {
                    return Cow::Borrowed(rs);
                }
                let mut rs = rs.clone();
                redacted += redact_spans(&mut rs);
                Cow::Owned(rs)
            })
            .collect();
        (to_line(&Traces { resource_spans }), redacted)
    }

    /// As [`Recorder::encode_traces`], for logs: resource, scope and log record attributes, and
    /// log bodies (a string body is checked as a value of key `body`; a map body by its keys).
    pub fn encode_logs(req: &ExportLogsServiceRequest) -> (String, u64) {
        let mut redacted = 0;
        let resource_logs = req
            .resource_logs
            .iter()
            .map(|rl| {
                if !logs_need_redaction(rl) {
                    return Cow::Borrowed(rl);
                }
                let mut rl = rl.clone();
                redacted += redact_logs(&mut rl);
                Cow::Owned(rl)
            })
            .collect();
        (to_line(&Logs { resource_logs }), redacted)
    }

    /// As [`Recorder::encode_traces`], for metrics: resource, scope, metric metadata, data point
    /// and exemplar attributes.
    pub fn encode_metrics(req: &ExportMetricsServiceRequest) -> (String, u64) {
        let mut redacted = 0;
        let resource_metrics = req
            .resource_metrics
            .iter()
            .map(|rm| {
                if !metrics_need_redaction(rm) {
                    return Cow::Borrowed(rm);
                }
                let mut rm = rm.clone();
                redacted += redact_metrics(&mut rm);
                Cow::Owned(rm)
            })
            .collect();
        (to_line(&Metrics { resource_metrics }), redacted)
    }

    /// Room for a line of `line_len` bytes (the newline is added). Receivers do not wait: when
    /// the queue is full the request is refused (and counted in `refused_for_record`); files
    /// (`wait`) wait for the writer to make room. After a write error, always refused.
    pub fn reserve(&self, line_len: usize, wait: bool) -> Result<Reservation<'_>, Refused> {
        let inner = &*self.inner;
        let bytes = line_len + 1;
        let mut p = lock(&inner.pending);
        loop {
            if inner.failed.load(Relaxed) {
                drop(p);
                inner.refused.fetch_add(1, Relaxed);
                return Err(Refused::Failed);
            }
            let queued = p.queued();
            // A line longer than the bound goes alone, so it can be recorded at all.
            if queued == 0 || queued + bytes <= inner.max_queued {
                p.reserved += bytes;
                return Ok(Reservation { inner, bytes });
            }
            if !wait {
                drop(p);
                inner.refused.fetch_add(1, Relaxed);
                inner.behind.store(true, Relaxed);
                // The writer may be asleep until its tick; wake it to drain now.
                inner.wake.notify_one();
                return Err(Refused::Behind);
            }
            inner.wake.notify_one();
            p = inner
                .room
                .wait_timeout(p, FLUSH_EVERY)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Whether a receiver's request would be refused now, before it is even decoded further
    /// (counted as refused when so).
    pub fn refuses(&self) -> bool {
        let inner = &*self.inner;
        let refuses = inner.failed.load(Relaxed) || {
            let p = lock(&inner.pending);
            p.queued() >= inner.max_queued
        };
        if refuses {
            inner.refused.fetch_add(1, Relaxed);
            inner.behind.store(true, Relaxed);
        }
        refuses
    }

    /// Reserves (waiting for room) and commits a line holding nothing countable; for tests
    /// and tools. A refused line (after a write error) is counted as refused.
    pub fn append(&self, line: &str, redacted: u64) {
        if let Ok(r) = self.reserve(line.len(), true) {
            r.commit(line, redacted, (crate::ingest::capture::Signal::Traces, 0));
        }
    }

    /// The state the status bar shows.
    pub fn state(&self) -> RecordState {
        let i = &self.inner;
        if i.failed.load(Relaxed) {
            RecordState::Failed
        } else if i.behind.load(Relaxed) {
            RecordState::Behind
        } else {
            RecordState::Writing(i.bytes.load(Relaxed))
        }
    }

    /// Writes out everything appended so far (to the operating system; no fsync). Errors are
    /// also counted and reported like the background thread's.
    pub fn flush(&self) -> io::Result<()> {
        self.inner.write_pending()
    }

    pub fn stats(&self) -> RecordStats {
        let i = &self.inner;
        RecordStats {
            lines: i.lines.load(Relaxed),
            spans: i.spans.load(Relaxed),
            logs: i.logs.load(Relaxed),
            data_points: i.data_points.load(Relaxed),
            bytes: i.bytes.load(Relaxed),
            files: i.files.load(Relaxed),
            refused_for_record: i.refused.load(Relaxed),
            errors: i.write_errors.load(Relaxed),
            redacted_values: i.redacted.load(Relaxed),
        }
    }

    /// The file lines go to now.
    pub fn current_file(&self) -> PathBuf {
        numbered(&self.inner.path, lock(&self.inner.out).index)
    }
}

impl Reservation<'_> {
    /// Queues the line (no newline; an empty line only counts its redactions) holding `items`
    /// (what kind and how many), for the writer. Never waits.
    pub fn commit(self, line: &str, redacted: u64, items: LineItems) {
        debug_assert!(!line.contains('\n'), "a recorded line holds no newline");
        debug_assert!(line.len() < self.bytes, "the line fits its reservation");
        let inner = self.inner;
        inner.redacted.fetch_add(redacted, Relaxed);
        let wake = {
            let mut p = lock(&inner.pending);
            if !line.is_empty() {
                p.buf.reserve(line.len() + 1);
                p.buf.extend_from_slice(line.as_bytes());
                p.buf.push(b'\n');
                p.items.push(items);
            }
            p.buf.len() >= inner.wake_at()
        };
        // Drop gives the reservation back now that the line holds its bytes.
        drop(self);
        if wake {
            inner.wake.notify_one();
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut p = lock(&self.inner.pending);
        p.reserved -= self.bytes;
        drop(p);
        self.inner.room.notify_all();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        lock(&self.inner.pending).stop = true;
        self.inner.wake.notify_one();
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.join();
        }
        // In case the thread died: whatever is left is written here.
        let _ = self.inner.write_pending();
    }
}

impl Inner {
    /// Committed bytes that wake the writer before its tick: early enough that a small queue
    /// never fills while the writer sleeps.
    fn wake_at(&self) -> usize {
        WAKE_AT.min(self.max_queued / 4).max(1)
    }

    fn run(&self) {
        loop {
            let stop = {
                let mut p = lock(&self.pending);
                if !p.stop && p.buf.len() < self.wake_at() {
                    p = self
                        .wake
                        .wait_timeout(p, FLUSH_EVERY)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                p.stop
            };
            let _ = self.write_pending();
            if stop {
                return;
            }
        }
    }

    /// Counts `lost` lines, reports the first error and refuses from now on.
    fn failed(&self, out: &mut Output, e: &io::Error, lost: u64) {
        out.items.drain(..(lost as usize).min(out.items.len()));
        self.write_errors.fetch_add(lost, Relaxed);
        self.failed.store(true, Relaxed);
        if !self.reported.swap(true, Relaxed) {
            crate::log!(
                "recording to {}: {e} (lines lost; refusing every request from now on, as what \
                 is accepted must be recorded; further errors are only counted)",
                self.path.display()
            );
        }
    }

    /// Counts `n` lines written, and what they hold.
    fn written(&self, out: &mut Output, n: u64, bytes: u64) {
        use crate::ingest::capture::Signal;
        self.lines.fetch_add(n, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
        for (signal, items) in out.items.drain(..(n as usize).min(out.items.len())) {
            let counter = match signal {
                Signal::Traces => &self.spans,
                Signal::Logs => &self.logs,
                Signal::Metrics => &self.data_points,
            };
            counter.fetch_add(items, Relaxed);
        }
    }

    /// Takes the buffer and writes it, holding the output so batches stay in append order. The
    /// bytes stay counted in the queue until written, so the queue's bound holds them too.
    fn write_pending(&self) -> io::Result<()> {
        let mut guard = lock(&self.out);
        let out = &mut *guard;
        let mut data = std::mem::take(&mut out.spare);
        data.clear();
        {
            let mut p = lock(&self.pending);
            std::mem::swap(&mut p.buf, &mut data);
            out.items.extend(p.items.drain(..));
            p.writing = data.len();
        }
        let result = if data.is_empty() {
            Ok(())
        } else {
            self.write_out(out, &data)
        };
        {
            let mut p = lock(&self.pending);
            p.writing = 0;
            if p.queued() <= self.max_queued / 2 {
                self.behind.store(false, Relaxed);
            }
        }
        self.room.notify_all();
        if data.capacity() > 4 * WAKE_AT {
            data = Vec::new();
        }
        out.spare = data;
        result
    }

    /// Writes whole lines, starting the next file whenever the current one would pass the limit.
    fn write_out(&self, out: &mut Output, mut data: &[u8]) -> io::Result<()> {
        let mut first_error = None;
        while !data.is_empty() {
            let fits = match self.max_bytes {
                None => data.len(),
                Some(max) => {
                    let room = max.saturating_sub(out.size).min(data.len() as u64) as usize;
                    if room == data.len() {
                        room
                    } else if let Some(end) = data[..room].iter().rposition(|&b| b == b'\n') {
                        end + 1
                    } else if out.size == 0 {
                        // A line longer than the limit: alone in an empty file.
                        data.iter()
                            .position(|&b| b == b'\n')
                            .map_or(data.len(), |end| end + 1)
                    } else {
                        0
                    }
                }
            };
            if fits == 0 {
                if let Err(e) = self.rotate(out) {
                    // Retried at the next write; until then, lines have nowhere to go.
                    self.failed(out, &e, count_lines(data));
                    return Err(e);
                }
                continue;
            }
            let (chunk, rest) = data.split_at(fits);
            if let Err(e) = self.write_chunk(out, chunk) {
                first_error.get_or_insert(e);
            }
            data = rest;
        }
        first_error.map_or(Ok(()), Err)
    }

    fn rotate(&self, out: &mut Output) -> io::Result<()> {
        let index = out.index + 1;
        let (file, size, mid_line) = open_append(&numbered(&self.path, index))?;
        *out = Output {
            file,
            index,
            size,
            mid_line,
            spare: std::mem::take(&mut out.spare),
            items: std::mem::take(&mut out.items),
        };
        self.files.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Writes whole lines; on failure counts the lines not fully written as lost, and remembers
    /// whether the file now ends inside a line.
    fn write_chunk(&self, out: &mut Output, chunk: &[u8]) -> io::Result<()> {
        if out.mid_line {
            if let Err(e) = out.file.write_all(b"\n") {
                self.failed(out, &e, count_lines(chunk));
                return Err(e);
            }
            out.size += 1;
            out.mid_line = false;
        }
        let mut written = 0;
        while written < chunk.len() {
            match out.file.write(&chunk[written..]) {
                Ok(0) => {
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    return Err(self.chunk_failed(out, chunk, written, e));
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.chunk_failed(out, chunk, written, e)),
            }
        }
        out.size += chunk.len() as u64;
        self.written(out, count_lines(chunk), chunk.len() as u64);
        Ok(())
    }

    fn chunk_failed(&self, out: &mut Output, chunk: &[u8], written: usize, e: io::Error) -> io::Error {
        let (done, lost) = chunk.split_at(written);
        let whole = match done.iter().rposition(|&b| b == b'\n') {
            Some(end) => end + 1,
            None => 0,
        };
        out.size += written as u64;
        out.mid_line = whole < written;
        self.written(out, count_lines(done), whole as u64);
        self.failed(out, &e, count_lines(lost));
        e
    }
}

/// `path` for 0, `path.N` otherwise.
fn numbered(path: &Path, index: u64) -> PathBuf {
    if index == 0 {
        return path.to_path_buf();
    }
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// The highest N for which `path.N` exists (0 if none): where an earlier capture stopped.
fn last_index(path: &Path) -> io::Result<u64> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file name", path.display()),
        ));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0); // Opening the file will say what is wrong.
    };
    let prefix = format!("{name}.");
    Ok(entries
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name();
            let digits = n.to_str()?.strip_prefix(&prefix)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0))
}

/// Opens for appending; returns the file, its length and whether it ends inside a line.
fn open_append(path: &Path) -> io::Result<(File, u64, bool)> {
    let file = OpenOptions::new().append(true).create(true).open(path)?;
    let size = file.metadata()?.len();
    let mid_line = size > 0
        && File::open(path)
            .and_then(|mut f| {
                f.seek(SeekFrom::End(-1))?;
                let mut last = [0u8];
                f.read_exact(&mut last)?;
                Ok(last[0] != b'\n')
            })
            .unwrap_or(false);
    Ok((file, size, mid_line))
}

// ---- encoding ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Traces<'a> {
    resource_spans: Vec<Cow<'a, ResourceSpans>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Logs<'a> {
    resource_logs: Vec<Cow<'a, ResourceLogs>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metrics<'a> {
    resource_metrics: Vec<Cow<'a, ResourceMetrics>>,
}

/// Compact JSON; empty if serialization fails (it cannot for these types), which `append` skips.
fn to_line<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::with_capacity(1024);
    let mut ser = serde_json::Serializer::new(&mut buf);
    if value.serialize(Finite(&mut ser)).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

// ---- redaction ----

/// Whether the key itself looks like a credential (then any value of it is one), remembered per
/// thread: `redact` splits the key into words each time, which costs more than encoding the span.
fn is_secret_key(key: &str) -> bool {
    const MAX_KEYS: usize = 4096;
    thread_local! {
        static KEYS: std::cell::RefCell<foldhash::HashMap<Box<str>, bool>> = Default::default();
    }
    KEYS.with_borrow_mut(|keys| {
        if let Some(&secret) = keys.get(key) {
            return secret;
        }
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        let secret = redact(key, "").is_some();
        keys.insert(key.into(), secret);
        secret
    })
}

/// `redact(key, value)`, with the dict parsing asked only when the answer can depend on it: a
/// value is judged as a dict only when it holds a `{`; otherwise the key decides
/// (`redact_depends_on_the_key_unless_the_value_is_a_dict` keeps this honest), then the scan
/// for secret shapes, which allocates nothing when there is none.
fn redacted_string(key: &str, value: &str) -> Option<String> {
    if value == REDACTED {
        return None;
    }
    if value.contains('{') || is_secret_key(key) {
        return redact(key, value);
    }
    secrets::redact_secrets(value)
}

/// Whether [`redact_value`] would change anything. Strings are checked with their key; bytes
/// under a credential key count as secret; array items take the array's key; map entries take
/// their own key, or the map's key when that one is a credential (everything under it is).
fn value_needs_redaction(key: &str, v: &AnyValue) -> bool {
    match &v.value {
        Some(Value::StringValue(s)) => redacted_string(key, s).is_some(),
        Some(Value::BytesValue(b)) => !b.is_empty() && is_secret_key(key),
        Some(Value::ArrayValue(a)) => a.values.iter().any(|v| value_needs_redaction(key, v)),
        Some(Value::KvlistValue(kv)) => {
            let secret = is_secret_key(key);
            kv.values.iter().any(|e| {
                let k = if secret { key } else { &e.key };
                e.value.as_ref().is_some_and(|v| value_needs_redaction(k, v))
            })
        }
        _ => false,
    }
}

/// Replaces what [`value_needs_redaction`] finds; returns how many values it replaced.
fn redact_value(key: &str, v: &mut AnyValue) -> u64 {
    match &mut v.value {
        Some(Value::StringValue(s)) => match redacted_string(key, s) {
            Some(r) => {
                *s = r;
                1
            }
            None => 0,
        },
        Some(Value::BytesValue(b)) => {
            if b.is_empty() || !is_secret_key(key) {
                return 0;
            }
            v.value = Some(Value::StringValue(REDACTED.to_string()));
            1
        }
        Some(Value::ArrayValue(a)) => a.values.iter_mut().map(|v| redact_value(key, v)).sum(),
        Some(Value::KvlistValue(kv)) => {
            let secret = is_secret_key(key);
            kv.values
                .iter_mut()
                .map(|e| {
                    let k = if secret { key } else { &e.key };
                    e.value.as_mut().map_or(0, |v| redact_value(k, v))
                })
                .sum()
        }
        _ => 0,
    }
}

fn attrs_need_redaction(attrs: &[KeyValue]) -> bool {
    attrs.iter().any(|kv| {
        kv.value
            .as_ref()
            .is_some_and(|v| value_needs_redaction(&kv.key, v))
    })
}

fn redact_attrs(attrs: &mut [KeyValue]) -> u64 {
    attrs
        .iter_mut()
        .map(|kv| kv.value.as_mut().map_or(0, |v| redact_value(&kv.key, v)))
        .sum()
}

fn resource_needs_redaction(r: &Option<Resource>) -> bool {
    r.as_ref().is_some_and(|r| attrs_need_redaction(&r.attributes))
}

fn redact_resource(r: &mut Option<Resource>) -> u64 {
    r.as_mut().map_or(0, |r| redact_attrs(&mut r.attributes))
}

fn scope_needs_redaction(s: &Option<InstrumentationScope>) -> bool {
    s.as_ref().is_some_and(|s| attrs_need_redaction(&s.attributes))
}

fn redact_scope(s: &mut Option<InstrumentationScope>) -> u64 {
    s.as_mut().map_or(0, |s| redact_attrs(&mut s.attributes))
}

fn span_needs_redaction(s: &Span) -> bool {
    attrs_need_redaction(&s.attributes)
        || s.events.iter().any(|e| attrs_need_redaction(&e.attributes))
        || s.links.iter().any(|l| attrs_need_redaction(&l.attributes))
}

fn redact_span(s: &mut Span) -> u64 {
    redact_attrs(&mut s.attributes)
        + s.events
            .iter_mut()
            .map(|e| redact_attrs(&mut e.attributes))
            .sum::<u64>()
        + s.links
            .iter_mut()
            .map(|l| redact_attrs(&mut l.attributes))
            .sum::<u64>()
}

fn spans_need_redaction(rs: &ResourceSpans) -> bool {
    resource_needs_redaction(&rs.resource)
        || rs
            .scope_spans
            .iter()
            .any(|ss| scope_needs_redaction(&ss.scope) || ss.spans.iter().any(span_needs_redaction))
}

fn redact_spans(rs: &mut ResourceSpans) -> u64 {
    redact_resource(&mut rs.resource)
        + rs.scope_spans
            .iter_mut()
            .map(|ss| redact_scope(&mut ss.scope) + ss.spans.iter_mut().map(redact_span).sum::<u64>())
            .sum::<u64>()
}

fn logs_need_redaction(rl: &ResourceLogs) -> bool {
    resource_needs_redaction(&rl.resource)
        || rl.scope_logs.iter().any(|sl| {
            scope_needs_redaction(&sl.scope)
                || sl.log_records.iter().any(|l| {
                    attrs_need_redaction(&l.attributes)
                        || l.body.as_ref().is_some_and(|b| value_needs_redaction("body", b))
                })
        })
}

fn redact_logs(rl: &mut ResourceLogs) -> u64 {
    redact_resource(&mut rl.resource)
        + rl.scope_logs
            .iter_mut()
            .map(|sl| {
                redact_scope(&mut sl.scope)
                    + sl.log_records
                        .iter_mut()
                        .map(|l| {
                            redact_attrs(&mut l.attributes)
                                + l.body.as_mut().map_or(0, |b| redact_value("body", b))
                        })
                        .sum::<u64>()
            })
            .sum::<u64>()
}

fn exemplars_need_redaction(es: &[Exemplar]) -> bool {
    es.iter().any(|e| attrs_need_redaction(&e.filtered_attributes))
}

fn redact_exemplars(es: &mut [Exemplar]) -> u64 {
    es.iter_mut()
        .map(|e| redact_attrs(&mut e.filtered_attributes))
        .sum()
}

fn metric_needs_redaction(m: &Metric) -> bool {
    attrs_need_redaction(&m.metadata)
        || match &m.data {
            Some(Data::Gauge(g)) => g
                .data_points
                .iter()
                .any(|p| attrs_need_redaction(&p.attributes) || exemplars_need_redaction(&p.exemplars)),
            Some(Data::Sum(s)) => s
                .data_points
                .iter()
                .any(|p| attrs_need_redaction(&p.attributes) || exemplars_need_redaction(&p.exemplars)),
            Some(Data::Histogram(h)) => h
                .data_points
                .iter()
                .any(|p| attrs_need_redaction(&p.attributes) || exemplars_need_redaction(&p.exemplars)),
            Some(Data::ExponentialHistogram(h)) => h
                .data_points
                .iter()
                .any(|p| attrs_need_redaction(&p.attributes) || exemplars_need_redaction(&p.exemplars)),
            Some(Data::Summary(s)) => s.data_points.iter().any(|p| attrs_need_redaction(&p.attributes)),
            None => false,
        }
}

fn redact_metric(m: &mut Metric) -> u64 {
    redact_attrs(&mut m.metadata)
        + match &mut m.data {
            Some(Data::Gauge(g)) => g
                .data_points
                .iter_mut()
                .map(|p| redact_attrs(&mut p.attributes) + redact_exemplars(&mut p.exemplars))
                .sum(),
            Some(Data::Sum(s)) => s
                .data_points
                .iter_mut()
                .map(|p| redact_attrs(&mut p.attributes) + redact_exemplars(&mut p.exemplars))
                .sum(),
            Some(Data::Histogram(h)) => h
                .data_points
                .iter_mut()
                .map(|p| redact_attrs(&mut p.attributes) + redact_exemplars(&mut p.exemplars))
                .sum(),
            Some(Data::ExponentialHistogram(h)) => h
                .data_points
                .iter_mut()
                .map(|p| redact_attrs(&mut p.attributes) + redact_exemplars(&mut p.exemplars))
                .sum(),
            Some(Data::Summary(s)) => s
                .data_points
                .iter_mut()
                .map(|p| redact_attrs(&mut p.attributes))
                .sum(),
            None => 0,
        }
}

fn metrics_need_redaction(rm: &ResourceMetrics) -> bool {
    resource_needs_redaction(&rm.resource)
        || rm
            .scope_metrics
            .iter()
            .any(|sm| scope_needs_redaction(&sm.scope) || sm.metrics.iter().any(metric_needs_redaction))
}

fn redact_metrics(rm: &mut ResourceMetrics) -> u64 {
    redact_resource(&mut rm.resource)
        + rm.scope_metrics
            .iter_mut()
            .map(|sm| redact_scope(&mut sm.scope) + sm.metrics.iter_mut().map(redact_metric).sum::<u64>())
            .sum::<u64>()
}

// ---- non-finite doubles ----

/// A serializer that passes everything to the one it wraps, except that NaN and the infinities
/// become the strings proto3 JSON (and so OTLP/JSON) prescribes: `"NaN"`, `"Infinity"`,
/// `"-Infinity"`. serde_json would write `null`.
struct Finite<S>(S);

/// A value whose serialization goes through [`Finite`].
struct FiniteRef<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for FiniteRef<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Finite(s))
    }
}

fn special(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<Self::Ok, Self::Error> {
            self.0.$method($($arg),*)
        })*
    };
}

impl<S: serde::Serializer> serde::Serializer for Finite<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Finite<S::SerializeSeq>;
    type SerializeTuple = Finite<S::SerializeTuple>;
    type SerializeTupleStruct = Finite<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Finite<S::SerializeTupleVariant>;
    type SerializeMap = Finite<S::SerializeMap>;
    type SerializeStruct = Finite<S::SerializeStruct>;
    type SerializeStructVariant = Finite<S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        match v.is_finite() {
            true => self.0.serialize_f32(v),
            false => self.0.serialize_str(special(v.into())),
        }
    }

    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        match v.is_finite() {
            true => self.0.serialize_f64(v),
            false => self.0.serialize_str(special(v)),
        }
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&FiniteRef(v))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &FiniteRef(v))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &FiniteRef(v))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(Finite)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(Finite)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(Finite)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(Finite)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Finite)
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(Finite)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(Finite)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! compound {
    ($($trait:ident::$method:ident;)*) => {
        $(impl<S: serde::ser::$trait> serde::ser::$trait for Finite<S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), S::Error> {
                self.0.$method(&FiniteRef(v))
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.0.end()
            }
        })*
    };
}

compound! {
    SerializeSeq::serialize_element;
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

impl<S: serde::ser::SerializeMap> serde::ser::SerializeMap for Finite<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), S::Error> {
        self.0.serialize_key(&FiniteRef(k))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), S::Error> {
        self.0.serialize_value(&FiniteRef(v))
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        k: &K,
        v: &V,
    ) -> Result<(), S::Error> {
        self.0.serialize_entry(&FiniteRef(k), &FiniteRef(v))
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

macro_rules! fields {
    ($($trait:ident;)*) => {
        $(impl<S: serde::ser::$trait> serde::ser::$trait for Finite<S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), S::Error> {
                self.0.serialize_field(key, &FiniteRef(v))
            }

            fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
                self.0.skip_field(key)
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.0.end()
            }
        })*
    };
}

fields! {
    SerializeStruct;
    SerializeStructVariant;
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
    use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
    use opentelemetry_proto::tonic::metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
        NumberDataPoint, ScopeMetrics, Sum, Summary, SummaryDataPoint, exemplar, number_data_point,
    };
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Status};
    use serde_json::Value as Json;
    use std::fs;

    const TRACE_ID: [u8; 16] = [
        0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
    ];
    const SPAN_ID: [u8; 8] = [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74];
    const PARENT_ID: [u8; 8] = [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73];

    fn any(v: Value) -> AnyValue {
        AnyValue { value: Some(v) }
    }

    fn kv(key: &str, v: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(any(v)),
            ..KeyValue::default()
        }
    }

    fn s(v: &str) -> Value {
        Value::StringValue(v.into())
    }

    fn kvlist(entries: Vec<KeyValue>) -> Value {
        Value::KvlistValue(KeyValueList { values: entries })
    }

    /// Doubles that serde_json's default (not `float_roundtrip`) parser happens to read back
    /// exactly (123456789.12345679 for one does not); see `doubles_are_written_exactly`.
    const EXACT_DOUBLES: [f64; 11] = [
        0.1,
        0.30000000000000004,
        1e-7,
        2.225_073_858_507_201_4e-308,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        9_007_199_254_740_992.0,
        -0.0,
        0.333_333_333_333_333_3,
        std::f64::consts::SQRT_2,
    ];

    /// Pseudo-random doubles: computed values like 962.6169236606465, and arbitrary bit patterns.
    fn hard_doubles() -> Vec<f64> {
        let mut v = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        while v.len() < 2000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let d = match v.len() % 2 {
                0 => (x >> 11) as f64 / (1u64 << 53) as f64 * 1000.0,
                _ => f64::from_bits(x),
            };
            if d.is_finite() {
                v.push(d);
            }
        }
        v
    }

    fn span() -> Span {
        Span {
            trace_id: TRACE_ID.to_vec(),
            span_id: SPAN_ID.to_vec(),
            parent_span_id: PARENT_ID.to_vec(),
            trace_state: "k=v".into(),
            flags: 257,
            name: "chat gpt-4o".into(),
            kind: 3,
            start_time_unix_nano: 1_544_712_660_000_000_000,
            end_time_unix_nano: 1_544_712_661_000_000_000,
            attributes: vec![
                kv("gen_ai.request.model", s("gpt-4o")),
                kv("gen_ai.usage.input_tokens", Value::IntValue(42)),
                kv("big", Value::IntValue(i64::MIN)),
                kv("ratio", Value::DoubleValue(0.5)),
                kv("stream", Value::BoolValue(true)),
                kv("blob", Value::BytesValue(vec![0, 1, 2, 255])),
                kv(
                    "list",
                    Value::ArrayValue(ArrayValue {
                        values: vec![any(s("a")), any(Value::IntValue(7))],
                    }),
                ),
                kv("map", kvlist(vec![kv("inner", Value::DoubleValue(1.25))])),
                kv(
                    "doubles",
                    Value::ArrayValue(ArrayValue {
                        values: EXACT_DOUBLES
                            .iter()
                            .map(|&d| any(Value::DoubleValue(d)))
                            .collect(),
                    }),
                ),
                KeyValue {
                    key: "no value".into(),
                    value: None,
                    ..KeyValue::default()
                },
                kv("empty value", Value::StringValue(String::new())),
            ],
            dropped_attributes_count: 1,
            events: vec![Event {
                time_unix_nano: 1_544_712_660_500_000_000,
                name: "gen_ai.content.prompt".into(),
                attributes: vec![kv("gen_ai.prompt", s("hello"))],
                dropped_attributes_count: 0,
            }],
            dropped_events_count: 2,
            links: vec![Link {
                trace_id: TRACE_ID.to_vec(),
                span_id: PARENT_ID.to_vec(),
                trace_state: String::new(),
                attributes: vec![kv("link.kind", s("retry"))],
                dropped_attributes_count: 0,
                flags: 1,
            }],
            dropped_links_count: 0,
            status: Some(Status {
                message: "boom".into(),
                code: 2,
            }),
        }
    }

    fn traces() -> ExportTraceServiceRequest {
        let mut root = span();
        root.parent_span_id.clear();
        root.status = None;
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s("agent"))],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "openllmetry".into(),
                        version: "0.40".into(),
                        attributes: vec![kv("scope.attr", s("x"))],
                        dropped_attributes_count: 0,
                    }),
                    spans: vec![span(), root],
                    schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    fn logs() -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s("agent"))],
                    ..Resource::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: None,
                    log_records: vec![
                        LogRecord {
                            time_unix_nano: 1_700_000_000_000_000_001,
                            observed_time_unix_nano: 1_700_000_000_000_000_002,
                            severity_number: 17,
                            severity_text: "ERROR".into(),
                            body: Some(any(s("it failed"))),
                            attributes: vec![kv("gen_ai.evaluation.score.value", Value::DoubleValue(0.25))],
                            dropped_attributes_count: 0,
                            flags: 1,
                            trace_id: TRACE_ID.to_vec(),
                            span_id: SPAN_ID.to_vec(),
                            event_name: "gen_ai.evaluation.result".into(),
                        },
                        LogRecord {
                            body: Some(any(kvlist(vec![kv("msg", s("hi")), kv("n", Value::IntValue(3))]))),
                            ..LogRecord::default()
                        },
                    ],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    fn metrics() -> ExportMetricsServiceRequest {
        let attrs = vec![kv("gen_ai.request.model", s("gpt-4o"))];
        let exemplar = Exemplar {
            filtered_attributes: vec![kv("route", s("/chat"))],
            time_unix_nano: 5,
            span_id: SPAN_ID.to_vec(),
            trace_id: TRACE_ID.to_vec(),
            value: Some(exemplar::Value::AsDouble(0.75)),
        };
        let metric = |name: &str, data: Data| Metric {
            name: name.into(),
            description: "d".into(),
            unit: "s".into(),
            metadata: Vec::new(),
            data: Some(data),
        };
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource::default()),
                scope_metrics: vec![ScopeMetrics {
                    scope: None,
                    metrics: vec![
                        metric(
                            "gauge",
                            Data::Gauge(Gauge {
                                data_points: vec![NumberDataPoint {
                                    attributes: attrs.clone(),
                                    start_time_unix_nano: 1,
                                    time_unix_nano: 2,
                                    exemplars: vec![exemplar.clone()],
                                    flags: 0,
                                    value: Some(number_data_point::Value::AsInt(-7)),
                                }],
                            }),
                        ),
                        metric(
                            "sum",
                            Data::Sum(Sum {
                                data_points: vec![NumberDataPoint {
                                    attributes: attrs.clone(),
                                    value: Some(number_data_point::Value::AsDouble(12.5)),
                                    ..NumberDataPoint::default()
                                }],
                                aggregation_temporality: 2,
                                is_monotonic: true,
                            }),
                        ),
                        metric(
                            "histogram",
                            Data::Histogram(Histogram {
                                data_points: vec![HistogramDataPoint {
                                    attributes: attrs.clone(),
                                    start_time_unix_nano: 1,
                                    time_unix_nano: 2,
                                    count: 3,
                                    sum: Some(4.5),
                                    bucket_counts: vec![1, 2, 0],
                                    explicit_bounds: vec![0.25, 2.5, 1e3],
                                    exemplars: vec![exemplar],
                                    flags: 0,
                                    min: Some(0.5),
                                    max: None,
                                }],
                                aggregation_temporality: 1,
                            }),
                        ),
                        metric(
                            "exponential",
                            Data::ExponentialHistogram(ExponentialHistogram {
                                data_points: vec![ExponentialHistogramDataPoint {
                                    count: 4,
                                    scale: -2,
                                    zero_count: 1,
                                    positive: Some(Buckets {
                                        offset: -1,
                                        bucket_counts: vec![2, u64::MAX],
                                    }),
                                    ..ExponentialHistogramDataPoint::default()
                                }],
                                aggregation_temporality: 2,
                            }),
                        ),
                        metric(
                            "summary",
                            Data::Summary(Summary {
                                data_points: vec![SummaryDataPoint {
                                    count: 10,
                                    sum: 2.5,
                                    quantile_values: vec![ValueAtQuantile {
                                        quantile: 0.99,
                                        value: 1.5,
                                    }],
                                    ..SummaryDataPoint::default()
                                }],
                            }),
                        ),
                    ],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    fn path_of<'a>(j: &'a Json, path: &str) -> &'a Json {
        path.split('/').fold(j, |j, step| match step.parse::<usize>() {
            Ok(i) => &j[i],
            Err(_) => &j[step],
        })
    }

    /// Every object key in the document is lowerCamelCase (attribute keys are values, not keys).
    fn assert_camel_keys(j: &Json) {
        match j {
            Json::Object(o) => {
                for (k, v) in o {
                    let mut chars = k.chars();
                    assert!(
                        chars.next().is_some_and(|c| c.is_ascii_lowercase())
                            && chars.all(|c| c.is_ascii_alphanumeric()),
                        "key {k:?} is not lowerCamelCase"
                    );
                    assert_camel_keys(v);
                }
            }
            Json::Array(a) => a.iter().for_each(assert_camel_keys),
            _ => {}
        }
    }

    #[test]
    fn traces_are_otlp_json() {
        let (line, redacted) = Recorder::encode_traces(&traces());
        assert_eq!(redacted, 0);
        assert!(!line.contains('\n'));
        let j: Json = serde_json::from_str(&line).unwrap();
        assert_camel_keys(&j);
        let sp = path_of(&j, "resourceSpans/0/scopeSpans/0/spans/0");
        // Ids are lowercase hex, not base64 as proto3 JSON would have bytes.
        assert_eq!(sp["traceId"], "5b8efff798038103d269b633813fc60c");
        assert_eq!(sp["spanId"], "eee19b7ec3c1b174");
        assert_eq!(sp["parentSpanId"], "eee19b7ec3c1b173");
        assert_eq!(
            path_of(&j, "resourceSpans/0/scopeSpans/0/spans/1/parentSpanId"),
            ""
        );
        assert_eq!(path_of(sp, "links/0/spanId"), "eee19b7ec3c1b173");
        // Enums are integers; (u)int64 and fixed64 are strings; uint32 and fixed32 are numbers.
        assert_eq!(sp["kind"], 3);
        assert_eq!(path_of(sp, "status/code"), 2);
        assert_eq!(sp["startTimeUnixNano"], "1544712660000000000");
        assert_eq!(path_of(sp, "events/0/timeUnixNano"), "1544712660500000000");
        assert_eq!(sp["flags"], 257);
        assert_eq!(sp["droppedAttributesCount"], 1);
        assert_eq!(sp["droppedEventsCount"], 2);
        let attr = |key: &str| {
            sp["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == key)
                .unwrap_or_else(|| panic!("{key}"))["value"]
                .clone()
        };
        assert_eq!(
            attr("gen_ai.request.model"),
            serde_json::json!({"stringValue": "gpt-4o"})
        );
        assert_eq!(
            attr("gen_ai.usage.input_tokens"),
            serde_json::json!({"intValue": "42"})
        );
        assert_eq!(
            attr("big"),
            serde_json::json!({"intValue": "-9223372036854775808"})
        );
        assert_eq!(attr("ratio"), serde_json::json!({"doubleValue": 0.5}));
        assert_eq!(attr("stream"), serde_json::json!({"boolValue": true}));
        // Bytes in AnyValue are standard base64 with padding.
        assert_eq!(attr("blob"), serde_json::json!({"bytesValue": "AAEC/w=="}));
        assert_eq!(
            attr("list"),
            serde_json::json!({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "7"}]}})
        );
        assert_eq!(
            attr("map"),
            serde_json::json!({"kvlistValue": {"values": [{"key": "inner", "value": {"doubleValue": 1.25}}]}})
        );
        // What the crate writes for absent things: `null` for a missing message, empty strings.
        assert_eq!(attr("no value"), Json::Null);
        assert_eq!(attr("empty value"), serde_json::json!({"stringValue": ""}));
        assert_eq!(
            path_of(&j, "resourceSpans/0/scopeSpans/0/spans/1/status"),
            &Json::Null
        );
        // The raw text, as a replayer or the Collector sees it.
        assert!(line.starts_with(r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"agent"}}]"#), "{line}");
        assert!(line.contains(r#""traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174""#));
        assert!(line.contains(r#""kind":3,"startTimeUnixNano":"1544712660000000000""#));
        assert!(line.contains(r#"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"42"}}"#));
        assert!(!line.contains('_') || !line.contains("\"scope_spans\""));
    }

    #[test]
    fn logs_and_metrics_are_otlp_json() {
        let (line, _) = Recorder::encode_logs(&logs());
        let j: Json = serde_json::from_str(&line).unwrap();
        assert_camel_keys(&j);
        let log = path_of(&j, "resourceLogs/0/scopeLogs/0/logRecords/0");
        assert_eq!(log["timeUnixNano"], "1700000000000000001");
        assert_eq!(log["observedTimeUnixNano"], "1700000000000000002");
        assert_eq!(log["severityNumber"], 17);
        assert_eq!(log["traceId"], "5b8efff798038103d269b633813fc60c");
        assert_eq!(log["spanId"], "eee19b7ec3c1b174");
        assert_eq!(log["eventName"], "gen_ai.evaluation.result");
        assert_eq!(log["body"], serde_json::json!({"stringValue": "it failed"}));

        let (line, _) = Recorder::encode_metrics(&metrics());
        let j: Json = serde_json::from_str(&line).unwrap();
        assert_camel_keys(&j);
        let m = path_of(&j, "resourceMetrics/0/scopeMetrics/0/metrics");
        let gauge = path_of(m, "0/gauge/dataPoints/0");
        assert_eq!(gauge["asInt"], "-7");
        assert_eq!(gauge["timeUnixNano"], "2");
        assert_eq!(path_of(gauge, "exemplars/0/spanId"), "eee19b7ec3c1b174");
        assert_eq!(path_of(gauge, "exemplars/0/asDouble"), 0.75);
        assert_eq!(path_of(m, "1/sum/dataPoints/0/asDouble"), 12.5);
        assert_eq!(path_of(m, "1/sum/aggregationTemporality"), 2);
        assert_eq!(path_of(m, "1/sum/isMonotonic"), true);
        let h = path_of(m, "2/histogram/dataPoints/0");
        assert_eq!(h["count"], "3");
        assert_eq!(h["bucketCounts"], serde_json::json!(["1", "2", "0"]));
        assert_eq!(h["sum"], 4.5);
        assert_eq!(h["max"], Json::Null);
        let e = path_of(m, "3/exponentialHistogram/dataPoints/0");
        assert_eq!(e["zeroCount"], "1");
        assert_eq!(e["scale"], -2);
        assert_eq!(
            path_of(e, "positive/bucketCounts"),
            &serde_json::json!(["2", "18446744073709551615"])
        );
        assert_eq!(
            path_of(m, "4/summary/dataPoints/0/quantileValues/0/quantile"),
            0.99
        );
    }

    #[test]
    fn lines_read_back_as_the_same_requests() {
        let t = traces();
        let (line, _) = Recorder::encode_traces(&t);
        assert_eq!(
            serde_json::from_str::<ExportTraceServiceRequest>(&line).unwrap(),
            t
        );
        // Without secrets the line is exactly what the crate's own Serialize writes.
        assert_eq!(line, serde_json::to_string(&t).unwrap());

        let l = logs();
        let (line, _) = Recorder::encode_logs(&l);
        assert_eq!(
            serde_json::from_str::<ExportLogsServiceRequest>(&line).unwrap(),
            l
        );
        assert_eq!(line, serde_json::to_string(&l).unwrap());

        let m = metrics();
        let (line, _) = Recorder::encode_metrics(&m);
        assert_eq!(
            serde_json::from_str::<ExportMetricsServiceRequest>(&line).unwrap(),
            m
        );
        assert_eq!(line, serde_json::to_string(&m).unwrap());

        // Empty requests too.
        let (line, _) = Recorder::encode_traces(&ExportTraceServiceRequest::default());
        assert_eq!(line, r#"{"resourceSpans":[]}"#);
    }

    /// The writer is exact (shortest round-trip text); reading back exactly needs a correct
    /// parser: std's is, serde_json's is only with its `float_roundtrip` feature (without it
    /// about one computed double in ten comes back one ulp off).
    #[test]
    fn doubles_are_written_exactly() {
        let doubles = hard_doubles();
        let mut t = traces();
        t.resource_spans[0].scope_spans[0].spans.truncate(1);
        t.resource_spans[0].scope_spans[0].spans[0].attributes =
            doubles.iter().map(|&d| kv("d", Value::DoubleValue(d))).collect();
        let (line, _) = Recorder::encode_traces(&t);
        let texts: Vec<&str> = line
            .split(r#"{"doubleValue":"#)
            .skip(1)
            .map(|rest| &rest[..rest.find('}').unwrap()])
            .collect();
        assert_eq!(texts.len(), doubles.len());
        for (text, d) in texts.iter().zip(&doubles) {
            assert_eq!(text.parse::<f64>().unwrap().to_bits(), d.to_bits(), "{text}");
        }
    }

    #[test]
    fn non_finite_doubles_are_written_as_proto3_json_strings() {
        let mut t = traces();
        t.resource_spans[0].scope_spans[0].spans[0].attributes = vec![
            kv("nan", Value::DoubleValue(f64::NAN)),
            kv("inf", Value::DoubleValue(f64::INFINITY)),
            kv("-inf", Value::DoubleValue(f64::NEG_INFINITY)),
        ];
        let (line, _) = Recorder::encode_traces(&t);
        assert!(
            line.contains(r#"{"key":"nan","value":{"doubleValue":"NaN"}}"#),
            "{line}"
        );
        assert!(line.contains(r#"{"key":"inf","value":{"doubleValue":"Infinity"}}"#));
        assert!(line.contains(r#"{"key":"-inf","value":{"doubleValue":"-Infinity"}}"#));
        // serde_json alone writes null here.
        assert!(
            serde_json::to_string(&t)
                .unwrap()
                .contains(r#"{"key":"nan","value":{"doubleValue":null}}"#)
        );

        let mut m = metrics();
        let sm = &mut m.resource_metrics[0].scope_metrics[0];
        let Some(Data::Sum(sum)) = &mut sm.metrics[1].data else {
            panic!()
        };
        sum.data_points[0].value = Some(number_data_point::Value::AsDouble(f64::NAN));
        let Some(Data::Histogram(h)) = &mut sm.metrics[2].data else {
            panic!()
        };
        h.data_points[0].explicit_bounds = vec![1.0, f64::INFINITY];
        h.data_points[0].max = Some(f64::NEG_INFINITY);
        let Some(Data::Summary(summary)) = &mut sm.metrics[4].data else {
            panic!()
        };
        summary.data_points[0].quantile_values[0].value = f64::NAN;
        let (line, _) = Recorder::encode_metrics(&m);
        let j: Json = serde_json::from_str(&line).unwrap();
        let ms = path_of(&j, "resourceMetrics/0/scopeMetrics/0/metrics");
        assert_eq!(path_of(ms, "1/sum/dataPoints/0/asDouble"), "NaN");
        assert_eq!(
            path_of(ms, "2/histogram/dataPoints/0/explicitBounds"),
            &serde_json::json!([1.0, "Infinity"])
        );
        assert_eq!(path_of(ms, "2/histogram/dataPoints/0/max"), "-Infinity");
        assert_eq!(
            path_of(ms, "4/summary/dataPoints/0/quantileValues/0/value"),
            "NaN"
        );
    }

    fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> &'a Value {
        attrs
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref()?.value.as_ref())
            .unwrap_or_else(|| panic!("no {key}"))
    }

    fn redacted() -> Value {
        s(REDACTED)
    }

    #[test]
    fn credentials_are_redacted_and_counted() {
        let headers = "{'Content-Type': 'application/json', 'Authorization': 'Bearer sk-proj-abc123'}";
        let mut t = traces();
        let clean = t.resource_spans[0].clone();
        let mut dirty = clean.clone();
        dirty
            .resource
            .as_mut()
            .unwrap()
            .attributes
            .push(kv("db.password", s("hunter2")));
        let sp = &mut dirty.scope_spans[0].spans[0];
        sp.attributes.extend([
            kv("gen_ai.headers", s(headers)),
            kv("authorization", s("Bearer sk-live-xyz")),
            kv(
                "http.request.headers",
                kvlist(vec![
                    kv("authorization", s("Basic dXNlcjpwdw==")),
                    kv("accept", s("*/*")),
                ]),
            ),
            kv("api_key", Value::BytesValue(b"sk-bytes".to_vec())),
            kv(
                "credentials",
                kvlist(vec![kv("user", s("u1")), kv("port", Value::IntValue(5))]),
            ),
            kv(
                "x-api-key",
                Value::ArrayValue(ArrayValue {
                    values: vec![any(s("k1")), any(s("k2"))],
                }),
            ),
            kv("max_token", Value::IntValue(9)),
            kv("already", s(REDACTED)),
        ]);
        sp.events[0].attributes.push(kv("access_token", s("tok-1")));
        sp.links[0].attributes.push(kv("client_secret", s("cs-1")));
        t.resource_spans = vec![clean.clone(), dirty];

        assert!(!spans_need_redaction(&clean));
        assert!(spans_need_redaction(&t.resource_spans[1]));
        let (line, n) = Recorder::encode_traces(&t);
        // resource 1, headers 1, authorization 1, nested header 1, bytes 1, credentials.user 1,
        // two array items, event 1, link 1.
        assert_eq!(n, 10);
        for secret in [
            "sk-proj-abc123",
            "sk-live-xyz",
            "dXNlcjpwdw",
            "hunter2",
            "u1",
            "k1",
            "k2",
            "tok-1",
            "cs-1",
        ] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
        let back: ExportTraceServiceRequest = serde_json::from_str(&line).unwrap();
        assert_eq!(
            back.resource_spans[0], clean,
            "a resource without secrets is untouched"
        );
        let rs = &back.resource_spans[1];
        assert_eq!(
            attr(&rs.resource.as_ref().unwrap().attributes, "db.password"),
            &redacted()
        );
        let sp = &rs.scope_spans[0].spans[0];
        let a = &sp.attributes;
        assert_eq!(attr(a, "gen_ai.headers"), &redacted());
        assert_eq!(attr(a, "authorization"), &redacted());
        assert_eq!(
            attr(a, "http.request.headers"),
            &kvlist(vec![kv("authorization", redacted()), kv("accept", s("*/*"))])
        );
        assert_eq!(attr(a, "api_key"), &redacted());
        assert_eq!(
            attr(a, "credentials"),
            &kvlist(vec![kv("user", redacted()), kv("port", Value::IntValue(5))])
        );
        assert_eq!(
            attr(a, "x-api-key"),
            &Value::ArrayValue(ArrayValue {
                values: vec![any(redacted()), any(redacted())]
            })
        );
        // Numbers are never secrets; ordinary values stay.
        assert_eq!(attr(a, "max_token"), &Value::IntValue(9));
        assert_eq!(attr(a, "gen_ai.request.model"), &s("gpt-4o"));
        assert_eq!(attr(a, "blob"), &Value::BytesValue(vec![0, 1, 2, 255]));
        assert_eq!(attr(&sp.events[0].attributes, "access_token"), &redacted());
        assert_eq!(attr(&sp.events[0].attributes, "gen_ai.prompt"), &s("hello"));
        assert_eq!(attr(&sp.links[0].attributes, "client_secret"), &redacted());
        // Re-recording a recording redacts nothing more.
        assert_eq!(Recorder::encode_traces(&back), (line, 0));
    }

    #[test]
    fn log_bodies_and_metric_attributes_are_redacted() {
        let mut l = logs();
        let records = &mut l.resource_logs[0].scope_logs[0].log_records;
        records[0].body = Some(any(s(r#"{"api_key": "sk-1", "model": "m"}"#)));
        records[0].attributes.push(kv("cookie", s("session=abc")));
        records[1].body = Some(any(kvlist(vec![kv("password", s("pw")), kv("msg", s("hi"))])));
        let (line, n) = Recorder::encode_logs(&l);
        assert_eq!(n, 3);
        let back: ExportLogsServiceRequest = serde_json::from_str(&line).unwrap();
        let records = &back.resource_logs[0].scope_logs[0].log_records;
        assert_eq!(records[0].body, Some(any(redacted())));
        assert_eq!(attr(&records[0].attributes, "cookie"), &redacted());
        assert_eq!(
            records[1].body,
            Some(any(kvlist(vec![kv("password", redacted()), kv("msg", s("hi"))])))
        );

        let mut m = metrics();
        let sm = &mut m.resource_metrics[0].scope_metrics[0];
        let Some(Data::Histogram(h)) = &mut sm.metrics[2].data else {
            panic!()
        };
        h.data_points[0]
            .attributes
            .push(kv("authorization", s("Bearer m")));
        h.data_points[0].exemplars[0]
            .filtered_attributes
            .push(kv("x-api-key", s("e")));
        sm.metrics[0].metadata.push(kv("secret", s("meta")));
        let (line, n) = Recorder::encode_metrics(&m);
        assert_eq!(n, 3);
        assert!(!line.contains("Bearer m") && !line.contains("meta\""), "{line}");
        let (_, n) = Recorder::encode_metrics(&metrics());
        assert_eq!(n, 0);
    }

    #[test]
    fn redact_depends_on_the_key_unless_the_value_is_a_dict() {
        // The shortcut in `redacted_string` holds only while this does.
        let keys = [
            "authorization",
            "gen_ai.headers",
            "http.request.header.x-api-key",
            "api_key",
            "access_token",
            "gen_ai.usage.input_tokens",
            "input.value",
            "gen_ai.prompt.0.content",
            "llm.invocation_parameters",
            "session.id",
            "",
        ];
        let values = [
            "",
            "Bearer sk-proj-abc123",
            "sk-ant-api03-xyz",
            "token",
            "'authorization': 'x'",
            "Headers(['cookie'])",
            "[redacted]",
            "plain words about a password",
        ];
        for key in keys {
            for value in values {
                assert_eq!(redact(key, value), redact(key, ""), "{key:?} = {value:?}");
                assert_eq!(
                    redacted_string(key, value),
                    redact(key, value).filter(|_| value != REDACTED)
                );
            }
            for value in [
                r#"{"api_key": "sk-1"}"#,
                "{'Authorization': 'Bearer x'}",
                "{'a': 1}",
                "{",
            ] {
                assert_eq!(
                    redacted_string(key, value),
                    redact(key, value),
                    "{key:?} = {value:?}"
                );
            }
        }
    }

    // ---- the recorder ----

    fn line_of(len: usize, tag: usize) -> String {
        let head = format!("{{\"n\":{tag},\"p\":\"");
        format!("{head}{}\"}}", "x".repeat(len - head.len() - 2))
    }

    /// The series `path`, `path.1`, ... in order, as long as they exist.
    fn series(path: &Path) -> Vec<(PathBuf, String)> {
        (0..)
            .map(|i| numbered(path, i))
            .map_while(|p| fs::read_to_string(&p).ok().map(|text| (p, text)))
            .collect()
    }

    fn tags(text: &str) -> Vec<u64> {
        text.lines()
            .map(|l| serde_json::from_str::<Json>(l).unwrap()["n"].as_u64().unwrap())
            .collect()
    }

    #[test]
    fn rotates_into_numbered_files_in_order() {
        for flush_each in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("cap.jsonl");
            let rec = Recorder::create(&path, Some(250), DEFAULT_QUEUE_BYTES).unwrap();
            for i in 0..7 {
                rec.append(&line_of(99, i), 0);
                if flush_each {
                    rec.flush().unwrap();
                }
            }
            rec.flush().unwrap();
            // Over the limit: a file of its own; then the next file.
            rec.append(&line_of(399, 7), 0);
            rec.append(&line_of(99, 8), 0);
            rec.flush().unwrap();
            let files = series(&path);
            let names: Vec<String> = files
                .iter()
                .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            assert_eq!(
                names,
                [
                    "cap.jsonl",
                    "cap.jsonl.1",
                    "cap.jsonl.2",
                    "cap.jsonl.3",
                    "cap.jsonl.4",
                    "cap.jsonl.5"
                ]
            );
            let per_file: Vec<Vec<u64>> = files.iter().map(|(_, t)| tags(t)).collect();
            assert_eq!(
                per_file,
                [vec![0, 1], vec![2, 3], vec![4, 5], vec![6], vec![7], vec![8]]
            );
            assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 6, "no other files");
            assert_eq!(
                rec.stats(),
                RecordStats {
                    lines: 9,
                    bytes: 8 * 100 + 400,
                    files: 6,
                    redacted_values: 0,
                    ..RecordStats::default()
                }
            );
            assert_eq!(rec.current_file(), numbered(&path, 5));
            drop(rec);

            // A new recorder continues the series where it stopped.
            let rec = Recorder::create(&path, Some(250), DEFAULT_QUEUE_BYTES).unwrap();
            assert_eq!(rec.current_file(), numbered(&path, 5));
            for i in 9..12 {
                rec.append(&line_of(99, i), 0);
            }
            rec.flush().unwrap();
            let per_file: Vec<Vec<u64>> = series(&path).iter().map(|(_, t)| tags(t)).collect();
            assert_eq!(per_file[5..], [vec![8, 9], vec![10, 11]]);
            assert_eq!(rec.stats().files, 2);
        }
    }

    #[test]
    fn a_cut_last_line_is_terminated_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cap.jsonl");
        fs::write(&path, "{\"resourceSpans\":[{\"reso").unwrap();
        let rec = Recorder::create(&path, None, DEFAULT_QUEUE_BYTES).unwrap();
        rec.append("{}", 0);
        rec.append("", 5); // ignored, but its count is kept
        rec.flush().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\"resourceSpans\":[{\"reso\n{}\n"
        );
        let st = rec.stats();
        assert_eq!((st.lines, st.bytes, st.redacted_values), (1, 3, 5));
    }

    #[test]
    fn the_background_thread_flushes_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cap.jsonl");
        let rec = Recorder::create(&path, None, DEFAULT_QUEUE_BYTES).unwrap();
        let (line, n) = Recorder::encode_logs(&logs());
        rec.append(&line, n);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "",
            "buffered, not written on append"
        );
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{line}\n"));
        assert_eq!(rec.stats().lines, 1);
        // And the last reference going writes out the rest.
        rec.append("{\"resourceLogs\":[]}", 0);
        drop(rec);
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[test]
    fn concurrent_appends_stay_whole_lines() {
        const THREADS: usize = 8;
        const LINES: usize = 2000;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cap.jsonl");
        let rec = Recorder::create(&path, Some(64 << 10), DEFAULT_QUEUE_BYTES).unwrap();
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let rec = &rec;
                scope.spawn(move || {
                    for i in 0..LINES {
                        let line = format!(
                            "{{\"t\":{t},\"i\":{i},\"p\":\"{}\"}}",
                            "y".repeat((i * 37 + t) % 700)
                        );
                        rec.append(&line, 1);
                        if i % 500 == 0 {
                            rec.flush().unwrap();
                        }
                    }
                });
            }
        });
        rec.flush().unwrap();
        let files = series(&path);
        assert!(files.len() > 10, "rotated while appending: {} files", files.len());
        let mut next = [0usize; THREADS];
        for (p, text) in &files {
            assert!(text.len() <= 64 << 10, "{} has {} bytes", p.display(), text.len());
            assert!(text.ends_with('\n'));
            for l in text.lines() {
                let j: Json = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
                let (t, i) = (
                    j["t"].as_u64().unwrap() as usize,
                    j["i"].as_u64().unwrap() as usize,
                );
                assert_eq!(i, next[t], "thread {t}'s lines in order");
                assert_eq!(j["p"].as_str().unwrap().len(), (i * 37 + t) % 700);
                next[t] += 1;
            }
        }
        assert_eq!(next, [LINES; THREADS]);
        let st = rec.stats();
        assert_eq!(
            (st.lines, st.files, st.errors),
            ((THREADS * LINES) as u64, files.len() as u64, 0)
        );
        assert_eq!(st.redacted_values, (THREADS * LINES) as u64);
        let total: usize = files.iter().map(|(_, t)| t.len()).sum();
        assert_eq!(st.bytes, total as u64);
    }

    #[test]
    fn write_errors_are_counted_and_refuse_what_follows() {
        // Rotation into a directory that has gone: the lines are lost and counted, and from then
        // on every line is refused (an audit trail with a hole must not go on silently).
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let path = sub.join("cap.jsonl");
        let rec = Recorder::create(&path, Some(150), DEFAULT_QUEUE_BYTES).unwrap();
        rec.append(&line_of(99, 0), 0);
        rec.flush().unwrap();
        assert_eq!(rec.state(), RecordState::Writing(100));
        fs::remove_dir_all(&sub).unwrap();
        rec.append(&line_of(99, 1), 0);
        rec.append(&line_of(99, 2), 0);
        assert!(rec.flush().is_err());
        assert_eq!(rec.stats().errors, 2);
        assert_eq!(rec.state(), RecordState::Failed);
        fs::create_dir(&sub).unwrap();
        assert_eq!(rec.reserve(10, false).err(), Some(Refused::Failed));
        assert_eq!(rec.reserve(10, true).err(), Some(Refused::Failed));
        assert!(rec.refuses());
        rec.flush().unwrap();
        let st = rec.stats();
        assert_eq!(
            (st.lines, st.files, st.errors, st.refused_for_record),
            (1, 1, 2, 3)
        );

        // A device that is always full: the lines fail, nothing panics, the thread carries on.
        if cfg!(target_os = "linux") && Path::new("/dev/full").exists() {
            let rec = Recorder::create(Path::new("/dev/full"), None, DEFAULT_QUEUE_BYTES).unwrap();
            for i in 0..3 {
                rec.append(&line_of(50, i), 0);
            }
            assert!(rec.flush().is_err());
            assert_eq!(rec.stats().errors, 3);
            rec.append(&line_of(50, 3), 0);
            std::thread::sleep(FLUSH_EVERY * 3);
            let st = rec.stats();
            assert_eq!(
                (st.lines, st.bytes, st.errors, st.refused_for_record),
                (0, 0, 3, 1)
            );
        }

        // A path that cannot be a file fails at creation.
        assert!(Recorder::create(dir.path(), None, DEFAULT_QUEUE_BYTES).is_err());
        assert!(Recorder::create(Path::new("/"), None, DEFAULT_QUEUE_BYTES).is_err());
    }

    #[test]
    fn a_full_queue_refuses_receivers_and_holds_files() {
        use crate::ingest::capture::Signal;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cap.jsonl");
        let rec = Recorder::create(&path, None, 1000).unwrap();
        // Writer held (it writes under the output lock): nothing drains while we fill.
        let held = lock(&rec.inner.out);
        let a = rec.reserve(599, false).unwrap();
        assert_eq!(rec.reserve(400, false).err(), Some(Refused::Behind));
        assert_eq!(rec.state(), RecordState::Behind);
        let b = rec.reserve(399, false).unwrap();
        assert!(rec.refuses());
        // A refused request gives its room back.
        drop(b);
        assert!(!rec.refuses());
        a.commit(&line_of(599, 0), 0, (Signal::Traces, 7));
        // A file waits for room instead; the writer makes it once let go.
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let r = rec.reserve(599, true).unwrap();
                r.commit(&line_of(599, 1), 0, (Signal::Logs, 2));
            });
            std::thread::sleep(FLUSH_EVERY);
            assert!(!waiter.is_finished(), "a file waits while the queue is full");
            drop(held);
            waiter.join().unwrap();
        });
        rec.flush().unwrap();
        assert_eq!(tags(&fs::read_to_string(&path).unwrap()), [0, 1]);
        // A line longer than the whole queue goes alone.
        let long = rec.reserve(5000, false).unwrap();
        long.commit(&line_of(5000, 2), 0, (Signal::Metrics, 3));
        rec.flush().unwrap();
        let st = rec.stats();
        assert_eq!(
            (
                st.lines,
                st.spans,
                st.logs,
                st.data_points,
                st.refused_for_record,
                st.errors
            ),
            (3, 7, 2, 3, 2, 0)
        );
        assert_eq!(rec.state(), RecordState::Writing(600 + 600 + 5001));
    }

    #[test]
    fn recorder_is_shareable() {
        fn shared<T: Send + Sync>() {}
        shared::<Recorder>();
        let st = RecordStats {
            lines: 1,
            ..RecordStats::default()
        };
        assert_eq!(
            serde_json::to_string(&st).unwrap(),
            r#"{"lines":1,"spans":0,"logs":0,"data_points":0,"bytes":0,"files":0,"refused_for_record":0,"errors":0,"redacted_values":0}"#
        );
    }
}
