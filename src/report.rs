//! `llmwatch report FILE... [--spans]`: captured OTLP through the same pipeline as live traffic
//! (event time, same conversion and store), then the JSON summary or one JSON line per
//! normalised span.

use crate::config::HandoffLimits;
use crate::cost::CostTable;
use crate::ingest::capture::{CaptureReader, Item, JsonDecoder, Message, Record, RecordError};
use crate::ingest::handoff::{ConverterPool, InternerTally, Pipeline};
use crate::ingest::{self, WhenFull};
use crate::model::{ConvertLimits, Converter, SpanRecord};
use crate::replay::{self, Merge, Pacer, Speed};
use crate::semconv::cohort::CohortKey;
use crate::semconv::{SemconvConfig, Verdict};
use crate::source::clickhouse;
use crate::status::{StatusSample, status_line};
use crate::store::{StoreLimits, Trace, TraceStore};
/// What reading the files met, in the summary (`input`).
pub use crate::summary::InputStats;
use crate::summary::Summary;
use serde_json::{Value as Json, json};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct ReportOptions {
    pub files: Vec<PathBuf>,
    pub spans: bool,
    /// `Speed::Max` for report; the recorded pace (or a multiple) for replay.
    pub speed: Speed,
    /// Print a replay status line to stderr this often.
    pub status_every: Option<Duration>,
    /// Record what is fed (replay `--record`).
    pub recorder: Option<Arc<crate::ingest::record::Recorder>>,
    pub store: StoreLimits,
    pub handoff: HandoffLimits,
    pub semconv: Arc<SemconvConfig>,
    pub costs: Arc<CostTable>,
    /// `--max-input-ratio`: see [`CaptureReader::set_max_input_ratio`].
    pub max_input_ratio: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write output: {0}")]
    Write(std::io::Error),
    /// Nothing in the input was a span, log or metric (garbage, UTF-16 text, an empty file).
    #[error("the input holds no spans or logs")]
    Empty,
}

/// Decoded messages a file's thread may have ready ahead of the merge.
const DECODED_AHEAD: usize = 4;

/// What a file's thread hands the merging thread: a decoded request, or, when there is one file,
/// a request already converted (everything but the built-in evaluators, which run in feeding
/// order on the merging thread).
enum Fed {
    Decoded(Message),
    Prepared(ingest::Prepared),
}

/// One item of a file's stream: its event time, and the request (with its event time again, for
/// pacing) or the reason it could not be read.
type Timed = (Option<u64>, Result<(Option<u64>, Fed), RecordError>);

/// Reads a file to its end on this thread; `convert` (one file only) also converts each request.
fn read_file(reader: &mut CaptureReader, tx: &SyncSender<Numbered>, convert: Option<&Pipeline>) {
    for (n, record) in (0..).zip(reader) {
        if tx.send((n, Some(timed(record, convert)))).is_err() {
            break;
        }
    }
}

fn timed(record: Result<Record, RecordError>, convert: Option<&Pipeline>) -> Timed {
    let item = record.map(|r: Record| {
        let t = replay::event_time(&r.message);
        let fed = match convert {
            Some(pipeline) => Fed::Prepared(prepare(pipeline, r.message, false)),
            None => Fed::Decoded(r.message),
        };
        (t, fed)
    });
    let t = item.as_ref().ok().and_then(|(t, _)| *t);
    (t, item)
}

/// Threads that parse and convert the lines of a file (one file only) at once: with one file,
/// that is most of a replay's work. Lines are numbered as they are read and dealt in turn (line
/// n to thread n mod threads, each with a converter of its own, so that what each converter
/// has read when is fixed by the file: see `InternerTally`), and the merging thread puts them
/// back in order ([`InOrder`]).
fn parsing_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

/// What the items of a file handed out to the parsing threads and not yet taken back in order
/// may weigh: the bytes of their lines, and [`ITEM_WEIGHT`] each for what they become. A line
/// heavier than that goes alone. This bounds the memory lines cost while one slow line holds
/// the others back (a Collector's lines can be tens of MiB).
const IN_FLIGHT_BYTES: usize = 8 << 20;
const ITEM_WEIGHT: usize = 4096;

