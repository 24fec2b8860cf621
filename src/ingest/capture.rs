//! Reading captured OTLP files, streamed (a multi-GB capture is never held in memory): the
//! input `report` and `replay` read.
//!
//! # What is read
//! Detection is by content, never by file name:
//! 1. **Compression.** gzip (magic `1f 8b`, several concatenated members too) or zstd (magic
//!    `28 b5 2f fd`, several concatenated frames too) around the whole file is decompressed as a
//!    stream (the Collector writes zstd this way under its `exporter.file.nativeCompression`
//!    feature gate).
//! 2. **Format.** If the first byte that is not whitespace (after a UTF-8 byte-order mark, if
//!    any) is `{`, the file is [`Format::JsonLines`]; anything else is
//!    [`Format::ProtoDelimited`]. An empty file is empty JSON lines.
//!
//! ## JSON lines
//! (Decoded by [`super::otlp_json`] for traces and logs, by opentelemetry-proto's `Deserialize`
//! for metrics.) One OTLP/JSON object a line: an `ExportTraceServiceRequest`, `ExportLogsServiceRequest` or
//! `ExportMetricsServiceRequest` (the same shape as `TracesData`, `LogsData`, `MetricsData`),
//! told apart by its top-level key (`resourceSpans`, `resourceLogs`, `resourceMetrics`), so
//! signals may be mixed in one file. This is what the OpenTelemetry Collector's `file` exporter
//! writes with `format: json` (its default), what its `otlpjsonfile` receiver reads, and what
//! opentelemetry-python's `opentelemetry-exporter-otlp-json-file` writes (compact JSON, one
//! request per export call). Also read:
//! - a bare `ResourceSpans` / `ResourceLogs` / `ResourceMetrics` object a line (top-level
//!   `scopeSpans`, `scopeLogs`, `scopeMetrics`), which earlier releases of that Python exporter
//!   wrote: it becomes a request with that one resource;
//! - a pretty-printed (multi-line) object, as `jq .` or `json.dumps(indent=...)` write it: a
//!   line that is only `{` opens it and it runs to the line that starts with `}` at column 0.
//!   Its record index is the line it starts on.
//!
//! Blank lines are skipped (they still count in line numbers). Not read: the Python SDK's
//! *console* exporters (`ConsoleSpanExporter` and friends), whose pretty-printed objects are
//! not OTLP/JSON (`context.trace_id` as `0x...`, ISO timestamps, `SpanKind.CLIENT`): such an
//! object is reported as malformed with a hint.
//!
//! ## Protobuf, length-delimited
//! The Collector `file` exporter's `format: proto`: each message is preceded by its length as
//! a 4-byte big-endian unsigned integer, and the message is a marshalled `TracesData`,
//! `LogsData` or `MetricsData` (`exportMessageAsBuffer` in the exporter's `file_writer.go`; the
//! pdata `ProtoMarshaler` marshals those `*Data` messages), which are wire-compatible with the
//! `Export*ServiceRequest` messages (one field, `resource_*` = 1). The same framing carries the
//! exporter's legacy compression (`compression: zstd` without the `nativeCompression` feature
//! gate, for `json` and `proto` alike): each message is then a zstd frame of its own, of
//! protobuf or of JSON. Both are read: a payload starting with the zstd (or gzip) magic is
//! decompressed, and one starting with `{` is parsed as OTLP/JSON.
//!
//! Protobuf messages of the three signals look alike on the wire, so each message's signal is:
//! 1. the `signal_hint` given to [`CaptureReader::from_reader`], when given: only that one;
//! 2. else the file name, when exactly one of "trace"/"span", "log", "metric" appears in it
//!    (case-insensitive): that signal is tried first;
//! 3. then traces, logs, metrics in that order: the first that decodes and looks plausible
//!    wins (spans with 16-byte trace and 8-byte span ids; log records whose ids are empty or of
//!    those lengths; metrics that all carry data), each needing at least one item. A message
//!    that decodes but is plausible as none (an empty one) goes to the first that decoded.
//!
//! Not read: protobuf framed with varint lengths (`writeDelimitedTo`), which a draft of the
//! OTLP file exporter specification describes and no Collector writes.
//!
//! # Errors and the end of a capture
//! A malformed line or message is a [`RecordError`] with its line or message number and
//! reading goes on. A capture cut by a crash is not an error: a last line with no newline that
//! is not valid JSON, a multi-line object or a protobuf message (or its length) that the data
//! ends inside, or a compressed stream that stops mid-frame ends the reading quietly and
//! [`CaptureReader::truncated_tail`] says so. A line or message over [`MAX_RECORD_BYTES`] is
//! skipped with an error, without being held in memory. A read error (or corrupt compressed
//! data) is a [`RecordError`] with `fatal` set, and the iterator ends after it.
//!
//! # What is not a capture
//! Hostile or wrong input is refused early rather than read for minutes (a fatal
//! [`RecordError`]): a compressed file that inflates to more than
//! [`CaptureReader::set_max_input_ratio`] times its size (plus [`INFLATE_ALLOWANCE`]; real
//! OTLP captures compress about 10 to 30 times, the demo capture 11.4), and input that holds no
//! span, log or metric in its first [`NOT_A_CAPTURE_RECORDS`] records or
//! [`NOT_A_CAPTURE_BYTES`] (a file of zeros is millions of empty protobuf frames).

use super::converted::{Converted, ConvertedRecords};
use flate2::read::MultiGzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;
use serde_json::error::Category;
use std::fmt;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// The largest line (JSON) or message (protobuf, after decompression) that is read; a larger
/// one is skipped with an error.
pub const MAX_RECORD_BYTES: usize = 256 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const UTF8_BOM: [u8; 3] = [0xef, 0xbb, 0xbf];
const READ_BUFFER: usize = 256 << 10;
/// The default of `--max-input-ratio`: how many times its compressed size a capture may inflate to.
pub const DEFAULT_MAX_INPUT_RATIO: u64 = 100;
/// Inflated bytes allowed on top of the ratio, so that small captures of very regular text pass.
pub const INFLATE_ALLOWANCE: u64 = 64 << 20;
/// Records (messages, lines) and decoded bytes read without a span, log or metric in them after
/// which the input is declared not a capture.
pub const NOT_A_CAPTURE_RECORDS: u64 = 1000;
pub const NOT_A_CAPTURE_BYTES: u64 = 64 << 20;
/// How much leading whitespace format detection looks through before calling it JSON.
const MAX_LEADING_WHITESPACE: usize = 64 << 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One export request read from a capture.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Traces(ExportTraceServiceRequest),
    Logs(ExportLogsServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    /// A trace or log request that the reader's [`JsonDecoder`] decoded and converted.
    Converted(Converted),
}

/// Decodes OTLP/JSON trace and log requests before the usual decoding: a replay of one file
/// converts them into records on the spot, on the thread that parses the line
/// (`ingest::convert_json`). `None` leaves the text to the usual decoding (and its
/// error messages); a decoder must not have changed anything then. It is given the text
/// before the decode bound is checked, so it must keep to that bound itself (read at most
/// [`json_objects_allowed`] objects) and give the text back when it would not.
pub type JsonDecoder = Box<dyn FnMut(Signal, &[u8]) -> Option<Message> + Send>;

impl Message {
    pub fn signal(&self) -> Signal {
        match self {
            Message::Traces(_) => Signal::Traces,
            Message::Converted(c) => match c.records {
                ConvertedRecords::Spans { .. } => Signal::Traces,
                ConvertedRecords::Logs { .. } => Signal::Logs,
            },
            Message::Logs(_) => Signal::Logs,
            Message::Metrics(_) => Signal::Metrics,
        }
    }
}

impl From<super::bound::Signal> for Signal {
    fn from(s: super::bound::Signal) -> Signal {
        use super::bound::Signal as B;
        match s {
            B::Traces => Signal::Traces,
            B::Logs => Signal::Logs,
            B::Metrics => Signal::Metrics,
        }
    }
}

/// The compression detected: around the whole file, or (for [`Format::ProtoDelimited`]) around
/// each message, as the Collector's legacy `compression: zstd` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OTLP/JSON, one export request a line.
    JsonLines,
    /// The Collector file exporter's framing: a 4-byte big-endian length, then the message.
    ProtoDelimited,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::JsonLines => "json-lines",
            Format::ProtoDelimited => "proto",
        }
    }
}

#[derive(Debug)]
pub struct Record {
    /// 1-based: the line number (JSON; a multi-line object's first line) or message number
    /// (protobuf).
    pub index: u64,
    pub message: Message,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// 1-based line (JSON) or message (protobuf) number; for a read error, the last one read.
    pub index: u64,
    /// A one-line reason.
    pub message: String,
    /// The input cannot be read further (I/O error, corrupt compressed data): the iterator ends
    /// after this error. A malformed line or message is not fatal.
    pub fatal: bool,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.index, self.message)
    }
}