/// The weight of the items in flight, given back in the order they were taken (the order the
/// merging thread takes them back in).
struct InFlight {
    state: std::sync::Mutex<InFlightState>,
    freed: std::sync::Condvar,
}

#[derive(Default)]
struct InFlightState {
    weights: std::collections::VecDeque<usize>,
    total: usize,
    closed: bool,
}

impl InFlight {
    fn new() -> Self {
        Self {
            state: Default::default(),
            freed: Default::default(),
        }
    }

    /// Waits until `weight` fits (or nothing else is in flight); false once nobody takes the
    /// items back any more.
    fn take(&self, weight: usize) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        while !state.closed && state.total > 0 && state.total + weight > IN_FLIGHT_BYTES {
            state = match self.freed.wait(state) {
                Ok(state) => state,
                Err(_) => return false,
            };
        }
        if state.closed {
            return false;
        }
        state.total += weight;
        state.weights.push_back(weight);
        true
    }

    /// The oldest item in flight is back.
    fn give_back(&self) {
        if let Ok(mut state) = self.state.lock() {
            let weight = state.weights.pop_front().unwrap_or(0);
            state.total -= weight;
            self.freed.notify_all();
        }
    }

    fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
            self.freed.notify_all();
        }
    }
}

/// An item of a file and its number in the file's stream; `None`: a line with nothing in it.
type Numbered = (u64, Option<Timed>);

/// The number a parsing thread sends as it panics: its item is lost, so the stream ends there
/// (instead of waiting for it), and joining the thread reports the panic.
const LOST: u64 = u64::MAX;

/// Sends [`LOST`] if its thread panics while holding it.
struct LostOnPanic<'a>(&'a SyncSender<Numbered>);

impl Drop for LostOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The merging thread keeps taking messages until this one: the send does not block
            // for long.
            let _ = self.0.send((LOST, None));
        }
    }
}

/// Numbers the file's items and deals them to the parsing threads in turn as [`InFlight`] lets
/// it, until the file ends or nobody takes them any more.
fn deal_lines(reader: &mut CaptureReader, work: &[SyncSender<(u64, Item)>], in_flight: &InFlight) {
    for n in 0.. {
        let to = &work[n as usize % work.len()];
        let Some(item) = reader.next_item() else { break };
        let weight = ITEM_WEIGHT
            + if let Item::Line(line) = &item {
                line.len()
            } else {
                0
            };
        if !in_flight.take(weight) || to.send((n, item)).is_err() {
            break;
        }
    }
}

/// Parsing thread `slot`: parses and converts the lines dealt to it, in order, with a converter
/// of its own, and answers each item with exactly one message under its number.
fn parse_lines(
    slot: usize,
    work: &Receiver<(u64, Item)>,
    tx: &SyncSender<Numbered>,
    pipeline: &Arc<Pipeline>,
) {
    ConverterPool::pin_thread(slot);
    let p = pipeline.clone();
    let mut decoder: JsonDecoder =
        Box::new(move |signal, text| ingest::convert_json(&p, signal, text).map(Message::Converted));
    let _lost = LostOnPanic(tx);
    loop {
        let Ok((n, item)) = work.recv() else { break };
        let record = match item {
            Item::Record(record) => Some(record),
            Item::Line(line) => line.parse(Some(&mut decoder)),
        };
        if tx.send((n, record.map(|r| timed(r, Some(pipeline))))).is_err() {
            break;
        }
    }
}

/// A file's stream in order, from the numbered items its threads send in whatever order they
/// finish them.
struct InOrder {
    numbered: Receiver<Numbered>,
    early: std::collections::BTreeMap<u64, Option<Timed>>,
    next: u64,
    /// Told of each item taken, when the items are handed out against a budget.
    in_flight: Option<Arc<InFlight>>,
}

impl InOrder {
    fn new(numbered: Receiver<Numbered>, in_flight: Option<Arc<InFlight>>) -> Self {
        Self {
            numbered,
            early: Default::default(),
            next: 0,
            in_flight,
        }
    }
}