/// The capture cannot be opened or its first bytes read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {name}: {source}")]
pub struct CaptureError {
    pub name: String,
    #[source]
    pub source: io::Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SignalRule {
    Only(Signal),
    Prefer(Signal),
    Sniff,
}

/// Reads one capture: an iterator of records in file order. See the module documentation for
/// the formats and rules.
pub struct CaptureReader {
    name: String,
    format: Format,
    compression: Compression,
    signal: SignalRule,
    input: Input,
    buf: Vec<u8>,
    /// The pretty-printed object being gathered, and the line it started on (0: none).
    pending: Vec<u8>,
    pending_start: u64,
    index: u64,
    truncated_tail: bool,
    done: bool,
    max_record_bytes: usize,
    json_decoder: Option<JsonDecoder>,
    /// Whole lines read ahead come out as [`Item::Line`], to be parsed elsewhere.
    defer_lines: bool,
    /// Bytes in and out of decompression, and the ratio allowed between them.
    inflation: Arc<Inflation>,
    /// Whether a span, log or metric was read yet (or a line handed out unparsed, judged by
    /// whoever parses it), and how many records came before without one.
    content_seen: bool,
    records_without_content: u64,
}

impl fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("compression", &self.compression)
            .field("index", &self.index)
            .field("truncated_tail", &self.truncated_tail)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// Opens a file, or standard input for `-` (named `<stdin>`), and detects its compression
    /// and format (which reads its first bytes).
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        if path.as_os_str() == "-" {
            return Self::from_reader("<stdin>", Box::new(io::stdin()), None);
        }
        let name = path.display().to_string();
        match std::fs::File::open(path) {
            Ok(file) => Self::from_reader(&name, Box::new(file), None),
            Err(source) => Err(CaptureError { name, source }),
        }
    }

    /// Reads any stream; `name` is used in messages and for the protobuf signal rule, which
    /// `signal_hint` overrides.
    pub fn from_reader(
        name: &str,
        reader: Box<dyn Read + Send>,
        signal_hint: Option<Signal>,
    ) -> Result<Self, CaptureError> {
        let err = |source| CaptureError {
            name: name.to_string(),
            source,
        };
        let mut cut = false;
        let (head, raw) = peek(reader, 4, false, &mut cut).map_err(err)?;
        let mut compression = if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        };
        let inflation = Arc::new(Inflation::new(compression != Compression::None));
        let input = CountCompressed {
            inner: Cursor::new(head).chain(raw),
            inflation: inflation.clone(),
        };
        let decoded: Box<dyn Read + Send> = match compression {
            Compression::Gzip => inflation.check(MultiGzDecoder::new(input)),
            Compression::Zstd => inflation.check(zstd::stream::read::Decoder::new(input).map_err(err)?),
            Compression::None => inflation.check(input),
        };
        // The first bytes after decompression; a stream cut this early reads as ending there.
        let (head, rest) = peek(decoded, 8, true, &mut cut).map_err(err)?;
        let mut start = head.len() - head.trim_ascii_start().len();
        if head[start..].starts_with(&UTF8_BOM) {
            start += UTF8_BOM.len();
            start += head[start..].len() - head[start..].trim_ascii_start().len();
        }
        let format = match head.get(start) {
            None | Some(b'{') => Format::JsonLines,
            Some(_) => Format::ProtoDelimited,
        };
        if format == Format::ProtoDelimited && compression == Compression::None {
            // The exporter's legacy compression: each message is a compressed frame.
            if head[4.min(head.len())..].starts_with(&ZSTD_MAGIC) {
                compression = Compression::Zstd;
            } else if head[4.min(head.len())..].starts_with(&GZIP_MAGIC) {
                compression = Compression::Gzip;
            }
        }
        let signal = match signal_hint {
            Some(s) => SignalRule::Only(s),
            None => signal_from_name(name).map_or(SignalRule::Sniff, SignalRule::Prefer),
        };
        let input = Input::Plain(Box::new(BufReader::with_capacity(
            READ_BUFFER,
            Cursor::new(head).chain(rest),
        )));
        Ok(CaptureReader {
            name: name.to_string(),
            format,
            compression,
            signal,
            input,
            buf: Vec::new(),
            pending: Vec::new(),
            pending_start: 0,
            index: 0,
            truncated_tail: cut,
            done: false,
            max_record_bytes: MAX_RECORD_BYTES,
            json_decoder: None,
            defer_lines: false,
            inflation,
            content_seen: false,
            records_without_content: 0,
        })
    }

    /// How many times its compressed size a compressed capture may inflate to (plus
    /// [`INFLATE_ALLOWANCE`]) before reading stops with a fatal error.
    pub fn set_max_input_ratio(&mut self, ratio: u64) {
        self.inflation.max_ratio.store(ratio, Relaxed);
    }

    /// Tries `decoder` first on every OTLP/JSON trace and log request (lines and multi-line
    /// objects).
    pub fn set_json_decoder(&mut self, decoder: JsonDecoder) {
        self.json_decoder = Some(decoder);
    }

    /// Reads (and decompresses) the rest of the input on a thread of its own, a few chunks ahead
    /// of the caller: decoding a capture then has a core to itself. Errors arrive as they
    /// would have, after the data read before them.
    pub fn read_ahead(&mut self) {
        self.read_ahead_in(READ_AHEAD_CHUNK, READ_AHEAD_LINE);
    }

    fn read_ahead_in(&mut self, chunk: usize, max_line: usize) {
        let input = std::mem::replace(&mut self.input, Input::Plain(Box::new(io::empty())));
        self.input = Input::Ahead(ReadAhead::spawn(Box::new(input), chunk, max_line));
    }

    /// With [`CaptureReader::read_ahead`]: whole OTLP/JSON lines (nearly all of them) come out
    /// of [`CaptureReader::next_item`] unparsed, as [`Item::Line`]s that other threads may
    /// parse ([`Line::parse`]) while this one reads on. Everything else (multi-line objects,
    /// the first line, protobuf, errors) is read as before.
    pub fn defer_lines(&mut self) {
        self.defer_lines = true;
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The capture ends inside a line or message (one cut off by a crash): that last part was
    /// skipped, and is not an error. Known once the iterator has ended.
    pub fn truncated_tail(&self) -> bool {
        self.truncated_tail
    }

    /// Lines (JSON, blank ones and a truncated last one included) or messages (protobuf) read
    /// so far.
    pub fn position(&self) -> u64 {
        self.index
    }

    /// Ends the reading: a read error is fatal, a stream that stops early is a truncated tail.
    fn fail(&mut self, e: io::Error) -> Option<Result<Record, RecordError>> {
        self.done = true;
        if e.kind() == io::ErrorKind::UnexpectedEof {
            self.truncated_tail = true;
            return None;
        }
        Some(Err(RecordError {
            index: self.index,
            message: format!("read error: {e}"),
            fatal: true,
        }))
    }

    fn malformed(index: u64, message: String) -> Option<Result<Record, RecordError>> {
        Some(Err(RecordError {
            index,
            message,
            fatal: false,
        }))
    }

    /// A whole line in the input's buffer, parsed where it is (no copy): the usual case with
    /// [`CaptureReader::read_ahead`], which hands over whole lines. `None` when the next line is
    /// not there whole (or is the first, or inside a multi-line object): read it the general
    /// way. Otherwise the same steps as [`CaptureReader::next_json`] takes for such a line.
    fn next_json_in_place(&mut self) -> Option<Option<Item>> {
        if self.pending_start != 0 || self.index == 0 {
            return None;
        }
        let available = match self.input.fill_buf() {
            Ok(available) => available.len(),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.truncated_tail = true;
                self.done = true;
                self.pending.clear();
                return Some(None);
            }
            Err(e) => return Some(self.fail(e).map(Item::Record)),
        };
        if available == 0 {
            return None; // the end, read the general way
        }
        // The chunk holding the buffered bytes, when lines are handed over unparsed.
        let shared = match &self.input {
            Input::Ahead(ahead) if self.defer_lines => ahead.current(),
            _ => None,
        };
        // Buffered already: no read, no error.
        let available = self.input.fill_buf().unwrap_or_default();
        let end = memchr::memchr(b'\n', available).filter(|&n| n <= self.max_record_bytes)?;
        self.index += 1;
        let line_no = self.index;
        let line = strip_newline(&available[..=end]);
        let trimmed = line.trim_ascii();
        let item = if trimmed.is_empty() {
            None
        } else if trimmed == b"{" {
            self.pending_start = line_no;
            self.pending.extend_from_slice(line);
            self.pending.push(b'\n');
            None
        } else if let Some((chunk, at)) = shared {
            let lead = at + line.len() - line.trim_ascii_start().len();
            Some(Item::Line(Line {
                index: line_no,
                chunk,
                range: lead..lead + trimmed.len(),
            }))
        } else {
            parse_line(trimmed, line_no, self.json_decoder.as_mut()).map(Item::Record)
        };
        self.input.consume(end + 1);
        Some(item)
    }

    fn next_json(&mut self) -> Option<Item> {
        loop {
            match self.next_json_in_place() {
                Some(Some(item)) => return Some(item),
                Some(None) if self.done => return None,
                Some(None) => continue,
                None => {}
            }
            self.buf.clear();
            let limit = self.max_record_bytes.saturating_sub(self.pending.len()).max(1);
            let end = match read_line(&mut self.input, &mut self.buf, limit) {
                Ok(end) => end,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // A compressed stream cut mid-frame: what came before it is still good.
                    self.truncated_tail = true;
                    self.done = true;
                    if self.buf.is_empty() {
                        self.pending.clear();
                        return None;
                    }
                    LineEnd::Last
                }
                Err(e) => return self.fail(e).map(Item::Record),
            };
            if end == LineEnd::Eof {
                if self.pending_start != 0 {
                    // The data ends inside a multi-line object.
                    self.truncated_tail = true;
                    self.pending_start = 0;
                    self.pending.clear();
                }
                return None;
            }
            self.index += 1;
            let line_no = self.index;
            let last = end == LineEnd::Last;
            if end == LineEnd::TooLong {
                let start = std::mem::take(&mut self.pending_start);
                self.pending.clear();
                let message = format!("longer than {}, skipped", size(self.max_record_bytes));
                return Self::malformed(if start != 0 { start } else { line_no }, message).map(Item::Record);
            }
            if line_no == 1 && self.buf.starts_with(&UTF8_BOM) {
                self.buf.drain(..UTF8_BOM.len());
            }
            let line = strip_newline(&self.buf);

            if self.pending_start != 0 {
                if line.first() == Some(&b'{') {
                    // A new top-level object while the previous one never closed.
                    let start = self.pending_start;
                    self.pending.clear();
                    self.pending.extend_from_slice(line);
                    self.pending.push(b'\n');
                    self.pending_start = line_no;
                    let message = "incomplete JSON object (no closing `}`)".into();
                    return Self::malformed(start, message).map(Item::Record);
                }
                self.pending.extend_from_slice(line);
                self.pending.push(b'\n');
                if line.first() == Some(&b'}') {
                    let start = self.pending_start;
                    match parse_json(&self.pending, self.json_decoder.as_mut()) {
                        Ok(message) => {
                            self.pending_start = 0;
                            self.pending.clear();
                            if let Some(message) = message {
                                return Some(Item::Record(Ok(Record {
                                    index: start,
                                    message,
                                })));
                            }
                        }
                        Err(e) if e.syntax && last => {
                            self.truncated_tail = true;
                            self.pending_start = 0;
                            self.pending.clear();
                            return None;
                        }
                        Err(e) if e.eof => {} // a `}` inside a string: read on
                        Err(e) => {
                            self.pending_start = 0;
                            self.pending.clear();
                            let at = start + e.line.saturating_sub(1) as u64;
                            return Self::malformed(at, e.message).map(Item::Record);
                        }
                    }
                }
                if last && self.pending_start != 0 {
                    self.truncated_tail = true;
                    self.pending_start = 0;
                    self.pending.clear();
                    return None;
                }
                continue;
            }

            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            if trimmed == b"{" && !last {
                self.pending_start = line_no;
                self.pending.extend_from_slice(line);
                self.pending.push(b'\n');
                continue;
            }
            match parse_json(trimmed, self.json_decoder.as_mut()) {
                Ok(Some(message)) => {
                    return Some(Item::Record(Ok(Record {
                        index: line_no,
                        message,
                    })));
                }
                Ok(None) => {}
                Err(e) if e.syntax && last => {
                    self.truncated_tail = true;
                    self.done = true;
                    return None;
                }
                Err(e) => return Self::malformed(line_no, e.message).map(Item::Record),
            }
        }
    }

    fn next_proto(&mut self) -> Option<Result<Record, RecordError>> {
        loop {
            let mut prefix = [0u8; 4];
            match read_full(&mut self.input, &mut prefix) {
                Ok(0) => return None,
                Ok(4) => {}
                Ok(_) => {
                    self.truncated_tail = true;
                    return None;
                }
                Err(e) => return self.fail(e),
            }
            self.index += 1;
            let len = u32::from_be_bytes(prefix) as u64;
            if len > self.max_record_bytes as u64 {
                match io::copy(&mut Read::take(&mut self.input, len), &mut io::sink()) {
                    Ok(n) if n < len => {
                        self.truncated_tail = true;
                        return None;
                    }
                    Ok(_) => {
                        let limit = size(self.max_record_bytes);
                        let message = format!("message of {len} bytes is larger than {limit}, skipped");
                        return Self::malformed(self.index, message);
                    }
                    Err(e) => return self.fail(e),
                }
            }
            self.buf.clear();
            match Read::take(&mut self.input, len).read_to_end(&mut self.buf) {
                Ok(n) if (n as u64) < len => {
                    self.truncated_tail = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => return self.fail(e),
            }
            match decode_payload(&self.buf, self.signal, self.max_record_bytes) {
                Ok(Some(message)) => {
                    return Some(Ok(Record {
                        index: self.index,
                        message,
                    }));
                }
                Ok(None) => {}
                Err(message) => return Self::malformed(self.index, message),
            }
        }
    }
}