impl Drop for InOrder {
    fn drop(&mut self) {
        if let Some(in_flight) = &self.in_flight {
            in_flight.close();
        }
    }
}

impl Iterator for InOrder {
    type Item = Timed;

    fn next(&mut self) -> Option<Timed> {
        loop {
            if let Some(message) = self.early.remove(&self.next) {
                self.next += 1;
                if let Some(in_flight) = &self.in_flight {
                    in_flight.give_back();
                }
                match message {
                    Some(message) => return Some(message),
                    None => continue,
                }
            }
            // Ends when every sender is gone, or a thread lost its item as it panicked (which
            // joining it reports).
            let (n, message) = self.numbered.recv().ok().filter(|&(n, _)| n != LOST)?;
            self.early.insert(n, message);
        }
    }
}

/// Feeds every file, merged in event-time order and paced by `opts.speed`, and returns the
/// drained pipeline; malformed lines are reported on stderr with their line number, skipped and
/// counted. With `opts.status_every`, a status line goes to stderr that often.
pub fn ingest_files(opts: &ReportOptions) -> Result<(Arc<Pipeline>, InputStats), ReportError> {
    let pipeline = start_pipeline(opts);
    let stats = feed_files(opts, &pipeline, None)?;
    // The summary includes what external evaluators answer on the last calls.
    pipeline.drain_external();
    pipeline.shutdown();
    Ok((pipeline, stats))
}

/// The pipeline a replay feeds: the same as live traffic's, with the recorder when asked.
pub fn start_pipeline(opts: &ReportOptions) -> Arc<Pipeline> {
    let (semconv, costs) = (opts.semconv.clone(), opts.costs.clone());
    let converters = ConverterPool::new(move || {
        Converter::new(ConvertLimits::default(), semconv.clone(), Some(costs.clone()))
    });
    let pipeline = Pipeline::start(TraceStore::new(opts.store), converters, opts.handoff, None);
    pipeline.start_external(&opts.semconv.external);
    if let Some(r) = &opts.recorder {
        pipeline.set_recorder(r.clone());
    }
    pipeline
}

/// Opens a capture, counting the bytes read from files into `read` (progress on the screen).
fn open_counted(
    path: &std::path::Path,
    read: &Arc<std::sync::atomic::AtomicU64>,
    max_input_ratio: u64,
) -> Result<(CaptureReader, u64), ReportError> {
    let fail = |name: String, source| ReportError::Read { path: name, source };
    let (mut reader, size) = if path.as_os_str() == "-" {
        let reader = CaptureReader::open(path).map_err(|e| fail(e.name, e.source))?;
        (reader, 0)
    } else {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| fail(name.clone(), e))?;
        let size = file.metadata().map_or(0, |m| m.len());
        let counted = replay::CountingReader {
            inner: file,
            count: read.clone(),
        };
        let reader =
            CaptureReader::from_reader(&name, Box::new(counted), None).map_err(|e| fail(e.name, e.source))?;
        (reader, size)
    };
    reader.set_max_input_ratio(max_input_ratio);
    Ok((reader, size))
}

/// A `clickhouse://` source as captures: one reader per table (spans, and logs when the logs
/// table exists), merged by event time like the files of one capture.
fn open_clickhouse(url: &str) -> Result<Vec<CaptureReader>, ReportError> {
    let fail = |name: String, e: &dyn std::fmt::Display| ReportError::Read {
        path: name,
        source: std::io::Error::other(e.to_string()),
    };
    let name = clickhouse::target(url).map_or_else(|_| "clickhouse://".to_string(), |t| t.display_name());
    let opened = clickhouse::open(url).map_err(|e| fail(name, &e))?;
    opened
        .into_iter()
        .map(|o| {
            CaptureReader::from_reader(&o.name, o.reader, Some(o.signal)).map_err(|e| ReportError::Read {
                path: e.name,
                source: e.source,
            })
        })
        .collect()
}