impl CaptureReader {
    /// The next record, error or (with [`CaptureReader::defer_lines`]) unparsed line, in file
    /// order; `None` at the end.
    pub fn next_item(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let item = match self.format {
            Format::JsonLines => self.next_json(),
            Format::ProtoDelimited => self.next_proto().map(Item::Record),
        };
        if item.is_none() {
            self.done = true;
        }
        if let Some(item) = &item
            && let Some(refusal) = self.not_a_capture(item)
        {
            self.done = true;
            return Some(Item::Record(Err(refusal)));
        }
        item
    }

    /// Whether, with `item`, the input has gone too far without a span, log or metric: then
    /// the fatal error that says so.
    fn not_a_capture(&mut self, item: &Item) -> Option<RecordError> {
        if self.content_seen {
            return None;
        }
        match item {
            Item::Line(_) => self.content_seen = true,
            Item::Record(Ok(r)) if holds_items(&r.message) => self.content_seen = true,
            Item::Record(Err(e)) if e.fatal => return None,
            Item::Record(_) => self.records_without_content += 1,
        }
        if self.content_seen {
            return None;
        }
        let read = self.inflation.inflated.load(Relaxed);
        let what = if self.records_without_content >= NOT_A_CAPTURE_RECORDS {
            format!("its first {NOT_A_CAPTURE_RECORDS} records")
        } else if read >= NOT_A_CAPTURE_BYTES {
            format!("its first {}", size(NOT_A_CAPTURE_BYTES as usize))
        } else {
            return None;
        };
        Some(RecordError {
            index: self.index,
            message: format!("not an OTLP capture: no span, log or metric in {what}"),
            fatal: true,
        })
    }
}

impl Iterator for CaptureReader {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_item()? {
                Item::Record(record) => return Some(record),
                Item::Line(line) => {
                    if let Some(record) = line.parse(self.json_decoder.as_mut()) {
                        return Some(record);
                    }
                }
            }
        }
    }
}

/// What [`CaptureReader::next_item`] reads.
#[derive(Debug)]
pub enum Item {
    Record(Result<Record, RecordError>),
    /// A whole OTLP/JSON line, not parsed yet.
    Line(Line),
}

/// A line of a capture held where it was read ([`CaptureReader::defer_lines`]), to be parsed on
/// any thread: exactly what parsing it in the reader gives.
pub struct Line {
    index: u64,
    chunk: Arc<Chunk>,
    range: std::ops::Range<usize>,
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Line")
            .field("index", &self.index)
            .field("len", &self.range.len())
            .finish()
    }
}

impl Line {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The record, the reason the line is malformed, or `None` for a line with nothing to read
    /// (`{}`); `decoder` as in [`CaptureReader::set_json_decoder`].
    pub fn parse(&self, decoder: Option<&mut JsonDecoder>) -> Option<Result<Record, RecordError>> {
        parse_line(&self.chunk.bytes[self.range.clone()], self.index, decoder)
    }
}

/// One whole line (not the last one) parsed.
fn parse_line(
    text: &[u8],
    index: u64,
    decoder: Option<&mut JsonDecoder>,
) -> Option<Result<Record, RecordError>> {
    match parse_json(text, decoder) {
        Ok(Some(message)) => Some(Ok(Record { index, message })),
        Ok(None) => None,
        Err(e) => CaptureReader::malformed(index, e.message),
    }
}

/// The input of a reader: as opened, or read ahead on another thread.
enum Input {
    Plain(Box<dyn BufRead + Send>),
    Ahead(ReadAhead),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(input) => input.read(buf),
            Input::Ahead(input) => input.read(buf),
        }
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Input::Plain(input) => input.fill_buf(),
            Input::Ahead(input) => input.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Input::Plain(input) => input.consume(amount),
            Input::Ahead(input) => input.consume(amount),
        }
    }
}

/// The least a [`ReadAhead`] thread reads at once, and how many chunks it may have ready.
const READ_AHEAD_CHUNK: usize = 4 << 20;
const READ_AHEAD_CHUNKS: usize = 2;
/// A chunk grows to hold a line whole up to this size; a longer line is handed over in pieces.
const READ_AHEAD_LINE: usize = 64 << 20;

/// A chunk read ahead. Lines handed over unparsed ([`Line`]) share it; its buffer goes back to
/// the reading thread for reuse when the last of them is done with it.
struct Chunk {
    bytes: Vec<u8>,
    spent: std::sync::mpsc::Sender<Vec<u8>>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let _ = self.spent.send(std::mem::take(&mut self.bytes));
    }
}

/// Input read by another thread ([`CaptureReader::read_ahead`]) in chunks that end with a whole
/// line where they can (so lines are parsed in place, not copied); chunks go back to it for
/// reuse.
struct ReadAhead {
    chunks: std::sync::mpsc::Receiver<io::Result<(Vec<u8>, usize)>>,
    spent: std::sync::mpsc::Sender<Vec<u8>>,
    chunk: Option<Arc<Chunk>>,
    len: usize,
    pos: usize,
}