/// Feeds the files through `pipeline` in event-time order at the options' pace; `control` (the
/// screen's) can pause, change speed and stop, and is told the position and progress.
pub fn feed_files(
    opts: &ReportOptions,
    pipeline: &Arc<Pipeline>,
    control: Option<&replay::ReplayControl>,
) -> Result<InputStats, ReportError> {
    feed_files_in(opts, pipeline, control, parsing_threads())
}

/// [`feed_files`] with a single file's lines parsed on `threads` threads.
fn feed_files_in(
    opts: &ReportOptions,
    pipeline: &Arc<Pipeline>,
    control: Option<&replay::ReplayControl>,
    threads: usize,
) -> Result<InputStats, ReportError> {
    let pipeline = pipeline.clone();
    let bytes_read = control.map_or_else(Default::default, |c| c.bytes_read.clone());
    let mut readers: Vec<CaptureReader> = Vec::with_capacity(opts.files.len());
    let mut total = 0;
    for path in &opts.files {
        if let Some(url) = path.to_str().filter(|p| clickhouse::is_clickhouse(p)) {
            readers.extend(open_clickhouse(url)?);
            continue;
        }
        let (reader, size) = open_counted(path, &bytes_read, opts.max_input_ratio)?;
        total += size;
        readers.push(reader);
    }
    if let Some(c) = control {
        c.bytes_total.store(total, std::sync::atomic::Ordering::Relaxed);
    }
    let names: Vec<String> = readers.iter().map(|r| r.name().to_string()).collect();
    let mut stats = InputStats {
        files: readers.len() as u64,
        ..InputStats::default()
    };
    let mut pacer = Pacer::new(opts.speed);
    // What the interners held as of each request, in the order they are offered.
    let mut interned = InternerTally::default();
    let mut status = opts
        .status_every
        .map(|every| (every, Instant::now(), StatusSample::take(&pipeline)));
    // Each file is read and decoded on its own thread (decoding OTLP/JSON is the costly part);
    // this thread merges them by event time, paces, converts and offers. With one file, its
    // lines are parsed and converted on `threads` threads and put back in file order, and this
    // thread runs only the built-in evaluators (their per-second cap is shared state: in
    // feeding order, as live). (With several files conversion stays here: one converter sees
    // the requests in the merged order, its interner as it would be live.)
    let convert_ahead = (readers.len() == 1).then(|| pipeline.clone());
    let mut decoders = Vec::with_capacity(readers.len());
    let mut parsers = Vec::new();
    let mut sources = Vec::with_capacity(readers.len());
    for mut reader in readers {
        let convert = convert_ahead.clone();
        if let Some(pipeline) = convert.clone() {
            // Trace and log requests straight from their JSON text into records.
            reader.set_json_decoder(Box::new(move |signal, text| {
                ingest::convert_json(&pipeline, signal, text).map(Message::Converted)
            }));
        }
        reader.read_ahead();
        let threads = if convert.is_some() { threads.max(1) } else { 1 };
        let (tx, numbered) = std::sync::mpsc::sync_channel(DECODED_AHEAD);
        match convert {
            Some(pipeline) if threads > 1 => {
                reader.defer_lines();
                let in_flight = Arc::new(InFlight::new());
                let mut deal = Vec::with_capacity(threads);
                for slot in 0..threads {
                    let (to, work) = std::sync::mpsc::sync_channel(2);
                    deal.push(to);
                    let (tx, pipeline) = (tx.clone(), pipeline.clone());
                    parsers.push(spawn("llmwatch-parse", move || {
                        parse_lines(slot, &work, &tx, &pipeline)
                    })?);
                }
                let dealt = in_flight.clone();
                decoders.push(spawn("llmwatch-file", move || {
                    deal_lines(&mut reader, &deal, &dealt);
                    reader
                })?);
                sources.push(InOrder::new(numbered, Some(in_flight)));
            }
            convert => {
                decoders.push(spawn("llmwatch-file", move || {
                    if convert.is_some() {
                        // The one thread converting this file's lines (see `parsing_threads`).
                        ConverterPool::pin_thread(0);
                    }
                    read_file(&mut reader, &tx, convert.as_deref());
                    reader
                })?);
                sources.push(InOrder::new(numbered, None));
            }
        }
    }
    for (i, record) in Merge::new(sources) {
        match record {
            Ok((event, fed)) => {
                match control {
                    Some(c) => {
                        if !wait_for(c, &mut pacer, event) {
                            break;
                        }
                    }
                    None => std::thread::sleep(pacer.delay(event, Instant::now())),
                }
                let mut prepared = match fed {
                    Fed::Decoded(message) => prepare(&pipeline, message, true),
                    Fed::Prepared(mut p) => {
                        ingest::evaluate_prepared(&pipeline, &mut p, &opts.semconv);
                        p
                    }
                };
                prepared.tally_interned(&mut interned);
                // Waits for the ingest thread instead of dropping when it is behind: a file has
                // no exporter to retry. (The pipeline only refuses a waiting offer once stopped.)
                let _ = ingest::offer_prepared(&pipeline, prepared, WhenFull::Wait);
                if let (Some(c), Some(t)) = (control, event) {
                    c.set_position(t);
                }
                if let (Some((every, last, prev)), Some(t)) = (&mut status, event)
                    && last.elapsed() >= *every
                {
                    let now = StatusSample::take(&pipeline);
                    crate::eprintln_escaped!(
                        "llmwatch: REPLAY {} {} | {}",
                        opts.speed,
                        crate::clock::hms(t / 1_000_000_000),
                        status_line(prev, &now)
                    );
                    (*last, *prev) = (Instant::now(), now);
                }
            }
            Err(e) if e.fatal => {
                return Err(ReportError::Read {
                    path: names[i].clone(),
                    source: std::io::Error::other(e.message),
                });
            }
            Err(e) => {
                stats.malformed_lines += 1;
                crate::log!("{}:{}: {}", names[i], e.index, e.message);
            }
        }
    }
    // Dropping the merge (when stopped early) ends the decoders' sends.
    if let Some(c) = control {
        c.set_done();
    }
    let panicked = || ReportError::Read {
        path: "input".into(),
        source: std::io::Error::other("the decoding thread panicked"),
    };
    for decoder in decoders {
        let reader = decoder.join().map_err(|_| panicked())?;
        stats.lines += reader.position();
        stats.truncated_tails += u64::from(reader.truncated_tail());
    }
    for parser in parsers {
        parser.join().map_err(|_| panicked())?;
    }
    Ok(stats)
}

fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>, ReportError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|source| ReportError::Read {
            path: "input".into(),
            source,
        })
}

/// Waits until `event` is due under the screen's control, in short steps so that a pause, a
/// speed change or a stop takes effect at once. Returns false when a stop was requested.
fn wait_for(control: &replay::ReplayControl, pacer: &mut Pacer, event: Option<u64>) -> bool {
    loop {
        if control.hold() || control.speed() != pacer.speed() {
            pacer.set_speed(control.speed());
        }
        if control.stopped() {
            return false;
        }
        let delay = pacer.delay(event, Instant::now());
        if delay.is_zero() {
            return true;
        }
        std::thread::sleep(delay.min(Duration::from_millis(50)));
    }
}

/// Validates, converts (and encodes for `--record`) a message, as a receiver would; spans
/// without the built-in evaluators unless `evaluate`.
fn prepare(pipeline: &Pipeline, message: Message, evaluate: bool) -> ingest::Prepared {
    match message {
        Message::Traces(req) if evaluate => ingest::prepare_traces(pipeline, req),
        Message::Traces(req) => ingest::prepare_traces_unevaluated(pipeline, req),
        Message::Logs(req) => ingest::prepare_logs(pipeline, req),
        Message::Metrics(req) => ingest::prepare_metrics(pipeline, &req),
        Message::Converted(c) => ingest::prepare_converted(c),
    }
}

pub fn run(opts: &ReportOptions, out: &mut dyn Write) -> Result<Summary, ReportError> {
    let (summary, _pipeline) = run_keeping(opts, out)?;
    Ok(summary)
}