impl ReadAhead {
    /// Chunks of at least `least` bytes, grown to hold a line whole up to `max_line`.
    fn spawn(mut input: Box<dyn BufRead + Send>, least: usize, max_line: usize) -> Self {
        let (tx, chunks) = std::sync::mpsc::sync_channel(READ_AHEAD_CHUNKS);
        let (spent, recycled) = std::sync::mpsc::channel::<Vec<u8>>();
        let spawned = std::thread::Builder::new()
            .name("llmwatch-read".into())
            .spawn(move || {
                // A chunk, grown to hold `tail` bytes (the start of its first line) and at
                // least `least` more.
                let fresh = |tail: usize| {
                    let mut chunk = recycled.try_recv().unwrap_or_default();
                    if chunk.len() < tail + least {
                        chunk.resize(tail + least, 0);
                    }
                    chunk
                };
                let mut chunk = fresh(0);
                // Bytes in `chunk`: what followed the last newline of the one before, then reads.
                let mut filled = 0;
                loop {
                    // Reads until the chunk holds a newline (a file's read fills what it is
                    // given; a pipe's hands over what is there), the input ends or fails.
                    let item = loop {
                        match input.read(&mut chunk[filled..]) {
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => break Err(e),
                            Ok(0) => break Ok(None),
                            Ok(n) => {
                                filled += n;
                                if let Some(nl) = memchr::memrchr(b'\n', &chunk[filled - n..filled]) {
                                    break Ok(Some(filled - n + nl + 1));
                                }
                                if filled == chunk.len() {
                                    if chunk.len() >= max_line {
                                        break Ok(Some(filled));
                                    }
                                    chunk.resize(chunk.len() * 2, 0);
                                }
                            }
                        }
                    };
                    let (cut, end) = match item {
                        Ok(Some(cut)) => (cut, None),
                        Ok(None) => (filled, Some(Ok(()))),
                        Err(e) => (filled, Some(Err(e))),
                    };
                    // The cut line's start moves to the next chunk (copied once).
                    let tail = filled - cut;
                    let mut next = fresh(tail);
                    next[..tail].copy_from_slice(&chunk[cut..filled]);
                    if cut > 0 && tx.send(Ok((chunk, cut))).is_err() {
                        break;
                    }
                    (chunk, filled) = (next, tail);
                    match end {
                        None => {}
                        Some(Ok(())) => break,
                        Some(Err(e)) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            });
        let chunks = match spawned {
            Ok(_) => chunks,
            Err(e) => {
                // No thread: the input reads as that error.
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let _ = tx.send(Err(e));
                rx
            }
        };
        Self {
            chunks,
            spent,
            chunk: None,
            len: 0,
            pos: 0,
        }
    }

    /// The chunk being read and the position in it.
    fn current(&self) -> Option<(Arc<Chunk>, usize)> {
        self.chunk.clone().map(|chunk| (chunk, self.pos))
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.len {
            match self.chunks.recv() {
                Ok(Ok((bytes, len))) => {
                    let spent = self.spent.clone();
                    self.chunk = Some(Arc::new(Chunk { bytes, spent }));
                    (self.len, self.pos) = (len, 0);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(&[]), // the input ended
            }
        }
        Ok(self.chunk.as_ref().map_or(&[], |c| &c.bytes[self.pos..self.len]))
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.len);
    }
}

/// Reads until `want` bytes are in hand (counted from the first non-whitespace byte when
/// `skip_whitespace`) or the input ends; returns them and the rest of the input. A stream that
/// ends abruptly (a cut compressed file) sets `cut` and reads as ending there.
fn peek(
    mut reader: Box<dyn Read + Send>,
    want: usize,
    skip_whitespace: bool,
    cut: &mut bool,
) -> io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = Vec::with_capacity(want.max(64));
    let mut chunk = [0u8; 4096];
    loop {
        let start = if skip_whitespace {
            head.len() - head.trim_ascii_start().len()
        } else {
            0
        };
        if head.len() >= start + want || (skip_whitespace && start >= MAX_LEADING_WHITESPACE) {
            break;
        }
        let room = (start + want - head.len()).min(chunk.len());
        match reader.read(&mut chunk[..room]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                *cut = true;
                return Ok((head, Box::new(io::empty())));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((head, reader))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineEnd {
    /// Nothing left.
    Eof,
    /// A line ending in a newline.
    Newline,
    /// The data ends inside this line (no newline).
    Last,
    /// Longer than the limit: the rest of the line was skipped.
    TooLong,
}

fn read_line(input: &mut (dyn BufRead + Send), buf: &mut Vec<u8>, limit: usize) -> io::Result<LineEnd> {
    let n = Read::take(&mut *input, limit as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(LineEnd::Eof);
    }
    if buf.last() == Some(&b'\n') {
        return Ok(LineEnd::Newline);
    }
    if buf.len() > limit {
        buf.clear();
        loop {
            let available = input.fill_buf()?;
            if available.is_empty() {
                break;
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    input.consume(i + 1);
                    break;
                }
                None => {
                    let n = available.len();
                    input.consume(n);
                }
            }
        }
        return Ok(LineEnd::TooLong);
    }
    Ok(LineEnd::Last)
}

fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

fn strip_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Fills `buf` unless the input ends first; returns how many bytes were read.
fn read_full(input: &mut (dyn BufRead + Send), buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn signal_from_name(name: &str) -> Option<Signal> {
    let base = Path::new(name)
        .file_name()
        .map_or_else(|| name.to_lowercase(), |b| b.to_string_lossy().to_lowercase());
    let hits = [
        (Signal::Traces, base.contains("trace") || base.contains("span")),
        (Signal::Logs, base.contains("log")),
        (Signal::Metrics, base.contains("metric")),
    ];
    let mut found = hits.iter().filter(|(_, hit)| *hit).map(|(s, _)| *s);
    match (found.next(), found.next()) {
        (Some(s), None) => Some(s),
        _ => None,
    }
}

/// A JSON text that is not a usable OTLP export request.
#[derive(Debug)]
struct JsonError {
    message: String,
    /// Not valid JSON (so possibly a cut one).
    syntax: bool,
    /// The text ends before the JSON value does.
    eof: bool,
    /// 1-based line within the text where the parser stopped (0: unknown).
    line: usize,
}

impl JsonError {
    fn serde(context: &str, e: serde_json::Error) -> Self {
        JsonError {
            message: format!("{context}: {e}"),
            syntax: matches!(e.classify(), Category::Syntax | Category::Eof),
            eof: e.classify() == Category::Eof,
            line: e.line(),
        }
    }

    fn otlp(context: &str, e: super::otlp_json::Error) -> Self {
        JsonError {
            message: format!("{context}: {e}"),
            syntax: e.is_syntax(),
            eof: e.is_eof(),
            line: e.line(),
        }
    }

    fn other(message: String) -> Self {
        JsonError {
            message,
            syntax: false,
            eof: false,
            line: 0,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Parses one OTLP/JSON object; `Ok(None)` for blank text or `{}`. The signal is told by the
/// top-level key; a bare resource object is wrapped in a request. Trace and log requests go to
/// `json_decoder` first, when there is one.
fn parse_json(text: &[u8], json_decoder: Option<&mut JsonDecoder>) -> Result<Option<Message>, JsonError> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return Ok(None);
    }
    // The top-level key comes first in every writer we know; fall back to a full look otherwise.
    let head = &text[..text.len().min(64)];
    let signal = if contains(head, b"\"resourceSpans\"") {
        Signal::Traces
    } else if contains(head, b"\"resourceLogs\"") {
        Signal::Logs
    } else if contains(head, b"\"resourceMetrics\"") {
        Signal::Metrics
    } else {
        json_within_decode_bound(text)?;
        return parse_json_value(text);
    };
    // The decoder keeps to the bound as it reads (no pass over the text first); what it gives
    // back is checked here before it is decoded again.
    if signal != Signal::Metrics
        && let Some(decoder) = json_decoder
        && let Some(message) = decoder(signal, text)
    {
        return Ok(Some(message));
    }
    json_within_decode_bound(text)?;
    let context = format!("invalid OTLP/JSON {signal}");
    let otlp = |e| JsonError::otlp(&context, e);
    Ok(Some(match signal {
        Signal::Traces => Message::Traces(super::otlp_json::owned_traces(text).map_err(otlp)?),
        Signal::Logs => Message::Logs(super::otlp_json::owned_logs(text).map_err(otlp)?),
        Signal::Metrics => {
            Message::Metrics(serde_json::from_slice(text).map_err(|e| JsonError::serde(&context, e))?)
        }
    }))
}

fn parse_json_value(text: &[u8]) -> Result<Option<Message>, JsonError> {
    let v: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| JsonError::serde("invalid JSON", e))?;
    let Some(o) = v.as_object() else {
        return Err(JsonError::other(
            "not an OTLP export request (not a JSON object)".into(),
        ));
    };
    let has = |k: &str| o.contains_key(k);
    let err = |what: &'static str| move |e| JsonError::serde(&format!("invalid OTLP/JSON {what}"), e);
    let otlp = |what: &'static str| move |e| JsonError::otlp(&format!("invalid OTLP/JSON {what}"), e);
    // A bare resource is read as a request of that one resource: the text wrapped, so the one
    // decoder reads it (the wrapping adds no line, and two of serde_json's 128 nesting levels).
    let wrapped = |key: &str| [format!("{{\"{key}\":[").as_bytes(), text, b"]}"].concat();
    let message = if has("resourceSpans") {
        Message::Traces(super::otlp_json::owned_traces(text).map_err(otlp("traces"))?)
    } else if has("resourceLogs") {
        Message::Logs(super::otlp_json::owned_logs(text).map_err(otlp("logs"))?)
    } else if has("resourceMetrics") {
        Message::Metrics(serde_json::from_value(v).map_err(err("metrics"))?)
    } else if has("scopeSpans") {
        let text = wrapped("resourceSpans");
        Message::Traces(super::otlp_json::owned_traces(&text).map_err(otlp("ResourceSpans"))?)
    } else if has("scopeLogs") {
        let text = wrapped("resourceLogs");
        Message::Logs(super::otlp_json::owned_logs(&text).map_err(otlp("ResourceLogs"))?)
    } else if has("scopeMetrics") {
        let rm: ResourceMetrics = serde_json::from_value(v).map_err(err("ResourceMetrics"))?;
        Message::Metrics(ExportMetricsServiceRequest {
            resource_metrics: vec![rm],
        })
    } else if o.is_empty() {
        return Ok(None);
    } else {
        let console = has("context") && has("name") && (has("kind") || has("body") || has("resource"));
        let hint = if console {
            ": this looks like the Python SDK's console exporter output, which is not OTLP/JSON"
        } else {
            ""
        };
        return Err(JsonError::other(format!(
            "not an OTLP export request (no resourceSpans, resourceLogs or resourceMetrics){hint}"
        )));
    };
    Ok(Some(message))
}

/// Parses one line; `Ok(None)` for a blank line. The signal is told by the top-level key.
pub fn parse_json_line(line: &str) -> Result<Option<Message>, String> {
    parse_json(line.as_bytes(), None).map_err(|e| e.message)
}

/// One framed message: decompressed if it is a compressed frame, then OTLP/JSON or protobuf.
fn decode_payload(payload: &[u8], rule: SignalRule, max: usize) -> Result<Option<Message>, String> {
    let inflated;
    let payload = if payload.starts_with(&ZSTD_MAGIC) {
        let decoder = zstd::stream::read::Decoder::new(payload).map_err(|e| format!("zstd: {e}"))?;
        inflated = decompress(decoder, max).map_err(|e| format!("zstd: {e}"))?;
        &inflated[..]
    } else if payload.starts_with(&GZIP_MAGIC) {
        inflated = decompress(MultiGzDecoder::new(payload), max).map_err(|e| format!("gzip: {e}"))?;
        &inflated[..]
    } else {
        payload
    };
    // No protobuf message of the three starts with 0x7b (field 15, group).
    if payload.first() == Some(&b'{') {
        return parse_json(payload, None).map_err(|e| e.message);
    }
    decode_proto(payload, rule).map(Some)
}

fn decompress(decoder: impl Read, max: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    decoder.take(max as u64 + 1).read_to_end(&mut out)?;
    if out.len() > max {
        return Err(io::Error::other(format!(
            "larger than {} once decompressed",
            size(max)
        )));
    }
    Ok(out)
}

/// Whether a request holds a span, a log record or a metric data point.
fn holds_items(message: &Message) -> bool {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    match message {
        Message::Traces(r) => r
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .any(|ss| !ss.spans.is_empty()),
        Message::Logs(r) => r
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .any(|sl| !sl.log_records.is_empty()),
        Message::Metrics(r) => r
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .any(|m| match &m.data {
                Some(Data::Gauge(g)) => !g.data_points.is_empty(),
                Some(Data::Sum(s)) => !s.data_points.is_empty(),
                Some(Data::Histogram(h)) => !h.data_points.is_empty(),
                Some(Data::ExponentialHistogram(h)) => !h.data_points.is_empty(),
                Some(Data::Summary(s)) => !s.data_points.is_empty(),
                None => false,
            }),
        Message::Converted(c) => c.received > 0,
    }
}

/// Bytes read from a compressed capture and bytes it inflated to: a decompression bomb is
/// stopped once the second passes the ratio, long before it would have been read whole.
struct Inflation {
    compressed: AtomicU64,
    inflated: AtomicU64,
    max_ratio: AtomicU64,
    /// Only compressed input has a ratio to keep; plain input is only counted.
    compressed_input: bool,
}

impl Inflation {
    fn new(compressed_input: bool) -> Self {
        Self {
            compressed: AtomicU64::new(0),
            inflated: AtomicU64::new(0),
            max_ratio: AtomicU64::new(DEFAULT_MAX_INPUT_RATIO),
            compressed_input,
        }
    }

    fn check(self: &Arc<Self>, decoded: impl Read + Send + 'static) -> Box<dyn Read + Send> {
        Box::new(CheckInflated {
            inner: decoded,
            inflation: self.clone(),
        })
    }
}

/// Counts the compressed bytes the decoder reads.
struct CountCompressed<R> {
    inner: R,
    inflation: Arc<Inflation>,
}

impl<R: Read> Read for CountCompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.inflation.compressed.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// Counts the decoded bytes, and fails the read once they pass the ratio.
struct CheckInflated<R> {
    inner: R,
    inflation: Arc<Inflation>,
}

impl<R: Read> Read for CheckInflated<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let i = &self.inflation;
        let inflated = i.inflated.fetch_add(n as u64, Relaxed) + n as u64;
        if i.compressed_input {
            let (compressed, ratio) = (i.compressed.load(Relaxed), i.max_ratio.load(Relaxed));
            if inflated > compressed.saturating_mul(ratio).saturating_add(INFLATE_ALLOWANCE) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "inflates to more than {ratio} times its size ({:.1} MiB from {:.1} \
                         MiB): not a capture, or raise --max-input-ratio",
                        inflated as f64 / 1048576.0,
                        compressed as f64 / 1048576.0
                    ),
                ));
            }
        }
        Ok(n)
    }
}

/// What one capture line or message may take once decoded: the receivers' decode budget at
/// the default --max-memory. A hostile record (a 32 MiB line of `{}` spans decodes to over
/// 3 GB) becomes a malformed one instead of being decoded; see `ingest::bound`.
const MAX_DECODED_RECORD: usize = 256 << 20;

fn within_decode_bound(estimate: usize) -> Result<(), String> {
    if estimate <= MAX_DECODED_RECORD {
        return Ok(());
    }
    Err(format!(
        "would take about {} to decode, more than the {} a record may take; skipped",
        size(estimate),
        size(MAX_DECODED_RECORD)
    ))
}

/// How many JSON objects a [`JsonDecoder`] may read of a text of `len` bytes: within that, it
/// holds no more than the decode bound lets a record take (see [`json_within_decode_bound`]).
pub fn json_objects_allowed(len: usize) -> usize {
    super::bound::json_objects_within(len, MAX_DECODED_RECORD)
}

/// Walks a JSON line before it is decoded, unless even a rough bound of it fits.
fn json_within_decode_bound(text: &[u8]) -> Result<(), JsonError> {
    if super::bound::json_quick_bound(text) <= MAX_DECODED_RECORD {
        return Ok(());
    }
    // Invalid JSON is left to the decoder, whose message says more.
    match super::bound::json_estimate(text) {
        Ok(estimate) => within_decode_bound(estimate).map_err(JsonError::other),
        Err(_) => Ok(()),
    }
}

fn decode_as(signal: Signal, payload: &[u8]) -> Result<Message, String> {
    let walked = match signal {
        Signal::Traces => super::bound::Signal::Traces,
        Signal::Logs => super::bound::Signal::Logs,
        Signal::Metrics => super::bound::Signal::Metrics,
    };
    // A malformed message is left to prost, which refuses it with its own message.
    if let Ok(estimate) = super::bound::protobuf_estimate(walked, payload) {
        within_decode_bound(estimate)?;
    }
    decode_prost(signal, payload).map_err(|e| e.to_string())
}

fn decode_prost(signal: Signal, payload: &[u8]) -> Result<Message, prost::DecodeError> {
    Ok(match signal {
        Signal::Traces => Message::Traces(prost::Message::decode(payload)?),
        Signal::Logs => Message::Logs(prost::Message::decode(payload)?),
        Signal::Metrics => Message::Metrics(prost::Message::decode(payload)?),
    })
}

fn plausible(message: &Message) -> bool {
    match message {
        Message::Converted(c) => c.received > 0,
        Message::Traces(req) => {
            let mut spans = req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .peekable();
            spans.peek().is_some() && spans.all(|s| s.trace_id.len() == 16 && s.span_id.len() == 8)
        }
        Message::Logs(req) => {
            let mut logs = req
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .flat_map(|s| &s.log_records)
                .peekable();
            logs.peek().is_some()
                && logs.all(|l| matches!(l.trace_id.len(), 0 | 16) && matches!(l.span_id.len(), 0 | 8))
        }
        Message::Metrics(req) => {
            let mut metrics = req
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .peekable();
            metrics.peek().is_some() && metrics.all(|m| m.data.is_some())
        }
    }
}