/// [`run`] for a process that exits as soon as it returns: the stored records are left for the
/// operating system to reclaim instead of being freed one by one (0.3 to 0.4 s of a replay's
/// end with 200,000 spans held). Everything else (the recorder included) is closed as usual.
pub fn run_before_exit(opts: &ReportOptions, out: &mut dyn Write) -> Result<Summary, ReportError> {
    let (summary, pipeline) = run_keeping(opts, out)?;
    let store = std::mem::replace(&mut *pipeline.store(), TraceStore::new(opts.store));
    std::mem::forget(store);
    Ok(summary)
}

fn run_keeping(opts: &ReportOptions, out: &mut dyn Write) -> Result<(Summary, Arc<Pipeline>), ReportError> {
    let (pipeline, input) = ingest_files(opts)?;
    let mut summary = Summary::collect(&pipeline);
    summary.input = Some(input);
    // Garbage or text that is not OTLP reads as nothing at all: say so, as `check` does,
    // rather than print an empty summary.
    if summary.spans.received + summary.logs.received + summary.metrics.data_points_received == 0 {
        return Err(ReportError::Empty);
    }
    if opts.spans {
        let store = pipeline.store();
        let traces: Vec<&Trace> = store.traces_newest_first().collect();
        for trace in traces.into_iter().rev() {
            for node in trace.tree() {
                let line =
                    crate::text::json_for_terminal(span_line(trace, &trace.spans[node.index]).to_string());
                writeln!(out, "{line}").map_err(ReportError::Write)?;
            }
        }
        if summary.spans.evicted > 0 {
            crate::eprintln_escaped!(
                "llmwatch: {} spans were evicted before the end and are not listed; raise --max-spans or --max-memory",
                summary.spans.evicted
            );
        }
    } else {
        writeln!(out, "{}", summary.to_json()).map_err(ReportError::Write)?;
    }
    Ok((summary, pipeline))
}

fn verdict_json(v: &Verdict) -> Json {
    let mut j = json!({
        "name": &*v.name,
        "score": v.score,
        "label": v.label.as_deref(),
        "passed": v.passed,
        "source": v.source.as_str(),
    });
    if let (Some(r), Some(map)) = (v.reviewer.as_deref(), j.as_object_mut()) {
        map.insert("reviewer".into(), json!(r));
    }
    j
}