fn decode_proto(payload: &[u8], rule: SignalRule) -> Result<Message, String> {
    let order = match rule {
        SignalRule::Only(signal) => {
            return decode_as(signal, payload)
                .map_err(|e| format!("invalid OTLP protobuf {signal} message: {e}"));
        }
        SignalRule::Prefer(Signal::Logs) => [Signal::Logs, Signal::Traces, Signal::Metrics],
        SignalRule::Prefer(Signal::Metrics) => [Signal::Metrics, Signal::Traces, Signal::Logs],
        SignalRule::Prefer(Signal::Traces) | SignalRule::Sniff => {
            [Signal::Traces, Signal::Logs, Signal::Metrics]
        }
    };
    let mut fallback = None;
    let mut first_error = None;
    for signal in order {
        match decode_as(signal, payload) {
            Ok(message) if plausible(&message) => return Ok(message),
            Ok(message) => {
                fallback.get_or_insert(message);
            }
            Err(e) => {
                first_error.get_or_insert((signal, e));
            }
        }
    }
    fallback.ok_or_else(|| match first_error {
        Some((signal, e)) => {
            format!("not an OTLP TracesData, LogsData or MetricsData protobuf message (as {signal}: {e})")
        }
        None => "not an OTLP protobuf message".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
    use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use opentelemetry_proto::tonic::metrics::v1::number_data_point;
    use std::io::Write;

    fn fixture_path(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/capture")
            .join(name)
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(fixture_path(name)).unwrap()
    }

    /// The fixture lines, parsed one by one (no reader involved).
    fn fixture_messages(name: &str) -> Vec<Message> {
        String::from_utf8(fixture(name))
            .unwrap()
            .lines()
            .map(|l| parse_json_line(l).unwrap().unwrap())
            .collect()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn attr(attrs: &[KeyValue], key: &str) -> Any {
        attrs
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone())
            .and_then(|v| v.value)
            .unwrap_or_else(|| panic!("no attribute {key}"))
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 3).unwrap()
    }

    fn compress(c: Compression, data: &[u8]) -> Vec<u8> {
        match c {
            Compression::None => data.to_vec(),
            Compression::Gzip => gzip(data),
            Compression::Zstd => zstd(data),
        }
    }

    /// The Collector file exporter's proto framing: a 4-byte big-endian length, then the bytes.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    fn encode(m: &Message) -> Vec<u8> {
        match m {
            Message::Traces(r) => prost::Message::encode_to_vec(r),
            Message::Logs(r) => prost::Message::encode_to_vec(r),
            Message::Metrics(r) => prost::Message::encode_to_vec(r),
            Message::Converted(_) => unreachable!("the tests read no converted requests"),
        }
    }

    fn reader(name: &str, data: Vec<u8>, hint: Option<Signal>) -> CaptureReader {
        CaptureReader::from_reader(name, Box::new(Cursor::new(data)), hint).unwrap()
    }

    fn read_all(r: &mut CaptureReader) -> (Vec<Record>, Vec<RecordError>) {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for item in r {
            match item {
                Ok(rec) => ok.push(rec),
                Err(e) => bad.push(e),
            }
        }
        (ok, bad)
    }

    fn indexes(records: &[Record]) -> Vec<u64> {
        records.iter().map(|r| r.index).collect()
    }

    fn signals(records: &[Record]) -> Vec<Signal> {
        records.iter().map(|r| r.message.signal()).collect()
    }

    /// One of each signal, in a mixed capture: two trace lines, one logs line, one metrics line.
    fn mixed_json() -> Vec<u8> {
        let mut data = fixture("collector.traces.jsonl");
        data.extend(fixture("collector.logs.jsonl"));
        data.extend(fixture("collector.metrics.jsonl"));
        data
    }

    fn mixed_messages() -> Vec<Message> {
        let mut all = fixture_messages("collector.traces.jsonl");
        all.extend(fixture_messages("collector.logs.jsonl"));
        all.extend(fixture_messages("collector.metrics.jsonl"));
        all
    }

    fn messages(records: Vec<Record>) -> Vec<Message> {
        records.into_iter().map(|r| r.message).collect()
    }

    /// A reader that hands out one byte per call, as a pipe may.
    struct Trickle(Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    /// Data, then a read error that is not the end of the data.
    struct Failing(Cursor<Vec<u8>>);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("device went away")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn collector_json_fixture_decodes_to_exact_values() {
        let mut r = CaptureReader::open(&fixture_path("collector.traces.jsonl")).unwrap();
        assert_eq!(
            (r.format(), r.compression()),
            (Format::JsonLines, Compression::None)
        );
        let (records, errors) = read_all(&mut r);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(indexes(&records), [1, 2]);
        let Message::Traces(first) = &records[0].message else {
            panic!()
        };
        let rs = &first.resource_spans[0];
        let resource = rs.resource.as_ref().unwrap();
        assert_eq!(
            attr(&resource.attributes, "service.name"),
            Any::StringValue("support-agent".into())
        );
        assert_eq!(rs.schema_url, "https://opentelemetry.io/schemas/1.37.0");
        assert_eq!(rs.scope_spans.len(), 2);
        let root = &rs.scope_spans[0].spans[0];
        assert_eq!(root.trace_id, hex("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(root.span_id, hex("00f067aa0ba902b7"));
        assert!(root.parent_span_id.is_empty());
        assert_eq!((root.flags, root.kind), (257, 1));
        assert_eq!(
            (root.start_time_unix_nano, root.end_time_unix_nano),
            (1767225600000000000, 1767225602500000000)
        );
        let scope = rs.scope_spans[1].scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("opentelemetry.instrumentation.openai_v2", "2.1b0")
        );
        let chat = &rs.scope_spans[1].spans[0];
        assert_eq!(chat.parent_span_id, hex("00f067aa0ba902b7"));
        assert_eq!(chat.kind, 3);
        assert_eq!(
            attr(&chat.attributes, "gen_ai.usage.input_tokens"),
            Any::IntValue(1200)
        );
        assert_eq!(
            attr(&chat.attributes, "gen_ai.request.temperature"),
            Any::DoubleValue(0.2)
        );
        assert_eq!(
            attr(&chat.attributes, "gen_ai.response.finish_reasons"),
            Any::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(Any::StringValue("stop".into()))
                }]
            })
        );
        assert_eq!(
            (chat.events[0].time_unix_nano, chat.events[0].name.as_str()),
            (1767225600420000000, "gen_ai.choice")
        );
        assert_eq!(chat.status.as_ref().unwrap().code, 0);

        let Message::Traces(second) = &records[1].message else {
            panic!()
        };
        let rs = &second.resource_spans[0];
        assert_eq!(rs.resource.as_ref().unwrap().dropped_attributes_count, 1);
        let scope = rs.scope_spans[0].scope.as_ref().unwrap();
        assert_eq!(
            attr(&scope.attributes, "agent.framework"),
            Any::StringValue("custom".into())
        );
        let tool = &rs.scope_spans[0].spans[0];
        assert_eq!(tool.trace_state, "congo=t61rcWkgMzE");
        assert!(tool.parent_span_id.is_empty(), "an empty hex id is an empty id");
        assert_eq!(attr(&tool.attributes, "retry.count"), Any::IntValue(-2));
        // bytesValue is base64 in OTLP/JSON (only trace and span ids are hex).
        assert_eq!(
            attr(&tool.attributes, "tool.request.digest"),
            Any::BytesValue(vec![0xde, 0xad, 0xbe, 0xef])
        );
        let Any::KvlistValue(KeyValueList { values }) = attr(&tool.attributes, "tool.args") else {
            panic!()
        };
        assert_eq!(attr(&values, "top_k"), Any::IntValue(5));
        assert_eq!((tool.dropped_attributes_count, tool.dropped_events_count), (3, 2));
        assert_eq!(
            attr(&tool.events[0].attributes, "exception.type"),
            Any::StringValue("TimeoutError".into())
        );
        assert_eq!(tool.links[0].trace_id, hex("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(
            (tool.links[0].span_id.clone(), tool.links[0].flags),
            (hex("00f067aa0ba902b7"), 257)
        );
        let status = tool.status.as_ref().unwrap();
        assert_eq!(
            (status.code, status.message.as_str()),
            (2, "search backend timed out")
        );
        assert!(!r.truncated_tail());
    }

    #[test]
    fn collector_json_logs_and_metrics_fixtures_decode_to_exact_values() {
        let (records, errors) =
            read_all(&mut CaptureReader::open(&fixture_path("collector.logs.jsonl")).unwrap());
        assert!(errors.is_empty(), "{errors:?}");
        let Message::Logs(logs) = &records[0].message else {
            panic!()
        };
        let log = &logs.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(
            (log.time_unix_nano, log.observed_time_unix_nano),
            (1767225602600000000, 1767225602650000000)
        );
        assert_eq!((log.severity_number, log.severity_text.as_str()), (9, "INFO"));
        assert_eq!(
            log.body.clone().unwrap().value,
            Some(Any::StringValue("evaluation finished".into()))
        );
        assert_eq!(
            attr(&log.attributes, "gen_ai.evaluation.score.value"),
            Any::DoubleValue(0.42)
        );
        assert_eq!(
            (log.trace_id.clone(), log.span_id.clone()),
            (hex("4bf92f3577b34da6a3ce929d0e0e4736"), hex("b7ad6b7169203331"))
        );
        assert_eq!(
            (log.flags, log.event_name.as_str()),
            (1, "gen_ai.evaluation.result")
        );

        let (records, errors) =
            read_all(&mut CaptureReader::open(&fixture_path("collector.metrics.jsonl")).unwrap());
        assert!(errors.is_empty(), "{errors:?}");
        let Message::Metrics(metrics) = &records[0].message else {
            panic!()
        };
        let m = &metrics.resource_metrics[0].scope_metrics[0].metrics;
        assert_eq!(
            (m[0].name.as_str(), m[0].unit.as_str()),
            ("gen_ai.client.token.usage", "{token}")
        );
        let Some(Data::Histogram(h)) = &m[0].data else {
            panic!()
        };
        let p = &h.data_points[0];
        assert_eq!(
            (p.count, p.sum, p.min, p.max),
            (2, Some(2400.0), Some(1100.0), Some(1300.0))
        );
        assert_eq!(
            (p.bucket_counts.as_slice(), p.explicit_bounds.as_slice()),
            (&[0, 1, 1][..], &[1000.0, 4000.0][..])
        );
        assert_eq!(h.aggregation_temporality, 2);
        let Some(Data::Sum(s)) = &m[1].data else { panic!() };
        assert!(s.is_monotonic);
        assert_eq!(s.data_points[0].value, Some(number_data_point::Value::AsInt(7)));
        let Some(Data::Gauge(g)) = &m[2].data else {
            panic!()
        };
        assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsDouble(3.5))
        );
        assert_eq!(g.data_points[0].time_unix_nano, 1767225660000000000);
    }

    #[test]
    fn json_lines_in_every_compression() {
        let dir = tempfile::tempdir().unwrap();
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            // The extension says nothing: detection is by content.
            let path = dir.path().join(format!("capture-{}.dat", c.as_str()));
            std::fs::write(&path, compress(c, &mixed_json())).unwrap();
            let mut r = CaptureReader::open(&path).unwrap();
            assert_eq!((r.format(), r.compression()), (Format::JsonLines, c));
            assert_eq!(r.name(), path.display().to_string());
            let (records, errors) = read_all(&mut r);
            assert!(errors.is_empty(), "{c:?}: {errors:?}");
            assert_eq!(indexes(&records), [1, 2, 3, 4], "{c:?}");
            assert_eq!(messages(records), mixed_messages(), "{c:?}");
            assert!(!r.truncated_tail());
        }
    }

    #[test]
    fn proto_in_every_compression() {
        let mut framed = Vec::new();
        for m in mixed_messages() {
            framed.extend(frame(&encode(&m)));
        }
        let dir = tempfile::tempdir().unwrap();
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let path = dir.path().join(format!("capture-{}.dat", c.as_str()));
            std::fs::write(&path, compress(c, &framed)).unwrap();
            let mut r = CaptureReader::open(&path).unwrap();
            assert_eq!((r.format(), r.compression()), (Format::ProtoDelimited, c));
            let (records, errors) = read_all(&mut r);
            assert!(errors.is_empty(), "{c:?}: {errors:?}");
            assert_eq!(indexes(&records), [1, 2, 3, 4], "{c:?}");
            assert_eq!(messages(records), mixed_messages(), "{c:?}");
            assert!(!r.truncated_tail());
        }
    }

    #[test]
    fn the_exporters_legacy_per_message_zstd_framing() {
        // `compression: zstd` without the nativeCompression gate: each message is its own zstd
        // frame inside the length framing, for `format: proto` and `format: json` alike.
        let all = mixed_messages();
        let mut proto = Vec::new();
        let mut json = Vec::new();
        for (m, line) in all.iter().zip(String::from_utf8(mixed_json()).unwrap().lines()) {
            proto.extend(frame(&zstd(&encode(m))));
            json.extend(frame(&zstd(line.as_bytes())));
        }
        for data in [proto, json] {
            let mut r = reader("otel-export", data, None);
            assert_eq!(
                (r.format(), r.compression()),
                (Format::ProtoDelimited, Compression::Zstd)
            );
            let (records, errors) = read_all(&mut r);
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(messages(records), all);
        }
    }

    #[test]
    fn multi_member_gzip_and_multi_frame_zstd() {
        let text = mixed_json();
        let (a, b) = text.split_at(text.len() / 2); // members split mid-line
        for (c, data) in [
            (Compression::Gzip, [gzip(a), gzip(b)].concat()),
            (Compression::Zstd, [zstd(a), zstd(b)].concat()),
        ] {
            let mut r = reader("x", data, None);
            assert_eq!(r.compression(), c);
            let (records, errors) = read_all(&mut r);
            assert!(errors.is_empty(), "{c:?}: {errors:?}");
            assert_eq!(messages(records), mixed_messages(), "{c:?}");
        }
    }

    #[test]
    fn stdin_like_streams_through_from_reader() {
        // A pipe that hands out a byte at a time still gets detected and read.
        let inputs = [
            (gzip(&mixed_json()), Format::JsonLines, Compression::Gzip),
            (mixed_json(), Format::JsonLines, Compression::None),
            (
                mixed_messages().iter().flat_map(|m| frame(&encode(m))).collect(),
                Format::ProtoDelimited,
                Compression::None,
            ),
        ];
        for (data, format, compression) in inputs {
            let mut r =
                CaptureReader::from_reader("<stdin>", Box::new(Trickle(Cursor::new(data))), None).unwrap();
            assert_eq!(
                (r.name(), r.format(), r.compression()),
                ("<stdin>", format, compression)
            );
            let (records, errors) = read_all(&mut r);
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(messages(records), mixed_messages());
        }
    }

    #[test]
    fn malformed_json_lines_are_reported_with_their_number_and_skipped() {
        let good = String::from_utf8(fixture("collector.logs.jsonl")).unwrap();
        let good = good.trim();
        let text = format!(
            "{good}\n{{\"resourceSpans\": [oops\n\n{{\"hello\":1}}\nnot json\n[1,2]\n{{\"resourceLogs\":[{{\"scopeLogs\":7}}]}}\n{good}\n"
        );
        let mut r = reader("capture.jsonl", text.into_bytes(), None);
        let (records, errors) = read_all(&mut r);
        assert_eq!(indexes(&records), [1, 8]);
        let got: Vec<(u64, bool)> = errors.iter().map(|e| (e.index, e.fatal)).collect();
        assert_eq!(got, [(2, false), (4, false), (5, false), (6, false), (7, false)]);
        assert!(
            errors[0].message.starts_with("invalid OTLP/JSON traces"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[1].message.starts_with("not an OTLP export request"),
            "{}",
            errors[1].message
        );
        assert!(
            errors[2].message.starts_with("invalid JSON"),
            "{}",
            errors[2].message
        );
        assert!(
            errors[3].message.contains("not a JSON object"),
            "{}",
            errors[3].message
        );
        assert!(
            errors[4].message.starts_with("invalid OTLP/JSON logs"),
            "{}",
            errors[4].message
        );
        assert!(errors.iter().all(|e| !e.message.contains('\n')));
        assert!(!r.truncated_tail());
        assert_eq!(r.position(), 8);
    }

    #[test]
    fn a_truncated_last_json_line_is_not_an_error() {
        let full = mixed_json();
        let cut = &full[..full.len() - 40]; // inside the metrics line, no newline
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let mut r = reader("x", compress(c, cut), None);
            let (records, errors) = read_all(&mut r);
            assert!(errors.is_empty(), "{c:?}: {errors:?}");
            assert_eq!(indexes(&records), [1, 2, 3], "{c:?}");
            assert!(r.truncated_tail(), "{c:?}");
        }
        // Complete but for its newline: read, and nothing is truncated.
        let mut r = reader("x", full[..full.len() - 1].to_vec(), None);
        assert_eq!(read_all(&mut r).0.len(), 4);
        assert!(!r.truncated_tail());
        // Cut, but a newline follows: a malformed line, not a truncated tail.
        let mut text = cut.to_vec();
        text.push(b'\n');
        let mut r = reader("x", text, None);
        let (records, errors) = read_all(&mut r);
        assert_eq!((records.len(), errors.len(), errors[0].index), (3, 1, 4));
        assert!(!r.truncated_tail());
        // Valid JSON that is not OTLP, with no newline: still an error.
        let mut r = reader("x", b"{\"hello\":1}".to_vec(), None);
        assert_eq!(read_all(&mut r).1.len(), 1);
        assert!(!r.truncated_tail());
    }

    #[test]
    fn a_compressed_stream_cut_by_a_crash_is_a_truncated_tail() {
        // Lines that do not compress to nothing, so that half the stream holds whole blocks.
        let logs = String::from_utf8(fixture("collector.logs.jsonl")).unwrap();
        let mut seed = 1u64;
        let many: String = (0..400)
            .map(|_| {
                let noise: String = (0..1000)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        char::from(b"0123456789abcdef"[(seed >> 60) as usize])
                    })
                    .collect();
                logs.replace("evaluation finished", &noise)
            })
            .collect();
        for c in [Compression::Gzip, Compression::Zstd] {
            let whole = compress(c, many.as_bytes());
            let mut r = reader("x", whole[..whole.len() / 2].to_vec(), None);
            let (records, errors) = read_all(&mut r);
            assert!(errors.is_empty(), "{c:?}: {errors:?}");
            assert!(
                records.len() > 100 && records.len() < 400,
                "{c:?}: {}",
                records.len()
            );
            assert_eq!(indexes(&records), (1..=records.len() as u64).collect::<Vec<_>>());
            assert!(r.truncated_tail(), "{c:?}");
            // Cut inside the header: nothing to read, and not an error.
            let mut r = reader("x", whole[..3].to_vec(), None);
            assert_eq!(read_all(&mut r).1.len(), 0);
            assert!(r.truncated_tail(), "{c:?}");
        }
    }

    /// Everything a reader says about an input: records, errors, where it stopped and whether
    /// the tail was cut.
    fn outcome(mut r: CaptureReader) -> (Vec<(u64, Message)>, Vec<RecordError>, u64, bool) {
        let (records, errors) = read_all(&mut r);
        let records = records.into_iter().map(|r| (r.index, r.message)).collect();
        (records, errors, r.position(), r.truncated_tail())
    }

    /// [`outcome`] with lines handed over unparsed: every item taken first (the lines keep
    /// their chunks), then the lines parsed last to first.
    fn outcome_deferred(mut r: CaptureReader) -> (Vec<(u64, Message)>, Vec<RecordError>, u64, bool) {
        r.defer_lines();
        let items: Vec<Item> = std::iter::from_fn(|| r.next_item()).collect();
        let mut parsed: Vec<Option<Result<Record, RecordError>>> = Vec::new();
        for item in items.iter().rev() {
            parsed.push(match item {
                Item::Record(Ok(record)) => Some(Ok(Record {
                    index: record.index,
                    message: record.message.clone(),
                })),
                Item::Record(Err(e)) => Some(Err(e.clone())),
                Item::Line(line) => line.parse(None),
            });
        }
        let (mut records, mut errors) = (Vec::new(), Vec::new());
        for p in parsed.into_iter().rev().flatten() {
            match p {
                Ok(record) => records.push((record.index, record.message)),
                Err(e) => errors.push(e),
            }
        }
        (records, errors, r.position(), r.truncated_tail())
    }

    #[test]
    fn reading_ahead_reads_what_reading_in_place_reads() {
        let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
        let mixed = mixed_json();
        inputs.push(("mixed", mixed.clone()));
        let mut odd = UTF8_BOM.to_vec();
        odd.extend(b"\n  \n");
        odd.extend(
            mixed
                .iter()
                .flat_map(|&b| if b == b'\n' { b"\r\n".to_vec() } else { vec![b] }),
        );
        odd.extend(b"{\"hello\":1}\nnot json\n\n{}\n");
        inputs.push(("bom, crlf, blank and malformed lines", odd));
        // A pretty-printed object (with a `}` line inside a string), then a line, then an
        // object that never closes.
        let first = String::from_utf8(fixture("collector.traces.jsonl")).unwrap();
        let first = first.lines().next().unwrap();
        let v: serde_json::Value = serde_json::from_str(first).unwrap();
        let mut pretty = serde_json::to_string_pretty(&v).unwrap().into_bytes();
        pretty.extend(b"\n");
        pretty.extend(first.as_bytes());
        pretty.extend(b"\n{\n  \"resourceLogs\": [\n");
        inputs.push(("multi-line objects", pretty));
        inputs.push(("cut last line", mixed[..mixed.len() - 40].to_vec()));
        inputs.push(("no last newline", mixed[..mixed.len() - 1].to_vec()));
        for c in [Compression::Gzip, Compression::Zstd] {
            let whole = compress(c, &mixed);
            inputs.push(("compressed", whole.clone()));
            inputs.push(("compressed, cut", whole[..whole.len() * 2 / 3].to_vec()));
        }
        // One line far longer than a chunk.
        let long = String::from_utf8(mixed.clone())
            .unwrap()
            .replace("evaluation finished", &"x".repeat(5000));
        assert!(long.lines().any(|l| l.len() > 5000));
        inputs.push(("long lines", long.into_bytes()));
        for (name, data) in inputs {
            let plain = outcome(reader("x.jsonl", data.clone(), None));
            for (least, max_line) in [(READ_AHEAD_CHUNK, READ_AHEAD_LINE), (16, 64), (7, 1000), (1, 1)] {
                let mut r = reader("x.jsonl", data.clone(), None);
                r.read_ahead_in(least, max_line);
                assert_eq!(outcome(r), plain, "{name}, chunks of {least}..{max_line}");
                let mut r = reader("x.jsonl", data.clone(), None);
                r.read_ahead_in(least, max_line);
                let deferred = outcome_deferred(r);
                assert_eq!(
                    deferred, plain,
                    "{name}, chunks of {least}..{max_line}, lines deferred"
                );
            }
            // Without reading ahead, nothing is deferred.
            let r = reader("x.jsonl", data.clone(), None);
            assert_eq!(
                outcome_deferred(r),
                plain,
                "{name}, deferred without reading ahead"
            );
            // A line longer than the reader takes is skipped the same way too.
            let mut plain = reader("x.jsonl", data.clone(), None);
            plain.max_record_bytes = 700;
            let plain = outcome(plain);
            let mut r = reader("x.jsonl", data.clone(), None);
            r.max_record_bytes = 700;
            r.read_ahead_in(16, 64);
            assert_eq!(outcome(r), plain, "{name}, records of at most 700 bytes");
        }
    }

    #[test]
    fn deferred_lines_leave_the_reader_and_keep_their_chunk() {
        let data = mixed_json();
        let lines = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
        let mut r = reader("x.jsonl", data.clone(), None);
        r.read_ahead();
        r.defer_lines();
        let items: Vec<Item> = std::iter::from_fn(|| r.next_item()).collect();
        // The first line is read the general way (it may start with a byte-order mark); every
        // later one is handed over.
        let deferred = items.iter().filter(|i| matches!(i, Item::Line(_))).count();
        assert_eq!(deferred, lines - 1);
        // Parsed after the reader is gone, on another thread.
        drop(r);
        let parsed = std::thread::spawn(move || {
            items
                .iter()
                .filter_map(|i| match i {
                    Item::Line(line) => line.parse(None),
                    Item::Record(r) => Some(
                        r.as_ref()
                            .map(|r| Record {
                                index: r.index,
                                message: r.message.clone(),
                            })
                            .map_err(Clone::clone),
                    ),
                })
                .map(|r| r.unwrap().message)
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        assert_eq!(parsed, mixed_messages());
    }

    #[test]
    fn a_truncated_last_proto_message_is_not_an_error() {
        let all = mixed_messages();
        let framed: Vec<Vec<u8>> = all.iter().map(|m| frame(&encode(m))).collect();
        let whole = framed[..2].concat();
        for tail in [
            &framed[2][..framed[2].len() - 5], // the length promises more than remains
            &framed[2][..4],                   // the length and nothing else
            &framed[2][..2],                   // half a length
        ] {
            for c in [Compression::None, Compression::Zstd] {
                let mut r = reader("x", compress(c, &[whole.as_slice(), tail].concat()), None);
                let (records, errors) = read_all(&mut r);
                assert!(errors.is_empty(), "{errors:?}");
                assert_eq!(messages(records), all[..2]);
                assert!(r.truncated_tail());
            }
        }
    }

    #[test]
    fn malformed_proto_messages_are_reported_and_skipped() {
        let all = mixed_messages();
        let data = [
            frame(&encode(&all[0])),
            frame(&[0xff, 0xff, 0xff]),
            frame(&zstd(b"{\"nope\":true}")),
            frame(&encode(&all[2])),
        ]
        .concat();
        let (records, errors) = read_all(&mut reader("x", data, None));
        assert_eq!(indexes(&records), [1, 4]);
        assert_eq!(errors.iter().map(|e| e.index).collect::<Vec<_>>(), [2, 3]);
        assert!(
            errors[0].message.starts_with("not an OTLP TracesData"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[1].message.starts_with("not an OTLP export request"),
            "{}",
            errors[1].message
        );
    }

    #[test]
    fn proto_signal_detection() {
        let all = mixed_messages();
        let (traces, logs, metrics) = (&all[0], &all[2], &all[3]);
        let stream = |ms: &[&Message]| ms.iter().flat_map(|m| frame(&encode(m))).collect::<Vec<u8>>();

        // No hint and a name that says nothing: told apart by content, even when mixed.
        let (records, errors) = read_all(&mut reader("-", stream(&[logs, metrics, traces, logs]), None));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            signals(&records),
            [Signal::Logs, Signal::Metrics, Signal::Traces, Signal::Logs]
        );
        assert_eq!(messages(records), [logs, metrics, traces, logs].map(Clone::clone));

        // Metrics whose bytes also decode as traces (every byte ASCII): only plausibility tells.
        use opentelemetry_proto::tonic::metrics::v1::{
            Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
        };
        let look_alike = Message::Metrics(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "agent.requests".into(),
                        data: Some(Data::Gauge(Gauge {
                            data_points: vec![NumberDataPoint {
                                value: Some(number_data_point::Value::AsInt(0x4141_4141_4141_4141)),
                                ..Default::default()
                            }],
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        assert!(decode_as(Signal::Traces, &encode(&look_alike)).is_ok());
        let (records, errors) = read_all(&mut reader("x", stream(&[&look_alike, traces]), None));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(messages(records), [look_alike.clone(), traces.clone()]);

        // A message with a resource and nothing else decodes as any signal: the name decides,
        // then traces.
        let resource_only = Message::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: match &logs {
                    Message::Logs(l) => l.resource_logs[0].resource.clone(),
                    _ => unreachable!(),
                },
                ..Default::default()
            }],
        });
        let empty = stream(&[&resource_only]);
        for (name, want) in [
            ("/var/log/otel/app-logs.pb", Signal::Logs),
            ("otel-metrics.bin.zst", Signal::Metrics),
            ("spans.pb", Signal::Traces),
            ("capture.pb", Signal::Traces),
            ("catalog-traces.pb", Signal::Traces), // "log" and "trace": the name says nothing
        ] {
            let (records, _) = read_all(&mut reader(name, empty.clone(), None));
            assert_eq!(signals(&records), [want], "{name}");
        }
        // The name only goes first: real content of another signal still reads right.
        let (records, errors) = read_all(&mut reader("logs.pb", stream(&[traces, metrics]), None));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(signals(&records), [Signal::Traces, Signal::Metrics]);

        // A hint beats the name and is the only signal tried.
        let (records, _) = read_all(&mut reader("logs.pb", empty.clone(), Some(Signal::Metrics)));
        assert_eq!(signals(&records), [Signal::Metrics]);
        let (records, errors) = read_all(&mut reader("x", stream(&[logs, traces]), Some(Signal::Logs)));
        assert_eq!(signals(&records), [Signal::Logs]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].index, 2);
        assert!(
            errors[0]
                .message
                .starts_with("invalid OTLP protobuf logs message"),
            "{}",
            errors[0].message
        );

        // The hint does not matter for JSON, which names its signal.
        let (records, _) = read_all(&mut reader("x", mixed_json(), Some(Signal::Metrics)));
        assert_eq!(
            signals(&records),
            [Signal::Traces, Signal::Traces, Signal::Logs, Signal::Metrics]
        );
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let traces = String::from_utf8(fixture("collector.traces.jsonl")).unwrap();
        let first = traces.lines().next().unwrap();
        let logs = String::from_utf8(fixture("collector.logs.jsonl")).unwrap();
        let text = format!("\n\n  \n{first}\r\n\r\n\t\n{}\n\n", logs.trim());
        let mut r = reader("x", text.into_bytes(), None);
        let (records, errors) = read_all(&mut r);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(indexes(&records), [4, 7]);
        assert_eq!(r.position(), 8);
        assert!(!r.truncated_tail());

        for text in ["", "   \n\n \t \n", "{}\n\n{ }\n"] {
            let mut r = reader("x", text.as_bytes().to_vec(), None);
            assert_eq!(r.format(), Format::JsonLines, "{text:?}");
            let (records, errors) = read_all(&mut r);
            assert!(records.is_empty() && errors.is_empty(), "{text:?}");
            assert!(!r.truncated_tail());
        }
        // A byte-order mark before the first object.
        let mut bom = UTF8_BOM.to_vec();
        bom.extend_from_slice(first.as_bytes());
        let mut r = reader("x", bom, None);
        assert_eq!(r.format(), Format::JsonLines);
        assert_eq!(indexes(&read_all(&mut r).0), [1]);
    }

    #[test]
    fn pretty_printed_objects_span_several_lines() {
        let all = mixed_messages();
        let lines: Vec<serde_json::Value> = String::from_utf8(mixed_json())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap();
        let first = pretty(&lines[0]);
        let first_lines = first.lines().count() as u64;
        let compact = serde_json::to_string(&lines[2]).unwrap();
        let text = format!("{first}\n{compact}\n\n{}\n", pretty(&lines[3]));
        let mut r = reader("x", text.into_bytes(), None);
        let (records, errors) = read_all(&mut r);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(indexes(&records), [1, first_lines + 1, first_lines + 3]);
        assert_eq!(
            messages(records),
            [all[0].clone(), all[2].clone(), all[3].clone()]
        );

        // Cut inside a pretty object at the end: a truncated tail.
        let cut = &first[..first.len() / 2];
        let mut r = reader("x", format!("{compact}\n{cut}").into_bytes(), None);
        let (records, errors) = read_all(&mut r);
        assert_eq!((records.len(), errors.len()), (1, 0));
        assert!(r.truncated_tail());

        // An object that never closes before the next one starts: reported, the next one read.
        let mut r = reader(
            "x",
            format!("{{\n  \"resourceLogs\": [\n{first}\n").into_bytes(),
            None,
        );
        let (records, errors) = read_all(&mut r);
        assert_eq!(indexes(&records), [3]);
        assert_eq!(errors.iter().map(|e| e.index).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn bare_resource_objects_from_the_older_python_file_exporter() {
        let all = mixed_messages();
        let mut text = String::new();
        for (line, key) in String::from_utf8(mixed_json()).unwrap().lines().zip([
            "resourceSpans",
            "resourceSpans",
            "resourceLogs",
            "resourceMetrics",
        ]) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            text += &serde_json::to_string(&v[key][0]).unwrap();
            text.push('\n');
        }
        let (records, errors) = read_all(&mut reader("x", text.into_bytes(), None));
        assert!(errors.is_empty(), "{errors:?}");
        // Every fixture line has one resource, so wrapping gives back the same requests.
        assert_eq!(messages(records), all);
    }

    #[test]
    fn python_console_exporter_output_is_refused_with_a_hint() {
        let console = r#"{
    "name": "chat gpt-4o-mini",
    "context": {
        "trace_id": "0x4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "0xb7ad6b7169203331",
        "trace_state": "[]"
    },
    "kind": "SpanKind.CLIENT",
    "parent_id": "0x00f067aa0ba902b7",
    "start_time": "2026-01-01T00:00:00.100000Z",
    "end_time": "2026-01-01T00:00:01.350000Z",
    "status": {
        "status_code": "UNSET"
    },
    "attributes": {},
    "events": [],
    "links": [],
    "resource": {
        "attributes": {
            "service.name": "support-agent"
        },
        "schema_url": ""
    }
}
"#;
        let (records, errors) = read_all(&mut reader("x", console.repeat(2).into_bytes(), None));
        assert!(records.is_empty());
        assert_eq!(errors.iter().map(|e| e.index).collect::<Vec<_>>(), [1, 25]);
        assert!(
            errors[0].message.contains("console exporter"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn oversized_records_are_skipped_without_being_held() {
        let all = mixed_messages();
        let big = format!("{{\"resourceSpans\":[],\"pad\":\"{}\"}}", "x".repeat(4000));
        let logs = String::from_utf8(fixture("collector.logs.jsonl")).unwrap();
        let mut r = reader("x", format!("{big}\n{logs}{big}").into_bytes(), None);
        r.max_record_bytes = 2000;
        let (records, errors) = read_all(&mut r);
        assert_eq!(indexes(&records), [2]);
        assert_eq!(errors.iter().map(|e| e.index).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(errors[0].message, "longer than 2000 bytes, skipped");

        let data = [frame(&vec![0u8; 5000]), frame(&encode(&all[2]))].concat();
        let mut r = reader("x", data, None);
        r.max_record_bytes = 2000;
        let (records, errors) = read_all(&mut r);
        assert_eq!(
            (indexes(&records), errors.len(), errors[0].index),
            (vec![2], 1, 1)
        );
        assert_eq!(
            errors[0].message,
            "message of 5000 bytes is larger than 2000 bytes, skipped"
        );
    }

    #[test]
    fn a_read_error_is_fatal_and_ends_the_reading() {
        let mut r =
            CaptureReader::from_reader("x", Box::new(Failing(Cursor::new(mixed_json()))), None).unwrap();
        let items: Vec<_> = r.by_ref().collect();
        assert_eq!(items.len(), 5);
        let last = items[4].as_ref().unwrap_err();
        assert!(
            last.fatal && last.message.contains("device went away"),
            "{last:?}"
        );
        assert!(r.next().is_none());
        assert!(!r.truncated_tail());
    }

    #[test]
    fn open_reports_a_missing_file() {
        let e = CaptureReader::open(Path::new("/nonexistent/capture.jsonl")).unwrap_err();
        assert_eq!(e.name, "/nonexistent/capture.jsonl");
        assert!(
            e.to_string()
                .starts_with("cannot read /nonexistent/capture.jsonl: "),
            "{e}"
        );
    }

    #[test]
    fn readers_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<CaptureReader>();
    }

    #[test]
    fn lines_are_told_apart_by_signal() {
        assert!(matches!(
            parse_json_line(r#"{"resourceSpans":[]}"#),
            Ok(Some(Message::Traces(_)))
        ));
        assert!(matches!(
            parse_json_line(r#"{"resourceLogs":[]}"#),
            Ok(Some(Message::Logs(_)))
        ));
        assert!(matches!(
            parse_json_line(r#" {"resourceMetrics":[]} "#),
            Ok(Some(Message::Metrics(_)))
        ));
        assert!(matches!(parse_json_line("   "), Ok(None)));
        assert!(
            parse_json_line(r#"{"something":1}"#)
                .unwrap_err()
                .contains("not an OTLP export request")
        );
        assert!(
            parse_json_line(r#"{"resourceSpans":[{"#)
                .unwrap_err()
                .starts_with("invalid OTLP/JSON traces")
        );
        // The key sniffing never splits a multi-byte character.
        let line = format!(r#"{{"{}":1,"resourceSpans":[]}}"#, "é".repeat(40));
        assert!(matches!(parse_json_line(&line), Ok(Some(Message::Traces(_)))));
    }
}