/// One normalised span as a JSON object (the `report --spans` line format in DESIGN.md).
pub fn span_line(trace: &Trace, s: &SpanRecord) -> Json {
    let sem = s.sem.as_deref();
    let usage = sem.and_then(|m| m.usage);
    let tokens = |f: fn(&crate::semconv::TokenUsage) -> u64| usage.as_ref().map(f);
    json!({
        "trace_id": s.trace_id.to_string(),
        "span_id": s.span_id.to_string(),
        "parent_span_id": s.parent_span_id.map(|p| p.to_string()),
        "name": &*s.name,
        "kind": sem.map_or("other", |m| m.kind.as_str()),
        // Looks like a model call but wraps the real one: not counted (see docs/libraries.md).
        "wrapper": sem.is_some_and(|m| m.wrapper),
        "service": s.service(),
        "provider": sem.and_then(|m| m.provider.as_deref()),
        "model": sem.and_then(|m| m.model().map(|x| &**x)),
        "response_model": sem.and_then(|m| m.response_model.as_deref()),
        "start_unix_nano": s.start_unix_nano,
        "duration_ms": s.duration_nanos() as f64 / 1e6,
        "status": s.status.as_str(),
        "input_tokens": tokens(|u| u.input),
        "output_tokens": tokens(|u| u.output),
        // `null` when the library recorded no cache data at all (not "none were cached").
        "cache_read_tokens": sem.and_then(|m| m.usage).filter(|u| u.cache_known).map(|u| u.cache_read),
        "cache_write_tokens": tokens(|u| u.cache_write),
        "reasoning_tokens": tokens(|u| u.reasoning),
        "cost_usd": sem.and_then(|m| m.cost_usd),
        "cost_source": sem.and_then(|m| m.cost_source.map(|c| c.as_str())),
        "ttft_ms": sem.and_then(|m| m.ttft_nanos).map(|n| n as f64 / 1e6),
        "route": CohortKey::Route.value(trace, s),
        "tenant": CohortKey::Tenant.value(trace, s),
        "session": CohortKey::Session.value(trace, s),
        "verdicts": trace.verdicts_for(s).map(verdict_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::split_budget;

    fn options(files: Vec<PathBuf>) -> ReportOptions {
        options_within(files, 512 << 20)
    }

    fn options_within(files: Vec<PathBuf>, max_memory: usize) -> ReportOptions {
        let (store, handoff) = split_budget(200_000, max_memory);
        ReportOptions {
            files,
            spans: true,
            speed: Speed::Max,
            status_every: None,
            recorder: None,
            store,
            handoff,
            semconv: Default::default(),
            costs: Arc::new(CostTable::bundled()),
            max_input_ratio: crate::ingest::capture::DEFAULT_MAX_INPUT_RATIO,
        }
    }

    /// Every span line, the summary (its memory estimate aside: each thread's converter has an
    /// interner of its own) and the input counts, with one file's lines parsed on `threads`.
    fn read_with(files: &[PathBuf], threads: usize) -> (Vec<String>, Json, InputStats) {
        let opts = options(files.to_vec());
        let pipeline = start_pipeline(&opts);
        let input = feed_files_in(&opts, &pipeline, None, threads).unwrap();
        pipeline.drain_external();
        pipeline.shutdown();
        let mut summary: Json = serde_json::from_str(&Summary::collect(&pipeline).to_json()).unwrap();
        summary["memory"]["estimated_bytes"] = Json::Null;
        let store = pipeline.store();
        let mut lines = Vec::new();
        for trace in store.traces_newest_first().collect::<Vec<_>>().into_iter().rev() {
            for node in trace.tree() {
                lines.push(span_line(trace, &trace.spans[node.index]).to_string());
            }
        }
        (lines, summary, input)
    }

    #[test]
    fn a_file_parsed_on_several_threads_reads_as_on_one() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        // Lines of every kind: requests of each signal, blank, `{}`, malformed, a multi-line
        // object, and a cut last line.
        let fixtures = [
            "otel_genai.jsonl",
            "otel_genai_eval.logs.jsonl",
            "capture/collector.traces.jsonl",
            "capture/collector.logs.jsonl",
            "capture/collector.metrics.jsonl",
        ];
        let mut mixed = String::new();
        for name in fixtures {
            mixed += &std::fs::read_to_string(root.join("tests/fixtures").join(name)).unwrap();
            mixed += "\n{}\nnot json\n";
        }
        let first = mixed.lines().next().unwrap().to_string();
        let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Json>(&first).unwrap()).unwrap();
        mixed += &format!("{pretty}\n{first}\n{}", &first[..first.len() / 2]);
        let mixed_path = dir.path().join("mixed.jsonl");
        std::fs::write(&mixed_path, mixed).unwrap();
        for file in [root.join("demo/capture.jsonl.gz"), mixed_path] {
            let one = read_with(std::slice::from_ref(&file), 1);
            assert!(one.0.len() > 10, "{}", file.display());
            for threads in [2, 3] {
                let several = read_with(std::slice::from_ref(&file), threads);
                assert_eq!(several.2, one.2, "{} on {threads} threads", file.display());
                assert_eq!(several.1, one.1, "{} on {threads} threads", file.display());
                assert!(
                    several.0 == one.0,
                    "{} on {threads} threads: span lines differ",
                    file.display()
                );
            }
        }
    }

    /// The whole summary of a file read on `threads` threads with `max_memory`.
    fn summary_of(file: &std::path::Path, threads: usize, max_memory: usize) -> Json {
        let opts = options_within(vec![file.to_path_buf()], max_memory);
        let pipeline = start_pipeline(&opts);
        feed_files_in(&opts, &pipeline, None, threads).unwrap();
        pipeline.drain_external();
        pipeline.shutdown();
        serde_json::from_str(&Summary::collect(&pipeline).to_json()).unwrap()
    }

    #[test]
    fn a_file_read_again_gives_the_same_summary_memory_estimate_and_evictions_included() {
        // A budget the demo capture overruns all along, so that what is evicted, and when,
        // follows the memory estimate closely. It used to count the converters' interners as
        // the parsing threads had them when the store took each request (ahead of it by
        // however much timing allowed), and the trace table's capacity (which follows the
        // hasher's random seed): the estimate, and so the evictions, differed between runs.
        // And one it fits in, where the estimate alone differed.
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/capture.jsonl.gz");
        for (threads, max_memory) in [(1, 24 << 20), (3, 24 << 20), (3, 512 << 20)] {
            let first = summary_of(&file, threads, max_memory);
            let evicted = first["spans"]["evicted"].as_u64().unwrap();
            assert_eq!(evicted > 1000, max_memory < 100 << 20, "{first}");
            for _ in 0..3 {
                let again = summary_of(&file, threads, max_memory);
                assert_eq!(again, first, "on {threads} threads within {max_memory} bytes");
            }
        }
    }

    fn numbered(n: u64, event: u64) -> Numbered {
        let err = RecordError {
            index: n,
            message: format!("line {n}"),
            fatal: false,
        };
        (n, (event > 0).then_some((Some(event), Err(err))))
    }

    #[test]
    fn items_come_back_in_their_order_whatever_order_they_are_done_in() {
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        let in_flight = Arc::new(InFlight::new());
        // Items 0..6, item 2 a line with nothing in it, done in a shuffled order.
        for n in [3, 0, 5, 1, 4, 2] {
            assert!(in_flight.take(1000));
            tx.send(numbered(n, if n == 2 { 0 } else { 100 + n })).unwrap();
        }
        drop(tx);
        let mut in_order = InOrder::new(rx, Some(in_flight.clone()));
        let taken: Vec<Option<u64>> = in_order.by_ref().map(|(t, _)| t).collect();
        assert_eq!(taken, [100, 101, 103, 104, 105].map(Some));
        // Every item's weight was given back.
        let state = in_flight.state.lock().unwrap();
        assert_eq!((state.total, state.weights.len()), (0, 0));
    }

    #[test]
    fn lines_in_flight_wait_for_room_and_a_heavy_one_goes_alone() {
        let in_flight = Arc::new(InFlight::new());
        assert!(in_flight.take(IN_FLIGHT_BYTES / 2));
        assert!(in_flight.take(IN_FLIGHT_BYTES / 2));
        let (tx, rx) = std::sync::mpsc::channel();
        let taker = {
            let in_flight = in_flight.clone();
            std::thread::spawn(move || {
                // Heavier than the whole budget: waits until nothing else is in flight.
                let took = in_flight.take(IN_FLIGHT_BYTES * 3);
                tx.send(took).unwrap();
                // And a light one waits for the heavy one to be back.
                in_flight.take(1)
            })
        };
        let waiting = std::time::Duration::from_millis(100);
        assert!(rx.recv_timeout(waiting).is_err(), "taken while full");
        in_flight.give_back();
        assert!(rx.recv_timeout(waiting).is_err(), "taken while one is in flight");
        in_flight.give_back();
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(10)), Ok(true));
        // Nobody takes items back any more: the waiting one is let go, refused.
        std::thread::sleep(waiting);
        in_flight.close();
        assert!(!taker.join().unwrap());
        assert!(!in_flight.take(1));
    }

    #[test]
    fn an_item_lost_with_its_thread_ends_the_stream_there() {
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        for n in [0, 2, 3] {
            tx.send(numbered(n, 100 + n)).unwrap();
        }
        drop(tx);
        let taken: Vec<Option<u64>> = InOrder::new(rx, None).map(|(t, _)| t).collect();
        assert_eq!(taken, [Some(100)]);
        // A thread that panics says so while the others still hold their senders.
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        tx.send(numbered(0, 100)).unwrap();
        let panicking = tx.clone();
        let thread = std::thread::spawn(move || {
            let _lost = LostOnPanic(&panicking);
            panic!("a conversion bug");
        });
        let taken: Vec<Option<u64>> = InOrder::new(rx, None).map(|(t, _)| t).collect();
        assert_eq!(taken, [Some(100)]);
        assert!(thread.join().is_err());
        drop(tx);
    }
}
